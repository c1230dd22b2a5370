//! The benchmark suite (issue #7): a load generator that starts the release `api` server as a
//! separate process on a fresh database, drives it over HTTP (keep-alive pools) and WebSocket
//! (`graphql-transport-ws`), runs the physical limits (pgbench) beside it, profiles the hot paths
//! with perf, and writes `results.md`, `results.json` and SVG plots.
//!
//! `bench soak` instead runs one server under minutes of mixed load and fails if anything breaks
//! or grows (`scripts/soak`). The clients and the server launcher are testkit's (`api/testkit`).
//!
//! `scripts/bench` builds and runs it; `bench --help` lists the options.

mod browse;
mod catalogue;
mod cpu;
mod expiry;
mod fanout;
mod fresh;
mod hot;
mod hotpage;
mod limits;
mod plans;
mod plot;
mod profile;
mod queue;
mod report;
mod rush;
mod scale;
mod server;
mod setup;
mod soak;
mod stats;
mod waitlist;

use std::{
    collections::BTreeSet,
    path::{Path, PathBuf},
    time::{Duration, Instant},
};

use anyhow::{Context as _, anyhow, bail};
use report::{
    BackendResults, CatalogueRun, EventsBackend, EventsResults, IdleResult, Machine, ProfileResult,
    Results, Samples,
};
use server::{Backend, Env, Settings};
use testkit::{Client, Services};

const SCENARIOS: [&str; 12] = [
    "idle", "rush", "hot", "browse", "fanout", "expiry", "search", "event", "scale", "waitlist",
    "queue", "limits",
];
/// The events scenarios, whose section of the report `--merge-into` puts into another's.
const EVENT_SCENARIOS: [&str; 4] = ["search", "event", "scale", "waitlist"];
/// The scenarios run on the seeded catalogue, at each of its sizes.
const CATALOGUE_SCENARIOS: [&str; 3] = ["search", "event", "scale"];

const HELP: &str = "bench: the ticket server's benchmark suite

