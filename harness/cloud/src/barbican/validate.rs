//! Barbican's request rules without HTTP: `NewSecretValidator` and `ACLValidator` (jsonschema
//! checks with the messages Python's jsonschema prints, then Barbican's own rules), the
//! supported content types, payload retrieval by `Accept`, the secret listing's query strings,
//! and oslo's ISO-8601 dates.

use serde_json::{Map, Value};

use crate::jsonschema::{self, Draft, Keyword as Kw, py_repr};

/// `max_allowed_secret_in_bytes`.
pub const MAX_SECRET_BYTES: usize = 20000;
/// `max_allowed_request_size_in_bytes`.
pub const MAX_REQUEST_BYTES: usize = 25000;
pub const TOO_LARGE: &str = "Provided information too large to process";

const PLAIN_TEXT: [&str; 3] = ["text/plain", "text/plain;charset=utf-8", "text/plain; charset=utf-8"];
const BINARY: [&str; 2] = ["application/octet-stream", "application/pkcs8"];
const SUPPORTED_MSG: &str =
    "['text/plain', 'text/plain;charset=utf-8', 'text/plain; charset=utf-8', 'application/octet-stream', 'application/pkcs8']";
const SECRET_TYPES: [&str; 6] = ["symmetric", "passphrase", "private", "public", "certificate", "opaque"];

/// A rejected request: status and Barbican's description.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Invalid {
    pub status: u16,
    pub message: String,
}

pub(super) fn schema_error(schema: &str, reason: &str, property: Option<&str>) -> Invalid {
    Invalid {
        status: 400,
        message: format!("Provided object does not match schema '{schema}': {reason}. Invalid property: '{}'", property.unwrap_or("None")),
    }
}

/// A validated `POST /v1/secrets` body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewSecret {
    pub name: Option<String>,
    pub secret_type: String,
    pub algorithm: Option<String>,
    pub bit_length: Option<i64>,
    pub mode: Option<String>,
    /// Unix microseconds, UTC.
    pub expiration: Option<i64>,
    /// Internal content type and decoded bytes.
    pub payload: Option<(String, Vec<u8>)>,
}

/// Python's `str.strip()` (a little wider than Rust's `trim`).
fn py_strip(s: &str) -> &str {
    s.trim_matches(|c: char| c.is_whitespace() || ('\x1c'..='\x1f').contains(&c))
}

/// `api.load_body`: parse, then strip every string recursively (`strip_whitespace`).
pub(super) fn load_json(body: &[u8]) -> Result<Value, Invalid> {
    fn strip(v: &mut Value) {
        match v {
            Value::String(s) => *s = py_strip(s).to_owned(),
            Value::Array(items) => items.iter_mut().for_each(strip),
            Value::Object(map) => map.values_mut().for_each(strip),
            _ => {}
        }
    }
    let mut value: Value = serde_json::from_slice(body).map_err(|_| Invalid { status: 400, message: "Malformed JSON".into() })?;
    // Top-level strings stay as they are: Barbican only walks dicts and lists.
    if value.is_object() || value.is_array() {
        strip(&mut value);
    }
    Ok(value)
}

// ---- jsonschema (Barbican validates with the latest draft: 5.0 is an integer) ----

const DRAFT: Draft = Draft::SixOrLater;

/// A schema's properties, in its order, with their keywords.
pub(super) type Properties = &'static [(&'static str, &'static [Kw<'static>])];

