//! A soak: minutes of mixed load against a separately started release server on PostgreSQL +
//! Redis, watching that memory and open connections stay flat and that nothing fails that should
//! not.
//!
//! `scripts/soak` (10 minutes), or `scripts/soak 120` for two.
//!
//! Load, all at once: sellers listing and editing, buyers browsing, reserving, paying (some cards
//! declined), cancelling, and letting orders expire (a 10 s TTL, so expiries never stop); and
//! subscribers connecting, listening a while and leaving. Every 10 s the server's RSS and open
//! file descriptors are sampled from /proc. Fails (exit 1) when an answer is a 5xx, an
//! `INTERNAL_SERVER_ERROR` or a transport error, or when RSS or descriptors in the last minute
//! exceed those after the first minute by more than the allowance.

use std::{
    collections::HashMap,
    process::Stdio,
    sync::{
        Arc,
        atomic::{AtomicBool, AtomicU64, Ordering},
    },
    time::{Duration, Instant},
};

use futures_util::{SinkExt, StreamExt};
use rand::{Rng, seq::IndexedRandom};
use serde_json::{Value, json};
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio_tungstenite::tungstenite::{Message, client::IntoClientRequest};

/// RSS may grow this much between the first minute and the last (allocator and caches warm up).
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

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let seconds: u64 = std::env::args().nth(1).map_or(Ok(600), |a| a.parse())?;
    let bin = std::env::var("SOAK_API_BIN").unwrap_or_else(|_| {
        let target = std::env::var("CARGO_TARGET_DIR").unwrap_or_else(|_| "target".into());
        format!("{target}/release/api")
    });
    let pg = std::env::var("BENCH_POSTGRES_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432".into());
    let redis =
        std::env::var("BENCH_REDIS_URL").unwrap_or_else(|_| "redis://127.0.0.1:6379".into());
    let id = uuid::Uuid::new_v4().simple().to_string();
    let name = format!("soak_{id}");
    {
        use sea_orm::ConnectionTrait;
        let admin = sea_orm::Database::connect(format!("{pg}/postgres")).await?;
        admin
            .execute_unprepared(&format!("CREATE DATABASE \"{name}\""))
            .await?;
    }

    let mut child = tokio::process::Command::new(&bin)
        .env("HOST", "127.0.0.1")
        .env("PORT", "0")
        .env("DATABASE_URL", format!("{pg}/{name}"))
        .env("REDIS_URL", &redis)
        .env("REDIS_PREFIX", format!("soak:{id}:"))
        .env("JWT_SECRET", "soak-secret-0123456789abcdef0123456789")
        .env("PAYMENT_PROCESSOR", "test")
        .env("ORDER_TTL_SECONDS", "10")
        .env("MAX_LIVE_ORDERS", "50")
        .env("LOG_FORMAT", "json")
        .env("RUST_LOG", "warn,api::startup=info")
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .kill_on_drop(true)
        .spawn()?;
    let pid = child.id().expect("running");
    let mut lines = BufReader::new(child.stdout.take().expect("piped")).lines();
    let mut addr = None;
    while let Some(line) = lines.next_line().await? {
        let log: Value = serde_json::from_str(&line).unwrap_or_default();
        if log["fields"]["message"] == "listening" {
            addr = log["fields"]["addr"].as_str().map(str::to_owned);
            break;
        }
    }
    let addr = addr.ok_or_else(|| anyhow::anyhow!("the server did not start"))?;
    tokio::spawn(async move {
        while let Ok(Some(line)) = lines.next_line().await {
            if line.contains("\"ERROR\"") || line.contains("panicked") {
                eprintln!("server: {line}");
            }
        }
    });
    println!("soak: server pid {pid} at {addr}, {seconds} s of mixed load");

    let client = Client {
        http: reqwest::Client::builder()
            .timeout(Duration::from_secs(10))
            .build()?,
        url: format!("http://{addr}/graphql"),
        tally: Arc::new(Tally::default()),
    };
    let mut sellers = Vec::new();
    let mut buyers = Vec::new();
    for n in 0..16 {
        let token = client
            .sign_up(&format!("soak-{id}-{n}@example.com"))
            .await?;
        if n < 4 {
            sellers.push(token);
        } else {
            buyers.push(token);
        }
    }

    let stop = Arc::new(AtomicBool::new(false));
    let mut tasks = Vec::new();
    for token in sellers.clone() {
        tasks.push(tokio::spawn(seller(client.clone(), token, stop.clone())));
    }
    for token in buyers.clone() {
        tasks.push(tokio::spawn(buyer(client.clone(), token, stop.clone())));
    }
    for token in buyers.iter().take(4).cloned() {
        tasks.push(tokio::spawn(listener(
            client.clone(),
            format!("ws://{addr}/graphql/ws"),
            token,
            stop.clone(),
        )));
    }

    let started = Instant::now();
    let mut samples: Vec<(u64, u64, u64)> = Vec::new(); // (second, RSS KiB, open fds)
    println!(
        "{:>6} {:>10} {:>6} {:>8} {:>8} {:>6} {:>7}",
        "s", "RSS KiB", "fds", "ok", "refused", "failed", "pushes"
    );
    while started.elapsed() < Duration::from_secs(seconds) {
        tokio::time::sleep(Duration::from_secs(10)).await;
        let (rss, fds) = (rss_kib(pid), open_fds(pid));
        let t = &client.tally;
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
    let _ = child.kill().await;

    let t = &client.tally;
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
    if failed > 0 || !rss_ok || !fds_ok {
        std::process::exit(1);
    }
    Ok(())
}

