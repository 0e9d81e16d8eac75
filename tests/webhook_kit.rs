mod support;

// The testing kit's webhook deliveries (issue 17): every delivery the kit signs is accepted by
// the crate's WebhookVerifier and, through an actix app, reaches the handler with its typed
// event; every tampering, foreign secret, stale or future timestamp and missing header is
// refused with the crate's reason; the sample events deserialise into their variants; and
// `@clerk/backend`'s verifyWebhook (with `standardwebhooks`' signer) agrees with the kit.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use actix_clerk::testing::{sample_event, TestWebhookDelivery, TestWebhookSecret, SVIX_USER_AGENT};
use actix_clerk::{ClerkWebhook, WebhookError, WebhookEvent, WebhookVerifier};
use actix_web::test as actix_test;
use actix_web::{web, App, HttpResponse};
use base64::Engine as _;
use serde_json::{json, Value};

const B64: base64::engine::GeneralPurpose = base64::engine::general_purpose::STANDARD;

/// A delivery decided by `verifier` now.
fn decide(
    verifier: &WebhookVerifier,
    delivery: &TestWebhookDelivery,
) -> Result<ClerkWebhook, WebhookError> {
    verifier.verify(&delivery.header_map(), &delivery.body())
}

/// One sample of every event type the crate types, with the variant it must become.
fn every_sample(secret: &TestWebhookSecret) -> Vec<(TestWebhookDelivery, &'static str)> {
    vec![
        (
            secret.delivery(sample_event::user_created("user_1")),
            "UserCreated",
        ),
        (
            secret.delivery(sample_event::user_updated("user_1")),
            "UserUpdated",
        ),
        (
            secret.delivery(sample_event::user_deleted("user_1")),
            "UserDeleted",
        ),
        (
            secret.delivery(sample_event::session_created("sess_1", "user_1")),
            "SessionCreated",
        ),
        (
            secret.delivery(sample_event::session_ended("sess_1", "user_1")),
            "SessionEnded",
        ),
        (
            secret.delivery(sample_event::session_removed("sess_1", "user_1")),
            "SessionRemoved",
        ),
        (
            secret.delivery(sample_event::session_revoked("sess_1", "user_1")),
            "SessionRevoked",
        ),
        (
            secret.delivery(sample_event::organization_created("org_1")),
            "OrganizationCreated",
        ),
        (
            secret.delivery(sample_event::organization_updated("org_1")),
            "OrganizationUpdated",
        ),
        (
            secret.delivery(sample_event::organization_deleted("org_1")),
            "OrganizationDeleted",
        ),
        (
            secret.delivery(sample_event::organization_membership_created(
                "org_1", "user_1",
            )),
            "OrganizationMembershipCreated",
        ),
        (
            secret.delivery(sample_event::organization_membership_updated(
                "org_1", "user_1",
            )),
            "OrganizationMembershipUpdated",
        ),
        (
            secret.delivery(sample_event::organization_membership_deleted(
                "org_1", "user_1",
            )),
            "OrganizationMembershipDeleted",
        ),
        (
            secret.delivery(sample_event::email_created("ema_1")),
            "EmailCreated",
        ),
        (
            secret.delivery(json!({"type": "sms.created", "data": {"id": "sms_1"}})),
            "Other",
        ),
        (
            secret.delivery(r#"{"type":"user.created","data":{"id":"user_raw"}}"#),
            "UserCreated",
        ),
    ]
}

/// The variant's name, from its `Debug`.
fn variant(event: &WebhookEvent) -> String {
    let debug = format!("{event:?}");
    debug
        .split(|c: char| !c.is_alphanumeric())
        .next()
        .unwrap_or_default()
        .to_owned()
}

#[test]
fn every_kit_delivery_is_accepted_with_its_typed_event() {
    let secret = TestWebhookSecret::generate();
    let verifier = secret.verifier();
    for (delivery, expected) in every_sample(&secret) {
        let event = decide(&verifier, &delivery)
            .unwrap_or_else(|e| panic!("{expected}: {e} ({delivery:?})"));
        assert_eq!(event.delivery_id(), delivery.delivery_id());
        assert_eq!(event.delivery_timestamp(), delivery.delivery_timestamp());
        let typed = event.typed().unwrap_or_else(|e| panic!("{expected}: {e}"));
        assert_eq!(variant(&typed), expected, "{}", event.event_type());
        // Clerk's envelope.
        if expected != "Other" && !event.data()["id"].as_str().unwrap().ends_with("raw") {
            assert_eq!(event.instance_id(), Some("ins_2test"));
            assert!(event.timestamp_ms().unwrap() > 1_700_000_000_000);
            let request = &event.event_attributes().unwrap()["http_request"];
            assert!(request["client_ip"].is_string() && request["user_agent"].is_string());
        }
    }

    // Every way of making a delivery stays genuine.
    let other = TestWebhookSecret::generate();
    let event = sample_event::user_created("user_1");
    let at = UNIX_EPOCH + Duration::from_secs(1_750_000_000);
    let genuine = [
        secret.delivery(&event).id("msg_custom"),
        secret.delivery(&event).sent_seconds_ago(299),
        secret.delivery(&event).sent_seconds_ago(-299),
        secret.delivery(&event).timestamp(SystemTime::now()),
        // Rotation: signed with both the old and the new secret.
        secret.delivery(&event).extra_signature(&other),
        other.delivery(&event).extra_signature(&secret),
        other.delivery(&event).signed_by(&secret),
        secret.delivery(&event).standard_header_names(),
        secret.delivery(event.to_json()),
        secret.delivery(b"{\"type\":\"user.created\"}"),
        secret.delivery(String::from("{\"type\":\"x\"}")),
        secret.delivery("{\"type\":\"x\",\"data\":{\"n\":\"caf\u{e9} \u{1F680}\"}}"),
    ];
    for delivery in &genuine {
        decide(&verifier, delivery).unwrap_or_else(|e| panic!("{e}: {delivery:?}"));
    }
    assert_eq!(
        decide(&verifier, &genuine[0]).unwrap().delivery_id(),
        "msg_custom"
    );
    // Exactly at the edges of the 5-minute window.
    for offset in [-300i64, 300] {
        let sent = UNIX_EPOCH + Duration::from_secs((1_750_000_000 + offset) as u64);
        let delivery = secret.delivery(&event).timestamp(sent);
        assert_eq!(delivery.delivery_timestamp(), 1_750_000_000 + offset);
        let checked = verifier.verify_at(&delivery.header_map(), &delivery.body(), at);
        assert!(checked.is_ok(), "{offset}: {checked:?}");
    }
    // The other secret's verifier takes the rotated deliveries too.
    for delivery in &genuine[4..6] {
        decide(&other.verifier(), delivery).expect("rotated");
    }
}

#[test]
fn secrets_are_clerk_shaped_and_given_ones_sign_as_the_verifier_decodes_them() {
    let a = TestWebhookSecret::generate();
    let b = TestWebhookSecret::generate();
    assert_ne!(a.secret(), b.secret());
    for s in [&a, &b] {
        let key = s.secret().strip_prefix("whsec_").expect("whsec_ prefix");
        assert_eq!(B64.decode(key).expect("base64").len(), 24);
        assert!(!format!("{s:?}").contains(key), "Debug shows the secret");
    }
    // The environment variable route: the app builds its own verifier from the text.
    let from_text = WebhookVerifier::new(a.secret()).expect("accepted");
    decide(&from_text, &a.delivery(sample_event::user_created("u"))).expect("accepted");

    // Given secrets, quirks of Clerk's decoding included.
    for given in [
        "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
        "MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
        "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw\n",
        "whsec_BwcHBwcHBwcHBwcHBwcHBwcHBwc=",
        "whsec_BwcHBwcHBwcHBwcHBwcHBwcHBwc",
        "whsec_AAB=",
        "whsec_AAAAA",
    ] {
        let secret = TestWebhookSecret::from_secret(given);
        assert_eq!(secret.secret(), given);
        let delivery = secret.delivery(sample_event::user_created("user_1"));
        decide(&WebhookVerifier::new(given).expect("accepted"), &delivery)
            .unwrap_or_else(|e| panic!("{given:?}: {e}"));
    }
    // The same key spelt two ways signs alike.
    let one = TestWebhookSecret::from_secret("whsec_BwcHBwcHBwcHBwcHBwcHBwcHBwc=");
    let two = TestWebhookSecret::from_secret("BwcHBwcHBwcHBwcHBwcHBwcHBwc");
    assert_eq!(
        one.signature("msg_1", 1, b"{}"),
        two.signature("msg_1", 1, b"{}")
    );
}

#[test]
#[should_panic(expected = "actix_clerk::testing: TestWebhookSecret::from_secret")]
fn a_secret_the_verifier_refuses_is_a_setup_failure() {
    let _ = TestWebhookSecret::from_secret("whsec_AA AA");
}

#[test]
#[should_panic(expected = "without_header(\"svix-sig\")")]
fn leaving_out_a_header_it_does_not_send_is_a_setup_failure() {
    let secret = TestWebhookSecret::generate();
    let _ = secret.delivery("{}").without_header("svix-sig").headers();
}

#[test]
fn a_delivery_carries_what_svix_sends() {
    let secret = TestWebhookSecret::generate();
    let delivery = secret.delivery(sample_event::user_created("user_1"));
    let headers = delivery.headers();
    let names: Vec<&str> = headers.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(
        names,
        [
            "svix-id",
            "svix-timestamp",
            "svix-signature",
            "content-type",
            "user-agent",
            "accept"
        ]
    );
    let value = |name: &str| {
        headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.clone())
            .unwrap()
    };
    let id = value("svix-id");
    assert!(id.starts_with("msg_") && id.len() == 31, "{id}");
    assert!(id[4..].chars().all(|c| c.is_ascii_alphanumeric()), "{id}");
    let now = support::now_secs();
    let ts: i64 = value("svix-timestamp").parse().expect("seconds");
    assert!((now - ts).abs() <= 2, "{ts} vs {now}");
    let signature = value("svix-signature");
    assert_eq!(signature, secret.signature(&id, ts, &delivery.body()));
    assert!(
        signature.starts_with("v1,") && signature.len() == 47,
        "{signature}"
    );
    assert_eq!(value("content-type"), "application/json");
    assert_eq!(value("user-agent"), SVIX_USER_AGENT);
    assert!(SVIX_USER_AGENT.starts_with("Svix-Webhooks/1."));
    assert_eq!(value("accept"), "*/*");
    // Fresh ids; reading a delivery twice gives the same request.
    assert_ne!(secret.delivery("{}").delivery_id(), id);
    assert_eq!(delivery.headers(), headers);
    // The body is the event, compact, in Clerk's member order.
    let body: Value = serde_json::from_slice(&delivery.body()).expect("JSON");
    let members: Vec<&str> = body
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    assert_eq!(
        members,
        [
            "data",
            "event_attributes",
            "instance_id",
            "object",
            "timestamp",
            "type"
        ]
    );
    assert_eq!(body["object"], "event");
    assert_eq!(body["type"], "user.created");
    assert!(!String::from_utf8(delivery.body()).unwrap().contains('\n'));

    // Standard Webhooks names instead, never both.
    let standard = delivery.clone().standard_header_names().headers();
    let names: Vec<&str> = standard.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(
        &names[..3],
        ["webhook-id", "webhook-timestamp", "webhook-signature"]
    );
    assert!(!names.iter().any(|n| n.starts_with("svix-")));
    // Rotation: one entry per secret, space-separated, the delivery's own first.
    let other = TestWebhookSecret::generate();
    let rotated = delivery.clone().extra_signature(&other);
    let entries: Vec<String> = rotated.headers()[2]
        .1
        .split(' ')
        .map(str::to_owned)
        .collect();
    assert_eq!(
        entries,
        [
            secret.signature(&id, ts, &delivery.body()),
            other.signature(&id, ts, &delivery.body())
        ]
    );
    // The actix request: a POST with the headers, the body and its length.
    let req = delivery.to_request("/webhooks/clerk").to_http_request();
    assert_eq!(req.method(), "POST");
    assert_eq!(req.path(), "/webhooks/clerk");
    for (name, value) in &headers {
        assert_eq!(req.headers().get(name).unwrap(), value.as_str(), "{name}");
    }
    assert_eq!(
        req.headers().get("content-length").unwrap(),
        delivery.body().len().to_string().as_str()
    );
}

