//! [`ClerkConfig`]: the built, shared, cheaply cloned handle on the layers that decide a
//! request (key store, verifier, token cache, authenticator), validated once.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use crate::authenticate::Authenticator;
use crate::backend_api::CallBound;
use crate::browser::org::{OrganizationMatcher, OrganizationSync};
use crate::browser::{BackendAccess, BrowserFlow};
use crate::cache::TokenCache;
use crate::error::ConfigError;
pub use crate::instance::InstanceType;
use crate::instance::PublishableKey;
use crate::keys::{KeyStore, RemoteOptions, VerifyKey};
use crate::machine::opaque::{OpaqueOptions, OpaqueVerifier};
use crate::secret::Secret;
use crate::stats::ClerkStats;
use crate::verify::{ClaimRules, Verifier};

/// Clerk's Backend API.
pub const DEFAULT_API_URL: &str = "https://api.clerk.com";
/// The Backend API version segment of the JWKS URL.
pub const DEFAULT_API_VERSION: &str = "v1";
/// Clerk's default tolerance on `exp`, `nbf` and `iat`.
pub const DEFAULT_CLOCK_SKEW: Duration = Duration::from_secs(5);

pub(crate) struct ConfigInner {
    secret_key: Option<Secret>,
    pub(crate) authenticator: Authenticator,
    /// The Backend API client of this configuration, made on first use.
    pub(crate) client: std::sync::OnceLock<crate::api::ClerkClient>,
}

/// Everything needed to authenticate a request: keys, instance, and the checks' options.
///
/// Built once (with [`ClerkConfig::builder`] or [`ClerkConfig::from_env`]) and cloned into
/// every worker: clones are cheap and share one key cache and one verified-token cache.
///
/// ```
/// use actix_clerk::{ClerkConfig, ConfigError};
/// # fn main() -> Result<(), ConfigError> {
/// # let pem = include_str!("../tests/fixtures/doc_key.pem");
/// let config = ClerkConfig::builder()
///     .jwt_key(pem)
///     .authorized_parties(["https://app.example.com"])
///     .build()?;
/// # drop(config);
/// # Ok(())
/// # }
/// ```
#[derive(Clone)]
pub struct ClerkConfig {
    pub(crate) inner: Arc<ConfigInner>,
}

impl fmt::Debug for ClerkConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let a = &self.inner.authenticator;
        let pk = a.publishable_key.as_ref();
        let rules = &a.verifier.rules;
        f.debug_struct("ClerkConfig")
            .field("secret_key", &self.inner.secret_key)
            .field("instance", &pk.map(|p| p.instance))
            .field("frontend_api", &pk.map(|p| p.frontend_api.as_str()))
            .field("keys", &a.verifier.keys)
            .field("authorized_parties", &rules.authorized_parties)
            .field("audience", &rules.audience)
            .field("clock_skew_ms", &rules.clock_skew_ms)
            .field("token_cache", &a.cache.is_some())
            .finish()
    }
}

impl ClerkConfig {
    /// Starts a configuration.
    pub fn builder() -> ClerkConfigBuilder {
        ClerkConfigBuilder::default()
    }

    /// Reads `CLERK_SECRET_KEY`, `CLERK_MACHINE_SECRET_KEY`, `CLERK_PUBLISHABLE_KEY`,
    /// `CLERK_JWT_KEY`, `CLERK_API_URL`, `CLERK_API_VERSION`, `CLERK_AUTHORIZED_PARTIES`
    /// (comma-separated), and for browser page navigations `CLERK_DOMAIN`, `CLERK_PROXY_URL`,
    /// `CLERK_IS_SATELLITE` (`true`/`false`) and `CLERK_SIGN_IN_URL`, and builds. Empty
    /// variables count as unset. Every problem is reported at once
    /// ([`ConfigError::problems`]).
    pub fn from_env() -> Result<Self, ConfigError> {
        ClerkConfigBuilder::from_env()?.build()
    }

    /// The instance type, when a publishable key is configured.
    pub fn instance_type(&self) -> Option<InstanceType> {
        self.inner
            .authenticator
            .publishable_key
            .as_ref()
            .map(|p| p.instance)
    }

    /// A snapshot of this configuration's counters: JWKS fetches and failures, the age of
    /// the keys, and the verified-token cache's hits, misses, evictions and size. Shared by
    /// every clone (and so every worker).
    pub fn stats(&self) -> ClerkStats {
        ClerkStats::of(&self.inner.authenticator)
    }

