//! Several instances on one Redis (feature `redis`, issue 19): what the shared store costs and
//! what it saves, against a real `redis-server` (started here on a free port of 127.0.0.1,
//! without persistence; installed by `scripts/install-redis.sh` when missing) and the testing
//! kit's Backend API stand-in (127.0.0.1, two workers of its own).
//!
//! 1. **Cost per request** of an API key, through the standalone `authenticate_headers` on a
//!    current-thread actix runtime, one request at a time, interleaved rounds:
//!    (a) a local cache hit (one key repeated on one configuration), (b) a shared-store hit (a
//!    fresh instance with its own connection asks for keys another instance verified: a local
//!    miss answered from Redis), (c) a Backend API call (a configuration without the store,
//!    each key new to it). Wall-clock µs per request and this thread's CPU µs per request
//!    (`/proc/thread-self/schedstat`), median [min–max] over the rounds; Redis round trips per
//!    shared hit from `SharedStore::stats().operations`, and redis-server's CPU per shared hit
//!    (`INFO cpu`).
//! 2. **Redis memory**: `INFO memory` `used_memory` before and after 10 000 shared
//!    machine-token answers, and 10 000 processed webhook deliveries (an actix test app with
//!    `WebhookVerifier::once()` and `shared_store`); `MEMORY USAGE` of a sample key.
//! 3. **50 instances**: 50 configurations in this process (each its own cache and Redis
//!    connection), one stand-in, requests for 300 API keys spread uniformly at random over the
//!    instances at a steady rate for three TTLs (TTL 2 s), once without and once with the
//!    store: Backend API verifications per key per TTL and per second.
//!
//! ```sh
//! cargo bench --bench shared_store
//! ```
//!
//! Settings (environment): `ROUNDS` (default 7), `SIM_INSTANCES` (50), `SIM_KEYS` (300),
//! `SIM_RATE` (requests per second, 3000), `SIM_TTL_MS` (2000), `SIM_TTLS` (3). About 20 s on
//! two cores after the build. The traffic model is seeded and paced by the clock (one batch
//! per millisecond), so the upstream counts of part 3 repeat from run to run within a few
//! calls; the timings do not.

#[path = "../tests/support/redis.rs"]
mod redis_server;

use std::cell::{Cell, RefCell};
use std::rc::Rc;
use std::time::{Duration, Instant};

use actix_clerk::testing::{JwksMode, TestBackendApi, TestWebhookSecret, VerifyEndpoint};
use actix_clerk::{Accepts, ClerkConfig, ClerkVerifier, ClerkWebhook, SharedStore, TokenKind};
use actix_web::http::header::{HeaderMap, HeaderValue, AUTHORIZATION};
use actix_web::{test, web, App, HttpResponse};
use redis_server::RedisServer;
use serde_json::json;

const AK: VerifyEndpoint = VerifyEndpoint::ApiKeys;

/// Keys asked once each by a fresh instance per round (shared hits).
const SHARED_KEYS: usize = 2_000;
/// Keys new to a fresh configuration per round (Backend API calls).
const API_KEYS: usize = 1_000;
/// Requests with one key per round (local hits).
const HITS: usize = 20_000;
/// Entries written for the memory figures.
const MEMORY_ENTRIES: usize = 10_000;

fn env_or<T: std::str::FromStr>(name: &str, default: T) -> T {
    std::env::var(name)
        .ok()
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or(default)
}

/// This thread's time on a CPU so far, in ns (`/proc/thread-self/schedstat`, first field).
fn thread_cpu_ns() -> u64 {
    std::fs::read_to_string("/proc/thread-self/schedstat")
        .ok()
        .and_then(|s| s.split_whitespace().next()?.parse().ok())
        .unwrap_or(0)
}

/// Wall-clock and this thread's CPU time from `start` on.
struct Meter {
    wall: Instant,
    cpu: u64,
}

impl Meter {
    fn start() -> Meter {
        Meter {
            cpu: thread_cpu_ns(),
            wall: Instant::now(),
        }
    }

