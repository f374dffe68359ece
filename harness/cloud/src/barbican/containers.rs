//! Barbican's containers without HTTP (`barbican/api/controllers/containers.py`,
//! `ContainerRepo`, `ContainerValidator`, `ContainerSecretValidator`,
//! `ContainerConsumerValidator`): containers with their secret references, consumers and read
//! ACLs in SQLite, and the request rules with Barbican's messages.

use rusqlite::{OptionalExtension, Row, params};
use serde_json::{Map, Value};

use super::model::{Acl, KeyManager};
use super::validate::{Invalid, Properties, first_error, load_json, object, schema_error};
use crate::jsonschema::{self, Keyword as Kw};
use crate::store::StoreError;

pub(super) const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS barbican_containers (
    id TEXT PRIMARY KEY, project_id TEXT NOT NULL, creator_id TEXT NOT NULL, name TEXT,
    container_type TEXT NOT NULL, created INTEGER NOT NULL, updated INTEGER NOT NULL);
CREATE INDEX IF NOT EXISTS barbican_containers_project ON barbican_containers (project_id, created);
CREATE TABLE IF NOT EXISTS barbican_container_secrets (
    container_id TEXT NOT NULL, secret_id TEXT NOT NULL, name TEXT);
CREATE TABLE IF NOT EXISTS barbican_container_consumers (
    container_id TEXT NOT NULL, project_id TEXT NOT NULL, name TEXT NOT NULL, url TEXT NOT NULL,
    created INTEGER NOT NULL, updated INTEGER NOT NULL, PRIMARY KEY (container_id, name, url));
CREATE TABLE IF NOT EXISTS barbican_container_acls (
    container_id TEXT PRIMARY KEY, project_access INTEGER NOT NULL, created INTEGER NOT NULL,
    updated INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS barbican_container_acl_users (
    container_id TEXT NOT NULL, user_id TEXT NOT NULL, position INTEGER NOT NULL,
    PRIMARY KEY (container_id, user_id));
";

const COLUMNS: &str = "id, project_id, creator_id, name, container_type, created, updated";

/// One container. Times are Unix microseconds, UTC.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Container {
    pub id: String,
    pub project_id: String,
    pub creator_id: String,
    pub name: Option<String>,
    /// `generic`, `rsa` or `certificate`.
    pub container_type: String,
    pub created: i64,
    pub updated: i64,
    /// `(name, secret id)`, in the order they were added.
    pub secrets: Vec<(Option<String>, String)>,
    /// `(name, URL)` of the live consumers, by name.
    pub consumers: Vec<ContainerConsumer>,
}

/// A container consumer registration.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ContainerConsumer {
    pub project_id: String,
    pub name: String,
    pub url: String,
    pub created: i64,
    pub updated: i64,
}

fn head(r: &Row<'_>) -> rusqlite::Result<Container> {
    Ok(Container {
        id: r.get(0)?,
        project_id: r.get(1)?,
        creator_id: r.get(2)?,
        name: r.get(3)?,
        container_type: r.get(4)?,
        created: r.get(5)?,
        updated: r.get(6)?,
        secrets: Vec::new(),
        consumers: Vec::new(),
    })
}

fn fill(c: &rusqlite::Connection, mut container: Container) -> rusqlite::Result<Container> {
    let mut stmt = c.prepare("SELECT name, secret_id FROM barbican_container_secrets WHERE container_id = ?1 ORDER BY rowid")?;
    container.secrets = stmt.query_map(params![container.id], |r| Ok((r.get(0)?, r.get(1)?)))?.collect::<rusqlite::Result<_>>()?;
    container.consumers = consumers_of(c, &container.id)?;
    Ok(container)
}

fn consumers_of(c: &rusqlite::Connection, container_id: &str) -> rusqlite::Result<Vec<ContainerConsumer>> {
    let mut stmt = c.prepare(
        "SELECT project_id, name, url, created, updated FROM barbican_container_consumers WHERE container_id = ?1 ORDER BY name, rowid",
    )?;
    let rows = stmt.query_map(params![container_id], |r| {
        Ok(ContainerConsumer { project_id: r.get(0)?, name: r.get(1)?, url: r.get(2)?, created: r.get(3)?, updated: r.get(4)? })
    })?;
    rows.collect()
}

