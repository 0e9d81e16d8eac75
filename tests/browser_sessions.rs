//! Browser sessions (clerk-behaviour.md §13), differentially: page navigations and the API
//! requests around them, decided by this crate's middleware and by Clerk's SDK
//! (`@clerk/backend`'s `authenticateRequest`, `tests/conformance/browser-oracle.mjs`).
//!
//! Two instances of the testing kit (production and development), each with its Backend API
//! stand-in (`TestBackendApi`: JWKS, handshake payloads, session refresh), which the crate
//! (`api_url`) and Clerk (`apiUrl`) both call. The cases are generated here, so that the kit
//! mints their tokens and registers their nonces and refresh tokens on the stand-in; the
//! stand-in memoises refresh answers, so that Clerk and the crate see the same refreshed
//! token. Configurations: production and development, with the instance's PEM key or the
//! stand-in's JWKS, authorized parties, satellites (production by domain or proxy URL,
//! development with a sign-in URL; auto sync on and off), and proxy URLs (absolute and
//! relative).
//!
//! Compared per case: the HTTP answer (`307` when Clerk's request state has a `Location`, as
//! Clerk's Express middleware answers it itself; otherwise the handler runs and answers `200`),
//! `Location`, every `Set-Cookie` line in order, `Cache-Control`,
//! `Access-Control-Allow-Origin`/`-Credentials`, the `x-clerk-auth-status/reason/message`
//! headers (the `Current date` of a message compared with each side's own clock), and, when
//! the handler runs, the auth object (`JSON.stringify(toAuth())` against the crate's `Auth`
//! as the handler serialises it, field order included). `ALLOWED_DIFFERENCES` is the only
//! allow-list.
//!
//! Node and npm are required (`npm ci` in tests/conformance on first use); the test fails,
//! never skips, without them.

mod support;

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use actix_clerk::testing::{TestBackendApi, TestInstance, TestKey, VerifyAnswer, TEST_SECRET_KEY};
use actix_clerk::{Auth, ClerkConfig, ClerkWithAuth};
use actix_web::http::header::{self, HeaderMap};
use actix_web::{test, web, App, HttpResponse};
use serde_json::{json, Value};
use support::now_secs;

// ---------------------------------------------------------------------------------------------
// Deliberate differences
// ---------------------------------------------------------------------------------------------

/// Deliberate differences: (case-id pattern, `*` matching any text; the reason we answer,
/// `None` when the request simply continues on its own cookies; why). A covered case must be
/// one where Clerk's `authenticateRequest` throws (its Express middleware then answers `500`),
/// and ours must not fail: `None`, the request is decided as if the part Clerk throws on were
/// not there (the handler runs, or a `307` to the handshake); a reason, we answer signed out
/// with it (the handler runs, or a page navigation is redirected to the handshake with it). An entry Clerk has come to
/// decide otherwise fails as stale. Every other case must match Clerk exactly.
const ALLOWED_DIFFERENCES: &[(&str, Option<&str>, &str)] = &[
    (
        "*dev*/hs/jwt-*-wrong-key*",
        None,
        "A handshake JWT that fails verification on a development instance: Clerk rethrows the \
         TokenVerificationError (handleTokenVerificationErrorInDevelopment: a 500 in Express); \
         we log it and go on with the request's own cookies, as Clerk does in production.",
    ),
    (
        "*dev*/hs/jwt-*-m2m-cat*",
        None,
        "A handshake JWT with a non-session `cat` on a development instance: Clerk throws \
         (\"Invalid handshake token category.\", a 500); we refuse the token and go on with the \
         request's own cookies, as Clerk does in production.",
    ),
    (
        "*dev*/hs/jwt-*-malformed*",
        None,
        "A handshake JWT that does not decode on a development instance: Clerk rethrows the \
         decoding error (a 500); we go on with the request's own cookies, as Clerk does in \
         production.",
    ),
    (
        "*/r/ok-newline-cookie-*",
        Some("session-token-expired-refresh-unexpected-sdk-error"),
        "A refresh answer whose cookie is not a valid header value: Clerk's `Headers#append` \
         throws outside any try (a 500); we refuse the answer as an SDK error (then the \
         handshake for a page navigation, signed out otherwise).",
    ),
    (
        "*/r/ok-cookies-string-*",
        Some("session-token-expired-refresh-unexpected-sdk-error"),
        "A refresh answer whose `cookies` is a string: Clerk calls `cookiesToSet.forEach` on it \
         and throws (a 500); we find no cookies: an SDK error (then the handshake for a page \
         navigation, signed out otherwise).",
    ),
    (
        "sat-*/sat/origin-sign-in-*",
        None,
        "A satellite request whose `Origin` header is the sign-in URL's origin: Clerk's \
         assertSignInUrlFormatAndOrigin (a configuration check run on every request) throws \
         \"The signInUrl needs to be on a different origin than your satellite application.\" \
         (a 500); we check the configuration when it is built and decide the request as any \
         other (the handler runs, or the satellite's handshake redirect).",
    ),
    (
        "*/dev/redirect-url-invalid*",
        Some("primary-responds-to-syncing"),
        "A development primary receiving a `__clerk_redirect_url` that is not an absolute URL: \
         Clerk's `new URL()` throws (a 500); we answer signed out with the reason, no redirect.",
    ),
];

/// `*` matches any text (possibly empty); everything else literally.
fn glob(pattern: &str, text: &str) -> bool {
    let parts: Vec<&str> = pattern.split('*').collect();
    let (first, rest) = parts.split_first().expect("a pattern");
    let Some(mut text) = text.strip_prefix(first) else {
        return false;
    };
    let Some((last, middle)) = rest.split_last() else {
        return text.is_empty();
    };
    for p in middle {
        match text.find(p) {
            Some(i) => text = &text[i + p.len()..],
            None => return false,
        }
    }
    text.len() >= last.len() && text.ends_with(last)
}

fn allowed_difference(id: &str) -> Option<(&'static str, Option<&'static str>)> {
    ALLOWED_DIFFERENCES
        .iter()
        .find(|(p, _, _)| glob(p, id))
        .map(|&(p, r, _)| (p, r))
}

// ---------------------------------------------------------------------------------------------
// Configurations
// ---------------------------------------------------------------------------------------------

const USER: &str = "user_2browser";
/// The `Host` of most cases (the URL is `http://<host><path>`, as Express builds it).
const HOST: &str = "localhost:3000";
const APP_ORIGIN: &str = "https://app.example.com";
const SAT_DOMAIN: &str = "satellite.example.org";
const SIGN_IN: &str = "https://primary.example.com/sign-in";
const DB_JWT: &str = "dvb_2browserdevbrowser";
/// Clerk's M2M JWT category: not a session, refused in a handshake JWT.
const CAT_M2M: &str = "cl_B7d4PD333AAA";

#[derive(Clone, Debug, Default)]
struct Cfg {
    name: &'static str,
    dev: bool,
    /// Keys from the stand-in's JWKS (no `jwtKey`).
    jwks: bool,
    domain: Option<&'static str>,
    proxy_url: Option<&'static str>,
    satellite: bool,
    sign_in_url: Option<&'static str>,
    auto_sync: bool,
    parties: &'static [&'static str],
}

