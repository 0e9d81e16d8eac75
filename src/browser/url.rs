//! URLs as Clerk's SDK handles them (WHATWG URLs, `URLSearchParams`): the request's URL as
//! Clerk derives it from forwarded headers, and query edits that re-serialise the query as
//! form-encoded text, as `searchParams.delete`/`append` do.

use actix_web::http::header::HeaderMap;
use url::Url;

/// A header's value as a Fetch `Headers#get` gives it: repeated lines joined with `", "`;
/// `None` when absent. Bytes beyond ASCII are read as Latin-1.
pub(crate) fn header_joined(headers: &HeaderMap, name: &str) -> Option<String> {
    let mut out: Option<String> = None;
    for v in headers.get_all(name) {
        let text: String = v.as_bytes().iter().map(|&b| b as char).collect();
        let text = text.trim_matches([' ', '\t']).to_owned();
        match &mut out {
            None => out = Some(text),
            Some(o) => {
                o.push_str(", ");
                o.push_str(&text);
            }
        }
    }
    out
}

/// `ClerkRequest#deriveUrlFromHeaders`: scheme from `x-forwarded-proto`, host from
/// `x-forwarded-host` (each the text before the first `,`), over the connection's scheme and
/// `Host`; then the path and query as received. `None` when no URL can be made at all.
pub(crate) fn clerk_url(
    headers: &HeaderMap,
    scheme: &str,
    default_host: &str,
    path_and_query: &str,
) -> Option<Url> {
    let host = header_joined(headers, "host");
    let initial_host = host
        .as_deref()
        .filter(|h| !h.is_empty())
        .unwrap_or(default_host);
    let initial = Url::parse(&format!("{scheme}://{initial_host}{path_and_query}")).ok()?;
    let first = |v: String| v.split(',').next().unwrap_or_default().to_owned();
    let forwarded_host = header_joined(headers, "x-forwarded-host").map(first);
    let forwarded_proto = header_joined(headers, "x-forwarded-proto").map(first);
    let resolved_host = forwarded_host.or(host);
    let resolved_proto = forwarded_proto.unwrap_or_else(|| scheme.to_owned());
    let (Some(h), p) = (resolved_host.filter(|h| !h.is_empty()), resolved_proto) else {
        return Some(initial);
    };
    if p.is_empty() {
        return Some(initial);
    }
    let origin = format!("{p}://{h}");
    if origin == initial.origin().ascii_serialization() {
        return Some(initial);
    }
    let mut rest = initial.path().to_owned();
    if let Some(q) = initial.query() {
        rest.push('?');
        rest.push_str(q);
    }
    match Url::parse(&origin).and_then(|base| base.join(&rest)) {
        Ok(u) => Some(u),
        Err(_) => Some(initial),
    }
}

/// `url.searchParams.get(name)`: the crate's one query reader over the URL's query (only the
/// names are decoded until one matches).
pub(crate) fn param(url: &Url, name: &str) -> Option<String> {
    crate::authenticate::origin::query_param(url.query().unwrap_or_default(), name)
        .map(|v| v.into_owned())
}

/// Removes every parameter named in `names` and re-serialises the query as
/// `URLSearchParams` does (also when nothing was removed; an empty query is dropped).
pub(crate) fn delete_params(url: &mut Url, names: &[&str]) {
    let kept: Vec<(String, String)> = url
        .query_pairs()
        .filter(|(k, _)| !names.contains(&k.as_ref()))
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect();
    set_pairs(url, &kept);
}

/// Appends parameters (re-serialising the query as `URLSearchParams` does).
pub(crate) fn append_params(url: &mut Url, extra: &[(&str, &str)]) {
    let mut pairs: Vec<(String, String)> = url
        .query_pairs()
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect();
    pairs.extend(
        extra
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned())),
    );
    set_pairs(url, &pairs);
}

/// `searchParams.set(name, value)`: the first one replaced, later ones removed, else appended.
pub(crate) fn set_param(url: &mut Url, name: &str, value: &str) {
    let mut pairs: Vec<(String, String)> = Vec::new();
    let mut done = false;
    for (k, v) in url.query_pairs() {
        if k == name {
            if !done {
                pairs.push((name.to_owned(), value.to_owned()));
                done = true;
            }
        } else {
            pairs.push((k.into_owned(), v.into_owned()));
        }
    }
    if !done {
        pairs.push((name.to_owned(), value.to_owned()));
    }
    set_pairs(url, &pairs);
}

fn set_pairs(url: &mut Url, pairs: &[(String, String)]) {
    if pairs.is_empty() {
        url.set_query(None);
        return;
    }
    let text = url::form_urlencoded::Serializer::new(String::new())
        .extend_pairs(pairs)
        .finish();
    url.set_query(Some(&text));
}

#[cfg(test)]
mod tests {
    use super::*;
    use actix_web::http::header::{HeaderName, HeaderValue};

    fn headers(list: &[(&str, &str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in list {
            h.append(
                HeaderName::from_bytes(k.as_bytes()).unwrap(), // ok: test
                HeaderValue::from_str(v).unwrap(),             // ok: test
            );
        }
        h
    }

    #[test]
    fn derived_urls() {
        let h = headers(&[("host", "localhost:3000")]);
        let u = clerk_url(&h, "http", "x", "/a?b=1").unwrap(); // ok: test
        assert_eq!(u.as_str(), "http://localhost:3000/a?b=1");
        let h = headers(&[
            ("host", "localhost:3000"),
            ("x-forwarded-host", "app.example.com, proxy"),
            ("x-forwarded-proto", "https,http"),
        ]);
        let u = clerk_url(&h, "http", "x", "/p?q=a%20b").unwrap(); // ok: test
        assert_eq!(u.as_str(), "https://app.example.com/p?q=a%20b");
    }

    #[test]
    fn query_edits_reserialise() {
        let mut u = Url::parse("https://a.b/p?x=a%20b&__clerk_db_jwt=1&flag").unwrap(); // ok: test
        delete_params(&mut u, &["__clerk_db_jwt"]);
        assert_eq!(u.as_str(), "https://a.b/p?x=a+b&flag=");
        let mut u = Url::parse("https://a.b/p?").unwrap(); // ok: test
        delete_params(&mut u, &["z"]);
        assert_eq!(u.as_str(), "https://a.b/p");
    }
}
