//! Fault injection: rules that make a service operation fail, stall or drop the connection,
//! applied by a middleware in front of each service's handlers (Mimic's behaviours, goose's
//! testservice hooks). Rules live in memory: they configure the simulator, they are not cloud
//! state, so they do not survive a restart.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use axum::body::Body;
use axum::extract::{MatchedPath, Request, State};
use axum::http::{HeaderMap, HeaderName, HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use super::Control;

/// What a matching call gets instead of (or before) the real handler.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
pub enum Action {
    /// Answer with this status, body and headers; the handler never runs.
    Fail(FailSpec),
    /// Wait this long, then run the handler normally.
    DelayMs(u64),
    /// Close the TCP connection without answering (`true` is the only accepted value).
    DropConnection(bool),
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FailSpec {
    pub status: u16,
    /// A JSON value is sent as `application/json`; a string as `text/plain`; absent, no body.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub body: Option<Value>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub headers: BTreeMap<String, String>,
}

/// Extra conditions on the request. A string value must equal the header (name
/// case-insensitive) or query parameter; `true` only requires it to be present, `false` absent.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Matcher {
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub header: BTreeMap<String, Value>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub query: BTreeMap<String, Value>,
}

/// The body of `POST /_sim/faults`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FaultSpec {
    pub service: String,
    pub operation: String,
    pub action: Action,
    #[serde(default)]
    pub times: Option<u64>,
    #[serde(default, rename = "match")]
    pub matcher: Option<Matcher>,
}

/// An installed rule.
#[derive(Debug, Clone)]
pub struct Fault {
    pub id: String,
    spec: FaultSpec,
    method: String,
    path: Vec<Token>,
    remaining: Option<u64>,
    hits: u64,
}

impl Fault {
    /// Validates a spec; the error is the 400 message.
    pub fn new(spec: FaultSpec, services: &[&str]) -> Result<Fault, String> {
        if spec.service != "*" && !services.contains(&spec.service.as_str()) {
            return Err(format!("unknown service '{}'; one of {} or '*'", spec.service, services.join(", ")));
        }
        let (method, path) = parse_operation(&spec.operation)?;
        match &spec.action {
            Action::Fail(f) if !(100..=599).contains(&f.status) => {
                return Err(format!("fail.status must be an HTTP status (100-599), not {}", f.status));
            }
            Action::Fail(f) => {
                for (name, value) in &f.headers {
                    if HeaderName::try_from(name.as_str()).is_err() || HeaderValue::try_from(value.as_str()).is_err() {
                        return Err(format!("fail.headers: invalid header '{name}: {value}'"));
                    }
                }
            }
            Action::DropConnection(false) => return Err("drop_connection must be true".into()),
            Action::DelayMs(ms) if *ms > 600_000 => return Err("delay_ms is at most 600000".into()),
            _ => {}
        }
        if let Some(m) = &spec.matcher {
            for (k, v) in m.header.iter().chain(m.query.iter()) {
                if !(v.is_string() || v.is_boolean()) {
                    return Err(format!("match value for '{k}' must be a string or a boolean"));
                }
            }
        }
        if spec.times == Some(0) {
            return Err("times must be at least 1 (leave it out for a fault that stays armed)".into());
        }
        Ok(Fault { id: format!("fault-{}", uuid::Uuid::new_v4().simple()), remaining: spec.times, spec, method, path, hits: 0 })
    }

    pub fn armed(&self) -> bool {
        self.remaining != Some(0)
    }

    /// The `GET /_sim/faults` view.
    pub fn view(&self) -> Value {
        json!({
            "id": self.id,
            "service": self.spec.service,
            "operation": self.spec.operation,
            "action": self.spec.action,
            "times": self.spec.times,
            "remaining": self.remaining,
            "hits": self.hits,
            "armed": self.armed(),
            "match": self.spec.matcher,
        })
    }

    fn matches(&self, call: &Call<'_>) -> bool {
        if !self.armed()
            || (self.spec.service != "*" && self.spec.service != call.service)
            || (self.method != "*" && self.method != call.method)
        {
            return false;
        }
        let path_ok = call.template.is_some_and(|t| glob(&self.path, &normalize(t))) || glob(&self.path, call.path.as_bytes());
        path_ok && self.spec.matcher.as_ref().is_none_or(|m| matcher_ok(m, call))
    }
}

/// What the middleware knows about a call.
pub struct Call<'a> {
    pub service: &'a str,
    pub method: &'a str,
    /// The route template (`/v1/secrets/{id}`) when a route matched.
    pub template: Option<&'a str>,
    pub path: &'a str,
    pub headers: &'a HeaderMap,
    pub query: Option<&'a str>,
}

/// The installed faults, in creation order; the first armed match applies.
#[derive(Default)]
pub struct Faults {
    list: Vec<Fault>,
}

impl Faults {
    pub fn add(&mut self, fault: Fault) -> Value {
        let view = fault.view();
        self.list.push(fault);
        view
    }

