//! The verifier (above the key store): a decoded token's kind, key, `typ`, `alg`, signature and
//! claims, checked in Clerk's order, first failure wins.

use std::borrow::Cow;

use jsonwebtoken::Algorithm;
use serde_json::Value;

use crate::auth::{SessionClaims, TokenCarrier};
use crate::error::Reason;
use crate::js::{date_from_seconds, js_stringify, prop, prop_opt, truthy, utc_string};
use crate::jwt::{self, DecodedJwt};
use crate::keys::KeyStore;

/// The claim rules of a configuration: what `aud`, `azp` and the time claims are checked
/// against.
#[derive(Debug, Clone, Default)]
pub(crate) struct ClaimRules {
    pub authorized_parties: Vec<String>,
    /// `authorized_parties` joined with `,`, as Clerk's message prints them.
    pub authorized_parties_text: String,
    pub audience: Vec<String>,
    pub clock_skew_ms: f64,
}

/// Keys plus claim rules: everything needed to verify a token.
#[derive(Debug, Clone)]
pub(crate) struct Verifier {
    pub keys: KeyStore,
    pub rules: ClaimRules,
}

/// Which rules a JWT is verified under.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Profile {
    /// A session token: `typ` absent or `JWT`, `azp` and `aud` checked.
    Session,
    /// An M2M JWT: as a session token but without `azp`.
    M2m,
    /// An OAuth access token JWT: `typ` `at+jwt` or `application/at+jwt`, no `azp`, and the
    /// audience checked by Clerk's OAuth rule (after the time claims) instead.
    OAuth,
}

/// A token that passed every check.
pub(crate) struct Verified {
    /// Its time claims, for the re-checks of later cache hits.
    pub times: TimeClaims,
    /// The generation of the key set whose key verified it.
    pub key_generation: u64,
}

/// Clerk's action text for token-shape problems.
pub(crate) const ACTION_ENSURE_CLERK_JWT: &str =
    "Make sure that this is a valid Clerk-generated JWT.";
const CATEGORY_SESSION: &str = "cl_B7d4PD111AAA";
const CATEGORY_IGNORE: &str = "cl_I7d4PD111III";

/// A failed verification.
#[derive(Debug, Clone)]
pub(crate) enum Failure {
    /// Clerk's `TokenVerificationError`: a reason, a text and an optional action.
    Token {
        reason: Reason,
        text: String,
        action: Option<Cow<'static, str>>,
        /// Set for key-source outages.
        retry_after_secs: Option<u64>,
    },
    /// A token Clerk reports with an empty message (`token-type-mismatch`, `unexpected-error`).
    Bare(Reason),
}

impl Failure {
    fn token(reason: Reason, text: String, action: Option<&'static str>) -> Failure {
        Failure::Token {
            reason,
            text,
            action: action.map(Cow::Borrowed),
            retry_after_secs: None,
        }
    }

    /// `getFullMessage()`: `text[ action] (reason=…, token-carrier=…)`.
    pub(crate) fn full_message(&self, carrier: TokenCarrier) -> String {
        match self {
            Failure::Token {
                reason,
                text,
                action,
                ..
            } => {
                let mut out = String::with_capacity(text.len() + 64);
                out.push_str(text);
                if let Some(action) = action.as_deref().filter(|a| !a.is_empty()) {
                    if !out.is_empty() {
                        out.push(' ');
                    }
                    out.push_str(action);
                }
                out.push_str(" (reason=");
                out.push_str(reason.as_str());
                out.push_str(", token-carrier=");
                out.push_str(carrier.as_str());
                out.push(')');
                out
            }
            Failure::Bare(_) => String::new(),
        }
    }
}

/// Current time in milliseconds, as `Date.now()`.
pub(crate) fn now_ms() -> f64 {
    // Whole milliseconds, without a 128-bit conversion (exact below 2^53 ms).
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as f64 * 1000.0 + f64::from(d.subsec_millis()))
        .unwrap_or(0.0)
}

