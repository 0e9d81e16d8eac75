//! [`Has`]: Clerk's fail-closed `has()` check (role/permission, feature/plan,
//! reverification).

use serde_json::Value;

use super::org::{split_by_scope, OrgFields};
use super::SessionClaims;
use crate::js::truthy;

/// What to check with [`Auth::has`](crate::Auth::has) (or require with [`Auth::protect`](crate::Auth::protect) and
/// [`ClerkRequireAuth::require`](crate::ClerkRequireAuth::require)): Clerk's `has()`
/// parameters, and any-of / all-of combinations of them.
///
/// One `Has` with several dimensions set (role, permission, feature, plan, reverification)
/// passes only when every one passes, as Clerk's `has({ role, feature })` does. It
/// deserialises from the JSON of Clerk's parameters (`{"role":"org:admin"}`,
/// `{"reverification":"strict"}`, `{"reverification":{"level":"second_factor","afterMinutes":10}}`).
///
/// ```
/// use actix_clerk::{Has, Reverification};
/// let admin_recently_verified = Has::role("org:admin").and_reverification(Reverification::Strict);
/// let billing = Has::any_of([Has::role("org:admin"), Has::permission("org:invoices:create")]);
/// let parsed: Has = serde_json::from_str(r#"{"plan":"pro"}"#).unwrap();
/// assert_eq!(parsed, Has::plan("pro"));
/// # let _ = (admin_recently_verified, billing);
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[must_use]
pub struct Has {
    kind: Kind,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Kind {
    Params(Params),
    AnyOf(Vec<Has>),
    AllOf(Vec<Has>),
}

impl Default for Kind {
    fn default() -> Self {
        Kind::Params(Params::default())
    }
}

/// One set of Clerk's `has()` parameters.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Deserialize)]
pub(crate) struct Params {
    role: Option<String>,
    permission: Option<String>,
    feature: Option<String>,
    plan: Option<String>,
    reverification: Option<Reverification>,
}

impl<'de> serde::Deserialize<'de> for Has {
    /// From Clerk's `has()` parameters object; unknown keys are ignored, as Clerk ignores them.
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        Params::deserialize(deserializer).map(|p| Has {
            kind: Kind::Params(p),
        })
    }
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
    /// Passes when at least one of `checks` passes (none: never passes).
    pub fn any_of(checks: impl IntoIterator<Item = Has>) -> Self {
        Has {
            kind: Kind::AnyOf(checks.into_iter().collect()),
        }
    }
    /// Passes when every one of `checks` passes (none: never passes, like a `has({})`).
    pub fn all_of(checks: impl IntoIterator<Item = Has>) -> Self {
        Has {
            kind: Kind::AllOf(checks.into_iter().collect()),
        }
    }

    fn with(self, set: impl FnOnce(&mut Params), alone: impl FnOnce() -> Has) -> Self {
        match self.kind {
            Kind::Params(mut p) => {
                set(&mut p);
                Has {
                    kind: Kind::Params(p),
                }
            }
            composite => Has::all_of([Has { kind: composite }, alone()]),
        }
    }

    /// Adds a role requirement.
    pub fn and_role(self, role: impl Into<String>) -> Self {
        let role = role.into();
        let again = role.clone();
        self.with(|p| p.role = Some(role), || Has::role(again))
    }
    /// Adds a permission requirement.
    pub fn and_permission(self, permission: impl Into<String>) -> Self {
        let permission = permission.into();
        let again = permission.clone();
        self.with(
            |p| p.permission = Some(permission),
            || Has::permission(again),
        )
    }
    /// Adds a feature requirement.
    pub fn and_feature(self, feature: impl Into<String>) -> Self {
        let feature = feature.into();
        let again = feature.clone();
        self.with(|p| p.feature = Some(feature), || Has::feature(again))
    }
    /// Adds a plan requirement.
    pub fn and_plan(self, plan: impl Into<String>) -> Self {
        let plan = plan.into();
        let again = plan.clone();
        self.with(|p| p.plan = Some(plan), || Has::plan(again))
    }
    /// Adds a reverification requirement.
    pub fn and_reverification(self, level: Reverification) -> Self {
        self.with(
            |p| p.reverification = Some(level),
            || Has::reverification(level),
        )
    }
}

/// The answer of a check for one session.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Verdict {
    Pass,
    Fail,
    /// Fails only for want of a recent enough factor verification: a re-verification with
    /// this configuration would let it pass.
    Reverify(Reverification),
}

