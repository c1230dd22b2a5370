//! The HTTP surface: `/graphql` (POST, GET, GraphiQL), `/graphql/ws`, `/healthz`, `/readyz`,
//! `/metrics`, and the web UI at `/`.
//!
//! Protections async-graphql does not give by default: a GET never runs a mutation; a POST must be
//! `application/json`, so a cross-site HTML form cannot act with a visitor's cookie; a WebSocket
//! from a foreign `Origin` is refused; bodies over `MAX_BODY_BYTES` get 413.

use std::{
    future::Future,
    path::Path,
    sync::{Arc, Mutex},
    time::Duration,
};

use async_graphql::{
    BatchRequest, BatchResponse, Data, Request,
    http::{ALL_WEBSOCKET_PROTOCOLS, GraphiQLSource},
    parser::types::{DocumentOperations, OperationType},
};
use async_graphql_axum::{GraphQLProtocol, GraphQLResponse, GraphQLWebSocket};
use axum::{
    Json, Router,
    body::{Body, Bytes},
    extract::{
        DefaultBodyLimit, MatchedPath, RawQuery, State, WebSocketUpgrade,
        ws::{CloseFrame, Message, WebSocket},
    },
    http::{HeaderMap, HeaderValue, Request as HttpRequest, StatusCode, header},
    middleware::{self, Next},
    response::{Html, IntoResponse, Response},
    routing::get,
};
use futures_util::{SinkExt, StreamExt};
use serde_json::json;
use tower_http::{
    services::{ServeDir, ServeFile},
    trace::TraceLayer,
};

use tokio_util::sync::CancellationToken;

use crate::{
    auth::{
        self, AuthService, Credential,
        sockets::{LiveSockets, SocketToken, Watched},
    },
    db,
    startup::AppState,
    subscriptions::SubscriptionSlots,
};

pub fn router(state: AppState) -> Router {
    let web_dir = Path::new(&state.config.web_dir);
    let index = web_dir.join("index.html");
    let router = Router::new()
        .route("/graphql", get(graphql_get).post(graphql_post))
        .route("/graphql/ws", get(graphql_ws))
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz))
        .route(
            "/webhooks/stripe",
            axum::routing::post(crate::payments::webhook::stripe_webhook),
        );
    // Metrics on the public port unless they have a port of their own (`METRICS_PORT`).
    let router = if state.config.metrics_port.is_none() {
        router.route("/metrics", get(metrics))
    } else {
        router
    };
    let router = if index.exists() {
        router.fallback_service(ServeDir::new(web_dir).fallback(ServeFile::new(index)))
    } else {
        router.fallback(placeholder)
    };
    router
        .layer(DefaultBodyLimit::max(state.config.max_body_bytes))
        .layer(middleware::map_response(too_large_as_json))
        .layer(middleware::from_fn_with_state(state.clone(), track))
        .layer(TraceLayer::new_for_http())
        .with_state(state)
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

/// How close frames reach the client.
#[derive(Clone, Copy)]
enum CloseCodes {
    /// The legacy protocol has no codes of its own.
    AsIs,
    /// graphql-transport-ws: async-graphql closes with generic codes where the protocol names
    /// its own, which clients act on (graphql-ws does not retry 4400, 4401, 4403).
    GraphqlWs,
}

impl CloseCodes {
    fn fix(self, message: Message) -> Message {
        let Message::Close(Some(frame)) = &message else {
            return message;
        };
        let code = match (self, frame.code) {
            // A subscribe before connection_ack, on either protocol (1011 would say "our fault").
            (_, 1011) if frame.reason.contains("handshake is not completed") => 4401,
            // connection_init refused (a bad token).
            (CloseCodes::GraphqlWs, 1002) if frame.reason.starts_with("UNAUTHENTICATED") => 4403,
            // A message that is not the protocol's.
            (CloseCodes::GraphqlWs, 1002) => 4400,
            (_, code) => code,
        };
        let reason = if code == 4401 {
            "Unauthorized"
        } else {
            truncate(&frame.reason, MAX_CLOSE_REASON)
        };
        Message::Close(Some(CloseFrame {
            code,
            reason: reason.into(),
        }))
    }
}

