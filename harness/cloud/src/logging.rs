//! The simulated cloud's logs, through `tracing`: one line per request (service, method, path,
//! status, request id, duration), every 5xx at ERROR with its cause, and the errors of
//! background work (a server build) where they happen. The cloud only emits events: a
//! subscriber decides where they go. `sigstack serve` installs one writing to stderr; the
//! embedded cloud of `cargo test` and of the conformance suite has none, so it stays quiet.
//!
//! Never logged: request or response bodies, headers (tokens travel in `X-Auth-Token` and
//! `X-Subject-Token`, the control token in `X-Auth-Token` too) and query strings. A request is
//! named by its method and path only.
//!
//! How a cause reaches the request line: the conversions that turn an internal error into a
//! service's generic 500 body (`From<StoreError>` for each service's fault, Keystone's 500s,
//! ...) call [`cause`], which records it for the request being answered (a task-local set up
//! by [`layer`]); the request line of a 5xx lists what was recorded. Work a handler spawns to
//! answer a request keeps recording into it through [`carry`].
//!
//! Also here, because it wraps every request the same way: the `x-openstack-request-id` every
//! answer carries (oslo.middleware's `RequestId`) and the idle-body timeout.

use std::fmt::Display;
use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::{Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::{Next, from_fn, from_fn_with_state};
use axum::response::{IntoResponse, Response};
use tracing::Instrument;

/// The header every OpenStack service answers with: `req-<uuid4>`.
pub const REQUEST_ID: &str = "x-openstack-request-id";
/// Nova's compatibility copy of it (`nova.api.compute_req_id`).
const COMPUTE_REQUEST_ID: &str = "x-compute-request-id";

tokio::task_local! {
    /// Why the request being answered failed, recorded by [`cause`].
    static CAUSES: Causes;
}

#[derive(Clone, Default)]
struct Causes(Arc<Mutex<Vec<String>>>);

impl Causes {
    fn push(&self, cause: String) {
        let mut causes = self.0.lock().unwrap_or_else(|p| p.into_inner());
        // A cause converted twice (a store error seen by two layers) is listed once.
        if causes.last() != Some(&cause) {
            causes.push(cause);
        }
    }

    fn take(&self) -> Vec<String> {
        std::mem::take(&mut *self.0.lock().unwrap_or_else(|p| p.into_inner()))
    }
}

/// Records why the request being answered fails: its request line, if it ends in a 5xx, gives
/// this as the cause (the client still gets the service's usual body). Outside a request
/// (background work) the error is logged at once. The text must not hold secrets: pass
/// errors of the store, the file system, the HTTP client, never a token or a body.
pub fn cause(error: impl Display) {
    let mut text = Some(error.to_string());
    let _ = CAUSES.try_with(|causes| {
        if let Some(text) = text.take() {
            causes.push(text);
        }
    });
    if let Some(text) = text {
        tracing::error!(cause = %text, "internal error in background work");
    }
}

/// `future` (spawned to answer the current request) recording its causes into that request.
pub fn carry<F: Future>(future: F) -> impl Future<Output = F::Output> {
    let causes = CAUSES.try_with(Causes::clone).ok();
    async move {
        match causes {
            Some(causes) => CAUSES.scope(causes, future).await,
            None => future.await,
        }
    }
}

/// Marks an answer that deliberately carries no request id (Glance's 401, which webob renders
/// before oslo's `RequestId` middleware could add one).
#[derive(Debug, Clone, Copy)]
pub struct NoRequestId;

/// For a service whose router sets `x-openstack-request-id` itself (oslo's `RequestId` in its
/// pipeline): an answer leaving it without one is meant to have none, and [`layer`] adds none.
pub fn own_request_ids(router: Router) -> Router {
    router.layer(from_fn(|request: Request, next: Next| async move {
        let mut response = next.run(request).await;
        if !response.headers().contains_key(REQUEST_ID) {
            response.extensions_mut().insert(NoRequestId);
        }
        response
    }))
}

#[derive(Clone, Copy)]
struct Settings {
    service: &'static str,
    body_idle_timeout: Duration,
}

/// The outermost layer of a service's listener: logs every request, gives every answer a
/// request id (unless it is marked [`NoRequestId`]; Nova's also as `x-compute-request-id`),
/// and answers 408 (closing the connection) when the request body sends nothing for
/// `body_idle_timeout`.
pub fn layer(service: &'static str, router: Router, body_idle_timeout: Duration) -> Router {
    router.layer(from_fn_with_state(Settings { service, body_idle_timeout }, log_request))
}

async fn log_request(State(settings): State<Settings>, request: Request, next: Next) -> Response {
    let started = Instant::now();
    let service = settings.service;
    let method = request.method().clone();
    // The path only: a query string may carry anything.
    let path = request.uri().path().to_owned();
    let idle = Arc::new(AtomicBool::new(false));
    let request = request.map(|body| Body::new(IdleBody::new(body, settings.body_idle_timeout, idle.clone())));
    let causes = Causes::default();
    let span = tracing::info_span!("request", service = %service, method = %method, path = %path);
    let mut response = CAUSES.scope(causes.clone(), next.run(request)).instrument(span).await;
    let timed_out = idle.load(Ordering::SeqCst);
    if timed_out {
        response = idle_timeout_answer(settings.body_idle_timeout);
    }
    let request_id = request_id(service, &mut response);
    let status = response.status().as_u16();
    let duration_ms = format!("{:.1}", started.elapsed().as_secs_f64() * 1000.0);
    let mut causes = causes.take();
    if response.status().is_server_error() {
        let cause = if causes.is_empty() { "none recorded".to_owned() } else { causes.join("; ") };
        tracing::error!(service = %service, method = %method, path = %path, status, request_id = %request_id, duration_ms = %duration_ms, cause = %cause, "request failed");
    } else if timed_out {
        causes.insert(0, format!("the request body sent nothing for {:?}", settings.body_idle_timeout));
        let cause = causes.join("; ");
        tracing::warn!(service = %service, method = %method, path = %path, status, request_id = %request_id, duration_ms = %duration_ms, cause = %cause, "request timed out");
    } else if !causes.is_empty() {
        // An internal error the answer does not show (a clean-up that failed on the store
        // while the client got its 4xx): still worth knowing.
        let cause = causes.join("; ");
        tracing::warn!(service = %service, method = %method, path = %path, status, request_id = %request_id, duration_ms = %duration_ms, cause = %cause, "internal error behind a non-5xx answer");
    } else {
        tracing::info!(service = %service, method = %method, path = %path, status, request_id = %request_id, duration_ms = %duration_ms, "request");
    }
    response
}

/// The answer's request id: the one the service set, else a new `req-<uuid4>`, added to the
/// answer unless it is marked [`NoRequestId`] (the log line has an id either way).
fn request_id(service: &str, response: &mut Response) -> String {
    if let Some(id) = response.headers().get(REQUEST_ID).and_then(|v| v.to_str().ok()) {
        return id.to_owned();
    }
    let id = format!("req-{}", uuid::Uuid::new_v4());
    if response.extensions().get::<NoRequestId>().is_none()
        && let Ok(value) = HeaderValue::from_str(&id)
    {
        let headers = response.headers_mut();
        if service == "nova" {
            headers.insert(COMPUTE_REQUEST_ID, value.clone());
        }
        headers.insert(REQUEST_ID, value);
    }
    id
}

/// 408 for a request whose body stalled; the connection is closed (the rest of the body is
/// never read).
fn idle_timeout_answer(timeout: Duration) -> Response {
    let text = format!("Request Timeout: the request body sent nothing for {timeout:?}.");
    (StatusCode::REQUEST_TIMEOUT, [(header::CONNECTION, "close")], text).into_response()
}

/// Why an idle body ended.
#[derive(Debug, thiserror::Error)]
#[error("the request body sent nothing for {0:?}")]
struct BodyIdle(Duration);

/// A request body that fails when it has sent nothing for `timeout` while being read (the
/// clock runs only while the handler waits for data, and restarts with every frame: an upload
/// that keeps sending is never cut however long it takes). The failure sets `expired`, which
/// [`log_request`] turns into a 408.
struct IdleBody {
    inner: Body,
    timeout: Duration,
    /// Made on the first wait, then reused: re-armed at each wait that follows a frame.
    sleep: Option<Pin<Box<tokio::time::Sleep>>>,
    armed: bool,
    expired: Arc<AtomicBool>,
    done: bool,
}

impl IdleBody {
    fn new(inner: Body, timeout: Duration, expired: Arc<AtomicBool>) -> IdleBody {
        IdleBody { inner, timeout, sleep: None, armed: false, expired, done: false }
    }
}

impl http_body::Body for IdleBody {
    type Data = Bytes;
    type Error = axum::Error;

    fn poll_frame(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Result<http_body::Frame<Bytes>, axum::Error>>> {
        let this = self.get_mut();
        if this.done {
            return Poll::Ready(None);
        }
        if let Poll::Ready(frame) = Pin::new(&mut this.inner).poll_frame(cx) {
            // The clock stops: it only runs while the handler waits for data.
            this.armed = false;
            return Poll::Ready(frame);
        }
        let deadline = tokio::time::Instant::now() + this.timeout;
        let sleep = this.sleep.get_or_insert_with(|| Box::pin(tokio::time::sleep_until(deadline)));
        if !this.armed {
            sleep.as_mut().reset(deadline);
            this.armed = true;
        }
        if sleep.as_mut().poll(cx).is_ready() {
            this.done = true;
            this.expired.store(true, Ordering::SeqCst);
            return Poll::Ready(Some(Err(axum::Error::new(BodyIdle(this.timeout)))));
        }
        Poll::Pending
    }

    fn is_end_stream(&self) -> bool {
        self.done || self.inner.is_end_stream()
    }

    fn size_hint(&self) -> http_body::SizeHint {
        self.inner.size_hint()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use futures_util::StreamExt;

    #[tokio::test]
    async fn an_idle_body_fails_and_a_flowing_one_does_not() {
        const IDLE: Duration = Duration::from_millis(400);
        let (tx, rx) = tokio::sync::mpsc::channel::<Result<Bytes, std::io::Error>>(4);
        let stream = futures_util::stream::unfold(rx, |mut rx| async move { rx.recv().await.map(|item| (item, rx)) });
        let expired = Arc::new(AtomicBool::new(false));
        let body = Body::new(IdleBody::new(Body::from_stream(stream), IDLE, expired.clone()));
        let mut data = body.into_data_stream();
        // Chunks 150 ms apart: 750 ms in all, longer than the timeout, never idle that long.
        let started = Instant::now();
        for _ in 0..5 {
            let send = tx.clone();
            tokio::spawn(async move {
                tokio::time::sleep(Duration::from_millis(150)).await;
                let _ = send.send(Ok(Bytes::from_static(b"data"))).await;
            });
            assert_eq!(data.next().await.unwrap().unwrap(), Bytes::from_static(b"data"));
        }
        assert!(started.elapsed() > IDLE);
        assert!(!expired.load(Ordering::SeqCst));
        // Then nothing: the body fails once it has been idle for the timeout, and ends.
        let idle_from = Instant::now();
        let e = data.next().await.unwrap().unwrap_err();
        assert!(idle_from.elapsed() >= IDLE);
        assert!(e.to_string().contains("sent nothing for 400ms"), "{e}");
        assert!(expired.load(Ordering::SeqCst));
        assert!(data.next().await.is_none());
        drop(tx);
    }

    #[tokio::test]
    async fn causes_are_recorded_for_the_request_and_carried_into_its_tasks() {
        let causes = Causes::default();
        CAUSES
            .scope(causes.clone(), async {
                cause("first");
                cause("first");
                tokio::spawn(carry(async { cause("in a task") })).await.unwrap();
            })
            .await;
        assert_eq!(causes.take(), vec!["first".to_owned(), "in a task".to_owned()]);
    }
}
