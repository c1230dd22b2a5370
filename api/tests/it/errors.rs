//! The error bodies clients see, one of each kind, as snapshots (`snapshots/`): a change to a
//! code, a message, a field list or the shape of `extensions` shows up as a diff to review, on
//! both backends (they share the snapshots). Accept an intended change with `cargo insta review`
//! or by running the tests with `INSTA_UPDATE=always`.

use serde_json::{Value, json};

use crate::support::*;

/// The status and body of a POST, for a snapshot.
async fn answer(app: &TestApp, query: &str, variables: Value, token: Option<&str>) -> Value {
    let response = app.post(query, variables, token).await;
    let status = response.status().as_u16();
    json!({ "status": status, "body": response.json::<Value>().await.unwrap() })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn error_bodies_keep_their_shape() {
    let (_env, app) = spawn().await;
    let seller = app.sign_up(&unique_email()).await;
    let buyer = app.sign_up(&unique_email()).await;
    let created = app
        .gql(
            r#"mutation { createTicket(input: { title: "Gig", price: "20.00" }) { id } }"#,
            json!({}),
            Some(&seller.token),
        )
        .await;
    let ticket = created["data"]["createTicket"]["id"]
        .as_str()
        .unwrap()
        .to_owned();

    let create = "mutation($t: String!, $p: Decimal!) { createTicket(input: { title: $t, price: $p }) { id } }";
    insta::assert_json_snapshot!(
        "unauthenticated",
        answer(&app, create, json!({ "t": "Gig", "p": "20.00" }), None).await
    );
    insta::assert_json_snapshot!(
        "bad_user_input_fields",
        answer(
            &app,
            create,
            json!({ "t": "  ", "p": "0.001" }),
            Some(&seller.token)
        )
        .await
    );
    insta::assert_json_snapshot!(
        "not_found",
        answer(
            &app,
            "mutation($id: ID!) { cancelOrder(id: $id) { id } }",
            json!({ "id": "00000000-0000-7000-8000-000000000000" }),
            Some(&buyer.token)
        )
        .await
    );
    let order =
        "mutation($id: ID!, $v: Int) { createOrder(ticketId: $id, expectedVersion: $v) { id } }";
    insta::assert_json_snapshot!(
        "forbidden",
        answer(&app, order, json!({ "id": ticket }), Some(&seller.token)).await
    );
    insta::assert_json_snapshot!(
        "conflict_stale_version",
        answer(
            &app,
            order,
            json!({ "id": ticket, "v": 9 }),
            Some(&buyer.token)
        )
        .await
    );
    insta::assert_json_snapshot!(
        "malformed_document",
        answer(&app, "{ tickets(first: 1) { edges ", json!({}), None).await
    );
    // What a client of the GraphQL-over-HTTP specification gets for the same: 400, its own type.
    let strict = app
        .client
        .post(format!("{}/graphql", app.url))
        .header("accept", "application/graphql-response+json")
        .json(&json!({ "query": "{ tickets(first: 1) { edges " }))
        .send()
        .await
        .unwrap();
    let content_type = strict.headers()["content-type"]
        .to_str()
        .unwrap()
        .to_owned();
    let status = strict.status().as_u16();
    insta::assert_json_snapshot!(
        "malformed_document_graphql_response",
        json!({ "status": status, "content-type": content_type,
                "body": strict.json::<Value>().await.unwrap() })
    );
    insta::assert_json_snapshot!(
        "unknown_field",
        answer(&app, "{ tickets { nope } }", json!({}), None).await
    );

    let paid = app
        .gql(order, json!({ "id": ticket }), Some(&buyer.token))
        .await;
    let order_id = paid["data"]["createOrder"]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    insta::assert_json_snapshot!(
        "payment_failed",
        answer(
            &app,
            "mutation($id: ID!) { payOrder(orderId: $id, token: \"tok_chargeDeclined\") { id } }",
            json!({ "id": order_id }),
            Some(&buyer.token)
        )
        .await
    );

    let email = unique_email();
    app.sign_up(&email).await;
    let mut last = Value::Null;
    for _ in 0..11 {
        last = answer(
            &app,
            "mutation($e: String!) { signIn(email: $e, password: \"wrong-password\") { token } }",
            json!({ "e": email }),
            None,
        )
        .await;
    }
    insta::assert_json_snapshot!("rate_limited", last, {
        ".body.errors[].extensions.retryAfterSeconds" => "[seconds]",
    });

    let not_json = app
        .client
        .post(format!("{}/graphql", app.url))
        .header("content-type", "text/plain")
        .body("{ __typename }")
        .send()
        .await
        .unwrap();
    let status = not_json.status().as_u16();
    insta::assert_json_snapshot!(
        "not_json",
        json!({ "status": status, "body": not_json.json::<Value>().await.unwrap() })
    );
}
