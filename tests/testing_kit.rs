//! The testing kit (`actix_clerk::testing`, issue 12).
//!
//! - `kit_tokens_are_decided_by_clerk_as_by_us`: a matrix of kit tokens — every
//!   `SessionTokenBuilder` option, in the `Authorization` header and in the kit's plain and
//!   suffixed cookies, for a production and a development instance, verified with the PEM key
//!   and through the stand-in's JWKS; API keys, M2M and OAuth tokens issued (and revoked) by
//!   `TestBackendApi` — decided by `@clerk/backend` (`tests/conformance/testing-kit-oracle.mjs`)
//!   and by `ClerkWithAuth` in-process: signed in or out, reason, message, the auth JSON (field
//!   order included) and `has()` answers must agree, and both must decide each token as the kit
//!   means it (valid tokens signed in, each broken form with its reason, the organisation
//!   permissions asked for). Prints `testing kit: N passed, M failed`.
//! - The rest: what the oracle run cannot show (key rotation, the stand-in's key checks and
//!   outages, `Auth` values and the request helpers, the claims' shape).

mod support;

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::process::{Command, Stdio};
use std::time::{Duration, SystemTime};

use actix_clerk::testing::{
    signed_in_auth, signed_out_auth, MachineTokenBuilder, Malformed, Outage, SessionTokenBuilder,
    TestBackendApi, TestInstance, TestKey, TestRequestExt as _, DEFAULT_AZP, TEST_SECRET_KEY,
};
use actix_clerk::{
    Accepts, Auth, Authenticated, ClerkConfig, ClerkRequireAuth, ClerkWithAuth, Has, Reason,
    TokenKind,
};
use actix_web::body::MessageBody;
use actix_web::dev::{Service, ServiceResponse};
use actix_web::http::StatusCode;
use actix_web::{test, web, App, FromRequest as _, HttpMessage as _, HttpResponse};
use parking_lot::Mutex;
use serde_json::{json, Value};

/// Where the oracle's requests are addressed.
const URL: &str = "http://localhost:3000/kit";

// ---------------------------------------------------------------------------------------------
// The matrix
// ---------------------------------------------------------------------------------------------

/// Where a token goes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Carrier {
    Header,
    Cookies,
    SuffixedCookies,
}

impl Carrier {
    fn name(self) -> &'static str {
        match self {
            Carrier::Header => "header",
            Carrier::Cookies => "cookies",
            Carrier::SuffixedCookies => "suffixed-cookies",
        }
    }
}

/// What the kit means a token to be: signed in, or signed out with this reason (a GET).
#[derive(Clone, Copy, Debug)]
enum Expect {
    In,
    Out(&'static str),
    /// Differs between a PEM key and the JWKS: (with the PEM key, through the JWKS).
    Keys(Option<&'static str>, Option<&'static str>),
}

impl Expect {
    /// The reason for a configuration (`None`: signed in).
    fn reason(self, jwks: bool) -> Option<&'static str> {
        match self {
            Expect::In => None,
            Expect::Out(r) => Some(r),
            Expect::Keys(pem, remote) => {
                if jwks {
                    remote
                } else {
                    pem
                }
            }
        }
    }
}

type Mint = Box<dyn Fn(&TestInstance, &TestKey) -> SessionTokenBuilder>;

/// A session token case: its name, how the kit makes it (from the configuration's instance and
/// a key of another instance), what it means, the organisation permissions Clerk must list
/// when it is signed in, and whether the cookie carriers must mean the same.
struct SessionCase {
    name: &'static str,
    mint: Mint,
    expect: Expect,
    permissions: Option<&'static [&'static str]>,
    cookies_too: bool,
}

fn s(
    name: &'static str,
    expect: Expect,
    mint: impl Fn(&TestInstance, &TestKey) -> SessionTokenBuilder + 'static,
) -> SessionCase {
    SessionCase {
        name,
        mint: Box::new(mint),
        expect,
        permissions: None,
        cookies_too: true,
    }
}

const EXPIRED: &str = "session-token-expired-refresh-non-eligible-no-refresh-cookie";
const PERMS_V2: &[&str] = &[
    "org:invoices:read",
    "org:invoices:create",
    "org:memberships:read",
    "org:sys_domains:manage",
];

