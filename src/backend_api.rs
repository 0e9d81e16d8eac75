//! The one HTTP layer for Clerk's Backend API calls made on the request path (machine-token
//! verification, the browser flow's handshake payload and session refresh): one awc client
//! per worker (connections reused), a timeout on every call, bodies read up to a limit, and
//! the bound that keeps a flood of made-up tokens from becoming a flood of calls.

use std::time::{Duration, Instant};

use parking_lot::Mutex;
use serde_json::Value;

use crate::secret::Secret;

/// The Backend API version the crate speaks (`Clerk-API-Version`), as `@clerk/backend` 3.25.
pub(crate) const CLERK_API_VERSION: &str = "2026-05-12";
const USER_AGENT: &str = concat!("actix-clerk/", env!("CARGO_PKG_VERSION"));

/// The HTTP client of this worker (awc clients are per thread), kept so that calls reuse
/// connections to the Backend API instead of a new TCP and TLS handshake each time.
pub(crate) fn worker_client() -> awc::Client {
    thread_local! {
        static CLIENT: std::cell::OnceCell<awc::Client> = const { std::cell::OnceCell::new() };
    }
    CLIENT.with(|c| {
        c.get_or_init(|| {
            let mut connector = awc::Connector::new();
            match crate::keys::fetch::tls_config() {
                Some(tls) => connector = connector.rustls_0_23(tls),
                None => tracing::error!("clerk: no TLS configuration for Backend API calls"),
            }
            awc::Client::builder().connector(connector).finish()
        })
        .clone()
    })
}

/// An answer of the Backend API.
pub(crate) struct Answer {
    pub status: u16,
    /// The body is JSON for Clerk's client: `content-type` exactly `application/json`.
    pub json: bool,
    pub body: Vec<u8>,
}

impl Answer {
    /// The body as JSON, when Clerk's client would read it as JSON.
    pub(crate) fn json_value(&self) -> Option<Value> {
        self.json
            .then(|| serde_json::from_slice(&self.body).ok())
            .flatten()
    }
}

/// Why a call has no answer (the detail is logged, never shown to clients).
#[derive(Debug)]
pub(crate) enum CallError {
    /// Connection refused, reset, TLS failure, or the body could not be read.
    Transport,
    /// No answer within the timeout.
    Timeout,
}

/// One call: `method` on `url` with the key, a JSON body for `POST`, within `timeout`.
pub(crate) async fn call(
    method: awc::http::Method,
    url: &str,
    key: &Secret,
    body: Option<&Value>,
    timeout: Duration,
    max_body: usize,
) -> Result<Answer, CallError> {
    // Never the query in logs: it may hold a handshake nonce.
    let shown = url.split('?').next().unwrap_or_default();
    let fut = async {
        let req = worker_client()
            .request(method, url)
            .timeout(timeout)
            .bearer_auth(key.expose())
            .insert_header(("Accept", "application/json"))
            .insert_header(("Clerk-API-Version", CLERK_API_VERSION))
            .insert_header(("User-Agent", USER_AGENT));
        let sent = match body {
            Some(b) => req.send_json(b).await,
            None => req.send().await,
        };
        let mut res = sent.map_err(|e| {
            tracing::warn!(url = %shown, error = %e, "clerk: Backend API request failed");
            CallError::Transport
        })?;
        let status = res.status().as_u16();
        let json = res
            .headers()
            .get("content-type")
            .is_some_and(|v| v.as_bytes() == b"application/json");
        let body = res.body().limit(max_body).await.map_err(|e| {
            tracing::warn!(url = %shown, status, error = %e, "clerk: Backend API answer unreadable");
            CallError::Transport
        })?;
        Ok(Answer {
            status,
            json,
            body: body.to_vec(),
        })
    };
    match tokio::time::timeout(timeout, fut).await {
        Ok(r) => r,
        Err(_) => {
            tracing::warn!(url = %shown, "clerk: Backend API request timed out");
            Err(CallError::Timeout)
        }
    }
}

/// At most `max_concurrent` calls in flight and `max_per_second` started per second (the
/// burst included); past either, a call is refused at once, never queued.
pub(crate) struct CallBound {
    in_flight: tokio::sync::Semaphore,
    rate: Mutex<(f64, Instant)>,
    max_per_second: f64,
}

impl std::fmt::Debug for CallBound {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CallBound")
            .field("max_per_second", &self.max_per_second)
            .finish_non_exhaustive()
    }
}

impl CallBound {
    pub(crate) fn new(max_concurrent: usize, max_per_second: u32) -> Self {
        CallBound {
            in_flight: tokio::sync::Semaphore::new(max_concurrent.max(1)),
            rate: Mutex::new((f64::from(max_per_second), Instant::now())),
            max_per_second: f64::from(max_per_second),
        }
    }

    /// A permit to start one call now, or `None` past a bound.
    pub(crate) fn try_start(&self) -> Option<tokio::sync::SemaphorePermit<'_>> {
        let permit = self.in_flight.try_acquire().ok()?;
        let mut r = self.rate.lock();
        let now = Instant::now();
        let per_second = self.max_per_second;
        r.0 = (r.0 + now.duration_since(r.1).as_secs_f64() * per_second).min(per_second);
        r.1 = now;
        if r.0 >= 1.0 {
            r.0 -= 1.0;
            Some(permit)
        } else {
            None
        }
    }
}