    /// Identity of this configuration (shared by its clones): which decisions an inner
    /// middleware may reuse.
    pub(crate) fn id(&self) -> usize {
        Arc::as_ptr(&self.inner) as usize
    }

    pub(crate) fn authenticator(&self) -> &Authenticator {
        &self.inner.authenticator
    }

    /// Whether this configuration can verify every opaque kind `accepts` names (a key to call
    /// the Backend API with): the check of the middlewares' `accepts` and of `accepting`.
    pub(crate) fn check_accepts(
        &self,
        accepts: &crate::machine::Accepts,
    ) -> Result<(), ConfigError> {
        let machines = self.inner.authenticator.machines.as_ref();
        for kind in accepts.opaque_kinds() {
            if !machines.is_some_and(|m| m.can_verify(kind)) {
                return Err(ConfigError::CannotVerify(kind));
            }
        }
        Ok(())
    }

    /// Fetches the instance's keys now (a no-op with a PEM key), so that a wrong secret key
    /// or an unreachable API shows at startup instead of on the first request.
    ///
    /// Call it from inside the actix runtime (e.g. in `#[actix_web::main]`).
    pub async fn warm_up(&self) -> Result<(), crate::ClerkError> {
        let keys = &self.inner.authenticator.verifier.keys;
        keys.warm_up()
            .await
            .map_err(|f| crate::ClerkError::KeysUnavailable {
                reason: f.reason,
                message: f.message,
                retry_after_secs: f.retry_after_secs,
            })
    }
}

/// Builder of [`ClerkConfig`]. Every setter takes and returns the builder.
#[derive(Default, Clone)]
#[must_use]
pub struct ClerkConfigBuilder {
    secret_key: Option<String>,
    machine_secret_key: Option<String>,
    machine_tokens: OpaqueOptions,
    publishable_key: Option<String>,
    jwt_key: Option<String>,
    api_url: Option<String>,
    api_version: Option<String>,
    authorized_parties: Vec<String>,
    audience: Vec<String>,
    clock_skew: Option<Duration>,
    remote: RemoteOptions,
    token_cache: Option<usize>,
    token_cache_bytes: Option<u64>,
    token_cache_off: bool,
    browser: BrowserSettings,
    #[cfg(feature = "redis")]
    shared_store: Option<crate::store::SharedStore>,
}

/// The Backend API base URL (default [`DEFAULT_API_URL`]), without a trailing `/`.
pub(crate) fn api_url(url: Option<String>) -> Result<String, ConfigError> {
    let url = url.unwrap_or_else(|| DEFAULT_API_URL.to_owned());
    let url = url.trim_end_matches('/').to_owned();
    if !(url.starts_with("http://") || url.starts_with("https://")) || url.len() <= "https://".len()
    {
        return Err(ConfigError::InvalidApiUrl(url));
    }
    Ok(url)
}

/// The Backend API version segment (default [`DEFAULT_API_VERSION`]).
pub(crate) fn api_version(version: Option<String>) -> Result<String, ConfigError> {
    let version = version.unwrap_or_else(|| DEFAULT_API_VERSION.to_owned());
    let version = version.trim_matches('/').to_owned();
    if version.is_empty() || version.contains(['/', '?', '#', ' ']) {
        return Err(ConfigError::InvalidApiVersion(version));
    }
    Ok(version)
}

/// The secret key offline development sets when none is given (never sent anywhere: the
/// Backend API URL points where nothing listens).
const OFFLINE_SECRET_KEY: &str = "sk_test_offline_development";
/// Where offline development points the Backend API: a local port where nothing listens.
const OFFLINE_API_URL: &str = "http://127.0.0.1:9";

/// The browser flow's settings, as given to the builder.
#[derive(Default, Clone)]
struct BrowserSettings {
    off: bool,
    domain: Option<String>,
    proxy_url: Option<String>,
    is_satellite: bool,
    sign_in_url: Option<String>,
    satellite_auto_sync: bool,
    limits: Option<(usize, u32)>,
    org_sync: Option<OrganizationSync>,
}

impl fmt::Debug for ClerkConfigBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ClerkConfigBuilder")
            .field(
                "secret_key",
                &self.secret_key.as_ref().map(|s| Secret::new(s.clone())),
            )
            .field("publishable_key", &self.publishable_key)
            .field("jwt_key", &self.jwt_key.as_ref().map(|_| "<pem>"))
            .field("api_url", &self.api_url)
            .field("authorized_parties", &self.authorized_parties)
            .finish_non_exhaustive()
    }
}

