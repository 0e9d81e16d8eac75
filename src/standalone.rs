//! Clerk's standalone calls (beside the middlewares, above the authenticator): `verifyToken`
//! and `authenticateRequest` for code that is not behind a middleware — a WebSocket upgrade
//! whose token comes in the query string or the first message, a background job handed a
//! token, a gRPC service reading its metadata.
//!
//! They decide exactly as the middlewares do (the same authenticator, reasons, messages, the
//! same verified-token and machine-token caches of the [`ClerkConfig`] they are called on), but
//! without the browser flow: a standalone call has no response to put a `307` or `Set-Cookie`
//! lines on, so a page navigation is decided as an API request.

use actix_web::http::header::{HeaderMap, HeaderName, HeaderValue};
use actix_web::http::{Method, Uri};
use actix_web::HttpRequest;

use crate::auth::Auth;
use crate::authenticate::{
    authenticate_api, authenticate_header, machine_dispatch, CacheAnswer, RequestParts,
};
use crate::config::ClerkConfig;
use crate::error::{ClerkError, ConfigError};
use crate::extract::Authenticated;
use crate::machine::{Accepts, TokenKind};

/// Clerk's standalone calls for the token kinds chosen with [`ClerkConfig::accepting`]
/// (Clerk's `acceptsToken`): API keys, M2M and OAuth tokens beside (or instead of) session
/// tokens. [`ClerkConfig`]'s own [`verify_token`](ClerkConfig::verify_token),
/// [`authenticate_request`](ClerkConfig::authenticate_request) and
/// [`authenticate_headers`](ClerkConfig::authenticate_headers) accept session tokens only.
///
/// Machine tokens are dispatched as by a middleware with the same
/// [`accepts`](crate::ClerkAuth::accepts) (contract of Clerk's SDK): a token of a kind not
/// accepted is `token-type-mismatch` with no network call; opaque tokens (`ak_…`, `mt_…`,
/// `oat_…`) are verified by Clerk's Backend API through the configuration's machine-token
/// cache, single-flight and bounds; JWT forms locally.
///
/// Cheap to clone (a [`ClerkConfig`] and the accepted kinds): build it once, beside the
/// configuration.
///
/// # Runtimes
///
/// The futures of [`verify_token`](Self::verify_token) and
/// [`authenticate_headers`](Self::authenticate_headers) (and of the same calls on
/// [`ClerkConfig`]) are `Send`: a service on a multi-threaded runtime (tonic's gRPC services,
/// a job spawned with `tokio::spawn`) awaits them directly; the Backend API calls they may make
/// go through one HTTP client for the process. [`authenticate_request`](Self::authenticate_request)
/// borrows actix's `HttpRequest`, which stays on its worker: await it in the handler.
///
/// # Example
///
/// ```
/// use actix_clerk::testing::TestBackendApi;
/// use actix_clerk::testing::TestInstance;
/// use actix_clerk::{Accepts, Reason, TokenKind};
///
/// # fn main() -> Result<(), Box<dyn std::error::Error>> {
/// # actix_web::rt::System::new().block_on(async {
/// let instance = TestInstance::new();
/// let backend = TestBackendApi::start(&instance); // Clerk's Backend API, locally
/// let clerk = backend.config().build()?;
/// let machines = clerk.accepting(Accepts::List(vec![TokenKind::SessionToken, TokenKind::ApiKey]))?;
///
/// let key = backend.api_key("user_1").issue();
/// let auth = machines.verify_token(&key).await?;
/// assert_eq!(auth.token_kind(), Some(TokenKind::ApiKey));
/// assert_eq!(auth.user_id(), Some("user_1"));
///
/// // An M2M token is not among the accepted kinds: refused without a call to Clerk.
/// let m2m = backend.m2m_token("mch_1").issue();
/// let err = machines.verify_token(&m2m).await.unwrap_err();
/// assert_eq!(err.reason(), Some(Reason::TokenTypeMismatch));
/// # Ok::<_, Box<dyn std::error::Error>>(())
/// # })
/// # }
/// ```
#[derive(Debug, Clone)]
pub struct ClerkVerifier {
    config: ClerkConfig,
    accepts: Accepts,
}

