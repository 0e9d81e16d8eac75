//! Testing kit (feature `testing`): Clerk session tokens minted locally, a local stand-in for
//! Clerk's Backend API, [`Auth`](crate::Auth) values and signed webhook deliveries, so that an
//! application tests its signed-in, signed-out, organisation and machine-token routes and its
//! webhook receiver offline, with no Clerk account.
//!
//! Enable it for tests only:
//!
//! ```toml
//! [dev-dependencies]
//! actix-clerk = { version = "0.2", features = ["testing"] }
//! ```
//!
//! ```
//! use actix_clerk::testing::{TestInstance, TestRequestExt as _};
//! use actix_clerk::{Auth, ClerkRequireAuth, Has};
//! use actix_web::{http::StatusCode, test, web, App};
//!
//! async fn me(auth: Auth) -> String {
//!     auth.user_id().unwrap_or_default().to_owned()
//! }
//!
//! # #[actix_web::main]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let instance = TestInstance::new();
//! let clerk = instance.config().build()?;
//! let app = test::init_service(
//!     App::new()
//!         .service(web::scope("/admin")
//!             .wrap(ClerkRequireAuth::new(clerk.clone()).require(Has::role("org:admin")))
//!             .route("", web::get().to(me)))
//!         .service(web::scope("/api")
//!             .wrap(ClerkRequireAuth::new(clerk))
//!             .route("/me", web::get().to(me))),
//! )
//! .await;
//!
//! let token = instance.session_token("user_1").sign();
//! let req = test::TestRequest::get().uri("/api/me").bearer_token(&token).to_request();
//! assert_eq!(test::call_and_read_body(&app, req).await, "user_1");
//!
//! let req = test::TestRequest::get().uri("/api/me").to_request();
//! assert_eq!(test::call_service(&app, req).await.status(), StatusCode::UNAUTHORIZED);
//!
//! let admin = instance.session_token("user_2").org("org_1", "acme", "admin").sign();
//! let req = test::TestRequest::get().uri("/admin").bearer_token(&admin).to_request();
//! assert_eq!(test::call_service(&app, req).await.status(), StatusCode::OK);
//! let req = test::TestRequest::get().uri("/admin").bearer_token(&token).to_request();
//! assert_eq!(test::call_service(&app, req).await.status(), StatusCode::FORBIDDEN);
//! # Ok(())
//! # }
//! ```
//!
//! - [`TestInstance`]: a Clerk instance (an RSA key, fresh or loaded; its publishable key and
//!   frontend API host) and [`config`](TestInstance::config), a [`ClerkConfigBuilder`]
//!   already pointed at it (networkless).
//! - [`SessionTokenBuilder`]: session tokens as Clerk mints them (version 2 claims by default,
//!   version 1 on request; organisation, features, plans, actor, `fva`, pending, custom
//!   claims; time controls; broken forms). [`TestKey`] signs anything at all.
//! - [`TestRequestExt`]: the token where a client or a browser puts it on actix's
//!   `TestRequest` (`Authorization`, or the `__session`/`__client_uat` cookies, suffixed or
//!   not).
//! - [`TestBackendApi`]: Clerk's Backend API on 127.0.0.1: the instance's JWKS (with key
//!   rotation), the machine-token verify endpoints answering for the API keys, M2M and OAuth
//!   tokens it issued ([`MachineTokenBuilder`]; revocation), hit counters, outages; and the
//!   Backend API calls of Clerk's page flow: handshake payloads of nonces, session refresh
//!   for the refresh tokens it issued. And Clerk's resources in memory, so that code calling
//!   the Backend API is tested offline: users, organisations, memberships, organisation
//!   invitations, invitations and sessions (added by the test, [`add_user`](TestBackendApi::add_user)
//!   and friends, or created through the API), answered as Clerk answers them (its JSON,
//!   pagination and errors), every call recorded ([`api_calls`](TestBackendApi::api_calls)),
//!   failures and `429`s injected ([`fail_next`](TestBackendApi::fail_next)).
//! - [`TestFrontendApi`]: an instance's Frontend API on 127.0.0.1, the browser side of the
//!   handshake: signed in as a user or signed out, it answers a configuration's handshake
//!   redirect with a nonce the [`TestBackendApi`] resolves, so that a page's whole round trip
//!   (expired cookie, redirect, handshake, signed in again) runs offline.
//! - [`signed_in_auth`], [`signed_out_auth`], [`SessionTokenBuilder::to_auth`],
//!   [`MachineTokenBuilder::to_auth`]: [`Auth`](crate::Auth) values for calling handlers
//!   directly.
//! - [`TestWebhookSecret`]: a webhook endpoint's `whsec_` signing secret (fresh or given) and
//!   its [`WebhookVerifier`](crate::WebhookVerifier); [`TestWebhookDelivery`]: a delivery
//!   signed as Svix signs Clerk's (every header Svix sends; tampering, another secret, several
//!   signatures, time controls, missing headers), as headers and body or as an actix
//!   `TestRequest`; [`sample_event`]: Clerk-shaped events of every type
//!   [`WebhookEvent`](crate::WebhookEvent) has a variant for, with setters for the fields a
//!   test checks.
//!
//! Every token the kit mints is decided by `@clerk/backend` exactly as by this crate (the
//! crate's own tests check a matrix of them against Clerk's SDK). Everything here is for tests:
//! a setup that cannot work (a malformed PEM, a port that cannot be bound) panics with a message
//! that says what went wrong.
//!
//! [`ClerkConfigBuilder`]: crate::ClerkConfigBuilder

