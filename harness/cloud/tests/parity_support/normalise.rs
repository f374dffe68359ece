//! Reduces an answer to what clients depend on, redacting what differs between any two runs.

use std::sync::LazyLock;

use regex::Regex;
use serde_json::{Map, Value, json};

use super::{COMPARED_SERVICES, EXACT_KEYS, PRESENT_HEADERS, VALUE_HEADERS};

static HOST: LazyLock<Regex> = LazyLock::new(|| Regex::new(r"https?://(127\.0\.0\.1|localhost|\[::1\]):\d+").unwrap());
static UUID: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}").unwrap());
static HEX_ID: LazyLock<Regex> = LazyLock::new(|| Regex::new(r"\b[0-9a-f]{32}\b").unwrap());
static TIME: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:?\d{2})?").unwrap());
static DIGIT: LazyLock<Regex> = LazyLock::new(|| Regex::new(r"\d").unwrap());
static BASE64: LazyLock<Regex> = LazyLock::new(|| Regex::new(r"^[A-Za-z0-9+/_-]{100,}={0,2}$").unwrap());
static HEX: LazyLock<Regex> = LazyLock::new(|| Regex::new(r"^[0-9a-f]+$").unwrap());
/// Nova's `hostId`: a sha224 of the project and the host, so one per project.
static HOST_ID: LazyLock<Regex> = LazyLock::new(|| Regex::new(r"\b[0-9a-f]{56}\b").unwrap());
/// Nova's instance names: `instance-%08x` of the instance's database row (a counter).
static INSTANCE_NAME: LazyLock<Regex> = LazyLock::new(|| Regex::new(r"\binstance-[0-9a-f]{8}\b").unwrap());
/// Nova's reservation ids: `r-` and 8 random digits or lowercase letters.
static RESERVATION_ID: LazyLock<Regex> = LazyLock::new(|| Regex::new(r"\br-[0-9a-z]{8}\b").unwrap());
/// A Python traceback (a Nova fault's `details` for an admin).
const TRACEBACK: &str = "Traceback (most recent call last):";

/// Redacts what differs between any two runs: loopback hosts and ports, UUIDs, Keystone's
/// 32-hex ids, long base64 values (signatures: RSA-PSS salts are random), and the digits of timestamps (their format is
/// kept: `2026-01-02T03:04:05.123456Z` becomes `0000-00-00T00:00:00.000000Z`). For Nova:
/// `hostId`s, instance names and reservation ids; a traceback keeps its first line and its
/// last, the exception with its message (the frames are the service's code, which the
/// simulator does not have).
fn redact(text: &str) -> String {
    if BASE64.is_match(text) && !HEX.is_match(text) && !UUID.is_match(text) {
        return "[base64]".into();
    }
    if text.starts_with(TRACEBACK) {
        let exception = text.lines().rev().find(|line| !line.trim().is_empty()).unwrap_or_default();
        return format!("{TRACEBACK}\n[frames]\n{}", redact(exception));
    }
    let text = HOST.replace_all(text, "http://[host]");
    let text = UUID.replace_all(&text, "[uuid]");
    let text = HEX_ID.replace_all(&text, "[id]");
    let text = HOST_ID.replace_all(&text, "[host-id]");
    let text = INSTANCE_NAME.replace_all(&text, "instance-[n]");
    let text = RESERVATION_ID.replace_all(&text, "r-[id]");
    TIME.replace_all(&text, |c: &regex::Captures| DIGIT.replace_all(&c[0], "0").into_owned()).into_owned()
}

/// `entries` as an object with its keys sorted: the references are compared as text, and no
/// client depends on the order of an object's keys.
fn sorted_object(entries: impl IntoIterator<Item = (String, Value)>) -> Value {
    let mut entries: Vec<(String, Value)> = entries.into_iter().collect();
    entries.sort_by(|a, b| a.0.cmp(&b.0));
    Value::Object(entries.into_iter().collect())
}

/// A JSON body's shape: same keys, same types, exact strings once redacted. Keys and arrays
/// are sorted (role, endpoint and member order is not part of any API contract).
fn normalise_json(value: &Value, key: Option<&str>) -> Value {
    match value {
        Value::Object(map) => sorted_object(map.iter().map(|(k, v)| (k.clone(), normalise_json(v, Some(k))))),
        Value::Array(items) => {
            let mut items: Vec<Value> =
                items.iter().map(|v| if key == Some("audit_ids") { json!("[audit-id]") } else { normalise_json(v, None) }).collect();
            items.sort_by_key(|v| v.to_string());
            Value::Array(items)
        }
        Value::String(s) if key.is_some_and(|k| EXACT_KEYS.contains(&k)) => Value::String(s.clone()),
        Value::String(s) => Value::String(redact(s)),
        other => other.clone(),
    }
}

/// One answer as the references hold it.
pub fn normalise(request: &str, status: u16, headers: &reqwest::header::HeaderMap, body: &[u8]) -> Value {
    let mut kept = Map::new();
    for name in VALUE_HEADERS {
        // No client reads the media type of an empty body (Glance's 204 says text/html).
        if name == "content-type" && body.is_empty() {
            continue;
        }
        if let Some(v) = headers.get(name) {
            let v = String::from_utf8_lossy(v.as_bytes());
            let v = if EXACT_KEYS.contains(&name) { v.into_owned() } else { redact(&v) };
            kept.insert(name.into(), Value::String(v));
        }
    }
    for name in PRESENT_HEADERS {
        if headers.contains_key(name) {
            kept.insert(name.into(), json!("[present]"));
        }
    }
    let content_type = headers.get("content-type").and_then(|v| v.to_str().ok()).unwrap_or_default();
    let body = if body.is_empty() {
        Value::Null
    } else if let Ok(value) = serde_json::from_slice::<Value>(body) {
        normalise_json(&value, None)
    } else if content_type.starts_with("application/octet-stream") {
        json!({"bytes": body.len()})
    } else {
        json!({"text": redact(&String::from_utf8_lossy(body))})
    };
    sorted_object([
        ("request".to_owned(), json!(request)),
        ("status".to_owned(), json!(status)),
        ("headers".to_owned(), sorted_object(kept)),
        ("body".to_owned(), body),
    ])
}

/// Keeps the catalog entries both clouds have (the real stack runs no compute or volume).
pub(super) fn compared_catalog(body: &mut Value) {
    if let Some(catalog) = body.pointer_mut("/token/catalog").and_then(Value::as_array_mut) {
        catalog.retain(|e| e["type"].as_str().is_some_and(|t| COMPARED_SERVICES.contains(&t)));
    }
}
