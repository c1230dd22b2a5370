//! The plans of the `search` and `event` scenarios' hot queries, as the server runs them.
//!
//! The statements are built as the server's services build them (the same entities, filters,
//! order and limit, so the same SQL text). The server sends each as a prepared statement that
//! its connection keeps (sqlx's statement cache), and PostgreSQL may switch such a statement to
//! a generic plan, blind to the values, after five executions. So on PostgreSQL each statement is
//! `PREPARE`d on a connection of its own, run ten times over the scenario's values, and only
//! then explained: `EXPLAIN (ANALYZE, BUFFERS) EXECUTE`, the plan a warmed-up server connection
//! runs. On SQLite, `EXPLAIN QUERY PLAN` with the values bound.

use chrono::{DateTime, Utc};
use entity::{
    event,
    ticket::{self, TicketStatus},
};
use sea_orm::{
    ColumnTrait, ConnectOptions, ConnectionTrait, Database, DatabaseConnection, DbBackend,
    EntityTrait, QueryFilter, QueryOrder, QuerySelect, QueryTrait, Statement,
    sea_query::{Expr, PostgresQueryBuilder, QueryBuilder},
};
use serde::Serialize;
use uuid::Uuid;

use rand::{Rng, SeedableRng, rngs::StdRng};

use crate::catalogue::{Catalogue, SEARCH_CLASSES, SEARCH_WEIGHTS};

#[derive(Clone, Debug, Default, Serialize)]
pub struct Plan {
    /// What the query is for, and with which value.
    pub query: String,
    /// The statement as the server sends it (placeholders and all).
    pub sql: String,
    /// The plan, one line per line of `EXPLAIN`.
    pub plan: Vec<String>,
    /// The plan's nodes, outermost first, with the rows each produced.
    pub nodes: String,
    /// PostgreSQL: the prepared statement's generic plan (the values unseen when planned).
    pub generic: bool,
    pub seq_scan: bool,
    /// The rows are sorted after they are found (a Sort node on PostgreSQL, a temporary B-tree
    /// on SQLite), rather than read in order from an index.
    pub sort: bool,
    /// PostgreSQL: how many rows the Sort node sorted.
    pub sorted_rows: Option<u64>,
    /// PostgreSQL's own `Execution Time`, ms.
    pub execution_ms: Option<f64>,
    /// Shared buffers hit and read, all nodes.
    pub buffers: String,
    /// A search: the upcoming events it matches, and its class in the mix.
    pub matches: Option<i64>,
    pub class: Option<usize>,
    /// Whether the report prints the whole plan (each class's slowest search, every other query).
    pub detail: bool,
    /// A search on PostgreSQL: the estimated cost of its custom plan (this plan), and the
    /// execution time of the same search on the generic plan.
    pub cost: Option<f64>,
    pub generic_ms: Option<f64>,
}

/// The estimated total cost of a plan's top node.
fn top_cost(plan: &[String]) -> Option<f64> {
    let first = plan.first()?;
    let c = &first[first.find("(cost=")? + 6..];
    c[c.find("..")? + 2..].split(' ').next()?.parse().ok()
}

/// The `events(search: …)` statement for `search`, as `EventService::list` builds it; without
/// `limit`, every match (to count them).
fn search_statement(
    backend: DbBackend,
    search: &str,
    now: DateTime<Utc>,
    limit: Option<u64>,
) -> Statement {
    let terms = api::events::search::Terms::parse(search)
        .ok()
        .flatten()
        .expect("a search with words");
    let mut query = event::Entity::find()
        .filter(event::Column::StartsAt.gt(now))
        .order_by_asc(event::Column::StartsAt)
        .order_by_asc(event::Column::Id)
        .filter(match backend {
            DbBackend::Postgres => Expr::cust_with_values(
                "search_vector @@ to_tsquery('simple', $1)",
                [terms.tsquery()],
            ),
            _ => Expr::cust_with_values(
                "events.id IN (SELECT event_id FROM events_search WHERE events_search MATCH ?)",
                [terms.fts5()],
            ),
        });
    if let Some(limit) = limit {
        query = query.limit(limit);
    }
    query.build(backend)
}

/// `event(id)`, as `events::service::get_model` reads it.
fn event_statement(backend: DbBackend, id: Uuid) -> Statement {
    event::Entity::find_by_id(id).limit(1).build(backend)
}

