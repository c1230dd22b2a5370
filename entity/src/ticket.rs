//! A ticket for sale. `price_cents` is exact integer money; `reserved_order_id` names the order
//! that holds it while `RESERVED`, so a release can only ever free its own reservation.

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
#[sea_orm(rs_type = "String", db_type = "String(StringLen::N(16))")]
pub enum TicketStatus {
    #[sea_orm(string_value = "AVAILABLE")]
    Available,
    #[sea_orm(string_value = "RESERVED")]
    Reserved,
    #[sea_orm(string_value = "SOLD")]
    Sold,
}

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "tickets")]
pub struct Model {
    /// UUID v7: newest first is highest id first.
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub title: String,
    pub price_cents: i64,
    pub version: i32,
    pub status: TicketStatus,
    pub seller_id: Uuid,
    /// The event it is listed for, if any, when that event starts and when it goes on sale
    /// through its queue (copied: events never change, and the reserving `UPDATE` checks them
    /// without reading the event).
    pub event_id: Option<Uuid>,
    pub event_starts_at: Option<DateTimeUtc>,
    pub event_on_sale_at: Option<DateTimeUtc>,
    pub reserved_order_id: Option<Uuid>,
    pub reserved_until: Option<DateTimeUtc>,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
