//! Sends one request, normalises its answer and keeps it under its reference name.

use reqwest::{Method, RequestBuilder};
use serde_json::Value;

use super::Answers;
use super::normalise::normalise;

#[derive(Default)]
pub struct Recorder {
    pub answers: Answers,
}

impl Recorder {
    pub async fn send(&mut self, name: &'static str, request: &str, builder: RequestBuilder) -> (u16, Value, Vec<u8>) {
        self.send_viewed(name, request, builder, |_| {}).await
    }

    /// Sends, normalises (after `view` edits the parsed JSON body), records; returns the
    /// status, the raw JSON body (or null) and the raw bytes.
    pub async fn send_viewed(
        &mut self,
        name: &'static str,
        request: &str,
        builder: RequestBuilder,
        view: impl Fn(&mut Value),
    ) -> (u16, Value, Vec<u8>) {
        let response = send_once_more_if_get(builder).await.unwrap_or_else(|e| panic!("{name}: {request}: no answer: {e}"));
        let status = response.status().as_u16();
        let headers = response.headers().clone();
        let bytes = response.bytes().await.unwrap_or_else(|e| panic!("{name}: body: {e}")).to_vec();
        let raw: Value = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
        let mut viewed = raw.clone();
        view(&mut viewed);
        let body = if viewed.is_null() { bytes.clone() } else { serde_json::to_vec(&viewed).unwrap() };
        self.answers.push((name, normalise(request, status, &headers, &body)));
        (status, raw, bytes)
    }
}

/// Sends; a GET that got no answer is sent once more. gunicorn (the real Nova and Cinder
/// APIs) closes an idle keep-alive connection after 2 s, and a request sent on it just then is
/// lost ("error sending request"); a GET can safely be repeated.
pub async fn send_once_more_if_get(builder: RequestBuilder) -> reqwest::Result<reqwest::Response> {
    let again = builder.try_clone().filter(|b| b.try_clone().and_then(|b| b.build().ok()).is_some_and(|r| r.method() == Method::GET));
    match (builder.send().await, again) {
        (Err(e), Some(again)) if e.is_request() || e.is_connect() => again.send().await,
        (result, _) => result,
    }
}

/// A setup request's status must be `want`.
pub fn expect(name: &str, status: u16, want: u16, body: &[u8]) {
    assert_eq!(status, want, "{name}: setup request answered {status}: {}", String::from_utf8_lossy(body));
}
