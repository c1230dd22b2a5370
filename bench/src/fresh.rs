//! Freshness of cached reads: a seller changes a ticket on one replica while `ticket(id)` (the
//! same request bytes each time, so the response cache answers it) is read on that replica and on
//! another. For each change: whether the writer's replica answered the new version at once, and
//! how long the other took to answer it.

use std::time::{Duration, Instant};

use serde::Serialize;
use serde_json::json;

use testkit::{Answer, Client};

use crate::stats::{Dist, ms};

const UPDATE: &str =
    "mutation($id: ID!, $t: String!) { updateTicket(id: $id, input: {title: $t}) { version } }";
const READ: &str = "query($id: ID!) { ticket(id: $id) { id title price status version } }";

/// Readers polling the other replica, each on its own connection.
const READERS: usize = 8;

#[derive(Clone, Debug, Default, Serialize)]
pub struct FreshResult {
    pub changes: usize,
    /// Reads on the writer's replica right after its write was answered that still showed the
    /// old version (must be 0: a writer reads its own write at once).
    pub stale_own_reads: usize,
    /// Write answered → the other replica's first answer with the new version.
    pub other_replica: Dist,
    /// Changes the other replica had not shown after 5 s.
    pub never_seen: usize,
    /// Reads of the other replica during the run, and how many were answered from its cache
    /// (the server's `tickets_response_cache_total`), so the reads measured are cached ones.
    pub other_reads: usize,
    pub other_cache_hits: f64,
    pub other_cache_misses: f64,
}

pub struct FreshRun {
    pub result: FreshResult,
    pub ms: Vec<f64>,
}

fn version_of(a: &Answer) -> Option<i64> {
    match a {
        Answer::Data(d) => d["ticket"]["version"].as_i64(),
        _ => None,
    }
}

/// `changes` edits of `ticket` by `token` (its seller) on `writer`, each once `other`'s readers
/// have seen the last one (or 5 s passed), with a pause of `gap` between them.
pub async fn run(
    writer: &Client,
    other: &Client,
    token: &str,
    ticket: &str,
    changes: usize,
    gap: Duration,
) -> FreshRun {
    let (hits0, misses0) = cache_counts(other).await;
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let (seen_tx, seen_rx) = tokio::sync::watch::channel((0i64, Instant::now()));
    let reads = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let mut readers = Vec::new();
    for _ in 0..READERS {
        let (stop, seen_tx, reads) = (stop.clone(), seen_tx.clone(), reads.clone());
        let api = Client::new(other.addr);
        let ticket = ticket.to_owned();
        readers.push(tokio::spawn(async move {
            while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                let a = api.gql(READ, json!({ "id": ticket }), None).await;
                let at = Instant::now();
                reads.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                if let Some(v) = a.ok().as_ref().and_then(version_of) {
                    seen_tx.send_if_modified(|(seen, when)| {
                        if v > *seen {
                            (*seen, *when) = (v, at);
                            true
                        } else {
                            false
                        }
                    });
                }
            }
        }));
    }
    let mut result = FreshResult {
        changes,
        ..FreshResult::default()
    };
    let mut lags = Vec::new();
    for k in 0..changes {
        tokio::time::sleep(gap).await;
        let Ok(Answer::Data(d)) = writer
            .gql(
                UPDATE,
                json!({ "id": ticket, "t": format!("Fresh {k}") }),
                Some(token),
            )
            .await
        else {
            continue;
        };
        let written = Instant::now();
        let Some(version) = d["updateTicket"]["version"].as_i64() else {
            continue;
        };
        let own = writer.gql(READ, json!({ "id": ticket }), None).await;
        if own.ok().as_ref().and_then(version_of) != Some(version) {
            result.stale_own_reads += 1;
        }
        let mut rx = seen_rx.clone();
        let seen = tokio::time::timeout(
            Duration::from_secs(5),
            rx.wait_for(|(seen, _)| *seen >= version),
        )
        .await;
        match seen {
            Ok(Ok(state)) => lags.push(ms(state.1.saturating_duration_since(written))),
            _ => result.never_seen += 1,
        }
    }
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    for r in readers {
        let _ = r.await;
    }
    let (hits1, misses1) = cache_counts(other).await;
    result.other_reads = reads.load(std::sync::atomic::Ordering::Relaxed);
    result.other_cache_hits = hits1 - hits0;
    result.other_cache_misses = misses1 - misses0;
    result.other_replica = Dist::of(&mut lags.clone());
    FreshRun { result, ms: lags }
}

/// The server's response-cache counters (hits, misses) from its metrics endpoint.
pub async fn cache_counts(metrics: &Client) -> (f64, f64) {
    let Ok(text) = metrics.metrics().await else {
        return (0.0, 0.0);
    };
    let count = |outcome: &str| {
        text.lines()
            .filter(|l| {
                l.starts_with("tickets_response_cache_total")
                    && l.contains(&format!("outcome=\"{outcome}\""))
            })
            .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
            .sum::<f64>()
    };
    (count("hit"), count("miss"))
}