fn env_var(name: &'static str) -> Result<Option<String>, ConfigError> {
    match std::env::var(name) {
        Ok(v) if v.trim().is_empty() => Ok(None),
        Ok(v) => Ok(Some(v)),
        Err(std::env::VarError::NotPresent) => Ok(None),
        Err(std::env::VarError::NotUnicode(_)) => Err(ConfigError::NotUnicode(name)),
    }
}

impl ClerkConfigBuilder {
    /// A builder pre-filled from the environment variables read by [`ClerkConfig::from_env`];
    /// further setters override them.
    pub fn from_env() -> Result<Self, ConfigError> {
        let mut b = ClerkConfigBuilder {
            secret_key: env_var("CLERK_SECRET_KEY")?,
            machine_secret_key: env_var("CLERK_MACHINE_SECRET_KEY")?,
            publishable_key: env_var("CLERK_PUBLISHABLE_KEY")?,
            jwt_key: env_var("CLERK_JWT_KEY")?,
            api_url: env_var("CLERK_API_URL")?,
            api_version: env_var("CLERK_API_VERSION")?,
            browser: BrowserSettings {
                domain: env_var("CLERK_DOMAIN")?,
                proxy_url: env_var("CLERK_PROXY_URL")?,
                sign_in_url: env_var("CLERK_SIGN_IN_URL")?,
                ..BrowserSettings::default()
            },
            ..ClerkConfigBuilder::default()
        };
        if crate::offline::requested() {
            b = b.offline_development(crate::offline::dir_from_env())?;
        }
        if let Some(v) = env_var("CLERK_IS_SATELLITE")? {
            b.browser.is_satellite = match v.trim() {
                "true" => true,
                "false" => false,
                _ => return Err(ConfigError::InvalidIsSatellite(v)),
            };
        }
        if let Some(parties) = env_var("CLERK_AUTHORIZED_PARTIES")? {
            b.authorized_parties = parties
                .split(',')
                .map(str::trim)
                .filter(|p| !p.is_empty())
                .map(str::to_owned)
                .collect();
        }
        Ok(b)
    }

    /// The instance's secret key (`sk_live_…`/`sk_test_…`), used to fetch its JWKS.
    /// Needed unless a PEM key is given.
    pub fn secret_key(mut self, key: impl Into<String>) -> Self {
        self.secret_key = Some(key.into());
        self
    }

    /// A machine secret key, used instead of the secret key to verify M2M tokens
    /// (`CLERK_MACHINE_SECRET_KEY`). Never printed.
    pub fn machine_secret_key(mut self, key: impl Into<String>) -> Self {
        self.machine_secret_key = Some(key.into());
        self
    }

    /// How long a machine token verified by the Backend API is served from the cache
    /// (default 10 s, never past the token's own expiry; zero turns the cache off): the delay
    /// before a revoked API key, M2M or OAuth token is refused.
    pub fn machine_token_cache_ttl(mut self, ttl: Duration) -> Self {
        self.machine_tokens.ttl = ttl;
        self
    }

    /// How long a `token-invalid` or `secret-key-invalid` answer of the Backend API is
    /// remembered (default 2 s).
    pub fn machine_token_negative_ttl(mut self, ttl: Duration) -> Self {
        self.machine_tokens.negative_ttl = ttl;
        self
    }

    /// Timeout of one Backend API verification (default 5 s).
    pub fn machine_token_verify_timeout(mut self, timeout: Duration) -> Self {
        self.machine_tokens.timeout = timeout;
        self
    }

    /// Bounds on Backend API verifications: at most `concurrent` in flight and `per_second`
    /// started per second (defaults 16 and 50). Past them a request is refused at once
    /// (`503` + `Retry-After: 1` from the strict middleware), never queued. With a
    /// [`shared_store`](Self::shared_store), `per_second` bounds the whole deployment (all
    /// instances together) as well as this instance; `concurrent` stays per instance.
    pub fn machine_token_verify_limits(mut self, concurrent: usize, per_second: u32) -> Self {
        self.machine_tokens.max_concurrent = concurrent;
        self.machine_tokens.max_per_second = per_second;
        self
    }

