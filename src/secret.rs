//! A secret value that never prints itself.

use std::fmt;

/// A secret (the instance's secret key) whose `Debug` shows only its first 7 characters, as
/// Clerk's debug output does.
#[derive(Clone, PartialEq, Eq)]
pub(crate) struct Secret(String);

impl Secret {
    pub(crate) fn new(value: String) -> Self {
        Secret(value)
    }

    /// An instance's secret key (`sk_…`, no white space), or the error saying it is not one.
    pub(crate) fn secret_key(value: String) -> Result<Self, crate::error::ConfigError> {
        if value.starts_with("sk_") && value.len() > 3 && !value.contains(char::is_whitespace) {
            Ok(Secret(value))
        } else {
            Err(crate::error::ConfigError::InvalidSecretKey)
        }
    }

    /// The value, for the one place it is sent (the `Authorization` header of a Backend API
    /// call).
    pub(crate) fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let shown: String = self.0.chars().take(7).collect();
        write!(f, "\"{shown}…\"")
    }
}
