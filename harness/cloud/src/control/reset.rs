//! What `POST /_sim/reset` restores and what `GET /_sim/resources` shows, without knowing any
//! service's schema: Keystone is re-seeded; other services' SQLite tables are emptied by name
//! prefix and their data directories emptied. That is only correct if a service keeps all of
//! its state there (see the README's "The simulated cloud").

use std::path::{Path, PathBuf};
use std::sync::Arc;

use base64::Engine as _;
use rusqlite::types::ValueRef;
use serde_json::{Map, Value, json};

use crate::keystone::{Identity, Seed};
use crate::store::{Store, StoreError};

/// A piece of state `POST /_sim/reset` puts back to its fresh value.
pub trait Resettable: Send + Sync {
    /// Names it in the reset report (`"keystone"`, `"sqlite barbican_*"`, `"files glance"`).
    fn name(&self) -> String;
    /// Restores the fresh state; the value summarises what was removed.
    fn reset(&self) -> Result<Value, String>;
    /// State outside SQLite to list under a service in `GET /_sim/resources` (data files).
    fn resources(&self) -> Option<(String, Value)> {
        None
    }
}

/// Quotes an SQLite identifier.
pub(super) fn ident(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

pub(super) fn tables(conn: &rusqlite::Connection) -> rusqlite::Result<Vec<String>> {
    let mut stmt =
        conn.prepare("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite\\_%' ESCAPE '\\' ORDER BY name")?;
    stmt.query_map([], |r| r.get(0))?.collect()
}

/// Deletes every row of the given tables in one transaction: foreign keys are checked at
/// commit only, so tables referencing each other empty in any order.
fn wipe(
    store: &Store,
    keep: impl Fn(&str) -> Option<&'static str>,
    selected: impl Fn(&str) -> bool,
) -> Result<Map<String, Value>, StoreError> {
    store.transaction(|tx| {
        tx.execute_batch("PRAGMA defer_foreign_keys = ON")?;
        let mut report = Map::new();
        let names = tables(tx)?;
        for table in names.iter().filter(|t| selected(t)) {
            let filter = keep(table).map(|w| format!(" WHERE NOT ({w})")).unwrap_or_default();
            let n = tx.execute(&format!("DELETE FROM {}{filter}", ident(table)), [])?;
            report.insert(table.clone(), json!(n));
        }
        let has_sequence: bool =
            tx.query_row("SELECT count(*) FROM sqlite_master WHERE name = 'sqlite_sequence'", [], |r| r.get::<_, i64>(0))? > 0;
        if has_sequence {
            for table in report.keys() {
                tx.execute("DELETE FROM sqlite_sequence WHERE name = ?1", [table])?;
            }
        }
        Ok::<_, StoreError>(report)
    })
}

/// Empties every table whose name starts with `prefix` (a service's tables: `barbican_`).
pub struct SqlitePrefix {
    store: Arc<Store>,
    prefix: String,
}

impl SqlitePrefix {
    pub fn new(store: Arc<Store>, prefix: impl Into<String>) -> SqlitePrefix {
        SqlitePrefix { store, prefix: prefix.into() }
    }
}

impl Resettable for SqlitePrefix {
    fn name(&self) -> String {
        format!("sqlite {}*", self.prefix)
    }

    fn reset(&self) -> Result<Value, String> {
        let report = wipe(&self.store, |_| None, |t| t.starts_with(&self.prefix)).map_err(|e| e.to_string())?;
        Ok(json!({"rows_deleted": report}))
    }
}

/// Keystone back to its seed: every `keystone_` row goes (grants, revocations, users created
/// later), except the token-signing secret, then the seed is applied again. Tokens issued
/// before the reset stop validating, since the seeded users get new ids.
pub struct KeystoneSeed {
    store: Arc<Store>,
    seed: Seed,
}

impl KeystoneSeed {
    pub fn new(store: Arc<Store>, seed: Seed) -> KeystoneSeed {
        KeystoneSeed { store, seed }
    }
}

impl Resettable for KeystoneSeed {
    fn name(&self) -> String {
        "keystone".into()
    }

    fn reset(&self) -> Result<Value, String> {
        let keep = |t: &str| (t == "keystone_meta").then_some("key = 'token_secret'");
        let report = wipe(&self.store, keep, |t| t.starts_with("keystone_")).map_err(|e| e.to_string())?;
        // Opening Keystone on a store without the "seeded" mark seeds it; the model reads
        // everything from the store, so the running service sees the new rows at once.
        Identity::open(self.store.clone(), &self.seed).map_err(|e| e.to_string())?;
        Ok(json!({"rows_deleted": report, "reseeded": {
            "users": self.seed.users.iter().map(|u| u.name.clone()).collect::<Vec<_>>(),
            "projects": self.seed.projects,
            "roles": self.seed.roles,
        }}))
    }
}

/// A service's data directory (Glance's `<data_dir>/images/`): every file removed on reset,
/// directories kept; its files listed under the service.
pub struct DataDir {
    service: String,
    dir: PathBuf,
}

impl DataDir {
    pub fn new(service: impl Into<String>, dir: PathBuf) -> DataDir {
        DataDir { service: service.into(), dir }
    }
}

fn walk(dir: &Path, base: &Path, out: &mut Vec<Value>) -> std::io::Result<()> {
    let mut entries: Vec<_> = std::fs::read_dir(dir)?.collect::<Result<_, _>>()?;
    entries.sort_by_key(|e| e.file_name());
    for entry in entries {
        let path = entry.path();
        // Removed while listing (an upload cleaning up): not a resource any more.
        let Ok(meta) = entry.metadata() else { continue };
        if meta.is_dir() {
            walk(&path, base, out)?;
        } else {
            let rel = path.strip_prefix(base).unwrap_or(&path).display().to_string();
            out.push(json!({"path": rel, "size": meta.len()}));
        }
    }
    Ok(())
}

/// Removes every file under `dir`, keeping the directories (a service may have created its
/// layout, such as a staging directory, once at start).
fn remove_files(dir: &Path, removed: &mut u64) -> Result<(), String> {
    let entries = match std::fs::read_dir(dir) {
        Ok(entries) => entries,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
        Err(e) => return Err(format!("{}: {e}", dir.display())),
    };
    for entry in entries {
        let entry = entry.map_err(|e| format!("{}: {e}", dir.display()))?;
        let path = entry.path();
        if entry.file_type().is_ok_and(|t| t.is_dir()) {
            remove_files(&path, removed)?;
            continue;
        }
        match std::fs::remove_file(&path) {
            Ok(()) => *removed += 1,
            // Removed concurrently (an upload cleaning up after itself): already gone.
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(format!("{}: {e}", path.display())),
        }
    }
    Ok(())
}

impl Resettable for DataDir {
    fn name(&self) -> String {
        format!("files {}", self.service)
    }

    fn reset(&self) -> Result<Value, String> {
        let mut removed = 0;
        remove_files(&self.dir, &mut removed)?;
        Ok(json!({"files_removed": removed}))
    }

    fn resources(&self) -> Option<(String, Value)> {
        let base = self.dir.parent().unwrap_or(&self.dir);
        let mut files = Vec::new();
        let listed = if self.dir.exists() { walk(&self.dir, base, &mut files) } else { Ok(()) };
        let value = match listed {
            Ok(()) => Value::Array(files),
            Err(e) => json!({"error": e.to_string()}),
        };
        Some((self.service.clone(), value))
    }
}

/// Columns that hold secrets: the token-signing key, password and application-credential
/// hashes, Barbican's secret payloads. `/_sim/resources` shows that they are set and how
/// long they are, never what they hold (whoever reads the dump could forge tokens or read
/// every secret).
pub(super) const SECRET_COLUMNS: [(&str, &str); 4] = [
    ("keystone_meta", "value"),
    ("keystone_users", "password"),
    ("keystone_application_credentials", "secret_hash"),
    ("barbican_secrets", "payload"),
];

/// A secret column's value as `{"redacted": true, "bytes": N}` (null stays null).
pub(super) fn redacted(v: ValueRef<'_>) -> Value {
    match v {
        ValueRef::Null => Value::Null,
        ValueRef::Text(b) | ValueRef::Blob(b) => json!({"redacted": true, "bytes": b.len()}),
        ValueRef::Integer(_) | ValueRef::Real(_) => json!({"redacted": true}),
    }
}

/// One SQLite value as JSON; blobs as `{"base64": ...}`.
pub(super) fn cell(v: ValueRef<'_>) -> Value {
    match v {
        ValueRef::Null => Value::Null,
        ValueRef::Integer(i) => json!(i),
        ValueRef::Real(f) => json!(f),
        ValueRef::Text(t) => json!(String::from_utf8_lossy(t)),
        ValueRef::Blob(b) => json!({"base64": base64::engine::general_purpose::STANDARD.encode(b)}),
    }
}
