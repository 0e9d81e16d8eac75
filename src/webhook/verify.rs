//! The Standard Webhooks scheme as `@clerk/backend`'s `verifyWebhook` applies it: headers read
//! as a Fetch `Request` shows them, the timestamp parsed as JavaScript's `parseInt`, the body
//! decoded as `Request.text()` decodes it, and the signature header split as `standardwebhooks`
//! splits it.

use std::borrow::Cow;

use actix_web::http::header::HeaderMap;
use aws_lc_rs::{constant_time, hmac};
use base64::Engine as _;

use super::error::WebhookError;

/// Seconds a delivery's timestamp may be away from now, either side (Clerk's 5 minutes).
pub(crate) const TOLERANCE_SECS: i64 = 5 * 60;

/// The length of `base64(HMAC-SHA256(..))` with padding.
const SIGNATURE_B64_LEN: usize = 44;

/// The names of the three headers, in the order Clerk names missing ones.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) enum HeaderSet {
    /// `svix-id`, `svix-timestamp`, `svix-signature` (what Clerk reads).
    Svix,
    /// `webhook-id`, `webhook-timestamp`, `webhook-signature` (Standard Webhooks).
    Standard,
}

impl HeaderSet {
    const fn names(self) -> [&'static str; 3] {
        match self {
            HeaderSet::Svix => ["svix-id", "svix-timestamp", "svix-signature"],
            HeaderSet::Standard => ["webhook-id", "webhook-timestamp", "webhook-signature"],
        }
    }

    /// Clerk's message for the missing headers of this set (`bits`: 1 id, 2 timestamp,
    /// 4 signature; never 0).
    const fn missing_message(self, bits: u8) -> &'static str {
        match (self, bits) {
            (HeaderSet::Svix, 1) => "Missing required webhook headers: svix-id",
            (HeaderSet::Svix, 2) => "Missing required webhook headers: svix-timestamp",
            (HeaderSet::Svix, 3) => "Missing required webhook headers: svix-id, svix-timestamp",
            (HeaderSet::Svix, 4) => "Missing required webhook headers: svix-signature",
            (HeaderSet::Svix, 5) => "Missing required webhook headers: svix-id, svix-signature",
            (HeaderSet::Svix, 6) => {
                "Missing required webhook headers: svix-timestamp, svix-signature"
            }
            (HeaderSet::Svix, _) => {
                "Missing required webhook headers: svix-id, svix-timestamp, svix-signature"
            }
            (HeaderSet::Standard, 1) => "Missing required webhook headers: webhook-id",
            (HeaderSet::Standard, 2) => "Missing required webhook headers: webhook-timestamp",
            (HeaderSet::Standard, 3) => {
                "Missing required webhook headers: webhook-id, webhook-timestamp"
            }
            (HeaderSet::Standard, 4) => "Missing required webhook headers: webhook-signature",
            (HeaderSet::Standard, 5) => {
                "Missing required webhook headers: webhook-id, webhook-signature"
            }
            (HeaderSet::Standard, 6) => {
                "Missing required webhook headers: webhook-timestamp, webhook-signature"
            }
            (HeaderSet::Standard, _) => {
                "Missing required webhook headers: webhook-id, webhook-timestamp, webhook-signature"
            }
        }
    }
}

/// What the headers say, checked before the body is read.
#[derive(Clone, PartialEq, Eq)]
pub(crate) struct Delivery {
    /// The id as JavaScript sees it (one char per header byte), trimmed.
    pub(crate) id: String,
    /// The timestamp as `parseInt` reads it, within the tolerance.
    pub(crate) timestamp: i64,
    /// The signature header, trimmed (latin-1 bytes).
    signatures: Vec<u8>,
}

impl std::fmt::Debug for Delivery {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Delivery")
            .field("id", &self.id)
            .field("timestamp", &self.timestamp)
            .field("signatures", &"[redacted]")
            .finish()
    }
}

/// Reads the three headers and checks the timestamp against `now` (seconds).
///
/// `svix-*` is read when any of its three headers has a value; otherwise `webhook-*` when any
/// of those has one (**ours**: Clerk reads only `svix-*`); otherwise `svix-*`, all missing.
pub(crate) fn read_headers(headers: &HeaderMap, now: i64) -> Result<Delivery, WebhookError> {
    let svix = read_set(headers, HeaderSet::Svix);
    let (set, values) = if svix.iter().any(Option::is_some) {
        (HeaderSet::Svix, svix)
    } else {
        let standard = read_set(headers, HeaderSet::Standard);
        if standard.iter().any(Option::is_some) {
            (HeaderSet::Standard, standard)
        } else {
            (HeaderSet::Svix, svix)
        }
    };
    let [id, timestamp, signatures] = values;
    let (id, timestamp, signatures) = match (id, timestamp, signatures) {
        (Some(id), Some(timestamp), Some(signatures)) => (id, timestamp, signatures),
        (id, timestamp, signatures) => {
            let bits = u8::from(id.is_none())
                | (u8::from(timestamp.is_none()) << 1)
                | (u8::from(signatures.is_none()) << 2);
            return Err(WebhookError::MissingHeaders(set.missing_message(bits)));
        }
    };
    let timestamp = check_timestamp(&timestamp, now)?;
    Ok(Delivery {
        id: id.iter().map(|&b| char::from(b)).collect(),
        timestamp,
        signatures,
    })
}

