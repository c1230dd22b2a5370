//! The queue's rules: joining, reading a place, the admission check `createOrder` makes, and the
//! admission loop every replica runs (`run`), whose steps the store makes count once per second
//! however many replicas run them.

use std::{sync::Arc, time::Duration};

use chrono::{DateTime, Utc};
use entity::event;
use sea_orm::{ColumnTrait, DatabaseConnection, EntityTrait, QueryFilter, QuerySelect};
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

use super::{
    model::{self, Place, QueueAdvanced, QueueStatus},
    signals::QueueSignals,
    store::{Entry, Progress, QueueStore},
};
use crate::{
    cache::Bounded,
    config::QueueConfig,
    db,
    error::{ApiError, ApiResult},
    events,
    ids::{EventId, UserId},
    outbox::{DomainEvent, EventPayload, Events},
    tickets,
};

/// How often each replica runs an admission step for each queue on sale (a step counts once per
/// second, whichever replica runs it first).
const STEP_EVERY: Duration = Duration::from_millis(200);
/// How often the list of queues on sale is read again.
const ACTIVE_EVERY: Duration = Duration::from_secs(2);

/// How long a queue's counters read by one subscriber serve the others on this replica.
const PROGRESS_FRESH: Duration = Duration::from_secs(1);

#[derive(Clone)]
pub struct QueueService {
    db: DatabaseConnection,
    store: Arc<dyn QueueStore>,
    events: Events,
    config: QueueConfig,
    /// Counters by event, as last read, for `queueUpdated`: 20,000 subscribers refreshing their
    /// place read them once a second per replica, not 20,000 times.
    progress: Bounded<Uuid, (tokio::time::Instant, Progress)>,
    signals: QueueSignals,
}

/// The queues on sale (event, `onSaleAt`), as last listed.
type OnSale = tokio::sync::watch::Receiver<Vec<(Uuid, DateTime<Utc>)>>;

/// The queues on sale whose `onSaleAt` has come.
fn due(on_sale: &OnSale) -> Vec<(Uuid, DateTime<Utc>)> {
    let now = db::now();
    on_sale
        .borrow()
        .iter()
        .copied()
        .filter(|(_, at)| *at <= now)
        .collect()
}

fn millis(at: DateTime<Utc>) -> i64 {
    at.timestamp_millis()
}

fn time_of(ms: i64) -> DateTime<Utc> {
    DateTime::<Utc>::from_timestamp_millis(ms).unwrap_or_else(Utc::now)
}

impl QueueService {
    pub fn new(
        db: DatabaseConnection,
        store: Arc<dyn QueueStore>,
        events: Events,
        config: QueueConfig,
    ) -> Self {
        Self {
            db,
            store,
            events,
            config,
            progress: Bounded::new(1024),
            signals: QueueSignals::default(),
        }
    }

    pub fn config(&self) -> QueueConfig {
        self.config
    }

    /// Gives the viewer a place in the event's queue, or the one it has.
    #[tracing::instrument(name = "queue.join", skip_all, fields(event = %event_id, user = %user))]
    pub async fn join(&self, user: UserId, event_id: EventId) -> ApiResult<Place> {
        let event = events::service::get_model(&self.db, event_id)
            .await?
            .ok_or_else(events::service::not_found)?;
        let Some(on_sale_at) = event.on_sale_at else {
            return Err(ApiError::Conflict(
                "the event has no on-sale queue; its tickets are on sale".into(),
            ));
        };
        let now = db::now();
        let opens =
            on_sale_at - chrono::Duration::from_std(self.config.opens_before).unwrap_or_default();
        if now < opens {
            return Err(ApiError::Conflict(format!(
                "the queue opens at {}",
                opens.to_rfc3339()
            )));
        }
        if now >= event.starts_at {
            return Err(ApiError::Conflict("the event has started".into()));
        }
        if now >= on_sale_at {
            // The draw happens at onSaleAt: if no replica's step has made it yet, this one does,
            // so a late joiner never lands in the pre-queue.
            self.step(event_id, on_sale_at).await?;
        }
        let key = (rand::random::<u64>() >> 11) as f64;
        let keep_until = millis(event.starts_at) + 24 * 3600 * 1000;
        let entry = self
            .store
            .join(event_id.uuid(), user.uuid(), millis(now), key, keep_until)
            .await?;
        self.place_of(event_id, entry).await
    }

