//! Image members (glance `ImageMembersController`, `ImageMemberRepo`, the member policies):
//! who a shared image is shared with, and each member's `pending`/`accepted`/`rejected`.
//! Glance 33 runs oslo.policy's new defaults (`enforce_new_defaults`), so the controller's
//! legacy ownership checks are off and the policies decide:
//! - `add_member`, `delete_member`: admin or the image's owner;
//! - `get_member(s)`: admin, the owner or a member (a member sees its own membership only,
//!   as the database shows it);
//! - `modify_member`: admin or a member (never the owner: a member decides for itself).

use std::collections::BTreeMap;

use rusqlite::params;
use serde_json::{Value, json};

use super::model::{Image, ImageService, not_authorized, now};
use super::webob::Fault;
use crate::store::StoreError;
use crate::wire::AuthContext;

/// `image_member_quota`'s default: members an image may have (negative: unlimited).
pub const IMAGE_MEMBER_QUOTA: i64 = 128;

/// One membership (`ImageMembership`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Member {
    pub image_id: String,
    pub member_id: String,
    pub status: String,
    pub created_at: String,
    pub updated_at: String,
}

impl Member {
    /// `ResponseSerializer._format_image_member`.
    pub fn view(&self) -> Value {
        json!({
            "member_id": self.member_id,
            "image_id": self.image_id,
            "status": self.status,
            "created_at": self.created_at,
            "updated_at": self.updated_at,
            "schema": "/v2/schemas/member",
        })
    }
}

fn not_in_members(member_id: &str, image_id: &str) -> Fault {
    Fault::not_found(format!("{member_id} not found in the member list of the image {image_id}."))
}

/// The `member` a request body names (`RequestDeserializer.create`).
pub fn member_from_body(body: &Value) -> Result<String, Fault> {
    let Some(object) = body.as_object() else {
        return Err(Fault::bad_request("Expected a member in the form: {\"member\": \"image_id\"}"));
    };
    let Some(member) = object.get("member") else {
        return Err(Fault::bad_request("Member to be added not specified"));
    };
    let empty = match member {
        Value::Null => true,
        Value::Bool(b) => !b,
        Value::Number(n) => n.as_f64() == Some(0.0),
        Value::String(s) => s.is_empty(),
        Value::Array(a) => a.is_empty(),
        Value::Object(o) => o.is_empty(),
    };
    if empty {
        return Err(Fault::bad_request("Member can't be empty"));
    }
    match member {
        Value::String(s) => Ok(s.clone()),
        Value::Number(n) => Ok(n.to_string()),
        Value::Bool(_) => Ok("1".into()),
        // The database refuses a list or a dict as the member column's value.
        _ => Err(Fault::internal()),
    }
}

/// The `status` a request body names (`RequestDeserializer.update`); checked later, by the
/// membership itself.
pub fn status_from_body(body: &Value) -> Result<Value, Fault> {
    let Some(object) = body.as_object() else {
        return Err(Fault::bad_request("Expected a status in the form: {\"status\": \"status\"}"));
    };
    object.get("status").cloned().ok_or_else(|| Fault::bad_request("Status not specified"))
}

impl ImageService {
    /// `ctx`'s membership status on the image, if it is a member.
    pub fn member_status(&self, image_id: &str, project: &str) -> Result<Option<String>, StoreError> {
        use rusqlite::OptionalExtension;
        self.store().with(|c| {
            c.query_row("SELECT status FROM glance_members WHERE image_id = ?1 AND member_id = ?2", params![image_id, project], |r| {
                r.get(0)
            })
            .optional()
        })
    }

    /// The images `project` is a member of, with its status on each.
    pub fn memberships_of(&self, project: &str) -> Result<BTreeMap<String, String>, StoreError> {
        self.store().with(|c| {
            let mut stmt = c.prepare("SELECT image_id, status FROM glance_members WHERE member_id = ?1")?;
            let rows = stmt.query_map(params![project], |r| Ok((r.get(0)?, r.get(1)?)))?;
            rows.collect()
        })
    }

    /// Drops every membership of the image (with the image).
    pub(super) fn remove_members(&self, image_id: &str) -> Result<(), StoreError> {
        self.store().with(|c| c.execute("DELETE FROM glance_members WHERE image_id = ?1", params![image_id]))?;
        Ok(())
    }

