//! Offline development: an application run on a developer's machine with no Clerk account.
//! A local RSA key (kept in a folder, so it survives restarts) stands in for the instance's
//! key, and session tokens signed by it are written next to it, ready for `curl`.
//!
//! Only debug builds honour it (`cfg(debug_assertions)`, which `cargo build --release` turns
//! off): a release build asked for it refuses to start with
//! [`ConfigError::OfflineInRelease`](crate::ConfigError::OfflineInRelease), so a production
//! binary can never verify tokens with a developer's key, not even with the variable set by
//! mistake.

use std::path::{Path, PathBuf};
use std::time::{SystemTime, UNIX_EPOCH};

use aws_lc_rs::encoding::{AsDer, Pkcs8V1Der};
use aws_lc_rs::rand::{SecureRandom as _, SystemRandom};
use aws_lc_rs::signature::{KeyPair as _, RsaKeyPair, RSA_PKCS1_SHA256};
use base64::Engine as _;

use crate::error::ConfigError;

/// `CLERK_DEV_OFFLINE=1`: [`ClerkConfig::from_env`](crate::ClerkConfig::from_env) and
/// [`WebhookVerifier::from_env`](crate::WebhookVerifier::from_env) use the local development
/// key and secret (debug builds only).
pub const OFFLINE_ENV: &str = "CLERK_DEV_OFFLINE";
/// `CLERK_DEV_DIR`: where the local key, secret and tokens live (default `.clerk-dev`).
pub const OFFLINE_DIR_ENV: &str = "CLERK_DEV_DIR";
const DEFAULT_DIR: &str = ".clerk-dev";
const KID: &str = "ins_offline_development";
const ISSUER: &str = "https://offline.clerk.invalid";
/// How long the written tokens stay valid (they are written anew at every start).
const TOKEN_LIFETIME_SECS: u64 = 24 * 60 * 60;

/// What the local development setup gives the configuration.
pub(crate) struct Offline {
    pub public_pem: String,
    pub webhook_secret: String,
}

/// Whether `CLERK_DEV_OFFLINE` asks for offline development.
pub(crate) fn requested() -> bool {
    std::env::var(OFFLINE_ENV).is_ok_and(|v| matches!(v.trim(), "1" | "true" | "yes"))
}

/// The folder of the local setup: `CLERK_DEV_DIR`, else `.clerk-dev`.
pub(crate) fn dir_from_env() -> PathBuf {
    std::env::var_os(OFFLINE_DIR_ENV)
        .filter(|d| !d.is_empty())
        .map_or_else(|| PathBuf::from(DEFAULT_DIR), PathBuf::from)
}

/// The release-build guard: offline development exists only where debug assertions are on.
pub(crate) fn allowed(debug_build: bool) -> Result<(), ConfigError> {
    if debug_build {
        Ok(())
    } else {
        Err(ConfigError::OfflineInRelease)
    }
}

fn io_error(what: &str, path: &Path, e: &std::io::Error) -> ConfigError {
    ConfigError::OfflineSetup(format!("{what} {}: {e}", path.display()))
}

fn write_private(path: &Path, text: &str) -> Result<(), ConfigError> {
    std::fs::write(path, text).map_err(|e| io_error("cannot write", path, &e))?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        let _ = std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600));
    }
    Ok(())
}

/// DER bytes as a PEM block of `label`, 64 characters a line.
pub(crate) fn pem(label: &str, der: &[u8]) -> String {
    let body = base64::engine::general_purpose::STANDARD.encode(der);
    let mut out = format!("-----BEGIN {label}-----\n");
    for chunk in body.as_bytes().chunks(64) {
        out.push_str(&String::from_utf8_lossy(chunk));
        out.push('\n');
    }
    out.push_str(&format!("-----END {label}-----\n"));
    out
}

/// The DER bytes of a PEM text's first block of `label`, if any.
pub(crate) fn pem_der(text: &str, label: &str) -> Option<Vec<u8>> {
    let begin = format!("-----BEGIN {label}-----");
    let end = format!("-----END {label}-----");
    let start = text.find(&begin)? + begin.len();
    let stop = start + text[start..].find(&end)?;
    let body: String = text[start..stop]
        .chars()
        .filter(|c| !c.is_ascii_whitespace())
        .collect();
    base64::engine::general_purpose::STANDARD.decode(body).ok()
}

