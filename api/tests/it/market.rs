//! Helpers for the marketplace tests.

use chrono::Utc;
use serde_json::{Value, json};

use crate::support::*;

pub const TICKET_FIELDS: &str =
    "id title price version status sellerId reservedUntil createdAt updatedAt";
pub const ORDER_FIELDS: &str =
    "id status expiresAt buyerId price createdAt ticket { id status version price reservedUntil }";

pub async fn create_ticket(app: &TestApp, token: &str, title: &str, price: &str) -> Value {
    let body = app
        .gql(
            &format!("mutation($i: CreateTicketInput!) {{ createTicket(input: $i) {{ {TICKET_FIELDS} }} }}"),
            json!({ "i": { "title": title, "price": price } }),
            Some(token),
        )
        .await;
    body["data"]["createTicket"].clone()
}

pub async fn update_ticket(app: &TestApp, token: &str, id: &Value, input: Value) -> Value {
    app.gql(
        &format!("mutation($id: ID!, $i: UpdateTicketInput!) {{ updateTicket(id: $id, input: $i) {{ {TICKET_FIELDS} }} }}"),
        json!({ "id": id, "i": input }),
        Some(token),
    )
    .await
}

pub async fn create_order(app: &TestApp, token: &str, ticket_id: &Value) -> Value {
    app.gql(
        &format!("mutation($t: ID!) {{ createOrder(ticketId: $t) {{ {ORDER_FIELDS} }} }}"),
        json!({ "t": ticket_id }),
        Some(token),
    )
    .await
}

pub async fn cancel_order(app: &TestApp, token: &str, id: &Value) -> Value {
    app.gql(
        &format!("mutation($id: ID!) {{ cancelOrder(id: $id) {{ {ORDER_FIELDS} }} }}"),
        json!({ "id": id }),
        Some(token),
    )
    .await
}

pub async fn ticket(app: &TestApp, id: &Value) -> Value {
    app.gql(
        &format!("query($id: ID!) {{ ticket(id: $id) {{ {TICKET_FIELDS} }} }}"),
        json!({ "id": id }),
        None,
    )
    .await["data"]["ticket"]
        .clone()
}

pub async fn order(app: &TestApp, token: &str, id: &Value) -> Value {
    app.gql(
        &format!("query($id: ID!) {{ order(id: $id) {{ {ORDER_FIELDS} }} }}"),
        json!({ "id": id }),
        Some(token),
    )
    .await
}

/// A seller with a ticket on sale, and a buyer.
pub struct Market {
    pub seller: Session,
    pub buyer: Session,
    pub ticket: Value,
}

impl Market {
    pub async fn open(app: &TestApp) -> Self {
        let seller = app.sign_up(&unique_email()).await;
        let buyer = app.sign_up(&unique_email()).await;
        let ticket = create_ticket(app, &seller.token, "Concert", "20.00").await;
        assert!(ticket["id"].is_string(), "{ticket}");
        Self {
            seller,
            buyer,
            ticket,
        }
    }

    pub fn ticket_id(&self) -> &Value {
        &self.ticket["id"]
    }
}

pub async fn ws_as(app: &TestApp, token: &str) -> WsClient {
    WsClient::connect(
        app,
        WsOptions {
            payload: json!({ "authorization": format!("Bearer {token}") }),
            ..Default::default()
        },
    )
    .await
}

/// An event's fields, as the events tests read them.
pub const EVENT_FIELDS: &str =
    "id name venue city startsAt onSaleAt organizerId createdAt availableCount lowestPrice";

/// `days` from now, as GraphQL's `DateTime`.
pub fn in_days(days: i64) -> String {
    (Utc::now() + chrono::Duration::days(days)).to_rfc3339()
}

pub async fn create_event_with(app: &TestApp, token: &str, input: Value) -> Value {
    app.gql(
        &format!(
            "mutation($i: CreateEventInput!) {{ createEvent(input: $i) {{ {EVENT_FIELDS} }} }}"
        ),
        json!({ "i": input }),
        Some(token),
    )
    .await
}

/// A new event in `days` days, at a hall in `city`.
pub async fn create_event(app: &TestApp, token: &str, name: &str, city: &str, days: i64) -> Value {
    let body = create_event_with(
        app,
        token,
        json!({ "name": name, "venue": "Hall", "city": city, "startsAt": in_days(days) }),
    )
    .await;
    let event = body["data"]["createEvent"].clone();
    assert!(event["id"].is_string(), "{body}");
    event
}

pub async fn list_for(
    app: &TestApp,
    token: &str,
    event: &Value,
    title: &str,
    price: &str,
) -> Value {
    app.gql(
        "mutation($i: CreateTicketInput!) { createTicket(input: $i) { id title price status eventId event { id name } } }",
        json!({ "i": { "title": title, "price": price, "eventId": event } }),
        Some(token),
    )
    .await
}

/// A new ticket of `event` at `price`.
pub async fn ticket_for(app: &TestApp, token: &str, event: &Value, price: &str) -> Value {
    let body = list_for(app, token, event, "Seat", price).await;
    let t = body["data"]["createTicket"].clone();
    assert!(t["id"].is_string(), "{body}");
    t
}
