//! Machine tokens next to sessions, shaped like `with_auth` so that any client can compare it
//! with Clerk: the lax middleware accepting the kinds listed in `ACCEPTS_TOKEN` answers every
//! request with the auth object as JSON (a session's, a machine's, or a signed-out one) and
//! the `x-clerk-auth-*` headers when signed out.
//!
//! Environment: `PORT` (default 3000), `CLERK_SECRET_KEY`, `CLERK_MACHINE_SECRET_KEY`,
//! `CLERK_PUBLISHABLE_KEY`, `CLERK_JWT_KEY`, `CLERK_API_URL`, `CLERK_AUTHORIZED_PARTIES`
//! (comma-separated), and `ACCEPTS_TOKEN`: comma-separated `session_token`, `api_key`,
//! `m2m_token`, `oauth_token` (one name: that kind; several: a list), or `any`; default
//! `session_token`.
//!
//! `GET` and `POST /protected-endpoint` on 127.0.0.1.

use actix_clerk::{Accepts, Auth, ClerkConfig, ClerkWithAuth};
use actix_web::{web, App, HttpServer};

async fn protected_endpoint(auth: Auth) -> web::Json<Auth> {
    web::Json(auth)
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
    let clerk = ClerkConfig::from_env()?;
    // Built once: a kind this configuration cannot verify is refused here.
    let middleware = ClerkWithAuth::new(clerk).accepts(accepts)?;

    let server = HttpServer::new(move || {
        App::new().service(
            web::resource("/protected-endpoint")
                .wrap(middleware.clone())
                .route(web::get().to(protected_endpoint))
                .route(web::post().to(protected_endpoint)),
        )
    })
    .bind(("127.0.0.1", port))?;
    println!("Example app listening at http://localhost:{port}");
    server.run().await?;
    Ok(())
}
