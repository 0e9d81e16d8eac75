//! The testing kit's browser-session stand-ins, over real HTTP: the Backend API's handshake
//! payload (`GET /v1/clients/handshake_payload`) and session refresh
//! (`POST /v1/sessions/{sid}/refresh`), and the Frontend API's handshake
//! (`TestFrontendApi`, `GET /v1/client/handshake`): answers, key checks, failures, outages,
//! what they record.

use std::time::Duration;

use actix_clerk::testing::{
    Outage, TestBackendApi, TestFrontendApi, TestInstance, TestRequestExt as _, VerifyAnswer,
    BROWSER_TOKEN_LIFETIME, REFRESH_REFUSED_CODE, TEST_SECRET_KEY,
};
use actix_clerk::{Auth, ClerkWithAuth};
use actix_web::cookie::{Cookie, SameSite};
use actix_web::{test, web, App, HttpResponse};
use base64::Engine as _;
use serde_json::{json, Value};

/// The origin of the application the browser is on.
const ORIGIN: &str = "https://app.example.com";

/// A client that does not follow redirects (a `Location` is what the tests look at).
fn client() -> awc::Client {
    awc::Client::builder()
        .disable_redirects()
        .timeout(Duration::from_secs(10))
        .finish()
}

/// What a stand-in answered.
#[derive(Debug)]
struct Reply {
    status: u16,
    content_type: Option<String>,
    location: Option<String>,
    cache_control: Option<String>,
    body: String,
}

impl Reply {
    fn json(&self) -> Value {
        serde_json::from_str(&self.body).unwrap_or_else(|e| panic!("{e}: {}", self.body))
    }

    fn error_code(&self) -> String {
        self.json()["errors"][0]["code"]
            .as_str()
            .unwrap_or_default()
            .to_owned()
    }
}

async fn send(req: awc::ClientRequest, body: Option<&Value>) -> Reply {
    let sent = match body {
        Some(body) => req.send_json(body).await,
        None => req.send().await,
    };
    let mut res = sent.expect("the stand-in answers");
    let header = |name: &str| {
        res.headers()
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned)
    };
    let (content_type, location, cache_control) = (
        header("content-type"),
        header("location"),
        header("cache-control"),
    );
    let body = res.body().await.expect("body");
    Reply {
        status: res.status().as_u16(),
        content_type,
        location,
        cache_control,
        body: String::from_utf8_lossy(&body).into_owned(),
    }
}

/// `GET /v1/clients/handshake_payload?nonce=…` with `key` (none: no `Authorization`).
async fn payload(backend: &TestBackendApi, nonce: &str, key: Option<&str>) -> Reply {
    let mut req = client().get(format!(
        "{}/v1/clients/handshake_payload?nonce={nonce}",
        backend.url()
    ));
    if let Some(key) = key {
        req = req.bearer_auth(key);
    }
    send(req, None).await
}

/// The body `@clerk/backend` sends to refresh `expired` with `refresh_token`.
fn refresh_body(expired: &str, refresh_token: &str) -> Value {
    json!({
        "format": "cookie",
        "expired_token": expired,
        "refresh_token": refresh_token,
        "request_origin": ORIGIN,
        "request_headers": {"accept": ["text/html"], "host": ["app.example.com"]},
    })
}

/// `POST /v1/sessions/{sid}/refresh?suffixed_cookies=…` with the test secret key.
async fn refresh(backend: &TestBackendApi, sid: &str, suffixed: bool, body: &Value) -> Reply {
    let req = client()
        .post(format!(
            "{}/v1/sessions/{sid}/refresh?suffixed_cookies={suffixed}",
            backend.url()
        ))
        .bearer_auth(TEST_SECRET_KEY);
    send(req, Some(body)).await
}