    /// The viewer's place in the event's queue; `None` when not queued.
    pub async fn place(&self, user: UserId, event_id: EventId) -> ApiResult<Option<Place>> {
        match self.store.entry(event_id.uuid(), user.uuid()).await? {
            None => Ok(None),
            Some(entry) => Ok(Some(self.place_of(event_id, entry).await?)),
        }
    }

    /// The place of a stored entry now.
    pub async fn place_of(&self, event_id: EventId, entry: Entry) -> ApiResult<Place> {
        let progress = self.store.progress(event_id.uuid()).await?;
        let admitted_at = match entry.number {
            Some(n) if n <= progress.admitted => self
                .store
                .admitted_at(event_id.uuid(), n)
                .await?
                .map(time_of),
            _ => None,
        };
        Ok(self.place_at(event_id, entry, progress, admitted_at))
    }

    pub fn place_at(
        &self,
        event_id: EventId,
        entry: Entry,
        progress: Progress,
        admitted_at: Option<DateTime<Utc>>,
    ) -> Place {
        model::place(
            event_id,
            entry,
            progress,
            admitted_at,
            db::now(),
            self.config.admit_per_second,
            self.config.admission,
        )
    }

    /// Whether `buyer` may order a ticket of the event, which sells through its queue from
    /// `on_sale_at`: `CONFLICT` before then, `FORBIDDEN` without an admission running now.
    pub async fn check_admitted(
        &self,
        buyer: UserId,
        event_id: EventId,
        on_sale_at: DateTime<Utc>,
    ) -> ApiResult<()> {
        if db::now() < on_sale_at {
            return Err(events::service::not_on_sale_yet(on_sale_at));
        }
        match self.place(buyer, event_id).await? {
            Some(place) if place.status == QueueStatus::Admitted => Ok(()),
            Some(place) if place.status == QueueStatus::Expired => Err(ApiError::Forbidden(
                "your admission from the event's queue has ended".into(),
            )),
            _ => Err(ApiError::Forbidden(
                "the event sells through its queue: join it and wait for your turn".into(),
            )),
        }
    }

    /// The bus, for the subscriptions.
    pub fn events(&self) -> &Events {
        &self.events
    }

    /// The steps and revocations `queueUpdated`'s subscribers hear.
    pub fn signals(&self) -> &QueueSignals {
        &self.signals
    }

    pub fn store(&self) -> &Arc<dyn QueueStore> {
        &self.store
    }

    /// The queue's counters, read at most once per `PROGRESS_FRESH` on this replica.
    pub async fn recent_progress(&self, event: EventId) -> ApiResult<Progress> {
        if let Some((at, progress)) = self.progress.get(&event.uuid())
            && at.elapsed() < PROGRESS_FRESH
        {
            return Ok(progress);
        }
        let progress = self.store.progress(event.uuid()).await?;
        self.progress
            .insert(event.uuid(), (tokio::time::Instant::now(), progress));
        Ok(progress)
    }

