//! [`ClerkStats`]: what a configuration has done so far, for dashboards and health checks.

use std::time::Duration;

use crate::authenticate::Authenticator;
use crate::keys::KeyStore;

/// A snapshot of one configuration's counters (shared by all its clones and workers), from
/// [`ClerkConfig::stats`](crate::ClerkConfig::stats).
///
/// ```
/// # fn main() -> Result<(), actix_clerk::ConfigError> {
/// # let pem = include_str!("../tests/fixtures/doc_key.pem");
/// let config = actix_clerk::ClerkConfig::builder().jwt_key(pem).build()?;
/// let stats = config.stats();
/// assert_eq!(stats.jwks_fetches, 0); // a PEM key needs no fetch
/// assert_eq!(stats.token_cache.map(|c| c.entries), Some(0));
/// # Ok(())
/// # }
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct ClerkStats {
    /// JWKS fetches started (0 with a PEM key).
    pub jwks_fetches: u64,
    /// JWKS fetches that failed (refused, timed out, non-2xx, bad JSON, no usable key).
    pub jwks_fetch_failures: u64,
    /// Whether the last JWKS fetch failed (the store then serves its last good keys).
    pub jwks_last_fetch_failed: bool,
    /// Age of the keys in use: time since the last successful JWKS fetch (`None` with a PEM
    /// key or before the first fetch).
    pub jwks_age: Option<Duration>,
    /// Number of keys in use (1 with a PEM key).
    pub jwks_keys: usize,
    /// The verified-token cache, unless it is turned off.
    pub token_cache: Option<TokenCacheStats>,
    /// Calls made to Clerk's Backend API to verify opaque machine tokens.
    pub machine_token_verifications: u64,
    /// The shared store's counters (feature `redis`), when
    /// [`shared_store`](crate::ClerkConfigBuilder::shared_store) set one: answers taken from
    /// other instances, waits, failures and back-offs.
    #[cfg(feature = "redis")]
    #[cfg_attr(docsrs, doc(cfg(feature = "redis")))]
    pub shared_store: Option<crate::store::SharedStoreStats>,
}

/// Counters of the verified-token cache.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct TokenCacheStats {
    /// Lookups answered from the cache.
    pub hits: u64,
    /// Lookups that had to verify (unknown token, or one verified under other keys).
    pub misses: u64,
    /// Entries pushed out to stay within the bounds.
    pub evictions: u64,
    /// Entries now.
    pub entries: usize,
    /// Estimated memory of the entries now, in bytes.
    pub estimated_bytes: u64,
}

impl ClerkStats {
    pub(crate) fn of(a: &Authenticator) -> ClerkStats {
        let keys = &a.verifier.keys;
        let (jwks_fetches, jwks_fetch_failures) = keys.fetch_counts();
        let (jwks_age, jwks_keys, jwks_last_fetch_failed) = match keys {
            KeyStore::Pem(_) => (None, 1, false),
            KeyStore::Remote(r) => {
                let (fetched_at, count) = r.snapshot();
                (
                    fetched_at.map(|at| at.elapsed()),
                    count,
                    r.last_failed.load(std::sync::atomic::Ordering::Relaxed),
                )
            }
        };
        ClerkStats {
            #[cfg(feature = "redis")]
            shared_store: a.machines.as_ref().and_then(|m| m.shared_stats()),
            machine_token_verifications: a.machines.as_ref().map_or(0, |m| m.calls()),
            jwks_fetches,
            jwks_fetch_failures,
            jwks_last_fetch_failed,
            jwks_age,
            jwks_keys,
            token_cache: a.cache.as_ref().map(|c| {
                let n = c.counts();
                TokenCacheStats {
                    hits: n.hits,
                    misses: n.misses,
                    evictions: n.evictions,
                    entries: n.entries,
                    estimated_bytes: n.weight_bytes,
                }
            }),
        }
    }
}
