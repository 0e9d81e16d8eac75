//! One public key, parsed once when loaded: from the configured PEM text or from a JWK.

use aws_lc_rs::signature::{self, ParsedPublicKey, RsaParameters, RsaPublicKeyComponents};
use base64::Engine as _;
use jsonwebtoken::{Algorithm, DecodingKey, DecodingKeyKind};

use crate::error::ConfigError;

/// A public key ready to verify signatures: parsed once, when loaded, for each algorithm it may
/// verify, so no request parses a key.
pub(crate) struct VerifyKey {
    /// Indexed by [`alg_index`]: RS256, RS384, RS512.
    parsed: [Option<ParsedPublicKey>; 3],
    /// The algorithm the key is bound to (`alg` of the JWK; RS256 for a PEM key, as Clerk
    /// imports it), or `None` for a JWK without `alg`.
    pub alg: Option<Algorithm>,
    /// What identifies the key material (`kid`, `alg`, modulus, exponent): a refresh that
    /// returns the same keys keeps the key set's generation, and with it the token cache.
    fingerprint: Vec<u8>,
}

impl PartialEq for VerifyKey {
    fn eq(&self, other: &Self) -> bool {
        self.alg == other.alg && self.fingerprint == other.fingerprint
    }
}

fn alg_index(alg: Algorithm) -> Option<usize> {
    match alg {
        Algorithm::RS256 => Some(0),
        Algorithm::RS384 => Some(1),
        Algorithm::RS512 => Some(2),
        _ => None,
    }
}

const RSA_PARAMS: [&RsaParameters; 3] = [
    &signature::RSA_PKCS1_2048_8192_SHA256,
    &signature::RSA_PKCS1_2048_8192_SHA384,
    &signature::RSA_PKCS1_2048_8192_SHA512,
];

/// The fields of a JWK that matter here (any may be missing or of the wrong type).
#[derive(serde::Deserialize)]
pub(crate) struct RawJwk {
    pub kid: Option<String>,
    pub kty: Option<String>,
    pub alg: Option<String>,
    pub n: Option<String>,
    pub e: Option<String>,
}

impl VerifyKey {
    /// Parses an RSA public key given as DER (PKCS#1 or SubjectPublicKeyInfo).
    fn from_der(der: &[u8], alg: Option<Algorithm>) -> Option<Self> {
        let mut parsed = [None, None, None];
        for (i, params) in RSA_PARAMS.iter().enumerate() {
            if alg.is_none_or(|a| alg_index(a) == Some(i)) {
                parsed[i] = Some(ParsedPublicKey::new(*params, der).ok()?);
            }
        }
        Some(VerifyKey {
            parsed,
            alg,
            fingerprint: der.to_vec(),
        })
    }

    /// Parses an RSA public key given as big-endian modulus and exponent (a JWK's `n`, `e`),
    /// handing the components to aws-lc-rs as they are.
    fn from_components(n: &[u8], e: &[u8], alg: Option<Algorithm>) -> Option<Self> {
        let components = RsaPublicKeyComponents { n, e };
        let mut parsed = [None, None, None];
        for (i, params) in RSA_PARAMS.iter().enumerate() {
            if alg.is_none_or(|a| alg_index(a) == Some(i)) {
                parsed[i] = Some(components.to_parsed_public_key(params).ok()?);
            }
        }
        let mut fingerprint = Vec::with_capacity(n.len() + e.len() + 8);
        fingerprint.extend_from_slice(&(n.len() as u64).to_be_bytes());
        fingerprint.extend_from_slice(n);
        fingerprint.extend_from_slice(e);
        Some(VerifyKey {
            parsed,
            alg,
            fingerprint,
        })
    }

    /// Whether `signature` is a valid `alg` signature of `message`; `None` when this key was not
    /// loaded for `alg`.
    pub(crate) fn verify(&self, alg: Algorithm, message: &[u8], signature: &[u8]) -> Option<bool> {
        let key = self.parsed[alg_index(alg)?].as_ref()?;
        Some(key.verify_sig(message, signature).is_ok())
    }

