use std::time::Duration;

use entity::charge;
use futures_util::future::join_all;
use sea_orm::{ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter};
use serde_json::{Value, json};

use crate::{fake_stripe::FakeStripe, market::*, support::*};

/// Which processor a test pays through: the built-in test processor, or async-stripe talking to
/// the local fake of Stripe's API.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Via {
    Builtin,
    Stripe,
}

/// Runs each test against both processors, as `<test>::builtin` and `<test>::stripe`.
macro_rules! with_each_processor {
    ($($name:ident),* $(,)?) => {$(
        mod $name {
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn builtin() {
                super::$name(super::Via::Builtin).await
            }
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn stripe() {
                super::$name(super::Via::Stripe).await
            }
        }
    )*};
}

with_each_processor!(
    paying_completes_the_order_sells_the_ticket_and_tells_the_buyer,
    paying_is_refused_for_missing_foreign_cancelled_or_tokenless_orders,
    paying_again_or_at_once_charges_once,
    a_declined_card_leaves_the_order_payable,
    an_expired_order_is_never_charged,
    orders_left_mid_payment_by_a_crash_are_settled_without_charging,
    order_and_charge_entities_resolve_for_their_buyer_only,
);

/// A deployment paying through `via`, with the fake Stripe it talks to when that is Stripe.
struct Shop {
    env: TestEnv,
    app: TestApp,
    stripe: Option<FakeStripe>,
}

impl Shop {
    async fn open(via: Via, extra: &[(&str, &str)]) -> Self {
        let env = TestEnv::new().await;
        let stripe = match via {
            Via::Builtin => None,
            Via::Stripe => Some(FakeStripe::start().await),
        };
        let mut vars = extra.to_vec();
        if let Some(stripe) = &stripe {
            vars.extend(stripe.vars());
        }
        let app = env.spawn_with(&vars).await;
        Self { env, app, stripe }
    }

    /// The fake Stripe's PaymentIntents that took money for `order_id`; `None` for the built-in.
    fn charged_at_stripe(&self, order_id: &Value) -> Option<usize> {
        let stripe = self.stripe.as_ref()?;
        Some(
            stripe
                .charged()
                .iter()
                .filter(|pi| pi["metadata"]["order_id"] == *order_id)
                .count(),
        )
    }

    /// Checks both ledgers: our charge rows and, with Stripe, the money Stripe took.
    async fn assert_charged(&self, order_id: &Value, times: u64) {
        assert_eq!(charges_of(&self.env, order_id).await, times, "charge rows");
        if let Some(at_stripe) = self.charged_at_stripe(order_id) {
            assert_eq!(at_stripe as u64, times, "charges at Stripe");
        }
    }
}

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

async fn paying_completes_the_order_sells_the_ticket_and_tells_the_buyer(via: Via) {
    let shop = Shop::open(via, &[]).await;
    let app = &shop.app;
    let seller = app.sign_up(&unique_email()).await;
    let buyer = app.sign_up(&unique_email()).await;
    let t = create_ticket(app, &seller.token, "Gig", "19.99").await;
    let mut buyer_ws = ws_as(app, &buyer.token).await;
    let mut seller_ws = ws_as(app, &seller.token).await;
    buyer_ws
        .subscribe("c", "subscription { chargeCreated { orderId amount } }")
        .await;
    let mut updates_ws = ws_as(app, &buyer.token).await;
    updates_ws
        .subscribe("u", "subscription { orderUpdated { status } }")
        .await;
    seller_ws
        .subscribe("c", "subscription { chargeCreated { orderId } }")
        .await;
    tokio::time::sleep(Duration::from_millis(300)).await;

    let o = create_order(app, &buyer.token, &t["id"]).await["data"]["createOrder"].clone();
    let body = pay(app, &buyer.token, &o["id"], "tok_visa").await;
    let c = &body["data"]["payOrder"];
    assert_eq!(
        (c["amount"].as_str(), c["currency"].as_str()),
        (Some("19.99"), Some("usd")),
        "{body}"
    );
    assert_eq!(c["orderId"], o["id"]);
    shop.assert_charged(&o["id"], 1).await;
    if let Some(stripe) = &shop.stripe {
        let created: Vec<_> = stripe
            .requests()
            .into_iter()
            .filter(|r| r.path == "/v1/payment_intents")
            .collect();
        assert_eq!(created.len(), 1);
        let form = &created[0].form;
        assert_eq!(form["amount"], "1999", "19.99 is 1999 cents");
        assert_eq!(form["currency"], "usd");
        assert_eq!(form["payment_method_data[card][token]"], "tok_visa");
        assert_eq!(c["providerId"], stripe.charged()[0]["id"]);
    }

    let got = order(app, &buyer.token, &o["id"]).await;
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
        error_code(&create_order(app, &other.token, &t["id"]).await),
        Some("CONFLICT")
    );
    let edit = update_ticket(app, &seller.token, &t["id"], json!({ "price": "1" })).await;
    assert_eq!(error_code(&edit), Some("CONFLICT"));
}