    /// Shares opaque machine-token answers (API keys, M2M and OAuth tokens verified by Clerk's
    /// Backend API) with the other instances of the deployment (feature `redis`; contract §14):
    /// - a token is verified once per deployment within the cache TTL
    ///   ([`machine_token_cache_ttl`](Self::machine_token_cache_ttl), never past the token's
    ///   expiry), not once per instance; refusals (`token-invalid`, `secret-key-invalid`) are
    ///   shared for the negative TTL; Clerk outages are not shared;
    /// - a burst of one new token on many instances makes one Backend API call (the others
    ///   wait for its answer, at most the verify timeout + 1 s, then verify themselves);
    /// - the per-second bound of [`machine_token_verify_limits`](Self::machine_token_verify_limits)
    ///   holds for the deployment;
    /// - a revocation is seen by every instance within the TTL.
    ///
    /// The store is never the authority: answers carry an HMAC keyed from the secret key
    /// (tokens are stored as keyed hashes only), and when Redis is slow or down each instance
    /// decides alone after [`SharedStore::timeout`](crate::SharedStore::timeout). Each instance
    /// keeps its own cache in front of the store, so a repeated token costs no Redis call.
    #[cfg(feature = "redis")]
    #[cfg_attr(docsrs, doc(cfg(feature = "redis")))]
    pub fn shared_store(mut self, store: crate::store::SharedStore) -> Self {
        self.shared_store = Some(store);
        self
    }

    /// The instance's publishable key (`pk_live_…`/`pk_test_…`). Decides development vs
    /// production rules and the cookie-name suffix. Without it, cookies are read unsuffixed
    /// and the instance is treated as production.
    pub fn publishable_key(mut self, key: impl Into<String>) -> Self {
        self.publishable_key = Some(key.into());
        self
    }

    /// The instance's RSA public key in PEM form (or its bare base64 body; a literal `\n` is
    /// read as a newline). Verification then needs no network, and this key wins over the
    /// secret key.
    pub fn jwt_key(mut self, pem: impl Into<String>) -> Self {
        self.jwt_key = Some(pem.into());
        self
    }

    /// Backend API base URL (default [`DEFAULT_API_URL`]).
    pub fn api_url(mut self, url: impl Into<String>) -> Self {
        self.api_url = Some(url.into());
        self
    }

    /// Backend API version segment (default [`DEFAULT_API_VERSION`]).
    pub fn api_version(mut self, version: impl Into<String>) -> Self {
        self.api_version = Some(version.into());
        self
    }

    /// Origins allowed in the token's `azp` claim, e.g. `https://app.example.com`.
    /// Strongly recommended: with it, a token minted for another site is refused.
    pub fn authorized_parties<I, S>(mut self, parties: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.authorized_parties = parties.into_iter().map(Into::into).collect();
        self
    }

    /// Accepted `aud` values. When set, a token with an `aud` claim must name one of them.
    pub fn audience<I, S>(mut self, audience: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.audience = audience.into_iter().map(Into::into).collect();
        self
    }

    /// Tolerance on `exp`, `nbf` and `iat` (default 5 s; zero is honoured).
    pub fn clock_skew(mut self, skew: Duration) -> Self {
        self.clock_skew = Some(skew);
        self
    }

    /// How long fetched keys are fresh (default 5 minutes, as Clerk's SDK).
    pub fn jwks_cache_ttl(mut self, ttl: Duration) -> Self {
        self.remote.ttl = ttl;
        self
    }

    /// Timeout of one JWKS fetch (default 5 s).
    pub fn jwks_fetch_timeout(mut self, timeout: Duration) -> Self {
        self.remote.fetch_timeout = timeout;
        self
    }

    /// Minimum time between two refetches caused by unknown `kid`s (default 30 s).
    pub fn jwks_unknown_kid_cooldown(mut self, cooldown: Duration) -> Self {
        self.remote.unknown_kid_cooldown = cooldown;
        self
    }

    /// How long the last good keys keep serving when refreshes fail (default 1 hour).
    pub fn jwks_max_stale(mut self, max_stale: Duration) -> Self {
        self.remote.max_stale = max_stale;
        self
    }

    /// Number of verified tokens remembered (default 10 000; see the crate docs).
    pub fn token_cache_capacity(mut self, entries: usize) -> Self {
        self.token_cache = Some(entries);
        self
    }

    /// Bound on the estimated memory of the verified-token cache (default 64 MiB).
    pub fn token_cache_max_bytes(mut self, bytes: u64) -> Self {
        self.token_cache_bytes = Some(bytes);
        self
    }