fn configs() -> Vec<Cfg> {
    let base = |name| Cfg {
        name,
        ..Cfg::default()
    };
    vec![
        base("prod-pem"),
        Cfg {
            jwks: true,
            ..base("prod-jwks")
        },
        Cfg {
            parties: &[APP_ORIGIN],
            ..base("prod-azp")
        },
        Cfg {
            dev: true,
            ..base("dev-pem")
        },
        Cfg {
            dev: true,
            jwks: true,
            ..base("dev-jwks")
        },
        Cfg {
            satellite: true,
            domain: Some(SAT_DOMAIN),
            sign_in_url: Some(SIGN_IN),
            ..base("sat-prod")
        },
        Cfg {
            satellite: true,
            domain: Some(SAT_DOMAIN),
            sign_in_url: Some(SIGN_IN),
            auto_sync: true,
            jwks: true,
            ..base("sat-prod-auto")
        },
        Cfg {
            satellite: true,
            proxy_url: Some("https://satellite.example.org/__clerk"),
            sign_in_url: Some(SIGN_IN),
            ..base("sat-prod-proxy")
        },
        Cfg {
            satellite: true,
            proxy_url: Some("/__clerk"),
            sign_in_url: Some(SIGN_IN),
            jwks: true,
            ..base("sat-prod-proxy-rel")
        },
        Cfg {
            dev: true,
            satellite: true,
            domain: Some(SAT_DOMAIN),
            sign_in_url: Some(SIGN_IN),
            ..base("sat-dev")
        },
        Cfg {
            dev: true,
            satellite: true,
            domain: Some(SAT_DOMAIN),
            sign_in_url: Some(SIGN_IN),
            auto_sync: true,
            ..base("sat-dev-auto")
        },
        Cfg {
            proxy_url: Some("https://app.example.com/__clerk"),
            ..base("proxy-abs")
        },
        Cfg {
            proxy_url: Some("/__clerk"),
            jwks: true,
            ..base("proxy-rel")
        },
        Cfg {
            dev: true,
            proxy_url: Some("/__clerk"),
            ..base("dev-proxy-rel")
        },
    ]
}

/// The two instances and their stand-ins.
struct World {
    prod: TestInstance,
    dev: TestInstance,
    prod_api: TestBackendApi,
    dev_api: TestBackendApi,
}

impl World {
    fn instance(&self, cfg: &Cfg) -> &TestInstance {
        if cfg.dev {
            &self.dev
        } else {
            &self.prod
        }
    }

    fn api(&self, cfg: &Cfg) -> &TestBackendApi {
        if cfg.dev {
            &self.dev_api
        } else {
            &self.prod_api
        }
    }

    /// The configuration as the oracle gives it to `createClerkClient` and
    /// `authenticateRequest`.
    fn oracle_config(&self, cfg: &Cfg) -> Value {
        let inst = self.instance(cfg);
        let mut o = json!({
            "publishableKey": inst.publishable_key(),
            "secretKey": TEST_SECRET_KEY,
            "apiUrl": self.api(cfg).url(),
            "authorizedParties": cfg.parties,
        });
        if !cfg.jwks {
            o["jwtKey"] = json!(inst.public_pem());
        }
        if let Some(d) = cfg.domain {
            o["domain"] = json!(d);
        }
        if let Some(p) = cfg.proxy_url {
            o["proxyUrl"] = json!(p);
        }
        if cfg.satellite {
            o["isSatellite"] = json!(true);
        }
        if let Some(s) = cfg.sign_in_url {
            o["signInUrl"] = json!(s);
        }
        if cfg.auto_sync {
            o["satelliteAutoSync"] = json!(true);
        }
        o
    }

    /// The same configuration for the crate.
    fn crate_config(&self, cfg: &Cfg) -> ClerkConfig {
        let inst = self.instance(cfg);
        let mut b = ClerkConfig::builder()
            .publishable_key(inst.publishable_key())
            .secret_key(TEST_SECRET_KEY)
            .api_url(self.api(cfg).url())
            .authorized_parties(cfg.parties.iter().copied())
            // Hundreds of Backend API calls in a few seconds: no pacing differences.
            .browser_call_limits(64, 100_000);
        if !cfg.jwks {
            b = b.jwt_key(inst.public_pem());
        }
        if let Some(d) = cfg.domain {
            b = b.domain(d);
        }
        if let Some(p) = cfg.proxy_url {
            b = b.proxy_url(p);
        }
        if cfg.satellite {
            b = b.is_satellite(true);
        }
        if let Some(s) = cfg.sign_in_url {
            b = b.sign_in_url(s);
        }
        if cfg.auto_sync {
            b = b.satellite_auto_sync(true);
        }
        b.build()
            .unwrap_or_else(|e| panic!("{}: configuration: {e}", cfg.name))
    }
}

// ---------------------------------------------------------------------------------------------
// Cases
// ---------------------------------------------------------------------------------------------

#[derive(Clone, Debug)]
struct Case {
    id: String,
    config: &'static str,
    method: &'static str,
    /// Path and query, as received.
    path: String,
    /// Raw header lines, in order (`host` first).
    headers: Vec<(String, String)>,
}

impl Case {
    fn url(&self) -> String {
        let host = self
            .headers
            .iter()
            .find(|(k, _)| k == "host")
            .map_or(HOST, |(_, v)| v.as_str());
        format!("http://{host}{}", self.path)
    }
}

/// Header lines given as static text.
type Lines = &'static [(&'static str, &'static str)];

/// Request kinds: (name, method, headers).
const KINDS: &[(&str, &str, Lines)] = &[
    (
        "doc",
        "GET",
        &[
            ("sec-fetch-dest", "document"),
            ("accept", "text/html,application/xhtml+xml,*/*;q=0.8"),
        ],
    ),
    (
        "iframe",
        "GET",
        &[("sec-fetch-dest", "iframe"), ("accept", "text/html")],
    ),
    (
        "html",
        "GET",
        &[("accept", "text/html,application/xhtml+xml,*/*;q=0.8")],
    ),
    (
        "fetch",
        "GET",
        &[("sec-fetch-dest", "empty"), ("accept", "*/*")],
    ),
    (
        "post-doc",
        "POST",
        &[("sec-fetch-dest", "document"), ("accept", "text/html")],
    ),
    ("api", "GET", &[]),
    (
        "head-doc",
        "HEAD",
        &[("sec-fetch-dest", "document"), ("accept", "text/html")],
    ),
    (
        "put-doc",
        "PUT",
        &[("sec-fetch-dest", "document"), ("accept", "text/html")],
    ),
    ("options", "OPTIONS", &[("accept", "text/html")]),
];

fn kind(name: &str) -> (&'static str, Lines) {
    KINDS
        .iter()
        .find(|(n, _, _)| *n == name)
        .map(|&(_, m, h)| (m, h))
        .unwrap_or_else(|| panic!("kind {name}"))
}

static SEQ: AtomicU64 = AtomicU64::new(1);

/// A session id of its own for each token (refresh answers are memoised per session).
fn fresh_sid() -> String {
    format!("sess_2b{:06}", SEQ.fetch_add(1, Ordering::Relaxed))
}

fn at(secs: i64) -> SystemTime {
    UNIX_EPOCH + Duration::from_secs(secs.max(0) as u64)
}

/// A session token's state.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Tok {
    Valid,
    /// Expired two hours ago.
    Expired,
    /// Expired two days ago (beyond a development instance's one-day retry).
    ExpiredLong,
    /// `nbf` two minutes ahead.
    Nbf,
    /// `iat` two minutes ahead.
    IatFuture,
    /// Expired, and without `sid`.
    ExpiredNoSid,
    /// Valid claims, signed by a key nobody publishes.
    Forged,
}

/// A minted token: its text, `iat`, `sid`.
#[derive(Clone, Debug)]
struct Minted {
    token: String,
    iat: i64,
    sid: String,
}

/// Cookies, in order.
#[derive(Clone, Debug, Default)]
struct Jar(Vec<(String, String)>);

impl Jar {
    fn add(&mut self, name: impl Into<String>, value: impl Into<String>) -> &mut Self {
        self.0.push((name.into(), value.into()));
        self
    }

    fn text(&self) -> String {
        self.0
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect::<Vec<_>>()
            .join("; ")
    }
}

/// A request under construction.
#[derive(Clone, Debug)]
struct Req {
    kind: &'static str,
    host: String,
    path: String,
    jar: Jar,
    /// Headers after the kind's (before `cookie`).
    extra: Vec<(String, String)>,
}

impl Req {
    fn new(kind: &'static str) -> Req {
        Req {
            kind,
            host: HOST.to_owned(),
            path: "/dashboard".to_owned(),
            jar: Jar::default(),
            extra: Vec::new(),
        }
    }

    fn path(mut self, p: &str) -> Req {
        self.path = p.to_owned();
        self
    }

    fn host(mut self, h: &str) -> Req {
        self.host = h.to_owned();
        self
    }

    fn header(mut self, k: &str, v: &str) -> Req {
        self.extra.push((k.to_owned(), v.to_owned()));
        self
    }

