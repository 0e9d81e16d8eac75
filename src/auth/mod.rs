//! [`Auth`]: the outcome handed to handlers, the Rust twin of Clerk's auth object.
//!
//! - [`json`]: its JSON (Clerk's field order, omitted vs null);
//! - [`org`]: organisation claims of version 1 and 2 tokens;
//! - [`has`]: [`Has`], Clerk's fail-closed authorization check.

use std::fmt;
use std::sync::Arc;

use serde_json::{Map, Value};

use crate::error::Reason;
use crate::js::truthy;

pub(crate) mod has;
pub(crate) mod json;
pub(crate) mod org;

use has::{evaluate, Verdict};

use crate::machine::{MachineAuth, TokenKind};
pub use has::{Has, Reverification, ReverificationLevel};
use org::OrgFields;

use crate::error::ClerkError;

/// Where the token was found.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum TokenCarrier {
    /// `Authorization` header.
    Header,
    /// `__session` cookie.
    Cookie,
}

impl TokenCarrier {
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            TokenCarrier::Header => "header",
            TokenCarrier::Cookie => "cookie",
        }
    }
}

/// The verified claims of a session token, as sent (every claim, in order).
pub type SessionClaims = Map<String, Value>;

/// The authentication outcome of a request.
///
/// Both middlewares put one into the request extensions; handlers read it with
/// `web::ReqData<Auth>` (or the [`Authenticated`](crate::Authenticated) extractor).
/// Cloning is cheap (one reference count).
///
/// It serialises to the JSON of Clerk's auth object (`userId`, `sessionId`, `orgId`, …,
/// `isAuthenticated`), so `web::Json(auth)` answers what Express's `res.json(req.auth)` did.
///
/// ```
/// use actix_clerk::{Auth, Has};
/// fn can_manage(auth: &Auth) -> bool {
///     auth.is_signed_in() && auth.has(&Has::permission("org:memberships:manage"))
/// }
/// # let _ = can_manage;
/// ```
#[derive(Clone)]
pub struct Auth {
    inner: Arc<AuthState>,
    /// Which configuration decided it (see [`ClerkConfig::id`](crate::ClerkConfig)): an inner
    /// middleware of the same configuration reuses the decision.
    decided_by: usize,
}

// Always behind an `Arc`: the size difference costs nothing.
#[allow(clippy::large_enum_variant)]
pub(crate) enum AuthState {
    SignedIn(SignedIn),
    /// An authenticated machine token.
    Machine(MachineAuth),
    SignedOut(SignedOut),
}

/// Which auth object a signed-out outcome is (Clerk's `tokenType` of the request state).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum SignedOutKind {
    /// A session's signed-out object.
    Session,
    /// A machine kind's unauthenticated object.
    Machine(TokenKind),
    /// Clerk's invalid-token object (`{"isAuthenticated":false,"tokenType":null}`).
    InvalidToken,
}

pub(crate) struct SignedIn {
    /// The claims, parsed from `claims_text` on first use when they were not kept (a cached
    /// session costs its JSON text, not a map, until something reads its claims).
    claims: std::sync::OnceLock<SessionClaims>,
    claims_text: Option<Box<str>>,
    pub carrier: TokenCarrier,
    pub org: OrgFields,
    /// `sub` and `sid` when strings, read once: the accessors handlers call on every request.
    pub user_id: Option<Box<str>>,
    pub session_id: Option<Box<str>>,
}

pub(crate) struct SignedOut {
    pub reason: Reason,
    pub message: String,
    pub carrier: Option<TokenCarrier>,
    /// `pending` for a pending session, else absent.
    pub session_status: Option<Value>,
    /// For key-source outages: seconds before a retry is worthwhile.
    pub retry_after_secs: Option<u64>,
    pub kind: SignedOutKind,
}

impl SignedIn {
    /// Every claim, in order (parsed from the kept text on first use).
    pub(crate) fn claims(&self) -> &SessionClaims {
        self.claims.get_or_init(|| {
            self.claims_text
                .as_deref()
                .and_then(|text| serde_json::from_str(text).ok())
                .unwrap_or_default()
        })
    }
}

