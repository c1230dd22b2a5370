//! `GET /graphql/ws`: subscriptions (and queries and mutations) over a WebSocket, both
//! sub-protocols, with graphql-ws's close codes, the socket's session watched for revocation and
//! expiry, and the 1012 close of a draining server.

use std::{
    future::Future,
    sync::{Arc, Mutex},
    time::Duration,
};

use async_graphql::{Data, http::ALL_WEBSOCKET_PROTOCOLS};
use async_graphql_axum::{GraphQLProtocol, GraphQLWebSocket};
use axum::{
    extract::{
        State, WebSocketUpgrade,
        ws::{CloseFrame, Message, WebSocket},
    },
    http::{HeaderMap, StatusCode, header},
    response::{IntoResponse, Response},
};
use futures_util::{SinkExt, StreamExt};
use tokio_util::sync::CancellationToken;

use crate::{
    auth::{
        self, AuthService,
        sockets::{LiveSockets, SocketToken, Watched},
    },
    error::code,
    state::AppState,
    subscriptions::SubscriptionSlots,
};

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
            (CloseCodes::GraphqlWs, 1002) if frame.reason.starts_with(code::UNAUTHENTICATED) => {
                4403
            }
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

pub(super) async fn graphql_ws(
    State(state): State<AppState>,
    headers: HeaderMap,
    protocol: GraphQLProtocol,
    upgrade: WebSocketUpgrade,
) -> Response {
    if !origin_allowed(&headers, &state.config.server.allowed_origins) {
        return (
            StatusCode::FORBIDDEN,
            "WebSocket connections from this origin are not allowed",
        )
            .into_response();
    }
    let cookie_token = auth::token_from_headers(&headers);
    let mut data = Data::default();
    data.insert(SocketToken(cookie_token.clone()));
    data.insert(SubscriptionSlots::new(
        state.config.limits.ws_max_subscriptions,
    ));
    let init_timeout = state.config.limits.ws_init_timeout;
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
        .max_message_size(state.config.limits.ws_max_message_bytes)
        .max_frame_size(state.config.limits.ws_max_message_bytes)
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
            None if refuse_if_bad => Err(async_graphql::Error::new(format!(
                "{}: the token is invalid, expired or revoked",
                code::UNAUTHENTICATED
            ))),
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
