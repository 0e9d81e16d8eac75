//! [`Auth`]: the outcome handed to handlers, the Rust twin of Clerk's auth object, and
//! [`Has`], the fail-closed authorization check.

use std::fmt;
use std::sync::Arc;

use serde::ser::SerializeMap;
use serde::{Serialize, Serializer};
use serde_json::{Map, Value};

use crate::error::Reason;
use crate::jwt::{prop_opt, truthy};

/// Where the token was found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
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
}

// Always behind an `Arc`: the size difference costs nothing.
#[allow(clippy::large_enum_variant)]
pub(crate) enum AuthState {
    SignedIn(SignedIn),
    SignedOut(SignedOut),
}

pub(crate) struct SignedIn {
    pub claims: SessionClaims,
    pub carrier: TokenCarrier,
    pub org: OrgFields,
}

pub(crate) struct SignedOut {
    pub reason: Reason,
    pub message: String,
    pub carrier: Option<TokenCarrier>,
    /// `pending` for a pending session, else absent.
    pub session_status: Option<Value>,
}

/// Organisation fields derived from the claims (version 1 or 2 tokens); `None` = undefined.
#[derive(Default)]
pub(crate) struct OrgFields {
    pub id: Option<Value>,
    pub role: Option<Value>,
    pub slug: Option<Value>,
    pub permissions: Option<Value>,
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
    pub(crate) fn from_verified(claims: SessionClaims, carrier: TokenCarrier) -> Option<Auth> {
        let org = OrgFields::from_claims(&claims)?;
        if claims.get("sts").and_then(Value::as_str) == Some("pending") {
            return Some(Auth::pending(carrier));
        }
        Some(Auth {
            inner: Arc::new(AuthState::SignedIn(SignedIn {
                claims,
                carrier,
                org,
            })),
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
            })),
        }
    }

    pub(crate) fn pending(carrier: TokenCarrier) -> Auth {
        Auth {
            inner: Arc::new(AuthState::SignedOut(SignedOut {
                reason: Reason::SessionPending,
                message: String::new(),
                carrier: Some(carrier),
                session_status: Some(Value::String("pending".into())),
            })),
        }
    }

    pub(crate) fn state(&self) -> &AuthState {
        &self.inner
    }

    fn session(&self) -> Option<&SignedIn> {
        match &*self.inner {
            AuthState::SignedIn(s) => Some(s),
            AuthState::SignedOut(_) => None,
        }
    }

    fn claim_str(&self, name: &str) -> Option<&str> {
        self.session()?.claims.get(name)?.as_str()
    }

    /// Whether the request carries a valid, active session.
    pub fn is_signed_in(&self) -> bool {
        self.session().is_some()
    }

    /// Clerk's reason for a signed-out request (`None` when signed in).
    pub fn reason(&self) -> Option<Reason> {
        match &*self.inner {
            AuthState::SignedOut(s) => Some(s.reason),
            AuthState::SignedIn(_) => None,
        }
    }

    /// Clerk's message for a signed-out request (empty when signed in or when Clerk gives none).
    pub fn message(&self) -> &str {
        match &*self.inner {
            AuthState::SignedOut(s) => &s.message,
            AuthState::SignedIn(_) => "",
        }
    }

    /// Where the token came from, if one was presented.
    pub fn token_carrier(&self) -> Option<TokenCarrier> {
        match &*self.inner {
            AuthState::SignedIn(s) => Some(s.carrier),
            AuthState::SignedOut(s) => s.carrier,
        }
    }

    /// The user (`sub`).
    pub fn user_id(&self) -> Option<&str> {
        self.claim_str("sub")
    }

    /// The session (`sid`).
    pub fn session_id(&self) -> Option<&str> {
        self.claim_str("sid")
    }

    /// The session status (`sts`: `active`, `pending`), when the token carries it.
    pub fn session_status(&self) -> Option<&str> {
        match &*self.inner {
            AuthState::SignedIn(s) => s.claims.get("sts").and_then(Value::as_str),
            AuthState::SignedOut(s) => s.session_status.as_ref().and_then(Value::as_str),
        }
    }

    /// The active organisation's id (v1 `org_id`, v2 `o.id`).
    pub fn org_id(&self) -> Option<&str> {
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
        self.session()?.claims.get("act")
    }

    /// Minutes since the first and second factor were verified (`fva`; -1 = never).
    pub fn factor_verification_age(&self) -> Option<[i64; 2]> {
        let fva = self.session()?.claims.get("fva")?.as_array()?;
        match fva.as_slice() {
            [a, b] => Some([a.as_i64()?, b.as_i64()?]),
            _ => None,
        }
    }

    /// All claims of the verified token.
    pub fn session_claims(&self) -> Option<&SessionClaims> {
        self.session().map(|s| &s.claims)
    }

    /// One claim of the verified token.
    pub fn claim(&self, name: &str) -> Option<&Value> {
        self.session()?.claims.get(name)
    }

    /// Clerk's `has()`: fail-closed authorization. False when signed out; otherwise every
    /// dimension asked (role/permission, feature/plan, reverification) must pass, and at least
    /// one must be asked.
    pub fn has(&self, check: &Has) -> bool {
        let Some(s) = self.session() else {
            return false;
        };
        if !truthy(s.claims.get("sub")) {
            return false;
        }
        let results = [
            check_org(check, &s.org),
            check_billing(check, &s.claims),
            check_reverification(check, s.claims.get("fva")),
        ];
        results.contains(&Check::Pass) && results.iter().all(|r| *r != Check::Fail)
    }
}