fn read_set(headers: &HeaderMap, set: HeaderSet) -> [Option<Vec<u8>>; 3] {
    set.names().map(|name| fetch_header(headers, name))
}

/// `request.headers.get(name)?.trim()` of a Fetch `Request`, as latin-1 bytes; `None` when
/// absent or blank. Each line loses its leading and trailing HTTP white space, several lines
/// are joined with `", "`, and JavaScript's `trim()` removes its white space (in latin-1:
/// tab, LF, VT, FF, CR, space, no-break space).
fn fetch_header(headers: &HeaderMap, name: &str) -> Option<Vec<u8>> {
    let mut joined: Option<Vec<u8>> = None;
    for value in headers.get_all(name) {
        let line = trim_bytes(value.as_bytes(), is_http_whitespace);
        match joined.as_mut() {
            None => joined = Some(line.to_vec()),
            Some(all) => {
                all.extend_from_slice(b", ");
                all.extend_from_slice(line);
            }
        }
    }
    let joined = joined?;
    let trimmed = trim_bytes(&joined, is_js_whitespace);
    (!trimmed.is_empty()).then(|| trimmed.to_vec())
}

fn is_http_whitespace(b: u8) -> bool {
    matches!(b, b'\t' | b'\n' | b'\r' | b' ')
}

fn is_js_whitespace(b: u8) -> bool {
    matches!(b, b'\t' | b'\n' | 0x0B | 0x0C | b'\r' | b' ' | 0xA0)
}

fn trim_bytes(bytes: &[u8], ws: fn(u8) -> bool) -> &[u8] {
    let start = bytes.iter().position(|&b| !ws(b)).unwrap_or(bytes.len());
    let end = bytes.iter().rposition(|&b| !ws(b)).map_or(start, |i| i + 1);
    &bytes[start..end]
}

/// `parseInt(value, 10)` (sign, then the longest run of digits; anything after is ignored),
/// then `standardwebhooks`' window: `now - t > 300` is too old, `t > now + 300` too new.
fn check_timestamp(value: &[u8], now: i64) -> Result<i64, WebhookError> {
    let (negative, digits) = match value.split_first() {
        Some((b'-', rest)) => (true, rest),
        Some((b'+', rest)) => (false, rest),
        _ => (false, value),
    };
    let len = digits.iter().take_while(|b| b.is_ascii_digit()).count();
    if len == 0 {
        return Err(WebhookError::InvalidTimestamp);
    }
    // Saturates far outside any window: such a value is refused either way.
    const CAP: i128 = 1 << 62;
    let magnitude = digits[..len]
        .iter()
        .fold(0i128, |acc, &d| (acc * 10 + i128::from(d - b'0')).min(CAP));
    let t = if negative { -magnitude } else { magnitude };
    let now = i128::from(now);
    if now - t > i128::from(TOLERANCE_SECS) {
        return Err(WebhookError::TimestampTooOld);
    }
    if t > now + i128::from(TOLERANCE_SECS) {
        return Err(WebhookError::TimestampTooNew);
    }
    // Within 300 s of a clock value that fits in an i64.
    i64::try_from(t).map_err(|_| WebhookError::TimestampTooNew)
}

/// The body as `Request.text()` gives it: a leading UTF-8 byte order mark dropped, invalid
/// UTF-8 replaced by U+FFFD (maximal subparts, as the WHATWG decoder and Rust's
/// `from_utf8_lossy` both do). Borrowed for the common case (UTF-8 without BOM).
pub(crate) fn body_text(body: &[u8]) -> Cow<'_, str> {
    let body = body.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(body);
    String::from_utf8_lossy(body)
}

/// The tag of `"{id}.{timestamp}.{text}"` (the id and text UTF-8 encoded, as `TextEncoder`
/// does).
pub(crate) fn tag(key: &hmac::Key, delivery: &Delivery, text: &str) -> hmac::Tag {
    let mut ctx = hmac::Context::with_key(key);
    ctx.update(delivery.id.as_bytes());
    ctx.update(b".");
    ctx.update(delivery.timestamp.to_string().as_bytes());
    ctx.update(b".");
    ctx.update(text.as_bytes());
    ctx.sign()
}

