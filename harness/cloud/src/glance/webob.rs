//! Glance's error responses, byte for byte as webob 1.8 renders a `webob.exc.HTTPError`: the body
//! format follows `Accept` (JSON, HTML or plain text), see openstack-behaviour.md A4.
//!
//! Handlers return [`Fault`]s; `IntoResponse` parks the fault in the response extensions and
//! the [`render`] middleware, which saw the request's `Accept`, writes the body. So every Glance
//! error goes through this one place.

use axum::body::Body;
use axum::extract::Request;
use axum::http::{HeaderName, HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

/// A Glance error: the status, webob's `explanation`, and any extra headers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fault {
    pub status: StatusCode,
    pub explanation: String,
    pub headers: Vec<(HeaderName, String)>,
}

impl Fault {
    pub fn new(status: StatusCode, explanation: impl Into<String>) -> Fault {
        Fault { status, explanation: explanation.into(), headers: Vec::new() }
    }

    pub fn bad_request(explanation: impl Into<String>) -> Fault {
        Fault::new(StatusCode::BAD_REQUEST, explanation)
    }

    pub fn forbidden(explanation: impl Into<String>) -> Fault {
        Fault::new(StatusCode::FORBIDDEN, explanation)
    }

    pub fn not_found(explanation: impl Into<String>) -> Fault {
        Fault::new(StatusCode::NOT_FOUND, explanation)
    }

    pub fn conflict(explanation: impl Into<String>) -> Fault {
        Fault::new(StatusCode::CONFLICT, explanation)
    }

    /// webob's default explanation for a 500.
    pub fn internal() -> Fault {
        Fault::new(StatusCode::INTERNAL_SERVER_ERROR, "The server has either erred or is incapable of performing the requested operation.")
    }

    pub fn with_header(mut self, name: HeaderName, value: impl Into<String>) -> Fault {
        self.headers.push((name, value.into()));
        self
    }

    /// webob's `status`: code and reason phrase.
    fn status_line(&self) -> String {
        format!("{} {}", self.status.as_u16(), self.status.canonical_reason().unwrap_or(""))
    }

    /// The full response for a request that sent this `Accept` header (or none).
    pub fn render(&self, accept: Option<&str>) -> Response {
        let status_line = self.status_line();
        let title = self.status.canonical_reason().unwrap_or("");
        let (content_type, body) = match negotiate(accept) {
            Offer::Html => {
                // body_template: "${explanation}<br /><br />\n${detail}\n${html_comment}\n", HTML-escaped.
                let body = format!("{}<br /><br />\n\n\n", html_escape(&self.explanation));
                let page = format!(
                    "<html>\n <head>\n  <title>{status_line}</title>\n </head>\n <body>\n  <h1>{status_line}</h1>\n  {body}\n </body>\n</html>"
                );
                ("text/html; charset=UTF-8", page)
            }
            Offer::Json => {
                let message = format!("{}<br /><br />\n\n\n", self.explanation);
                let body = format!(
                    "{{\"message\": {}, \"code\": {}, \"title\": {}}}",
                    py_json_string(&message),
                    py_json_string(&status_line),
                    py_json_string(title)
                );
                ("application/json", body)
            }
            Offer::Plain => {
                // strip_tags: newlines become spaces, then each <br /> a newline.
                let body = format!("{}<br /><br />\n\n\n", self.explanation).replace('\r', "").replace('\n', " ").replace("<br />", "\n");
                ("text/plain; charset=UTF-8", format!("{status_line}\n\n{body}"))
            }
        };
        let mut response = Response::new(Body::from(body));
        *response.status_mut() = self.status;
        let headers = response.headers_mut();
        headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
        for (name, value) in &self.headers {
            if let Ok(v) = HeaderValue::from_str(value) {
                headers.insert(name.clone(), v);
            }
        }
        response
    }
}

/// Marks a response whose body the middleware must still render.
#[derive(Clone)]
struct Pending(Fault);

impl IntoResponse for Fault {
    fn into_response(self) -> Response {
        // Rendered as plain text if it ever escapes the middleware (it should not).
        let mut response = self.render(None);
        response.extensions_mut().insert(Pending(self));
        response
    }
}

impl From<crate::store::StoreError> for Fault {
    fn from(_: crate::store::StoreError) -> Fault {
        Fault::internal()
    }
}

