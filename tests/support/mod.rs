//! Test, example and fuzz support: a local RSA key that mints Clerk-shaped session tokens
//! (tests, examples and fuzz targets include this file rather than sign tokens themselves), and
//! a local server playing Clerk's Backend API (127.0.0.1, port 0): the JWKS endpoint with a hit
//! counter, and the machine-token verify endpoints answering from a table the test fills.
#![allow(dead_code)]

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use aws_lc_rs::encoding::AsDer;
use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::signature::{self, KeyPair as _, RsaKeyPair};
use base64::Engine as _;
use serde_json::{json, Value};

/// URL-safe base64 without padding.
pub fn b64url(bytes: impl AsRef<[u8]>) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

/// Seconds since the epoch.
pub fn now_secs() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
}

/// An RSA key pair of a (local, pretend) Clerk instance.
pub struct DevKey {
    pair: RsaKeyPair,
    /// The `kid` its tokens carry.
    pub kid: String,
}

impl DevKey {
    /// A fresh 2048-bit key.
    pub fn generate(kid: &str) -> DevKey {
        let pair =
            RsaKeyPair::generate(aws_lc_rs::rsa::KeySize::Rsa2048).expect("RSA key generation");
        DevKey {
            pair,
            kid: kid.to_owned(),
        }
    }

    /// A fixed key, from its PKCS#8 DER encoding: for tokens that must stay valid across runs
    /// (the fuzz targets' committed seed corpora).
    pub fn from_pkcs8(der: &[u8], kid: &str) -> DevKey {
        let pair = RsaKeyPair::from_pkcs8(der).expect("PKCS#8 RSA private key");
        DevKey {
            pair,
            kid: kid.to_owned(),
        }
    }

    /// The public key as PEM (`-----BEGIN PUBLIC KEY-----`).
    pub fn public_pem(&self) -> String {
        let der = self.pair.public_key().as_der().expect("public key DER");
        let body = base64::engine::general_purpose::STANDARD.encode(der.as_ref());
        let mut pem = String::from("-----BEGIN PUBLIC KEY-----\n");
        for chunk in body.as_bytes().chunks(64) {
            pem.push_str(std::str::from_utf8(chunk).expect("ascii"));
            pem.push('\n');
        }
        pem.push_str("-----END PUBLIC KEY-----\n");
        pem
    }

    /// The public key as a JWK of Clerk's JWKS.
    pub fn jwk(&self) -> Value {
        let pk = self.pair.public_key();
        json!({
            "use": "sig",
            "kty": "RSA",
            "kid": self.kid,
            "alg": "RS256",
            "n": b64url(pk.modulus().big_endian_without_leading_zero()),
            "e": b64url(pk.exponent().big_endian_without_leading_zero()),
        })
    }

    /// Signs `header.payload` (given as JSON text) with RS256/384/512.
    pub fn sign_text(&self, alg: &str, header: &str, payload: &str) -> String {
        self.sign_segments(alg, &b64url(header), &b64url(payload))
    }

    /// Signs `header_segment.payload_segment` exactly as given (already encoded, e.g. with
    /// padding or odd characters) and returns the whole token.
    pub fn sign_segments(&self, alg: &str, header_segment: &str, payload_segment: &str) -> String {
        let input = format!("{header_segment}.{payload_segment}");
        let enc: &'static dyn signature::RsaEncoding = match alg {
            "RS384" => &signature::RSA_PKCS1_SHA384,
            "RS512" => &signature::RSA_PKCS1_SHA512,
            _ => &signature::RSA_PKCS1_SHA256,
        };
        let mut sig = vec![0; self.pair.public_modulus_len()];
        self.pair
            .sign(enc, &SystemRandom::new(), input.as_bytes(), &mut sig)
            .expect("signing");
        format!("{input}.{}", b64url(sig))
    }

    /// Signs arbitrary header and payload bytes (not necessarily UTF-8 or JSON) with RS256.
    pub fn sign_bytes(&self, header: &[u8], payload: &[u8]) -> String {
        self.sign_segments("RS256", &b64url(header), &b64url(payload))
    }

    /// Signs a header and payload given as JSON values (RS256 unless the header says RS384/512).
    pub fn sign(&self, header: &Value, payload: &Value) -> String {
        let alg = header["alg"].as_str().unwrap_or("RS256");
        self.sign_text(alg, &header.to_string(), &payload.to_string())
    }

    /// The standard header of this key's tokens.
    pub fn header(&self) -> Value {
        json!({"alg": "RS256", "kid": self.kid, "typ": "JWT"})
    }

    /// A valid session token for `user`, with `extra` claims merged over the defaults
    /// (`null` removes a claim).
    pub fn session_token(&self, user: &str, extra: Value) -> String {
        let now = now_secs();
        let mut claims = json!({
            "azp": "https://app.example.com",
            "exp": now + 3600,
            "iat": now - 10,
            "iss": "https://clerk.example.com",
            "nbf": now - 10,
            "sid": "sess_2test",
            "sub": user,
        });
        if let (Some(base), Value::Object(extra)) = (claims.as_object_mut(), extra) {
            for (k, v) in extra {
                if v.is_null() {
                    base.remove(&k);
                } else {
                    base.insert(k, v);
                }
            }
        }
        self.sign(&self.header(), &claims)
    }
}

