//! Clerk's `ClerkExpressRequireAuth` example, line for line in actix: the strict middleware
//! lets only signed-in requests through, and the error override answers a signed-out request
//! `401 Unauthenticated!` like the Express error handler of Clerk's documentation. Other
//! errors keep their default answers (a key outage `503` with `Retry-After`).
//!
//! Environment: `PORT` (default 3000), `CLERK_SECRET_KEY`, `CLERK_PUBLISHABLE_KEY`,
//! `CLERK_JWT_KEY`, `CLERK_API_URL`, `CLERK_AUTHORIZED_PARTIES` (comma-separated).

use actix_clerk::{Auth, ClerkConfig, ClerkError, ClerkRequireAuth};
use actix_web::{web, App, HttpResponse, HttpServer, ResponseError as _};

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

    // Use the strict middleware that raises an error when unauthenticated
    let server = HttpServer::new(move || {
        App::new().service(
            web::resource("/protected-endpoint")
                .wrap(
                    ClerkRequireAuth::new(clerk.clone()).on_error(|err, _req| match err {
                        ClerkError::Unauthenticated { .. } => {
                            // The counterpart of `console.error(err.stack)`: the reason, never
                            // the token.
                            eprintln!("unauthenticated request: {err}");
                            HttpResponse::Unauthorized().body("Unauthenticated!")
                        }
                        other => other.error_response(),
                    }),
                )
                .route(web::get().to(protected_endpoint))
                .route(web::post().to(protected_endpoint)),
        )
    })
    .bind(("127.0.0.1", port))?;
    println!("Example app listening at http://localhost:{port}");
    server.run().await?;
    Ok(())
}
