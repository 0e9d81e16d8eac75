//! Deliveries processed once: [`WebhookOnce`], the record of claimed and processed `svix-id`s
//! (in this process, and with the `redis` feature in the deployment's shared store).

use std::collections::HashMap;
use std::future::{ready, Ready};
use std::rc::Rc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use actix_service::{Service, Transform};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::HttpMessage as _;
use futures_util::future::LocalBoxFuture;
use parking_lot::Mutex;

use super::WebhookVerifier;

/// Wraps the route of a webhook endpoint so that each delivery is processed once, by its
/// `svix-id`: from [`WebhookVerifier::once`]. The [`ClerkWebhook`](crate::ClerkWebhook)
/// extractor of the wrapped route claims the delivery before the handler runs:
///
/// - the handler answers `2xx`: the delivery is recorded as processed;
/// - it answers anything else (or fails, or the client goes away): the claim is released, so
///   Svix's retry runs the handler again;
/// - a duplicate while the first is being processed: [`WebhookError::InProgress`](crate::WebhookError::InProgress)
///   (`409` with `Retry-After`; Svix retries later) and the handler does not run;
/// - a duplicate after it was processed: [`WebhookError::AlreadyProcessed`](crate::WebhookError::AlreadyProcessed)
///   (`200 {"status":"already_processed"}`; Svix stops) and the handler does not run.
///
/// The extractor finds the verifier through this middleware (no `app_data` needed).
#[derive(Clone, Debug)]
#[must_use]
pub struct WebhookOnce {
    verifier: WebhookVerifier,
}

impl WebhookOnce {
    pub(crate) fn new(verifier: WebhookVerifier) -> Self {
        WebhookOnce { verifier }
    }
}

/// What the middleware leaves in the request for the extractor: the verifier, and where the
/// extractor puts its claim.
pub(crate) struct OnceSlot {
    pub(crate) verifier: WebhookVerifier,
    pub(crate) claim: Mutex<Option<Claim>>,
}

impl<S, B> Transform<S, ServiceRequest> for WebhookOnce
where
    S: Service<ServiceRequest, Response = ServiceResponse<B>, Error = actix_web::Error> + 'static,
    B: 'static,
{
    type Response = ServiceResponse<B>;
    type Error = actix_web::Error;
    type Transform = WebhookOnceService<S>;
    type InitError = ();
    type Future = Ready<Result<Self::Transform, Self::InitError>>;

    fn new_transform(&self, service: S) -> Self::Future {
        ready(Ok(WebhookOnceService {
            service: Rc::new(service),
            verifier: self.verifier.clone(),
        }))
    }
}

/// The service [`WebhookOnce`] wraps a route with.
#[doc(hidden)]
pub struct WebhookOnceService<S> {
    service: Rc<S>,
    verifier: WebhookVerifier,
}

impl<S> std::fmt::Debug for WebhookOnceService<S> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WebhookOnceService")
            .field("verifier", &self.verifier)
            .finish_non_exhaustive()
    }
}

impl<S, B> Service<ServiceRequest> for WebhookOnceService<S>
where
    S: Service<ServiceRequest, Response = ServiceResponse<B>, Error = actix_web::Error> + 'static,
    B: 'static,
{
    type Response = ServiceResponse<B>;
    type Error = actix_web::Error;
    type Future = LocalBoxFuture<'static, Result<Self::Response, Self::Error>>;

    actix_service::forward_ready!(service);

    fn call(&self, req: ServiceRequest) -> Self::Future {
        let slot = Rc::new(OnceSlot {
            verifier: self.verifier.clone(),
            claim: Mutex::new(None),
        });
        req.extensions_mut().insert(slot.clone());
        let service = self.service.clone();
        Box::pin(async move {
            let res = service.call(req).await;
            let claim = slot.claim.lock().take();
            if let Some(claim) = claim {
                match &res {
                    Ok(r) if r.status().is_success() => claim.done().await,
                    _ => claim.release().await,
                }
            }
            res
        })
    }
}

