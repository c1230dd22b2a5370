//! GraphQL resolvers of events.

use async_graphql::{Context, ID, Object, Subscription};
use chrono::{DateTime, Utc};
use futures_util::Stream;

use super::{
    EventService,
    search::Terms,
    service::EventFilter,
    types::{CreateEventInput, Event, EventConnection, EventEdge},
};
use crate::{
    auth::require_viewer,
    error::ApiError,
    ids::EventId,
    outbox::EventPayload,
    pagination::{self, KeyedPage},
    subscriptions::{self, Shared},
};

#[derive(Default)]
pub struct EventQuery;

#[Object]
impl EventQuery {
    /// Events that have not started, soonest first. `search`: every word must match the start of
    /// a word of the name, venue or city, whatever the case and accents ("jazz berl" finds
    /// "Berlin Jazz Festival", "zurich" finds "Zürich"). `city`: exactly, whatever the case.
    /// `from` / `to`: starting after / before.
    #[graphql(
        cache_control(max_age = 5),
        complexity = "pagination::cost(first, child_complexity)"
    )]
    #[allow(clippy::too_many_arguments)] // one per GraphQL argument
    async fn events(
        &self,
        ctx: &Context<'_>,
        #[graphql(default = 20)] first: Option<i32>,
        after: Option<String>,
        search: Option<String>,
        city: Option<String>,
        from: Option<DateTime<Utc>>,
        to: Option<DateTime<Utc>>,
    ) -> async_graphql::Result<EventConnection> {
        let page = KeyedPage::parse(first.unwrap_or(20), after.as_deref());
        let search = search.as_deref().map(Terms::parse).transpose();
        let (page, search) = match (page, search) {
            (Ok(page), Ok(search)) => (page, search.flatten()),
            (page, search) => {
                let mut fields = match page {
                    Err(ApiError::BadUserInput(fields)) => fields,
                    Err(other) => return Err(other.into()),
                    Ok(_) => Vec::new(),
                };
                fields.extend(search.err());
                return Err(ApiError::BadUserInput(fields).into());
            }
        };
        // No city is longer than a city may be: a longer one is not sent to the database.
        if city
            .as_deref()
            .is_some_and(|c| c.chars().count() > super::service::CITY_MAX)
        {
            return Err(ApiError::BadUserInput(vec![crate::error::FieldError::new(
                "city",
                format!("must be at most {} characters", super::service::CITY_MAX),
            )])
            .into());
        }
        let filter = EventFilter {
            search,
            city,
            from,
            to,
        };
        let rows = ctx
            .data_unchecked::<EventService>()
            .list(page, &filter)
            .await?;
        let (edges, page_info) = pagination::keyed_edges(
            rows,
            page,
            |e| (e.starts_at.timestamp_micros(), e.id.uuid()),
            |cursor, e| EventEdge {
                cursor,
                node: e.into(),
            },
        );
        Ok(EventConnection { edges, page_info })
    }

    /// One event; null when there is none.
    #[graphql(cache_control(max_age = 5))]
    async fn event(&self, ctx: &Context<'_>, id: ID) -> async_graphql::Result<Option<Event>> {
        let Some(id) = EventId::parse(&id) else {
            return Ok(None);
        };
        Ok(ctx
            .data_unchecked::<EventService>()
            .get(id)
            .await?
            .map(Event::from))
    }

    /// Federation entity resolver.
    #[graphql(entity)]
    async fn find_event_by_id(
        &self,
        ctx: &Context<'_>,
        id: ID,
    ) -> async_graphql::Result<Option<Event>> {
        self.event(ctx, id).await
    }
}

#[derive(Default)]
pub struct EventMutation;

#[Object]
impl EventMutation {
    /// Creates an event; you are its organizer. It cannot be changed afterwards.
    async fn create_event(
        &self,
        ctx: &Context<'_>,
        input: CreateEventInput,
    ) -> async_graphql::Result<Event> {
        let viewer = require_viewer(ctx).await?;
        Ok(ctx
            .data_unchecked::<EventService>()
            .create(viewer, input)
            .await?
            .into())
    }
}

#[derive(Default)]
pub struct EventSubscription;

#[Subscription]
impl EventSubscription {
    /// The event whenever its `availableCount` or `lowestPrice` changes.
    async fn event_updated(
        &self,
        ctx: &Context<'_>,
        id: ID,
    ) -> async_graphql::Result<impl Stream<Item = Shared<Event>>> {
        // An id that is no event's matches nothing.
        let watched = EventId::parse(&id);
        subscriptions::public_events(ctx, move |payload| match payload {
            EventPayload::EventUpdated(e) if Some(e.id) == watched => Some(Event::from(e.clone())),
            _ => None,
        })
    }
}
