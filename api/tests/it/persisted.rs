//! Automatic persisted queries (Apollo's protocol), over POST and GET, and the cache hints of
//! anonymous GETs.

use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use crate::support::*;

fn hash(query: &str) -> String {
    hex::encode(Sha256::digest(query.as_bytes()))
}

fn persisted(query: &str) -> Value {
    json!({ "persistedQuery": { "version": 1, "sha256Hash": hash(query) } })
}

async fn post(app: &TestApp, body: Value, token: Option<&str>) -> Value {
    let mut request = app.client.post(format!("{}/graphql", app.url)).json(&body);
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    request.send().await.unwrap().json().await.unwrap()
}

async fn get(app: &TestApp, params: &[(&str, String)], token: Option<&str>) -> reqwest::Response {
    let mut request = app.client.get(format!("{}/graphql", app.url)).query(params);
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    request.send().await.unwrap()
}

const LIST: &str = "query List { tickets(first: 5) { edges { node { id title } } } }";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unknown_hash_is_answered_then_learned_from_its_text() {
    let (_env, app) = spawn().await;
    // Hash alone, unknown: the code and message clients resend the text on.
    let unknown = post(&app, json!({ "extensions": persisted(LIST) }), None).await;
    assert_eq!(
        error_code(&unknown),
        Some("PERSISTED_QUERY_NOT_FOUND"),
        "{unknown}"
    );
    assert_eq!(unknown["errors"][0]["message"], "PersistedQueryNotFound");
    assert!(unknown.get("data").is_none(), "{unknown}");
    // A step of the protocol, not a failure: 200 even for a client of the HTTP specification.
    let strict = app
        .client
        .post(format!("{}/graphql", app.url))
        .header("accept", "application/graphql-response+json")
        .json(&json!({ "extensions": persisted(LIST) }))
        .send()
        .await
        .unwrap();
    assert_eq!(strict.status(), 200);
    // Text and hash: runs, and is remembered.
    let both = post(
        &app,
        json!({ "query": LIST, "extensions": persisted(LIST) }),
        None,
    )
    .await;
    assert!(both["data"]["tickets"]["edges"].is_array(), "{both}");
    // Hash alone now runs, over POST and over GET.
    let again = post(&app, json!({ "extensions": persisted(LIST) }), None).await;
    assert_eq!(again["data"], both["data"], "{again}");
    let over_get = get(&app, &[("extensions", persisted(LIST).to_string())], None).await;
    assert_eq!(over_get.status(), 200);
    let body: Value = over_get.json().await.unwrap();
    assert_eq!(body["data"], both["data"], "{body}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hash_that_is_not_the_text_s_is_refused_and_a_bad_document_not_remembered() {
    let (_env, app) = spawn().await;
    let wrong = post(
        &app,
        json!({ "query": LIST, "extensions": persisted("{ __typename }") }),
        None,
    )
    .await;
    assert_eq!(error_code(&wrong), Some("BAD_USER_INPUT"), "{wrong}");
    assert_eq!(error_fields(&wrong), ["persistedQuery"], "{wrong}");
    assert!(wrong.get("data").is_none(), "nothing ran: {wrong}");
    // Neither hash was learned from it.
    for query in [LIST, "{ __typename }"] {
        let body = post(&app, json!({ "extensions": persisted(query) }), None).await;
        assert_eq!(
            error_code(&body),
            Some("PERSISTED_QUERY_NOT_FOUND"),
            "{body}"
        );
    }
    // A document that fails validation is not remembered.
    let invalid = "{ tickets { nope } }";
    let refused = post(
        &app,
        json!({ "query": invalid, "extensions": persisted(invalid) }),
        None,
    )
    .await;
    assert_eq!(error_code(&refused), Some("BAD_USER_INPUT"), "{refused}");
    let body = post(&app, json!({ "extensions": persisted(invalid) }), None).await;
    assert_eq!(
        error_code(&body),
        Some("PERSISTED_QUERY_NOT_FOUND"),
        "{body}"
    );
    // A "hash" that is no SHA-256 is refused before any store is asked, with or without text.
    let huge = "f".repeat(100_000);
    for body in [
        json!({ "extensions": { "persistedQuery": { "version": 1, "sha256Hash": huge } } }),
        json!({ "query": LIST, "extensions": { "persistedQuery": { "version": 1, "sha256Hash": "zz" } } }),
    ] {
        let refused = post(&app, body, None).await;
        assert_eq!(error_fields(&refused), ["persistedQuery"], "{refused}");
    }
    // Only version 1 is spoken.
    let v2 = post(
        &app,
        json!({ "query": LIST, "extensions": { "persistedQuery": { "version": 2, "sha256Hash": hash(LIST) } } }),
        None,
    )
    .await;
    assert_eq!(error_fields(&v2), ["persistedQuery"], "{v2}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_persisted_mutation_is_refused_over_get() {
    let (_env, app) = spawn().await;
    let seller = app.sign_up(&unique_email()).await;
    let create = r#"mutation { createTicket(input: { title: "Via GET", price: "5.00" }) { id } }"#;
    let made = post(
        &app,
        json!({ "query": create, "extensions": persisted(create) }),
        Some(&seller.token),
    )
    .await;
    assert!(made["data"]["createTicket"]["id"].is_string(), "{made}");
    let response = get(
        &app,
        &[("extensions", persisted(create).to_string())],
        Some(&seller.token),
    )
    .await;
    assert_eq!(response.status(), 405);
    let mine = app
        .gql(
            "query($s: ID) { tickets(sellerId: $s) { edges { node { title } } } }",
            json!({ "s": seller.user_id }),
            None,
        )
        .await;
    assert_eq!(
        mine["data"]["tickets"]["edges"].as_array().unwrap().len(),
        1,
        "the GET created nothing: {mine}"
    );
}

/// Public reads carry their cache hint for shared caches, but only when anonymous; nothing a
/// viewer reads is marked public.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn anonymous_gets_of_public_reads_are_cacheable_and_nothing_else_is() {
    let (_env, app) = spawn().await;
    let user = app.sign_up(&unique_email()).await;
    let cache_control = |r: &reqwest::Response| {
        r.headers()
            .get("cache-control")
            .map(|v| v.to_str().unwrap().to_owned())
    };
    let anonymous = get(&app, &[("query", LIST.to_owned())], None).await;
    assert_eq!(
        cache_control(&anonymous).as_deref(),
        Some("public, max-age=5")
    );
    let vary = anonymous.headers()["vary"].to_str().unwrap().to_owned();
    for name in ["Accept", "Authorization", "Cookie"] {
        assert!(vary.contains(name), "{vary}");
    }
    let signed_in = get(&app, &[("query", LIST.to_owned())], Some(&user.token)).await;
    assert_eq!(cache_control(&signed_in), None);
    let with_me = get(
        &app,
        &[(
            "query",
            "{ tickets(first: 1) { edges { cursor } } me { id } }".to_owned(),
        )],
        None,
    )
    .await;
    assert_eq!(cache_control(&with_me).as_deref(), Some("public, no-cache"));
    let posted = app.post(LIST, json!({}), None).await;
    assert_eq!(cache_control(&posted), None);
}

/// Every replica knows a hash one of them learned (Redis); in-process there is one replica.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hash_learned_by_one_replica_is_known_to_the_others() {
    if backend() != Backend::PostgresRedis {
        return;
    }
    let env = TestEnv::new().await;
    let (a, b) = (env.spawn().await, env.spawn().await);
    let learned = post(
        &a,
        json!({ "query": LIST, "extensions": persisted(LIST) }),
        None,
    )
    .await;
    assert!(learned["data"].is_object(), "{learned}");
    let known = post(&b, json!({ "extensions": persisted(LIST) }), None).await;
    assert_eq!(known["data"], learned["data"], "{known}");
}
