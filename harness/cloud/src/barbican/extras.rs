//! What hangs off a secret or a project besides its payload and ACL, without HTTP: user
//! metadata (`SecretUserMetadatumRepo`, `NewSecretMetadataValidator`,
//! `NewSecretMetadatumValidator`), secret consumers (`SecretConsumerRepo`,
//! `SecretConsumerValidator`) and project quotas (`QuotaDriver`, `QuotaEnforcer`,
//! `ProjectQuotaValidator`), and the transport keys' table (`http_transport_keys.rs`).

use rusqlite::{OptionalExtension, params};
use serde_json::{Map, Value};

use super::model::KeyManager;
use super::validate::{Invalid, Properties, first_error, load_json, object, schema_error};
use crate::jsonschema::{self, Keyword as Kw};
use crate::store::StoreError;

pub(super) const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS barbican_secret_metadata (
    secret_id TEXT NOT NULL, key TEXT NOT NULL, value TEXT NOT NULL, PRIMARY KEY (secret_id, key));
CREATE TABLE IF NOT EXISTS barbican_secret_consumers (
    secret_id TEXT NOT NULL, project_id TEXT NOT NULL, service TEXT NOT NULL,
    resource_type TEXT NOT NULL, resource_id TEXT NOT NULL, created INTEGER NOT NULL,
    updated INTEGER NOT NULL, PRIMARY KEY (secret_id, service, resource_type, resource_id));
CREATE TABLE IF NOT EXISTS barbican_project_quotas (
    project_id TEXT PRIMARY KEY, secrets INTEGER, orders INTEGER, containers INTEGER,
    consumers INTEGER, cas INTEGER, created INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS barbican_transport_keys (
    id TEXT PRIMARY KEY, plugin_name TEXT NOT NULL, transport_key TEXT NOT NULL, created INTEGER NOT NULL);
";

/// The resources a quota constrains, in Barbican's order.
pub const QUOTA_RESOURCES: [&str; 5] = ["secrets", "orders", "containers", "consumers", "cas"];

/// One secret consumer registration.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SecretConsumer {
    pub project_id: String,
    pub service: String,
    pub resource_type: String,
    pub resource_id: String,
    pub created: i64,
    pub updated: i64,
}

/// A project's configured quotas, in [`QUOTA_RESOURCES`] order (`None`: the default).
pub type ProjectQuotas = [Option<i64>; 5];

impl KeyManager {
    /// `get_metadata_for_secret`, in insertion order.
    pub fn secret_metadata(&self, secret_id: &str) -> Result<Vec<(String, String)>, StoreError> {
        self.store().with(|c| {
            let mut stmt = c.prepare("SELECT key, value FROM barbican_secret_metadata WHERE secret_id = ?1 ORDER BY rowid")?;
            let rows = stmt.query_map(params![secret_id], |r| Ok((r.get(0)?, r.get(1)?)))?;
            rows.collect()
        })
    }

    /// `create_replace_user_metadata`: the whole set.
    pub fn replace_secret_metadata(&self, secret_id: &str, metadata: &[(String, String)]) -> Result<(), StoreError> {
        self.store().transaction(|tx| {
            tx.execute("DELETE FROM barbican_secret_metadata WHERE secret_id = ?1", params![secret_id])?;
            for (k, v) in metadata {
                tx.execute(
                    "INSERT OR REPLACE INTO barbican_secret_metadata (secret_id, key, value) VALUES (?1, ?2, ?3)",
                    params![secret_id, k, v],
                )?;
            }
            Ok::<(), StoreError>(())
        })
    }

    /// `create_replace_user_metadatum`: one key.
    pub fn set_secret_metadatum(&self, secret_id: &str, key: &str, value: &str) -> Result<(), StoreError> {
        self.store().transaction(|tx| {
            tx.execute("DELETE FROM barbican_secret_metadata WHERE secret_id = ?1 AND key = ?2", params![secret_id, key])?;
            tx.execute("INSERT INTO barbican_secret_metadata (secret_id, key, value) VALUES (?1, ?2, ?3)", params![secret_id, key, value])?;
            Ok::<(), StoreError>(())
        })
    }

