//! Fast: the JavaScript value rules (src/js.rs) on arbitrary text and numbers.
//!
//! Input: 8 bytes read as an f64, then text (lossy UTF-8).
//!
//! Checked: `String#trim` removes exactly the listed ECMAScript white space; `Number#toString`
//! of a finite number reads back as the same number through Rust's parser and through
//! `Number()` (`to_number`), `-0` prints `0`; `parseInt` gives NaN or an integer and reads
//! integers back; `JSON.stringify` of any JSON value parsed from the text is JSON that parses to
//! the same value; truthiness of numbers and strings follows `Number()`/emptiness;
//! `date_from_seconds` is whole milliseconds within ±8.64e15 and `toUTCString` is
//! `Invalid Date` or `Ddd, DD Mmm YYYY HH:MM:SS GMT`; the one-walk member lookup equals
//! `Map::get`.
#![no_main]

use actix_clerk::fuzzing as f;
use actix_clerk_fuzz::reference as model;
use libfuzzer_sys::fuzz_target;
use serde_json::Value;

/// JSON equality with numbers compared as JavaScript numbers (`JSON.stringify(-0)` is `0`).
fn same(a: &Value, b: &Value) -> bool {
    match (a, b) {
        // Exactly: the crate parses JSON numbers with serde_json's float_roundtrip, the
        // nearest double, as JavaScript does.
        (Value::Number(x), Value::Number(y)) => x.as_f64() == y.as_f64(),
        (Value::Array(x), Value::Array(y)) => {
            x.len() == y.len() && x.iter().zip(y).all(|(x, y)| same(x, y))
        }
        (Value::Object(x), Value::Object(y)) => {
            x.len() == y.len() && x.iter().all(|(k, v)| y.get(k).is_some_and(|w| same(v, w)))
        }
        _ => a == b,
    }
}

fuzz_target!(|data: &[u8]| {
    let (num, text) = if data.len() >= 8 {
        let (n, t) = data.split_at(8);
        (f64::from_le_bytes(n.try_into().unwrap_or_default()), t)
    } else {
        (0.0, data)
    };
    let s = String::from_utf8_lossy(text);

    assert_eq!(f::js_trim(&s), s.trim_matches(model::is_js_space));
    for c in s.chars().take(8) {
        assert_eq!(f::is_js_space(c), model::is_js_space(c), "{c:?}");
    }

    let printed = f::js_number(num);
    if num.is_finite() {
        assert_eq!(
            printed.parse::<f64>().ok(),
            Some(num + 0.0),
            "{num:?} -> {printed}"
        );
        let back = f::to_number(Some(&Value::String(printed.clone())));
        assert_eq!(back, num + 0.0, "Number({printed:?})");
    } else if num.is_nan() {
        assert_eq!(printed, "NaN");
    } else {
        assert_eq!(printed, if num > 0.0 { "Infinity" } else { "-Infinity" });
    }

    let int = f::parse_int(&s);
    assert!(
        int.is_nan() || int == int.trunc(),
        "parseInt({s:?}) = {int}"
    );
    let i = num.to_bits() as i32;
    assert_eq!(f::parse_int(&i.to_string()), f64::from(i));

    let n = f::to_number(Some(&Value::String(s.to_string())));
    assert_eq!(
        f::truthy(Some(&Value::String(s.to_string()))),
        !s.is_empty()
    );
    if let Some(number) = serde_json::Number::from_f64(num) {
        let v = Value::Number(number);
        assert_eq!(f::truthy(Some(&v)), num != 0.0);
        assert_eq!(f::to_number(Some(&v)), num);
    }
    let _ = n;

    if let Ok(v) = serde_json::from_str::<Value>(&s) {
        let out = f::js_stringify(Some(&v));
        let back: Value = serde_json::from_str(&out).expect("JSON.stringify gives JSON");
        assert!(same(&back, &v), "{out}");
        if let Value::Object(map) = &v {
            let names = ["exp", "nbf", "iat", "sub"];
            let found = f::members4(map, names);
            for (name, got) in names.iter().zip(found) {
                assert_eq!(got, map.get(*name));
                assert_eq!(f::prop(&v, name), Some(map.get(*name)));
            }
        }
        assert_eq!(f::prop(&Value::Null, "x"), None);
    }

    match f::date_from_seconds(num) {
        Some(ms) => {
            assert!(ms.abs() <= 8.64e15 && ms == ms.trunc());
            let text = f::utc_string(Some(ms));
            assert!(
                text.ends_with(" GMT") && text.as_bytes()[3] == b',',
                "{text}"
            );
        }
        None => assert!(!num.is_finite() || (num.trunc() * 1000.0).abs() > 8.64e15),
    }
    assert_eq!(f::utc_string(None), "Invalid Date");
});
