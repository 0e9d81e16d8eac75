//! The shared store (feature `redis`, contract §14), in process: several "instances" (each its
//! own configuration, caches and Redis connection) against one real Redis (started here on a
//! free port) and one Backend API stand-in.
//!
//! - machine tokens: a burst of one new API key over four instances makes one upstream call; a
//!   revocation is seen by every instance within the TTL; the deployment's per-second bound;
//!   an answer moved or forged in Redis never signs a request in; Redis down or hung costs at
//!   most the store's timeout, then each instance decides alone;
//! - webhooks: one delivery sent to two instances at once runs its handler once (the other
//!   answer is `409` in-progress or `200` already-processed), a failing handler's delivery
//!   runs again on the retry, a duplicate after completion is `200` without the handler, and
//!   with Redis down every delivery is still handled.
//!
//! `redis-server` is installed by `scripts/install-redis.sh` when missing; the tests fail,
//! never skip, without it.

#[path = "support/redis.rs"]
mod redis_server;

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use actix_clerk::testing::{JwksMode, TestBackendApi, TestWebhookSecret, VerifyEndpoint};
use actix_clerk::{
    Accepts, Auth, ClerkConfig, ClerkRequireAuth, ClerkWebhook, SharedStore, WebhookVerifier,
};
use actix_web::dev::{Service, ServiceResponse};
use actix_web::{test, web, App, HttpResponse};
use redis_server::RedisServer;
use serde_json::json;

const AK: VerifyEndpoint = VerifyEndpoint::ApiKeys;

fn store(redis: &RedisServer) -> SharedStore {
    SharedStore::redis(&redis.url()).expect("store")
}

fn config(server: &TestBackendApi, store: Option<SharedStore>) -> ClerkConfig {
    let mut b = server
        .config()
        .machine_token_verify_limits(64, 10_000)
        .machine_token_cache_ttl(Duration::from_secs(10));
    if let Some(store) = store {
        b = b.shared_store(store);
    }
    b.build().expect("config")
}

async fn who(auth: web::ReqData<Auth>) -> HttpResponse {
    HttpResponse::Ok().json(json!({ "userId": auth.user_id() }))
}

async fn app(
    cfg: ClerkConfig,
) -> impl Service<actix_http::Request, Response = ServiceResponse, Error = actix_web::Error> {
    let mw = ClerkRequireAuth::new(cfg)
        .accepts(Accepts::Kind(actix_clerk::TokenKind::ApiKey))
        .expect("accepts");
    test::init_service(App::new().service(web::resource("/r").wrap(mw).to(who))).await
}

fn bearer(token: &str) -> actix_http::Request {
    test::TestRequest::get()
        .uri("/r")
        .insert_header(("authorization", format!("Bearer {token}")))
        .to_request()
}

fn stand_in() -> TestBackendApi {
    TestBackendApi::start_with(JwksMode::Empty)
}

#[actix_web::test]
async fn a_new_api_key_on_four_instances_is_verified_once() {
    let redis = RedisServer::start();
    let server = stand_in();
    server.set_verify_delay(Duration::from_millis(200));
    let key = server.api_key("user_burst").issue();
    let configs: Vec<ClerkConfig> = (0..4)
        .map(|_| config(&server, Some(store(&redis))))
        .collect();
    let mut apps = Vec::new();
    for cfg in &configs {
        apps.push(app(cfg.clone()).await);
    }
    let answers = futures_util::future::join_all(
        (0..400).map(|i| test::call_service(&apps[i % 4], bearer(&key))),
    )
    .await;
    assert!(answers.iter().all(|r| r.status() == 200), "all signed in");
    assert_eq!(
        server.verify_hits(AK),
        1,
        "one upstream call for the deployment"
    );
    let made: u64 = configs
        .iter()
        .map(|c| c.stats().machine_token_verifications)
        .sum();
    assert_eq!(made, 1);
    let stats: Vec<_> = configs
        .iter()
        .map(|c| c.stats().shared_store.expect("shared store stats"))
        .collect();
    assert_eq!(
        stats.iter().map(|s| s.machine_answers_written).sum::<u64>(),
        1
    );
    // Every other instance took the answer from the store (after waiting for it).
    assert!(
        stats
            .iter()
            .all(|s| s.machine_answers_written == 1 || s.machine_answers_shared >= 1),
        "{stats:?}"
    );

    // Without the store: one call per instance.
    let key = server.api_key("user_alone").issue();
    let before = server.verify_hits(AK);
    let mut alone = Vec::new();
    for _ in 0..4 {
        alone.push(app(config(&server, None)).await);
    }
    let answers = futures_util::future::join_all(
        (0..400).map(|i| test::call_service(&alone[i % 4], bearer(&key))),
    )
    .await;
    assert!(answers.iter().all(|r| r.status() == 200));
    assert_eq!(server.verify_hits(AK) - before, 4, "one call per instance");
    println!("shared store: 400 requests, one new API key, 4 instances: 1 upstream call (4 without the store)");
}