    pub fn views(&self) -> Vec<Value> {
        self.list.iter().map(Fault::view).collect()
    }

    pub fn remove(&mut self, id: &str) -> bool {
        let before = self.list.len();
        self.list.retain(|f| f.id != id);
        self.list.len() != before
    }

    pub fn clear(&mut self) -> usize {
        std::mem::take(&mut self.list).len()
    }

    /// Finds the first armed fault for the call, counts the hit and returns its action.
    pub fn take(&mut self, call: &Call<'_>) -> Option<Action> {
        let fault = self.list.iter_mut().find(|f| f.matches(call))?;
        fault.hits += 1;
        if let Some(n) = fault.remaining.as_mut() {
            *n -= 1;
        }
        Some(fault.spec.action.clone())
    }
}

/// One element of a compiled path pattern.
#[derive(Debug, Clone, PartialEq)]
enum Token {
    Byte(u8),
    /// `*`: any run of characters, `/` included.
    Star,
    /// `{name}`: one path segment, or a template's placeholder.
    Param,
}

/// `"GET /v1/secrets/{id}"`, `"* /v3/users"`, `"POST *"` or `"*"`.
fn parse_operation(operation: &str) -> Result<(String, Vec<Token>), String> {
    let mut parts = operation.split_whitespace();
    let (method, path) = match (parts.next(), parts.next(), parts.next()) {
        (Some("*"), None, None) => ("*", "*"),
        (Some(m), Some(p), None) => (m, p),
        _ => return Err(format!("operation must be 'METHOD /path/template' (either may be '*'), not '{operation}'")),
    };
    if !method.chars().all(|c| c.is_ascii_alphabetic()) && method != "*" {
        return Err(format!("operation: invalid method '{method}'"));
    }
    if path != "*" && !path.starts_with('/') && !path.starts_with('*') {
        return Err(format!("operation: the path must start with '/', not '{path}'"));
    }
    Ok((method.to_ascii_uppercase(), compile(path)))
}

fn compile(pattern: &str) -> Vec<Token> {
    let bytes = pattern.as_bytes();
    let mut tokens = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            // Consecutive stars are one: keeps matching linear in practice.
            b'*' if tokens.last() == Some(&Token::Star) => {}
            b'*' => tokens.push(Token::Star),
            b'{' => match bytes[i..].iter().position(|&b| b == b'}') {
                Some(end) => {
                    tokens.push(Token::Param);
                    i += end;
                }
                None => tokens.push(Token::Byte(b'{')),
            },
            b => tokens.push(Token::Byte(b)),
        }
        i += 1;
    }
    tokens
}

/// A route template with its placeholder names erased, so `{id}` and `{secret_id}` agree.
fn normalize(template: &str) -> Vec<u8> {
    let mut out = Vec::with_capacity(template.len());
    let mut in_param = false;
    for b in template.bytes() {
        match b {
            b'{' if !in_param => {
                in_param = true;
                out.extend_from_slice(b"{}");
            }
            b'}' if in_param => in_param = false,
            _ if in_param => {}
            b => out.push(b),
        }
    }
    out
}

/// Matches a compiled pattern against a normalized template or a concrete path.
fn glob(pattern: &[Token], text: &[u8]) -> bool {
    match pattern.split_first() {
        None => text.is_empty(),
        Some((Token::Star, rest)) => (0..=text.len()).any(|i| glob(rest, &text[i..])),
        Some((Token::Param, rest)) => {
            if text.strip_prefix(b"{}").is_some_and(|after| glob(rest, after)) {
                return true;
            }
            let segment = text.iter().position(|&b| b == b'/').unwrap_or(text.len());
            (1..=segment).any(|i| glob(rest, &text[i..]))
        }
        Some((Token::Byte(b), rest)) => text.first() == Some(b) && glob(rest, &text[1..]),
    }
}

fn matcher_ok(m: &Matcher, call: &Call<'_>) -> bool {
    let header_ok = m.header.iter().all(|(name, want)| {
        let got = call.headers.get(name.as_str()).and_then(|v| v.to_str().ok());
        value_ok(want, got)
    });
    let query: Vec<(String, String)> = call.query.map(url_pairs).unwrap_or_default();
    let query_ok = m.query.iter().all(|(name, want)| {
        let got = query.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str());
        value_ok(want, got)
    });
    header_ok && query_ok
}

fn value_ok(want: &Value, got: Option<&str>) -> bool {
    match want {
        Value::Bool(present) => got.is_some() == *present,
        Value::String(s) => got == Some(s.as_str()),
        _ => false,
    }
}

