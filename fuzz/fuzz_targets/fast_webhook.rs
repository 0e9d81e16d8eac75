//! Fast: webhook headers, signatures and events without a request, and the Backend API models.
//!
//! Input: one flags byte, header lines `name: value` (raw bytes; lines that are not valid
//! header names or values skipped), an empty line, then the body.
//! - flags bit 0: the harness appends `svix-id`, `svix-timestamp` (now + ((flags >> 2) - 32)
//!   * 10 s) and a `svix-signature` whose entries are the genuine signature (computed here
//!   with an independent HMAC) among the input's own signature entries (a line named `sig`).
//!
//! Checked: with the appended headers alone, the timestamp is accepted exactly within ±300 s
//! and the delivery's id and timestamp read back; the signature matches exactly when one
//! space-separated entry is `v1,<expected>` (its text between the first and second comma);
//! a body that parses as an event serialises back to JSON whose event parses to the same event
//! (type, data, attributes); the event's `data` read as each Backend API model (User,
//! Organization, Session, …) serialises back to a value that reads as the same model.
#![no_main]

use actix_clerk::api::models::{
    DeletedObject, EmailAddress, Invitation, Organization, OrganizationInvitation,
    OrganizationMembership, Session, User,
};
use actix_clerk::fuzzing as f;
use actix_clerk::WebhookError;
use actix_clerk_fuzz::reference as model;
use actix_web::http::header::{HeaderMap, HeaderName, HeaderValue};
use aws_lc_rs::hmac;
use libfuzzer_sys::fuzz_target;
use serde::de::DeserializeOwned;
use serde::Serialize;
use serde_json::Value;

const KEY: &[u8] = b"fuzz-only-webhook-key";
const NOW: i64 = 1_765_000_000;

fn roundtrip<T: Serialize + DeserializeOwned + PartialEq + std::fmt::Debug>(data: &Value) {
    if let Ok(model) = serde_json::from_value::<T>(data.clone()) {
        let out = serde_json::to_value(&model).expect("a model serialises");
        let again: T = serde_json::from_value(out.clone()).unwrap_or_else(|e| {
            panic!(
                "{} does not read back: {e}: {out}",
                std::any::type_name::<T>()
            )
        });
        assert_eq!(again, model, "{}", std::any::type_name::<T>());
    }
}

fuzz_target!(|data: &[u8]| {
    let Some((flags, head, body)) = actix_clerk_fuzz::flags_head_body(data) else {
        return;
    };
    let head = actix_clerk_fuzz::head_lines(head, b"sig");
    let clean = head.clean;
    let mut headers = HeaderMap::new();
    for (name, value) in head.headers {
        headers.append(name, value);
    }
    let own_sigs: String = head
        .field
        .unwrap_or_default()
        .iter()
        .filter(|b| b.is_ascii_graphic() || **b == b' ')
        .map(|&b| char::from(b))
        .collect();
    let text = f::webhook_body_text(body);
    let offset = (i64::from(flags >> 2) - 32) * 10;
    if flags & 1 == 1 {
        let t = NOW + offset;
        let id = "msg_fuzz";
        let key = hmac::Key::new(hmac::HMAC_SHA256, KEY);
        let expected =
            model::b64_std(hmac::sign(&key, format!("{id}.{t}.{text}").as_bytes()).as_ref());
        // A blank header is an absent one (Fetch): the genuine signature alone then.
        let sigs = if own_sigs.trim().is_empty() {
            format!("v1,{expected}")
        } else {
            own_sigs.replace("EXPECTED", &expected)
        };
        headers.append(
            HeaderName::from_static("svix-id"),
            HeaderValue::from_static("msg_fuzz"),
        );
        headers.append(
            HeaderName::from_static("svix-timestamp"),
            HeaderValue::from_str(&t.to_string()).expect("digits"),
        );
        headers.append(
            HeaderName::from_static("svix-signature"),
            HeaderValue::from_str(&sigs).expect("printable"),
        );
        let read = f::webhook_headers(&headers, NOW);
        if clean {
            match offset {
                o if o < -300 => assert_eq!(read, Err(WebhookError::TimestampTooOld)),
                o if o > 300 => assert_eq!(read, Err(WebhookError::TimestampTooNew)),
                _ => assert_eq!(read, Ok((id.to_owned(), t))),
            }
            if offset.abs() <= 300 {
                let trimmed = sigs.trim_matches([' ', '\t']);
                let want = trimmed.split(' ').any(|entry| {
                    let mut parts = entry.split(',');
                    parts.next() == Some("v1") && parts.next().unwrap_or_default() == expected
                });
                let got = f::webhook_signature_ok(KEY, &headers, body, NOW);
                assert_eq!(got, Ok(want), "signatures {sigs:?}");
            }
        }
    } else if let Ok((_, t)) = f::webhook_headers(&headers, NOW) {
        assert!((t - NOW).abs() <= 300);
        let _ = f::webhook_signature_ok(KEY, &headers, body, NOW);
    }

    if let Ok(event) = f::webhook_event("msg_fuzz", NOW, &text) {
        let json = serde_json::to_value(&event).expect("event JSON");
        assert_eq!(json["type"].as_str(), Some(event.event_type()));
        let again = f::webhook_event("msg_fuzz", NOW, &json.to_string()).expect("reads back");
        assert_eq!(again, event);
        let _ = event.typed();
        let data = event.data().clone();
        roundtrip::<User>(&data);
        roundtrip::<Organization>(&data);
        roundtrip::<OrganizationMembership>(&data);
        roundtrip::<Session>(&data);
        roundtrip::<Invitation>(&data);
        roundtrip::<OrganizationInvitation>(&data);
        roundtrip::<EmailAddress>(&data);
        roundtrip::<DeletedObject>(&data);
    }
});
