//! The authenticator (above the token cache and the verifier): request → token source
//! (Authorization header, else cookies, by Clerk's rules) → [`Decision`].
//!
//! - [`header`]: the `Authorization` header as Clerk parses it;
//! - [`cookies`]: the `cookie` package's parser and the suffixed/plain cookie choice;
//! - [`origin`]: query parameters, URL origins, cross-origin navigations.

use std::borrow::Cow;

use actix_web::http::header::{HeaderMap, HeaderValue, AUTHORIZATION, COOKIE};
use serde_json::Value;

use crate::auth::{Auth, SignedOutKind, TokenCarrier};
use crate::browser::{self, BrowserAnswer, BrowserFlow, PageRequest};
use crate::cache::{Lookup, TokenCache};
use crate::error::Reason;
use crate::instance::{InstanceType, PublishableKey};
use crate::js::{self, prop};
use crate::jwt::{self, DecodedJwt};
use crate::machine::opaque::{check_oauth_audience, OpaqueFailure, OpaqueVerifier};
use crate::machine::{machine_kind, Accepts, MachineAuth, TokenKind};
use crate::verify::{self, Failure, Verifier};

pub(crate) mod cookies;
pub(crate) mod header;
pub(crate) mod origin;

use cookies::{present, uses_suffixed, ClerkCookies};
use header::{header_text, header_token, header_token_bytes, trim_sp_tab, trim_sp_tab_bytes};
use origin::{cross_origin_navigation, query_param};

/// What [`Authenticator::decide_cached`] found.
pub(crate) enum CacheAnswer {
    /// The cache decided the request.
    Decided(Decision),
    /// The header token is not in the cache: [`authenticate`] with `header_cache_missed`.
    Missed,
    /// Not a request the cache can answer alone (no cache, no header token, several lines).
    NotLookedUp,
}

/// Everything that decides a request: the instance, the verifier, the verified-token cache.
#[derive(Debug)]
pub(crate) struct Authenticator {
    pub publishable_key: Option<PublishableKey>,
    pub verifier: Verifier,
    pub cache: Option<TokenCache>,
    /// Verifies opaque machine tokens (when a secret or machine secret key is configured).
    pub machines: Option<OpaqueVerifier>,
    /// Page navigations: refresh, the handshake, satellites (contract §13).
    pub browser: BrowserFlow,
}

impl std::fmt::Debug for TokenCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TokenCache").finish_non_exhaustive()
    }
}

/// What the decision needs from a request.
pub(crate) struct RequestParts<'r> {
    pub is_get: bool,
    /// The kinds of token the middleware accepts.
    pub accepts: &'r Accepts,
    /// The header token was already looked up in the cache ([`Authenticator::decide_cached`])
    /// and missed: not looked up again.
    pub header_cache_missed: bool,
    pub query: &'r str,
    pub headers: &'r HeaderMap,
    /// `https` when the connection is TLS, else `http`.
    pub scheme: &'r str,
    /// The server's own host, used when the request has no `Host` header.
    pub default_host: &'r str,
    /// The request target's path and query, as received.
    pub path_and_query: &'r str,
}

/// The outcome of one request (a key-source outage carries its `Retry-After` in the [`Auth`]),
/// and what the browser flow adds to the answer (a `307`, `Set-Cookie` lines).
pub(crate) struct Decision {
    pub auth: Auth,
    pub browser: Option<Box<BrowserAnswer>>,
}

impl Decision {
    pub(crate) fn new(auth: Auth) -> Self {
        Decision {
            auth,
            browser: None,
        }
    }
}

fn signed_out(reason: Reason, message: String, carrier: Option<TokenCarrier>) -> Decision {
    Decision::new(Auth::signed_out(reason, message, carrier))
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
            let mut auth = Auth::signed_out(reason, message, Some(carrier));
            if let Some(secs) = retry_after_secs {
                auth.set_retry_after(secs);
            }
            Decision::new(auth)
        }
    }
}

