//! Prometheus metrics, served at `/metrics` in the text format.

use std::sync::Arc;

use prometheus_client::{
    encoding::EncodeLabelSet,
    metrics::{counter::Counter, family::Family, gauge::Gauge, histogram::Histogram},
    registry::Registry,
};

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct HttpLabels {
    method: String,
    path: String,
    status: u16,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct PathLabels {
    path: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct EventLabels {
    event: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct StatementLabels {
    verb: &'static str,
    table: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct CodeLabels {
    code: String,
}

struct Inner {
    registry: Registry,
    http_requests: Family<HttpLabels, Counter>,
    http_seconds: Family<PathLabels, Histogram>,
    events_published: Family<EventLabels, Counter>,
    events_relayed: Counter,
    events_unreadable: Counter,
    graphql_errors: Family<CodeLabels, Counter>,
    db_statements: Family<StatementLabels, Counter>,
    db_seconds: Histogram,
    db_failures: Counter,
    websockets: Gauge,
    response_cache: Family<OutcomeLabels, Counter>,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct OutcomeLabels {
    outcome: &'static str,
}

#[derive(Clone)]
pub struct Metrics(Arc<Inner>);

fn latency_histogram() -> Histogram {
    Histogram::new(prometheus_client::metrics::histogram::exponential_buckets(
        0.0005, 2.0, 16,
    ))
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}

impl Metrics {
    pub fn new() -> Self {
        let mut registry = Registry::with_prefix("tickets");
        let http_requests = Family::<HttpLabels, Counter>::default();
        let http_seconds =
            Family::<PathLabels, Histogram>::new_with_constructor(latency_histogram as fn() -> _);
        let events_published = Family::<EventLabels, Counter>::default();
        let events_relayed = Counter::default();
        let events_unreadable = Counter::default();
        let graphql_errors = Family::<CodeLabels, Counter>::default();
        let websockets = Gauge::default();
        let db_statements = Family::<StatementLabels, Counter>::default();
        let db_seconds = latency_histogram();
        let db_failures = Counter::default();
        let response_cache = Family::<OutcomeLabels, Counter>::default();
        registry.register(
            "response_cache",
            "Public reads by how the response cache answered them: hit, or miss (then executed)",
            response_cache.clone(),
        );
        registry.register(
            "db_statements",
            "SQL statements by verb and main table",
            db_statements.clone(),
        );
        registry.register(
            "db_statement_duration_seconds",
            "SQL statement latency",
            db_seconds.clone(),
        );
        registry.register(
            "db_statement_failures",
            "SQL statements that failed",
            db_failures.clone(),
        );
        registry.register(
            "http_requests",
            "HTTP requests by method, route and status",
            http_requests.clone(),
        );
        registry.register(
            "http_request_duration_seconds",
            "HTTP request latency by route",
            http_seconds.clone(),
        );
        registry.register(
            "events_published",
            "Domain events handed to the event bus",
            events_published.clone(),
        );
        registry.register(
            "events_relayed",
            "Domain events published by the outbox relay after a crash or outage",
            events_relayed.clone(),
        );
        registry.register(
            "events_unreadable",
            "Outbox rows the relay could not read (left unpublished; needs an operator)",
            events_unreadable.clone(),
        );
        registry.register(
            "graphql_errors",
            "GraphQL errors by extensions.code",
            graphql_errors.clone(),
        );
        registry.register(
            "websocket_connections",
            "Open GraphQL WebSocket connections",
            websockets.clone(),
        );
        Self(Arc::new(Inner {
            registry,
            http_requests,
            http_seconds,
            events_published,
            events_relayed,
            events_unreadable,
            graphql_errors,
            db_statements,
            db_seconds,
            db_failures,
            websockets,
            response_cache,
        }))
    }

    /// Counts a request. Every label is from a fixed set, whatever the client sends: the method is
    /// one of HTTP's own or `OTHER`, the path a route's pattern, so a client inventing methods
    /// cannot grow `/metrics` (300 random methods had taken it from 8 to 90 KB).
    pub fn http_request(&self, method: &str, path: &str, status: u16, seconds: f64) {
        self.0
            .http_requests
            .get_or_create(&HttpLabels {
                method: known_method(method).to_owned(),
                path: path.to_owned(),
                status,
            })
            .inc();
        self.0
            .http_seconds
            .get_or_create(&PathLabels {
                path: path.to_owned(),
            })
            .observe(seconds);
    }

    pub fn event_published(&self, event: &str) {
        self.0
            .events_published
            .get_or_create(&EventLabels {
                event: event.to_owned(),
            })
            .inc();
    }

    pub fn event_relayed(&self) {
        self.0.events_relayed.inc();
    }

    pub fn event_unreadable(&self) {
        self.0.events_unreadable.inc();
    }

    pub fn graphql_error(&self, code: &str) {
        self.0
            .graphql_errors
            .get_or_create(&CodeLabels {
                code: code.to_owned(),
            })
            .inc();
    }

    pub fn db_statement(&self, sql: &str, seconds: f64, failed: bool) {
        let (verb, table) = classify(sql);
        self.0
            .db_statements
            .get_or_create(&StatementLabels { verb, table })
            .inc();
        self.0.db_seconds.observe(seconds);
        if failed {
            self.0.db_failures.inc();
        }
    }

    /// Counts a public read answered from the response cache (`hit`) or executed (`miss`).
    pub fn response_cache(&self, hit: bool) {
        let outcome = if hit { "hit" } else { "miss" };
        self.0
            .response_cache
            .get_or_create(&OutcomeLabels { outcome })
            .inc();
    }

    /// Counts an open WebSocket until the guard drops.
    pub fn websocket_opened(&self) -> WebSocketGuard {
        self.0.websockets.inc();
        WebSocketGuard(self.clone())
    }

    pub fn render(&self) -> String {
        let mut out = String::new();
        if let Err(err) = prometheus_client::encoding::text::encode(&mut out, &self.0.registry) {
            tracing::error!(error = %err, "cannot encode metrics");
        }
        out
    }
}

pub struct WebSocketGuard(Metrics);

impl Drop for WebSocketGuard {
    fn drop(&mut self) {
        self.0.0.websockets.dec();
    }
}

const TABLES: [&str; 10] = [
    "users",
    "sessions",
    "outbox_events",
    "tickets",
    "orders",
    "events",
    "charges",
    "refunds",
    "processor_events",
    "seaql_migrations",
];

/// The verb and the first of our tables a statement names (bounded label values).
/// The method as a label: HTTP's own methods as they are, anything else `OTHER`.
fn known_method(method: &str) -> &'static str {
    const KNOWN: [&str; 9] = [
        "GET", "HEAD", "POST", "PUT", "DELETE", "CONNECT", "OPTIONS", "TRACE", "PATCH",
    ];
    KNOWN.into_iter().find(|m| *m == method).unwrap_or("OTHER")
}

fn classify(sql: &str) -> (&'static str, &'static str) {
    let head = sql.trim_start();
    let verb = [
        "SELECT", "INSERT", "UPDATE", "DELETE", "BEGIN", "COMMIT", "ROLLBACK",
    ]
    .into_iter()
    .find(|v| head.len() >= v.len() && head[..v.len()].eq_ignore_ascii_case(v))
    .unwrap_or("OTHER");
    let table = TABLES
        .into_iter()
        .filter_map(|t| sql.find(&format!("\"{t}\"")).map(|at| (at, t)))
        .min()
        .map_or("none", |(_, t)| t);
    (verb, table)
}

#[cfg(test)]
mod tests {
    use super::classify;

    #[test]
    fn statements_are_classified_by_verb_and_first_table() {
        assert_eq!(
            classify(r#"SELECT "tickets"."id" FROM "tickets" WHERE 1"#),
            ("SELECT", "tickets")
        );
        assert_eq!(
            classify(r#"UPDATE "orders" SET x FROM "tickets""#),
            ("UPDATE", "orders")
        );
        assert_eq!(
            classify(r#"UPDATE "events" SET "available_count" = "available_count" + $1"#),
            ("UPDATE", "events")
        );
        assert_eq!(
            classify(r#"SELECT "outbox_events"."id" FROM "outbox_events""#),
            ("SELECT", "outbox_events")
        );
        assert_eq!(classify("SELECT 1"), ("SELECT", "none"));
        assert_eq!(classify("begin"), ("BEGIN", "none"));
    }
}
