//! The browser flow as the middlewares answer it, beyond what Clerk's SDK decides (that part is
//! tests/browser_sessions.rs): the redirect answered by the middleware itself, `Set-Cookie`
//! lines on every response (handler, strict rejection, handler error), the opt-out, the
//! sign-in redirect of strict page routes, the bounds on Backend API calls, and outages.

mod support;

use actix_clerk::testing::{
    Outage, TestBackendApi, TestFrontendApi, TestInstance, TestRequestExt as _,
};
use actix_clerk::{Auth, ClerkConfig, ClerkRequireAuth, ClerkWithAuth};
use actix_web::http::StatusCode;
use actix_web::{test, web, App, HttpResponse};

async fn me(auth: web::ReqData<Auth>) -> HttpResponse {
    HttpResponse::Ok().body(auth.user_id().unwrap_or("signed-out").to_owned())
}

async fn fails(_auth: web::ReqData<Auth>) -> Result<HttpResponse, actix_web::Error> {
    Err(actix_web::error::ErrorInternalServerError("handler failed"))
}

fn page() -> test::TestRequest {
    test::TestRequest::get()
        .insert_header(("host", "app.example.com"))
        .insert_header(("sec-fetch-dest", "document"))
}

/// The browser's cookies: the session pair (an old `__client_uat`) and any others.
fn jar(req: test::TestRequest, session: &str, extra: &[(&str, &str)]) -> test::TestRequest {
    let mut text = format!("__session={session}; __client_uat=1");
    for (k, v) in extra {
        text.push_str(&format!("; {k}={v}"));
    }
    req.insert_header(("cookie", text))
}

fn header(res: &actix_web::dev::ServiceResponse, name: &str) -> Option<String> {
    res.headers()
        .get(name)
        .map(|v| v.to_str().unwrap_or_default().to_owned())
}

fn set_cookies(res: &actix_web::dev::ServiceResponse) -> Vec<String> {
    res.headers()
        .get_all("set-cookie")
        .map(|v| v.to_str().unwrap_or_default().to_owned())
        .collect()
}

macro_rules! app {
    ($clerk:expr) => {
        test::init_service(
            App::new()
                .service(
                    web::scope("/strict")
                        .wrap(ClerkRequireAuth::new($clerk.clone()))
                        .route("/me", web::get().to(me)),
                )
                .service(
                    web::scope("/pages")
                        .wrap(ClerkRequireAuth::new($clerk.clone()).redirect_to_sign_in())
                        .route("/me", web::get().to(me)),
                )
                .service(
                    web::scope("/fails")
                        .wrap(ClerkWithAuth::new($clerk.clone()))
                        .route("", web::get().to(fails)),
                )
                .service(
                    web::scope("")
                        .wrap(ClerkWithAuth::new($clerk.clone()))
                        .route("/me", web::get().to(me)),
                ),
        )
        .await
    };
}

#[actix_web::test]
async fn expired_page_navigation_is_redirected_by_the_middleware_in_both_modes() {
    let instance = TestInstance::new();
    let clerk = instance.config().build().expect("config");
    let app = app!(clerk);
    let expired = instance.session_token("user_1").expired().sign();
    for path in ["/me", "/strict/me", "/pages/me"] {
        let req = page()
            .uri(path)
            .session_cookies(&instance, &expired)
            .to_request();
        let res = test::call_service(&app, req).await;
        assert_eq!(res.status(), StatusCode::TEMPORARY_REDIRECT, "{path}");
        let location = header(&res, "location").expect("location");
        assert!(
            location.starts_with(&format!(
                "https://{}/v1/client/handshake?redirect_url=http%3A%2F%2Fapp.example.com",
                instance.frontend_api()
            )),
            "{location}"
        );
        assert!(location.contains("&format=nonce"), "{location}");
        assert_eq!(header(&res, "cache-control").as_deref(), Some("no-store"));
        assert_eq!(
            header(&res, "x-clerk-auth-status").as_deref(),
            Some("handshake")
        );
        assert_eq!(
            set_cookies(&res),
            vec!["__clerk_redirect_count=1; SameSite=Lax; HttpOnly; Max-Age=2".to_owned()]
        );
        // The handler never ran: no body.
        assert!(test::read_body(res).await.is_empty());
    }
    // The same request from fetch(): signed out, as an API request.
    let req = test::TestRequest::get()
        .uri("/me")
        .insert_header(("sec-fetch-dest", "empty"))
        .session_cookies(&instance, &expired)
        .to_request();
    let res = test::call_service(&app, req).await;
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(
        header(&res, "x-clerk-auth-reason").as_deref(),
        Some("session-token-expired-refresh-non-eligible-no-refresh-cookie")
    );
    // The loop guard: the fourth visit in a row continues signed out.
    let req = page()
        .uri("/me")
        .session_cookies(&instance, &expired)
        .cookie(actix_web::cookie::Cookie::new(
            "__clerk_redirect_count",
            "3",
        ))
        .to_request();
    let res = test::call_service(&app, req).await;
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(test::read_body(res).await, "signed-out");
}

