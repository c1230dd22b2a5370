//! The ecosystem's own clients and audits, installed from npm (`api/tests/clients/`, `npm ci` on
//! first use and after the lock file changes), run against the real server of this run's backend: what they accept is the measure
//! of speaking GraphQL the standard way.

use std::{
    path::{Path, PathBuf},
    process::Command,
    sync::OnceLock,
};

use serde_json::Value;

use crate::support::*;

/// The clients' folder, installed once per run from its lock file.
fn clients() -> &'static Path {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/clients");
        let modified = |path: PathBuf| std::fs::metadata(path).and_then(|m| m.modified()).ok();
        // Missing, or older than the lock file (a dependency was added since).
        let installed = modified(dir.join("node_modules/.package-lock.json"));
        if installed.is_none() || installed < modified(dir.join("package-lock.json")) {
            let status = Command::new("npm")
                .args(["ci", "--no-audit", "--no-fund", "--loglevel=error"])
                .current_dir(&dir)
                .status()
                .expect("the client checks need Node.js and npm");
            assert!(status.success(), "npm ci in {} failed", dir.display());
        }
        dir
    })
}

/// Runs `node script args…` in the clients' folder; the JSON line it prints last.
async fn node(script: &str, args: &[String]) -> Value {
    let dir = tokio::task::spawn_blocking(clients).await.unwrap();
    let output = tokio::process::Command::new("node")
        .arg(script)
        .args(args)
        .current_dir(dir)
        .output()
        .await
        .expect("node");
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "node {script} failed: {stdout}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    serde_json::from_str(stdout.lines().last().unwrap_or_default())
        .unwrap_or_else(|err| panic!("node {script} printed no JSON ({err}): {stdout}"))
}

/// A new seller and the id of the ticket they list.
async fn listed(app: &TestApp, title: &str, price: &str) -> (Session, String) {
    let seller = app.sign_up(&unique_email()).await;
    let created = app
        .gql(
            "mutation($t: String!, $p: Decimal!) { createTicket(input: { title: $t, price: $p }) { id } }",
            serde_json::json!({ "t": title, "p": price }),
            Some(&seller.token),
        )
        .await;
    let id = created["data"]["createTicket"]["id"]
        .as_str()
        .unwrap_or_else(|| panic!("not listed: {created}"))
        .to_owned();
    (seller, id)
}

/// graphql-http's `serverAudits`, the GraphQL-over-HTTP specification's own: every MUST, SHOULD
/// and MAY passes (61 audits with graphql-http 1.23).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_graphql_over_http_audit_passes_without_warnings() {
    let (_env, app) = spawn().await;
    let report = node("audit.mjs", &[format!("{}/graphql", app.url)]).await;
    let failures = report["failures"].as_array().expect("failures");
    assert!(
        failures.is_empty(),
        "{}",
        serde_json::to_string_pretty(&failures).unwrap()
    );
    assert!(
        report["counts"]["ok"].as_u64().unwrap_or(0) >= 61,
        "the audit ran: {report}"
    );
}

/// Apollo's gateway composes this subgraph with another and runs both directions of a
/// supergraph query: their field on our `Ticket`, and our `Ticket` behind their reference.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn apollo_s_gateway_composes_and_resolves_our_tickets() {
    let (_env, app) = spawn().await;
    let (_seller, id) = listed(&app, "Federated", "12.50").await;
    let report = node(
        "federation.mjs",
        &[format!("{}/graphql", app.url), id.clone()],
    )
    .await;
    assert_eq!(
        report["theirFieldOnOurTicket"],
        serde_json::json!({ "data": { "ticket": {
            "id": id, "title": "Federated", "reviews": [format!("worth it ({id})")] } } }),
        "{report}"
    );
    assert_eq!(
        report["ourTicketFromTheirReference"],
        serde_json::json!({ "data": { "featured": [{ "id": "r1", "ticket": {
            "id": id, "title": "Federated", "price": "12.50", "status": "AVAILABLE" } }] } }),
        "{report}"
    );
}

/// Subscriptions over Server-Sent Events, with graphql-sse's own client: a public stream gets a
/// change, and a signed-in stream ends when its session signs out (as its WebSocket would close).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn graphql_sse_subscribes_and_a_revoked_stream_ends() {
    let (_env, app) = spawn().await;
    let (seller, id) = listed(&app, "Streamed", "3.00").await;
    let report = node(
        "sse.mjs",
        &[
            format!("{}/graphql", app.url),
            seller.token.clone(),
            id.clone(),
        ],
    )
    .await;
    assert_eq!(
        report["updated"]["data"]["updateTicket"]["version"], 2,
        "{report}"
    );
    assert_eq!(
        report["ticketEvents"][0],
        serde_json::json!({ "data": { "ticketUpdated": { "id": id, "title": "Changed over SSE" } } }),
        "{report}"
    );
    assert_eq!(report["signedOut"]["data"]["signOut"], true, "{report}");
    assert_eq!(report["userStream"], "complete", "{report}");
}

/// Automatic persisted queries with urql's own exchange, over POST and over GET: the client's
/// first request is the hash alone and gets `PERSISTED_QUERY_NOT_FOUND`, it resends text and hash,
/// and from then on the hash alone is answered.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn urql_s_persisted_queries_make_the_round_trip_over_post_and_get() {
    let (_env, app) = spawn().await;
    let report = node("apq.mjs", &[format!("{}/graphql", app.url)]).await;
    for method in ["POST", "GET"] {
        let run = &report[method.to_lowercase()];
        let sent: Vec<(String, bool, bool, Value)> = run["sent"]
            .as_array()
            .unwrap_or_else(|| panic!("{report}"))
            .iter()
            .map(|s| {
                (
                    s["method"].as_str().unwrap().to_owned(),
                    s["hasQuery"].as_bool().unwrap(),
                    s["hasHash"].as_bool().unwrap(),
                    s["code"].clone(),
                )
            })
            .collect();
        let m = method.to_owned();
        assert_eq!(
            sent,
            [
                (
                    m.clone(),
                    false,
                    true,
                    Value::from("PERSISTED_QUERY_NOT_FOUND")
                ),
                (m.clone(), true, true, Value::Null),
                (m, false, true, Value::Null),
            ],
            "{report}"
        );
        assert!(run["first"]["tickets"]["edges"].is_array(), "{report}");
        assert_eq!(run["first"], run["second"], "{report}");
    }
}