/// jsonschema's `best_match` over one level of properties. Its relevance key ranks errors at
/// the same depth by their path, and `max` keeps the greatest: the error on the property whose
/// name sorts last wins (`{"algorithm": 5, "mode": 5}` reports `mode`). Within one property an
/// error on a value of the wrong type outranks the others, else the first keyword's wins.
pub(super) fn first_error(obj: &Map<String, Value>, props: Properties) -> Option<(String, &'static str)> {
    let mut best: Option<(String, &'static str)> = None;
    for (name, keywords) in props {
        let Some(v) = obj.get(*name) else { continue };
        let types = keywords.iter().find_map(|k| if let Kw::Type(t) = k { Some(*t) } else { None }).unwrap_or(&[]);
        let mistyped = !types.is_empty() && !types.iter().any(|t| DRAFT.is_type(v, t));
        let mut own: Option<(String, bool)> = None;
        for kw in keywords.iter() {
            if let Some(msg) = DRAFT.error(v, *kw)
                && own.as_ref().is_none_or(|o| mistyped && !o.1)
            {
                own = Some((msg, mistyped));
            }
        }
        if let Some((msg, _)) = own
            && best.as_ref().is_none_or(|b| *name > b.1)
        {
            best = Some((msg, name));
        }
    }
    best
}

const SECRET_SCHEMA: Properties = &[
    ("name", &[Kw::Type(&["string", "null"]), Kw::MaxLength(255)]),
    ("algorithm", &[Kw::Type(&["string"]), Kw::MaxLength(255)]),
    ("mode", &[Kw::Type(&["string"]), Kw::MaxLength(255)]),
    ("bit_length", &[Kw::Type(&["integer"]), Kw::Minimum(1), Kw::Maximum(32767)]),
    ("expiration", &[Kw::Type(&["string"]), Kw::MaxLength(255)]),
    ("payload", &[Kw::Type(&["string"])]),
    ("secret_type", &[Kw::Type(&["string"]), Kw::MaxLength(80), Kw::Enum(&SECRET_TYPES)]),
    ("payload_content_type", &[Kw::Type(&["string", "null"]), Kw::MaxLength(255)]),
    ("payload_content_encoding", &[Kw::Type(&["string"]), Kw::MaxLength(255), Kw::Enum(&["base64"])]),
    ("transport_key_needed", &[Kw::Type(&["string"]), Kw::Enum(&["true", "false"])]),
    ("transport_key_id", &[Kw::Type(&["string"])]),
];

pub(super) fn object<'a>(v: &'a Value, schema: &str) -> Result<&'a Map<String, Value>, Invalid> {
    jsonschema::root_object(v).map_err(|e| schema_error(schema, &e.message, None))
}

/// `NewSecretValidator.validate`, in Barbican's order. `now` is Unix microseconds.
pub fn new_secret(body: &[u8], now: i64) -> Result<NewSecret, Invalid> {
    let value = load_json(body)?;
    secret_fields(object(&value, "Secret")?, None, now)
}