async fn paying_is_refused_for_missing_foreign_cancelled_or_tokenless_orders(via: Via) {
    let shop = Shop::open(via, &[]).await;
    let app = &shop.app;
    let m = Market::open(app).await;
    let o = create_order(app, &m.buyer.token, m.ticket_id()).await["data"]["createOrder"].clone();
    let missing = json!(uuid::Uuid::new_v4().to_string());
    assert_eq!(
        error_code(&pay(app, &m.buyer.token, &missing, "tok_visa").await),
        Some("NOT_FOUND")
    );
    assert_eq!(
        error_code(&pay(app, &m.seller.token, &o["id"], "tok_visa").await),
        Some("NOT_FOUND")
    );
    let anon = app
        .gql(PAY, json!({ "o": o["id"], "t": "tok_visa" }), None)
        .await;
    assert_eq!(error_code(&anon), Some("UNAUTHENTICATED"));
    let body = pay(app, &m.buyer.token, &o["id"], "  ").await;
    assert_eq!(error_fields(&body), ["token"], "{body}");
    cancel_order(app, &m.buyer.token, &o["id"]).await;
    assert_eq!(
        error_code(&pay(app, &m.buyer.token, &o["id"], "tok_visa").await),
        Some("CONFLICT")
    );
    assert_eq!(charges_of(&shop.env, &o["id"]).await, 0);
}

async fn paying_again_or_at_once_charges_once(via: Via) {
    let shop = Shop::open(via, &[]).await;
    let app = &shop.app;
    let m = Market::open(app).await;
    let o = create_order(app, &m.buyer.token, m.ticket_id()).await["data"]["createOrder"].clone();
    let results = join_all((0..8).map(|_| pay(app, &m.buyer.token, &o["id"], "tok_visa"))).await;
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
    let again = pay(app, &m.buyer.token, &o["id"], "tok_visa").await;
    assert!(
        ids.contains(again["data"]["payOrder"]["id"].as_str().unwrap()),
        "{again}"
    );
    shop.assert_charged(&o["id"], 1).await;
    if let Some(stripe) = &shop.stripe {
        let keys: Vec<_> = stripe
            .requests()
            .into_iter()
            .filter_map(|r| r.idempotency_key)
            .collect();
        let id = o["id"].as_str().unwrap();
        assert_eq!(
            keys,
            [
                format!("order-{id}-1-create"),
                format!("order-{id}-1-confirm")
            ],
            "one attempt, each request keyed by the order and the attempt"
        );
    }
}

async fn a_declined_card_leaves_the_order_payable(via: Via) {
    let shop = Shop::open(via, &[]).await;
    let app = &shop.app;
    let m = Market::open(app).await;
    let o = create_order(app, &m.buyer.token, m.ticket_id()).await["data"]["createOrder"].clone();
    for card in [
        "tok_chargeDeclined",
        "pm_card_chargeDeclined",
        "tok_made_up",
    ] {
        let body = pay(app, &m.buyer.token, &o["id"], card).await;
        assert_eq!(error_code(&body), Some("PAYMENT_FAILED"), "{card}: {body}");
    }
    let got = order(app, &m.buyer.token, &o["id"]).await;
    assert_eq!(got["data"]["order"]["status"], "CREATED");
    assert_eq!(
        got["data"]["order"]["expiresAt"], o["expiresAt"],
        "keeps its deadline"
    );
    assert_eq!(got["data"]["order"]["ticket"]["status"], "RESERVED");
    assert_eq!(charges_of(&shop.env, &o["id"]).await, 0);
    let body = pay(app, &m.buyer.token, &o["id"], "tok_visa").await;
    assert!(
        body["data"]["payOrder"]["id"].is_string(),
        "a retry after a decline is a new attempt: {body}"
    );
    shop.assert_charged(&o["id"], 1).await;
}