    /// (wall µs, CPU µs) per request over `n` requests.
    fn per_request(&self, n: usize) -> (f64, f64) {
        let wall = self.wall.elapsed().as_secs_f64() * 1e6;
        let cpu = thread_cpu_ns().saturating_sub(self.cpu) as f64 / 1e3;
        (wall / n as f64, cpu / n as f64)
    }
}

/// `median [min–max]` of `values`.
fn spread(values: &[f64], decimals: usize) -> String {
    let mut v = values.to_vec();
    v.sort_by(f64::total_cmp);
    let median = if v.len() % 2 == 1 {
        v[v.len() / 2]
    } else {
        (v[v.len() / 2 - 1] + v[v.len() / 2]) / 2.0
    };
    format!(
        "{median:.decimals$} [{:.decimals$}-{:.decimals$}]",
        v[0],
        v[v.len() - 1]
    )
}

fn bearer(key: &str) -> HeaderMap {
    let mut map = HeaderMap::new();
    map.insert(
        AUTHORIZATION,
        HeaderValue::from_str(&format!("Bearer {key}")).expect("header value"),
    );
    map
}

fn build(
    server: &TestBackendApi,
    ttl: Duration,
    store: Option<SharedStore>,
) -> (ClerkConfig, ClerkVerifier) {
    let mut b = server
        .config()
        .machine_token_cache_ttl(ttl)
        .machine_token_verify_limits(64, 100_000);
    if let Some(store) = store {
        b = b.shared_store(store);
    }
    let config = b.build().expect("config");
    let verifier = config
        .accepting(Accepts::Kind(TokenKind::ApiKey))
        .expect("accepting API keys");
    (config, verifier)
}

fn store(redis: &RedisServer) -> SharedStore {
    SharedStore::redis(&redis.url()).expect("store")
}

/// Signs `key` in through `verifier`, or panics with the reason.
async fn sign_in(verifier: &ClerkVerifier, headers: &HeaderMap) {
    let auth = verifier.authenticate_headers("GET", "/", headers).await;
    assert!(auth.is_signed_in(), "not signed in: {:?}", auth.reason());
}

fn mint(server: &TestBackendApi, n: usize, tag: &str) -> Vec<HeaderMap> {
    (0..n)
        .map(|i| bearer(&server.api_key(format!("user_{tag}_{i}")).issue()))
        .collect()
}

/// A number field of `INFO memory`.
fn info_field(redis: &RedisServer, field: &str) -> u64 {
    let info = redis.command(&["INFO", "memory"]);
    info.lines()
        .find_map(|l| l.strip_prefix(&format!("{field}:"))?.trim().parse().ok())
        .unwrap_or_else(|| panic!("INFO memory has no {field}: {info}"))
}

/// The server's CPU time so far (`INFO cpu`: user + system, all its threads), in µs.
fn redis_cpu_us(redis: &RedisServer) -> f64 {
    let info = redis.command(&["INFO", "cpu"]);
    let field = |name: &str| -> f64 {
        info.lines()
            .find_map(|l| l.strip_prefix(&format!("{name}:"))?.trim().parse().ok())
            .unwrap_or_else(|| panic!("INFO cpu has no {name}: {info}"))
    };
    (field("used_cpu_user") + field("used_cpu_sys")) * 1e6
}

/// One key matching `pattern` (and not `:rate:`), by SCAN.
fn sample_key(redis: &RedisServer, pattern: &str) -> String {
    let mut cursor = "0".to_owned();
    loop {
        let reply = redis.command(&["SCAN", &cursor, "MATCH", pattern, "COUNT", "1000"]);
        let mut lines = reply.lines();
        cursor = lines.next().unwrap_or("0").to_owned();
        if let Some(key) = lines.find(|k| !k.contains(":rate:") && !k.ends_with(":lock")) {
            return key.to_owned();
        }
        assert_ne!(cursor, "0", "no key matches {pattern}");
    }
}

