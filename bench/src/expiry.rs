//! Expiry: many orders made as fast as possible, so their deadlines bunch up; how late each
//! buyer hears `orderExpired` after the order's own `expiresAt`.

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

const CREATE_ORDER: &str = "mutation($t: ID!) { createOrder(ticketId: $t) { id expiresAt } }";

#[derive(Clone, Debug, Default, Serialize)]
pub struct ExpiryResult {
    pub orders_wanted: usize,
    pub orders: usize,
    pub buyers: usize,
    pub ttl_seconds: u64,
    pub create_seconds: f64,
    /// From the first to the last `expiresAt`.
    pub deadline_spread_s: f64,
    /// Orders per second of `expiresAt` at the busiest second.
    pub busiest_second: usize,
    pub received: usize,
    /// Not announced within `grace_s` of their deadline.
    pub lost: usize,
    pub grace_s: f64,
    pub duplicates: usize,
    /// `orderExpired` arrival minus the order's own `expiresAt`.
    pub lag: Dist,
    pub create_errors: usize,
    pub first_create_error: Option<String>,
}

pub struct ExpiryRun {
    pub result: ExpiryResult,
    pub ms: Vec<f64>,
}

type Arrivals = Arc<Mutex<HashMap<String, (DateTime<Utc>, usize)>>>;

pub async fn run(
    api: &Client,
    tokens: &[String],
    tickets: &[String],
    ttl: u64,
    grace: Duration,
    concurrency: usize,
) -> anyhow::Result<ExpiryRun> {
    let arrivals: Arrivals = Arc::default();
    let mut sockets = Vec::new();
    for token in tokens {
        let mut ws = WsClient::connect_with_token(api, token, Duration::from_secs(30)).await?;
        ws.try_subscribe("x", "subscription { orderExpired { id } }", json!({}))
            .await?;
        let arrivals = arrivals.clone();
        sockets.push(tokio::spawn(async move {
            // Until the socket closes (or the run aborts this task when it is done).
            while let Some(payload) = ws.next_data("x", Duration::from_secs(24 * 3600)).await {
                let now = Utc::now();
                if let Some(id) = payload["data"]["orderExpired"]["id"].as_str() {
                    let mut a = arrivals.lock().expect("arrivals");
                    let e = a.entry(id.to_owned()).or_insert((now, 0));
                    e.1 += 1;
                }
            }
        }));
    }
    tokio::time::sleep(Duration::from_millis(500)).await;

    let started = std::time::Instant::now();
    let answers: Vec<anyhow::Result<Answer>> = stream::iter(tickets.iter().enumerate())
        .map(|(i, t)| {
            api.gql(
                CREATE_ORDER,
                json!({ "t": t }),
                Some(&tokens[i % tokens.len()]),
            )
        })
        .buffer_unordered(concurrency)
        .collect()
        .await;
    let create_seconds = started.elapsed().as_secs_f64();
    let mut deadlines: Vec<(String, DateTime<Utc>)> = Vec::new();
    let mut r = ExpiryResult {
        orders_wanted: tickets.len(),
        buyers: tokens.len(),
        ttl_seconds: ttl,
        create_seconds,
        grace_s: grace.as_secs_f64(),
        ..Default::default()
    };
    for a in answers {
        match a {
            Ok(Answer::Data(d)) => {
                let o = &d["createOrder"];
                if let (Some(id), Some(at)) = (
                    o["id"].as_str(),
                    o["expiresAt"].as_str().and_then(|s| s.parse().ok()),
                ) {
                    deadlines.push((id.to_owned(), at));
                }
            }
            other => {
                r.create_errors += 1;
                r.first_create_error
                    .get_or_insert_with(|| format!("{other:?}"));
            }
        }
    }
    r.orders = deadlines.len();
    let first = deadlines.iter().map(|d| d.1).min().unwrap_or_else(Utc::now);
    let last = deadlines.iter().map(|d| d.1).max().unwrap_or_else(Utc::now);
    r.deadline_spread_s = (last - first).num_milliseconds() as f64 / 1000.0;
    let mut per_second: HashMap<i64, usize> = HashMap::new();
    for (_, at) in &deadlines {
        *per_second.entry(at.timestamp()).or_default() += 1;
    }
    r.busiest_second = per_second.values().copied().max().unwrap_or(0);

    let give_up = last + chrono::Duration::from_std(grace)?;
    loop {
        let n = arrivals.lock().expect("arrivals").len();
        if n >= deadlines.len() || Utc::now() >= give_up {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let arrivals = arrivals.lock().expect("arrivals").clone();
    let mut lags = Vec::with_capacity(deadlines.len());
    for (id, due) in &deadlines {
        match arrivals.get(id) {
            Some((at, count)) if (*at - *due) <= chrono::Duration::from_std(grace)? => {
                lags.push((*at - *due).num_microseconds().unwrap_or(0) as f64 / 1000.0);
                r.duplicates += count - 1;
            }
            _ => r.lost += 1,
        }
    }
    r.received = lags.len();
    r.lag = Dist::of(&mut lags);
    for s in sockets {
        s.abort();
    }
    Ok(ExpiryRun {
        result: r,
        ms: lags,
    })
}
