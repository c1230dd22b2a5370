//! A hot event page: everyone refreshing one event's page (`event(id)` and its 20 cheapest
//! tickets, the same request bytes each time) while its seller now and then reprices one of its
//! tickets: what a storm on one page costs, with the response cache and without it, and how much
//! of it the cache answers while the page keeps changing.

use std::{
    sync::{
        Arc,
        atomic::{AtomicBool, AtomicUsize, Ordering},
    },
    time::Duration,
};

use anyhow::anyhow;
use futures_util::{StreamExt as _, stream};
use serde_json::json;

use testkit::{Answer, Client};

use crate::{
    browse::{self, CacheUse, LoadRun, Request},
    catalogue::EVENT,
    fresh,
};

/// The hot event's tickets.
const TICKETS: usize = 100;

const CREATE_EVENT: &str = "mutation($i: CreateEventInput!) { createEvent(input: $i) { id } }";
const CREATE_TICKET: &str = "mutation($i: CreateTicketInput!) { createTicket(input: $i) { id } }";
const REPRICE: &str =
    "mutation($id: ID!, $p: Decimal!) { updateTicket(id: $id, input: {price: $p}) { version } }";

/// An event with `TICKETS` tickets of `seller`'s: its id and its tickets' ids.
pub async fn setup(api: &Client, seller: &str) -> anyhow::Result<(String, Vec<String>)> {
    let starts = chrono::Utc::now() + chrono::Duration::days(30);
    let data = api
        .data(
            CREATE_EVENT,
            json!({ "i": { "name": "The hot show", "venue": "Arena", "city": "Bern",
                           "startsAt": starts.to_rfc3339() } }),
            Some(seller),
        )
        .await?;
    let event = data["createEvent"]["id"]
        .as_str()
        .ok_or_else(|| anyhow!("createEvent answered no id"))?
        .to_owned();
    let ids: Vec<anyhow::Result<String>> = stream::iter(0..TICKETS)
        .map(|i| {
            let event = event.clone();
            async move {
                let data = api
                    .data(
                        CREATE_TICKET,
                        json!({ "i": { "title": format!("Seat {i}"),
                                       "price": format!("{}.00", 20 + i % 50),
                                       "eventId": event } }),
                        Some(seller),
                    )
                    .await?;
                data["createTicket"]["id"]
                    .as_str()
                    .map(str::to_owned)
                    .ok_or_else(|| anyhow!("createTicket answered no id"))
            }
        })
        .buffer_unordered(16)
        .collect()
        .await;
    Ok((event, ids.into_iter().collect::<anyhow::Result<_>>()?))
}

/// `conns` connections reading the event's page in a closed loop; with `writes`, its seller
/// reprices one of its cheapest tickets that many times a second meanwhile. The cache's hits and
/// misses over the run are in the result.
pub async fn run(
    api: &Client,
    event: &str,
    writes: Option<(&str, &str, u32)>,
    conns: usize,
    warmup: Duration,
    secs: Duration,
) -> (LoadRun, usize) {
    let before = fresh::cache_counts(api).await;
    let stop = Arc::new(AtomicBool::new(false));
    let written = Arc::new(AtomicUsize::new(0));
    let writer = writes.map(|(token, ticket, per_second)| {
        let (stop, written) = (stop.clone(), written.clone());
        let (api, token, ticket) = (Client::new(api.addr), token.to_owned(), ticket.to_owned());
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(Duration::from_secs(1) / per_second.max(1));
            let mut k = 0u32;
            while !stop.load(Ordering::Relaxed) {
                tick.tick().await;
                k += 1;
                let price = format!("{}.{:02}", 10 + k % 2, k % 100);
                if let Ok(Answer::Data(_)) = api
                    .gql(REPRICE, json!({ "id": ticket, "p": price }), Some(&token))
                    .await
                {
                    written.fetch_add(1, Ordering::Relaxed);
                }
            }
        })
    });
    let event = event.to_owned();
    let next: browse::Next = Arc::new(move |_, _| Request {
        query: EVENT,
        variables: json!({ "id": event }),
        class: 0,
    });
    let mut run = browse::run_mix(api, &[], next, conns, warmup, secs, None).await;
    stop.store(true, Ordering::Relaxed);
    if let Some(w) = writer {
        let _ = w.await;
    }
    run.result.cache = Some(CacheUse::between(before, fresh::cache_counts(api).await));
    (run, written.load(Ordering::Relaxed))
}
