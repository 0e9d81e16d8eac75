//! [`TestWebhookSecret`] and [`TestWebhookDelivery`]: Clerk webhook deliveries signed as Svix
//! signs them; [`sample_event`]: Clerk-shaped events to deliver.

use std::fmt;
use std::marker::PhantomData;
use std::time::{SystemTime, UNIX_EPOCH};

use actix_web::http::header::{HeaderMap, HeaderName, HeaderValue};
use actix_web::test::TestRequest;
use aws_lc_rs::hmac;
use base64::Engine as _;
use serde_json::{json, Value};

use crate::WebhookVerifier;

/// The `User-Agent` of the kit's deliveries: the shape of Svix's
/// (`Svix-Webhooks/<version> (sender-<tag>; +https://www.svix.com/http-sender/)`); the version
/// and the sender tag are the kit's own.
pub const SVIX_USER_AGENT: &str =
    "Svix-Webhooks/1.84.0 (sender-actix-clerk; +https://www.svix.com/http-sender/)";

const B64: base64::engine::GeneralPurpose = base64::engine::general_purpose::STANDARD;

/// A Clerk webhook endpoint's signing secret for tests (`whsec_` then base64), the
/// [`WebhookVerifier`] that trusts it, and deliveries signed with it as Svix signs Clerk's.
///
/// Give [`secret`](Self::secret) to the application as it would get the Dashboard's secret
/// (`CLERK_WEBHOOK_SIGNING_SECRET`, [`WebhookVerifier::new`]), or put
/// [`verifier`](Self::verifier) in the test app's data; then send it
/// [`delivery`](Self::delivery)s: genuine ones, and ones tampered with, stale, signed with
/// another secret or missing a header.
///
/// A complete webhook-receiver test:
///
/// ```
/// use actix_clerk::testing::{sample_event, TestWebhookSecret};
/// use actix_clerk::{ClerkWebhook, WebhookEvent};
/// use actix_web::{http::StatusCode, test, web, App};
///
/// async fn clerk_webhook(event: ClerkWebhook) -> String {
///     match event.typed() {
///         Ok(WebhookEvent::UserCreated(user)) => format!("welcome {}", user.id),
///         _ => "ignored".to_owned(),
///     }
/// }
///
/// # #[actix_web::main]
/// # async fn main() {
/// let secret = TestWebhookSecret::generate();
/// let app = test::init_service(
///     App::new()
///         .app_data(secret.verifier())
///         .route("/webhooks/clerk", web::post().to(clerk_webhook)),
/// )
/// .await;
///
/// let delivery = secret.delivery(sample_event::user_created("user_1").email("ada@example.com"));
/// let req = delivery.to_request("/webhooks/clerk").to_request();
/// assert_eq!(test::call_and_read_body(&app, req).await, "welcome user_1");
///
/// let forged = delivery.tamper_body().to_request("/webhooks/clerk").to_request();
/// assert_eq!(test::call_service(&app, forged).await.status(), StatusCode::BAD_REQUEST);
/// # }
/// ```
///
/// `Debug` does not show the secret.
#[derive(Clone)]
#[must_use]
pub struct TestWebhookSecret {
    secret: String,
    key: Vec<u8>,
}

impl fmt::Debug for TestWebhookSecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TestWebhookSecret")
            .field("secret", &"whsec_[redacted]")
            .finish()
    }
}

impl TestWebhookSecret {
    /// A fresh random secret shaped as the Clerk Dashboard's: `whsec_` and the base64 of 24
    /// random bytes (32 characters).
    pub fn generate() -> TestWebhookSecret {
        let mut key = vec![0u8; 24];
        aws_lc_rs::rand::fill(&mut key).expect("actix_clerk::testing: system randomness");
        TestWebhookSecret {
            secret: format!("whsec_{}", B64.encode(&key)),
            key,
        }
    }

    /// A known secret (`whsec_…`, or the base64 alone), e.g. the one a test sets in
    /// `CLERK_WEBHOOK_SIGNING_SECRET`. Its key is decoded exactly as [`WebhookVerifier::new`]
    /// decodes it.
    ///
    /// # Panics
    /// When [`WebhookVerifier::new`] refuses it (empty, not base64).
    pub fn from_secret(secret: &str) -> TestWebhookSecret {
        if let Err(e) = WebhookVerifier::new(secret) {
            panic!("actix_clerk::testing: TestWebhookSecret::from_secret: {e}");
        }
        let key = decode_secret(secret)
            .expect("actix_clerk::testing: a secret WebhookVerifier accepts decodes");
        TestWebhookSecret {
            secret: secret.to_owned(),
            key,
        }
    }

    /// The secret's text (`whsec_…`): what [`WebhookVerifier::new`] or
    /// `CLERK_WEBHOOK_SIGNING_SECRET` takes.
    pub fn secret(&self) -> &str {
        &self.secret
    }

    /// A [`WebhookVerifier`] for this secret (replay protection off, default body limit), for
    /// the test app's data (`App::app_data(secret.verifier())`).
    pub fn verifier(&self) -> WebhookVerifier {
        WebhookVerifier::new(&self.secret)
            .expect("actix_clerk::testing: the verifier of a checked secret")
    }

    /// A delivery of `event`, signed with this secret now, with a fresh `svix-id`: a
    /// [`SampleEvent`] or a [`serde_json::Value`] (sent compact), or the exact body as text or
    /// bytes (`&str`, `String`, `&[u8]`, `Vec<u8>`: sent as is, JSON or not).
    ///
    /// The signature covers the bytes sent. The verifier, as Clerk's, checks it over the body
    /// decoded as text (a leading byte order mark dropped, invalid UTF-8 replaced), so a body
    /// that is not clean UTF-8 is refused: Svix never sends one.
    pub fn delivery(&self, event: impl IntoWebhookBody) -> TestWebhookDelivery {
        TestWebhookDelivery {
            secret: self.clone(),
            extra: Vec::new(),
            body: event.into_webhook_body(),
            id: message_id(),
            timestamp: now_secs(),
            tamper_body: false,
            tamper_signature: false,
            standard_names: false,
            set: Vec::new(),
            without: Vec::new(),
        }
    }

