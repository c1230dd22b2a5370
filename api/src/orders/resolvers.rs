//! GraphQL resolvers of orders. Every order is visible to its buyer only.

use async_graphql::{Context, ID, Object, Subscription};
use futures_util::Stream;

use super::{
    OrderService,
    types::{Order, OrderConnection, OrderEdge},
};
use crate::{
    auth::require_viewer,
    error::{ApiError, to_completion},
    ids::{OrderId, TicketId},
    outbox::EventPayload,
    pagination::{self, Page},
    subscriptions,
};

#[derive(Default)]
pub struct OrderQuery;

#[Object]
impl OrderQuery {
    /// The viewer's orders, newest first.
    #[graphql(
        cache_control(no_cache),
        complexity = "pagination::cost(first, child_complexity)"
    )]
    async fn orders(
        &self,
        ctx: &Context<'_>,
        #[graphql(default = 20)] first: Option<i32>,
        after: Option<String>,
    ) -> async_graphql::Result<OrderConnection> {
        let viewer = require_viewer(ctx).await?;
        let page = Page::parse(first.unwrap_or(20), after.as_deref())?;
        let rows = ctx
            .data_unchecked::<OrderService>()
            .list(viewer, page)
            .await?;
        let (edges, page_info) = pagination::edges(
            rows,
            page,
            |o| o.id.uuid(),
            |cursor, o| OrderEdge {
                cursor,
                node: o.into(),
            },
        );
        Ok(OrderConnection { edges, page_info })
    }

    /// One of the viewer's orders; `NOT_FOUND` when absent or not theirs.
    /// (Nullable as the contract says; an absent order is the `NOT_FOUND` error, never null.)
    #[graphql(cache_control(no_cache))]
    async fn order(&self, ctx: &Context<'_>, id: ID) -> async_graphql::Result<Option<Order>> {
        let viewer = require_viewer(ctx).await?;
        let id = OrderId::parse(&id).ok_or_else(super::service::not_found)?;
        Ok(Some(
            ctx.data_unchecked::<OrderService>()
                .get(viewer, id)
                .await?
                .into(),
        ))
    }

    /// Federation entity resolver: only the buyer resolves their orders.
    #[graphql(entity)]
    async fn find_order_by_id(
        &self,
        ctx: &Context<'_>,
        id: ID,
    ) -> async_graphql::Result<Option<Order>> {
        let Some(viewer) = crate::auth::viewer(ctx).await? else {
            return Ok(None);
        };
        let Some(id) = OrderId::parse(&id) else {
            return Ok(None);
        };
        match ctx.data_unchecked::<OrderService>().get(viewer, id).await {
            Ok(order) => Ok(Some(order.into())),
            Err(ApiError::NotFound(_)) => Ok(None),
            Err(err) => Err(err.into()),
        }
    }
}

#[derive(Default)]
pub struct OrderMutation;

#[Object]
impl OrderMutation {
    /// Reserves a ticket for `ORDER_TTL_SECONDS` (15 minutes by default) while you pay. Pass the
    /// `expectedVersion` you saw to be sure of the price you get.
    async fn create_order(
        &self,
        ctx: &Context<'_>,
        ticket_id: ID,
        expected_version: Option<i32>,
    ) -> async_graphql::Result<Order> {
        let viewer = require_viewer(ctx).await?;
        let ticket_id =
            TicketId::parse(&ticket_id).ok_or_else(crate::tickets::service::not_found)?;
        let orders = ctx.data_unchecked::<OrderService>().clone();
        Ok(
            to_completion(async move { orders.create(viewer, ticket_id, expected_version).await })
                .await?
                .into(),
        )
    }

    /// Cancels your unpaid order; its ticket goes back on sale.
    async fn cancel_order(&self, ctx: &Context<'_>, id: ID) -> async_graphql::Result<Order> {
        let viewer = require_viewer(ctx).await?;
        let id = OrderId::parse(&id).ok_or_else(super::service::not_found)?;
        let orders = ctx.data_unchecked::<OrderService>().clone();
        Ok(
            to_completion(async move { orders.cancel(viewer, id).await })
                .await?
                .into(),
        )
    }
}

#[derive(Default)]
pub struct OrderSubscription;

#[Subscription]
impl OrderSubscription {
    /// The viewer's new orders.
    async fn order_created(
        &self,
        ctx: &Context<'_>,
    ) -> async_graphql::Result<impl Stream<Item = Order>> {
        let viewer = require_viewer(ctx).await?;
        subscriptions::events(ctx, viewer, |payload| match payload {
            EventPayload::OrderCreated(o) => Some(Order::from(o.clone())),
            _ => None,
        })
    }

    /// Every change of one of the viewer's orders (or of all of them when `id` is omitted):
    /// cancelled, expired, awaiting payment, complete.
    async fn order_updated(
        &self,
        ctx: &Context<'_>,
        id: Option<ID>,
    ) -> async_graphql::Result<impl Stream<Item = Order>> {
        let viewer = require_viewer(ctx).await?;
        // An id that is no order's matches nothing.
        let watched = id.map(|id| OrderId::parse(&id));
        subscriptions::events(ctx, viewer, move |payload| match payload {
            EventPayload::OrderUpdated(o) if watched.is_none_or(|w| w == Some(o.id)) => {
                Some(Order::from(o.clone()))
            }
            _ => None,
        })
    }

    /// The viewer's orders that ran out of time.
    async fn order_expired(
        &self,
        ctx: &Context<'_>,
    ) -> async_graphql::Result<impl Stream<Item = Order>> {
        let viewer = require_viewer(ctx).await?;
        subscriptions::events(ctx, viewer, |payload| match payload {
            EventPayload::OrderExpired(o) => Some(Order::from(o.clone())),
            _ => None,
        })
    }
}
