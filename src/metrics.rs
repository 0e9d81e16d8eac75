//! Counters and timings through the [`metrics`](https://docs.rs/metrics) facade (cargo feature
//! `metrics`; nothing of this is compiled without it). Install any `metrics` recorder (a
//! Prometheus exporter, …) to collect them:
//!
//! | name | kind | labels |
//! |---|---|---|
//! | `actix_clerk_requests_total` | counter | `status` (`signed-in`/`signed-out`), `reason` (Clerk's reason, signed out only) |
//! | `actix_clerk_jwks_fetches_total` | counter | `result` (`ok`/`error`) |
//! | `actix_clerk_jwks_fetch_seconds` | histogram | `result` |
//! | `actix_clerk_shared_store_events_total` | counter | `event` (feature `redis`: `failure`, `skipped`, `machine_shared`, `machine_written`, `machine_wait`, `machine_rate_refused`, `rejected_answer`, `delivery_claimed`, `delivery_duplicate`, `delivery_in_progress`) |

use crate::error::Reason;

/// One decided request.
pub(crate) fn decision(reason: Option<Reason>) {
    match reason {
        None => {
            metrics::counter!("actix_clerk_requests_total", "status" => "signed-in").increment(1)
        }
        Some(reason) => metrics::counter!(
            "actix_clerk_requests_total",
            "status" => "signed-out",
            "reason" => reason.as_str()
        )
        .increment(1),
    }
}

/// One finished JWKS fetch attempt.
pub(crate) fn key_fetch(elapsed_ms: u64, ok: bool) {
    let result = if ok { "ok" } else { "error" };
    metrics::counter!("actix_clerk_jwks_fetches_total", "result" => result).increment(1);
    metrics::histogram!("actix_clerk_jwks_fetch_seconds", "result" => result)
        .record(elapsed_ms as f64 / 1000.0);
}

/// One event of the shared store (feature `redis`): `failure`, `skipped`, `machine_shared`,
/// `machine_written`, `machine_wait`, `machine_rate_refused`, `rejected_answer`,
/// `delivery_claimed`, `delivery_duplicate`, `delivery_in_progress`.
#[cfg(feature = "redis")]
pub(crate) fn shared_store(event: &'static str) {
    metrics::counter!("actix_clerk_shared_store_events_total", "event" => event).increment(1);
}
