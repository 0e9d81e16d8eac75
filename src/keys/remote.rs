//! The remote key store: the instance's JWKS, fetched with the secret key, shared by every
//! worker. See the [module docs](super) for its rules.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use parking_lot::RwLock;

use super::fetch::{fetch_jwks, ACTION_CONTACT_SUPPORT};
use super::jwks::parse_answer;
use super::key::VerifyKey;
use super::{KeyFailure, NO_USABLE_KEYS};
use crate::error::{ConfigError, Reason};
use crate::secret::Secret;

/// Tunables of the remote key store.
#[derive(Debug, Clone)]
pub(crate) struct RemoteOptions {
    pub ttl: Duration,
    pub fetch_timeout: Duration,
    pub unknown_kid_cooldown: Duration,
    pub max_stale: Duration,
    pub backoff_base: Duration,
    pub backoff_max: Duration,
}

impl Default for RemoteOptions {
    fn default() -> Self {
        RemoteOptions {
            ttl: Duration::from_secs(300),
            fetch_timeout: Duration::from_secs(5),
            unknown_kid_cooldown: Duration::from_secs(30),
            max_stale: Duration::from_secs(3600),
            backoff_base: Duration::from_secs(1),
            backoff_max: Duration::from_secs(60),
        }
    }
}

impl RemoteOptions {
    pub(crate) fn validate(&self) -> Result<(), ConfigError> {
        if self.ttl.is_zero() {
            return Err(ConfigError::InvalidDuration("JWKS cache TTL"));
        }
        if self.fetch_timeout.is_zero() || self.fetch_timeout > Duration::from_secs(300) {
            return Err(ConfigError::InvalidDuration("JWKS fetch timeout"));
        }
        Ok(())
    }
}

#[derive(Default)]
struct State {
    keys: HashMap<String, Arc<VerifyKey>>,
    /// When the current keys were fetched.
    fetched_at: Option<Instant>,
    /// When the last fetch (successful or not) finished.
    last_attempt: Option<Instant>,
    consecutive_failures: u32,
    last_error: Option<KeyFailure>,
    /// Bumped after every finished fetch attempt.
    generation: u64,
    /// Bumped whenever the key set is replaced.
    key_generation: u64,
    refresh_in_flight: bool,
}

impl State {
    fn backoff(&self, opts: &RemoteOptions) -> Duration {
        if self.consecutive_failures == 0 {
            return Duration::ZERO;
        }
        let shift = (self.consecutive_failures - 1).min(16);
        (opts.backoff_base * (1u32 << shift)).min(opts.backoff_max)
    }

    /// Whether a new attempt may start now (no failure backoff pending).
    fn may_attempt(&self, now: Instant, opts: &RemoteOptions) -> bool {
        match self.last_attempt {
            Some(at) if self.consecutive_failures > 0 => {
                now.duration_since(at) >= self.backoff(opts)
            }
            _ => true,
        }
    }

    fn retry_after(&self, now: Instant, opts: &RemoteOptions) -> u64 {
        let wait = match self.last_attempt {
            Some(at) => self.backoff(opts).saturating_sub(now.duration_since(at)),
            None => Duration::ZERO,
        };
        wait.as_secs_f64().ceil().max(1.0) as u64
    }
}

/// Clears `refresh_in_flight` when the background refresh ends, also when its task is dropped
/// unfinished (worker stopped or restarted), so that later refreshes are not blocked forever.
struct RefreshInFlight(Arc<RemoteKeys>);

impl Drop for RefreshInFlight {
    fn drop(&mut self) {
        self.0.state.write().refresh_in_flight = false;
    }
}

enum Step {
    Key(Arc<VerifyKey>, u64),
    Fail(KeyFailure),
    Fetch(u64),
}

/// Counters of the remote store, for [`ClerkConfig::stats`](crate::ClerkConfig::stats).
#[derive(Default)]
pub(crate) struct FetchCounters {
    pub fetches: AtomicU64,
    pub failures: AtomicU64,
}

/// The remote JWKS cache shared by all workers.
pub(crate) struct RemoteKeys {
    pub(crate) url: String,
    secret: Secret,
    opts: RemoteOptions,
    state: RwLock<State>,
    fetch_lock: tokio::sync::Mutex<()>,
    pub(crate) counters: FetchCounters,
    /// When the store was made: the base of the millisecond clocks below.
    epoch: Instant,
    /// Mirrors of the state for the lock-free generation read of every cache hit:
    /// the key set's generation, and until when (ms since `epoch`) its keys may serve.
    generation_now: AtomicU64,
    usable_until_ms: AtomicU64,
    /// From when (ms since `epoch`) a refresh ahead is worth checking for.
    refresh_from_ms: AtomicU64,
    /// Whether the last fetch attempt failed (for [`ClerkConfig::stats`](crate::ClerkConfig::stats)).
    pub(crate) last_failed: AtomicBool,
}

