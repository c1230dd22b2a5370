//! Faults under load: the server killed mid-rush, PostgreSQL going away and coming back. (Redis
//! restarted empty: `orders::orders_expire_and_are_announced_after_redis_restarts_empty` and
//! `http::readiness_reports_a_lost_lock_store_or_database`; the payment processor timing out,
//! failing or slow: the `payments` tests.)

use std::{
    collections::HashSet,
    net::SocketAddr,
    sync::{
        Arc, Mutex,
        atomic::{AtomicBool, Ordering},
    },
    time::Duration,
};

use entity::{event, order, outbox_event, ticket};
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, PaginatorTrait, QueryFilter, Statement};
use serde_json::{Value, json};
use tokio::{
    net::{TcpListener, TcpStream},
    task::JoinHandle,
};

use crate::{market::*, support::*};

/// Buyers reserving random tickets over and over, at whatever address `target` holds; requests
/// that fail to connect (the server is down) are retried. Returns the orders the server confirmed.
fn rush(
    target: Arc<Mutex<SocketAddr>>,
    buyers: Vec<Session>,
    tickets: Vec<Value>,
    stop: Arc<AtomicBool>,
) -> Vec<JoinHandle<Vec<String>>> {
    buyers
        .into_iter()
        .enumerate()
        .map(|(b, buyer)| {
            let (target, tickets, stop) = (target.clone(), tickets.clone(), stop.clone());
            tokio::spawn(async move {
                let client = reqwest::Client::new();
                let mut confirmed = Vec::new();
                let mut n = b;
                while !stop.load(Ordering::SeqCst) {
                    n = (n * 7 + 13) % tickets.len();
                    let at = *target.lock().unwrap();
                    let sent = client
                        .post(format!("http://{at}/graphql"))
                        .bearer_auth(&buyer.token)
                        .json(&json!({
                            "query": "mutation($t: ID!) { createOrder(ticketId: $t) { id } }",
                            "variables": { "t": tickets[n] },
                        }))
                        .timeout(Duration::from_secs(10))
                        .send()
                        .await;
                    let Ok(response) = sent else {
                        tokio::time::sleep(Duration::from_millis(20)).await;
                        continue;
                    };
                    let Ok(body) = response.json::<Value>().await else {
                        continue;
                    };
                    if let Some(id) = body["data"]["createOrder"]["id"].as_str() {
                        confirmed.push(id.to_owned());
                    }
                }
                confirmed
            })
        })
        .collect()
}

/// A seller with `tickets` tickets on sale, and `buyers` buyers.
async fn rush_market(
    app: &TestApp,
    buyers: usize,
    tickets: usize,
) -> (Session, Vec<Session>, Vec<Value>) {
    let seller = app.sign_up(&unique_email()).await;
    let sessions = sign_ups(app, buyers).await;
    let mut ids = Vec::new();
    for n in 0..tickets {
        ids.push(create_ticket(app, &seller.token, &format!("Seat {n}"), "10").await["id"].clone());
    }
    (seller, sessions, ids)
}

async fn sign_ups(app: &TestApp, n: usize) -> Vec<Session> {
    let mut sessions = Vec::new();
    for _ in 0..n {
        sessions.push(app.sign_up(&unique_email()).await);
    }
    sessions
}

/// No order is live any more and every ticket is back on sale.
async fn all_expired(db: &impl ConnectionTrait) -> bool {
    let live = order::Entity::find()
        .filter(order::Column::Status.is_in([
            order::OrderStatus::Created,
            order::OrderStatus::AwaitingPayment,
        ]))
        .count(db)
        .await
        .unwrap();
    let held = ticket::Entity::find()
        .filter(ticket::Column::Status.ne(ticket::TicketStatus::Available))
        .count(db)
        .await
        .unwrap();
    live == 0 && held == 0
}

/// Tickets held by more than one live order: must always be none.
async fn doubly_held(db: &impl ConnectionTrait) -> Vec<String> {
    let sql = "SELECT CAST(ticket_id AS TEXT) AS t FROM orders
               WHERE status IN ('CREATED', 'AWAITING_PAYMENT')
               GROUP BY ticket_id HAVING COUNT(*) > 1";
    db.query_all_raw(Statement::from_string(db.get_database_backend(), sql))
        .await
        .unwrap()
        .iter()
        .map(|row| row.try_get::<String>("", "t").unwrap())
        .collect()
}