/// What the fake Backend API answers on `/v1/jwks`.
#[derive(Clone, Debug)]
pub enum JwksMode {
    /// `200` with these keys.
    Keys(Vec<Value>),
    /// This status with this body.
    Status(u16, String),
    /// Never answers (until the test ends).
    Hang,
    /// `200` with a body that is not JSON.
    InvalidJson,
    /// `200` with `{"keys":[]}`.
    Empty,
}

/// One of the Backend API's machine-token verify endpoints (clerk-behaviour.md §9): a `POST`
/// without the version segment, with a JSON body naming the token.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum VerifyEndpoint {
    /// `/api_keys/verify`, body `{"secret": token}`.
    ApiKeys,
    /// `/m2m_tokens/verify`, body `{"token": token}`.
    M2mTokens,
    /// `/oauth_applications/access_tokens/verify`, body `{"access_token": token}`.
    OAuthAccessTokens,
}

impl VerifyEndpoint {
    /// The three endpoints.
    pub const ALL: [VerifyEndpoint; 3] = [
        VerifyEndpoint::ApiKeys,
        VerifyEndpoint::M2mTokens,
        VerifyEndpoint::OAuthAccessTokens,
    ];

    /// The path under the API URL.
    pub fn path(self) -> &'static str {
        match self {
            VerifyEndpoint::ApiKeys => "/api_keys/verify",
            VerifyEndpoint::M2mTokens => "/m2m_tokens/verify",
            VerifyEndpoint::OAuthAccessTokens => "/oauth_applications/access_tokens/verify",
        }
    }

    /// The field of the JSON body that carries the token.
    pub fn body_field(self) -> &'static str {
        match self {
            VerifyEndpoint::ApiKeys => "secret",
            VerifyEndpoint::M2mTokens => "token",
            VerifyEndpoint::OAuthAccessTokens => "access_token",
        }
    }

    fn index(self) -> usize {
        self as usize
    }
}

/// What a verify endpoint answers for one token.
#[derive(Clone, Debug)]
pub enum VerifyAnswer {
    /// `200`, `Content-Type: application/json`, this body.
    Ok(Value),
    /// This status with this JSON body (a `429` also carries `Retry-After: 1`).
    Status(u16, Value),
    /// Exactly this status, `Content-Type` and body: text that is not JSON, bodies too large or
    /// too deep to parse, JSON served as `text/plain`, …
    Raw {
        status: u16,
        content_type: String,
        body: String,
    },
    /// Never answers (until the test ends, or an [`Outage::Refuse`] drops the connection).
    Hang,
}

impl VerifyAnswer {
    /// Clerk's error answer: `status` with `{"errors":[{"message","long_message","code"}]}`.
    pub fn error(status: u16, code: &str, message: &str) -> VerifyAnswer {
        VerifyAnswer::Status(status, clerk_errors(code, message))
    }
}

/// A Clerk Backend API error body: `{"errors":[{"message","long_message","code"}],"clerk_trace_id"}`.
pub fn clerk_errors(code: &str, message: &str) -> Value {
    json!({
        "errors": [{"message": message, "long_message": format!("{message} (long)"), "code": code}],
        "clerk_trace_id": "trace_standin",
    })
}

