//! clerk-rs 0.5's actix middleware (`ClerkMiddleware` + `MemoryCacheJwksProvider`, the setup
//! of its README), its Backend API base URL pointed at a local JWKS server:
//! CLERK_API_URL=http://127.0.0.1:PORT/v1 (clerk-rs fetches `{base_path}/jwks` once and caches
//! the keys for an hour). One worker. The handler reads the `ClerkJwt` the middleware put in
//! the request (`web::ReqData<ClerkJwt>`) and answers the `{"userId":…}` of every server.
use actix_clerk_bench_peers::{handler::Me, port};
use actix_web::{web, App, HttpServer};
use clerk_rs::{
    clerk::Clerk,
    validators::{actix::ClerkMiddleware, authorizer::ClerkJwt, jwks::MemoryCacheJwksProvider},
    ClerkConfiguration,
};

async fn me(jwt: web::ReqData<ClerkJwt>) -> web::Json<Me> {
    web::Json(Me {
        user_id: Some(jwt.sub.clone()),
    })
}

#[actix_web::main]
async fn main() -> std::io::Result<()> {
    let secret = std::env::var("CLERK_SECRET_KEY").unwrap_or_else(|_| "sk_live_dummy".into());
    let base = std::env::var("CLERK_API_URL")
        .map_err(|_| std::io::Error::other("CLERK_API_URL (local JWKS server, …/v1) unset"))?;
    if !base.starts_with("http://127.0.0.1:") {
        return Err(std::io::Error::other(
            "CLERK_API_URL must be a loopback URL",
        ));
    }
    // Built once outside the factory, as the crate's docs do: one JWKS cache for the worker.
    let clerk = Clerk::new(ClerkConfiguration::new(secret).with_base_path(base));
    HttpServer::new(move || {
        App::new()
            .wrap(ClerkMiddleware::new(
                MemoryCacheJwksProvider::new(clerk.clone()),
                None,
                false,
            ))
            .route("/", web::get().to(me))
    })
    .workers(1)
    .bind(("127.0.0.1", port()))?
    .run()
    .await
}
