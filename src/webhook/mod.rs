//! Verified Clerk webhooks: the [`ClerkWebhook`] extractor and its [`WebhookVerifier`].
//!
//! ```no_run
//! use actix_clerk::{ClerkWebhook, WebhookVerifier};
//! use actix_web::{web, App, HttpServer, Responder};
//!
//! async fn clerk_webhook(event: ClerkWebhook) -> impl Responder {
//!     // Only genuine deliveries get here; anything else was answered 400 (or 413).
//!     println!("{} {}", event.event_type(), event.data()["id"]);
//!     "ok"
//! }
//!
//! #[actix_web::main]
//! async fn main() -> Result<(), Box<dyn std::error::Error>> {
//!     // CLERK_WEBHOOK_SIGNING_SECRET=whsec_… (the endpoint's signing secret in the Clerk
//!     // Dashboard). Built once: clones share the replay record.
//!     let webhooks = WebhookVerifier::from_env()?.replay_protection(10_000);
//!     HttpServer::new(move || {
//!         App::new()
//!             .app_data(webhooks.clone())
//!             .route("/webhooks/clerk", web::post().to(clerk_webhook))
//!     })
//!     .bind(("127.0.0.1", 3000))?
//!     .run()
//!     .await?;
//!     Ok(())
//! }
//! ```
//!
//! A delivery is decided as `verifyWebhook` of `@clerk/backend` decides it (Clerk's SDK is the
//! reference; the crate's tests compare the two on every case):
//!
//! 1. `svix-id`, `svix-timestamp` and `svix-signature`, as a Fetch `Request` shows them
//!    (several lines joined with `", "`, then trimmed), must all be non-blank; the refusal names
//!    the missing ones.
//! 2. The timestamp is read as JavaScript's `parseInt` reads it and must be within 5 minutes
//!    of now, either side.
//! 3. The body is read raw (up to [`WebhookVerifier::body_limit`]) and decoded as
//!    `Request.text()` decodes it (a leading byte order mark dropped, invalid UTF-8 replaced by
//!    U+FFFD); HMAC-SHA256, keyed with the base64 secret after `whsec_`, of
//!    `"{id}.{timestamp}.{body}"` must equal one of the space-separated `v1,<base64>` entries
//!    of the signature header (compared in constant time; other versions are skipped).
//! 4. The signed body must be a JSON object whose `type` is a string.
//!
//! Where this differs from `verifyWebhook` (**ours**):
//! - headers named `webhook-id`, `webhook-timestamp`, `webhook-signature` (Standard Webhooks)
//!   are read instead when none of the three `svix-*` headers has a value (Clerk reads
//!   `svix-*` only);
//! - a signed body that is JSON but not an object with a string `type` (`{}`, `1`, `[]`), or
//!   that `serde_json` cannot represent (nesting deeper than 128, a lone surrogate escape, a
//!   number beyond `f64`), is refused as [`WebhookError::InvalidPayload`]; Clerk returns an
//!   event without a `type` for the first kind and parses the others;
//! - a body over the limit is refused (`413`) before it is read in full; the timestamp is
//!   checked before the body is read;
//! - optional replay protection ([`WebhookVerifier::replay_protection`]).
//!
//! Every refusal is a [`ClerkError::Webhook`] with a [`WebhookError`]: `400` with
//! `{"error":"invalid_webhook","reason":"<reason>"}` (`413` for a body over the limit, `500`
//! when the route has no verifier). Override it with actix's `ErrorHandlers`, or take
//! `Result<ClerkWebhook, ClerkError>` in the handler. The secret and the signatures never
//! appear in `Debug`, `Display`, logs or responses.
//!
//! [`ClerkError::Webhook`]: crate::ClerkError::Webhook

mod error;
mod event;
mod once;
mod replay;
pub(crate) mod verify;

#[cfg(feature = "testing")]
pub(crate) use verify::decode_secret;

use std::fmt;
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use actix_web::dev::Payload;
use actix_web::http::header::{self, HeaderMap};
use actix_web::{web, FromRequest, HttpRequest};
use aws_lc_rs::hmac;
use futures_util::future::LocalBoxFuture;
use futures_util::StreamExt as _;

use crate::error::{ClerkError, ConfigError};

pub use self::error::WebhookError;
pub use self::event::{
    ClerkWebhook, DeletedObjectData, EmailAddressData, EmailData, OrganizationData,
    OrganizationMembershipData, PhoneNumberData, PublicUserData, SessionData, UserData,
    WebhookEvent,
};
pub use self::once::WebhookOnce;
use self::once::{Claimed, Deliveries, OnceSlot};
use self::replay::ReplayRecord;
use self::verify::Delivery;