    /// Runs the admission steps of every queue on sale until `stop`: on every replica, each
    /// step counted once per second by the store, so the rate holds however many replicas run
    /// and whichever of them dies. Beside it run the list of queues on sale, the sold-out checks
    /// and the subscribers' signals, each in its own task: a slow database delays no step.
    pub async fn run(self, stop: CancellationToken) {
        let (listed, on_sale) = tokio::sync::watch::channel(Vec::new());
        let tasks = [
            tokio::spawn(self.clone().run_listing(listed, stop.clone())),
            tokio::spawn(self.clone().run_sold_out(on_sale.clone(), stop.clone())),
            tokio::spawn(
                self.signals
                    .clone()
                    .run(self.events.bus().clone(), stop.clone()),
            ),
        ];
        let mut ticker = tokio::time::interval(STEP_EVERY);
        ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                _ = stop.cancelled() => break,
                _ = ticker.tick() => {}
            }
            for (event, on_sale_at) in due(&on_sale) {
                if let Err(err) = self.step(event.into(), on_sale_at).await {
                    tracing::warn!(error = ?err, %event, "an admission step failed; the next one retries");
                }
            }
        }
        for task in tasks {
            let _ = task.await;
        }
    }

    /// Lists the queues on sale every `ACTIVE_EVERY` until `stop`.
    async fn run_listing(
        self,
        listed: tokio::sync::watch::Sender<Vec<(Uuid, DateTime<Utc>)>>,
        stop: CancellationToken,
    ) {
        let mut ticker = tokio::time::interval(ACTIVE_EVERY);
        ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                _ = stop.cancelled() => break,
                _ = ticker.tick() => {}
            }
            match self.on_sale().await {
                Ok(now_active) => listed.send_replace(now_active),
                Err(err) => {
                    tracing::warn!(error = ?err, "could not list the queues on sale");
                    continue;
                }
            };
        }
    }

    /// Events on sale through a queue now or before the next read of this list (`on_sale_at`
    /// passed or close, not started).
    async fn on_sale(&self) -> ApiResult<Vec<(Uuid, DateTime<Utc>)>> {
        let now = db::now();
        let soon = now + chrono::Duration::from_std(ACTIVE_EVERY).unwrap_or_default();
        let rows: Vec<(Uuid, Option<DateTime<Utc>>)> = event::Entity::find()
            .select_only()
            .column(event::Column::Id)
            .column(event::Column::OnSaleAt)
            .filter(event::Column::OnSaleAt.lte(soon))
            .filter(event::Column::StartsAt.gt(now))
            .into_tuple()
            .all(&self.db)
            .await?;
        Ok(rows
            .into_iter()
            .filter_map(|(id, at)| at.map(|at| (id, at)))
            .collect())
    }

    async fn step(&self, event_id: EventId, on_sale_at: DateTime<Utc>) -> ApiResult<()> {
        let now = db::now();
        let step = self
            .store
            .advance(
                event_id.uuid(),
                millis(on_sale_at),
                millis(now),
                self.config.admit_per_second,
            )
            .await?;
        if step.froze || step.admitted.is_some() {
            let (admitted_before, admitted, at) = step.admitted.map_or(
                (step.progress.admitted, step.progress.admitted, now),
                |(b, a, at)| (b, a, time_of(at)),
            );
            self.announce(QueueAdvanced {
                event_id,
                admitted_before,
                admitted,
                at,
                froze: step.froze,
                sold_out: step.progress.sold_out,
            })
            .await;
        }
        Ok(())
    }

    async fn announce(&self, step: QueueAdvanced) {
        let message = DomainEvent::new(EventPayload::QueueAdvanced(step), None);
        if let Err(err) = self.events.bus().publish(&message).await {
            // Subscribers read the queue again within seconds.
            tracing::debug!(error = %err, "an admission step's message was not sent");
        }
    }

    /// Once a second, whether each queue on sale has sold out (two index probes in the
    /// database); its own loop, so a slow database never delays an admission step.
    async fn run_sold_out(self, on_sale: OnSale, stop: CancellationToken) {
        let mut ticker = tokio::time::interval(Duration::from_secs(1));
        ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                _ = stop.cancelled() => break,
                _ = ticker.tick() => {}
            }
            for (event, _) in due(&on_sale) {
                if let Err(err) = self.sell_out_if_sold(event.into()).await {
                    tracing::warn!(error = ?err, %event, "a sold-out check failed; the next one retries");
                }
            }
        }
    }

    async fn sell_out_if_sold(&self, event_id: EventId) -> ApiResult<()> {
        if self.recent_progress(event_id).await?.sold_out
            || !tickets::service::sold_out(&self.db, event_id).await?
            || !self.store.sell_out(event_id.uuid()).await?
        {
            return Ok(());
        }
        let progress = self.store.progress(event_id.uuid()).await?;
        self.announce(QueueAdvanced {
            event_id,
            admitted_before: progress.admitted,
            admitted: progress.admitted,
            at: db::now(),
            froze: false,
            sold_out: true,
        })
        .await;
        Ok(())
    }
}