/// What a claim found.
pub(crate) enum Claimed {
    /// The delivery is this request's to process.
    Run(Claim),
    /// Another request is processing it.
    InProgress,
    /// It was processed.
    Done,
}

/// A claimed delivery: marked done or released once the handler has answered; released if
/// dropped before (the request was abandoned).
pub(crate) struct Claim {
    record: Arc<Deliveries>,
    id: String,
    owner: u64,
    #[cfg(feature = "redis")]
    shared: bool,
    finished: bool,
}

impl Claim {
    pub(crate) async fn done(mut self) {
        self.finished = true;
        // With the shared store holding the record, the process keeps a short one (for a
        // duplicate reaching this instance while the store is away).
        #[cfg(feature = "redis")]
        let local_retention = if self.shared {
            self.record
                .retention
                .min(Deliveries::LOCAL_RETENTION_BESIDE_STORE)
        } else {
            self.record.retention
        };
        #[cfg(not(feature = "redis"))]
        let local_retention = self.record.retention;
        self.record.local.done(&self.id, local_retention);
        #[cfg(feature = "redis")]
        if self.shared {
            if let Some(shared) = &self.record.shared {
                if !shared.done(&self.id, self.record.retention).await {
                    // Until it is recorded, the other instances see the claim (`409`) and,
                    // past its lease, would run the delivery again: try again after the
                    // store's back-off, a few times, without holding the response.
                    let (shared, id, retention) =
                        (shared.clone(), self.id.clone(), self.record.retention);
                    if let Ok(rt) = tokio::runtime::Handle::try_current() {
                        rt.spawn(async move {
                            for _ in 0..5 {
                                tokio::time::sleep(crate::store::SharedStore::BACKOFF).await;
                                if shared.done(&id, retention).await {
                                    break;
                                }
                            }
                        });
                    }
                }
            }
        }
    }

    pub(crate) async fn release(mut self) {
        self.finished = true;
        self.record.local.release(&self.id, self.owner);
        #[cfg(feature = "redis")]
        if self.shared {
            if let Some(shared) = &self.record.shared {
                shared.release(&self.id, self.owner).await;
            }
        }
    }
}

impl Drop for Claim {
    fn drop(&mut self) {
        if self.finished {
            return;
        }
        self.record.local.release(&self.id, self.owner);
        #[cfg(feature = "redis")]
        if self.shared {
            if let (Some(shared), Ok(rt)) = (
                self.record.shared.clone(),
                tokio::runtime::Handle::try_current(),
            ) {
                let (id, owner) = (std::mem::take(&mut self.id), self.owner);
                rt.spawn(async move { shared.release(&id, owner).await });
            }
        }
    }
}

/// The record of deliveries of one verifier (shared by its clones).
pub(crate) struct Deliveries {
    local: LocalDeliveries,
    #[cfg(feature = "redis")]
    shared: Option<shared::SharedDeliveries>,
    pub(crate) lease: Duration,
    pub(crate) retention: Duration,
    owners: AtomicU64,
}

impl std::fmt::Debug for Deliveries {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let mut d = f.debug_struct("Deliveries");
        #[cfg(feature = "redis")]
        d.field("shared", &self.shared.is_some());
        d.field("lease", &self.lease)
            .field("retention", &self.retention)
            .finish_non_exhaustive()
    }
}

impl Deliveries {
    /// How long a claim holds before another instance may take the delivery over (a crashed
    /// instance's claim ends by itself).
    pub(crate) const DEFAULT_LEASE: Duration = Duration::from_secs(60);
    /// How long a processed delivery is remembered: beyond Svix's retry schedule (about 28
    /// hours from the first attempt).
    pub(crate) const DEFAULT_RETENTION: Duration = Duration::from_secs(3 * 86_400);
    /// Deliveries remembered in process.
    pub(crate) const LOCAL_CAPACITY: usize = 100_000;
    /// How long the process remembers a delivery the shared store recorded.
    #[cfg(feature = "redis")]
    pub(crate) const LOCAL_RETENTION_BESIDE_STORE: Duration = Duration::from_secs(600);

