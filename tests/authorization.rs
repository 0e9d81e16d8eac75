mod support;

// Authorization (issue 10): Clerk's `has()` and reverification answer compared with
// @clerk/backend / @clerk/shared over a generated matrix of claims × checks, then route
// protection through real actix apps (401 / 403 / 404, hooks and ErrorHandlers, nested
// middlewares authenticating once, handlers never running on a failed check), `protect` and
// `claims_as` in handlers, and the request extension trait.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use actix_clerk::testing::TestKey;
use actix_clerk::{
    Auth, Authenticated, ClaimsError, ClerkConfig, ClerkError, ClerkRequestExt, ClerkRequireAuth,
    ClerkWithAuth, Has, Reverification,
};
use actix_web::dev::{Service as _, ServiceResponse};
use actix_web::http::{header, StatusCode};
use actix_web::middleware::{ErrorHandlerResponse, ErrorHandlers};
use actix_web::{test, web, App, HttpResponse, ResponseError};
use serde::Deserialize;
use serde_json::{json, Value};
use support::now_secs;

fn pem_config(key: &TestKey) -> ClerkConfig {
    ClerkConfig::builder()
        .jwt_key(key.public_pem())
        .build()
        .expect("config")
}

/// Claims of sessions: organisation shapes × factor verification ages.
fn claim_matrix() -> Vec<(String, Value)> {
    let orgs: Vec<(&str, Value)> = vec![
        ("no-org", json!({})),
        (
            "v1-admin",
            json!({"org_id":"org_1","org_role":"org:admin","org_slug":"acme",
                   "org_permissions":["org:memberships:read","org:memberships:manage"]}),
        ),
        (
            "v1-member",
            json!({"org_id":"org_1","org_role":"org:member","org_permissions":["org:memberships:read"]}),
        ),
        ("v1-role-without-org", json!({"org_role":"org:admin"})),
        (
            "v1-fea-pla",
            json!({"org_id":"org_1","org_role":"admin","fea":"o:premium,u:beta","pla":"o:pro"}),
        ),
        (
            "v2-admin",
            json!({"v":2,"fea":"o:memberships,o:invoices,u:beta,ou:premium","pla":"u:pro,o:team",
                   "o":{"id":"org_2","rol":"admin","slg":"acme","per":"read,manage,create","fpm":"3,5"}}),
        ),
        (
            "v2-member",
            json!({"v":2,"fea":"o:memberships","pla":"o:free",
                   "o":{"id":"org_2","rol":"member","per":"read,manage","fpm":"1"}}),
        ),
        (
            "v2-user-only",
            json!({"v":2,"fea":"u:premium","pla":"u:pro"}),
        ),
        (
            "v2-no-org-object",
            json!({"v":2,"fea":"o:premium","pla":"o:pro"}),
        ),
    ];
    let fvas: Vec<(&str, Value)> = vec![
        ("fva-absent", Value::Null),
        ("fva-0-0", json!([0, 0])),
        ("fva-5-none", json!([5, -1])),
        ("fva-none-5", json!([-1, 5])),
        ("fva-none-none", json!([-1, -1])),
        ("fva-15-5", json!([15, 5])),
        ("fva-5-15", json!([5, 15])),
        ("fva-9-11", json!([9, 11])),
        ("fva-70-70", json!([70, 70])),
        ("fva-1500-1500", json!([1500, 1500])),
        ("fva-bad", json!(["x", 1])),
        ("fva-short", json!([1])),
    ];
    let mut out = Vec::new();
    for (org_name, org) in &orgs {
        for (fva_name, fva) in &fvas {
            let mut claims = org.clone();
            if !fva.is_null() {
                claims["fva"] = fva.clone();
            }
            out.push((format!("{org_name}/{fva_name}"), claims));
        }
    }
    out
}

