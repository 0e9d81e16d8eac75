//! The JavaScript value rules Clerk's checks and messages depend on: property access and
//! truthiness on JSON values, `Number()`/`parseInt`, `String#trim`, `JSON.stringify`,
//! `Number#toString` and `Date#toUTCString`. Leaf module: uses nothing else of the crate.

use serde_json::Value;

/// Property access on a decoded JSON value, as JavaScript would do it.
///
/// `Err(())` is the `TypeError` JavaScript throws when reading a property of `null`.
pub(crate) fn prop<'v>(value: &'v Value, key: &str) -> Result<Option<&'v Value>, ()> {
    match value {
        Value::Object(map) => Ok(member(map, key)),
        Value::Null => Err(()),
        _ => Ok(None),
    }
}

/// Several members of an object at once, in one walk over its entries: for a claims object of
/// a dozen names this beats one hashed lookup per name (the map's hasher is SipHash). The
/// same answers as `map.get(name)` for each name.
pub(crate) fn members<'v, const N: usize>(
    map: &'v serde_json::Map<String, Value>,
    names: [&str; N],
) -> [Option<&'v Value>; N] {
    let mut found = [None; N];
    for (name, value) in map {
        if let Some(i) = names.iter().position(|n| *n == name) {
            found[i] = Some(value);
        }
    }
    found
}

/// One member of an object: a walk over a small object's entries (a JOSE header has three or
/// four), a hashed lookup otherwise; the same answer as `map.get(key)`.
pub(crate) fn member<'v>(map: &'v serde_json::Map<String, Value>, key: &str) -> Option<&'v Value> {
    if map.len() <= 6 {
        map.iter().find(|(name, _)| *name == key).map(|(_, v)| v)
    } else {
        map.get(key)
    }
}

/// Property access that treats `null` like any other non-object (for `?.` chains).
pub(crate) fn prop_opt<'v>(value: &'v Value, key: &str) -> Option<&'v Value> {
    value.as_object().and_then(|m| member(m, key))
}

/// JavaScript truthiness of a JSON value (`undefined` is `None`).
pub(crate) fn truthy(value: Option<&Value>) -> bool {
    match value {
        None | Some(Value::Null) => false,
        Some(Value::Bool(b)) => *b,
        Some(Value::Number(n)) => n.as_f64().is_some_and(|f| f != 0.0 && !f.is_nan()),
        Some(Value::String(s)) => !s.is_empty(),
        Some(Value::Array(_)) | Some(Value::Object(_)) => true,
    }
}

/// `Number(value)` for a JSON value (`undefined` is NaN).
pub(crate) fn to_number(value: Option<&Value>) -> f64 {
    match value {
        None => f64::NAN,
        Some(Value::Null) => 0.0,
        Some(Value::Bool(b)) => f64::from(u8::from(*b)),
        Some(Value::Number(n)) => n.as_f64().unwrap_or(f64::NAN),
        Some(Value::String(s)) => string_to_number(s),
        Some(Value::Array(a)) => match a.as_slice() {
            [] => 0.0,
            [single] if !single.is_array() && !single.is_object() => match single {
                Value::Null => 0.0,
                Value::String(s) => string_to_number(s),
                other => to_number(Some(other)),
            },
            _ => f64::NAN,
        },
        Some(Value::Object(_)) => f64::NAN,
    }
}

/// JavaScript's white space and line terminators: Unicode White_Space without U+0085, plus
/// U+FEFF (what `String#trim`, `Number()` and `parseInt` skip).
pub(crate) fn is_js_space(c: char) -> bool {
    (c.is_whitespace() && c != '\u{85}') || c == '\u{feff}'
}

/// `String#trim`.
pub(crate) fn js_trim(s: &str) -> &str {
    s.trim_matches(is_js_space)
}

fn string_to_number(s: &str) -> f64 {
    let t = js_trim(s);
    if t.is_empty() {
        return 0.0;
    }
    let lower = t.to_ascii_lowercase();
    let radix = |p: &str, r| {
        u64::from_str_radix(p, r)
            .map(|v| v as f64)
            .unwrap_or(f64::NAN)
    };
    if let Some(h) = lower.strip_prefix("0x") {
        return radix(h, 16);
    }
    if let Some(o) = lower.strip_prefix("0o") {
        return radix(o, 8);
    }
    if let Some(b) = lower.strip_prefix("0b") {
        return radix(b, 2);
    }
    match t {
        "Infinity" | "+Infinity" => f64::INFINITY,
        "-Infinity" => f64::NEG_INFINITY,
        _ if t
            .bytes()
            .any(|b| b.is_ascii_alphabetic() && b != b'e' && b != b'E') =>
        {
            f64::NAN
        }
        _ => t.parse::<f64>().unwrap_or(f64::NAN),
    }
}

