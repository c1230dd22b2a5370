//! Many replicas as real processes (the `api` binary) on one PostgreSQL and one Redis, as a
//! Kubernetes Deployment runs them, and what stopping one with SIGTERM does. The process tests
//! need PostgreSQL + Redis (two processes on one SQLite file share no bus: the embedded pair is one
//! process by nature); the graceful-shutdown test runs on both pairs.

use std::{
    collections::HashSet,
    net::SocketAddr,
    sync::{
        Arc, Mutex,
        atomic::{AtomicBool, Ordering},
    },
    time::Duration,
};

use entity::{order, outbox_event};
use futures_util::{StreamExt, future::join_all, stream};
use sea_orm::{ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter};
use serde_json::{Value, json};

use crate::{fake_stripe::FakeStripe, market::*, support::*};

/// A subscriber's socket closed by a replica: where it was, and the close code.
type Closed = (SocketAddr, Option<u64>);

/// Three replicas of one fresh deployment, started at the same moment (so all three race to
/// migrate the empty database).
async fn three_replicas(env: &TestEnv, extra: &[(&str, &str)]) -> Vec<Replica> {
    join_all((0..3).map(|_| Replica::start(env, extra))).await
}

fn multi_process() -> bool {
    backend() == Backend::PostgresRedis
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_replicas_start_at_once_and_each_subscriber_hears_every_replica() {
    if !multi_process() {
        return;
    }
    let env = TestEnv::new().await;
    let replicas = three_replicas(&env, &[]).await;
    let seller = replicas[0].app.sign_up(&unique_email()).await;
    let mut watchers = Vec::new();
    for r in &replicas {
        let mut ws = WsClient::connect(&r.app, WsOptions::default()).await;
        ws.subscribe("t", "subscription { ticketCreated { id } }")
            .await;
        watchers.push(ws);
    }
    tokio::time::sleep(Duration::from_millis(300)).await;
    let mut listed = HashSet::new();
    for (n, r) in replicas.iter().enumerate() {
        let t = create_ticket(&r.app, &seller.token, &format!("On replica {n}"), "5").await;
        listed.insert(t["id"].as_str().unwrap().to_owned());
    }
    for (n, ws) in watchers.iter_mut().enumerate() {
        let mut heard = HashSet::new();
        while heard.len() < 3 {
            let Some(got) = ws.next_data("t", Duration::from_secs(5)).await else {
                break;
            };
            heard.insert(
                got["data"]["ticketCreated"]["id"]
                    .as_str()
                    .unwrap()
                    .to_owned(),
            );
        }
        assert_eq!(heard, listed, "the subscriber on replica {n}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_token_revoked_on_one_replica_is_refused_by_the_others() {
    if !multi_process() {
        return;
    }
    let env = TestEnv::new().await;
    let replicas = three_replicas(&env, &[]).await;
    let user = replicas[0].app.sign_up(&unique_email()).await;
    for r in &replicas {
        assert_eq!(r.app.me(&user.token).await["id"], user.user_id.as_str());
    }
    let out = replicas[1]
        .app
        .gql("mutation { signOut }", json!({}), Some(&user.token))
        .await;
    assert_eq!(out["data"]["signOut"], true, "{out}");
    for (n, r) in replicas.iter().enumerate() {
        assert!(r.app.me(&user.token).await.is_null(), "replica {n}");
        let mut ws = WsClient::open(&r.app, &WsOptions::default()).await.unwrap();
        let init = ws
            .init(json!({ "authorization": format!("Bearer {}", user.token) }))
            .await;
        assert_ne!(init["type"], "connection_ack", "replica {n}: {init}");
    }
}

/// One buyer ordering many tickets at once through three replicas never holds more than
/// `MAX_LIVE_ORDERS`: the cap is counted in the database, after a lock of the buyer's that every
/// replica's reservation takes, not in any one process.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_buyer_holds_at_most_max_live_orders_across_replicas() {
    if !multi_process() {
        return;
    }
    let env = TestEnv::new().await;
    let replicas = three_replicas(&env, &[("MAX_LIVE_ORDERS", "2")]).await;
    let seller = replicas[0].app.sign_up(&unique_email()).await;
    let buyer = replicas[0].app.sign_up(&unique_email()).await;
    let mut tickets = Vec::new();
    for n in 0..30 {
        let t = create_ticket(&replicas[0].app, &seller.token, &format!("T{n}"), "5").await;
        tickets.push(t["id"].clone());
    }
    let results = join_all(
        tickets
            .iter()
            .enumerate()
            .map(|(n, t)| create_order(&replicas[n % replicas.len()].app, &buyer.token, t)),
    )
    .await;
    let wins = results
        .iter()
        .filter(|r| r["data"]["createOrder"].is_object())
        .count();
    let refused = results
        .iter()
        .filter(|r| error_code(r) == Some("CONFLICT"))
        .count();
    assert_eq!((wins, refused), (2, 28), "{results:?}");
    let db = env.db().await;
    let live = order::Entity::find()
        .filter(order::Column::Status.eq(order::OrderStatus::Created))
        .count(&db)
        .await
        .unwrap();
    assert_eq!(live, 2, "live orders stored");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_thousand_orders_expiring_across_replicas_are_each_cancelled_and_announced_once() {
    const ORDERS: usize = 1000;
    if !multi_process() {
        return;
    }
    let env = TestEnv::new().await;
    let replicas = three_replicas(
        &env,
        &[("ORDER_TTL_SECONDS", "8"), ("MAX_LIVE_ORDERS", "1000")],
    )
    .await;
    let seller = replicas[0].app.sign_up(&unique_email()).await;
    let buyer = replicas[0].app.sign_up(&unique_email()).await;
    let tickets: Vec<Value> = stream::iter(0..ORDERS)
        .map(|n| {
            let app = &replicas[n % 3].app;
            let token = seller.token.clone();
            async move { create_ticket(app, &token, &format!("Seat {n}"), "10").await["id"].clone() }
        })
        .buffer_unordered(24)
        .collect()
        .await;
    let mut watchers = Vec::new();
    for r in &replicas {
        let mut ws = ws_as(&r.app, &buyer.token).await;
        ws.subscribe("x", "subscription { orderExpired { id } }")
            .await;
        watchers.push(ws);
    }
    tokio::time::sleep(Duration::from_millis(300)).await;
    let orders: Vec<Value> = stream::iter(tickets.iter().enumerate())
        .map(|(n, t)| {
            let app = &replicas[n % 3].app;
            let token = buyer.token.clone();
            async move { create_order(app, &token, t).await }
        })
        .buffer_unordered(24)
        .collect()
        .await;
    let ordered: HashSet<String> = orders
        .iter()
        .map(|body| {
            body["data"]["createOrder"]["id"]
                .as_str()
                .unwrap_or_else(|| panic!("every order is created: {body}"))
                .to_owned()
        })
        .collect();
    assert_eq!(ordered.len(), ORDERS);

    for (n, ws) in watchers.iter_mut().enumerate() {
        let mut heard = Vec::new();
        while heard.len() < ORDERS {
            let Some(got) = ws.next_data("x", Duration::from_secs(20)).await else {
                break;
            };
            heard.push(
                got["data"]["orderExpired"]["id"]
                    .as_str()
                    .unwrap()
                    .to_owned(),
            );
        }
        // Anything more would be a second announcement.
        while let Some(extra) = ws.next_data("x", Duration::from_millis(1500)).await {
            heard.push(extra["data"]["orderExpired"]["id"].to_string());
        }
        let distinct: HashSet<String> = heard.iter().cloned().collect();
        assert_eq!(
            distinct, ordered,
            "replica {n}'s subscriber heard each expiry"
        );
        assert_eq!(
            heard.len(),
            ORDERS,
            "replica {n}'s subscriber heard each once"
        );
    }
    let db = env.db().await;
    let cancelled = order::Entity::find()
        .filter(order::Column::Status.eq(order::OrderStatus::Cancelled))
        .count(&db)
        .await
        .unwrap();
    assert_eq!(cancelled, ORDERS as u64);
    let announced = outbox_event::Entity::find()
        .filter(outbox_event::Column::EventType.eq("OrderExpired"))
        .count(&db)
        .await
        .unwrap();
    assert_eq!(announced, ORDERS as u64, "one OrderExpired event per order");
}

/// The deployment's replicas restart one after another (SIGTERM, then start again) while sellers
/// keep listing tickets: every request that got an answer succeeded and its change was announced
/// (an observer on a fourth replica, which is not restarted, hears every one), and each stopped
/// replica's subscribers were told to reconnect (close 1012), did so to another replica, and heard
/// changes there.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rolling_restart_under_load_loses_nothing() {
    if !multi_process() {
        return;
    }
    let env = TestEnv::new().await;
    let mut replicas = three_replicas(&env, &[]).await;
    let observer_replica = Replica::start(&env, &[]).await;
    let seller = replicas[0].app.sign_up(&unique_email()).await;
    // Where the load balancer sends traffic: the replicas taking requests now.
    let live: Arc<Mutex<Vec<SocketAddr>>> =
        Arc::new(Mutex::new(replicas.iter().map(|r| r.app.addr).collect()));
    let stop_load = Arc::new(AtomicBool::new(false));
    let stop_listening = Arc::new(AtomicBool::new(false));

    let mut observer = WsClient::connect(&observer_replica.app, WsOptions::default()).await;
    observer
        .subscribe("t", "subscription { ticketCreated { id } }")
        .await;
    // Subscribers of the restarting replicas: what each heard after its first reconnect, and
    // every close it got.
    let heard_after_reconnect: Arc<Mutex<HashSet<String>>> = Arc::default();
    let closes: Arc<Mutex<Vec<Closed>>> = Arc::default();
    let mut listeners = Vec::new();
    for (index, r) in replicas.iter().enumerate() {
        let (live, heard, closes, stop) = (
            live.clone(),
            heard_after_reconnect.clone(),
            closes.clone(),
            stop_listening.clone(),
        );
        let (first, db) = (r.app.addr, env.database_url.clone());
        listeners.push(tokio::spawn(async move {
            let (mut at, mut reconnected) = (first, false);
            loop {
                let app = TestApp::remote(at, &db);
                let mut ws = WsClient::connect(&app, WsOptions::default()).await;
                ws.subscribe("t", "subscription { ticketCreated { id } }")
                    .await;
                loop {
                    match ws.next_message(Duration::from_millis(200)).await {
                        Some(m) if m["type"] == "next" && reconnected => {
                            let id = &m["payload"]["data"]["ticketCreated"]["id"];
                            heard
                                .lock()
                                .unwrap()
                                .insert(id.as_str().unwrap().to_owned());
                        }
                        Some(m) if m["type"] == "close" => {
                            closes.lock().unwrap().push((at, m["code"].as_u64()));
                            break;
                        }
                        None if stop.load(Ordering::SeqCst) => return,
                        _ => {}
                    }
                }
                // Reconnect, as graphql-ws does, to a replica still taking traffic.
                tokio::time::sleep(Duration::from_millis(100)).await;
                let others: Vec<SocketAddr> = live.lock().unwrap().clone();
                let others: Vec<SocketAddr> = others.into_iter().filter(|a| *a != at).collect();
                at = others[index % others.len()];
                reconnected = true;
            }
        }));
    }
    tokio::time::sleep(Duration::from_millis(500)).await;

    // Steady load: 4 clients listing tickets round-robin over the live replicas. A request
    // refused before it was accepted (the connection refused or closed before an answer) is
    // retried elsewhere, as a load balancer would; an answered request must have succeeded.
    let created: Arc<Mutex<Vec<String>>> = Arc::default();
    let failures: Arc<Mutex<Vec<String>>> = Arc::default();
    let mut load = Vec::new();
    for worker in 0..4 {
        let (live, stop, created, failures, token) = (
            live.clone(),
            stop_load.clone(),
            created.clone(),
            failures.clone(),
            seller.token.clone(),
        );
        load.push(tokio::spawn(async move {
            let client = reqwest::Client::new();
            let mut n = 0usize;
            while !stop.load(Ordering::SeqCst) {
                n += 1;
                let targets = live.lock().unwrap().clone();
                let at = targets[n % targets.len()];
                let sent = client
                    .post(format!("http://{at}/graphql"))
                    .bearer_auth(&token)
                    .json(&json!({
                        "query": "mutation($i: CreateTicketInput!) { createTicket(input: $i) { id } }",
                        "variables": { "i": { "title": format!("w{worker}-{n}"), "price": "5" } },
                    }))
                    .send()
                    .await;
                let response = match sent {
                    Ok(response) => response,
                    // Not accepted: retry on another replica.
                    Err(err) if err.is_connect() || err.is_request() => continue,
                    Err(err) => {
                        failures.lock().unwrap().push(format!("{at}: {err}"));
                        continue;
                    }
                };
                let status = response.status();
                let body: Value = response.json().await.unwrap_or(Value::Null);
                match body["data"]["createTicket"]["id"].as_str() {
                    Some(id) if status.is_success() => created.lock().unwrap().push(id.to_owned()),
                    _ => failures.lock().unwrap().push(format!("{at}: {status} {body}")),
                }
            }
        }));
    }

    tokio::time::sleep(Duration::from_millis(1500)).await;
    for (restarted, replica) in replicas.iter_mut().enumerate() {
        let stopping = replica.app.addr;
        live.lock().unwrap().retain(|a| *a != stopping);
        replica.terminate();
        assert!(
            replica.exited().await,
            "replica {restarted} exits cleanly on SIGTERM"
        );
        *replica = Replica::start(&env, &[]).await;
        live.lock().unwrap().push(replica.app.addr);
        tokio::time::sleep(Duration::from_millis(1000)).await;
    }
    stop_load.store(true, Ordering::SeqCst);
    for task in load {
        task.await.unwrap();
    }

    let created = created.lock().unwrap().clone();
    assert!(
        created.len() > 20,
        "the load ran: {} tickets",
        created.len()
    );
    assert!(
        failures.lock().unwrap().is_empty(),
        "answered requests that failed: {:?}",
        failures.lock().unwrap()
    );
    let db = env.db().await;
    let stored = entity::ticket::Entity::find().count(&db).await.unwrap();
    assert_eq!(
        stored,
        created.len() as u64,
        "every answered listing is stored"
    );
    // Every listing was announced: the observer heard each one.
    let mut heard = HashSet::new();
    while heard.len() < created.len() {
        let Some(got) = observer.next_data("t", Duration::from_secs(10)).await else {
            break;
        };
        heard.insert(
            got["data"]["ticketCreated"]["id"]
                .as_str()
                .unwrap()
                .to_owned(),
        );
    }
    let missing: Vec<&String> = created.iter().filter(|id| !heard.contains(*id)).collect();
    assert!(missing.is_empty(), "announced to nobody: {missing:?}");
    let unpublished = outbox_event::Entity::find()
        .filter(outbox_event::Column::PublishedAt.is_null())
        .count(&db)
        .await
        .unwrap();
    assert_eq!(unpublished, 0, "every committed event was published");

    stop_listening.store(true, Ordering::SeqCst);
    for listener in listeners {
        listener.await.unwrap();
    }
    let closes = closes.lock().unwrap().clone();
    assert!(
        closes.iter().all(|(_, code)| *code == Some(1012)),
        "subscribers were told to reconnect (1012): {closes:?}"
    );
    let closed_by: HashSet<SocketAddr> = closes.iter().map(|(at, _)| *at).collect();
    assert!(
        closed_by.len() >= 3,
        "each stopped replica closed its subscribers: {closes:?}"
    );
    assert!(
        !heard_after_reconnect.lock().unwrap().is_empty(),
        "reconnected subscribers heard changes on their new replica"
    );
}

/// SIGTERM's work in one process, on both backend pairs: readiness turns 503, WebSockets are
/// closed with 1012 (reconnect), and a request in flight (a slow card charge) still finishes.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shutdown_finishes_requests_in_flight_and_closes_websockets_with_reconnect() {
    let stripe = FakeStripe::start().await;
    let env = TestEnv::new().await;
    let app = env.spawn_with(&stripe.vars()).await;
    let m = Market::open(&app).await;
    let o = create_order(&app, &m.buyer.token, m.ticket_id()).await["data"]["createOrder"].clone();
    let mut ws = ws_as(&app, &m.buyer.token).await;
    ws.subscribe("u", "subscription { orderUpdated { status } }")
        .await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    stripe.delay_confirm(Duration::from_millis(1500));

    let (addr, client) = (app.addr, app.client.clone());
    let paying = tokio::spawn({
        let app = TestApp::remote(addr, &env.database_url);
        let (token, id) = (m.buyer.token.clone(), o["id"].clone());
        async move {
            app.gql(
                "mutation($o: ID!) { payOrder(orderId: $o, token: \"tok_visa\") { id } }",
                json!({ "o": id }),
                Some(&token),
            )
            .await
        }
    });
    tokio::time::sleep(Duration::from_millis(500)).await;
    let stopping = tokio::spawn(app.stop());

    let mut close = None;
    while let Some(m) = ws.next_message(Duration::from_secs(5)).await {
        if m["type"] == "close" {
            close = Some(m);
            break;
        }
    }
    let close = close.expect("the socket was closed");
    assert_eq!(close["code"], 1012, "{close}");
    let ready = client.get(format!("http://{addr}/readyz")).send().await;
    assert!(
        ready.map_or(true, |r| r.status() == 503),
        "not ready while draining"
    );
    let paid = paying.await.unwrap();
    assert!(
        paid["data"]["payOrder"]["id"].is_string(),
        "the charge in flight finished: {paid}"
    );
    tokio::time::timeout(Duration::from_secs(15), stopping)
        .await
        .expect("stopped")
        .unwrap();
    assert_eq!(stripe.charged().len(), 1);
}

/// A session signed out on one replica loses its WebSockets on the others (4403), and they hear
/// no private event meanwhile.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn signing_out_on_one_replica_closes_the_sessions_websockets_on_the_others() {
    if !multi_process() {
        return;
    }
    let env = TestEnv::new().await;
    let replicas = three_replicas(&env, &[]).await;
    let user = replicas[0].app.sign_up(&unique_email()).await;
    let mut sockets = Vec::new();
    for r in &replicas[1..] {
        let mut ws = ws_as(&r.app, &user.token).await;
        ws.subscribe("u", "subscription { userUpdated { id email } }")
            .await;
        sockets.push(ws);
    }
    tokio::time::sleep(Duration::from_millis(300)).await;
    let out = replicas[0]
        .app
        .gql("mutation { signOut }", json!({}), Some(&user.token))
        .await;
    assert_eq!(out["data"]["signOut"], true, "{out}");
    for (n, ws) in sockets.iter_mut().enumerate() {
        // The subscription may end ("complete") before the socket closes; it delivers nothing.
        let mut closed = None;
        while let Some(msg) = ws.next_message(Duration::from_secs(5)).await {
            assert_ne!(msg["type"], "next", "replica {}: {msg}", n + 1);
            if msg["type"] == "close" {
                closed = msg["code"].as_u64();
                break;
            }
        }
        assert_eq!(closed, Some(4403), "replica {}", n + 1);
    }
}