#[actix_web::test]
async fn api_only_services_never_redirect() {
    let instance = TestInstance::new();
    let clerk = instance
        .config()
        .browser_sessions(false)
        .build()
        .expect("config");
    let app = app!(clerk);
    let expired = instance.session_token("user_1").expired().sign();
    let req = page()
        .uri("/me")
        .session_cookies(&instance, &expired)
        .to_request();
    let res = test::call_service(&app, req).await;
    assert_eq!(res.status(), StatusCode::OK);
    assert!(header(&res, "location").is_none());
    assert_eq!(
        header(&res, "x-clerk-auth-status").as_deref(),
        Some("signed-out")
    );
    let req = page()
        .uri("/strict/me")
        .session_cookies(&instance, &expired)
        .to_request();
    assert_eq!(
        test::call_service(&app, req).await.status(),
        StatusCode::UNAUTHORIZED
    );
}

#[actix_web::test]
async fn strict_page_routes_send_people_to_sign_in_and_api_requests_get_401() {
    let instance = TestInstance::new();
    let clerk = instance
        .config()
        .sign_in_url("https://accounts.example.com/sign-in")
        .build()
        .expect("config");
    let app = app!(clerk);
    let req = page().uri("/pages/me?tab=a%20b").to_request();
    let res = test::call_service(&app, req).await;
    assert_eq!(res.status(), StatusCode::TEMPORARY_REDIRECT);
    assert_eq!(
        header(&res, "location").as_deref(),
        Some("https://accounts.example.com/sign-in?redirect_url=http%3A%2F%2Fapp.example.com%2Fpages%2Fme%3Ftab%3Da%2520b")
    );
    let req = test::TestRequest::get().uri("/pages/me").to_request();
    assert_eq!(
        test::call_service(&app, req).await.status(),
        StatusCode::UNAUTHORIZED
    );
    // Without a sign-in URL: the instance's Account Portal.
    let clerk = instance.config().build().expect("config");
    let app = app!(clerk);
    let req = page().uri("/pages/me").to_request();
    let res = test::call_service(&app, req).await;
    let location = header(&res, "location").expect("location");
    let portal = format!(
        "https://{}/sign-in?redirect_url=",
        instance.frontend_api().replacen("clerk.", "accounts.", 1)
    );
    assert!(location.starts_with(&portal), "{location} vs {portal}");
}

#[actix_web::test]
async fn a_refreshed_session_reaches_the_handler_and_the_browser() {
    let instance = TestInstance::new();
    let backend = TestBackendApi::start(&instance);
    let clerk = backend.config().build().expect("config");
    let app = app!(clerk);
    let expired = instance
        .session_token("user_7")
        .session_id("sess_7")
        .expired()
        .sign();
    let refresh = backend.refresh_token("sess_7", "user_7");
    let refresh_cookie = format!("__refresh_{}", instance.cookie_suffix());
    // An API GET (no page hints) is refreshed too.
    let req = jar(
        test::TestRequest::get().uri("/me"),
        &expired,
        &[(&refresh_cookie, &refresh)],
    )
    .to_request();
    let res = test::call_service(&app, req).await;
    assert_eq!(res.status(), StatusCode::OK);
    let cookies = set_cookies(&res);
    assert!(
        cookies.iter().any(|c| c.starts_with("__session=")),
        "{cookies:?}"
    );
    assert_eq!(test::read_body(res).await, "user_7");
    assert_eq!(backend.refresh_hits(), 1);
    let call = backend.last_refresh_call().expect("a refresh call");
    assert_eq!(call.path, "/v1/sessions/sess_7/refresh");
    let body = call.body.expect("JSON body");
    assert_eq!(body["format"], "cookie");
    assert_eq!(body["refresh_token"], refresh.as_str());
    assert_eq!(body["expired_token"], expired.as_str());
    assert_eq!(body["request_origin"], "http://localhost:8080");
    // A handler that fails still hands the new cookies to the browser.
    let req = jar(
        test::TestRequest::get().uri("/fails"),
        &expired,
        &[(&refresh_cookie, &refresh)],
    )
    .to_request();
    let res = test::call_service(&app, req).await;
    assert_eq!(res.status(), StatusCode::INTERNAL_SERVER_ERROR);
    assert!(set_cookies(&res)
        .iter()
        .any(|c| c.starts_with("__session=")));
    // A revoked refresh token: the Backend API's code in the reason; a page then handshakes.
    backend.revoke_refresh_token(&refresh);
    let req = jar(
        test::TestRequest::get().uri("/strict/me"),
        &expired,
        &[(&refresh_cookie, &refresh)],
    )
    .to_request();
    let res = test::call_service(&app, req).await;
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(
        header(&res, "x-clerk-auth-reason").as_deref(),
        Some("session-token-expired-refresh-authentication_invalid")
    );
}

