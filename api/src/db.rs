//! The database connection: PostgreSQL, or SQLite for the embedded default. Migrations run here,
//! at start-up, before the server takes requests.

use std::time::Duration;

use anyhow::Context as _;
use chrono::{DateTime, DurationRound, Utc};
use migration::{Migrator, MigratorTrait};
use sea_orm::{
    ConnectOptions, ConnectionTrait, Database, DatabaseConnection, DatabaseTransaction, DbErr,
    SqliteTransactionMode, TransactionOptions, TransactionTrait,
};

pub async fn connect(
    url: &str,
    max_connections: u32,
    metrics: &crate::metrics::Metrics,
) -> anyhow::Result<DatabaseConnection> {
    let mut options = ConnectOptions::new(url);
    options
        .connect_timeout(Duration::from_secs(5))
        .acquire_timeout(Duration::from_secs(10))
        .sqlx_logging(false);
    if url.starts_with("sqlite:") {
        // One writer at a time is SQLite's nature; WAL lets reads go on beside it.
        options.map_sqlx_sqlite_opts(|o| {
            o.journal_mode(sea_orm::sqlx::sqlite::SqliteJournalMode::Wal)
                .synchronous(sea_orm::sqlx::sqlite::SqliteSynchronous::Normal)
                .busy_timeout(Duration::from_secs(10))
                .foreign_keys(true)
                .create_if_missing(true)
        });
    } else {
        options.max_connections(max_connections).min_connections(2);
    }
    let mut db = Database::connect(options)
        .await
        .context("cannot connect to the database (DATABASE_URL)")?;
    let metrics = metrics.clone();
    db.set_metric_callback(move |info| {
        metrics.db_statement(&info.statement.sql, info.elapsed.as_secs_f64(), info.failed)
    });
    migrate(url, &db).await?;
    Ok(db)
}

/// Any number of replicas may start at once: on PostgreSQL the migrations run under a
/// session-level advisory lock, held on a connection of its own, so one replica migrates while the
/// others wait and then find nothing left to do. SQLite has one process by nature.
async fn migrate(url: &str, db: &DatabaseConnection) -> anyhow::Result<()> {
    if url.starts_with("sqlite:") {
        return Migrator::up(db, None)
            .await
            .context("database migrations failed");
    }
    let mut options = ConnectOptions::new(url);
    options
        .max_connections(1)
        .connect_timeout(Duration::from_secs(5))
        .sqlx_logging(false);
    let lock = Database::connect(options)
        .await
        .context("cannot connect to the database (DATABASE_URL)")?;
    lock.execute_unprepared(&format!("SELECT pg_advisory_lock({MIGRATION_LOCK})"))
        .await
        .context("cannot take the migration lock")?;
    let migrated = Migrator::up(db, None).await;
    let _ = lock
        .execute_unprepared(&format!("SELECT pg_advisory_unlock({MIGRATION_LOCK})"))
        .await;
    let _ = lock.close().await;
    migrated.context("database migrations failed")
}

/// The advisory lock key of migrations ("tickets" in ASCII).
const MIGRATION_LOCK: i64 = 0x7469636b657473;

/// A transaction that will write. On SQLite it takes the write lock at `BEGIN` (`IMMEDIATE`), so
/// two writers queue instead of failing with "database is locked" at their first write.
pub async fn begin_write(db: &DatabaseConnection) -> Result<DatabaseTransaction, DbErr> {
    db.begin_with_options(TransactionOptions {
        isolation_level: None,
        access_mode: None,
        sqlite_transaction_mode: Some(SqliteTransactionMode::Immediate),
    })
    .await
}

/// Now, at the microsecond precision both databases keep, so what is stored is what was returned.
pub fn now() -> DateTime<Utc> {
    trunc(Utc::now())
}

/// `at` at the microsecond precision both databases keep.
pub fn trunc(at: DateTime<Utc>) -> DateTime<Utc> {
    at.duration_trunc(chrono::Duration::microseconds(1))
        .unwrap_or(at)
}

/// Answers while the database does.
pub async fn ping(db: &impl ConnectionTrait) -> Result<(), DbErr> {
    db.execute_unprepared("SELECT 1").await.map(|_| ())
}

/// Whether the statement broke a unique index: a race another request won, to be told as
/// `CONFLICT`, not an internal error.
pub fn is_unique_violation(err: &DbErr) -> bool {
    matches!(
        err.sql_err(),
        Some(sea_orm::SqlErr::UniqueConstraintViolation(_))
    )
}