/// `kill -9` mid-rush, then a restart: every confirmed order is stored, no ticket is in two live
/// orders, every committed change is announced (the relay catches up), every unpaid order still
/// expires, its ticket back on sale, and the event's counters end exact.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_kill_9_mid_rush_loses_and_double_sells_nothing() {
    let env = TestEnv::new().await;
    let vars = [("ORDER_TTL_SECONDS", "6"), ("MAX_LIVE_ORDERS", "1000")];
    let mut server = Replica::start(&env, &vars).await;
    let app = &server.app;
    // Tickets of an event: the kill also falls between reservations' commits and the settles of
    // their event's counters.
    let seller = app.sign_up(&unique_email()).await;
    let buyers = sign_ups(app, 6).await;
    let show = create_event(app, &seller.token, "Show", "Bern", 10).await;
    let mut tickets = Vec::new();
    for n in 0..40 {
        tickets.push(
            ticket_for(app, &seller.token, &show["id"], &format!("{}", 10 + n)).await["id"].clone(),
        );
    }
    let target = Arc::new(Mutex::new(server.app.addr));
    let stop = Arc::new(AtomicBool::new(false));
    let load = rush(target.clone(), buyers, tickets.clone(), stop.clone());

    tokio::time::sleep(Duration::from_millis(700)).await;
    server.kill().await;
    let restarted = Replica::start(&env, &vars).await;
    *target.lock().unwrap() = restarted.app.addr;
    tokio::time::sleep(Duration::from_millis(700)).await;
    stop.store(true, Ordering::SeqCst);
    let mut confirmed = Vec::new();
    for task in load {
        confirmed.extend(task.await.unwrap());
    }
    assert!(!confirmed.is_empty(), "the rush ran");

    let db = env.db().await;
    let stored: HashSet<String> = order::Entity::find()
        .all(&db)
        .await
        .unwrap()
        .into_iter()
        .map(|o| o.id.to_string())
        .collect();
    let lost: Vec<&String> = confirmed
        .iter()
        .filter(|id| !stored.contains(*id))
        .collect();
    assert!(lost.is_empty(), "confirmed but not stored: {lost:?}");
    assert_eq!(
        doubly_held(&db).await,
        Vec::<String>::new(),
        "a ticket in two live orders"
    );

    let caught_up = eventually(Duration::from_secs(10), || async {
        outbox_event::Entity::find()
            .filter(outbox_event::Column::PublishedAt.is_null())
            .count(&db)
            .await
            .unwrap()
            == 0
    })
    .await;
    assert!(
        caught_up,
        "every committed change was announced after the restart"
    );

    let expired = eventually(Duration::from_secs(20), || all_expired(&db)).await;
    assert!(expired, "every unpaid order expired and freed its ticket");
    // Whatever the kill left unsettled, the sweep settled: the counters are exact.
    let show = uuid::Uuid::parse_str(show["id"].as_str().unwrap()).unwrap();
    let exact = eventually(Duration::from_secs(10), || async {
        let e = event::Entity::find_by_id(show)
            .one(&db)
            .await
            .unwrap()
            .unwrap();
        (e.available_count, e.lowest_price_cents) == (40, Some(1000))
    })
    .await;
    let e = event::Entity::find_by_id(show)
        .one(&db)
        .await
        .unwrap()
        .unwrap();
    assert!(
        exact,
        "every ticket is available again, the cheapest 10.00: {} and {:?}",
        e.available_count, e.lowest_price_cents
    );
    drop(restarted);
}

/// A TCP proxy in front of PostgreSQL that the test can cut (every connection dropped, new ones
/// refused), as a database restart looks to its clients, and restore.
struct CuttableProxy {
    addr: SocketAddr,
    up: Arc<AtomicBool>,
    connections: Arc<Mutex<Vec<JoinHandle<()>>>>,
}

