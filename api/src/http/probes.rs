//! Liveness, readiness and metrics, on the public port or on `METRICS_PORT`'s own.

use std::time::Duration;

use axum::{
    Json, Router,
    extract::State,
    http::{StatusCode, header},
    response::{IntoResponse, Response},
    routing::get,
};
use serde_json::json;

use crate::{db, state::AppState};

/// The operators' port (`METRICS_PORT`): metrics and the probes, nothing public.
pub fn operations_router(state: AppState) -> Router {
    Router::new()
        .route("/metrics", get(metrics))
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz))
        .with_state(state)
}

pub(super) async fn healthz() -> &'static str {
    "ok"
}

pub(super) async fn readyz(State(state): State<AppState>) -> Response {
    if state.shutdown.draining.is_cancelled() {
        return (
            StatusCode::SERVICE_UNAVAILABLE,
            Json(json!({ "draining": true })),
        )
            .into_response();
    }
    let timeout = Duration::from_secs(2);
    let database = matches!(
        tokio::time::timeout(timeout, db::ping(&state.db)).await,
        Ok(Ok(()))
    );
    let lock_store = matches!(
        tokio::time::timeout(timeout, state.stores.locks.ping()).await,
        Ok(Ok(()))
    );
    let status = if database && lock_store {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    let word = |ok: bool| if ok { "ok" } else { "unavailable" };
    (
        status,
        Json(json!({ "database": word(database), "lockStore": word(lock_store) })),
    )
        .into_response()
}

pub(super) async fn metrics(State(state): State<AppState>) -> Response {
    (
        [(
            header::CONTENT_TYPE,
            "application/openmetrics-text; version=1.0.0; charset=utf-8",
        )],
        state.metrics.render(),
    )
        .into_response()
}
