//! Model-based testing: random sequences of operations by several users (list, edit, reserve,
//! cancel, pay, decline, expire, restart), each checked against a small model of API.md's rules,
//! and the whole visible state compared with the model after every step.
//!
//! A seeded random walk (the seed is printed on failure; `MODEL_SEED=<n>` replays one run,
//! `MODEL_RUNS` and `MODEL_STEPS` make runs longer). Without shrinking, a failure names its step
//! and the sequence that led there.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use rand::{Rng, SeedableRng, rngs::StdRng, seq::IndexedRandom};
use serde_json::{Value, json};

use crate::{market::*, support::*};

const MAX_LIVE: usize = 3;
/// How late an expiry may be announced, and how close to its deadline an order's fate is unknown.
const SLACK: chrono::Duration = chrono::Duration::milliseconds(1500);

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum TicketState {
    Available,
    Reserved,
    Sold,
}

#[derive(Clone, Debug)]
struct TicketModel {
    seller: usize,
    price_cents: i64,
    version: i64,
    state: TicketState,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum OrderState {
    Created,
    Cancelled,
    Complete,
}

#[derive(Clone, Debug)]
struct OrderModel {
    buyer: usize,
    ticket: String,
    state: OrderState,
    expires_at: DateTime<Utc>,
}

#[derive(Default)]
struct Model {
    tickets: BTreeMap<String, TicketModel>,
    orders: BTreeMap<String, OrderModel>,
}

impl Model {
    fn live_orders_of(&self, buyer: usize) -> usize {
        self.orders
            .values()
            .filter(|o| o.buyer == buyer && o.state == OrderState::Created)
            .count()
    }