/// The environment variable [`WebhookVerifier::from_env`] reads (as Clerk's SDK does).
pub const WEBHOOK_SECRET_ENV: &str = "CLERK_WEBHOOK_SIGNING_SECRET";

/// Verifies Clerk webhook deliveries with an endpoint's signing secret; put it in the app data
/// (`App::app_data(verifier.clone())`, or inside `web::Data`) for the [`ClerkWebhook`]
/// extractor, or call [`verify`](Self::verify) yourself.
///
/// Cheap to clone; clones share the replay record. `Debug` shows neither the secret nor
/// anything derived from it.
#[derive(Clone)]
#[must_use]
pub struct WebhookVerifier {
    key: hmac::Key,
    body_limit: usize,
    replay: Option<Arc<ReplayRecord>>,
    /// The record [`once`](Self::once) keeps (shared by the clones).
    deliveries: Arc<Deliveries>,
}

impl fmt::Debug for WebhookVerifier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("WebhookVerifier")
            .field("secret", &"[redacted]")
            .field("body_limit", &self.body_limit)
            .field(
                "replay_protection",
                &self.replay.as_ref().map(|r| r.capacity()),
            )
            .field("deliveries", &self.deliveries)
            .finish()
    }
}

impl WebhookVerifier {
    /// Default [`body_limit`](Self::body_limit): 1 MiB, far above any Clerk event (a few KB).
    pub const DEFAULT_BODY_LIMIT: usize = 1024 * 1024;

    /// How far a delivery's timestamp may be from now, either side: 5 minutes, as Clerk.
    pub const TOLERANCE: Duration = Duration::from_secs(verify::TOLERANCE_SECS as u64);

    /// A verifier for `secret`: the endpoint's signing secret from the Clerk Dashboard
    /// (`whsec_` then base64; the base64 alone is accepted too). It is decoded exactly as
    /// Clerk's SDK decodes it, quirks included: padding is optional, and a last character that
    /// makes the length 4n+1 is ignored (a line break after the usual 32 characters).
    ///
    /// Replay protection is off and the body limit is [`DEFAULT_BODY_LIMIT`](Self::DEFAULT_BODY_LIMIT).
    ///
    /// # Errors
    /// [`ConfigError::MissingWebhookSecret`] for an empty secret,
    /// [`ConfigError::InvalidWebhookSecret`] when it is not base64 (the message never shows it).
    pub fn new(secret: &str) -> Result<Self, ConfigError> {
        if secret.is_empty() {
            return Err(ConfigError::MissingWebhookSecret);
        }
        let key = verify::decode_secret(secret).ok_or(ConfigError::InvalidWebhookSecret)?;
        Ok(WebhookVerifier {
            key: hmac::Key::new(hmac::HMAC_SHA256, &key),
            body_limit: Self::DEFAULT_BODY_LIMIT,
            replay: None,
            deliveries: Arc::new(Deliveries::new()),
        })
    }

    /// A verifier for the secret in `CLERK_WEBHOOK_SIGNING_SECRET`.
    ///
    /// # Errors
    /// As [`new`](Self::new); [`ConfigError::MissingWebhookSecret`] when the variable is unset or
    /// empty, [`ConfigError::NotUnicode`] when it is not UTF-8. Under offline development
    /// (`CLERK_DEV_OFFLINE=1`, debug builds only) an unset variable means the local secret kept
    /// in `CLERK_DEV_DIR` (see
    /// [`ClerkConfigBuilder::offline_development`](crate::ClerkConfigBuilder::offline_development)).
    pub fn from_env() -> Result<Self, ConfigError> {
        match std::env::var(WEBHOOK_SECRET_ENV) {
            Ok(secret) => Self::new(&secret),
            Err(std::env::VarError::NotPresent) if crate::offline::requested() => {
                // Offline development: the local secret (debug builds only).
                let dir = crate::offline::dir_from_env();
                Self::new(&crate::offline::setup(&dir)?.webhook_secret)
            }
            Err(std::env::VarError::NotPresent) => Err(ConfigError::MissingWebhookSecret),
            Err(std::env::VarError::NotUnicode(_)) => {
                Err(ConfigError::NotUnicode(WEBHOOK_SECRET_ENV))
            }
        }
    }

