//! The results: JSON, a Markdown table against the targets, and the plots.

use std::{collections::BTreeMap, fmt::Write as _, path::Path};

use serde::Serialize;

use crate::{
    browse::LoadResult,
    catalogue::Growth,
    expiry::ExpiryResult,
    fanout::FanoutResult,
    fresh::FreshResult,
    hot::HotResult,
    limits::PgbenchResult,
    plans::{Plan, PlanChoice},
    profile::Frames,
    queue::QueueResult,
    rush::RushResult,
    server::Backend,
    stats::Dist,
    waitlist::WaitlistResult,
};

#[derive(Clone, Debug, Default, Serialize)]
pub struct Machine {
    pub nproc: usize,
    pub cpu: String,
    pub ram: String,
    pub kernel: String,
    pub os: String,
    pub postgres: String,
    pub redis: String,
    pub rustc: String,
    pub date: String,
    pub git_commit: String,
    pub server_bin: String,
    pub perf: String,
    /// /proc/loadavg when the run started and when it ended (other work on the machine skews
    /// every figure: all of it shares the two cores).
    pub load_at_start: String,
    pub load_at_end: String,
}

#[derive(Clone, Debug, Default, Serialize)]
pub struct IdleResult {
    /// Fresh database: connect, run every migration, subscribe to Redis, listen; to the first
    /// `200` of `/readyz`.
    pub cold_ready_ms: f64,
    pub cold_listening_ms: f64,
    /// VmRSS one second after ready, no request served but the readiness polls.
    pub cold_rss_kib: u64,
    /// The same database, already migrated: a restart.
    pub warm_ready_ms: f64,
    pub warm_rss_kib: u64,
}

#[derive(Clone, Debug, Serialize)]
pub struct BackendResults {
    pub backend: Backend,
    pub idle: Option<IdleResult>,
    pub rush: Option<RushResult>,
    pub hot: Option<HotResult>,
    pub browse_list: Option<LoadResult>,
    pub browse_get: Option<LoadResult>,
    /// The same reads from a server with the response cache off (the miss path).
    pub browse_list_uncached: Option<LoadResult>,
    pub browse_get_uncached: Option<LoadResult>,
    /// A change on one replica read on another.
    pub fresh: Option<FreshResult>,
    /// One event's page read by everyone, with the cache and without, quiet and changing.
    pub hot_page: Vec<HotPage>,
    pub fanout: Option<FanoutResult>,
    pub expiry: Option<ExpiryResult>,
    /// Set-up costs (sign-ups, listings), for the record.
    pub setup: Vec<(String, f64)>,
    /// The main server's VmRSS (KiB) after each phase.
    pub rss_after: Vec<(String, u64)>,
    pub notes: Vec<String>,
}

impl BackendResults {
    pub fn new(backend: Backend) -> Self {
        Self {
            backend,
            idle: None,
            rush: None,
            hot: None,
            browse_list: None,
            browse_get: None,
            browse_list_uncached: None,
            browse_get_uncached: None,
            fresh: None,
            hot_page: Vec::new(),
            fanout: None,
            expiry: None,
            setup: Vec::new(),
            rss_after: Vec::new(),
            notes: Vec::new(),
        }
    }
}

/// A hot event page's run.
#[derive(Clone, Debug, Serialize)]
pub struct HotPage {
    /// The response cache was on.
    pub cache: bool,
    /// Its seller's reprices a second meanwhile (0: quiet).
    pub writes_per_s: u32,
    pub written: usize,
    pub load: LoadResult,
}

#[derive(Clone, Debug, Default, Serialize)]
pub struct ProfileResult {
    pub name: String,
    pub load: String,
    pub flamegraph: String,
    pub folded: String,
    pub frames: Frames,
    /// The whole machine during the same load, by process (percent of both cores' samples).
    pub by_process: Vec<(String, f64)>,
}

#[derive(Clone, Debug, Default, Serialize)]
pub struct Results {
    pub machine: Machine,
    pub command: String,
    pub quick: bool,
    pub duration_s: f64,
    pub backends: Vec<BackendResults>,
    pub pgbench_tpcb: Option<PgbenchResult>,
    pub pgbench_select: Option<PgbenchResult>,
    pub profiles: Vec<ProfileResult>,
    /// The events scenarios (search, event, waitlist), with their own run's provenance so the
    /// section can be merged into another run's report (`--merge-into`).
    pub events: Option<EventsResults>,
    /// The on-sale queue, likewise with its own provenance.
    pub queue: Option<QueueResults>,
    pub errors: Vec<String>,
}

#[derive(Clone, Debug, Default, Serialize)]
pub struct EventsResults {
    pub command: String,
    pub date: String,
    pub git_commit: String,
    pub load_at_start: String,
    pub load_at_end: String,
    pub quick: bool,
    pub duration_s: f64,
    pub pgbench_select: Option<PgbenchResult>,
    pub backends: Vec<EventsBackend>,
    pub errors: Vec<String>,
}

#[derive(Clone, Debug, Serialize)]
pub struct EventsBackend {
    pub backend: Backend,
    /// The `search` and `event` loads at each catalogue size, smallest first.
    pub catalogue: Vec<CatalogueRun>,
    pub waitlist: Option<WaitlistResult>,
    pub setup: Vec<(String, f64)>,
    pub notes: Vec<String>,
}

impl EventsBackend {
    pub fn new(backend: Backend) -> Self {
        Self {
            backend,
            catalogue: Vec::new(),
            waitlist: None,
            setup: Vec::new(),
            notes: Vec::new(),
        }
    }
}

#[derive(Clone, Debug, Default, Serialize)]
pub struct CatalogueRun {
    pub events: usize,
    pub tickets: usize,
    pub big_events: usize,
    pub biggest_event: u32,
    /// This size's rows, added to the previous size's.
    pub growth: Growth,
    pub search: Option<LoadResult>,
    pub event: Option<LoadResult>,
    /// The scale scenario: `ticket(id)` of random tickets, a page of tickets after a random
    /// cursor, and a rush.
    pub ticket: Option<LoadResult>,
    pub page: Option<LoadResult>,
    pub rush: Option<crate::rush::RushResult>,
    pub plans: Vec<Plan>,
    /// PostgreSQL: which plan the search statement gets on the server's connections.
    pub search_plan: Option<PlanChoice>,
    /// The server's VmRSS after the loads at this size.
    pub rss_kib: u64,
}

/// Latency samples kept for the plots: plot name → (series label, sorted ms).
pub type Samples = BTreeMap<String, Vec<(String, Vec<f64>)>>;

fn n0(v: f64) -> String {
    if !v.is_finite() {
        return "–".into();
    }
    let s = format!("{:.0}", v);
    let neg = s.starts_with('-');
    let digits: Vec<char> = s.trim_start_matches('-').chars().collect();
    let mut out = String::new();
    for (i, c) in digits.iter().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(*c);
    }
    if neg { format!("-{out}") } else { out }
}

fn f1(v: f64) -> String {
    if v.is_finite() {
        format!("{v:.1}")
    } else {
        "–".into()
    }
}

fn mark(ok: bool) -> &'static str {
    if ok { "✅" } else { "❌" }
}

impl Results {
    fn backend(&self, b: Backend) -> Option<&BackendResults> {
        self.backends.iter().find(|r| r.backend == b)
    }

