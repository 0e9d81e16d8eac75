//! Target of `scripts/load.sh`: an actix server on 127.0.0.1 (port `PORT`, default 0 = any free
//! port) with `ClerkRequireAuth` on `/api/me` and `ClerkWithAuth` on `/public/me`, verifying with
//! a PEM key generated at start.
//!
//! Prints ONE line of JSON on stdout once it listens:
//! `{"port":…,"pid":…,"tokens":{"valid":…,"expired":…,"forged":…,"malformed":…}}`
//! (`forged` is signed by another key; `malformed` is not a JWT). Every response carries the
//! request's `x-kind` header back, so a load generator can check each status against the kind of
//! token it sent. Runs until killed.
//!
//! ```sh
//! cargo run --release --example load_target
//! ```

#[path = "../tests/support/mod.rs"]
mod support;

use std::io::Write as _;

use actix_clerk::{Auth, ClerkConfig, ClerkRequireAuth, ClerkWithAuth};
use actix_web::dev::Service as _;
use actix_web::http::header::{HeaderName, HeaderValue};
use actix_web::{web, App, HttpResponse, HttpServer};
use serde_json::json;
use support::{now_secs, DevKey};

async fn me(auth: web::ReqData<Auth>) -> HttpResponse {
    HttpResponse::Ok().json(auth.into_inner())
}

#[actix_web::main]
async fn main() -> std::io::Result<()> {
    let port: u16 = std::env::var("PORT")
        .ok()
        .and_then(|p| p.parse().ok())
        .unwrap_or(0);
    let workers: usize = std::env::var("WORKERS")
        .ok()
        .and_then(|w| w.parse().ok())
        .unwrap_or(2);
    let key = DevKey::generate("ins_load");
    let other = DevKey::generate("ins_load_other");
    let config = ClerkConfig::builder()
        .jwt_key(key.public_pem())
        .publishable_key("pk_live_Y2xlcmsuZXhhbXBsZS5jb20k")
        .authorized_parties(["https://app.example.com"])
        .build()
        .map_err(std::io::Error::other)?;

    let server = HttpServer::new(move || {
        App::new()
            .wrap_fn(|req, srv| {
                let kind = req.headers().get("x-kind").cloned();
                let fut = srv.call(req);
                async move {
                    let mut res = fut.await?;
                    if let Some(kind) = kind {
                        res.headers_mut()
                            .insert(HeaderName::from_static("x-kind"), kind);
                    }
                    Ok(res)
                }
            })
            .service(
                web::scope("/api")
                    .wrap(ClerkRequireAuth::new(config.clone()))
                    .route("/me", web::get().to(me)),
            )
            .service(
                web::scope("/public")
                    .wrap(ClerkWithAuth::new(config.clone()))
                    .route("/me", web::get().to(me)),
            )
            .route(
                "/health",
                web::get().to(|| async {
                    HttpResponse::Ok()
                        .insert_header(("x-kind", HeaderValue::from_static("health")))
                        .finish()
                }),
            )
    })
    .workers(workers)
    .bind(("127.0.0.1", port))?;
    let port = server.addrs()[0].port();

    let now = now_secs();
    let tokens = json!({
        "valid": key.session_token("user_load", json!({"exp": now + 24 * 3600})),
        "expired": key.session_token("user_load", json!({"exp": now - 3600, "iat": now - 7200, "nbf": now - 7200})),
        "forged": other.sign(&key.header(), &json!({
            "azp": "https://app.example.com", "exp": now + 24 * 3600, "iat": now - 10,
            "iss": "https://clerk.example.com", "nbf": now - 10, "sid": "sess_x", "sub": "user_forged",
        })),
        "malformed": "not-a-jwt.at-all",
    });
    let line = json!({ "port": port, "pid": std::process::id(), "tokens": tokens });
    let mut out = std::io::stdout().lock();
    writeln!(out, "{line}")?;
    out.flush()?;
    drop(out);
    server.run().await
}
