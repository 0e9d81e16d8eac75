//! The key store: the instance's PEM key, or its JWKS fetched from Clerk's Backend API and
//! cached.
//!
//! Behaviour of the remote store (all durations configurable on the builder):
//! - **one fetch at a time** across every actix worker: requests that need keys while a fetch
//!   runs wait for its result (never longer than the fetch timeout) instead of starting their own;
//! - **fresh for `ttl`** (5 min); from 80 % of the TTL on, a request that finds its key (or a
//!   verified-token cache hit) starts a background refresh and does not wait for it
//!   (**refresh ahead**);
//! - **unknown `kid`**: one refetch, then at most one more per `unknown_kid_cooldown` (30 s),
//!   whatever the kid (a kid the API did not list yet is found by the next refetch); while the
//!   last attempt failed, an unknown kid is an outage (`503`), not a mismatch;
//! - **stale while error**: when refreshes fail, the last good keys keep serving for up to
//!   `max_stale` (1 h) past their TTL, with retries backing off from 1 s to 60 s; past that,
//!   tokens verified earlier under those keys are no longer served from the token cache either;
//! - a fetch has a timeout (5 s); keys that fail to parse are skipped; a set with no usable key
//!   is a failed fetch; Clerk's `clerk_key_invalid` answer is reported as `secret-key-invalid`.

use std::collections::HashMap;
use std::fmt;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use aws_lc_rs::signature::{self, ParsedPublicKey, RsaParameters};
use jsonwebtoken::{Algorithm, DecodingKey, DecodingKeyKind};
use parking_lot::RwLock;
use serde::Deserialize;

use crate::config::Secret;
use crate::error::{ConfigError, Reason};

const ACTION_CONTACT_SUPPORT: &str = "Contact support@clerk.com";
const MAX_JWKS_BODY: usize = 256 * 1024;

/// A public key ready to verify signatures: parsed once, when loaded, for each algorithm it may
/// verify, so no request parses a key.
pub(crate) struct VerifyKey {
    /// Indexed by [`alg_index`]: RS256, RS384, RS512.
    parsed: [Option<ParsedPublicKey>; 3],
    /// The algorithm the key is bound to (`alg` of the JWK; RS256 for a PEM key, as Clerk
    /// imports it), or `None` for a JWK without `alg`.
    pub alg: Option<Algorithm>,
}

fn alg_index(alg: Algorithm) -> Option<usize> {
    match alg {
        Algorithm::RS256 => Some(0),
        Algorithm::RS384 => Some(1),
        Algorithm::RS512 => Some(2),
        _ => None,
    }
}

const RSA_PARAMS: [&RsaParameters; 3] = [
    &signature::RSA_PKCS1_2048_8192_SHA256,
    &signature::RSA_PKCS1_2048_8192_SHA384,
    &signature::RSA_PKCS1_2048_8192_SHA512,
];

/// DER of a PKCS#1 `RSAPublicKey` from big-endian modulus and exponent.
fn pkcs1_der(n: &[u8], e: &[u8]) -> Vec<u8> {
    fn push_len(out: &mut Vec<u8>, len: usize) {
        if len < 0x80 {
            out.push(len as u8);
        } else {
            let bytes = len.to_be_bytes();
            let skip = bytes.iter().take_while(|b| **b == 0).count();
            out.push(0x80 | (bytes.len() - skip) as u8);
            out.extend_from_slice(&bytes[skip..]);
        }
    }
    fn integer(out: &mut Vec<u8>, v: &[u8]) {
        let v = &v[v
            .iter()
            .take_while(|b| **b == 0)
            .count()
            .min(v.len().saturating_sub(1))..];
        let pad = v.first().is_some_and(|b| b & 0x80 != 0);
        out.push(0x02);
        push_len(out, v.len() + usize::from(pad));
        if pad {
            out.push(0);
        }
        out.extend_from_slice(v);
    }
    let mut body = Vec::with_capacity(n.len() + e.len() + 16);
    integer(&mut body, n);
    integer(&mut body, e);
    let mut der = Vec::with_capacity(body.len() + 4);
    der.push(0x30);
    push_len(&mut der, body.len());
    der.extend_from_slice(&body);
    der
}