/// Loads the folder's key, or makes one (and the webhook secret), and writes fresh tokens.
pub(crate) fn setup(dir: &Path) -> Result<Offline, ConfigError> {
    allowed(cfg!(debug_assertions))?;
    std::fs::create_dir_all(dir).map_err(|e| io_error("cannot create", dir, &e))?;
    let key_path = dir.join("key.pem");
    let pair = match std::fs::read_to_string(&key_path) {
        Ok(text) => pem_der(&text, "PRIVATE KEY")
            .and_then(|der| RsaKeyPair::from_pkcs8(&der).ok())
            .ok_or_else(|| {
                ConfigError::OfflineSetup(format!(
                    "{} is not a PKCS#8 RSA key (delete it to make a new one)",
                    key_path.display()
                ))
            })?,
        Err(_) => {
            let pair = RsaKeyPair::generate(aws_lc_rs::rsa::KeySize::Rsa2048)
                .map_err(|_| ConfigError::OfflineSetup("RSA key generation failed".into()))?;
            let der: Pkcs8V1Der<'_> = pair
                .as_der()
                .map_err(|_| ConfigError::OfflineSetup("cannot encode the key".into()))?;
            write_private(&key_path, &pem("PRIVATE KEY", der.as_ref()))?;
            pair
        }
    };
    let public = pair
        .public_key()
        .as_der()
        .map_err(|_| ConfigError::OfflineSetup("cannot encode the public key".into()))?;
    let public_pem = pem("PUBLIC KEY", public.as_ref());
    let public_path = dir.join("public.pem");
    std::fs::write(&public_path, &public_pem)
        .map_err(|e| io_error("cannot write", &public_path, &e))?;
    let secret_path = dir.join("webhook-secret");
    let webhook_secret = match std::fs::read_to_string(&secret_path) {
        Ok(s) if s.trim().starts_with("whsec_") => s.trim().to_owned(),
        _ => {
            let mut bytes = [0u8; 32];
            SystemRandom::new()
                .fill(&mut bytes)
                .map_err(|_| ConfigError::OfflineSetup("no randomness".into()))?;
            let secret = format!(
                "whsec_{}",
                base64::engine::general_purpose::STANDARD.encode(bytes)
            );
            write_private(&secret_path, &secret)?;
            secret
        }
    };
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    let tokens = [
        (
            "session-token",
            serde_json::json!({"sub": "user_dev", "sid": "sess_dev"}),
        ),
        (
            "session-token-org-admin",
            serde_json::json!({
                "sub": "user_dev_admin", "sid": "sess_dev_admin",
                "o": {"id": "org_dev", "slg": "dev", "rol": "admin", "per": "manage", "fpm": "1"},
                "fea": "o:projects",
            }),
        ),
    ];
    for (file, mut claims) in tokens {
        if let Some(map) = claims.as_object_mut() {
            map.insert("iss".into(), ISSUER.into());
            map.insert("iat".into(), now.into());
            map.insert("nbf".into(), now.saturating_sub(5).into());
            map.insert("exp".into(), (now + TOKEN_LIFETIME_SECS).into());
            map.insert("sts".into(), "active".into());
            map.insert("v".into(), 2.into());
            map.insert("fva".into(), serde_json::json!([0, 0]));
        }
        let token = sign(&pair, &claims)?;
        write_private(&dir.join(file), &token)?;
    }
    tracing::warn!(
        dir = %dir.display(),
        "clerk: OFFLINE DEVELOPMENT — tokens are verified with the local key in this folder \
         (session-token, session-token-org-admin: paste them into curl); debug builds only"
    );
    Ok(Offline {
        public_pem,
        webhook_secret,
    })
}

fn sign(pair: &RsaKeyPair, claims: &serde_json::Value) -> Result<String, ConfigError> {
    let b64 = |b: &[u8]| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(b);
    let header = format!(r#"{{"alg":"RS256","kid":"{KID}","typ":"JWT"}}"#);
    let input = format!(
        "{}.{}",
        b64(header.as_bytes()),
        b64(claims.to_string().as_bytes())
    );
    let mut sig = vec![0; pair.public_modulus_len()];
    pair.sign(
        &RSA_PKCS1_SHA256,
        &SystemRandom::new(),
        input.as_bytes(),
        &mut sig,
    )
    .map_err(|_| ConfigError::OfflineSetup("RSA signing failed".into()))?;
    Ok(format!("{input}.{}", b64(&sig)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn release_builds_refuse() {
        assert_eq!(allowed(false), Err(ConfigError::OfflineInRelease));
        assert!(allowed(true).is_ok());
    }
}