/// `GET /v1/client/handshake?…` of the Frontend API with these query parameters.
async fn handshake(frontend: &TestFrontendApi, params: &[(&str, &str)]) -> Reply {
    let query: String = url::form_urlencoded::Serializer::new(String::new())
        .extend_pairs(params)
        .finish();
    send(
        client().get(format!("{}/v1/client/handshake?{query}", frontend.url())),
        None,
    )
    .await
}

/// The value of the cookie directive named `name` in `directives`.
fn cookie_value(directives: &[String], name: &str) -> Option<String> {
    directives.iter().find_map(|d| {
        let c = Cookie::parse(d.as_str()).ok()?;
        (c.name() == name).then(|| c.value().to_owned())
    })
}

/// A token's claims, unverified.
fn claims(token: &str) -> Value {
    let payload = token.split('.').nth(1).expect("a JWT");
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(payload)
        .expect("base64url");
    serde_json::from_slice(&bytes).expect("JSON claims")
}

fn strings(v: &Value) -> Vec<String> {
    v.as_array()
        .expect("an array")
        .iter()
        .map(|s| s.as_str().expect("a string").to_owned())
        .collect()
}

/// How a networkless configuration of `instance` (its PEM key, `ORIGIN` authorized) decides
/// `token` in the `Authorization` header: `user|session|org`, or the signed-out reason.
async fn decide(instance: &TestInstance, token: &str) -> String {
    let clerk = instance
        .config()
        .authorized_parties([ORIGIN])
        .build()
        .expect("config");
    let app = test::init_service(App::new().wrap(ClerkWithAuth::new(clerk)).default_service(
        web::to(|auth: Auth| async move {
            HttpResponse::Ok().body(match auth.reason() {
                Some(reason) => format!("signed out: {}", reason.as_str()),
                None => format!(
                    "{}|{}|{}",
                    auth.user_id().unwrap_or("-"),
                    auth.session_id().unwrap_or("-"),
                    auth.org_id().unwrap_or("-")
                ),
            })
        }),
    ))
    .await;
    let req = test::TestRequest::get()
        .uri("/")
        .bearer_token(token)
        .to_request();
    String::from_utf8_lossy(&test::call_and_read_body(&app, req).await).into_owned()
}

#[actix_web::test]
async fn directives_are_set_cookie_strings_of_clerks_cookies() {
    let instance = TestInstance::new();
    let backend = TestBackendApi::start(&instance);
    let token = instance.session_token("user_1").sign();
    let iat = claims(&token)["iat"].as_i64().expect("iat");
    let suffix = instance.cookie_suffix();

    assert_eq!(
        backend.session_directives(&token, false),
        [
            format!("__session={token}; Path=/; SameSite=Lax"),
            format!("__client_uat={iat}; Path=/; Max-Age=315360000; SameSite=Lax"),
        ]
    );
    assert_eq!(
        backend.session_directives(&token, true),
        [
            format!("__session_{suffix}={token}; Path=/; SameSite=Lax"),
            format!("__client_uat_{suffix}={iat}; Path=/; Max-Age=315360000; SameSite=Lax"),
        ]
    );
    assert_eq!(
        backend.signed_out_directives(false),
        [
            "__session=; Path=/; Max-Age=0; SameSite=Lax",
            "__client_uat=0; Path=/; Max-Age=315360000; SameSite=Lax",
        ]
    );
    assert_eq!(
        backend.signed_out_directives(true),
        [
            format!("__session_{suffix}=; Path=/; Max-Age=0; SameSite=Lax"),
            format!("__client_uat_{suffix}=0; Path=/; Max-Age=315360000; SameSite=Lax"),
        ]
    );

    // Every one is a valid Set-Cookie string with what it says.
    for suffixed in [false, true] {
        let name = |base: &str| {
            if suffixed {
                format!("{base}_{suffix}")
            } else {
                base.to_owned()
            }
        };
        let signed_in = backend.session_directives(&token, suffixed);
        let signed_out = backend.signed_out_directives(suffixed);
        for d in signed_in.iter().chain(&signed_out) {
            let c = Cookie::parse(d.as_str()).unwrap_or_else(|e| panic!("{d}: {e}"));
            assert_eq!(c.path(), Some("/"), "{d}");
            assert_eq!(c.same_site(), Some(SameSite::Lax), "{d}");
        }
        assert_eq!(
            cookie_value(&signed_in, &name("__session")).as_deref(),
            Some(token.as_str())
        );
        assert_eq!(
            cookie_value(&signed_in, &name("__client_uat")),
            Some(iat.to_string())
        );
        let session = Cookie::parse(signed_out[0].as_str()).expect("cookie");
        assert_eq!(
            (session.name(), session.value()),
            (name("__session").as_str(), "")
        );
        assert_eq!(
            session.max_age(),
            Some(actix_web::cookie::time::Duration::ZERO)
        );
        assert_eq!(
            cookie_value(&signed_out, &name("__client_uat")).as_deref(),
            Some("0")
        );
    }
}

