//! [`TestKey`]: an RSA key pair of a pretend Clerk instance, signing whatever a test asks.

use std::fmt;
use std::sync::Arc;

use aws_lc_rs::encoding::AsDer;
use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::signature::{self, KeyPair as _, RsaKeyPair};
use base64::Engine as _;
use serde_json::{json, Value};

use super::session::SessionTokenBuilder;
use super::DEFAULT_FRONTEND_API;

/// URL-safe base64 without padding: the encoding of JWT segments (for
/// [`TestKey::sign_segments`] and hand-made tokens).
pub fn b64url(bytes: impl AsRef<[u8]>) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

/// An RSA key pair (2048 bits) with its `kid`: what a Clerk instance signs session tokens
/// with. Cloning is cheap (the key is shared).
///
/// Most tests want a [`TestInstance`](super::TestInstance), which holds one and adds the
/// instance's publishable key; a bare key is for tokens signed by other keys, JWKS of several
/// keys, and hand-made tokens (any header, any payload, any bytes):
///
/// ```
/// use actix_clerk::testing::TestKey;
/// use serde_json::json;
///
/// let key = TestKey::generate("ins_example");
/// let token = key.sign(&key.header(), &json!({"sub": "user_1", "exp": 4102444800_i64}));
/// assert_eq!(token.split('.').count(), 3);
/// ```
#[derive(Clone)]
pub struct TestKey {
    pair: Arc<RsaKeyPair>,
    kid: Arc<str>,
}

impl fmt::Debug for TestKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TestKey")
            .field("kid", &self.kid)
            .finish_non_exhaustive()
    }
}

impl TestKey {
    /// A fresh 2048-bit key. Panics only if the system cannot generate one.
    pub fn generate(kid: impl Into<String>) -> TestKey {
        let pair = RsaKeyPair::generate(aws_lc_rs::rsa::KeySize::Rsa2048)
            .expect("actix_clerk::testing: RSA key generation failed");
        TestKey {
            pair: Arc::new(pair),
            kid: kid.into().into(),
        }
    }

    /// A fixed key from its PKCS#8 DER encoding: for tokens that must stay the same across
    /// runs (committed fixtures, fuzz seeds). Panics when `der` is not an RSA private key.
    pub fn from_pkcs8_der(der: &[u8], kid: impl Into<String>) -> TestKey {
        let pair = RsaKeyPair::from_pkcs8(der)
            .expect("actix_clerk::testing: not a PKCS#8 RSA private key");
        TestKey {
            pair: Arc::new(pair),
            kid: kid.into().into(),
        }
    }

    /// A fixed key from PEM: PKCS#8 (`-----BEGIN PRIVATE KEY-----`) or PKCS#1
    /// (`-----BEGIN RSA PRIVATE KEY-----`). Panics when `pem` holds neither RSA key.
    pub fn from_pem(pem: &str, kid: impl Into<String>) -> TestKey {
        let pair = if let Some(der) = crate::offline::pem_der(pem, "PRIVATE KEY") {
            RsaKeyPair::from_pkcs8(&der)
        } else if let Some(der) = crate::offline::pem_der(pem, "RSA PRIVATE KEY") {
            RsaKeyPair::from_der(&der)
        } else {
            panic!(
                "actix_clerk::testing: no PEM private key block (PRIVATE KEY or RSA PRIVATE KEY)"
            )
        }
        .expect("actix_clerk::testing: the PEM block is not an RSA private key");
        TestKey {
            pair: Arc::new(pair),
            kid: kid.into().into(),
        }
    }

    /// The `kid` its tokens carry (and its JWK names).
    pub fn kid(&self) -> &str {
        &self.kid
    }

    /// The public key as PEM (`-----BEGIN PUBLIC KEY-----`): a networkless configuration's
    /// [`jwt_key`](crate::ClerkConfigBuilder::jwt_key), `CLERK_JWT_KEY`.
    pub fn public_pem(&self) -> String {
        let der = self
            .pair
            .public_key()
            .as_der()
            .expect("actix_clerk::testing: public key DER");
        crate::offline::pem("PUBLIC KEY", der.as_ref())
    }

    /// The public key as a JWK of Clerk's JWKS (`use`, `kty`, `kid`, `alg`, `n`, `e`).
    pub fn jwk(&self) -> Value {
        let pk = self.pair.public_key();
        json!({
            "use": "sig",
            "kty": "RSA",
            "kid": &*self.kid,
            "alg": "RS256",
            "n": b64url(pk.modulus().big_endian_without_leading_zero()),
            "e": b64url(pk.exponent().big_endian_without_leading_zero()),
        })
    }

    /// The plain header of this key's tokens: `{"alg":"RS256","kid":…,"typ":"JWT"}`.
    pub fn header(&self) -> Value {
        json!({"alg": "RS256", "kid": &*self.kid, "typ": "JWT"})
    }

    /// Signs a header and a payload given as JSON values: RS256, or RS384/RS512 when the
    /// header's `alg` says so (any other `alg` is written as given and signed with RS256).
    pub fn sign(&self, header: &Value, payload: &Value) -> String {
        let alg = header["alg"].as_str().unwrap_or("RS256");
        self.sign_text(alg, &header.to_string(), &payload.to_string())
    }

    /// Signs `header` and `payload` given as JSON text, kept byte for byte (member order,
    /// spacing, duplicates): RS384/RS512 for those `alg`s, RS256 for anything else.
    pub fn sign_text(&self, alg: &str, header: &str, payload: &str) -> String {
        self.sign_segments(alg, &b64url(header), &b64url(payload))
    }

    /// Signs `header_segment.payload_segment` exactly as given (already encoded: padding or odd
    /// characters stay) and returns the whole token.
    pub fn sign_segments(&self, alg: &str, header_segment: &str, payload_segment: &str) -> String {
        let input = format!("{header_segment}.{payload_segment}");
        format!("{input}.{}", b64url(self.signature(alg, input.as_bytes())))
    }

    /// Signs arbitrary header and payload bytes (not necessarily UTF-8 or JSON) with RS256.
    pub fn sign_bytes(&self, header: &[u8], payload: &[u8]) -> String {
        self.sign_segments("RS256", &b64url(header), &b64url(payload))
    }

    /// The raw RSASSA-PKCS1-v1_5 signature of `input` (RS384/RS512 for those names, else RS256).
    pub(crate) fn signature(&self, alg: &str, input: &[u8]) -> Vec<u8> {
        let enc: &'static dyn signature::RsaEncoding = match alg {
            "RS384" => &signature::RSA_PKCS1_SHA384,
            "RS512" => &signature::RSA_PKCS1_SHA512,
            _ => &signature::RSA_PKCS1_SHA256,
        };
        let mut sig = vec![0; self.pair.public_modulus_len()];
        self.pair
            .sign(enc, &SystemRandom::new(), input, &mut sig)
            .expect("actix_clerk::testing: RSA signing failed");
        sig
    }

    /// A session token signed by this key, as Clerk mints them, issued by
    /// `https://clerk.example.com` ([`DEFAULT_FRONTEND_API`]); see [`SessionTokenBuilder`].
    /// A [`TestInstance`](super::TestInstance)'s tokens carry its own issuer.
    pub fn session_token(&self, user_id: impl Into<String>) -> SessionTokenBuilder {
        SessionTokenBuilder::new(user_id)
            .signed_by(self)
            .issuer(format!("https://{DEFAULT_FRONTEND_API}"))
    }
}
