//! Quickstart: a lax public route and a strict protected scope.
//!
//! With no environment at all it runs offline, as any app of yours can in a debug build
//! (`ClerkConfigBuilder::offline_development`, `CLERK_DEV_OFFLINE=1`): a local key kept in
//! `.clerk-dev/` verifies the session tokens written next to it, and the example prints
//! ready-to-paste `curl` commands. With `CLERK_SECRET_KEY` or `CLERK_JWT_KEY` set, it uses your
//! real Clerk instance instead.
//!
//! ```sh
//! cargo run --example quickstart
//! ```

use actix_clerk::{Auth, ClerkConfig, ClerkRequireAuth, ClerkWithAuth};
use actix_web::{get, web, App, HttpServer, Responder};

#[get("/hello")]
async fn hello(auth: web::ReqData<Auth>) -> impl Responder {
    match auth.user_id() {
        Some(user) => format!("Hello, {user}!\n"),
        None => format!(
            "Hello, stranger! (signed out: {})\n",
            auth.reason().map_or("", |r| r.as_str())
        ),
    }
}

#[get("/me")]
async fn me(auth: web::ReqData<Auth>) -> impl Responder {
    web::Json(auth.into_inner())
}

/// Where offline development keeps its key and tokens.
const DEV_DIR: &str = ".clerk-dev";

#[actix_web::main]
async fn main() -> std::io::Result<()> {
    let port: u16 = std::env::var("PORT")
        .ok()
        .and_then(|p| p.parse().ok())
        .unwrap_or(3000);
    let real = ["CLERK_SECRET_KEY", "CLERK_JWT_KEY"]
        .iter()
        .any(|v| std::env::var(v).is_ok_and(|s| !s.is_empty()));

    let clerk = if real {
        let clerk = ClerkConfig::from_env().map_err(std::io::Error::other)?;
        // Report a wrong secret key or an unreachable API now, not on the first request.
        if let Err(err) = clerk.warm_up().await {
            eprintln!(
                "warning: could not load the instance's keys yet: {err} ({})",
                err.message()
            );
        }
        clerk
    } else {
        // Offline development (debug builds only): a local key in .clerk-dev/ (kept across
        // restarts) verifies the tokens written next to it. Your own app gets the same with
        // CLERK_DEV_OFFLINE=1 and ClerkConfig::from_env().
        ClerkConfig::builder()
            .offline_development(DEV_DIR)
            .and_then(|b| b.build())
            .map_err(std::io::Error::other)?
    };

    let server = HttpServer::new({
        let clerk = clerk.clone();
        move || {
            App::new()
                .service(
                    web::scope("/public")
                        .wrap(ClerkWithAuth::new(clerk.clone()))
                        .service(hello),
                )
                .service(
                    web::scope("/api")
                        .wrap(ClerkRequireAuth::new(clerk.clone()))
                        .service(me),
                )
        }
    })
    .bind(("127.0.0.1", port))?;

    println!("actix-clerk quickstart listening on http://127.0.0.1:{port}");
    if real {
        println!("using your Clerk instance (CLERK_SECRET_KEY / CLERK_JWT_KEY)\n");
        println!(
            "curl -i -H \"Authorization: Bearer $SESSION_TOKEN\" http://127.0.0.1:{port}/api/me"
        );
        println!("curl -i http://127.0.0.1:{port}/public/hello");
    } else {
        println!("offline development: {DEV_DIR}/session-token is signed by the local key (valid for a day)\n");
        println!("# signed in: 200 with the user id");
        println!("curl -i -H \"Authorization: Bearer $(cat {DEV_DIR}/session-token)\" http://127.0.0.1:{port}/api/me\n");
        println!("# no token: 401 from the strict scope");
        println!("curl -i http://127.0.0.1:{port}/api/me\n");
        println!("# the lax scope answers both");
        println!("curl -i http://127.0.0.1:{port}/public/hello");
    }
    server.run().await
}
