//! The `api` binary as a child process: started with exactly the variables it is given, up once
//! it logs `listening` (the address it bound, port 0 included), ready once `/readyz` answers 200,
//! and stopped by SIGKILL, or SIGTERM as Kubernetes stops a pod.
//!
//! Its output (stdout and stderr) is always read, so a full pipe never stalls it: into a log
//! file if one is given, and its errors and panics echoed to stderr if asked.

use std::{
    collections::{BTreeMap, VecDeque},
    net::SocketAddr,
    path::PathBuf,
    process::{ExitStatus, Stdio},
    time::{Duration, Instant},
};

use anyhow::{Context as _, anyhow, bail};
use serde_json::Value;
use tokio::{
    io::{AsyncBufReadExt, AsyncRead, AsyncWriteExt, BufReader},
    process::{Child, Command},
    sync::{mpsc, oneshot},
};

use crate::Endpoint;

/// How many lines of a server that exits before listening are kept for the error.
const EARLY_LINES: usize = 200;

/// How to start one server process.
pub struct ServerCommand {
    bin: PathBuf,
    vars: BTreeMap<String, String>,
    log: Option<PathBuf>,
    echo_errors: bool,
    listen_within: Duration,
}

impl ServerCommand {
    /// The server binary at `bin`, with no environment but `PATH`, `LOG_FORMAT=json` (how its
    /// address is read) and `RUST_LOG=info`, until [`ServerCommand::env`] adds more.
    pub fn new(bin: impl Into<PathBuf>) -> Self {
        let mut vars = BTreeMap::new();
        vars.insert("PATH".into(), std::env::var("PATH").unwrap_or_default());
        vars.insert("LOG_FORMAT".into(), "json".into());
        vars.insert("RUST_LOG".into(), "info".into());
        Self {
            bin: bin.into(),
            vars,
            log: None,
            echo_errors: false,
            listen_within: Duration::from_secs(60),
        }
    }

    /// Sets one variable (a later one wins).
    pub fn env(mut self, key: impl Into<String>, value: impl Into<String>) -> Self {
        self.vars.insert(key.into(), value.into());
        self
    }

    /// Sets several variables, in order.
    pub fn envs<K: Into<String>, V: Into<String>>(
        mut self,
        vars: impl IntoIterator<Item = (K, V)>,
    ) -> Self {
        for (k, v) in vars {
            self.vars.insert(k.into(), v.into());
        }
        self
    }

    /// Appends the server's output to `path` (created if missing).
    pub fn log_file(mut self, path: impl Into<PathBuf>) -> Self {
        self.log = Some(path.into());
        self
    }

    /// Echoes the server's `ERROR` lines and panics to stderr, prefixed with `server: `.
    pub fn echo_errors(mut self) -> Self {
        self.echo_errors = true;
        self
    }

    /// How long the server may take to log `listening` (60 s unless set).
    pub fn listen_within(mut self, within: Duration) -> Self {
        self.listen_within = within;
        self
    }

    /// Starts the server and waits until it listens. The process is killed if this fails, and
    /// when the [`Server`] is dropped.
    pub async fn spawn(self) -> anyhow::Result<Server> {
        let spawned_at = Instant::now();
        let mut child = Command::new(&self.bin)
            .env_clear()
            .envs(&self.vars)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .with_context(|| format!("cannot start {}", self.bin.display()))?;
        let pid = child
            .id()
            .ok_or_else(|| anyhow!("the server exited at once"))?;
        let (lines_tx, lines_rx) = mpsc::unbounded_channel();
        forward_lines(child.stdout.take().expect("piped"), lines_tx.clone());
        forward_lines(child.stderr.take().expect("piped"), lines_tx);
        let log = match &self.log {
            Some(path) => Some(
                tokio::fs::OpenOptions::new()
                    .create(true)
                    .append(true)
                    .open(path)
                    .await
                    .with_context(|| format!("cannot open {}", path.display()))?,
            ),
            None => None,
        };
        let (addr_tx, addr_rx) = oneshot::channel();
        tokio::spawn(read_output(lines_rx, log, self.echo_errors, addr_tx));
        let where_logs = self
            .log
            .as_ref()
            .map(|p| format!("; its log is {}", p.display()))
            .unwrap_or_default();
        let addr = match tokio::time::timeout(self.listen_within, addr_rx).await {
            Ok(Ok(Ok(addr))) => addr,
            Ok(Ok(Err(said))) => {
                let status = child.wait().await.ok();
                bail!(
                    "the server exited ({}) before listening{where_logs}; it said:\n{}",
                    status.map_or_else(|| "status unknown".into(), |s| s.to_string()),
                    said.join("\n")
                );
            }
            Ok(Err(_)) => bail!("the server's output could not be read"),
            Err(_) => {
                let _ = child.kill().await;
                bail!(
                    "the server did not log `listening` within {:?}{where_logs}",
                    self.listen_within
                );
            }
        };
        Ok(Server {
            child,
            pid,
            addr,
            spawned_at,
            listening_after: spawned_at.elapsed(),
        })
    }
}