/// `Number.parseInt(s)` (radix 10), NaN when no digits lead.
pub(crate) fn parse_int(s: &str) -> f64 {
    let t = s.trim_start_matches(is_js_space);
    let (neg, rest) = match t.as_bytes().first() {
        Some(b'-') => (true, &t[1..]),
        Some(b'+') => (false, &t[1..]),
        _ => (false, t),
    };
    // Without a radix, a `0x`/`0X` prefix means hexadecimal.
    let (rest, radix) = match rest.get(..2) {
        Some("0x" | "0X") => (&rest[2..], 16),
        _ => (rest, 10),
    };
    let len = rest
        .bytes()
        .take_while(|b| (*b as char).is_digit(radix))
        .count();
    let digits = &rest[..len];
    if digits.is_empty() {
        return f64::NAN;
    }
    let v = digits.bytes().fold(0.0f64, |acc, b| {
        acc * f64::from(radix) + f64::from((b as char).to_digit(radix).unwrap_or(0))
    });
    if neg {
        -v
    } else {
        v
    }
}

/// `JSON.stringify` of an optional value, with `undefined` for `None`.
pub(crate) fn js_stringify(value: Option<&Value>) -> String {
    let mut out = String::new();
    match value {
        None => out.push_str("undefined"),
        Some(v) => write_json(&mut out, v),
    }
    out
}

fn write_json(out: &mut String, value: &Value) {
    match value {
        Value::Null => out.push_str("null"),
        Value::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        Value::Number(n) => {
            if let Some(i) = n.as_i64().filter(|i| i.unsigned_abs() < (1 << 53)) {
                out.push_str(&i.to_string());
            } else {
                out.push_str(&js_number(n.as_f64().unwrap_or(f64::NAN)));
            }
        }
        Value::String(s) => write_json_string(out, s),
        Value::Array(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_json(out, item);
            }
            out.push(']');
        }
        Value::Object(map) => {
            out.push('{');
            for (i, (k, v)) in map.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_json_string(out, k);
                out.push(':');
                write_json(out, v);
            }
            out.push('}');
        }
    }
}

