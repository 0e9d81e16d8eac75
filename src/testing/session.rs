//! [`SessionTokenBuilder`]: session tokens as Clerk mints them, and their broken forms.

use std::sync::OnceLock;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde_json::{json, Map, Value};

use super::key::{b64url, TestKey};
use super::{now_secs, DEFAULT_AZP, DEFAULT_FRONTEND_API, DEFAULT_SESSION_ID, SESSION_CATEGORY};
use crate::auth::{Auth, TokenCarrier};

/// How long the kit's session tokens last unless told otherwise (Clerk's own last 60 s; an
/// hour keeps slow test runs from seeing them expire).
pub const DEFAULT_LIFETIME: Duration = Duration::from_secs(3600);

/// A broken form of a signed token, for negative tests (what Clerk answers is in the
/// variant's description).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Malformed {
    /// `header.payload`, the signature cut off: `token-invalid`, "Invalid JWT form. A JWT
    /// consists of three parts separated by dots."
    MissingSignature,
    /// A claim changed after signing (the `sub` gets a suffix): `token-invalid-signature`.
    TamperedPayload,
    /// A signature that is not base64url: `token-invalid`, "… could not be decoded."
    SignatureNotBase64url,
}

/// Seconds since the epoch of `t` (negative before 1970).
fn unix(t: SystemTime) -> i64 {
    match t.duration_since(UNIX_EPOCH) {
        Ok(d) => d.as_secs() as i64,
        Err(e) => -(e.duration().as_secs() as i64),
    }
}

/// A key nobody publishes, for forged signatures (one per process).
fn forger() -> &'static TestKey {
    static FORGER: OnceLock<TestKey> = OnceLock::new();
    FORGER.get_or_init(|| TestKey::generate("ins_forger"))
}

/// A session token as Clerk mints it, made by
/// [`TestInstance::session_token`](super::TestInstance::session_token) (signed by the
/// instance's key, issued by its frontend API), [`TestKey::session_token`], or
/// [`SessionTokenBuilder::new`] (for [`to_auth`](Self::to_auth) values; signing then needs
/// [`signed_by`](Self::signed_by)).
///
/// By default a version 2 token (`v: 2`) of an active session: header
/// `{"alg":"RS256","cat":"cl_B7d4PD111AAA","kid":…,"typ":"JWT"}`, claims `azp`
/// ([`DEFAULT_AZP`]), `exp` (an hour after `iat`), `fva` (`[0,-1]`), `iat` (now), `iss`, `nbf`
/// (`iat` − 10 s), `sid` ([`DEFAULT_SESSION_ID`]), `sts` (`active`), `sub` and `v`, in Clerk's
/// (alphabetical) order; [`v1`](Self::v1) gives a version 1 token (no `cat`, `fva`, `sts` or
/// `v`, organisation claims `org_id`, `org_role`, `org_slug`, `org_permissions`).
///
/// ```
/// use actix_clerk::testing::{Malformed, TestInstance};
/// use actix_clerk::Has;
///
/// let instance = TestInstance::new();
/// let admin = instance
///     .session_token("user_1")
///     .org("org_1", "acme", "admin")
///     .org_permissions(["org:invoices:read", "org:invoices:create"])
///     .plans(["o:pro"]);
/// let auth = admin.to_auth();
/// assert!(auth.has(&Has::role("org:admin")));
/// assert!(auth.has(&Has::permission("org:invoices:create")));
/// assert!(auth.has(&Has::plan("pro")));
/// let token = admin.sign();
/// # let _ = token;
///
/// // Negative tests.
/// let _expired = instance.session_token("user_1").expired().sign();
/// let _forged = instance.session_token("user_1").forged().sign();
/// let _bad_alg = instance.session_token("user_1").alg("HS256").sign();
/// let _cut = instance.session_token("user_1").malformed(Malformed::MissingSignature).sign();
/// ```
#[derive(Debug, Clone)]
#[must_use]
pub struct SessionTokenBuilder {
    signer: Option<TestKey>,
    issuer: String,
    user_id: String,
    session_id: String,
    azp: Option<String>,
    v2: bool,
    org: Option<(String, String, String)>,
    permissions: Vec<String>,
    features: Vec<String>,
    plans: Vec<String>,
    actor: Option<String>,
    fva: Option<[i64; 2]>,
    pending: bool,
    extra: Vec<(String, Option<Value>)>,
    iat: Option<i64>,
    nbf: Option<i64>,
    exp: Option<i64>,
    lifetime: i64,
    header: Vec<(String, Option<Value>)>,
    forged: bool,
    malformed: Option<Malformed>,
}

