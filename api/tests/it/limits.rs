//! Abuse limits: each configurable, each refused with a clear code, none changing anything.

use std::time::Duration;

use serde_json::{Value, json};

use crate::{market::*, support::*};

fn message(body: &Value) -> &str {
    body["errors"][0]["message"].as_str().unwrap_or_default()
}

/// Aliases cannot multiply one request: at most `MAX_ROOT_FIELDS` root fields per operation,
/// fragments counted, and a refused mutation runs none of its fields.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_operation_carries_at_most_max_root_fields() {
    let env = TestEnv::new().await;
    let app = env.spawn_with(&[("MAX_ROOT_FIELDS", "3")]).await;
    let m = Market::open(&app).await;
    let three = "{ a: __typename b: __typename c: __typename }";
    let ok = app.gql(three, json!({}), None).await;
    assert_eq!(ok["data"]["c"], "Query", "{ok}");

    let four = "{ a: __typename b: __typename c: __typename d: __typename }";
    let through_fragments = "query { ...F ... on Query { c: __typename d: __typename } }
        fragment F on Query { a: __typename b: __typename }";
    for query in [four, through_fragments] {
        let body = app.gql(query, json!({}), None).await;
        assert_eq!(error_code(&body), Some("BAD_USER_INPUT"), "{body}");
        assert!(message(&body).contains("at most 3"), "{body}");
        assert!(body["data"].is_null(), "{body}");
    }

    let hoard = format!(
        "mutation {{ {} }}",
        (0..4)
            .map(|n| format!(
                "o{n}: createOrder(ticketId: \"{}\") {{ id }}",
                m.ticket_id().as_str().unwrap()
            ))
            .collect::<Vec<_>>()
            .join(" ")
    );
    let body = app.gql(&hoard, json!({}), Some(&m.buyer.token)).await;
    assert_eq!(error_code(&body), Some("BAD_USER_INPUT"), "{body}");
    assert_eq!(
        ticket(&app, m.ticket_id()).await["status"],
        "AVAILABLE",
        "nothing ran"
    );
}

/// One WebSocket holds at most `WS_MAX_SUBSCRIPTIONS` live subscriptions; completing one frees
/// its place.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_websocket_holds_at_most_ws_max_subscriptions() {
    let env = TestEnv::new().await;
    let app = env.spawn_with(&[("WS_MAX_SUBSCRIPTIONS", "2")]).await;
    let seller = app.sign_up(&unique_email()).await;
    let mut ws = WsClient::connect(&app, WsOptions::default()).await;
    for id in ["a", "b", "c"] {
        ws.subscribe(id, "subscription { ticketCreated { id } }")
            .await;
    }
    // A socket's subscribes are resolved concurrently: which one is refused is not fixed, but
    // exactly one is.
    let mut refused = Vec::new();
    for id in ["a", "b", "c"] {
        if let Some(answer) = ws.next_data(id, Duration::from_millis(1500)).await {
            assert_eq!(
                answer["errors"][0]["extensions"]["code"], "BAD_USER_INPUT",
                "{answer}"
            );
            assert!(
                answer["errors"][0]["message"]
                    .as_str()
                    .unwrap()
                    .contains("at most 2"),
                "{answer}"
            );
            refused.push(id);
        }
    }
    assert_eq!(refused.len(), 1, "refused: {refused:?}");
    let accepted: Vec<&str> = ["a", "b", "c"]
        .into_iter()
        .filter(|id| !refused.contains(id))
        .collect();
    // The two within the limit work.
    create_ticket(&app, &seller.token, "Live", "5").await;
    for id in &accepted {
        assert!(
            ws.next_data(id, Duration::from_secs(5)).await.is_some(),
            "{id}"
        );
    }
    // Completing one frees its place.
    ws.send(json!({ "id": accepted[0], "type": "complete" }))
        .await;
    tokio::time::sleep(Duration::from_millis(200)).await;
    ws.subscribe("d", "subscription { ticketCreated { id } }")
        .await;
    tokio::time::sleep(Duration::from_millis(200)).await;
    create_ticket(&app, &seller.token, "Again", "5").await;
    let got = ws
        .next_data("d", Duration::from_secs(5))
        .await
        .expect("d runs");
    assert!(got["data"]["ticketCreated"]["id"].is_string(), "{got}");
    // Another connection has its own places.
    let mut other = WsClient::connect(&app, WsOptions::default()).await;
    other
        .subscribe("x", "subscription { ticketCreated { id } }")
        .await;
    tokio::time::sleep(Duration::from_millis(200)).await;
    create_ticket(&app, &seller.token, "Third", "5").await;
    assert!(other.next_data("x", Duration::from_secs(5)).await.is_some());
}

/// A socket that never sends `connection_init` is closed with 4408 after
/// `WS_INIT_TIMEOUT_SECONDS`; one that does is kept.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_websocket_that_never_initialises_is_closed_with_4408() {
    let env = TestEnv::new().await;
    let app = env.spawn_with(&[("WS_INIT_TIMEOUT_SECONDS", "1")]).await;
    let mut silent = WsClient::open(&app, &WsOptions::default()).await.unwrap();
    let mut polite = WsClient::connect(&app, WsOptions::default()).await;
    let closed = silent
        .next_message(Duration::from_secs(5))
        .await
        .expect("closed");
    assert_eq!(closed["type"], "close", "{closed}");
    assert_eq!(closed["code"], 4408, "{closed}");
    assert!(
        polite
            .next_message(Duration::from_millis(1500))
            .await
            .is_none(),
        "an initialised socket stays open"
    );
}

/// A message over `WS_MAX_MESSAGE_BYTES` ends that connection, and only that one.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_oversized_websocket_message_closes_that_socket() {
    let env = TestEnv::new().await;
    let app = env.spawn_with(&[("WS_MAX_MESSAGE_BYTES", "1024")]).await;
    let mut ws = WsClient::connect(&app, WsOptions::default()).await;
    let padding = "x".repeat(2000);
    ws.send(json!({ "id": "big", "type": "subscribe", "payload": {
        "query": format!("subscription {{ ticketCreated {{ id }} }} # {padding}") } }))
        .await;
    let closed = ws
        .next_message(Duration::from_secs(5))
        .await
        .unwrap_or(json!({ "type": "close" }));
    assert_eq!(closed["type"], "close", "{closed}");
    assert!(ws.next_message(Duration::from_millis(500)).await.is_none());
    let mut fresh = WsClient::connect(&app, WsOptions::default()).await;
    fresh
        .subscribe("ok", "subscription { ticketCreated { id } }")
        .await;
    assert!(
        fresh
            .next_message(Duration::from_millis(300))
            .await
            .is_none(),
        "healthy"
    );
    let alive = app.gql("{ __typename }", json!({}), None).await;
    assert_eq!(alive["data"]["__typename"], "Query");
}
