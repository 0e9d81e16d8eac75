//! The handshake: the redirect to the Frontend API (`HandshakeService#buildRedirectToHandshake`)
//! and its return (`resolveHandshake`): a nonce resolved through the Backend API's
//! `GET /v1/clients/handshake_payload`, or a handshake JWT signed by the instance key, whose
//! directives become `Set-Cookie` lines and whose session cookie signs the request in.

use actix_web::http::header::{
    HeaderName, HeaderValue, ACCESS_CONTROL_ALLOW_CREDENTIALS, ACCESS_CONTROL_ALLOW_ORIGIN,
    CACHE_CONTROL, LOCATION, SET_COOKIE,
};
use serde_json::Value;

use super::{url, BrowserAnswer, PageRequest};
use crate::auth::Auth;
use crate::authenticate::{Authenticator, Decision, RequestParts};
use crate::backend_api;
use crate::error::Reason;
use crate::instance::{InstanceType, PublishableKey};
use crate::js;
use crate::jwt;
use crate::verify::{self, Failure, Profile};

const MAX_PAYLOAD_BODY: usize = 64 * 1024;
/// Clerk's JWT category of M2M tokens, refused as a session.
const CATEGORY_M2M: &str = "cl_B7d4PD333AAA";

/// The `Location` of a handshake redirect.
pub(crate) fn redirect_url(
    a: &Authenticator,
    pk: &PublishableKey,
    page: &PageRequest<'_>,
    clerk_url: &::url::Url,
    reason: Reason,
    token_in_header: Option<&str>,
) -> String {
    let mut back = clerk_url.clone();
    url::delete_params(&mut back, &["__clerk_db_jwt", "__dev_session"]);
    let origin = clerk_url.origin().ascii_serialization();
    let fapi = a.browser.frontend_api(pk, Some(&origin));
    let mut base = if fapi.starts_with("http") {
        fapi
    } else {
        format!("https://{fapi}")
    };
    let trimmed = base.trim_end_matches('/').len();
    base.truncate(trimmed);
    base.push('/');
    let mut target = match ::url::Url::parse(&base).and_then(|b| b.join("v1/client/handshake")) {
        Ok(u) => u,
        // An unusable frontend API: the redirect goes nowhere useful, as Clerk's would.
        Err(_) => return base,
    };
    target.set_query(None);
    let suffixed = if page.suffixed { "true" } else { "false" };
    let mut params: Vec<(&str, String)> = vec![
        ("redirect_url", back.to_string()),
        (
            "__clerk_api_version",
            backend_api::CLERK_API_VERSION.to_owned(),
        ),
        ("suffixed_cookies", suffixed.to_owned()),
        ("__clerk_hs_reason", reason.as_str().to_owned()),
        ("format", "nonce".to_owned()),
    ];
    if let Some(token) = page
        .session_cookie()
        .or(token_in_header.filter(|t| !t.is_empty()))
    {
        params.push(("__session", token.to_owned()));
    }
    if pk.instance == InstanceType::Development {
        if let Some(db) = page.dev_browser() {
            params.push(("__clerk_db_jwt", db));
        }
    }
    if let Some(m) = &a.browser.org_sync {
        match m.find_target(clerk_url.path()) {
            Some(super::org::OrgTarget::PersonalAccount) => {
                params.push(("organization_id", String::new()));
            }
            Some(super::org::OrgTarget::Organization { id, slug }) => {
                // The slug wins over the id (one `organization_id` parameter).
                if let Some(v) = slug.or(id) {
                    params.push(("organization_id", v.text()));
                }
            }
            None => {}
        }
    }
    let borrowed: Vec<(&str, &str)> = params.iter().map(|(k, v)| (*k, v.as_str())).collect();
    url::append_params(&mut target, &borrowed);
    target.to_string()
}

