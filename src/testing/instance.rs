//! [`TestInstance`]: a pretend Clerk instance (keys, publishable key, frontend API host).

use std::fmt;
use std::sync::Arc;

use base64::Engine as _;
use parking_lot::RwLock;
use serde_json::{json, Value};

use super::key::TestKey;
use super::session::SessionTokenBuilder;
use super::{random_hex, DEFAULT_DEV_FRONTEND_API, DEFAULT_FRONTEND_API};
use crate::config::{ClerkConfig, ClerkConfigBuilder, InstanceType};
use crate::instance::PublishableKey;

/// A Clerk instance of a test: its signing key (a fresh RSA key, or one loaded from PEM or
/// PKCS#8), its publishable key and frontend API host, and a [`ClerkConfigBuilder`] already
/// pointed at it.
///
/// [`config`](Self::config) verifies with the instance's public key (networkless, as with
/// `CLERK_JWT_KEY`); for the JWKS, key rotation and machine tokens, start a
/// [`TestBackendApi`](super::TestBackendApi) for it.
///
/// Clones share the keys: a key rotated on one is served by the
/// [`TestBackendApi`](super::TestBackendApi) started with another.
///
/// ```
/// use actix_clerk::testing::TestInstance;
/// use actix_clerk::{ClerkRequireAuth, InstanceType};
///
/// # fn main() -> Result<(), actix_clerk::ConfigError> {
/// let instance = TestInstance::new();
/// assert_eq!(instance.instance_type(), InstanceType::Production);
/// assert_eq!(instance.frontend_api(), "clerk.example.com");
/// let clerk = instance.config().authorized_parties(["https://app.example.com"]).build()?;
/// let _middleware = ClerkRequireAuth::new(clerk);
/// let _token = instance.session_token("user_1").org("org_1", "acme", "admin").sign();
/// # Ok(())
/// # }
/// ```
#[derive(Clone)]
pub struct TestInstance {
    inner: Arc<Inner>,
}

struct Inner {
    /// Published keys, oldest first; the last one signs.
    keys: RwLock<Vec<TestKey>>,
    publishable_key: String,
    parsed: PublishableKey,
}

impl fmt::Debug for TestInstance {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TestInstance")
            .field("publishable_key", &self.inner.publishable_key)
            .field("frontend_api", &self.inner.parsed.frontend_api)
            .field("keys", &*self.inner.keys.read())
            .finish()
    }
}

impl Default for TestInstance {
    fn default() -> Self {
        TestInstance::new()
    }
}

/// `pk_live_`/`pk_test_` + base64 of `<host>$`, without padding, as Clerk writes them.
pub(crate) fn publishable_key_for(instance: InstanceType, frontend_api: &str) -> String {
    let prefix = match instance {
        InstanceType::Production => "pk_live_",
        InstanceType::Development => "pk_test_",
    };
    let body = base64::engine::general_purpose::STANDARD_NO_PAD.encode(format!("{frontend_api}$"));
    format!("{prefix}{body}")
}

impl TestInstance {
    /// A production instance (`pk_live_…` of `clerk.example.com`) with a fresh key.
    pub fn new() -> TestInstance {
        TestInstance::builder().build()
    }

    /// A development instance (`pk_test_…` of `test-instance-00.clerk.accounts.dev`) with a
    /// fresh key. Cookie requests to a development instance need a dev-browser cookie, which
    /// the [`TestRequestExt`](super::TestRequestExt) cookie helpers add.
    pub fn development() -> TestInstance {
        TestInstance::builder().development().build()
    }

    /// An instance whose signing key is `key` (e.g. [`TestKey::from_pem`]).
    pub fn with_key(key: TestKey) -> TestInstance {
        TestInstance::builder().key(key).build()
    }

    /// Chooses the instance's type, host and key.
    pub fn builder() -> TestInstanceBuilder {
        TestInstanceBuilder::default()
    }

    /// The key that signs its tokens (the newest, after [`rotate_key`](Self::rotate_key)).
    pub fn key(&self) -> TestKey {
        let keys = self.inner.keys.read();
        keys.last()
            .cloned()
            .expect("actix_clerk::testing: an instance always has a key")
    }

    /// Every key its JWKS publishes, oldest first.
    pub fn keys(&self) -> Vec<TestKey> {
        self.inner.keys.read().clone()
    }

    /// The signing key's `kid`.
    pub fn kid(&self) -> String {
        self.key().kid().to_owned()
    }

    /// Rotates keys as Clerk does: a fresh key (new `kid`) signs from now on, the old ones stay
    /// in the JWKS (tokens they signed still verify) until [`retire_key`](Self::retire_key).
    /// Returns the new key.
    pub fn rotate_key(&self) -> TestKey {
        let key = TestKey::generate(format!("ins_test_{}", random_hex(12)));
        self.inner.keys.write().push(key.clone());
        key
    }

    /// Stops publishing the key `kid` (tokens it signed then fail with `jwk-kid-mismatch`
    /// once a configuration refetches the JWKS). Panics when `kid` is the signing key.
    pub fn retire_key(&self, kid: &str) {
        let mut keys = self.inner.keys.write();
        if keys.last().is_some_and(|k| k.kid() == kid) {
            panic!("actix_clerk::testing: {kid} signs this instance's tokens; rotate it first");
        }
        keys.retain(|k| k.kid() != kid);
    }

    /// The instance's publishable key (`CLERK_PUBLISHABLE_KEY`).
    pub fn publishable_key(&self) -> &str {
        &self.inner.publishable_key
    }