async fn an_expired_order_is_never_charged(via: Via) {
    let shop = Shop::open(via, &[("ORDER_TTL_SECONDS", "1")]).await;
    let app = &shop.app;
    let m = Market::open(app).await;
    let o = create_order(app, &m.buyer.token, m.ticket_id()).await["data"]["createOrder"].clone();
    tokio::time::sleep(Duration::from_millis(1600)).await;
    let body = pay(app, &m.buyer.token, &o["id"], "tok_visa").await;
    assert_eq!(error_code(&body), Some("CONFLICT"), "{body}");
    assert_eq!(charges_of(&shop.env, &o["id"]).await, 0);
    assert_eq!(ticket(app, m.ticket_id()).await["status"], "AVAILABLE");
    if let Some(stripe) = &shop.stripe {
        assert!(stripe.requests().is_empty(), "Stripe was never asked");
    }
}

/// Orders a crash left mid-payment are settled by asking the processor, never by charging: one
/// the processor never charged is payable again, or expired if its time ran out meanwhile.
async fn orders_left_mid_payment_by_a_crash_are_settled_without_charging(via: Via) {
    use entity::order;
    use sea_orm::{ActiveModelTrait, ActiveValue::Set};
    let shop = Shop::open(
        via,
        &[
            ("PAYMENT_SETTLE_AFTER_SECONDS", "2"),
            ("PAYMENT_TIMEOUT_SECONDS", "1"),
        ],
    )
    .await;
    let (env, app) = (&shop.env, &shop.app);
    let m = Market::open(app).await;
    let second = create_ticket(app, &m.seller.token, "Other", "5").await;
    let payable =
        create_order(app, &m.buyer.token, m.ticket_id()).await["data"]["createOrder"].clone();
    let overdue =
        create_order(app, &m.buyer.token, &second["id"]).await["data"]["createOrder"].clone();

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
        let a = order(app, &m.buyer.token, &payable["id"]).await;
        let b = order(app, &m.buyer.token, &overdue["id"]).await;
        a["data"]["order"]["status"] == "CREATED" && b["data"]["order"]["status"] == "CANCELLED"
    })
    .await;
    assert!(settled, "the reconciler settled both");
    assert_eq!(ticket(app, &second["id"]).await["status"], "AVAILABLE");
    assert_eq!(
        charges_of(&shop.env, &payable["id"]).await + charges_of(&shop.env, &overdue["id"]).await,
        0
    );
    let body = pay(app, &m.buyer.token, &payable["id"], "tok_visa").await;
    assert!(body["data"]["payOrder"]["id"].is_string(), "{body}");
}

/// Orders and charges resolve as federation entities for their buyer only.
async fn order_and_charge_entities_resolve_for_their_buyer_only(via: Via) {
    let shop = Shop::open(via, &[]).await;
    let app = &shop.app;
    let m = Market::open(app).await;
    let o = create_order(app, &m.buyer.token, m.ticket_id()).await["data"]["createOrder"].clone();
    let c = pay(app, &m.buyer.token, &o["id"], "tok_visa").await["data"]["payOrder"].clone();
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

// What only a processor across a network can do: be slow, lose its answer, call back.

const STRIPE_WEBHOOK_SECRET: &str = "whsec_test_secret";

/// A shop paying through the fake Stripe, with its webhook secret and quick settling.
async fn stripe_shop(extra: &[(&str, &str)]) -> (Shop, FakeStripe) {
    let mut vars = vec![
        ("STRIPE_WEBHOOK_SECRET", STRIPE_WEBHOOK_SECRET),
        ("PAYMENT_TIMEOUT_SECONDS", "1"),
        ("PAYMENT_SETTLE_AFTER_SECONDS", "2"),
    ];
    vars.extend_from_slice(extra);
    let shop = Shop::open(Via::Stripe, &vars).await;
    let stripe = shop.stripe.clone().unwrap();
    (shop, stripe)
}

fn confirms(stripe: &FakeStripe) -> usize {
    stripe
        .requests()
        .iter()
        .filter(|r| r.path.ends_with("/confirm"))
        .count()
}

async fn status_of(app: &TestApp, token: &str, order_id: &Value) -> String {
    let got = order(app, token, order_id).await;
    got["data"]["order"]["status"]
        .as_str()
        .unwrap_or_default()
        .to_owned()
}

/// A charge slower than the order's whole time to live completes: expiry never cancels an order
/// while its card is being charged.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_charge_slower_than_the_order_ttl_is_not_cancelled_under_it() {
    let (shop, stripe) = stripe_shop(&[
        ("ORDER_TTL_SECONDS", "1"),
        ("PAYMENT_TIMEOUT_SECONDS", "10"),
        ("PAYMENT_SETTLE_AFTER_SECONDS", "30"),
    ])
    .await;
    let app = &shop.app;
    let m = Market::open(app).await;
    let o = create_order(app, &m.buyer.token, m.ticket_id()).await["data"]["createOrder"].clone();
    stripe.delay_confirm(Duration::from_millis(2500));
    let body = pay(app, &m.buyer.token, &o["id"], "tok_visa").await;
    assert!(body["data"]["payOrder"]["id"].is_string(), "{body}");
    assert_eq!(status_of(app, &m.buyer.token, &o["id"]).await, "COMPLETE");
    assert_eq!(ticket(app, m.ticket_id()).await["status"], "SOLD");
    // Well past the deadline, a sweep has run: still sold, nothing refunded.
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert_eq!(status_of(app, &m.buyer.token, &o["id"]).await, "COMPLETE");
    assert_eq!(ticket(app, m.ticket_id()).await["status"], "SOLD");
    shop.assert_charged(&o["id"], 1).await;
    assert!(stripe.refunds().is_empty());
}

