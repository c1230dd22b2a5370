//! What a change of tickets does to their events: the availability counters the events module
//! keeps (moved here, in the transaction of the change, last, so an event's row is locked as
//! briefly as possible), and the `TicketAvailable` event the live waiting list hears.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use entity::ticket::{self, TicketStatus};
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect};

use super::model::Ticket;
use crate::{
    error::ApiResult,
    events,
    ids::EventId,
    outbox::{DomainEvent, EventPayload},
};

/// Moves the counters of every event in `moves` (`(event, change of its AVAILABLE tickets)`),
/// in event id order, and returns an `EventUpdated` event for each whose availability changed.
pub async fn refresh(
    conn: &impl ConnectionTrait,
    moves: impl IntoIterator<Item = (EventId, i64)>,
    now: DateTime<Utc>,
) -> ApiResult<Vec<DomainEvent>> {
    let mut by_event = BTreeMap::<EventId, i64>::new();
    for (event, delta) in moves {
        *by_event.entry(event).or_default() += delta;
    }
    let mut updated = Vec::with_capacity(by_event.len());
    for (event, delta) in by_event {
        let counted = events::availability::count(conn, event, delta, now).await?;
        // After `count` took the event's row: see `events::availability`.
        let lowest = lowest_available(conn, event).await?;
        updated.extend(events::availability::settle(conn, counted, delta, lowest).await?);
    }
    Ok(updated)
}

/// The lowest price of the event's `AVAILABLE` tickets: one step down an index.
async fn lowest_available(conn: &impl ConnectionTrait, event: EventId) -> ApiResult<Option<i64>> {
    Ok(ticket::Entity::find()
        .select_only()
        .column(ticket::Column::PriceCents)
        .filter(ticket::Column::EventId.eq(event.uuid()))
        .filter(ticket::Column::Status.eq(TicketStatus::Available))
        .order_by_asc(ticket::Column::PriceCents)
        .limit(1)
        .into_tuple()
        .one(conn)
        .await?)
}

/// The `TicketAvailable` event of a ticket of an event that just became available or cheaper;
/// `None` for a ticket without an event (nobody waits for it).
pub fn available_event(ticket: &Ticket) -> Option<DomainEvent> {
    ticket
        .event_id
        .map(|_| DomainEvent::new(EventPayload::TicketAvailable(ticket.clone()), None))
}
