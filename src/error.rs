//! Failure reasons with Clerk's exact strings, the per-request [`ClerkError`], and the
//! build-time [`ConfigError`].

use std::fmt;

use actix_web::http::header::{self, HeaderValue};
use actix_web::http::StatusCode;
use actix_web::{HttpResponse, ResponseError};

/// Why a request is signed out. Each variant renders the string Clerk's SDK reports
/// (`token-expired`, `session-token-and-uat-missing`, …) through [`Reason::as_str`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Reason {
    /// `token-invalid`: the token is malformed or its `typ` is not `JWT`.
    TokenInvalid,
    /// `token-invalid-algorithm`: `alg` is not RS256, RS384 or RS512.
    TokenInvalidAlgorithm,
    /// `token-invalid-authorized-parties`: `azp` is missing or not an authorized party.
    TokenInvalidAuthorizedParties,
    /// `token-invalid-signature`: the signature does not match the key.
    TokenInvalidSignature,
    /// `token-verification-failed`: a claim (`sub`, `aud`, `exp`…) has the wrong shape or
    /// value, or the key and the token disagree on the algorithm.
    TokenVerificationFailed,
    /// `token-expired`: only inside messages; requests report one of the
    /// `session-token-expired-…` reasons.
    TokenExpired,
    /// `token-not-active-yet`: only inside messages; requests report `session-token-nbf`.
    TokenNotActiveYet,
    /// `token-iat-in-the-future`: only inside messages; requests report
    /// `session-token-iat-in-the-future`.
    TokenIatInTheFuture,
    /// `secret-key-invalid`: Clerk's Backend API rejected the secret key.
    SecretKeyInvalid,
    /// `jwk-remote-failed-to-load`: the instance's key set could not be fetched.
    RemoteJwkFailedToLoad,
    /// `jwk-failed-to-resolve`: neither a PEM key nor a secret key is configured.
    JwkFailedToResolve,
    /// `jwk-kid-mismatch`: no key of the instance has the token's `kid`.
    JwkKidMismatch,
    /// `session-token-expired-refresh-non-eligible-no-refresh-cookie`: expired token on a GET.
    SessionTokenExpiredNoRefreshCookie,
    /// `session-token-expired-refresh-non-eligible-non-get`: expired token, not a GET.
    SessionTokenExpiredNonGet,
    /// `session-token-nbf`: the token is not valid yet.
    SessionTokenNbf,
    /// `session-token-iat-in-the-future`: the token was issued in the future.
    SessionTokenIatInTheFuture,
    /// `session-token-and-uat-missing`: no token at all.
    SessionTokenAndUatMissing,
    /// `session-token-but-no-client-uat`: a `__session` cookie without `__client_uat`.
    SessionTokenWithoutClientUat,
    /// `client-uat-but-no-session-token`: `__client_uat` without a `__session` cookie.
    ClientUatWithoutSessionToken,
    /// `session-token-iat-before-client-uat`: the cookie token predates the last client update.
    SessionTokenIatBeforeClientUat,
    /// `dev-browser-missing`: a development instance's cookie request lacks `__clerk_db_jwt`.
    DevBrowserMissing,
    /// `dev-browser-sync`: a development instance's request carries `__clerk_db_jwt` in the query.
    DevBrowserSync,
    /// `primary-responds-to-syncing`: a development instance's request carries
    /// `__clerk_redirect_url` (Clerk would redirect; an API answer is signed out).
    PrimaryRespondsToSyncing,
    /// `primary-domain-cross-origin-sync`: a signed-in cookie on a cross-origin document
    /// navigation (Clerk would redirect to its handshake; an API answer is signed out).
    PrimaryDomainCrossOriginSync,
    /// `token-type-mismatch`: a machine token, or a token of another category, was sent where a
    /// session token is expected.
    TokenTypeMismatch,
    /// `unexpected-error`: the token's JSON has a shape Clerk's SDK cannot read (e.g. `null`).
    UnexpectedError,
    /// `No token in header`: a middleware that accepts one kind of machine token got no
    /// `Authorization` token (Clerk's literal text).
    NoTokenInHeader,
    /// `session-token-expired-refresh-<why>`: an expired token on a `GET` with a refresh cookie
    /// whose server-side refresh failed (`why`: Clerk's refresh reason, or the Backend API's
    /// error code); the whole reason string.
    SessionTokenExpiredRefresh(&'static str),
    /// `satellite-needs-syncing`: a satellite's page navigation that must sync with the primary
    /// domain first.
    SatelliteCookieNeedsSyncing,
    /// `session-token-missing`: a handshake was resolved, but set no session cookie.
    SessionTokenMissing,
    /// `active-organization-mismatch`: the page names another organisation than the
    /// session's active one (organisation sync).
    ActiveOrganizationMismatch,
    /// `session-pending` (**ours**): a verified session whose `sts` is `pending`. Clerk reports
    /// such a request as signed in but hands out a signed-out auth object.
    SessionPending,
}

