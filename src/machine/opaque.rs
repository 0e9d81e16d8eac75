//! Opaque machine tokens (`ak_…`, `mt_…`, `oat_…`), verified by Clerk's Backend API:
//! `POST {api_url}/api_keys/verify` (`{"secret"}`), `/m2m_tokens/verify` (`{"token"}`, with
//! the machine secret key when one is set), `/oauth_applications/access_tokens/verify`
//! (`{"access_token"}`), answers mapped to Clerk's reasons and messages.
//!
//! Beyond Clerk's SDK, which calls the Backend API for every request:
//! - **cache**: a verified token is served for `ttl` (default 10 s, never past the token's
//!   own `expiration`; 0 turns caching off) — that is the delay before a revocation is seen;
//!   a `token-invalid` or `secret-key-invalid` answer is remembered for `negative_ttl`
//!   (default 2 s), an outage for 1 s;
//! - **single flight**: concurrent requests with the same token, on any worker, wait for
//!   one verification;
//! - **bounded**: at most `max_concurrent` verifications in flight (default 16) and at most
//!   `max_per_second` started per second (default 50, the burst included); past either bound
//!   a request is refused at once (`unexpected-error`, 503 + `Retry-After: 1` from the strict
//!   middleware), never queued. So N random invalid tokens per second cost at most
//!   `max_per_second` Backend API calls per second;
//! - an answer for another kind of object, or one marked `revoked` or `expired`, is refused
//!   even with status 200.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use quick_cache::sync::Cache;
use serde_json::{json, Value};

use super::{MachineAuth, TokenKind};
use crate::auth::Auth;
use crate::backend_api::{self, CallBound};
use crate::error::Reason;
use crate::secret::Secret;

const MAX_ANSWER_BODY: usize = 64 * 1024;

/// Tunables of opaque-token verification.
#[derive(Debug, Clone)]
pub(crate) struct OpaqueOptions {
    pub ttl: Duration,
    pub negative_ttl: Duration,
    pub timeout: Duration,
    pub max_concurrent: usize,
    pub max_per_second: u32,
    pub capacity: usize,
}

impl Default for OpaqueOptions {
    fn default() -> Self {
        OpaqueOptions {
            ttl: Duration::from_secs(10),
            negative_ttl: Duration::from_secs(2),
            timeout: Duration::from_secs(5),
            max_concurrent: 16,
            max_per_second: 50,
            capacity: 10_000,
        }
    }
}

/// Why an opaque token is not signed in: Clerk's reason and full message, and for
/// outages the seconds before a retry is worthwhile.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct OpaqueFailure {
    pub reason: Reason,
    pub message: String,
    pub retry_after_secs: Option<u64>,
}

impl OpaqueFailure {
    /// `MachineTokenVerificationError#getFullMessage`.
    pub(crate) fn new(reason: Reason, text: &str, status: Option<u16>) -> Self {
        let status = status.map_or_else(|| "n/a".to_owned(), |s| s.to_string());
        OpaqueFailure {
            reason,
            message: format!("{text} (code={}, status={status})", reason.as_str()),
            retry_after_secs: None,
        }
    }

    fn outage(text: &str, status: Option<u16>) -> Self {
        OpaqueFailure {
            retry_after_secs: Some(1),
            ..OpaqueFailure::new(Reason::UnexpectedError, text, status)
        }
    }
}

/// A cached answer: the `Auth` already built (a hit clones one `Arc`), or the failure.
#[derive(Clone)]
struct Answer {
    outcome: Result<Auth, OpaqueFailure>,
    until: Instant,
}

/// See the module docs.
pub(crate) struct OpaqueVerifier {
    api_url: String,
    secret_key: Option<Secret>,
    machine_secret_key: Option<Secret>,
    opts: OpaqueOptions,
    /// One per kind, by token text.
    caches: [Cache<String, Answer>; 3],
    bound: CallBound,
    calls: AtomicU64,
    /// Answers shared with the deployment's other instances.
    #[cfg(feature = "redis")]
    shared: Option<super::shared::SharedAnswers>,
}

