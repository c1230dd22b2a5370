//! What the black-box tests (`api/tests/it`) and the load generator (`bench/`) share to drive a
//! real server from outside:
//!
//! - [`Client`]: GraphQL over HTTP (POST a document with variables and an optional bearer token;
//!   read `data`, `errors` and `extensions.code`);
//! - [`WsClient`]: GraphQL over WebSocket, `graphql-transport-ws` and the legacy `graphql-ws`;
//! - [`Deployment`]: a fresh database (a SQLite file in a temporary directory, or a new PostgreSQL
//!   database) and a unique Redis key prefix, with the server variables that point at them;
//! - [`ServerCommand`] and [`Server`]: the `api` binary as a child process, up once it logs
//!   `listening` (and, if asked, once `/readyz` answers 200), then killed or terminated.
//!
//! Running the server in the caller's own process is left to the tests, since only they link
//! the `api` library.

#![forbid(unsafe_code)]

mod db;
mod graphql;
mod server;
mod ws;

use std::net::SocketAddr;

pub use db::{Backend, Deployment, Services};
pub use graphql::{Answer, Client, answer, error_code, error_fields, http_client};
pub use server::{Server, ServerCommand, open_fds, rss_kib};
pub use ws::{Protocol, WsClient, WsOptions, WsStream};

/// The `JWT_SECRET` of every server a [`Deployment`] configures, for tests that forge tokens.
pub const JWT_SECRET: &str = "test-secret-0123456789abcdef0123456789";

/// Something with a server's address: where its HTTP routes and its WebSocket are.
pub trait Endpoint {
    /// The address the server listens on.
    fn addr(&self) -> SocketAddr;

    /// `http://<addr><path>`; `path` starts with `/`.
    fn http_url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr())
    }

    /// The GraphQL WebSocket's URL, `ws://<addr>/graphql/ws`.
    fn ws_url(&self) -> String {
        format!("ws://{}/graphql/ws", self.addr())
    }
}

impl Endpoint for SocketAddr {
    fn addr(&self) -> SocketAddr {
        *self
    }
}