/// `Event.tickets(first: 20, orderBy: PRICE_ASC, status: AVAILABLE)`, as
/// `TicketService::list_for_event` builds it.
fn tickets_statement(backend: DbBackend, id: Uuid) -> Statement {
    ticket::Entity::find()
        .filter(ticket::Column::EventId.eq(id))
        .filter(ticket::Column::Status.eq(TicketStatus::Available))
        .order_by_asc(ticket::Column::PriceCents)
        .order_by_asc(ticket::Column::Id)
        .limit(21)
        .build(backend)
}

/// `ticket(id)`, as `tickets::service::get_model` reads it.
fn ticket_statement(backend: DbBackend, id: Uuid) -> Statement {
    ticket::Entity::find_by_id(id).limit(1).build(backend)
}

/// `tickets(first: 20, after:)` a ticket's cursor, as `TicketService::list` builds it.
fn page_statement(backend: DbBackend, after: Uuid) -> Statement {
    ticket::Entity::find()
        .order_by_desc(ticket::Column::Id)
        .filter(ticket::Column::Id.lt(after))
        .limit(21)
        .build(backend)
}

/// One statement to explain: what it is for, its class in the search mix (searches only), and
/// for a search the same without its limit, to count the matches.
struct Probe {
    what: String,
    class: Option<usize>,
    statement: Statement,
    count: Option<Statement>,
}

/// Which plan the search statement gets on a server connection. The statement's text is the
/// same for every search, so once a connection has run it five times PostgreSQL may keep one
/// generic plan for all values (`plancache.c`, `choose_custom_plan`): it does when the generic
/// plan's estimated cost is below the mean of the custom plans' so far (each with its planning
/// cost, `1000 × cpu_operator_cost × 2` for one table).
#[derive(Clone, Debug, Default, Serialize)]
pub struct PlanChoice {
    pub generic_cost: f64,
    /// The generic plan's nodes, the same for every value.
    pub generic_nodes: String,
    /// Of 1,000 simulated connections, each running 30 searches drawn from the mix (with these
    /// values for each class), the share that end on the generic plan.
    pub generic_share: f64,
    /// PostgreSQL's execution time per search, weighted by the mix: every search on its custom
    /// plan, and every search on the generic plan.
    pub custom_ms: f64,
    pub generic_ms: f64,
}

/// How many rare words of the search mix are explained (the mix has up to 50).
const RARE_EXPLAINED: usize = 5;

