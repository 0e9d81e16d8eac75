//! Differential conformance: every case of `tests/conformance/generate.mjs` is decided by
//! Clerk's own `@clerk/backend` (pinned in `tests/conformance/package-lock.json`) and by this
//! crate's middleware in a real actix app; outcome, reason, message, auth object, `has()` answers
//! and `x-clerk-auth-*` headers must agree.
//!
//! Node and npm are required: the test installs the pinned package with `npm ci` when
//! `node_modules` is missing, and fails (never skips) when that is impossible.

use std::collections::HashMap;
use std::path::Path;
use std::process::Command;

mod support;

use actix_clerk::{Auth, ClerkConfig, ClerkWithAuth, Has, Reverification, ReverificationLevel};
use actix_web::{test, web, App, HttpResponse};
use parking_lot::Mutex;
use serde_json::Value;

/// Deliberate differences, each with its reason: (which cases, our reason, the messages we may
/// give (empty: any), why). "Which cases" is `@toAuthError` (cases where Clerk's `toAuth()`
/// threw) or a case-id prefix. A case covered here must be signed out with our reason (and one
/// of the messages), and Clerk must still decide it otherwise, so that a stale entry shows;
/// everything else must match Clerk exactly.
const ALLOWED_DIFFERENCES: &[(&str, &str, &[&str], &str)] = &[
    (
        "@toAuthError",
        "unexpected-error",
        &[],
        "Clerk reports these v2 tokens (malformed `fea`/`per`/`fpm`) as signed in, then its toAuth() throws (a 500 in Express); we answer signed out with `unexpected-error`, as Clerk itself does for the same token in a cookie.",
    ),
    (
        "ambiguous/deliberate/",
        "token-invalid",
        &[
            "Invalid JWT form. A JWT consists of three parts separated by dots. (reason=token-invalid, token-carrier=header)",
            "Invalid JWT form. The header, payload, or signature could not be decoded. (reason=token-invalid, token-carrier=header)",
        ],
        "Several Authorization lines (clerk-behaviour.md §12): Clerk on a Fetch runtime reads them joined with \", \"; when that value's scheme is not `Bearer` it goes on to the cookies (and may sign in with them), and when the first line is `Bearer <token> <more>` it verifies that token. We never sign such a request in: token-invalid, cookies unread.",
    ),
];

/// The allowed difference covering this case, if any: (which cases, our reason, our messages).
fn allowed_difference(
    case: &Value,
) -> Option<(&'static str, &'static str, &'static [&'static str])> {
    ALLOWED_DIFFERENCES
        .iter()
        .find(|(which, _, _, _)| match *which {
            "@toAuthError" => case["expected"].get("toAuthError").is_some(),
            prefix => case["id"].as_str().is_some_and(|id| id.starts_with(prefix)),
        })
        .map(|&(which, ours, messages, _)| (which, ours, messages))
}

/// Problems with our answer to a case under an allowed difference: `status`, `reason` and
/// `message` are ours (from the auth object or the `x-clerk-auth-*` headers).
fn check_allowed(
    case: &Value,
    (which, ours, messages): (&str, &str, &[&str]),
    status: Option<&str>,
    reason: Option<&str>,
    message: Option<&str>,
) -> Vec<String> {
    let exp = &case["expected"];
    let mut problems = Vec::new();
    if status != Some("signed-out") || reason != Some(ours) {
        problems.push(format!(
            "allowed difference {which}: ours {status:?} {reason:?}, want signed-out {ours}"
        ));
    }
    if !messages.is_empty() && !messages.contains(&message.unwrap_or_default()) {
        problems.push(format!(
            "allowed difference {which}: message {message:?}, want one of {messages:?}"
        ));
    }
    if exp.get("toAuthError").is_none() && exp["status"] != "signed-in" && exp["reason"] == ours {
        problems.push(format!(
            "allowed difference {which}: Clerk now answers {ours} too: the entry is stale"
        ));
    }
    problems
}

