//! Shared harness of the fuzz targets: a fixed test key, Clerk configurations, and in-process
//! actix apps driven on one actix runtime per fuzzing process (libFuzzer calls the target on one
//! thread, so everything lives in thread-locals created on first use).
//!
//! Only the crate's PUBLIC API is used. Tokens are minted by the crate's testing kit
//! (`actix_clerk::testing`, feature `testing`): a `TestKey` loaded from a fixed PEM, the two
//! `TestInstance`s it signs for.

use std::cell::OnceCell;
use std::future::Future;
use std::pin::Pin;
use std::rc::Rc;
use std::sync::OnceLock;

use actix_clerk::testing::TestInstance;
use actix_clerk::{Auth, ClerkConfig, ClerkWithAuth, Has, Reverification, ReverificationLevel};
use actix_http::Request;
use actix_web::dev::ServiceResponse;
use actix_web::http::header::{HeaderName, HeaderValue};
use actix_web::{test, web, App, HttpResponse};
use serde_json::Value;

pub use actix_clerk::testing::{b64url, TestKey};

pub mod reference;

/// The webhook targets' input: one flags byte, then header lines, an empty line (`\n\n`) and
/// the body (empty when there is no empty line). `None` for an empty input.
pub fn flags_head_body(data: &[u8]) -> Option<(u8, &[u8], &[u8])> {
    let (&flags, rest) = data.split_first()?;
    Some(match rest.windows(2).position(|w| w == b"\n\n") {
        Some(at) => (flags, &rest[..at], &rest[at + 2..]),
        None => (flags, rest, &[][..]),
    })
}

/// A webhook input's head read as header lines (see [`head_lines`]).
pub struct HeadLines<'a> {
    /// The `name: value` lines that make a header line, in order.
    pub headers: Vec<(HeaderName, HeaderValue)>,
    /// The value of the last line named as the target's own field (not a header), raw.
    pub field: Option<&'a [u8]>,
    /// False when a line sets a `svix-*` or `webhook-*` header itself.
    pub clean: bool,
}

/// Reads the head of [`flags_head_body`]: `name: value` lines (one space after the colon
/// dropped; lines without a colon, or that are no valid header name or value, skipped). The
/// line named `field` carries one of the target's own inputs and is not a header.
pub fn head_lines<'a>(head: &'a [u8], field: &[u8]) -> HeadLines<'a> {
    let mut out = HeadLines {
        headers: Vec::new(),
        field: None,
        clean: true,
    };
    for line in head.split(|&b| b == b'\n') {
        let Some(colon) = line.iter().position(|&b| b == b':') else {
            continue;
        };
        let (name, value) = (&line[..colon], &line[colon + 1..]);
        let value = value.strip_prefix(b" ").unwrap_or(value);
        if name == field {
            out.field = Some(value);
            continue;
        }
        let (Ok(name), Ok(value)) = (HeaderName::from_bytes(name), HeaderValue::from_bytes(value))
        else {
            continue;
        };
        out.clean &= !name.as_str().starts_with("svix-") && !name.as_str().starts_with("webhook-");
        out.headers.push((name, value));
    }
    out
}