usage: bench [options]             the scenarios; results.md, results.json, plots in --out
       bench soak [options]        a soak: mixed load on one server, samples every 10 s;
                                   exits 1 on a failure or on growing memory or descriptors

  --quick              small sizes, for a smoke run (a minute or two)
  --only LIST          comma-separated scenarios: idle,rush,hot,browse,fanout,expiry,
                       search,event,scale,waitlist,queue,limits (default: all); scale is
                       ticket(id), a page of tickets and a rush at each catalogue size
  --expiry-orders N    orders expiring in the expiry scenario (default: 10000, --quick 1000)
  --events LIST        catalogue sizes of search, event and scale, in events, smallest first,
                       each seeded on top of the last (default: 1000,10000,100000; --quick
                       1000,10000)
  --event-tickets LIST tickets at each of those sizes (default: ten per event)
  --embedded-events N  the largest of those sizes SQLite is measured at (default: all of them)
  --watchers N         waitlist watchers of the event (default: 50, --quick 20)
  --queue-buyers N     buyers in the on-sale queue (default: 20000, --quick 2000; SQLite
                       gets a quarter)
  --queue-tickets N    the queued event's tickets (default: 5000, --quick 500; SQLite a quarter)
  --queue-rate N       QUEUE_ADMIT_PER_SECOND (default: 200, --quick 100; SQLite half)
  --queue-replicas L   replica counts on PostgreSQL + Redis (default: 1,2)
  --merge-into DIR     also put the events scenarios' (and the queue's) section, figures and plots into DIR's
                       results.md and results.json, leaving the other scenarios' there as
                       they are (e.g. docs/bench after an --only search,event,waitlist run)
  --seconds N          how long `bench soak` runs (default: 600, --quick 60)
  --backends LIST      pg,embedded (default: both; fan-out and expiry run on pg only unless
                       --embedded-all; `bench soak` runs on pg unless told)
  --embedded-all       run fan-out and expiry on the embedded backend too
  --no-profile         skip the perf profiles of rush and browse
  --server PATH        the api binary (default: $CARGO_TARGET_DIR/release/api)
  --out DIR            where results.md, results.json and the SVGs go (default: docs/bench)
  --pg URL             PostgreSQL server URL without a database
                       (default: postgres://postgres@127.0.0.1:5432)
  --pg-sslmode MODE    sslmode of every PostgreSQL connection, the server's and pgbench's
                       (default: disable: loopback needs no TLS, which cost a third of the
                       server's CPU in the rush's profile; `prefer` measures it)
  --redis URL          (default: redis://127.0.0.1:6379)
  --server-env K=V     one more environment variable for every server started (repeatable;
                       for experiments, e.g. MIMALLOC_ALLOW_THP=0)
";

struct Opts {
    /// `bench soak` rather than the scenarios.
    soak: bool,
    /// `--seconds`: the soak's duration.
    seconds: Option<u64>,
    /// `--expiry-orders`: the expiry scenario's size.
    expiry_orders: Option<usize>,
    /// `--events`, `--event-tickets`: the catalogue sizes.
    events: Option<Vec<usize>>,
    event_tickets: Option<Vec<usize>>,
    /// `--embedded-events`: the largest catalogue SQLite is measured at.
    embedded_events: Option<usize>,
    /// `--watchers`: the waitlist's watchers.
    watchers: Option<usize>,
    /// `--queue-buyers`, `--queue-tickets`, `--queue-rate`, `--queue-replicas`.
    queue_buyers: Option<usize>,
    queue_tickets: Option<usize>,
    queue_rate: Option<u64>,
    queue_replicas: Option<Vec<usize>>,
    /// `--merge-into`: where the events section goes too.
    merge_into: Option<PathBuf>,
    quick: bool,
    only: BTreeSet<String>,
    backends: Vec<Backend>,
    embedded_all: bool,
    profile: bool,
    server: PathBuf,
    out: PathBuf,
    pg: String,
    pg_sslmode: String,
    redis: String,
    server_env: Vec<(String, String)>,
    command: String,
}

/// How big each scenario is.
#[derive(Clone, Debug)]
struct Sizes {
    rush_tickets: usize,
    /// The scale scenario's rush at each catalogue size.
    scale_rush_tickets: usize,
    rush_buyers: usize,
    rush_cap: Duration,
    hot_buyers: usize,
    hot_bursts: usize,
    browse_conns: usize,
    browse_warmup: Duration,
    browse_secs: Duration,
    /// Changes read on another replica in the freshness measurement.
    fresh_changes: usize,
    fanout_subs: usize,
    fanout_updates: usize,
    fanout_wait: Duration,
    expiry_orders: usize,
    expiry_buyers: usize,
    expiry_grace: Duration,
    /// Catalogue sizes (events, tickets), smallest first.
    catalogue: Vec<(usize, usize)>,
    waitlist_watchers: usize,
    waitlist_expire: usize,
    waitlist_cancel: usize,
    waitlist_ttl: u64,
    waitlist_grace: Duration,
    queue_buyers: usize,
    queue_tickets: usize,
    queue_rate: u64,
    queue_replicas: Vec<usize>,
    pgbench_secs: u64,
    pgbench_scale: u32,
    pgbench_tpcb_clients: usize,
    profile_rush_tickets: usize,
    profile_browse: Duration,
}

impl Sizes {
    fn new(quick: bool) -> Self {
        if quick {
            Self {
                rush_tickets: 1000,
                scale_rush_tickets: 1000,
                rush_buyers: 64,
                rush_cap: Duration::from_secs(60),
                hot_buyers: 200,
                hot_bursts: 2,
                browse_conns: 64,
                browse_warmup: Duration::from_millis(500),
                browse_secs: Duration::from_secs(3),
                fresh_changes: 50,
                fanout_subs: 1000,
                fanout_updates: 2,
                fanout_wait: Duration::from_secs(10),
                expiry_orders: 1000,
                expiry_buyers: 4,
                expiry_grace: Duration::from_secs(15),
                catalogue: vec![(1000, 10_000), (10_000, 100_000)],
                waitlist_watchers: 20,
                waitlist_expire: 10,
                waitlist_cancel: 10,
                waitlist_ttl: 6,
                waitlist_grace: Duration::from_secs(10),
                queue_buyers: 2000,
                queue_tickets: 500,
                queue_rate: 100,
                queue_replicas: vec![1, 2],
                pgbench_secs: 5,
                pgbench_scale: 2,
                pgbench_tpcb_clients: 256,
                profile_rush_tickets: 500,
                profile_browse: Duration::from_secs(3),
            }
        } else {
            Self {
                rush_tickets: 10_000,
                scale_rush_tickets: 5_000,
                rush_buyers: 256,
                rush_cap: Duration::from_secs(120),
                hot_buyers: 1000,
                hot_bursts: 5,
                browse_conns: 64,
                browse_warmup: Duration::from_secs(1),
                browse_secs: Duration::from_secs(10),
                fresh_changes: 300,
                fanout_subs: 10_000,
                fanout_updates: 5,
                fanout_wait: Duration::from_secs(30),
                expiry_orders: 10_000,
                expiry_buyers: 20,
                expiry_grace: Duration::from_secs(30),
                catalogue: vec![(1_000, 10_000), (10_000, 100_000), (100_000, 1_000_000)],
                waitlist_watchers: 50,
                waitlist_expire: 20,
                waitlist_cancel: 20,
                waitlist_ttl: 10,
                waitlist_grace: Duration::from_secs(10),
                queue_buyers: 20_000,
                queue_tickets: 5000,
                queue_rate: 200,
                queue_replicas: vec![1, 2],
                pgbench_secs: 20,
                pgbench_scale: 10,
                pgbench_tpcb_clients: 256,
                profile_rush_tickets: 3000,
                profile_browse: Duration::from_secs(8),
            }
        }
    }
}

fn parse_args() -> anyhow::Result<Opts> {
    let target = std::env::var("CARGO_TARGET_DIR").unwrap_or_else(|_| "target".into());
    let mut o = Opts {
        soak: false,
        seconds: None,
        expiry_orders: None,
        events: None,
        event_tickets: None,
        embedded_events: None,
        watchers: None,
        queue_buyers: None,
        queue_tickets: None,
        queue_rate: None,
        queue_replicas: None,
        merge_into: None,
        quick: false,
        only: SCENARIOS.iter().map(|s| (*s).to_owned()).collect(),
        backends: vec![Backend::Pg, Backend::Embedded],
        embedded_all: false,
        profile: true,
        server: PathBuf::from(target).join("release/api"),
        out: PathBuf::from("docs/bench"),
        pg: "postgres://postgres@127.0.0.1:5432".into(),
        pg_sslmode: "disable".into(),
        redis: "redis://127.0.0.1:6379".into(),
        server_env: Vec::new(),
        command: std::env::var("BENCH_COMMAND").unwrap_or_else(|_| {
            std::iter::once("bench".to_owned())
                .chain(std::env::args().skip(1))
                .collect::<Vec<_>>()
                .join(" ")
        }),
    };
    let mut args = std::env::args().skip(1);
    let mut backends_given = false;
    while let Some(a) = args.next() {
        let mut val = || args.next().ok_or_else(|| anyhow!("{a} needs a value"));
        match a.as_str() {
            "soak" => o.soak = true,
            "--quick" => o.quick = true,
            "--seconds" => o.seconds = Some(val()?.parse().context("--seconds")?),
            "--expiry-orders" => {
                o.expiry_orders = Some(val()?.parse().context("--expiry-orders")?);
            }
            "--events" => o.events = Some(list(&val()?).context("--events")?),
            "--event-tickets" => {
                o.event_tickets = Some(list(&val()?).context("--event-tickets")?);
            }
            "--embedded-events" => {
                o.embedded_events = Some(val()?.parse().context("--embedded-events")?);
            }
            "--watchers" => o.watchers = Some(val()?.parse().context("--watchers")?),
            "--queue-buyers" => {
                o.queue_buyers = Some(val()?.replace('_', "").parse().context("--queue-buyers")?);
            }
            "--queue-tickets" => {
                o.queue_tickets = Some(val()?.replace('_', "").parse().context("--queue-tickets")?);
            }
            "--queue-rate" => o.queue_rate = Some(val()?.parse().context("--queue-rate")?),
            "--queue-replicas" => {
                o.queue_replicas = Some(list(&val()?).context("--queue-replicas")?);
            }
            "--merge-into" => o.merge_into = Some(val()?.into()),
            "--only" => {
                o.only = val()?
                    .split(',')
                    .map(|s| s.trim().to_owned())
                    .filter(|s| !s.is_empty())
                    .collect();
                if let Some(bad) = o.only.iter().find(|s| !SCENARIOS.contains(&s.as_str())) {
                    bail!("unknown scenario {bad}; known: {}", SCENARIOS.join(","));
                }
            }
            "--backends" => {
                backends_given = true;
                o.backends = val()?
                    .split(',')
                    .map(|b| match b.trim() {
                        "pg" | "postgres" => Ok(Backend::Pg),
                        "embedded" | "sqlite" => Ok(Backend::Embedded),
                        other => Err(anyhow!("unknown backend {other}")),
                    })
                    .collect::<anyhow::Result<_>>()?;
            }
            "--embedded-all" => o.embedded_all = true,
            "--no-profile" => o.profile = false,
            "--server" => o.server = val()?.into(),
            "--out" => o.out = val()?.into(),
            "--pg" => o.pg = val()?,
            "--pg-sslmode" => o.pg_sslmode = val()?,
            "--redis" => o.redis = val()?,
            "--server-env" => {
                let kv = val()?;
                let (k, v) = kv
                    .split_once('=')
                    .ok_or_else(|| anyhow!("--server-env takes K=V, not {kv}"))?;
                o.server_env.push((k.to_owned(), v.to_owned()));
            }
            "-h" | "--help" => {
                print!("{HELP}");
                std::process::exit(0);
            }
            other => bail!("unknown option {other}\n\n{HELP}"),
        }
    }
    if o.soak && !backends_given {
        o.backends = vec![Backend::Pg];
    }
    Ok(o)
}

/// `10000,100000` → the numbers, `_` allowed as a separator of thousands.
fn list(v: &str) -> anyhow::Result<Vec<usize>> {
    v.split(',')
        .map(|n| Ok(n.trim().replace('_', "").parse()?))
        .collect()
}

fn log(msg: impl AsRef<str>) {
    eprintln!(
        "[{}] {}",
        chrono::Local::now().format("%H:%M:%S"),
        msg.as_ref()
    );
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let opts = parse_args()?;
    let began = Instant::now();
    if !opts.server.exists() {
        bail!(
            "no server binary at {} (cargo build --release -p api --bin api)",
            opts.server.display()
        );
    }
    let work = std::env::temp_dir().join(format!("ticket-bench-{}", std::process::id()));
    std::fs::create_dir_all(&work)?;
    let env = Env {
        server_bin: opts.server.canonicalize()?,
        services: Services {
            postgres: opts.pg.clone(),
            postgres_params: format!("sslmode={}", opts.pg_sslmode),
            redis: opts.redis.clone(),
            ..Services::default()
        },
        work: work.clone(),
        server_env: opts.server_env.clone(),
    };
    if opts.soak {
        let seconds = opts.seconds.unwrap_or(if opts.quick { 60 } else { 600 });
        let mut passed = true;
        for &backend in &opts.backends {
            passed &= soak(&env, backend, seconds).await?;
        }
        if !passed {
            log(format!(
                "soak failed; server logs kept in {}",
                work.display()
            ));
            std::process::exit(1);
        }
        let _ = std::fs::remove_dir_all(&work);
        return Ok(());
    }
    std::fs::create_dir_all(&opts.out)?;
    let mut sizes = Sizes::new(opts.quick);
    if let Some(n) = opts.expiry_orders {
        sizes.expiry_orders = n;
    }
    if opts.events.is_some() || opts.event_tickets.is_some() {
        let events = opts
            .events
            .clone()
            .unwrap_or_else(|| sizes.catalogue.iter().map(|c| c.0).collect());
        let tickets = opts
            .event_tickets
            .clone()
            .unwrap_or_else(|| events.iter().map(|e| e * 10).collect());
        if tickets.len() != events.len() {
            bail!("--event-tickets needs as many sizes as --events");
        }
        sizes.catalogue = events.into_iter().zip(tickets).collect();
    }
    if sizes
        .catalogue
        .windows(2)
        .any(|w| w[1].0 < w[0].0 || w[1].1 < w[0].1)
    {
        bail!("catalogue sizes (--events, --event-tickets) must grow, smallest first");
    }
    if let Some(n) = opts.watchers {
        sizes.waitlist_watchers = n;
    }
    if let Some(n) = opts.queue_buyers {
        sizes.queue_buyers = n;
    }
    if let Some(n) = opts.queue_tickets {
        sizes.queue_tickets = n;
    }
    if let Some(n) = opts.queue_rate {
        sizes.queue_rate = n.max(1);
    }
    if let Some(l) = &opts.queue_replicas {
        sizes.queue_replicas = l.iter().copied().filter(|n| *n > 0).collect();
    }
    let has = |s: &str| opts.only.contains(s);
    let perf_ok = opts.profile && profile::available().await;
    let mut results = Results {
        machine: machine(&env, perf_ok).await,
        command: opts.command.clone(),
        quick: opts.quick,
        ..Default::default()
    };
    if opts.profile && !perf_ok {
        results
            .errors
            .push("perf record is not available here (install linux-perf): no profiles".into());
    }
    // Every open socket is a file descriptor on both sides; the server inherits our limit.
    let nofile = open_files_limit();
    if has("fanout") && nofile < sizes.fanout_subs as u64 + 2048 {
        let n = nofile.saturating_sub(2048) as usize;
        results.errors.push(format!(
            "the open-files limit is {nofile}: fan-out reduced from {} to {n} subscribers (scripts/bench raises it with ulimit -n)",
            sizes.fanout_subs
        ));
        sizes.fanout_subs = n;
    }
    log(format!(
        "bench: {} sizes, scenarios {:?}, backends {:?}, server {}, logs in {}",
        if opts.quick { "quick" } else { "full" },
        opts.only,
        opts.backends,
        env.server_bin.display(),
        work.display()
    ));

    let mut samples = Samples::new();
    let mut rush_series = Vec::new();
    let mut events_backends = Vec::new();
    let mut events_errors = Vec::new();
    let mut queue_runs = Vec::new();
    let mut queue_errors = Vec::new();
    let queue_began = Instant::now();
    let queue_load = loadavg();
    for &backend in &opts.backends {
        let mut br = BackendResults::new(backend);
        let full = backend == Backend::Pg || opts.embedded_all;
        if has("idle") {
            log(format!("{}: idle", backend.label()));
            match idle(&env, backend).await {
                Ok(i) => br.idle = Some(i),
                Err(e) => results
                    .errors
                    .push(format!("{} idle: {e:#}", backend.label())),
            }
        }
        if (has("rush") || has("hot") || has("browse") || (full && has("fanout")))
            && let Err(e) = main_server(
                &env,
                &opts,
                &sizes,
                backend,
                perf_ok,
                &mut br,
                &mut samples,
                &mut results.profiles,
                &mut rush_series,
            )
            .await
        {
            log(format!("{} main server: {e:#}", backend.label()));
            results.errors.push(format!(
                "{} (rush/hot/browse/fan-out server): {e:#}",
                backend.label()
            ));
        }
        if full && has("expiry") {
            let rate = br.rush.as_ref().map(|r| r.rate);
            if let Err(e) = expiry_server(&env, &sizes, backend, rate, &mut br, &mut samples).await
            {
                log(format!("{} expiry: {e:#}", backend.label()));
                results
                    .errors
                    .push(format!("{} expiry: {e:#}", backend.label()));
            }
        }
        results.backends.push(br);

        let mut eb = EventsBackend::new(backend);
        if CATALOGUE_SCENARIOS.iter().any(|s| has(s))
            && let Err(e) =
                catalogue_server(&env, &opts, &sizes, backend, &mut eb, &mut samples).await
        {
            log(format!("{} catalogue: {e:#}", backend.label()));
            events_errors.push(format!("{} (search/event server): {e:#}", backend.label()));
        }
        if has("waitlist")
            && let Err(e) = waitlist_server(&env, &sizes, backend, &mut eb, &mut samples).await
        {
            log(format!("{} waitlist: {e:#}", backend.label()));
            events_errors.push(format!("{} waitlist: {e:#}", backend.label()));
        }
        if EVENT_SCENARIOS.iter().any(|s| has(s)) {
            events_backends.push(eb);
        }
        if has("queue") {
            let replicas = match backend {
                Backend::Pg => sizes.queue_replicas.clone(),
                Backend::Embedded => vec![1],
            };
            for n in replicas {
                match queue_server(&env, &sizes, backend, n, nofile, &mut samples).await {
                    Ok(r) => queue_runs.push(r),
                    Err(e) => {
                        log(format!("{} queue, {n} replica(s): {e:#}", backend.label()));
                        queue_errors
                            .push(format!("{} queue, {n} replica(s): {e:#}", backend.label()));
                    }
                }
            }
        }
    }
    results.errors.extend(events_errors.iter().cloned());
    results.errors.extend(queue_errors.iter().cloned());

    // The events scenarios' loads are measured against pgbench -S, as browse is.
    let catalogue_ran = CATALOGUE_SCENARIOS.iter().any(|s| has(s));
    if (has("limits") || catalogue_ran) && opts.backends.contains(&Backend::Pg) {
        if limits::pgbench_bin().is_none() {
            results
                .errors
                .push("pgbench not found: no limits (apt-get install postgresql-contrib)".into());
        } else {
            if has("limits") && (has("rush") || !has("browse")) {
                log("limit: pgbench TPC-B");
                let r = async {
                    let (clients, note) =
                        limits::max_clients(&env, sizes.pgbench_tpcb_clients, 10).await?;
                    limits::run(
                        &env,
                        false,
                        clients,
                        sizes.pgbench_secs,
                        sizes.pgbench_scale,
                        note,
                    )
                    .await
                }
                .await;
                match r {
                    Ok(p) => results.pgbench_tpcb = Some(p),
                    Err(e) => results.errors.push(format!("pgbench TPC-B: {e:#}")),
                }
            }
            if (has("limits") && (has("browse") || !has("rush"))) || catalogue_ran {
                log("limit: pgbench -S");
                let r = async {
                    let (clients, note) = limits::max_clients(&env, sizes.browse_conns, 10).await?;
                    limits::run(
                        &env,
                        true,
                        clients,
                        sizes.pgbench_secs,
                        sizes.pgbench_scale,
                        note,
                    )
                    .await
                }
                .await;
                match r {
                    Ok(p) => results.pgbench_select = Some(p),
                    Err(e) => results.errors.push(format!("pgbench -S: {e:#}")),
                }
            }
        }
    }

    results.duration_s = began.elapsed().as_secs_f64();
    results.machine.load_at_end = loadavg();
    if EVENT_SCENARIOS.iter().any(|s| has(s)) {
        results.events = Some(EventsResults {
            command: results.command.clone(),
            date: results.machine.date.clone(),
            git_commit: results.machine.git_commit.clone(),
            load_at_start: results.machine.load_at_start.clone(),
            load_at_end: results.machine.load_at_end.clone(),
            quick: opts.quick,
            duration_s: results.duration_s,
            pgbench_select: results.pgbench_select.clone().filter(|_| catalogue_ran),
            backends: events_backends,
            errors: events_errors,
        });
    }
    if has("queue") {
        results.queue = Some(report::QueueResults {
            command: results.command.clone(),
            date: results.machine.date.clone(),
            git_commit: results.machine.git_commit.clone(),
            load_at_start: queue_load,
            load_at_end: results.machine.load_at_end.clone(),
            quick: opts.quick,
            duration_s: queue_began.elapsed().as_secs_f64(),
            open_files_limit: nofile,
            runs: queue_runs,
            errors: queue_errors,
        });
    }
    let plots = report::write_plots(&opts.out, &samples, &rush_series);
    let queue_plots = results.queue.as_ref().map_or_else(Vec::new, |q| {
        report::write_queue_plots(&opts.out, &samples, q)
    });
    let event_plots = results.events.as_ref().map_or_else(Vec::new, |e| {
        report::write_event_plots(&opts.out, &samples, e)
    });
    std::fs::write(
        opts.out.join("results.json"),
        serde_json::to_string_pretty(&results)?,
    )?;
    let md = results.markdown(&plots, &event_plots, &queue_plots);
    std::fs::write(opts.out.join("results.md"), &md)?;
    if let (Some(dir), Some(events)) = (&opts.merge_into, &results.events) {
        report::merge_events(
            dir,
            &opts.out,
            events,
            &events.markdown(&event_plots),
            &event_plots,
        )?;
        log(format!(
            "the events section merged into {}",
            dir.join("results.md").display()
        ));
    }
    if let (Some(dir), Some(queue)) = (&opts.merge_into, &results.queue) {
        report::merge_queue(
            dir,
            &opts.out,
            queue,
            &queue.markdown(&queue_plots),
            &queue_plots,
        )?;
        log(format!(
            "the queue section merged into {}",
            dir.join("results.md").display()
        ));
    }
    if results.errors.is_empty() {
        let _ = std::fs::remove_dir_all(&work);
    } else {
        log(format!("server logs kept in {}", work.display()));
    }
    log(format!(
        "done in {:.0} s: {}",
        results.duration_s,
        opts.out.join("results.md").display()
    ));
    println!("{md}");
    Ok(())
}

fn loadavg() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .unwrap_or_default()
        .split_whitespace()
        .take(3)
        .collect::<Vec<_>>()
        .join(" ")
}

fn open_files_limit() -> u64 {
    std::fs::read_to_string("/proc/self/limits")
        .ok()
        .and_then(|l| {
            l.lines()
                .find(|l| l.starts_with("Max open files"))
                .and_then(|l| l.split_whitespace().nth(3).and_then(|v| v.parse().ok()))
        })
        .unwrap_or(1024)
}

async fn idle(env: &Env, backend: Backend) -> anyhow::Result<IdleResult> {
    let store = env.deployment(backend, "idle").await?;
    let settings = Settings {
        order_ttl_seconds: 900,
        max_live_orders: 5,
    };
    let logf = env.work.join(format!("idle-{}.log", backend.key()));
    let r = async {
        let (s, ready_after) = server::start(env, &store, &settings, &logf).await?;
        tokio::time::sleep(Duration::from_secs(1)).await;
        let mut r = IdleResult {
            cold_ready_ms: stats::ms(ready_after),
            cold_listening_ms: stats::ms(s.listening_after),
            cold_rss_kib: s.rss_kib()?,
            ..Default::default()
        };
        server::stop(s).await;
        let (s, ready_after) = server::start(env, &store, &settings, &logf).await?;
        tokio::time::sleep(Duration::from_secs(1)).await;
        r.warm_ready_ms = stats::ms(ready_after);
        r.warm_rss_kib = s.rss_kib()?;
        server::stop(s).await;
        anyhow::Ok(r)
    }
    .await;
    store.remove().await?;
    r
}

fn push_sample(samples: &mut Samples, key: &str, backend: Backend, v: Vec<f64>) {
    push_series(samples, key, backend.label().to_owned(), v);
}

fn push_series(samples: &mut Samples, key: &str, series: String, mut v: Vec<f64>) {
    v.sort_by(f64::total_cmp);
    samples.entry(key.to_owned()).or_default().push((series, v));
}

#[allow(clippy::too_many_arguments)]
async fn main_server(
    env: &Env,
    opts: &Opts,
    sizes: &Sizes,
    backend: Backend,
    perf_ok: bool,
    br: &mut BackendResults,
    samples: &mut Samples,
    profiles: &mut Vec<ProfileResult>,
    rush_series: &mut Vec<(String, Vec<(f64, f64)>)>,
) -> anyhow::Result<()> {
    let has = |s: &str| opts.only.contains(s);
    let full = backend == Backend::Pg || opts.embedded_all;
    let store = env.deployment(backend, "main").await?;
    let logf = env.work.join(format!("main-{}.log", backend.key()));
    let settings = Settings {
        order_ttl_seconds: 3600,
        max_live_orders: 1000,
    };
    let (server, _) = server::start(env, &store, &settings, &logf).await?;
    let pid = server.pid;
    let rss = |br: &mut BackendResults, phase: &str| {
        if let Ok(kib) = testkit::rss_kib(pid) {
            br.rss_after.push((phase.to_owned(), kib));
        }
    };
    let r = async {
        let api = Client::new(server.addr);
        rss(br, "start");
        let mut buyers_needed = 0;
        if has("rush") {
            buyers_needed = buyers_needed.max(sizes.rush_buyers);
        }
        if has("hot") {
            buyers_needed = buyers_needed.max(sizes.hot_buyers);
        }
        if full && has("fanout") {
            buyers_needed = buyers_needed.max(64);
        }
        let t = Instant::now();
        log(format!(
            "{}: signing up 1 seller and {buyers_needed} buyers (argon2, by design slow)",
            backend.label()
        ));
        let seller = setup::sign_up_many(&api, "seller", 1, 1).await?.remove(0);
        let tokens = setup::sign_up_many(&api, "buyer", buyers_needed, 4).await?;
        br.setup.push((
            format!("{} sign-ups", buyers_needed + 1),
            t.elapsed().as_secs_f64(),
        ));
        rss(br, "sign-ups");
        let tickets = if has("rush") || has("browse") {
            let t = Instant::now();
            log(format!(
                "{}: listing {} tickets",
                backend.label(),
                sizes.rush_tickets
            ));
            let ids = setup::create_tickets(&api, &seller, sizes.rush_tickets, 64).await?;
            br.setup.push((
                format!("{} createTicket", ids.len()),
                t.elapsed().as_secs_f64(),
            ));
            rss(br, "listing");
            ids
        } else {
            Vec::new()
        };

        if has("rush") {
            log(format!(
                "{}: rush, {} buyers on {} tickets",
                backend.label(),
                sizes.rush_buyers,
                tickets.len()
            ));
            let before = rush::statement_counts(&api.metrics().await.unwrap_or_default());
            let run = rush::run(&api, &tokens[..sizes.rush_buyers], &tickets, sizes.rush_cap).await;
            let after = rush::statement_counts(&api.metrics().await.unwrap_or_default());
            let mut r = run.result;
            r.statements_per_attempt =
                rush::per_attempt(&before, &after, r.reservations + r.conflicts);
            let db = store.connect().await?;
            rush::check_db(&db, &mut r).await?;
            db.close().await?;
            log(format!(
                "{}: rush: {:.0} reservations/s, p50 {:.1} ms, p99 {:.1} ms, oversells {}",
                backend.label(),
                r.rate,
                r.latency_all.p50,
                r.latency_all.p99,
                r.oversells
            ));
            rush_series.push((backend.label().to_owned(), r.series.clone()));
            push_sample(samples, "rush", backend, run.ok_ms);
            br.rush = Some(r);
            rss(br, "rush");

            if perf_ok && backend == Backend::Pg {
                let n = sizes.profile_rush_tickets;
                log(format!(
                    "{}: profiling a second rush on {n} new tickets",
                    backend.label()
                ));
                let more = setup::create_tickets(&api, &seller, n, 64).await?;
                let load = format!("rush of {} buyers on {n} fresh tickets", sizes.rush_buyers);
                let p = profiled(
                    env,
                    &opts.out,
                    server.pid,
                    "rush",
                    "rush (createOrder)",
                    &load,
                    async {
                        let run =
                            rush::run(&api, &tokens[..sizes.rush_buyers], &more, sizes.rush_cap)
                                .await;
                        format!("{:.0} reservations/s under the profiler", run.result.rate)
                    },
                )
                .await;
                match p {
                    Ok(p) => profiles.push(p),
                    Err(e) => br.notes.push(format!("rush profile failed: {e:#}")),
                }
                rss(br, "profiled rush");
            }
        }

        if has("hot") {
            let hot_tickets = setup::create_tickets(&api, &seller, sizes.hot_bursts, 1).await?;
            log(format!(
                "{}: hot ticket, {} bursts of {} buyers",
                backend.label(),
                sizes.hot_bursts,
                sizes.hot_buyers
            ));
            let run = hot::bursts(&api, &tokens[..sizes.hot_buyers], &hot_tickets).await;
            log(format!(
                "{}: hot: {} winner(s), {} conflicts, {} other, p99 {:.1} ms",
                backend.label(),
                run.result.winners,
                run.result.conflicts,
                run.result.other,
                run.result.latency.p99
            ));
            push_sample(samples, "hot", backend, run.ms);
            br.hot = Some(run.result);
            rss(br, "hot ticket");

            if perf_ok && backend == Backend::Pg {
                const BURSTS: usize = 20;
                log(format!(
                    "{}: profiling {BURSTS} more hot-ticket bursts",
                    backend.label()
                ));
                let more = setup::create_tickets(&api, &seller, BURSTS, 8).await?;
                let load = format!(
                    "{BURSTS} hot-ticket bursts of {} buyers, each on a fresh ticket",
                    sizes.hot_buyers
                );
                let p = profiled(
                    env,
                    &opts.out,
                    server.pid,
                    "hot",
                    "hot ticket (createOrder, one ticket)",
                    &load,
                    async {
                        let mut p99 = Vec::new();
                        for ticket in &more {
                            let run = hot::run(&api, &tokens[..sizes.hot_buyers], ticket).await;
                            p99.push(run.result.latency.p99);
                        }
                        p99.sort_by(f64::total_cmp);
                        format!(
                            "median burst p99 {:.1} ms under the profiler",
                            p99.get(p99.len() / 2).copied().unwrap_or(0.0)
                        )
                    },
                )
                .await;
                match p {
                    Ok(p) => profiles.push(p),
                    Err(e) => br.notes.push(format!("hot-ticket profile failed: {e:#}")),
                }
            }
        }

        if has("browse") {
            for (kind, key) in [
                (browse::Kind::List, "browse-list"),
                (browse::Kind::Get, "browse-get"),
            ] {
                log(format!(
                    "{}: browse {kind:?}, {} connections",
                    backend.label(),
                    sizes.browse_conns
                ));
                let before = fresh::cache_counts(&api).await;
                let mut run = browse::run(
                    &api,
                    kind,
                    &tickets,
                    sizes.browse_conns,
                    sizes.browse_warmup,
                    sizes.browse_secs,
                )
                .await;
                run.result.cache = Some(browse::CacheUse::between(
                    before,
                    fresh::cache_counts(&api).await,
                ));
                log(format!(
                    "{}: browse {kind:?}: {:.0} QPS, p99 {:.1} ms",
                    backend.label(),
                    run.result.qps,
                    run.result.latency.p99
                ));
                push_sample(samples, key, backend, run.ms);
                match kind {
                    browse::Kind::List => br.browse_list = Some(run.result),
                    _ => br.browse_get = Some(run.result),
                }
            }
            // One event's page, read by everyone: quiet, then repriced ten times a second.
            let hot_event = hotpage::setup(&api, &seller).await?;
            for writes in [None, Some(10)] {
                log(format!(
                    "{}: a hot event page, {} connections, {} writes/s",
                    backend.label(),
                    sizes.browse_conns,
                    writes.unwrap_or(0)
                ));
                let (run, written) = hotpage::run(
                    &api,
                    &hot_event.0,
                    writes.map(|w| (seller.as_str(), hot_event.1[0].as_str(), w)),
                    sizes.browse_conns,
                    sizes.browse_warmup,
                    sizes.browse_secs,
                )
                .await;
                br.hot_page.push(report::HotPage {
                    cache: true,
                    writes_per_s: writes.unwrap_or(0),
                    written,
                    load: run.result,
                });
            }
            // The miss path: the same reads from a second server on the same database with the
            // response cache off.
            let uncached = async {
                let logf = env.work.join(format!("main-{}-uncached.log", backend.key()));
                let cmd = testkit::ServerCommand::new(&env.server_bin)
                    .log_file(&logf)
                    .env("RESPONSE_CACHE_ENTRIES", "0");
                let (other, _) = server::start_with(env, &store, &settings, cmd).await?;
                let other_api = Client::new(other.addr);
                for kind in [browse::Kind::List, browse::Kind::Get] {
                    log(format!(
                        "{}: browse {kind:?} without the response cache",
                        backend.label()
                    ));
                    let run = browse::run(
                        &other_api,
                        kind,
                        &tickets,
                        sizes.browse_conns,
                        sizes.browse_warmup,
                        sizes.browse_secs,
                    )
                    .await;
                    match kind {
                        browse::Kind::List => br.browse_list_uncached = Some(run.result),
                        _ => br.browse_get_uncached = Some(run.result),
                    }
                }
                let (run, written) = hotpage::run(
                    &other_api,
                    &hot_event.0,
                    None,
                    sizes.browse_conns,
                    sizes.browse_warmup,
                    sizes.browse_secs,
                )
                .await;
                br.hot_page.push(report::HotPage {
                    cache: false,
                    writes_per_s: 0,
                    written,
                    load: run.result,
                });
                server::stop(other).await;
                anyhow::Ok(())
            }
            .await;
            if let Err(e) = uncached {
                br.notes.push(format!("browse without the cache failed: {e:#}"));
            }
            // Freshness across replicas: a second replica (cache on) reads what the first
            // writes.
            if backend == Backend::Pg {
                let fresh_run = async {
                    let logf = env.work.join(format!("main-{}-replica.log", backend.key()));
                    let cmd = testkit::ServerCommand::new(&env.server_bin).log_file(&logf);
                    let (other, _) = server::start_with(env, &store, &settings, cmd).await?;
                    let other_api = Client::new(other.addr);
                    let ticket = setup::create_tickets(&api, &seller, 1, 1).await?.remove(0);
                    log(format!(
                        "{}: freshness, {} changes read on another replica",
                        backend.label(),
                        sizes.fresh_changes
                    ));
                    let run = fresh::run(
                        &api,
                        &other_api,
                        &seller,
                        &ticket,
                        sizes.fresh_changes,
                        Duration::from_millis(50),
                    )
                    .await;
                    server::stop(other).await;
                    log(format!(
                        "{}: freshness: the other replica's p99 {:.1} ms, {} stale own reads",
                        backend.label(),
                        run.result.other_replica.p99,
                        run.result.stale_own_reads
                    ));
                    push_sample(samples, "fresh", backend, run.ms);
                    br.fresh = Some(run.result);
                    anyhow::Ok(())
                }
                .await;
                if let Err(e) = fresh_run {
                    br.notes.push(format!("freshness failed: {e:#}"));
                }
            }
            rss(br, "browse");
            if perf_ok && backend == Backend::Pg {
                log(format!("{}: profiling browse", backend.label()));
                let load = format!(
                    "browse, half `tickets(first: 20)` and half `ticket(id)`, {} connections, {} s",
                    sizes.browse_conns,
                    sizes.profile_browse.as_secs()
                );
                let p = profiled(
                    env,
                    &opts.out,
                    server.pid,
                    "browse",
                    "browse (tickets and ticket)",
                    &load,
                    async {
                        let run = browse::run(
                            &api,
                            browse::Kind::Mixed,
                            &tickets,
                            sizes.browse_conns,
                            Duration::ZERO,
                            sizes.profile_browse,
                        )
                        .await;
                        format!("{:.0} QPS under the profiler", run.result.qps)
                    },
                )
                .await;
                match p {
                    Ok(p) => profiles.push(p),
                    Err(e) => br.notes.push(format!("browse profile failed: {e:#}")),
                }
            }
        }

        if full && has("fanout") {
            let ticket = setup::create_tickets(&api, &seller, 1, 1).await?.remove(0);
            log(format!(
                "{}: fan-out, opening {} WebSockets",
                backend.label(),
                sizes.fanout_subs
            ));
            let tmp = std::env::temp_dir();
            let fdata = tmp.join(format!("bench-fanout-{}.perf.data", std::process::id()));
            let fsys = tmp.join(format!("bench-fanout-{}-system.perf.data", std::process::id()));
            let want_profile = perf_ok && backend == Backend::Pg;
            let run = fanout::run(
                &api,
                server.pid,
                &seller,
                &tokens,
                &ticket,
                sizes.fanout_subs,
                sizes.fanout_updates,
                sizes.fanout_wait,
                want_profile.then_some((fdata.as_path(), fsys.as_path())),
            )
            .await?;
            log(format!(
                "{}: fan-out: {} of {} received, p99 {:.1} ms, {:.1} KiB per subscriber",
                backend.label(),
                run.result.received,
                run.result.opened,
                run.result.delay.p99,
                run.result.kib_per_subscriber
            ));
            if let Some((sys, data, got)) = &run.perf {
                let load = format!(
                    "a second `updateTicket` to the same {} idle subscribers ({got} deliveries seen)",
                    run.result.opened
                );
                match finish_profile(&opts.out, server.pid, "fanout", "fan-out (one update to every subscriber)", &load, data, sys).await {
                    Ok(p) => profiles.push(p),
                    Err(e) => br.notes.push(format!("fan-out profile failed: {e:#}")),
                }
            }
            push_sample(samples, "fanout", backend, run.ms);
            br.fanout = Some(run.result);
            rss(br, "fan-out (sockets closed)");
        }
        anyhow::Ok(())
    }
    .await;
    server::stop(server).await;
    store.remove().await?;
    r
}

/// Runs `load` under perf (the server alone with call graphs, and the whole machine by process).
#[allow(clippy::too_many_arguments)]
async fn profiled(
    _env: &Env,
    out: &Path,
    pid: u32,
    key: &str,
    name: &str,
    load: &str,
    work: impl std::future::Future<Output = String>,
) -> anyhow::Result<ProfileResult> {
    let tmp = std::env::temp_dir();
    let data = tmp.join(format!("bench-{key}-{}.perf.data", std::process::id()));
    let sys = tmp.join(format!(
        "bench-{key}-{}-system.perf.data",
        std::process::id()
    ));
    let rec = profile::record_pid(pid, &data).await?;
    let sysrec = profile::record_system(&sys).await?;
    let what = work.await;
    let sys = sysrec.stop().await?;
    let data = rec.stop().await?;
    finish_profile(
        out,
        pid,
        key,
        name,
        &format!("{load} ({what})"),
        &data,
        &sys,
    )
    .await
}

/// Folds a recording into `flamegraph-<key>.svg` and summarises both recordings.
async fn finish_profile(
    out: &Path,
    pid: u32,
    key: &str,
    name: &str,
    load: &str,
    data: &Path,
    sys: &Path,
) -> anyhow::Result<ProfileResult> {
    let svg = format!("flamegraph-{key}.svg");
    let folded = std::env::temp_dir().join(format!("{key}.folded.txt"));
    log(format!("folding {} (perf script)", data.display()));
    let frames = profile::flamegraph(
        data,
        &out.join(&svg),
        &folded,
        &format!("api server: {name}"),
    )
    .await?;
    let by_process = profile::by_process(sys, pid).await.unwrap_or_default();
    let _ = std::fs::remove_file(data);
    let _ = std::fs::remove_file(sys);
    Ok(ProfileResult {
        name: name.to_owned(),
        load: load.to_owned(),
        flamegraph: svg,
        folded: folded.display().to_string(),
        frames,
        by_process,
    })
}

async fn expiry_server(
    env: &Env,
    sizes: &Sizes,
    backend: Backend,
    rush_rate: Option<f64>,
    br: &mut BackendResults,
    samples: &mut Samples,
) -> anyhow::Result<()> {
    // Long enough to make every order before the first expires; short, so the run stays short.
    let rate = rush_rate.filter(|r| *r > 1.0).unwrap_or(300.0);
    let ttl = ((sizes.expiry_orders as f64 / rate) * 1.5 + 10.0)
        .ceil()
        .clamp(20.0, 180.0) as u64;
    let store = env.deployment(backend, "expiry").await?;
    let logf = env.work.join(format!("expiry-{}.log", backend.key()));
    let settings = Settings {
        order_ttl_seconds: ttl,
        max_live_orders: 1000,
    };
    let (server, _) = server::start(env, &store, &settings, &logf).await?;
    let r = async {
        let api = Client::new(server.addr);
        let buyers = sizes.expiry_buyers.max(sizes.expiry_orders.div_ceil(1000));
        let t = Instant::now();
        let seller = setup::sign_up_many(&api, "seller", 1, 1).await?.remove(0);
        let tokens = setup::sign_up_many(&api, "buyer", buyers, 4).await?;
        log(format!(
            "{}: expiry: listing {} tickets",
            backend.label(),
            sizes.expiry_orders
        ));
        let tickets = setup::create_tickets(&api, &seller, sizes.expiry_orders, 64).await?;
        br.setup.push((
            format!(
                "expiry: {} sign-ups, {} createTicket",
                buyers + 1,
                tickets.len()
            ),
            t.elapsed().as_secs_f64(),
        ));
        log(format!(
            "{}: expiry: {} orders, TTL {ttl} s",
            backend.label(),
            tickets.len()
        ));
        let run = expiry::run(&api, &tokens, &tickets, ttl, sizes.expiry_grace, 128).await?;
        log(format!(
            "{}: expiry: p99 {:.0} ms, lost {} of {}",
            backend.label(),
            run.result.lag.p99,
            run.result.lost,
            run.result.orders
        ));
        push_sample(samples, "expiry", backend, run.ms);
        br.expiry = Some(run.result);
        anyhow::Ok(())
    }
    .await;
    server::stop(server).await;
    store.remove().await?;
    r
}

/// The `search` and `event` loads on one server at each catalogue size. The catalogue is seeded
/// straight into the server's database and grown from one size to the next; at each size the
/// seeded counters are read back through the API, both loads run, and the hot queries' plans are
/// taken.
async fn catalogue_server(
    env: &Env,
    opts: &Opts,
    sizes: &Sizes,
    backend: Backend,
    eb: &mut EventsBackend,
    samples: &mut Samples,
) -> anyhow::Result<()> {
    let has = |s: &str| opts.only.contains(s);
    let store = env.deployment(backend, "catalogue").await?;
    let logf = env.work.join(format!("catalogue-{}.log", backend.key()));
    // The scale scenario's rush buyers hold up to a few dozen orders each.
    let settings = Settings {
        order_ttl_seconds: 900,
        max_live_orders: 1000,
    };
    let (server, _) = server::start(env, &store, &settings, &logf).await?;
    let pid = server.pid;
    let r = async {
        let api = Client::new(server.addr);
        let t = Instant::now();
        let tokens = setup::sign_up_many(&api, "seller", 4, 4).await?;
        let mut users = Vec::new();
        for token in &tokens {
            let d = api
                .data("query { me { id } }", serde_json::json!({}), Some(token))
                .await?;
            users.push(
                d["me"]["id"]
                    .as_str()
                    .and_then(|s| s.parse::<uuid::Uuid>().ok())
                    .ok_or_else(|| anyhow!("me answered no id"))?,
            );
        }
        eb.setup.push((
            "catalogue: 4 sign-ups (the organizer and the sellers)".into(),
            t.elapsed().as_secs_f64(),
        ));
        let db = store.connect().await?;
        let buyers = if has("scale") {
            let hash = server::text(
                &db,
                "SELECT password_hash FROM users WHERE email = 'seller-0@bench.example.com'",
            )
            .await?;
            queue::seed_buyers(&db, sizes.rush_buyers, &hash).await?
        } else {
            Vec::new()
        };
        let mut cat = catalogue::Catalogue::new(users[0], users.clone());
        let max = match backend {
            Backend::Embedded => opts.embedded_events.unwrap_or(usize::MAX),
            Backend::Pg => usize::MAX,
        };
        for &(events, tickets) in sizes.catalogue.iter().filter(|c| c.0 <= max) {
            log(format!(
                "{}: catalogue: seeding up to {events} events and {tickets} tickets",
                backend.label()
            ));
            let growth = cat.grow(&db, events, tickets).await?;
            log(format!(
                "{}: catalogue: {} events and {} tickets written in {:.1} s",
                backend.label(),
                growth.events_added,
                growth.tickets_added,
                growth.seconds
            ));
            cat.check(&api).await?;
            let mut run = CatalogueRun {
                events,
                tickets,
                big_events: cat.events.iter().filter(|e| e.big).count(),
                biggest_event: cat.biggest(),
                growth,
                ..Default::default()
            };
            let series = format!("{}, {events} events", backend.label());
            for (key, classes, mix) in [
                ("search", &catalogue::SEARCH_CLASSES[..], cat.search_mix()),
                ("event", &catalogue::EVENT_CLASSES[..], cat.event_mix()),
            ] {
                if !has(key) {
                    continue;
                }
                log(format!(
                    "{}: {key} at {events} events, {} connections",
                    backend.label(),
                    sizes.browse_conns
                ));
                let l = browse::run_mix(
                    &api,
                    classes,
                    mix,
                    sizes.browse_conns,
                    sizes.browse_warmup,
                    sizes.browse_secs,
                    Some(pid),
                )
                .await;
                let cpu = l.result.cpu.clone().unwrap_or_default();
                log(format!(
                    "{}: {key} at {events} events: {:.0} QPS, p50 {:.1} ms, p99 {:.1} ms, {} errors; \
                     CPU per request: server {:.0} µs, PostgreSQL {:.0} µs, others {:.0} % of the machine",
                    backend.label(),
                    l.result.qps,
                    l.result.latency.p50,
                    l.result.latency.p99,
                    l.result.errors,
                    cpu.server_us,
                    cpu.postgres_us,
                    cpu.others_percent
                ));
                push_series(samples, key, series.clone(), l.ms);
                if key == "search" {
                    run.search = Some(l.result);
                } else {
                    run.event = Some(l.result);
                }
            }
            let sample = if has("scale") {
                scale_at_size(&api, &db, sizes, backend, pid, &buyers, &mut run, samples).await?
            } else {
                Vec::new()
            };
            run.rss_kib = testkit::rss_kib(pid).unwrap_or(0);
            match plans::capture(&store.database_url, db.get_database_backend(), &cat, &sample)
                .await
            {
                Ok((p, choice)) => {
                    run.plans = p;
                    run.search_plan = choice;
                }
                Err(e) => eb
                    .notes
                    .push(format!("no query plans at {events} events: {e:#}")),
            }
            eb.catalogue.push(run);
        }
        if let Some(&(events, _)) = sizes.catalogue.iter().find(|c| c.0 > max) {
            eb.notes.push(format!(
                "measured up to {max} events (--embedded-events), not at {events}"
            ));
        }
        db.close().await?;
        anyhow::Ok(())
    }
    .await;
    server::stop(server).await;
    store.remove().await?;
    r
}

/// The scale scenario at one catalogue size: `ticket(id)` and a page of tickets anywhere in the
/// catalogue at `browse_conns` connections, then a rush of the seeded `buyers` on random tickets
/// they may buy. Returns the sampled ticket ids, whose plans are taken.
#[allow(clippy::too_many_arguments)]
async fn scale_at_size(
    api: &Client,
    db: &sea_orm::DatabaseConnection,
    sizes: &Sizes,
    backend: Backend,
    pid: u32,
    buyers: &[String],
    run: &mut CatalogueRun,
    samples: &mut Samples,
) -> anyhow::Result<Vec<uuid::Uuid>> {
    let (events, tickets) = (run.events, run.tickets);
    let sample = scale::sample_tickets(db, 20_000).await?;
    scale::check_cursor(api).await?;
    let series = format!("{}, {events} events", backend.label());
    for (key, next) in [
        ("ticket", scale::ticket_mix(&sample)),
        ("page", scale::page_mix(&sample)),
    ] {
        log(format!(
            "{}: scale: {key} at {tickets} tickets, {} connections",
            backend.label(),
            sizes.browse_conns
        ));
        let before = fresh::cache_counts(api).await;
        let mut l = browse::run_mix(
            api,
            &[],
            next,
            sizes.browse_conns,
            sizes.browse_warmup,
            sizes.browse_secs,
            Some(pid),
        )
        .await;
        l.result.cache = Some(browse::CacheUse::between(
            before,
            fresh::cache_counts(api).await,
        ));
        log(format!(
            "{}: scale: {key} at {tickets} tickets: {:.0} QPS, p50 {:.1} ms, p99 {:.1} ms, {} errors",
            backend.label(),
            l.result.qps,
            l.result.latency.p50,
            l.result.latency.p99,
            l.result.errors,
        ));
        push_series(samples, key, series.clone(), l.ms);
        if key == "ticket" {
            run.ticket = Some(l.result);
        } else {
            run.page = Some(l.result);
        }
    }
    let ids: Vec<String> = scale::rush_tickets(db, sizes.scale_rush_tickets as u64)
        .await?
        .iter()
        .map(uuid::Uuid::to_string)
        .collect();
    log(format!(
        "{}: scale: rush of {} buyers on {} of the {tickets} tickets",
        backend.label(),
        buyers.len(),
        ids.len()
    ));
    let before = rush::statement_counts(&api.metrics().await.unwrap_or_default());
    let rushed = rush::run(api, buyers, &ids, sizes.rush_cap).await;
    let after = rush::statement_counts(&api.metrics().await.unwrap_or_default());
    let mut r = rushed.result;
    r.statements_per_attempt = rush::per_attempt(&before, &after, r.reservations + r.conflicts);
    rush::check_db(db, &mut r).await?;
    log(format!(
        "{}: scale: rush at {tickets} tickets: {:.0} reservations/s, p99 {:.1} ms, oversells {}",
        backend.label(),
        r.rate,
        r.latency_all.p99,
        r.oversells
    ));
    push_series(samples, "scale-rush", series, rushed.ok_ms);
    run.rush = Some(r);
    Ok(sample)
}

/// The live waiting list on a server with a short `ORDER_TTL_SECONDS`.
async fn waitlist_server(
    env: &Env,
    sizes: &Sizes,
    backend: Backend,
    eb: &mut EventsBackend,
    samples: &mut Samples,
) -> anyhow::Result<()> {
    let store = env.deployment(backend, "waitlist").await?;
    let logf = env.work.join(format!("waitlist-{}.log", backend.key()));
    let settings = Settings {
        order_ttl_seconds: sizes.waitlist_ttl,
        max_live_orders: 1000,
    };
    let (server, _) = server::start(env, &store, &settings, &logf).await?;
    let r = async {
        let api = Client::new(server.addr);
        let t = Instant::now();
        let seller = setup::sign_up_many(&api, "seller", 1, 1).await?.remove(0);
        let tokens = setup::sign_up_many(&api, "buyer", 4, 4).await?;
        eb.setup.push((
            "waitlist: 5 sign-ups".into(),
            t.elapsed().as_secs_f64(),
        ));
        log(format!(
            "{}: waitlist: {} watchers, {} orders expiring after {} s, {} cancelled",
            backend.label(),
            sizes.waitlist_watchers,
            sizes.waitlist_expire,
            sizes.waitlist_ttl,
            sizes.waitlist_cancel
        ));
        let run = waitlist::run(
            &api,
            &seller,
            &tokens,
            sizes.waitlist_watchers,
            sizes.waitlist_expire,
            sizes.waitlist_cancel,
            sizes.waitlist_ttl,
            sizes.waitlist_grace,
        )
        .await?;
        log(format!(
            "{}: waitlist: after expiresAt p99 {:.0} ms, max {:.0} ms; after cancel p99 {:.0} ms; lost {} of {}",
            backend.label(),
            run.result.after_expiry.p99,
            run.result.after_expiry.max,
            run.result.after_cancel.p99,
            run.result.lost,
            run.result.expected
        ));
        for (what, ms) in run.ms {
            push_series(samples, "waitlist", format!("{}, {what}", backend.label()), ms);
        }
        eb.waitlist = Some(run.result);
        anyhow::Ok(())
    }
    .await;
    server::stop(server).await;
    store.remove().await?;
    r
}

/// The on-sale queue on `replicas` servers of one deployment (SQLite: one, at a quarter of the
/// buyers and tickets and half the rate).
async fn queue_server(
    env: &Env,
    sizes: &Sizes,
    backend: Backend,
    replicas: usize,
    nofile: u64,
    samples: &mut Samples,
) -> anyhow::Result<queue::QueueResult> {
    let (buyers, tickets, rate) = match backend {
        Backend::Pg => (sizes.queue_buyers, sizes.queue_tickets, sizes.queue_rate),
        Backend::Embedded => (
            sizes.queue_buyers.div_ceil(4),
            sizes.queue_tickets.div_ceil(4),
            sizes.queue_rate.div_ceil(2),
        ),
    };
    let params = queue::Params {
        tickets,
        rate,
        admission_s: 600,
        // Each socket is a descriptor here (all of them) and on its server; both inherit the
        // same limit, and each needs more for its pools (HTTP, database, Redis) and files.
        max_sockets: nofile.saturating_sub(2500) as usize,
        tries: 5,
    };
    let store = env.deployment(backend, "queue").await?;
    let settings = Settings {
        order_ttl_seconds: 900,
        max_live_orders: 5,
    };
    let mut servers = Vec::new();
    let r = async {
        for k in 0..replicas {
            let logf = env
                .work
                .join(format!("queue-{}-{replicas}-{k}.log", backend.key()));
            let cmd = testkit::ServerCommand::new(&env.server_bin)
                .log_file(&logf)
                .env("QUEUE_ADMIT_PER_SECOND", rate.to_string())
                .env("QUEUE_ADMISSION_SECONDS", params.admission_s.to_string())
                .env("QUEUE_OPENS_BEFORE_SECONDS", "3600");
            let (s, _) = server::start_with(env, &store, &settings, cmd).await?;
            servers.push(s);
        }
        let apis: Vec<Client> = servers.iter().map(|s| Client::new(s.addr)).collect();
        let pids: Vec<u32> = servers.iter().map(|s| s.pid).collect();
        let t = Instant::now();
        let organizer = setup::sign_up_many(&apis[0], "organizer", 1, 1)
            .await?
            .remove(0);
        let db = store.connect().await?;
        let hash = server::text(
            &db,
            "SELECT password_hash FROM users WHERE email = 'organizer-0@bench.example.com'",
        )
        .await?;
        log(format!(
            "{}: queue, {replicas} replica(s): seeding {buyers} buyers",
            backend.label()
        ));
        let tokens = queue::seed_buyers(&db, buyers, &hash).await?;
        let seeded = t.elapsed().as_secs_f64();
        log(format!(
            "{}: queue: {buyers} buyers, {tickets} tickets, {rate} admitted/s, {replicas} replica(s)",
            backend.label()
        ));
        let redis = (backend == Backend::Pg).then_some(env.services.redis.as_str());
        let label = backend.label();
        let mut run =
            queue::run(&apis, &pids, &db, &organizer, &tokens, &params, redis, label).await?;
        run.result.setup.insert(
            0,
            (
                format!("1 sign-up and {buyers} buyers seeded with sessions and tokens"),
                seeded,
            ),
        );
        db.close().await?;
        let r = &run.result;
        log(format!(
            "{}: queue, {replicas} replica(s): {:.1} admitted/s (max {}), push lag p50 {:.0} / p99 {:.0} ms, \
             {:.1} KiB per buyer, {} of {} unadmitted orders succeeded, sold out {}",
            backend.label(),
            r.rate_mean,
            r.rate_max,
            r.push_lag.p50,
            r.push_lag.p99,
            r.kib_per_buyer,
            r.unadmitted_successes,
            r.unadmitted_attempts,
            r.sold_out_s.map_or("never".into(), |v| format!("after {v:.1} s"))
        ));
        push_series(
            samples,
            "queue",
            format!("{}, {replicas} replica(s)", backend.label()),
            run.push_lag_ms,
        );
        anyhow::Ok(run.result)
    }
    .await;
    for s in servers {
        server::stop(s).await;
    }
    store.remove().await?;
    r
}

/// `bench soak`: one server with a short order TTL on a fresh deployment, under the soak's
/// load for `seconds`; `Ok(false)` when the soak failed.
async fn soak(env: &Env, backend: Backend, seconds: u64) -> anyhow::Result<bool> {
    let store = env.deployment(backend, "soak").await?;
    let settings = Settings {
        order_ttl_seconds: soak::ORDER_TTL_SECONDS,
        max_live_orders: soak::MAX_LIVE_ORDERS,
    };
    let logf = env.work.join(format!("soak-{}.log", backend.key()));
    log(format!(
        "{}: soak, server log in {}",
        backend.label(),
        logf.display()
    ));
    let cmd = testkit::ServerCommand::new(&env.server_bin)
        .log_file(&logf)
        .echo_errors()
        .env("RUST_LOG", "warn,api::startup=info");
    let (server, _) = server::start_with(env, &store, &settings, cmd).await?;
    let passed = soak::run(&server, seconds).await;
    server::stop(server).await;
    store.remove().await?;
    passed
}

async fn cmd(program: &str, args: &[&str]) -> Option<String> {
    let out = tokio::process::Command::new(program)
        .args(args)
        .output()
        .await
        .ok()?;
    out.status
        .success()
        .then(|| String::from_utf8_lossy(&out.stdout).trim().to_owned())
}

async fn machine(env: &Env, perf_ok: bool) -> Machine {
    let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
    let cpu = cpuinfo
        .lines()
        .find_map(|l| {
            l.strip_prefix("model name")
                .map(|v| v.trim_start_matches([' ', '\t', ':']).to_owned())
        })
        .unwrap_or_default();
    let mem_kib: f64 = std::fs::read_to_string("/proc/meminfo")
        .unwrap_or_default()
        .lines()
        .find_map(|l| l.strip_prefix("MemTotal:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or(0.0);
    let os = std::fs::read_to_string("/etc/os-release")
        .unwrap_or_default()
        .lines()
        .find_map(|l| {
            l.strip_prefix("PRETTY_NAME=")
                .map(|v| v.trim_matches('"').to_owned())
        })
        .unwrap_or_default();
    let postgres = async {
        let db = env.services.postgres_admin().await?;
        use sea_orm::ConnectionTrait;
        let row = db
            .query_one_raw(sea_orm::Statement::from_string(
                sea_orm::DbBackend::Postgres,
                "SELECT version()".to_owned(),
            ))
            .await?
            .ok_or_else(|| anyhow!("no version"))?;
        let v: String = row.try_get_by_index(0)?;
        db.close().await?;
        anyhow::Ok(format!(
            "{v}; every connection (server's and pgbench's) over loopback TCP with {}",
            env.services.postgres_params
        ))
    }
    .await
    .unwrap_or_else(|e| format!("unknown ({e:#})"));
    let redis = async {
        let client = redis::Client::open(env.services.redis.as_str())?;
        let mut c = client.get_multiplexed_async_connection().await?;
        let info: String = redis::cmd("INFO").arg("server").query_async(&mut c).await?;
        info.lines()
            .find_map(|l| {
                l.strip_prefix("redis_version:")
                    .map(|v| v.trim().to_owned())
            })
            .context("no redis_version")
    }
    .await
    .unwrap_or_else(|e| format!("unknown ({e:#})"));
    let head = cmd("git", &["rev-parse", "HEAD"])
        .await
        .unwrap_or_else(|| "unknown".into());
    let dirty = cmd("git", &["status", "--porcelain", "--untracked-files=no"])
        .await
        .unwrap_or_default();
    let bin_age = std::fs::metadata(&env.server_bin)
        .and_then(|m| m.modified())
        .map(|t| {
            chrono::DateTime::<chrono::Utc>::from(t)
                .format("%Y-%m-%d %H:%M UTC")
                .to_string()
        })
        .unwrap_or_default();
    Machine {
        nproc: std::thread::available_parallelism().map_or(0, |n| n.get()),
        cpu,
        ram: format!("{:.1} GiB", mem_kib / 1024.0 / 1024.0),
        kernel: std::fs::read_to_string("/proc/sys/kernel/osrelease")
            .unwrap_or_default()
            .trim()
            .to_owned(),
        os,
        postgres,
        redis: format!("Redis {redis}"),
        rustc: cmd("rustc", &["-V"]).await.unwrap_or_default(),
        date: chrono::Utc::now().format("%Y-%m-%d %H:%M UTC").to_string(),
        git_commit: if dirty.is_empty() {
            head
        } else {
            format!(
                "{head} with uncommitted changes in the working tree ({} files)",
                dirty.lines().count()
            )
        },
        server_bin: format!("`{}` (release, built {bin_age})", env.server_bin.display()),
        perf: if perf_ok {
            format!(
                "{}, `cpu-clock` software event (hardware counters: `perf stat -e instructions true` says not supported in this VM)",
                cmd("perf", &["--version"]).await.unwrap_or_default()
            )
        } else {
            "perf not available: no profiles".into()
        },
        load_at_start: loadavg(),
        load_at_end: String::new(),
    }
}
