//! Several instances on one Redis (issue 19, feature `redis`): four `fleet` example processes
//! (`examples/fleet.rs`) behind a random "load balancer" (the test picks an instance for each
//! request), one real Redis (`tests/support/redis.rs`: Debian's `redis-server` on a free port)
//! and the testing kit's Backend API stand-in in the test process.
//!
//! One test, in order (the suite's closing line counts every check of the three parts):
//! - **machine tokens**: 10 000 requests carrying 1 000 API keys issued by the stand-in, 64 in
//!   flight over the four instances: every answer signed in with the key's subject, and at most
//!   one Backend API verification per key for the deployment. The same again on four
//!   instances without Redis (`REDIS_URL` empty): each instance verifies on its own, so the
//!   count is well above 1 000 (up to 4 000); both figures are printed.
//! - **webhooks**: 1 000 signed deliveries (5% whose handler fails: `data.fail`), each sent to
//!   two instances at once, retried as Svix retries until one answers 2xx (a failing one once
//!   more: it must fail again, the handler having run again); 10% sent again after completion
//!   (`200` `already_processed`). Every delivery is processed exactly once in the deployment
//!   (the union of the instances' `GET /processed`), no failing one.
//! - **Redis outage**: API-key requests (valid keys introduced as time goes, and keys Clerk
//!   does not know) and webhook deliveries flow while Redis is stopped and started again
//!   (empty): no 5xx, no wrong decision, every delivery processed at least once. Printed: how
//!   many were processed twice, by when they were sent (while Redis is away, and for the
//!   back-off after it is back, each instance keeps its own record).
//!
//! Redis is installed when missing (`scripts/install-redis.sh`); the suite fails, never skips,
//! when it cannot be.

mod support;

#[path = "support/redis.rs"]
mod redis_server;

use std::collections::{BTreeMap, HashMap, HashSet};
use std::io::{BufRead as _, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdout, Command, Stdio};
use std::time::Duration;

use actix_clerk::testing::{
    sample_event, TestBackendApi, TestInstance, TestWebhookDelivery, TestWebhookSecret,
    VerifyEndpoint,
};
use actix_web::rt::time::{sleep, Instant};
use futures_util::StreamExt as _;
use redis_server::RedisServer;
use serde_json::{json, Value};

/// Instances of the app in each fleet.
const INSTANCES: usize = 4;
/// Requests in flight at once (machine-token part).
const IN_FLIGHT: usize = 64;
/// The machine-token part: keys, and requests per key.
const KEYS: usize = 1_000;
const REQUESTS_PER_KEY: usize = 10;
/// Keys whose requests are mixed together (a window of the run): each key's ten requests come
/// within about a second, well inside the 10-second machine-token cache TTL.
const KEYS_PER_WINDOW: usize = 100;
/// The webhook part: deliveries, one in 20 failing, one in 10 sent again after completion.
const DELIVERIES: usize = 1_000;
/// The instances' bound on one Redis operation (the crate's default is 100 ms): a test machine
/// busy with other work must not make a healthy Redis look down (each instance would then
/// decide alone for a second). A stopped Redis refuses connections at once, so the outage is
/// felt as soon.
const REDIS_TIMEOUT_MS: &str = "500";
/// Svix-style retries of one delivery before the suite gives up on it.
const MAX_ATTEMPTS: u32 = 30;

// ---------------------------------------------------------------------------------------------
// Checks, randomness
// ---------------------------------------------------------------------------------------------

/// Every check of the suite: passes counted, failures kept for the report.
#[derive(Default)]
struct Checks {
    passed: usize,
    failures: Vec<String>,
}

impl Checks {
    fn check(&mut self, ok: bool, what: impl FnOnce() -> String) {
        if ok {
            self.passed += 1;
        } else {
            self.failures.push(what());
        }
    }
}

#[path = "support/rng.rs"]
mod rng;
use rng::Rng;

/// The suite's own choices on the shared SplitMix64 source (no extra crate); the seed is
/// printed.
impl Rng {
    fn seeded() -> Rng {
        let seed = std::env::var("FLEET_SEED")
            .ok()
            .and_then(|s| s.parse().ok())
            .unwrap_or_else(|| {
                std::time::SystemTime::now()
                    .duration_since(std::time::UNIX_EPOCH)
                    .map(|d| d.as_nanos() as u64)
                    .unwrap_or(7)
            });
        println!("fleet: random seed {seed} (FLEET_SEED={seed} repeats the run's choices)");
        Rng(seed)
    }

    fn shuffle<T>(&mut self, items: &mut [T]) {
        for i in (1..items.len()).rev() {
            items.swap(i, self.below(i + 1));
        }
    }

