//! Arbitrary bytes as the Cookie header, through `ClerkWithAuth` with a production (pk_live)
//! and a development (pk_test) configuration: never a panic, always a 200 from the handler.
//! A first line starting with `?` is used as the query string (dev-browser parameters).
#![no_main]

use actix_clerk_fuzz::{apps, header_value};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let [prod, dev, _] = apps();
    let (uri, cookie) = match data.strip_prefix(b"?") {
        Some(rest) => {
            let end = rest.iter().position(|&b| b == b'\n').unwrap_or(rest.len());
            // Bytes a URI query may hold are kept (so malformed %-escapes stay possible);
            // the others are percent-encoded.
            let mut query = String::new();
            for &b in &rest[..end] {
                if b.is_ascii_alphanumeric() || b"-._~!$&'()*+,;=:@/?%".contains(&b) {
                    query.push(char::from(b));
                } else {
                    query.push_str(&format!("%{b:02X}"));
                }
            }
            (format!("/me?{query}"), &rest[(end + 1).min(rest.len())..])
        }
        None => ("/me".to_owned(), data),
    };
    let value = header_value(cookie);
    prod.send(false, &uri, &[("cookie", value.clone())]);
    dev.send(false, &uri, &[("cookie", value)]);
});