    /// The `v1,<base64>` signature entry of a delivery with this id, timestamp (seconds) and
    /// body: base64 of HMAC-SHA256, keyed with the secret's decoded key, of
    /// `"{id}.{timestamp}.{body}"` (the body's bytes exactly as given), as Svix signs.
    pub fn signature(&self, id: &str, timestamp: i64, body: &[u8]) -> String {
        format!("v1,{}", B64.encode(self.tag(id, timestamp, body)))
    }

    fn tag(&self, id: &str, timestamp: i64, body: &[u8]) -> Vec<u8> {
        let key = hmac::Key::new(hmac::HMAC_SHA256, &self.key);
        let mut ctx = hmac::Context::with_key(&key);
        ctx.update(id.as_bytes());
        ctx.update(b".");
        ctx.update(timestamp.to_string().as_bytes());
        ctx.update(b".");
        ctx.update(body);
        ctx.sign().as_ref().to_vec()
    }
}

/// Decodes a signing secret as [`WebhookVerifier::new`] does (the verifier's own decoder), so
/// that the kit signs with the key the verifier checks with, quirks included.
fn decode_secret(secret: &str) -> Option<Vec<u8>> {
    crate::webhook::decode_secret(secret)
}

/// What [`TestWebhookSecret::delivery`] takes as the event: turned into the body's bytes.
///
/// A [`SampleEvent`] or a [`serde_json::Value`] is serialised compact (members in their
/// order); text and bytes are the body exactly as given (so `r#"{"type":"user.created"}"#`
/// is that JSON, and `"not json"` is a body that is not JSON).
pub trait IntoWebhookBody {
    /// The body's bytes.
    fn into_webhook_body(self) -> Vec<u8>;
}

impl IntoWebhookBody for Value {
    fn into_webhook_body(self) -> Vec<u8> {
        (&self).into_webhook_body()
    }
}

impl IntoWebhookBody for &Value {
    fn into_webhook_body(self) -> Vec<u8> {
        serde_json::to_vec(self).expect("actix_clerk::testing: a JSON value serialises")
    }
}

impl<K> IntoWebhookBody for SampleEvent<K> {
    fn into_webhook_body(self) -> Vec<u8> {
        (&self).into_webhook_body()
    }
}

impl<K> IntoWebhookBody for &SampleEvent<K> {
    fn into_webhook_body(self) -> Vec<u8> {
        self.to_json().into_webhook_body()
    }
}

impl IntoWebhookBody for &str {
    fn into_webhook_body(self) -> Vec<u8> {
        self.as_bytes().to_vec()
    }
}

impl IntoWebhookBody for String {
    fn into_webhook_body(self) -> Vec<u8> {
        self.into_bytes()
    }
}

impl IntoWebhookBody for &String {
    fn into_webhook_body(self) -> Vec<u8> {
        self.as_bytes().to_vec()
    }
}

impl IntoWebhookBody for &[u8] {
    fn into_webhook_body(self) -> Vec<u8> {
        self.to_vec()
    }
}

impl<const N: usize> IntoWebhookBody for &[u8; N] {
    fn into_webhook_body(self) -> Vec<u8> {
        self.to_vec()
    }
}

impl IntoWebhookBody for Vec<u8> {
    fn into_webhook_body(self) -> Vec<u8> {
        self
    }
}

impl IntoWebhookBody for &Vec<u8> {
    fn into_webhook_body(self) -> Vec<u8> {
        self.clone()
    }
}

/// One webhook delivery, as Svix makes Clerk's: a `POST` with the event as its JSON body and
/// these headers, in this order:
///
/// | header | value |
/// |---|---|
/// | `svix-id` | the message id: a fresh `msg_…` (27 base62 characters, as Svix's), or [`id`](Self::id) |
/// | `svix-timestamp` | seconds since the epoch: when [`delivery`](TestWebhookSecret::delivery) was called, or [`timestamp`](Self::timestamp) |
/// | `svix-signature` | `v1,<base64>`, one space-separated entry per signing secret |
/// | `content-type` | `application/json` |
/// | `user-agent` | [`SVIX_USER_AGENT`] (Svix's shape; version and sender tag are the kit's) |
/// | `accept` | `*/*` |
///
/// Svix sends `svix-*` *or*, for white-labelled senders, `webhook-id`, `webhook-timestamp`,
/// `webhook-signature` ([`standard_header_names`](Self::standard_header_names)), never both;
/// Clerk's deliveries carry `svix-*`. `Content-Length` is left to the HTTP client
/// ([`to_request`](Self::to_request) sets it). Svix's other headers are not sent (none
/// matters to a receiver).
///
/// The signature is computed when the headers are read, over the body as signed: changing
/// the id, the time or the secrets keeps the delivery genuine; only the `tamper_*` methods,
/// [`signed_by`](Self::signed_by), [`header`](Self::header) and
/// [`without_header`](Self::without_header) make it one that
/// [`WebhookVerifier`] refuses. Reading it twice gives the same request (a replay).
#[derive(Clone)]
#[must_use]
pub struct TestWebhookDelivery {
    secret: TestWebhookSecret,
    extra: Vec<TestWebhookSecret>,
    body: Vec<u8>,
    id: String,
    timestamp: i64,
    tamper_body: bool,
    tamper_signature: bool,
    standard_names: bool,
    set: Vec<(String, String)>,
    without: Vec<String>,
}

impl fmt::Debug for TestWebhookDelivery {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TestWebhookDelivery")
            .field("id", &self.id)
            .field("timestamp", &self.timestamp)
            .field("body", &String::from_utf8_lossy(&self.body))
            .field("extra_signatures", &self.extra.len())
            .field("tamper_body", &self.tamper_body)
            .field("tamper_signature", &self.tamper_signature)
            .field("standard_header_names", &self.standard_names)
            .field("set", &self.set)
            .field("without", &self.without)
            .finish()
    }
}

