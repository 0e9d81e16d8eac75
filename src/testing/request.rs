//! [`TestRequestExt`]: tokens where a browser or a client puts them, on actix's `TestRequest`.

use actix_web::http::header::{AUTHORIZATION, COOKIE};
use actix_web::test::TestRequest;
use actix_web::{HttpMessage as _, HttpRequest};
use base64::Engine as _;
use serde_json::{Map, Value};

use super::instance::TestInstance;
use super::now_secs;
use crate::auth::Auth;
use crate::config::InstanceType;

/// The value of the dev-browser cookie the cookie helpers add for development instances.
const DEV_BROWSER: &str = "dvb_actix_clerk_testing";

/// A token's claims, decoded without verification, when its payload is a JSON object.
pub(super) fn unverified_claims(token: &str) -> Option<Map<String, Value>> {
    let payload = token.split('.').nth(1)?;
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(payload)
        .ok()?;
    match serde_json::from_slice::<Value>(&bytes).ok()? {
        Value::Object(claims) => Some(claims),
        _ => None,
    }
}

/// A token's unverified `iat`, else now: what `__client_uat` says for it.
pub(super) fn client_uat_for(token: &str) -> i64 {
    unverified_claims(token)
        .and_then(|c| c.get("iat").and_then(Value::as_i64))
        .unwrap_or_else(now_secs)
}

/// Puts tokens on an [`actix_web::test::TestRequest`] where a browser or a client would, and
/// hands handler unit tests a request that carries an [`Auth`].
///
/// ```
/// use actix_clerk::testing::{TestInstance, TestRequestExt as _};
/// use actix_web::test::TestRequest;
///
/// let instance = TestInstance::new();
/// let token = instance.session_token("user_1").sign();
/// let api_call = TestRequest::get().uri("/api/me").bearer_token(&token);
/// let page_load = TestRequest::get().uri("/dashboard").session_cookies(&instance, &token);
/// # let _ = (api_call, page_load);
/// ```
pub trait TestRequestExt: Sized {
    /// `Authorization: Bearer <token>` (for session and machine tokens alike).
    fn bearer_token(self, token: &str) -> Self;

    /// The cookies Clerk's frontend sets: `__session=<token>` and `__client_uat=<its iat>`
    /// (plus `__clerk_db_jwt` on a development instance, which Clerk requires there). Appended
    /// as a `Cookie` header of its own (actix joins several with `; `).
    fn session_cookies(self, instance: &TestInstance, token: &str) -> Self;

    /// As [`session_cookies`](Self::session_cookies) with the instance's suffixed names
    /// (`__session_<suffix>`, `__client_uat_<suffix>`, `__clerk_db_jwt_<suffix>`), as Clerk's
    /// frontend writes them for instances sharing a domain.
    fn suffixed_session_cookies(self, instance: &TestInstance, token: &str) -> Self;

    /// The request, with `auth` where the middlewares put theirs: the [`Auth`] and
    /// [`Authenticated`](crate::Authenticated) extractors and `web::ReqData<Auth>` find it, so
    /// a handler can be called without a middleware or a token.
    fn to_http_request_with_auth(self, auth: Auth) -> HttpRequest;
}

fn cookies(req: TestRequest, instance: &TestInstance, token: &str, suffix: &str) -> TestRequest {
    let mut text = format!(
        "__session{suffix}={token}; __client_uat{suffix}={}",
        client_uat_for(token)
    );
    if instance.instance_type() == InstanceType::Development {
        text.push_str(&format!("; __clerk_db_jwt{suffix}={DEV_BROWSER}"));
    }
    req.append_header((COOKIE, text))
}

impl TestRequestExt for TestRequest {
    fn bearer_token(self, token: &str) -> Self {
        self.insert_header((AUTHORIZATION, format!("Bearer {token}")))
    }

    fn session_cookies(self, instance: &TestInstance, token: &str) -> Self {
        cookies(self, instance, token, "")
    }

    fn suffixed_session_cookies(self, instance: &TestInstance, token: &str) -> Self {
        let suffix = format!("_{}", instance.cookie_suffix());
        cookies(self, instance, token, &suffix)
    }

    fn to_http_request_with_auth(self, auth: Auth) -> HttpRequest {
        let req = self.to_http_request();
        req.extensions_mut().insert(auth);
        req
    }
}