impl KeyManager {
    pub fn insert_container(&self, container: &Container) -> Result<(), StoreError> {
        self.store().transaction(|tx| {
            tx.execute(
                &format!("INSERT INTO barbican_containers ({COLUMNS}) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)"),
                params![
                    container.id,
                    container.project_id,
                    container.creator_id,
                    container.name,
                    container.container_type,
                    container.created,
                    container.updated
                ],
            )?;
            for (name, secret_id) in &container.secrets {
                tx.execute(
                    "INSERT INTO barbican_container_secrets (container_id, secret_id, name) VALUES (?1, ?2, ?3)",
                    params![container.id, secret_id, name],
                )?;
            }
            Ok::<(), StoreError>(())
        })
    }

    /// `get_container_by_id`: in any project.
    pub fn get_container(&self, id: &str) -> Result<Option<Container>, StoreError> {
        self.store().with(|c| {
            let found = c.query_row(&format!("SELECT {COLUMNS} FROM barbican_containers WHERE id = ?1"), params![id], head).optional()?;
            found.map(|container| fill(c, container)).transpose()
        })
    }

    /// `ContainerRepo.get_by_create_date`: one page of the project's containers (name `LIKE`,
    /// type equality), oldest first, and the total.
    pub fn list_containers(
        &self,
        project_id: &str,
        name: Option<&str>,
        container_type: Option<&str>,
        offset: i64,
        limit: i64,
    ) -> Result<(Vec<Container>, i64), StoreError> {
        self.store().with(|c| {
            let filter =
                "FROM barbican_containers WHERE project_id = ?1 AND (?2 IS NULL OR name LIKE ?2) AND (?3 IS NULL OR container_type = ?3)";
            let total: i64 = c.query_row(&format!("SELECT COUNT(*) {filter}"), params![project_id, name, container_type], |r| r.get(0))?;
            let mut stmt = c.prepare(&format!("SELECT {COLUMNS} {filter} ORDER BY created ASC, rowid ASC LIMIT ?4 OFFSET ?5"))?;
            let heads =
                stmt.query_map(params![project_id, name, container_type, limit, offset], head)?.collect::<rusqlite::Result<Vec<_>>>()?;
            let containers = heads.into_iter().map(|h| fill(c, h)).collect::<rusqlite::Result<Vec<_>>>()?;
            Ok((containers, total))
        })
    }

    /// Deletes the container, its secret references, consumers and ACL (the secrets stay).
    pub fn delete_container(&self, id: &str) -> Result<bool, StoreError> {
        self.store().transaction(|tx| {
            for table in
                ["barbican_container_secrets", "barbican_container_consumers", "barbican_container_acl_users", "barbican_container_acls"]
            {
                tx.execute(&format!("DELETE FROM {table} WHERE container_id = ?1"), params![id])?;
            }
            Ok::<bool, StoreError>(tx.execute("DELETE FROM barbican_containers WHERE id = ?1", params![id])? == 1)
        })
    }

    pub fn add_container_secret(&self, container_id: &str, name: Option<&str>, secret_id: &str, now: i64) -> Result<(), StoreError> {
        self.store().transaction(|tx| {
            tx.execute(
                "INSERT INTO barbican_container_secrets (container_id, secret_id, name) VALUES (?1, ?2, ?3)",
                params![container_id, secret_id, name],
            )?;
            tx.execute("UPDATE barbican_containers SET updated = ?2 WHERE id = ?1", params![container_id, now])?;
            Ok::<(), StoreError>(())
        })
    }

    pub fn remove_container_secret(&self, container_id: &str, name: Option<&str>, secret_id: &str) -> Result<(), StoreError> {
        self.store().with(|c| {
            c.execute(
                "DELETE FROM barbican_container_secrets WHERE container_id = ?1 AND secret_id = ?2 AND name IS ?3",
                params![container_id, secret_id, name],
            )
            .map(|_| ())
        })
    }