/// `NewSecretValidator.validate(json_data, parent_schema)`: `parent` is `Some("Order")` for
/// the `meta` of an order, which names the schema `Secret' within 'Order` and lets
/// `payload_content_type` come without a payload (the generated secret's type).
pub(super) fn secret_fields(obj: &Map<String, Value>, parent: Option<&str>, now: i64) -> Result<NewSecret, Invalid> {
    let schema = parent.map_or_else(|| "Secret".to_owned(), |p| format!("Secret' within '{p}"));
    if let Some((reason, property)) = first_error(obj, SECRET_SCHEMA) {
        return Err(schema_error(&schema, &reason, Some(property)));
    }
    let text = |k: &str| obj.get(k).and_then(Value::as_str).map(str::to_owned);
    let invalid = |reason: &str, property: &str| schema_error(&schema, reason, Some(property));

    let expiration = match text("expiration").filter(|e| !e.is_empty()) {
        None => None,
        Some(raw) => {
            let t = parse_iso8601(&raw).ok_or_else(|| invalid("Invalid date for 'expiration'", "expiration"))?;
            if t <= now {
                return Err(invalid("'expiration' is before current time", "expiration"));
            }
            Some(t)
        }
    };
    let content_type = obj.get("payload_content_type").and_then(Value::as_str);
    let payload = match obj.get("payload").and_then(Value::as_str) {
        Some(payload) => {
            let encoding = obj.get("payload_content_encoding").and_then(Value::as_str);
            let Some(content_type) = content_type else {
                return Err(invalid("If 'payload' is supplied, 'payload_content_type' must also be supplied.", "payload_content_type"));
            };
            let Some(internal) = internal_type(content_type) else {
                return Err(invalid(&format!("payload_content_type is not one of {SUPPORTED_MSG}"), "payload_content_type"));
            };
            let binary = internal != "text/plain";
            let encoding_ok = if binary { matches!(encoding, Some("base64" | "binary")) } else { encoding.is_none() };
            if !encoding_ok {
                let supported = if binary { "['base64', 'binary']" } else { "None" };
                return Err(invalid(&format!("payload_content_encoding is not one of {supported}"), "payload_content_encoding"));
            }
            if payload.len() > MAX_SECRET_BYTES {
                return Err(Invalid { status: 413, message: TOO_LARGE.into() });
            }
            if payload.is_empty() {
                return Err(invalid("If 'payload' specified, must be non empty", "payload"));
            }
            // Barbican decodes with Python's non-strict b64decode, as the stored secret is later.
            let bytes = if encoding == Some("base64") {
                sigstack_verify::base64_lenient::decode(payload)
                    .map_err(|_| invalid("Invalid payload for payload_content_encoding", "payload"))?
            } else {
                payload.as_bytes().to_vec()
            };
            Some((internal.to_owned(), bytes))
        }
        None if obj.contains_key("payload_content_type") => {
            if parent.is_none() {
                return Err(invalid("payload must be provided when payload_content_type is specified", "payload"));
            }
            // An order names the type of the secret it generates: it must be supported.
            if let Some(ct) = content_type.filter(|c| !c.is_empty())
                && internal_type(ct).is_none()
            {
                return Err(invalid(&format!("payload_content_type is not one of {SUPPORTED_MSG}"), "payload_content_type"));
            }
            None
        }
        None => None,
    };
    Ok(NewSecret {
        name: text("name"),
        secret_type: text("secret_type").unwrap_or_else(|| "opaque".into()),
        algorithm: text("algorithm"),
        bit_length: obj.get("bit_length").and_then(|v| v.as_i64().or_else(|| v.as_f64().map(|f| f as i64))),
        mode: text("mode"),
        expiration,
        payload,
    })
}

/// The `read` part of an ACL request; `None` fields were not given.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct AclRead {
    pub project_access: Option<bool>,
    pub users: Option<Vec<String>>,
}

/// `ACLValidator`: `{"read": {"users": [...], "project-access": bool}}` and nothing else.
/// Returns `None` when `read` is absent or empty (Barbican skips falsy operations).
pub fn acl_body(body: &[u8]) -> Result<Option<AclRead>, Invalid> {
    let value = load_json(body)?;
    let obj = object(&value, "ACL")?;
    // jsonschema reports the shallowest error first: the root, then `read`, then its fields.
    if let Some(msg) = jsonschema::additional_properties(obj, |k| k == "read") {
        return Err(schema_error("ACL", &msg, None));
    }
    let read = obj.get("read");
    if let Some(read) = read {
        let invalid = |msg: String| Err(schema_error("ACL", &msg, Some("read")));
        let Some(r) = read.as_object() else {
            return invalid(jsonschema::not_of_type(read, &["object"]));
        };
        if let Some(msg) = jsonschema::additional_properties(r, |k| k == "users" || k == "project-access") {
            return invalid(msg);
        }
        let users = r.get("users");
        if let Some(msg) = users.and_then(|u| DRAFT.error(u, Kw::Type(&["array"]))) {
            return invalid(msg);
        }
        if let Some(msg) = r.get("project-access").and_then(|pa| DRAFT.error(pa, Kw::Type(&["boolean"]))) {
            return invalid(msg);
        }
        // Draft-4 tuple `items`: only the first entry is checked.
        if let Some(first) = users.and_then(Value::as_array).and_then(|l| l.first())
            && let Some(msg) = DRAFT.error(first, Kw::Type(&["string"])).or_else(|| DRAFT.error(first, Kw::MaxLength(255)))
        {
            return invalid(msg);
        }
    }
    let Some(r) = read.and_then(Value::as_object).filter(|r| !r.is_empty()) else { return Ok(None) };
    let users = r.get("users").and_then(Value::as_array).map(|list| {
        let mut out: Vec<String> = Vec::new();
        for u in list {
            let id = u.as_str().map(str::to_owned).unwrap_or_else(|| py_repr(u));
            if !out.contains(&id) {
                out.push(id);
            }
        }
        out
    });
    Ok(Some(AclRead { project_access: r.get("project-access").and_then(Value::as_bool), users }))
}

