//! The middleware (top layer): [`ClerkWithAuth`] (lax) and [`ClerkRequireAuth`] (strict), one
//! implementation, [`ClerkAuth`], whose type parameter says which.

use std::fmt;
use std::future::{ready, Future, Ready};
use std::marker::PhantomData;
use std::pin::Pin;
use std::rc::Rc;
use std::sync::Arc;
use std::task::{Context, Poll};

use actix_service::{forward_ready, Service, Transform};
use actix_web::body::EitherBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::header::{self, HeaderMap, HeaderName, HeaderValue};
use actix_web::http::StatusCode;
use actix_web::{HttpMessage, HttpRequest, HttpResponse, ResponseError};
use futures_util::future::LocalBoxFuture;

use crate::auth::{Auth, AuthState, Has};
use crate::authenticate::{authenticate, CacheAnswer, Decision, RequestParts};
use crate::config::ClerkConfig;
use crate::error::{ClerkError, ConfigError, Reason};
use crate::machine::{Accepts, TokenKind};

/// `x-clerk-auth-status`
pub const AUTH_STATUS_HEADER: &str = "x-clerk-auth-status";
/// `x-clerk-auth-reason`
pub const AUTH_REASON_HEADER: &str = "x-clerk-auth-reason";
/// `x-clerk-auth-message`
pub const AUTH_MESSAGE_HEADER: &str = "x-clerk-auth-message";

type ErrorHook = Arc<dyn Fn(ClerkError, &HttpRequest) -> HttpResponse + Send + Sync>;

mod sealed {
    pub trait Sealed {}
}

/// Whether a [`ClerkAuth`] lets signed-out requests through ([`Lax`]) or not ([`Strict`]).
pub trait Mode: sealed::Sealed + 'static {
    /// `true` for [`Strict`].
    const STRICT: bool;
}

/// The mode of [`ClerkWithAuth`]: every request reaches the handler.
#[derive(Debug, Clone, Copy)]
pub struct Lax;

/// The mode of [`ClerkRequireAuth`]: signed-out requests never reach the handler.
#[derive(Debug, Clone, Copy)]
pub struct Strict;

impl sealed::Sealed for Lax {}
impl sealed::Sealed for Strict {}
impl Mode for Lax {
    const STRICT: bool = false;
}
impl Mode for Strict {
    const STRICT: bool = true;
}

/// Lax middleware, the counterpart of `ClerkExpressWithAuth`: every request reaches the
/// handler with an [`Auth`] in its extensions, signed in or signed out with Clerk's reason
/// (and, when signed out, `x-clerk-auth-*` headers on the response, also when the handler
/// fails).
///
/// [`on_error`](ClerkAuth::on_error) is handed only key-source outages (no decision possible:
/// JWKS unavailable, `secret-key-invalid`); without a hook such a request continues signed
/// out with that reason, as Clerk's lax middleware does.
///
/// ```no_run
/// use actix_clerk::{Auth, ClerkConfig, ClerkWithAuth};
/// use actix_web::{web, App, HttpServer, Responder};
///
/// async fn feed(auth: Auth) -> impl Responder {
///     match auth.user_id() {
///         Some(user) => format!("feed for {user}"),
///         None => "public feed".to_owned(),
///     }
/// }
///
/// #[actix_web::main]
/// async fn main() -> Result<(), Box<dyn std::error::Error>> {
///     let clerk = ClerkConfig::from_env()?;
///     HttpServer::new(move || {
///         App::new().service(
///             web::scope("/public")
///                 .wrap(ClerkWithAuth::new(clerk.clone()))
///                 .route("/feed", web::get().to(feed)),
///         )
///     })
///     .bind(("127.0.0.1", 3000))?
///     .run()
///     .await?;
///     Ok(())
/// }
/// ```
pub type ClerkWithAuth = ClerkAuth<Lax>;