// Test helpers: a setup failure (no key generated, no port bound, a malformed PEM given)
// panics with a clear message, as a failed assertion would; nothing here runs in production.
#![allow(clippy::expect_used, clippy::panic)]

mod auth;
mod backend;
mod call;
mod clerk;
mod frontend;
mod handshake;
mod instance;
mod invitations;
mod key;
mod machine;
mod organizations;
mod request;
mod session;
mod sessions;
mod store;
mod users;
mod webhook;

pub use auth::{signed_in_auth, signed_out_auth};
pub use backend::{
    api_key_body, clerk_errors, m2m_token_body, oauth_token_body, JwksMode, Outage, TestBackendApi,
    VerifyAnswer, VerifyCall, VerifyEndpoint,
};
pub use call::ApiCall;
pub use clerk::TestClerk;
pub use frontend::TestFrontendApi;
pub use instance::{TestInstance, TestInstanceBuilder};
pub use key::{b64url, TestKey};
pub use machine::MachineTokenBuilder;
pub use request::TestRequestExt;
pub use session::{Malformed, SessionTokenBuilder, DEFAULT_LIFETIME};
pub use sessions::{BROWSER_TOKEN_LIFETIME, REFRESH_REFUSED_CODE};
pub use webhook::{
    sample_event, IntoWebhookBody, SampleEvent, TestWebhookDelivery, TestWebhookSecret,
    SVIX_USER_AGENT,
};

/// The default `azp` of the kit's session tokens (the origin of the frontend that asked for
/// them): add it to [`authorized_parties`](crate::ClerkConfigBuilder::authorized_parties), or
/// set your own with [`SessionTokenBuilder::azp`].
pub const DEFAULT_AZP: &str = "https://app.example.com";

/// The frontend API host of [`TestInstance::new`] (a production instance).
pub const DEFAULT_FRONTEND_API: &str = "clerk.example.com";

/// The frontend API host of [`TestInstance::development`].
pub const DEFAULT_DEV_FRONTEND_API: &str = "test-instance-00.clerk.accounts.dev";

/// The default `sid` of the kit's session tokens.
pub const DEFAULT_SESSION_ID: &str = "sess_2test";

/// The secret key a [`TestBackendApi`] started for an instance accepts (and its
/// [`config`](TestBackendApi::config) uses).
pub const TEST_SECRET_KEY: &str = "sk_test_actix_clerk_testing";

/// The machine secret key a [`TestBackendApi`] started for an instance also accepts on its
/// M2M endpoint ([`machine_secret_key`](crate::ClerkConfigBuilder::machine_secret_key)).
pub const TEST_MACHINE_SECRET_KEY: &str = "msk_test_actix_clerk_testing";

/// Clerk's `cat` header of session tokens.
const SESSION_CATEGORY: &str = "cl_B7d4PD111AAA";

/// Seconds since the epoch.
fn now_secs() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
}

/// `n` random hexadecimal digits.
fn random_hex(n: usize) -> String {
    let mut bytes = vec![0u8; n.div_ceil(2)];
    aws_lc_rs::rand::fill(&mut bytes).expect("actix_clerk::testing: system randomness");
    let hex: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
    hex[..n].to_owned()
}
