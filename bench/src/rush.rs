//! Rush: many buyers, each with its own session, reserve random tickets until none is left.

use std::{
    collections::HashMap,
    sync::{Arc, Mutex},
    time::{Duration, Instant},
};

use rand::Rng;
use serde::Serialize;
use serde_json::json;

use testkit::{Answer, Client};

use crate::stats::{Dist, ms};

pub const CREATE_ORDER: &str = "mutation($t: ID!) { createOrder(ticketId: $t) { id } }";

/// The tickets no buyer has yet seen taken. Buyers share what they learn (as a live listing
/// would tell them): a ticket leaves the set once someone reserved it or got `CONFLICT` for it.
struct Available {
    ids: Vec<u32>,
    /// Where each ticket sits in `ids`, or `u32::MAX` once it left.
    pos: Vec<u32>,
}

impl Available {
    fn new(n: usize) -> Self {
        Self {
            ids: (0..n as u32).collect(),
            pos: (0..n as u32).collect(),
        }
    }
    fn pick(&self, rng: &mut impl Rng) -> Option<u32> {
        (!self.ids.is_empty()).then(|| self.ids[rng.random_range(0..self.ids.len())])
    }
    fn remove(&mut self, t: u32) {
        let p = self.pos[t as usize];
        if p == u32::MAX {
            return;
        }
        let last = *self.ids.last().expect("non-empty when a position is set");
        self.ids.swap_remove(p as usize);
        if last != t {
            self.pos[last as usize] = p;
        }
        self.pos[t as usize] = u32::MAX;
    }
}

#[derive(Clone, Debug, Default, Serialize)]
pub struct RushResult {
    pub tickets: usize,
    pub buyers: usize,
    pub reservations: usize,
    pub conflicts: usize,
    pub errors: usize,
    pub first_errors: Vec<String>,
    pub elapsed_s: f64,
    /// Successful reservations per second, over the whole rush.
    pub rate: f64,
    /// createOrder requests per second (successes and conflicts).
    pub attempts_rate: f64,
    pub latency_ok: Dist,
    pub latency_conflict: Dist,
    pub latency_all: Dist,
    pub timed_out: bool,
    /// Successful createOrder answers for a ticket some other answer already reserved.
    pub client_double_reservations: usize,
    /// Database after the run: tickets with more than one non-cancelled order.
    pub db_tickets_with_several_live_orders: i64,
    /// Database after the run: non-cancelled orders minus the distinct tickets they hold.
    pub db_orders_minus_distinct_tickets: i64,
    /// Database after the run: non-cancelled orders.
    pub db_live_orders: i64,
    /// Database after the run: tickets still AVAILABLE.
    pub db_available_left: i64,
    /// Oversells, all checks together (0 is the only right answer).
    pub oversells: i64,
    /// SQL statements the server ran per reservation attempt, by verb and table (its /metrics).
    pub statements_per_attempt: Vec<(String, f64)>,
    /// Reservations per 250 ms window, from the start.
    pub series: Vec<(f64, f64)>,
}

pub struct RushRun {
    pub result: RushResult,
    pub ok_ms: Vec<f64>,
}