    pub fn markdown(
        &self,
        plots: &[(String, String)],
        event_plots: &[(String, String)],
        queue_plots: &[(String, String)],
    ) -> String {
        let mut s = String::new();
        let m = &self.machine;
        let _ = writeln!(s, "# Benchmark results\n");
        let _ = writeln!(
            s,
            "Generated by `{}` on {} ({:.0} s in all{}). Every scenario drives a separately started \
             release `api` server over HTTP and WebSocket from the load generator in `bench/`, on the \
             same machine as the databases; the limits ran on the same machine in the same run. How to \
             re-run, and what each scenario does: [README.md](README.md).\n",
            self.command,
            m.date,
            self.duration_s,
            if self.quick {
                ", **quick sizes: not the targets' sizes**"
            } else {
                ""
            }
        );
        let _ = writeln!(s, "## Machine\n");
        let _ = writeln!(s, "| | |\n| --- | --- |");
        for (k, v) in [
            ("CPUs (`nproc`)", m.nproc.to_string()),
            ("CPU model", m.cpu.clone()),
            ("RAM", m.ram.clone()),
            ("OS", m.os.clone()),
            ("kernel", m.kernel.clone()),
            ("PostgreSQL", m.postgres.clone()),
            ("Redis", m.redis.clone()),
            ("rustc", m.rustc.clone()),
            ("git commit", m.git_commit.clone()),
            ("server binary", m.server_bin.clone()),
            ("profiler", m.perf.clone()),
            (
                "load average (1, 5, 15 min) at start / end",
                format!("{} / {}", m.load_at_start, m.load_at_end),
            ),
            ("date", m.date.clone()),
        ] {
            let _ = writeln!(s, "| {k} | {v} |");
        }
        let _ = writeln!(s);

        let pg = self.backend(Backend::Pg);
        let em = self.backend(Backend::Embedded);
        let _ = writeln!(s, "## Against the targets\n");
        let _ = writeln!(
            s,
            "✅/❌ mark each figure against its target (the targets are set for PostgreSQL + Redis; \
             the SQLite column is for reference, marked against the same numbers). A dash: not run.\n"
        );
        let _ = writeln!(
            s,
            "| scenario | measure | target | PostgreSQL + Redis | SQLite (embedded) | limit run beside it |"
        );
        let _ = writeln!(s, "| --- | --- | --- | --- | --- | --- |");
        let cell = |b: Option<&BackendResults>, f: &dyn Fn(&BackendResults) -> Option<String>| {
            b.and_then(f).unwrap_or_else(|| "–".into())
        };
        let tpcb = self.pgbench_tpcb.as_ref();
        let sel = self.pgbench_select.as_ref();
        let tpcb_txt = tpcb.map_or("–".into(), |p| {
            format!("pgbench TPC-B, {} clients: {} tps", p.clients, n0(p.tps))
        });
        let sel_txt = sel.map_or("–".into(), |p| {
            format!("pgbench -S, {} clients: {} tps", p.clients, n0(p.tps))
        });
        let mut row = |scenario: &str,
                       measure: &str,
                       target: &str,
                       f: &dyn Fn(&BackendResults) -> Option<String>,
                       limit: &str| {
            let _ = writeln!(
                s,
                "| {scenario} | {measure} | {target} | {} | {} | {limit} |",
                cell(pg, f),
                cell(em, f)
            );
        };
        row(
            "rush",
            "reservations/s",
            "≥ 1,000",
            &|b| {
                b.rush.as_ref().map(|r| {
                    format!(
                        "{} {}{}",
                        n0(r.rate),
                        mark(r.rate >= 1000.0),
                        if r.timed_out { " (cut off)" } else { "" }
                    )
                })
            },
            &tpcb_txt,
        );
        row(
            "rush",
            "vs pgbench TPC-B",
            "≥ 50 %",
            &|b| {
                let r = b.rush.as_ref()?;
                let p = tpcb?;
                let ratio = 100.0 * r.rate / p.tps;
                Some(format!("{} % {}", f1(ratio), mark(ratio >= 50.0)))
            },
            "",
        );
        row(
            "rush",
            "createOrder latency p50 / p99 (all answers)",
            "",
            &|b| {
                b.rush
                    .as_ref()
                    .map(|r| format!("{} / {} ms", f1(r.latency_all.p50), f1(r.latency_all.p99)))
            },
            "",
        );
        row(
            "rush",
            "oversells",
            "0",
            &|b| {
                b.rush
                    .as_ref()
                    .map(|r| format!("{} {}", r.oversells, mark(r.oversells == 0)))
            },
            "",
        );
        row(
            "hot ticket",
            "winners / CONFLICT / other",
            "1 / n−1 / 0",
            &|b| {
                b.hot.as_ref().map(|h| {
                    let bursts = h.bursts.max(1);
                    let ok = h.burst_winners.iter().all(|w| *w == 1)
                        && h.winners == bursts
                        && h.conflicts == (h.buyers - 1) * bursts
                        && h.other == 0;
                    format!(
                        "{} / {} / {} of {} ({} bursts of {}) {}",
                        h.winners,
                        h.conflicts,
                        h.other,
                        h.buyers * bursts,
                        bursts,
                        h.buyers,
                        mark(ok)
                    )
                })
            },
            "none",
        );
        row(
            "hot ticket",
            "latency p99",
            "< 100 ms",
            &|b| {
                b.hot
                    .as_ref()
                    .map(|h| format!("{} ms {}", f1(h.latency.p99), mark(h.latency.p99 < 100.0)))
            },
            "",
        );
        for (name, get) in [
            (
                "browse `tickets(first: 20)`",
                (|b: &BackendResults| b.browse_list.clone())
                    as fn(&BackendResults) -> Option<LoadResult>,
            ),
            ("browse `ticket(id)`", |b: &BackendResults| {
                b.browse_get.clone()
            }),
            (
                "browse `tickets(first: 20)`, cache off",
                |b: &BackendResults| b.browse_list_uncached.clone(),
            ),
            ("browse `ticket(id)`, cache off", |b: &BackendResults| {
                b.browse_get_uncached.clone()
            }),
        ] {
            row(
                name,
                "QPS, p99",
                "",
                &|b| {
                    get(b).map(|l| {
                        let cached = l.cache.map_or(String::new(), |c| {
                            format!(", {} % from the cache", f1(100.0 * c.hit_ratio()))
                        });
                        format!("{} QPS, p99 {} ms{cached}", n0(l.qps), f1(l.latency.p99))
                    })
                },
                &sel_txt,
            );
            row(
                name,
                "vs pgbench -S",
                "≥ 40 %",
                &|b| {
                    let l = get(b)?;
                    let p = sel?;
                    let ratio = 100.0 * l.qps / p.tps;
                    Some(format!("{} % {}", f1(ratio), mark(ratio >= 40.0)))
                },
                "",
            );
        }
        for (label, cache, writes) in [
            ("hot event page, cache on", true, 0),
            ("hot event page, cache on, 10 reprices/s", true, 10),
            ("hot event page, cache off", false, 0),
        ] {
            row(
                label,
                "QPS, p99",
                "",
                &|b| {
                    b.hot_page
                        .iter()
                        .find(|h| h.cache == cache && h.writes_per_s == writes)
                        .map(|h| {
                            let cached = h.load.cache.map_or(String::new(), |c| {
                                format!(", {} % from the cache", f1(100.0 * c.hit_ratio()))
                            });
                            let ratio = sel.map_or(String::new(), |p| {
                                format!(", {} % of pgbench -S", f1(100.0 * h.load.qps / p.tps))
                            });
                            format!(
                                "{} QPS, p99 {} ms{cached}{ratio}",
                                n0(h.load.qps),
                                f1(h.load.latency.p99)
                            )
                        })
                },
                "",
            );
        }
        row(
            "freshness",
            "own replica at once; another's p99",
            "0 stale, ≤ 100 ms",
            &|b| {
                b.fresh.as_ref().map(|f| {
                    let ok =
                        f.stale_own_reads == 0 && f.never_seen == 0 && f.other_replica.p99 <= 100.0;
                    format!(
                        "{} stale of {}, p99 {} ms {}",
                        f.stale_own_reads,
                        f.changes,
                        f1(f.other_replica.p99),
                        mark(ok)
                    )
                })
            },
            "",
        );
        row(
            "fan-out",
            "delivered, p99 from the mutation",
            "all, ≤ 250 ms",
            &|b| {
                b.fanout.as_ref().map(|f| {
                    let expected = f.subscribers * f.updates.max(1);
                    let ok = f.received == expected && f.delay.p99 <= 250.0;
                    format!(
                        "{} of {}, p99 {} ms {}",
                        n0(f.received as f64),
                        n0(expected as f64),
                        f1(f.delay.p99),
                        mark(ok)
                    )
                })
            },
            "none",
        );
        row(
            "fan-out",
            "server memory per idle subscriber",
            "≤ 20 KiB",
            &|b| {
                b.fanout.as_ref().map(|f| {
                    format!(
                        "{} KiB {}",
                        f1(f.kib_per_subscriber),
                        mark(f.kib_per_subscriber <= 20.0)
                    )
                })
            },
            "",
        );
        row(
            "expiry",
            "orderExpired after expiresAt p99, lost",
            "≤ 1 s, 0",
            &|b| {
                b.expiry.as_ref().map(|e| {
                    let ok = e.lag.p99 <= 1000.0 && e.lost == 0 && e.orders == e.orders_wanted;
                    format!(
                        "{} ms, {} lost of {} {}",
                        n0(e.lag.p99),
                        e.lost,
                        n0(e.orders as f64),
                        mark(ok)
                    )
                })
            },
            "none",
        );
        row(
            "idle",
            "RSS after start-up",
            "≤ 40 MiB",
            &|b| {
                b.idle.as_ref().map(|i| {
                    format!(
                        "{} MiB {}",
                        f1(i.cold_rss_kib as f64 / 1024.0),
                        mark(i.cold_rss_kib <= 40 * 1024)
                    )
                })
            },
            "none",
        );
        row(
            "idle",
            "start-up to ready (fresh database, migrations included)",
            "≤ 1 s",
            &|b| {
                b.idle.as_ref().map(|i| {
                    format!(
                        "{} ms {}",
                        n0(i.cold_ready_ms),
                        mark(i.cold_ready_ms <= 1000.0)
                    )
                })
            },
            "",
        );
        let _ = writeln!(s);

        // Details.
        let _ = writeln!(s, "## Details\n");
        for b in &self.backends {
            let _ = writeln!(s, "### {}\n", b.backend.label());
            if let Some(i) = &b.idle {
                let _ = writeln!(
                    s,
                    "- **idle**: fresh database: listening after {} ms, ready after {} ms, VmRSS {} KiB one second later; \
                     restart on the migrated database: ready after {} ms, VmRSS {} KiB.",
                    n0(i.cold_listening_ms),
                    n0(i.cold_ready_ms),
                    n0(i.cold_rss_kib as f64),
                    n0(i.warm_ready_ms),
                    n0(i.warm_rss_kib as f64)
                );
            }
            if let Some(r) = &b.rush {
                let _ = writeln!(
                    s,
                    "- **rush**: {} tickets, {} buyers (a session each): {} reserved and {} `CONFLICT` in {:.2} s \
                     ({} reservations/s, {} createOrder/s); {} other errors{}. Latency of successful reservations \
                     p50 {} / p90 {} / p99 {} / max {} ms; of `CONFLICT` answers p50 {} / p99 {} ms. \
                     Database afterwards: {} non-cancelled orders, {} tickets with more than one, orders minus distinct \
                     tickets {}, tickets left AVAILABLE {}; successful answers for an already reserved ticket {}.{}",
                    n0(r.tickets as f64),
                    r.buyers,
                    n0(r.reservations as f64),
                    n0(r.conflicts as f64),
                    r.elapsed_s,
                    n0(r.rate),
                    n0(r.attempts_rate),
                    r.errors,
                    if r.first_errors.is_empty() {
                        String::new()
                    } else {
                        format!(" (first: `{}`)", r.first_errors[0].replace('|', "/"))
                    },
                    f1(r.latency_ok.p50),
                    f1(r.latency_ok.p90),
                    f1(r.latency_ok.p99),
                    f1(r.latency_ok.max),
                    f1(r.latency_conflict.p50),
                    f1(r.latency_conflict.p99),
                    n0(r.db_live_orders as f64),
                    r.db_tickets_with_several_live_orders,
                    r.db_orders_minus_distinct_tickets,
                    r.db_available_left,
                    r.client_double_reservations,
                    if r.timed_out {
                        " **Cut off by the time cap before every ticket was taken.**"
                    } else {
                        ""
                    }
                );
                if !r.statements_per_attempt.is_empty() {
                    let list: Vec<String> = r
                        .statements_per_attempt
                        .iter()
                        .map(|(k, v)| format!("{k} {v:.2}"))
                        .collect();
                    let total: f64 = r.statements_per_attempt.iter().map(|(_, v)| v).sum();
                    let _ = writeln!(
                        s,
                        "  SQL statements per createOrder attempt (the server's `db_statements_total`; BEGIN/COMMIT \
                         not counted): {total:.1} — {}.",
                        list.join(", ")
                    );
                }
            }
            if let Some(h) = &b.hot {
                let _ = writeln!(
                    s,
                    "- **hot ticket**: {} bursts, each of {} buyers on one fresh ticket, released together ({} warm keep-alive connections), \
                     a second apart: winners per burst {:?}; in all {} winners, {} `CONFLICT`, {} other{}; latency over all bursts p50 {} / p90 {} / \
                     p99 {} / max {} ms; each burst's p99: {} ms; the last answer at most {} ms after its burst's start.",
                    h.bursts,
                    h.buyers,
                    h.warmed_connections,
                    h.burst_winners,
                    h.winners,
                    h.conflicts,
                    h.other,
                    if h.other_examples.is_empty() {
                        String::new()
                    } else {
                        format!(" (first: `{}`)", h.other_examples[0].replace('|', "/"))
                    },
                    f1(h.latency.p50),
                    f1(h.latency.p90),
                    f1(h.latency.p99),
                    f1(h.latency.max),
                    h.burst_p99
                        .iter()
                        .map(|p| f1(*p))
                        .collect::<Vec<_>>()
                        .join(", "),
                    n0(h.wall_ms)
                );
            }
            for (name, l) in [
                ("tickets(first: 20)", &b.browse_list),
                ("ticket(id)", &b.browse_get),
                (
                    "tickets(first: 20)` from a server with the response cache off (`RESPONSE_CACHE_ENTRIES=0`",
                    &b.browse_list_uncached,
                ),
                (
                    "ticket(id)` likewise, cache off (`RESPONSE_CACHE_ENTRIES=0`",
                    &b.browse_get_uncached,
                ),
            ] {
                if let Some(l) = l {
                    let cached = l.cache.map_or(String::new(), |c| {
                        format!(
                            " The response cache answered {} and missed {} ({} %).",
                            n0(c.hits),
                            n0(c.misses),
                            f1(100.0 * c.hit_ratio())
                        )
                    });
                    let _ = writeln!(
                        s,
                        "- **browse `{name}`**: {} connections (keep-alive, closed loop) for {} s: {} requests, {} QPS, \
                         {} errors; latency p50 {} / p90 {} / p99 {} / max {} ms.{cached}",
                        l.connections,
                        l.seconds,
                        n0(l.requests as f64),
                        n0(l.qps),
                        l.errors,
                        f1(l.latency.p50),
                        f1(l.latency.p90),
                        f1(l.latency.p99),
                        f1(l.latency.max)
                    );
                }
            }
            for h in &b.hot_page {
                let l = &h.load;
                let cached = l.cache.map_or(String::new(), |c| {
                    format!(
                        " The response cache answered {} and missed {} ({} %).",
                        n0(c.hits),
                        n0(c.misses),
                        f1(100.0 * c.hit_ratio())
                    )
                });
                let _ = writeln!(
                    s,
                    "- **a hot event page** (`event(id)` with its 20 cheapest tickets, one event of 100 tickets, the same \
                     request each time), cache {}{}: {} connections for {} s: {} QPS, {} errors; latency p50 {} / p90 {} / \
                     p99 {} / max {} ms.{cached}",
                    if h.cache { "on" } else { "off" },
                    if h.writes_per_s > 0 {
                        format!(
                            ", its seller repricing one of its tickets {} times a second ({} reprices in all)",
                            h.writes_per_s, h.written
                        )
                    } else {
                        String::new()
                    },
                    l.connections,
                    l.seconds,
                    n0(l.qps),
                    l.errors,
                    f1(l.latency.p50),
                    f1(l.latency.p90),
                    f1(l.latency.p99),
                    f1(l.latency.max)
                );
            }
            if let Some(f) = &b.fresh {
                let _ = writeln!(
                    s,
                    "- **freshness**: a second replica on the same database and Redis, its response cache on; \
                     the seller changes one ticket {} times on the first (50 ms apart, each once the last was seen) \
                     while 8 connections read `ticket(id)` of it on the second in a closed loop ({} reads, {} answered \
                     from its cache, {} missed). Read on the writer's replica right after the write's answer: {} stale. \
                     The write's answer → the other replica's first answer with the new version: p50 {} / p90 {} / \
                     p99 {} / max {} ms; {} never seen within 5 s.",
                    f.changes,
                    n0(f.other_reads as f64),
                    n0(f.other_cache_hits),
                    n0(f.other_cache_misses),
                    f.stale_own_reads,
                    f1(f.other_replica.p50),
                    f1(f.other_replica.p90),
                    f1(f.other_replica.p99),
                    f1(f.other_replica.max),
                    f.never_seen
                );
            }
            if let Some(f) = &b.fanout {
                let _ = writeln!(
                    s,
                    "- **fan-out**: {} WebSockets opened in {:.1} s ({} failed{}), each subscribed to one ticket's \
                     `ticketUpdated`. Server VmRSS {} KiB before, {} KiB with them idle: {} KiB each. {} `updateTicket`s \
                     one after another (each answered within {} ms) made {} deliveries: from sending the mutation, p50 {} / p90 {} / \
                     p99 {} / max {} ms; each update's p99: {} ms.",
                    n0(f.opened as f64),
                    f.open_seconds,
                    f.open_failures,
                    f.first_open_error
                        .as_ref()
                        .map_or(String::new(), |e| format!(": `{}`", e.replace('|', "/"))),
                    n0(f.rss_before_kib as f64),
                    n0(f.rss_after_kib as f64),
                    f1(f.kib_per_subscriber),
                    f.updates,
                    f1(f.mutation_ms),
                    n0(f.received as f64),
                    f1(f.delay.p50),
                    f1(f.delay.p90),
                    f1(f.delay.p99),
                    f1(f.delay.max),
                    f.update_p99
                        .iter()
                        .map(|p| f1(*p))
                        .collect::<Vec<_>>()
                        .join(", ")
                );
            }
            if let Some(e) = &b.expiry {
                let _ = writeln!(
                    s,
                    "- **expiry**: {} orders (of {} wanted; {} create errors) by {} buyers listening to `orderExpired`, \
                     made in {:.1} s with `ORDER_TTL_SECONDS={}`: their `expiresAt` spread over {:.1} s, at most {} in one \
                     second. Heard {} (duplicates {}), lost {} (not heard within {} s of the deadline); lag after \
                     `expiresAt` p50 {} / p90 {} / p99 {} / max {} ms.",
                    n0(e.orders as f64),
                    n0(e.orders_wanted as f64),
                    e.create_errors,
                    e.buyers,
                    e.create_seconds,
                    e.ttl_seconds,
                    e.deadline_spread_s,
                    n0(e.busiest_second as f64),
                    n0(e.received as f64),
                    e.duplicates,
                    e.lost,
                    e.grace_s,
                    n0(e.lag.p50),
                    n0(e.lag.p90),
                    n0(e.lag.p99),
                    n0(e.lag.max)
                );
            }
            if !b.setup.is_empty() {
                let list: Vec<String> = b
                    .setup
                    .iter()
                    .map(|(k, v)| format!("{k}: {v:.1} s"))
                    .collect();
                let _ = writeln!(
                    s,
                    "- set-up (not timed in any figure): {}.",
                    list.join("; ")
                );
            }
            if !b.rss_after.is_empty() {
                let list: Vec<String> = b
                    .rss_after
                    .iter()
                    .map(|(k, v)| format!("{k} {} MiB", f1(*v as f64 / 1024.0)))
                    .collect();
                let _ = writeln!(
                    s,
                    "- the main server's VmRSS after each phase: {}.",
                    list.join(", ")
                );
            }
            for n in &b.notes {
                let _ = writeln!(s, "- note: {n}");
            }
            let _ = writeln!(s);
        }
        if tpcb.is_some() || sel.is_some() {
            let _ = writeln!(s, "### Limits (pgbench on the same PostgreSQL)\n");
            for p in [tpcb, sel].into_iter().flatten() {
                let _ = writeln!(
                    s,
                    "- {}: scale {}, {} clients, {} threads, {} s: **{} tps**, average latency {} ms.{}",
                    p.mode,
                    p.scale,
                    p.clients,
                    p.threads,
                    p.seconds,
                    n0(p.tps),
                    f1(p.latency_avg_ms),
                    if p.note.is_empty() {
                        String::new()
                    } else {
                        format!(" Note: {}.", p.note)
                    }
                );
            }
            let _ = writeln!(s);
        }
        if let Some(events) = &self.events {
            s.push_str(&events.markdown(event_plots));
        }
        if let Some(queue) = &self.queue {
            s.push_str(&queue.markdown(queue_plots));
        }
        if !self.profiles.is_empty() {
            let _ = writeln!(s, "## Profiles (PostgreSQL + Redis)\n");
            let _ = writeln!(
                s,
                "`perf record -e cpu-clock --call-graph dwarf` on the server process during a separate pass of the \
                 load (the figures above were measured without a profiler attached), folded and drawn by inferno; \
                 beside it `perf record -a` on the whole machine, split by process. Percentages are of the samples.\n"
            );
            for p in &self.profiles {
                let _ = writeln!(s, "### {}\n", p.name);
                let _ = writeln!(
                    s,
                    "Load: {}. Flame graph: [{}]({}) ({:.1} CPU-seconds of the server sampled).\n",
                    p.load, p.flamegraph, p.flamegraph, p.frames.cpu_seconds
                );
                if !p.by_process.is_empty() {
                    let list: Vec<String> = p
                        .by_process
                        .iter()
                        .map(|(c, v)| format!("{c} {v:.1} %"))
                        .collect();
                    let _ = writeln!(s, "Whole machine, by process: {}.\n", list.join(", "));
                }
                let _ = writeln!(
                    s,
                    "Server samples by subsystem (a sample may be in several): {}.\n",
                    p.frames
                        .groups
                        .iter()
                        .map(|(g, v)| format!("{g} {v:.1} %"))
                        .collect::<Vec<_>>()
                        .join(", ")
                );
                let _ = writeln!(
                    s,
                    "| top self frames | % | | top inclusive frames (runtime plumbing left out) | % |\n| --- | --- | --- | --- | --- |"
                );
                let n = p
                    .frames
                    .top_self
                    .len()
                    .max(p.frames.top_inclusive.len())
                    .min(15);
                for i in 0..n {
                    let a = p.frames.top_self.get(i);
                    let c = p.frames.top_inclusive.get(i);
                    let esc = |t: &str| format!("`{}`", t.replace('|', "/").replace('`', "'"));
                    let _ = writeln!(
                        s,
                        "| {} | {} | | {} | {} |",
                        a.map_or(String::new(), |x| esc(&x.0)),
                        a.map_or(String::new(), |x| f1(x.1)),
                        c.map_or(String::new(), |x| esc(&x.0)),
                        c.map_or(String::new(), |x| f1(x.1)),
                    );
                }
                let _ = writeln!(s);
            }
        }
        if !plots.is_empty() {
            let _ = writeln!(s, "## Plots\n");
            for (title, file) in plots {
                let _ = writeln!(s, "### {title}\n\n![{title}]({file})\n");
            }
        }
        if !self.errors.is_empty() {
            let _ = writeln!(s, "## Errors during the run\n");
            for e in &self.errors {
                let _ = writeln!(s, "- {}", e.replace('\n', " "));
            }
        }
        s
    }
}

