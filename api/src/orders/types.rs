//! GraphQL types of orders, mapped from the domain's `model::Order`.

use async_graphql::{ComplexObject, Context, Enum, ID, SimpleObject, dataloader::DataLoader};
use chrono::{DateTime, Utc};
use rust_decimal::Decimal;

use super::model;
use crate::{
    error::ApiError,
    ids::{OrderId, TicketId},
    money,
    pagination::PageInfo,
    payments::types::{Charge, ChargeLoader},
    tickets::{loader::TicketLoader, types::Ticket},
};

#[derive(Clone, Copy, Debug, PartialEq, Eq, Enum)]
#[graphql(remote = "entity::order::OrderStatus")]
pub enum OrderStatus {
    Created,
    AwaitingPayment,
    Cancelled,
    Complete,
}

#[derive(Clone, Debug, PartialEq, Eq, SimpleObject)]
#[graphql(complex)]
pub struct Order {
    pub id: ID,
    pub status: OrderStatus,
    /// When an unpaid order is cancelled and its ticket goes back on sale.
    pub expires_at: DateTime<Utc>,
    pub buyer_id: ID,
    /// What the buyer pays: the ticket's price when the order was made.
    pub price: Decimal,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    #[graphql(skip)]
    pub order_id: OrderId,
    #[graphql(skip)]
    pub ticket_id: TicketId,
    /// The ticket as the event that carries this order saw it (subscriptions read no database).
    #[graphql(skip)]
    pub ticket_snapshot: Option<Ticket>,
}

#[ComplexObject]
impl Order {
    /// The charge that paid for it, once `COMPLETE`.
    async fn charge(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<Charge>> {
        if self.status != OrderStatus::Complete {
            return Ok(None);
        }
        Ok(ctx
            .data_unchecked::<DataLoader<ChargeLoader>>()
            .load_one(self.order_id.uuid())
            .await
            .map_err(|err| ApiError::internal(anyhow::anyhow!("loading a charge: {err}")))?)
    }

    async fn ticket(&self, ctx: &Context<'_>) -> async_graphql::Result<Ticket> {
        if let Some(ticket) = &self.ticket_snapshot {
            return Ok(ticket.clone());
        }
        let loaded = ctx
            .data_unchecked::<DataLoader<TicketLoader>>()
            .load_one(self.ticket_id.uuid())
            .await
            .map_err(|err| ApiError::internal(anyhow::anyhow!("loading a ticket: {err}")))?;
        Ok(
            loaded
                .ok_or_else(|| ApiError::internal(anyhow::anyhow!("order without its ticket")))?,
        )
    }
}

impl From<model::Order> for Order {
    fn from(o: model::Order) -> Self {
        Self {
            id: o.id.into(),
            status: o.status.into(),
            expires_at: o.expires_at,
            buyer_id: o.buyer_id.into(),
            price: money::from_cents(o.price_cents),
            created_at: o.created_at,
            updated_at: o.updated_at,
            order_id: o.id,
            ticket_id: o.ticket_id,
            ticket_snapshot: o.ticket.map(Ticket::from),
        }
    }
}

#[derive(Clone, Debug, SimpleObject)]
pub struct OrderEdge {
    pub cursor: String,
    pub node: Order,
}

#[derive(Clone, Debug, SimpleObject)]
pub struct OrderConnection {
    pub edges: Vec<OrderEdge>,
    pub page_info: PageInfo,
}
