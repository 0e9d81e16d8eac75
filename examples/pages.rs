//! Server-rendered pages for people, with Clerk's browser flow on: a page loaded after a pause
//! (the `__session` cookie expired) is renewed on the server through the refresh cookie or
//! Clerk's handshake (a `307` to the Frontend API and back), so it renders signed in.
//!
//! Routes:
//! - `GET /` (lax): signed in, "Signed in as <user id>"; signed out, a sign-in link.
//! - `GET /account` (strict): the same page for signed-in users; a signed-out page navigation
//!   is sent to the sign-in page (`CLERK_SIGN_IN_URL`, else the Account Portal) with
//!   `redirect_url`, an API request gets `401`.
//!
//! Environment: `PORT` (default 3000), `CLERK_PUBLISHABLE_KEY` (needed: it names the
//! Frontend API and the cookies), `CLERK_SECRET_KEY` (handshake nonces and refreshes go
//! through Clerk's Backend API), `CLERK_JWT_KEY`, `CLERK_API_URL`, `CLERK_AUTHORIZED_PARTIES`,
//! `CLERK_DOMAIN`, `CLERK_PROXY_URL`, `CLERK_IS_SATELLITE`, `CLERK_SIGN_IN_URL`.
//!
//! ```sh
//! CLERK_PUBLISHABLE_KEY=pk_test_… CLERK_SECRET_KEY=sk_test_… cargo run --example pages
//! ```

use actix_clerk::{Auth, ClerkConfig, ClerkRequireAuth, ClerkWithAuth};
use actix_web::{web, App, HttpResponse, HttpServer};

/// Escapes text for HTML.
fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

fn page(title: &str, body: &str) -> HttpResponse {
    HttpResponse::Ok()
        .content_type("text/html; charset=utf-8")
        .body(format!(
            "<!doctype html><html><head><meta charset=\"utf-8\"><title>{title}</title></head>\
             <body>{body}</body></html>"
        ))
}

async fn home(auth: web::ReqData<Auth>, sign_in: web::Data<String>) -> HttpResponse {
    match auth.user_id() {
        Some(user) => page(
            "Home",
            &format!(
                "<p id=\"status\">Signed in as <span id=\"user\">{}</span></p>\
                 <p><a href=\"/account\">Your account</a></p>",
                escape(user)
            ),
        ),
        None => page(
            "Home",
            &format!(
                "<p id=\"status\">Signed out</p><p><a id=\"sign-in\" href=\"{}\">Sign in</a></p>",
                escape(&sign_in)
            ),
        ),
    }
}

async fn account(auth: web::ReqData<Auth>) -> HttpResponse {
    let user = auth.user_id().unwrap_or_default();
    page(
        "Account",
        &format!(
            "<p id=\"status\">Signed in as <span id=\"user\">{}</span></p>",
            escape(user)
        ),
    )
}

#[actix_web::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let port: u16 = std::env::var("PORT")
        .ok()
        .and_then(|p| p.parse().ok())
        .unwrap_or(3000);
    let clerk = ClerkConfig::from_env()?;
    let sign_in = web::Data::new(
        std::env::var("CLERK_SIGN_IN_URL").unwrap_or_else(|_| "/sign-in".to_owned()),
    );
    let server = HttpServer::new(move || {
        App::new()
            .app_data(sign_in.clone())
            .service(
                web::resource("/account")
                    .wrap(ClerkRequireAuth::new(clerk.clone()).redirect_to_sign_in())
                    .route(web::get().to(account)),
            )
            .service(
                web::resource("/")
                    .wrap(ClerkWithAuth::new(clerk.clone()))
                    .route(web::get().to(home)),
            )
    })
    .bind(("127.0.0.1", port))?;
    println!("Pages listening at http://localhost:{port}");
    server.run().await?;
    Ok(())
}
