//! Opaque machine-token answers shared by the instances of a deployment (feature `redis`).
//!
//! Per token (keys are keyed hashes, never the token):
//! - `{prefix}:{ns}:mt:{id}`: the answer, `tag ‖ JSON`, expiring with the answer's TTL (the
//!   local cache TTL, never past the token's own expiry; the negative TTL for refusals);
//!   Clerk outages and local bound refusals are not shared;
//! - `{prefix}:{ns}:mt:{id}:lock`: held by the one instance verifying the token (expires on
//!   its own after the verify timeout), the others poll for the answer;
//! - `{prefix}:{ns}:mt:rate:{second}`: verifications started by the deployment in that
//!   second, checked against the per-second bound.
//!
//! `tag` is 16 bytes of HMAC-SHA256 over the key and the JSON, under a key derived from the
//! instance's secret key: an answer written by anything else is ignored.

use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};

use super::opaque::OpaqueFailure;
use super::{MachineAuth, TokenKind};
use crate::error::Reason;
use crate::secret::Secret;
use crate::store::{Count, KeyedHash, SharedStore, Unavailable};

const TAG_LEN: usize = 16;

/// Answer if present; else take the lock; then count the deployment's verifications in this
/// second and give the lock back past the bound.
const BEGIN: &str = r"
local v = redis.call('GET', KEYS[1])
if v then return {1, v} end
if not redis.call('SET', KEYS[2], '1', 'NX', 'PX', ARGV[1]) then return {2, false} end
local n = redis.call('INCR', KEYS[3])
if n == 1 then redis.call('PEXPIRE', KEYS[3], 2000) end
if n > tonumber(ARGV[2]) then
  redis.call('DEL', KEYS[2])
  return {3, false}
end
return {0, false}
";

/// The store and this instance's keyed hash.
#[derive(Debug, Clone)]
pub(crate) struct SharedAnswers {
    store: SharedStore,
    hash: KeyedHash,
    begin: redis::Script,
}

/// One token's keys.
pub(crate) struct Keys {
    answer: String,
    lock: String,
}

/// What the store says when a verification is about to start.
pub(crate) enum Begin {
    /// Another instance's answer: the outcome and how long it stays valid.
    Answer(Box<Result<MachineAuth, OpaqueFailure>>, Duration),
    /// This instance verifies (and holds the lock).
    Go,
    /// Another instance is verifying.
    Wait,
    /// The deployment's per-second bound is reached.
    Bound,
    /// The store is unavailable: decide alone.
    Alone,
}

/// A stored value, opened.
enum Opened {
    Valid(Box<Result<MachineAuth, OpaqueFailure>>, Duration),
    Expired,
    Forged,
}

/// What polling finds while another instance verifies.
pub(crate) enum Poll {
    Answer(Box<Result<MachineAuth, OpaqueFailure>>, Duration),
    Locked,
    Free,
    Alone,
}

#[derive(Serialize, Deserialize)]
struct Stored {
    /// Wall-clock expiry, ms since the epoch.
    until: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    ok: Option<MachineAuth>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    err: Option<StoredFailure>,
}

#[derive(Serialize, Deserialize)]
struct StoredFailure {
    reason: String,
    message: String,
}

/// The crate's clock (`verify::now_ms`: whole milliseconds since the epoch), as an integer.
fn wall_ms() -> u64 {
    crate::verify::now_ms() as u64
}

/// The reasons an opaque verification answer can carry (outages are never shared).
fn reason_named(name: &str) -> Option<Reason> {
    [
        Reason::TokenInvalid,
        Reason::SecretKeyInvalid,
        Reason::TokenVerificationFailed,
        Reason::UnexpectedError,
    ]
    .into_iter()
    .find(|r| r.as_str() == name)
}

impl SharedAnswers {
    /// `secret`: the instance's secret key (or its machine secret key when it has none).
    pub(crate) fn new(store: SharedStore, secret: &Secret) -> SharedAnswers {
        SharedAnswers {
            hash: KeyedHash::new(secret.expose().as_bytes(), "machine tokens"),
            store,
            begin: redis::Script::new(BEGIN),
        }
    }

