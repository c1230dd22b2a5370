//! A fresh deployment to run servers on: a new SQLite file in a temporary directory, or a newly
//! created PostgreSQL database beside a unique Redis key prefix. Every server started on one
//! [`Deployment`] is a replica of the same deployment.

use std::path::PathBuf;

use anyhow::Context as _;
use sea_orm::{ConnectOptions, ConnectionTrait, Database, DatabaseConnection};
use uuid::Uuid;

use crate::JWT_SECRET;

/// Which pair of backends a server runs on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Backend {
    /// SQLite + the in-process lock store and event bus.
    Embedded,
    /// PostgreSQL + Redis, as production runs.
    PostgresRedis,
}

impl Backend {
    /// `embedded` (or `sqlite`), `postgres-redis` (or `pg`, `postgres`).
    pub fn from_name(name: &str) -> Option<Self> {
        match name {
            "embedded" | "sqlite" => Some(Self::Embedded),
            "postgres-redis" | "pg" | "postgres" => Some(Self::PostgresRedis),
            _ => None,
        }
    }
}

/// Where the shared services are: a PostgreSQL server (trust authentication) and Redis.
#[derive(Clone, Debug)]
pub struct Services {
    /// PostgreSQL's URL without a database, e.g. `postgres://postgres@127.0.0.1:5432`.
    pub postgres: String,
    /// The database to connect to for `CREATE DATABASE` and `DROP DATABASE`.
    pub admin_database: String,
    /// The query string of every PostgreSQL URL made from `postgres` (e.g. `sslmode=disable`),
    /// or empty.
    pub postgres_params: String,
    /// Redis's URL.
    pub redis: String,
}

impl Default for Services {
    /// PostgreSQL on 127.0.0.1:5432 as user `postgres`, Redis on 127.0.0.1:6379.
    fn default() -> Self {
        Self {
            postgres: "postgres://postgres@127.0.0.1:5432".into(),
            admin_database: "postgres".into(),
            postgres_params: String::new(),
            redis: "redis://127.0.0.1:6379".into(),
        }
    }
}

impl Services {
    /// From `TEST_POSTGRES_URL` (an administrative connection's URL, database included: default
    /// `postgres://postgres@127.0.0.1:5432/postgres`) and `TEST_REDIS_URL` (default
    /// `redis://127.0.0.1:6379`).
    pub fn from_test_env() -> Self {
        let mut services = Self::default();
        if let Ok(url) = std::env::var("TEST_POSTGRES_URL") {
            let (base, database) = url
                .rsplit_once('/')
                .expect("TEST_POSTGRES_URL names a database");
            let (database, params) = database.split_once('?').unwrap_or((database, ""));
            services.postgres = base.to_owned();
            services.admin_database = database.to_owned();
            services.postgres_params = params.to_owned();
        }
        if let Ok(url) = std::env::var("TEST_REDIS_URL") {
            services.redis = url;
        }
        services
    }

    /// The URL of `database` on the PostgreSQL server.
    pub fn postgres_url(&self, database: &str) -> String {
        if self.postgres_params.is_empty() {
            format!("{}/{database}", self.postgres)
        } else {
            format!("{}/{database}?{}", self.postgres, self.postgres_params)
        }
    }

    /// One connection to the administrative database.
    pub async fn postgres_admin(&self) -> anyhow::Result<DatabaseConnection> {
        let mut opts = ConnectOptions::new(self.postgres_url(&self.admin_database));
        opts.max_connections(1).sqlx_logging(false);
        Database::connect(opts)
            .await
            .context("cannot connect to PostgreSQL")
    }
}