/// Runs the rush on `tickets` with one task per buyer token; stops picking new tickets after
/// `cap` (reported as `timed_out`).
pub async fn run(api: &Client, tokens: &[String], tickets: &[String], cap: Duration) -> RushRun {
    let avail = Arc::new(Mutex::new(Available::new(tickets.len())));
    let tickets: Arc<Vec<String>> = Arc::new(tickets.to_vec());
    let start = Arc::new(tokio::sync::Barrier::new(tokens.len() + 1));
    let mut tasks = Vec::with_capacity(tokens.len());
    let t0 = Arc::new(Mutex::new(Instant::now()));
    for token in tokens {
        let api = api.clone();
        let token = token.clone();
        let avail = avail.clone();
        let tickets = tickets.clone();
        let start = start.clone();
        let t0 = t0.clone();
        tasks.push(tokio::spawn(async move {
            let mut rng = <rand::rngs::StdRng as rand::SeedableRng>::from_os_rng();
            let mut ok = Vec::new(); // (ticket, latency ms, finished at s)
            let mut conflict = Vec::new();
            let mut errors = Vec::new();
            start.wait().await;
            let begun = *t0.lock().expect("t0");
            loop {
                if begun.elapsed() > cap {
                    return (ok, conflict, errors, true);
                }
                let Some(t) = avail.lock().expect("avail").pick(&mut rng) else {
                    return (ok, conflict, errors, false);
                };
                let sent = Instant::now();
                let answer = api
                    .gql(
                        CREATE_ORDER,
                        json!({ "t": tickets[t as usize] }),
                        Some(&token),
                    )
                    .await;
                let lat = ms(sent.elapsed());
                match answer {
                    Ok(Answer::Data(d)) if d["createOrder"]["id"].is_string() => {
                        avail.lock().expect("avail").remove(t);
                        ok.push((t, lat, begun.elapsed().as_secs_f64()));
                    }
                    Ok(Answer::Error { code, message })
                        if code == "CONFLICT" && !message.contains("unpaid orders") =>
                    {
                        avail.lock().expect("avail").remove(t);
                        conflict.push(lat);
                    }
                    Ok(other) => {
                        errors.push(format!("{other:?}"));
                        tokio::time::sleep(Duration::from_millis(10)).await;
                    }
                    Err(e) => {
                        errors.push(format!("transport: {e:#}"));
                        tokio::time::sleep(Duration::from_millis(10)).await;
                    }
                }
                if errors.len() > 50 {
                    return (ok, conflict, errors, false);
                }
            }
        }));
    }
    *t0.lock().expect("t0") = Instant::now();
    start.wait().await;
    let began = Instant::now();
    let mut ok_all = Vec::new();
    let mut conflicts = Vec::new();
    let mut errors = Vec::new();
    let mut timed_out = false;
    for task in tasks {
        if let Ok((ok, c, e, t)) = task.await {
            ok_all.extend(ok);
            conflicts.extend(c);
            errors.extend(e);
            timed_out |= t;
        }
    }
    let elapsed = began.elapsed().as_secs_f64();
    let mut per_ticket: HashMap<u32, usize> = HashMap::new();
    for (t, _, _) in &ok_all {
        *per_ticket.entry(*t).or_default() += 1;
    }
    let client_double = per_ticket.values().map(|n| n - 1).sum();
    let window = 0.25;
    let mut series = vec![0.0; (elapsed / window).ceil() as usize + 1];
    for (_, _, at) in &ok_all {
        series[(at / window) as usize] += 1.0 / window;
    }
    let mut ok_ms: Vec<f64> = ok_all.iter().map(|(_, l, _)| *l).collect();
    let mut all_ms: Vec<f64> = ok_ms.iter().chain(conflicts.iter()).copied().collect();
    let attempts = ok_all.len() + conflicts.len();
    let result = RushResult {
        tickets: tickets.len(),
        buyers: tokens.len(),
        reservations: ok_all.len(),
        conflicts: conflicts.len(),
        errors: errors.len(),
        first_errors: errors.iter().take(5).cloned().collect(),
        elapsed_s: elapsed,
        rate: ok_all.len() as f64 / elapsed,
        attempts_rate: attempts as f64 / elapsed,
        latency_ok: Dist::of(&mut ok_ms),
        latency_conflict: Dist::of(&mut conflicts),
        latency_all: Dist::of(&mut all_ms),
        timed_out,
        client_double_reservations: client_double,
        series: series
            .into_iter()
            .enumerate()
            .map(|(i, r)| (i as f64 * window, r))
            .collect(),
        ..Default::default()
    };
    RushRun { result, ok_ms }
}