// ---- content types ----

/// `mime_types.normalize_content_type` restricted to supported types: the internal type
/// (`text/plain`, `application/octet-stream`, `application/pkcs8`) or `None`.
pub fn internal_type(mime: &str) -> Option<&'static str> {
    let parts: Vec<&str> = mime.split(';').map(py_strip).collect();
    let base = parts[0].to_lowercase();
    if let Some(param) = parts.get(1) {
        let param = param.to_lowercase();
        let charset = param.split('=').nth(1).map(py_strip);
        if charset != Some("utf-8") {
            // A malformed or foreign charset leaves the type unnormalized; only the literal
            // supported spellings then match.
            return PLAIN_TEXT.contains(&mime).then_some("text/plain");
        }
    }
    match base.as_str() {
        "text/plain" => Some("text/plain"),
        "application/octet-stream" => Some("application/octet-stream"),
        "application/pkcs8" => Some("application/pkcs8"),
        _ => None,
    }
}

/// `plugin.get_secret` + `denormalize_after_decryption`: the bytes and Content-Type for an
/// `Accept`, or the status and reason Barbican reports.
pub fn render_payload(stored_type: &str, bytes: &[u8], accept: &str) -> Result<(Vec<u8>, String), Invalid> {
    let requested = if accept == "*/*" { stored_type } else { accept };
    if internal_type(requested).is_none() {
        return Err(Invalid { status: 406, message: "Wrong payload content-type".into() });
    }
    if PLAIN_TEXT.contains(&requested) {
        if std::str::from_utf8(bytes).is_err() {
            return Err(Invalid { status: 406, message: "Wrong payload content-type".into() });
        }
        Ok((bytes.to_vec(), "text/plain; charset=UTF-8".into()))
    } else if BINARY.contains(&requested) {
        Ok((bytes.to_vec(), requested.to_owned()))
    } else {
        Err(Invalid { status: 400, message: format!("content-type of '{requested}' not supported") })
    }
}

// ---- `GET /v1/secrets` query strings ----

