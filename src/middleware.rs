//! The two middlewares: [`ClerkWithAuth`] (lax) and [`ClerkRequireAuth`] (strict).

use std::future::{ready, Ready};
use std::rc::Rc;
use std::sync::Arc;

use actix_service::{forward_ready, Service, Transform};
use actix_web::body::EitherBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::header::{HeaderMap, HeaderName, HeaderValue};
use actix_web::{HttpMessage, HttpRequest, HttpResponse};
use futures_util::future::LocalBoxFuture;

use crate::auth::{Auth, AuthState};
use crate::authenticate::{authenticate, Decision, RequestParts};
use crate::config::ClerkConfig;
use crate::error::{ClerkError, Reason};

/// `x-clerk-auth-status`
pub const AUTH_STATUS_HEADER: &str = "x-clerk-auth-status";
/// `x-clerk-auth-reason`
pub const AUTH_REASON_HEADER: &str = "x-clerk-auth-reason";
/// `x-clerk-auth-message`
pub const AUTH_MESSAGE_HEADER: &str = "x-clerk-auth-message";

type ErrorHook = Arc<dyn Fn(ClerkError, &HttpRequest) -> HttpResponse + Send + Sync>;

#[derive(Clone)]
struct Options {
    config: ClerkConfig,
    auth_headers: bool,
    on_error: Option<ErrorHook>,
}

/// Lax middleware, the counterpart of `ClerkExpressWithAuth`: every request reaches the
/// handler with an [`Auth`] in its extensions, signed in or signed out with Clerk's reason.
///
/// ```no_run
/// use actix_clerk::{Auth, ClerkConfig, ClerkWithAuth};
/// use actix_web::{web, App, HttpServer, Responder};
///
/// async fn feed(auth: web::ReqData<Auth>) -> impl Responder {
///     match auth.user_id() {
///         Some(user) => format!("feed for {user}"),
///         None => "public feed".to_owned(),
///     }
/// }
///
/// #[actix_web::main]
/// async fn main() -> std::io::Result<()> {
///     let clerk = ClerkConfig::from_env().map_err(std::io::Error::other)?;
///     HttpServer::new(move || {
///         App::new().service(
///             web::scope("/public")
///                 .wrap(ClerkWithAuth::new(clerk.clone()))
///                 .route("/feed", web::get().to(feed)),
///         )
///     })
///     .bind(("127.0.0.1", 3000))?
///     .run()
///     .await
/// }
/// ```
#[derive(Clone)]
#[must_use]
pub struct ClerkWithAuth {
    opts: Options,
}

/// Strict middleware, the counterpart of `ClerkExpressRequireAuth`: a signed-out request
/// never reaches the handler; it becomes a [`ClerkError`] answered by its
/// [`ResponseError`](actix_web::ResponseError) (`401`, or `503` when the keys are
/// unavailable), by the [`on_error`](ClerkRequireAuth::on_error) hook, or by actix's
/// `ErrorHandlers` (the error stays attached to the response).
///
/// ```no_run
/// use actix_clerk::{Auth, ClerkConfig, ClerkRequireAuth};
/// use actix_web::{web, App, HttpResponse, HttpServer};
///
/// async fn me(auth: web::ReqData<Auth>) -> web::Json<Auth> {
///     web::Json(auth.into_inner())
/// }
///
/// #[actix_web::main]
/// async fn main() -> std::io::Result<()> {
///     let clerk = ClerkConfig::from_env().map_err(std::io::Error::other)?;
///     HttpServer::new(move || {
///         App::new().service(
///             web::scope("/api")
///                 .wrap(
///                     ClerkRequireAuth::new(clerk.clone())
///                         .on_error(|_err, _req| HttpResponse::Unauthorized().body("Unauthenticated!")),
///                 )
///                 .route("/me", web::get().to(me)),
///         )
///     })
///     .bind(("127.0.0.1", 3000))?
///     .run()
///     .await
/// }
/// ```
#[derive(Clone)]
#[must_use]
pub struct ClerkRequireAuth {
    opts: Options,
}

macro_rules! shared_setters {
    ($ty:ident) => {
        impl $ty {
            /// The middleware for this configuration. `x-clerk-auth-*` headers are on.
            pub fn new(config: ClerkConfig) -> Self {
                $ty {
                    opts: Options {
                        config,
                        auth_headers: true,
                        on_error: None,
                    },
                }
            }

            /// Whether signed-out responses carry `x-clerk-auth-status`, `x-clerk-auth-reason`
            /// and `x-clerk-auth-message` as `@clerk/express` does (default: on).
            pub fn auth_headers(mut self, enabled: bool) -> Self {
                self.opts.auth_headers = enabled;
                self
            }
        }
    };
}
shared_setters!(ClerkWithAuth);
shared_setters!(ClerkRequireAuth);