impl std::fmt::Debug for OpaqueVerifier {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OpaqueVerifier")
            .field("api_url", &self.api_url)
            .field("secret_key", &self.secret_key)
            .field("machine_secret_key", &self.machine_secret_key)
            .field("opts", &self.opts)
            .finish_non_exhaustive()
    }
}

fn index(kind: TokenKind) -> usize {
    match kind {
        TokenKind::ApiKey => 0,
        TokenKind::M2mToken => 1,
        _ => 2,
    }
}

impl OpaqueVerifier {
    pub(crate) fn new(
        api_url: String,
        secret_key: Option<Secret>,
        machine_secret_key: Option<Secret>,
        opts: OpaqueOptions,
    ) -> Self {
        let cache = || Cache::new(opts.capacity.max(1));
        OpaqueVerifier {
            api_url,
            secret_key,
            machine_secret_key,
            bound: CallBound::new(opts.max_concurrent, opts.max_per_second),
            caches: [cache(), cache(), cache()],
            calls: AtomicU64::new(0),
            opts,
            #[cfg(feature = "redis")]
            shared: None,
        }
    }

    /// Shares answers through `store` (keyed by the secret key, or the machine secret key
    /// when there is none). With caching off (`ttl` 0) nothing is shared.
    #[cfg(feature = "redis")]
    pub(crate) fn with_shared_store(mut self, store: crate::store::SharedStore) -> Self {
        let secret = self
            .secret_key
            .as_ref()
            .or(self.machine_secret_key.as_ref());
        self.shared = secret.map(|s| super::shared::SharedAnswers::new(store, s));
        self
    }

    /// Whether tokens of `kind` can be verified (a key to call the Backend API with).
    pub(crate) fn can_verify(&self, kind: TokenKind) -> bool {
        match kind {
            TokenKind::M2mToken => self.machine_secret_key.is_some() || self.secret_key.is_some(),
            TokenKind::ApiKey | TokenKind::OauthToken => self.secret_key.is_some(),
            TokenKind::SessionToken => true,
        }
    }

    /// The shared store's counters, when answers are shared.
    #[cfg(feature = "redis")]
    pub(crate) fn shared_stats(&self) -> Option<crate::store::SharedStoreStats> {
        self.shared.as_ref().map(|s| s.store().stats())
    }

    /// Backend API verify calls made so far.
    pub(crate) fn calls(&self) -> u64 {
        self.calls.load(Ordering::Relaxed)
    }

    /// The outcome for an opaque token of `kind`: from the cache, from a verification
    /// another request is running, or from a new one (when the bounds allow).
    pub(crate) async fn verify(
        &self,
        kind: TokenKind,
        token: &str,
        audience: &[String],
    ) -> Result<Auth, OpaqueFailure> {
        let cache = &self.caches[index(kind)];
        if self.opts.ttl.is_zero() {
            return self.call(kind, token, audience).await.outcome;
        }
        loop {
            match cache.get_value_or_guard_async(token).await {
                Ok(answer) if answer.until > Instant::now() => return answer.outcome,
                Ok(_) => {
                    // Expired: drop it (unless another request refreshed it meanwhile).
                    let now = Instant::now();
                    cache.remove_if(token, |a| a.until <= now);
                }
                Err(guard) => {
                    let answer = self.resolve(kind, token, audience).await;
                    let outcome = answer.outcome.clone();
                    let _ = guard.insert(answer);
                    return outcome;
                }
            }
        }
    }

    /// A verification by this instance, as an answer for the local cache.
    async fn call(&self, kind: TokenKind, token: &str, audience: &[String]) -> Answer {
        let now = Instant::now();
        let (outcome, ttl) = self.fetch(kind, token, audience).await;
        answer(outcome, now, ttl)
    }

