//! The cookies Clerk reads (the `cookie` package's parser, first occurrence wins,
//! percent-decoded) and Clerk's choice between the plain and the suffixed cookie pair.

use std::borrow::Cow;

use serde_json::Value;

use super::header::trim_sp_tab;
use crate::instance::{InstanceType, PublishableKey};
use crate::js;
use crate::jwt::DecodedJwt;

/// The cookies Clerk reads, first occurrence of each name, percent-decoded.
#[derive(Default)]
pub(crate) struct ClerkCookies<'c> {
    pub(crate) session: Option<Cow<'c, str>>,
    pub(crate) client_uat: Option<Cow<'c, str>>,
    pub(crate) db_jwt: Option<Cow<'c, str>>,
    pub(crate) session_sfx: Option<Cow<'c, str>>,
    pub(crate) client_uat_sfx: Option<Cow<'c, str>>,
    pub(crate) db_jwt_sfx: Option<Cow<'c, str>>,
    pub(crate) redirect_count: Option<Cow<'c, str>>,
    pub(crate) handshake: Option<Cow<'c, str>>,
    pub(crate) handshake_nonce: Option<Cow<'c, str>>,
    /// `__refresh_<suffix>` (the plain `__refresh` is never read).
    pub(crate) refresh_sfx: Option<Cow<'c, str>>,
}

fn percent_decode(value: &str) -> Cow<'_, str> {
    if memchr::memchr(b'%', value.as_bytes()).is_none() {
        return Cow::Borrowed(value);
    }
    // decodeURIComponent: any malformed escape or invalid UTF-8 keeps the raw value.
    let bytes = value.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let ok = bytes
                .get(i + 1..i + 3)
                .is_some_and(|h| h.iter().all(u8::is_ascii_hexdigit));
            if !ok {
                return Cow::Borrowed(value);
            }
            i += 3;
        } else {
            i += 1;
        }
    }
    match percent_encoding::percent_decode_str(value).decode_utf8() {
        Ok(decoded) => Cow::Owned(decoded.into_owned()),
        Err(_) => Cow::Borrowed(value),
    }
}

impl<'c> ClerkCookies<'c> {
    /// `Number(__clerk_redirect_count) || 0`.
    pub(crate) fn redirect_count(&self) -> f64 {
        let n = self
            .redirect_count
            .as_deref()
            .map_or(0.0, |v| js::to_number(Some(&Value::String(v.to_owned()))));
        if n.is_nan() {
            0.0
        } else {
            n
        }
    }

    /// Whether the request returns from a handshake: `__clerk_handshake_nonce` or
    /// `__clerk_handshake`, in the query or as a cookie.
    pub(crate) fn has_handshake_return(&self, query: &str) -> bool {
        // A parameter name may be percent-encoded in any byte: any `%` means a full parse.
        let may_name = |name: &str| query.contains(name) || query.contains('%');
        present(&self.handshake_nonce).is_some()
            || present(&self.handshake).is_some()
            || may_name("__clerk_handshake")
                && (super::origin::query_param(query, "__clerk_handshake_nonce")
                    .is_some_and(|v| !v.is_empty())
                    || super::origin::query_param(query, "__clerk_handshake")
                        .is_some_and(|v| !v.is_empty()))
    }

    /// The `cookie` package's parser, keeping only Clerk's names.
    pub(crate) fn parse(header: &'c str, suffix: Option<&str>) -> Self {
        let mut out = ClerkCookies::default();
        let len = header.len();
        let mut index = 0;
        // memchr: a cookie header carries whole tokens, scanned at SIMD speed (the bytes
        // searched are ASCII, so every index found is a character boundary).
        let bytes = header.as_bytes();
        while index < len {
            let Some(eq) = memchr::memchr(b'=', &bytes[index..]).map(|i| i + index) else {
                break;
            };
            let end = memchr::memchr(b';', &bytes[index..]).map_or(len, |i| i + index);
            if eq > end {
                index = memchr::memrchr(b';', &bytes[..eq]).map_or(0, |i| i + 1);
                continue;
            }
            let name = trim_sp_tab(&header[index..eq]);
            let value = trim_sp_tab(&header[eq + 1..end]);
            let slot = match name {
                "__session" => &mut out.session,
                "__client_uat" => &mut out.client_uat,
                "__clerk_db_jwt" => &mut out.db_jwt,
                "__clerk_redirect_count" => &mut out.redirect_count,
                "__clerk_handshake" => &mut out.handshake,
                "__clerk_handshake_nonce" => &mut out.handshake_nonce,
                // `<name>_<suffix>` exactly: the suffix (URL-safe base64) may hold `_` itself.
                _ => match suffix.and_then(|sfx| name.strip_suffix(sfx)?.strip_suffix('_')) {
                    Some(base) => match base {
                        "__session" => &mut out.session_sfx,
                        "__client_uat" => &mut out.client_uat_sfx,
                        "__clerk_db_jwt" => &mut out.db_jwt_sfx,
                        "__refresh" => &mut out.refresh_sfx,
                        _ => {
                            index = end + 1;
                            continue;
                        }
                    },
                    _ => {
                        index = end + 1;
                        continue;
                    }
                },
            };
            if slot.is_none() {
                *slot = Some(percent_decode(value));
            }
            index = end + 1;
        }
        out
    }
}

/// `getCookie(name) || undefined`: empty counts as absent.
pub(crate) fn present<'a>(c: &'a Option<Cow<'_, str>>) -> Option<&'a str> {
    c.as_deref().filter(|s| !s.is_empty())
}