    /// Two different instances.
    fn two_instances(&mut self) -> (usize, usize) {
        let a = self.below(INSTANCES);
        let b = (a + 1 + self.below(INSTANCES - 1)) % INSTANCES;
        (a, b)
    }

    fn hex(&mut self, n: usize) -> String {
        (0..n)
            .map(|_| char::from(b"0123456789abcdef"[self.below(16)]))
            .collect()
    }
}

// ---------------------------------------------------------------------------------------------
// The fleet: example processes
// ---------------------------------------------------------------------------------------------

/// One `fleet` process on a free port; its stdout piped (the banner), its stderr in a log file.
struct Instance {
    child: Child,
    _stdout: BufReader<ChildStdout>,
    base: String,
    log: PathBuf,
}

impl Instance {
    fn start(bin: &Path, env: &[(&str, &str)], name: &str) -> Instance {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("free port")
            .port();
        let log = std::env::temp_dir().join(format!(
            "actix-clerk-fleet-{}-{name}.stderr",
            std::process::id()
        ));
        let mut cmd = Command::new(bin);
        cmd.env_clear()
            .env("PORT", port.to_string())
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(std::fs::File::create(&log).expect("stderr file"));
        for (k, v) in env {
            cmd.env(k, v);
        }
        let mut child = cmd.spawn().expect("start the fleet example");
        let mut stdout = BufReader::new(child.stdout.take().expect("stdout"));
        let mut line = String::new();
        let _ = stdout.read_line(&mut line);
        let instance = Instance {
            child,
            _stdout: stdout,
            base: format!("http://127.0.0.1:{port}"),
            log,
        };
        assert!(
            line.contains("listening on http://127.0.0.1:"),
            "fleet example {name} said {line:?}; its stderr:\n{}",
            instance.stderr()
        );
        instance
    }

    fn stderr(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }
}

impl Drop for Instance {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_file(&self.log);
    }
}

/// What every instance of a fleet shares.
struct Env<'a> {
    bin: &'a Path,
    backend: &'a TestBackendApi,
    instance: &'a TestInstance,
    webhook: &'a TestWebhookSecret,
}

/// `INSTANCES` processes of the example, on `redis_url` (empty: no shared store).
fn start_fleet(env: &Env<'_>, redis_url: &str, name: &str) -> Vec<Instance> {
    let vars = [
        ("CLERK_SECRET_KEY", env.backend.secret_key()),
        ("CLERK_PUBLISHABLE_KEY", env.instance.publishable_key()),
        ("CLERK_API_URL", env.backend.url()),
        ("CLERK_TELEMETRY_DISABLED", "1"),
        ("ACCEPTS_TOKEN", "api_key"),
        ("CLERK_WEBHOOK_SIGNING_SECRET", env.webhook.secret()),
        ("REDIS_URL", redis_url),
        ("MACHINE_TOKEN_VERIFY_PER_SECOND", "100000"),
        ("REDIS_TIMEOUT_MS", REDIS_TIMEOUT_MS),
    ];
    (0..INSTANCES)
        .map(|i| Instance::start(env.bin, &vars, &format!("{name}-{i}")))
        .collect()
}

// ---------------------------------------------------------------------------------------------
// HTTP
// ---------------------------------------------------------------------------------------------

/// A client for the test's own requests (awc needs a process-level rustls provider, which the
/// crate never installs).
fn client() -> awc::Client {
    let _ = rustls::crypto::aws_lc_rs::default_provider().install_default();
    awc::Client::builder()
        .timeout(Duration::from_secs(20))
        .max_http_version(awc::http::Version::HTTP_11)
        .connector(awc::Connector::new().limit(256))
        .finish()
}

/// An answer: status, body (JSON when it is), `Retry-After`.
#[derive(Debug, Clone)]
struct Answer {
    status: u16,
    body: Value,
    retry_after: Option<String>,
}

async fn exchange(req: awc::ClientRequest, body: Option<Vec<u8>>) -> Result<Answer, String> {
    let res = match body {
        Some(body) => req.send_body(body).await,
        None => req.send().await,
    };
    let mut res = res.map_err(|e| format!("request failed: {e}"))?;
    let body = res
        .body()
        .limit(1 << 20)
        .await
        .map_err(|e| format!("body: {e}"))?;
    Ok(Answer {
        status: res.status().as_u16(),
        body: serde_json::from_slice(&body)
            .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(&body).into_owned())),
        retry_after: res
            .headers()
            .get("retry-after")
            .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned()),
    })
}

/// `GET` (or `POST`) `/protected-endpoint` with an API key.
async fn protected(
    client: &awc::Client,
    base: &str,
    key: &str,
    post: bool,
) -> Result<Answer, String> {
    let url = format!("{base}/protected-endpoint");
    let req = if post {
        client.post(url)
    } else {
        client.get(url)
    };
    exchange(req.bearer_auth(key), None).await
}