/// Sets `name` in an ordered list of members (in place, or appended), or removes it (`None`).
fn set_member(list: &mut Vec<(String, Option<Value>)>, name: &str, value: Option<Value>) {
    list.retain(|(k, _)| k != name);
    list.push((name.to_owned(), value));
}

/// Applies ordered overrides to an ordered object: an existing member keeps its place.
fn apply(base: &mut Map<String, Value>, overrides: &[(String, Option<Value>)]) {
    for (name, value) in overrides {
        match value {
            Some(v) => {
                base.insert(name.clone(), v.clone());
            }
            None => {
                base.shift_remove(name);
            }
        }
    }
}

/// `org:<feature>:<permission>` → (feature, permission).
fn split_permission(permission: &str) -> (&str, &str) {
    let rest = permission.strip_prefix("org:").unwrap_or(permission);
    rest.split_once(':').unwrap_or_else(|| {
        panic!(
            "actix_clerk::testing: {permission:?} is not an organisation permission \
             (org:<feature>:<permission>); use .claim(…) for arbitrary claims"
        )
    })
}

/// Whether a `fea` element is organisation-scoped (Clerk's `splitByScope`).
fn org_feature(element: &str) -> Option<&str> {
    let (scope, name) = element.split_once(':')?;
    matches!(scope, "o" | "ou" | "uo").then_some(name)
}

impl SessionTokenBuilder {
    /// A token of `user_id` with no key: enough for [`to_auth`](Self::to_auth); signing needs
    /// [`signed_by`](Self::signed_by). Issued by `https://clerk.example.com`.
    pub fn new(user_id: impl Into<String>) -> SessionTokenBuilder {
        SessionTokenBuilder {
            signer: None,
            issuer: format!("https://{DEFAULT_FRONTEND_API}"),
            user_id: user_id.into(),
            session_id: DEFAULT_SESSION_ID.to_owned(),
            azp: Some(DEFAULT_AZP.to_owned()),
            v2: true,
            org: None,
            permissions: Vec::new(),
            features: Vec::new(),
            plans: Vec::new(),
            actor: None,
            fva: None,
            pending: false,
            extra: Vec::new(),
            iat: None,
            nbf: None,
            exp: None,
            lifetime: DEFAULT_LIFETIME.as_secs() as i64,
            header: Vec::new(),
            forged: false,
            malformed: None,
        }
    }

    /// Signs with `key` (and carries its `kid`): a key of another instance, an old key, or a
    /// key of a JWKS of your own.
    pub fn signed_by(mut self, key: &TestKey) -> Self {
        self.signer = Some(key.clone());
        self
    }

    /// The issuer (`iss`), e.g. `https://clerk.myapp.com`.
    pub fn issuer(mut self, iss: impl Into<String>) -> Self {
        self.issuer = iss.into();
        self
    }

    /// The session (`sid`, default [`DEFAULT_SESSION_ID`]).
    pub fn session_id(mut self, sid: impl Into<String>) -> Self {
        self.session_id = sid.into();
        self
    }

    /// The authorized party (`azp`): the origin of the frontend that asked for the token
    /// (default [`DEFAULT_AZP`]).
    pub fn azp(mut self, origin: impl Into<String>) -> Self {
        self.azp = Some(origin.into());
        self
    }

    /// No `azp` claim.
    pub fn without_azp(mut self) -> Self {
        self.azp = None;
        self
    }

    /// A version 1 token: no `v`, `cat`, `sts` (unless pending) or default `fva`;
    /// organisation claims `org_id`, `org_role`, `org_slug`, `org_permissions`.
    pub fn v1(mut self) -> Self {
        self.v2 = false;
        self
    }

    /// A version 2 token (the default): `v: 2`, the organisation in `o`, permissions encoded
    /// in `fea`, `o.per` and `o.fpm` as Clerk encodes them.
    pub fn v2(mut self) -> Self {
        self.v2 = true;
        self
    }

    /// The active organisation: id, slug and the user's role there (`admin` or `org:admin`;
    /// Clerk's auth object reads `org:admin` either way).
    pub fn org(
        mut self,
        id: impl Into<String>,
        slug: impl Into<String>,
        role: impl Into<String>,
    ) -> Self {
        self.org = Some((id.into(), slug.into(), role.into()));
        self
    }