fn session_cases() -> Vec<SessionCase> {
    fn ago(secs: u64) -> SystemTime {
        SystemTime::now() - Duration::from_secs(secs)
    }
    fn ahead(secs: u64) -> SystemTime {
        SystemTime::now() + Duration::from_secs(secs)
    }
    let mut cases = vec![
        s("default-v2", Expect::In, |i, _| i.session_token("user_1")),
        s("v1", Expect::In, |i, _| i.session_token("user_1").v1()),
        s("v2-org-admin", Expect::In, |i, _| {
            i.session_token("user_1").org("org_1", "acme", "admin")
        }),
        s("v2-org-role-prefixed", Expect::In, |i, _| {
            i.session_token("user_1")
                .org("org_1", "acme", "org:billing_manager")
        }),
        SessionCase {
            permissions: Some(PERMS_V2),
            ..s("v2-org-permissions", Expect::In, |i, _| {
                i.session_token("user_1")
                    .org("org_1", "acme", "member")
                    .org_permissions(PERMS_V2.iter().copied())
            })
        },
        SessionCase {
            permissions: Some(PERMS_V2),
            ..s("v2-features-plans-permissions", Expect::In, |i, _| {
                i.session_token("user_1")
                    .org("org_1", "acme", "admin")
                    .features(["u:beta", "o:dashboard", "o:invoices", "ou:premium"])
                    .plans(["u:free", "o:pro"])
                    .org_permissions(PERMS_V2.iter().copied())
            })
        },
        SessionCase {
            permissions: Some(&["org:invoices:read", "org:members:manage"]),
            ..s("v1-org-permissions", Expect::In, |i, _| {
                i.session_token("user_1")
                    .v1()
                    .org("org_1", "acme", "admin")
                    .org_permissions(["org:invoices:read", "org:members:manage"])
            })
        },
        s("v1-features-plans", Expect::In, |i, _| {
            i.session_token("user_1")
                .v1()
                .features(["u:beta", "o:premium"])
                .plans(["u:pro"])
        }),
        s("v2-user-features-no-org", Expect::In, |i, _| {
            i.session_token("user_1")
                .features(["u:premium"])
                .plans(["u:pro"])
        }),
        s("actor", Expect::In, |i, _| {
            i.session_token("user_1").actor("user_admin")
        }),
        s("fva", Expect::In, |i, _| {
            i.session_token("user_1").factor_verification_age(5, 30)
        }),
        s("fva-v1", Expect::In, |i, _| {
            i.session_token("user_1")
                .v1()
                .factor_verification_age(3, -1)
        }),
        s("pending", Expect::Out("session-pending"), |i, _| {
            i.session_token("user_1").pending()
        }),
        s("pending-v1", Expect::Out("session-pending"), |i, _| {
            i.session_token("user_1").v1().pending()
        }),
        s("custom-claims", Expect::In, |i, _| {
            i.session_token("user_1")
                .claim("metadata", json!({"tier": "gold", "seats": 5}))
                .claims(json!({"email": "a@example.com", "n": 1.5, "flag": true}))
        }),
        s("claim-replaced-in-place", Expect::In, |i, _| {
            i.session_token("user_1").claim("sid", "sess_other")
        }),
        s("session-id", Expect::In, |i, _| {
            i.session_token("user_1").session_id("sess_2abc")
        }),
        s(
            "azp-elsewhere",
            Expect::Out("token-invalid-authorized-parties"),
            |i, _| i.session_token("user_1").azp("https://evil.example"),
        ),
        s(
            "without-azp",
            Expect::Out("token-invalid-authorized-parties"),
            |i, _| i.session_token("user_1").without_azp(),
        ),
        SessionCase {
            cookies_too: false,
            ..s("issuer-elsewhere", Expect::In, |i, _| {
                i.session_token("user_1")
                    .issuer("https://clerk.elsewhere.example")
            })
        },
        s("lifetime-60s", Expect::In, |i, _| {
            i.session_token("user_1").lifetime(Duration::from_secs(60))
        }),
        s("issued-30s-ago", Expect::In, |i, _| {
            i.session_token("user_1").issued_at(ago(30))
        }),
        s("expires-in-20s", Expect::In, |i, _| {
            i.session_token("user_1").expires_at(ahead(20))
        }),
        s("expired", Expect::Out(EXPIRED), |i, _| {
            i.session_token("user_1").expired()
        }),
        s("expired-at", Expect::Out(EXPIRED), |i, _| {
            i.session_token("user_1")
                .issued_at(ago(600))
                .expires_at(ago(60))
        }),
        s("not-yet-valid", Expect::Out("session-token-nbf"), |i, _| {
            i.session_token("user_1").not_yet_valid()
        }),
        s(
            "not-before-ahead",
            Expect::Out("session-token-nbf"),
            |i, _| i.session_token("user_1").not_before(ahead(300)),
        ),
        s(
            "issued-in-the-future",
            Expect::Out("session-token-iat-in-the-future"),
            |i, _| i.session_token("user_1").issued_in_the_future(),
        ),
        s("forged", Expect::Out("token-invalid-signature"), |i, _| {
            i.session_token("user_1").forged()
        }),
        s(
            "signed-by-another-instance",
            Expect::Keys(Some("token-invalid-signature"), Some("jwk-kid-mismatch")),
            |i, other| i.session_token("user_1").signed_by(other),
        ),
        s(
            "unknown-kid",
            Expect::Keys(None, Some("jwk-kid-mismatch")),
            |i, _| i.session_token("user_1").kid("ins_unknown"),
        ),
        s(
            "alg-rs384",
            Expect::Out("token-verification-failed"),
            |i, _| i.session_token("user_1").alg("RS384"),
        ),
        s(
            "alg-rs512",
            Expect::Out("token-verification-failed"),
            |i, _| i.session_token("user_1").alg("RS512"),
        ),
        s(
            "alg-hs256",
            Expect::Out("token-invalid-algorithm"),
            |i, _| i.session_token("user_1").alg("HS256"),
        ),
        s(
            "alg-none",
            Expect::Out("token-invalid-algorithm"),
            |i, _| i.session_token("user_1").alg("none"),
        ),
        s("typ-jws", Expect::Out("token-invalid"), |i, _| {
            i.session_token("user_1").typ("JWS")
        }),
        s("without-typ", Expect::In, |i, _| {
            i.session_token("user_1").without_header_field("typ")
        }),
        s("without-cat", Expect::In, |i, _| {
            i.session_token("user_1").without_header_field("cat")
        }),
        s("cat-m2m", Expect::Out("token-type-mismatch"), |i, _| {
            i.session_token("user_1")
                .header_field("cat", "cl_B7d4PD333AAA")
        }),
        s("missing-signature", Expect::Out("token-invalid"), |i, _| {
            i.session_token("user_1")
                .malformed(Malformed::MissingSignature)
        }),
        s(
            "tampered-payload",
            Expect::Out("token-invalid-signature"),
            |i, _| {
                i.session_token("user_1")
                    .malformed(Malformed::TamperedPayload)
            },
        ),
        s(
            "signature-not-base64url",
            Expect::Out("token-invalid"),
            |i, _| {
                i.session_token("user_1")
                    .malformed(Malformed::SignatureNotBase64url)
            },
        ),
        s(
            "without-sub",
            Expect::Out("token-verification-failed"),
            |i, _| i.session_token("user_1").without_claim("sub"),
        ),
        s(
            "sub-number",
            Expect::Out("token-verification-failed"),
            |i, _| i.session_token("user_1").claim("sub", 42),
        ),
        s(
            "without-exp",
            Expect::Out("token-verification-failed"),
            |i, _| i.session_token("user_1").without_claim("exp"),
        ),
    ];
    // A version 1 token with everything at once.
    cases.push(SessionCase {
        permissions: Some(&["org:invoices:read"]),
        ..s("v1-everything", Expect::In, |i, _| {
            i.session_token("user_9")
                .v1()
                .session_id("sess_9")
                .org("org_9", "nine", "admin")
                .org_permissions(["org:invoices:read"])
                .features(["o:invoices"])
                .plans(["o:team"])
                .actor("user_admin")
                .factor_verification_age(1, 1)
                .claim("metadata", json!({"a": [1, 2]}))
        })
    });
    cases
}