    pub(crate) fn store(&self) -> &SharedStore {
        &self.store
    }

    pub(crate) fn keys(&self, kind: TokenKind, audience: &[String], token: &str) -> Keys {
        let audience = audience.join("\n");
        let id = self.hash.id(&[
            kind.as_str().as_bytes(),
            audience.as_bytes(),
            token.as_bytes(),
        ]);
        let answer = self.store.key(&[self.hash.namespace(), "mt", &id]);
        let lock = format!("{answer}:lock");
        Keys { answer, lock }
    }

    fn rate_key(&self) -> String {
        let second = wall_ms() / 1000;
        self.store
            .key(&[self.hash.namespace(), "mt", "rate", &second.to_string()])
    }

    pub(crate) async fn begin(&self, keys: &Keys, lock_ttl: Duration, per_second: u32) -> Begin {
        let rate = self.rate_key();
        let script = self.begin.clone();
        let lock_ms = lock_ttl.as_millis().max(1) as u64;
        let answer = self
            .store
            .run(|mut conn| {
                let mut call = script.prepare_invoke();
                call.key(&keys.answer)
                    .key(&keys.lock)
                    .key(&rate)
                    .arg(lock_ms)
                    .arg(per_second);
                async move { call.invoke_async::<(i64, Option<Vec<u8>>)>(&mut conn).await }
            })
            .await;
        match answer {
            Err(Unavailable) => Begin::Alone,
            Ok((1, Some(value))) => match self.open(&keys.answer, &value) {
                Opened::Valid(outcome, ttl) => {
                    self.store.count(Count::MachineShared);
                    Begin::Answer(outcome, ttl)
                }
                // About to leave Redis: wait for it to go, then take the lock.
                Opened::Expired => Begin::Wait,
                // An answer that does not verify: verify alone (and do not overwrite it:
                // whatever wrote it can write again).
                Opened::Forged => Begin::Alone,
            },
            Ok((0, _)) => Begin::Go,
            Ok((2, _)) => {
                self.store.count(Count::MachineWait);
                Begin::Wait
            }
            Ok((3, _)) => {
                self.store.count(Count::MachineRate);
                Begin::Bound
            }
            Ok(_) => Begin::Alone,
        }
    }

    pub(crate) async fn poll(&self, keys: &Keys) -> Poll {
        let got = self
            .store
            .run(|mut conn| {
                let mut cmd = redis::cmd("MGET");
                cmd.arg(&keys.answer).arg(&keys.lock);
                async move {
                    cmd.query_async::<(Option<Vec<u8>>, Option<Vec<u8>>)>(&mut conn)
                        .await
                }
            })
            .await;
        match got {
            Err(Unavailable) => Poll::Alone,
            Ok((Some(value), _)) => match self.open(&keys.answer, &value) {
                Opened::Valid(outcome, ttl) => {
                    self.store.count(Count::MachineShared);
                    Poll::Answer(outcome, ttl)
                }
                Opened::Expired => Poll::Locked,
                Opened::Forged => Poll::Alone,
            },
            Ok((None, Some(_))) => Poll::Locked,
            Ok((None, None)) => Poll::Free,
        }
    }

    /// Writes this instance's answer (unless it is not to be shared) and gives the lock back.
    pub(crate) async fn publish(
        &self,
        keys: &Keys,
        outcome: &Result<MachineAuth, OpaqueFailure>,
        ttl: Duration,
    ) {
        let value = self.seal(&keys.answer, outcome, ttl);
        let ttl_ms = u64::try_from(ttl.as_millis()).unwrap_or(u64::MAX);
        let written = self
            .store
            .run(|mut conn| {
                let mut pipe = redis::pipe();
                if let Some(value) = &value {
                    pipe.cmd("SET")
                        .arg(&keys.answer)
                        .arg(value.as_slice())
                        .arg("PX")
                        .arg(ttl_ms)
                        .ignore();
                }
                pipe.cmd("DEL").arg(&keys.lock).ignore();
                async move { pipe.query_async::<()>(&mut conn).await }
            })
            .await;
        if written.is_ok() && value.is_some() {
            self.store.count(Count::MachineWritten);
        }
    }

