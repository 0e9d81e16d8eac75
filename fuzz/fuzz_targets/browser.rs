//! The browser flow (page navigations, contract §13) under arbitrary input, through
//! `ClerkWithAuth` with a production and a development configuration (networkless):
//!
//! - mode 0: arbitrary handshake directives (cookie strings), carried by a handshake JWT signed
//!   by the instance key (`__clerk_handshake` in the query or as a cookie): every `Set-Cookie`
//!   line of the answer is one of the directives (trimmed) or the redirect counter, and the
//!   request is signed in only when a `__session…` directive holds a token the key signed
//!   (RSASSA-PKCS1-v1_5 is deterministic: the harness signs the same header and payload and
//!   compares);
//! - mode 1: an arbitrary request target (path and query) and forwarded headers on a page
//!   navigation with an expired session cookie: the handshake `Location` and its
//!   `redirect_url` parse as URLs, and the request is never signed in (the token expired).
//!
//! Input: first byte = mode and flags, then fields separated by `\n`.
#![no_main]

use actix_clerk_fuzz::{apps, header_value, key, HANDLER_RAN, KID};
use actix_web::http::header::HeaderValue;
use libfuzzer_sys::fuzz_target;

fn signed_handshake(directives: &[String]) -> String {
    let header = format!(r#"{{"alg":"RS256","kid":"{KID}","typ":"JWT"}}"#);
    let payload = serde_json::json!({ "handshake": directives }).to_string();
    key().sign_bytes(header.as_bytes(), payload.as_bytes())
}

/// Whether a `__session…` directive holds a token the fixed key signed (its RS256 signature,
/// padding aside, is the one the key makes for its header and payload).
fn holds_signed_session(directives: &[String]) -> bool {
    directives.iter().any(|d| {
        let first = d.split(';').next().unwrap_or_default();
        let mut kv = first.split('=');
        if !kv
            .next()
            .unwrap_or_default()
            .trim()
            .starts_with("__session")
        {
            return false;
        }
        let value = kv.next().unwrap_or_default();
        let parts: Vec<&str> = value.split('.').collect();
        let [h, p, sig] = parts.as_slice() else {
            return false;
        };
        let expected = key().sign_segments("RS256", h, p);
        expected.rsplit('.').next() == Some(sig.trim_end_matches('='))
    })
}

fn percent_encode(text: &[u8]) -> String {
    let mut out = String::new();
    for &b in text {
        if b.is_ascii_alphanumeric() || b"-._~!$'()*,;:@/".contains(&b) {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

fuzz_target!(|data: &[u8]| {
    let Some((&flags, rest)) = data.split_first() else {
        return;
    };
    let [prod, dev, _] = apps();
    let fields: Vec<&[u8]> = rest.split(|&b| b == b'\n').collect();
    let nav = ("sec-fetch-dest", HeaderValue::from_static("document"));
    if flags & 1 == 0 {
        let directives: Vec<String> = fields
            .iter()
            .map(|f| String::from_utf8_lossy(f).into_owned())
            .collect();
        let token = signed_handshake(&directives);
        let in_cookie = flags & 2 != 0;
        for app in [&prod, &dev] {
            let (uri, headers) = if in_cookie {
                (
                    "/page".to_owned(),
                    vec![
                        nav.clone(),
                        (
                            "cookie",
                            header_value(format!("__clerk_handshake={token}").as_bytes()),
                        ),
                    ],
                )
            } else {
                (
                    format!("/page?__clerk_handshake={token}"),
                    vec![nav.clone()],
                )
            };
            let res = app.send(false, &uri, &headers);
            if res.headers().get(HANDLER_RAN).map(|v| v.as_bytes()) == Some(&b"in"[..]) {
                assert!(
                    holds_signed_session(&directives),
                    "signed in from forged directives"
                );
            }
            let allowed: Vec<String> = directives
                .iter()
                .map(|d| d.trim_matches([' ', '\t', '\n', '\r']).to_owned())
                .collect();
            for line in res.headers().get_all("set-cookie") {
                let line = String::from_utf8_lossy(line.as_bytes()).into_owned();
                assert!(
                    allowed.contains(&line) || line.starts_with("__clerk_redirect_count="),
                    "a Set-Cookie line that is no directive: {line:?}"
                );
            }
        }
    } else {
        let target = fields.first().copied().unwrap_or_default();
        let path = format!("/{}", percent_encode(target));
        static EXPIRED: std::sync::OnceLock<String> = std::sync::OnceLock::new();
        let expired = EXPIRED.get_or_init(|| {
            actix_clerk_fuzz::prod_instance()
                .session_token("user_fuzz")
                .expired()
                .sign()
        });
        let mut headers = vec![
            nav,
            (
                "cookie",
                header_value(format!("__session={expired}; __client_uat=1").as_bytes()),
            ),
        ];
        if let Some(host) = fields.get(1) {
            headers.push(("x-forwarded-host", header_value(host)));
        }
        if let Some(proto) = fields.get(2) {
            headers.push(("x-forwarded-proto", header_value(proto)));
        }
        let res = prod.send(false, &path, &headers);
        assert_ne!(
            res.headers().get(HANDLER_RAN).map(|v| v.as_bytes()),
            Some(&b"in"[..]),
            "signed in with an expired token"
        );
        if let Some(location) = res.headers().get("location") {
            let location = url::Url::parse(location.to_str().expect("ASCII")).expect("a URL");
            let back = location
                .query_pairs()
                .find(|(k, _)| k == "redirect_url")
                .map(|(_, v)| v.into_owned())
                .expect("the handshake names the page");
            assert!(url::Url::parse(&back).is_ok(), "redirect_url {back:?}");
        }
    }
});