    /// The user's permissions in the active organisation, `org:<feature>:<permission>` each:
    /// `org_permissions` in a version 1 token; in a version 2 token `o.per` (the permission
    /// names), `o.fpm` (one bitmask per organisation feature) and the features in `fea`, so
    /// that Clerk's auth object lists exactly these. Needs [`org`](Self::org); signing panics
    /// without it, or for a permission not of that form.
    pub fn org_permissions<I, S>(mut self, permissions: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.permissions = permissions.into_iter().map(Into::into).collect();
        self
    }

    /// Features (`fea`), scoped as Clerk writes them: `o:<feature>` (the organisation's),
    /// `u:<feature>` (the user's). Signing panics for one without a scope (a malformed `fea`
    /// is made with [`claim`](Self::claim)).
    pub fn features<I, S>(mut self, features: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.features = features.into_iter().map(Into::into).collect();
        self
    }

    /// Plans (`pla`), scoped as features are: `o:pro`, `u:free`.
    pub fn plans<I, S>(mut self, plans: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.plans = plans.into_iter().map(Into::into).collect();
        self
    }

    /// An impersonated session: `act: {"sub": actor}` (the user doing the impersonating).
    pub fn actor(mut self, actor_user_id: impl Into<String>) -> Self {
        self.actor = Some(actor_user_id.into());
        self
    }

    /// Minutes since the first and the second factor were verified (`fva`; `-1`: never), for
    /// reverification checks. Version 2 tokens default to `[0, -1]`.
    pub fn factor_verification_age(mut self, first_factor: i64, second_factor: i64) -> Self {
        self.fva = Some([first_factor, second_factor]);
        self
    }

    /// A pending session (`sts: pending`): signed out by default, as in Clerk.
    pub fn pending(mut self) -> Self {
        self.pending = true;
        self
    }

    /// Sets a claim (a custom one, or any of the above verbatim, `null` included), replacing
    /// it in place when present.
    pub fn claim(mut self, name: &str, value: impl Into<Value>) -> Self {
        set_member(&mut self.extra, name, Some(value.into()));
        self
    }

    /// Sets every member of `claims` (a JSON object) as [`claim`](Self::claim) does. Panics
    /// when `claims` is not an object.
    pub fn claims(mut self, claims: Value) -> Self {
        let Value::Object(members) = claims else {
            panic!("actix_clerk::testing: SessionTokenBuilder::claims takes a JSON object")
        };
        for (name, value) in members {
            set_member(&mut self.extra, &name, Some(value));
        }
        self
    }

    /// Leaves a claim out (e.g. `exp` or `sub`, for negative tests).
    pub fn without_claim(mut self, name: &str) -> Self {
        set_member(&mut self.extra, name, None);
        self
    }

    /// Issued at `t` (`iat`; `nbf` and `exp` follow unless set).
    pub fn issued_at(mut self, t: SystemTime) -> Self {
        self.iat = Some(unix(t));
        self
    }

    /// Not valid before `t` (`nbf`).
    pub fn not_before(mut self, t: SystemTime) -> Self {
        self.nbf = Some(unix(t));
        self
    }

    /// Expires at `t` (`exp`).
    pub fn expires_at(mut self, t: SystemTime) -> Self {
        self.exp = Some(unix(t));
        self
    }

    /// Valid for `lifetime` after `iat` (default [`DEFAULT_LIFETIME`]; Clerk's are 60 s).
    pub fn lifetime(mut self, lifetime: Duration) -> Self {
        self.lifetime = lifetime.as_secs() as i64;
        self
    }

    /// Issued three minutes ago, expired two minutes ago (past Clerk's 5 s clock skew):
    /// signed out `session-token-expired-refresh-non-eligible-…`.
    pub fn expired(mut self) -> Self {
        let now = now_secs();
        self.iat = Some(now - 180);
        self.nbf = Some(now - 190);
        self.exp = Some(now - 120);
        self
    }

    /// Not valid for two more minutes (`nbf`): signed out `session-token-nbf`.
    pub fn not_yet_valid(mut self) -> Self {
        self.nbf = Some(now_secs() + 120);
        self
    }

