//! The on-sale queue: many signed-in buyers join an event's waiting room before its `onSaleAt`
//! and watch their place (`queueUpdated`, one WebSocket each; those past the open-files limit poll
//! `queuePlace` instead); from `onSaleAt` the server admits them at `QUEUE_ADMIT_PER_SECOND`, and
//! each admitted buyer orders a random ticket it believes available (another on `CONFLICT`, a few
//! times) and pays it. Buyers not admitted yet try to order meanwhile: every one must be refused.
//!
//! The buyers are seeded straight into the database (accounts and sessions as sign-up writes them,
//! with one real argon2 hash shared), and their tokens are signed as the server signs them
//! (`api::auth::token`, with the deployment's `JWT_SECRET`): 20,000 sign-ups through the API would
//! take minutes of argon2.

use std::{
    sync::{
        Arc, Mutex,
        atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering},
    },
    time::Duration,
};

use anyhow::{Context as _, anyhow};
use chrono::{DateTime, Utc};
use futures_util::{SinkExt, StreamExt, stream};
use rand::Rng;
use sea_orm::{DatabaseConnection, EntityTrait, Set};
use serde::Serialize;
use serde_json::{Value, json};
use testkit::{Answer, Client, WsClient, WsStream};
use tokio::sync::{mpsc, watch};
use tokio_tungstenite::tungstenite::Message;
use uuid::Uuid;

use crate::stats::Dist;

const CREATE_EVENT: &str =
    "mutation($i: CreateEventInput!) { createEvent(input: $i) { id onSaleAt } }";
const CREATE_TICKET: &str = "mutation($i: CreateTicketInput!) { createTicket(input: $i) { id } }";
const JOIN: &str = "mutation($e: ID!) { joinQueue(eventId: $e) { status } }";
const PLACE: &str =
    "query($e: ID!) { queuePlace(eventId: $e) { status position etaSeconds admittedUntil } }";
const WATCH: &str = "subscription($e: ID!) { queueUpdated(eventId: $e) { status position etaSeconds admittedUntil } }";
const CREATE_ORDER: &str = "mutation($t: ID!) { createOrder(ticketId: $t) { id } }";
const PAY: &str = "mutation($o: ID!) { payOrder(orderId: $o, token: \"tok_visa\") { id } }";

/// Admitted buyers checking out at once (as many as the other benches' clients).
const CHECKOUT_CONNECTIONS: usize = 64;

/// How big one run is.
#[derive(Clone, Debug)]
pub struct Params {
    pub tickets: usize,
    /// `QUEUE_ADMIT_PER_SECOND`.
    pub rate: u64,
    /// `QUEUE_ADMISSION_SECONDS`.
    pub admission_s: u64,
    /// WebSockets this process may open (the rest of the buyers poll `queuePlace`).
    pub max_sockets: usize,
    /// Tries per admitted buyer (a `CONFLICT` moves on to another ticket).
    pub tries: usize,
}

