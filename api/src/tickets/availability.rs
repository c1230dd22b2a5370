//! What a change of tickets does to their events: the availability counters the events module
//! keeps (moved here, in the transaction of the change, last, so an event's row is locked as
//! briefly as possible: one statement, unless a ticket that left may have been the cheapest),
//! and the `TicketAvailable` event the live waiting list hears.

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

/// What a change did to one of an event's `AVAILABLE` tickets, at what price (cents).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Move {
    /// It became `AVAILABLE`: listed, or released by its order.
    Added(i64),
    /// It stopped being `AVAILABLE`: reserved.
    Removed(i64),
    /// Its price changed while it was `AVAILABLE`.
    Repriced { from: i64, to: i64 },
}

/// One event's moves, summed: how its count changes, the lowest price that became available,
/// and the prices that stopped being (any of them may have been the lowest).
#[derive(Default)]
struct Sum {
    delta: i64,
    added: Option<i64>,
    removed: Vec<i64>,
}

impl Sum {
    fn add(&mut self, m: Move) {
        let (added, removed) = match m {
            Move::Added(price) => {
                self.delta += 1;
                (Some(price), None)
            }
            Move::Removed(price) => {
                self.delta -= 1;
                (None, Some(price))
            }
            Move::Repriced { from, to } => (Some(to), Some(from)),
        };
        if let Some(price) = added {
            self.added = Some(self.added.map_or(price, |a| a.min(price)));
        }
        self.removed.extend(removed);
    }

    /// Whether the lowest price must be read again once the counters moved to `lowest`: only if
    /// a price that left may have been the lowest. One that became available lowers it at most,
    /// which the counting `UPDATE` does itself.
    fn must_reread(&self, lowest: Option<i64>) -> bool {
        match lowest {
            None => !self.removed.is_empty(),
            Some(lowest) => self.removed.iter().any(|&price| price <= lowest),
        }
    }
}

/// Moves the counters of every event in `moves`, in event id order, and returns an
/// `EventUpdated` event for each whose availability changed.
pub async fn refresh(
    conn: &impl ConnectionTrait,
    moves: impl IntoIterator<Item = (EventId, Move)>,
    now: DateTime<Utc>,
) -> ApiResult<Vec<DomainEvent>> {
    let mut by_event = BTreeMap::<EventId, Sum>::new();
    for (event, m) in moves {
        by_event.entry(event).or_default().add(m);
    }
    let mut updated = Vec::with_capacity(by_event.len());
    for (event, sum) in by_event {
        // A reprice moves no count: whether its lowest price changed is told by reading it
        // again against the row's, so the count leaves it.
        let added = sum.added.filter(|_| sum.delta != 0);
        let counted = events::availability::count(conn, event, sum.delta, added, now).await?;
        let lowest = if sum.delta == 0 || sum.must_reread(counted.lowest_price_cents) {
            // After `count` took the event's row: see `events::availability`.
            lowest_available(conn, event).await?
        } else {
            counted.lowest_price_cents
        };
        updated.extend(events::availability::settle(conn, counted, sum.delta, lowest).await?);
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

#[cfg(test)]
mod tests {
    use super::{Move, Sum};

    fn sum(moves: &[Move]) -> Sum {
        let mut sum = Sum::default();
        for m in moves {
            sum.add(*m);
        }
        sum
    }

    #[test]
    fn the_lowest_price_is_read_again_only_when_the_cheapest_may_have_left() {
        let added = sum(&[Move::Added(3000), Move::Added(1000)]);
        assert_eq!((added.delta, added.added), (2, Some(1000)));
        assert!(!added.must_reread(Some(1000)));
        assert!(!added.must_reread(None));

        let removed = sum(&[Move::Removed(2000)]);
        assert_eq!((removed.delta, removed.added), (-1, None));
        assert!(!removed.must_reread(Some(1000)), "a dearer one left");
        assert!(removed.must_reread(Some(2000)), "one at the lowest left");
        assert!(removed.must_reread(None), "the row knows of none");

        let up = sum(&[Move::Repriced {
            from: 1000,
            to: 5000,
        }]);
        assert_eq!((up.delta, up.added), (0, Some(5000)));
        assert!(up.must_reread(Some(1000)), "the cheapest went up");
        let down = sum(&[Move::Repriced {
            from: 3000,
            to: 500,
        }]);
        assert!(
            !down.must_reread(Some(500)),
            "a cut is the new lowest itself"
        );
    }
}