    pub fn delete_secret_metadatum(&self, secret_id: &str, key: &str) -> Result<(), StoreError> {
        self.store().with(|c| {
            c.execute("DELETE FROM barbican_secret_metadata WHERE secret_id = ?1 AND key = ?2", params![secret_id, key]).map(|_| ())
        })
    }

    /// The live consumers of a secret, oldest first.
    pub fn secret_consumers(&self, secret_id: &str) -> Result<Vec<SecretConsumer>, StoreError> {
        self.store().with(|c| {
            let mut stmt = c.prepare(
                "SELECT project_id, service, resource_type, resource_id, created, updated FROM barbican_secret_consumers WHERE secret_id = ?1 ORDER BY created, rowid",
            )?;
            let rows = stmt.query_map(params![secret_id], |r| {
                Ok(SecretConsumer {
                    project_id: r.get(0)?,
                    service: r.get(1)?,
                    resource_type: r.get(2)?,
                    resource_id: r.get(3)?,
                    created: r.get(4)?,
                    updated: r.get(5)?,
                })
            })?;
            rows.collect()
        })
    }

    /// `create_or_update_from`: registering the same consumer again is idempotent; the
    /// secret's `updated` moves.
    pub fn add_secret_consumer(&self, secret_id: &str, consumer: &SecretConsumer) -> Result<(), StoreError> {
        self.store().transaction(|tx| {
            tx.execute(
                "INSERT OR IGNORE INTO barbican_secret_consumers (secret_id, project_id, service, resource_type, resource_id, created, updated) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?6)",
                params![secret_id, consumer.project_id, consumer.service, consumer.resource_type, consumer.resource_id, consumer.created],
            )?;
            tx.execute("UPDATE barbican_secrets SET updated = ?2 WHERE id = ?1", params![secret_id, consumer.created])?;
            Ok::<(), StoreError>(())
        })
    }

    pub fn remove_secret_consumer(
        &self,
        secret_id: &str,
        service: &str,
        resource_type: &str,
        resource_id: &str,
    ) -> Result<bool, StoreError> {
        self.store().with(|c| {
            c.execute(
                "DELETE FROM barbican_secret_consumers WHERE secret_id = ?1 AND service = ?2 AND resource_type = ?3 AND resource_id = ?4",
                params![secret_id, service, resource_type, resource_id],
            )
            .map(|n| n == 1)
        })
    }

    pub fn project_quotas(&self, project_id: &str) -> Result<Option<ProjectQuotas>, StoreError> {
        self.store().with(|c| {
            c.query_row(
                "SELECT secrets, orders, containers, consumers, cas FROM barbican_project_quotas WHERE project_id = ?1",
                params![project_id],
                |r| Ok([r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?]),
            )
            .optional()
        })
    }

    /// `get_by_create_date`: one page of the configured projects and the total.
    pub fn list_project_quotas(&self, offset: i64, limit: i64) -> Result<(Vec<(String, ProjectQuotas)>, i64), StoreError> {
        self.store().with(|c| {
            let total: i64 = c.query_row("SELECT COUNT(*) FROM barbican_project_quotas", [], |r| r.get(0))?;
            let mut stmt = c.prepare(
                "SELECT project_id, secrets, orders, containers, consumers, cas FROM barbican_project_quotas ORDER BY created, rowid LIMIT ?1 OFFSET ?2",
            )?;
            let rows = stmt.query_map(params![limit, offset], |r| Ok((r.get(0)?, [r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?, r.get(5)?])))?;
            Ok((rows.collect::<rusqlite::Result<Vec<_>>>()?, total))
        })
    }