/// `has()` questions asked of every outcome.
fn has_checks() -> Vec<Value> {
    vec![
        json!({"role": "org:admin"}),
        json!({"role": "billing_manager"}),
        json!({"permission": "org:invoices:create"}),
        json!({"permission": "org:sys_domains:manage"}),
        json!({"permission": "org:members:manage"}),
        json!({"feature": "premium"}),
        json!({"feature": "o:dashboard"}),
        json!({"feature": "u:beta"}),
        json!({"plan": "pro"}),
        json!({"plan": "u:free"}),
        json!({"reverification": "strict"}),
        json!({"reverification": "lax"}),
        json!({"reverification": {"level": "first_factor", "afterMinutes": 2}}),
    ]
}

/// One configuration of the matrix: the instance whose tokens it gets, the crate's side and
/// the oracle's.
struct Cfg {
    name: &'static str,
    instance: TestInstance,
    config: ClerkConfig,
    accepts: Accepts,
    jwks: bool,
    oracle: Value,
    carriers: &'static [Carrier],
}

/// A machine token case: its name, how the stand-in issues it, what it means (in a
/// configuration accepting its kind).
type Issue = Box<dyn Fn(&TestBackendApi) -> String>;

fn machine_cases() -> Vec<(&'static str, TokenKind, Expect, Issue)> {
    let ak = TokenKind::ApiKey;
    let mt = TokenKind::M2mToken;
    let oat = TokenKind::OauthToken;
    let case = |name, kind, expect, issue: fn(&TestBackendApi) -> String| {
        (name, kind, expect, Box::new(issue) as Issue)
    };
    vec![
        case("ak/user", ak, Expect::In, |b| {
            b.api_key("user_1")
                .name("ci")
                .scopes(["read", "write"])
                .claims(json!({"tier": "gold"}))
                .issue()
        }),
        case("ak/org", ak, Expect::In, |b| b.api_key("org_1").issue()),
        case("ak/id-and-secret", ak, Expect::In, |b| {
            b.api_key("user_2")
                .id("ak_2fixedid")
                .secret("ak_live_fixedsecret")
                .issue()
        }),
        case("ak/expiring", ak, Expect::In, |b| {
            b.api_key("user_3")
                .expires_in(Duration::from_secs(3600))
                .issue()
        }),
        case("ak/expired", ak, Expect::Out("token-invalid"), |b| {
            b.api_key("user_4").expired().issue()
        }),
        case("ak/revoked", ak, Expect::Out("token-invalid"), |b| {
            let t = b.api_key("user_5").issue();
            b.revoke(&t);
            t
        }),
        case("ak/unknown", ak, Expect::Out("token-invalid"), |_| {
            "ak_never_issued".to_owned()
        }),
        case("mt/machine", mt, Expect::In, |b| {
            b.m2m_token("mch_1")
                .scopes(["jobs:run"])
                .claims(json!({"env": "ci"}))
                .issue()
        }),
        case("mt/revoked", mt, Expect::Out("token-invalid"), |b| {
            let t = b.m2m_token("mch_2").issue();
            b.revoke(&t);
            t
        }),
        case("oat/user", oat, Expect::In, |b| {
            b.oauth_token("user_6")
                .client_id("client_1")
                .scopes(["email", "profile"])
                .audience(["https://api.example.com"])
                .issue()
        }),
        case("oat/expired", oat, Expect::Out("token-invalid"), |b| {
            b.oauth_token("user_7").expired().issue()
        }),
    ]
}

