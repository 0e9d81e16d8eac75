//! Organisation claims: version 1 (`org_id`, `org_role`, …) and version 2 (`o`, `fea`,
//! `o.per`, `o.fpm` bitmasks) tokens, read as Clerk's `toAuth()` reads them.

use serde_json::Value;

use super::SessionClaims;
use crate::js::{js_number, js_trim, prop_opt, truthy};

/// Organisation fields derived from the claims (version 1 or 2 tokens); `None` = undefined.
#[derive(Default)]
pub(crate) struct OrgFields {
    pub id: Option<Value>,
    pub role: Option<Value>,
    pub slug: Option<Value>,
    pub permissions: Option<Value>,
}

/// `String(value)` for the few places Clerk interpolates a claim into a string.
fn js_string(value: &Value) -> String {
    match value {
        Value::String(s) => s.clone(),
        Value::Number(n) => n
            .as_i64()
            .map(|i| i.to_string())
            .unwrap_or_else(|| js_number(n.as_f64().unwrap_or(f64::NAN))),
        Value::Bool(b) => b.to_string(),
        Value::Null => "null".into(),
        Value::Array(a) => a
            .iter()
            .map(|v| {
                if v.is_null() {
                    String::new()
                } else {
                    js_string(v)
                }
            })
            .collect::<Vec<_>>()
            .join(","),
        Value::Object(_) => "[object Object]".into(),
    }
}

impl OrgFields {
    /// `None` where Clerk's parser throws: a `fea` that is not a string of `scope:feature`
    /// elements, or `per`/`fpm` present but not strings.
    pub(crate) fn from_claims(claims: &SessionClaims) -> Option<OrgFields> {
        // One walk over the claim names instead of a hashed lookup per organisation claim:
        // a session without any (a personal account) is the common case.
        let (mut has_v, mut has_org) = (false, false);
        for name in claims.keys() {
            has_v |= name == "v";
            has_org |= name.starts_with("org_") || name == "o";
        }
        if !has_org && !has_v {
            return Some(OrgFields::default());
        }
        let is_v2 = has_v && claims.get("v").and_then(Value::as_f64) == Some(2.0);
        if !is_v2 {
            return Some(OrgFields {
                id: claims.get("org_id").cloned(),
                role: claims.get("org_role").cloned(),
                slug: claims.get("org_slug").cloned(),
                permissions: claims.get("org_permissions").cloned(),
            });
        }
        let Some(o) = claims.get("o").filter(|o| truthy(Some(o))) else {
            return Some(OrgFields::default());
        };
        let role = prop_opt(o, "rol")
            .filter(|r| truthy(Some(r)))
            .map(|r| Value::String(format!("org:{}", js_string(r))));
        let features = split_by_scope(claims.get("fea"))?.org;
        let permissions = org_permissions(&features, prop_opt(o, "per"), prop_opt(o, "fpm"))?;
        Some(OrgFields {
            id: prop_opt(o, "id").cloned(),
            role,
            slug: prop_opt(o, "slg").cloned(),
            permissions: Some(Value::Array(
                permissions.into_iter().map(Value::String).collect(),
            )),
        })
    }
}

/// `None` where Clerk's `per.split`/`fpm.split` would throw (present, not strings).
fn org_permissions(
    features: &[String],
    per: Option<&Value>,
    fpm: Option<&Value>,
) -> Option<Vec<String>> {
    if !truthy(per) || !truthy(fpm) {
        return Some(Vec::new());
    }
    let (per, fpm) = (per?.as_str()?, fpm?.as_str()?);
    let permissions: Vec<&str> = per.split(',').map(js_trim).collect();
    let mut out = Vec::new();
    for (feature, mask) in features.iter().zip(fpm.split(',')) {
        let bits = decimal_bits(js_trim(mask), permissions.len());
        for (perm, bit) in permissions.iter().zip(bits) {
            if bit {
                out.push(format!("org:{feature}:{perm}"));
            }
        }
    }
    Some(out)
}

/// The lowest `max_bits` bits of a decimal string of any length (lowest bit first); nothing
/// for a string that is not all digits.
fn decimal_bits(decimal: &str, max_bits: usize) -> Vec<bool> {
    if decimal.is_empty() || !decimal.bytes().all(|b| b.is_ascii_digit()) {
        return Vec::new();
    }
    let digits = decimal.trim_start_matches('0');
    if let Ok(v) = digits.parse::<u128>() {
        return (0..max_bits.min(128)).map(|i| v >> i & 1 == 1).collect();
    }
    if digits.is_empty() {
        return Vec::new();
    }
    // Long division by two, only as far as bits are needed.
    let mut n: Vec<u8> = digits.bytes().map(|b| b - b'0').collect();
    let mut bits = Vec::with_capacity(max_bits);
    while bits.len() < max_bits && !n.is_empty() {
        let mut rem = 0u8;
        for d in n.iter_mut() {
            let v = rem * 10 + *d;
            *d = v / 2;
            rem = v % 2;
        }
        bits.push(rem == 1);
        let lead = n.iter().take_while(|d| **d == 0).count();
        n.drain(..lead);
    }
    bits
}

pub(crate) struct Scoped {
    pub(crate) org: Vec<String>,
    pub(crate) user: Vec<String>,
}

/// Clerk's `splitByScope`: `None` where it would throw (a non-string claim, an element
/// without `:`).
pub(crate) fn split_by_scope(fea: Option<&Value>) -> Option<Scoped> {
    let mut scoped = Scoped {
        org: Vec::new(),
        user: Vec::new(),
    };
    if !truthy(fea) {
        return Some(scoped);
    }
    for part in fea?.as_str()?.split(',') {
        let part = js_trim(part);
        let (scope, value) = part.split_once(':')?;
        match scope {
            "o" => scoped.org.push(value.to_owned()),
            "u" => scoped.user.push(value.to_owned()),
            "ou" | "uo" => {
                scoped.org.push(value.to_owned());
                scoped.user.push(value.to_owned());
            }
            _ => {}
        }
    }
    Some(scoped)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn big_and_bad_bitmasks() {
        assert_eq!(decimal_bits("5", 4), vec![true, false, true, false]);
        assert!(decimal_bits("x1", 4).is_empty());
        let big = format!("{}1", "0".repeat(50));
        assert_eq!(decimal_bits(&big, 2), vec![true, false]);
        let huge = "340282366920938463463374607431768211457"; // 2^128 + 1
        assert_eq!(decimal_bits(huge, 3), vec![true, false, false]);
    }
}
