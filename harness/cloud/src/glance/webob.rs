//! Glance's error responses, byte for byte as webob 1.8 renders a `webob.exc.HTTPError`: the body
//! format follows `Accept` (JSON, HTML or plain text), see docs/reference/openstack-behaviour.md A4.
//!
//! Handlers return [`Fault`]s; `IntoResponse` parks the fault in the response extensions and
//! the [`render`] middleware, which saw the request's `Accept`, writes the body. So every Glance
//! error goes through this one place.

use axum::body::Body;
use axum::extract::Request;
use axum::http::{HeaderMap, HeaderName, HeaderValue, Method, StatusCode, header};
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

    /// [`Fault::internal`], with its cause for the request's log line (never the client).
    pub fn internal_because(cause: impl std::fmt::Display) -> Fault {
        crate::logging::cause(cause);
        Fault::internal()
    }

    pub fn with_header(mut self, name: HeaderName, value: impl Into<String>) -> Fault {
        self.headers.push((name, value.into()));
        self
    }

    /// webob's `status`: code and reason phrase.
    fn status_line(&self) -> String {
        format!("{} {}", self.status.as_u16(), reason(self.status))
    }

    /// The full response for a request that sent this `Accept` header (or none).
    pub fn render(&self, accept: Option<&str>) -> Response {
        self.render_for(&WebobRequest { accept: accept.map(str::to_owned), ..WebobRequest::default() })
    }

    /// webob's `_make_body`: the exception's body template with its arguments escaped by
    /// `escape`. Most exceptions use `${explanation}<br /><br />\n${detail}\n${html_comment}\n`;
    /// `HTTPMethodNotAllowed`, `HTTPUnsupportedMediaType` and `HTTPNotImplemented` have their
    /// own templates, which name the request's method or `Content-Type` and show the `detail`
    /// (this fault's text) instead of an explanation. A variable the request lacks stays as
    /// written (`Template.safe_substitute`).
    fn make_body(&self, request: &WebobRequest, escape: fn(&str) -> String) -> String {
        let detail = escape(&self.explanation);
        let method = || escape(request.method.as_deref().unwrap_or("${REQUEST_METHOD}"));
        match self.status.as_u16() {
            405 => format!("The method {} is not allowed for this resource. <br /><br />\n{detail}", method()),
            415 => {
                let content_type = escape(request.content_type.as_deref().unwrap_or("${CONTENT_TYPE}"));
                format!("The request media type {content_type} is not supported by this server.\n<br /><br />\n{detail}")
            }
            501 => format!("\nThe request method {} is not implemented for this server. <br /><br />\n{detail}", method()),
            _ => format!("{detail}<br /><br />\n\n\n"),
        }
    }

    /// The full response for a request, as webob's `generate_response` writes it.
    pub fn render_for(&self, request: &WebobRequest) -> Response {
        let status_line = self.status_line();
        let title = reason(self.status);
        let (content_type, body) = match negotiate(request.accept.as_deref()) {
            Offer::Html => {
                let body = self.make_body(request, html_escape);
                let page = format!(
                    "<html>\n <head>\n  <title>{status_line}</title>\n </head>\n <body>\n  <h1>{status_line}</h1>\n  {body}\n </body>\n</html>"
                );
                ("text/html; charset=UTF-8", page)
            }
            Offer::Json => {
                let message = self.make_body(request, str::to_owned);
                let body = format!(
                    "{{\"message\": {}, \"code\": {}, \"title\": {}}}",
                    py_json_string(&message),
                    py_json_string(&status_line),
                    py_json_string(title)
                );
                ("application/json", body)
            }
            Offer::Plain => {
                ("text/plain; charset=UTF-8", format!("{status_line}\n\n{}", strip_tags(&self.make_body(request, str::to_owned))))
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

/// What webob reads from the request when it renders an error: `Accept` picks the format;
/// the method and the raw `Content-Type` (the WSGI environ's `REQUEST_METHOD` and
/// `CONTENT_TYPE`) fill the 405, 415 and 501 templates.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct WebobRequest {
    pub accept: Option<String>,
    pub method: Option<String>,
    pub content_type: Option<String>,
}

impl WebobRequest {
    pub fn of(method: &Method, headers: &HeaderMap) -> WebobRequest {
        let text = |name: header::HeaderName| headers.get(name).map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned());
        WebobRequest { accept: text(header::ACCEPT), method: Some(method.as_str().to_owned()), content_type: text(header::CONTENT_TYPE) }
    }
}

/// webob's reason phrases (`webob.util.status_reasons`), which differ from `http`'s for a
/// few codes (413 is "Request Entity Too Large", 416 "Requested Range Not Satisfiable").
pub fn reason(status: StatusCode) -> &'static str {
    match status.as_u16() {
        413 => "Request Entity Too Large",
        414 => "Request URI Too Long",
        416 => "Requested Range Not Satisfiable",
        207 => "Multi Status",
        _ => status.canonical_reason().unwrap_or(""),
    }
}