impl fmt::Debug for Auth {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &*self.inner {
            AuthState::SignedIn(s) => f
                .debug_struct("Auth::SignedIn")
                .field("user_id", &self.user_id())
                .field("session_id", &self.session_id())
                .field("org_id", &self.org_id())
                .field("carrier", &s.carrier)
                .finish_non_exhaustive(),
            AuthState::Machine(m) => f
                .debug_struct("Auth::Machine")
                .field("kind", &m.kind)
                .field("subject", &m.subject_str())
                .finish_non_exhaustive(),
            AuthState::SignedOut(s) => f
                .debug_struct("Auth::SignedOut")
                .field("reason", &s.reason)
                .field("message", &s.message)
                .finish(),
        }
    }
}

impl Auth {
    /// The outcome of a verified session token, as Clerk's `toAuth()` builds it: signed in,
    /// signed out for a pending session, or `None` where Clerk's `toAuth()` throws (malformed
    /// version-2 organisation claims).
    #[cfg_attr(not(any(test, feature = "testing")), allow(dead_code))]
    pub(crate) fn from_verified(claims: SessionClaims, carrier: TokenCarrier) -> Option<Auth> {
        Self::signed_in(claims, None, carrier)
    }

    /// As [`from_verified`](Self::from_verified), keeping `text` (the JSON the claims were
    /// parsed from) instead of the parsed claims: they are parsed again, once, if read.
    pub(crate) fn from_verified_text(
        claims: SessionClaims,
        text: Box<str>,
        carrier: TokenCarrier,
    ) -> Option<Auth> {
        Self::signed_in(claims, Some(text), carrier)
    }

    fn signed_in(
        claims: SessionClaims,
        text: Option<Box<str>>,
        carrier: TokenCarrier,
    ) -> Option<Auth> {
        let org = OrgFields::from_claims(&claims)?;
        let [sts, sub, sid] = crate::js::members(&claims, ["sts", "sub", "sid"]);
        if sts.and_then(Value::as_str) == Some("pending") {
            return Some(Auth::pending(carrier));
        }
        let user_id = sub.and_then(Value::as_str).map(Into::into);
        let session_id = sid.and_then(Value::as_str).map(Into::into);
        let (parsed, claims_text) = match text {
            Some(text) => (std::sync::OnceLock::new(), Some(text)),
            None => (std::sync::OnceLock::from(claims), None),
        };
        Some(Auth {
            inner: Arc::new(AuthState::SignedIn(SignedIn {
                user_id,
                session_id,
                claims: parsed,
                claims_text,
                carrier,
                org,
            })),
            decided_by: 0,
        })
    }

    pub(crate) fn signed_out(
        reason: Reason,
        message: String,
        carrier: Option<TokenCarrier>,
    ) -> Auth {
        Auth {
            inner: Arc::new(AuthState::SignedOut(SignedOut {
                reason,
                message,
                carrier,
                session_status: None,
                retry_after_secs: None,
                kind: SignedOutKind::Session,
            })),
            decided_by: 0,
        }
    }

    pub(crate) fn pending(carrier: TokenCarrier) -> Auth {
        Auth {
            inner: Arc::new(AuthState::SignedOut(SignedOut {
                reason: Reason::SessionPending,
                message: String::new(),
                carrier: Some(carrier),
                session_status: Some(Value::String("pending".into())),
                retry_after_secs: None,
                kind: SignedOutKind::Session,
            })),
            decided_by: 0,
        }
    }

    /// Marks a signed-out outcome as a key-source outage to retry after `secs` (called once,
    /// while this `Auth` is the only handle on its state).
    pub(crate) fn set_retry_after(&mut self, secs: u64) {
        if let Some(AuthState::SignedOut(s)) = Arc::get_mut(&mut self.inner) {
            s.retry_after_secs = Some(secs);
        }
    }

    /// An authenticated machine token.
    pub(crate) fn machine_token(m: MachineAuth) -> Auth {
        Auth {
            inner: Arc::new(AuthState::Machine(m)),
            decided_by: 0,
        }
    }

    /// A signed-out outcome answered with another auth object than a session's.
    pub(crate) fn signed_out_as(
        kind: SignedOutKind,
        reason: Reason,
        message: String,
        retry_after_secs: Option<u64>,
    ) -> Auth {
        Auth {
            inner: Arc::new(AuthState::SignedOut(SignedOut {
                reason,
                message,
                carrier: Some(TokenCarrier::Header),
                session_status: None,
                retry_after_secs,
                kind,
            })),
            decided_by: 0,
        }
    }