/// Stripe charges but its answer never arrives in time: the buyer is told the outcome is pending,
/// the order stays held, and the reconciler completes it by asking Stripe, never by confirming
/// again.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_charge_whose_answer_times_out_is_completed_by_the_reconciler_without_a_second_charge() {
    let (shop, stripe) = stripe_shop(&[]).await;
    let app = &shop.app;
    let m = Market::open(app).await;
    let o = create_order(app, &m.buyer.token, m.ticket_id()).await["data"]["createOrder"].clone();
    let mut ws = ws_as(app, &m.buyer.token).await;
    ws.subscribe("c", "subscription { chargeCreated { orderId providerId } }")
        .await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    stripe.delay_confirm(Duration::from_secs(3));

    let body = pay(app, &m.buyer.token, &o["id"], "tok_visa").await;
    assert_eq!(error_code(&body), Some("PAYMENT_FAILED"), "{body}");
    assert_eq!(
        status_of(app, &m.buyer.token, &o["id"]).await,
        "AWAITING_PAYMENT",
        "held while the outcome is unknown"
    );
    let again = pay(app, &m.buyer.token, &o["id"], "tok_visa").await;
    assert_eq!(
        error_code(&again),
        Some("CONFLICT"),
        "no second charge while settling: {again}"
    );

    let settled = eventually(Duration::from_secs(15), || async {
        status_of(app, &m.buyer.token, &o["id"]).await == "COMPLETE"
    })
    .await;
    assert!(settled, "the reconciler completed the order");
    assert_eq!(ticket(app, m.ticket_id()).await["status"], "SOLD");
    shop.assert_charged(&o["id"], 1).await;
    assert_eq!(confirms(&stripe), 1, "never confirmed again");
    assert!(
        stripe.requests().iter().any(|r| r.method == "GET"),
        "the reconciler asked Stripe"
    );
    let pushed = ws
        .next_data("c", Duration::from_secs(5))
        .await
        .expect("chargeCreated");
    assert_eq!(pushed["data"]["chargeCreated"]["orderId"], o["id"]);
    let paid = pay(app, &m.buyer.token, &o["id"], "tok_visa").await;
    assert_eq!(
        paid["data"]["payOrder"]["providerId"],
        stripe.charged()[0]["id"],
        "paying a complete order returns its charge: {paid}"
    );
    assert_eq!(confirms(&stripe), 1);
}

/// Stripe down before anything is charged: the buyer hears at once, the order is payable again
/// with its time, and paying works once Stripe is back.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stripe_unavailable_before_charging_leaves_the_order_payable() {
    let (shop, stripe) = stripe_shop(&[]).await;
    let app = &shop.app;
    let m = Market::open(app).await;
    let o = create_order(app, &m.buyer.token, m.ticket_id()).await["data"]["createOrder"].clone();
    stripe.make_create_unavailable(true);
    let body = pay(app, &m.buyer.token, &o["id"], "tok_visa").await;
    assert_eq!(error_code(&body), Some("PAYMENT_FAILED"), "{body}");
    assert!(
        body["errors"][0]["message"]
            .as_str()
            .unwrap()
            .contains("nothing was charged"),
        "{body}"
    );
    let got = order(app, &m.buyer.token, &o["id"]).await;
    assert_eq!(got["data"]["order"]["status"], "CREATED");
    assert_eq!(got["data"]["order"]["expiresAt"], o["expiresAt"]);
    stripe.make_create_unavailable(false);
    let body = pay(app, &m.buyer.token, &o["id"], "tok_visa").await;
    assert!(body["data"]["payOrder"]["id"].is_string(), "{body}");
    shop.assert_charged(&o["id"], 1).await;
}

