//! Durable state: one SQLite database in the data directory. Every change is committed before
//! the request that made it is answered, so a server killed with SIGKILL and restarted on the
//! same directory keeps everything it acknowledged.

use std::path::Path;
use std::sync::{Mutex, MutexGuard};

use rusqlite::Connection;

/// A storage failure; surfaces as a 500 from whichever service hit it.
#[derive(Debug, thiserror::Error)]
#[error("state database: {0}")]
pub struct StoreError(String);

impl From<rusqlite::Error> for StoreError {
    fn from(e: rusqlite::Error) -> Self {
        StoreError(e.to_string())
    }
}

/// The shared database. Calls are short and the simulator is not a throughput target, so one
/// connection behind a mutex keeps transactions simple.
pub struct Store {
    conn: Mutex<Connection>,
}

impl Store {
    pub fn open(path: &Path) -> Result<Store, StoreError> {
        let conn = Connection::open(path)?;
        // WAL + FULL sync: a committed transaction survives a process kill.
        conn.pragma_update(None, "journal_mode", "WAL")?;
        conn.pragma_update(None, "synchronous", "FULL")?;
        conn.pragma_update(None, "foreign_keys", "ON")?;
        conn.busy_timeout(std::time::Duration::from_secs(5))?;
        Ok(Store { conn: Mutex::new(conn) })
    }

    fn lock(&self) -> MutexGuard<'_, Connection> {
        // A panic while holding the lock leaves SQLite consistent (transactions roll back).
        self.conn.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Runs `f` with the connection.
    pub fn with<T>(&self, f: impl FnOnce(&Connection) -> rusqlite::Result<T>) -> Result<T, StoreError> {
        Ok(f(&self.lock())?)
    }

    /// Runs `f` inside a transaction, committed only if `f` succeeds.
    pub fn transaction<T, E>(&self, f: impl FnOnce(&rusqlite::Transaction<'_>) -> Result<T, E>) -> Result<T, E>
    where
        E: From<StoreError>,
    {
        let mut conn = self.lock();
        let tx = conn.transaction().map_err(StoreError::from)?;
        let value = f(&tx)?;
        tx.commit().map_err(StoreError::from)?;
        Ok(value)
    }

    /// Creates a service's tables if they do not exist.
    pub fn migrate(&self, schema: &str) -> Result<(), StoreError> {
        self.with(|c| c.execute_batch(schema))
    }
}
