//! Browse: anonymous reads, closed loop, at a fixed number of connections.

use std::time::{Duration, Instant};

use rand::Rng;
use serde::Serialize;
use serde_json::json;

use testkit::{Answer, Client};

use crate::stats::{Dist, ms};

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
}

pub struct LoadRun {
    pub result: LoadResult,
    pub ms: Vec<f64>,
}

/// `conns` workers, each with a connection of its own (one `reqwest::Client` each, so exactly
/// `conns` keep-alive connections), loop for `warmup + secs`; the warm-up is not counted.
pub async fn run(
    api: &Client,
    kind: Kind,
    ids: &[String],
    conns: usize,
    warmup: Duration,
    secs: Duration,
) -> LoadRun {
    let ids = std::sync::Arc::new(ids.to_vec());
    let t0 = Instant::now();
    let from = t0 + warmup;
    let until = from + secs;
    let mut tasks = Vec::new();
    for w in 0..conns {
        let ids = ids.clone();
        let api = Client::new(api.addr);
        tasks.push(tokio::spawn(async move {
            let mut rng = <rand::rngs::StdRng as rand::SeedableRng>::from_os_rng();
            let mut lat = Vec::new();
            let mut errors = 0usize;
            let mut i = w;
            loop {
                let now = Instant::now();
                if now >= until {
                    break;
                }
                i += 1;
                let list = match kind {
                    Kind::List => true,
                    Kind::Get => false,
                    Kind::Mixed => i % 2 == 0,
                };
                let a = if list {
                    api.gql(LIST, json!({}), None).await
                } else {
                    let id = &ids[rng.random_range(0..ids.len())];
                    api.gql(GET, json!({ "id": id }), None).await
                };
                let done = Instant::now();
                if now < from || done > until {
                    continue;
                }
                match a {
                    Ok(Answer::Data(d)) if !d.is_null() => lat.push(ms(done - now)),
                    _ => errors += 1,
                }
            }
            (lat, errors)
        }));
    }
    let mut lat = Vec::new();
    let mut errors = 0;
    for t in tasks {
        if let Ok((l, e)) = t.await {
            lat.extend(l);
            errors += e;
        }
    }
    let result = LoadResult {
        connections: conns,
        seconds: secs.as_secs_f64(),
        requests: lat.len(),
        errors,
        qps: lat.len() as f64 / secs.as_secs_f64(),
        latency: Dist::of(&mut lat),
    };
    LoadRun { result, ms: lat }
}