impl Serialize for Auth {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(None)?;
        map.serialize_entry("tokenType", "session_token")?;
        match &*self.inner {
            AuthState::SignedIn(s) => {
                let c = &s.claims;
                if let Some(act) = c.get("act") {
                    map.serialize_entry("actor", act)?;
                }
                map.serialize_entry("sessionClaims", c)?;
                if let Some(sid) = c.get("sid") {
                    map.serialize_entry("sessionId", sid)?;
                }
                map.serialize_entry("sessionStatus", c.get("sts").unwrap_or(&Value::Null))?;
                map.serialize_entry("userId", c.get("sub").unwrap_or(&Value::Null))?;
                for (name, value) in [
                    ("orgId", &s.org.id),
                    ("orgRole", &s.org.role),
                    ("orgSlug", &s.org.slug),
                    ("orgPermissions", &s.org.permissions),
                ] {
                    if let Some(v) = value {
                        map.serialize_entry(name, v)?;
                    }
                }
                map.serialize_entry(
                    "factorVerificationAge",
                    c.get("fva").unwrap_or(&Value::Null),
                )?;
                map.serialize_entry("isAuthenticated", &true)?;
            }
            AuthState::SignedOut(s) => {
                map.serialize_entry("sessionClaims", &Value::Null)?;
                map.serialize_entry("sessionId", &Value::Null)?;
                map.serialize_entry(
                    "sessionStatus",
                    s.session_status.as_ref().unwrap_or(&Value::Null),
                )?;
                for name in [
                    "userId",
                    "actor",
                    "orgId",
                    "orgRole",
                    "orgSlug",
                    "orgPermissions",
                    "factorVerificationAge",
                ] {
                    map.serialize_entry(name, &Value::Null)?;
                }
                map.serialize_entry("isAuthenticated", &false)?;
            }
        }
        map.end()
    }
}

/// `String(value)` for the few places Clerk interpolates a claim into a string.
fn js_string(value: &Value) -> String {
    match value {
        Value::String(s) => s.clone(),
        Value::Number(n) => n
            .as_i64()
            .map(|i| i.to_string())
            .unwrap_or_else(|| crate::jwt::js_number(n.as_f64().unwrap_or(f64::NAN))),
        Value::Bool(b) => b.to_string(),
        Value::Null => "null".into(),
        Value::Array(a) => a
            .iter()
            .map(|v| {
                if v.is_null() {
                    String::new()
                } else {
                    js_string(v)
                }
            })
            .collect::<Vec<_>>()
            .join(","),
        Value::Object(_) => "[object Object]".into(),
    }
}

impl OrgFields {
    /// `None` where Clerk's parser throws: a `fea` that is not a string of `scope:feature`
    /// elements, or `per`/`fpm` present but not strings.
    fn from_claims(claims: &SessionClaims) -> Option<OrgFields> {
        let is_v2 = claims.get("v").and_then(Value::as_f64) == Some(2.0);
        if !is_v2 {
            return Some(OrgFields {
                id: claims.get("org_id").cloned(),
                role: claims.get("org_role").cloned(),
                slug: claims.get("org_slug").cloned(),
                permissions: claims.get("org_permissions").cloned(),
            });
        }
        let Some(o) = claims.get("o").filter(|o| truthy(Some(o))) else {
            return Some(OrgFields::default());
        };
        let role = prop_opt(o, "rol")
            .filter(|r| truthy(Some(r)))
            .map(|r| Value::String(format!("org:{}", js_string(r))));
        let features = split_by_scope(claims.get("fea"))?.org;
        let permissions = org_permissions(&features, prop_opt(o, "per"), prop_opt(o, "fpm"))?;
        Some(OrgFields {
            id: prop_opt(o, "id").cloned(),
            role,
            slug: prop_opt(o, "slg").cloned(),
            permissions: Some(Value::Array(
                permissions.into_iter().map(Value::String).collect(),
            )),
        })
    }
}