#[actix_web::test]
async fn refusals_and_revocations_are_shared_within_their_ttl() {
    let redis = RedisServer::start();
    let server = stand_in();
    let ttl = Duration::from_millis(600);
    let build = |server: &TestBackendApi| {
        server
            .config()
            .machine_token_cache_ttl(ttl)
            .machine_token_negative_ttl(Duration::from_secs(5))
            .shared_store(store(&redis))
            .build()
            .expect("config")
    };
    let a = app(build(&server)).await;
    let b = app(build(&server)).await;

    // An unknown key: refused by A's call, B takes the shared refusal.
    assert_eq!(
        test::call_service(&a, bearer("ak_unknown_key"))
            .await
            .status(),
        401
    );
    assert_eq!(
        test::call_service(&b, bearer("ak_unknown_key"))
            .await
            .status(),
        401
    );
    assert_eq!(server.verify_hits(AK), 1);

    // A valid key, then revoked: B serves A's answer until the TTL ends, then both refuse
    // after one more call.
    let key = server.api_key("user_revoked").issue();
    assert_eq!(test::call_service(&a, bearer(&key)).await.status(), 200);
    server.revoke(&key);
    assert_eq!(test::call_service(&b, bearer(&key)).await.status(), 200);
    assert_eq!(server.verify_hits(AK), 2);
    tokio::time::sleep(ttl + Duration::from_millis(100)).await;
    assert_eq!(test::call_service(&b, bearer(&key)).await.status(), 401);
    assert_eq!(test::call_service(&a, bearer(&key)).await.status(), 401);
    assert_eq!(server.verify_hits(AK), 3, "the revocation seen by one call");
}

#[actix_web::test]
async fn the_per_second_bound_holds_for_the_deployment() {
    let redis = RedisServer::start();
    let server = stand_in();
    let build = || {
        server
            .config()
            .machine_token_verify_limits(64, 5)
            .shared_store(store(&redis))
            .build()
            .expect("config")
    };
    let a = app(build()).await;
    let b = app(build()).await;
    let keys: Vec<String> = (0..20)
        .map(|i| server.api_key(format!("user_{i}")).issue())
        .collect();
    // Aligned to the start of a second, so the 20 requests fall in one.
    let ms = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("clock")
        .subsec_millis();
    tokio::time::sleep(Duration::from_millis(u64::from(1_000 - ms) + 20)).await;
    let answers = futures_util::future::join_all(
        keys.iter()
            .enumerate()
            .map(|(i, k)| test::call_service(if i % 2 == 0 { &a } else { &b }, bearer(k))),
    )
    .await;
    let ok = answers.iter().filter(|r| r.status() == 200).count();
    let refused = answers.iter().filter(|r| r.status() == 503).count();
    assert_eq!(
        ok + refused,
        20,
        "signed in or refused for now, nothing else"
    );
    assert!(
        server.verify_hits(AK) <= 5,
        "5 a second for the deployment, got {}",
        server.verify_hits(AK)
    );
    assert_eq!(ok as u64, server.verify_hits(AK));
    println!("shared store: 20 new keys on 2 instances, bound 5/s: {ok} verified, {refused} refused (503)");
}

