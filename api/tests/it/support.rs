//! The test harness: a fresh database (and Redis key prefix) per test, the real application on
//! port 0, and clients that speak GraphQL over HTTP and WebSocket.
//!
//! `TEST_BACKEND` picks the backend pair: `embedded` (SQLite + in-process, the default) or
//! `postgres-redis` (PostgreSQL at `TEST_POSTGRES_URL`, Redis at `TEST_REDIS_URL`).

#![allow(dead_code)]

use std::{collections::HashMap, net::SocketAddr, process::Stdio, time::Duration};

use futures_util::{SinkExt, StreamExt};
use sea_orm::{ConnectionTrait, Database, DatabaseConnection};
use serde_json::{Value, json};
use tokio::{
    io::{AsyncBufReadExt, BufReader},
    net::TcpStream,
    sync::oneshot,
    task::JoinHandle,
};
use tokio_tungstenite::{
    MaybeTlsStream, WebSocketStream,
    tungstenite::{Message, client::IntoClientRequest, http::HeaderValue},
};
use uuid::Uuid;

pub const JWT_SECRET: &str = "test-secret-0123456789abcdef0123456789";
pub const PASSWORD: &str = "correct horse battery";

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Backend {
    Embedded,
    PostgresRedis,
}

pub fn backend() -> Backend {
    match std::env::var("TEST_BACKEND").as_deref() {
        Ok("postgres-redis") => Backend::PostgresRedis,
        Ok("embedded") | Err(_) => Backend::Embedded,
        Ok(other) => panic!("TEST_BACKEND={other:?}: use embedded or postgres-redis"),
    }
}

pub fn redis_url() -> String {
    std::env::var("TEST_REDIS_URL").unwrap_or_else(|_| "redis://127.0.0.1:6379".into())
}

fn postgres_admin_url() -> String {
    std::env::var("TEST_POSTGRES_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".into())
}

/// One deployment's shared state: a fresh database and a unique Redis prefix. Every app spawned
/// from it is a replica of the same deployment.
pub struct TestEnv {
    pub database_url: String,
    pub redis_prefix: String,
    _dir: Option<tempfile::TempDir>,
}

impl TestEnv {
    pub async fn new() -> Self {
        let id = Uuid::new_v4().simple().to_string();
        let redis_prefix = format!("test:{id}:");
        match backend() {
            Backend::Embedded => {
                let dir = tempfile::tempdir().unwrap();
                let database_url = format!(
                    "sqlite://{}?mode=rwc",
                    dir.path().join("tickets.db").display()
                );
                Self {
                    database_url,
                    redis_prefix,
                    _dir: Some(dir),
                }
            }
            Backend::PostgresRedis => {
                let admin_url = postgres_admin_url();
                let admin = Database::connect(&admin_url).await.unwrap();
                let name = format!("test_{id}");
                admin
                    .execute_unprepared(&format!("CREATE DATABASE \"{name}\""))
                    .await
                    .unwrap();
                admin.close().await.unwrap();
                let base = admin_url.rsplit_once('/').unwrap().0;
                Self {
                    database_url: format!("{base}/{name}"),
                    redis_prefix,
                    _dir: None,
                }
            }
        }
    }

