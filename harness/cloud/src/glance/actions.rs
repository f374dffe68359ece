//! `POST /v2/images/{id}/actions/deactivate` and `.../reactivate` (glance
//! `ImageActionsController`, `Image.deactivate`/`reactivate`): admin or owner (the
//! `deactivate`/`reactivate` policies, admin or project member of the owner); an image that
//! is already there is left alone; any other status is a 403.

use super::model::{ImageService, Status, not_authorized};
use super::webob::Fault;
use crate::wire::AuthContext;

impl ImageService {
    pub fn deactivate(&self, ctx: &AuthContext, id: &str) -> Result<(), Fault> {
        self.set_activation(ctx, id, "deactivate", Status::Active, Status::Deactivated)
    }

    pub fn reactivate(&self, ctx: &AuthContext, id: &str) -> Result<(), Fault> {
        self.set_activation(ctx, id, "reactivate", Status::Deactivated, Status::Active)
    }

    fn set_activation(&self, ctx: &AuthContext, id: &str, action: &str, from: Status, to: Status) -> Result<(), Fault> {
        let image = self.get(ctx, id)?;
        if !image.owned_by(ctx) {
            return Err(not_authorized(action));
        }
        let refused = |status: Status| Fault::forbidden(format!("Not allowed to {action} image in status '{}'", status.as_str()));
        match image.status {
            s if s == to => Ok(()),
            s if s == from => {
                self.modify(id, |img| match img.status {
                    s if s == from => {
                        img.status = to;
                        Ok(())
                    }
                    s if s == to => Ok(()),
                    s => Err(refused(s)),
                })?;
                Ok(())
            }
            s => Err(refused(s)),
        }
    }
}
