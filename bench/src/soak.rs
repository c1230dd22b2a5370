//! Soak: minutes of mixed load against one server, watching that its memory and open
//! descriptors stay flat and that nothing fails that should not (`bench soak`, `scripts/soak`).
//!
//! Load, all at once: 4 sellers listing and editing, 12 buyers browsing, reserving, paying (some
//! cards declined), cancelling, and letting orders expire (the server runs with a 10 s TTL, so
//! expiries never stop); and 4 subscribers connecting, listening a while and leaving. Every 10 s
//! the server's RSS and open file descriptors are sampled from /proc. It fails when an answer is
//! a 5xx, an `INTERNAL_SERVER_ERROR` or a transport error, a subscription errs or its socket is
//! closed by the server, or when RSS or descriptors at the end exceed those after the warm-up by
//! more than the allowance.

use std::{
    sync::{
        Arc,
        atomic::{AtomicBool, AtomicU64, Ordering},
    },
    time::{Duration, Instant},
};

use rand::{Rng, seq::IndexedRandom};
use serde_json::{Value, json};
use testkit::{Client, Server, WsClient};

use crate::setup;

/// `ORDER_TTL_SECONDS` of the soaked server: short, so orders expire all the time.
pub const ORDER_TTL_SECONDS: u64 = 10;
/// `MAX_LIVE_ORDERS` of the soaked server.
pub const MAX_LIVE_ORDERS: u32 = 50;

/// RSS may grow this much between the warm-up and the end (allocator and caches warm up).
const RSS_ALLOWANCE: f64 = 1.10;
const RSS_SLACK_KIB: u64 = 4096;
/// Open descriptors may differ by this many (sockets come and go with the load).
const FD_SLACK: u64 = 64;

#[derive(Default)]
struct Tally {
    ok: AtomicU64,
    /// Answers the rules call for: CONFLICT, PAYMENT_FAILED, NOT_FOUND after an expiry…
    refused: AtomicU64,
    /// What must never happen: 5xx, INTERNAL_SERVER_ERROR, transport errors, hangs.
    failed: AtomicU64,
    pushes: AtomicU64,
}

/// A GraphQL client that counts every outcome in the run's tally.
#[derive(Clone)]
struct Load {
    api: Client,
    tally: Arc<Tally>,
}

impl Load {
    /// Sends one operation and counts its outcome; returns the body when it was answered.
    async fn gql(&self, query: &str, variables: Value, token: &str) -> Option<Value> {
        let response = match self.api.post(query, variables, Some(token)).await {
            Ok(r) if r.status().is_server_error() => {
                eprintln!("soak: {} for {query}", r.status());
                self.tally.failed.fetch_add(1, Ordering::Relaxed);
                return None;
            }
            Ok(r) => r,
            Err(err) => {
                eprintln!("soak: transport error: {err}");
                self.tally.failed.fetch_add(1, Ordering::Relaxed);
                return None;
            }
        };
        let body: Value = response.json().await.unwrap_or_default();
        match testkit::error_code(&body) {
            None if body["data"].is_object() => {
                self.tally.ok.fetch_add(1, Ordering::Relaxed);
            }
            Some("CONFLICT" | "PAYMENT_FAILED" | "NOT_FOUND" | "FORBIDDEN") => {
                self.tally.refused.fetch_add(1, Ordering::Relaxed);
            }
            _ => {
                eprintln!("soak: unexpected answer {body} for {query}");
                self.tally.failed.fetch_add(1, Ordering::Relaxed);
            }
        }
        Some(body)
    }
}