/// A 2048-bit RSA key made for these fuzz targets only (it signs nothing else anywhere), fixed so
/// that the committed seed tokens verify (`fuzz/seeds/make_seeds.rs` mints them with it).
const TEST_ONLY_PRIVATE_KEY: &str = "-----BEGIN PRIVATE KEY-----
MIIEvgIBADANBgkqhkiG9w0BAQEFAASCBKgwggSkAgEAAoIBAQCwLH3/egazQeTK
5aHtc3UQlmSWWr8gFDH1A9eE7mGYt6RBo006bNyBdLn1iiTuYhO68ebrvR6QtxFT
B64vW45Yw77FETGPQYuq5lY9+jsaJ6v+8hsqlGwYpS5qfEJp04MD2OixOvTbMtab
x56YKYtJWh7gLXlQZFl/ZtQKkRe9yJan8v7TsFamixDuEs3T/tL7Hl+Js3bzzGWr
hrbMHeO0lUtoIovBGi4kQAKdMvRPaJSmwX6/+7gEaDs5KJIPNo88gILkPQCcqky2
ZjJeCpJFfASfimO/O/MU+Vjqopt/Rjsbj3SqvxXj2jlFZJK4+G6URIsM+OXF4I49
CAHv82KrAgMBAAECggEAKFyBH1MvDsl1Z9CVOQffFYZHFDVFHU3TJi2TpjZQ8MJ9
5LXLfyuqlxQNeIYGMQESQR2jiHWi94ehdfLIAryIj6iE37QxNP9Qxr4PmxJlkPfu
zTFdbPNlEn5hdG70bjdRiEOdB+GYcFGk3jqtCHJYIV1+vmBcr0DWSjxeLu+Pz2Aw
Wgqefx6bx7cDmWzMybNv/71u9vMDbhO79vx+mvH3u222f2kt7lEQ1EOkSNeTn9KX
FlUPINkdftLlC1eKv1qne53iHU0rl+jkzF7APol124UD/WWs10MWhcgN5NV5wo5r
5Z7wxhEg3tzmcRf+57UF58x+/9PL9PMk/CyIctCCbQKBgQDbz/nREbbv/3iFX6Jy
8BoqwcHeH94rdMsdNiAL/COsOr55OlK8HpjROnDMU1aeLHsrzKUwDb3VQ7KKZt1w
bha8Hl/8f3VnzotpPlC4lS+6EZuRl0by1EZCKRKZD+5sYfEdkQ35seivUF8PTSnS
zvoEOKD4KaSbt2PpiffwyfhyLwKBgQDNLVx2GPrCGIT0fihdk1pRKa0kEM5XKlkZ
bAHQV0T2MUqiuebOUm3fQaB8NiuLLmgysYL3nTBrNNlT7ZKCrBs3I1I0jLTTkTe1
x1Ljdxqw1Yge5k4go1mkmK/G0jtsrHlmI9dC+qWAd4ouEgB9PF99H+5O5RbCQ8RZ
WWme+XIkRQKBgEwMjm/I4zPxfS8XwUpmy4bTdlF1URZT2BoJKdk7qNPjlxa2GP3A
0DpDL9dhVexvk0W6DcSsXGs2esTrhd1qGS+Iisj/CA2cJhuJVcAmzVZg1SPv5LoK
uywUrbyLCIAy+oqyLtWeudQ9yEWw+rFWrqVbOkXhknPVZRndhAyos+49AoGBAIDJ
tV0H5vbIj0QsoEfEg4+oml6mEe8SzOSxMB5HeSkT3aZxDFh70y2tMwBkvEZb9dnE
JNIqn8bbYINW/3z4bQjaKfKEU8jtQUvf9r6C94UCM7Q5mdbQ0icIFGW3dseLJ5Se
cLNBQ3t1DY5HjHkP2VxgG6T4FaYRBYGUJ0E7kJMFAoGBAMb37ZbUdbvhE/FJ5xyd
Xo2KZ9SuE1w2vP63aHTrKvgE5x8EcVeFkLO7QQyUCSnGzNPq2ncRQSoXLvhA91MG
oBNufg15abdxk04fH/PpyRayrs/cIwdxAd+mPtjHl08bj6L8WLM049v25EHTUvcQ
rFDrlie9vVNHuhT/JuoYv3dt
-----END PRIVATE KEY-----";

/// `kid` of the seed tokens.
pub const KID: &str = "ins_fuzz";
/// Authorized party of the `prod` configuration.
pub const APP_ORIGIN: &str = "https://app.example.com";
/// Frontend API hosts of the two instances.
pub const PROD_FAPI: &str = "clerk.example.com";
/// Development instance host.
pub const DEV_FAPI: &str = "fine-ant-12.clerk.accounts.dev";

/// The process's key: the fixed test-only key, `kid` [`KID`].
pub fn key() -> &'static TestKey {
    static KEY: OnceLock<TestKey> = OnceLock::new();
    KEY.get_or_init(|| TestKey::from_pem(TEST_ONLY_PRIVATE_KEY, KID))
}

/// A token whose payload is exactly `payload` (any bytes) under the standard header, signed by
/// the fixed key (RS256).
pub fn sign_payload(payload: &[u8]) -> String {
    let header = format!(r#"{{"alg":"RS256","kid":"{KID}","typ":"JWT"}}"#);
    key().sign_bytes(header.as_bytes(), payload)
}

/// The production instance (`pk_live_…` of [`PROD_FAPI`]), signing with [`key`].
pub fn prod_instance() -> &'static TestInstance {
    static PROD: OnceLock<TestInstance> = OnceLock::new();
    PROD.get_or_init(|| {
        TestInstance::builder()
            .key(key().clone())
            .frontend_api(PROD_FAPI)
            .build()
    })
}