impl ClerkConfig {
    /// Clerk's `verifyToken`: a session token handed over as a string (a WebSocket's query
    /// parameter or first message, a job's input), verified as the middlewares verify an
    /// `Authorization: Bearer <token>` header — the same checks in the same order, the same
    /// reasons and messages, and the same verified-token cache (a token verified before, here
    /// or by a middleware on this configuration, costs a lookup and a clock check).
    ///
    /// `Ok` with the signed-in [`Auth`]; otherwise the [`ClerkError`] the strict middleware
    /// would answer with: [`ClerkError::Unauthenticated`] with Clerk's reason and message
    /// (an expired token is reported as on a `GET`:
    /// `session-token-expired-refresh-non-eligible-no-refresh-cookie`, message
    /// `JWT is expired…`), or [`ClerkError::KeysUnavailable`] when the instance's keys cannot
    /// be fetched (not the token's fault: answer `503`, not `401`). Its
    /// [`ResponseError`](actix_web::ResponseError) answer is the strict middleware's.
    ///
    /// The token is taken as it is (no `Bearer ` prefix, no trimming). Machine tokens: see
    /// [`accepting`](Self::accepting).
    ///
    /// Call it on the actix runtime (a handler, `#[actix_web::main]`, `actix_web::rt::System`)
    /// or a current-thread tokio runtime: the future is not `Send`, because the HTTP client
    /// that fetches the instance's keys lives per thread, as in the middlewares. From a
    /// multi-threaded runtime (a tonic gRPC service): see [`ClerkVerifier`]'s
    /// [Runtimes](ClerkVerifier#runtimes).
    ///
    /// ```
    /// use actix_clerk::testing::TestInstance;
    /// use actix_clerk::{ClerkError, Reason};
    ///
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// # actix_web::rt::System::new().block_on(async {
    /// let instance = TestInstance::new();
    /// let clerk = instance.config().build()?;
    ///
    /// let token = instance.session_token("user_1").sign();
    /// let auth = clerk.verify_token(&token).await?;
    /// assert_eq!(auth.user_id(), Some("user_1"));
    ///
    /// let expired = instance.session_token("user_1").expired().sign();
    /// match clerk.verify_token(&expired).await {
    ///     Err(ClerkError::Unauthenticated { reason, message, .. }) => {
    ///         assert_eq!(reason, Reason::SessionTokenExpiredNoRefreshCookie);
    ///         assert!(message.starts_with("JWT is expired"));
    ///     }
    ///     other => panic!("{other:?}"),
    /// }
    /// # Ok::<_, Box<dyn std::error::Error>>(())
    /// # })
    /// # }
    /// ```
    pub async fn verify_token(&self, token: &str) -> Result<Auth, ClerkError> {
        verify(self, &Accepts::default(), token).await
    }

