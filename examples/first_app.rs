//! A first real app from the README: public feed, strict `/api` with its own 401, org admins,
//! billing behind a recent second factor, a typed claim, machines, a webhook; tests below.
//! Offline: `CLERK_DEV_OFFLINE=1 cargo run --example first_app` (debug builds).

use actix_clerk::{
    Accepts, Auth, ClerkConfig, ClerkError, ClerkRequireAuth, ClerkWebhook, ClerkWithAuth,
    ConfigError, Has, Reverification, TokenKind, WebhookEvent, WebhookVerifier,
};
use actix_web::{web, App, HttpResponse, HttpServer, ResponseError as _};
use serde_json::json;

#[derive(serde::Deserialize)]
struct Plan {
    plan: String,
}

async fn feed(auth: Auth) -> String {
    auth.user_id()
        .map_or("public feed".into(), |u| format!("feed for {u}"))
}

async fn me(auth: Auth) -> Result<HttpResponse, ClerkError> {
    let Plan { plan } = auth.claims_as()?;
    Ok(HttpResponse::Ok().json(json!({"user": auth.user_id(), "plan": plan})))
}

async fn org_admin(auth: Auth) -> String {
    format!("admin of {}", auth.org_slug().unwrap_or_default())
}

async fn machine(auth: Auth) -> String {
    let kind = auth.token_kind().map_or("", |k| k.as_str());
    format!("{kind} {}", auth.subject().unwrap_or_default())
}

async fn clerk_webhook(delivery: ClerkWebhook) -> HttpResponse {
    match delivery.typed() {
        Ok(WebhookEvent::UserCreated(user)) => {
            HttpResponse::Ok().body(format!("welcome {}", user.id))
        }
        _ => HttpResponse::Ok().finish(),
    }
}

/// The app's routes, for `main` and for the tests.
fn routes(
    clerk: ClerkConfig,
    webhooks: WebhookVerifier,
) -> Result<impl FnOnce(&mut web::ServiceConfig) + Clone, ConfigError> {
    let machines = ClerkRequireAuth::new(clerk.clone())
        .accepts(Accepts::List(vec![TokenKind::ApiKey, TokenKind::M2mToken]))?;
    let strict = ClerkRequireAuth::new(clerk.clone()).on_error(|err, _| match err {
        ClerkError::Unauthenticated { reason, .. } => {
            HttpResponse::Unauthorized().json(json!({"error": "sign in first", "reason": reason}))
        }
        other => other.error_response(), // 503 outages, 403 checks, Clerk's reverification 403
    });
    let require = |check| ClerkRequireAuth::new(clerk.clone()).require(check);
    let (admin, recent) = (
        require(Has::role("org:admin")),
        require(Has::reverification(Reverification::Strict)),
    );
    Ok(move |cfg: &mut web::ServiceConfig| {
        cfg.app_data(webhooks)
            .service(
                web::resource("/feed")
                    .wrap(ClerkWithAuth::new(clerk))
                    .route(web::get().to(feed)),
            )
            .service(
                web::scope("/api")
                    .wrap(strict)
                    .route("/me", web::get().to(me))
                    .service(
                        web::resource("/org")
                            .wrap(admin)
                            .route(web::get().to(org_admin)),
                    )
                    .service(
                        web::resource("/billing")
                            .wrap(recent)
                            .route(web::post().to(|| async { "billing updated" })),
                    ),
            )
            .service(
                web::scope("/machine")
                    .wrap(machines)
                    .route("/whoami", web::get().to(machine)),
            )
            .route("/webhooks/clerk", web::post().to(clerk_webhook));
    })
}

