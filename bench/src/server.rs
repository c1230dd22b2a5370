//! The server under test: a separately started release `api` process on a fresh database (a new
//! PostgreSQL database and a unique Redis prefix, or a new SQLite file), stopped and cleaned up
//! after its scenarios.

use std::{
    net::SocketAddr,
    path::{Path, PathBuf},
    process::Stdio,
    time::{Duration, Instant},
};

use anyhow::{Context as _, anyhow, bail};
use sea_orm::{ConnectionTrait, Database, DatabaseConnection, DbBackend, Statement};
use tokio::{
    io::{AsyncBufReadExt, AsyncWriteExt, BufReader},
    process::{Child, Command},
};

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
}

#[derive(Clone, Debug)]
pub struct Env {
    pub server_bin: PathBuf,
    pub pg: String,
    /// `sslmode` of every PostgreSQL connection (the server's and pgbench's alike).
    pub pg_sslmode: String,
    pub redis: String,
    pub work: PathBuf,
    /// Extra environment for every server (`--server-env K=V`), for experiments.
    pub server_env: Vec<(String, String)>,
}

impl Env {
    /// The URL of one database on the PostgreSQL server.
    pub fn pg_url(&self, database: &str) -> String {
        format!("{}/{database}?sslmode={}", self.pg, self.pg_sslmode)
    }
}

/// A database (and Redis prefix) made for one server; the same one can be started again.
pub struct Store {
    pub backend: Backend,
    pub database_url: String,
    pub redis_prefix: Option<String>,
    pg_name: Option<String>,
    sqlite_path: Option<PathBuf>,
}

impl Store {
    pub async fn create(env: &Env, backend: Backend, tag: &str) -> anyhow::Result<Self> {
        let id = uuid::Uuid::new_v4().simple().to_string();
        let short = &id[..12];
        match backend {
            Backend::Pg => {
                let name = format!("bench_{tag}_{short}");
                let admin = admin(env).await?;
                admin
                    .execute_unprepared(&format!("CREATE DATABASE \"{name}\""))
                    .await?;
                admin.close().await?;
                Ok(Self {
                    backend,
                    database_url: env.pg_url(&name),
                    redis_prefix: Some(format!("bench:{tag}:{short}:")),
                    pg_name: Some(name),
                    sqlite_path: None,
                })
            }
            Backend::Embedded => {
                let path = env.work.join(format!("bench-{tag}-{short}.db"));
                Ok(Self {
                    backend,
                    database_url: format!("sqlite://{}?mode=rwc", path.display()),
                    redis_prefix: None,
                    pg_name: None,
                    sqlite_path: Some(path),
                })
            }
        }
    }

    /// A connection of the bench's own to the server's database (for the after-run checks).
    pub async fn connect(&self) -> anyhow::Result<DatabaseConnection> {
        let mut opts = sea_orm::ConnectOptions::new(&self.database_url);
        opts.max_connections(2).sqlx_logging(false);
        Ok(Database::connect(opts).await?)
    }

    pub async fn drop(self, env: &Env) -> anyhow::Result<()> {
        if let Some(name) = &self.pg_name {
            let admin = admin(env).await?;
            admin
                .execute_unprepared(&format!("DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)"))
                .await?;
            admin.close().await?;
        }
        if let Some(prefix) = &self.redis_prefix {
            clear_redis(&env.redis, prefix).await?;
        }
        if let Some(path) = &self.sqlite_path {
            for suffix in ["", "-wal", "-shm"] {
                let _ = std::fs::remove_file(format!("{}{suffix}", path.display()));
            }
        }
        Ok(())
    }
}

pub async fn admin(env: &Env) -> anyhow::Result<DatabaseConnection> {
    let mut opts = sea_orm::ConnectOptions::new(env.pg_url("postgres"));
    opts.max_connections(1).sqlx_logging(false);
    Database::connect(opts)
        .await
        .context("cannot connect to PostgreSQL")
}

async fn clear_redis(url: &str, prefix: &str) -> anyhow::Result<()> {
    let client = redis::Client::open(url)?;
    let mut conn = client.get_multiplexed_async_connection().await?;
    let mut cursor: u64 = 0;
    loop {
        let (next, keys): (u64, Vec<String>) = redis::cmd("SCAN")
            .arg(cursor)
            .arg("MATCH")
            .arg(format!("{prefix}*"))
            .arg("COUNT")
            .arg(1000)
            .query_async(&mut conn)
            .await?;
        if !keys.is_empty() {
            let _: () = redis::cmd("DEL").arg(&keys).query_async(&mut conn).await?;
        }
        if next == 0 {
            return Ok(());
        }
        cursor = next;
    }
}

pub struct Server {
    child: Child,
    pub pid: u32,
    pub addr: SocketAddr,
    /// From spawning the process to the first `200` of `/readyz`.
    pub ready_after: Duration,
    /// From spawning to the `listening` log line.
    pub listening_after: Duration,
}

/// Settings of one server process.
pub struct Settings {
    pub order_ttl_seconds: u64,
    pub max_live_orders: u32,
}

