//! [`ApiError`]: a failed Backend API call, as Clerk's SDK reports it.

use std::fmt;

use serde::{Deserialize, Serialize};
use serde_json::Value;

/// One entry of a Clerk error answer's `errors[]`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ApiErrorDetail {
    /// Clerk's error code (`resource_not_found`, `form_identifier_exists`, …).
    #[serde(default)]
    pub code: String,
    /// A short message.
    #[serde(default)]
    pub message: String,
    /// A longer explanation, when Clerk gives one.
    #[serde(default)]
    pub long_message: Option<String>,
    /// Details (e.g. `{"param_name": "email_address"}`), when Clerk gives them.
    #[serde(default)]
    pub meta: Option<Value>,
}

/// A failed Backend API call. Neither `Display` nor `Debug` contain the secret key.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum ApiError {
    /// Clerk answered with an error status.
    Response {
        /// The HTTP status.
        status: u16,
        /// Clerk's `errors[]` (empty when the answer had none or was not JSON).
        errors: Vec<ApiErrorDetail>,
        /// `clerk_trace_id` of the answer (or its `cf-ray` header), for Clerk's support.
        clerk_trace_id: Option<String>,
        /// `Retry-After` in seconds (`429`, `503`).
        retry_after: Option<u64>,
    },
    /// No answer within the timeout.
    Timeout,
    /// The connection failed (the detail is logged, not kept).
    Transport,
    /// An answer (or a request body) that is not the expected JSON.
    Decode {
        /// serde's message: which field, why.
        message: String,
    },
}

impl fmt::Display for ApiError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ApiError::Response { status, errors, .. } => {
                write!(f, "Clerk's Backend API answered {status}")?;
                if let Some(e) = errors.first() {
                    write!(f, ": {} ({})", e.message, e.code)?;
                }
                Ok(())
            }
            ApiError::Timeout => f.write_str("Clerk's Backend API did not answer in time"),
            ApiError::Transport => f.write_str("Clerk's Backend API could not be reached"),
            ApiError::Decode { message } => {
                write!(f, "unexpected Backend API answer: {message}")
            }
        }
    }
}

impl std::error::Error for ApiError {}

impl ApiError {
    /// The answer's status, for [`ApiError::Response`].
    pub fn status(&self) -> Option<u16> {
        match self {
            ApiError::Response { status, .. } => Some(*status),
            _ => None,
        }
    }

    /// Clerk's first error code, if any.
    pub fn code(&self) -> Option<&str> {
        match self {
            ApiError::Response { errors, .. } => errors.first().map(|e| e.code.as_str()),
            _ => None,
        }
    }

    /// `Retry-After` in seconds, if the answer had one.
    pub fn retry_after(&self) -> Option<u64> {
        match self {
            ApiError::Response { retry_after, .. } => *retry_after,
            _ => None,
        }
    }

    /// Whether the resource does not exist (`404`).
    pub fn is_not_found(&self) -> bool {
        self.status() == Some(404)
    }

    /// An error answer as Clerk's client reads it: the body is JSON only for exactly
    /// `application/json`; `errors[]`, `clerk_trace_id` (else `cf-ray`), `Retry-After`
    /// (an integer).
    pub(crate) fn from_answer(
        status: u16,
        headers: &reqwest::header::HeaderMap,
        text: &str,
    ) -> Self {
        let json = headers
            .get("content-type")
            .is_some_and(|v| v.as_bytes() == b"application/json");
        let body: Option<Value> = json.then(|| serde_json::from_str(text).ok()).flatten();
        let errors = body
            .as_ref()
            .and_then(|b| b.get("errors"))
            .and_then(|e| serde_json::from_value::<Vec<ApiErrorDetail>>(e.clone()).ok())
            .unwrap_or_default();
        let clerk_trace_id = body
            .as_ref()
            .and_then(|b| b.get("clerk_trace_id"))
            .and_then(Value::as_str)
            .map(str::to_owned)
            .or_else(|| {
                headers
                    .get("cf-ray")
                    .and_then(|v| v.to_str().ok())
                    .map(str::to_owned)
            });
        let retry_after = headers
            .get("retry-after")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.trim().parse::<u64>().ok());
        ApiError::Response {
            status,
            errors,
            clerk_trace_id,
            retry_after,
        }
    }
}