/// `None` where Clerk's `per.split`/`fpm.split` would throw (present, not strings).
fn org_permissions(
    features: &[String],
    per: Option<&Value>,
    fpm: Option<&Value>,
) -> Option<Vec<String>> {
    if !truthy(per) || !truthy(fpm) {
        return Some(Vec::new());
    }
    let (per, fpm) = (per?.as_str()?, fpm?.as_str()?);
    let permissions: Vec<&str> = per.split(',').map(crate::jwt::js_trim).collect();
    let mut out = Vec::new();
    for (feature, mask) in features.iter().zip(fpm.split(',')) {
        let bits = decimal_bits(crate::jwt::js_trim(mask), permissions.len());
        for (perm, bit) in permissions.iter().zip(bits) {
            if bit {
                out.push(format!("org:{feature}:{perm}"));
            }
        }
    }
    Some(out)
}

/// The lowest `max_bits` bits of a decimal string of any length (lowest bit first); nothing
/// for a string that is not all digits.
fn decimal_bits(decimal: &str, max_bits: usize) -> Vec<bool> {
    if decimal.is_empty() || !decimal.bytes().all(|b| b.is_ascii_digit()) {
        return Vec::new();
    }
    let digits = decimal.trim_start_matches('0');
    if let Ok(v) = digits.parse::<u128>() {
        return (0..max_bits.min(128)).map(|i| v >> i & 1 == 1).collect();
    }
    if digits.is_empty() {
        return Vec::new();
    }
    // Long division by two, only as far as bits are needed.
    let mut n: Vec<u8> = digits.bytes().map(|b| b - b'0').collect();
    let mut bits = Vec::with_capacity(max_bits);
    while bits.len() < max_bits && !n.is_empty() {
        let mut rem = 0u8;
        for d in n.iter_mut() {
            let v = rem * 10 + *d;
            *d = v / 2;
            rem = v % 2;
        }
        bits.push(rem == 1);
        let lead = n.iter().take_while(|d| **d == 0).count();
        n.drain(..lead);
    }
    bits
}

struct Scoped {
    org: Vec<String>,
    user: Vec<String>,
}

/// Clerk's `splitByScope`: `None` where it would throw (a non-string claim, an element
/// without `:`).
fn split_by_scope(fea: Option<&Value>) -> Option<Scoped> {
    let mut scoped = Scoped {
        org: Vec::new(),
        user: Vec::new(),
    };
    if !truthy(fea) {
        return Some(scoped);
    }
    for part in fea?.as_str()?.split(',') {
        let part = crate::jwt::js_trim(part);
        let (scope, value) = part.split_once(':')?;
        match scope {
            "o" => scoped.org.push(value.to_owned()),
            "u" => scoped.user.push(value.to_owned()),
            "ou" | "uo" => {
                scoped.org.push(value.to_owned());
                scoped.user.push(value.to_owned());
            }
            _ => {}
        }
    }
    Some(scoped)
}

/// What to check with [`Auth::has`]. Combine dimensions with the chained setters; every one
/// set must pass.
///
/// ```
/// use actix_clerk::{Has, Reverification};
/// let check = Has::role("org:admin").and_reverification(Reverification::Strict);
/// # let _ = check;
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[must_use]
pub struct Has {
    role: Option<String>,
    permission: Option<String>,
    feature: Option<String>,
    plan: Option<String>,
    reverification: Option<Reverification>,
}

