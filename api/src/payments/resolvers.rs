//! GraphQL resolvers of payments.

use async_graphql::{Context, ID, Object, Subscription};
use futures_util::Stream;

use super::{
    PaymentService,
    types::{Charge, PaymentSettings},
};
use crate::{
    auth::require_viewer,
    error::to_completion,
    ids::{ChargeId, OrderId},
    outbox::EventPayload,
    subscriptions,
};

#[derive(Default)]
pub struct PaymentQuery;

#[Object]
impl PaymentQuery {
    /// How this deployment takes payments.
    async fn payment_settings(&self, ctx: &Context<'_>) -> PaymentSettings {
        ctx.data_unchecked::<PaymentService>().settings()
    }

    /// Federation entity resolver: only the buyer resolves their charges.
    #[graphql(entity)]
    async fn find_charge_by_id(
        &self,
        ctx: &Context<'_>,
        id: ID,
    ) -> async_graphql::Result<Option<Charge>> {
        let Some(viewer) = crate::auth::viewer(ctx).await? else {
            return Ok(None);
        };
        let Some(id) = ChargeId::parse(&id) else {
            return Ok(None);
        };
        Ok(ctx
            .data_unchecked::<PaymentService>()
            .charge(viewer, id)
            .await?
            .map(Charge::from))
    }
}

#[derive(Default)]
pub struct PaymentMutation;

#[Object]
impl PaymentMutation {
    /// Pays for your order by card: `token` is a card token (`tok_visa` with the built-in test
    /// processor). Charges once whatever the retries; paying a paid order returns its charge.
    async fn pay_order(
        &self,
        ctx: &Context<'_>,
        order_id: ID,
        token: String,
    ) -> async_graphql::Result<Charge> {
        let viewer = require_viewer(ctx).await?;
        let order_id = OrderId::parse(&order_id).ok_or_else(crate::orders::service::not_found)?;
        let payments = ctx.data_unchecked::<PaymentService>().clone();
        Ok(
            to_completion(async move { payments.pay(viewer, order_id, &token).await })
                .await?
                .into(),
        )
    }
}

#[derive(Default)]
pub struct PaymentSubscription;

#[Subscription]
impl PaymentSubscription {
    /// The viewer's charges.
    async fn charge_created(
        &self,
        ctx: &Context<'_>,
    ) -> async_graphql::Result<impl Stream<Item = Charge>> {
        let viewer = require_viewer(ctx).await?;
        subscriptions::events(ctx, viewer, |payload| match payload {
            EventPayload::ChargeCreated(c) => Some(Charge::from(c.clone())),
            _ => None,
        })
    }
}