/// A `200` answer of `/api_keys/verify`, shaped as Clerk's `APIKey` resource (`object: "api_key"`).
pub fn api_key_body(id: &str, subject: &str, name: &str, claims: Value, scopes: Value) -> Value {
    json!({
        "object": "api_key",
        "id": id,
        "type": "api_key",
        "name": name,
        "subject": subject,
        "scopes": scopes,
        "claims": claims,
        "revoked": false,
        "revocation_reason": null,
        "expired": false,
        "expiration": null,
        "created_by": "user_2creator",
        "description": null,
        "last_used_at": null,
        "created_at": 1_700_000_000_000_i64,
        "updated_at": 1_700_000_000_000_i64,
    })
}

/// A `200` answer of `/m2m_tokens/verify`, shaped as Clerk's `M2MToken` resource
/// (`object: "machine_to_machine_token"`).
pub fn m2m_token_body(id: &str, subject: &str, claims: Value, scopes: Value) -> Value {
    json!({
        "object": "machine_to_machine_token",
        "id": id,
        "subject": subject,
        "scopes": scopes,
        "claims": claims,
        "revoked": false,
        "revocation_reason": null,
        "expired": false,
        "expiration": null,
        "created_at": 1_700_000_000_000_i64,
        "updated_at": 1_700_000_000_000_i64,
    })
}

/// A `200` answer of `/oauth_applications/access_tokens/verify`, shaped as Clerk's
/// `IdPOAuthAccessToken` resource: `object: "clerk_idp_oauth_access_token"` (what
/// `@clerk/backend`'s deserializer maps to `clientId`, `subject`, `scopes`; its
/// `"oauth_access_token"` is a different resource, a social provider's token).
pub fn oauth_token_body(
    id: &str,
    subject: &str,
    client_id: &str,
    scopes: Value,
    aud: Value,
) -> Value {
    json!({
        "object": "clerk_idp_oauth_access_token",
        "id": id,
        "client_id": client_id,
        "type": "oauth_token",
        "subject": subject,
        "scopes": scopes,
        "revoked": false,
        "revocation_reason": null,
        "expired": false,
        "expiration": null,
        "created_at": 1_700_000_000_000_i64,
        "updated_at": 1_700_000_000_000_i64,
        "aud": aud,
    })
}

/// An outage of the Backend API, switched on and off while the server runs.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Outage {
    /// Every verify request is answered with this status and a Clerk-style error body.
    Status(u16),
    /// Every verify request hangs.
    Hang,
    /// Nothing listens on the port (connections refused), JWKS included; switching the outage
    /// off listens again on the same port.
    Refuse,
}

/// One verify request the server received.
#[derive(Clone, Debug)]
pub struct VerifyCall {
    pub endpoint: VerifyEndpoint,
    /// The request's `Authorization` header.
    pub authorization: Option<String>,
    /// The token in the body's field for this endpoint, when the body is JSON with it.
    pub token: Option<String>,
}

#[derive(Default)]
struct VerifyState {
    hits: [AtomicU64; 3],
    answers: parking_lot::Mutex<std::collections::HashMap<(VerifyEndpoint, String), VerifyAnswer>>,
    calls: parking_lot::Mutex<Vec<VerifyCall>>,
    /// Accepted `Authorization: Bearer <key>` keys per endpoint; `None` accepts any.
    keys: parking_lot::Mutex<[Option<Vec<String>>; 3]>,
    outage: parking_lot::Mutex<Option<Outage>>,
    delay: parking_lot::Mutex<Duration>,
    in_flight: AtomicU64,
    max_in_flight: AtomicU64,
}

/// The shared state of one server, handed to each (re)start.
#[derive(Clone)]
struct Shared {
    hits: Arc<AtomicU64>,
    mode: Arc<parking_lot::Mutex<JwksMode>>,
    last_auth: Arc<parking_lot::Mutex<Option<String>>>,
    delay: Arc<parking_lot::Mutex<Duration>>,
    verify: Arc<VerifyState>,
}

