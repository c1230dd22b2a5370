//! Browse: anonymous reads, closed loop, at a fixed number of connections. [`run_mix`] is the
//! machinery; the browse scenario's `tickets`/`ticket` reads and the events scenarios' searches
//! and event pages (`catalogue`) are mixes of requests it sends.

use std::{
    sync::Arc,
    time::{Duration, Instant},
};

use rand::{Rng, rngs::StdRng};
use serde::Serialize;
use serde_json::{Value, json};

use testkit::{Answer, Client};

use crate::{
    cpu::{self, CpuPerRequest},
    stats::{Dist, ms},
};

pub const LIST: &str = "query { tickets(first: 20) { edges { cursor node { id title price status version } } pageInfo { hasNextPage endCursor } } }";
pub const GET: &str =
    "query($id: ID!) { ticket(id: $id) { id title price status version sellerId } }";

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub enum Kind {
    /// `tickets(first: 20)`
    List,
    /// `ticket(id)` of a random ticket
    Get,
    /// half and half
    Mixed,
}

#[derive(Clone, Debug, Default, Serialize)]
pub struct LoadResult {
    pub connections: usize,
    pub seconds: f64,
    pub requests: usize,
    pub errors: usize,
    pub qps: f64,
    pub latency: Dist,
    /// The latency of each class of request in a mix (empty when there is one class).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub by_class: Vec<(String, Dist)>,
    /// The server's response cache over the run, when counted.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cache: Option<CacheUse>,
    /// CPU time per request over the measured seconds, when asked for.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cpu: Option<CpuPerRequest>,
}

/// Hits and misses of the server's response cache over a run.
#[derive(Clone, Copy, Debug, Default, Serialize)]
pub struct CacheUse {
    pub hits: f64,
    pub misses: f64,
}

impl CacheUse {
    /// From the counters before and after.
    pub fn between(before: (f64, f64), after: (f64, f64)) -> Self {
        Self {
            hits: after.0 - before.0,
            misses: after.1 - before.1,
        }
    }

    pub fn hit_ratio(&self) -> f64 {
        let all = self.hits + self.misses;
        if all > 0.0 { self.hits / all } else { 0.0 }
    }
}

pub struct LoadRun {
    pub result: LoadResult,
    pub ms: Vec<f64>,
}

/// One request of a mix: its document, its variables, and the class it is counted in (an index
/// into the mix's class names).
pub struct Request {
    pub query: &'static str,
    pub variables: Value,
    pub class: usize,
}

/// What a worker sends next, from its own random generator and its request counter.
pub type Next = Arc<dyn Fn(&mut StdRng, usize) -> Request + Send + Sync>;

/// The browse scenario: `tickets(first: 20)`, `ticket(id)` of random tickets among `ids`, or
/// both in turn.
pub async fn run(
    api: &Client,
    kind: Kind,
    ids: &[String],
    conns: usize,
    warmup: Duration,
    secs: Duration,
) -> LoadRun {
    let ids = Arc::new(ids.to_vec());
    let next: Next = Arc::new(move |rng, i| {
        let list = match kind {
            Kind::List => true,
            Kind::Get => false,
            Kind::Mixed => i % 2 == 0,
        };
        if list {
            Request {
                query: LIST,
                variables: json!({}),
                class: 0,
            }
        } else {
            Request {
                query: GET,
                variables: json!({ "id": ids[rng.random_range(0..ids.len())] }),
                class: 0,
            }
        }
    });
    run_mix(api, &[], next, conns, warmup, secs, None).await
}

/// `conns` workers, each with a connection of its own (one `reqwest::Client` each, so exactly
/// `conns` keep-alive connections), loop for `warmup + secs`, each sending what `next` says; the
/// warm-up is not counted. A request counts when it answers `data` that is not null. With more
/// than one name in `classes`, each class's latency is kept too; with `cpu_of` (the server's
/// pid), the CPU time per request over the measured seconds.
pub async fn run_mix(
    api: &Client,
    classes: &[&str],
    next: Next,
    conns: usize,
    warmup: Duration,
    secs: Duration,
    cpu_of: Option<u32>,
) -> LoadRun {
    let t0 = Instant::now();
    let from = t0 + warmup;
    let until = from + secs;
    let mut tasks = Vec::new();
    for w in 0..conns {
        let next = next.clone();
        let api = Client::new(api.addr);
        tasks.push(tokio::spawn(async move {
            let mut rng = <StdRng as rand::SeedableRng>::from_os_rng();
            let mut lat = Vec::new();
            let mut errors = 0usize;
            let mut i = w;
            loop {
                let now = Instant::now();
                if now >= until {
                    break;
                }
                i += 1;
                let req = next(&mut rng, i);
                let a = api.gql(req.query, req.variables, None).await;
                let done = Instant::now();
                if now < from || done > until {
                    continue;
                }
                match a {
                    Ok(Answer::Data(d)) if !d.is_null() => lat.push((req.class, ms(done - now))),
                    _ => errors += 1,
                }
            }
            (lat, errors)
        }));
    }
    let mut snapshots = None;
    if let Some(pid) = cpu_of {
        tokio::time::sleep_until(from.into()).await;
        let a = cpu::snapshot(pid);
        tokio::time::sleep_until(until.into()).await;
        snapshots = Some((a, cpu::snapshot(pid)));
    }
    let mut lat = Vec::new();
    let mut errors = 0;
    for t in tasks {
        if let Ok((l, e)) = t.await {
            lat.extend(l);
            errors += e;
        }
    }
    let by_class = if classes.len() > 1 {
        classes
            .iter()
            .enumerate()
            .map(|(c, name)| {
                let mut these: Vec<f64> = lat
                    .iter()
                    .filter(|(k, _)| *k == c)
                    .map(|(_, v)| *v)
                    .collect();
                ((*name).to_owned(), Dist::of(&mut these))
            })
            .collect()
    } else {
        Vec::new()
    };
    let mut lat: Vec<f64> = lat.into_iter().map(|(_, v)| v).collect();
    let result = LoadResult {
        connections: conns,
        seconds: secs.as_secs_f64(),
        requests: lat.len(),
        errors,
        qps: lat.len() as f64 / secs.as_secs_f64(),
        cache: None,
        cpu: snapshots.map(|(a, b)| cpu::per_request(a, b, lat.len())),
        latency: Dist::of(&mut lat),
        by_class,
    };
    LoadRun { result, ms: lat }
}