    /// Clerk's `authenticateRequest` outside a middleware: the decision the lax middleware
    /// ([`ClerkWithAuth`](crate::ClerkWithAuth)) makes for this request — the `Authorization`
    /// header, else the `__session`/`__client_uat` cookies by Clerk's rules (suffixed or
    /// plain cookies, development instances' dev-browser token, satellites, the handshake's
    /// return) — with the same caches, returned as an [`Auth`]: signed in, or signed out with
    /// Clerk's reason and message (a key-source outage included: see
    /// [`Authenticated::try_from`] for the strict middleware's error).
    ///
    /// **Page navigations are decided as API requests**: where the middleware would answer a
    /// browser's page load itself (a `307` to Clerk's handshake or to the primary domain) or
    /// add `Set-Cookie` lines (a server-side refresh of an expired session), a standalone call,
    /// having no response to put them on, returns signed out with the reason (an expired
    /// token: `session-token-expired-refresh-non-eligible-no-refresh-cookie`, with no refresh
    /// attempted; organisation sync does not apply). Wrap the route in a middleware when the
    /// browser flow is wanted. Session tokens only; machine tokens: see
    /// [`accepting`](Self::accepting).
    ///
    /// A request that a Clerk middleware of this configuration (and the same accepted kinds)
    /// already decided gets that middleware's decision, without deciding again.
    ///
    /// Runtime: as for [`verify_token`](Self::verify_token) (a handler's future is fine).
    ///
    /// ```
    /// use actix_clerk::testing::{TestInstance, TestRequestExt as _};
    /// use actix_clerk::Reason;
    /// use actix_web::test::TestRequest;
    ///
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// # actix_web::rt::System::new().block_on(async {
    /// let instance = TestInstance::new();
    /// let clerk = instance.config().build()?;
    /// let token = instance.session_token("user_1").sign();
    ///
    /// // A browser's request: the session cookies.
    /// let req = TestRequest::get().session_cookies(&instance, &token).to_http_request();
    /// assert_eq!(clerk.authenticate_request(&req).await.user_id(), Some("user_1"));
    ///
    /// // No token at all: signed out with Clerk's reason.
    /// let req = TestRequest::get().to_http_request();
    /// let auth = clerk.authenticate_request(&req).await;
    /// assert_eq!(auth.reason(), Some(Reason::SessionTokenAndUatMissing));
    /// # Ok::<_, Box<dyn std::error::Error>>(())
    /// # })
    /// # }
    /// ```
    pub async fn authenticate_request(&self, req: &HttpRequest) -> Auth {
        decide_request(self, &Accepts::default(), req).await
    }

    /// [`authenticate_request`](Self::authenticate_request) for callers outside actix-web (a
    /// gRPC service, a job holding a request's headers): the request's method (`"GET"`,
    /// `"POST"`, …), its target (`/path?query`, or an absolute `https://host/path?query`,
    /// whose scheme and host stand for the connection's), and its header lines as
    /// `(name, value)` pairs of any `http` version's `HeaderMap` (`&map` iterates as such),
    /// or of strings. Lines that are not valid HTTP header lines are left out; a target that
    /// does not parse counts as `/`.
    ///
    /// ```
    /// use actix_clerk::testing::TestInstance;
    ///
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// # actix_web::rt::System::new().block_on(async {
    /// let instance = TestInstance::new();
    /// let clerk = instance.config().build()?;
    /// let token = instance.session_token("user_1").sign();
    ///
    /// let headers = [("authorization", format!("Bearer {token}"))];
    /// let auth = clerk.authenticate_headers("POST", "/grpc.Users/Get", headers).await;
    /// assert_eq!(auth.user_id(), Some("user_1"));
    /// # Ok::<_, Box<dyn std::error::Error>>(())
    /// # })
    /// # }
    /// ```
    pub async fn authenticate_headers<I, N, V>(&self, method: &str, uri: &str, headers: I) -> Auth
    where
        I: IntoIterator<Item = (N, V)>,
        N: AsRef<[u8]>,
        V: AsRef<[u8]>,
    {
        decide_parts(self, &Accepts::default(), method, uri, header_map(headers)).await
    }

