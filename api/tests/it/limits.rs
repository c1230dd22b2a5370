//! Abuse limits: each configurable, each refused with a clear code, none changing anything.

use std::time::Duration;

use serde_json::{Value, json};

use crate::{market::*, support::*};

fn message(body: &Value) -> &str {
    body["errors"][0]["message"].as_str().unwrap_or_default()
}

/// Aliases cannot multiply one request: at most `MAX_ROOT_FIELDS` root fields per operation,
/// fragments counted, and a refused mutation runs none of its fields.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_operation_carries_at_most_max_root_fields() {
    let env = TestEnv::new().await;
    let app = env.spawn_with(&[("MAX_ROOT_FIELDS", "3")]).await;
    let m = Market::open(&app).await;
    let three = "{ a: __typename b: __typename c: __typename }";
    let ok = app.gql(three, json!({}), None).await;
    assert_eq!(ok["data"]["c"], "Query", "{ok}");

    let four = "{ a: __typename b: __typename c: __typename d: __typename }";
    let through_fragments = "query { ...F ... on Query { c: __typename d: __typename } }
        fragment F on Query { a: __typename b: __typename }";
    for query in [four, through_fragments] {
        let body = app.gql(query, json!({}), None).await;
        assert_eq!(error_code(&body), Some("BAD_USER_INPUT"), "{body}");
        assert!(message(&body).contains("at most 3"), "{body}");
        assert!(body["data"].is_null(), "{body}");
    }

    let hoard = format!(
        "mutation {{ {} }}",
        (0..4)
            .map(|n| format!(
                "o{n}: createOrder(ticketId: \"{}\") {{ id }}",
                m.ticket_id().as_str().unwrap()
            ))
            .collect::<Vec<_>>()
            .join(" ")
    );
    let body = app.gql(&hoard, json!({}), Some(&m.buyer.token)).await;
    assert_eq!(error_code(&body), Some("BAD_USER_INPUT"), "{body}");
    assert_eq!(
        ticket(&app, m.ticket_id()).await["status"],
        "AVAILABLE",
        "nothing ran"
    );
}

/// A ticket's fields through fragments where F1 spreads F2 twice, F2 spreads F3 twice, …: `n`
/// fragments, under 50 bytes each, select 2^(n-1) fields once expanded, at one root field.
fn fan_out(n: usize) -> String {
    let mut q = String::from("query { tickets(first: 1) { edges { node { ...F1 } } } }\n");
    for i in 1..n {
        q.push_str(&format!(
            "fragment F{i} on Ticket {{ ...F{0} ...F{0} }}\n",
            i + 1
        ));
    }
    q.push_str(&format!("fragment F{n} on Ticket {{ id }}\n"));
    q
}

/// Fragments that double at every level are measured once each: a document of a few hundred
/// bytes that would expand to a million selections is refused before any walk expands it (on the
/// code before this check it took seconds of a core and then answered), on every transport, and
/// the server answers others meanwhile.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fragment_fan_out_is_refused_before_it_is_expanded() {
    let (_env, app) = spawn().await;
    let small = app.gql(&fan_out(6), json!({}), None).await;
    assert!(small["data"]["tickets"]["edges"].is_array(), "{small}");

    let huge = fan_out(21);
    assert!(huge.len() < 1300, "{}", huge.len());
    let body = app.gql(&huge, json!({}), None).await;
    assert_eq!(error_code(&body), Some("BAD_USER_INPUT"), "{body}");
    assert!(message(&body).contains("MAX_QUERY_SELECTIONS"), "{body}");
    assert!(body.get("data").is_none_or(Value::is_null), "{body}");

    // The same over GET and over a WebSocket.
    let get: Value = reqwest::Client::new()
        .get(format!("{}/graphql", app.url))
        .query(&[("query", huge.as_str())])
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(message(&get).contains("MAX_QUERY_SELECTIONS"), "{get}");
    let mut ws = WsClient::connect(&app, WsOptions::default()).await;
    let subscription = huge.replacen(
        "query { tickets(first: 1) { edges { node",
        "subscription { ticketCreated { ... on Ticket",
        1,
    );
    ws.subscribe("fan", &subscription.replacen("} } } }", "} } }", 1))
        .await;
    let refused = ws
        .next_message(Duration::from_secs(10))
        .await
        .expect("an answer");
    assert!(
        refused.to_string().contains("MAX_QUERY_SELECTIONS"),
        "{refused}"
    );
}