fn write_json_string(out: &mut String, s: &str) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\u{8}' => out.push_str("\\b"),
            '\u{c}' => out.push_str("\\f"),
            c if (c as u32) < 0x20 => out.push_str(&format!("\\u{:04x}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
}

/// `Number#toString()` for a finite or non-finite double.
pub(crate) fn js_number(f: f64) -> String {
    if f.is_nan() {
        return "NaN".into();
    }
    if f.is_infinite() {
        return if f > 0.0 {
            "Infinity".into()
        } else {
            "-Infinity".into()
        };
    }
    if f == 0.0 {
        return "0".into();
    }
    let abs = f.abs();
    if (1e-6..1e21).contains(&abs) {
        return format!("{f}");
    }
    // Exponent form: Rust writes `1.5e-7` / `1e21`, JavaScript `1.5e-7` / `1e+21`.
    let s = format!("{f:e}");
    match s.split_once('e') {
        Some((mantissa, exp)) if !exp.starts_with('-') => format!("{mantissa}e+{exp}"),
        _ => s,
    }
}

/// Milliseconds since the epoch of `new Date(0).setUTCSeconds(seconds)`; `None` is an
/// invalid date (NaN).
pub(crate) fn date_from_seconds(seconds: f64) -> Option<f64> {
    if !seconds.is_finite() {
        return None;
    }
    let ms = seconds.trunc() * 1000.0;
    (ms.abs() <= 8.64e15).then_some(ms)
}

/// `Date#toUTCString()`: `Thu, 26 Nov 2026 12:15:37 GMT`, or `Invalid Date`.
pub(crate) fn utc_string(ms: Option<f64>) -> String {
    const DAYS: [&str; 7] = ["Thu", "Fri", "Sat", "Sun", "Mon", "Tue", "Wed"];
    const MONTHS: [&str; 12] = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    let Some(ms) = ms else {
        return "Invalid Date".into();
    };
    let ms = ms as i64;
    let days = ms.div_euclid(86_400_000);
    let secs_of_day = ms.rem_euclid(86_400_000) / 1000;
    let (year, month, day) = civil_from_days(days);
    let weekday = DAYS[days.rem_euclid(7) as usize];
    let year_text = if year < 0 {
        format!("-{:04}", -year)
    } else {
        format!("{year:04}")
    };
    format!(
        "{weekday}, {day:02} {} {year_text} {:02}:{:02}:{:02} GMT",
        MONTHS[(month - 1) as usize],
        secs_of_day / 3600,
        (secs_of_day / 60) % 60,
        secs_of_day % 60
    )
}

/// Days since 1970-01-01 to (year, month 1-12, day 1-31), proleptic Gregorian.
fn civil_from_days(z: i64) -> (i64, i64, i64) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    (if m <= 2 { y + 1 } else { y }, m, d)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn dates_render_like_javascript() {
        assert_eq!(
            utc_string(date_from_seconds(1_795_695_337.0)),
            "Thu, 26 Nov 2026 12:15:37 GMT"
        );
        assert_eq!(utc_string(Some(0.0)), "Thu, 01 Jan 1970 00:00:00 GMT");
        assert_eq!(utc_string(Some(-1000.0)), "Wed, 31 Dec 1969 23:59:59 GMT");
        assert_eq!(utc_string(date_from_seconds(1e20)), "Invalid Date");
        assert_eq!(date_from_seconds(1.9), Some(1000.0));
    }

    #[test]
    fn stringify_matches_javascript() {
        assert_eq!(js_stringify(None), "undefined");
        assert_eq!(js_stringify(Some(&json!("a\"b\u{1}"))), "\"a\\\"b\\u0001\"");
        assert_eq!(js_stringify(Some(&json!(100.0))), "100");
        assert_eq!(js_stringify(Some(&json!(1.5))), "1.5");
        assert_eq!(js_stringify(Some(&json!(1e21))), "1e+21");
        assert_eq!(js_stringify(Some(&json!([1, "x", null]))), "[1,\"x\",null]");
        assert_eq!(
            js_stringify(Some(&json!({"b":1,"a":2}))),
            "{\"b\":1,\"a\":2}"
        );
        // Claims are parsed as JavaScript's JSON.parse does: long literals rounded to the
        // nearest double (serde_json's float_roundtrip; without it these read one or two units
        // in the last place away, and render differently). Expected texts from Node.
        for (text, js) in [
            ("966242195.047396504", "966242195.0473965"),
            ("646544472.48245508367", "646544472.4824551"),
            ("2411901348.5918848555250", "2411901348.591885"),
            // Found by the fast_js campaign: the text JavaScript prints for a long integer
            // literal read back two units in the last place away.
            (
                "999000001139052155680113905215568383872",
                "9.990000011390521e+38",
            ),
            ("9.990000011390521e+38", "9.990000011390521e+38"),
        ] {
            let v: Value = serde_json::from_str(text).unwrap(); // ok: test
            assert_eq!(js_stringify(Some(&v)), js, "{text}");
        }
    }

    #[test]
    fn numbers_and_truthiness() {
        assert_eq!(parse_int(" 12abc"), 12.0);
        assert!(parse_int("abc").is_nan());
        assert_eq!(parse_int("-5"), -5.0);
        assert_eq!(parse_int("0x10"), 16.0);
        assert_eq!(parse_int("-0X1fz"), -31.0);
        assert!(parse_int("0x").is_nan());
        assert_eq!(parse_int("\u{feff} 7"), 7.0);
        assert!(parse_int("\u{85}7").is_nan());
        assert_eq!(js_trim("\u{feff} a\u{85}"), "a\u{85}");
        assert_eq!(to_number(Some(&json!("12"))), 12.0);
        assert!(to_number(Some(&json!("12x"))).is_nan());
        assert!(!truthy(Some(&json!(""))));
        assert!(truthy(Some(&json!([]))));
        assert!(prop(&Value::Null, "a").is_err());
    }

    /// The walks answer exactly as the hashed lookups, for small and large objects, present,
    /// absent and `null` members.
    #[test]
    fn members_and_member_are_map_get() {
        let names = ["exp", "nbf", "iat", "sub", "sid", "sts", "o", "v", "x", ""];
        for size in [0usize, 1, 3, 6, 7, 12, 30] {
            let mut map = serde_json::Map::new();
            for i in 0..size {
                let name = names
                    .get(i)
                    .map_or_else(|| format!("k{i}"), |n| (*n).to_owned());
                let value = if i % 3 == 0 { Value::Null } else { json!(i) };
                map.insert(name, value);
            }
            let [a, b, c] = members(&map, ["exp", "sub", "missing"]);
            assert_eq!(
                (a, b, c),
                (map.get("exp"), map.get("sub"), map.get("missing"))
            );
            for name in names.iter().chain(["k8", "k29", "nope"].iter()) {
                assert_eq!(member(&map, name), map.get(*name), "{size} {name}");
                assert_eq!(
                    prop_opt(&Value::Object(map.clone()), name),
                    map.get(*name),
                    "{size} {name}"
                );
            }
        }
    }
}
