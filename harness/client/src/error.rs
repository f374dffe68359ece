//! The client's one error type. HTTP failures keep the status and the message the service put
//! in its body, whichever OpenStack error shape it used.

/// What went wrong talking to an OpenStack service.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Error {
    /// The service answered with a non-success status.
    #[error("{method} {url} returned {status}: {message}")]
    Http { status: u16, method: String, url: String, message: String, body: String },
    /// No answer: connection refused, reset, timed out.
    #[error("{method} {url} failed: {reason}")]
    Transport { method: String, url: String, reason: String },
    /// The TLS handshake failed: untrusted issuer, name mismatch, expired certificate, ...
    #[error("TLS connection to {host} failed: {reason} ({method} {url})")]
    Tls { host: String, method: String, url: String, reason: String },
    /// The answer was not what the API promises.
    #[error("unexpected response from {url}: {reason}")]
    Decode { url: String, reason: String },
    /// The catalog has no endpoint for this service type and interface.
    #[error("no {interface} endpoint for service type '{service_type}' in the catalog")]
    NoEndpoint { service_type: String, interface: String },
    /// Bad configuration (clouds.yaml, credentials).
    #[error("{0}")]
    Config(String),
}

impl Error {
    /// The HTTP status, if the service answered.
    pub fn status(&self) -> Option<u16> {
        match self {
            Error::Http { status, .. } => Some(*status),
            _ => None,
        }
    }

    pub fn is_not_found(&self) -> bool {
        self.status() == Some(404)
    }

    /// The caller's configuration is at fault (clouds.yaml, credentials, CA bundle), not the
    /// cloud: the command line reports these as usage errors (exit 2).
    pub fn is_configuration(&self) -> bool {
        matches!(self, Error::Config(_) | Error::Tls { .. })
    }
}

/// Pulls the human message out of any OpenStack error body: Keystone
/// `{"error":{"message"}}`, Barbican `{"description"}`, Glance (webob) `{"message"}` or
/// `text/plain` `"<status>\n\n<explanation>\n\n"`, Nova/Cinder `{"<kind>":{"message"}}`.
pub fn error_message(body: &str) -> String {
    if let Ok(v) = serde_json::from_str::<serde_json::Value>(body) {
        let pick = |v: &serde_json::Value| -> Option<String> {
            for key in ["description", "message", "detail"] {
                if let Some(s) = v.get(key).and_then(|m| m.as_str()) {
                    return Some(s.to_owned());
                }
            }
            None
        };
        if let Some(m) = pick(&v) {
            return clean_webob(&m);
        }
        if let Some(obj) = v.as_object() {
            for inner in obj.values() {
                if let Some(m) = pick(inner) {
                    return clean_webob(&m);
                }
            }
        }
        return body.to_owned();
    }
    // webob text/plain: "400 Bad Request\n\n<explanation>\n\n   "
    let mut parts = body.splitn(2, "\n\n");
    match (parts.next(), parts.next()) {
        (Some(first), Some(rest)) if first.len() < 64 && first.chars().next().is_some_and(|c| c.is_ascii_digit()) => rest.trim().to_owned(),
        _ => body.trim().to_owned(),
    }
}

/// webob appends `<br /><br />\n\n\n` to JSON messages; the explanation is what came before.
fn clean_webob(message: &str) -> String {
    message.split("<br />").next().unwrap_or(message).trim_end().to_owned()
}

#[cfg(test)]
mod tests {
    use super::error_message;

    #[test]
    fn extracts_every_openstack_error_shape() {
        assert_eq!(
            error_message(
                r#"{"error": {"code": 401, "title": "Unauthorized", "message": "The request you have made requires authentication."}}"#
            ),
            "The request you have made requires authentication."
        );
        assert_eq!(
            error_message(
                r#"{"code": 403, "title": "Forbidden", "description": "Secret creation attempt not allowed - please review your user/project privileges"}"#
            ),
            "Secret creation attempt not allowed - please review your user/project privileges"
        );
        assert_eq!(
            error_message(
                "{\"message\": \"Signature verification failed for image X: Signature verification failed<br /><br />\\n\\n\\n\", \"code\": \"400 Bad Request\", \"title\": \"Bad Request\"}"
            ),
            "Signature verification failed for image X: Signature verification failed"
        );
        assert_eq!(
            error_message("400 Bad Request\n\nSignature verification failed for image X: Signature verification failed\n\n   "),
            "Signature verification failed for image X: Signature verification failed"
        );
        assert_eq!(error_message(r#"{"badRequest": {"code": 400, "message": "Invalid input"}}"#), "Invalid input");
        assert_eq!(error_message("plain"), "plain");
    }
}
