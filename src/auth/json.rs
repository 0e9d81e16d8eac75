//! [`Auth`]'s JSON: the shape of Clerk's auth object (which fields are omitted, which are
//! null, in Clerk's order), so `web::Json(auth)` answers what Express's `res.json(req.auth)` did.

use serde::ser::SerializeMap;
use serde::{Serialize, Serializer};
use serde_json::Value;

use super::{Auth, AuthState};

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
