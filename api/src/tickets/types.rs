//! GraphQL types of tickets, and the validated inputs (`Title`, `Price`).

use async_graphql::{Enum, ID, InputObject, SimpleObject};
use chrono::{DateTime, Utc};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

use crate::{error::FieldError, pagination::PageInfo};

#[derive(Clone, Copy, Debug, PartialEq, Eq, Enum, Serialize, Deserialize)]
#[graphql(remote = "entity::ticket::TicketStatus")]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum TicketStatus {
    Available,
    Reserved,
    Sold,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, SimpleObject)]
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
}

impl From<entity::ticket::Model> for Ticket {
    fn from(m: entity::ticket::Model) -> Self {
        Self {
            id: ID(m.id.to_string()),
            title: m.title,
            price: cents_to_price(m.price_cents),
            version: m.version,
            status: m.status.into(),
            seller_id: ID(m.seller_id.to_string()),
            reserved_until: m.reserved_until,
            created_at: m.created_at,
            updated_at: m.updated_at,
        }
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
            page_info: PageInfo {
                has_next_page: false,
                end_cursor: None,
            },
        }
    }
}

#[derive(Clone, Debug, InputObject)]
pub struct CreateTicketInput {
    pub title: String,
    pub price: Decimal,
}

#[derive(Clone, Debug, InputObject)]
pub struct UpdateTicketInput {
    pub title: Option<String>,
    pub price: Option<Decimal>,
    /// The version you saw; the edit is refused (`CONFLICT`) if the ticket changed since.
    pub expected_version: Option<i32>,
}

pub const TITLE_MAX: usize = 200;
pub const PRICE_MAX: i64 = 1_000_000;

/// 1 to 200 characters after trimming.
pub struct Title(String);

/// Characters that change how the text around them reads without showing themselves: bidi
/// embeddings, overrides, isolates and marks (with which "Concert U+202E kcit" reads otherwise on
/// screen than in the database) and zero-width spaces, joiners of words, the byte-order mark.
/// The zero-width joiner and non-joiner stay allowed: emoji sequences and several scripts need
/// them.
fn is_invisible_format(c: char) -> bool {
    matches!(c,
        '\u{061C}' | '\u{180E}' | '\u{200B}' | '\u{200E}' | '\u{200F}'
        | '\u{202A}'..='\u{202E}' | '\u{2060}'..='\u{2064}' | '\u{2066}'..='\u{2069}'
        | '\u{FEFF}')
}

impl Title {
    pub fn parse(raw: &str) -> Result<Self, FieldError> {
        let title = raw.trim();
        let n = title.chars().count();
        if n == 0 {
            Err(FieldError::new("title", "must not be empty"))
        } else if n > TITLE_MAX {
            Err(FieldError::new(
                "title",
                format!("must be at most {TITLE_MAX} characters"),
            ))
        } else if title.chars().any(char::is_control) {
            Err(FieldError::new(
                "title",
                "must not contain control characters",
            ))
        } else if title.chars().any(is_invisible_format) {
            Err(FieldError::new(
                "title",
                "must not contain direction overrides or invisible characters",
            ))
        } else {
            Ok(Self(title.to_owned()))
        }
    }

    pub fn into_inner(self) -> String {
        self.0
    }
}

/// Greater than 0, at most 2 decimals, at most 1,000,000; kept as integer cents.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Price(i64);

impl Price {
    pub fn parse(raw: Decimal) -> Result<Self, FieldError> {
        let normalized = raw.normalize();
        if normalized <= Decimal::ZERO {
            return Err(FieldError::new("price", "must be greater than 0"));
        }
        if normalized.scale() > 2 {
            return Err(FieldError::new("price", "must have at most 2 decimals"));
        }
        if normalized > Decimal::from(PRICE_MAX) {
            return Err(FieldError::new("price", "must be at most 1000000"));
        }
        let cents = (normalized * Decimal::from(100)).trunc();
        i64::try_from(cents)
            .map(Self)
            .map_err(|_| FieldError::new("price", "is out of range"))
    }

    pub fn cents(self) -> i64 {
        self.0
    }
}

pub fn cents_to_price(cents: i64) -> Decimal {
    Decimal::new(cents, 2)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::str::FromStr;

    fn price(s: &str) -> Result<i64, FieldError> {
        Price::parse(Decimal::from_str(s).unwrap()).map(Price::cents)
    }

    #[test]
    fn prices_become_exact_cents() {
        assert_eq!(price("19.99").unwrap(), 1999);
        assert_eq!(price("20").unwrap(), 2000);
        assert_eq!(price("20.10").unwrap(), 2010);
        assert_eq!(price("0.01").unwrap(), 1);
        assert_eq!(price("1000000").unwrap(), 100_000_000);
        assert_eq!(
            price("1.500").unwrap(),
            150,
            "trailing zeros are not decimals"
        );
        assert_eq!(cents_to_price(1999).to_string(), "19.99");
        assert_eq!(cents_to_price(2000).to_string(), "20.00");
    }

    #[test]
    fn bad_prices_are_refused() {
        for bad in ["0", "-1", "0.001", "1.999", "1000000.01", "99999999999"] {
            assert!(price(bad).is_err(), "{bad} accepted");
        }
    }

    #[test]
    fn titles_are_trimmed_and_bounded() {
        assert_eq!(Title::parse("  Concert ").unwrap().into_inner(), "Concert");
        assert!(Title::parse("   ").is_err());
        assert!(Title::parse(&"é".repeat(200)).is_ok());
        assert!(Title::parse(&"é".repeat(201)).is_err());
        assert!(Title::parse("a\u{0}b").is_err());
    }
}
