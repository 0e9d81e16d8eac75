//! The one HTTP layer for Clerk's Backend API calls made on the request path (the JWKS,
//! machine-token verification, the browser flow's handshake payload and session refresh):
//! one reqwest client for the process (connections reused across workers; the Backend API
//! client, `crate::api`, is on reqwest too), a timeout on every call, bodies read up to a
//! limit, and the bound that keeps a flood of made-up tokens from becoming a flood of calls.

use std::time::{Duration, Instant};

use parking_lot::Mutex;
use serde_json::Value;

use crate::secret::Secret;

/// The Backend API version the crate speaks (`Clerk-API-Version`), as `@clerk/backend` 3.25.
pub(crate) const CLERK_API_VERSION: &str = "2026-05-12";
const USER_AGENT: &str = concat!("actix-clerk/", env!("CARGO_PKG_VERSION"));

/// The process's HTTP client for the request path's Backend API calls (reqwest: one pool for
/// every worker, the crate's own rustls configuration, no process-wide provider); `None` when
/// it cannot be built (every call then fails as a transport error, never a panic).
pub(crate) fn http_client() -> Option<reqwest::Client> {
    static CLIENT: std::sync::OnceLock<Option<reqwest::Client>> = std::sync::OnceLock::new();
    CLIENT
        .get_or_init(|| {
            let tls = crate::keys::fetch::tls_config()?;
            reqwest::Client::builder()
                .tls_backend_preconfigured((*tls).clone())
                .user_agent(USER_AGENT)
                .build()
                .map_err(
                    |e| tracing::error!(error = %e, "clerk: no HTTP client for Backend API calls"),
                )
                .ok()
        })
        .clone()
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

/// One call: `method` on `url` with the key, a JSON body for `POST`, within `timeout`, the
/// body read up to `max_body` bytes.
pub(crate) async fn call(
    method: reqwest::Method,
    url: &str,
    key: &Secret,
    body: Option<&Value>,
    timeout: Duration,
    max_body: usize,
) -> Result<Answer, CallError> {
    // Never the query in logs: it may hold a handshake nonce.
    let shown = url.split('?').next().unwrap_or_default();
    let Some(client) = http_client() else {
        return Err(CallError::Transport);
    };
    let fut = async {
        let mut req = client
            .request(method, url)
            .bearer_auth(key.expose())
            .header("Accept", "application/json")
            .header("Clerk-API-Version", CLERK_API_VERSION);
        if let Some(b) = body {
            req = req
                .header("Content-Type", "application/json")
                .body(b.to_string());
        }
        let mut res = req.send().await.map_err(|e| {
            tracing::warn!(url = %shown, error = %e.without_url(), "clerk: Backend API request failed");
            CallError::Transport
        })?;
        let status = res.status().as_u16();
        let json = res
            .headers()
            .get("content-type")
            .is_some_and(|v| v.as_bytes() == b"application/json");
        let mut body = Vec::new();
        loop {
            match res.chunk().await {
                Ok(Some(chunk)) if body.len() + chunk.len() <= max_body => {
                    body.extend_from_slice(&chunk);
                }
                Ok(Some(_)) => {
                    tracing::warn!(url = %shown, status, "clerk: Backend API answer over its size limit");
                    return Err(CallError::Transport);
                }
                Ok(None) => break,
                Err(e) => {
                    tracing::warn!(url = %shown, status, error = %e.without_url(), "clerk: Backend API answer unreadable");
                    return Err(CallError::Transport);
                }
            }
        }
        Ok(Answer { status, json, body })
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
