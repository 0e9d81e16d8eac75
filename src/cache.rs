//! The verified-token cache (above the verifier, below the authenticator): a session token is
//! sent again and again during its short life, so its signature is verified once and the
//! result reused.
//!
//! - Built on `quick_cache` (sharded, so workers rarely meet on a lock; scan-resistant
//!   eviction, so a flood of one-off tokens does not push out the tokens in use; never clears
//!   everything).
//! - Keyed by the **full token bytes** (compared in full, once: a hash collision cannot make
//!   another token pass); the hash covers the token's length and last 64 bytes (part of its
//!   signature), with the hasher's per-process random seed, so a lookup does not hash the
//!   whole token. Looked up on the raw header bytes, before any validation or copy.
//! - Only successful verifications are stored, so invalid tokens cannot evict valid entries.
//! - A hit re-checks `exp`, `nbf` and `iat` against the current clock with the skew, so the
//!   result is exactly what a fresh verification gives.
//! - Each entry carries the generation of the key set whose key verified it; an entry is
//!   served only while that generation is the one that may serve now (the cache knows nothing
//!   else of keys).
//! - Bounded in entries (default 10 000) and in estimated bytes (default 64 MiB); tokens over
//!   8 KiB are never stored.
//! - In front of it, each worker thread keeps the last few tokens it served (64 slots, picked
//!   by the token's last bytes, an entry copied from the shared cache): a repeated token is
//!   served without a lock or a hasher, after the same full compare and the same checks. A
//!   slot belongs to one cache (a process-unique number, never an address that a later cache
//!   could reuse).

use std::cell::RefCell;
use std::hash::{Hash, Hasher};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use quick_cache::sync::Cache;
use quick_cache::{DefaultHashBuilder, Equivalent, Lifecycle, Weighter};

use crate::auth::{Auth, TokenCarrier};
use crate::verify::{check_times, ClaimRules, Failure, TimeClaims};

/// Default number of entries.
pub(crate) const DEFAULT_CAPACITY: usize = 10_000;
/// Default bound on the estimated memory of the entries.
pub(crate) const DEFAULT_MAX_BYTES: u64 = 64 * 1024 * 1024;
/// Tokens longer than this are verified every time.
const MAX_CACHED_TOKEN_LEN: usize = 8 * 1024;
/// How much of the token's end (its signature) the hash covers.
const HASHED_TAIL: usize = 64;

fn hash_token<H: Hasher>(bytes: &[u8], state: &mut H) {
    state.write(&bytes[bytes.len().saturating_sub(HASHED_TAIL)..]);
    state.write_usize(bytes.len());
}

/// A stored token.
#[derive(PartialEq, Eq)]
struct TokenKey(Box<[u8]>);

impl Hash for TokenKey {
    fn hash<H: Hasher>(&self, state: &mut H) {
        hash_token(&self.0, state);
    }
}

/// A token to look up, borrowed from the request.
struct TokenRef<'a>(&'a [u8]);

impl Hash for TokenRef<'_> {
    fn hash<H: Hasher>(&self, state: &mut H) {
        hash_token(self.0, state);
    }
}

impl Equivalent<TokenKey> for TokenRef<'_> {
    fn equivalent(&self, key: &TokenKey) -> bool {
        *self.0 == *key.0
    }
}

#[derive(Clone)]
struct Entry {
    auth: Auth,
    times: TimeClaims,
    /// `times.window(rules)`: a hit inside it needs no other time check.
    window: (f64, f64),
    key_generation: u64,
}

/// Weight = estimated bytes of an entry (the token, its decoded claims, bookkeeping), but at
/// least `max_bytes / max_entries`, so that the weight capacity bounds both.
#[derive(Clone)]
struct EntryWeight {
    floor: u64,
}

impl Weighter<TokenKey, Entry> for EntryWeight {
    fn weight(&self, key: &TokenKey, _: &Entry) -> u64 {
        let estimate = key.0.len() as u64 * 3 + 512;
        estimate.max(self.floor)
    }
}

/// Counts evictions.
#[derive(Clone, Default)]
struct Evictions(Arc<AtomicU64>);

impl Lifecycle<TokenKey, Entry> for Evictions {
    type RequestState = ();

    fn on_evict(&self, _: &mut (), _: TokenKey, _: Entry) {
        self.0.fetch_add(1, Ordering::Relaxed);
    }
}

/// See the module docs.
pub(crate) struct TokenCache {
    map: Cache<TokenKey, Entry, EntryWeight, DefaultHashBuilder, Evictions>,
    evictions: Evictions,
    /// Lookups that found the token but could not serve it (other key set, other carrier).
    stale: AtomicU64,
    /// This cache's number, for the per-thread slots.
    number: u64,
    /// Lookups served by the per-thread slots.
    near_hits: AtomicU64,
}

/// Slots per worker thread.
const NEAR_SLOTS: usize = 64;

/// One per-thread slot: a copy of a shared entry, for the cache numbered `owner`.
struct NearSlot {
    owner: u64,
    token: Box<[u8]>,
    entry: Entry,
}