/// Clerk's `has()` parameters.
fn check_matrix() -> Vec<Value> {
    let mut checks: Vec<Value> = Vec::new();
    for role in [
        "admin",
        "org:admin",
        "org:org:admin",
        "member",
        "org:basic_member",
    ] {
        checks.push(json!({ "role": role }));
    }
    for permission in [
        "org:memberships:read",
        "memberships:manage",
        "org:invoices:create",
        "org:invoices:read",
        "org:x:y",
    ] {
        checks.push(json!({ "permission": permission }));
    }
    for feature in [
        "premium",
        "o:premium",
        "org:premium",
        "organization:premium",
        "u:premium",
        "user:beta",
        "memberships",
        "x:premium",
    ] {
        checks.push(json!({ "feature": feature }));
    }
    for plan in ["pro", "o:pro", "u:pro", "team", "o:free"] {
        checks.push(json!({ "plan": plan }));
    }
    let reverifications = [
        json!("strict_mfa"),
        json!("strict"),
        json!("moderate"),
        json!("lax"),
        json!({"level":"first_factor","afterMinutes":5}),
        json!({"level":"second_factor","afterMinutes":10}),
        json!({"level":"multi_factor","afterMinutes":60}),
        json!({"level":"second_factor","afterMinutes":0}),
    ];
    for r in &reverifications {
        checks.push(json!({ "reverification": r }));
        checks.push(json!({ "role": "org:admin", "reverification": r }));
        checks.push(json!({ "feature": "premium", "reverification": r }));
    }
    checks.push(json!({"role":"org:admin","permission":"org:memberships:manage"}));
    checks.push(json!({"feature":"premium","plan":"pro"}));
    checks.push(json!({"permission":"org:memberships:read","feature":"o:memberships"}));
    checks.push(json!({}));
    checks
}

async fn auth_of(auth: Auth, slot: web::Data<parking_lot::Mutex<Option<Auth>>>) -> HttpResponse {
    *slot.lock() = Some(auth);
    HttpResponse::Ok().finish()
}

#[actix_web::test]
async fn has_and_protect_agree_with_clerk() {
    let key = TestKey::generate("ins_authz");
    let claims = claim_matrix();
    let checks = check_matrix();
    let input = json!({
        "cases": claims.iter().map(|(id, c)| {
            let mut full = c.clone();
            full["sub"] = json!("user_authz");
            full["sid"] = json!("sess_authz");
            json!({"id": id, "claims": full, "checks": checks})
        }).collect::<Vec<_>>()
    });
    let answers = support::run_oracle("authorization-oracle.mjs", &input);

    let slot = web::Data::new(parking_lot::Mutex::new(None::<Auth>));
    let app = test::init_service(
        App::new()
            .app_data(slot.clone())
            .wrap(ClerkWithAuth::new(pem_config(&key)))
            .route("/", web::get().to(auth_of)),
    )
    .await;
    let (mut passed, mut failures) = (0usize, Vec::new());
    let mut reverification_bodies = 0usize;
    for (id, c) in &claims {
        let token = key
            .session_token("user_authz")
            .v1()
            .claims(c.clone())
            .sign();
        let req = test::TestRequest::get()
            .uri("/")
            .insert_header((header::AUTHORIZATION, format!("Bearer {token}")))
            .to_request();
        test::call_service(&app, req).await;
        let auth = slot.lock().take().expect("handler ran");
        assert!(auth.is_signed_in(), "{id}: {auth:?}");
        let theirs = answers[id].as_array().expect("answers for the case");
        for (params, answer) in checks.iter().zip(theirs) {
            let check: Has = serde_json::from_value(params.clone()).expect("Has from params");
            let clerk_has = answer["has"].as_bool().expect("has");
            let rev = params.get("reverification");
            let valid_rev = rev.is_some_and(|r| r["afterMinutes"] != json!(0));
            let rest_ok = answer["hasWithoutReverification"].as_bool().unwrap_or(true);
            let expect_reverify = !clerk_has && valid_rev && rest_ok;
            let ours_has = auth.has(&check);
            let verdict = auth.protect(&check);
            let mut problems = Vec::new();
            if ours_has != clerk_has {
                problems.push(format!("has: ours {ours_has}, Clerk {clerk_has}"));
            }
            match (&verdict, clerk_has, expect_reverify) {
                (Ok(()), true, _) => {}
                (Err(e @ ClerkError::ReverificationRequired { .. }), false, true) => {
                    let res = e.error_response();
                    let body = actix_web::body::to_bytes(res.into_body())
                        .await
                        .expect("body");
                    let theirs = answer["reverificationBody"].as_str().expect("body");
                    if body != theirs.as_bytes() {
                        problems.push(format!(
                            "reverification body: ours {}, Clerk {theirs}",
                            String::from_utf8_lossy(&body)
                        ));
                    }
                    reverification_bodies += 1;
                }
                (Err(ClerkError::Forbidden), false, false) => {}
                (other, _, _) => problems.push(format!(
                    "protect: ours {other:?}, expected has={clerk_has} reverify={expect_reverify}"
                )),
            }
            if problems.is_empty() {
                passed += 1;
            } else {
                failures.push(format!("MISMATCH {id} {params}: {}", problems.join("; ")));
            }
        }
    }
    for f in &failures {
        println!("{f}");
    }
    println!(
        "authorization: {passed} passed, {} failed ({} claim sets × {} checks; {reverification_bodies} reverification bodies compared byte for byte)",
        failures.len(),
        claims.len(),
        checks.len()
    );
    assert!(
        failures.is_empty(),
        "{} mismatches with Clerk",
        failures.len()
    );
    assert!(passed >= 5_000 && reverification_bodies >= 300);
}