    /// The largest body accepted, in bytes (default 1 MiB). A larger one is refused with
    /// [`WebhookError::BodyTooLarge`] (`413`), from its `Content-Length` before any of it is
    /// read, or as soon as the bytes read pass the limit.
    pub fn body_limit(mut self, bytes: usize) -> Self {
        self.body_limit = bytes;
        self
    }

    /// Turns on replay protection (**ours**, off by default): a delivery whose signed content
    /// (id, timestamp and body) was already accepted while its timestamp is still inside the
    /// 5-minute window is refused with [`WebhookError::Replayed`] (`400`). That is a captured
    /// request sent again; it could not be told apart otherwise, since the signature stays
    /// valid for the whole window.
    ///
    /// Svix's own retries of an unanswered or failed delivery are signed afresh, with a new
    /// timestamp, so they pass; they keep their `svix-id`, which handlers should use to
    /// process a message once ([`ClerkWebhook::delivery_id`]).
    ///
    /// The record is in memory, shared by the clones of this verifier (all workers), and
    /// bounded: at most `capacity` deliveries (size it above the deliveries expected in 10
    /// minutes; about 100 bytes each). When full, the delivery closest to leaving the window is
    /// forgotten first and a warning is logged. It does not span processes: behind a load
    /// balancer with several instances a replay may reach another one.
    pub fn replay_protection(mut self, capacity: usize) -> Self {
        self.replay = Some(Arc::new(ReplayRecord::new(capacity)));
        self
    }

    /// Middleware for the webhook route that processes each delivery once, by its `svix-id`
    /// (**ours**): see [`WebhookOnce`]. Svix delivers at least once and retries a delivery
    /// whose answer is not `2xx` (or that times out), on whichever instance the load balancer
    /// picks; with this, a handler runs again only after it failed.
    ///
    /// ```no_run
    /// use actix_clerk::{ClerkWebhook, WebhookVerifier};
    /// use actix_web::{web, App, HttpResponse, HttpServer};
    ///
    /// async fn clerk_webhook(event: ClerkWebhook) -> HttpResponse {
    ///     // Runs once per delivery; a non-2xx answer releases it for Svix's retry.
    ///     println!("{} {}", event.delivery_id(), event.event_type());
    ///     HttpResponse::Ok().finish()
    /// }
    ///
    /// #[actix_web::main]
    /// async fn main() -> Result<(), Box<dyn std::error::Error>> {
    ///     let webhooks = WebhookVerifier::from_env()?;
    ///     HttpServer::new(move || {
    ///         App::new().service(
    ///             web::resource("/webhooks/clerk")
    ///                 .wrap(webhooks.once())
    ///                 .route(web::post().to(clerk_webhook)),
    ///         )
    ///     })
    ///     .bind(("127.0.0.1", 3000))?
    ///     .run()
    ///     .await?;
    ///     Ok(())
    /// }
    /// ```
    ///
    /// What is guaranteed: **at least once, with de-duplication**. Every delivery Svix makes
    /// runs the handler until one run answers `2xx`; a delivery whose handler answered `2xx`
    /// does not run again while it is remembered ([`delivery_retention`](Self::delivery_retention),
    /// default 3 days, beyond Svix's retry schedule). Within one process always; across
    /// instances with a [`shared_store`](Self::shared_store) that answers. Not guaranteed: a
    /// handler that outlives its claim's lease ([`delivery_lease`](Self::delivery_lease),
    /// default 60 s) may run beside a retry; a handler whose side effects happened but whose
    /// instance died before recording it runs again after the lease; while the shared store is
    /// down, each instance de-duplicates only what it saw itself. Make side effects idempotent
    /// where running twice is costly (the `svix-id` is the natural key).
    pub fn once(&self) -> WebhookOnce {
        WebhookOnce::new(self.clone())
    }

    /// How long a claim made by [`once`](Self::once) holds before another request may take the
    /// delivery over (default 60 s): the longest a handler is expected to run, and how long a
    /// crashed instance's claim blocks Svix's retries.
    pub fn delivery_lease(mut self, lease: Duration) -> Self {
        self.deliveries = Arc::new(self.rebuilt_deliveries(lease, self.deliveries.retention));
        self
    }

    /// How long [`once`](Self::once) remembers a processed delivery (default 3 days: Svix
    /// retries for about 28 hours, and a delivery replayed from the Dashboard later runs again).
    pub fn delivery_retention(mut self, retention: Duration) -> Self {
        self.deliveries = Arc::new(self.rebuilt_deliveries(self.deliveries.lease, retention));
        self
    }

