//! Clerk's standalone calls (`ClerkConfig::verify_token`, `authenticate_request`,
//! `authenticate_headers`, `ClerkConfig::accepting`): decided as the middlewares decide.
//!
//! - Every token is decided by the standalone call and by the middleware on the same request
//!   (strict for `verify_token`: status, body, challenge and `x-clerk-auth-*` against the
//!   returned `ClerkError`; lax for `authenticate_request`: the auth object and its reason),
//!   each on a configuration of its own so that no cache answers for the other.
//! - The caches: a token verified once (by either) is not verified again — the token cache's
//!   counters move, the JWKS and verify endpoints of the Backend API stand-in are not called.
//! - Machine tokens accepted and refused by kind, through the stand-in's verify endpoints.
//! - The `websocket` example, started as a process: a valid token in the query or the session
//!   cookies gets the echo, an invalid or missing one `401` before the upgrade.

mod support;

use actix_clerk::testing::{
    Malformed, Outage, TestBackendApi, TestInstance, TestKey, TestRequestExt as _, VerifyEndpoint,
};
use actix_clerk::{
    Accepts, Auth, Authenticated, ClerkConfig, ClerkConfigBuilder, ClerkError, ClerkRequireAuth,
    ClerkWithAuth, ConfigError, Reason, TokenKind,
};
use actix_web::http::header::{self, HeaderMap};
use actix_web::http::StatusCode;
use actix_web::test::{self, TestRequest};
use actix_web::{web, App, HttpRequest, ResponseError as _};
use serde_json::{json, Value};

// ---------------------------------------------------------------------------------------------
// What a request was answered, by a middleware or from a standalone call's outcome
// ---------------------------------------------------------------------------------------------

#[derive(Debug, PartialEq)]
struct Answer {
    status: u16,
    body: Value,
    challenge: Option<String>,
    retry_after: Option<String>,
}

fn header_text(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get(name)
        .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned())
}

fn body_json(bytes: &[u8]) -> Value {
    if bytes.is_empty() {
        return Value::Null;
    }
    serde_json::from_slice(bytes)
        .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(bytes).into_owned()))
}

/// The middleware's answer, and its `x-clerk-auth-reason`/`-message` headers.
struct Decided {
    answer: Answer,
    reason: Option<String>,
    message: Option<String>,
}

async fn me(auth: Auth) -> web::Json<Auth> {
    web::Json(auth)
}

/// `req` through the strict (`strict = true`) or lax middleware, accepting `accepts`; the
/// handler answers the auth object.
async fn through_middleware(
    clerk: &ClerkConfig,
    accepts: Option<&Accepts>,
    strict: bool,
    req: TestRequest,
) -> Decided {
    let res = if strict {
        let mut mw = ClerkRequireAuth::new(clerk.clone());
        if let Some(a) = accepts {
            mw = mw.accepts(a.clone()).expect("the middleware accepts them");
        }
        let app = test::init_service(App::new().wrap(mw).default_service(web::to(me))).await;
        test::call_service(&app, req.to_request()).await
    } else {
        let mut mw = ClerkWithAuth::new(clerk.clone());
        if let Some(a) = accepts {
            mw = mw.accepts(a.clone()).expect("the middleware accepts them");
        }
        let app = test::init_service(App::new().wrap(mw).default_service(web::to(me))).await;
        test::call_service(&app, req.to_request()).await
    };
    let headers = res.headers().clone();
    let status = res.status().as_u16();
    let body = test::read_body(res).await;
    Decided {
        answer: Answer {
            status,
            body: body_json(&body),
            challenge: header_text(&headers, "www-authenticate"),
            retry_after: header_text(&headers, "retry-after"),
        },
        reason: header_text(&headers, "x-clerk-auth-reason"),
        message: header_text(&headers, "x-clerk-auth-message"),
    }
}