    pub(crate) fn decided_by(&self) -> usize {
        self.decided_by
    }

    pub(crate) fn set_decided_by(&mut self, config: usize) {
        self.decided_by = config;
    }

    pub(crate) fn state(&self) -> &AuthState {
        &self.inner
    }

    fn session(&self) -> Option<&SignedIn> {
        match &*self.inner {
            AuthState::SignedIn(s) => Some(s),
            AuthState::Machine(_) | AuthState::SignedOut(_) => None,
        }
    }

    fn machine(&self) -> Option<&MachineAuth> {
        match &*self.inner {
            AuthState::Machine(m) => Some(m),
            AuthState::SignedIn(_) | AuthState::SignedOut(_) => None,
        }
    }

    /// Whether the request is authenticated: a valid, active session, or — on a middleware
    /// that [`accepts`](crate::ClerkAuth::accepts) them — a valid machine token (API key, M2M
    /// or OAuth token). A pending session (`sts: pending`) is not signed in. Use
    /// [`is_machine`](Self::is_machine) or [`token_kind`](Self::token_kind) to tell people from
    /// machines.
    pub fn is_signed_in(&self) -> bool {
        !matches!(*self.inner, AuthState::SignedOut(_))
    }

    /// The kind of token that authenticated the request, or that was expected of a signed-out
    /// one (`None` for Clerk's invalid-token outcome).
    pub fn token_kind(&self) -> Option<TokenKind> {
        match &*self.inner {
            AuthState::SignedIn(_) => Some(TokenKind::SessionToken),
            AuthState::Machine(m) => Some(m.kind),
            AuthState::SignedOut(s) => match s.kind {
                SignedOutKind::Session => Some(TokenKind::SessionToken),
                SignedOutKind::Machine(k) => Some(k),
                SignedOutKind::InvalidToken => None,
            },
        }
    }

    /// Whether a machine token (API key, M2M or OAuth token) authenticated the request.
    pub fn is_machine(&self) -> bool {
        self.machine().is_some()
    }

    /// A machine token's subject: the user or organisation of an API key, the machine of an
    /// M2M token, the user of an OAuth token.
    pub fn subject(&self) -> Option<&str> {
        self.machine()?.subject_str()
    }

    /// A machine token's id (`ak_…`/`mt_…`/`oat_…` ids, or a JWT's `jti`).
    pub fn machine_token_id(&self) -> Option<&str> {
        self.machine()?.id.as_ref()?.as_str()
    }

    /// An M2M token's machine (`mch_…`).
    pub fn machine_id(&self) -> Option<&str> {
        let m = self.machine()?;
        (m.kind == TokenKind::M2mToken).then(|| m.subject_str())?
    }

    /// An OAuth token's client.
    pub fn client_id(&self) -> Option<&str> {
        self.machine()?.client_id.as_ref()?.as_str()
    }

    /// An API key's name.
    pub fn machine_name(&self) -> Option<&str> {
        self.machine()?.name.as_ref()?.as_str()
    }

    /// A machine token's scopes.
    pub fn scopes(&self) -> Vec<&str> {
        self.machine()
            .and_then(|m| m.scopes.as_ref())
            .and_then(Value::as_array)
            .map(|a| a.iter().filter_map(Value::as_str).collect())
            .unwrap_or_default()
    }

    /// Whether a machine token carries `scope`. (`has()` is always false for machines, as in
    /// Clerk: scopes are what machines carry.)
    pub fn has_scope(&self, scope: &str) -> bool {
        self.machine().is_some_and(|m| m.has_scope(scope))
    }

    /// An API key's or M2M token's custom claims.
    pub fn machine_claims(&self) -> Option<&Value> {
        self.machine()?.claims.as_ref()
    }

    /// Clerk's reason for a signed-out request (`None` when signed in).
    pub fn reason(&self) -> Option<Reason> {
        match &*self.inner {
            AuthState::SignedOut(s) => Some(s.reason),
            AuthState::SignedIn(_) | AuthState::Machine(_) => None,
        }
    }