/// Sends a delivery to `/webhooks`.
async fn deliver(
    client: &awc::Client,
    base: &str,
    delivery: &TestWebhookDelivery,
) -> Result<Answer, String> {
    let mut req = client.post(format!("{base}/webhooks"));
    for (name, value) in delivery.headers() {
        req = req.insert_header((name, value));
    }
    exchange(req, Some(delivery.body())).await
}

/// The union of the instances' `GET /processed`: how many times each `svix-id` was processed.
async fn processed_union(client: &awc::Client, fleet: &[Instance]) -> HashMap<String, usize> {
    let mut union = HashMap::new();
    for instance in fleet {
        let answer = exchange(client.get(format!("{}/processed", instance.base)), None)
            .await
            .expect("GET /processed");
        assert_eq!(answer.status, 200, "GET /processed: {answer:?}");
        for id in answer.body.as_array().expect("a JSON array") {
            *union
                .entry(id.as_str().expect("svix-ids").to_owned())
                .or_insert(0) += 1;
        }
    }
    union
}

/// The shared store's counters (`GET /stats`), added up over the instances, on one line.
async fn stats_line(client: &awc::Client, fleet: &[Instance]) -> String {
    let mut sum: Vec<(String, u64)> = Vec::new();
    for instance in fleet {
        let text = match exchange(client.get(format!("{}/stats", instance.base)), None).await {
            Ok(Answer {
                status: 200,
                body: Value::String(text),
                ..
            }) => text,
            other => return format!("GET /stats: {other:?}"),
        };
        // `SharedStoreStats { operations: 12, failures: 0, … }`, pretty-printed.
        for line in text.lines() {
            let Some((name, value)) = line.trim().trim_end_matches(',').split_once(": ") else {
                continue;
            };
            let Ok(value) = value.parse::<u64>() else {
                continue;
            };
            match sum.iter_mut().find(|(n, _)| n == name) {
                Some((_, total)) => *total += value,
                None => sum.push((name.to_owned(), value)),
            }
        }
    }
    sum.iter()
        .map(|(n, v)| format!("{n} {v}"))
        .collect::<Vec<_>>()
        .join(", ")
}

// ---------------------------------------------------------------------------------------------
// Machine tokens
// ---------------------------------------------------------------------------------------------

/// Whether an answer signs the request in with `subject`'s API key; the problem otherwise.
fn signed_in_as(answer: &Result<Answer, String>, subject: &str) -> Result<(), String> {
    let a = answer.as_ref().map_err(Clone::clone)?;
    if a.status == 200
        && a.body["isAuthenticated"] == json!(true)
        && a.body["tokenType"] == json!("api_key")
        && a.body["subject"] == json!(subject)
    {
        Ok(())
    } else {
        Err(format!("{} {}", a.status, a.body))
    }
}

/// Whether an answer is a signed-out API-key request (a key Clerk does not know).
fn signed_out(answer: &Result<Answer, String>) -> Result<(), String> {
    let a = answer.as_ref().map_err(Clone::clone)?;
    if a.status == 200 && a.body["isAuthenticated"] == json!(false) {
        Ok(())
    } else {
        Err(format!("{} {}", a.status, a.body))
    }
}

/// 10 000 requests, 1 000 fresh keys, over `fleet`: every answer checked; returns the Backend
/// API's API-key verifications of the run and its duration.
async fn machine_tokens(
    client: &awc::Client,
    backend: &TestBackendApi,
    fleet: &[Instance],
    rng: &mut Rng,
    checks: &mut Checks,
    label: &str,
) -> (u64, Duration) {
    let keys: Vec<(String, String)> = (0..KEYS)
        .map(|i| {
            let subject = format!("user_2fleet{label}{i}");
            (backend.api_key(subject.clone()).issue(), subject)
        })
        .collect();
    let mut schedule: Vec<(usize, usize, bool)> = Vec::with_capacity(KEYS * REQUESTS_PER_KEY);
    for window in (0..KEYS).collect::<Vec<_>>().chunks(KEYS_PER_WINDOW) {
        let mut requests: Vec<(usize, usize, bool)> = window
            .iter()
            .flat_map(|k| std::iter::repeat_n(*k, REQUESTS_PER_KEY))
            .map(|k| (k, rng.below(INSTANCES), rng.below(4) == 0))
            .collect();
        rng.shuffle(&mut requests);
        schedule.extend(requests);
    }
    let before = backend.verify_hits(VerifyEndpoint::ApiKeys);
    let started = Instant::now();
    let answers: Vec<(usize, usize, Result<Answer, String>)> = futures_util::stream::iter(schedule)
        .map(|(k, i, post)| {
            let base = &fleet[i].base;
            let key = &keys[k].0;
            async move { (k, i, protected(client, base, key, post).await) }
        })
        .buffer_unordered(IN_FLIGHT)
        .collect()
        .await;
    let elapsed = started.elapsed();
    let hits = backend.verify_hits(VerifyEndpoint::ApiKeys) - before;
    for (k, i, answer) in &answers {
        let subject = &keys[*k].1;
        let result = signed_in_as(answer, subject);
        checks.check(result.is_ok(), || {
            format!(
                "machine tokens ({label}): key {k} of {subject} on instance {i}: {}",
                result.err().unwrap_or_default()
            )
        });
    }
    checks.check(answers.len() == KEYS * REQUESTS_PER_KEY, || {
        format!("machine tokens ({label}): {} answers", answers.len())
    });
    (hits, elapsed)
}