/// What a WebSocket reads from its socket at a time, kept allocated for the socket's life; a
/// client's messages (connection_init, subscribe, complete) are a few hundred bytes, and larger
/// ones still arrive whole, in more reads. 1 KiB rather than 4 saved ~3 KiB per idle subscriber.
const WS_READ_BUFFER_BYTES: usize = 1024;

/// A close frame's reason is at most 123 bytes; a longer one (a parse error's text) would make the
/// frame unsendable and drop the socket without a code.
const MAX_CLOSE_REASON: usize = 123;

fn truncate(text: &str, max: usize) -> &str {
    if text.len() <= max {
        return text;
    }
    let mut end = max;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    &text[..end]
}

/// The operators' port (`METRICS_PORT`): metrics and the probes, nothing public.
pub fn operations_router(state: AppState) -> Router {
    Router::new()
        .route("/metrics", get(metrics))
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz))
        .with_state(state)
}

/// A JSON error body in the GraphQL shape, for requests refused before GraphQL runs.
fn refuse(status: StatusCode, message: &str) -> Response {
    let body = json!({
        "errors": [{ "message": message, "extensions": { "code": "BAD_USER_INPUT", "fields": [] } }]
    });
    (status, Json(body)).into_response()
}

fn is_json(headers: &HeaderMap) -> bool {
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

async fn graphql_post(State(state): State<AppState>, headers: HeaderMap, body: Bytes) -> Response {
    if !is_json(&headers) {
        return refuse(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "POST /graphql takes Content-Type: application/json",
        );
    }
    // An array is a batch and an object one request, never the other way round (serde would
    // read `[]` or `["{ … }"]` as a request whose fields come by position).
    let is_array = body.iter().find(|b| !b.is_ascii_whitespace()) == Some(&b'[');
    let parsed = if is_array {
        serde_json::from_slice::<Vec<Request>>(&body).map(BatchRequest::Batch)
    } else {
        serde_json::from_slice::<Request>(&body).map(BatchRequest::Single)
    };
    let batch: BatchRequest = match parsed {
        Ok(batch) => batch,
        Err(err) => {
            return refuse(
                StatusCode::BAD_REQUEST,
                &format!("the body is not a GraphQL request: {err}"),
            );
        }
    };
    let size = batch.iter().count();
    if size == 0 || size > state.config.max_batch_size {
        return refuse(
            StatusCode::BAD_REQUEST,
            &format!(
                "a batch holds 1 to {} operations",
                state.config.max_batch_size
            ),
        );
    }
    let batch = batch.data(Credential::new(auth::token_from_headers(&headers)));
    // One after the other, not all at once as async-graphql would: a batch's operations share
    // its credential, and one after `signOut` must run signed out, not race it.
    let response = match batch {
        BatchRequest::Single(request) => BatchResponse::Single(state.schema.execute(request).await),
        BatchRequest::Batch(requests) => {
            let mut responses = Vec::with_capacity(requests.len());
            for request in requests {
                responses.push(state.schema.execute(request).await);
            }
            BatchResponse::Batch(responses)
        }
    };
    GraphQLResponse::from(response).into_response()
}

async fn graphql_get(
    State(state): State<AppState>,
    headers: HeaderMap,
    RawQuery(query): RawQuery,
) -> Response {
    let query = query.unwrap_or_default();
    if query.is_empty() && accepts_html(&headers) {
        return Html(graphiql(&state.config.web_dir).await).into_response();
    }
    let request = match parse_query_string(&query) {
        Ok(request) => request,
        Err(err) => {
            return refuse(
                StatusCode::BAD_REQUEST,
                &format!("not a GraphQL request: {err}"),
            );
        }
    };
    if !is_query(&request) {
        let mut response = refuse(
            StatusCode::METHOD_NOT_ALLOWED,
            "GET runs queries only; send mutations and subscriptions with POST or over /graphql/ws",
        );
        response
            .headers_mut()
            .insert(header::ALLOW, HeaderValue::from_static("POST"));
        return response;
    }
    // After `is_query`, so a mutation is 405 whatever its length (the URI's own limit, in hyper,
    // bounds what `is_query` parses); before execution parses it again.
    if request.query.len() > state.config.max_query_bytes {
        return refuse(
            StatusCode::BAD_REQUEST,
            &format!(
                "the query is {} bytes long, more than this server accepts (at most {}, \
                 MAX_QUERY_BYTES)",
                request.query.len(),
                state.config.max_query_bytes
            ),
        );
    }
    let request = request.data(Credential::new(auth::token_from_headers(&headers)));
    GraphQLResponse::from(state.schema.execute(request).await).into_response()
}

/// The GraphQL-over-HTTP GET parameters. async-graphql's own parser expects `operation_name`,
/// while clients send `operationName`; both are taken.
#[derive(serde::Deserialize)]
struct GetParams {
    #[serde(default)]
    query: String,
    #[serde(rename = "operationName", alias = "operation_name")]
    operation_name: Option<String>,
    variables: Option<String>,
    extensions: Option<String>,
}

fn parse_query_string(input: &str) -> Result<Request, String> {
    let params: GetParams = serde_urlencoded::from_str(input).map_err(|e| e.to_string())?;
    let mut request = Request::new(params.query);
    request.operation_name = params.operation_name;
    if let Some(variables) = params.variables {
        request.variables =
            serde_json::from_str(&variables).map_err(|e| format!("invalid variables: {e}"))?;
    }
    if let Some(extensions) = params.extensions {
        request.extensions =
            serde_json::from_str(&extensions).map_err(|e| format!("invalid extensions: {e}"))?;
    }
    Ok(request)
}

/// Whether the operation a request would run is a query. A document that does not parse, or
/// names an operation it lacks, counts as a query: execution refuses it without running anything.
fn is_query(request: &Request) -> bool {
    let Ok(doc) = async_graphql::parser::parse_query(&request.query) else {
        return true;
    };
    let ty = match (&doc.operations, request.operation_name.as_deref()) {
        (DocumentOperations::Single(op), _) => Some(op.node.ty),
        (DocumentOperations::Multiple(ops), Some(name)) => ops
            .iter()
            .find(|(n, _)| n.as_str() == name)
            .map(|(_, op)| op.node.ty),
        (DocumentOperations::Multiple(ops), None) if ops.len() == 1 => {
            ops.values().next().map(|op| op.node.ty)
        }
        (DocumentOperations::Multiple(_), None) => None,
    };
    ty.is_none_or(|ty| ty == OperationType::Query)
}

fn accepts_html(headers: &HeaderMap) -> bool {
    headers
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.contains("text/html"))
}

