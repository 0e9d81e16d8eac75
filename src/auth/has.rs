//! [`Has`]: Clerk's fail-closed `has()` check (role/permission, feature/plan,
//! reverification).

use serde_json::Value;

use super::org::{split_by_scope, OrgFields};
use super::SessionClaims;
use crate::js::truthy;

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
pub(crate) enum Check {
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

pub(crate) fn check_org(check: &Has, org: &OrgFields) -> Check {
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

pub(crate) fn check_billing(check: &Has, claims: &SessionClaims) -> Check {
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

pub(crate) fn check_reverification(check: &Has, fva: Option<&Value>) -> Check {
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
