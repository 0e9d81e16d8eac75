//! The browser flow (contract §13): what Clerk's SDK adds for a browser's page navigation on
//! top of the API decision — server-side refresh through the refresh cookie, the handshake
//! redirect to the instance's Frontend API and its return, development instances' dev-browser
//! sync, satellites and the primary's cross-origin sync.
//!
//! It works on the decision the authenticator made (same reasons and messages as for an API
//! request) and adds a browser answer: a `307` with its headers, or `Set-Cookie` lines for the
//! response. A request that is not a page navigation and carries no refresh cookie or
//! handshake parameter costs nothing here.

pub(crate) mod handshake;
pub(crate) mod org;
pub(crate) mod refresh;
pub(crate) mod url;

use std::time::Duration;

use actix_web::http::header::{HeaderName, HeaderValue, CACHE_CONTROL, LOCATION, SET_COOKIE};

use crate::auth::{Auth, AuthState, SignedOutKind, TokenCarrier};
use crate::authenticate::cookies::{present, uses_suffixed, ClerkCookies};
use crate::authenticate::{Authenticator, Decision, RequestParts};
use crate::backend_api::CallBound;
use crate::error::Reason;
use crate::instance::{InstanceType, PublishableKey};
use crate::jwt;
use crate::secret::Secret;

/// What a middleware adds to its answer for a browser: headers, and whether it answers `307`
/// itself (a `Location` among them).
#[derive(Debug, Clone, Default)]
pub(crate) struct BrowserAnswer {
    pub headers: Vec<(HeaderName, HeaderValue)>,
    /// `x-clerk-auth-status: handshake` instead of `signed-out`.
    pub handshake: bool,
}

impl BrowserAnswer {
    /// Whether the middleware answers `307` (the handler never runs).
    pub(crate) fn redirects(&self) -> bool {
        self.headers.iter().any(|(n, _)| n == LOCATION)
    }
}

/// The Backend API access of the browser flow (handshake payload, session refresh).
pub(crate) struct BackendAccess {
    pub api_url: String,
    pub api_version: String,
    pub secret_key: Secret,
}

/// The browser flow's configuration.
pub(crate) struct BrowserFlow {
    /// Off: every request is decided as an API request (no refresh, redirect or handshake).
    pub enabled: bool,
    pub proxy_url: Option<String>,
    pub domain: Option<String>,
    pub is_satellite: bool,
    pub sign_in_url: Option<String>,
    pub satellite_auto_sync: bool,
    /// Organisation sync patterns (Clerk's `organizationSyncOptions`).
    pub org_sync: Option<org::OrganizationMatcher>,
    pub api: Option<BackendAccess>,
    pub bound: CallBound,
    pub timeout: Duration,
}

impl std::fmt::Debug for BrowserFlow {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BrowserFlow")
            .field("enabled", &self.enabled)
            .field("proxy_url", &self.proxy_url)
            .field("domain", &self.domain)
            .field("is_satellite", &self.is_satellite)
            .field("sign_in_url", &self.sign_in_url)
            .finish_non_exhaustive()
    }
}

impl BrowserFlow {
    /// The frontend API as Clerk's authenticate context has it: the proxy URL (a relative one
    /// resolved against the request's origin), else `clerk.{domain}` for a production
    /// satellite, else the host in the publishable key.
    pub(crate) fn frontend_api(&self, pk: &PublishableKey, origin: Option<&str>) -> String {
        match &self.proxy_url {
            Some(p) if p.starts_with('/') => format!("{}{p}", origin.unwrap_or_default()),
            Some(p) => p.clone(),
            None => pk.frontend_api.clone(),
        }
    }
}

/// `isRequestEligibleForHandshake`: a `GET` whose `sec-fetch-dest` is `document` or `iframe`,
/// or absent with an `accept` starting `text/html`.
pub(crate) fn eligible(req: &RequestParts<'_>) -> bool {
    if !req.is_get {
        return false;
    }
    match url::header_joined(req.headers, "sec-fetch-dest").filter(|v| !v.is_empty()) {
        Some(dest) => dest == "document" || dest == "iframe",
        None => {
            url::header_joined(req.headers, "accept").is_some_and(|a| a.starts_with("text/html"))
        }
    }
}

/// The reasons for which Clerk may redirect a page navigation to its handshake.
pub(crate) fn handshake_reason(reason: Reason) -> bool {
    matches!(
        reason,
        Reason::SessionTokenExpiredNoRefreshCookie
            | Reason::SessionTokenExpiredRefresh(_)
            | Reason::SessionTokenNbf
            | Reason::SessionTokenIatInTheFuture
            | Reason::SessionTokenWithoutClientUat
            | Reason::ClientUatWithoutSessionToken
            | Reason::SessionTokenIatBeforeClientUat
            | Reason::DevBrowserSync
            | Reason::DevBrowserMissing
            | Reason::PrimaryRespondsToSyncing
            | Reason::PrimaryDomainCrossOriginSync
            | Reason::SatelliteCookieNeedsSyncing
    )
}