    /// The standalone calls accepting `accepts` (Clerk's `acceptsToken`: one
    /// [`TokenKind`], a list, or [`Accepts::Any`]). As for a middleware's
    /// [`accepts`](crate::ClerkAuth::accepts), a configuration that cannot verify an accepted
    /// kind (no `CLERK_SECRET_KEY`, or for `m2m_token` no `CLERK_MACHINE_SECRET_KEY` either)
    /// is refused here, once, rather than on every token.
    ///
    /// ```
    /// use actix_clerk::{Accepts, ClerkConfig, ConfigError, TokenKind};
    ///
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// # let pem = include_str!("../tests/fixtures/doc_key.pem");
    /// // A PEM key alone verifies session tokens, not API keys (the Backend API needs the
    /// // secret key).
    /// let clerk = ClerkConfig::builder().jwt_key(pem).build()?;
    /// let refused = clerk.accepting(Accepts::Kind(TokenKind::ApiKey));
    /// assert!(matches!(refused, Err(ConfigError::CannotVerify(TokenKind::ApiKey))));
    ///
    /// let clerk = ClerkConfig::builder().jwt_key(pem).secret_key("sk_test_example").build()?;
    /// let machines = clerk.accepting(Accepts::Any)?;
    /// # let _ = machines;
    /// # Ok(())
    /// # }
    /// ```
    pub fn accepting(&self, accepts: Accepts) -> Result<ClerkVerifier, ConfigError> {
        self.check_accepts(&accepts)?;
        Ok(ClerkVerifier {
            config: self.clone(),
            accepts,
        })
    }
}

impl ClerkVerifier {
    /// The accepted kinds.
    pub fn accepts(&self) -> &Accepts {
        &self.accepts
    }

    /// [`ClerkConfig::verify_token`] for the accepted kinds: a token of an accepted kind,
    /// signed in → `Ok`; otherwise the strict middleware's [`ClerkError`]
    /// ([`ClerkError::KeysUnavailable`] also when Clerk's Backend API cannot verify an opaque
    /// token).
    ///
    /// ```
    /// use actix_clerk::testing::{TestBackendApi, TestInstance};
    /// use actix_clerk::{Accepts, TokenKind};
    ///
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// # actix_web::rt::System::new().block_on(async {
    /// let instance = TestInstance::new();
    /// let backend = TestBackendApi::start(&instance);
    /// let clerk = backend.config().build()?;
    /// let m2m = clerk.accepting(Accepts::Kind(TokenKind::M2mToken))?;
    ///
    /// let token = backend.m2m_token("mch_worker").issue();
    /// assert_eq!(m2m.verify_token(&token).await?.machine_id(), Some("mch_worker"));
    ///
    /// let session = instance.session_token("user_1").sign();
    /// assert!(m2m.verify_token(&session).await.is_err()); // not an M2M token
    /// # Ok::<_, Box<dyn std::error::Error>>(())
    /// # })
    /// # }
    /// ```
    pub async fn verify_token(&self, token: &str) -> Result<Auth, ClerkError> {
        verify(&self.config, &self.accepts, token).await
    }

    /// [`ClerkConfig::authenticate_request`] for the accepted kinds (machine tokens from the
    /// `Authorization` header only, never from cookies, as in Clerk's SDK).
    ///
    /// ```
    /// use actix_clerk::testing::{TestBackendApi, TestInstance, TestRequestExt as _};
    /// use actix_clerk::{Accepts, TokenKind};
    /// use actix_web::test::TestRequest;
    ///
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// # actix_web::rt::System::new().block_on(async {
    /// let instance = TestInstance::new();
    /// let backend = TestBackendApi::start(&instance);
    /// let clerk = backend.config().build()?;
    /// let any = clerk.accepting(Accepts::Any)?;
    ///
    /// let key = backend.api_key("org_1").issue();
    /// let req = TestRequest::get().bearer_token(&key).to_http_request();
    /// let auth = any.authenticate_request(&req).await;
    /// assert_eq!((auth.token_kind(), auth.org_id()), (Some(TokenKind::ApiKey), Some("org_1")));
    /// # Ok::<_, Box<dyn std::error::Error>>(())
    /// # })
    /// # }
    /// ```
    pub async fn authenticate_request(&self, req: &HttpRequest) -> Auth {
        decide_request(&self.config, &self.accepts, req).await
    }

