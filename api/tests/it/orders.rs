use std::time::Duration;

use futures_util::future::join_all;
use serde_json::{Value, json};

use crate::{market::*, support::*};

/// How late an expiry may be here and still count as on time: well under the 5 s sweep, so a
/// broken deadline schedule shows, yet loose enough for a loaded CI machine. The real lag is
/// measured by the bench (`scripts/bench --only expiry`; p99 about 0.3 s for 10,000 orders).
const DEADLINE_SLACK: chrono::Duration = chrono::Duration::milliseconds(3000);

fn expires_at(order: &Value) -> chrono::DateTime<chrono::Utc> {
    order["expiresAt"].as_str().unwrap().parse().unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_order_reserves_the_ticket_at_its_price_for_the_ttl() {
    let (_env, app) = spawn().await;
    let m = Market::open(&app).await;
    let before = chrono::Utc::now();
    let body = create_order(&app, &m.buyer.token, m.ticket_id()).await;
    let o = &body["data"]["createOrder"];
    assert_eq!(o["status"], "CREATED", "{body}");
    assert_eq!(o["price"], "20.00");
    assert_eq!(o["buyerId"], m.buyer.user_id.as_str());
    let ttl = expires_at(o) - before;
    assert!(
        ttl > chrono::Duration::seconds(895) && ttl <= chrono::Duration::seconds(901),
        "{ttl}"
    );
    assert_eq!(o["ticket"]["status"], "RESERVED");
    assert_eq!(o["ticket"]["reservedUntil"], o["expiresAt"]);

    let t = ticket(&app, m.ticket_id()).await;
    assert_eq!(
        (t["status"].as_str(), t["version"].as_i64()),
        (Some("RESERVED"), Some(2))
    );
    // Reserved: nobody else orders it, its seller cannot edit it, a stranger is still FORBIDDEN.
    let other = app.sign_up(&unique_email()).await;
    assert_eq!(
        error_code(&create_order(&app, &other.token, m.ticket_id()).await),
        Some("CONFLICT")
    );
    assert_eq!(
        error_code(&create_order(&app, &m.buyer.token, m.ticket_id()).await),
        Some("CONFLICT")
    );
    let edit = update_ticket(
        &app,
        &m.seller.token,
        m.ticket_id(),
        json!({ "price": "1" }),
    )
    .await;
    assert_eq!(error_code(&edit), Some("CONFLICT"), "{edit}");
    let edit = update_ticket(&app, &other.token, m.ticket_id(), json!({ "price": "1" })).await;
    assert_eq!(
        error_code(&edit),
        Some("FORBIDDEN"),
        "ownership before state: {edit}"
    );
    assert_eq!(ticket(&app, m.ticket_id()).await["price"], "20.00");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ordering_is_refused_for_your_own_missing_or_stale_tickets_and_anonymously() {
    let (_env, app) = spawn().await;
    let m = Market::open(&app).await;
    assert_eq!(
        error_code(&create_order(&app, &m.seller.token, m.ticket_id()).await),
        Some("FORBIDDEN")
    );
    let missing = json!(uuid::Uuid::new_v4().to_string());
    assert_eq!(
        error_code(&create_order(&app, &m.buyer.token, &missing).await),
        Some("NOT_FOUND")
    );
    let anon = app
        .gql(
            "mutation($t: ID!) { createOrder(ticketId: $t) { id } }",
            json!({ "t": m.ticket_id() }),
            None,
        )
        .await;
    assert_eq!(error_code(&anon), Some("UNAUTHENTICATED"));
    let stale = app
        .gql(
            "mutation($t: ID!) { createOrder(ticketId: $t, expectedVersion: 7) { id } }",
            json!({ "t": m.ticket_id() }),
            Some(&m.buyer.token),
        )
        .await;
    assert_eq!(error_code(&stale), Some("CONFLICT"), "{stale}");
    assert_eq!(
        ticket(&app, m.ticket_id()).await["status"],
        "AVAILABLE",
        "refusals changed nothing"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn only_the_buyer_sees_lists_or_cancels_an_order() {
    let (_env, app) = spawn().await;
    let m = Market::open(&app).await;
    let o = create_order(&app, &m.buyer.token, m.ticket_id()).await["data"]["createOrder"].clone();
    let stranger = app.sign_up(&unique_email()).await;
    assert_eq!(
        error_code(&order(&app, &stranger.token, &o["id"]).await),
        Some("NOT_FOUND")
    );
    assert_eq!(
        error_code(&cancel_order(&app, &stranger.token, &o["id"]).await),
        Some("NOT_FOUND")
    );
    assert_eq!(
        error_code(
            &order(
                &app,
                &m.buyer.token,
                &json!(uuid::Uuid::new_v4().to_string())
            )
            .await
        ),
        Some("NOT_FOUND")
    );
    assert_eq!(
        order(&app, &m.buyer.token, &o["id"]).await["data"]["order"]["id"],
        o["id"]
    );

    let q = "{ orders { edges { node { id ticket { id title } } } } }";
    let mine = app.gql(q, json!({}), Some(&m.buyer.token)).await;
    assert_eq!(
        mine["data"]["orders"]["edges"][0]["node"]["id"], o["id"],
        "{mine}"
    );
    assert_eq!(
        mine["data"]["orders"]["edges"][0]["node"]["ticket"]["title"],
        "Concert"
    );
    let theirs = app.gql(q, json!({}), Some(&stranger.token)).await;
    assert_eq!(theirs["data"]["orders"]["edges"], json!([]), "{theirs}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cancelling_puts_the_ticket_back_on_sale_once() {
    let (_env, app) = spawn().await;
    let m = Market::open(&app).await;
    let o = create_order(&app, &m.buyer.token, m.ticket_id()).await["data"]["createOrder"].clone();
    let body = cancel_order(&app, &m.buyer.token, &o["id"]).await;
    assert_eq!(body["data"]["cancelOrder"]["status"], "CANCELLED", "{body}");
    assert_eq!(body["data"]["cancelOrder"]["ticket"]["status"], "AVAILABLE");
    let t = ticket(&app, m.ticket_id()).await;
    assert_eq!(
        (t["status"].as_str(), t["version"].as_i64()),
        (Some("AVAILABLE"), Some(3))
    );
    assert!(t["reservedUntil"].is_null());
    assert_eq!(
        error_code(&cancel_order(&app, &m.buyer.token, &o["id"]).await),
        Some("CONFLICT")
    );
    // On sale again: another buyer can take it (the lock was released too).
    let other = app.sign_up(&unique_email()).await;
    let again = create_order(&app, &other.token, m.ticket_id()).await;
    assert_eq!(again["data"]["createOrder"]["status"], "CREATED", "{again}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_held_ticket_is_refused_from_its_lock_alone_and_its_seller_still_gets_forbidden() {
    let (_env, app) = spawn().await;
    let m = Market::open(&app).await;
    let won = create_order(&app, &m.buyer.token, m.ticket_id()).await;
    assert_eq!(won["data"]["createOrder"]["status"], "CREATED", "{won}");
    let late = app.sign_up(&unique_email()).await;
    let before = statements(&app, "SELECT", "tickets").await;
    for _ in 0..5 {
        let body = create_order(&app, &late.token, m.ticket_id()).await;
        assert_eq!(error_code(&body), Some("CONFLICT"), "{body}");
    }
    assert_eq!(
        statements(&app, "SELECT", "tickets").await - before,
        0,
        "the lock answered: the ticket was not read again"
    );
    let own = create_order(&app, &m.seller.token, m.ticket_id()).await;
    assert_eq!(error_code(&own), Some("FORBIDDEN"), "held or not: {own}");

    let cancelled = cancel_order(&app, &m.buyer.token, &won["data"]["createOrder"]["id"]).await;
    assert_eq!(cancelled["data"]["cancelOrder"]["status"], "CANCELLED");
    let again = create_order(&app, &late.token, m.ticket_id()).await;
    assert_eq!(again["data"]["createOrder"]["status"], "CREATED", "{again}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fifty_buyers_racing_for_one_ticket_make_exactly_one_order() {
    let (_env, app) = spawn().await;
    let seller = app.sign_up(&unique_email()).await;
    let t = create_ticket(&app, &seller.token, "Hot", "99").await;
    let mut buyers = Vec::new();
    for _ in 0..50 {
        buyers.push(app.sign_up(&unique_email()).await);
    }
    let results = join_all(
        buyers
            .iter()
            .map(|b| create_order(&app, &b.token, &t["id"])),
    )
    .await;
    let wins = results
        .iter()
        .filter(|r| r["data"]["createOrder"]["id"].is_string())
        .count();
    let conflicts = results
        .iter()
        .filter(|r| error_code(r) == Some("CONFLICT"))
        .count();
    assert_eq!((wins, conflicts), (1, 49), "{results:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_edit_racing_a_reservation_never_yields_a_price_nobody_saw() {
    let (_env, app) = spawn().await;
    for round in 0..10 {
        let m = Market::open(&app).await;
        let (edit, order) = tokio::join!(
            update_ticket(&app, &m.seller.token, m.ticket_id(), json!({ "price": "99.00", "expectedVersion": 1 })),
            app.gql(
                "mutation($t: ID!) { createOrder(ticketId: $t, expectedVersion: 1) { price ticket { price version } } }",
                json!({ "t": m.ticket_id() }),
                Some(&m.buyer.token),
            ),
        );
        let edited = edit["data"]["updateTicket"].is_object();
        let ordered = order["data"]["createOrder"].is_object();
        assert!(
            edited != ordered,
            "round {round}: exactly one wins: {edit} {order}"
        );
        if ordered {
            assert_eq!(
                order["data"]["createOrder"]["price"], "20.00",
                "the price the buyer saw"
            );
            assert_eq!(ticket(&app, m.ticket_id()).await["price"], "20.00");
        } else {
            assert_eq!(error_code(&order), Some("CONFLICT"));
            assert_eq!(ticket(&app, m.ticket_id()).await["status"], "AVAILABLE");
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_buyer_holds_at_most_max_live_orders() {
    let env = TestEnv::new().await;
    let app = env.spawn_with(&[("MAX_LIVE_ORDERS", "2")]).await;
    let seller = app.sign_up(&unique_email()).await;
    let buyer = app.sign_up(&unique_email()).await;
    let mut tickets = Vec::new();
    for n in 0..4 {
        tickets.push(create_ticket(&app, &seller.token, &format!("T{n}"), "5").await["id"].clone());
    }
    let results = join_all(
        tickets[..3]
            .iter()
            .map(|t| create_order(&app, &buyer.token, t)),
    )
    .await;
    let wins: Vec<&Value> = results
        .iter()
        .filter(|r| r["data"]["createOrder"].is_object())
        .collect();
    assert_eq!(wins.len(), 2, "{results:?}");
    assert_eq!(
        results
            .iter()
            .filter(|r| error_code(r) == Some("CONFLICT"))
            .count(),
        1
    );
    cancel_order(&app, &buyer.token, &wins[0]["data"]["createOrder"]["id"]).await;
    assert!(create_order(&app, &buyer.token, &tickets[3]).await["data"]["createOrder"].is_object());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unpaid_order_expires_on_time_and_only_its_buyer_hears() {
    let env = TestEnv::new().await;
    let app = env.spawn_with(&[("ORDER_TTL_SECONDS", "1")]).await;
    let m = Market::open(&app).await;
    let other = app.sign_up(&unique_email()).await;
    let mut buyer_ws = ws_as(&app, &m.buyer.token).await;
    let mut other_ws = ws_as(&app, &other.token).await;
    let mut public_ws = WsClient::connect(&app, WsOptions::default()).await;
    buyer_ws
        .subscribe(
            "x",
            "subscription { orderExpired { id status ticket { status } } }",
        )
        .await;
    buyer_ws
        .subscribe("u", "subscription { orderUpdated { id status } }")
        .await;
    other_ws
        .subscribe("x", "subscription { orderExpired { id } }")
        .await;
    public_ws
        .subscribe(
            "t",
            &format!(
                "subscription {{ ticketUpdated(id: \"{}\") {{ status }} }}",
                m.ticket_id().as_str().unwrap()
            ),
        )
        .await;
    tokio::time::sleep(Duration::from_millis(300)).await;

    let o = create_order(&app, &m.buyer.token, m.ticket_id()).await["data"]["createOrder"].clone();
    let pushed = buyer_ws
        .next_data("x", Duration::from_secs(5))
        .await
        .expect("orderExpired pushed");
    let lag = chrono::Utc::now() - expires_at(&o);
    assert!(lag < DEADLINE_SLACK, "pushed {lag} after expiresAt");
    assert_eq!(pushed["data"]["orderExpired"]["id"], o["id"]);
    assert_eq!(pushed["data"]["orderExpired"]["status"], "CANCELLED");
    assert_eq!(
        pushed["data"]["orderExpired"]["ticket"]["status"],
        "AVAILABLE"
    );
    let updated = buyer_ws
        .next_data("u", Duration::from_secs(2))
        .await
        .expect("orderUpdated");
    assert_eq!(updated["data"]["orderUpdated"]["status"], "CANCELLED");
    assert_eq!(
        public_ws
            .next_data("t", Duration::from_secs(2))
            .await
            .unwrap()["data"]["ticketUpdated"]["status"],
        "RESERVED"
    );
    assert_eq!(
        public_ws
            .next_data("t", Duration::from_secs(2))
            .await
            .unwrap()["data"]["ticketUpdated"]["status"],
        "AVAILABLE"
    );
    assert!(
        other_ws
            .next_data("x", Duration::from_millis(500))
            .await
            .is_none(),
        "leaked to another user"
    );

    assert_eq!(
        order(&app, &m.buyer.token, &o["id"]).await["data"]["order"]["status"],
        "CANCELLED"
    );
    assert_eq!(ticket(&app, m.ticket_id()).await["status"], "AVAILABLE");
    assert_eq!(
        error_code(&cancel_order(&app, &m.buyer.token, &o["id"]).await),
        Some("CONFLICT")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pending_orders_still_expire_after_a_restart() {
    let env = TestEnv::new().await;
    let app = env.spawn_with(&[("ORDER_TTL_SECONDS", "2")]).await;
    let m = Market::open(&app).await;
    let o = create_order(&app, &m.buyer.token, m.ticket_id()).await["data"]["createOrder"].clone();
    app.stop().await;
    let app = env.spawn_with(&[("ORDER_TTL_SECONDS", "2")]).await;
    let expired = eventually(Duration::from_secs(6), || async {
        order(&app, &m.buyer.token, &o["id"]).await["data"]["order"]["status"] == "CANCELLED"
    })
    .await;
    assert!(expired, "expired after the restart");
    let late = chrono::Utc::now() - expires_at(&o);
    assert!(late < DEADLINE_SLACK, "{late}");
    assert_eq!(ticket(&app, m.ticket_id()).await["status"], "AVAILABLE");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cancel_racing_expiry_settles_the_order_exactly_once() {
    let env = TestEnv::new().await;
    let app = env.spawn_with(&[("ORDER_TTL_SECONDS", "1")]).await;
    let m = Market::open(&app).await;
    let mut ws = ws_as(&app, &m.buyer.token).await;
    ws.subscribe("u", "subscription { orderUpdated { id status } }")
        .await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    let o = create_order(&app, &m.buyer.token, m.ticket_id()).await["data"]["createOrder"].clone();
    let wait = (expires_at(&o) - chrono::Utc::now())
        .to_std()
        .unwrap_or_default();
    tokio::time::sleep(wait.saturating_sub(Duration::from_millis(5))).await;
    let cancel = cancel_order(&app, &m.buyer.token, &o["id"]).await;
    assert!(
        cancel["data"]["cancelOrder"]["status"] == "CANCELLED"
            || error_code(&cancel) == Some("CONFLICT"),
        "{cancel}"
    );
    let first = ws
        .next_data("u", Duration::from_secs(5))
        .await
        .expect("one update");
    assert_eq!(first["data"]["orderUpdated"]["status"], "CANCELLED");
    assert!(
        ws.next_data("u", Duration::from_millis(1500))
            .await
            .is_none(),
        "settled twice"
    );
    let t = ticket(&app, m.ticket_id()).await;
    assert_eq!(
        (t["status"].as_str(), t["version"].as_i64()),
        (Some("AVAILABLE"), Some(3)),
        "released once"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stale_expiry_never_frees_a_newer_reservation() {
    let env = TestEnv::new().await;
    let app = env.spawn_with(&[("ORDER_TTL_SECONDS", "1")]).await;
    let m = Market::open(&app).await;
    let first =
        create_order(&app, &m.buyer.token, m.ticket_id()).await["data"]["createOrder"].clone();
    assert!(
        eventually(Duration::from_secs(5), || async {
            ticket(&app, m.ticket_id()).await["status"] == "AVAILABLE"
        })
        .await
    );
    // Re-reserved at once by someone else, with a longer hold on a second replica.
    let app2 = env.spawn_with(&[("ORDER_TTL_SECONDS", "60")]).await;
    let other = app2.sign_up(&unique_email()).await;
    let second =
        create_order(&app2, &other.token, m.ticket_id()).await["data"]["createOrder"].clone();
    assert_eq!(second["status"], "CREATED", "{second}");

    if backend() == Backend::PostgresRedis {
        // A late keyspace notification for the first order's lock: the key is the same ticket's.
        let client = redis::Client::open(redis_url()).unwrap();
        let mut conn = client.get_multiplexed_async_connection().await.unwrap();
        let key = format!(
            "{}lock:ticket:{}",
            env.redis_prefix,
            m.ticket_id().as_str().unwrap()
        );
        let _: i64 = redis::cmd("PUBLISH")
            .arg("__keyevent@0__:expired")
            .arg(key)
            .query_async(&mut conn)
            .await
            .unwrap();
    }
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert_eq!(
        order(&app2, &other.token, &second["id"]).await["data"]["order"]["status"],
        "CREATED"
    );
    let t = ticket(&app2, m.ticket_id()).await;
    assert_eq!(t["status"], "RESERVED", "{t}");
    assert_eq!(
        order(&app, &m.buyer.token, &first["id"]).await["data"]["order"]["status"],
        "CANCELLED"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_order_whose_lock_redis_lost_still_expires_on_time() {
    if backend() != Backend::PostgresRedis {
        return;
    }
    let env = TestEnv::new().await;
    let app = env.spawn_with(&[("ORDER_TTL_SECONDS", "2")]).await;
    let m = Market::open(&app).await;
    let o = create_order(&app, &m.buyer.token, m.ticket_id()).await["data"]["createOrder"].clone();
    let client = redis::Client::open(redis_url()).unwrap();
    let mut conn = client.get_multiplexed_async_connection().await.unwrap();
    let key = format!(
        "{}lock:ticket:{}",
        env.redis_prefix,
        m.ticket_id().as_str().unwrap()
    );
    let deleted: i64 = redis::cmd("DEL")
        .arg(&key)
        .query_async(&mut conn)
        .await
        .unwrap();
    assert_eq!(deleted, 1, "the lock was in Redis");
    // With the lock gone, the database still refuses a second order.
    let other = app.sign_up(&unique_email()).await;
    assert_eq!(
        error_code(&create_order(&app, &other.token, m.ticket_id()).await),
        Some("CONFLICT")
    );
    let expired = eventually(Duration::from_secs(5), || async {
        order(&app, &m.buyer.token, &o["id"]).await["data"]["order"]["status"] == "CANCELLED"
    })
    .await;
    assert!(expired);
    let late = chrono::Utc::now() - expires_at(&o);
    assert!(late < DEADLINE_SLACK, "{late}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_replicas_announce_an_expiry_once_and_share_changes() {
    let env = TestEnv::new().await;
    let a = env.spawn_with(&[("ORDER_TTL_SECONDS", "1")]).await;
    let b = if backend() == Backend::PostgresRedis {
        env.spawn_with(&[("ORDER_TTL_SECONDS", "1")]).await
    } else {
        // Two processes on one SQLite file share no bus: the embedded backend is one process.
        return;
    };
    let m = Market::open(&a).await;
    let mut on_a = ws_as(&a, &m.buyer.token).await;
    let mut on_b = ws_as(&b, &m.buyer.token).await;
    on_a.subscribe("x", "subscription { orderExpired { id } }")
        .await;
    on_b.subscribe("x", "subscription { orderExpired { id } }")
        .await;
    on_b.subscribe("c", "subscription { orderCreated { id } }")
        .await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    let o = create_order(&a, &m.buyer.token, m.ticket_id()).await["data"]["createOrder"].clone();
    let created = on_b
        .next_data("c", Duration::from_secs(5))
        .await
        .expect("B hears A's order");
    assert_eq!(created["data"]["orderCreated"]["id"], o["id"]);
    for ws in [&mut on_a, &mut on_b] {
        let got = ws
            .next_data("x", Duration::from_secs(5))
            .await
            .expect("expired");
        assert_eq!(got["data"]["orderExpired"]["id"], o["id"]);
        assert!(
            ws.next_data("x", Duration::from_millis(1500))
                .await
                .is_none(),
            "announced twice"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn listing_orders_with_their_tickets_loads_tickets_in_one_batch() {
    let (_env, app) = spawn().await;
    let seller = app.sign_up(&unique_email()).await;
    let buyer = app.sign_up(&unique_email()).await;
    for n in 0..5 {
        let t = create_ticket(&app, &seller.token, &format!("T{n}"), "5").await;
        assert!(
            create_order(&app, &buyer.token, &t["id"]).await["data"]["createOrder"].is_object()
        );
    }
    let before = statements(&app, "SELECT", "tickets").await;
    let body = app
        .gql(
            "{ orders { edges { node { id ticket { id title } } } } }",
            json!({}),
            Some(&buyer.token),
        )
        .await;
    assert_eq!(
        body["data"]["orders"]["edges"].as_array().unwrap().len(),
        5,
        "{body}"
    );
    let after = statements(&app, "SELECT", "tickets").await;
    assert_eq!(
        after - before,
        1,
        "one batched ticket query for five orders"
    );
}

/// Redis restarted empty: the lock and the subscriptions are gone, yet the order expires on time
/// and its buyer hears it (the bus reconnects and resubscribes by itself).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn orders_expire_and_are_announced_after_redis_restarts_empty() {
    if backend() != Backend::PostgresRedis {
        return;
    }
    let redis = PrivateRedis::start();
    let env = TestEnv::new().await;
    let app = env
        .spawn_with(&[
            ("REDIS_URL", redis.url.as_str()),
            ("ORDER_TTL_SECONDS", "8"),
        ])
        .await;
    let m = Market::open(&app).await;
    let mut ws = ws_as(&app, &m.buyer.token).await;
    ws.subscribe("x", "subscription { orderExpired { id } }")
        .await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    let o = create_order(&app, &m.buyer.token, m.ticket_id()).await["data"]["createOrder"].clone();
    assert_eq!(o["status"], "CREATED", "{o}");

    redis.stop();
    redis.restart();
    let pushed = ws
        .next_data("x", Duration::from_secs(15))
        .await
        .expect("announced after the restart");
    assert_eq!(pushed["data"]["orderExpired"]["id"], o["id"]);
    let late = chrono::Utc::now() - expires_at(&o);
    assert!(late < DEADLINE_SLACK, "{late}");
    assert_eq!(ticket(&app, m.ticket_id()).await["status"], "AVAILABLE");
}