    /// The memberships `ctx` sees (`image_member_find`): all for an admin or the owner, its
    /// own for anyone else.
    fn members_seen(&self, ctx: &AuthContext, image: &Image) -> Result<Vec<Member>, StoreError> {
        let all = ctx.is_admin() || image.owner.as_deref() == Some(ctx.project_id.as_str());
        self.store().with(|c| {
            let mut stmt = c.prepare(
                "SELECT image_id, member_id, status, created_at, updated_at FROM glance_members \
                 WHERE image_id = ?1 AND (?2 OR member_id = ?3) ORDER BY rowid",
            )?;
            let rows = stmt.query_map(params![image.id, all, ctx.project_id], |r| {
                Ok(Member { image_id: r.get(0)?, member_id: r.get(1)?, status: r.get(2)?, created_at: r.get(3)?, updated_at: r.get(4)? })
            })?;
            rows.collect()
        })
    }

    /// `_lookup_image`: the image, or the members controller's own 404.
    fn member_image(&self, ctx: &AuthContext, image_id: &str) -> Result<Image, Fault> {
        self.get(ctx, image_id).map_err(|fault| match fault.status {
            axum::http::StatusCode::NOT_FOUND => Fault::not_found(format!("Image {image_id} not found.")),
            _ => fault,
        })
    }

    /// `_lookup_member`: the membership as `ctx` sees it, or the 404.
    fn find_member(&self, ctx: &AuthContext, image: &Image, member_id: &str) -> Result<Member, Fault> {
        self.members_seen(ctx, image)?.into_iter().find(|m| m.member_id == member_id).ok_or_else(|| not_in_members(member_id, &image.id))
    }

    /// `POST /v2/images/{id}/members`: a new `pending` membership.
    pub fn add_member(&self, ctx: &AuthContext, image_id: &str, member_id: &str) -> Result<Member, Fault> {
        let image = self.member_image(ctx, image_id)?;
        if image.visibility != "shared" {
            return Err(Fault::forbidden(format!("Not allowed to create members for image {image_id}.")));
        }
        if !image.owned_by(ctx) {
            return Err(not_authorized("add_member"));
        }
        let stamp = now();
        let member = Member {
            image_id: image_id.to_owned(),
            member_id: member_id.to_owned(),
            status: "pending".into(),
            created_at: stamp.clone(),
            updated_at: stamp,
        };
        self.store().transaction(|tx| {
            // `ImageMemberFactoryProxy.new_image_member`: the quota, then the duplicate.
            let count: i64 = tx
                .query_row("SELECT COUNT(*) FROM glance_members WHERE image_id = ?1", params![image_id], |r| r.get(0))
                .map_err(StoreError::from)?;
            if IMAGE_MEMBER_QUOTA >= 0 && count + 1 > IMAGE_MEMBER_QUOTA {
                return Err(Fault::new(
                    axum::http::StatusCode::PAYLOAD_TOO_LARGE,
                    format!(
                        "Image member limit exceeded for image {image_id}: The limit has been exceeded on the number of allowed image members for this image. Attempted: {}, Maximum: {IMAGE_MEMBER_QUOTA}:",
                        count + 1
                    ),
                ));
            }
            let exists: i64 = tx
                .query_row(
                    "SELECT COUNT(*) FROM glance_members WHERE image_id = ?1 AND member_id = ?2",
                    params![image_id, member_id],
                    |r| r.get(0),
                )
                .map_err(StoreError::from)?;
            if exists > 0 {
                return Err(Fault::conflict(format!("Member {member_id} is duplicated for image {image_id}")));
            }
            tx.execute(
                "INSERT INTO glance_members (image_id, member_id, status, created_at, updated_at) VALUES (?1, ?2, ?3, ?4, ?5)",
                params![member.image_id, member.member_id, member.status, member.created_at, member.updated_at],
            )
            .map_err(StoreError::from)?;
            Ok(())
        })?;
        Ok(member)
    }

    /// `PUT /v2/images/{id}/members/{member_id}`: the member accepts, rejects or defers.
    pub fn update_member(&self, ctx: &AuthContext, image_id: &str, member_id: &str, status: &Value) -> Result<Member, Fault> {
        let image = self.member_image(ctx, image_id)?;
        if image.visibility != "shared" {
            return Err(Fault::forbidden(format!("Not allowed to update members for image {image_id}.")));
        }
        let mut member = self.find_member(ctx, &image, member_id)?;
        // `modify_member`: the target's `member_id` is the caller when it is not the owner.
        let owner = image.owner.as_deref() == Some(ctx.project_id.as_str());
        if !ctx.is_admin() && owner {
            return Err(not_authorized("modify_member"));
        }
        let status = status
            .as_str()
            .filter(|s| ["pending", "accepted", "rejected"].contains(s))
            .ok_or_else(|| Fault::bad_request("Incorrect request: Status must be \"pending\", \"accepted\" or \"rejected\"."))?;
        member.status = status.to_owned();
        member.updated_at = now();
        let changed = self.store().with(|c| {
            c.execute(
                "UPDATE glance_members SET status = ?3, updated_at = ?4 WHERE image_id = ?1 AND member_id = ?2",
                params![image_id, member_id, member.status, member.updated_at],
            )
        })?;
        if changed == 0 {
            return Err(Fault::not_found("The resource could not be found."));
        }
        Ok(member)
    }