/// The handshake return: `None` when the request carries none, or when it cannot be resolved
/// (Clerk then goes on with the request's own cookies).
pub(crate) async fn resolve_return(
    a: &Authenticator,
    req: &RequestParts<'_>,
    page: &PageRequest<'_>,
) -> Option<Decision> {
    let pk = a.publishable_key.as_ref()?;
    let from_query = |name: &str| {
        page.clerk_url
            .as_ref()
            .and_then(|u| url::param(u, name))
            .filter(|v| !v.is_empty())
    };
    let nonce = from_query("__clerk_handshake_nonce").or_else(|| {
        crate::authenticate::cookies::present(&page.cookies.handshake_nonce).map(str::to_owned)
    });
    let token = from_query("__clerk_handshake").or_else(|| {
        crate::authenticate::cookies::present(&page.cookies.handshake).map(str::to_owned)
    });
    let directives = if let Some(nonce) = nonce {
        payload_directives(a, &nonce).await
    } else if let Some(token) = token {
        match token_directives(a, &token).await {
            Ok(d) => d,
            Err(why) => {
                tracing::warn!(why, "clerk: handshake token refused");
                return None;
            }
        }
    } else {
        return None;
    };
    let _ = req;
    let mut headers: Vec<(HeaderName, HeaderValue)> = vec![
        (
            ACCESS_CONTROL_ALLOW_ORIGIN,
            HeaderValue::from_static("null"),
        ),
        (
            ACCESS_CONTROL_ALLOW_CREDENTIALS,
            HeaderValue::from_static("true"),
        ),
    ];
    let Some(session) = read_directives(&directives, &mut headers) else {
        tracing::warn!("clerk: handshake directive is not a valid header value");
        return None;
    };
    let dev = pk.instance == InstanceType::Development;
    if dev {
        if let Some(u) = &page.clerk_url {
            let mut clean = u.clone();
            url::delete_params(
                &mut clean,
                &[
                    "__clerk_handshake",
                    "__clerk_help",
                    "__clerk_db_jwt",
                    "__clerk_handshake_nonce",
                ],
            );
            if let Ok(v) = HeaderValue::from_str(clean.as_str()) {
                headers.push((LOCATION, v));
                headers.push((CACHE_CONTROL, HeaderValue::from_static("no-store")));
            }
        }
    }
    let answer = |auth: Auth| Decision {
        auth,
        browser: Some(Box::new(BrowserAnswer {
            headers: headers.clone(),
            handshake: false,
        })),
    };
    let token = match session {
        None => String::new(),
        Some(Some(t)) => t,
        // `__session` without `=`: Clerk verifies `undefined`, which fails.
        Some(None) => return None,
    };
    if token.is_empty() {
        return Some(answer(Auth::signed_out(
            Reason::SessionTokenMissing,
            String::new(),
            None,
        )));
    }
    match verify_session_token(a, &token, None).await {
        Ok(auth) => Some(answer(auth)),
        Err(Failure::Token { reason, .. })
            if dev
                && matches!(
                    reason,
                    Reason::TokenExpired | Reason::TokenNotActiveYet | Reason::TokenIatInTheFuture
                ) =>
        {
            tracing::warn!("clerk: clock skew detected in development: retrying the handshake's session token with a one-day skew");
            match verify_session_token(a, &token, Some(86_400_000.0)).await {
                Ok(auth) => Some(answer(auth)),
                Err(_) => None,
            }
        }
        Err(_) => {
            tracing::warn!("clerk: the handshake's session token failed verification");
            None
        }
    }
}

/// The directives as `Set-Cookie` lines (appended to `headers`) and the session cookie they
/// set: `None` (no `__session…` directive), `Some(None)` (one without `=`) or its value, the
/// last one winning. `None` when a directive is not a valid header value once trimmed of
/// HTTP whitespace (`Headers#append` refuses it: Clerk's handshake then fails as a whole).
pub(crate) fn read_directives(
    directives: &[String],
    headers: &mut Vec<(HeaderName, HeaderValue)>,
) -> Option<Option<Option<String>>> {
    let mut session: Option<Option<String>> = None;
    for d in directives {
        let v = HeaderValue::from_str(d.trim_matches([' ', '\t', '\n', '\r'])).ok()?;
        headers.push((SET_COOKIE, v));
        let first = d.split(';').next().unwrap_or_default();
        let mut kv = first.split('=');
        if kv.next().unwrap_or_default().starts_with("__session") {
            session = Some(kv.next().map(str::to_owned));
        }
    }
    Some(session)
}