impl TestWebhookDelivery {
    /// Sets the message id (`svix-id`). Svix keeps it across the retries of one message, with
    /// a fresh timestamp and signature each time: `secret.delivery(e).id("msg_1")` twice is a
    /// message and its retry.
    pub fn id(mut self, id: impl Into<String>) -> Self {
        self.id = id.into();
        self
    }

    /// Sets the time it was sent (`svix-timestamp`, in whole seconds): the verifier accepts it
    /// within 5 minutes of its clock, either side.
    pub fn timestamp(mut self, sent: SystemTime) -> Self {
        self.timestamp = unix_secs(sent);
        self
    }

    /// Sent `seconds` ago by the current clock (negative: in the future).
    /// `sent_seconds_ago(600)` is refused as too old, `sent_seconds_ago(-600)` as too new.
    pub fn sent_seconds_ago(mut self, seconds: i64) -> Self {
        self.timestamp = now_secs().saturating_sub(seconds);
        self
    }

    /// Sends a body that differs from the body signed by one byte: the last ASCII letter's
    /// case is flipped (a JSON body stays JSON, one value or name altered), or, in a body
    /// without letters, a space is added. Refused as
    /// [`NoMatchingSignature`](crate::WebhookError::NoMatchingSignature).
    pub fn tamper_body(mut self) -> Self {
        self.tamper_body = true;
        self
    }

    /// Alters every signature entry (one bit of each HMAC flipped; still `v1,` and 44
    /// base64 characters). Refused as
    /// [`NoMatchingSignature`](crate::WebhookError::NoMatchingSignature).
    pub fn tamper_signature(mut self) -> Self {
        self.tamper_signature = true;
        self
    }

    /// Signs with `other` instead of the secret the delivery was made from (a forgery, or a
    /// message for another endpoint).
    pub fn signed_by(mut self, other: &TestWebhookSecret) -> Self {
        self.secret = other.clone();
        self
    }

    /// Adds a signature entry made with `other`, after the others (space-separated), as Svix
    /// signs with both the old and the new secret while an endpoint's secret is rotated: a
    /// verifier with either secret accepts the delivery.
    pub fn extra_signature(mut self, other: &TestWebhookSecret) -> Self {
        self.extra.push(other.clone());
        self
    }

    /// Names the three headers `webhook-id`, `webhook-timestamp`, `webhook-signature`
    /// (Standard Webhooks; Svix's white-labelled senders) instead of `svix-*`. The crate's
    /// verifier reads them when no `svix-*` header has a value (Clerk's SDK does not).
    pub fn standard_header_names(mut self) -> Self {
        self.standard_names = true;
        self
    }

    /// Sends `value` as header `name`: replaces the kit's header of that name (any case),
    /// or is added after them. E.g. `header("svix-timestamp", "soon")`.
    pub fn header(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        let name = name.into();
        self.set.retain(|(n, _)| !n.eq_ignore_ascii_case(&name));
        self.set.push((name, value.into()));
        self
    }

    /// Leaves header `name` out (any case; call it again for another). Without one of the
    /// three signature headers a delivery is refused as
    /// [`MissingHeaders`](crate::WebhookError::MissingHeaders), which names the missing ones.
    /// Leaving out all three `svix-*` headers is refused the same way (nothing else is sent
    /// under the `webhook-*` names).
    ///
    /// # Panics
    /// When the headers are read, if the delivery sends no header `name` (a typo would
    /// otherwise test nothing).
    pub fn without_header(mut self, name: impl Into<String>) -> Self {
        self.without.push(name.into());
        self
    }

    /// The `svix-id` it carries.
    pub fn delivery_id(&self) -> &str {
        &self.id
    }

    /// The `svix-timestamp` it carries, in seconds since the epoch.
    pub fn delivery_timestamp(&self) -> i64 {
        self.timestamp
    }

    /// The body sent (tampered with, if asked).
    pub fn body(&self) -> Vec<u8> {
        let mut body = self.body.clone();
        if self.tamper_body {
            match body.iter().rposition(u8::is_ascii_alphabetic) {
                Some(at) => body[at] ^= 0x20,
                None => body.push(b' '),
            }
        }
        body
    }

    /// The `svix-signature` value: one `v1,<base64>` entry per signing secret.
    fn signatures(&self) -> String {
        std::iter::once(&self.secret)
            .chain(&self.extra)
            .map(|secret| {
                let mut tag = secret.tag(&self.id, self.timestamp, &self.body);
                if self.tamper_signature {
                    tag[0] ^= 0x01;
                }
                format!("v1,{}", B64.encode(tag))
            })
            .collect::<Vec<_>>()
            .join(" ")
    }

    /// Every header it carries, in order (see [`TestWebhookDelivery`]), as names and values.
    ///
    /// # Panics
    /// If a [`without_header`](Self::without_header) names a header it does not send.
    pub fn headers(&self) -> Vec<(String, String)> {
        let [id, timestamp, signature] = if self.standard_names {
            ["webhook-id", "webhook-timestamp", "webhook-signature"]
        } else {
            ["svix-id", "svix-timestamp", "svix-signature"]
        };
        let mut headers: Vec<(String, String)> = vec![
            (id.to_owned(), self.id.clone()),
            (timestamp.to_owned(), self.timestamp.to_string()),
            (signature.to_owned(), self.signatures()),
            ("content-type".to_owned(), "application/json".to_owned()),
            ("user-agent".to_owned(), SVIX_USER_AGENT.to_owned()),
            ("accept".to_owned(), "*/*".to_owned()),
        ];
        for (name, value) in &self.set {
            match headers
                .iter_mut()
                .find(|(n, _)| n.eq_ignore_ascii_case(name))
            {
                Some(header) => header.1.clone_from(value),
                None => headers.push((name.clone(), value.clone())),
            }
        }
        for name in &self.without {
            let before = headers.len();
            headers.retain(|(n, _)| !n.eq_ignore_ascii_case(name));
            if headers.len() == before {
                panic!(
                    "actix_clerk::testing: without_header({name:?}): the delivery sends no such header"
                );
            }
        }
        headers
    }