/// A handler that counts its runs and answers the user id.
async fn counted(auth: Auth, runs: web::Data<AtomicUsize>) -> String {
    runs.fetch_add(1, Ordering::SeqCst);
    auth.user_id().unwrap_or("-").to_owned()
}

fn bearer(token: &str) -> (header::HeaderName, String) {
    (header::AUTHORIZATION, format!("Bearer {token}"))
}

async fn answer(
    app: &impl actix_web::dev::Service<
        actix_http::Request,
        Response = ServiceResponse<impl actix_web::body::MessageBody>,
        Error = actix_web::Error,
    >,
    path: &str,
    token: Option<&str>,
) -> (StatusCode, String) {
    let mut req = test::TestRequest::get().uri(path);
    if let Some(t) = token {
        req = req.insert_header(bearer(t));
    }
    let res = test::call_service(app, req.to_request()).await;
    let status = res.status();
    let body = test::read_body(res).await;
    (status, String::from_utf8_lossy(&body).into_owned())
}

#[actix_web::test]
async fn protected_routes_answer_401_403_404_and_clerks_reverification() {
    let key = TestKey::generate("ins_routes");
    let config = pem_config(&key);
    let runs = web::Data::new(AtomicUsize::new(0));
    let strict = || ClerkRequireAuth::new(config.clone());
    let app = test::init_service(
        App::new()
            .app_data(runs.clone())
            .service(
                web::scope("/admin")
                    .wrap(strict().require(Has::role("org:admin")))
                    .route("", web::get().to(counted)),
            )
            .service(
                web::scope("/hidden")
                    .wrap(
                        strict()
                            .require(Has::role("org:admin"))
                            .not_found_when_forbidden(),
                    )
                    .route("", web::get().to(counted)),
            )
            .service(
                web::scope("/danger")
                    .wrap(strict().require(Has::reverification(Reverification::Strict)))
                    .route("", web::get().to(counted)),
            )
            .service(
                web::scope("/hidden-danger")
                    .wrap(
                        strict()
                            .require(
                                Has::role("org:admin").and_reverification(Reverification::Strict),
                            )
                            .not_found_when_forbidden(),
                    )
                    .route("", web::get().to(counted)),
            )
            .service(
                web::scope("/billing")
                    .wrap(strict().require(Has::any_of([
                        Has::role("org:admin"),
                        Has::permission("org:invoices:create"),
                    ])))
                    .route("", web::get().to(counted)),
            ),
    )
    .await;
    let admin_fresh = key
        .session_token("user_admin")
        .v1()
        .claims(json!({"org_id":"org_1","org_role":"org:admin","fva":[2,2]}))
        .sign();
    let admin_stale = key
        .session_token("user_admin")
        .v1()
        .claims(json!({"org_id":"org_1","org_role":"org:admin","fva":[30,30]}))
        .sign();
    let member = key
        .session_token("user_member")
        .v1()
        .claims(json!({"org_id":"org_1","org_role":"org:member","fva":[2,2],
               "org_permissions":["org:invoices:create"]}))
        .sign();
    let outsider = key
        .session_token("user_out")
        .v1()
        .claims(json!({"fva":[30,-1]}))
        .sign();
    let strict_body = r#"{"clerk_error":{"type":"forbidden","reason":"reverification-error","metadata":{"reverification":"strict"}}}"#;
    let forbidden = r#"{"error":"forbidden"}"#;
    let cases: Vec<(&str, Option<&str>, StatusCode, &str)> = vec![
        (
            "/admin",
            None,
            StatusCode::UNAUTHORIZED,
            r#"{"error":"unauthenticated","reason":"session-token-and-uat-missing"}"#,
        ),
        ("/admin", Some(&member), StatusCode::FORBIDDEN, forbidden),
        ("/admin", Some(&admin_stale), StatusCode::OK, "user_admin"),
        ("/hidden", Some(&member), StatusCode::NOT_FOUND, ""),
        (
            "/hidden",
            None,
            StatusCode::UNAUTHORIZED,
            r#"{"error":"unauthenticated","reason":"session-token-and-uat-missing"}"#,
        ),
        ("/hidden", Some(&admin_fresh), StatusCode::OK, "user_admin"),
        (
            "/danger",
            Some(&admin_stale),
            StatusCode::FORBIDDEN,
            strict_body,
        ),
        (
            "/danger",
            Some(&outsider),
            StatusCode::FORBIDDEN,
            strict_body,
        ),
        ("/danger", Some(&member), StatusCode::OK, "user_member"),
        // reverification is never hidden: Clerk's frontend must see it to ask again
        (
            "/hidden-danger",
            Some(&admin_stale),
            StatusCode::FORBIDDEN,
            strict_body,
        ),
        ("/hidden-danger", Some(&member), StatusCode::NOT_FOUND, ""),
        (
            "/hidden-danger",
            Some(&admin_fresh),
            StatusCode::OK,
            "user_admin",
        ),
        ("/billing", Some(&member), StatusCode::OK, "user_member"),
        (
            "/billing",
            Some(&outsider),
            StatusCode::FORBIDDEN,
            forbidden,
        ),
    ];
    let mut expected_runs = 0;
    for (path, token, status, body) in cases {
        let before = runs.load(Ordering::SeqCst);
        let got = answer(&app, path, token).await;
        assert_eq!(got, (status, body.to_owned()), "{path} {token:?}");
        let ran = runs.load(Ordering::SeqCst) - before;
        assert_eq!(
            ran,
            usize::from(status == StatusCode::OK),
            "{path}: handler runs"
        );
        expected_runs += ran;
    }
    assert_eq!(runs.load(Ordering::SeqCst), expected_runs);
}

