//! Deciding one request: find the token (header, else cookies), apply the cookie rules, verify,
//! and turn the result into an [`Auth`].

use std::borrow::Cow;

use actix_web::http::header::{HeaderMap, HeaderValue, AUTHORIZATION, COOKIE};
use serde_json::Value;

use crate::auth::{Auth, TokenCarrier};
use crate::cache::Lookup;
use crate::config::{ConfigInner, InstanceType};
use crate::error::Reason;
use crate::jwt::{self, prop, DecodedJwt};
use crate::verify::{self, Failure};

/// What the decision needs from a request.
pub(crate) struct RequestParts<'r> {
    pub is_get: bool,
    pub query: &'r str,
    pub headers: &'r HeaderMap,
    /// `https` when the connection is TLS, else `http`.
    pub scheme: &'r str,
    /// The server's own host, used when the request has no `Host` header.
    pub default_host: &'r str,
}

/// The outcome plus what the response headers and the strict middleware need.
pub(crate) struct Decision {
    pub auth: Auth,
    /// For key-source outages: seconds before retrying.
    pub retry_after_secs: Option<u64>,
}

/// Header bytes as text: ASCII as is, other bytes read as Latin-1 (as a Fetch `Headers` does).
fn header_text(value: &HeaderValue) -> Cow<'_, str> {
    match value.to_str() {
        Ok(s) => Cow::Borrowed(s),
        Err(_) => Cow::Owned(value.as_bytes().iter().map(|&b| char::from(b)).collect()),
    }
}

/// Clerk's `parseAuthorizationHeader`: the text between the first and second space after
/// `Bearer`; a value without a space is the token itself; any other scheme gives none.
pub(crate) fn header_token(value: &str) -> Option<&str> {
    if value.is_empty() {
        return None;
    }
    match value.split_once(' ') {
        None => Some(value),
        Some((scheme, rest)) => {
            let token = rest.split_once(' ').map_or(rest, |(token, _)| token);
            if token.is_empty() {
                Some(scheme).filter(|s| !s.is_empty())
            } else {
                (scheme == "Bearer").then_some(token)
            }
        }
    }
}

/// The cookies Clerk reads, first occurrence of each name, percent-decoded.
#[derive(Default)]
pub(crate) struct ClerkCookies<'c> {
    session: Option<Cow<'c, str>>,
    client_uat: Option<Cow<'c, str>>,
    db_jwt: Option<Cow<'c, str>>,
    session_sfx: Option<Cow<'c, str>>,
    client_uat_sfx: Option<Cow<'c, str>>,
    db_jwt_sfx: Option<Cow<'c, str>>,
    redirect_count: Option<Cow<'c, str>>,
}

fn percent_decode(value: &str) -> Cow<'_, str> {
    if !value.contains('%') {
        return Cow::Borrowed(value);
    }
    // decodeURIComponent: any malformed escape or invalid UTF-8 keeps the raw value.
    let bytes = value.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let ok = bytes
                .get(i + 1..i + 3)
                .is_some_and(|h| h.iter().all(u8::is_ascii_hexdigit));
            if !ok {
                return Cow::Borrowed(value);
            }
            i += 3;
        } else {
            i += 1;
        }
    }
    match percent_encoding::percent_decode_str(value).decode_utf8() {
        Ok(decoded) => Cow::Owned(decoded.into_owned()),
        Err(_) => Cow::Borrowed(value),
    }
}

fn trim_sp_tab(s: &str) -> &str {
    s.trim_matches(|c| c == ' ' || c == '\t')
}

impl<'c> ClerkCookies<'c> {
    /// `Number(__clerk_redirect_count) || 0`.
    fn redirect_count(&self) -> f64 {
        let n = self
            .redirect_count
            .as_deref()
            .map_or(0.0, |v| jwt::to_number(Some(&Value::String(v.to_owned()))));
        if n.is_nan() {
            0.0
        } else {
            n
        }
    }