#[derive(Clone, Debug, Default, Serialize)]
pub struct QueueResult {
    pub backend: String,
    pub replicas: usize,
    pub buyers: usize,
    pub tickets: usize,
    pub rate: u64,
    pub admission_seconds: u64,
    /// Set-up steps and their seconds.
    pub setup: Vec<(String, f64)>,
    /// `onSaleAt` − the event's creation, seconds.
    pub lead_s: f64,
    pub joined: usize,
    /// Joins answered after `onSaleAt` (they go to the back): 0 when the lead was long enough.
    pub joined_late: usize,
    pub join_errors: usize,
    pub sockets: usize,
    pub socket_failures: usize,
    pub first_socket_error: Option<String>,
    /// Buyers without a socket, who poll `queuePlace` (at half their `etaSeconds`, 0.5 to 5 s).
    pub pollers: usize,
    pub polls: u64,
    /// Server VmRSS, all replicas together, before the joins and with everyone joined and watching.
    pub rss_before_kib: u64,
    pub rss_after_kib: u64,
    pub kib_per_buyer: f64,
    /// Redis `used_memory` before and after the joins (the whole instance).
    pub redis_before_bytes: Option<u64>,
    pub redis_after_bytes: Option<u64>,
    pub redis_bytes_per_buyer: Option<f64>,
    /// Before `onSaleAt`: `createOrder` attempts and how many were `CONFLICT`.
    pub before_sale_attempts: usize,
    pub before_sale_conflicts: usize,
    /// Buyers seen `ADMITTED` (by a push or a poll).
    pub admitted: usize,
    /// Admissions by second since `onSaleAt` (from each admission step's time).
    pub admissions_per_second: Vec<usize>,
    /// Mean over the seconds before the last one that admitted anybody, and the busiest.
    pub rate_mean: f64,
    pub rate_max: usize,
    /// Seconds up to the last admission in which nobody was admitted.
    pub empty_seconds: usize,
    /// `queueUpdated`'s ADMITTED push arrival − the admission step's time.
    pub push_lag: Dist,
    /// The pollers' first ADMITTED answer − the step's time (bounded by their polling period).
    pub poll_lag: Dist,
    /// The first push with a position − `onSaleAt` (the draw), over the subscribers.
    pub draw_lag: Dist,
    pub pushes: u64,
    pub orders: usize,
    pub paid: usize,
    pub conflicts: usize,
    /// Admitted buyers who found no ticket left (or none in their tries).
    pub gave_up: usize,
    pub order_errors: usize,
    pub first_order_error: Option<String>,
    /// `createOrder` by a buyer waiting (position over 3 s of admissions at its last push) or
    /// expired; each is refused, and `FORBIDDEN`.
    pub unadmitted_attempts: usize,
    pub unadmitted_forbidden: usize,
    pub unadmitted_other_refusals: usize,
    /// Those other refusals by error code.
    pub unadmitted_other_codes: std::collections::BTreeMap<String, usize>,
    /// Successes among them whose buyer's admission ran while the request was out (a stale
    /// view: admitted before the answer, not expired before the request).
    pub unadmitted_admitted_meanwhile: usize,
    /// Successes of a buyer not admitted: must be 0.
    pub unadmitted_successes: usize,
    /// `onSaleAt` → the last ticket paid, seconds.
    pub sold_out_s: Option<f64>,
    /// Waiting buyers' EXPIRED push − the last ticket paid.
    pub expired_after_sell_out: Dist,
    /// Buyers still WAITING (never admitted nor expired) when the run ended.
    pub left_waiting: usize,
    /// From the database after the run.
    pub db_sold: i64,
    pub db_tickets_with_several_orders: i64,
    pub notes: Vec<String>,
}

pub struct QueueRun {
    pub result: QueueResult,
    pub push_lag_ms: Vec<f64>,
}

/// When the server admitted a buyer, by its `queuePlace` (`admittedUntil` less the admission's
/// length); `None` if it never did.
async fn admitted_step(
    api: &Client,
    token: &str,
    event: &str,
    shared: &Shared,
) -> Option<DateTime<Utc>> {
    let answer = api
        .gql(PLACE, json!({ "e": event }), Some(token))
        .await
        .ok()?;
    let Answer::Data(d) = answer else {
        return None;
    };
    d["queuePlace"]["admittedUntil"]
        .as_str()
        .and_then(|s| s.parse::<DateTime<Utc>>().ok())
        .map(|until| until - shared.admission)
}

/// A `createOrder` by a buyer not admitted: who, when it was sent and answered, the answer.
type Attempt = (usize, DateTime<Utc>, DateTime<Utc>, Answer);

const WAITING: u8 = 1;
const ADMITTED: u8 = 2;
const EXPIRED: u8 = 3;

#[derive(Default)]
struct Log {
    status: u8,
    position: Option<u64>,
    positioned_at: Option<DateTime<Utc>>,
    admitted_step: Option<DateTime<Utc>>,
    admitted_seen: Option<DateTime<Utc>>,
    expired_at: Option<DateTime<Utc>>,
}

struct Shared {
    logs: Vec<Mutex<Log>>,
    admission: chrono::Duration,
    admitted_tx: mpsc::UnboundedSender<usize>,
    pushes: AtomicU64,
    polls: AtomicU64,
    /// Polls in flight at once (`POLL_CONNECTIONS`), so the pollers' connections stay within the
    /// open-files limit beside the sockets.
    polling: tokio::sync::Semaphore,
}

/// The pollers' connections at most.
const POLL_CONNECTIONS: usize = 256;

impl Shared {
    /// Takes one `QueuePlace` in, seen at `at`.
    fn record(&self, i: usize, place: &Value, at: DateTime<Utc>) {
        let status = match place["status"].as_str() {
            Some("WAITING") => WAITING,
            Some("ADMITTED") => ADMITTED,
            Some("EXPIRED") => EXPIRED,
            _ => return,
        };
        let mut log = self.logs[i].lock().expect("log");
        log.position = place["position"].as_u64();
        if log.position.is_some() && log.positioned_at.is_none() {
            log.positioned_at = Some(at);
        }
        if status == ADMITTED && log.admitted_seen.is_none() {
            log.admitted_seen = Some(at);
            log.admitted_step = place["admittedUntil"]
                .as_str()
                .and_then(|s| s.parse::<DateTime<Utc>>().ok())
                .map(|until| until - self.admission);
            let _ = self.admitted_tx.send(i);
        }
        if status == EXPIRED && log.expired_at.is_none() {
            log.expired_at = Some(at);
        }
        if log.status != ADMITTED || status == EXPIRED {
            log.status = status;
        }
    }
}