/// The plans of every hot query at the catalogue's current size: on PostgreSQL every search of
/// the mix (but the first few rare words), on SQLite the first of each class (their plans have
/// one shape), the event page's two statements for the biggest event and a median one, and
/// with a `sample` of ticket ids (the scale scenario's) `ticket(id)` and a page after a cursor
/// for its first three.
pub async fn capture(
    database_url: &str,
    backend: DbBackend,
    cat: &Catalogue,
    sample: &[Uuid],
) -> anyhow::Result<(Vec<Plan>, Option<PlanChoice>)> {
    let mut opts = ConnectOptions::new(database_url);
    opts.max_connections(1).sqlx_logging(false);
    let db = Database::connect(opts).await?;
    let now = api::db::now();
    let pg = backend == DbBackend::Postgres;
    let searches = cat.searches();
    let mut search_probes = Vec::new();
    for (class, list) in searches.iter().enumerate() {
        let take = match (pg, class) {
            (false, _) => 1,
            (true, 3) => RARE_EXPLAINED,
            (true, _) => list.len(),
        };
        for q in list.iter().take(take) {
            search_probes.push(Probe {
                what: format!("`events(search: \"{q}\")`, {}", SEARCH_CLASSES[class]),
                class: Some(class),
                statement: search_statement(backend, q, now, Some(21)),
                count: Some(search_statement(backend, q, now, None)),
            });
        }
    }
    let biggest = cat.events.iter().max_by_key(|e| e.tickets);
    let typical = {
        let mut sizes: Vec<_> = cat.events.iter().filter(|e| !e.big).collect();
        sizes.sort_by_key(|e| e.tickets);
        sizes.get(sizes.len() / 2).copied()
    };
    let events: Vec<(String, Uuid)> = [
        biggest.map(|e| (format!("the biggest event ({} tickets)", e.tickets), e.id)),
        typical.map(|e| (format!("a median event ({} tickets)", e.tickets), e.id)),
    ]
    .into_iter()
    .flatten()
    .collect();
    let probe = |what: String, statement: Statement| Probe {
        what,
        class: None,
        statement,
        count: None,
    };
    let groups: Vec<Vec<Probe>> = vec![
        search_probes,
        events
            .iter()
            .map(|(what, id)| {
                probe(
                    format!("`event(id)`, {what}"),
                    event_statement(backend, *id),
                )
            })
            .collect(),
        events
            .iter()
            .map(|(what, id)| {
                probe(
                    format!("`tickets(first: 20, orderBy: PRICE_ASC, status: AVAILABLE)`, {what}"),
                    tickets_statement(backend, *id),
                )
            })
            .collect(),
        sample
            .iter()
            .take(3)
            .map(|id| {
                probe(
                    format!("`ticket(id)`, a random ticket ({id})"),
                    ticket_statement(backend, *id),
                )
            })
            .collect(),
        sample
            .iter()
            .take(3)
            .map(|id| {
                probe(
                    format!("`tickets(first: 20, after:)` a random ticket's cursor ({id})"),
                    page_statement(backend, *id),
                )
            })
            .collect(),
    ];
    let mut plans = Vec::new();
    let mut choice = None;
    for (k, probes) in groups.iter().enumerate() {
        if probes.is_empty() {
            continue;
        }
        let mut these = if pg && k == 0 {
            let (these, c) = explain_pg_search(&db, probes).await?;
            choice = Some(c);
            these
        } else if pg {
            explain_pg(&db, k, probes).await?
        } else {
            let mut v = Vec::new();
            for p in probes {
                v.push(explain_sqlite(&db, &p.what, &p.statement).await?);
            }
            v
        };
        for (plan, p) in these.iter_mut().zip(probes) {
            if let Some(count) = &p.count {
                let sql = format!("SELECT count(*) FROM ({}) AS matches", count.sql);
                let row = db
                    .query_one_raw(Statement {
                        sql,
                        ..count.clone()
                    })
                    .await?;
                plan.matches = row.and_then(|r| r.try_get_by_index::<i64>(0).ok());
            }
            plan.class = p.class;
            plan.detail = p.class.is_none();
        }
        // The full plan of each class's slowest search.
        for class in 0..SEARCH_CLASSES.len() {
            if let Some(slowest) =
                these
                    .iter_mut()
                    .filter(|p| p.class == Some(class))
                    .max_by(|a, b| {
                        a.execution_ms
                            .unwrap_or(0.0)
                            .total_cmp(&b.execution_ms.unwrap_or(0.0))
                    })
            {
                slowest.detail = true;
            }
        }
        plans.extend(these);
    }
    db.close().await?;
    Ok((plans, choice))
}

/// The arguments of an `EXECUTE`, as SQL literals.
fn arguments(st: &Statement) -> String {
    st.values
        .as_ref()
        .map(|v| {
            v.0.iter()
                .map(|v| PostgresQueryBuilder.value_to_string(v))
                .collect::<Vec<_>>()
                .join(", ")
        })
        .unwrap_or_default()
}

async fn lines(
    db: &DatabaseConnection,
    backend: DbBackend,
    sql: String,
) -> anyhow::Result<Vec<String>> {
    let rows = db
        .query_all_raw(Statement::from_string(backend, sql))
        .await?;
    rows.iter()
        .map(|r| Ok(r.try_get_by_index::<String>(0)?))
        .collect()
}