/// A process that died after storing its PaymentIntent but before confirming it: the reconciler
/// cancels the intent at Stripe (so nothing can charge it later) and the order is payable again.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_payment_never_confirmed_is_cancelled_and_the_order_reopened() {
    use entity::order;
    use sea_orm::{ActiveModelTrait, ActiveValue::Set};
    let (shop, stripe) = stripe_shop(&[]).await;
    let app = &shop.app;
    let m = Market::open(app).await;
    let o = create_order(app, &m.buyer.token, m.ticket_id()).await["data"]["createOrder"].clone();
    // What the dead process had done at Stripe: created the intent, never confirmed it.
    let created: Value = reqwest::Client::new()
        .post(format!("{}/v1/payment_intents", stripe.url))
        .bearer_auth("sk_test_fake")
        .form(&[
            ("amount", "2000"),
            ("currency", "usd"),
            ("payment_method_data[card][token]", "tok_visa"),
            ("metadata[order_id]", o["id"].as_str().unwrap()),
        ])
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let intent_id = created["id"].as_str().unwrap().to_owned();
    let db = shop.env.db().await;
    let id = uuid::Uuid::parse_str(o["id"].as_str().unwrap()).unwrap();
    let mut row: order::ActiveModel = order::Entity::find_by_id(id)
        .one(&db)
        .await
        .unwrap()
        .unwrap()
        .into();
    row.status = Set(order::OrderStatus::AwaitingPayment);
    row.payment_attempts = Set(1);
    row.payment_intent_id = Set(Some(intent_id.clone()));
    row.updated_at = Set(chrono::Utc::now() - chrono::Duration::minutes(1));
    row.update(&db).await.unwrap();

    let reopened = eventually(Duration::from_secs(15), || async {
        status_of(app, &m.buyer.token, &o["id"]).await == "CREATED"
    })
    .await;
    assert!(reopened, "the reconciler reopened the order");
    assert!(
        stripe
            .requests()
            .iter()
            .any(|r| r.path == format!("/v1/payment_intents/{intent_id}/cancel")),
        "the stale intent was cancelled at Stripe"
    );
    assert_eq!(confirms(&stripe), 0, "nothing confirmed it");
    let body = pay(app, &m.buyer.token, &o["id"], "tok_visa").await;
    assert!(body["data"]["payOrder"]["id"].is_string(), "{body}");
    shop.assert_charged(&o["id"], 1).await;
}

/// The buyer cancels an order while its card is being charged (Stripe answers the confirm after
/// 1.5 s, the cancel comes at 0.5 s): the market, the order and what `payOrder` answered.
async fn cancel_while_charging(shop: &Shop, stripe: &FakeStripe) -> (Market, Value, Value) {
    let app = &shop.app;
    let m = Market::open(app).await;
    let o = create_order(app, &m.buyer.token, m.ticket_id()).await["data"]["createOrder"].clone();
    stripe.delay_confirm(Duration::from_millis(1500));
    let paying = pay(app, &m.buyer.token, &o["id"], "tok_visa");
    let cancelling = async {
        tokio::time::sleep(Duration::from_millis(500)).await;
        cancel_order(app, &m.buyer.token, &o["id"]).await
    };
    let (paid, cancelled) = tokio::join!(paying, cancelling);
    assert_eq!(
        cancelled["data"]["cancelOrder"]["status"], "CANCELLED",
        "{cancelled}"
    );
    (m, o, paid)
}

/// The buyer cancels while the card is being charged: the ticket goes back on sale and the charge
/// that lands anyway is refunded.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_charge_landing_on_an_order_cancelled_meanwhile_is_refunded() {
    let (shop, stripe) = stripe_shop(&[
        ("PAYMENT_TIMEOUT_SECONDS", "10"),
        ("PAYMENT_SETTLE_AFTER_SECONDS", "30"),
    ])
    .await;
    let app = &shop.app;
    let (m, o, paid) = cancel_while_charging(&shop, &stripe).await;
    assert_eq!(error_code(&paid), Some("PAYMENT_FAILED"), "{paid}");
    assert!(
        paid["errors"][0]["message"]
            .as_str()
            .unwrap()
            .contains("refunded"),
        "{paid}"
    );
    assert_eq!(stripe.refunds().len(), 1);
    assert_eq!(charges_of(&shop.env, &o["id"]).await, 0);
    assert_eq!(status_of(app, &m.buyer.token, &o["id"]).await, "CANCELLED");
    assert_eq!(ticket(app, m.ticket_id()).await["status"], "AVAILABLE");
}