/// The development instance (`pk_test_…` of [`DEV_FAPI`]), signing with [`key`].
pub fn dev_instance() -> &'static TestInstance {
    static DEV: OnceLock<TestInstance> = OnceLock::new();
    DEV.get_or_init(|| {
        TestInstance::builder()
            .development()
            .key(key().clone())
            .frontend_api(DEV_FAPI)
            .build()
    })
}

/// Which configuration an app uses.
#[derive(Clone, Copy, Debug)]
pub enum Instance {
    /// pk_live, authorized party https://app.example.com.
    Prod,
    /// pk_test, same party.
    Dev,
    /// pk_live, no authorized parties (more claim sets reach "signed in").
    ProdOpen,
}

/// The configuration of an instance, all verifying with the fixed key (networkless).
pub fn config(instance: Instance) -> ClerkConfig {
    let b = match instance {
        Instance::Prod => prod_instance().config().authorized_parties([APP_ORIGIN]),
        Instance::Dev => dev_instance().config().authorized_parties([APP_ORIGIN]),
        Instance::ProdOpen => prod_instance().config(),
    };
    b.build().expect("configuration")
}

thread_local! {
    // Leaked on purpose: the runtime and the apps live until the process exits, and are never
    // dropped during thread-local destruction (when the runtime's own thread-locals are gone).
    static RUNTIME: &'static actix_rt::SystemRunner = Box::leak(Box::new(actix_rt::System::new()));
}

/// Runs a future to completion on the process's actix runtime.
pub fn block_on<F: Future>(f: F) -> F::Output {
    RUNTIME.with(|rt| rt.block_on(f))
}

type Call = Rc<dyn Fn(Request) -> Pin<Box<dyn Future<Output = ServiceResponse>>>>;

/// An in-process app: `ClerkWithAuth` around a handler that exercises the `Auth` it gets.
#[derive(Clone)]
pub struct LaxApp {
    call: Call,
}

/// Header the handler sets, so a test can tell that it ran.
pub const HANDLER_RAN: &str = "x-fuzz-handler";

fn trace() -> bool {
    static TRACE: OnceLock<bool> = OnceLock::new();
    *TRACE.get_or_init(|| std::env::var_os("FUZZ_TRACE").is_some())
}

async fn handler(auth: web::ReqData<Auth>) -> HttpResponse {
    let auth = auth.into_inner();
    let signed_in = exercise(&auth);
    if trace() {
        // FUZZ_TRACE=1: show each decision (to check what the seeds reach)
        eprintln!(
            "fuzz-trace: {} {:?} perms={:?}",
            if signed_in { "signed-in" } else { "signed-out" },
            auth.reason().map(|r| r.as_str()),
            auth.org_permissions()
        );
    }
    HttpResponse::Ok()
        .insert_header((HANDLER_RAN, if signed_in { "in" } else { "out" }))
        .finish()
}

/// The `has()` questions asked of every `Auth`.
pub fn checks() -> Vec<Has> {
    vec![
        Has::default(),
        Has::role("admin"),
        Has::role("org:admin"),
        Has::role("org:org:member"),
        Has::permission("org:memberships:read"),
        Has::permission("memberships:manage"),
        Has::feature("impersonation"),
        Has::feature("o:impersonation"),
        Has::feature("user:dashboard"),
        Has::feature("x:y:z"),
        Has::plan("pro"),
        Has::plan("u:free_user"),
        Has::reverification(Reverification::StrictMfa),
        Has::reverification(Reverification::Strict),
        Has::reverification(Reverification::Moderate),
        Has::reverification(Reverification::Lax),
        Has::reverification(Reverification::Custom {
            level: ReverificationLevel::MultiFactor,
            after_minutes: 5,
        }),
        Has::reverification(Reverification::Custom {
            level: ReverificationLevel::FirstFactor,
            after_minutes: 0,
        }),
        Has::role("admin")
            .and_permission("org:memberships:read")
            .and_feature("o:impersonation")
            .and_plan("o:pro")
            .and_reverification(Reverification::Lax),
    ]
}