/// Strict middleware, the counterpart of `ClerkExpressRequireAuth`: a signed-out request
/// never reaches the handler; it becomes a [`ClerkError`] answered by its
/// [`ResponseError`] (see [`ClerkError`] for the exact `401`/`503` answers), by the
/// [`on_error`](ClerkAuth::on_error) hook, or by actix's `ErrorHandlers` (the error stays
/// attached to the response).
///
/// [`on_error`](ClerkAuth::on_error) is handed every rejection:
/// [`ClerkError::Unauthenticated`] (signed out: no token, invalid, expired, …),
/// [`ClerkError::KeysUnavailable`] (no decision possible), and with
/// [`require`](ClerkAuth::require) / [`require_for`](ClerkAuth::require_for)
/// [`ClerkError::Forbidden`], [`ClerkError::ReverificationRequired`] and
/// [`ClerkError::NotFound`]. Answer what you mean to change and hand the rest to its default
/// response, as below: a key outage answered `401` would sign people out, and Clerk's
/// reverification `403` answered otherwise never reaches Clerk's frontend.
///
/// ```no_run
/// use actix_clerk::{Auth, ClerkConfig, ClerkError, ClerkRequireAuth};
/// use actix_web::{web, App, HttpResponse, HttpServer, ResponseError as _};
///
/// async fn me(auth: Auth) -> web::Json<Auth> {
///     web::Json(auth)
/// }
///
/// #[actix_web::main]
/// async fn main() -> Result<(), Box<dyn std::error::Error>> {
///     let clerk = ClerkConfig::from_env()?;
///     HttpServer::new(move || {
///         App::new().service(
///             web::scope("/api")
///                 .wrap(
///                     ClerkRequireAuth::new(clerk.clone()).on_error(|err, _req| match err {
///                         ClerkError::Unauthenticated { .. } => {
///                             HttpResponse::Unauthorized().body("Unauthenticated!")
///                         }
///                         other => other.error_response(),
///                     }),
///                 )
///                 .route("/me", web::get().to(me)),
///         )
///     })
///     .bind(("127.0.0.1", 3000))?
///     .run()
///     .await?;
///     Ok(())
/// }
/// ```
pub type ClerkRequireAuth = ClerkAuth<Strict>;

/// The middleware behind [`ClerkWithAuth`] (`ClerkAuth<Lax>`) and [`ClerkRequireAuth`]
/// (`ClerkAuth<Strict>`); use those names.
#[must_use]
pub struct ClerkAuth<M: Mode> {
    opts: Options,
    mode: PhantomData<M>,
}

#[derive(Clone)]
struct Options {
    config: ClerkConfig,
    auth_headers: bool,
    on_error: Option<ErrorHook>,
    /// The kinds of token accepted (default: session tokens).
    accepts: Accepts,
    /// What a signed-in request must pass (strict only).
    require: Option<Has>,
    /// What a signed-in request of a given method must pass too (strict only).
    require_for: Vec<(actix_web::http::Method, Has)>,
    /// Answer `404` instead of `403` when `require` fails (not for reverification).
    hide_forbidden: bool,
    /// Signed-out page navigations go to the sign-in page (strict only).
    sign_in_redirect: bool,
}

impl<M: Mode> Clone for ClerkAuth<M> {
    fn clone(&self) -> Self {
        ClerkAuth {
            opts: self.opts.clone(),
            mode: PhantomData,
        }
    }
}

impl<M: Mode> fmt::Debug for ClerkAuth<M> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct(if M::STRICT {
            "ClerkRequireAuth"
        } else {
            "ClerkWithAuth"
        })
        .field("config", &self.opts.config)
        .field("auth_headers", &self.opts.auth_headers)
        .field("on_error", &self.opts.on_error.is_some())
        .field("accepts", &self.opts.accepts)
        .field("require", &self.opts.require)
        .field("require_for", &self.opts.require_for)
        .field("hide_forbidden", &self.opts.hide_forbidden)
        .field("sign_in_redirect", &self.opts.sign_in_redirect)
        .finish()
    }
}

impl<M: Mode> ClerkAuth<M> {
    /// The middleware for this configuration. `x-clerk-auth-*` headers are on.
    pub fn new(config: ClerkConfig) -> Self {
        ClerkAuth {
            opts: Options {
                config,
                auth_headers: true,
                on_error: None,
                require: None,
                require_for: Vec::new(),
                hide_forbidden: false,
                sign_in_redirect: false,
                accepts: Accepts::default(),
            },
            mode: PhantomData,
        }
    }

