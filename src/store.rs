//! [`SharedStore`]: state shared by the instances of one deployment, on Redis (feature
//! `redis`; contract §14).
//!
//! Two things move there from each process:
//! - **webhook deliveries**, claimed by `svix-id` before the handler runs, so a deployment
//!   processes each delivery once ([`WebhookVerifier::once`](crate::WebhookVerifier::once));
//! - **opaque machine-token answers** (API keys, M2M and OAuth tokens verified by Clerk's
//!   Backend API), shared for the cache TTL with a deployment-wide single flight and rate
//!   bound ([`ClerkConfigBuilder::shared_store`](crate::ClerkConfigBuilder::shared_store)).
//!
//! The store is an optimisation and a de-duplication aid, never the authority:
//! - every operation is bounded by [`SharedStore::timeout`] (default 100 ms); after a failed
//!   connection, or two timeouts in a row, the store is skipped for [`SharedStore::BACKOFF`]
//!   and each instance decides alone (its own cache, Clerk's API), so a slow or absent Redis
//!   costs at most two timeouts per instance per second;
//! - a shared answer is authenticated: its value carries an HMAC keyed by a key derived from
//!   the instance's secret key, and an answer that does not verify is ignored, so whoever can
//!   write to Redis still cannot sign a request in;
//! - no token, secret or delivery body is stored: keys are keyed hashes (HMAC-SHA256) of the
//!   token or delivery id, namespaced per Clerk instance (a hash of its secret key, or of the
//!   webhook signing secret).

use std::fmt;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

use aws_lc_rs::hmac;
use redis::aio::ConnectionManager;

use crate::error::ConfigError;

/// The environment variable [`SharedStore::from_env`] reads.
pub const REDIS_URL_ENV: &str = "REDIS_URL";

/// A Redis shared by the instances of one deployment: hand one (cloned) to
/// [`ClerkConfigBuilder::shared_store`](crate::ClerkConfigBuilder::shared_store) and to
/// [`WebhookVerifier::shared_store`](crate::WebhookVerifier::shared_store).
///
/// ```no_run
/// use actix_clerk::{SharedStore, WebhookVerifier};
///
/// #[actix_web::main]
/// async fn main() -> Result<(), Box<dyn std::error::Error>> {
///     // REDIS_URL=redis://redis.internal:6379 (rediss:// for TLS); unset: per-instance state.
///     let store = SharedStore::from_env()?;
///     let mut config = actix_clerk::ClerkConfigBuilder::from_env()?;
///     let mut webhooks = WebhookVerifier::from_env()?;
///     if let Some(store) = store {
///         config = config.shared_store(store.clone());
///         webhooks = webhooks.shared_store(store);
///     }
///     let config = config.build()?;
///     # let _ = (config, webhooks);
///     Ok(())
/// }
/// ```
///
/// One multiplexed connection (redis-rs's `ConnectionManager`), opened on first use and
/// re-opened by itself after a failure; cheap to clone (clones share the connection and the
/// counters). Created inside a Tokio runtime (actix's `main` is one). `Debug` shows the host,
/// never a password.
#[derive(Clone)]
pub struct SharedStore {
    client: redis::Client,
    conn: ConnectionManager,
    timeout: Duration,
    prefix: Arc<str>,
    state: Arc<State>,
}