    /// Issued two minutes from now (`iat`; `nbf` stays in the past): signed out
    /// `session-token-iat-in-the-future`.
    pub fn issued_in_the_future(mut self) -> Self {
        let now = now_secs();
        self.iat = Some(now + 120);
        self.nbf = Some(now - 10);
        self
    }

    /// The header's `alg` (default `RS256`, what Clerk signs with). `RS384`/`RS512` sign with
    /// that hash, and Clerk refuses them for an instance's RS256 key
    /// (`token-verification-failed`, with the PEM key as with the JWKS); anything else
    /// (`HS256`, `none`, `ES256`) is written as given over an RS256 signature:
    /// `token-invalid-algorithm`.
    pub fn alg(self, alg: &str) -> Self {
        self.header_field("alg", alg)
    }

    /// The header's `typ` (default `JWT`; anything else but `at+jwt` is `token-invalid`).
    pub fn typ(self, typ: &str) -> Self {
        self.header_field("typ", typ)
    }

    /// The header's `kid` (default the signing key's).
    pub fn kid(self, kid: &str) -> Self {
        self.header_field("kid", kid)
    }

    /// Sets a header member.
    pub fn header_field(mut self, name: &str, value: impl Into<Value>) -> Self {
        set_member(&mut self.header, name, Some(value.into()));
        self
    }

    /// Leaves a header member out (`typ`, `kid`, `cat`…).
    pub fn without_header_field(mut self, name: &str) -> Self {
        set_member(&mut self.header, name, None);
        self
    }

    /// Signed by a key nobody publishes, under the signing key's `kid`:
    /// `token-invalid-signature`.
    pub fn forged(mut self) -> Self {
        self.forged = true;
        self
    }

    /// A broken form of the signed token.
    pub fn malformed(mut self, how: Malformed) -> Self {
        self.malformed = Some(how);
        self
    }

    /// The header the token will carry.
    pub fn header(&self) -> Value {
        let alg = self
            .header
            .iter()
            .find(|(k, _)| k == "alg")
            .and_then(|(_, v)| v.clone())
            .unwrap_or_else(|| json!("RS256"));
        let mut h = Map::new();
        h.insert("alg".into(), alg);
        if self.v2 {
            h.insert("cat".into(), json!(SESSION_CATEGORY));
        }
        if let Some(key) = &self.signer {
            h.insert("kid".into(), json!(key.kid()));
        }
        h.insert("typ".into(), json!("JWT"));
        apply(&mut h, &self.header);
        Value::Object(h)
    }

