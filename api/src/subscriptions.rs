//! Subscriptions read the event bus and filter by type and by who may see each event. The data
//! comes from the event itself: a push to many watchers costs no database query.

use std::{
    collections::VecDeque,
    sync::{
        Arc,
        atomic::{AtomicUsize, Ordering},
    },
};

use async_graphql::Context;
use futures_util::{Stream, StreamExt, future};
use tokio_stream::wrappers::{BroadcastStream, errors::BroadcastStreamRecvError};
use uuid::Uuid;

use crate::{
    error::ApiError,
    events::{EventPayload, Events},
};

/// One WebSocket connection's live subscriptions, held to `WS_MAX_SUBSCRIPTIONS`: a client cannot
/// make the server keep unbounded streams for it on one socket.
#[derive(Clone)]
pub struct SubscriptionSlots {
    used: Arc<AtomicUsize>,
    limit: usize,
}

impl SubscriptionSlots {
    pub fn new(limit: usize) -> Self {
        Self {
            used: Arc::default(),
            limit,
        }
    }

    fn take(&self) -> Result<Slot, ApiError> {
        self.used
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |n| {
                (n < self.limit).then_some(n + 1)
            })
            .map(|_| Slot(self.used.clone()))
            .map_err(|_| {
                ApiError::OverLimit(format!(
                    "too many subscriptions on this connection (at most {}); complete one first",
                    self.limit
                ))
            })
    }
}

/// A subscription's place on its connection, given back when the subscription ends.
struct Slot(Arc<AtomicUsize>);

impl Drop for Slot {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::AcqRel);
    }
}

/// How many recent event ids a subscription remembers, to drop the duplicates that at-least-once
/// delivery (the outbox relay after a partial failure) can produce.
const SEEN: usize = 256;

/// The events `viewer` may see, mapped by `pick` (which returns `None` for other event types).
pub fn events<T, F>(
    ctx: &Context<'_>,
    viewer: Option<Uuid>,
    pick: F,
) -> async_graphql::Result<impl Stream<Item = T> + use<T, F>>
where
    T: Send + 'static,
    F: Fn(&EventPayload) -> Option<T> + Send + 'static,
{
    let slot = match ctx.data_opt::<SubscriptionSlots>() {
        Some(slots) => Some(slots.take()?),
        None => None,
    };
    let receiver = ctx.data_unchecked::<Events>().bus().subscribe();
    // Grows as events come: an idle subscriber holds no history.
    let mut seen: VecDeque<Uuid> = VecDeque::new();
    Ok(BroadcastStream::new(receiver).filter_map(move |item| {
        let _slot = &slot;
        let out = match item {
            Ok(event) if event.visible_to(viewer) && !seen.contains(&event.id) => {
                let picked = pick(&event.payload);
                if picked.is_some() {
                    if seen.len() == SEEN {
                        seen.pop_front();
                    }
                    seen.push_back(event.id);
                }
                picked
            }
            Ok(_) => None,
            Err(BroadcastStreamRecvError::Lagged(n)) => {
                tracing::warn!(skipped = n, "a subscriber fell behind the event bus");
                None
            }
        };
        future::ready(out)
    }))
}