impl Reason {
    /// The reason string, exactly as Clerk reports it.
    pub const fn as_str(self) -> &'static str {
        match self {
            Reason::TokenInvalid => "token-invalid",
            Reason::TokenInvalidAlgorithm => "token-invalid-algorithm",
            Reason::TokenInvalidAuthorizedParties => "token-invalid-authorized-parties",
            Reason::TokenInvalidSignature => "token-invalid-signature",
            Reason::TokenVerificationFailed => "token-verification-failed",
            Reason::TokenExpired => "token-expired",
            Reason::TokenNotActiveYet => "token-not-active-yet",
            Reason::TokenIatInTheFuture => "token-iat-in-the-future",
            Reason::SecretKeyInvalid => "secret-key-invalid",
            Reason::RemoteJwkFailedToLoad => "jwk-remote-failed-to-load",
            Reason::JwkFailedToResolve => "jwk-failed-to-resolve",
            Reason::JwkKidMismatch => "jwk-kid-mismatch",
            Reason::SessionTokenExpiredNoRefreshCookie => {
                "session-token-expired-refresh-non-eligible-no-refresh-cookie"
            }
            Reason::SessionTokenExpiredNonGet => {
                "session-token-expired-refresh-non-eligible-non-get"
            }
            Reason::SessionTokenNbf => "session-token-nbf",
            Reason::SessionTokenIatInTheFuture => "session-token-iat-in-the-future",
            Reason::SessionTokenAndUatMissing => "session-token-and-uat-missing",
            Reason::SessionTokenWithoutClientUat => "session-token-but-no-client-uat",
            Reason::ClientUatWithoutSessionToken => "client-uat-but-no-session-token",
            Reason::SessionTokenIatBeforeClientUat => "session-token-iat-before-client-uat",
            Reason::DevBrowserMissing => "dev-browser-missing",
            Reason::DevBrowserSync => "dev-browser-sync",
            Reason::PrimaryRespondsToSyncing => "primary-responds-to-syncing",
            Reason::PrimaryDomainCrossOriginSync => "primary-domain-cross-origin-sync",
            Reason::TokenTypeMismatch => "token-type-mismatch",
            Reason::UnexpectedError => "unexpected-error",
            Reason::NoTokenInHeader => "No token in header",
            Reason::SessionPending => "session-pending",
            Reason::SessionTokenExpiredRefresh(full) => full,
            Reason::SatelliteCookieNeedsSyncing => "satellite-needs-syncing",
            Reason::SessionTokenMissing => "session-token-missing",
            Reason::ActiveOrganizationMismatch => "active-organization-mismatch",
        }
    }

    /// Whether this reason means the keys could not be obtained (not the client's fault).
    pub const fn is_key_source_outage(self) -> bool {
        matches!(
            self,
            Reason::RemoteJwkFailedToLoad | Reason::SecretKeyInvalid
        )
    }
}

impl serde::Serialize for Reason {
    /// As Clerk's string (`"token-expired"`).
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.as_str())
    }
}