    /// The headers as a [`HeaderMap`], for [`WebhookVerifier::verify`] and
    /// [`verify_at`](WebhookVerifier::verify_at).
    ///
    /// # Panics
    /// As [`headers`](Self::headers); and for a [`header`](Self::header) that is not a valid
    /// header name or value.
    pub fn header_map(&self) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (name, value) in self.headers() {
            map.append(
                HeaderName::from_bytes(name.as_bytes())
                    .expect("actix_clerk::testing: a webhook header name"),
                HeaderValue::from_str(&value)
                    .expect("actix_clerk::testing: a webhook header value"),
            );
        }
        map
    }

    /// A `POST` to `uri` carrying it (its headers, its body and a `Content-Length`), for
    /// `actix_web::test::call_service(&app, delivery.to_request("/webhooks").to_request())`.
    ///
    /// # Panics
    /// As [`header_map`](Self::header_map).
    pub fn to_request(&self, uri: &str) -> TestRequest {
        let mut req = TestRequest::post().uri(uri);
        for (name, value) in self.header_map() {
            req = req.append_header((name, value));
        }
        req.set_payload(self.body())
    }
}

/// Seconds since the epoch, floored (as the verifier counts them).
fn unix_secs(t: SystemTime) -> i64 {
    match t.duration_since(UNIX_EPOCH) {
        Ok(d) => i64::try_from(d.as_secs()).unwrap_or(i64::MAX),
        Err(e) => {
            let d = e.duration();
            let secs = i64::try_from(d.as_secs()).unwrap_or(i64::MAX);
            -secs - i64::from(d.subsec_nanos() > 0)
        }
    }
}

fn now_secs() -> i64 {
    unix_secs(SystemTime::now())
}

/// `n` random base62 characters.
fn random_base62(n: usize) -> String {
    const ALPHABET: &[u8] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
    let mut bytes = vec![0u8; n];
    aws_lc_rs::rand::fill(&mut bytes).expect("actix_clerk::testing: system randomness");
    bytes
        .iter()
        .map(|b| char::from(ALPHABET[usize::from(*b) % ALPHABET.len()]))
        .collect()
}

/// A fresh message id shaped as Svix's: `msg_` and 27 base62 characters.
fn message_id() -> String {
    format!("msg_2{}", random_base62(26))
}

/// A Clerk webhook event to deliver ([`TestWebhookSecret::delivery`]), shaped as Clerk sends
/// it:
///
/// ```json
/// {"data": {…}, "event_attributes": {"http_request": {"client_ip": "…", "user_agent": "…"}},
///  "instance_id": "ins_…", "object": "event", "timestamp": 1750000000123, "type": "user.created"}
/// ```
///
/// Made by the functions of [`sample_event`], one per event type that
/// [`WebhookEvent`](crate::WebhookEvent) has a variant for; `K` ([`sample_event::User`], …)
/// says which data it holds and so which setters apply. The data follows `@clerk/backend`'s
/// JSON types, with realistic values derived from the ids given (`user_1` has the primary
/// address `user_1@example.com` of id `idn_1`), and the event's `timestamp` and the data's
/// `created_at`/`updated_at` are the time it was made, in milliseconds. Every event the
/// functions make deserialises through [`ClerkWebhook::typed`](crate::ClerkWebhook::typed)
/// into its variant.
///
/// ```
/// use actix_clerk::testing::sample_event;
///
/// let event = sample_event::organization_membership_created("org_1", "user_1")
///     .role("org:admin")
///     .org_slug("acme");
/// assert_eq!(event.event_type(), "organizationMembership.created");
/// assert_eq!(event.to_json()["data"]["organization"]["slug"], "acme");
/// ```
#[must_use]
pub struct SampleEvent<K> {
    event_type: String,
    data: Value,
    instance_id: String,
    timestamp_ms: i64,
    client_ip: String,
    user_agent: String,
    kind: PhantomData<fn() -> K>,
}

impl<K> Clone for SampleEvent<K> {
    fn clone(&self) -> Self {
        SampleEvent {
            event_type: self.event_type.clone(),
            data: self.data.clone(),
            instance_id: self.instance_id.clone(),
            timestamp_ms: self.timestamp_ms,
            client_ip: self.client_ip.clone(),
            user_agent: self.user_agent.clone(),
            kind: PhantomData,
        }
    }
}

impl<K> fmt::Debug for SampleEvent<K> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SampleEvent")
            .field("type", &self.event_type)
            .field("data", &self.data)
            .finish_non_exhaustive()
    }
}

impl<K> SampleEvent<K> {
    fn new(event_type: &str, data: Value, timestamp_ms: i64) -> Self {
        SampleEvent {
            event_type: event_type.to_owned(),
            data,
            instance_id: "ins_2test".to_owned(),
            timestamp_ms,
            client_ip: "203.0.113.7".to_owned(),
            user_agent: "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0"
                .to_owned(),
            kind: PhantomData,
        }
    }

    /// Its `type` (`user.created`, …).
    pub fn event_type(&self) -> &str {
        &self.event_type
    }

    /// Its `data`.
    pub fn data(&self) -> &Value {
        &self.data
    }

    /// The whole event, as Clerk sends it.
    pub fn to_json(&self) -> Value {
        json!({
            "data": self.data,
            "event_attributes": {
                "http_request": {"client_ip": self.client_ip, "user_agent": self.user_agent},
            },
            "instance_id": self.instance_id,
            "object": "event",
            "timestamp": self.timestamp_ms,
            "type": self.event_type,
        })
    }

    /// Sets `instance_id` (default `ins_2test`).
    pub fn instance_id(mut self, instance_id: impl Into<String>) -> Self {
        self.instance_id = instance_id.into();
        self
    }

