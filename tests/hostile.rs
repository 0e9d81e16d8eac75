//! Hostile inputs through real actix apps.
//!
//! A corpus of malformed, forged, oversized and confusing requests, each with the exact outcome
//! Clerk's `@clerk/backend` gives for it (status, `x-clerk-auth-reason`, whether the handler
//! runs). Every case goes through `ClerkRequireAuth` (401 + reason, handler never runs; or 200
//! and the handler runs once for the few that Clerk accepts); many also go through
//! `ClerkWithAuth` (the handler always runs and sees the signed-out `Auth` with the reason).
//! Never a 5xx, never a panic, and no request may take more than 1 s (debug build).
//!
//! The expectations are checked against Clerk itself by `corpus_expectations_agree_with_clerk`,
//! which replays every representable case through `@clerk/backend` (via
//! `tests/conformance/hostile-oracle.mjs`) and compares reason and message.
//!
//! Cases tagged `own_test` are left out of the corpus test and run by a test of their own:
//! regression tests for Clerk behaviours that are easy to get wrong (their expectation is still
//! Clerk's), and the `deliberate_*` tests, where the corpus records Clerk's outcome (checked
//! against Clerk like every other) and the test asserts the crate's own, documented one.

mod support;

use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::process::Command;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use actix_clerk::testing::{b64url, JwksMode, TestBackendApi, TestKey};
use actix_clerk::{Auth, ClerkConfig, ClerkRequireAuth, ClerkWithAuth};
use actix_web::dev::{Service, ServiceResponse};
use actix_web::http::header::{HeaderName, HeaderValue};
use actix_web::http::Method;
use actix_web::{test as at, web, App, HttpResponse};
use base64::Engine as _;
use serde_json::{json, Value};
use support::now_secs;

// ---------------------------------------------------------------------------------------------
// Configuration of the two instances under test
// ---------------------------------------------------------------------------------------------

const APP_ORIGIN: &str = "https://app.example.com";
const PROD_FAPI: &str = "clerk.example.com";
const DEV_FAPI: &str = "fine-ant-12.clerk.accounts.dev";

const R_INVALID: &str = "token-invalid";
const R_ALG: &str = "token-invalid-algorithm";
const R_SIG: &str = "token-invalid-signature";
const R_VF: &str = "token-verification-failed";
const R_AZP: &str = "token-invalid-authorized-parties";
const R_EXP_GET: &str = "session-token-expired-refresh-non-eligible-no-refresh-cookie";
const R_EXP_POST: &str = "session-token-expired-refresh-non-eligible-non-get";
const R_NBF: &str = "session-token-nbf";
const R_IAT: &str = "session-token-iat-in-the-future";
const R_MISSING: &str = "session-token-and-uat-missing";
const R_NO_UAT: &str = "session-token-but-no-client-uat";
const R_NO_SESSION: &str = "client-uat-but-no-session-token";
const R_IAT_UAT: &str = "session-token-iat-before-client-uat";
const R_DEV_MISSING: &str = "dev-browser-missing";
const R_DEV_SYNC: &str = "dev-browser-sync";
const R_TYPE: &str = "token-type-mismatch";
const R_UNEXPECTED: &str = "unexpected-error";

fn pk(instance: &str, fapi: &str) -> String {
    let b = base64::engine::general_purpose::STANDARD_NO_PAD.encode(format!("{fapi}$"));
    format!("pk_{instance}_{b}")
}

fn suffix_of(pk: &str) -> String {
    use sha1::Digest as _;
    let digest = sha1::Sha1::digest(pk.as_bytes());
    base64::engine::general_purpose::URL_SAFE
        .encode(digest)
        .chars()
        .take(8)
        .collect()
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Cfg {
    /// pk_live for clerk.example.com, authorized party https://app.example.com, PEM key.
    Prod,
    /// pk_test for fine-ant-12.clerk.accounts.dev, same party and key.
    Dev,
}

impl Cfg {
    fn name(self) -> &'static str {
        match self {
            Cfg::Prod => "prod",
            Cfg::Dev => "dev",
        }
    }
}

/// Keys and configurations shared by every case of one run.
struct World {
    /// The instance's key (its PEM is the configured `jwt_key`).
    key: TestKey,
    /// Another instance's key.
    other: TestKey,
    pem: String,
    pk_prod: String,
    pk_dev: String,
    sfx_prod: String,
    sfx_dev: String,
    now: i64,
    /// A local JWKS server holding `other`'s key, named by the `jku`/`x5u` cases: Clerk never
    /// fetches them, and neither may we (its hit count must stay 0).
    decoy: TestBackendApi,
    /// The configurations turn the browser flow off (an API-only service).
    api_only: bool,
}

impl World {
    fn new() -> World {
        let key = TestKey::generate("ins_hostile");
        let other = TestKey::generate("ins_other_instance");
        let pem = key.public_pem();
        let decoy = TestBackendApi::start_with(JwksMode::Keys(vec![other.jwk()]));
        let pk_prod = pk("live", PROD_FAPI);
        let pk_dev = pk("test", DEV_FAPI);
        World {
            sfx_prod: suffix_of(&pk_prod),
            sfx_dev: suffix_of(&pk_dev),
            key,
            other,
            pem,
            pk_prod,
            pk_dev,
            now: now_secs(),
            decoy,
            api_only: false,
        }
    }

    fn config(&self, cfg: Cfg) -> ClerkConfig {
        ClerkConfig::builder()
            .jwt_key(self.pem.clone())
            .publishable_key(match cfg {
                Cfg::Prod => self.pk_prod.clone(),
                Cfg::Dev => self.pk_dev.clone(),
            })
            .authorized_parties([APP_ORIGIN])
            .browser_sessions(!self.api_only)
            .build()
            .expect("config")
    }

    fn oracle_configs(&self) -> Value {
        json!({
            "prod": {"publishableKey": self.pk_prod, "jwtKey": self.pem, "authorizedParties": [APP_ORIGIN]},
            "dev": {"publishableKey": self.pk_dev, "jwtKey": self.pem, "authorizedParties": [APP_ORIGIN]},
        })
    }

    /// Default session claims of the production instance with `over` merged (null removes).
    fn claims(&self, over: Value) -> Value {
        self.claims_iss(over, &format!("https://{PROD_FAPI}"))
    }

    fn dev_claims(&self, over: Value) -> Value {
        self.claims_iss(over, &format!("https://{DEV_FAPI}"))
    }

    fn claims_iss(&self, over: Value, iss: &str) -> Value {
        let now = self.now;
        let mut c = json!({
            "azp": APP_ORIGIN,
            "exp": now + 3600,
            "iat": now - 10,
            "iss": iss,
            "nbf": now - 10,
            "sid": "sess_hostile",
            "sub": "user_hostile",
        });
        merge(&mut c, over);
        c
    }

    fn header(&self, over: Value) -> Value {
        let mut h = json!({"alg": "RS256", "kid": self.key.kid(), "typ": "JWT"});
        merge(&mut h, over);
        h
    }

    /// A token signed by the instance key.
    fn tok(&self, over: Value, header_over: Value) -> String {
        let h = self.header(header_over);
        let alg = h["alg"].as_str().unwrap_or("RS256");
        let alg = if ["RS256", "RS384", "RS512"].contains(&alg) {
            alg
        } else {
            "RS256"
        };
        self.key
            .sign_text(alg, &h.to_string(), &self.claims(over).to_string())
    }

    /// The same token signed by another instance's key.
    fn forged(&self, over: Value, header_over: Value) -> String {
        let h = self.header(header_over);
        self.other
            .sign_text("RS256", &h.to_string(), &self.claims(over).to_string())
    }

    fn good(&self) -> String {
        self.tok(json!({}), json!({}))
    }

    /// Header and payload as raw JSON text, signed by the instance key (RS256).
    fn raw(&self, header: &str, payload: &str) -> String {
        self.key.sign_text("RS256", header, payload)
    }

    fn raw_forged(&self, header: &str, payload: &str) -> String {
        self.other.sign_text("RS256", header, payload)
    }

    fn std_header_text(&self) -> String {
        self.header(json!({})).to_string()
    }

    /// Default claims as JSON text with `extra` (raw JSON members, e.g. `"a":1`) spliced in
    /// before the closing brace.
    fn payload_text_with(&self, extra: &str) -> String {
        let base = self.claims(json!({})).to_string();
        format!("{},{extra}}}", &base[..base.len() - 1])
    }
}

fn merge(base: &mut Value, over: Value) {
    if let (Some(b), Value::Object(o)) = (base.as_object_mut(), over) {
        for (k, v) in o {
            if v.is_null() {
                b.remove(&k);
            } else {
                b.insert(k, v);
            }
        }
    }
}

fn hs256(secret: &[u8], header: &Value, payload: &Value) -> String {
    let input = format!(
        "{}.{}",
        b64url(header.to_string()),
        b64url(payload.to_string())
    );
    let k = aws_lc_rs::hmac::Key::new(aws_lc_rs::hmac::HMAC_SHA256, secret);
    let tag = aws_lc_rs::hmac::sign(&k, input.as_bytes());
    format!("{input}.{}", b64url(tag.as_ref()))
}

fn unsigned(header: &Value, payload: &Value, sig: &str) -> String {
    format!(
        "{}.{}.{sig}",
        b64url(header.to_string()),
        b64url(payload.to_string())
    )
}

fn flip_signature(token: &str) -> String {
    let (rest, sig) = token.rsplit_once('.').expect("three parts");
    let mut bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(sig)
        .expect("sig");
    bytes[0] ^= 0xff;
    let last = bytes.len() - 1;
    bytes[last] ^= 0x55;
    format!("{rest}.{}", b64url(bytes))
}

fn nested(depth: usize) -> String {
    format!("{}{}", "[".repeat(depth), "]".repeat(depth))
}

// ---------------------------------------------------------------------------------------------
// Cases
// ---------------------------------------------------------------------------------------------