/// What the strict middleware answers for a `verify_token` outcome.
async fn answer_of(outcome: &Result<Auth, ClerkError>) -> Answer {
    match outcome {
        Ok(auth) => Answer {
            status: 200,
            body: serde_json::to_value(auth).expect("auth JSON"),
            challenge: None,
            retry_after: None,
        },
        Err(err) => {
            let res = err.error_response();
            let headers = res.headers().clone();
            let status = res.status().as_u16();
            let body = actix_web::body::to_bytes(res.into_body())
                .await
                .unwrap_or_default();
            Answer {
                status,
                body: body_json(&body),
                challenge: header_text(&headers, "www-authenticate"),
                retry_after: header_text(&headers, "retry-after"),
            }
        }
    }
}

/// `token` decided by `verify` (a standalone call) and by the strict middleware with the
/// token in an `Authorization` header of a `GET`, each on a fresh configuration from `cfg`:
/// the same answer, and the error's reason and message are the `x-clerk-auth-*` headers'.
async fn compare_with_strict<F, Fut>(
    case: &str,
    cfg: &dyn Fn() -> ClerkConfig,
    accepts: Option<&Accepts>,
    token: &str,
    verify: F,
) -> Result<Auth, ClerkError>
where
    F: FnOnce(ClerkConfig) -> Fut,
    Fut: std::future::Future<Output = Result<Auth, ClerkError>>,
{
    let outcome = verify(cfg()).await;
    let req = TestRequest::get().uri("/ws").bearer_token(token);
    let mw = through_middleware(&cfg(), accepts, true, req).await;
    assert_eq!(
        answer_of(&outcome).await,
        mw.answer,
        "{case}: answers differ"
    );
    if let Err(err) = &outcome {
        if let Some(reason) = &mw.reason {
            assert_eq!(
                err.reason().map(Reason::as_str),
                Some(reason.as_str()),
                "{case}"
            );
        }
        assert_eq!(
            err.message(),
            mw.message.as_deref().unwrap_or_default(),
            "{case}: messages differ"
        );
    }
    outcome
}

fn reason_of(outcome: &Result<Auth, ClerkError>) -> Option<Reason> {
    match outcome {
        Ok(_) => None,
        Err(e) => e.reason(),
    }
}

// ---------------------------------------------------------------------------------------------
// verify_token: session tokens
// ---------------------------------------------------------------------------------------------

/// A machine JWT (an M2M token's form), signed by the instance's key.
fn m2m_jwt(key: &TestKey) -> String {
    let now = support::now_secs();
    key.sign(
        &key.header(),
        &json!({"sub": "mch_1", "iat": now, "exp": now + 60, "jti": "mt_jwt"}),
    )
}