/// Evaluates `check` for a signed-in session (Clerk's `has()` for one parameter set).
pub(crate) fn evaluate(check: &Has, claims: &SessionClaims, org: &OrgFields) -> Verdict {
    match &check.kind {
        Kind::Params(p) => {
            let others = [check_org(p, org), check_billing(p, claims)];
            if others.contains(&Check::Fail) {
                return Verdict::Fail;
            }
            match (check_reverification(p, claims.get("fva")), p.reverification) {
                (Check::Fail, Some(r)) if r.is_valid() => Verdict::Reverify(r),
                (Check::Fail, _) => Verdict::Fail,
                (rev, _) if others.contains(&Check::Pass) || rev == Check::Pass => Verdict::Pass,
                _ => Verdict::Fail,
            }
        }
        Kind::AllOf(all) if all.is_empty() => Verdict::Fail,
        Kind::AllOf(all) => {
            let mut reverify = None;
            for c in all {
                match evaluate(c, claims, org) {
                    Verdict::Pass => {}
                    Verdict::Fail => return Verdict::Fail,
                    Verdict::Reverify(r) => reverify = reverify.or(Some(r)),
                }
            }
            reverify.map_or(Verdict::Pass, Verdict::Reverify)
        }
        Kind::AnyOf(any) => {
            let mut reverify = None;
            for c in any {
                match evaluate(c, claims, org) {
                    Verdict::Pass => return Verdict::Pass,
                    Verdict::Fail => {}
                    Verdict::Reverify(r) => reverify = reverify.or(Some(r)),
                }
            }
            reverify.map_or(Verdict::Fail, Verdict::Reverify)
        }
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

/// The factor(s) a custom [`Reverification`] asks for; in JSON `first_factor`,
/// `second_factor`, `multi_factor`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ReverificationLevel {
    /// The first factor.
    FirstFactor,
    /// The second factor, or the first when the user has none.
    SecondFactor,
    /// Both factors, or the first when the user has no second.
    MultiFactor,
}

impl Reverification {
    /// Clerk's `validateReverificationConfig`: a custom level needs a positive age.
    fn is_valid(self) -> bool {
        !matches!(
            self,
            Reverification::Custom {
                after_minutes: 0,
                ..
            }
        )
    }
}

/// As Clerk's `has()` parameter and `reverificationError` metadata: a preset's name
/// (`"strict_mfa"`, `"strict"`, `"moderate"`, `"lax"`), or `{"level":…,"afterMinutes":…}`.
impl serde::Serialize for Reverification {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        let preset = match self {
            Reverification::StrictMfa => "strict_mfa",
            Reverification::Strict => "strict",
            Reverification::Moderate => "moderate",
            Reverification::Lax => "lax",
            Reverification::Custom {
                level,
                after_minutes,
            } => {
                let mut map = serializer.serialize_map(Some(2))?;
                map.serialize_entry("level", level)?;
                map.serialize_entry("afterMinutes", after_minutes)?;
                return map.end();
            }
        };
        serializer.serialize_str(preset)
    }
}

impl<'de> serde::Deserialize<'de> for Reverification {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        #[derive(serde::Deserialize)]
        #[serde(untagged)]
        enum Form {
            Preset(String),
            Custom {
                level: ReverificationLevel,
                #[serde(rename = "afterMinutes")]
                after_minutes: u32,
            },
        }
        match Form::deserialize(deserializer)? {
            Form::Preset(name) => match name.as_str() {
                "strict_mfa" => Ok(Reverification::StrictMfa),
                "strict" => Ok(Reverification::Strict),
                "moderate" => Ok(Reverification::Moderate),
                "lax" => Ok(Reverification::Lax),
                other => Err(serde::de::Error::custom(format!(
                    "unknown reverification preset {other:?} (strict_mfa, strict, moderate, lax)"
                ))),
            },
            Form::Custom {
                level,
                after_minutes,
            } => Ok(Reverification::Custom {
                level,
                after_minutes,
            }),
        }
    }
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

fn check_org(check: &Params, org: &OrgFields) -> Check {
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

fn check_billing(check: &Params, claims: &SessionClaims) -> Check {
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

fn check_reverification(check: &Params, fva: Option<&Value>) -> Check {
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
    use super::super::{Auth, TokenCarrier};
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
}