/// Writes one CDF per plot name; returns (title, file) pairs for the Markdown.
pub fn write_plots(
    out: &Path,
    samples: &Samples,
    rush_series: &[(String, Vec<(f64, f64)>)],
) -> Vec<(String, String)> {
    let mut written = Vec::new();
    let spec: &[(&str, &str, bool)] = &[
        (
            "rush",
            "rush: createOrder latency (successful reservations)",
            true,
        ),
        (
            "hot",
            "hot ticket: createOrder latency, all buyers at once",
            true,
        ),
        ("browse-list", "browse: tickets(first: 20) latency", true),
        ("browse-get", "browse: ticket(id) latency", true),
        (
            "fanout",
            "fan-out: mutation sent → subscriber got `next`",
            false,
        ),
        ("expiry", "expiry: orderExpired received − expiresAt", false),
    ];
    for (key, title, log) in spec {
        let Some(series) = samples.get(*key) else {
            continue;
        };
        let file = format!("{key}-cdf.svg");
        let x = if *log {
            "latency, ms (log scale)"
        } else {
            "ms"
        };
        match crate::plot::cdf(&out.join(&file), title, x, series, *log) {
            Ok(()) => written.push(((*title).to_owned(), file)),
            Err(e) => eprintln!("bench: plot {key}: {e:#}"),
        }
    }
    if !rush_series.is_empty() {
        let file = "rush-throughput.svg".to_owned();
        match crate::plot::lines(
            &out.join(&file),
            "rush: reservations per second (250 ms windows)",
            "seconds since the start",
            "reservations/s",
            rush_series,
        ) {
            Ok(()) => written.push(("rush: reservations per second over time".to_owned(), file)),
            Err(e) => eprintln!("bench: plot rush throughput: {e:#}"),
        }
    }
    written
}