/// What the flow reads of a request, parsed once on its slow path.
pub(crate) struct PageRequest<'r> {
    pub cookies: ClerkCookies<'r>,
    pub suffixed: bool,
    pub clerk_url: Option<::url::Url>,
}

impl<'r> PageRequest<'r> {
    pub(crate) fn new(a: &Authenticator, req: &RequestParts<'_>, cookie_text: &'r str) -> Self {
        let pk = a.publishable_key.as_ref();
        let cookies = ClerkCookies::parse(cookie_text, pk.map(|p| p.cookie_suffix.as_str()));
        let plain = present(&cookies.session).and_then(|t| jwt::decode(t).ok());
        let sfx = present(&cookies.session_sfx).and_then(|t| jwt::decode(t).ok());
        let suffixed = uses_suffixed(pk, &cookies, &plain, &sfx, crate::verify::now_ms());
        drop((plain, sfx));
        PageRequest {
            cookies,
            suffixed,
            clerk_url: url::clerk_url(
                req.headers,
                req.scheme,
                req.default_host,
                req.path_and_query,
            ),
        }
    }

    /// The chosen session cookie (`getSuffixedOrUnSuffixedCookie`).
    pub(crate) fn session_cookie(&self) -> Option<&str> {
        if self.suffixed {
            present(&self.cookies.session_sfx)
        } else {
            present(&self.cookies.session)
        }
    }

    /// The dev-browser token: the query's, else the chosen cookie.
    pub(crate) fn dev_browser(&self) -> Option<String> {
        if let Some(u) = &self.clerk_url {
            if let Some(v) = url::param(u, "__clerk_db_jwt").filter(|v| !v.is_empty()) {
                return Some(v);
            }
        }
        let c = if self.suffixed {
            present(&self.cookies.db_jwt_sfx)
        } else {
            present(&self.cookies.db_jwt)
        };
        c.map(str::to_owned)
    }
}

/// The browser flow on a decision the authenticator made: refresh, then the handshake
/// redirect where Clerk would redirect. `token_in_header`: the request's header token.
pub(crate) async fn after(
    a: &Authenticator,
    req: &RequestParts<'_>,
    cookie_text: &str,
    token_in_header: Option<&str>,
    decision: Decision,
) -> Decision {
    let flow = &a.browser;
    let Some(pk) = a.publishable_key.as_ref() else {
        return decision;
    };
    if !flow.enabled || decision.browser.is_some() {
        return decision;
    }
    let s = match decision.auth.state() {
        AuthState::SignedIn(_) => return organization_sync(a, req, cookie_text, decision),
        AuthState::SignedOut(s) => s,
        AuthState::Machine(_) => return decision,
    };
    if s.kind != SignedOutKind::Session || !handshake_reason(s.reason) {
        return decision;
    }
    let (mut reason, message, carrier) = (s.reason, s.message.clone(), s.carrier);
    let page = PageRequest::new(a, req, cookie_text);
    if reason == Reason::SessionTokenExpiredNoRefreshCookie {
        if let Some(refresh_token) = present(&page.cookies.refresh_sfx) {
            let expired = page
                .session_cookie()
                .or(token_in_header)
                .unwrap_or_default();
            match refresh::attempt(a, req, &page, expired, refresh_token).await {
                Ok(done) => return done,
                Err(why) => reason = Reason::SessionTokenExpiredRefresh(why),
            }
        }
    }
    let signed_out = |reason| Auth::signed_out(reason, message.clone(), carrier);
    if !eligible(req) {
        return Decision::new(signed_out(reason));
    }
    let Some(clerk_url) = &page.clerk_url else {
        return Decision::new(signed_out(reason));
    };
    let location = match reason {
        Reason::SatelliteCookieNeedsSyncing if pk.instance == InstanceType::Development => {
            let Some(mut to) = flow
                .sign_in_url
                .as_deref()
                .and_then(|u| ::url::Url::parse(u).ok())
            else {
                return Decision::new(signed_out(reason));
            };
            url::append_params(&mut to, &[("__clerk_redirect_url", clerk_url.as_str())]);
            to.to_string()
        }
        Reason::PrimaryRespondsToSyncing => {
            let target = url::param(clerk_url, "__clerk_redirect_url").unwrap_or_default();
            // Clerk throws on a return URL that does not parse (a 500 in Express).
            let Ok(mut back) = ::url::Url::parse(&target) else {
                return Decision::new(signed_out(reason));
            };
            if let Some(db) = page.dev_browser() {
                url::append_params(&mut back, &[("__clerk_db_jwt", &db)]);
            }
            url::set_param(&mut back, "__clerk_synced", "true");
            back.to_string()
        }
        _ => handshake::redirect_url(a, pk, &page, clerk_url, reason, token_in_header),
    };
    if page.cookies.redirect_count() == 3.0 {
        tracing::info!(
            reason = reason.as_str(),
            "clerk: handshake redirect loop stopped at 3 (are the instance's keys right?)"
        );
        return Decision::new(signed_out(reason));
    }
    redirect(signed_out(reason), &location, page.cookies.redirect_count())
        .unwrap_or_else(|| Decision::new(signed_out(reason)))
}

