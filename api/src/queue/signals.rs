//! What `queueUpdated`'s subscribers hear, by event: one task per replica reads the bus and hands
//! each admission step to the subscribers of its event only, and each revocation to all of them.
//!
//! 20,000 subscribers each reading the bus themselves would each be woken by every message on it
//! (every order and payment of the sale, hundreds a second): millions of wake-ups a second for
//! nothing. Here a subscriber is woken by its queue's steps (one a second) and by revocations.

use std::{
    collections::HashMap,
    sync::{Arc, Mutex},
};

use tokio::sync::broadcast::{self, error::RecvError};
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

use super::model::QueueAdvanced;
use crate::{ids::SessionId, outbox::EventPayload, store::EventBus};

/// Steps a slow subscriber may fall behind by before it reads its queue again instead.
const PER_EVENT: usize = 64;
/// Revocations a slow subscriber may fall behind by before it checks its own session instead.
const REVOCATIONS: usize = 256;

/// What a subscriber of one queue is told.
#[derive(Clone, Debug)]
pub enum Signal {
    Advanced(QueueAdvanced),
    /// Messages were missed: read the queue again.
    Resync,
}

/// A subscriber's two channels: its queue's steps and every revocation.
pub struct Subscription {
    pub steps: broadcast::Receiver<Signal>,
    pub revoked: broadcast::Receiver<Arc<[SessionId]>>,
}

#[derive(Clone)]
pub struct QueueSignals {
    by_event: Arc<Mutex<HashMap<Uuid, broadcast::Sender<Signal>>>>,
    revoked: broadcast::Sender<Arc<[SessionId]>>,
}

impl Default for QueueSignals {
    fn default() -> Self {
        Self {
            by_event: Arc::default(),
            revoked: broadcast::channel(REVOCATIONS).0,
        }
    }
}

impl QueueSignals {
    pub fn subscribe(&self, event: Uuid) -> Subscription {
        let mut map = self.by_event.lock().unwrap_or_else(|e| e.into_inner());
        let steps = map
            .entry(event)
            .or_insert_with(|| broadcast::channel(PER_EVENT).0)
            .subscribe();
        Subscription {
            steps,
            revoked: self.revoked.subscribe(),
        }
    }

    /// Subscribers of the event's queue on this replica.
    pub fn subscribers(&self, event: Uuid) -> usize {
        let map = self.by_event.lock().unwrap_or_else(|e| e.into_inner());
        map.get(&event).map_or(0, broadcast::Sender::receiver_count)
    }

    fn send(&self, event: Uuid, signal: Signal) {
        let mut map = self.by_event.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(tx) = map.get(&event)
            && tx.send(signal).is_err()
        {
            // Nobody listens any more.
            map.remove(&event);
        }
    }

    fn resync_all(&self) {
        let mut map = self.by_event.lock().unwrap_or_else(|e| e.into_inner());
        map.retain(|_, tx| tx.send(Signal::Resync).is_ok());
    }

    /// Takes one bus message in.
    pub fn take(&self, payload: &EventPayload) {
        match payload {
            EventPayload::QueueAdvanced(step) => {
                self.send(step.event_id.uuid(), Signal::Advanced(step.clone()));
            }
            EventPayload::SessionsRevoked(revoked) => {
                let _ = self.revoked.send(Arc::from(revoked.session_ids.as_slice()));
            }
            _ => {}
        }
    }

    /// The `queue-signals` task: hands the bus's queue steps and revocations out until `stop`.
    /// After falling behind the bus, every queue's subscribers read their queue again.
    pub async fn run(self, bus: Arc<dyn EventBus>, stop: CancellationToken) {
        let mut events = bus.subscribe();
        loop {
            let event = tokio::select! {
                _ = stop.cancelled() => break,
                event = events.recv() => event,
            };
            match event {
                Ok(event) => self.take(&event.payload),
                Err(RecvError::Lagged(skipped)) => {
                    tracing::warn!(
                        task = "queue-signals",
                        skipped,
                        "fell behind the bus; every queue's subscribers read it again"
                    );
                    self.resync_all();
                }
                Err(RecvError::Closed) => break,
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{auth::model::SessionsRevoked, ids::EventId};

    fn step(event: EventId, admitted: u64) -> EventPayload {
        EventPayload::QueueAdvanced(QueueAdvanced {
            event_id: event,
            admitted_before: admitted - 1,
            admitted,
            at: chrono::Utc::now(),
            froze: false,
            sold_out: false,
        })
    }

    #[test]
    fn a_subscriber_hears_its_own_queue_and_every_revocation_only() {
        let signals = QueueSignals::default();
        let (mine, other) = (EventId::generate(), EventId::generate());
        let mut sub = signals.subscribe(mine.uuid());
        let _other_sub = signals.subscribe(other.uuid());
        signals.take(&step(other, 5));
        signals.take(&step(mine, 7));
        let session = SessionId::generate();
        signals.take(&EventPayload::SessionsRevoked(SessionsRevoked {
            user_id: crate::ids::UserId::generate(),
            session_ids: vec![session],
        }));
        match sub.steps.try_recv() {
            Ok(Signal::Advanced(s)) => assert_eq!((s.event_id, s.admitted), (mine, 7)),
            other => panic!("expected the step of its own queue, got {other:?}"),
        }
        assert!(sub.steps.try_recv().is_err(), "another queue's step leaked");
        assert_eq!(&*sub.revoked.try_recv().expect("revocation"), &[session]);
    }

    #[test]
    fn a_queue_nobody_watches_is_forgotten() {
        let signals = QueueSignals::default();
        let event = EventId::generate();
        let sub = signals.subscribe(event.uuid());
        assert_eq!(signals.subscribers(event.uuid()), 1);
        drop(sub);
        signals.take(&step(event, 1));
        assert!(signals.by_event.lock().unwrap().is_empty());
    }
}
