use std::time::Duration;

use entity::charge;
use futures_util::future::join_all;
use sea_orm::{ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter};
use serde_json::{Value, json};

use crate::{market::*, support::*};

const PAY: &str = "mutation($o: ID!, $t: String!) { payOrder(orderId: $o, token: $t) { id orderId amount currency providerId createdAt } }";

async fn pay(app: &TestApp, token: &str, order_id: &Value, card: &str) -> Value {
    app.gql(PAY, json!({ "o": order_id, "t": card }), Some(token))
        .await
}

async fn charges_of(env: &TestEnv, order_id: &Value) -> u64 {
    let id = uuid::Uuid::parse_str(order_id.as_str().unwrap()).unwrap();
    charge::Entity::find()
        .filter(charge::Column::OrderId.eq(id))
        .count(&env.db().await)
        .await
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn paying_completes_the_order_sells_the_ticket_and_tells_the_buyer() {
    let (env, app) = spawn().await;
    let seller = app.sign_up(&unique_email()).await;
    let buyer = app.sign_up(&unique_email()).await;
    let t = create_ticket(&app, &seller.token, "Gig", "19.99").await;
    let mut buyer_ws = ws_as(&app, &buyer.token).await;
    let mut seller_ws = ws_as(&app, &seller.token).await;
    buyer_ws
        .subscribe("c", "subscription { chargeCreated { orderId amount } }")
        .await;
    let mut updates_ws = ws_as(&app, &buyer.token).await;
    updates_ws
        .subscribe("u", "subscription { orderUpdated { status } }")
        .await;
    seller_ws
        .subscribe("c", "subscription { chargeCreated { orderId } }")
        .await;
    tokio::time::sleep(Duration::from_millis(300)).await;

    let o = create_order(&app, &buyer.token, &t["id"]).await["data"]["createOrder"].clone();
    let body = pay(&app, &buyer.token, &o["id"], "tok_visa").await;
    let c = &body["data"]["payOrder"];
    assert_eq!(
        (c["amount"].as_str(), c["currency"].as_str()),
        (Some("19.99"), Some("usd")),
        "{body}"
    );
    assert_eq!(c["orderId"], o["id"]);
    assert_eq!(charges_of(&env, &o["id"]).await, 1);

    let got = order(&app, &buyer.token, &o["id"]).await;
    let got = &got["data"]["order"];
    assert_eq!(got["status"], "COMPLETE");
    assert_eq!(got["ticket"]["status"], "SOLD");
    let charge = app
        .gql(
            "query($id: ID!) { order(id: $id) { charge { id } } }",
            json!({ "id": o["id"] }),
            Some(&buyer.token),
        )
        .await;
    assert_eq!(charge["data"]["order"]["charge"]["id"], c["id"], "{charge}");

    let pushed = buyer_ws
        .next_data("c", Duration::from_secs(5))
        .await
        .expect("chargeCreated");
    assert_eq!(pushed["data"]["chargeCreated"]["amount"], "19.99");
    let mut statuses = Vec::new();
    while let Some(u) = updates_ws.next_data("u", Duration::from_millis(700)).await {
        statuses.push(
            u["data"]["orderUpdated"]["status"]
                .as_str()
                .unwrap()
                .to_owned(),
        );
    }
    assert_eq!(statuses, ["AWAITING_PAYMENT", "COMPLETE"]);
    assert!(
        seller_ws
            .next_data("c", Duration::from_millis(300))
            .await
            .is_none(),
        "a charge leaked"
    );

    // Sold: nobody orders it, its seller cannot edit it.
    let other = app.sign_up(&unique_email()).await;
    assert_eq!(
        error_code(&create_order(&app, &other.token, &t["id"]).await),
        Some("CONFLICT")
    );
    let edit = update_ticket(&app, &seller.token, &t["id"], json!({ "price": "1" })).await;
    assert_eq!(error_code(&edit), Some("CONFLICT"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn paying_is_refused_for_missing_foreign_cancelled_or_tokenless_orders() {
    let (env, app) = spawn().await;
    let m = Market::open(&app).await;
    let o = create_order(&app, &m.buyer.token, m.ticket_id()).await["data"]["createOrder"].clone();
    let missing = json!(uuid::Uuid::new_v4().to_string());
    assert_eq!(
        error_code(&pay(&app, &m.buyer.token, &missing, "tok_visa").await),
        Some("NOT_FOUND")
    );
    assert_eq!(
        error_code(&pay(&app, &m.seller.token, &o["id"], "tok_visa").await),
        Some("NOT_FOUND")
    );
    let anon = app
        .gql(PAY, json!({ "o": o["id"], "t": "tok_visa" }), None)
        .await;
    assert_eq!(error_code(&anon), Some("UNAUTHENTICATED"));
    let body = pay(&app, &m.buyer.token, &o["id"], "  ").await;
    assert_eq!(error_fields(&body), ["token"], "{body}");
    cancel_order(&app, &m.buyer.token, &o["id"]).await;
    assert_eq!(
        error_code(&pay(&app, &m.buyer.token, &o["id"], "tok_visa").await),
        Some("CONFLICT")
    );
    assert_eq!(charges_of(&env, &o["id"]).await, 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn paying_again_or_at_once_charges_once() {
    let (env, app) = spawn().await;
    let m = Market::open(&app).await;
    let o = create_order(&app, &m.buyer.token, m.ticket_id()).await["data"]["createOrder"].clone();
    let results = join_all((0..8).map(|_| pay(&app, &m.buyer.token, &o["id"], "tok_visa"))).await;
    let ids: std::collections::HashSet<&str> = results
        .iter()
        .filter_map(|r| r["data"]["payOrder"]["id"].as_str())
        .collect();
    assert_eq!(ids.len(), 1, "{results:?}");
    for r in &results {
        assert!(
            r["data"]["payOrder"].is_object() || error_code(r) == Some("CONFLICT"),
            "{r}"
        );
    }
    let again = pay(&app, &m.buyer.token, &o["id"], "tok_visa").await;
    assert!(
        ids.contains(again["data"]["payOrder"]["id"].as_str().unwrap()),
        "{again}"
    );
    assert_eq!(charges_of(&env, &o["id"]).await, 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_declined_card_leaves_the_order_payable() {
    let (env, app) = spawn().await;
    let m = Market::open(&app).await;
    let o = create_order(&app, &m.buyer.token, m.ticket_id()).await["data"]["createOrder"].clone();
    for card in [
        "tok_chargeDeclined",
        "pm_card_chargeDeclined",
        "tok_made_up",
    ] {
        let body = pay(&app, &m.buyer.token, &o["id"], card).await;
        assert_eq!(error_code(&body), Some("PAYMENT_FAILED"), "{card}: {body}");
    }
    let got = order(&app, &m.buyer.token, &o["id"]).await;
    assert_eq!(got["data"]["order"]["status"], "CREATED");
    assert_eq!(
        got["data"]["order"]["expiresAt"], o["expiresAt"],
        "keeps its deadline"
    );
    assert_eq!(got["data"]["order"]["ticket"]["status"], "RESERVED");
    assert_eq!(charges_of(&env, &o["id"]).await, 0);
    let body = pay(&app, &m.buyer.token, &o["id"], "tok_visa").await;
    assert!(
        body["data"]["payOrder"]["id"].is_string(),
        "a retry after a decline is a new attempt: {body}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_expired_order_is_never_charged() {
    let env = TestEnv::new().await;
    let app = env.spawn_with(&[("ORDER_TTL_SECONDS", "1")]).await;
    let m = Market::open(&app).await;
    let o = create_order(&app, &m.buyer.token, m.ticket_id()).await["data"]["createOrder"].clone();
    tokio::time::sleep(Duration::from_millis(1600)).await;
    let body = pay(&app, &m.buyer.token, &o["id"], "tok_visa").await;
    assert_eq!(error_code(&body), Some("CONFLICT"), "{body}");
    assert_eq!(charges_of(&env, &o["id"]).await, 0);
    assert_eq!(ticket(&app, m.ticket_id()).await["status"], "AVAILABLE");
}

/// Orders a crash left mid-payment are settled by asking the processor, never by charging: one
/// the processor never charged is payable again, or expired if its time ran out meanwhile.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn orders_left_mid_payment_by_a_crash_are_settled_without_charging() {
    use entity::order;
    use sea_orm::{ActiveModelTrait, ActiveValue::Set};
    let (env, app) = spawn().await;
    let m = Market::open(&app).await;
    let second = create_ticket(&app, &m.seller.token, "Other", "5").await;
    let payable =
        create_order(&app, &m.buyer.token, m.ticket_id()).await["data"]["createOrder"].clone();
    let overdue =
        create_order(&app, &m.buyer.token, &second["id"]).await["data"]["createOrder"].clone();

    // What a process that died mid-charge leaves behind.
    let db = env.db().await;
    let long_ago = chrono::Utc::now() - chrono::Duration::minutes(5);
    for (o, past_deadline) in [(&payable, false), (&overdue, true)] {
        let id = uuid::Uuid::parse_str(o["id"].as_str().unwrap()).unwrap();
        let row = order::Entity::find_by_id(id)
            .one(&db)
            .await
            .unwrap()
            .unwrap();
        let mut row: order::ActiveModel = row.into();
        row.status = Set(order::OrderStatus::AwaitingPayment);
        row.payment_attempts = Set(1);
        row.updated_at = Set(long_ago);
        if past_deadline {
            row.expires_at = Set(long_ago);
        }
        row.update(&db).await.unwrap();
    }
    let settled = eventually(Duration::from_secs(20), || async {
        let a = order(&app, &m.buyer.token, &payable["id"]).await;
        let b = order(&app, &m.buyer.token, &overdue["id"]).await;
        a["data"]["order"]["status"] == "CREATED" && b["data"]["order"]["status"] == "CANCELLED"
    })
    .await;
    assert!(settled, "the reconciler settled both");
    assert_eq!(ticket(&app, &second["id"]).await["status"], "AVAILABLE");
    assert_eq!(
        charges_of(&env, &payable["id"]).await + charges_of(&env, &overdue["id"]).await,
        0
    );
    let body = pay(&app, &m.buyer.token, &payable["id"], "tok_visa").await;
    assert!(body["data"]["payOrder"]["id"].is_string(), "{body}");
}

/// Orders and charges resolve as federation entities for their buyer only.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn order_and_charge_entities_resolve_for_their_buyer_only() {
    let (_env, app) = spawn().await;
    let m = Market::open(&app).await;
    let o = create_order(&app, &m.buyer.token, m.ticket_id()).await["data"]["createOrder"].clone();
    let c = pay(&app, &m.buyer.token, &o["id"], "tok_visa").await["data"]["payOrder"].clone();
    let query = "query($r: [_Any!]!) { _entities(representations: $r) {
        ... on Order { id status } ... on Charge { id amount } ... on Ticket { id status } } }";
    let reps = json!({ "r": [
        { "__typename": "Order", "id": o["id"] },
        { "__typename": "Charge", "id": c["id"] },
        { "__typename": "Ticket", "id": m.ticket_id() },
    ] });
    let mine = app.gql(query, reps.clone(), Some(&m.buyer.token)).await;
    assert_eq!(mine["data"]["_entities"][0]["status"], "COMPLETE", "{mine}");
    assert_eq!(mine["data"]["_entities"][1]["amount"], "20.00", "{mine}");
    assert_eq!(mine["data"]["_entities"][2]["status"], "SOLD", "{mine}");
    let seller = app.gql(query, reps, Some(&m.seller.token)).await;
    assert!(seller["data"]["_entities"][0].is_null(), "{seller}");
    assert!(seller["data"]["_entities"][1].is_null(), "{seller}");
    assert_eq!(
        seller["data"]["_entities"][2]["status"], "SOLD",
        "tickets are public"
    );
}
