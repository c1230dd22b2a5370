//! Profiles of the server under load: `perf record` (the `cpu-clock` software event, which works
//! where hardware counters are not exposed, as in this VM) with DWARF call graphs, folded and drawn
//! as a flame graph by inferno; plus a whole-machine sample split by process.

use std::{
    collections::HashMap,
    io::{BufReader, Cursor},
    path::{Path, PathBuf},
    process::Stdio,
    time::Duration,
};

use anyhow::{Context as _, bail};
use inferno::collapse::Collapse as _;
use serde::Serialize;
use tokio::process::{Child, Command};

pub struct Recording {
    child: Child,
    pub data: PathBuf,
}

/// Whether `perf record` works here (it needs the `linux-perf` package).
pub async fn available() -> bool {
    Command::new("perf")
        .args(["record", "-e", "cpu-clock", "-o", "/dev/null", "--", "true"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .await
        .is_ok_and(|s| s.success())
}

/// Samples one process (all its threads) with call graphs.
pub async fn record_pid(pid: u32, data: &Path) -> anyhow::Result<Recording> {
    let child = Command::new("perf")
        .args([
            "record",
            "-q",
            "-e",
            "cpu-clock",
            "-F",
            "249",
            "--call-graph",
            "dwarf,16384",
            "-p",
        ])
        .arg(pid.to_string())
        .arg("-o")
        .arg(data)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .context("perf record")?;
    tokio::time::sleep(Duration::from_millis(300)).await;
    Ok(Recording {
        child,
        data: data.to_owned(),
    })
}

/// Samples the whole machine, without call graphs (which process gets the CPU).
pub async fn record_system(data: &Path) -> anyhow::Result<Recording> {
    let child = Command::new("perf")
        .args(["record", "-q", "-e", "cpu-clock", "-F", "499", "-a", "-o"])
        .arg(data)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .context("perf record -a")?;
    tokio::time::sleep(Duration::from_millis(300)).await;
    Ok(Recording {
        child,
        data: data.to_owned(),
    })
}

impl Recording {
    pub async fn stop(mut self) -> anyhow::Result<PathBuf> {
        if let Some(pid) = self.child.id() {
            let _ = Command::new("kill")
                .args(["-INT", &pid.to_string()])
                .status()
                .await;
        }
        match tokio::time::timeout(Duration::from_secs(60), self.child.wait()).await {
            Ok(_) => Ok(self.data),
            Err(_) => {
                let _ = self.child.kill().await;
                bail!("perf record did not stop")
            }
        }
    }
}

#[derive(Clone, Debug, Default, Serialize)]
pub struct Frames {
    /// CPU time sampled, in seconds (`cpu-clock` counts nanoseconds).
    pub cpu_seconds: f64,
    /// Functions by the share of samples in which they are the leaf.
    pub top_self: Vec<(String, f64)>,
    /// Functions by the share of samples they appear in (any depth).
    pub top_inclusive: Vec<(String, f64)>,
    /// Shares of a few telling subsystems (a sample counts once per group).
    pub groups: Vec<(String, f64)>,
}

/// `perf script` → folded stacks → flame graph SVG; returns the top frames.
pub async fn flamegraph(
    data: &Path,
    svg: &Path,
    folded_out: &Path,
    title: &str,
) -> anyhow::Result<Frames> {
    let out = Command::new("perf")
        .args(["script", "--no-inline", "-i"])
        .arg(data)
        .stderr(Stdio::null())
        .output()
        .await
        .context("perf script")?;
    if !out.status.success() {
        bail!("perf script failed");
    }
    let mut folded = Vec::new();
    let mut opts = inferno::collapse::perf::Options::default();
    opts.nthreads = 1;
    inferno::collapse::perf::Folder::from(opts)
        .collapse(BufReader::new(Cursor::new(out.stdout)), &mut folded)?;
    let folded = String::from_utf8_lossy(&folded).into_owned();
    std::fs::write(folded_out, &folded)?;
    let mut fopts = inferno::flamegraph::Options::default();
    fopts.title = title.to_owned();
    fopts.count_name = "samples".to_owned();
    fopts.min_width = 0.2;
    fopts.deterministic = true;
    let file = std::fs::File::create(svg)?;
    inferno::flamegraph::from_lines(&mut fopts, folded.lines(), std::io::BufWriter::new(file))?;
    Ok(top_frames(&folded))
}

/// Keeps a frame name readable: no hash suffix, no long generic arguments.
fn tidy(frame: &str) -> String {
    let mut s = frame.to_owned();
    if let Some(i) = s.rfind("::h")
        && s[i + 3..].len() == 16
        && s[i + 3..].chars().all(|c| c.is_ascii_hexdigit())
    {
        s.truncate(i);
    }
    if s.len() > 140 {
        s.truncate(140);
        s.push('…');
    }
    s
}

const GROUPS: &[(&str, &[&str])] = &[
    ("argon2 (password hashing)", &["argon2", "blake2"]),
    (
        "sea-orm / sqlx (database client)",
        &["sqlx", "sea_orm", "sea_query"],
    ),
    ("redis client", &["redis::"]),
    (
        "async-graphql (parse, validate, execute)",
        &["async_graphql"],
    ),
    ("serde_json", &["serde_json"]),
    ("hyper / axum (HTTP)", &["hyper::", "axum::", "hyper_util"]),
    ("tungstenite (WebSocket)", &["tungstenite"]),
    ("tracing", &["tracing"]),
    (
        "metrics (prometheus-client)",
        &["prometheus_client", "api::metrics"],
    ),
    (
        "memory allocation (malloc/free)",
        &["malloc", "_int_free", "cfree", "__libc_free", "realloc"],
    ),
    (
        "kernel (syscalls, network)",
        &[
            "[kernel.kallsyms]",
            "entry_SYSCALL",
            "__x64_sys",
            "tcp_",
            "do_syscall",
        ],
    ),
];

pub fn top_frames(folded: &str) -> Frames {
    let mut selfs: HashMap<String, u64> = HashMap::new();
    let mut incl: HashMap<String, u64> = HashMap::new();
    let mut groups: HashMap<&str, u64> = HashMap::new();
    let mut total = 0u64;
    for line in folded.lines() {
        let Some((stack, count)) = line.rsplit_once(' ') else {
            continue;
        };
        let Ok(count) = count.parse::<u64>() else {
            continue;
        };
        total += count;
        let frames: Vec<&str> = stack.split(';').collect();
        if let Some(leaf) = frames.last() {
            *selfs.entry(tidy(leaf)).or_default() += count;
        }
        let mut seen = std::collections::HashSet::new();
        for f in &frames {
            let t = tidy(f);
            if seen.insert(t.clone()) {
                *incl.entry(t).or_default() += count;
            }
        }
        for (name, pats) in GROUPS {
            if frames.iter().any(|f| pats.iter().any(|p| f.contains(p))) {
                *groups.entry(name).or_default() += count;
            }
        }
    }
    let share = |m: HashMap<String, u64>, n: usize, skip_runtime: bool| {
        let mut v: Vec<(String, f64)> = m
            .into_iter()
            .filter(|(k, _)| !skip_runtime || !is_plumbing(k))
            .map(|(k, c)| (k, 100.0 * c as f64 / total.max(1) as f64))
            .collect();
        v.sort_by(|a, b| b.1.total_cmp(&a.1));
        v.truncate(n);
        v
    };
    let mut g: Vec<(String, f64)> = groups
        .into_iter()
        .map(|(k, c)| (k.to_owned(), 100.0 * c as f64 / total.max(1) as f64))
        .collect();
    g.sort_by(|a, b| b.1.total_cmp(&a.1));
    Frames {
        cpu_seconds: total as f64 / 1e9,
        top_self: share(selfs, 20, false),
        top_inclusive: share(incl, 25, true),
        groups: g,
    }
}

/// Frames every sample passes through (thread start, the runtime's scheduler, poll plumbing).
fn is_plumbing(f: &str) -> bool {
    const P: &[&str] = &[
        "tokio::runtime",
        "std::thread",
        "std::sys",
        "core::ops::function",
        "clone3",
        "start_thread",
        "__rust_begin_short_backtrace",
        "core::future",
        "std::panic",
        "std::panicking",
        "tokio::loom",
        "<core::pin::Pin",
        "tokio::task",
        "[unknown]",
        "<F as core::future",
        "core::task::poll",
        "futures_util::future::future::",
        "tower::util",
        "<tower",
        "<tracing::instrument",
        "tokio::park",
    ];
    // The first frame of each folded stack is the thread's name.
    f == "api" || f.starts_with("tokio-runtime-w") || P.iter().any(|p| f.starts_with(p))
}

/// The whole machine's samples by process: the server and the load generator by pid (both
/// name their threads `tokio-rt-worker`), everything else by name (PostgreSQL's backends are all
/// `postgres`).
pub async fn by_process(data: &Path, server_pid: u32) -> anyhow::Result<Vec<(String, f64)>> {
    let out = Command::new("perf")
        .args(["report", "--stdio", "-q", "--sort", "pid", "-i"])
        .arg(data)
        .stderr(Stdio::null())
        .output()
        .await?;
    let text = String::from_utf8_lossy(&out.stdout);
    // `--sort pid` is by thread: map the server's and our own threads back to their process.
    let tasks = |pid: u32| -> std::collections::HashSet<u32> {
        std::fs::read_dir(format!("/proc/{pid}/task"))
            .map(|d| {
                d.filter_map(|e| e.ok()?.file_name().to_str()?.parse().ok())
                    .collect()
            })
            .unwrap_or_default()
    };
    let server_tids = tasks(server_pid);
    let my_tids = tasks(std::process::id());
    let mut merged: HashMap<String, f64> = HashMap::new();
    for l in text.lines() {
        let mut it = l.split_whitespace();
        let Some(pct) = it
            .next()
            .and_then(|p| p.trim_end_matches('%').parse::<f64>().ok())
        else {
            continue;
        };
        let rest = it.collect::<Vec<_>>().join(" ");
        let (pid, comm) = rest.split_once(':').unwrap_or(("", rest.as_str()));
        let pid: u32 = pid.trim().parse().unwrap_or(0);
        let name = if pid == server_pid || server_tids.contains(&pid) {
            "api server".to_owned()
        } else if my_tids.contains(&pid) {
            "load generator (bench)".to_owned()
        } else if pid == 0 {
            "idle".to_owned()
        } else if comm.starts_with("postgres") {
            "postgres (all backends)".to_owned()
        } else if comm.starts_with("opt ") || comm == "rustc" || comm == "cargo" {
            "other: cargo/rustc builds".to_owned()
        } else {
            comm.to_owned()
        };
        *merged.entry(name).or_default() += pct;
    }
    let mut v: Vec<(String, f64)> = merged.into_iter().filter(|(_, p)| *p >= 0.3).collect();
    v.sort_by(|a, b| b.1.total_cmp(&a.1));
    v.truncate(12);
    Ok(v)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frames_and_groups_from_folded_stacks() {
        let folded = "api;tokio::runtime::x;sqlx_core::a;malloc 3\napi;async_graphql::parse 1\n";
        let f = top_frames(folded);
        assert_eq!(f.cpu_seconds, 4e-9);
        assert_eq!(f.top_self[0], ("malloc".to_owned(), 75.0));
        assert!(
            f.groups
                .iter()
                .any(|(g, p)| g.starts_with("sea-orm") && *p == 75.0)
        );
        assert_eq!(tidy("foo::bar::h0123456789abcdef"), "foo::bar");
    }
}
