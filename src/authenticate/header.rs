//! The `Authorization` header, read as Clerk reads it: value bytes as Latin-1 text, Clerk's
//! `Bearer` parsing, and the bytes a verified-token cache lookup compares.

use std::borrow::Cow;

use actix_web::http::header::HeaderValue;

/// Header bytes as text: ASCII as is, other bytes read as Latin-1 (as a Fetch `Headers` does).
pub(crate) fn header_text(value: &HeaderValue) -> Cow<'_, str> {
    match value.to_str() {
        Ok(s) => Cow::Borrowed(s),
        Err(_) => Cow::Owned(value.as_bytes().iter().map(|&b| char::from(b)).collect()),
    }
}

/// Clerk's `parseAuthorizationHeader`: the text between the first and second space after
/// `Bearer`; a value without a space is the token itself; any other scheme gives none.
pub(crate) fn header_token(value: &str) -> Option<&str> {
    if value.is_empty() {
        return None;
    }
    match value.split_once(' ') {
        None => Some(value),
        Some((scheme, rest)) => {
            let token = rest.split_once(' ').map_or(rest, |(token, _)| token);
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