fn generate() -> Value {
    let dir = support::clerk_backend_dir();
    let out = Command::new("node")
        .arg(dir.join("generate.mjs"))
        .env("CLERK_TELEMETRY_DISABLED", "1")
        .output()
        .expect("node must be installed to run the conformance suite");
    assert!(
        out.status.success(),
        "generate.mjs failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).expect("generate.mjs prints JSON")
}

fn build_config(cfg: &Value) -> ClerkConfig {
    let mut b = ClerkConfig::builder().jwt_key(cfg["jwtKey"].as_str().expect("jwtKey"));
    if let Some(pk) = cfg["publishableKey"].as_str() {
        b = b.publishable_key(pk);
    }
    let parties: Vec<String> = cfg["authorizedParties"]
        .as_array()
        .map(|a| {
            a.iter()
                .filter_map(|v| v.as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default();
    b = b.authorized_parties(parties);
    match &cfg["audience"] {
        Value::String(s) => b = b.audience([s.clone()]),
        Value::Array(a) => b = b.audience(a.iter().filter_map(|v| v.as_str().map(str::to_owned))),
        _ => {}
    }
    if let Some(ms) = cfg["clockSkewInMs"].as_u64() {
        b = b.clock_skew(std::time::Duration::from_millis(ms));
    }
    b.build().expect("valid configuration")
}

fn to_has(q: &Value) -> Has {
    let mut h = Has::default();
    if let Some(r) = q["role"].as_str() {
        h = h.and_role(r);
    }
    if let Some(p) = q["permission"].as_str() {
        h = h.and_permission(p);
    }
    if let Some(f) = q["feature"].as_str() {
        h = h.and_feature(f);
    }
    if let Some(p) = q["plan"].as_str() {
        h = h.and_plan(p);
    }
    // An unknown level cannot be expressed in the Rust type; a zero-minute custom level is
    // invalid in the same way (Clerk answers false for both).
    let invalid = Reverification::Custom {
        level: ReverificationLevel::FirstFactor,
        after_minutes: 0,
    };
    match &q["reverification"] {
        Value::String(s) => {
            h = h.and_reverification(match s.as_str() {
                "strict_mfa" => Reverification::StrictMfa,
                "strict" => Reverification::Strict,
                "moderate" => Reverification::Moderate,
                "lax" => Reverification::Lax,
                _ => invalid,
            })
        }
        Value::Object(o) => {
            let level = match o.get("level").and_then(Value::as_str) {
                Some("first_factor") => Some(ReverificationLevel::FirstFactor),
                Some("second_factor") => Some(ReverificationLevel::SecondFactor),
                Some("multi_factor") => Some(ReverificationLevel::MultiFactor),
                _ => None,
            };
            let minutes = o.get("afterMinutes").and_then(Value::as_u64).unwrap_or(0) as u32;
            h = h.and_reverification(match level {
                Some(level) => Reverification::Custom {
                    level,
                    after_minutes: minutes,
                },
                None => invalid,
            });
        }
        _ => {}
    }
    h
}

/// The response headers a decision is compared on: `x-clerk-auth-*`, and for Clerk's
/// handshake (a `307` the middleware answers itself, clerk-behaviour.md §13) its `location`
/// and `cache-control`.
fn compared_header(name: &str) -> bool {
    name.starts_with("x-clerk-auth-") || name == "location" || name == "cache-control"
}

fn messages_agree(ours: &str, theirs: &str) -> bool {
    let (a, da) = support::split_current_dates(ours);
    let (b, db) = support::split_current_dates(theirs);
    a == b && da.len() == db.len() && da.iter().zip(&db).all(|(x, y)| (x - y).abs() <= 3)
}

/// Our response's compared headers against Clerk's request-state headers.
fn compare_headers(ours: &actix_web::http::header::HeaderMap, exp: &Value) -> Vec<String> {
    let our_headers: HashMap<String, String> = ours
        .iter()
        .filter(|(k, _)| compared_header(k.as_str()))
        .map(|(k, v)| {
            (
                k.as_str().to_owned(),
                String::from_utf8_lossy(v.as_bytes()).into_owned(),
            )
        })
        .collect();
    let theirs_headers: HashMap<String, String> = exp["headers"]
        .as_object()
        .map(|m| {
            m.iter()
                .filter(|(k, _)| compared_header(k))
                .map(|(k, v)| (k.clone(), v.as_str().unwrap_or_default().to_owned()))
                .collect()
        })
        .unwrap_or_default();
    let mut problems = Vec::new();
    let header_keys: std::collections::BTreeSet<&String> =
        our_headers.keys().chain(theirs_headers.keys()).collect();
    for k in header_keys {
        let (a, b) = (our_headers.get(k), theirs_headers.get(k));
        let same = match (a, b) {
            (Some(a), Some(b)) => messages_agree(a, b),
            _ => false,
        };
        if !same {
            problems.push(format!("header {k}: ours {a:?}, Clerk {b:?}"));
        }
    }
    problems
}

#[derive(Default)]
struct Slot(Mutex<Option<Auth>>);

async fn endpoint(auth: web::ReqData<Auth>, slot: web::Data<Slot>) -> HttpResponse {
    *slot.0.lock() = Some(Auth::clone(&auth));
    HttpResponse::Ok().json(auth.into_inner())
}

#[actix_web::test]
async fn conformance_with_clerk_backend() {
    let doc = generate();
    assert_eq!(doc["clerkBackendVersion"], "3.25.0");
    let configs: HashMap<String, ClerkConfig> = doc["configs"]
        .as_object()
        .expect("configs")
        .iter()
        .map(|(name, cfg)| (name.clone(), build_config(cfg)))
        .collect();
    let slot = web::Data::new(Slot::default());
    let mut apps = HashMap::new();
    for (name, cfg) in &configs {
        let app = test::init_service(
            App::new().app_data(slot.clone()).service(
                web::resource("/protected-endpoint")
                    .wrap(ClerkWithAuth::new(cfg.clone()))
                    .to(endpoint),
            ),
        )
        .await;
        apps.insert(name.clone(), app);
    }

    let cases = doc["cases"].as_array().expect("cases");
    let mut passed = 0usize;
    let mut failures: Vec<String> = Vec::new();
    let mut allowed_used = 0usize;
    // Round 2 replays every case: tokens that verified in round 1 now come from the
    // verified-token cache, and must be decided exactly the same way.
    for (round, case) in cases
        .iter()
        .map(|c| ("fresh", c))
        .chain(cases.iter().map(|c| ("cached", c)))
    {
        let id = &format!("{round}:{}", case["id"].as_str().expect("id"));
        let app = &apps[case["config"].as_str().expect("config")];
        let url = case["url"].as_str().expect("url");
        let path = url
            .find("/protected-endpoint")
            .map(|i| &url[i..])
            .expect("path");
        let mut req = test::TestRequest::default()
            .method(
                case["method"]
                    .as_str()
                    .expect("method")
                    .parse()
                    .expect("method"),
            )
            .uri(path);
        for pair in case["headers"].as_array().expect("headers") {
            let (k, v) = (
                pair[0].as_str().expect("name"),
                pair[1].as_str().expect("value"),
            );
            req = req.append_header((k, v));
        }
        *slot.0.lock() = None;
        let res = test::call_service(app, req.to_request()).await;
        let auth = slot.0.lock().take();
        let mut problems = Vec::new();
        let exp = &case["expected"];
        if exp["status"] == "handshake" && allowed_difference(case).is_none() {
            // The middleware answers the redirect itself: the handler never runs.
            if res.status() != actix_web::http::StatusCode::TEMPORARY_REDIRECT || auth.is_some() {
                failures.push(format!(
                    "{id}: handshake expected, got status {} (handler ran: {})",
                    res.status(),
                    auth.is_some()
                ));
                continue;
            }
            let problems = compare_headers(res.headers(), exp);
            if problems.is_empty() {
                passed += 1;
            } else {
                failures.push(format!("{id}:\n  {}", problems.join("\n  ")));
            }
            continue;
        }
        let Some(auth) = auth else {
            failures.push(format!(
                "{id}: handler did not run (status {})",
                res.status()
            ));
            continue;
        };
        let our_headers: HashMap<String, String> = res
            .headers()
            .iter()
            .filter(|(k, _)| k.as_str().starts_with("x-clerk-auth-"))
            .map(|(k, v)| {
                (
                    k.as_str().to_owned(),
                    String::from_utf8_lossy(v.as_bytes()).into_owned(),
                )
            })
            .collect();

        if let Some(allowed) = allowed_difference(case) {
            let mut problems = check_allowed(
                case,
                allowed,
                Some(if auth.is_signed_in() {
                    "signed-in"
                } else {
                    "signed-out"
                }),
                auth.reason().map(|r| r.as_str()),
                Some(auth.message()),
            );
            for (k, want) in [
                ("x-clerk-auth-status", Some("signed-out")),
                ("x-clerk-auth-reason", auth.reason().map(|r| r.as_str())),
            ] {
                if our_headers.get(k).map(String::as_str) != want {
                    problems.push(format!("header {k}: {:?}", our_headers.get(k)));
                }
            }
            if problems.is_empty() {
                allowed_used += 1;
                passed += 1;
            } else {
                failures.push(format!("{id}:\n  {}", problems.join("\n  ")));
            }
            continue;
        }

        let pending = exp["status"] == "signed-in" && exp["auth"]["sessionStatus"] == "pending";
        let expected_reason: Option<&str> = if pending {
            Some("session-pending")
        } else if exp["status"] == "signed-in" {
            None
        } else {
            exp["reason"].as_str()
        };
        let our_reason = auth.reason().map(|r| r.as_str());
        if our_reason != expected_reason {
            problems.push(format!(
                "reason: ours {our_reason:?}, Clerk {expected_reason:?}"
            ));
        }
        if exp["status"] != "signed-in" {
            let theirs = exp["message"].as_str().unwrap_or("");
            if !messages_agree(auth.message(), theirs) {
                problems.push(format!(
                    "message:\n    ours  {:?}\n    Clerk {:?}",
                    auth.message(),
                    theirs
                ));
            }
        }
        let ours_json = serde_json::to_value(&auth).expect("serialises");
        let theirs_json = if exp["status"] == "handshake" {
            Value::Null
        } else {
            exp["auth"].clone()
        };
        if exp["status"] != "handshake" && ours_json != theirs_json {
            problems.push(format!(
                "auth:\n    ours  {ours_json}\n    Clerk {theirs_json}"
            ));
        }
        let queries = case["has"].as_array().expect("has");
        let theirs_has = exp["has"].as_array().cloned().unwrap_or_default();
        for (i, q) in queries.iter().enumerate() {
            let ours = auth.has(&to_has(q));
            let theirs = theirs_has.get(i).and_then(Value::as_bool).unwrap_or(false);
            if ours != theirs {
                problems.push(format!("has({q}): ours {ours}, Clerk {theirs}"));
            }
        }
        problems.extend(compare_headers(res.headers(), exp));
        if problems.is_empty() {
            passed += 1;
        } else {
            failures.push(format!("{id}:\n  {}", problems.join("\n  ")));
        }
    }
    for f in &failures {
        eprintln!("MISMATCH {f}");
    }
    println!(
        "conformance against @clerk/backend {}: {} cases, each decided fresh and again from the token cache; {} allowed differences used",
        doc["clerkBackendVersion"].as_str().unwrap_or("?"),
        cases.len(),
        allowed_used
    );
    println!("conformance: {passed} passed, {} failed", failures.len());
    assert!(
        failures.is_empty(),
        "{} conformance mismatches (see MISMATCH lines)",
        failures.len()
    );
    assert!(passed >= 400, "only {passed} case runs");
    let cached: usize = configs
        .values()
        .map(|c| c.stats().token_cache.map_or(0, |s| s.entries))
        .sum();
    assert!(
        cached >= 100,
        "round 2 should have used the token cache ({cached} entries)"
    );
}

struct Child(std::process::Child);
impl Drop for Child {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Starts `with_auth` with a config given as environment variables and waits until it listens.
fn start_with_auth(bin: &Path, cfg: &Value) -> (Child, String) {
    use std::io::{BufRead, BufReader};
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .expect("bind")
        .local_addr()
        .expect("addr")
        .port();
    let parties: Vec<&str> = cfg["authorizedParties"]
        .as_array()
        .map(|a| a.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default();
    let mut cmd = Command::new(bin);
    cmd.env_clear()
        .env("PORT", port.to_string())
        .env(
            "CLERK_JWT_KEY",
            cfg["jwtKey"].as_str().expect("jwtKey").replace('\n', "\\n"),
        )
        .env("CLERK_AUTHORIZED_PARTIES", parties.join(","))
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null());
    if let Some(pk) = cfg["publishableKey"].as_str() {
        cmd.env("CLERK_PUBLISHABLE_KEY", pk);
    }
    let mut child = Child(cmd.spawn().expect("start with_auth"));
    let stdout = child.0.stdout.take().expect("stdout");
    let mut line = String::new();
    BufReader::new(stdout)
        .read_line(&mut line)
        .expect("read banner");
    assert!(
        line.contains("Example app listening"),
        "with_auth said: {line}"
    );
    (child, format!("http://127.0.0.1:{port}"))
}

/// The `with_auth` example, started as a process with the configuration in its environment,
/// answers every case whose configuration the environment can express (no audience, default
/// skew) with Clerk's auth object and `x-clerk-auth-*` headers.
#[actix_web::test]
async fn with_auth_example_over_http_matches_clerk() {
    // Built first: the messages' current dates are compared within 3 s of Clerk's decisions.
    let bin = support::example_binary("with_auth");
    let doc = generate();
    // This test's own awc client needs a process-level rustls provider (the crate never
    // installs one).
    let _ = rustls::crypto::aws_lc_rs::default_provider().install_default();
    let client = awc::Client::builder()
        .timeout(std::time::Duration::from_secs(10))
        .disable_redirects()
        .finish();
    let (mut passed, mut failures) = (0usize, Vec::new());
    for (name, cfg) in doc["configs"].as_object().expect("configs") {
        if !cfg["audience"].is_null() || cfg.get("clockSkewInMs").is_some() {
            continue;
        }
        let (_child, base) = start_with_auth(&bin, cfg);
        for case in doc["cases"]
            .as_array()
            .expect("cases")
            .iter()
            .filter(|c| c["config"] == name.as_str())
        {
            let id = case["id"].as_str().expect("id");
            let exp = &case["expected"];
            let url = case["url"].as_str().expect("url");
            let path = url
                .find("/protected-endpoint")
                .map(|i| &url[i..])
                .expect("path");
            let method: actix_web::http::Method = case["method"]
                .as_str()
                .expect("method")
                .parse()
                .expect("method");
            let mut req = client.request(method, format!("{base}{path}"));
            for pair in case["headers"].as_array().expect("headers") {
                req = req.append_header((
                    pair[0].as_str().expect("name"),
                    pair[1].as_str().expect("value"),
                ));
            }
            let mut res = match req.send().await {
                Ok(r) => r,
                Err(e) => {
                    // Over HTTP, a header larger than the server's limit never reaches the app.
                    failures.push(format!("{id}: request failed: {e}"));
                    continue;
                }
            };
            if res.status() == actix_web::http::StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE {
                // Node's http server refuses these too (431) before Clerk runs.
                passed += 1;
                continue;
            }
            let handshake = exp["status"] == "handshake" && allowed_difference(case).is_none();
            if handshake {
                let problems = if res.status() == actix_web::http::StatusCode::TEMPORARY_REDIRECT {
                    compare_headers(res.headers(), exp)
                } else {
                    vec![format!("handshake expected, got status {}", res.status())]
                };
                if problems.is_empty() {
                    passed += 1;
                } else {
                    failures.push(format!("{id} ({name}):\n  {}", problems.join("\n  ")));
                }
                continue;
            }
            let body: Value = res.json().limit(4 << 20).await.expect("JSON body");
            let mut problems = Vec::new();
            if let Some(allowed) = allowed_difference(case) {
                let header = |k: &str| {
                    res.headers()
                        .get(k)
                        .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned())
                };
                problems = check_allowed(
                    case,
                    allowed,
                    header("x-clerk-auth-status").as_deref(),
                    header("x-clerk-auth-reason").as_deref(),
                    header("x-clerk-auth-message").as_deref(),
                );
                if body["isAuthenticated"] != Value::Bool(false) {
                    problems.push(format!("allowed difference: auth {body}"));
                }
            } else {
                if body != exp["auth"] {
                    problems.push(format!(
                        "auth:\n    ours  {body}\n    Clerk {}",
                        exp["auth"]
                    ));
                }
                problems.extend(compare_headers(res.headers(), exp));
            }
            if problems.is_empty() {
                passed += 1;
            } else {
                failures.push(format!("{id} ({name}):\n  {}", problems.join("\n  ")));
            }
        }
    }
    for f in &failures {
        eprintln!("MISMATCH {f}");
    }
    println!(
        "with_auth over HTTP: {passed} passed, {} failed",
        failures.len()
    );
    assert!(
        failures.is_empty(),
        "{} mismatches over HTTP",
        failures.len()
    );
    assert!(passed >= 200, "only {passed} cases ran over HTTP");
}
