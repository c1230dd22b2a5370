//! Subscriptions over Server-Sent Events, read raw: the protocol's framing, and the end of a
//! stream whose token expires (as its WebSocket is closed then). graphql-sse's own client is run in
//! `clients`.

use std::time::{Duration, Instant};

use serde_json::json;

use crate::support::*;

/// Reads the stream until it ends or `within` passes; returns the text and whether it ended.
async fn read(mut response: reqwest::Response, within: Duration) -> (String, bool) {
    let mut text = String::new();
    let deadline = tokio::time::Instant::now() + within;
    loop {
        match tokio::time::timeout_at(deadline, response.chunk()).await {
            Ok(Ok(Some(chunk))) => text.push_str(&String::from_utf8_lossy(&chunk)),
            Ok(Ok(None)) => return (text, true),
            Ok(Err(_)) | Err(_) => return (text, false),
        }
    }
}

async fn subscribe(app: &TestApp, query: &str, token: Option<&str>) -> reqwest::Response {
    let mut request = app
        .client
        .post(format!("{}/graphql", app.url))
        .header("accept", "text/event-stream")
        .json(&json!({ "query": query }));
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    let response = request.send().await.unwrap();
    assert_eq!(response.status(), 200);
    assert!(
        response.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/event-stream")
    );
    response
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_query_is_one_next_event_then_complete() {
    let (_env, app) = spawn().await;
    let response = subscribe(&app, "{ __typename }", None).await;
    let (text, ended) = read(response, Duration::from_secs(5)).await;
    assert!(ended, "{text}");
    assert_eq!(
        text.trim(),
        "event: next\ndata: {\"data\":{\"__typename\":\"Query\"}}\n\nevent: complete",
        "{text:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stream_ends_when_its_token_expires() {
    let env = TestEnv::new().await;
    let app = env.spawn_with(&[("SESSION_TTL_SECONDS", "3")]).await;
    let user = app.sign_up(&unique_email()).await;
    let started = Instant::now();
    let response = subscribe(
        &app,
        "subscription { userUpdated { id } }",
        Some(&user.token),
    )
    .await;
    let (text, ended) = read(response, Duration::from_secs(10)).await;
    assert!(ended, "still open after 10 s: {text}");
    assert!(text.trim_end().ends_with("event: complete"), "{text:?}");
    assert!(
        started.elapsed() >= Duration::from_secs(1),
        "ended at once: {text}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_subscription_needing_a_session_is_refused_without_one() {
    let (_env, app) = spawn().await;
    let response = subscribe(&app, "subscription { userUpdated { id } }", None).await;
    let (text, ended) = read(response, Duration::from_secs(5)).await;
    assert!(ended, "{text}");
    assert!(text.contains("\"UNAUTHENTICATED\""), "{text}");
}
