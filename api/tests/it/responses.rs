//! The response cache (`RESPONSE_CACHE_ENTRIES`): public reads asked again are answered from
//! memory; a writer reads its own write at once; other replicas serve a change once the bus brings
//! it; nothing that depends on who asks is ever given to someone else.

use std::time::Duration;

use serde_json::{Value, json};

use crate::{market::*, support::*};

const READ: &str = "query($id: ID!) { ticket(id: $id) { id title price version status } }";

/// `tickets_response_cache_total{outcome}`.
async fn cache_count(app: &TestApp, outcome: &str) -> u64 {
    let text = metrics_text(app).await;
    let series = format!("tickets_response_cache_total{{outcome=\"{outcome}\"}} ");
    text.lines()
        .find_map(|l| l.strip_prefix(&series))
        .map_or(0, |n| n.trim().parse().unwrap())
}

async fn read(app: &TestApp, id: &Value, token: Option<&str>) -> Value {
    let body = app.gql(READ, json!({ "id": id }), token).await;
    assert!(body.get("errors").is_none(), "{body}");
    body["data"]["ticket"].clone()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_public_read_asked_again_is_a_hit_and_its_writer_reads_the_change_at_once() {
    let (_env, app) = spawn().await;
    let seller = app.sign_up(&unique_email()).await;
    let listed = create_ticket(&app, &seller.token, "Cached", "10").await;
    let id = listed["id"].clone();
    let first = read(&app, &id, None).await;
    let hits = cache_count(&app, "hit").await;
    for _ in 0..3 {
        assert_eq!(read(&app, &id, None).await, first);
    }
    assert_eq!(
        cache_count(&app, "hit").await,
        hits + 3,
        "the same read again is answered from memory"
    );
    // Signed in or not, the same public read is the same answer.
    assert_eq!(read(&app, &id, Some(&seller.token)).await, first);

    for n in 1..=5 {
        let title = format!("Renamed {n}");
        let updated = update_ticket(&app, &seller.token, &id, json!({ "title": title })).await;
        assert!(updated.get("errors").is_none(), "{updated}");
        // The very next read, anyone's, shows it: no cached answer outlives the change.
        let seen = read(&app, &id, None).await;
        assert_eq!(seen["title"], json!(title), "after update {n}: {seen}");
        assert_eq!(seen["version"], json!(1 + n), "{seen}");
        // And the list, a different entry, too.
        let list = app
            .gql(
                "{ tickets(first: 1) { edges { node { title } } } }",
                json!({}),
                None,
            )
            .await;
        assert_eq!(
            list["data"]["tickets"]["edges"][0]["node"]["title"],
            json!(title),
            "{list}"
        );
    }
}

/// The same bytes from two viewers, for a document that reads the viewer: each gets their own.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_answer_that_depends_on_the_viewer_is_never_given_to_another() {
    let (_env, app) = spawn().await;
    let (a, b) = (unique_email(), unique_email());
    let (alice, bob) = (app.sign_up(&a).await, app.sign_up(&b).await);
    create_ticket(&app, &alice.token, "Alice's", "10").await;
    let documents = [
        "{ me { email } tickets(first: 1) { edges { node { title } } } }",
        "{ ...Mine } fragment Mine on Query { me { email } }",
        "query Public { tickets(first: 1) { edges { cursor } } } query Mine { me { email } }",
    ];
    let hits = cache_count(&app, "hit").await;
    for document in documents {
        let op = document.contains("query Mine").then_some("Mine");
        for _ in 0..3 {
            for (who, email) in [(&alice, &a), (&bob, &b), (&alice, &a)] {
                let body = app.graphql_raw(document, op, Some(&who.token)).await;
                assert_eq!(
                    body["data"]["me"]["email"],
                    json!(email),
                    "{document}: {body}"
                );
            }
            let anonymous = app.graphql_raw(document, op, None).await;
            assert_eq!(
                anonymous["data"]["me"],
                Value::Null,
                "{document}: {anonymous}"
            );
        }
    }
    assert_eq!(
        cache_count(&app, "hit").await,
        hits,
        "nothing that reads the viewer was answered from memory"
    );
}

/// A change made on one replica reaches the other replica's cached answers through the bus (the
/// entries' age limit, a minute here, plays no part).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn another_replica_serves_the_change_once_the_bus_brings_it() {
    if backend() != Backend::PostgresRedis {
        return;
    }
    let env = TestEnv::new().await;
    let slow = [("RESPONSE_CACHE_MAX_AGE_MS", "60000")];
    let (writer, reader) = (
        Replica::start(&env, &slow).await,
        Replica::start(&env, &slow).await,
    );
    let seller = writer.app.sign_up(&unique_email()).await;
    let id = create_ticket(&writer.app, &seller.token, "Shared", "10").await["id"].clone();
    // The reader has it cached (the second read is a hit).
    assert!(
        eventually(Duration::from_secs(5), || async {
            read(&reader.app, &id, None).await["title"] == json!("Shared")
        })
        .await
    );
    let hits = cache_count(&reader.app, "hit").await;
    read(&reader.app, &id, None).await;
    assert_eq!(cache_count(&reader.app, "hit").await, hits + 1);

    for n in 1..=5 {
        let title = format!("Changed {n}");
        let updated =
            update_ticket(&writer.app, &seller.token, &id, json!({ "title": title })).await;
        assert!(updated.get("errors").is_none(), "{updated}");
        assert!(
            eventually(Duration::from_secs(5), || async {
                read(&reader.app, &id, None).await["title"] == json!(title)
            })
            .await,
            "the reader never served change {n}"
        );
    }
}