#[test]
fn every_forgery_is_refused_with_its_reason() {
    let secret = TestWebhookSecret::generate();
    let other = TestWebhookSecret::generate();
    let verifier = secret.verifier();
    let event = sample_event::user_created("user_1");
    let missing = |names: &'static str| WebhookError::MissingHeaders(names);
    let cases: Vec<(&str, TestWebhookDelivery, WebhookError)> = vec![
        (
            "tampered body",
            secret.delivery(&event).tamper_body(),
            WebhookError::NoMatchingSignature,
        ),
        (
            "tampered body without letters",
            secret.delivery("[1]").tamper_body(),
            WebhookError::NoMatchingSignature,
        ),
        (
            "tampered signature",
            secret.delivery(&event).tamper_signature(),
            WebhookError::NoMatchingSignature,
        ),
        (
            "tampered rotated signatures",
            secret
                .delivery(&event)
                .extra_signature(&secret)
                .tamper_signature(),
            WebhookError::NoMatchingSignature,
        ),
        (
            "signed by another secret",
            secret.delivery(&event).signed_by(&other),
            WebhookError::NoMatchingSignature,
        ),
        (
            "made from another secret",
            other.delivery(&event),
            WebhookError::NoMatchingSignature,
        ),
        (
            "stale",
            secret.delivery(&event).sent_seconds_ago(600),
            WebhookError::TimestampTooOld,
        ),
        (
            "future",
            secret.delivery(&event).sent_seconds_ago(-600),
            WebhookError::TimestampTooNew,
        ),
        (
            "a day old",
            secret
                .delivery(&event)
                .timestamp(SystemTime::now() - Duration::from_secs(86_400)),
            WebhookError::TimestampTooOld,
        ),
        (
            "timestamp not a number",
            secret.delivery(&event).header("Svix-Timestamp", "soon"),
            WebhookError::InvalidTimestamp,
        ),
        (
            "no svix-id",
            secret.delivery(&event).without_header("svix-id"),
            missing("Missing required webhook headers: svix-id"),
        ),
        (
            "no svix-timestamp",
            secret.delivery(&event).without_header("SVIX-TIMESTAMP"),
            missing("Missing required webhook headers: svix-timestamp"),
        ),
        (
            "no svix-signature",
            secret.delivery(&event).without_header("svix-signature"),
            missing("Missing required webhook headers: svix-signature"),
        ),
        (
            "no signature headers at all",
            secret
                .delivery(&event)
                .without_header("svix-id")
                .without_header("svix-timestamp")
                .without_header("svix-signature"),
            missing("Missing required webhook headers: svix-id, svix-timestamp, svix-signature"),
        ),
        (
            "no webhook-signature",
            secret
                .delivery(&event)
                .standard_header_names()
                .without_header("webhook-signature"),
            missing("Missing required webhook headers: webhook-signature"),
        ),
        (
            "blank signature",
            secret.delivery(&event).header("svix-signature", " "),
            missing("Missing required webhook headers: svix-signature"),
        ),
        (
            // Signed over the bytes sent; the receiver signs the text (BOM dropped), as Clerk.
            "a body with a byte order mark",
            secret.delivery(b"\xEF\xBB\xBF{\"type\":\"x\"}".to_vec()),
            WebhookError::NoMatchingSignature,
        ),
        (
            "signed, but not a Clerk event",
            secret.delivery("not json"),
            WebhookError::InvalidPayload,
        ),
    ];
    for (name, delivery, expected) in &cases {
        assert_eq!(
            decide(&verifier, delivery).map(|e| e.event_type().to_owned()),
            Err(*expected),
            "{name}"
        );
    }
    // Tampering keeps a JSON body JSON, one byte apart.
    let (genuine, tampered) = (
        secret.delivery(&event).body(),
        secret.delivery(&event).tamper_body().body(),
    );
    assert_eq!(genuine.len(), tampered.len());
    assert_eq!(
        genuine
            .iter()
            .zip(&tampered)
            .filter(|(a, b)| a != b)
            .count(),
        1
    );
    serde_json::from_slice::<Value>(&tampered).expect("still JSON");
    // At the window's edges, one second past.
    let at = UNIX_EPOCH + Duration::from_secs(1_750_000_000);
    for (offset, expected) in [
        (-301i64, WebhookError::TimestampTooOld),
        (301, WebhookError::TimestampTooNew),
    ] {
        let sent = UNIX_EPOCH + Duration::from_secs((1_750_000_000 + offset) as u64);
        let d = secret.delivery(&event).timestamp(sent);
        assert_eq!(
            verifier
                .verify_at(&d.header_map(), &d.body(), at)
                .map(|_| ()),
            Err(expected)
        );
    }
    // A captured delivery sent again, to a verifier with replay protection.
    let protected = secret.verifier().replay_protection(10);
    let captured = secret.delivery(&event);
    assert!(decide(&protected, &captured).is_ok());
    assert_eq!(
        decide(&protected, &captured).map(|_| ()),
        Err(WebhookError::Replayed)
    );
    // Svix's retry of it: the same id, signed afresh a second later.
    let retry = secret
        .delivery(&event)
        .id(captured.delivery_id())
        .timestamp(UNIX_EPOCH + Duration::from_secs(captured.delivery_timestamp() as u64 + 1));
    assert!(decide(&protected, &retry).is_ok());
}