    /// Whether signed-out responses carry `x-clerk-auth-status`, `x-clerk-auth-reason` and
    /// `x-clerk-auth-message` as `@clerk/express` does (default: on).
    pub fn auth_headers(mut self, enabled: bool) -> Self {
        self.opts.auth_headers = enabled;
        self
    }

    /// Which tokens this middleware accepts, as Clerk's `acceptsToken` (default: session
    /// tokens only): one [`TokenKind`](crate::TokenKind), a list, or [`Accepts::Any`]. Machine
    /// tokens come from the `Authorization` header only; opaque ones are verified by Clerk's
    /// Backend API (cached, single-flight and bounded: see the README), JWT forms locally.
    ///
    /// A configuration that cannot verify an accepted kind (no `CLERK_SECRET_KEY`, or for
    /// `m2m_token` no `CLERK_MACHINE_SECRET_KEY` either) is refused here, before any request.
    ///
    /// ```
    /// use actix_clerk::{Accepts, ClerkConfig, ClerkRequireAuth, TokenKind};
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let clerk = ClerkConfig::builder().secret_key("sk_test_example").build()?;
    /// // Sessions and API keys on this route (build it once, outside the server factory).
    /// let api = ClerkRequireAuth::new(clerk)
    ///     .accepts(Accepts::List(vec![TokenKind::SessionToken, TokenKind::ApiKey]))?;
    /// # let _ = api;
    /// # Ok(())
    /// # }
    /// ```
    pub fn accepts(mut self, accepts: Accepts) -> Result<Self, ConfigError> {
        self.opts.config.check_accepts(&accepts)?;
        self.opts.accepts = accepts;
        Ok(self)
    }

    /// Answers rejections with the application's own response, the counterpart of Express's
    /// `onError`. What reaches the hook depends on the mode: see [`ClerkWithAuth`] and
    /// [`ClerkRequireAuth`]. The hook gets the [`ClerkError`] (its
    /// [`error_response`](ResponseError::error_response) is the default answer, should the
    /// hook want to start from it).
    ///
    /// The protocol headers are kept: a `401` from the hook without `WWW-Authenticate` gets the
    /// default challenge (`Bearer`, with `error="invalid_token"` when a token was presented,
    /// as RFC 6750 requires), a `503` without `Retry-After` gets the default one; a hook that
    /// sets its own keeps it.
    pub fn on_error<F>(mut self, hook: F) -> Self
    where
        F: Fn(ClerkError, &HttpRequest) -> HttpResponse + Send + Sync + 'static,
    {
        self.opts.on_error = Some(Arc::new(hook));
        self
    }
}

impl ClerkAuth<Strict> {
    /// Lets through only signed-in requests that pass `check` (Clerk's `has()`): signed out →
    /// `401` as always; signed in but failing → [`ClerkError::Forbidden`] (`403`), or
    /// [`ClerkError::ReverificationRequired`] (`403` with Clerk's reverification body) when
    /// only the reverification part fails. Both go through [`on_error`](ClerkAuth::on_error)
    /// and actix's `ErrorHandlers` like every rejection (see [`ClerkRequireAuth`] for a hook
    /// that keeps their default answers).
    ///
    /// ```no_run
    /// use actix_clerk::{ClerkConfig, ClerkRequireAuth, Has, Reverification};
    /// use actix_web::{web, App};
    ///
    /// # fn app(clerk: ClerkConfig) {
    /// let admin = web::scope("/admin")
    ///     .wrap(ClerkRequireAuth::new(clerk.clone()).require(Has::role("org:admin")));
    /// let danger = web::resource("/account/delete").wrap(
    ///     ClerkRequireAuth::new(clerk).require(Has::reverification(Reverification::Strict)),
    /// );
    /// # let _ = App::new().service(admin).service(danger);
    /// # }
    /// ```
    pub fn require(mut self, check: Has) -> Self {
        self.opts.require = Some(check);
        self
    }