    /// The claims the token will carry (times computed now).
    pub fn payload(&self) -> Value {
        let mut c = Map::new();
        let iat = self.iat.unwrap_or_else(now_secs);
        if let Some(actor) = &self.actor {
            c.insert("act".into(), json!({ "sub": actor }));
        }
        if let Some(azp) = &self.azp {
            c.insert("azp".into(), json!(azp));
        }
        c.insert("exp".into(), json!(self.exp.unwrap_or(iat + self.lifetime)));
        let mut fea = self.features.clone();
        for f in &fea {
            if !f.contains(':') {
                panic!(
                    "actix_clerk::testing: feature {f:?} has no scope (o:<feature> or \
                     u:<feature>); use .claim(\"fea\", …) for malformed claims"
                );
            }
        }
        let mut org_v2 = None;
        if !self.permissions.is_empty() && self.org.is_none() {
            panic!("actix_clerk::testing: org_permissions need an organisation: call .org(…)");
        }
        if self.v2 {
            if let Some((id, slug, role)) = &self.org {
                let mut o = Map::new();
                if !self.permissions.is_empty() {
                    let pairs: Vec<(&str, &str)> = self
                        .permissions
                        .iter()
                        .map(|p| split_permission(p))
                        .collect();
                    for (feature, _) in &pairs {
                        if !fea.iter().any(|e| org_feature(e) == Some(feature)) {
                            fea.push(format!("o:{feature}"));
                        }
                    }
                    let mut per: Vec<&str> = Vec::new();
                    for (_, p) in &pairs {
                        if !per.contains(p) {
                            per.push(p);
                        }
                    }
                    let fpm: Vec<String> = fea
                        .iter()
                        .filter_map(|e| org_feature(e))
                        .map(|feature| {
                            let mask = per.iter().enumerate().fold(0u128, |m, (j, p)| {
                                if pairs.contains(&(feature, p)) {
                                    m | 1 << j
                                } else {
                                    m
                                }
                            });
                            mask.to_string()
                        })
                        .collect();
                    o.insert("fpm".into(), json!(fpm.join(",")));
                    o.insert("id".into(), json!(id));
                    o.insert("per".into(), json!(per.join(",")));
                } else {
                    o.insert("id".into(), json!(id));
                }
                let role = role.trim_start_matches("org:");
                o.insert("rol".into(), json!(role));
                o.insert("slg".into(), json!(slug));
                org_v2 = Some(Value::Object(o));
            }
        }
        if !fea.is_empty() {
            c.insert("fea".into(), json!(fea.join(",")));
        }
        match (self.fva, self.v2) {
            (Some(fva), _) => {
                c.insert("fva".into(), json!(fva));
            }
            (None, true) => {
                c.insert("fva".into(), json!([0, -1]));
            }
            (None, false) => {}
        }
        c.insert("iat".into(), json!(iat));
        c.insert("iss".into(), json!(self.issuer));
        c.insert("nbf".into(), json!(self.nbf.unwrap_or(iat - 10)));
        if let Some(o) = org_v2 {
            c.insert("o".into(), o);
        }
        if !self.v2 {
            if let Some((id, slug, role)) = &self.org {
                c.insert("org_id".into(), json!(id));
                if !self.permissions.is_empty() {
                    c.insert("org_permissions".into(), json!(self.permissions));
                }
                let role = format!("org:{}", role.trim_start_matches("org:"));
                c.insert("org_role".into(), json!(role));
                c.insert("org_slug".into(), json!(slug));
            }
        }
        if !self.plans.is_empty() {
            c.insert("pla".into(), json!(self.plans.join(",")));
        }
        c.insert("sid".into(), json!(self.session_id));
        if self.pending {
            c.insert("sts".into(), json!("pending"));
        } else if self.v2 {
            c.insert("sts".into(), json!("active"));
        }
        c.insert("sub".into(), json!(self.user_id));
        if self.v2 {
            c.insert("v".into(), json!(2));
        }
        apply(&mut c, &self.extra);
        Value::Object(c)
    }

    /// The signed token. Panics for a builder made by [`new`](Self::new) without
    /// [`signed_by`](Self::signed_by).
    pub fn sign(&self) -> String {
        let key = self.signer.as_ref().unwrap_or_else(|| {
            panic!(
                "actix_clerk::testing: this SessionTokenBuilder has no key; make it with \
                 TestInstance::session_token or TestKey::session_token, or call signed_by"
            )
        });
        let header = self.header();
        let payload = self.payload();
        let alg = header["alg"].as_str().unwrap_or("RS256").to_owned();
        let signer = if self.forged { forger() } else { key };
        let h = b64url(header.to_string());
        let p = b64url(payload.to_string());
        let token = signer.sign_segments(&alg, &h, &p);
        match self.malformed {
            None => token,
            Some(Malformed::MissingSignature) => format!("{h}.{p}"),
            Some(Malformed::TamperedPayload) => {
                let mut changed = payload;
                let sub = changed["sub"].as_str().unwrap_or_default().to_owned();
                changed["sub"] = json!(format!("{sub}_tampered"));
                let sig = token.rsplit('.').next().unwrap_or_default();
                format!("{h}.{}.{sig}", b64url(changed.to_string()))
            }
            Some(Malformed::SignatureNotBase64url) => format!("{h}.{p}.@@@@"),
        }
    }

    /// The [`Auth`] a middleware gives a request carrying this token in its `Authorization`
    /// header (signed in; signed out `session-pending` for a [`pending`](Self::pending)
    /// session), without a key, a token or a request: for handler unit tests. Time claims and
    /// the header are not checked here. Panics when Clerk's `toAuth()` would throw on the
    /// claims (version 2 organisation claims made malformed with [`claim`](Self::claim)).
    pub fn to_auth(&self) -> Auth {
        self.to_auth_from(TokenCarrier::Header)
    }

    /// [`to_auth`](Self::to_auth) for a token that came from `carrier`.
    pub fn to_auth_from(&self, carrier: TokenCarrier) -> Auth {
        let Value::Object(claims) = self.payload() else {
            unreachable!("the payload is an object")
        };
        Auth::from_verified(claims, carrier).unwrap_or_else(|| {
            panic!("actix_clerk::testing: Clerk's toAuth() throws on these claims")
        })
    }
}