/// A local HTTP server playing Clerk's Backend API: the JWKS (`GET /v1/jwks`, counted) and the
/// three machine-token verify endpoints, answering from a table of tokens the test registers
/// (an unregistered token is Clerk's `404`), counting hits per endpoint and recording every
/// call, with a switchable [`Outage`].
pub struct JwksServer {
    /// `http://127.0.0.1:<port>`
    pub url: String,
    hits: Arc<AtomicU64>,
    mode: Arc<parking_lot::Mutex<JwksMode>>,
    /// The `Authorization` header of the last JWKS request.
    pub last_auth: Arc<parking_lot::Mutex<Option<String>>>,
    delay: Arc<parking_lot::Mutex<Duration>>,
    verify: Arc<VerifyState>,
    port: u16,
    handle: parking_lot::Mutex<Option<actix_web::dev::ServerHandle>>,
}

fn header_text(req: &actix_web::HttpRequest, name: &str) -> Option<String> {
    req.headers()
        .get(name)
        .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned())
}

async fn jwks_answer(s: Shared, req: actix_web::HttpRequest) -> actix_web::HttpResponse {
    use actix_web::HttpResponse;
    s.hits.fetch_add(1, Ordering::SeqCst);
    *s.last_auth.lock() = req
        .headers()
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let delay = *s.delay.lock();
    if !delay.is_zero() {
        actix_web::rt::time::sleep(delay).await;
    }
    let mode = s.mode.lock().clone();
    match mode {
        JwksMode::Keys(keys) => HttpResponse::Ok().json(json!({ "keys": keys })),
        JwksMode::Status(code, body) => {
            HttpResponse::build(actix_web::http::StatusCode::from_u16(code).expect("status"))
                .content_type("application/json")
                .body(body)
        }
        JwksMode::Hang => {
            actix_web::rt::time::sleep(Duration::from_secs(3600)).await;
            HttpResponse::Ok().finish()
        }
        JwksMode::InvalidJson => HttpResponse::Ok().body("{not json"),
        JwksMode::Empty => HttpResponse::Ok().json(json!({ "keys": [] })),
    }
}

/// Decrements the in-flight count when a verify request ends (answered or dropped).
struct InFlight(Arc<VerifyState>);
impl Drop for InFlight {
    fn drop(&mut self) {
        self.0.in_flight.fetch_sub(1, Ordering::SeqCst);
    }
}

async fn verify_answer(
    s: Shared,
    endpoint: VerifyEndpoint,
    req: actix_web::HttpRequest,
    body: actix_web::web::Bytes,
) -> actix_web::HttpResponse {
    use actix_web::http::StatusCode;
    use actix_web::HttpResponse;
    let v = s.verify.clone();
    v.hits[endpoint.index()].fetch_add(1, Ordering::SeqCst);
    let now = v.in_flight.fetch_add(1, Ordering::SeqCst) + 1;
    v.max_in_flight.fetch_max(now, Ordering::SeqCst);
    let _in_flight = InFlight(v.clone());
    let authorization = header_text(&req, "authorization");
    let token = serde_json::from_slice::<Value>(&body)
        .ok()
        .and_then(|b| b.get(endpoint.body_field())?.as_str().map(str::to_owned));
    v.calls.lock().push(VerifyCall {
        endpoint,
        authorization: authorization.clone(),
        token: token.clone(),
    });
    let delay = *v.delay.lock();
    if !delay.is_zero() {
        actix_web::rt::time::sleep(delay).await;
    }
    let hang = || async {
        actix_web::rt::time::sleep(Duration::from_secs(3600)).await;
        HttpResponse::Ok().finish()
    };
    let outage = v.outage.lock().clone();
    match outage {
        Some(Outage::Status(code)) => {
            return HttpResponse::build(StatusCode::from_u16(code).expect("status"))
                .insert_header(("retry-after", "1"))
                .json(clerk_errors("internal_error", "Backend API outage"))
        }
        Some(Outage::Hang) => return hang().await,
        _ => {}
    }
    let accepted = v.keys.lock()[endpoint.index()].clone();
    if let Some(keys) = accepted {
        let ok = authorization
            .as_deref()
            .and_then(|a| a.strip_prefix("Bearer "))
            .is_some_and(|k| keys.iter().any(|want| want == k));
        if !ok {
            return HttpResponse::Unauthorized().json(clerk_errors(
                "authentication_invalid",
                "The provided secret key is invalid for this endpoint",
            ));
        }
    }
    let Some(token) = token else {
        return HttpResponse::UnprocessableEntity().json(clerk_errors(
            "form_param_missing",
            &format!("{} is missing", endpoint.body_field()),
        ));
    };
    let answer = v.answers.lock().get(&(endpoint, token)).cloned();
    match answer {
        None => HttpResponse::NotFound().json(clerk_errors("resource_not_found", "not found")),
        Some(VerifyAnswer::Ok(body)) => HttpResponse::Ok().json(body),
        Some(VerifyAnswer::Status(code, body)) => {
            let mut res = HttpResponse::build(StatusCode::from_u16(code).expect("status"));
            if code == 429 {
                res.insert_header(("retry-after", "1"));
            }
            res.json(body)
        }
        Some(VerifyAnswer::Raw {
            status,
            content_type,
            body,
        }) => HttpResponse::build(StatusCode::from_u16(status).expect("status"))
            .content_type(content_type)
            .body(body),
        Some(VerifyAnswer::Hang) => hang().await,
    }
}

