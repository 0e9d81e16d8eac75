mod support;

// What the middleware answers besides the decision itself, through real actix apps: the
// headers an `on_error` hook's response keeps, `x-clerk-auth-*` on failed inner services,
// `ClerkConfig::stats()` against a real local JWKS server, the key-set generation a refresh
// keeps or changes, and the cached-token fast path's limits.

use std::time::Duration;

use actix_clerk::testing::{JwksMode, TestBackendApi, TestKey};
use actix_clerk::{Auth, ClerkConfig, ClerkRequireAuth, ClerkWithAuth};
use actix_web::dev::Service as _;
use actix_web::http::header::{self, HeaderValue};
use actix_web::http::StatusCode;
use actix_web::{test, web, App, HttpResponse};
use support::closed_port_url;

async fn me(auth: Auth) -> String {
    auth.user_id().unwrap_or("-").to_owned()
}

fn pem_config(key: &TestKey) -> ClerkConfig {
    ClerkConfig::builder()
        .jwt_key(key.public_pem())
        .build()
        .expect("config")
}

fn header(
    res: &actix_web::dev::ServiceResponse<impl actix_web::body::MessageBody>,
    name: &str,
) -> Option<String> {
    res.headers()
        .get(name)
        .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned())
}

#[actix_web::test]
async fn an_on_error_401_keeps_the_bearer_challenge_unless_it_sets_its_own() {
    let key = TestKey::generate("ins_obs");
    let config = pem_config(&key);
    let app = test::init_service(
        App::new()
            .service(
                web::scope("/plain")
                    .wrap(
                        ClerkRequireAuth::new(config.clone())
                            .on_error(|_, _| HttpResponse::Unauthorized().body("Unauthenticated!")),
                    )
                    .route("/me", web::get().to(me)),
            )
            .service(
                web::scope("/own")
                    .wrap(ClerkRequireAuth::new(config.clone()).on_error(|_, _| {
                        HttpResponse::Unauthorized()
                            .insert_header((header::WWW_AUTHENTICATE, "Custom realm=\"x\""))
                            .finish()
                    }))
                    .route("/me", web::get().to(me)),
            )
            .service(
                web::scope("/teapot")
                    .wrap(
                        ClerkRequireAuth::new(config.clone())
                            .on_error(|_, _| HttpResponse::ImATeapot().finish()),
                    )
                    .route("/me", web::get().to(me)),
            ),
    )
    .await;
    let bad = format!(
        "Bearer {}",
        TestKey::generate("ins_obs").session_token("user_x").sign()
    );
    let cases = [
        ("/plain/me", None, Some("Bearer")),
        (
            "/plain/me",
            Some(bad.as_str()),
            Some("Bearer error=\"invalid_token\""),
        ),
        ("/own/me", Some(bad.as_str()), Some("Custom realm=\"x\"")),
        ("/teapot/me", Some(bad.as_str()), None),
    ];
    for (path, auth, challenge) in cases {
        let mut req = test::TestRequest::get().uri(path);
        if let Some(a) = auth {
            req = req.insert_header((header::AUTHORIZATION, a));
        }
        let res = test::call_service(&app, req.to_request()).await;
        assert_eq!(
            header(&res, "www-authenticate").as_deref(),
            challenge,
            "{path} {auth:?}"
        );
        assert_eq!(
            header(&res, "x-clerk-auth-status").as_deref(),
            Some("signed-out")
        );
    }
}

#[actix_web::test]
async fn an_on_error_503_keeps_retry_after() {
    let config = ClerkConfig::builder()
        .secret_key("sk_test_obs")
        .api_url(closed_port_url())
        .jwks_fetch_timeout(Duration::from_millis(300))
        .build()
        .expect("config");
    let app = test::init_service(
        App::new()
            .wrap(
                ClerkRequireAuth::new(config)
                    .on_error(|_, _| HttpResponse::ServiceUnavailable().body("later")),
            )
            .route("/me", web::get().to(me)),
    )
    .await;
    let token = TestKey::generate("ins_obs").session_token("user_1").sign();
    let req = test::TestRequest::get()
        .uri("/me")
        .insert_header((header::AUTHORIZATION, format!("Bearer {token}")))
        .to_request();
    let res = test::call_service(&app, req).await;
    assert_eq!(res.status(), StatusCode::SERVICE_UNAVAILABLE);
    let retry: u64 = header(&res, "retry-after")
        .and_then(|v| v.parse().ok())
        .expect("Retry-After in seconds");
    assert!(retry >= 1);
    // The connection error's own text stays in the logs: clients see Clerk's text and the URL.
    let message = header(&res, "x-clerk-auth-message").expect("message");
    assert!(
        message.starts_with("Error loading Clerk JWKS from http://127.0.0.1:"),
        "{message}"
    );
    assert!(!message.to_lowercase().contains("refused"), "{message}");
    assert!(!message.to_lowercase().contains("connect"), "{message}");
}

