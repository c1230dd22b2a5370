//! Fan-out: many WebSocket subscribers of one ticket's `ticketUpdated`; one update reaches them all.

use std::{
    sync::Arc,
    time::{Duration, Instant},
};

use futures_util::{SinkExt, StreamExt};
use serde::Serialize;
use serde_json::json;
use tokio::sync::{mpsc, watch};
use tokio_tungstenite::tungstenite::Message;

use testkit::{Client, WsClient, WsStream};

use crate::stats::{Dist, ms};

const SUBSCRIBE: &str =
    "subscription($id: ID!) { ticketUpdated(id: $id) { id version status title } }";
const UPDATE: &str =
    "mutation($id: ID!, $t: String!) { updateTicket(id: $id, input: {title: $t}) { id version } }";

#[derive(Clone, Debug, Default, Serialize)]
pub struct FanoutResult {
    pub subscribers: usize,
    pub opened: usize,
    pub open_failures: usize,
    pub first_open_error: Option<String>,
    pub open_seconds: f64,
    pub rss_before_kib: u64,
    pub rss_after_kib: u64,
    /// (after - before) / opened.
    pub kib_per_subscriber: f64,
    /// How many `updateTicket`s were sent, one after another, each to every subscriber.
    pub updates: usize,
    /// The updateTicket requests' own latency, the slowest.
    pub mutation_ms: f64,
    /// Deliveries seen, over all updates (`opened × updates` when none is lost).
    pub received: usize,
    /// From sending the mutation to each subscriber's `next`, over all updates.
    pub delay: Dist,
    /// Each update's p99, in order.
    pub update_p99: Vec<f64>,
}

pub struct FanoutRun {
    pub result: FanoutResult,
    pub ms: Vec<f64>,
    /// The profiled second update: (whole-machine data, server data, deliveries seen).
    pub perf: Option<(std::path::PathBuf, std::path::PathBuf, usize)>,
}

#[allow(clippy::too_many_arguments)]
pub async fn run(
    api: &Client,
    server_pid: u32,
    seller: &str,
    tokens: &[String],
    ticket: &str,
    n: usize,
    updates: usize,
    wait: Duration,
    profile: Option<(&std::path::Path, &std::path::Path)>,
) -> anyhow::Result<FanoutRun> {
    let mut r = FanoutResult {
        subscribers: n,
        ..Default::default()
    };
    tokio::time::sleep(Duration::from_secs(1)).await;
    r.rss_before_kib = testkit::rss_kib(server_pid)?;

    let (close_tx, close_rx) = watch::channel(false);
    let (got_tx, mut got_rx) = mpsc::unbounded_channel::<Instant>();
    let opened_at = Instant::now();
    // Open in waves of 250 connections at a time.
    let sem = Arc::new(tokio::sync::Semaphore::new(250));
    let mut openers = Vec::with_capacity(n);
    for i in 0..n {
        let token = tokens[i % tokens.len()].clone();
        let (addr, ticket) = (api.addr, ticket.to_owned());
        let (sem, close_rx, got_tx) = (sem.clone(), close_rx.clone(), got_tx.clone());
        openers.push(tokio::spawn(async move {
            let permit = sem.acquire_owned().await;
            let mut ws =
                WsClient::connect_with_token(&addr, &token, Duration::from_secs(30)).await?;
            ws.try_subscribe("t", SUBSCRIBE, json!({ "id": ticket }))
                .await?;
            drop(permit);
            tokio::spawn(listen(ws.into_stream(), close_rx, got_tx));
            anyhow::Ok(())
        }));
    }
    drop(got_tx);
    for o in openers {
        match o.await {
            Ok(Ok(())) => r.opened += 1,
            Ok(Err(e)) => {
                r.open_failures += 1;
                r.first_open_error.get_or_insert_with(|| format!("{e:#}"));
            }
            Err(e) => {
                r.open_failures += 1;
                r.first_open_error.get_or_insert_with(|| e.to_string());
            }
        }
    }
    r.open_seconds = opened_at.elapsed().as_secs_f64();
    // Let the server settle (subscriptions started, buffers as they stay while idle).
    tokio::time::sleep(Duration::from_secs(3)).await;
    r.rss_after_kib = testkit::rss_kib(server_pid)?;
    r.kib_per_subscriber =
        (r.rss_after_kib as f64 - r.rss_before_kib as f64) / r.opened.max(1) as f64;

    // Several updates, a second apart, so one scheduling hiccup does not make the figure.
    let mut delays = Vec::with_capacity(n * updates);
    for u in 0..updates {
        let sent = Instant::now();
        let update = api
            .data(
                UPDATE,
                json!({ "id": ticket, "t": format!("Bench ticket, update {u}") }),
                Some(seller),
            )
            .await;
        r.mutation_ms = r.mutation_ms.max(ms(sent.elapsed()));
        update?;
        let mut these = Vec::with_capacity(n);
        let deadline = tokio::time::Instant::now() + wait;
        while these.len() < r.opened {
            match tokio::time::timeout_at(deadline, got_rx.recv()).await {
                Ok(Some(at)) => these.push(ms(at.saturating_duration_since(sent))),
                _ => break,
            }
        }
        delays.extend_from_slice(&these);
        r.update_p99.push(Dist::of(&mut these).p99);
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
    r.updates = updates;
    r.received = delays.len();
    r.delay = Dist::of(&mut delays);
    // A second update under the profiler (not measured above): the server alone with call
    // graphs, and the whole machine by process.
    let mut perf = None;
    if let Some((data, sys)) = profile {
        let rec = crate::profile::record_pid(server_pid, data).await?;
        let sysrec = crate::profile::record_system(sys).await?;
        api.data(
            UPDATE,
            json!({ "id": ticket, "t": "Bench ticket, profiled update" }),
            Some(seller),
        )
        .await?;
        let deadline = tokio::time::Instant::now() + wait;
        let mut got = 0;
        while got < r.opened {
            match tokio::time::timeout_at(deadline, got_rx.recv()).await {
                Ok(Some(_)) => got += 1,
                _ => break,
            }
        }
        perf = Some((sysrec.stop().await?, rec.stop().await?, got));
    }
    let _ = close_tx.send(true);
    tokio::time::sleep(Duration::from_secs(1)).await;
    Ok(FanoutRun {
        result: r,
        ms: delays,
        perf,
    })
}

async fn listen(
    mut ws: WsStream,
    mut close: watch::Receiver<bool>,
    got: mpsc::UnboundedSender<Instant>,
) {
    // One `changed()` future for the whole loop: making a new one per message re-registers the
    // task with the watch's waiter list, 10,000 tasks contending on its lock.
    let closed = close.changed();
    tokio::pin!(closed);
    loop {
        tokio::select! {
            _ = &mut closed => {
                let _ = ws.close(None).await;
                return;
            }
            msg = ws.next() => {
                let at = Instant::now();
                let Some(Ok(msg)) = msg else { return };
                let Message::Text(text) = msg else { continue };
                // The type is all this needs, and parsing 10,000 messages on the same two cores
                // as the server would be part of what is measured: a substring does.
                if text.contains(r#""type":"next""#) {
                    let _ = got.send(at);
                } else if text.contains(r#""type":"ping""#) {
                    let _ = ws.send(Message::Text(r#"{"type":"pong"}"#.into())).await;
                }
            }
        }
    }
}