/// One request of the matrix.
struct Case {
    id: String,
    config: usize,
    headers: Vec<(String, String)>,
    request: actix_http::Request,
    /// The reason the kit means (`None`: signed in); `None` when only agreement is checked.
    expect: Option<Option<&'static str>>,
    permissions: Option<&'static [&'static str]>,
}

fn request_headers(req: &actix_http::Request) -> Vec<(String, String)> {
    req.headers()
        .iter()
        .map(|(k, v)| {
            (
                k.as_str().to_owned(),
                String::from_utf8_lossy(v.as_bytes()).into_owned(),
            )
        })
        .collect()
}

#[derive(Default)]
struct Slot(Mutex<Option<Auth>>);

async fn capture(auth: Auth, slot: web::Data<Slot>) -> HttpResponse {
    *slot.0.lock() = Some(auth);
    HttpResponse::Ok().finish()
}

async fn app_for(
    cfg: &Cfg,
    slot: web::Data<Slot>,
) -> impl Service<
    actix_http::Request,
    Response = ServiceResponse<impl MessageBody>,
    Error = actix_web::Error,
> {
    let mw = ClerkWithAuth::new(cfg.config.clone())
        .accepts(cfg.accepts.clone())
        .expect("the configuration verifies what it accepts");
    test::init_service(
        App::new()
            .app_data(slot)
            .wrap(mw)
            .default_service(web::to(capture)),
    )
    .await
}

/// Runs the oracle over the cases; outcomes by id.
fn oracle(cfgs: &[Cfg], cases: &[Case]) -> HashMap<String, Value> {
    let dir = support::clerk_backend_dir();
    let configs: serde_json::Map<String, Value> = cfgs
        .iter()
        .map(|c| (c.name.to_owned(), c.oracle.clone()))
        .collect();
    let input = json!({
        "configs": configs,
        "cases": cases.iter().map(|c| json!({
            "id": c.id,
            "config": cfgs[c.config].name,
            "method": "GET",
            "url": URL,
            "headers": c.headers.iter().map(|(k, v)| json!([k, v])).collect::<Vec<_>>(),
            "has": has_checks(),
        })).collect::<Vec<_>>(),
    });
    let mut child = Command::new("node")
        .arg(dir.join("testing-kit-oracle.mjs"))
        .env("CLERK_TELEMETRY_DISABLED", "1")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
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
        "testing-kit-oracle.mjs failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let doc: Value = serde_json::from_slice(&out.stdout).expect("oracle JSON");
    assert_eq!(doc["clerkBackendVersion"], "3.25.0");
    doc["outcomes"]
        .as_object()
        .expect("outcomes")
        .iter()
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect()
}

/// `message` with every `Current date: <date>` left out (each side reads its own clock).
fn without_current_dates(message: &str) -> String {
    const MARK: &str = "Current date: ";
    const DATE_LEN: usize = "Thu, 26 Nov 2026 12:15:37 GMT".len();
    let (mut out, mut rest) = (String::new(), message);
    while let Some(i) = rest.find(MARK) {
        out.push_str(&rest[..i + MARK.len()]);
        let after = &rest[i + MARK.len()..];
        out.push_str("<now>");
        rest = after.get(DATE_LEN..).unwrap_or("");
    }
    out.push_str(rest);
    out
}

/// JSON text in a canonical form that keeps member order.
fn canonical(text: &str) -> String {
    serde_json::from_str::<Value>(text)
        .map_or_else(|_| format!("<not JSON: {text}>"), |v| v.to_string())
}

