//! Events as stored before versions (`v` absent): their data were the GraphQL objects of the
//! time, with string ids and `Decimal` money. Only read, to publish rows an older release left in
//! the outbox or sends on the bus during a rolling upgrade; nothing writes this shape any more.

use chrono::{DateTime, Utc};
use entity::{order::OrderStatus, ticket::TicketStatus};
use rust_decimal::{Decimal, prelude::ToPrimitive};
use serde::{Deserialize, de::Error as _};
use uuid::Uuid;

use super::event::{DomainEvent, EventPayload};
use crate::{
    auth::model as auth, orders::model as orders, payments::model as payments,
    tickets::model as tickets,
};

#[derive(Deserialize)]
struct Event {
    id: Uuid,
    occurred_at: DateTime<Utc>,
    audience: Option<Uuid>,
    payload: Payload,
}

#[derive(Deserialize)]
#[serde(tag = "type", content = "data")]
enum Payload {
    UserCreated(User),
    UserUpdated(User),
    TicketCreated(Ticket),
    TicketUpdated(Ticket),
    OrderCreated(Order),
    OrderUpdated(Order),
    OrderExpired(Order),
    ChargeCreated(Charge),
    SessionsRevoked(SessionsRevoked),
}

#[derive(Deserialize)]
struct User {
    id: Uuid,
    email: String,
    created_at: DateTime<Utc>,
}

#[derive(Deserialize)]
struct Ticket {
    id: Uuid,
    title: String,
    price: Decimal,
    version: i32,
    status: TicketStatus,
    seller_id: Uuid,
    reserved_until: Option<DateTime<Utc>>,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
}

#[derive(Deserialize)]
struct Order {
    id: Uuid,
    status: OrderStatus,
    expires_at: DateTime<Utc>,
    buyer_id: Uuid,
    price: Decimal,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
    ticket_id: Uuid,
    ticket_snapshot: Option<Ticket>,
}

#[derive(Deserialize)]
struct Charge {
    id: Uuid,
    order_id: Uuid,
    amount: Decimal,
    currency: String,
    provider_id: String,
    created_at: DateTime<Utc>,
}

#[derive(Deserialize)]
struct SessionsRevoked {
    user_id: Uuid,
    session_ids: Vec<Uuid>,
}

fn cents(amount: Decimal) -> serde_json::Result<i64> {
    (amount * Decimal::ONE_HUNDRED)
        .to_i64()
        .ok_or_else(|| serde_json::Error::custom(format!("amount {amount} out of range")))
}

fn user(u: User) -> auth::User {
    auth::User {
        id: u.id.into(),
        email: u.email,
        created_at: u.created_at,
    }
}

fn ticket(t: Ticket) -> serde_json::Result<tickets::Ticket> {
    Ok(tickets::Ticket {
        id: t.id.into(),
        title: t.title,
        price_cents: cents(t.price)?,
        version: t.version,
        status: t.status,
        seller_id: t.seller_id.into(),
        event_id: None,
        reserved_until: t.reserved_until,
        created_at: t.created_at,
        updated_at: t.updated_at,
    })
}

fn order(o: Order) -> serde_json::Result<orders::Order> {
    Ok(orders::Order {
        id: o.id.into(),
        ticket_id: o.ticket_id.into(),
        buyer_id: o.buyer_id.into(),
        status: o.status,
        price_cents: cents(o.price)?,
        expires_at: o.expires_at,
        created_at: o.created_at,
        updated_at: o.updated_at,
        ticket: o.ticket_snapshot.map(ticket).transpose()?,
    })
}

/// Reads a version-0 event into today's.
pub fn decode(value: serde_json::Value) -> serde_json::Result<DomainEvent> {
    let old: Event = serde_json::from_value(value)?;
    let payload = match old.payload {
        Payload::UserCreated(u) => EventPayload::UserCreated(user(u)),
        Payload::UserUpdated(u) => EventPayload::UserUpdated(user(u)),
        Payload::TicketCreated(t) => EventPayload::TicketCreated(ticket(t)?),
        Payload::TicketUpdated(t) => EventPayload::TicketUpdated(ticket(t)?),
        Payload::OrderCreated(o) => EventPayload::OrderCreated(order(o)?),
        Payload::OrderUpdated(o) => EventPayload::OrderUpdated(order(o)?),
        Payload::OrderExpired(o) => EventPayload::OrderExpired(order(o)?),
        Payload::ChargeCreated(c) => EventPayload::ChargeCreated(payments::Charge {
            id: c.id.into(),
            order_id: c.order_id.into(),
            amount_cents: cents(c.amount)?,
            currency: c.currency,
            provider_id: c.provider_id,
            created_at: c.created_at,
        }),
        Payload::SessionsRevoked(s) => EventPayload::SessionsRevoked(auth::SessionsRevoked {
            user_id: s.user_id.into(),
            session_ids: s.session_ids.into_iter().map(Into::into).collect(),
        }),
    };
    Ok(DomainEvent {
        id: old.id.into(),
        occurred_at: old.occurred_at,
        audience: old.audience.map(Into::into),
        payload,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A row exactly as the release before versions wrote it (captured from its outbox).
    const ORDER_UPDATED: &str = r#"{
        "id": "019ad4c3-5c1e-7a51-9d1c-5d6a2f0e8b11",
        "occurred_at": "2026-11-30T10:00:00Z",
        "audience": "019ad4c3-0000-7000-8000-000000000001",
        "payload": {"type": "OrderUpdated", "data": {
            "id": "019ad4c3-0000-7000-8000-0000000000aa",
            "status": "AWAITING_PAYMENT",
            "expires_at": "2026-11-30T10:15:00Z",
            "buyer_id": "019ad4c3-0000-7000-8000-000000000001",
            "price": "19.99",
            "created_at": "2026-11-30T10:00:00Z",
            "updated_at": "2026-11-30T10:01:00Z",
            "ticket_id": "019ad4c3-0000-7000-8000-0000000000bb",
            "ticket_snapshot": {
                "id": "019ad4c3-0000-7000-8000-0000000000bb",
                "title": "Concert",
                "price": "19.99",
                "version": 2,
                "status": "RESERVED",
                "seller_id": "019ad4c3-0000-7000-8000-000000000002",
                "reserved_until": "2026-11-30T10:15:00Z",
                "created_at": "2026-11-29T09:00:00Z",
                "updated_at": "2026-11-30T10:00:00Z"
            }
        }}
    }"#;

    #[test]
    fn a_version_0_order_reads_as_today_s_order() {
        let event = decode(serde_json::from_str(ORDER_UPDATED).unwrap()).unwrap();
        let EventPayload::OrderUpdated(order) = event.payload else {
            panic!("read as {}", event.payload.name());
        };
        assert_eq!(order.status, OrderStatus::AwaitingPayment);
        assert_eq!(order.price_cents, 1999);
        assert_eq!(order.buyer_id, event.audience.unwrap());
        let ticket = order.ticket.expect("the snapshot");
        assert_eq!(ticket.id, order.ticket_id);
        assert_eq!((ticket.price_cents, ticket.version), (1999, 2));
        assert_eq!(ticket.status, TicketStatus::Reserved);
    }
}