/// The markers around the events section of `results.md`, so `--merge-into` can replace it.
pub const EVENTS_BEGIN: &str = "<!-- events scenarios: begin -->";
pub const EVENTS_END: &str = "<!-- events scenarios: end -->";

fn size_label(events: usize, tickets: usize) -> String {
    format!(
        "{} events / {} tickets",
        n0(events as f64),
        n0(tickets as f64)
    )
}

impl EventsResults {
    fn backend(&self, b: Backend) -> Option<&EventsBackend> {
        self.backends.iter().find(|r| r.backend == b)
    }

    /// The section of `results.md`: its own run's provenance, the figures at each catalogue
    /// size, the waiting list, the plans and the plots.
    pub fn markdown(&self, plots: &[(String, String)]) -> String {
        let mut s = String::new();
        let _ = writeln!(s, "{EVENTS_BEGIN}");
        let _ = writeln!(s, "## Events: search, event pages, the live waiting list\n");
        let _ = writeln!(
            s,
            "From `{}` on {} ({:.0} s; commit {}; load average at start / end {} / {}){}. The catalogue \
             (events and their tickets) is written straight into the server's database and grown from \
             one size to the next on the same database; each size is measured once seeded. What is \
             seeded and what each scenario sends: [README.md](README.md).\n",
            self.command,
            self.date,
            self.duration_s,
            self.git_commit,
            self.load_at_start,
            self.load_at_end,
            if self.quick { ", **quick sizes**" } else { "" }
        );
        let sel = self.pgbench_select.as_ref();
        let sel_txt = sel.map_or("–".into(), |p| {
            format!("pgbench -S, {} clients: {} tps", p.clients, n0(p.tps))
        });
        let pg = self.backend(Backend::Pg);
        let em = self.backend(Backend::Embedded);
        let mut sizes: Vec<(usize, usize)> = self
            .backends
            .iter()
            .flat_map(|b| b.catalogue.iter().map(|c| (c.events, c.tickets)))
            .collect();
        sizes.sort_unstable();
        sizes.dedup();
        let _ = writeln!(
            s,
            "| scenario | catalogue | measure | target | PostgreSQL + Redis | SQLite (embedded) | limit run beside it |"
        );
        let _ = writeln!(s, "| --- | --- | --- | --- | --- | --- | --- |");
        let cell = |b: Option<&EventsBackend>, f: &dyn Fn(&EventsBackend) -> Option<String>| {
            b.and_then(f).unwrap_or_else(|| "–".into())
        };
        for (name, get) in [
            (
                "search",
                (|c: &CatalogueRun| c.search.clone()) as fn(&CatalogueRun) -> Option<LoadResult>,
            ),
            ("event", |c: &CatalogueRun| c.event.clone()),
            ("ticket(id)", |c: &CatalogueRun| c.ticket.clone()),
            ("tickets page", |c: &CatalogueRun| c.page.clone()),
        ] {
            let any = |b: Option<&EventsBackend>| {
                b.is_some_and(|b| b.catalogue.iter().any(|c| get(c).is_some()))
            };
            if !any(pg) && !any(em) {
                continue;
            }
            for &(events, tickets) in &sizes {
                let at = |b: &EventsBackend| {
                    b.catalogue
                        .iter()
                        .find(|c| c.events == events && c.tickets == tickets)
                        .and_then(get)
                };
                let size = size_label(events, tickets);
                let _ = writeln!(
                    s,
                    "| {name} | {size} | QPS, p50 / p99 | | {} | {} | {sel_txt} |",
                    cell(pg, &|b| at(b).map(|l| format!(
                        "{} QPS, {} / {} ms",
                        n0(l.qps),
                        f1(l.latency.p50),
                        f1(l.latency.p99)
                    ))),
                    cell(em, &|b| at(b).map(|l| format!(
                        "{} QPS, {} / {} ms",
                        n0(l.qps),
                        f1(l.latency.p50),
                        f1(l.latency.p99)
                    ))),
                );
                let ratio = |b: &EventsBackend| {
                    let l = at(b)?;
                    let p = sel?;
                    Some(format!("{} %", f1(100.0 * l.qps / p.tps)))
                };
                let _ = writeln!(
                    s,
                    "| {name} | {size} | vs pgbench -S | ≥ 40 % | {} | {} | |",
                    cell(pg, &ratio),
                    cell(em, &ratio)
                );
                let hits = |b: &EventsBackend| {
                    let c = at(b)?.cache?;
                    Some(format!("{} %", f1(100.0 * c.hit_ratio())))
                };
                if [pg, em]
                    .iter()
                    .any(|b| b.is_some_and(|b| hits(b).is_some()))
                {
                    let _ = writeln!(
                        s,
                        "| {name} | {size} | response cache hits | | {} | {} | |",
                        cell(pg, &hits),
                        cell(em, &hits)
                    );
                }
                let cpu = |b: &EventsBackend| {
                    let c = at(b)?.cpu?;
                    Some(if b.backend == Backend::Pg {
                        format!(
                            "{} + {} µs (others took {} % of the machine)",
                            n0(c.server_us),
                            n0(c.postgres_us),
                            n0(c.others_percent)
                        )
                    } else {
                        format!(
                            "{} µs (others took {} % of the machine)",
                            n0(c.server_us),
                            n0(c.others_percent)
                        )
                    })
                };
                let _ = writeln!(
                    s,
                    "| {name} | {size} | CPU per request: server + PostgreSQL | | {} | {} | |",
                    cell(pg, &cpu),
                    cell(em, &cpu)
                );
            }
            let spread = |b: &EventsBackend| {
                let qps: Vec<f64> = b
                    .catalogue
                    .iter()
                    .filter_map(|c| get(c).map(|l| l.qps))
                    .collect();
                let (lo, hi) = qps
                    .iter()
                    .fold((f64::INFINITY, 0f64), |(lo, hi), &q| (lo.min(q), hi.max(q)));
                (qps.len() > 1 && lo > 0.0).then(|| {
                    let within = 100.0 * (hi - lo) / hi;
                    format!(
                        "{} % (lowest {} QPS, highest {}) {}",
                        f1(within),
                        n0(lo),
                        n0(hi),
                        mark(within <= 20.0)
                    )
                })
            };
            let _ = writeln!(
                s,
                "| {name} | every size | QPS spread: (highest − lowest) / highest | ≤ 20 % | {} | {} | |",
                cell(pg, &spread),
                cell(em, &spread)
            );
        }
        for &(events, tickets) in &sizes {
            let rush = |b: &EventsBackend| {
                let c = b
                    .catalogue
                    .iter()
                    .find(|c| c.events == events && c.tickets == tickets)?;
                let r = c.rush.as_ref()?;
                Some(format!(
                    "{} reservations/s of {} tickets, p50 {} / p99 {} ms, {} oversold {}",
                    n0(r.rate),
                    n0(r.tickets as f64),
                    f1(r.latency_all.p50),
                    f1(r.latency_all.p99),
                    r.oversells,
                    mark(r.rate >= 1000.0 && r.oversells == 0)
                ))
            };
            if [pg, em]
                .iter()
                .any(|b| b.is_some_and(|b| rush(b).is_some()))
            {
                let _ = writeln!(
                    s,
                    "| rush | {} | random tickets of the catalogue, {} buyers | ≥ 1,000/s, 0 | {} | {} | |",
                    size_label(events, tickets),
                    pg.or(em)
                        .and_then(|b| b.catalogue.iter().find_map(|c| c.rush.as_ref()))
                        .map_or(0, |r| r.buyers),
                    cell(pg, &rush),
                    cell(em, &rush)
                );
            }
        }
        let waitlist = |b: &EventsBackend, after: fn(&WaitlistResult) -> &Dist, check: bool| {
            b.waitlist.as_ref().map(|w| {
                let d = after(w);
                let ok = d.max <= 1000.0 && w.lost == 0 && w.errors == 0;
                format!(
                    "{} / {} / {} ms, {} lost of {}{}",
                    n0(d.p50),
                    n0(d.p99),
                    n0(d.max),
                    w.lost,
                    n0(w.expected as f64),
                    if check {
                        format!(" {}", mark(ok))
                    } else {
                        String::new()
                    }
                )
            })
        };
        let _ = writeln!(
            s,
            "| waitlist | one event | `ticketAvailable` heard after the order's `expiresAt`, p50 / p99 / max | every watcher within 1 s | {} | {} | none |",
            cell(pg, &|b| waitlist(b, |w| &w.after_expiry, true)),
            cell(em, &|b| waitlist(b, |w| &w.after_expiry, true)),
        );
        let _ = writeln!(
            s,
            "| waitlist | one event | heard after the `cancelOrder` answer, p50 / p99 / max | | {} | {} | |\n",
            cell(pg, &|b| waitlist(b, |w| &w.after_cancel, false)),
            cell(em, &|b| waitlist(b, |w| &w.after_cancel, false)),
        );

        let _ = writeln!(s, "### Details\n");
        for b in &self.backends {
            let _ = writeln!(s, "#### {}\n", b.backend.label());
            for c in &b.catalogue {
                let _ = writeln!(
                    s,
                    "- **{}** ({} big event{}, the biggest {} tickets; this size's rows written in {:.1} s): \
                     the server's VmRSS after the loads {} MiB.",
                    size_label(c.events, c.tickets),
                    c.big_events,
                    if c.big_events == 1 { "" } else { "s" },
                    n0(c.biggest_event as f64),
                    c.growth.seconds,
                    f1(c.rss_kib as f64 / 1024.0)
                );
                for (name, l) in [
                    ("search", &c.search),
                    ("event", &c.event),
                    ("ticket(id)", &c.ticket),
                    ("tickets page", &c.page),
                ] {
                    let Some(l) = l else { continue };
                    let classes: Vec<String> = l
                        .by_class
                        .iter()
                        .map(|(k, d)| {
                            format!(
                                "{k} ({} requests) p50 {} / p99 {} ms",
                                n0(d.n as f64),
                                f1(d.p50),
                                f1(d.p99)
                            )
                        })
                        .collect();
                    let _ = writeln!(
                        s,
                        "  - `{name}`: {} connections for {} s: {} requests, {} QPS, {} errors; latency p50 {} / \
                         p90 {} / p99 {} / max {} ms{}{}.",
                        l.connections,
                        l.seconds,
                        n0(l.requests as f64),
                        n0(l.qps),
                        l.errors,
                        f1(l.latency.p50),
                        f1(l.latency.p90),
                        f1(l.latency.p99),
                        f1(l.latency.max),
                        if classes.is_empty() {
                            String::new()
                        } else {
                            format!("; by class: {}", classes.join("; "))
                        },
                        l.cache.map_or(String::new(), |c| format!(
                            "; response cache {} hits, {} misses",
                            n0(c.hits),
                            n0(c.misses)
                        ))
                    );
                }
                if let Some(r) = &c.rush {
                    let statements: Vec<String> = r
                        .statements_per_attempt
                        .iter()
                        .map(|(k, v)| format!("{k} {v:.2}"))
                        .collect();
                    let _ = writeln!(
                        s,
                        "  - rush: {} buyers on {} random tickets they may buy: {} reserved, {} conflicts, {} errors in \
                         {} s{}; {} reservations/s, {} attempts/s; createOrder p50 {} / p99 {} ms; oversold {}; \
                         statements per attempt: {}.",
                        r.buyers,
                        n0(r.tickets as f64),
                        n0(r.reservations as f64),
                        n0(r.conflicts as f64),
                        r.errors,
                        f1(r.elapsed_s),
                        if r.timed_out { " (cut off)" } else { "" },
                        n0(r.rate),
                        n0(r.attempts_rate),
                        f1(r.latency_all.p50),
                        f1(r.latency_all.p99),
                        r.oversells,
                        statements.join(", ")
                    );
                }
            }
            if let Some(w) = &b.waitlist {
                let _ = writeln!(
                    s,
                    "- **waitlist**: {} watchers of one event's `ticketAvailable` (of {} wanted), `ORDER_TTL_SECONDS={}`: \
                     {} orders left to expire, {} cancelled; {} of {} pushes heard, {} lost (not within {} s), {} duplicates, \
                     {} errors{}. After `expiresAt`: p50 {} / p90 {} / p99 {} / max {} ms. After the cancel's answer: \
                     p50 {} / p99 {} / max {} ms (after sending it: p50 {} / p99 {} ms).",
                    w.opened,
                    w.watchers,
                    w.ttl_seconds,
                    w.expired,
                    w.cancelled,
                    n0(w.received as f64),
                    n0(w.expected as f64),
                    w.lost,
                    w.grace_s,
                    w.duplicates,
                    w.errors,
                    w.first_error.as_ref().map_or(String::new(), |e| format!(
                        " (first: `{}`)",
                        e.replace('|', "/")
                    )),
                    n0(w.after_expiry.p50),
                    n0(w.after_expiry.p90),
                    n0(w.after_expiry.p99),
                    n0(w.after_expiry.max),
                    n0(w.after_cancel.p50),
                    n0(w.after_cancel.p99),
                    n0(w.after_cancel.max),
                    n0(w.after_cancel_sent.p50),
                    n0(w.after_cancel_sent.p99),
                );
            }
            if !b.setup.is_empty() {
                let list: Vec<String> = b
                    .setup
                    .iter()
                    .map(|(k, v)| format!("{k}: {v:.1} s"))
                    .collect();
                let _ = writeln!(
                    s,
                    "- set-up (not timed in any figure): {}.",
                    list.join("; ")
                );
            }
            for n in &b.notes {
                let _ = writeln!(s, "- note: {n}");
            }
            let _ = writeln!(s);
        }
        if let Some(p) = sel {
            let _ = writeln!(
                s,
                "Limit: pgbench {}, scale {}, {} clients, {} threads, {} s: **{} tps**, average latency {} ms (the same run).\n",
                p.mode,
                p.scale,
                p.clients,
                p.threads,
                p.seconds,
                n0(p.tps),
                f1(p.latency_avg_ms)
            );
        }

        for b in &self.backends {
            if b.catalogue.iter().all(|c| c.plans.is_empty()) {
                continue;
            }
            let pg = b.backend == Backend::Pg;
            let _ = writeln!(s, "### Query plans, {}\n", b.backend.label());
            if pg {
                let _ = writeln!(
                    s,
                    "Each statement as the server sends it, `PREPARE`d and explained with `EXPLAIN (ANALYZE, \
                     BUFFERS) EXECUTE`. A server connection keeps its prepared statements, and PostgreSQL may give \
                     one a generic plan, planned without the values, after five runs: the event page's two \
                     statements were run ten times first and show the plan a warmed-up connection runs \
                     (\"generic\"); every search of the mix (but the first five rare words) is shown on its custom \
                     plan, with its time on the generic plan beside it, and which of the two the server's \
                     connections get follows the table.\n"
                );
            } else {
                let _ = writeln!(
                    s,
                    "`EXPLAIN QUERY PLAN` of each statement as the server sends it, the values bound (no \
                     `ANALYZE` has run: the server never runs one).\n"
                );
            }
            for c in &b.catalogue {
                if c.plans.is_empty() {
                    continue;
                }
                let _ = writeln!(s, "**{}**\n", size_label(c.events, c.tickets));
                let matches = |p: &Plan| p.matches.map_or("".into(), |n| n0(n as f64));
                if pg {
                    let _ = writeln!(
                        s,
                        "| query | upcoming events it matches | plan (rows each node produced) | seq scan | rows sorted | time | time on the generic plan | buffers |\n| --- | --- | --- | --- | --- | --- | --- | --- |"
                    );
                } else {
                    let _ = writeln!(
                        s,
                        "| query | upcoming events it matches | plan | full scan | sorted after the search | time (median of 5) |\n| --- | --- | --- | --- | --- | --- |"
                    );
                }
                for p in &c.plans {
                    let nodes = format!(
                        "{}{}",
                        if p.generic { "generic: " } else { "" },
                        p.nodes.replace('|', "/")
                    );
                    let time = p.execution_ms.map_or("–".into(), |t| format!("{t:.3} ms"));
                    if pg {
                        let _ = writeln!(
                            s,
                            "| {} | {} | {} | {} | {} | {time} | {} | {} |",
                            p.query,
                            matches(p),
                            nodes,
                            if p.seq_scan { "yes ❌" } else { "no" },
                            p.sorted_rows.map_or("none".into(), |n| n0(n as f64)),
                            p.generic_ms.map_or(String::new(), |t| format!("{t:.3} ms")),
                            p.buffers
                        );
                    } else {
                        let _ = writeln!(
                            s,
                            "| {} | {} | {} | {} | {} | {time} |",
                            p.query,
                            matches(p),
                            nodes,
                            if p.seq_scan { "yes ❌" } else { "no" },
                            if p.sort { "every match" } else { "no" }
                        );
                    }
                }
                if let Some(c) = &c.search_plan {
                    let _ = writeln!(
                        s,
                        "\nSearches are on their custom plans above (`plan_cache_mode = force_custom_plan`). The \
                         statement's generic plan, the same for every value: {} (estimated cost {:.0}); \
                         PostgreSQL's rule would put {:.0} % of the server's connections on it (1,000 simulated \
                         connections, each running 30 searches drawn from the mix). PostgreSQL's execution time per \
                         search, weighted by the mix: **{:.3} ms** on custom plans, **{:.3} ms** on the generic plan.",
                        c.generic_nodes,
                        c.generic_cost,
                        100.0 * c.generic_share,
                        c.custom_ms,
                        c.generic_ms
                    );
                }
                let _ = writeln!(
                    s,
                    "\n<details><summary>the statements, and the full plans of each class's slowest search and of the event page</summary>\n"
                );
                let mut last_sql = "";
                for p in c.plans.iter().filter(|p| p.detail) {
                    if p.sql != last_sql {
                        let _ = writeln!(s, "```sql\n{}\n```\n", p.sql);
                        last_sql = &p.sql;
                    }
                    let _ = writeln!(s, "{}:\n\n```\n{}\n```\n", p.query, p.plan.join("\n"));
                }
                let _ = writeln!(s, "</details>\n");
            }
        }
        if !plots.is_empty() {
            let _ = writeln!(s, "### Plots\n");
            for (title, file) in plots {
                let _ = writeln!(s, "#### {title}\n\n![{title}]({file})\n");
            }
        }
        if !self.errors.is_empty() {
            let _ = writeln!(s, "### Errors during the run\n");
            for e in &self.errors {
                let _ = writeln!(s, "- {}", e.replace('\n', " "));
            }
            let _ = writeln!(s);
        }
        let _ = writeln!(s, "{EVENTS_END}\n");
        s
    }
}

