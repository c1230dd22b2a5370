//! What a change of tickets does to their events: the change of each event's availability,
//! recorded in the transaction of the change (`record`) and settled into the event's counters
//! after its commit (`Availability::settle`, see `events::availability` for the steps); and the
//! `TicketAvailable` event the live waiting list hears.
//!
//! Settles are coalesced per event and process: one runs at a time for an event, and every
//! writer that committed while it ran shares the next. A writer waits for a settle that began
//! after its commit, and only then publishes its events and answers: whoever made a change, or
//! heard of it, reads counters that include it. A rush on one event's tickets costs that
//! event's row one short transaction per settle, rather than a lock per reservation held until
//! the reservation's commit.

use std::{
    collections::{BTreeMap, HashMap},
    sync::{Arc, Mutex},
    time::Duration,
};

use chrono::{DateTime, Utc};
use entity::ticket::{self, TicketStatus};
use sea_orm::{
    ColumnTrait, ConnectionTrait, DatabaseConnection, EntityTrait, QueryFilter, QueryOrder,
    QuerySelect,
};
use tokio::sync::watch;
use tokio_util::sync::CancellationToken;

use super::model::Ticket;
use crate::{
    db,
    error::ApiResult,
    events,
    ids::EventId,
    outbox::{self, DomainEvent, EventPayload, Events},
};

/// How long a writer waits for its settle at most (a database that stopped answering): the
/// change is committed, and the sweep settles it later.
const SETTLE_WAIT: Duration = Duration::from_secs(5);
/// Changes older than this are left behind (their writer stopped before it settled them).
const LEFT_BEHIND_AFTER: Duration = Duration::from_secs(2);
const SWEEP_EVERY: Duration = Duration::from_secs(1);
const SWEEP_BATCH: u64 = 100;

/// The events whose availability a committed change moved: hand them to
/// [`Availability::settle`] after the commit.
#[must_use = "settle the events after the commit"]
#[derive(Debug, Default)]
pub struct Moved(Vec<EventId>);

impl Moved {
    pub fn and(mut self, other: Moved) -> Self {
        self.0.extend(other.0);
        self
    }
}

/// Records the change of each event in `moves` (`(event, change of its AVAILABLE tickets)`, 0
/// for a reprice) in the transaction of the change; settle the events it returns after the
/// commit.
pub async fn record(
    conn: &impl ConnectionTrait,
    moves: impl IntoIterator<Item = (EventId, i64)>,
    now: DateTime<Utc>,
) -> ApiResult<Moved> {
    let mut by_event = BTreeMap::<EventId, i64>::new();
    for (event, delta) in moves {
        *by_event.entry(event).or_default() += delta;
    }
    events::availability::record(conn, by_event.iter().map(|(e, d)| (*e, *d)), now).await?;
    Ok(Moved(by_event.into_keys().collect()))
}

/// One event's settles in this process: how many were asked for, how many of those are done
/// (published), and whether a task is running them.
struct Slot {
    asked: u64,
    done: watch::Sender<u64>,
    running: bool,
}

/// Settles events' availability after the changes that moved it (one per process, shared).
#[derive(Clone)]
pub struct Availability {
    db: DatabaseConnection,
    events: Events,
    slots: Arc<Mutex<HashMap<EventId, Slot>>>,
}

impl Availability {
    pub fn new(db: DatabaseConnection, events: Events) -> Self {
        Self {
            db,
            events,
            slots: Arc::default(),
        }
    }

    /// Settles each event `moved` names, and returns once a settle that began after this call
    /// has ended for each (or `SETTLE_WAIT` passed).
    pub async fn settle(&self, moved: Moved) {
        let mut waits = Vec::with_capacity(moved.0.len());
        for event in moved.0 {
            waits.push(self.ask(event));
        }
        for (target, mut done) in waits {
            let _ = tokio::time::timeout(SETTLE_WAIT, done.wait_for(|d| *d >= target)).await;
        }
    }

    /// Asks for a settle of `event` that begins from now on; returns the number it will be
    /// done at and where to watch for it. Starts the event's settling task if none runs; the
    /// task is spawned, so a writer that goes away (its client hung up) stops nothing.
    fn ask(&self, event: EventId) -> (u64, watch::Receiver<u64>) {
        let mut slots = self.slots.lock().unwrap_or_else(|e| e.into_inner());
        let slot = slots.entry(event).or_insert_with(|| Slot {
            asked: 0,
            done: watch::Sender::new(0),
            running: false,
        });
        slot.asked += 1;
        let asked = (slot.asked, slot.done.subscribe());
        if !slot.running {
            slot.running = true;
            tokio::spawn(self.clone().run(event));
        }
        asked
    }

    /// Settles `event` until every settle asked for is done.
    async fn run(self, event: EventId) {
        loop {
            let upto = {
                let slots = self.slots.lock().unwrap_or_else(|e| e.into_inner());
                slots.get(&event).map_or(0, |s| s.asked)
            };
            if let Err(err) = self.settle_once(event).await {
                // Its changes stay recorded: the sweep settles them.
                tracing::warn!(%event, error = ?err, "could not settle an event's availability; the sweep will");
            }
            let mut slots = self.slots.lock().unwrap_or_else(|e| e.into_inner());
            let Some(slot) = slots.get_mut(&event) else {
                return;
            };
            slot.done.send_replace(upto);
            if slot.asked == upto {
                slots.remove(&event);
                return;
            }
        }
    }

    /// One settle: the event's row, then its changes, then its lowest price, in one short
    /// transaction (`events::availability`); publishes `EventUpdated` if they changed.
    pub async fn settle_once(&self, event: EventId) -> ApiResult<()> {
        let now = db::now();
        let txn = db::begin_write(&self.db).await?;
        let locked = events::availability::lock(&txn, event).await?;
        let delta = events::availability::take_changes(&txn, event).await?;
        // No such event (none is ever deleted): its changes go, so the sweep does not return.
        let Some(locked) = locked else {
            txn.commit().await?;
            return Ok(());
        };
        let lowest = lowest_available(&txn, event).await?;
        let updated: Vec<DomainEvent> =
            events::availability::write(&txn, locked, delta, lowest, now)
                .await?
                .into_iter()
                .collect();
        outbox::record(&txn, &updated).await?;
        txn.commit().await?;
        self.events.publish_committed(&updated).await;
        Ok(())
    }

    /// Settles events whose changes were left behind, every `SWEEP_EVERY` until `stop` (run on
    /// every replica: settles of one event take turns on its row, and any of them is right).
    pub async fn run_sweeper(self, stop: CancellationToken) {
        let mut tick = tokio::time::interval(SWEEP_EVERY);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                _ = stop.cancelled() => break,
                _ = tick.tick() => {}
            }
            if let Err(err) = self.sweep_once().await {
                tracing::warn!(task = "availability-sweep", error = ?err, "sweep failed");
            }
        }
    }

    /// Settles the events with changes older than `LEFT_BEHIND_AFTER`; returns how many.
    pub async fn sweep_once(&self) -> ApiResult<usize> {
        let before = db::now() - chrono::Duration::from_std(LEFT_BEHIND_AFTER).unwrap_or_default();
        let left = events::availability::left_behind(&self.db, before, SWEEP_BATCH).await?;
        if !left.is_empty() {
            tracing::info!(
                task = "availability-sweep",
                events = left.len(),
                "settling changes a stopped writer left behind"
            );
        }
        let n = left.len();
        self.settle(Moved(left)).await;
        Ok(n)
    }
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
