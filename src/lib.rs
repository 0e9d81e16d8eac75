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
//! async fn me(auth: Auth) -> impl Responder {
//!     web::Json(auth)
//! }
//!
//! #[get("/feed")]
//! async fn feed(auth: Auth) -> impl Responder {
//!     format!("signed in: {}", auth.is_signed_in())
//! }
//!
//! #[actix_web::main]
//! async fn main() -> Result<(), Box<dyn std::error::Error>> {
//!     // Built once, outside the server factory: clones share one key cache.
//!     let clerk = ClerkConfig::from_env()?;
//!     HttpServer::new(move || {
//!         App::new()
//!             .service(web::scope("/api").wrap(ClerkRequireAuth::new(clerk.clone())).service(me))
//!             .service(web::scope("/public").wrap(ClerkWithAuth::new(clerk.clone())).service(feed))
//!     })
//!     .bind(("127.0.0.1", 3000))?
//!     .run()
//!     .await?;
//!     Ok(())
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
//!
//! # Testing your app
//!
//! The `testing` feature (for `[dev-dependencies]`:
//! `actix-clerk = { version = "0.2", features = ["testing"] }`) is a kit for an application's
//! own tests, offline and without a Clerk account: a Clerk instance of the test's own and session
//! tokens as Clerk mints them, a local stand-in for Clerk's Backend API (JWKS, machine-token
//! verification), `Auth` values for calling handlers directly. See the `testing` module.
//!
//! ```
//! use actix_clerk::testing::{TestInstance, TestRequestExt as _};
//! use actix_clerk::{Auth, ClerkRequireAuth, Has};
//! use actix_web::http::StatusCode;
//! use actix_web::{test, web, App};
//!
//! async fn me(auth: Auth) -> String {
//!     auth.user_id().unwrap_or_default().to_owned()
//! }
//!
//! #[actix_web::test]
//! async fn signed_in_signed_out_and_org_admin() {
//!     check_routes().await;
//! }
//!
//! async fn check_routes() {
//!     // A fresh RSA key and its publishable key; config() verifies with it, networkless.
//!     let instance = TestInstance::new();
//!     let clerk = instance.config().build().expect("configuration");
//!     let app = test::init_service(
//!         App::new()
//!             .service(
//!                 web::scope("/admin")
//!                     .wrap(ClerkRequireAuth::new(clerk.clone()).require(Has::role("org:admin")))
//!                     .route("/me", web::get().to(me)),
//!             )
//!             .service(
//!                 web::scope("/api")
//!                     .wrap(ClerkRequireAuth::new(clerk))
//!                     .route("/me", web::get().to(me)),
//!             ),
//!     )
//!     .await;
//!
//!     // Signed in, with a session token as Clerk mints it.
//!     let token = instance.session_token("user_1").sign();
//!     let req = test::TestRequest::get().uri("/api/me").bearer_token(&token).to_request();
//!     assert_eq!(test::call_and_read_body(&app, req).await, "user_1");
//!
//!     // Signed out.
//!     let req = test::TestRequest::get().uri("/api/me").to_request();
//!     assert_eq!(test::call_service(&app, req).await.status(), StatusCode::UNAUTHORIZED);
//!
//!     // An organisation admin gets in; a member is refused.
//!     let admin = instance.session_token("user_2").org("org_1", "acme", "admin").sign();
//!     let req = test::TestRequest::get().uri("/admin/me").bearer_token(&admin).to_request();
//!     assert_eq!(test::call_and_read_body(&app, req).await, "user_2");
//!     let member = instance.session_token("user_3").org("org_1", "acme", "member").sign();
//!     let req = test::TestRequest::get().uri("/admin/me").bearer_token(&member).to_request();
//!     assert_eq!(test::call_service(&app, req).await.status(), StatusCode::FORBIDDEN);
//! }
//! # // rustdoc never runs #[test] functions: the doctest runs the same checks.
//! # actix_web::rt::System::new().block_on(check_routes());
//! ```
//!
//! # Layers
//!
//! Each layer uses only the ones below it:
//!
//! | layer | module | does |
//! |---|---|---|
//! | middleware | `middleware` | [`ClerkAuth`] (`ClerkWithAuth`/`ClerkRequireAuth`): decision → request extension, a browser's `307`, or [`ClerkError`]; extractors in `extract` |
//! | standalone calls | `standalone` | [`ClerkConfig::verify_token`], [`ClerkConfig::authenticate_request`], [`ClerkVerifier`]: the middlewares' decisions without a middleware (WebSocket upgrades, jobs, other servers) |
//! | browser flow | `browser/` (`url`, `handshake`, `refresh`, `org`) | page navigations: server-side refresh, Clerk's handshake redirect and return, satellites, organisation sync — on the authenticator's decision |
//! | authenticator | `authenticate/` (`header`, `cookies`, `origin`) | request → token source (header, else cookies, Clerk's rules) → decision |
//! | token cache | `cache` | verified tokens by their bytes, each with the generation of the key set that verified it; re-checks time claims |
//! | verifier | `verify` | decoded token → kind → key → Clerk's ordered checks → claims |
//! | key store | `keys/` (`key`, `jwks`, `fetch`, `remote`) | PEM key, or JWKS fetched once for all workers, refreshed ahead, kept through outages |
//! | webhooks | `webhook/` (`verify`, `event`, `replay`) | [`ClerkWebhook`]: raw body → Clerk's signature scheme (as `verifyWebhook`) → event; beside the layers, using none of them |
//! | Backend API calls | `backend_api`, `machine/` | one HTTP layer (per-worker client, timeouts, bounds) for machine-token verification, handshake payloads and session refresh |
//! | leaves | `jwt`, `js`, `error`, `secret`, `instance`, `offline` | token decoding, JavaScript value rules, reasons, redacted secrets, publishable keys, offline development (debug builds) |
//! | testing kit (feature `testing`) | `testing/` (`key`, `instance`, `session`, `request`, `backend`, `handshake`, `sessions`, `frontend`, `machine`, `webhook`, `clerk`, `auth`) | tokens minted locally, Backend and Frontend API stand-ins, signed webhook deliveries, `Auth` values for tests; above the layers, using the public API plus `Auth`'s constructors and the machine-answer reader |
//!
//! [`Auth`] (`auth/`: `json`, `org`, `has`) is the value handed from the authenticator up;
//! [`ClerkConfig`] is the built, shared handle on these parts, [`ClerkConfig::stats`] their
//! counters.
//!
//! # Cargo features
//!
//! - `metrics`: counts decisions by reason and times JWKS fetches through the `metrics`
//!   facade (nothing on the request path without it).
//! - `testing`: the `testing` module, a kit for an application's own tests (enable it in
//!   `[dev-dependencies]`): Clerk session tokens minted locally, a local stand-in for Clerk's
//!   Backend API (JWKS, machine-token verification), `Auth` values for handler unit tests.