/// The search statement: each search explained on its custom plan and on the generic plan, and
/// which of the two a server connection would settle on.
async fn explain_pg_search(
    db: &DatabaseConnection,
    probes: &[Probe],
) -> anyhow::Result<(Vec<Plan>, PlanChoice)> {
    let sql = probes[0].statement.sql.clone();
    db.execute_unprepared(&format!("PREPARE bench_search AS {sql}"))
        .await?;
    let explain = |st: &Statement| {
        format!(
            "EXPLAIN (ANALYZE, BUFFERS) EXECUTE bench_search({})",
            arguments(st)
        )
    };
    db.execute_unprepared("SET plan_cache_mode = force_custom_plan")
        .await?;
    let mut plans = Vec::new();
    for p in probes {
        let plan = lines(db, DbBackend::Postgres, explain(&p.statement)).await?;
        let mut summary = summarize(&p.what, &sql, plan);
        summary.cost = top_cost(&summary.plan);
        plans.push(summary);
    }
    db.execute_unprepared("SET plan_cache_mode = force_generic_plan")
        .await?;
    let mut generic_cost = 0.0;
    let mut generic_nodes = String::new();
    for (p, plan) in probes.iter().zip(plans.iter_mut()) {
        let g = summarize(
            &p.what,
            &sql,
            lines(db, DbBackend::Postgres, explain(&p.statement)).await?,
        );
        generic_cost = top_cost(&g.plan).unwrap_or(0.0);
        generic_nodes = g
            .nodes
            .split(" → ")
            .map(|n| n.split(" (").next().unwrap_or(n))
            .collect::<Vec<_>>()
            .join(" → ");
        plan.generic_ms = g.execution_ms;
    }
    db.execute_unprepared("RESET plan_cache_mode").await?;
    db.execute_unprepared("DEALLOCATE bench_search").await?;
    let operator: f64 = lines(db, DbBackend::Postgres, "SHOW cpu_operator_cost".into())
        .await?
        .first()
        .and_then(|v| v.parse().ok())
        .unwrap_or(0.0025);
    let planning = 1000.0 * operator * 2.0;

    // Each probe's share of the mix: its class's weight, split among the class's probes.
    let weights: Vec<f64> = probes
        .iter()
        .map(|p| {
            let class = p.class.unwrap_or(0);
            let n = probes.iter().filter(|q| q.class == p.class).count();
            f64::from(SEARCH_WEIGHTS[class]) / n as f64
        })
        .collect();
    let total: f64 = weights.iter().sum();
    let mean = |f: &dyn Fn(&Plan) -> f64| {
        plans
            .iter()
            .zip(&weights)
            .map(|(p, w)| f(p) * w)
            .sum::<f64>()
            / total
    };
    let custom_ms = mean(&|p| p.execution_ms.unwrap_or(0.0));
    let generic_ms = mean(&|p| p.generic_ms.unwrap_or(0.0));
    let mut rng = StdRng::seed_from_u64(5);
    let mut generic = 0;
    const SESSIONS: usize = 1000;
    for _ in 0..SESSIONS {
        let (mut sum, mut n) = (0.0, 0.0);
        for _ in 0..30 {
            if n >= 5.0 && generic_cost < sum / n {
                generic += 1;
                break;
            }
            let mut at = rng.random_range(0.0..total);
            let mut k = 0;
            while k + 1 < weights.len() && at >= weights[k] {
                at -= weights[k];
                k += 1;
            }
            sum += plans[k].cost.unwrap_or(0.0) + planning;
            n += 1.0;
        }
    }
    let choice = PlanChoice {
        generic_cost,
        generic_nodes,
        generic_share: generic as f64 / SESSIONS as f64,
        custom_ms,
        generic_ms,
    };
    Ok((plans, choice))
}

/// One statement (every probe shares its text): prepared, run over every probe's values (ten
/// times at least), then explained with each.
async fn explain_pg(
    db: &DatabaseConnection,
    k: usize,
    probes: &[Probe],
) -> anyhow::Result<Vec<Plan>> {
    let name = format!("bench_plan_{k}");
    let sql = probes[0].statement.sql.clone();
    db.execute_unprepared(&format!("PREPARE {name} AS {sql}"))
        .await?;
    for i in 0..probes.len().max(10) {
        let st = &probes[i % probes.len()].statement;
        db.execute_unprepared(&format!("EXECUTE {name}({})", arguments(st)))
            .await?;
    }
    let mut plans = Vec::new();
    for p in probes {
        let plan = lines(
            db,
            DbBackend::Postgres,
            format!(
                "EXPLAIN (ANALYZE, BUFFERS) EXECUTE {name}({})",
                arguments(&p.statement)
            ),
        )
        .await?;
        plans.push(summarize(&p.what, &sql, plan));
    }
    db.execute_unprepared(&format!("DEALLOCATE {name}")).await?;
    Ok(plans)
}