    /// `create_or_update_from`: registering the same consumer again is idempotent.
    pub fn add_container_consumer(&self, container_id: &str, consumer: &ContainerConsumer) -> Result<(), StoreError> {
        self.store().transaction(|tx| {
            tx.execute(
                "INSERT OR IGNORE INTO barbican_container_consumers (container_id, project_id, name, url, created, updated) VALUES (?1, ?2, ?3, ?4, ?5, ?5)",
                params![container_id, consumer.project_id, consumer.name, consumer.url, consumer.created],
            )?;
            tx.execute("UPDATE barbican_containers SET updated = ?2 WHERE id = ?1", params![container_id, consumer.created])?;
            Ok::<(), StoreError>(())
        })
    }

    pub fn remove_container_consumer(&self, container_id: &str, name: &str, url: &str) -> Result<bool, StoreError> {
        self.store().with(|c| {
            c.execute(
                "DELETE FROM barbican_container_consumers WHERE container_id = ?1 AND name = ?2 AND url = ?3",
                params![container_id, name, url],
            )
            .map(|n| n == 1)
        })
    }

    /// Consumers registered by a project (the `consumers` quota counts them).
    pub fn count_consumers(&self, project_id: &str) -> Result<i64, StoreError> {
        self.store().with(|c| {
            c.query_row(
                "SELECT (SELECT COUNT(*) FROM barbican_container_consumers WHERE project_id = ?1) + (SELECT COUNT(*) FROM barbican_secret_consumers WHERE project_id = ?1)",
                params![project_id],
                |r| r.get(0),
            )
        })
    }

    pub fn container_acl(&self, container_id: &str) -> Result<Option<Acl>, StoreError> {
        self.store().with(|c| {
            let head: Option<(bool, i64, i64)> = c
                .query_row(
                    "SELECT project_access, created, updated FROM barbican_container_acls WHERE container_id = ?1",
                    params![container_id],
                    |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
                )
                .optional()?;
            let Some((project_access, created, updated)) = head else { return Ok(None) };
            let mut stmt = c.prepare("SELECT user_id FROM barbican_container_acl_users WHERE container_id = ?1 ORDER BY position")?;
            let users = stmt.query_map(params![container_id], |r| r.get(0))?.collect::<rusqlite::Result<Vec<String>>>()?;
            Ok(Some(Acl { project_access, users, created, updated }))
        })
    }

    /// As `write_acl`, for a container.
    pub fn write_container_acl(
        &self,
        container_id: &str,
        project_access: Option<bool>,
        users: Option<&[String]>,
        now: i64,
    ) -> Result<(), StoreError> {
        self.store().transaction(|tx| {
            let current: Option<bool> = tx
                .query_row("SELECT project_access FROM barbican_container_acls WHERE container_id = ?1", params![container_id], |r| {
                    r.get(0)
                })
                .optional()?;
            let access = project_access.or(current).unwrap_or(true);
            if current.is_some() {
                tx.execute(
                    "UPDATE barbican_container_acls SET project_access = ?2, updated = ?3 WHERE container_id = ?1",
                    params![container_id, access, now],
                )?;
            } else {
                tx.execute(
                    "INSERT INTO barbican_container_acls (container_id, project_access, created, updated) VALUES (?1, ?2, ?3, ?3)",
                    params![container_id, access, now],
                )?;
            }
            if let Some(users) = users {
                tx.execute("DELETE FROM barbican_container_acl_users WHERE container_id = ?1", params![container_id])?;
                for (position, user) in users.iter().enumerate() {
                    tx.execute(
                        "INSERT OR IGNORE INTO barbican_container_acl_users (container_id, user_id, position) VALUES (?1, ?2, ?3)",
                        params![container_id, user, position as i64],
                    )?;
                }
            }
            Ok::<(), StoreError>(())
        })
    }

    pub fn delete_container_acl(&self, container_id: &str) -> Result<(), StoreError> {
        self.store().transaction(|tx| {
            tx.execute("DELETE FROM barbican_container_acl_users WHERE container_id = ?1", params![container_id])?;
            tx.execute("DELETE FROM barbican_container_acls WHERE container_id = ?1", params![container_id])?;
            Ok::<(), StoreError>(())
        })
    }

