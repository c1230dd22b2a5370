//! The availability counters of an event (`available_count`, `lowest_price_cents`), and the
//! changes that move them: each change of one of the event's tickets (listed, reserved,
//! released, repriced) appends its `availability_changes` row in its own transaction
//! (`record`), which contends with no other; a settle (`tickets::availability::Availability`)
//! then folds them into the event's row in a short transaction of its own:
//!
//! 1. `lock` takes the event's row, so settles of one event run one after another, on every
//!    replica;
//! 2. `take_changes` deletes and sums the changes committed before the lock was granted (its
//!    statement's snapshot is taken after): each is folded exactly once, in the transaction
//!    that deletes it;
//! 3. the caller reads the lowest price of the event's `AVAILABLE` tickets, in a statement of
//!    its own, after the lock too;
//! 4. `write` stores both.
//!
//! The writer of a change asks for a settle after its commit, so the settle that follows the
//! last change sees every change: once they have run, the counters are exact. A writer that
//! stopped between its commit and its settle leaves its rows behind; `left_behind` finds them
//! for the sweep.

use chrono::{DateTime, Utc};
use entity::{availability_change, event};
use sea_orm::{
    ActiveValue::Set,
    ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QuerySelect,
    sea_query::{Expr, LockType},
};
use uuid::Uuid;

use super::model::Event;
use crate::{
    error::ApiResult,
    ids::EventId,
    outbox::{DomainEvent, EventPayload},
};

/// Appends each `(event, change of its AVAILABLE tickets)`; call it in the transaction of the
/// change (a reprice is a change of 0: the lowest price may move).
pub async fn record(
    conn: &impl ConnectionTrait,
    moves: impl IntoIterator<Item = (EventId, i64)>,
    now: DateTime<Utc>,
) -> ApiResult<()> {
    let rows: Vec<_> = moves
        .into_iter()
        .map(|(event, delta)| availability_change::ActiveModel {
            id: Set(Uuid::now_v7()),
            event_id: Set(event.uuid()),
            delta: Set(delta),
            created_at: Set(now),
        })
        .collect();
    if !rows.is_empty() {
        availability_change::Entity::insert_many(rows)
            .exec(conn)
            .await?;
    }
    Ok(())
}

/// Locks the event's row until the transaction ends, and reads it; `None` for no such event.
pub async fn lock(conn: &impl ConnectionTrait, id: EventId) -> ApiResult<Option<event::Model>> {
    // Not `FOR UPDATE`: that would wait for every transaction holding the key-share lock a
    // foreign key check takes (a ticket listed for the event, say).
    Ok(event::Entity::find_by_id(id.uuid())
        .lock(LockType::NoKeyUpdate)
        .one(conn)
        .await?)
}

/// Deletes the event's changes committed so far, and returns their sum.
pub async fn take_changes(conn: &impl ConnectionTrait, id: EventId) -> ApiResult<i64> {
    Ok(availability_change::Entity::delete_many()
        .filter(availability_change::Column::EventId.eq(id.uuid()))
        .exec_with_returning(conn)
        .await?
        .iter()
        .map(|c| c.delta)
        .sum())
}

/// Moves the locked event's count by `delta` and sets its lowest price; returns the
/// `EventUpdated` event when either changed.
pub async fn write(
    conn: &impl ConnectionTrait,
    locked: event::Model,
    delta: i64,
    lowest_price_cents: Option<i64>,
    now: DateTime<Utc>,
) -> ApiResult<Option<DomainEvent>> {
    if delta == 0 && locked.lowest_price_cents == lowest_price_cents {
        return Ok(None);
    }
    let mut event = locked;
    event.available_count += delta;
    event.lowest_price_cents = lowest_price_cents;
    event.updated_at = now;
    event::Entity::update_many()
        .col_expr(
            event::Column::AvailableCount,
            Expr::value(event.available_count),
        )
        .col_expr(
            event::Column::LowestPriceCents,
            Expr::value(lowest_price_cents),
        )
        .col_expr(event::Column::UpdatedAt, Expr::value(now))
        .filter(event::Column::Id.eq(event.id))
        .exec(conn)
        .await?;
    Ok(Some(updated_event(Event::from(event))))
}

/// Events with changes recorded at or before `before`: left behind by a writer that stopped
/// before it settled them (a settle takes an event's changes within milliseconds).
pub async fn left_behind(
    conn: &impl ConnectionTrait,
    before: DateTime<Utc>,
    limit: u64,
) -> ApiResult<Vec<EventId>> {
    let ids: Vec<Uuid> = availability_change::Entity::find()
        .select_only()
        .column(availability_change::Column::EventId)
        .distinct()
        .filter(availability_change::Column::CreatedAt.lte(before))
        .limit(limit)
        .into_tuple()
        .all(conn)
        .await?;
    Ok(ids.into_iter().map(EventId::from).collect())
}

/// An `EventUpdated` event for everyone.
pub fn updated_event(event: Event) -> DomainEvent {
    DomainEvent::new(EventPayload::EventUpdated(event), None)
}