/// One deployment's shared state: a fresh database and a unique Redis key prefix.
pub struct Deployment {
    /// The backend pair its servers run on.
    pub backend: Backend,
    /// Its `DATABASE_URL`.
    pub database_url: String,
    /// Its `REDIS_URL`, with [`Backend::PostgresRedis`].
    pub redis_url: Option<String>,
    /// Its `REDIS_PREFIX`, unique to it (set with either backend; only Redis reads it).
    pub redis_prefix: String,
    /// The PostgreSQL database's name and where it lives, for [`Deployment::remove`].
    postgres: Option<(Services, String)>,
    /// The SQLite file's directory, deleted with the deployment.
    sqlite_dir: Option<tempfile::TempDir>,
}

impl Deployment {
    /// A new, empty database (migrated by the first server that starts on it). `tag` names it:
    /// the PostgreSQL database is `<tag>_<uuid>` and the Redis prefix `<tag>:<uuid>:`.
    pub async fn create(backend: Backend, services: &Services, tag: &str) -> anyhow::Result<Self> {
        let id = Uuid::new_v4().simple().to_string();
        let redis_prefix = format!("{tag}:{id}:");
        match backend {
            Backend::Embedded => {
                let dir = tempfile::Builder::new()
                    .prefix(&format!("{tag}-"))
                    .tempdir()?;
                let path: PathBuf = dir.path().join("tickets.db");
                Ok(Self {
                    backend,
                    database_url: format!("sqlite://{}?mode=rwc", path.display()),
                    redis_url: None,
                    redis_prefix,
                    postgres: None,
                    sqlite_dir: Some(dir),
                })
            }
            Backend::PostgresRedis => {
                let name = format!("{tag}_{id}");
                let admin = services.postgres_admin().await?;
                admin
                    .execute_unprepared(&format!("CREATE DATABASE \"{name}\""))
                    .await?;
                admin.close().await?;
                Ok(Self {
                    backend,
                    database_url: services.postgres_url(&name),
                    redis_url: Some(services.redis.clone()),
                    redis_prefix,
                    postgres: Some((services.clone(), name)),
                    sqlite_dir: None,
                })
            }
        }
    }

    /// The variables of a server of this deployment: `HOST=127.0.0.1`, `PORT=0`, the database,
    /// Redis and its prefix, [`JWT_SECRET`], the built-in test payment processor, and a
    /// `WEB_DIR` that does not exist (the placeholder page).
    pub fn server_vars(&self) -> Vec<(String, String)> {
        let mut vars: Vec<(String, String)> = [
            ("HOST", "127.0.0.1"),
            ("PORT", "0"),
            ("DATABASE_URL", self.database_url.as_str()),
            ("REDIS_PREFIX", self.redis_prefix.as_str()),
            ("JWT_SECRET", JWT_SECRET),
            // PostgreSQL refuses to start with the test processor unless asked for by name.
            ("PAYMENT_PROCESSOR", "test"),
            ("WEB_DIR", "/nonexistent-web-dir"),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect();
        if let Some(url) = &self.redis_url {
            vars.push(("REDIS_URL".into(), url.clone()));
        }
        vars
    }

    /// A small pool of the caller's own on the deployment's database.
    pub async fn connect(&self) -> anyhow::Result<DatabaseConnection> {
        let mut opts = ConnectOptions::new(&self.database_url);
        opts.max_connections(2).sqlx_logging(false);
        Ok(Database::connect(opts).await?)
    }

    /// Deletes what the deployment made: its PostgreSQL database (even with connections still
    /// open to it), its Redis keys, its SQLite directory. Without it, a PostgreSQL database
    /// stays (`scripts/test` drops the `test_*` ones when it ends).
    pub async fn remove(self) -> anyhow::Result<()> {
        if let Some((services, name)) = &self.postgres {
            let admin = services.postgres_admin().await?;
            admin
                .execute_unprepared(&format!("DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)"))
                .await?;
            admin.close().await?;
        }
        if let Some(url) = &self.redis_url {
            delete_keys(url, &self.redis_prefix).await?;
        }
        drop(self.sqlite_dir);
        Ok(())
    }
}

/// Deletes every Redis key that starts with `prefix`.
async fn delete_keys(url: &str, prefix: &str) -> anyhow::Result<()> {
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
