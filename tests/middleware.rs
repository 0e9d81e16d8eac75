//! The middlewares in real actix apps: lax vs strict, scopes and resources, extractors, the
//! error hook, `ErrorHandlers`, response headers, and the JSON of `Auth`.

mod support;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use actix_clerk::testing::TestKey;
use actix_clerk::{
    Auth, Authenticated, ClerkConfig, ClerkError, ClerkRequireAuth, ClerkWithAuth, Has, Reason,
};
use actix_web::dev::ServiceResponse;
use actix_web::http::{header, StatusCode};
use actix_web::middleware::{ErrorHandlerResponse, ErrorHandlers};
use actix_web::{test, web, App, HttpResponse};
use serde_json::{json, Value};

fn setup() -> (TestKey, ClerkConfig) {
    let key = TestKey::generate("ins_test");
    let config = ClerkConfig::builder()
        .jwt_key(key.public_pem())
        .publishable_key("pk_live_Y2xlcmsuZXhhbXBsZS5jb20k")
        .authorized_parties(["https://app.example.com"])
        .build()
        .expect("config");
    (key, config)
}

async fn me(auth: web::ReqData<Auth>) -> web::Json<Auth> {
    web::Json(auth.into_inner())
}

fn hdr(
    headers: &actix_web::http::header::HeaderMap,
    name: impl actix_web::http::header::AsHeaderName,
) -> String {
    headers
        .get(name)
        .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned())
        .unwrap_or_default()
}

fn bearer(token: &str) -> (header::HeaderName, String) {
    (header::AUTHORIZATION, format!("Bearer {token}"))
}

#[actix_web::test]
async fn lax_passes_signed_in_and_signed_out() {
    let (key, config) = setup();
    let app = test::init_service(
        App::new().service(
            web::scope("/public")
                .wrap(ClerkWithAuth::new(config))
                .route("/me", web::get().to(me)),
        ),
    )
    .await;
    let token = key.session_token("user_1").sign();
    let req = test::TestRequest::get()
        .uri("/public/me")
        .insert_header(bearer(&token))
        .to_request();
    let res = test::call_service(&app, req).await;
    assert_eq!(res.status(), StatusCode::OK);
    assert!(res.headers().get("x-clerk-auth-status").is_none());
    let body: Value = test::read_body_json(res).await;
    assert_eq!(body["userId"], "user_1");
    assert_eq!(body["sessionId"], "sess_2test");
    assert_eq!(body["isAuthenticated"], true);
    assert_eq!(body["sessionClaims"]["azp"], "https://app.example.com");

    let req = test::TestRequest::get().uri("/public/me").to_request();
    let res = test::call_service(&app, req).await;
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(hdr(res.headers(), "x-clerk-auth-status"), "signed-out");
    assert_eq!(
        hdr(res.headers(), "x-clerk-auth-reason"),
        "session-token-and-uat-missing"
    );
    let body: Value = test::read_body_json(res).await;
    assert_eq!(body["userId"], Value::Null);
    assert_eq!(body["isAuthenticated"], false);
}