/// Decodes `a=1&b=x%20y` (enough for matching; `+` is a space as in forms).
fn url_pairs(query: &str) -> Vec<(String, String)> {
    let decode = |s: &str| {
        let bytes = s.as_bytes();
        let mut out = Vec::with_capacity(bytes.len());
        let mut i = 0;
        while i < bytes.len() {
            match bytes[i] {
                b'+' => out.push(b' '),
                b'%' if i + 2 < bytes.len() && bytes[i + 1].is_ascii_hexdigit() && bytes[i + 2].is_ascii_hexdigit() => {
                    let hex = |b: u8| (b as char).to_digit(16).unwrap_or(0) as u8;
                    out.push(hex(bytes[i + 1]) * 16 + hex(bytes[i + 2]));
                    i += 2;
                }
                b => out.push(b),
            }
            i += 1;
        }
        String::from_utf8_lossy(&out).into_owned()
    };
    query
        .split('&')
        .filter(|p| !p.is_empty())
        .map(|p| match p.split_once('=') {
            Some((k, v)) => (decode(k), decode(v)),
            None => (decode(p), String::new()),
        })
        .collect()
}

/// The middleware `wrap` installs on a service router, in front of every handler.
pub async fn middleware(State((control, service)): State<(Arc<Control>, &'static str)>, request: Request, next: Next) -> Response {
    let action = {
        let call = Call {
            service,
            method: request.method().as_str(),
            template: request.extensions().get::<MatchedPath>().map(MatchedPath::as_str),
            path: request.uri().path(),
            headers: request.headers(),
            query: request.uri().query(),
        };
        control.take_fault(&call)
    };
    match action {
        None => next.run(request).await,
        Some(Action::DelayMs(ms)) => {
            tokio::time::sleep(Duration::from_millis(ms)).await;
            next.run(request).await
        }
        Some(Action::Fail(spec)) => {
            if spec.status >= 500 {
                crate::logging::cause("injected by /_sim/faults");
            }
            fail_response(&spec)
        }
        Some(Action::DropConnection(_)) => dropped_connection(),
    }
}

fn fail_response(spec: &FailSpec) -> Response {
    let status = StatusCode::from_u16(spec.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let mut response = match &spec.body {
        None => status.into_response(),
        Some(Value::String(text)) => (status, [(header::CONTENT_TYPE, "text/plain; charset=utf-8")], text.clone()).into_response(),
        Some(value) => (status, axum::Json(value.clone())).into_response(),
    };
    for (name, value) in &spec.headers {
        if let (Ok(n), Ok(v)) = (HeaderName::try_from(name.as_str()), HeaderValue::try_from(value.as_str())) {
            response.headers_mut().insert(n, v);
        }
    }
    response
}

/// A response whose body fails on its first poll. hyper then abandons the connection before
/// flushing anything, so the client sees the connection closed with no answer (reqwest: an
/// error from `send()`, "connection closed before message completed").
fn dropped_connection() -> Response {
    let stream = futures_util::stream::once(async {
        Err::<bytes::Bytes, std::io::Error>(std::io::Error::new(std::io::ErrorKind::ConnectionAborted, "fault injection: drop_connection"))
    });
    let mut response = Response::new(Body::from_stream(stream));
    // Keep-alive would let hyper try to reuse the connection; make sure it is torn down.
    response.headers_mut().insert(header::CONNECTION, HeaderValue::from_static("close"));
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    fn matches(pattern: &str, text: &str) -> bool {
        let (_, p) = parse_operation(&format!("GET {pattern}")).unwrap();
        glob(&p, &normalize(text)) || glob(&p, text.as_bytes())
    }

    #[test]
    fn patterns() {
        assert!(matches("/v1/secrets/{id}", "/v1/secrets/{secret_id}"));
        assert!(matches("/v1/secrets/{id}", "/v1/secrets/1234"));
        assert!(!matches("/v1/secrets/{id}", "/v1/secrets/1234/payload"));
        assert!(!matches("/v1/secrets/{id}", "/v1/secrets/"));
        assert!(matches("/v1/secrets/*", "/v1/secrets/{id}/payload"));
        assert!(matches("*", "/anything/at/all"));
        assert!(matches("/v3/*/tokens", "/v3/auth/tokens"));
        assert!(!matches("/v3/users", "/v3/users/{id}"));
    }

    #[test]
    fn operations() {
        assert!(parse_operation("GET").is_err());
        assert!(parse_operation("GET v3").is_err());
        assert!(parse_operation("G-T /v3").is_err());
        assert_eq!(parse_operation("get /v3").unwrap().0, "GET");
        assert_eq!(parse_operation("*").unwrap().0, "*");
    }

    #[test]
    fn queries() {
        let pairs = url_pairs("a=1&name=x%20y&flag&p=a+b&bad=%zz&end=%4");
        assert_eq!(pairs[1], ("name".into(), "x y".into()));
        assert_eq!(pairs[2], ("flag".into(), String::new()));
        assert_eq!(pairs[3], ("p".into(), "a b".into()));
        assert_eq!(pairs[4], ("bad".into(), "%zz".into()));
        assert_eq!(pairs[5], ("end".into(), "%4".into()));
    }
}