    /// Like [`require`](Self::require), for the requests of one method only (in addition to
    /// `require`, if set): per-method requirements on one resource without a
    /// [`protect`](crate::Auth::protect) in each handler. Call it once per method.
    ///
    /// ```no_run
    /// use actix_clerk::{ClerkConfig, ClerkRequireAuth, Has};
    /// use actix_web::http::Method;
    /// use actix_web::{web, App, HttpResponse};
    ///
    /// # fn app(clerk: ClerkConfig) {
    /// // Any signed-in member reads the projects; only an admin deletes one.
    /// let projects = web::resource("/projects/{id}")
    ///     .wrap(ClerkRequireAuth::new(clerk).require_for(Method::DELETE, Has::role("org:admin")))
    ///     .route(web::get().to(HttpResponse::Ok))
    ///     .route(web::delete().to(HttpResponse::NoContent));
    /// # let _ = App::new().service(projects);
    /// # }
    /// ```
    pub fn require_for(mut self, method: actix_web::http::Method, check: Has) -> Self {
        self.opts.require_for.push((method, check));
        self
    }

    /// Sends a signed-out browser page navigation (a `GET` for a document) to the sign-in page
    /// with a `307` instead of answering `401`: the configuration's
    /// [`sign_in_url`](crate::ClerkConfigBuilder::sign_in_url), else the instance's Account
    /// Portal (`https://accounts.<domain>/sign-in`), with Clerk's `redirect_url` parameter
    /// naming the page. API requests (`fetch`, non-`GET`, no `text/html`) keep the `401`.
    ///
    /// ```no_run
    /// use actix_clerk::{ClerkConfig, ClerkRequireAuth};
    /// use actix_web::{web, App};
    ///
    /// # fn app(clerk: ClerkConfig) {
    /// let pages = web::scope("/account").wrap(ClerkRequireAuth::new(clerk).redirect_to_sign_in());
    /// # let _ = App::new().service(pages);
    /// # }
    /// ```
    pub fn redirect_to_sign_in(mut self) -> Self {
        self.opts.sign_in_redirect = true;
        self
    }

    /// With [`require`](Self::require): answer a failed check with `404`
    /// ([`ClerkError::NotFound`]) instead of `403`, hiding the route as Clerk's
    /// `auth.protect()` does in Next.js. A check that fails only for reverification still
    /// answers Clerk's reverification `403`, so that the user can be asked to verify again.
    pub fn not_found_when_forbidden(mut self) -> Self {
        self.opts.hide_forbidden = true;
        self
    }
}

/// Reads the [`Auth`] that [`ClerkWithAuth`] or [`ClerkRequireAuth`] put in a request, from
/// middleware, guards or handlers of the application's own (`HttpRequest`, `ServiceRequest`,
/// anything with actix's request extensions).
///
/// ```
/// use actix_clerk::ClerkRequestExt as _;
/// use actix_web::guard::GuardContext;
///
/// // A guard that routes signed-in requests elsewhere (a guard's "no" is a 404: use
/// // ClerkRequireAuth::require for a 403).
/// fn signed_in(ctx: &GuardContext<'_>) -> bool {
///     ctx.req_data().get::<actix_clerk::Auth>().is_some_and(|a| a.is_signed_in())
/// }
///
/// async fn handler(req: actix_web::HttpRequest) -> String {
///     match req.clerk_auth() {
///         Some(auth) => format!("signed in: {}", auth.is_signed_in()),
///         None => "no Clerk middleware on this route".into(),
///     }
/// }
/// # let _ = (signed_in, handler);
/// ```
pub trait ClerkRequestExt {
    /// The request's [`Auth`], if a Clerk middleware has run on it.
    fn clerk_auth(&self) -> Option<Auth>;
}

impl<T: HttpMessage> ClerkRequestExt for T {
    fn clerk_auth(&self) -> Option<Auth> {
        self.extensions().get::<Auth>().cloned()
    }
}

/// Encodes a message as `Headers#set` would accept it (Latin-1), or gives up.
fn header_value(text: &str) -> Option<HeaderValue> {
    if text.chars().any(|c| u32::from(c) > 0xFF) {
        return None;
    }
    let bytes: Vec<u8> = text.chars().map(|c| c as u8).collect();
    HeaderValue::from_bytes(&bytes).ok()
}

