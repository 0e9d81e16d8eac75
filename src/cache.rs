//! The verified-token cache: a session token is sent again and again during its short life,
//! so its signature is verified once and the result reused.
//!
//! - Keyed by the **full token text** (compared in full: a hash collision cannot make another
//!   token pass); the map is indexed by a keyed hash (random per process) of the token's last
//!   64 bytes, part of its signature, so a lookup does not hash the whole token. Scoped to one [`ClerkConfig`](crate::ClerkConfig) (never shared between
//!   configurations with other keys, parties or audience).
//! - Only successful verifications are stored, so invalid tokens cannot evict valid entries.
//! - A hit re-checks `exp`, `nbf` and `iat` against the current clock with the skew, so the
//!   result is exactly what a fresh verification gives; an entry made under another key set
//!   (after a JWKS refresh) is not served.
//! - Bounded: at most `capacity` entries (default 10 000) of tokens up to 8 KiB; when full,
//!   expired entries are dropped, and if none are, the cache starts over.

use std::collections::HashMap;
use std::hash::{BuildHasher, BuildHasherDefault, Hasher, RandomState};
use std::sync::OnceLock;

use parking_lot::RwLock;

use crate::auth::{Auth, TokenCarrier};
use crate::config::ConfigInner;
use crate::verify::{check_times, Failure, TimeClaims};

/// Default number of entries.
pub(crate) const DEFAULT_CAPACITY: usize = 10_000;
/// Tokens longer than this are verified every time.
const MAX_CACHED_TOKEN_LEN: usize = 8 * 1024;
/// How much of the token's end (its signature) the index hashes.
const HASHED_TAIL: usize = 64;

struct Entry {
    token: Box<str>,
    auth: Auth,
    times: TimeClaims,
    key_generation: u64,
}

/// A keyed SipHash of the token's tail; the key is random per process.
fn index_of(token: &str) -> u64 {
    static KEY: OnceLock<RandomState> = OnceLock::new();
    let bytes = token.as_bytes();
    let tail = &bytes[bytes.len().saturating_sub(HASHED_TAIL)..];
    let mut h = KEY.get_or_init(RandomState::new).build_hasher();
    h.write(tail);
    h.write_usize(bytes.len());
    h.finish()
}

/// The map's keys are already hashes: use them as they are.
#[derive(Default)]
struct IdentityHasher(u64);

impl Hasher for IdentityHasher {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        for b in bytes {
            self.0 = self.0.rotate_left(8) ^ u64::from(*b);
        }
    }
    fn write_u64(&mut self, n: u64) {
        self.0 = n;
    }
}

/// See the module docs.
pub(crate) struct TokenCache {
    entries: RwLock<HashMap<u64, Entry, BuildHasherDefault<IdentityHasher>>>,
    capacity: usize,
}

/// What a lookup found.
pub(crate) enum Lookup {
    Miss,
    /// The outcome a fresh verification would give now.
    Hit(Result<Auth, Failure>),
    /// A cookie token issued before the client's last update (`iat` < `__client_uat`).
    IatBeforeClientUat,
}

impl TokenCache {
    pub(crate) fn new(capacity: usize) -> Self {
        TokenCache {
            entries: RwLock::new(HashMap::default()),
            capacity,
        }
    }

    pub(crate) fn len(&self) -> usize {
        self.entries.read().len()
    }

    /// Looks a token up. For a cookie token, `client_uat` is checked against the cached `iat`
    /// first, as Clerk does before verifying.
    pub(crate) fn get(
        &self,
        cfg: &ConfigInner,
        token: &str,
        carrier: TokenCarrier,
        client_uat: f64,
        now: f64,
    ) -> Lookup {
        let generation = cfg.keys.generation();
        let map = self.entries.read();
        let Some(e) = map.get(&index_of(token)) else {
            return Lookup::Miss;
        };
        if &*e.token != token
            || e.key_generation != generation
            || e.auth.token_carrier() != Some(carrier)
        {
            return Lookup::Miss;
        }
        if carrier == TokenCarrier::Cookie && e.times.iat_number() < client_uat {
            return Lookup::IatBeforeClientUat;
        }
        Lookup::Hit(check_times(cfg, &e.times, now).map(|()| e.auth.clone()))
    }

    pub(crate) fn insert(
        &self,
        cfg: &ConfigInner,
        token: &str,
        times: TimeClaims,
        auth: &Auth,
        now: f64,
    ) {
        if token.len() > MAX_CACHED_TOKEN_LEN {
            return;
        }
        let index = index_of(token);
        let entry = Entry {
            token: token.into(),
            auth: auth.clone(),
            times,
            key_generation: cfg.keys.generation(),
        };
        let mut map = self.entries.write();
        if map.len() >= self.capacity && !map.contains_key(&index) {
            map.retain(|_, e| check_times(cfg, &e.times, now).is_ok());
            if map.len() >= self.capacity {
                map.clear();
            }
        }
        map.insert(index, entry);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::verify::check_time_claims;
    use serde_json::json;

    #[test]
    fn same_tail_and_length_is_not_the_same_token() {
        let cfg = crate::ClerkConfig::builder()
            .jwt_key(crate::__doc_pem())
            .build()
            .unwrap(); // ok: test
        let cfg = &cfg.inner;
        let now = crate::verify::now_ms();
        let claims = json!({"sub": "user_a", "exp": now / 1000.0 + 600.0});
        let claims = claims.as_object().unwrap().clone(); // ok: test
        let times = check_time_claims(cfg, &claims, now).unwrap(); // ok: test
        let auth = Auth::from_verified(claims, TokenCarrier::Header).unwrap(); // ok: test
        let tail = "S".repeat(100);
        let (a, b) = (format!("aaaa.{tail}"), format!("bbbb.{tail}"));
        assert_eq!(
            index_of(&a),
            index_of(&b),
            "same tail and length share an index"
        );
        let cache = TokenCache::new(10);
        cache.insert(cfg, &a, times, &auth, now);
        assert!(matches!(
            cache.get(cfg, &a, TokenCarrier::Header, 0.0, now),
            Lookup::Hit(Ok(_))
        ));
        assert!(matches!(
            cache.get(cfg, &b, TokenCarrier::Header, 0.0, now),
            Lookup::Miss
        ));
        assert!(matches!(
            cache.get(cfg, &a, TokenCarrier::Cookie, 0.0, now),
            Lookup::Miss
        ));
    }
}