    /// The outcome for a token the local cache does not hold: through the shared store when
    /// there is one (another instance's answer, or this instance's verification shared),
    /// else this instance's verification.
    async fn resolve(&self, kind: TokenKind, token: &str, audience: &[String]) -> Answer {
        #[cfg(feature = "redis")]
        if let Some(shared) = &self.shared {
            return self.resolve_shared(shared, kind, token, audience).await;
        }
        self.call(kind, token, audience).await
    }

    /// The deployment-wide single flight: take another instance's answer, or verify (holding
    /// the token's lock) and share the answer, or wait for the instance that verifies. Every
    /// step that the store cannot take in time falls back to this instance alone.
    #[cfg(feature = "redis")]
    async fn resolve_shared(
        &self,
        shared: &super::shared::SharedAnswers,
        kind: TokenKind,
        token: &str,
        audience: &[String],
    ) -> Answer {
        use super::shared::{wait_deadline, Begin, Poll};
        let keys = shared.keys(kind, audience, token);
        let (deadline, lock_ttl) = wait_deadline(self.opts.timeout);
        // A lock given back without an answer (an outage, a bound) sends the waiters back to
        // the start; a few rounds, then this instance verifies alone.
        for _ in 0..3 {
            match shared
                .begin(&keys, lock_ttl, self.opts.max_per_second)
                .await
            {
                Begin::Answer(outcome, ttl) => return answer(*outcome, Instant::now(), ttl),
                Begin::Go => {
                    let now = Instant::now();
                    let (outcome, ttl) = self.fetch(kind, token, audience).await;
                    shared.publish(&keys, &outcome, ttl).await;
                    return answer(outcome, now, ttl);
                }
                Begin::Bound => {
                    tracing::warn!(
                        kind = kind.as_str(),
                        "clerk: the deployment's machine token verifications at their bound"
                    );
                    return answer(Err(bound_reached()), Instant::now(), Duration::ZERO);
                }
                Begin::Alone => return self.call(kind, token, audience).await,
                Begin::Wait => {
                    let mut delay = Duration::from_millis(2);
                    loop {
                        tokio::time::sleep(delay).await;
                        delay = (delay * 2).min(Duration::from_millis(25));
                        match shared.poll(&keys).await {
                            Poll::Answer(outcome, ttl) => {
                                return answer(*outcome, Instant::now(), ttl)
                            }
                            Poll::Locked if Instant::now() < deadline => {}
                            Poll::Locked | Poll::Alone => {
                                return self.call(kind, token, audience).await
                            }
                            Poll::Free => break,
                        }
                    }
                }
            }
        }
        self.call(kind, token, audience).await
    }

    /// One Backend API verification within this instance's bounds: the outcome and how long
    /// it may be served.
    async fn fetch(
        &self,
        kind: TokenKind,
        token: &str,
        audience: &[String],
    ) -> (Result<MachineAuth, OpaqueFailure>, Duration) {
        let Some(_permit) = self.bound.try_start() else {
            tracing::warn!(
                kind = kind.as_str(),
                "clerk: machine token verifications at their bound"
            );
            return (Err(bound_reached()), Duration::ZERO);
        };
        self.calls.fetch_add(1, Ordering::Relaxed);
        let outcome = match self.post(kind, token).await {
            Err(failure) => Err(failure),
            Ok(a) => read_answer(kind, a.status, a.json, &a.body, audience),
        };
        let ttl = match &outcome {
            Ok(machine) => self.opts.ttl.min(time_left(machine.expiration)),
            Err(f) if f.retry_after_secs.is_some() => Duration::from_secs(1),
            Err(_) => self.opts.negative_ttl,
        };
        (outcome, ttl)
    }

    /// A fresh cached answer for `token`, without waiting for anything (the middleware's
    /// synchronous path); `None` when there is none.
    pub(crate) fn cached(
        &self,
        kind: TokenKind,
        token: &str,
    ) -> Option<Result<Auth, OpaqueFailure>> {
        if self.opts.ttl.is_zero() {
            return None;
        }
        let answer = self.caches[index(kind)].get(token)?;
        (answer.until > Instant::now()).then_some(answer.outcome)
    }