#[actix_web::test]
async fn answers_moved_or_forged_in_redis_never_sign_in() {
    let redis = RedisServer::start();
    let server = stand_in();
    let valid = server.api_key("user_valid").issue();
    // A verifies a valid key and refuses an unknown one: both answers are in Redis.
    let a = app(config(&server, Some(store(&redis)))).await;
    assert_eq!(test::call_service(&a, bearer(&valid)).await.status(), 200);
    assert_eq!(
        test::call_service(&a, bearer("ak_forged_target"))
            .await
            .status(),
        401
    );
    let keys = redis.command(&["KEYS", "clerk:*:mt:*"]);
    let mut names: Vec<&str> = keys
        .lines()
        .filter(|l| l.contains(":mt:") && !l.contains(":rate:") && !l.ends_with(":lock"))
        .collect();
    names.sort();
    assert_eq!(names.len(), 2, "two answers stored: {keys}");
    assert!(!keys.contains(&valid), "no token in clear in the keys");
    // The valid key's answer copied, byte for byte, onto the unknown key's.
    let (valid_name, target_name) = if redis.command(&["GET", names[0]]).contains("user_valid") {
        (names[0], names[1])
    } else {
        (names[1], names[0])
    };
    redis.command(&["COPY", valid_name, target_name, "REPLACE"]);
    redis.command(&["PEXPIRE", target_name, "60000"]);
    // B (its own cache) never signs the unknown key in with the moved answer.
    let b = app(config(&server, Some(store(&redis)))).await;
    let before = server.verify_hits(AK);
    assert_eq!(
        test::call_service(&b, bearer("ak_forged_target"))
            .await
            .status(),
        401
    );
    assert_eq!(server.verify_hits(AK), before + 1, "B verified it itself");
    let forged = json!({"until": u64::MAX, "ok": {"kind": "api_key", "subject": "user_evil"}});
    for name in &names {
        redis.command(&[
            "SET",
            name,
            &format!("0123456789abcdef{forged}"),
            "PX",
            "60000",
        ]);
    }
    let c = app(config(&server, Some(store(&redis)))).await;
    assert_eq!(
        test::call_service(&c, bearer("ak_forged_target"))
            .await
            .status(),
        401
    );
}

#[actix_web::test]
async fn redis_down_or_hung_costs_at_most_the_timeout() {
    let mut redis = RedisServer::start();
    let server = stand_in();
    let shared = store(&redis).timeout(Duration::from_millis(100));
    let cfg = config(&server, Some(shared.clone()));
    let a = app(cfg).await;
    let warm = server.api_key("user_warm").issue();
    assert_eq!(test::call_service(&a, bearer(&warm)).await.status(), 200);

    redis.stop();
    for (i, what) in ["down", "down again"].iter().enumerate() {
        let key = server.api_key(format!("user_down_{i}")).issue();
        let started = Instant::now();
        let res = test::call_service(&a, bearer(&key)).await;
        assert_eq!(res.status(), 200, "{what}: decided alone");
        assert!(
            started.elapsed() < Duration::from_millis(600),
            "{what}: {:?}",
            started.elapsed()
        );
    }
    assert!(shared.stats().failures + shared.stats().skipped >= 2);

    // Hung: a listener that accepts and never answers.
    redis.restart();
    let hung = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let hung_url = format!("redis://{}", hung.local_addr().expect("addr"));
    let cfg = config(
        &server,
        Some(
            SharedStore::redis(&hung_url)
                .expect("store")
                .timeout(Duration::from_millis(100)),
        ),
    );
    let h = app(cfg).await;
    let key = server.api_key("user_hung").issue();
    let started = Instant::now();
    assert_eq!(test::call_service(&h, bearer(&key)).await.status(), 200);
    assert!(
        started.elapsed() < Duration::from_millis(800),
        "{:?}",
        started.elapsed()
    );
    // Invalid keys stay refused whatever the store does.
    assert_eq!(
        test::call_service(&h, bearer("ak_nobody")).await.status(),
        401
    );
    drop(hung);
}

