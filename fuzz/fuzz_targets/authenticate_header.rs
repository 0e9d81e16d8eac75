//! Arbitrary bytes as the Authorization header value, through `ClerkWithAuth` (production
//! instance): never a panic, always a 200 from the handler. An input starting with `P` is sent
//! as a POST (without the `P`), which changes the reason of expired tokens.
#![no_main]

use actix_clerk_fuzz::{apps, header_value};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let [prod, _, _] = apps();
    let (post, value) = match data.strip_prefix(b"P") {
        Some(rest) => (true, rest),
        None => (false, data),
    };
    prod.send(post, "/me", &[("authorization", header_value(value))]);
});
