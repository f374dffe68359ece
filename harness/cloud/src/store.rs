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
///
/// Every call blocks (on the mutex, on SQLite, on the fsync of a commit), so it runs off the
/// async workers: on a multi-threaded runtime [`tokio::task::block_in_place`] hands the
/// worker's other tasks to another thread while this one waits, so a slow commit never stalls
/// requests that do not need the store. Callers stay synchronous (every service calls the
/// store from plain functions). On a current-thread runtime (`#[tokio::test]`'s default) or
/// outside any runtime the call runs inline: there is no other worker to hand tasks to.
pub struct Store {
    conn: Mutex<Connection>,
}

/// Runs blocking store work where it cannot stall other tasks (see [`Store`]).
fn off_the_workers<T>(work: impl FnOnce() -> T) -> T {
    use tokio::runtime::{Handle, RuntimeFlavor};
    match Handle::try_current() {
        // `block_in_place` on a blocking-pool thread or in `Runtime::block_on` runs the work
        // inline; on a worker it first moves the worker's queue to another thread.
        Ok(handle) if handle.runtime_flavor() == RuntimeFlavor::MultiThread => tokio::task::block_in_place(work),
        _ => work(),
    }
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
        off_the_workers(|| Ok(f(&self.lock())?))
    }

    /// Runs `f` inside a transaction, committed only if `f` succeeds.
    pub fn transaction<T, E>(&self, f: impl FnOnce(&rusqlite::Transaction<'_>) -> Result<T, E>) -> Result<T, E>
    where
        E: From<StoreError>,
    {
        off_the_workers(|| {
            let mut conn = self.lock();
            let tx = conn.transaction().map_err(StoreError::from)?;
            let value = f(&tx)?;
            tx.commit().map_err(StoreError::from)?;
            Ok(value)
        })
    }

    /// Creates a service's tables if they do not exist.
    pub fn migrate(&self, schema: &str) -> Result<(), StoreError> {
        self.with(|c| c.execute_batch(schema))
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;
    use std::time::{Duration, Instant};

    use super::*;

    fn store() -> (tempfile::TempDir, Arc<Store>) {
        let dir = tempfile::tempdir().unwrap();
        let store = Arc::new(Store::open(&dir.path().join("test.db")).unwrap());
        (dir, store)
    }

    /// One worker: a store call that takes 600 ms must not hold up a task that needs 20 ms.
    #[tokio::test(flavor = "multi_thread", worker_threads = 1)]
    async fn a_slow_store_call_does_not_stall_the_workers() {
        let (_dir, store) = store();
        let (started_tx, started_rx) = tokio::sync::oneshot::channel();
        let slow = tokio::spawn({
            let store = store.clone();
            async move {
                store.with(|c| {
                    let _ = started_tx.send(());
                    std::thread::sleep(Duration::from_millis(600));
                    c.query_row("SELECT 1", [], |r| r.get::<_, i64>(0))
                })
            }
        });
        started_rx.await.unwrap();
        let spawned = Instant::now();
        let quick = tokio::spawn(async {
            tokio::time::sleep(Duration::from_millis(20)).await;
            Instant::now()
        });
        let finished = quick.await.unwrap();
        assert!(finished - spawned < Duration::from_millis(400), "the quick task waited {:?}", finished - spawned);
        assert_eq!(slow.await.unwrap().unwrap(), 1);
    }

    /// Where `block_in_place` would panic or is not needed, the call runs inline.
    #[tokio::test]
    async fn current_thread_runtimes_and_blocking_threads_run_inline() {
        let (_dir, store) = store();
        store.migrate("CREATE TABLE t (v INTEGER)").unwrap();
        store.transaction(|tx| tx.execute("INSERT INTO t VALUES (1)", []).map_err(StoreError::from)).unwrap();
        let s = store.clone();
        let n = tokio::task::spawn_blocking(move || s.with(|c| c.query_row("SELECT count(*) FROM t", [], |r| r.get::<_, i64>(0))))
            .await
            .unwrap()
            .unwrap();
        assert_eq!(n, 1);
        let multi = tokio::runtime::Builder::new_multi_thread().worker_threads(1).build().unwrap();
        let s = store.clone();
        // `Runtime::block_on` of a multi-threaded runtime, off its workers.
        let n = std::thread::spawn(move || {
            multi.block_on(async move { s.with(|c| c.query_row("SELECT v FROM t", [], |r| r.get::<_, i64>(0))) })
        })
        .join()
        .unwrap()
        .unwrap();
        assert_eq!(n, 1);
    }

    #[test]
    fn errors_keep_their_cause() {
        let (_dir, store) = store();
        let e = store.with(|c| c.execute("INSERT INTO missing VALUES (1)", [])).unwrap_err();
        assert_eq!(e.to_string(), "state database: no such table: missing");
    }
}
