//! An event tickets are listed for. Immutable once created, but for its availability counters
//! (`available_count`, `lowest_price_cents`), which the events module keeps up to date in the
//! transaction of every change of one of its tickets. `search_text` and `city_key` are the
//! folded forms search and the city filter compare (lower case, accents removed).

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "events")]
pub struct Model {
    /// UUID v7.
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub name: String,
    pub venue: String,
    pub city: String,
    pub city_key: String,
    pub search_text: String,
    pub starts_at: DateTimeUtc,
    pub on_sale_at: Option<DateTimeUtc>,
    pub organizer_id: Uuid,
    pub available_count: i64,
    pub lowest_price_cents: Option<i64>,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