pub const QUEUE_BEGIN: &str = "<!-- queue scenario: begin -->";
pub const QUEUE_END: &str = "<!-- queue scenario: end -->";

/// The on-sale queue's runs (PostgreSQL + Redis with one and two replicas, SQLite smaller), with
/// their own provenance so the section can be merged into another run's report.
#[derive(Clone, Debug, Default, Serialize)]
pub struct QueueResults {
    pub command: String,
    pub date: String,
    pub git_commit: String,
    pub load_at_start: String,
    pub load_at_end: String,
    pub quick: bool,
    pub duration_s: f64,
    /// The open-files limit of each process (the server's and the load generator's).
    pub open_files_limit: u64,
    pub runs: Vec<QueueResult>,
    pub errors: Vec<String>,
}

fn run_label(r: &QueueResult) -> String {
    format!(
        "{}, {} replica{}",
        r.backend,
        r.replicas,
        if r.replicas == 1 { "" } else { "s" }
    )
}

impl QueueResults {
    pub fn markdown(&self, plots: &[(String, String)]) -> String {
        let mut s = String::new();
        let _ = writeln!(s, "{QUEUE_BEGIN}");
        let _ = writeln!(s, "## The on-sale queue\n");
        let _ = writeln!(
            s,
            "Generated by `{}` on {} ({:.0} s; commit {}; load average {} at the start, {} at the \
             end{}).\n",
            self.command,
            self.date,
            self.duration_s,
            self.git_commit,
            self.load_at_start,
            self.load_at_end,
            if self.quick { "; **quick sizes**" } else { "" }
        );
        let _ = writeln!(
            s,
            "Buyers (accounts and sessions seeded into the database, tokens signed with the \
             deployment's `JWT_SECRET`) join an event's queue before its `onSaleAt` and watch \
             `queueUpdated`, one WebSocket each, as a socket's subscriptions are its account's; the \
             open-files limit here is {} per process, so the buyers past {} sockets poll \
             `queuePlace` instead (at half their `etaSeconds`, 0.5 to 5 s). From `onSaleAt` each \
             buyer seen `ADMITTED` orders a random ticket it believes available (another on \
             `CONFLICT`, up to 5 tries) and pays it with `tok_visa`. The admission step's own time is \
             `admittedUntil − QUEUE_ADMISSION_SECONDS` (the server's clock, the same machine's): the \
             rate is counted by the second of that time since `onSaleAt`, and a push's lag is its \
             arrival minus that time. Meanwhile buyers still waiting at least 3 s of admissions \
             from the front (at their last push), or expired, try `createOrder` every 200 ms.\n",
            self.open_files_limit,
            self.runs
                .first()
                .map_or(0, |r| r.sockets + r.socket_failures)
        );
        let _ = writeln!(
            s,
            "| run | buyers / tickets | rate set | admitted/s mean (max) | ADMITTED push lag p50 / p99 | RSS per waiting buyer | Redis per buyer | orders without an admission | sold out after |"
        );
        let _ = writeln!(s, "| --- | --- | --- | --- | --- | --- | --- | --- | --- |");
        for r in &self.runs {
            let _ = writeln!(
                s,
                "| {} | {} / {} | {}/s | {:.1} ({}) | {:.0} / {:.0} ms | {:.1} KiB | {} | {} of {} | {} |",
                run_label(r),
                n0(r.buyers as f64),
                n0(r.tickets as f64),
                r.rate,
                r.rate_mean,
                r.rate_max,
                r.push_lag.p50,
                r.push_lag.p99,
                r.kib_per_buyer,
                r.redis_bytes_per_buyer
                    .map_or("–".into(), |b| format!("{b:.0} B")),
                r.unadmitted_successes,
                r.unadmitted_attempts,
                r.sold_out_s
                    .map_or("not sold out".into(), |v| format!("{v:.1} s")),
            );
        }
        let _ = writeln!(s);
        for r in &self.runs {
            let _ = writeln!(s, "### {}\n", run_label(r));
            let setup: Vec<String> = r
                .setup
                .iter()
                .map(|(what, secs)| format!("{what} {secs:.1} s"))
                .collect();
            let _ = writeln!(
                s,
                "- set-up: {}; `onSaleAt` {:.0} s after the event was created. Joined {} ({} after \
                 `onSaleAt`, {} errors); {} WebSockets subscribed ({} failed{}), {} pollers.",
                setup.join(", "),
                r.lead_s,
                n0(r.joined as f64),
                r.joined_late,
                r.join_errors,
                n0(r.sockets as f64),
                r.socket_failures,
                r.first_socket_error
                    .as_ref()
                    .map_or(String::new(), |e| format!(": {e}")),
                n0(r.pollers as f64),
            );
            let _ = writeln!(
                s,
                "- memory: server VmRSS{} {} KiB before the joins, {} KiB with everyone joined and \
                 watching: {:.1} KiB per waiting buyer (socket, subscription and place){}.",
                if r.replicas > 1 {
                    " (the replicas summed)"
                } else {
                    ""
                },
                n0(r.rss_before_kib as f64),
                n0(r.rss_after_kib as f64),
                r.kib_per_buyer,
                match (
                    r.redis_before_bytes,
                    r.redis_after_bytes,
                    r.redis_bytes_per_buyer
                ) {
                    (Some(b), Some(a), Some(per)) => format!(
                        "; Redis `used_memory` {} → {} bytes, {per:.0} bytes per place",
                        n0(b as f64),
                        n0(a as f64)
                    ),
                    _ => String::new(),
                }
            );
            let _ = writeln!(
                s,
                "- admission: {} buyers seen `ADMITTED`; by second since `onSaleAt`: {}; mean {:.1}/s \
                 over the full seconds (the last left out), busiest {}, {} empty seconds; set {}/s.",
                n0(r.admitted as f64),
                r.admissions_per_second
                    .iter()
                    .map(ToString::to_string)
                    .collect::<Vec<_>>()
                    .join(", "),
                r.rate_mean,
                r.rate_max,
                r.empty_seconds,
                r.rate
            );
            let d = |d: &Dist| {
                format!(
                    "p50 {:.1} / p90 {:.1} / p99 {:.1} / max {:.1} ms (n {})",
                    d.p50, d.p90, d.p99, d.max, d.n
                )
            };
            let _ = writeln!(
                s,
                "- `queueUpdated` ADMITTED push − the step's time: {}; the pollers' first ADMITTED \
                 answer − the step's time: {}; the draw (first push with a position − `onSaleAt`): \
                 {}; {} pushes and {} polls in all.",
                d(&r.push_lag),
                d(&r.poll_lag),
                d(&r.draw_lag),
                n0(r.pushes as f64),
                n0(r.polls as f64)
            );
            let _ = writeln!(
                s,
                "- the sale: {} orders, {} paid, {} `CONFLICT`s on the way, {} admitted buyers \
                 found nothing left, {} errors{}; sold out {} after `onSaleAt`; the database has {} \
                 tickets SOLD and {} with more than one live order. Waiting buyers heard EXPIRED \
                 (sold out) after the last payment: {}; {} were left waiting.",
                n0(r.orders as f64),
                n0(r.paid as f64),
                n0(r.conflicts as f64),
                n0(r.gave_up as f64),
                r.order_errors,
                r.first_order_error
                    .as_ref()
                    .map_or(String::new(), |e| format!(" (first: {e})")),
                r.sold_out_s.map_or("never".into(), |v| format!("{v:.1} s")),
                n0(r.db_sold as f64),
                r.db_tickets_with_several_orders,
                d(&r.expired_after_sell_out),
                r.left_waiting
            );
            let _ = writeln!(
                s,
                "- orders without an admission: before `onSaleAt` {} of {} tries `CONFLICT`; during \
                 the sale {} tries by buyers not admitted, {} `FORBIDDEN`, {} refused otherwise{}, \
                 {} by buyers admitted in the meantime, **{} succeeded**.",
                r.before_sale_conflicts,
                r.before_sale_attempts,
                r.unadmitted_attempts,
                r.unadmitted_forbidden,
                r.unadmitted_other_refusals,
                if r.unadmitted_other_codes.is_empty() {
                    String::new()
                } else {
                    format!(
                        " ({})",
                        r.unadmitted_other_codes
                            .iter()
                            .map(|(c, n)| format!("{n} `{c}`"))
                            .collect::<Vec<_>>()
                            .join(", ")
                    )
                },
                r.unadmitted_admitted_meanwhile,
                r.unadmitted_successes
            );
            for note in &r.notes {
                let _ = writeln!(s, "- note: {note}");
            }
            let _ = writeln!(s);
        }
        if !plots.is_empty() {
            let _ = writeln!(s, "### Plots\n");
            for (title, file) in plots {
                let _ = writeln!(s, "#### {title}\n\n![{title}]({file})\n");
            }
        }
        if !self.errors.is_empty() {
            let _ = writeln!(s, "### Errors during the run\n");
            for e in &self.errors {
                let _ = writeln!(s, "- {e}");
            }
            let _ = writeln!(s);
        }
        let _ = writeln!(s, "{QUEUE_END}\n");
        s
    }
}