/// What the test app's handler answers: the variant and the fields a receiver would use.
async fn receiver(event: ClerkWebhook, runs: web::Data<AtomicUsize>) -> HttpResponse {
    runs.fetch_add(1, Ordering::SeqCst);
    let summary = match event.typed() {
        Ok(WebhookEvent::UserCreated(u)) => format!(
            "user {} <{}> {} {}",
            u.id,
            u.primary_email_address().unwrap_or("-"),
            u.first_name.as_deref().unwrap_or_default(),
            u.last_name.as_deref().unwrap_or_default()
        ),
        Ok(WebhookEvent::UserDeleted(d)) => format!("deleted {}", d.id.unwrap_or_default()),
        Ok(WebhookEvent::SessionRevoked(s)) => format!("revoked {} of {}", s.id, s.user_id),
        Ok(WebhookEvent::OrganizationMembershipCreated(m)) => format!(
            "member {} of {} as {}",
            m.public_user_data.user_id,
            m.organization.slug.unwrap_or_default(),
            m.role
        ),
        Ok(WebhookEvent::EmailCreated(e)) => format!(
            "email to {} code {}",
            e.to_email_address.unwrap_or_default(),
            e.data["otp_code"].as_str().unwrap_or("-")
        ),
        Ok(other) => format!("{other:?}"),
        Err(e) => format!("untyped: {e}"),
    };
    HttpResponse::Ok().body(format!("{} {summary}", event.delivery_id()))
}