/// Fills in the database checks (run after the rush, against the server's database).
pub async fn check_db(db: &sea_orm::DatabaseConnection, r: &mut RushResult) -> anyhow::Result<()> {
    use crate::server::scalar;
    r.db_tickets_with_several_live_orders = scalar(
        db,
        "SELECT count(*) FROM (SELECT ticket_id FROM orders WHERE status <> 'CANCELLED' \
         GROUP BY ticket_id HAVING count(*) > 1) AS x",
    )
    .await?;
    r.db_live_orders = scalar(
        db,
        "SELECT count(*) FROM orders WHERE status <> 'CANCELLED'",
    )
    .await?;
    r.db_orders_minus_distinct_tickets = r.db_live_orders
        - scalar(
            db,
            "SELECT count(DISTINCT ticket_id) FROM orders WHERE status <> 'CANCELLED'",
        )
        .await?;
    r.db_available_left = scalar(
        db,
        "SELECT count(*) FROM tickets WHERE status = 'AVAILABLE'",
    )
    .await?;
    r.oversells = r.db_tickets_with_several_live_orders.max(0)
        + r.db_orders_minus_distinct_tickets.max(0)
        + r.client_double_reservations as i64;
    Ok(())
}

/// `db_statements_total` counters of a `/metrics` text, by `verb table`.
pub fn statement_counts(metrics: &str) -> HashMap<String, f64> {
    let mut out = HashMap::new();
    for line in metrics.lines() {
        // `tickets_db_statements_total{verb="SELECT",table="orders"} 12` (any namespace prefix).
        let Some(rest) = line
            .find("db_statements_total{")
            .filter(|_| !line.starts_with('#'))
            .map(|i| &line[i + "db_statements_total{".len()..])
        else {
            continue;
        };
        let Some((labels, value)) = rest.split_once("} ") else {
            continue;
        };
        let label = |name: &str| {
            labels
                .split(',')
                .find_map(|kv| kv.strip_prefix(&format!("{name}=\"")))
                .map(|v| v.trim_end_matches('"').to_owned())
                .unwrap_or_default()
        };
        if let Ok(v) = value.trim().parse::<f64>() {
            out.insert(format!("{} {}", label("verb"), label("table")), v);
        }
    }
    out
}

pub fn per_attempt(
    before: &HashMap<String, f64>,
    after: &HashMap<String, f64>,
    attempts: usize,
) -> Vec<(String, f64)> {
    let mut v: Vec<(String, f64)> = after
        .iter()
        .map(|(k, a)| {
            (
                k.clone(),
                (a - before.get(k).copied().unwrap_or(0.0)) / attempts.max(1) as f64,
            )
        })
        .filter(|(_, d)| *d > 0.005)
        .collect();
    v.sort_by(|a, b| b.1.total_cmp(&a.1));
    v
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn available_set_removes_each_once() {
        let mut a = Available::new(5);
        a.remove(2);
        a.remove(2);
        a.remove(4);
        a.remove(0);
        let mut left = a.ids.clone();
        left.sort_unstable();
        assert_eq!(left, vec![1, 3]);
        let mut rng = <rand::rngs::StdRng as rand::SeedableRng>::from_os_rng();
        for _ in 0..20 {
            assert!(matches!(a.pick(&mut rng), Some(1 | 3)));
        }
        a.remove(1);
        a.remove(3);
        assert_eq!(a.pick(&mut rng), None);
    }

    #[test]
    fn statement_counters_parse() {
        let m = "# HELP x\ntickets_db_statements_total{verb=\"SELECT\",table=\"orders\"} 12\n\
                 db_statements_total{verb=\"INSERT\",table=\"outbox_events\"} 4\n";
        let c = statement_counts(m);
        assert_eq!(c["SELECT orders"], 12.0);
        assert_eq!(c["INSERT outbox_events"], 4.0);
    }
}