/// The web UI's bundled GraphiQL (`graphiql.html` of the built UI), which needs no internet; where
/// the UI is not built, async-graphql's page, which loads GraphiQL from a CDN.
async fn graphiql(web_dir: &str) -> String {
    if let Ok(page) = tokio::fs::read_to_string(Path::new(web_dir).join("graphiql.html")).await {
        return page;
    }
    GraphiQLSource::build()
        .endpoint("/graphql")
        .subscription_endpoint("/graphql/ws")
        .title("Tickets GraphiQL")
        .finish()
}

async fn graphql_ws(
    State(state): State<AppState>,
    headers: HeaderMap,
    protocol: GraphQLProtocol,
    upgrade: WebSocketUpgrade,
) -> Response {
    if !origin_allowed(&headers, &state.config.allowed_origins) {
        return (
            StatusCode::FORBIDDEN,
            "WebSocket connections from this origin are not allowed",
        )
            .into_response();
    }
    let cookie_token = auth::token_from_headers(&headers);
    let mut data = Data::default();
    data.insert(SocketToken(cookie_token.clone()));
    data.insert(SubscriptionSlots::new(state.config.ws_max_subscriptions));
    let init_timeout = state.config.ws_init_timeout;
    let auth = state.auth.clone();
    let schema = state.schema.clone();
    let metrics = state.metrics.clone();
    let shutdown = state.shutdown.clone();
    let session = SocketSession::default();
    let sockets = state.sockets.clone();
    upgrade
        .protocols(ALL_WEBSOCKET_PROTOCOLS)
        // Small buffers: tungstenite's defaults (128 KiB to read, each connection) made an idle
        // subscriber cost ~146 KiB of server memory; messages here are small, written at once.
        .read_buffer_size(WS_READ_BUFFER_BYTES)
        .write_buffer_size(0)
        .max_message_size(state.config.ws_max_message_bytes)
        .max_frame_size(state.config.ws_max_message_bytes)
        // No keepalive timeout: async-graphql's closes any connection whose client sent nothing
        // for that long, and a quiet subscriber (graphql-ws sends no pings by default) is normal.
        .on_upgrade(move |socket| {
            shutdown.sockets.clone().track_future(async move {
                let _open = metrics.websocket_opened();
                let closes = match socket.protocol().and_then(|p| p.to_str().ok()) {
                    Some("graphql-transport-ws") => CloseCodes::GraphqlWs,
                    _ => CloseCodes::AsIs,
                };
                let (to_client, from_client) = socket.split();
                // futures' channel allocates per message; tokio's keeps a block of 32 slots per
                // socket, 1.3 KiB on every idle subscriber.
                let (outgoing, queued) = futures_channel::mpsc::channel(16);
                let init_session = session.clone();
                let graphql =
                    GraphQLWebSocket::new_with_pair(outgoing, from_client, schema, protocol)
                        .with_data(data)
                        .on_connection_init(move |payload| {
                            init_session.authenticate(auth, sockets, payload, cookie_token)
                        })
                        .serve();
                serve_until_draining(
                    graphql,
                    queued,
                    to_client,
                    init_timeout,
                    closes,
                    shutdown.draining,
                    &session,
                )
                .await;
            })
        })
}

