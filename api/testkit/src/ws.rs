//! GraphQL over WebSocket on `/graphql/ws`: the `graphql-transport-ws` sub-protocol (graphql-ws)
//! and the legacy `graphql-ws` one (subscriptions-transport-ws).
//!
//! Keep-alives are answered and skipped while reading, and messages of other subscriptions read
//! while waiting for one are kept for later. Most methods panic on a broken socket, as a test
//! wants; the `try_` ones and [`WsClient::connect_with_token`] return errors instead, for load.

use std::{collections::VecDeque, time::Duration};

use anyhow::{Context as _, bail};
use futures_util::{SinkExt, StreamExt};
use serde_json::{Value, json};
use tokio::net::TcpStream;
use tokio_tungstenite::{
    MaybeTlsStream, WebSocketStream,
    tungstenite::{self, Message, client::IntoClientRequest, http::HeaderValue},
};

use crate::Endpoint;

/// The socket underneath a [`WsClient`].
pub type WsStream = WebSocketStream<MaybeTlsStream<TcpStream>>;

/// Which GraphQL-over-WebSocket sub-protocol to speak.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Protocol {
    /// graphql-ws (the `graphql-transport-ws` sub-protocol).
    TransportWs,
    /// subscriptions-transport-ws (the legacy `graphql-ws` sub-protocol).
    Legacy,
}

impl Protocol {
    /// The `Sec-WebSocket-Protocol` value.
    pub fn name(self) -> &'static str {
        match self {
            Protocol::TransportWs => "graphql-transport-ws",
            Protocol::Legacy => "graphql-ws",
        }
    }
}

/// How to open a socket: its sub-protocol, the `connection_init` payload, and the upgrade
/// request's `Cookie` and `Origin` headers.
pub struct WsOptions<'a> {
    pub protocol: Protocol,
    pub payload: Value,
    pub cookie: Option<&'a str>,
    pub origin: Option<&'a str>,
}

impl Default for WsOptions<'_> {
    fn default() -> Self {
        Self {
            protocol: Protocol::TransportWs,
            payload: json!({}),
            cookie: None,
            origin: None,
        }
    }
}

/// A GraphQL-over-WebSocket client.
pub struct WsClient {
    socket: WsStream,
    protocol: Protocol,
    /// Messages of other subscriptions read while waiting for one: kept, never dropped, since
    /// two subscriptions on one socket may be answered in either order.
    pending: VecDeque<Value>,
}

impl WsClient {
    /// Opens the socket without `connection_init`.
    pub async fn try_open(
        to: &impl Endpoint,
        opts: &WsOptions<'_>,
    ) -> Result<Self, tungstenite::Error> {
        let mut request = to.ws_url().into_client_request()?;
        let headers = request.headers_mut();
        headers.insert(
            "Sec-WebSocket-Protocol",
            HeaderValue::from_static(opts.protocol.name()),
        );
        if let Some(cookie) = opts.cookie {
            headers.insert("Cookie", HeaderValue::from_str(cookie)?);
        }
        if let Some(origin) = opts.origin {
            headers.insert("Origin", HeaderValue::from_str(origin)?);
        }
        let (socket, _) = tokio_tungstenite::connect_async(request).await?;
        Ok(Self {
            socket,
            protocol: opts.protocol,
            pending: VecDeque::new(),
        })
    }

    /// Opens the socket without `connection_init`; `Err` carries the HTTP status of a refused
    /// upgrade. Panics on any other failure.
    pub async fn open(to: &impl Endpoint, opts: &WsOptions<'_>) -> Result<Self, u16> {
        match Self::try_open(to, opts).await {
            Ok(client) => Ok(client),
            Err(tungstenite::Error::Http(resp)) => Err(resp.status().as_u16()),
            Err(err) => panic!("websocket failed: {err}"),
        }
    }

    /// Opens the socket and completes `connection_init` with `opts.payload`; panics unless the
    /// server acknowledges it.
    pub async fn connect(to: &impl Endpoint, opts: WsOptions<'_>) -> Self {
        let mut client = Self::open(to, &opts).await.expect("upgrade accepted");
        let ack = client.init(opts.payload.clone()).await;
        assert_eq!(ack["type"], "connection_ack", "{ack}");
        client
    }

    /// Opens a `graphql-transport-ws` socket authenticated by `token` (in the `connection_init`
    /// payload) and waits up to `within` for its acknowledgement.
    pub async fn connect_with_token(
        to: &impl Endpoint,
        token: &str,
        within: Duration,
    ) -> anyhow::Result<Self> {
        let mut client = Self::try_open(to, &WsOptions::default())
            .await
            .context("WebSocket connect")?;
        let payload = json!({ "authorization": format!("Bearer {token}") });
        client
            .try_send(json!({ "type": "connection_init", "payload": payload }))
            .await?;
        match client.next_message(within).await {
            Some(ack) if ack["type"] == "connection_ack" => Ok(client),
            Some(other) => bail!("unexpected message before the ack: {other}"),
            None => bail!("no connection_ack within {within:?}"),
        }
    }

