//! The `Authorization` header, read as Clerk reads it: value bytes as Latin-1 text, Clerk's
//! `Bearer` parsing, and the bytes a verified-token cache lookup compares.

use std::borrow::Cow;

use actix_web::http::header::HeaderValue;

/// Header bytes as text: ASCII as is, other bytes read as Latin-1 (as a Fetch `Headers` does).
///
/// ASCII text is borrowed after two word-at-a-time passes (`is_ascii`, `from_utf8`), not
/// `HeaderValue::to_str`'s byte-by-byte check: a header value never holds control bytes other
/// than tab (actix refuses them), so the two read the same.
pub(crate) fn header_text(value: &HeaderValue) -> Cow<'_, str> {
    let bytes = value.as_bytes();
    if bytes.is_ascii() {
        if let Ok(s) = std::str::from_utf8(bytes) {
            return Cow::Borrowed(s);
        }
    }
    Cow::Owned(bytes.iter().map(|&b| char::from(b)).collect())
}

/// Clerk's `parseAuthorizationHeader`: the text between the first and second space after
/// `Bearer`; a value without a space is the token itself; any other scheme gives none.
pub(crate) fn header_token(value: &str) -> Option<&str> {
    if value.is_empty() {
        return None;
    }
    // memchr: the token is scanned for spaces at SIMD speed.
    match memchr::memchr(b' ', value.as_bytes()).map(|i| (&value[..i], &value[i + 1..])) {
        None => Some(value),
        Some((scheme, rest)) => {
            let token = memchr::memchr(b' ', rest.as_bytes()).map_or(rest, |i| &rest[..i]);
            if token.is_empty() {
                Some(scheme).filter(|s| !s.is_empty())
            } else {
                (scheme == "Bearer").then_some(token)
            }
        }
    }
}

/// [`header_token`] on the raw bytes of a value (after [`trim_sp_tab_bytes`]): the same split,
/// since it only looks at spaces. For a cache lookup before any validation of the bytes.
pub(crate) fn header_token_bytes(value: &[u8]) -> Option<&[u8]> {
    if value.is_empty() {
        return None;
    }
    // memchr: the token is scanned for a space at SIMD speed, not byte by byte (this runs
    // on every request, over the whole token).
    let Some(space) = memchr::memchr(b' ', value) else {
        return Some(value);
    };
    let (scheme, rest) = (&value[..space], &value[space + 1..]);
    let token = memchr::memchr(b' ', rest).map_or(rest, |end| &rest[..end]);
    if token.is_empty() {
        Some(scheme).filter(|s| !s.is_empty())
    } else {
        (scheme == b"Bearer").then_some(token)
    }
}

pub(crate) fn trim_sp_tab(s: &str) -> &str {
    s.trim_matches(|c| c == ' ' || c == '\t')
}

/// [`trim_sp_tab`] on bytes.
pub(crate) fn trim_sp_tab_bytes(mut b: &[u8]) -> &[u8] {
    while let [b' ' | b'\t', rest @ ..] = b {
        b = rest;
    }
    while let [rest @ .., b' ' | b'\t'] = b {
        b = rest;
    }
    b
}

/// The lines of a repeated header joined as a Fetch `Headers` joins them: each trimmed of
/// spaces and tabs, `", "` between.
pub(crate) fn fetch_joined<'h>(lines: impl Iterator<Item = &'h HeaderValue>) -> String {
    let mut joined = String::new();
    for (i, v) in lines.enumerate() {
        if i > 0 {
            joined.push_str(", ");
        }
        joined.push_str(trim_sp_tab(&header_text(v)));
    }
    joined
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn authorization_header_parsing() {
        assert_eq!(header_token("Bearer abc"), Some("abc"));
        assert_eq!(header_token("abc"), Some("abc"));
        assert_eq!(header_token("Bearer abc def"), Some("abc"));
        assert_eq!(header_token("Bearer  abc"), Some("Bearer"));
        assert_eq!(header_token("bearer abc"), None);
        assert_eq!(header_token("Basic abc"), None);
        assert_eq!(header_token(""), None);
    }

    #[test]
    fn header_text_reads_ascii_as_is_and_other_bytes_as_latin1() {
        let v = HeaderValue::from_static("Bearer a.b.c");
        assert!(matches!(header_text(&v), Cow::Borrowed("Bearer a.b.c")));
        let v = HeaderValue::from_bytes(b"x\xe9\xff").unwrap(); // ok: test
        assert_eq!(header_text(&v), "x\u{e9}\u{ff}");
        let v = HeaderValue::from_bytes("é".as_bytes()).unwrap(); // ok: test
        assert_eq!(
            header_text(&v),
            "\u{c3}\u{a9}",
            "UTF-8 bytes are read one char each"
        );
    }

    #[test]
    fn byte_parsing_agrees_with_text_parsing() {
        for v in [
            "Bearer abc",
            "abc",
            "Bearer abc def",
            "Bearer  abc",
            "bearer abc",
            "Basic abc",
            "",
            " ",
            "Bearer ",
            " Bearer",
            "Bearer\tabc",
            "a b c",
        ] {
            assert_eq!(
                header_token_bytes(v.as_bytes()),
                header_token(v).map(str::as_bytes),
                "{v:?}"
            );
        }
        assert_eq!(trim_sp_tab_bytes(b" \t x \t"), b"x");
        assert_eq!(trim_sp_tab_bytes(b" \t "), b"");
    }
}