impl CuttableProxy {
    async fn start(upstream: SocketAddr) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let up = Arc::new(AtomicBool::new(true));
        let connections: Arc<Mutex<Vec<JoinHandle<()>>>> = Arc::default();
        let (up2, conns) = (up.clone(), connections.clone());
        tokio::spawn(async move {
            loop {
                let Ok((mut client, _)) = listener.accept().await else {
                    return;
                };
                if !up2.load(Ordering::SeqCst) {
                    drop(client);
                    continue;
                }
                let task = tokio::spawn(async move {
                    if let Ok(mut server) = TcpStream::connect(upstream).await {
                        let _ = tokio::io::copy_bidirectional(&mut client, &mut server).await;
                    }
                });
                conns.lock().unwrap().push(task);
            }
        });
        Self {
            addr,
            up,
            connections,
        }
    }

    fn cut(&self) {
        self.up.store(false, Ordering::SeqCst);
        for task in self.connections.lock().unwrap().drain(..) {
            task.abort();
        }
    }

    fn restore(&self) {
        self.up.store(true, Ordering::SeqCst);
    }
}

/// PostgreSQL goes away and comes back: meanwhile every request answers, promptly, with
/// `INTERNAL_SERVER_ERROR` revealing nothing, readiness is 503 and liveness 200; afterwards the
/// same process serves again, without a restart.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn requests_fail_cleanly_while_postgres_is_away_and_recover_without_a_restart() {
    if backend() != Backend::PostgresRedis {
        return;
    }
    let env = TestEnv::new().await;
    let upstream: SocketAddr = "127.0.0.1:5432".parse().unwrap();
    let proxy = CuttableProxy::start(upstream).await;
    let proxied = env
        .database_url
        .replace("127.0.0.1:5432", &proxy.addr.to_string());
    assert_ne!(
        proxied, env.database_url,
        "the test database is on 127.0.0.1:5432"
    );
    let app = env.spawn_with(&[("DATABASE_URL", proxied.as_str())]).await;
    let seller = app.sign_up(&unique_email()).await;
    create_ticket(&app, &seller.token, "Before", "5").await;

    proxy.cut();
    for (query, vars) in [
        ("{ tickets { edges { node { id } } } }", json!({})),
        (
            "mutation($i: CreateTicketInput!) { createTicket(input: $i) { id } }",
            json!({ "i": { "title": "During", "price": "5" } }),
        ),
    ] {
        let started = std::time::Instant::now();
        let body = tokio::time::timeout(
            Duration::from_secs(20),
            app.gql(query, vars, Some(&seller.token)),
        )
        .await
        .expect("an answer, not a hang");
        assert_eq!(error_code(&body), Some("INTERNAL_SERVER_ERROR"), "{body}");
        assert_eq!(
            body["errors"][0]["message"], "internal server error",
            "{body}"
        );
        assert!(
            started.elapsed() < Duration::from_secs(15),
            "{:?}",
            started.elapsed()
        );
    }
    assert_eq!(app.status_of("/readyz").await, 503);
    assert_eq!(app.status_of("/healthz").await, 200);

    proxy.restore();
    let recovered = eventually(Duration::from_secs(20), || async {
        create_ticket(&app, &seller.token, "After", "5").await["id"].is_string()
    })
    .await;
    assert!(recovered, "the same process serves again");
    let ready = app
        .client
        .get(format!("{}/readyz", app.url))
        .send()
        .await
        .unwrap();
    assert_eq!(ready.status(), 200);
    let db = env.db().await;
    let titles: Vec<String> = ticket::Entity::find()
        .all(&db)
        .await
        .unwrap()
        .into_iter()
        .map(|t| t.title)
        .collect();
    assert!(
        !titles.contains(&"During".to_owned()),
        "the failed request changed nothing"
    );
}