    pub fn vars(&self, extra: &[(&str, &str)]) -> HashMap<String, String> {
        let mut vars: HashMap<String, String> = [
            ("HOST", "127.0.0.1"),
            ("PORT", "0"),
            ("DATABASE_URL", self.database_url.as_str()),
            ("REDIS_PREFIX", self.redis_prefix.as_str()),
            ("JWT_SECRET", JWT_SECRET),
            ("WEB_DIR", "/nonexistent-web-dir"),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect();
        if backend() == Backend::PostgresRedis {
            vars.insert("REDIS_URL".into(), redis_url());
        }
        // PostgreSQL refuses to start with the test processor unless it is asked for by name.
        if !extra.iter().any(|(k, _)| *k == "STRIPE_SECRET_KEY") {
            vars.insert("PAYMENT_PROCESSOR".into(), "test".into());
        }
        for (k, v) in extra {
            vars.insert((*k).to_owned(), (*v).to_owned());
        }
        vars
    }

    pub async fn spawn(&self) -> TestApp {
        self.spawn_with(&[]).await
    }

    pub async fn spawn_with(&self, extra: &[(&str, &str)]) -> TestApp {
        let config = api::Config::from_vars(&self.vars(extra)).expect("test config");
        let app = api::Application::build(config).await.expect("app builds");
        let addr = app.local_addr();
        let state = app.state().clone();
        let (stop, stopped) = oneshot::channel::<()>();
        let handle = tokio::spawn(async move {
            app.run_until(async {
                let _ = stopped.await;
            })
            .await
            .expect("app runs");
        });
        TestApp {
            addr,
            url: format!("http://{addr}"),
            client: reqwest::Client::new(),
            database_url: self.database_url.clone(),
            stop: Some(stop),
            handle: Some(handle),
            state: Some(state),
        }
    }

    /// A direct connection to the deployment's database, for what a test must see or break.
    pub async fn db(&self) -> DatabaseConnection {
        Database::connect(&self.database_url).await.unwrap()
    }
}

pub struct TestApp {
    pub addr: SocketAddr,
    pub url: String,
    pub client: reqwest::Client,
    pub database_url: String,
    stop: Option<oneshot::Sender<()>>,
    handle: Option<JoinHandle<()>>,
    /// The server's state when it runs in this process: for tests that run one step of a
    /// background task themselves (a reconciler working from an old read, say).
    pub state: Option<api::state::AppState>,
}

/// A fresh deployment with one replica.
pub async fn spawn() -> (TestEnv, TestApp) {
    let env = TestEnv::new().await;
    let app = env.spawn().await;
    (env, app)
}

impl TestApp {
    /// A client of a server running elsewhere (another process).
    pub fn remote(addr: SocketAddr, database_url: &str) -> Self {
        Self {
            addr,
            url: format!("http://{addr}"),
            client: reqwest::Client::new(),
            database_url: database_url.to_owned(),
            stop: None,
            handle: None,
            state: None,
        }
    }

    /// Stops the server gracefully and waits until it has.
    pub async fn stop(mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(handle) = self.handle.take() {
            handle.await.unwrap();
        }
    }

    /// POSTs a GraphQL operation; returns the HTTP response.
    pub async fn post(
        &self,
        query: &str,
        variables: Value,
        token: Option<&str>,
    ) -> reqwest::Response {
        let mut req = self
            .client
            .post(format!("{}/graphql", self.url))
            .json(&json!({ "query": query, "variables": variables }));
        if let Some(token) = token {
            req = req.bearer_auth(token);
        }
        req.send().await.unwrap()
    }

    /// POSTs a GraphQL operation; returns the JSON body.
    pub async fn gql(&self, query: &str, variables: Value, token: Option<&str>) -> Value {
        self.post(query, variables, token)
            .await
            .json()
            .await
            .unwrap()
    }

    pub async fn sign_up(&self, email: &str) -> Session {
        let body = self
            .gql(
                SIGN_UP,
                json!({ "email": email, "password": PASSWORD }),
                None,
            )
            .await;
        Session::from_payload(&body["data"]["signUp"])
            .unwrap_or_else(|| panic!("sign-up failed: {body}"))
    }

    pub async fn sign_in(&self, email: &str, password: &str) -> Value {
        self.gql(
            SIGN_IN,
            json!({ "email": email, "password": password }),
            None,
        )
        .await
    }

    pub async fn me(&self, token: &str) -> Value {
        self.gql("{ me { id email } }", json!({}), Some(token))
            .await["data"]["me"]
            .clone()
    }

    /// The HTTP status of a GET of `path`.
    pub async fn status_of(&self, path: &str) -> u16 {
        self.client
            .get(format!("{}{path}", self.url))
            .send()
            .await
            .unwrap()
            .status()
            .as_u16()
    }

    pub fn ws_url(&self) -> String {
        format!("ws://{}/graphql/ws", self.addr)
    }
}

pub const SIGN_UP: &str = "mutation($email: String!, $password: String!) {
  signUp(email: $email, password: $password) { token user { id email createdAt } } }";
pub const SIGN_IN: &str = "mutation($email: String!, $password: String!) {
  signIn(email: $email, password: $password) { token user { id email } } }";
pub const CHANGE_PASSWORD: &str = "mutation($current: String!, $new: String!) {
  changePassword(currentPassword: $current, newPassword: $new) { id email } }";

#[derive(Clone, Debug)]
pub struct Session {
    pub token: String,
    pub user_id: String,
    pub email: String,
}

