//! The test harness: a fresh database (and Redis key prefix) per test, the real application on
//! port 0, and clients that speak GraphQL over HTTP and WebSocket.
//!
//! The clients, the fresh databases and the `api` processes of [`Replica`] are testkit's
//! (`api/testkit`, shared with bench/); what is the tests' own stays here: the application run
//! in this process through the api library, accounts and sessions, a private Redis server.
//!
//! `TEST_BACKEND` picks the backend pair: `embedded` (SQLite + in-process, the default) or
//! `postgres-redis` (PostgreSQL at `TEST_POSTGRES_URL`, Redis at `TEST_REDIS_URL`).

#![allow(dead_code)]

use std::{net::SocketAddr, time::Duration};

use sea_orm::{Database, DatabaseConnection};
use serde_json::{Value, json};
use tokio::{sync::oneshot, task::JoinHandle};
use uuid::Uuid;

pub use testkit::{
    Backend, Endpoint, JWT_SECRET, Protocol, WsClient, WsOptions, error_code, error_fields,
};

pub const PASSWORD: &str = "correct horse battery";

pub fn backend() -> Backend {
    match std::env::var("TEST_BACKEND").as_deref() {
        Ok("postgres-redis") => Backend::PostgresRedis,
        Ok("embedded") | Err(_) => Backend::Embedded,
        Ok(other) => panic!("TEST_BACKEND={other:?}: use embedded or postgres-redis"),
    }
}

pub fn redis_url() -> String {
    testkit::Services::from_test_env().redis
}

/// One deployment's shared state: a fresh database and a unique Redis prefix. Every app spawned
/// from it is a replica of the same deployment.
pub struct TestEnv {
    pub database_url: String,
    pub redis_prefix: String,
    deployment: testkit::Deployment,
}

impl TestEnv {
    pub async fn new() -> Self {
        let services = testkit::Services::from_test_env();
        let deployment = testkit::Deployment::create(backend(), &services, "test")
            .await
            .unwrap();
        Self {
            database_url: deployment.database_url.clone(),
            redis_prefix: deployment.redis_prefix.clone(),
            deployment,
        }
    }

    /// The server's variables: the deployment's, then `extra` (which wins).
    pub fn vars(&self, extra: &[(&str, &str)]) -> Vec<(String, String)> {
        let mut vars = self.deployment.server_vars();
        // With a Stripe key, the processor is Stripe's unless the test names one.
        if extra.iter().any(|(k, _)| *k == "STRIPE_SECRET_KEY") {
            vars.retain(|(k, _)| k != "PAYMENT_PROCESSOR");
        }
        vars.extend(
            extra
                .iter()
                .map(|(k, v)| ((*k).to_owned(), (*v).to_owned())),
        );
        vars
    }

    pub async fn spawn(&self) -> TestApp {
        self.spawn_with(&[]).await
    }

    pub async fn spawn_with(&self, extra: &[(&str, &str)]) -> TestApp {
        let vars = self.vars(extra).into_iter().collect();
        let config = api::Config::from_vars(&vars).expect("test config");
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
            stop: Some(stop),
            handle: Some(handle),
            state: Some(state),
            ..TestApp::remote(addr, &self.database_url)
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
    graphql: testkit::Client,
    stop: Option<oneshot::Sender<()>>,
    handle: Option<JoinHandle<()>>,
    /// The server's state when it runs in this process: for tests that run one step of a
    /// background task themselves (a reconciler working from an old read, say).
    pub state: Option<api::state::AppState>,
}

impl Endpoint for TestApp {
    fn addr(&self) -> SocketAddr {
        self.addr
    }
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
        let graphql = testkit::Client::new(addr);
        Self {
            addr,
            url: format!("http://{addr}"),
            client: graphql.http.clone(),
            database_url: database_url.to_owned(),
            graphql,
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
        self.graphql.post(query, variables, token).await.unwrap()
    }

    /// POSTs a GraphQL operation; returns the JSON body.
    pub async fn gql(&self, query: &str, variables: Value, token: Option<&str>) -> Value {
        self.graphql.body(query, variables, token).await.unwrap()
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

    /// POSTs `{ query, operationName }`; returns the JSON body.
    pub async fn graphql_raw(
        &self,
        query: &str,
        operation_name: Option<&str>,
        token: Option<&str>,
    ) -> Value {
        let mut request = self
            .client
            .post(format!("{}/graphql", self.url))
            .json(&json!({ "query": query, "operationName": operation_name }));
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        request.send().await.unwrap().json().await.unwrap()
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
        Endpoint::ws_url(self)
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
    server: testkit::Server,
}

impl Replica {
    pub async fn start(env: &TestEnv, extra: &[(&str, &str)]) -> Self {
        // Small pools: a few replicas in each of two concurrent tests must fit PostgreSQL's 100.
        let mut vars = vec![("DATABASE_MAX_CONNECTIONS", "6")];
        vars.extend_from_slice(extra);
        let server = testkit::ServerCommand::new(env!("CARGO_BIN_EXE_api"))
            .envs(env.vars(&vars))
            .spawn()
            .await
            .unwrap_or_else(|err| panic!("the replica listens within a minute: {err:#}"));
        Self {
            app: TestApp::remote(server.addr, &env.database_url),
            server,
        }
    }

    /// SIGKILL: the process dies at once, mid-whatever.
    pub async fn kill(&mut self) {
        self.server.kill().await.unwrap();
    }

    /// SIGTERM, as Kubernetes sends before it stops a pod.
    pub fn terminate(&self) {
        self.server.terminate().unwrap();
    }

    /// Waits for the process to exit; `true` when it exited cleanly.
    pub async fn exited(&mut self) -> bool {
        let status = self
            .server
            .wait(Duration::from_secs(30))
            .await
            .expect("the replica exits within 30 s of SIGTERM");
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
    app.graphql.metrics().await.unwrap()
}