/// Middleware: re-renders faults for the request's `Accept` header.
pub async fn render(request: Request, next: Next) -> Response {
    let accept = request.headers().get(header::ACCEPT).and_then(|v| v.to_str().ok()).map(str::to_owned);
    let response = next.run(request).await;
    match response.extensions().get::<Pending>() {
        Some(Pending(fault)) => fault.render(accept.as_deref()),
        None => response,
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Offer {
    Html,
    Json,
    Plain,
}

/// webob's `acceptable_offers(['text/html', 'application/json'])`, first wins: each offer
/// takes the q of its most specific matching range, q=0 excludes, ties go to HTML (the
/// first offer). No header, or an empty one, means plain text; an unparsable one means HTML
/// (webob's `AcceptInvalidHeader` accepts everything).
fn negotiate(accept: Option<&str>) -> Offer {
    let Some(accept) = accept.map(str::trim).filter(|a| !a.is_empty()) else {
        return Offer::Plain;
    };
    let Some(ranges) = parse_accept(accept) else {
        return Offer::Html;
    };
    let q_for = |offer: &str| -> f32 {
        let (otype, osub) = offer.split_once('/').unwrap_or((offer, ""));
        let mut best: Option<(u8, f32)> = None;
        for (t, s, q) in &ranges {
            let specificity = match (t.as_str(), s.as_str()) {
                (t, s) if t == otype && s == osub => 3,
                (t, "*") if t == otype => 2,
                ("*", "*") => 1,
                _ => continue,
            };
            if best.is_none_or(|(b, _)| specificity > b) {
                best = Some((specificity, *q));
            }
        }
        best.map(|(_, q)| q).unwrap_or(0.0)
    };
    let html = q_for("text/html");
    let json = q_for("application/json");
    match (html, json) {
        (h, j) if h <= 0.0 && j <= 0.0 => Offer::Plain,
        (h, j) if j > h => Offer::Json,
        _ => Offer::Html,
    }
}

/// `type/subtype;q=x, ...` lower-cased; `None` if any range is malformed.
fn parse_accept(accept: &str) -> Option<Vec<(String, String, f32)>> {
    let mut ranges = Vec::new();
    for part in accept.split(',') {
        let part = part.trim();
        if part.is_empty() {
            continue;
        }
        let mut params = part.split(';');
        let range = params.next()?.trim().to_ascii_lowercase();
        let (t, s) = range.split_once('/')?;
        if t.is_empty() || s.is_empty() || (t == "*" && s != "*") {
            return None;
        }
        let mut q = 1.0f32;
        for p in params {
            if let Some((k, v)) = p.split_once('=')
                && k.trim().eq_ignore_ascii_case("q")
            {
                q = v.trim().parse().ok().filter(|q: &f32| (0.0..=1.0).contains(q))?;
            }
        }
        ranges.push((t.to_owned(), s.to_owned(), q));
    }
    Some(ranges)
}

fn html_escape(s: &str) -> String {
    s.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;").replace('\'', "&#x27;")
}

/// A JSON string as Python's `json.dumps` writes it (`ensure_ascii=True`): non-ASCII as
/// `\uXXXX` (surrogate pairs above the BMP).
pub fn py_json_string(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\u{08}' => out.push_str("\\b"),
            '\u{0c}' => out.push_str("\\f"),
            c if (c as u32) < 0x20 || (c as u32) > 0x7e => {
                let mut units = [0u16; 2];
                for unit in c.encode_utf16(&mut units) {
                    out.push_str(&format!("\\u{unit:04x}"));
                }
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn negotiation_follows_webob() {
        assert_eq!(negotiate(None), Offer::Plain);
        assert_eq!(negotiate(Some("")), Offer::Plain);
        assert_eq!(negotiate(Some("application/json")), Offer::Json);
        assert_eq!(negotiate(Some("*/*")), Offer::Html);
        assert_eq!(negotiate(Some("text/html")), Offer::Html);
        assert_eq!(negotiate(Some("application/json, */*")), Offer::Html);
        assert_eq!(negotiate(Some("application/json, */*;q=0.5")), Offer::Json);
        assert_eq!(negotiate(Some("application/*")), Offer::Json);
        assert_eq!(negotiate(Some("application/octet-stream")), Offer::Plain);
        assert_eq!(negotiate(Some("text/html;q=0, application/json;q=0")), Offer::Plain);
        assert_eq!(negotiate(Some("garbage")), Offer::Html);
    }

    #[test]
    fn python_json_strings() {
        assert_eq!(py_json_string("a\"b\\\n"), r#""a\"b\\\n""#);
        assert_eq!(py_json_string("é😀"), r#""\u00e9\ud83d\ude00""#);
    }
}