/// How a test signs a webhook delivery.
enum Sig {
    /// As Stripe does, now.
    Valid,
    /// With the right secret, this many seconds ago.
    Aged(i64),
    /// This header verbatim.
    Header(String),
}

/// Delivers a Stripe event of `kind` about `object` to the webhook.
async fn deliver(
    app: &TestApp,
    event_id: &str,
    kind: &str,
    object: &Value,
    sig: Sig,
) -> (u16, Value) {
    let body = json!({
        "id": event_id,
        "object": "event",
        "type": kind,
        "data": { "object": object },
    })
    .to_string();
    let now = chrono::Utc::now().timestamp();
    let signature = match sig {
        Sig::Valid => api::payments::webhook::sign(STRIPE_WEBHOOK_SECRET, body.as_bytes(), now),
        Sig::Aged(age) => {
            api::payments::webhook::sign(STRIPE_WEBHOOK_SECRET, body.as_bytes(), now - age)
        }
        Sig::Header(header) => header,
    };
    let response = app
        .client
        .post(format!("{}/webhooks/stripe", app.url))
        .header("content-type", "application/json")
        .header("stripe-signature", signature)
        .body(body)
        .send()
        .await
        .unwrap();
    let status = response.status().as_u16();
    (status, response.json().await.unwrap_or(Value::Null))
}

/// An order whose confirm charged at Stripe but answered 500: held, awaiting the outcome.
async fn charged_but_unanswered(shop: &Shop, stripe: &FakeStripe, m: &Market) -> (Value, Value) {
    let app = &shop.app;
    let o = create_order(app, &m.buyer.token, m.ticket_id()).await["data"]["createOrder"].clone();
    stripe.fail_confirm_after_charging(true);
    let body = pay(app, &m.buyer.token, &o["id"], "tok_visa").await;
    stripe.fail_confirm_after_charging(false);
    assert_eq!(error_code(&body), Some("PAYMENT_FAILED"), "{body}");
    assert_eq!(
        status_of(app, &m.buyer.token, &o["id"]).await,
        "AWAITING_PAYMENT"
    );
    let intent = stripe.charged().pop().expect("Stripe charged");
    (o, intent)
}

