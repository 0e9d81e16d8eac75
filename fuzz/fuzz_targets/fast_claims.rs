//! Fast: Clerk's checks of a decoded token after its key was found (`typ`, `alg`, the key's
//! bound algorithm, the signature verdict, `sub`, `aud`, `azp`, `exp`, `nbf`, `iat`), with the
//! signature verdict given by the input, on structure-aware claims (`arbitrary`).
//!
//! Checked: the token the harness builds decodes; it passes only with a valid signature
//! verdict, and then `sub` is a string, `exp` a number, `azp` one of the authorized parties (a
//! session token under parties), a string `aud` one of the audience; the cache's window
//! `[from, until)` holds `now` and agrees with the full time re-check (`check_times`) at and
//! around both edges; `check_time_claims` alone passes too; a failure before the signature
//! verdict is one of the shape reasons, never a claim reason, when the verdict is not valid.
#![no_main]

use actix_clerk::fuzzing as f;
use actix_clerk::Reason;
use actix_clerk_fuzz::reference as model;
use arbitrary::Arbitrary;
use libfuzzer_sys::fuzz_target;
use serde_json::{json, Map, Value};

/// Seconds near "now".
const BASE: f64 = 1_765_000_000.0;

#[derive(Arbitrary, Debug)]
enum J {
    Missing,
    Null,
    Bool(bool),
    /// BASE + n seconds.
    Near(i16),
    /// BASE + n milliseconds, fractional seconds.
    Frac(i32),
    Int(i64),
    Float(f64),
    Str(String),
    Pick(u8),
    List(Vec<u8>),
    Obj,
}

const NAMES: [&str; 5] = ["https://app.example.com", "", "aud-1", "user_1", "JWT"];

fn value(j: &J) -> Option<Value> {
    Some(match j {
        J::Missing => return None,
        J::Null => Value::Null,
        J::Bool(b) => json!(b),
        J::Near(n) => json!(BASE + f64::from(*n)),
        J::Frac(n) => json!(BASE + f64::from(*n) / 1000.0),
        J::Int(i) => json!(i),
        J::Float(x) => serde_json::Number::from_f64(*x).map_or(Value::Null, Value::Number),
        J::Str(s) => json!(s),
        J::Pick(i) => json!(NAMES[usize::from(*i) % NAMES.len()]),
        J::List(items) => Value::Array(
            items
                .iter()
                .map(|i| json!(NAMES[usize::from(*i) % NAMES.len()]))
                .collect(),
        ),
        J::Obj => json!({"a": 1}),
    })
}

#[derive(Arbitrary, Debug)]
struct Input {
    typ: J,
    alg: J,
    alg_pick: u8,
    sub: J,
    azp: J,
    aud: J,
    exp: J,
    nbf: J,
    iat: J,
    extra: Vec<(String, J)>,
    /// The payload is this value instead of an object.
    not_object: Option<J>,
    parties: Vec<u8>,
    audience: Vec<u8>,
    skew_ms: u16,
    now_offset_ms: i32,
    key_alg: u8,
    verdict: Option<bool>,
    profile: u8,
}

fn put(map: &mut Map<String, Value>, name: &str, j: &J) {
    if let Some(v) = value(j) {
        map.insert(name.to_owned(), v);
    }
}

fuzz_target!(|input: Input| {
    let mut header = Map::new();
    put(&mut header, "typ", &input.typ);
    match input.alg_pick % 4 {
        0 => put(&mut header, "alg", &input.alg),
        n => {
            header.insert(
                "alg".into(),
                json!(["RS256", "RS384", "RS512"][usize::from(n) - 1]),
            );
        }
    }
    header.insert("kid".into(), json!("ins_fuzz"));
    let mut claims = Map::new();
    for (name, j) in &input.extra {
        put(&mut claims, name, j);
    }
    for (name, j) in [
        ("sub", &input.sub),
        ("azp", &input.azp),
        ("aud", &input.aud),
        ("exp", &input.exp),
        ("nbf", &input.nbf),
        ("iat", &input.iat),
    ] {
        put(&mut claims, name, j);
    }
    let payload = match &input.not_object {
        Some(j) => value(j).unwrap_or(Value::Null),
        None => Value::Object(claims.clone()),
    };
    let token = format!(
        "{}.{}.c2ln",
        model::b64url_encode(Value::Object(header).to_string().as_bytes()),
        model::b64url_encode(payload.to_string().as_bytes())
    );
    let d = f::decode(&token).expect("the harness's token decodes");
    let pick = |list: &[u8]| -> Vec<String> {
        list.iter()
            .take(3)
            .map(|i| NAMES[usize::from(*i) % NAMES.len()].to_owned())
            .filter(|s| !s.is_empty())
            .collect()
    };
    let rules = f::Rules {
        authorized_parties: pick(&input.parties),
        audience: pick(&input.audience),
        clock_skew_ms: f64::from(input.skew_ms),
    };
    let now = BASE * 1000.0 + f64::from(input.now_offset_ms);
    let result =
        f::verify_with_verdict(&rules, &d, input.key_alg, input.verdict, now, input.profile);
    match &result {
        Ok(times) => {
            assert_eq!(
                input.verdict,
                Some(true),
                "passed without a valid signature"
            );
            let Value::Object(map) = &d.payload else {
                panic!("passed with claims that are no object");
            };
            assert!(matches!(map.get("sub"), Some(Value::String(_))));
            assert!(map.get("exp").is_some_and(Value::is_number));
            if input.profile == 0 && !rules.authorized_parties.is_empty() {
                let azp = map.get("azp").and_then(Value::as_str).unwrap_or_default();
                assert!(rules.authorized_parties.iter().any(|p| p == azp));
            }
            if input.profile < 2 && !rules.audience.is_empty() {
                if let Some(Value::String(aud)) = map.get("aud") {
                    assert!(aud.is_empty() || rules.audience.contains(aud));
                }
            }
            // The cache's two comparisons are the full re-check.
            let (from, until) = times.window(&rules);
            assert!(from <= now && now < until, "now outside the window");
            for edge in [from, until, now] {
                if edge.is_finite() {
                    for delta in -2..=2 {
                        let t = edge + f64::from(delta);
                        assert_eq!(
                            from <= t && t < until,
                            times.check_at(&rules, t).is_ok(),
                            "window [{from}, {until}) and check_times disagree at {t}"
                        );
                    }
                }
            }
            assert!(f::check_time_claims(&rules, map, now).is_ok());
        }
        Err(refusal) => {
            if input.verdict != Some(true) {
                assert!(
                    matches!(
                        refusal.reason,
                        Reason::TokenInvalid
                            | Reason::TokenInvalidAlgorithm
                            | Reason::TokenVerificationFailed
                            | Reason::TokenInvalidSignature
                    ),
                    "a claim reason before the signature: {refusal:?}"
                );
            }
            assert!(
                refusal.message.is_empty() || refusal.message.ends_with(", token-carrier=header)"),
                "{refusal:?}"
            );
        }
    }
    if let Value::Object(map) = &d.payload {
        // The time checks alone, and the window of what they accept.
        if let Ok(times) = f::check_time_claims(&rules, map, now) {
            let (from, until) = times.window(&rules);
            assert!(from <= now && now < until);
        }
    }
});