impl fmt::Display for Reason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The error a request fails with: what [`ClerkRequireAuth`](crate::ClerkRequireAuth) passes to
/// actix's error chain for a signed-out (or, with [`require`](crate::ClerkRequireAuth::require),
/// unauthorized) request, and what the extractors and [`Auth::protect`](crate::Auth::protect)
/// return.
///
/// Its [`ResponseError`] answer (JSON bodies, `content-type: application/json`):
/// - signed out → `401`, `WWW-Authenticate: Bearer` (`Bearer error="invalid_token"` when a
///   token was presented), `{"error":"unauthenticated","reason":"<Clerk's reason>"}`;
/// - key source unavailable → `503`, `Retry-After: <seconds>`,
///   `{"error":"authentication_unavailable","reason":"<reason>"}`;
/// - check failed → `403`, `{"error":"forbidden"}`; only reverification missing → `403` with
///   Clerk's reverification body; hidden route → `404`, empty;
/// - middleware missing → `500`, text naming the misconfiguration;
/// - webhook refused → `400` (`413` for a body over the limit),
///   `{"error":"invalid_webhook","reason":"<WebhookError::reason>"}`; no
///   [`WebhookVerifier`](crate::WebhookVerifier) on the route → `500`, text naming it.
///
/// Override it with the middleware's `on_error` hook or with actix's `ErrorHandlers`.
/// Neither `Display`, `Debug` nor the response ever contain the token.
#[derive(Debug, Clone, thiserror::Error)]
#[non_exhaustive]
pub enum ClerkError {
    /// The request is signed out.
    #[error("unauthenticated ({reason})")]
    Unauthenticated {
        /// Clerk's reason.
        reason: Reason,
        /// Clerk's message (may be empty).
        message: String,
        /// Whether the request presented a token (header or cookie).
        token_presented: bool,
    },
    /// The instance's keys, or Clerk's Backend API verifying a machine token, could not be
    /// reached (or the bound on machine-token verifications was hit), so no decision could be
    /// made.
    #[error("authentication keys unavailable ({reason})")]
    KeysUnavailable {
        /// `jwk-remote-failed-to-load`, `secret-key-invalid`, or `unexpected-error` (Backend API).
        reason: Reason,
        /// What went wrong, without secrets.
        message: String,
        /// Seconds after which a retry is worthwhile.
        retry_after_secs: u64,
    },
    /// Signed in, but a required check ([`ClerkRequireAuth::require`](crate::ClerkRequireAuth::require),
    /// [`Auth::protect`](crate::Auth::protect)) fails: `403` with
    /// `{"error":"forbidden"}`.
    #[error("forbidden: the session does not pass the route's check")]
    Forbidden,
    /// Signed in, and the check fails only for want of a recent enough factor verification:
    /// `403` with Clerk's reverification body,
    /// `{"clerk_error":{"type":"forbidden","reason":"reverification-error","metadata":{"reverification":<the asked configuration>}}}`,
    /// which Clerk's frontend (`useReverification`) answers by asking the user to verify
    /// again and retrying.
    #[error("reverification required")]
    ReverificationRequired {
        /// The reverification the check asked for.
        reverification: crate::auth::Reverification,
    },
    /// Signed in, a required check fails, and the route hides itself
    /// ([`ClerkRequireAuth::not_found_when_forbidden`](crate::ClerkRequireAuth::not_found_when_forbidden),
    /// as Clerk's `auth.protect()` does in Next.js): `404` with an empty body.
    #[error("not found")]
    NotFound,
    /// A handler asked for authentication but neither middleware runs on its route.
    #[error("ClerkWithAuth or ClerkRequireAuth must wrap this route to use the Clerk extractors")]
    MissingMiddleware,
    /// A webhook delivery was refused by the [`ClerkWebhook`](crate::ClerkWebhook) extractor.
    #[error("webhook refused: {0}")]
    Webhook(crate::webhook::WebhookError),
    /// The session claims asked of [`Auth::claims_as`](crate::Auth::claims_as) are missing
    /// (`401`) or do not have the asked shape (`403`), answered as [`ClaimsError`](crate::ClaimsError)
    /// answers; converted by `?` in a handler returning `Result<_, ClerkError>`.
    #[error(transparent)]
    Claims(crate::auth::ClaimsError),
}

impl From<crate::auth::ClaimsError> for ClerkError {
    fn from(e: crate::auth::ClaimsError) -> Self {
        ClerkError::Claims(e)
    }
}

impl ClerkError {
    /// Clerk's reason, when the request was decided.
    pub fn reason(&self) -> Option<Reason> {
        match self {
            ClerkError::Unauthenticated { reason, .. }
            | ClerkError::KeysUnavailable { reason, .. } => Some(*reason),
            ClerkError::Forbidden
            | ClerkError::ReverificationRequired { .. }
            | ClerkError::NotFound
            | ClerkError::MissingMiddleware
            | ClerkError::Webhook(_)
            | ClerkError::Claims(_) => None,
        }
    }