impl RemoteKeys {
    pub(crate) fn new(url: String, secret: Secret, opts: RemoteOptions) -> Self {
        RemoteKeys {
            url,
            secret,
            opts,
            state: RwLock::new(State::default()),
            fetch_lock: tokio::sync::Mutex::new(()),
            counters: FetchCounters::default(),
            epoch: Instant::now(),
            generation_now: AtomicU64::new(0),
            usable_until_ms: AtomicU64::new(0),
            refresh_from_ms: AtomicU64::new(u64::MAX),
            last_failed: AtomicBool::new(false),
        }
    }

    /// When the current keys were fetched, and the last fetch error (for stats).
    pub(crate) fn snapshot(&self) -> (Option<Instant>, usize) {
        let st = self.state.read();
        (st.fetched_at, st.keys.len())
    }

    /// Fetches now unless a fetch finished meanwhile; `Ok` when usable keys are there after.
    pub(crate) async fn warm_up(&self) -> Result<(), KeyFailure> {
        let seen = self.state.read().generation;
        self.fetch_shared(seen).await;
        let st = self.state.read();
        match (&st.last_error, st.keys.is_empty()) {
            (None, false) => Ok(()),
            (Some(err), _) => Err(err.clone()),
            (None, true) => Err(KeyFailure {
                reason: Reason::RemoteJwkFailedToLoad,
                message: "no keys".into(),
                action: None,
                retry_after_secs: 1,
            }),
        }
    }
    fn kid_mismatch(kid: &str) -> KeyFailure {
        KeyFailure {
            reason: Reason::JwkKidMismatch,
            message: format!("Unable to find a signing key in JWKS that matches the kid='{kid}' of the provided session token. Please make sure that the __session cookie or the HTTP authorization header contain a Clerk-generated session JWT."),
            action: Some(format!("Go to your Dashboard and validate your secret and public keys are correct. {ACTION_CONTACT_SUPPORT} if the issue persists.")),
            retry_after_secs: 0,
        }
    }

    fn outage(&self, st: &State, now: Instant) -> KeyFailure {
        let mut failure = st.last_error.clone().unwrap_or_else(|| KeyFailure {
            reason: Reason::RemoteJwkFailedToLoad,
            message: "Failed to load JWKS from Clerk Backend API.".into(),
            action: Some(ACTION_CONTACT_SUPPORT.into()),
            retry_after_secs: 1,
        });
        failure.retry_after_secs = st.retry_after(now, &self.opts);
        failure
    }

    /// The age of the current keys while they may still serve (within `ttl + max_stale`).
    fn usable_age(&self, st: &State, now: Instant) -> Option<Duration> {
        st.fetched_at
            .map(|at| now.duration_since(at))
            .filter(|age| *age <= self.opts.ttl + self.opts.max_stale)
    }

    /// Whether a background refresh should start now: keys at 80 % of their TTL or older, no
    /// backoff pending, none running.
    fn refresh_due(&self, st: &State, age: Duration, now: Instant) -> bool {
        age >= self.opts.ttl.mul_f64(0.8)
            && st.may_attempt(now, &self.opts)
            && !st.refresh_in_flight
    }

    fn ms_since_epoch(&self, at: Instant) -> u64 {
        at.saturating_duration_since(self.epoch).as_millis() as u64
    }

    /// The generation of the key set that may serve now, or [`NO_USABLE_KEYS`]. Lock-free, no
    /// side effects.
    pub(crate) fn current_generation(&self) -> u64 {
        let now = self.ms_since_epoch(Instant::now());
        if now > self.usable_until_ms.load(Ordering::Acquire) {
            return NO_USABLE_KEYS;
        }
        self.generation_now.load(Ordering::Acquire)
    }

    /// Starts a background refresh when the keys are at 80 % of their TTL or older (and no
    /// backoff is pending and none runs). Cheap when nothing is due: one atomic load.
    pub(crate) fn refresh_if_due(self: &Arc<Self>) {
        let now = Instant::now();
        if self.ms_since_epoch(now) < self.refresh_from_ms.load(Ordering::Relaxed) {
            return;
        }
        let due = {
            let st = self.state.read();
            self.usable_age(&st, now)
                .is_some_and(|age| self.refresh_due(&st, age, now))
        };
        if due {
            self.spawn_refresh();
        }
    }

    /// Publishes the state's generation and deadlines to the lock-free mirrors.
    fn publish(&self, st: &State) {
        let (usable_until, refresh_from) = match st.fetched_at {
            Some(at) => (
                self.ms_since_epoch(at + self.opts.ttl + self.opts.max_stale),
                self.ms_since_epoch(at + self.opts.ttl.mul_f64(0.8)),
            ),
            None => (0, u64::MAX),
        };
        self.generation_now
            .store(st.key_generation, Ordering::Release);
        self.usable_until_ms.store(usable_until, Ordering::Release);
        self.refresh_from_ms.store(refresh_from, Ordering::Relaxed);
    }