// ---------------------------------------------------------------------------------------------
// Webhooks
// ---------------------------------------------------------------------------------------------

/// A message of the suite: its `svix-id`, its event, whether its handler fails.
struct Message {
    id: String,
    event: Value,
    fail: bool,
}

impl Message {
    fn new(n: usize, fail: bool, tag: &str) -> Message {
        let user = format!("user_2{tag}{n}");
        let event = match n % 3 {
            0 => sample_event::user_created(&user).to_json(),
            1 => sample_event::user_updated(&user).to_json(),
            _ => sample_event::session_created(&format!("sess_2{tag}{n}"), &user).to_json(),
        };
        let mut event = event;
        if fail {
            event["data"]["fail"] = json!(true);
        }
        let id = format!("msg_2fleet{tag}{n:05}");
        Message { id, event, fail }
    }

    /// An attempt, signed now (as Svix signs each attempt afresh, with the same `svix-id`).
    fn attempt(&self, secret: &TestWebhookSecret) -> TestWebhookDelivery {
        secret.delivery(&self.event).id(self.id.clone())
    }
}

/// What one answer says about a delivery.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Outcome {
    /// `200` `{"processed": id}`: the handler ran here.
    Processed,
    /// `200` `{"status":"already_processed"}`.
    AlreadyProcessed,
    /// `409` with `Retry-After`: another instance is processing it.
    InProgress,
    /// `500` `{"failed": id}`: the handler ran and failed (a failing message).
    HandlerFailed,
    /// Anything else (a transport error included).
    Unexpected,
}

fn outcome(answer: &Result<Answer, String>, id: &str) -> Outcome {
    let Ok(a) = answer else {
        return Outcome::Unexpected;
    };
    match a.status {
        200 if a.body == json!({ "processed": id }) => Outcome::Processed,
        200 if a.body["status"] == json!("already_processed") => Outcome::AlreadyProcessed,
        409 if a.retry_after.is_some() => Outcome::InProgress,
        500 if a.body == json!({ "failed": id }) => Outcome::HandlerFailed,
        _ => Outcome::Unexpected,
    }
}

/// Every answer a delivery got, in order (the two copies first), and whether it ended with a
/// 2xx (or, failing by design, with a failure after the copies).
#[derive(Debug, Default)]
struct Trace {
    answers: Vec<(Outcome, String)>,
    done: bool,
}

impl Trace {
    fn push(&mut self, answer: &Result<Answer, String>, id: &str) -> Outcome {
        let o = outcome(answer, id);
        let text = match answer {
            Ok(a) => format!("{} {}", a.status, a.body),
            Err(e) => e.clone(),
        };
        self.answers.push((o, text));
        o
    }

    fn count(&self, which: Outcome) -> usize {
        self.answers.iter().filter(|(o, _)| *o == which).count()
    }
}

/// Delivers a message as Svix would: to two instances at once, then retries (a fresh
/// signature each time; the balancer takes the instances in turn from `retry_from`) until one
/// answers 2xx. A failing message is tried once more after its copies: it must fail again.
async fn deliver_as_svix(
    client: &awc::Client,
    fleet: &[Instance],
    secret: &TestWebhookSecret,
    message: &Message,
    (a, b): (usize, usize),
    retry_from: usize,
) -> Trace {
    let mut trace = Trace::default();
    let attempt = message.attempt(secret);
    let (first, second) = futures_util::future::join(
        deliver(client, &fleet[a].base, &attempt),
        deliver(client, &fleet[b].base, &attempt),
    )
    .await;
    let ok = |o: Outcome| matches!(o, Outcome::Processed | Outcome::AlreadyProcessed);
    let o1 = trace.push(&first, &message.id);
    let o2 = trace.push(&second, &message.id);
    let mut done = ok(o1) || ok(o2);
    let mut retries = 0u32;
    // A failing message: one more attempt after the copies (after the in-progress ones, if
    // any, are over); it must fail again.
    let mut failed_again = false;
    while !done && !failed_again && retries < MAX_ATTEMPTS {
        retries += 1;
        sleep(Duration::from_millis(50 * u64::from(retries.min(8)))).await;
        let i = (retry_from + retries as usize) % INSTANCES;
        let answer = deliver(client, &fleet[i].base, &message.attempt(secret)).await;
        let o = trace.push(&answer, &message.id);
        done = ok(o);
        failed_again = o == Outcome::HandlerFailed;
    }
    trace.done = if message.fail { failed_again } else { done };
    trace
}

