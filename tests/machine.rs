//! Machine tokens (clerk-behaviour.md §9): API keys (`ak_…`), M2M tokens (`mt_…`, JWTs whose
//! `sub` starts `mch_`) and OAuth access tokens (`oat_…`, `at+jwt` JWTs).
//!
//! - `machine_auth_example_matches_clerk`: the differential suite. One local server plays
//!   Clerk's Backend API (the testing kit's `TestBackendApi`: the JWKS and the three verify
//!   endpoints, answering from a table of tokens registered here). Every case is decided by `@clerk/backend`
//!   (`tests/conformance/machine-oracle.mjs`, talking to that server) and by the
//!   `machine_auth` example (the lax middleware), started once per accepted-kinds setting and
//!   asked over HTTP; signed in or out, reason, message, the auth JSON (exact, field order
//!   included) and the `x-clerk-auth-*` headers must agree, but for the deliberate differences
//!   of `ALLOWED_DIFFERENCES`. The same cases then go through the strict middleware
//!   in-process (200 / 401 / 503). Every case carries tokens of its own, so no cache can change
//!   an answer; the cases that need a Backend API call are paced under the crate's per-second
//!   bound. Each verify endpoint must be called with the right key, and no answer or output of
//!   the example may show a secret key.
//! - Key-store style tests against the same server, in-process: one upstream call for 1 000
//!   concurrent requests with one new API key, a bounded number for 10 000 random keys,
//!   outages and hangs with a warm cache, secret keys never in answers.
//! - Hostile inputs: huge and odd machine tokens, prefix tricks, verify answers that are JSON
//!   bombs.
//!
//! Node and npm are required (`npm ci` in tests/conformance on first use); the tests fail,
//! never skip, without them.

mod support;

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use actix_clerk::testing::{
    api_key_body, clerk_errors, m2m_token_body, oauth_token_body, JwksMode, TestBackendApi,
    TestKey, VerifyAnswer, VerifyEndpoint,
};
use serde_json::{json, Value};
use support::{now_secs, LogBuffer};

// ---------------------------------------------------------------------------------------------
// Keys and configurations
// ---------------------------------------------------------------------------------------------

/// The instance's secret key (accepted by every verify endpoint of the stand-in).
const SECRET: &str = "sk_test_machine_standin";
/// The secret key of the configurations that also set a machine secret key: the stand-in's
/// M2M endpoint refuses it (401), so an M2M verification made with it instead of the machine
/// secret key shows as a mismatch.
const SECRET_WITH_MACHINE: &str = "sk_test_machine_cfg_second";
/// The machine secret key (`CLERK_MACHINE_SECRET_KEY`).
const MACHINE_SECRET: &str = "msk_test_machine_standin";
/// Where the cases are addressed (the oracle's `Request` URL; the example gets the path).
const URL: &str = "http://localhost:3000/protected-endpoint";
const APP_ORIGIN: &str = "https://app.example.com";
/// Clerk's M2M JWT category (`cat` header).
const CAT_M2M: &str = "cl_B7d4PD333AAA";
const CAT_SESSION: &str = "cl_B7d4PD111AAA";

fn publishable_key() -> String {
    use base64::Engine as _;
    format!(
        "pk_live_{}",
        base64::engine::general_purpose::STANDARD_NO_PAD.encode("clerk.example.com$")
    )
}

/// One configuration of the example (one process) and of Clerk.
#[derive(Clone, Debug)]
struct Cfg {
    name: &'static str,
    /// `ACCEPTS_TOKEN`; `None` leaves it unset (the default, session tokens).
    accepts: Option<&'static str>,
    /// Keys from the stand-in's JWKS rather than `CLERK_JWT_KEY`.
    jwks: bool,
    /// `CLERK_MACHINE_SECRET_KEY` set (and the secret key is `SECRET_WITH_MACHINE`).
    machine_secret: bool,
    authorized_parties: &'static [&'static str],
}

impl Cfg {
    fn secret(&self) -> &'static str {
        if self.machine_secret {
            SECRET_WITH_MACHINE
        } else {
            SECRET
        }
    }

    /// Clerk's `acceptsToken` option for `ACCEPTS_TOKEN` (one name: that kind; several: a list).
    fn accepts_js(&self) -> Value {
        match self.accepts {
            None => Value::Null,
            Some("any") => json!("any"),
            Some(s) if s.contains(',') => json!(s.split(',').collect::<Vec<_>>()),
            Some(s) => json!(s),
        }
    }

    fn accepts_kind(&self, kind: &str) -> bool {
        match self.accepts {
            None => kind == "session_token",
            Some("any") => true,
            Some(s) => s.split(',').any(|k| k == kind),
        }
    }
}

fn configs() -> Vec<Cfg> {
    let c = |name, accepts, jwks, machine_secret, authorized_parties| Cfg {
        name,
        accepts,
        jwks,
        machine_secret,
        authorized_parties,
    };
    vec![
        c("default", None, false, false, &[]),
        c("session", Some("session_token"), false, false, &[]),
        c("api_key", Some("api_key"), false, false, &[]),
        c("m2m", Some("m2m_token"), false, false, &[]),
        c("m2m-msk", Some("m2m_token"), false, true, &[]),
        c("oauth", Some("oauth_token"), false, false, &[]),
        c("api+m2m", Some("api_key,m2m_token"), false, false, &[]),
        c(
            "session+api",
            Some("session_token,api_key"),
            false,
            false,
            &[],
        ),
        c(
            "m2m+oauth",
            Some("m2m_token,oauth_token"),
            false,
            false,
            &[],
        ),
        c(
            "session+oauth",
            Some("session_token,oauth_token"),
            false,
            false,
            &[APP_ORIGIN],
        ),
        c(
            "machines",
            Some("api_key,m2m_token,oauth_token"),
            false,
            false,
            &[],
        ),
        c(
            "all",
            Some("session_token,api_key,m2m_token,oauth_token"),
            false,
            true,
            &[],
        ),
        c("any", Some("any"), false, false, &[]),
        c("any-jwks", Some("any"), true, true, &[APP_ORIGIN]),
    ]
}

// ---------------------------------------------------------------------------------------------
// Tokens
// ---------------------------------------------------------------------------------------------

static SEQ: AtomicU64 = AtomicU64::new(1);

/// A fresh opaque token: `prefix` + random hex + a sequence number (unique in this process).
fn opaque(prefix: &str) -> String {
    let mut bytes = [0u8; 12];
    aws_lc_rs::rand::fill(&mut bytes).expect("random bytes");
    let hex: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
    format!("{prefix}{hex}{:06}", SEQ.fetch_add(1, Ordering::Relaxed))
}

/// `base` with `extra`'s fields merged over it (`null` removes one).
fn merged(mut base: Value, extra: Value) -> Value {
    if let (Some(b), Value::Object(extra)) = (base.as_object_mut(), extra) {
        for (k, v) in extra {
            if v.is_null() {
                b.remove(&k);
            } else {
                b.insert(k, v);
            }
        }
    }
    base
}

/// A JWT signed by `key`: its standard header with `header` merged over it, these claims.
fn jwt(key: &TestKey, header: Value, claims: Value) -> String {
    key.sign(&merged(key.header(), header), &claims)
}

/// Claims of an M2M JWT as Clerk issues them, `extra` merged over them.
fn m2m_claims(extra: Value) -> Value {
    let now = now_secs();
    merged(
        json!({
            "iss": "https://clerk.example.com",
            "sub": format!("mch_{}", &opaque("")[..10]),
            "exp": now + 3600,
            "iat": now - 10,
            "nbf": now - 10,
            "jti": opaque("mt_"),
            "scopes": "mch_2other mch_2third",
            "team": "ops",
        }),
        extra,
    )
}

/// Claims of an OAuth access token JWT, `extra` merged over them.
fn oauth_claims(extra: Value) -> Value {
    let now = now_secs();
    merged(
        json!({
            "iss": "https://clerk.example.com",
            "sub": "user_2oauthsubject",
            "client_id": "client_2app",
            "scp": ["read", "write"],
            "aud": "https://api.example.com",
            "exp": now + 3600,
            "iat": now - 10,
            "nbf": now - 10,
            "jti": opaque("oat_"),
        }),
        extra,
    )
}

// ---------------------------------------------------------------------------------------------
// Cases
// ---------------------------------------------------------------------------------------------

/// One request of the differential suite.
#[derive(Clone, Debug)]
struct Case {
    /// `<config>/<shape>`
    id: String,
    config: &'static str,
    /// The shape (the id without the config), which the allow-list names.
    shape: String,
    method: &'static str,
    headers: Vec<(String, String)>,
}

/// What the cases of one configuration are built from.
struct Ctx<'a> {
    server: &'a TestBackendApi,
    key: &'a TestKey,
    /// Same `kid`, another key: forged signatures.
    forger: &'a TestKey,
    /// A `kid` the instance does not have.
    stranger: &'a TestKey,
}

fn bearer(token: &str) -> Vec<(String, String)> {
    vec![("authorization".into(), format!("Bearer {token}"))]
}

/// A session in cookies: `__session` and `__client_uat` (a production instance).
fn cookies(session: &str) -> Vec<(String, String)> {
    vec![(
        "cookie".into(),
        format!("__client_uat={}; __session={session}", now_secs() - 100),
    )]
}

