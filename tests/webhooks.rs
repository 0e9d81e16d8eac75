mod support;

// Webhooks (issue 13): every delivery decided as `verifyWebhook` of @clerk/backend 3.25.0
// decides it (a differential run over generated deliveries: signatures, timestamps, headers,
// bodies, payloads, secrets), then the extractor through real actix apps (the handler never
// runs for a refused delivery, body limits over a real socket, replay protection, overriding
// the refusal, no secret or signature in any output), typed access, and the `webhooks`
// example as a process.

use std::process::Command;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, UNIX_EPOCH};

use actix_clerk::testing::TestWebhookSecret;
use actix_clerk::{ClerkError, ClerkWebhook, WebhookError, WebhookEvent, WebhookVerifier};
use actix_web::dev::ServiceResponse;
use actix_web::http::header::{HeaderMap, HeaderName, HeaderValue};
use actix_web::http::StatusCode;
use actix_web::middleware::{ErrorHandlerResponse, ErrorHandlers};
use actix_web::test as actix_test;
use actix_web::{web, App, HttpResponse, HttpServer};
use aws_lc_rs::hmac;
use base64::Engine as _;
use serde_json::{json, Value};
use support::now_secs;

const B64: base64::engine::GeneralPurpose = base64::engine::general_purpose::STANDARD;

/// A made-up signing secret (24 random bytes), only for these tests.
const SECRET: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
/// Another one: deliveries signed with it are forged.
const OTHER_SECRET: &str = "whsec_2kYQx1r0mG7tV9wLpE3sNcHbZaUjDfKo";

/// The key bytes of a `whsec_` secret.
fn key_of(secret: &str) -> Vec<u8> {
    B64.decode(secret.trim_start_matches("whsec_"))
        .expect("test secret is base64")
}

/// `v1,<base64 HMAC-SHA256 of "{id}.{timestamp}.{body}">` over exactly these bytes and this
/// key: for the signatures the testing kit's signer does not make (an id that is not UTF-8, a
/// timestamp signed as its raw header text, a key that is not a secret's decoding).
fn sign_raw(key: &[u8], id: &[u8], timestamp: &str, body: &[u8]) -> String {
    let key = hmac::Key::new(hmac::HMAC_SHA256, key);
    let mut ctx = hmac::Context::with_key(&key);
    ctx.update(id);
    ctx.update(b".");
    ctx.update(timestamp.as_bytes());
    ctx.update(b".");
    ctx.update(body);
    format!("v1,{}", B64.encode(ctx.sign().as_ref()))
}

/// What Svix sends: the testing kit's signer (`TestWebhookSecret::signature`), checked
/// against `standardwebhooks`' `Webhook.sign` below.
fn sign(secret: &str, id: &str, timestamp: i64, body: &[u8]) -> String {
    TestWebhookSecret::from_secret(secret).signature(id, timestamp, body)
}

type Headers = Vec<(String, Vec<u8>)>;

fn svix(id: &str, timestamp: &str, signature: &str) -> Headers {
    vec![
        ("svix-id".into(), id.as_bytes().to_vec()),
        ("svix-timestamp".into(), timestamp.as_bytes().to_vec()),
        ("svix-signature".into(), signature.as_bytes().to_vec()),
    ]
}

fn header_map(headers: &Headers) -> HeaderMap {
    let mut map = HeaderMap::new();
    for (name, value) in headers {
        map.append(
            HeaderName::from_bytes(name.as_bytes()).expect("header name"),
            HeaderValue::from_bytes(value).expect("header value"),
        );
    }
    map
}

/// Sample events of the common families, shaped as Clerk sends them.
fn samples() -> Vec<(&'static str, Value)> {
    let event = |kind: &str, data: Value| {
        json!({
            "data": data,
            "event_attributes": {"http_request": {"client_ip": "203.0.113.7", "user_agent": "Mozilla/5.0"}},
            "instance_id": "ins_2test",
            "object": "event",
            "timestamp": 1_750_000_000_123_i64,
            "type": kind,
        })
    };
    let user = json!({
        "backup_code_enabled": false, "banned": false, "created_at": 1_749_999_990_000_i64,
        "email_addresses": [
            {"email_address": "ada@example.com", "id": "idn_ada", "linked_to": [], "object": "email_address",
             "verification": {"status": "verified", "strategy": "email_code"}}
        ],
        "external_accounts": [], "external_id": null, "first_name": "Ada", "has_image": false,
        "id": "user_ada", "image_url": "https://img.clerk.com/ada", "last_name": "Lovelace",
        "last_sign_in_at": null, "locked": false, "object": "user", "password_enabled": true,
        "phone_numbers": [], "primary_email_address_id": "idn_ada", "primary_phone_number_id": null,
        "private_metadata": {}, "public_metadata": {"tier": "gold"}, "two_factor_enabled": false,
        "unsafe_metadata": {}, "updated_at": 1_750_000_000_000_i64, "username": null, "web3_wallets": []
    });
    let org = json!({
        "admin_delete_enabled": true, "created_at": 1_749_999_000_000_i64, "created_by": "user_ada",
        "has_image": false, "id": "org_acme", "image_url": "https://img.clerk.com/acme",
        "max_allowed_memberships": 5, "members_count": 1, "name": "Acme", "object": "organization",
        "private_metadata": {}, "public_metadata": {}, "slug": "acme", "updated_at": 1_749_999_000_000_i64
    });
    vec![
        ("user.created", event("user.created", user.clone())),
        ("user.updated", event("user.updated", user.clone())),
        (
            "user.deleted",
            event(
                "user.deleted",
                json!({"deleted": true, "id": "user_ada", "object": "user"}),
            ),
        ),
        (
            "session.created",
            event(
                "session.created",
                json!({
                    "abandon_at": 1_752_592_000_000_i64, "actor": null, "client_id": "client_1",
                    "created_at": 1_750_000_000_000_i64, "expire_at": 1_750_604_800_000_i64,
                    "id": "sess_1", "last_active_at": 1_750_000_000_000_i64,
                    "last_active_organization_id": "org_acme", "object": "session",
                    "status": "active", "updated_at": 1_750_000_000_000_i64, "user_id": "user_ada",
                    "user": user.clone()
                }),
            ),
        ),
        (
            "organization.created",
            event("organization.created", org.clone()),
        ),
        (
            "organizationMembership.created",
            event(
                "organizationMembership.created",
                json!({
                    "created_at": 1_750_000_000_000_i64, "id": "orgmem_1", "object": "organization_membership",
                    "organization": org, "permissions": ["org:sys_memberships:manage"],
                    "private_metadata": {}, "public_metadata": {},
                    "public_user_data": {"first_name": "Ada", "has_image": false, "identifier": "ada@example.com",
                                         "image_url": "https://img.clerk.com/ada", "last_name": "Lovelace",
                                         "user_id": "user_ada"},
                    "role": "org:admin", "updated_at": 1_750_000_000_000_i64
                }),
            ),
        ),
        (
            "email.created",
            event(
                "email.created",
                json!({
                    "body": "<p>123456</p>", "body_plain": "123456", "data": {"otp_code": "123456"},
                    "delivered_by_clerk": false, "email_address_id": "idn_ada",
                    "from_email_name": "no-reply", "id": "ema_1", "object": "email",
                    "slug": "verification_code", "status": "queued", "subject": "Your code",
                    "to_email_address": "ada@example.com", "user_id": "user_ada"
                }),
            ),
        ),
        (
            "future-type",
            event(
                "agentTask.completed",
                json!({"id": "agt_1", "object": "agent_task", "result": [1, 2, 3]}),
            ),
        ),
    ]
}

