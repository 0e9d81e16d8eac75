//! Authorization with Clerk's `has()` checks: an organisation-admin scope, an action that
//! needs a recent second factor (answered with Clerk's reverification `403`, which Clerk's
//! frontend turns into a "verify again" prompt), a handler reading typed custom claims, and
//! `GET /protected-endpoint` protected by any check given as JSON.
//!
//! Environment: as `with_auth` (`PORT`, default 3000; `CLERK_SECRET_KEY`,
//! `CLERK_PUBLISHABLE_KEY`, `CLERK_JWT_KEY`, `CLERK_API_URL`, `CLERK_AUTHORIZED_PARTIES`), plus
//! `REQUIRE`: the check of `/protected-endpoint`, in the shape of Clerk's `has()` parameters —
//! `{"role":"org:admin"}`, `{"permission":"org:invoices:create"}`, `{"feature":"premium"}`,
//! `{"plan":"pro"}`, `{"reverification":"strict"}`,
//! `{"reverification":{"level":"second_factor","afterMinutes":10}}`, or several keys at once.
//! Without it, `/protected-endpoint` only requires a signed-in session.
//!
//! Routes (127.0.0.1 only):
//! - `GET /protected-endpoint`: `200` with the auth object as JSON when the check passes, `401`
//!   when signed out, `403` otherwise (Clerk's reverification body when only the
//!   reverification part fails);
//! - `GET /org/settings`: organisation admins only (`403` for other members);
//! - `POST /account/delete`: a second factor verified within the last 10 minutes;
//! - `GET /me/tier`: reads `metadata.tier` from a JWT template's custom claims.

use actix_clerk::{
    Auth, ClaimsError, ClerkConfig, ClerkRequireAuth, ClerkWithAuth, Has, Reverification,
};
use actix_web::{web, App, HttpServer};
use serde::Deserialize;

async fn protected_endpoint(auth: Auth) -> web::Json<Auth> {
    web::Json(auth)
}

async fn org_settings(auth: Auth) -> String {
    format!(
        "settings of {} (you are {})",
        auth.org_slug().unwrap_or("-"),
        auth.org_role().unwrap_or("-")
    )
}

async fn delete_account(auth: Auth) -> String {
    format!("account {} deleted", auth.user_id().unwrap_or("-"))
}

/// The session claims of a JWT template `{"metadata": "{{user.public_metadata}}"}`.
#[derive(Deserialize)]
struct TemplateClaims {
    sub: String,
    metadata: PublicMetadata,
}

#[derive(Deserialize)]
struct PublicMetadata {
    tier: String,
}

async fn my_tier(auth: Auth) -> Result<String, ClaimsError> {
    // 401 when signed out, 403 when the token lacks the template's claims.
    let claims: TemplateClaims = auth.claims_as()?;
    Ok(format!(
        "{} is on the {} tier",
        claims.sub, claims.metadata.tier
    ))
}

#[actix_web::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let port: u16 = std::env::var("PORT")
        .ok()
        .and_then(|p| p.parse().ok())
        .unwrap_or(3000);
    let clerk = ClerkConfig::from_env()?;
    let required: Option<Has> = match std::env::var("REQUIRE") {
        Ok(json) if !json.trim().is_empty() => Some(
            serde_json::from_str(&json)
                .map_err(|e| format!("REQUIRE is not a has() parameters object: {e}"))?,
        ),
        _ => None,
    };

    let server = HttpServer::new(move || {
        let mut protected = ClerkRequireAuth::new(clerk.clone());
        if let Some(check) = &required {
            protected = protected.require(check.clone());
        }
        App::new()
            // One authentication per request: the inner ClerkRequireAuth middlewares reuse the
            // decision of this outer one (same configuration).
            .wrap(ClerkWithAuth::new(clerk.clone()))
            .service(
                web::resource("/protected-endpoint")
                    .wrap(protected)
                    .route(web::get().to(protected_endpoint)),
            )
            .service(
                web::scope("/org")
                    .wrap(ClerkRequireAuth::new(clerk.clone()).require(Has::role("org:admin")))
                    .route("/settings", web::get().to(org_settings)),
            )
            .service(
                web::resource("/account/delete")
                    .wrap(
                        ClerkRequireAuth::new(clerk.clone())
                            .require(Has::reverification(Reverification::Strict)),
                    )
                    .route(web::post().to(delete_account)),
            )
            .route("/me/tier", web::get().to(my_tier))
    })
    .bind(("127.0.0.1", port))?;
    println!("Example app listening at http://localhost:{port}");
    server.run().await?;
    Ok(())
}
