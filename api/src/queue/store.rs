//! Where the queues live: in-process for the embedded default, Redis for many replicas (one code
//! path in `service`, two backends, as for the lock store). Each backend keeps, per event:
//!
//! - who joined and when; before the sale a random key per place (the pre-queue), after it the
//!   order of joining;
//! - whether the pre-queue is frozen: the first admission step at or after `onSaleAt` counts it,
//!   and from then on every join goes to the back, whatever a replica's clock says;
//! - the number admitted so far, and when each step admitted (to tell when place `n` was);
//! - the step last run (seconds since `onSaleAt`), so that however many replicas ask, each second
//!   admits once.
//!
//! A place's number is its rank by random key among the pre-queue (1, 2, …), or the pre-queue's
//! size plus its rank among later joiners. Its position is its number minus the number admitted:
//! an admission writes one counter, never the waiting places.

use async_trait::async_trait;
use uuid::Uuid;

/// One account's place as stored.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Entry {
    pub joined_at_ms: i64,
    /// 1-based; `None` until the pre-queue is frozen (its order is not drawn yet).
    pub number: Option<u64>,
}

/// A queue's counters.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Progress {
    pub frozen: bool,
    /// Places in the queue (known once frozen; before, the pre-queue's size so far).
    pub joined: u64,
    pub admitted: u64,
    pub sold_out: bool,
}

impl Progress {
    /// The later of two reads of the same queue: its counters only grow.
    pub fn merge(self, other: Progress) -> Progress {
        Progress {
            frozen: self.frozen || other.frozen,
            joined: self.joined.max(other.joined),
            admitted: self.admitted.max(other.admitted),
            sold_out: self.sold_out || other.sold_out,
        }
    }
}

/// What one admission step did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Step {
    pub progress: Progress,
    /// Whether this call froze the pre-queue.
    pub froze: bool,
    /// The places this call admitted (`admitted` before and after) and when.
    pub admitted: Option<(u64, u64, i64)>,
}

#[async_trait]
pub trait QueueStore: Send + Sync + 'static {
    /// Puts `user` in the event's queue, or returns the place it has (one per account). `key` is
    /// its random draw for the pre-queue; `keep_until_ms` when the queue may be forgotten.
    async fn join(
        &self,
        event: Uuid,
        user: Uuid,
        now_ms: i64,
        key: f64,
        keep_until_ms: i64,
    ) -> anyhow::Result<Entry>;
    async fn entry(&self, event: Uuid, user: Uuid) -> anyhow::Result<Option<Entry>>;
    async fn progress(&self, event: Uuid) -> anyhow::Result<Progress>;
    /// One admission step at `now_ms` (at or after `on_sale_ms`): freezes the pre-queue the first
    /// time; then, once per second since `on_sale_ms` whoever asks, admits up to `rate` more
    /// places that have joined. A second nobody asked in is not caught up later.
    async fn advance(
        &self,
        event: Uuid,
        on_sale_ms: i64,
        now_ms: i64,
        rate: u64,
    ) -> anyhow::Result<Step>;
    /// When place `number` was admitted, if it has been.
    async fn admitted_at(&self, event: Uuid, number: u64) -> anyhow::Result<Option<i64>>;
    /// Marks the queue sold out (every place still waiting expires); whether this call did.
    async fn sell_out(&self, event: Uuid) -> anyhow::Result<bool>;
}