/// Counters of a [`SharedStore`] since it was created (shared by its clones), from
/// [`SharedStore::stats`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub struct SharedStoreStats {
    /// Operations sent to Redis.
    pub operations: u64,
    /// Operations that failed or timed out (the instance then decided alone).
    pub failures: u64,
    /// Operations skipped because a recent failure put the store in back-off.
    pub skipped: u64,
    /// Machine-token answers taken from the store (another instance had verified the token).
    pub machine_answers_shared: u64,
    /// Machine-token answers this instance verified and wrote to the store.
    pub machine_answers_written: u64,
    /// Times this instance waited for another instance verifying the same token.
    pub machine_waits: u64,
    /// Verifications refused because the deployment-wide rate bound was reached.
    pub machine_rate_refusals: u64,
    /// Shared answers ignored because their authentication tag did not verify.
    pub rejected_answers: u64,
    /// Webhook deliveries claimed in the store (the handler then ran here).
    pub deliveries_claimed: u64,
    /// Duplicate deliveries answered without running the handler (already processed).
    pub deliveries_duplicate: u64,
    /// Duplicate deliveries answered `409` because another instance was processing them.
    pub deliveries_in_progress: u64,
}

#[derive(Default)]
struct State {
    /// Until when (ms since `epoch()`) the store is skipped after a failure.
    backoff_until: AtomicU64,
    /// Timeouts in a row (a success resets it).
    timeouts_in_a_row: AtomicU64,
    operations: AtomicU64,
    failures: AtomicU64,
    skipped: AtomicU64,
    pub(crate) machine_shared: AtomicU64,
    pub(crate) machine_written: AtomicU64,
    pub(crate) machine_waits: AtomicU64,
    pub(crate) machine_rate: AtomicU64,
    pub(crate) rejected: AtomicU64,
    pub(crate) claimed: AtomicU64,
    pub(crate) duplicate: AtomicU64,
    pub(crate) in_progress: AtomicU64,
    target: String,
}

/// Which counter of the store to bump (for the modules that use it).
#[derive(Debug, Clone, Copy)]
pub(crate) enum Count {
    MachineShared,
    MachineWritten,
    MachineWait,
    MachineRate,
    Rejected,
    Claimed,
    Duplicate,
    InProgress,
}

fn epoch() -> Instant {
    static EPOCH: OnceLock<Instant> = OnceLock::new();
    *EPOCH.get_or_init(Instant::now)
}

fn now_ms() -> u64 {
    u64::try_from(epoch().elapsed().as_millis()).unwrap_or(u64::MAX)
}

impl fmt::Debug for SharedStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SharedStore")
            .field("target", &self.state.target)
            .field("timeout", &self.timeout)
            .field("prefix", &self.prefix)
            .finish_non_exhaustive()
    }
}

/// A failed or skipped store operation: the caller decides alone.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Unavailable;

impl SharedStore {
    /// How long the store is skipped after a failed or timed-out operation.
    pub const BACKOFF: Duration = Duration::from_secs(1);

    /// The default [`timeout`](Self::timeout) of one operation.
    pub const DEFAULT_TIMEOUT: Duration = Duration::from_millis(100);

    /// A store on the Redis at `url` (`redis://[user:password@]host[:port][/db]`, or
    /// `rediss://` for TLS with the web's root certificates). Nothing is sent yet: the
    /// connection opens on first use, so an application starts even while Redis is down (it
    /// then decides each request alone).
    ///
    /// # Errors
    /// [`ConfigError::InvalidRedisUrl`] when `url` is not a Redis URL (the message never shows
    /// a password); [`ConfigError::NoRuntime`] when called outside a Tokio runtime.
    pub fn redis(url: &str) -> Result<SharedStore, ConfigError> {
        let client = redis::Client::open(url).map_err(|_| ConfigError::InvalidRedisUrl)?;
        if tokio::runtime::Handle::try_current().is_err() {
            return Err(ConfigError::NoRuntime);
        }
        if url.starts_with("rediss:") {
            // redis-rs builds its TLS configuration on the process's default provider.
            let _ = rustls::crypto::aws_lc_rs::default_provider().install_default();
        }
        let target = describe(url);
        let timeout = Self::DEFAULT_TIMEOUT;
        let conn = ConnectionManager::new_lazy_with_config(client.clone(), manager_config(timeout))
            .map_err(|_| ConfigError::InvalidRedisUrl)?;
        Ok(SharedStore {
            client,
            conn,
            timeout,
            prefix: Arc::from("clerk"),
            state: Arc::new(State {
                target,
                ..State::default()
            }),
        })
    }

