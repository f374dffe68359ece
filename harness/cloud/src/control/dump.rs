//! `GET /_sim/resources` as a stream: a big cloud's dump used to be built whole in memory
//! (16 parallel dumps took the server to 1.9 GB). Rows are read a page at a time by rowid, so
//! the store's lock is held for one page only and other requests go on between pages, and
//! written out as they are read: memory is a page plus the channel's few chunks, whatever the
//! size of the cloud. The dump is not one snapshot: a row changed while it streams may show
//! either way, which is fine for what it is for (looking, and tests that check for leftovers).

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use axum::body::{Body, Bytes};
use rusqlite::types::ValueRef;
use serde_json::{Map, Value};

use super::Control;
use super::reset::{SECRET_COLUMNS, cell, ident, redacted, tables};
use crate::store::StoreError;

/// Rows read per lock of the store.
const PAGE_ROWS: usize = 256;
/// Bytes gathered before a chunk goes to the client.
const CHUNK_BYTES: usize = 64 * 1024;
/// Chunks queued for a slow client before the reader waits.
const QUEUED_CHUNKS: usize = 4;

/// What one service's part of the dump holds: its tables, and files a resettable lists.
struct ServiceDump {
    tables: Vec<String>,
    files: Option<Value>,
}

/// The services of the dump, each with its tables and files; `Err` names an unknown service.
fn plan(control: &Control, service: Option<&str>) -> Result<BTreeMap<String, ServiceDump>, String> {
    let all_tables = control.store.with(tables).map_err(|e| e.to_string())?;
    let mut services: BTreeMap<String, ServiceDump> = BTreeMap::new();
    fn entry(services: &mut BTreeMap<String, ServiceDump>, name: String) -> &mut ServiceDump {
        services.entry(name).or_insert_with(|| ServiceDump { tables: Vec::new(), files: None })
    }
    for table in all_tables {
        let name = table.split('_').next().unwrap_or(&table).to_owned();
        entry(&mut services, name).tables.push(table);
    }
    let registered: BTreeSet<&str> = control.services().into_iter().collect();
    for name in registered {
        entry(&mut services, name.to_owned());
    }
    for r in control.resettables.read().unwrap_or_else(|p| p.into_inner()).iter() {
        if let Some((name, files)) = r.resources() {
            entry(&mut services, name).files = Some(files);
        }
    }
    match service {
        None => Ok(services),
        Some(s) => match services.remove(s) {
            Some(dump) => Ok(BTreeMap::from([(s.to_owned(), dump)])),
            None => Err(format!("unknown service '{s}'")),
        },
    }
}

/// One page of `table` after `after` (a rowid): the rows as JSON objects, and the last rowid.
fn page(control: &Control, table: &str, after: i64) -> Result<(Vec<Value>, Option<i64>), StoreError> {
    control.store.with(|c| {
        let mut stmt = c.prepare(&format!("SELECT rowid, * FROM {} WHERE rowid > ?1 ORDER BY rowid LIMIT ?2", ident(table)))?;
        let columns: Vec<String> = stmt.column_names().into_iter().skip(1).map(str::to_owned).collect();
        let mut last = None;
        let rows = stmt
            .query_map(rusqlite::params![after, PAGE_ROWS as i64], |r| {
                let rowid: i64 = r.get(0)?;
                let mut row = Map::new();
                for (i, name) in columns.iter().enumerate() {
                    let v: ValueRef<'_> = r.get_ref(i + 1)?;
                    let secret = SECRET_COLUMNS.contains(&(table, name.as_str()));
                    row.insert(name.clone(), if secret { redacted(v) } else { cell(v) });
                }
                Ok((rowid, Value::Object(row)))
            })?
            .map(|r| {
                r.map(|(rowid, row)| {
                    last = Some(rowid);
                    row
                })
            })
            .collect::<rusqlite::Result<Vec<_>>>()?;
        Ok((rows, last))
    })
}

/// Gathers output and hands it to the client a chunk at a time.
struct Sink {
    buffer: Vec<u8>,
    tx: tokio::sync::mpsc::Sender<Result<Bytes, std::io::Error>>,
}

impl Sink {
    fn write(&mut self, text: impl AsRef<[u8]>) -> Result<(), ()> {
        self.buffer.extend_from_slice(text.as_ref());
        if self.buffer.len() >= CHUNK_BYTES { self.flush() } else { Ok(()) }
    }