    /// Turns the verified-token cache off: every request verifies its signature.
    pub fn disable_token_cache(mut self) -> Self {
        self.token_cache_off = true;
        self
    }

    /// Offline development, with no Clerk account (what `CLERK_DEV_OFFLINE=1` turns on in
    /// [`from_env`](Self::from_env), in the folder `CLERK_DEV_DIR`, default `.clerk-dev`):
    /// session tokens are verified with a local RSA key kept in `dir` (made on first use, so
    /// it survives restarts), and fresh tokens signed by it are written there at every start —
    /// `session-token` (user `user_dev`) and `session-token-org-admin` (an `org:admin` of
    /// `org_dev`), valid for a day — for
    /// `curl -H "Authorization: Bearer $(cat .clerk-dev/session-token)" …`. A secret key and a
    /// Backend API URL where nothing listens are set when none is given, so that middlewares
    /// accepting machine tokens build (opaque ones answer `unexpected-error`); `dir` also keeps
    /// a webhook signing secret ([`WebhookVerifier::from_env`](crate::WebhookVerifier::from_env)
    /// uses it under `CLERK_DEV_OFFLINE`).
    ///
    /// Debug builds only: in a release build (`cfg(debug_assertions)` off) this is
    /// [`ConfigError::OfflineInRelease`], so that a production binary never verifies tokens
    /// with a developer's key, even with the variable set by mistake.
    pub fn offline_development(
        mut self,
        dir: impl AsRef<std::path::Path>,
    ) -> Result<Self, ConfigError> {
        let offline = crate::offline::setup(dir.as_ref())?;
        self.jwt_key = Some(offline.public_pem);
        if self.secret_key.is_none() {
            self.secret_key = Some(OFFLINE_SECRET_KEY.to_owned());
        }
        if self.api_url.is_none() {
            self.api_url = Some(OFFLINE_API_URL.to_owned());
        }
        Ok(self)
    }

    /// Turns the browser flow off for an API-only service: page navigations are decided as
    /// API requests (signed out with Clerk's reason), never refreshed on the server nor
    /// redirected to Clerk's handshake, and handshake returns are not resolved. On by
    /// default whenever a publishable key is configured, as in Clerk's middlewares.
    pub fn browser_sessions(mut self, enabled: bool) -> Self {
        self.browser.off = !enabled;
        self
    }

    /// The satellite's (or proxied primary's) own domain, e.g. `satellite.example.com`
    /// (`CLERK_DOMAIN`): a production satellite's frontend API is then `clerk.{domain}`.
    pub fn domain(mut self, domain: impl Into<String>) -> Self {
        self.browser.domain = Some(domain.into());
        self
    }

    /// The URL through which the application proxies Clerk's Frontend API
    /// (`CLERK_PROXY_URL`): absolute, or a path such as `/__clerk` resolved against the
    /// request's origin. Handshake redirects then go there.
    pub fn proxy_url(mut self, url: impl Into<String>) -> Self {
        self.browser.proxy_url = Some(url.into());
        self
    }

    /// Marks this application as a satellite of a primary domain (`CLERK_IS_SATELLITE`): it
    /// needs a [`domain`](Self::domain) or a [`proxy_url`](Self::proxy_url), and on a
    /// development instance an absolute [`sign_in_url`](Self::sign_in_url).
    pub fn is_satellite(mut self, satellite: bool) -> Self {
        self.browser.is_satellite = satellite;
        self
    }

    /// The sign-in page (`CLERK_SIGN_IN_URL`): where a development satellite syncs, and where
    /// [`ClerkRequireAuth::redirect_to_sign_in`](crate::ClerkRequireAuth::redirect_to_sign_in)
    /// sends signed-out page navigations.
    pub fn sign_in_url(mut self, url: impl Into<String>) -> Self {
        self.browser.sign_in_url = Some(url.into());
        self
    }

    /// A satellite syncs with the primary domain on a first page navigation even when it has
    /// no Clerk cookies yet (Clerk's `satelliteAutoSync`; default off).
    pub fn satellite_auto_sync(mut self, enabled: bool) -> Self {
        self.browser.satellite_auto_sync = enabled;
        self
    }