    /// Containers in a project (the `containers` quota counts them).
    pub fn count_containers(&self, project_id: &str) -> Result<i64, StoreError> {
        self.store()
            .with(|c| c.query_row("SELECT COUNT(*) FROM barbican_containers WHERE project_id = ?1", params![project_id], |r| r.get(0)))
    }
}

// ---- ContainerValidator ----

/// A validated `POST /v1/containers` body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewContainer {
    pub name: Option<String>,
    pub container_type: String,
    /// `(name, secret_ref)` as sent.
    pub secret_refs: Vec<(Option<String>, String)>,
}

/// `ContainerValidator._get_secret_id_from_ref` (and `models.Container`'s parsing).
pub fn secret_id_from_ref(secret_ref: &str) -> String {
    if let Some(stripped) = secret_ref.strip_suffix('/') {
        stripped.rsplit('/').next().unwrap_or_default().to_owned()
    } else {
        secret_ref.rsplit('/').next().unwrap_or(secret_ref).to_owned()
    }
}

/// `ContainerValidator.validate`; `base_url` is the host part refs must start with
/// (`get_base_url_from_request`).
pub fn new_container(body: &[u8], base_url: &str) -> Result<NewContainer, Invalid> {
    const SCHEMA: &str = "Container";
    let value = load_json(body)?;
    let obj = object(&value, SCHEMA)?;
    // jsonschema's best match prefers the shallowest error: the root's `required` first.
    if !obj.contains_key("type") {
        return Err(schema_error(SCHEMA, &jsonschema::required("type"), None));
    }
    const PROPS: Properties = &[
        ("name", &[Kw::Type(&["string", "null"]), Kw::MaxLength(255)]),
        ("type", &[Kw::Type(&["string"]), Kw::Enum(&["generic", "rsa", "certificate"])]),
        ("secret_refs", &[Kw::Type(&["array"])]),
    ];
    if let Some((reason, property)) = first_error(obj, PROPS) {
        return Err(schema_error(SCHEMA, &reason, Some(property)));
    }
    let refs = obj.get("secret_refs").and_then(Value::as_array).cloned().unwrap_or_default();
    // Then the items (one level down), then their fields; among siblings the greatest path
    // wins: the last item, then the property sorting last.
    for item in refs.iter().rev() {
        let Some(item) = item.as_object() else {
            return Err(schema_error(SCHEMA, &jsonschema::not_of_type(item, &["object"]), Some("secret_refs")));
        };
        if !item.contains_key("secret_ref") {
            return Err(schema_error(SCHEMA, &jsonschema::required("secret_ref"), Some("secret_refs")));
        }
    }
    const ITEM: Properties =
        &[("name", &[Kw::Type(&["string", "null"]), Kw::MaxLength(255)]), ("secret_ref", &[Kw::Type(&["string"]), Kw::MinLength(1)])];
    for item in refs.iter().rev().filter_map(Value::as_object) {
        if let Some((reason, _)) = first_error(item, ITEM) {
            return Err(schema_error(SCHEMA, &reason, Some("secret_refs")));
        }
    }
    let name_of = |item: &Map<String, Value>| item.get("name").and_then(Value::as_str).map(str::to_owned);
    let secret_refs: Vec<(Option<String>, String)> = refs
        .iter()
        .filter_map(Value::as_object)
        .map(|item| (name_of(item), item.get("secret_ref").and_then(Value::as_str).unwrap_or_default().to_owned()))
        .collect();
    let container = NewContainer {
        name: obj.get("name").and_then(Value::as_str).map(str::to_owned),
        container_type: obj.get("type").and_then(Value::as_str).unwrap_or_default().to_owned(),
        secret_refs,
    };
    if refs.is_empty() {
        return Ok(container);
    }
    let invalid = |reason: &str| Err(schema_error(SCHEMA, reason, Some("secret_refs")));
    // `set(secret_ref.get('name', ''))`: an absent name is '', a null one None.
    let mut names: Vec<Option<String>> = Vec::new();
    for item in refs.iter().filter_map(Value::as_object) {
        let name = match item.get("name") {
            None => Some(String::new()),
            Some(v) => v.as_str().map(str::to_owned),
        };
        if !names.contains(&name) {
            names.push(name);
        }
    }
    if names.len() != refs.len() {
        return invalid("Duplicate reference names are not allowed");
    }
    let mut ids: Vec<String> = container.secret_refs.iter().map(|(_, r)| secret_id_from_ref(r)).collect();
    ids.sort();
    ids.dedup();
    if ids.len() != refs.len() {
        return invalid("Duplicate secret ids are not allowed");
    }
    if container.secret_refs.iter().any(|(_, r)| !r.starts_with(base_url)) {
        return Err(Invalid { status: 400, message: "Provided field value is not supported".into() });
    }
    let named = |allowed: &[&str]| names.iter().all(|n| n.as_deref().is_some_and(|n| allowed.contains(&n)));
    let has = |required: &[&str]| required.iter().all(|r| names.iter().any(|n| n.as_deref() == Some(*r)));
    match container.container_type.as_str() {
        "rsa" => {
            if !named(&["public_key", "private_key", "private_key_passphrase"]) {
                return invalid("only 'private_key', 'public_key' and 'private_key_passphrase' reference names are allowed for RSA type");
            }
            if !has(&["public_key", "private_key"]) {
                // Barbican's message lacks the space between "and" and "'private_key'".
                return invalid("The minimum required reference names are 'public_key' and'private_key' for RSA type");
            }
        }
        "certificate" => {
            if !named(&["certificate", "private_key", "private_key_passphrase", "intermediates"]) {
                return invalid(
                    "only 'private_key', 'certificate' , 'private_key_passphrase',  or 'intermediates' reference names are allowed for Certificate type",
                );
            }
            if !has(&["certificate"]) {
                return invalid("The minimum required reference name is 'certificate' for Certificate type");
            }
        }
        _ => {}
    }
    Ok(container)
}

