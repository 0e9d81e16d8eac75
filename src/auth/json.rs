//! [`Auth`]'s JSON: the shape of Clerk's auth object (which fields are omitted, which are
//! null, in Clerk's order), so `web::Json(auth)` answers what Express's `res.json(req.auth)` did.

use serde::ser::SerializeMap;
use serde::{Serialize, Serializer};
use serde_json::Value;

use super::{Auth, AuthState, SignedOutKind};
use crate::js::js_number;

/// A JSON value written as `JSON.stringify` writes it: numbers as JavaScript doubles (`1.0` is
/// `1`, `-0` is `0`, integers beyond 2^53 rounded as a double prints them).
struct Js<'a>(&'a Value);

impl Serialize for Js<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeSeq;
        const SAFE: u64 = 1 << 53;
        match self.0 {
            Value::Number(n) => {
                if let Some(i) = n.as_i64().filter(|i| i.unsigned_abs() <= SAFE) {
                    return serializer.serialize_i64(i);
                }
                let f = n.as_f64().unwrap_or(f64::NAN);
                if f == 0.0 {
                    return serializer.serialize_u64(0);
                }
                if f.is_finite() && f.fract() == 0.0 && f.abs() < 1e21 {
                    if let Ok(i) = js_number(f).parse::<i128>() {
                        if let Ok(i) = i64::try_from(i) {
                            return serializer.serialize_i64(i);
                        }
                        if let Ok(u) = u64::try_from(i) {
                            return serializer.serialize_u64(u);
                        }
                    }
                }
                serializer.serialize_f64(f)
            }
            Value::Array(items) => {
                let mut seq = serializer.serialize_seq(Some(items.len()))?;
                for v in items {
                    seq.serialize_element(&Js(v))?;
                }
                seq.end()
            }
            Value::Object(map) => JsMap(map).serialize(serializer),
            other => other.serialize(serializer),
        }
    }
}

/// [`Js`] for an object.
struct JsMap<'a>(&'a serde_json::Map<String, Value>);

impl Serialize for JsMap<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut m = serializer.serialize_map(Some(self.0.len()))?;
        for (k, v) in self.0 {
            m.serialize_entry(k, &Js(v))?;
        }
        m.end()
    }
}
use crate::machine::{MachineAuth, TokenKind};

/// Clerk's authenticated machine object, keys in the order its object spread gives them.
fn serialize_machine<M: SerializeMap>(map: &mut M, m: &MachineAuth) -> Result<(), M::Error> {
    let opt = |map: &mut M, key: &str, v: &Option<Value>| match v {
        Some(v) => map.serialize_entry(key, &Js(v)),
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
                let c = s.claims();
                if let Some(act) = c.get("act") {
                    map.serialize_entry("actor", &Js(act))?;
                }
                map.serialize_entry("sessionClaims", &JsMap(c))?;
                if let Some(sid) = c.get("sid") {
                    map.serialize_entry("sessionId", &Js(sid))?;
                }
                map.serialize_entry("sessionStatus", &Js(c.get("sts").unwrap_or(&Value::Null)))?;
                map.serialize_entry("userId", &Js(c.get("sub").unwrap_or(&Value::Null)))?;
                for (name, value) in [
                    ("orgId", &s.org.id),
                    ("orgRole", &s.org.role),
                    ("orgSlug", &s.org.slug),
                    ("orgPermissions", &s.org.permissions),
                ] {
                    if let Some(v) = value {
                        map.serialize_entry(name, &Js(v))?;
                    }
                }
                map.serialize_entry(
                    "factorVerificationAge",
                    &Js(c.get("fva").unwrap_or(&Value::Null)),
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

    #[test]
    fn numbers_print_as_javascript_prints_them() {
        let v: Value = serde_json::from_str(
            r#"{"a":1.0,"b":-0.0,"c":12345678901234567890,"d":0.5,"e":[2.0,{"f":1e-7}],"g":9007199254740993}"#,
        )
        .unwrap(); // ok: test
        assert_eq!(
            serde_json::to_string(&Js(&v)).unwrap(), // ok: test
            r#"{"a":1,"b":0,"c":12345678901234567000,"d":0.5,"e":[2,{"f":1e-7}],"g":9007199254740992}"#
        );
    }
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