    async fn post(
        &self,
        kind: TokenKind,
        token: &str,
    ) -> Result<backend_api::Answer, OpaqueFailure> {
        let (path, body, key) = match kind {
            TokenKind::ApiKey => (
                "api_keys/verify",
                json!({ "secret": token }),
                &self.secret_key,
            ),
            TokenKind::M2mToken => (
                "m2m_tokens/verify",
                json!({ "token": token }),
                if self.machine_secret_key.is_some() {
                    &self.machine_secret_key
                } else {
                    &self.secret_key
                },
            ),
            _ => (
                "oauth_applications/access_tokens/verify",
                json!({ "access_token": token }),
                &self.secret_key,
            ),
        };
        let Some(key) = key else {
            return Err(OpaqueFailure::new(
                Reason::UnexpectedError,
                "Unexpected error",
                None,
            ));
        };
        let url = format!("{}/{path}", self.api_url);
        backend_api::call(
            reqwest::Method::POST,
            &url,
            key,
            Some(&body),
            self.opts.timeout,
            MAX_ANSWER_BODY,
        )
        .await
        .map_err(|_| OpaqueFailure::outage("Unexpected error", None))
    }
}

/// A cache entry for `outcome`, valid for `ttl` from `now`.
fn answer(outcome: Result<MachineAuth, OpaqueFailure>, now: Instant, ttl: Duration) -> Answer {
    Answer {
        outcome: outcome.map(Auth::machine_token),
        until: now
            .checked_add(ttl)
            .unwrap_or(now + Duration::from_secs(86_400 * 365)),
    }
}

fn bound_reached() -> OpaqueFailure {
    OpaqueFailure::outage("Too many token verifications in progress", None)
}

/// Time until `expiration` (ms since the epoch), or forever without one.
fn time_left(expiration: Option<f64>) -> Duration {
    let Some(exp) = expiration else {
        return Duration::MAX;
    };
    let now = crate::verify::now_ms();
    Duration::from_millis((exp - now).max(0.0) as u64)
}

/// The object each verify endpoint answers with.
fn expected_object(kind: TokenKind) -> &'static str {
    match kind {
        TokenKind::ApiKey => "api_key",
        TokenKind::M2mToken => "machine_to_machine_token",
        _ => "clerk_idp_oauth_access_token",
    }
}

fn not_found_text(kind: TokenKind) -> &'static str {
    match kind {
        TokenKind::ApiKey => "API key not found",
        TokenKind::M2mToken => "Machine token not found",
        _ => "OAuth token not found",
    }
}

