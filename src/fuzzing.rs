//! Fuzzing-only entry points: thin wrappers around the crate-private layers (header and cookie
//! parsing, token decoding, the claim checks, the JavaScript value rules, webhook headers and
//! signatures, handshake directives and URLs), for the fast targets of `fuzz/`.
//!
//! Built only under `--cfg fuzzing` (which cargo-fuzz sets) and hidden from the docs: not part
//! of the public API, no stability promise. Each wrapper calls the code the middleware runs,
//! converting borrowed or crate-private types into plain ones.

use actix_web::http::header::{HeaderMap, HeaderName, HeaderValue};
use serde_json::{Map, Value};

use crate::authenticate::{cookies, header, origin};
use crate::browser;
use crate::instance::{InstanceType, PublishableKey};
use crate::verify::{self, ClaimRules, Failure, Profile};
use crate::webhook::verify as webhook;
use crate::{js, jwt, ClerkWebhook, Reason, WebhookError};

// ---- the Authorization header ------------------------------------------------------------

/// `parseAuthorizationHeader` on text.
pub fn header_token(value: &str) -> Option<&str> {
    header::header_token(value)
}

/// The same on the raw bytes (the verified-token cache's lookup).
pub fn header_token_bytes(value: &[u8]) -> Option<&[u8]> {
    header::header_token_bytes(value)
}

/// Trims spaces and tabs (text).
pub fn trim_sp_tab(s: &str) -> &str {
    header::trim_sp_tab(s)
}

/// Trims spaces and tabs (bytes).
pub fn trim_sp_tab_bytes(b: &[u8]) -> &[u8] {
    header::trim_sp_tab_bytes(b)
}

/// A header value as Clerk reads it (Latin-1).
pub fn header_text(value: &HeaderValue) -> String {
    header::header_text(value).into_owned()
}

// ---- token decoding ----------------------------------------------------------------------

/// A decoded token, owned.
#[derive(Debug, Clone, PartialEq)]
pub struct Decoded {
    /// The JOSE header.
    pub header: Value,
    /// The claims.
    pub payload: Value,
    /// The payload's JSON text.
    pub payload_text: String,
    /// `header.payload` as sent.
    pub signed_part: String,
    /// The decoded signature.
    pub signature: Vec<u8>,
}

/// Why a token does not decode: `Parts` (not three dot-separated parts) or `Decode`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DecodeFailure {
    /// Not exactly three parts.
    Parts,
    /// A part is not base64url, or header/payload is not JSON.
    Decode,
}

/// `jwt::decode`.
pub fn decode(token: &str) -> Result<Decoded, DecodeFailure> {
    match jwt::decode(token) {
        Ok(d) => Ok(Decoded {
            header: d.header,
            payload: d.payload,
            payload_text: d.payload_text.into(),
            signed_part: d.signed_part.to_owned(),
            signature: d.signature,
        }),
        Err(jwt::DecodeError::Parts) => Err(DecodeFailure::Parts),
        Err(jwt::DecodeError::Decode) => Err(DecodeFailure::Decode),
    }
}

/// Clerk's loose base64url decoder.
pub fn b64url_decode(s: &str) -> Option<Vec<u8>> {
    jwt::b64url_decode(s)
}

/// Clerk's JWT-shape test.
pub fn is_jwt_format(token: &str) -> bool {
    jwt::is_jwt_format(token)
}

// ---- the claim checks --------------------------------------------------------------------

/// The claim rules of a configuration.
#[derive(Debug, Clone, Default)]
pub struct Rules {
    /// Authorized parties (`azp`).
    pub authorized_parties: Vec<String>,
    /// Audience (`aud`).
    pub audience: Vec<String>,
    /// Clock skew, ms.
    pub clock_skew_ms: f64,
}

impl Rules {
    fn claim_rules(&self) -> ClaimRules {
        ClaimRules {
            authorized_parties: self.authorized_parties.clone(),
            authorized_parties_text: self.authorized_parties.join(","),
            audience: self.audience.clone(),
            clock_skew_ms: self.clock_skew_ms,
        }
    }
}

/// Which rules a token is verified under: 0 session, 1 M2M, other OAuth.
fn profile(p: u8) -> Profile {
    match p {
        0 => Profile::Session,
        1 => Profile::M2m,
        _ => Profile::OAuth,
    }
}

/// A failed check: its reason and its full message (empty for Clerk's bare failures).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refusal {
    /// The reason.
    pub reason: Reason,
    /// `getFullMessage()` with the header carrier.
    pub message: String,
}

fn refusal(f: Failure) -> Refusal {
    let reason = match &f {
        Failure::Token { reason, .. } => *reason,
        Failure::Bare(reason) => *reason,
    };
    Refusal {
        reason,
        message: f.full_message(crate::auth::TokenCarrier::Header),
    }
}

/// Time claims that passed, for the cache's window.
#[derive(Debug, Clone, Copy)]
pub struct Times(verify::TimeClaims);

