//! Server-side refresh (`refreshToken`/`attemptRefresh` of Clerk's SDK): an expired session
//! token on a `GET` with the suffixed refresh cookie is renewed through the Backend API's
//! `POST /v1/sessions/{sid}/refresh` (`format: "cookie"`); the answer's cookies become
//! `Set-Cookie` lines and its session cookie, once verified, signs the request in.

use std::collections::BTreeMap;

use actix_web::http::header::{HeaderValue, SET_COOKIE};
use serde_json::{json, Value};

use super::handshake::verify_session_token;
use super::{url, BrowserAnswer, PageRequest};
use crate::authenticate::{Authenticator, Decision, RequestParts};
use crate::backend_api;
use crate::jwt;

const MAX_REFRESH_BODY: usize = 64 * 1024;

/// Renews the session, or says why not (Clerk's refresh reason, or the Backend API's error
/// code, without the `session-token-expired-refresh-` prefix already added).
pub(crate) async fn attempt(
    a: &Authenticator,
    req: &RequestParts<'_>,
    page: &PageRequest<'_>,
    expired: &str,
    refresh_token: &str,
) -> Result<Decision, &'static str> {
    let flow = &a.browser;
    // Without a secret key no call can be made: as Clerk's own failed call.
    let Some(api) = &flow.api else {
        tracing::warn!("clerk: a session refresh needs the secret key (CLERK_SECRET_KEY)");
        return Err(full("fetch-error"));
    };
    if expired.is_empty() {
        return Err(full("missing-session-token"));
    }
    let Ok(d) = jwt::decode(expired) else {
        return Err(full("expired-session-token-decode-failed"));
    };
    let sid = match crate::js::prop_opt(&d.payload, "sid") {
        Some(Value::String(s)) if !s.is_empty() => s.clone(),
        Some(Value::Number(n)) if n.as_f64().is_some_and(|f| f != 0.0) => {
            crate::js::js_number(n.as_f64().unwrap_or_default())
        }
        _ => return Err(full("expired-session-token-missing-sid-claim")),
    };
    let origin = page
        .clerk_url
        .as_ref()
        .map(|u| u.origin().ascii_serialization())
        .unwrap_or_default();
    let mut request_headers: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for (name, _) in req.headers.iter() {
        let key = name.as_str().to_owned();
        if request_headers.contains_key(&key) {
            continue;
        }
        if let Some(v) = url::header_joined(req.headers, name.as_str()) {
            request_headers.insert(key, vec![v]);
        }
    }
    let body = json!({
        "format": "cookie",
        "expired_token": expired,
        "refresh_token": refresh_token,
        "request_origin": origin,
        "request_headers": request_headers,
    });
    // Clerk joins the id into the path as it is; what would leave the path segment is escaped.
    let segment = crate::api::segment(&sid);
    let mut target = format!(
        "{}/{}/sessions/{segment}/refresh",
        api.api_url, api.api_version
    );
    if page.suffixed {
        target.push_str("?suffixed_cookies=true");
    }
    let Some(_permit) = flow.bound.try_start() else {
        tracing::warn!("clerk: session refreshes at their bound");
        return Err(full("fetch-error"));
    };
    let answer = backend_api::call(
        reqwest::Method::POST,
        &target,
        &api.secret_key,
        Some(&body),
        flow.timeout,
        MAX_REFRESH_BODY,
    )
    .await
    .map_err(|_| full("fetch-error"))?;
    if answer.status == 204 {
        // Clerk's client gives no data for a 204, and reading its `cookies` throws outside
        // the client: `unexpected-bapi-error`.
        return Err(full("unexpected-bapi-error"));
    }
    let parsed = answer.json_value();
    if answer.json && parsed.is_none() {
        // A JSON answer that does not parse (whatever its status): Clerk's client reports
        // `unexpected_error`, which is `fetch-error`.
        return Err(full("fetch-error"));
    }
    if !(200..300).contains(&answer.status) {
        tracing::warn!(
            status = answer.status,
            "clerk: session refresh refused by the Backend API"
        );
        return Err(api_error_reason(parsed.as_ref()));
    }
    if matches!(
        parsed,
        Some(Value::Null | Value::Bool(_) | Value::Number(_))
    ) {
        // Clerk's deserialiser throws on these inside its client (`"object" in 5`):
        // `unexpected_error`, which is `fetch-error`.
        return Err(full("fetch-error"));
    }
    let cookies: Vec<String> = match parsed.as_ref().and_then(|v| v.get("cookies")) {
        Some(Value::Array(items)) => items
            .iter()
            .filter_map(|v| v.as_str().map(str::to_owned))
            .collect(),
        _ => Vec::new(),
    };
    if cookies.is_empty() {
        return Err(full("unexpected-sdk-error"));
    }
    let mut headers = Vec::with_capacity(cookies.len());
    let mut session = String::new();
    for c in &cookies {
        let Ok(v) = HeaderValue::from_str(c.trim_matches([' ', '\t', '\n', '\r'])) else {
            return Err(full("unexpected-sdk-error"));
        };
        headers.push((SET_COOKIE, v));
        let first = c.split(';').next().unwrap_or_default();
        let mut kv = first.split('=');
        if kv.next().unwrap_or_default().starts_with("__session") {
            session = kv.next().unwrap_or_default().to_owned();
        }
    }
    match verify_session_token(a, &session, None).await {
        Ok(auth) => Ok(Decision {
            auth,
            browser: Some(Box::new(BrowserAnswer {
                headers,
                handshake: false,
            })),
        }),
        Err(_) => Err(full("invalid-session-token")),
    }
}

