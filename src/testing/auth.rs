//! [`Auth`] values for handler unit tests, without a key, a token or a request.

use serde_json::Value;

use crate::auth::{Auth, TokenCarrier};
use crate::error::Reason;

/// A signed-in [`Auth`] with exactly these claims (a JSON object), as a middleware makes it
/// from a verified session token in the `Authorization` header; `sts: pending` makes it
/// signed out, as Clerk does. For Clerk-shaped claims without writing them, use
/// [`SessionTokenBuilder::new`](super::SessionTokenBuilder::new)`(user).….to_auth()`.
///
/// Panics when `claims` is not an object, or when Clerk's `toAuth()` would throw on it
/// (malformed version 2 organisation claims).
///
/// ```
/// use actix_clerk::testing::signed_in_auth;
/// use serde_json::json;
///
/// let auth = signed_in_auth(json!({"sub": "user_1", "sid": "sess_1", "org_id": "org_1", "org_role": "org:admin"}));
/// assert_eq!(auth.user_id(), Some("user_1"));
/// assert_eq!(auth.org_role(), Some("org:admin"));
/// ```
pub fn signed_in_auth(claims: Value) -> Auth {
    let Value::Object(claims) = claims else {
        panic!("actix_clerk::testing: signed_in_auth takes a JSON object of claims")
    };
    Auth::from_verified(claims, TokenCarrier::Header)
        .unwrap_or_else(|| panic!("actix_clerk::testing: Clerk's toAuth() throws on these claims"))
}

/// A signed-out [`Auth`] with Clerk's `reason` and `message` (often empty), as a middleware
/// makes it: [`Auth::reason`], the `401` of the [`Authenticated`](crate::Authenticated)
/// extractor and of [`Auth::protect`] follow from it. Reasons about a presented token
/// (`token-…`, `session-token-expired-…`, …) count as a token having been presented (the
/// `401` then says `error="invalid_token"`); the "missing" ones do not.
///
/// ```
/// use actix_clerk::testing::signed_out_auth;
/// use actix_clerk::Reason;
///
/// let auth = signed_out_auth(Reason::SessionTokenAndUatMissing, "");
/// assert!(!auth.is_signed_in());
/// assert_eq!(auth.reason(), Some(Reason::SessionTokenAndUatMissing));
/// ```
pub fn signed_out_auth(reason: Reason, message: impl Into<String>) -> Auth {
    let carrier = match reason {
        Reason::SessionTokenAndUatMissing
        | Reason::ClientUatWithoutSessionToken
        | Reason::DevBrowserMissing
        | Reason::DevBrowserSync
        | Reason::PrimaryRespondsToSyncing
        | Reason::NoTokenInHeader => None,
        Reason::SessionTokenWithoutClientUat
        | Reason::SessionTokenIatBeforeClientUat
        | Reason::PrimaryDomainCrossOriginSync => Some(TokenCarrier::Cookie),
        _ => Some(TokenCarrier::Header),
    };
    Auth::signed_out(reason, message.into(), carrier)
}