/// Redis stopped and restarted empty while buyers keep reserving: readiness is 503 while it is
/// down and 200 after, requests meanwhile fail cleanly, no ticket is ever in two live orders,
/// every order still expires on time (the database keeps the schedule), and the event bus and
/// the keyspace subscription come back by themselves.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redis_restarted_empty_under_load_double_sells_nothing_and_recovers() {
    if backend() != Backend::PostgresRedis {
        return;
    }
    let redis = PrivateRedis::start();
    let env = TestEnv::new().await;
    let app = env
        .spawn_with(&[
            ("REDIS_URL", redis.url.as_str()),
            ("ORDER_TTL_SECONDS", "5"),
            ("MAX_LIVE_ORDERS", "1000"),
        ])
        .await;
    let (seller, buyers, tickets) = rush_market(&app, 4, 30).await;
    let target = Arc::new(Mutex::new(app.addr));
    let stop = Arc::new(AtomicBool::new(false));
    let load = rush(target, buyers.clone(), tickets, stop.clone());

    tokio::time::sleep(Duration::from_millis(500)).await;
    redis.stop();
    let down = eventually(Duration::from_secs(10), || async {
        app.status_of("/readyz").await == 503
    })
    .await;
    assert!(down, "readiness reports Redis down");
    let during = create_order(
        &app,
        &buyers[0].token,
        &json!(uuid::Uuid::now_v7().to_string()),
    )
    .await;
    assert!(
        error_code(&during).is_some(),
        "an answer, not a hang: {during}"
    );
    redis.restart();
    let up = eventually(Duration::from_secs(15), || async {
        app.status_of("/readyz").await == 200
    })
    .await;
    assert!(up, "readiness recovers");

    // The bus is back: a new subscriber hears a new listing.
    let mut ws = ws_as(&app, &seller.token).await;
    ws.subscribe("t", "subscription { ticketCreated { id } }")
        .await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    let fresh = create_ticket(&app, &seller.token, "After", "5").await;
    let heard = ws
        .next_data("t", Duration::from_secs(10))
        .await
        .expect("the bus reconnected");
    assert_eq!(heard["data"]["ticketCreated"]["id"], fresh["id"]);
    tokio::time::sleep(Duration::from_millis(500)).await;
    stop.store(true, Ordering::SeqCst);
    let mut confirmed = 0;
    for task in load {
        confirmed += task.await.unwrap().len();
    }
    assert!(confirmed > 0, "the rush ran");

    let db = env.db().await;
    assert_eq!(
        doubly_held(&db).await,
        Vec::<String>::new(),
        "a ticket in two live orders"
    );
    let last_deadline = order::Entity::find()
        .all(&db)
        .await
        .unwrap()
        .into_iter()
        .map(|o| o.expires_at)
        .max()
        .unwrap();
    let wait = (last_deadline - chrono::Utc::now())
        .to_std()
        .unwrap_or_default();
    tokio::time::sleep(wait + Duration::from_secs(3)).await;
    assert!(
        all_expired(&db).await,
        "every order expired within 3 s of its deadline, every ticket back on sale"
    );
}

/// A client that goes away in the middle of `createOrder` is not a crash between its steps: the
/// reservation, stuck behind a row another transaction holds, finishes once it is free, and the
/// ticket is the buyer's (on the code before, the dropped request left its lock behind with no
/// order, and the ticket could be ordered by nobody for 30 s).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_create_order_whose_client_goes_away_still_finishes() {
    let (env, app) = spawn().await;
    let m = Market::open(&app).await;
    let id = uuid::Uuid::parse_str(m.ticket_id().as_str().unwrap()).unwrap();
    let db = env.db().await;
    // Holds the ticket's row (and SQLite's write lock), so the reservation waits after its lock.
    let txn = api::db::begin_write(&db).await.unwrap();
    ticket::Entity::update_many()
        .col_expr(
            ticket::Column::Version,
            sea_orm::sea_query::Expr::col(ticket::Column::Version),
        )
        .filter(ticket::Column::Id.eq(id))
        .exec(&txn)
        .await
        .unwrap();
    let gone = tokio::time::timeout(
        Duration::from_millis(700),
        create_order(&app, &m.buyer.token, m.ticket_id()),
    )
    .await;
    assert!(
        gone.is_err(),
        "the reservation waited for the row: {gone:?}"
    );
    tokio::time::sleep(Duration::from_millis(300)).await;
    txn.rollback().await.unwrap();

    let reserved = eventually(Duration::from_secs(10), || async {
        ticket(&app, m.ticket_id()).await["status"] == "RESERVED"
    })
    .await;
    assert!(reserved, "{}", ticket(&app, m.ticket_id()).await);
    let mine = app
        .gql(
            "{ orders { edges { node { id status } } } }",
            json!({}),
            Some(&m.buyer.token),
        )
        .await;
    assert_eq!(
        mine["data"]["orders"]["edges"].as_array().map(Vec::len),
        Some(1),
        "{mine}"
    );
}
