//! The one HTTP call of the key store: `GET {api_url}/{version}/jwks` with the secret key,
//! through the crate's Backend API layer with a TLS configuration of its own (no process-wide rustls provider is
//! installed or needed).

use std::sync::{Arc, OnceLock};
use std::time::Duration;

use super::KeyFailure;
use crate::error::Reason;
use crate::secret::Secret;

/// Clerk's action text for key-source problems.
pub(crate) const ACTION_CONTACT_SUPPORT: &str = "Contact support@clerk.com";
const MAX_JWKS_BODY: usize = 256 * 1024;

/// A JWKS body as received, or why there is none.
pub(crate) struct Fetched {
    pub status: u16,
    pub body: Vec<u8>,
}

/// rustls with aws-lc-rs and the webpki roots, built once per process and given to reqwest
/// explicitly: the application's own process-wide provider (if any) is neither needed nor
/// touched. `None` when rustls refuses the provider (then the fetch fails, never panics).
pub(crate) fn tls_config() -> Option<Arc<rustls::ClientConfig>> {
    static CONFIG: OnceLock<Option<Arc<rustls::ClientConfig>>> = OnceLock::new();
    CONFIG
        .get_or_init(|| {
            let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
            let roots = rustls::RootCertStore {
                roots: webpki_roots::TLS_SERVER_ROOTS.to_vec(),
            };
            let mut config = rustls::ClientConfig::builder_with_provider(provider)
                .with_safe_default_protocol_versions()
                .ok()?
                .with_root_certificates(roots)
                .with_no_client_auth();
            config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
            Some(Arc::new(config))
        })
        .clone()
}

/// Clerk's message for a non-2xx JWKS answer.
pub(crate) fn failure_for_status(url: &str, status: u16) -> KeyFailure {
    failure(format!(
        "Error loading Clerk JWKS from {url} with code={status}"
    ))
}

fn failure(message: String) -> KeyFailure {
    KeyFailure {
        reason: Reason::RemoteJwkFailedToLoad,
        message,
        action: Some(ACTION_CONTACT_SUPPORT.into()),
        retry_after_secs: 1,
    }
}

/// Fetches the JWKS. Transport errors are logged with their detail and reported to clients
/// with Clerk's text and the URL only.
pub(crate) async fn fetch_jwks(
    url: &str,
    secret: &Secret,
    timeout: Duration,
) -> Result<Fetched, KeyFailure> {
    let answer = crate::backend_api::call(
        reqwest::Method::GET,
        url,
        secret,
        None,
        timeout,
        MAX_JWKS_BODY,
    )
    .await
    .map_err(|_| failure(format!("Error loading Clerk JWKS from {url}.")))?;
    Ok(Fetched {
        status: answer.status,
        body: answer.body,
    })
}