#[actix_web::test]
async fn strict_rejects_before_the_handler() {
    let (key, config) = setup();
    let calls = Arc::new(AtomicUsize::new(0));
    let c = calls.clone();
    let app = test::init_service(
        App::new().service(
            web::scope("/api")
                .wrap(ClerkRequireAuth::new(config))
                .route(
                    "/me",
                    web::route().to(move |auth: web::ReqData<Auth>| {
                        c.fetch_add(1, Ordering::SeqCst);
                        async move { web::Json(auth.into_inner()) }
                    }),
                ),
        ),
    )
    .await;

    // no token: 401, plain Bearer challenge
    let res = test::call_service(&app, test::TestRequest::get().uri("/api/me").to_request()).await;
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(hdr(res.headers(), header::WWW_AUTHENTICATE), "Bearer");
    assert_eq!(
        hdr(res.headers(), "x-clerk-auth-reason"),
        "session-token-and-uat-missing"
    );
    let body: Value = test::read_body_json(res).await;
    assert_eq!(body["reason"], "session-token-and-uat-missing");

    // expired token on POST: 401 invalid_token, Clerk's reason, no token in the body
    let expired = key.session_token("user_1").expired().sign();
    let req = test::TestRequest::post()
        .uri("/api/me")
        .insert_header(bearer(&expired))
        .to_request();
    let res = test::call_service(&app, req).await;
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(
        hdr(res.headers(), header::WWW_AUTHENTICATE),
        "Bearer error=\"invalid_token\""
    );
    assert_eq!(
        hdr(res.headers(), "x-clerk-auth-reason"),
        "session-token-expired-refresh-non-eligible-non-get"
    );
    let message = hdr(res.headers(), "x-clerk-auth-message");
    assert!(
        message.starts_with("JWT is expired. Expiry date: "),
        "{message}"
    );
    assert!(
        message.ends_with("(reason=token-expired, token-carrier=header)"),
        "{message}"
    );
    let body = test::read_body(res).await;
    let body = String::from_utf8_lossy(&body);
    assert!(
        !body.contains(&expired[..40]),
        "body must not echo the token"
    );

    // wrong azp: token-invalid-authorized-parties
    let foreign = key
        .session_token("user_1")
        .azp("https://evil.example.net")
        .sign();
    let req = test::TestRequest::get()
        .uri("/api/me")
        .insert_header(bearer(&foreign))
        .to_request();
    let res = test::call_service(&app, req).await;
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(
        hdr(res.headers(), "x-clerk-auth-reason"),
        "token-invalid-authorized-parties"
    );

    assert_eq!(
        calls.load(Ordering::SeqCst),
        0,
        "the handler never ran for a signed-out request"
    );

    let good = key.session_token("user_1").sign();
    let req = test::TestRequest::get()
        .uri("/api/me")
        .insert_header(bearer(&good))
        .to_request();
    let body: Value = test::call_and_read_body_json(&app, req).await;
    assert_eq!(body["userId"], "user_1");
    assert_eq!(calls.load(Ordering::SeqCst), 1);
}

#[actix_web::test]
async fn forged_and_other_instance_tokens_are_rejected() {
    let (key, config) = setup();
    let other = TestKey::generate("ins_test");
    let app = test::init_service(
        App::new()
            .wrap(ClerkRequireAuth::new(config))
            .route("/me", web::get().to(me)),
    )
    .await;
    let forged = other.session_token("user_1").sign();
    let req = test::TestRequest::get()
        .uri("/me")
        .insert_header(bearer(&forged))
        .to_request();
    let res = test::call_service(&app, req).await;
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(
        hdr(res.headers(), "x-clerk-auth-reason"),
        "token-invalid-signature"
    );

    let mut tampered = key.session_token("user_1").sign();
    let last = tampered.pop().expect("char");
    tampered.push(if last == 'A' { 'Q' } else { 'A' });
    let req = test::TestRequest::get()
        .uri("/me")
        .insert_header(bearer(&tampered))
        .to_request();
    let res = test::call_service(&app, req).await;
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
}

#[actix_web::test]
async fn on_error_overrides_the_response() {
    let (_, config) = setup();
    let seen = Arc::new(parking_lot::Mutex::new(None));
    let s = seen.clone();
    let app = test::init_service(
        App::new().service(
            web::resource("/protected-endpoint")
                .wrap(ClerkRequireAuth::new(config).on_error(move |err, _req| {
                    *s.lock() = err.reason();
                    HttpResponse::Unauthorized().body("Unauthenticated!")
                }))
                .to(me),
        ),
    )
    .await;
    let res = test::call_service(
        &app,
        test::TestRequest::get()
            .uri("/protected-endpoint")
            .to_request(),
    )
    .await;
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(hdr(res.headers(), "x-clerk-auth-status"), "signed-out");
    assert_eq!(test::read_body(res).await, "Unauthenticated!");
    assert_eq!(*seen.lock(), Some(Reason::SessionTokenAndUatMissing));
}