impl VerifyKey {
    /// Parses an RSA public key (PKCS#1 or SubjectPublicKeyInfo DER) for the algorithms it may
    /// verify; `None` when the key is unusable (malformed, or smaller than 2048 bits).
    fn from_der(der: &[u8], alg: Option<Algorithm>) -> Option<Self> {
        let mut parsed = [None, None, None];
        for (i, params) in RSA_PARAMS.iter().enumerate() {
            if alg.is_none_or(|a| alg_index(a) == Some(i)) {
                parsed[i] = Some(ParsedPublicKey::new(*params, der).ok()?);
            }
        }
        Some(VerifyKey { parsed, alg })
    }

    fn from_decoding_key(key: &DecodingKey, alg: Option<Algorithm>) -> Option<Self> {
        match key.kind() {
            DecodingKeyKind::SecretOrDer(der) => Self::from_der(der, alg),
            DecodingKeyKind::RsaModulusExponent { n, e } => Self::from_der(&pkcs1_der(n, e), alg),
        }
    }

    /// Whether `signature` is a valid `alg` signature of `message`; `None` when this key was not
    /// loaded for `alg`.
    pub(crate) fn verify(&self, alg: Algorithm, message: &[u8], signature: &[u8]) -> Option<bool> {
        let key = self.parsed[alg_index(alg)?].as_ref()?;
        Some(key.verify_sig(message, signature).is_ok())
    }

    /// Parses armoured PEM, the bare base64 body, or either with `\n` written literally.
    pub(crate) fn from_pem_text(text: &str) -> Result<Self, ConfigError> {
        let text = text.replace("\\n", "\n").replace("\\r", "");
        let text = text.trim();
        let pem = if text.contains("-----BEGIN") {
            text.to_owned()
        } else {
            let body: String = text.chars().filter(|c| !c.is_whitespace()).collect();
            if body.is_empty()
                || !body
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b"+/=".contains(&b))
            {
                return Err(ConfigError::InvalidJwtKey);
            }
            let mut pem = String::from("-----BEGIN PUBLIC KEY-----\n");
            for chunk in body.as_bytes().chunks(64) {
                pem.push_str(&String::from_utf8_lossy(chunk));
                pem.push('\n');
            }
            pem.push_str("-----END PUBLIC KEY-----\n");
            pem
        };
        let key =
            DecodingKey::from_rsa_pem(pem.as_bytes()).map_err(|_| ConfigError::InvalidJwtKey)?;
        let key = Self::from_decoding_key(&key, Some(Algorithm::RS256))
            .ok_or(ConfigError::InvalidJwtKey)?;
        // Build-time check that the crypto backend works with the key: a wrong signature must
        // be answered with a clean `false`.
        match key.verify(Algorithm::RS256, b"probe", &[0u8; 256]) {
            Some(false) => Ok(key),
            _ => Err(ConfigError::InvalidJwtKey),
        }
    }

    fn from_jwk(jwk: &RawJwk) -> Option<(String, Self)> {
        if jwk.kty.as_deref() != Some("RSA") {
            return None;
        }
        let alg = match jwk.alg.as_deref() {
            None => None,
            Some("RS256") => Some(Algorithm::RS256),
            Some("RS384") => Some(Algorithm::RS384),
            Some("RS512") => Some(Algorithm::RS512),
            Some(_) => return None,
        };
        let key = DecodingKey::from_rsa_components(jwk.n.as_deref()?, jwk.e.as_deref()?).ok()?;
        let key = VerifyKey::from_decoding_key(&key, alg)?;
        let kid = jwk.kid.clone().unwrap_or_else(|| "undefined".to_owned());
        Some((kid, key))
    }
}

#[derive(Deserialize)]
struct RawJwk {
    kid: Option<String>,
    kty: Option<String>,
    alg: Option<String>,
    n: Option<String>,
    e: Option<String>,
}

#[derive(Deserialize)]
struct RawJwks {
    keys: Vec<serde_json::Value>,
}