#[actix_web::test]
async fn kit_tokens_are_decided_by_clerk_as_by_us() {
    let prod = TestInstance::new();
    let dev = TestInstance::development();
    let stranger = TestKey::generate("ins_stranger");
    let backend = TestBackendApi::start(&prod);
    let pem_cfg = |name: &'static str, instance: &TestInstance| Cfg {
        name,
        instance: instance.clone(),
        config: instance
            .config()
            .authorized_parties([DEFAULT_AZP])
            .build()
            .expect("config"),
        accepts: Accepts::default(),
        jwks: false,
        oracle: json!({
            "secretKey": TEST_SECRET_KEY,
            "publishableKey": instance.publishable_key(),
            "jwtKey": instance.public_pem(),
            "apiUrl": backend.url(),
            "acceptsToken": null,
            "authorizedParties": [DEFAULT_AZP],
        }),
        carriers: &[Carrier::Header, Carrier::Cookies, Carrier::SuffixedCookies],
    };
    let jwks_cfg = |name: &'static str, accepts: Accepts, accepts_js: Value, carriers| Cfg {
        name,
        instance: prod.clone(),
        config: backend
            .config()
            .authorized_parties([DEFAULT_AZP])
            .build()
            .expect("config"),
        accepts,
        jwks: true,
        oracle: json!({
            "secretKey": backend.secret_key(),
            "publishableKey": prod.publishable_key(),
            "apiUrl": backend.url(),
            "acceptsToken": accepts_js,
            "authorizedParties": [DEFAULT_AZP],
        }),
        carriers,
    };
    let cfgs = vec![
        pem_cfg("prod-pem", &prod),
        pem_cfg("dev-pem", &dev),
        jwks_cfg(
            "prod-jwks-any",
            Accepts::Any,
            json!("any"),
            &[Carrier::Header, Carrier::Cookies, Carrier::SuffixedCookies],
        ),
        jwks_cfg(
            "prod-jwks-api-keys",
            Accepts::Kind(TokenKind::ApiKey),
            json!("api_key"),
            &[Carrier::Header],
        ),
    ];

    // The requests, minted now (the oracle and the crate decide the same ones).
    let mut cases: Vec<Case> = Vec::new();
    let sessions = session_cases();
    for (ci, cfg) in cfgs.iter().enumerate() {
        let machines_only = cfg.accepts == Accepts::Kind(TokenKind::ApiKey);
        for sc in &sessions {
            let token = (sc.mint)(&cfg.instance, &stranger).sign();
            for &carrier in cfg.carriers {
                let req = test::TestRequest::get().uri("/kit");
                let req = match carrier {
                    Carrier::Header => req.bearer_token(&token),
                    Carrier::Cookies => req.session_cookies(&cfg.instance, &token),
                    Carrier::SuffixedCookies => req.suffixed_session_cookies(&cfg.instance, &token),
                }
                .to_request();
                let expect = if machines_only {
                    Some(Some("token-type-mismatch"))
                } else if carrier == Carrier::Header || sc.cookies_too {
                    Some(sc.expect.reason(cfg.jwks))
                } else {
                    None
                };
                cases.push(Case {
                    id: format!("{}/session/{}/{}", cfg.name, sc.name, carrier.name()),
                    config: ci,
                    headers: request_headers(&req),
                    request: req,
                    expect,
                    permissions: sc.permissions,
                });
            }
        }
        if !cfg.jwks {
            continue;
        }
        for (name, kind, expect, issue) in machine_cases() {
            let token = issue(&backend);
            let req = test::TestRequest::get()
                .uri("/kit")
                .bearer_token(&token)
                .to_request();
            let expect = if cfg.accepts.accepts(kind) {
                expect.reason(true)
            } else {
                Some("token-type-mismatch")
            };
            cases.push(Case {
                id: format!("{}/machine/{name}", cfg.name),
                config: ci,
                headers: request_headers(&req),
                request: req,
                expect: Some(expect),
                permissions: None,
            });
        }
    }

    let theirs = oracle(&cfgs, &cases);

    let slot = web::Data::new(Slot::default());
    let mut apps = Vec::new();
    for cfg in &cfgs {
        apps.push(app_for(cfg, slot.clone()).await);
    }
    let checks: Vec<Has> = has_checks()
        .into_iter()
        .map(|q| serde_json::from_value(q).expect("Has from Clerk's parameters"))
        .collect();
    let (mut passed, mut failures) = (0usize, Vec::new());
    let mut tally: BTreeMap<String, usize> = BTreeMap::new();
    for case in cases {
        let res = test::call_service(&apps[case.config], case.request).await;
        assert_eq!(res.status(), StatusCode::OK, "{}", case.id);
        let auth = slot.0.lock().take().expect("the handler ran");
        let clerk = &theirs[&case.id];
        let mut problems = Vec::new();
        if let Some(e) = clerk.get("error").or(clerk.get("toAuthError")) {
            problems.push(format!("Clerk could not decide it: {e}"));
        }
        // Clerk says signed in for a pending session and hands out a signed-out auth object;
        // ours is signed out with `session-pending` (README, deliberate differences).
        let pending = clerk["status"] == "signed-in"
            && serde_json::from_str::<Value>(clerk["authJson"].as_str().unwrap_or("null"))
                .is_ok_and(|a| a["sessionStatus"] == "pending");
        let their_reason: Option<&str> = if pending {
            Some("session-pending")
        } else if clerk["status"] == "signed-in" {
            None
        } else {
            clerk["reason"].as_str()
        };
        let our_reason = auth.reason().map(|r| r.as_str());
        if our_reason != their_reason {
            problems.push(format!(
                "reason: ours {our_reason:?}, Clerk {their_reason:?}"
            ));
        }
        if clerk["status"] == "signed-out" {
            let (a, b) = (
                without_current_dates(auth.message()),
                without_current_dates(clerk["message"].as_str().unwrap_or("")),
            );
            if a != b {
                problems.push(format!("message:\n    ours  {a:?}\n    Clerk {b:?}"));
            }
        }
        let ours_json = serde_json::to_string(&auth).expect("Auth serialises");
        let (a, b) = (
            canonical(&ours_json),
            canonical(clerk["authJson"].as_str().unwrap_or("null")),
        );
        if a != b {
            problems.push(format!("auth:\n    ours  {a}\n    Clerk {b}"));
        }
        let their_has = clerk["has"].as_array().cloned().unwrap_or_default();
        for (i, check) in checks.iter().enumerate() {
            let ours = auth.has(check);
            let theirs = their_has.get(i).and_then(Value::as_bool);
            if theirs != Some(ours) {
                problems.push(format!(
                    "has({}): ours {ours}, Clerk {theirs:?}",
                    has_checks()[i]
                ));
            }
        }
        // What the kit means.
        if let Some(want) = case.expect {
            if their_reason != want {
                problems.push(format!(
                    "the kit means {want:?}; Clerk decides {their_reason:?}"
                ));
            }
        }
        if let Some(perms) = case.permissions {
            if their_reason.is_none() {
                let want: BTreeSet<&str> = perms.iter().copied().collect();
                let got: BTreeSet<&str> = auth.org_permissions().into_iter().collect();
                if want != got {
                    problems.push(format!("org permissions {got:?}, asked for {want:?}"));
                }
            }
        }
        *tally
            .entry(their_reason.unwrap_or("signed-in").to_owned())
            .or_default() += 1;
        if problems.is_empty() {
            passed += 1;
        } else {
            failures.push(format!(
                "MISMATCH {}:\n  {}",
                case.id,
                problems.join("\n  ")
            ));
        }
    }
    for f in &failures {
        println!("{f}");
    }
    println!(
        "testing kit: {passed} passed, {} failed ({} session options, {} machine tokens, {} configurations; outcomes {tally:?})",
        failures.len(),
        sessions.len(),
        machine_cases().len(),
        cfgs.len(),
    );
    assert!(
        failures.is_empty(),
        "{} mismatches with Clerk",
        failures.len()
    );
    assert!(passed >= 300, "the matrix shrank: {passed} cases");
}

