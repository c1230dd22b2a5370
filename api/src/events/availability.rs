//! The availability counters of an event, moved by the tickets module in the transaction of each
//! change of one of the event's tickets (listed, reserved, released, repriced).
//!
//! Under PostgreSQL's READ COMMITTED two transactions may change tickets of one event at once.
//! The count moves by a delta in an `UPDATE` (re-evaluated on the newest row if it waited), so it
//! is exact. A price that became available lowers the lowest price at most, in the same
//! statement (a `CASE` on the newest row too). A price that left can raise it only if it was the
//! lowest: then the caller reads it again *after* `count` has locked the event's row, in a
//! statement of its own (which sees everything committed before the lock was granted), and hands
//! it to `settle`. The last transaction to take the lock therefore writes a lowest price that
//! includes every committed change. Each caller locks its tickets
//! first and its events last, in id order, so two such transactions cannot deadlock.

use chrono::{DateTime, Utc};
use entity::event;
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, ExprTrait, QueryFilter, sea_query::Expr};

use super::{model::Event, service::not_found};
use crate::{
    error::ApiResult,
    ids::EventId,
    outbox::{DomainEvent, EventPayload},
};

/// Moves the event's `available_count` by `delta`, lowers its lowest price to `added` (a price
/// that became available) if that is lower, and locks its row until the transaction ends;
/// returns the row after the move. Both are computed from the row itself, so from its newest
/// version if the statement waited for the lock: exact however many run at once.
pub async fn count(
    conn: &impl ConnectionTrait,
    id: EventId,
    delta: i64,
    added: Option<i64>,
    now: DateTime<Utc>,
) -> ApiResult<event::Model> {
    let mut update = event::Entity::update_many()
        .col_expr(
            event::Column::AvailableCount,
            Expr::col(event::Column::AvailableCount).add(delta),
        )
        .col_expr(event::Column::UpdatedAt, Expr::value(now));
    if let Some(price) = added {
        let lowest = Expr::col(event::Column::LowestPriceCents);
        update = update.col_expr(
            event::Column::LowestPriceCents,
            Expr::case(lowest.clone().is_null().or(lowest.clone().gt(price)), price)
                .finally(lowest)
                .into(),
        );
    }
    update
        .filter(event::Column::Id.eq(id.uuid()))
        .exec_with_returning(conn)
        .await?
        .pop()
        .ok_or_else(not_found)
}

/// Writes the lowest price read after `count`, and returns the `EventUpdated` event when the
/// availability changed (`delta` not 0, or a new lowest price).
pub async fn settle(
    conn: &impl ConnectionTrait,
    counted: event::Model,
    delta: i64,
    lowest_price_cents: Option<i64>,
) -> ApiResult<Option<DomainEvent>> {
    let mut event = counted;
    if event.lowest_price_cents != lowest_price_cents {
        event::Entity::update_many()
            .col_expr(
                event::Column::LowestPriceCents,
                Expr::value(lowest_price_cents),
            )
            .filter(event::Column::Id.eq(event.id))
            .exec(conn)
            .await?;
        event.lowest_price_cents = lowest_price_cents;
    } else if delta == 0 {
        return Ok(None);
    }
    Ok(Some(updated_event(Event::from(event))))
}

/// An `EventUpdated` event for everyone.
pub fn updated_event(event: Event) -> DomainEvent {
    DomainEvent::new(EventPayload::EventUpdated(event), None)
}