    /// Parses armoured PEM, the bare base64 body, or either with `\n` written literally.
    pub(crate) fn from_pem_text(text: &str) -> Result<Self, ConfigError> {
        let text = text.replace("\\n", "\n").replace("\\r", "");
        let text = text.trim();
        let pem = if text.contains("-----BEGIN") {
            text.to_owned()
        } else {
            let body: String = text.chars().filter(|c| !c.is_whitespace()).collect();
            if body.is_empty()
                || !body
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b"+/=".contains(&b))
            {
                return Err(ConfigError::InvalidJwtKey);
            }
            let mut pem = String::from("-----BEGIN PUBLIC KEY-----\n");
            for chunk in body.as_bytes().chunks(64) {
                pem.push_str(&String::from_utf8_lossy(chunk));
                pem.push('\n');
            }
            pem.push_str("-----END PUBLIC KEY-----\n");
            pem
        };
        let key =
            DecodingKey::from_rsa_pem(pem.as_bytes()).map_err(|_| ConfigError::InvalidJwtKey)?;
        let alg = Some(Algorithm::RS256);
        let key = match key.kind() {
            DecodingKeyKind::SecretOrDer(der) => Self::from_der(der, alg),
            DecodingKeyKind::RsaModulusExponent { n, e } => Self::from_components(n, e, alg),
        }
        .ok_or(ConfigError::InvalidJwtKey)?;
        // Build-time check that the crypto backend works with the key: a wrong signature must
        // be answered with a clean `false`.
        match key.verify(Algorithm::RS256, b"probe", &[0u8; 256]) {
            Some(false) => Ok(key),
            _ => Err(ConfigError::InvalidJwtKey),
        }
    }

    /// A usable RSA key of a JWKS with its `kid` (`"undefined"` when absent, as Clerk looks it
    /// up); `None` for any other key type, an unsupported `alg`, or damaged components.
    pub(crate) fn from_jwk(jwk: &RawJwk) -> Option<(String, Self)> {
        if jwk.kty.as_deref() != Some("RSA") {
            return None;
        }
        let alg = match jwk.alg.as_deref() {
            None => None,
            Some("RS256") => Some(Algorithm::RS256),
            Some("RS384") => Some(Algorithm::RS384),
            Some("RS512") => Some(Algorithm::RS512),
            Some(_) => return None,
        };
        let b64 = base64::engine::general_purpose::URL_SAFE_NO_PAD;
        let n = b64.decode(jwk.n.as_deref()?.trim_end_matches('=')).ok()?;
        let e = b64.decode(jwk.e.as_deref()?.trim_end_matches('=')).ok()?;
        let key = VerifyKey::from_components(&n, &e, alg)?;
        let kid = jwk.kid.clone().unwrap_or_else(|| "undefined".to_owned());
        Some((kid, key))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn jwk(n: &str, e: &str, alg: Option<&str>) -> RawJwk {
        RawJwk {
            kid: Some("k".into()),
            kty: Some("RSA".into()),
            alg: alg.map(Into::into),
            n: Some(n.into()),
            e: Some(e.into()),
        }
    }

    #[test]
    fn damaged_jwks_are_refused_without_panicking() {
        for (n, e) in [
            ("", "AQAB"),
            ("AQAB", ""),
            ("AA", "AQAB"),
            ("!!", "AQAB"),
            (&"A".repeat(342), "AQAB"),
            (&"_".repeat(342), "AA"),
        ] {
            assert!(
                VerifyKey::from_jwk(&jwk(n, e, Some("RS256"))).is_none(),
                "{n} {e}"
            );
        }
        let mut other = jwk("AQAB", "AQAB", Some("ES256"));
        assert!(VerifyKey::from_jwk(&other).is_none());
        other.kty = Some("EC".into());
        assert!(VerifyKey::from_jwk(&other).is_none());
    }
}