#[actix_web::test]
async fn lax_signed_out_answers_carry_the_headers_when_an_inner_service_fails() {
    let key = TestKey::generate("ins_obs");
    let config = pem_config(&key);
    let app = test::init_service(
        App::new()
            .wrap_fn(|req, srv| {
                let fail = req.path() == "/fail";
                let fut = srv.call(req);
                async move {
                    if fail {
                        // an inner middleware's error (not a handler's: those come back as
                        // responses)
                        drop(fut);
                        return Err(actix_web::error::ErrorBadRequest("refused by policy"));
                    }
                    fut.await
                }
            })
            .wrap(ClerkWithAuth::new(config))
            .route("/fail", web::get().to(me))
            .route(
                "/handler-err",
                web::get().to(|| async {
                    Err::<String, _>(actix_web::error::ErrorConflict("handler said no"))
                }),
            ),
    )
    .await;
    for (path, status) in [
        ("/fail", StatusCode::BAD_REQUEST),
        ("/handler-err", StatusCode::CONFLICT),
    ] {
        let req = test::TestRequest::get().uri(path).to_request();
        // What the server sends: the response, or the error's response (as actix's dispatcher
        // makes it).
        let res = match test::try_call_service(&app, req).await {
            Ok(res) => res.into_parts().1.map_into_boxed_body(),
            Err(e) => e.error_response(),
        };
        let value = |name: &str| {
            res.headers()
                .get(name)
                .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned())
        };
        assert_eq!(res.status(), status, "{path}");
        assert_eq!(
            value("x-clerk-auth-status").as_deref(),
            Some("signed-out"),
            "{path}"
        );
        assert_eq!(
            value("x-clerk-auth-reason").as_deref(),
            Some("session-token-and-uat-missing"),
            "{path}"
        );
    }
}

#[actix_web::test]
async fn several_authorization_lines_are_refused_even_for_a_cached_token() {
    let key = TestKey::generate("ins_obs");
    let config = pem_config(&key);
    let app = test::init_service(
        App::new()
            .wrap(ClerkRequireAuth::new(config.clone()))
            .route("/me", web::get().to(me)),
    )
    .await;
    let bearer = format!("Bearer {}", key.session_token("user_1").sign());
    let one = test::TestRequest::get()
        .uri("/me")
        .insert_header((header::AUTHORIZATION, bearer.as_str()))
        .to_request();
    assert_eq!(test::call_service(&app, one).await.status(), StatusCode::OK);
    let mut two = test::TestRequest::get().uri("/me").to_request();
    for _ in 0..2 {
        two.headers_mut().append(
            header::AUTHORIZATION,
            HeaderValue::from_str(&bearer).expect("value"),
        );
    }
    let res = test::call_service(&app, two).await;
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(
        header(&res, "x-clerk-auth-reason").as_deref(),
        Some("token-invalid")
    );
    assert_eq!(
        header(&res, "x-clerk-auth-message").as_deref(),
        Some("Invalid JWT form. The header, payload, or signature could not be decoded. (reason=token-invalid, token-carrier=header)")
    );
    assert_eq!(
        header(&res, "www-authenticate").as_deref(),
        Some("Bearer error=\"invalid_token\"")
    );
}

