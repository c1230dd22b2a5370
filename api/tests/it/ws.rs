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

/// Messages until the socket closes (or `within` passes): what it heard, and the close code.
async fn until_closed(
    ws: &mut WsClient,
    within: Duration,
) -> (Vec<serde_json::Value>, Option<u64>) {
    let deadline = tokio::time::Instant::now() + within;
    let mut heard = Vec::new();
    loop {
        let left = deadline.saturating_duration_since(tokio::time::Instant::now());
        match ws.next_message(left).await {
            Some(msg) if msg["type"] == "close" => return (heard, msg["code"].as_u64()),
            Some(msg) => heard.push(msg),
            None => return (heard, None),
        }
    }
}

/// A second session of `user`'s account.
async fn second_session(app: &TestApp, user: &Session) -> Session {
    let email = app.me(&user.token).await["email"]
        .as_str()
        .unwrap()
        .to_owned();
    Session::from_payload(&app.sign_in(&email, PASSWORD).await["data"]["signIn"])
        .expect("signed in again")
}

/// After `signOut` over HTTP, the session's open WebSocket is closed with 4403 and, until then,
/// answers nothing as that session: no `me`, and no `orderCreated` for the order the account's
/// other session makes (on the code before this, the socket went on answering both).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn signing_out_closes_the_sessions_websocket_and_it_hears_nothing_after() {
    let (_env, app) = spawn().await;
    let m = crate::market::Market::open(&app).await;
    let other = second_session(&app, &m.buyer).await;
    let mut ws = crate::market::ws_as(&app, &m.buyer.token).await;
    ws.subscribe("o", "subscription { orderCreated { id } }")
        .await;
    ws.subscribe("me", "{ me { email } }").await;
    let me = ws.next_data("me", Duration::from_secs(5)).await.unwrap();
    assert!(me["data"]["me"]["email"].is_string(), "{me}");

    let out = app
        .gql("mutation { signOut }", json!({}), Some(&m.buyer.token))
        .await;
    assert_eq!(out["data"]["signOut"], true, "{out}");
    ws.subscribe("me2", "{ me { email } }").await;
    let order = crate::market::create_order(&app, &other.token, m.ticket_id()).await;
    assert!(order["data"]["createOrder"]["id"].is_string(), "{order}");

    let (heard, code) = until_closed(&mut ws, Duration::from_secs(10)).await;
    assert_eq!(code, Some(4403), "heard {heard:?}");
    for msg in &heard {
        // The subscription may end ("complete"); it must not deliver.
        assert!(
            !(msg["id"] == "o" && msg["type"] == "next"),
            "a private event after signing out: {msg}"
        );
        assert!(
            !msg.to_string().contains("@"),
            "the account's email after signing out: {msg}"
        );
    }
}

/// `changePassword` signs out every other session: their WebSockets are closed with 4403, the
/// changing session's stays open and hears its own account's update.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn changing_the_password_closes_the_other_sessions_websockets() {
    let (_env, app) = spawn().await;
    let user = app.sign_up(&unique_email()).await;
    let other = second_session(&app, &user).await;
    let mut theirs = crate::market::ws_as(&app, &other.token).await;
    let mut mine = crate::market::ws_as(&app, &user.token).await;
    theirs.subscribe("u", ME_UPDATES).await;
    mine.subscribe("u", ME_UPDATES).await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    let changed = app
        .gql(
            CHANGE_PASSWORD,
            json!({ "current": PASSWORD, "new": "new password 1" }),
            Some(&user.token),
        )
        .await;
    assert!(changed["errors"].is_null(), "{changed}");
    let (heard, code) = until_closed(&mut theirs, Duration::from_secs(10)).await;
    assert_eq!(code, Some(4403), "heard {heard:?}");
    assert!(
        heard
            .iter()
            .all(|m| !(m["id"] == "u" && m["type"] == "next")),
        "{heard:?}"
    );
    let pushed = mine.next_data("u", Duration::from_secs(5)).await;
    assert!(pushed.is_some(), "the changing session keeps its socket");
}

/// A socket whose token expires is closed with 4403 when it does.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_websocket_is_closed_when_its_token_expires() {
    let env = TestEnv::new().await;
    let app = env.spawn_with(&[("SESSION_TTL_SECONDS", "3")]).await;
    let user = app.sign_up(&unique_email()).await;
    let mut ws = crate::market::ws_as(&app, &user.token).await;
    ws.subscribe("u", ME_UPDATES).await;
    let (heard, code) = until_closed(&mut ws, Duration::from_secs(10)).await;
    assert_eq!(code, Some(4403), "heard {heard:?}");
}
