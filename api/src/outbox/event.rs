//! Every domain event. An event carries domain values (`tickets::model::Ticket`, …) with typed
//! ids, never GraphQL types, so a GraphQL rename changes no stored JSON; how it is stored and read
//! back, version by version, is `codec`.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::{
    auth::model::{SessionsRevoked, User},
    db,
    events::model::Event,
    ids::{DomainEventId, UserId},
    orders::model::Order,
    payments::model::Charge,
    queue::model::QueueAdvanced,
    tickets::model::Ticket,
};

/// One thing that happened. Subscriptions read their data from here, never from the database,
/// so a push to many watchers costs no queries.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct DomainEvent {
    pub id: DomainEventId,
    pub occurred_at: DateTime<Utc>,
    /// The only user who may see it; `None` for everyone.
    pub audience: Option<UserId>,
    pub payload: EventPayload,
}

#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
#[serde(tag = "type", content = "data")]
pub enum EventPayload {
    UserCreated(User),
    UserUpdated(User),
    TicketCreated(Ticket),
    TicketUpdated(Ticket),
    /// A ticket of an event became `AVAILABLE` or got cheaper (listed, released, repriced):
    /// what the live waiting list (`ticketAvailable`) hears. Recorded beside `TicketUpdated`.
    TicketAvailable(Ticket),
    EventCreated(Event),
    /// Its availability (`available_count`, `lowest_price_cents`) changed.
    EventUpdated(Event),
    OrderCreated(Order),
    OrderUpdated(Order),
    OrderExpired(Order),
    ChargeCreated(Charge),
    /// An admission step of an event's queue: sent on the bus only, never stored (the queue's
    /// state lives in its store), for `queueUpdated`.
    QueueAdvanced(QueueAdvanced),
    /// Every replica closes the revoked sessions' WebSockets, and their subscriptions end. No
    /// GraphQL subscription delivers it.
    SessionsRevoked(SessionsRevoked),
}

impl EventPayload {
    pub fn name(&self) -> &'static str {
        match self {
            EventPayload::UserCreated(_) => "UserCreated",
            EventPayload::UserUpdated(_) => "UserUpdated",
            EventPayload::TicketCreated(_) => "TicketCreated",
            EventPayload::TicketUpdated(_) => "TicketUpdated",
            EventPayload::TicketAvailable(_) => "TicketAvailable",
            EventPayload::EventCreated(_) => "EventCreated",
            EventPayload::EventUpdated(_) => "EventUpdated",
            EventPayload::OrderCreated(_) => "OrderCreated",
            EventPayload::OrderUpdated(_) => "OrderUpdated",
            EventPayload::OrderExpired(_) => "OrderExpired",
            EventPayload::ChargeCreated(_) => "ChargeCreated",
            EventPayload::QueueAdvanced(_) => "QueueAdvanced",
            EventPayload::SessionsRevoked(_) => "SessionsRevoked",
        }
    }
}

impl DomainEvent {
    pub fn new(payload: EventPayload, audience: Option<UserId>) -> Self {
        Self {
            id: DomainEventId::generate(),
            occurred_at: db::now(),
            audience,
            payload,
        }
    }

    /// Whether `viewer` may receive it.
    pub fn visible_to(&self, viewer: Option<UserId>) -> bool {
        match self.audience {
            None => true,
            Some(owner) => viewer == Some(owner),
        }
    }
}
