//! A refund owed for a payment (unique `payment_id`), kept until the processor confirms it
//! (`refunded_at`).

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "refunds")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub order_id: Uuid,
    /// The processor's id of the payment to give back (a Stripe PaymentIntent id).
    #[sea_orm(unique)]
    pub payment_id: String,
    pub amount_cents: i64,
    pub reason: String,
    pub created_at: DateTimeUtc,
    /// When the processor confirmed the refund; `None` while it is owed.
    pub refunded_at: Option<DateTimeUtc>,
    /// Refund requests made so far (each with its own idempotency key).
    pub attempts: i32,
    pub last_error: Option<String>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
