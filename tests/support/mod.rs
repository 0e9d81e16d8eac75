//! Test, example and fuzz support: a local RSA key that mints Clerk-shaped session tokens
//! (tests, examples and fuzz targets include this file rather than sign tokens themselves), and
//! a local server playing Clerk's Backend API JWKS endpoint (127.0.0.1, port 0) with a hit
//! counter.
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

/// A local HTTP server playing Clerk's Backend API, counting JWKS hits.
pub struct JwksServer {
    /// `http://127.0.0.1:<port>`
    pub url: String,
    hits: Arc<AtomicU64>,
    mode: Arc<parking_lot::Mutex<JwksMode>>,
    /// The `Authorization` header of the last request.
    pub last_auth: Arc<parking_lot::Mutex<Option<String>>>,
    delay: Arc<parking_lot::Mutex<Duration>>,
}

impl JwksServer {
    /// Starts the server on its own thread and runtime.
    pub fn start(mode: JwksMode) -> JwksServer {
        use actix_web::{web, App, HttpRequest, HttpResponse, HttpServer};
        let hits = Arc::new(AtomicU64::new(0));
        let mode = Arc::new(parking_lot::Mutex::new(mode));
        let last_auth = Arc::new(parking_lot::Mutex::new(None));
        let delay = Arc::new(parking_lot::Mutex::new(Duration::ZERO));
        let (tx, rx) = std::sync::mpsc::channel();
        let (h, m, a, d) = (hits.clone(), mode.clone(), last_auth.clone(), delay.clone());
        std::thread::spawn(move || {
            let sys = actix_web::rt::System::new();
            sys.block_on(async move {
                let server = HttpServer::new(move || {
                    let (h, m, a, d) = (h.clone(), m.clone(), a.clone(), d.clone());
                    App::new().route(
                        "/v1/jwks",
                        web::get().to(move |req: HttpRequest| {
                            let (h, m, a, d) = (h.clone(), m.clone(), a.clone(), d.clone());
                            async move {
                                h.fetch_add(1, Ordering::SeqCst);
                                *a.lock() = req
                                    .headers()
                                    .get("authorization")
                                    .and_then(|v| v.to_str().ok())
                                    .map(str::to_owned);
                                let delay = *d.lock();
                                if !delay.is_zero() {
                                    actix_web::rt::time::sleep(delay).await;
                                }
                                let mode = m.lock().clone();
                                match mode {
                                    JwksMode::Keys(keys) => {
                                        HttpResponse::Ok().json(json!({ "keys": keys }))
                                    }
                                    JwksMode::Status(code, body) => HttpResponse::build(
                                        actix_web::http::StatusCode::from_u16(code)
                                            .expect("status"),
                                    )
                                    .content_type("application/json")
                                    .body(body),
                                    JwksMode::Hang => {
                                        actix_web::rt::time::sleep(Duration::from_secs(3600)).await;
                                        HttpResponse::Ok().finish()
                                    }
                                    JwksMode::InvalidJson => HttpResponse::Ok().body("{not json"),
                                    JwksMode::Empty => {
                                        HttpResponse::Ok().json(json!({ "keys": [] }))
                                    }
                                }
                            }
                        }),
                    )
                })
                .workers(2)
                .disable_signals()
                .bind(("127.0.0.1", 0))
                .expect("bind 127.0.0.1:0");
                let port = server.addrs()[0].port();
                tx.send(port).expect("send port");
                server.run().await.expect("server runs");
            });
        });
        let port = rx
            .recv_timeout(Duration::from_secs(10))
            .expect("server started");
        JwksServer {
            url: format!("http://127.0.0.1:{port}"),
            hits,
            mode,
            last_auth,
            delay,
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