    /// Clerk's message, when the request was decided (may be empty); for a refused webhook,
    /// what is wrong with it.
    pub fn message(&self) -> &str {
        match self {
            ClerkError::Unauthenticated { message, .. }
            | ClerkError::KeysUnavailable { message, .. } => message,
            ClerkError::Webhook(err) => err.message(),
            ClerkError::Forbidden
            | ClerkError::Claims(_)
            | ClerkError::ReverificationRequired { .. }
            | ClerkError::NotFound
            | ClerkError::MissingMiddleware => "",
        }
    }
}

impl ResponseError for ClerkError {
    fn status_code(&self) -> StatusCode {
        match self {
            ClerkError::Unauthenticated { .. } => StatusCode::UNAUTHORIZED,
            ClerkError::KeysUnavailable { .. } => StatusCode::SERVICE_UNAVAILABLE,
            ClerkError::Forbidden | ClerkError::ReverificationRequired { .. } => {
                StatusCode::FORBIDDEN
            }
            ClerkError::NotFound => StatusCode::NOT_FOUND,
            ClerkError::MissingMiddleware => StatusCode::INTERNAL_SERVER_ERROR,
            ClerkError::Webhook(err) => err.status_code(),
            ClerkError::Claims(err) => err.status_code(),
        }
    }

    fn error_response(&self) -> HttpResponse {
        let mut res = HttpResponse::build(self.status_code());
        match self {
            ClerkError::Unauthenticated {
                reason,
                token_presented,
                ..
            } => {
                let challenge = if *token_presented {
                    "Bearer error=\"invalid_token\""
                } else {
                    "Bearer"
                };
                res.insert_header((
                    header::WWW_AUTHENTICATE,
                    HeaderValue::from_static(challenge),
                ));
                res.content_type("application/json").body(format!(
                    "{{\"error\":\"unauthenticated\",\"reason\":\"{}\"}}",
                    reason.as_str()
                ))
            }
            ClerkError::KeysUnavailable {
                reason,
                retry_after_secs,
                ..
            } => {
                res.insert_header((header::RETRY_AFTER, *retry_after_secs));
                res.content_type("application/json").body(format!(
                    "{{\"error\":\"authentication_unavailable\",\"reason\":\"{}\"}}",
                    reason.as_str()
                ))
            }
            ClerkError::Forbidden => res
                .content_type("application/json")
                .body("{\"error\":\"forbidden\"}"),
            ClerkError::ReverificationRequired { reverification } => res
                .content_type("application/json")
                .body(reverification_body(*reverification)),
            ClerkError::NotFound => res.finish(),
            ClerkError::MissingMiddleware => res
                .content_type("text/plain; charset=utf-8")
                .body("server misconfiguration: Clerk middleware missing on this route"),
            ClerkError::Webhook(crate::webhook::WebhookError::NotConfigured) => res
                .content_type("text/plain; charset=utf-8")
                .body("server misconfiguration: no WebhookVerifier for this route"),
            ClerkError::Webhook(crate::webhook::WebhookError::AlreadyProcessed) => res
                .content_type("application/json")
                .body("{\"status\":\"already_processed\"}"),
            ClerkError::Webhook(crate::webhook::WebhookError::InProgress) => {
                res.insert_header((header::RETRY_AFTER, 30));
                res.content_type("application/json")
                    .body("{\"error\":\"webhook_in_progress\",\"reason\":\"in-progress\"}")
            }
            ClerkError::Webhook(err) => res.content_type("application/json").body(format!(
                "{{\"error\":\"invalid_webhook\",\"reason\":\"{}\"}}",
                err.reason()
            )),
            ClerkError::Claims(err) => err.error_response(),
        }
    }
}

/// `JSON.stringify(reverificationError(config))` of Clerk's `@clerk/shared`.
fn reverification_body(reverification: crate::auth::Reverification) -> String {
    let config = serde_json::to_string(&reverification).unwrap_or_else(|_| "null".into());
    format!(
        "{{\"clerk_error\":{{\"type\":\"forbidden\",\"reason\":\"reverification-error\",\"metadata\":{{\"reverification\":{config}}}}}}}"
    )
}