    /// A store on the Redis named by `REDIS_URL`; `None` when it is unset or empty (each
    /// instance then keeps its own state).
    ///
    /// # Errors
    /// As [`redis`](Self::redis); [`ConfigError::NotUnicode`] when the variable is not UTF-8.
    pub fn from_env() -> Result<Option<SharedStore>, ConfigError> {
        match std::env::var(REDIS_URL_ENV) {
            Ok(url) if !url.trim().is_empty() => Self::redis(url.trim()).map(Some),
            Ok(_) | Err(std::env::VarError::NotPresent) => Ok(None),
            Err(std::env::VarError::NotUnicode(_)) => Err(ConfigError::NotUnicode(REDIS_URL_ENV)),
        }
    }

    /// The longest one operation may take before the instance decides alone (default 100 ms;
    /// at least 1 ms). Set it before handing the store out (the connection, not yet opened, is
    /// set up again with it).
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout.max(Duration::from_millis(1));
        // Within the runtime `redis` required; should that fail, the outer bound still holds.
        if tokio::runtime::Handle::try_current().is_ok() {
            if let Ok(conn) = ConnectionManager::new_lazy_with_config(
                self.client.clone(),
                manager_config(self.timeout),
            ) {
                self.conn = conn;
            }
        }
        self
    }

    /// The first segment of every key (default `clerk`), for a Redis shared with other uses.
    pub fn key_prefix(mut self, prefix: &str) -> Self {
        self.prefix = Arc::from(prefix);
        self
    }

    /// The counters so far.
    pub fn stats(&self) -> SharedStoreStats {
        let s = &*self.state;
        let get = |a: &AtomicU64| a.load(Ordering::Relaxed);
        SharedStoreStats {
            operations: get(&s.operations),
            failures: get(&s.failures),
            skipped: get(&s.skipped),
            machine_answers_shared: get(&s.machine_shared),
            machine_answers_written: get(&s.machine_written),
            machine_waits: get(&s.machine_waits),
            machine_rate_refusals: get(&s.machine_rate),
            rejected_answers: get(&s.rejected),
            deliveries_claimed: get(&s.claimed),
            deliveries_duplicate: get(&s.duplicate),
            deliveries_in_progress: get(&s.in_progress),
        }
    }

    pub(crate) fn count(&self, which: Count) {
        let s = &*self.state;
        let counter = match which {
            Count::MachineShared => &s.machine_shared,
            Count::MachineWritten => &s.machine_written,
            Count::MachineWait => &s.machine_waits,
            Count::MachineRate => &s.machine_rate,
            Count::Rejected => &s.rejected,
            Count::Claimed => &s.claimed,
            Count::Duplicate => &s.duplicate,
            Count::InProgress => &s.in_progress,
        };
        counter.fetch_add(1, Ordering::Relaxed);
        #[cfg(feature = "metrics")]
        crate::metrics::shared_store(match which {
            Count::MachineShared => "machine_shared",
            Count::MachineWritten => "machine_written",
            Count::MachineWait => "machine_wait",
            Count::MachineRate => "machine_rate_refused",
            Count::Rejected => "rejected_answer",
            Count::Claimed => "delivery_claimed",
            Count::Duplicate => "delivery_duplicate",
            Count::InProgress => "delivery_in_progress",
        });
    }

    /// A key under this store's prefix: `{prefix}:{parts…}`.
    pub(crate) fn key(&self, parts: &[&str]) -> String {
        let mut key = String::with_capacity(64);
        key.push_str(&self.prefix);
        for part in parts {
            key.push(':');
            key.push_str(part);
        }
        key
    }

    /// Runs one operation within the timeout, unless the store is in back-off; a failure
    /// starts the back-off.
    pub(crate) async fn run<T, F, Fut>(&self, op: F) -> Result<T, Unavailable>
    where
        F: FnOnce(ConnectionManager) -> Fut,
        Fut: std::future::Future<Output = redis::RedisResult<T>>,
    {
        let s = &*self.state;
        if s.backoff_until.load(Ordering::Relaxed) > now_ms() {
            s.skipped.fetch_add(1, Ordering::Relaxed);
            #[cfg(feature = "metrics")]
            crate::metrics::shared_store("skipped");
            return Err(Unavailable);
        }
        s.operations.fetch_add(1, Ordering::Relaxed);
        match tokio::time::timeout(self.timeout, op(self.conn.clone())).await {
            Ok(Ok(value)) => {
                s.timeouts_in_a_row.store(0, Ordering::Relaxed);
                Ok(value)
            }
            Ok(Err(err)) if err.is_timeout() => {
                self.timed_out();
                Err(Unavailable)
            }
            Ok(Err(_)) => {
                self.failed("failed");
                Err(Unavailable)
            }
            Err(_) => {
                self.timed_out();
                Err(Unavailable)
            }
        }
    }

    /// A slow answer: counted; the back-off starts at the second in a row (one late answer
    /// on a busy machine does not send every request of the next second around the store; a
    /// Redis that is away costs two timeouts a second at most).
    fn timed_out(&self) {
        let s = &*self.state;
        if s.timeouts_in_a_row.fetch_add(1, Ordering::Relaxed) + 1 >= 2 {
            self.failed("timed out");
        } else {
            s.failures.fetch_add(1, Ordering::Relaxed);
            #[cfg(feature = "metrics")]
            crate::metrics::shared_store("failure");
        }
    }

    /// A failure that starts the back-off.
    fn failed(&self, what: &'static str) {
        let s = &*self.state;
        let n = s.failures.fetch_add(1, Ordering::Relaxed) + 1;
        let until = now_ms().saturating_add(Self::BACKOFF.as_millis() as u64);
        let before = s.backoff_until.swap(until, Ordering::Relaxed);
        #[cfg(feature = "metrics")]
        crate::metrics::shared_store("failure");
        // Logged when a back-off starts, not for every request it covers.
        if before <= now_ms() || n.is_power_of_two() {
            tracing::warn!(
                target_store = %s.target,
                failures = n,
                "clerk: shared store {what}; deciding on this instance alone for {} ms",
                Self::BACKOFF.as_millis()
            );
        }
    }
}