/// Runs the load against `server` for `seconds`, printing a line of samples every 10 s and a
/// verdict at the end; `Ok(false)` when the soak failed.
pub async fn run(server: &Server, seconds: u64) -> anyhow::Result<bool> {
    let http = reqwest::Client::builder()
        .timeout(Duration::from_secs(10))
        .build()?;
    let load = Load {
        api: Client::with_http(server.addr, http),
        tally: Arc::default(),
    };
    let mut buyers = setup::sign_up_many(&load.api, "soak", 16, 4).await?;
    let sellers: Vec<String> = buyers.drain(..4).collect();

    let stop = Arc::new(AtomicBool::new(false));
    let mut tasks = Vec::new();
    for token in &sellers {
        tasks.push(tokio::spawn(seller(
            load.clone(),
            token.clone(),
            stop.clone(),
        )));
    }
    for token in &buyers {
        tasks.push(tokio::spawn(buyer(
            load.clone(),
            token.clone(),
            stop.clone(),
        )));
    }
    for token in buyers.iter().take(4) {
        tasks.push(tokio::spawn(listener(
            load.clone(),
            token.clone(),
            stop.clone(),
        )));
    }

    println!(
        "soak: server pid {} at {}, {seconds} s of mixed load",
        server.pid, server.addr
    );
    let started = Instant::now();
    let mut samples: Vec<(u64, u64, u64)> = Vec::new(); // (second, RSS KiB, open fds)
    println!(
        "{:>6} {:>10} {:>6} {:>8} {:>8} {:>6} {:>7}",
        "s", "RSS KiB", "fds", "ok", "refused", "failed", "pushes"
    );
    let t = &load.tally;
    while started.elapsed() < Duration::from_secs(seconds) {
        tokio::time::sleep(Duration::from_secs(10)).await;
        let (rss, fds) = (
            server.rss_kib().unwrap_or(0),
            server.open_fds().unwrap_or(0),
        );
        let at = started.elapsed().as_secs();
        samples.push((at, rss, fds));
        println!(
            "{at:>6} {rss:>10} {fds:>6} {:>8} {:>8} {:>6} {:>7}",
            t.ok.load(Ordering::Relaxed),
            t.refused.load(Ordering::Relaxed),
            t.failed.load(Ordering::Relaxed),
            t.pushes.load(Ordering::Relaxed),
        );
    }
    stop.store(true, Ordering::SeqCst);
    for task in tasks {
        let _ = task.await;
    }

    let failed = t.failed.load(Ordering::Relaxed);
    let window = |from: u64, to: u64| -> (u64, u64) {
        let picked: Vec<_> = samples
            .iter()
            .filter(|(s, _, _)| *s > from && *s <= to)
            .collect();
        let n = picked.len().max(1) as u64;
        (
            picked.iter().map(|(_, r, _)| r).sum::<u64>() / n,
            picked.iter().map(|(_, _, f)| f).sum::<u64>() / n,
        )
    };
    // After a warm-up (a fifth of the run, at most a minute), against the end of the run.
    let warm = (seconds / 5).min(60);
    let (rss_early, fds_early) = window(warm, 2 * warm);
    let (rss_late, fds_late) = window(seconds.saturating_sub(warm), seconds);
    let rss_ok = (rss_late as f64) <= (rss_early as f64) * RSS_ALLOWANCE
        || rss_late <= rss_early + RSS_SLACK_KIB;
    let fds_ok = fds_late <= fds_early + FD_SLACK;
    println!(
        "soak: {} ok, {} refused by the rules, {failed} failed, {} pushes; RSS {rss_early} → \
         {rss_late} KiB (after warm-up → end) {}; open fds {fds_early} → {fds_late} {}",
        t.ok.load(Ordering::Relaxed),
        t.refused.load(Ordering::Relaxed),
        t.pushes.load(Ordering::Relaxed),
        if rss_ok { "flat" } else { "GROWING" },
        if fds_ok { "flat" } else { "GROWING" },
    );
    Ok(failed == 0 && rss_ok && fds_ok)
}