fn main() {
    let redis = RedisServer::start();
    let server = TestBackendApi::start_with(JwksMode::Empty);
    actix_web::rt::System::new().block_on(async {
        println!(
            "shared store bench: redis-server {} on {}, Backend API stand-in on {}",
            redis
                .command(&["INFO", "server"])
                .lines()
                .find_map(|l| l.strip_prefix("redis_version:"))
                .unwrap_or("?")
                .trim(),
            redis.url(),
            server.url()
        );
        cost_per_request(&redis, &server).await;
        memory(&redis, &server).await;
        simulation(&redis, &server).await;
    });
}

// ---------------------------------------------------------------------------------------------
// 1. Cost per request
// ---------------------------------------------------------------------------------------------

async fn cost_per_request(redis: &RedisServer, server: &TestBackendApi) {
    let rounds: usize = env_or("ROUNDS", 7).max(1);
    // Answers outlive the whole bench: nothing expires between rounds.
    let ttl = Duration::from_secs(600);
    let shared_keys = mint(server, SHARED_KEYS, "shared");
    let warm_shared = bearer(&server.api_key("user_warm_shared").issue());
    let api_keys = mint(server, API_KEYS, "api");
    let warm_api = bearer(&server.api_key("user_warm_api").issue());

    // Instance A verifies every shared key once: the answers are in Redis and in A's cache.
    let (a_config, a) = build(server, ttl, Some(store(redis)));
    sign_in(&a, &warm_shared).await;
    for h in &shared_keys {
        sign_in(&a, h).await;
    }
    assert_eq!(
        a_config.stats().machine_token_verifications,
        SHARED_KEYS as u64 + 1
    );
    let hit_key = &shared_keys[0];

    let (mut hit, mut hit_cpu) = (Vec::new(), Vec::new());
    let (mut shared, mut shared_cpu, mut shared_ops) = (Vec::new(), Vec::new(), Vec::new());
    let mut shared_redis_cpu = Vec::new();
    let (mut api, mut api_cpu) = (Vec::new(), Vec::new());
    for _ in 0..rounds {
        // (a) Local hits: one key again and again on A.
        let m = Meter::start();
        for _ in 0..HITS {
            sign_in(&a, hit_key).await;
        }
        let (w, c) = m.per_request(HITS);
        hit.push(w);
        hit_cpu.push(c);

        // (b) A fresh instance B, its own connection: every key a local miss found in Redis.
        let b_store = store(redis);
        let (b_config, b) = build(server, ttl, Some(b_store.clone()));
        sign_in(&b, &warm_shared).await; // opens the connection
        let ops = b_store.stats().operations;
        let redis_cpu = redis_cpu_us(redis);
        let m = Meter::start();
        for h in &shared_keys {
            sign_in(&b, h).await;
        }
        let (w, c) = m.per_request(SHARED_KEYS);
        shared.push(w);
        shared_cpu.push(c);
        shared_redis_cpu.push((redis_cpu_us(redis) - redis_cpu) / SHARED_KEYS as f64);
        shared_ops.push((b_store.stats().operations - ops) as f64 / SHARED_KEYS as f64);
        let s = b_config.stats();
        assert_eq!(s.machine_token_verifications, 0, "B never called Clerk");
        assert_eq!(
            s.shared_store.expect("stats").machine_answers_shared,
            SHARED_KEYS as u64 + 1
        );

        // (c) No store, every key new: one Backend API call each.
        let (_c_config, c_verifier) = build(server, ttl, None);
        sign_in(&c_verifier, &warm_api).await;
        let before = server.verify_hits(AK);
        let m = Meter::start();
        for h in &api_keys {
            sign_in(&c_verifier, h).await;
        }
        let (w, c) = m.per_request(API_KEYS);
        api.push(w);
        api_cpu.push(c);
        assert_eq!(server.verify_hits(AK) - before, API_KEYS as u64);
    }

    println!();
    println!(
        "1. cost per request (API key, ClerkVerifier::authenticate_headers, one at a time, \
         current-thread runtime; {rounds} interleaved rounds: median [min-max])"
    );
    let line = |name: String, wall: String, cpu: String, ops: String, redis_cpu: String| {
        println!("{name:<50} {wall:>20} {cpu:>20} {ops:>16} {redis_cpu:>18}");
    };
    line(
        String::new(),
        "wall us/request".into(),
        "CPU us/request".into(),
        "Redis ops/req".into(),
        "Redis CPU us/req".into(),
    );
    line(
        format!("(a) local cache hit ({HITS} x one key)"),
        spread(&hit, 2),
        spread(&hit_cpu, 2),
        "0".into(),
        "-".into(),
    );
    line(
        format!("(b) shared-store hit ({SHARED_KEYS} keys, fresh instance)"),
        spread(&shared, 1),
        spread(&shared_cpu, 1),
        spread(&shared_ops, 2),
        spread(&shared_redis_cpu, 1),
    );
    line(
        format!("(c) Backend API call ({API_KEYS} new keys, no store)"),
        spread(&api, 1),
        spread(&api_cpu, 1),
        "-".into(),
        "-".into(),
    );
    println!(
        "CPU: this thread only (the instance's own work; Redis and the stand-in run elsewhere); \
         Redis CPU: redis-server's user + system time (INFO cpu) over the round."
    );
    println!(
        "(c) is the stand-in on loopback; Clerk's real Backend API is a round trip over the \
         internet (TLS, tens of ms), so (c) is a floor."
    );
}