    /// The `cookie` package's parser, keeping only Clerk's names.
    pub(crate) fn parse(header: &'c str, suffix: Option<&str>) -> Self {
        let mut out = ClerkCookies::default();
        let len = header.len();
        let mut index = 0;
        while index < len {
            let Some(eq) = header[index..].find('=').map(|i| i + index) else {
                break;
            };
            let end = header[index..].find(';').map_or(len, |i| i + index);
            if eq > end {
                index = header[..eq].rfind(';').map_or(0, |i| i + 1);
                continue;
            }
            let name = trim_sp_tab(&header[index..eq]);
            let value = trim_sp_tab(&header[eq + 1..end]);
            let slot = match name {
                "__session" => &mut out.session,
                "__client_uat" => &mut out.client_uat,
                "__clerk_db_jwt" => &mut out.db_jwt,
                "__clerk_redirect_count" => &mut out.redirect_count,
                _ => match (suffix, name.rsplit_once('_')) {
                    (Some(sfx), Some((base, s))) if s == sfx => match base {
                        "__session" => &mut out.session_sfx,
                        "__client_uat" => &mut out.client_uat_sfx,
                        "__clerk_db_jwt" => &mut out.db_jwt_sfx,
                        _ => {
                            index = end + 1;
                            continue;
                        }
                    },
                    _ => {
                        index = end + 1;
                        continue;
                    }
                },
            };
            if slot.is_none() {
                *slot = Some(percent_decode(value));
            }
            index = end + 1;
        }
        out
    }
}

/// `getCookie(name) || undefined`: empty counts as absent.
fn present<'a>(c: &'a Option<Cow<'_, str>>) -> Option<&'a str> {
    c.as_deref().filter(|s| !s.is_empty())
}

/// Clerk's `usesSuffixedCookies` (§3 rules 1–8).
///
/// `decoded_session` and `decoded_sfx` are the plain and suffixed session cookies, decoded once
/// by the caller (which goes on with whichever is chosen).
fn uses_suffixed(
    cfg: &ConfigInner,
    c: &ClerkCookies<'_>,
    decoded_session: &Option<DecodedJwt<'_>>,
    decoded_sfx: &Option<DecodedJwt<'_>>,
    now: f64,
) -> bool {
    let Some(pk) = &cfg.publishable_key else {
        return false;
    };
    let suffixed_uat = present(&c.client_uat_sfx);
    let uat = present(&c.client_uat);
    let suffixed_session = present(&c.session_sfx).unwrap_or("");
    let session = present(&c.session).unwrap_or("");
    if !session.is_empty() {
        let iss = decoded_session
            .as_ref()
            .and_then(|d| jwt::prop_opt(&d.payload, "iss"));
        let Some(d) = &decoded_session else {
            return false;
        };
        if !jwt::truthy(iss) || jwt::prop(&d.payload, "iss").is_err() {
            return false;
        }
        let belongs = match iss {
            Some(Value::String(s)) => strip_scheme(s) == pk.frontend_api,
            _ => false,
        };
        if !belongs {
            return true;
        }
    }
    if suffixed_uat.is_none() && suffixed_session.is_empty() {
        return false;
    }
    let iat_of = |d: &Option<DecodedJwt<'_>>| -> f64 {
        let v = d.as_ref().and_then(|d| jwt::prop_opt(&d.payload, "iat"));
        if jwt::truthy(v) {
            jwt::to_number(v)
        } else {
            0.0
        }
    };
    if suffixed_uat != Some("0")
        && uat != Some("0")
        && iat_of(decoded_session) > iat_of(decoded_sfx)
    {
        return false;
    }
    if suffixed_uat == Some("0") && uat != Some("0") {
        return false;
    }
    if pk.instance != InstanceType::Production {
        let expired = decoded_sfx.as_ref().is_some_and(|d| {
            let exp = jwt::to_number(jwt::prop_opt(&d.payload, "exp"));
            exp <= ((now / 1000.0) as i64 as i32) as f64
        });
        if suffixed_uat != Some("0") && uat == Some("0") && expired {
            return false;
        }
    }
    if suffixed_uat.is_none() && !suffixed_session.is_empty() {
        return false;
    }
    true
}