/// The fast path reads raw header bytes: spaces and tabs around the value, and a bare token
/// without `Bearer`, are read as Clerk reads them; other schemes and bytes are not tokens.
#[actix_web::test]
async fn cached_tokens_are_found_in_every_form_clerk_accepts_and_no_other() {
    let key = TestKey::generate("ins_obs");
    let config = pem_config(&key);
    let app = test::init_service(
        App::new()
            .wrap(ClerkWithAuth::new(config.clone()))
            .route("/me", web::get().to(me)),
    )
    .await;
    let token = key.session_token("user_fast").sign();
    let call = |value: Vec<u8>| {
        let req = test::TestRequest::get()
            .uri("/me")
            .insert_header((
                header::AUTHORIZATION,
                HeaderValue::from_bytes(&value).expect("value"),
            ))
            .to_request();
        test::call_and_read_body(&app, req)
    };
    // first sight verifies, then every form below is a cache hit
    assert_eq!(
        call(format!("Bearer {token}").into_bytes()).await,
        "user_fast"
    );
    for value in [
        format!("Bearer {token}"),
        format!(" \tBearer {token}\t "),
        token.clone(),
        format!("Bearer {token} trailing"),
    ] {
        assert_eq!(call(value.into_bytes()).await, "user_fast");
    }
    for value in [
        format!("bearer {token}"),
        format!("Basic {token}"),
        format!("Bearer  {token}"),
        format!("Bearer {token}\u{e9}")
            .into_bytes()
            .iter()
            .map(|&b| b as char)
            .collect(),
    ] {
        assert_eq!(call(value.into_bytes()).await, "-");
    }
    let stats = config.stats().token_cache.expect("cache on");
    assert_eq!(stats.entries, 1);
    assert_eq!(stats.hits, 4, "{stats:?}");
}

#[actix_web::test]
async fn stats_count_fetches_failures_and_cache_use() {
    let key = TestKey::generate("ins_stats");
    let server = TestBackendApi::start_with(JwksMode::Keys(vec![key.jwk()]));
    let config = ClerkConfig::builder()
        .secret_key("sk_test_stats")
        .api_url(server.url())
        .build()
        .expect("config");
    let before = config.stats();
    assert_eq!(
        (before.jwks_fetches, before.jwks_keys, before.jwks_age),
        (0, 0, None)
    );
    let app = test::init_service(
        App::new()
            .wrap(ClerkRequireAuth::new(config.clone()))
            .route("/me", web::get().to(me)),
    )
    .await;
    let token = key.session_token("user_1").sign();
    for _ in 0..5 {
        let req = test::TestRequest::get()
            .uri("/me")
            .insert_header((header::AUTHORIZATION, format!("Bearer {token}")))
            .to_request();
        assert_eq!(test::call_service(&app, req).await.status(), StatusCode::OK);
    }
    let s = config.stats();
    assert_eq!(
        (s.jwks_fetches, s.jwks_fetch_failures, s.jwks_keys),
        (1, 0, 1)
    );
    assert!(!s.jwks_last_fetch_failed);
    assert!(s.jwks_age.is_some_and(|a| a < Duration::from_secs(60)));
    let c = s.token_cache.expect("cache on");
    assert_eq!((c.entries, c.evictions), (1, 0));
    assert!(c.hits >= 4 && c.misses >= 1, "{c:?}");
    assert!(c.estimated_bytes > 0);
    // a failed warm-up is counted and reported
    server.set_jwks(JwksMode::Status(500, "{}".into()));
    assert!(config.warm_up().await.is_err());
    let s = config.stats();
    assert_eq!((s.jwks_fetches, s.jwks_fetch_failures), (2, 1));
    assert!(s.jwks_last_fetch_failed);
    // a clone is the same configuration
    let c = config.clone().stats();
    assert_eq!(
        (c.jwks_fetches, c.token_cache),
        (s.jwks_fetches, s.token_cache)
    );
}

