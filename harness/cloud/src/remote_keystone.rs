//! A real Keystone in front of a simulated service (`sigstack serve-network` beside real Nova):
//! every caller's token is checked as keystonemiddleware checks it, with `GET /v3/auth/tokens`
//! sent with the service's own token, and a valid answer is cached for at most
//! `token_cache_time` (300 s) and never past the token's expiry. An unknown token is a 401; a
//! Keystone that cannot be asked is a 503, logged with its cause.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use axum::http::StatusCode;
use axum::response::Response;
use sigstack_client::Session;
use sigstack_client::identity::{self, ValidatedToken};

use crate::wire::{AuthContext, keystone_error, unauthorized_at};

/// keystonemiddleware's `token_cache_time`.
const CACHE_TIME: Duration = Duration::from_secs(300);
/// Entries kept before the expired ones are dropped (and, if none were, all of them).
const CACHE_ENTRIES: usize = 10_000;

pub struct RemoteKeystone {
    /// The service user's session: its token is the `X-Auth-Token` of each check.
    service: Session,
    /// Keystone's public v3 URL, named in a 401's `WWW-Authenticate`.
    public_url: String,
    cache: Mutex<HashMap<String, (AuthContext, Instant)>>,
}

impl RemoteKeystone {
    pub fn new(service: Session, public_url: impl Into<String>) -> RemoteKeystone {
        RemoteKeystone { service, public_url: public_url.into(), cache: Mutex::new(HashMap::new()) }
    }

    pub fn public_url(&self) -> &str {
        &self.public_url
    }

    pub async fn validate(&self, token: Option<&str>) -> Result<AuthContext, Response> {
        let Some(token) = token.filter(|t| !t.is_empty()) else { return Err(unauthorized_at(&self.public_url)) };
        if let Some(hit) = self.cached(token) {
            return Ok(hit);
        }
        match identity::validate_token(&self.service, token).await {
            Ok(Some(valid)) => {
                let left = valid.token.time_left().map(|d| d.whole_seconds()).unwrap_or(0);
                if left <= 0 {
                    return Err(unauthorized_at(&self.public_url));
                }
                let context = context_of(valid);
                self.remember(token, &context, CACHE_TIME.min(Duration::from_secs(left.unsigned_abs())));
                Ok(context)
            }
            Ok(None) => Err(unauthorized_at(&self.public_url)),
            Err(e) => {
                crate::logging::cause(format!("validating a token with Keystone at {}: {e}", self.public_url));
                Err(keystone_error(
                    StatusCode::SERVICE_UNAVAILABLE,
                    "The server is currently unavailable. Please try again at a later time.",
                ))
            }
        }
    }

    fn cached(&self, token: &str) -> Option<AuthContext> {
        let cache = self.cache.lock().unwrap_or_else(|e| e.into_inner());
        cache.get(token).filter(|(_, until)| *until > Instant::now()).map(|(context, _)| context.clone())
    }

    fn remember(&self, token: &str, context: &AuthContext, for_how_long: Duration) {
        let mut cache = self.cache.lock().unwrap_or_else(|e| e.into_inner());
        if cache.len() >= CACHE_ENTRIES {
            let now = Instant::now();
            cache.retain(|_, (_, until)| *until > now);
            if cache.len() >= CACHE_ENTRIES {
                cache.clear();
            }
        }
        cache.insert(token.to_owned(), (context.clone(), Instant::now() + for_how_long));
    }
}

/// The caller as the services see it (keystonemiddleware's `X-User-Id`, `X-Roles`, ...).
fn context_of(valid: ValidatedToken) -> AuthContext {
    let t = valid.token;
    let (project_id, project_name) = t.project.map(|p| (p.id, p.name)).unwrap_or_default();
    AuthContext {
        token: t.value,
        user_id: t.user.id,
        user_name: t.user.name,
        project_id,
        project_name,
        roles: t.roles.into_iter().map(|r| r.name).collect(),
        expires_at: t.expires_at,
        catalog: t.catalog,
        system_scope: valid.system,
    }
}