/// `typ` says OAuth access token, or `sub` says machine: Clerk's machine-JWT test.
pub(crate) fn is_machine_jwt(token: &str, decoded: Option<&DecodedJwt<'_>>) -> bool {
    let Some(d) = decoded else { return false };
    let oauth = matches!(
        prop_opt(&d.header, "typ").and_then(Value::as_str),
        Some("at+jwt" | "application/at+jwt")
    );
    let m2m = prop_opt(&d.payload, "sub")
        .and_then(Value::as_str)
        .is_some_and(|s| s.starts_with("mch_"));
    // The format test scans the whole token: only worth it when the claims say "machine".
    (oauth || m2m) && jwt::is_jwt_format(token)
}

/// A `cat` header that is present and neither the session nor the ignore category.
pub(crate) fn has_non_session_category(decoded: Option<&DecodedJwt<'_>>) -> bool {
    match decoded.and_then(|d| prop_opt(&d.header, "cat")) {
        None => false,
        Some(Value::String(c)) => c != CATEGORY_SESSION && c != CATEGORY_IGNORE,
        Some(_) => true,
    }
}

/// `String(kid)`, the way Clerk looks the key up.
pub(crate) fn kid_text(header: &Value) -> Cow<'_, str> {
    match prop_opt(header, "kid") {
        None => Cow::Borrowed("undefined"),
        Some(Value::String(s)) => Cow::Borrowed(s),
        Some(Value::Null) => Cow::Borrowed("null"),
        Some(other) => Cow::Owned(js_stringify(Some(other))),
    }
}

/// Steps 3–12 of the contract on a decoded token: key, `typ`, `alg`, signature, claims.
/// `Ok` when every check passes (the claims are then `d.payload`, an object), with the time
/// claims for the verified-token cache.
pub(crate) async fn verify_decoded(
    verifier: &Verifier,
    d: &DecodedJwt<'_>,
    now: f64,
    profile: Profile,
) -> Result<Verified, Failure> {
    if prop(&d.header, "kid").is_err() {
        return Err(Failure::Bare(Reason::UnexpectedError));
    }
    let rules = &verifier.rules;
    let (key, key_generation) = match verifier.keys.resolve(&kid_text(&d.header)).await {
        Ok(k) => k,
        Err(f) => {
            return Err(Failure::Token {
                reason: f.reason,
                text: f.message,
                action: f.action.map(Cow::Owned),
                retry_after_secs: f
                    .reason
                    .is_key_source_outage()
                    .then_some(f.retry_after_secs),
            })
        }
    };
    let times = check_after_key(
        rules,
        d,
        key.alg,
        |alg| key.verify(alg, d.signed_part.as_bytes(), &d.signature),
        now,
        profile,
    )?;
    Ok(Verified {
        times,
        key_generation,
    })
}