/// A shape: its name, the method and the request headers.
type Shape = (String, &'static str, Vec<(String, String)>);

/// Every token shape, for one configuration, with fresh tokens registered on the stand-in.
fn shapes(ctx: &Ctx<'_>, cfg: &Cfg) -> Vec<Shape> {
    use VerifyEndpoint::{ApiKeys as AK, M2mTokens as MT, OAuthAccessTokens as OAT};
    let s = ctx.server;
    let mut out: Vec<Shape> = Vec::new();
    let mut add = |name: &str, method: &'static str, headers: Vec<(String, String)>| {
        out.push((name.to_owned(), method, headers));
    };
    // An opaque token of `prefix`, registered at `endpoint` with `answer` (None: unregistered).
    let reg = |prefix: &str, endpoint: VerifyEndpoint, answer: Option<VerifyAnswer>| {
        let t = opaque(prefix);
        if let Some(a) = answer {
            s.register(endpoint, &t, a);
        }
        t
    };
    let raw = |status: u16, ct: &str, body: &str| VerifyAnswer::Raw {
        status,
        content_type: ct.to_owned(),
        body: body.to_owned(),
    };
    let err = VerifyAnswer::error;
    // Backend API trouble that costs a timeout: only where an opaque kind is accepted.
    let slow_ok =
        |kind: &str| cfg.accepts_kind(kind) && cfg.accepts != Some("any") || cfg.name == "any";

    // --- API keys -----------------------------------------------------------------------------
    let ak_ok = |subject: &str, claims: Value, scopes: Value| {
        let t = opaque("ak_");
        s.register(
            AK,
            &t,
            VerifyAnswer::Ok(api_key_body(
                &opaque("ak_id_"),
                subject,
                "CI key",
                claims,
                scopes,
            )),
        );
        t
    };
    add(
        "ak/valid-user",
        "GET",
        bearer(&ak_ok(
            "user_2keyowner",
            json!({"team": "ci"}),
            json!(["read", "write"]),
        )),
    );
    add(
        "ak/valid-user-post",
        "POST",
        bearer(&ak_ok(
            "user_2keyowner",
            json!({"team": "ci"}),
            json!(["read"]),
        )),
    );
    add(
        "ak/valid-org",
        "GET",
        bearer(&ak_ok(
            "org_2keyorg",
            json!({"n": 1, "nested": {"a": [1, 2]}}),
            json!([]),
        )),
    );
    add(
        "ak/valid-null-claims",
        "GET",
        bearer(&ak_ok("mch_2keymachine", Value::Null, json!([]))),
    );
    add("ak/404", "GET", bearer(&reg("ak_", AK, None)));
    add("ak/404-post", "POST", bearer(&reg("ak_", AK, None)));
    add(
        "ak/401",
        "GET",
        bearer(&reg(
            "ak_",
            AK,
            Some(err(
                401,
                "authentication_invalid",
                "Secret key invalid for this instance",
            )),
        )),
    );
    add(
        "ak/401-no-errors",
        "GET",
        bearer(&reg(
            "ak_",
            AK,
            Some(VerifyAnswer::Status(401, json!({"errors": []}))),
        )),
    );
    add(
        "ak/401-not-json",
        "GET",
        bearer(&reg(
            "ak_",
            AK,
            Some(raw(401, "text/plain", "unauthorized")),
        )),
    );
    add(
        "ak/403",
        "GET",
        bearer(&reg(
            "ak_",
            AK,
            Some(err(403, "authorization_invalid", "Forbidden")),
        )),
    );
    add(
        "ak/422",
        "GET",
        bearer(&reg(
            "ak_",
            AK,
            Some(err(422, "form_param_invalid", "secret is invalid")),
        )),
    );
    add(
        "ak/500",
        "GET",
        bearer(&reg("ak_", AK, Some(err(500, "internal_error", "Oops")))),
    );
    add(
        "ak/502-html",
        "GET",
        bearer(&reg(
            "ak_",
            AK,
            Some(raw(502, "text/html", "<html>bad gateway</html>")),
        )),
    );
    add(
        "ak/429",
        "GET",
        bearer(&reg(
            "ak_",
            AK,
            Some(err(429, "too_many_requests", "Too many requests")),
        )),
    );
    add(
        "ak/200-not-json",
        "GET",
        bearer(&reg(
            "ak_",
            AK,
            Some(raw(200, "application/json", "{not json")),
        )),
    );
    add(
        "ak/200-text",
        "GET",
        bearer(&reg("ak_", AK, Some(raw(200, "text/plain", "OK")))),
    );
    add(
        "ak/missing-object",
        "GET",
        bearer(&reg(
            "ak_",
            AK,
            Some(VerifyAnswer::Ok(merged(
                api_key_body("ak_id_x", "user_2x", "k", json!({}), json!([])),
                json!({"object": null}),
            ))),
        )),
    );
    add(
        "ak/wrong-object",
        "GET",
        bearer(&reg(
            "ak_",
            AK,
            Some(VerifyAnswer::Ok(merged(
                api_key_body("ak_id_x", "user_2x", "k", json!({}), json!([])),
                json!({"object": "machine_to_machine_token"}),
            ))),
        )),
    );
    add(
        "ak/revoked",
        "GET",
        bearer(&reg(
            "ak_",
            AK,
            Some(VerifyAnswer::Ok(merged(
                api_key_body("ak_id_r", "user_2x", "k", json!({}), json!([])),
                json!({"revoked": true, "revocation_reason": "leaked"}),
            ))),
        )),
    );
    add(
        "ak/expired-flag",
        "GET",
        bearer(&reg(
            "ak_",
            AK,
            Some(VerifyAnswer::Ok(merged(
                api_key_body("ak_id_e", "user_2x", "k", json!({}), json!([])),
                json!({"expired": true, "expiration": 1_700_000_000_000_i64}),
            ))),
        )),
    );
    add(
        "ak/no-scheme",
        "GET",
        vec![(
            "authorization".into(),
            ak_ok("user_2noscheme", json!({}), json!(["a"])),
        )],
    );
    // Leading spaces of a header value are not part of it (HTTP and Node trim them).
    add(
        "ak/leading-space-no-scheme",
        "GET",
        vec![(
            "authorization".into(),
            format!(" {}", ak_ok("user_2leading", json!({}), json!([]))),
        )],
    );
    add(
        "ak/lowercase-bearer",
        "GET",
        vec![(
            "authorization".into(),
            format!("bearer {}", ak_ok("user_2lower", json!({}), json!([]))),
        )],
    );
    add(
        "ak/basic-scheme",
        "GET",
        vec![(
            "authorization".into(),
            format!("Basic {}", ak_ok("user_2basic", json!({}), json!([]))),
        )],
    );
    add(
        "ak/two-spaces",
        "GET",
        vec![(
            "authorization".into(),
            format!("Bearer  {}", ak_ok("user_2spaces", json!({}), json!([]))),
        )],
    );
    add(
        "ak/trailing-words",
        "GET",
        vec![(
            "authorization".into(),
            format!(
                "Bearer {} extra words",
                ak_ok("user_2words", json!({}), json!([]))
            ),
        )],
    );
    add("ak/uppercase-prefix", "GET", bearer(&opaque("AK_")));
    add("ak/prefix-only", "GET", bearer("ak_"));
    add(
        "ak/dotted-jwt-form",
        "GET",
        bearer(&format!("{}.e30.c2ln", opaque("ak_"))),
    );
    add(
        "ak/in-session-cookie",
        "GET",
        cookies(&ak_ok("user_2cookie", json!({}), json!([]))),
    );
    add(
        "ak/8kib",
        "GET",
        bearer(&format!("{}{}", opaque("ak_"), "x".repeat(8 * 1024))),
    );
    // Clerk reads a body as JSON only when Content-Type is exactly `application/json`, and a
    // body it cannot parse is a fetch error (status n/a), whatever the status.
    add(
        "ak/404-bad-json",
        "GET",
        bearer(&reg(
            "ak_",
            AK,
            Some(raw(404, "application/json", "{\"errors\": [")),
        )),
    );
    add(
        "ak/401-bad-json",
        "GET",
        bearer(&reg(
            "ak_",
            AK,
            Some(raw(401, "application/json", "<html>401</html>")),
        )),
    );
    add(
        "ak/500-bad-json",
        "GET",
        bearer(&reg("ak_", AK, Some(raw(500, "application/json", "")))),
    );
    add(
        "ak/401-charset",
        "GET",
        bearer(&reg(
            "ak_",
            AK,
            Some(raw(
                401,
                "application/json; charset=utf-8",
                &clerk_errors("authentication_invalid", "Key from a charset answer").to_string(),
            )),
        )),
    );
    add(
        "ak/200-charset",
        "GET",
        bearer(&reg(
            "ak_",
            AK,
            Some(raw(
                200,
                "application/json; charset=utf-8",
                &api_key_body("ak_id_cs", "user_2cs", "k", json!({}), json!([])).to_string(),
            )),
        )),
    );
    // JSON corner cases in a valid answer: repeated keys (the last wins in both parsers),
    // numbers JavaScript cannot hold exactly or prints its own way, odd strings.
    add(
        "ak/duplicate-keys",
        "GET",
        bearer(&reg(
            "ak_",
            AK,
            Some(raw(
                200,
                "application/json",
                r#"{"object":"machine_to_machine_token","object":"api_key","id":"ak_id_dup","subject":"user_2first","name":"k","claims":{"a":1,"a":2},"scopes":[],"subject":"org_2last"}"#,
            )),
        )),
    );
    add(
        "ak/number-claims",
        "GET",
        bearer(&reg(
            "ak_",
            AK,
            Some(raw(
                200,
                "application/json",
                r#"{"object":"api_key","id":"ak_id_num","subject":"user_2num","name":"n","claims":{"int":42,"big":12345678901234567890,"float":1.0,"half":0.5,"tiny":1e-7,"huge":1e21,"neg":-0.0},"scopes":[]}"#,
            )),
        )),
    );
    add(
        "ak/string-claims",
        "GET",
        bearer(&reg(
            "ak_",
            AK,
            Some(VerifyAnswer::Ok(api_key_body(
                "ak_id_str",
                "user_2str",
                "quote \" slash \\ nl \n tab \t <script> \u{2028} é 𝄞",
                json!({"ctl": "\u{0001}\u{001f}", "html": "</script>&", "emoji": "😀"}),
                json!(["a b", ""]),
            ))),
        )),
    );
    add(
        "ak/quotes-in-token",
        "GET",
        bearer(&{
            let t = format!("{}\"\\{{}}", opaque("ak_"));
            s.register(
                AK,
                &t,
                VerifyAnswer::Ok(api_key_body(
                    "ak_id_q",
                    "user_2quoted",
                    "q",
                    json!({}),
                    json!([]),
                )),
            );
            t
        }),
    );
    add(
        "ak/tab-in-token",
        "GET",
        bearer(&format!("{}\tx", opaque("ak_"))),
    );
    add(
        "ak/comma-two-tokens",
        "GET",
        vec![(
            "authorization".into(),
            format!(
                "Bearer {}, Bearer {}",
                ak_ok("user_2comma", json!({}), json!([])),
                opaque("ak_")
            ),
        )],
    );
    add(
        "ak/percent-encoded",
        "GET",
        bearer(&format!("{}%00%0d%0a", opaque("ak_"))),
    );
    if slow_ok("api_key") {
        add(
            "ak/hang",
            "GET",
            bearer(&reg("ak_", AK, Some(VerifyAnswer::Hang))),
        );
    }

    // --- M2M tokens, opaque --------------------------------------------------------------------
    let mt_ok = |claims: Value, scopes: Value| {
        let t = opaque("mt_");
        s.register(
            MT,
            &t,
            VerifyAnswer::Ok(m2m_token_body(
                &opaque("mt_id_"),
                "mch_2caller",
                claims,
                scopes,
            )),
        );
        t
    };
    add(
        "mt/valid",
        "GET",
        bearer(&mt_ok(json!({"env": "prod"}), json!(["mch_2callee"]))),
    );
    add(
        "mt/valid-post-null-claims",
        "POST",
        bearer(&mt_ok(Value::Null, json!([]))),
    );
    add("mt/404", "GET", bearer(&reg("mt_", MT, None)));
    add(
        "mt/401",
        "GET",
        bearer(&reg(
            "mt_",
            MT,
            Some(err(
                401,
                "authentication_invalid",
                "Machine secret key invalid",
            )),
        )),
    );
    add(
        "mt/403",
        "GET",
        bearer(&reg(
            "mt_",
            MT,
            Some(err(403, "authorization_invalid", "Forbidden")),
        )),
    );
    add(
        "mt/500",
        "GET",
        bearer(&reg("mt_", MT, Some(err(500, "internal_error", "Oops")))),
    );
    add(
        "mt/429",
        "GET",
        bearer(&reg(
            "mt_",
            MT,
            Some(err(429, "too_many_requests", "Slow down")),
        )),
    );
    add(
        "mt/200-text",
        "GET",
        bearer(&reg("mt_", MT, Some(raw(200, "text/plain", "OK")))),
    );
    add(
        "mt/missing-object",
        "GET",
        bearer(&reg(
            "mt_",
            MT,
            Some(VerifyAnswer::Ok(merged(
                m2m_token_body("mt_id_x", "mch_2x", json!({}), json!([])),
                json!({"object": null}),
            ))),
        )),
    );
    add(
        "mt/revoked",
        "GET",
        bearer(&reg(
            "mt_",
            MT,
            Some(VerifyAnswer::Ok(merged(
                m2m_token_body("mt_id_r", "mch_2x", json!({}), json!([])),
                json!({"revoked": true}),
            ))),
        )),
    );
    if slow_ok("m2m_token") {
        add(
            "mt/hang",
            "GET",
            bearer(&reg("mt_", MT, Some(VerifyAnswer::Hang))),
        );
    }

    // --- OAuth access tokens, opaque ----------------------------------------------------------
    let oat_ok = |subject: &str, scopes: Value, aud: Value| {
        let t = opaque("oat_");
        s.register(
            OAT,
            &t,
            VerifyAnswer::Ok(oauth_token_body(
                &opaque("oat_id_"),
                subject,
                "client_2app",
                scopes,
                aud,
            )),
        );
        t
    };
    add(
        "oat/valid",
        "GET",
        bearer(&oat_ok(
            "user_2oauth",
            json!(["profile", "email"]),
            json!(["https://api.example.com"]),
        )),
    );
    add(
        "oat/valid-post-no-aud",
        "POST",
        bearer(&oat_ok("user_2oauth", json!([]), Value::Null)),
    );
    add("oat/404", "GET", bearer(&reg("oat_", OAT, None)));
    add(
        "oat/401",
        "GET",
        bearer(&reg(
            "oat_",
            OAT,
            Some(err(401, "authentication_invalid", "Invalid key")),
        )),
    );
    add(
        "oat/403",
        "GET",
        bearer(&reg(
            "oat_",
            OAT,
            Some(err(403, "authorization_invalid", "Forbidden")),
        )),
    );
    add(
        "oat/422",
        "GET",
        bearer(&reg(
            "oat_",
            OAT,
            Some(err(422, "form_param_invalid", "access_token is invalid")),
        )),
    );
    add(
        "oat/500",
        "GET",
        bearer(&reg("oat_", OAT, Some(err(500, "internal_error", "Oops")))),
    );
    add(
        "oat/missing-object",
        "GET",
        bearer(&reg(
            "oat_",
            OAT,
            Some(VerifyAnswer::Ok(merged(
                oauth_token_body("oat_id_x", "user_2x", "client_2x", json!([]), Value::Null),
                json!({"object": null}),
            ))),
        )),
    );
    add(
        "oat/wrong-object",
        "GET",
        bearer(&reg(
            "oat_",
            OAT,
            Some(VerifyAnswer::Ok(merged(
                oauth_token_body("oat_id_x", "user_2x", "client_2x", json!([]), Value::Null),
                json!({"object": "oauth_access_token"}),
            ))),
        )),
    );
    add(
        "oat/expired-flag",
        "GET",
        bearer(&reg(
            "oat_",
            OAT,
            Some(VerifyAnswer::Ok(merged(
                oauth_token_body("oat_id_x", "user_2x", "client_2x", json!([]), Value::Null),
                json!({"expired": true}),
            ))),
        )),
    );
    if slow_ok("oauth_token") {
        add(
            "oat/hang",
            "GET",
            bearer(&reg("oat_", OAT, Some(VerifyAnswer::Hang))),
        );
    }

    // --- M2M JWTs ----------------------------------------------------------------------------
    let (k, now) = (ctx.key, now_secs());
    add(
        "m2m-jwt/valid",
        "GET",
        bearer(&jwt(k, json!({}), m2m_claims(json!({})))),
    );
    add(
        "m2m-jwt/valid-cat",
        "POST",
        bearer(&jwt(k, json!({"cat": CAT_M2M}), m2m_claims(json!({})))),
    );
    add(
        "m2m-jwt/valid-no-jti-aud-scopes",
        "GET",
        bearer(&jwt(
            k,
            json!({}),
            m2m_claims(json!({"jti": null, "scopes": null, "aud": ["mch_2a", "mch_2b"]})),
        )),
    );
    add(
        "m2m-jwt/valid-only-reserved",
        "GET",
        bearer(&jwt(
            k,
            json!({}),
            json!({"sub": "mch_2bare", "exp": now + 600, "iat": now - 5}),
        )),
    );
    add(
        "m2m-jwt/valid-no-typ",
        "GET",
        bearer(&jwt(k, json!({"typ": null}), m2m_claims(json!({})))),
    );
    add(
        "m2m-jwt/valid-azp-elsewhere",
        "GET",
        bearer(&jwt(
            k,
            json!({}),
            m2m_claims(json!({"azp": "https://evil.example"})),
        )),
    );
    add(
        "m2m-jwt/expired",
        "GET",
        bearer(&jwt(k, json!({}), m2m_claims(json!({"exp": now - 120})))),
    );
    add(
        "m2m-jwt/not-yet",
        "GET",
        bearer(&jwt(k, json!({}), m2m_claims(json!({"nbf": now + 600})))),
    );
    add(
        "m2m-jwt/iat-future",
        "GET",
        bearer(&jwt(k, json!({}), m2m_claims(json!({"iat": now + 600})))),
    );
    add(
        "m2m-jwt/no-exp",
        "GET",
        bearer(&jwt(k, json!({}), m2m_claims(json!({"exp": null})))),
    );
    add(
        "m2m-jwt/forged",
        "GET",
        bearer(&jwt(ctx.forger, json!({}), m2m_claims(json!({})))),
    );
    add(
        "m2m-jwt/unknown-kid",
        "GET",
        bearer(&jwt(ctx.stranger, json!({}), m2m_claims(json!({})))),
    );
    add(
        "m2m-jwt/session-cat",
        "GET",
        bearer(&jwt(k, json!({"cat": CAT_SESSION}), m2m_claims(json!({})))),
    );
    add(
        "m2m-jwt/odd-cat",
        "GET",
        bearer(&jwt(
            k,
            json!({"cat": "cl_nonsense"}),
            m2m_claims(json!({})),
        )),
    );
    add(
        "m2m-jwt/typ-at+jwt",
        "GET",
        bearer(&jwt(k, json!({"typ": "at+jwt"}), m2m_claims(json!({})))),
    );
    add(
        "m2m-jwt/typ-odd",
        "GET",
        bearer(&jwt(k, json!({"typ": "JWS"}), m2m_claims(json!({})))),
    );
    add(
        "m2m-jwt/alg-hs256",
        "GET",
        bearer(&jwt(k, json!({"alg": "HS256"}), m2m_claims(json!({})))),
    );
    add(
        "m2m-jwt/rs512",
        "GET",
        bearer(&jwt(k, json!({"alg": "RS512"}), m2m_claims(json!({})))),
    );

    // --- OAuth JWTs --------------------------------------------------------------------------
    add(
        "oauth-jwt/valid",
        "GET",
        bearer(&jwt(k, json!({"typ": "at+jwt"}), oauth_claims(json!({})))),
    );
    add(
        "oauth-jwt/valid-application-typ-scope",
        "POST",
        bearer(&jwt(
            k,
            json!({"typ": "application/at+jwt"}),
            oauth_claims(json!({"scp": null, "scope": "openid profile email"})),
        )),
    );
    add(
        "oauth-jwt/valid-bare",
        "GET",
        bearer(&jwt(
            k,
            json!({"typ": "at+jwt"}),
            json!({"sub": "user_2bare", "exp": now + 600}),
        )),
    );
    add(
        "oauth-jwt/valid-aud-list-azp-elsewhere",
        "GET",
        bearer(&jwt(
            k,
            json!({"typ": "at+jwt"}),
            oauth_claims(json!({"aud": ["a", "b"], "azp": "https://evil.example"})),
        )),
    );
    add(
        "oauth-jwt/scp-string",
        "GET",
        bearer(&jwt(
            k,
            json!({"typ": "at+jwt"}),
            oauth_claims(json!({"scp": "read write"})),
        )),
    );
    add(
        "oauth-jwt/expired",
        "GET",
        bearer(&jwt(
            k,
            json!({"typ": "at+jwt"}),
            oauth_claims(json!({"exp": now - 120})),
        )),
    );
    add(
        "oauth-jwt/forged",
        "GET",
        bearer(&jwt(
            ctx.forger,
            json!({"typ": "at+jwt"}),
            oauth_claims(json!({})),
        )),
    );
    add(
        "oauth-jwt/unknown-kid",
        "GET",
        bearer(&jwt(
            ctx.stranger,
            json!({"typ": "at+jwt"}),
            oauth_claims(json!({})),
        )),
    );
    add(
        "oauth-jwt/sub-not-string",
        "GET",
        bearer(&jwt(
            k,
            json!({"typ": "at+jwt"}),
            oauth_claims(json!({"sub": 42})),
        )),
    );
    add(
        "oauth-jwt/typ-uppercase",
        "GET",
        bearer(&jwt(k, json!({"typ": "AT+JWT"}), oauth_claims(json!({})))),
    );
    add(
        "oauth-jwt/alg-none",
        "GET",
        bearer(&jwt(
            k,
            json!({"typ": "at+jwt", "alg": "none"}),
            oauth_claims(json!({})),
        )),
    );
    add(
        "oauth-jwt/m2m-sub",
        "GET",
        bearer(&jwt(
            k,
            json!({"typ": "at+jwt"}),
            oauth_claims(json!({"sub": "mch_2both"})),
        )),
    );

    // --- Session tokens, no token, cookies ----------------------------------------------------
    let session = |extra: Value| k.session_token("user_2session").v1().claims(extra).sign();
    add("session/valid", "GET", bearer(&session(json!({}))));
    add(
        "session/valid-post",
        "POST",
        bearer(&session(
            json!({"org_id": "org_2x", "org_role": "org:admin", "org_slug": "x", "org_permissions": []}),
        )),
    );
    add(
        "session/expired",
        "GET",
        bearer(&session(json!({"exp": now - 120}))),
    );
    add(
        "session/expired-post",
        "POST",
        bearer(&session(json!({"exp": now - 120}))),
    );
    add(
        "session/forged",
        "GET",
        bearer(&ctx.forger.session_token("user_2session").sign()),
    );
    add(
        "session/azp-elsewhere",
        "GET",
        bearer(&session(json!({"azp": "https://evil.example"}))),
    );
    add(
        "session/m2m-cat",
        "GET",
        bearer(&jwt(
            k,
            json!({"cat": CAT_M2M}),
            json!({"sub": "user_2x", "exp": now + 600, "iat": now - 5}),
        )),
    );
    add("session/garbage", "GET", bearer("not-a-token"));
    add("session/two-parts", "GET", bearer("abc.def"));
    add("none/no-headers", "GET", vec![]);
    add("none/no-headers-post", "POST", vec![]);
    add(
        "none/empty-bearer",
        "GET",
        vec![("authorization".into(), "Bearer".into())],
    );
    add("cookie/valid", "GET", cookies(&session(json!({}))));
    add("cookie/valid-post", "POST", cookies(&session(json!({}))));
    add(
        "cookie/uat-only",
        "GET",
        vec![("cookie".into(), "__client_uat=1700000000".into())],
    );
    add(
        "cookie/m2m-jwt",
        "GET",
        cookies(&jwt(k, json!({}), m2m_claims(json!({})))),
    );
    add(
        "cookie/oauth-jwt",
        "GET",
        cookies(&jwt(k, json!({"typ": "at+jwt"}), oauth_claims(json!({})))),
    );
    add("cookie/with-header-api-key", "GET", {
        let mut h = cookies(&session(json!({})));
        h.extend(bearer(&ak_ok("user_2both", json!({}), json!([]))));
        h
    });
    out
}