    /// `create_or_update_by_project_id`: a new entry takes the given values (others unset);
    /// an update changes only the given ones.
    pub fn set_project_quotas(&self, project_id: &str, given: &[(usize, i64)], now: i64) -> Result<(), StoreError> {
        self.store().transaction(|tx| {
            tx.execute("INSERT OR IGNORE INTO barbican_project_quotas (project_id, created) VALUES (?1, ?2)", params![project_id, now])?;
            for (index, value) in given {
                let column = QUOTA_RESOURCES[*index];
                tx.execute(&format!("UPDATE barbican_project_quotas SET {column} = ?2 WHERE project_id = ?1"), params![project_id, value])?;
            }
            Ok::<(), StoreError>(())
        })
    }

    pub fn delete_project_quotas(&self, project_id: &str) -> Result<bool, StoreError> {
        self.store().with(|c| c.execute("DELETE FROM barbican_project_quotas WHERE project_id = ?1", params![project_id]).map(|n| n == 1))
    }

    /// `QuotaDriver.get_effective_quotas`: configured values over the defaults (`-1`, unlimited,
    /// for every resource in barbican.conf's `[quotas]`).
    pub fn effective_quotas(&self, project_id: &str) -> Result<[i64; 5], StoreError> {
        let configured = self.project_quotas(project_id)?.unwrap_or_default();
        Ok(configured.map(|v| v.unwrap_or(-1)))
    }

    /// `QuotaEnforcer.enforce`: `Ok(false)` when creating one more `resource` would pass the
    /// project's quota (negative: unlimited; 0: disabled).
    pub fn within_quota(
        &self,
        project_id: &str,
        resource: &str,
        count: impl FnOnce() -> Result<i64, StoreError>,
    ) -> Result<bool, StoreError> {
        let index = QUOTA_RESOURCES.iter().position(|r| *r == resource).unwrap_or(0);
        let quota = self.effective_quotas(project_id)?[index];
        if quota < 0 {
            return Ok(true);
        }
        if quota == 0 {
            return Ok(false);
        }
        Ok(count()? < quota)
    }

    pub fn count_secrets(&self, project_id: &str) -> Result<i64, StoreError> {
        self.store().with(|c| c.query_row("SELECT COUNT(*) FROM barbican_secrets WHERE project_id = ?1", params![project_id], |r| r.get(0)))
    }

    pub fn count_orders(&self, project_id: &str) -> Result<i64, StoreError> {
        self.store().with(|c| c.query_row("SELECT COUNT(*) FROM barbican_orders WHERE project_id = ?1", params![project_id], |r| r.get(0)))
    }
}

/// `QuotaReached`'s client message.
pub const QUOTA_REACHED: &str = "Creation not allowed because a quota has been reached";

// ---- validators ----

/// `_check_string_url_safe`: `^[A-Za-z0-9_-]*$`.
fn url_safe(key: &str) -> bool {
    key.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
}

const INVALID_KEY: &str = "Invalid Key. Key must be URL safe.";
const NOT_STRINGS: &str = "Invalid Metadata. Keys and Values must be Strings.";

/// Python's `str.lower()` and `str.islower()` agree with Rust's on what Barbican accepts
/// (URL-safe ASCII keys).
fn lower(key: &str) -> String {
    key.to_ascii_lowercase()
}

/// `NewSecretMetadataValidator` (draft 3): `{"metadata": {key: str}}`, keys URL-safe, stored
/// lowercase.
pub fn new_metadata(body: &[u8]) -> Result<Vec<(String, String)>, Invalid> {
    const SCHEMA: &str = "SecretMetadata";
    let value = load_json(body)?;
    let obj = object(&value, SCHEMA)?;
    let Some(metadata) = obj.get("metadata") else {
        return Err(schema_error(SCHEMA, &jsonschema::required("metadata"), Some("metadata")));
    };
    let Some(metadata) = metadata.as_object() else {
        return Err(schema_error(SCHEMA, &jsonschema::not_of_type(metadata, &["object"]), Some("metadata")));
    };
    let mut out: Vec<(String, String)> = Vec::new();
    for (key, value) in metadata {
        if !url_safe(key) {
            return Err(Invalid { status: 400, message: INVALID_KEY.into() });
        }
        let Some(value) = value.as_str() else {
            return Err(Invalid { status: 400, message: NOT_STRINGS.into() });
        };
        let key = lower(key);
        out.retain(|(k, _)| *k != key);
        out.push((key, value.to_owned()));
    }
    Ok(out)
}