// ---------------------------------------------------------------------------------------------
// What the oracle run cannot show
// ---------------------------------------------------------------------------------------------

async fn user(auth: Auth) -> String {
    auth.user_id().unwrap_or("-").to_owned()
}

/// Status and body of a GET of `/` with `token` as a bearer token.
async fn get<S, B>(app: &S, token: &str) -> (StatusCode, String)
where
    S: Service<actix_http::Request, Response = ServiceResponse<B>, Error = actix_web::Error>,
    B: MessageBody,
{
    let req = test::TestRequest::get()
        .uri("/")
        .bearer_token(token)
        .to_request();
    let res = test::call_service(app, req).await;
    let status = res.status();
    let body = test::read_body(res).await;
    (status, String::from_utf8_lossy(&body).into_owned())
}

#[actix_web::test]
async fn rotated_keys_are_served_and_retired() {
    let instance = TestInstance::new();
    let backend = TestBackendApi::start(&instance);
    let config = || {
        backend
            .config()
            .disable_token_cache()
            .jwks_unknown_kid_cooldown(Duration::ZERO)
            .build()
            .expect("config")
    };
    let app = test::init_service(
        App::new()
            .wrap(ClerkRequireAuth::new(config()))
            .default_service(web::to(user)),
    )
    .await;
    let old_kid = instance.kid();
    let old = instance.session_token("user_old").sign();
    assert_eq!(get(&app, &old).await, (StatusCode::OK, "user_old".into()));
    assert_eq!(backend.jwks_hits(), 1);

    let new_key = instance.rotate_key();
    assert_ne!(new_key.kid(), old_kid);
    assert_eq!(instance.kid(), new_key.kid());
    assert_eq!(instance.jwks()["keys"].as_array().map(Vec::len), Some(2));
    let new = instance.session_token("user_new").sign();
    // An unknown kid: the configuration refetches and finds the new key; the old one still
    // verifies.
    assert_eq!(get(&app, &new).await, (StatusCode::OK, "user_new".into()));
    assert_eq!(backend.jwks_hits(), 2);
    assert_eq!(get(&app, &old).await, (StatusCode::OK, "user_old".into()));

    instance.retire_key(&old_kid);
    let fresh = test::init_service(
        App::new()
            .wrap(ClerkRequireAuth::new(config()))
            .default_service(web::to(user)),
    )
    .await;
    assert_eq!(get(&fresh, &new).await, (StatusCode::OK, "user_new".into()));
    let (status, _) = get(&fresh, &old).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    // The networkless configuration follows the signing key.
    let pem = test::init_service(
        App::new()
            .wrap(ClerkRequireAuth::new(
                instance.config().build().expect("config"),
            ))
            .default_service(web::to(user)),
    )
    .await;
    assert_eq!(get(&pem, &new).await, (StatusCode::OK, "user_new".into()));
}

#[actix_web::test]
async fn the_stand_in_checks_keys_and_goes_down_when_told() {
    let instance = TestInstance::new();
    let backend = TestBackendApi::start(&instance);
    let token = instance.session_token("user_1").sign();
    let api_key = backend.api_key("user_1").issue();

    // A wrong secret key: Clerk's 401, secret-key-invalid, on both the JWKS and the verify
    // endpoints.
    let wrong = ClerkConfig::builder()
        .api_url(backend.url())
        .secret_key("sk_test_wrong")
        .build()
        .expect("config");
    let app = test::init_service(
        App::new()
            .wrap(
                ClerkWithAuth::new(wrong)
                    .accepts(Accepts::Any)
                    .expect("any"),
            )
            .default_service(web::to(|auth: Auth| async move {
                auth.reason().map_or("in", |r| r.as_str()).to_owned()
            })),
    )
    .await;
    assert_eq!(get(&app, &token).await.1, "secret-key-invalid");
    assert_eq!(get(&app, &api_key).await.1, "secret-key-invalid");
    assert_eq!(
        backend.last_jwks_authorization().as_deref(),
        Some("Bearer sk_test_wrong")
    );
    let calls = backend.verify_calls();
    assert_eq!(calls.len(), 1);
    assert_eq!(calls[0].token.as_deref(), Some(api_key.as_str()));

    // Outages: the strict middleware answers 503 for what it cannot decide, then recovers.
    let app = test::init_service(
        App::new()
            .wrap(
                ClerkRequireAuth::new(
                    backend
                        .config()
                        .machine_token_cache_ttl(Duration::ZERO)
                        .machine_token_verify_timeout(Duration::from_millis(300))
                        .jwks_fetch_timeout(Duration::from_millis(300))
                        .build()
                        .expect("config"),
                )
                .accepts(Accepts::Any)
                .expect("any"),
            )
            .default_service(web::to(user)),
    )
    .await;
    for outage in [Outage::Status(503), Outage::Hang, Outage::Refuse] {
        backend.set_outage(Some(outage.clone()));
        let (status, _) = get(&app, &api_key).await;
        assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "{outage:?}");
        backend.set_outage(None);
    }
    assert_eq!(get(&app, &api_key).await, (StatusCode::OK, "user_1".into()));
    assert_eq!(get(&app, &token).await, (StatusCode::OK, "user_1".into()));
}