impl ClerkWithAuth {
    /// Answers key-source outages (no decision possible) with the application's own response.
    /// Without it, such a request continues signed out with reason
    /// `jwk-remote-failed-to-load`, as Clerk's lax middleware does.
    pub fn on_error<F>(mut self, hook: F) -> Self
    where
        F: Fn(ClerkError, &HttpRequest) -> HttpResponse + Send + Sync + 'static,
    {
        self.opts.on_error = Some(Arc::new(hook));
        self
    }
}

impl ClerkRequireAuth {
    /// Maps every rejection to the application's own response, the counterpart of Express's
    /// `onError` (and of an error handler answering `401 Unauthenticated!`).
    pub fn on_error<F>(mut self, hook: F) -> Self
    where
        F: Fn(ClerkError, &HttpRequest) -> HttpResponse + Send + Sync + 'static,
    {
        self.opts.on_error = Some(Arc::new(hook));
        self
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

fn add_auth_headers(headers: &mut HeaderMap, auth: &Auth) {
    // A pending session is "signed in" for Clerk's request state: no headers.
    let AuthState::SignedOut(s) = auth.state() else {
        return;
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
        HeaderValue::from_static("signed-out"),
    );
}

fn to_error(decision: &Decision) -> Option<ClerkError> {
    let reason = decision.auth.reason()?;
    let message = decision.auth.message().to_owned();
    Some(match decision.retry_after_secs {
        Some(retry_after_secs) if reason.is_key_source_outage() => ClerkError::KeysUnavailable {
            reason,
            message,
            retry_after_secs,
        },
        _ => ClerkError::Unauthenticated {
            reason,
            message,
            token_presented: decision.auth.token_carrier().is_some(),
        },
    })
}

async fn decide(opts: &Options, req: &ServiceRequest) -> Decision {
    let config = req.app_config();
    let parts = RequestParts {
        is_get: req.method() == actix_web::http::Method::GET,
        query: req.query_string(),
        headers: req.headers(),
        scheme: if config.secure() { "https" } else { "http" },
        default_host: config.host(),
    };
    let decision = authenticate(&opts.config.inner, &parts).await;
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
    decision
}

macro_rules! transform {
    ($ty:ident, $svc:ident, $strict:expr) => {
        impl<S, B> Transform<S, ServiceRequest> for $ty
        where
            S: Service<ServiceRequest, Response = ServiceResponse<B>, Error = actix_web::Error>
                + 'static,
            B: 'static,
        {
            type Response = ServiceResponse<EitherBody<B>>;
            type Error = actix_web::Error;
            type Transform = $svc<S>;
            type InitError = ();
            type Future = Ready<Result<Self::Transform, Self::InitError>>;

            fn new_transform(&self, service: S) -> Self::Future {
                ready(Ok($svc {
                    service: Rc::new(service),
                    opts: Rc::new(self.opts.clone()),
                }))
            }
        }

        #[doc(hidden)]
        pub struct $svc<S> {
            service: Rc<S>,
            opts: Rc<Options>,
        }

        impl<S, B> Service<ServiceRequest> for $svc<S>
        where
            S: Service<ServiceRequest, Response = ServiceResponse<B>, Error = actix_web::Error>
                + 'static,
            B: 'static,
        {
            type Response = ServiceResponse<EitherBody<B>>;
            type Error = actix_web::Error;
            type Future = LocalBoxFuture<'static, Result<Self::Response, Self::Error>>;

            forward_ready!(service);

            fn call(&self, req: ServiceRequest) -> Self::Future {
                let service = Rc::clone(&self.service);
                let opts = Rc::clone(&self.opts);
                Box::pin(async move {
                    let decision = decide(&opts, &req).await;
                    let strict: bool = $strict;
                    let error = to_error(&decision);
                    let reject = match &error {
                        Some(ClerkError::KeysUnavailable { .. }) => {
                            strict || opts.on_error.is_some()
                        }
                        Some(_) => strict,
                        None => false,
                    };
                    if let (true, Some(err)) = (reject, error) {
                        let (http_req, _payload) = req.into_parts();
                        let mut res = match &opts.on_error {
                            Some(hook) => {
                                ServiceResponse::new(http_req.clone(), hook(err, &http_req))
                            }
                            None => ServiceResponse::from_err(err, http_req),
                        };
                        if opts.auth_headers {
                            add_auth_headers(res.headers_mut(), &decision.auth);
                        }
                        return Ok(res.map_into_right_body());
                    }
                    let auth = decision.auth;
                    req.extensions_mut().insert(auth.clone());
                    let mut res = service.call(req).await?;
                    if opts.auth_headers {
                        add_auth_headers(res.headers_mut(), &auth);
                    }
                    Ok(res.map_into_left_body())
                })
            }
        }
    };
}

transform!(ClerkWithAuth, ClerkWithAuthMiddleware, false);
transform!(ClerkRequireAuth, ClerkRequireAuthMiddleware, true);
