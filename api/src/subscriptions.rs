//! Subscriptions read the event bus and filter by type and by who may see each event. The data
//! comes from the event itself: a push to many watchers costs no database query.

use std::collections::VecDeque;

use async_graphql::Context;
use futures_util::{Stream, StreamExt, future};
use tokio_stream::wrappers::{BroadcastStream, errors::BroadcastStreamRecvError};
use uuid::Uuid;

use crate::events::{EventPayload, Events};

/// How many recent event ids a subscription remembers, to drop the duplicates that at-least-once
/// delivery (the outbox relay after a partial failure) can produce.
const SEEN: usize = 256;

/// The events `viewer` may see, mapped by `pick` (which returns `None` for other event types).
pub fn events<T, F>(
    ctx: &Context<'_>,
    viewer: Option<Uuid>,
    pick: F,
) -> impl Stream<Item = T> + use<T, F>
where
    T: Send + 'static,
    F: Fn(&EventPayload) -> Option<T> + Send + 'static,
{
    let receiver = ctx.data_unchecked::<Events>().bus().subscribe();
    let mut seen: VecDeque<Uuid> = VecDeque::with_capacity(SEEN);
    BroadcastStream::new(receiver).filter_map(move |item| {
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
    })
}
