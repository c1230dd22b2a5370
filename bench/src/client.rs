//! The client side: GraphQL over HTTP (reqwest, keep-alive pool) and over WebSocket
//! (tokio-tungstenite, the `graphql-transport-ws` sub-protocol).

use std::{net::SocketAddr, time::Duration};

use anyhow::{Context as _, anyhow, bail};
use futures_util::{SinkExt, StreamExt, stream};
use serde_json::{Value, json};
use tokio::net::TcpStream;
use tokio_tungstenite::{
    MaybeTlsStream, WebSocketStream,
    tungstenite::{Message, client::IntoClientRequest, http::HeaderValue},
};

pub type Ws = WebSocketStream<MaybeTlsStream<TcpStream>>;

/// What one GraphQL operation answered.
#[derive(Debug)]
pub enum Answer {
    /// `data` with no error.
    Data(Value),
    /// The first error's `extensions.code` and message.
    Error { code: String, message: String },
}

#[derive(Clone)]
pub struct Api {
    pub http: reqwest::Client,
    pub addr: SocketAddr,
    url: String,
}

pub fn http_client() -> reqwest::Client {
    reqwest::Client::builder()
        .pool_idle_timeout(Duration::from_secs(120))
        .pool_max_idle_per_host(usize::MAX)
        .tcp_nodelay(true)
        .timeout(Duration::from_secs(60))
        .build()
        .expect("a reqwest client builds")
}

impl Api {
    pub fn new(addr: SocketAddr) -> Self {
        Self {
            http: http_client(),
            addr,
            url: format!("http://{addr}/graphql"),
        }
    }

    /// Runs one operation; `Err` only for transport failures and unreadable answers.
    pub async fn gql(
        &self,
        query: &str,
        vars: Value,
        token: Option<&str>,
    ) -> anyhow::Result<Answer> {
        let mut req = self
            .http
            .post(&self.url)
            .json(&json!({ "query": query, "variables": vars }));
        if let Some(t) = token {
            req = req.bearer_auth(t);
        }
        let body: Value = req.send().await?.json().await?;
        Ok(answer(body))
    }

    /// Like `gql`, but an error answer is an `Err` too; returns `data`.
    pub async fn data(
        &self,
        query: &str,
        vars: Value,
        token: Option<&str>,
    ) -> anyhow::Result<Value> {
        match self.gql(query, vars, token).await? {
            Answer::Data(d) => Ok(d),
            Answer::Error { code, message } => Err(anyhow!("{code}: {message}")),
        }
    }

    /// Signs up `n` users (argon2 makes this slow by design) at a modest concurrency; returns
    /// their tokens in order.
    pub async fn sign_up_many(
        &self,
        tag: &str,
        n: usize,
        concurrency: usize,
    ) -> anyhow::Result<Vec<String>> {
        const SIGN_UP: &str =
            "mutation($e: String!) { signUp(email: $e, password: \"bench password 1\") { token } }";
        let tokens: Vec<anyhow::Result<String>> = stream::iter(0..n)
            .map(|i| async move {
                let data = self
                    .data(
                        SIGN_UP,
                        json!({ "e": format!("{tag}-{i}@bench.example.com") }),
                        None,
                    )
                    .await?;
                data["signUp"]["token"]
                    .as_str()
                    .map(str::to_owned)
                    .ok_or_else(|| anyhow!("signUp answered no token"))
            })
            .buffered(concurrency)
            .collect()
            .await;
        tokens.into_iter().collect()
    }

    /// Lists `n` tickets as `seller`; returns their ids.
    pub async fn create_tickets(
        &self,
        seller: &str,
        n: usize,
        concurrency: usize,
    ) -> anyhow::Result<Vec<String>> {
        const CREATE: &str =
            "mutation($t: String!) { createTicket(input: {title: $t, price: \"25.00\"}) { id } }";
        let ids: Vec<anyhow::Result<String>> = stream::iter(0..n)
            .map(|i| async move {
                let data = self
                    .data(
                        CREATE,
                        json!({ "t": format!("Bench ticket {i}") }),
                        Some(seller),
                    )
                    .await?;
                data["createTicket"]["id"]
                    .as_str()
                    .map(str::to_owned)
                    .ok_or_else(|| anyhow!("createTicket answered no id"))
            })
            .buffer_unordered(concurrency)
            .collect()
            .await;
        ids.into_iter().collect()
    }

    /// The server's `/metrics` text.
    pub async fn metrics(&self) -> anyhow::Result<String> {
        Ok(self
            .http
            .get(format!("http://{}/metrics", self.addr))
            .send()
            .await?
            .text()
            .await?)
    }
}

pub fn answer(body: Value) -> Answer {
    if let Some(err) = body["errors"].as_array().and_then(|e| e.first()) {
        return Answer::Error {
            code: err["extensions"]["code"]
                .as_str()
                .unwrap_or("NO_CODE")
                .to_owned(),
            message: err["message"].as_str().unwrap_or_default().to_owned(),
        };
    }
    Answer::Data(body["data"].clone())
}

/// Opens a `graphql-transport-ws` connection authenticated by `token` and waits for its ack.
pub async fn ws_connect(addr: SocketAddr, token: &str) -> anyhow::Result<Ws> {
    let mut req = format!("ws://{addr}/graphql/ws").into_client_request()?;
    req.headers_mut().insert(
        "Sec-WebSocket-Protocol",
        HeaderValue::from_static("graphql-transport-ws"),
    );
    let (mut ws, _) = tokio_tungstenite::connect_async(req)
        .await
        .context("WebSocket connect")?;
    let init = json!({ "type": "connection_init", "payload": { "authorization": format!("Bearer {token}") } });
    ws.send(Message::Text(init.to_string().into())).await?;
    let acked = tokio::time::timeout(Duration::from_secs(30), async {
        while let Some(msg) = ws.next().await {
            if let Message::Text(text) = msg? {
                let v: Value = serde_json::from_str(&text)?;
                match v["type"].as_str() {
                    Some("connection_ack") => return Ok(()),
                    Some("ping") => {
                        ws.send(Message::Text(json!({"type": "pong"}).to_string().into()))
                            .await?;
                    }
                    _ => bail!("unexpected message before the ack: {text}"),
                }
            }
        }
        bail!("the socket closed before the ack")
    })
    .await;
    match acked {
        Ok(r) => r?,
        Err(_) => bail!("no connection_ack within 30 s"),
    }
    Ok(ws)
}

pub async fn ws_subscribe(ws: &mut Ws, id: &str, query: &str, vars: Value) -> anyhow::Result<()> {
    let sub =
        json!({ "id": id, "type": "subscribe", "payload": { "query": query, "variables": vars } });
    ws.send(Message::Text(sub.to_string().into())).await?;
    Ok(())
}