impl Session {
    pub fn from_payload(payload: &Value) -> Option<Self> {
        Some(Self {
            token: payload["token"].as_str()?.to_owned(),
            user_id: payload["user"]["id"].as_str()?.to_owned(),
            email: payload["user"]["email"].as_str()?.to_owned(),
        })
    }
}

pub fn unique_email() -> String {
    format!("user-{}@example.com", Uuid::new_v4().simple())
}

/// The `extensions.code` of the first error.
pub fn error_code(body: &Value) -> Option<&str> {
    body["errors"][0]["extensions"]["code"].as_str()
}

/// The `field` names of a `BAD_USER_INPUT` error.
pub fn error_fields(body: &Value) -> Vec<String> {
    body["errors"][0]["extensions"]["fields"]
        .as_array()
        .map(|fields| {
            fields
                .iter()
                .filter_map(|f| f["field"].as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default()
}

/// Polls `check` until it is true or `within` passes.
pub async fn eventually<F, Fut>(within: Duration, mut check: F) -> bool
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let deadline = tokio::time::Instant::now() + within;
    loop {
        if check().await {
            return true;
        }
        if tokio::time::Instant::now() >= deadline {
            return false;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Protocol {
    /// graphql-ws (the `graphql-transport-ws` sub-protocol).
    TransportWs,
    /// subscriptions-transport-ws (the legacy `graphql-ws` sub-protocol).
    Legacy,
}

impl Protocol {
    fn name(self) -> &'static str {
        match self {
            Protocol::TransportWs => "graphql-transport-ws",
            Protocol::Legacy => "graphql-ws",
        }
    }
}

/// A GraphQL-over-WebSocket client.
pub struct WsClient {
    socket: WebSocketStream<MaybeTlsStream<TcpStream>>,
    protocol: Protocol,
    /// Messages of other subscriptions read while waiting for one: kept, never dropped, since
    /// two subscriptions on one socket may be answered in either order.
    pending: std::collections::VecDeque<Value>,
}

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

impl WsClient {
    /// Opens the socket without `connection_init`; `Err` carries the HTTP status of a refusal.
    pub async fn open(app: &TestApp, opts: &WsOptions<'_>) -> Result<Self, u16> {
        let mut request = app.ws_url().into_client_request().unwrap();
        let headers = request.headers_mut();
        headers.insert(
            "Sec-WebSocket-Protocol",
            HeaderValue::from_static(opts.protocol.name()),
        );
        if let Some(cookie) = opts.cookie {
            headers.insert("Cookie", HeaderValue::from_str(cookie).unwrap());
        }
        if let Some(origin) = opts.origin {
            headers.insert("Origin", HeaderValue::from_str(origin).unwrap());
        }
        match tokio_tungstenite::connect_async(request).await {
            Ok((socket, _)) => Ok(Self {
                socket,
                protocol: opts.protocol,
                pending: std::collections::VecDeque::new(),
            }),
            Err(tokio_tungstenite::tungstenite::Error::Http(resp)) => Err(resp.status().as_u16()),
            Err(err) => panic!("websocket failed: {err}"),
        }
    }

    /// Opens the socket and completes `connection_init`.
    pub async fn connect(app: &TestApp, opts: WsOptions<'_>) -> Self {
        let mut client = Self::open(app, &opts).await.expect("upgrade accepted");
        let ack = client.init(opts.payload.clone()).await;
        assert_eq!(ack["type"], "connection_ack", "{ack}");
        client
    }

    /// Sends `connection_init`; returns the server's answer (ack, error or close).
    pub async fn init(&mut self, payload: Value) -> Value {
        self.send(json!({ "type": "connection_init", "payload": payload }))
            .await;
        self.next_message(Duration::from_secs(5))
            .await
            .unwrap_or(json!({ "type": "timeout" }))
    }

    pub async fn send(&mut self, message: Value) {
        self.socket
            .send(Message::Text(message.to_string().into()))
            .await
            .unwrap();
    }

    pub async fn subscribe(&mut self, id: &str, query: &str) {
        let ty = match self.protocol {
            Protocol::TransportWs => "subscribe",
            Protocol::Legacy => "start",
        };
        self.send(json!({ "id": id, "type": ty, "payload": { "query": query } }))
            .await;
    }

    /// The next protocol message other than keep-alives, or `None` after `within`. A close
    /// frame is returned as `{"type": "close", "code": …}`.
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

    /// The payload of the next `next`/`data` message for subscription `id`.
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
}

/// The JWT's claims, decoded without checking (for tests that forge tokens).
pub fn claims_of(token: &str) -> Value {
    use base64::Engine as _;
    let part = token.split('.').nth(1).unwrap();
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(part)
        .unwrap();
    serde_json::from_slice(&bytes).unwrap()
}

/// A Redis server of the test's own, on a free port, killed when dropped: for tests that change
/// the server's configuration or stop it.
pub struct PrivateRedis {
    pub url: String,
    port: u16,
    child: std::sync::Mutex<Option<std::process::Child>>,
}

impl PrivateRedis {
    pub fn start() -> Self {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let redis = Self {
            url: format!("redis://127.0.0.1:{port}"),
            port,
            child: std::sync::Mutex::new(None),
        };
        redis.restart();
        redis
    }

    /// Starts the server (again), empty, and waits until it answers.
    pub fn restart(&self) {
        let child = std::process::Command::new("redis-server")
            .args(["--port", &self.port.to_string(), "--bind", "127.0.0.1"])
            .args(["--save", "", "--appendonly", "no"])
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .expect("redis-server on PATH");
        *self.child.lock().unwrap() = Some(child);
        for _ in 0..100 {
            if std::net::TcpStream::connect(("127.0.0.1", self.port)).is_ok() {
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        panic!("redis-server did not start on port {}", self.port);
    }

    pub fn stop(&self) {
        if let Some(mut child) = self.child.lock().unwrap().take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

impl Drop for PrivateRedis {
    fn drop(&mut self) {
        self.stop();
    }
}

/// One `api` process.
pub struct Replica {
    pub app: TestApp,
    child: tokio::process::Child,
}

impl Replica {
    pub async fn start(env: &TestEnv, extra: &[(&str, &str)]) -> Self {
        // Small pools: a few replicas in each of two concurrent tests must fit PostgreSQL's 100.
        let mut vars = vec![("DATABASE_MAX_CONNECTIONS", "6")];
        vars.extend_from_slice(extra);
        let mut child = tokio::process::Command::new(env!("CARGO_BIN_EXE_api"))
            .envs(env.vars(&vars))
            .env("LOG_FORMAT", "json")
            .env("RUST_LOG", "info")
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .kill_on_drop(true)
            .spawn()
            .expect("the api binary starts");
        let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
        let addr = tokio::time::timeout(Duration::from_secs(60), async {
            let mut said = Vec::new();
            while let Some(line) = lines.next_line().await.unwrap() {
                said.push(line.clone());
                let Ok(log) = serde_json::from_str::<Value>(&line) else {
                    continue;
                };
                if log["fields"]["message"] == "listening" {
                    return log["fields"]["addr"]
                        .as_str()
                        .unwrap()
                        .parse::<SocketAddr>()
                        .unwrap();
                }
            }
            panic!("the replica exited before listening: {said:#?}");
        })
        .await
        .expect("the replica listens within a minute");
        // Keep reading its logs, or a full pipe would stall it.
        tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
        Self {
            app: TestApp::remote(addr, &env.database_url),
            child,
        }
    }

    /// SIGKILL: the process dies at once, mid-whatever.
    pub async fn kill(&mut self) {
        self.child.kill().await.unwrap();
    }

    /// SIGTERM, as Kubernetes sends before it stops a pod.
    pub fn terminate(&self) {
        let pid = self.child.id().expect("running").to_string();
        let sent = std::process::Command::new("kill")
            .args(["-TERM", &pid])
            .status()
            .unwrap();
        assert!(sent.success());
    }

    /// Waits for the process to exit; `true` when it exited cleanly.
    pub async fn exited(&mut self) -> bool {
        let status = tokio::time::timeout(Duration::from_secs(30), self.child.wait())
            .await
            .expect("the replica exits within 30 s of SIGTERM")
            .unwrap();
        status.success()
    }
}

/// The `tickets_db_statements_total` counter for one verb and table.
pub async fn statements(app: &TestApp, verb: &str, table: &str) -> u64 {
    let text = metrics_text(app).await;
    let series = format!("tickets_db_statements_total{{verb=\"{verb}\",table=\"{table}\"}} ");
    text.lines()
        .find_map(|l| l.strip_prefix(&series))
        .map_or(0, |n| n.trim().parse().unwrap())
}

/// What `/metrics` says now.
pub async fn metrics_text(app: &TestApp) -> String {
    app.client
        .get(format!("{}/metrics", app.url))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap()
}