    fn end_order(&mut self, id: &str, to: OrderState) {
        let order = self.orders.get_mut(id).unwrap();
        order.state = to;
        let ticket = self.tickets.get_mut(&order.ticket).unwrap();
        ticket.version += 1;
        ticket.state = if to == OrderState::Complete {
            TicketState::Sold
        } else {
            TicketState::Available
        };
    }
}

fn price(cents: i64) -> String {
    format!("{}.{:02}", cents / 100, cents % 100)
}

fn code(body: &Value) -> &str {
    error_code(body).unwrap_or("OK")
}

/// One random run of `steps` operations; panics with the seed and the history on a mismatch.
async fn run(seed: u64, steps: usize) {
    let mut rng = StdRng::seed_from_u64(seed);
    let env = TestEnv::new().await;
    let vars = [("ORDER_TTL_SECONDS", "4"), ("MAX_LIVE_ORDERS", "3")];
    let mut app = env.spawn_with(&vars).await;
    let mut users = Vec::new();
    for _ in 0..4 {
        users.push(app.sign_up(&unique_email()).await);
    }
    let mut model = Model::default();
    let mut history: Vec<String> = Vec::new();

    for step in 0..steps {
        settle_expiries(&mut model, &mut history).await;
        let roll = rng.random_range(0..100);
        let (what, expected, got): (String, String, String) = match roll {
            // List a ticket.
            0..=14 => {
                let seller = rng.random_range(0..users.len());
                let cents = rng.random_range(1..100_000);
                let t = create_ticket(&app, &users[seller].token, "Seat", &price(cents)).await;
                let id = t["id"].as_str().unwrap_or_default().to_owned();
                model.tickets.insert(
                    id.clone(),
                    TicketModel {
                        seller,
                        price_cents: cents,
                        version: 1,
                        state: TicketState::Available,
                    },
                );
                (
                    format!("user {seller} lists {id} at {}", price(cents)),
                    "OK".into(),
                    if t["id"].is_string() { "OK" } else { "ERR" }.into(),
                )
            }
            // Edit a ticket, as its seller or not, with the right, a stale or no version.
            15..=29 if !model.tickets.is_empty() => {
                let id = pick(&mut rng, model.tickets.keys());
                let user = rng.random_range(0..users.len());
                let cents = rng.random_range(1..100_000);
                let t = model.tickets[&id].clone();
                let version = match rng.random_range(0..3) {
                    0 => None,
                    1 => Some(t.version),
                    _ => Some(t.version - 1),
                };
                let mut input = json!({ "price": price(cents) });
                if let Some(v) = version {
                    input["expectedVersion"] = json!(v);
                }
                let body = update_ticket(&app, &users[user].token, &json!(id), input).await;
                let expected = if user != t.seller {
                    "FORBIDDEN"
                } else if t.state != TicketState::Available
                    || version.is_some_and(|v| v != t.version)
                {
                    "CONFLICT"
                } else {
                    let m = model.tickets.get_mut(&id).unwrap();
                    m.price_cents = cents;
                    m.version += 1;
                    "OK"
                };
                (
                    format!(
                        "user {user} edits {id} to {} (version {version:?})",
                        price(cents)
                    ),
                    expected.into(),
                    code(&body).into(),
                )
            }
            // Reserve a ticket.
            30..=54 if !model.tickets.is_empty() => {
                let id = pick(&mut rng, model.tickets.keys());
                let buyer = rng.random_range(0..users.len());
                let t = model.tickets[&id].clone();
                let body = create_order(&app, &users[buyer].token, &json!(id)).await;
                let expected = if t.seller == buyer {
                    "FORBIDDEN"
                } else if t.state != TicketState::Available
                    || model.live_orders_of(buyer) >= MAX_LIVE
                {
                    "CONFLICT"
                } else if let Some(order_id) = body["data"]["createOrder"]["id"].as_str() {
                    let expires_at = body["data"]["createOrder"]["expiresAt"]
                        .as_str()
                        .and_then(|s| DateTime::parse_from_rfc3339(s).ok())
                        .map(|d| d.with_timezone(&Utc))
                        .unwrap();
                    let price_seen = &body["data"]["createOrder"]["price"];
                    assert_eq!(
                        price_seen,
                        &json!(price(t.price_cents)),
                        "seed {seed}: the order's price is the ticket's"
                    );
                    model.orders.insert(
                        order_id.to_owned(),
                        OrderModel {
                            buyer,
                            ticket: id.clone(),
                            state: OrderState::Created,
                            expires_at,
                        },
                    );
                    let m = model.tickets.get_mut(&id).unwrap();
                    m.state = TicketState::Reserved;
                    m.version += 1;
                    "OK"
                } else {
                    "OK"
                };
                (
                    format!("user {buyer} orders {id}"),
                    expected.into(),
                    code(&body).into(),
                )
            }
            // Cancel an order, as its buyer or not.
            55..=64 if !model.orders.is_empty() => {
                let id = pick(&mut rng, model.orders.keys());
                let o = model.orders[&id].clone();
                let user = if rng.random_bool(0.8) {
                    o.buyer
                } else {
                    rng.random_range(0..users.len())
                };
                let body = cancel_order(&app, &users[user].token, &json!(id)).await;
                let expected = if user != o.buyer {
                    "NOT_FOUND"
                } else if o.state != OrderState::Created {
                    "CONFLICT"
                } else {
                    model.end_order(&id, OrderState::Cancelled);
                    "OK"
                };
                (
                    format!("user {user} cancels {id}"),
                    expected.into(),
                    code(&body).into(),
                )
            }
            // Pay, or be declined.
            65..=84 if !model.orders.is_empty() => {
                let id = pick(&mut rng, model.orders.keys());
                let o = model.orders[&id].clone();
                let user = if rng.random_bool(0.85) {
                    o.buyer
                } else {
                    rng.random_range(0..users.len())
                };
                let card = if rng.random_bool(0.6) {
                    "tok_visa"
                } else {
                    "tok_chargeDeclined"
                };
                let body = app
                    .gql(
                        "mutation($o: ID!, $t: String!) { payOrder(orderId: $o, token: $t) { id } }",
                        json!({ "o": id, "t": card }),
                        Some(&users[user].token),
                    )
                    .await;
                let expected = match o.state {
                    _ if user != o.buyer => "NOT_FOUND",
                    OrderState::Cancelled => "CONFLICT",
                    // Paying a paid order returns its charge, whatever the card.
                    OrderState::Complete => "OK",
                    OrderState::Created if card == "tok_visa" => {
                        model.end_order(&id, OrderState::Complete);
                        "OK"
                    }
                    OrderState::Created => "PAYMENT_FAILED",
                };
                (
                    format!("user {user} pays {id} with {card}"),
                    expected.into(),
                    code(&body).into(),
                )
            }
            // Restart the server.
            85..=89 => {
                app.stop().await;
                app = env.spawn_with(&vars).await;
                ("restart".into(), "OK".into(), "OK".into())
            }
            // Let time pass until the next deadline.
            90..=94 => {
                let next = model
                    .orders
                    .values()
                    .filter(|o| o.state == OrderState::Created)
                    .map(|o| o.expires_at)
                    .min();
                if let Some(next) = next {
                    let wait = (next - Utc::now() + SLACK).to_std().unwrap_or_default();
                    tokio::time::sleep(wait).await;
                }
                (
                    "wait for the next deadline".into(),
                    "OK".into(),
                    "OK".into(),
                )
            }
            // A list the model can check: the listing is below.
            _ => ("list".into(), "OK".into(), "OK".into()),
        };
        history.push(format!("{step}: {what} → {got}"));
        assert_eq!(
            got,
            expected,
            "seed {seed}, step {step}: {what}\n{}",
            history.join("\n")
        );
        settle_expiries(&mut model, &mut history).await;
        check_state(&app, &users, &model, seed, step, &history).await;
    }
    app.stop().await;
}

fn pick<'a>(rng: &mut StdRng, keys: impl Iterator<Item = &'a String>) -> String {
    let keys: Vec<&String> = keys.collect();
    (*keys.choose(rng).unwrap()).clone()
}