#[actix_web::test]
async fn handshake_payloads_resolve_registered_nonces() {
    let instance = TestInstance::new();
    let backend = TestBackendApi::start(&instance);
    let token = instance.session_token("user_1").sign();
    let directives = backend.session_directives(&token, true);
    let nonce = backend.handshake_nonce(directives.clone());
    let other = backend.handshake_nonce(backend.signed_out_directives(false));
    assert_ne!(nonce, other);
    assert!(nonce.len() >= 32, "{nonce}");

    // A registered nonce: 200 application/json {"directives": […]}, as often as asked.
    for _ in 0..2 {
        let reply = payload(&backend, &nonce, Some(TEST_SECRET_KEY)).await;
        assert_eq!(reply.status, 200, "{reply:?}");
        assert_eq!(reply.content_type.as_deref(), Some("application/json"));
        assert_eq!(reply.json(), json!({ "directives": directives }));
    }
    let reply = payload(&backend, &other, Some(TEST_SECRET_KEY)).await;
    assert_eq!(
        strings(&reply.json()["directives"]),
        backend.signed_out_directives(false)
    );

    // An unknown nonce: Clerk's 404; no nonce: 422.
    let reply = payload(&backend, "nonce_unknown", Some(TEST_SECRET_KEY)).await;
    assert_eq!(reply.status, 404);
    assert_eq!(reply.content_type.as_deref(), Some("application/json"));
    assert_eq!(reply.error_code(), "resource_not_found");
    let reply = send(
        client()
            .get(format!("{}/v1/clients/handshake_payload", backend.url()))
            .bearer_auth(TEST_SECRET_KEY),
        None,
    )
    .await;
    assert_eq!(
        (reply.status, reply.error_code().as_str()),
        (422, "form_param_missing")
    );

    // Keys are checked before anything is said about the nonce.
    for key in [
        None,
        Some("sk_test_wrong"),
        Some(TEST_SECRET_KEY.trim_start_matches("sk_")),
    ] {
        let reply = payload(&backend, &nonce, key).await;
        assert_eq!(reply.status, 401, "{key:?}");
        assert_eq!(reply.error_code(), "clerk_key_invalid");
    }

    // Hits and calls: every request, the nonce asked and the key sent.
    assert_eq!(backend.handshake_payload_hits(), 8);
    let calls = backend.handshake_payload_calls();
    assert_eq!(calls.len(), 8);
    assert_eq!(calls[0].method, "GET");
    assert_eq!(calls[0].path, "/v1/clients/handshake_payload");
    assert_eq!(
        calls[0].query_param("nonce").as_deref(),
        Some(nonce.as_str())
    );
    assert_eq!(
        calls[0].authorization.as_deref(),
        Some(format!("Bearer {TEST_SECRET_KEY}").as_str())
    );
    assert_eq!(calls[4].query_param("nonce"), None);
    assert_eq!(calls[5].authorization, None);

    // A stand-in for no instance accepts any key and still resolves nonces.
    let any = TestBackendApi::start_with(actix_clerk::testing::JwksMode::Empty);
    let nonce = any.handshake_nonce(vec!["__session=x; Path=/".to_owned()]);
    let reply = payload(&any, &nonce, None).await;
    assert_eq!(reply.json(), json!({"directives": ["__session=x; Path=/"]}));
}

