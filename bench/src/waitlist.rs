//! The live waiting list: watchers of one event's `ticketAvailable` over WebSocket, and how late
//! each hears a ticket that a reservation released: an order left to expire (from its own
//! `expiresAt`) or cancelled by its buyer (from the cancel's answer).

use std::{
    collections::HashMap,
    sync::{Arc, Mutex},
    time::Duration,
};

use chrono::{DateTime, Utc};
use futures_util::{StreamExt, stream};
use serde::Serialize;
use serde_json::json;
use testkit::{Answer, Client, WsClient};

use crate::stats::Dist;

const SUBSCRIBE: &str =
    "subscription($e: ID!) { ticketAvailable(eventId: $e) { id price status } }";
const CREATE_EVENT: &str = "mutation($s: DateTime!) { createEvent(input: {name: \"Waiting list night\", venue: \"Tonhalle\", city: \"Zürich\", startsAt: $s}) { id } }";
const CREATE_TICKET: &str = "mutation($e: ID!, $t: String!) { createTicket(input: {title: $t, price: \"80.00\", eventId: $e}) { id } }";
const CREATE_ORDER: &str = "mutation($t: ID!) { createOrder(ticketId: $t) { id expiresAt } }";
const CANCEL_ORDER: &str = "mutation($o: ID!) { cancelOrder(id: $o) { id status } }";

#[derive(Clone, Debug, Default, Serialize)]
pub struct WaitlistResult {
    pub watchers: usize,
    pub opened: usize,
    pub ttl_seconds: u64,
    /// Orders left to expire, and orders cancelled, each on a ticket of its own.
    pub expired: usize,
    pub cancelled: usize,
    /// Every watcher should hear every released ticket once.
    pub expected: usize,
    pub received: usize,
    /// Not heard within `grace_s` of the release.
    pub lost: usize,
    pub grace_s: f64,
    pub duplicates: usize,
    /// Push received minus the order's `expiresAt`.
    pub after_expiry: Dist,
    /// Push received minus the cancel's answer (negative: the push came first).
    pub after_cancel: Dist,
    /// Push received minus the moment the cancel was sent.
    pub after_cancel_sent: Dist,
    pub errors: usize,
    pub first_error: Option<String>,
}