/// The tickets the buyers believe available: a random one is tried, and dropped once it is
/// taken (by this buyer or, on `CONFLICT`, another).
struct Pool {
    ids: Vec<String>,
    taken: Vec<AtomicBool>,
    left: AtomicUsize,
}

impl Pool {
    fn pick(&self) -> Option<usize> {
        if self.left.load(Ordering::Relaxed) == 0 {
            return None;
        }
        let mut rng = rand::rng();
        for _ in 0..64 {
            let i = rng.random_range(0..self.ids.len());
            if !self.taken[i].load(Ordering::Relaxed) {
                return Some(i);
            }
        }
        let start = rng.random_range(0..self.ids.len());
        (0..self.ids.len())
            .map(|k| (start + k) % self.ids.len())
            .find(|&i| !self.taken[i].load(Ordering::Relaxed))
    }
    fn take(&self, i: usize) {
        if !self.taken[i].swap(true, Ordering::Relaxed) {
            self.left.fetch_sub(1, Ordering::Relaxed);
        }
    }
}

#[derive(Default)]
struct Sale {
    orders: AtomicUsize,
    paid: AtomicUsize,
    conflicts: AtomicUsize,
    gave_up: AtomicUsize,
    errors: AtomicUsize,
    in_flight: AtomicUsize,
    first_error: Mutex<Option<String>>,
    last_paid: Mutex<Option<DateTime<Utc>>>,
}

impl Sale {
    fn error(&self, e: String) {
        self.errors.fetch_add(1, Ordering::Relaxed);
        self.first_error.lock().expect("error").get_or_insert(e);
    }
}

/// Seeds `n` buyers (accounts and live sessions, as sign-up writes them, all with
/// `password_hash`) and signs a token for each as the server does.
pub async fn seed_buyers(
    db: &DatabaseConnection,
    n: usize,
    password_hash: &str,
) -> anyhow::Result<Vec<String>> {
    let keys = api::auth::token::TokenKeys::new(testkit::JWT_SECRET);
    let now = api::db::now();
    let expires = now + chrono::Duration::days(1);
    let mut tokens = Vec::with_capacity(n);
    for chunk in (0..n).collect::<Vec<_>>().chunks(1000) {
        let mut users = Vec::with_capacity(chunk.len());
        let mut sessions = Vec::with_capacity(chunk.len());
        for &i in chunk {
            let (user, session) = (Uuid::now_v7(), Uuid::new_v4());
            users.push(entity::user::ActiveModel {
                id: Set(user),
                email: Set(format!("queue-{i}@bench.example.com")),
                password_hash: Set(password_hash.to_owned()),
                created_at: Set(now),
                updated_at: Set(now),
            });
            sessions.push(entity::session::ActiveModel {
                id: Set(session),
                user_id: Set(user),
                created_at: Set(now),
                expires_at: Set(expires),
                revoked_at: Set(None),
            });
            tokens.push(keys.issue(user, session, now, expires)?);
        }
        entity::user::Entity::insert_many(users).exec(db).await?;
        entity::session::Entity::insert_many(sessions)
            .exec(db)
            .await?;
    }
    Ok(tokens)
}

fn rss_sum(pids: &[u32]) -> u64 {
    pids.iter().map(|p| testkit::rss_kib(*p).unwrap_or(0)).sum()
}

async fn redis_used(url: Option<&str>) -> Option<u64> {
    let client = redis::Client::open(url?).ok()?;
    let mut c = client.get_multiplexed_async_connection().await.ok()?;
    let info: String = redis::cmd("INFO")
        .arg("memory")
        .query_async(&mut c)
        .await
        .ok()?;
    info.lines()
        .find_map(|l| l.strip_prefix("used_memory:"))
        .and_then(|v| v.trim().parse().ok())
}