#[actix_web::test]
async fn through_an_app_genuine_deliveries_reach_the_handler_and_forgeries_do_not() {
    let secret = TestWebhookSecret::generate();
    let runs = web::Data::new(AtomicUsize::new(0));
    let app = actix_test::init_service(
        App::new()
            .app_data(secret.verifier())
            .app_data(runs.clone())
            .route("/webhooks/clerk", web::post().to(receiver)),
    )
    .await;
    let genuine = [
        (
            secret
                .delivery(
                    sample_event::user_created("user_1")
                        .email("ada@example.com")
                        .name("Ada", "Lovelace"),
                )
                .id("msg_1"),
            "msg_1 user user_1 <ada@example.com> Ada Lovelace",
        ),
        (
            secret
                .delivery(sample_event::user_deleted("user_1"))
                .id("msg_2"),
            "msg_2 deleted user_1",
        ),
        (
            secret
                .delivery(sample_event::session_revoked("sess_9", "user_1"))
                .id("msg_3"),
            "msg_3 revoked sess_9 of user_1",
        ),
        (
            secret
                .delivery(
                    sample_event::organization_membership_created("org_1", "user_1")
                        .role("org:admin")
                        .org_slug("acme"),
                )
                .id("msg_4"),
            "msg_4 member user_1 of acme as org:admin",
        ),
        (
            secret
                .delivery(
                    sample_event::email_created("ema_1")
                        .to("ada@example.com")
                        .otp_code("424242"),
                )
                .id("msg_5"),
            "msg_5 email to ada@example.com code 424242",
        ),
    ];
    for (delivery, answer) in &genuine {
        let req = delivery.to_request("/webhooks/clerk").to_request();
        let res = actix_test::call_service(&app, req).await;
        assert_eq!(res.status(), 200, "{answer}");
        assert_eq!(actix_test::read_body(res).await, answer.as_bytes());
    }
    assert_eq!(runs.load(Ordering::SeqCst), genuine.len());

    let event = sample_event::user_created("user_1");
    let other = TestWebhookSecret::generate();
    let refused = [
        (
            secret.delivery(&event).tamper_body(),
            "no-matching-signature",
        ),
        (
            secret.delivery(&event).tamper_signature(),
            "no-matching-signature",
        ),
        (
            secret.delivery(&event).signed_by(&other),
            "no-matching-signature",
        ),
        (
            secret.delivery(&event).sent_seconds_ago(600),
            "timestamp-too-old",
        ),
        (
            secret.delivery(&event).sent_seconds_ago(-600),
            "timestamp-too-new",
        ),
        (
            secret.delivery(&event).header("svix-timestamp", "soon"),
            "invalid-timestamp",
        ),
        (
            secret.delivery(&event).without_header("svix-signature"),
            "missing-headers",
        ),
        (
            secret.delivery(&event).without_header("svix-id"),
            "missing-headers",
        ),
        (
            secret.delivery(&event).without_header("svix-timestamp"),
            "missing-headers",
        ),
    ];
    for (delivery, reason) in &refused {
        let req = delivery.to_request("/webhooks/clerk").to_request();
        let res = actix_test::call_service(&app, req).await;
        assert_eq!(res.status(), 400, "{reason}");
        assert_eq!(
            actix_test::read_body(res).await,
            format!(r#"{{"error":"invalid_webhook","reason":"{reason}"}}"#).as_bytes(),
            "{delivery:?}"
        );
    }
    assert_eq!(
        runs.load(Ordering::SeqCst),
        genuine.len(),
        "the handler ran for a refused delivery"
    );
}

#[test]
fn sample_events_have_clerks_fields_and_their_setters_land() {
    let secret = TestWebhookSecret::generate();
    let verifier = secret.verifier();
    let typed = |delivery: TestWebhookDelivery| {
        decide(&verifier, &delivery)
            .expect("accepted")
            .typed()
            .expect("typed")
    };

    let WebhookEvent::UserCreated(user) =
        typed(secret.delivery(sample_event::user_created("user_2abc")))
    else {
        panic!("user.created")
    };
    assert_eq!(user.id, "user_2abc");
    assert_eq!(user.primary_email_address_id.as_deref(), Some("idn_2abc"));
    assert_eq!(user.primary_email_address(), Some("user_2abc@example.com"));
    assert_eq!(
        user.email_addresses[0].verification.as_ref().unwrap()["status"],
        "verified"
    );
    assert_eq!(
        (user.first_name.as_deref(), user.last_name.as_deref()),
        (Some("Test"), Some("User"))
    );
    assert!(user.created_at.is_some() && user.created_at == user.updated_at);
    assert!(!user.banned && !user.locked && user.phone_numbers.is_empty());
    assert_eq!(user.public_metadata, json!({}));

    let WebhookEvent::UserUpdated(user) = typed(
        secret.delivery(
            sample_event::user_updated("user_1")
                .email("ada@example.com")
                .extra_email("ada@work.example")
                .phone("+15555550100")
                .name("Ada", "Lovelace")
                .username("ada")
                .external_id("ext_7")
                .image_url("https://img.example.com/ada.png")
                .public_metadata(json!({"tier": "gold"}))
                .private_metadata(json!({"stripe": "cus_1"}))
                .unsafe_metadata(json!({"theme": "dark"}))
                .banned()
                .locked()
                .last_sign_in_at(1_750_000_000_000)
                .data_field("totp_enabled", true),
        ),
    ) else {
        panic!("user.updated")
    };
    assert!(user.created_at < user.updated_at);
    assert_eq!(user.primary_email_address(), Some("ada@example.com"));
    assert_eq!(user.email_addresses.len(), 2);
    assert_eq!(user.email_addresses[1].email_address, "ada@work.example");
    assert_ne!(user.email_addresses[1].id, user.email_addresses[0].id);
    assert_eq!(user.phone_numbers[0].phone_number, "+15555550100");
    assert_eq!(
        user.primary_phone_number_id.as_deref(),
        Some(user.phone_numbers[0].id.as_str())
    );
    assert_eq!(user.username.as_deref(), Some("ada"));
    assert_eq!(user.external_id.as_deref(), Some("ext_7"));
    assert_eq!(
        user.image_url.as_deref(),
        Some("https://img.example.com/ada.png")
    );
    assert_eq!(user.public_metadata["tier"], "gold");
    assert_eq!(user.private_metadata["stripe"], "cus_1");
    assert_eq!(user.unsafe_metadata["theme"], "dark");
    assert!(user.banned && user.locked);
    assert_eq!(user.last_sign_in_at, Some(1_750_000_000_000));

    let WebhookEvent::UserCreated(user) =
        typed(secret.delivery(sample_event::user_created("user_1").without_email()))
    else {
        panic!("user.created")
    };
    assert_eq!(user.primary_email_address(), None);
    // An address set again after none.
    let WebhookEvent::UserCreated(user) = typed(
        secret.delivery(
            sample_event::user_created("user_1")
                .without_email()
                .email("back@example.com"),
        ),
    ) else {
        panic!("user.created")
    };
    assert_eq!(user.primary_email_address(), Some("back@example.com"));

    let WebhookEvent::UserDeleted(deleted) =
        typed(secret.delivery(sample_event::user_deleted("user_1").external_id("ext_7")))
    else {
        panic!("user.deleted")
    };
    assert_eq!(
        (
            deleted.object.as_str(),
            deleted.id.as_deref(),
            deleted.deleted
        ),
        ("user", Some("user_1"), true)
    );
    assert_eq!(deleted.external_id.as_deref(), Some("ext_7"));

    let WebhookEvent::SessionCreated(session) = typed(
        secret.delivery(
            sample_event::session_created("sess_1", "user_1")
                .org("org_1")
                .client_id("client_9")
                .actor("user_admin"),
        ),
    ) else {
        panic!("session.created")
    };
    assert_eq!(
        (session.id.as_str(), session.user_id.as_str()),
        ("sess_1", "user_1")
    );
    assert_eq!(session.status, "active");
    assert_eq!(
        session.last_active_organization_id.as_deref(),
        Some("org_1")
    );
    assert_eq!(session.client_id.as_deref(), Some("client_9"));
    assert_eq!(session.actor, Some(json!({"sub": "user_admin"})));
    assert!(session.expire_at > session.created_at && session.abandon_at > session.expire_at);
    assert_eq!(session.user.map(|u| u.id).as_deref(), Some("user_1"));
    for (delivery, status) in [
        (
            secret.delivery(sample_event::session_ended("sess_1", "user_1")),
            "ended",
        ),
        (
            secret.delivery(sample_event::session_removed("sess_1", "user_1")),
            "removed",
        ),
        (
            secret.delivery(
                sample_event::session_revoked("sess_1", "user_1")
                    .user(&sample_event::user_created("user_7").email("seven@example.com"))
                    .status("revoked"),
            ),
            "revoked",
        ),
    ] {
        let session = match typed(delivery) {
            WebhookEvent::SessionEnded(s)
            | WebhookEvent::SessionRemoved(s)
            | WebhookEvent::SessionRevoked(s) => s,
            other => panic!("{other:?}"),
        };
        assert_eq!(session.status, status);
        if status == "revoked" {
            assert_eq!(session.user_id, "user_7");
            assert_eq!(
                session.user.unwrap().primary_email_address(),
                Some("seven@example.com")
            );
        }
    }
    let WebhookEvent::SessionEnded(session) =
        typed(secret.delivery(sample_event::session_ended("sess_1", "user_1").without_user()))
    else {
        panic!("session.ended")
    };
    assert!(session.user.is_none());

    let WebhookEvent::OrganizationCreated(org) =
        typed(secret.delivery(sample_event::organization_created("org_2xyz")))
    else {
        panic!("organization.created")
    };
    assert_eq!(org.slug.as_deref(), Some("org-2xyz"));
    assert_eq!(org.members_count, Some(1));
    let WebhookEvent::OrganizationUpdated(org) = typed(
        secret.delivery(
            sample_event::organization_updated("org_1")
                .name("Acme")
                .slug("acme")
                .created_by("user_1")
                .members_count(3)
                .max_allowed_memberships(10)
                .image_url("https://img.example.com/acme.png")
                .public_metadata(json!({"plan": "pro"}))
                .private_metadata(json!({"crm": "c_1"})),
        ),
    ) else {
        panic!("organization.updated")
    };
    assert_eq!(
        (org.name.as_str(), org.slug.as_deref()),
        ("Acme", Some("acme"))
    );
    assert_eq!(org.created_by.as_deref(), Some("user_1"));
    assert_eq!(
        (org.members_count, org.max_allowed_memberships),
        (Some(3), Some(10))
    );
    assert_eq!(org.public_metadata["plan"], "pro");
    assert_eq!(org.private_metadata["crm"], "c_1");
    assert!(org.created_at < org.updated_at);
    let WebhookEvent::OrganizationDeleted(deleted) =
        typed(secret.delivery(sample_event::organization_deleted("org_1").slug("acme")))
    else {
        panic!("organization.deleted")
    };
    assert_eq!(
        (
            deleted.object.as_str(),
            deleted.slug.as_deref(),
            deleted.deleted
        ),
        ("organization", Some("acme"), true)
    );

    let WebhookEvent::OrganizationMembershipUpdated(m) = typed(
        secret.delivery(
            sample_event::organization_membership_updated("org_1", "user_1")
                .role("org:admin")
                .permissions(["org:sys_memberships:manage", "org:invoices:create"])
                .org_name("Acme")
                .org_slug("acme")
                .identifier("ada@example.com")
                .member_name("Ada", "Lovelace")
                .public_metadata(json!({"team": "core"})),
        ),
    ) else {
        panic!("organizationMembership.updated")
    };
    assert_eq!(m.role, "org:admin");
    assert_eq!(
        m.permissions,
        ["org:sys_memberships:manage", "org:invoices:create"]
    );
    assert_eq!(m.organization.id, "org_1");
    assert_eq!(
        (m.organization.name.as_str(), m.organization.slug.as_deref()),
        ("Acme", Some("acme"))
    );
    assert_eq!(m.public_user_data.user_id, "user_1");
    assert_eq!(m.public_user_data.identifier, "ada@example.com");
    assert_eq!(m.public_user_data.first_name.as_deref(), Some("Ada"));
    assert_eq!(m.public_metadata["team"], "core");
    let WebhookEvent::OrganizationMembershipDeleted(m) = typed(
        secret.delivery(
            sample_event::organization_membership_deleted("org_1", "user_1")
                .organization(&sample_event::organization_created("org_5").slug("five")),
        ),
    ) else {
        panic!("organizationMembership.deleted")
    };
    assert_eq!(m.role, "org:member");
    assert_eq!(m.permissions, ["org:sys_memberships:read"]);
    assert_eq!(
        (m.organization.id.as_str(), m.organization.slug.as_deref()),
        ("org_5", Some("five"))
    );

    let WebhookEvent::EmailCreated(email) = typed(
        secret.delivery(
            sample_event::email_created("ema_1")
                .to("ada@example.com")
                .recipient_ids("user_1", "idn_1")
                .otp_code("424242")
                .slug("verification_code")
                .delivered_by_clerk(true)
                .status("delivered"),
        ),
    ) else {
        panic!("email.created")
    };
    assert_eq!(email.to_email_address.as_deref(), Some("ada@example.com"));
    assert_eq!(
        (email.user_id.as_deref(), email.email_address_id.as_deref()),
        (Some("user_1"), Some("idn_1"))
    );
    assert_eq!(email.data["otp_code"], "424242");
    assert!(email.subject.unwrap().contains("424242"));
    assert!(email.body_plain.unwrap().contains("424242"));
    assert!(email.delivered_by_clerk);
    assert_eq!(email.status.as_deref(), Some("delivered"));
    let WebhookEvent::EmailCreated(email) = typed(
        secret.delivery(
            sample_event::email_created("ema_2")
                .slug("magic_link_sign_in")
                .subject("Sign in")
                .bodies("<a href=\"https://x\">x</a>", "https://x"),
        ),
    ) else {
        panic!("email.created")
    };
    assert_eq!(email.slug.as_deref(), Some("magic_link_sign_in"));
    assert_eq!(email.subject.as_deref(), Some("Sign in"));
    assert_eq!(email.body_plain.as_deref(), Some("https://x"));

    // The envelope setters.
    let delivery = secret.delivery(
        sample_event::user_created("user_1")
            .instance_id("ins_other")
            .timestamp_ms(1_750_000_000_123)
            .http_request("198.51.100.1", "curl/8"),
    );
    let event = decide(&verifier, &delivery).expect("accepted");
    assert_eq!(event.instance_id(), Some("ins_other"));
    assert_eq!(event.timestamp_ms(), Some(1_750_000_000_123));
    assert_eq!(
        event.event_attributes(),
        Some(&json!({"http_request": {"client_ip": "198.51.100.1", "user_agent": "curl/8"}}))
    );
}

/// `verifyWebhook` of `@clerk/backend` accepts the kit's deliveries, and `standardwebhooks`'
/// `Webhook.sign` signs as the kit does.
#[test]
fn clerks_sdk_accepts_the_kits_deliveries() {
    let secret = TestWebhookSecret::generate();
    let other = TestWebhookSecret::generate();
    let now = support::now_secs();
    let sent = UNIX_EPOCH + Duration::from_secs(now as u64);
    let deliveries: Vec<(String, TestWebhookDelivery)> = every_sample(&secret)
        .into_iter()
        .map(|(d, variant)| (variant.to_owned(), d))
        .chain([
            (
                "rotated".to_owned(),
                other
                    .delivery(sample_event::user_created("user_1"))
                    .extra_signature(&secret),
            ),
            (
                "unicode".to_owned(),
                secret.delivery(sample_event::user_created("user_1").name("Zoë", "Ångström 🚀")),
            ),
        ])
        .enumerate()
        .map(|(i, (name, d))| (format!("{i}-{name}"), d.timestamp(sent)))
        .collect();
    let input = json!({
        "now": now,
        "cases": deliveries.iter().map(|(id, d)| json!({
            "id": id,
            "secret": secret.secret(),
            "headers": d.headers().iter().map(|(n, v)| json!([n, B64.encode(v)])).collect::<Vec<_>>(),
            "body": B64.encode(d.body()),
        })).collect::<Vec<_>>(),
        "signings": deliveries.iter().map(|(_, d)| json!({
            "secret": secret.secret(),
            "id": d.delivery_id(),
            "timestamp": d.delivery_timestamp(),
            "body": String::from_utf8(d.body()).expect("UTF-8"),
        })).collect::<Vec<_>>(),
        "secrets": [],
    });
    let answers = support::run_oracle("webhook-oracle.mjs", &input);
    assert_eq!(answers["versions"]["standardwebhooks"], "1.1.1");
    for (i, (id, d)) in deliveries.iter().enumerate() {
        let answer = &answers["cases"][id]["clerk"];
        assert_eq!(answer["ok"], true, "{id}: {answer}");
        let theirs: Value =
            serde_json::from_str(answer["event"].as_str().expect("event")).expect("JSON");
        let sent: Value = serde_json::from_slice(&d.body()).expect("JSON");
        assert_eq!(theirs["type"], sent["type"], "{id}");
        assert_eq!(theirs["data"], sent["data"], "{id}");
        assert_eq!(
            answers["signatures"][i],
            json!(secret.signature(d.delivery_id(), d.delivery_timestamp(), &d.body())),
            "{id}: standardwebhooks signs differently"
        );
    }
}