/// Whether any `v1,<signature>` entry of the space-separated header equals the expected
/// signature's base64 text, compared in constant time. Entries are split on single spaces
/// and the signature is the text between the first and second comma, exactly as
/// `standardwebhooks` splits them.
pub(crate) fn signature_matches(delivery: &Delivery, tag: &hmac::Tag) -> bool {
    let mut expected = [0u8; SIGNATURE_B64_LEN];
    let Ok(n) = base64::engine::general_purpose::STANDARD.encode_slice(tag.as_ref(), &mut expected)
    else {
        return false;
    };
    let expected = &expected[..n];
    let mut matched = false;
    for entry in delivery.signatures.split(|&b| b == b' ') {
        let mut parts = entry.split(|&b| b == b',');
        if parts.next() != Some(b"v1".as_slice()) {
            continue;
        }
        let signature = parts.next().unwrap_or_default();
        matched |= constant_time::verify_slices_are_equal(signature, expected).is_ok();
    }
    matched
}

/// Decodes a signing secret: `whsec_` then base64, or the base64 alone (as `standardwebhooks`
/// accepts it), exactly as `@stablelib/base64` decodes it: padding optional (at most two `=`,
/// at least four characters in all), unused trailing bits ignored, and the last character
/// ignored unchecked when the unpadded length is 4n+1 (so a line break after a 32-character
/// secret is dropped, as Clerk's SDK drops it).
pub(crate) fn decode_secret(secret: &str) -> Option<Vec<u8>> {
    use base64::engine::{general_purpose, DecodePaddingMode, GeneralPurpose};
    const LENIENT: GeneralPurpose = GeneralPurpose::new(
        &base64::alphabet::STANDARD,
        general_purpose::GeneralPurposeConfig::new()
            .with_decode_padding_mode(DecodePaddingMode::Indifferent)
            .with_decode_allow_trailing_bits(true),
    );
    // In UTF-16 code units, as JavaScript counts them.
    let units: Vec<u16> = secret
        .strip_prefix("whsec_")
        .unwrap_or(secret)
        .encode_utf16()
        .collect();
    let padding = units
        .iter()
        .rev()
        .take_while(|&&u| u == u16::from(b'='))
        .count();
    if units.len() < 4 || padding > 2 {
        return None;
    }
    let unpadded = &units[..units.len() - padding];
    let kept = match unpadded.len() % 4 {
        1 => &unpadded[..unpadded.len() - 1],
        _ => unpadded,
    };
    let decoded: Vec<u8> = kept
        .iter()
        .map(|&u| u8::try_from(u).ok().filter(u8::is_ascii))
        .collect::<Option<_>>()?;
    let key = LENIENT.decode(decoded).ok()?;
    (!key.is_empty()).then_some(key)
}

#[cfg(test)]
mod tests {
    use super::*;
    use actix_web::http::header::{HeaderName, HeaderValue};

    fn headers(pairs: &[(&str, &[u8])]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (name, value) in pairs {
            map.append(
                HeaderName::from_bytes(name.as_bytes()).unwrap(), // ok: test
                HeaderValue::from_bytes(value).unwrap(),          // ok: test
            );
        }
        map
    }

    #[test]
    fn timestamps_parse_as_parse_int() {
        let now = 1_700_000_000;
        assert_eq!(check_timestamp(b"1700000000", now), Ok(now));
        assert_eq!(check_timestamp(b"1700000000abc", now), Ok(now));
        assert_eq!(check_timestamp(b"+1700000000", now), Ok(now));
        assert_eq!(check_timestamp(b"001700000000", now), Ok(now));
        assert_eq!(check_timestamp(b"1700000000.9", now), Ok(now));
        assert_eq!(check_timestamp(b"1700000300", now), Ok(now + 300));
        assert_eq!(check_timestamp(b"1699999700", now), Ok(now - 300));
        assert_eq!(
            check_timestamp(b"1700000301", now),
            Err(WebhookError::TimestampTooNew)
        );
        assert_eq!(
            check_timestamp(b"1699999699", now),
            Err(WebhookError::TimestampTooOld)
        );
        assert_eq!(
            check_timestamp(b"-1700000000", now),
            Err(WebhookError::TimestampTooOld)
        );
        assert_eq!(
            check_timestamp(&[b'9'; 400], now),
            Err(WebhookError::TimestampTooNew)
        );
        for bad in [&b"abc"[..], b"-", b"+", b"x1", b"--1", b"+-1", b"\xA01"] {
            assert_eq!(
                check_timestamp(bad, now),
                Err(WebhookError::InvalidTimestamp),
                "{bad:?}"
            );
        }
    }