/// `handleMaybeOrganizationSyncHandshake`: a signed-in cookie session on a page whose URL
/// names another organisation (or the personal account while one is active) goes through the
/// handshake with `organization_id`; not a page navigation, or a loop: stays signed in.
fn organization_sync(
    a: &Authenticator,
    req: &RequestParts<'_>,
    cookie_text: &str,
    decision: Decision,
) -> Decision {
    let (Some(matcher), Some(pk)) = (&a.browser.org_sync, a.publishable_key.as_ref()) else {
        return decision;
    };
    let auth = &decision.auth;
    if auth.token_carrier() != Some(TokenCarrier::Cookie) || auth.user_id().is_none() {
        return decision;
    }
    if !eligible(req) {
        return decision;
    }
    let page = PageRequest::new(a, req, cookie_text);
    let Some(clerk_url) = &page.clerk_url else {
        return decision;
    };
    let must_activate = match matcher.find_target(clerk_url.path()) {
        None => false,
        Some(org::OrgTarget::PersonalAccount) => auth.org_id().is_some(),
        Some(org::OrgTarget::Organization { id, slug }) => {
            slug.is_some_and(|s| !s.equals(auth.org_slug()))
                || id.is_some_and(|i| !i.equals(auth.org_id()))
        }
    };
    let count = page.cookies.redirect_count();
    if !must_activate {
        return decision;
    }
    if count >= 3.0 {
        tracing::warn!("clerk: organization activation handshake loop detected; skipping organization activation");
        return decision;
    }
    let reason = Reason::ActiveOrganizationMismatch;
    let location = handshake::redirect_url(a, pk, &page, clerk_url, reason, None);
    redirect(
        Auth::signed_out(reason, String::new(), None),
        &location,
        count,
    )
    .unwrap_or(decision)
}

/// The handshake answer: `307` headers, the redirect counter, `handshake` status.
fn redirect(auth: Auth, location: &str, count: f64) -> Option<Decision> {
    let location = HeaderValue::from_str(location).ok()?;
    let mut headers = vec![
        (LOCATION, location),
        (CACHE_CONTROL, HeaderValue::from_static("no-store")),
    ];
    let cookie = format!(
        "__clerk_redirect_count={}; SameSite=Lax; HttpOnly; Max-Age=2",
        crate::js::js_number(count + 1.0)
    );
    if let Ok(v) = HeaderValue::from_str(&cookie) {
        headers.push((SET_COOKIE, v));
    }
    Some(Decision {
        auth,
        browser: Some(Box::new(BrowserAnswer {
            headers,
            handshake: true,
        })),
    })
}

/// The sign-in page for a signed-out page navigation: the configured sign-in URL, else the
/// instance's Account Portal, with `redirect_url` naming the page (`None`: not a page
/// navigation, or no URL can be made).
pub(crate) fn sign_in_location(a: &Authenticator, req: &RequestParts<'_>) -> Option<String> {
    if !eligible(req) {
        return None;
    }
    let page = url::clerk_url(
        req.headers,
        req.scheme,
        req.default_host,
        req.path_and_query,
    )?;
    let base = match &a.browser.sign_in_url {
        Some(u) => page.join(u).ok()?,
        None => {
            let pk = a.publishable_key.as_ref()?;
            let origin = page.origin().ascii_serialization();
            let fapi = a.browser.frontend_api(pk, Some(&origin));
            ::url::Url::parse(&format!("{}/sign-in", accounts_base_url(&fapi))).ok()?
        }
    };
    let mut target = base;
    url::append_params(&mut target, &[("redirect_url", page.as_str())]);
    Some(target.to_string())
}

/// `buildAccountsBaseUrl`: the Account Portal of a frontend API (`clerk.` becomes
/// `accounts.`, `clerk.accountsstage.` becomes `accountsstage.`).
pub(crate) fn accounts_base_url(frontend_api: &str) -> String {
    let mut host = frontend_api.to_owned();
    const STAGE: &str = "clerk.accountsstage.";
    if let Some(i) = host.find(STAGE) {
        host.replace_range(i..i + STAGE.len(), "accountsstage.");
    }
    if let Some(i) = host.find("clerk.") {
        let len = if host[i..].starts_with("clerk.accounts.") {
            "clerk.accounts.".len()
        } else {
            "clerk.".len()
        };
        host.replace_range(i..i + len, "accounts.");
    }
    format!("https://{host}")
}

/// The session token carrier of a token verified by the browser flow.
pub(crate) const FLOW_CARRIER: TokenCarrier = TokenCarrier::Cookie;