/// A query text longer than `MAX_QUERY_BYTES` is refused before it is parsed (four 1 MB
/// `{ a a a … }` documents had taken the server to 685 MiB), while variables may still use the
/// rest of the body.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_query_longer_than_max_query_bytes_is_refused_unparsed() {
    let env = TestEnv::new().await;
    let app = env.spawn_with(&[("MAX_QUERY_BYTES", "2048")]).await;
    let wide = format!("{{ {} }}", "a ".repeat(1500));
    let body = app.gql(&wide, json!({}), None).await;
    assert_eq!(error_code(&body), Some("BAD_USER_INPUT"), "{body}");
    assert!(message(&body).contains("MAX_QUERY_BYTES"), "{body}");
    // A document that does not even parse is refused for its length, not its syntax.
    let junk = "{".repeat(3000);
    let body = app.gql(&junk, json!({}), None).await;
    assert!(message(&body).contains("MAX_QUERY_BYTES"), "{body}");
    let get = reqwest::Client::new()
        .get(format!("{}/graphql", app.url))
        .query(&[("query", junk.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(get.status(), 400);
    let get: Value = get.json().await.unwrap();
    assert!(message(&get).contains("MAX_QUERY_BYTES"), "{get}");

    // Variables are not the query: a long title in a variable is judged by the title's rule.
    let seller = app.sign_up(&unique_email()).await;
    let body = app
        .gql(
            "mutation($i: CreateTicketInput!) { createTicket(input: $i) { id } }",
            json!({ "i": { "title": "x".repeat(5000), "price": "1.00" } }),
            Some(&seller.token),
        )
        .await;
    assert_eq!(error_fields(&body), ["title"], "{body}");
}

/// A nest of fields and fragments deeper than the recursion limit is refused, whichever way the
/// nesting is written.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn nesting_through_fragments_is_held_to_the_recursion_limit() {
    let (_env, app) = spawn().await;
    let mut deep = String::from("{ ...F0 }");
    for i in 0..20 {
        deep.push_str(&format!(
            " fragment F{i} on Query {{ ... on Query {{ ...F{} }} }}",
            i + 1
        ));
    }
    deep.push_str(" fragment F20 on Query { __typename }");
    let body = app.gql(&deep, json!({}), None).await;
    assert_eq!(error_code(&body), Some("BAD_USER_INPUT"), "{body}");
    assert!(message(&body).contains("levels deep"), "{body}");
}

/// One WebSocket holds at most `WS_MAX_SUBSCRIPTIONS` live subscriptions; completing one frees
/// its place.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_websocket_holds_at_most_ws_max_subscriptions() {
    let env = TestEnv::new().await;
    let app = env.spawn_with(&[("WS_MAX_SUBSCRIPTIONS", "2")]).await;
    let seller = app.sign_up(&unique_email()).await;
    let mut ws = WsClient::connect(&app, WsOptions::default()).await;
    for id in ["a", "b", "c"] {
        ws.subscribe(id, "subscription { ticketCreated { id } }")
            .await;
    }
    // A socket's subscribes are resolved concurrently: which one is refused is not fixed, but
    // exactly one is.
    let mut refused = Vec::new();
    for id in ["a", "b", "c"] {
        if let Some(answer) = ws.next_data(id, Duration::from_millis(1500)).await {
            assert_eq!(
                answer["errors"][0]["extensions"]["code"], "BAD_USER_INPUT",
                "{answer}"
            );
            assert!(
                answer["errors"][0]["message"]
                    .as_str()
                    .unwrap()
                    .contains("at most 2"),
                "{answer}"
            );
            refused.push(id);
        }
    }
    assert_eq!(refused.len(), 1, "refused: {refused:?}");
    let accepted: Vec<&str> = ["a", "b", "c"]
        .into_iter()
        .filter(|id| !refused.contains(id))
        .collect();
    // The two within the limit work.
    create_ticket(&app, &seller.token, "Live", "5").await;
    for id in &accepted {
        assert!(
            ws.next_data(id, Duration::from_secs(5)).await.is_some(),
            "{id}"
        );
    }
    // Completing one frees its place.
    ws.send(json!({ "id": accepted[0], "type": "complete" }))
        .await;
    tokio::time::sleep(Duration::from_millis(200)).await;
    ws.subscribe("d", "subscription { ticketCreated { id } }")
        .await;
    tokio::time::sleep(Duration::from_millis(200)).await;
    create_ticket(&app, &seller.token, "Again", "5").await;
    let got = ws
        .next_data("d", Duration::from_secs(5))
        .await
        .expect("d runs");
    assert!(got["data"]["ticketCreated"]["id"].is_string(), "{got}");
    // Another connection has its own places.
    let mut other = WsClient::connect(&app, WsOptions::default()).await;
    other
        .subscribe("x", "subscription { ticketCreated { id } }")
        .await;
    tokio::time::sleep(Duration::from_millis(200)).await;
    create_ticket(&app, &seller.token, "Third", "5").await;
    assert!(other.next_data("x", Duration::from_secs(5)).await.is_some());
}