#[derive(Clone, Debug, PartialEq)]
enum Expect {
    /// Signed in as this user.
    In(String),
    /// Signed out with this reason.
    Out(&'static str),
}

#[derive(Clone)]
struct Case {
    id: String,
    cfg: Cfg,
    method: Method,
    /// Query string without `?`.
    query: String,
    headers: Vec<(&'static str, Vec<u8>)>,
    expect: Expect,
    /// Expected `orgPermissions` of the signed-in auth object.
    perms: Option<Vec<String>>,
    /// Also run through `ClerkWithAuth`.
    lax: bool,
    /// Can be replayed through `@clerk/backend` (a Fetch `Headers` accepts it).
    oracle: bool,
    /// Run only by the test of this tag (see `OWN_TEST_TAGS`), not by `hostile_corpus`.
    own_test: Option<&'static str>,
}

impl Case {
    fn new(id: impl Into<String>, headers: Vec<(&'static str, Vec<u8>)>, expect: Expect) -> Case {
        Case {
            id: id.into(),
            cfg: Cfg::Prod,
            method: Method::GET,
            query: String::new(),
            headers,
            expect,
            perms: None,
            lax: false,
            oracle: true,
            own_test: None,
        }
    }
    fn cfg(mut self, cfg: Cfg) -> Case {
        self.cfg = cfg;
        self
    }
    fn post(mut self) -> Case {
        self.method = Method::POST;
        self
    }
    fn query(mut self, q: &str) -> Case {
        self.query = q.to_owned();
        self
    }
    fn lax(mut self) -> Case {
        self.lax = true;
        self
    }
    fn no_oracle(mut self) -> Case {
        self.oracle = false;
        self
    }
    fn perms(mut self, p: &[&str]) -> Case {
        self.perms = Some(p.iter().map(|s| (*s).to_owned()).collect());
        self
    }
    fn own_test(mut self, tag: &'static str) -> Case {
        self.own_test = Some(tag);
        self
    }
}

fn out(r: &'static str) -> Expect {
    Expect::Out(r)
}

fn signed_in(user: &str) -> Expect {
    Expect::In(user.to_owned())
}

fn auth_hdr(value: impl Into<Vec<u8>>) -> Vec<(&'static str, Vec<u8>)> {
    vec![("authorization", value.into())]
}

fn bearer(token: &str) -> Vec<(&'static str, Vec<u8>)> {
    auth_hdr(format!("Bearer {token}"))
}

fn cookie(value: impl Into<Vec<u8>>) -> Vec<(&'static str, Vec<u8>)> {
    vec![("cookie", value.into())]
}

/// Every hostile case, with Clerk's outcome.
fn corpus(w: &World) -> Vec<Case> {
    let mut v = Vec::new();
    let now = w.now;
    let user = "user_hostile";
    let good = w.good();
    let std_claims = w.claims(json!({}));

    // ---- alg / key confusion ----------------------------------------------------------------
    {
        let none = w.header(json!({"alg": "none"}));
        v.push(
            Case::new(
                "alg/none-empty-signature",
                bearer(&unsigned(&none, &std_claims, "")),
                out(R_ALG),
            )
            .lax(),
        );
        let rs_sig = good.rsplit_once('.').unwrap().1.to_owned();
        v.push(Case::new(
            "alg/none-with-rs256-signature",
            bearer(&unsigned(&none, &std_claims, &rs_sig)),
            out(R_ALG),
        ));
        for alg in ["None", "NONE", "nOnE"] {
            let h = w.header(json!({ "alg": alg }));
            v.push(Case::new(
                format!("alg/{alg}-empty-signature"),
                bearer(&unsigned(&h, &std_claims, "")),
                out(R_ALG),
            ));
        }
        for (name, secret) in [
            ("pem-text", w.pem.clone()),
            ("pem-text-trimmed", w.pem.trim().to_owned()),
            (
                "pem-body",
                w.pem
                    .lines()
                    .filter(|l| !l.starts_with("-----"))
                    .collect::<String>(),
            ),
        ] {
            let h = w.header(json!({"alg": "HS256"}));
            v.push(
                Case::new(
                    format!("alg/hs256-keyed-with-{name}"),
                    bearer(&hs256(secret.as_bytes(), &h, &std_claims)),
                    out(R_ALG),
                )
                .lax(),
            );
        }
        for alg in [
            "HS384",
            "HS512",
            "ES256",
            "ES384",
            "ES512",
            "PS256",
            "PS384",
            "PS512",
            "EdDSA",
            "RS1",
            "rs256",
            "RS256 ",
            " RS256",
            "RS256\u{0}",
        ] {
            let h = w.header(json!({ "alg": alg }));
            let t = w
                .key
                .sign_text("RS256", &h.to_string(), &std_claims.to_string());
            v.push(Case::new(
                format!("alg/{}-header-rs256-signature", alg.escape_debug()),
                bearer(&t),
                out(R_ALG),
            ));
        }
        // ES256 header with a 64-byte (r||s-shaped) signature
        let es = w.header(json!({"alg": "ES256"}));
        v.push(Case::new(
            "alg/es256-64-byte-signature",
            bearer(&unsigned(&es, &std_claims, &b64url([7u8; 64]))),
            out(R_ALG),
        ));
        for (name, alg) in [
            ("array", json!(["RS256"])),
            ("null", Value::Null),
            ("number", json!(256)),
            ("object", json!({"name": "RS256"})),
            ("true", json!(true)),
        ] {
            let mut h = w.header(json!({}));
            h["alg"] = alg;
            let t = w
                .key
                .sign_text("RS256", &h.to_string(), &std_claims.to_string());
            v.push(Case::new(format!("alg/{name}"), bearer(&t), out(R_ALG)));
        }
        let no_alg = w.header(json!({"alg": null}));
        v.push(Case::new(
            "alg/missing",
            bearer(
                &w.key
                    .sign_text("RS256", &no_alg.to_string(), &std_claims.to_string()),
            ),
            out(R_ALG),
        ));
        // A PEM key is imported for RS256 only (as Clerk does): RS384/RS512 tokens, even validly
        // signed ones, fail with "JWK alg does not match the requested algorithm".
        let h512 = w.header(json!({"alg": "RS512"}));
        v.push(Case::new(
            "alg/rs512-header-rs256-signature",
            bearer(
                &w.key
                    .sign_text("RS256", &h512.to_string(), &std_claims.to_string()),
            ),
            out(R_VF),
        ));
        v.push(
            Case::new(
                "alg/rs512-valid-pem-is-rs256-only",
                bearer(&w.tok(json!({}), json!({"alg": "RS512"}))),
                out(R_VF),
            )
            .lax(),
        );
        v.push(Case::new(
            "alg/rs384-valid-pem-is-rs256-only",
            bearer(&w.tok(json!({}), json!({"alg": "RS384"}))),
            out(R_VF),
        ));
        v.push(Case::new(
            "alg/rs512-forged",
            bearer(&w.forged(json!({}), json!({"alg": "RS512"}))),
            out(R_VF),
        ));
        // alg none + OAuth typ: not JWT-shaped (empty signature) so not a machine token
        let none_at = w.header(json!({"alg": "none", "typ": "at+jwt"}));
        v.push(Case::new(
            "alg/none-typ-at+jwt-empty-signature",
            bearer(&unsigned(&none_at, &std_claims, "")),
            out(R_INVALID),
        ));
        // right alg, signature of another key
        v.push(
            Case::new(
                "alg/rs256-other-key",
                bearer(&w.forged(json!({}), json!({}))),
                out(R_SIG),
            )
            .lax(),
        );
        v.push(Case::new(
            "alg/rs256-flipped-signature",
            bearer(&flip_signature(&good)),
            out(R_SIG),
        ));
        v.push(Case::new(
            "alg/rs256-empty-signature",
            bearer(&format!("{}.", good.rsplit_once('.').unwrap().0)),
            out(R_SIG),
        ));
        v.push(Case::new(
            "alg/rs256-one-byte-signature",
            bearer(&format!("{}.AA", good.rsplit_once('.').unwrap().0)),
            out(R_SIG),
        ));
        v.push(Case::new(
            "alg/rs256-huge-signature",
            bearer(&format!(
                "{}.{}",
                good.rsplit_once('.').unwrap().0,
                b64url(vec![1u8; 4096])
            )),
            out(R_SIG),
        ));
    }

    // ---- kid ----------------------------------------------------------------------------------
    {
        let long_kid = "k".repeat(10 * 1024);
        let kids: Vec<(&str, Value)> = vec![
            ("path-traversal", json!("../../../../etc/passwd")),
            ("absolute-path", json!("/dev/zero")),
            (
                "url",
                json!("https://evil.example.net/.well-known/jwks.json"),
            ),
            ("loopback-url", json!(format!("{}/v1/jwks", w.decoy.url()))),
            ("percent-encoded", json!("%2e%2e%2f%2e%2e%2fjwks")),
            ("query-and-fragment", json!("ins_x?kid=1#frag")),
            ("10kb", json!(long_kid)),
            ("non-ascii", json!("ключ-☃-🔑")),
            ("crlf-injection", json!("ins\r\nX-Injected: 1")),
            ("nul", json!("ins\u{0}x")),
            ("empty", json!("")),
            ("null", Value::Null),
            ("number", json!(12345)),
            ("object", json!({"$ref": "file:///etc/passwd"})),
            ("array", json!(["a", "b"])),
            ("proto", json!("__proto__")),
        ];
        for (name, kid) in &kids {
            let mut h = w.header(json!({}));
            h["kid"] = kid.clone();
            let valid = w.key.sign(&h, &std_claims);
            let forged = w.other.sign(&h, &std_claims);
            // The configured PEM key verifies whatever the kid says.
            v.push(Case::new(
                format!("kid/{name}-valid"),
                bearer(&valid),
                signed_in(user),
            ));
            let mut c = Case::new(format!("kid/{name}-forged"), bearer(&forged), out(R_SIG));
            if *name == "10kb" || *name == "non-ascii" {
                c = c.lax();
            }
            v.push(c);
        }
    }

    // ---- jku / x5u / jwk / x5c: ignored -------------------------------------------------------
    {
        let decoy_jwks = format!("{}/v1/jwks", w.decoy.url());
        let other_jwk = w.other.jwk();
        let variants: Vec<(&str, Value)> = vec![
            ("jku-loopback", json!({ "jku": decoy_jwks })),
            (
                "jku-remote",
                json!({"jku": "https://evil.example.net/jwks.json"}),
            ),
            ("x5u-loopback", json!({ "x5u": decoy_jwks })),
            ("jwk-embedded", json!({ "jwk": other_jwk })),
            (
                "x5c-junk",
                json!({"x5c": ["MIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEA"]}),
            ),
            ("x5t", json!({"x5t": "abc", "x5t#S256": "def"})),
            ("crit-jku", json!({ "jku": decoy_jwks, "crit": ["jku"] })),
            (
                "all-together",
                json!({ "jku": decoy_jwks, "x5u": decoy_jwks, "jwk": other_jwk, "kid": w.other.kid() }),
            ),
        ];
        for (name, over) in variants {
            let forged = w.forged(json!({}), over.clone());
            let valid = w.tok(json!({}), over);
            v.push(
                Case::new(
                    format!("jose/{name}-other-key"),
                    bearer(&forged),
                    out(R_SIG),
                )
                .lax(),
            );
            v.push(Case::new(
                format!("jose/{name}-instance-key"),
                bearer(&valid),
                signed_in(user),
            ));
        }
    }

    // ---- another instance's valid token ------------------------------------------------------
    {
        let other_iss = json!({"iss": "https://clerk.other-instance.dev"});
        v.push(
            Case::new(
                "instance/other-key-other-iss",
                bearer(&w.other.sign(
                    &w.header(json!({"kid": w.other.kid()})),
                    &w.claims(other_iss.clone()),
                )),
                out(R_SIG),
            )
            .lax(),
        );
        v.push(Case::new(
            "instance/other-key-same-kid",
            bearer(&w.forged(json!({}), json!({}))),
            out(R_SIG),
        ));
        v.push(Case::new(
            "instance/other-key-expired",
            bearer(&w.forged(json!({"exp": now - 7200}), json!({}))),
            out(R_SIG),
        ));
        v.push(Case::new(
            "instance/other-key-bad-azp",
            bearer(&w.forged(json!({"azp": "https://evil.example.net"}), json!({}))),
            out(R_SIG),
        ));
        v.push(Case::new(
            "instance/other-key-no-sub",
            bearer(&w.forged(json!({"sub": null}), json!({}))),
            out(R_SIG),
        ));
        v.push(
            Case::new(
                "instance/other-key-cookie",
                cookie(format!(
                    "__session={}; __client_uat={}",
                    w.forged(json!({}), json!({})),
                    now - 60
                )),
                out(R_SIG),
            )
            .lax(),
        );
        // Same key but another issuer: Clerk does not check iss on the header path.
        v.push(Case::new(
            "instance/instance-key-foreign-iss",
            bearer(&w.tok(other_iss, json!({}))),
            signed_in(user),
        ));
    }

    // ---- duplicate JSON keys: the last one wins (JSON.parse) ----------------------------------
    {
        let h = w.std_header_text();
        let dup = |extra: &str| w.raw(&h, &w.payload_text_with(extra));
        v.push(
            Case::new(
                "dup/sub-last-wins",
                bearer(&dup(r#""sub":"user_first","sub":"user_last""#)),
                signed_in("user_last"),
            )
            .lax(),
        );
        v.push(Case::new(
            "dup/exp-expired-then-valid",
            bearer(&dup(&format!(
                r#""exp":{},"exp":{}"#,
                now - 7200,
                now + 3600
            ))),
            signed_in(user),
        ));
        v.push(
            Case::new(
                "dup/exp-valid-then-expired",
                bearer(&dup(&format!(
                    r#""exp":{},"exp":{}"#,
                    now + 3600,
                    now - 7200
                ))),
                out(R_EXP_GET),
            )
            .lax(),
        );
        v.push(Case::new(
            "dup/azp-bad-then-good",
            bearer(&dup(&format!(
                r#""azp":"https://evil.example.net","azp":"{APP_ORIGIN}""#
            ))),
            signed_in(user),
        ));
        v.push(Case::new(
            "dup/azp-good-then-bad",
            bearer(&dup(&format!(
                r#""azp":"{APP_ORIGIN}","azp":"https://evil.example.net""#
            ))),
            out(R_AZP),
        ));
        v.push(Case::new(
            "dup/sub-machine-then-user",
            bearer(&dup(r#""sub":"mch_machine","sub":"user_last""#)),
            signed_in("user_last"),
        ));
        v.push(Case::new(
            "dup/sub-user-then-machine",
            bearer(&dup(r#""sub":"user_first","sub":"mch_machine""#)),
            out(R_TYPE),
        ));
        let payload = w.claims(json!({})).to_string();
        let kid = &w.key.kid();
        for (name, header, expect) in [
            (
                "alg-none-then-rs256",
                format!(r#"{{"alg":"none","kid":"{kid}","typ":"JWT","alg":"RS256"}}"#),
                signed_in(user),
            ),
            (
                "alg-rs256-then-none",
                format!(r#"{{"alg":"RS256","kid":"{kid}","typ":"JWT","alg":"none"}}"#),
                out(R_ALG),
            ),
            (
                "typ-at+jwt-then-JWT",
                format!(r#"{{"alg":"RS256","typ":"at+jwt","kid":"{kid}","typ":"JWT"}}"#),
                signed_in(user),
            ),
            (
                "typ-JWT-then-at+jwt",
                format!(r#"{{"alg":"RS256","typ":"JWT","kid":"{kid}","typ":"at+jwt"}}"#),
                out(R_TYPE),
            ),
            (
                "cat-other-then-session",
                format!(r#"{{"alg":"RS256","cat":"other","kid":"{kid}","cat":"cl_B7d4PD111AAA"}}"#),
                signed_in(user),
            ),
            (
                "cat-session-then-other",
                format!(r#"{{"alg":"RS256","cat":"cl_B7d4PD111AAA","kid":"{kid}","cat":"other"}}"#),
                out(R_TYPE),
            ),
        ] {
            v.push(Case::new(
                format!("dup/header-{name}"),
                bearer(&w.raw(&header, &payload)),
                expect,
            ));
        }
        // A forged token with duplicate keys is still just forged.
        v.push(Case::new(
            "dup/forged-sub-twice",
            bearer(&w.raw_forged(&h, &w.payload_text_with(r#""sub":"a","sub":"b""#))),
            out(R_SIG),
        ));
        // v2 organisation: last `o` wins
        let o1 = r#""v":2,"fea":"o:memberships","o":{"id":"org_first","rol":"admin","per":"read,manage","fpm":"3"},"o":{"id":"org_last","rol":"member","per":"read,manage","fpm":"1"}"#;
        v.push(
            Case::new("dup/v2-o-last-wins", bearer(&dup(o1)), signed_in(user))
                .perms(&["org:memberships:read"])
                .lax(),
        );
    }

    // ---- nesting, size ------------------------------------------------------------------------
    {
        let h = w.std_header_text();
        let deep = |d: usize| w.payload_text_with(&format!(r#""deep":{}"#, nested(d)));
        v.push(Case::new(
            "json/nesting-100-valid",
            bearer(&w.raw(&h, &deep(100))),
            signed_in(user),
        ));
        v.push(Case::new(
            "json/nesting-100-forged",
            bearer(&w.raw_forged(&h, &deep(100))),
            out(R_SIG),
        ));
        // Clerk's JSON.parse has no depth limit: a 10 000-deep claim decodes, so a forged one is
        // a bad signature and a validly signed one is signed in.
        v.push(
            Case::new(
                "json/nesting-10000-forged",
                bearer(&w.raw_forged(&h, &deep(10_000))),
                out(R_SIG),
            )
            .own_test("json-depth")
            .lax(),
        );
        v.push(
            Case::new(
                "json/nesting-10000-valid",
                bearer(&w.raw(&h, &deep(10_000))),
                signed_in(user),
            )
            .own_test("json-depth"),
        );
        v.push(
            Case::new(
                "json/nesting-200-in-header-forged",
                bearer(&w.raw_forged(
                    &format!(r#"{{"alg":"RS256","x":{}}}"#, nested(200)),
                    &std_claims.to_string(),
                )),
                out(R_SIG),
            )
            .own_test("json-depth"),
        );
        // Unterminated nesting is not JSON for either.
        v.push(Case::new(
            "json/nesting-10000-unterminated",
            bearer(&w.raw_forged(&h, &format!(r#"{{"a":{}"#, "[".repeat(10_000)))),
            out(R_INVALID),
        ));
        // 1 MB of claims (in-process: a real server's header limit would refuse it first)
        let big = w.payload_text_with(&format!(r#""filler":"{}""#, "x".repeat(1 << 20)));
        v.push(
            Case::new(
                "json/1mb-payload-valid",
                bearer(&w.raw(&h, &big)),
                signed_in(user),
            )
            .lax(),
        );
        v.push(
            Case::new(
                "json/1mb-payload-forged",
                bearer(&w.raw_forged(&h, &big)),
                out(R_SIG),
            )
            .lax(),
        );
        let big_header = format!(
            r#"{{"alg":"RS256","kid":"{}","typ":"JWT"}}"#,
            "h".repeat(1 << 20)
        );
        v.push(Case::new(
            "json/1mb-header-forged",
            bearer(&w.raw_forged(&big_header, &std_claims.to_string())),
            out(R_SIG),
        ));
        // 1 MB of garbage in the Authorization header
        v.push(Case::new(
            "json/1mb-garbage-token",
            bearer(&"A".repeat(1 << 20)),
            out(R_INVALID),
        ));
        let many_keys: String = (0..20_000)
            .map(|i| format!(r#""k{i}":{i}"#))
            .collect::<Vec<_>>()
            .join(",");
        v.push(Case::new(
            "json/20000-claims-valid",
            bearer(&w.raw(&h, &w.payload_text_with(&many_keys))),
            signed_in(user),
        ));
        // 100 KB token
        let t100 = w.tok(json!({"filler": "y".repeat(100 * 1024)}), json!({}));
        v.push(Case::new("size/100kb-token-valid", bearer(&t100), signed_in(user)).lax());
        v.push(Case::new(
            "size/100kb-token-flipped",
            bearer(&flip_signature(&t100)),
            out(R_SIG),
        ));
        // Numbers JSON.parse reads as ±Infinity
        v.push(
            Case::new(
                "json/exp-1e400-forged",
                bearer(&w.raw_forged(&h, &w.payload_text_with(r#""big":1e400"#))),
                out(R_SIG),
            )
            .own_test("json-number-range"),
        );
        v.push(
            Case::new(
                "json/exp-1e400-valid",
                bearer(&w.raw(&h, &w.payload_text_with(r#""exp":1e400"#))),
                signed_in(user),
            )
            .own_test("json-number-range"),
        );
        let digits = "7".repeat(5000);
        v.push(
            Case::new(
                "json/5000-digit-integer-claim-valid",
                bearer(&w.raw(&h, &w.payload_text_with(&format!(r#""n":{digits}"#)))),
                signed_in(user),
            )
            .own_test("json-number-range"),
        );
        // Lone UTF-16 surrogates are fine for JSON.parse
        v.push(
            Case::new(
                "json/lone-surrogate-claim-forged",
                bearer(&w.raw_forged(&h, &w.payload_text_with(r#""name":"\ud800""#))),
                out(R_SIG),
            )
            .own_test("json-lone-surrogate"),
        );
        v.push(
            Case::new(
                "json/lone-surrogate-claim-valid",
                bearer(&w.raw(&h, &w.payload_text_with(r#""name":"x\udc00y""#))),
                signed_in(user),
            )
            .own_test("json-lone-surrogate"),
        );
        // Invalid UTF-8 inside the payload: TextDecoder replaces it.
        let mut bytes = w.payload_text_with(r#""name":"AB""#).into_bytes();
        let pos = bytes.windows(2).position(|p| p == b"AB").unwrap();
        bytes[pos] = 0xff;
        bytes[pos + 1] = 0xfe;
        v.push(Case::new(
            "json/invalid-utf8-in-claim-valid",
            bearer(&w.key.sign_bytes(h.as_bytes(), &bytes)),
            signed_in(user),
        ));
        // Leading BOM is dropped by TextDecoder
        let bom = format!("\u{feff}{}", std_claims);
        v.push(Case::new(
            "json/bom-payload-valid",
            bearer(&w.raw(&h, &bom)),
            signed_in(user),
        ));
        // Raw control character inside a JSON string: not JSON
        v.push(Case::new(
            "json/raw-control-char-in-string",
            bearer(&w.raw(&h, &w.payload_text_with("\"x\":\"a\u{1}b\""))),
            out(R_INVALID),
        ));
        // Non-object payloads / headers
        for (name, p, expect) in [
            ("array", "[]", out(R_VF)),
            ("string", "\"user\"", out(R_VF)),
            ("number", "1", out(R_VF)),
            ("null", "null", out(R_UNEXPECTED)),
        ] {
            v.push(Case::new(
                format!("json/payload-{name}-valid"),
                bearer(&w.raw(&h, p)),
                expect,
            ));
        }
        for (name, hh) in [("array", "[]"), ("string", "\"RS256\""), ("number", "7")] {
            v.push(Case::new(
                format!("json/header-{name}"),
                bearer(&w.raw(hh, &std_claims.to_string())),
                out(R_ALG),
            ));
        }
        v.push(Case::new(
            "json/header-null",
            bearer(&w.raw("null", &std_claims.to_string())),
            out(R_UNEXPECTED),
        ));
    }

    // ---- exp / nbf / iat of every type ------------------------------------------------------
    {
        let t = |over: Value| w.tok(over, json!({}));
        let cases: Vec<(&str, Value, Expect)> = vec![
            (
                "exp-string-future",
                json!({"exp": (now + 3600).to_string()}),
                out(R_VF),
            ),
            ("exp-string-past", json!({"exp": "1"}), out(R_VF)),
            (
                "exp-float-future",
                json!({"exp": now as f64 + 3600.5}),
                signed_in(user),
            ),
            (
                "exp-float-just-expired",
                json!({"exp": now as f64 - 3600.25}),
                out(R_EXP_GET),
            ),
            ("exp-1e300", json!({"exp": 1e300}), signed_in(user)),
            ("exp-minus-1e300", json!({"exp": -1e300}), signed_in(user)),
            ("exp-max-date", json!({"exp": 8.64e12}), signed_in(user)),
            (
                "exp-beyond-max-date",
                json!({"exp": 8.64e12 + 1.0}),
                signed_in(user),
            ),
            ("exp-min-date", json!({"exp": -8.64e12}), out(R_EXP_GET)),
            (
                "exp-beyond-min-date",
                json!({"exp": -8.64e12 - 1.0}),
                signed_in(user),
            ),
            ("exp-zero", json!({"exp": 0}), out(R_EXP_GET)),
            ("exp-minus-one", json!({"exp": -1}), out(R_EXP_GET)),
            ("exp-1e-300", json!({"exp": 1e-300}), out(R_EXP_GET)),
            ("exp-i64-max", json!({"exp": i64::MAX}), signed_in(user)),
            ("exp-u64-max", json!({"exp": u64::MAX}), signed_in(user)),
            ("exp-i64-min", json!({"exp": i64::MIN}), signed_in(user)),
            ("exp-true", json!({"exp": true}), out(R_VF)),
            ("exp-array", json!({"exp": [now + 3600]}), out(R_VF)),
            ("exp-object", json!({"exp": {"n": now + 3600}}), out(R_VF)),
            ("exp-empty-string", json!({"exp": ""}), out(R_VF)),
            ("nbf-string", json!({"nbf": "0"}), out(R_VF)),
            ("nbf-1e300", json!({"nbf": 1e300}), signed_in(user)),
            ("nbf-minus-1e300", json!({"nbf": -1e300}), signed_in(user)),
            ("nbf-future", json!({"nbf": now + 3600}), out(R_NBF)),
            (
                "nbf-future-float",
                json!({"nbf": now as f64 + 3600.9}),
                out(R_NBF),
            ),
            (
                "nbf-far-future-valid-date",
                json!({"nbf": 8.64e12}),
                out(R_NBF),
            ),
            ("nbf-false", json!({"nbf": false}), out(R_VF)),
            ("nbf-array", json!({"nbf": []}), out(R_VF)),
            ("iat-string", json!({"iat": "now"}), out(R_VF)),
            ("iat-1e300", json!({"iat": 1e300}), signed_in(user)),
            ("iat-minus-1e300", json!({"iat": -1e300}), signed_in(user)),
            ("iat-future", json!({"iat": now + 3600}), out(R_IAT)),
            ("iat-negative", json!({"iat": -5}), signed_in(user)),
            ("iat-object", json!({"iat": {}}), out(R_VF)),
            (
                "all-three-strings",
                json!({"exp": "x", "nbf": "y", "iat": "z"}),
                out(R_VF),
            ),
        ];
        for (name, over, expect) in cases {
            let lax = name.ends_with("1e300") || name == "nbf-future";
            let mut c = Case::new(format!("time/{name}"), bearer(&t(over)), expect);
            if lax {
                c = c.lax();
            }
            v.push(c);
        }
        v.push(
            Case::new(
                "time/exp-past-post",
                bearer(&t(json!({"exp": now - 7200}))),
                out(R_EXP_POST),
            )
            .post()
            .lax(),
        );
        v.push(
            Case::new(
                "time/nbf-future-post",
                bearer(&t(json!({"nbf": now + 7200}))),
                out(R_NBF),
            )
            .post(),
        );
        // 5000-digit exp: out of f64 range, JSON.parse gives Infinity (not expired)
        let h = w.std_header_text();
        let digits = "9".repeat(5000);
        v.push(
            Case::new(
                "time/exp-5000-digits",
                bearer(&w.raw(&h, &w.payload_text_with(&format!(r#""exp":{digits}"#)))),
                signed_in(user),
            )
            .own_test("json-number-range"),
        );
    }

    // ---- v2 fpm bitmasks ----------------------------------------------------------------------
    {
        let v2 = |o: Value, fea: &str| w.tok(json!({"v": 2, "fea": fea, "o": o}), json!({}));
        let o = |fpm: &str| json!({"id": "org_1", "rol": "admin", "slg": "acme", "per": "read,manage", "fpm": fpm});
        // 5000-digit odd number ending in ...1: bit 0 set; ...10 even → bit0 clear
        let big_odd = format!("{}1", "9".repeat(4999)); // ...91 = 3 (mod 4): bits 0 and 1
        v.push(
            Case::new(
                "fpm/5000-digit",
                bearer(&v2(o(&big_odd), "o:memberships")),
                signed_in(user),
            )
            .perms(&["org:memberships:read", "org:memberships:manage"])
            .lax(),
        );
        let big_even = format!("{}2", "1".repeat(4999));
        // ...112 = 4 * odd: bits 0 and 1 clear
        v.push(
            Case::new(
                "fpm/5000-digit-even",
                bearer(&v2(o(&big_even), "o:memberships")),
                signed_in(user),
            )
            .perms(&[])
            .lax(),
        );
        let big_six = format!("{}4", "1".repeat(4999)); // ...14 = 2 (mod 4): bit 1 only
        v.push(
            Case::new(
                "fpm/5000-digit-2-mod-4",
                bearer(&v2(o(&big_six), "o:memberships")),
                signed_in(user),
            )
            .perms(&["org:memberships:manage"]),
        );
        v.push(
            Case::new(
                "fpm/5000-zeros-then-3",
                bearer(&v2(o(&format!("{}3", "0".repeat(5000))), "o:memberships")),
                signed_in(user),
            )
            .perms(&["org:memberships:read", "org:memberships:manage"])
            .lax(),
        );
        v.push(
            Case::new(
                "fpm/u128-overflow",
                bearer(&v2(
                    o("340282366920938463463374607431768211457"),
                    "o:memberships",
                )),
                signed_in(user),
            )
            .perms(&["org:memberships:read"])
            .lax(),
        );
        v.push(
            Case::new(
                "fpm/negative",
                bearer(&v2(o("-3"), "o:memberships")),
                signed_in(user),
            )
            .perms(&[])
            .lax(),
        );
        v.push(
            Case::new(
                "fpm/exponent",
                bearer(&v2(o("3e0"), "o:memberships")),
                signed_in(user),
            )
            .perms(&[])
            .lax(),
        );
        v.push(
            Case::new(
                "fpm/hex",
                bearer(&v2(o("0x3"), "o:memberships")),
                signed_in(user),
            )
            .perms(&[])
            .lax(),
        );
        v.push(
            Case::new(
                "fpm/unicode-digits",
                bearer(&v2(o("３"), "o:memberships")),
                signed_in(user),
            )
            .perms(&[])
            .lax(),
        );
        // 20 features, each with a 5000-digit mask, 64 permissions: bounded work (the crate stops
        // dividing after 64 bits; Clerk converts every mask completely)
        let fea: Vec<String> = (0..20).map(|i| format!("o:f{i}")).collect();
        let per: Vec<String> = (0..64).map(|i| format!("p{i}")).collect();
        let masks: Vec<String> = (0..20).map(|_| "9".repeat(5000)).collect();
        let heavy = w.tok(
            json!({"v": 2, "fea": fea.join(","), "o": {"id": "org_1", "rol": "admin", "per": per.join(","), "fpm": masks.join(",")}}),
            json!({}),
        );
        v.push(
            Case::new(
                "fpm/20-features-5000-digits-each",
                bearer(&heavy),
                signed_in(user),
            )
            .lax(),
        );
        // fpm that makes Clerk's toAuth() throw: the crate answers unexpected-error (allowed difference)
        let bad = w.tok(
            json!({"v": 2, "fea": "o:memberships", "o": {"id": "org_1", "per": "read", "fpm": 3}}),
            json!({}),
        );
        v.push(Case::new("fpm/number-not-string", bearer(&bad), out(R_UNEXPECTED)).no_oracle());
    }

    // ---- Authorization header shapes ----------------------------------------------------------
    {
        let shapes: Vec<(&str, Vec<u8>, Expect)> = vec![
            ("empty", b"".to_vec(), out(R_MISSING)),
            ("spaces-only", b"   ".to_vec(), out(R_MISSING)),
            ("bearer-alone", b"Bearer".to_vec(), out(R_INVALID)),
            ("bearer-space", b"Bearer ".to_vec(), out(R_INVALID)),
            (
                "bearer-two-spaces-token",
                format!("Bearer  {good}").into_bytes(),
                out(R_INVALID),
            ),
            (
                "bearer-tab-token",
                format!("Bearer\t{good}").into_bytes(),
                out(R_INVALID),
            ),
            (
                "bearer-space-tab-token",
                format!("Bearer \t{good}").into_bytes(),
                out(R_INVALID),
            ),
            (
                "bearer-token-trailing-tab",
                format!("Bearer {good}\t").into_bytes(),
                signed_in(user),
            ),
            (
                "leading-tab-bearer",
                format!("\tBearer {good}").into_bytes(),
                signed_in(user),
            ),
            (
                "bearer-nbsp-token",
                [b"Bearer\xa0".as_slice(), good.as_bytes()].concat(),
                out(R_INVALID),
            ),
            (
                "lowercase-bearer",
                format!("bearer {good}").into_bytes(),
                out(R_MISSING),
            ),
            ("basic", b"Basic dXNlcjpwYXNz".to_vec(), out(R_MISSING)),
            ("bare-token", good.clone().into_bytes(), signed_in(user)),
            (
                "token-then-garbage",
                format!("Bearer {good} junk").into_bytes(),
                signed_in(user),
            ),
            (
                "token-padded-signature",
                format!("Bearer {good}==").into_bytes(),
                signed_in(user),
            ),
            (
                "token-one-equals",
                format!("Bearer {good}=").into_bytes(),
                signed_in(user),
            ),
            (
                "token-many-equals",
                format!("Bearer {good}{}", "=".repeat(1000)).into_bytes(),
                signed_in(user),
            ),
            ("two-parts", b"Bearer a.b".to_vec(), out(R_INVALID)),
            (
                "four-parts",
                format!("Bearer {good}.x").into_bytes(),
                out(R_INVALID),
            ),
            ("dots-only", b"Bearer ..".to_vec(), out(R_INVALID)),
            ("empty-json-parts", b"Bearer e30.e30.".to_vec(), out(R_ALG)),
            (
                "plus-slash-alphabet",
                b"Bearer e30+.e30/.AA".to_vec(),
                out(R_INVALID),
            ),
            (
                "dangling-bits",
                b"Bearer e30.e30.abd".to_vec(),
                out(R_INVALID),
            ),
            (
                "length-mod-4-is-1",
                b"Bearer e30.e30.AAAAA".to_vec(),
                out(R_INVALID),
            ),
            (
                "non-ascii-byte-ff",
                [format!("Bearer {good}").as_bytes(), b"\xff"].concat(),
                out(R_INVALID),
            ),
            (
                "non-ascii-byte-85",
                [format!("Bearer {good}").as_bytes(), b"\x85"].concat(),
                out(R_INVALID),
            ),
            (
                "latin1-token",
                b"Bearer \xe9\xe9.\xe9.\xe9".to_vec(),
                out(R_INVALID),
            ),
            (
                "utf8-token",
                "Bearer ☃.☃.☃".as_bytes().to_vec(),
                out(R_INVALID),
            ),
            (
                "100kb-garbage",
                format!("Bearer {}", "Z".repeat(100 * 1024)).into_bytes(),
                out(R_INVALID),
            ),
            (
                "100kb-dots",
                format!("Bearer {}", ".".repeat(100 * 1024)).into_bytes(),
                out(R_INVALID),
            ),
            (
                "api-key-prefix",
                b"Bearer ak_live_0123456789".to_vec(),
                out(R_INVALID),
            ),
            (
                "m2m-prefix",
                b"Bearer mt_0123456789".to_vec(),
                out(R_INVALID),
            ),
            (
                "oauth-prefix",
                b"Bearer oat_0123456789".to_vec(),
                out(R_INVALID),
            ),
            (
                "machine-jwt-sub",
                format!("Bearer {}", w.tok(json!({"sub": "mch_robot"}), json!({}))).into_bytes(),
                out(R_TYPE),
            ),
            (
                "oauth-jwt-typ",
                format!("Bearer {}", w.tok(json!({}), json!({"typ": "at+jwt"}))).into_bytes(),
                out(R_TYPE),
            ),
            (
                "cat-m2m",
                format!(
                    "Bearer {}",
                    w.tok(json!({}), json!({"cat": "cl_B7d4PD333AAA"}))
                )
                .into_bytes(),
                out(R_TYPE),
            ),
            (
                "header-padded-segments",
                {
                    let (h, rest) = good.split_once('.').unwrap();
                    format!("Bearer {h}==.{rest}").into_bytes()
                },
                out(R_SIG),
            ),
        ];
        for (name, value, expect) in shapes {
            let lax = matches!(
                name,
                "bearer-alone" | "bearer-space" | "empty" | "100kb-garbage"
            );
            let mut c = Case::new(format!("authz/{name}"), auth_hdr(value), expect);
            if lax {
                c = c.lax();
            }
            v.push(c);
        }
        // several Authorization lines (clerk-behaviour.md §12)
        v.extend(ambiguous_cases(w).into_iter().map(|(case, _)| case));
        // a header token wins over a valid cookie
        v.push(Case::new(
            "authz/garbage-header-valid-cookie",
            vec![
                ("authorization", b"Bearer x.y.z".to_vec()),
                (
                    "cookie",
                    format!("__session={good}; __client_uat={}", now - 60).into_bytes(),
                ),
            ],
            out(R_INVALID),
        ));
        // 10 000 header bytes of whitespace around the token
        v.push(Case::new(
            "authz/huge-surrounding-whitespace",
            auth_hdr(format!(
                "{}Bearer {good}{}",
                " \t".repeat(5000),
                "\t ".repeat(5000)
            )),
            signed_in(user),
        ));
    }

    // ---- cookies ------------------------------------------------------------------------------
    {
        let uat = now - 60;
        let ok_cookie = |session: &str| format!("__session={session}; __client_uat={uat}");
        v.push(Case::new(
            "cookie/valid-control",
            cookie(ok_cookie(&good)),
            signed_in(user),
        ));
        // development-instance token (other key, dev iss) to the production config
        let dev_tok = w.other.sign(
            &w.header(json!({"kid": w.other.kid()})),
            &w.dev_claims(json!({})),
        );
        v.push(
            Case::new(
                "cookie/dev-token-to-prod-plain-names",
                cookie(ok_cookie(&dev_tok)),
                out(R_MISSING),
            )
            .lax(),
        );
        v.push(Case::new(
            "cookie/dev-token-to-prod-dev-suffixed-names",
            cookie(format!(
                "__session_{s}={dev_tok}; __client_uat_{s}={uat}; __clerk_db_jwt_{s}=dvb_x",
                s = w.sfx_dev
            )),
            out(R_MISSING),
        ));
        v.push(
            Case::new(
                "cookie/dev-token-to-prod-prod-suffixed-names",
                cookie(format!(
                    "__session_{s}={dev_tok}; __client_uat_{s}={uat}",
                    s = w.sfx_prod
                )),
                out(R_SIG),
            )
            .lax(),
        );
        // same key, dev iss, prod-suffixed names: the iss is never checked once chosen
        let dev_tok_same_key = w.key.sign(&w.header(json!({})), &w.dev_claims(json!({})));
        v.push(Case::new(
            "cookie/dev-iss-instance-key-prod-suffixed",
            cookie(format!(
                "__session_{s}={dev_tok_same_key}; __client_uat_{s}={uat}",
                s = w.sfx_prod
            )),
            signed_in(user),
        ));
        v.push(
            Case::new(
                "cookie/dev-token-to-dev-without-db-jwt",
                cookie(ok_cookie(&dev_tok)),
                out(R_DEV_MISSING),
            )
            .cfg(Cfg::Dev)
            .lax(),
        );
        v.push(
            Case::new(
                "cookie/dev-config-db-jwt-in-query",
                cookie(ok_cookie(&dev_tok)),
                out(R_DEV_SYNC),
            )
            .cfg(Cfg::Dev)
            .query("__clerk_db_jwt=dvb_attacker"),
        );
        v.push(
            Case::new(
                "cookie/dev-config-forged-with-db-jwt",
                cookie(format!("{}; __clerk_db_jwt=dvb_x", ok_cookie(&dev_tok))),
                out(R_SIG),
            )
            .cfg(Cfg::Dev),
        );
        v.push(
            Case::new(
                "cookie/dev-config-prod-token-with-db-jwt",
                cookie(format!("{}; __clerk_db_jwt=dvb_x", ok_cookie(&good))),
                // a foreign iss selects the suffixed cookies, and there is no suffixed __clerk_db_jwt
                out(R_DEV_MISSING),
            )
            .cfg(Cfg::Dev),
        );
        // 1000 cookies
        let junk: String = (0..1000).map(|i| format!("c{i}=v{i}; ")).collect();
        v.push(
            Case::new(
                "cookie/1000-junk-then-valid",
                cookie(format!("{junk}{}", ok_cookie(&good))),
                signed_in(user),
            )
            .lax(),
        );
        v.push(
            Case::new(
                "cookie/1000-junk-only",
                cookie(junk.clone()),
                out(R_MISSING),
            )
            .lax(),
        );
        let many_sessions: String = (0..1000).map(|i| format!("__session=s{i}; ")).collect();
        v.push(Case::new(
            "cookie/1000-session-cookies-no-uat",
            cookie(many_sessions.clone()),
            out(R_NO_UAT),
        ));
        v.push(Case::new(
            "cookie/1000-session-cookies-with-uat",
            cookie(format!("{many_sessions}__client_uat={uat}")),
            out(R_INVALID),
        ));
        v.push(Case::new(
            "cookie/empty-first-session-wins",
            cookie(format!("__session=; __session={good}; __client_uat={uat}")),
            out(R_NO_SESSION),
        ));
        v.push(Case::new(
            "cookie/1000-cookie-headers",
            (0..1000)
                .map(|i| ("cookie", format!("c{i}=v").into_bytes()))
                .chain(cookie(ok_cookie(&good)))
                .collect(),
            signed_in(user),
        ));
        // non-UTF-8 and control-ish bytes
        v.push(Case::new(
            "cookie/session-byte-ff-no-uat",
            cookie(b"__session=\xff".to_vec()),
            out(R_NO_UAT),
        ));
        v.push(
            Case::new(
                "cookie/session-byte-ff-with-uat",
                cookie(
                    [
                        b"__session=\xff\xfe; __client_uat=".as_slice(),
                        uat.to_string().as_bytes(),
                    ]
                    .concat(),
                ),
                out(R_INVALID),
            )
            .lax(),
        );
        v.push(Case::new(
            "cookie/name-with-latin1",
            cookie(
                [
                    b"__sess\xefon=".as_slice(),
                    good.as_bytes(),
                    format!("; __client_uat={uat}").as_bytes(),
                ]
                .concat(),
            ),
            out(R_NO_SESSION),
        ));
        v.push(Case::new(
            "cookie/tabs-around-value",
            cookie(format!("__session=\t{good}\t; __client_uat=\t{uat}\t")),
            signed_in(user),
        ));
        v.push(Case::new(
            "cookie/only-separators",
            cookie(";;;;;===;;;"),
            out(R_MISSING),
        ));
        v.push(Case::new(
            "cookie/no-equals-1mb",
            cookie("x".repeat(1 << 20)),
            out(R_MISSING),
        ));
        v.push(Case::new(
            "cookie/semicolons-1mb-then-valid",
            cookie(format!("{}{}", ";".repeat(1 << 20), ok_cookie(&good))),
            signed_in(user),
        ));
        v.push(Case::new(
            "cookie/equals-1mb",
            cookie("=".repeat(1 << 20)),
            out(R_MISSING),
        ));
        // percent-encoding
        let enc: String = good.bytes().map(|b| format!("%{b:02X}")).collect();
        v.push(Case::new(
            "cookie/fully-percent-encoded-token",
            cookie(ok_cookie(&enc)),
            signed_in(user),
        ));
        v.push(Case::new(
            "cookie/malformed-percent",
            cookie(ok_cookie("%E0%A4%A")),
            out(R_INVALID),
        ));
        v.push(Case::new(
            "cookie/percent-encoded-invalid-utf8",
            cookie(ok_cookie("%FF%FE")),
            out(R_INVALID),
        ));
        // client_uat oddities
        let c_uat = |u: &str| cookie(format!("__session={good}; __client_uat={u}"));
        v.push(Case::new(
            "cookie/uat-not-a-number",
            c_uat("abc"),
            out(R_NO_UAT),
        ));
        v.push(Case::new("cookie/uat-zero", c_uat("0"), out(R_NO_UAT)));
        v.push(Case::new(
            "cookie/uat-negative",
            c_uat("-5"),
            signed_in(user),
        ));
        v.push(Case::new(
            "cookie/uat-400-digits",
            c_uat(&"9".repeat(400)),
            out(R_IAT_UAT),
        ));
        // Number.parseInt without a radix reads a 0x prefix as hexadecimal
        v.push(
            Case::new("cookie/uat-hex-small", c_uat("0x10"), signed_in(user))
                .lax()
                .own_test("uat-parse-int"),
        );
        v.push(
            Case::new(
                "cookie/uat-hex-large",
                c_uat("0x7fffffffff"),
                out(R_IAT_UAT),
            )
            .own_test("uat-parse-int"),
        );
        v.push(
            Case::new("cookie/uat-hex-negative", c_uat("-0x10"), signed_in(user))
                .own_test("uat-parse-int"),
        );
        v.push(Case::new(
            "cookie/uat-hex-empty",
            c_uat("0x"),
            out(R_NO_UAT),
        ));
        v.push(Case::new(
            "cookie/uat-hex-bad-digit",
            c_uat("0xg"),
            out(R_NO_UAT),
        ));
        v.push(Case::new(
            "cookie/uat-future",
            c_uat(&(now + 3600).to_string()),
            out(R_IAT_UAT),
        ));
        v.push(Case::new(
            "cookie/uat-float-prefix",
            c_uat(&format!("{}.999junk", now - 60)),
            signed_in(user),
        ));
        v.push(Case::new(
            "cookie/uat-leading-spaces-encoded",
            c_uat(&format!("%20%20{}", now - 60)),
            signed_in(user),
        ));
        // iat of odd types against the uat (unverified comparison)
        let t = |over: Value| w.tok(over, json!({}));
        v.push(Case::new(
            "cookie/iat-string-old",
            cookie(ok_cookie(&t(json!({"iat": "5"})))),
            out(R_IAT_UAT),
        ));
        v.push(Case::new(
            "cookie/iat-missing",
            cookie(ok_cookie(&t(json!({"iat": null})))),
            signed_in(user),
        ));
        v.push(Case::new(
            "cookie/iat-object",
            cookie(ok_cookie(&t(json!({"iat": {}})))),
            out(R_VF),
        ));
        // unverified plain __session whose iss is very long (chooses the suffixed pair)
        let long_iss = w.forged(
            json!({"iss": format!("https://{}", "a".repeat(100_000))}),
            json!({}),
        );
        v.push(Case::new(
            "cookie/long-foreign-iss",
            cookie(ok_cookie(&long_iss)),
            out(R_MISSING),
        ));
        // machine tokens are never accepted from cookies
        v.push(Case::new(
            "cookie/machine-sub",
            cookie(ok_cookie(&t(json!({"sub": "mch_robot"})))),
            out(R_TYPE),
        ));
        v.push(Case::new(
            "cookie/machine-prefix-opaque",
            cookie(ok_cookie("ak_live_123")),
            out(R_INVALID),
        ));
        // the cookie path with a garbage handshake parameter / cookie (resolution fails, ignored)
        v.push(
            Case::new(
                "cookie/garbage-handshake-query",
                cookie(ok_cookie(&good)),
                signed_in(user),
            )
            .query("__clerk_handshake=garbage"),
        );
        v.push(Case::new(
            "cookie/garbage-handshake-cookie",
            cookie(format!("__clerk_handshake=garbage; {}", ok_cookie(&good))),
            signed_in(user),
        ));
        v.push(
            Case::new(
                "cookie/post-expired",
                cookie(ok_cookie(&t(json!({"exp": now - 7200})))),
                out(R_EXP_POST),
            )
            .post()
            .lax(),
        );
    }

    // ---- query parameters of the development-instance flows -----------------------------------
    {
        let uat = now - 60;
        let dev_valid = w.key.sign(&w.header(json!({})), &w.dev_claims(json!({})));
        let dev_cookie = || {
            cookie(format!(
                "__session={dev_valid}; __client_uat={uat}; __clerk_db_jwt=dvb_x"
            ))
        };
        v.push(Case::new("query/dev-valid-control", dev_cookie(), signed_in(user)).cfg(Cfg::Dev));
        v.push(
            Case::new("query/dev-db-jwt-no-value", dev_cookie(), out(R_DEV_SYNC))
                .cfg(Cfg::Dev)
                .query("__clerk_db_jwt"),
        );
        v.push(
            Case::new(
                "query/dev-db-jwt-second-param",
                dev_cookie(),
                out(R_DEV_SYNC),
            )
            .cfg(Cfg::Dev)
            .query("a=1&__clerk_db_jwt=dvb_q"),
        );
        v.push(
            Case::new(
                "query/dev-db-jwt-after-semicolon",
                dev_cookie(),
                signed_in(user),
            )
            .cfg(Cfg::Dev)
            .query("a=1;__clerk_db_jwt=dvb_q"),
        );
        v.push(
            Case::new(
                "query/dev-redirect-url",
                dev_cookie(),
                out("primary-responds-to-syncing"),
            )
            .cfg(Cfg::Dev)
            .query("__clerk_redirect_url=https%3A%2F%2Fsatellite.example.net%2F"),
        );
        v.push(
            Case::new(
                "query/dev-redirect-url-empty",
                dev_cookie(),
                signed_in(user),
            )
            .cfg(Cfg::Dev)
            .query("__clerk_redirect_url="),
        );
        // URLSearchParams percent-decodes parameter NAMES too
        v.push(
            Case::new(
                "query/dev-db-jwt-encoded-name",
                dev_cookie(),
                out(R_DEV_SYNC),
            )
            .cfg(Cfg::Dev)
            .query("%5F%5Fclerk_db_jwt=dvb_q")
            .lax()
            .own_test("query-decoding"),
        );
        v.push(
            Case::new(
                "query/dev-redirect-url-encoded-name",
                dev_cookie(),
                out("primary-responds-to-syncing"),
            )
            .cfg(Cfg::Dev)
            .query("__clerk%5Fredirect_url=https%3A%2F%2Fsatellite.example.net%2F")
            .own_test("query-decoding"),
        );
        // Clerk's `new URL(value)` throws on a redirect URL that is not a URL (a 500 in Express);
        // the crate answers signed out.
        v.push(
            Case::new(
                "query/dev-redirect-url-not-a-url",
                dev_cookie(),
                out("primary-responds-to-syncing"),
            )
            .cfg(Cfg::Dev)
            .query("__clerk_redirect_url=not%20a%20url")
            .no_oracle(),
        );
        v.push(
            Case::new(
                "query/prod-ignores-db-jwt",
                cookie(format!("__session={good}; __client_uat={uat}")),
                signed_in(user),
            )
            .query("__clerk_db_jwt=x&__clerk_redirect_url=https%3A%2F%2Fa.b"),
        );
        // a non-string iss in the plain cookie: Clerk's iss.replace throws (a 500 in Express);
        // clerk-behaviour.md §3 rule 2 says: not this instance, so the suffixed pair (absent here)
        let t_iss_num = w.tok(json!({"iss": 5}), json!({}));
        v.push(
            Case::new(
                "cookie/iss-not-a-string",
                cookie(format!("__session={t_iss_num}; __client_uat={uat}")),
                out(R_MISSING),
            )
            .no_oracle(),
        );
    }

    // ---- has(): whitespace Clerk's String#trim and Rust's str::trim read differently ----------
    {
        // U+0085 (NEL) is trimmed by str::trim but not by String.prototype.trim
        let t = w.tok(
            json!({"v": 2, "fea": "o:memberships", "o": {"id": "org_1", "rol": "admin", "per": "read\u{85},manage", "fpm": "3"}}),
            json!({}),
        );
        v.push(
            Case::new("has/per-with-nel", bearer(&t), signed_in(user))
                .perms(&["org:memberships:read\u{85}", "org:memberships:manage"])
                .lax()
                .own_test("trim-whitespace"),
        );
        // U+FEFF is trimmed by String.prototype.trim but not by str::trim
        let t = w.tok(
            json!({"v": 2, "fea": "o:memberships\u{feff}", "o": {"id": "org_1", "rol": "admin", "per": "read,manage\u{feff}", "fpm": "3\u{feff}"}}),
            json!({}),
        );
        v.push(
            Case::new("has/claims-with-bom", bearer(&t), signed_in(user))
                .perms(&["org:memberships:read", "org:memberships:manage"])
                .lax()
                .own_test("trim-whitespace"),
        );
        // a client_uat led by U+0085 (raw byte 0x85 in the Cookie header): parseInt gives NaN
        v.push(
            Case::new(
                "cookie/uat-led-by-nel-byte",
                cookie(
                    [
                        format!("__session={good}; __client_uat=").as_bytes(),
                        b"\x85",
                        (now - 60).to_string().as_bytes(),
                    ]
                    .concat(),
                ),
                out(R_NO_UAT),
            )
            .lax()
            .own_test("trim-whitespace"),
        );
    }

    // ---- browser-only flows: Clerk would redirect (handshake); we must sign out -------------
    {
        let uat = now - 60;
        let doc = |extra: Vec<(&'static str, Vec<u8>)>| {
            let mut h = vec![
                (
                    "cookie",
                    format!("__session={good}; __client_uat={uat}").into_bytes(),
                ),
                ("sec-fetch-dest", b"document".to_vec()),
            ];
            h.extend(extra);
            h
        };
        v.push(
            Case::new(
                "browser/cross-origin-referrer-document",
                doc(vec![("referer", b"https://evil.example.net/page".to_vec())]),
                out("primary-domain-cross-origin-sync"),
            )
            .own_test("browser-handshake"),
        );
        // an expired cookie with a __refresh cookie (refresh would be attempted by Clerk)
        let expired = w.tok(json!({"exp": now - 7200}), json!({}));
        v.push(
            Case::new(
                "browser/expired-with-refresh-cookie",
                cookie(format!(
                    "__session={expired}; __client_uat={uat}; __refresh_{}=rt_attacker",
                    w.sfx_prod
                )),
                // offline answer: the refresh call to the (unreachable) Backend API fails
                out("session-token-expired-refresh-fetch-error"),
            )
            .own_test("refresh-cookie"),
        );
    }

    v
}

/// Clerk's message texts for a token that does not decode.
const THREE_PARTS: &str = "Invalid JWT form. A JWT consists of three parts separated by dots.";
const UNDECODABLE: &str =
    "Invalid JWT form. The header, payload, or signature could not be decoded.";

/// Requests with several Authorization lines (clerk-behaviour.md §12), each with the text of
/// the crate's token-invalid message: Clerk's decoding message for the value a Fetch runtime
/// sees (the lines, trimmed, joined with ", "): the token Clerk's header parse finds in it, or,
/// when it finds none, the whole value.
///
/// The expectation is Clerk's outcome for that joined value (checked by
/// `corpus_expectations_agree_with_clerk`). Where it agrees with the crate (token-invalid: the
/// parse finds `Bearer <token>,`, which cannot be decoded) the case is in the corpus; where it
/// does not (no `Bearer` scheme in the joined value, so Clerk reads the cookies, or a first line
/// `Bearer <token> <more>` whose token Clerk verifies), the case is tagged
/// `ambiguous-authorization`: `deliberate_ambiguous_authorization` asserts token-invalid.
/// Every case is sent with and without a valid session cookie of another user.
fn ambiguous_cases(w: &World) -> Vec<(Case, &'static str)> {
    let good = w.good();
    let second = w.tok(json!({"sub": "user_second"}), json!({}));
    let expired = w.tok(json!({"exp": w.now - 7200}), json!({}));
    let session_cookie = format!(
        "__session={}; __client_uat={}",
        w.tok(json!({"sub": "user_cookie"}), json!({})),
        w.now - 60
    );
    let b = |t: &str| format!("Bearer {t}");
    let (bg, bs, bx, bf) = (
        b(&good),
        b(&second),
        b("garbage"),
        b(&w.forged(json!({}), json!({}))),
    );
    let (basic, lower, none) = ("Basic dXNlcjpwYXNz", format!("bearer {good}"), "");
    let (good_junk, expired_junk) = (format!("{bg} junk"), format!("Bearer {expired} junk"));
    // Clerk without and with the session cookie, where it reads the cookies.
    let cookies = || Some([out(R_MISSING), signed_in("user_cookie")]);
    // Clerk verifying the first line's token (the cookie is then unread).
    let first = |e: Expect| Some([e.clone(), e]);

    let mut v = Vec::new();
    let mut row = |name: &str, lines: &[&str], message, clerk: Option<[Expect; 2]>| {
        let headers: Vec<(&'static str, Vec<u8>)> = lines
            .iter()
            .map(|l| ("authorization", l.as_bytes().to_vec()))
            .collect();
        let mut with_cookie = headers.clone();
        with_cookie.push(("cookie", session_cookie.clone().into_bytes()));
        let [without, with] = clerk.clone().unwrap_or([out(R_INVALID), out(R_INVALID)]);
        for (id, headers, expect) in [
            (format!("ambiguous/{name}"), headers, without),
            (format!("ambiguous/{name}-valid-cookie"), with_cookie, with),
        ] {
            let mut case = Case::new(id, headers, expect).lax();
            if clerk.is_some() {
                case = case.own_test("ambiguous-authorization");
            }
            v.push((case, message));
        }
    };
    // Clerk agrees: the joined value is `Bearer <first token>, ...`.
    row("valid-valid-same", &[&bg, &bg], UNDECODABLE, None);
    row("valid-valid-other-user", &[&bg, &bs], UNDECODABLE, None);
    row("valid-garbage", &[&bg, &bx], UNDECODABLE, None);
    row("garbage-valid", &[&bx, &bg], THREE_PARTS, None);
    row("forged-valid", &[&bf, &bg], UNDECODABLE, None);
    row("expired-valid", &[&b(&expired), &bg], UNDECODABLE, None);
    row("valid-basic", &[&bg, basic], UNDECODABLE, None);
    row("valid-empty", &[&bg, none], UNDECODABLE, None);
    row("empty-empty", &[none, none], THREE_PARTS, None);
    row("three-valid", &[&bg, &bg, &bg], UNDECODABLE, None);
    row(
        "three-valid-valid-garbage",
        &[&bg, &bs, &bx],
        UNDECODABLE,
        None,
    );
    // Clerk reads past the lines: the joined value's scheme is not `Bearer`, so it reads the
    // cookies ...
    row("basic-valid", &[basic, &bg], UNDECODABLE, cookies());
    row(
        "lowercase-bearer-valid",
        &[&lower, &bg],
        THREE_PARTS,
        cookies(),
    );
    row(
        "bare-garbage-valid",
        &["garbage", &bg],
        UNDECODABLE,
        cookies(),
    );
    row("empty-valid", &[none, &bg], UNDECODABLE, cookies());
    row("bare-valid-twice", &[&good, &good], THREE_PARTS, cookies());
    row(
        "bearer-alone-bare-valid",
        &["Bearer", &good],
        UNDECODABLE,
        cookies(),
    );
    row("three-empty", &[none, none, none], THREE_PARTS, cookies());
    // ... or the first line is `Bearer <token> <more>`, and Clerk verifies <token>. That token
    // decodes, so our message is the one for the whole joined value: it has three parts when
    // the second line has no dots, more when it is a JWT.
    let user = first(signed_in("user_hostile"));
    row("valid-word-garbage", &[&good_junk, &bx], UNDECODABLE, user);
    let expired = first(out(R_EXP_GET));
    row(
        "expired-word-valid",
        &[&expired_junk, &bg],
        THREE_PARTS,
        expired,
    );

    // Neither the method nor the instance changes the answer.
    let two = |first: &str, second: &str| {
        vec![
            ("authorization", first.as_bytes().to_vec()),
            ("authorization", second.as_bytes().to_vec()),
        ]
    };
    let post = Case::new(
        "ambiguous/valid-garbage-post",
        two(&bg, &bx),
        out(R_INVALID),
    );
    v.push((post.post().lax(), UNDECODABLE));
    let post = Case::new(
        "ambiguous/basic-valid-post",
        two(basic, &bg),
        out(R_MISSING),
    );
    let post = post.post().lax().own_test("ambiguous-authorization");
    v.push((post, UNDECODABLE));
    let dev_cookie = format!(
        "__session={}; __client_uat={}; __clerk_db_jwt=dvb_x",
        w.key.sign(&w.header(json!({})), &w.dev_claims(json!({}))),
        w.now - 60
    );
    let mut dev = two(&bg, &bg);
    dev.push(("cookie", dev_cookie.clone().into_bytes()));
    let dev = Case::new("ambiguous/dev-valid-valid-dev-cookie", dev, out(R_INVALID));
    v.push((dev.cfg(Cfg::Dev).lax(), UNDECODABLE));
    let mut dev = two(none, &bg);
    dev.push(("cookie", dev_cookie.into_bytes()));
    let dev = Case::new(
        "ambiguous/dev-empty-valid-dev-cookie",
        dev,
        signed_in("user_hostile"),
    );
    let dev = dev.cfg(Cfg::Dev).lax().own_test("ambiguous-authorization");
    v.push((dev, UNDECODABLE));
    v
}

// ---------------------------------------------------------------------------------------------
// Running cases through real apps
// ---------------------------------------------------------------------------------------------

struct Apps<S> {
    prod: S,
    dev: S,
    calls: Arc<AtomicUsize>,
}

async fn handler(calls: web::Data<Arc<AtomicUsize>>, auth: web::ReqData<Auth>) -> HttpResponse {
    calls.fetch_add(1, Ordering::SeqCst);
    let auth = auth.into_inner();
    HttpResponse::Ok().json(json!({
        "reason": auth.reason().map(|r| r.as_str()),
        "message": auth.message(),
        "auth": auth,
    }))
}

async fn build_app(
    config: ClerkConfig,
    calls: Arc<AtomicUsize>,
) -> impl Service<actix_http::Request, Response = ServiceResponse, Error = actix_web::Error> {
    at::init_service(
        App::new()
            .app_data(web::Data::new(calls))
            .service(
                web::scope("/api")
                    .wrap(ClerkRequireAuth::new(config.clone()))
                    .route("/me", web::route().to(handler)),
            )
            .service(
                web::scope("/public")
                    .wrap(ClerkWithAuth::new(config))
                    .route("/me", web::route().to(handler)),
            ),
    )
    .await
}

#[derive(Debug)]
struct Observed {
    status: u16,
    reason: Option<String>,
    message: Option<String>,
    www_authenticate: Option<String>,
    body: Value,
    handler_ran: bool,
    elapsed: Duration,
}

fn header_text(res: &ServiceResponse, name: &str) -> Option<String> {
    res.headers()
        .get(name)
        .map(|v| v.as_bytes().iter().map(|&b| char::from(b)).collect())
}

async fn observe<S>(app: &S, calls: &AtomicUsize, case: &Case, strict: bool) -> Observed
where
    S: Service<actix_http::Request, Response = ServiceResponse, Error = actix_web::Error>,
{
    let path = if strict { "/api/me" } else { "/public/me" };
    let uri = if case.query.is_empty() {
        path.to_owned()
    } else {
        format!("{path}?{}", case.query)
    };
    let mut req = at::TestRequest::default()
        .method(case.method.clone())
        .uri(&uri);
    for (name, value) in &case.headers {
        let value = HeaderValue::from_bytes(value)
            .unwrap_or_else(|e| panic!("{}: header value not representable: {e}", case.id));
        req = req.append_header((HeaderName::from_static(name), value));
    }
    let req = req.to_request();
    let before = calls.load(Ordering::SeqCst);
    let started = Instant::now();
    let res = at::call_service(app, req).await;
    let status = res.status().as_u16();
    let reason = header_text(&res, "x-clerk-auth-reason");
    let message = header_text(&res, "x-clerk-auth-message");
    let www_authenticate = header_text(&res, "www-authenticate");
    let bytes = at::read_body(res).await;
    let elapsed = started.elapsed();
    let body = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
    Observed {
        status,
        reason,
        message,
        www_authenticate,
        body,
        handler_ran: calls.load(Ordering::SeqCst) > before,
        elapsed,
    }
}

/// Checks one case through the strict app (and the lax one when asked); returns problems.
async fn check_case<S>(
    apps: &Apps<S>,
    case: &Case,
    slowest: &mut Vec<(Duration, String)>,
) -> Vec<String>
where
    S: Service<actix_http::Request, Response = ServiceResponse, Error = actix_web::Error>,
{
    let app = match case.cfg {
        Cfg::Prod => &apps.prod,
        Cfg::Dev => &apps.dev,
    };
    let mut problems = Vec::new();
    let o = observe(app, &apps.calls, case, true).await;
    slowest.push((o.elapsed, format!("{} (strict)", case.id)));
    if o.status >= 500 {
        problems.push(format!("{}: strict answered {}", case.id, o.status));
    }
    if o.elapsed > Duration::from_secs(1) {
        problems.push(format!("{}: strict took {:?}", case.id, o.elapsed));
    }
    match &case.expect {
        Expect::Out(reason) => {
            if o.status != 401 {
                problems.push(format!(
                    "{}: strict status {} (want 401)",
                    case.id, o.status
                ));
            }
            if o.reason.as_deref() != Some(*reason) {
                problems.push(format!(
                    "{}: strict reason {:?} (want {reason})",
                    case.id, o.reason
                ));
            }
            if o.body["reason"] != json!(reason) {
                problems.push(format!("{}: strict body {}", case.id, o.body));
            }
            if !matches!(
                o.www_authenticate.as_deref(),
                Some("Bearer" | "Bearer error=\"invalid_token\"")
            ) {
                problems.push(format!(
                    "{}: strict WWW-Authenticate {:?}",
                    case.id, o.www_authenticate
                ));
            }
            if o.handler_ran {
                problems.push(format!(
                    "{}: the handler ran behind ClerkRequireAuth",
                    case.id
                ));
            }
        }
        Expect::In(user) => {
            if o.status != 200 || !o.handler_ran {
                problems.push(format!(
                    "{}: strict status {} reason {:?} handler_ran {} (want signed in as {user})",
                    case.id, o.status, o.reason, o.handler_ran
                ));
            } else {
                if o.body["auth"]["userId"] != json!(user) {
                    problems.push(format!(
                        "{}: userId {} (want {user})",
                        case.id, o.body["auth"]["userId"]
                    ));
                }
                if let Some(perms) = &case.perms {
                    if o.body["auth"]["orgPermissions"] != json!(perms) {
                        problems.push(format!(
                            "{}: orgPermissions {} (want {perms:?})",
                            case.id, o.body["auth"]["orgPermissions"]
                        ));
                    }
                }
            }
        }
    }
    if case.lax {
        let o = observe(app, &apps.calls, case, false).await;
        slowest.push((o.elapsed, format!("{} (lax)", case.id)));
        if o.elapsed > Duration::from_secs(1) {
            problems.push(format!("{}: lax took {:?}", case.id, o.elapsed));
        }
        if o.status != 200 || !o.handler_ran {
            problems.push(format!(
                "{}: lax status {} handler_ran {} (the handler must always run)",
                case.id, o.status, o.handler_ran
            ));
        }
        match &case.expect {
            Expect::Out(reason) => {
                if o.body["reason"] != json!(reason)
                    || o.body["auth"]["isAuthenticated"] != json!(false)
                {
                    problems.push(format!(
                        "{}: lax handler saw reason {} isAuthenticated {} (want signed out, {reason})",
                        case.id, o.body["reason"], o.body["auth"]["isAuthenticated"]
                    ));
                }
                if o.reason.as_deref() != Some(*reason) {
                    problems.push(format!("{}: lax header reason {:?}", case.id, o.reason));
                }
            }
            Expect::In(user) => {
                if o.body["auth"]["userId"] != json!(user) {
                    problems.push(format!(
                        "{}: lax userId {}",
                        case.id, o.body["auth"]["userId"]
                    ));
                }
            }
        }
    }
    problems
}

async fn run_cases(w: &World, cases: &[Case]) -> (Vec<String>, Vec<(Duration, String)>) {
    let calls = Arc::new(AtomicUsize::new(0));
    let apps = Apps {
        prod: build_app(w.config(Cfg::Prod), calls.clone()).await,
        dev: build_app(w.config(Cfg::Dev), calls.clone()).await,
        calls,
    };
    let mut problems = Vec::new();
    let mut timings = Vec::new();
    for case in cases {
        problems.extend(check_case(&apps, case, &mut timings).await);
    }
    timings.sort_by_key(|t| std::cmp::Reverse(t.0));
    (problems, timings)
}

#[actix_web::test]
async fn hostile_corpus() {
    let w = World::new();
    let all = corpus(&w);
    let cases: Vec<Case> = all
        .iter()
        .filter(|c| c.own_test.is_none())
        .cloned()
        .collect();
    let lax = cases.iter().filter(|c| c.lax).count();
    let (problems, timings) = run_cases(&w, &cases).await;
    eprintln!(
        "hostile corpus: {} cases ({} also through ClerkWithAuth), {} cases run by their own tests; slowest requests:",
        cases.len(),
        lax,
        all.len() - cases.len()
    );
    let mut groups: BTreeMap<&str, usize> = BTreeMap::new();
    for c in &all {
        *groups
            .entry(c.id.split('/').next().unwrap_or(""))
            .or_default() += 1;
    }
    eprintln!("  groups (own-test cases included): {groups:?}");
    for (d, id) in timings.iter().take(5) {
        eprintln!("  {d:?}  {id}");
    }
    assert!(cases.len() >= 150, "corpus has only {} cases", cases.len());
    assert_eq!(w.decoy.jwks_hits(), 0, "a jku/x5u/kid URL was fetched");
    assert!(
        problems.is_empty(),
        "{} problems:\n{}",
        problems.len(),
        problems.join("\n")
    );
}

/// The ids in the corpus are unique, and every `own_test` tag has a test below.
#[test]
fn corpus_ids_are_unique() {
    let w = World::new();
    let cases = corpus(&w);
    let mut seen = std::collections::HashSet::new();
    for c in &cases {
        assert!(seen.insert(c.id.clone()), "duplicate id {}", c.id);
        if let Some(tag) = c.own_test {
            assert!(OWN_TEST_TAGS.contains(&tag), "unknown tag {tag}");
        }
    }
}

/// Tags of the cases run by a test of their own instead of `hostile_corpus`.
const OWN_TEST_TAGS: &[&str] = &[
    "uat-parse-int",
    "query-decoding",
    "json-depth",
    "json-number-range",
    "json-lone-surrogate",
    "trim-whitespace",
    "browser-handshake",
    "refresh-cookie",
    "ambiguous-authorization",
];

/// A deliberate difference (README, "Deliberate differences"): the crate's own documented
/// outcome for the cases Clerk decides otherwise.
async fn run_deliberate(tag: &str, ours: &'static str) {
    run_deliberate_with(tag, ours, false).await;
}

async fn run_deliberate_with(tag: &str, ours: &'static str, api_only: bool) {
    let mut w = World::new();
    w.api_only = api_only;
    let cases: Vec<Case> = corpus(&w)
        .into_iter()
        .filter(|c| c.own_test == Some(tag))
        .map(|mut c| {
            c.expect = out(ours);
            c.perms = None;
            c
        })
        .collect();
    assert!(!cases.is_empty());
    let (problems, _) = run_cases(&w, &cases).await;
    assert!(
        problems.is_empty(),
        "deliberate difference {tag}: the crate no longer answers {ours} on {} check(s):\n{}",
        problems.len(),
        problems.join("\n")
    );
}

/// Runs the cases of a tag with Clerk's outcome as the expectation.
async fn run_agreeing(tag: &str) {
    run_agreeing_with(tag, false).await;
}

async fn run_agreeing_with(tag: &str, api_only: bool) {
    let mut w = World::new();
    w.api_only = api_only;
    let cases: Vec<Case> = corpus(&w)
        .into_iter()
        .filter(|c| c.own_test == Some(tag))
        .collect();
    assert!(!cases.is_empty());
    let (problems, _) = run_cases(&w, &cases).await;
    assert!(
        problems.is_empty(),
        "{tag}: the crate disagrees with @clerk/backend on {} check(s):\n{}",
        problems.len(),
        problems.join("\n")
    );
}

// Clerk reads `__client_uat` with `Number.parseInt(value)` without a radix, so a `0x` prefix is
// hexadecimal: `0x10` is 16 (a valid session with it is signed in), `-0x10` is -16, and
// `0x7fffffffff` is a uat newer than the token (session-token-iat-before-client-uat). A
// radix-10 parse would read all three as "no uat" (session-token-but-no-client-uat).
#[actix_web::test]
async fn client_uat_is_read_with_parse_int() {
    run_agreeing("uat-parse-int").await;
}

// On a development instance Clerk reads `__clerk_db_jwt` and `__clerk_redirect_url` from the
// query with URLSearchParams, which percent-decodes parameter names too: with a valid dev
// session, `?%5F%5Fclerk_db_jwt=x` is dev-browser-sync and an encoded `__clerk_redirect_url`
// name is primary-responds-to-syncing, not signed in.
#[actix_web::test]
async fn query_parameter_names_are_percent_decoded() {
    run_agreeing("query-decoding").await;
}

// DELIBERATE DIFFERENCE (json-depth; README "Deliberate differences"). Ours: serde_json's
// recursion limit (128) makes any token whose header or payload nests more than 128 levels
// undecodable (`token-invalid`). Clerk's JSON.parse has no such limit: a forged token is
// `token-invalid-signature`, a validly signed one is signed in.
#[actix_web::test]
async fn deliberate_json_depth() {
    run_deliberate("json-depth", "token-invalid").await;
}

// DELIBERATE DIFFERENCE (json-number-range; README "Deliberate differences"). Ours: numbers
// beyond f64 (1e400, a 5000-digit integer) make serde_json fail ("number out of range") so the
// token is `token-invalid`; JSON.parse reads them as Infinity (a forged token is
// `token-invalid-signature`; `exp: 1e400` is an invalid date, so not expired).
#[actix_web::test]
async fn deliberate_json_number_range() {
    run_deliberate("json-number-range", "token-invalid").await;
}

// DELIBERATE DIFFERENCE (json-lone-surrogate; README "Deliberate differences"). Ours: `"\ud800"`
// in any JSON string is an error for serde_json (`token-invalid`) but a valid one-unit string
// for JSON.parse.
#[actix_web::test]
async fn deliberate_json_lone_surrogate() {
    run_deliberate("json-lone-surrogate", "token-invalid").await;
}

// White space is trimmed the JavaScript way: `String#trim` and `parseInt` keep U+0085 (NEL) and
// strip U+FEFF, where Rust's `str::trim`/`char::is_whitespace` do the opposite. This decides the
// elements of the v2 organisation claims (`per`, `fea`, `fpm`, hence orgPermissions) and the
// `__client_uat` led by a raw 0x85 byte in the Cookie header (NaN for parseInt: no uat).
#[actix_web::test]
async fn white_space_is_trimmed_the_javascript_way() {
    run_agreeing("trim-whitespace").await;
}

// A GET with `sec-fetch-dest: document`, a valid session cookie and a cross-origin Referer makes
// Clerk answer `handshake` (primary-domain-cross-origin-sync). With the browser flow on, the
// middleware answers that 307 itself (tests/browser_sessions.rs, tests/conformance.rs); an
// API-only service (`browser_sessions(false)`) answers signed out with that reason, never
// signed in.
#[actix_web::test]
async fn cross_origin_navigation_is_signed_out_with_the_handshake_reason_when_api_only() {
    run_agreeing_with("browser-handshake", true).await;
}

// With a `__refresh_<suffix>` cookie, an expired GET request makes Clerk attempt a refresh through
// its Backend API; when that fails (this configuration has no secret key; Clerk's API URL is
// unreachable) the reason is `session-token-expired-refresh-fetch-error`, the crate's too.
#[actix_web::test]
async fn refresh_cookie_on_an_expired_get_attempts_a_refresh() {
    run_agreeing("refresh-cookie").await;
}

// An API-only service never refreshes: the refresh cookie is not read.
#[actix_web::test]
async fn api_only_service_does_not_refresh() {
    run_deliberate_with(
        "refresh-cookie",
        "session-token-expired-refresh-non-eligible-no-refresh-cookie",
        true,
    )
    .await;
}

// DELIBERATE DIFFERENCE (ambiguous-authorization; clerk-behaviour.md §12). A request with several
// Authorization lines is token-invalid for the crate, whatever the lines and the cookies say.
// Clerk on a Fetch runtime reads the lines joined with ", ": for these cases its parse of that
// value gives no token (the scheme is not `Bearer`: first line `Basic`, `bearer`, empty, bare)
// and it goes on to the cookies (signed in with a valid session cookie), or the first line is
// `Bearer <token> <more>` and it verifies <token>. `several_authorization_lines_*` checks the
// message and the response of these and of the cases where Clerk agrees.
#[actix_web::test]
async fn deliberate_ambiguous_authorization() {
    run_deliberate("ambiguous-authorization", R_INVALID).await;
}

/// Several Authorization lines (clerk-behaviour.md §12) through both middlewares, including the
/// cases where Clerk would read the cookies or verify the first line's token: always
/// token-invalid, with Clerk's decoding message for the Fetch-joined value and carrier `header`,
/// and never signed in by the valid session cookie some of them carry (cookies are not read).
/// The strict middleware answers 401 with `WWW-Authenticate: Bearer error="invalid_token"` and
/// never runs the handler; the lax one runs it, signed out.
#[actix_web::test]
async fn several_authorization_lines_are_token_invalid_in_both_middlewares() {
    let w = World::new();
    let cases = ambiguous_cases(&w);
    let calls = Arc::new(AtomicUsize::new(0));
    let prod = build_app(w.config(Cfg::Prod), calls.clone()).await;
    let dev = build_app(w.config(Cfg::Dev), calls.clone()).await;
    let mut problems = Vec::new();
    for (case, text) in &cases {
        let app = if case.cfg == Cfg::Prod { &prod } else { &dev };
        let message = format!("{text} (reason=token-invalid, token-carrier=header)");
        for strict in [true, false] {
            let o = observe(app, &calls, case, strict).await;
            let (name, status) = if strict {
                ("strict", 401)
            } else {
                ("lax", 200)
            };
            if o.status != status || o.handler_ran == strict {
                problems.push(format!(
                    "{} ({name}): status {} handler_ran {}",
                    case.id, o.status, o.handler_ran
                ));
            }
            if o.reason.as_deref() != Some(R_INVALID) || o.message.as_deref() != Some(&message) {
                problems.push(format!(
                    "{} ({name}): reason {:?} message {:?} (want {R_INVALID}, {message:?})",
                    case.id, o.reason, o.message
                ));
            }
            if strict {
                if o.www_authenticate.as_deref() != Some("Bearer error=\"invalid_token\"") {
                    problems.push(format!(
                        "{} (strict): WWW-Authenticate {:?}",
                        case.id, o.www_authenticate
                    ));
                }
            } else if o.body["reason"] != json!(R_INVALID)
                || o.body["message"] != json!(message)
                || o.body["auth"]["isAuthenticated"] != json!(false)
                || !o.body["auth"]["userId"].is_null()
            {
                problems.push(format!("{} (lax): the handler saw {}", case.id, o.body));
            }
        }
    }
    let deliberate = cases.iter().filter(|(c, _)| c.own_test.is_some()).count();
    eprintln!(
        "several Authorization lines: {} cases ({deliberate} where Clerk reads past them), both middlewares",
        cases.len()
    );
    assert!(cases.len() >= 40 && deliberate >= 10);
    assert!(
        problems.is_empty(),
        "{} problems:\n{}",
        problems.len(),
        problems.join("\n")
    );
}

// ---------------------------------------------------------------------------------------------
// The expectations against @clerk/backend itself
// ---------------------------------------------------------------------------------------------

fn latin1(bytes: &[u8]) -> String {
    bytes.iter().map(|&b| char::from(b)).collect()
}

/// Replaces the `Current date: …` part, which depends on when the message was made.
fn normalise_message(m: &str) -> String {
    let mut out = String::new();
    let mut rest = m;
    while let Some(i) = rest.find("Current date: ") {
        out.push_str(&rest[..i + "Current date: ".len()]);
        rest = &rest[i + "Current date: ".len()..];
        let end = rest.find(" GMT").map_or(rest.len(), |e| e + 4);
        out.push_str("<now>");
        rest = &rest[end..];
    }
    out.push_str(rest);
    out
}

#[actix_web::test]
async fn corpus_expectations_agree_with_clerk() {
    let dir = support::clerk_backend_dir();
    let w = World::new();
    let cases: Vec<Case> = corpus(&w).into_iter().filter(|c| c.oracle).collect();
    let input = json!({
        "configs": w.oracle_configs(),
        "cases": cases.iter().map(|c| json!({
            "id": c.id,
            "config": c.cfg.name(),
            "method": c.method.as_str(),
            "url": if c.query.is_empty() {
                "http://localhost:3000/api/me".to_owned()
            } else {
                format!("http://localhost:3000/api/me?{}", c.query)
            },
            "headers": c.headers.iter().map(|(k, v)| json!([k, latin1(v)])).collect::<Vec<_>>(),
        })).collect::<Vec<_>>(),
    });
    let mut child = Command::new("node")
        .arg(dir.join("hostile-oracle.mjs"))
        .env("CLERK_TELEMETRY_DISABLED", "1")
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("node must be installed");
    let text = input.to_string();
    let mut stdin = child.stdin.take().expect("stdin");
    let writer = std::thread::spawn(move || stdin.write_all(text.as_bytes()));
    let out = child.wait_with_output().expect("oracle output");
    writer.join().expect("writer").expect("write");
    assert!(
        out.status.success(),
        "oracle failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let clerk: BTreeMap<String, Value> = serde_json::from_slice(&out.stdout).expect("oracle JSON");

    // The crate's own answers, through the lax middleware (message header included).
    let calls = Arc::new(AtomicUsize::new(0));
    let prod = build_app(w.config(Cfg::Prod), calls.clone()).await;
    let dev = build_app(w.config(Cfg::Dev), calls.clone()).await;

    let mut wrong_expectation = Vec::new();
    let mut crate_differs = Vec::new();
    for c in &cases {
        let r = &clerk[&c.id];
        if let Some(e) = r.get("error") {
            wrong_expectation.push(format!("{}: Clerk could not decide: {e}", c.id));
            continue;
        }
        let clerk_expect = match r["status"].as_str() {
            Some("signed-in") if r["isAuthenticated"] == json!(true) => {
                Expect::In(r["userId"].as_str().unwrap_or_default().to_owned())
            }
            _ => Expect::Out(
                // leak a &'static str for comparison convenience (test only)
                Box::leak(
                    r["reason"]
                        .as_str()
                        .unwrap_or("?")
                        .to_owned()
                        .into_boxed_str(),
                ),
            ),
        };
        if clerk_expect != c.expect {
            wrong_expectation.push(format!(
                "{}: corpus says {:?}, Clerk says {:?} (status {}, message {})",
                c.id, c.expect, clerk_expect, r["status"], r["message"]
            ));
        }
        if let (Some(perms), Some(theirs)) = (&c.perms, r.get("orgPermissions")) {
            if json!(perms) != *theirs {
                wrong_expectation.push(format!("{}: corpus perms {perms:?}, Clerk {theirs}", c.id));
            }
        }
        if c.own_test.is_some() {
            continue;
        }
        let app = if c.cfg == Cfg::Prod { &prod } else { &dev };
        let o = observe(app, &calls, c, false).await;
        if let Expect::Out(_) = clerk_expect {
            let theirs = normalise_message(r["message"].as_str().unwrap_or(""));
            let ours = normalise_message(o.message.as_deref().unwrap_or(""));
            if theirs != ours
                && !(o.message.is_none() && theirs.chars().any(|ch| u32::from(ch) > 0xff))
            {
                crate_differs.push(format!(
                    "{}: message\n    ours   {ours:?}\n    Clerk  {theirs:?}",
                    c.id
                ));
            }
        }
    }
    eprintln!(
        "checked {} corpus cases against @clerk/backend",
        cases.len()
    );
    assert!(
        wrong_expectation.is_empty() && crate_differs.is_empty(),
        "corpus expectations that differ from Clerk:\n{}\n\ncrate messages that differ from Clerk:\n{}",
        wrong_expectation.join("\n"),
        crate_differs.join("\n")
    );
}

// ---------------------------------------------------------------------------------------------
// Remote keys (JWKS): hostile kids against a local JWKS server
// ---------------------------------------------------------------------------------------------

#[actix_web::test]
async fn hostile_kids_against_a_jwks_instance() {
    let key = TestKey::generate("ins_remote");
    let server = TestBackendApi::start_with(JwksMode::Keys(vec![key.jwk()]));
    let config = ClerkConfig::builder()
        .secret_key("sk_test_hostile")
        .api_url(server.url())
        .publishable_key(pk("live", PROD_FAPI))
        .build()
        .expect("config");
    let calls = Arc::new(AtomicUsize::new(0));
    let app = build_app(config, calls.clone()).await;
    let claims = json!({"sub": "user_r", "exp": now_secs() + 600, "iat": now_secs() - 5});
    let kids: Vec<(&str, Value)> = vec![
        ("path", json!("../../v1/jwks")),
        ("url", json!("https://evil.example.net/jwks")),
        ("10kb", json!("k".repeat(10 * 1024))),
        ("non-ascii", json!("ключ☃")),
        ("crlf", json!("ins\r\nSet-Cookie: injected=1")),
        ("latin1", json!("ins_é")),
        ("null", Value::Null),
        ("number", json!(1)),
    ];
    let mut slowest = Duration::ZERO;
    for (name, kid) in &kids {
        let mut header = json!({"alg": "RS256", "typ": "JWT"});
        header["kid"] = kid.clone();
        let token = key.sign(&header, &claims);
        for strict in [true, false] {
            let case = Case::new(*name, bearer(&token), out("jwk-kid-mismatch"));
            let o = observe(&app, &calls, &case, strict).await;
            slowest = slowest.max(o.elapsed);
            assert!(
                o.elapsed < Duration::from_secs(1),
                "{name}: {:?}",
                o.elapsed
            );
            assert_eq!(o.reason.as_deref(), Some("jwk-kid-mismatch"), "{name}");
            assert_eq!(o.status, if strict { 401 } else { 200 }, "{name}");
            assert_eq!(o.handler_ran, !strict, "{name}");
            if let Some(m) = &o.message {
                assert!(!m.contains('\r') && !m.contains('\n'), "{name}: {m:?}");
            }
        }
    }
    // The valid kid still works and the store fetched at most twice (first load + one refetch
    // for the first unknown kid; later unknown kids are inside the cooldown).
    let token = key.session_token("user_r").sign();
    let case = Case::new("valid", bearer(&token), signed_in("user_r"));
    let o = observe(&app, &calls, &case, true).await;
    assert_eq!(o.status, 200);
    assert!(
        server.jwks_hits() <= 2,
        "JWKS fetched {} times",
        server.jwks_hits()
    );
    eprintln!(
        "remote kids: slowest {slowest:?}, JWKS hits {}",
        server.jwks_hits()
    );
}

// ---------------------------------------------------------------------------------------------
// A real server on 127.0.0.1: bytes a HeaderValue cannot hold, and oversized heads
// ---------------------------------------------------------------------------------------------

#[test]
fn control_bytes_cannot_be_header_values() {
    for b in (0u8..0x20).filter(|b| *b != b'\t').chain([0x7f]) {
        assert!(
            HeaderValue::from_bytes(&[b'a', b, b'b']).is_err(),
            "byte {b:#x}"
        );
    }
}

fn raw_exchange(port: u16, request: &[u8]) -> (Option<u16>, String) {
    let mut s = std::net::TcpStream::connect(("127.0.0.1", port)).expect("connect");
    s.set_read_timeout(Some(Duration::from_secs(5)))
        .expect("timeout");
    // The server may close early on an oversized head: ignore write errors.
    let _ = s.write_all(request);
    let mut buf = Vec::new();
    let _ = s.read_to_end(&mut buf);
    let text = String::from_utf8_lossy(&buf).into_owned();
    let status = text
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .filter(|_| text.starts_with("HTTP/1."));
    (status, text)
}

#[test]
fn real_server_refuses_control_bytes_and_never_runs_the_handler() {
    let w = World::new();
    let config = w.config(Cfg::Prod);
    let calls = Arc::new(AtomicUsize::new(0));
    let (tx, rx) = std::sync::mpsc::channel();
    let c2 = calls.clone();
    std::thread::spawn(move || {
        let sys = actix_web::rt::System::new();
        sys.block_on(async move {
            let server = actix_web::HttpServer::new(move || {
                App::new().app_data(web::Data::new(c2.clone())).service(
                    web::scope("/api")
                        .wrap(ClerkRequireAuth::new(config.clone()))
                        .route("/me", web::route().to(handler)),
                )
            })
            .workers(1)
            .disable_signals()
            .bind(("127.0.0.1", 0))
            .expect("bind");
            tx.send(server.addrs()[0].port()).expect("port");
            server.run().await.expect("run");
        });
    });
    let port = rx.recv_timeout(Duration::from_secs(10)).expect("server");
    let good = w.good();
    let mut requests: Vec<(String, Vec<u8>)> = Vec::new();
    for b in [0u8, 1, 0x0b, 0x0c, 0x1b, 0x7f] {
        requests.push((
            format!("authorization-byte-{b:#04x}"),
            [
                b"GET /api/me HTTP/1.1\r\nHost: x\r\nConnection: close\r\nAuthorization: Bearer a"
                    .as_slice(),
                &[b],
                b"b\r\n\r\n",
            ]
            .concat(),
        ));
        requests.push((
            format!("cookie-byte-{b:#04x}"),
            [
                b"GET /api/me HTTP/1.1\r\nHost: x\r\nConnection: close\r\nCookie: __session=a"
                    .as_slice(),
                &[b],
                b"; __client_uat=1\r\n\r\n".as_slice(),
            ]
            .concat(),
        ));
    }
    requests.push((
        "bare-cr-in-authorization".into(),
        format!("GET /api/me HTTP/1.1\r\nHost: x\r\nConnection: close\r\nAuthorization: Bearer {good}\rX: y\r\n\r\n").into_bytes(),
    ));
    requests.push((
        "obs-fold-authorization".into(),
        format!("GET /api/me HTTP/1.1\r\nHost: x\r\nConnection: close\r\nAuthorization: Bearer\r\n {good}\r\n\r\n").into_bytes(),
    ));
    requests.push((
        "head-of-200kb".into(),
        format!("GET /api/me HTTP/1.1\r\nHost: x\r\nConnection: close\r\nAuthorization: Bearer {}\r\n\r\n", "A".repeat(200 * 1024)).into_bytes(),
    ));
    requests.push((
        "100-cookie-headers".into(),
        format!(
            "GET /api/me HTTP/1.1\r\nHost: x\r\nConnection: close\r\n{}\r\n",
            "Cookie: a=b\r\n".repeat(100)
        )
        .into_bytes(),
    ));
    requests.push((
        "latin1-bytes-in-authorization".into(),
        [b"GET /api/me HTTP/1.1\r\nHost: x\r\nConnection: close\r\nAuthorization: Bearer \xff\xfe.\x85.\xa0\r\n\r\n".as_slice()].concat(),
    ));
    let mut report = Vec::new();
    for (name, req) in &requests {
        let started = Instant::now();
        let (status, text) = raw_exchange(port, req);
        let elapsed = started.elapsed();
        report.push(format!("{name}: {status:?} in {elapsed:?}"));
        assert!(elapsed < Duration::from_secs(1), "{name} took {elapsed:?}");
        if let Some(s) = status {
            assert!(s < 500, "{name}: {s}\n{text}");
            assert!(s == 400 || s == 401 || s == 431, "{name}: {s}\n{text}");
        }
    }
    // and a valid request on the same server still works
    let (status, _) = raw_exchange(
        port,
        format!("GET /api/me HTTP/1.1\r\nHost: x\r\nConnection: close\r\nAuthorization: Bearer {good}\r\n\r\n").as_bytes(),
    );
    assert_eq!(status, Some(200));
    assert_eq!(
        calls.load(Ordering::SeqCst),
        1,
        "only the valid request may reach the handler"
    );
    eprintln!("real server:\n  {}", report.join("\n  "));
}

// ---------------------------------------------------------------------------------------------
// Cost of a hostile cookie: the unverified `iss` of a plain __session cookie
// ---------------------------------------------------------------------------------------------

// Choosing between the plain and the suffixed cookie pair strips `http://`/`https://` from the
// UNVERIFIED `iss` of a plain `__session` cookie (clerk-behaviour.md §3 rule 2). Anyone can send
// such a cookie (no valid token needed; a publishable key must be configured), so the stripping
// must be linear, as Clerk's `iss.replace(/https?:\/\//gi, '')` is: an iss of 13 500 `http://`
// in a ~128 KB request head (actix's limit) is decided well within a second, not in seconds of
// CPU as a loop that rescans (or lowercases) the rest of the string per match would take.
#[actix_web::test]
async fn unverified_iss_with_many_schemes_is_decided_in_linear_time() {
    let w = World::new();
    let calls = Arc::new(AtomicUsize::new(0));
    let app = build_app(w.config(Cfg::Prod), calls.clone()).await;
    // ~95 KB of `http://` once decoded: fits in a 128 KB request head.
    let iss = "http://".repeat(13_500);
    let t = w.forged(json!({ "iss": iss }), json!({}));
    let case = Case::new(
        "cookie/iss-many-schemes",
        cookie(format!("__session={t}; __client_uat=1")),
        out(R_MISSING),
    );
    let o = observe(&app, &calls, &case, true).await;
    eprintln!(
        "iss with 13 500 x http:// ({} bytes of cookie): {:?}",
        t.len(),
        o.elapsed
    );
    assert_eq!(o.reason.as_deref(), Some(R_MISSING));
    assert!(
        o.elapsed < Duration::from_secs(1),
        "an iss of many schemes took {:?}: is the scheme stripping still linear?",
        o.elapsed
    );
}
