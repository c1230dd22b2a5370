//! How late `orderExpired` arrives after `expires_at`, with N live orders, on PostgreSQL + Redis.
//!
//! `cargo run --release -p api --example expiry_lag -- 10000`
//!
//! Starts the real server in-process on a fresh database and a unique Redis prefix, lists N
//! tickets, has buyers order all of them (so N orders are live at once), subscribes each buyer
//! to `orderExpired` over WebSocket, and measures, for every order, the time from its `expiresAt`
//! to the push. Needs PostgreSQL and Redis (`scripts/services` starts them).

use std::{collections::HashMap, sync::Arc, time::Duration};

use chrono::{DateTime, Utc};
use futures_util::{SinkExt, StreamExt, stream};
use sea_orm::{ConnectionTrait, Database};
use serde_json::{Value, json};
use tokio::sync::Mutex;
use tokio_tungstenite::tungstenite::{Message, client::IntoClientRequest, http::HeaderValue};

/// MAX_LIVE_ORDERS allows at most 1,000 live orders a buyer.
const ORDERS_PER_BUYER: usize = 1000;
const CONCURRENCY: usize = 32;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let n: usize = std::env::args().nth(1).map_or(Ok(1000), |a| a.parse())?;
    let ttl = (n / 150).max(20);
    let buyers = n.div_ceil(ORDERS_PER_BUYER).max(8);
    let pg = std::env::var("BENCH_POSTGRES_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432".into());
    let redis =
        std::env::var("BENCH_REDIS_URL").unwrap_or_else(|_| "redis://127.0.0.1:6379".into());
    let id = uuid::Uuid::new_v4().simple().to_string();
    let name = format!("bench_{id}");
    let admin = Database::connect(format!("{pg}/postgres")).await?;
    admin
        .execute_unprepared(&format!("CREATE DATABASE \"{name}\""))
        .await?;

    let vars: HashMap<String, String> = [
        ("PORT", "0".to_owned()),
        ("DATABASE_URL", format!("{pg}/{name}")),
        ("REDIS_URL", redis),
        ("REDIS_PREFIX", format!("bench:{id}:")),
        (
            "JWT_SECRET",
            "bench-secret-0123456789abcdef0123456789".into(),
        ),
        ("PAYMENT_PROCESSOR", "test".into()),
        ("ORDER_TTL_SECONDS", ttl.to_string()),
        ("MAX_LIVE_ORDERS", ORDERS_PER_BUYER.to_string()),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v))
    .collect();
    let app = api::Application::build(api::Config::from_vars(&vars)?).await?;
    let addr = app.local_addr();
    let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(app.run_until(async {
        let _ = stop_rx.await;
    }));
    let url = format!("http://{addr}/graphql");
    let http = reqwest::Client::new();
    let gql = |query: &'static str, vars: Value, token: Option<String>| {
        let http = http.clone();
        let url = url.clone();
        async move {
            let mut req = http
                .post(&url)
                .json(&json!({ "query": query, "variables": vars }));
            if let Some(t) = token {
                req = req.bearer_auth(t);
            }
            req.send()
                .await?
                .json::<Value>()
                .await
                .map_err(anyhow::Error::from)
        }
    };
    let sign_up =
        "mutation($e: String!) { signUp(email: $e, password: \"bench password\") { token } }";
    let mut tokens = Vec::new();
    for i in 0..=buyers {
        let body = gql(
            sign_up,
            json!({ "e": format!("b{i}-{id}@example.com") }),
            None,
        )
        .await?;
        tokens.push(
            body["data"]["signUp"]["token"]
                .as_str()
                .unwrap_or_default()
                .to_owned(),
        );
    }
    let seller = tokens.remove(0);

    // Every buyer listens for its expiries before anything is ordered.
    let arrivals: Arc<Mutex<HashMap<String, DateTime<Utc>>>> = Arc::default();
    for token in &tokens {
        let mut req = format!("ws://{addr}/graphql/ws").into_client_request()?;
        req.headers_mut().insert(
            "Sec-WebSocket-Protocol",
            HeaderValue::from_static("graphql-transport-ws"),
        );
        let (mut ws, _) = tokio_tungstenite::connect_async(req).await?;
        let init = json!({ "type": "connection_init", "payload": { "authorization": format!("Bearer {token}") } });
        ws.send(Message::Text(init.to_string().into())).await?;
        let sub = json!({ "id": "x", "type": "subscribe", "payload": { "query": "subscription { orderExpired { id } }" } });
        ws.send(Message::Text(sub.to_string().into())).await?;
        let arrivals = arrivals.clone();
        tokio::spawn(async move {
            while let Some(msg) = ws.next().await {
                let text = match msg {
                    Ok(Message::Text(text)) => text,
                    Ok(Message::Close(frame)) => {
                        eprintln!("a subscriber's socket was closed: {frame:?}");
                        break;
                    }
                    Ok(_) => continue,
                    Err(err) => {
                        eprintln!("a subscriber's socket failed: {err}");
                        break;
                    }
                };
                let now = Utc::now();
                let v: Value = serde_json::from_str(&text).unwrap_or_default();
                if v["type"] == "ping" {
                    let pong = json!({ "type": "pong" }).to_string();
                    if ws.send(Message::Text(pong.into())).await.is_err() {
                        break;
                    }
                } else if let Some(id) = v["payload"]["data"]["orderExpired"]["id"].as_str() {
                    arrivals.lock().await.insert(id.to_owned(), now);
                }
            }
        });
    }
    tokio::time::sleep(Duration::from_millis(500)).await;

    let started = std::time::Instant::now();
    let create_ticket =
        "mutation { createTicket(input: {title: \"Bench\", price: \"10.00\"}) { id } }";
    let tickets: Vec<String> = stream::iter(0..n)
        .map(|_| gql(create_ticket, json!({}), Some(seller.clone())))
        .buffer_unordered(CONCURRENCY)
        .filter_map(|r| async move {
            r.ok()?["data"]["createTicket"]["id"]
                .as_str()
                .map(str::to_owned)
        })
        .collect()
        .await;
    let listed = started.elapsed();
    let create_order = "mutation($t: ID!) { createOrder(ticketId: $t) { id expiresAt } }";
    let deadlines: Vec<(String, DateTime<Utc>)> = stream::iter(tickets.iter().enumerate())
        .map(|(i, t)| {
            gql(
                create_order,
                json!({ "t": t }),
                Some(tokens[i % buyers].clone()),
            )
        })
        .buffer_unordered(CONCURRENCY)
        .filter_map(|r| async move {
            let body = r.ok()?;
            let o = &body["data"]["createOrder"];
            Some((
                o["id"].as_str()?.to_owned(),
                o["expiresAt"].as_str()?.parse().ok()?,
            ))
        })
        .collect()
        .await;
    let ordered = started.elapsed() - listed;
    let last = deadlines
        .iter()
        .map(|(_, d)| *d)
        .max()
        .unwrap_or_else(Utc::now);
    println!(
        "{} tickets listed in {:.1} s, {} orders live at once (made in {:.1} s), TTL {ttl} s",
        tickets.len(),
        listed.as_secs_f64(),
        deadlines.len(),
        ordered.as_secs_f64()
    );

    // Wait for every push, or 30 s past the last deadline.
    let give_up = last + chrono::Duration::seconds(30);
    while Utc::now() < give_up && arrivals.lock().await.len() < deadlines.len() {
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let arrivals = arrivals.lock().await;
    let mut lags: Vec<f64> = deadlines
        .iter()
        .filter_map(|(id, due)| {
            arrivals
                .get(id)
                .map(|at| (*at - *due).num_microseconds().unwrap_or(0) as f64 / 1000.0)
        })
        .collect();
    lags.sort_by(f64::total_cmp);
    let pct = |p: f64| {
        lags.get(((lags.len() as f64 - 1.0) * p).round() as usize)
            .copied()
            .unwrap_or(f64::NAN)
    };
    println!(
        "orderExpired after expiresAt, {} orders: median {:.0} ms, p99 {:.0} ms, worst {:.0} ms, lost {}",
        deadlines.len(),
        pct(0.5),
        pct(0.99),
        lags.last().copied().unwrap_or(f64::NAN),
        deadlines.len() - lags.len()
    );

    let _ = stop_tx.send(());
    let _ = server.await;
    admin
        .execute_unprepared(&format!("DROP DATABASE \"{name}\" WITH (FORCE)"))
        .await?;
    Ok(())
}