/// Steps 6–12 on a decoded token whose key was found: `typ`, `alg`, the key's bound
/// algorithm (`key_alg`), the signature (`signature_verdict(alg)`: `Some(valid)`, or `None`
/// when the key cannot verify under `alg`), then the claims. The fuzz targets give the
/// verdict themselves (`crate::fuzzing`).
#[inline]
pub(crate) fn check_after_key(
    rules: &ClaimRules,
    d: &DecodedJwt<'_>,
    key_alg: Option<Algorithm>,
    signature_verdict: impl FnOnce(Algorithm) -> Option<bool>,
    now: f64,
    profile: Profile,
) -> Result<TimeClaims, Failure> {
    let typ = prop_opt(&d.header, "typ");
    let typ_ok = match profile {
        Profile::OAuth => matches!(
            typ.and_then(Value::as_str),
            Some("at+jwt" | "application/at+jwt")
        ),
        _ => typ.is_none() || typ.and_then(Value::as_str) == Some("JWT"),
    };
    if !typ_ok {
        let expected = match profile {
            Profile::OAuth => "at+jwt, application/at+jwt",
            _ => "JWT",
        };
        return Err(Failure::token(
            Reason::TokenInvalid,
            format!(
                "Invalid JWT type {}. Expected \"{expected}\".",
                js_stringify(typ)
            ),
            Some(ACTION_ENSURE_CLERK_JWT),
        ));
    }
    let alg_value = prop_opt(&d.header, "alg");
    let alg = match alg_value.and_then(Value::as_str) {
        Some("RS256") => Algorithm::RS256,
        Some("RS384") => Algorithm::RS384,
        Some("RS512") => Algorithm::RS512,
        _ => {
            return Err(Failure::token(
                Reason::TokenInvalidAlgorithm,
                format!(
                    "Invalid JWT algorithm {}. Supported: RS256,RS384,RS512.",
                    js_stringify(alg_value)
                ),
                Some(ACTION_ENSURE_CLERK_JWT),
            ))
        }
    };
    if key_alg.is_some_and(|bound| bound != alg) {
        return Err(Failure::token(
            Reason::TokenVerificationFailed,
            format!(
                "Error verifying JWT signature. Error: {}",
                ALG_MISMATCH_TEXT
            ),
            Some(ACTION_ENSURE_CLERK_JWT),
        ));
    }
    match signature_verdict(alg) {
        Some(true) => {}
        Some(false) => {
            return Err(Failure::token(
                Reason::TokenInvalidSignature,
                "JWT signature is invalid.".into(),
                None,
            ))
        }
        None => {
            return Err(Failure::token(
                Reason::TokenVerificationFailed,
                format!("Error verifying JWT signature. Error: {ALG_MISMATCH_TEXT}"),
                Some(ACTION_ENSURE_CLERK_JWT),
            ))
        }
    }
    let Value::Object(claims) = &d.payload else {
        return Err(match d.payload {
            Value::Null => Failure::Bare(Reason::UnexpectedError),
            _ => Failure::token(
                Reason::TokenVerificationFailed,
                "Subject claim (sub) is required and must be a string. Received undefined.".into(),
                Some(ACTION_ENSURE_CLERK_JWT),
            ),
        });
    };
    check_static_claims(rules, claims, profile)?;
    check_time_claims(rules, claims, now)
}

/// What a JWK bound to one algorithm says when asked to verify another (WebCrypto's text).
const ALG_MISMATCH_TEXT: &str = "JWK \"alg\" does not match the requested algorithm";

/// `sub`, `aud`, `azp`: the checks that depend only on the token and the configuration.
fn check_static_claims(
    rules: &ClaimRules,
    claims: &SessionClaims,
    profile: Profile,
) -> Result<(), Failure> {
    let sub = claims.get("sub");
    if !matches!(sub, Some(Value::String(_))) {
        return Err(Failure::token(
            Reason::TokenVerificationFailed,
            format!(
                "Subject claim (sub) is required and must be a string. Received {}.",
                js_stringify(sub)
            ),
            Some(ACTION_ENSURE_CLERK_JWT),
        ));
    }
    if !rules.audience.is_empty() && profile != Profile::OAuth {
        check_audience(&rules.audience, claims.get("aud"))?;
    }
    if !rules.authorized_parties.is_empty() && profile == Profile::Session {
        let azp = claims.get("azp");
        let ok = match azp {
            Some(Value::String(s)) => {
                !s.is_empty() && rules.authorized_parties.iter().any(|p| p == s)
            }
            _ => false,
        };
        if !ok {
            return Err(Failure::token(
                Reason::TokenInvalidAuthorizedParties,
                format!(
                    "Invalid JWT Authorized party claim (azp) {}. Expected \"{}\".",
                    js_stringify(azp),
                    rules.authorized_parties_text
                ),
                None,
            ));
        }
    }
    Ok(())
}

