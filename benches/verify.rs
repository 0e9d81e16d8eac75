//! Micro-benchmarks of authenticating one request (`cargo bench --bench verify`, about a minute).
//!
//! Every app answers with the handler a user writes, the one the load test's servers run
//! (`bench/peers/src/handler.rs`: `web::ReqData<Auth>` in, `web::Json` of `{"userId":…}` out;
//! bare: the same body with a constant user id), and each request goes through
//! `actix_web::test::init_service` + `call_service` (no sockets).
//!
//! - `a_require_auth_cache_off`: [`ClerkRequireAuth`] with the verified-token cache off: a fresh
//!   RS256 verification each time.
//! - `b_require_auth_cache_hit`: the same with the cache on (every iteration after the first is
//!   a hit).
//! - `c_bare_app`: the same app without middleware: the cost of the app, the handler and the
//!   test harness.
//! - `d_jsonwebtoken_decode`: the baseline, the same token verified directly with
//!   `jsonwebtoken::decode::<serde_json::Value>` (RS256, `exp` checked).
//! - `f_api_key_cache_hit`: `ClerkRequireAuth` accepting API keys, the key verified once by the
//!   testing kit's Backend API stand-in (127.0.0.1) and then answered from the machine-token
//!   cache; printed last against the bare request and a session token's cache hit.
//! - `e_rs256_signature_only`: `jsonwebtoken::crypto::verify` alone (no decoding, no claims):
//!   the floor both of the above share.
//!
//! After criterion, a short interleaved re-measure in the same run (a and d in turn, then b and
//! c in turn, median of many batches each, so that the noise of a shared machine hits the pairs
//! alike) prints the figures the targets are about: `(a - c) / d` (target ≤ 1.15), and last
//! `cache hit over bare: X.XX µs (ratio R)` = b - c and b / c (target b - c ≤ 0.3 µs, issue 9).

// The load test's handler, shared with bench/peers.
#[allow(dead_code)]
#[path = "../bench/peers/src/handler.rs"]
mod handler;

use std::hint::black_box;
use std::time::{Duration, Instant};

use actix_clerk::testing::{TestBackendApi, TestInstance, TestKey};
use actix_clerk::{Accepts, ClerkConfig, ClerkRequireAuth, TokenKind};
use actix_web::dev::{Service, ServiceResponse};
use actix_web::http::header::AUTHORIZATION;
use actix_web::{test, web, App};
use criterion::Criterion;
use jsonwebtoken::{Algorithm, DecodingKey, Validation};

struct Fixture {
    token: String,
    bearer: String,
    pem: String,
}

fn fixture() -> Fixture {
    let key = TestKey::generate("ins_bench");
    // Bare answers this user id as a constant: every app sends the same bytes.
    // Version 1 claims, as bench/load.sh's tokens (benchtool): the figures stay comparable.
    let token = key.session_token(handler::BARE_USER_ID).v1().sign();
    Fixture {
        bearer: format!("Bearer {token}"),
        token,
        pem: key.public_pem(),
    }
}

fn config(pem: &str, cache: bool) -> ClerkConfig {
    let b = ClerkConfig::builder().jwt_key(pem);
    let b = if cache { b } else { b.disable_token_cache() };
    b.build().expect("valid configuration")
}

/// One request with the token in the Authorization header, answered by `app`.
async fn one_request<S, B>(app: &S, bearer: &str) -> ServiceResponse<B>
where
    S: Service<actix_http::Request, Response = ServiceResponse<B>, Error = actix_web::Error>,
{
    let req = test::TestRequest::get()
        .uri("/")
        .insert_header((AUTHORIZATION, bearer))
        .to_request();
    test::call_service(app, req).await
}