/// One run: the event and its tickets made by `organizer` through the API, `tokens`' buyers
/// spread over `apis` (one per replica, `pids` their processes) joining and watching, the sale.
#[allow(clippy::too_many_arguments)]
pub async fn run(
    apis: &[Client],
    pids: &[u32],
    db: &DatabaseConnection,
    organizer: &str,
    tokens: &[String],
    p: &Params,
    redis_url: Option<&str>,
    label: &str,
) -> anyhow::Result<QueueRun> {
    let mut r = QueueResult {
        backend: label.to_owned(),
        replicas: apis.len(),
        buyers: tokens.len(),
        tickets: p.tickets,
        rate: p.rate,
        admission_seconds: p.admission_s,
        ..Default::default()
    };
    let n = tokens.len();
    let api_of = |i: usize| &apis[i % apis.len()];

    // onSaleAt leaves time for the tickets, the joins and the sockets (about 1 ms a ticket and
    // 1 ms a buyer on 2 cores, doubled), and the settling before the RSS.
    let lead = Duration::from_secs(12 + (p.tickets as u64 * 2 + n as u64 * 2) / 1000);
    let created = Utc::now();
    let on_sale = created + chrono::Duration::from_std(lead)?;
    let starts = created + chrono::Duration::days(30);
    let d = apis[0]
        .data(
            CREATE_EVENT,
            json!({ "i": { "name": "Queue night", "venue": "Hallenstadion", "city": "Zürich",
                           "startsAt": starts.to_rfc3339(), "onSaleAt": on_sale.to_rfc3339() } }),
            Some(organizer),
        )
        .await?;
    let event = d["createEvent"]["id"]
        .as_str()
        .ok_or_else(|| anyhow!("createEvent answered no id"))?
        .to_owned();
    let on_sale: DateTime<Utc> = d["createEvent"]["onSaleAt"]
        .as_str()
        .and_then(|s| s.parse().ok())
        .unwrap_or(on_sale);
    r.lead_s = (on_sale - created).as_seconds_f64();

    let t = std::time::Instant::now();
    let ids: Vec<anyhow::Result<String>> = stream::iter(0..p.tickets)
        .map(|i| {
            let event = event.clone();
            async move {
                let price = format!("{}.00", 40 + (i * 7) % 120);
                let d = apis[0]
                    .data(
                        CREATE_TICKET,
                        json!({ "i": { "title": format!("Block {}, seat {}", i / 100, i % 100),
                                       "price": price, "eventId": event } }),
                        Some(organizer),
                    )
                    .await?;
                d["createTicket"]["id"]
                    .as_str()
                    .map(str::to_owned)
                    .ok_or_else(|| anyhow!("createTicket answered no id"))
            }
        })
        .buffer_unordered(32)
        .collect()
        .await;
    let ids: Vec<String> = ids.into_iter().collect::<anyhow::Result<_>>()?;
    r.setup.push((
        format!("{} createTicket", ids.len()),
        t.elapsed().as_secs_f64(),
    ));
    let pool = Arc::new(Pool {
        taken: ids.iter().map(|_| AtomicBool::new(false)).collect(),
        left: AtomicUsize::new(ids.len()),
        ids,
    });

    tokio::time::sleep(Duration::from_secs(1)).await;
    r.rss_before_kib = rss_sum(pids);
    r.redis_before_bytes = redis_used(redis_url).await;

    let t = std::time::Instant::now();
    let joins: Vec<anyhow::Result<(Answer, DateTime<Utc>)>> = stream::iter(0..n)
        .map(|i| {
            let event = event.clone();
            async move {
                let a = api_of(i)
                    .gql(JOIN, json!({ "e": event }), Some(&tokens[i]))
                    .await?;
                anyhow::Ok((a, Utc::now()))
            }
        })
        .buffer_unordered(64)
        .collect()
        .await;
    for j in joins {
        match j {
            Ok((Answer::Data(_), at)) => {
                r.joined += 1;
                if at >= on_sale {
                    r.joined_late += 1;
                }
            }
            _ => r.join_errors += 1,
        }
    }
    r.setup
        .push((format!("{n} joinQueue"), t.elapsed().as_secs_f64()));
    if r.joined == 0 {
        anyhow::bail!("no joinQueue succeeded (is the server one with the queue?)");
    }

    let (admitted_tx, mut admitted_rx) = mpsc::unbounded_channel();
    let shared = Arc::new(Shared {
        logs: (0..n).map(|_| Mutex::default()).collect(),
        admission: chrono::Duration::seconds(p.admission_s as i64),
        admitted_tx,
        pushes: AtomicU64::new(0),
        polls: AtomicU64::new(0),
        polling: tokio::sync::Semaphore::new(POLL_CONNECTIONS),
    });
    let (close_tx, close_rx) = watch::channel(false);

    // One WebSocket per buyer (a socket's subscriptions are its account's), up to the limit.
    let t = std::time::Instant::now();
    let socketed = n.min(p.max_sockets);
    let sem = Arc::new(tokio::sync::Semaphore::new(250));
    let mut openers = Vec::with_capacity(socketed);
    for (i, token) in tokens.iter().enumerate().take(socketed) {
        let (addr, token, event) = (api_of(i).addr, token.clone(), event.clone());
        let (sem, close_rx, shared) = (sem.clone(), close_rx.clone(), shared.clone());
        openers.push(tokio::spawn(async move {
            let permit = sem.acquire_owned().await;
            let mut ws =
                WsClient::connect_with_token(&addr, &token, Duration::from_secs(30)).await?;
            ws.try_subscribe("q", WATCH, json!({ "e": event })).await?;
            let first = ws
                .next_data("q", Duration::from_secs(30))
                .await
                .ok_or_else(|| anyhow!("no first queueUpdated within 30 s"))?;
            let place = &first["data"]["queueUpdated"];
            if place.is_null() {
                anyhow::bail!("queueUpdated answered {first}");
            }
            shared.pushes.fetch_add(1, Ordering::Relaxed);
            shared.record(i, place, Utc::now());
            drop(permit);
            tokio::spawn(listen(i, ws.into_stream(), close_rx, shared));
            anyhow::Ok(())
        }));
    }
    for o in openers {
        match o.await {
            Ok(Ok(())) => r.sockets += 1,
            Ok(Err(e)) => {
                r.socket_failures += 1;
                r.first_socket_error.get_or_insert_with(|| format!("{e:#}"));
            }
            Err(e) => {
                r.socket_failures += 1;
                r.first_socket_error.get_or_insert_with(|| e.to_string());
            }
        }
    }
    r.setup.push((
        format!("{socketed} WebSockets subscribed to queueUpdated"),
        t.elapsed().as_secs_f64(),
    ));
    if r.sockets == 0 {
        anyhow::bail!(
            "no queueUpdated subscription started: {}",
            r.first_socket_error.as_deref().unwrap_or("")
        );
    }
    r.pollers = n - socketed;
    let stop = Arc::new(AtomicBool::new(false));
    for (i, token) in tokens.iter().enumerate().skip(socketed) {
        let (api, token, event) = (api_of(i).clone(), token.clone(), event.clone());
        let (shared, stop) = (shared.clone(), stop.clone());
        tokio::spawn(poll(i, api, token, event, on_sale, shared, stop));
    }
    tokio::time::sleep(Duration::from_secs(3)).await;
    r.rss_after_kib = rss_sum(pids);
    r.kib_per_buyer = (r.rss_after_kib as f64 - r.rss_before_kib as f64) / r.joined.max(1) as f64;
    r.redis_after_bytes = redis_used(redis_url).await;
    if let (Some(a), Some(b)) = (r.redis_after_bytes, r.redis_before_bytes) {
        r.redis_bytes_per_buyer = Some((a as f64 - b as f64) / r.joined.max(1) as f64);
    }

    // Before onSaleAt nobody may order: a sample tries.
    let left = (on_sale - Utc::now()).to_std().unwrap_or_default();
    if left < Duration::from_secs(2) {
        r.notes.push(format!(
            "the set-up ended {:.1} s before onSaleAt: a longer lead is needed",
            left.as_secs_f64()
        ));
    } else {
        let tries: Vec<Option<Answer>> = stream::iter(0..50.min(n))
            .map(|k| {
                let i = k * (n / 50.min(n)).max(1);
                let ticket = pool.ids[k % pool.ids.len()].clone();
                async move {
                    api_of(i)
                        .gql(CREATE_ORDER, json!({ "t": ticket }), Some(&tokens[i]))
                        .await
                        .ok()
                }
            })
            .buffer_unordered(10)
            .collect()
            .await;
        r.before_sale_attempts = tries.len();
        r.before_sale_conflicts = tries
            .iter()
            .filter(|a| matches!(a, Some(Answer::Error { code, .. }) if code == "CONFLICT"))
            .count();
    }
    let left = (on_sale - Utc::now()).to_std().unwrap_or_default();
    tokio::time::sleep(left).await;

    // The sale: each admitted buyer buys; a sampler of the not admitted tries too.
    let sale = Arc::new(Sale::default());
    let buyers_task = {
        let (sale, pool, tokens) = (sale.clone(), pool.clone(), tokens.to_vec());
        let apis = apis.to_vec();
        let tries = p.tries;
        let checkout = Arc::new(tokio::sync::Semaphore::new(CHECKOUT_CONNECTIONS));
        tokio::spawn(async move {
            while let Some(i) = admitted_rx.recv().await {
                let (sale, pool) = (sale.clone(), pool.clone());
                let api = apis[i % apis.len()].clone();
                let token = tokens[i].clone();
                sale.in_flight.fetch_add(1, Ordering::SeqCst);
                let checkout = checkout.clone();
                tokio::spawn(async move {
                    // Admitted buyers wait their turn at the checkout like the other benches'
                    // clients, so the load is 64 connections, not one per admission.
                    let _turn = checkout.acquire().await;
                    buy(&api, &token, &pool, &sale, tries).await;
                    sale.in_flight.fetch_sub(1, Ordering::SeqCst);
                });
            }
        })
    };
    let attempts: Arc<Mutex<Vec<Attempt>>> = Arc::default();
    let sampler = {
        let (shared, pool, stop, attempts) =
            (shared.clone(), pool.clone(), stop.clone(), attempts.clone());
        let (apis, tokens) = (apis.to_vec(), tokens.to_vec());
        let far = p.rate * 3;
        let sampling = Arc::new(tokio::sync::Semaphore::new(8));
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(Duration::from_millis(200));
            while !stop.load(Ordering::Relaxed) {
                tick.tick().await;
                let mut rng = rand::rng();
                for _ in 0..40 {
                    let i = rng.random_range(0..tokens.len());
                    let eligible = {
                        let log = shared.logs[i].lock().expect("log");
                        log.admitted_seen.is_none()
                            && (log.status == EXPIRED
                                || (log.status == WAITING && log.position.is_some_and(|p| p > far)))
                    };
                    if !eligible {
                        continue;
                    }
                    let ticket = pool.ids[rng.random_range(0..pool.ids.len())].clone();
                    let (api, token, attempts) = (
                        apis[i % apis.len()].clone(),
                        tokens[i].clone(),
                        attempts.clone(),
                    );
                    let Ok(turn) = sampling.clone().try_acquire_owned() else {
                        break; // the sampler's earlier tries are still out
                    };
                    tokio::spawn(async move {
                        let _turn = turn;
                        let sent = Utc::now();
                        if let Ok(a) = api
                            .gql(CREATE_ORDER, json!({ "t": ticket }), Some(&token))
                            .await
                        {
                            if let Answer::Data(d) = &a
                                && let Some(order) = d["createOrder"]["id"].as_str()
                            {
                                // Paid, so that a ticket taken by mistake does not hold the sale.
                                let _ = api.gql(PAY, json!({ "o": order }), Some(&token)).await;
                            }
                            let answered = Utc::now();
                            attempts
                                .lock()
                                .expect("attempts")
                                .push((i, sent, answered, a));
                        }
                    });
                    break;
                }
            }
        })
    };

    let cap = on_sale
        + chrono::Duration::seconds((n as u64 / p.rate.max(1)) as i64 + 90)
        + chrono::Duration::from_std(Duration::from_secs(1))?;
    let mut sold_at: Option<DateTime<Utc>> = None;
    loop {
        tokio::time::sleep(Duration::from_millis(200)).await;
        let now = Utc::now();
        if sold_at.is_none()
            && sale.in_flight.load(Ordering::SeqCst) == 0
            && (pool.left.load(Ordering::Relaxed) == 0
                || sale.paid.load(Ordering::Relaxed) >= p.tickets)
        {
            sold_at = Some(now);
        }
        let waiting = shared
            .logs
            .iter()
            .filter(|l| {
                let l = l.lock().expect("log");
                l.admitted_seen.is_none() && l.status != EXPIRED
            })
            .count();
        if waiting == 0 && sold_at.is_some() {
            break;
        }
        if sold_at.is_some_and(|at| now - at > chrono::Duration::seconds(20)) {
            r.notes.push(format!(
                "{waiting} buyers neither admitted nor expired 20 s after the sell-out"
            ));
            break;
        }
        if now > cap {
            r.notes.push(format!(
                "the sale did not end within {} s of onSaleAt",
                (cap - on_sale).num_seconds()
            ));
            break;
        }
    }
    stop.store(true, Ordering::Relaxed);
    let _ = close_tx.send(true);
    let _ = sampler.await;
    tokio::time::sleep(Duration::from_secs(1)).await;
    buyers_task.abort();

    // Figures.
    r.pushes = shared.pushes.load(Ordering::Relaxed);
    r.polls = shared.polls.load(Ordering::Relaxed);
    let mut per_second: Vec<usize> = Vec::new();
    let (mut push_lag, mut poll_lag, mut draw, mut expired_after) =
        (Vec::new(), Vec::new(), Vec::new(), Vec::new());
    let last_paid = *sale.last_paid.lock().expect("last paid");
    for (i, l) in shared.logs.iter().enumerate() {
        let l = l.lock().expect("log");
        if let (Some(step), Some(seen)) = (l.admitted_step, l.admitted_seen) {
            r.admitted += 1;
            let second = ((step - on_sale).num_milliseconds().max(0) / 1000) as usize;
            if per_second.len() <= second {
                per_second.resize(second + 1, 0);
            }
            per_second[second] += 1;
            let lag = (seen - step).num_microseconds().unwrap_or(0) as f64 / 1000.0;
            if i < socketed {
                push_lag.push(lag);
            } else {
                poll_lag.push(lag);
            }
        } else if let (Some(at), Some(paid)) = (l.expired_at, last_paid) {
            expired_after.push((at - paid).num_microseconds().unwrap_or(0) as f64 / 1000.0);
        }
        if i < socketed
            && let Some(at) = l.positioned_at
        {
            draw.push((at - on_sale).num_microseconds().unwrap_or(0) as f64 / 1000.0);
        }
        if l.admitted_seen.is_none() && l.status != EXPIRED {
            r.left_waiting += 1;
        }
    }
    if per_second.len() > 1 {
        let full = &per_second[..per_second.len() - 1];
        r.rate_mean = full.iter().sum::<usize>() as f64 / full.len() as f64;
        r.empty_seconds = full.iter().filter(|c| **c == 0).count();
    } else {
        r.rate_mean = per_second.first().copied().unwrap_or(0) as f64;
    }
    r.rate_max = per_second.iter().copied().max().unwrap_or(0);
    r.admissions_per_second = per_second;
    r.push_lag = Dist::of(&mut push_lag.clone());
    r.poll_lag = Dist::of(&mut poll_lag);
    r.draw_lag = Dist::of(&mut draw);
    r.expired_after_sell_out = Dist::of(&mut expired_after);
    r.orders = sale.orders.load(Ordering::Relaxed);
    r.paid = sale.paid.load(Ordering::Relaxed);
    r.conflicts = sale.conflicts.load(Ordering::Relaxed);
    r.gave_up = sale.gave_up.load(Ordering::Relaxed);
    r.order_errors = sale.errors.load(Ordering::Relaxed);
    r.first_order_error = sale.first_error.lock().expect("error").clone();
    r.sold_out_s = last_paid
        .filter(|_| r.paid >= p.tickets)
        .map(|at| (at - on_sale).as_seconds_f64());
    if r.paid < p.tickets {
        r.notes.push(format!(
            "{} of {} tickets paid: not sold out",
            r.paid, p.tickets
        ));
    }
    let attempts = std::mem::take(&mut *attempts.lock().expect("attempts"));
    for (i, sent, answered, a) in attempts.iter() {
        r.unadmitted_attempts += 1;
        match a {
            Answer::Error { code, .. } if code == "FORBIDDEN" => r.unadmitted_forbidden += 1,
            Answer::Error { code, .. } => {
                r.unadmitted_other_refusals += 1;
                *r.unadmitted_other_codes.entry(code.clone()).or_default() += 1;
            }
            Answer::Data(_) => {
                let heard = shared.logs[*i].lock().expect("log").admitted_step;
                // The buyer may have been admitted without having heard it yet (its pushes lag):
                // the server's own record of its admission decides.
                let step = match heard {
                    Some(step) => Some(step),
                    None => {
                        admitted_step(&apis[*i % apis.len()], &tokens[*i], &event, &shared).await
                    }
                };
                // The server checks the admission at some moment between sending and answer:
                // a success is right if the admission ran at any moment of that window.
                if step.is_some_and(|s| s <= *answered && *sent < s + shared.admission) {
                    r.unadmitted_admitted_meanwhile += 1;
                } else {
                    r.unadmitted_successes += 1;
                    if r.unadmitted_successes <= 5 {
                        r.notes.push(format!(
                            "an order without an admission: sent {sent}, answered {answered}, \
                             admitted {}",
                            step.map_or("never".to_owned(), |s| s.to_string())
                        ));
                    }
                }
            }
        }
    }
    r.db_sold = crate::server::scalar(db, "SELECT count(*) FROM tickets WHERE status = 'SOLD'")
        .await
        .context("counting sold tickets")?;
    r.db_tickets_with_several_orders = crate::server::scalar(
        db,
        "SELECT count(*) FROM (SELECT ticket_id FROM orders WHERE status <> 'CANCELLED' \
         GROUP BY ticket_id HAVING count(*) > 1) AS several",
    )
    .await?;
    Ok(QueueRun {
        result: r,
        push_lag_ms: push_lag,
    })
}