thread_local! {
    static NEAR: RefCell<[Option<NearSlot>; NEAR_SLOTS]> =
        const { RefCell::new([const { None }; NEAR_SLOTS]) };
}

/// The slot of a token: from its last 8 bytes (part of the signature) and its length. Chosen
/// tokens can only push each other out of a worker's slots, never be served for one another
/// (every hit compares the whole token).
fn near_index(token: &[u8]) -> usize {
    let mut tail = [0u8; 8];
    let n = token.len().min(8);
    tail[..n].copy_from_slice(&token[token.len() - n..]);
    let x = (u64::from_le_bytes(tail) ^ token.len() as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15);
    (x >> 58) as usize
}

fn next_cache_number() -> u64 {
    static NEXT: AtomicU64 = AtomicU64::new(1);
    NEXT.fetch_add(1, Ordering::Relaxed)
}

/// What a lookup found.
pub(crate) enum Lookup {
    Miss,
    /// The outcome a fresh verification would give now.
    Hit(Result<Auth, Failure>),
    /// A cookie token issued before the client's last update (`iat` < `__client_uat`).
    IatBeforeClientUat,
}

/// Counters of the cache.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct CacheCounts {
    pub hits: u64,
    pub misses: u64,
    pub evictions: u64,
    pub entries: usize,
    pub weight_bytes: u64,
}

impl TokenCache {
    /// A cache of at most `max_entries` entries and about `max_bytes` bytes (both > 0).
    pub(crate) fn new(max_entries: usize, max_bytes: u64) -> Self {
        let max_entries = max_entries.max(1);
        let max_bytes = max_bytes.max(1);
        let floor = (max_bytes / max_entries as u64).max(1);
        let evictions = Evictions::default();
        TokenCache {
            map: Cache::with(
                max_entries,
                floor.saturating_mul(max_entries as u64),
                EntryWeight { floor },
                DefaultHashBuilder::default(),
                evictions.clone(),
            ),
            evictions,
            stale: AtomicU64::new(0),
            number: next_cache_number(),
            near_hits: AtomicU64::new(0),
        }
    }

    /// Looks a token up (its bytes exactly as Clerk's parsing isolates them). For a cookie
    /// token, `client_uat` is checked against the cached `iat` first, as Clerk does before
    /// verifying. `key_generation` is the generation of the key set that may serve now.
    pub(crate) fn get(
        &self,
        token: &[u8],
        carrier: TokenCarrier,
        client_uat: f64,
        key_generation: u64,
        rules: &ClaimRules,
        now: f64,
    ) -> Lookup {
        let slot = near_index(token);
        let near = NEAR.with(|near| {
            let near = near.borrow();
            let s = near[slot].as_ref()?;
            let fresh = s.owner == self.number
                && s.entry.key_generation == key_generation
                && s.entry.auth.token_carrier() == Some(carrier);
            (fresh && *s.token == *token).then(|| s.entry.clone())
        });
        let e = match near {
            Some(e) => {
                self.near_hits.fetch_add(1, Ordering::Relaxed);
                e
            }
            None => {
                let Some(e) = self.map.get(&TokenRef(token)) else {
                    return Lookup::Miss;
                };
                NEAR.with(|near| {
                    let mut near = near.borrow_mut();
                    match &mut near[slot] {
                        // Same length (tokens of one instance mostly are): the buffer is reused.
                        Some(s) if s.token.len() == token.len() => {
                            s.token.copy_from_slice(token);
                            s.owner = self.number;
                            s.entry = e.clone();
                        }
                        other => {
                            *other = Some(NearSlot {
                                owner: self.number,
                                token: token.into(),
                                entry: e.clone(),
                            });
                        }
                    }
                });
                e
            }
        };
        if e.key_generation != key_generation || e.auth.token_carrier() != Some(carrier) {
            self.stale.fetch_add(1, Ordering::Relaxed);
            return Lookup::Miss;
        }
        if carrier == TokenCarrier::Cookie && e.times.iat_number() < client_uat {
            return Lookup::IatBeforeClientUat;
        }
        if e.window.0 <= now && now < e.window.1 {
            return Lookup::Hit(Ok(e.auth));
        }
        // Outside the window: the checks themselves, for Clerk's reason and message.
        Lookup::Hit(check_times(rules, &e.times, now).map(|()| e.auth))
    }

    /// Stores a verified token with the generation of the key set that verified it.
    pub(crate) fn insert(
        &self,
        token: &str,
        times: TimeClaims,
        rules: &ClaimRules,
        auth: &Auth,
        key_generation: u64,
    ) {
        if token.len() > MAX_CACHED_TOKEN_LEN {
            return;
        }
        self.map.insert(
            TokenKey(token.as_bytes().into()),
            Entry {
                auth: auth.clone(),
                window: times.window(rules),
                times,
                key_generation,
            },
        );
    }

