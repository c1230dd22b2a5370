//! The physical limits run beside the scenarios: pgbench on the same PostgreSQL.

use std::path::PathBuf;

use anyhow::{Context as _, anyhow, bail};
use sea_orm::ConnectionTrait;
use serde::Serialize;
use tokio::process::Command;

use crate::server::{Env, scalar};

#[derive(Clone, Debug, Default, Serialize)]
pub struct PgbenchResult {
    pub mode: String,
    pub clients: usize,
    pub threads: usize,
    pub seconds: u64,
    pub scale: u32,
    pub tps: f64,
    pub latency_avg_ms: f64,
    pub note: String,
}

pub fn pgbench_bin() -> Option<PathBuf> {
    if let Ok(out) = std::process::Command::new("sh")
        .args(["-c", "command -v pgbench"])
        .output()
        && out.status.success()
    {
        let p = String::from_utf8_lossy(&out.stdout).trim().to_owned();
        if !p.is_empty() {
            return Some(PathBuf::from(p));
        }
    }
    let mut found: Vec<PathBuf> = std::fs::read_dir("/usr/lib/postgresql")
        .ok()?
        .filter_map(|e| e.ok())
        .map(|e| e.path().join("bin/pgbench"))
        .filter(|p| p.exists())
        .collect();
    found.sort();
    found.pop()
}

/// The most clients PostgreSQL admits now, leaving `margin` connections for everyone else.
pub async fn max_clients(env: &Env, wanted: usize, margin: i64) -> anyhow::Result<(usize, String)> {
    let db = env.services.postgres_admin().await?;
    let max: i64 = scalar(
        &db,
        "SELECT setting::bigint FROM pg_settings WHERE name = 'max_connections'",
    )
    .await?;
    let reserved: i64 = scalar(
        &db,
        "SELECT setting::bigint FROM pg_settings WHERE name = 'superuser_reserved_connections'",
    )
    .await?;
    let used: i64 = scalar(
        &db,
        "SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'client backend'",
    )
    .await?;
    db.close().await?;
    let room = (max - reserved - used - margin).max(1) as usize;
    let clients = wanted.min(room);
    let note = if clients < wanted {
        format!(
            "{clients} clients, not {wanted}: max_connections is {max} ({reserved} reserved, {used} in use); \
             the server's configuration was left alone"
        )
    } else {
        String::new()
    };
    Ok((clients, note))
}

/// `pgbench -i -s scale` into a scratch database, then one timed run; the database is dropped.
pub async fn run(
    env: &Env,
    select_only: bool,
    clients: usize,
    seconds: u64,
    scale: u32,
    note: String,
) -> anyhow::Result<PgbenchResult> {
    let bin = pgbench_bin().ok_or_else(|| {
        anyhow!("pgbench not found (install postgresql-contrib or postgresql-client)")
    })?;
    let name = format!(
        "bench_pgbench_{}",
        &uuid::Uuid::new_v4().simple().to_string()[..12]
    );
    let db = env.services.postgres_admin().await?;
    db.execute_unprepared(&format!("CREATE DATABASE \"{name}\""))
        .await?;
    let uri = env.services.postgres_url(&name);
    let result = async {
        let init = Command::new(&bin)
            .args(["-i", "-q", "-s", &scale.to_string(), &uri])
            .output()
            .await
            .context("pgbench -i")?;
        if !init.status.success() {
            bail!(
                "pgbench -i failed: {}",
                String::from_utf8_lossy(&init.stderr)
            );
        }
        let threads = 2.min(clients);
        let mut cmd = Command::new(&bin);
        if select_only {
            cmd.arg("-S");
        }
        let out = cmd
            .args([
                "-c",
                &clients.to_string(),
                "-j",
                &threads.to_string(),
                "-T",
                &seconds.to_string(),
                &uri,
            ])
            .output()
            .await
            .context("pgbench")?;
        let text = String::from_utf8_lossy(&out.stdout).into_owned();
        if !out.status.success() {
            bail!(
                "pgbench failed: {}{}",
                text,
                String::from_utf8_lossy(&out.stderr)
            );
        }
        let find = |prefix: &str| {
            text.lines()
                .find_map(|l| l.trim().strip_prefix(prefix))
                .and_then(|v| v.split_whitespace().next())
                .and_then(|v| v.parse::<f64>().ok())
        };
        Ok(PgbenchResult {
            mode: if select_only {
                "select-only (-S)"
            } else {
                "TPC-B (default)"
            }
            .to_owned(),
            clients,
            threads,
            seconds,
            scale,
            tps: find("tps = ").ok_or_else(|| anyhow!("no tps in pgbench's output: {text}"))?,
            latency_avg_ms: find("latency average = ").unwrap_or(f64::NAN),
            note,
        })
    }
    .await;
    let _ = db
        .execute_unprepared(&format!("DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)"))
        .await;
    let _ = db.close().await;
    result
}