fn manager_config(timeout: Duration) -> redis::aio::ConnectionManagerConfig {
    redis::aio::ConnectionManagerConfig::new()
        .set_response_timeout(Some(timeout))
        .set_connection_timeout(Some(timeout.max(Duration::from_millis(500))))
        .set_number_of_retries(2)
        .set_min_delay(Duration::from_millis(50))
        .set_max_delay(Duration::from_secs(1))
}

/// `scheme://host:port/db` without credentials, for logs and `Debug`.
fn describe(url: &str) -> String {
    match url::Url::parse(url) {
        Ok(u) => {
            let host = u.host_str().unwrap_or("");
            match u.port() {
                Some(port) => format!("{}://{host}:{port}{}", u.scheme(), u.path()),
                None => format!("{}://{host}{}", u.scheme(), u.path()),
            }
        }
        Err(_) => "redis".to_owned(),
    }
}

/// A keyed hash for store keys and answer tags: HMAC-SHA256 under a key derived from an
/// instance secret (`purpose` separates the uses).
#[derive(Clone)]
pub(crate) struct KeyedHash {
    key: hmac::Key,
    /// Short hex name of the secret, the namespace of its keys.
    namespace: String,
}

impl KeyedHash {
    pub(crate) fn new(secret: &[u8], purpose: &str) -> KeyedHash {
        let root = hmac::Key::new(hmac::HMAC_SHA256, secret);
        let derived = hmac::sign(
            &root,
            format!("actix-clerk shared store: {purpose}").as_bytes(),
        );
        let key = hmac::Key::new(hmac::HMAC_SHA256, derived.as_ref());
        let ns = hmac::sign(&key, b"namespace");
        KeyedHash {
            namespace: hex(&ns.as_ref()[..6]),
            key,
        }
    }