#![warn(missing_docs, missing_debug_implementations)]
#![cfg_attr(docsrs, feature(doc_cfg))]
#![cfg_attr(
    not(test),
    deny(clippy::unwrap_used, clippy::expect_used, clippy::panic)
)]

pub mod api;
mod auth;
mod authenticate;
mod backend_api;
mod browser;
mod cache;
mod config;
#[cfg(test)]
mod doc_pem;
mod error;
mod extract;
// Fuzzing-only entry points (cargo-fuzz builds with `--cfg fuzzing`): never in a normal build.
#[cfg(fuzzing)]
#[doc(hidden)]
pub mod fuzzing;
mod instance;
mod js;
mod jwt;
mod keys;
mod machine;
#[cfg(feature = "metrics")]
mod metrics;
mod middleware;
mod offline;
mod secret;
mod standalone;
mod stats;
#[cfg(feature = "redis")]
mod store;
#[cfg(feature = "testing")]
#[cfg_attr(docsrs, doc(cfg(feature = "testing")))]
pub mod testing;
mod verify;
mod webhook;

pub use crate::api::{ApiError, ClerkClient, ClerkClientBuilder};
pub use crate::auth::{
    Auth, ClaimsError, Has, Reverification, ReverificationLevel, SessionClaims, TokenCarrier,
};
pub use crate::browser::org::OrganizationSync;
pub use crate::config::{
    ClerkConfig, ClerkConfigBuilder, InstanceType, DEFAULT_API_URL, DEFAULT_API_VERSION,
    DEFAULT_CLOCK_SKEW,
};
pub use crate::error::{ClerkError, ConfigError, Reason};
pub use crate::extract::Authenticated;
pub use crate::machine::{Accepts, TokenKind};
pub use crate::middleware::{
    keep_clerk_headers, ClerkAuth, ClerkAuthMiddleware, ClerkFuture, ClerkRequestExt,
    ClerkRequireAuth, ClerkWithAuth, Lax, Mode, Strict, AUTH_MESSAGE_HEADER, AUTH_REASON_HEADER,
    AUTH_STATUS_HEADER,
};
pub use crate::offline::{OFFLINE_DIR_ENV, OFFLINE_ENV};
pub use crate::standalone::ClerkVerifier;
pub use crate::stats::{ClerkStats, TokenCacheStats};
#[cfg(feature = "redis")]
#[cfg_attr(docsrs, doc(cfg(feature = "redis")))]
pub use crate::store::{SharedStore, SharedStoreStats, REDIS_URL_ENV};
pub use crate::webhook::{
    ClerkWebhook, DeletedObjectData, EmailAddressData, EmailData, OrganizationData,
    OrganizationMembershipData, PhoneNumberData, PublicUserData, SessionData, UserData,
    WebhookError, WebhookEvent, WebhookOnce, WebhookVerifier, WEBHOOK_SECRET_ENV,
};

/// The README's examples, compiled as doctests.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
pub struct ReadmeDoctests;