impl Times {
    /// `[from, until)`: the instants a cache hit accepts.
    pub fn window(&self, rules: &Rules) -> (f64, f64) {
        self.0.window(&rules.claim_rules())
    }

    /// The full re-check a cache hit stands for.
    pub fn check_at(&self, rules: &Rules, now: f64) -> Result<(), Refusal> {
        verify::check_times(&rules.claim_rules(), &self.0, now).map_err(refusal)
    }
}

/// Steps 6–12 of verification on a decoded token (`typ`, `alg`, the key's bound algorithm,
/// the signature, the claims) with the signature verdict given by the caller (`Some(valid)`,
/// or `None`: the key cannot verify under the algorithm) instead of computed.
/// `key_alg`: 0 unbound, 1 RS256, 2 RS384, other RS512. `profile`: 0 session, 1 M2M, other
/// OAuth.
pub fn verify_with_verdict(
    rules: &Rules,
    d: &Decoded,
    key_alg: u8,
    verdict: Option<bool>,
    now: f64,
    profile_code: u8,
) -> Result<Times, Refusal> {
    use jsonwebtoken::Algorithm;
    let key_alg = match key_alg {
        0 => None,
        1 => Some(Algorithm::RS256),
        2 => Some(Algorithm::RS384),
        _ => Some(Algorithm::RS512),
    };
    let decoded = jwt::DecodedJwt {
        header: d.header.clone(),
        payload: d.payload.clone(),
        payload_text: d.payload_text.clone().into_boxed_str(),
        signed_part: &d.signed_part,
        signature: d.signature.clone(),
    };
    verify::check_after_key(
        &rules.claim_rules(),
        &decoded,
        key_alg,
        |_| verdict,
        now,
        profile(profile_code),
    )
    .map(Times)
    .map_err(refusal)
}

/// `check_time_claims` alone.
pub fn check_time_claims(
    rules: &Rules,
    claims: &Map<String, Value>,
    now: f64,
) -> Result<Times, Refusal> {
    verify::check_time_claims(&rules.claim_rules(), claims, now)
        .map(Times)
        .map_err(refusal)
}

/// Clerk's machine-JWT test on a token.
pub fn is_machine_jwt(token: &str) -> bool {
    let d = jwt::decode(token).ok();
    verify::is_machine_jwt(token, d.as_ref())
}

/// `String(kid)`.
pub fn kid_text(header: &Value) -> String {
    verify::kid_text(header).into_owned()
}

// ---- cookies -----------------------------------------------------------------------------

/// The cookies Clerk reads, owned.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Cookies {
    /// `__session`.
    pub session: Option<String>,
    /// `__client_uat`.
    pub client_uat: Option<String>,
    /// `__clerk_db_jwt`.
    pub db_jwt: Option<String>,
    /// `__session_<suffix>`.
    pub session_sfx: Option<String>,
    /// `__client_uat_<suffix>`.
    pub client_uat_sfx: Option<String>,
    /// `__clerk_db_jwt_<suffix>`.
    pub db_jwt_sfx: Option<String>,
    /// `__clerk_redirect_count`.
    pub redirect_count: Option<String>,
    /// `__clerk_handshake`.
    pub handshake: Option<String>,
    /// `__clerk_handshake_nonce`.
    pub handshake_nonce: Option<String>,
    /// `__refresh_<suffix>`.
    pub refresh_sfx: Option<String>,
}

/// `ClerkCookies::parse`.
pub fn parse_cookies(header: &str, suffix: Option<&str>) -> Cookies {
    let c = cookies::ClerkCookies::parse(header, suffix);
    let own = |v: Option<std::borrow::Cow<'_, str>>| v.map(|v| v.into_owned());
    Cookies {
        session: own(c.session),
        client_uat: own(c.client_uat),
        db_jwt: own(c.db_jwt),
        session_sfx: own(c.session_sfx),
        client_uat_sfx: own(c.client_uat_sfx),
        db_jwt_sfx: own(c.db_jwt_sfx),
        redirect_count: own(c.redirect_count),
        handshake: own(c.handshake),
        handshake_nonce: own(c.handshake_nonce),
        refresh_sfx: own(c.refresh_sfx),
    }
}

/// `Number(__clerk_redirect_count) || 0` of a cookie header.
pub fn redirect_count(header: &str) -> f64 {
    cookies::ClerkCookies::parse(header, None).redirect_count()
}

/// Clerk's `usesSuffixedCookies` on a cookie header, for an instance (`production`) whose
/// frontend API is `frontend_api` and cookie suffix `suffix` (`None`: no publishable key).
pub fn uses_suffixed(
    production: bool,
    frontend_api: &str,
    suffix: Option<&str>,
    header: &str,
    now: f64,
) -> bool {
    let pk = suffix.map(|s| PublishableKey {
        instance: if production {
            InstanceType::Production
        } else {
            InstanceType::Development
        },
        frontend_api: frontend_api.to_owned(),
        cookie_suffix: s.to_owned(),
    });
    let c = cookies::ClerkCookies::parse(header, suffix);
    let plain = cookies::present(&c.session).and_then(|t| jwt::decode(t).ok());
    let sfx = cookies::present(&c.session_sfx).and_then(|t| jwt::decode(t).ok());
    cookies::uses_suffixed(pk.as_ref(), &c, &plain, &sfx, now)
}