impl Has {
    /// An organisation role, with or without the `org:` prefix.
    pub fn role(role: impl Into<String>) -> Self {
        Has::default().and_role(role)
    }
    /// An organisation permission, e.g. `org:memberships:read`.
    pub fn permission(permission: impl Into<String>) -> Self {
        Has::default().and_permission(permission)
    }
    /// A feature of the `fea` claim; `o:`/`org:`/`organization:` or `u:`/`user:` scope it.
    pub fn feature(feature: impl Into<String>) -> Self {
        Has::default().and_feature(feature)
    }
    /// A plan of the `pla` claim, scoped as features are.
    pub fn plan(plan: impl Into<String>) -> Self {
        Has::default().and_plan(plan)
    }
    /// A recent enough factor verification.
    pub fn reverification(level: Reverification) -> Self {
        Has::default().and_reverification(level)
    }
    /// Adds a role requirement.
    pub fn and_role(mut self, role: impl Into<String>) -> Self {
        self.role = Some(role.into());
        self
    }
    /// Adds a permission requirement.
    pub fn and_permission(mut self, permission: impl Into<String>) -> Self {
        self.permission = Some(permission.into());
        self
    }
    /// Adds a feature requirement.
    pub fn and_feature(mut self, feature: impl Into<String>) -> Self {
        self.feature = Some(feature.into());
        self
    }
    /// Adds a plan requirement.
    pub fn and_plan(mut self, plan: impl Into<String>) -> Self {
        self.plan = Some(plan.into());
        self
    }
    /// Adds a reverification requirement.
    pub fn and_reverification(mut self, level: Reverification) -> Self {
        self.reverification = Some(level);
        self
    }
}

/// How recently the user must have verified a factor (Clerk's reverification presets).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Reverification {
    /// Both factors (or the first when there is no second) within 10 minutes.
    StrictMfa,
    /// The second factor (or the first when there is none) within 10 minutes.
    Strict,
    /// The second factor (or the first) within 60 minutes.
    Moderate,
    /// The second factor (or the first) within 24 hours.
    Lax,
    /// A custom level within `after_minutes` (must be positive).
    Custom {
        /// Which factor(s).
        level: ReverificationLevel,
        /// Maximum age in minutes.
        after_minutes: u32,
    },
}

/// The factor(s) a custom [`Reverification`] asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReverificationLevel {
    /// The first factor.
    FirstFactor,
    /// The second factor, or the first when the user has none.
    SecondFactor,
    /// Both factors, or the first when the user has no second.
    MultiFactor,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Check {
    Skip,
    Pass,
    Fail,
}

fn pass_if(ok: bool) -> Check {
    if ok {
        Check::Pass
    } else {
        Check::Fail
    }
}

fn prefix_with_org(value: &str) -> String {
    let mut rest = value;
    while let Some(r) = rest.strip_prefix("org:") {
        rest = r;
    }
    format!("org:{rest}")
}

fn check_org(check: &Has, org: &OrgFields) -> Check {
    if check.role.is_none() && check.permission.is_none() {
        return Check::Skip;
    }
    if !truthy(org.id.as_ref()) {
        return Check::Fail;
    }
    if let Some(role) = &check.role {
        match org.role.as_ref().and_then(Value::as_str) {
            Some(r) if !r.is_empty() && prefix_with_org(r) == prefix_with_org(role) => {}
            _ => return Check::Fail,
        }
    }
    if let Some(permission) = &check.permission {
        let wanted = prefix_with_org(permission);
        let Some(list) = org.permissions.as_ref().and_then(Value::as_array) else {
            return Check::Fail;
        };
        if !list.iter().any(|p| p.as_str() == Some(wanted.as_str())) {
            return Check::Fail;
        }
    }
    Check::Pass
}

fn check_feature_or_plan(claim: &str, wanted: &str) -> bool {
    let Some(scoped) = split_by_scope(Some(&Value::String(claim.to_owned()))) else {
        return false;
    };
    let mut pieces = wanted.split(':');
    let raw_scope = pieces.next().unwrap_or_default();
    let raw_id = pieces.next();
    let id = match raw_id {
        Some(id) if !id.is_empty() => id,
        _ => raw_scope,
    };
    match raw_id.map(|_| raw_scope) {
        Some("o" | "org" | "organization") => scoped.org.iter().any(|f| f == id),
        Some("u" | "user") => scoped.user.iter().any(|f| f == id),
        Some(_) => false,
        None => scoped.org.iter().chain(&scoped.user).any(|f| f == id),
    }
}

fn check_billing(check: &Has, claims: &SessionClaims) -> Check {
    if check.feature.is_none() && check.plan.is_none() {
        return Check::Skip;
    }
    for (wanted, claim) in [(&check.feature, "fea"), (&check.plan, "pla")] {
        if let Some(wanted) = wanted {
            let value = claims.get(claim).filter(|v| truthy(Some(v)));
            match value.and_then(Value::as_str) {
                Some(text) if check_feature_or_plan(text, wanted) => {}
                _ => return Check::Fail,
            }
        }
    }
    Check::Pass
}