/// A WebSocket's session: closed (4403) when it is revoked on any replica or its token expires.
#[derive(Clone, Default)]
struct SocketSession {
    /// Cancelled when the session is revoked.
    revoked: CancellationToken,
    /// When the token expires, once `connection_init` has authenticated it.
    expires: Arc<Mutex<Option<tokio::time::Instant>>>,
    /// The socket's place among the watched ones, for as long as the socket lives.
    watched: Arc<Mutex<Option<Watched>>>,
}

impl SocketSession {
    /// `connection_init`: a token in the payload replaces the upgrade request's cookie. A bad
    /// token in the payload refuses the socket (4403); a bad cookie leaves it anonymous, as it
    /// leaves an HTTP request.
    async fn authenticate(
        self,
        auth: AuthService,
        sockets: LiveSockets,
        payload: serde_json::Value,
        cookie_token: Option<String>,
    ) -> async_graphql::Result<Data> {
        let from_payload = payload_token(&payload);
        let refuse_if_bad = from_payload.is_some();
        let mut data = Data::default();
        let Some(token) = from_payload.or(cookie_token) else {
            data.insert(SocketToken(None));
            return Ok(data);
        };
        match auth.authenticate_until(&token).await? {
            Some((viewer, expires_at)) => {
                let watched = sockets.watch(viewer.session_id, self.revoked.clone());
                if let Ok(mut slot) = self.watched.lock() {
                    *slot = Some(watched);
                }
                // A revocation committed between the check and the watch was announced before
                // the watch could hear it: check once more now that it listens.
                if auth.authenticate(&token).await?.is_none() {
                    self.revoked.cancel();
                }
                let left = (expires_at - chrono::Utc::now())
                    .to_std()
                    .unwrap_or_default();
                if let Ok(mut expires) = self.expires.lock() {
                    *expires = Some(tokio::time::Instant::now() + left);
                }
                data.insert(SocketToken(Some(token)));
                Ok(data)
            }
            None if refuse_if_bad => Err(async_graphql::Error::new(
                "UNAUTHENTICATED: the token is invalid, expired or revoked",
            )),
            None => {
                data.insert(SocketToken(None));
                Ok(data)
            }
        }
    }

    fn expires_at(&self) -> Option<tokio::time::Instant> {
        self.expires.lock().ok().and_then(|e| *e)
    }
}