    /// Sets the event's `timestamp`, in milliseconds since the epoch (default: when it was
    /// made).
    pub fn timestamp_ms(mut self, timestamp_ms: i64) -> Self {
        self.timestamp_ms = timestamp_ms;
        self
    }

    /// Sets `event_attributes.http_request`: the client IP and user agent of the request that
    /// caused the event (default `203.0.113.7` and a Firefox user agent).
    pub fn http_request(
        mut self,
        client_ip: impl Into<String>,
        user_agent: impl Into<String>,
    ) -> Self {
        self.client_ip = client_ip.into();
        self.user_agent = user_agent.into();
        self
    }

    /// Sets member `name` of `data` to `value` (added if absent; `null` allowed): any field
    /// the setters do not cover, or a shape Clerk might send.
    pub fn data_field(mut self, name: &str, value: impl Into<Value>) -> Self {
        self.data[name] = value.into();
        self
    }

    fn set(mut self, name: &str, value: impl Into<Value>) -> Self {
        self.data[name] = value.into();
        self
    }
}

/// Milliseconds since the epoch.
fn now_ms() -> i64 {
    match SystemTime::now().duration_since(UNIX_EPOCH) {
        Ok(d) => i64::try_from(d.as_millis()).unwrap_or(i64::MAX),
        Err(_) => 0,
    }
}

/// What follows the prefix of a Clerk id (`user_2abc` → `2abc`), or the whole id.
fn suffix(id: &str) -> &str {
    id.split_once('_').map_or(id, |(_, rest)| rest)
}

/// A slug for an id: lowercase letters, digits and `-`.
fn slug_of(id: &str) -> String {
    let slug: String = suffix(id)
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() {
                c.to_ascii_lowercase()
            } else {
                '-'
            }
        })
        .collect();
    format!("org-{slug}")
}

/// Clerk's default avatar URL (base64 of `{"type":"default"}`).
const DEFAULT_IMAGE: &str = "https://img.clerk.com/eyJ0eXBlIjoiZGVmYXVsdCJ9";

fn email_address_json(id: &str, address: &str, ts: i64) -> Value {
    json!({
        "created_at": ts,
        "email_address": address,
        "id": id,
        "linked_to": [],
        "matches_sso_connection": false,
        "object": "email_address",
        "reserved": false,
        "updated_at": ts,
        "verification": {
            "attempts": 1,
            "expire_at": ts + 600_000,
            "status": "verified",
            "strategy": "email_code",
        },
    })
}

fn user_json(user_id: &str, created: i64, updated: i64) -> Value {
    let email_id = format!("idn_{}", suffix(user_id));
    json!({
        "backup_code_enabled": false,
        "banned": false,
        "create_organization_enabled": true,
        "create_organizations_limit": null,
        "created_at": created,
        "delete_self_enabled": true,
        "email_addresses": [email_address_json(&email_id, &format!("{user_id}@example.com"), created)],
        "enterprise_accounts": [],
        "external_accounts": [],
        "external_id": null,
        "first_name": "Test",
        "has_image": false,
        "id": user_id,
        "image_url": DEFAULT_IMAGE,
        "last_active_at": updated,
        "last_name": "User",
        "last_sign_in_at": null,
        "legal_accepted_at": null,
        "locale": null,
        "locked": false,
        "lockout_expires_in_seconds": null,
        "mfa_disabled_at": null,
        "mfa_enabled_at": null,
        "object": "user",
        "password_enabled": true,
        "password_last_updated_at": null,
        "phone_numbers": [],
        "primary_email_address_id": email_id,
        "primary_phone_number_id": null,
        "primary_web3_wallet_id": null,
        "private_metadata": {},
        "profile_image_url": DEFAULT_IMAGE,
        "public_metadata": {},
        "totp_enabled": false,
        "two_factor_enabled": false,
        "unsafe_metadata": {},
        "updated_at": updated,
        "username": null,
        "verification_attempts_remaining": 100,
        "web3_wallets": [],
    })
}

fn organization_json(org_id: &str, ts: i64) -> Value {
    json!({
        "admin_delete_enabled": true,
        "created_at": ts,
        "created_by": null,
        "has_image": false,
        "id": org_id,
        "image_url": DEFAULT_IMAGE,
        "max_allowed_memberships": 5,
        "members_count": 1,
        "name": format!("Organization {}", suffix(org_id)),
        "object": "organization",
        "pending_invitations_count": 0,
        "private_metadata": {},
        "public_metadata": {},
        "slug": slug_of(org_id),
        "updated_at": ts,
    })
}

/// Clerk-shaped sample events: one function per event type that
/// [`WebhookEvent`](crate::WebhookEvent) has a variant for, each making a [`SampleEvent`] with
/// setters for the fields tests look at. For other types (`sms.created`,
/// `organizationInvitation.*`, …) deliver a [`serde_json::Value`].
///
/// ```
/// use actix_clerk::testing::{sample_event, TestWebhookSecret};
/// use actix_clerk::WebhookEvent;
///
/// let secret = TestWebhookSecret::generate();
/// let delivery = secret.delivery(
///     sample_event::user_created("user_1").email("ada@example.com").name("Ada", "Lovelace"),
/// );
/// let event = secret.verifier().verify(&delivery.header_map(), &delivery.body()).unwrap();
/// let Ok(WebhookEvent::UserCreated(user)) = event.typed() else { panic!() };
/// assert_eq!(user.primary_email_address(), Some("ada@example.com"));
/// assert_eq!(user.first_name.as_deref(), Some("Ada"));
/// ```
pub mod sample_event {
    use serde_json::{json, Value};

    use super::{
        email_address_json, now_ms, organization_json, slug_of, suffix, user_json, SampleEvent,
    };

    /// The data of `user.created` and `user.updated`: a user
    /// ([`UserData`](crate::UserData)).
    #[derive(Debug, Clone, Copy)]
    pub enum User {}

    /// The data of `user.deleted` and `organization.deleted`
    /// ([`DeletedObjectData`](crate::DeletedObjectData)).
    #[derive(Debug, Clone, Copy)]
    pub enum Deleted {}