impl Server {
    pub async fn start(
        env: &Env,
        store: &Store,
        settings: &Settings,
        log: &Path,
    ) -> anyhow::Result<Self> {
        let mut cmd = Command::new(&env.server_bin);
        cmd.env_clear()
            .env("PATH", std::env::var("PATH").unwrap_or_default())
            .env("HOST", "127.0.0.1")
            .env("PORT", "0")
            .env("DATABASE_URL", &store.database_url)
            .env(
                "JWT_SECRET",
                "bench-secret-0123456789abcdef-0123456789abcdef",
            )
            .env("PAYMENT_PROCESSOR", "test")
            .env("ORDER_TTL_SECONDS", settings.order_ttl_seconds.to_string())
            .env("MAX_LIVE_ORDERS", settings.max_live_orders.to_string())
            .env("LOG_FORMAT", "json")
            .env("RUST_LOG", "info")
            .env("WEB_DIR", env.work.join("no-web-ui"))
            // As the image (Dockerfile) and scripts/run start it; --server-env may override.
            .env("MIMALLOC_ALLOW_THP", "0")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true);
        cmd.envs(env.server_env.iter().map(|(k, v)| (k, v)));
        if store.backend == Backend::Pg {
            cmd.env("REDIS_URL", &env.redis);
            if let Some(prefix) = &store.redis_prefix {
                cmd.env("REDIS_PREFIX", prefix);
            }
        }
        let started = Instant::now();
        let mut child = cmd
            .spawn()
            .with_context(|| format!("cannot start {}", env.server_bin.display()))?;
        let pid = child
            .id()
            .ok_or_else(|| anyhow!("the server exited at once"))?;
        let stdout = child.stdout.take().ok_or_else(|| anyhow!("no stdout"))?;
        let stderr = child.stderr.take().ok_or_else(|| anyhow!("no stderr"))?;
        let (addr_tx, addr_rx) = tokio::sync::oneshot::channel::<(SocketAddr, Instant)>();
        let mut file = tokio::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(log)
            .await?;
        let mut err_file = file.try_clone().await?;
        tokio::spawn(async move {
            let mut addr_tx = Some(addr_tx);
            let mut lines = BufReader::new(stdout).lines();
            while let Ok(Some(line)) = lines.next_line().await {
                if let Some(tx) = addr_tx.take_if(|_| line.contains("\"listening\"")) {
                    let v: serde_json::Value = serde_json::from_str(&line).unwrap_or_default();
                    if let Some(addr) = v["fields"]["addr"].as_str().and_then(|a| a.parse().ok()) {
                        let _ = tx.send((addr, Instant::now()));
                    }
                }
                let _ = file.write_all(line.as_bytes()).await;
                let _ = file.write_all(b"\n").await;
            }
        });
        tokio::spawn(async move {
            let mut lines = BufReader::new(stderr).lines();
            while let Ok(Some(line)) = lines.next_line().await {
                let _ = err_file.write_all(line.as_bytes()).await;
                let _ = err_file.write_all(b"\n").await;
            }
        });
        let (addr, listening_at) =
            match tokio::time::timeout(Duration::from_secs(60), addr_rx).await {
                Ok(Ok(v)) => v,
                _ => {
                    let _ = child.kill().await;
                    bail!(
                        "the server did not log `listening` within 60 s; see {}",
                        log.display()
                    );
                }
            };
        // Ready: the first 200 of /readyz, polled every 2 ms on a fresh connection each time.
        let http = reqwest::Client::builder()
            .pool_max_idle_per_host(0)
            .timeout(Duration::from_secs(5))
            .build()?;
        let url = format!("http://{addr}/readyz");
        let ready_after = loop {
            if let Ok(r) = http.get(&url).send().await
                && r.status().is_success()
            {
                break started.elapsed();
            }
            if started.elapsed() > Duration::from_secs(60) {
                let _ = child.kill().await;
                bail!("/readyz did not answer 200 within 60 s");
            }
            tokio::time::sleep(Duration::from_millis(2)).await;
        };
        Ok(Self {
            child,
            pid,
            addr,
            ready_after,
            listening_after: listening_at - started,
        })
    }

    /// Resident memory (VmRSS) in KiB.
    pub fn rss_kib(&self) -> anyhow::Result<u64> {
        rss_kib(self.pid)
    }

    /// SIGTERM, then SIGKILL after 15 s.
    pub async fn stop(mut self) -> anyhow::Result<()> {
        let _ = Command::new("kill")
            .args(["-TERM", &self.pid.to_string()])
            .status()
            .await;
        if tokio::time::timeout(Duration::from_secs(15), self.child.wait())
            .await
            .is_err()
        {
            eprintln!("bench: the server did not stop within 15 s of SIGTERM; killing it");
            let _ = self.child.kill().await;
        }
        Ok(())
    }
}

pub fn rss_kib(pid: u32) -> anyhow::Result<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status"))?;
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .ok_or_else(|| anyhow!("no VmRSS in /proc/{pid}/status"))
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
