//! A bounded record of the deliveries accepted within the tolerance window.

use std::collections::{BTreeSet, HashMap};

use parking_lot::Mutex;

/// A delivery's identity: its HMAC tag, which covers the id, the timestamp and the body (a
/// captured request sent again has the same one; a retry by Svix, re-signed with a fresh
/// timestamp, does not).
pub(crate) type DeliveryKey = [u8; 32];

/// Accepted deliveries, each kept until its timestamp leaves the window (after which the
/// timestamp check refuses it anyway). At most `capacity` entries: when full, the entry closest
/// to expiry is forgotten first.
#[derive(Debug)]
pub(crate) struct ReplayRecord {
    capacity: usize,
    inner: Mutex<Inner>,
}

#[derive(Debug, Default)]
struct Inner {
    /// key → expiry (seconds since the epoch).
    seen: HashMap<DeliveryKey, i64>,
    /// (expiry, key), oldest first.
    by_expiry: BTreeSet<(i64, DeliveryKey)>,
    /// Entries forgotten before they expired because the record was full.
    evicted: u64,
}

impl ReplayRecord {
    pub(crate) fn new(capacity: usize) -> Self {
        ReplayRecord {
            capacity: capacity.max(1),
            inner: Mutex::new(Inner::default()),
        }
    }

    pub(crate) fn capacity(&self) -> usize {
        self.capacity
    }

    /// Records `key` (expiring at `expires`) unless it is already recorded; `false` for a
    /// replay. Entries expired at `now` are dropped first.
    pub(crate) fn insert(&self, key: DeliveryKey, expires: i64, now: i64) -> bool {
        let mut inner = self.inner.lock();
        let inner = &mut *inner;
        while let Some(&(expiry, old)) = inner.by_expiry.first() {
            if expiry >= now {
                break;
            }
            inner.by_expiry.pop_first();
            inner.seen.remove(&old);
        }
        if inner.seen.contains_key(&key) {
            return false;
        }
        while inner.seen.len() >= self.capacity {
            let Some((_, old)) = inner.by_expiry.pop_first() else {
                break;
            };
            inner.seen.remove(&old);
            inner.evicted += 1;
            if inner.evicted.is_power_of_two() {
                tracing::warn!(
                    capacity = self.capacity,
                    evicted = inner.evicted,
                    "clerk webhook: replay record full, forgetting deliveries before they expire (raise the capacity)"
                );
            }
        }
        inner.seen.insert(key, expires);
        inner.by_expiry.insert((expires, key));
        true
    }

    #[cfg(test)]
    fn len(&self) -> usize {
        self.inner.lock().seen.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(n: u8) -> DeliveryKey {
        [n; 32]
    }

    #[test]
    fn a_replay_inside_the_window_is_refused_and_forgotten_after() {
        let record = ReplayRecord::new(10);
        assert!(record.insert(key(1), 1_000, 900));
        assert!(!record.insert(key(1), 1_000, 950));
        assert!(!record.insert(key(1), 1_000, 1_000));
        // Past its expiry the entry goes (the timestamp check refuses the delivery by then).
        assert!(record.insert(key(2), 1_400, 1_001));
        assert_eq!(record.len(), 1);
    }

    #[test]
    fn a_full_record_forgets_the_entry_closest_to_expiry() {
        let record = ReplayRecord::new(2);
        assert!(record.insert(key(1), 1_300, 1_000));
        assert!(record.insert(key(2), 1_100, 1_000));
        assert!(record.insert(key(3), 1_200, 1_000));
        assert_eq!(record.len(), 2);
        // key 2 (expiring first) was forgotten; keys 1 and 3 are still refused.
        assert!(!record.insert(key(1), 1_300, 1_000));
        assert!(!record.insert(key(3), 1_200, 1_000));
        assert!(record.insert(key(2), 1_100, 1_000));
        assert_eq!(record.inner.lock().evicted, 2);
    }
}
