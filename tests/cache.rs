//! The verified-token cache: same answers as a fresh verification, bounded, scoped to one
//! configuration.

mod support;

use std::time::Duration;

use actix_clerk::testing::{b64url, TestKey};
use actix_clerk::{Auth, ClerkConfig, ClerkRequireAuth};
use actix_web::dev::{Service, ServiceResponse};
use actix_web::http::{header, StatusCode};
use actix_web::{test, web, App};
use serde_json::json;
use support::now_secs;

async fn me(auth: web::ReqData<Auth>) -> String {
    auth.user_id().unwrap_or_default().to_owned()
}

async fn app(
    config: ClerkConfig,
) -> impl Service<
    actix_http::Request,
    Response = ServiceResponse<actix_web::body::EitherBody<actix_web::body::BoxBody>>,
    Error = actix_web::Error,
> {
    test::init_service(
        App::new()
            .wrap(ClerkRequireAuth::new(config))
            .route("/me", web::get().to(me)),
    )
    .await
}

async fn call(
    app: &impl Service<
        actix_http::Request,
        Response = ServiceResponse<actix_web::body::EitherBody<actix_web::body::BoxBody>>,
        Error = actix_web::Error,
    >,
    token: &str,
) -> (StatusCode, String) {
    let req = test::TestRequest::get()
        .uri("/me")
        .insert_header((header::AUTHORIZATION, format!("Bearer {token}")))
        .to_request();
    let res = test::call_service(app, req).await;
    let reason = res
        .headers()
        .get("x-clerk-auth-reason")
        .map(|v| v.to_str().unwrap_or_default().to_owned())
        .unwrap_or_default();
    (res.status(), reason)
}

#[actix_web::test]
async fn a_cached_token_expires_on_time() {
    let key = TestKey::generate("ins_cache");
    let config = ClerkConfig::builder()
        .jwt_key(key.public_pem())
        .clock_skew(Duration::ZERO)
        .build()
        .expect("config");
    let app = app(config.clone()).await;
    let exp = now_secs() + 2;
    let token = key
        .session_token("user_1")
        .v1()
        .claims(json!({ "exp": exp }))
        .sign();
    assert_eq!(call(&app, &token).await, (StatusCode::OK, String::new()));
    assert_eq!(token_cache_len(&config), 1);
    assert_eq!(
        call(&app, &token).await.0,
        StatusCode::OK,
        "second call served from the cache"
    );
    // Wait until the expiry second has passed (exp is whole seconds).
    while now_secs() <= exp {
        actix_web::rt::time::sleep(Duration::from_millis(50)).await;
    }
    let (status, reason) = call(&app, &token).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(
        reason,
        "session-token-expired-refresh-non-eligible-no-refresh-cookie"
    );
}

#[actix_web::test]
async fn configurations_never_share_entries() {
    let key = TestKey::generate("ins_cache");
    let other_key = TestKey::generate("ins_cache");
    let a = ClerkConfig::builder()
        .jwt_key(key.public_pem())
        .authorized_parties(["https://app.example.com"])
        .build()
        .expect("config");
    let b = ClerkConfig::builder()
        .jwt_key(key.public_pem())
        .authorized_parties(["https://admin.example.com"])
        .build()
        .expect("config");
    let c = ClerkConfig::builder()
        .jwt_key(other_key.public_pem())
        .build()
        .expect("config");
    let (app_a, app_b, app_c) = (app(a.clone()).await, app(b).await, app(c).await);
    let token = key
        .session_token("user_1")
        .v1()
        .claims(json!({"azp": "https://app.example.com"}))
        .sign();
    assert_eq!(call(&app_a, &token).await.0, StatusCode::OK);
    assert_eq!(call(&app_a, &token).await.0, StatusCode::OK);
    assert_eq!(token_cache_len(&a), 1);
    assert_eq!(
        call(&app_b, &token).await,
        (
            StatusCode::UNAUTHORIZED,
            "token-invalid-authorized-parties".into()
        )
    );
    assert_eq!(
        call(&app_c, &token).await,
        (StatusCode::UNAUTHORIZED, "token-invalid-signature".into())
    );
    // clones share one cache
    let app_a2 = app(a.clone()).await;
    assert_eq!(call(&app_a2, &token).await.0, StatusCode::OK);
    assert_eq!(token_cache_len(&a), 1);
}

#[actix_web::test]
async fn a_cached_token_does_not_vouch_for_a_tampered_one() {
    let key = TestKey::generate("ins_cache");
    let config = ClerkConfig::builder()
        .jwt_key(key.public_pem())
        .build()
        .expect("config");
    let app = app(config.clone()).await;
    let token = key.session_token("user_1").sign();
    assert_eq!(call(&app, &token).await.0, StatusCode::OK);
    // Same header and payload, another signature: compared in full, so not a hit.
    let (signed, sig) = token.rsplit_once('.').expect("three parts");
    let mut forged_sig = sig.to_owned().into_bytes();
    forged_sig[10] = if forged_sig[10] == b'A' { b'B' } else { b'A' };
    let forged = format!("{signed}.{}", String::from_utf8(forged_sig).expect("ascii"));
    assert_eq!(
        call(&app, &forged).await,
        (StatusCode::UNAUTHORIZED, "token-invalid-signature".into())
    );
    // Same signature, another payload.
    let (header_part, _) = signed.split_once('.').expect("parts");
    let other_payload = b64url(json!({"sub": "user_admin", "exp": now_secs() + 3600}).to_string());
    let spliced = format!("{header_part}.{other_payload}.{sig}");
    assert_eq!(
        call(&app, &spliced).await,
        (StatusCode::UNAUTHORIZED, "token-invalid-signature".into())
    );
}

#[actix_web::test]
async fn floods_stay_bounded_and_cannot_evict_valid_entries() {
    let key = TestKey::generate("ins_cache");
    let config = ClerkConfig::builder()
        .jwt_key(key.public_pem())
        .token_cache_capacity(50)
        .build()
        .expect("config");
    let app = app(config.clone()).await;
    let keep = key.session_token("user_keep").sign();
    assert_eq!(call(&app, &keep).await.0, StatusCode::OK);
    // 2000 invalid tokens: none is stored, the valid entry stays.
    let other = TestKey::generate("ins_cache");
    let forged = other.session_token("user_x").sign();
    for i in 0..2000 {
        let t = if i % 2 == 0 {
            forged.clone()
        } else {
            format!("garbage.{i}.x")
        };
        assert_eq!(call(&app, &t).await.0, StatusCode::UNAUTHORIZED);
    }
    assert_eq!(token_cache_len(&config), 1);
    // 300 distinct valid tokens: all pass, the cache never exceeds its capacity.
    for i in 0..300 {
        let t = key.session_token(format!("user_{i}")).sign();
        assert_eq!(call(&app, &t).await.0, StatusCode::OK);
        assert!(token_cache_len(&config) <= 50);
    }
}

#[actix_web::test]
async fn the_cache_can_be_switched_off() {
    let key = TestKey::generate("ins_cache");
    let config = ClerkConfig::builder()
        .jwt_key(key.public_pem())
        .disable_token_cache()
        .build()
        .expect("config");
    let app = app(config.clone()).await;
    let token = key.session_token("user_1").sign();
    for _ in 0..3 {
        assert_eq!(call(&app, &token).await.0, StatusCode::OK);
    }
    assert_eq!(token_cache_len(&config), 0);
}

fn token_cache_len(config: &ClerkConfig) -> usize {
    config.stats().token_cache.map_or(0, |c| c.entries)
}