/// Asks everything of an `Auth` and checks the invariants that hold for any input; returns
/// whether it is signed in.
pub fn exercise(auth: &Auth) -> bool {
    let signed_in = auth.is_signed_in();
    for check in checks() {
        let granted = auth.has(&check);
        assert!(
            signed_in || !granted,
            "has() granted something while signed out"
        );
        if check == Has::default() {
            assert!(!granted, "has() with nothing asked must be false");
        }
    }
    let json = serde_json::to_string(auth).expect("Auth serialises");
    let value: Value = serde_json::from_str(&json).expect("Auth serialises to JSON");
    assert_eq!(value["isAuthenticated"], Value::Bool(signed_in));
    assert_eq!(signed_in, auth.reason().is_none());
    let _ = (
        auth.user_id(),
        auth.session_id(),
        auth.session_status(),
        auth.org_id(),
        auth.org_role(),
        auth.org_slug(),
        auth.org_permissions(),
        auth.actor(),
        auth.factor_verification_age(),
        auth.session_claims().map(|c| c.len()),
        auth.claim("sub"),
        auth.message(),
        auth.token_carrier(),
        format!("{auth:?}"),
    );
    if !signed_in {
        assert!(auth.user_id().is_none() && auth.session_claims().is_none());
    }
    signed_in
}

impl LaxApp {
    /// Builds the app for this instance (on the process's runtime).
    pub fn new(instance: Instance) -> LaxApp {
        let cfg = config(instance);
        let svc = block_on(test::init_service(
            App::new()
                .wrap(ClerkWithAuth::new(cfg))
                .default_service(web::to(handler)),
        ));
        let svc = Rc::new(svc);
        LaxApp {
            call: Rc::new(move |req| {
                let svc = Rc::clone(&svc);
                Box::pin(async move { test::call_service(&*svc, req).await.map_into_boxed_body() })
            }),
        }
    }

    /// Sends a GET (or POST) with these headers; returns the response after asserting that
    /// the lax middleware let it through to the handler with a 200.
    pub fn send(
        &self,
        post: bool,
        uri: &str,
        headers: &[(&'static str, HeaderValue)],
    ) -> ServiceResponse {
        let mut req = if post {
            test::TestRequest::post()
        } else {
            test::TestRequest::get()
        }
        .uri(uri);
        for (name, value) in headers {
            req = req.append_header((HeaderName::from_static(name), value.clone()));
        }
        let res = block_on((self.call)(req.to_request()));
        // The browser flow answers a redirect itself (handshake, sync): a 307 with a Location
        // that parses as a URL, and the handler never runs.
        if res.status().as_u16() == 307 {
            let location = res
                .headers()
                .get("location")
                .expect("a 307 from the browser flow carries a Location");
            let text = location.to_str().expect("Location is ASCII");
            assert!(
                url::Url::parse(text).is_ok(),
                "Location is not an absolute URL: {text}"
            );
            assert!(
                !res.headers().contains_key(HANDLER_RAN),
                "the handler ran on a redirect"
            );
            return res;
        }
        assert_eq!(
            res.status().as_u16(),
            200,
            "ClerkWithAuth must always reach the handler (or redirect)"
        );
        assert!(
            res.headers().contains_key(HANDLER_RAN),
            "the handler did not run"
        );
        res
    }
}

/// Turns arbitrary bytes into a header value by dropping the bytes a header value cannot hold
/// (controls other than tab, DEL); everything else, including obs-text, is kept.
pub fn header_value(data: &[u8]) -> HeaderValue {
    let kept: Vec<u8> = data
        .iter()
        .copied()
        .filter(|&b| (b >= 0x20 && b != 0x7f) || b == b'\t')
        .collect();
    HeaderValue::from_bytes(&kept).expect("filtered bytes are a valid header value")
}

thread_local! {
    static APPS: OnceCell<&'static [LaxApp; 3]> = const { OnceCell::new() };
}

/// The apps of the process, built once: `[Prod, Dev, ProdOpen]`.
pub fn apps() -> [LaxApp; 3] {
    APPS.with(|a| {
        (*a.get_or_init(|| {
            Box::leak(Box::new([
                LaxApp::new(Instance::Prod),
                LaxApp::new(Instance::Dev),
                LaxApp::new(Instance::ProdOpen),
            ]))
        }))
        .clone()
    })
}