/// `iss.replace(/https?:\/\//gi, "")`, in one linear pass.
fn strip_scheme(iss: &str) -> String {
    let bytes = iss.as_bytes();
    let mut out = String::with_capacity(iss.len());
    let mut i = 0;
    let mut copied = 0;
    while i < bytes.len() {
        let rest = &bytes[i..];
        let skip = if rest.len() >= 7 && rest[..4].eq_ignore_ascii_case(b"http") {
            if rest[4..7] == *b"://" {
                7
            } else if rest.len() >= 8 && rest[4..8].eq_ignore_ascii_case(b"s://") {
                8
            } else {
                0
            }
        } else {
            0
        };
        if skip > 0 {
            out.push_str(&iss[copied..i]);
            i += skip;
            copied = i;
        } else {
            i += 1;
        }
    }
    out.push_str(&iss[copied..]);
    out
}

/// `application/x-www-form-urlencoded` decoding, as `URLSearchParams` does it.
fn form_decode(s: &str) -> Cow<'_, str> {
    if !s.contains(['%', '+']) {
        return Cow::Borrowed(s);
    }
    let plus = s.replace('+', " ");
    Cow::Owned(
        percent_encoding::percent_decode_str(&plus)
            .decode_utf8_lossy()
            .into_owned(),
    )
}

/// `new URL(url).searchParams.get(name)`: the first parameter whose decoded name matches.
fn query_param<'q>(query: &'q str, name: &str) -> Option<Cow<'q, str>> {
    query.split('&').filter(|p| !p.is_empty()).find_map(|pair| {
        let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
        (form_decode(k) == name).then(|| form_decode(v))
    })
}

fn header_str<'h>(headers: &'h HeaderMap, name: &str) -> Option<&'h str> {
    headers
        .get(name)
        .and_then(|v| v.to_str().ok())
        .filter(|v| !v.is_empty())
}

/// The origin (`scheme://host[:port]`, lower-cased, default port dropped) of an absolute
/// http(s) URL, as `new URL(url).origin` gives it; `"null"` for other schemes.
fn url_origin(url: &str) -> Option<String> {
    let (scheme, rest) = url.split_once("://")?;
    let scheme = scheme.to_ascii_lowercase();
    if scheme.is_empty()
        || !scheme
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"+-.".contains(&b))
    {
        return None;
    }
    if scheme != "http" && scheme != "https" {
        return Some("null".into());
    }
    let authority = rest.split(['/', '?', '#', '\\']).next().unwrap_or_default();
    let host_port = authority.rsplit_once('@').map_or(authority, |(_, h)| h);
    if host_port.is_empty() || host_port.contains(char::is_whitespace) {
        return None;
    }
    let (host, port) = if host_port.starts_with('[') {
        let close = host_port.find(']')?;
        let (h, rest) = host_port.split_at(close + 1);
        match rest {
            "" => (h, ""),
            r => (h, r.strip_prefix(':')?),
        }
    } else {
        host_port.rsplit_once(':').unwrap_or((host_port, ""))
    };
    if host.is_empty() || !port.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let port = port.trim_start_matches('0');
    let default_port = if scheme == "http" { "80" } else { "443" };
    let host = host.to_ascii_lowercase();
    Some(if port.is_empty() || port == default_port {
        format!("{scheme}://{host}")
    } else {
        format!("{scheme}://{host}:{port}")
    })
}

/// The request's origin as Clerk derives it: `x-forwarded-proto`/`x-forwarded-host` (first
/// value) over the connection's scheme and `Host`.
fn request_origin(req: &RequestParts<'_>) -> Option<String> {
    let first = |v: &str| v.split(',').next().unwrap_or_default().to_owned();
    let host = header_str(req.headers, "host").unwrap_or(req.default_host);
    let initial = url_origin(&format!("{}://{host}", req.scheme));
    let proto = header_str(req.headers, "x-forwarded-proto")
        .map(first)
        .unwrap_or_else(|| req.scheme.to_owned());
    let host = header_str(req.headers, "x-forwarded-host")
        .map(first)
        .unwrap_or_else(|| host.to_owned());
    if proto.is_empty() || host.is_empty() {
        return initial;
    }
    url_origin(&format!("{proto}://{host}")).or(initial)
}