/// An admitted buyer: a random ticket it believes available, another on `CONFLICT`.
async fn buy(api: &Client, token: &str, pool: &Pool, sale: &Sale, tries: usize) {
    for _ in 0..tries {
        let Some(k) = pool.pick() else {
            sale.gave_up.fetch_add(1, Ordering::Relaxed);
            return;
        };
        let answer = api
            .gql(CREATE_ORDER, json!({ "t": pool.ids[k] }), Some(token))
            .await;
        match answer {
            Ok(Answer::Data(d)) => {
                pool.take(k);
                sale.orders.fetch_add(1, Ordering::Relaxed);
                let order = d["createOrder"]["id"].as_str().unwrap_or_default();
                match api.gql(PAY, json!({ "o": order }), Some(token)).await {
                    Ok(Answer::Data(_)) => {
                        sale.paid.fetch_add(1, Ordering::Relaxed);
                        let now = Utc::now();
                        let mut last = sale.last_paid.lock().expect("last paid");
                        *last = Some(last.map_or(now, |l| l.max(now)));
                    }
                    Ok(Answer::Error { code, message }) => {
                        sale.error(format!("payOrder: {code}: {message}"));
                    }
                    Err(e) => sale.error(format!("payOrder: {e:#}")),
                }
                return;
            }
            Ok(Answer::Error { code, .. }) if code == "CONFLICT" => {
                pool.take(k);
                sale.conflicts.fetch_add(1, Ordering::Relaxed);
            }
            Ok(Answer::Error { code, message }) => {
                return sale.error(format!("createOrder: {code}: {message}"));
            }
            Err(e) => return sale.error(format!("createOrder: {e:#}")),
        }
    }
    sale.gave_up.fetch_add(1, Ordering::Relaxed);
}