#[actix_web::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let routes = routes(
        ClerkConfig::from_env()?,
        WebhookVerifier::from_env()?.replay_protection(10_000),
    )?;
    HttpServer::new(move || App::new().configure(routes.clone()))
        .bind(("127.0.0.1", 3000))?
        .run()
        .await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use actix_clerk::testing::{sample_event, TestClerk, TestRequestExt as _};
    use actix_web::http::{Method, StatusCode};
    use actix_web::{test, App};

    /// One request through the app, against a Clerk of the test's own.
    async fn call(
        clerk: &TestClerk,
        method: Method,
        path: &str,
        token: Option<&str>,
    ) -> (StatusCode, String) {
        let routes = super::routes(clerk.config(), clerk.webhook_verifier()).expect("routes");
        let app = test::init_service(App::new().configure(routes)).await;
        let mut req = test::TestRequest::default().method(method).uri(path);
        if let Some(token) = token {
            req = req.bearer_token(token);
        }
        let res = test::call_service(&app, req.to_request()).await;
        let code = res.status();
        (
            code,
            String::from_utf8_lossy(&test::read_body(res).await).into_owned(),
        )
    }

    #[actix_web::test]
    async fn feed_is_public_and_personal() {
        let clerk = TestClerk::start();
        let token = clerk.instance.session_token("user_1").sign();
        assert_eq!(
            call(&clerk, Method::GET, "/feed", None).await.1,
            "public feed"
        );
        assert_eq!(
            call(&clerk, Method::GET, "/feed", Some(&token)).await.1,
            "feed for user_1"
        );
    }

    #[actix_web::test]
    async fn api_signed_in_signed_out_and_expired() {
        let clerk = TestClerk::start();
        let token = clerk
            .instance
            .session_token("user_1")
            .claim("plan", "pro")
            .sign();
        let (code, body) = call(&clerk, Method::GET, "/api/me", Some(&token)).await;
        assert_eq!(
            (code, body.as_str()),
            (StatusCode::OK, r#"{"user":"user_1","plan":"pro"}"#)
        );
        let (code, body) = call(&clerk, Method::GET, "/api/me", None).await;
        assert_eq!(code, StatusCode::UNAUTHORIZED);
        assert!(body.contains("sign in first"), "{body}");
        let expired = clerk.instance.session_token("user_1").expired().sign();
        assert_eq!(
            call(&clerk, Method::GET, "/api/me", Some(&expired)).await.0,
            StatusCode::UNAUTHORIZED
        );
        // The typed claim is missing: 403, not a 500.
        let plain = clerk.instance.session_token("user_1").sign();
        assert_eq!(
            call(&clerk, Method::GET, "/api/me", Some(&plain)).await.0,
            StatusCode::FORBIDDEN
        );
    }

    #[actix_web::test]
    async fn org_admins_only() {
        let clerk = TestClerk::start();
        let admin = clerk
            .instance
            .session_token("user_1")
            .org("org_1", "acme", "admin")
            .sign();
        let member = clerk
            .instance
            .session_token("user_2")
            .org("org_1", "acme", "member")
            .sign();
        assert_eq!(
            call(&clerk, Method::GET, "/api/org", Some(&admin)).await.1,
            "admin of acme"
        );
        assert_eq!(
            call(&clerk, Method::GET, "/api/org", Some(&member)).await.0,
            StatusCode::FORBIDDEN
        );
    }

    #[actix_web::test]
    async fn billing_needs_a_recent_second_factor() {
        let clerk = TestClerk::start();
        let fresh = clerk
            .instance
            .session_token("user_1")
            .factor_verification_age(2, 2)
            .sign();
        let stale = clerk
            .instance
            .session_token("user_1")
            .factor_verification_age(90, 90)
            .sign();
        assert_eq!(
            call(&clerk, Method::POST, "/api/billing", Some(&fresh))
                .await
                .1,
            "billing updated"
        );
        let (code, body) = call(&clerk, Method::POST, "/api/billing", Some(&stale)).await;
        assert_eq!(code, StatusCode::FORBIDDEN);
        assert!(
            body.contains("reverification-error"),
            "Clerk's reverification body: {body}"
        );
    }

    #[actix_web::test]
    async fn machines_with_api_keys_and_m2m_tokens() {
        let clerk = TestClerk::start();
        let key = clerk.backend.api_key("user_1").issue();
        let m2m = clerk.backend.m2m_token("mch_1").issue();
        assert_eq!(
            call(&clerk, Method::GET, "/machine/whoami", Some(&key))
                .await
                .1,
            "api_key user_1"
        );
        assert_eq!(
            call(&clerk, Method::GET, "/machine/whoami", Some(&m2m))
                .await
                .1,
            "m2m_token mch_1"
        );
        clerk.backend.revoke(&key);
        assert_eq!(
            call(&clerk, Method::GET, "/machine/whoami", Some(&key))
                .await
                .0,
            StatusCode::UNAUTHORIZED
        );
        let session = clerk.instance.session_token("user_1").sign();
        assert_eq!(
            call(&clerk, Method::GET, "/machine/whoami", Some(&session))
                .await
                .0,
            StatusCode::UNAUTHORIZED
        );
    }

    #[actix_web::test]
    async fn webhooks_genuine_and_tampered() {
        let clerk = TestClerk::start();
        let routes = super::routes(clerk.config(), clerk.webhook_verifier()).expect("routes");
        let app = test::init_service(App::new().configure(routes)).await;
        let delivery = clerk
            .webhooks
            .delivery(sample_event::user_created("user_9"));
        let res =
            test::call_service(&app, delivery.to_request("/webhooks/clerk").to_request()).await;
        assert_eq!(test::read_body(res).await, "welcome user_9");
        let forged = clerk
            .webhooks
            .delivery(sample_event::user_created("user_9"))
            .tamper_body();
        let res = test::call_service(&app, forged.to_request("/webhooks/clerk").to_request()).await;
        assert_eq!(res.status(), StatusCode::BAD_REQUEST);
    }
}