fn check_reverification(check: &Has, fva: Option<&Value>) -> Check {
    let Some(level) = check.reverification else {
        return Check::Skip;
    };
    let valid_age = |v: &Value| v.as_f64().is_some_and(|x| x == -1.0 || x >= 0.0);
    let (f1, f2) = match fva.and_then(Value::as_array).map(Vec::as_slice) {
        Some([a, b]) if valid_age(a) && valid_age(b) => {
            (a.as_f64().unwrap_or(-1.0), b.as_f64().unwrap_or(-1.0))
        }
        _ => return Check::Fail,
    };
    let (level, after) = match level {
        Reverification::StrictMfa => (ReverificationLevel::MultiFactor, 10.0),
        Reverification::Strict => (ReverificationLevel::SecondFactor, 10.0),
        Reverification::Moderate => (ReverificationLevel::SecondFactor, 60.0),
        Reverification::Lax => (ReverificationLevel::SecondFactor, 1440.0),
        Reverification::Custom {
            level,
            after_minutes,
        } if after_minutes > 0 => (level, f64::from(after_minutes)),
        Reverification::Custom { .. } => return Check::Fail,
    };
    if f1 == -1.0 && f2 == -1.0 {
        return Check::Fail;
    }
    let fresh1 = f1 != -1.0 && after > f1;
    let fresh2 = f2 != -1.0 && after > f2;
    pass_if(match level {
        ReverificationLevel::FirstFactor => fresh1,
        ReverificationLevel::SecondFactor if f2 == -1.0 => fresh1,
        ReverificationLevel::SecondFactor => fresh2,
        ReverificationLevel::MultiFactor if f2 == -1.0 => fresh1,
        ReverificationLevel::MultiFactor if f1 == -1.0 => false,
        ReverificationLevel::MultiFactor => fresh1 && fresh2,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn auth(claims: Value) -> Auth {
        let Value::Object(map) = claims else {
            panic!("object") // ok: test
        };
        Auth::from_verified(map, TokenCarrier::Header).unwrap() // ok: test
    }

    #[test]
    fn v2_permissions_from_bitmasks() {
        let a = auth(
            json!({"sub":"user_1","v":2,"fea":"o:impersonation,o:memberships,u:x",
            "o":{"id":"org_1","rol":"admin","slg":"acme","per":"read,manage","fpm":"1,3"}}),
        );
        assert_eq!(
            a.org_permissions(),
            vec![
                "org:impersonation:read",
                "org:memberships:read",
                "org:memberships:manage"
            ]
        );
        assert_eq!(a.org_role(), Some("org:admin"));
        assert!(a.has(&Has::role("admin")));
        assert!(a.has(&Has::role("org:org:admin")));
        assert!(a.has(&Has::permission("memberships:manage")));
        assert!(!a.has(&Has::permission("impersonation:manage")));
        assert!(a.has(&Has::feature("user:x")));
        assert!(!a.has(&Has::feature("org:x")));
        assert!(!a.has(&Has::default()));
    }

    #[test]
    fn big_and_bad_bitmasks() {
        assert_eq!(decimal_bits("5", 4), vec![true, false, true, false]);
        assert!(decimal_bits("x1", 4).is_empty());
        let big = format!("{}1", "0".repeat(50));
        assert_eq!(decimal_bits(&big, 2), vec![true, false]);
        let huge = "340282366920938463463374607431768211457"; // 2^128 + 1
        assert_eq!(decimal_bits(huge, 3), vec![true, false, false]);
    }

    #[test]
    fn reverification_levels() {
        let a = auth(json!({"sub":"u","fva":[5,-1]}));
        assert!(a.has(&Has::reverification(Reverification::Strict)));
        assert!(a.has(&Has::reverification(Reverification::StrictMfa)));
        let b = auth(json!({"sub":"u","fva":[5,30]}));
        assert!(!b.has(&Has::reverification(Reverification::Strict)));
        assert!(b.has(&Has::reverification(Reverification::Moderate)));
        let c = auth(json!({"sub":"u"}));
        assert!(!c.has(&Has::reverification(Reverification::Lax)));
        // a failing dimension fails the whole check
        assert!(!b.has(&Has::role("admin").and_reverification(Reverification::Moderate)));
    }

    #[test]
    fn signed_out_serialises_like_clerk() {
        let a = Auth::signed_out(Reason::TokenInvalid, String::new(), None);
        let v = serde_json::to_value(&a).unwrap(); // ok: test
        assert_eq!(v["isAuthenticated"], json!(false));
        assert_eq!(v["userId"], Value::Null);
        assert_eq!(v["tokenType"], json!("session_token"));
        assert!(!a.has(&Has::role("x")));
    }
}
