//! [`TestClerk`]: a whole Clerk for an application's tests, in one call.

use super::{TestBackendApi, TestInstance, TestWebhookSecret};
use crate::config::{ClerkConfig, ClerkConfigBuilder};
use crate::webhook::WebhookVerifier;

/// Everything an application's tests need of Clerk, started in one call: an instance (its
/// RSA key and publishable key, minting session tokens), its Backend API stand-in (JWKS, API
/// keys, M2M and OAuth tokens it issues and revokes, handshake payloads, session refresh) and
/// a webhook signing secret (signed deliveries).
///
/// ```
/// use actix_clerk::testing::{sample_event, TestClerk, TestRequestExt as _};
/// use actix_clerk::{Auth, ClerkRequireAuth, ClerkWebhook};
/// use actix_web::{test, web, App, HttpResponse};
///
/// async fn me(auth: Auth) -> String {
///     auth.user_id().unwrap_or_default().to_owned()
/// }
/// async fn hook(_delivery: ClerkWebhook) -> HttpResponse {
///     HttpResponse::Ok().finish()
/// }
///
/// # actix_web::rt::System::new().block_on(async {
/// let clerk = TestClerk::start();
/// let app = test::init_service(
///     App::new()
///         .app_data(clerk.webhook_verifier())
///         .route("/webhooks", web::post().to(hook))
///         .service(web::scope("/api").wrap(ClerkRequireAuth::new(clerk.config())).route("/me", web::get().to(me))),
/// )
/// .await;
/// let token = clerk.instance.session_token("user_1").sign();
/// let req = test::TestRequest::get().uri("/api/me").bearer_token(&token).to_request();
/// assert_eq!(test::call_and_read_body(&app, req).await, "user_1");
/// let delivery = clerk.webhooks.delivery(sample_event::user_created("user_1"));
/// let res = test::call_service(&app, delivery.to_request("/webhooks").to_request()).await;
/// assert!(res.status().is_success());
/// # });
/// ```
#[derive(Debug)]
pub struct TestClerk {
    /// The instance: keys, publishable key, session tokens.
    pub instance: TestInstance,
    /// Its Backend API stand-in (127.0.0.1, a free port), stopped when dropped.
    pub backend: TestBackendApi,
    /// The webhook endpoint's signing secret.
    pub webhooks: TestWebhookSecret,
}

impl TestClerk {
    /// A production instance, its Backend API stand-in and a webhook secret.
    pub fn start() -> TestClerk {
        TestClerk::with_instance(TestInstance::new())
    }

    /// The same for an instance of the test's own (development, another key, …).
    pub fn with_instance(instance: TestInstance) -> TestClerk {
        TestClerk {
            backend: TestBackendApi::start(&instance),
            instance,
            webhooks: TestWebhookSecret::generate(),
        }
    }

    /// The configuration verifying with this Clerk (its Backend API, secret key and
    /// publishable key), built. Panics only if the kit's own settings do not build.
    pub fn config(&self) -> ClerkConfig {
        self.config_builder()
            .build()
            .expect("actix_clerk::testing: the TestClerk configuration builds")
    }

    /// The same as a builder, to add authorized parties, an audience, …
    pub fn config_builder(&self) -> ClerkConfigBuilder {
        self.backend.config()
    }

    /// The verifier of the webhook secret's deliveries (replay protection off).
    pub fn webhook_verifier(&self) -> WebhookVerifier {
        self.webhooks.verifier()
    }
}