#[actix_web::test]
async fn verify_token_decides_as_the_strict_middleware() {
    let instance = TestInstance::new();
    let cfg = || {
        instance
            .config()
            .authorized_parties(["https://app.example.com"])
            .build()
            .expect("configuration")
    };
    let t = |user: &str| instance.session_token(user);
    let cases: Vec<(&str, String, Option<Reason>)> = vec![
        ("valid", t("user_1").sign(), None),
        (
            "org admin",
            t("user_2").org("org_1", "acme", "admin").sign(),
            None,
        ),
        (
            "expired",
            t("user_1").expired().sign(),
            Some(Reason::SessionTokenExpiredNoRefreshCookie),
        ),
        (
            "not yet valid",
            t("user_1").not_yet_valid().sign(),
            Some(Reason::SessionTokenNbf),
        ),
        (
            "issued in the future",
            t("user_1").issued_in_the_future().sign(),
            Some(Reason::SessionTokenIatInTheFuture),
        ),
        (
            "forged",
            t("user_1").forged().sign(),
            Some(Reason::TokenInvalidSignature),
        ),
        (
            "tampered",
            t("user_1").malformed(Malformed::TamperedPayload).sign(),
            Some(Reason::TokenInvalidSignature),
        ),
        (
            "no signature",
            t("user_1").malformed(Malformed::MissingSignature).sign(),
            Some(Reason::TokenInvalid),
        ),
        (
            "signature not base64url",
            t("user_1")
                .malformed(Malformed::SignatureNotBase64url)
                .sign(),
            Some(Reason::TokenInvalid),
        ),
        (
            "wrong alg",
            t("user_1").alg("HS256").sign(),
            Some(Reason::TokenInvalidAlgorithm),
        ),
        (
            "odd typ",
            t("user_1").typ("JOSE").sign(),
            Some(Reason::TokenInvalid),
        ),
        (
            "OAuth typ",
            t("user_1").typ("at+jwt").sign(),
            Some(Reason::TokenTypeMismatch),
        ),
        (
            "foreign azp",
            t("user_1").azp("https://evil.example").sign(),
            Some(Reason::TokenInvalidAuthorizedParties),
        ),
        (
            "no sub",
            t("user_1").without_claim("sub").sign(),
            Some(Reason::TokenVerificationFailed),
        ),
        (
            "pending session",
            t("user_1").pending().sign(),
            Some(Reason::SessionPending),
        ),
        (
            "machine JWT",
            m2m_jwt(&instance.key()),
            Some(Reason::TokenTypeMismatch),
        ),
        (
            "API key",
            "ak_0123456789".to_owned(),
            Some(Reason::TokenInvalid),
        ),
        (
            "not a token",
            "hello".to_owned(),
            Some(Reason::TokenInvalid),
        ),
    ];
    for (case, token, reason) in &cases {
        let outcome = compare_with_strict(case, &cfg, None, token, |clerk| async move {
            clerk.verify_token(token).await
        })
        .await;
        assert_eq!(reason_of(&outcome), *reason, "{case}: {outcome:?}");
    }
    // The signed-in outcome is the token's session.
    let token = t("user_3").org("org_9", "nine", "member").sign();
    let auth = cfg().verify_token(&token).await.expect("signed in");
    assert_eq!(
        (auth.user_id(), auth.org_id(), auth.org_role()),
        (Some("user_3"), Some("org_9"), Some("org:member"))
    );
    println!("{} tokens decided alike", cases.len());
}

#[actix_web::test]
async fn verify_token_outage_is_the_strict_middlewares_503() {
    let instance = TestInstance::new();
    let backend = TestBackendApi::start(&instance);
    backend.set_outage(Some(Outage::Status(503)));
    let cfg = || backend.config().build().expect("configuration");
    let token = instance.session_token("user_1").sign();
    let t = &token;
    let outcome = compare_with_strict("outage", &cfg, None, t, |clerk| async move {
        clerk.verify_token(t).await
    })
    .await;
    let Err(ClerkError::KeysUnavailable { reason, .. }) = &outcome else {
        panic!("expected KeysUnavailable: {outcome:?}");
    };
    assert_eq!(*reason, Reason::RemoteJwkFailedToLoad);
    assert_eq!(answer_of(&outcome).await.status, 503);

    // authenticate_request reports it signed out; the strict outcome is the same 503 error.
    let req = TestRequest::get().bearer_token(&token).to_http_request();
    let auth = cfg().authenticate_request(&req).await;
    assert_eq!(auth.reason(), Some(Reason::RemoteJwkFailedToLoad));
    assert!(matches!(
        Authenticated::try_from(auth),
        Err(ClerkError::KeysUnavailable { .. })
    ));
}

// ---------------------------------------------------------------------------------------------
// The caches are the middlewares'
// ---------------------------------------------------------------------------------------------

fn cache_counts(clerk: &ClerkConfig) -> (u64, u64) {
    let c = clerk.stats().token_cache.expect("the token cache is on");
    (c.hits, c.misses)
}