/// Clerk's `shouldForceHandshakeForCrossDomain`: a signed-in cookie request that is a GET
/// document navigation from another origin (not Clerk's own pages) gets a handshake redirect.
fn cross_origin_navigation(cfg: &ConfigInner, req: &RequestParts<'_>, redirect_count: f64) -> bool {
    if !req.is_get
        || header_str(req.headers, "sec-fetch-dest") != Some("document")
        || redirect_count != 0.0
    {
        return false;
    }
    let Some(referrer) = header_str(req.headers, "referer") else {
        return false;
    };
    let Some(referrer_origin) = url_origin(referrer) else {
        return false;
    };
    match request_origin(req) {
        Some(origin) if origin != referrer_origin => {}
        _ => return false,
    }
    let referrer_host = referrer_origin.split_once("://").map_or("", |(_, h)| h);
    let referrer_host = referrer_host
        .rsplit_once(':')
        .map_or(referrer_host, |(h, _)| h);
    if let Some(pk) = &cfg.publishable_key {
        let fapi = pk.frontend_api.to_ascii_lowercase();
        if referrer_host == fapi {
            return false;
        }
        if pk.instance == InstanceType::Development {
            let legacy = [".lcl.dev", ".lclstage.dev", ".lclclerk.com"];
            let current = [
                ".accounts.dev",
                ".accountsstage.dev",
                ".accounts.lclclerk.com",
            ];
            if legacy
                .iter()
                .any(|s| referrer_host.starts_with("accounts.") && referrer_host.ends_with(s))
                || current.iter().any(|s| {
                    referrer_host.ends_with(s) && !referrer_host.ends_with(&format!(".clerk{s}"))
                })
            {
                return false;
            }
        }
        let accounts = if let Some(rest) = fapi.strip_prefix("clerk.accountsstage.") {
            format!("accountsstage.{rest}")
        } else if let Some(i) = fapi.find("clerk.accounts.").or_else(|| fapi.find("clerk.")) {
            let len = if fapi[i..].starts_with("clerk.accounts.") {
                "clerk.accounts.".len()
            } else {
                "clerk.".len()
            };
            format!("{}accounts.{}", &fapi[..i], &fapi[i + len..])
        } else {
            fapi.clone()
        };
        if url_origin(&format!("https://{accounts}")).as_deref() == Some(referrer_origin.as_str()) {
            return false;
        }
    }
    true
}

fn signed_out(reason: Reason, message: String, carrier: Option<TokenCarrier>) -> Decision {
    Decision {
        auth: Auth::signed_out(reason, message, carrier),
        retry_after_secs: None,
    }
}

/// `handleSessionTokenError`: a verification failure as the request's outcome.
fn from_failure(f: Failure, carrier: TokenCarrier, is_get: bool) -> Decision {
    let message = f.full_message(carrier);
    match f {
        Failure::Bare(reason) => signed_out(reason, message, Some(carrier)),
        Failure::Token {
            reason,
            retry_after_secs,
            ..
        } => {
            let reason = match reason {
                Reason::TokenExpired if is_get => Reason::SessionTokenExpiredNoRefreshCookie,
                Reason::TokenExpired => Reason::SessionTokenExpiredNonGet,
                Reason::TokenNotActiveYet => Reason::SessionTokenNbf,
                Reason::TokenIatInTheFuture => Reason::SessionTokenIatInTheFuture,
                other => other,
            };
            Decision {
                auth: Auth::signed_out(reason, message, Some(carrier)),
                retry_after_secs,
            }
        }
    }
}

/// The verified-token cache's answer, before any decoding: a token verified earlier skips
/// decoding, the token-kind checks and the signature, and gets its time claims re-checked.
fn cached(
    cfg: &ConfigInner,
    token: &str,
    carrier: TokenCarrier,
    client_uat: f64,
    is_get: bool,
) -> Option<Decision> {
    let cache = cfg.token_cache.as_ref()?;
    match cache.get(cfg, token, carrier, client_uat, verify::now_ms()) {
        Lookup::Miss => None,
        Lookup::Hit(Ok(auth)) => Some(Decision {
            auth,
            retry_after_secs: None,
        }),
        Lookup::Hit(Err(f)) => Some(from_failure(f, carrier, is_get)),
        Lookup::IatBeforeClientUat => Some(signed_out(
            Reason::SessionTokenIatBeforeClientUat,
            String::new(),
            Some(carrier),
        )),
    }
}