    fn cookie(mut self, k: &str, v: &str) -> Req {
        self.jar.add(k, v);
        self
    }
}

/// The session states of the matrix.
const STATES: &[&str] = &[
    "valid",
    "expired",
    "nbf",
    "iat-future",
    "iat-before-uat",
    "no-uat",
    "uat-only",
    "nothing",
    "header-expired",
];

/// Builds the cases of one configuration.
struct Gen<'w> {
    world: &'w World,
    cfg: &'w Cfg,
    out: Vec<Case>,
}

impl<'w> Gen<'w> {
    fn inst(&self) -> &'w TestInstance {
        self.world.instance(self.cfg)
    }

    fn api(&self) -> &'w TestBackendApi {
        self.world.api(self.cfg)
    }

    fn sfx(&self) -> String {
        self.inst().cookie_suffix().to_owned()
    }

    /// `base`, or `base_<suffix>`.
    fn name(&self, base: &str, suffixed: bool) -> String {
        if suffixed {
            format!("{base}_{}", self.sfx())
        } else {
            base.to_owned()
        }
    }

    fn mint(&self, t: Tok) -> Minted {
        let now = now_secs();
        let sid = fresh_sid();
        let b = self.inst().session_token(USER).session_id(&sid);
        let b = match t {
            Tok::Valid => b.issued_at(at(now - 5)),
            Tok::Forged => b.issued_at(at(now - 5)).forged(),
            Tok::Expired | Tok::ExpiredNoSid => b
                .issued_at(at(now - 7260))
                .not_before(at(now - 7270))
                .expires_at(at(now - 7200)),
            Tok::ExpiredLong => b
                .issued_at(at(now - 172_860))
                .not_before(at(now - 172_870))
                .expires_at(at(now - 172_800)),
            Tok::Nbf => b.issued_at(at(now - 5)).not_before(at(now + 120)),
            Tok::IatFuture => b.issued_in_the_future(),
        };
        let b = if t == Tok::ExpiredNoSid {
            b.without_claim("sid")
        } else {
            b
        };
        let payload = b.payload();
        Minted {
            token: b.sign(),
            iat: payload["iat"].as_i64().unwrap_or(now),
            sid,
        }
    }

    /// The session cookies of `m` (with `__client_uat` = `uat`, or its `iat`), and on a
    /// development instance the dev-browser cookie, suffixed or not.
    fn session_cookies(&self, jar: &mut Jar, m: Option<&Minted>, uat: Option<i64>, sfx: bool) {
        if self.cfg.dev {
            jar.add(self.name("__clerk_db_jwt", sfx), DB_JWT);
        }
        if let Some(u) = uat.or(m.map(|m| m.iat)) {
            jar.add(self.name("__client_uat", sfx), u.to_string());
        }
        if let Some(m) = m {
            jar.add(self.name("__session", sfx), m.token.clone());
        }
    }

    /// A request in one of the matrix's states; the token minted, if any.
    fn state(&self, req: Req, state: &str, sfx: bool) -> (Req, Option<Minted>) {
        let mut req = req;
        let caller = std::mem::take(&mut req.jar);
        let mut jar = Jar::default();
        let minted = match state {
            "valid" | "expired" | "nbf" | "iat-future" => {
                let t = match state {
                    "valid" => Tok::Valid,
                    "expired" => Tok::Expired,
                    "nbf" => Tok::Nbf,
                    _ => Tok::IatFuture,
                };
                let m = self.mint(t);
                self.session_cookies(&mut jar, Some(&m), None, sfx);
                Some(m)
            }
            "iat-before-uat" => {
                let m = self.mint(Tok::Valid);
                self.session_cookies(&mut jar, Some(&m), Some(m.iat + 60), sfx);
                Some(m)
            }
            "no-uat" => {
                let m = self.mint(Tok::Valid);
                if self.cfg.dev {
                    jar.add(self.name("__clerk_db_jwt", sfx), DB_JWT);
                }
                jar.add(self.name("__session", sfx), m.token.clone());
                Some(m)
            }
            "uat-only" => {
                self.session_cookies(&mut jar, None, Some(now_secs() - 30), sfx);
                None
            }
            "nothing" => {
                if self.cfg.dev {
                    jar.add(self.name("__clerk_db_jwt", sfx), DB_JWT);
                }
                None
            }
            "header-expired" => {
                let m = self.mint(Tok::Expired);
                if self.cfg.dev {
                    jar.add(self.name("__clerk_db_jwt", sfx), DB_JWT);
                }
                req = req.header("authorization", &format!("Bearer {}", m.token));
                Some(m)
            }
            other => panic!("state {other}"),
        };
        // Cookies set by the caller come after the session's.
        jar.0.extend(caller.0);
        req.jar = jar;
        (req, minted)
    }

    fn push(&mut self, shape: impl Into<String>, req: Req) {
        let (method, kind_headers) = kind(req.kind);
        let mut headers = vec![("host".to_owned(), req.host.clone())];
        headers.extend(
            kind_headers
                .iter()
                .map(|(k, v)| ((*k).to_owned(), (*v).to_owned())),
        );
        headers.extend(req.extra);
        if !req.jar.0.is_empty() {
            headers.push(("cookie".to_owned(), req.jar.text()));
        }
        self.out.push(Case {
            id: format!("{}/{}", self.cfg.name, shape.into()),
            config: self.cfg.name,
            method,
            path: req.path,
            headers,
        });
    }

    // --- families ----------------------------------------------------------------------------

    /// Request kinds × session states (× plain/suffixed cookies for some configurations).
    fn matrix(&mut self) {
        let core = matches!(
            self.cfg.name,
            "prod-pem" | "prod-jwks" | "dev-pem" | "dev-jwks"
        );
        let kinds: &[&str] = if core {
            &["doc", "iframe", "html", "fetch", "post-doc", "api"]
        } else {
            &["doc", "fetch", "api"]
        };
        let suffixes: &[bool] = if matches!(self.cfg.name, "prod-pem" | "dev-pem" | "sat-prod") {
            &[false, true]
        } else {
            &[false]
        };
        for &sfx in suffixes {
            for state in STATES {
                for &k in kinds {
                    let (req, _) = self.state(Req::new(k), state, sfx);
                    let s = if sfx { "-sfx" } else { "" };
                    self.push(format!("m/{state}-{k}{s}"), req);
                }
            }
        }
        if self.cfg.name == "prod-pem" || self.cfg.name == "dev-pem" {
            // Both pairs: the plain one older (suffixed chosen), then newer (plain chosen).
            for (name, plain_newer) in [("both-sfx-newer", false), ("both-plain-newer", true)] {
                for k in ["doc", "api"] {
                    let old = self.mint(Tok::Expired);
                    let new = self.mint(Tok::Valid);
                    let (plain, suffixed) = if plain_newer {
                        (&new, &old)
                    } else {
                        (&old, &new)
                    };
                    let mut req = Req::new(k);
                    self.session_cookies(&mut req.jar, Some(plain), None, false);
                    self.session_cookies(&mut req.jar, Some(suffixed), None, true);
                    self.push(format!("m/{name}-{k}"), req);
                }
            }
            // A plain session of another instance: the suffixed pair is read.
            for k in ["doc", "api"] {
                let other = TestInstance::builder()
                    .frontend_api("clerk.elsewhere.example")
                    .build();
                let foreign = other.session_token(USER).sign();
                let m = self.mint(Tok::Expired);
                let mut req = Req::new(k).cookie("__session", &foreign);
                self.session_cookies(&mut req.jar, Some(&m), None, true);
                self.push(format!("m/foreign-plain-expired-sfx-{k}"), req);
            }
        }
    }

    /// Server-side refresh through `__refresh_<suffix>`.
    fn refresh(&mut self) {
        let kinds: &[&str] = if matches!(self.cfg.name, "prod-pem" | "prod-jwks" | "dev-pem") {
            &["doc", "fetch", "api", "post-doc"]
        } else {
            &["doc", "api"]
        };
        let api = self.api();
        let refresh_name = self.name("__refresh", true);
        for &k in kinds {
            for variant in [
                "ok",
                "ok-sfx",
                "ok-header",
                "ok-header-and-cookie",
                "revoked",
                "unknown",
                "other-session",
                "x-fail",
                "errors-empty",
                "not-json",
                "unexpected-error",
                "no-sid",
                "plain-refresh-cookie",
                "ok-wrong-key",
                "ok-no-cookies",
                "ok-no-session-cookie",
                "ok-not-object",
                "ok-not-json",
                "no-content",
                "sid-number",
                "empty-refresh-cookie",
                "ok-text-plain",
                "ok-charset",
                "err-charset",
                "err-bad-json",
                "ok-null",
                "ok-number",
                "ok-string",
                "ok-newline-cookie",
                "ok-cookies-string",
                "ok-session-no-equals",
                "nbf",
            ] {
                // Clerk throws on these answers: only where a refresh is made (a GET whose
                // session cookie is read), so that the allow-list entries stay exact.
                let throws = matches!(variant, "ok-newline-cookie" | "ok-cookies-string");
                if throws && (k == "post-doc" || self.cfg.satellite) {
                    continue;
                }
                let sfx = variant == "ok-sfx";
                let tok = match variant {
                    "no-sid" => Tok::ExpiredNoSid,
                    "nbf" => Tok::Nbf,
                    _ => Tok::Expired,
                };
                let m = if variant == "sid-number" {
                    let now = now_secs();
                    let b = self
                        .inst()
                        .session_token(USER)
                        .claim("sid", 4242)
                        .issued_at(at(now - 7260))
                        .not_before(at(now - 7270))
                        .expires_at(at(now - 7200));
                    Minted {
                        token: b.sign(),
                        iat: now - 7260,
                        sid: "4242".to_owned(),
                    }
                } else {
                    self.mint(tok)
                };
                let mut req = Req::new(k);
                match variant {
                    "ok-header" => {
                        if self.cfg.dev {
                            req.jar.add("__clerk_db_jwt", DB_JWT);
                        }
                        req = req.header("authorization", &format!("Bearer {}", m.token));
                    }
                    "ok-header-and-cookie" => {
                        // The cookie's token is the one Clerk sends as the expired token.
                        self.session_cookies(&mut req.jar, Some(&m), None, false);
                        let header_token = self.mint(Tok::Expired);
                        req =
                            req.header("authorization", &format!("Bearer {}", header_token.token));
                    }
                    _ => self.session_cookies(&mut req.jar, Some(&m), None, sfx),
                }
                let refresh = match variant {
                    "unknown" => "rt_unknown_2browser".to_owned(),
                    "other-session" => api.refresh_token(&fresh_sid(), USER),
                    _ => api.refresh_token(&m.sid, USER),
                };
                match variant {
                    "revoked" => api.revoke_refresh_token(&refresh),
                    "x-fail" => api.register_refresh(
                        &refresh,
                        VerifyAnswer::Status(500, json!({"errors": [{"code": "x_fail"}]})),
                    ),
                    "errors-empty" => api.register_refresh(
                        &refresh,
                        VerifyAnswer::Status(500, json!({"errors": []})),
                    ),
                    "not-json" => api.register_refresh(
                        &refresh,
                        VerifyAnswer::Raw {
                            status: 502,
                            content_type: "text/plain".into(),
                            body: "bad gateway".into(),
                        },
                    ),
                    "unexpected-error" => api.register_refresh(
                        &refresh,
                        VerifyAnswer::error(500, "unexpected_error", "Unexpected error"),
                    ),
                    "ok-wrong-key" => {
                        let forged = self.mint(Tok::Forged);
                        api.register_refresh(
                            &refresh,
                            VerifyAnswer::Ok(json!({
                                "object": "cookies",
                                "cookies": api.session_directives(&forged.token, false),
                            })),
                        );
                    }
                    "ok-no-cookies" => api.register_refresh(
                        &refresh,
                        VerifyAnswer::Ok(json!({"object": "cookies", "cookies": []})),
                    ),
                    "ok-no-session-cookie" => api.register_refresh(
                        &refresh,
                        VerifyAnswer::Ok(json!({
                            "object": "cookies",
                            "cookies": ["__client_uat=1; Path=/"],
                        })),
                    ),
                    "ok-not-object" => {
                        api.register_refresh(&refresh, VerifyAnswer::Ok(json!(["__session=x"])))
                    }
                    "ok-not-json" => api.register_refresh(
                        &refresh,
                        VerifyAnswer::Raw {
                            status: 200,
                            content_type: "application/json".into(),
                            body: "{\"cookies\": [".into(),
                        },
                    ),
                    "ok-text-plain" | "ok-charset" | "err-charset" | "err-bad-json" | "ok-null"
                    | "ok-number" | "ok-string" => {
                        let fresh = self.mint(Tok::Valid);
                        let cookies = json!({
                            "object": "cookies",
                            "cookies": api.session_directives(&fresh.token, false),
                        })
                        .to_string();
                        let errors = json!({"errors": [{"code": "x_fail"}]}).to_string();
                        let (status, content_type, body) = match variant {
                            "ok-text-plain" => (200, "text/plain", cookies),
                            "ok-charset" => (200, "application/json; charset=utf-8", cookies),
                            "err-charset" => (500, "application/json; charset=utf-8", errors),
                            "err-bad-json" => (500, "application/json", "{\"errors\":".to_owned()),
                            "ok-null" => (200, "application/json", "null".to_owned()),
                            "ok-number" => (200, "application/json", "5".to_owned()),
                            _ => (200, "application/json", "\"x\"".to_owned()),
                        };
                        api.register_refresh(
                            &refresh,
                            VerifyAnswer::Raw {
                                status,
                                content_type: content_type.into(),
                                body,
                            },
                        );
                    }
                    "ok-newline-cookie" | "ok-cookies-string" | "ok-session-no-equals" => {
                        let fresh = self.mint(Tok::Valid);
                        let directives = api.session_directives(&fresh.token, false);
                        let body = match variant {
                            "ok-newline-cookie" => json!({
                                "object": "cookies",
                                "cookies": [format!("{}\nX-Injected: 1", directives[0])],
                            }),
                            "ok-cookies-string" => {
                                json!({"object": "cookies", "cookies": "__session=x"})
                            }
                            _ => json!({"object": "cookies", "cookies": ["__session; Path=/"]}),
                        };
                        api.register_refresh(&refresh, VerifyAnswer::Ok(body));
                    }
                    "no-content" => api.register_refresh(
                        &refresh,
                        VerifyAnswer::Raw {
                            status: 204,
                            content_type: "application/json".into(),
                            body: String::new(),
                        },
                    ),
                    _ => {}
                }
                if variant == "plain-refresh-cookie" {
                    req.jar.add("__refresh", refresh);
                } else if variant == "empty-refresh-cookie" {
                    req.jar.add(refresh_name.clone(), "");
                } else {
                    req.jar.add(refresh_name.clone(), refresh);
                }
                self.push(format!("r/{variant}-{k}"), req);
            }
        }
    }

    /// `__clerk_redirect_count` and the loop guard.
    fn redirect_count(&mut self) {
        let states: &[&str] = if self.cfg.satellite {
            &["nothing"]
        } else {
            &["expired", "uat-only"]
        };
        for state in states {
            for count in ["0", "1", "2", "3", "3.0", "0x3", "4", "abc", ""] {
                for k in ["doc", "api"] {
                    if k == "api" && !matches!(count, "2" | "3") {
                        continue;
                    }
                    let mut req = Req::new(k);
                    if self.cfg.satellite {
                        req = req.path("/dashboard?__clerk_synced=false");
                    }
                    let (mut req, _) = self.state(req, state, false);
                    req.jar.add("__clerk_redirect_count", count);
                    let shown = if count.is_empty() { "empty" } else { count };
                    self.push(format!("c/{state}-{shown}-{k}"), req);
                }
            }
        }
    }

    /// The handshake return: nonces (query or cookie) and handshake JWTs.
    fn handshake(&mut self) {
        let kinds: &[&str] = match self.cfg.name {
            "prod-pem" | "dev-pem" => &["doc", "api", "post-doc"],
            "prod-jwks" | "dev-jwks" => &["doc", "api"],
            _ => &["doc"],
        };
        let api = self.api();
        let inst = self.inst();
        let key = inst.key();
        let wrong = TestKey::generate(key.kid());
        let handshake_jwt =
            |signer: &TestKey, header_extra: Option<(&str, &str)>, claims: Value| {
                let mut h = key.header();
                if let Some((k, v)) = header_extra {
                    h[k] = json!(v);
                }
                signer.sign(&h, &claims)
            };
        for &k in kinds {
            // Nonces.
            for variant in [
                "session",
                "session-sfx",
                "signed-out",
                "empty",
                "expired",
                "forged",
                "unknown",
            ] {
                for carrier in ["query", "cookie"] {
                    let directives = match variant {
                        "session" => {
                            Some(api.session_directives(&self.mint(Tok::Valid).token, false))
                        }
                        "session-sfx" => {
                            Some(api.session_directives(&self.mint(Tok::Valid).token, true))
                        }
                        "signed-out" => Some(api.signed_out_directives(false)),
                        "empty" => Some(Vec::new()),
                        "expired" => {
                            Some(api.session_directives(&self.mint(Tok::Expired).token, false))
                        }
                        "forged" => {
                            Some(api.session_directives(&self.mint(Tok::Forged).token, false))
                        }
                        _ => None,
                    };
                    let nonce = match directives {
                        Some(d) => api.handshake_nonce(d),
                        None => "nonce_unknown_2browser".to_owned(),
                    };
                    let req = self.handshake_request(k, "__clerk_handshake_nonce", &nonce, carrier);
                    self.push(format!("hs/nonce-{variant}-{carrier}-{k}"), req);
                }
            }
            // Handshake JWTs.
            for variant in [
                "session",
                "signed-out",
                "no-claim",
                "wrong-key",
                "m2m-cat",
                "malformed",
            ] {
                for carrier in ["query", "cookie"] {
                    let valid = self.mint(Tok::Valid);
                    let claims = json!({
                        "handshake": api.session_directives(&valid.token, false),
                    });
                    let token = match variant {
                        "session" => handshake_jwt(&key, None, claims),
                        "signed-out" => handshake_jwt(
                            &key,
                            None,
                            json!({"handshake": api.signed_out_directives(false)}),
                        ),
                        "no-claim" => handshake_jwt(&key, None, json!({"sub": USER})),
                        "wrong-key" => handshake_jwt(&wrong, None, claims),
                        "m2m-cat" => handshake_jwt(&key, Some(("cat", CAT_M2M)), claims),
                        _ => "not.a-handshake".to_owned(),
                    };
                    let req = self.handshake_request(k, "__clerk_handshake", &token, carrier);
                    self.push(format!("hs/jwt-{carrier}-{variant}-{k}"), req);
                }
            }
        }
        // Odd directives (query nonces only).
        for &k in kinds {
            let valid = self.mint(Tok::Valid).token;
            let forged = self.mint(Tok::Forged).token;
            let nbf = self.mint(Tok::Nbf).token;
            let long_expired = self.mint(Tok::ExpiredLong).token;
            for (variant, directives) in [
                (
                    "session-empty-value",
                    vec![
                        "__session=; Path=/".to_owned(),
                        "__client_uat=0; Path=/".to_owned(),
                    ],
                ),
                ("session-no-equals", vec!["__session; Path=/".to_owned()]),
                (
                    "two-sessions-last-forged",
                    vec![
                        format!("__session={valid}; Path=/"),
                        format!("__session={forged}; Path=/"),
                    ],
                ),
                (
                    "two-sessions-last-valid",
                    vec![
                        format!("__session={forged}; Path=/"),
                        format!("__session={valid}; Path=/"),
                    ],
                ),
                (
                    "other-suffix",
                    vec![format!("__session_zzzzzzzz={valid}; Path=/; Secure")],
                ),
                (
                    "leading-space",
                    vec![format!("  __session={valid}; Path=/  ")],
                ),
                (
                    "newline",
                    vec![format!("__session={valid}; Path=/\nX-Injected: 1")],
                ),
                (
                    "no-session",
                    vec!["__client_uat=1; Path=/".to_owned(), "other=1".to_owned()],
                ),
                ("nbf", api.session_directives(&nbf, false)),
                (
                    "expired-two-days",
                    api.session_directives(&long_expired, false),
                ),
            ] {
                let nonce = api.handshake_nonce(directives);
                let req = self.handshake_request(k, "__clerk_handshake_nonce", &nonce, "query");
                self.push(format!("hs/nonce-{variant}-query-{k}"), req);
            }
        }
        // Several handshake carriers at once, and a header token.
        {
            let session_nonce =
                api.handshake_nonce(api.session_directives(&self.mint(Tok::Valid).token, false));
            let session_jwt = handshake_jwt(
                &key,
                None,
                json!({"handshake": api.session_directives(&self.mint(Tok::Valid).token, false)}),
            );
            let mut combos: Vec<(&str, Req)> = Vec::new();
            let mut r = self.handshake_request(
                "doc",
                "__clerk_handshake_nonce",
                "nonce_unknown_2browser",
                "query",
            );
            r.jar.add("__clerk_handshake", session_jwt.clone());
            combos.push(("unknown-nonce-and-jwt", r));
            let mut r = self.handshake_request("doc", "__clerk_handshake_nonce", "", "query");
            r.jar.add("__clerk_handshake_nonce", session_nonce.clone());
            combos.push(("empty-query-nonce-cookie-nonce", r));
            let mut r = self.handshake_request(
                "doc",
                "__clerk_handshake_nonce",
                "nonce_unknown_2browser",
                "query",
            );
            r.jar.add("__clerk_handshake_nonce", session_nonce.clone());
            combos.push(("query-nonce-over-cookie-nonce", r));
            let r = self
                .handshake_request("doc", "__clerk_handshake_nonce", &session_nonce, "query")
                .header(
                    "authorization",
                    &format!("Bearer {}", self.mint(Tok::Valid).token),
                );
            combos.push(("nonce-with-bearer", r));
            let r = self
                .handshake_request("doc", "__clerk_handshake_nonce", &session_nonce, "query")
                .header(
                    "authorization",
                    &format!("Bearer {}", self.mint(Tok::Expired).token),
                );
            combos.push(("nonce-with-expired-bearer", r));
            for (name, r) in combos {
                self.push(format!("hs/{name}-doc"), r);
            }
        }
        // A handshake return that cannot be resolved, on a request with a valid session.
        for (variant, name) in [
            ("nonce-forged-with-session", "__clerk_handshake_nonce"),
            ("nonce-unknown-with-session", "__clerk_handshake_nonce"),
            ("jwt-query-wrong-key-with-session", "__clerk_handshake"),
        ] {
            let value = match variant {
                "nonce-forged-with-session" => api
                    .handshake_nonce(api.session_directives(&self.mint(Tok::Forged).token, false)),
                "nonce-unknown-with-session" => "nonce_unknown_2browser".to_owned(),
                _ => handshake_jwt(
                    &wrong,
                    None,
                    json!({"handshake": api.session_directives(&self.mint(Tok::Valid).token, false)}),
                ),
            };
            let (req, _) = self.state(Req::new("doc"), "valid", false);
            let req = req.path(&format!("/dashboard?{name}={value}"));
            self.push(format!("hs/{variant}-doc"), req);
        }
    }

    /// A request returning from the handshake: `name=value` in the query (with other
    /// parameters around it) or as a cookie; on a development instance with the dev-browser
    /// cookie.
    fn handshake_request(&self, k: &'static str, name: &str, value: &str, carrier: &str) -> Req {
        let mut req = Req::new(k);
        if self.cfg.dev {
            req.jar.add("__clerk_db_jwt", DB_JWT);
        }
        if carrier == "query" {
            req.path = format!("/dashboard?tab=a+b&{name}={value}&__clerk_help=1&x=%2F");
        } else {
            req.jar.add(name, value);
        }
        req
    }

    /// Development instances: the dev-browser token, `__clerk_redirect_url` on a primary.
    fn development(&mut self) {
        let shapes: &[(&str, &str, &str, bool)] = &[
            // (shape, state, path, keep the dev-browser cookie)
            ("no-db-valid", "valid", "/dashboard", false),
            ("no-db-nothing", "nothing", "/dashboard", false),
            ("no-db-expired", "expired", "/dashboard", false),
            ("db-query", "valid", "/dashboard?__clerk_db_jwt=dvb_fromquery&a=1", true),
            ("db-query-no-cookie", "nothing", "/dashboard?__clerk_db_jwt=dvb_fromquery", false),
            ("db-query-empty", "valid", "/dashboard?__clerk_db_jwt=", true),
            ("dev-session-query", "expired", "/dashboard?__dev_session=dvs_1&a=b+c", true),
            ("legacy-and-db-query", "uat-only", "/p?__dev_session=x&__clerk_db_jwt=dvb_q&q=%20", true),
            (
                "redirect-url",
                "nothing",
                "/sign-in?__clerk_redirect_url=https%3A%2F%2Fsat.example.org%2Fpage%3Fx%3D1",
                true,
            ),
            (
                "redirect-url-valid-session",
                "valid",
                "/sign-in?__clerk_redirect_url=https%3A%2F%2Fsat.example.org%2F&__clerk_synced=false",
                true,
            ),
            (
                "redirect-url-no-db",
                "nothing",
                "/sign-in?__clerk_redirect_url=https%3A%2F%2Fsat.example.org%2F",
                false,
            ),
            ("redirect-url-invalid", "nothing", "/sign-in?__clerk_redirect_url=not%20a%20url", true),
            ("redirect-url-empty", "valid", "/sign-in?__clerk_redirect_url=", true),
        ];
        for &(shape, state, path, keep_db) in shapes {
            for k in ["doc", "api"] {
                let (mut req, _) = self.state(Req::new(k).path(path), state, false);
                if !keep_db {
                    req.jar.0.retain(|(n, _)| !n.starts_with("__clerk_db_jwt"));
                }
                self.push(format!("dev/{shape}-{k}"), req);
            }
        }
        // Suffixed dev-browser cookie with a suffixed session.
        for state in ["expired", "uat-only", "valid"] {
            let (req, _) = self.state(Req::new("doc"), state, true);
            self.push(format!("dev/db-sfx-{state}-doc"), req);
        }
    }

    /// Satellites: sync on a first navigation, `__clerk_synced`, auto sync.
    fn satellite(&mut self) {
        for state in ["nothing", "valid", "expired", "uat-only"] {
            for synced in ["", "false", "true"] {
                for k in ["doc", "html", "api"] {
                    if k == "html" && synced == "true" {
                        continue;
                    }
                    let path = if synced.is_empty() {
                        "/account?x=a%20b".to_owned()
                    } else {
                        format!("/account?x=a%20b&__clerk_synced={synced}")
                    };
                    let (req, _) = self.state(Req::new(k).path(&path), state, false);
                    let shown = if synced.is_empty() { "none" } else { synced };
                    self.push(format!("sat/{state}-synced-{shown}-{k}"), req);
                }
            }
        }
    }

    /// Satellites: requests whose `Origin` is the sign-in URL's, and a development
    /// satellite's return from the primary.
    fn satellite_edges(&mut self) {
        for origin in [
            "https://primary.example.com",
            "https://elsewhere.example.com",
        ] {
            for state in ["nothing", "valid"] {
                for k in ["doc", "api"] {
                    let (req, _) = self.state(Req::new(k).header("origin", origin), state, false);
                    let o = if origin.contains("primary") {
                        "sign-in"
                    } else {
                        "other"
                    };
                    self.push(format!("sat/origin-{o}-{state}-{k}"), req);
                }
            }
        }
        for (shape, path) in [
            (
                "synced-db-query",
                "/account?__clerk_synced=true&__clerk_db_jwt=dvb_fromprimary",
            ),
            (
                "synced-false-db-query",
                "/account?__clerk_synced=false&__clerk_db_jwt=dvb_q",
            ),
        ] {
            for state in ["nothing", "valid"] {
                let (req, _) = self.state(Req::new("doc").path(path), state, false);
                self.push(format!("sat/{shape}-{state}-doc"), req);
            }
        }
    }

    /// Forwarded headers, hosts, paths and queries (the request URL Clerk derives, and the
    /// `redirect_url` it re-serialises).
    fn urls(&mut self) {
        let variants: &[(&str, &str, &str, Lines)] = &[
            // (shape, host, path, extra headers)
            (
                "xfh",
                HOST,
                "/dashboard",
                &[("x-forwarded-host", "app.example.com")],
            ),
            (
                "xfh-multi",
                HOST,
                "/dashboard",
                &[("x-forwarded-host", "app.example.com, proxy.internal")],
            ),
            (
                "xfh-two-lines",
                HOST,
                "/dashboard",
                &[
                    ("x-forwarded-host", "app.example.com"),
                    ("x-forwarded-host", "proxy.internal"),
                ],
            ),
            ("xfh-empty", HOST, "/dashboard", &[("x-forwarded-host", "")]),
            (
                "xfp-https",
                HOST,
                "/dashboard",
                &[("x-forwarded-proto", "https")],
            ),
            (
                "xfp-multi",
                HOST,
                "/dashboard",
                &[("x-forwarded-proto", "https,http")],
            ),
            (
                "xfp-upper",
                HOST,
                "/dashboard",
                &[("x-forwarded-proto", "HTTPS")],
            ),
            (
                "xf-both",
                HOST,
                "/dashboard?a=1",
                &[
                    ("x-forwarded-host", "app.example.com"),
                    ("x-forwarded-proto", "https"),
                ],
            ),
            (
                "xf-both-port",
                HOST,
                "/dashboard",
                &[
                    ("x-forwarded-host", "app.example.com:8443"),
                    ("x-forwarded-proto", "https"),
                ],
            ),
            ("host-port", "app.example.com:8080", "/dashboard", &[]),
            ("host-default-port", "app.example.com:80", "/dashboard", &[]),
            ("q-space", HOST, "/search?q=a%20b", &[]),
            ("q-plus", HOST, "/search?q=a+b", &[]),
            (
                "q-escapes",
                HOST,
                "/search?q=%2F%3F%26%3D&r=%E2%9C%93&s=%7e",
                &[],
            ),
            ("q-repeat-flag", HOST, "/search?a=1&a=2&flag&=x", &[]),
            (
                "q-redirect-url",
                HOST,
                "/search?redirect_url=https%3A%2F%2Fevil.example%2F",
                &[],
            ),
            ("q-raw-chars", HOST, "/search?q=a'b!c*(d)~e", &[]),
            ("q-empty", HOST, "/page?", &[]),
            ("path-escapes", HOST, "/caf%C3%A9/%7Euser/a%2Fb?x=%41", &[]),
            ("path-dots", HOST, "/a/./b/../c", &[]),
        ];
        for &(shape, host, path, extra) in variants {
            for state in ["expired", "uat-only"] {
                let mut req = Req::new("doc").host(host).path(path);
                for (k, v) in extra {
                    req = req.header(k, v);
                }
                let (req, _) = self.state(req, state, false);
                self.push(format!("url/{shape}-{state}-doc"), req);
            }
        }
        // A refresh whose request origin comes from forwarded headers.
        if !self.cfg.satellite {
            for (shape, extra) in [
                (
                    "xf-both",
                    [
                        ("x-forwarded-host", "app.example.com"),
                        ("x-forwarded-proto", "https"),
                    ],
                ),
                (
                    "xf-other",
                    [
                        ("x-forwarded-host", "other.example.com"),
                        ("x-forwarded-proto", "https"),
                    ],
                ),
            ] {
                let m = self.mint(Tok::Expired);
                let mut req = Req::new("api");
                for (k, v) in extra {
                    req = req.header(k, v);
                }
                self.session_cookies(&mut req.jar, Some(&m), None, false);
                let refresh = self.api().refresh_token(&m.sid, USER);
                req.jar.add(self.name("__refresh", true), refresh);
                self.push(format!("url/refresh-{shape}-api"), req);
            }
        }
    }

    /// Odd requests: header shapes, methods, `__client_uat` values, hostile forwarded hosts.
    fn edges(&mut self) {
        // Cookies over two lines (Node joins them with "; ").
        for k in ["doc", "api"] {
            for state in ["valid", "expired"] {
                let (mut req, _) = self.state(Req::new(k), state, false);
                let jar = std::mem::take(&mut req.jar);
                for (n, v) in &jar.0 {
                    req = req.header("cookie", &format!("{n}={v}"));
                }
                self.push(format!("edge/cookie-lines-{state}-{k}"), req);
            }
        }
        let header_shapes: &[(&str, &[(&str, &str)])] = &[
            (
                "dest-twice",
                &[
                    ("sec-fetch-dest", "document"),
                    ("sec-fetch-dest", "document"),
                ],
            ),
            ("dest-capital", &[("sec-fetch-dest", "Document")]),
            (
                "dest-empty-accept-html",
                &[("sec-fetch-dest", ""), ("accept", "text/html")],
            ),
            ("accept-upper", &[("accept", "TEXT/HTML")]),
            (
                "accept-html-later",
                &[("accept", "application/json, text/html")],
            ),
            (
                "accept-twice",
                &[("accept", "text/html"), ("accept", "*/*")],
            ),
            (
                "dest-iframe-referer",
                &[
                    ("sec-fetch-dest", "iframe"),
                    ("referer", "https://other.example.org/"),
                ],
            ),
        ];
        for &(shape, headers) in header_shapes {
            for state in ["expired", "valid"] {
                let mut req = Req::new("api");
                for (k, v) in headers {
                    req = req.header(k, v);
                }
                let (req, _) = self.state(req, state, false);
                self.push(format!("edge/{shape}-{state}"), req);
            }
        }
        for k in ["head-doc", "put-doc", "options"] {
            for state in ["expired", "uat-only", "valid"] {
                let (req, m) = self.state(Req::new(k), state, false);
                self.push(format!("edge/{state}-{k}"), req.clone());
                if let (Some(m), "expired") = (m, state) {
                    let mut req = req;
                    let refresh = self.api().refresh_token(&m.sid, USER);
                    req.jar.add(self.name("__refresh", true), refresh);
                    self.push(format!("edge/{state}-refresh-{k}"), req);
                }
            }
        }
        for uat in ["0", "abc", "1e3", " 7", "-5", "99999999999999999999"] {
            for k in ["doc", "api"] {
                let m = self.mint(Tok::Valid);
                let mut req = Req::new(k);
                self.session_cookies(&mut req.jar, Some(&m), None, false);
                for c in req.jar.0.iter_mut() {
                    if c.0 == "__client_uat" {
                        c.1 = uat.to_owned();
                    }
                }
                self.push(
                    format!("edge/uat-{}-{k}", uat.trim().replace(' ', "_")),
                    req,
                );
            }
        }
        let hosts: &[(&str, &str, Lines)] = &[
            ("xfp-ftp", HOST, &[("x-forwarded-proto", "ftp")]),
            ("host-upper", "LocalHost:3000", &[]),
            (
                "xfh-upper",
                HOST,
                &[("x-forwarded-host", "App.Example.COM")],
            ),
            ("host-ipv6", "[::1]:3000", &[]),
            (
                "xfh-path",
                HOST,
                &[("x-forwarded-host", "evil.example/x?y")],
            ),
            ("xfh-userinfo", HOST, &[("x-forwarded-host", "a@b.example")]),
            ("xfh-space", HOST, &[("x-forwarded-host", "bad host")]),
            (
                "xfh-trailing-dot",
                HOST,
                &[("x-forwarded-host", "app.example.com.")],
            ),
        ];
        for &(shape, host, headers) in hosts {
            for state in ["expired", "valid"] {
                let mut req = Req::new("doc")
                    .host(host)
                    .header("referer", "https://other.example.org/");
                for (k, v) in headers {
                    req = req.header(k, v);
                }
                let (req, _) = self.state(req, state, false);
                self.push(format!("edge/{shape}-{state}-doc"), req);
            }
        }
    }

    /// A signed-in navigation arriving from another origin (the primary's cross-origin sync).
    fn referer(&mut self) {
        let fapi = self.inst().frontend_api().to_owned();
        let referers: Vec<(&str, String)> = vec![
            ("other", "https://other.example.org/page".to_owned()),
            ("fapi", format!("https://{fapi}/v1/client")),
            (
                "accounts",
                "https://accounts.example.com/sign-in".to_owned(),
            ),
            (
                "dev-accounts",
                "https://test-instance-00.accounts.dev/sign-in".to_owned(),
            ),
            ("proxy-host", "https://app.example.com/__clerk/x".to_owned()),
            ("same-origin", format!("http://{HOST}/home")),
            ("invalid", "not a url".to_owned()),
        ];
        for (name, referer) in &referers {
            for count in ["", "1"] {
                for k in ["doc", "html"] {
                    if k == "html" && (count == "1" || *name != "other") {
                        continue;
                    }
                    let (mut req, _) =
                        self.state(Req::new(k).header("referer", referer), "valid", false);
                    if !count.is_empty() {
                        req.jar.add("__clerk_redirect_count", count);
                    }
                    let c = if count.is_empty() { "" } else { "-count1" };
                    self.push(format!("ref/{name}{c}-{k}"), req);
                }
            }
        }
        // A cross-origin form post (sec-fetch-dest: document too): never handshaked.
        let (req, _) = self.state(
            Req::new("post-doc").header("referer", "https://other.example.org/"),
            "valid",
            false,
        );
        self.push("ref/other-post-doc", req);
    }
}