#[actix_web::test]
async fn error_handlers_see_the_clerk_error() {
    let (_, config) = setup();
    let app = test::init_service(
        App::new()
            .wrap(
                ErrorHandlers::new().handler(StatusCode::UNAUTHORIZED, |res: ServiceResponse| {
                    let reason = res
                        .response()
                        .error()
                        .and_then(|e| e.as_error::<ClerkError>())
                        .and_then(ClerkError::reason)
                        .map(|r| r.as_str())
                        .unwrap_or("none");
                    let (req, _) = res.into_parts();
                    let res = HttpResponse::Unauthorized().body(format!("custom: {reason}"));
                    Ok(ErrorHandlerResponse::Response(
                        ServiceResponse::new(req, res).map_into_right_body(),
                    ))
                }),
            )
            .service(
                web::scope("/api")
                    .wrap(ClerkRequireAuth::new(config))
                    .route("/me", web::get().to(me)),
            ),
    )
    .await;
    let body =
        test::call_and_read_body(&app, test::TestRequest::get().uri("/api/me").to_request()).await;
    assert_eq!(body, "custom: session-token-and-uat-missing");
}

#[actix_web::test]
async fn extractors() {
    let (key, config) = setup();
    async fn strict_handler(auth: Authenticated) -> String {
        auth.user_id().unwrap_or_default().to_owned()
    }
    async fn any_handler(auth: Auth) -> String {
        format!("{}", auth.is_signed_in())
    }
    let app = test::init_service(
        App::new()
            .service(
                web::scope("/lax")
                    .wrap(ClerkWithAuth::new(config))
                    .route("/strict", web::get().to(strict_handler))
                    .route("/any", web::get().to(any_handler)),
            )
            .route("/bare", web::get().to(strict_handler)),
    )
    .await;
    let token = key.session_token("user_9").sign();
    let req = test::TestRequest::get()
        .uri("/lax/strict")
        .insert_header(bearer(&token))
        .to_request();
    assert_eq!(test::call_and_read_body(&app, req).await, "user_9");
    let res = test::call_service(
        &app,
        test::TestRequest::get().uri("/lax/strict").to_request(),
    )
    .await;
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
    let res = test::call_service(&app, test::TestRequest::get().uri("/lax/any").to_request()).await;
    assert_eq!(test::read_body(res).await, "false");
    // missing middleware: a clear 500 naming the problem, not a bare one
    let res = test::call_service(&app, test::TestRequest::get().uri("/bare").to_request()).await;
    assert_eq!(res.status(), StatusCode::INTERNAL_SERVER_ERROR);
    let body = test::read_body(res).await;
    assert!(String::from_utf8_lossy(&body).contains("Clerk middleware missing"));
}

#[actix_web::test]
async fn headers_can_be_switched_off_and_scopes_are_independent() {
    let (_, config) = setup();
    let app = test::init_service(
        App::new()
            .service(
                web::scope("/quiet")
                    .wrap(ClerkWithAuth::new(config.clone()).auth_headers(false))
                    .route("/me", web::get().to(me)),
            )
            .service(web::scope("/open").route("/me", web::get().to(|| async { "open" }))),
    )
    .await;
    let res =
        test::call_service(&app, test::TestRequest::get().uri("/quiet/me").to_request()).await;
    assert_eq!(res.status(), StatusCode::OK);
    assert!(res.headers().get("x-clerk-auth-status").is_none());
    let res = test::call_service(&app, test::TestRequest::get().uri("/open/me").to_request()).await;
    assert_eq!(test::read_body(res).await, "open");
}