    /// Organisation sync (Clerk's `organizationSyncOptions`): a signed-in page navigation whose
    /// URL names another organisation than the session's active one (or the personal account
    /// while one is active) goes through Clerk's handshake, which activates it. Patterns that
    /// cannot be run as Clerk runs them are refused by [`build`](Self::build).
    pub fn organization_sync(mut self, sync: OrganizationSync) -> Self {
        self.browser.org_sync = Some(sync);
        self
    }

    /// Bounds on the browser flow's Backend API calls (handshake payloads, session
    /// refreshes): at most `concurrent` in flight and `per_second` started per second
    /// (defaults 16 and 50). Past them a refresh fails as a fetch error
    /// (`session-token-expired-refresh-fetch-error`, then the handshake) and a handshake
    /// nonce resolves to no session (`session-token-missing`): never queued, never a `5xx`.
    pub fn browser_call_limits(mut self, concurrent: usize, per_second: u32) -> Self {
        self.browser.limits = Some((concurrent, per_second));
        self
    }

    /// Validates and builds the configuration.
    pub fn build(self) -> Result<ClerkConfig, ConfigError> {
        // Every problem is collected, so that one run names them all.
        let mut errors: Vec<ConfigError> = Vec::new();
        let secret_key_given = self.secret_key.is_some();
        let mut publishable_key = match self
            .publishable_key
            .as_deref()
            .map(PublishableKey::parse)
            .transpose()
        {
            Ok(pk) => pk,
            Err(e) => {
                errors.push(e);
                None
            }
        };
        let secret_key = match self.secret_key.map(Secret::secret_key).transpose() {
            Ok(k) => k,
            Err(e) => {
                errors.push(e);
                None
            }
        };
        let api_url = api_url(self.api_url.clone()).unwrap_or_else(|e| {
            errors.push(e);
            DEFAULT_API_URL.to_owned()
        });
        let machine_secret_key = match self.machine_secret_key {
            Some(k) if !k.trim().is_empty() && !k.contains(char::is_whitespace) => {
                Some(Secret::new(k))
            }
            Some(_) => {
                errors.push(ConfigError::InvalidMachineSecretKey);
                None
            }
            None => None,
        };
        let m = &self.machine_tokens;
        if m.timeout.is_zero()
            || m.timeout > Duration::from_secs(300)
            || m.max_concurrent == 0
            || m.max_per_second == 0
        {
            errors.push(ConfigError::InvalidDuration(
                "machine token verification limits",
            ));
        }
        let api_version = api_version(self.api_version.clone()).unwrap_or_else(|e| {
            errors.push(e);
            DEFAULT_API_VERSION.to_owned()
        });
        if self.authorized_parties.iter().any(|p| p.trim().is_empty()) {
            errors.push(ConfigError::InvalidAuthorizedParty);
        }
        let clock_skew = self.clock_skew.unwrap_or(DEFAULT_CLOCK_SKEW);
        if clock_skew > Duration::from_secs(86_400) {
            errors.push(ConfigError::InvalidDuration("clock skew"));
        }
        let browser = browser_flow(
            &self.browser,
            self.machine_tokens.timeout,
            &mut publishable_key,
            &api_url,
            &api_version,
            secret_key.as_ref(),
        )
        .map_err(|e| errors.push(e));
        let machines = (secret_key.is_some() || machine_secret_key.is_some()).then(|| {
            let verifier = OpaqueVerifier::new(
                api_url.clone(),
                secret_key.clone(),
                machine_secret_key,
                self.machine_tokens.clone(),
            );
            #[cfg(feature = "redis")]
            let verifier = match self.shared_store.clone() {
                Some(store) if !self.machine_tokens.ttl.is_zero() => {
                    verifier.with_shared_store(store)
                }
                _ => verifier,
            };
            verifier
        });
        let keys = if let Some(pem) = self.jwt_key {
            VerifyKey::from_pem_text(&pem)
                .map(|k| KeyStore::Pem(Arc::new(k)))
                .map_err(|e| errors.push(e))
                .ok()
        } else if let Some(secret) = &secret_key {
            match self.remote.validate() {
                Ok(()) => Some(KeyStore::remote(
                    format!("{api_url}/{api_version}/jwks"),
                    secret.clone(),
                    self.remote,
                )),
                Err(e) => {
                    errors.push(e);
                    None
                }
            }
        } else {
            // A malformed secret key was reported already: "missing" would mislead.
            if !secret_key_given {
                errors.push(ConfigError::MissingKey);
            }
            None
        };
        let (Some(keys), Ok(browser), true) = (keys, browser, errors.is_empty()) else {
            return Err(ConfigError::from_list(errors));
        };
        let cache = if self.token_cache_off {
            None
        } else {
            let entries = self.token_cache.unwrap_or(crate::cache::DEFAULT_CAPACITY);
            let bytes = self
                .token_cache_bytes
                .unwrap_or(crate::cache::DEFAULT_MAX_BYTES);
            (entries > 0 && bytes > 0).then(|| TokenCache::new(entries, bytes))
        };
        let rules = ClaimRules {
            authorized_parties_text: self.authorized_parties.join(","),
            authorized_parties: self.authorized_parties,
            audience: self
                .audience
                .into_iter()
                .filter(|a| !a.is_empty())
                .collect(),
            clock_skew_ms: clock_skew.as_millis() as f64,
        };
        Ok(ClerkConfig {
            inner: Arc::new(ConfigInner {
                client: std::sync::OnceLock::new(),
                secret_key,
                authenticator: Authenticator {
                    publishable_key,
                    verifier: Verifier { keys, rules },
                    cache,
                    machines,
                    browser,
                },
            }),
        })
    }
}