#[actix_web::test]
async fn auth_values_and_request_helpers_serve_handler_tests() {
    // Handlers called directly.
    let admin = SessionTokenBuilder::new("user_1")
        .org("org_1", "acme", "admin")
        .org_permissions(["org:invoices:create"])
        .features(["u:beta"])
        .to_auth();
    assert!(admin.is_signed_in());
    assert_eq!(admin.org_role(), Some("org:admin"));
    assert_eq!(admin.org_permissions(), vec!["org:invoices:create"]);
    assert!(admin.has(&Has::feature("beta")));
    assert_eq!(admin.session_id(), Some("sess_2test"));
    let pending = SessionTokenBuilder::new("user_1").pending().to_auth();
    assert_eq!(pending.reason(), Some(Reason::SessionPending));
    let claims = signed_in_auth(json!({"sub": "user_2", "custom": 1}));
    assert_eq!(claims.claim("custom"), Some(&json!(1)));
    let machine = MachineTokenBuilder::oauth_token("user_3")
        .client_id("client_9")
        .scopes(["email"])
        .to_auth();
    assert_eq!(machine.token_kind(), Some(TokenKind::OauthToken));
    assert_eq!(machine.client_id(), Some("client_9"));
    assert_eq!(machine.user_id(), Some("user_3"));

    // Extractors find an Auth put on a request.
    let req = test::TestRequest::get().to_http_request_with_auth(admin.clone());
    let got = Authenticated::extract(&req).await.expect("signed in");
    assert_eq!(got.user_id(), Some("user_1"));
    let out = signed_out_auth(Reason::TokenInvalidSignature, "JWT signature is invalid.");
    let req = test::TestRequest::get().to_http_request_with_auth(out);
    let err = Authenticated::extract(&req).await.expect_err("signed out");
    let res = actix_web::ResponseError::error_response(&err);
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
    let challenge = res
        .headers()
        .get("www-authenticate")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    assert!(challenge.contains("invalid_token"), "{challenge}");
    let missing = signed_out_auth(Reason::SessionTokenAndUatMissing, "");
    let req = test::TestRequest::get().to_http_request_with_auth(missing);
    let err = Authenticated::extract(&req).await.expect_err("signed out");
    let res = actix_web::ResponseError::error_response(&err);
    let challenge = res
        .headers()
        .get("www-authenticate")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    assert!(!challenge.contains("invalid_token"), "{challenge}");

    // Cookies on a development instance carry the dev-browser cookie; the lax middleware signs
    // them in, plain and suffixed, and a browser's cookies do not need the header.
    let dev = TestInstance::development();
    let app = test::init_service(
        App::new()
            .wrap(ClerkWithAuth::new(dev.config().build().expect("config")))
            .default_service(web::to(user)),
    )
    .await;
    let token = dev.session_token("user_dev").sign();
    for req in [
        test::TestRequest::get().session_cookies(&dev, &token),
        test::TestRequest::get().suffixed_session_cookies(&dev, &token),
    ] {
        let req = req.uri("/").to_request();
        let cookie = req
            .headers()
            .get("cookie")
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_owned();
        assert!(cookie.contains("__clerk_db_jwt"), "{cookie}");
        assert_eq!(test::call_and_read_body(&app, req).await, "user_dev");
    }
    let bare = test::TestRequest::get()
        .uri("/")
        .append_header(("cookie", format!("__session={token}; __client_uat=1")))
        .to_request();
    assert_eq!(test::call_and_read_body(&app, bare).await, "-");
}