/// Verifies a session token and builds the signed-in outcome (stored in the cache).
async fn verify_session(
    cfg: &ConfigInner,
    token: &str,
    d: DecodedJwt<'_>,
    carrier: TokenCarrier,
    is_get: bool,
) -> Decision {
    let now = verify::now_ms();
    match verify::verify_decoded(cfg, &d, now).await {
        Ok(times) => {
            let Value::Object(claims) = d.payload else {
                return signed_out(Reason::UnexpectedError, String::new(), Some(carrier));
            };
            if carrier == TokenCarrier::Cookie && !jwt::truthy(claims.get("azp")) {
                warn_cookie_without_azp();
            }
            // Clerk's toAuth() throws on malformed organisation claims: a 500 in Express,
            // signed out here (as Clerk itself does for the same token in a cookie).
            let Some(auth) = Auth::from_verified(claims, carrier) else {
                return signed_out(Reason::UnexpectedError, String::new(), Some(carrier));
            };
            if let Some(cache) = &cfg.token_cache {
                cache.insert(cfg, token, times, &auth, now);
            }
            Decision {
                auth,
                retry_after_secs: None,
            }
        }
        Err(f) => from_failure(f, carrier, is_get),
    }
}

fn warn_cookie_without_azp() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        tracing::warn!("clerk: a session token from a cookie is missing the azp claim; configure authorized parties");
    });
}

/// Decides one request.
pub(crate) async fn authenticate(cfg: &ConfigInner, req: &RequestParts<'_>) -> Decision {
    let mut lines = req.headers.get_all(AUTHORIZATION);
    let authorization = lines.next().map(header_text);
    if let Some(second) = lines.next() {
        return ambiguous_authorization(authorization.as_deref(), second, lines);
    }
    // A Fetch `Headers` strips leading and trailing HTTP whitespace from values.
    if let Some(token) = authorization
        .as_deref()
        .map(trim_sp_tab)
        .and_then(header_token)
    {
        return authenticate_header(cfg, token, req.is_get).await;
    }
    let cookie_text: Cow<'_, str> = {
        let mut values = req.headers.get_all(COOKIE);
        match (values.next(), values.next()) {
            (None, _) => Cow::Borrowed(""),
            (Some(one), None) => header_text(one),
            (Some(first), Some(second)) => {
                let mut joined = header_text(first).into_owned();
                for v in std::iter::once(second).chain(values) {
                    joined.push_str("; ");
                    joined.push_str(&header_text(v));
                }
                Cow::Owned(joined)
            }
        }
    };
    authenticate_cookies(cfg, &cookie_text, req).await
}

/// Two or more `Authorization` lines (contract §12, ours): never signed in with one of them (a
/// proxy in front may have checked the other). The lines are joined as a Fetch `Headers` joins
/// them (each trimmed, `", "` between), which is what Clerk on a Fetch runtime reads: its token
/// (or, when Clerk's parse finds none, the whole value) cannot decode, and the answer is
/// `token-invalid` with Clerk's decoding message for it.
fn ambiguous_authorization<'h>(
    first: Option<&str>,
    second: &'h HeaderValue,
    rest: impl Iterator<Item = &'h HeaderValue>,
) -> Decision {
    let mut joined = trim_sp_tab(first.unwrap_or_default()).to_owned();
    for v in std::iter::once(second).chain(rest) {
        joined.push_str(", ");
        joined.push_str(trim_sp_tab(&header_text(v)));
    }
    let token = header_token(&joined).unwrap_or(&joined);
    let error = jwt::decode(token).err().unwrap_or(jwt::DecodeError::Decode);
    tracing::debug!("clerk: request with several Authorization lines refused as ambiguous");
    from_failure(token_invalid(error), TokenCarrier::Header, true)
}

