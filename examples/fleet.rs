//! Several instances of one app behind a load balancer, sharing one Redis (feature `redis`):
//! run one process per instance with the same environment but `PORT`.
//!
//! - `GET` and `POST /protected-endpoint`: the lax middleware accepting the kinds of
//!   `ACCEPTS_TOKEN` answers the auth object as JSON (as `machine_auth`). With a shared store,
//!   an opaque machine token (an API key `ak_…`, …) is verified by Clerk's Backend API once for
//!   the whole deployment; the other instances take the answer from Redis.
//! - `POST /webhooks`: Clerk webhook deliveries, processed once per deployment
//!   ([`WebhookVerifier::once`]): the handler records the delivery's `svix-id` and answers
//!   `200` `{"processed":"<svix-id>"}`, or fails with `500` (recording nothing) when the event's
//!   `data.fail` is `true`, so that Svix retries it and it runs again. A copy of a delivery
//!   being processed by another instance is answered `409` (with `Retry-After`); a copy of one
//!   already processed, `200` `{"status":"already_processed"}` without running the handler.
//! - `GET /processed`: the `svix-id`s this process's handler succeeded for, as a JSON array.
//! - `GET /stats`: the shared store's counters, as text.
//!
//! Environment: `PORT` (default 3000), `CLERK_SECRET_KEY` and the other `CLERK_*` variables of
//! `machine_auth`, `ACCEPTS_TOKEN` (default `session_token`; e.g. `api_key`),
//! `CLERK_WEBHOOK_SIGNING_SECRET` (required), `REDIS_URL` (e.g. `redis://127.0.0.1:6379`;
//! unset or empty: no shared store, each instance on its own), `REDIS_TIMEOUT_MS` (optional:
//! the longest one Redis operation may take before the instance decides alone; default 100),
//! and `MACHINE_TOKEN_VERIFY_PER_SECOND` (optional: the Backend API verifications started per
//! second, 64 at once, instead of the crate's defaults; for load tests).
//!
//! ```text
//! REDIS_URL=redis://127.0.0.1:6379 ACCEPTS_TOKEN=api_key PORT=3001 cargo run --example fleet
//! REDIS_URL=redis://127.0.0.1:6379 ACCEPTS_TOKEN=api_key PORT=3002 cargo run --example fleet
//! ```
//!
//! Listens on 127.0.0.1.

use std::sync::{Mutex, PoisonError};
use std::time::Duration;

use actix_clerk::{
    Accepts, Auth, ClerkConfigBuilder, ClerkWebhook, ClerkWithAuth, SharedStore, WebhookVerifier,
};
use actix_web::{web, App, HttpResponse, HttpServer};
use serde_json::json;

/// The `svix-id`s whose handler succeeded in this process (all workers).
#[derive(Default)]
struct Processed(Mutex<Vec<String>>);

async fn protected_endpoint(auth: Auth) -> web::Json<Auth> {
    web::Json(auth)
}

async fn webhooks(event: ClerkWebhook, processed: web::Data<Processed>) -> HttpResponse {
    let id = event.delivery_id();
    if event.data().get("fail").and_then(|v| v.as_bool()) == Some(true) {
        // Not 2xx: the delivery is released, and Svix's retry runs the handler again.
        eprintln!("{} (delivery {id}): failed", event.event_type());
        return HttpResponse::InternalServerError().json(json!({ "failed": id }));
    }
    processed
        .0
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .push(id.to_owned());
    HttpResponse::Ok().json(json!({ "processed": id }))
}

async fn processed(processed: web::Data<Processed>) -> HttpResponse {
    let ids = processed
        .0
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .clone();
    HttpResponse::Ok().json(ids)
}

async fn stats(store: web::Data<Option<SharedStore>>) -> String {
    match store.get_ref() {
        Some(store) => format!("{:#?}\n", store.stats()),
        None => "no shared store (REDIS_URL unset)\n".to_owned(),
    }
}

/// An optional whole number from the environment (unset or empty: `None`).
fn number(name: &str) -> Result<Option<u32>, String> {
    match std::env::var(name) {
        Ok(text) if !text.trim().is_empty() => text
            .trim()
            .parse()
            .map(Some)
            .map_err(|_| format!("{name} is not a whole number: {text:?}")),
        _ => Ok(None),
    }
}

#[actix_web::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let port: u16 = std::env::var("PORT")
        .ok()
        .and_then(|p| p.parse().ok())
        .unwrap_or(3000);
    let accepts = match std::env::var("ACCEPTS_TOKEN") {
        Ok(text) if !text.trim().is_empty() => Accepts::parse(&text).ok_or_else(|| {
            format!("ACCEPTS_TOKEN is not a list of token kinds or `any`: {text:?}")
        })?,
        _ => Accepts::default(),
    };
    let per_second = number("MACHINE_TOKEN_VERIFY_PER_SECOND")?;
    let timeout = number("REDIS_TIMEOUT_MS")?.map(|ms| Duration::from_millis(ms.into()));

    // Inside the runtime (the connection opens on first use: the app starts while Redis is
    // down, and each instance then decides alone).
    let store = SharedStore::from_env()?.map(|store| match timeout {
        Some(timeout) => store.timeout(timeout),
        None => store,
    });
    let mut clerk = ClerkConfigBuilder::from_env()?;
    let mut verifier = WebhookVerifier::from_env()?.body_limit(256 * 1024);
    if let Some(per_second) = per_second {
        clerk = clerk.machine_token_verify_limits(64, per_second);
    }
    if let Some(store) = &store {
        clerk = clerk.shared_store(store.clone());
        verifier = verifier.shared_store(store.clone());
    }
    // Built once: a kind this configuration cannot verify is refused here, and every worker's
    // clone shares the caches and the delivery record.
    let middleware = ClerkWithAuth::new(clerk.build()?).accepts(accepts)?;
    let processed_ids = web::Data::new(Processed::default());
    let store = web::Data::new(store);

    let server = HttpServer::new(move || {
        // The webhook route's `once()` hands the verifier to the extractor (no app_data).
        App::new()
            .app_data(processed_ids.clone())
            .app_data(store.clone())
            .service(
                web::resource("/protected-endpoint")
                    .wrap(middleware.clone())
                    .route(web::get().to(protected_endpoint))
                    .route(web::post().to(protected_endpoint)),
            )
            .service(
                web::resource("/webhooks")
                    .wrap(verifier.once())
                    .route(web::post().to(webhooks)),
            )
            .route("/processed", web::get().to(processed))
            .route("/stats", web::get().to(stats))
    })
    .bind(("127.0.0.1", port))?;
    println!("listening on http://127.0.0.1:{port}");
    server.run().await?;
    Ok(())
}