// ---------------------------------------------------------------------------------------------
// 2. Redis memory
// ---------------------------------------------------------------------------------------------

async fn memory(redis: &RedisServer, server: &TestBackendApi) {
    let n = MEMORY_ENTRIES;
    println!();
    println!(
        "2. Redis memory (INFO memory used_memory; after FLUSHALL; Lua scripts already loaded)"
    );

    // Machine-token answers.
    let keys = mint(server, n, "memory");
    let (_config, verifier) = build(server, Duration::from_secs(600), Some(store(redis)));
    let warm = bearer(&server.api_key("user_warm_memory").issue());
    sign_in(&verifier, &warm).await;
    redis.command(&["FLUSHALL"]);
    let before = info_field(redis, "used_memory");
    for chunk in keys.chunks(32) {
        futures_util::future::join_all(chunk.iter().map(|h| sign_in(&verifier, h))).await;
    }
    let after = info_field(redis, "used_memory");
    let dbsize = redis.command(&["DBSIZE"]);
    let sample = sample_key(redis, "clerk:*:mt:*");
    let usage = redis.command(&["MEMORY", "USAGE", &sample]);
    let value_len = redis.command(&["STRLEN", &sample]);
    println!(
        "{:<46} {:>10} -> {:>10}  delta {:>9}  = {:>6.1} B/entry  (DBSIZE {dbsize})",
        format!("{n} machine-token answers"),
        before,
        after,
        after - before,
        (after - before) as f64 / n as f64
    );
    println!(
        "    sample {sample}: key {} B, value {value_len} B (16-byte tag + JSON), MEMORY USAGE {usage} B",
        sample.len()
    );

    // Webhook deliveries, processed once each.
    let secret = TestWebhookSecret::generate();
    let app = test::init_service(
        App::new().service(
            web::resource("/webhooks")
                .wrap(secret.verifier().shared_store(store(redis)).once())
                .route(web::post().to(|event: ClerkWebhook| async move {
                    HttpResponse::Ok().json(json!({"processed": event.delivery_id()}))
                })),
        ),
    )
    .await;
    let event = |i: usize| json!({"type": "user.created", "object": "event", "data": {"id": format!("user_{i}")}});
    // One delivery first: the scripts loaded, the connection open.
    let res = test::call_service(
        &app,
        secret
            .delivery(event(0))
            .to_request("/webhooks")
            .to_request(),
    )
    .await;
    assert_eq!(res.status(), 200);
    redis.command(&["FLUSHALL"]);
    let before = info_field(redis, "used_memory");
    for i in 0..n {
        let res = test::call_service(
            &app,
            secret
                .delivery(event(i))
                .to_request("/webhooks")
                .to_request(),
        )
        .await;
        assert_eq!(res.status(), 200, "delivery {i}");
    }
    let after = info_field(redis, "used_memory");
    let dbsize = redis.command(&["DBSIZE"]);
    let sample = sample_key(redis, "clerk:*:wh:*");
    let usage = redis.command(&["MEMORY", "USAGE", &sample]);
    let value = redis.command(&["GET", &sample]);
    println!(
        "{:<46} {:>10} -> {:>10}  delta {:>9}  = {:>6.1} B/entry  (DBSIZE {dbsize})",
        format!("{n} processed webhook deliveries"),
        before,
        after,
        after - before,
        (after - before) as f64 / n as f64
    );
    println!(
        "    sample {sample}: key {} B, value {value:?}, MEMORY USAGE {usage} B",
        sample.len()
    );
    println!(
        "used_memory includes the hash tables' growth and the expiry table (every entry has a TTL); \
         MEMORY USAGE counts one key and its value only."
    );
}

