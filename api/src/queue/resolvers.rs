//! GraphQL resolvers of the on-sale queue.

use std::time::Duration;

use async_graphql::{Context, ID, Object, Subscription};
use futures_util::{Stream, stream};
use tokio::sync::broadcast::error::RecvError;
use tokio::time::Instant;

use super::{
    QueueService,
    model::{self, Place, QueueAdvanced, QueueStatus},
    signals::{Signal, Subscription},
    store::Entry,
    types::QueuePlace,
};
use crate::{
    auth::{self, Viewer, require_viewer},
    events,
    ids::{EventId, SessionId, UserId},
};

/// A waiting place is pushed at least this often, and read again from the store as often (which
/// makes up for a lost step message).
const REFRESH: Duration = Duration::from_secs(5);

#[derive(Default)]
pub struct QueueQuery;

#[Object]
impl QueueQuery {
    /// Your place in the event's queue; null when you are not in it (or not signed in).
    #[graphql(cache_control(no_cache))]
    async fn queue_place(
        &self,
        ctx: &Context<'_>,
        event_id: ID,
    ) -> async_graphql::Result<Option<QueuePlace>> {
        let (Some(viewer), Some(event)) = (auth::viewer(ctx).await?, EventId::parse(&event_id))
        else {
            return Ok(None);
        };
        Ok(ctx
            .data_unchecked::<QueueService>()
            .place(viewer.user_id.into(), event)
            .await?
            .map(Into::into))
    }
}

#[derive(Default)]
pub struct QueueMutation;

#[Object]
impl QueueMutation {
    /// Joins the event's on-sale queue, from `QUEUE_OPENS_BEFORE_SECONDS` before `onSaleAt` until
    /// the event starts; joining again returns the same place.
    async fn join_queue(
        &self,
        ctx: &Context<'_>,
        event_id: ID,
    ) -> async_graphql::Result<QueuePlace> {
        let viewer = require_viewer(ctx).await?;
        let event = EventId::parse(&event_id).ok_or_else(events::service::not_found)?;
        Ok(ctx
            .data_unchecked::<QueueService>()
            .join(viewer.user_id.into(), event)
            .await?
            .into())
    }
}

#[derive(Default)]
pub struct QueueSubscription;

#[Subscription]
impl QueueSubscription {
    /// Your place in the event's queue: pushed when it is drawn (at `onSaleAt`), on admission and
    /// on expiry, and while waiting whenever it has moved by 1 % and at least 10 places, and at
    /// least every 5 seconds. Ends after EXPIRED.
    async fn queue_updated(
        &self,
        ctx: &Context<'_>,
        event_id: ID,
    ) -> async_graphql::Result<impl Stream<Item = QueuePlace>> {
        let viewer = require_viewer(ctx).await?;
        let service = ctx.data_unchecked::<QueueService>().clone();
        let event = EventId::parse(&event_id);
        // An unknown id still gets a channel, never written to: the stream ends at once.
        let signals = service
            .signals()
            .subscribe(event.map_or_else(uuid::Uuid::nil, EventId::uuid));
        let watch = Watch {
            event,
            service,
            viewer,
            signals,
            entry: None,
            progress: None,
            admitted_at: None,
            last: None,
            pushed_at: Instant::now(),
            read_at: None,
            done: false,
        };
        Ok(stream::unfold(watch, |mut w| async move {
            let place = w.next().await?;
            Some((QueuePlace::from(place), w))
        }))
    }
}

/// One subscriber's view of its place: the entry and the counters it last read, moved by its
/// queue's step messages without reading the store, and read again every `REFRESH`.
struct Watch {
    event: Option<EventId>,
    service: QueueService,
    viewer: Viewer,
    signals: Subscription,
    entry: Option<Entry>,
    progress: Option<super::store::Progress>,
    admitted_at: Option<chrono::DateTime<chrono::Utc>>,
    last: Option<Place>,
    pushed_at: Instant,
    read_at: Option<Instant>,
    done: bool,
}

