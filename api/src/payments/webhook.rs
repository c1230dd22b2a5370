//! `POST /webhooks/stripe`: Stripe's word on a payment, for the case where the API call did not
//! learn it (a timeout, a crash). The signature is checked against `STRIPE_WEBHOOK_SECRET`, each
//! event id is recorded once, and events of no use here are acknowledged so Stripe stops sending.

use axum::{
    body::Bytes,
    extract::State,
    http::{HeaderMap, StatusCode},
    response::{IntoResponse, Response},
};
use entity::processor_event;
use hmac::{Hmac, Mac};
use sea_orm::EntityTrait;
use serde::Deserialize;
use serde_json::json;
use sha2::Sha256;
use uuid::Uuid;

use crate::{db, state::AppState};

/// How old a signed timestamp may be, as Stripe's own libraries allow.
const TOLERANCE_SECONDS: i64 = 300;

#[derive(Deserialize)]
struct Event {
    id: String,
    #[serde(rename = "type")]
    kind: String,
    data: EventData,
}

#[derive(Deserialize)]
struct EventData {
    object: serde_json::Value,
}

/// Payments' own route: `POST /webhooks/stripe`.
pub fn routes() -> axum::Router<AppState> {
    axum::Router::new().route("/webhooks/stripe", axum::routing::post(stripe_webhook))
}

pub async fn stripe_webhook(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let Some(secret) = &state.config.payments.stripe_webhook_secret else {
        return reply(
            StatusCode::NOT_FOUND,
            "webhooks are off: STRIPE_WEBHOOK_SECRET is not set",
        );
    };
    let signature = headers
        .get("stripe-signature")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    if let Err(why) = verify(
        secret.expose(),
        signature,
        &body,
        chrono::Utc::now().timestamp(),
    ) {
        tracing::warn!(why, "refused a webhook");
        return reply(StatusCode::BAD_REQUEST, why);
    }
    let event: Event = match serde_json::from_slice(&body) {
        Ok(event) => event,
        Err(_) => return reply(StatusCode::BAD_REQUEST, "not a Stripe event"),
    };

    let seen = processor_event::Entity::find_by_id(event.id.clone())
        .one(&state.db)
        .await;
    match seen {
        Ok(Some(_)) => return reply(StatusCode::OK, "already received"),
        Ok(None) => {}
        Err(err) => {
            tracing::error!(error = %err, "webhook: cannot read received events");
            return reply(StatusCode::SERVICE_UNAVAILABLE, "try again");
        }
    }
    if let Err(err) = apply(&state, &event).await {
        tracing::error!(error = ?err, event = %event.id, "webhook: cannot apply the event");
        // Stripe retries on a 5xx, and applying is idempotent.
        return reply(StatusCode::SERVICE_UNAVAILABLE, "try again");
    }
    let record = processor_event::ActiveModel {
        id: sea_orm::Set(event.id.clone()),
        kind: sea_orm::Set(event.kind.clone()),
        received_at: sea_orm::Set(db::now()),
    };
    let recorded = processor_event::Entity::insert(record)
        .on_conflict_do_nothing()
        .exec(&state.db)
        .await;
    if let Err(err) = recorded {
        // Applied but not recorded: a redelivery applies nothing new, so this is only a warning.
        tracing::warn!(error = %err, event = %event.id, "webhook: cannot record the event");
    }
    reply(StatusCode::OK, "received")
}

async fn apply(state: &AppState, event: &Event) -> anyhow::Result<()> {
    if event.kind != "payment_intent.succeeded" {
        return Ok(());
    }
    let object = &event.data.object;
    let intent_id = object["id"].as_str().unwrap_or_default();
    let order_id = object["metadata"]["order_id"]
        .as_str()
        .and_then(|id| Uuid::parse_str(id).ok());
    let Some(order_id) = order_id else {
        // Not one of ours (another integration on the same account).
        return Ok(());
    };
    state
        .payments
        .payment_succeeded(order_id, intent_id)
        .await
        .map_err(|err| anyhow::anyhow!("{err:?}"))
}

fn reply(status: StatusCode, message: &str) -> Response {
    (status, axum::Json(json!({ "message": message }))).into_response()
}

/// Checks a `Stripe-Signature` header (`t=<unix time>,v1=<hex HMAC-SHA256 of "t.body">,…`).
pub fn verify(secret: &str, header: &str, body: &[u8], now: i64) -> Result<(), &'static str> {
    let mut timestamp = None;
    let mut signatures = Vec::new();
    for part in header.split(',') {
        match part.trim().split_once('=') {
            Some(("t", t)) => timestamp = t.parse::<i64>().ok(),
            Some(("v1", v)) => signatures.extend(hex::decode(v).ok()),
            _ => {}
        }
    }
    let Some(timestamp) = timestamp else {
        return Err("missing or malformed Stripe-Signature");
    };
    if (now - timestamp).abs() > TOLERANCE_SECONDS {
        return Err("the signature's timestamp is too old");
    }
    let valid = signatures.iter().any(|signature| {
        let mut mac =
            Hmac::<Sha256>::new_from_slice(secret.as_bytes()).expect("HMAC takes any key length");
        mac.update(timestamp.to_string().as_bytes());
        mac.update(b".");
        mac.update(body);
        mac.verify_slice(signature).is_ok()
    });
    if valid {
        Ok(())
    } else {
        Err("the signature does not match")
    }
}

/// The header Stripe would send for `body` at `timestamp`.
pub fn sign(secret: &str, body: &[u8], timestamp: i64) -> String {
    let mut mac =
        Hmac::<Sha256>::new_from_slice(secret.as_bytes()).expect("HMAC takes any key length");
    mac.update(format!("{timestamp}.").as_bytes());
    mac.update(body);
    format!(
        "t={timestamp},v1={}",
        hex::encode(mac.finalize().into_bytes())
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_signature_holds_for_its_body_secret_and_time_only() {
        let body = br#"{"id":"evt_1"}"#;
        let header = sign("whsec_test", body, 1_000_000);
        assert_eq!(verify("whsec_test", &header, body, 1_000_100), Ok(()));
        assert!(verify("whsec_other", &header, body, 1_000_100).is_err());
        assert!(verify("whsec_test", &header, br#"{"id":"evt_2"}"#, 1_000_100).is_err());
        assert!(verify("whsec_test", &header, body, 1_000_000 + 301).is_err());
        assert!(verify("whsec_test", "", body, 1_000_000).is_err());
        assert!(verify("whsec_test", "t=1000000,v1=zz", body, 1_000_000).is_err());
        // One valid v1 among several (Stripe sends two while a secret is being rolled).
        let (_, good) = header.split_once(",v1=").unwrap();
        let rolled = format!("t=1000000,v1={},v1={good}", "00".repeat(32));
        assert_eq!(verify("whsec_test", &rolled, body, 1_000_000), Ok(()));
    }
}