// ---------------------------------------------------------------------------------------------
// 3. 50 instances
// ---------------------------------------------------------------------------------------------

// splitmix64: a deterministic traffic model without a dependency (shared with tests/fleet.rs).
#[path = "../tests/support/rng.rs"]
mod rng;
use rng::Rng;

/// The counters of several stores, summed.
#[derive(Debug, Clone, Copy, Default)]
struct Counters {
    operations: u64,
    failures: u64,
    skipped: u64,
    shared: u64,
    written: u64,
    waits: u64,
    rate_refusals: u64,
    rejected: u64,
}

impl Counters {
    fn of(stores: &[SharedStore]) -> Counters {
        let mut c = Counters::default();
        for s in stores.iter().map(SharedStore::stats) {
            c.operations += s.operations;
            c.failures += s.failures;
            c.skipped += s.skipped;
            c.shared += s.machine_answers_shared;
            c.written += s.machine_answers_written;
            c.waits += s.machine_waits;
            c.rate_refusals += s.machine_rate_refusals;
            c.rejected += s.rejected_answers;
        }
        c
    }

    fn since(self, before: Counters) -> Counters {
        Counters {
            operations: self.operations - before.operations,
            failures: self.failures - before.failures,
            skipped: self.skipped - before.skipped,
            shared: self.shared - before.shared,
            written: self.written - before.written,
            waits: self.waits - before.waits,
            rate_refusals: self.rate_refusals - before.rate_refusals,
            rejected: self.rejected - before.rejected,
        }
    }
}

struct SimResult {
    /// Backend API verifications in each TTL window.
    windows: Vec<u64>,
    requests: u64,
    signed_out: u64,
    seconds: f64,
    latencies_us: Vec<u32>,
    /// The stores' counters over the run (all instances).
    store: Counters,
    made: u64,
    /// redis-server's CPU time over the run, µs.
    redis_cpu_us: f64,
}

#[derive(Clone, Copy)]
struct Sim {
    instances: usize,
    keys: usize,
    rate: u64,
    ttl: Duration,
    ttls: u32,
}