#[actix_web::test]
async fn tokens_have_clerks_shape() {
    let instance = TestInstance::new();
    let b = instance.session_token("user_1");
    let header = b.header();
    assert_eq!(
        header,
        json!({"alg": "RS256", "cat": "cl_B7d4PD111AAA", "kid": instance.kid(), "typ": "JWT"})
    );
    let p = b.payload();
    let names: Vec<&str> = p
        .as_object()
        .expect("object")
        .keys()
        .map(String::as_str)
        .collect();
    assert_eq!(
        names,
        ["azp", "exp", "fva", "iat", "iss", "nbf", "sid", "sts", "sub", "v"]
    );
    assert_eq!(p["iss"], "https://clerk.example.com");
    assert_eq!(p["sts"], "active");
    assert_eq!(p["v"], 2);
    assert_eq!(p["fva"], json!([0, -1]));
    let (iat, nbf, exp) = (
        p["iat"].as_i64().expect("iat"),
        p["nbf"].as_i64().expect("nbf"),
        p["exp"].as_i64().expect("exp"),
    );
    assert_eq!((iat - nbf, exp - iat), (10, 3600));
    let v1 = instance.session_token("user_1").v1();
    assert_eq!(
        v1.header(),
        json!({"alg": "RS256", "kid": instance.kid(), "typ": "JWT"})
    );
    let names: Vec<String> = v1
        .payload()
        .as_object()
        .expect("object")
        .keys()
        .cloned()
        .collect();
    assert_eq!(names, ["azp", "exp", "iat", "iss", "nbf", "sid", "sub"]);

    // Version 2 organisation permissions as Clerk encodes them.
    let p = instance
        .session_token("user_1")
        .org("org_1", "acme", "org:admin")
        .features(["u:beta", "o:dashboard"])
        .org_permissions([
            "org:invoices:read",
            "org:invoices:create",
            "org:members:read",
        ])
        .payload();
    assert_eq!(p["fea"], "u:beta,o:dashboard,o:invoices,o:members");
    assert_eq!(
        p["o"],
        json!({"fpm": "0,3,1", "id": "org_1", "per": "read,create", "rol": "admin", "slg": "acme"})
    );

    // Keys: a JWK that names the key, three-part tokens, the publishable key's parts.
    let key = instance.key();
    assert_eq!(key.jwk()["kid"], instance.kid());
    assert_eq!(instance.jwks()["keys"][0], key.jwk());
    assert!(instance.publishable_key().starts_with("pk_live_"));
    assert_eq!(instance.frontend_api(), "clerk.example.com");
    assert_eq!(instance.cookie_suffix().len(), 8);
    let dev = TestInstance::builder()
        .development()
        .frontend_api("fine-ant-12.clerk.accounts.dev")
        .kid("ins_fixed")
        .build();
    assert!(dev.publishable_key().starts_with("pk_test_"));
    assert_eq!(dev.kid(), "ins_fixed");
    assert_eq!(
        TestInstance::with_key(key.clone()).public_pem(),
        key.public_pem()
    );
    assert_eq!(
        instance
            .session_token("u")
            .malformed(Malformed::MissingSignature)
            .sign()
            .split('.')
            .count(),
        2
    );
}

/// `-----BEGIN <label>-----` PEM of `der`.
fn pem(label: &str, der: &[u8]) -> String {
    use base64::Engine as _;
    let body = base64::engine::general_purpose::STANDARD.encode(der);
    let lines: Vec<&str> = body
        .as_bytes()
        .chunks(64)
        .map(|c| std::str::from_utf8(c).expect("ascii"))
        .collect();
    format!(
        "-----BEGIN {label}-----\n{}\n-----END {label}-----\n",
        lines.join("\n")
    )
}

/// The DER element at the start of `der`: (tag, content, rest).
fn der_element(der: &[u8]) -> (u8, &[u8], &[u8]) {
    let (tag, first) = (der[0], der[1]);
    let (len, header) = if first < 0x80 {
        (first as usize, 2)
    } else {
        let n = (first & 0x7f) as usize;
        let len = der[2..2 + n]
            .iter()
            .fold(0usize, |acc, b| (acc << 8) | *b as usize);
        (len, 2 + n)
    };
    (tag, &der[header..header + len], &der[header + len..])
}

#[actix_web::test]
async fn keys_load_from_pkcs8_and_pkcs1_pem() {
    use aws_lc_rs::encoding::AsDer as _;
    use aws_lc_rs::rsa::{KeyPair, KeySize};
    let pair = KeyPair::generate(KeySize::Rsa2048).expect("RSA key");
    let pkcs8 = pair.as_der().expect("PKCS#8 DER");
    let pkcs8 = pkcs8.as_ref();
    // PrivateKeyInfo ::= SEQUENCE { version, algorithm, OCTET STRING { RSAPrivateKey } }
    let (_, info, _) = der_element(pkcs8);
    let (_, _, rest) = der_element(info);
    let (_, _, rest) = der_element(rest);
    let (tag, pkcs1, _) = der_element(rest);
    assert_eq!(tag, 0x04, "the private key's OCTET STRING");

    let from8 = TestKey::from_pem(&pem("PRIVATE KEY", pkcs8), "ins_pem");
    let from1 = TestKey::from_pem(&pem("RSA PRIVATE KEY", pkcs1), "ins_pem");
    let from_der = TestKey::from_pkcs8_der(pkcs8, "ins_pem");
    assert_eq!(from8.public_pem(), from1.public_pem());
    assert_eq!(from8.jwk(), from_der.jwk());
    assert_eq!(from1.kid(), "ins_pem");

    // A key loaded from PEM signs for an instance, and its tokens verify.
    let instance = TestInstance::with_key(from1);
    let app = test::init_service(
        App::new()
            .wrap(ClerkRequireAuth::new(
                instance.config().build().expect("config"),
            ))
            .default_service(web::to(user)),
    )
    .await;
    let token = from8.session_token("user_pem").sign();
    assert_eq!(get(&app, &token).await, (StatusCode::OK, "user_pem".into()));
}