fn cases(ctx: &Ctx<'_>, cfgs: &[Cfg]) -> Vec<Case> {
    let mut out = Vec::new();
    for cfg in cfgs {
        for (shape, method, headers) in shapes(ctx, cfg) {
            out.push(Case {
                id: format!("{}/{shape}", cfg.name),
                config: cfg.name,
                shape,
                method,
                headers,
            });
        }
    }
    out
}

// ---------------------------------------------------------------------------------------------
// Clerk's decisions
// ---------------------------------------------------------------------------------------------

/// How long the oracle waits for Clerk (whose verify fetch has no timeout) before it records
/// the case as hung.
const ORACLE_HANG_MS: u64 = 2_000;

/// Runs `machine-oracle.mjs` over `cases` and returns its outcomes by case id.
fn oracle(
    server: &TestBackendApi,
    pem: &str,
    cfgs: &[Cfg],
    cases: &[Case],
) -> HashMap<String, Value> {
    let dir = support::clerk_backend_dir();
    let configs: serde_json::Map<String, Value> = cfgs
        .iter()
        .map(|c| {
            let mut v = json!({
                "secretKey": c.secret(),
                "publishableKey": publishable_key(),
                "apiUrl": server.url(),
                "acceptsToken": c.accepts_js(),
                "authorizedParties": c.authorized_parties,
            });
            if !c.jwks {
                v["jwtKey"] = json!(pem);
            }
            if c.machine_secret {
                v["machineSecretKey"] = json!(MACHINE_SECRET);
            }
            (c.name.to_owned(), v)
        })
        .collect();
    let input = json!({
        "configs": configs,
        "hangMs": ORACLE_HANG_MS,
        "cases": cases.iter().map(|c| json!({
            "id": c.id,
            "config": c.config,
            "method": c.method,
            "url": URL,
            "headers": c.headers.iter().map(|(k, v)| json!([k, v])).collect::<Vec<_>>(),
        })).collect::<Vec<_>>(),
    });
    let mut child = Command::new("node")
        .arg(dir.join("machine-oracle.mjs"))
        .env("CLERK_TELEMETRY_DISABLED", "1")
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("node must be installed to compare with @clerk/backend");
    let stdin = child.stdin.take().expect("stdin");
    let body = serde_json::to_vec(&input).expect("input JSON");
    let writer = std::thread::spawn(move || {
        use std::io::Write as _;
        let mut stdin = stdin;
        stdin.write_all(&body).expect("write oracle input");
    });
    let out = child.wait_with_output().expect("oracle runs");
    writer.join().expect("input written");
    assert!(
        out.status.success(),
        "machine-oracle.mjs failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let doc: Value = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "machine-oracle.mjs printed no JSON ({e}): {}\n{}",
            abbreviate(&String::from_utf8_lossy(&out.stdout)),
            String::from_utf8_lossy(&out.stderr)
        )
    });
    assert_eq!(doc["clerkBackendVersion"], "3.25.0");
    doc["outcomes"]
        .as_object()
        .expect("outcomes")
        .iter()
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect()
}

