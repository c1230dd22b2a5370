//! Subscriptions read the event bus and filter by type and by who may see each event. The data
//! comes from the event itself: a push to many watchers costs no database query.

use std::{
    borrow::Cow,
    collections::VecDeque,
    hash::{Hash, Hasher},
    sync::{
        Arc,
        atomic::{AtomicUsize, Ordering},
    },
};

use async_graphql::{
    Context, ContextSelectionSet, OutputType, Positioned, ServerResult, Value,
    parser::types::Field, registry::Registry,
};
use futures_util::{Stream, StreamExt, future};
use tokio_stream::wrappers::{BroadcastStream, errors::BroadcastStreamRecvError};
use uuid::Uuid;

use crate::{
    auth::Viewer,
    cache::Bounded,
    error::ApiError,
    ids::{SessionId, UserId},
    outbox::{EventPayload, Events},
};

/// One WebSocket connection's places for operations (`WS_MAX_SUBSCRIPTIONS`), taken by the
/// gateway for each operation on it.
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

    pub fn take(&self) -> Result<Slot, ApiError> {
        self.used
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |n| {
                (n < self.limit).then_some(n + 1)
            })
            .map(|_| Slot(self.used.clone()))
            .map_err(|_| {
                ApiError::OverLimit(format!(
                    "too many subscriptions or running operations on this connection (at most \
                     {}); complete one first",
                    self.limit
                ))
            })
    }
}

/// An operation's place on its WebSocket, given back when the operation (a subscription's stream)
/// ends. Every operation on a socket (subscription, query or mutation) takes one when the gateway
/// prepares it, so a socket cannot keep thousands of streams, or of operations in flight, for one
/// client; HTTP requests carry no places and are held per request.
pub struct Slot(Arc<AtomicUsize>);

impl Drop for Slot {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::AcqRel);
    }
}

/// How many recent event ids a subscription remembers, to drop the duplicates that at-least-once
/// delivery (the outbox relay after a partial failure) can produce.
const SEEN: usize = 256;

/// The events `viewer` may see, mapped by `pick` (which returns `None` for other event types),
/// until the viewer's session is revoked: the stream ends at the revocation's event, so nothing
/// published after it reaches this subscriber, whatever becomes of its socket.
pub fn events<T, F>(
    ctx: &Context<'_>,
    viewer: Viewer,
    pick: F,
) -> async_graphql::Result<impl Stream<Item = T> + use<T, F>>
where
    T: Send + 'static,
    F: Fn(&EventPayload) -> Option<T> + Send + 'static,
{
    Ok(with_ids(ctx, Some(viewer), pick)?.map(|(_, item)| item))
}

/// Events everyone may see, each rendered once per distinct selection however many subscribers
/// want it (see `Shared`). Only for types whose fields read nothing but the value itself.
pub fn public_events<T, F>(
    ctx: &Context<'_>,
    pick: F,
) -> async_graphql::Result<impl Stream<Item = Shared<T>> + use<T, F>>
where
    T: Send + Sync + 'static,
    F: Fn(&EventPayload) -> Option<T> + Send + 'static,
{
    let shape = shape_of(ctx);
    Ok(with_ids(ctx, None, pick)?.map(move |(event, item)| Shared {
        key: (event, shape),
        item,
    }))
}

fn with_ids<T, F>(
    ctx: &Context<'_>,
    viewer: Option<Viewer>,
    pick: F,
) -> async_graphql::Result<impl Stream<Item = (Uuid, T)> + use<T, F>>
where
    T: Send + 'static,
    F: Fn(&EventPayload) -> Option<T> + Send + 'static,
{
    let receiver = ctx.data_unchecked::<Events>().bus().subscribe();
    let user = viewer.map(|v| UserId::from(v.user_id));
    let session = viewer.map(|v| SessionId::from(v.session_id));
    // Grows as events come: an idle subscriber holds no history.
    let mut seen: VecDeque<Uuid> = VecDeque::new();
    let stream = BroadcastStream::new(receiver)
        .map(move |item| match item {
            Ok(event) => match &event.payload {
                EventPayload::SessionsRevoked(revoked)
                    if session.is_some_and(|s| revoked.session_ids.contains(&s)) =>
                {
                    Step::End
                }
                _ if event.visible_to(user) && !seen.contains(&event.id.uuid()) => {
                    let picked = pick(&event.payload);
                    if picked.is_some() {
                        if seen.len() == SEEN {
                            seen.pop_front();
                        }
                        seen.push_back(event.id.uuid());
                    }
                    picked.map_or(Step::Skip, |item| Step::Item(event.id.uuid(), item))
                }
                _ => Step::Skip,
            },
            Err(BroadcastStreamRecvError::Lagged(n)) => {
                tracing::warn!(skipped = n, "a subscriber fell behind the event bus");
                Step::Skip
            }
        })
        .take_while(|step| future::ready(!matches!(step, Step::End)))
        .filter_map(|step| {
            future::ready(match step {
                Step::Item(id, item) => Some((id, item)),
                Step::Skip | Step::End => None,
            })
        });
    Ok(stream)
}

/// What one event from the bus means to a subscription.
enum Step<T> {
    Item(Uuid, T),
    Skip,
    /// The subscriber's session was revoked.
    End,
}

/// What a subscription's selection looks like, as a number: the selection set under the field
/// and the document's fragments, with `@skip`/`@include` already applied. Subscriptions with the
/// same number render an item identically. Computed once, when the subscription starts.
fn shape_of(ctx: &Context<'_>) -> u64 {
    let mut hasher = std::hash::DefaultHasher::new();
    format!("{:?}", ctx.item.node.selection_set).hash(&mut hasher);
    let mut fragments: Vec<String> = ctx
        .query_env
        .fragments
        .iter()
        .map(|(name, f)| format!("{name}:{:?}", f.node))
        .collect();
    fragments.sort_unstable();
    fragments.hash(&mut hasher);
    hasher.finish()
}

/// An event's item on its way to many subscribers. It is the GraphQL type `T` (same name, same
/// fields); resolving it looks up `Renders` first, so 10,000 subscribers of one ticket with the
/// same selection cost one resolution and 10,000 copies of its result.
pub struct Shared<T> {
    key: (Uuid, u64),
    item: T,
}

/// Rendered items by (event, selection shape); emptied when full, as only the latest events
/// matter.
#[derive(Clone)]
pub struct Renders(Bounded<(Uuid, u64), Value>);

const RENDERS_KEPT: usize = 4096;

impl Default for Renders {
    fn default() -> Self {
        Self(Bounded::new(RENDERS_KEPT))
    }
}

impl Renders {
    fn get(&self, key: &(Uuid, u64)) -> Option<Value> {
        self.0.get(key)
    }

    fn put(&self, key: (Uuid, u64), value: &Value) {
        self.0.insert(key, value.clone());
    }
}

impl<T: OutputType> OutputType for Shared<T> {
    fn type_name() -> Cow<'static, str> {
        T::type_name()
    }

    fn create_type_info(registry: &mut Registry) -> String {
        T::create_type_info(registry)
    }

    async fn resolve(
        &self,
        ctx: &ContextSelectionSet<'_>,
        field: &Positioned<Field>,
    ) -> ServerResult<Value> {
        let renders = ctx.data_opt::<Renders>();
        if let Some(value) = renders.and_then(|r| r.get(&self.key)) {
            return Ok(value);
        }
        let value = self.item.resolve(ctx, field).await?;
        if let Some(renders) = renders {
            renders.put(self.key, &value);
        }
        Ok(value)
    }
}
