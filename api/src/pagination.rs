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

/// What a connection field costs against `MAX_QUERY_COMPLEXITY`: its selection once per row it
/// may return, so a list nested in a list costs the product of their `first`s (20 events with
/// 20 tickets each is 400 tickets' worth), and a small document cannot ask for a million rows.
pub fn cost(first: Option<i32>, child_complexity: usize) -> usize {
    usize::try_from(first.unwrap_or(20).clamp(1, MAX_PAGE)).unwrap_or(1) * child_complexity
}

/// A validated page request: how many, and after which id.
#[derive(Clone, Copy, Debug)]
pub struct Page {
    pub first: u64,
    pub after: Option<Uuid>,
}

impl Page {
    pub fn parse(first: i32, after: Option<&str>) -> ApiResult<Self> {
        let (first, after) = parse_page(first, after, decode, "is not a cursor this API gave out")?;
        Ok(Self { first, after })
    }
}

/// `first` (1 to `MAX_PAGE`) and `after` read by `decode`, or both fields' errors at once.
fn parse_page<K>(
    first: i32,
    after: Option<&str>,
    decode: impl Fn(&str) -> Option<K>,
    bad_cursor: &str,
) -> ApiResult<(u64, Option<K>)> {
    let mut fields = Vec::new();
    if !(1..=MAX_PAGE).contains(&first) {
        fields.push(crate::error::FieldError::new(
            "first",
            format!("must be from 1 to {MAX_PAGE}"),
        ));
    }
    let after = match after.map(decode) {
        None => None,
        Some(Some(key)) => Some(key),
        Some(None) => {
            fields.push(crate::error::FieldError::new("after", bad_cursor));
            None
        }
    };
    if fields.is_empty() {
        Ok((u64::try_from(first).unwrap_or(1), after))
    } else {
        Err(ApiError::BadUserInput(fields))
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

/// A page in an order other than "newest first": by a number (a price in cents, a time in
/// microseconds), then by id. Its cursor carries both, so the next page starts after the last
/// row even if other rows have the same number.
#[derive(Clone, Copy, Debug)]
pub struct KeyedPage {
    pub first: u64,
    pub after: Option<(i64, Uuid)>,
}

impl KeyedPage {
    pub fn parse(first: i32, after: Option<&str>) -> ApiResult<Self> {
        let (first, after) = parse_page(
            first,
            after,
            decode_keyed,
            "is not a cursor this API gave out for this order",
        )?;
        Ok(Self { first, after })
    }
}

fn encode_keyed((key, id): (i64, Uuid)) -> String {
    use base64::Engine as _;
    let mut bytes = [0u8; 24];
    bytes[..8].copy_from_slice(&key.to_be_bytes());
    bytes[8..].copy_from_slice(id.as_bytes());
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

fn decode_keyed(cursor: &str) -> Option<(i64, Uuid)> {
    use base64::Engine as _;
    if cursor.len() > 64 {
        return None;
    }
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(cursor)
        .ok()?;
    if bytes.len() != 24 {
        return None;
    }
    let key = i64::from_be_bytes(bytes[..8].try_into().ok()?);
    Some((key, Uuid::from_slice(&bytes[8..]).ok()?))
}

/// `edges` for a keyed page: `key` gives a row's number and id.
pub fn keyed_edges<R, E>(
    rows: Vec<R>,
    page: KeyedPage,
    key: impl Fn(&R) -> (i64, Uuid),
    edge: impl Fn(String, R) -> E,
) -> (Vec<E>, PageInfo) {
    let (rows, has_next_page) = split(
        rows,
        Page {
            first: page.first,
            after: None,
        },
    );
    let end_cursor = rows.last().map(|r| encode_keyed(key(r)));
    let edges = rows
        .into_iter()
        .map(|r| edge(encode_keyed(key(&r)), r))
        .collect();
    (
        edges,
        PageInfo {
            has_next_page,
            end_cursor,
        },
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keyed_cursors_round_trip_and_refuse_the_plain_kind() {
        let id = Uuid::now_v7();
        let cursor = encode_keyed((-5, id));
        assert_eq!(decode_keyed(&cursor), Some((-5, id)));
        assert!(decode_keyed(&encode(id)).is_none());
        assert!(KeyedPage::parse(20, Some(&encode(id))).is_err());
        assert!(KeyedPage::parse(20, Some("x".repeat(10_000).as_str())).is_err());
    }
}