/// Serves `shared` on `listener` on a thread and runtime of its own; the handle stops it.
fn serve(listener: std::net::TcpListener, shared: Shared) -> actix_web::dev::ServerHandle {
    use actix_web::{web, App, HttpRequest, HttpServer};
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let sys = actix_web::rt::System::new();
        sys.block_on(async move {
            let server = HttpServer::new(move || {
                let mut app = App::new()
                    .app_data(web::PayloadConfig::new(64 << 20))
                    .route(
                        "/v1/jwks",
                        web::get().to({
                            let s = shared.clone();
                            move |req: HttpRequest| jwks_answer(s.clone(), req)
                        }),
                    );
                for endpoint in VerifyEndpoint::ALL {
                    let s = shared.clone();
                    app = app.route(
                        endpoint.path(),
                        web::post().to(move |req: HttpRequest, body: web::Bytes| {
                            verify_answer(s.clone(), endpoint, req, body)
                        }),
                    );
                }
                app
            })
            .workers(2)
            .disable_signals()
            .listen(listener)
            .expect("listen on 127.0.0.1")
            .run();
            tx.send(server.handle()).expect("send handle");
            server.await.expect("server runs");
        });
    });
    rx.recv_timeout(Duration::from_secs(10))
        .expect("server started")
}

impl JwksServer {
    /// Starts the server on its own thread and runtime.
    pub fn start(mode: JwksMode) -> JwksServer {
        let shared = Shared {
            hits: Arc::new(AtomicU64::new(0)),
            mode: Arc::new(parking_lot::Mutex::new(mode)),
            last_auth: Arc::new(parking_lot::Mutex::new(None)),
            delay: Arc::new(parking_lot::Mutex::new(Duration::ZERO)),
            verify: Arc::new(VerifyState::default()),
        };
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1:0");
        let port = listener.local_addr().expect("local addr").port();
        let handle = serve(listener, shared.clone());
        JwksServer {
            url: format!("http://127.0.0.1:{port}"),
            hits: shared.hits,
            mode: shared.mode,
            last_auth: shared.last_auth,
            delay: shared.delay,
            verify: shared.verify,
            port,
            handle: parking_lot::Mutex::new(Some(handle)),
        }
    }

    /// Number of JWKS requests served so far.
    pub fn hits(&self) -> u64 {
        self.hits.load(Ordering::SeqCst)
    }

    /// Changes what the server answers.
    pub fn set_mode(&self, mode: JwksMode) {
        *self.mode.lock() = mode;
    }

    /// Delays every answer.
    pub fn set_delay(&self, delay: Duration) {
        *self.delay.lock() = delay;
    }

    /// Registers what `endpoint` answers for `token` (replacing an earlier answer). A token
    /// never registered there is answered `404` with Clerk's `resource_not_found` body.
    pub fn register(&self, endpoint: VerifyEndpoint, token: &str, answer: VerifyAnswer) {
        self.verify
            .answers
            .lock()
            .insert((endpoint, token.to_owned()), answer);
    }

