//! GraphQL types of events, mapped from the domain's `model::Event`. `Event.tickets` is resolved
//! by the tickets module (`tickets::resolvers`), which knows events; events know nothing of
//! tickets.

use async_graphql::{ID, InputObject, SimpleObject};
use chrono::{DateTime, Utc};
use rust_decimal::Decimal;

use super::model;
use crate::{money, pagination::PageInfo};

#[derive(Clone, Debug, PartialEq, Eq, SimpleObject)]
#[graphql(complex)]
pub struct Event {
    pub id: ID,
    pub name: String,
    pub venue: String,
    pub city: String,
    pub starts_at: DateTime<Utc>,
    /// Null: on sale as soon as tickets are listed. Set: tickets sell through the on-sale queue.
    pub on_sale_at: Option<DateTime<Utc>>,
    pub organizer_id: ID,
    pub created_at: DateTime<Utc>,
    /// Its AVAILABLE tickets now.
    pub available_count: i32,
    /// The lowest price among them; null when none.
    pub lowest_price: Option<Decimal>,
}

impl From<model::Event> for Event {
    fn from(e: model::Event) -> Self {
        Self {
            id: e.id.into(),
            name: e.name,
            venue: e.venue,
            city: e.city,
            starts_at: e.starts_at,
            on_sale_at: e.on_sale_at,
            organizer_id: e.organizer_id.into(),
            created_at: e.created_at,
            available_count: i32::try_from(e.available_count.max(0)).unwrap_or(i32::MAX),
            lowest_price: e.lowest_price_cents.map(money::from_cents),
        }
    }
}

#[derive(Clone, Debug, SimpleObject)]
pub struct EventEdge {
    pub cursor: String,
    pub node: Event,
}

#[derive(Clone, Debug, SimpleObject)]
pub struct EventConnection {
    pub edges: Vec<EventEdge>,
    pub page_info: PageInfo,
}

#[derive(Clone, Debug, InputObject)]
pub struct CreateEventInput {
    /// 1 to 200 characters after trimming.
    pub name: String,
    /// 1 to 200 characters after trimming.
    pub venue: String,
    /// 1 to 100 characters after trimming.
    pub city: String,
    /// In the future.
    pub starts_at: DateTime<Utc>,
    /// Before `startsAt` and not in the past; tickets then sell through the on-sale queue.
    pub on_sale_at: Option<DateTime<Utc>>,
}