/// Clerk's mapping of a verify answer (`handleClerkAPIError` for errors). `json`: the answer
/// says `content-type: application/json` exactly (Clerk's client reads the body as text
/// otherwise).
pub(crate) fn read_answer(
    kind: TokenKind,
    status: u16,
    json: bool,
    body: &[u8],
    audience: &[String],
) -> Result<MachineAuth, OpaqueFailure> {
    let parsed = if json {
        match serde_json::from_slice::<Value>(body) {
            Ok(v) => Some(v),
            // Clerk's client fails before it knows the status: `status=n/a`.
            Err(_) => {
                tracing::warn!(
                    status,
                    "clerk: machine token verification answer is not JSON"
                );
                return Err(OpaqueFailure::outage("Unexpected error", None));
            }
        }
    } else {
        None
    };
    if !(200..300).contains(&status) || status == 204 {
        return Err(match status {
            401 => {
                let message = parsed
                    .as_ref()
                    .and_then(|v| {
                        v.get("errors")?
                            .get(0)?
                            .get("message")?
                            .as_str()
                            .filter(|m| !m.is_empty())
                            .map(str::to_owned)
                    })
                    .unwrap_or_else(|| "Invalid secret key".to_owned());
                OpaqueFailure::new(Reason::SecretKeyInvalid, &message, Some(status))
            }
            404 => OpaqueFailure::new(Reason::TokenInvalid, not_found_text(kind), Some(status)),
            204 | 429 | 500..=599 => OpaqueFailure::outage("Unexpected error", Some(status)),
            _ => OpaqueFailure::new(Reason::UnexpectedError, "Unexpected error", Some(status)),
        });
    }
    let Some(Value::Object(data)) = parsed else {
        // Not JSON (Clerk's SDK throws on it): the Backend API is not answering as it should.
        tracing::warn!(
            status,
            "clerk: machine token verification answer is not a JSON object"
        );
        return Err(OpaqueFailure::outage("Unexpected error", None));
    };
    if data.get("object").and_then(Value::as_str) != Some(expected_object(kind)) {
        tracing::warn!(
            status,
            "clerk: machine token verification answered another kind of object"
        );
        return Err(OpaqueFailure::new(
            Reason::UnexpectedError,
            "Unexpected error",
            Some(status),
        ));
    }
    let flag = |name: &str| data.get(name).and_then(Value::as_bool) == Some(true);
    if flag("revoked") || flag("expired") {
        let what = if flag("revoked") {
            "revoked"
        } else {
            "expired"
        };
        let text = format!("{} is {what}", kind_label(kind));
        return Err(OpaqueFailure::new(
            Reason::TokenInvalid,
            &text,
            Some(status),
        ));
    }
    if kind == TokenKind::OauthToken {
        check_oauth_audience(data.get("aud"), audience)?;
    }
    // Clerk's `toAuth()` reads an API key's subject as a string and throws otherwise (a 500 in
    // Express, never authenticated): refused.
    if kind == TokenKind::ApiKey && !data.get("subject").is_some_and(Value::is_string) {
        tracing::warn!(
            status,
            "clerk: API key verification answer without a string subject"
        );
        return Err(OpaqueFailure::new(
            Reason::UnexpectedError,
            "Unexpected error",
            Some(status),
        ));
    }
    let field = |name: &str| data.get(name).cloned();
    Ok(MachineAuth {
        kind,
        id: field("id"),
        subject: field("subject"),
        name: (kind == TokenKind::ApiKey).then(|| field("name")).flatten(),
        claims: (kind != TokenKind::OauthToken)
            .then(|| field("claims"))
            .flatten(),
        scopes: field("scopes"),
        client_id: (kind == TokenKind::OauthToken)
            .then(|| field("client_id"))
            .flatten(),
        expiration: data.get("expiration").and_then(Value::as_f64),
    })
}

fn kind_label(kind: TokenKind) -> &'static str {
    match kind {
        TokenKind::ApiKey => "API key",
        TokenKind::M2mToken => "Machine token",
        _ => "OAuth token",
    }
}

/// Clerk's `assertOAuthAudienceClaim`.
pub(crate) fn check_oauth_audience(
    aud: Option<&Value>,
    audience: &[String],
) -> Result<(), OpaqueFailure> {
    if audience.is_empty() {
        return Ok(());
    }
    let list: Option<Vec<&str>> = match aud {
        Some(Value::String(s)) if !s.is_empty() => Some(vec![s.as_str()]),
        Some(Value::Array(items)) if !items.is_empty() => items.iter().map(Value::as_str).collect(),
        _ => None,
    };
    let aud_text = crate::js::js_stringify(aud);
    let Some(list) = list.filter(|l| l.iter().all(|a| !a.is_empty())) else {
        return Err(OpaqueFailure::new(
            Reason::TokenVerificationFailed,
            &format!("Invalid OAuth audience claim (aud) {aud_text}. Expected a non-empty string or a non-empty array of non-empty strings."),
            None,
        ));
    };
    if !list.iter().any(|a| audience.iter().any(|x| x == a)) {
        let expected: Vec<Value> = audience.iter().map(|a| Value::String(a.clone())).collect();
        return Err(OpaqueFailure::new(
            Reason::TokenVerificationFailed,
            &format!(
                "OAuth audience mismatch. Verification expected audience {}, but incoming token has aud {aud_text}.",
                crate::js::js_stringify(Some(&Value::Array(expected)))
            ),
            None,
        ));
    }
    Ok(())
}
