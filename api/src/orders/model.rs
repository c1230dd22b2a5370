//! An order as the domain sees it: what services return and what its events carry. Its serialized
//! form is stored in the outbox, so a change here is a new event version (see `outbox::event`).

use chrono::{DateTime, Utc};
use entity::order::{self, OrderStatus};
use serde::{Deserialize, Serialize};

use crate::{
    ids::{OrderId, TicketId, UserId},
    tickets::model::Ticket,
};

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Order {
    pub id: OrderId,
    pub ticket_id: TicketId,
    pub buyer_id: UserId,
    pub status: OrderStatus,
    /// What the buyer pays: the ticket's price when the order was made.
    pub price_cents: i64,
    /// When an unpaid order is cancelled and its ticket goes back on sale.
    pub expires_at: DateTime<Utc>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    /// The ticket as the change that carries this order left it, when the change read it (an
    /// event's subscribers read no database).
    pub ticket: Option<Ticket>,
}

impl Order {
    pub fn new(m: order::Model, ticket: Option<Ticket>) -> Self {
        Self {
            id: m.id.into(),
            ticket_id: m.ticket_id.into(),
            buyer_id: m.buyer_id.into(),
            status: m.status,
            price_cents: m.price_cents,
            expires_at: m.expires_at,
            created_at: m.created_at,
            updated_at: m.updated_at,
            ticket,
        }
    }
}
