//! A local fake of the slice of Stripe's HTTP API the server uses (PaymentIntents create, confirm,
//! retrieve and cancel; refunds), on loopback, so async-stripe runs for real against it. It keeps
//! Stripe's idempotency rules (same key, same params: the first response again; other params: 400)
//! and records every request, so tests can count charges and see keys and amounts.

use std::{
    collections::HashMap,
    sync::{Arc, Mutex},
    time::Duration,
};

use axum::{
    Router,
    body::Bytes,
    extract::{Path, State},
    http::{HeaderMap, StatusCode},
    response::{IntoResponse, Response},
    routing::{get, post},
};
use serde_json::{Value, json};
use tokio::net::TcpListener;

#[derive(Clone, Debug)]
pub struct Recorded {
    pub method: &'static str,
    pub path: String,
    pub idempotency_key: Option<String>,
    pub form: HashMap<String, String>,
}

#[derive(Default)]
struct State_ {
    requests: Vec<Recorded>,
    intents: HashMap<String, Value>,
    /// Idempotency key → (params, status, body) of the first response.
    replies: HashMap<String, (HashMap<String, String>, u16, Value)>,
    refunds: Vec<String>,
    /// The confirm step charges, then waits this long before answering.
    confirm_delay: Duration,
    /// The confirm step charges, then answers 500 as if the connection broke.
    confirm_fails_after_charging: bool,
    /// Creating a PaymentIntent answers 503, as an outage does.
    create_unavailable: bool,
    /// Refunds answer 503 (before anything is refunded or remembered for their key).
    refunds_unavailable: bool,
    /// The confirm step answers 500 without charging, as a request lost on its way does.
    confirm_lost: bool,
    /// Refunds are made, then answered 500, as an answer lost on its way back.
    refund_answers_lost: bool,
    next_id: u64,
}

#[derive(Clone)]
pub struct FakeStripe {
    pub url: String,
    state: Arc<Mutex<State_>>,
}

type Shared = Arc<Mutex<State_>>;

impl FakeStripe {
    pub async fn start() -> Self {
        let state: Shared = Arc::default();
        let app = Router::new()
            .route("/v1/payment_intents", post(create))
            .route("/v1/payment_intents/{id}", get(retrieve))
            .route("/v1/payment_intents/{id}/confirm", post(confirm))
            .route("/v1/payment_intents/{id}/cancel", post(cancel))
            .route("/v1/refunds", post(refund))
            .with_state(state.clone());
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        tokio::spawn(async move { axum::serve(listener, app).await });
        Self { url, state }
    }

    fn state(&self) -> std::sync::MutexGuard<'_, State_> {
        self.state.lock().unwrap()
    }

    pub fn delay_confirm(&self, delay: Duration) {
        self.state().confirm_delay = delay;
    }

    pub fn fail_confirm_after_charging(&self, fail: bool) {
        self.state().confirm_fails_after_charging = fail;
    }

    pub fn make_refunds_unavailable(&self, unavailable: bool) {
        self.state().refunds_unavailable = unavailable;
    }

    pub fn lose_refund_answers(&self, lost: bool) {
        self.state().refund_answers_lost = lost;
    }

    pub fn lose_confirms(&self, lost: bool) {
        self.state().confirm_lost = lost;
    }

    pub fn make_create_unavailable(&self, unavailable: bool) {
        self.state().create_unavailable = unavailable;
    }

    /// Every request so far, in order.
    pub fn requests(&self) -> Vec<Recorded> {
        self.state().requests.clone()
    }

    /// PaymentIntents that took money (succeeded), whatever happened to them after.
    pub fn charged(&self) -> Vec<Value> {
        self.state()
            .intents
            .values()
            .filter(|pi| pi["amount_received"].as_i64().unwrap_or(0) > 0)
            .cloned()
            .collect()
    }

    pub fn refunds(&self) -> Vec<String> {
        self.state().refunds.clone()
    }

    /// Where the server should point async-stripe.
    pub fn vars(&self) -> [(&'static str, &str); 2] {
        [
            ("STRIPE_SECRET_KEY", "sk_test_fake"),
            ("STRIPE_API_BASE", &self.url),
        ]
    }
}

fn parse_form(body: &[u8]) -> HashMap<String, String> {
    serde_urlencoded::from_bytes::<Vec<(String, String)>>(body)
        .unwrap_or_default()
        .into_iter()
        .collect()
}

fn error(status: StatusCode, kind: &str, message: &str, extra: Value) -> (u16, Value) {
    let mut error = json!({ "type": kind, "message": message });
    if let (Some(e), Some(x)) = (error.as_object_mut(), extra.as_object()) {
        e.extend(x.clone());
    }
    (status.as_u16(), json!({ "error": error }))
}