/// Stripe's webhook completes an order the API call did not learn about; a forged or stale
/// signature changes nothing; a redelivered event is applied once; other events are acknowledged.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_webhook_completes_orders_once_and_only_when_signed() {
    let (shop, stripe) = stripe_shop(&[
        ("PAYMENT_TIMEOUT_SECONDS", "10"),
        ("PAYMENT_SETTLE_AFTER_SECONDS", "600"),
    ])
    .await;
    let app = &shop.app;
    let m = Market::open(app).await;
    let (o, intent) = charged_but_unanswered(&shop, &stripe, &m).await;
    let mut ws = ws_as(app, &m.buyer.token).await;
    ws.subscribe("c", "subscription { chargeCreated { orderId } }")
        .await;
    tokio::time::sleep(Duration::from_millis(300)).await;

    let now = chrono::Utc::now().timestamp();
    let refused = [
        // Another body's signature, a missing one, a made-up one, one too old to trust.
        Sig::Header(api::payments::webhook::sign(
            STRIPE_WEBHOOK_SECRET,
            b"{}",
            now,
        )),
        Sig::Header(String::new()),
        Sig::Header(format!("t={now},v1={}", "ab".repeat(32))),
        Sig::Aged(3600),
    ];
    for sig in refused {
        let (status, _) =
            deliver(app, "evt_forged", "payment_intent.succeeded", &intent, sig).await;
        assert_eq!(status, 400);
    }
    assert_eq!(
        status_of(app, &m.buyer.token, &o["id"]).await,
        "AWAITING_PAYMENT",
        "nothing changed"
    );
    assert_eq!(charges_of(&shop.env, &o["id"]).await, 0);

    let (status, _) = deliver(
        app,
        "evt_unused",
        "customer.created",
        &json!({ "id": "cus_1" }),
        Sig::Valid,
    )
    .await;
    assert_eq!(status, 200, "events of no use are acknowledged");

    for _ in 0..2 {
        let (status, body) = deliver(
            app,
            "evt_paid",
            "payment_intent.succeeded",
            &intent,
            Sig::Valid,
        )
        .await;
        assert_eq!(status, 200, "{body}");
    }
    assert_eq!(status_of(app, &m.buyer.token, &o["id"]).await, "COMPLETE");
    assert_eq!(ticket(app, m.ticket_id()).await["status"], "SOLD");
    shop.assert_charged(&o["id"], 1).await;
    assert!(
        ws.next_data("c", Duration::from_secs(5)).await.is_some(),
        "chargeCreated"
    );
    assert!(
        ws.next_data("c", Duration::from_millis(800))
            .await
            .is_none(),
        "the redelivery applied nothing"
    );
    let db = shop.env.db().await;
    let recorded = entity::processor_event::Entity::find()
        .count(&db)
        .await
        .unwrap();
    assert_eq!(recorded, 2, "evt_unused and evt_paid, once each");
    assert_eq!(confirms(&stripe), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_webhook_is_off_without_a_secret() {
    let (_env, app) = spawn().await;
    let (status, _) = deliver(
        &app,
        "evt_1",
        "payment_intent.succeeded",
        &json!({ "id": "pi_1" }),
        Sig::Valid,
    )
    .await;
    assert_eq!(status, 404);
}

/// The processor a client should offer, and Stripe's publishable key for Elements.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn payment_settings_say_which_processor_charges() {
    const Q: &str = "{ paymentSettings { processor publishableKey currency } }";
    let (_env, app) = spawn().await;
    let body = app.gql(Q, json!({}), None).await;
    assert_eq!(
        body["data"]["paymentSettings"],
        json!({ "processor": "test", "publishableKey": null, "currency": "usd" })
    );
    let (shop, _stripe) = stripe_shop(&[
        ("STRIPE_PUBLISHABLE_KEY", "pk_test_123"),
        ("CURRENCY", "EUR"),
    ])
    .await;
    let body = shop.app.gql(Q, json!({}), None).await;
    assert_eq!(
        body["data"]["paymentSettings"],
        json!({ "processor": "stripe", "publishableKey": "pk_test_123", "currency": "eur" })
    );
}

/// The refunds table's rows for an order: (refunded, attempts).
async fn refunds_of(env: &TestEnv, order_id: &Value) -> Vec<(bool, i32)> {
    let id = uuid::Uuid::parse_str(order_id.as_str().unwrap()).unwrap();
    entity::refund::Entity::find()
        .filter(entity::refund::Column::OrderId.eq(id))
        .all(&env.db().await)
        .await
        .unwrap()
        .into_iter()
        .map(|r| (r.refunded_at.is_some(), r.attempts))
        .collect()
}

/// A refund Stripe refuses to make is not forgotten: the buyer is told it is owed (not that it
/// was made), it is recorded, and it is retried until Stripe confirms it, exactly once (before,
/// it was logged, the buyer was told "refunded", and nothing tried again).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refund_that_fails_is_recorded_and_retried_until_stripe_makes_it() {
    let (shop, stripe) = stripe_shop(&[
        ("PAYMENT_TIMEOUT_SECONDS", "10"),
        // The reconciler, which retries refunds, runs every 7.5 s (a quarter of this).
        ("PAYMENT_SETTLE_AFTER_SECONDS", "30"),
    ])
    .await;
    stripe.make_refunds_unavailable(true);
    let (_, o, paid) = cancel_while_charging(&shop, &stripe).await;
    let said = paid["errors"][0]["message"].as_str().unwrap_or_default();
    assert!(said.contains("owed"), "{paid}");
    assert!(!said.contains("was refunded"), "{paid}");
    assert!(stripe.refunds().is_empty());
    assert_eq!(refunds_of(&shop.env, &o["id"]).await.len(), 1, "recorded");
    assert!(!refunds_of(&shop.env, &o["id"]).await[0].0);

    // Stripe recovers: the refund is made, once, and recorded as made.
    tokio::time::sleep(Duration::from_millis(1500)).await;
    stripe.make_refunds_unavailable(false);
    let made = eventually(Duration::from_secs(20), || async {
        !stripe.refunds().is_empty()
    })
    .await;
    assert!(made, "the owed refund was never retried");
    tokio::time::sleep(Duration::from_millis(2500)).await;
    assert_eq!(stripe.refunds().len(), 1, "refunded twice");
    let rows = refunds_of(&shop.env, &o["id"]).await;
    assert!(rows[0].0, "{rows:?}");
    assert!(rows[0].1 >= 2, "{rows:?}");
    assert_eq!(charges_of(&shop.env, &o["id"]).await, 0);
}