#[derive(Deserialize)]
struct ApiErrors {
    errors: Vec<ApiError>,
}

#[derive(Deserialize)]
struct ApiError {
    code: Option<String>,
    message: Option<String>,
}

/// Why no key could be had; rendered into Clerk's message by the verifier.
#[derive(Debug, Clone)]
pub(crate) struct KeyFailure {
    pub reason: Reason,
    pub message: String,
    pub action: Option<String>,
    /// Seconds until the store will try again (for `Retry-After`).
    pub retry_after_secs: u64,
}

/// Tunables of the remote key store.
#[derive(Debug, Clone)]
pub(crate) struct RemoteOptions {
    pub ttl: Duration,
    pub fetch_timeout: Duration,
    pub unknown_kid_cooldown: Duration,
    pub max_stale: Duration,
    pub backoff_base: Duration,
    pub backoff_max: Duration,
}

impl Default for RemoteOptions {
    fn default() -> Self {
        RemoteOptions {
            ttl: Duration::from_secs(300),
            fetch_timeout: Duration::from_secs(5),
            unknown_kid_cooldown: Duration::from_secs(30),
            max_stale: Duration::from_secs(3600),
            backoff_base: Duration::from_secs(1),
            backoff_max: Duration::from_secs(60),
        }
    }
}

impl RemoteOptions {
    pub(crate) fn validate(&self) -> Result<(), ConfigError> {
        if self.ttl.is_zero() {
            return Err(ConfigError::InvalidDuration("JWKS cache TTL"));
        }
        if self.fetch_timeout.is_zero() || self.fetch_timeout > Duration::from_secs(300) {
            return Err(ConfigError::InvalidDuration("JWKS fetch timeout"));
        }
        Ok(())
    }
}

/// Where keys come from.
pub(crate) enum KeyStore {
    /// Networkless: the configured PEM key, whatever the token's `kid`.
    Pem(Arc<VerifyKey>),
    /// The instance's JWKS.
    Remote(Arc<RemoteKeys>),
}

impl fmt::Debug for KeyStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            KeyStore::Pem(_) => f.write_str("Pem"),
            KeyStore::Remote(r) => f.debug_struct("Remote").field("url", &r.url).finish(),
        }
    }
}

impl KeyStore {
    pub(crate) fn remote(url: String, secret: Secret, opts: RemoteOptions) -> Self {
        KeyStore::Remote(Arc::new(RemoteKeys {
            url,
            secret,
            opts,
            state: RwLock::new(State::default()),
            fetch_lock: tokio::sync::Mutex::new(()),
            fetches: AtomicU64::new(0),
        }))
    }

    /// The key for a token whose header `kid` renders as `kid`.
    pub(crate) async fn resolve(&self, kid: &str) -> Result<Arc<VerifyKey>, KeyFailure> {
        match self {
            KeyStore::Pem(key) => Ok(Arc::clone(key)),
            KeyStore::Remote(remote) => remote.resolve(kid).await,
        }
    }

    /// Identity of the current key set, for the verified-token cache: changes whenever the keys
    /// may have changed, and matches no entry once the keys are past `ttl + max_stale`.
    ///
    /// A cache hit never reaches [`KeyStore::resolve`], so this is also where a hit starts the
    /// refresh ahead.
    pub(crate) fn generation(&self) -> u64 {
        match self {
            KeyStore::Pem(_) => 0,
            KeyStore::Remote(r) => r.cache_generation(),
        }
    }

    pub(crate) async fn warm_up(&self) -> Result<(), crate::ClerkError> {
        match self {
            KeyStore::Pem(_) => Ok(()),
            KeyStore::Remote(remote) => {
                let seen = remote.state.read().generation;
                remote.fetch_shared(seen).await;
                let st = remote.state.read();
                match (&st.last_error, st.keys.is_empty()) {
                    (None, false) => Ok(()),
                    (Some(err), _) => Err(crate::ClerkError::KeysUnavailable {
                        reason: err.reason,
                        message: err.message.clone(),
                        retry_after_secs: err.retry_after_secs,
                    }),
                    (None, true) => Err(crate::ClerkError::KeysUnavailable {
                        reason: Reason::RemoteJwkFailedToLoad,
                        message: "no keys".into(),
                        retry_after_secs: 1,
                    }),
                }
            }
        }
    }