    /// [`ClerkConfig::authenticate_headers`] for the accepted kinds.
    ///
    /// ```
    /// use actix_clerk::testing::{TestBackendApi, TestInstance};
    /// use actix_clerk::{Accepts, Reason, TokenKind};
    ///
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// # actix_web::rt::System::new().block_on(async {
    /// let instance = TestInstance::new();
    /// let backend = TestBackendApi::start(&instance);
    /// let clerk = backend.config().build()?;
    /// let keys = clerk.accepting(Accepts::Kind(TokenKind::ApiKey))?;
    ///
    /// let key = backend.api_key("user_1").issue();
    /// let headers = vec![("Authorization".to_owned(), format!("Bearer {key}"))];
    /// let auth = keys.authenticate_headers("POST", "/jobs", headers).await;
    /// assert_eq!(auth.user_id(), Some("user_1"));
    ///
    /// let auth = keys.authenticate_headers("POST", "/jobs", Vec::<(&str, &str)>::new()).await;
    /// assert_eq!(auth.reason(), Some(Reason::NoTokenInHeader));
    /// # Ok::<_, Box<dyn std::error::Error>>(())
    /// # })
    /// # }
    /// ```
    pub async fn authenticate_headers<I, N, V>(&self, method: &str, uri: &str, headers: I) -> Auth
    where
        I: IntoIterator<Item = (N, V)>,
        N: AsRef<[u8]>,
        V: AsRef<[u8]>,
    {
        decide_parts(
            &self.config,
            &self.accepts,
            method,
            uri,
            header_map(headers),
        )
        .await
    }
}

/// The strict middleware's outcome of an [`Auth`] from a standalone call: the signed-in
/// [`Authenticated`], or the [`ClerkError`] the strict middleware answers a signed-out request
/// with ([`ClerkError::KeysUnavailable`], a `503`, for a key-source outage;
/// [`ClerkError::Unauthenticated`], a `401`, otherwise).
///
/// ```
/// use actix_clerk::testing::TestInstance;
/// use actix_clerk::{Authenticated, ClerkConfig, ClerkError};
/// use actix_web::HttpRequest;
///
/// async fn me(req: HttpRequest, clerk: ClerkConfig) -> Result<String, ClerkError> {
///     let user = Authenticated::try_from(clerk.authenticate_request(&req).await)?;
///     Ok(user.user_id().unwrap_or_default().to_owned())
/// }
///
/// # fn main() -> Result<(), Box<dyn std::error::Error>> {
/// # actix_web::rt::System::new().block_on(async {
/// let clerk = TestInstance::new().config().build()?;
/// let signed_out = actix_web::test::TestRequest::get().to_http_request();
/// assert!(matches!(me(signed_out, clerk).await, Err(ClerkError::Unauthenticated { .. })));
/// # Ok::<_, Box<dyn std::error::Error>>(())
/// # })
/// # }
/// ```
impl TryFrom<Auth> for Authenticated {
    type Error = ClerkError;

    fn try_from(auth: Auth) -> Result<Authenticated, ClerkError> {
        match auth.reason() {
            None => Ok(Authenticated(auth)),
            Some(_) => Err(auth.unauthenticated_error()),
        }
    }
}

/// The strict outcome of a token given as a string.
async fn verify(config: &ClerkConfig, accepts: &Accepts, token: &str) -> Result<Auth, ClerkError> {
    let a = config.authenticator();
    // The header path of a `GET` (a WebSocket upgrade's method), from its cache lookup on.
    let decision = if *accepts == Accepts::default() {
        authenticate_header(a, token, true, false, None).await
    } else {
        let headers = HeaderMap::new();
        let parts = RequestParts {
            is_get: true,
            accepts,
            header_cache_missed: false,
            query: "",
            headers: &headers,
            scheme: "http",
            default_host: "localhost",
            path_and_query: "/",
        };
        match machine_dispatch(a, &parts, Some(token)).await {
            Some(decision) => decision,
            // Not reached with a token (the dispatch decides every token when machine tokens
            // are accepted); the session path is the safe answer.
            None => authenticate_header(a, token, true, false, None).await,
        }
    };
    let auth = logged(decision.auth);
    Authenticated::try_from(auth).map(Authenticated::into_inner)
}