// ---------------------------------------------------------------------------------------------
// Deliberate differences
// ---------------------------------------------------------------------------------------------

/// Which cases an allowed difference covers.
#[derive(Clone, Copy, Debug)]
enum Which {
    /// Clerk did not decide within `ORACLE_HANG_MS`: its verify fetch has no timeout.
    Hung,
    /// The strict middleware only: Clerk signed out with `unexpected-error` because the
    /// Backend API failed (`status=429`, `5xx` or `n/a`).
    StrictOutage,
    /// Cases whose shape starts with one of these, in configurations that accept `kind`
    /// (where the token is verified at all).
    Shapes {
        kind: &'static str,
        shapes: &'static [&'static str],
    },
}

/// Deliberate differences, each with its reason: (which cases, our reason, the messages we may
/// give, why). A case covered here must be signed out with our reason and one of the messages
/// (`<status>` stands for the case's status digits, none for `n/a`), with the unauthenticated
/// auth object of its kind, and Clerk must still decide it otherwise, so that a stale entry
/// shows; every other case must match Clerk exactly.
const ALLOWED_DIFFERENCES: &[(Which, &str, &[&str], &str)] = &[
    (
        Which::StrictOutage,
        "unexpected-error",
        &[],
        "The Backend API down, slow, 5xx or 429 (and, past the bound, too many verifications at once): the strict middleware answers 503 + Retry-After, with Clerk's x-clerk-auth-* headers, so that clients retry; Clerk (and the lax middleware) signs out with unexpected-error, a 401 from requireAuth.",
    ),
    (
        Which::Hung,
        "unexpected-error",
        &["Unexpected error (code=unexpected-error, status=n/a)"],
        "A verify request the Backend API never answers: Clerk's fetch has no timeout (it waits for undici's 300 s headers timeout, then answers unexpected-error); we give up after our verify timeout (5 s) with the same unexpected-error.",
    ),
    (
        Which::Shapes {
            kind: "api_key",
            shapes: &["ak/revoked", "ak/expired-flag"],
        },
        "token-invalid",
        &[
            "API key is revoked (code=token-invalid, status=200)",
            "API key is expired (code=token-invalid, status=200)",
        ],
        "A 200 verify answer marked revoked or expired: Clerk's SDK signs the token in (it never reads those fields); we refuse it (issue 11, README).",
    ),
    (
        Which::Shapes {
            kind: "m2m_token",
            shapes: &["mt/revoked"],
        },
        "token-invalid",
        &["Machine token is revoked (code=token-invalid, status=200)"],
        "As for API keys: a revoked M2M token is refused even on 200.",
    ),
    (
        Which::Shapes {
            kind: "oauth_token",
            shapes: &["oat/expired-flag"],
        },
        "token-invalid",
        &["OAuth token is expired (code=token-invalid, status=200)"],
        "As for API keys: an expired OAuth token is refused even on 200.",
    ),
    (
        Which::Shapes {
            kind: "api_key",
            shapes: &["ak/missing-object", "ak/wrong-object"],
        },
        "unexpected-error",
        &["Unexpected error (code=unexpected-error, status=200)"],
        "A 200 verify answer that is not the expected object (`object` missing or another resource, or not JSON at all): Clerk's SDK signs in with whatever fields it finds (or its toAuth() throws on a missing subject); we check `object` (issue 11) and answer unexpected-error.",
    ),
    (
        Which::Shapes {
            kind: "m2m_token",
            shapes: &["mt/missing-object"],
        },
        "unexpected-error",
        &["Unexpected error (code=unexpected-error, status=200)"],
        "As for API keys: an M2M verify answer without `object: \"machine_to_machine_token\"` is refused (Clerk signs a text answer in as an M2M token with no id and no subject).",
    ),
    (
        Which::Shapes {
            kind: "api_key",
            shapes: &["ak/200-text", "ak/200-charset"],
        },
        "unexpected-error",
        &["Unexpected error (code=unexpected-error, status=n/a)"],
        "A 200 verify answer that is not `application/json` exactly (text, or JSON with a charset): Clerk's client reads it as text and its toAuth() throws (a 500 in Express); we refuse it as a Backend API fault (503 from the strict middleware), with the message Clerk gives for an answer it cannot read.",
    ),
    (
        Which::Shapes {
            kind: "m2m_token",
            shapes: &["mt/200-text"],
        },
        "unexpected-error",
        &["Unexpected error (code=unexpected-error, status=n/a)"],
        "As for API keys: an M2M verify answer that is not JSON is refused (Clerk signs a text answer in as an M2M token with no id and no subject).",
    ),
    (
        Which::Shapes {
            kind: "oauth_token",
            shapes: &["oat/missing-object", "oat/wrong-object"],
        },
        "unexpected-error",
        &["Unexpected error (code=unexpected-error, status=200)"],
        "As for API keys: an OAuth verify answer without `object: \"clerk_idp_oauth_access_token\"` is refused (Clerk signs in, with no clientId for `oauth_access_token`).",
    ),
];

/// The allowed difference covering `case` (decided by Clerk as `theirs`), if any.
fn allowed_difference(
    case: &Case,
    cfg: &Cfg,
    theirs: &Value,
) -> Option<&'static (Which, &'static str, &'static [&'static str], &'static str)> {
    ALLOWED_DIFFERENCES.iter().find(|entry| match entry.0 {
        Which::Hung => theirs.get("hung").is_some(),
        Which::StrictOutage => false,
        Which::Shapes { kind, shapes } => {
            cfg.accepts_kind(kind) && shapes.iter().any(|s| case.shape.starts_with(s))
        }
    })
}

// ---------------------------------------------------------------------------------------------
// Comparing
// ---------------------------------------------------------------------------------------------

/// `message` with each `Current date: <date>` replaced by `<now>`, and whether every such date
/// is within 3 s of `at` (seconds since the epoch: when that side decided the case).
fn current_dates_near(message: &str, at: i64) -> (String, bool) {
    const MARK: &str = "Current date: ";
    const DATE_LEN: usize = "Thu, 26 Nov 2026 12:15:37 GMT".len();
    let (mut out, mut near, mut rest) = (String::new(), true, message);
    while let Some(i) = rest.find(MARK) {
        out.push_str(&rest[..i + MARK.len()]);
        let after = &rest[i + MARK.len()..];
        let date = after.get(..DATE_LEN).unwrap_or(after);
        near &= support::parse_http_date(date).is_some_and(|d| (d - at).abs() <= 3);
        out.push_str("<now>");
        rest = &after[date.len()..];
    }
    out.push_str(rest);
    (out, near)
}

/// Whether two messages agree, each side's current dates checked against its own time.
fn messages_agree(ours: &str, our_at: i64, theirs: &str, their_at: i64) -> bool {
    let (a, a_near) = current_dates_near(ours, our_at);
    let (b, b_near) = current_dates_near(theirs, their_at);
    a == b && a_near && b_near
}

/// JSON text in a canonical form that keeps field order (serde_json's `preserve_order`).
fn canonical(text: &str) -> String {
    serde_json::from_str::<Value>(text)
        .map_or_else(|_| format!("<not JSON: {text}>"), |v| v.to_string())
}

/// What the example answered for one case.
#[derive(Debug)]
struct Ours {
    http: u16,
    headers: BTreeMap<String, String>,
    /// Every response header, as `name: value` lines (for the secret-key check).
    all_headers: String,
    body: String,
    /// Seconds since the epoch when the request was sent.
    at: i64,
    elapsed: Duration,
}

impl Ours {
    fn status(&self) -> &str {
        self.headers
            .get("x-clerk-auth-status")
            .map_or("signed-in", String::as_str)
    }
    fn reason(&self) -> Option<&str> {
        self.headers.get("x-clerk-auth-reason").map(String::as_str)
    }
    fn message(&self) -> &str {
        self.headers
            .get("x-clerk-auth-message")
            .map_or("", String::as_str)
    }
}

/// The unauthenticated auth object Clerk gives for a token of `kind`.
fn unauthenticated_json(kind: &str) -> String {
    let tail = match kind {
        "api_key" => r#""name":null,"claims":null,"userId":null,"orgId":null"#,
        "m2m_token" => r#""claims":null,"machineId":null"#,
        _ => r#""userId":null,"clientId":null"#,
    };
    format!(
        r#"{{"id":null,"subject":null,"scopes":null,"isAuthenticated":false,"tokenType":"{kind}",{tail}}}"#
    )
}