#[actix_web::test]
async fn organisation_claims_and_has() {
    let (key, config) = setup();
    let app = test::init_service(App::new().wrap(ClerkWithAuth::new(config)).route(
        "/check",
        web::get().to(|auth: web::ReqData<Auth>| async move {
            web::Json(json!({
                "admin": auth.has(&Has::role("admin")),
                "read": auth.has(&Has::permission("org:memberships:read")),
                "manage": auth.has(&Has::permission("org:memberships:manage")),
                "org": auth.org_id(),
                "perms": auth.org_permissions(),
            }))
        }),
    ))
    .await;
    let v2 = key.session_token("user_1").v1().claims(json!({"v": 2, "fea": "o:memberships", "o": {"id": "org_1", "rol": "admin", "slg": "acme", "per": "read,manage", "fpm": "1"}})).sign();
    let req = test::TestRequest::get()
        .uri("/check")
        .insert_header(bearer(&v2))
        .to_request();
    let body: Value = test::call_and_read_body_json(&app, req).await;
    assert_eq!(
        body,
        json!({"admin": true, "read": true, "manage": false, "org": "org_1", "perms": ["org:memberships:read"]})
    );
    let v1 = key.session_token("user_1").v1().claims(json!({"org_id": "org_2", "org_role": "org:member", "org_permissions": ["org:memberships:manage"]})).sign();
    let req = test::TestRequest::get()
        .uri("/check")
        .insert_header(bearer(&v1))
        .to_request();
    let body: Value = test::call_and_read_body_json(&app, req).await;
    assert_eq!(
        body,
        json!({"admin": false, "read": false, "manage": true, "org": "org_2", "perms": ["org:memberships:manage"]})
    );
}

#[actix_web::test]
async fn pending_sessions_are_signed_out_by_default() {
    let (key, config) = setup();
    let app = test::init_service(
        App::new()
            .wrap(ClerkRequireAuth::new(config))
            .route("/me", web::get().to(me)),
    )
    .await;
    let pending = key.session_token("user_1").pending().sign();
    let req = test::TestRequest::get()
        .uri("/me")
        .insert_header(bearer(&pending))
        .to_request();
    let res = test::call_service(&app, req).await;
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
    let body: Value = test::read_body_json(res).await;
    assert_eq!(body["reason"], "session-pending");
}

#[actix_web::test]
async fn cookie_tokens_need_a_client_uat() {
    let (key, config) = setup();
    let app = test::init_service(
        App::new()
            .wrap(ClerkWithAuth::new(config))
            .route("/me", web::get().to(me)),
    )
    .await;
    let token = key.session_token("user_c").sign();
    let uat = support::now_secs() - 60;
    let req = test::TestRequest::get()
        .uri("/me")
        .insert_header((
            header::COOKIE,
            format!("__session={token}; __client_uat={uat}"),
        ))
        .to_request();
    let body: Value = test::call_and_read_body_json(&app, req).await;
    assert_eq!(body["userId"], "user_c");
    let req = test::TestRequest::get()
        .uri("/me")
        .insert_header((header::COOKIE, format!("__session={token}")))
        .to_request();
    let res = test::call_service(&app, req).await;
    assert_eq!(
        hdr(res.headers(), "x-clerk-auth-reason"),
        "session-token-but-no-client-uat"
    );
}

#[actix_web::test]
async fn debug_output_never_shows_secrets_or_tokens() {
    let (key, config) = setup();
    let secret_cfg = ClerkConfig::builder()
        .secret_key("sk_live_0123456789abcdefSECRET")
        .build()
        .expect("config");
    let shown = format!("{secret_cfg:?}");
    assert!(!shown.contains("SECRET"), "{shown}");
    assert!(!format!("{config:?}").contains("BEGIN PUBLIC KEY"));
    let err = ClerkError::Unauthenticated {
        reason: Reason::TokenInvalid,
        message: String::new(),
        token_presented: true,
    };
    let token = key.session_token("user_1").sign();
    assert!(!format!("{err:?} {err}").contains(&token));
}