    /// Number of JWKS fetches started so far (0 for a PEM key).
    pub(crate) fn fetch_count(&self) -> u64 {
        match self {
            KeyStore::Pem(_) => 0,
            KeyStore::Remote(r) => r.fetches.load(Ordering::Relaxed),
        }
    }
}

#[derive(Default)]
struct State {
    keys: HashMap<String, Arc<VerifyKey>>,
    /// When the current keys were fetched.
    fetched_at: Option<Instant>,
    /// When the last fetch (successful or not) finished.
    last_attempt: Option<Instant>,
    consecutive_failures: u32,
    last_error: Option<KeyFailure>,
    /// Bumped after every finished fetch attempt.
    generation: u64,
    /// Bumped whenever the key set is replaced.
    key_generation: u64,
    refresh_in_flight: bool,
}

impl State {
    fn backoff(&self, opts: &RemoteOptions) -> Duration {
        if self.consecutive_failures == 0 {
            return Duration::ZERO;
        }
        let shift = (self.consecutive_failures - 1).min(16);
        (opts.backoff_base * (1u32 << shift)).min(opts.backoff_max)
    }

    /// Whether a new attempt may start now (no failure backoff pending).
    fn may_attempt(&self, now: Instant, opts: &RemoteOptions) -> bool {
        match self.last_attempt {
            Some(at) if self.consecutive_failures > 0 => {
                now.duration_since(at) >= self.backoff(opts)
            }
            _ => true,
        }
    }

    fn retry_after(&self, now: Instant, opts: &RemoteOptions) -> u64 {
        let wait = match self.last_attempt {
            Some(at) => self.backoff(opts).saturating_sub(now.duration_since(at)),
            None => Duration::ZERO,
        };
        wait.as_secs_f64().ceil().max(1.0) as u64
    }
}

/// What [`KeyStore::generation`] answers while the keys are unusable (past `ttl + max_stale`, or
/// never fetched): no cache entry carries it.
const NO_USABLE_KEYS: u64 = u64::MAX;

/// Clears `refresh_in_flight` when the background refresh ends, also when its task is dropped
/// unfinished (worker stopped or restarted), so that later refreshes are not blocked forever.
struct RefreshInFlight(Arc<RemoteKeys>);

impl Drop for RefreshInFlight {
    fn drop(&mut self) {
        self.0.state.write().refresh_in_flight = false;
    }
}

enum Step {
    Key(Arc<VerifyKey>),
    Fail(KeyFailure),
    Fetch(u64),
}

/// The remote JWKS cache shared by all workers.
pub(crate) struct RemoteKeys {
    url: String,
    secret: Secret,
    opts: RemoteOptions,
    state: RwLock<State>,
    fetch_lock: tokio::sync::Mutex<()>,
    fetches: AtomicU64,
}

impl RemoteKeys {
    fn kid_mismatch(kid: &str) -> KeyFailure {
        KeyFailure {
            reason: Reason::JwkKidMismatch,
            message: format!("Unable to find a signing key in JWKS that matches the kid='{kid}' of the provided session token. Please make sure that the __session cookie or the HTTP authorization header contain a Clerk-generated session JWT."),
            action: Some(format!("Go to your Dashboard and validate your secret and public keys are correct. {ACTION_CONTACT_SUPPORT} if the issue persists.")),
            retry_after_secs: 0,
        }
    }

    fn outage(&self, st: &State, now: Instant) -> KeyFailure {
        let mut failure = st.last_error.clone().unwrap_or_else(|| KeyFailure {
            reason: Reason::RemoteJwkFailedToLoad,
            message: "Failed to load JWKS from Clerk Backend API.".into(),
            action: Some(ACTION_CONTACT_SUPPORT.into()),
            retry_after_secs: 1,
        });
        failure.retry_after_secs = st.retry_after(now, &self.opts);
        failure
    }