/// The checks of one delivery's trace.
fn check_trace(checks: &mut Checks, message: &Message, trace: &Trace, part: &str) {
    let id = &message.id;
    let unexpected: Vec<&String> = trace
        .answers
        .iter()
        .filter(|(o, _)| *o == Outcome::Unexpected)
        .map(|(_, text)| text)
        .collect();
    checks.check(unexpected.is_empty(), || {
        format!("{part}: {id}: unexpected answers {unexpected:?} in {trace:?}")
    });
    if message.fail {
        checks.check(
            trace.count(Outcome::Processed) + trace.count(Outcome::AlreadyProcessed) == 0,
            || format!("{part}: {id} (failing) answered 2xx: {trace:?}"),
        );
        checks.check(trace.done, || {
            format!("{part}: {id} (failing): its retry did not fail again: {trace:?}")
        });
    } else {
        checks.check(trace.count(Outcome::HandlerFailed) == 0, || {
            format!("{part}: {id}: the handler failed: {trace:?}")
        });
        checks.check(trace.done, || {
            format!("{part}: {id}: no 2xx after {MAX_ATTEMPTS} retries: {trace:?}")
        });
    }
}

/// 1 000 deliveries, each to two instances at once, retried until 2xx; then 10% again.
async fn webhooks(
    client: &awc::Client,
    fleet: &[Instance],
    secret: &TestWebhookSecret,
    rng: &mut Rng,
    checks: &mut Checks,
) -> String {
    let messages: Vec<Message> = (0..DELIVERIES)
        .map(|n| Message::new(n, n % 20 == 7, "wh"))
        .collect();
    let plan: Vec<(usize, (usize, usize), usize)> = (0..DELIVERIES)
        .map(|n| (n, rng.two_instances(), rng.below(INSTANCES)))
        .collect();
    let started = Instant::now();
    let traces: Vec<(usize, Trace)> = futures_util::stream::iter(plan)
        .map(|(n, pair, retry_from)| {
            let message = &messages[n];
            async move {
                (
                    n,
                    deliver_as_svix(client, fleet, secret, message, pair, retry_from).await,
                )
            }
        })
        .buffer_unordered(IN_FLIGHT / 2)
        .collect()
        .await;
    let elapsed = started.elapsed();
    let mut tally: BTreeMap<&str, usize> = BTreeMap::new();
    let mut retried = 0;
    for (n, trace) in &traces {
        check_trace(checks, &messages[*n], trace, "webhooks");
        // The two copies: at most one runs the handler (a failing one may run twice: the
        // first copy's failure released the claim).
        let copies = &trace.answers[..2.min(trace.answers.len())];
        let ran = copies
            .iter()
            .filter(|(o, _)| *o == Outcome::Processed)
            .count();
        checks.check(ran <= 1, || {
            format!(
                "webhooks: {}: both copies processed: {trace:?}",
                messages[*n].id
            )
        });
        for (o, _) in copies {
            *tally.entry(outcome_name(*o)).or_default() += 1;
        }
        retried += usize::from(trace.answers.len() > 2);
    }

    // 10% sent again after completion: answered from the record, the handler not run.
    let again: Vec<&Message> = messages
        .iter()
        .enumerate()
        .filter(|(n, m)| n % 10 == 3 && !m.fail)
        .map(|(_, m)| m)
        .collect();
    let targets: Vec<usize> = again.iter().map(|_| rng.below(INSTANCES)).collect();
    let answers: Vec<(&Message, Result<Answer, String>)> =
        futures_util::stream::iter(again.iter().zip(targets))
            .map(|(m, i)| async move {
                (
                    *m,
                    deliver(client, &fleet[i].base, &m.attempt(secret)).await,
                )
            })
            .buffer_unordered(IN_FLIGHT)
            .collect()
            .await;
    for (m, answer) in &answers {
        checks.check(
            outcome(answer, &m.id) == Outcome::AlreadyProcessed
                && answer.as_ref().is_ok_and(|a| {
                    a.status == 200 && a.body == json!({ "status": "already_processed" })
                }),
            || format!("webhooks: {} sent again after completion: {answer:?}", m.id),
        );
    }

    // Processed exactly once in the deployment; a failing message never.
    let union = processed_union(client, fleet).await;
    let mut twice = 0;
    for m in &messages {
        let times = union.get(&m.id).copied().unwrap_or(0);
        if m.fail {
            checks.check(times == 0, || {
                format!("webhooks: {} (failing) in /processed {times} times", m.id)
            });
        } else {
            twice += usize::from(times > 1);
            checks.check(times == 1, || {
                format!(
                    "webhooks: {} processed {times} times in the deployment",
                    m.id
                )
            });
        }
    }
    let ours: HashSet<&str> = messages.iter().map(|m| m.id.as_str()).collect();
    let strangers = union
        .keys()
        .filter(|id| !ours.contains(id.as_str()))
        .count();
    checks.check(strangers == 0, || {
        format!("webhooks: {strangers} svix-ids in /processed that were never sent")
    });
    let failing = messages.iter().filter(|m| m.fail).count();
    format!(
        "fleet webhooks: {DELIVERIES} deliveries ({failing} failing by design), each sent to 2 of {INSTANCES} instances at once in {elapsed:.1?}: copies answered {tally:?}; {retried} retried; {} sent again after completion, {} answered already_processed; {} processed exactly once, {twice} more than once",
        answers.len(),
        answers
            .iter()
            .filter(|(m, a)| outcome(a, &m.id) == Outcome::AlreadyProcessed)
            .count(),
        messages
            .iter()
            .filter(|m| !m.fail && union.get(&m.id) == Some(&1))
            .count(),
    )
}