    /// The frontend API host its publishable key encodes (its tokens' issuer host).
    pub fn frontend_api(&self) -> &str {
        &self.inner.parsed.frontend_api
    }

    /// The `iss` of its tokens: `https://<frontend API host>`.
    pub fn issuer(&self) -> String {
        format!("https://{}", self.frontend_api())
    }

    /// Production (`pk_live_`) or development (`pk_test_`).
    pub fn instance_type(&self) -> InstanceType {
        self.inner.parsed.instance
    }

    /// The suffix of its cookie names (`__session_<suffix>`), as Clerk derives it from the
    /// publishable key.
    pub fn cookie_suffix(&self) -> &str {
        &self.inner.parsed.cookie_suffix
    }

    /// The signing key's public key as PEM (`CLERK_JWT_KEY`).
    pub fn public_pem(&self) -> String {
        self.key().public_pem()
    }

    /// The JWKS Clerk's Backend API answers for it: `{"keys":[…]}`, every published key.
    pub fn jwks(&self) -> Value {
        let keys: Vec<Value> = self.inner.keys.read().iter().map(TestKey::jwk).collect();
        json!({ "keys": keys })
    }

    /// A configuration builder pointed at this instance: its publishable key and its signing
    /// key's PEM (networkless; no environment read). Add authorized parties and the rest as
    /// for a real instance, then [`build`](ClerkConfigBuilder::build).
    ///
    /// It also carries the kit's secret and machine secret keys and a Backend API URL where
    /// nothing listens (`127.0.0.1:9`), so that a middleware accepting API keys, M2M or OAuth
    /// tokens builds without a running stand-in: session tokens and machine JWTs verify
    /// locally; an opaque machine token answers `unexpected-error` (the API is unreachable).
    /// Tests that need the Backend API use [`TestBackendApi::config`](super::TestBackendApi::config).
    pub fn config(&self) -> ClerkConfigBuilder {
        // A secret key of the instance's type (Clerk reads dev vs prod from it, e.g. for
        // satellites); it is never sent: nothing listens at the API URL.
        let secret = match self.instance_type() {
            crate::InstanceType::Development => super::TEST_SECRET_KEY,
            crate::InstanceType::Production => "sk_live_actix_clerk_testing",
        };
        ClerkConfig::builder()
            .publishable_key(self.publishable_key())
            .jwt_key(self.public_pem())
            .secret_key(secret)
            .machine_secret_key(super::TEST_MACHINE_SECRET_KEY)
            .api_url(UNREACHABLE_API_URL)
    }

    /// A session token of `user_id` as this instance mints them: signed by its key, issued by
    /// its frontend API; see [`SessionTokenBuilder`].
    pub fn session_token(&self, user_id: impl Into<String>) -> SessionTokenBuilder {
        SessionTokenBuilder::new(user_id)
            .signed_by(&self.key())
            .issuer(self.issuer())
    }
}

/// Where [`TestInstance::config`] points the Backend API: a local port where nothing listens.
const UNREACHABLE_API_URL: &str = "http://127.0.0.1:9";

/// Builder of a [`TestInstance`]: production on `clerk.example.com` with a fresh key unless
/// told otherwise.
#[derive(Debug, Clone, Default)]
#[must_use]
pub struct TestInstanceBuilder {
    key: Option<TestKey>,
    kid: Option<String>,
    frontend_api: Option<String>,
    development: bool,
}

impl TestInstanceBuilder {
    /// A development instance (`pk_test_`); its default host is
    /// `test-instance-00.clerk.accounts.dev`.
    pub fn development(mut self) -> Self {
        self.development = true;
        self
    }

    /// A production instance (`pk_live_`, the default).
    pub fn production(mut self) -> Self {
        self.development = false;
        self
    }

    /// The frontend API host its publishable key encodes, e.g. `clerk.myapp.com`.
    pub fn frontend_api(mut self, host: impl Into<String>) -> Self {
        self.frontend_api = Some(host.into());
        self
    }

    /// Signs with `key` instead of a fresh one.
    pub fn key(mut self, key: TestKey) -> Self {
        self.key = Some(key);
        self
    }

    /// The `kid` of the fresh key (default `ins_test_<random>`); ignored with [`key`](Self::key).
    pub fn kid(mut self, kid: impl Into<String>) -> Self {
        self.kid = Some(kid.into());
        self
    }

    /// The instance. Panics when the host cannot be a frontend API host (it needs a `.` and no
    /// `$`).
    pub fn build(self) -> TestInstance {
        let instance = if self.development {
            InstanceType::Development
        } else {
            InstanceType::Production
        };
        let host = self.frontend_api.unwrap_or_else(|| {
            match instance {
                InstanceType::Development => DEFAULT_DEV_FRONTEND_API,
                InstanceType::Production => DEFAULT_FRONTEND_API,
            }
            .to_owned()
        });
        let publishable_key = publishable_key_for(instance, &host);
        let parsed = PublishableKey::parse(&publishable_key).unwrap_or_else(|e| {
            panic!("actix_clerk::testing: {host:?} is not a frontend API host: {e}")
        });
        let key = self.key.unwrap_or_else(|| {
            TestKey::generate(
                self.kid
                    .unwrap_or_else(|| format!("ins_test_{}", random_hex(12))),
            )
        });
        TestInstance {
            inner: Arc::new(Inner {
                keys: RwLock::new(vec![key]),
                publishable_key,
                parsed,
            }),
        }
    }
}
