//! Writes the committed seed corpora of the fuzz targets (`fuzz/corpus/<target>/`).
//!
//! Tokens are minted by the harness's fixed test-only key (`actix_clerk_fuzz::key()`, a
//! `TestKey` of the crate's testing kit), so the seeds verify in the harness; RS256 signatures are
//! deterministic, so the same seeds come out on every run. Times are absolute and far in the
//! future (2100) or past (2000), so seeds keep their meaning.
//!
//! ```sh
//! cd fuzz && cargo run --example make_seeds
//! ```

use std::path::Path;

use actix_clerk_fuzz::{
    b64url, dev_instance, key, prod_instance, APP_ORIGIN, DEV_FAPI, KID, PROD_FAPI,
};
use serde_json::{json, Value};

/// 2100-01-01 and 2000-01-01.
const FUTURE: i64 = 4_102_444_800;
const PAST: i64 = 946_684_800;

/// An object whose members keep the order given (a later member replaces an earlier one in
/// place; `Value::Null` removes it).
type Claims = Vec<(&'static str, Value)>;

/// The standard claims of an instance host, with `over` applied.
fn claims(iss_host: &str, over: Claims) -> Claims {
    let mut c: Claims = vec![
        ("azp", json!(APP_ORIGIN)),
        ("exp", json!(FUTURE)),
        ("iat", json!(PAST)),
        ("iss", json!(format!("https://{iss_host}"))),
        ("nbf", json!(PAST)),
        ("sid", json!("sess_fuzz")),
        ("sub", json!("user_fuzz")),
    ];
    for (k, v) in over {
        match c.iter().position(|(name, _)| *name == k) {
            Some(i) if v.is_null() => {
                c.remove(i);
            }
            Some(i) => c[i].1 = v,
            None if v.is_null() => {}
            None => c.push((k, v)),
        }
    }
    c
}

fn prod(over: Claims) -> Claims {
    claims(PROD_FAPI, over)
}

/// Compact JSON text (`{"a":1,"b":"x"}`), members in order.
fn compact(c: &Claims) -> String {
    let members: Vec<String> = c.iter().map(|(k, v)| format!("{}:{v}", json!(k))).collect();
    format!("{{{}}}", members.join(","))
}

/// JSON text with `", "` and `": "` separators (`{"a": 1, "b": "x"}`), members in order.
fn spaced(c: &Claims) -> String {
    let members: Vec<String> = c
        .iter()
        .map(|(k, v)| format!("{}: {v}", json!(k)))
        .collect();
    format!("{{{}}}", members.join(", "))
}

fn standard_header() -> String {
    format!(r#"{{"alg":"RS256","kid":"{KID}","typ":"JWT"}}"#)
}

/// A token with this header and payload text, signed (RS256) by the fixed key.
fn token_text(header: &str, payload: &str) -> String {
    key().sign_text("RS256", header, payload)
}

fn token(c: Claims) -> String {
    token_text(&standard_header(), &compact(&c))
}

fn token_with_header(c: Claims, header: Claims) -> String {
    token_text(&compact(&header), &compact(&c))
}

/// The organisation claims of a version 2 token.
fn v2() -> Claims {
    vec![
        ("v", json!(2)),
        ("fea", json!("o:impersonation,o:memberships,u:dashboard")),
        ("pla", json!("o:pro,u:free_user")),
        (
            "o",
            json!({"id": "org_1", "rol": "admin", "slg": "acme", "per": "read,manage", "fpm": "1,3"}),
        ),
        ("fva", json!([3, -1])),
    ]
}

fn v2_with(k: &'static str, v: Value) -> Claims {
    let mut c = v2();
    let i = c
        .iter()
        .position(|(name, _)| *name == k)
        .expect("v2 member");
    c[i].1 = v;
    c
}

fn write(target: &str, items: Vec<(&str, Vec<u8>)>) -> usize {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("corpus")
        .join(target);
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("create the corpus folder");
    let n = items.len();
    for (name, data) in items {
        std::fs::write(dir.join(name), data).expect("write a seed");
    }
    n
}

fn main() {
    // The cookie suffixes of the instances' publishable keys (clerk-behaviour.md §3).
    let sfx_prod = prod_instance().cookie_suffix().to_owned();
    let sfx_dev = dev_instance().cookie_suffix().to_owned();
    let s = |t: String| t.into_bytes();
    let bearer = |t: &str| format!("Bearer {t}").into_bytes();

    let good = token(prod(vec![]));
    let expired = token(prod(vec![("exp", json!(PAST))]));
    let alg = |a: &str| vec![("alg", json!(a)), ("typ", json!("JWT"))];
    let header_seeds: Vec<(&str, Vec<u8>)> = vec![
        ("valid", bearer(&good)),
        ("valid-bare", s(good.clone())),
        ("valid-padded-sig", s(format!("Bearer {good}=="))),
        ("valid-v2-org", bearer(&token(prod(v2())))),
        (
            "valid-v1-org",
            bearer(&token(prod(vec![
                ("org_id", json!("org_2")),
                ("org_role", json!("org:admin")),
                ("org_permissions", json!(["org:memberships:read"])),
            ]))),
        ),
        ("expired", bearer(&expired)),
        ("expired-post", s(format!("PBearer {expired}"))),
        (
            "nbf-future",
            bearer(&token(prod(vec![("nbf", json!(FUTURE))]))),
        ),
        (
            "iat-future",
            bearer(&token(prod(vec![("iat", json!(FUTURE))]))),
        ),
        (
            "exp-string",
            bearer(&token(prod(vec![("exp", json!("123"))]))),
        ),
        (
            "bad-azp",
            bearer(&token(prod(vec![(
                "azp",
                json!("https://evil.example.net"),
            )]))),
        ),
        ("no-sub", bearer(&token(prod(vec![("sub", Value::Null)])))),
        (
            "machine-sub",
            bearer(&token(prod(vec![("sub", json!("mch_1"))]))),
        ),
        (
            "typ-at-jwt",
            bearer(&token_with_header(
                prod(vec![]),
                vec![("alg", json!("RS256")), ("typ", json!("at+jwt"))],
            )),
        ),
        (
            "cat-other",
            bearer(&token_with_header(
                prod(vec![]),
                vec![("alg", json!("RS256")), ("cat", json!("cl_other"))],
            )),
        ),
        (
            "typ-foo",
            bearer(&token_with_header(
                prod(vec![]),
                vec![("alg", json!("RS256")), ("typ", json!("foo"))],
            )),
        ),
        (
            "alg-none",
            bearer(&format!(
                "{}.{}.",
                b64url(r#"{"alg":"none"}"#),
                b64url(spaced(&prod(vec![])))
            )),
        ),
        (
            "alg-hs256",
            bearer(&format!(
                "{}.{}.c2lnbmF0dXJl",
                b64url(compact(&alg("HS256"))),
                b64url(spaced(&prod(vec![])))
            )),
        ),
        (
            "alg-rs512",
            bearer(&token_with_header(
                prod(vec![]),
                vec![("alg", json!("RS512")), ("kid", json!(KID))],
            )),
        ),
        (
            "forged-sig",
            s(format!("Bearer {}AAAA", &good[..good.len() - 4])),
        ),
        (
            "payload-null",
            bearer(&token_text(&standard_header(), "null")),
        ),
        (
            "header-null",
            bearer(&token_text("null", &compact(&prod(vec![])))),
        ),
        ("empty-json", s("Bearer e30.e30.".into())),
        ("two-parts", s("Bearer a.b".into())),
        ("bearer-only", s("Bearer".into())),
        ("lowercase-scheme", s(format!("bearer {good}"))),
        ("basic", s("Basic dXNlcjpwYXNz".into())),
        ("api-key", s("Bearer ak_live_123".into())),
        ("latin1", b"Bearer \xff\xfe.\x85.\xa0".to_vec()),
    ];
    let headers = write("authenticate_header", header_seeds);

    let dev_good = token(claims(DEV_FAPI, vec![]));
    let cookie_seeds: Vec<(&str, Vec<u8>)> = vec![
        ("valid", s(format!("__session={good}; __client_uat=1"))),
        (
            "valid-suffixed",
            s(format!(
                "__session_{sfx_prod}={good}; __client_uat_{sfx_prod}=1; __session=x; __client_uat=0"
            )),
        ),
        (
            "valid-dev",
            s(format!(
                "__session={dev_good}; __client_uat=1; __clerk_db_jwt=dvb_1"
            )),
        ),
        (
            "valid-dev-suffixed",
            s(format!(
                "__session_{sfx_dev}={dev_good}; __client_uat_{sfx_dev}=5; __clerk_db_jwt_{sfx_dev}=dvb_1"
            )),
        ),
        (
            "dev-query-db-jwt",
            s(format!(
                "?__clerk_db_jwt=dvb_q\n__session={dev_good}; __client_uat=1"
            )),
        ),
        (
            "dev-redirect-url",
            s(format!(
                "?__clerk_redirect_url=https%3A%2F%2Fa.example.com\n__session={dev_good}; __client_uat=1"
            )),
        ),
        (
            "foreign-iss",
            s(format!(
                "__session={}; __client_uat=1",
                token(claims("other.example.net", vec![]))
            )),
        ),
        (
            "no-iss",
            s(format!(
                "__session={}; __client_uat=1",
                token(prod(vec![("iss", Value::Null)]))
            )),
        ),
        (
            "both-pairs-newer-plain",
            s(format!(
                "__session={}; __client_uat=7; __session_{sfx_prod}={}; __client_uat_{sfx_prod}=9",
                token(prod(vec![("iat", json!(PAST + 100))])),
                token(prod(vec![("iat", json!(PAST))]))
            )),
        ),
        (
            "expired",
            s(format!("__session={expired}; __client_uat=1")),
        ),
        (
            "iat-before-uat",
            s(format!("__session={good}; __client_uat={FUTURE}")),
        ),
        ("uat-hex", s(format!("__session={good}; __client_uat=0x10"))),
        ("no-uat", s(format!("__session={good}"))),
        ("uat-only", s("__client_uat=5".into())),
        ("percent", s("__session=%65%79%4A; __client_uat=%31".into())),
        ("bad-percent", s("__session=%E0%A4%A; __client_uat=1".into())),
        (
            "empty-first",
            s(format!("__session=; __session={good}; __client_uat=1")),
        ),
        ("junk", s("a=1; b; ;=; c=\"q\"; __session".into())),
        (
            "machine",
            s(format!(
                "__session={}; __client_uat=1",
                token(prod(vec![("sub", json!("mch_1"))]))
            )),
        ),
        ("latin1", b"__session=\xff; __client_uat=\x855".to_vec()),
    ];
    let cookies = write("authenticate_cookie", cookie_seeds);

    let mut big_fpm = v2();
    big_fpm[3].1["fpm"] = json!(format!("{}1,18446744073709551617", "9".repeat(300)));
    let mut fpm_number = v2();
    fpm_number[3].1["fpm"] = json!(3);
    let c = |over: Claims| s(compact(&prod(over)));
    let signed_seeds: Vec<(&str, Vec<u8>)> = vec![
        ("standard", c(vec![])),
        ("v2-org", c(v2())),
        ("v2-big-fpm", c(big_fpm)),
        ("v2-bad-fea", c(v2_with("fea", json!("impersonation")))),
        ("v2-fpm-number", c(fpm_number)),
        (
            "v1-org",
            c(vec![
                ("org_id", json!("org_2")),
                ("org_role", json!("admin")),
                ("org_slug", json!("s")),
                ("org_permissions", json!(["org:x:read"])),
                ("fea", json!("o:x")),
                ("pla", json!("u:pro")),
            ]),
        ),
        (
            "actor",
            c(vec![("act", json!({"sub": "user_admin", "sid": "sess_a"}))]),
        ),
        ("pending", c(vec![("sts", json!("pending"))])),
        ("fva-odd", c(vec![("fva", json!([-1, 9]))])),
        ("fva-strings", c(vec![("fva", json!(["5", "5"]))])),
        ("exp-string", c(vec![("exp", json!("4102444800"))])),
        ("exp-float", c(vec![("exp", json!(4_102_444_800.5))])),
        (
            "exp-huge",
            s(r#"{"sub":"user_fuzz","exp":1e300,"iat":-1e300,"nbf":-1e300}"#.into()),
        ),
        ("no-azp", c(vec![("azp", Value::Null)])),
        ("aud-array", c(vec![("aud", json!(["a", "b"]))])),
        ("sub-number", c(vec![("sub", json!(5))])),
        (
            "dup-keys",
            s(r#"{"sub":"a","exp":4102444800,"sub":"b","iat":1,"iat":2}"#.into()),
        ),
        ("null", s("null".into())),
        ("array", s("[]".into())),
        ("unicode", c(vec![("name", json!("Zoë ☃ 🔑"))])),
        ("bom", s(format!("\u{feff}{}", compact(&prod(vec![]))))),
    ];
    let signed = write("signed_claims", signed_seeds);

    // The browser flow: mode 0 = handshake directives (one per line; flag 2: in a cookie),
    // mode 1 = a page target, x-forwarded-host and x-forwarded-proto (one per line).
    let with_mode = |mode: u8, text: String| {
        let mut v = vec![mode];
        v.extend(text.into_bytes());
        v
    };
    let browser_seeds: Vec<(&str, Vec<u8>)> = vec![
        (
            "directives-session",
            with_mode(
                0,
                format!(
                    "__session={good}; Path=/; SameSite=Lax\n__client_uat=1; Path=/; Max-Age=315360000"
                ),
            ),
        ),
        (
            "directives-suffixed-cookie",
            with_mode(
                2,
                format!("__session_{sfx_prod}={expired}; Path=/\n__client_uat_{sfx_prod}=0"),
            ),
        ),
        ("directives-empty-session", with_mode(0, "__session=; Max-Age=0".into())),
        ("directives-no-equals", with_mode(0, "__session\nx=y".into())),
        ("directives-none", with_mode(0, String::new())),
        ("page-plain", with_mode(1, "page?a=1&b=x y".into())),
        (
            "page-db-jwt",
            with_mode(1, "p?__clerk_db_jwt=x&__dev_session=y&q=%20+".into()),
        ),
        (
            "page-forwarded",
            with_mode(1, "p\napp.example.com, proxy\nhttps,http".into()),
        ),
        ("page-bad-host", with_mode(1, "p\nbad host/x?y\nftp".into())),
    ];
    let browser = write("browser", browser_seeds);

    let total: u64 = [
        "authenticate_header",
        "authenticate_cookie",
        "signed_claims",
        "browser",
    ]
    .iter()
    .flat_map(|t| {
        std::fs::read_dir(Path::new(env!("CARGO_MANIFEST_DIR")).join("corpus").join(t))
            .expect("corpus folder")
    })
    .map(|e| e.expect("entry").metadata().expect("metadata").len())
    .sum();
    println!(
        "seeds: {headers} header, {cookies} cookie, {signed} signed, {browser} browser; {total} bytes"
    );
}