fn outcome_name(o: Outcome) -> &'static str {
    match o {
        Outcome::Processed => "200 processed",
        Outcome::AlreadyProcessed => "200 already_processed",
        Outcome::InProgress => "409 in progress",
        Outcome::HandlerFailed => "500 handler failed",
        Outcome::Unexpected => "unexpected",
    }
}

// ---------------------------------------------------------------------------------------------
// Redis outage
// ---------------------------------------------------------------------------------------------

/// An API-key request of the outage part: when it was answered, the instance, the key (`None`:
/// one Clerk does not know) and the answer.
type Sent = (Instant, usize, Option<usize>, Result<Answer, String>);

/// Traffic before, during and after an outage of Redis (stopped, then started again empty).
async fn outage(
    client: &awc::Client,
    backend: &TestBackendApi,
    fleet: &[Instance],
    secret: &TestWebhookSecret,
    redis: RedisServer,
    rng: &mut Rng,
    checks: &mut Checks,
) -> (RedisServer, String) {
    const STOP_AT: Duration = Duration::from_millis(2_500);
    const DOWN_FOR: Duration = Duration::from_millis(3_000);
    const RUN_FOR: Duration = Duration::from_millis(9_000);
    const API_WORKERS: usize = 16;
    const WEBHOOK_WORKERS: usize = 6;
    // Valid keys come into use as time goes: many are first seen while Redis is down, or
    // just after it came back empty.
    let keys: Vec<(String, String)> = (0..300)
        .map(|i| {
            let subject = format!("user_2outage{i}");
            (backend.api_key(subject.clone()).issue(), subject)
        })
        .collect();
    let seeds: Vec<u64> = (0..API_WORKERS + WEBHOOK_WORKERS)
        .map(|_| rng.next())
        .collect();
    let hits_before = backend.verify_hits(VerifyEndpoint::ApiKeys);
    let started = Instant::now();
    let deadline = started + RUN_FOR;

    // Redis: stopped at 2.5 s, started again 3 s later (on a blocking thread: the test's
    // runtime keeps sending meanwhile).
    let controller = async move {
        actix_web::rt::time::sleep_until(started + STOP_AT).await;
        let (mut redis, stopped_at) = actix_web::rt::task::spawn_blocking(move || {
            let mut redis = redis;
            redis.stop();
            (redis, Instant::now())
        })
        .await
        .expect("stop Redis");
        actix_web::rt::time::sleep_until(stopped_at + DOWN_FOR).await;
        let (redis, restarted_at) = actix_web::rt::task::spawn_blocking(move || {
            redis.restart();
            (redis, Instant::now())
        })
        .await
        .expect("restart Redis");
        (redis, stopped_at, restarted_at)
    };

    let api_worker = |seed: u64| {
        let keys = &keys;
        async move {
            let mut rng = Rng(seed);
            let mut seen: Vec<Sent> = Vec::new();
            while Instant::now() < deadline {
                let progress = started.elapsed().as_secs_f64() / RUN_FOR.as_secs_f64();
                let in_use = ((keys.len() as f64 * progress) as usize).clamp(10, keys.len());
                let i = rng.below(INSTANCES);
                let (key, k) = if rng.below(5) == 0 {
                    (format!("ak_{}", rng.hex(32)), None)
                } else {
                    let k = rng.below(in_use);
                    (keys[k].0.clone(), Some(k))
                };
                let answer = protected(client, &fleet[i].base, &key, rng.below(2) == 0).await;
                seen.push((Instant::now(), i, k, answer));
            }
            seen
        }
    };

    let webhook_worker = |seed: u64, w: usize| async move {
        let mut rng = Rng(seed);
        let mut traces: Vec<(Message, Trace, Instant)> = Vec::new();
        let mut n = 0;
        while Instant::now() < deadline {
            let message = Message::new(n * WEBHOOK_WORKERS + w, rng.below(20) == 0, "out");
            n += 1;
            let pair = rng.two_instances();
            let retry_from = rng.below(INSTANCES);
            let sent_at = Instant::now();
            let trace = deliver_as_svix(client, fleet, secret, &message, pair, retry_from).await;
            traces.push((message, trace, sent_at));
        }
        traces
    };

    let (api, hooks, (redis, stopped_at, restarted_at)) = futures_util::future::join3(
        futures_util::future::join_all(seeds[..API_WORKERS].iter().map(|s| api_worker(*s))),
        futures_util::future::join_all(
            seeds[API_WORKERS..]
                .iter()
                .enumerate()
                .map(|(w, s)| webhook_worker(*s, w)),
        ),
        controller,
    )
    .await;
    let elapsed = started.elapsed();
    let hits = backend.verify_hits(VerifyEndpoint::ApiKeys) - hits_before;

    // API keys: never a 5xx, never a wrong decision.
    let mut by_period_api = [0usize; 3];
    let (mut valid, mut invalid) = (0, 0);
    for (at, i, k, answer) in api.iter().flatten() {
        let period = if *at < stopped_at {
            0
        } else if *at < restarted_at {
            1
        } else {
            2
        };
        by_period_api[period] += 1;
        let result = match k {
            Some(k) => {
                valid += 1;
                signed_in_as(answer, &keys[*k].1)
            }
            None => {
                invalid += 1;
                signed_out(answer)
            }
        };
        checks.check(result.is_ok(), || {
            format!(
                "outage: API key {k:?} on instance {i} ({}): {}",
                ["before", "during", "after"][period],
                result.err().unwrap_or_default()
            )
        });
    }

    // Webhooks: no 5xx but the failing handlers', every delivery processed at least once, and
    // exactly once when it was over before Redis stopped. By when they were sent: deliveries,
    // and deliveries processed more than once.
    let union = processed_union(client, fleet).await;
    let traces: Vec<&(Message, Trace, Instant)> = hooks.iter().flatten().collect();
    const PERIODS: [&str; 4] = [
        "before",
        "during",
        "within 2 s after",
        "later than 2 s after",
    ];
    let mut sent = [0usize; 4];
    let mut twice = [0usize; 4];
    // The last delivery sent after the restart that was still processed twice: when every
    // instance used Redis again.
    let mut last_twice = Duration::ZERO;
    for (message, trace, sent_at) in &traces {
        check_trace(checks, message, trace, "outage webhooks");
        let times = union.get(&message.id).copied().unwrap_or(0);
        if message.fail {
            checks.check(times == 0, || {
                format!("outage: {} (failing) in /processed", message.id)
            });
            continue;
        }
        checks.check(times >= 1, || {
            format!("outage: {} never processed: {trace:?}", message.id)
        });
        let period = if *sent_at < stopped_at {
            0
        } else if *sent_at < restarted_at {
            1
        } else if *sent_at < restarted_at + Duration::from_secs(2) {
            2
        } else {
            3
        };
        sent[period] += 1;
        twice[period] += usize::from(times > 1);
        if times > 1 && *sent_at >= restarted_at {
            last_twice = last_twice.max(*sent_at - restarted_at);
        }
    }
    let in_progress: usize = traces
        .iter()
        .map(|(_, t, _)| t.count(Outcome::InProgress))
        .sum();
    let failing = traces.iter().filter(|(m, _, _)| m.fail).count();
    // Retried long: a claim left in Redis by an instance whose `done` did not get there is
    // answered 409 by the others until its lease ends.
    let long = traces
        .iter()
        .filter(|(_, t, _)| t.answers.len() > 2 + INSTANCES)
        .count();
    let longest = traces
        .iter()
        .map(|(_, t, _)| t.answers.len().saturating_sub(2))
        .max()
        .unwrap_or(0);
    let by_period = PERIODS
        .iter()
        .enumerate()
        .map(|(p, name)| {
            format!(
                "{} sent {name} the outage, {} of them processed more than once",
                sent[p], twice[p]
            )
        })
        .collect::<Vec<_>>()
        .join("; ");
    let line = format!(
        "fleet Redis outage: {elapsed:.1?} of traffic, Redis down for {:.1?} (stopped at {:.1?}): {} API-key requests ({valid} valid keys, {invalid} unknown; {} before, {} during, {} after the outage; {hits} upstream verifications), {} deliveries ({failing} failing by design; {in_progress} answers 409, retried; {long} needed more than {INSTANCES} retries, at most {longest}): {by_period}; the last delivery processed twice was sent {last_twice:.1?} after the restart",
        restarted_at - stopped_at,
        stopped_at - started,
        valid + invalid,
        by_period_api[0],
        by_period_api[1],
        by_period_api[2],
        traces.len(),
    );
    (redis, line)
}