/// Python's `urllib.parse.unquote_plus` (Barbican applies it to an already-decoded `name`).
pub(super) fn unquote_plus(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'+' => out.push(b' '),
            b'%' if i + 2 < b.len() => {
                let hex = |c: u8| (c as char).to_digit(16);
                match (hex(b[i + 1]), hex(b[i + 2])) {
                    (Some(h), Some(l)) => {
                        out.push((h * 16 + l) as u8);
                        i += 2;
                    }
                    _ => out.push(b'%'),
                }
            }
            c => out.push(c),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// `parse.urlencode(filtered_query, doseq=True)` of `request.GET.mixed()` without `limit` and
/// `offset`: each name once, at its first place, with all its values.
pub(super) fn nav_query(params: &[(String, String)]) -> String {
    let quote = |text: &str| -> String {
        text.bytes()
            .map(|b| match b {
                b'a'..=b'z' | b'A'..=b'Z' | b'0'..=b'9' | b'_' | b'.' | b'-' | b'~' => (b as char).to_string(),
                b' ' => "+".to_owned(),
                _ => format!("%{b:02X}"),
            })
            .collect()
    };
    let mut names: Vec<&str> = Vec::new();
    for (name, _) in params {
        if name != "limit" && name != "offset" && !names.contains(&name.as_str()) {
            names.push(name);
        }
    }
    let mut pairs = Vec::new();
    for name in names {
        for (_, value) in params.iter().filter(|(n, _)| n == name) {
            pairs.push(format!("{}={}", quote(name), quote(value)));
        }
    }
    pairs.join("&")
}

/// `_is_valid_date_filter` and the repository's date filter: `gt:`, `gte:`, `lt:`, `lte:` or a
/// bare time (equality), comma-separated.
pub(super) fn date_filters(value: &str, column: &'static str) -> Option<Vec<(&'static str, &'static str, i64)>> {
    let mut seen: Vec<&str> = Vec::new();
    let mut out = Vec::new();
    for part in value.split(',') {
        let (op, sql, rest, conflicts): (&str, &str, &str, &[&str]) = if let Some(r) = part.strip_prefix("gt:") {
            ("gt", ">", r, &["gt", "gte"])
        } else if let Some(r) = part.strip_prefix("gte:") {
            ("gte", ">=", r, &["gt", "gte", "eq"])
        } else if let Some(r) = part.strip_prefix("lt:") {
            ("lt", "<", r, &["lt", "lte"])
        } else if let Some(r) = part.strip_prefix("lte:") {
            ("lte", "<=", r, &["lt", "lte", "eq"])
        } else {
            ("eq", "=", part, &["eq", "gte", "lte"])
        };
        if conflicts.iter().any(|c| seen.contains(c)) {
            return None;
        }
        seen.push(op);
        out.push((column, sql, parse_iso8601(rest)?));
    }
    Some(out)
}

/// `_is_valid_sorting`: `key[:asc|desc]`, comma-separated, each key once.
pub(super) fn sort_keys(value: &str) -> Option<Vec<(&'static str, bool)>> {
    const KEYS: [&str; 9] = ["algorithm", "bit_length", "created", "expiration", "mode", "name", "secret_type", "status", "updated"];
    let mut out: Vec<(&'static str, bool)> = Vec::new();
    let mut seen: Vec<&str> = Vec::new();
    for part in value.split(',') {
        let pieces: Vec<&str> = part.split(':').collect();
        let (key, direction) = match pieces.as_slice() {
            [k] => (*k, "asc"),
            [k, d] => (*k, *d),
            _ => return None,
        };
        let key = KEYS.iter().find(|k| **k == key)?;
        if !matches!(direction, "asc" | "desc") || seen.contains(key) {
            return None;
        }
        seen.push(key);
        // Every secret is ACTIVE, so `status` orders nothing.
        if *key != "status" {
            out.push((key, direction == "desc"));
        }
    }
    Some(out)
}

// ---- dates ----

/// oslo `parse_isotime` (the iso8601 library) then `normalize_time`: Unix microseconds UTC.
/// Dates without a zone are UTC.
pub fn parse_iso8601(s: &str) -> Option<i64> {
    let b = s.as_bytes();
    let mut i = 0;
    let digits = |i: &mut usize, min: usize, max: usize| -> Option<i64> {
        let start = *i;
        while *i < b.len() && *i - start < max && b[*i].is_ascii_digit() {
            *i += 1;
        }
        if *i - start < min { None } else { s[start..*i].parse().ok() }
    };
    let year = digits(&mut i, 4, 4)?;
    let (mut month, mut day) = (1, 1);
    let (mut hour, mut minute, mut second, mut micro, mut offset) = (0, 0, 0, 0i64, 0i64);
    if i < b.len() {
        month = if b[i] == b'-' {
            i += 1;
            digits(&mut i, 1, 2)?
        } else {
            digits(&mut i, 2, 2)?
        };
        if i < b.len() {
            day = if b[i] == b'-' {
                i += 1;
                digits(&mut i, 1, 2)?
            } else {
                digits(&mut i, 2, 2)?
            };
        } else if b.get(4) != Some(&b'-') {
            return None; // YYYYMM alone is not allowed
        }
        if i < b.len() {
            if b[i] != b'T' && b[i] != b' ' {
                return None;
            }
            i += 1;
            hour = digits(&mut i, 2, 2)?;
            let colon = |i: &mut usize| {
                if b.get(*i) == Some(&b':') {
                    *i += 1
                }
            };
            let save = i;
            colon(&mut i);
            match digits(&mut i, 2, 2) {
                Some(m) => {
                    minute = m;
                    let save = i;
                    colon(&mut i);
                    match digits(&mut i, 1, 2) {
                        Some(sec) => {
                            second = sec;
                            if matches!(b.get(i), Some(b'.' | b',')) {
                                i += 1;
                                let start = i;
                                while i < b.len() && b[i].is_ascii_digit() {
                                    i += 1;
                                }
                                // Decimal arithmetic as iso8601 does (`int(Decimal(frac) * 10**6)`):
                                // the first six digits, never a float that rounds .12660 down.
                                let six: String = s[start..i].chars().chain(std::iter::repeat('0')).take(6).collect();
                                micro = six.parse().ok()?;
                            }
                        }
                        None => i = save,
                    }
                }
                None => i = save,
            }
            match b.get(i) {
                Some(b'Z') => i += 1,
                Some(&c @ (b'+' | b'-')) => {
                    i += 1;
                    let h = digits(&mut i, 2, 2)?;
                    if b.get(i) == Some(&b':') {
                        i += 1;
                    }
                    let m = digits(&mut i, 2, 2).unwrap_or(0);
                    offset = (h * 60 + m) * 60 * if c == b'-' { -1 } else { 1 };
                }
                _ => {}
            }
        }
    }
    if i != b.len() {
        return None;
    }
    let month = time::Month::try_from(u8::try_from(month).ok()?).ok()?;
    let date = time::Date::from_calendar_date(i32::try_from(year).ok()?, month, u8::try_from(day).ok()?).ok()?;
    let t = date
        .with_hms_micro(u8::try_from(hour).ok()?, u8::try_from(minute).ok()?, u8::try_from(second).ok()?, u32::try_from(micro).ok()?)
        .ok()?;
    let utc = t.assume_utc().unix_timestamp_nanos() / 1000 - i128::from(offset) * 1_000_000;
    // Python's datetime cannot leave years 1..=9999.
    (-62_135_596_800_000_000..253_402_300_800_000_000).contains(&utc).then_some(utc as i64)
}

/// Python's `datetime.isoformat()` of a naive UTC time: microseconds only when non-zero.
pub fn isoformat(us: i64) -> String {
    let Ok(t) = time::OffsetDateTime::from_unix_timestamp_nanos(i128::from(us) * 1000) else { return String::new() };
    let base = format!("{:04}-{:02}-{:02}T{:02}:{:02}:{:02}", t.year(), u8::from(t.month()), t.day(), t.hour(), t.minute(), t.second());
    if t.microsecond() == 0 { base } else { format!("{base}.{:06}", t.microsecond()) }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn iso8601_like_the_iso8601_library() {
        let t = |s: &str| parse_iso8601(s).map(isoformat);
        assert_eq!(t("2030-01-02T03:04:05Z").as_deref(), Some("2030-01-02T03:04:05"));
        assert_eq!(t("2030-01-02T03:04:05.25+02:00").as_deref(), Some("2030-01-02T01:04:05.250000"));
        assert_eq!(t("2030-01-02 03:04").as_deref(), Some("2030-01-02T03:04:00"));
        assert_eq!(t("20300102T030405-0130").as_deref(), Some("2030-01-02T04:34:05"));
        assert_eq!(t("2030").as_deref(), Some("2030-01-01T00:00:00"));
        assert_eq!(t("2030-1-5").as_deref(), Some("2030-01-05T00:00:00"));
        for bad in ["203001", "2030-13-01", "2030-02-30", "tomorrow", "2030-01-01T25:00", "2030-01-01T10:00:00X", ""] {
            assert_eq!(t(bad), None, "{bad}");
        }
    }

    #[test]
    fn content_types_normalize_like_barbican() {
        assert_eq!(internal_type("TEXT/PLAIN"), Some("text/plain"));
        assert_eq!(internal_type("text/plain; charset=UTF-8"), Some("text/plain"));
        assert_eq!(internal_type("text/plain; charset=latin-1"), None);
        assert_eq!(internal_type("application/pkix-cert"), None);
        assert_eq!(render_payload("application/octet-stream", b"\xff", "text/plain").unwrap_err().status, 406);
        assert_eq!(render_payload("text/plain", b"hi", "*/*").unwrap().1, "text/plain; charset=UTF-8");
        assert_eq!(render_payload("text/plain", b"hi", "TEXT/PLAIN").unwrap_err().status, 400);
    }

    #[test]
    fn an_all_padding_base64_payload_is_stored_empty_like_barbican() {
        // Barbican 23 only checks that the payload string is non-empty and that Python's
        // non-strict b64decode takes it; b64decode("====") is b'', which it stores and serves.
        let body = br#"{"secret_type": "private", "payload": "====", "payload_content_type": "application/pkcs8", "payload_content_encoding": "base64"}"#;
        let secret = new_secret(body, 0).unwrap();
        assert_eq!(secret.payload, Some(("application/pkcs8".to_owned(), Vec::new())));
        assert_eq!(render_payload("application/pkcs8", b"", "*/*").unwrap().0, b"");
        let blank = br#"{"payload": "  ", "payload_content_type": "application/octet-stream", "payload_content_encoding": "base64"}"#;
        assert!(new_secret(blank, 0).unwrap_err().message.contains("must be non empty"));
    }

    #[test]
    fn schema_errors_rank_by_property_name() {
        // Checked against Barbican 23.0.0's NewSecretValidator.
        let body = serde_json::json!({"name": "n".repeat(300), "bit_length": "x"}).to_string();
        let err = new_secret(body.as_bytes(), 0).unwrap_err();
        assert!(err.message.ends_with("' is too long. Invalid property: 'name'"), "{}", err.message);
        let err = new_secret(br#"{"name": 5, "bit_length": "x"}"#, 0).unwrap_err();
        assert_eq!(
            err.message,
            "Provided object does not match schema 'Secret': 5 is not of type 'string', 'null'. Invalid property: 'name'"
        );
        let err = new_secret(br#"{"algorithm": 5, "mode": 5}"#, 0).unwrap_err();
        assert!(err.message.ends_with("5 is not of type 'string'. Invalid property: 'mode'"), "{}", err.message);
        let err = new_secret(br#"{"secret_type": 5}"#, 0).unwrap_err();
        assert!(err.message.ends_with("5 is not of type 'string'. Invalid property: 'secret_type'"), "{}", err.message);
    }

    #[test]
    fn query_helpers() {
        assert_eq!(unquote_plus("a+b%20c%zz%4"), "a b c%zz%4");
        assert_eq!(sort_keys("name:desc,created"), Some(vec![("name", true), ("created", false)]));
        assert_eq!(sort_keys("name,name"), None);
        assert_eq!(sort_keys("name:up"), None);
        assert_eq!(sort_keys("a:b:c"), None);
        assert!(date_filters("gt:2020-01-01,lt:2030-01-01", "created").is_some());
        assert!(date_filters("gt:2020-01-01,gte:2020-01-01", "created").is_none());
        assert!(date_filters("2020-01-01,lte:2030-01-01", "created").is_none());
        assert!(date_filters("soon", "created").is_none());
    }
}
