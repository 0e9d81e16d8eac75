//! Clerk authentication for actix-web.
//!
//! Two middlewares decide every request exactly as Clerk's own SDK (`@clerk/backend`) does:
//! [`ClerkWithAuth`] (lax: the handler always runs, with a signed-in or signed-out [`Auth`])
//! and [`ClerkRequireAuth`] (strict: signed-out requests become a [`ClerkError`] and never
//! reach the handler). Handlers read the outcome with `web::ReqData<Auth>`, [`Auth`] itself, or
//! the [`Authenticated`] extractor.
//!
//! ```no_run
//! use actix_clerk::{Auth, ClerkConfig, ClerkRequireAuth, ClerkWithAuth};
//! use actix_web::{get, web, App, HttpServer, Responder};
//!
//! #[get("/me")]
//! async fn me(auth: web::ReqData<Auth>) -> impl Responder {
//!     web::Json(auth.into_inner())
//! }
//!
//! #[get("/feed")]
//! async fn feed(auth: web::ReqData<Auth>) -> impl Responder {
//!     format!("signed in: {}", auth.is_signed_in())
//! }
//!
//! #[actix_web::main]
//! async fn main() -> std::io::Result<()> {
//!     // Built once, outside the server factory: clones share one key cache.
//!     let clerk = ClerkConfig::from_env().map_err(std::io::Error::other)?;
//!     HttpServer::new(move || {
//!         App::new()
//!             .service(web::scope("/api").wrap(ClerkRequireAuth::new(clerk.clone())).service(me))
//!             .service(web::scope("/public").wrap(ClerkWithAuth::new(clerk.clone())).service(feed))
//!     })
//!     .bind(("127.0.0.1", 3000))?
//!     .run()
//!     .await
//! }
//! ```
//!
//! Keys: with a PEM key ([`ClerkConfigBuilder::jwt_key`], `CLERK_JWT_KEY`) verification needs
//! no network; otherwise the instance's JWKS is fetched with the secret key and cached (one
//! fetch at a time for all workers, refreshed ahead of expiry, last good keys kept through
//! outages). Verified tokens are cached per configuration, re-checking `exp`/`nbf`/`iat` on
//! every hit.
//!
//! Secrets and tokens never appear in logs, `Debug` output or response bodies.

#![forbid(unsafe_code)]
#![warn(missing_docs)]
#![cfg_attr(docsrs, feature(doc_cfg))]
#![cfg_attr(
    not(test),
    deny(clippy::unwrap_used, clippy::expect_used, clippy::panic)
)]

mod auth;
mod authenticate;
mod cache;
mod config;
mod error;
mod extract;
mod jwt;
mod keys;
mod middleware;
mod verify;

pub use crate::auth::{
    Auth, Has, Reverification, ReverificationLevel, SessionClaims, TokenCarrier,
};
pub use crate::config::{
    ClerkConfig, ClerkConfigBuilder, InstanceType, DEFAULT_API_URL, DEFAULT_API_VERSION,
    DEFAULT_CLOCK_SKEW,
};
pub use crate::error::{ClerkError, ConfigError, Reason};
pub use crate::extract::Authenticated;
pub use crate::middleware::{
    ClerkRequireAuth, ClerkRequireAuthMiddleware, ClerkWithAuth, ClerkWithAuthMiddleware,
    AUTH_MESSAGE_HEADER, AUTH_REASON_HEADER, AUTH_STATUS_HEADER,
};

#[doc(hidden)]
pub mod __private {
    //! Not public API: hooks for the project's own tests and benchmarks.
    use crate::ClerkConfig;

    /// Number of JWKS fetches this configuration's key store started.
    pub fn jwks_fetch_count(config: &ClerkConfig) -> u64 {
        config.inner.keys.fetch_count()
    }

    /// Number of entries in the verified-token cache.
    pub fn token_cache_len(config: &ClerkConfig) -> usize {
        config.inner.token_cache.as_ref().map_or(0, |c| c.len())
    }
}

/// A fixed RSA public key for documentation examples (not a key of any real instance).
#[doc(hidden)]
pub fn __doc_pem() -> &'static str {
    DOC_PEM
}

const DOC_PEM: &str = "-----BEGIN PUBLIC KEY-----
MIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEAy0fkuAW4vHwKHghqiyYE
tNIkos6IaE/DEF0JpkIJOGe1fbiaA/+J7N47jlV+VVq5d3Zw2QDEhTa1Gg3H/U5Y
uv2cQ1S3xWh4GPJvXgj0Av9DhYzP2WDd1iudCz+qsQ1DRgYPJVKG8QtyOQ9n38aI
BjazLFKEAJ/AwYUe9CiH3HvGSGcL0/Wz9bja6D788VZ9VDNwSCE3L+7Jd7MR6f8V
u3XFvYpyigxxfN1MUk5FhZOxHIa0dp1CCJdBxfHBzHL1ahYZlSwHCvX5rmxKAko8
dNAtTbmbaNNs1Pkw77+8Frz+glIedz0Rpqs78o6qegS0WTYEhPtD3ErqgClRA+Mt
LQIDAQAB
-----END PUBLIC KEY-----";

/// The README's examples, compiled as doctests.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
pub struct ReadmeDoctests;