fn add_auth_headers(headers: &mut HeaderMap, decision: &Decision) {
    let auth = &decision.auth;
    // A pending session is "signed in" for Clerk's request state: no headers.
    let AuthState::SignedOut(s) = auth.state() else {
        return;
    };
    let status = match &decision.browser {
        Some(b) if b.handshake => "handshake",
        _ => "signed-out",
    };
    if s.reason == Reason::SessionPending {
        return;
    }
    if let Some(v) = header_value(&s.message).filter(|_| !s.message.is_empty()) {
        headers.insert(HeaderName::from_static(AUTH_MESSAGE_HEADER), v);
    }
    headers.insert(
        HeaderName::from_static(AUTH_REASON_HEADER),
        HeaderValue::from_static(s.reason.as_str()),
    );
    headers.insert(
        HeaderName::from_static(AUTH_STATUS_HEADER),
        HeaderValue::from_static(status),
    );
}

/// The browser flow's headers on a response: `Set-Cookie` lines appended, the others set.
fn add_browser_headers(headers: &mut HeaderMap, decision: &Decision) {
    let Some(b) = &decision.browser else {
        return;
    };
    for (name, value) in &b.headers {
        if name == header::SET_COOKIE {
            headers.append(name.clone(), value.clone());
        } else {
            headers.insert(name.clone(), value.clone());
        }
    }
}

/// Every header the decision puts on a response.
fn add_decision_headers(headers: &mut HeaderMap, opts: &Options, decision: &Decision) {
    add_browser_headers(headers, decision);
    if opts.auth_headers {
        add_auth_headers(headers, decision);
    }
}

/// The error a signed-in request fails the route's check with, if it does.
fn check_requirement(
    opts: &Options,
    method: &actix_web::http::Method,
    auth: &Auth,
) -> Option<ClerkError> {
    let for_method = opts
        .require_for
        .iter()
        .filter(|(m, _)| m == method)
        .map(|(_, c)| c);
    for check in opts.require.iter().chain(for_method) {
        match auth.protect(check) {
            Ok(()) => {}
            Err(ClerkError::Forbidden) if opts.hide_forbidden => return Some(ClerkError::NotFound),
            Err(e) => return Some(e),
        }
    }
    None
}

/// Whether a signed-in request passes the route's checks (the fast path's test).
fn requirement_met(opts: &Options, method: &actix_web::http::Method, auth: &Auth) -> bool {
    opts.require.as_ref().is_none_or(|check| auth.has(check))
        && opts
            .require_for
            .iter()
            .all(|(m, check)| m != method || auth.has(check))
}

fn to_error(decision: &Decision) -> Option<ClerkError> {
    decision
        .auth
        .reason()
        .map(|_| decision.auth.unauthenticated_error())
}

fn log_decision(decision: &Decision) {
    match decision.auth.reason() {
        None => {
            tracing::debug!(status = "signed-in", carrier = ?decision.auth.token_carrier(), "clerk: request authenticated")
        }
        Some(reason) => tracing::debug!(
            status = "signed-out",
            reason = reason.as_str(),
            "clerk: request not authenticated"
        ),
    }
    #[cfg(feature = "metrics")]
    crate::metrics::decision(decision.auth.reason());
}

/// What the authenticator reads of a request.
fn request_parts<'r>(
    opts: &'r Options,
    req: &'r ServiceRequest,
    header_cache_missed: bool,
) -> RequestParts<'r> {
    let app = req.app_config();
    RequestParts {
        accepts: &opts.accepts,
        is_get: req.method() == actix_web::http::Method::GET,
        header_cache_missed,
        query: req.query_string(),
        headers: req.headers(),
        scheme: if app.secure() { "https" } else { "http" },
        default_host: app.host(),
        path_and_query: req.uri().path_and_query().map_or("/", |p| p.as_str()),
    }
}

async fn decide(opts: &Options, req: &ServiceRequest, header_cache_missed: bool) -> Decision {
    let parts = request_parts(opts, req, header_cache_missed);
    authenticate(opts.config.authenticator(), &parts).await
}

/// Where a strict middleware sends a signed-out page navigation, when it does.
fn sign_in_redirect(opts: &Options, req: &ServiceRequest, decision: &Decision) -> Option<String> {
    if !opts.sign_in_redirect || decision.auth.is_signed_in() {
        return None;
    }
    if decision
        .auth
        .reason()
        .is_some_and(Reason::is_key_source_outage)
    {
        return None;
    }
    let parts = request_parts(opts, req, false);
    crate::browser::sign_in_location(opts.config.authenticator(), &parts)
}