async fn run_sim(
    sim: Sim,
    redis: &RedisServer,
    server: &TestBackendApi,
    shared: bool,
    seed: u64,
) -> SimResult {
    let tag = if shared { "sim_shared" } else { "sim_alone" };
    let keys: Rc<[HeaderMap]> = mint(server, sim.keys, tag).into();
    let mut stores = Vec::new();
    let mut configs = Vec::new();
    let mut verifiers = Vec::new();
    for _ in 0..sim.instances {
        let s = shared.then(|| store(redis));
        let (c, v) = build(server, sim.ttl, s.clone());
        stores.extend(s);
        configs.push(c);
        verifiers.push(v);
    }
    let verifiers: Rc<[ClerkVerifier]> = verifiers.into();
    // Every connection open before the clock starts (a local hit costs no Redis call, so a
    // key outside the traffic opens each one).
    if shared {
        let warm = bearer(&server.api_key("user_sim_warm").issue());
        for v in verifiers.iter() {
            sign_in(v, &warm).await;
        }
    }
    let store_before = Counters::of(&stores);
    let made_before: u64 = configs
        .iter()
        .map(|c| c.stats().machine_token_verifications)
        .sum();

    let latencies = Rc::new(RefCell::new(Vec::with_capacity(
        (sim.rate as f64 * sim.ttl.as_secs_f64() * f64::from(sim.ttls)) as usize,
    )));
    let outstanding = Rc::new(Cell::new(0u64));
    let signed_out = Rc::new(Cell::new(0u64));
    let total = (sim.rate as f64 * sim.ttl.as_secs_f64() * f64::from(sim.ttls)) as u64;
    let mut rng = Rng(seed);
    let mut windows = Vec::new();
    let mut window_start = server.verify_hits(AK);
    let redis_cpu_before = redis_cpu_us(redis);
    let mut tick = tokio::time::interval(Duration::from_millis(1));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
    let started = Instant::now();
    let mut sent = 0u64;
    while sent < total {
        tick.tick().await;
        let elapsed = started.elapsed();
        let window = (elapsed.as_secs_f64() / sim.ttl.as_secs_f64()) as usize;
        // The last window is closed once every request has been answered (below).
        while windows.len() < window.min(sim.ttls as usize - 1) {
            let now = server.verify_hits(AK);
            windows.push(now - window_start);
            window_start = now;
        }
        let due = ((elapsed.as_secs_f64() * sim.rate as f64) as u64).min(total);
        while sent < due {
            let (i, k) = (rng.below(sim.instances), rng.below(sim.keys));
            let (verifiers, keys) = (verifiers.clone(), keys.clone());
            let (latencies, outstanding, signed_out) =
                (latencies.clone(), outstanding.clone(), signed_out.clone());
            outstanding.set(outstanding.get() + 1);
            actix_web::rt::spawn(async move {
                let t = Instant::now();
                let auth = verifiers[i]
                    .authenticate_headers("GET", "/", &keys[k])
                    .await;
                let us = u32::try_from(t.elapsed().as_micros()).unwrap_or(u32::MAX);
                latencies.borrow_mut().push(us);
                if !auth.is_signed_in() {
                    signed_out.set(signed_out.get() + 1);
                }
                outstanding.set(outstanding.get() - 1);
            });
            sent += 1;
        }
    }
    while outstanding.get() > 0 {
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
    let seconds = started.elapsed().as_secs_f64();
    // The last window (the requests sent in it have all been answered).
    while windows.len() < sim.ttls as usize {
        let now = server.verify_hits(AK);
        windows.push(now - window_start);
        window_start = now;
    }
    let redis_cpu = redis_cpu_us(redis) - redis_cpu_before;
    let store = Counters::of(&stores).since(store_before);
    let made_after: u64 = configs
        .iter()
        .map(|c| c.stats().machine_token_verifications)
        .sum();
    let mut latencies_us = std::mem::take(&mut *latencies.borrow_mut());
    latencies_us.sort_unstable();
    SimResult {
        windows,
        requests: sent,
        signed_out: signed_out.get(),
        seconds,
        latencies_us,
        store,
        made: made_after - made_before,
        redis_cpu_us: redis_cpu,
    }
}

fn percentile(sorted: &[u32], p: f64) -> u32 {
    if sorted.is_empty() {
        return 0;
    }
    let i = ((sorted.len() - 1) as f64 * p).round() as usize;
    sorted[i]
}

async fn simulation(redis: &RedisServer, server: &TestBackendApi) {
    let sim = Sim {
        instances: env_or("SIM_INSTANCES", 50).max(1),
        keys: env_or("SIM_KEYS", 300).max(1),
        rate: env_or("SIM_RATE", 3_000).max(1),
        ttl: Duration::from_millis(env_or("SIM_TTL_MS", 2_000).max(100)),
        ttls: env_or("SIM_TTLS", 3).max(2),
    };
    let ttl_s = sim.ttl.as_secs_f64();
    println!();
    println!(
        "3. {} instances in one process (each its own cache and Redis connection), one stand-in: \
         {} API keys, {} requests/s spread uniformly at random over instances and keys, \
         for {} TTLs of {:.1} s (machine_token_cache_ttl), machine_token_verify_limits(64, 100000)",
        sim.instances, sim.keys, sim.rate, sim.ttls, ttl_s
    );
    let per_pair = sim.rate as f64 * ttl_s / (sim.instances * sim.keys) as f64;
    println!(
        "    each (instance, key) pair is asked {per_pair:.2} times per TTL on average; each key \
         {:.1} times per TTL by the deployment",
        sim.rate as f64 * ttl_s / sim.keys as f64
    );
    redis.command(&["FLUSHALL"]);
    let alone = run_sim(sim, redis, server, false, 0x5eed_0001).await;
    redis.command(&["FLUSHALL"]);
    let shared = run_sim(sim, redis, server, true, 0x5eed_0001).await;

    println!(
        "{:<14} {:>9} {:>8} {:>9} {:>9} {:>30} {:>12} {:>12} {:>10} {:>10} {:>9} {:>9}",
        "run",
        "requests",
        "req/s",
        "upstream",
        "signedout",
        "upstream per TTL window",
        "/key/TTL",
        "/key/s",
        "Redis/req",
        "Redis CPU%",
        "p50 us",
        "p99 us"
    );
    let row = |name: &str, r: &SimResult| {
        let steady = &r.windows[1..];
        let steady_calls: u64 = steady.iter().sum();
        let per_ttl = steady_calls as f64 / (sim.keys as f64 * steady.len() as f64);
        println!(
            "{:<14} {:>9} {:>8.0} {:>9} {:>9} {:>30} {:>12.2} {:>12.2} {:>10.3} {:>10.1} {:>9} {:>9}",
            name,
            r.requests,
            r.requests as f64 / r.seconds,
            r.windows.iter().sum::<u64>(),
            r.signed_out,
            format!("{:?}", r.windows),
            per_ttl,
            per_ttl / ttl_s,
            r.store.operations as f64 / r.requests as f64,
            r.redis_cpu_us / r.seconds / 1e4,
            percentile(&r.latencies_us, 0.5),
            percentile(&r.latencies_us, 0.99),
        );
        assert_eq!(
            r.made,
            r.windows.iter().sum::<u64>(),
            "the instances' own count of calls matches the stand-in's"
        );
        per_ttl
    };
    let a = row("without store", &alone);
    let s = row("with store", &shared);
    println!(
        "    /key/TTL and /key/s: Backend API verifications per key, steady state (the windows \
         after the first, cold one); upstream: all windows"
    );
    println!(
        "    ratio without / with: {:.1}x fewer Backend API calls with the store (steady state); \
         all windows: {:.1}x",
        a / s,
        alone.windows.iter().sum::<u64>() as f64 / shared.windows.iter().sum::<u64>() as f64
    );
    let c = shared.store;
    println!(
        "    with store: {} answers taken from Redis ({:.2} per request), {} written, {} waits for \
         another instance's verification, {} verifications alone (not shared); store failures \
         {}, skipped {}, rate refusals {}, answers that did not verify {}",
        c.shared,
        c.shared as f64 / shared.requests as f64,
        c.written,
        c.waits,
        shared.made.saturating_sub(c.written),
        c.failures,
        c.skipped,
        c.rate_refusals,
        c.rejected
    );
    println!(
        "    latency: from spawning the request to its answer on this one runtime (queueing \
         included); max {} us without, {} us with the store",
        alone.latencies_us.last().copied().unwrap_or(0),
        shared.latencies_us.last().copied().unwrap_or(0)
    );
}