/// A configuration problem, found when the configuration is built.
///
/// Its message says what to set; `Debug` shows the same message after the variant's name, so
/// `main` returning `Result<_, Box<dyn Error>>` (or an `io::Error` made from it) prints it
/// readably.
#[derive(Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ConfigError {
    /// No way to verify tokens: neither a PEM key nor a secret key.
    #[error("no verification key: set CLERK_JWT_KEY (the instance's PEM public key) or CLERK_SECRET_KEY (sk_live_… / sk_test_…)")]
    MissingKey,
    /// The secret key does not look like one.
    #[error("CLERK_SECRET_KEY is malformed: expected sk_live_… or sk_test_…")]
    InvalidSecretKey,
    /// The machine secret key is empty or contains white space.
    #[error("CLERK_MACHINE_SECRET_KEY is malformed: expected the machine secret key shown in the Clerk dashboard")]
    InvalidMachineSecretKey,
    /// A middleware accepts machine tokens of a kind this configuration cannot verify.
    #[error("this configuration cannot verify {0} tokens: set CLERK_SECRET_KEY (or, for m2m_token, CLERK_MACHINE_SECRET_KEY)")]
    CannotVerify(crate::machine::TokenKind),
    /// The publishable key cannot be decoded.
    #[error("CLERK_PUBLISHABLE_KEY is malformed ({0}): expected pk_live_… or pk_test_… as shown in the Clerk dashboard")]
    InvalidPublishableKey(&'static str),
    /// The PEM key cannot be parsed as an RSA public key.
    #[error("CLERK_JWT_KEY is not an RSA public key in PEM form (-----BEGIN PUBLIC KEY-----…) or its base64 body")]
    InvalidJwtKey,
    /// The API URL is not an absolute http(s) URL.
    #[error("CLERK_API_URL must be an absolute http:// or https:// URL, got {0:?}")]
    InvalidApiUrl(String),
    /// The API version is not a single path segment.
    #[error("CLERK_API_VERSION must be a path segment such as v1, got {0:?}")]
    InvalidApiVersion(String),
    /// An authorized party is empty.
    #[error("authorized parties must be non-empty origins such as https://app.example.com")]
    InvalidAuthorizedParty,
    /// An environment variable is not valid UTF-8.
    #[error("environment variable {0} is not valid UTF-8")]
    NotUnicode(&'static str),
    /// A duration setting is out of range.
    #[error("{0} is out of range")]
    InvalidDuration(&'static str),
    /// No webhook signing secret.
    #[error("no webhook signing secret: set CLERK_WEBHOOK_SIGNING_SECRET to the endpoint's signing secret (whsec_…) from the Clerk Dashboard")]
    MissingWebhookSecret,
    /// The webhook signing secret is not `whsec_` followed by base64.
    #[error("the webhook signing secret is malformed: expected whsec_ followed by base64, as the Clerk Dashboard shows it")]
    InvalidWebhookSecret,
    /// A satellite without a domain or a proxy URL (Clerk's own configuration error).
    #[error("Missing domain and proxyUrl. A satellite application needs to specify a domain or a proxyUrl (set CLERK_DOMAIN or CLERK_PROXY_URL)")]
    SatelliteWithoutDomain,
    /// A development satellite without a sign-in URL (Clerk's own configuration error).
    #[error("Missing signInUrl. Pass a signInUrl for dev instances if an app is satellite (set CLERK_SIGN_IN_URL)")]
    SatelliteWithoutSignInUrl,
    /// The sign-in URL is not an absolute URL where one is needed.
    #[error("The signInUrl needs to have a absolute url format (CLERK_SIGN_IN_URL), got {0:?}")]
    InvalidSignInUrl(String),
    /// The proxy URL is neither an absolute http(s) URL nor a path starting with `/`.
    #[error(
        "CLERK_PROXY_URL must be an absolute http(s) URL or a path starting with /, got {0:?}"
    )]
    InvalidProxyUrl(String),
    /// An organisation sync pattern cannot be compiled as Clerk compiles it.
    #[error("invalid organization sync pattern: {0}")]
    InvalidOrganizationPattern(String),
    /// `CLERK_DEV_OFFLINE` in a release build: offline development (a local key standing in
    /// for the instance's) exists only in debug builds.
    #[error("CLERK_DEV_OFFLINE is set in a release build: offline development (a local key instead of your Clerk instance's) works only in debug builds; unset it")]
    OfflineInRelease,
    /// The offline development folder could not be read or written.
    #[error("offline development setup failed: {0}")]
    OfflineSetup(String),
    /// A Backend API client without a secret key.
    #[error(
        "no secret key: set CLERK_SECRET_KEY (sk_live_… / sk_test_…) to call Clerk's Backend API"
    )]
    MissingSecretKey,
    /// Several problems in one configuration, all reported at once (each is one of the other
    /// variants).
    #[error("{} configuration problems:{}", .0.len(), .0.iter().map(|e| format!("\n  - {e}")).collect::<String>())]
    Several(Vec<ConfigError>),
    /// `CLERK_IS_SATELLITE` is neither `true` nor `false`.
    #[error("CLERK_IS_SATELLITE must be true or false, got {0:?}")]
    InvalidIsSatellite(String),
    /// The shared store's URL (`REDIS_URL`) is not a Redis URL (feature `redis`).
    #[error("REDIS_URL must be a Redis URL: redis://[user:password@]host[:port][/db] or rediss://… for TLS")]
    InvalidRedisUrl,
    /// The shared store was created outside a Tokio runtime (feature `redis`).
    #[error("the shared store must be created inside a Tokio runtime (in actix's main, or within HttpServer::new)")]
    NoRuntime,
}