    /// `tag ‖ JSON` for an answer worth sharing: a verified machine, or Clerk's refusal of the
    /// token; not outages (`retry_after_secs`) nor answers valid for under a millisecond.
    fn seal(
        &self,
        key: &str,
        outcome: &Result<MachineAuth, OpaqueFailure>,
        ttl: Duration,
    ) -> Option<Vec<u8>> {
        if ttl < Duration::from_millis(1) {
            return None;
        }
        let until = wall_ms().saturating_add(u64::try_from(ttl.as_millis()).ok()?);
        let stored = match outcome {
            Ok(machine) => Stored {
                until,
                ok: Some(machine.clone()),
                err: None,
            },
            Err(f) if f.retry_after_secs.is_some() => return None,
            Err(f) => Stored {
                until,
                ok: None,
                err: Some(StoredFailure {
                    reason: f.reason.as_str().to_owned(),
                    message: f.message.clone(),
                }),
            },
        };
        let json = serde_json::to_vec(&stored).ok()?;
        let tag = self.hash.tag(&[key.as_bytes(), &json]);
        let mut value = Vec::with_capacity(TAG_LEN + json.len());
        value.extend_from_slice(&tag[..TAG_LEN]);
        value.extend_from_slice(&json);
        Some(value)
    }

    /// The answer in `value`: valid, expired (Redis keeps it a few milliseconds past the
    /// `until` it carries, counted from before the write), or not one this deployment wrote
    /// (counted and logged).
    fn open(&self, key: &str, value: &[u8]) -> Opened {
        match self.open_tagged(key, value) {
            Some(Some((outcome, left))) => Opened::Valid(Box::new(outcome), left),
            Some(None) => Opened::Expired,
            None => {
                self.store.count(Count::Rejected);
                tracing::warn!("clerk: ignored a shared machine-token answer that does not verify");
                Opened::Forged
            }
        }
    }

    /// `None`: not a genuine answer; `Some(None)`: genuine and expired.
    #[allow(clippy::type_complexity)]
    fn open_tagged(
        &self,
        key: &str,
        value: &[u8],
    ) -> Option<Option<(Result<MachineAuth, OpaqueFailure>, Duration)>> {
        if value.len() <= TAG_LEN {
            return None;
        }
        let (tag, json) = value.split_at(TAG_LEN);
        let expected = self.hash.tag(&[key.as_bytes(), json]);
        aws_lc_rs::constant_time::verify_slices_are_equal(tag, &expected[..TAG_LEN]).ok()?;
        let stored: Stored = serde_json::from_slice(json).ok()?;
        let outcome = match (stored.ok, stored.err) {
            (Some(machine), None) => Ok(machine),
            (None, Some(f)) => Err(OpaqueFailure {
                reason: reason_named(&f.reason)?,
                message: f.message,
                retry_after_secs: None,
            }),
            _ => return None,
        };
        let Some(left) = stored.until.checked_sub(wall_ms()).filter(|&ms| ms > 0) else {
            return Some(None);
        };
        Some(Some((outcome, Duration::from_millis(left))))
    }
}