/// webob's `strip_tags`: newlines become spaces, `\r` goes, each `<br ...>` becomes a newline,
/// comments and other tags go.
fn strip_tags(value: &str) -> String {
    let value = value.replace('\n', " ").replace('\r', "");
    let mut out = String::with_capacity(value.len());
    let mut rest = value.as_str();
    while let Some(start) = rest.find('<') {
        out.push_str(&rest[..start]);
        let tag = &rest[start..];
        let Some(end) = tag.find('>') else {
            out.push_str(tag);
            rest = "";
            break;
        };
        if tag.get(1..3).is_some_and(|t| t.eq_ignore_ascii_case("br")) {
            out.push('\n');
        }
        rest = &tag[end + 1..];
    }
    out.push_str(rest);
    out
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

/// The client gets webob's generic 500; the cause goes to the request's log line.
impl From<crate::store::StoreError> for Fault {
    fn from(e: crate::store::StoreError) -> Fault {
        Fault::internal_because(e)
    }
}

/// Middleware: re-renders faults for the request (its `Accept`, method and `Content-Type`).
pub async fn render(request: Request, next: Next) -> Response {
    let webob = WebobRequest::of(request.method(), request.headers());
    let response = next.run(request).await;
    match response.extensions().get::<Pending>() {
        Some(Pending(fault)) => fault.render_for(&webob),
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

    async fn body(response: Response) -> String {
        String::from_utf8(axum::body::to_bytes(response.into_body(), 1 << 16).await.unwrap().to_vec()).unwrap()
    }

    fn request(accept: Option<&str>, method: &str, content_type: Option<&str>) -> WebobRequest {
        WebobRequest { accept: accept.map(str::to_owned), method: Some(method.into()), content_type: content_type.map(str::to_owned) }
    }

    /// Bodies as webob 1.8.9 renders them (run with the real library).
    #[tokio::test]
    async fn templates_follow_webob() {
        let json = Some("application/json");
        let r = Fault::new(StatusCode::METHOD_NOT_ALLOWED, "").render_for(&request(json, "PUT", None));
        assert_eq!(
            body(r).await,
            r#"{"message": "The method PUT is not allowed for this resource. <br /><br />\n", "code": "405 Method Not Allowed", "title": "Method Not Allowed"}"#
        );
        let r = Fault::new(StatusCode::METHOD_NOT_ALLOWED, "").render_for(&request(None, "PUT", None));
        assert_eq!(body(r).await, "405 Method Not Allowed\n\nThe method PUT is not allowed for this resource. \n\n ");
        let r = Fault::new(StatusCode::PAYLOAD_TOO_LARGE, "Request is too large. Larger than max_request_body_size (%s).")
            .render_for(&request(json, "POST", None));
        assert_eq!(
            body(r).await,
            r#"{"message": "Request is too large. Larger than max_request_body_size (%s).<br /><br />\n\n\n", "code": "413 Request Entity Too Large", "title": "Request Entity Too Large"}"#
        );
        let r = Fault::new(StatusCode::UNSUPPORTED_MEDIA_TYPE, "").render_for(&request(json, "PUT", Some("text/plain")));
        assert_eq!(
            body(r).await,
            r#"{"message": "The request media type text/plain is not supported by this server.\n<br /><br />\n", "code": "415 Unsupported Media Type", "title": "Unsupported Media Type"}"#
        );
        let r = Fault::new(StatusCode::UNSUPPORTED_MEDIA_TYPE, "Image disk_format raw does not match").render_for(&request(
            json,
            "PUT",
            Some("application/octet-stream"),
        ));
        assert!(body(r).await.starts_with(
            r#"{"message": "The request media type application/octet-stream is not supported by this server.\n<br /><br />\nImage disk_format raw does not match""#
        ));
        let r = Fault::new(StatusCode::UNSUPPORTED_MEDIA_TYPE, "").render_for(&request(None, "PUT", Some("text/plain")));
        assert_eq!(body(r).await, "415 Unsupported Media Type\n\nThe request media type text/plain is not supported by this server. \n\n ");
        let r = Fault::new(StatusCode::NOT_IMPLEMENTED, "").render_for(&request(json, "FOO", None));
        assert!(body(r).await.starts_with(r#"{"message": "\nThe request method FOO is not implemented for this server. <br /><br />\n""#));
        let r = Fault::not_found("The resource could not be found.").render_for(&request(None, "GET", None));
        assert_eq!(body(r).await, "404 Not Found\n\nThe resource could not be found.\n\n   ");
        assert_eq!(strip_tags("a<br />b<!-- c --><p>d</p>é<"), "a\nbdé<");
    }

    #[test]
    fn python_json_strings() {
        assert_eq!(py_json_string("a\"b\\\n"), r#""a\"b\\\n""#);
        assert_eq!(py_json_string("é😀"), r#""\u00e9\ud83d\ude00""#);
    }
}