#[actix_web::test]
async fn the_verified_token_cache_is_shared_with_the_middlewares() {
    let instance = TestInstance::new();
    let backend = TestBackendApi::start(&instance);
    let clerk = backend.config().build().expect("configuration");

    // First verification: the JWKS is fetched once, the token verified (a miss).
    let token = instance.session_token("user_1").sign();
    assert_eq!(
        clerk
            .verify_token(&token)
            .await
            .expect("signed in")
            .user_id(),
        Some("user_1")
    );
    assert_eq!(backend.jwks_hits(), 1);
    assert_eq!(cache_counts(&clerk), (0, 1));

    // Again: answered by the cache, the stand-in is not called.
    for _ in 0..3 {
        assert!(clerk.verify_token(&token).await.is_ok());
    }
    assert_eq!(cache_counts(&clerk), (3, 1));
    assert_eq!(backend.jwks_hits(), 1);

    // The middleware on the same configuration finds it there too.
    let app = test::init_service(
        App::new()
            .wrap(ClerkRequireAuth::new(clerk.clone()))
            .default_service(web::to(me)),
    )
    .await;
    let req = TestRequest::get().bearer_token(&token).to_request();
    assert_eq!(test::call_service(&app, req).await.status(), StatusCode::OK);
    assert_eq!(cache_counts(&clerk), (4, 1));

    // And the other way round: a token the middleware verified is a hit for the calls.
    let other = instance.session_token("user_2").sign();
    let req = TestRequest::get().bearer_token(&other).to_request();
    assert_eq!(test::call_service(&app, req).await.status(), StatusCode::OK);
    assert_eq!(cache_counts(&clerk), (4, 2));
    assert!(clerk.verify_token(&other).await.is_ok());
    let req = TestRequest::get().bearer_token(&other).to_http_request();
    assert_eq!(
        clerk.authenticate_request(&req).await.user_id(),
        Some("user_2")
    );
    let headers = [("authorization", format!("Bearer {other}"))];
    let auth = clerk.authenticate_headers("GET", "/", headers).await;
    assert_eq!(auth.user_id(), Some("user_2"));
    assert_eq!(cache_counts(&clerk), (7, 2));
    assert_eq!(backend.jwks_hits(), 1);
}

#[actix_web::test]
async fn a_request_the_middleware_decided_is_not_decided_again() {
    let instance = TestInstance::new();
    let clerk = instance.config().build().expect("configuration");
    let token = instance.session_token("user_1").sign();
    let handler_clerk = clerk.clone();
    let app = test::init_service(
        App::new()
            .wrap(ClerkWithAuth::new(clerk.clone()))
            .default_service(web::to(move |req: HttpRequest| {
                let clerk = handler_clerk.clone();
                async move {
                    let before = cache_counts(&clerk);
                    let auth = clerk.authenticate_request(&req).await;
                    let after = cache_counts(&clerk);
                    format!("{:?} {}", auth.user_id(), before == after)
                }
            })),
    )
    .await;
    let req = TestRequest::get().bearer_token(&token).to_request();
    assert_eq!(
        test::call_and_read_body(&app, req).await,
        "Some(\"user_1\") true"
    );
}

#[actix_web::test]
async fn the_machine_token_cache_is_shared_with_the_middlewares() {
    let instance = TestInstance::new();
    let backend = TestBackendApi::start(&instance);
    let clerk = backend.config().build().expect("configuration");
    let keys = clerk
        .accepting(Accepts::Kind(TokenKind::ApiKey))
        .expect("the secret key verifies API keys");
    let key = backend.api_key("user_1").issue();
    for _ in 0..3 {
        let auth = keys.verify_token(&key).await.expect("signed in");
        assert_eq!(auth.user_id(), Some("user_1"));
    }
    assert_eq!(backend.verify_hits(VerifyEndpoint::ApiKeys), 1);

    let app = test::init_service(
        App::new()
            .wrap(
                ClerkRequireAuth::new(clerk.clone())
                    .accepts(Accepts::Kind(TokenKind::ApiKey))
                    .expect("accepts"),
            )
            .default_service(web::to(me)),
    )
    .await;
    let req = TestRequest::get().bearer_token(&key).to_request();
    assert_eq!(test::call_service(&app, req).await.status(), StatusCode::OK);
    let req = TestRequest::post().bearer_token(&key).to_http_request();
    assert_eq!(
        keys.authenticate_request(&req).await.user_id(),
        Some("user_1")
    );
    assert_eq!(backend.verify_hits(VerifyEndpoint::ApiKeys), 1);
    assert_eq!(clerk.stats().machine_token_verifications, 1);
}

// ---------------------------------------------------------------------------------------------
// Machine tokens by kind
// ---------------------------------------------------------------------------------------------