async fn explain_sqlite(
    db: &DatabaseConnection,
    what: &str,
    st: &Statement,
) -> anyhow::Result<Plan> {
    let rows = db
        .query_all_raw(Statement {
            sql: format!("EXPLAIN QUERY PLAN {}", st.sql),
            ..st.clone()
        })
        .await?;
    let mut depth: Vec<(i64, usize)> = Vec::new();
    let mut plan = Vec::new();
    for r in rows {
        let id: i64 = r.try_get_by_index(0)?;
        let parent: i64 = r.try_get_by_index(1)?;
        let detail: String = r.try_get_by_index(3)?;
        let level = depth
            .iter()
            .find(|(i, _)| *i == parent)
            .map_or(0, |(_, l)| l + 1);
        depth.push((id, level));
        plan.push(format!("{}{detail}", "  ".repeat(level)));
    }
    let nodes = plan
        .iter()
        .map(|l| l.trim().to_owned())
        .collect::<Vec<_>>()
        .join(" → ");
    // No `EXPLAIN ANALYZE` here: the median of five runs on this connection.
    let mut times = Vec::new();
    for _ in 0..5 {
        let t = std::time::Instant::now();
        db.query_all_raw(st.clone()).await?;
        times.push(t.elapsed().as_secs_f64() * 1000.0);
    }
    times.sort_by(f64::total_cmp);
    Ok(Plan {
        execution_ms: Some(times[2]),
        query: what.to_owned(),
        sql: st.sql.clone(),
        seq_scan: plan.iter().any(|l| {
            l.trim_start().starts_with("SCAN ")
                && !l.contains("INDEX")
                && !l.contains("VIRTUAL TABLE")
        }),
        sort: plan
            .iter()
            .any(|l| l.contains("USE TEMP B-TREE FOR ORDER BY")),
        sorted_rows: None,
        nodes,
        plan,
        ..Default::default()
    })
}

/// `rows=N` of a plan line's `actual` part.
fn actual_rows(line: &str) -> Option<u64> {
    let at = line.find("(actual")?;
    let rest = &line[at..];
    let r = rest.find("rows=")?;
    rest[r + 5..]
        .split(|c: char| !c.is_ascii_digit())
        .next()?
        .parse()
        .ok()
}

fn summarize(what: &str, sql: &str, plan: Vec<String>) -> Plan {
    // Plan nodes: the first line, and every line that starts with "->".
    let nodes: Vec<(usize, &str)> = plan
        .iter()
        .enumerate()
        .filter(|(i, l)| *i == 0 || l.trim_start().starts_with("->"))
        .map(|(i, l)| (i, l.as_str()))
        .collect();
    // A node's own lines run to the next node's.
    let filtered = |k: usize| {
        let from = nodes[k].0 + 1;
        let to = nodes.get(k + 1).map_or(plan.len(), |n| n.0);
        plan[from..to].iter().find_map(|l| {
            l.trim()
                .strip_prefix("Rows Removed by Filter: ")
                .and_then(|v| v.parse::<u64>().ok())
        })
    };
    let label = |k: usize, l: &str| {
        let l = l.trim_start().trim_start_matches("->").trim();
        let name = l.split("  (").next().unwrap_or(l).to_owned();
        match (actual_rows(l), filtered(k)) {
            (Some(n), Some(f)) => format!("{name} ({n} rows, {f} filtered out)"),
            (Some(n), None) => format!("{name} ({n} rows)"),
            _ => name,
        }
    };
    let mut sorted_rows = None;
    for (k, (_, l)) in nodes.iter().enumerate() {
        if l.trim_start()
            .trim_start_matches("->")
            .trim()
            .starts_with("Sort")
        {
            // The node under the sort feeds it.
            sorted_rows = nodes.get(k + 1).and_then(|(_, n)| actual_rows(n));
        }
    }
    let execution_ms = plan.iter().find_map(|l| {
        l.trim()
            .strip_prefix("Execution Time: ")
            .and_then(|v| v.trim_end_matches(" ms").parse().ok())
    });
    let buffers = plan
        .iter()
        .find(|l| l.trim_start().starts_with("Buffers:"))
        .map(|l| l.trim().trim_start_matches("Buffers: ").to_owned())
        .unwrap_or_default();
    Plan {
        query: what.to_owned(),
        sql: sql.to_owned(),
        nodes: nodes
            .iter()
            .enumerate()
            .map(|(k, (_, l))| label(k, l))
            .collect::<Vec<_>>()
            .join(" → "),
        generic: plan.iter().any(|l| l.contains("$1")),
        seq_scan: plan.iter().any(|l| l.contains("Seq Scan")),
        sort: nodes.iter().any(|(_, l)| {
            l.trim_start()
                .trim_start_matches("->")
                .trim()
                .starts_with("Sort")
        }),
        sorted_rows,
        execution_ms,
        buffers,
        plan,
        ..Default::default()
    }
}