#[actix_web::test]
async fn refresh_mints_a_verifying_token_and_memoises_answers() {
    let instance = TestInstance::new();
    let backend = TestBackendApi::start(&instance);
    let sid = "sess_refresh_1";
    let refresh_token = backend.refresh_token(sid, "user_1");
    let expired = instance
        .session_token("user_1")
        .session_id(sid)
        .org("org_1", "acme", "admin")
        .claim("tenant", "t_9")
        .expired()
        .sign();
    assert!(decide(&instance, &expired)
        .await
        .starts_with("signed out: "));
    let body = refresh_body(&expired, &refresh_token);

    let first = refresh(&backend, sid, false, &body).await;
    assert_eq!(first.status, 200, "{first:?}");
    assert_eq!(first.content_type.as_deref(), Some("application/json"));
    let answer = first.json();
    assert_eq!(answer["object"], "cookies");
    let cookies = strings(&answer["cookies"]);
    assert_eq!(cookies.len(), 2);
    let token = cookie_value(&cookies, "__session").expect("a __session cookie");
    assert_eq!(cookies, backend.session_directives(&token, false));

    // Signed by the instance's key: it verifies with the PEM key, same user, session and
    // organisation, azp the request's origin, fresh and lasting 60 s.
    assert_eq!(
        decide(&instance, &token).await,
        "user_1|sess_refresh_1|org_1"
    );
    let c = claims(&token);
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("clock")
        .as_secs() as i64;
    let iat = c["iat"].as_i64().expect("iat");
    assert!((iat - now).abs() <= 5, "{c}");
    assert_eq!(
        c["exp"].as_i64(),
        Some(iat + BROWSER_TOKEN_LIFETIME.as_secs() as i64)
    );
    assert_eq!(c["azp"], ORIGIN);
    assert_eq!(c["iss"], instance.issuer());
    assert_eq!(c["tenant"], "t_9");
    assert_eq!(c["v"], 2);
    assert_eq!(
        cookie_value(&cookies, "__client_uat"),
        Some(iat.to_string())
    );

    // The same request later: byte-identical (other request headers do not matter).
    std::thread::sleep(Duration::from_millis(1100));
    let again = refresh(&backend, sid, false, &body).await;
    assert_eq!(again.body, first.body);
    let mut other_headers = body.clone();
    other_headers["request_headers"] = json!({"user-agent": ["another client"]});
    assert_eq!(
        refresh(&backend, sid, false, &other_headers).await.body,
        first.body
    );

    // Suffixed cookies, and another expired token: answers of their own.
    let suffixed = refresh(&backend, sid, true, &body).await;
    assert_eq!(suffixed.status, 200);
    let cookies = strings(&suffixed.json()["cookies"]);
    let suffix = instance.cookie_suffix();
    let suffixed_token =
        cookie_value(&cookies, &format!("__session_{suffix}")).expect("suffixed __session");
    assert_eq!(cookies, backend.session_directives(&suffixed_token, true));
    assert_ne!(suffixed_token, token);
    let later = instance
        .session_token("user_1")
        .session_id(sid)
        .issued_at(std::time::SystemTime::now() - Duration::from_secs(100))
        .lifetime(Duration::from_secs(60))
        .sign();
    let fresh = refresh(&backend, sid, false, &refresh_body(&later, &refresh_token)).await;
    let fresh_token =
        cookie_value(&strings(&fresh.json()["cookies"]), "__session").expect("a __session cookie");
    assert_ne!(fresh_token, token);
    assert_eq!(
        decide(&instance, &fresh_token).await,
        "user_1|sess_refresh_1|-"
    );

    // What was sent is recorded.
    assert_eq!(backend.refresh_hits(), 5);
    let call = backend.refresh_calls().remove(0);
    assert_eq!(call.method, "POST");
    assert_eq!(call.path, "/v1/sessions/sess_refresh_1/refresh");
    assert_eq!(call.query, "suffixed_cookies=false");
    assert_eq!(
        call.query_param("suffixed_cookies").as_deref(),
        Some("false")
    );
    assert_eq!(call.body.as_ref(), Some(&body));
    assert_eq!(call.content_type.as_deref(), Some("application/json"));
    assert_eq!(
        call.authorization.as_deref(),
        Some(format!("Bearer {TEST_SECRET_KEY}").as_str())
    );
    assert_eq!(
        backend.last_refresh_call().and_then(|c| c.body),
        Some(refresh_body(&later, &refresh_token))
    );

    // A version 1 token is refreshed as version 1.
    let v1 = instance
        .session_token("user_2")
        .session_id("sess_v1")
        .v1()
        .expired()
        .sign();
    let rt = backend.refresh_token("sess_v1", "user_2");
    let reply = refresh(&backend, "sess_v1", false, &refresh_body(&v1, &rt)).await;
    let token = cookie_value(&strings(&reply.json()["cookies"]), "__session").expect("cookie");
    assert_eq!(claims(&token).get("v"), None);
    assert_eq!(decide(&instance, &token).await, "user_2|sess_v1|-");
}