impl ConfigError {
    /// One problem as itself, several as [`ConfigError::Several`].
    pub(crate) fn from_list(mut errors: Vec<ConfigError>) -> ConfigError {
        match errors.len() {
            1 => errors.remove(0),
            _ => ConfigError::Several(errors),
        }
    }

    /// Every problem this error reports (itself, or each of [`ConfigError::Several`]).
    pub fn problems(&self) -> &[ConfigError] {
        match self {
            ConfigError::Several(list) => list,
            one => std::slice::from_ref(one),
        }
    }
}

impl fmt::Debug for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let variant = match self {
            ConfigError::MissingKey => "MissingKey",
            ConfigError::InvalidSecretKey => "InvalidSecretKey",
            ConfigError::InvalidMachineSecretKey => "InvalidMachineSecretKey",
            ConfigError::CannotVerify(_) => "CannotVerify",
            ConfigError::InvalidPublishableKey(_) => "InvalidPublishableKey",
            ConfigError::InvalidJwtKey => "InvalidJwtKey",
            ConfigError::InvalidApiUrl(_) => "InvalidApiUrl",
            ConfigError::InvalidApiVersion(_) => "InvalidApiVersion",
            ConfigError::InvalidAuthorizedParty => "InvalidAuthorizedParty",
            ConfigError::NotUnicode(_) => "NotUnicode",
            ConfigError::InvalidDuration(_) => "InvalidDuration",
            ConfigError::MissingWebhookSecret => "MissingWebhookSecret",
            ConfigError::InvalidWebhookSecret => "InvalidWebhookSecret",
            ConfigError::SatelliteWithoutDomain => "SatelliteWithoutDomain",
            ConfigError::SatelliteWithoutSignInUrl => "SatelliteWithoutSignInUrl",
            ConfigError::InvalidSignInUrl(_) => "InvalidSignInUrl",
            ConfigError::InvalidProxyUrl(_) => "InvalidProxyUrl",
            ConfigError::InvalidIsSatellite(_) => "InvalidIsSatellite",
            ConfigError::InvalidOrganizationPattern(_) => "InvalidOrganizationPattern",
            ConfigError::Several(_) => "Several",
            ConfigError::MissingSecretKey => "MissingSecretKey",
            ConfigError::OfflineInRelease => "OfflineInRelease",
            ConfigError::OfflineSetup(_) => "OfflineSetup",
            ConfigError::InvalidRedisUrl => "InvalidRedisUrl",
            ConfigError::NoRuntime => "NoRuntime",
        };
        write!(f, "{variant}: {self}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn config_errors_debug_as_their_message() {
        let text = format!("{:?}", std::io::Error::other(ConfigError::MissingKey));
        assert!(
            text.contains("MissingKey: no verification key: set CLERK_JWT_KEY"),
            "{text}"
        );
    }

    #[test]
    fn reasons_serialise_as_clerk_strings() {
        let json = serde_json::to_string(&Reason::SessionTokenExpiredNonGet).unwrap(); // ok: test
        assert_eq!(
            json,
            "\"session-token-expired-refresh-non-eligible-non-get\""
        );
    }
}
