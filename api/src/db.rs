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
        options.max_connections(32).min_connections(2);
    }
    let mut db = Database::connect(options)
        .await
        .context("cannot connect to the database (DATABASE_URL)")?;
    let metrics = metrics.clone();
    db.set_metric_callback(move |info| {
        metrics.db_statement(&info.statement.sql, info.elapsed.as_secs_f64(), info.failed)
    });
    Migrator::up(&db, None)
        .await
        .context("database migrations failed")?;
    Ok(db)
}

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
    Utc::now()
        .duration_trunc(chrono::Duration::microseconds(1))
        .unwrap_or_else(|_| Utc::now())
}

/// Answers while the database does.
pub async fn ping(db: &impl ConnectionTrait) -> Result<(), DbErr> {
    db.execute_unprepared("SELECT 1").await.map(|_| ())
}