pub struct WaitlistRun {
    pub result: WaitlistResult,
    /// (series, sorted ms) for the plot: after expiry, after the cancel's answer.
    pub ms: Vec<(&'static str, Vec<f64>)>,
}

/// (watcher, ticket) → arrivals.
type Arrivals = Arc<Mutex<HashMap<(usize, String), (DateTime<Utc>, usize)>>>;

/// A released ticket: when (the order's `expiresAt`, or the cancel's answer) and, for a cancel,
/// when the cancel was sent.
type Release = (String, DateTime<Utc>, Option<DateTime<Utc>>);

/// `watchers` sockets (the `tokens` in turn) watch a new event of `seller`'s with `expire +
/// cancel` tickets; `expire` orders are made 150 ms apart and left to expire after `ttl`
/// seconds (the server's `ORDER_TTL_SECONDS`), and from a second before the first deadline
/// `cancel` more are made and each cancelled 100 ms later, about one every 200 ms.
#[allow(clippy::too_many_arguments)]
pub async fn run(
    api: &Client,
    seller: &str,
    tokens: &[String],
    watchers: usize,
    expire: usize,
    cancel: usize,
    ttl: u64,
    grace: Duration,
) -> anyhow::Result<WaitlistRun> {
    let starts = (Utc::now() + chrono::Duration::days(30)).to_rfc3339();
    let event = api
        .data(CREATE_EVENT, json!({ "s": starts }), Some(seller))
        .await?["createEvent"]["id"]
        .as_str()
        .ok_or_else(|| anyhow::anyhow!("createEvent answered no id"))?
        .to_owned();
    let tickets: Vec<anyhow::Result<String>> = stream::iter(0..expire + cancel)
        .map(|i| {
            let event = event.clone();
            async move {
                let d = api
                    .data(
                        CREATE_TICKET,
                        json!({ "e": event, "t": format!("Seat {i}") }),
                        Some(seller),
                    )
                    .await?;
                d["createTicket"]["id"]
                    .as_str()
                    .map(str::to_owned)
                    .ok_or_else(|| anyhow::anyhow!("createTicket answered no id"))
            }
        })
        .buffered(8)
        .collect()
        .await;
    let tickets: Vec<String> = tickets.into_iter().collect::<anyhow::Result<_>>()?;

    let mut r = WaitlistResult {
        watchers,
        ttl_seconds: ttl,
        grace_s: grace.as_secs_f64(),
        ..Default::default()
    };
    let arrivals: Arrivals = Arc::default();
    let mut sockets = Vec::new();
    for w in 0..watchers {
        let token = &tokens[w % tokens.len()];
        let mut ws = WsClient::connect_with_token(api, token, Duration::from_secs(30)).await?;
        ws.try_subscribe("w", SUBSCRIBE, json!({ "e": event }))
            .await?;
        let arrivals = arrivals.clone();
        sockets.push(tokio::spawn(async move {
            while let Some(payload) = ws.next_data("w", Duration::from_secs(24 * 3600)).await {
                let now = Utc::now();
                if let Some(id) = payload["data"]["ticketAvailable"]["id"].as_str() {
                    let mut a = arrivals.lock().expect("arrivals");
                    let e = a.entry((w, id.to_owned())).or_insert((now, 0));
                    e.1 += 1;
                }
            }
        }));
        r.opened += 1;
    }
    // Let every subscription start before the first release.
    tokio::time::sleep(Duration::from_secs(1)).await;

    let releases: Arc<Mutex<Vec<Release>>> = Arc::default();
    let errors: Arc<Mutex<Vec<String>>> = Arc::default();
    let (to_expire, to_cancel) = tickets.split_at(expire);
    let expiring = async {
        for (i, t) in to_expire.iter().enumerate() {
            let token = &tokens[i % tokens.len()];
            match api.gql(CREATE_ORDER, json!({ "t": t }), Some(token)).await {
                Ok(Answer::Data(d)) => {
                    if let Some(at) = d["createOrder"]["expiresAt"]
                        .as_str()
                        .and_then(|s| s.parse::<DateTime<Utc>>().ok())
                    {
                        releases
                            .lock()
                            .expect("releases")
                            .push((t.clone(), at, None));
                    }
                }
                other => errors
                    .lock()
                    .expect("errors")
                    .push(format!("createOrder: {other:?}")),
            }
            tokio::time::sleep(Duration::from_millis(150)).await;
        }
    };
    let cancelling = async {
        // From a second before the first deadline: cancels and expiries overlap.
        tokio::time::sleep(Duration::from_secs(ttl.saturating_sub(1))).await;
        for (i, t) in to_cancel.iter().enumerate() {
            let token = &tokens[(i + 1) % tokens.len()];
            let order = match api.gql(CREATE_ORDER, json!({ "t": t }), Some(token)).await {
                Ok(Answer::Data(d)) => d["createOrder"]["id"].as_str().map(str::to_owned),
                other => {
                    errors
                        .lock()
                        .expect("errors")
                        .push(format!("createOrder: {other:?}"));
                    None
                }
            };
            tokio::time::sleep(Duration::from_millis(100)).await;
            if let Some(order) = order {
                let sent = Utc::now();
                match api
                    .gql(CANCEL_ORDER, json!({ "o": order }), Some(token))
                    .await
                {
                    Ok(Answer::Data(_)) => {
                        let answered = Utc::now();
                        releases
                            .lock()
                            .expect("releases")
                            .push((t.clone(), answered, Some(sent)));
                    }
                    other => errors
                        .lock()
                        .expect("errors")
                        .push(format!("cancelOrder: {other:?}")),
                }
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    };
    tokio::join!(expiring, cancelling);
    let releases = releases.lock().expect("releases").clone();
    let errors = errors.lock().expect("errors").clone();
    r.errors = errors.len();
    r.first_error = errors.first().cloned();
    r.expired = releases.iter().filter(|x| x.2.is_none()).count();
    r.cancelled = releases.len() - r.expired;
    r.expected = releases.len() * r.opened;

    let last = releases.iter().map(|x| x.1).max().unwrap_or_else(Utc::now);
    let give_up = last + chrono::Duration::from_std(grace)?;
    loop {
        let n = arrivals.lock().expect("arrivals").len();
        if n >= r.expected || Utc::now() >= give_up {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    // A moment more, for duplicates.
    tokio::time::sleep(Duration::from_millis(500)).await;
    for s in &sockets {
        s.abort();
    }
    let arrivals = arrivals.lock().expect("arrivals").clone();
    let grace = chrono::Duration::from_std(grace)?;
    let ms = |d: chrono::Duration| d.num_microseconds().unwrap_or(0) as f64 / 1000.0;
    let (mut expiry, mut cancel, mut cancel_sent) = (Vec::new(), Vec::new(), Vec::new());
    for (ticket, at, sent) in &releases {
        for w in 0..r.opened {
            match arrivals.get(&(w, ticket.clone())) {
                Some((got, n)) if *got - *at <= grace => {
                    r.received += 1;
                    r.duplicates += n - 1;
                    match sent {
                        None => expiry.push(ms(*got - *at)),
                        Some(sent) => {
                            cancel.push(ms(*got - *at));
                            cancel_sent.push(ms(*got - *sent));
                        }
                    }
                }
                _ => r.lost += 1,
            }
        }
    }
    r.after_expiry = Dist::of(&mut expiry);
    r.after_cancel = Dist::of(&mut cancel);
    r.after_cancel_sent = Dist::of(&mut cancel_sent);
    Ok(WaitlistRun {
        result: r,
        ms: vec![
            ("after expiresAt", expiry),
            ("after the cancel's answer", cancel),
        ],
    })
}