/// The refresh reason of a non-2xx answer: the first error's `code` (`unexpected_error` is
/// `fetch-error`), else `unexpected-bapi-error`.
fn api_error_reason(body: Option<&Value>) -> &'static str {
    let errors = match body.and_then(|b| b.get("errors")) {
        Some(Value::Array(e)) if !e.is_empty() => e,
        _ => return full("unexpected-bapi-error"),
    };
    let code = errors.first().and_then(|e| e.get("code"));
    match code {
        Some(Value::String(c)) if c == "unexpected_error" => full("fetch-error"),
        Some(Value::String(c)) if !c.is_empty() => intern(c),
        Some(Value::Number(n)) if n.as_f64().is_some_and(|f| f != 0.0) => {
            intern(&crate::js::js_number(n.as_f64().unwrap_or_default()))
        }
        Some(Value::Bool(true)) => intern("true"),
        _ => full("unexpected-sdk-error"),
    }
}

/// `session-token-expired-refresh-<why>` for Clerk's own refresh reasons.
fn full(why: &'static str) -> &'static str {
    match why {
        "missing-session-token" => "session-token-expired-refresh-missing-session-token",
        "expired-session-token-decode-failed" => {
            "session-token-expired-refresh-expired-session-token-decode-failed"
        }
        "expired-session-token-missing-sid-claim" => {
            "session-token-expired-refresh-expired-session-token-missing-sid-claim"
        }
        "fetch-error" => "session-token-expired-refresh-fetch-error",
        "unexpected-bapi-error" => "session-token-expired-refresh-unexpected-bapi-error",
        "invalid-session-token" => "session-token-expired-refresh-invalid-session-token",
        _ => "session-token-expired-refresh-unexpected-sdk-error",
    }
}

/// The reason for a Backend API error code: Clerk's codes are few, so each distinct one is
/// kept for the life of the process (at most 64; past them, `unexpected-bapi-error`).
fn intern(code: &str) -> &'static str {
    static LEAKED: parking_lot::Mutex<Vec<&'static str>> = parking_lot::Mutex::new(Vec::new());
    let reason = format!("session-token-expired-refresh-{code}");
    let mut leaked = LEAKED.lock();
    if let Some(found) = leaked.iter().find(|r| **r == reason) {
        return found;
    }
    if leaked.len() >= 64 || reason.len() > 200 {
        return full("unexpected-bapi-error");
    }
    let r: &'static str = Box::leak(reason.into_boxed_str());
    leaked.push(r);
    r
}