    pub(crate) fn new() -> Self {
        Deliveries {
            local: LocalDeliveries::default(),
            #[cfg(feature = "redis")]
            shared: None,
            lease: Self::DEFAULT_LEASE,
            retention: Self::DEFAULT_RETENTION,
            owners: AtomicU64::new(first_owner()),
        }
    }

    #[cfg(feature = "redis")]
    pub(crate) fn with_shared(mut self, shared: shared::SharedDeliveries) -> Self {
        self.shared = Some(shared);
        self
    }

    pub(crate) fn with_times(mut self, lease: Duration, retention: Duration) -> Self {
        self.lease = lease;
        self.retention = retention;
        self
    }

    #[cfg(feature = "redis")]
    pub(crate) fn shared(&self) -> Option<&shared::SharedDeliveries> {
        self.shared.as_ref()
    }

    /// Claims delivery `id`: in the shared store when there is one and it answers in time,
    /// else in this process.
    pub(crate) async fn claim(self: &Arc<Self>, id: &str) -> Claimed {
        let owner = self.owners.fetch_add(1, Ordering::Relaxed);
        #[cfg_attr(not(feature = "redis"), allow(unused_variables))]
        let claim = |shared: bool| Claim {
            record: self.clone(),
            id: id.to_owned(),
            owner,
            #[cfg(feature = "redis")]
            shared,
            finished: false,
        };
        #[cfg(feature = "redis")]
        if let Some(shared) = &self.shared {
            use shared::SharedClaim;
            match shared.claim(id, owner, self.lease).await {
                Some(SharedClaim::Claimed) => {
                    // Also in process: a duplicate reaching this instance while Redis is away
                    // still finds it.
                    self.local.claim(id, owner, self.lease);
                    return Claimed::Run(claim(true));
                }
                Some(SharedClaim::InProgress) => return Claimed::InProgress,
                Some(SharedClaim::Done) => return Claimed::Done,
                None => {}
            }
        }
        #[cfg(not(feature = "redis"))]
        let _ = &claim;
        match self.local.claim(id, owner, self.lease) {
            LocalClaim::Claimed => Claimed::Run(claim(false)),
            LocalClaim::InProgress => Claimed::InProgress,
            LocalClaim::Done => Claimed::Done,
        }
    }
}

