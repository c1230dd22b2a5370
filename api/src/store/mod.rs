//! The lock store and the event bus (`outbox::EventBus`): the two things that must be shared
//! between replicas besides the database. Each has an in-process backend (the embedded default,
//! one process) and a Redis backend (many replicas). Both pass the same tests (`api/tests/it/store.rs`).
//!
//! Invariants every backend keeps:
//! - a lock has one holder (the owner string) and, unless persisted, a deadline; only the holder
//!   can release, persist or re-arm it;
//! - when a lock's deadline passes it disappears and its key is announced on `expirations()`
//!   (a hint, possibly late or lost: the database's own deadlines stay the system of record);
//! - an event published by any process reaches every subscriber of every process on the bus.

pub mod memory;
pub mod redis;

use std::{sync::Arc, time::Duration};

use async_trait::async_trait;
use tokio::sync::broadcast;

pub use crate::outbox::EventBus;

/// What happened to an attempt to take a lock.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LockOutcome {
    Acquired,
    /// Someone (possibly the same owner) holds it already.
    Held,
}

/// What happened to a change that only the lock's holder may make.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum HolderChange {
    Applied,
    /// The lock is gone or belongs to another owner; nothing changed.
    NotHolder,
}

/// A fixed-window counter's state, for rate limits.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Hits {
    pub count: u64,
    /// Time until the window closes (zero when there is no window).
    pub resets_in: Duration,
}

#[async_trait]
pub trait LockStore: Send + Sync + 'static {
    /// Takes `key` for `owner` for `ttl` if nobody holds it (`SET NX PX`).
    async fn acquire(&self, key: &str, owner: &str, ttl: Duration) -> anyhow::Result<LockOutcome>;
    /// Sets `key` to `value` for `ttl` whoever held it (`SET PX`): for cache entries, not locks.
    async fn put(&self, key: &str, value: &str, ttl: Duration) -> anyhow::Result<()>;
    /// Deletes the lock if `owner` holds it.
    async fn release(&self, key: &str, owner: &str) -> anyhow::Result<HolderChange>;
    /// Removes the lock's deadline if `owner` holds it.
    async fn persist(&self, key: &str, owner: &str) -> anyhow::Result<HolderChange>;
    /// Gives the lock a new deadline `ttl` from now if `owner` holds it.
    async fn restore_ttl(
        &self,
        key: &str,
        owner: &str,
        ttl: Duration,
    ) -> anyhow::Result<HolderChange>;
    /// Who holds `key`, if anyone.
    async fn holder(&self, key: &str) -> anyhow::Result<Option<String>>;
    /// Keys (without the deployment prefix) whose deadline passed.
    fn expirations(&self) -> broadcast::Receiver<String>;
    /// Counts one hit in the window of `key`, opening a window of `window` on the first hit.
    async fn hit(&self, key: &str, window: Duration) -> anyhow::Result<Hits>;
    /// The window's state without counting.
    async fn hits(&self, key: &str) -> anyhow::Result<Hits>;
    /// Closes the window of `key`.
    async fn reset(&self, key: &str) -> anyhow::Result<()>;
    /// Answers while the store is reachable.
    async fn ping(&self) -> anyhow::Result<()>;
}

/// How many events (or expired keys) a slow subscriber may fall behind before it skips ahead (a burst of 10,000
/// expiries is 30,000 events).
pub const BUS_CAPACITY: usize = 65_536;

/// Both halves, from one backend.
#[derive(Clone)]
pub struct Stores {
    pub locks: Arc<dyn LockStore>,
    pub bus: Arc<dyn EventBus>,
    /// The on-sale queues (`queue`), in the same place.
    pub queues: Arc<dyn crate::queue::store::QueueStore>,
}

impl Stores {
    pub fn memory() -> Self {
        let store = Arc::new(memory::MemoryStore::new());
        Self {
            locks: store.clone(),
            bus: store,
            queues: Arc::new(crate::queue::memory::MemoryQueues::default()),
        }
    }

    pub async fn redis(url: &str, prefix: &str) -> anyhow::Result<Self> {
        let store = Arc::new(redis::RedisStore::connect(url, prefix).await?);
        Ok(Self {
            queues: Arc::new(crate::queue::redis::RedisQueues::new(
                store.connection(),
                prefix,
            )),
            locks: store.clone(),
            bus: store,
        })
    }
}
