//! Hot ticket: every buyer orders the same ticket at the same moment.

use std::{sync::Arc, time::Instant};

use serde::Serialize;
use serde_json::json;

use testkit::{Answer, Client};

use crate::{
    rush::CREATE_ORDER,
    stats::{Dist, ms},
};

#[derive(Clone, Debug, Default, Serialize)]
pub struct HotResult {
    pub buyers: usize,
    pub winners: usize,
    pub conflicts: usize,
    pub other: usize,
    pub other_examples: Vec<String>,
    pub latency: Dist,
    /// From the start signal to the last answer.
    pub wall_ms: f64,
    /// Open client connections before the start (the pool was warmed so no request pays a
    /// TCP handshake).
    pub warmed_connections: usize,
    /// Bursts run one after another, each on a fresh ticket; the counts and the latency above
    /// are over all of them, `buyers` is per burst.
    pub bursts: usize,
    pub burst_winners: Vec<usize>,
    pub burst_p99: Vec<f64>,
}

pub struct HotRun {
    pub result: HotResult,
    pub ms: Vec<f64>,
}

/// One burst per ticket, a second apart: one burst's p99 is 10 requests, at the mercy of one
/// scheduling hiccup on a shared machine.
pub async fn bursts(api: &Client, tokens: &[String], tickets: &[String]) -> HotRun {
    let mut all = HotResult {
        buyers: tokens.len(),
        bursts: tickets.len(),
        ..Default::default()
    };
    let mut ms = Vec::new();
    for ticket in tickets {
        let run = run(api, tokens, ticket).await;
        let r = run.result;
        all.winners += r.winners;
        all.conflicts += r.conflicts;
        all.other += r.other;
        all.other_examples.extend(r.other_examples);
        all.other_examples.truncate(5);
        all.wall_ms = all.wall_ms.max(r.wall_ms);
        all.warmed_connections = all.warmed_connections.max(r.warmed_connections);
        all.burst_winners.push(r.winners);
        all.burst_p99.push(r.latency.p99);
        ms.extend(run.ms);
        tokio::time::sleep(std::time::Duration::from_secs(1)).await;
    }
    let mut pooled = ms.clone();
    all.latency = Dist::of(&mut pooled);
    HotRun { result: all, ms }
}

pub async fn run(api: &Client, tokens: &[String], ticket: &str) -> HotRun {
    // Warm the pool: one connection per buyer, all open at once, each loading what a signed-in
    // buyer's page loads first (`me`), as the web UI does before the sale opens.
    let warm = Arc::new(tokio::sync::Barrier::new(tokens.len()));
    let mut warmers = Vec::new();
    for token in tokens {
        let (api, token, warm) = (api.clone(), token.clone(), warm.clone());
        warmers.push(tokio::spawn(async move {
            warm.wait().await;
            api.gql("{ me { id } }", json!({}), Some(&token))
                .await
                .is_ok()
        }));
    }
    let mut warmed = 0;
    for w in warmers {
        if matches!(w.await, Ok(true)) {
            warmed += 1;
        }
    }

    let start = Arc::new(tokio::sync::Barrier::new(tokens.len() + 1));
    let mut tasks = Vec::new();
    for token in tokens {
        let (api, token, start, ticket) =
            (api.clone(), token.clone(), start.clone(), ticket.to_owned());
        tasks.push(tokio::spawn(async move {
            start.wait().await;
            let sent = Instant::now();
            let a = api
                .gql(CREATE_ORDER, json!({ "t": ticket }), Some(&token))
                .await;
            (ms(sent.elapsed()), a, Instant::now())
        }));
    }
    start.wait().await;
    let began = Instant::now();
    let mut r = HotResult {
        buyers: tokens.len(),
        warmed_connections: warmed,
        ..Default::default()
    };
    let mut lat = Vec::new();
    let mut last = began;
    for t in tasks {
        let Ok((l, a, done)) = t.await else { continue };
        lat.push(l);
        last = last.max(done);
        match a {
            Ok(Answer::Data(d)) if d["createOrder"]["id"].is_string() => r.winners += 1,
            Ok(Answer::Error { code, .. }) if code == "CONFLICT" => r.conflicts += 1,
            other => {
                r.other += 1;
                if r.other_examples.len() < 5 {
                    r.other_examples.push(format!("{other:?}"));
                }
            }
        }
    }
    r.wall_ms = ms(last - began);
    r.latency = Dist::of(&mut lat);
    HotRun { result: r, ms: lat }
}