#[actix_web::test]
async fn machine_tokens_are_accepted_and_refused_by_kind() {
    let instance = TestInstance::new();
    let backend = TestBackendApi::start(&instance);
    let builder =
        || -> ClerkConfigBuilder { backend.config().machine_token_verify_limits(64, 1_000) };
    let cfg = || builder().build().expect("configuration");
    use TokenKind::*;
    let settings = [
        Accepts::Kind(ApiKey),
        Accepts::Kind(M2mToken),
        Accepts::Kind(OauthToken),
        Accepts::List(vec![SessionToken, ApiKey]),
        Accepts::Any,
    ];
    let mut decided = 0;
    for accepts in &settings {
        // Fresh tokens for every setting: no cache answers for another setting's decision.
        let revoked = backend.api_key("user_9").issue();
        backend.revoke(&revoked);
        let tokens: Vec<(&str, String, Option<TokenKind>)> = vec![
            ("api key", backend.api_key("user_1").issue(), Some(ApiKey)),
            (
                "org api key",
                backend.api_key("org_1").issue(),
                Some(ApiKey),
            ),
            ("m2m", backend.m2m_token("mch_1").issue(), Some(M2mToken)),
            (
                "oauth",
                backend.oauth_token("user_2").issue(),
                Some(OauthToken),
            ),
            (
                "session",
                instance.session_token("user_3").sign(),
                Some(SessionToken),
            ),
            ("m2m jwt", m2m_jwt(&instance.key()), Some(M2mToken)),
            ("revoked api key", revoked, None),
            ("unknown api key", "ak_unknown_0001".to_owned(), None),
            ("unknown m2m", "mt_unknown_0001".to_owned(), None),
        ];
        for (case, token, kind) in &tokens {
            let case = format!("{accepts:?} / {case}");
            let outcome = compare_with_strict(&case, &cfg, Some(accepts), token, |clerk| {
                let accepts = accepts.clone();
                async move {
                    let verifier = clerk.accepting(accepts).expect("verifiable");
                    verifier.verify_token(token).await
                }
            })
            .await;
            let expected_in = kind.is_some_and(|k| accepts.accepts(k));
            assert_eq!(outcome.is_ok(), expected_in, "{case}: {outcome:?}");
            if let Ok(auth) = &outcome {
                assert_eq!(auth.token_kind(), *kind, "{case}");
            }
            if kind.is_some_and(|k| !accepts.accepts(k)) {
                assert_eq!(
                    reason_of(&outcome),
                    Some(Reason::TokenTypeMismatch),
                    "{case}"
                );
            }
            decided += 1;
        }
    }
    println!("{decided} machine-token cases decided alike");
}

#[actix_web::test]
async fn accepting_refuses_kinds_the_configuration_cannot_verify() {
    let instance = TestInstance::new();
    let clerk = ClerkConfig::builder()
        .jwt_key(instance.public_pem())
        .build()
        .expect("configuration");
    for kind in [
        TokenKind::ApiKey,
        TokenKind::M2mToken,
        TokenKind::OauthToken,
    ] {
        let refused = clerk.accepting(Accepts::Kind(kind));
        assert!(matches!(refused, Err(ConfigError::CannotVerify(k)) if k == kind));
    }
    assert!(clerk.accepting(Accepts::Any).is_err());
    let sessions = clerk
        .accepting(Accepts::Kind(TokenKind::SessionToken))
        .expect("sessions need no secret key");
    assert_eq!(sessions.accepts(), &Accepts::Kind(TokenKind::SessionToken));
    let token = instance.session_token("user_1").sign();
    assert!(sessions.verify_token(&token).await.is_ok());
}

// ---------------------------------------------------------------------------------------------
// authenticate_request / authenticate_headers against the lax middleware
// ---------------------------------------------------------------------------------------------