/// `ContainerSecretValidator`: `{"name": str (max 255), "secret_ref": str (min 1, required)}`.
pub fn container_secret(body: &[u8]) -> Result<(Option<String>, String), Invalid> {
    const SCHEMA: &str = "ContainerSecret";
    let value = load_json(body)?;
    let obj = object(&value, SCHEMA)?;
    if !obj.contains_key("secret_ref") {
        return Err(schema_error(SCHEMA, &jsonschema::required("secret_ref"), None));
    }
    const PROPS: Properties =
        &[("name", &[Kw::Type(&["string"]), Kw::MaxLength(255)]), ("secret_ref", &[Kw::Type(&["string"]), Kw::MinLength(1)])];
    if let Some((reason, property)) = first_error(obj, PROPS) {
        return Err(schema_error(SCHEMA, &reason, Some(property)));
    }
    let text = |k: &str| obj.get(k).and_then(Value::as_str).map(str::to_owned);
    Ok((text("name"), text("secret_ref").unwrap_or_default()))
}

/// `ContainerConsumerValidator`: `{"name": str (1..36), "URL": str (1..255)}`, both required.
pub fn container_consumer(body: &[u8]) -> Result<(String, String), Invalid> {
    const SCHEMA: &str = "Consumer";
    let value = load_json(body)?;
    let obj = object(&value, SCHEMA)?;
    for name in ["name", "URL"] {
        if !obj.contains_key(name) {
            return Err(schema_error(SCHEMA, &jsonschema::required(name), None));
        }
    }
    const PROPS: Properties = &[
        ("URL", &[Kw::Type(&["string"]), Kw::MaxLength(255), Kw::MinLength(1)]),
        ("name", &[Kw::Type(&["string"]), Kw::MaxLength(36), Kw::MinLength(1)]),
    ];
    if let Some((reason, property)) = first_error(obj, PROPS) {
        return Err(schema_error(SCHEMA, &reason, Some(property)));
    }
    let text = |k: &str| obj.get(k).and_then(Value::as_str).unwrap_or_default().to_owned();
    Ok((text("name"), text("URL")))
}

#[cfg(test)]
mod tests {
    use super::*;

    const BASE: &str = "http://kms";

