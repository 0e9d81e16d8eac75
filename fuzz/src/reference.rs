//! Small independent models the fast targets compare the crate against: written from the
//! documented rules (Clerk's SDK, the `cookie` package, WHATWG), not from the crate's code.

use serde_json::Value;

/// One base64url character's value.
fn b64_value(c: u8) -> Option<u32> {
    Some(u32::from(match c {
        b'A'..=b'Z' => c - b'A',
        b'a'..=b'z' => c - b'a' + 26,
        b'0'..=b'9' => c - b'0' + 52,
        b'-' => 62,
        b'_' => 63,
        _ => return None,
    }))
}

/// Clerk's loose base64url (src/jwt.rs): trailing `=` ignored, no other padding, no `+`/`/`,
/// a length of 4n+1 refused, the unused bits of the last character zero.
pub fn b64url(s: &str) -> Option<Vec<u8>> {
    let s = s.trim_end_matches('=');
    if s.len() % 4 == 1 {
        return None;
    }
    let mut out = Vec::with_capacity(s.len() * 3 / 4);
    let (mut acc, mut nbits) = (0u32, 0u32);
    for c in s.bytes() {
        acc = (acc << 6) | b64_value(c)?;
        nbits += 6;
        if nbits >= 8 {
            nbits -= 8;
            out.push((acc >> nbits) as u8);
            acc &= (1 << nbits) - 1;
        }
    }
    (acc == 0).then_some(out)
}

/// `TextDecoder` (non-fatal): invalid UTF-8 replaced, one leading BOM dropped.
fn text(bytes: &[u8]) -> String {
    let t = String::from_utf8_lossy(bytes);
    t.strip_prefix('\u{feff}').unwrap_or(&t).to_owned()
}

/// What a token decodes to: `Err(true)` not three parts, `Err(false)` a part that does not
/// decode; else header, payload, payload text, signed part, signature.
pub type Decoded = (Value, Value, String, String, Vec<u8>);

/// `decodeJwt` of Clerk's SDK: split on `.`, exactly three parts, header and payload
/// base64url JSON, signature base64url.
pub fn decode(token: &str) -> Result<Decoded, bool> {
    let parts: Vec<&str> = token.split('.').collect();
    let [h, p, s] = parts.as_slice() else {
        return Err(true);
    };
    let header: Value = b64url(h)
        .and_then(|b| serde_json::from_str(&text(&b)).ok())
        .ok_or(false)?;
    let payload_text = b64url(p).map(|b| text(&b)).ok_or(false)?;
    let payload: Value = serde_json::from_str(&payload_text).map_err(|_| false)?;
    let signature = b64url(s).ok_or(false)?;
    Ok((header, payload, payload_text, format!("{h}.{p}"), signature))
}

/// `/^[a-zA-Z0-9\-_]+\.[a-zA-Z0-9\-_]+\.[a-zA-Z0-9\-_]+$/`.
pub fn is_jwt_format(token: &str) -> bool {
    let parts: Vec<&str> = token.split('.').collect();
    parts.len() == 3
        && parts.iter().all(|p| {
            !p.is_empty()
                && p.chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
        })
}

/// `parseAuthorizationHeader`: `value.split(' ')`; no space: the value; else `[scheme, token]`
/// where token is the second element, and scheme `Bearer` required unless the token is empty
/// (then the scheme itself, if any).
pub fn header_token(value: &str) -> Option<&str> {
    if value.is_empty() {
        return None;
    }
    let mut parts = value.split(' ');
    let scheme = parts.next().unwrap_or_default();
    match parts.next() {
        None => Some(value),
        Some("") => (!scheme.is_empty()).then_some(scheme),
        Some(token) => (scheme == "Bearer").then_some(token),
    }
}

/// `decodeURIComponent` or the raw value when it throws (malformed escape, invalid UTF-8).
pub fn percent_decode(value: &str) -> String {
    if !value.contains('%') {
        return value.to_owned();
    }
    let b = value.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%' {
            let hex = b
                .get(i + 1..i + 3)
                .and_then(|h| std::str::from_utf8(h).ok());
            match hex.and_then(|h| {
                (h.bytes().all(|c| c.is_ascii_hexdigit())).then(|| u8::from_str_radix(h, 16))
            }) {
                Some(Ok(v)) => out.push(v),
                _ => return value.to_owned(),
            }
            i += 3;
        } else {
            out.push(b[i]);
            i += 1;
        }
    }
    String::from_utf8(out).unwrap_or_else(|_| value.to_owned())
}

/// The `cookie` package's `parse`: pairs split on `;`, a pair without `=` skipped, name and
/// value trimmed (space, tab), the first occurrence of a name wins, values percent-decoded.
/// Returns the first value of `name`.
pub fn cookie(header: &str, name: &str) -> Option<String> {
    header.split(';').find_map(|pair| {
        let (n, v) = pair.split_once('=')?;
        let trim = |s: &str| s.trim_matches([' ', '\t']).to_owned();
        (trim(n) == name).then(|| percent_decode(&trim(v)))
    })
}

/// JavaScript white space and line terminators, listed (ECMA-262 WhiteSpace, LineTerminator).
pub fn is_js_space(c: char) -> bool {
    matches!(
        c,
        '\t' | '\n' | '\u{b}' | '\u{c}' | '\r' | ' ' | '\u{a0}' | '\u{1680}' | '\u{2000}'
            ..='\u{200a}'
                | '\u{2028}'
                | '\u{2029}'
                | '\u{202f}'
                | '\u{205f}'
                | '\u{3000}'
                | '\u{feff}'
    )
}

/// The base64 (standard, padded) of bytes, for expected webhook signatures.
pub fn b64_std(bytes: &[u8]) -> String {
    const A: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::new();
    for chunk in bytes.chunks(3) {
        let n = chunk.len();
        let v = (u32::from(chunk[0]) << 16)
            | (u32::from(*chunk.get(1).unwrap_or(&0)) << 8)
            | u32::from(*chunk.get(2).unwrap_or(&0));
        for i in 0..4 {
            if i <= n {
                out.push(char::from(A[((v >> (18 - 6 * i)) & 63) as usize]));
            } else {
                out.push('=');
            }
        }
    }
    out
}

/// base64url without padding (to build tokens).
pub fn b64url_encode(bytes: &[u8]) -> String {
    b64_std(bytes)
        .trim_end_matches('=')
        .replace('+', "-")
        .replace('/', "_")
}