    /// Keeps [`once`](Self::once)'s record in the deployment's shared store (feature `redis`),
    /// so a delivery is processed once by the whole deployment, not once per instance. When
    /// the store does not answer within its timeout, the instance's own record decides (at
    /// least once, as without the store). Only keyed hashes of the `svix-id`s are stored.
    #[cfg(feature = "redis")]
    #[cfg_attr(docsrs, doc(cfg(feature = "redis")))]
    pub fn shared_store(mut self, store: crate::store::SharedStore) -> Self {
        let namespace = hmac::sign(&self.key, b"actix-clerk: webhook endpoint");
        let shared = once::shared::SharedDeliveries::new(store, namespace.as_ref());
        self.deliveries = Arc::new(
            Deliveries::new()
                .with_times(self.deliveries.lease, self.deliveries.retention)
                .with_shared(shared),
        );
        self
    }

    fn rebuilt_deliveries(&self, lease: Duration, retention: Duration) -> Deliveries {
        let fresh = Deliveries::new().with_times(lease, retention);
        #[cfg(feature = "redis")]
        if let Some(shared) = self.deliveries.shared() {
            return fresh.with_shared(shared.clone());
        }
        fresh
    }

    /// The shared store's counters, when [`shared_store`](Self::shared_store) set one.
    #[cfg(feature = "redis")]
    #[cfg_attr(docsrs, doc(cfg(feature = "redis")))]
    pub fn shared_store_stats(&self) -> Option<crate::store::SharedStoreStats> {
        self.deliveries.shared().map(|s| s.store().stats())
    }

    /// Verifies a delivery now: the request's headers and its raw body, exactly as received.
    ///
    /// # Errors
    /// Why the delivery is refused.
    pub fn verify(&self, headers: &HeaderMap, body: &[u8]) -> Result<ClerkWebhook, WebhookError> {
        self.verify_at(headers, body, SystemTime::now())
    }

    /// Verifies a delivery as of `now`: the 5-minute window is counted from it (and the replay
    /// record, if on, expires entries by it). For tests and for deliveries stored and checked
    /// later; request handling uses [`verify`](Self::verify) or the extractor.
    ///
    /// # Errors
    /// Why the delivery is refused.
    pub fn verify_at(
        &self,
        headers: &HeaderMap,
        body: &[u8],
        now: SystemTime,
    ) -> Result<ClerkWebhook, WebhookError> {
        let now = unix_secs(now);
        let delivery = verify::read_headers(headers, now)?;
        if body.len() > self.body_limit {
            return Err(WebhookError::BodyTooLarge {
                limit: self.body_limit,
            });
        }
        self.finish(delivery, body, now)
    }

    /// Signature and payload: everything after the headers and the body's size.
    fn authenticate(&self, delivery: Delivery, body: &[u8]) -> Result<Verified, WebhookError> {
        let text = verify::body_text(body);
        let tag = verify::tag(&self.key, &delivery, &text);
        if !verify::signature_matches(&delivery, &tag) {
            return Err(WebhookError::NoMatchingSignature);
        }
        let expires = delivery.timestamp + verify::TOLERANCE_SECS;
        let event = ClerkWebhook::from_verified(delivery.id, delivery.timestamp, &text)?;
        let key: [u8; 32] = tag
            .as_ref()
            .try_into()
            .map_err(|_| WebhookError::NoMatchingSignature)?;
        Ok(Verified {
            event,
            key,
            expires,
        })
    }

    /// The replay check of a verified delivery (when replay protection is on).
    fn check_replay(&self, verified: &Verified, now: i64) -> Result<(), WebhookError> {
        match &self.replay {
            Some(record) if !record.insert(verified.key, verified.expires, now) => {
                Err(WebhookError::Replayed)
            }
            _ => Ok(()),
        }
    }

    /// Signature, payload and replay.
    fn finish(
        &self,
        delivery: Delivery,
        body: &[u8],
        now: i64,
    ) -> Result<ClerkWebhook, WebhookError> {
        let verified = self.authenticate(delivery, body)?;
        self.check_replay(&verified, now)?;
        Ok(verified.event)
    }
}

/// A delivery whose signature and payload checked out: the event, its identity for the replay
/// record, and when its timestamp leaves the window.
struct Verified {
    event: ClerkWebhook,
    key: [u8; 32],
    expires: i64,
}

impl WebhookVerifier {}

