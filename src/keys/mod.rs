//! The key store (the bottom layer): the instance's PEM key, or its JWKS fetched from Clerk's
//! Backend API and cached.
//!
//! - [`key`]: one public key, parsed once (PEM text or JWK components);
//! - [`jwks`]: reading a JWKS answer (usable keys, Clerk's errors);
//! - [`fetch`]: the HTTP call (the crate's Backend API layer, its own rustls configuration);
//! - [`remote`]: the shared cache and its refresh rules.
//!
//! Every key set has a **generation**: [`KeyStore::resolve`] hands it out with the key, the
//! verified-token cache stores it with each entry, and [`KeyStore::current_generation`] (no side
//! effects) says which generation may serve now. A refresh that returns the same keys keeps
//! the generation; keys past `ttl + max_stale` have none ([`NO_USABLE_KEYS`]).
//!
//! Behaviour of the remote store (all durations configurable on the builder):
//! - **one fetch at a time** across every actix worker: requests that need keys while a fetch
//!   runs wait for its result (never longer than the fetch timeout) instead of starting their own;
//! - **fresh for `ttl`** (5 min); from 80 % of the TTL on, a request that finds its key (or a
//!   verified-token cache hit) starts a background refresh and does not wait for it
//!   (**refresh ahead**);
//! - **unknown `kid`**: one refetch, then at most one more per `unknown_kid_cooldown` (30 s),
//!   whatever the kid (a kid the API did not list yet is found by the next refetch); while the
//!   last attempt failed, an unknown kid is an outage (`503`), not a mismatch;
//! - **stale while error**: when refreshes fail, the last good keys keep serving for up to
//!   `max_stale` (1 h) past their TTL, with retries backing off from 1 s to 60 s; past that,
//!   tokens verified earlier under those keys are no longer served from the token cache either;
//! - a fetch has a timeout (5 s); keys that fail to parse are skipped; a set with no usable key
//!   is a failed fetch; Clerk's `clerk_key_invalid` answer is reported as `secret-key-invalid`.

use std::fmt;
use std::sync::atomic::Ordering;
use std::sync::Arc;

pub(crate) mod fetch;
pub(crate) mod jwks;
pub(crate) mod key;
pub(crate) mod remote;

pub(crate) use key::VerifyKey;
pub(crate) use remote::{RemoteKeys, RemoteOptions};

use crate::error::Reason;
use crate::secret::Secret;

/// The generation no cache entry carries: what [`KeyStore::current_generation`] answers while
/// no key may serve (never fetched, or past `ttl + max_stale`).
pub(crate) const NO_USABLE_KEYS: u64 = u64::MAX;

/// Why no key could be had; rendered into Clerk's message by the verifier.
#[derive(Debug, Clone)]
pub(crate) struct KeyFailure {
    pub reason: Reason,
    pub message: String,
    pub action: Option<String>,
    /// Seconds until the store will try again (for `Retry-After`).
    pub retry_after_secs: u64,
}

/// Where keys come from.
#[derive(Clone)]
pub(crate) enum KeyStore {
    /// Networkless: the configured PEM key, whatever the token's `kid`.
    Pem(Arc<VerifyKey>),
    /// The instance's JWKS.
    Remote(Arc<RemoteKeys>),
}

impl fmt::Debug for KeyStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            KeyStore::Pem(_) => f.write_str("Pem"),
            KeyStore::Remote(r) => f.debug_struct("Remote").field("url", &r.url).finish(),
        }
    }
}

impl KeyStore {
    pub(crate) fn remote(url: String, secret: Secret, opts: RemoteOptions) -> Self {
        KeyStore::Remote(Arc::new(RemoteKeys::new(url, secret, opts)))
    }

    /// The key for a token whose header `kid` renders as `kid`, with the generation of the key
    /// set it belongs to.
    pub(crate) async fn resolve(&self, kid: &str) -> Result<(Arc<VerifyKey>, u64), KeyFailure> {
        match self {
            KeyStore::Pem(key) => Ok((Arc::clone(key), 0)),
            KeyStore::Remote(remote) => remote.resolve(kid).await,
        }
    }

    /// The generation of the key set that may serve now ([`NO_USABLE_KEYS`] when none may).
    /// A read: it starts nothing.
    pub(crate) fn current_generation(&self) -> u64 {
        match self {
            KeyStore::Pem(_) => 0,
            KeyStore::Remote(r) => r.current_generation(),
        }
    }

    /// Starts a background refresh if the keys are near the end of their TTL (refresh ahead);
    /// called by the authenticator on verified-token cache hits, which never reach
    /// [`KeyStore::resolve`]. A no-op for a PEM key.
    pub(crate) fn refresh_if_due(&self) {
        if let KeyStore::Remote(r) = self {
            r.refresh_if_due();
        }
    }

    pub(crate) async fn warm_up(&self) -> Result<(), KeyFailure> {
        match self {
            KeyStore::Pem(_) => Ok(()),
            KeyStore::Remote(remote) => remote.warm_up().await,
        }
    }

    /// Number of JWKS fetches started so far and how many failed (0 for a PEM key).
    pub(crate) fn fetch_counts(&self) -> (u64, u64) {
        match self {
            KeyStore::Pem(_) => (0, 0),
            KeyStore::Remote(r) => (
                r.counters.fetches.load(Ordering::Relaxed),
                r.counters.failures.load(Ordering::Relaxed),
            ),
        }
    }
}
