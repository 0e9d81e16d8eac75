//! Where a request comes from, as Clerk derives it: query parameters read like
//! `URLSearchParams`, URL origins like `new URL(url).origin`, forwarded headers, and Clerk's
//! test for a cross-origin document navigation (where it would redirect to its handshake).

use std::borrow::Cow;

use actix_web::http::header::HeaderMap;

use super::RequestParts;
use crate::instance::InstanceType;

/// `application/x-www-form-urlencoded` decoding, as `URLSearchParams` does it.
fn form_decode(s: &str) -> Cow<'_, str> {
    if !s.contains(['%', '+']) {
        return Cow::Borrowed(s);
    }
    let plus = s.replace('+', " ");
    Cow::Owned(
        percent_encoding::percent_decode_str(&plus)
            .decode_utf8_lossy()
            .into_owned(),
    )
}

/// `new URL(url).searchParams.get(name)`: the first parameter whose decoded name matches.
pub(crate) fn query_param<'q>(query: &'q str, name: &str) -> Option<Cow<'q, str>> {
    query.split('&').filter(|p| !p.is_empty()).find_map(|pair| {
        let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
        (form_decode(k) == name).then(|| form_decode(v))
    })
}

fn header_str<'h>(headers: &'h HeaderMap, name: &str) -> Option<&'h str> {
    headers
        .get(name)
        .and_then(|v| v.to_str().ok())
        .filter(|v| !v.is_empty())
}

/// The origin (`scheme://host[:port]`, lower-cased, default port dropped) of an absolute
/// http(s) URL, as `new URL(url).origin` gives it; `"null"` for other schemes.
fn url_origin(url: &str) -> Option<String> {
    let (scheme, rest) = url.split_once("://")?;
    let scheme = scheme.to_ascii_lowercase();
    if scheme.is_empty()
        || !scheme
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"+-.".contains(&b))
    {
        return None;
    }
    if scheme != "http" && scheme != "https" {
        return Some("null".into());
    }
    let authority = rest.split(['/', '?', '#', '\\']).next().unwrap_or_default();
    let host_port = authority.rsplit_once('@').map_or(authority, |(_, h)| h);
    if host_port.is_empty() || host_port.contains(char::is_whitespace) {
        return None;
    }
    let (host, port) = if host_port.starts_with('[') {
        let close = host_port.find(']')?;
        let (h, rest) = host_port.split_at(close + 1);
        match rest {
            "" => (h, ""),
            r => (h, r.strip_prefix(':')?),
        }
    } else {
        host_port.rsplit_once(':').unwrap_or((host_port, ""))
    };
    if host.is_empty() || !port.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let port = port.trim_start_matches('0');
    let default_port = if scheme == "http" { "80" } else { "443" };
    let host = host.to_ascii_lowercase();
    Some(if port.is_empty() || port == default_port {
        format!("{scheme}://{host}")
    } else {
        format!("{scheme}://{host}:{port}")
    })
}

/// The request's origin as Clerk derives it: `x-forwarded-proto`/`x-forwarded-host` (first
/// value) over the connection's scheme and `Host`.
fn request_origin(req: &RequestParts<'_>) -> Option<String> {
    let first = |v: &str| v.split(',').next().unwrap_or_default().to_owned();
    let host = header_str(req.headers, "host").unwrap_or(req.default_host);
    let initial = url_origin(&format!("{}://{host}", req.scheme));
    let proto = header_str(req.headers, "x-forwarded-proto")
        .map(first)
        .unwrap_or_else(|| req.scheme.to_owned());
    let host = header_str(req.headers, "x-forwarded-host")
        .map(first)
        .unwrap_or_else(|| host.to_owned());
    if proto.is_empty() || host.is_empty() {
        return initial;
    }
    url_origin(&format!("{proto}://{host}")).or(initial)
}

/// Clerk's `shouldForceHandshakeForCrossDomain`: a signed-in cookie request that is a GET
/// document navigation from another origin (not Clerk's own pages) gets a handshake redirect.
pub(crate) fn cross_origin_navigation(
    cfg: &super::Authenticator,
    req: &RequestParts<'_>,
    redirect_count: f64,
) -> bool {
    let publishable_key = cfg.publishable_key.as_ref();
    if !req.is_get
        || header_str(req.headers, "sec-fetch-dest") != Some("document")
        || redirect_count != 0.0
    {
        return false;
    }
    let Some(referrer) = header_str(req.headers, "referer") else {
        return false;
    };
    let Some(referrer_origin) = url_origin(referrer) else {
        return false;
    };
    let origin = match request_origin(req) {
        Some(origin) if origin != referrer_origin => origin,
        _ => return false,
    };
    let referrer_host = referrer_origin.split_once("://").map_or("", |(_, h)| h);
    let referrer_host = referrer_host
        .rsplit_once(':')
        .map_or(referrer_host, |(h, _)| h);
    if let Some(pk) = publishable_key {
        let fapi = cfg
            .browser
            .frontend_api(pk, Some(&origin))
            .to_ascii_lowercase();
        let fapi_host = if fapi.starts_with("http") {
            ::url::Url::parse(&fapi)
                .ok()
                .and_then(|u| u.host_str().map(str::to_owned))
                .unwrap_or_default()
        } else {
            fapi.clone()
        };
        if referrer_host == fapi_host {
            return false;
        }
        if pk.instance == InstanceType::Development {
            let legacy = [".lcl.dev", ".lclstage.dev", ".lclclerk.com"];
            let current = [
                ".accounts.dev",
                ".accountsstage.dev",
                ".accounts.lclclerk.com",
            ];
            if legacy
                .iter()
                .any(|s| referrer_host.starts_with("accounts.") && referrer_host.ends_with(s))
                || current.iter().any(|s| {
                    referrer_host.ends_with(s) && !referrer_host.ends_with(&format!(".clerk{s}"))
                })
            {
                return false;
            }
        }
        let accounts = crate::browser::accounts_base_url(&fapi);
        if url_origin(&accounts).as_deref() == Some(referrer_origin.as_str()) {
            return false;
        }
    }
    true
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn origins() {
        assert_eq!(
            url_origin("https://App.example.com/x?y").as_deref(),
            Some("https://app.example.com")
        );
        assert_eq!(url_origin("http://h:80/").as_deref(), Some("http://h"));
        assert_eq!(
            url_origin("http://h:8080").as_deref(),
            Some("http://h:8080")
        );
        assert_eq!(
            url_origin("https://u:p@h:443").as_deref(),
            Some("https://h")
        );
        assert_eq!(
            url_origin("http://[::1]:3000/").as_deref(),
            Some("http://[::1]:3000")
        );
        assert_eq!(url_origin("http://[::1]").as_deref(), Some("http://[::1]"));
        assert_eq!(url_origin("ftp://x").as_deref(), Some("null"));
        assert_eq!(url_origin("garbage"), None);
    }

    #[test]
    fn query_parameters() {
        assert_eq!(
            query_param("a=1&%5F%5Fclerk_db_jwt=x+y", "__clerk_db_jwt").as_deref(),
            Some("x y")
        );
        assert_eq!(
            query_param("__clerk_db_jwt", "__clerk_db_jwt").as_deref(),
            Some("")
        );
    }
}