/// A request from actix-web.
async fn decide_request(config: &ClerkConfig, accepts: &Accepts, req: &HttpRequest) -> Auth {
    let earlier = {
        use actix_web::HttpMessage as _;
        let id = config.id() + accepts.key();
        req.extensions()
            .get::<Auth>()
            .filter(|a| a.decided_by() == id)
            .cloned()
    };
    if let Some(auth) = earlier {
        return auth;
    }
    let app = req.app_config();
    let parts = RequestParts {
        is_get: req.method() == Method::GET,
        accepts,
        header_cache_missed: false,
        query: req.query_string(),
        headers: req.headers(),
        scheme: if app.secure() { "https" } else { "http" },
        default_host: app.host(),
        path_and_query: req.uri().path_and_query().map_or("/", |p| p.as_str()),
    };
    decide(config, parts).await
}

/// A request given by its method, target and headers.
async fn decide_parts(
    config: &ClerkConfig,
    accepts: &Accepts,
    method: &str,
    uri: &str,
    headers: HeaderMap,
) -> Auth {
    let uri: Uri = uri.parse().unwrap_or_default();
    let authority = uri.authority().map(|a| a.as_str().to_owned());
    let parts = RequestParts {
        is_get: method == Method::GET.as_str(),
        accepts,
        header_cache_missed: false,
        query: uri.query().unwrap_or_default(),
        headers: &headers,
        scheme: match uri.scheme_str() {
            Some(s) if s.eq_ignore_ascii_case("https") => "https",
            _ => "http",
        },
        default_host: authority.as_deref().unwrap_or("localhost"),
        path_and_query: uri.path_and_query().map_or("/", |p| p.as_str()),
    };
    decide(config, parts).await
}

/// The lax middleware's decision without its browser answers, with its fast paths: an opaque
/// machine token or a session token the caches hold is decided without waiting.
async fn decide(config: &ClerkConfig, mut parts: RequestParts<'_>) -> Auth {
    let a = config.authenticator();
    if *parts.accepts != Accepts::default() {
        if let CacheAnswer::Decided(decision) = a.decide_cached_opaque(parts.headers, parts.accepts)
        {
            return logged(decision.auth);
        }
    }
    if parts.accepts.accepts(TokenKind::SessionToken) {
        match a.decide_cached(parts.headers, parts.is_get) {
            CacheAnswer::Decided(decision) => return logged(decision.auth),
            CacheAnswer::Missed => parts.header_cache_missed = true,
            CacheAnswer::NotLookedUp => {}
        }
    }
    logged(authenticate_api(a, &parts).await.auth)
}

/// Logs (and counts, with the `metrics` feature) a standalone decision as the middlewares do.
fn logged(auth: Auth) -> Auth {
    match auth.reason() {
        None => tracing::debug!(
            status = "signed-in",
            carrier = ?auth.token_carrier(),
            "clerk: standalone call authenticated"
        ),
        Some(reason) => tracing::debug!(
            status = "signed-out",
            reason = reason.as_str(),
            "clerk: standalone call not authenticated"
        ),
    }
    #[cfg(feature = "metrics")]
    crate::metrics::decision(auth.reason());
    auth
}

/// Header lines as actix's `HeaderMap`, leaving out those that are not valid HTTP.
fn header_map<I, N, V>(headers: I) -> HeaderMap
where
    I: IntoIterator<Item = (N, V)>,
    N: AsRef<[u8]>,
    V: AsRef<[u8]>,
{
    let mut map = HeaderMap::new();
    for (name, value) in headers {
        let name = HeaderName::from_bytes(name.as_ref());
        let value = HeaderValue::from_bytes(value.as_ref());
        if let (Ok(name), Ok(value)) = (name, value) {
            map.append(name, value);
        }
    }
    map
}