fn problem_json<B>(res: ServiceResponse<B>) -> actix_web::Result<ErrorHandlerResponse<B>> {
    let kind = match res
        .response()
        .error()
        .and_then(|e| e.as_error::<ClerkError>())
    {
        Some(ClerkError::Forbidden) => "forbidden".to_owned(),
        Some(ClerkError::ReverificationRequired { reverification }) => {
            format!(
                "reverify:{}",
                serde_json::to_string(reverification).unwrap_or_default()
            )
        }
        other => format!("{other:?}"),
    };
    let (req, _) = res.into_parts();
    let res = HttpResponse::Forbidden().body(kind);
    Ok(ErrorHandlerResponse::Response(
        ServiceResponse::new(req, res).map_into_right_body(),
    ))
}

#[actix_web::test]
async fn hooks_and_error_handlers_see_the_authorization_errors() {
    let key = TestKey::generate("ins_hooks");
    let config = pem_config(&key);
    let seen = Arc::new(parking_lot::Mutex::new(Vec::<String>::new()));
    let log = seen.clone();
    let app = test::init_service(
        App::new()
            .service(
                web::scope("/hook")
                    .wrap(
                        ClerkRequireAuth::new(config.clone())
                            .require(Has::plan("pro").and_reverification(Reverification::Moderate))
                            .on_error(move |err, _req| {
                                log.lock().push(format!("{err:?}"));
                                HttpResponse::build(err.status_code()).body("custom")
                            }),
                    )
                    .route("", web::get().to(|| async { "in" })),
            )
            .service(
                web::scope("/handlers")
                    .wrap(ClerkRequireAuth::new(config.clone()).require(Has::all_of([
                        Has::feature("premium"),
                        Has::reverification(Reverification::Custom {
                            level: actix_clerk::ReverificationLevel::SecondFactor,
                            after_minutes: 10,
                        }),
                    ])))
                    .wrap(ErrorHandlers::new().handler(StatusCode::FORBIDDEN, problem_json))
                    .route("", web::get().to(|| async { "in" })),
            ),
    )
    .await;
    let pro_stale = key
        .session_token("user_1")
        .v1()
        .claims(json!({"pla":"u:pro","fva":[90,90]}))
        .sign();
    let free = key
        .session_token("user_2")
        .v1()
        .claims(json!({"pla":"u:free","fva":[1,1]}))
        .sign();
    assert_eq!(
        answer(&app, "/hook", Some(&pro_stale)).await,
        (StatusCode::FORBIDDEN, "custom".into())
    );
    assert_eq!(
        answer(&app, "/hook", Some(&free)).await,
        (StatusCode::FORBIDDEN, "custom".into())
    );
    assert_eq!(
        *seen.lock(),
        vec![
            "ReverificationRequired { reverification: Moderate }".to_owned(),
            "Forbidden".to_owned()
        ]
    );
    let premium_stale = key
        .session_token("user_3")
        .v1()
        .claims(json!({"fea":"u:premium","fva":[5,30]}))
        .sign();
    assert_eq!(
        answer(&app, "/handlers", Some(&premium_stale)).await,
        (
            StatusCode::FORBIDDEN,
            r#"reverify:{"level":"second_factor","afterMinutes":10}"#.into()
        )
    );
    assert_eq!(
        answer(&app, "/handlers", Some(&free)).await,
        (StatusCode::FORBIDDEN, "forbidden".into())
    );
}