fn unix_secs(t: SystemTime) -> i64 {
    match t.duration_since(UNIX_EPOCH) {
        Ok(d) => i64::try_from(d.as_secs()).unwrap_or(i64::MAX),
        // Before the epoch: Math.floor of a negative number of seconds.
        Err(e) => {
            let d = e.duration();
            let secs = i64::try_from(d.as_secs()).unwrap_or(i64::MAX);
            -secs - i64::from(d.subsec_nanos() > 0)
        }
    }
}

/// The [`WebhookOnce`] slot of the request, if the route is wrapped by one.
fn once_slot(req: &HttpRequest) -> Option<std::rc::Rc<OnceSlot>> {
    actix_web::HttpMessage::extensions(req)
        .get::<std::rc::Rc<OnceSlot>>()
        .cloned()
}

fn verifier_of(req: &HttpRequest, slot: Option<&OnceSlot>) -> Option<WebhookVerifier> {
    if let Some(slot) = slot {
        return Some(slot.verifier.clone());
    }
    req.app_data::<WebhookVerifier>()
        .or_else(|| {
            req.app_data::<web::Data<WebhookVerifier>>()
                .map(|d| d.get_ref())
        })
        .cloned()
}

fn refuse(req: &HttpRequest, err: WebhookError) -> ClerkError {
    if err == WebhookError::NotConfigured {
        tracing::error!(
            path = req.path(),
            "clerk: ClerkWebhook used on a route without a WebhookVerifier in its app data"
        );
    } else {
        tracing::debug!(
            path = req.path(),
            reason = err.reason(),
            "clerk: webhook delivery refused"
        );
    }
    ClerkError::Webhook(err)
}

/// Reads the raw body (up to the limit) and verifies it; see [`ClerkWebhook`].
impl FromRequest for ClerkWebhook {
    type Error = ClerkError;
    type Future = LocalBoxFuture<'static, Result<Self, ClerkError>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let now = unix_secs(SystemTime::now());
        let slot = once_slot(req);
        let checked = verifier_of(req, slot.as_deref())
            .ok_or(WebhookError::NotConfigured)
            .and_then(|verifier| {
                let delivery = verify::read_headers(req.headers(), now)?;
                let declared = req
                    .headers()
                    .get(header::CONTENT_LENGTH)
                    .and_then(|v| v.to_str().ok())
                    .and_then(|v| v.trim().parse::<u64>().ok());
                if declared.is_some_and(|n| n > verifier.body_limit as u64) {
                    return Err(WebhookError::BodyTooLarge {
                        limit: verifier.body_limit,
                    });
                }
                Ok((verifier, delivery, declared.unwrap_or(0)))
            });
        let (verifier, delivery, declared) = match checked {
            Ok(checked) => checked,
            Err(err) => {
                let err = refuse(req, err);
                return Box::pin(async move { Err(err) });
            }
        };
        let req = req.clone();
        let mut payload = payload.take();
        Box::pin(async move {
            let limit = verifier.body_limit;
            // Declared length, capped: a lying Content-Length cannot make us allocate.
            let capacity = usize::try_from(declared)
                .unwrap_or(limit)
                .min(limit)
                .min(64 * 1024);
            let mut body = web::BytesMut::with_capacity(capacity);
            while let Some(chunk) = payload.next().await {
                let chunk = chunk.map_err(|_| refuse(&req, WebhookError::BodyUnreadable))?;
                if body.len() + chunk.len() > limit {
                    return Err(refuse(&req, WebhookError::BodyTooLarge { limit }));
                }
                body.extend_from_slice(&chunk);
            }
            let Some(slot) = slot else {
                return verifier
                    .finish(delivery, &body, now)
                    .map_err(|err| refuse(&req, err));
            };
            // Processed once: the claim comes before the replay record, so that a duplicate
            // of a processed delivery is answered as such.
            let verified = verifier
                .authenticate(delivery, &body)
                .map_err(|err| refuse(&req, err))?;
            match verifier
                .deliveries
                .claim(verified.event.delivery_id())
                .await
            {
                Claimed::Run(claim) => {
                    // Released on drop if the replay check refuses the delivery.
                    verifier
                        .check_replay(&verified, now)
                        .map_err(|err| refuse(&req, err))?;
                    *slot.claim.lock() = Some(claim);
                    Ok(verified.event)
                }
                Claimed::InProgress => Err(refuse(&req, WebhookError::InProgress)),
                Claimed::Done => Err(refuse(&req, WebhookError::AlreadyProcessed)),
            }
        })
    }
}