    fn decide(self: &Arc<Self>, kid: &str, may_fetch_for_kid: bool) -> Step {
        let now = Instant::now();
        let mut spawn_refresh = false;
        let step = {
            let st = self.state.read();
            let may_attempt = st.may_attempt(now, &self.opts);
            match self.usable_age(&st, now) {
                Some(age) => match st.keys.get(kid) {
                    Some(key) => {
                        spawn_refresh = self.refresh_due(&st, age, now);
                        Step::Key(Arc::clone(key), st.key_generation)
                    }
                    None => {
                        let recently = st.last_attempt.is_some_and(|at| {
                            now.duration_since(at) < self.opts.unknown_kid_cooldown
                        });
                        if may_fetch_for_kid && may_attempt && !recently {
                            Step::Fetch(st.generation)
                        } else if st.last_error.is_some() {
                            // The last attempt failed: whether the API lists this kid by now
                            // is unknown, so no decision (503), not a mismatch (401).
                            Step::Fail(self.outage(&st, now))
                        } else {
                            Step::Fail(Self::kid_mismatch(kid))
                        }
                    }
                },
                _ if may_attempt => Step::Fetch(st.generation),
                _ => Step::Fail(self.outage(&st, now)),
            }
        };
        if spawn_refresh {
            self.spawn_refresh();
        }
        step
    }

    /// The key for `kid` and the generation of the key set it was found in.
    pub(crate) async fn resolve(
        self: &Arc<Self>,
        kid: &str,
    ) -> Result<(Arc<VerifyKey>, u64), KeyFailure> {
        let mut fetched = false;
        loop {
            match self.decide(kid, !fetched) {
                Step::Key(k, generation) => return Ok((k, generation)),
                Step::Fail(f) => return Err(f),
                Step::Fetch(seen) if !fetched => {
                    fetched = true;
                    self.fetch_shared(seen).await;
                }
                Step::Fetch(_) => {
                    // Still no usable keys after waiting for a fetch (failed, or not started
                    // in time): no decision possible.
                    let st = self.state.read();
                    return Err(self.outage(&st, Instant::now()));
                }
            }
        }
    }

    /// Starts a refresh on this worker without waiting for it, when the actix runtime is here.
    fn spawn_refresh(self: &Arc<Self>) {
        if actix_rt::Arbiter::try_current().is_none() {
            return;
        }
        let seen = {
            let mut st = self.state.write();
            if st.refresh_in_flight {
                return;
            }
            st.refresh_in_flight = true;
            st.generation
        };
        // Made before the task so that it is dropped (clearing the flag) even if the task
        // never runs.
        let in_flight = RefreshInFlight(Arc::clone(self));
        actix_rt::spawn(async move {
            in_flight.0.fetch_shared(seen).await;
            drop(in_flight);
        });
    }

    /// Fetches unless another fetch finished since `seen`; waits for a running one.
    pub(crate) async fn fetch_shared(&self, seen: u64) {
        let wait = self.opts.fetch_timeout + Duration::from_millis(250);
        let Ok(_guard) = tokio::time::timeout(wait, self.fetch_lock.lock()).await else {
            return;
        };
        if self.state.read().generation != seen {
            return;
        }
        self.counters.fetches.fetch_add(1, Ordering::Relaxed);
        let started = Instant::now();
        let fetch = async {
            let answer = fetch_jwks(&self.url, &self.secret, self.opts.fetch_timeout).await?;
            parse_answer(&self.url, &answer)
        };
        let result = match tokio::time::timeout(self.opts.fetch_timeout, fetch).await {
            Ok(r) => r,
            Err(_) => Err(KeyFailure {
                reason: Reason::RemoteJwkFailedToLoad,
                message: format!(
                    "Timed out after {} ms loading Clerk JWKS from {}.",
                    self.opts.fetch_timeout.as_millis(),
                    self.url
                ),
                action: Some(ACTION_CONTACT_SUPPORT.into()),
                retry_after_secs: 1,
            }),
        };
        let elapsed_ms = started.elapsed().as_millis() as u64;
        let now = Instant::now();
        let mut st = self.state.write();
        st.generation += 1;
        st.last_attempt = Some(now);
        match result {
            Ok(keys) => {
                tracing::debug!(url = %self.url, keys = keys.len(), elapsed_ms, "clerk: JWKS fetched");
                // The same keys again (the usual refresh) keep the generation, and with it
                // every verified token in the cache.
                let same = keys.len() == st.keys.len()
                    && keys
                        .iter()
                        .all(|(kid, k)| st.keys.get(kid).is_some_and(|old| **old == **k));
                if !same {
                    st.keys = keys;
                    st.key_generation += 1;
                }
                st.fetched_at = Some(now);
                st.consecutive_failures = 0;
                st.last_error = None;
                self.last_failed.store(false, Ordering::Relaxed);
            }
            Err(err) => {
                st.consecutive_failures = st.consecutive_failures.saturating_add(1);
                tracing::warn!(
                    url = %self.url,
                    reason = err.reason.as_str(),
                    error = %err.message,
                    elapsed_ms,
                    failures = st.consecutive_failures,
                    serving_stale = !st.keys.is_empty(),
                    "clerk: JWKS fetch failed"
                );
                st.last_error = Some(err);
                self.counters.failures.fetch_add(1, Ordering::Relaxed);
                self.last_failed.store(true, Ordering::Relaxed);
            }
        }
        self.publish(&st);
        #[cfg(feature = "metrics")]
        crate::metrics::key_fetch(elapsed_ms, st.last_error.is_none());
    }
}