#[actix_web::test]
async fn nested_middlewares_of_one_configuration_authenticate_once() {
    let key = TestKey::generate("ins_nested");
    let config = pem_config(&key);
    let other = pem_config(&key);
    let app = test::init_service(
        App::new()
            .wrap(ClerkWithAuth::new(config.clone()))
            .service(
                web::scope("/same")
                    .wrap(ClerkRequireAuth::new(config.clone()).require(Has::role("org:admin")))
                    .route(
                        "",
                        web::get().to(|auth: Auth| async move {
                            auth.user_id().unwrap_or("-").to_owned()
                        }),
                    ),
            )
            .service(
                web::scope("/other")
                    .wrap(ClerkRequireAuth::new(other.clone()))
                    .route("", web::get().to(|| async { "other" })),
            ),
    )
    .await;
    let lookups = |c: &ClerkConfig| {
        let s = c.stats().token_cache.expect("cache on");
        s.hits + s.misses
    };
    let admin = key
        .session_token("user_a")
        .v1()
        .claims(json!({"org_id":"org_1","org_role":"org:admin"}))
        .sign();
    let member = key
        .session_token("user_m")
        .v1()
        .claims(json!({"org_id":"org_1","org_role":"org:member"}))
        .sign();
    for i in 1..=5u64 {
        assert_eq!(
            answer(&app, "/same", Some(&admin)).await,
            (StatusCode::OK, "user_a".into())
        );
        assert_eq!(lookups(&config), i, "one authentication per request");
    }
    assert_eq!(
        answer(&app, "/same", Some(&member)).await.0,
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        answer(&app, "/same", None).await.0,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        lookups(&config),
        6,
        "signed-out requests never reach the cache"
    );
    // another configuration decides on its own
    assert_eq!(
        answer(&app, "/other", Some(&admin)).await,
        (StatusCode::OK, "other".into())
    );
    assert_eq!((lookups(&config), lookups(&other)), (7, 1));
}

#[derive(Deserialize)]
struct TemplateClaims {
    sub: String,
    metadata: Metadata,
}

#[derive(Deserialize)]
struct Metadata {
    tier: String,
}

async fn tier(auth: Auth) -> Result<String, ClaimsError> {
    let claims: TemplateClaims = auth.claims_as()?;
    Ok(format!("{}:{}", claims.sub, claims.metadata.tier))
}

async fn invoice(auth: Auth) -> Result<&'static str, ClerkError> {
    auth.protect(&Has::permission("org:invoices:create"))?;
    Ok("created")
}

async fn optional(auth: Option<Auth>, signed_in: Option<Authenticated>) -> String {
    format!(
        "{} {}",
        auth.map_or("none".into(), |a| a.is_signed_in().to_string()),
        signed_in.is_some()
    )
}