#[actix_web::test]
async fn refresh_refuses_and_fails_as_told() {
    let instance = TestInstance::new();
    let backend = TestBackendApi::start(&instance);
    let sid = "sess_1";
    let rt = backend.refresh_token(sid, "user_1");
    let expired = instance
        .session_token("user_1")
        .session_id(sid)
        .expired()
        .sign();
    let body = refresh_body(&expired, &rt);
    assert_eq!(refresh(&backend, sid, false, &body).await.status, 200);

    let refused = |reply: Reply| {
        assert_eq!(reply.status, 401, "{reply:?}");
        assert_eq!(reply.error_code(), REFRESH_REFUSED_CODE);
    };
    // An unknown refresh token, a refresh token of another session, an expired token of
    // another session or user.
    refused(refresh(&backend, sid, false, &refresh_body(&expired, "rt_unknown")).await);
    let other = instance
        .session_token("user_1")
        .session_id("sess_2")
        .expired()
        .sign();
    refused(refresh(&backend, "sess_2", false, &refresh_body(&other, &rt)).await);
    refused(refresh(&backend, sid, false, &refresh_body(&other, &rt)).await);
    let stranger = instance
        .session_token("user_2")
        .session_id(sid)
        .expired()
        .sign();
    refused(refresh(&backend, sid, false, &refresh_body(&stranger, &rt)).await);

    // Malformed requests.
    let mut no_format = body.clone();
    no_format["format"] = json!("token");
    let reply = refresh(&backend, sid, false, &no_format).await;
    assert_eq!(
        (reply.status, reply.error_code().as_str()),
        (422, "form_param_value_invalid")
    );
    let reply = refresh(&backend, sid, false, &json!({"format": "cookie"})).await;
    assert_eq!(
        (reply.status, reply.error_code().as_str()),
        (422, "form_param_missing")
    );
    let reply = refresh(&backend, sid, false, &refresh_body("not-a-jwt", &rt)).await;
    assert_eq!(
        (reply.status, reply.error_code().as_str()),
        (422, "form_param_format_invalid")
    );
    let reply = send(
        client()
            .post(format!("{}/v1/sessions/{sid}/refresh", backend.url()))
            .bearer_auth(TEST_SECRET_KEY)
            .content_type("application/json"),
        None,
    )
    .await;
    assert_eq!(
        (reply.status, reply.error_code().as_str()),
        (400, "request_body_invalid")
    );

    // Keys are checked first.
    for key in [None, Some("sk_test_wrong")] {
        let mut req = client().post(format!("{}/v1/sessions/{sid}/refresh", backend.url()));
        if let Some(key) = key {
            req = req.bearer_auth(key);
        }
        let reply = send(req, Some(&body)).await;
        assert_eq!(
            (reply.status, reply.error_code().as_str()),
            (401, "clerk_key_invalid")
        );
    }

    // Revoked: refused, the memoised answer included.
    backend.revoke_refresh_token(&rt);
    refused(refresh(&backend, sid, false, &body).await);

    // Registered answers, whatever the rest of the request.
    let cases = [
        (
            VerifyAnswer::error(500, "unexpected_error", "boom"),
            500,
            None,
        ),
        (
            VerifyAnswer::Raw {
                status: 502,
                content_type: "text/html".into(),
                body: "<html>bad gateway</html>".into(),
            },
            502,
            Some("<html>bad gateway</html>"),
        ),
        (
            VerifyAnswer::Status(422, json!({"errors": []})),
            422,
            Some(r#"{"errors":[]}"#),
        ),
        (
            VerifyAnswer::Ok(json!({"object": "cookies", "cookies": []})),
            200,
            Some(r#"{"object":"cookies","cookies":[]}"#),
        ),
    ];
    for (answer, status, text) in cases {
        let fixed = backend.refresh_token(sid, "user_1");
        backend.register_refresh(&fixed, answer);
        let reply = refresh(&backend, "sess_any", true, &refresh_body("x", &fixed)).await;
        assert_eq!(reply.status, status, "{reply:?}");
        match text {
            Some(text) => assert_eq!(reply.body, text),
            None => assert_eq!(reply.error_code(), "unexpected_error"),
        }
    }
    let unissued = "rt_registered_only";
    backend.register_refresh(unissued, VerifyAnswer::error(400, "session_exists", "no"));
    let reply = refresh(&backend, sid, false, &refresh_body(&expired, unissued)).await;
    assert_eq!(
        (reply.status, reply.error_code().as_str()),
        (400, "session_exists")
    );
    let reply = send(
        client()
            .post(format!("{}/v1/sessions/{sid}/refresh", backend.url()))
            .bearer_auth("sk_test_wrong"),
        Some(&refresh_body(&expired, unissued)),
    )
    .await;
    assert_eq!(reply.status, 401);

    assert_eq!(backend.refresh_hits(), backend.refresh_calls().len() as u64);
}

#[actix_web::test]
async fn outages_take_the_browser_endpoints_down_too() {
    let instance = TestInstance::new();
    let backend = TestBackendApi::start(&instance);
    let nonce = backend.handshake_nonce(backend.signed_out_directives(false));
    let rt = backend.refresh_token("sess_1", "user_1");
    let expired = instance
        .session_token("user_1")
        .session_id("sess_1")
        .expired()
        .sign();
    let body = refresh_body(&expired, &rt);
    let quick = awc::Client::builder()
        .disable_redirects()
        .timeout(Duration::from_millis(300))
        .finish();

    backend.set_outage(Some(Outage::Status(503)));
    let reply = payload(&backend, &nonce, Some(TEST_SECRET_KEY)).await;
    assert_eq!(
        (reply.status, reply.error_code().as_str()),
        (503, "internal_error")
    );
    let reply = refresh(&backend, "sess_1", false, &body).await;
    assert_eq!(reply.status, 503);

    backend.set_outage(Some(Outage::Hang));
    let hung = quick
        .get(format!(
            "{}/v1/clients/handshake_payload?nonce={nonce}",
            backend.url()
        ))
        .bearer_auth(TEST_SECRET_KEY)
        .send()
        .await;
    assert!(hung.is_err(), "answered during a hang");
    let hung = quick
        .post(format!("{}/v1/sessions/sess_1/refresh", backend.url()))
        .bearer_auth(TEST_SECRET_KEY)
        .send_json(&body)
        .await;
    assert!(hung.is_err(), "answered during a hang");

    backend.set_outage(Some(Outage::Refuse));
    let refused = quick
        .get(format!(
            "{}/v1/clients/handshake_payload?nonce={nonce}",
            backend.url()
        ))
        .send()
        .await;
    assert!(refused.is_err(), "answered while refusing connections");

    // Back up on the same port: nonces and refresh tokens survive.
    backend.set_outage(None);
    assert_eq!(
        payload(&backend, &nonce, Some(TEST_SECRET_KEY))
            .await
            .status,
        200
    );
    assert_eq!(refresh(&backend, "sess_1", false, &body).await.status, 200);
    // The requests that reached it are counted (the refused connection did not).
    assert_eq!(backend.handshake_payload_hits(), 3);
    assert_eq!(backend.refresh_hits(), 3);
}

#[actix_web::test]
async fn the_frontend_api_answers_handshakes_with_nonces_of_its_session() {
    let instance = TestInstance::new();
    let backend = TestBackendApi::start(&instance);
    let frontend = TestFrontendApi::start(&backend, &instance);
    assert!(frontend.url().starts_with("http://127.0.0.1:"));
    assert_eq!(frontend.signed_in(), None);
    let suffix = instance.cookie_suffix().to_owned();

    /// Follows the stand-in's 307: the nonce appended to `redirect`, resolved by the Backend
    /// API to directives.
    async fn resolve(backend: &TestBackendApi, reply: &Reply, redirect: &str) -> Vec<String> {
        assert_eq!(reply.status, 307, "{reply:?}");
        assert_eq!(reply.cache_control.as_deref(), Some("no-store"));
        let location = reply.location.clone().expect("a Location");
        let (before, nonce) = location
            .rsplit_once("__clerk_handshake_nonce=")
            .expect("the nonce appended");
        assert_eq!(&before[..before.len() - 1], redirect, "{location}");
        assert!(
            matches!(&before[before.len() - 1..], "?" | "&"),
            "{location}"
        );
        let payload = payload(backend, nonce, Some(TEST_SECRET_KEY)).await;
        assert_eq!(payload.status, 200, "{payload:?}");
        strings(&payload.json()["directives"])
    }

    // Signed out: the signed-out directives.
    let page = "https://app.example.com/dashboard";
    let reply = handshake(&frontend, &[("redirect_url", page), ("format", "nonce")]).await;
    assert_eq!(
        resolve(&backend, &reply, page).await,
        backend.signed_out_directives(false)
    );

    // Signed in: a fresh token of the user, suffixed when asked, for the page's origin.
    let sid = frontend.sign_in("user_1");
    assert!(sid.starts_with("sess_"), "{sid}");
    assert_eq!(
        frontend.signed_in(),
        Some(("user_1".to_owned(), sid.clone()))
    );
    let page = "https://app.example.com/dashboard?tab=a+b&x=%2F";
    let params = [
        ("redirect_url", page),
        ("__clerk_api_version", "2025-04-10"),
        ("suffixed_cookies", "true"),
        (
            "__clerk_hs_reason",
            "session-token-expired-refresh-non-eligible-no-refresh-cookie",
        ),
        ("format", "nonce"),
        ("__session", "the.old.token"),
    ];
    let reply = handshake(&frontend, &params).await;
    let directives = resolve(&backend, &reply, page).await;
    let token =
        cookie_value(&directives, &format!("__session_{suffix}")).expect("suffixed __session");
    assert_eq!(directives, backend.session_directives(&token, true));
    assert_eq!(decide(&instance, &token).await, format!("user_1|{sid}|-"));
    let c = claims(&token);
    assert_eq!(c["azp"], ORIGIN);
    assert_eq!(
        c["exp"].as_i64().zip(c["iat"].as_i64()).map(|(e, i)| e - i),
        Some(BROWSER_TOKEN_LIFETIME.as_secs() as i64)
    );

    // What the handshake received.
    let last = frontend.last_handshake().expect("a handshake");
    assert_eq!(last.method, "GET");
    assert_eq!(last.path, "/v1/client/handshake");
    let pairs: Vec<(String, String)> = params
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect();
    assert_eq!(last.query_pairs(), pairs);
    assert_eq!(
        last.query_param("__clerk_hs_reason").as_deref(),
        Some("session-token-expired-refresh-non-eligible-no-refresh-cookie")
    );
    assert_eq!(
        last.query_param("__session").as_deref(),
        Some("the.old.token")
    );

    // Each handshake a nonce of its own; the earlier ones still resolve. A redirect URL with a
    // fragment keeps it after the query.
    let page = "http://localhost:8080/a#frag";
    let reply = handshake(&frontend, &[("redirect_url", page), ("format", "nonce")]).await;
    let location = reply.location.clone().expect("a Location");
    assert!(
        location.starts_with("http://localhost:8080/a?__clerk_handshake_nonce="),
        "{location}"
    );
    assert!(location.ends_with("#frag"), "{location}");
    let nonce = location
        .trim_end_matches("#frag")
        .rsplit('=')
        .next()
        .expect("nonce");
    let directives =
        strings(&payload(&backend, nonce, Some(TEST_SECRET_KEY)).await.json()["directives"]);
    let token = cookie_value(&directives, "__session").expect("plain __session");
    assert_eq!(claims(&token)["azp"], "http://localhost:8080");
    assert_eq!(claims(&token)["sid"], sid.as_str());

    // A new sign-in is a new session; a sign-out hands the signed-out directives.
    let second = frontend.sign_in("user_2");
    assert_ne!(second, sid);
    let page = "https://app.example.com/";
    let reply = handshake(&frontend, &[("redirect_url", page), ("format", "nonce")]).await;
    let directives = resolve(&backend, &reply, page).await;
    let token = cookie_value(&directives, "__session").expect("__session");
    assert_eq!(
        decide(&instance, &token).await,
        format!("user_2|{second}|-")
    );
    frontend.sign_out();
    assert_eq!(frontend.signed_in(), None);
    let reply = handshake(
        &frontend,
        &[
            ("redirect_url", page),
            ("format", "nonce"),
            ("suffixed_cookies", "true"),
        ],
    )
    .await;
    assert_eq!(
        resolve(&backend, &reply, page).await,
        backend.signed_out_directives(true)
    );

    // Refused: no redirect URL, a relative one, another format.
    for params in [
        vec![("format", "nonce")],
        vec![("redirect_url", ""), ("format", "nonce")],
        vec![("redirect_url", "/dashboard"), ("format", "nonce")],
        vec![("redirect_url", page)],
        vec![("redirect_url", page), ("format", "token")],
    ] {
        let reply = handshake(&frontend, &params).await;
        assert_eq!(reply.status, 400, "{params:?}: {reply:?}");
        assert_eq!(reply.location, None);
        assert!(reply.error_code().starts_with("form_param_"), "{reply:?}");
    }
    assert_eq!(frontend.handshake_hits(), 10);
    assert_eq!(frontend.handshake_calls().len(), 10);
}

#[actix_web::test]
async fn a_handshake_session_is_refreshed_once_expired() {
    // The two stand-ins together: the Frontend API's session gets a refresh token from the
    // Backend API, and its (expired) token is refreshed into one of the same session.
    let instance = TestInstance::new();
    let backend = TestBackendApi::start(&instance);
    let frontend = TestFrontendApi::start(&backend, &instance);
    let sid = frontend.sign_in("user_1");
    let refresh_token = backend.refresh_token(&sid, "user_1");
    let expired = instance
        .session_token("user_1")
        .session_id(&sid)
        .expired()
        .sign();
    let reply = refresh(
        &backend,
        &sid,
        true,
        &refresh_body(&expired, &refresh_token),
    )
    .await;
    let cookies = strings(&reply.json()["cookies"]);
    let token = cookie_value(&cookies, &format!("__session_{}", instance.cookie_suffix()))
        .expect("suffixed __session");
    assert_eq!(decide(&instance, &token).await, format!("user_1|{sid}|-"));
}