/// A socket that never sends `connection_init` is closed with 4408 after
/// `WS_INIT_TIMEOUT_SECONDS`; one that does is kept.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_websocket_that_never_initialises_is_closed_with_4408() {
    let env = TestEnv::new().await;
    let app = env.spawn_with(&[("WS_INIT_TIMEOUT_SECONDS", "1")]).await;
    let mut silent = WsClient::open(&app, &WsOptions::default()).await.unwrap();
    let mut polite = WsClient::connect(&app, WsOptions::default()).await;
    let closed = silent
        .next_message(Duration::from_secs(5))
        .await
        .expect("closed");
    assert_eq!(closed["type"], "close", "{closed}");
    assert_eq!(closed["code"], 4408, "{closed}");
    assert!(
        polite
            .next_message(Duration::from_millis(1500))
            .await
            .is_none(),
        "an initialised socket stays open"
    );
}

/// A message over `WS_MAX_MESSAGE_BYTES` ends that connection, and only that one.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_oversized_websocket_message_closes_that_socket() {
    let env = TestEnv::new().await;
    let app = env.spawn_with(&[("WS_MAX_MESSAGE_BYTES", "1024")]).await;
    let mut ws = WsClient::connect(&app, WsOptions::default()).await;
    let padding = "x".repeat(2000);
    ws.send(json!({ "id": "big", "type": "subscribe", "payload": {
        "query": format!("subscription {{ ticketCreated {{ id }} }} # {padding}") } }))
        .await;
    let closed = ws
        .next_message(Duration::from_secs(5))
        .await
        .unwrap_or(json!({ "type": "close" }));
    assert_eq!(closed["type"], "close", "{closed}");
    assert!(ws.next_message(Duration::from_millis(500)).await.is_none());
    let mut fresh = WsClient::connect(&app, WsOptions::default()).await;
    fresh
        .subscribe("ok", "subscription { ticketCreated { id } }")
        .await;
    assert!(
        fresh
            .next_message(Duration::from_millis(300))
            .await
            .is_none(),
        "healthy"
    );
    let alive = app.gql("{ __typename }", json!({}), None).await;
    assert_eq!(alive["data"]["__typename"], "Query");
}

/// `/metrics` does not grow with what clients invent: 300 requests with made-up methods add one
/// series (`method="OTHER"`), not 300.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn made_up_methods_do_not_grow_the_metrics() {
    let (_env, app) = spawn().await;
    for n in 0..300 {
        let method = reqwest::Method::from_bytes(format!("X{n}ZZY").as_bytes()).unwrap();
        app.client
            .request(method, format!("{}/graphql", app.url))
            .send()
            .await
            .unwrap();
    }
    let metrics = metrics_text(&app).await;
    assert!(!metrics.contains("ZZY"), "a made-up method became a label");
    assert!(metrics.contains("method=\"OTHER\""), "{metrics}");
    assert!(metrics.len() < 16 * 1024, "{} bytes", metrics.len());
}

/// `_entities` resolves tickets through the loader (one query for a batch, where each
/// representation had been a query of its own) and takes at most `MAX_ENTITY_REPRESENTATIONS`
/// representations per operation, counted before anything runs, whether they come in a variable
/// or in the document.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn entity_representations_are_batched_and_bounded() {
    let env = TestEnv::new().await;
    let app = env
        .spawn_with(&[("MAX_ENTITY_REPRESENTATIONS", "50")])
        .await;
    let seller = app.sign_up(&unique_email()).await;
    let ticket = create_ticket(&app, &seller.token, "Entity", "5.00").await;
    const ENTITIES: &str =
        "query($r: [_Any!]!) { _entities(representations: $r) { ... on Ticket { id title } } }";
    let reps = |n: usize| {
        (0..n)
            .map(|i| {
                let id = if i == 0 {
                    ticket["id"].as_str().unwrap().to_owned()
                } else {
                    uuid::Uuid::now_v7().to_string()
                };
                json!({ "__typename": "Ticket", "id": id })
            })
            .collect::<Vec<_>>()
    };

    let before = statements(&app, "SELECT", "tickets").await;
    let body = app.gql(ENTITIES, json!({ "r": reps(50) }), None).await;
    assert_eq!(body["data"]["_entities"][0]["title"], "Entity", "{body}");
    assert_eq!(body["data"]["_entities"].as_array().unwrap().len(), 50);
    let selects = statements(&app, "SELECT", "tickets").await - before;
    assert!(selects <= 2, "{selects} queries for 50 representations");

    let body = app.gql(ENTITIES, json!({ "r": reps(51) }), None).await;
    assert_eq!(error_code(&body), Some("BAD_USER_INPUT"), "{body}");
    assert!(
        message(&body).contains("MAX_ENTITY_REPRESENTATIONS"),
        "{body}"
    );
    let inline = format!(
        "{{ a: _entities(representations: [{0}]) {{ __typename }} b: _entities(representations: \
         [{0}]) {{ __typename }} }}",
        (0..26)
            .map(|_| format!(
                "{{__typename: \"Ticket\", id: \"{}\"}}",
                uuid::Uuid::now_v7()
            ))
            .collect::<Vec<_>>()
            .join(", ")
    );
    let body = app.gql(&inline, json!({}), None).await;
    assert!(
        message(&body).contains("MAX_ENTITY_REPRESENTATIONS"),
        "{body}"
    );
}

