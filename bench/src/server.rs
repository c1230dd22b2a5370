//! The server under test: a separately started release `api` process (testkit's
//! `ServerCommand`) on a fresh deployment (testkit's `Deployment`: a new PostgreSQL database and
//! a unique Redis prefix, or a new SQLite file), stopped and cleaned up after its scenarios.

use std::{
    path::{Path, PathBuf},
    time::Duration,
};

use anyhow::anyhow;
use sea_orm::{ConnectionTrait, DatabaseConnection, DbBackend, Statement};
use testkit::{Deployment, Server, ServerCommand, Services};

/// A backend pair as the report names it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
pub enum Backend {
    /// PostgreSQL + Redis, as production runs.
    Pg,
    /// SQLite + the in-process lock store and event bus.
    Embedded,
}

impl Backend {
    pub fn label(self) -> &'static str {
        match self {
            Backend::Pg => "PostgreSQL + Redis",
            Backend::Embedded => "SQLite (embedded)",
        }
    }
    pub fn key(self) -> &'static str {
        match self {
            Backend::Pg => "pg",
            Backend::Embedded => "embedded",
        }
    }
    fn kit(self) -> testkit::Backend {
        match self {
            Backend::Pg => testkit::Backend::PostgresRedis,
            Backend::Embedded => testkit::Backend::Embedded,
        }
    }
}

#[derive(Clone, Debug)]
pub struct Env {
    pub server_bin: PathBuf,
    /// PostgreSQL (with the `sslmode` of every connection, the server's and pgbench's alike)
    /// and Redis.
    pub services: Services,
    pub work: PathBuf,
    /// Extra environment for every server (`--server-env K=V`), for experiments.
    pub server_env: Vec<(String, String)>,
}

impl Env {
    /// A fresh database (and Redis prefix) for one server; the same one can be started again.
    /// PostgreSQL databases are named `bench_<tag>_<uuid>`.
    pub async fn deployment(&self, backend: Backend, tag: &str) -> anyhow::Result<Deployment> {
        Deployment::create(backend.kit(), &self.services, &format!("bench_{tag}")).await
    }
}

/// Settings of one server process.
pub struct Settings {
    pub order_ttl_seconds: u64,
    pub max_live_orders: u32,
}

/// Starts a server on `store`, its output appended to `log`, and waits until `/readyz` answers
/// 200; returns it and the time from spawning to that answer.
pub async fn start(
    env: &Env,
    store: &Deployment,
    settings: &Settings,
    log: &Path,
) -> anyhow::Result<(Server, Duration)> {
    start_with(
        env,
        store,
        settings,
        ServerCommand::new(&env.server_bin).log_file(log),
    )
    .await
}

/// Like [`start`], from a command set up by the caller (its log, its `RUST_LOG`).
pub async fn start_with(
    env: &Env,
    store: &Deployment,
    settings: &Settings,
    cmd: ServerCommand,
) -> anyhow::Result<(Server, Duration)> {
    let server = cmd
        .envs(store.server_vars())
        .env("ORDER_TTL_SECONDS", settings.order_ttl_seconds.to_string())
        .env("MAX_LIVE_ORDERS", settings.max_live_orders.to_string())
        // As the image (Dockerfile) and scripts/run start it; --server-env may override.
        .env("MIMALLOC_ALLOW_THP", "0")
        .envs(env.server_env.iter().cloned())
        .spawn()
        .await?;
    let ready_after = server.wait_ready(Duration::from_secs(60)).await?;
    Ok((server, ready_after))
}

/// SIGTERM, then SIGKILL after 15 s.
pub async fn stop(server: Server) {
    if !server.stop(Duration::from_secs(15)).await {
        eprintln!("bench: the server did not stop within 15 s of SIGTERM; killing it");
    }
}

/// One `count(*)`-like number from the server's database.
pub async fn scalar(db: &DatabaseConnection, sql: &str) -> anyhow::Result<i64> {
    let backend: DbBackend = db.get_database_backend();
    let row = db
        .query_one_raw(Statement::from_string(backend, sql.to_owned()))
        .await?
        .ok_or_else(|| anyhow!("no row: {sql}"))?;
    Ok(row.try_get_by_index::<i64>(0)?)
}

/// One text value from the server's database.
pub async fn text(db: &DatabaseConnection, sql: &str) -> anyhow::Result<String> {
    let backend: DbBackend = db.get_database_backend();
    let row = db
        .query_one_raw(Statement::from_string(backend, sql.to_owned()))
        .await?
        .ok_or_else(|| anyhow!("no row: {sql}"))?;
    Ok(row.try_get_by_index::<String>(0)?)
}