/// The verified-token cache's answer, before any decoding: a token verified earlier skips
/// decoding, the token-kind checks and the signature, and gets its time claims re-checked.
/// A hit is also where a refresh ahead of the keys starts (it never reaches the key store).
fn cached(
    cfg: &Authenticator,
    token: &[u8],
    carrier: TokenCarrier,
    client_uat: f64,
    is_get: bool,
) -> Option<Decision> {
    let cache = cfg.cache.as_ref()?;
    let keys = &cfg.verifier.keys;
    let lookup = cache.get(
        token,
        carrier,
        client_uat,
        keys.current_generation(),
        &cfg.verifier.rules,
        verify::now_ms(),
    );
    let decision = match lookup {
        Lookup::Miss => return None,
        Lookup::Hit(Ok(auth)) => Decision::new(auth),
        Lookup::Hit(Err(f)) => from_failure(f, carrier, is_get),
        Lookup::IatBeforeClientUat => signed_out(
            Reason::SessionTokenIatBeforeClientUat,
            String::new(),
            Some(carrier),
        ),
    };
    keys.refresh_if_due();
    Some(decision)
}

impl Authenticator {
    /// A machine-accepting middleware's common request, decided without waiting: one
    /// `Authorization` line holding an opaque token (`ak_`, `mt_`, `oat_`, no dot) of an
    /// accepted kind whose Backend API answer is cached and fresh. Anything else:
    /// [`CacheAnswer::NotLookedUp`] (the full flow decides).
    pub(crate) fn decide_cached_opaque(
        &self,
        headers: &HeaderMap,
        accepts: &Accepts,
    ) -> CacheAnswer {
        let Some(machines) = &self.machines else {
            return CacheAnswer::NotLookedUp;
        };
        let mut lines = headers.get_all(AUTHORIZATION);
        let (Some(value), None) = (lines.next(), lines.next()) else {
            return CacheAnswer::NotLookedUp;
        };
        let token = header_token_bytes(trim_sp_tab_bytes(value.as_bytes()))
            .and_then(|t| std::str::from_utf8(t).ok());
        let Some(token) = token.filter(|t| t.is_ascii() && !t.contains('.')) else {
            return CacheAnswer::NotLookedUp;
        };
        let kind = if token.starts_with("mt_") {
            TokenKind::M2mToken
        } else if token.starts_with("oat_") {
            TokenKind::OauthToken
        } else if token.starts_with("ak_") {
            TokenKind::ApiKey
        } else {
            return CacheAnswer::NotLookedUp;
        };
        if !accepts.accepts(kind) {
            return CacheAnswer::NotLookedUp;
        }
        match machines.cached(kind, token) {
            Some(Ok(auth)) => CacheAnswer::Decided(Decision::new(auth)),
            Some(Err(f)) => CacheAnswer::Decided(Decision::new(Auth::signed_out_as(
                SignedOutKind::Machine(kind),
                f.reason,
                f.message,
                f.retry_after_secs,
            ))),
            None => CacheAnswer::NotLookedUp,
        }
    }

