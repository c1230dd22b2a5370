//! GraphQL resolvers of tickets.

use async_graphql::{ComplexObject, Context, ID, Object, Subscription, dataloader::DataLoader};
use futures_util::Stream;
use rust_decimal::Decimal;

use super::{
    TicketService,
    loader::TicketLoader,
    service::EventTicketsPage,
    types::{
        CreateTicketInput, Ticket, TicketConnection, TicketEdge, TicketOrder, TicketStatus,
        UpdateTicketInput,
    },
};
use crate::{
    auth::require_viewer,
    error::ApiError,
    events::{self, loader::EventLoader, types::Event},
    ids::{EventId, TicketId, UserId},
    money,
    outbox::EventPayload,
    pagination::{self, Page},
    subscriptions::{self, Shared},
};

#[derive(Default)]
pub struct TicketQuery;

#[Object]
impl TicketQuery {
    /// Tickets, newest first; `status` filters (AVAILABLE: what is on sale), `sellerId` keeps
    /// one seller's listings (a seller's "my tickets").
    #[graphql(
        cache_control(max_age = 5),
        complexity = "pagination::cost(first, child_complexity)"
    )]
    async fn tickets(
        &self,
        ctx: &Context<'_>,
        #[graphql(default = 20)] first: Option<i32>,
        after: Option<String>,
        status: Option<TicketStatus>,
        seller_id: Option<ID>,
    ) -> async_graphql::Result<TicketConnection> {
        let page = Page::parse(first.unwrap_or(20), after.as_deref())?;
        let seller = match seller_id {
            None => None,
            Some(id) => match UserId::parse(&id) {
                Some(id) => Some(id),
                // No such seller: no tickets, as for any id with no listings.
                None => return Ok(TicketConnection::empty()),
            },
        };
        let rows = ctx
            .data_unchecked::<TicketService>()
            .list(page, status.map(Into::into), seller)
            .await?;
        let (edges, page_info) = pagination::edges(
            rows,
            page,
            |t| t.id.uuid(),
            |cursor, t| TicketEdge {
                cursor,
                node: t.into(),
            },
        );
        Ok(TicketConnection { edges, page_info })
    }

    /// One ticket; null when there is none.
    #[graphql(cache_control(max_age = 5))]
    async fn ticket(&self, ctx: &Context<'_>, id: ID) -> async_graphql::Result<Option<Ticket>> {
        let Some(id) = TicketId::parse(&id) else {
            return Ok(None);
        };
        Ok(ctx
            .data_unchecked::<TicketService>()
            .get(id)
            .await?
            .map(Ticket::from))
    }

    /// Federation entity resolver, through the loader: a gateway's batch of representations
    /// costs one query, not one per representation (at most `MAX_ENTITY_REPRESENTATIONS`).
    #[graphql(entity)]
    async fn find_ticket_by_id(
        &self,
        ctx: &Context<'_>,
        id: ID,
    ) -> async_graphql::Result<Option<Ticket>> {
        let Some(id) = TicketId::parse(&id) else {
            return Ok(None);
        };
        Ok(ctx
            .data_unchecked::<DataLoader<TicketLoader>>()
            .load_one(id.uuid())
            .await
            .map_err(|err| ApiError::internal(anyhow::anyhow!("loading a ticket: {err}")))?)
    }
}

#[derive(Default)]
pub struct TicketMutation;

#[Object]
impl TicketMutation {
    /// Lists a ticket for sale.
    async fn create_ticket(
        &self,
        ctx: &Context<'_>,
        input: CreateTicketInput,
    ) -> async_graphql::Result<Ticket> {
        let viewer = require_viewer(ctx).await?;
        let event = match &input.event_id {
            None => None,
            Some(id) => Some(EventId::parse(id).ok_or_else(events::service::not_found)?),
        };
        Ok(ctx
            .data_unchecked::<TicketService>()
            .create(viewer, &input.title, input.price, event)
            .await?
            .into())
    }

    /// Edits your own ticket while it is AVAILABLE.
    async fn update_ticket(
        &self,
        ctx: &Context<'_>,
        id: ID,
        input: UpdateTicketInput,
    ) -> async_graphql::Result<Ticket> {
        let viewer = require_viewer(ctx).await?;
        let id = TicketId::parse(&id).ok_or_else(super::service::not_found)?;
        Ok(ctx
            .data_unchecked::<TicketService>()
            .update(viewer, id, input)
            .await?
            .into())
    }
}