/// `NewSecretMetadatumValidator` (draft 3): `{"key": str, "value": str}` (each at most 255,
/// both required, nothing else); the key URL-safe, lowercased.
pub fn new_metadatum(body: &[u8]) -> Result<(String, String), Invalid> {
    const SCHEMA: &str = "SecretMetadatum";
    let value = load_json(body)?;
    let obj = object(&value, SCHEMA)?;
    // The root's `additionalProperties` is the shallowest error.
    if let Some(msg) = jsonschema::additional_properties(obj, |k| k == "key" || k == "value") {
        return Err(schema_error(SCHEMA, &msg, None));
    }
    // Draft 3 puts `required` on the property: `value` (sorting last) is reported first.
    const VALUE: Properties = &[("value", &[Kw::Type(&["string"]), Kw::MaxLength(255)])];
    const KEY: Properties = &[("key", &[Kw::Type(&["string"]), Kw::MaxLength(255)])];
    for (name, schema) in [("value", VALUE), ("key", KEY)] {
        if !obj.contains_key(name) {
            return Err(schema_error(SCHEMA, &jsonschema::required(name), Some(name)));
        }
        if let Some((reason, property)) = first_error(obj, schema) {
            return Err(schema_error(SCHEMA, &reason, Some(property)));
        }
    }
    let key = obj.get("key").and_then(Value::as_str).unwrap_or_default();
    if !url_safe(key) {
        return Err(Invalid { status: 400, message: INVALID_KEY.into() });
    }
    Ok((lower(key), obj.get("value").and_then(Value::as_str).unwrap_or_default().to_owned()))
}

/// `SecretConsumerValidator`: `service`, `resource_type` (1..255) and `resource_id` (1..),
/// all required strings. Returns `(service, resource_type, resource_id)`.
pub fn secret_consumer(body: &[u8]) -> Result<(String, String, String), Invalid> {
    const SCHEMA: &str = "Secret Consumer";
    let value = load_json(body)?;
    let obj = object(&value, SCHEMA)?;
    for name in ["service", "resource_type", "resource_id"] {
        if !obj.contains_key(name) {
            return Err(schema_error(SCHEMA, &jsonschema::required(name), None));
        }
    }
    const PROPS: Properties = &[
        ("service", &[Kw::Type(&["string"]), Kw::MaxLength(255), Kw::MinLength(1)]),
        ("resource_type", &[Kw::Type(&["string"]), Kw::MaxLength(255), Kw::MinLength(1)]),
        ("resource_id", &[Kw::Type(&["string"]), Kw::MinLength(1)]),
    ];
    if let Some((reason, property)) = first_error(obj, PROPS) {
        return Err(schema_error(SCHEMA, &reason, Some(property)));
    }
    let text = |k: &str| obj.get(k).and_then(Value::as_str).unwrap_or_default().to_owned();
    Ok((text("service"), text("resource_type"), text("resource_id")))
}