    /// Only these keys (`Authorization: Bearer <key>`) are accepted by `endpoint`; any other
    /// header is answered `401` `authentication_invalid`. By default any header is accepted.
    pub fn accept_keys(&self, endpoint: VerifyEndpoint, keys: &[&str]) {
        self.verify.keys.lock()[endpoint.index()] =
            Some(keys.iter().map(|k| (*k).to_owned()).collect());
    }

    /// Delays every verify answer.
    pub fn set_verify_delay(&self, delay: Duration) {
        *self.verify.delay.lock() = delay;
    }

    /// Number of requests `endpoint` has received so far (answered or not).
    pub fn verify_hits(&self, endpoint: VerifyEndpoint) -> u64 {
        self.verify.hits[endpoint.index()].load(Ordering::SeqCst)
    }

    /// Number of verify requests, all endpoints together.
    pub fn verify_hits_total(&self) -> u64 {
        VerifyEndpoint::ALL
            .iter()
            .map(|e| self.verify_hits(*e))
            .sum()
    }

    /// Every verify request received so far, in order.
    pub fn verify_calls(&self) -> Vec<VerifyCall> {
        self.verify.calls.lock().clone()
    }

    /// The largest number of verify requests that were in progress at once.
    pub fn max_verify_in_flight(&self) -> u64 {
        self.verify.max_in_flight.load(Ordering::SeqCst)
    }

    /// Forgets the hit counts, the recorded calls and the in-flight maximum of the verify
    /// endpoints (registered answers stay).
    pub fn reset_verify_counts(&self) {
        for h in &self.verify.hits {
            h.store(0, Ordering::SeqCst);
        }
        self.verify.calls.lock().clear();
        self.verify.max_in_flight.store(
            self.verify.in_flight.load(Ordering::SeqCst),
            Ordering::SeqCst,
        );
    }

    /// Switches an outage on (`Some`) or off (`None`). [`Outage::Refuse`] stops listening (open
    /// connections are dropped); leaving it listens again on the same port.
    pub fn set_outage(&self, outage: Option<Outage>) {
        let refuse = outage == Some(Outage::Refuse);
        *self.verify.outage.lock() = outage;
        let mut handle = self.handle.lock();
        if refuse {
            if let Some(h) = handle.take() {
                // Waited for on a thread of its own: the caller may be inside a runtime.
                std::thread::spawn(move || actix_web::rt::System::new().block_on(h.stop(false)))
                    .join()
                    .expect("server stopped");
            }
        } else if handle.is_none() {
            let deadline = std::time::Instant::now() + Duration::from_secs(10);
            let listener = loop {
                match std::net::TcpListener::bind(("127.0.0.1", self.port)) {
                    Ok(l) => break l,
                    Err(e) if std::time::Instant::now() < deadline => {
                        let _ = e;
                        std::thread::sleep(Duration::from_millis(20));
                    }
                    Err(e) => panic!("listening again on port {}: {e}", self.port),
                }
            };
            *handle = Some(serve(
                listener,
                Shared {
                    hits: self.hits.clone(),
                    mode: self.mode.clone(),
                    last_auth: self.last_auth.clone(),
                    delay: self.delay.clone(),
                    verify: self.verify.clone(),
                },
            ));
        }
    }
}

/// A base URL on 127.0.0.1 where nothing listens (connection refused).
pub fn closed_port_url() -> String {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = listener.local_addr().expect("addr").port();
    drop(listener);
    format!("http://127.0.0.1:{port}")
}

/// `tests/conformance`, with the pinned `@clerk/backend` installed (`npm ci` on first use, once
/// per process even when tests run in parallel). Fails, never skips, when npm is missing: the
/// suites that call it compare with Clerk's SDK.
pub fn clerk_backend_dir() -> std::path::PathBuf {
    static INSTALLED: std::sync::OnceLock<std::path::PathBuf> = std::sync::OnceLock::new();
    INSTALLED
        .get_or_init(|| {
            let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
                .join("tests")
                .join("conformance");
            if !dir
                .join("node_modules/@clerk/backend/package.json")
                .exists()
            {
                let status = std::process::Command::new("npm")
                    .args(["ci", "--no-audit", "--no-fund", "--loglevel=error"])
                    .current_dir(&dir)
                    .status()
                    .expect("npm must be installed to compare with @clerk/backend");
                assert!(status.success(), "npm ci failed in {}", dir.display());
            }
            dir
        })
        .clone()
}