fn check_audience(audience: &[String], aud: Option<&Value>) -> Result<(), Failure> {
    let list_text = || {
        let items: Vec<Value> = audience.iter().map(|a| Value::String(a.clone())).collect();
        js_stringify(Some(&Value::Array(items)))
    };
    let (text, matches) = match aud {
        Some(Value::String(s)) if !s.is_empty() => ("claim", audience.iter().any(|a| a == s)),
        Some(Value::Array(items))
            if !items.is_empty()
                && items.iter().all(Value::is_string)
                && items.iter().any(|v| truthy(Some(v))) =>
        {
            let hit = items
                .iter()
                .any(|v| v.as_str().is_some_and(|s| audience.iter().any(|a| a == s)));
            ("claim array", hit)
        }
        // Clerk checks only a non-empty string or a non-empty array of strings.
        _ => return Ok(()),
    };
    if !matches {
        return Err(Failure::token(
            Reason::TokenVerificationFailed,
            format!(
                "Invalid JWT audience {text} (aud) {}. Is not included in \"{}\".",
                js_stringify(aud),
                list_text()
            ),
            Some(ACTION_ENSURE_CLERK_JWT),
        ));
    }
    Ok(())
}

/// `exp`, `nbf` and `iat` of a token whose claim shapes were checked: what a verified-token
/// cache hit re-checks against the clock.
#[derive(Debug, Clone, Copy)]
pub(crate) struct TimeClaims {
    exp: f64,
    nbf: Option<f64>,
    iat: Option<f64>,
}

impl TimeClaims {
    /// `iat`, as `Number(iat)` compares (absent is NaN, which compares false).
    pub(crate) fn iat_number(&self) -> f64 {
        self.iat.unwrap_or(f64::NAN)
    }

    /// The instants `[from, until)` (ms since the epoch) in which [`check_times`] passes
    /// under `rules`, for a cache hit to test with two comparisons. Exact: dates are whole
    /// milliseconds (`date_from_seconds`), the skew too, all below 2^53, so
    /// `e <= now - skew` (expired) is `now >= e + skew` and `d > now + skew` (not yet) is
    /// `now < d - skew`.
    pub(crate) fn window(&self, rules: &ClaimRules) -> (f64, f64) {
        let skew = rules.clock_skew_ms;
        let until = date_from_seconds(self.exp).map_or(f64::INFINITY, |e| e + skew);
        let from = [self.nbf, self.iat]
            .into_iter()
            .flatten()
            .filter_map(date_from_seconds)
            .fold(f64::NEG_INFINITY, |from, d| from.max(d - skew));
        (from, until)
    }
}

fn expired(rules: &ClaimRules, exp: f64, now: f64) -> Option<Failure> {
    let expiry = date_from_seconds(exp);
    expiry
        .is_some_and(|e| e <= now - rules.clock_skew_ms)
        .then(|| {
            Failure::token(
                Reason::TokenExpired,
                format!(
                    "JWT is expired. Expiry date: {}, Current date: {}.",
                    utc_string(expiry),
                    utc_string(Some(now))
                ),
                None,
            )
        })
}

fn not_active_yet(rules: &ClaimRules, nbf: f64, now: f64) -> Option<Failure> {
    let date = date_from_seconds(nbf);
    date.is_some_and(|d| d > now + rules.clock_skew_ms).then(|| {
        Failure::token(
            Reason::TokenNotActiveYet,
            format!(
                "JWT cannot be used prior to not before date claim (nbf). Not before date: {}; Current date: {};",
                utc_string(date),
                utc_string(Some(now))
            ),
            None,
        )
    })
}

fn issued_in_future(rules: &ClaimRules, iat: f64, now: f64) -> Option<Failure> {
    let date = date_from_seconds(iat);
    date.is_some_and(|d| d > now + rules.clock_skew_ms).then(|| {
        Failure::token(
            Reason::TokenIatInTheFuture,
            format!(
                "JWT issued at date claim (iat) is in the future. Issued at date: {}; Current date: {};",
                utc_string(date),
                utc_string(Some(now))
            ),
            None,
        )
    })
}