fn generate(world: &World, cfgs: &[Cfg]) -> Vec<Case> {
    let mut cases = Vec::new();
    for cfg in cfgs {
        let mut g = Gen {
            world,
            cfg,
            out: Vec::new(),
        };
        g.matrix();
        let name = cfg.name;
        if matches!(
            name,
            "prod-pem" | "prod-jwks" | "dev-pem" | "prod-azp" | "sat-prod" | "proxy-rel"
        ) {
            g.refresh();
        }
        if matches!(name, "prod-pem" | "dev-pem" | "sat-prod" | "sat-dev") {
            g.redirect_count();
        }
        if matches!(
            name,
            "prod-pem"
                | "prod-jwks"
                | "dev-pem"
                | "dev-jwks"
                | "sat-prod"
                | "proxy-rel"
                | "sat-dev"
        ) {
            g.handshake();
        }
        if matches!(name, "dev-pem" | "dev-jwks" | "dev-proxy-rel") {
            g.development();
        }
        if cfg.satellite {
            g.satellite();
            g.satellite_edges();
        }
        if matches!(name, "prod-pem" | "dev-pem" | "proxy-rel" | "sat-prod") {
            g.urls();
        }
        if matches!(
            name,
            "prod-pem" | "dev-pem" | "proxy-rel" | "proxy-abs" | "sat-prod" | "dev-proxy-rel"
        ) {
            g.referer();
        }
        if matches!(
            name,
            "prod-pem" | "dev-pem" | "proxy-rel" | "sat-prod-proxy-rel"
        ) {
            g.edges();
        }
        cases.extend(g.out);
    }
    cases
}

