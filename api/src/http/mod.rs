//! The HTTP surface: `/graphql` (POST, GET, GraphiQL: `graphql`), `/graphql/ws` (`ws`),
//! `/healthz`, `/readyz`, `/metrics` (`probes`), each domain's own routes (payments' webhook), and
//! the web UI at `/`.
//!
//! Protections async-graphql does not give by default: a GET never runs a mutation; a POST must be
//! `application/json`, so a cross-site HTML form cannot act with a visitor's cookie; a WebSocket
//! from a foreign `Origin` is refused; bodies over `MAX_BODY_BYTES` get 413.

mod cached;
mod graphql;
mod probes;
mod respond;
mod sse;
mod ws;

pub use probes::operations_router;

use std::path::Path;

use axum::{
    Extension, Json, Router,
    body::Body,
    extract::{DefaultBodyLimit, MatchedPath, State},
    http::{HeaderMap, Request as HttpRequest, StatusCode, header},
    middleware::{self, Next},
    response::{Html, IntoResponse, Response},
    routing::get,
};
use serde_json::json;
use tower_http::{
    request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer},
    services::{ServeDir, ServeFile},
    trace::TraceLayer,
};

use crate::{error::code, state::AppState};

pub fn router(state: AppState) -> Router {
    let web_dir = Path::new(&state.config.server.web_dir);
    let index = web_dir.join("index.html");
    let router = Router::new()
        .route(
            "/graphql",
            get(graphql::graphql_get).post(graphql::graphql_post),
        )
        .route("/graphql/ws", get(ws::graphql_ws))
        .route("/healthz", get(probes::healthz))
        .route("/readyz", get(probes::readyz))
        .merge(crate::payments::webhook::routes());
    // Metrics on the public port unless they have a port of their own (`METRICS_PORT`).
    let router = if state.config.server.metrics_port.is_none() {
        router.route("/metrics", get(probes::metrics))
    } else {
        router
    };
    let router = if index.exists() {
        router.fallback_service(ServeDir::new(web_dir).fallback(ServeFile::new(index)))
    } else {
        router.fallback(placeholder)
    };
    let responses = cached::ResponseCache::new(
        state.config.server.response_cache_entries,
        state.config.server.response_cache_max_age,
        state.events.changes().clone(),
        state.metrics.clone(),
    );
    router
        .layer(Extension(responses))
        .layer(DefaultBodyLimit::max(state.config.limits.max_body_bytes))
        .layer(middleware::map_response(too_large_as_json))
        .layer(middleware::from_fn_with_state(state.clone(), track))
        .layer(TraceLayer::new_for_http().make_span_with(request_span))
        .layer(PropagateRequestIdLayer::new(REQUEST_ID.clone()))
        .layer(SetRequestIdLayer::new(REQUEST_ID.clone(), MakeRequestUuid))
        .layer(middleware::map_request(drop_odd_request_id))
        .with_state(state)
}

/// Every request carries an id (the client's `x-request-id`, or a new UUID) that its response
/// echoes and every log line inside it names, services' spans included: one request can be
/// followed through the log.
static REQUEST_ID: header::HeaderName = header::HeaderName::from_static("x-request-id");

/// A client's own request id is kept only if it is a short plain token (at most 64 letters,
/// digits, `-`, `_` or `.`): every log line of the request repeats it, so a long or odd one would
/// swell the log. Otherwise the request gets a new id.
async fn drop_odd_request_id<B>(mut request: HttpRequest<B>) -> HttpRequest<B> {
    let plain = |v: &header::HeaderValue| {
        v.len() <= 64
            && v.as_bytes()
                .iter()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
    };
    let ids = request.headers().get_all(&REQUEST_ID);
    if ids.iter().count() > 1 || ids.iter().any(|v| !plain(v)) {
        request.headers_mut().remove(&REQUEST_ID);
    }
    request
}

fn request_span<B>(request: &HttpRequest<B>) -> tracing::Span {
    let id = request
        .headers()
        .get(&REQUEST_ID)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("-");
    // The path only: a GET query string can carry variables.
    tracing::info_span!(
        "request",
        method = %request.method(),
        path = request.uri().path(),
        request_id = id,
    )
}

/// A body over `MAX_BODY_BYTES` is refused by axum in plain text; clients get the JSON shape of
/// every other refusal.
async fn too_large_as_json(response: Response) -> Response {
    if response.status() == StatusCode::PAYLOAD_TOO_LARGE && !is_json(response.headers()) {
        return refuse(
            StatusCode::PAYLOAD_TOO_LARGE,
            "the request body is larger than the server accepts (MAX_BODY_BYTES)",
        );
    }
    response
}

/// A JSON error body in the GraphQL shape, for requests refused before GraphQL runs.
pub(super) fn refuse(status: StatusCode, message: &str) -> Response {
    let body = json!({
        "errors": [{ "message": message, "extensions": { "code": code::BAD_USER_INPUT, "fields": [] } }]
    });
    (status, Json(body)).into_response()
}

pub(super) fn is_json(headers: &HeaderMap) -> bool {
    headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .is_some_and(|mime| {
            let mime = mime.trim();
            mime.eq_ignore_ascii_case("application/json")
                || mime.eq_ignore_ascii_case("application/graphql-response+json")
        })
}

async fn placeholder() -> Html<&'static str> {
    Html(include_str!("../../../web/placeholder.html"))
}

async fn track(State(state): State<AppState>, request: HttpRequest<Body>, next: Next) -> Response {
    let started = std::time::Instant::now();
    let method = request.method().as_str().to_owned();
    let path = request
        .extensions()
        .get::<MatchedPath>()
        .map_or("/*", |p| p.as_str())
        .to_owned();
    let response = next.run(request).await;
    state.metrics.http_request(
        &method,
        &path,
        response.status().as_u16(),
        started.elapsed().as_secs_f64(),
    );
    response
}