// ---------------------------------------------------------------------------------------------
// Webhooks
// ---------------------------------------------------------------------------------------------

async fn webhook_app(
    verifier: WebhookVerifier,
    runs: Arc<AtomicU64>,
    delay: Duration,
) -> impl Service<actix_http::Request, Response = ServiceResponse, Error = actix_web::Error> {
    test::init_service(
        App::new().app_data(web::Data::new(runs)).service(
            web::resource("/webhooks")
                .wrap(verifier.once())
                .route(web::post().to(
                    move |event: ClerkWebhook, runs: web::Data<Arc<AtomicU64>>| async move {
                        runs.fetch_add(1, Ordering::SeqCst);
                        tokio::time::sleep(delay).await;
                        if event.data()["fail"] == json!(true) {
                            HttpResponse::InternalServerError().finish()
                        } else {
                            HttpResponse::Ok().json(json!({"processed": event.delivery_id()}))
                        }
                    },
                )),
        ),
    )
    .await
}

#[actix_web::test]
async fn one_delivery_on_two_instances_runs_once() {
    let redis = RedisServer::start();
    let secret = TestWebhookSecret::generate();
    let runs = Arc::new(AtomicU64::new(0));
    let delay = Duration::from_millis(150);
    let a = webhook_app(
        secret.verifier().shared_store(store(&redis)),
        runs.clone(),
        delay,
    )
    .await;
    let b = webhook_app(
        secret.verifier().shared_store(store(&redis)),
        runs.clone(),
        delay,
    )
    .await;

    let event = json!({"type": "user.created", "object": "event", "data": {"id": "user_1"}});
    let delivery = secret.delivery(event);
    let (ra, rb) = tokio::join!(
        test::call_service(&a, delivery.to_request("/webhooks").to_request()),
        test::call_service(&b, delivery.to_request("/webhooks").to_request()),
    );
    let mut statuses = [ra.status().as_u16(), rb.status().as_u16()];
    statuses.sort_unstable();
    assert!(
        statuses == [200, 409] || statuses == [200, 200],
        "{statuses:?}"
    );
    assert_eq!(runs.load(Ordering::SeqCst), 1, "the handler ran once");
    // Re-sent after completion, to either: 200 already processed, no run.
    for app in [&a, &b] {
        let res = test::call_service(app, delivery.to_request("/webhooks").to_request()).await;
        assert_eq!(res.status(), 200);
        let body = test::read_body(res).await;
        assert_eq!(body, r#"{"status":"already_processed"}"#);
    }
    assert_eq!(runs.load(Ordering::SeqCst), 1);

    // A failing handler releases the delivery: the retry, on the other instance, runs it again.
    let failing =
        secret.delivery(json!({"type": "user.created", "object": "event", "data": {"fail": true}}));
    let res = test::call_service(&a, failing.to_request("/webhooks").to_request()).await;
    assert_eq!(res.status(), 500);
    let res = test::call_service(&b, failing.to_request("/webhooks").to_request()).await;
    assert_eq!(res.status(), 500);
    assert_eq!(
        runs.load(Ordering::SeqCst),
        3,
        "the failed delivery ran again"
    );
}

#[actix_web::test]
async fn without_redis_deliveries_are_still_handled_and_deduplicated_per_instance() {
    let mut redis = RedisServer::start();
    let secret = TestWebhookSecret::generate();
    let runs = Arc::new(AtomicU64::new(0));
    let shared = store(&redis).timeout(Duration::from_millis(100));
    let a = webhook_app(
        secret.verifier().shared_store(shared.clone()),
        runs.clone(),
        Duration::ZERO,
    )
    .await;
    redis.stop();
    let mut ids = Vec::new();
    let started = Instant::now();
    for i in 0..20 {
        let delivery =
            secret.delivery(json!({"type": "user.created", "object": "event", "data": {"id": i}}));
        let res = test::call_service(&a, delivery.to_request("/webhooks").to_request()).await;
        assert_eq!(res.status(), 200, "handled while Redis is down");
        ids.push(delivery);
    }
    assert_eq!(runs.load(Ordering::SeqCst), 20);
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "{:?}",
        started.elapsed()
    );
    // The instance's own record still knows what it processed.
    let res = test::call_service(&a, ids[0].to_request("/webhooks").to_request()).await;
    assert_eq!(res.status(), 200);
    assert_eq!(runs.load(Ordering::SeqCst), 20);
    assert!(shared.stats().failures >= 1);

    // In process, without any store: once per process.
    let local_runs = Arc::new(AtomicU64::new(0));
    let local = webhook_app(secret.verifier(), local_runs.clone(), Duration::ZERO).await;
    let delivery = secret.delivery(json!({"type": "user.deleted", "object": "event", "data": {}}));
    for _ in 0..3 {
        let res = test::call_service(&local, delivery.to_request("/webhooks").to_request()).await;
        assert_eq!(res.status(), 200);
    }
    assert_eq!(local_runs.load(Ordering::SeqCst), 1);
}

