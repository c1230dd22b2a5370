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

fn encode(id: Uuid) -> String {
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
fn split<T>(mut rows: Vec<T>, page: Page) -> (Vec<T>, bool) {
    let more = rows.len() as u64 > page.first;
    rows.truncate(usize::try_from(page.first).unwrap_or(usize::MAX));
    (rows, more)
}

/// A connection's edges and page info from `first + 1` fetched rows: `id` gives a row's cursor,
/// `edge` builds the edge from the cursor and the row. Each domain's connection type is then just
/// `{ edges, page_info }`.
pub fn edges<R, E>(
    rows: Vec<R>,
    page: Page,
    id: impl Fn(&R) -> Uuid,
    edge: impl Fn(String, R) -> E,
) -> (Vec<E>, PageInfo) {
    let (rows, has_next_page) = split(rows, page);
    let end_cursor = rows.last().map(|r| encode(id(r)));
    let edges = rows.into_iter().map(|r| edge(encode(id(&r)), r)).collect();
    (
        edges,
        PageInfo {
            has_next_page,
            end_cursor,
        },
    )
}

impl PageInfo {
    /// The info of a connection with no edges.
    pub fn empty() -> Self {
        Self {
            has_next_page: false,
            end_cursor: None,
        }
    }
}