/// Problems with our answer to `case`, against Clerk's outcome `theirs`.
fn compare(case: &Case, cfg: &Cfg, ours: &Ours, theirs: &Value) -> (Vec<String>, bool) {
    let mut problems = Vec::new();
    for secret in [SECRET, SECRET_WITH_MACHINE, MACHINE_SECRET] {
        if ours.body.contains(secret) || ours.all_headers.contains(secret) {
            problems.push(format!("the answer shows the secret key {secret}"));
        }
    }
    if ours.http != 200 {
        problems.push(format!(
            "HTTP status {} (the lax middleware always answers)",
            ours.http
        ));
    }
    if let Some(entry) = allowed_difference(case, cfg, theirs) {
        let (which, reason, messages, _) = *entry;
        if ours.status() != "signed-out" || ours.reason() != Some(reason) {
            problems.push(format!(
                "allowed difference {which:?}: ours {} {:?}, want signed-out {reason}",
                ours.status(),
                ours.reason()
            ));
        }
        if !messages.contains(&ours.message()) {
            problems.push(format!(
                "allowed difference {which:?}: message {:?}, want one of {messages:?}",
                ours.message()
            ));
        }
        let kind = match case.shape.split('/').next() {
            Some("ak") => "api_key",
            Some("mt") => "m2m_token",
            _ => "oauth_token",
        };
        if canonical(&ours.body) != canonical(&unauthenticated_json(kind)) {
            problems.push(format!("allowed difference {which:?}: auth {}", ours.body));
        }
        let clerk_agrees = theirs.get("hung").is_none()
            && theirs.get("toAuthError").is_none()
            && theirs["status"] == "signed-out"
            && theirs["reason"] == reason
            && theirs["message"]
                .as_str()
                .is_some_and(|m| messages.contains(&m));
        if clerk_agrees {
            problems.push(format!(
                "allowed difference {which:?}: Clerk now answers the same: the entry is stale"
            ));
        }
        return (problems, true);
    }
    if let Some(e) = theirs
        .get("error")
        .or(theirs.get("toAuthError"))
        .or(theirs.get("hung"))
    {
        problems.push(format!("Clerk could not decide this case: {e}"));
        return (problems, false);
    }
    let their_at = theirs["decidedAtMs"].as_i64().unwrap_or(0) / 1000;
    let their_status = theirs["status"].as_str().unwrap_or("?");
    if ours.status() != their_status {
        problems.push(format!(
            "status: ours {}, Clerk {their_status}",
            ours.status()
        ));
    }
    let their_reason = theirs["reason"].as_str();
    if ours.reason() != their_reason {
        problems.push(format!(
            "reason: ours {:?}, Clerk {their_reason:?}",
            ours.reason()
        ));
    }
    let their_message = theirs["message"].as_str().unwrap_or("");
    // A message no header can carry (CR, LF, …) is left out of Clerk's headers as of ours:
    // the headers are compared below.
    let headerless =
        !their_message.is_empty() && theirs["headers"].get("x-clerk-auth-message").is_none();
    if !headerless && !messages_agree(ours.message(), ours.at, their_message, their_at) {
        problems.push(format!(
            "message:\n    ours  {:?}\n    Clerk {their_message:?}",
            ours.message()
        ));
    }
    let their_headers: BTreeMap<String, String> = theirs["headers"]
        .as_object()
        .map(|m| {
            m.iter()
                .map(|(k, v)| (k.clone(), v.as_str().unwrap_or_default().to_owned()))
                .collect()
        })
        .unwrap_or_default();
    let keys: std::collections::BTreeSet<&String> =
        ours.headers.keys().chain(their_headers.keys()).collect();
    for k in keys {
        let (a, b) = (ours.headers.get(k), their_headers.get(k));
        let same = match (a, b) {
            (Some(a), Some(b)) => messages_agree(a, ours.at, b, their_at),
            _ => false,
        };
        if !same {
            problems.push(format!("header {k}: ours {a:?}, Clerk {b:?}"));
        }
    }
    let (a, b) = (
        canonical(&ours.body),
        canonical(theirs["authJson"].as_str().unwrap_or("null")),
    );
    if a != b {
        problems.push(format!("auth:\n    ours  {a}\n    Clerk {b}"));
    }
    (problems, false)
}

/// Whether Clerk's outcome is `unexpected-error` for Backend API trouble (429, 5xx, no answer).
fn clerk_outage(theirs: &Value) -> bool {
    theirs["status"] == "signed-out"
        && theirs["reason"] == "unexpected-error"
        && theirs["message"].as_str().is_some_and(|m| {
            m.starts_with("Unexpected error (code=unexpected-error, status=")
                && (m.ends_with("status=n/a)")
                    || m.ends_with("status=429)")
                    || m.contains("status=5"))
        })
}

/// Problems with the strict middleware's answer to `case`: Clerk signed in → 200 and the auth
/// JSON; signed out → 401 with Clerk's `x-clerk-auth-*` headers; the allowed differences as
/// for the lax middleware (401 or 503), and Backend API trouble → 503 + `Retry-After`.
fn compare_strict(case: &Case, cfg: &Cfg, ours: &Ours, theirs: &Value) -> (Vec<String>, bool) {
    let mut problems = Vec::new();
    let retry_after = ours.all_headers.contains("retry-after: ");
    if let Some(entry) = allowed_difference(case, cfg, theirs) {
        let (which, reason, messages, _) = *entry;
        if ![401, 503].contains(&ours.http) || ours.reason() != Some(reason) {
            problems.push(format!(
                "allowed difference {which:?}: ours {} {:?}, want 401/503 {reason}",
                ours.http,
                ours.reason()
            ));
        }
        if !messages.contains(&ours.message()) {
            problems.push(format!(
                "allowed difference {which:?}: message {:?}, want one of {messages:?}",
                ours.message()
            ));
        }
        if ours.http == 503 && !retry_after {
            problems.push("503 without Retry-After".to_owned());
        }
        return (problems, true);
    }
    if let Some(e) = theirs.get("error").or(theirs.get("toAuthError")) {
        problems.push(format!("Clerk could not decide this case: {e}"));
        return (problems, false);
    }
    let outage = clerk_outage(theirs);
    let want = match theirs["status"].as_str() {
        Some("signed-in") => 200,
        _ if outage => 503,
        _ => 401,
    };
    if ours.http != want {
        problems.push(format!(
            "HTTP status: ours {}, want {want} (Clerk {} {})",
            ours.http, theirs["status"], theirs["reason"]
        ));
    }
    if want == 503 && !retry_after {
        problems.push("503 without Retry-After".to_owned());
    }
    if want == 200 {
        let (a, b) = (
            canonical(&ours.body),
            canonical(theirs["authJson"].as_str().unwrap_or("null")),
        );
        if a != b {
            problems.push(format!("auth:\n    ours  {a}\n    Clerk {b}"));
        }
    }
    let their_at = theirs["decidedAtMs"].as_i64().unwrap_or(0) / 1000;
    let their_headers: BTreeMap<String, String> = theirs["headers"]
        .as_object()
        .map(|m| {
            m.iter()
                .map(|(k, v)| (k.clone(), v.as_str().unwrap_or_default().to_owned()))
                .collect()
        })
        .unwrap_or_default();
    let keys: std::collections::BTreeSet<&String> =
        ours.headers.keys().chain(their_headers.keys()).collect();
    for k in keys {
        let (a, b) = (ours.headers.get(k), their_headers.get(k));
        let same = match (a, b) {
            (Some(a), Some(b)) => messages_agree(a, ours.at, b, their_at),
            _ => false,
        };
        if !same {
            problems.push(format!("header {k}: ours {a:?}, Clerk {b:?}"));
        }
    }
    let allowed = outage && problems.is_empty();
    (problems, allowed)
}

/// The in-process configuration equal to `cfg` (the example's environment), with bounds high
/// enough never to decide a case and a short verify timeout (the hung cases).
fn in_process_config(cfg: &Cfg, api_url: &str, pem: &str) -> actix_clerk::ClerkConfig {
    let mut b = actix_clerk::ClerkConfig::builder()
        .secret_key(cfg.secret())
        .publishable_key(publishable_key())
        .api_url(api_url)
        .authorized_parties(cfg.authorized_parties.iter().copied())
        .machine_token_verify_limits(10_000, 100_000)
        .machine_token_verify_timeout(Duration::from_secs(1));
    if !cfg.jwks {
        b = b.jwt_key(pem);
    }
    if cfg.machine_secret {
        b = b.machine_secret_key(MACHINE_SECRET);
    }
    b.build().expect("configuration")
}

/// Sends `case` in-process to `path` of `app`.
async fn send_in_process<S>(app: &S, path: &str, case: &Case) -> Ours
where
    S: actix_web::dev::Service<
        actix_http::Request,
        Response = actix_web::dev::ServiceResponse,
        Error = actix_web::Error,
    >,
{
    let mut req = actix_web::test::TestRequest::default()
        .method(case.method.parse().expect("method"))
        .uri(path);
    for (k, v) in &case.headers {
        // Leading and trailing spaces never reach a server (HTTP trims them).
        req = req.append_header((k.as_str(), v.trim_matches([' ', '\t'])));
    }
    let (at, started) = (now_secs(), Instant::now());
    let (http, all_headers, body) =
        read(actix_web::test::call_service(app, req.to_request()).await).await;
    Ours {
        http,
        headers: all_headers
            .lines()
            .filter_map(|l| l.split_once(": "))
            .filter(|(k, _)| k.starts_with("x-clerk-auth-"))
            .map(|(k, v)| (k.to_owned(), v.to_owned()))
            .collect(),
        all_headers,
        body,
        at,
        elapsed: started.elapsed(),
    }
}

// ---------------------------------------------------------------------------------------------
// The example as a process
// ---------------------------------------------------------------------------------------------