    /// The data of `session.*`: a session and its user ([`SessionData`](crate::SessionData)).
    #[derive(Debug, Clone, Copy)]
    pub enum Session {}

    /// The data of `organization.created` and `organization.updated`
    /// ([`OrganizationData`](crate::OrganizationData)).
    #[derive(Debug, Clone, Copy)]
    pub enum Organization {}

    /// The data of `organizationMembership.*`
    /// ([`OrganizationMembershipData`](crate::OrganizationMembershipData)).
    #[derive(Debug, Clone, Copy)]
    pub enum Membership {}

    /// The data of `email.created` ([`EmailData`](crate::EmailData)).
    #[derive(Debug, Clone, Copy)]
    pub enum Email {}

    /// `user.created`: user `user_id` (`Test User`, primary address `<user_id>@example.com`,
    /// verified, of id `idn_<suffix>`; password sign-up; empty metadata).
    pub fn user_created(user_id: &str) -> SampleEvent<User> {
        let ts = now_ms();
        SampleEvent::new("user.created", user_json(user_id, ts, ts), ts)
    }

    /// `user.updated`: as [`user_created`], created a day before the update.
    pub fn user_updated(user_id: &str) -> SampleEvent<User> {
        let ts = now_ms();
        SampleEvent::new("user.updated", user_json(user_id, ts - 86_400_000, ts), ts)
    }

    /// `user.deleted`: `{"deleted": true, "id": user_id, "object": "user"}`.
    pub fn user_deleted(user_id: &str) -> SampleEvent<Deleted> {
        let data = json!({"deleted": true, "id": user_id, "object": "user"});
        SampleEvent::new("user.deleted", data, now_ms())
    }

    fn session(
        event_type: &str,
        status: &str,
        session_id: &str,
        user_id: &str,
        age_ms: i64,
    ) -> SampleEvent<Session> {
        let ts = now_ms();
        let created = ts - age_ms;
        let data = json!({
            "abandon_at": created + 30 * 86_400_000,
            "actor": null,
            "client_id": format!("client_{}", suffix(session_id)),
            "created_at": created,
            "expire_at": created + 7 * 86_400_000,
            "id": session_id,
            "last_active_at": ts,
            "last_active_organization_id": null,
            "object": "session",
            "status": status,
            "updated_at": ts,
            "user": user_json(user_id, created - 86_400_000, created),
            "user_id": user_id,
        });
        SampleEvent::new(event_type, data, ts)
    }

    /// `session.created`: session `session_id` of user `user_id` (status `active`, no active
    /// organization, the user included as Clerk includes it).
    pub fn session_created(session_id: &str, user_id: &str) -> SampleEvent<Session> {
        session("session.created", "active", session_id, user_id, 0)
    }

    /// `session.ended` (status `ended`: the user signed out).
    pub fn session_ended(session_id: &str, user_id: &str) -> SampleEvent<Session> {
        session("session.ended", "ended", session_id, user_id, 3_600_000)
    }

    /// `session.removed` (status `removed`).
    pub fn session_removed(session_id: &str, user_id: &str) -> SampleEvent<Session> {
        session("session.removed", "removed", session_id, user_id, 3_600_000)
    }

    /// `session.revoked` (status `revoked`: revoked from the Dashboard or the Backend API).
    pub fn session_revoked(session_id: &str, user_id: &str) -> SampleEvent<Session> {
        session("session.revoked", "revoked", session_id, user_id, 3_600_000)
    }

    /// `organization.created`: organization `org_id` (name `Organization <suffix>`, slug
    /// `org-<suffix>`, one member, up to 5).
    pub fn organization_created(org_id: &str) -> SampleEvent<Organization> {
        let ts = now_ms();
        SampleEvent::new("organization.created", organization_json(org_id, ts), ts)
    }

    /// `organization.updated`: as [`organization_created`].
    pub fn organization_updated(org_id: &str) -> SampleEvent<Organization> {
        let ts = now_ms();
        let mut data = organization_json(org_id, ts - 86_400_000);
        data["updated_at"] = json!(ts);
        SampleEvent::new("organization.updated", data, ts)
    }

    /// `organization.deleted`: `{"deleted": true, "id": org_id, "object": "organization",
    /// "slug": "org-<suffix>"}`.
    pub fn organization_deleted(org_id: &str) -> SampleEvent<Deleted> {
        let data = json!({
            "deleted": true, "id": org_id, "object": "organization", "slug": slug_of(org_id),
        });
        SampleEvent::new("organization.deleted", data, now_ms())
    }

    fn membership(event_type: &str, org_id: &str, user_id: &str) -> SampleEvent<Membership> {
        let ts = now_ms();
        let data = json!({
            "created_at": ts,
            "id": format!("orgmem_{}{}", suffix(user_id), suffix(org_id)),
            "object": "organization_membership",
            "organization": organization_json(org_id, ts - 86_400_000),
            "permissions": ["org:sys_memberships:read"],
            "private_metadata": {},
            "public_metadata": {},
            "public_user_data": {
                "first_name": "Test",
                "has_image": false,
                "identifier": format!("{user_id}@example.com"),
                "image_url": super::DEFAULT_IMAGE,
                "last_name": "User",
                "profile_image_url": super::DEFAULT_IMAGE,
                "user_id": user_id,
            },
            "role": "org:member",
            "role_name": "Member",
            "updated_at": ts,
        });
        SampleEvent::new(event_type, data, ts)
    }

    /// `organizationMembership.created`: user `user_id` joined organization `org_id` (role
    /// `org:member` with `org:sys_memberships:read`; the organization as
    /// [`organization_created`] makes it; the member as [`user_created`] makes them).
    pub fn organization_membership_created(org_id: &str, user_id: &str) -> SampleEvent<Membership> {
        membership("organizationMembership.created", org_id, user_id)
    }

