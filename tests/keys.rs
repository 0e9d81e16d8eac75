mod support;

// The remote key store (issue 4) against a real local JWKS server: one fetch for a cold burst
// over several workers, unknown-`kid` abuse, stale-while-error, rotation, cold outages,
// `clerk_key_invalid`, per-configuration isolation, the secret key on the wire, refresh ahead,
// and unparsable keys.

use std::collections::HashSet;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use actix_clerk::testing::{b64url, JwksMode, TestBackendApi, TestKey};
use actix_clerk::{Auth, ClerkConfig, ClerkConfigBuilder, ClerkRequireAuth, ClerkWithAuth, Reason};
use actix_web::http::header::{self, HeaderMap};
use actix_web::http::StatusCode;
use actix_web::{test, web, App, HttpServer};
use serde_json::{json, Value};
use support::closed_port_url;

const SECRET: &str = "sk_test_x";

/// A remote-key configuration against `url`.
fn remote(url: &str) -> ClerkConfigBuilder {
    ClerkConfig::builder()
        .secret_key(SECRET)
        .api_url(url)
        .authorized_parties(["https://app.example.com"])
}

async fn me(auth: web::ReqData<Auth>) -> String {
    auth.user_id().unwrap_or("-").to_owned()
}

/// The strict middleware on `GET /me`, in process.
macro_rules! strict_app {
    ($config:expr) => {
        test::init_service(
            App::new()
                .wrap(ClerkRequireAuth::new($config.clone()))
                .route("/me", web::get().to(me)),
        )
        .await
    };
}

/// What one request got.
struct Reply {
    status: StatusCode,
    headers: HeaderMap,
    body: String,
    elapsed: Duration,
}

impl Reply {
    fn header(&self, name: &str) -> String {
        self.headers
            .get(name)
            .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned())
            .unwrap_or_default()
    }

    fn reason(&self) -> String {
        self.header("x-clerk-auth-reason")
    }

    /// Every header value and the body, for "never appears" checks.
    fn everything(&self) -> String {
        let mut all = self.body.clone();
        for (name, value) in &self.headers {
            all.push('\n');
            all.push_str(name.as_str());
            all.push_str(": ");
            all.push_str(&String::from_utf8_lossy(value.as_bytes()));
        }
        all
    }

    #[track_caller]
    fn assert_ok(&self, user: &str) {
        assert_eq!(self.status, StatusCode::OK, "{}", self.everything());
        assert_eq!(self.body, user);
    }

    #[track_caller]
    fn assert_401(&self, reason: &str) {
        assert_eq!(
            self.status,
            StatusCode::UNAUTHORIZED,
            "{}",
            self.everything()
        );
        assert_eq!(self.reason(), reason, "{}", self.everything());
        assert_eq!(
            self.header("www-authenticate"),
            "Bearer error=\"invalid_token\""
        );
        assert!(self.headers.get(header::RETRY_AFTER).is_none());
    }

    /// A key-source outage in strict mode: 503, `Retry-After` ≥ 1, Clerk's reason.
    #[track_caller]
    fn assert_503(&self, reason: &str) {
        assert_eq!(
            self.status,
            StatusCode::SERVICE_UNAVAILABLE,
            "{}",
            self.everything()
        );
        assert_eq!(self.reason(), reason, "{}", self.everything());
        let retry: u64 = self
            .header("retry-after")
            .parse()
            .unwrap_or_else(|_| panic!("Retry-After missing: {}", self.everything()));
        assert!((1..=60).contains(&retry), "Retry-After {retry}");
        let body: Value = serde_json::from_str(&self.body).expect("JSON body");
        assert_eq!(
            body,
            json!({"error": "authentication_unavailable", "reason": reason})
        );
    }
}

/// `GET /me` with `Authorization: Bearer <token>`.
macro_rules! send {
    ($app:expr, $token:expr) => {{
        let req = test::TestRequest::get()
            .uri("/me")
            .insert_header((header::AUTHORIZATION, format!("Bearer {}", $token)))
            .to_request();
        let started = Instant::now();
        let res = test::call_service(&$app, req).await;
        let elapsed = started.elapsed();
        let status = res.status();
        let headers = res.headers().clone();
        let body = test::read_body(res).await;
        Reply {
            status,
            headers,
            body: String::from_utf8_lossy(&body).into_owned(),
            elapsed,
        }
    }};
}

/// `token` with its header's `kid` replaced (the signature no longer matches, which does not
/// matter: the key lookup comes first).
fn with_kid(token: &str, kid: &str) -> String {
    let (_, rest) = token.split_once('.').expect("JWT");
    let header = json!({"alg": "RS256", "kid": kid, "typ": "JWT"});
    format!("{}.{rest}", b64url(header.to_string()))
}