#[actix_web::test]
async fn backend_outages_never_sign_in_and_never_answer_5xx() {
    let instance = TestInstance::new();
    let backend = TestBackendApi::start(&instance);
    let clerk = backend
        .config()
        .jwt_key(instance.public_pem())
        .machine_token_verify_timeout(std::time::Duration::from_millis(500))
        .build()
        .expect("config");
    let app = app!(clerk);
    let expired = instance
        .session_token("user_1")
        .session_id("sess_1")
        .expired()
        .sign();
    let refresh = backend.refresh_token("sess_1", "user_1");
    let refresh_cookie = format!("__refresh_{}", instance.cookie_suffix());
    for (outage, why) in [
        (
            // The answer's first error code (the stand-in's is Clerk's `internal_error`).
            Outage::Status(503),
            "session-token-expired-refresh-internal_error",
        ),
        (Outage::Refuse, "session-token-expired-refresh-fetch-error"),
        (Outage::Hang, "session-token-expired-refresh-fetch-error"),
    ] {
        backend.set_outage(Some(outage));
        let req = jar(
            test::TestRequest::get().uri("/me"),
            &expired,
            &[(&refresh_cookie, &refresh)],
        )
        .to_request();
        let res = test::call_service(&app, req).await;
        assert_eq!(res.status(), StatusCode::OK, "{why}");
        assert_eq!(header(&res, "x-clerk-auth-reason").as_deref(), Some(why));
        assert_eq!(test::read_body(res).await, "signed-out");
        // A nonce during the outage: no session, signed out (production goes on).
        let req = page()
            .uri("/me?__clerk_handshake_nonce=made-up")
            .to_request();
        let res = test::call_service(&app, req).await;
        assert_eq!(res.status(), StatusCode::OK);
        assert_eq!(
            header(&res, "x-clerk-auth-reason").as_deref(),
            Some("session-token-missing")
        );
    }
    backend.set_outage(None);
}

#[actix_web::test]
async fn a_flood_of_made_up_nonces_is_bounded() {
    let instance = TestInstance::new();
    let backend = TestBackendApi::start(&instance);
    let clerk = backend
        .config()
        .browser_call_limits(4, 5)
        .build()
        .expect("config");
    let app = app!(clerk);
    let before = backend.handshake_payload_hits();
    for i in 0..200 {
        let req = page()
            .uri(&format!("/me?__clerk_handshake_nonce=forged-{i}"))
            .to_request();
        let res = test::call_service(&app, req).await;
        assert_eq!(res.status(), StatusCode::OK);
        assert_eq!(test::read_body(res).await, "signed-out");
    }
    let calls = backend.handshake_payload_hits() - before;
    // The burst of 5 plus what refills while the loop runs (well under a second per 5).
    assert!((1..=15).contains(&calls), "{calls} Backend API calls");
}

#[actix_web::test]
async fn the_handshake_round_trip_through_the_kit_signs_in() {
    let instance = TestInstance::new();
    let backend = TestBackendApi::start(&instance);
    let frontend = TestFrontendApi::start(&backend, &instance);
    frontend.sign_in("user_42");
    let clerk = backend
        .config()
        .proxy_url(frontend.url())
        .build()
        .expect("config");
    let app = app!(clerk);
    let expired = instance.session_token("user_42").expired().sign();
    let req = page()
        .uri("/strict/me")
        .session_cookies(&instance, &expired)
        .to_request();
    let res = test::call_service(&app, req).await;
    assert_eq!(res.status(), StatusCode::TEMPORARY_REDIRECT);
    let location = header(&res, "location").expect("location");
    assert!(location.starts_with(&format!("{}/v1/client/handshake?", frontend.url())));
    // The browser follows it to the Frontend API stand-in, which sends it back with a nonce.
    let client = awc::Client::builder().disable_redirects().finish();
    let back = client.get(&location).send().await.expect("frontend api");
    assert_eq!(back.status().as_u16(), 307);
    let back = back
        .headers()
        .get("location")
        .and_then(|v| v.to_str().ok())
        .expect("back")
        .to_owned();
    let target = url::Url::parse(&back).expect("url");
    let path = format!("{}?{}", target.path(), target.query().unwrap_or_default());
    assert!(path.contains("__clerk_handshake_nonce="), "{path}");
    let req = page()
        .uri(&path)
        .session_cookies(&instance, &expired)
        .to_request();
    let res = test::call_service(&app, req).await;
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(
        header(&res, "access-control-allow-origin").as_deref(),
        Some("null")
    );
    assert!(set_cookies(&res)
        .iter()
        .any(|c| c.starts_with("__session=")));
    assert_eq!(test::read_body(res).await, "user_42");
    assert_eq!(frontend.handshake_hits(), 1);
    assert_eq!(backend.handshake_payload_hits(), 1);
}