/// A start for claim owners unlikely to repeat across processes (they tell whose claim a
/// shared record holds).
fn first_owner() -> u64 {
    let mut bytes = [0u8; 8];
    if aws_lc_rs::rand::fill(&mut bytes).is_err() {
        return u64::from(std::process::id()) << 32;
    }
    u64::from_le_bytes(bytes) >> 1
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum LocalState {
    InProgress(u64),
    Done,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum LocalClaim {
    Claimed,
    InProgress,
    Done,
}

/// The in-process record: `svix-id` → state and expiry, at most `LOCAL_CAPACITY` entries.
/// When full, expired entries are dropped; if that frees nothing, the processed entries that
/// are closest to expiry are forgotten, half of them at once (so the walk is paid once per
/// many deliveries, never per delivery), with a warning. Claims in progress are never
/// forgotten.
#[derive(Debug, Default)]
struct LocalDeliveries {
    map: Mutex<HashMap<String, (LocalState, Instant)>>,
    evictions: AtomicU64,
}

impl LocalDeliveries {
    fn claim(&self, id: &str, owner: u64, lease: Duration) -> LocalClaim {
        let now = Instant::now();
        let mut map = self.map.lock();
        match map.get(id) {
            Some(&(LocalState::Done, until)) if until > now => return LocalClaim::Done,
            Some(&(LocalState::InProgress(_), until)) if until > now => {
                return LocalClaim::InProgress
            }
            _ => {}
        }
        if map.len() >= Deliveries::LOCAL_CAPACITY && !map.contains_key(id) {
            self.make_room(&mut map, now);
            if map.len() >= Deliveries::LOCAL_CAPACITY {
                // Every entry a claim in progress: processed without being recorded (at
                // least once, as without the record).
                return LocalClaim::Claimed;
            }
        }
        map.insert(id.to_owned(), (LocalState::InProgress(owner), now + lease));
        LocalClaim::Claimed
    }

    fn make_room(&self, map: &mut HashMap<String, (LocalState, Instant)>, now: Instant) {
        map.retain(|_, (_, until)| *until > now);
        if map.len() < Deliveries::LOCAL_CAPACITY {
            return;
        }
        let mut done: Vec<Instant> = map
            .values()
            .filter(|(state, _)| *state == LocalState::Done)
            .map(|(_, until)| *until)
            .collect();
        let half = done.len() / 2;
        if half == 0 {
            return;
        }
        let (_, &mut cut, _) = done.select_nth_unstable(half);
        map.retain(|_, (state, until)| *state != LocalState::Done || *until > cut);
        let n = self.evictions.fetch_add(1, Ordering::Relaxed) + 1;
        if n.is_power_of_two() {
            tracing::warn!(
                capacity = Deliveries::LOCAL_CAPACITY,
                "clerk webhook: in-process delivery record full; forgot the processed deliveries closest to expiry"
            );
        }
    }

    fn done(&self, id: &str, retention: Duration) {
        let now = Instant::now();
        let mut map = self.map.lock();
        if map.len() >= Deliveries::LOCAL_CAPACITY && !map.contains_key(id) {
            self.make_room(&mut map, now);
        }
        if map.len() < Deliveries::LOCAL_CAPACITY || map.contains_key(id) {
            map.insert(id.to_owned(), (LocalState::Done, now + retention));
        }
    }

    fn release(&self, id: &str, owner: u64) {
        let mut map = self.map.lock();
        if matches!(map.get(id), Some((LocalState::InProgress(o), _)) if *o == owner) {
            map.remove(id);
        }
    }
}

#[cfg(feature = "redis")]
pub(crate) mod shared {
    //! The deployment's record, in the shared store: `{prefix}:{ns}:wh:{id}` holds
    //! `p:<owner>` while a delivery is processed (expiring with the lease) and `d` once it was
    //! (expiring after the retention). `ns` and `id` are keyed hashes of the signing secret
    //! and of the `svix-id`.

    use std::time::Duration;

    use crate::store::{Count, KeyedHash, SharedStore};

    const CLAIM: &str = r"
if redis.call('SET', KEYS[1], ARGV[1], 'NX', 'PX', ARGV[2]) then return 0 end
if redis.call('GET', KEYS[1]) == 'd' then return 2 end
return 1
";

    const RELEASE: &str = r"
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
";

    #[derive(Debug, Clone)]
    pub(crate) struct SharedDeliveries {
        store: SharedStore,
        hash: KeyedHash,
        claim: redis::Script,
        release: redis::Script,
    }

    pub(crate) enum SharedClaim {
        Claimed,
        InProgress,
        Done,
    }

    fn millis(d: Duration) -> u64 {
        u64::try_from(d.as_millis()).unwrap_or(u64::MAX).max(1)
    }

    impl SharedDeliveries {
        /// `secret`: the decoded signing secret (the namespace is the endpoint's).
        pub(crate) fn new(store: SharedStore, secret: &[u8]) -> Self {
            SharedDeliveries {
                store,
                hash: KeyedHash::new(secret, "webhook deliveries"),
                claim: redis::Script::new(CLAIM),
                release: redis::Script::new(RELEASE),
            }
        }

        pub(crate) fn store(&self) -> &SharedStore {
            &self.store
        }

        fn key(&self, id: &str) -> String {
            let hashed = self.hash.id(&[id.as_bytes()]);
            self.store.key(&[self.hash.namespace(), "wh", &hashed])
        }

        /// `None`: the store did not answer in time.
        pub(crate) async fn claim(
            &self,
            id: &str,
            owner: u64,
            lease: Duration,
        ) -> Option<SharedClaim> {
            let key = self.key(id);
            let script = self.claim.clone();
            let answer = self
                .store
                .run(|mut conn| {
                    let mut call = script.prepare_invoke();
                    call.key(&key)
                        .arg(format!("p:{owner:x}"))
                        .arg(millis(lease));
                    async move { call.invoke_async::<i64>(&mut conn).await }
                })
                .await
                .ok()?;
            Some(match answer {
                0 => {
                    self.store.count(Count::Claimed);
                    SharedClaim::Claimed
                }
                2 => {
                    self.store.count(Count::Duplicate);
                    SharedClaim::Done
                }
                _ => {
                    self.store.count(Count::InProgress);
                    SharedClaim::InProgress
                }
            })
        }

        /// Whether the store recorded it.
        pub(crate) async fn done(&self, id: &str, retention: Duration) -> bool {
            let key = self.key(id);
            self.store
                .run(|mut conn| {
                    let mut cmd = redis::cmd("SET");
                    cmd.arg(&key).arg("d").arg("PX").arg(millis(retention));
                    async move { cmd.query_async::<()>(&mut conn).await }
                })
                .await
                .is_ok()
        }

        pub(crate) async fn release(&self, id: &str, owner: u64) {
            let key = self.key(id);
            let script = self.release.clone();
            let _ = self
                .store
                .run(|mut conn| {
                    let mut call = script.prepare_invoke();
                    call.key(&key).arg(format!("p:{owner:x}"));
                    async move { call.invoke_async::<i64>(&mut conn).await }
                })
                .await;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_full_record_forgets_half_of_the_processed_entries_at_once() {
        let local = LocalDeliveries::default();
        let lease = Duration::from_secs(60);
        let n = Deliveries::LOCAL_CAPACITY;
        for i in 0..n {
            assert_eq!(local.claim(&format!("m{i}"), 1, lease), LocalClaim::Claimed);
            if i % 10 != 0 {
                local.done(&format!("m{i}"), Duration::from_secs(1_000 + i as u64));
            }
        }
        assert_eq!(local.map.lock().len(), n);
        // Full: a new delivery makes room once, forgetting the processed entries closest to
        // expiry, never a claim in progress.
        assert_eq!(local.claim("new", 2, lease), LocalClaim::Claimed);
        let len = local.map.lock().len();
        assert!(len < n * 6 / 10 && len > n * 4 / 10, "{len}");
        assert_eq!(local.claim("m0", 3, lease), LocalClaim::InProgress);
        assert_eq!(
            local.claim(&format!("m{}", n - 1), 3, lease),
            LocalClaim::Done
        );
        assert_eq!(
            local.claim("m1", 3, lease),
            LocalClaim::Claimed,
            "forgotten"
        );
        assert_eq!(local.evictions.load(Ordering::Relaxed), 1);
    }

    #[test]
    fn the_local_record_claims_once_releases_and_remembers() {
        let local = LocalDeliveries::default();
        let lease = Duration::from_secs(60);
        assert_eq!(local.claim("msg_1", 1, lease), LocalClaim::Claimed);
        assert_eq!(local.claim("msg_1", 2, lease), LocalClaim::InProgress);
        // Only the owner releases.
        local.release("msg_1", 2);
        assert_eq!(local.claim("msg_1", 3, lease), LocalClaim::InProgress);
        local.release("msg_1", 1);
        assert_eq!(local.claim("msg_1", 4, lease), LocalClaim::Claimed);
        local.done("msg_1", Duration::from_secs(60));
        assert_eq!(local.claim("msg_1", 5, lease), LocalClaim::Done);
        // A lease that ended lets the delivery be taken over.
        assert_eq!(local.claim("msg_2", 6, Duration::ZERO), LocalClaim::Claimed);
        assert_eq!(local.claim("msg_2", 7, lease), LocalClaim::Claimed);
    }
}
