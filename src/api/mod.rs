//! Clerk's Backend API from Rust: [`ClerkClient`], a typed client for what backend code calls
//! (users, organisations, memberships, invitations, sessions), whose models survive Clerk's
//! additions (unknown fields kept, unknown enum values kept, absent optional fields never an
//! error), whose errors are Clerk's (`errors[]`, `clerk_trace_id`, `Retry-After`), and whose
//! futures are `Send` (usable in a task spawned on a multi-threaded runtime: a job, a webhook
//! consumer).
//!
//! HTTP: `reqwest` (hyper, tokio; `Send` futures, one connection pool per client) on the
//! crate's own rustls configuration — aws-lc-rs, the webpki roots, no process-wide provider,
//! no OpenSSL. A timeout on every call; `429` and `5xx` are retried for idempotent calls only
//! (`GET`, `PUT`, `DELETE`), at most twice, honouring `Retry-After` up to 10 s.

mod common;
mod error;
mod invitations;
pub mod models;
mod organizations;
mod page;
mod sessions;
mod users;

use std::sync::Arc;
use std::time::Duration;

use serde::de::DeserializeOwned;
use serde::Serialize;
use serde_json::Value;

pub use error::{ApiError, ApiErrorDetail};
pub use invitations::{CreateInvitationParams, InvitationListParams, Invitations};
pub use models::{
    DeletedObject, EmailAddress, ExternalAccount, IdentificationLink, Invitation, InvitationStatus,
    Organization, OrganizationInvitation, OrganizationMembership,
    OrganizationMembershipPublicUserData, PhoneNumber, Session, SessionActivity, SessionStatus,
    User, Verification, VerificationStatus,
};
pub use organizations::{
    CreateOrganizationInvitationParams, CreateOrganizationParams, MembershipListParams,
    OrganizationInvitationListParams, OrganizationInvitations, OrganizationListParams,
    OrganizationMemberships, OrganizationMetadataParams, Organizations, UpdateOrganizationParams,
};
pub use page::{ListParams, Page};
pub use sessions::{SessionListParams, Sessions};
pub use users::{CreateUserParams, UpdateUserParams, UserListParams, UserMetadataParams, Users};

use crate::error::ConfigError;
use crate::secret::Secret;

/// The Backend API version this client speaks (`Clerk-API-Version`), as `@clerk/backend` 3.25.
pub const CLERK_API_VERSION: &str = crate::backend_api::CLERK_API_VERSION;

/// Default timeout of one call.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(10);
const MAX_ATTEMPTS: u32 = 3;
const MAX_RETRY_AFTER: Duration = Duration::from_secs(10);

/// A client of Clerk's Backend API. Cheap to clone (one connection pool, shared).
///
/// ```no_run
/// # async fn run() -> Result<(), Box<dyn std::error::Error>> {
/// let clerk = actix_clerk::ClerkClient::from_env()?; // CLERK_SECRET_KEY, CLERK_API_URL
/// let user = clerk.users().get("user_123").await?;
/// println!("{:?}", user.primary_email_address());
/// # Ok(())
/// # }
/// ```
#[derive(Clone)]
pub struct ClerkClient {
    inner: Arc<Inner>,
}

struct Inner {
    http: reqwest::Client,
    base: String,
    secret: Secret,
    timeout: Duration,
}

impl std::fmt::Debug for ClerkClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ClerkClient")
            .field("base", &self.inner.base)
            .field("secret_key", &self.inner.secret)
            .field("timeout", &self.inner.timeout)
            .finish()
    }
}

/// Builder of [`ClerkClient`].
#[derive(Clone, Default)]
#[must_use]
pub struct ClerkClientBuilder {
    secret_key: Option<String>,
    api_url: Option<String>,
    api_version: Option<String>,
    timeout: Option<Duration>,
}

impl std::fmt::Debug for ClerkClientBuilder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ClerkClientBuilder")
            .field("api_url", &self.api_url)
            .finish_non_exhaustive()
    }
}

impl ClerkClientBuilder {
    /// The instance's secret key (`sk_live_…`/`sk_test_…`).
    pub fn secret_key(mut self, key: impl Into<String>) -> Self {
        self.secret_key = Some(key.into());
        self
    }

    /// Backend API base URL (default `https://api.clerk.com`).
    pub fn api_url(mut self, url: impl Into<String>) -> Self {
        self.api_url = Some(url.into());
        self
    }

    /// Backend API version segment (default `v1`).
    pub fn api_version(mut self, version: impl Into<String>) -> Self {
        self.api_version = Some(version.into());
        self
    }

