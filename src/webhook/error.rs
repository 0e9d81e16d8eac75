//! Why a webhook delivery is refused.

use std::fmt;

use actix_web::http::StatusCode;

use crate::error::ClerkError;

/// Why a webhook delivery was refused: the payload of [`ClerkError::Webhook`].
///
/// [`reason`](WebhookError::reason) is the short string the default response carries;
/// [`message`](WebhookError::message) says more (for the missing headers, Clerk's own message
/// naming them). Neither ever contains the signing secret, a signature or the body.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum WebhookError {
    /// No [`WebhookVerifier`](crate::WebhookVerifier) in the app data of the route (`500`).
    NotConfigured,
    /// `svix-id`, `svix-timestamp` or `svix-signature` is absent or blank (or, for a delivery
    /// with `webhook-*` headers only, one of those). Holds Clerk's message, which names them:
    /// `Missing required webhook headers: svix-id, svix-signature`.
    MissingHeaders(&'static str),
    /// The timestamp header does not start with an integer.
    InvalidTimestamp,
    /// The timestamp is more than 5 minutes in the past.
    TimestampTooOld,
    /// The timestamp is more than 5 minutes in the future.
    TimestampTooNew,
    /// The body is larger than the verifier's limit (`413`).
    BodyTooLarge {
        /// The limit, in bytes.
        limit: usize,
    },
    /// The body could not be read (the client went away, a broken chunked encoding…).
    BodyUnreadable,
    /// No `v1` signature of the signature header matches the body.
    NoMatchingSignature,
    /// The signed body is not a Clerk event: not JSON, or not an object with a string `type`.
    InvalidPayload,
    /// With replay protection on, this exact signed delivery was already accepted.
    Replayed,
    /// Under [`WebhookVerifier::once`](crate::WebhookVerifier::once): the delivery was already
    /// processed (its handler answered `2xx`). Not a failure: the default response is `200`
    /// `{"status":"already_processed"}`, which tells Svix to stop; an override must answer
    /// `2xx` too.
    AlreadyProcessed,
    /// Under [`WebhookVerifier::once`](crate::WebhookVerifier::once): another request is
    /// processing this delivery now. `409` with `Retry-After: 30`: Svix retries later, and the
    /// retry is processed if the first attempt failed.
    InProgress,
}

impl WebhookError {
    /// A short, stable string naming the failure (`no-matching-signature`, …), as the default
    /// response's `reason`.
    pub const fn reason(&self) -> &'static str {
        match self {
            WebhookError::NotConfigured => "not-configured",
            WebhookError::MissingHeaders(_) => "missing-headers",
            WebhookError::InvalidTimestamp => "invalid-timestamp",
            WebhookError::TimestampTooOld => "timestamp-too-old",
            WebhookError::TimestampTooNew => "timestamp-too-new",
            WebhookError::BodyTooLarge { .. } => "body-too-large",
            WebhookError::BodyUnreadable => "body-unreadable",
            WebhookError::NoMatchingSignature => "no-matching-signature",
            WebhookError::InvalidPayload => "invalid-payload",
            WebhookError::Replayed => "replayed",
            WebhookError::AlreadyProcessed => "already-processed",
            WebhookError::InProgress => "in-progress",
        }
    }

    /// What is wrong, in a sentence (no secrets, signatures or body).
    pub const fn message(&self) -> &'static str {
        match self {
            WebhookError::NotConfigured => {
                "no WebhookVerifier in the app data of this route: add one with App::app_data"
            }
            WebhookError::MissingHeaders(message) => message,
            WebhookError::InvalidTimestamp => "the webhook timestamp header is not an integer",
            WebhookError::TimestampTooOld => "the webhook timestamp is too old",
            WebhookError::TimestampTooNew => "the webhook timestamp is too far in the future",
            WebhookError::BodyTooLarge { .. } => "the webhook body is larger than the limit",
            WebhookError::BodyUnreadable => "the webhook body could not be read",
            WebhookError::NoMatchingSignature => "no matching webhook signature found",
            WebhookError::InvalidPayload => "the signed webhook body is not a Clerk event",
            WebhookError::Replayed => "this webhook delivery was already received",
            WebhookError::AlreadyProcessed => "this webhook delivery was already processed",
            WebhookError::InProgress => "this webhook delivery is being processed",
        }
    }

    /// The status of the default response: `500` for [`NotConfigured`](Self::NotConfigured),
    /// `413` for [`BodyTooLarge`](Self::BodyTooLarge), `200` for
    /// [`AlreadyProcessed`](Self::AlreadyProcessed), `409` for [`InProgress`](Self::InProgress),
    /// `400` otherwise.
    pub const fn status_code(&self) -> StatusCode {
        match self {
            WebhookError::NotConfigured => StatusCode::INTERNAL_SERVER_ERROR,
            WebhookError::BodyTooLarge { .. } => StatusCode::PAYLOAD_TOO_LARGE,
            WebhookError::AlreadyProcessed => StatusCode::OK,
            WebhookError::InProgress => StatusCode::CONFLICT,
            _ => StatusCode::BAD_REQUEST,
        }
    }
}

impl fmt::Display for WebhookError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            WebhookError::BodyTooLarge { limit } => {
                write!(f, "{} ({limit} bytes)", self.message())
            }
            _ => f.write_str(self.message()),
        }
    }
}

impl std::error::Error for WebhookError {}

impl From<WebhookError> for ClerkError {
    fn from(err: WebhookError) -> Self {
        ClerkError::Webhook(err)
    }
}