// ---- JavaScript value rules --------------------------------------------------------------

/// `Number(value)` (`None` is `undefined`).
pub fn to_number(value: Option<&Value>) -> f64 {
    js::to_number(value)
}

/// Truthiness (`None` is `undefined`).
pub fn truthy(value: Option<&Value>) -> bool {
    js::truthy(value)
}

/// `String#trim`.
pub fn js_trim(s: &str) -> &str {
    js::js_trim(s)
}

/// JavaScript white space.
pub fn is_js_space(c: char) -> bool {
    js::is_js_space(c)
}

/// `Number.parseInt(s)`.
pub fn parse_int(s: &str) -> f64 {
    js::parse_int(s)
}

/// `JSON.stringify`.
pub fn js_stringify(value: Option<&Value>) -> String {
    js::js_stringify(value)
}

/// `Number#toString`.
pub fn js_number(f: f64) -> String {
    js::js_number(f)
}

/// `new Date(seconds * 1000)`'s time value, `None` when invalid.
pub fn date_from_seconds(seconds: f64) -> Option<f64> {
    js::date_from_seconds(seconds)
}

/// `Date#toUTCString`.
pub fn utc_string(ms: Option<f64>) -> String {
    js::utc_string(ms)
}

/// Property access (`None` is the `TypeError` of `null`).
pub fn prop<'v>(value: &'v Value, key: &str) -> Option<Option<&'v Value>> {
    js::prop(value, key).ok()
}

/// The members `exp`, `nbf`, `iat`, `sub` in one walk.
pub fn members4<'v>(map: &'v Map<String, Value>, names: [&str; 4]) -> [Option<&'v Value>; 4] {
    js::members(map, names)
}

// ---- webhooks ----------------------------------------------------------------------------

/// The three headers read (`now`: seconds): the id and the timestamp.
pub fn webhook_headers(headers: &HeaderMap, now: i64) -> Result<(String, i64), WebhookError> {
    webhook::read_headers(headers, now).map(|d| (d.id, d.timestamp))
}

/// Whether the signature header of `headers` holds the signature of `body` under the key
/// (raw HMAC key bytes).
pub fn webhook_signature_ok(
    key: &[u8],
    headers: &HeaderMap,
    body: &[u8],
    now: i64,
) -> Result<bool, WebhookError> {
    let delivery = webhook::read_headers(headers, now)?;
    let key = aws_lc_rs::hmac::Key::new(aws_lc_rs::hmac::HMAC_SHA256, key);
    let text = webhook::body_text(body);
    let tag = webhook::tag(&key, &delivery, &text);
    Ok(webhook::signature_matches(&delivery, &tag))
}

/// The body as `Request.text()` decodes it.
pub fn webhook_body_text(body: &[u8]) -> String {
    webhook::body_text(body).into_owned()
}

/// A signing secret decoded.
pub fn webhook_decode_secret(secret: &str) -> Option<Vec<u8>> {
    webhook::decode_secret(secret)
}

/// The event of a verified body.
pub fn webhook_event(id: &str, timestamp: i64, text: &str) -> Result<ClerkWebhook, WebhookError> {
    ClerkWebhook::from_verified(id.to_owned(), timestamp, text)
}

// ---- the browser flow --------------------------------------------------------------------

/// Handshake directives into `Set-Cookie` lines and the session cookie they set (see
/// `read_directives`); `None` when the handshake fails as a whole.
#[allow(clippy::type_complexity)]
pub fn handshake_directives(
    directives: &[String],
) -> Option<(Vec<(HeaderName, HeaderValue)>, Option<Option<String>>)> {
    let mut headers = Vec::new();
    let session = browser::handshake::read_directives(directives, &mut headers)?;
    Some((headers, session))
}

/// The request's URL as Clerk derives it.
pub fn clerk_url(
    headers: &HeaderMap,
    scheme: &str,
    default_host: &str,
    path_and_query: &str,
) -> Option<url::Url> {
    browser::url::clerk_url(headers, scheme, default_host, path_and_query)
}

/// `searchParams.get`.
pub fn url_param(url: &url::Url, name: &str) -> Option<String> {
    browser::url::param(url, name)
}

/// `searchParams.delete` of several names.
pub fn delete_params(url: &mut url::Url, names: &[&str]) {
    browser::url::delete_params(url, names)
}

/// `searchParams.append` of several pairs.
pub fn append_params(url: &mut url::Url, extra: &[(&str, &str)]) {
    browser::url::append_params(url, extra)
}

/// `searchParams.set`.
pub fn set_param(url: &mut url::Url, name: &str, value: &str) {
    browser::url::set_param(url, name, value)
}

/// A query parameter read like `URLSearchParams#get` from the raw query.
pub fn query_param(query: &str, name: &str) -> Option<String> {
    origin::query_param(query, name).map(|v| v.into_owned())
}