    /// Timeout of one call, retries included (default 10 s).
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = Some(timeout);
        self
    }

    /// Validates and builds the client.
    pub fn build(self) -> Result<ClerkClient, ConfigError> {
        let secret = Secret::secret_key(self.secret_key.ok_or(ConfigError::MissingSecretKey)?)?;
        let api_url = crate::config::api_url(self.api_url)?;
        let version = crate::config::api_version(self.api_version)?;
        let timeout = self.timeout.unwrap_or(DEFAULT_TIMEOUT);
        if timeout.is_zero() {
            return Err(ConfigError::InvalidDuration("Backend API timeout"));
        }
        // The crate's one HTTP client (one pool, one TLS configuration) for every call.
        let http =
            crate::backend_api::http_client().ok_or(ConfigError::InvalidDuration("HTTP client"))?;
        Ok(ClerkClient {
            inner: Arc::new(Inner {
                http,
                base: format!("{api_url}/{version}"),
                secret,
                timeout,
            }),
        })
    }
}

/// HTTP methods of the API's calls.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Method {
    Get,
    Post,
    Patch,
    Put,
    Delete,
}

impl Method {
    /// Whether a retry cannot repeat an effect.
    fn idempotent(self) -> bool {
        matches!(self, Method::Get | Method::Put | Method::Delete)
    }

    fn reqwest(self) -> reqwest::Method {
        match self {
            Method::Get => reqwest::Method::GET,
            Method::Post => reqwest::Method::POST,
            Method::Patch => reqwest::Method::PATCH,
            Method::Put => reqwest::Method::PUT,
            Method::Delete => reqwest::Method::DELETE,
        }
    }
}

/// A path segment (an id) escaped where it would leave its segment.
pub(crate) fn segment(id: &str) -> String {
    const SEGMENT: &percent_encoding::AsciiSet = &percent_encoding::CONTROLS
        .add(b' ')
        .add(b'"')
        .add(b'#')
        .add(b'%')
        .add(b'/')
        .add(b'<')
        .add(b'>')
        .add(b'?')
        .add(b'\\')
        .add(b'`')
        .add(b'{')
        .add(b'}');
    percent_encoding::utf8_percent_encode(id, SEGMENT).collect()
}

impl ClerkClient {
    /// A client for `secret_key` on Clerk's production Backend API.
    pub fn new(secret_key: impl Into<String>) -> Result<ClerkClient, ConfigError> {
        ClerkClientBuilder::default().secret_key(secret_key).build()
    }

    /// Starts a client.
    pub fn builder() -> ClerkClientBuilder {
        ClerkClientBuilder::default()
    }

    /// From `CLERK_SECRET_KEY`, `CLERK_API_URL` and `CLERK_API_VERSION`.
    pub fn from_env() -> Result<ClerkClient, ConfigError> {
        let var = |n: &'static str| match std::env::var(n) {
            Ok(v) if !v.trim().is_empty() => Ok(Some(v)),
            Ok(_) | Err(std::env::VarError::NotPresent) => Ok(None),
            Err(std::env::VarError::NotUnicode(_)) => Err(ConfigError::NotUnicode(n)),
        };
        ClerkClientBuilder {
            secret_key: var("CLERK_SECRET_KEY")?,
            api_url: var("CLERK_API_URL")?,
            api_version: var("CLERK_API_VERSION")?,
            ..ClerkClientBuilder::default()
        }
        .build()
    }

    /// One call: `method` on `path` (under `{api_url}/{version}`), query pairs, a JSON body;
    /// the answer decoded as `T` (`Value` for none in particular). Retries as the module docs
    /// say.
    pub(crate) async fn call<T: DeserializeOwned>(
        &self,
        method: Method,
        path: &str,
        query: &[(&str, String)],
        body: Option<&(dyn erased::Body + Sync)>,
    ) -> Result<T, ApiError> {
        let text = self.call_text(method, path, query, body).await?;
        let text = if text.is_empty() {
            "null".to_owned()
        } else {
            text
        };
        serde_json::from_str(&text).map_err(|e| ApiError::Decode {
            message: e.to_string(),
        })
    }

    async fn call_text(
        &self,
        method: Method,
        path: &str,
        query: &[(&str, String)],
        body: Option<&(dyn erased::Body + Sync)>,
    ) -> Result<String, ApiError> {
        let url = format!("{}{path}", self.inner.base);
        let body = match body {
            Some(b) => Some(b.to_json().map_err(|e| ApiError::Decode {
                message: e.to_string(),
            })?),
            None => None,
        };
        let deadline = tokio::time::Instant::now() + self.inner.timeout;
        let mut attempt = 0;
        loop {
            attempt += 1;
            let mut req = self
                .inner
                .http
                .request(method.reqwest(), &url)
                .timeout(deadline.saturating_duration_since(tokio::time::Instant::now()))
                .bearer_auth(self.inner.secret.expose())
                .header("Clerk-API-Version", CLERK_API_VERSION)
                .header("Accept", "application/json");
            if !query.is_empty() {
                req = req.query(query);
            }
            if let Some(b) = &body {
                req = req
                    .header("Content-Type", "application/json")
                    .body(b.clone());
            }
            let result = req.send().await;
            let res = match result {
                Ok(res) => res,
                Err(e) if e.is_timeout() => return Err(ApiError::Timeout),
                Err(e) => {
                    tracing::warn!(path, error = %e.without_url(), "clerk: Backend API request failed");
                    return Err(ApiError::Transport);
                }
            };
            let status = res.status().as_u16();
            let headers = res.headers().clone();
            let text = match res.text().await {
                Ok(t) => t,
                Err(e) if e.is_timeout() => return Err(ApiError::Timeout),
                Err(_) => return Err(ApiError::Transport),
            };
            if (200..300).contains(&status) {
                return Ok(text);
            }
            let err = ApiError::from_answer(status, &headers, &text);
            let retryable = status == 429 || status >= 500;
            if !(retryable && method.idempotent() && attempt < MAX_ATTEMPTS) {
                return Err(err);
            }
            let wait = err
                .retry_after()
                .map(Duration::from_secs)
                .unwrap_or_else(|| Duration::from_millis(100 << attempt));
            if wait > MAX_RETRY_AFTER || tokio::time::Instant::now() + wait >= deadline {
                return Err(err);
            }
            tokio::time::sleep(wait).await;
        }
    }

    /// Any call of the Backend API this client does not model, answered as JSON: `method`
    /// (`GET`, `POST`, `PATCH`, `PUT`, `DELETE`) on `path` under `{api_url}/{version}` (e.g.
    /// `/users/user_1/oauth_access_tokens/oauth_google`).
    pub async fn request_json(
        &self,
        method: &str,
        path: &str,
        query: &[(&str, String)],
        body: Option<&Value>,
    ) -> Result<Value, ApiError> {
        let method = match method.to_ascii_uppercase().as_str() {
            "GET" => Method::Get,
            "POST" => Method::Post,
            "PATCH" => Method::Patch,
            "PUT" => Method::Put,
            "DELETE" => Method::Delete,
            _ => {
                return Err(ApiError::Decode {
                    message: format!("unsupported method {method}"),
                })
            }
        };
        match body {
            Some(b) => self.call(method, path, query, Some(b)).await,
            None => self.call(method, path, query, None).await,
        }
    }
}