/// A random `kid` (16 random bytes, hex).
fn random_kid() -> String {
    let mut bytes = [0u8; 16];
    aws_lc_rs::rand::fill(&mut bytes).expect("random");
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn clerk_key_invalid_body() -> String {
    json!({"errors": [{"code": "clerk_key_invalid", "message": "The provided secret key is invalid."}]})
        .to_string()
}

/// Waits (briefly) until the server has seen `n` JWKS requests.
async fn wait_for_hits(server: &TestBackendApi, n: u64, within: Duration) -> u64 {
    let deadline = Instant::now() + within;
    while server.jwks_hits() < n && Instant::now() < deadline {
        actix_web::rt::time::sleep(Duration::from_millis(5)).await;
    }
    server.jwks_hits()
}

// ---------------------------------------------------------------------------------------------
// 1. Cold burst over a real multi-worker server: one fetch.

/// Runs the strict middleware in a real `HttpServer` with `workers` workers on 127.0.0.1:0.
/// The handler answers `<user>|<worker thread name>`.
fn start_app(config: ClerkConfig, workers: usize) -> (SocketAddr, actix_web::dev::ServerHandle) {
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        actix_web::rt::System::new().block_on(async move {
            let server = HttpServer::new(move || {
                App::new()
                    .wrap(ClerkRequireAuth::new(config.clone()))
                    .route(
                        "/me",
                        web::get().to(|auth: web::ReqData<Auth>| async move {
                            let thread = std::thread::current();
                            format!(
                                "{}|{}",
                                auth.user_id().unwrap_or("-"),
                                thread.name().unwrap_or("?")
                            )
                        }),
                    )
            })
            .workers(workers)
            .disable_signals()
            .backlog(4096)
            .bind(("127.0.0.1", 0))
            .expect("bind 127.0.0.1:0");
            let addr = server.addrs()[0];
            let server = server.run();
            tx.send((addr, server.handle())).expect("send");
            server.await.expect("server runs");
        });
    });
    rx.recv_timeout(Duration::from_secs(10))
        .expect("app started")
}

/// One raw HTTP/1.1 request on an already open connection: (status, body, latency).
async fn raw_get(
    mut stream: tokio::net::TcpStream,
    token: String,
    start: Arc<tokio::sync::Barrier>,
) -> (u16, String, Duration) {
    use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
    let request = format!(
        "GET /me HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer {token}\r\nConnection: close\r\n\r\n"
    );
    start.wait().await;
    let started = Instant::now();
    stream
        .write_all(request.as_bytes())
        .await
        .expect("write request");
    let mut raw = Vec::new();
    stream.read_to_end(&mut raw).await.expect("read response");
    let elapsed = started.elapsed();
    let text = String::from_utf8_lossy(&raw).into_owned();
    let status = text
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    let body = text
        .split_once("\r\n\r\n")
        .map(|(_, b)| b.to_owned())
        .unwrap_or_default();
    (status, body, elapsed)
}

#[std::prelude::v1::test]
fn cold_burst_over_four_workers_fetches_once() {
    const N: usize = 600;
    let key = TestKey::generate("ins_burst");
    let server = TestBackendApi::start_with(JwksMode::Keys(vec![key.jwk()]));
    server.set_jwks_delay(Duration::from_millis(300));
    let config = remote(server.url()).build().expect("config");
    let (addr, handle) = start_app(config.clone(), 4);
    let token = key.session_token("user_burst").sign();

    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("client runtime");
    let replies = rt.block_on(async {
        tokio::time::timeout(Duration::from_secs(20), async {
            // Open every connection first, then release all requests at once.
            let mut streams = Vec::with_capacity(N);
            for _ in 0..N {
                streams.push(tokio::net::TcpStream::connect(addr).await.expect("connect"));
            }
            let start = Arc::new(tokio::sync::Barrier::new(N));
            let tasks: Vec<_> = streams
                .into_iter()
                .map(|s| tokio::spawn(raw_get(s, token.clone(), start.clone())))
                .collect();
            let mut replies = Vec::with_capacity(N);
            for t in tasks {
                replies.push(t.await.expect("request task"));
            }
            replies
        })
        .await
        .expect("burst finished in time")
    });
    rt.block_on(handle.stop(false));

    let not_ok: Vec<_> = replies.iter().filter(|(s, _, _)| *s != 200).collect();
    assert!(
        not_ok.is_empty(),
        "{} non-200: {:?}",
        not_ok.len(),
        &not_ok[..not_ok.len().min(3)]
    );
    assert!(replies.iter().all(|(_, b, _)| b.starts_with("user_burst|")));
    let workers: HashSet<&str> = replies
        .iter()
        .filter_map(|(_, b, _)| b.split_once('|').map(|(_, w)| w))
        .collect();
    assert_eq!(
        workers.len(),
        4,
        "requests spread over every worker: {workers:?}"
    );
    // The requests really overlapped the one (300 ms) fetch: most of them waited for it.
    let waited = replies
        .iter()
        .filter(|(_, _, e)| *e >= Duration::from_millis(200))
        .count();
    assert!(
        waited >= N / 2,
        "only {waited} of {N} requests waited for the fetch"
    );
    let slowest = replies.iter().map(|(_, _, e)| *e).max().unwrap_or_default();
    eprintln!(
        "cold burst: {N} requests, {} workers, {waited} waited >= 200 ms, slowest {slowest:?}, JWKS hits {}",
        workers.len(),
        server.jwks_hits()
    );
    assert_eq!(
        server.jwks_hits(),
        1,
        "one JWKS fetch for the whole cold burst"
    );
    assert_eq!(jwks_fetch_count(&config), 1);
    assert_eq!(
        server.last_jwks_authorization().as_deref(),
        Some("Bearer sk_test_x")
    );
}

