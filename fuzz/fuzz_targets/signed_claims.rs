//! Arbitrary bytes as the payload (claims JSON text) of a token validly signed by the
//! configured key: claims parsing, the time checks, the organisation claims, `has()` and the
//! JSON of `Auth` all see attacker-shaped but correctly signed data. Sent as a Bearer header
//! and as a `__session` cookie (with an old `__client_uat`), to the production app without
//! authorized parties.
#![no_main]

use actix_clerk_fuzz::{apps, header_value, sign_payload};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let [_, _, open] = apps();
    let token = sign_payload(data);
    open.send(
        false,
        "/me",
        &[(
            "authorization",
            header_value(format!("Bearer {token}").as_bytes()),
        )],
    );
    open.send(
        false,
        "/me",
        &[(
            "cookie",
            header_value(format!("__session={token}; __client_uat=1").as_bytes()),
        )],
    );
});