/// The queue's plots: admissions per second, and the ADMITTED pushes' lag.
pub fn write_queue_plots(
    out: &Path,
    samples: &Samples,
    queue: &QueueResults,
) -> Vec<(String, String)> {
    let mut written = Vec::new();
    let series: Vec<(String, Vec<(f64, f64)>)> = queue
        .runs
        .iter()
        .map(|r| {
            (
                format!("{} (set {}/s)", run_label(r), r.rate),
                r.admissions_per_second
                    .iter()
                    .enumerate()
                    .map(|(i, c)| (i as f64, *c as f64))
                    .collect(),
            )
        })
        .collect();
    let file = "queue-admissions.svg".to_owned();
    match crate::plot::lines(
        &out.join(&file),
        "queue: admissions per second since onSaleAt",
        "second since onSaleAt",
        "buyers admitted",
        &series,
    ) {
        Ok(()) => written.push(("Admissions per second".to_owned(), file)),
        Err(e) => eprintln!("bench: plot queue admissions: {e:#}"),
    }
    if let Some(series) = samples.get("queue") {
        let file = "queue-cdf.svg".to_owned();
        let title = "queue: ADMITTED push arrival − the admission step";
        match crate::plot::cdf(&out.join(&file), title, "ms", series, false) {
            Ok(()) => written.push((title.to_owned(), file)),
            Err(e) => eprintln!("bench: plot queue lag: {e:#}"),
        }
    }
    written
}