/// One delivery of the differential run.
struct Delivery {
    id: String,
    /// The receiver's secret.
    secret: String,
    headers: Headers,
    body: Vec<u8>,
}

/// The deliveries compared with Clerk. `now` is the clock both sides decide at.
fn deliveries(now: i64) -> Vec<Delivery> {
    let mut out = Vec::new();
    let mut add = |id: &str, secret: &str, headers: Headers, body: &[u8]| {
        out.push(Delivery {
            id: id.to_owned(),
            secret: secret.to_owned(),
            headers,
            body: body.to_vec(),
        });
    };
    let ts = now.to_string();
    let msg = "msg_2wDzxH3aT5qT8rQ";
    let body = serde_json::to_vec(&samples()[0].1).expect("sample");
    let good = sign(SECRET, msg, now, &body);
    let signed = |id: &str, ts: i64, body: &[u8]| sign(SECRET, id, ts, body);

    // Genuine deliveries of every sample family.
    for (name, event) in samples() {
        let b = serde_json::to_vec(&event).expect("sample");
        add(
            &format!("valid/{name}"),
            SECRET,
            svix(msg, &ts, &signed(msg, now, &b)),
            &b,
        );
    }
    // Payload shapes Clerk accepts.
    for (name, text) in [
        ("minimal", r#"{"type":"user.created"}"#),
        (
            "data-null",
            r#"{"type":"user.created","data":null,"instance_id":null}"#,
        ),
        (
            "extra-members",
            r#"{"type":"x","object":"not-event","data":{},"svix":1,"timestamp":"soon"}"#,
        ),
        (
            "duplicate-keys",
            r#"{"type":"a","data":{"id":1},"type":"user.created","data":{"id":2}}"#,
        ),
        (
            "white-space",
            " \n\t{\"type\" : \"user.created\" , \"data\" : { } }\r\n ",
        ),
        (
            "unicode",
            r#"{"type":"user.created","data":{"first_name":"Zoë 🚀","escaped":"\u00e9\ud83d\ude80"}}"#,
        ),
        (
            "big-number",
            r#"{"type":"x","data":{"n":12345678901234567890,"f":1.5e300,"neg":-0}}"#,
        ),
        (
            "integer-keys",
            r#"{"type":"x","data":{"b":1,"2":2,"1":1,"a":0}}"#,
        ),
        ("empty-type", r#"{"type":""}"#),
    ] {
        add(
            &format!("valid/{name}"),
            SECRET,
            svix(msg, &ts, &signed(msg, now, text.as_bytes())),
            text.as_bytes(),
        );
    }
    // The receiver's secret in other spellings of the same key.
    add(
        "valid/secret-without-prefix",
        SECRET.trim_start_matches("whsec_"),
        svix(msg, &ts, &good),
        &body,
    );
    let padded_key = [7u8; 20]; // base64 ends with "="
    let padded = format!("whsec_{}", B64.encode(padded_key));
    let padded_sig = sign(&padded, msg, now, &body);
    add(
        "valid/secret-padded",
        &padded,
        svix(msg, &ts, &padded_sig),
        &body,
    );
    add(
        "valid/secret-unpadded",
        padded.trim_end_matches('='),
        svix(msg, &ts, &padded_sig),
        &body,
    );
    add(
        "valid/header-names-mixed-case",
        SECRET,
        vec![
            ("Svix-Id".into(), msg.into()),
            ("SVIX-TIMESTAMP".into(), ts.clone().into()),
            ("svix-Signature".into(), good.clone().into()),
        ],
        &body,
    );

    // Tampering.
    let mut flipped = body.clone();
    let at = flipped.len() / 2;
    flipped[at] ^= 0x01;
    add("tamper/body-byte", SECRET, svix(msg, &ts, &good), &flipped);
    let mut newline = body.clone();
    newline.push(b'\n');
    add(
        "tamper/body-trailing-newline",
        SECRET,
        svix(msg, &ts, &good),
        &newline,
    );
    let pretty = serde_json::to_vec_pretty(&samples()[0].1).expect("pretty");
    add(
        "tamper/body-reserialised",
        SECRET,
        svix(msg, &ts, &good),
        &pretty,
    );
    add(
        "tamper/id",
        SECRET,
        svix("msg_2wDzxH3aT5qT8rR", &ts, &good),
        &body,
    );
    add(
        "tamper/timestamp",
        SECRET,
        svix(msg, &(now - 1).to_string(), &good),
        &body,
    );
    add(
        "tamper/signature-of-another-id",
        SECRET,
        svix(msg, &ts, &signed("msg_other", now, &body)),
        &body,
    );
    add("tamper/empty-body", SECRET, svix(msg, &ts, &good), b"");

    // Secrets.
    add(
        "secret/wrong",
        SECRET,
        svix(msg, &ts, &sign(OTHER_SECRET, msg, now, &body)),
        &body,
    );
    add(
        "secret/signed-with-the-whsec-string-as-key",
        SECRET,
        svix(
            msg,
            &ts,
            &sign_raw(SECRET.as_bytes(), msg.as_bytes(), &ts, &body),
        ),
        &body,
    );
    add(
        "secret/receiver-has-another",
        OTHER_SECRET,
        svix(msg, &ts, &good),
        &body,
    );

    // The signature header.
    let bare = good.trim_start_matches("v1,");
    let wrong = sign(OTHER_SECRET, msg, now, &body);
    for (name, header) in [
        ("v1a", format!("v1a,{bare}")),
        ("v2", format!("v2,{bare}")),
        ("uppercase-version", format!("V1,{bare}")),
        ("several-valid-first", format!("{good} {wrong} v1,AAAA")),
        ("several-valid-middle", format!("{wrong} {good} v2,{bare}")),
        ("several-valid-last", format!("v1a,{bare} {wrong} {good}")),
        (
            "several-none-valid",
            format!("{wrong} v1a,{bare} v2,{bare}"),
        ),
        ("two-spaces", format!("{wrong}  {good}")),
        ("tab-separated", format!("{wrong}\t{good}")),
        ("comma-separated", format!("{wrong},{good}")),
        ("extra-field", format!("{good},ignored")),
        ("extra-padding", format!("{good}=")),
        ("no-padding", good.trim_end_matches('=').to_owned()),
        ("url-safe", good.replace('+', "-").replace('/', "_")),
        ("version-only", "v1".to_owned()),
        ("empty-signature", "v1,".to_owned()),
        ("no-version", bare.to_owned()),
        (
            "hex",
            format!("v1,{}", hex(&B64.decode(bare).expect("b64"))),
        ),
    ] {
        add(
            &format!("signature/{name}"),
            SECRET,
            svix(msg, &ts, &header),
            &body,
        );
    }

    // Timestamps: the 5-minute window, then what `parseInt` makes of odd values.
    for offset in [-301i64, -300, -299, 299, 300, 301, -3600, 3600] {
        let t = now + offset;
        add(
            &format!("timestamp/offset{offset:+}"),
            SECRET,
            svix(msg, &t.to_string(), &signed(msg, t, &body)),
            &body,
        );
    }
    for (name, header, signed_as) in [
        ("trailing-garbage", format!("{now}abc"), now),
        ("plus-sign", format!("+{now}"), now),
        ("leading-zeros", format!("000{now}"), now),
        ("fraction", format!("{now}.9"), now),
        ("inner-space", format!("{} {}", &ts[..4], &ts[4..]), now),
        ("negative", format!("-{now}"), -now),
        ("not-a-number", "abc".to_owned(), now),
        ("exponent", format!("{}e9", now as f64 / 1e9), now),
        ("hex", format!("{now:#x}"), now),
        ("huge", "9".repeat(40), now),
        ("milliseconds", format!("{}", now * 1000), now * 1000),
        ("iso-date", "2025-06-15T12:00:00Z".to_owned(), now),
    ] {
        add(
            &format!("timestamp/{name}"),
            SECRET,
            svix(msg, &header, &signed(msg, signed_as, &body)),
            &body,
        );
    }
    add(
        "timestamp/signed-over-the-raw-header",
        SECRET,
        svix(
            msg,
            &format!("+{now}"),
            &sign_raw(&key_of(SECRET), msg.as_bytes(), &format!("+{now}"), &body),
        ),
        &body,
    );

    // Missing and blank headers.
    let full = svix(msg, &ts, &good);
    for mask in 1u8..8 {
        let headers: Headers = full
            .iter()
            .enumerate()
            .filter(|(i, _)| mask & (1 << i) == 0)
            .map(|(_, h)| h.clone())
            .collect();
        add(&format!("headers/missing-{mask}"), SECRET, headers, &body);
    }
    add("headers/blank-id", SECRET, svix("", &ts, &good), &body);
    add(
        "headers/blank-timestamp",
        SECRET,
        svix(msg, "   ", &good),
        &body,
    );
    add(
        "headers/blank-signature",
        SECRET,
        svix(msg, &ts, " \t "),
        &body,
    );
    add("headers/blank-all", SECRET, svix(" ", " ", " "), &body);

    // White space around values: trimmed before signing and checking.
    add(
        "headers/padded-id",
        SECRET,
        svix(&format!("  {msg}\t"), &ts, &good),
        &body,
    );
    add(
        "headers/padded-timestamp-and-signature",
        SECRET,
        svix(msg, &format!(" {ts} "), &format!("  {good}  ")),
        &body,
    );
    let mut nbsp = b"\xA0".to_vec();
    nbsp.extend_from_slice(msg.as_bytes());
    nbsp.push(0xA0);
    let mut nbsp_headers = svix(msg, &ts, &good);
    nbsp_headers[0].1 = nbsp.clone();
    add("headers/id-no-break-spaces", SECRET, nbsp_headers, &body);
    add(
        "headers/padded-id-signed-untrimmed",
        SECRET,
        svix(
            &format!(" {msg} "),
            &ts,
            &signed(&format!(" {msg} "), now, &body),
        ),
        &body,
    );
    // Header bytes beyond ASCII are latin-1 characters, signed UTF-8 encoded.
    let mut latin1 = svix(msg, &ts, &signed("msg_caf\u{e9}", now, &body));
    latin1[0].1 = b"msg_caf\xE9".to_vec();
    add("headers/latin1-id", SECRET, latin1, &body);
    let mut latin1_raw = svix(
        msg,
        &ts,
        &sign_raw(&key_of(SECRET), b"msg_caf\xE9", &ts, &body),
    );
    latin1_raw[0].1 = b"msg_caf\xE9".to_vec();
    add("headers/latin1-id-signed-raw", SECRET, latin1_raw, &body);

    // Several lines of one header: Fetch joins them with ", ".
    let two_ids = |sig: String| {
        vec![
            ("svix-id".to_owned(), b"msg_a".to_vec()),
            ("svix-id".to_owned(), b"msg_b".to_vec()),
            ("svix-timestamp".to_owned(), ts.clone().into_bytes()),
            ("svix-signature".to_owned(), sig.into_bytes()),
        ]
    };
    add(
        "repeated/id-signed-joined",
        SECRET,
        two_ids(signed("msg_a, msg_b", now, &body)),
        &body,
    );
    add(
        "repeated/id-signed-first",
        SECRET,
        two_ids(signed("msg_a", now, &body)),
        &body,
    );
    add(
        "repeated/signature-bad-then-good",
        SECRET,
        vec![
            ("svix-id".into(), msg.into()),
            ("svix-timestamp".into(), ts.clone().into()),
            ("svix-signature".into(), wrong.clone().into()),
            ("svix-signature".into(), good.clone().into()),
        ],
        &body,
    );
    add(
        "repeated/timestamp",
        SECRET,
        vec![
            ("svix-id".into(), msg.into()),
            ("svix-timestamp".into(), ts.clone().into()),
            ("svix-timestamp".into(), b"1".to_vec()),
            ("svix-signature".into(), good.clone().into()),
        ],
        &body,
    );

    // Standard Webhooks header names.
    let standard = |id: &str, t: &str, sig: &str| -> Headers {
        vec![
            ("webhook-id".into(), id.into()),
            ("webhook-timestamp".into(), t.into()),
            ("webhook-signature".into(), sig.into()),
        ]
    };
    add("standard/valid", SECRET, standard(msg, &ts, &good), &body);
    add(
        "standard/bad-signature",
        SECRET,
        standard(msg, &ts, &wrong),
        &body,
    );
    add(
        "standard/stale",
        SECRET,
        standard(
            msg,
            &(now - 600).to_string(),
            &signed(msg, now - 600, &body),
        ),
        &body,
    );
    add(
        "standard/partial",
        SECRET,
        vec![("webhook-id".into(), msg.into())],
        &body,
    );
    let mut both = svix(msg, &ts, &good);
    both.extend(standard("x", "1", "v1,x"));
    add("standard/svix-wins", SECRET, both, &body);
    let mut blank_svix = svix(" ", "", " ");
    blank_svix.extend(standard(msg, &ts, &good));
    add("standard/blank-svix-ignored", SECRET, blank_svix, &body);
    let mut mixed = vec![("svix-id".to_owned(), msg.as_bytes().to_vec())];
    mixed.extend(standard(msg, &ts, &good).into_iter().skip(1));
    add("standard/mixed-sets", SECRET, mixed, &body);

    // Bodies: decoded as `Request.text()` before signing and parsing.
    let text_of = |raw: &[u8]| -> Vec<u8> {
        let raw = raw.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(raw);
        String::from_utf8_lossy(raw).into_owned().into_bytes()
    };
    let raw_bodies: [(&str, &[u8]); 6] = [
        (
            "invalid-byte",
            b"{\"type\":\"user.created\",\"data\":{\"n\":\"a\xFFb\"}}",
        ),
        (
            "surrogate-bytes",
            b"{\"type\":\"user.created\",\"data\":{\"n\":\"\xED\xA0\x80\"}}",
        ),
        (
            "overlong",
            b"{\"type\":\"user.created\",\"data\":{\"n\":\"\xC0\xAF\xE0\x80\xAF\"}}",
        ),
        ("truncated-at-end", b"{\"type\":\"user.created\"}\xE2\x82"),
        ("bom", b"\xEF\xBB\xBF{\"type\":\"user.created\"}"),
        (
            "latin1",
            b"{\"type\":\"user.created\",\"data\":{\"n\":\"caf\xE9\"}}",
        ),
    ];
    for (name, raw) in raw_bodies {
        add(
            &format!("body/{name}-signed-raw"),
            SECRET,
            svix(msg, &ts, &signed(msg, now, raw)),
            raw,
        );
        add(
            &format!("body/{name}-signed-as-text"),
            SECRET,
            svix(msg, &ts, &signed(msg, now, &text_of(raw))),
            raw,
        );
    }
    add(
        "body/empty-signed",
        SECRET,
        svix(msg, &ts, &signed(msg, now, b"")),
        b"",
    );
    add(
        "body/only-bom-signed-as-text",
        SECRET,
        svix(msg, &ts, &signed(msg, now, b"")),
        b"\xEF\xBB\xBF",
    );

    // Signed payloads that are not Clerk events.
    let deep = format!(
        "{{\"type\":\"x\",\"data\":{}1{}}}",
        "[".repeat(200),
        "]".repeat(200)
    );
    for (name, text) in [
        ("invalid", "{\"type\":"),
        ("trailing-garbage", "{\"type\":\"x\"} {}"),
        ("null", "null"),
        ("single-quotes", "{'type':'x'}"),
        ("number", "1"),
        ("array", "[{\"type\":\"x\"}]"),
        ("string", "\"user.created\""),
        ("true", "true"),
        ("empty-object", "{}"),
        ("type-number", "{\"type\":5,\"data\":{}}"),
        ("type-null", "{\"type\":null}"),
        ("type-object", "{\"type\":{\"a\":1}}"),
        ("deep-nesting", deep.as_str()),
        ("lone-surrogate", "{\"type\":\"x\",\"data\":\"\\ud800\"}"),
        ("number-overflow", "{\"type\":\"x\",\"data\":1e400}"),
    ] {
        add(
            &format!("json/{name}"),
            SECRET,
            svix(msg, &ts, &signed(msg, now, text.as_bytes())),
            text.as_bytes(),
        );
    }
    out
}

/// Deliveries Clerk accepts and we refuse, on purpose (see `src/webhook/mod.rs`): signed
/// JSON that is not an object with a string `type` (Clerk returns an event without a
/// `type`), or that serde_json does not represent (nesting deeper than 128, a lone surrogate
/// escape, a number beyond f64).
const DELIBERATE: &[(&str, &str)] = &[
    ("json/number", "invalid-payload"),
    ("json/array", "invalid-payload"),
    ("json/string", "invalid-payload"),
    ("json/true", "invalid-payload"),
    ("json/empty-object", "invalid-payload"),
    ("json/type-number", "invalid-payload"),
    ("json/type-object", "invalid-payload"),
    ("json/type-null", "invalid-payload"),
    ("json/deep-nesting", "invalid-payload"),
    ("json/lone-surrogate", "invalid-payload"),
    ("json/number-overflow", "invalid-payload"),
];

/// At most 200 characters of `text`, for mismatch reports.
fn clip(text: &str) -> String {
    match text.char_indices().nth(200) {
        Some((at, _)) => format!("{}…", &text[..at]),
        None => text.to_owned(),
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// JSON equality with numbers compared as JavaScript holds them (f64).
fn same_json(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => x.as_f64() == y.as_f64(),
        (Value::Array(x), Value::Array(y)) => {
            x.len() == y.len() && x.iter().zip(y).all(|(a, b)| same_json(a, b))
        }
        (Value::Object(x), Value::Object(y)) => {
            x.len() == y.len()
                && x.iter()
                    .all(|(k, v)| y.get(k).is_some_and(|w| same_json(v, w)))
        }
        _ => a == b,
    }
}

/// Our reason for Clerk's error message, and Clerk's message itself for missing headers.
fn clerk_reason(message: &str, renamed: bool) -> (String, Option<String>) {
    let message = message.trim_start_matches("@clerk/backend: ");
    if message.starts_with("Missing required webhook headers:") {
        let named = if renamed {
            message.replace("svix-", "webhook-")
        } else {
            message.to_owned()
        };
        return ("missing-headers".into(), Some(named));
    }
    let reason = match message.strip_prefix("Unable to verify incoming webhook: ") {
        Some("Invalid Signature Headers") => "invalid-timestamp",
        Some("Message timestamp too old") => "timestamp-too-old",
        Some("Message timestamp too new") => "timestamp-too-new",
        Some("No matching signature found") => "no-matching-signature",
        // JSON.parse's SyntaxError, or a TypeError reading `type` of null / undefined.
        Some(_) => "invalid-payload",
        None => "unknown",
    };
    (reason.into(), None)
}

fn run_oracle(input: &Value) -> Value {
    support::run_oracle("webhook-oracle.mjs", input)
}

#[test]
fn webhook_decisions_agree_with_clerk() {
    let now = now_secs();
    let cases = deliveries(now);
    let samples = samples();
    // The kit's signer against standardwebhooks' Webhook.sign.
    let signings: Vec<(String, &str, i64, String)> = samples
        .iter()
        .map(|(_, e)| e.to_string())
        .chain(["".to_owned(), "é 🚀".to_owned()])
        .enumerate()
        .map(|(i, body)| {
            let secret = if i % 2 == 0 { SECRET } else { OTHER_SECRET };
            (secret.to_owned(), "msg_é", now - i as i64, body)
        })
        .collect();
    // Receiver secrets: accepted when built exactly as Clerk's SDK accepts them.
    let secrets: Vec<String> = vec![
        SECRET.to_owned(),
        SECRET.trim_start_matches("whsec_").to_owned(),
        format!("whsec_{}", B64.encode([9u8; 20])),
        format!("whsec_{}", B64.encode([9u8; 20]).trim_end_matches('=')),
        format!("whsec_{}", B64.encode([9u8; 64])),
        "whsec_".to_owned(),
        "whsec_AA".to_owned(),
        "whsec_A===".to_owned(),
        "whsec_AA AA".to_owned(),
        format!("{SECRET}\n"),
        format!(
            "whsec_{}",
            base64::engine::general_purpose::URL_SAFE.encode([0xfbu8; 24])
        ),
        "whsec_!!!!".to_owned(),
        // 4n+1 characters: @stablelib/base64 drops the last one unchecked, and so do we.
        "whsec_AAAAA".to_owned(),
        "whsec_AAAA=\n".to_owned(),
        format!("{SECRET}\n\n"),
        "whsec_AAAA\u{e9}=".to_owned(),
    ];
    let input = json!({
        "now": now,
        "cases": cases.iter().map(|c| json!({
            "id": c.id,
            "secret": c.secret,
            "headers": c.headers.iter().map(|(n, v)| json!([n, B64.encode(v)])).collect::<Vec<_>>(),
            "body": B64.encode(&c.body),
        })).collect::<Vec<_>>(),
        "signings": signings.iter().map(|(secret, id, t, body)| json!({
            "secret": secret, "id": id, "timestamp": t, "body": body,
        })).collect::<Vec<_>>(),
        "secrets": secrets,
    });
    let answers = run_oracle(&input);
    assert_eq!(answers["versions"]["@clerk/backend"], "3.25.0");

    let (mut passed, mut failures) = (0usize, Vec::new());
    let (mut renamed_count, mut deliberate_count) = (0usize, 0usize);
    let mut refused = std::collections::BTreeMap::<&str, usize>::new();
    let mut accepted = 0usize;
    let at = UNIX_EPOCH + Duration::from_millis(now as u64 * 1000 + 500);
    let mut seen_ids = std::collections::HashSet::new();
    for c in &cases {
        assert!(seen_ids.insert(c.id.as_str()), "duplicate case id {}", c.id);
        let answer = &answers["cases"][&c.id];
        let renamed = !answer["renamed"].is_null();
        let expected = if renamed {
            renamed_count += 1;
            &answer["renamed"]
        } else {
            &answer["clerk"]
        };
        let verifier = WebhookVerifier::new(&c.secret).expect("receiver secret");
        let ours = verifier.verify_at(&header_map(&c.headers), &c.body, at);
        let deliberate = DELIBERATE.iter().find(|(id, _)| *id == c.id);
        let problem = match (deliberate, expected["ok"].as_bool(), &ours) {
            (Some((_, reason)), Some(true), Err(e)) if e.reason() == *reason => {
                deliberate_count += 1;
                None
            }
            (Some(_), clerk_ok, ours) => Some(format!(
                "deliberate difference no longer holds: Clerk ok={clerk_ok:?}, ours {ours:?}"
            )),
            (None, Some(true), Ok(event)) => {
                let theirs: Option<Value> = expected["event"]
                    .as_str()
                    .and_then(|t| serde_json::from_str(t).ok());
                let mine = serde_json::to_value(event).expect("event JSON");
                match theirs {
                    Some(theirs) if same_json(&theirs, &mine) => None,
                    theirs => Some(format!(
                        "event: ours {}, Clerk {}",
                        clip(&mine.to_string()),
                        clip(&format!("{theirs:?}"))
                    )),
                }
            }
            (None, Some(false), Err(e)) => {
                let message = expected["error"].as_str().unwrap_or_default();
                let (reason, exact) = clerk_reason(message, renamed);
                if reason != e.reason() {
                    Some(format!("reason: ours {}, Clerk {message:?}", e.reason()))
                } else if exact.as_deref().is_some_and(|m| m != e.message()) {
                    Some(format!(
                        "message: ours {:?}, Clerk {message:?}",
                        e.message()
                    ))
                } else {
                    None
                }
            }
            (None, _, ours) => Some(format!(
                "ours {}, Clerk {}",
                clip(&format!("{ours:?}")),
                clip(&expected.to_string())
            )),
        };
        match (&problem, &ours) {
            (None, Ok(_)) => accepted += 1,
            (None, Err(e)) => *refused.entry(e.reason()).or_default() += 1,
            _ => {}
        }
        match problem {
            None => passed += 1,
            Some(p) => failures.push(format!("MISMATCH {}: {p}", c.id)),
        }
    }
    for (i, (secret, id, t, body)) in signings.iter().enumerate() {
        let ours = sign(secret, id, *t, body.as_bytes());
        if answers["signatures"][i] == json!(ours) {
            passed += 1;
        } else {
            failures.push(format!(
                "MISMATCH signing {i}: standardwebhooks signs differently"
            ));
        }
    }
    for (i, secret) in secrets.iter().enumerate() {
        let ours = WebhookVerifier::new(secret).is_ok();
        let theirs = answers["secrets"][i].as_bool();
        if theirs == Some(ours) {
            passed += 1;
        } else {
            failures.push(format!(
                "MISMATCH secret #{i}: ours accepted={ours}, Clerk {theirs:?}"
            ));
        }
    }

    for f in &failures {
        println!("{f}");
    }
    println!(
        "webhooks: {passed} passed, {} failed ({} deliveries: {accepted} accepted, refused {refused:?}, {renamed_count} with webhook-* headers decided as Clerk decides them under svix-* names, {deliberate_count} deliberate differences; {} signatures checked against standardwebhooks; {} secrets)",
        failures.len(),
        cases.len(),
        signings.len(),
        secrets.len()
    );
    assert!(
        failures.is_empty(),
        "{} mismatches with Clerk",
        failures.len()
    );
    assert!(passed >= 60, "only {passed} cases");
    assert_eq!(deliberate_count, DELIBERATE.len());
}

// ---------------------------------------------------------------------------------------------
// Through actix apps.

fn verifier() -> WebhookVerifier {
    WebhookVerifier::new(SECRET).expect("verifier")
}

/// The headers of a genuine delivery of `body` (signed now), as the testing kit makes it:
/// `svix-id`, `svix-timestamp`, `svix-signature`, then the other headers Svix sends.
fn genuine(id: &str, body: &[u8]) -> Headers {
    TestWebhookSecret::from_secret(SECRET)
        .delivery(body)
        .id(id)
        .headers()
        .into_iter()
        .map(|(name, value)| (name, value.into_bytes()))
        .collect()
}

fn post(headers: &Headers, body: &[u8]) -> actix_test::TestRequest {
    let mut req = actix_test::TestRequest::post().uri("/webhooks");
    for (name, value) in headers {
        req = req.append_header((
            HeaderName::from_bytes(name.as_bytes()).expect("name"),
            HeaderValue::from_bytes(value).expect("value"),
        ));
    }
    req.set_payload(body.to_vec())
}

async fn counted(event: ClerkWebhook, runs: web::Data<AtomicUsize>) -> web::Json<ClerkWebhook> {
    runs.fetch_add(1, Ordering::SeqCst);
    web::Json(event)
}

async fn body_of(res: ServiceResponse) -> (StatusCode, String) {
    let status = res.status();
    let body = actix_test::read_body(res).await;
    (status, String::from_utf8_lossy(&body).into_owned())
}

#[actix_web::test]
async fn the_handler_runs_only_for_genuine_deliveries() {
    let runs = web::Data::new(AtomicUsize::new(0));
    let app = actix_test::init_service(
        App::new()
            .app_data(verifier())
            .app_data(runs.clone())
            .route("/webhooks", web::post().to(counted)),
    )
    .await;
    let event = &samples()[0].1;
    let body = serde_json::to_vec(event).expect("body");

    let res =
        actix_test::call_service(&app, post(&genuine("msg_ok", &body), &body).to_request()).await;
    let (status, text) = body_of(res).await;
    assert_eq!(status, 200, "{text}");
    let answered: Value = serde_json::from_str(&text).expect("event JSON");
    let mut expected = event.clone();
    expected["object"] = json!("event");
    assert!(same_json(&answered, &expected), "{answered}");
    assert_eq!(runs.load(Ordering::SeqCst), 1);

    let now = now_secs();
    let stale = now - 3600;
    let mut tampered = body.clone();
    tampered[10] ^= 1;
    let not_json = b"not json".to_vec();
    let cases: Vec<(&str, Headers, Vec<u8>, &str)> = vec![
        ("no headers", vec![], body.clone(), "missing-headers"),
        (
            "no signature",
            genuine("msg_1", &body)[..2].to_vec(),
            body.clone(),
            "missing-headers",
        ),
        (
            "tampered body",
            genuine("msg_1", &body),
            tampered,
            "no-matching-signature",
        ),
        (
            "wrong secret",
            svix(
                "msg_1",
                &now.to_string(),
                &sign(OTHER_SECRET, "msg_1", now, &body),
            ),
            body.clone(),
            "no-matching-signature",
        ),
        (
            "stale",
            svix(
                "msg_1",
                &stale.to_string(),
                &sign(SECRET, "msg_1", stale, &body),
            ),
            body.clone(),
            "timestamp-too-old",
        ),
        (
            "bad timestamp",
            svix("msg_1", "soon", &sign(SECRET, "msg_1", now, &body)),
            body.clone(),
            "invalid-timestamp",
        ),
        (
            "not JSON",
            genuine("msg_1", &not_json),
            not_json.clone(),
            "invalid-payload",
        ),
    ];
    for (name, headers, payload, reason) in cases {
        let res = actix_test::call_service(&app, post(&headers, &payload).to_request()).await;
        assert_eq!(
            res.headers().get("content-type").map(|v| v.as_bytes()),
            Some(&b"application/json"[..]),
            "{name}"
        );
        let (status, text) = body_of(res).await;
        assert_eq!(status, 400, "{name}: {text}");
        assert_eq!(
            text,
            format!(r#"{{"error":"invalid_webhook","reason":"{reason}"}}"#),
            "{name}"
        );
    }
    assert_eq!(
        runs.load(Ordering::SeqCst),
        1,
        "the handler ran for a refused delivery"
    );
}

#[actix_web::test]
async fn body_limits_hold_over_a_real_socket() {
    let runs = web::Data::new(AtomicUsize::new(0));
    let limited = verifier().body_limit(1024);
    let r = runs.clone();
    let server = HttpServer::new(move || {
        App::new()
            .app_data(limited.clone())
            .app_data(r.clone())
            .route("/webhooks", web::post().to(counted))
    })
    .workers(1)
    .disable_signals()
    .bind(("127.0.0.1", 0))
    .expect("bind 127.0.0.1:0");
    let url = format!("http://{}/webhooks", server.addrs()[0]);
    let server = server.run();
    let handle = server.handle();
    actix_web::rt::spawn(server);

    let _ = rustls::crypto::aws_lc_rs::default_provider().install_default();
    let client = awc::Client::default();
    let send = |headers: Headers, body: Vec<u8>, chunked: bool| {
        let mut req = client.post(url.as_str());
        for (name, value) in headers {
            req = req.insert_header((name, HeaderValue::from_bytes(&value).expect("value")));
        }
        async move {
            let mut res = if chunked {
                let chunks = body
                    .chunks(100)
                    .map(|c| Ok::<_, std::io::Error>(web::Bytes::copy_from_slice(c)))
                    .collect::<Vec<_>>();
                req.send_stream(futures_util::stream::iter(chunks)).await
            } else {
                req.send_body(body).await
            }
            .expect("request");
            let text = res.body().await.expect("body");
            (
                res.status().as_u16(),
                String::from_utf8_lossy(&text).into_owned(),
            )
        }
    };
    let small = br#"{"type":"user.created","data":{"id":"user_1"}}"#.to_vec();
    let mut big = br#"{"type":"user.created","data":{"pad":""#.to_vec();
    big.extend(std::iter::repeat_n(b'x', 2000));
    big.extend_from_slice(b"\"}}");

    assert_eq!(
        send(genuine("msg_s", &small), small.clone(), false).await.0,
        200
    );
    assert_eq!(
        send(genuine("msg_c", &small), small.clone(), true).await.0,
        200
    );
    let declared = send(genuine("msg_b", &big), big.clone(), false).await;
    assert_eq!(declared.0, 413, "{}", declared.1);
    assert_eq!(
        declared.1,
        r#"{"error":"invalid_webhook","reason":"body-too-large"}"#
    );
    let streamed = send(genuine("msg_b2", &big), big.clone(), true).await;
    assert_eq!(streamed.0, 413, "{}", streamed.1);
    // Exactly at the limit passes.
    let mut exact = br#"{"type":"x","data":""#.to_vec();
    let pad = 1024 - exact.len() - 2;
    exact.extend(std::iter::repeat_n(b'y', pad));
    exact.extend_from_slice(b"\"}");
    assert_eq!(exact.len(), 1024);
    assert_eq!(
        send(genuine("msg_e", &exact), exact.clone(), true).await.0,
        200
    );
    assert_eq!(runs.load(Ordering::SeqCst), 3);
    handle.stop(true).await;
}

#[actix_web::test]
async fn replay_protection_refuses_a_captured_delivery_but_not_a_retry() {
    let runs = web::Data::new(AtomicUsize::new(0));
    let protected = verifier().replay_protection(100);
    let app = actix_test::init_service(
        App::new()
            .app_data(protected.clone())
            .app_data(runs.clone())
            .route("/webhooks", web::post().to(counted)),
    )
    .await;
    let body = serde_json::to_vec(&samples()[0].1).expect("body");
    let captured = genuine("msg_replay", &body);
    let res = actix_test::call_service(&app, post(&captured, &body).to_request()).await;
    assert_eq!(res.status(), 200);
    // The same request again, even with a byte-order mark that decodes away.
    let mut with_bom = b"\xEF\xBB\xBF".to_vec();
    with_bom.extend_from_slice(&body);
    for payload in [&body, &with_bom] {
        let res = actix_test::call_service(&app, post(&captured, payload).to_request()).await;
        let (status, text) = body_of(res).await;
        assert_eq!(status, 400);
        assert_eq!(text, r#"{"error":"invalid_webhook","reason":"replayed"}"#);
    }
    // A retry by Svix: same id, a fresh timestamp and signature.
    let later = now_secs() + 1;
    let retry = svix(
        "msg_replay",
        &later.to_string(),
        &sign(SECRET, "msg_replay", later, &body),
    );
    let res = actix_test::call_service(&app, post(&retry, &body).to_request()).await;
    assert_eq!(res.status(), 200);
    assert_eq!(runs.load(Ordering::SeqCst), 2);
    // A clone shares the record; a verifier without protection accepts the replay.
    let at = std::time::SystemTime::now();
    assert_eq!(
        protected.verify_at(&header_map(&captured), &body, at),
        Err(WebhookError::Replayed)
    );
    assert!(verifier()
        .verify_at(&header_map(&captured), &body, at)
        .is_ok());
    // A refused delivery is not recorded.
    let protected = verifier().replay_protection(100);
    let mut forged = captured.clone();
    forged[2].1 = sign(OTHER_SECRET, "msg_replay", now_secs(), &body).into_bytes();
    let headers = header_map(&forged);
    assert_eq!(
        protected.verify_at(&headers, &body, at),
        Err(WebhookError::NoMatchingSignature)
    );
    assert!(protected
        .verify_at(&header_map(&captured), &body, at)
        .is_ok());
}

#[actix_web::test]
async fn refusals_can_be_overridden() {
    fn rewrite<B>(res: ServiceResponse<B>) -> actix_web::Result<ErrorHandlerResponse<B>> {
        let reason = res
            .response()
            .error()
            .and_then(|e| e.as_error::<ClerkError>())
            .and_then(|e| match e {
                ClerkError::Webhook(w) => Some(w.reason()),
                _ => None,
            })
            .unwrap_or("-");
        let (req, _) = res.into_parts();
        let res = HttpResponse::Unauthorized().body(format!("refused: {reason}"));
        Ok(ErrorHandlerResponse::Response(
            ServiceResponse::new(req, res).map_into_right_body(),
        ))
    }
    async fn lenient(event: Result<ClerkWebhook, ClerkError>) -> HttpResponse {
        match event {
            Ok(e) => HttpResponse::Ok().body(e.event_type().to_owned()),
            Err(ClerkError::Webhook(e)) => HttpResponse::Accepted().body(e.message()),
            Err(e) => HttpResponse::InternalServerError().body(e.to_string()),
        }
    }
    let app = actix_test::init_service(
        App::new()
            .app_data(verifier())
            .service(
                web::resource("/webhooks")
                    .wrap(ErrorHandlers::new().handler(StatusCode::BAD_REQUEST, rewrite))
                    .route(
                        web::post().to(|e: ClerkWebhook| async move { e.event_type().to_owned() }),
                    ),
            )
            .route("/lenient", web::post().to(lenient)),
    )
    .await;
    let body = br#"{"type":"user.created"}"#;
    let res = actix_test::call_service(&app, post(&vec![], body).to_request()).await;
    let (status, text) = body_of(res).await;
    assert_eq!(
        (status.as_u16(), text.as_str()),
        (401, "refused: missing-headers")
    );

    let res =
        actix_test::call_service(&app, post(&vec![], body).uri("/lenient").to_request()).await;
    let (status, text) = body_of(res).await;
    assert_eq!(status, 202);
    assert_eq!(
        text,
        "Missing required webhook headers: svix-id, svix-timestamp, svix-signature"
    );
    let res = actix_test::call_service(
        &app,
        post(&genuine("msg_l", body), body)
            .uri("/lenient")
            .to_request(),
    )
    .await;
    assert_eq!(body_of(res).await.1, "user.created");
}

#[actix_web::test]
async fn a_route_without_a_verifier_answers_500_and_web_data_works() {
    let app = actix_test::init_service(
        App::new()
            .route(
                "/webhooks",
                web::post().to(|e: ClerkWebhook| async move { e.event_type().to_owned() }),
            )
            .service(
                web::scope("/data")
                    .app_data(web::Data::new(verifier()))
                    .route(
                        "/webhooks",
                        web::post().to(|e: ClerkWebhook| async move { e.event_type().to_owned() }),
                    ),
            ),
    )
    .await;
    let body = br#"{"type":"organization.created"}"#;
    let res = actix_test::call_service(&app, post(&genuine("m", body), body).to_request()).await;
    let (status, text) = body_of(res).await;
    assert_eq!(status, 500);
    assert_eq!(
        text,
        "server misconfiguration: no WebhookVerifier for this route"
    );
    let res = actix_test::call_service(
        &app,
        post(&genuine("m", body), body)
            .uri("/data/webhooks")
            .to_request(),
    )
    .await;
    assert_eq!(
        body_of(res).await,
        (StatusCode::OK, "organization.created".into())
    );
}

/// A `tracing` writer into a shared buffer.
#[derive(Clone, Default)]
struct Captured(Arc<parking_lot::Mutex<Vec<u8>>>);

impl std::io::Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[actix_web::test]
async fn the_secret_and_signatures_never_show() {
    let logs = Captured::default();
    let writer = logs.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_max_level(tracing::Level::TRACE)
        .with_writer(move || writer.clone())
        .finish();
    let _guard = tracing::subscriber::set_default(subscriber);

    let protected = verifier().replay_protection(10);
    let app = actix_test::init_service(App::new().app_data(protected.clone()).route(
        "/webhooks",
        web::post().to(|e: ClerkWebhook| async move { format!("{e:?}") }),
    ))
    .await;
    let body = serde_json::to_vec(&samples()[0].1).expect("body");
    let good = genuine("msg_secret", &body);
    let now = now_secs();
    let wrong = sign(OTHER_SECRET, "msg_secret", now, &body);
    let signatures = [
        String::from_utf8(good[2].1.clone()).expect("ascii"),
        wrong.clone(),
    ];
    let mut outputs = vec![format!("{protected:?}")];
    let mut tampered = body.clone();
    tampered[5] ^= 1;
    for (headers, payload) in [
        (good.clone(), body.clone()),
        (good.clone(), body.clone()),
        (good.clone(), tampered),
        (
            svix(
                "msg_secret",
                &now.to_string(),
                &format!("{wrong} {}", signatures[0]),
            ),
            b"{}".to_vec(),
        ),
        (svix("msg_secret", "x", &signatures[0]), body.clone()),
    ] {
        let res = actix_test::call_service(&app, post(&headers, &payload).to_request()).await;
        outputs.push(format!("{:?}", res.response().error()));
        outputs.push(body_of(res).await.1);
        if let Err(e) = protected.verify(&header_map(&headers), &payload) {
            outputs.push(format!(
                "{e} {e:?} {} {:?}",
                ClerkError::from(e),
                ClerkError::from(e)
            ));
        }
    }
    for bad in ["whsec_AA AA", "whsec_"] {
        let e = WebhookVerifier::new(bad).expect_err("refused");
        outputs.push(format!("{e} {e:?}"));
    }
    let e = WebhookVerifier::new(&format!("{SECRET}!!")).expect_err("refused");
    outputs.push(format!("{e} {e:?}"));
    outputs.push(String::from_utf8_lossy(&logs.0.lock()).into_owned());
    let all = outputs.join("\n");
    assert!(
        all.contains("replayed") && all.contains("no-matching-signature"),
        "{all}"
    );
    let key = SECRET.trim_start_matches("whsec_");
    assert!(!all.contains(key), "the secret leaked:\n{all}");
    assert!(
        !all.contains(&key[..12]),
        "part of the secret leaked:\n{all}"
    );
    for s in &signatures {
        let bare = s.trim_start_matches("v1,");
        assert!(!all.contains(&bare[..16]), "a signature leaked:\n{all}");
    }
}

#[test]
fn typed_access_for_the_common_families() {
    let now = now_secs();
    let at = UNIX_EPOCH + Duration::from_secs(now as u64);
    let verifier = verifier();
    let mut seen = Vec::new();
    for (name, event) in samples() {
        let body = serde_json::to_vec(&event).expect("body");
        let headers = header_map(&svix(
            "msg_t",
            &now.to_string(),
            &sign(SECRET, "msg_t", now, &body),
        ));
        let hook = verifier.verify_at(&headers, &body, at).expect(name);
        assert_eq!(hook.delivery_id(), "msg_t");
        assert_eq!(hook.delivery_timestamp(), now);
        assert_eq!(hook.instance_id(), Some("ins_2test"));
        assert_eq!(hook.timestamp_ms(), Some(1_750_000_000_123));
        assert_eq!(
            hook.event_attributes()
                .map(|a| &a["http_request"]["client_ip"]),
            Some(&json!("203.0.113.7"))
        );
        let typed = hook.typed().expect(name);
        match typed {
            WebhookEvent::UserCreated(u) | WebhookEvent::UserUpdated(u) => {
                assert_eq!(u.id, "user_ada");
                assert_eq!(u.primary_email_address(), Some("ada@example.com"));
                assert_eq!(u.public_metadata["tier"], "gold");
                assert_eq!(u.last_sign_in_at, None);
            }
            WebhookEvent::UserDeleted(d) => {
                assert_eq!((d.id.as_deref(), d.deleted), (Some("user_ada"), true));
            }
            WebhookEvent::SessionCreated(s) => {
                assert_eq!((s.id.as_str(), s.user_id.as_str()), ("sess_1", "user_ada"));
                assert_eq!(s.last_active_organization_id.as_deref(), Some("org_acme"));
                assert_eq!(s.user.map(|u| u.id).as_deref(), Some("user_ada"));
            }
            WebhookEvent::OrganizationCreated(o) => {
                assert_eq!(
                    (o.id.as_str(), o.slug.as_deref()),
                    ("org_acme", Some("acme"))
                );
                assert_eq!(o.members_count, Some(1));
            }
            WebhookEvent::OrganizationMembershipCreated(m) => {
                assert_eq!(m.role, "org:admin");
                assert_eq!(m.organization.id, "org_acme");
                assert_eq!(m.public_user_data.user_id, "user_ada");
                assert_eq!(m.permissions, ["org:sys_memberships:manage"]);
            }
            WebhookEvent::EmailCreated(e) => {
                assert_eq!(e.slug.as_deref(), Some("verification_code"));
                assert_eq!(e.data["otp_code"], "123456");
                assert!(!e.delivered_by_clerk);
            }
            WebhookEvent::Other => assert_eq!(hook.event_type(), "agentTask.completed"),
            other => panic!("{name}: {other:?}"),
        }
        seen.push(name);
    }
    assert_eq!(seen.len(), 8);
}

/// The `webhooks` example as a process, configured from the environment.
#[actix_web::test]
async fn the_webhooks_example_answers_genuine_deliveries() {
    let bin = support::example_binary("webhooks");

    // Without a secret it refuses to start, saying what to set.
    let out = Command::new(&bin)
        .env_clear()
        .output()
        .expect("run the example");
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("CLERK_WEBHOOK_SIGNING_SECRET"), "{err}");

    let server = support::ExampleServer::start(&bin, &[("CLERK_WEBHOOK_SIGNING_SECRET", SECRET)]);
    let url = format!("{}/webhooks", server.base);

    let _ = rustls::crypto::aws_lc_rs::default_provider().install_default();
    let client = awc::Client::default();
    let send = |headers: Headers, body: Vec<u8>| {
        let mut req = client.post(url.as_str());
        for (name, value) in headers {
            req = req.insert_header((name, HeaderValue::from_bytes(&value).expect("value")));
        }
        async move {
            let mut res = req.send_body(body).await.expect("request");
            let text = res.body().limit(1 << 20).await.expect("body");
            (
                res.status().as_u16(),
                String::from_utf8_lossy(&text).into_owned(),
            )
        }
    };
    for (name, event) in samples() {
        let body = serde_json::to_vec(&event).expect("body");
        let (status, text) = send(genuine(&format!("msg_{name}"), &body), body).await;
        assert_eq!(status, 200, "{name}: {text}");
        let answered: Value = serde_json::from_str(&text).expect("event JSON");
        let mut expected = event.clone();
        expected["object"] = json!("event");
        assert!(same_json(&answered, &expected), "{name}: {answered}");
    }
    let body = serde_json::to_vec(&samples()[1].1).expect("body");
    let captured = genuine("msg_example", &body);
    assert_eq!(send(captured.clone(), body.clone()).await.0, 200);
    let replayed = send(captured.clone(), body.clone()).await;
    assert_eq!(
        replayed,
        (
            400,
            r#"{"error":"invalid_webhook","reason":"replayed"}"#.into()
        )
    );
    let mut tampered = body.clone();
    tampered[3] ^= 1;
    assert_eq!(
        send(genuine("msg_t", &body), tampered).await,
        (
            400,
            r#"{"error":"invalid_webhook","reason":"no-matching-signature"}"#.into()
        )
    );
    assert_eq!(send(vec![], body.clone()).await.0, 400);
    let big = vec![b' '; 300 * 1024];
    assert_eq!(send(genuine("msg_big", &big), big).await.0, 413);
    let res = client.get(url.as_str()).send().await.expect("GET");
    assert!(
        matches!(res.status().as_u16(), 404 | 405),
        "{}",
        res.status()
    );
}