/// The hook's response, with the protocol headers of the default one where it has none.
fn hook_response(hook: &ErrorHook, err: ClerkError, req: &HttpRequest) -> HttpResponse {
    let default = err.error_response();
    // RFC 6750's challenge for a 401 the hook makes of any error: `invalid_token` only when a
    // presented token was refused (an outage or a failed check judged no token bad).
    let challenge = match &err {
        ClerkError::Unauthenticated {
            token_presented: true,
            ..
        } => "Bearer error=\"invalid_token\"",
        _ => "Bearer",
    };
    let mut res = hook(err, req);
    match res.status() {
        StatusCode::UNAUTHORIZED if !res.headers().contains_key(header::WWW_AUTHENTICATE) => {
            res.headers_mut().insert(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static(challenge),
            );
        }
        StatusCode::SERVICE_UNAVAILABLE if !res.headers().contains_key(header::RETRY_AFTER) => {
            if let Some(v) = default.headers().get(header::RETRY_AFTER) {
                res.headers_mut().insert(header::RETRY_AFTER, v.clone());
            }
        }
        _ => {}
    }
    res
}

/// Copies what the crate puts on an answer — `WWW-Authenticate`, `Retry-After`, the
/// `x-clerk-auth-*` headers and the browser flow's `Set-Cookie` lines — from `from` to `to`
/// where `to` has none of its own: for an actix `ErrorHandlers` handler that builds a fresh
/// response (actix hands it the old one and keeps nothing of it).
///
/// ```
/// use actix_web::dev::ServiceResponse;
/// use actix_web::middleware::ErrorHandlerResponse;
/// use actix_web::HttpResponse;
///
/// fn problem_json<B>(res: ServiceResponse<B>) -> actix_web::Result<ErrorHandlerResponse<B>> {
///     let mut fresh = HttpResponse::Unauthorized()
///         .content_type("application/problem+json")
///         .body(r#"{"title":"Unauthorized","status":401}"#);
///     actix_clerk::keep_clerk_headers(res.headers(), fresh.headers_mut());
///     let (req, _) = res.into_parts();
///     Ok(ErrorHandlerResponse::Response(
///         ServiceResponse::new(req, fresh).map_into_right_body(),
///     ))
/// }
/// # let _ = problem_json::<actix_web::body::BoxBody>;
/// ```
pub fn keep_clerk_headers(from: &HeaderMap, to: &mut HeaderMap) {
    for name in [
        header::WWW_AUTHENTICATE,
        header::RETRY_AFTER,
        HeaderName::from_static(AUTH_STATUS_HEADER),
        HeaderName::from_static(AUTH_REASON_HEADER),
        HeaderName::from_static(AUTH_MESSAGE_HEADER),
        header::SET_COOKIE,
    ] {
        if to.contains_key(&name) {
            continue;
        }
        for v in from.get_all(&name) {
            to.append(name.clone(), v.clone());
        }
    }
}

impl<S, B, M> Transform<S, ServiceRequest> for ClerkAuth<M>
where
    S: Service<ServiceRequest, Response = ServiceResponse<B>, Error = actix_web::Error> + 'static,
    B: 'static,
    M: Mode,
{
    type Response = ServiceResponse<EitherBody<B>>;
    type Error = actix_web::Error;
    type Transform = ClerkAuthMiddleware<S>;
    type InitError = ();
    type Future = Ready<Result<Self::Transform, Self::InitError>>;

    fn new_transform(&self, service: S) -> Self::Future {
        // Decisions are reused only under the same configuration and accepted kinds
        // (configurations are hundreds of bytes apart; the accepted-kinds key is below 64).
        let id = self.opts.config.id() + self.opts.accepts.key();
        ready(Ok(ClerkAuthMiddleware {
            service: Rc::new(service),
            machines: self.opts.accepts != Accepts::default(),
            sessions: self.opts.accepts.accepts(TokenKind::SessionToken),
            opts: Rc::new(self.opts.clone()),
            strict: M::STRICT,
            id,
        }))
    }
}

