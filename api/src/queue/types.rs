//! GraphQL types of the on-sale queue, mapped from `model::Place`.

use async_graphql::{Enum, ID, SimpleObject};
use chrono::{DateTime, Utc};

use super::model;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Enum)]
#[graphql(remote = "model::QueueStatus")]
pub enum QueueStatus {
    /// In line; `position` says where once the sale has begun.
    Waiting,
    /// Your turn: you may order the event's tickets until `admittedUntil`.
    Admitted,
    /// Your admission ended, or the event sold out while you waited.
    Expired,
}

#[derive(Clone, Debug, PartialEq, Eq, SimpleObject)]
pub struct QueuePlace {
    pub event_id: ID,
    pub status: QueueStatus,
    /// 1-based among those still WAITING; null before `onSaleAt` (the order is drawn then).
    pub position: Option<i32>,
    /// From the admission rate; null before `onSaleAt`.
    pub eta_seconds: Option<i32>,
    /// Set when ADMITTED (and kept once EXPIRED after it).
    pub admitted_until: Option<DateTime<Utc>>,
    pub joined_at: DateTime<Utc>,
}

fn int(n: u64) -> i32 {
    i32::try_from(n).unwrap_or(i32::MAX)
}

impl From<model::Place> for QueuePlace {
    fn from(p: model::Place) -> Self {
        Self {
            event_id: p.event_id.into(),
            status: p.status.into(),
            position: p.position.map(int),
            eta_seconds: p.eta_seconds.map(int),
            admitted_until: p.admitted_until,
            joined_at: p.joined_at,
        }
    }
}