    /// `organizationMembership.updated` (a role change, typically: set it with
    /// [`role`](SampleEvent::role)).
    pub fn organization_membership_updated(org_id: &str, user_id: &str) -> SampleEvent<Membership> {
        membership("organizationMembership.updated", org_id, user_id)
    }

    /// `organizationMembership.deleted` (the member left or was removed).
    pub fn organization_membership_deleted(org_id: &str, user_id: &str) -> SampleEvent<Membership> {
        membership("organizationMembership.deleted", org_id, user_id)
    }

    /// `email.created`: email `email_id` (`ema_…`) that Clerk asks the application to send: a
    /// `verification_code` email with code `123456` to `user@example.com`, queued, not
    /// delivered by Clerk.
    pub fn email_created(email_id: &str) -> SampleEvent<Email> {
        let data = json!({
            "body": "<p>Your verification code is <strong>123456</strong>.</p>",
            "body_plain": "Your verification code is 123456.",
            "data": {
                "app": {"name": "Test App", "url": "https://app.example.com"},
                "otp_code": "123456",
                "requested_at": "Monday, 16 June 2025 12:00 UTC",
            },
            "delivered_by_clerk": false,
            "email_address_id": "idn_2test",
            "from_email_name": "notifications",
            "id": email_id,
            "object": "email",
            "slug": "verification_code",
            "status": "queued",
            "subject": "123456 is your verification code",
            "to_email_address": "user@example.com",
            "user_id": null,
        });
        SampleEvent::new("email.created", data, now_ms())
    }

    /// Setters of `user.created` and `user.updated`.
    impl SampleEvent<User> {
        /// Sets the primary email address (keeping its id).
        pub fn email(mut self, address: &str) -> Self {
            let primary = self.data["primary_email_address_id"].clone();
            let entries = self.data["email_addresses"].as_array_mut();
            match entries.and_then(|all| all.iter_mut().find(|e| e["id"] == primary)) {
                Some(entry) => entry["email_address"] = json!(address),
                None => {
                    let id = format!("idn_{}", suffix(self.data["id"].as_str().unwrap_or("")));
                    let ts = self.timestamp_ms;
                    self.data["email_addresses"] = json!([email_address_json(&id, address, ts)]);
                    self.data["primary_email_address_id"] = json!(id);
                }
            }
            self
        }

        /// Adds a verified address that is not the primary one (id `idn_<suffix>_<n>`).
        pub fn extra_email(mut self, address: &str) -> Self {
            let user = suffix(self.data["id"].as_str().unwrap_or("")).to_owned();
            let ts = self.timestamp_ms;
            if !self.data["email_addresses"].is_array() {
                self.data["email_addresses"] = json!([]);
            }
            if let Some(all) = self.data["email_addresses"].as_array_mut() {
                let id = format!("idn_{user}_{}", all.len() + 1);
                all.push(email_address_json(&id, address, ts));
            }
            self
        }

        /// No email address (a user who signed up with a phone number or a username).
        pub fn without_email(self) -> Self {
            self.set("email_addresses", json!([]))
                .set("primary_email_address_id", Value::Null)
        }

        /// Sets the primary phone number (id `idn_<suffix>_phone`, verified by SMS code).
        pub fn phone(self, number: &str) -> Self {
            let id = format!(
                "idn_{}_phone",
                suffix(self.data["id"].as_str().unwrap_or(""))
            );
            let ts = self.timestamp_ms;
            let phone = json!({
                "backup_codes": null,
                "created_at": ts,
                "default_second_factor": false,
                "id": id,
                "linked_to": [],
                "object": "phone_number",
                "phone_number": number,
                "reserved": false,
                "reserved_for_second_factor": false,
                "updated_at": ts,
                "verification": {
                    "attempts": 1, "expire_at": ts + 600_000, "status": "verified",
                    "strategy": "phone_code",
                },
            });
            self.set("phone_numbers", json!([phone]))
                .set("primary_phone_number_id", id)
        }

        /// Sets the first and last names (default `Test` `User`).
        pub fn name(self, first: &str, last: &str) -> Self {
            self.set("first_name", first).set("last_name", last)
        }

        /// Sets the username (default none).
        pub fn username(self, username: &str) -> Self {
            self.set("username", username)
        }

        /// Sets the application's own id for the user (default none).
        pub fn external_id(self, external_id: &str) -> Self {
            self.set("external_id", external_id)
        }

        /// Sets the profile image URL (and `has_image`).
        pub fn image_url(self, url: &str) -> Self {
            self.set("image_url", url)
                .set("profile_image_url", url)
                .set("has_image", true)
        }

        /// Sets the public metadata (default `{}`).
        pub fn public_metadata(self, metadata: Value) -> Self {
            self.set("public_metadata", metadata)
        }

        /// Sets the private metadata (default `{}`).
        pub fn private_metadata(self, metadata: Value) -> Self {
            self.set("private_metadata", metadata)
        }

        /// Sets the unsafe metadata (default `{}`).
        pub fn unsafe_metadata(self, metadata: Value) -> Self {
            self.set("unsafe_metadata", metadata)
        }

        /// Marks the user banned.
        pub fn banned(self) -> Self {
            self.set("banned", true)
        }

        /// Marks the user locked (too many failed sign-ins).
        pub fn locked(self) -> Self {
            self.set("locked", true)
                .set("lockout_expires_in_seconds", 1800)
        }

        /// Sets the last sign-in, in milliseconds since the epoch (default none).
        pub fn last_sign_in_at(self, ms: i64) -> Self {
            self.set("last_sign_in_at", ms)
        }
    }

    /// Setters of `user.deleted` and `organization.deleted`.
    impl SampleEvent<Deleted> {
        /// Sets the deleted user's `external_id` (Clerk includes it when one was set).
        pub fn external_id(self, external_id: &str) -> Self {
            self.set("external_id", external_id)
        }

        /// Sets the deleted organization's `slug`.
        pub fn slug(self, slug: &str) -> Self {
            self.set("slug", slug)
        }
    }