fn not_a_number(label: &str, value: Option<&Value>) -> Failure {
    Failure::token(
        Reason::TokenVerificationFailed,
        format!(
            "Invalid JWT {label} {}. Expected number.",
            js_stringify(value)
        ),
        Some(ACTION_ENSURE_CLERK_JWT),
    )
}

/// Steps 10–12: `exp` (required number), `nbf` and `iat` (optional numbers) against `now` with
/// the configured skew, in Clerk's order; on success, the values for later re-checks.
pub(crate) fn check_time_claims(
    rules: &ClaimRules,
    claims: &SessionClaims,
    now: f64,
) -> Result<TimeClaims, Failure> {
    let [exp_value, nbf_value, iat_value] = crate::js::members(claims, ["exp", "nbf", "iat"]);
    let exp = exp_value
        .and_then(Value::as_f64)
        .ok_or_else(|| not_a_number("expiry date claim (exp)", exp_value))?;
    if let Some(f) = expired(rules, exp, now) {
        return Err(f);
    }
    let optional = |value: Option<&Value>, label: &str| -> Result<Option<f64>, Failure> {
        match value {
            None => Ok(None),
            Some(v) => v
                .as_f64()
                .map(Some)
                .ok_or_else(|| not_a_number(label, Some(v))),
        }
    };
    let nbf = optional(nbf_value, "not before date claim (nbf)")?;
    if let Some(f) = nbf.and_then(|nbf| not_active_yet(rules, nbf, now)) {
        return Err(f);
    }
    let iat = optional(iat_value, "issued at date claim (iat)")?;
    if let Some(f) = iat.and_then(|iat| issued_in_future(rules, iat, now)) {
        return Err(f);
    }
    Ok(TimeClaims { exp, nbf, iat })
}

/// The time checks of [`check_time_claims`] on values already known to be numbers.
pub(crate) fn check_times(rules: &ClaimRules, t: &TimeClaims, now: f64) -> Result<(), Failure> {
    let failure = expired(rules, t.exp, now)
        .or_else(|| t.nbf.and_then(|nbf| not_active_yet(rules, nbf, now)))
        .or_else(|| t.iat.and_then(|iat| issued_in_future(rules, iat, now)));
    failure.map_or(Ok(()), Err)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The cache's two comparisons decide exactly as the three checks, at and around every
    /// boundary, for whole and fractional seconds, absent claims and any skew.
    #[test]
    fn the_time_window_is_the_time_checks() {
        let base = 1_765_000_000.0_f64;
        let seconds = [
            None,
            Some(base),
            Some(base + 0.4),
            Some(base + 59.999),
            Some(base - 30.5),
            Some(-1.5),
            Some(9.0e12),
            Some(f64::NAN),
        ];
        let mut checked = 0;
        for skew in [0.0, 1.0, 5_000.0, 60_000.0] {
            let rules = ClaimRules {
                clock_skew_ms: skew,
                ..ClaimRules::default()
            };
            for exp in seconds.iter().flatten() {
                for nbf in seconds {
                    for iat in seconds {
                        let t = TimeClaims {
                            exp: *exp,
                            nbf,
                            iat,
                        };
                        let (from, until) = t.window(&rules);
                        let mut instants = vec![base * 1000.0];
                        for edge in [from, until] {
                            if edge.is_finite() {
                                for d in -2..=2 {
                                    instants.push(edge + f64::from(d));
                                }
                            }
                        }
                        for now in instants {
                            let inside = from <= now && now < until;
                            assert_eq!(
                                inside,
                                check_times(&rules, &t, now).is_ok(),
                                "exp {exp} nbf {nbf:?} iat {iat:?} skew {skew} now {now}"
                            );
                            checked += 1;
                        }
                    }
                }
            }
        }
        assert!(checked > 1_000);
    }
}