    /// The age of the current keys while they may still serve (within `ttl + max_stale`).
    fn usable_age(&self, st: &State, now: Instant) -> Option<Duration> {
        st.fetched_at
            .map(|at| now.duration_since(at))
            .filter(|age| *age <= self.opts.ttl + self.opts.max_stale)
    }

    /// Whether a background refresh should start now: keys at 80 % of their TTL or older, no
    /// backoff pending, none running.
    fn refresh_due(&self, st: &State, age: Duration, now: Instant) -> bool {
        age >= self.opts.ttl.mul_f64(0.8)
            && st.may_attempt(now, &self.opts)
            && !st.refresh_in_flight
    }

    /// See [`KeyStore::generation`].
    fn cache_generation(self: &Arc<Self>) -> u64 {
        let now = Instant::now();
        let (generation, spawn_refresh) = {
            let st = self.state.read();
            match self.usable_age(&st, now) {
                Some(age) => (st.key_generation, self.refresh_due(&st, age, now)),
                None => (NO_USABLE_KEYS, false),
            }
        };
        if spawn_refresh {
            self.spawn_refresh();
        }
        generation
    }

    fn decide(self: &Arc<Self>, kid: &str, may_fetch_for_kid: bool) -> Step {
        let now = Instant::now();
        let mut spawn_refresh = false;
        let step = {
            let st = self.state.read();
            let may_attempt = st.may_attempt(now, &self.opts);
            match self.usable_age(&st, now) {
                Some(age) => match st.keys.get(kid) {
                    Some(key) => {
                        spawn_refresh = self.refresh_due(&st, age, now);
                        Step::Key(Arc::clone(key))
                    }
                    None => {
                        let recently = st.last_attempt.is_some_and(|at| {
                            now.duration_since(at) < self.opts.unknown_kid_cooldown
                        });
                        if may_fetch_for_kid && may_attempt && !recently {
                            Step::Fetch(st.generation)
                        } else if st.last_error.is_some() {
                            // The last attempt failed: whether the API lists this kid by now
                            // is unknown, so no decision (503), not a mismatch (401).
                            Step::Fail(self.outage(&st, now))
                        } else {
                            Step::Fail(Self::kid_mismatch(kid))
                        }
                    }
                },
                _ if may_attempt => Step::Fetch(st.generation),
                _ => Step::Fail(self.outage(&st, now)),
            }
        };
        if spawn_refresh {
            self.spawn_refresh();
        }
        step
    }

    async fn resolve(self: &Arc<Self>, kid: &str) -> Result<Arc<VerifyKey>, KeyFailure> {
        let mut fetched = false;
        loop {
            match self.decide(kid, !fetched) {
                Step::Key(k) => return Ok(k),
                Step::Fail(f) => return Err(f),
                Step::Fetch(seen) if !fetched => {
                    fetched = true;
                    self.fetch_shared(seen).await;
                }
                Step::Fetch(_) => {
                    // Still no usable keys after waiting for a fetch (failed, or not started
                    // in time): no decision possible.
                    let st = self.state.read();
                    return Err(self.outage(&st, Instant::now()));
                }
            }
        }
    }

    /// Starts a refresh on this worker without waiting for it, when the actix runtime is here.
    fn spawn_refresh(self: &Arc<Self>) {
        if actix_rt::Arbiter::try_current().is_none() {
            return;
        }
        let seen = {
            let mut st = self.state.write();
            if st.refresh_in_flight {
                return;
            }
            st.refresh_in_flight = true;
            st.generation
        };
        // Made before the task so that it is dropped (clearing the flag) even if the task
        // never runs.
        let in_flight = RefreshInFlight(Arc::clone(self));
        actix_rt::spawn(async move {
            in_flight.0.fetch_shared(seen).await;
            drop(in_flight);
        });
    }

