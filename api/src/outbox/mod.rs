//! The transactional outbox and the event bus (DESIGN.md, step 4). The events themselves are in
//! `event`, the versioned form they are stored and sent in is `codec`.
//!
//! Invariant: no event is lost. Every state change records its events with `record` in the same
//! transaction; after commit `Events::publish_committed` puts them on the bus and hands their ids
//! to the marker (`Events::run_marker`), which marks them published in batches: one `UPDATE` for
//! whatever accumulated while the previous one ran, instead of a statement and a commit per
//! request. A crash between commit and mark leaves rows unpublished, and the relay
//! (`Events::relay_once`, run every second) publishes them. Delivery is therefore at least once.
//! A row the relay cannot read stays unpublished (and is counted and logged): it is never marked
//! published unsent.

pub mod codec;
pub mod event;
mod v0;

use std::{
    sync::{
        Arc, Mutex,
        atomic::{AtomicU64, Ordering},
    },
    time::Duration,
};

use async_trait::async_trait;
use entity::outbox_event;
use sea_orm::{
    ActiveValue::Set, ColumnTrait, ConnectionTrait, DatabaseConnection, DbErr, EntityTrait,
    QueryFilter, QueryOrder, QuerySelect, sea_query::LockBehavior, sea_query::LockType,
};
use tokio::sync::{
    broadcast::{self, error::RecvError},
    mpsc,
};
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

pub use codec::{Decoded, decode, encode};
pub use event::{DomainEvent, EventPayload};

use crate::{db, metrics::Metrics};

/// Carries events between processes; the lock store's backends implement it too (`store`).
#[async_trait]
pub trait EventBus: Send + Sync + 'static {
    /// Hands the event to the bus; `Ok` means every live subscriber will be offered it.
    async fn publish(&self, event: &DomainEvent) -> anyhow::Result<()>;
    /// Every event published from now on, by any process on this bus.
    fn subscribe(&self) -> broadcast::Receiver<Arc<DomainEvent>>;
}

/// Writes events into the outbox; call it inside the transaction of the change.
pub async fn record(conn: &impl ConnectionTrait, events: &[DomainEvent]) -> Result<(), DbErr> {
    if events.is_empty() {
        return Ok(());
    }
    let rows = events
        .iter()
        .map(|e| {
            Ok(outbox_event::ActiveModel {
                id: Set(e.id.uuid()),
                event_type: Set(e.payload.name().to_owned()),
                payload: Set(encode(e).map_err(|err| DbErr::Json(err.to_string()))?),
                created_at: Set(e.occurred_at),
                published_at: Set(None),
            })
        })
        .collect::<Result<Vec<_>, DbErr>>()?;
    outbox_event::Entity::insert_many(rows).exec(conn).await?;
    Ok(())
}

/// How long the relay leaves a fresh row to the request that wrote it before publishing it.
const RELAY_GRACE: Duration = Duration::from_secs(2);
const RELAY_BATCH: u64 = 200;
/// Published rows are kept this long for inspection, then deleted by the relay.
const RETENTION: Duration = Duration::from_secs(24 * 3600);

/// Ids marked published by one `UPDATE` at most.
const MARK_BATCH: usize = 1000;

/// A count of the changes to what anyone may read (tickets and events) that this process knows
/// of: its own commits, counted before `publish_committed` returns (so before the request that
/// made them answers), and every other replica's, counted as the bus brings them
/// (`Events::run_change_counter`). A response computed while it read `n` is current for as long
/// as it still reads `n`: what the response cache keeps is checked against it.
#[derive(Clone, Default)]
pub struct CatalogueChanges(Arc<AtomicU64>);

impl CatalogueChanges {
    pub fn current(&self) -> u64 {
        self.0.load(Ordering::Acquire)
    }

    fn bump(&self) {
        self.0.fetch_add(1, Ordering::AcqRel);
    }