    /// The common request, decided without waiting: one `Authorization` line whose token the
    /// cache holds. Looks the cache up on the raw header bytes (no copy, no validation: a
    /// cached token is plain ASCII, so only an identical byte string can match).
    pub(crate) fn decide_cached(&self, headers: &HeaderMap, is_get: bool) -> CacheAnswer {
        if self.cache.is_none() {
            return CacheAnswer::NotLookedUp;
        }
        let mut lines = headers.get_all(AUTHORIZATION);
        let (Some(value), None) = (lines.next(), lines.next()) else {
            return CacheAnswer::NotLookedUp;
        };
        let value = trim_sp_tab_bytes(value.as_bytes());
        // The common form first, without scanning the token: `Bearer ` and the rest. A cached
        // token never holds a space, so when the whole rest is one, the rest is the token
        // `header_token_bytes` would isolate (the text up to the first space).
        let found = match value.strip_prefix(b"Bearer ") {
            Some(rest) if !rest.is_empty() => {
                cached(self, rest, TokenCarrier::Header, 0.0, is_get).or_else(|| {
                    // Not cached as a whole: the token is the rest up to a space, if any.
                    let token = header_token_bytes(value)?;
                    (token.len() != rest.len())
                        .then(|| cached(self, token, TokenCarrier::Header, 0.0, is_get))
                        .flatten()
                })
            }
            _ => {
                let Some(token) = header_token_bytes(value) else {
                    return CacheAnswer::NotLookedUp;
                };
                cached(self, token, TokenCarrier::Header, 0.0, is_get)
            }
        };
        match found {
            // An expired or not-yet-valid token may be refreshed or handshaked: the full flow.
            Some(d)
                if self.browser.enabled
                    && d.auth
                        .reason()
                        .is_some_and(crate::browser::handshake_reason) =>
            {
                CacheAnswer::NotLookedUp
            }
            Some(decision) => CacheAnswer::Decided(decision),
            None => CacheAnswer::Missed,
        }
    }
}

