use std::time::Duration;

use serde_json::json;

use crate::support::*;

const ME_UPDATES: &str = "subscription { userUpdated { id } }";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connection_init_payload_authenticates_over_graphql_transport_ws() {
    let (_env, app) = spawn().await;
    let user = app.sign_up(&unique_email()).await;
    let mut ws = WsClient::connect(
        &app,
        WsOptions {
            payload: json!({ "authorization": format!("Bearer {}", user.token) }),
            ..Default::default()
        },
    )
    .await;
    ws.subscribe("a", ME_UPDATES).await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    app.gql(
        CHANGE_PASSWORD,
        json!({ "current": PASSWORD, "new": "new password 1" }),
        Some(&user.token),
    )
    .await;
    let pushed = ws
        .next_data("a", Duration::from_secs(5))
        .await
        .expect("pushed");
    assert_eq!(
        pushed["data"]["userUpdated"]["id"],
        user.user_id.as_str(),
        "{pushed}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn upgrade_cookie_authenticates_over_legacy_graphql_ws() {
    let (_env, app) = spawn().await;
    let user = app.sign_up(&unique_email()).await;
    let cookie = format!("session={}", user.token);
    let mut ws = WsClient::connect(
        &app,
        WsOptions {
            protocol: Protocol::Legacy,
            cookie: Some(&cookie),
            ..Default::default()
        },
    )
    .await;
    ws.subscribe("a", ME_UPDATES).await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    app.gql(
        CHANGE_PASSWORD,
        json!({ "current": PASSWORD, "new": "new password 1" }),
        Some(&user.token),
    )
    .await;
    let pushed = ws
        .next_data("a", Duration::from_secs(5))
        .await
        .expect("pushed");
    assert_eq!(
        pushed["data"]["userUpdated"]["id"],
        user.user_id.as_str(),
        "{pushed}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_invalid_token_in_connection_init_is_refused() {
    let (_env, app) = spawn().await;
    let mut ws = WsClient::open(&app, &WsOptions::default()).await.unwrap();
    let answer = ws
        .init(json!({ "authorization": "Bearer not-a-token" }))
        .await;
    assert_ne!(answer["type"], "connection_ack", "{answer}");
    assert_eq!(answer["type"], "close", "{answer}");
    // graphql-ws's 4403 Forbidden; the reason carries the API's code.
    assert_eq!(answer["code"], 4403, "{answer}");
    assert!(
        answer["reason"]
            .as_str()
            .unwrap_or("")
            .starts_with("UNAUTHENTICATED"),
        "{answer}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_anonymous_subscriber_to_private_events_gets_unauthenticated() {
    let (_env, app) = spawn().await;
    let mut ws = WsClient::connect(&app, WsOptions::default()).await;
    ws.subscribe("a", ME_UPDATES).await;
    let answer = ws
        .next_data("a", Duration::from_secs(5))
        .await
        .expect("an answer");
    assert_eq!(
        answer["errors"][0]["extensions"]["code"], "UNAUTHENTICATED",
        "{answer}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_foreign_origin_is_refused_and_own_or_allowed_origins_are_not() {
    let env = TestEnv::new().await;
    let app = env
        .spawn_with(&[("ALLOWED_ORIGINS", "https://shop.example")])
        .await;
    let foreign = WsClient::open(
        &app,
        &WsOptions {
            origin: Some("https://evil.example"),
            ..Default::default()
        },
    )
    .await;
    assert_eq!(foreign.err(), Some(403));

    let own = format!("http://{}", app.addr);
    for origin in [own.as_str(), "https://shop.example"] {
        let mut ws = WsClient::open(
            &app,
            &WsOptions {
                origin: Some(origin),
                ..Default::default()
            },
        )
        .await
        .unwrap_or_else(|status| panic!("{origin} refused with {status}"));
        assert_eq!(ws.init(json!({})).await["type"], "connection_ack");
    }
}

/// A subscriber may stay silent for long stretches and still be told of changes.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_quiet_subscriber_stays_connected() {
    let (_env, app) = spawn().await;
    let seller = app.sign_up(&unique_email()).await;
    let mut ws = WsClient::connect(&app, WsOptions::default()).await;
    ws.subscribe("c", "subscription { ticketCreated { id } }")
        .await;
    assert!(
        ws.next_message(Duration::from_secs(35)).await.is_none(),
        "nothing but silence"
    );
    let t = crate::market::create_ticket(&app, &seller.token, "Late", "1").await;
    let got = ws
        .next_data("c", Duration::from_secs(5))
        .await
        .expect("still connected");
    assert_eq!(got["data"]["ticketCreated"]["id"], t["id"]);
}

/// Protocol mistakes get graphql-transport-ws's own close codes, which clients act on: 4401 for a
/// subscribe before `connection_ack`, 4400 for a message that is not the protocol's.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn protocol_mistakes_get_the_protocols_close_codes() {
    let (_env, app) = spawn().await;
    let mut early = WsClient::open(&app, &WsOptions::default()).await.unwrap();
    early
        .subscribe("a", "subscription { ticketCreated { id } }")
        .await;
    let closed = early
        .next_message(Duration::from_secs(5))
        .await
        .expect("closed");
    assert_eq!(
        (closed["type"].as_str(), closed["code"].as_u64()),
        (Some("close"), Some(4401)),
        "{closed}"
    );

    let legacy = WsOptions {
        protocol: Protocol::Legacy,
        ..Default::default()
    };
    let mut early = WsClient::open(&app, &legacy).await.unwrap();
    early
        .subscribe("a", "subscription { ticketCreated { id } }")
        .await;
    let closed = early
        .next_message(Duration::from_secs(5))
        .await
        .expect("closed");
    assert_eq!(
        closed["code"], 4401,
        "not 1011, which says the server failed: {closed}"
    );

    let mut garbled = WsClient::connect(&app, WsOptions::default()).await;
    garbled
        .send(json!({ "type": "no-such-type", "id": 7 }))
        .await;
    let closed = garbled
        .next_message(Duration::from_secs(5))
        .await
        .expect("closed");
    assert_eq!(
        (closed["type"].as_str(), closed["code"].as_u64()),
        (Some("close"), Some(4400)),
        "{closed}"
    );
}
