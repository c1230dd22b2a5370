//! The `scale` scenario: the browse reads and the rush at each catalogue size, on the catalogue
//! the `search` and `event` scenarios seed (so one database is measured as it grows).
//!
//! - `ticket(id)` of a random ticket among every ticket seeded so far (the response cache almost
//!   never has it: this is the miss path at size);
//! - `tickets(first: 20, after: …)` from a random ticket's cursor: a page anywhere in the
//!   catalogue, newest first (the first page alone is one cached answer, measured by `browse`);
//! - a rush: buyers seeded with sessions reserve random tickets of events that sell without a
//!   queue and have not started, until none of the sample is left.
//!
//! The samples are drawn by the database (`ORDER BY random()`), once per size.

use std::sync::Arc;

use chrono::Duration;
use entity::ticket::{self, TicketStatus};
use rand::{Rng, rngs::StdRng};
use sea_orm::{
    ColumnTrait, DatabaseConnection, EntityTrait, QueryFilter, QueryOrder, QuerySelect,
    sea_query::Expr,
};
use serde_json::json;
use uuid::Uuid;

use crate::browse::{GET, Next, Request};

/// A page of tickets after a cursor, the fields of `browse::LIST`.
pub const PAGE: &str = "query($after: String) { tickets(first: 20, after: $after) { edges { cursor node { id title price status version } } pageInfo { hasNextPage endCursor } } }";

/// `n` ticket ids drawn at random from the whole catalogue.
pub async fn sample_tickets(db: &DatabaseConnection, n: u64) -> anyhow::Result<Vec<Uuid>> {
    Ok(ticket::Entity::find()
        .select_only()
        .column(ticket::Column::Id)
        .order_by_asc(Expr::cust("RANDOM()"))
        .limit(n)
        .into_tuple()
        .all(db)
        .await?)
}

/// Up to `n` tickets a buyer may reserve now, at random: available, of an event with no queue
/// (no `onSaleAt`) that starts more than a day from now.
pub async fn rush_tickets(db: &DatabaseConnection, n: u64) -> anyhow::Result<Vec<Uuid>> {
    Ok(ticket::Entity::find()
        .select_only()
        .column(ticket::Column::Id)
        .filter(ticket::Column::Status.eq(TicketStatus::Available))
        .filter(ticket::Column::EventOnSaleAt.is_null())
        .filter(ticket::Column::EventStartsAt.gt(api::db::now() + Duration::days(1)))
        .order_by_asc(Expr::cust("RANDOM()"))
        .limit(n)
        .into_tuple()
        .all(db)
        .await?)
}

/// The cursor `tickets` gives out for a ticket (its id, base64url).
pub fn cursor(id: Uuid) -> String {
    use base64::Engine as _;
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(id.as_bytes())
}

/// `ticket(id)` of a random one of `ids`.
pub fn ticket_mix(ids: &[Uuid]) -> Next {
    let ids: Arc<Vec<String>> = Arc::new(ids.iter().map(Uuid::to_string).collect());
    Arc::new(move |rng: &mut StdRng, _| Request {
        query: GET,
        variables: json!({ "id": ids[rng.random_range(0..ids.len())] }),
        class: 0,
    })
}

/// `tickets(first: 20, after:)` the cursor of a random one of `ids`.
pub fn page_mix(ids: &[Uuid]) -> Next {
    let cursors: Arc<Vec<String>> = Arc::new(ids.iter().copied().map(cursor).collect());
    Arc::new(move |rng: &mut StdRng, _| Request {
        query: PAGE,
        variables: json!({ "after": cursors[rng.random_range(0..cursors.len())] }),
        class: 0,
    })
}

/// Whether [`cursor`] is what the server gives out: its first ticket's cursor read back.
pub async fn check_cursor(api: &testkit::Client) -> anyhow::Result<()> {
    let d = api
        .data(
            "query { tickets(first: 1) { edges { cursor node { id } } } }",
            json!({}),
            None,
        )
        .await?;
    let edge = &d["tickets"]["edges"][0];
    let id: Uuid = edge["node"]["id"]
        .as_str()
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| anyhow::anyhow!("no ticket listed: {d}"))?;
    anyhow::ensure!(
        edge["cursor"].as_str() == Some(cursor(id).as_str()),
        "the server's cursor for {id} is {}, not {}",
        edge["cursor"],
        cursor(id)
    );
    Ok(())
}