/// The service [`ClerkAuth`] wraps around the application's (not used directly).
#[doc(hidden)]
pub struct ClerkAuthMiddleware<S> {
    service: Rc<S>,
    opts: Rc<Options>,
    strict: bool,
    /// Which configuration and accepted kinds decided (see `call`), computed once.
    id: usize,
    /// Whether machine tokens are accepted (their cached answers are looked up first).
    machines: bool,
    /// Whether session tokens are accepted.
    sessions: bool,
}

impl<S> fmt::Debug for ClerkAuthMiddleware<S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ClerkAuthMiddleware")
            .field("strict", &self.strict)
            .finish_non_exhaustive()
    }
}

/// The answer once the request is decided (the signed-in case goes without it: see
/// [`ClerkAuthMiddleware::call`]).
async fn finish<S, B>(
    service: Rc<S>,
    opts: Rc<Options>,
    strict: bool,
    req: ServiceRequest,
    decision: Decision,
) -> Result<ServiceResponse<EitherBody<B>>, actix_web::Error>
where
    S: Service<ServiceRequest, Response = ServiceResponse<B>, Error = actix_web::Error> + 'static,
    B: 'static,
{
    if decision.browser.as_ref().is_some_and(|b| b.redirects()) {
        // Clerk's middleware answers the handshake (or a sync redirect) itself.
        let mut res = HttpResponse::TemporaryRedirect().finish();
        add_decision_headers(res.headers_mut(), &opts, &decision);
        return Ok(req.into_response(res).map_into_right_body());
    }
    if let Some(location) = sign_in_redirect(&opts, &req, &decision) {
        let mut res = HttpResponse::TemporaryRedirect()
            .insert_header((header::LOCATION, location))
            .insert_header((header::CACHE_CONTROL, "no-store"))
            .finish();
        add_decision_headers(res.headers_mut(), &opts, &decision);
        return Ok(req.into_response(res).map_into_right_body());
    }
    let error =
        to_error(&decision).or_else(|| check_requirement(&opts, req.method(), &decision.auth));
    let reject = match &error {
        Some(ClerkError::KeysUnavailable { .. }) => strict || opts.on_error.is_some(),
        Some(_) => strict,
        None => false,
    };
    if let (true, Some(err)) = (reject, error) {
        let (http_req, _payload) = req.into_parts();
        let mut res = match &opts.on_error {
            Some(hook) => {
                let response = hook_response(hook, err, &http_req);
                ServiceResponse::new(http_req, response)
            }
            None => ServiceResponse::from_err(err, http_req),
        };
        add_decision_headers(res.headers_mut(), &opts, &decision);
        return Ok(res.map_into_right_body());
    }
    req.extensions_mut().insert(decision.auth.clone());
    // A handler's `Err` comes back as a response (with the error attached); an `Err` here is
    // an inner middleware's. Either way the answer carries the decision's headers.
    let mut res = match service.call(req).await {
        Ok(res) => res,
        Err(e) => {
            let mut headers = HeaderMap::new();
            add_decision_headers(&mut headers, &opts, &decision);
            if headers.is_empty() {
                return Err(e);
            }
            return Err(WithAuthHeaders { inner: e, headers }.into());
        }
    };
    add_decision_headers(res.headers_mut(), &opts, &decision);
    Ok(res.map_into_left_body())
}

/// An inner service's error on a signed-out request: answered as that error is, plus the
/// `x-clerk-auth-*` headers.
struct WithAuthHeaders {
    inner: actix_web::Error,
    headers: HeaderMap,
}

impl fmt::Debug for WithAuthHeaders {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&self.inner, f)
    }
}

impl fmt::Display for WithAuthHeaders {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&self.inner, f)
    }
}

impl ResponseError for WithAuthHeaders {
    fn status_code(&self) -> StatusCode {
        self.inner.as_response_error().status_code()
    }

    fn error_response(&self) -> HttpResponse {
        let mut res = self.inner.error_response();
        for (name, value) in &self.headers {
            if name == header::SET_COOKIE {
                res.headers_mut().append(name.clone(), value.clone());
            } else {
                res.headers_mut().insert(name.clone(), value.clone());
            }
        }
        res
    }
}

