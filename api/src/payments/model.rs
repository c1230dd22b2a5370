//! A charge as the domain sees it: what services return and what its events carry. Its serialized
//! form is stored in the outbox, so a change here is a new event version (see `outbox::event`).

use chrono::{DateTime, Utc};
use entity::charge;
use serde::{Deserialize, Serialize};

use crate::ids::{ChargeId, OrderId};

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Charge {
    pub id: ChargeId,
    pub order_id: OrderId,
    pub amount_cents: i64,
    /// ISO 4217, lower-case as Stripe writes it (e.g. `usd`).
    pub currency: String,
    /// The processor's id of the payment.
    pub provider_id: String,
    pub created_at: DateTime<Utc>,
}

impl From<charge::Model> for Charge {
    fn from(m: charge::Model) -> Self {
        Self {
            id: m.id.into(),
            order_id: m.order_id.into(),
            amount_cents: m.amount_cents,
            currency: m.currency,
            provider_id: m.provider_id,
            created_at: m.created_at,
        }
    }
}