    pub(crate) fn counts(&self) -> CacheCounts {
        let stale = self.stale.load(Ordering::Relaxed);
        let hits = self.map.hits() + self.near_hits.load(Ordering::Relaxed);
        CacheCounts {
            hits: hits.saturating_sub(stale),
            misses: self.map.misses() + stale,
            evictions: self.evictions.0.load(Ordering::Relaxed),
            entries: self.map.len(),
            weight_bytes: self.map.weight(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::verify::check_time_claims;
    use serde_json::json;

    fn fixture() -> (ClaimRules, TimeClaims, Auth, f64) {
        let rules = ClaimRules {
            clock_skew_ms: 5000.0,
            ..ClaimRules::default()
        };
        let now = crate::verify::now_ms();
        let claims = json!({"sub": "user_a", "exp": now / 1000.0 + 600.0});
        let claims = claims.as_object().unwrap().clone(); // ok: test
        let times = check_time_claims(&rules, &claims, now).unwrap(); // ok: test
        let auth = Auth::from_verified(claims, TokenCarrier::Header).unwrap(); // ok: test
        (rules, times, auth, now)
    }

    #[test]
    fn a_workers_slots_serve_only_their_own_cache_and_follow_key_generations() {
        let (rules, times, auth, now) = fixture();
        let token = format!("head.body.{}", "Z".repeat(80));
        let a = TokenCache::new(10, DEFAULT_MAX_BYTES);
        let b = TokenCache::new(10, DEFAULT_MAX_BYTES);
        a.insert(&token, times, &rules, &auth, 1);
        let get = |c: &TokenCache, generation| {
            c.get(
                token.as_bytes(),
                TokenCarrier::Header,
                0.0,
                generation,
                &rules,
                now,
            )
        };
        // The first hit fills this thread's slot, the second is served from it.
        assert!(matches!(get(&a, 1), Lookup::Hit(Ok(_))));
        assert!(matches!(get(&a, 1), Lookup::Hit(Ok(_))));
        assert_eq!(a.near_hits.load(Ordering::Relaxed), 1);
        assert_eq!(a.counts().hits, 2);
        // Another cache (another configuration) never sees it.
        assert!(matches!(get(&b, 1), Lookup::Miss));
        // A new key set: the slot's copy is stale, and once the token is verified again under
        // it, the new entry is served (not a miss forever).
        assert!(matches!(get(&a, 2), Lookup::Miss));
        a.insert(&token, times, &rules, &auth, 2);
        assert!(matches!(get(&a, 2), Lookup::Hit(Ok(_))));
        assert!(matches!(get(&a, 2), Lookup::Hit(Ok(_))));
        assert!(matches!(get(&a, 1), Lookup::Miss));
        // Past the window, the slot's copy gives Clerk's failure, as the shared entry does.
        let later = now + 3_600_000.0;
        let expired = a.get(
            token.as_bytes(),
            TokenCarrier::Header,
            0.0,
            2,
            &rules,
            later,
        );
        assert!(matches!(expired, Lookup::Hit(Err(_))));
    }

    #[test]
    fn same_tail_and_length_is_not_the_same_token() {
        let (rules, times, auth, now) = fixture();
        let tail = "S".repeat(100);
        let (a, b) = (format!("aaaa.{tail}"), format!("bbbb.{tail}"));
        let cache = TokenCache::new(10, DEFAULT_MAX_BYTES);
        cache.insert(&a, times, &rules, &auth, 7);
        let get = |t: &str, carrier, generation| {
            cache.get(t.as_bytes(), carrier, 0.0, generation, &rules, now)
        };
        assert!(matches!(
            get(&a, TokenCarrier::Header, 7),
            Lookup::Hit(Ok(_))
        ));
        assert!(matches!(get(&b, TokenCarrier::Header, 7), Lookup::Miss));
        assert!(matches!(get(&a, TokenCarrier::Cookie, 7), Lookup::Miss));
        // another key set may serve now: the entry is not served
        assert!(matches!(get(&a, TokenCarrier::Header, 8), Lookup::Miss));
        let c = cache.counts();
        assert_eq!((c.hits, c.misses, c.entries), (1, 3, 1));
    }

    #[test]
    fn bounded_by_entries_and_bytes_without_clearing() {
        let (rules, times, auth, now) = fixture();
        let cache = TokenCache::new(100, DEFAULT_MAX_BYTES);
        let hot = "hot.token.signature".to_owned();
        cache.insert(&hot, times, &rules, &auth, 0);
        for i in 0..5_000 {
            // the token in use keeps being used while one-off tokens stream past
            let _ = cache.get(hot.as_bytes(), TokenCarrier::Header, 0.0, 0, &rules, now);
            cache.insert(&format!("cold.{i}.x"), times, &rules, &auth, 0);
        }
        let c = cache.counts();
        assert!(c.entries <= 100, "{c:?}");
        assert!(c.evictions >= 4_900, "{c:?}");
        assert!(matches!(
            cache.get(hot.as_bytes(), TokenCarrier::Header, 0.0, 0, &rules, now),
            Lookup::Hit(Ok(_))
        ));
        // a byte bound below entries * token size holds too
        let small = TokenCache::new(1_000, 64 * 1024);
        let big = "x".repeat(4_000);
        for i in 0..200 {
            small.insert(&format!("{i}{big}"), times, &rules, &auth, 0);
        }
        let c = small.counts();
        assert!(c.weight_bytes <= 64 * 1024 && c.entries <= 6, "{c:?}");
    }
}