#[actix_web::test]
async fn authenticate_request_decides_as_the_lax_middleware() {
    let instance = TestInstance::new();
    let cfg = || instance.config().build().expect("configuration");
    let valid = instance.session_token("user_1").sign();
    let expired = instance.session_token("user_1").expired().sign();
    let page = |req: TestRequest| {
        req.insert_header((header::ACCEPT, "text/html"))
            .insert_header(("sec-fetch-dest", "document"))
    };
    type MakeRequest<'a> = Box<dyn Fn() -> TestRequest + 'a>;
    let cases: Vec<(&str, MakeRequest<'_>, Option<Reason>)> = vec![
        (
            "bearer",
            Box::new(|| TestRequest::get().bearer_token(&valid)),
            None,
        ),
        (
            "cookies",
            Box::new(|| TestRequest::get().session_cookies(&instance, &valid)),
            None,
        ),
        (
            "suffixed cookies",
            Box::new(|| TestRequest::get().suffixed_session_cookies(&instance, &valid)),
            None,
        ),
        (
            "cookies on a POST",
            Box::new(|| TestRequest::post().session_cookies(&instance, &valid)),
            None,
        ),
        (
            "nothing",
            Box::new(TestRequest::get),
            Some(Reason::SessionTokenAndUatMissing),
        ),
        (
            "session cookie without client_uat",
            Box::new(|| {
                TestRequest::get().insert_header((header::COOKIE, format!("__session={valid}")))
            }),
            Some(Reason::SessionTokenWithoutClientUat),
        ),
        (
            "client_uat without session",
            Box::new(|| {
                TestRequest::get().insert_header((header::COOKIE, "__client_uat=1700000000"))
            }),
            Some(Reason::ClientUatWithoutSessionToken),
        ),
        (
            "expired bearer",
            Box::new(|| TestRequest::get().bearer_token(&expired)),
            Some(Reason::SessionTokenExpiredNoRefreshCookie),
        ),
        (
            "expired bearer, POST",
            Box::new(|| TestRequest::post().bearer_token(&expired)),
            Some(Reason::SessionTokenExpiredNonGet),
        ),
        (
            "the header wins over the cookies",
            Box::new(|| {
                TestRequest::get()
                    .session_cookies(&instance, &valid)
                    .bearer_token("not-a-token")
            }),
            Some(Reason::TokenInvalid),
        ),
        (
            "two Authorization lines",
            Box::new(|| {
                TestRequest::get()
                    .append_header((header::AUTHORIZATION, format!("Bearer {valid}")))
                    .append_header((header::AUTHORIZATION, format!("Bearer {valid}")))
            }),
            Some(Reason::TokenInvalid),
        ),
        (
            "expired cookie on a fetch",
            Box::new(|| TestRequest::get().session_cookies(&instance, &expired)),
            Some(Reason::SessionTokenExpiredNoRefreshCookie),
        ),
        // The middleware answers a page navigation with an expired cookie with a 307 to
        // Clerk's handshake; the standalone call decides it as an API request.
        (
            "expired cookie on a page navigation",
            Box::new(|| {
                page(
                    TestRequest::get()
                        .uri("/page?x=1")
                        .session_cookies(&instance, &expired),
                )
            }),
            Some(Reason::SessionTokenExpiredNoRefreshCookie),
        ),
    ];
    for (case, req, reason) in &cases {
        let standalone = cfg().authenticate_request(&req().to_http_request()).await;
        assert_eq!(standalone.reason(), *reason, "{case}: {standalone:?}");

        // The same request by its parts, as a caller outside actix-web has it.
        let http = req().to_http_request();
        let by_parts = cfg()
            .authenticate_headers(
                http.method().as_str(),
                &http.uri().to_string(),
                http.headers().iter(),
            )
            .await;
        let json = serde_json::to_value(&standalone).expect("auth JSON");
        assert_eq!(
            serde_json::to_value(&by_parts).expect("auth JSON"),
            json,
            "{case}"
        );
        assert_eq!(by_parts.reason(), standalone.reason(), "{case}");
        assert_eq!(by_parts.message(), standalone.message(), "{case}");

        let mw = through_middleware(&cfg(), None, false, req()).await;
        assert_eq!(
            mw.reason.as_deref(),
            standalone.reason().map(Reason::as_str),
            "{case}"
        );
        assert_eq!(
            mw.message.as_deref().unwrap_or_default(),
            standalone.message(),
            "{case}"
        );
        if case.contains("page navigation") {
            assert_eq!(mw.answer.status, 307, "{case}: the middleware redirects");
        } else {
            assert_eq!(mw.answer.status, 200, "{case}");
            assert_eq!(mw.answer.body, json, "{case}: auth objects differ");
        }
    }
    println!("{} requests decided alike", cases.len());
}

