//! The verified-token cache: a session token is sent again and again during its short life,
//! so its signature is verified once and the result reused.
//!
//! - Keyed by the **full token text** (compared in full: a hash collision cannot make another
//!   token pass), scoped to one [`ClerkConfig`](crate::ClerkConfig) (never shared between
//!   configurations with other keys, parties or audience).
//! - Only successful verifications are stored, so invalid tokens cannot evict valid entries.
//! - A hit re-checks `exp`, `nbf` and `iat` against the current clock with the skew, so the
//!   result is exactly what a fresh verification gives; an entry made under another key set
//!   (after a JWKS refresh) is not served.
//! - Bounded: at most `capacity` entries (default 10 000) of tokens up to 8 KiB; when full,
//!   expired entries are dropped, and if none are, the cache starts over.

use std::collections::HashMap;

use parking_lot::RwLock;

use crate::auth::{Auth, SessionClaims, TokenCarrier};
use crate::config::ConfigInner;
use crate::verify::{check_time_claims, Failure};

/// Default number of entries.
pub(crate) const DEFAULT_CAPACITY: usize = 10_000;
/// Tokens longer than this are verified every time.
const MAX_CACHED_TOKEN_LEN: usize = 8 * 1024;

struct Entry {
    auth: Auth,
    /// `exp`, `nbf`, `iat` as sent.
    times: SessionClaims,
    key_generation: u64,
}

/// The claims a cache hit re-checks: `exp`, `nbf`, `iat` as sent.
pub(crate) fn time_claims(claims: &SessionClaims) -> SessionClaims {
    let mut times = SessionClaims::new();
    for name in ["exp", "nbf", "iat"] {
        if let Some(v) = claims.get(name) {
            times.insert(name.to_owned(), v.clone());
        }
    }
    times
}

/// See the module docs.
pub(crate) struct TokenCache {
    entries: RwLock<HashMap<Box<str>, Entry>>,
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
            entries: RwLock::new(HashMap::new()),
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
        let Some(e) = map.get(token) else {
            return Lookup::Miss;
        };
        if e.key_generation != generation || e.auth.token_carrier() != Some(carrier) {
            return Lookup::Miss;
        }
        if carrier == TokenCarrier::Cookie && crate::jwt::to_number(e.times.get("iat")) < client_uat
        {
            return Lookup::IatBeforeClientUat;
        }
        Lookup::Hit(check_time_claims(cfg, &e.times, now).map(|()| e.auth.clone()))
    }

    pub(crate) fn insert(
        &self,
        cfg: &ConfigInner,
        token: &str,
        times: SessionClaims,
        auth: &Auth,
        now: f64,
    ) {
        if token.len() > MAX_CACHED_TOKEN_LEN {
            return;
        }
        let entry = Entry {
            auth: auth.clone(),
            times,
            key_generation: cfg.keys.generation(),
        };
        let mut map = self.entries.write();
        if map.len() >= self.capacity && !map.contains_key(token) {
            map.retain(|_, e| check_time_claims(cfg, &e.times, now).is_ok());
            if map.len() >= self.capacity {
                map.clear();
            }
        }
        map.insert(token.into(), entry);
    }
}
