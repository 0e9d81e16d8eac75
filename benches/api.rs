//! What one Backend API call costs: `ClerkClient::users().get(id)` against the testing kit's
//! stand-in (127.0.0.1), beside a bare request to the same URL with the same headers whose
//! body is read but not decoded (reqwest, the same TLS-less loopback) — measured in the same
//! run. The difference is the client's own work: building the request, the error and retry
//! logic, and decoding the user into its model.
//!
//! ```sh
//! cargo bench --bench api
//! ```

use std::hint::black_box;

use actix_clerk::testing::{TestBackendApi, TestInstance};
use actix_clerk::ClerkClient;
use criterion::Criterion;
use serde_json::json;

fn main() {
    let instance = TestInstance::new();
    let backend = TestBackendApi::start(&instance);
    let user = backend.add_user(json!({
        "email_address": ["ada@example.com"], "first_name": "Ada", "last_name": "Lovelace",
        "public_metadata": {"plan": "pro", "seats": 5}
    }));
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let client = ClerkClient::builder()
        .secret_key(backend.secret_key())
        .api_url(backend.url())
        .build()
        .expect("client");
    // The bare client is the benchmark's own: it installs a provider for itself (the crate's
    // client never needs one).
    let _ = rustls::crypto::aws_lc_rs::default_provider().install_default();
    let bare = reqwest::Client::new();
    let url = format!("{}/v1/users/{user}", backend.url());
    let secret = backend.secret_key().to_owned();
    // Both answer the same user first.
    let ours = rt.block_on(client.users().get(&user)).expect("get");
    assert_eq!(ours.id, user);

    let mut c = Criterion::default().configure_from_args();
    let mut group = c.benchmark_group("backend api: GET /users/{id}");
    group.bench_function("bare request (body read, not decoded)", |b| {
        b.iter(|| {
            rt.block_on(async {
                let res = bare
                    .get(&url)
                    .bearer_auth(&secret)
                    .header("Clerk-API-Version", actix_clerk::api::CLERK_API_VERSION)
                    .header("Accept", "application/json")
                    .send()
                    .await
                    .expect("send");
                black_box(res.bytes().await.expect("body"))
            })
        })
    });
    group.bench_function("ClerkClient users().get (decoded User)", |b| {
        b.iter(|| black_box(rt.block_on(client.users().get(&user)).expect("get")))
    });
    group.finish();
    c.final_summary();
}
