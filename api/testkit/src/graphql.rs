//! GraphQL over HTTP: `POST /graphql` with `{query, variables}` and an optional bearer token, and
//! what to read in the answer (`data`, or the first error's `extensions.code`).

use std::{net::SocketAddr, time::Duration};

use anyhow::anyhow;
use serde_json::{Value, json};

use crate::Endpoint;

/// What one GraphQL operation answered.
#[derive(Clone, Debug, PartialEq)]
pub enum Answer {
    /// `data`, with no error.
    Data(Value),
    /// The first error's `extensions.code` (`NO_CODE` when it has none) and its message.
    Error { code: String, message: String },
}

/// Reads an answer's body: its first error if it has one, else its `data`.
pub fn answer(body: &Value) -> Answer {
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

/// The `extensions.code` of the first error.
pub fn error_code(body: &Value) -> Option<&str> {
    body["errors"][0]["extensions"]["code"].as_str()
}

/// The `field` names of a `BAD_USER_INPUT` error (its `extensions.fields`).
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

/// An HTTP client for load: a keep-alive pool with no cap on idle connections, `TCP_NODELAY`,
/// and a 60 s timeout per request, so a hung server shows as an error rather than a hang.
pub fn http_client() -> reqwest::Client {
    reqwest::Client::builder()
        .pool_idle_timeout(Duration::from_secs(120))
        .pool_max_idle_per_host(usize::MAX)
        .tcp_nodelay(true)
        .timeout(Duration::from_secs(60))
        .build()
        .expect("a reqwest client builds")
}

/// A GraphQL client of one server. Cloning it shares its connection pool.
#[derive(Clone, Debug)]
pub struct Client {
    /// The HTTP client underneath, for requests other than GraphQL ones.
    pub http: reqwest::Client,
    /// The server's address.
    pub addr: SocketAddr,
    graphql_url: String,
}

impl Endpoint for Client {
    fn addr(&self) -> SocketAddr {
        self.addr
    }
}

impl Client {
    /// A client of the server at `addr` with a pool of its own ([`http_client`]).
    pub fn new(addr: SocketAddr) -> Self {
        Self::with_http(addr, http_client())
    }

    /// A client of the server at `addr` that sends through `http`.
    pub fn with_http(addr: SocketAddr, http: reqwest::Client) -> Self {
        Self {
            http,
            addr,
            graphql_url: format!("http://{addr}/graphql"),
        }
    }

    /// POSTs one operation; returns the HTTP response, whatever its status.
    pub async fn post(
        &self,
        query: &str,
        variables: Value,
        token: Option<&str>,
    ) -> reqwest::Result<reqwest::Response> {
        let mut req = self
            .http
            .post(&self.graphql_url)
            .json(&json!({ "query": query, "variables": variables }));
        if let Some(token) = token {
            req = req.bearer_auth(token);
        }
        req.send().await
    }

    /// POSTs one operation; returns the JSON body. `Err` only for transport failures and
    /// bodies that are not JSON.
    pub async fn body(
        &self,
        query: &str,
        variables: Value,
        token: Option<&str>,
    ) -> anyhow::Result<Value> {
        Ok(self.post(query, variables, token).await?.json().await?)
    }

    /// Runs one operation and reads its [`Answer`]; `Err` only for transport failures and
    /// unreadable bodies.
    pub async fn gql(
        &self,
        query: &str,
        variables: Value,
        token: Option<&str>,
    ) -> anyhow::Result<Answer> {
        Ok(answer(&self.body(query, variables, token).await?))
    }

    /// Like [`Client::gql`], but an error answer is an `Err` too; returns `data`.
    pub async fn data(
        &self,
        query: &str,
        variables: Value,
        token: Option<&str>,
    ) -> anyhow::Result<Value> {
        match self.gql(query, variables, token).await? {
            Answer::Data(data) => Ok(data),
            Answer::Error { code, message } => Err(anyhow!("{code}: {message}")),
        }
    }

    /// Signs up a new account; returns its session token.
    pub async fn sign_up(&self, email: &str, password: &str) -> anyhow::Result<String> {
        const SIGN_UP: &str =
            "mutation($e: String!, $p: String!) { signUp(email: $e, password: $p) { token } }";
        let data = self
            .data(SIGN_UP, json!({ "e": email, "p": password }), None)
            .await?;
        data["signUp"]["token"]
            .as_str()
            .map(str::to_owned)
            .ok_or_else(|| anyhow!("signUp answered no token"))
    }

    /// What `/metrics` says now.
    pub async fn metrics(&self) -> anyhow::Result<String> {
        Ok(self
            .http
            .get(self.http_url("/metrics"))
            .send()
            .await?
            .text()
            .await?)
    }
}