fn main() {
    let fx = fixture();
    let rt = actix_rt::System::new();

    let app_off = rt.block_on(test::init_service(
        App::new()
            .wrap(ClerkRequireAuth::new(config(&fx.pem, false)))
            .route("/", web::get().to(handler::me)),
    ));
    let app_on = rt.block_on(test::init_service(
        App::new()
            .wrap(ClerkRequireAuth::new(config(&fx.pem, true)))
            .route("/", web::get().to(handler::me)),
    ));
    // An API key verified once by the Backend API stand-in, then answered from the
    // machine-token cache (TTL 10 s: one upstream call per 10 s of benchmarking).
    let backend = TestBackendApi::start(&TestInstance::new());
    let api_key = backend.api_key(handler::BARE_USER_ID).issue();
    let api_bearer = format!("Bearer {api_key}");
    let machine_config = backend.config().build().expect("stand-in config");
    let app_api_key = rt.block_on(test::init_service(
        App::new()
            .wrap(
                ClerkRequireAuth::new(machine_config)
                    .accepts(Accepts::Kind(TokenKind::ApiKey))
                    .expect("the stand-in config verifies API keys"),
            )
            .route("/", web::get().to(handler::me)),
    ));
    let app_bare = rt.block_on(test::init_service(
        App::new().route("/", web::get().to(handler::bare_me)),
    ));
    // The token must sign in, or we would time a rejection; all three answer the same bytes.
    let expected = format!(r#"{{"userId":"{}"}}"#, handler::BARE_USER_ID);
    for (name, res) in [
        (
            "cache off",
            rt.block_on(one_request(&app_off, &fx.bearer))
                .map_into_boxed_body(),
        ),
        (
            "cache on",
            rt.block_on(one_request(&app_on, &fx.bearer))
                .map_into_boxed_body(),
        ),
        ("bare", rt.block_on(one_request(&app_bare, &fx.bearer))),
        (
            "API key",
            rt.block_on(one_request(&app_api_key, &api_bearer))
                .map_into_boxed_body(),
        ),
    ] {
        assert_eq!(
            res.status(),
            200,
            "{name}: the benchmark token is not signed in"
        );
        let body = rt.block_on(test::read_body(res));
        assert_eq!(body, expected.as_bytes(), "{name}: another answer");
    }

    let key = DecodingKey::from_rsa_pem(fx.pem.as_bytes()).expect("PEM");
    let validation = Validation::new(Algorithm::RS256); // exp checked (required) by default
    let decoded = jsonwebtoken::decode::<serde_json::Value>(&fx.token, &key, &validation)
        .expect("token verifies");
    assert_eq!(decoded.claims["sub"], handler::BARE_USER_ID);
    let (signed_part, signature) = fx.token.rsplit_once('.').expect("three parts");

    let mut a = || black_box(rt.block_on(one_request(&app_off, &fx.bearer)));
    let mut b = || black_box(rt.block_on(one_request(&app_on, &fx.bearer)));
    let mut c = || black_box(rt.block_on(one_request(&app_bare, &fx.bearer)));
    let mut f = || black_box(rt.block_on(one_request(&app_api_key, &api_bearer)));
    let mut d = || {
        black_box(
            jsonwebtoken::decode::<serde_json::Value>(black_box(&fx.token), &key, &validation)
                .expect("verifies"),
        )
    };
    let mut e = || {
        black_box(
            jsonwebtoken::crypto::verify(
                black_box(signature),
                signed_part.as_bytes(),
                &key,
                Algorithm::RS256,
            )
            .expect("verifies"),
        )
    };

    let mut criterion = Criterion::default()
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(3))
        .configure_from_args();
    {
        let mut group = criterion.benchmark_group("authenticate");
        group.bench_function("a_require_auth_cache_off", |bn| bn.iter(&mut a));
        group.bench_function("b_require_auth_cache_hit", |bn| bn.iter(&mut b));
        group.bench_function("c_bare_app", |bn| bn.iter(&mut c));
        group.bench_function("d_jsonwebtoken_decode", |bn| bn.iter(&mut d));
        group.bench_function("e_rs256_signature_only", |bn| bn.iter(&mut e));
        group.bench_function("f_api_key_cache_hit", |bn| bn.iter(&mut f));
        group.finish();
    }
    criterion.final_summary();

    // `cargo test --benches` runs this in test mode: skip the re-measure there.
    if std::env::args().any(|arg| arg == "--bench") {
        ratios(&mut a, &mut b, &mut c, &mut d);
        let (mut ff, mut fb, mut fc) = (|| drop(f()), || drop(b()), || drop(c()));
        let t = interleaved(&mut [&mut ff, &mut fb, &mut fc], 25, 5_000);
        println!(
            "API key cache hit over bare: {:.2} µs (a session token's cache hit: {:.2} µs; f {:.2} µs, b {:.2} µs, c {:.2} µs)",
            (t[0] - t[2]) / 1e3,
            (t[1] - t[2]) / 1e3,
            t[0] / 1e3,
            t[1] / 1e3,
            t[2] / 1e3
        );
    }
}

/// Median nanoseconds per call of each closure over `rounds` interleaved batches.
fn interleaved(fns: &mut [&mut dyn FnMut()], rounds: usize, batch: usize) -> Vec<f64> {
    let mut samples = vec![Vec::with_capacity(rounds); fns.len()];
    for _ in 0..rounds {
        for (f, s) in fns.iter_mut().zip(samples.iter_mut()) {
            let start = Instant::now();
            for _ in 0..batch {
                f();
            }
            s.push(start.elapsed().as_nanos() as f64 / batch as f64);
        }
    }
    samples
        .into_iter()
        .map(|mut s| {
            s.sort_by(f64::total_cmp);
            s[s.len() / 2]
        })
        .collect()
}

fn ratios<A, B, C, D, RA, RB, RC, RD>(a: &mut A, b: &mut B, c: &mut C, d: &mut D)
where
    A: FnMut() -> RA,
    B: FnMut() -> RB,
    C: FnMut() -> RC,
    D: FnMut() -> RD,
{
    // ~60 ms per batch of the slow ones, ~20 ms of the fast ones; ~6 s in all.
    let (mut fa, mut fd) = (|| drop(a()), || drop(d()));
    let (mut fb, mut fc) = (|| drop(b()), || drop(c()));
    let slow = interleaved(&mut [&mut fa, &mut fd], 25, 200);
    let fast = interleaved(&mut [&mut fb, &mut fc], 25, 5_000);
    let (ta, td) = (slow[0], slow[1]);
    let (tb, tc) = (fast[0], fast[1]);
    println!();
    println!("interleaved re-measure in this run (median of 25 batches each):");
    println!("  a  ClerkRequireAuth, cache off  {:>10.2} µs", ta / 1e3);
    println!("  b  ClerkRequireAuth, cache hit  {:>10.2} µs", tb / 1e3);
    println!("  c  bare app, same handler       {:>10.2} µs", tc / 1e3);
    println!("  d  jsonwebtoken::decode         {:>10.2} µs", td / 1e3);
    let fresh = (ta - tc) / td;
    println!(
        "  fresh verification (a - c) / d = {fresh:.3}  (target <= 1.15: {})",
        if fresh <= 1.15 { "met" } else { "MISSED" }
    );
    let hit = (tb - tc) / 1e3;
    println!(
        "cache hit over bare: {hit:.2} µs (ratio {:.3}; b {:.2} µs, c {:.2} µs; target <= 0.3 µs: {})",
        tb / tc,
        tb / 1e3,
        tc / 1e3,
        if hit <= 0.3 { "met" } else { "MISSED" }
    );
}
