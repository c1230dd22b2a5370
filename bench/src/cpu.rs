//! CPU time per request, from `/proc`: the server's, PostgreSQL's (every `postgres` process),
//! the load generator's own, and the whole machine's. Unlike QPS it does not move when something
//! else on the machine takes the cores, so it shows whether a request costs more in a bigger
//! catalogue; the machine's total minus those three is what others took meanwhile.

use serde::Serialize;

/// Clock ticks of CPU time (user + system) so far.
#[derive(Clone, Copy, Debug, Default)]
pub struct Snapshot {
    server: u64,
    postgres: u64,
    bench: u64,
    machine_busy: u64,
    machine_all: u64,
}

#[derive(Clone, Debug, Default, Serialize)]
pub struct CpuPerRequest {
    /// Microseconds of CPU per counted request.
    pub server_us: f64,
    pub postgres_us: f64,
    pub load_generator_us: f64,
    /// Of the machine's busy time meanwhile, what went to none of those three, in percent of
    /// all of its CPU time.
    pub others_percent: f64,
}

/// utime + stime of a process (fields 14 and 15 of `/proc/<pid>/stat`).
fn ticks(pid: &str) -> Option<u64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The command may hold spaces: the fields start after its closing parenthesis.
    let rest = &stat[stat.rfind(')')? + 2..];
    let f: Vec<&str> = rest.split_whitespace().collect();
    Some(f.get(11)?.parse::<u64>().ok()? + f.get(12)?.parse::<u64>().ok()?)
}

pub fn snapshot(server_pid: u32) -> Snapshot {
    let mut postgres = 0;
    if let Ok(dir) = std::fs::read_dir("/proc") {
        for e in dir.flatten() {
            let name = e.file_name();
            let Some(pid) = name
                .to_str()
                .filter(|p| p.bytes().all(|b| b.is_ascii_digit()))
            else {
                continue;
            };
            let comm = std::fs::read_to_string(format!("/proc/{pid}/comm")).unwrap_or_default();
            if comm.trim() == "postgres" {
                postgres += ticks(pid).unwrap_or(0);
            }
        }
    }
    let (mut busy, mut all) = (0, 0);
    if let Some(cpu) = std::fs::read_to_string("/proc/stat")
        .ok()
        .and_then(|s| s.lines().next().map(str::to_owned))
    {
        // user nice system idle iowait irq softirq steal (guest time is inside user).
        let v: Vec<u64> = cpu
            .split_whitespace()
            .skip(1)
            .take(8)
            .filter_map(|x| x.parse().ok())
            .collect();
        if v.len() == 8 {
            all = v.iter().sum();
            busy = all - v[3] - v[4];
        }
    }
    Snapshot {
        server: ticks(&server_pid.to_string()).unwrap_or(0),
        postgres,
        bench: ticks(&std::process::id().to_string()).unwrap_or(0),
        machine_busy: busy,
        machine_all: all,
    }
}

/// What `requests` cost between two snapshots.
pub fn per_request(a: Snapshot, b: Snapshot, requests: usize) -> CpuPerRequest {
    let us = |t: u64| t as f64 * 1e6 / 100.0 / requests.max(1) as f64;
    let (server, postgres, bench) = (
        b.server.saturating_sub(a.server),
        b.postgres.saturating_sub(a.postgres),
        b.bench.saturating_sub(a.bench),
    );
    let busy = b.machine_busy.saturating_sub(a.machine_busy);
    let all = b.machine_all.saturating_sub(a.machine_all).max(1);
    let others = busy.saturating_sub(server + postgres + bench);
    CpuPerRequest {
        server_us: us(server),
        postgres_us: us(postgres),
        load_generator_us: us(bench),
        others_percent: 100.0 * others as f64 / all as f64,
    }
}
