//! Fast: the browser flow's pure parts — handshake directives into `Set-Cookie` lines and the
//! session they set, the request URL Clerk derives from forwarded headers, and query edits.
//!
//! Input: one flags byte, then `\n`-separated fields (lossy UTF-8).
//! - flags bit 0 clear: the fields are handshake directives. Checked: the handshake fails as a
//!   whole exactly when a directive trimmed of HTTP white space is no valid header value;
//!   otherwise one `Set-Cookie` line per directive, each the trimmed directive, and the session
//!   is the last `__session…` directive's value (JavaScript's `split(';')[0].split('=')[1]`).
//! - flags bit 0 set: fields are host, x-forwarded-host, x-forwarded-proto, path-and-query,
//!   then parameter names and values (the first four names are used). Checked: the crate's
//!   query reader agrees with the url crate's form parser (`URLSearchParams#get`) on the
//!   derived URL's query and on the raw query; after `delete` a name is gone, after `set` it
//!   reads the value once, after `append` the last pair is the appended one. (That a derived
//!   URL re-parses to itself is the url crate's own property, fuzzed there, and is not
//!   re-checked: the second parse doubled the cost of each input.)
#![no_main]

use actix_clerk::fuzzing as f;
use actix_web::http::header::{HeaderMap, HeaderName, HeaderValue};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some((&flags, rest)) = data.split_first() else {
        return;
    };
    let fields: Vec<String> = rest
        .split(|&b| b == b'\n')
        .map(|f| String::from_utf8_lossy(f).into_owned())
        .collect();
    if flags & 1 == 0 {
        let answer = f::handshake_directives(&fields);
        let trimmed: Vec<&str> = fields
            .iter()
            .map(|d| d.trim_matches([' ', '\t', '\n', '\r']))
            .collect();
        let valid = trimmed.iter().all(|d| HeaderValue::from_str(d).is_ok());
        let Some((lines, session)) = answer else {
            assert!(!valid, "a valid handshake refused: {fields:?}");
            return;
        };
        assert!(valid);
        assert_eq!(lines.len(), fields.len());
        for ((name, value), d) in lines.iter().zip(&trimmed) {
            assert_eq!(name.as_str(), "set-cookie");
            assert_eq!(value.as_bytes(), d.as_bytes());
        }
        let want = fields
            .iter()
            .filter_map(|d| {
                let first = d.split(';').next().unwrap_or_default();
                let mut kv = first.split('=');
                kv.next()
                    .unwrap_or_default()
                    .starts_with("__session")
                    .then(|| kv.next().map(str::to_owned))
            })
            .next_back();
        assert_eq!(session, want);
        return;
    }
    let field = |i: usize| fields.get(i).map(String::as_str);
    let mut headers = HeaderMap::new();
    for (i, name) in [
        (0, "host"),
        (1, "x-forwarded-host"),
        (2, "x-forwarded-proto"),
    ] {
        if let Some(v) = field(i).and_then(|v| HeaderValue::from_str(v).ok()) {
            headers.append(HeaderName::from_static(name), v);
        }
    }
    let path = format!("/{}", field(3).unwrap_or_default().trim_start_matches('/'));
    let Some(mut url) = f::clerk_url(&headers, "http", "localhost", &path) else {
        return;
    };
    let names: Vec<&str> = fields
        .iter()
        .skip(4)
        .step_by(2)
        .take(4)
        .map(String::as_str)
        .collect();
    let values: Vec<&str> = fields
        .iter()
        .skip(5)
        .step_by(2)
        .map(String::as_str)
        .collect();
    // The references: the url crate's own `application/x-www-form-urlencoded` parser, over the
    // derived URL's query and over the raw query as received (what the middleware reads).
    let url_pairs: Vec<(String, String)> = url.query_pairs().into_owned().collect();
    let raw_query = path
        .split_once('?')
        .map_or("", |(_, q)| q.split('#').next().unwrap_or_default());
    let raw_pairs: Vec<(String, String)> = url::form_urlencoded::parse(raw_query.as_bytes())
        .into_owned()
        .collect();
    let first = |pairs: &[(String, String)], name: &str| {
        pairs
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.clone())
    };
    for name in names
        .iter()
        .chain(["__clerk_handshake", "__clerk_db_jwt"].iter())
    {
        assert_eq!(
            f::url_param(&url, name),
            first(&url_pairs, name),
            "name {name:?}"
        );
        assert_eq!(
            f::query_param(raw_query, name),
            first(&raw_pairs, name),
            "query {raw_query:?} name {name:?}"
        );
    }
    let Some(&name) = names.first() else {
        return;
    };
    let value = values.first().copied().unwrap_or_default();
    let mut set = url.clone();
    f::set_param(&mut set, name, value);
    assert_eq!(f::url_param(&set, name).as_deref(), Some(value));
    assert_eq!(set.query_pairs().filter(|(k, _)| k == name).count(), 1);
    let mut appended = url.clone();
    f::append_params(&mut appended, &[(name, value)]);
    let last = appended
        .query_pairs()
        .last()
        .map(|(k, v)| (k.into_owned(), v.into_owned()));
    assert_eq!(last, Some((name.to_owned(), value.to_owned())));
    f::delete_params(&mut url, &names);
    for n in &names {
        assert_eq!(f::url_param(&url, n), None);
    }
});