/// When the caller should stop waiting for another instance.
pub(crate) fn wait_deadline(timeout: Duration) -> (Instant, Duration) {
    let lock_ttl = timeout + Duration::from_secs(1);
    (Instant::now() + lock_ttl, lock_ttl)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn answers() -> SharedAnswers {
        // A store that is never contacted: only sealing and opening are tested here.
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("runtime");
        let _guard = rt.enter();
        let store = SharedStore::redis("redis://127.0.0.1:9").expect("store");
        SharedAnswers::new(store, &Secret::new("sk_test_shared".to_owned()))
    }

    fn machine() -> MachineAuth {
        MachineAuth {
            kind: TokenKind::ApiKey,
            id: Some(json!("ak_1")),
            subject: Some(json!("user_1")),
            name: Some(serde_json::Value::Null),
            claims: Some(json!({"a": [1, 2]})),
            scopes: None,
            client_id: None,
            expiration: Some(1.0e13),
        }
    }

    #[test]
    fn a_sealed_answer_opens_as_it_was_including_nulls_and_absences() {
        let a = answers();
        let keys = a.keys(TokenKind::ApiKey, &[], "ak_secret");
        assert!(!keys.answer.contains("ak_secret"));
        let value = a
            .seal(&keys.answer, &Ok(machine()), Duration::from_secs(10))
            .expect("sealed");
        let Opened::Valid(outcome, left) = a.open(&keys.answer, &value) else {
            panic!("a genuine answer opens");
        };
        assert_eq!(*outcome, Ok(machine()));
        assert!(left <= Duration::from_secs(10) && left > Duration::from_secs(8));

        let refusal = OpaqueFailure::new(Reason::TokenInvalid, "API key not found", Some(404));
        let value = a
            .seal(&keys.answer, &Err(refusal.clone()), Duration::from_secs(2))
            .expect("sealed");
        assert!(matches!(a.open(&keys.answer, &value), Opened::Valid(o, _) if *o == Err(refusal)));
        // A genuine answer past its `until` (Redis keeps it a few ms longer) is expired, not
        // forged: not counted, not logged.
        let value = a
            .seal(&keys.answer, &Ok(machine()), Duration::from_millis(1))
            .expect("sealed");
        std::thread::sleep(Duration::from_millis(5));
        assert!(matches!(a.open(&keys.answer, &value), Opened::Expired));
        assert_eq!(a.store().stats().rejected_answers, 0);
    }

    #[test]
    fn forged_moved_or_outage_answers_are_not_taken() {
        let a = answers();
        let keys = a.keys(TokenKind::ApiKey, &[], "ak_one");
        let other = a.keys(TokenKind::ApiKey, &[], "ak_two");
        let mut value = a
            .seal(&keys.answer, &Ok(machine()), Duration::from_secs(10))
            .expect("sealed");
        // Moved to another token's key: refused.
        assert!(matches!(a.open(&other.answer, &value), Opened::Forged));
        // Edited: refused.
        let last = value.len() - 2;
        value[last] ^= 1;
        assert!(matches!(a.open(&keys.answer, &value), Opened::Forged));
        // Written by another instance's key: refused.
        let b = SharedAnswers {
            hash: KeyedHash::new(b"sk_test_other", "machine tokens"),
            ..answers()
        };
        let foreign = b
            .seal(&keys.answer, &Ok(machine()), Duration::from_secs(10))
            .expect("sealed");
        assert!(matches!(a.open(&keys.answer, &foreign), Opened::Forged));
        // Outages are not shared.
        let outage = OpaqueFailure {
            retry_after_secs: Some(1),
            ..OpaqueFailure::new(Reason::UnexpectedError, "Unexpected error", Some(503))
        };
        assert!(a
            .seal(&keys.answer, &Err(outage), Duration::from_secs(1))
            .is_none());
    }

    #[test]
    fn keys_differ_by_kind_audience_and_token() {
        let a = answers();
        let k = |kind, aud: &[String], t| a.keys(kind, aud, t).answer;
        let base = k(TokenKind::OauthToken, &[], "oat_x");
        assert_ne!(base, k(TokenKind::ApiKey, &[], "oat_x"));
        assert_ne!(base, k(TokenKind::OauthToken, &["api".to_owned()], "oat_x"));
        assert_ne!(base, k(TokenKind::OauthToken, &[], "oat_y"));
        assert!(base.starts_with("clerk:"));
    }
}