/// Applies the expiries that are certain by now, waiting out those too close to call, so that the
/// model never guesses whether an order near its deadline is still live.
async fn settle_expiries(model: &mut Model, history: &mut Vec<String>) {
    loop {
        let now = Utc::now();
        let uncertain = model.orders.values().any(|o| {
            o.state == OrderState::Created
                && o.expires_at > now - SLACK
                && o.expires_at < now + SLACK
        });
        if uncertain {
            tokio::time::sleep(SLACK.to_std().unwrap()).await;
            continue;
        }
        let due: Vec<String> = model
            .orders
            .iter()
            .filter(|(_, o)| o.state == OrderState::Created && o.expires_at <= now - SLACK)
            .map(|(id, _)| id.clone())
            .collect();
        for id in due {
            history.push(format!("   {id} expires"));
            model.end_order(&id, OrderState::Cancelled);
        }
        return;
    }
}

/// Every ticket and every user's orders, as the API shows them, against the model.
async fn check_state(
    app: &TestApp,
    users: &[Session],
    model: &Model,
    seed: u64,
    step: usize,
    history: &[String],
) {
    let context = || format!("seed {seed}, after step {step}\n{}", history.join("\n"));
    let body = app
        .gql(
            "{ tickets(first: 100) { edges { node { id price version status } } } }",
            json!({}),
            None,
        )
        .await;
    let shown: BTreeMap<String, (String, i64, String)> = body["data"]["tickets"]["edges"]
        .as_array()
        .unwrap_or_else(|| panic!("{body}"))
        .iter()
        .map(|e| {
            let n = &e["node"];
            (
                n["id"].as_str().unwrap().to_owned(),
                (
                    n["price"].as_str().unwrap().to_owned(),
                    n["version"].as_i64().unwrap(),
                    n["status"].as_str().unwrap().to_owned(),
                ),
            )
        })
        .collect();
    let expected: BTreeMap<String, (String, i64, String)> = model
        .tickets
        .iter()
        .map(|(id, t)| {
            let status = match t.state {
                TicketState::Available => "AVAILABLE",
                TicketState::Reserved => "RESERVED",
                TicketState::Sold => "SOLD",
            };
            (
                id.clone(),
                (price(t.price_cents), t.version, status.to_owned()),
            )
        })
        .collect();
    assert_eq!(shown, expected, "tickets: {}", context());

    for (u, user) in users.iter().enumerate() {
        let body = app
            .gql(
                "{ orders(first: 100) { edges { node { id status } } } }",
                json!({}),
                Some(&user.token),
            )
            .await;
        let shown: BTreeMap<String, String> = body["data"]["orders"]["edges"]
            .as_array()
            .unwrap_or_else(|| panic!("{body}"))
            .iter()
            .map(|e| {
                (
                    e["node"]["id"].as_str().unwrap().to_owned(),
                    e["node"]["status"].as_str().unwrap().to_owned(),
                )
            })
            .collect();
        let expected: BTreeMap<String, String> = model
            .orders
            .iter()
            .filter(|(_, o)| o.buyer == u)
            .map(|(id, o)| {
                let status = match o.state {
                    OrderState::Created => "CREATED",
                    OrderState::Cancelled => "CANCELLED",
                    OrderState::Complete => "COMPLETE",
                };
                (id.clone(), status.to_owned())
            })
            .collect();
        assert_eq!(shown, expected, "user {u}'s orders: {}", context());
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn random_operation_sequences_follow_the_model() {
    let runs: u64 = std::env::var("MODEL_RUNS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(2);
    let steps: usize = std::env::var("MODEL_STEPS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(60);
    let seeds: Vec<u64> = match std::env::var("MODEL_SEED") {
        Ok(seed) => vec![seed.parse().expect("MODEL_SEED is a number")],
        Err(_) => (0..runs).map(|_| rand::rng().random()).collect(),
    };
    for seed in seeds {
        eprintln!("model run: MODEL_SEED={seed}");
        run(seed, steps).await;
    }
}
