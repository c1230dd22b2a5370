//! GraphQL types of payments (mapped from the domain's `model::Charge`), and the batched load of an order's charge.

use std::{collections::HashMap, sync::Arc};

use async_graphql::{ID, SimpleObject, dataloader::Loader};
use chrono::{DateTime, Utc};
use entity::charge;
use rust_decimal::Decimal;
use sea_orm::{ColumnTrait, DatabaseConnection, EntityTrait, QueryFilter};
use uuid::Uuid;

use super::model;
use crate::money;

#[derive(Clone, Debug, PartialEq, Eq, SimpleObject)]
pub struct Charge {
    pub id: ID,
    pub order_id: ID,
    pub amount: Decimal,
    /// ISO 4217, lower-case as Stripe writes it (e.g. `usd`).
    pub currency: String,
    /// The processor's id of the payment.
    pub provider_id: String,
    pub created_at: DateTime<Utc>,
}

impl From<model::Charge> for Charge {
    fn from(c: model::Charge) -> Self {
        Self {
            id: c.id.into(),
            order_id: c.order_id.into(),
            amount: money::from_cents(c.amount_cents),
            currency: c.currency,
            provider_id: c.provider_id,
            created_at: c.created_at,
        }
    }
}

impl From<charge::Model> for Charge {
    fn from(m: charge::Model) -> Self {
        model::Charge::from(m).into()
    }
}

/// Charges by order id, in one query per batch.
pub struct ChargeLoader(pub DatabaseConnection);

impl Loader<Uuid> for ChargeLoader {
    type Value = Charge;
    type Error = Arc<sea_orm::DbErr>;

    async fn load(&self, keys: &[Uuid]) -> Result<HashMap<Uuid, Charge>, Self::Error> {
        let rows = charge::Entity::find()
            .filter(charge::Column::OrderId.is_in(keys.iter().copied()))
            .all(&self.0)
            .await
            .map_err(Arc::new)?;
        Ok(rows
            .into_iter()
            .map(|m| (m.order_id, Charge::from(m)))
            .collect())
    }
}

/// How this deployment takes payments, for clients choosing their card form.
#[derive(Clone, Debug, async_graphql::SimpleObject)]
pub struct PaymentSettings {
    /// `test` (the built-in processor: `tok_visa` pays, `tok_chargeDeclined` is declined) or
    /// `stripe`.
    pub processor: String,
    /// Stripe's publishable key for Stripe Elements, when configured (`STRIPE_PUBLISHABLE_KEY`).
    pub publishable_key: Option<String>,
    /// The ISO 4217 code, lower-case, of every charge.
    pub currency: String,
}