    /// `GET /v2/images/{id}/members`.
    pub fn list_members(&self, ctx: &AuthContext, image_id: &str) -> Result<Vec<Member>, Fault> {
        let image = self.member_image(ctx, image_id)?;
        if image.visibility != "shared" {
            return Err(Fault::forbidden(format!("Not allowed to list members for image {image_id}: Only shared images have members.")));
        }
        Ok(self.members_seen(ctx, &image)?)
    }

    /// `GET /v2/images/{id}/members/{member_id}`: every refusal is a 404.
    pub fn show_member(&self, ctx: &AuthContext, image_id: &str, member_id: &str) -> Result<Member, Fault> {
        let image = self.member_image(ctx, image_id)?;
        if image.visibility != "shared" {
            return Err(Fault::not_found("Only shared images have members."));
        }
        self.find_member(ctx, &image, member_id)
    }

    /// `DELETE /v2/images/{id}/members/{member_id}`: the owner withdraws the share.
    pub fn delete_member(&self, ctx: &AuthContext, image_id: &str, member_id: &str) -> Result<(), Fault> {
        let image = self.member_image(ctx, image_id)?;
        if image.visibility != "shared" {
            return Err(Fault::forbidden(format!("Not allowed to delete members for image {image_id}.")));
        }
        self.find_member(ctx, &image, member_id)?;
        if !image.owned_by(ctx) {
            return Err(not_authorized("delete_member"));
        }
        let removed = self
            .store()
            .with(|c| c.execute("DELETE FROM glance_members WHERE image_id = ?1 AND member_id = ?2", params![image_id, member_id]))?;
        if removed == 0 {
            return Err(Fault::not_found(format!("The specified member {member_id} could not be found")));
        }
        Ok(())
    }
}

/// `GET /v2/schemas/member`.
pub fn member_schema() -> Value {
    json!({
        "name": "member",
        "properties": member_properties(),
        "additionalProperties": false,
    })
}

/// `GET /v2/schemas/members`.
pub fn members_schema() -> Value {
    json!({
        "name": "members",
        "properties": {
            "members": {"type": "array", "items": member_schema()},
            "first": {"type": "string"},
            "next": {"type": "string"},
            "schema": {"type": "string"},
        },
        "links": [
            {"rel": "first", "href": "{first}"},
            {"rel": "next", "href": "{next}"},
            {"rel": "describedby", "href": "{schema}"},
        ],
    })
}

fn member_properties() -> Value {
    json!({
        "member_id": {"type": "string", "description": "An identifier for the image member (tenantId)"},
        "image_id": {
            "type": "string",
            "description": "An identifier for the image",
            "pattern": "^([0-9a-fA-F]){8}-([0-9a-fA-F]){4}-([0-9a-fA-F]){4}-([0-9a-fA-F]){4}-([0-9a-fA-F]){12}$",
        },
        "created_at": {"type": "string", "description": "Date and time of image member creation"},
        "updated_at": {"type": "string", "description": "Date and time of last modification of image member"},
        "status": {"type": "string", "description": "The status of this image member", "enum": ["pending", "accepted", "rejected"]},
        "schema": {"readOnly": true, "type": "string"},
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bodies_follow_the_deserializer() {
        assert_eq!(member_from_body(&json!({"member": "p1"})).unwrap(), "p1");
        assert_eq!(member_from_body(&json!({})).unwrap_err().explanation, "Member to be added not specified");
        assert_eq!(member_from_body(&json!({"member": ""})).unwrap_err().explanation, "Member can't be empty");
        assert_eq!(
            member_from_body(&json!(["member"])).unwrap_err().explanation,
            "Expected a member in the form: {\"member\": \"image_id\"}"
        );
        assert_eq!(status_from_body(&json!({})).unwrap_err().explanation, "Status not specified");
        assert_eq!(status_from_body(&json!([1])).unwrap_err().explanation, "Expected a status in the form: {\"status\": \"status\"}");
        assert_eq!(member_schema()["name"], "member");
        assert_eq!(members_schema()["properties"]["members"]["items"]["additionalProperties"], false);
    }
}