/// A child process killed when dropped.
struct Child(std::process::Child);
impl Drop for Child {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Starts `machine_auth` for `cfg` and waits until it listens; returns it, its base URL and
/// the file that collects its standard error.
fn start_example(bin: &Path, cfg: &Cfg, api_url: &str, pem: &str) -> (Child, String, PathBuf) {
    use std::io::{BufRead, BufReader};
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .expect("bind")
        .local_addr()
        .expect("addr")
        .port();
    let mut cmd = Command::new(bin);
    cmd.env_clear()
        .env("PORT", port.to_string())
        .env("CLERK_SECRET_KEY", cfg.secret())
        .env("CLERK_PUBLISHABLE_KEY", publishable_key())
        .env("CLERK_API_URL", api_url)
        .env("CLERK_AUTHORIZED_PARTIES", cfg.authorized_parties.join(","));
    let log = std::env::temp_dir().join(format!(
        "actix-clerk-machine-auth-{}-{}.stderr",
        std::process::id(),
        cfg.name
    ));
    cmd.stdout(std::process::Stdio::piped())
        .stderr(std::fs::File::create(&log).expect("stderr file"));
    if !cfg.jwks {
        cmd.env("CLERK_JWT_KEY", pem.replace('\n', "\\n"));
    }
    if cfg.machine_secret {
        cmd.env("CLERK_MACHINE_SECRET_KEY", MACHINE_SECRET);
    }
    if let Some(accepts) = cfg.accepts {
        cmd.env("ACCEPTS_TOKEN", accepts);
    }
    let mut child = Child(cmd.spawn().expect("start machine_auth"));
    let stdout = child.0.stdout.take().expect("stdout");
    let mut line = String::new();
    BufReader::new(stdout)
        .read_line(&mut line)
        .expect("read banner");
    assert!(
        line.contains("Example app listening"),
        "machine_auth ({}) said: {line:?}",
        cfg.name
    );
    (child, format!("http://127.0.0.1:{port}"), log)
}

/// A client for the test's own requests (awc needs a process-level rustls provider, which the
/// crate never installs).
fn client(timeout: Duration) -> awc::Client {
    let _ = rustls::crypto::aws_lc_rs::default_provider().install_default();
    awc::Client::builder()
        .timeout(timeout)
        .max_http_version(awc::http::Version::HTTP_11)
        .finish()
}

/// Sends `case` to the example at `base`.
async fn send(client: &awc::Client, base: &str, case: &Case) -> Result<Ours, String> {
    let method: awc::http::Method = case.method.parse().expect("method");
    let mut req = client.request(method, format!("{base}/protected-endpoint"));
    for (k, v) in &case.headers {
        req = req.append_header((k.as_str(), v.as_str()));
    }
    let (at, started) = (now_secs(), Instant::now());
    let mut res = req
        .send()
        .await
        .map_err(|e| format!("request failed: {e}"))?;
    let body = res
        .body()
        .limit(16 << 20)
        .await
        .map_err(|e| format!("body: {e}"))?;
    Ok(Ours {
        http: res.status().as_u16(),
        headers: res
            .headers()
            .iter()
            .filter(|(k, _)| k.as_str().starts_with("x-clerk-auth-"))
            .map(|(k, v)| {
                (
                    k.as_str().to_owned(),
                    String::from_utf8_lossy(v.as_bytes()).into_owned(),
                )
            })
            .collect(),
        all_headers: res
            .headers()
            .iter()
            .map(|(k, v)| format!("{k}: {}\n", String::from_utf8_lossy(v.as_bytes())))
            .collect(),
        body: String::from_utf8_lossy(&body).into_owned(),
        at,
        elapsed: started.elapsed(),
    })
}

/// The stand-in, with the keys each verify endpoint accepts: the M2M endpoint refuses the
/// secret key of the configurations that set a machine secret key.
fn standin(key: &TestKey) -> TestBackendApi {
    let server = TestBackendApi::start_with(JwksMode::Keys(vec![key.jwk()]));
    server.accept_keys(VerifyEndpoint::ApiKeys, &[SECRET, SECRET_WITH_MACHINE]);
    server.accept_keys(
        VerifyEndpoint::OAuthAccessTokens,
        &[SECRET, SECRET_WITH_MACHINE],
    );
    server.accept_keys(VerifyEndpoint::M2mTokens, &[SECRET, MACHINE_SECRET]);
    server
}

#[actix_web::test]
async fn machine_auth_example_matches_clerk() {
    use futures_util::StreamExt as _;
    // Built first, so that the decisions of both sides are close in time.
    let bin = support::example_binary("machine_auth");
    let key = TestKey::generate("ins_machine");
    let forger = TestKey::generate("ins_machine");
    let stranger = TestKey::generate("ins_stranger");
    let server = standin(&key);
    let pem = key.public_pem();
    let ctx = Ctx {
        server: &server,
        key: &key,
        forger: &forger,
        stranger: &stranger,
    };
    let cfgs = configs();
    let cases = cases(&ctx, &cfgs);
    let started = Instant::now();
    let theirs = oracle(&server, &pem, &cfgs, &cases);
    let oracle_time = started.elapsed();

    // Every configuration's example at once: the hung cases wait out their timeouts together.
    let examples: HashMap<&str, (Child, String, PathBuf)> = cfgs
        .iter()
        .map(|c| (c.name, start_example(&bin, c, server.url(), &pem)))
        .collect();
    let by_name: HashMap<&str, &Cfg> = cfgs.iter().map(|c| (c.name, c)).collect();
    let client = client(Duration::from_secs(30));
    // The crate starts at most 50 Backend API verifications per second per configuration (its
    // documented bound, tested below): the cases that may need one are paced at 40 per second
    // per example, so that the bound never decides a case here.
    // The configurations' cases are interleaved, so that all examples are asked at once.
    let mut paced: HashMap<&str, u32> = HashMap::new();
    let mut by_config: Vec<std::collections::VecDeque<&Case>> = cfgs
        .iter()
        .map(|c| cases.iter().filter(|k| k.config == c.name).collect())
        .collect();
    let interleaved = std::iter::from_fn(|| {
        let next = by_config
            .iter_mut()
            .filter_map(|q| q.pop_front())
            .collect::<Vec<_>>();
        (!next.is_empty()).then_some(next)
    })
    .flatten()
    .collect::<Vec<&Case>>();
    let schedule: Vec<(&Case, Duration)> = interleaved
        .into_iter()
        .map(|case| {
            let opaque = case.headers.iter().any(|(k, v)| {
                k == "authorization" && ["ak_", "mt_", "oat_"].iter().any(|p| v.contains(p))
            });
            let n = paced.entry(case.config).or_default();
            let at = Duration::from_millis(25) * *n;
            *n += u32::from(opaque);
            (case, at)
        })
        .collect();
    let start = actix_web::rt::time::Instant::now();
    let answers: Vec<(&Case, Result<Ours, String>)> = futures_util::stream::iter(schedule)
        .map(|(case, at)| {
            let base = &examples[case.config].1;
            let client = &client;
            async move {
                actix_web::rt::time::sleep_until(start + at).await;
                (case, send(client, base, case).await)
            }
        })
        .buffer_unordered(128)
        .collect()
        .await;
    let example_time = started.elapsed() - oracle_time;

    let (mut passed, mut allowed_used) = (0usize, 0usize);
    let mut failures: Vec<String> = Vec::new();
    let mut answers = answers;
    answers.sort_by(|a, b| a.0.id.cmp(&b.0.id));
    for (case, ours) in &answers {
        let their = &theirs[&case.id];
        let problems = match ours {
            Err(e) => vec![e.clone()],
            Ok(ours) => {
                let (problems, allowed) = compare(case, by_name[case.config], ours, their);
                if allowed && problems.is_empty() {
                    allowed_used += 1;
                }
                problems
            }
        };
        if problems.is_empty() {
            passed += 1;
        } else {
            failures.push(format!(
                "{} ({} {:?}):\n  {}",
                case.id,
                case.method,
                case.headers
                    .iter()
                    .map(|(k, v)| format!("{k}: {}", abbreviate(v)))
                    .collect::<Vec<_>>(),
                problems.join("\n  ")
            ));
        }
    }
    // The strict middleware, in-process, for every case: the same decisions, as 200 / 401 /
    // 503 (the Backend API's trouble).
    let strict_started = Instant::now();
    let mut strict_apps = Vec::new();
    for c in &cfgs {
        let accepts = c.accepts.map_or_else(actix_clerk::Accepts::default, |a| {
            actix_clerk::Accepts::parse(a).expect("ACCEPTS_TOKEN")
        });
        strict_apps.push(ks_app(in_process_config(c, server.url(), &pem), accepts).await);
    }
    let index: HashMap<&str, usize> = cfgs.iter().enumerate().map(|(i, c)| (c.name, i)).collect();
    let strict: Vec<(&Case, Ours)> = futures_util::stream::iter(cases.iter())
        .map(|case| {
            let app = &strict_apps[index[case.config]];
            async move { (case, send_in_process(app, "/r", case).await) }
        })
        .buffer_unordered(64)
        .collect()
        .await;
    let (mut strict_passed, mut strict_allowed, mut strict_failures) = (0usize, 0usize, 0usize);
    for (case, ours) in &strict {
        let (problems, allowed) =
            compare_strict(case, by_name[case.config], ours, &theirs[&case.id]);
        if problems.is_empty() {
            strict_passed += 1;
            strict_allowed += usize::from(allowed);
        } else {
            strict_failures += 1;
            failures.push(format!("strict:{}:\n  {}", case.id, problems.join("\n  ")));
        }
    }
    println!(
        "machine conformance, strict middleware in-process: {strict_passed} passed ({strict_allowed} allowed differences used), {strict_failures} failed, {:.1?}",
        strict_started.elapsed()
    );

    // What the examples wrote (a panic, a log line) never shows a secret key, nor a panic.
    for (name, (_, _, log)) in &examples {
        let text = std::fs::read_to_string(log).unwrap_or_default();
        let _ = std::fs::remove_file(log);
        for secret in [SECRET, SECRET_WITH_MACHINE, MACHINE_SECRET] {
            if text.contains(secret) {
                failures.push(format!(
                    "machine_auth ({name}) wrote the secret key {secret}"
                ));
            }
        }
        if text.contains("panicked") {
            failures.push(format!("machine_auth ({name}) panicked: {text}"));
        }
    }
    // Each verify endpoint was called with the right key: the machine secret key for M2M
    // tokens when set, the secret key otherwise (Clerk's calls are recorded too).
    for call in server.verify_calls() {
        let key = call.authorization.as_deref().unwrap_or("");
        let allowed: &[&str] = match call.endpoint {
            VerifyEndpoint::M2mTokens => &[SECRET, MACHINE_SECRET],
            _ => &[SECRET, SECRET_WITH_MACHINE],
        };
        if !allowed.iter().any(|k| key == format!("Bearer {k}")) {
            failures.push(format!(
                "{:?} called with Authorization {key:?} for {:?}",
                call.endpoint,
                call.token.as_deref().map(abbreviate)
            ));
        }
    }
    for f in &failures {
        eprintln!("MISMATCH {f}");
    }
    let slowest = answers
        .iter()
        .filter_map(|(c, o)| o.as_ref().ok().map(|o| (o.elapsed, &c.id)))
        .max();
    println!(
        "machine conformance against @clerk/backend 3.25.0: {} cases over {} configurations, each through the machine_auth example (lax, over HTTP; {} allowed differences used) and the strict middleware in-process; oracle {:.1?}, examples {:.1?}, slowest case {:?}",
        cases.len(),
        cfgs.len(),
        allowed_used,
        oracle_time,
        example_time,
        slowest
    );
    println!(
        "machine conformance: {} passed, {} failed",
        passed + strict_passed,
        failures.len()
    );
    assert!(
        failures.is_empty(),
        "{} machine conformance mismatches (see MISMATCH lines)",
        failures.len()
    );
    assert!(passed >= 300, "only {passed} cases passed");
}

/// A header value short enough for a report line.
fn abbreviate(v: &str) -> String {
    if v.len() <= 90 {
        v.to_owned()
    } else {
        format!(
            "{}…({} bytes)",
            &v[..v.char_indices().nth(80).map_or(v.len(), |(i, _)| i)],
            v.len()
        )
    }
}

// ---------------------------------------------------------------------------------------------
// Key-store style: the Backend API is never the bottleneck or the amplifier
// ---------------------------------------------------------------------------------------------

/// The secret key of the in-process apps (accepted by the stand-in by default).
const KS_SECRET: &str = "sk_test_keystore_0123456789abcdef";
const KS_MACHINE_SECRET: &str = "msk_test_keystore_0123456789abcdef";

/// A configuration of the in-process apps: the stand-in's API URL and keys, `tweak` applied.
fn ks_config(
    server: &TestBackendApi,
    tweak: impl FnOnce(actix_clerk::ClerkConfigBuilder) -> actix_clerk::ClerkConfigBuilder,
) -> actix_clerk::ClerkConfig {
    tweak(
        actix_clerk::ClerkConfig::builder()
            .secret_key(KS_SECRET)
            .machine_secret_key(KS_MACHINE_SECRET)
            .publishable_key(publishable_key())
            .api_url(server.url()),
    )
    .build()
    .expect("valid configuration")
}

async fn whoami(auth: actix_clerk::Auth) -> actix_web::HttpResponse {
    actix_web::HttpResponse::Ok().json(auth)
}

/// An app with `/r` behind the strict middleware and `/lax` behind the lax one, both
/// accepting `accepts`.
async fn ks_app(
    cfg: actix_clerk::ClerkConfig,
    accepts: actix_clerk::Accepts,
) -> impl actix_web::dev::Service<
    actix_http::Request,
    Response = actix_web::dev::ServiceResponse,
    Error = actix_web::Error,
> {
    use actix_web::{web, App};
    let strict = actix_clerk::ClerkRequireAuth::new(cfg.clone())
        .accepts(accepts.clone())
        .expect("accepted kinds");
    let lax = actix_clerk::ClerkWithAuth::new(cfg)
        .accepts(accepts)
        .expect("accepted kinds");
    actix_web::test::init_service(
        App::new()
            .service(web::resource("/r").wrap(strict).to(whoami))
            .service(web::resource("/lax").wrap(lax).to(whoami)),
    )
    .await
}

/// A request to `path` with `Authorization: Bearer <token>`.
fn bearer_req(path: &str, token: &str) -> actix_http::Request {
    actix_web::test::TestRequest::get()
        .uri(path)
        .insert_header(("authorization", format!("Bearer {token}")))
        .to_request()
}

/// Status, headers (`name: value` lines) and body of a response.
async fn read(res: actix_web::dev::ServiceResponse) -> (u16, String, String) {
    let status = res.status().as_u16();
    let headers = res
        .headers()
        .iter()
        .map(|(k, v)| format!("{k}: {}\n", String::from_utf8_lossy(v.as_bytes())))
        .collect();
    let body = actix_web::test::read_body(res).await;
    (status, headers, String::from_utf8_lossy(&body).into_owned())
}

fn assert_no_secret(what: &str, text: &str) {
    for secret in [KS_SECRET, KS_MACHINE_SECRET] {
        assert!(
            !text.contains(secret),
            "{what} shows the secret key {secret}:\n{text}"
        );
        // Nor a telling part of it (Debug may show at most the first 7 characters).
        assert!(
            !text.contains(&secret[..12]),
            "{what} shows a part of {secret}:\n{text}"
        );
    }
}

/// 1 000 concurrent requests with one API key the cache has never seen: one Backend API call;
/// the same for one unknown key (the negative cache), for an M2M and an OAuth token.
#[actix_web::test]
async fn one_new_token_many_concurrent_requests_one_upstream_call() {
    use actix_clerk::Accepts;
    use VerifyEndpoint::{ApiKeys as AK, M2mTokens as MT, OAuthAccessTokens as OAT};
    let server = TestBackendApi::start_with(JwksMode::Empty);
    // Slow enough that every request arrives while the first verification is in flight.
    server.set_verify_delay(Duration::from_millis(300));
    let cfg = ks_config(&server, |b| b);
    let app = ks_app(cfg.clone(), Accepts::Any).await;
    let key = opaque("ak_");
    server.register(
        AK,
        &key,
        VerifyAnswer::Ok(api_key_body(
            "ak_id_1",
            "user_2one",
            "one",
            json!({}),
            json!(["a"]),
        )),
    );
    let started = Instant::now();
    let answers = futures_util::future::join_all(
        (0..1000).map(|_| actix_web::test::call_service(&app, bearer_req("/r", &key))),
    )
    .await;
    let elapsed = started.elapsed();
    assert!(
        answers.iter().all(|r| r.status() == 200),
        "every request signed in"
    );
    assert_eq!(
        server.verify_hits(AK),
        1,
        "one Backend API call for 1 000 requests"
    );
    assert_eq!(cfg.stats().machine_token_verifications, 1);
    // Served from the cache afterwards.
    for _ in 0..50 {
        let res = actix_web::test::call_service(&app, bearer_req("/lax", &key)).await;
        let (status, _, body) = read(res).await;
        assert_eq!(status, 200);
        assert!(body.contains(r#""userId":"user_2one""#), "{body}");
    }
    assert_eq!(server.verify_hits(AK), 1);
    println!("1 000 concurrent requests, one new API key: 1 upstream call, {elapsed:.1?}");

    // An unknown key: one call, every request 401 token-invalid, then the negative cache.
    let unknown = opaque("ak_");
    let answers = futures_util::future::join_all(
        (0..1000).map(|_| actix_web::test::call_service(&app, bearer_req("/r", &unknown))),
    )
    .await;
    for r in &answers {
        assert_eq!(r.status(), 401);
        assert_eq!(
            r.headers().get("x-clerk-auth-reason").map(|v| v.as_bytes()),
            Some(&b"token-invalid"[..])
        );
    }
    assert_eq!(
        server.verify_hits(AK),
        2,
        "one call for 1 000 requests with an unknown key"
    );

    // M2M (verified with the machine secret key) and OAuth tokens alike.
    let m2m = opaque("mt_");
    server.register(
        MT,
        &m2m,
        VerifyAnswer::Ok(m2m_token_body("mt_id_1", "mch_2one", json!({}), json!([]))),
    );
    let oat = opaque("oat_");
    server.register(
        OAT,
        &oat,
        VerifyAnswer::Ok(oauth_token_body(
            "oat_id_1",
            "user_2one",
            "client_2one",
            json!([]),
            Value::Null,
        )),
    );
    for (endpoint, token) in [(MT, &m2m), (OAT, &oat)] {
        let answers = futures_util::future::join_all(
            (0..1000).map(|_| actix_web::test::call_service(&app, bearer_req("/r", token))),
        )
        .await;
        assert!(
            answers.iter().all(|r| r.status() == 200),
            "{endpoint:?}: every request signed in"
        );
        assert_eq!(server.verify_hits(endpoint), 1, "{endpoint:?}: one call");
    }
    let m2m_call = server
        .verify_calls()
        .into_iter()
        .find(|c| c.endpoint == MT)
        .expect("an M2M call");
    assert_eq!(
        m2m_call.authorization.as_deref(),
        Some(&*format!("Bearer {KS_MACHINE_SECRET}"))
    );
    // A second app of the same configuration shares nothing it should not: its own calls are
    // counted by the same configuration's stats.
    assert_eq!(
        cfg.stats().machine_token_verifications,
        server.verify_hits_total()
    );
}

/// 10 000 random `ak_` tokens, 256 at a time: at most the documented bound of Backend API
/// calls (16 in flight, 50 started per second, the burst included), every request answered
/// at once (401 token-invalid, or 503 + Retry-After past the bound), never signed in.
#[actix_web::test]
async fn random_api_keys_cost_a_bounded_number_of_upstream_calls() {
    use futures_util::StreamExt as _;
    const N: usize = 10_000;
    // The README's numbers (`machine_token_verify_limits` defaults).
    const MAX_IN_FLIGHT: u64 = 16;
    const PER_SECOND: f64 = 50.0;
    let server = TestBackendApi::start_with(JwksMode::Empty);
    server.set_verify_delay(Duration::from_millis(20));
    let cfg = ks_config(&server, |b| b);
    let app = ks_app(
        cfg.clone(),
        actix_clerk::Accepts::Kind(actix_clerk::TokenKind::ApiKey),
    )
    .await;
    let started = Instant::now();
    let statuses: Vec<(u16, Option<String>, Duration)> = futures_util::stream::iter(0..N)
        .map(|_| {
            let app = &app;
            async move {
                let t = Instant::now();
                let res =
                    actix_web::test::call_service(app, bearer_req("/r", &opaque("ak_"))).await;
                let retry = res
                    .headers()
                    .get("retry-after")
                    .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned());
                (res.status().as_u16(), retry, t.elapsed())
            }
        })
        .buffer_unordered(256)
        .collect()
        .await;
    let elapsed = started.elapsed();
    let calls = server.verify_hits(VerifyEndpoint::ApiKeys);
    let bound = (PER_SECOND * (1.0 + elapsed.as_secs_f64())).ceil() as u64;
    let count = |code: u16| statuses.iter().filter(|(s, _, _)| *s == code).count();
    let slowest = statuses
        .iter()
        .map(|(_, _, d)| *d)
        .max()
        .unwrap_or_default();
    println!(
        "{N} random API keys in {elapsed:.2?}: {calls} Backend API calls (bound 50 + 50/s = {bound}), at most {} in flight (bound {MAX_IN_FLIGHT}); {} answered 401, {} answered 503; slowest answer {slowest:.1?}",
        server.max_verify_in_flight(),
        count(401),
        count(503),
    );
    assert_eq!(count(401) + count(503), N, "only 401 and 503 answers");
    assert!(
        statuses
            .iter()
            .filter(|(s, _, _)| *s == 503)
            .all(|(_, r, _)| r.is_some()),
        "every 503 carries Retry-After"
    );
    assert!(
        calls <= bound,
        "{calls} Backend API calls, more than the bound {bound}"
    );
    assert!(
        calls >= 1 && count(401) as u64 == calls,
        "each call answers one 401"
    );
    assert!(server.max_verify_in_flight() <= MAX_IN_FLIGHT);
    assert_eq!(cfg.stats().machine_token_verifications, calls);
    assert!(
        slowest < Duration::from_secs(5),
        "no request waits for the Backend API queue"
    );

    // Few at a time, and a fast Backend API: now the per-second bound decides.
    server.set_verify_delay(Duration::ZERO);
    server.reset_verify_counts();
    let before = cfg.stats().machine_token_verifications;
    let started = Instant::now();
    let mut statuses = Vec::new();
    while started.elapsed() < Duration::from_secs(2) {
        let batch = futures_util::future::join_all(
            (0..8).map(|_| actix_web::test::call_service(&app, bearer_req("/r", &opaque("ak_")))),
        )
        .await;
        statuses.extend(batch.iter().map(|r| r.status().as_u16()));
    }
    let elapsed = started.elapsed();
    let calls = server.verify_hits(VerifyEndpoint::ApiKeys);
    let bound = (PER_SECOND * (1.0 + elapsed.as_secs_f64())).ceil() as u64;
    let (n401, n503) = (
        statuses.iter().filter(|s| **s == 401).count(),
        statuses.iter().filter(|s| **s == 503).count(),
    );
    println!(
        "{} random API keys, 8 at a time, in {elapsed:.2?}: {calls} Backend API calls (bound 50 + 50/s = {bound}); {n401} answered 401, {n503} answered 503",
        statuses.len()
    );
    assert_eq!(n401 + n503, statuses.len());
    assert!(
        calls <= bound,
        "{calls} Backend API calls, more than the bound {bound}"
    );
    assert!(n503 > 0, "the per-second bound was reached");
    assert_eq!(n401 as u64, calls);
    assert_eq!(cfg.stats().machine_token_verifications - before, calls);
}

/// With a warm cache, an outage of the Backend API (5xx, 429, hang, connection refused) leaves
/// cached tokens working; new ones get 503 + Retry-After from the strict middleware, quickly,
/// and `unexpected-error` from the lax one. Nothing shows a secret key: not the answers, not
/// the logs, not `Debug`.
#[actix_web::test]
async fn outage_with_a_warm_cache() {
    use actix_clerk::testing::Outage;
    use actix_clerk::{Accepts, TokenKind};
    use VerifyEndpoint::{ApiKeys as AK, M2mTokens as MT};
    let logs = LogBuffer::default();
    let _guard = logs.capture();
    let server = TestBackendApi::start_with(JwksMode::Empty);
    let cfg = ks_config(&server, |b| {
        b.machine_token_verify_timeout(Duration::from_millis(400))
    });
    let app = ks_app(
        cfg.clone(),
        Accepts::List(vec![TokenKind::ApiKey, TokenKind::M2mToken]),
    )
    .await;
    let register_ak = |subject: &str| {
        let t = opaque("ak_");
        server.register(
            AK,
            &t,
            VerifyAnswer::Ok(api_key_body(
                &opaque("ak_id_"),
                subject,
                "k",
                json!({}),
                json!([]),
            )),
        );
        t
    };
    let warm = register_ak("user_2warm");
    let warm_m2m = opaque("mt_");
    server.register(
        MT,
        &warm_m2m,
        VerifyAnswer::Ok(m2m_token_body("mt_id_w", "mch_2warm", json!({}), json!([]))),
    );
    let mut seen = String::new();
    for t in [&warm, &warm_m2m] {
        let (status, headers, body) =
            read(actix_web::test::call_service(&app, bearer_req("/r", t)).await).await;
        assert_eq!(status, 200, "{body}");
        seen += &(headers + &body);
    }
    let calls_warm = server.verify_hits_total();
    assert_eq!(calls_warm, 2);

    for (outage, name) in [
        (Outage::Status(500), "500"),
        (Outage::Status(502), "502"),
        (Outage::Status(429), "429"),
        (Outage::Hang, "hang"),
        (Outage::Refuse, "refused"),
    ] {
        server.set_outage(Some(outage.clone()));
        for t in [&warm, &warm_m2m] {
            let (status, headers, body) =
                read(actix_web::test::call_service(&app, bearer_req("/r", t)).await).await;
            assert_eq!(
                status, 200,
                "{name}: a cached token still works: {headers}{body}"
            );
            seen += &(headers + &body);
        }
        // A new token, even one the Backend API would accept: 503 quickly, Retry-After.
        let fresh = register_ak("user_2fresh");
        let started = Instant::now();
        let (status, headers, body) =
            read(actix_web::test::call_service(&app, bearer_req("/r", &fresh)).await).await;
        let took = started.elapsed();
        assert_eq!(status, 503, "{name}: {headers}{body}");
        assert!(headers.contains("retry-after: "), "{name}: {headers}");
        assert!(took < Duration::from_secs(2), "{name}: 503 after {took:?}");
        seen += &(headers + &body);
        // The lax middleware: signed out, Clerk's unexpected-error.
        let fresh_lax = register_ak("user_2freshlax");
        let (status, headers, body) =
            read(actix_web::test::call_service(&app, bearer_req("/lax", &fresh_lax)).await).await;
        assert_eq!(status, 200, "{name}");
        assert!(
            headers.contains("x-clerk-auth-reason: unexpected-error"),
            "{name}: {headers}"
        );
        assert!(
            body.contains(r#""isAuthenticated":false"#),
            "{name}: {body}"
        );
        seen += &(headers + &body);
        println!("outage {name}: cached tokens served, a new one 503 in {took:.1?}");
        server.set_outage(None);
    }
    // Back to normal: new tokens verify again.
    let after = register_ak("user_2after");
    let (status, _, body) =
        read(actix_web::test::call_service(&app, bearer_req("/r", &after)).await).await;
    assert_eq!(status, 200, "{body}");

    assert_no_secret("answers", &seen);
    assert_no_secret("the crate's logs", &logs.text());
    assert_no_secret(
        "Debug of the configuration",
        &format!("{cfg:?} {:?}", cfg.stats()),
    );
    // The keys did reach the Backend API, where they belong.
    assert!(server
        .verify_calls()
        .iter()
        .any(|c| c.authorization.as_deref() == Some(&*format!("Bearer {KS_SECRET}"))));
}

// ---------------------------------------------------------------------------------------------
// Hostile inputs
// ---------------------------------------------------------------------------------------------

/// A hostile case: its shape, what to register for its token (then a fresh token is made),
/// or the token itself (Latin-1 text).
type HostileSpec = (&'static str, Option<(VerifyEndpoint, VerifyAnswer)>, String);

/// Hostile machine tokens and verify answers (huge and odd tokens, Latin-1 bytes, prefix
/// tricks, JSON bombs and malformed answers from the Backend API), decided by Clerk and by the
/// crate in-process (lax and strict, accepting `any`). Where the two agree, fine; where they
/// differ, the crate must fail closed: it never signs in a request Clerk does not sign in, nor
/// with another identity. Never a panic or a 5xx from the lax middleware, every answer within
/// 3 s, at most one Backend API call per request. The differences are printed (`NOTE`).
#[actix_web::test]
async fn hostile_machine_inputs_fail_closed() {
    use actix_clerk::Accepts;
    use VerifyEndpoint::{ApiKeys as AK, M2mTokens as MT, OAuthAccessTokens as OAT};
    let key = TestKey::generate("ins_machine");
    let server = standin(&key);
    let pem = key.public_pem();
    let cfg = Cfg {
        name: "hostile",
        accepts: Some("any"),
        jwks: false,
        machine_secret: false,
        authorized_parties: &[],
    };
    let raw = |body: String| VerifyAnswer::Raw {
        status: 200,
        content_type: "application/json".into(),
        body,
    };
    let ak_body = |claims: &str| {
        format!(
            r#"{{"object":"api_key","id":"ak_id_h","subject":"user_2h","name":"h","claims":{claims},"scopes":[]}}"#
        )
    };
    let deep = |n: usize| format!("{}1{}", r#"{"a":"#.repeat(n), "}".repeat(n));
    // (shape, endpoint and answer to register for the token, token text: Latin-1 chars).
    let mut specs: Vec<HostileSpec> = vec![
        ("token/latin1-e9", None, format!("{}\u{e9}", opaque("ak_"))),
        ("token/latin1-ff-80", None, format!("{}\u{ff}\u{80}", opaque("ak_"))),
        ("token/huge-64kib-ak", None, format!("{}{}", opaque("ak_"), "A".repeat(64 << 10))),
        ("token/huge-64kib-mt", None, format!("{}{}", opaque("mt_"), "B".repeat(64 << 10))),
        ("token/huge-1mib-oat", None, format!("{}{}", opaque("oat_"), "C".repeat(1 << 20))),
        ("token/prefix-Ak", None, opaque("Ak_")),
        ("token/prefix-ak-dash", None, opaque("ak-")),
        ("token/prefix-inside", None, format!("x{}", opaque("ak_"))),
        ("token/prefix-fullwidth", None, format!("\u{ff}{}", opaque("k_"))),
        ("bomb/deep-100", Some((AK, raw(ak_body(&deep(100))))), String::new()),
        ("bomb/deep-1000", Some((AK, raw(ak_body(&deep(1000))))), String::new()),
        ("bomb/deep-100000", Some((AK, raw(ak_body(&deep(100_000))))), String::new()),
        ("bomb/string-1mib", Some((AK, raw(ak_body(&format!(r#"{{"s":"{}"}}"#, "x".repeat(1 << 20)))))), String::new()),
        ("bomb/string-60kib", Some((AK, raw(ak_body(&format!(r#"{{"s":"{}"}}"#, "x".repeat(60 << 10)))))), String::new()),
        ("bomb/many-scopes", Some((AK, VerifyAnswer::Ok(api_key_body("ak_id_s", "user_2s", "s", json!({}), json!((0..5000).map(|i| format!("s{i}")).collect::<Vec<_>>()))))), String::new()),
        ("bomb/many-keys", Some((AK, VerifyAnswer::Ok(api_key_body("ak_id_k", "user_2k", "k", Value::Object((0..3000).map(|i| (format!("k{i}"), json!(i))).collect()), json!([]))))), String::new()),
        ("bomb/number-1e400", Some((AK, raw(ak_body(r#"{"n":1e400}"#)))), String::new()),
        ("bomb/array-root", Some((AK, raw(format!("[{}]", ak_body("{}"))))), String::new()),
        ("bomb/null-root", Some((AK, raw("null".into()))), String::new()),
        ("bomb/string-root", Some((AK, raw(r#""api_key""#.into()))), String::new()),
        ("bomb/subject-number", Some((AK, raw(r#"{"object":"api_key","id":"ak_id_n","subject":42,"name":"n","claims":{},"scopes":[]}"#.into()))), String::new()),
        ("bomb/subject-missing", Some((AK, raw(r#"{"object":"api_key","id":"ak_id_m","name":"m","claims":{},"scopes":[]}"#.into()))), String::new()),
        ("bomb/scopes-string", Some((AK, raw(r#"{"object":"api_key","id":"ak_id_ss","subject":"user_2ss","name":"s","claims":{},"scopes":"a b"}"#.into()))), String::new()),
        ("bomb/m2m-fields-missing", Some((MT, raw(r#"{"object":"machine_to_machine_token"}"#.into()))), String::new()),
        ("bomb/oauth-fields-wrong-types", Some((OAT, raw(r#"{"object":"clerk_idp_oauth_access_token","id":7,"subject":["user_2x"],"client_id":{"a":1},"scopes":null}"#.into()))), String::new()),
        ("bomb/error-body-deep", Some((AK, VerifyAnswer::Raw { status: 401, content_type: "application/json".into(), body: format!(r#"{{"errors":[{{"message":{},"code":"x"}}]}}"#, deep(5000)) })), String::new()),
        ("bomb/error-message-huge", Some((AK, VerifyAnswer::error(401, "authentication_invalid", &"m".repeat(100 << 10)))), String::new()),
        ("bomb/error-message-crlf", Some((AK, VerifyAnswer::error(401, "authentication_invalid", "line\r\nx-injected: 1"))), String::new()),
    ];
    // The Latin-1 token as Node reads it is what Clerk posts (UTF-8 encoded): valid there.
    server.register(
        AK,
        &specs[0].2,
        VerifyAnswer::Ok(api_key_body(
            "ak_id_l1",
            "user_2latin1",
            "l",
            json!({}),
            json!([]),
        )),
    );
    for (shape, answer, token) in specs.iter_mut() {
        if let Some((endpoint, answer)) = answer.take() {
            let prefix = match endpoint {
                AK => "ak_",
                MT => "mt_",
                OAT => "oat_",
            };
            *token = opaque(prefix);
            server.register(endpoint, token, answer);
        }
        let _ = shape;
    }
    let cases: Vec<Case> = specs
        .iter()
        .map(|(shape, _, token)| Case {
            id: format!("hostile/{shape}"),
            config: "hostile",
            shape: (*shape).to_owned(),
            method: "GET",
            headers: bearer(token),
        })
        .collect();
    let theirs = oracle(&server, &pem, std::slice::from_ref(&cfg), &cases);

    let config = actix_clerk::ClerkConfig::builder()
        .secret_key(SECRET)
        .publishable_key(publishable_key())
        .jwt_key(pem.clone())
        .api_url(server.url())
        .build()
        .expect("configuration");
    let app = ks_app(config.clone(), Accepts::Any).await;
    let mut failures = Vec::new();
    let mut notes = 0;
    for case in &cases {
        let latin1: Vec<u8> = case.headers[0].1.chars().map(|c| c as u32 as u8).collect();
        let value = actix_web::http::header::HeaderValue::from_bytes(&latin1).expect("header");
        let mut outcomes = Vec::new();
        for path in ["/lax", "/r"] {
            let calls_before = server.verify_hits_total();
            let req = actix_web::test::TestRequest::get()
                .uri(path)
                .insert_header(("authorization", value.clone()))
                .to_request();
            let (at, started) = (now_secs(), Instant::now());
            let (status, headers, body) =
                read(actix_web::test::call_service(&app, req).await).await;
            let took = started.elapsed();
            let calls = server.verify_hits_total() - calls_before;
            if took > Duration::from_secs(3) {
                failures.push(format!("{}{path}: answered after {took:?}", case.id));
            }
            if calls > 1 {
                failures.push(format!("{}{path}: {calls} Backend API calls", case.id));
            }
            outcomes.push((path, status, headers, body, at));
        }
        let (_, lax_status, lax_headers, lax_body, at) = &outcomes[0];
        let (_, strict_status, _, _, _) = &outcomes[1];
        let header_map: BTreeMap<String, String> = lax_headers
            .lines()
            .filter_map(|l| l.split_once(": "))
            .filter(|(k, _)| k.starts_with("x-clerk-auth-"))
            .map(|(k, v)| (k.to_owned(), v.to_owned()))
            .collect();
        let ours = Ours {
            http: *lax_status,
            headers: header_map,
            all_headers: lax_headers.clone(),
            body: lax_body.clone(),
            at: *at,
            elapsed: Duration::ZERO,
        };
        let signed_in = ours.status() == "signed-in";
        if ![200, 401, 503].contains(strict_status) || (*strict_status == 200) != signed_in {
            failures.push(format!(
                "{}: strict answered {strict_status}, lax {}",
                case.id,
                ours.status()
            ));
        }
        let their = &theirs[&case.id];
        let (problems, _) = compare(case, &cfg, &ours, their);
        if problems.is_empty() {
            continue;
        }
        let line = format!(
            "{} (token {}):\n  {}",
            case.id,
            abbreviate(&case.headers[0].1),
            problems.join("\n  ")
        );
        if signed_in {
            failures.push(format!(
                "signed in where Clerk differs: {line}\n  ours: {}",
                abbreviate(&ours.body)
            ));
        } else {
            notes += 1;
            println!("NOTE we fail closed, Clerk differs: {line}");
        }
    }
    for f in &failures {
        eprintln!("HOSTILE {f}");
    }
    println!(
        "hostile machine inputs: {} cases, {} decided as Clerk does, {notes} failing closed where Clerk differs, {} failed",
        cases.len(),
        cases.len() - notes - failures.len().min(cases.len() - notes),
        failures.len()
    );
    assert!(
        failures.is_empty(),
        "{} hostile failures (see HOSTILE lines)",
        failures.len()
    );
}