// ---------------------------------------------------------------------------------------------
// The suite
// ---------------------------------------------------------------------------------------------

#[actix_web::test]
async fn fleet() {
    let suite_started = Instant::now();
    let bin = support::example_binary("fleet");
    let mut redis = RedisServer::start();
    let instance = TestInstance::new();
    let backend = TestBackendApi::start(&instance);
    let webhook = TestWebhookSecret::generate();
    let env = Env {
        bin: &bin,
        backend: &backend,
        instance: &instance,
        webhook: &webhook,
    };
    let client = client();
    let mut rng = Rng::seeded();
    let mut checks = Checks::default();
    let mut logs: Vec<(String, String)> = Vec::new();

    // With Redis: machine tokens, webhooks, the outage.
    let fleet = start_fleet(&env, &redis.url(), "redis");
    let (with_redis, with_time) =
        machine_tokens(&client, &backend, &fleet, &mut rng, &mut checks, "r").await;
    let keys_in_redis = redis.command(&["DBSIZE"]);
    let stats = stats_line(&client, &fleet).await;
    println!("fleet store stats after the machine tokens (4 instances added up): {stats}");
    // A store operation over its timeout (a machine far too busy) lets that instance decide
    // alone for a second; the stats say so.
    checks.check(with_redis <= KEYS as u64, || {
        format!("machine tokens with Redis: {with_redis} verifications for {KEYS} keys (store: {stats})")
    });
    checks.check(with_redis >= 1, || {
        "machine tokens with Redis: no verification at all".to_owned()
    });

    let webhook_line = webhooks(&client, &fleet, &webhook, &mut rng, &mut checks).await;
    println!("{webhook_line}");
    println!(
        "fleet store stats after the webhooks: {}",
        stats_line(&client, &fleet).await
    );

    let (redis_back, outage_line) = outage(
        &client,
        &backend,
        &fleet,
        &webhook,
        redis,
        &mut rng,
        &mut checks,
    )
    .await;
    redis = redis_back;
    println!("{outage_line}");
    println!(
        "fleet store stats after the outage: {}",
        stats_line(&client, &fleet).await
    );
    checks.check(redis.command(&["PING"]) == "PONG", || {
        "Redis answers after its restart".to_owned()
    });
    for (i, instance) in fleet.iter().enumerate() {
        logs.push((format!("redis-{i}"), instance.stderr()));
    }
    drop(fleet);

    // Without Redis: each instance verifies on its own.
    let fleet = start_fleet(&env, "", "alone");
    let (without_redis, without_time) =
        machine_tokens(&client, &backend, &fleet, &mut rng, &mut checks, "a").await;
    checks.check(without_redis > KEYS as u64, || {
        format!(
            "machine tokens without Redis: {without_redis} verifications, not above {KEYS}: the comparison shows nothing"
        )
    });
    checks.check(without_redis <= (KEYS * INSTANCES) as u64, || {
        format!("machine tokens without Redis: {without_redis} verifications, above one per key and instance")
    });
    for (i, instance) in fleet.iter().enumerate() {
        logs.push((format!("alone-{i}"), instance.stderr()));
    }
    drop(fleet);
    println!(
        "fleet machine tokens: {} requests, {KEYS} keys, {INSTANCES} instances, {IN_FLIGHT} in flight: {with_redis} upstream verifications with Redis ({with_time:.1?}; {keys_in_redis} keys in Redis after), {without_redis} without ({without_time:.1?})",
        KEYS * REQUESTS_PER_KEY
    );

    // Nothing panicked in the instances.
    for (name, text) in &logs {
        checks.check(!text.contains("panicked"), || {
            format!("fleet instance {name} panicked:\n{text}")
        });
    }

    for failure in checks.failures.iter().take(40) {
        eprintln!("FLEET FAIL {failure}");
    }
    if checks.failures.len() > 40 {
        eprintln!("FLEET FAIL … and {} more", checks.failures.len() - 40);
    }
    println!("fleet: whole suite {:.1?}", suite_started.elapsed());
    println!(
        "fleet: {} passed, {} failed",
        checks.passed,
        checks.failures.len()
    );
    assert!(
        checks.failures.is_empty(),
        "{} fleet checks failed (see FLEET FAIL lines)",
        checks.failures.len()
    );
}
