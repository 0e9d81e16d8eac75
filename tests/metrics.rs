// The `metrics` feature (`cargo test --features metrics --test metrics`): decisions counted by
// outcome and reason, JWKS fetches counted and timed, seen by a recorder installed like any
// application's.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use actix_clerk::testing::{JwksMode, TestBackendApi, TestKey};
use actix_clerk::{Auth, ClerkConfig, ClerkWithAuth};
use actix_web::http::header;
use actix_web::{test, web, App};
use metrics::{
    Counter, CounterFn, Gauge, GaugeFn, Histogram, HistogramFn, Key, KeyName, Metadata, Recorder,
    SharedString, Unit,
};

/// One series: a counter's total, or a histogram's number of samples.
#[derive(Default)]
struct Series(AtomicU64);

impl CounterFn for Series {
    fn increment(&self, value: u64) {
        self.0.fetch_add(value, Ordering::SeqCst);
    }
    fn absolute(&self, value: u64) {
        self.0.fetch_max(value, Ordering::SeqCst);
    }
}

impl HistogramFn for Series {
    fn record(&self, _value: f64) {
        self.0.fetch_add(1, Ordering::SeqCst);
    }
}

impl GaugeFn for Series {
    fn increment(&self, _: f64) {}
    fn decrement(&self, _: f64) {}
    fn set(&self, _: f64) {}
}

/// Series by `name{label=value,…}`.
#[derive(Default, Clone)]
struct TestRecorder(Arc<Mutex<BTreeMap<String, Arc<Series>>>>);

impl TestRecorder {
    fn series(&self, key: &Key) -> Arc<Series> {
        let labels: Vec<String> = key
            .labels()
            .map(|l| format!("{}={}", l.key(), l.value()))
            .collect();
        let name = format!("{}{{{}}}", key.name(), labels.join(","));
        let mut map = self.0.lock().expect("lock");
        Arc::clone(map.entry(name).or_default())
    }

    fn value(&self, name: &str) -> u64 {
        let map = self.0.lock().expect("lock");
        map.get(name).map_or(0, |s| s.0.load(Ordering::SeqCst))
    }
}

impl Recorder for TestRecorder {
    fn describe_counter(&self, _: KeyName, _: Option<Unit>, _: SharedString) {}
    fn describe_gauge(&self, _: KeyName, _: Option<Unit>, _: SharedString) {}
    fn describe_histogram(&self, _: KeyName, _: Option<Unit>, _: SharedString) {}
    fn register_counter(&self, key: &Key, _: &Metadata<'_>) -> Counter {
        Counter::from_arc(self.series(key))
    }
    fn register_gauge(&self, key: &Key, _: &Metadata<'_>) -> Gauge {
        Gauge::from_arc(self.series(key))
    }
    fn register_histogram(&self, key: &Key, _: &Metadata<'_>) -> Histogram {
        Histogram::from_arc(self.series(key))
    }
}

async fn me(auth: Auth) -> String {
    auth.user_id().unwrap_or("-").to_owned()
}

#[actix_web::test]
async fn decisions_and_key_fetches_are_counted() {
    let recorder = TestRecorder::default();
    metrics::set_global_recorder(recorder.clone()).expect("the only recorder of this test binary");

    let key = TestKey::generate("ins_metrics");
    let server = TestBackendApi::start_with(JwksMode::Keys(vec![key.jwk()]));
    let config = ClerkConfig::builder()
        .secret_key("sk_test_metrics")
        .api_url(server.url())
        .build()
        .expect("config");
    let app = test::init_service(
        App::new()
            .wrap(ClerkWithAuth::new(config))
            .route("/me", web::get().to(me)),
    )
    .await;
    let token = key.session_token("user_1").sign();
    for _ in 0..3 {
        let req = test::TestRequest::get()
            .uri("/me")
            .insert_header((header::AUTHORIZATION, format!("Bearer {token}")))
            .to_request();
        assert_eq!(test::call_and_read_body(&app, req).await, "user_1");
    }
    for _ in 0..2 {
        let req = test::TestRequest::get().uri("/me").to_request();
        assert_eq!(test::call_and_read_body(&app, req).await, "-");
    }
    let req = test::TestRequest::get()
        .uri("/me")
        .insert_header((header::AUTHORIZATION, "Bearer not.a.token"))
        .to_request();
    assert_eq!(test::call_and_read_body(&app, req).await, "-");

    assert_eq!(
        recorder.value("actix_clerk_requests_total{status=signed-in}"),
        3
    );
    assert_eq!(
        recorder.value(
            "actix_clerk_requests_total{status=signed-out,reason=session-token-and-uat-missing}"
        ),
        2
    );
    assert_eq!(
        recorder.value("actix_clerk_requests_total{status=signed-out,reason=token-invalid}"),
        1
    );
    assert_eq!(
        recorder.value("actix_clerk_jwks_fetches_total{result=ok}"),
        1
    );
    assert_eq!(
        recorder.value("actix_clerk_jwks_fetch_seconds{result=ok}"),
        1
    );
    assert_eq!(
        recorder.value("actix_clerk_jwks_fetches_total{result=error}"),
        0
    );

    // The shared store's events (feature redis): a store nobody answers fails twice, then is
    // skipped during its back-off; every delivery is still handled, by the instance alone.
    let closed = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let url = format!("redis://{}", closed.local_addr().expect("addr"));
    drop(closed);
    let store = actix_clerk::SharedStore::redis(&url)
        .expect("store")
        .timeout(std::time::Duration::from_millis(50));
    let secret = actix_clerk::testing::TestWebhookSecret::generate();
    let verifier = secret.verifier().shared_store(store);
    let app = test::init_service(
        App::new().service(
            web::resource("/webhooks")
                .wrap(verifier.once())
                .route(web::post().to(|_: actix_clerk::ClerkWebhook| async { "ok" })),
        ),
    )
    .await;
    for i in 0..3 {
        let delivery =
            secret.delivery(serde_json::json!({"type": "user.created", "data": {"i": i}}));
        let res = test::call_service(&app, delivery.to_request("/webhooks").to_request()).await;
        assert_eq!(res.status(), 200);
    }
    assert_eq!(
        recorder.value("actix_clerk_shared_store_events_total{event=failure}"),
        2
    );
    assert_eq!(
        recorder.value("actix_clerk_shared_store_events_total{event=skipped}"),
        1
    );
}