#[actix_web::test]
async fn authenticate_request_accepting_machine_tokens() {
    let instance = TestInstance::new();
    let backend = TestBackendApi::start(&instance);
    let clerk = backend.config().build().expect("configuration");
    let any = clerk.accepting(Accepts::Any).expect("verifiable");
    let keys_only = clerk
        .accepting(Accepts::Kind(TokenKind::ApiKey))
        .expect("verifiable");
    let key = backend.api_key("user_1").issue();
    let session = instance.session_token("user_2").sign();

    let req = TestRequest::post().bearer_token(&key).to_http_request();
    let auth = any.authenticate_request(&req).await;
    assert_eq!(
        (auth.token_kind(), auth.user_id()),
        (Some(TokenKind::ApiKey), Some("user_1"))
    );

    // Sessions still decided by their rules (cookies included) where they are accepted.
    let req = TestRequest::get()
        .session_cookies(&instance, &session)
        .to_http_request();
    assert_eq!(
        any.authenticate_request(&req).await.user_id(),
        Some("user_2")
    );
    let auth = keys_only.authenticate_request(&req).await;
    assert_eq!(auth.reason(), Some(Reason::NoTokenInHeader));

    // A machine token is read from the Authorization header only, never from a cookie.
    let req = TestRequest::get()
        .insert_header((header::COOKIE, format!("__session={key}; __client_uat=1")))
        .to_http_request();
    assert!(!keys_only.authenticate_request(&req).await.is_signed_in());

    // gRPC-style metadata: header names in any case, lines that are not HTTP left out.
    let headers = vec![
        ("Authorization".to_owned(), format!("Bearer {key}")),
        ("bad header name".to_owned(), "x".to_owned()),
        ("x-bad-value".to_owned(), "a\nb".to_owned()),
    ];
    let auth = keys_only
        .authenticate_headers("POST", "https://api.example.com/svc.Jobs/Run", headers)
        .await;
    assert_eq!(auth.user_id(), Some("user_1"));
    let auth = keys_only
        .authenticate_headers(
            "POST",
            "not a uri at all",
            [("authorization", "Bearer ak_nope")],
        )
        .await;
    assert_eq!(auth.reason(), Some(Reason::TokenInvalid));
    assert_eq!(auth.token_kind(), Some(TokenKind::ApiKey));
}

// ---------------------------------------------------------------------------------------------
// The websocket example
// ---------------------------------------------------------------------------------------------

mod websocket {
    use super::*;
    use futures_util::{SinkExt as _, StreamExt as _};

    /// Connects to the example's `/ws` (`query` appended) with `headers`, sends `hello` and
    /// reads the echo; `Err(status)` when the upgrade is refused.
    async fn echo(base: &str, query: &str, headers: &[(&str, String)]) -> Result<String, u16> {
        let url = format!("{}/ws{query}", base.replacen("http://", "ws://", 1));
        let mut req = awc::Client::new().ws(url);
        for (name, value) in headers {
            req = req.header(*name, value.clone());
        }
        let (_, mut conn) = match req.connect().await {
            Ok(c) => c,
            Err(awc::error::WsClientError::InvalidResponseStatus(status)) => {
                return Err(status.as_u16())
            }
            Err(e) => panic!("connect: {e}"),
        };
        conn.send(awc::ws::Message::Text("hello".into()))
            .await
            .expect("send");
        loop {
            match conn.next().await.expect("a frame").expect("a valid frame") {
                awc::ws::Frame::Text(text) => {
                    let _ = conn.send(awc::ws::Message::Close(None)).await;
                    return Ok(String::from_utf8_lossy(&text).into_owned());
                }
                awc::ws::Frame::Ping(_) | awc::ws::Frame::Pong(_) => continue,
                other => panic!("unexpected frame {other:?}"),
            }
        }
    }