impl Watch {
    /// The next place to push; `None` ends the stream.
    async fn next(&mut self) -> Option<Place> {
        let event = self.event?;
        if self.done {
            return None;
        }
        loop {
            if self.read_at.is_none_or(|at| at.elapsed() >= REFRESH) {
                self.read(event).await;
            }
            if let Some(place) = self.current(event)
                && self.worth_pushing(&place)
            {
                self.pushed_at = Instant::now();
                self.done = place.status == QueueStatus::Expired;
                self.last = Some(place.clone());
                return Some(place);
            }
            let wait = self.until_next_change();
            tokio::select! {
                signal = self.signals.steps.recv() => match signal {
                    Ok(Signal::Advanced(step)) => self.apply(&step),
                    Ok(Signal::Resync) | Err(RecvError::Lagged(_)) => self.read_at = None,
                    Err(RecvError::Closed) => return None,
                },
                revoked = self.signals.revoked.recv() => match revoked {
                    Ok(sessions) => {
                        if sessions.contains(&SessionId::from(self.viewer.session_id)) {
                            return None;
                        }
                    }
                    // Revocations were missed, ours perhaps: the stream ends, as the sockets
                    // do, and the client subscribes again with a session that stands.
                    Err(RecvError::Lagged(_) | RecvError::Closed) => return None,
                },
                _ = tokio::time::sleep(wait) => {}
            }
        }
    }

    async fn read(&mut self, event: EventId) {
        let store = self.service.store();
        let user = UserId::from(self.viewer.user_id);
        self.read_at = Some(Instant::now());
        // A number, once drawn, never changes: the entry is read until it has one.
        if self.entry.is_none_or(|e| e.number.is_none()) {
            match store.entry(event.uuid(), user.uuid()).await {
                Ok(entry) => self.entry = entry,
                Err(err) => return tracing::debug!(error = %err, "reading a queue place failed"),
            }
        }
        match self.service.recent_progress(event).await {
            // Counters only grow: a cached read never takes back what a step message told.
            Ok(read) => self.progress = Some(self.progress.map_or(read, |p| p.merge(read))),
            Err(err) => return tracing::debug!(error = ?err, "reading a queue failed"),
        }
        if let (
            Some(Entry {
                number: Some(n), ..
            }),
            Some(p),
        ) = (self.entry, self.progress)
            && n <= p.admitted
            && self.admitted_at.is_none()
        {
            self.admitted_at = store
                .admitted_at(event.uuid(), n)
                .await
                .ok()
                .flatten()
                .and_then(chrono::DateTime::from_timestamp_millis);
        }
    }

    /// Takes one of its queue's steps in.
    fn apply(&mut self, step: &QueueAdvanced) {
        if step.froze || self.entry.is_some_and(|e| e.number.is_none()) {
            // The numbers were just drawn: ours is in the store. Read it within the next
            // second, at a random moment, so 20,000 subscribers do not read at once.
            // A read already due sooner stays as it is.
            let due = Instant::now() + Duration::from_millis(rand::random::<u64>() % 1000);
            if self.read_at.is_some_and(|at| at + REFRESH > due) {
                self.read_at = due.checked_sub(REFRESH);
            }
        }
        let told = super::store::Progress {
            frozen: true,
            joined: 0,
            admitted: step.admitted,
            sold_out: step.sold_out,
        };
        self.progress = Some(self.progress.map_or(told, |p| p.merge(told)));
        if let Some(Entry {
            number: Some(n), ..
        }) = self.entry
            && step.admitted_before < n
            && n <= step.admitted
        {
            self.admitted_at = Some(step.at);
        }
    }

    fn current(&self, event: EventId) -> Option<Place> {
        let (entry, progress) = (self.entry?, self.progress?);
        Some(
            self.service
                .place_at(event, entry, progress, self.admitted_at),
        )
    }

    fn worth_pushing(&self, place: &Place) -> bool {
        let Some(last) = &self.last else {
            return true;
        };
        if last.status != place.status || last.position.is_none() != place.position.is_none() {
            return true;
        }
        match (last.position, place.position) {
            (Some(was), Some(now)) if model::moved_enough(was, now) => true,
            _ => place.status == QueueStatus::Waiting && self.pushed_at.elapsed() >= REFRESH,
        }
    }

    /// How long to wait for a message before looking again: until the next refresh, or until
    /// an admission runs out.
    fn until_next_change(&self) -> Duration {
        let refresh = self
            .read_at
            .map_or(Duration::ZERO, |at| REFRESH.saturating_sub(at.elapsed()));
        let push = REFRESH.saturating_sub(self.pushed_at.elapsed());
        let mut wait = refresh.min(push.max(Duration::from_millis(100)));
        if let Some(until) = self.last.as_ref().and_then(|p| p.admitted_until)
            && self
                .last
                .as_ref()
                .is_some_and(|p| p.status == QueueStatus::Admitted)
        {
            let left = (until - chrono::Utc::now()).to_std().unwrap_or_default();
            wait = wait.min(left + Duration::from_millis(10));
        }
        wait
    }
}