/// A refresh that returns the same keys keeps the verified tokens; a changed key set makes
/// them verify again.
#[actix_web::test]
async fn the_key_set_generation_follows_the_keys_not_the_refreshes() {
    let key = TestKey::generate("ins_gen");
    let server = TestBackendApi::start_with(JwksMode::Keys(vec![key.jwk()]));
    let config = ClerkConfig::builder()
        .secret_key("sk_test_gen")
        .api_url(server.url())
        .build()
        .expect("config");
    let app = test::init_service(
        App::new()
            .wrap(ClerkRequireAuth::new(config.clone()))
            .route("/me", web::get().to(me)),
    )
    .await;
    let token = key.session_token("user_1").sign();
    let call = || {
        let req = test::TestRequest::get()
            .uri("/me")
            .insert_header((header::AUTHORIZATION, format!("Bearer {token}")))
            .to_request();
        test::call_service(&app, req)
    };
    let misses = || config.stats().token_cache.expect("cache").misses;
    assert_eq!(call().await.status(), StatusCode::OK);
    assert_eq!(call().await.status(), StatusCode::OK);
    let after_first = misses();
    // the same keys again
    config.warm_up().await.expect("refetch");
    assert_eq!(server.jwks_hits(), 2);
    assert_eq!(call().await.status(), StatusCode::OK);
    assert_eq!(misses(), after_first, "same keys: still a cache hit");
    // another key joins the set: tokens are verified again (and still pass)
    let other = TestKey::generate("ins_gen_2");
    server.set_jwks(JwksMode::Keys(vec![key.jwk(), other.jwk()]));
    config.warm_up().await.expect("refetch");
    assert_eq!(call().await.status(), StatusCode::OK);
    assert_eq!(misses(), after_first + 1, "changed set: verified again");
    assert_eq!(call().await.status(), StatusCode::OK);
    assert_eq!(misses(), after_first + 1);
    // the key is gone: the cached token is not served
    server.set_jwks(JwksMode::Keys(vec![other.jwk()]));
    config.warm_up().await.expect("refetch");
    let res = call().await;
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
}

#[actix_web::test]
async fn debug_output_names_the_mode_and_hides_the_secret() {
    let config = ClerkConfig::builder()
        .secret_key("sk_test_hidden_value_123")
        .build()
        .expect("config");
    let lax = format!("{:?}", ClerkWithAuth::new(config.clone()));
    let strict = format!("{:?}", ClerkRequireAuth::new(config.clone()));
    assert!(lax.starts_with("ClerkWithAuth"), "{lax}");
    assert!(strict.starts_with("ClerkRequireAuth"), "{strict}");
    for text in [lax, strict, format!("{:?}", config.stats())] {
        assert!(!text.contains("hidden_value"), "{text}");
    }
}

// A hook answering 401 for an error that is not `Unauthenticated` (a key outage, a failed
// check) still carries RFC 6750's challenge (plain `Bearer`: no presented token was judged bad).
#[actix_web::test]
async fn an_on_error_401_for_an_outage_or_a_failed_check_keeps_the_challenge() {
    use actix_clerk::testing::TestInstance;
    use actix_clerk::Has;
    let hook = |_, _: &actix_web::HttpRequest| HttpResponse::Unauthorized().body("no");
    let outage = ClerkConfig::builder()
        .secret_key("sk_test_obs")
        .api_url(closed_port_url())
        .jwks_fetch_timeout(Duration::from_millis(300))
        .build()
        .expect("config");
    let instance = TestInstance::new();
    let app = test::init_service(
        App::new()
            .service(
                web::scope("/outage")
                    .wrap(ClerkRequireAuth::new(outage).on_error(hook))
                    .route("/me", web::get().to(me)),
            )
            .service(
                web::scope("/admin")
                    .wrap(
                        ClerkRequireAuth::new(instance.config().build().expect("config"))
                            .require(Has::role("org:admin"))
                            .on_error(hook),
                    )
                    .route("/me", web::get().to(me)),
            ),
    )
    .await;
    let member = instance
        .session_token("user_1")
        .org("org_1", "acme", "member")
        .sign();
    for path in ["/outage/me", "/admin/me"] {
        let req = test::TestRequest::get()
            .uri(path)
            .insert_header((header::AUTHORIZATION, format!("Bearer {member}")))
            .to_request();
        let res = test::call_service(&app, req).await;
        assert_eq!(res.status(), StatusCode::UNAUTHORIZED, "{path}");
        assert_eq!(
            header(&res, "www-authenticate").as_deref(),
            Some("Bearer"),
            "{path}"
        );
    }
}