// ---------------------------------------------------------------------------------------------
// The oracle
// ---------------------------------------------------------------------------------------------

// ---------------------------------------------------------------------------------------------
// Comparison
// ---------------------------------------------------------------------------------------------

/// Messages agree when equal but for their `Current date`s, each within 3 s of the time its
/// side decided (`ours_at`, `theirs_at`: seconds since the epoch).
fn messages_agree(ours: &str, theirs: &str, ours_at: i64, theirs_at: i64) -> bool {
    let (a, da) = support::split_current_dates(ours);
    let (b, db) = support::split_current_dates(theirs);
    a == b
        && da.len() == db.len()
        && da.iter().all(|d| (d - ours_at).abs() <= 3)
        && db.iter().all(|d| (d - theirs_at).abs() <= 3)
}

/// The single-valued headers compared.
const COMPARED: &[&str] = &[
    "location",
    "cache-control",
    "access-control-allow-origin",
    "access-control-allow-credentials",
    "x-clerk-auth-status",
    "x-clerk-auth-reason",
    "x-clerk-auth-message",
];

fn header_text(headers: &HeaderMap, name: &str) -> Option<String> {
    let mut values = headers.get_all(name);
    let first = values.next()?;
    let mut text = String::from_utf8_lossy(first.as_bytes()).into_owned();
    for v in values {
        text.push_str(", ");
        text.push_str(&String::from_utf8_lossy(v.as_bytes()));
    }
    Some(text)
}

