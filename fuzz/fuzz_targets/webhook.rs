//! Webhook header and body parsing: arbitrary header lines and bodies through
//! `WebhookVerifier::verify_at` and through the `ClerkWebhook` extractor (the streamed read,
//! `Content-Length`, the body limit), which must decide alike; never a panic.
//!
//! Input: one flags byte, then header lines `name: value` (raw bytes; lines that are not valid
//! header names or values are skipped), an empty line, then the body.
//! - flags bit 0: the harness appends a genuine signature, so the fuzzer reaches the JSON and
//!   event code: the id is the value of a line named `id` (printable ASCII kept; not sent as
//!   a header), the timestamp is now + ((flags >> 2) - 32) * 10 s, the body as signed is the
//!   body's text (as `Request.text()` decodes it).
//! - flags bit 1: the appended headers are named `webhook-*` instead of `svix-*`.
//!
//! Checked: a genuine delivery (no other signature headers, timestamp well inside the window,
//! body under the limit) is accepted unless its JSON is not an event; an accepted event
//! serialises in Clerk's shape with its type; typed access never panics; with replay
//! protection the same delivery is refused the second time; the extractor agrees with
//! `verify_at` (timestamp reasons aside, the clock moving between the two).
#![no_main]

use std::time::{SystemTime, UNIX_EPOCH};

use actix_clerk::{ClerkError, ClerkWebhook, WebhookError, WebhookVerifier};
use actix_web::http::header::{HeaderMap, HeaderName, HeaderValue};
use actix_web::FromRequest as _;
use aws_lc_rs::hmac;
use base64::Engine as _;
use libfuzzer_sys::fuzz_target;

/// A signing secret made for this target only.
const SECRET: &str = "whsec_ZnV6ei1vbmx5LXdlYmhvb2stc2VjcmV0";
const LIMIT: usize = 4096;

thread_local! {
    static RUNTIME: actix_rt::SystemRunner = actix_rt::System::new();
    static VERIFIER: WebhookVerifier = WebhookVerifier::new(SECRET)
        .expect("secret")
        .body_limit(LIMIT);
}

fn signature(id: &str, timestamp: i64, body: &[u8]) -> String {
    let key = base64::engine::general_purpose::STANDARD
        .decode(SECRET.trim_start_matches("whsec_"))
        .expect("key");
    let body = body.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(body);
    let text = String::from_utf8_lossy(body);
    let key = hmac::Key::new(hmac::HMAC_SHA256, &key);
    let tag = hmac::sign(&key, format!("{id}.{timestamp}.{text}").as_bytes());
    format!(
        "v1,{}",
        base64::engine::general_purpose::STANDARD.encode(tag.as_ref())
    )
}

fn timestamp_reason(e: &WebhookError) -> bool {
    matches!(
        e,
        WebhookError::TimestampTooOld | WebhookError::TimestampTooNew
    )
}

fuzz_target!(|data: &[u8]| {
    let Some((flags, head, body)) = actix_clerk_fuzz::flags_head_body(data) else {
        return;
    };
    let now = SystemTime::now();
    let now_secs = now
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0);

    let head = actix_clerk_fuzz::head_lines(head, b"id");
    let (mut lines, clean) = (head.headers, head.clean);
    let mut id: String = head.field.map_or_else(
        || String::from("msg_fuzz"),
        |v| {
            v.iter()
                .filter(|b| b.is_ascii_graphic())
                .map(|&b| char::from(b))
                .collect()
        },
    );
    let sign = flags & 1 == 1;
    let offset = (i64::from(flags >> 2) - 32) * 10;
    if sign {
        if id.is_empty() {
            id.push('x');
        }
        let t = now_secs + offset;
        let names = if flags & 2 == 2 {
            ["webhook-id", "webhook-timestamp", "webhook-signature"]
        } else {
            ["svix-id", "svix-timestamp", "svix-signature"]
        };
        for (name, value) in
            names
                .into_iter()
                .zip([id.clone(), t.to_string(), signature(&id, t, body)])
        {
            lines.push((
                HeaderName::from_static(name),
                HeaderValue::from_str(&value).expect("ASCII value"),
            ));
        }
    }
    let mut headers = HeaderMap::new();
    for (name, value) in &lines {
        headers.append(name.clone(), value.clone());
    }

    let direct = VERIFIER.with(|v| v.verify_at(&headers, body, now));
    if sign && clean && offset.abs() <= 290 && body.len() <= LIMIT {
        assert!(
            matches!(direct, Ok(_) | Err(WebhookError::InvalidPayload)),
            "a genuine delivery refused: {direct:?}"
        );
    }
    match &direct {
        Ok(event) => {
            let json = serde_json::to_value(event).expect("event JSON");
            assert_eq!(json["type"].as_str(), Some(event.event_type()));
            assert_eq!(json["object"], "event");
            assert!((event.delivery_timestamp() - now_secs).abs() <= 300);
            let _ = event.typed();
            // With replay protection, the second identical delivery is refused.
            let protected = VERIFIER.with(|v| v.clone().replay_protection(4));
            assert!(protected.verify_at(&headers, body, now).is_ok());
            assert_eq!(
                protected.verify_at(&headers, body, now),
                Err(WebhookError::Replayed)
            );
        }
        Err(e) => {
            assert!(!e.reason().is_empty());
            assert!(!e.to_string().contains(&SECRET[6..]));
        }
    }

    let extracted = RUNTIME.with(|rt| {
        rt.block_on(async {
            let mut req = actix_web::test::TestRequest::post()
                .uri("/webhooks")
                .app_data(VERIFIER.with(Clone::clone));
            for (name, value) in &lines {
                req = req.append_header((name.clone(), value.clone()));
            }
            let (req, mut payload) = req.set_payload(body.to_vec()).to_http_parts();
            ClerkWebhook::from_request(&req, &mut payload).await
        })
    });
    match (&direct, &extracted) {
        (Ok(a), Ok(b)) => assert_eq!(a, b),
        (Err(a), Err(ClerkError::Webhook(b))) if a == b => {}
        (Err(a), _) if timestamp_reason(a) => {}
        (_, Err(ClerkError::Webhook(b))) if timestamp_reason(b) => {}
        (a, b) => panic!("verify_at {a:?}, extractor {b:?}"),
    }
});
