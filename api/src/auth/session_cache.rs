//! Live sessions remembered in the lock store, so most authenticated requests cost no database
//! query. Only with a store the replicas share (Redis): a revocation writes a tombstone over the
//! entry before the database changes, and entries are written `SET NX`, so a request that read
//! the session live just before cannot bring it back.
//!
//! The database stays the system of record: a miss, a slow or an unreachable store all mean "ask
//! the database". After a failure the cache is left alone for a few seconds, so an outage costs
//! requests one short wait, not one per request. A tombstone that cannot be written is an error:
//! the sign-out is refused rather than left half done.

use std::{
    sync::{Arc, Mutex},
    time::{Duration, Instant},
};

use chrono::{DateTime, Utc};
use entity::session;
use uuid::Uuid;

use crate::{
    error::{ApiError, ApiResult},
    store::LockStore,
};

/// How long a live session is remembered before the database is asked again.
const TTL: Duration = Duration::from_secs(5 * 60);
/// How long a revoked session's tombstone stays: far longer than a request that read the session
/// live just before its revocation could take to write it back.
const TOMBSTONE_TTL: Duration = Duration::from_secs(10 * 60);
const REVOKED: &str = "revoked";
/// The longest a lookup or a remember waits for the store before the database answers instead.
const WAIT: Duration = Duration::from_millis(250);
/// The longest a tombstone waits for the store before the sign-out fails.
const TOMBSTONE_WAIT: Duration = Duration::from_secs(2);
/// How long the cache is left alone after the store failed.
const BACK_OFF: Duration = Duration::from_secs(5);

#[derive(Clone)]
pub struct SessionCache {
    locks: Arc<dyn LockStore>,
    enabled: bool,
    down_until: Arc<Mutex<Option<Instant>>>,
}

/// What the cache says about a session.
#[derive(Debug, PartialEq, Eq)]
pub enum Cached {
    /// Live, for this user.
    Live(Uuid),
    /// Revoked, or held for another user.
    Refused,
    /// Not known here: ask the database.
    Unknown,
}

impl SessionCache {
    /// `enabled` only when `locks` is shared by every replica.
    pub fn new(locks: Arc<dyn LockStore>, enabled: bool) -> Self {
        Self {
            locks,
            enabled,
            down_until: Arc::default(),
        }
    }

    pub async fn get(&self, session_id: Uuid, user_id: Uuid) -> Cached {
        if !self.usable() {
            return Cached::Unknown;
        }
        match tokio::time::timeout(WAIT, self.locks.holder(&key(session_id))).await {
            Ok(Ok(Some(held))) if held == user_id.to_string() => Cached::Live(user_id),
            Ok(Ok(Some(_))) => Cached::Refused,
            Ok(Ok(None)) => Cached::Unknown,
            Ok(Err(err)) => self.failed(&err.to_string()),
            Err(_) => self.failed("timed out"),
        }
    }

    /// Remembers a live session, never past its expiry; a failure only costs later requests a
    /// database query.
    pub async fn remember(&self, session: &session::Model, now: DateTime<Utc>) {
        let ttl = (session.expires_at - now)
            .to_std()
            .unwrap_or_default()
            .min(TTL);
        if !self.usable() || ttl.is_zero() {
            return;
        }
        let owner = session.user_id.to_string();
        let key = key(session.id);
        let write = self.locks.acquire(&key, &owner, ttl);
        match tokio::time::timeout(WAIT, write).await {
            Ok(Ok(_)) => {}
            Ok(Err(err)) => {
                self.failed(&err.to_string());
            }
            Err(_) => {
                self.failed("timed out");
            }
        }
    }

    /// Writes tombstones over the sessions' entries, or fails.
    pub async fn forget(&self, session_ids: &[Uuid]) -> ApiResult<()> {
        if !self.enabled {
            return Ok(());
        }
        for id in session_ids {
            let key = key(*id);
            let write = self.locks.put(&key, REVOKED, TOMBSTONE_TTL);
            match tokio::time::timeout(TOMBSTONE_WAIT, write).await {
                Ok(Ok(())) => {}
                Ok(Err(err)) => return Err(ApiError::internal(err)),
                Err(_) => {
                    return Err(ApiError::internal(anyhow::anyhow!(
                        "the lock store did not take a session's tombstone in time"
                    )));
                }
            }
        }
        Ok(())
    }

    fn usable(&self) -> bool {
        if !self.enabled {
            return false;
        }
        let Ok(mut down) = self.down_until.lock() else {
            return false;
        };
        match *down {
            Some(until) if Instant::now() < until => false,
            Some(_) => {
                *down = None;
                true
            }
            None => true,
        }
    }

    fn failed(&self, why: &str) -> Cached {
        if let Ok(mut down) = self.down_until.lock()
            && down.is_none()
        {
            tracing::warn!(error = why, back_off = ?BACK_OFF, "session cache unavailable; the database answers meanwhile");
            *down = Some(Instant::now() + BACK_OFF);
        }
        Cached::Unknown
    }
}

fn key(session_id: Uuid) -> String {
    format!("session:{session_id}")
}