pin_project_lite::pin_project! {
    /// The future of [`ClerkAuthMiddleware`] (not used directly).
    #[doc(hidden)]
    #[project = ClerkFutureProj]
    pub enum ClerkFuture<F, B> {
        /// Signed in from the token cache: the application's own future, nothing boxed.
        Passed { #[pin] fut: F },
        /// Everything else.
        Decided { fut: LocalBoxFuture<'static, Result<ServiceResponse<EitherBody<B>>, actix_web::Error>> },
    }
}

impl<F, B> fmt::Debug for ClerkFuture<F, B> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            ClerkFuture::Passed { .. } => "ClerkFuture::Passed",
            ClerkFuture::Decided { .. } => "ClerkFuture::Decided",
        })
    }
}

impl<F, B> Future for ClerkFuture<F, B>
where
    F: Future<Output = Result<ServiceResponse<B>, actix_web::Error>>,
{
    type Output = Result<ServiceResponse<EitherBody<B>>, actix_web::Error>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        match self.project() {
            ClerkFutureProj::Passed { fut } => fut
                .poll(cx)
                .map(|r| r.map(ServiceResponse::map_into_left_body)),
            ClerkFutureProj::Decided { fut } => fut.as_mut().poll(cx),
        }
    }
}

impl<S, B> Service<ServiceRequest> for ClerkAuthMiddleware<S>
where
    S: Service<ServiceRequest, Response = ServiceResponse<B>, Error = actix_web::Error> + 'static,
    B: 'static,
{
    type Response = ServiceResponse<EitherBody<B>>;
    type Error = actix_web::Error;
    type Future = ClerkFuture<S::Future, B>;

    forward_ready!(service);

    fn call(&self, req: ServiceRequest) -> Self::Future {
        let service = Rc::clone(&self.service);
        let opts = Rc::clone(&self.opts);
        let strict = self.strict;
        let is_get = req.method() == actix_web::http::Method::GET;
        let id = self.id;
        // An outer middleware of the same configuration decided already: one authentication
        // per request.
        let earlier = req
            .extensions()
            .get::<Auth>()
            .filter(|a| a.decided_by() == id)
            .cloned();
        if let Some(auth) = earlier {
            return decided(service, opts, strict, req, Decision::new(auth));
        }
        // The common request: a token the cache holds, signed in. Decided without waiting,
        // and the application's future is returned as it is.
        // Machine tokens whose Backend API answer is cached are decided without waiting too.
        if self.machines {
            if let CacheAnswer::Decided(mut decision) = opts
                .config
                .authenticator()
                .decide_cached_opaque(req.headers(), &opts.accepts)
            {
                log_decision(&decision);
                decision.auth.set_decided_by(id);
                return decided(service, opts, strict, req, decision);
            }
        }
        let answer = if self.sessions {
            opts.config
                .authenticator()
                .decide_cached(req.headers(), is_get)
        } else {
            CacheAnswer::NotLookedUp
        };
        let header_cache_missed = match answer {
            CacheAnswer::Decided(mut decision) => {
                log_decision(&decision);
                decision.auth.set_decided_by(id);
                return decided(service, opts, strict, req, decision);
            }
            CacheAnswer::Missed => true,
            CacheAnswer::NotLookedUp => false,
        };
        ClerkFuture::Decided {
            fut: Box::pin(async move {
                let mut decision = decide(&opts, &req, header_cache_missed).await;
                log_decision(&decision);
                decision.auth.set_decided_by(id);
                finish(service, opts, strict, req, decision).await
            }),
        }
    }
}

/// A request decided without waiting (from the token cache): signed in, the application's own
/// future, nothing boxed; otherwise the answer is made as for any decision.
fn decided<S, B>(
    service: Rc<S>,
    opts: Rc<Options>,
    strict: bool,
    req: ServiceRequest,
    decision: Decision,
) -> ClerkFuture<S::Future, B>
where
    S: Service<ServiceRequest, Response = ServiceResponse<B>, Error = actix_web::Error> + 'static,
    B: 'static,
{
    let unconditional = opts.require.is_none() && opts.require_for.is_empty();
    if decision.auth.is_signed_in()
        && (unconditional || requirement_met(&opts, req.method(), &decision.auth))
    {
        req.extensions_mut().insert(decision.auth);
        return ClerkFuture::Passed {
            fut: service.call(req),
        };
    }
    ClerkFuture::Decided {
        fut: Box::pin(finish(service, opts, strict, req, decision)),
    }
}
