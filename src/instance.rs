//! The instance a publishable key names: development or production, its frontend API host,
//! and the suffix of its cookie names.

use base64::Engine as _;
use sha1::{Digest as _, Sha1};

use crate::error::ConfigError;

/// Whether the instance is a development (`pk_test_`) or production (`pk_live_`) one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum InstanceType {
    /// `pk_live_…`
    Production,
    /// `pk_test_…`
    Development,
}

/// A parsed publishable key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct PublishableKey {
    pub instance: InstanceType,
    /// The frontend API host the key encodes, e.g. `clerk.example.com`.
    pub frontend_api: String,
    /// `_` + the first 8 characters of URL-safe base64 of SHA-1 of the key.
    pub cookie_suffix: String,
}

impl PublishableKey {
    pub(crate) fn parse(key: &str) -> Result<Self, ConfigError> {
        let instance = if key.starts_with("pk_live_") {
            InstanceType::Production
        } else if key.starts_with("pk_test_") {
            InstanceType::Development
        } else {
            return Err(ConfigError::InvalidPublishableKey("unknown prefix"));
        };
        let parts: Vec<&str> = key.split('_').collect();
        let [_, _, encoded] = parts.as_slice() else {
            return Err(ConfigError::InvalidPublishableKey("unexpected underscores"));
        };
        let decoded = forgiving_base64(encoded)
            .and_then(|b| String::from_utf8(b).ok())
            .ok_or(ConfigError::InvalidPublishableKey("not base64"))?;
        let host = decoded
            .strip_suffix('$')
            .filter(|h| !h.contains('$') && h.contains('.'))
            .ok_or(ConfigError::InvalidPublishableKey(
                "does not encode a frontend API host",
            ))?;
        let digest = Sha1::digest(key.as_bytes());
        let suffix: String = base64::engine::general_purpose::URL_SAFE
            .encode(digest)
            .chars()
            .take(8)
            .collect();
        Ok(PublishableKey {
            instance,
            frontend_api: host.to_owned(),
            cookie_suffix: suffix,
        })
    }
}

/// `atob`: standard base64, padding optional, ASCII whitespace ignored.
fn forgiving_base64(s: &str) -> Option<Vec<u8>> {
    let compact: String = s.chars().filter(|c| !c.is_ascii_whitespace()).collect();
    let trimmed = if compact.len().is_multiple_of(4) {
        compact
            .strip_suffix("==")
            .or_else(|| compact.strip_suffix('='))
            .unwrap_or(&compact)
    } else {
        &compact
    };
    base64::engine::general_purpose::STANDARD_NO_PAD
        .decode(trimmed)
        .ok()
}