// ---------------------------------------------------------------------------------------------
// 2. Unknown-kid abuse within the cooldown.

#[actix_web::test]
async fn ten_thousand_random_kids_cost_at_most_one_fetch() {
    let key = TestKey::generate("ins_abuse");
    let server = TestBackendApi::start_with(JwksMode::Keys(vec![key.jwk()]));
    let config = remote(server.url())
        .jwks_unknown_kid_cooldown(Duration::from_secs(30))
        .build()
        .expect("config");
    let app = strict_app!(config);
    let good = key.session_token("user_ok").sign();

    // Cold cache: the first random kid fetches (the one refetch); every other one is answered
    // from the cooldown.
    let mut seen = HashSet::new();
    for _ in 0..10_000 {
        let kid = random_kid();
        assert!(seen.insert(kid.clone()));
        let reply = send!(app, with_kid(&good, &kid));
        reply.assert_401("jwk-kid-mismatch");
    }
    assert_eq!(server.jwks_hits(), 1);
    assert_eq!(jwks_fetch_count(&config), 1);

    // The real key still verifies, without a fetch.
    send!(app, good).assert_ok("user_ok");
    assert_eq!(server.jwks_hits(), 1);

    // The same kids again, and 500 concurrent new ones: nothing more.
    for kid in seen.iter().take(1_000) {
        send!(app, with_kid(&good, kid)).assert_401("jwk-kid-mismatch");
    }
    let concurrent: Vec<_> = (0..500)
        .map(|_| {
            let req = test::TestRequest::get()
                .uri("/me")
                .insert_header((
                    header::AUTHORIZATION,
                    format!("Bearer {}", with_kid(&good, &random_kid())),
                ))
                .to_request();
            test::call_service(&app, req)
        })
        .collect();
    for res in futures_util::future::join_all(concurrent).await {
        assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
    }
    assert_eq!(server.jwks_hits(), 1);
    assert_eq!(jwks_fetch_count(&config), 1);
}

#[actix_web::test]
async fn concurrent_unknown_kids_on_a_cold_cache_share_one_fetch() {
    let key = TestKey::generate("ins_abuse2");
    let server = TestBackendApi::start_with(JwksMode::Keys(vec![key.jwk()]));
    server.set_jwks_delay(Duration::from_millis(150));
    let config = remote(server.url())
        .jwks_unknown_kid_cooldown(Duration::from_secs(30))
        .build()
        .expect("config");
    let app = strict_app!(config);
    let good = key.session_token("user_ok").sign();
    let requests: Vec<_> = (0..300)
        .map(|i| {
            let token = if i % 3 == 0 {
                good.clone()
            } else {
                with_kid(&good, &random_kid())
            };
            let req = test::TestRequest::get()
                .uri("/me")
                .insert_header((header::AUTHORIZATION, format!("Bearer {token}")))
                .to_request();
            test::call_service(&app, req)
        })
        .collect();
    let replies = futures_util::future::join_all(requests).await;
    for (i, res) in replies.iter().enumerate() {
        let want = if i % 3 == 0 {
            StatusCode::OK
        } else {
            StatusCode::UNAUTHORIZED
        };
        assert_eq!(res.status(), want, "request {i}");
    }
    assert_eq!(server.jwks_hits(), 1);
    assert_eq!(jwks_fetch_count(&config), 1);
}

// ---------------------------------------------------------------------------------------------
// 3. Warm cache, then the API fails: stale keys keep serving, retries back off.