/// Verifies a session token and builds the signed-in outcome (stored in the cache).
async fn verify_session(
    cfg: &Authenticator,
    token: &str,
    d: DecodedJwt<'_>,
    carrier: TokenCarrier,
    is_get: bool,
) -> Decision {
    let now = verify::now_ms();
    match verify::verify_decoded(&cfg.verifier, &d, now, verify::Profile::Session).await {
        Ok(verified) => {
            let Value::Object(claims) = d.payload else {
                return signed_out(Reason::UnexpectedError, String::new(), Some(carrier));
            };
            if carrier == TokenCarrier::Cookie && !js::truthy(claims.get("azp")) {
                warn_cookie_without_azp();
            }
            // Clerk's toAuth() throws on malformed organisation claims: a 500 in Express,
            // signed out here (as Clerk itself does for the same token in a cookie).
            let Some(auth) = Auth::from_verified_text(claims, d.payload_text, carrier) else {
                return signed_out(Reason::UnexpectedError, String::new(), Some(carrier));
            };
            if let Some(cache) = &cfg.cache {
                cache.insert(
                    token,
                    verified.times,
                    &cfg.verifier.rules,
                    &auth,
                    verified.key_generation,
                );
            }
            Decision::new(auth)
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

/// The `Cookie` header as one text (several lines joined with `"; "`).
pub(crate) fn cookie_header(headers: &HeaderMap) -> Cow<'_, str> {
    let mut values = headers.get_all(COOKIE);
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
}

/// Decides one request: the API decision, then what the browser flow adds to it (§13).
pub(crate) async fn authenticate(cfg: &Authenticator, req: &RequestParts<'_>) -> Decision {
    let decision = authenticate_api(cfg, req).await;
    let flow_applies = cfg.browser.enabled
        && cfg.publishable_key.is_some()
        && decision.browser.is_none()
        && (decision
            .auth
            .reason()
            .is_some_and(browser::handshake_reason)
            || cfg.browser.org_sync.is_some()
                && decision.auth.token_carrier() == Some(TokenCarrier::Cookie)
                && decision.auth.is_signed_in());
    if !flow_applies {
        return decision;
    }
    let cookie_text = cookie_header(req.headers);
    let mut lines = req.headers.get_all(AUTHORIZATION);
    let authorization = match (lines.next(), lines.next()) {
        (Some(v), None) => Some(header_text(v)),
        _ => None,
    };
    let token = authorization
        .as_deref()
        .map(trim_sp_tab)
        .and_then(header_token);
    browser::after(cfg, req, &cookie_text, token, decision).await
}

/// The request decided as an API request (no browser flow but the handshake return); also
/// the standalone calls' decision (`standalone`: they have no response for the browser flow).
pub(crate) async fn authenticate_api(cfg: &Authenticator, req: &RequestParts<'_>) -> Decision {
    let mut lines = req.headers.get_all(AUTHORIZATION);
    let authorization = lines.next().map(header_text);
    if lines.next().is_some() {
        return ambiguous_authorization(req.headers.get_all(AUTHORIZATION));
    }
    // A Fetch `Headers` strips leading and trailing HTTP whitespace from values.
    let token = authorization
        .as_deref()
        .map(trim_sp_tab)
        .and_then(header_token);
    if *req.accepts != Accepts::Kind(TokenKind::SessionToken) {
        if let Some(decision) = machine_dispatch(cfg, req, token).await {
            return decision;
        }
    } else if let Some(token) = token {
        return authenticate_header(cfg, token, req.is_get, req.header_cache_missed, None).await;
    }
    let cookie_text = cookie_header(req.headers);
    authenticate_cookies(cfg, &cookie_text, req).await
}

/// Clerk's dispatch when machine tokens are accepted (§9): `None` means "the session's cookie
/// flow decides".
pub(crate) async fn machine_dispatch(
    cfg: &Authenticator,
    req: &RequestParts<'_>,
    token: Option<&str>,
) -> Option<Decision> {
    let accepts = req.accepts;
    let decoded = token.map(jwt::decode);
    let decoded_ok = decoded.as_ref().and_then(|d| d.as_ref().ok());
    let kind = token.and_then(|t| machine_kind(t, decoded_ok));
    if let Accepts::List(_) = accepts {
        let asked = match token {
            Some(_) => kind.unwrap_or(TokenKind::SessionToken),
            None => TokenKind::SessionToken,
        };
        if !accepts.accepts(asked) {
            return Some(Decision::new(Auth::signed_out_as(
                SignedOutKind::InvalidToken,
                Reason::TokenTypeMismatch,
                String::new(),
                None,
            )));
        }
    }
    let mismatch = |k: TokenKind, reason: Reason| {
        Decision::new(Auth::signed_out_as(
            SignedOutKind::Machine(k),
            reason,
            String::new(),
            None,
        ))
    };
    match (token, accepts) {
        (Some(t), Accepts::Any | Accepts::List(_)) => {
            if let Some(kind) = kind {
                return Some(verify_machine(cfg, kind, t, decoded_ok).await);
            }
            if verify::has_non_session_category(decoded_ok) {
                return Some(signed_out(
                    Reason::TokenTypeMismatch,
                    String::new(),
                    Some(TokenCarrier::Header),
                ));
            }
            // The token is decoded already: the session flow reuses it.
            Some(authenticate_header(cfg, t, req.is_get, req.header_cache_missed, decoded).await)
        }
        (Some(t), Accepts::Kind(wanted)) => Some(match kind {
            Some(kind) if kind == *wanted => verify_machine(cfg, kind, t, decoded_ok).await,
            _ => mismatch(*wanted, Reason::TokenTypeMismatch),
        }),
        (None, Accepts::Kind(wanted)) if *wanted != TokenKind::SessionToken => {
            Some(mismatch(*wanted, Reason::NoTokenInHeader))
        }
        (None, _) => None,
    }
}

/// A machine token of `kind`: JWT forms locally, opaque ones by the Backend API.
async fn verify_machine(
    cfg: &Authenticator,
    kind: TokenKind,
    token: &str,
    decoded: Option<&DecodedJwt<'_>>,
) -> Decision {
    let failed = |k: TokenKind, f: OpaqueFailure| {
        Decision::new(Auth::signed_out_as(
            SignedOutKind::Machine(k),
            f.reason,
            f.message,
            f.retry_after_secs,
        ))
    };
    if jwt::is_jwt_format(token) {
        let Some(d) = decoded else {
            let text = match jwt::decode(token) {
                Err(e) => e.message(),
                Ok(_) => jwt::MSG_FORM_DECODE,
            };
            return failed(
                TokenKind::M2mToken,
                OpaqueFailure::new(Reason::TokenInvalid, text, None),
            );
        };
        return verify_machine_jwt(cfg, token, d)
            .await
            .unwrap_or_else(|(k, f)| failed(k, f));
    }
    let Some(machines) = &cfg.machines else {
        return failed(
            kind,
            OpaqueFailure::new(Reason::UnexpectedError, "Unexpected error", None),
        );
    };
    match machines
        .verify(kind, token, &cfg.verifier.rules.audience)
        .await
    {
        Ok(auth) => Decision::new(auth),
        Err(f) => failed(kind, f),
    }
}

/// An M2M or OAuth JWT, verified with the session tokens' keys under Clerk's machine rules.
async fn verify_machine_jwt(
    cfg: &Authenticator,
    _token: &str,
    d: &DecodedJwt<'_>,
) -> Result<Decision, (TokenKind, OpaqueFailure)> {
    let m2m = js::prop_opt(&d.payload, "sub")
        .and_then(Value::as_str)
        .is_some_and(|s| s.starts_with("mch_"));
    let typ = js::prop_opt(&d.header, "typ");
    let oauth = matches!(
        typ.and_then(Value::as_str),
        Some("at+jwt" | "application/at+jwt")
    );
    let (kind, profile) = if m2m {
        if let Some(cat) = js::prop_opt(&d.header, "cat") {
            if cat.as_str() != Some(CATEGORY_M2M) {
                return Err((
                    TokenKind::M2mToken,
                    OpaqueFailure::new(Reason::TokenInvalid, "Invalid M2M JWT category.", None),
                ));
            }
        }
        (TokenKind::M2mToken, verify::Profile::M2m)
    } else if oauth {
        (TokenKind::OauthToken, verify::Profile::OAuth)
    } else {
        let shown = match typ {
            None | Some(Value::Null) => "missing".to_owned(),
            Some(Value::String(s)) => s.clone(),
            Some(other) => js::js_stringify(Some(other)),
        };
        return Err((
            TokenKind::OauthToken,
            OpaqueFailure::new(
                Reason::TokenVerificationFailed,
                &format!("Invalid JWT type: {shown}. Expected one of: at+jwt, application/at+jwt for OAuth, or sub starting with 'mch_' for M2M"),
                None,
            ),
        ));
    };
    let now = verify::now_ms();
    if let Err(f) = verify::verify_decoded(&cfg.verifier, d, now, profile).await {
        let (text, retry) = match f {
            Failure::Token {
                text,
                retry_after_secs,
                ..
            } => (text, retry_after_secs),
            Failure::Bare(_) => ("Unexpected error".to_owned(), None),
        };
        let mut failure = OpaqueFailure::new(Reason::TokenVerificationFailed, &text, None);
        failure.retry_after_secs = retry;
        return Err((kind, failure));
    }
    let Value::Object(claims) = &d.payload else {
        return Err((
            kind,
            OpaqueFailure::new(Reason::UnexpectedError, "Unexpected error", None),
        ));
    };
    let machine = if kind == TokenKind::M2mToken {
        MachineAuth::from_m2m_claims(claims)
    } else {
        check_oauth_audience(claims.get("aud"), &cfg.verifier.rules.audience)
            .map_err(|f| (kind, f))?;
        MachineAuth::from_oauth_claims(claims)
    };
    Ok(Decision::new(Auth::machine_token(machine)))
}

/// Clerk's JWT category of M2M tokens.
const CATEGORY_M2M: &str = "cl_B7d4PD333AAA";

/// Two or more `Authorization` lines (contract §12, ours): never signed in with one of them (a
/// proxy in front may have checked the other). The lines are joined as a Fetch `Headers` joins
/// them (each trimmed, `", "` between), which is what Clerk on a Fetch runtime reads: its token
/// (or, when Clerk's parse finds none, the whole value) cannot decode, and the answer is
/// `token-invalid` with Clerk's decoding message for it.
fn ambiguous_authorization<'h>(lines: impl Iterator<Item = &'h HeaderValue>) -> Decision {
    let joined = header::fetch_joined(lines);
    let token = header_token(&joined).unwrap_or(&joined);
    // The parsed token may decode (`Bearer <jwt> <more>, …`): the message is then the one for
    // the whole joined value, which never decodes.
    let error = jwt::decode(token)
        .err()
        .or_else(|| jwt::decode(&joined).err())
        .unwrap_or(jwt::DecodeError::Parts);
    tracing::debug!("clerk: request with several Authorization lines refused as ambiguous");
    from_failure(token_invalid(error), TokenCarrier::Header, true)
}

/// A header token by the session rules; `decoded`: the token already decoded by the caller
/// (the machine-token dispatch), else it is decoded here after the cache lookup.
pub(crate) async fn authenticate_header<'t>(
    cfg: &Authenticator,
    token: &'t str,
    is_get: bool,
    cache_missed: bool,
    decoded: Option<Result<DecodedJwt<'t>, jwt::DecodeError>>,
) -> Decision {
    let carrier = TokenCarrier::Header;
    let lookup = || cached(cfg, token.as_bytes(), carrier, 0.0, is_get);
    if let Some(decision) = (!cache_missed).then(lookup).flatten() {
        return decision;
    }
    let decoded = decoded.unwrap_or_else(|| jwt::decode(token));
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
    cfg: &Authenticator,
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
    let suffixed = uses_suffixed(
        cfg.publishable_key.as_ref(),
        &cookies,
        &decoded_plain,
        &decoded_sfx,
        now,
    );
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
        .map(js::parse_int)
        .filter(|u| !u.is_nan())
        .unwrap_or(0.0);
    let has_uat = uat != 0.0;
    let dev = cfg
        .publishable_key
        .as_ref()
        .is_some_and(|p| p.instance == InstanceType::Development);
    let flow = &cfg.browser;
    if flow.enabled && with_pk && cookies.has_handshake_return(req.query) {
        let page = PageRequest::new(cfg, req, cookie_text);
        if let Some(decision) = browser::handshake::resolve_return(cfg, req, &page).await {
            return decision;
        }
    }
    if flow.is_satellite
        && req.is_get
        && browser::url::header_joined(req.headers, "sec-fetch-dest").as_deref() == Some("document")
    {
        let synced = query_param(req.query, "__clerk_synced");
        let needs_sync = synced.as_deref() == Some("false");
        if synced.as_deref() != Some("true") {
            let has_cookies = session.is_some() || has_uat;
            if !flow.satellite_auto_sync && !has_cookies && !needs_sync {
                return signed_out(Reason::SessionTokenAndUatMissing, String::new(), None);
            }
            if !has_cookies || needs_sync {
                return signed_out(Reason::SatelliteCookieNeedsSyncing, String::new(), None);
            }
        }
    }
    if dev {
        if !flow.is_satellite
            && query_param(req.query, "__clerk_redirect_url").is_some_and(|v| !v.is_empty())
        {
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
    if let Some(decision) = cached(cfg, token.as_bytes(), carrier, uat, req.is_get) {
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
    if js::to_number(iat) < uat {
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
    cfg: &Authenticator,
    req: &RequestParts<'_>,
    cookies: &ClerkCookies<'_>,
    decision: Decision,
) -> Decision {
    let verified = matches!(decision.auth.reason(), None | Some(Reason::SessionPending));
    if verified
        && !cfg.browser.is_satellite
        && cross_origin_navigation(cfg, req, cookies.redirect_count())
    {
        return signed_out(
            Reason::PrimaryDomainCrossOriginSync,
            "Cross-origin request from satellite domain requires handshake".into(),
            Some(TokenCarrier::Cookie),
        );
    }
    decision
}