/// The events scenarios' plots: QPS against the catalogue's size, and the latency CDFs.
pub fn write_event_plots(
    out: &Path,
    samples: &Samples,
    events: &EventsResults,
) -> Vec<(String, String)> {
    let mut written = Vec::new();
    let mut series = Vec::new();
    for b in &events.backends {
        for (name, get) in [
            (
                "search",
                (|c: &CatalogueRun| c.search.as_ref().map(|l| l.qps))
                    as fn(&CatalogueRun) -> Option<f64>,
            ),
            ("event", |c: &CatalogueRun| c.event.as_ref().map(|l| l.qps)),
            ("ticket(id)", |c: &CatalogueRun| {
                c.ticket.as_ref().map(|l| l.qps)
            }),
            ("tickets page", |c: &CatalogueRun| {
                c.page.as_ref().map(|l| l.qps)
            }),
            ("rush, reservations/s", |c: &CatalogueRun| {
                c.rush.as_ref().map(|r| r.rate)
            }),
        ] {
            let points: Vec<(f64, f64)> = b
                .catalogue
                .iter()
                .filter_map(|c| get(c).map(|q| (c.tickets as f64, q)))
                .collect();
            if !points.is_empty() {
                series.push((format!("{}: {name}", b.backend.label()), points));
            }
        }
    }
    if series.iter().any(|(_, p)| !p.is_empty()) {
        let file = "events-qps.svg".to_owned();
        match crate::plot::lines_on(
            &out.join(&file),
            "browse reads (QPS at 64 connections) and the rush by catalogue size",
            "tickets in the catalogue (log scale; events: a tenth as many)",
            "per second",
            &series,
            true,
        ) {
            Ok(()) => written.push(("QPS against the catalogue's size".to_owned(), file)),
            Err(e) => eprintln!("bench: plot events QPS: {e:#}"),
        }
    }
    let spec: &[(&str, &str, bool)] = &[
        ("search", "search: events(search, first: 20) latency", true),
        (
            "event",
            "event page: event(id) with its 20 cheapest tickets, latency",
            true,
        ),
        ("ticket", "ticket(id) of a random ticket, latency", true),
        (
            "page",
            "tickets(first: 20, after:) a random cursor, latency",
            true,
        ),
        (
            "scale-rush",
            "rush on random tickets of the catalogue: createOrder latency",
            true,
        ),
        (
            "waitlist",
            "waitlist: ticketAvailable heard − expiresAt or the cancel's answer",
            false,
        ),
    ];
    for (key, title, log) in spec {
        let Some(series) = samples.get(*key) else {
            continue;
        };
        let file = format!("{key}-cdf.svg");
        let x = if *log {
            "latency, ms (log scale)"
        } else {
            "ms"
        };
        match crate::plot::cdf(&out.join(&file), title, x, series, *log) {
            Ok(()) => written.push(((*title).to_owned(), file)),
            Err(e) => eprintln!("bench: plot {key}: {e:#}"),
        }
    }
    written
}

