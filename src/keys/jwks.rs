//! Reading a JWKS answer of Clerk's Backend API: the usable keys, or Clerk's error.

use std::collections::HashMap;
use std::sync::Arc;

use serde::Deserialize;

use super::fetch::{failure_for_status, Fetched, ACTION_CONTACT_SUPPORT};
use super::key::{RawJwk, VerifyKey};
use super::KeyFailure;
use crate::error::Reason;

#[derive(Deserialize)]
struct RawJwks {
    keys: Vec<serde_json::Value>,
}

#[derive(Deserialize)]
struct ApiErrors {
    errors: Vec<ApiError>,
}

#[derive(Deserialize)]
struct ApiError {
    code: Option<String>,
    message: Option<String>,
}

/// The keys of a JWKS answer by `kid`. A key that does not parse is skipped (and logged); an
/// answer with none is a failure, as is any non-2xx status (`clerk_key_invalid` →
/// `secret-key-invalid`).
pub(crate) fn parse_answer(
    url: &str,
    answer: &Fetched,
) -> Result<HashMap<String, Arc<VerifyKey>>, KeyFailure> {
    if !(200..300).contains(&answer.status) {
        if let Ok(api) = serde_json::from_slice::<ApiErrors>(&answer.body) {
            if let Some(err) = api
                .errors
                .iter()
                .find(|e| e.code.as_deref() == Some("clerk_key_invalid"))
            {
                return Err(KeyFailure {
                    reason: Reason::SecretKeyInvalid,
                    message: err
                        .message
                        .clone()
                        .unwrap_or_else(|| "The secret key is invalid.".into()),
                    action: Some(ACTION_CONTACT_SUPPORT.into()),
                    retry_after_secs: 1,
                });
            }
        }
        return Err(failure_for_status(url, answer.status));
    }
    let fail = |message: String| KeyFailure {
        reason: Reason::RemoteJwkFailedToLoad,
        message,
        action: Some(ACTION_CONTACT_SUPPORT.into()),
        retry_after_secs: 1,
    };
    let jwks: RawJwks = serde_json::from_slice(&answer.body)
        .map_err(|_| fail(format!("Invalid JWKS received from {url}.")))?;
    let mut keys = HashMap::with_capacity(jwks.keys.len());
    for raw in jwks.keys {
        match serde_json::from_value::<RawJwk>(raw)
            .ok()
            .as_ref()
            .and_then(VerifyKey::from_jwk)
        {
            Some((kid, key)) => {
                keys.insert(kid, Arc::new(key));
            }
            None => tracing::warn!(url, "clerk: skipped a JWKS key that does not parse"),
        }
    }
    if keys.is_empty() {
        return Err(fail(
            "The JWKS endpoint did not contain any signing keys. Contact support@clerk.com.".into(),
        ));
    }
    Ok(keys)
}
