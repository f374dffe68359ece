//! One request and its answer, kept as evidence: `GET /v2.1 -> 200 microversions 2.1 to 2.96`.

use reqwest::RequestBuilder;
use serde_json::Value;
use sigstack_client::Session;
use sigstack_client::error::error_message;

/// What a request got back, with what the evidence comment shows of it.
#[derive(Debug, Clone)]
pub struct Answer {
    pub method: String,
    /// The URL's path and query (the host is in the catalog lines of the header).
    pub path: String,
    pub status: u16,
    pub body: String,
}

impl Answer {
    pub fn ok(&self) -> bool {
        (200..300).contains(&self.status)
    }

    /// The body as JSON (`null` when it is not).
    pub fn json(&self) -> Value {
        serde_json::from_str(&self.body).unwrap_or(Value::Null)
    }

    /// The service's message out of an error body (any OpenStack error shape), on one line.
    pub fn message(&self) -> String {
        one_line(&error_message(&self.body))
    }

    /// `<METHOD> <path> -> <status> <note>`; an error answer without a note shows its message.
    pub fn evidence(&self, note: &str) -> String {
        let note = if note.is_empty() && !self.ok() { self.message() } else { one_line(note) };
        format!("{} {} -> {} {note}", self.method, self.path, self.status).trim_end().to_owned()
    }
}

/// Sends `request` with the session (its token renewed as needed) and keeps whatever came
/// back; only a request that got no answer at all is an error.
pub async fn call(session: &Session, request: RequestBuilder) -> Result<Answer, String> {
    let (client, built) = request.build_split();
    let built = built.map_err(|e| format!("invalid request: {e}"))?;
    let method = built.method().to_string();
    let path = path_of(built.url());
    let response = session.send_answered(RequestBuilder::from_parts(client, built)).await.map_err(|e| e.to_string())?;
    let status = response.status().as_u16();
    let body = response.text().await.map_err(|e| format!("{method} {path}: reading the answer: {e}"))?;
    Ok(Answer { method, path, status, body })
}

/// The path and query of a URL.
pub fn path_of(url: &reqwest::Url) -> String {
    match url.query() {
        Some(q) => format!("{}?{q}", url.path()),
        None => url.path().to_owned(),
    }
}

/// `scheme://host:port` of a URL.
pub fn origin(url: &str) -> Option<String> {
    let parsed = reqwest::Url::parse(url).ok()?;
    Some(parsed.origin().ascii_serialization())
}

/// Text on one line and at most 400 characters, fit for a YAML comment.
pub fn one_line(text: &str) -> String {
    let flat = text.split_whitespace().collect::<Vec<_>>().join(" ");
    if flat.chars().count() > 400 { format!("{}...", flat.chars().take(397).collect::<String>()) } else { flat }
}

/// A service's version document(s), shortened: `v3.0 CURRENT (3.0 to 3.71)`. Accepts Nova's
/// and Keystone's `{"version": {...}}`, a `{"versions": [...]}` list and Keystone's
/// `{"versions": {"values": [...]}}`.
pub fn versions(body: &Value) -> String {
    let one = |v: &Value| {
        let id = v["id"].as_str().unwrap_or("?");
        let status = v["status"].as_str().unwrap_or("");
        let max = v["version"].as_str().or(v["max_version"].as_str()).filter(|s| !s.is_empty());
        let min = v["min_version"].as_str().filter(|s| !s.is_empty());
        match (min, max) {
            (Some(min), Some(max)) => format!("{id} {status} (microversions {min} to {max})"),
            (None, Some(max)) => format!("{id} {status} (up to {max})"),
            _ => format!("{id} {status}"),
        }
        .trim_end()
        .to_owned()
    };
    if body["version"].is_object() {
        return one(&body["version"]);
    }
    let list = body["versions"].as_array().or(body["versions"]["values"].as_array());
    match list {
        Some(items) if !items.is_empty() => items.iter().map(one).collect::<Vec<_>>().join(", "),
        _ => "no version document".to_owned(),
    }
}

/// `2.96` → `(2, 96)`.
pub fn microversion(text: &str) -> Option<(u32, u32)> {
    let (major, minor) = text.trim().split_once('.')?;
    Some((major.parse().ok()?, minor.parse().ok()?))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn version_documents_shorten() {
        let nova = json!({"version": {"id": "v2.1", "status": "CURRENT", "version": "2.96", "min_version": "2.1"}});
        assert_eq!(versions(&nova), "v2.1 CURRENT (microversions 2.1 to 2.96)");
        let barbican = json!({"versions": {"values": [{"id": "v1", "status": "stable"}]}});
        assert_eq!(versions(&barbican), "v1 stable");
        let cinder = json!({"versions": [{"id": "v3.0", "status": "CURRENT", "version": "3.71", "min_version": "3.0"}]});
        assert_eq!(versions(&cinder), "v3.0 CURRENT (microversions 3.0 to 3.71)");
        assert_eq!(versions(&json!({})), "no version document");
        assert_eq!(microversion("2.96"), Some((2, 96)));
        assert!(microversion("2.63") < microversion("2.96") && microversion("x").is_none());
    }

    #[test]
    fn evidence_is_one_short_line() {
        let a = Answer {
            method: "PUT".into(),
            path: "/v2/images/x/file".into(),
            status: 400,
            body: r#"{"message": "Signature\n verification failed"}"#.into(),
        };
        assert_eq!(a.evidence(""), "PUT /v2/images/x/file -> 400 Signature verification failed");
        assert_eq!(a.evidence("tampered"), "PUT /v2/images/x/file -> 400 tampered");
        assert!(one_line(&"x".repeat(500)).len() <= 400);
        assert_eq!(origin("https://h:5000/v3"), Some("https://h:5000".into()));
    }
}