/// The browser flow's settings, checked as Clerk checks them.
fn browser_flow(
    settings: &BrowserSettings,
    timeout: Duration,
    publishable_key: &mut Option<PublishableKey>,
    api_url: &str,
    api_version: &str,
    secret_key: Option<&Secret>,
) -> Result<BrowserFlow, ConfigError> {
    let nonempty = |v: &Option<String>| {
        v.as_deref()
            .map(str::trim)
            .filter(|v| !v.is_empty())
            .map(str::to_owned)
    };
    let domain = nonempty(&settings.domain);
    let proxy_url = nonempty(&settings.proxy_url);
    let sign_in_url = nonempty(&settings.sign_in_url);
    if let Some(p) = &proxy_url {
        let absolute =
            (p.starts_with("http://") || p.starts_with("https://")) && url::Url::parse(p).is_ok();
        if !absolute && !p.starts_with('/') {
            return Err(ConfigError::InvalidProxyUrl(p.clone()));
        }
    }
    if settings.is_satellite {
        if domain.is_none() && proxy_url.is_none() {
            return Err(ConfigError::SatelliteWithoutDomain);
        }
        let dev_key = secret_key.is_some_and(|k| k.expose().starts_with("sk_test_"))
            || publishable_key
                .as_ref()
                .is_some_and(|p| p.instance == InstanceType::Development);
        match &sign_in_url {
            None if dev_key => return Err(ConfigError::SatelliteWithoutSignInUrl),
            Some(u) if url::Url::parse(u).is_err() => {
                return Err(ConfigError::InvalidSignInUrl(u.clone()))
            }
            _ => {}
        }
    }
    if let (Some(pk), Some(d), true) = (publishable_key.as_mut(), &domain, settings.is_satellite) {
        if pk.instance == InstanceType::Production {
            pk.frontend_api = format!("clerk.{d}");
        }
    }
    let (concurrent, per_second) = settings.limits.unwrap_or((16, 50));
    if concurrent == 0 || per_second == 0 {
        return Err(ConfigError::InvalidDuration("browser call limits"));
    }
    Ok(BrowserFlow {
        enabled: !settings.off && publishable_key.is_some(),
        proxy_url,
        domain,
        is_satellite: settings.is_satellite,
        sign_in_url,
        satellite_auto_sync: settings.satellite_auto_sync,
        org_sync: settings
            .org_sync
            .as_ref()
            .map(OrganizationMatcher::new)
            .transpose()
            .map_err(ConfigError::InvalidOrganizationPattern)?,
        api: secret_key.map(|k| BackendAccess {
            api_url: api_url.to_owned(),
            api_version: api_version.to_owned(),
            secret_key: k.clone(),
        }),
        bound: CallBound::new(concurrent, per_second),
        timeout,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    use crate::instance::InstanceType;

    #[test]
    fn publishable_key_suffix_matches_clerk() {
        let pk =
            PublishableKey::parse("pk_live_Y2xlcmsuaW5zcGlyZWQucHVtYS03NC5sY2wuZGV2JA").unwrap(); // ok: test
        assert_eq!(pk.cookie_suffix, "MqCvchyS");
        assert_eq!(pk.frontend_api, "clerk.inspired.puma-74.lcl.dev");
        assert_eq!(pk.instance, InstanceType::Production);
        assert!(PublishableKey::parse("pk_live_bm9wZQ").is_err());
        assert!(PublishableKey::parse("sk_live_abc").is_err());
        assert!(PublishableKey::parse("pk_test_a_b").is_err());
    }

    #[test]
    fn missing_key_is_reported() {
        assert_eq!(
            ClerkConfig::builder().build().unwrap_err(),
            ConfigError::MissingKey
        );
        assert_eq!(
            ClerkConfig::builder()
                .secret_key("nope")
                .build()
                .unwrap_err(),
            ConfigError::InvalidSecretKey
        );
        assert_eq!(
            ClerkConfig::builder()
                .jwt_key("not a key")
                .build()
                .unwrap_err(),
            ConfigError::InvalidJwtKey
        );
    }

    #[test]
    fn pem_key_forms() {
        let pem = crate::doc_pem::DOC_PEM;
        assert!(ClerkConfig::builder().jwt_key(pem).build().is_ok());
        // a literal \n, as an env file or a dashboard copy may hold it
        let escaped = pem.replace('\n', "\\n");
        assert!(escaped.contains("\\n"));
        assert!(ClerkConfig::builder().jwt_key(escaped).build().is_ok());
        // the bare base64 body, on one line
        let body: String = pem.lines().filter(|l| !l.starts_with("-----")).collect();
        assert!(ClerkConfig::builder().jwt_key(body.clone()).build().is_ok());
        // a damaged body
        assert_eq!(
            ClerkConfig::builder()
                .jwt_key(&body[..body.len() - 20])
                .build()
                .unwrap_err(),
            ConfigError::InvalidJwtKey
        );
        // the PEM key wins over the secret key: no network store is built
        let cfg = ClerkConfig::builder()
            .jwt_key(pem)
            .secret_key("sk_test_x")
            .build()
            .unwrap(); // ok: test
        assert!(matches!(
            cfg.inner.authenticator.verifier.keys,
            KeyStore::Pem(_)
        ));
    }

    #[test]
    fn bad_settings_are_reported() {
        let pem = crate::doc_pem::DOC_PEM;
        let b = || ClerkConfig::builder().jwt_key(pem);
        assert!(matches!(
            b().api_url("ftp://x").build(),
            Err(ConfigError::InvalidApiUrl(_))
        ));
        assert!(matches!(
            b().api_version("v1/x").build(),
            Err(ConfigError::InvalidApiVersion(_))
        ));
        assert_eq!(
            b().authorized_parties([""]).build().unwrap_err(),
            ConfigError::InvalidAuthorizedParty
        );
        assert!(matches!(
            b().publishable_key("pk_live_!!").build(),
            Err(ConfigError::InvalidPublishableKey(_))
        ));
        let msg = ClerkConfig::builder().build().unwrap_err().to_string();
        assert!(
            msg.contains("CLERK_JWT_KEY") && msg.contains("CLERK_SECRET_KEY"),
            "{msg}"
        );
    }

    #[test]
    fn every_problem_is_reported_at_once() {
        let err = ClerkConfig::builder()
            .publishable_key("pk_live_!!")
            .api_url("ftp://x")
            .authorized_parties([""])
            .is_satellite(true)
            .build()
            .unwrap_err(); // ok: test
        let names: Vec<String> = err.problems().iter().map(|e| format!("{e:?}")).collect();
        assert_eq!(err.problems().len(), 5, "{names:?}");
        for want in [
            "InvalidPublishableKey",
            "InvalidApiUrl",
            "InvalidAuthorizedParty",
            "SatelliteWithoutDomain",
            "MissingKey",
        ] {
            assert!(
                names.iter().any(|n| n.starts_with(want)),
                "{want} in {names:?}"
            );
        }
        let text = err.to_string();
        assert!(text.starts_with("5 configuration problems:"), "{text}");
        assert!(text.contains("CLERK_JWT_KEY"), "{text}");
        // A malformed secret key is not also reported as missing.
        let err = ClerkConfig::builder()
            .secret_key("nope")
            .build()
            .unwrap_err(); // ok: test
        assert_eq!(err, ConfigError::InvalidSecretKey);
    }

    #[test]
    fn debug_redacts_secret() {
        let cfg = ClerkConfig::builder()
            .secret_key("sk_test_supersecretvalue")
            .build()
            .unwrap(); // ok: test
        let text = format!("{cfg:?}");
        assert!(text.contains("sk_test"));
        assert!(!text.contains("supersecret"));
    }
}