    fn message(body: &str) -> String {
        new_container(body.as_bytes(), BASE).unwrap_err().message
    }

    #[test]
    fn container_messages() {
        assert_eq!(
            message("{}"),
            "Provided object does not match schema 'Container': 'type' is a required property. Invalid property: 'None'"
        );
        assert_eq!(
            message(r#"{"type": "blob"}"#),
            "Provided object does not match schema 'Container': 'blob' is not one of ['generic', 'rsa', 'certificate']. Invalid property: 'type'"
        );
        assert_eq!(
            message(
                r#"{"type": "generic", "secret_refs": [{"name": "a", "secret_ref": "http://kms/v1/secrets/1"}, {"name": "a", "secret_ref": "http://kms/v1/secrets/2"}]}"#
            ),
            "Provided object does not match schema 'Container': Duplicate reference names are not allowed. Invalid property: 'secret_refs'"
        );
        assert_eq!(
            message(r#"{"type": "generic", "secret_refs": [{"secret_ref": "http://evil/v1/secrets/1"}]}"#),
            "Provided field value is not supported"
        );
        assert_eq!(
            message(r#"{"type": "rsa", "secret_refs": [{"name": "public_key", "secret_ref": "http://kms/v1/secrets/1"}]}"#),
            "Provided object does not match schema 'Container': The minimum required reference names are 'public_key' and'private_key' for RSA type. Invalid property: 'secret_refs'"
        );
        assert_eq!(
            message(r#"{"type": "certificate", "secret_refs": [{"name": "key", "secret_ref": "http://kms/v1/secrets/1"}]}"#),
            "Provided object does not match schema 'Container': only 'private_key', 'certificate' , 'private_key_passphrase',  or 'intermediates' reference names are allowed for Certificate type. Invalid property: 'secret_refs'"
        );
        let ok = new_container(br#"{"type": "generic", "name": " c ", "secret_refs": [{"secret_ref": "http://kms/v1/secrets/1/"}]}"#, BASE)
            .unwrap();
        assert_eq!(ok.name.as_deref(), Some("c"));
        assert_eq!(secret_id_from_ref(&ok.secret_refs[0].1), "1");
    }

    #[test]
    fn errors_rank_like_jsonschema_best_match() {
        // Checked against Barbican 23.0.0's ContainerValidator.
        let schema = |reason: &str, property: &str| {
            format!("Provided object does not match schema 'Container': {reason}. Invalid property: '{property}'")
        };
        assert_eq!(message(r#"{"type": 5, "name": 5}"#), schema("5 is not of type 'string'", "type"));
        assert_eq!(message(r#"{"name": 5, "type": "x"}"#), schema("'x' is not one of ['generic', 'rsa', 'certificate']", "type"));
        assert_eq!(message(r#"{"type": "generic", "name": 5}"#), schema("5 is not of type 'string', 'null'", "name"));
        assert_eq!(
            message(r#"{"type": "generic", "secret_refs": [{"name": 5}, {"secret_ref": ""}]}"#),
            schema("'secret_ref' is a required property", "secret_refs")
        );
        assert_eq!(message(r#"{"type": "generic", "secret_refs": ["x"]}"#), schema("'x' is not of type 'object'", "secret_refs"));
        assert_eq!(
            message(r#"{"type": "generic", "secret_refs": [{"name": 5, "secret_ref": "http://kms/1"}]}"#),
            schema("5 is not of type 'string', 'null'", "secret_refs")
        );
    }

    #[test]
    fn consumer_and_container_secret_messages() {
        assert_eq!(
            container_consumer(br#"{"name": "n"}"#).unwrap_err().message,
            "Provided object does not match schema 'Consumer': 'URL' is a required property. Invalid property: 'None'"
        );
        assert_eq!(
            container_consumer(br#"{"name": "", "URL": "u"}"#).unwrap_err().message,
            "Provided object does not match schema 'Consumer': '' should be non-empty. Invalid property: 'name'"
        );
        assert_eq!(
            container_secret(br#"{"name": "n"}"#).unwrap_err().message,
            "Provided object does not match schema 'ContainerSecret': 'secret_ref' is a required property. Invalid property: 'None'"
        );
    }
}
