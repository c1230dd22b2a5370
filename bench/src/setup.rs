//! The set-up of a scenario, not timed in its figures: many accounts and many tickets, made
//! through testkit's GraphQL client at a modest concurrency.

use anyhow::anyhow;
use futures_util::{StreamExt, stream};
use serde_json::json;
use testkit::Client;

/// Signs up `n` users (argon2 makes this slow by design), `concurrency` at a time; returns their
/// tokens in order.
pub async fn sign_up_many(
    api: &Client,
    tag: &str,
    n: usize,
    concurrency: usize,
) -> anyhow::Result<Vec<String>> {
    let tokens: Vec<anyhow::Result<String>> = stream::iter(0..n)
        .map(|i| async move {
            api.sign_up(&format!("{tag}-{i}@bench.example.com"), "bench password 1")
                .await
        })
        .buffered(concurrency)
        .collect()
        .await;
    tokens.into_iter().collect()
}

/// Lists `n` tickets as `seller`, `concurrency` at a time; returns their ids.
pub async fn create_tickets(
    api: &Client,
    seller: &str,
    n: usize,
    concurrency: usize,
) -> anyhow::Result<Vec<String>> {
    const CREATE: &str =
        "mutation($t: String!) { createTicket(input: {title: $t, price: \"25.00\"}) { id } }";
    let ids: Vec<anyhow::Result<String>> = stream::iter(0..n)
        .map(|i| async move {
            let data = api
                .data(
                    CREATE,
                    json!({ "t": format!("Bench ticket {i}") }),
                    Some(seller),
                )
                .await?;
            data["createTicket"]["id"]
                .as_str()
                .map(str::to_owned)
                .ok_or_else(|| anyhow!("createTicket answered no id"))
        })
        .buffer_unordered(concurrency)
        .collect()
        .await;
    ids.into_iter().collect()
}