/// `ProjectQuotaValidator`: `{"project_quotas": {resource: integer}}`, nothing else. Returns
/// the given `(resource index, value)`s.
pub fn project_quotas(body: &[u8]) -> Result<Vec<(usize, i64)>, Invalid> {
    const SCHEMA: &str = "Project Quota";
    let value = load_json(body)?;
    let obj = object(&value, SCHEMA)?;
    if let Some(msg) = jsonschema::additional_properties(obj, |k| k == "project_quotas") {
        return Err(schema_error(SCHEMA, &msg, None));
    }
    let Some(quotas) = obj.get("project_quotas") else {
        return Err(schema_error(SCHEMA, &jsonschema::required("project_quotas"), None));
    };
    let Some(quotas) = quotas.as_object() else {
        return Err(schema_error(SCHEMA, &jsonschema::not_of_type(quotas, &["object"]), Some("project_quotas")));
    };
    if let Some(msg) = jsonschema::additional_properties(quotas, |k| QUOTA_RESOURCES.contains(&k)) {
        return Err(schema_error(SCHEMA, &msg, Some("project_quotas")));
    }
    const PROPS: Properties = &[
        ("secrets", &[Kw::Type(&["integer"])]),
        ("orders", &[Kw::Type(&["integer"])]),
        ("containers", &[Kw::Type(&["integer"])]),
        ("consumers", &[Kw::Type(&["integer"])]),
        ("cas", &[Kw::Type(&["integer"])]),
    ];
    if let Some((reason, _)) = first_error(quotas, PROPS) {
        return Err(schema_error(SCHEMA, &reason, Some("project_quotas")));
    }
    Ok(given(quotas))
}

fn given(quotas: &Map<String, Value>) -> Vec<(usize, i64)> {
    QUOTA_RESOURCES
        .iter()
        .enumerate()
        .filter_map(|(i, r)| quotas.get(*r).and_then(|v| v.as_i64().or_else(|| v.as_f64().map(|f| f as i64))).map(|v| (i, v)))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn metadata_rules() {
        assert_eq!(new_metadata(br#"{"metadata": {"A-b_1": "x"}}"#).unwrap(), vec![("a-b_1".to_owned(), "x".to_owned())]);
        assert_eq!(new_metadata(br#"{"metadata": {"a b": "x"}}"#).unwrap_err().message, INVALID_KEY);
        assert_eq!(new_metadata(br#"{"metadata": {"a": 1}}"#).unwrap_err().message, NOT_STRINGS);
        assert_eq!(
            new_metadata(b"{}").unwrap_err().message,
            "Provided object does not match schema 'SecretMetadata': 'metadata' is a required property. Invalid property: 'metadata'"
        );
        assert_eq!(
            new_metadatum(br#"{"key": "k", "value": "v", "x": 1}"#).unwrap_err().message,
            "Provided object does not match schema 'SecretMetadatum': Additional properties are not allowed ('x' was unexpected). Invalid property: 'None'"
        );
        assert_eq!(new_metadatum(br#"{"key": "K", "value": "v"}"#).unwrap(), ("k".to_owned(), "v".to_owned()));
        // Checked against Barbican 23.0.0: `value` sorts after `key`.
        let schema = |reason: &str, property: &str| {
            format!("Provided object does not match schema 'SecretMetadatum': {reason}. Invalid property: '{property}'")
        };
        assert_eq!(new_metadatum(br#"{"key": 5, "value": 5}"#).unwrap_err().message, schema("5 is not of type 'string'", "value"));
        assert_eq!(new_metadatum(br#"{"value": 5}"#).unwrap_err().message, schema("5 is not of type 'string'", "value"));
        assert_eq!(new_metadatum(br#"{"key": "k"}"#).unwrap_err().message, schema("'value' is a required property", "value"));
    }

    #[test]
    fn quota_and_consumer_rules() {
        assert_eq!(project_quotas(br#"{"project_quotas": {"secrets": 3, "cas": -1}}"#).unwrap(), vec![(0, 3), (4, -1)]);
        assert_eq!(
            project_quotas(br#"{"project_quotas": {"secrets": "3"}}"#).unwrap_err().message,
            "Provided object does not match schema 'Project Quota': '3' is not of type 'integer'. Invalid property: 'project_quotas'"
        );
        assert_eq!(
            secret_consumer(br#"{"service": "s", "resource_type": "t"}"#).unwrap_err().message,
            "Provided object does not match schema 'Secret Consumer': 'resource_id' is a required property. Invalid property: 'None'"
        );
    }
}