/// A reconciler's decision about one payment attempt cannot act on the next. Attempt 1's confirm
/// is lost (not charged) and the reconciler reopens the order; the buyer pays again and, while
/// attempt 2 is being charged, a stale reconciler (another replica that read the order during
/// attempt 1) learns "attempt 1 was never charged". Unfenced, it reopened attempt 2 mid-charge,
/// so a third attempt could charge the card again; fenced by the attempt and its payment id, it
/// changes nothing, and the card is charged once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stale_reconciler_cannot_reopen_a_later_attempt() {
    let (shop, stripe) = stripe_shop(&[
        ("PAYMENT_TIMEOUT_SECONDS", "4"),
        ("PAYMENT_SETTLE_AFTER_SECONDS", "5"),
    ])
    .await;
    let app = &shop.app;
    let m = Market::open(app).await;
    let o = create_order(app, &m.buyer.token, m.ticket_id()).await["data"]["createOrder"].clone();
    let id = uuid::Uuid::parse_str(o["id"].as_str().unwrap()).unwrap();

    stripe.lose_confirms(true);
    let first = pay(app, &m.buyer.token, &o["id"], "tok_visa").await;
    assert_eq!(error_code(&first), Some("PAYMENT_FAILED"), "{first}");
    let stale = entity::order::Entity::find_by_id(id)
        .one(&shop.env.db().await)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(stale.payment_attempts, 1);
    assert!(stale.payment_intent_id.is_some());
    stripe.lose_confirms(false);

    // The live reconciler settles attempt 1: never charged, so the order is payable again.
    let reopened = eventually(Duration::from_secs(15), || async {
        status_of(app, &m.buyer.token, &o["id"]).await == "CREATED"
    })
    .await;
    assert!(
        reopened,
        "{}",
        status_of(app, &m.buyer.token, &o["id"]).await
    );

    // Attempt 2, slow to charge; meanwhile the stale decision arrives.
    stripe.delay_confirm(Duration::from_millis(2000));
    let second = pay(app, &m.buyer.token, &o["id"], "tok_visa");
    let stale_settles = async {
        tokio::time::sleep(Duration::from_millis(700)).await;
        let payments = &shop.app.state.as_ref().expect("in-process").payments;
        payments.settle(stale).await.unwrap();
        status_of(app, &m.buyer.token, &o["id"]).await
    };
    let (second, during) = tokio::join!(second, stale_settles);
    assert_eq!(
        during, "AWAITING_PAYMENT",
        "the stale decision reopened attempt 2"
    );
    assert!(second["data"]["payOrder"]["id"].is_string(), "{second}");
    shop.assert_charged(&o["id"], 1).await;
    assert_eq!(status_of(app, &m.buyer.token, &o["id"]).await, "COMPLETE");
}

/// A refund Stripe made but whose answer was lost is not made twice: the next request (with a new
/// idempotency key) hears "already refunded", which counts as done, and the refund is recorded as
/// made.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refund_whose_answer_was_lost_is_recorded_once_stripe_says_it_is_made() {
    let (shop, stripe) = stripe_shop(&[
        ("PAYMENT_TIMEOUT_SECONDS", "10"),
        ("PAYMENT_SETTLE_AFTER_SECONDS", "30"),
    ])
    .await;
    stripe.lose_refund_answers(true);
    let (_, o, paid) = cancel_while_charging(&shop, &stripe).await;
    assert!(
        paid["errors"][0]["message"]
            .as_str()
            .unwrap_or_default()
            .contains("owed"),
        "{paid}"
    );
    assert_eq!(stripe.refunds().len(), 1, "made at Stripe, answer lost");
    stripe.lose_refund_answers(false);
    let recorded = eventually(Duration::from_secs(20), || async {
        refunds_of(&shop.env, &o["id"])
            .await
            .first()
            .is_some_and(|r| r.0)
    })
    .await;
    assert!(recorded, "{:?}", refunds_of(&shop.env, &o["id"]).await);
    assert_eq!(stripe.refunds().len(), 1, "refunded twice");
}