    #[test]
    fn headers_are_read_as_fetch_shows_them() {
        let map = headers(&[("svix-id", b"  a "), ("svix-id", b"b\xA0")]);
        assert_eq!(fetch_header(&map, "svix-id").unwrap(), b"a, b"); // ok: test
        let map = headers(&[("svix-id", b" \xA0 ")]);
        assert_eq!(fetch_header(&map, "svix-id"), None);
        let map = headers(&[("svix-id", b""), ("svix-id", b"x")]);
        assert_eq!(fetch_header(&map, "svix-id").unwrap(), b", x"); // ok: test
    }

    #[test]
    fn missing_headers_are_named_in_clerks_order() {
        let now = 1_700_000_000;
        let err = read_headers(&headers(&[("svix-timestamp", b"1")]), now).unwrap_err();
        assert_eq!(
            err,
            WebhookError::MissingHeaders(
                "Missing required webhook headers: svix-id, svix-signature"
            )
        );
        let err = read_headers(&headers(&[("webhook-id", b"1")]), now).unwrap_err();
        assert_eq!(
            err,
            WebhookError::MissingHeaders(
                "Missing required webhook headers: webhook-timestamp, webhook-signature"
            )
        );
        let err = read_headers(&HeaderMap::new(), now).unwrap_err();
        assert_eq!(
            err,
            WebhookError::MissingHeaders(
                "Missing required webhook headers: svix-id, svix-timestamp, svix-signature"
            )
        );
    }

    #[test]
    fn bodies_decode_as_request_text() {
        assert_eq!(body_text(b"\xEF\xBB\xBF{}"), "{}");
        assert_eq!(body_text(b"\xEF\xBB\xBF\xEF\xBB\xBF"), "\u{FEFF}");
        assert_eq!(body_text(b"a\xFFb"), "a\u{FFFD}b");
        assert_eq!(body_text(b"\xED\xA0\x80"), "\u{FFFD}\u{FFFD}\u{FFFD}");
        assert_eq!(body_text(b"\xE2\x82"), "\u{FFFD}");
        assert!(matches!(body_text(b"{}"), Cow::Borrowed(_)));
    }

    #[test]
    fn secrets_decode_as_standardwebhooks_does() {
        assert_eq!(decode_secret("whsec_AAAA").unwrap(), vec![0, 0, 0]); // ok: test
        assert_eq!(decode_secret("AAAA").unwrap(), vec![0, 0, 0]);
        assert_eq!(decode_secret("whsec_AAA=").unwrap(), vec![0, 0]);
        assert_eq!(decode_secret("whsec_AAAAAA").unwrap(), vec![0; 4]);
        assert_eq!(decode_secret("whsec_AAB=").unwrap(), vec![0, 0]);
        // The 4n+1-th character is dropped unchecked, as @stablelib/base64 drops it.
        assert_eq!(decode_secret("whsec_AAAA\n").unwrap(), vec![0, 0, 0]);
        assert_eq!(decode_secret("whsec_AAAA\u{e9}=").unwrap(), vec![0, 0, 0]);
        for bad in [
            "",
            "whsec_",
            "whsec_AA",
            "whsec_A===",
            "whsec_AA AA",
            "whsec_AAAA\n\n",
        ] {
            assert_eq!(decode_secret(bad), None, "{bad}");
        }
    }

    #[test]
    fn signature_entries_split_as_standardwebhooks_does() {
        let key = hmac::Key::new(hmac::HMAC_SHA256, b"k");
        let delivery = |sigs: &str| Delivery {
            id: "msg".into(),
            timestamp: 1,
            signatures: sigs.as_bytes().to_vec(),
        };
        let t = tag(&key, &delivery(""), "{}");
        let good = base64::engine::general_purpose::STANDARD.encode(t.as_ref());
        for (sigs, ok) in [
            (format!("v1,{good}"), true),
            (format!("v1,x v1,{good}"), true),
            (format!("v1,{good},trailing"), true),
            (format!("v1,{good}, v1,x"), true),
            (format!("v1a,{good}"), false),
            (format!("V1,{good}"), false),
            (format!("v1,{good}="), false),
            (format!("v1,x\tv1,{good}"), false),
            (format!("v1 {good}"), false),
            ("v1".to_owned(), false),
        ] {
            assert_eq!(signature_matches(&delivery(&sigs), &t), ok, "{sigs}");
        }
    }
}