#[actix_web::test]
async fn handlers_authorize_read_typed_claims_and_optional_extractors() {
    let key = TestKey::generate("ins_handlers");
    let config = pem_config(&key);
    let app = test::init_service(
        App::new()
            .service(
                web::scope("/lax")
                    .wrap_fn(|req, srv| {
                        // the extension trait from a middleware of the application's own
                        let seen = req.clerk_auth().map(|a| a.is_signed_in());
                        let fut = srv.call(req);
                        async move {
                            let mut res = fut.await?;
                            res.headers_mut().insert(
                                header::HeaderName::from_static("x-seen"),
                                header::HeaderValue::from_static(match seen {
                                    Some(true) => "in",
                                    Some(false) => "out",
                                    None => "none",
                                }),
                            );
                            Ok(res)
                        }
                    })
                    .wrap(ClerkWithAuth::new(config.clone()))
                    .route("/tier", web::get().to(tier))
                    .route("/invoice", web::get().to(invoice))
                    .route("/optional", web::get().to(optional)),
            )
            .route("/bare/optional", web::get().to(optional)),
    )
    .await;
    let with_tier = key.session_token("user_t").v1().claims(json!({"metadata":{"tier":"gold"},"org_id":"org_1","org_permissions":["org:invoices:create"]})).sign();
    let without = key.session_token("user_n").sign();
    assert_eq!(
        answer(&app, "/lax/tier", Some(&with_tier)).await,
        (StatusCode::OK, "user_t:gold".into())
    );
    assert_eq!(
        answer(&app, "/lax/tier", Some(&without)).await,
        (StatusCode::FORBIDDEN, r#"{"error":"forbidden"}"#.into())
    );
    assert_eq!(
        answer(&app, "/lax/tier", None).await.0,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        answer(&app, "/lax/invoice", Some(&with_tier)).await,
        (StatusCode::OK, "created".into())
    );
    assert_eq!(
        answer(&app, "/lax/invoice", Some(&without)).await.0,
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        answer(&app, "/lax/invoice", None).await.0,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        answer(&app, "/lax/optional", Some(&without)).await,
        (StatusCode::OK, "true true".into())
    );
    assert_eq!(
        answer(&app, "/lax/optional", None).await,
        (StatusCode::OK, "false false".into())
    );
    assert_eq!(
        answer(&app, "/bare/optional", Some(&without)).await,
        (StatusCode::OK, "none false".into())
    );
    let req = test::TestRequest::get()
        .uri("/lax/optional")
        .insert_header(bearer(&without))
        .to_request();
    let res = test::call_service(&app, req).await;
    assert_eq!(
        res.headers().get("x-seen").map(|v| v.as_bytes()),
        Some(&b"in"[..])
    );
    // a claims error never echoes a claim
    let err = ClaimsError::Invalid("missing field `metadata`".into());
    let body = actix_web::body::to_bytes(err.error_response().into_body())
        .await
        .expect("body");
    assert_eq!(&body[..], br#"{"error":"forbidden"}"#);
    let _ = now_secs();
}

/// The `authorization` example as a process, configured from the environment like
/// `with_auth`, with `REQUIRE` in the shape of Clerk's `has()` parameters.
#[actix_web::test]
async fn the_authorization_example_protects_by_require() {
    let bin = support::example_binary("authorization");

    let key = TestKey::generate("ins_example");
    let pem = key.public_pem();
    let start = |require: &str| {
        let server = support::ExampleServer::start(
            &bin,
            &[("CLERK_JWT_KEY", pem.as_str()), ("REQUIRE", require)],
        );
        let base = server.base.clone();
        (server, base)
    };
    let _ = rustls::crypto::aws_lc_rs::default_provider().install_default();
    let client = awc::Client::default();
    let get = |url: String, token: Option<String>| {
        let client = client.clone();
        async move {
            let mut req = client.get(url);
            if let Some(t) = token {
                req = req.insert_header(("Authorization", format!("Bearer {t}")));
            }
            let mut res = req.send().await.expect("request");
            let body = res.body().await.expect("body");
            (
                res.status().as_u16(),
                String::from_utf8_lossy(&body).into_owned(),
            )
        }
    };
    let admin = key
        .session_token("user_admin")
        .v1()
        .claims(json!({"org_id":"org_1","org_role":"org:admin","org_slug":"acme","fva":[30,30]}))
        .sign();
    let member = key.session_token("user_member").v1().claims(json!({"org_id":"org_1","org_role":"org:member","fva":[1,1],"metadata":{"tier":"gold"}})).sign();
    // REQUIRE, path, token, status, body
    type Case<'a> = (&'a str, &'a str, Option<&'a str>, u16, Option<&'a str>);
    let cases: Vec<Case<'_>> = vec![
        (
            r#"{"role":"org:admin"}"#,
            "/protected-endpoint",
            None,
            401,
            None,
        ),
        (
            r#"{"role":"org:admin"}"#,
            "/protected-endpoint",
            Some(&member),
            403,
            Some(r#"{"error":"forbidden"}"#),
        ),
        (
            r#"{"role":"org:admin"}"#,
            "/protected-endpoint",
            Some(&admin),
            200,
            None,
        ),
        (
            r#"{"reverification":"strict"}"#,
            "/protected-endpoint",
            Some(&admin),
            403,
            Some(
                r#"{"clerk_error":{"type":"forbidden","reason":"reverification-error","metadata":{"reverification":"strict"}}}"#,
            ),
        ),
        (
            r#"{"reverification":{"level":"second_factor","afterMinutes":10}}"#,
            "/protected-endpoint",
            Some(&admin),
            403,
            Some(
                r#"{"clerk_error":{"type":"forbidden","reason":"reverification-error","metadata":{"reverification":{"level":"second_factor","afterMinutes":10}}}}"#,
            ),
        ),
        (
            r#"{"reverification":"strict"}"#,
            "/protected-endpoint",
            Some(&member),
            200,
            None,
        ),
        (
            r#"{"plan":"pro"}"#,
            "/protected-endpoint",
            Some(&admin),
            403,
            Some(r#"{"error":"forbidden"}"#),
        ),
        (
            "",
            "/org/settings",
            Some(&admin),
            200,
            Some("settings of acme (you are org:admin)"),
        ),
        ("", "/org/settings", Some(&member), 403, None),
        (
            "",
            "/me/tier",
            Some(&member),
            200,
            Some("user_member is on the gold tier"),
        ),
        ("", "/me/tier", Some(&admin), 403, None),
        ("", "/protected-endpoint", Some(&member), 200, None),
    ];
    let mut running: Option<(String, support::ExampleServer, String)> = None;
    for (require, path, token, status, body) in cases {
        if running.as_ref().map(|r| r.0.as_str()) != Some(require) {
            drop(running.take()); // stop the previous server first
            let (server, base) = start(require);
            running = Some((require.to_owned(), server, base));
        }
        let base = &running.as_ref().expect("server").2;
        let (got_status, got_body) = get(format!("{base}{path}"), token.map(str::to_owned)).await;
        assert_eq!(got_status, status, "{require} {path}: {got_body}");
        if let Some(body) = body {
            assert_eq!(got_body, body, "{require} {path}");
        }
        if status == 200 && path == "/protected-endpoint" {
            let auth: Value = serde_json::from_str(&got_body).expect("auth JSON");
            assert_eq!(auth["isAuthenticated"], json!(true));
        }
    }
}

// Per-method requirements on one resource: any member reads, only an admin deletes; the
// general `require` still applies to every method.
#[actix_web::test]
async fn require_for_checks_only_its_method() {
    use actix_clerk::testing::TestInstance;
    use actix_web::http::Method;
    let instance = TestInstance::new();
    let clerk = instance.config().build().expect("config");
    let app = test::init_service(
        App::new().service(
            web::resource("/projects/1")
                .wrap(
                    ClerkRequireAuth::new(clerk)
                        .require(Has::permission("org:projects:read"))
                        .require_for(Method::DELETE, Has::role("org:admin")),
                )
                .route(web::get().to(HttpResponse::Ok))
                .route(web::delete().to(HttpResponse::NoContent)),
        ),
    )
    .await;
    let token = |role: &str, perms: &[&str]| {
        instance
            .session_token("user_1")
            .org("org_1", "acme", role)
            .org_permissions(perms.iter().copied())
            .sign()
    };
    let member = token("member", &["org:projects:read"]);
    let admin = token("admin", &["org:projects:read"]);
    let outsider = token("member", &[]);
    for (method, token, want) in [
        (Method::GET, &member, 200),
        (Method::DELETE, &member, 403),
        (Method::DELETE, &admin, 204),
        (Method::GET, &outsider, 403),
        (Method::DELETE, &outsider, 403),
    ] {
        // Twice: fresh, then from the token cache (the fast path checks too).
        for _ in 0..2 {
            let req = test::TestRequest::default()
                .method(method.clone())
                .uri("/projects/1")
                .insert_header(("authorization", format!("Bearer {token}")))
                .to_request();
            let res = test::call_service(&app, req).await;
            assert_eq!(res.status().as_u16(), want, "{method}");
        }
    }
}