    /// Counts `event` if it changes what a public read returns.
    fn saw(&self, event: &DomainEvent) {
        if changes_catalogue(&event.payload) {
            self.bump();
        }
    }
}

/// Tickets and events are what public reads show; users, orders, charges, queue steps and
/// revocations are not (an order's effect on its ticket comes as the ticket's own event).
fn changes_catalogue(payload: &EventPayload) -> bool {
    match payload {
        EventPayload::TicketCreated(_)
        | EventPayload::TicketUpdated(_)
        | EventPayload::TicketAvailable(_)
        | EventPayload::EventCreated(_)
        | EventPayload::EventUpdated(_) => true,
        EventPayload::UserCreated(_)
        | EventPayload::UserUpdated(_)
        | EventPayload::OrderCreated(_)
        | EventPayload::OrderUpdated(_)
        | EventPayload::OrderExpired(_)
        | EventPayload::ChargeCreated(_)
        | EventPayload::QueueAdvanced(_)
        | EventPayload::SessionsRevoked(_) => false,
    }
}

#[derive(Clone)]
pub struct Events {
    db: DatabaseConnection,
    bus: Arc<dyn EventBus>,
    metrics: Metrics,
    changes: CatalogueChanges,
    /// Ids of published events, for the marker.
    published: mpsc::UnboundedSender<Uuid>,
    /// The marker's end of `published`, until `run_marker` takes it.
    to_mark: Arc<Mutex<Option<mpsc::UnboundedReceiver<Uuid>>>>,
}

impl Events {
    pub fn new(db: DatabaseConnection, bus: Arc<dyn EventBus>, metrics: Metrics) -> Self {
        let (published, to_mark) = mpsc::unbounded_channel();
        Self {
            db,
            bus,
            metrics,
            published,
            to_mark: Arc::new(Mutex::new(Some(to_mark))),
            changes: CatalogueChanges::default(),
        }
    }

    pub fn bus(&self) -> &Arc<dyn EventBus> {
        &self.bus
    }

    pub fn changes(&self) -> &CatalogueChanges {
        &self.changes
    }

    /// Counts every catalogue change the bus brings, from any replica, until `stop`. Falling
    /// behind the bus, or its closing, counts as a change: what was missed is unknown.
    pub async fn run_change_counter(self, stop: CancellationToken) {
        let mut events = self.bus.subscribe();
        loop {
            let event = tokio::select! {
                _ = stop.cancelled() => break,
                event = events.recv() => event,
            };
            match event {
                Ok(event) => self.changes.saw(&event),
                Err(RecvError::Lagged(skipped)) => {
                    self.changes.bump();
                    tracing::warn!(task = "change-counter", skipped, "fell behind the bus");
                }
                Err(RecvError::Closed) => {
                    self.changes.bump();
                    break;
                }
            }
        }
    }

    /// Publishes events whose transaction has committed, and queues them to be marked published.
    /// Failures are logged, not returned: the change is done and recorded, and the relay
    /// publishes what did not go out.
    pub async fn publish_committed(&self, events: &[DomainEvent]) {
        for event in events {
            self.changes.saw(event);
            match self.bus.publish(event).await {
                Ok(()) => {
                    self.metrics.event_published(event.payload.name());
                    // Closed only once the marker has stopped, at shutdown: the relay covers it.
                    let _ = self.published.send(event.id.uuid());
                }
                Err(err) => {
                    tracing::warn!(error = %err, event = event.payload.name(), "publish failed; the relay will retry");
                }
            }
        }
    }

    /// Marks published events in the outbox, a batch per statement, until `stop`; then marks
    /// what is still queued. Run once per process.
    pub async fn run_marker(self, stop: CancellationToken) {
        let Some(mut rx) = self.to_mark.lock().ok().and_then(|mut rx| rx.take()) else {
            tracing::error!(task = "outbox-marker", "already running");
            return;
        };
        let mut batch = Vec::with_capacity(MARK_BATCH);
        loop {
            let n = tokio::select! {
                n = rx.recv_many(&mut batch, MARK_BATCH) => n,
                _ = stop.cancelled() => break,
            };
            if n == 0 {
                break;
            }
            self.mark(&mut batch).await;
        }
        rx.close();
        while rx.recv_many(&mut batch, MARK_BATCH).await > 0 {
            self.mark(&mut batch).await;
        }
    }

