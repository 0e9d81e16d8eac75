//! Clerk's `ClerkExpressWithAuth` example, line for line in actix: the lax middleware
//! answers every request with the auth object as JSON (signed in or signed out).
//!
//! Environment: `PORT` (default 3000), `CLERK_SECRET_KEY`, `CLERK_PUBLISHABLE_KEY`,
//! `CLERK_JWT_KEY`, `CLERK_API_URL`, `CLERK_AUTHORIZED_PARTIES` (comma-separated), and for
//! browser page navigations `CLERK_DOMAIN`, `CLERK_PROXY_URL`, `CLERK_IS_SATELLITE`,
//! `CLERK_SIGN_IN_URL`. A page navigation is answered as Clerk's middleware answers it: a
//! `307` to Clerk's handshake (with its headers), or `200` with the auth object and the
//! `Set-Cookie` lines of a refreshed or resolved session.

use actix_clerk::{Auth, ClerkConfig, ClerkWithAuth};
use actix_web::{web, App, HttpServer};

// `Auth` extracts the middleware's outcome (and names the problem, should the middleware be
// missing on this route).
async fn protected_endpoint(auth: Auth) -> web::Json<Auth> {
    web::Json(auth)
}

#[actix_web::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let port: u16 = std::env::var("PORT")
        .ok()
        .and_then(|p| p.parse().ok())
        .unwrap_or(3000);
    // A configuration problem ends here with a message saying what to set.
    let clerk = ClerkConfig::from_env()?;

    // Use the lax middleware that returns an empty auth object when unauthenticated
    let server = HttpServer::new(move || {
        App::new().service(
            web::resource("/protected-endpoint")
                .wrap(ClerkWithAuth::new(clerk.clone()))
                .route(web::get().to(protected_endpoint))
                .route(web::post().to(protected_endpoint)),
        )
    })
    .bind(("127.0.0.1", port))?;
    println!("Example app listening at http://localhost:{port}");
    server.run().await?;
    Ok(())
}