fn canonical(text: &str) -> String {
    serde_json::from_str::<Value>(text)
        .map_or_else(|_| format!("<not JSON: {text}>"), |v| v.to_string())
}

/// What the crate answered for one case.
struct Ours {
    status: u16,
    headers: HeaderMap,
    body: String,
    /// Seconds since the epoch when it was decided.
    at: i64,
}

/// The differences between our answer and Clerk's request state.
fn compare(ours: &Ours, theirs: &Value) -> Vec<String> {
    let mut problems = Vec::new();
    let redirect = theirs["location"].is_string();
    let want_status = if redirect { 307 } else { 200 };
    if ours.status != want_status {
        problems.push(format!(
            "HTTP {} (Clerk: {})",
            ours.status,
            if redirect {
                "307, the middleware answers"
            } else {
                "the handler runs"
            }
        ));
    }
    let theirs_at = theirs["decidedAtMs"].as_i64().unwrap_or(0) / 1000;
    for &name in COMPARED {
        let a = header_text(&ours.headers, name);
        let b = theirs["headers"][name].as_str().map(str::to_owned);
        let same = match (&a, &b) {
            (Some(a), Some(b)) if name == "x-clerk-auth-message" => {
                messages_agree(a, b, ours.at, theirs_at)
            }
            (a, b) => a == b,
        };
        if !same {
            problems.push(format!("{name}:\n    ours  {a:?}\n    Clerk {b:?}"));
        }
    }
    let our_cookies: Vec<String> = ours
        .headers
        .get_all(header::SET_COOKIE)
        .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned())
        .collect();
    let their_cookies: Vec<String> = theirs["setCookies"]
        .as_array()
        .map(|a| {
            a.iter()
                .filter_map(|v| v.as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default();
    if our_cookies != their_cookies {
        problems.push(format!(
            "set-cookie:\n    ours  {our_cookies:?}\n    Clerk {their_cookies:?}"
        ));
    }
    if !redirect && ours.status == 200 {
        let a = canonical(&ours.body);
        let b = match &theirs["auth"] {
            Value::String(s) => canonical(s),
            other => format!("<no auth: {other} {}>", theirs["authError"]),
        };
        if a != b {
            problems.push(format!("auth:\n    ours  {a}\n    Clerk {b}"));
        }
    }
    problems
}

/// Our answer to a case Clerk threw on, under an allowed difference.
fn check_allowed(ours: &Ours, want_reason: Option<&str>) -> Vec<String> {
    let mut problems = Vec::new();
    let reason = header_text(&ours.headers, "x-clerk-auth-reason");
    let status = header_text(&ours.headers, "x-clerk-auth-status");
    match want_reason {
        None if ours.status != 200 && ours.status != 307 => {
            problems.push(format!(
                "HTTP {}, want the request decided as usual (200 or 307)",
                ours.status
            ));
        }
        None => {}
        Some(want) => {
            let answer = matches!(
                (ours.status, status.as_deref()),
                (200, Some("signed-out")) | (307, Some("handshake"))
            );
            if !answer || reason.as_deref() != Some(want) {
                problems.push(format!(
                    "ours HTTP {} {status:?} {reason:?}, want signed out (or the handshake) with {want}",
                    ours.status
                ));
            }
        }
    }
    problems
}

async fn handler(auth: web::ReqData<Auth>) -> HttpResponse {
    HttpResponse::Ok().json(auth.into_inner())
}

#[actix_web::test]
async fn browser_sessions_match_clerk() {
    let prod = TestInstance::new();
    let dev = TestInstance::development();
    let world = World {
        prod_api: TestBackendApi::start(&prod),
        dev_api: TestBackendApi::start(&dev),
        prod,
        dev,
    };
    let cfgs = configs();
    let cases = generate(&world, &cfgs);
    let mut ids = std::collections::HashSet::new();
    for c in &cases {
        assert!(ids.insert(c.id.clone()), "duplicate case id {}", c.id);
    }

    let mut apps = HashMap::new();
    for cfg in &cfgs {
        let app = test::init_service(
            App::new()
                .wrap(ClerkWithAuth::new(world.crate_config(cfg)))
                .default_service(web::to(handler)),
        )
        .await;
        apps.insert(cfg.name, app);
    }

    let input = json!({
        "configs": cfgs.iter().map(|c| (c.name.to_owned(), world.oracle_config(c))).collect::<serde_json::Map<_, _>>(),
        "cases": cases.iter().map(|c| json!({
            "id": c.id,
            "config": c.config,
            "method": c.method,
            "url": c.url(),
            "headers": c.headers.iter().map(|(k, v)| json!([k, v])).collect::<Vec<_>>(),
        })).collect::<Vec<_>>(),
    });
    let doc = support::run_oracle("browser-oracle.mjs", &input);
    // BROWSER_SESSIONS_DUMP=<file>: the oracle's input and answers, for debugging.
    if let Some(path) = std::env::var_os("BROWSER_SESSIONS_DUMP") {
        let dump = json!({"input": input, "output": doc});
        std::fs::write(path, dump.to_string()).expect("write the dump");
    }
    assert_eq!(doc["clerkBackendVersion"], "3.25.0");
    let results: HashMap<String, Value> = doc["results"]
        .as_array()
        .expect("results")
        .iter()
        .map(|r| (r["id"].as_str().expect("id").to_owned(), r.clone()))
        .collect();

    let mut passed = 0usize;
    let mut failures: Vec<String> = Vec::new();
    let mut allowed_used: HashMap<&str, usize> = HashMap::new();
    for case in &cases {
        let theirs = &results[&case.id];
        let app = &apps[case.config];
        let mut req = test::TestRequest::default()
            .method(case.method.parse().expect("method"))
            .uri(&case.path);
        for (k, v) in &case.headers {
            req = req.append_header((k.as_str(), v.as_str()));
        }
        let at = now_secs();
        let res = test::call_service(app, req.to_request()).await;
        let status = res.status().as_u16();
        let headers = res.headers().clone();
        let body = String::from_utf8_lossy(&test::read_body(res).await).into_owned();
        let ours = Ours {
            status,
            headers,
            body,
            at,
        };
        let problems = match (theirs.get("error"), allowed_difference(&case.id)) {
            (Some(_), Some((pattern, reason))) => {
                *allowed_used.entry(pattern).or_default() += 1;
                check_allowed(&ours, reason)
            }
            (Some(err), None) => vec![format!(
                "Clerk threw ({err}); ours HTTP {} {:?} {:?}",
                ours.status,
                header_text(&ours.headers, "x-clerk-auth-status"),
                header_text(&ours.headers, "x-clerk-auth-reason"),
            )],
            (None, Some((pattern, _))) => {
                let mut p = vec![format!(
                    "allowed difference {pattern}: Clerk no longer throws: the entry is stale"
                )];
                p.extend(compare(&ours, theirs));
                p
            }
            (None, None) => compare(&ours, theirs),
        };
        if problems.is_empty() {
            passed += 1;
        } else {
            failures.push(format!(
                "{} ({} {}):\n  {}",
                case.id,
                case.method,
                case.url(),
                problems.join("\n  ")
            ));
        }
    }
    for f in &failures {
        eprintln!("MISMATCH {f}");
    }
    let mut used: Vec<_> = allowed_used.into_iter().collect();
    used.sort();
    println!(
        "browser sessions against @clerk/backend {}: {} cases over {} configurations; allowed differences used: {used:?}",
        doc["clerkBackendVersion"].as_str().unwrap_or("?"),
        cases.len(),
        cfgs.len(),
    );
    println!(
        "browser sessions: {passed} passed, {} failed",
        failures.len()
    );
    assert!(cases.len() >= 300, "only {} cases", cases.len());
    assert!(
        failures.is_empty(),
        "{} browser-session mismatches (see MISMATCH lines)",
        failures.len()
    );
}
