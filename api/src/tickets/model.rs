//! A ticket as the domain sees it: what services return and what its events carry. Its serialized
//! form is stored in the outbox, so a change here is a new event version (see `outbox::event`).

use chrono::{DateTime, Utc};
use entity::ticket::{self, TicketStatus};
use serde::{Deserialize, Serialize};

use crate::ids::{EventId, TicketId, UserId};

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Ticket {
    pub id: TicketId,
    pub title: String,
    pub price_cents: i64,
    /// +1 on every change.
    pub version: i32,
    pub status: TicketStatus,
    pub seller_id: UserId,
    /// The event it is listed for; `None` for a ticket listed without one (and in events stored
    /// before events existed).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub event_id: Option<EventId>,
    /// Set while `RESERVED`: when the order holding it runs out.
    pub reserved_until: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl From<ticket::Model> for Ticket {
    fn from(m: ticket::Model) -> Self {
        Self {
            id: m.id.into(),
            title: m.title,
            price_cents: m.price_cents,
            version: m.version,
            status: m.status,
            seller_id: m.seller_id.into(),
            event_id: m.event_id.map(EventId::from),
            reserved_until: m.reserved_until,
            created_at: m.created_at,
            updated_at: m.updated_at,
        }
    }
}