#[actix_web::test]
async fn satellites_are_configured_as_clerk_requires() {
    let instance = TestInstance::new();
    let err = instance.config().is_satellite(true).build().unwrap_err();
    assert_eq!(err, actix_clerk::ConfigError::SatelliteWithoutDomain);
    let dev = TestInstance::development();
    let err = dev
        .config()
        .is_satellite(true)
        .domain("satellite.example.net")
        .build()
        .unwrap_err();
    assert_eq!(err, actix_clerk::ConfigError::SatelliteWithoutSignInUrl);
    let err = dev
        .config()
        .is_satellite(true)
        .domain("satellite.example.net")
        .sign_in_url("/sign-in")
        .build()
        .unwrap_err();
    assert!(matches!(err, actix_clerk::ConfigError::InvalidSignInUrl(_)));
    assert!(dev
        .config()
        .is_satellite(true)
        .proxy_url("/__clerk")
        .sign_in_url("https://primary.example.com/sign-in")
        .build()
        .is_ok());
    let err = instance.config().proxy_url("ftp://x").build().unwrap_err();
    assert!(matches!(err, actix_clerk::ConfigError::InvalidProxyUrl(_)));
    let _: ClerkConfig = instance
        .config()
        .is_satellite(true)
        .domain("satellite.example.net")
        .build()
        .expect("a production satellite with a domain");
}

#[actix_web::test]
async fn nonces_refresh_tokens_and_session_tokens_never_reach_logs_or_bodies() {
    let logs = support::LogBuffer::default();
    let _guard = logs.capture();
    let instance = TestInstance::new();
    let backend = TestBackendApi::start(&instance);
    let clerk = backend
        .config()
        .jwt_key(instance.public_pem())
        .build()
        .expect("config");
    let app = app!(clerk);
    let expired = instance
        .session_token("user_1")
        .session_id("sess_1")
        .expired()
        .sign();
    let refresh = backend.refresh_token("sess_1", "user_1");
    let refresh_cookie = format!("__refresh_{}", instance.cookie_suffix());
    let nonce = "nonce-secret-4f1c9a";
    let forged_handshake = instance
        .session_token("user_1")
        .signed_by(&actix_clerk::testing::TestKey::generate("ins_other"))
        .sign();
    let mut bodies = Vec::new();
    for outage in [None, Some(Outage::Refuse), Some(Outage::Status(500))] {
        backend.set_outage(outage);
        for req in [
            jar(
                test::TestRequest::get().uri("/me"),
                &expired,
                &[(&refresh_cookie, &refresh)],
            ),
            page().uri(&format!("/me?__clerk_handshake_nonce={nonce}")),
            page().uri(&format!("/strict/me?__clerk_handshake={forged_handshake}")),
        ] {
            let res = test::call_service(&app, req.to_request()).await;
            assert!(res.status().as_u16() < 500, "{}", res.status());
            let headers: Vec<String> = res
                .headers()
                .iter()
                .filter(|(k, _)| k.as_str() != "set-cookie")
                .map(|(k, v)| format!("{k}: {}", v.to_str().unwrap_or_default()))
                .collect();
            bodies.push(headers.join("\n"));
            bodies.push(String::from_utf8_lossy(&test::read_body(res).await).into_owned());
        }
    }
    backend.set_outage(None);
    let logs = logs.text();
    assert!(logs.contains("clerk:"), "nothing was logged: {logs}");
    for secret in [
        nonce,
        refresh.as_str(),
        expired.as_str(),
        forged_handshake.as_str(),
    ] {
        assert!(!logs.contains(secret), "a secret in the logs: {logs}");
        for b in &bodies {
            assert!(!b.contains(secret), "a secret in an answer: {b}");
        }
    }
}