/// Verifies a session token set by Clerk (handshake or refresh) under the configuration's
/// rules (`skew_ms`: another clock skew), into the signed-in outcome.
pub(crate) async fn verify_session_token(
    a: &Authenticator,
    token: &str,
    skew_ms: Option<f64>,
) -> Result<Auth, Failure> {
    let d = jwt::decode(token).map_err(|_| Failure::Bare(Reason::TokenInvalid))?;
    if js::prop_opt(&d.header, "cat").and_then(Value::as_str) == Some(CATEGORY_M2M) {
        return Err(Failure::Bare(Reason::TokenInvalid));
    }
    let now = verify::now_ms();
    let verified = match skew_ms {
        None => verify::verify_decoded(&a.verifier, &d, now, Profile::Session).await,
        Some(skew) => {
            let mut v = a.verifier.clone();
            v.rules.clock_skew_ms = skew;
            verify::verify_decoded(&v, &d, now, Profile::Session).await
        }
    }?;
    let Value::Object(claims) = d.payload else {
        return Err(Failure::Bare(Reason::UnexpectedError));
    };
    let auth = Auth::from_verified_text(claims, d.payload_text, super::FLOW_CARRIER)
        .ok_or(Failure::Bare(Reason::UnexpectedError))?;
    if skew_ms.is_none() {
        if let Some(cache) = &a.cache {
            cache.insert(
                token,
                verified.times,
                &a.verifier.rules,
                &auth,
                verified.key_generation,
            );
        }
    }
    Ok(auth)
}

/// `clients.getHandshakePayload({ nonce })`'s directives; none when the call fails.
async fn payload_directives(a: &Authenticator, nonce: &str) -> Vec<String> {
    let flow = &a.browser;
    let Some(api) = &flow.api else {
        tracing::warn!("clerk: a handshake nonce needs the secret key (CLERK_SECRET_KEY)");
        return Vec::new();
    };
    let Some(_permit) = flow.bound.try_start() else {
        tracing::warn!("clerk: handshake payload fetches at their bound");
        return Vec::new();
    };
    let mut u = format!(
        "{}/{}/clients/handshake_payload",
        api.api_url, api.api_version
    );
    if let Ok(mut parsed) = ::url::Url::parse(&u) {
        url::append_params(&mut parsed, &[("nonce", nonce)]);
        u = parsed.to_string();
    }
    let answer = backend_api::call(
        reqwest::Method::GET,
        &u,
        &api.secret_key,
        None,
        flow.timeout,
        MAX_PAYLOAD_BODY,
    )
    .await;
    let Ok(answer) = answer else {
        return Vec::new();
    };
    if !(200..300).contains(&answer.status) {
        tracing::warn!(
            status = answer.status,
            "clerk: handshake payload refused by the Backend API"
        );
        return Vec::new();
    }
    let Some(Value::Object(body)) = answer.json_value() else {
        return Vec::new();
    };
    match body.get("directives") {
        Some(Value::Array(items)) => items
            .iter()
            .filter_map(|v| v.as_str().map(str::to_owned))
            .collect(),
        _ => Vec::new(),
    }
}

/// `verifyHandshakeToken`: the handshake JWT's `handshake` claim, after its `typ`, `alg`,
/// category and signature checks (its own `exp` is not checked, as in Clerk's SDK).
async fn token_directives(a: &Authenticator, token: &str) -> Result<Vec<String>, &'static str> {
    let d = jwt::decode(token).map_err(|_| "malformed")?;
    let typ = js::prop_opt(&d.header, "typ");
    if !(typ.is_none() || typ.and_then(Value::as_str) == Some("JWT")) {
        return Err("typ");
    }
    let alg = match js::prop_opt(&d.header, "alg").and_then(Value::as_str) {
        Some("RS256") => jsonwebtoken::Algorithm::RS256,
        Some("RS384") => jsonwebtoken::Algorithm::RS384,
        Some("RS512") => jsonwebtoken::Algorithm::RS512,
        _ => return Err("alg"),
    };
    if verify::has_non_session_category(Some(&d)) {
        return Err("category");
    }
    let (key, _) = a
        .verifier
        .keys
        .resolve(&verify::kid_text(&d.header))
        .await
        .map_err(|_| "key")?;
    if key.verify(alg, d.signed_part.as_bytes(), &d.signature) != Some(true) {
        return Err("signature");
    }
    match js::prop_opt(&d.payload, "handshake") {
        Some(Value::Array(items)) => Ok(items
            .iter()
            .filter_map(|v| v.as_str().map(str::to_owned))
            .collect()),
        _ => Ok(Vec::new()),
    }
}
