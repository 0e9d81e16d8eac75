//! Decoding a compact JWT the way Clerk's SDK does (no signature check here).

use base64::engine::general_purpose::{GeneralPurpose, GeneralPurposeConfig};
use base64::engine::DecodePaddingMode;
use base64::Engine as _;
use serde_json::Value;

/// URL-safe base64 without padding, rejecting non-zero trailing bits (as Clerk's decoder does).
const B64URL: GeneralPurpose = GeneralPurpose::new(
    &base64::alphabet::URL_SAFE,
    GeneralPurposeConfig::new()
        .with_decode_padding_mode(DecodePaddingMode::RequireNone)
        .with_decode_allow_trailing_bits(false),
);

/// Message for a token that does not have three parts.
pub(crate) const MSG_FORM_PARTS: &str =
    "Invalid JWT form. A JWT consists of three parts separated by dots.";
/// Message for a token whose parts cannot be decoded.
pub(crate) const MSG_FORM_DECODE: &str =
    "Invalid JWT form. The header, payload, or signature could not be decoded.";

/// A token split and decoded, borrowing the original text.
#[derive(Debug)]
pub(crate) struct DecodedJwt<'t> {
    /// The JOSE header, any JSON value (Clerk does not require an object).
    pub header: Value,
    /// The claims, any JSON value.
    pub payload: Value,
    /// The payload's JSON text, as parsed (kept by a signed-in `Auth` instead of the parsed
    /// claims, which it rebuilds from it on demand).
    pub payload_text: Box<str>,
    /// `header.payload` exactly as sent: the signed bytes.
    pub signed_part: &'t str,
    /// The decoded signature.
    pub signature: Vec<u8>,
}

/// Why a token could not be decoded; each maps to Clerk's `token-invalid` message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum DecodeError {
    /// Not exactly three dot-separated parts.
    Parts,
    /// A part is not base64url, or header/payload is not JSON.
    Decode,
}

impl DecodeError {
    pub(crate) fn message(self) -> &'static str {
        match self {
            DecodeError::Parts => MSG_FORM_PARTS,
            DecodeError::Decode => MSG_FORM_DECODE,
        }
    }
}

/// Decodes base64url the way Clerk's loose parser does: any trailing `=` ignored, no other
/// padding, no `+`/`/`, no dangling bits.
pub(crate) fn b64url_decode(s: &str) -> Option<Vec<u8>> {
    B64URL.decode(s.trim_end_matches('=')).ok()
}

/// The JSON text of a part: TextDecoder (non-fatal) replaces invalid UTF-8 and drops a
/// leading BOM. Valid UTF-8 (every real token) is checked by the fast validator and kept
/// without a copy.
fn decode_text(part: &str) -> Option<String> {
    let bytes = b64url_decode(part)?;
    let text = match String::from_utf8(bytes) {
        Ok(text) => text,
        Err(e) => String::from_utf8_lossy(e.as_bytes()).into_owned(),
    };
    Some(match text.strip_prefix('\u{feff}') {
        Some(rest) => rest.to_owned(),
        None => text,
    })
}

/// Splits and decodes a token; the signature is only checked to be base64url here.
pub(crate) fn decode(token: &str) -> Result<DecodedJwt<'_>, DecodeError> {
    // Exactly two dots, found at SIMD speed.
    let mut dots = memchr::memchr_iter(b'.', token.as_bytes());
    let (Some(d1), Some(d2), None) = (dots.next(), dots.next(), dots.next()) else {
        return Err(DecodeError::Parts);
    };
    let (h, p, s) = (&token[..d1], &token[d1 + 1..d2], &token[d2 + 1..]);
    let header = decode_text(h)
        .and_then(|t| serde_json::from_str(&t).ok())
        .ok_or(DecodeError::Decode)?;
    let payload_text = decode_text(p).ok_or(DecodeError::Decode)?;
    let payload = serde_json::from_str(&payload_text).map_err(|_| DecodeError::Decode)?;
    let signature = b64url_decode(s).ok_or(DecodeError::Decode)?;
    Ok(DecodedJwt {
        header,
        payload,
        payload_text: payload_text.into_boxed_str(),
        signed_part: &token[..h.len() + 1 + p.len()],
        signature,
    })
}

/// `/^[a-zA-Z0-9\-_]+\.[a-zA-Z0-9\-_]+\.[a-zA-Z0-9\-_]+$/`: Clerk's test for a JWT-shaped token.
pub(crate) fn is_jwt_format(token: &str) -> bool {
    let mut count = 0;
    for part in token.split('.') {
        count += 1;
        if part.is_empty()
            || !part
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        {
            return false;
        }
    }
    count == 3
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decode_rules() {
        assert_eq!(decode("a.b").unwrap_err(), DecodeError::Parts);
        assert_eq!(decode("a.b.c.d").unwrap_err(), DecodeError::Parts);
        assert_eq!(decode("!!.e30.e30").unwrap_err(), DecodeError::Decode);
        let ok = decode("e30.e30.").unwrap(); // ok: test
        assert_eq!(ok.signed_part, "e30.e30");
        assert!(decode("e30==.e30.abc").is_ok());
        // dangling bits are rejected
        assert_eq!(decode("e30.e30.abd").unwrap_err(), DecodeError::Decode);
        assert!(is_jwt_format("a.b.c"));
        assert!(!is_jwt_format("a.b.c="));
        assert!(!is_jwt_format("a..c"));
    }
}