impl crate::ClerkConfig {
    /// The Backend API client of this configuration (its secret key, API URL and version),
    /// made on first use and shared by its clones: for handlers and webhook consumers that ask
    /// Clerk about the user behind a request.
    ///
    /// # Errors
    /// [`ConfigError::MissingSecretKey`] when the configuration has no secret key (a PEM-only
    /// configuration verifies tokens but cannot call Clerk).
    ///
    /// ```no_run
    /// use actix_clerk::{Auth, ClerkConfig};
    /// use actix_web::{web, HttpResponse};
    ///
    /// async fn my_email(auth: Auth, clerk: web::Data<ClerkConfig>) -> actix_web::Result<HttpResponse> {
    ///     let Some(user_id) = auth.user_id() else {
    ///         return Ok(HttpResponse::Unauthorized().finish());
    ///     };
    ///     let client = clerk.client().map_err(actix_web::error::ErrorInternalServerError)?;
    ///     let user = client.users().get(user_id).await.map_err(actix_web::error::ErrorBadGateway)?;
    ///     let email = user.primary_email_address().map(|e| e.email_address.clone());
    ///     Ok(HttpResponse::Ok().json(email))
    /// }
    /// # let _ = my_email;
    /// ```
    pub fn client(&self) -> Result<ClerkClient, ConfigError> {
        if let Some(c) = self.inner.client.get() {
            return Ok(c.clone());
        }
        let api = self
            .authenticator()
            .browser
            .api
            .as_ref()
            .ok_or(ConfigError::MissingSecretKey)?;
        let client = ClerkClientBuilder::default()
            .secret_key(api.secret_key.expose())
            .api_url(api.api_url.clone())
            .api_version(api.api_version.clone())
            .build()?;
        Ok(self.inner.client.get_or_init(|| client).clone())
    }
}

/// Request bodies of any serialisable type, behind one object-safe trait.
pub(crate) mod erased {
    /// A JSON request body.
    pub trait Body {
        /// The body's JSON text.
        fn to_json(&self) -> Result<String, serde_json::Error>;
    }

    impl<T: serde::Serialize> Body for T {
        fn to_json(&self) -> Result<String, serde_json::Error> {
            serde_json::to_string(self)
        }
    }
}

/// A body of the given fields only, skipping `None`s (what Clerk's SDK sends).
pub(crate) fn fields<S: Serialize>(s: &S) -> Value {
    match serde_json::to_value(s) {
        Ok(Value::Object(m)) => {
            Value::Object(m.into_iter().filter(|(_, v)| !v.is_null()).collect())
        }
        Ok(other) => other,
        Err(_) => Value::Null,
    }
}
