//! Relay-style cursor pagination, newest first. Ids are UUID v7 (time-ordered), so "newest
//! first" is "highest id first" and a cursor is an id, opaque to clients.

use async_graphql::SimpleObject;
use uuid::Uuid;

use crate::error::{ApiError, ApiResult};

pub const MAX_PAGE: i32 = 100;

#[derive(Clone, Debug, SimpleObject)]
pub struct PageInfo {
    pub has_next_page: bool,
    pub end_cursor: Option<String>,
}

/// A validated page request: how many, and after which id.
#[derive(Clone, Copy, Debug)]
pub struct Page {
    pub first: u64,
    pub after: Option<Uuid>,
}

impl Page {
    pub fn parse(first: i32, after: Option<&str>) -> ApiResult<Self> {
        let mut fields = Vec::new();
        if !(1..=MAX_PAGE).contains(&first) {
            fields.push(crate::error::FieldError::new(
                "first",
                format!("must be from 1 to {MAX_PAGE}"),
            ));
        }
        let after = match after {
            None => None,
            Some(cursor) => match decode(cursor) {
                Some(id) => Some(id),
                None => {
                    fields.push(crate::error::FieldError::new(
                        "after",
                        "is not a cursor this API gave out",
                    ));
                    None
                }
            },
        };
        if fields.is_empty() {
            Ok(Self {
                first: u64::try_from(first).unwrap_or(1),
                after,
            })
        } else {
            Err(ApiError::BadUserInput(fields))
        }
    }
}

pub fn encode(id: Uuid) -> String {
    use base64::Engine as _;
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(id.as_bytes())
}

fn decode(cursor: &str) -> Option<Uuid> {
    use base64::Engine as _;
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(cursor)
        .ok()?;
    Uuid::from_slice(&bytes).ok()
}

/// Splits a fetched `first + 1` rows into the page and whether more follow.
pub fn split<T>(mut rows: Vec<T>, page: Page) -> (Vec<T>, bool) {
    let more = rows.len() as u64 > page.first;
    rows.truncate(usize::try_from(page.first).unwrap_or(usize::MAX));
    (rows, more)
}

/// Parses a GraphQL `ID` that must be a UUID; anything else names no record.
pub fn parse_id(id: &async_graphql::ID) -> Option<Uuid> {
    Uuid::parse_str(id.as_str()).ok()
}