    /// Fetches unless another fetch finished since `seen`; waits for a running one.
    async fn fetch_shared(&self, seen: u64) {
        let wait = self.opts.fetch_timeout + Duration::from_millis(250);
        let Ok(_guard) = tokio::time::timeout(wait, self.fetch_lock.lock()).await else {
            return;
        };
        if self.state.read().generation != seen {
            return;
        }
        self.fetches.fetch_add(1, Ordering::Relaxed);
        let started = Instant::now();
        let result = match tokio::time::timeout(self.opts.fetch_timeout, self.fetch_now()).await {
            Ok(r) => r,
            Err(_) => Err(KeyFailure {
                reason: Reason::RemoteJwkFailedToLoad,
                message: format!(
                    "Timed out after {} ms loading Clerk JWKS from {}.",
                    self.opts.fetch_timeout.as_millis(),
                    self.url
                ),
                action: Some(ACTION_CONTACT_SUPPORT.into()),
                retry_after_secs: 1,
            }),
        };
        let elapsed_ms = started.elapsed().as_millis() as u64;
        let now = Instant::now();
        let mut st = self.state.write();
        st.generation += 1;
        st.last_attempt = Some(now);
        match result {
            Ok(keys) => {
                tracing::debug!(url = %self.url, keys = keys.len(), elapsed_ms, "clerk: JWKS fetched");
                st.keys = keys;
                st.fetched_at = Some(now);
                st.consecutive_failures = 0;
                st.last_error = None;
                st.key_generation += 1;
            }
            Err(err) => {
                st.consecutive_failures = st.consecutive_failures.saturating_add(1);
                tracing::warn!(
                    url = %self.url,
                    reason = err.reason.as_str(),
                    error = %err.message,
                    elapsed_ms,
                    failures = st.consecutive_failures,
                    serving_stale = !st.keys.is_empty(),
                    "clerk: JWKS fetch failed"
                );
                st.last_error = Some(err);
            }
        }
    }

    async fn fetch_now(&self) -> Result<HashMap<String, Arc<VerifyKey>>, KeyFailure> {
        let fail = |message: String| KeyFailure {
            reason: Reason::RemoteJwkFailedToLoad,
            message,
            action: Some(ACTION_CONTACT_SUPPORT.into()),
            retry_after_secs: 1,
        };
        let client = awc::Client::builder()
            .timeout(self.opts.fetch_timeout)
            .finish();
        let mut res = client
            .get(&self.url)
            .bearer_auth(&self.secret.0)
            .insert_header(("Accept", "application/json"))
            .send()
            .await
            .map_err(|e| fail(format!("Error loading Clerk JWKS from {}: {e}", self.url)))?;
        let status = res.status();
        let body = res
            .body()
            .limit(MAX_JWKS_BODY)
            .await
            .map_err(|e| fail(format!("Error reading Clerk JWKS from {}: {e}", self.url)))?;
        if !status.is_success() {
            if let Ok(api) = serde_json::from_slice::<ApiErrors>(&body) {
                if let Some(err) = api
                    .errors
                    .iter()
                    .find(|e| e.code.as_deref() == Some("clerk_key_invalid"))
                {
                    return Err(KeyFailure {
                        reason: Reason::SecretKeyInvalid,
                        message: err
                            .message
                            .clone()
                            .unwrap_or_else(|| "The secret key is invalid.".into()),
                        action: Some(ACTION_CONTACT_SUPPORT.into()),
                        retry_after_secs: 1,
                    });
                }
            }
            return Err(fail(format!(
                "Error loading Clerk JWKS from {} with code={}",
                self.url,
                status.as_u16()
            )));
        }
        let jwks: RawJwks = serde_json::from_slice(&body)
            .map_err(|_| fail(format!("Invalid JWKS received from {}.", self.url)))?;
        let mut keys = HashMap::with_capacity(jwks.keys.len());
        for raw in &jwks.keys {
            match serde_json::from_value::<RawJwk>(raw.clone())
                .ok()
                .as_ref()
                .and_then(VerifyKey::from_jwk)
            {
                Some((kid, key)) => {
                    keys.insert(kid, Arc::new(key));
                }
                None => {
                    tracing::warn!(url = %self.url, "clerk: skipped a JWKS key that does not parse")
                }
            }
        }
        if keys.is_empty() {
            return Err(fail(
                "The JWKS endpoint did not contain any signing keys. Contact support@clerk.com."
                    .into(),
            ));
        }
        Ok(keys)
    }
}