/// The store goes away while a handler runs: the delivery's record is written once it is back
/// (retried after the back-off), so the other instances answer `already_processed` instead of
/// running it again when the claim's lease ends.
#[actix_web::test]
async fn a_processed_mark_that_missed_redis_is_written_when_it_is_back() {
    let redis = Arc::new(parking_lot::Mutex::new(RedisServer::start()));
    let url = redis.lock().url();
    let secret = TestWebhookSecret::generate();
    let verifier = secret
        .verifier()
        .shared_store(SharedStore::redis(&url).expect("store"))
        .delivery_lease(Duration::from_secs(60));
    let in_handler = redis.clone();
    let app =
        test::init_service(
            App::new().service(web::resource("/webhooks").wrap(verifier.once()).route(
                web::post().to(move |_: ClerkWebhook| {
                    let redis = in_handler.clone();
                    async move {
                        // Redis stops while the handler works; it is back 300 ms later.
                        redis.lock().stop();
                        let again = redis.clone();
                        std::thread::spawn(move || {
                            std::thread::sleep(Duration::from_millis(300));
                            again.lock().restart();
                        });
                        HttpResponse::Ok().finish()
                    }
                }),
            )),
        )
        .await;
    let delivery =
        secret.delivery(json!({"type": "user.created", "object": "event", "data": {"id": "u"}}));
    let res = test::call_service(&app, delivery.to_request("/webhooks").to_request()).await;
    assert_eq!(res.status(), 200);
    // The restarted Redis is empty (no persistence): the claim went with it, and the retried
    // mark writes `d`.
    let deadline = Instant::now() + Duration::from_secs(8);
    loop {
        let keys = redis
            .lock()
            .try_command(&["KEYS", "clerk:*:wh:*"])
            .unwrap_or_default();
        let key = keys.lines().next().map(str::to_owned);
        if let Some(key) = key {
            if redis.lock().command(&["GET", &key]) == "d" {
                break;
            }
        }
        assert!(
            Instant::now() < deadline,
            "the processed mark never reached Redis"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    // Another instance now answers the duplicate without running anything.
    let runs = Arc::new(AtomicU64::new(0));
    let other = webhook_app(
        secret
            .verifier()
            .shared_store(SharedStore::redis(&url).expect("store")),
        runs.clone(),
        Duration::ZERO,
    )
    .await;
    let res = test::call_service(&other, delivery.to_request("/webhooks").to_request()).await;
    assert_eq!(res.status(), 200);
    assert_eq!(runs.load(Ordering::SeqCst), 0);
}
