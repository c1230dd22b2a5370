//! Subscriptions (and any operation) over Server-Sent Events on `POST /graphql`: the
//! `graphql-sse` protocol's distinct-connections mode, for networks that block WebSockets. A
//! request that accepts `text/event-stream` gets one `next` event per result and a `complete`
//! event at the end.
//!
//! The same rules as the WebSocket hold, because the same streams run: the credential (cookie or
//! `Authorization`) is checked when the operation starts, a subscription ends at its session's
//! revocation on any replica (`subscriptions::events`), and a push costs what it costs the
//! WebSocket (one rendering per event and selection). Besides, the stream ends when its token
//! expires and when the server starts draining; one request is one operation, so the
//! per-connection limit is one by construction.

use std::{convert::Infallible, time::Duration};

use async_graphql::{Request, parser::types::OperationType};
use axum::{
    http::HeaderMap,
    response::{
        IntoResponse, Response,
        sse::{Event, KeepAlive, Sse},
    },
};
use futures_util::{StreamExt, stream};

use crate::{
    auth::{self, Credential},
    state::AppState,
};

/// Comments sent while nothing happens, so proxies keep the stream open.
const KEEP_ALIVE: Duration = Duration::from_secs(12);

/// Whether a request is answered as an event stream: its client accepts `text/event-stream`, and
/// either accepts no JSON answer (graphql-sse's client) or sends a subscription. A client that
/// lists every type it can read (urql does) still gets its queries and mutations as JSON.
/// Whether the client may want an event stream (its `Accept` names one), before the body is read.
pub(super) fn may_want_event_stream(headers: &HeaderMap) -> bool {
    headers
        .get(axum::http::header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|accept| accept.contains("text/event-stream"))
}

pub(super) fn wants_event_stream(headers: &HeaderMap, request: &Request) -> bool {
    let accept = headers
        .get(axum::http::header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    let types: Vec<&str> = accept
        .split(',')
        .map(|t| t.split(';').next().unwrap_or_default().trim())
        .collect();
    if !types.contains(&"text/event-stream") {
        return false;
    }
    let json = types
        .iter()
        .any(|t| matches!(*t, "application/json" | "application/graphql-response+json"));
    !json || crate::schema::documents::operation_type(request) == Some(OperationType::Subscription)
}

/// Runs one operation as an event stream.
pub(super) async fn stream(state: AppState, headers: &HeaderMap, request: Request) -> Response {
    let token = auth::token_from_headers(headers);
    // A signed-in stream lasts no longer than its token (as the WebSocket is closed then).
    let expires = match &token {
        Some(token) => match state.auth.authenticate_until(token).await {
            Ok(Some((_, expires_at))) => (expires_at - chrono::Utc::now()).to_std().ok(),
            _ => None,
        },
        None => None,
    };
    let request = request.data(Credential::new(token));
    let draining = state.shutdown.draining.clone();
    let until = async move {
        match expires {
            Some(left) => tokio::select! {
                _ = tokio::time::sleep(left) => {}
                _ = draining.cancelled() => {}
            },
            None => draining.cancelled().await,
        }
    };
    let results = state
        .schema
        .execute_stream(request, None)
        .take_until(until)
        .map(|response| {
            Ok::<_, Infallible>(
                Event::default()
                    .event("next")
                    .data(serde_json::to_string(&response).unwrap_or_default()),
            )
        });
    let complete = stream::once(async { Ok(Event::default().event("complete").data("")) });
    Sse::new(results.chain(complete))
        .keep_alive(KeepAlive::new().interval(KEEP_ALIVE))
        .into_response()
}