    /// Clerk's message for a signed-out request (empty when signed in or when Clerk gives none).
    pub fn message(&self) -> &str {
        match &*self.inner {
            AuthState::SignedOut(s) => &s.message,
            AuthState::SignedIn(_) | AuthState::Machine(_) => "",
        }
    }

    /// Where the token came from, if one was presented.
    pub fn token_carrier(&self) -> Option<TokenCarrier> {
        match &*self.inner {
            AuthState::SignedIn(s) => Some(s.carrier),
            AuthState::Machine(_) => Some(TokenCarrier::Header),
            AuthState::SignedOut(s) => s.carrier,
        }
    }

    /// The signed-in user: a session's `sub`; for a machine token, Clerk's `userId` — the user
    /// an OAuth token acts for, or the owner of an API key whose subject is a user (an API key
    /// owned by an organisation, and an M2M token, have none). `None` when signed out.
    pub fn user_id(&self) -> Option<&str> {
        match &*self.inner {
            AuthState::SignedIn(s) => s.user_id.as_deref(),
            AuthState::Machine(m) => m.user_id(),
            AuthState::SignedOut(_) => None,
        }
    }

    /// The session (`sid`).
    pub fn session_id(&self) -> Option<&str> {
        self.session()?.session_id.as_deref()
    }

    /// The session status (`sts`: `active`, `pending`), when the token carries it.
    pub fn session_status(&self) -> Option<&str> {
        match &*self.inner {
            AuthState::SignedIn(s) => s.claims().get("sts").and_then(Value::as_str),
            AuthState::SignedOut(s) => s.session_status.as_ref().and_then(Value::as_str),
            AuthState::Machine(_) => None,
        }
    }

    /// The active organisation's id (v1 `org_id`, v2 `o.id`).
    /// For an API key, Clerk's `orgId` (the subject when it is an organisation).
    pub fn org_id(&self) -> Option<&str> {
        if let Some(m) = self.machine() {
            return m.org_id();
        }
        self.session()?.org.id.as_ref()?.as_str()
    }

    /// The user's role in the active organisation, e.g. `org:admin`.
    pub fn org_role(&self) -> Option<&str> {
        self.session()?.org.role.as_ref()?.as_str()
    }

    /// The active organisation's slug.
    pub fn org_slug(&self) -> Option<&str> {
        self.session()?.org.slug.as_ref()?.as_str()
    }

    /// The user's permissions in the active organisation (`org:<feature>:<permission>`).
    pub fn org_permissions(&self) -> Vec<&str> {
        self.session()
            .and_then(|s| s.org.permissions.as_ref())
            .and_then(Value::as_array)
            .map(|a| a.iter().filter_map(Value::as_str).collect())
            .unwrap_or_default()
    }

    /// The impersonating actor (`act`), if any.
    pub fn actor(&self) -> Option<&Value> {
        self.session()?.claims().get("act")
    }

    /// Minutes since the first and second factor were verified (`fva`; -1 = never).
    pub fn factor_verification_age(&self) -> Option<[i64; 2]> {
        let fva = self.session()?.claims().get("fva")?.as_array()?;
        match fva.as_slice() {
            [a, b] => Some([a.as_i64()?, b.as_i64()?]),
            _ => None,
        }
    }

    /// All claims of the verified token.
    pub fn session_claims(&self) -> Option<&SessionClaims> {
        self.session().map(SignedIn::claims)
    }

    /// One claim of the verified token.
    pub fn claim(&self, name: &str) -> Option<&Value> {
        self.session()?.claims().get(name)
    }

    /// Clerk's `has()`: fail-closed authorization. False when signed out; otherwise every
    /// dimension asked (role/permission, feature/plan, reverification) must pass, and at least
    /// one must be asked; [`Has::any_of`] / [`Has::all_of`] combine checks.
    pub fn has(&self, check: &Has) -> bool {
        self.verdict(check) == Some(Verdict::Pass)
    }

    fn verdict(&self, check: &Has) -> Option<Verdict> {
        let s = self.session()?;
        if !truthy(s.claims().get("sub")) {
            return Some(Verdict::Fail);
        }
        Some(evaluate(check, s.claims(), &s.org))
    }

