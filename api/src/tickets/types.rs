//! GraphQL types of tickets, mapped from the domain's `model::Ticket`, and the validated title
//! (`Title`; prices are `money::Price`).

use async_graphql::{Enum, ID, InputObject, SimpleObject};
use chrono::{DateTime, Utc};
use rust_decimal::Decimal;

use super::model;
use crate::{error::FieldError, money, pagination::PageInfo, text};

#[derive(Clone, Copy, Debug, PartialEq, Eq, Enum)]
#[graphql(remote = "entity::ticket::TicketStatus")]
pub enum TicketStatus {
    Available,
    Reserved,
    Sold,
}

/// The order of an event's tickets.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Enum, Default)]
pub enum TicketOrder {
    /// Newest listing first.
    #[default]
    Newest,
    /// Cheapest first, then by id.
    PriceAsc,
}

#[derive(Clone, Debug, PartialEq, Eq, SimpleObject)]
#[graphql(complex)]
pub struct Ticket {
    pub id: ID,
    pub title: String,
    pub price: Decimal,
    /// +1 on every change; pass it back as `expectedVersion` to edit or buy what you saw.
    pub version: i32,
    pub status: TicketStatus,
    pub seller_id: ID,
    /// Set while `RESERVED`: when the order holding it runs out.
    pub reserved_until: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    /// The event it is listed for; null for a ticket listed without one.
    pub event_id: Option<ID>,
}

impl From<model::Ticket> for Ticket {
    fn from(t: model::Ticket) -> Self {
        Self {
            id: t.id.into(),
            title: t.title,
            price: money::from_cents(t.price_cents),
            version: t.version,
            status: t.status.into(),
            seller_id: t.seller_id.into(),
            reserved_until: t.reserved_until,
            created_at: t.created_at,
            updated_at: t.updated_at,
            event_id: t.event_id.map(Into::into),
        }
    }
}

impl From<entity::ticket::Model> for Ticket {
    fn from(m: entity::ticket::Model) -> Self {
        model::Ticket::from(m).into()
    }
}

#[derive(Clone, Debug, SimpleObject)]
pub struct TicketEdge {
    pub cursor: String,
    pub node: Ticket,
}

#[derive(Clone, Debug, SimpleObject)]
pub struct TicketConnection {
    pub edges: Vec<TicketEdge>,
    pub page_info: PageInfo,
}

impl TicketConnection {
    pub fn empty() -> Self {
        Self {
            edges: Vec::new(),
            page_info: PageInfo::empty(),
        }
    }
}

#[derive(Clone, Debug, InputObject)]
pub struct CreateTicketInput {
    pub title: String,
    pub price: Decimal,
    /// The event it is for, which must not have started; omitted: a ticket without an event.
    pub event_id: Option<ID>,
}

#[derive(Clone, Debug, InputObject)]
pub struct UpdateTicketInput {
    pub title: Option<String>,
    pub price: Option<Decimal>,
    /// The version you saw; the edit is refused (`CONFLICT`) if the ticket changed since.
    pub expected_version: Option<i32>,
}

pub const TITLE_MAX: usize = 200;

/// 1 to 200 characters after trimming.
pub struct Title(String);

impl Title {
    pub fn parse(raw: &str) -> Result<Self, FieldError> {
        text::line("title", raw, TITLE_MAX).map(Self)
    }

    pub fn into_inner(self) -> String {
        self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn titles_are_trimmed_and_bounded() {
        assert_eq!(Title::parse("  Concert ").unwrap().into_inner(), "Concert");
        assert!(Title::parse("   ").is_err());
        assert!(Title::parse(&"é".repeat(200)).is_ok());
        assert!(Title::parse(&"é".repeat(201)).is_err());
        assert!(Title::parse("a\u{0}b").is_err());
    }
}