    async fn mark(&self, batch: &mut Vec<Uuid>) {
        if let Err(err) = mark_published(&self.db, batch).await {
            tracing::warn!(task = "outbox-marker", error = %err, count = batch.len(), "could not mark events published; the relay may send them again");
        }
        batch.clear();
    }

    /// Publishes unpublished rows older than the grace period; returns how many went out.
    pub async fn relay_once(&self) -> anyhow::Result<usize> {
        let txn = db::begin_write(&self.db).await?;
        let cutoff = db::now() - chrono::Duration::from_std(RELAY_GRACE)?;
        // On PostgreSQL, replicas relaying at once take disjoint rows; SQLite has one writer.
        let rows = outbox_event::Entity::find()
            .filter(outbox_event::Column::PublishedAt.is_null())
            .filter(outbox_event::Column::CreatedAt.lte(cutoff))
            .order_by_asc(outbox_event::Column::CreatedAt)
            .limit(RELAY_BATCH)
            .lock_with_behavior(LockType::Update, LockBehavior::SkipLocked)
            .all(&txn)
            .await?;
        let mut published = Vec::with_capacity(rows.len());
        for row in rows {
            let event = match decode(row.payload) {
                Ok(Decoded::Event(event)) => event,
                Ok(Decoded::Newer(version)) => {
                    tracing::debug!(task = "outbox-relay", id = %row.id, version, "outbox row from a newer release; left to it");
                    continue;
                }
                Err(err) => {
                    // Left unpublished, not marked: a release that reads it can still send it.
                    self.metrics.event_unreadable();
                    tracing::error!(task = "outbox-relay", id = %row.id, error = %err, "unreadable outbox row; left unpublished");
                    continue;
                }
            };
            match self.bus.publish(&event).await {
                Ok(()) => {
                    self.metrics.event_published(event.payload.name());
                    self.metrics.event_relayed();
                    published.push(row.id);
                }
                Err(err) => {
                    tracing::warn!(task = "outbox-relay", error = %err, "bus unavailable; will retry");
                    break;
                }
            }
        }
        mark_published(&txn, &published).await?;
        let old = db::now() - chrono::Duration::from_std(RETENTION)?;
        outbox_event::Entity::delete_many()
            .filter(outbox_event::Column::PublishedAt.lt(old))
            .exec(&txn)
            .await?;
        txn.commit().await?;
        Ok(published.len())
    }

    /// The relay as a background task, every second until `stop`.
    pub async fn run_relay(self, stop: CancellationToken) {
        tracing::info!(task = "outbox-relay", "started");
        let mut tick = tokio::time::interval(Duration::from_secs(1));
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                _ = stop.cancelled() => break,
                _ = tick.tick() => {}
            }
            match self.relay_once().await {
                Ok(0) => {}
                Ok(n) => tracing::info!(
                    task = "outbox-relay",
                    published = n,
                    "republished events a crash or outage left behind"
                ),
                Err(err) => {
                    tracing::warn!(task = "outbox-relay", error = %err, "relay pass failed")
                }
            }
        }
        tracing::info!(task = "outbox-relay", "stopped");
    }
}

async fn mark_published(conn: &impl ConnectionTrait, ids: &[Uuid]) -> Result<(), DbErr> {
    if ids.is_empty() {
        return Ok(());
    }
    outbox_event::Entity::update_many()
        .col_expr(
            outbox_event::Column::PublishedAt,
            sea_orm::sea_query::Expr::value(db::now()),
        )
        .filter(outbox_event::Column::Id.is_in(ids.iter().copied()))
        .exec(conn)
        .await?;
    Ok(())
}