#[derive(Default)]
pub struct TicketSubscription;

#[Subscription]
impl TicketSubscription {
    /// Every new listing.
    async fn ticket_created(
        &self,
        ctx: &Context<'_>,
    ) -> async_graphql::Result<impl Stream<Item = Shared<Ticket>>> {
        subscriptions::public_events(ctx, |payload| match payload {
            EventPayload::TicketCreated(t) => Some(Ticket::from(t.clone())),
            _ => None,
        })
    }

    /// Every change of one ticket, or of all when `id` is omitted.
    async fn ticket_updated(
        &self,
        ctx: &Context<'_>,
        id: Option<ID>,
    ) -> async_graphql::Result<impl Stream<Item = Shared<Ticket>>> {
        // An id that is no ticket's matches nothing.
        let watched = id.map(|id| TicketId::parse(&id));
        subscriptions::public_events(ctx, move |payload| match payload {
            EventPayload::TicketUpdated(t) if watched.is_none_or(|w| w == Some(t.id)) => {
                Some(Ticket::from(t.clone()))
            }
            _ => None,
        })
    }

    /// The live waiting list: every ticket of the event that becomes AVAILABLE at or under
    /// `maxPrice` (any price when omitted), the moment it does: a new listing, a price cut, a
    /// cancelled or expired order. Anyone may watch, signed in or not.
    async fn ticket_available(
        &self,
        ctx: &Context<'_>,
        event_id: ID,
        max_price: Option<Decimal>,
    ) -> async_graphql::Result<impl Stream<Item = Shared<Ticket>>> {
        let watched = EventId::parse(&event_id);
        subscriptions::public_events(ctx, move |payload| match payload {
            EventPayload::TicketAvailable(t)
                if watched.is_some()
                    && t.event_id == watched
                    && max_price.is_none_or(|max| money::from_cents(t.price_cents) <= max) =>
            {
                Some(Ticket::from(t.clone()))
            }
            _ => None,
        })
    }
}

#[ComplexObject]
impl Ticket {
    /// The event it is listed for; null for a ticket listed without one.
    async fn event(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<Event>> {
        let Some(id) = self.event_id.as_ref().and_then(EventId::parse) else {
            return Ok(None);
        };
        Ok(ctx
            .data_unchecked::<DataLoader<EventLoader>>()
            .load_one(id.uuid())
            .await
            .map_err(|err| ApiError::internal(anyhow::anyhow!("loading an event: {err}")))?
            .map(Event::from))
    }
}

/// `Event.tickets` lives here: tickets know events, events know nothing of tickets.
#[ComplexObject]
impl Event {
    /// Its tickets: newest first, or cheapest first (`orderBy: PRICE_ASC`, then by id); a cursor
    /// works with the order it came from. `status: AVAILABLE` keeps what is on sale.
    #[graphql(complexity = "pagination::cost(first, child_complexity)")]
    async fn tickets(
        &self,
        ctx: &Context<'_>,
        #[graphql(default = 20)] first: Option<i32>,
        after: Option<String>,
        status: Option<TicketStatus>,
        #[graphql(default_with = "Some(TicketOrder::Newest)")] order_by: Option<TicketOrder>,
    ) -> async_graphql::Result<TicketConnection> {
        let page = EventTicketsPage::parse(
            order_by.unwrap_or_default(),
            first.unwrap_or(20),
            after.as_deref(),
        )?;
        let Some(event) = EventId::parse(&self.id) else {
            return Ok(TicketConnection::empty());
        };
        let rows = ctx
            .data_unchecked::<TicketService>()
            .list_for_event(event, page, status.map(Into::into))
            .await?;
        let edge = |cursor, t: super::model::Ticket| TicketEdge {
            cursor,
            node: t.into(),
        };
        let (edges, page_info) = match page {
            EventTicketsPage::Newest(page) => pagination::edges(rows, page, |t| t.id.uuid(), edge),
            EventTicketsPage::PriceAsc(page) => {
                pagination::keyed_edges(rows, page, |t| (t.price_cents, t.id.uuid()), edge)
            }
        };
        Ok(TicketConnection { edges, page_info })
    }
}