/// Puts this run's events section into `dir`'s `results.md` (in place of the one between the
/// markers, or before the profiles when there is none) and its figures into `dir`'s
/// `results.json` (`events`), and copies its plots there; the other scenarios' figures in `dir`
/// stay as they are.
pub fn merge_events(
    dir: &Path,
    out: &Path,
    events: &EventsResults,
    section: &str,
    plots: &[(String, String)],
) -> anyhow::Result<()> {
    merge_section(
        dir,
        out,
        (EVENTS_BEGIN, EVENTS_END),
        "events",
        &serde_json::to_value(events)?,
        section,
        plots,
    )
}

/// Like [`merge_events`], for the queue's section (`queue` in `results.json`).
pub fn merge_queue(
    dir: &Path,
    out: &Path,
    queue: &QueueResults,
    section: &str,
    plots: &[(String, String)],
) -> anyhow::Result<()> {
    merge_section(
        dir,
        out,
        (QUEUE_BEGIN, QUEUE_END),
        "queue",
        &serde_json::to_value(queue)?,
        section,
        plots,
    )
}

fn merge_section(
    dir: &Path,
    out: &Path,
    markers: (&str, &str),
    key: &str,
    value: &serde_json::Value,
    section: &str,
    plots: &[(String, String)],
) -> anyhow::Result<()> {
    let md_path = dir.join("results.md");
    let md = std::fs::read_to_string(&md_path).unwrap_or_default();
    let merged = splice_md(&md, section, markers);
    std::fs::write(&md_path, merged)?;
    let json_path = dir.join("results.json");
    let json = std::fs::read_to_string(&json_path).unwrap_or_default();
    std::fs::write(&json_path, splice_json(&json, key, value)?)?;
    for (_, file) in plots {
        let (from, to) = (out.join(file), dir.join(file));
        if from != to {
            std::fs::copy(&from, &to)?;
        }
    }
    Ok(())
}

/// `md` with `section` in place of the one between `markers`, or before its profiles (or plots,
/// or errors) when it has none.
fn splice_md(md: &str, section: &str, (begin, end_marker): (&str, &str)) -> String {
    match (md.find(begin), md.find(end_marker)) {
        (Some(a), Some(b)) if b > a => {
            let end = b + end_marker.len();
            let rest = md[end..].trim_start_matches('\n');
            format!("{}{section}{rest}", &md[..a])
        }
        _ => match ["## Profiles", "## Plots", "## Errors during the run"]
            .iter()
            .find_map(|h| md.find(&format!("\n{h}")))
        {
            Some(at) => format!("{}\n{section}{}", &md[..at], &md[at + 1..]),
            None => format!("{md}\n{section}"),
        },
    }
}

/// `json` (a pretty-printed `Results`) with its top-level `key` set to `value`, the rest of the
/// text as it was: the key replaced where it is, or put before `errors` (where a run writes it).
/// Anything else is rewritten whole.
fn splice_json(json: &str, key: &str, value: &serde_json::Value) -> anyhow::Result<String> {
    let text = serde_json::to_string_pretty(value)?.replace('\n', "\n  ");
    let line = format!("\n  \"{key}\": {text}");
    let top_key = |from: usize| {
        json[from..]
            .match_indices("\n  \"")
            .map(|(i, _)| from + i)
            .next()
    };
    if let Some(at) = json.find(&format!("\n  \"{key}\": ")) {
        // Up to the next top-level key, or the closing brace; keep its comma.
        let end =
            top_key(at + 1).map_or_else(|| json.rfind("\n}").unwrap_or(json.len()), |e| e - 1);
        return Ok(format!("{}{line}{}", &json[..at], &json[end..]));
    }
    if let Some(at) = json.find("\n  \"errors\": ") {
        return Ok(format!("{}{line},{}", &json[..at], &json[at..]));
    }
    let mut v: serde_json::Value =
        serde_json::from_str(json).unwrap_or_else(|_| serde_json::json!({}));
    v[key] = value.clone();
    Ok(serde_json::to_string_pretty(&v)?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_events_section_is_put_in_and_replaced() {
        let section = |x: &str| format!("{EVENTS_BEGIN}\n## Events\n\n{x}\n{EVENTS_END}\n\n");
        let md =
            "# Results\n\n## Details\n\nthings\n\n## Profiles (PostgreSQL + Redis)\n\nframes\n";
        let once = splice_md(md, &section("first"), (EVENTS_BEGIN, EVENTS_END));
        assert_eq!(
            once,
            format!(
                "# Results\n\n## Details\n\nthings\n\n{}## Profiles (PostgreSQL + Redis)\n\nframes\n",
                section("first")
            )
        );
        let twice = splice_md(&once, &section("second"), (EVENTS_BEGIN, EVENTS_END));
        assert_eq!(twice, once.replace("first", "second"));
    }

    #[test]
    fn the_events_figures_are_spliced_into_the_json_text() {
        let events = EventsResults {
            command: "x".into(),
            ..Default::default()
        };
        let json = "{\n  \"command\": \"all\",\n  \"profiles\": [],\n  \"errors\": []\n}";
        let once = splice_json(json, "events", &serde_json::to_value(&events).unwrap()).unwrap();
        let v: serde_json::Value = serde_json::from_str(&once).unwrap();
        assert_eq!(v["events"]["command"], "x");
        assert_eq!(v["command"], "all");
        assert!(
            once.starts_with("{\n  \"command\": \"all\",\n  \"profiles\": [],\n  \"events\": {")
        );
        let again = EventsResults {
            command: "y".into(),
            ..Default::default()
        };
        let twice = splice_json(&once, "events", &serde_json::to_value(&again).unwrap()).unwrap();
        let v: serde_json::Value = serde_json::from_str(&twice).unwrap();
        assert_eq!(v["events"]["command"], "y");
        assert_eq!(
            twice,
            once.replace("\"command\": \"x\"", "\"command\": \"y\"")
        );
    }
}