async fn authenticate_header(cfg: &ConfigInner, token: &str, is_get: bool) -> Decision {
    let carrier = TokenCarrier::Header;
    if let Some(decision) = cached(cfg, token, carrier, 0.0, is_get) {
        return decision;
    }
    let decoded = jwt::decode(token);
    if verify::is_machine_jwt(token, decoded.as_ref().ok())
        || verify::has_non_session_category(decoded.as_ref().ok())
    {
        return signed_out(Reason::TokenTypeMismatch, String::new(), Some(carrier));
    }
    match decoded {
        Err(e) => from_failure(token_invalid(e), carrier, is_get),
        Ok(d) => verify_session(cfg, token, d, carrier, is_get).await,
    }
}

/// A token that does not decode: Clerk's `token-invalid` with the decoding message.
fn token_invalid(e: jwt::DecodeError) -> Failure {
    Failure::Token {
        reason: Reason::TokenInvalid,
        text: e.message().to_owned(),
        action: None,
        retry_after_secs: None,
    }
}

async fn authenticate_cookies(
    cfg: &ConfigInner,
    cookie_text: &str,
    req: &RequestParts<'_>,
) -> Decision {
    let carrier = TokenCarrier::Cookie;
    let now = verify::now_ms();
    let suffix = cfg
        .publishable_key
        .as_ref()
        .map(|p| p.cookie_suffix.as_str());
    let cookies = ClerkCookies::parse(cookie_text, suffix);
    // With a publishable key, choosing the cookie pair reads the unverified session cookies;
    // each is decoded once here and the chosen one is reused below.
    let with_pk = cfg.publishable_key.is_some();
    let decoded_plain = present(&cookies.session)
        .filter(|_| with_pk)
        .and_then(|t| jwt::decode(t).ok());
    let decoded_sfx = present(&cookies.session_sfx)
        .filter(|_| with_pk)
        .and_then(|t| jwt::decode(t).ok());
    let suffixed = uses_suffixed(cfg, &cookies, &decoded_plain, &decoded_sfx, now);
    let mut decoded = if suffixed { decoded_sfx } else { decoded_plain };
    let (session, uat_text, db_cookie) = if suffixed {
        (
            present(&cookies.session_sfx),
            present(&cookies.client_uat_sfx),
            present(&cookies.db_jwt_sfx),
        )
    } else {
        (
            present(&cookies.session),
            present(&cookies.client_uat),
            present(&cookies.db_jwt),
        )
    };
    let uat = uat_text
        .map(jwt::parse_int)
        .filter(|u| !u.is_nan())
        .unwrap_or(0.0);
    let has_uat = uat != 0.0;
    let dev = cfg
        .publishable_key
        .as_ref()
        .is_some_and(|p| p.instance == InstanceType::Development);
    if dev {
        if query_param(req.query, "__clerk_redirect_url").is_some_and(|v| !v.is_empty()) {
            return signed_out(Reason::PrimaryRespondsToSyncing, String::new(), None);
        }
        let query_db = query_param(req.query, "__clerk_db_jwt");
        if query_db.is_some() {
            return signed_out(Reason::DevBrowserSync, String::new(), None);
        }
        if db_cookie.is_none() {
            return signed_out(Reason::DevBrowserMissing, String::new(), None);
        }
    }
    let token = match (has_uat, session) {
        (false, None) => return signed_out(Reason::SessionTokenAndUatMissing, String::new(), None),
        (false, Some(_)) => {
            return signed_out(
                Reason::SessionTokenWithoutClientUat,
                String::new(),
                Some(carrier),
            )
        }
        (true, None) => {
            return signed_out(Reason::ClientUatWithoutSessionToken, String::new(), None)
        }
        (true, Some(token)) => token,
    };
    if let Some(decision) = cached(cfg, token, carrier, uat, req.is_get) {
        return after_cookie_verification(cfg, req, &cookies, decision);
    }
    let d = match decoded.take().map_or_else(|| jwt::decode(token), Ok) {
        Ok(d) => d,
        Err(e) => return from_failure(token_invalid(e), carrier, req.is_get),
    };
    if verify::is_machine_jwt(token, Some(&d)) || verify::has_non_session_category(Some(&d)) {
        return signed_out(Reason::TokenTypeMismatch, String::new(), Some(carrier));
    }
    let Ok(iat) = prop(&d.payload, "iat") else {
        return signed_out(Reason::UnexpectedError, String::new(), Some(carrier));
    };
    if jwt::to_number(iat) < uat {
        return signed_out(
            Reason::SessionTokenIatBeforeClientUat,
            String::new(),
            Some(carrier),
        );
    }
    let decision = verify_session(cfg, token, d, carrier, req.is_get).await;
    after_cookie_verification(cfg, req, &cookies, decision)
}

