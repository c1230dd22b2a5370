//! An order: a buyer's reservation of one ticket, at the price the ticket had when it was made.
//! A partial unique index allows one live (`CREATED` or `AWAITING_PAYMENT`) order per ticket.

use sea_orm::entity::prelude::*;

#[derive(
    Clone,
    Copy,
    Debug,
    PartialEq,
    Eq,
    EnumIter,
    DeriveActiveEnum,
    serde::Serialize,
    serde::Deserialize,
)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
#[sea_orm(rs_type = "String", db_type = "String(StringLen::N(24))")]
pub enum OrderStatus {
    #[sea_orm(string_value = "CREATED")]
    Created,
    #[sea_orm(string_value = "AWAITING_PAYMENT")]
    AwaitingPayment,
    #[sea_orm(string_value = "CANCELLED")]
    Cancelled,
    #[sea_orm(string_value = "COMPLETE")]
    Complete,
}

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "orders")]
pub struct Model {
    /// UUID v7: newest first is highest id first; also the lock's owner.
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub ticket_id: Uuid,
    pub buyer_id: Uuid,
    pub status: OrderStatus,
    pub price_cents: i64,
    pub expires_at: DateTimeUtc,
    /// How many times payment was started; with the order id, the processor's idempotency key.
    pub payment_attempts: i32,
    /// The processor's payment of the current attempt, stored before it is confirmed, so that a
    /// crash mid-charge can be settled by asking the processor about it.
    pub payment_intent_id: Option<String>,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