fn reply((status, body): (u16, Value)) -> Response {
    (
        StatusCode::from_u16(status).unwrap(),
        axum::Json(body.clone()),
    )
        .into_response()
}

/// Records the request, checks the key, and replays the first response of a reused idempotency
/// key; otherwise runs `handle` and remembers its response under the key.
fn idempotent(
    state: &Shared,
    method: &'static str,
    path: String,
    headers: &HeaderMap,
    body: &[u8],
    handle: impl FnOnce(&mut State_, &HashMap<String, String>) -> (u16, Value),
) -> (u16, Value) {
    let form = parse_form(body);
    let key = headers
        .get("idempotency-key")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let mut s = state.lock().unwrap();
    s.requests.push(Recorded {
        method,
        path,
        idempotency_key: key.clone(),
        form: form.clone(),
    });
    if headers
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .is_none_or(|v| !v.starts_with("Bearer sk_test_"))
    {
        return error(
            StatusCode::UNAUTHORIZED,
            "invalid_request_error",
            "Invalid API Key provided",
            json!({}),
        );
    }
    if let Some(key) = &key
        && let Some((params, status, body)) = s.replies.get(key)
    {
        if params != &form {
            return error(
                StatusCode::BAD_REQUEST,
                "idempotency_error",
                "Keys for idempotent requests can only be used with the same parameters they were first used with.",
                json!({}),
            );
        }
        return (*status, body.clone());
    }
    let (status, body) = handle(&mut s, &form);
    if let Some(key) = key {
        s.replies.insert(key, (form, status, body.clone()));
    }
    (status, body)
}

const GOOD: [&str; 2] = ["tok_visa", "pm_card_visa"];
const DECLINED: [&str; 2] = ["tok_chargeDeclined", "pm_card_chargeDeclined"];

async fn create(State(state): State<Shared>, headers: HeaderMap, body: Bytes) -> Response {
    reply(idempotent(
        &state,
        "POST",
        "/v1/payment_intents".into(),
        &headers,
        &body,
        |s, form| {
            if s.create_unavailable {
                return error(
                    StatusCode::SERVICE_UNAVAILABLE,
                    "api_error",
                    "Stripe is temporarily unavailable",
                    json!({}),
                );
            }
            let card = form
                .get("payment_method")
                .or_else(|| form.get("payment_method_data[card][token]"))
                .cloned()
                .unwrap_or_default();
            if !GOOD.contains(&card.as_str()) && !DECLINED.contains(&card.as_str()) {
                return error(
                    StatusCode::BAD_REQUEST,
                    "invalid_request_error",
                    &format!("No such token: '{card}'"),
                    json!({ "code": "resource_missing", "param": "payment_method_data[card][token]" }),
                );
            }
            let Some(amount) = form.get("amount").and_then(|a| a.parse::<i64>().ok()) else {
                return error(
                    StatusCode::BAD_REQUEST,
                    "invalid_request_error",
                    "Missing required param: amount.",
                    json!({ "param": "amount" }),
                );
            };
            s.next_id += 1;
            let id = format!("pi_fake{:06}", s.next_id);
            let metadata: serde_json::Map<String, Value> = form
                .iter()
                .filter_map(|(k, v)| {
                    let key = k.strip_prefix("metadata[")?.strip_suffix(']')?;
                    Some((key.to_owned(), json!(v)))
                })
                .collect();
            let intent = json!({
                "id": id,
                "object": "payment_intent",
                "amount": amount,
                "amount_capturable": 0,
                "amount_received": 0,
                "capture_method": "automatic",
                "confirmation_method": "automatic",
                "created": chrono::Utc::now().timestamp(),
                "currency": form.get("currency").cloned().unwrap_or_default(),
                "description": form.get("description"),
                "livemode": false,
                "metadata": metadata,
                "payment_method": format!("pm_fake_{card}"),
                "payment_method_types": ["card"],
                "status": "requires_confirmation",
                // Not Stripe's: which card, so confirm knows the outcome.
                "x_card": card,
            });
            s.intents.insert(id, intent.clone());
            (200, intent)
        },
    ))
}