    /// Setters of `session.*`.
    impl SampleEvent<Session> {
        /// Sets the active organization (`last_active_organization_id`).
        pub fn org(self, org_id: &str) -> Self {
            self.set("last_active_organization_id", org_id)
        }

        /// Sets the session's client (default `client_<suffix of the session id>`).
        pub fn client_id(self, client_id: &str) -> Self {
            self.set("client_id", client_id)
        }

        /// An impersonation session: `actor` is `{"sub": actor_user_id}`.
        pub fn actor(self, actor_user_id: &str) -> Self {
            self.set("actor", json!({"sub": actor_user_id}))
        }

        /// Sets the status (default from the event type: `active`, `ended`, `removed`,
        /// `revoked`).
        pub fn status(self, status: &str) -> Self {
            self.set("status", status)
        }

        /// Replaces the included user (and `user_id`) with `user`'s data.
        pub fn user(self, user: &SampleEvent<User>) -> Self {
            let id = user.data["id"].clone();
            self.set("user", user.data.clone()).set("user_id", id)
        }

        /// Sends `"user": null` (Clerk's type allows it).
        pub fn without_user(self) -> Self {
            self.set("user", Value::Null)
        }
    }

    /// Setters of `organization.created` and `organization.updated`.
    impl SampleEvent<Organization> {
        /// Sets the name.
        pub fn name(self, name: &str) -> Self {
            self.set("name", name)
        }

        /// Sets the slug.
        pub fn slug(self, slug: &str) -> Self {
            self.set("slug", slug)
        }

        /// Sets the user who created it (default none: made from the Dashboard or the API).
        pub fn created_by(self, user_id: &str) -> Self {
            self.set("created_by", user_id)
        }

        /// Sets the number of members (default 1).
        pub fn members_count(self, count: u64) -> Self {
            self.set("members_count", count)
        }

        /// Sets the membership limit (default 5; 0: none).
        pub fn max_allowed_memberships(self, limit: u64) -> Self {
            self.set("max_allowed_memberships", limit)
        }

        /// Sets the logo URL (and `has_image`).
        pub fn image_url(self, url: &str) -> Self {
            self.set("image_url", url).set("has_image", true)
        }

        /// Sets the public metadata (default `{}`).
        pub fn public_metadata(self, metadata: Value) -> Self {
            self.set("public_metadata", metadata)
        }

        /// Sets the private metadata (default `{}`).
        pub fn private_metadata(self, metadata: Value) -> Self {
            self.set("private_metadata", metadata)
        }
    }

    /// Setters of `organizationMembership.*`.
    impl SampleEvent<Membership> {
        /// Sets the role (default `org:member`). The permissions stay as they are: set them
        /// with [`permissions`](Self::permissions).
        pub fn role(self, role: &str) -> Self {
            self.set("role", role)
        }

        /// Sets the role's permissions (default `["org:sys_memberships:read"]`).
        pub fn permissions<I, S>(self, permissions: I) -> Self
        where
            I: IntoIterator<Item = S>,
            S: Into<String>,
        {
            let all: Vec<String> = permissions.into_iter().map(Into::into).collect();
            self.set("permissions", all)
        }

        /// Replaces the organization with `organization`'s data.
        pub fn organization(self, organization: &SampleEvent<Organization>) -> Self {
            self.set("organization", organization.data.clone())
        }

        /// Sets the organization's slug.
        pub fn org_slug(mut self, slug: &str) -> Self {
            self.data["organization"]["slug"] = json!(slug);
            self
        }

        /// Sets the organization's name.
        pub fn org_name(mut self, name: &str) -> Self {
            self.data["organization"]["name"] = json!(name);
            self
        }

        /// Sets the member's identifier (default `<user_id>@example.com`).
        pub fn identifier(mut self, identifier: &str) -> Self {
            self.data["public_user_data"]["identifier"] = json!(identifier);
            self
        }

        /// Sets the member's first and last names (default `Test` `User`).
        pub fn member_name(mut self, first: &str, last: &str) -> Self {
            self.data["public_user_data"]["first_name"] = json!(first);
            self.data["public_user_data"]["last_name"] = json!(last);
            self
        }

        /// Sets the membership's public metadata (default `{}`).
        pub fn public_metadata(self, metadata: Value) -> Self {
            self.set("public_metadata", metadata)
        }
    }

    /// Setters of `email.created`.
    impl SampleEvent<Email> {
        /// Sets the recipient (default `user@example.com`).
        pub fn to(self, address: &str) -> Self {
            self.set("to_email_address", address)
        }

        /// Sets the recipient's user and email address ids (default none and `idn_2test`).
        pub fn recipient_ids(self, user_id: &str, email_address_id: &str) -> Self {
            self.set("user_id", user_id)
                .set("email_address_id", email_address_id)
        }

        /// Sets the template (default `verification_code`; `magic_link_sign_in`,
        /// `invitation`, …).
        pub fn slug(self, slug: &str) -> Self {
            self.set("slug", slug)
        }

        /// Sets the subject.
        pub fn subject(self, subject: &str) -> Self {
            self.set("subject", subject)
        }

        /// Sets the HTML and plain-text bodies.
        pub fn bodies(self, html: &str, plain: &str) -> Self {
            self.set("body", html).set("body_plain", plain)
        }

        /// Sets the one-time code: in `data.otp_code`, the subject and the bodies.
        pub fn otp_code(mut self, code: &str) -> Self {
            self.data["data"]["otp_code"] = json!(code);
            self.set("subject", format!("{code} is your verification code"))
                .set(
                    "body",
                    format!("<p>Your verification code is <strong>{code}</strong>.</p>"),
                )
                .set("body_plain", format!("Your verification code is {code}."))
        }

        /// Sets whether Clerk delivers it itself (default `false`).
        pub fn delivered_by_clerk(self, delivered: bool) -> Self {
            self.set("delivered_by_clerk", delivered)
        }

        /// Sets the status (default `queued`).
        pub fn status(self, status: &str) -> Self {
            self.set("status", status)
        }
    }
}