    /// Sends `connection_init`; returns the server's answer (ack, error or close), or
    /// `{"type": "timeout"}` after 5 s.
    pub async fn init(&mut self, payload: Value) -> Value {
        self.send(json!({ "type": "connection_init", "payload": payload }))
            .await;
        self.next_message(Duration::from_secs(5))
            .await
            .unwrap_or(json!({ "type": "timeout" }))
    }

    /// Sends one protocol message; panics if the socket is broken.
    pub async fn send(&mut self, message: Value) {
        self.try_send(message).await.unwrap();
    }

    /// Sends one protocol message.
    pub async fn try_send(&mut self, message: Value) -> Result<(), tungstenite::Error> {
        self.socket
            .send(Message::Text(message.to_string().into()))
            .await
    }

    /// Starts subscription `id` (`subscribe`, or `start` in the legacy protocol) with no
    /// variables; panics if the socket is broken.
    pub async fn subscribe(&mut self, id: &str, query: &str) {
        self.try_subscribe(id, query, json!({})).await.unwrap();
    }

    /// Starts subscription `id` with `variables`.
    pub async fn try_subscribe(
        &mut self,
        id: &str,
        query: &str,
        variables: Value,
    ) -> Result<(), tungstenite::Error> {
        let ty = match self.protocol {
            Protocol::TransportWs => "subscribe",
            Protocol::Legacy => "start",
        };
        let payload = if variables.as_object().is_some_and(|v| !v.is_empty()) {
            json!({ "query": query, "variables": variables })
        } else {
            json!({ "query": query })
        };
        self.try_send(json!({ "id": id, "type": ty, "payload": payload }))
            .await
    }

    /// The next protocol message other than keep-alives (pings are answered), or `None` after
    /// `within` or once the socket has ended. A close frame, or a broken socket, is returned as
    /// `{"type": "close", "code": …, "reason": …}` (`code` null when there was no frame).
    pub async fn next_message(&mut self, within: Duration) -> Option<Value> {
        let deadline = tokio::time::Instant::now() + within;
        loop {
            let msg = tokio::time::timeout_at(deadline, self.socket.next())
                .await
                .ok()??;
            match msg {
                Ok(Message::Text(text)) => {
                    let value: Value = serde_json::from_str(&text).unwrap();
                    if value["type"] == "ping" {
                        self.send(json!({ "type": "pong" })).await;
                        continue;
                    }
                    if matches!(value["type"].as_str(), Some("ka" | "pong")) {
                        continue;
                    }
                    return Some(value);
                }
                Ok(Message::Close(frame)) => {
                    return Some(json!({
                        "type": "close",
                        "code": frame.as_ref().map(|f| u16::from(f.code)),
                        "reason": frame.as_ref().map(|f| f.reason.to_string()),
                    }));
                }
                Ok(_) => continue,
                Err(_) => return Some(json!({ "type": "close", "code": null })),
            }
        }
    }

    /// The payload of the next `next`/`data` message for subscription `id` (an `error` message
    /// for it comes back as `{"errors": …}`), or `None` after `within`.
    pub async fn next_data(&mut self, id: &str, within: Duration) -> Option<Value> {
        let answer = |msg: &Value| {
            if msg["id"] != id {
                return None;
            }
            match msg["type"].as_str() {
                Some("next" | "data") => Some(msg["payload"].clone()),
                Some("error") => Some(json!({ "errors": msg["payload"] })),
                _ => None,
            }
        };
        if let Some(at) = self.pending.iter().position(|m| answer(m).is_some()) {
            return self.pending.remove(at).and_then(|m| answer(&m));
        }
        let deadline = tokio::time::Instant::now() + within;
        loop {
            let left = deadline.saturating_duration_since(tokio::time::Instant::now());
            let msg = self.next_message(left).await?;
            if let Some(payload) = answer(&msg) {
                return Some(payload);
            }
            if msg["id"].is_string() {
                self.pending.push_back(msg);
            }
        }
    }

    /// Closes the socket with a normal close frame.
    pub async fn close(mut self) {
        let _ = self.socket.close(None).await;
    }

    /// The socket itself, for a reader that must not parse every message (a fan-out of
    /// thousands on the same cores as the server). Messages already set aside are dropped.
    pub fn into_stream(self) -> WsStream {
        self.socket
    }
}