    #[actix_web::test]
    async fn the_websocket_example_authenticates_its_upgrade() {
        let instance = TestInstance::new();
        let pem = instance.public_pem();
        let server = support::ExampleServer::start(
            &support::example_binary("websocket"),
            &[
                ("CLERK_JWT_KEY", pem.as_str()),
                ("CLERK_PUBLISHABLE_KEY", instance.publishable_key()),
            ],
        );
        let base = &server.base;
        let token = instance.session_token("user_1").sign();

        // The token in the query string (a browser's WebSocket).
        assert_eq!(
            echo(base, &format!("?token={token}"), &[]).await,
            Ok("user_1: hello".into())
        );
        // The session cookies of a same-site page.
        let cookies = TestRequest::get()
            .session_cookies(&instance, &token)
            .to_http_request();
        let cookie = cookies.headers().get(header::COOKIE).expect("cookie");
        let cookie = cookie.to_str().expect("ascii").to_owned();
        assert_eq!(
            echo(base, "", &[("cookie", cookie)]).await,
            Ok("user_1: hello".into())
        );
        // An Authorization header (a non-browser client).
        let bearer = format!("Bearer {}", instance.session_token("user_2").sign());
        assert_eq!(
            echo(base, "", &[("authorization", bearer)]).await,
            Ok("user_2: hello".into())
        );

        // Refused before the upgrade.
        let forged = instance.session_token("user_1").forged().sign();
        assert_eq!(echo(base, &format!("?token={forged}"), &[]).await, Err(401));
        let expired = instance.session_token("user_1").expired().sign();
        assert_eq!(
            echo(base, &format!("?token={expired}"), &[]).await,
            Err(401)
        );
        assert_eq!(echo(base, "?token=", &[]).await, Err(401));
        assert_eq!(echo(base, "", &[]).await, Err(401));

        // The refusal is the strict middleware's answer: a challenge and Clerk's reason.
        let res = awc::Client::new()
            .get(format!("{base}/ws?token={forged}"))
            .insert_header(("connection", "upgrade"))
            .insert_header(("upgrade", "websocket"))
            .insert_header(("sec-websocket-version", "13"))
            .insert_header(("sec-websocket-key", "dGhlIHNhbXBsZSBub25jZQ=="))
            .send()
            .await;
        let mut res = res.expect("an answer");
        assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
        assert_eq!(
            res.headers()
                .get("www-authenticate")
                .and_then(|v| v.to_str().ok()),
            Some("Bearer error=\"invalid_token\"")
        );
        let body: Value = res.json().await.expect("JSON body");
        assert_eq!(body["reason"], "token-invalid-signature");
    }
}

// The futures a multi-threaded runtime awaits directly are `Send` (checked at compile time).
#[allow(dead_code)]
fn futures_are_send(clerk: actix_clerk::ClerkConfig, verifier: actix_clerk::ClerkVerifier) {
    fn assert_send<T: Send>(_: T) {}
    assert_send(clerk.verify_token("x"));
    assert_send(clerk.authenticate_headers("GET", "/", [("authorization", "Bearer x")]));
    assert_send(verifier.verify_token("x"));
    assert_send(verifier.authenticate_headers("GET", "/", [("authorization", "Bearer x")]));
}

// ...and run on a multi-threaded runtime, in spawned tasks, with JWKS fetches through the
// Backend API stand-in.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn verify_token_runs_in_tasks_of_a_multi_threaded_runtime() {
    let instance = actix_clerk::testing::TestInstance::new();
    let backend = actix_clerk::testing::TestBackendApi::start(&instance);
    let clerk = backend.config().build().expect("config");
    let mut tasks = Vec::new();
    for i in 0..8 {
        let clerk = clerk.clone();
        let token = instance.session_token(format!("user_{i}")).sign();
        tasks.push(tokio::spawn(
            async move { clerk.verify_token(&token).await },
        ));
    }
    for (i, t) in tasks.into_iter().enumerate() {
        let auth = t.await.expect("task").expect("signed in");
        assert_eq!(auth.user_id(), Some(format!("user_{i}").as_str()));
    }
    assert_eq!(backend.jwks_hits(), 1, "one key fetch for every task");
}