/// Warms a fresh store (TTL 200 ms), switches the server to `mode`, then sends a request every
/// 20 ms for 600 ms: every one passes, none waits for the failing refresh, and the store tried
/// exactly once (the next try is a 1 s backoff away).
async fn keeps_serving_through(mode: JwksMode) {
    let key = TestKey::generate("ins_stale");
    let server = TestBackendApi::start_with(JwksMode::Keys(vec![key.jwk()]));
    let config = remote(server.url())
        .jwks_cache_ttl(Duration::from_millis(200))
        .jwks_fetch_timeout(Duration::from_millis(300))
        .disable_token_cache()
        .build()
        .expect("config");
    let app = strict_app!(config);
    let token = key.session_token("user_stale").sign();
    send!(app, token).assert_ok("user_stale");
    assert_eq!(server.jwks_hits(), 1);

    server.set_jwks(mode.clone());
    let started = Instant::now();
    let mut sent = 0;
    while started.elapsed() < Duration::from_millis(600) {
        let reply = send!(app, token);
        reply.assert_ok("user_stale");
        assert!(
            reply.elapsed < Duration::from_millis(150),
            "{mode:?}: a request waited {:?}",
            reply.elapsed
        );
        sent += 1;
        actix_web::rt::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(sent >= 10);
    // Let a hanging refresh time out.
    actix_web::rt::time::sleep(Duration::from_millis(50)).await;
    assert_eq!(
        server.jwks_hits(),
        2,
        "{mode:?}: one failed refresh, then backoff"
    );
    assert_eq!(jwks_fetch_count(&config), 2);

    // An unknown kid during the outage cannot be decided: 503, not 401.
    send!(app, with_kid(&token, "ins_unknown")).assert_503("jwk-remote-failed-to-load");
    // The known key still passes, past the TTL.
    send!(app, token).assert_ok("user_stale");
    assert_eq!(server.jwks_hits(), 2);
}

#[actix_web::test]
async fn stale_keys_serve_through_status_500() {
    keeps_serving_through(JwksMode::Status(500, "{\"errors\":[]}".into())).await;
}

#[actix_web::test]
async fn stale_keys_serve_through_a_hanging_api() {
    keeps_serving_through(JwksMode::Hang).await;
}

#[actix_web::test]
async fn stale_keys_serve_through_invalid_json() {
    keeps_serving_through(JwksMode::InvalidJson).await;
}

#[actix_web::test]
async fn stale_keys_serve_through_an_empty_key_set() {
    keeps_serving_through(JwksMode::Empty).await;
}

#[actix_web::test]
async fn failed_refreshes_back_off() {
    let key = TestKey::generate("ins_backoff");
    let server = TestBackendApi::start_with(JwksMode::Keys(vec![key.jwk()]));
    let config = remote(server.url())
        .jwks_cache_ttl(Duration::from_millis(100))
        .jwks_fetch_timeout(Duration::from_millis(300))
        .disable_token_cache()
        .build()
        .expect("config");
    let app = strict_app!(config);
    let token = key.session_token("user_b").sign();
    send!(app, token).assert_ok("user_b");
    server.set_jwks(JwksMode::Status(502, String::new()));
    // Requests every 10 ms for 1.6 s: tries at ~0.08 s and ~1.08 s (1 s backoff); the third
    // would be 2 s after the second.
    let started = Instant::now();
    let mut failures = 0;
    let mut times = Vec::new();
    let mut last = server.jwks_hits();
    while started.elapsed() < Duration::from_millis(1600) {
        if send!(app, token).status != StatusCode::OK {
            failures += 1;
        }
        if server.jwks_hits() != last {
            last = server.jwks_hits();
            times.push(started.elapsed());
        }
        actix_web::rt::time::sleep(Duration::from_millis(10)).await;
    }
    assert_eq!(failures, 0);
    assert_eq!(
        server.jwks_hits(),
        3,
        "warm fetch + 2 backed-off retries: {times:?}"
    );
    assert!(
        times[1] - times[0] >= Duration::from_millis(950),
        "retry came too soon: {times:?}"
    );
}

#[actix_web::test]
async fn stale_keys_stop_serving_after_max_stale() {
    let key = TestKey::generate("ins_maxstale");
    let server = TestBackendApi::start_with(JwksMode::Keys(vec![key.jwk()]));
    let config = remote(server.url())
        .jwks_cache_ttl(Duration::from_millis(200))
        .jwks_max_stale(Duration::from_millis(400))
        .jwks_fetch_timeout(Duration::from_millis(300))
        .build()
        .expect("config");
    let app = strict_app!(config);
    let cached = key.session_token("user_cached").sign();
    send!(app, cached).assert_ok("user_cached");
    server.set_jwks(JwksMode::Status(500, String::new()));
    actix_web::rt::time::sleep(Duration::from_millis(250)).await;
    // Past the TTL, within max_stale: still served (this request also starts a refresh, which
    // fails and backs off for 1 s).
    send!(app, cached).assert_ok("user_cached");
    assert_eq!(
        wait_for_hits(&server, 2, Duration::from_millis(500)).await,
        2
    );
    actix_web::rt::time::sleep(Duration::from_millis(400)).await;
    // Past TTL + max_stale (600 ms): the keys are gone, for fresh and for cached tokens alike.
    let fresh = key.session_token("user_fresh").sign();
    send!(app, fresh).assert_503("jwk-remote-failed-to-load");
    send!(app, cached).assert_503("jwk-remote-failed-to-load");
    assert_eq!(server.jwks_hits(), 2, "the retry waits for its backoff");
}

// ---------------------------------------------------------------------------------------------
// 4. Key rotation.

#[actix_web::test]
async fn rotated_key_verifies_after_one_refetch() {
    let old = TestKey::generate("ins_old");
    let new = TestKey::generate("ins_new");
    let server = TestBackendApi::start_with(JwksMode::Keys(vec![old.jwk()]));
    let config = remote(server.url())
        .jwks_unknown_kid_cooldown(Duration::from_millis(300))
        .build()
        .expect("config");
    let app = strict_app!(config);
    send!(app, old.session_token("user_old").sign()).assert_ok("user_old");
    assert_eq!(server.jwks_hits(), 1);

    // The API now lists both keys; after the cooldown, a token with the new kid fetches once.
    server.set_jwks(JwksMode::Keys(vec![old.jwk(), new.jwk()]));
    actix_web::rt::time::sleep(Duration::from_millis(350)).await;
    let token = new.session_token("user_new").sign();
    send!(app, token).assert_ok("user_new");
    assert_eq!(server.jwks_hits(), 2);
    send!(app, token).assert_ok("user_new");
    send!(app, old.session_token("user_old").sign()).assert_ok("user_old");
    assert_eq!(server.jwks_hits(), 2);
    assert_eq!(jwks_fetch_count(&config), 2);
}

#[actix_web::test]
async fn a_kid_seen_before_the_rotation_verifies_once_the_api_lists_it() {
    let old = TestKey::generate("ins_k1");
    let new = TestKey::generate("ins_k2");
    let server = TestBackendApi::start_with(JwksMode::Keys(vec![old.jwk()]));
    let config = remote(server.url())
        .jwks_unknown_kid_cooldown(Duration::from_millis(300))
        .build()
        .expect("config");
    let app = strict_app!(config);
    let old_token = old.session_token("user_old").sign();
    let new_token = new.session_token("user_new").sign();
    send!(app, old_token).assert_ok("user_old");
    assert_eq!(server.jwks_hits(), 1);

    // Within the cooldown: no fetch.
    send!(app, new_token).assert_401("jwk-kid-mismatch");
    assert_eq!(server.jwks_hits(), 1);
    // After it: one refetch, but the API does not list the new key yet.
    actix_web::rt::time::sleep(Duration::from_millis(350)).await;
    send!(app, new_token).assert_401("jwk-kid-mismatch");
    assert_eq!(server.jwks_hits(), 2);

    // The API rotates (old key withdrawn).
    server.set_jwks(JwksMode::Keys(vec![new.jwk()]));
    send!(app, new_token).assert_401("jwk-kid-mismatch");
    assert_eq!(server.jwks_hits(), 2, "cooldown still running");
    actix_web::rt::time::sleep(Duration::from_millis(350)).await;
    send!(app, new_token).assert_ok("user_new");
    assert_eq!(
        server.jwks_hits(),
        3,
        "exactly one refetch after the cooldown"
    );

    // The withdrawn key no longer verifies, even for a token verified (and cached) before.
    send!(app, old_token).assert_401("jwk-kid-mismatch");
    send!(app, new_token).assert_ok("user_new");
    assert_eq!(server.jwks_hits(), 3);
    assert_eq!(jwks_fetch_count(&config), 3);
}

// ---------------------------------------------------------------------------------------------
// 5. Cold cache, API down or hanging: 503 with Retry-After, quickly.

#[actix_web::test]
async fn cold_cache_with_the_api_down_is_503_not_401() {
    let key = TestKey::generate("ins_down");
    let config = remote(&closed_port_url())
        .jwks_fetch_timeout(Duration::from_millis(300))
        .build()
        .expect("config");
    let app = strict_app!(config);
    let token = key.session_token("user_down").sign();
    let reply = send!(app, token);
    reply.assert_503("jwk-remote-failed-to-load");
    assert!(
        reply.elapsed < Duration::from_secs(2),
        "{:?}",
        reply.elapsed
    );
    assert!(
        reply.header("x-clerk-auth-message").contains("127.0.0.1"),
        "{}",
        reply.everything()
    );
    assert_eq!(jwks_fetch_count(&config), 1);
    // Retried only after the backoff: the next requests are answered at once, without a try.
    for _ in 0..20 {
        let reply = send!(app, with_kid(&token, &random_kid()));
        reply.assert_503("jwk-remote-failed-to-load");
        assert!(reply.elapsed < Duration::from_millis(100));
    }
    assert_eq!(jwks_fetch_count(&config), 1);

    // The lax middleware lets the request through, signed out with the same reason.
    let lax = test::init_service(App::new().wrap(ClerkWithAuth::new(config.clone())).route(
        "/me",
        web::get().to(|auth: web::ReqData<Auth>| async move {
            auth.reason().map(|r| r.as_str()).unwrap_or("-").to_owned()
        }),
    ))
    .await;
    let reply = send!(lax, token);
    assert_eq!(reply.status, StatusCode::OK);
    assert_eq!(reply.body, "jwk-remote-failed-to-load");
}

#[actix_web::test]
async fn cold_cache_with_a_hanging_api_is_503_within_the_fetch_timeout() {
    let key = TestKey::generate("ins_hang");
    let server = TestBackendApi::start_with(JwksMode::Hang);
    let config = remote(server.url())
        .jwks_fetch_timeout(Duration::from_millis(300))
        .build()
        .expect("config");
    let app = strict_app!(config);
    let token = key.session_token("user_hang").sign();
    let started = Instant::now();
    let requests: Vec<_> = (0..50)
        .map(|_| {
            let req = test::TestRequest::get()
                .uri("/me")
                .insert_header((header::AUTHORIZATION, format!("Bearer {token}")))
                .to_request();
            test::call_service(&app, req)
        })
        .collect();
    let replies = futures_util::future::join_all(requests).await;
    let elapsed = started.elapsed();
    for res in replies {
        assert_eq!(res.status(), StatusCode::SERVICE_UNAVAILABLE);
        assert!(res.headers().get(header::RETRY_AFTER).is_some());
        assert_eq!(
            res.headers()
                .get("x-clerk-auth-reason")
                .map(|v| v.as_bytes()),
            Some(&b"jwk-remote-failed-to-load"[..])
        );
    }
    assert!(
        elapsed >= Duration::from_millis(290) && elapsed < Duration::from_secs(2),
        "{elapsed:?}"
    );
    assert_eq!(
        server.jwks_hits(),
        1,
        "the 50 requests shared one (hanging) fetch"
    );
    let reply = send!(app, token);
    reply.assert_503("jwk-remote-failed-to-load");
    assert!(reply.elapsed < Duration::from_millis(100));
    assert!(
        reply.header("x-clerk-auth-message").contains("127.0.0.1"),
        "{}",
        reply.everything()
    );
    assert_eq!(server.jwks_hits(), 1);
}

// ---------------------------------------------------------------------------------------------
// 6. `clerk_key_invalid`.

#[actix_web::test]
async fn clerk_key_invalid_is_secret_key_invalid() {
    let key = TestKey::generate("ins_badkey");
    let server = TestBackendApi::start_with(JwksMode::Status(401, clerk_key_invalid_body()));
    let config = remote(server.url()).build().expect("config");
    let app = strict_app!(config);
    let reply = send!(app, key.session_token("user_1").sign());
    reply.assert_503("secret-key-invalid");
    assert_eq!(reply.header("x-clerk-auth-status"), "signed-out");
    assert!(
        reply
            .header("x-clerk-auth-message")
            .starts_with("The provided secret key is invalid."),
        "{}",
        reply.everything()
    );

    let fresh = remote(server.url()).build().expect("config");
    let err = fresh.warm_up().await.expect_err("warm-up must fail");
    assert_eq!(err.reason(), Some(Reason::SecretKeyInvalid));
    assert_eq!(err.message(), "The provided secret key is invalid.");
    assert!(err.to_string().contains("secret-key-invalid"), "{err}");

    // Another 401 body is an ordinary load failure.
    server.set_jwks(JwksMode::Status(
        401,
        "{\"errors\":[{\"code\":\"other\"}]}".into(),
    ));
    let other = remote(server.url()).build().expect("config");
    let err = other.warm_up().await.expect_err("warm-up must fail");
    assert_eq!(err.reason(), Some(Reason::RemoteJwkFailedToLoad));

    // A working API: warm-up succeeds and the first request needs no fetch.
    server.set_jwks(JwksMode::Keys(vec![key.jwk()]));
    let good = remote(server.url()).build().expect("config");
    good.warm_up().await.expect("warm-up");
    assert_eq!(jwks_fetch_count(&good), 1);
    let app = strict_app!(good);
    send!(app, key.session_token("user_1").sign()).assert_ok("user_1");
    assert_eq!(jwks_fetch_count(&good), 1);
}

// ---------------------------------------------------------------------------------------------
// 7. Configurations never share keys.

#[actix_web::test]
async fn two_configurations_never_share_keys() {
    let a = TestKey::generate("ins_shared");
    let a_only = TestKey::generate("ins_only_a");
    let b = TestKey::generate("ins_shared");
    let server_a = TestBackendApi::start_with(JwksMode::Keys(vec![a.jwk(), a_only.jwk()]));
    let server_b = TestBackendApi::start_with(JwksMode::Keys(vec![b.jwk()]));
    let config_a = ClerkConfig::builder()
        .secret_key("sk_test_aaaa")
        .api_url(server_a.url())
        .build()
        .expect("config A");
    let config_b = ClerkConfig::builder()
        .secret_key("sk_test_bbbb")
        .api_url(server_b.url())
        .build()
        .expect("config B");
    let app_a = strict_app!(config_a);
    let app_b = strict_app!(config_b);
    let token_a = a.session_token("user_a").sign();
    let token_b = b.session_token("user_b").sign();
    let token_a_only = a_only.session_token("user_a2").sign();

    send!(app_a, token_a).assert_ok("user_a");
    send!(app_a, token_a_only).assert_ok("user_a2");
    send!(app_b, token_b).assert_ok("user_b");
    // Same kid, other key: the signature does not verify.
    send!(app_b, token_a).assert_401("token-invalid-signature");
    send!(app_a, token_b).assert_401("token-invalid-signature");
    // A kid only A's instance has.
    send!(app_b, token_a_only).assert_401("jwk-kid-mismatch");
    // Each store asked its own server with its own secret key, once.
    assert_eq!((server_a.jwks_hits(), server_b.jwks_hits()), (1, 1));
    assert_eq!(
        server_a.last_jwks_authorization().as_deref(),
        Some("Bearer sk_test_aaaa")
    );
    assert_eq!(
        server_b.last_jwks_authorization().as_deref(),
        Some("Bearer sk_test_bbbb")
    );
    // Clones share their configuration's store.
    let clone_b = config_b.clone();
    let app_b2 = strict_app!(clone_b);
    send!(app_b2, token_b).assert_ok("user_b");
    assert_eq!(server_b.jwks_hits(), 1);
}

// ---------------------------------------------------------------------------------------------
// 8. The secret key on the wire, and nowhere else.

#[actix_web::test]
async fn secret_key_is_sent_as_bearer_and_never_echoed() {
    const TOP: &str = "sk_test_TopSecretValue0123456789";
    let key = TestKey::generate("ins_secret");
    let server = TestBackendApi::start_with(JwksMode::Keys(vec![key.jwk()]));
    let builder = || ClerkConfig::builder().secret_key(TOP).api_url(server.url());
    let config = builder().build().expect("config");
    let app = strict_app!(config);
    let token = key.session_token("user_s").sign();
    let mut replies = vec![send!(app, token), send!(app, with_kid(&token, "nope"))];
    assert_eq!(
        server.last_jwks_authorization().as_deref(),
        Some(format!("Bearer {TOP}").as_str())
    );

    for mode in [
        JwksMode::Status(500, "{\"errors\":[{\"code\":\"internal\"}]}".into()),
        JwksMode::Status(401, clerk_key_invalid_body()),
        JwksMode::InvalidJson,
        JwksMode::Empty,
    ] {
        server.set_jwks(mode);
        let config = builder().build().expect("config");
        let app = strict_app!(config);
        replies.push(send!(app, token));
        let err = config.warm_up().await.expect_err("warm-up fails");
        let shown = format!("{err} {err:?} {}", err.message());
        assert!(!shown.contains("TopSecret"), "{shown}");
    }
    assert_eq!(replies.len(), 6);
    for reply in &replies {
        let all = reply.everything();
        assert!(!all.contains("TopSecret"), "{all}");
    }
    assert!(!format!("{config:?}").contains("TopSecret"));
}

// ---------------------------------------------------------------------------------------------
// 9. Refresh ahead.

#[actix_web::test]
async fn refresh_ahead_runs_in_the_background() {
    let key = TestKey::generate("ins_ahead");
    let next = TestKey::generate("ins_next");
    let server = TestBackendApi::start_with(JwksMode::Keys(vec![key.jwk()]));
    let config = remote(server.url())
        .jwks_cache_ttl(Duration::from_millis(400))
        .jwks_fetch_timeout(Duration::from_secs(3))
        .build()
        .expect("config");
    let app = strict_app!(config);
    let token = key.session_token("user_ahead").sign();
    send!(app, token).assert_ok("user_ahead");
    assert_eq!(server.jwks_hits(), 1);

    server.set_jwks_delay(Duration::from_secs(1));
    server.set_jwks(JwksMode::Keys(vec![key.jwk(), next.jwk()]));
    actix_web::rt::time::sleep(Duration::from_millis(350)).await;
    // Past 80 % of the TTL: this request (a token already verified once) does not wait...
    let reply = send!(app, token);
    reply.assert_ok("user_ahead");
    assert!(
        reply.elapsed < Duration::from_millis(200),
        "{:?}",
        reply.elapsed
    );
    // ...and a refresh is on its way.
    assert_eq!(
        wait_for_hits(&server, 2, Duration::from_millis(500)).await,
        2
    );
    // While it runs, more requests (cached or not) neither wait nor start another one.
    for i in 0..20 {
        let reply = send!(app, key.session_token(format!("user_{i}")).sign());
        reply.assert_ok(&format!("user_{i}"));
        assert!(reply.elapsed < Duration::from_millis(200));
    }
    assert_eq!(server.jwks_hits(), 2);

    // Once it lands, the new key is there without another fetch (its kid is not "unknown").
    let deadline = Instant::now() + Duration::from_secs(2);
    let next_token = next.session_token("user_next").sign();
    loop {
        let reply = send!(app, next_token);
        if reply.status == StatusCode::OK || Instant::now() > deadline {
            reply.assert_ok("user_next");
            break;
        }
        actix_web::rt::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(server.jwks_hits(), 2);
    assert_eq!(jwks_fetch_count(&config), 2);
}

#[std::prelude::v1::test]
fn an_interrupted_refresh_does_not_block_later_ones() {
    let key = TestKey::generate("ins_interrupt");
    let server = TestBackendApi::start_with(JwksMode::Keys(vec![key.jwk()]));
    let config = remote(server.url())
        .jwks_cache_ttl(Duration::from_millis(300))
        .jwks_fetch_timeout(Duration::from_secs(3))
        .build()
        .expect("config");
    let token = key.session_token("user_i").sign();
    // A worker starts a refresh ahead and stops (its runtime goes away) before it lands.
    actix_web::rt::System::new().block_on(async {
        let app = strict_app!(config);
        send!(app, token).assert_ok("user_i");
        server.set_jwks_delay(Duration::from_secs(2));
        actix_web::rt::time::sleep(Duration::from_millis(260)).await;
        send!(app, token).assert_ok("user_i");
        assert_eq!(
            wait_for_hits(&server, 2, Duration::from_millis(500)).await,
            2
        );
    });
    server.set_jwks_delay(Duration::ZERO);
    // Another worker, same configuration: the next request starts a new refresh.
    actix_web::rt::System::new().block_on(async {
        let app = strict_app!(config);
        send!(app, token).assert_ok("user_i");
        assert_eq!(
            wait_for_hits(&server, 3, Duration::from_millis(500)).await,
            3
        );
    });
    assert_eq!(jwks_fetch_count(&config), 3);
}

// ---------------------------------------------------------------------------------------------
// 10. Keys that do not parse are skipped.

#[actix_web::test]
async fn unparsable_keys_are_skipped() {
    let key = TestKey::generate("ins_good");
    let mut garbage_rsa = key.jwk();
    garbage_rsa["kid"] = json!("ins_garbage");
    garbage_rsa["n"] = json!("!!! not base64 !!!");
    let mut unknown_alg = key.jwk();
    unknown_alg["kid"] = json!("ins_hs");
    unknown_alg["alg"] = json!("HS256");
    let garbage = vec![
        garbage_rsa,
        unknown_alg,
        json!({"kty": "EC", "kid": "ins_ec", "crv": "P-256", "x": "AA", "y": "AA"}),
        json!({"kid": "ins_bare"}),
        json!({"kty": "RSA", "kid": 7, "n": 1, "e": null}),
        json!(42),
        json!("text"),
        json!(null),
    ];
    let mut keys = garbage.clone();
    keys.insert(3, key.jwk());
    let server = TestBackendApi::start_with(JwksMode::Keys(keys));
    let config = remote(server.url()).build().expect("config");
    let app = strict_app!(config);
    let token = key.session_token("user_good").sign();
    send!(app, token).assert_ok("user_good");
    send!(app, with_kid(&token, "ins_garbage")).assert_401("jwk-kid-mismatch");
    send!(app, with_kid(&token, "ins_hs")).assert_401("jwk-kid-mismatch");
    assert_eq!(server.jwks_hits(), 1);

    // Only garbage: a failed fetch (no usable key), not a key set that rejects everything.
    let server = TestBackendApi::start_with(JwksMode::Keys(garbage));
    let config = remote(server.url()).build().expect("config");
    let app = strict_app!(config);
    let reply = send!(app, token);
    reply.assert_503("jwk-remote-failed-to-load");
    assert!(
        reply
            .header("x-clerk-auth-message")
            .contains("did not contain any signing keys"),
        "{}",
        reply.everything()
    );
}

fn jwks_fetch_count(config: &ClerkConfig) -> u64 {
    config.stats().jwks_fetches
}
