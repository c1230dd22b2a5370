//! An event as the domain sees it: what services return and what its events carry (stored in the
//! outbox, so a change here is a new event version, see `outbox::event`).

use chrono::{DateTime, Utc};
use entity::event;
use serde::{Deserialize, Serialize};

use crate::ids::{EventId, UserId};

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Event {
    pub id: EventId,
    pub name: String,
    pub venue: String,
    pub city: String,
    pub starts_at: DateTime<Utc>,
    pub on_sale_at: Option<DateTime<Utc>>,
    pub organizer_id: UserId,
    /// Its `AVAILABLE` tickets.
    pub available_count: i64,
    /// The lowest price among them; `None` when there are none.
    pub lowest_price_cents: Option<i64>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl Event {
    /// Whether it has started at `now` (its tickets can no longer be listed or ordered).
    pub fn started(&self, now: DateTime<Utc>) -> bool {
        self.starts_at <= now
    }
}

impl From<event::Model> for Event {
    fn from(m: event::Model) -> Self {
        Self {
            id: m.id.into(),
            name: m.name,
            venue: m.venue,
            city: m.city,
            starts_at: m.starts_at,
            on_sale_at: m.on_sale_at,
            organizer_id: m.organizer_id.into(),
            available_count: m.available_count,
            lowest_price_cents: m.lowest_price_cents,
            created_at: m.created_at,
            updated_at: m.updated_at,
        }
    }
}
