//! Micro-benchmarks of authenticating one request (`cargo bench --bench verify`).
//!
//! - `a_with_auth_cache_off`: a request through an in-process actix app wrapped in
//!   [`ClerkWithAuth`] with the verified-token cache off: a fresh RS256 verification each time.
//! - `b_with_auth_cache_on`: the same with the cache on (every iteration after the first is a hit).
//! - `c_bare_app`: the same app without middleware: the cost of the app and the test harness.
//! - `d_jsonwebtoken_decode`: the baseline, the same token verified directly with
//!   `jsonwebtoken::decode::<serde_json::Value>` (RS256, `exp` checked).
//! - `e_rs256_signature_only`: `jsonwebtoken::crypto::verify` alone (no decoding, no claims):
//!   the floor both of the above share.
//!
//! After criterion, a short interleaved re-measure (a, b, c, d in turn, median of many batches,
//! so that the noise of a shared machine hits all four alike) prints the two figures the
//! targets are about: `(a - c) / d` (target ≤ 1.15) and `b - c` (target ≤ 2 µs).

#[path = "../tests/support/mod.rs"]
mod support;

use std::hint::black_box;
use std::time::{Duration, Instant};

use actix_clerk::{ClerkConfig, ClerkWithAuth, AUTH_STATUS_HEADER};
use actix_web::dev::{Service, ServiceResponse};
use actix_web::http::header::AUTHORIZATION;
use actix_web::{test, web, App};
use criterion::Criterion;
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use serde_json::json;
use support::DevKey;

struct Fixture {
    token: String,
    bearer: String,
    pem: String,
}

fn fixture() -> Fixture {
    let key = DevKey::generate("ins_bench");
    let token = key.session_token("user_2bench", json!({}));
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
            .wrap(ClerkWithAuth::new(config(&fx.pem, false)))
            .route("/", web::get().to(|| async { "ok" })),
    ));
    let app_on = rt.block_on(test::init_service(
        App::new()
            .wrap(ClerkWithAuth::new(config(&fx.pem, true)))
            .route("/", web::get().to(|| async { "ok" })),
    ));
    let app_bare = rt.block_on(test::init_service(
        App::new().route("/", web::get().to(|| async { "ok" })),
    ));
    // The token must sign in (no x-clerk-auth-status header), or we would time a rejection.
    for res in [
        rt.block_on(one_request(&app_off, &fx.bearer)),
        rt.block_on(one_request(&app_on, &fx.bearer)),
    ] {
        assert!(res.status().is_success());
        assert!(
            res.headers().get(AUTH_STATUS_HEADER).is_none(),
            "benchmark token is not signed in"
        );
    }

    let key = DecodingKey::from_rsa_pem(fx.pem.as_bytes()).expect("PEM");
    let validation = Validation::new(Algorithm::RS256); // exp checked (required) by default
    let decoded = jsonwebtoken::decode::<serde_json::Value>(&fx.token, &key, &validation)
        .expect("token verifies");
    assert_eq!(decoded.claims["sub"], "user_2bench");
    let (signed_part, signature) = fx.token.rsplit_once('.').expect("three parts");

    let mut a = || black_box(rt.block_on(one_request(&app_off, &fx.bearer)));
    let mut b = || black_box(rt.block_on(one_request(&app_on, &fx.bearer)));
    let mut c = || black_box(rt.block_on(one_request(&app_bare, &fx.bearer)));
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
        group.bench_function("a_with_auth_cache_off", |bn| bn.iter(&mut a));
        group.bench_function("b_with_auth_cache_on", |bn| bn.iter(&mut b));
        group.bench_function("c_bare_app", |bn| bn.iter(&mut c));
        group.bench_function("d_jsonwebtoken_decode", |bn| bn.iter(&mut d));
        group.bench_function("e_rs256_signature_only", |bn| bn.iter(&mut e));
        group.finish();
    }
    criterion.final_summary();

    // `cargo test --benches` runs this in test mode: skip the re-measure there.
    if std::env::args().any(|arg| arg == "--bench") {
        ratios(&mut a, &mut b, &mut c, &mut d);
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
    // ~60 ms per batch of the slow ones; ~6 s in all.
    let (mut fa, mut fd) = (|| drop(a()), || drop(d()));
    let (mut fb, mut fc) = (|| drop(b()), || drop(c()));
    let slow = interleaved(&mut [&mut fa, &mut fd], 25, 200);
    let fast = interleaved(&mut [&mut fb, &mut fc], 25, 5_000);
    let (ta, td) = (slow[0], slow[1]);
    let (tb, tc) = (fast[0], fast[1]);
    println!();
    println!("interleaved re-measure (median of 25 batches each):");
    println!("  a  ClerkWithAuth, cache off   {:>10.2} µs", ta / 1e3);
    println!("  b  ClerkWithAuth, cache on    {:>10.2} µs", tb / 1e3);
    println!("  c  bare app                   {:>10.2} µs", tc / 1e3);
    println!("  d  jsonwebtoken::decode       {:>10.2} µs", td / 1e3);
    let fresh = (ta - tc) / td;
    let hit = (tb - tc) / 1e3;
    println!(
        "  fresh verification (a - c) / d = {fresh:.3}  (target <= 1.15: {})",
        if fresh <= 1.15 { "met" } else { "MISSED" }
    );
    println!(
        "  cache hit          b - c       = {hit:.2} µs  (target <= 2 µs: {})",
        if hit <= 2.0 { "met" } else { "MISSED" }
    );
}
