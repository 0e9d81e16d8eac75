//! Overriding the strict middleware's error response, two ways:
//! - `on_error` on the middleware maps a `ClerkError` to the application's own response;
//! - actix's `ErrorHandlers` sees the `ClerkError` attached to the default response.
//!
//! Reads the same environment as `with_auth` (`CLERK_JWT_KEY` or `CLERK_SECRET_KEY`, …).

use actix_clerk::{Auth, ClerkConfig, ClerkError, ClerkRequireAuth};
use actix_web::dev::ServiceResponse;
use actix_web::http::StatusCode;
use actix_web::middleware::{ErrorHandlerResponse, ErrorHandlers};
use actix_web::{web, App, HttpResponse, HttpServer, ResponseError as _};
use serde_json::json;

async fn me(auth: Auth) -> web::Json<Auth> {
    web::Json(auth)
}

/// Renders any 401 of the app as a problem+json document, using the ClerkError when present,
/// and keeping the crate's headers (`WWW-Authenticate`, `x-clerk-auth-*`): actix keeps nothing
/// of the response a handler replaces.
fn problem_json<B>(res: ServiceResponse<B>) -> actix_web::Result<ErrorHandlerResponse<B>> {
    let reason = res
        .response()
        .error()
        .and_then(|e| e.as_error::<ClerkError>())
        .and_then(ClerkError::reason)
        .map_or("unknown", |r| r.as_str());
    let body =
        json!({"type": "about:blank", "title": "Unauthorized", "status": 401, "detail": reason});
    let mut fresh = HttpResponse::Unauthorized()
        .content_type("application/problem+json")
        .body(body.to_string());
    actix_clerk::keep_clerk_headers(res.headers(), fresh.headers_mut());
    let (req, _) = res.into_parts();
    let res = fresh;
    Ok(ErrorHandlerResponse::Response(
        ServiceResponse::new(req, res).map_into_right_body(),
    ))
}

#[actix_web::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let port: u16 = std::env::var("PORT")
        .ok()
        .and_then(|p| p.parse().ok())
        .unwrap_or(3000);
    // A configuration problem ends here with a message saying what to set.
    let clerk = ClerkConfig::from_env()?;
    let server = HttpServer::new(move || {
        App::new()
            // 1. The hook: the middleware answers with the application's response.
            .service(
                web::scope("/hook")
                    .wrap(ClerkRequireAuth::new(clerk.clone()).on_error(|err, _req| {
                        match err {
                            ClerkError::KeysUnavailable { .. } => {
                                HttpResponse::ServiceUnavailable().body("try again soon")
                            }
                            ClerkError::Unauthenticated { reason, .. } => {
                                HttpResponse::Unauthorized().json(
                                    json!({"error": "sign in first", "reason": reason.as_str()}),
                                )
                            }
                            // Failed checks, reverification: their default answers.
                            other => other.error_response(),
                        }
                    }))
                    .route("/me", web::get().to(me)),
            )
            // 2. ErrorHandlers: the default ClerkError response, rewritten by the app.
            .service(
                web::scope("/handlers")
                    // The last `wrap` is the outermost: ErrorHandlers sees ClerkRequireAuth's answer.
                    .wrap(ClerkRequireAuth::new(clerk.clone()))
                    .wrap(ErrorHandlers::new().handler(StatusCode::UNAUTHORIZED, problem_json))
                    .route("/me", web::get().to(me)),
            )
    })
    .bind(("127.0.0.1", port))?;
    println!("custom_error listening at http://localhost:{port} (/hook/me, /handlers/me)");
    server.run().await?;
    Ok(())
}