/// Sends each line of `from` to `to` until it ends.
fn forward_lines(from: impl AsyncRead + Unpin + Send + 'static, to: mpsc::UnboundedSender<String>) {
    tokio::spawn(async move {
        let mut lines = BufReader::new(from).lines();
        while let Ok(Some(line)) = lines.next_line().await {
            if to.send(line).is_err() {
                return;
            }
        }
    });
}

/// Writes the server's lines where they go, and sends the address of its `listening` line, or
/// what it said if its output ends first.
async fn read_output(
    mut lines: mpsc::UnboundedReceiver<String>,
    mut log: Option<tokio::fs::File>,
    echo_errors: bool,
    addr_tx: oneshot::Sender<Result<SocketAddr, Vec<String>>>,
) {
    let mut addr_tx = Some(addr_tx);
    let mut early = VecDeque::new();
    while let Some(line) = lines.recv().await {
        if let Some(file) = &mut log {
            let _ = file.write_all(line.as_bytes()).await;
            let _ = file.write_all(b"\n").await;
        }
        if echo_errors && (line.contains("\"ERROR\"") || line.contains("panicked")) {
            eprintln!("server: {line}");
        }
        if addr_tx.is_some() {
            if let Some(addr) = listening_addr(&line) {
                let _ = addr_tx.take().expect("checked").send(Ok(addr));
            } else {
                if early.len() == EARLY_LINES {
                    early.pop_front();
                }
                early.push_back(line);
            }
        }
    }
    if let Some(tx) = addr_tx {
        let _ = tx.send(Err(early.into()));
    }
}

/// The address of a JSON log line `{"fields": {"message": "listening", "addr": …}}`.
fn listening_addr(line: &str) -> Option<SocketAddr> {
    if !line.contains("\"listening\"") {
        return None;
    }
    let log: Value = serde_json::from_str(line).ok()?;
    if log["fields"]["message"] != "listening" {
        return None;
    }
    log["fields"]["addr"].as_str()?.parse().ok()
}

/// A running server process, killed when dropped.
pub struct Server {
    child: Child,
    /// Its process id.
    pub pid: u32,
    /// The address it listens on.
    pub addr: SocketAddr,
    /// When it was spawned.
    pub spawned_at: Instant,
    /// From spawning to its `listening` line.
    pub listening_after: Duration,
}

impl Endpoint for Server {
    fn addr(&self) -> SocketAddr {
        self.addr
    }
}

impl Server {
    /// Polls `/readyz` every 2 ms, on a fresh connection each time, until it answers 200;
    /// returns the time from spawning to that answer.
    pub async fn wait_ready(&self, within: Duration) -> anyhow::Result<Duration> {
        let http = reqwest::Client::builder()
            .pool_max_idle_per_host(0)
            .timeout(Duration::from_secs(5))
            .build()?;
        let url = self.http_url("/readyz");
        let deadline = Instant::now() + within;
        loop {
            if let Ok(r) = http.get(&url).send().await
                && r.status().is_success()
            {
                return Ok(self.spawned_at.elapsed());
            }
            if Instant::now() > deadline {
                bail!("/readyz did not answer 200 within {within:?}");
            }
            tokio::time::sleep(Duration::from_millis(2)).await;
        }
    }

    /// SIGKILL: the process dies at once, mid-whatever.
    pub async fn kill(&mut self) -> std::io::Result<()> {
        self.child.kill().await
    }

    /// SIGTERM, as Kubernetes sends before it stops a pod: the server shuts down gracefully.
    pub fn terminate(&self) -> anyhow::Result<()> {
        let pid = self
            .child
            .id()
            .ok_or_else(|| anyhow!("the server is not running"))?;
        let sent = std::process::Command::new("kill")
            .args(["-TERM", &pid.to_string()])
            .status()
            .context("cannot run kill")?;
        if !sent.success() {
            bail!("kill -TERM {pid} failed: {sent}");
        }
        Ok(())
    }

    /// Waits up to `within` for the process to exit.
    pub async fn wait(&mut self, within: Duration) -> anyhow::Result<ExitStatus> {
        match tokio::time::timeout(within, self.child.wait()).await {
            Ok(status) => Ok(status?),
            Err(_) => bail!("the server did not exit within {within:?}"),
        }
    }

    /// SIGTERM, then SIGKILL if it has not exited after `grace`; `true` when it exited by itself.
    pub async fn stop(mut self, grace: Duration) -> bool {
        if self.terminate().is_ok() && self.wait(grace).await.is_ok() {
            return true;
        }
        let _ = self.child.kill().await;
        false
    }

    /// Its resident memory (VmRSS) in KiB.
    pub fn rss_kib(&self) -> anyhow::Result<u64> {
        rss_kib(self.pid)
    }

    /// How many file descriptors it has open.
    pub fn open_fds(&self) -> anyhow::Result<u64> {
        open_fds(self.pid)
    }
}

/// The resident memory (VmRSS) of process `pid` in KiB, from `/proc`.
pub fn rss_kib(pid: u32) -> anyhow::Result<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status"))?;
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .ok_or_else(|| anyhow!("no VmRSS in /proc/{pid}/status"))
}

/// How many file descriptors process `pid` has open, from `/proc`.
pub fn open_fds(pid: u32) -> anyhow::Result<u64> {
    Ok(std::fs::read_dir(format!("/proc/{pid}/fd"))?.count() as u64)
}