    /// Authorizes in a handler, with the answers of a protected route: `Ok` when `check`
    /// passes; [`ClerkError::Unauthenticated`] (`401`) when signed out;
    /// [`ClerkError::ReverificationRequired`] (`403` with Clerk's reverification body, which
    /// Clerk's frontend answers by asking the user to verify again) when only the
    /// reverification part fails; [`ClerkError::Forbidden`] (`403`) otherwise.
    ///
    /// ```
    /// use actix_clerk::{Auth, ClerkError, Has, Reverification};
    /// async fn delete_account(auth: Auth) -> Result<&'static str, ClerkError> {
    ///     auth.protect(&Has::reverification(Reverification::Strict))?;
    ///     Ok("deleted")
    /// }
    /// # let _ = delete_account;
    /// ```
    pub fn protect(&self, check: &Has) -> Result<(), ClerkError> {
        match self.verdict(check) {
            Some(Verdict::Pass) => Ok(()),
            Some(Verdict::Reverify(reverification)) => {
                Err(ClerkError::ReverificationRequired { reverification })
            }
            Some(Verdict::Fail) => Err(ClerkError::Forbidden),
            None => Err(self.unauthenticated_error()),
        }
    }

    /// The error a strict middleware answers this signed-out request with.
    pub(crate) fn unauthenticated_error(&self) -> ClerkError {
        match &*self.inner {
            AuthState::SignedOut(s) => match s.retry_after_secs {
                // Keys or the Backend API unavailable: no decision could be made.
                Some(retry_after_secs) => ClerkError::KeysUnavailable {
                    reason: s.reason,
                    message: s.message.clone(),
                    retry_after_secs,
                },
                _ => ClerkError::Unauthenticated {
                    reason: s.reason,
                    message: s.message.clone(),
                    token_presented: s.carrier.is_some(),
                },
            },
            AuthState::SignedIn(_) | AuthState::Machine(_) => ClerkError::Forbidden,
        }
    }

    /// The session claims as a type of the application's own: the claims a JWT template adds
    /// (`metadata`, `role`, …) next to Clerk's own. Fields the type does not name are ignored.
    ///
    /// ```
    /// use actix_clerk::{Auth, ClaimsError};
    /// use serde::Deserialize;
    ///
    /// // A JWT template of {"metadata": "{{user.public_metadata}}"}.
    /// #[derive(Deserialize)]
    /// struct Claims {
    ///     sub: String,
    ///     metadata: Metadata,
    /// }
    /// #[derive(Deserialize)]
    /// struct Metadata {
    ///     tier: String,
    /// }
    ///
    /// async fn tier(auth: Auth) -> Result<String, ClaimsError> {
    ///     let claims: Claims = auth.claims_as()?;
    ///     Ok(format!("{} is on {}", claims.sub, claims.metadata.tier))
    /// }
    /// # let _ = tier;
    /// ```
    pub fn claims_as<T: serde::de::DeserializeOwned>(&self) -> Result<T, ClaimsError> {
        let claims = self.session_claims().ok_or(ClaimsError::SignedOut)?;
        T::deserialize(claims).map_err(|e| ClaimsError::Invalid(e.to_string()))
    }
}

/// Why [`Auth::claims_as`] could not give the claims. As an actix error: `401` when signed
/// out, `403` when the claims do not have the asked shape (the session lacks what the route
/// needs); neither response contains a claim.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ClaimsError {
    /// The request is signed out: there are no claims.
    #[error("signed out: no session claims")]
    SignedOut,
    /// The claims do not deserialise into the asked type (serde's message: which field, why).
    #[error("session claims do not have the expected shape: {0}")]
    Invalid(String),
}

impl actix_web::ResponseError for ClaimsError {
    fn status_code(&self) -> actix_web::http::StatusCode {
        match self {
            ClaimsError::SignedOut => actix_web::http::StatusCode::UNAUTHORIZED,
            ClaimsError::Invalid(_) => actix_web::http::StatusCode::FORBIDDEN,
        }
    }

    fn error_response(&self) -> actix_web::HttpResponse {
        let (status, error) = match self {
            ClaimsError::SignedOut => (self.status_code(), "unauthenticated"),
            ClaimsError::Invalid(_) => (self.status_code(), "forbidden"),
        };
        actix_web::HttpResponse::build(status)
            .content_type("application/json")
            .body(format!("{{\"error\":\"{error}\"}}"))
    }
}
