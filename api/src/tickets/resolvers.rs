//! GraphQL resolvers of tickets.

use async_graphql::{Context, ID, Object, Subscription, dataloader::DataLoader};
use futures_util::Stream;

use super::{
    TicketService,
    loader::TicketLoader,
    types::{
        CreateTicketInput, Ticket, TicketConnection, TicketEdge, TicketStatus, UpdateTicketInput,
    },
};
use crate::{
    auth::require_viewer,
    error::ApiError,
    ids::{TicketId, UserId},
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
    #[graphql(cache_control(max_age = 5))]
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
        Ok(ctx
            .data_unchecked::<TicketService>()
            .create(viewer, &input.title, input.price)
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
}
