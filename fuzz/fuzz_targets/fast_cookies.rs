//! Fast: the Cookie header as Clerk reads it and its choice between the plain and the suffixed
//! cookie pair, on structure-aware headers (`arbitrary`): Clerk's names, plain or with the
//! instance's suffix (any 8 characters of URL-safe base64, `-` and `_` included, as the suffix
//! of a real publishable key may be), values that are text or unsigned tokens with `iss`,
//! `iat` and `exp`, and junk between them.
//!
//! Checked: every cookie Clerk reads equals the `cookie` package model (pairs split on `;`,
//! trimmed, first occurrence wins, `decodeURIComponent` or the raw value); without a publishable
//! key the plain pair is used; with neither suffixed cookie (and a plain session of the
//! instance, or none) the plain pair is used; a suffixed `__client_uat` other than `0` alone
//! chooses the suffixed pair; `Number(__clerk_redirect_count) || 0` is never NaN.
#![no_main]

use actix_clerk::fuzzing as f;
use actix_clerk_fuzz::reference as model;
use arbitrary::Arbitrary;
use libfuzzer_sys::fuzz_target;
use serde_json::json;

const FAPI: &str = "clerk.example.com";
const NOW_S: i64 = 1_765_000_000;
const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
const NAMES: [&str; 8] = [
    "__session",
    "__client_uat",
    "__clerk_db_jwt",
    "__clerk_redirect_count",
    "__clerk_handshake",
    "__clerk_handshake_nonce",
    "__refresh",
    "other",
];

#[derive(Arbitrary, Debug)]
enum Val {
    Text(String),
    Uat(u8),
    Token {
        iss: u8,
        iat: Option<i16>,
        exp: Option<i16>,
    },
}

#[derive(Arbitrary, Debug)]
struct Entry {
    name: u8,
    suffixed: bool,
    value: Val,
    spaces: u8,
    junk: Option<String>,
}

#[derive(Arbitrary, Debug)]
struct Input {
    suffix: Option<[u8; 8]>,
    production: bool,
    entries: Vec<Entry>,
}

fn token(iss: u8, iat: Option<i16>, exp: Option<i16>) -> String {
    let mut claims = serde_json::Map::new();
    match iss % 4 {
        0 => {}
        1 => {
            claims.insert("iss".into(), json!(format!("https://{FAPI}")));
        }
        2 => {
            claims.insert("iss".into(), json!("https://other.example.com"));
        }
        _ => {
            claims.insert("iss".into(), json!(""));
        }
    }
    if let Some(iat) = iat {
        claims.insert("iat".into(), json!(NOW_S + i64::from(iat)));
    }
    if let Some(exp) = exp {
        claims.insert("exp".into(), json!(NOW_S + i64::from(exp)));
    }
    format!(
        "eyJhbGciOiJSUzI1NiJ9.{}.c2ln",
        model::b64url_encode(serde_json::Value::Object(claims).to_string().as_bytes())
    )
}

fuzz_target!(|input: Input| {
    let suffix: Option<String> = input.suffix.map(|s| {
        s.iter()
            .map(|&b| char::from(ALPHABET[usize::from(b % 64)]))
            .collect()
    });
    let mut header = String::new();
    for e in &input.entries {
        let base = NAMES[usize::from(e.name) % NAMES.len()];
        let name = match (&suffix, e.suffixed) {
            (Some(s), true) => format!("{base}_{s}"),
            _ => base.to_owned(),
        };
        let value = match &e.value {
            Val::Text(t) => t.clone(),
            Val::Uat(n) => (u32::from(*n) % 3).to_string(),
            Val::Token { iss, iat, exp } => token(*iss, *iat, *exp),
        };
        let pad = " ".repeat(usize::from(e.spaces % 3));
        header.push_str(&format!("{pad}{name}{pad}={pad}{value}{pad};"));
        if let Some(junk) = &e.junk {
            header.push_str(junk);
            header.push(';');
        }
    }
    let got = f::parse_cookies(&header, suffix.as_deref());
    let plain = |n: &str| model::cookie(&header, n);
    let sfx = |n: &str| {
        suffix
            .as_ref()
            .and_then(|s| model::cookie(&header, &format!("{n}_{s}")))
    };
    let want = f::Cookies {
        session: plain("__session"),
        client_uat: plain("__client_uat"),
        db_jwt: plain("__clerk_db_jwt"),
        session_sfx: sfx("__session"),
        client_uat_sfx: sfx("__client_uat"),
        db_jwt_sfx: sfx("__clerk_db_jwt"),
        redirect_count: plain("__clerk_redirect_count"),
        handshake: plain("__clerk_handshake"),
        handshake_nonce: plain("__clerk_handshake_nonce"),
        refresh_sfx: sfx("__refresh"),
    };
    assert_eq!(got, want, "header {header:?}, suffix {suffix:?}");
    assert!(!f::redirect_count(&header).is_nan());

    let now = NOW_S as f64 * 1000.0;
    let uses = f::uses_suffixed(input.production, FAPI, suffix.as_deref(), &header, now);
    if suffix.is_none() {
        assert!(!uses, "suffixed cookies without a publishable key");
        return;
    }
    let present = |v: &Option<String>| v.as_deref().filter(|s| !s.is_empty()).map(str::to_owned);
    let session_ours = match present(&want.session) {
        None => true,
        Some(t) => f::decode(&t).ok().is_some_and(|d| {
            d.payload.get("iss").and_then(|v| v.as_str()) == Some(&format!("https://{FAPI}"))
        }),
    };
    let (uat_sfx, session_sfx) = (present(&want.client_uat_sfx), present(&want.session_sfx));
    if uat_sfx.is_none() && session_sfx.is_none() && session_ours {
        assert!(
            !uses,
            "suffixed pair chosen without suffixed cookies: {header:?}"
        );
    }
    if present(&want.session).is_none()
        && present(&want.client_uat).is_none()
        && uat_sfx.as_deref().is_some_and(|u| u != "0")
    {
        assert!(uses, "the suffixed pair alone not chosen: {header:?}");
    }
});