// An `ErrorHandlers` handler that builds a fresh response keeps the crate's headers with
// `keep_clerk_headers`; without it they are gone (actix keeps nothing of the old response).
#[actix_web::test]
async fn error_handlers_keep_the_headers_with_keep_clerk_headers() {
    use actix_web::dev::ServiceResponse;
    use actix_web::middleware::{ErrorHandlerResponse, ErrorHandlers};
    fn fresh<B>(
        keep: bool,
    ) -> impl Fn(ServiceResponse<B>) -> actix_web::Result<ErrorHandlerResponse<B>> {
        move |res| {
            let mut new = HttpResponse::Unauthorized().body("problem");
            if keep {
                actix_clerk::keep_clerk_headers(res.headers(), new.headers_mut());
            }
            let (req, _) = res.into_parts();
            Ok(ErrorHandlerResponse::Response(
                ServiceResponse::new(req, new).map_into_right_body(),
            ))
        }
    }
    let key = TestKey::generate("ins_obs");
    let config = pem_config(&key);
    let app = test::init_service(
        App::new()
            .service(
                web::scope("/kept")
                    .wrap(ClerkRequireAuth::new(config.clone()))
                    .wrap(ErrorHandlers::new().handler(StatusCode::UNAUTHORIZED, fresh(true)))
                    .route("/me", web::get().to(me)),
            )
            .service(
                web::scope("/dropped")
                    .wrap(ClerkRequireAuth::new(config))
                    .wrap(ErrorHandlers::new().handler(StatusCode::UNAUTHORIZED, fresh(false)))
                    .route("/me", web::get().to(me)),
            ),
    )
    .await;
    let res = test::call_service(&app, test::TestRequest::get().uri("/kept/me").to_request()).await;
    assert_eq!(header(&res, "www-authenticate").as_deref(), Some("Bearer"));
    assert_eq!(
        header(&res, "x-clerk-auth-reason").as_deref(),
        Some("session-token-and-uat-missing")
    );
    let res = test::call_service(
        &app,
        test::TestRequest::get().uri("/dropped/me").to_request(),
    )
    .await;
    assert!(header(&res, "www-authenticate").is_none());
}

// `auth.protect(..)?` and `auth.claims_as()?` in one handler returning `Result<_, ClerkError>`.
#[actix_web::test]
async fn claims_errors_convert_into_clerk_errors() {
    use actix_clerk::testing::TestInstance;
    use actix_clerk::{ClerkError, Has};
    #[derive(serde::Deserialize)]
    struct Billing {
        plan: String,
    }
    async fn billing(auth: Auth) -> Result<String, ClerkError> {
        auth.protect(&Has::role("org:admin"))?;
        let claims: Billing = auth.claims_as()?;
        Ok(claims.plan)
    }
    let instance = TestInstance::new();
    let app = test::init_service(
        App::new()
            .wrap(ClerkWithAuth::new(
                instance.config().build().expect("config"),
            ))
            .route("/billing", web::get().to(billing)),
    )
    .await;
    let call = |token: String| {
        test::TestRequest::get()
            .uri("/billing")
            .insert_header((header::AUTHORIZATION, format!("Bearer {token}")))
            .to_request()
    };
    let admin = instance
        .session_token("user_1")
        .org("org_1", "acme", "admin");
    let res = test::call_service(&app, call(admin.clone().claim("plan", "pro").sign())).await;
    assert_eq!(test::read_body(res).await, "pro");
    let res = test::call_service(&app, call(admin.sign())).await;
    assert_eq!(res.status(), StatusCode::FORBIDDEN);
    let member = instance
        .session_token("user_1")
        .org("org_1", "acme", "member");
    let res = test::call_service(&app, call(member.claim("plan", "pro").sign())).await;
    assert_eq!(res.status(), StatusCode::FORBIDDEN);
}

// The `Authenticated` extractor behind the lax middleware answers a key outage as the strict
// middleware does: 503 with Retry-After, not a 401 that would sign people out.
#[actix_web::test]
async fn the_authenticated_extractor_answers_an_outage_503() {
    let outage = ClerkConfig::builder()
        .secret_key("sk_test_obs")
        .api_url(closed_port_url())
        .jwks_fetch_timeout(Duration::from_millis(300))
        .build()
        .expect("config");
    async fn strict_handler(auth: actix_clerk::Authenticated) -> String {
        auth.user_id().unwrap_or_default().to_owned()
    }
    let app = test::init_service(
        App::new()
            .wrap(ClerkWithAuth::new(outage))
            .route("/me", web::get().to(strict_handler)),
    )
    .await;
    let token = TestKey::generate("ins_obs").session_token("user_1").sign();
    let req = test::TestRequest::get()
        .uri("/me")
        .insert_header((header::AUTHORIZATION, format!("Bearer {token}")))
        .to_request();
    let res = test::call_service(&app, req).await;
    assert_eq!(res.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert!(header(&res, "retry-after").is_some());
    let req = test::TestRequest::get().uri("/me").to_request();
    assert_eq!(
        test::call_service(&app, req).await.status(),
        StatusCode::UNAUTHORIZED
    );
}