/// Lists a ticket every ~200 ms and edits one of its own now and then.
async fn seller(load: Load, token: String, stop: Arc<AtomicBool>) {
    let mut mine: Vec<String> = Vec::new();
    let mut n = 0u64;
    while !stop.load(Ordering::SeqCst) {
        n += 1;
        let cents: u32 = rand::rng().random_range(100..100_000);
        let price = format!("{}.{:02}", cents / 100, cents % 100);
        let body = load
            .gql(
                "mutation($i: CreateTicketInput!) { createTicket(input: $i) { id } }",
                json!({ "i": { "title": format!("Soak seat {n}"), "price": price } }),
                &token,
            )
            .await;
        if let Some(id) =
            body.and_then(|b| b["data"]["createTicket"]["id"].as_str().map(str::to_owned))
        {
            mine.push(id);
        }
        let pick = mine.choose(&mut rand::rng()).cloned();
        if let Some(id) = pick.filter(|_| n.is_multiple_of(3)) {
            load.gql(
                "mutation($id: ID!) { updateTicket(id: $id, input: {title: \"Edited\"}) { version } }",
                json!({ "id": id }),
                &token,
            )
            .await;
        }
        if mine.len() > 500 {
            mine.drain(..250);
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// Browses, reserves what is on sale, then pays (some cards declined), cancels, or walks away.
async fn buyer(load: Load, token: String, stop: Arc<AtomicBool>) {
    while !stop.load(Ordering::SeqCst) {
        let page = load
            .gql(
                "{ tickets(first: 20, status: AVAILABLE) { edges { node { id } } } }",
                json!({}),
                &token,
            )
            .await;
        let ids: Vec<String> = page
            .as_ref()
            .and_then(|p| p["data"]["tickets"]["edges"].as_array().cloned())
            .unwrap_or_default()
            .iter()
            .filter_map(|e| e["node"]["id"].as_str().map(str::to_owned))
            .collect();
        let Some(ticket) = ids.choose(&mut rand::rng()).cloned() else {
            tokio::time::sleep(Duration::from_millis(200)).await;
            continue;
        };
        load.gql(
            "query($id: ID!) { ticket(id: $id) { id status price } }",
            json!({ "id": ticket }),
            &token,
        )
        .await;
        let order = load
            .gql(
                "mutation($t: ID!) { createOrder(ticketId: $t) { id } }",
                json!({ "t": ticket }),
                &token,
            )
            .await
            .and_then(|b| b["data"]["createOrder"]["id"].as_str().map(str::to_owned));
        if let Some(order) = order {
            let roll: u8 = rand::rng().random_range(0..10);
            match roll {
                0..=3 => {
                    let card = if roll == 0 {
                        "tok_chargeDeclined"
                    } else {
                        "tok_visa"
                    };
                    load.gql(
                        "mutation($o: ID!, $c: String!) { payOrder(orderId: $o, token: $c) { id } }",
                        json!({ "o": order, "c": card }),
                        &token,
                    )
                    .await;
                }
                4..=6 => {
                    load.gql(
                        "mutation($o: ID!) { cancelOrder(id: $o) { status } }",
                        json!({ "o": order }),
                        &token,
                    )
                    .await;
                }
                // Let it expire.
                _ => {}
            }
        }
        load.gql(
            "{ orders(first: 20) { edges { node { id status } } } }",
            json!({}),
            &token,
        )
        .await;
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Connects, subscribes to everything it may see, listens 5–20 s, leaves; again and again.
async fn listener(load: Load, token: String, stop: Arc<AtomicBool>) {
    while !stop.load(Ordering::SeqCst) {
        let mut ws =
            match WsClient::connect_with_token(&load.api, &token, Duration::from_secs(10)).await {
                Ok(ws) => ws,
                Err(err) => {
                    eprintln!("soak: a WebSocket failed to connect: {err:#}");
                    load.tally.failed.fetch_add(1, Ordering::Relaxed);
                    tokio::time::sleep(Duration::from_secs(1)).await;
                    continue;
                }
            };
        for (id, query) in [
            ("t", "subscription { ticketUpdated { id status } }"),
            ("c", "subscription { ticketCreated { id } }"),
            ("o", "subscription { orderUpdated { id status } }"),
            ("x", "subscription { orderExpired { id } }"),
        ] {
            let _ = ws.try_subscribe(id, query, json!({})).await;
        }
        let stay = Duration::from_secs(rand::rng().random_range(5..20));
        let until = Instant::now() + stay;
        while Instant::now() < until && !stop.load(Ordering::SeqCst) {
            let Some(message) = ws.next_message(Duration::from_millis(500)).await else {
                continue;
            };
            match message["type"].as_str() {
                Some("next") => {
                    load.tally.pushes.fetch_add(1, Ordering::Relaxed);
                }
                Some("error") => {
                    eprintln!("soak: subscription error {message}");
                    load.tally.failed.fetch_add(1, Ordering::Relaxed);
                }
                Some("close") => {
                    eprintln!("soak: a WebSocket was closed by the server: {message}");
                    load.tally.failed.fetch_add(1, Ordering::Relaxed);
                    break;
                }
                _ => {}
            }
        }
        ws.close().await;
    }
}