/// Runs one GraphQL WebSocket, writing what it sends to the client, until the client leaves, or
/// it has not completed `connection_init` within `init_timeout` (close 4408, as graphql-ws
/// specifies), or the server drains: then the client gets close code 1012 (service restart),
/// which graphql-ws and Apollo clients answer by reconnecting, to another replica behind the load
/// balancer.
async fn serve_until_draining(
    graphql: impl Future<Output = ()>,
    mut queued: futures_channel::mpsc::Receiver<Message>,
    mut to_client: futures_util::stream::SplitSink<WebSocket, Message>,
    init_timeout: Duration,
    closes: CloseCodes,
    draining: CancellationToken,
    session: &SocketSession,
) {
    let writer = async {
        let mut acknowledged = false;
        let init_deadline = tokio::time::sleep(init_timeout);
        tokio::pin!(init_deadline);
        // Armed at connection_ack, for a socket whose token expires.
        let expiry = tokio::time::sleep(Duration::ZERO);
        tokio::pin!(expiry);
        let mut expiring = false;
        loop {
            tokio::select! {
                message = queued.next() => match message {
                    Some(message) => {
                        if let Message::Text(text) = &message
                            && text.contains("\"connection_ack\"")
                        {
                            acknowledged = true;
                            if let Some(at) = session.expires_at() {
                                expiry.as_mut().reset(at);
                                expiring = true;
                            }
                        }
                        if to_client.send(closes.fix(message)).await.is_err() {
                            return;
                        }
                    }
                    // The GraphQL side ended (the client left, or it closed the socket itself).
                    None => return,
                },
                _ = &mut init_deadline, if !acknowledged => {
                    let close = CloseFrame {
                        code: 4408,
                        reason: "Connection initialisation timeout".into(),
                    };
                    let _ = to_client.send(Message::Close(Some(close))).await;
                    return;
                }
                _ = session.revoked.cancelled() => {
                    let _ = to_client.send(Message::Close(Some(session_ended()))).await;
                    return;
                }
                _ = &mut expiry, if expiring => {
                    let _ = to_client.send(Message::Close(Some(session_ended()))).await;
                    return;
                }
                _ = draining.cancelled() => {
                    let close = CloseFrame {
                        code: 1012,
                        reason: "the server is restarting; reconnect".into(),
                    };
                    let _ = to_client.send(Message::Close(Some(close))).await;
                    return;
                }
            }
        }
    };
    tokio::pin!(graphql, writer);
    tokio::select! {
        _ = &mut graphql => writer.await,
        _ = &mut writer => {
            // Draining: give the client a moment to answer the close, then let go.
            let _ = tokio::time::timeout(Duration::from_secs(2), graphql).await;
        }
    }
}

/// 4403 (graphql-ws's Forbidden: clients do not retry it with the same token).
fn session_ended() -> CloseFrame {
    CloseFrame {
        code: 4403,
        reason: "Forbidden: the session was signed out or has expired".into(),
    }
}

/// `{"authorization": "Bearer <token>"}` (either case of the key), or a bare token.
fn payload_token(payload: &serde_json::Value) -> Option<String> {
    let value = ["authorization", "Authorization"]
        .iter()
        .find_map(|k| payload.get(*k))
        .and_then(|v| v.as_str())?;
    auth::bearer(value).or_else(|| {
        let v = value.trim();
        (!v.is_empty() && !v.contains(' ')).then(|| v.to_owned())
    })
}

/// No `Origin` (not a browser), the server's own origin, or one configured in `ALLOWED_ORIGINS`.
fn origin_allowed(headers: &HeaderMap, allowed: &[String]) -> bool {
    let Some(origin) = headers.get(header::ORIGIN).and_then(|v| v.to_str().ok()) else {
        return true;
    };
    let origin = origin.trim_end_matches('/');
    if allowed.iter().any(|a| a == origin) {
        return true;
    }
    let host = headers.get(header::HOST).and_then(|v| v.to_str().ok());
    let authority = origin
        .strip_prefix("http://")
        .or_else(|| origin.strip_prefix("https://"));
    matches!((authority, host), (Some(a), Some(h)) if a.eq_ignore_ascii_case(h))
}

async fn healthz() -> &'static str {
    "ok"
}

async fn readyz(State(state): State<AppState>) -> Response {
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

async fn metrics(State(state): State<AppState>) -> Response {
    (
        [(
            header::CONTENT_TYPE,
            "application/openmetrics-text; version=1.0.0; charset=utf-8",
        )],
        state.metrics.render(),
    )
        .into_response()
}

async fn placeholder() -> Html<&'static str> {
    Html(include_str!("../../web/placeholder.html"))
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