/// A verified cookie token on a cross-origin document navigation: Clerk redirects to its
/// handshake, which an API answer reports as signed out with the same reason.
fn after_cookie_verification(
    cfg: &ConfigInner,
    req: &RequestParts<'_>,
    cookies: &ClerkCookies<'_>,
    decision: Decision,
) -> Decision {
    let verified = matches!(decision.auth.reason(), None | Some(Reason::SessionPending));
    if verified && cross_origin_navigation(cfg, req, cookies.redirect_count()) {
        return signed_out(
            Reason::PrimaryDomainCrossOriginSync,
            "Cross-origin request from satellite domain requires handshake".into(),
            Some(TokenCarrier::Cookie),
        );
    }
    decision
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn authorization_header_parsing() {
        assert_eq!(header_token("Bearer abc"), Some("abc"));
        assert_eq!(header_token("abc"), Some("abc"));
        assert_eq!(header_token("Bearer abc def"), Some("abc"));
        assert_eq!(header_token("Bearer  abc"), Some("Bearer"));
        assert_eq!(header_token("bearer abc"), None);
        assert_eq!(header_token("Basic abc"), None);
        assert_eq!(header_token(""), None);
    }

    #[test]
    fn cookie_parsing() {
        let c = ClerkCookies::parse(
            "a=1; __session=x%20y; __session=second; junk; __client_uat=5",
            None,
        );
        assert_eq!(c.session.as_deref(), Some("x y"));
        assert_eq!(c.client_uat.as_deref(), Some("5"));
        let c = ClerkCookies::parse("__session_AbC=t; __client_uat_AbC=1", Some("AbC"));
        assert_eq!(c.session_sfx.as_deref(), Some("t"));
        assert_eq!(c.client_uat_sfx.as_deref(), Some("1"));
        assert_eq!(percent_decode("%ZZ"), "%ZZ");
        assert_eq!(percent_decode("%C3%A9"), "é");
        assert_eq!(percent_decode("%FF"), "%FF");
    }

    #[test]
    fn origins() {
        assert_eq!(
            url_origin("https://App.example.com/x?y").as_deref(),
            Some("https://app.example.com")
        );
        assert_eq!(url_origin("http://h:80/").as_deref(), Some("http://h"));
        assert_eq!(
            url_origin("http://h:8080").as_deref(),
            Some("http://h:8080")
        );
        assert_eq!(
            url_origin("https://u:p@h:443").as_deref(),
            Some("https://h")
        );
        assert_eq!(
            url_origin("http://[::1]:3000/").as_deref(),
            Some("http://[::1]:3000")
        );
        assert_eq!(url_origin("http://[::1]").as_deref(), Some("http://[::1]"));
        assert_eq!(url_origin("ftp://x").as_deref(), Some("null"));
        assert_eq!(url_origin("garbage"), None);
    }

    #[test]
    fn scheme_stripping() {
        assert_eq!(
            strip_scheme("https://clerk.example.com"),
            "clerk.example.com"
        );
        assert_eq!(strip_scheme("HTTPS://https://a.b"), "a.b");
        assert_eq!(strip_scheme("a.b"), "a.b");
        assert_eq!(strip_scheme("xhttp://yHTTPs://z https:/"), "xyz https:/");
        let long = "http://".repeat(20_000);
        assert_eq!(strip_scheme(&long), "");
        assert_eq!(
            query_param("a=1&%5F%5Fclerk_db_jwt=x+y", "__clerk_db_jwt").as_deref(),
            Some("x y")
        );
        assert_eq!(
            query_param("__clerk_db_jwt", "__clerk_db_jwt").as_deref(),
            Some("")
        );
    }
}
