//! [`Auth`]'s JSON: the shape of Clerk's auth object (which fields are omitted, which are
//! null, in Clerk's order), so `web::Json(auth)` answers what Express's `res.json(req.auth)` did.

use serde::ser::SerializeMap;
use serde::{Serialize, Serializer};
use serde_json::Value;

use super::{Auth, AuthState, SignedOutKind};
use crate::machine::{MachineAuth, TokenKind};

/// Clerk's authenticated machine object, keys in the order its object spread gives them.
fn serialize_machine<M: SerializeMap>(map: &mut M, m: &MachineAuth) -> Result<(), M::Error> {
    let opt = |map: &mut M, key: &str, v: &Option<Value>| match v {
        Some(v) => map.serialize_entry(key, v),
        None => Ok(()),
    };
    opt(map, "id", &m.id)?;
    opt(map, "subject", &m.subject)?;
    map.serialize_entry("isAuthenticated", &true)?;
    map.serialize_entry("tokenType", m.kind.as_str())?;
    let text = |v: Option<&str>| v.map_or(Value::Null, |s| Value::String(s.to_owned()));
    match m.kind {
        TokenKind::ApiKey => {
            opt(map, "name", &m.name)?;
            opt(map, "claims", &m.claims)?;
            opt(map, "scopes", &m.scopes)?;
            map.serialize_entry("userId", &text(m.user_id()))?;
            map.serialize_entry("orgId", &text(m.org_id()))?;
        }
        TokenKind::M2mToken => {
            opt(map, "claims", &m.claims)?;
            opt(map, "scopes", &m.scopes)?;
            opt(map, "machineId", &m.subject)?;
        }
        _ => {
            opt(map, "scopes", &m.scopes)?;
            opt(map, "userId", &m.subject)?;
            opt(map, "clientId", &m.client_id)?;
        }
    }
    Ok(())
}

/// Clerk's unauthenticated machine object: every field null.
fn serialize_unauthenticated<M: SerializeMap>(
    map: &mut M,
    kind: TokenKind,
) -> Result<(), M::Error> {
    for key in ["id", "subject", "scopes"] {
        map.serialize_entry(key, &Value::Null)?;
    }
    map.serialize_entry("isAuthenticated", &false)?;
    map.serialize_entry("tokenType", kind.as_str())?;
    let rest: &[&str] = match kind {
        TokenKind::ApiKey => &["name", "claims", "userId", "orgId"],
        TokenKind::M2mToken => &["claims", "machineId"],
        _ => &["userId", "clientId"],
    };
    for key in rest {
        map.serialize_entry(key, &Value::Null)?;
    }
    Ok(())
}

impl Serialize for Auth {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(None)?;
        match &*self.inner {
            AuthState::Machine(m) => {
                serialize_machine(&mut map, m)?;
                return map.end();
            }
            AuthState::SignedOut(s) => match s.kind {
                SignedOutKind::Machine(kind) if kind != TokenKind::SessionToken => {
                    serialize_unauthenticated(&mut map, kind)?;
                    return map.end();
                }
                SignedOutKind::InvalidToken => {
                    map.serialize_entry("isAuthenticated", &false)?;
                    map.serialize_entry("tokenType", &Value::Null)?;
                    return map.end();
                }
                _ => {}
            },
            AuthState::SignedIn(_) => {}
        }
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
            AuthState::Machine(_) => {}
        }
        map.end()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::Reason;
    use serde_json::json;

    #[test]
    fn signed_out_serialises_like_clerk() {
        let a = Auth::signed_out(Reason::TokenInvalid, String::new(), None);
        let v = serde_json::to_value(&a).unwrap(); // ok: test
        assert_eq!(v["isAuthenticated"], json!(false));
        assert_eq!(v["userId"], Value::Null);
        assert_eq!(v["tokenType"], json!("session_token"));
    }
}