    pub(crate) fn namespace(&self) -> &str {
        &self.namespace
    }

    /// 128 bits of HMAC over the parts (each length-prefixed), as hex.
    pub(crate) fn id(&self, parts: &[&[u8]]) -> String {
        hex(&self.tag(parts)[..16])
    }

    pub(crate) fn tag(&self, parts: &[&[u8]]) -> [u8; 32] {
        let mut ctx = hmac::Context::with_key(&self.key);
        for part in parts {
            ctx.update(&(part.len() as u64).to_be_bytes());
            ctx.update(part);
        }
        let mut out = [0u8; 32];
        out.copy_from_slice(ctx.sign().as_ref());
        out
    }
}

impl fmt::Debug for KeyedHash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("KeyedHash")
            .field("namespace", &self.namespace)
            .finish_non_exhaustive()
    }
}

pub(crate) fn hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut out = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        out.push(DIGITS[usize::from(b >> 4)] as char);
        out.push(DIGITS[usize::from(b & 15)] as char);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn described_without_credentials() {
        assert_eq!(
            describe("redis://user:hunter2@cache.internal:6380/2"),
            "redis://cache.internal:6380/2"
        );
        assert!(!describe("rediss://:pw@h/0").contains("pw"));
    }

    #[test]
    fn keyed_hashes_depend_on_secret_and_purpose() {
        let a = KeyedHash::new(b"sk_test_a", "machine");
        let b = KeyedHash::new(b"sk_test_b", "machine");
        let c = KeyedHash::new(b"sk_test_a", "webhook");
        assert_ne!(a.namespace(), b.namespace());
        assert_ne!(a.namespace(), c.namespace());
        assert_eq!(
            a.id(&[b"x"]),
            KeyedHash::new(b"sk_test_a", "machine").id(&[b"x"])
        );
        assert_ne!(a.id(&[b"ab", b"c"]), a.id(&[b"a", b"bc"]));
        assert_eq!(a.id(&[b"x"]).len(), 32);
    }

    #[actix_rt::test]
    async fn an_unreachable_store_backs_off_within_its_timeout() {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        let port = listener.local_addr().expect("addr").port();
        drop(listener);
        let store = SharedStore::redis(&format!("redis://127.0.0.1:{port}"))
            .expect("store")
            .timeout(Duration::from_millis(50));
        let started = Instant::now();
        let first: Result<Option<String>, Unavailable> = store
            .run(|mut c| async move { redis::cmd("GET").arg("k").query_async(&mut c).await })
            .await;
        assert_eq!(first, Err(Unavailable));
        assert!(started.elapsed() < Duration::from_millis(1_000));
        let get = || {
            store.run(|mut c| async move {
                redis::cmd("GET")
                    .arg("k")
                    .query_async::<Option<String>>(&mut c)
                    .await
            })
        };
        // A second failure in a row starts the back-off, within which nothing is sent.
        assert_eq!(get().await, Err(Unavailable));
        assert_eq!(get().await, Err(Unavailable));
        let stats = store.stats();
        assert_eq!((stats.operations, stats.failures, stats.skipped), (2, 2, 1));
    }

    #[test]
    fn outside_a_runtime_is_a_configuration_error() {
        assert_eq!(
            SharedStore::redis("redis://127.0.0.1:6379").err(),
            Some(ConfigError::NoRuntime)
        );
        assert_eq!(
            SharedStore::redis("http://x").err(),
            Some(ConfigError::InvalidRedisUrl)
        );
    }
}