    fn json(&mut self, value: &Value) -> Result<(), ()> {
        serde_json::to_writer(&mut self.buffer, value).map_err(|_| ())?;
        if self.buffer.len() >= CHUNK_BYTES { self.flush() } else { Ok(()) }
    }

    /// `Err` when the client went away: stop reading.
    fn flush(&mut self) -> Result<(), ()> {
        if self.buffer.is_empty() {
            return Ok(());
        }
        let chunk = Bytes::from(std::mem::take(&mut self.buffer));
        self.tx.blocking_send(Ok(chunk)).map_err(|_| ())
    }
}

fn key(name: &str) -> String {
    Value::String(name.to_owned()).to_string()
}

/// Writes the whole dump; `Err(Some(cause))` for a store failure mid-way, `Err(None)` when
/// the client left.
fn write_dump(control: &Control, services: BTreeMap<String, ServiceDump>, sink: &mut Sink) -> Result<(), Option<String>> {
    let gone = |()| None;
    sink.write(b"{\"services\":{").map_err(gone)?;
    for (i, (name, dump)) in services.iter().enumerate() {
        let separator = if i == 0 { "" } else { "," };
        sink.write(format!("{separator}{}:{{\"tables\":{{", key(name))).map_err(gone)?;
        for (t, table) in dump.tables.iter().enumerate() {
            sink.write(format!("{}{}:[", if t == 0 { "" } else { "," }, key(table))).map_err(gone)?;
            let (mut after, mut first) = (i64::MIN, true);
            loop {
                let (rows, last) = page(control, table, after).map_err(|e| Some(format!("{table}: {e}")))?;
                for row in &rows {
                    if !first {
                        sink.write(b",").map_err(gone)?;
                    }
                    first = false;
                    sink.json(row).map_err(gone)?;
                }
                match last {
                    Some(rowid) if rows.len() == PAGE_ROWS => after = rowid,
                    _ => break,
                }
            }
            sink.write(b"]").map_err(gone)?;
        }
        sink.write(b"}").map_err(gone)?;
        if let Some(files) = &dump.files {
            sink.write(b",\"files\":").map_err(gone)?;
            sink.json(files).map_err(gone)?;
        }
        sink.write(b"}").map_err(gone)?;
    }
    sink.write(b"}}").map_err(gone)?;
    sink.flush().map_err(gone)
}

/// The dump's body, streamed from a blocking thread; `Err` (before anything is sent) for an
/// unknown service or a store that cannot list its tables.
pub async fn resources_body(control: Arc<Control>, service: Option<String>) -> Result<Body, String> {
    let planner = control.clone();
    let services = tokio::task::spawn_blocking(move || plan(&planner, service.as_deref())).await.map_err(|e| e.to_string())??;
    let (tx, rx) = tokio::sync::mpsc::channel(QUEUED_CHUNKS);
    tokio::task::spawn_blocking(move || {
        let mut sink = Sink { buffer: Vec::with_capacity(CHUNK_BYTES * 2), tx: tx.clone() };
        if let Err(Some(cause)) = write_dump(&control, services, &mut sink) {
            tracing::error!(error = %cause, "GET /_sim/resources stopped mid-way");
            // The client sees the body end with an error, never a truncated document that parses.
            let _ = tx.blocking_send(Err(std::io::Error::other(cause)));
        }
    });
    let stream = futures_util::stream::unfold(rx, |mut rx| async move { rx.recv().await.map(|item| (item, rx)) });
    Ok(Body::from_stream(stream))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_written_dump_is_one_json_document() {
        let (tx, mut rx) = tokio::sync::mpsc::channel(1024);
        let mut sink = Sink { buffer: Vec::new(), tx };
        sink.write(b"{\"a\":").unwrap();
        sink.json(&serde_json::json!([1, "x"])).unwrap();
        sink.write(b"}").unwrap();
        sink.flush().unwrap();
        let mut all = Vec::new();
        while let Ok(Ok(chunk)) = rx.try_recv() {
            all.extend_from_slice(&chunk);
        }
        assert_eq!(serde_json::from_slice::<Value>(&all).unwrap(), serde_json::json!({"a": [1, "x"]}));
    }
}
