use serde_json::{Value, json};

use crate::support::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn health_readiness_and_metrics_answer() {
    let (_env, app) = spawn().await;
    let health = app
        .client
        .get(format!("{}/healthz", app.url))
        .send()
        .await
        .unwrap();
    assert_eq!(health.status(), 200);

    let ready = app
        .client
        .get(format!("{}/readyz", app.url))
        .send()
        .await
        .unwrap();
    assert_eq!(ready.status(), 200);
    let ready: Value = ready.json().await.unwrap();
    assert_eq!(ready, json!({ "database": "ok", "lockStore": "ok" }));

    app.gql(
        SIGN_IN,
        json!({ "email": unique_email(), "password": PASSWORD }),
        None,
    )
    .await;
    let metrics = metrics_text(&app).await;
    assert!(
        metrics.contains("tickets_http_requests_total{"),
        "{metrics}"
    );
    assert!(metrics.contains("path=\"/graphql\""), "{metrics}");
    assert!(
        metrics.contains("tickets_graphql_errors_total{code=\"UNAUTHENTICATED\"} 1"),
        "{metrics}"
    );
    assert!(metrics.trim_end().ends_with("# EOF"), "{metrics}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn graphiql_is_served_to_browsers_and_a_placeholder_at_root() {
    let (_env, app) = spawn().await;
    let page = app
        .client
        .get(format!("{}/graphql", app.url))
        .header("accept", "text/html,application/xhtml+xml")
        .send()
        .await
        .unwrap();
    assert_eq!(page.status(), 200);
    let html = page.text().await.unwrap();
    assert!(html.contains("graphiql"), "{html}");
    assert!(
        html.contains("/graphql/ws"),
        "subscriptions configured: {html}"
    );

    let root = app
        .client
        .get(format!("{}/", app.url))
        .send()
        .await
        .unwrap();
    assert_eq!(root.status(), 200);
    assert!(root.text().await.unwrap().contains("<h1>Tickets</h1>"));
}

/// With the web UI built, `/` and every client-side route serve the app, its assets are served
/// as files, and browsers get the UI's bundled GraphiQL at `/graphql`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_built_web_ui_and_its_graphiql_are_served() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("index.html"), "<main id=app></main>").unwrap();
    std::fs::write(
        dir.path().join("graphiql.html"),
        "<div id=bundled-graphiql></div>",
    )
    .unwrap();
    std::fs::create_dir(dir.path().join("assets")).unwrap();
    std::fs::write(dir.path().join("assets/app.js"), "console.log(1)").unwrap();
    let env = TestEnv::new().await;
    let app = env
        .spawn_with(&[("WEB_DIR", dir.path().to_str().unwrap())])
        .await;
    let get = |path: &str, accept: &str| {
        app.client
            .get(format!("{}{path}", app.url))
            .header("accept", accept)
            .send()
    };
    for route in [
        "/",
        "/tickets/0190a1b2-0000-7000-8000-000000000000",
        "/orders",
    ] {
        let page = get(route, "text/html").await.unwrap();
        assert_eq!(page.status(), 200, "{route}");
        assert_eq!(
            page.text().await.unwrap(),
            "<main id=app></main>",
            "{route}"
        );
    }
    let asset = get("/assets/app.js", "*/*").await.unwrap();
    assert_eq!(asset.status(), 200);
    assert!(
        asset.headers()["content-type"]
            .to_str()
            .unwrap()
            .contains("javascript")
    );
    let graphiql = get("/graphql", "text/html").await.unwrap();
    assert_eq!(
        graphiql.text().await.unwrap(),
        "<div id=bundled-graphiql></div>"
    );
    // Scripts still get GraphQL at the same URL.
    let api = get("/graphql?query=%7B__typename%7D", "application/json")
        .await
        .unwrap();
    assert_eq!(api.status(), 200);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn get_runs_queries_but_never_mutations() {
    let (_env, app) = spawn().await;
    let ok = app
        .client
        .get(format!("{}/graphql", app.url))
        .query(&[("query", "{ me { id } }")])
        .send()
        .await
        .unwrap();
    assert_eq!(ok.status(), 200);
    let body: Value = ok.json().await.unwrap();
    assert!(
        body["data"]["me"].is_null() && body["errors"].is_null(),
        "{body}"
    );

    let email = unique_email();
    let mutation =
        format!(r#"mutation {{ signUp(email: "{email}", password: "{PASSWORD}") {{ token }} }}"#);
    for (query, op) in [
        (mutation.clone(), None),
        (
            format!(
                "query A {{ me {{ id }} }} {}",
                mutation.replacen("mutation", "mutation B", 1)
            ),
            Some("B"),
        ),
        (
            "query A { me { id } } mutation B { signOut }".to_owned(),
            Some("B"),
        ),
    ] {
        let mut params = vec![("query", query.clone())];
        if let Some(op) = op {
            params.push(("operationName", op.to_owned()));
        }
        let refused = app
            .client
            .get(format!("{}/graphql", app.url))
            .query(&params)
            .send()
            .await
            .unwrap();
        assert_eq!(refused.status(), 405, "{query}");
        let body: Value = refused.json().await.unwrap();
        assert_eq!(error_code(&body), Some("BAD_USER_INPUT"), "{body}");
    }
    // The refused mutation created nothing.
    assert_eq!(
        error_code(&app.sign_in(&email, PASSWORD).await),
        Some("UNAUTHENTICATED")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_post_that_is_not_json_is_refused_and_changes_nothing() {
    let (_env, app) = spawn().await;
    let email = unique_email();
    let query =
        format!(r#"mutation {{ signUp(email: "{email}", password: "{PASSWORD}") {{ token }} }}"#);
    for content_type in [
        "application/x-www-form-urlencoded",
        "text/plain",
        "multipart/form-data; boundary=x",
    ] {
        let body = json!({ "query": query }).to_string();
        let res = app
            .client
            .post(format!("{}/graphql", app.url))
            .header("content-type", content_type)
            .body(body)
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 415, "{content_type}");
    }
    let res = app
        .client
        .post(format!("{}/graphql", app.url))
        .body(json!({ "query": query }).to_string())
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 415, "no content type");
    assert_eq!(
        error_code(&app.sign_in(&email, PASSWORD).await),
        Some("UNAUTHENTICATED")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn oversized_bodies_get_413() {
    let (_env, app) = spawn().await;
    let padding = "x".repeat(1024 * 1024 + 1);
    let res = app
        .client
        .post(format!("{}/graphql", app.url))
        .header("content-type", "application/json")
        .body(json!({ "query": "{ me { id } }", "variables": { "p": padding } }).to_string())
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 413);
    let body: Value = res.json().await.expect("a JSON body, as every refusal");
    assert_eq!(
        body["errors"][0]["extensions"]["code"], "BAD_USER_INPUT",
        "{body}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn malformed_and_invalid_documents_get_bad_user_input() {
    let (_env, app) = spawn().await;
    for query in [
        "{ me { id ",
        "{ nope }",
        "mutation { signUp(email: 1) { token } }",
    ] {
        let body = app.gql(query, json!({}), None).await;
        assert_eq!(error_code(&body), Some("BAD_USER_INPUT"), "{query}: {body}");
        assert!(
            body["errors"][0]["extensions"]["fields"].is_array(),
            "{body}"
        );
    }
    let res = app
        .client
        .post(format!("{}/graphql", app.url))
        .header("content-type", "application/json")
        .body("{not json")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 400);
    let body: Value = res.json().await.unwrap();
    assert_eq!(error_code(&body), Some("BAD_USER_INPUT"), "{body}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn batches_beyond_the_limit_are_refused() {
    let (_env, app) = spawn().await;
    let one = json!({ "query": "{ me { id } }" });
    let ok: Value = app
        .client
        .post(format!("{}/graphql", app.url))
        .json(&vec![one.clone(); 2])
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(ok.as_array().map(Vec::len), Some(2), "{ok}");
    let refused = app
        .client
        .post(format!("{}/graphql", app.url))
        .json(&vec![one; 11])
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status(), 400);
    // An array is a batch, never one request read by position.
    for body in ["[]", r#"["{ __typename }"]"#] {
        let refused = app
            .client
            .post(format!("{}/graphql", app.url))
            .header("content-type", "application/json")
            .body(body)
            .send()
            .await
            .unwrap();
        assert_eq!(refused.status(), 400, "{body}");
    }
}

/// graphql-js's `getIntrospectionQuery()` as GraphiQL sends it, with its nine levels of `ofType`.
const INTROSPECTION: &str = r#"
query IntrospectionQuery {
  __schema {
    queryType { name } mutationType { name } subscriptionType { name }
    types { ...FullType }
    directives { name description locations args { ...InputValue } }
  }
}
fragment FullType on __Type {
  kind name description
  fields(includeDeprecated: true) {
    name description args { ...InputValue } type { ...TypeRef } isDeprecated deprecationReason
  }
  inputFields { ...InputValue }
  interfaces { ...TypeRef }
  enumValues(includeDeprecated: true) { name description isDeprecated deprecationReason }
  possibleTypes { ...TypeRef }
}
fragment InputValue on __InputValue { name description type { ...TypeRef } defaultValue }
fragment TypeRef on __Type {
  kind name
  ofType { kind name ofType { kind name ofType { kind name ofType { kind name ofType { kind name
  ofType { kind name ofType { kind name ofType { kind name ofType { kind name } } } } } } } } }
}"#;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn graphiql_introspection_passes_the_limits_that_stop_deeper_queries() {
    let (_env, app) = spawn().await;
    let body = app.gql(INTROSPECTION, json!({}), None).await;
    assert!(body["errors"].is_null(), "{body}");
    assert!(body["data"]["__schema"]["types"].as_array().unwrap().len() > 5);

    // Depth 20: past the limit of 16 that GraphiQL's own query (depth 14) stays under.
    let deep = format!(
        "{{ __schema {{ types {{ fields {{ type {{ {}name{} }} }} }} }} }}",
        "ofType { ".repeat(15),
        " }".repeat(15)
    );
    let body = app.gql(&deep, json!({}), None).await;
    assert_eq!(error_code(&body), Some("BAD_USER_INPUT"), "{body}");
    assert!(body["data"].is_null(), "{body}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_schema_is_a_federation_subgraph_that_keeps_emails_private() {
    let (_env, app) = spawn().await;
    let body = app.gql("{ _service { sdl } }", json!({}), None).await;
    let sdl = body["data"]["_service"]["sdl"].as_str().expect("sdl");
    assert!(sdl.contains("@key(fields: \"id\")"), "{sdl}");
    assert!(sdl.contains("federation/v2"), "{sdl}");

    let owner = app.sign_up(&unique_email()).await;
    let other = app.sign_up(&unique_email()).await;
    let query =
        r#"query($r: [_Any!]!) { _entities(representations: $r) { ... on User { id email } } }"#;
    let reps = json!({ "r": [{ "__typename": "User", "id": owner.user_id }] });
    let mine = app.gql(query, reps.clone(), Some(&owner.token)).await;
    assert_eq!(
        mine["data"]["_entities"][0]["email"],
        owner.email.as_str(),
        "{mine}"
    );
    let theirs = app.gql(query, reps.clone(), Some(&other.token)).await;
    assert!(theirs["data"]["_entities"][0].is_null(), "{theirs}");
    let anonymous = app.gql(query, reps, None).await;
    assert!(anonymous["data"]["_entities"][0].is_null(), "{anonymous}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn internal_errors_reveal_nothing() {
    use sea_orm::ConnectionTrait;
    let (env, app) = spawn().await;
    let email = unique_email();
    app.sign_up(&email).await;
    // Break the database under the running server.
    env.db()
        .await
        .execute_unprepared("DROP TABLE sessions")
        .await
        .unwrap();
    let body = app.sign_in(&email, PASSWORD).await;
    assert_eq!(error_code(&body), Some("INTERNAL_SERVER_ERROR"), "{body}");
    assert_eq!(body["errors"][0]["message"], "internal server error");
    let text = body.to_string().to_lowercase();
    for leak in ["session", "table", "relation", "sql", "database"] {
        assert!(!text.contains(leak), "{leak:?} leaked: {body}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn get_selects_an_operation_by_name_with_variables() {
    let (_env, app) = spawn().await;
    let res = app
        .client
        .get(format!("{}/graphql", app.url))
        .query(&[
            ("query", "query A { me { id } } query B($r: [_Any!]!) { _entities(representations: $r) { __typename } }"),
            ("operationName", "B"),
            ("variables", r#"{"r": []}"#),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["data"], json!({ "_entities": [] }), "{body}");
}

/// Readiness follows the stores: 503 while one is down, 200 again when it is back.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn readiness_reports_a_lost_lock_store_or_database() {
    use sea_orm::ConnectionTrait;
    if backend() != Backend::PostgresRedis {
        return;
    }
    let redis = PrivateRedis::start();
    let env = TestEnv::new().await;
    let app = env.spawn_with(&[("REDIS_URL", redis.url.as_str())]).await;
    let ready = |app: &TestApp| {
        let req = app.client.get(format!("{}/readyz", app.url)).send();
        async move {
            let res = req.await.unwrap();
            (res.status().as_u16(), res.json::<Value>().await.unwrap())
        }
    };
    assert_eq!(ready(&app).await.0, 200);

    redis.stop();
    let (status, body) = ready(&app).await;
    assert_eq!(
        (status, &body["lockStore"]),
        (503, &json!("unavailable")),
        "{body}"
    );
    redis.restart();
    assert!(
        eventually(std::time::Duration::from_secs(10), || async {
            ready(&app).await.0 == 200
        })
        .await,
        "ready again once Redis is back"
    );

    // The database goes away under the server.
    let name = env.database_url.rsplit('/').next().unwrap().to_owned();
    let admin = sea_orm::Database::connect("postgres://postgres@127.0.0.1:5432/postgres")
        .await
        .unwrap();
    admin
        .execute_unprepared(&format!("DROP DATABASE \"{name}\" WITH (FORCE)"))
        .await
        .unwrap();
    let (status, body) = ready(&app).await;
    assert_eq!(
        (status, &body["database"]),
        (503, &json!("unavailable")),
        "{body}"
    );
}

/// With `METRICS_PORT`, metrics move to that port (with the probes) and leave the public one, so an
/// Ingress routing `/` does not publish them.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metrics_move_to_their_own_port_when_asked() {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let env = TestEnv::new().await;
    let app = env
        .spawn_with(&[("METRICS_PORT", port.to_string().as_str())])
        .await;
    let public = app
        .client
        .get(format!("{}/metrics", app.url))
        .send()
        .await
        .unwrap();
    // (The public port answers every other path with the web UI.)
    let public = public.text().await.unwrap();
    assert!(
        !public.contains("# EOF") && !public.contains("tickets_"),
        "no metrics on the public port: {public}"
    );
    for path in ["/metrics", "/healthz", "/readyz"] {
        let private = app
            .client
            .get(format!("http://127.0.0.1:{port}{path}"))
            .send()
            .await
            .unwrap();
        assert_eq!(private.status(), 200, "{path}");
    }
    let text = app
        .client
        .get(format!("http://127.0.0.1:{port}/metrics"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(text.trim_end().ends_with("# EOF"), "{text}");
    let graphql = app
        .client
        .get(format!(
            "http://127.0.0.1:{port}/graphql?query=%7B__typename%7D"
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(graphql.status(), 404, "only operations on the metrics port");
}

/// Every response names its request (`x-request-id`, also on each of its log lines): a new id,
/// or the one the client sent, so a request can be followed from client to log.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_response_carries_its_request_id() {
    let (_env, app) = spawn().await;
    let ask = |id: Option<&'static str>| {
        let mut request = app
            .client
            .post(format!("{}/graphql", app.url))
            .json(&json!({ "query": "{ __typename }" }));
        if let Some(id) = id {
            request = request.header("x-request-id", id);
        }
        request.send()
    };
    let fresh = ask(None).await.unwrap();
    let id = fresh.headers()["x-request-id"].to_str().unwrap().to_owned();
    assert!(uuid::Uuid::parse_str(&id).is_ok(), "{id}");
    let other = ask(None).await.unwrap();
    assert_ne!(
        other.headers()["x-request-id"],
        id.as_str(),
        "one id per request"
    );
    let given = ask(Some("client-chosen-42")).await.unwrap();
    assert_eq!(given.headers()["x-request-id"], "client-chosen-42");
    // A long or odd one is not repeated on every log line: the request gets a new id.
    let long: &'static str = Box::leak("x".repeat(4000).into_boxed_str());
    for odd in [long, "has spaces", "quote\"d"] {
        let replaced = ask(Some(odd)).await.unwrap();
        let id = replaced.headers()["x-request-id"]
            .to_str()
            .unwrap()
            .to_owned();
        assert!(
            uuid::Uuid::parse_str(&id).is_ok(),
            "{odd:.20} kept as {id:.20}"
        );
    }
}