/// Clerk's `usesSuffixedCookies` (§3 rules 1–8).
///
/// `decoded_session` and `decoded_sfx` are the plain and suffixed session cookies, decoded once
/// by the caller (which goes on with whichever is chosen).
pub(crate) fn uses_suffixed(
    publishable_key: Option<&PublishableKey>,
    c: &ClerkCookies<'_>,
    decoded_session: &Option<DecodedJwt<'_>>,
    decoded_sfx: &Option<DecodedJwt<'_>>,
    now: f64,
) -> bool {
    let Some(pk) = publishable_key else {
        return false;
    };
    let suffixed_uat = present(&c.client_uat_sfx);
    let uat = present(&c.client_uat);
    let suffixed_session = present(&c.session_sfx).unwrap_or("");
    let session = present(&c.session).unwrap_or("");
    if !session.is_empty() {
        let iss = decoded_session
            .as_ref()
            .and_then(|d| js::prop_opt(&d.payload, "iss"));
        let Some(d) = &decoded_session else {
            return false;
        };
        if !js::truthy(iss) || js::prop(&d.payload, "iss").is_err() {
            return false;
        }
        let belongs = match iss {
            Some(Value::String(s)) => strip_scheme(s) == pk.frontend_api,
            _ => false,
        };
        if !belongs {
            return true;
        }
    }
    if suffixed_uat.is_none() && suffixed_session.is_empty() {
        return false;
    }
    let iat_of = |d: &Option<DecodedJwt<'_>>| -> f64 {
        let v = d.as_ref().and_then(|d| js::prop_opt(&d.payload, "iat"));
        if js::truthy(v) {
            js::to_number(v)
        } else {
            0.0
        }
    };
    if suffixed_uat != Some("0")
        && uat != Some("0")
        && iat_of(decoded_session) > iat_of(decoded_sfx)
    {
        return false;
    }
    if suffixed_uat == Some("0") && uat != Some("0") {
        return false;
    }
    if pk.instance != InstanceType::Production {
        let expired = decoded_sfx.as_ref().is_some_and(|d| {
            let exp = js::to_number(js::prop_opt(&d.payload, "exp"));
            exp <= ((now / 1000.0) as i64 as i32) as f64
        });
        if suffixed_uat != Some("0") && uat == Some("0") && expired {
            return false;
        }
    }
    if suffixed_uat.is_none() && !suffixed_session.is_empty() {
        return false;
    }
    true
}

/// `iss.replace(/https?:\/\//gi, "")`, in one linear pass.
fn strip_scheme(iss: &str) -> String {
    let bytes = iss.as_bytes();
    let mut out = String::with_capacity(iss.len());
    let mut i = 0;
    let mut copied = 0;
    while i < bytes.len() {
        let rest = &bytes[i..];
        let skip = if rest.len() >= 7 && rest[..4].eq_ignore_ascii_case(b"http") {
            if rest[4..7] == *b"://" {
                7
            } else if rest.len() >= 8 && rest[4..8].eq_ignore_ascii_case(b"s://") {
                8
            } else {
                0
            }
        } else {
            0
        };
        if skip > 0 {
            out.push_str(&iss[copied..i]);
            i += skip;
            copied = i;
        } else {
            i += 1;
        }
    }
    out.push_str(&iss[copied..]);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cookie_parsing() {
        let c = ClerkCookies::parse(
            "a=1; __session=x%20y; __session=second; junk; __client_uat=5",
            None,
        );
        assert_eq!(c.session.as_deref(), Some("x y"));
        assert_eq!(c.client_uat.as_deref(), Some("5"));
        let c = ClerkCookies::parse("__session_AbC=t; __client_uat_AbC=1", Some("AbC"));
        assert_eq!(c.session_sfx.as_deref(), Some("t"));
        assert_eq!(c.client_uat_sfx.as_deref(), Some("1"));
        assert_eq!(percent_decode("%ZZ"), "%ZZ");
        // A suffix may hold `_` (URL-safe base64): found by the fast_cookies fuzz target.
        let c = ClerkCookies::parse(
            "__session_a_b-_cd=s; __client_uat___8_AAA5=0; __client_uat_a_b-_cd=7; __refresh_a_b-_cd=r",
            Some("a_b-_cd"),
        );
        assert_eq!(c.session_sfx.as_deref(), Some("s"));
        assert_eq!(c.client_uat_sfx.as_deref(), Some("7"));
        assert_eq!(c.refresh_sfx.as_deref(), Some("r"));
        let c = ClerkCookies::parse("__client_uat___8_AAA5=", Some("__8_AAA5"));
        assert_eq!(c.client_uat_sfx.as_deref(), Some(""));
        assert!(c.client_uat.is_none());
        assert_eq!(percent_decode("%C3%A9"), "é");
        assert_eq!(percent_decode("%FF"), "%FF");
    }

    #[test]
    fn scheme_stripping() {
        assert_eq!(
            strip_scheme("https://clerk.example.com"),
            "clerk.example.com"
        );
        assert_eq!(strip_scheme("HTTPS://https://a.b"), "a.b");
        assert_eq!(strip_scheme("a.b"), "a.b");
        assert_eq!(strip_scheme("xhttp://yHTTPs://z https:/"), "xyz https:/");
        let long = "http://".repeat(20_000);
        assert_eq!(strip_scheme(&long), "");
    }
}
