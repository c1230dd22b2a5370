//! GraphQL types of orders.

use async_graphql::{ComplexObject, Context, Enum, ID, SimpleObject, dataloader::DataLoader};
use chrono::{DateTime, Utc};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::{
    error::ApiError,
    pagination::PageInfo,
    payments::types::{Charge, ChargeLoader},
    tickets::{
        loader::TicketLoader,
        types::{Ticket, cents_to_price},
    },
};

#[derive(Clone, Copy, Debug, PartialEq, Eq, Enum, Serialize, Deserialize)]
#[graphql(remote = "entity::order::OrderStatus")]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum OrderStatus {
    Created,
    AwaitingPayment,
    Cancelled,
    Complete,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, SimpleObject)]
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
    pub ticket_id: Uuid,
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
        let id = uuid::Uuid::parse_str(self.id.as_str())
            .map_err(|err| ApiError::internal(anyhow::anyhow!("order id: {err}")))?;
        Ok(ctx
            .data_unchecked::<DataLoader<ChargeLoader>>()
            .load_one(id)
            .await
            .map_err(|err| ApiError::internal(anyhow::anyhow!("loading a charge: {err}")))?)
    }

    async fn ticket(&self, ctx: &Context<'_>) -> async_graphql::Result<Ticket> {
        if let Some(ticket) = &self.ticket_snapshot {
            return Ok(ticket.clone());
        }
        let loaded = ctx
            .data_unchecked::<DataLoader<TicketLoader>>()
            .load_one(self.ticket_id)
            .await
            .map_err(|err| ApiError::internal(anyhow::anyhow!("loading a ticket: {err}")))?;
        Ok(
            loaded
                .ok_or_else(|| ApiError::internal(anyhow::anyhow!("order without its ticket")))?,
        )
    }
}

impl Order {
    pub fn from_model(m: entity::order::Model, ticket: Option<Ticket>) -> Self {
        Self {
            id: ID(m.id.to_string()),
            status: m.status.into(),
            expires_at: m.expires_at,
            buyer_id: ID(m.buyer_id.to_string()),
            price: cents_to_price(m.price_cents),
            created_at: m.created_at,
            updated_at: m.updated_at,
            ticket_id: m.ticket_id,
            ticket_snapshot: ticket,
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