#[derive(Clone)]
struct Client {
    http: reqwest::Client,
    url: String,
    tally: Arc<Tally>,
}

impl Client {
    /// Sends one operation and counts its outcome; returns the body when it was answered.
    async fn gql(&self, query: &str, variables: Value, token: &str) -> Option<Value> {
        let sent = self
            .http
            .post(&self.url)
            .bearer_auth(token)
            .json(&json!({ "query": query, "variables": variables }))
            .send()
            .await;
        let response = match sent {
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
        match body["errors"][0]["extensions"]["code"].as_str() {
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

    async fn sign_up(&self, email: &str) -> anyhow::Result<String> {
        let body = self
            .gql(
                "mutation($e: String!) { signUp(email: $e, password: \"soak password\") { token } }",
                json!({ "e": email }),
                "",
            )
            .await
            .ok_or_else(|| anyhow::anyhow!("sign-up failed"))?;
        body["data"]["signUp"]["token"]
            .as_str()
            .map(str::to_owned)
            .ok_or_else(|| anyhow::anyhow!("sign-up failed: {body}"))
    }
}

/// Lists a ticket every ~200 ms and edits one of its own now and then.
async fn seller(client: Client, token: String, stop: Arc<AtomicBool>) {
    let mut mine: Vec<String> = Vec::new();
    let mut n = 0u64;
    while !stop.load(Ordering::SeqCst) {
        n += 1;
        let cents: u32 = rand::rng().random_range(100..100_000);
        let price = format!("{}.{:02}", cents / 100, cents % 100);
        let body = client
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
            client
                .gql(
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
async fn buyer(client: Client, token: String, stop: Arc<AtomicBool>) {
    while !stop.load(Ordering::SeqCst) {
        let page = client
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
        client
            .gql(
                "query($id: ID!) { ticket(id: $id) { id status price } }",
                json!({ "id": ticket }),
                &token,
            )
            .await;
        let order = client
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
                    client
                        .gql(
                            "mutation($o: ID!, $c: String!) { payOrder(orderId: $o, token: $c) { id } }",
                            json!({ "o": order, "c": card }),
                            &token,
                        )
                        .await;
                }
                4..=6 => {
                    client
                        .gql(
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
        client
            .gql(
                "{ orders(first: 20) { edges { node { id status } } } }",
                json!({}),
                &token,
            )
            .await;
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Connects, subscribes to everything it may see, listens 5–20 s, leaves; again and again.
async fn listener(client: Client, ws_url: String, token: String, stop: Arc<AtomicBool>) {
    while !stop.load(Ordering::SeqCst) {
        let mut request = ws_url.clone().into_client_request().expect("a ws URL");
        request.headers_mut().insert(
            "Sec-WebSocket-Protocol",
            "graphql-transport-ws".parse().expect("a header value"),
        );
        let Ok((mut socket, _)) = tokio_tungstenite::connect_async(request).await else {
            eprintln!("soak: a WebSocket failed to connect");
            client.tally.failed.fetch_add(1, Ordering::Relaxed);
            tokio::time::sleep(Duration::from_secs(1)).await;
            continue;
        };
        let init = json!({ "type": "connection_init", "payload": { "authorization": format!("Bearer {token}") } });
        let _ = socket.send(Message::Text(init.to_string().into())).await;
        for (id, query) in [
            ("t", "subscription { ticketUpdated { id status } }"),
            ("c", "subscription { ticketCreated { id } }"),
            ("o", "subscription { orderUpdated { id status } }"),
            ("x", "subscription { orderExpired { id } }"),
        ] {
            let message = json!({ "id": id, "type": "subscribe", "payload": { "query": query } });
            let _ = socket.send(Message::Text(message.to_string().into())).await;
        }
        let stay = Duration::from_secs(rand::rng().random_range(5..20));
        let until = Instant::now() + stay;
        while Instant::now() < until && !stop.load(Ordering::SeqCst) {
            match tokio::time::timeout(Duration::from_millis(500), socket.next()).await {
                Ok(Some(Ok(Message::Text(text)))) => {
                    let message: Value = serde_json::from_str(&text).unwrap_or_default();
                    match message["type"].as_str() {
                        Some("next") => {
                            client.tally.pushes.fetch_add(1, Ordering::Relaxed);
                        }
                        Some("error") => {
                            eprintln!("soak: subscription error {message}");
                            client.tally.failed.fetch_add(1, Ordering::Relaxed);
                        }
                        _ => {}
                    }
                }
                Ok(Some(Ok(_))) | Err(_) => {}
                Ok(None) | Ok(Some(Err(_))) => {
                    eprintln!("soak: a WebSocket was closed by the server");
                    client.tally.failed.fetch_add(1, Ordering::Relaxed);
                    break;
                }
            }
        }
        let _ = socket.close(None).await;
    }
}

fn rss_kib(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    let fields: HashMap<&str, &str> = status.lines().filter_map(|l| l.split_once(':')).collect();
    fields
        .get("VmRSS")
        .and_then(|v| v.split_whitespace().next())
        .and_then(|v| v.parse().ok())
        .unwrap_or(0)
}

fn open_fds(pid: u32) -> u64 {
    std::fs::read_dir(format!("/proc/{pid}/fd")).map_or(0, |d| d.count() as u64)
}