async fn confirm(
    State(state): State<Shared>,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let path = format!("/v1/payment_intents/{id}/confirm");
    if state.lock().unwrap().confirm_lost {
        return reply(error(
            StatusCode::INTERNAL_SERVER_ERROR,
            "api_error",
            "An unknown error occurred",
            json!({}),
        ));
    }
    let result = idempotent(&state, "POST", path, &headers, &body, |s, _| {
        let Some(intent) = s.intents.get_mut(&id) else {
            return no_such_intent(&id);
        };
        if intent["status"] != "requires_confirmation" {
            return error(
                StatusCode::BAD_REQUEST,
                "invalid_request_error",
                &format!(
                    "You cannot confirm this PaymentIntent because it has a status of {}.",
                    intent["status"].as_str().unwrap_or_default()
                ),
                json!({ "code": "payment_intent_unexpected_state" }),
            );
        }
        if DECLINED.contains(&intent["x_card"].as_str().unwrap_or_default()) {
            intent["status"] = json!("requires_payment_method");
            intent["last_payment_error"] = json!({
                "type": "card_error", "code": "card_declined", "message": "Your card was declined."
            });
            return error(
                StatusCode::PAYMENT_REQUIRED,
                "card_error",
                "Your card was declined.",
                json!({ "code": "card_declined", "decline_code": "generic_decline", "payment_intent": intent.clone() }),
            );
        }
        intent["status"] = json!("succeeded");
        intent["amount_received"] = intent["amount"].clone();
        (200, intent.clone())
    });
    let (delay, fail) = {
        let s = state.lock().unwrap();
        (s.confirm_delay, s.confirm_fails_after_charging)
    };
    tokio::time::sleep(delay).await;
    if fail {
        return reply(error(
            StatusCode::INTERNAL_SERVER_ERROR,
            "api_error",
            "An unknown error occurred",
            json!({}),
        ));
    }
    reply(result)
}

async fn retrieve(State(state): State<Shared>, Path(id): Path<String>) -> Response {
    let mut s = state.lock().unwrap();
    s.requests.push(Recorded {
        method: "GET",
        path: format!("/v1/payment_intents/{id}"),
        idempotency_key: None,
        form: HashMap::new(),
    });
    match s.intents.get(&id) {
        Some(intent) => reply((200, intent.clone())),
        None => reply(no_such_intent(&id)),
    }
}

async fn cancel(
    State(state): State<Shared>,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let path = format!("/v1/payment_intents/{id}/cancel");
    reply(idempotent(&state, "POST", path, &headers, &body, |s, _| {
        let Some(intent) = s.intents.get_mut(&id) else {
            return no_such_intent(&id);
        };
        let status = intent["status"].as_str().unwrap_or_default();
        if matches!(status, "succeeded" | "canceled" | "processing") {
            return error(
                StatusCode::BAD_REQUEST,
                "invalid_request_error",
                &format!(
                    "You cannot cancel this PaymentIntent because it has a status of {status}."
                ),
                json!({ "code": "payment_intent_unexpected_state" }),
            );
        }
        intent["status"] = json!("canceled");
        (200, intent.clone())
    }))
}

async fn refund(State(state): State<Shared>, headers: HeaderMap, body: Bytes) -> Response {
    if state.lock().unwrap().refunds_unavailable {
        state.lock().unwrap().requests.push(Recorded {
            method: "POST",
            path: "/v1/refunds".into(),
            idempotency_key: None,
            form: parse_form(&body),
        });
        return reply(error(
            StatusCode::SERVICE_UNAVAILABLE,
            "api_error",
            "Stripe is unavailable",
            json!({}),
        ));
    }
    let result = idempotent(
        &state,
        "POST",
        "/v1/refunds".into(),
        &headers,
        &body,
        |s, form| {
            let id = form.get("payment_intent").cloned().unwrap_or_default();
            let Some(intent) = s.intents.get(&id) else {
                return no_such_intent(&id);
            };
            if intent["status"] != "succeeded" {
                return error(
                    StatusCode::BAD_REQUEST,
                    "invalid_request_error",
                    "This PaymentIntent has no charge to refund.",
                    json!({}),
                );
            }
            if s.refunds.contains(&id) {
                return error(
                    StatusCode::BAD_REQUEST,
                    "invalid_request_error",
                    "Charge has already been refunded.",
                    json!({ "code": "charge_already_refunded" }),
                );
            }
            let amount = intent["amount"].clone();
            s.refunds.push(id.clone());
            (
                200,
                json!({ "id": format!("re_fake{}", s.refunds.len()), "object": "refund",
                        "amount": amount, "payment_intent": id, "status": "succeeded" }),
            )
        },
    );
    if state.lock().unwrap().refund_answers_lost {
        return reply(error(
            StatusCode::INTERNAL_SERVER_ERROR,
            "api_error",
            "An unknown error occurred",
            json!({}),
        ));
    }
    reply(result)
}

fn no_such_intent(id: &str) -> (u16, Value) {
    error(
        StatusCode::NOT_FOUND,
        "invalid_request_error",
        &format!("No such payment_intent: '{id}'"),
        json!({ "code": "resource_missing" }),
    )
}