/// A subscriber's socket: each `next` recorded, pings answered, until told to close.
async fn listen(i: usize, mut ws: WsStream, mut close: watch::Receiver<bool>, shared: Arc<Shared>) {
    let closed = close.changed();
    tokio::pin!(closed);
    loop {
        tokio::select! {
            _ = &mut closed => {
                let _ = ws.close(None).await;
                return;
            }
            msg = ws.next() => {
                let at = Utc::now();
                let Some(Ok(msg)) = msg else { return };
                let Message::Text(text) = msg else { continue };
                if text.contains(r#""type":"next""#) {
                    shared.pushes.fetch_add(1, Ordering::Relaxed);
                    if let Ok(v) = serde_json::from_str::<Value>(&text) {
                        shared.record(i, &v["payload"]["data"]["queueUpdated"], at);
                    }
                } else if text.contains(r#""type":"ping""#) {
                    let _ = ws.send(Message::Text(r#"{"type":"pong"}"#.into())).await;
                }
            }
        }
    }
}

/// A buyer without a socket: `queuePlace` from `onSaleAt` (spread over its first second), then
/// at half its `etaSeconds` (0.5 to 5 s), until admitted or expired.
async fn poll(
    i: usize,
    api: Client,
    token: String,
    event: String,
    on_sale: DateTime<Utc>,
    shared: Arc<Shared>,
    stop: Arc<AtomicBool>,
) {
    let jitter = Duration::from_millis(rand::rng().random_range(0..1000));
    let first = (on_sale - Utc::now()).to_std().unwrap_or_default() + jitter;
    tokio::time::sleep(first).await;
    while !stop.load(Ordering::Relaxed) {
        let mut wait = Duration::from_secs(1);
        let answer = {
            let _turn = shared.polling.acquire().await;
            api.gql(PLACE, json!({ "e": event }), Some(&token)).await
        };
        if let Ok(Answer::Data(d)) = answer {
            shared.polls.fetch_add(1, Ordering::Relaxed);
            let place = &d["queuePlace"];
            shared.record(i, place, Utc::now());
            match place["status"].as_str() {
                Some("ADMITTED" | "EXPIRED") => return,
                _ => {
                    if let Some(eta) = place["etaSeconds"].as_f64() {
                        wait = Duration::from_secs_f64((eta / 2.0).clamp(0.5, 5.0));
                    }
                }
            }
        }
        tokio::time::sleep(wait).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_pool_hands_out_each_ticket_until_taken() {
        let pool = Pool {
            ids: (0..5).map(|i| i.to_string()).collect(),
            taken: (0..5).map(|_| AtomicBool::new(false)).collect(),
            left: AtomicUsize::new(5),
        };
        for _ in 0..5 {
            let k = pool.pick().expect("one left");
            pool.take(k);
            pool.take(k);
        }
        assert_eq!(pool.left.load(Ordering::Relaxed), 0);
        assert_eq!(pool.pick(), None);
    }
}