/// Queries and mutations sent over a WebSocket take a place among its `WS_MAX_SUBSCRIPTIONS`
/// while they run: with every place held by a subscription, a query is refused (it had run
/// uncounted, so one socket could keep any number of operations in flight); with a place free it
/// runs, and gives the place back.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn websocket_queries_take_a_place_among_its_operations() {
    let env = TestEnv::new().await;
    let app = env.spawn_with(&[("WS_MAX_SUBSCRIPTIONS", "2")]).await;
    let mut ws = WsClient::connect(&app, WsOptions::default()).await;
    ws.subscribe("a", "subscription { ticketCreated { id } }")
        .await;
    ws.subscribe("b", "subscription { ticketCreated { id } }")
        .await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    ws.subscribe("q", "{ __typename }").await;
    let refused = ws.next_data("q", Duration::from_secs(5)).await.unwrap();
    assert_eq!(error_code(&refused), Some("BAD_USER_INPUT"), "{refused}");
    assert!(message(&refused).contains("at most 2"), "{refused}");

    ws.send(json!({ "id": "a", "type": "complete" })).await;
    tokio::time::sleep(Duration::from_millis(200)).await;
    for id in ["q1", "q2", "q3"] {
        ws.subscribe(id, "{ __typename }").await;
        let ran = ws.next_data(id, Duration::from_secs(5)).await.unwrap();
        assert_eq!(ran["data"]["__typename"], "Query", "{id}: {ran}");
    }
}

/// A list nested in a list costs the product of their `first`s: a few hundred bytes asking for
/// 100 events × 100 tickets × their event's 100 tickets (a million rows, one query per event on
/// the way) are refused before anything runs, while a full page of everything a ticket has, or
/// an event page, passes.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn nested_lists_cost_the_product_of_their_pages() {
    let (_env, app) = spawn().await;
    let seller = app.sign_up(&unique_email()).await;
    for i in 0..3 {
        create_ticket(&app, &seller.token, &format!("t{i}"), "5").await;
    }
    let nested = "{ events(first: 100) { edges { node { tickets(first: 100) { edges { node { id
        event { tickets(first: 100) { edges { node { id } } } } } } } } } } }";
    let through_tickets = "{ tickets(first: 100) { edges { node { event { tickets(first: 100) {
        edges { node { event { tickets(first: 100) { edges { node { id } } } } } } } } } } } }";
    for query in [nested, through_tickets] {
        let body = app.gql(query, json!({}), None).await;
        assert_eq!(error_code(&body), Some("BAD_USER_INPUT"), "{body}");
        assert!(message(&body).contains("complex"), "{body}");
        assert!(body["data"].is_null(), "{body}");
    }
    let full_page = format!(
        "{{ tickets(first: 100) {{ edges {{ cursor node {{ {TICKET_FIELDS} eventId }} }} pageInfo {{ hasNextPage endCursor }} }} }}"
    );
    let body = app.gql(&full_page, json!({}), None).await;
    assert_eq!(
        body["data"]["tickets"]["edges"].as_array().map(Vec::len),
        Some(3),
        "{body}"
    );
    let event_page = "query($id: ID!) { event(id: $id) { id name availableCount lowestPrice
        tickets(first: 20, orderBy: PRICE_ASC, status: AVAILABLE) { edges { cursor node {
        id title price status version sellerId event { id name } } } pageInfo { hasNextPage endCursor } } } }";
    let body = app.gql(event_page, json!({ "id": "nope" }), None).await;
    assert!(body["errors"].is_null(), "{body}");
}
