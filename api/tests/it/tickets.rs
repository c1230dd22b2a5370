use std::time::Duration;

use serde_json::{Value, json};

use crate::{market::*, support::*};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_signed_in_seller_lists_a_ticket() {
    let (_env, app) = spawn().await;
    let body = app
        .gql(
            "mutation { createTicket(input: {title: \"x\", price: \"1\"}) { id } }",
            json!({}),
            None,
        )
        .await;
    assert_eq!(error_code(&body), Some("UNAUTHENTICATED"), "{body}");

    let seller = app.sign_up(&unique_email()).await;
    let t = create_ticket(&app, &seller.token, "  Concert  ", "19.99").await;
    assert_eq!(t["title"], "Concert");
    assert_eq!(t["price"], "19.99");
    assert_eq!(t["version"], 1);
    assert_eq!(t["status"], "AVAILABLE");
    assert_eq!(t["sellerId"], seller.user_id.as_str());
    assert!(t["reservedUntil"].is_null());
    assert_eq!(ticket(&app, &t["id"]).await, t);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_ticket_input_names_each_field_and_creates_nothing() {
    let (_env, app) = spawn().await;
    let seller = app.sign_up(&unique_email()).await;
    let q = "mutation($i: CreateTicketInput!) { createTicket(input: $i) { id } }";
    for (title, price, fields) in [
        ("  ", "10", vec!["title"]),
        (&*"x".repeat(201), "10", vec!["title"]),
        ("ok", "0", vec!["price"]),
        ("ok", "-5", vec!["price"]),
        ("ok", "1.001", vec!["price"]),
        ("ok", "1000000.01", vec!["price"]),
        ("", "0", vec!["title", "price"]),
        // A right-to-left override, a zero-width space, a byte-order mark, an isolate.
        ("Concert \u{202E}kcit", "10", vec!["title"]),
        ("Con\u{200B}cert", "10", vec!["title"]),
        ("\u{FEFF}Concert", "10", vec!["title"]),
        ("Concert \u{2067}x\u{2069}", "10", vec!["title"]),
    ] {
        let body = app
            .gql(
                q,
                json!({ "i": { "title": title, "price": price } }),
                Some(&seller.token),
            )
            .await;
        assert_eq!(error_code(&body), Some("BAD_USER_INPUT"), "{body}");
        assert_eq!(error_fields(&body), fields, "{title:?} {price:?}");
    }
    let list = app
        .gql("{ tickets { edges { node { id } } } }", json!({}), None)
        .await;
    assert_eq!(list["data"]["tickets"]["edges"], json!([]), "{list}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn editing_bumps_the_version_and_refuses_stale_others_and_bad_input() {
    let (_env, app) = spawn().await;
    let m = Market::open(&app).await;
    let id = m.ticket_id().clone();

    let body = update_ticket(
        &app,
        &m.seller.token,
        &id,
        json!({ "price": "25.50", "expectedVersion": 1 }),
    )
    .await;
    let t = &body["data"]["updateTicket"];
    assert_eq!(
        (
            t["price"].as_str(),
            t["version"].as_i64(),
            t["title"].as_str()
        ),
        (Some("25.50"), Some(2), Some("Concert")),
        "{body}"
    );

    let body = update_ticket(
        &app,
        &m.seller.token,
        &id,
        json!({ "title": "New", "expectedVersion": 1 }),
    )
    .await;
    assert_eq!(error_code(&body), Some("CONFLICT"), "stale version: {body}");
    let body = update_ticket(&app, &m.buyer.token, &id, json!({ "title": "Mine now" })).await;
    assert_eq!(error_code(&body), Some("FORBIDDEN"), "{body}");
    let body = update_ticket(
        &app,
        &m.seller.token,
        &json!(uuid::Uuid::new_v4().to_string()),
        json!({ "title": "x" }),
    )
    .await;
    assert_eq!(error_code(&body), Some("NOT_FOUND"), "{body}");
    let body = update_ticket(
        &app,
        &m.seller.token,
        &id,
        json!({ "title": "", "price": "0" }),
    )
    .await;
    assert_eq!(error_fields(&body), ["title", "price"], "{body}");

    let t = ticket(&app, &id).await;
    assert_eq!(
        (
            t["title"].as_str(),
            t["price"].as_str(),
            t["version"].as_i64()
        ),
        (Some("Concert"), Some("25.50"), Some(2)),
        "refusals changed nothing"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tickets_page_newest_first_and_filter_by_status() {
    let (_env, app) = spawn().await;
    let seller = app.sign_up(&unique_email()).await;
    let buyer = app.sign_up(&unique_email()).await;
    let mut ids = Vec::new();
    for n in 0..5 {
        ids.push(create_ticket(&app, &seller.token, &format!("T{n}"), "10").await["id"].clone());
    }
    ids.reverse();
    let q =
        "query($f: Int, $a: String, $s: TicketStatus) { tickets(first: $f, after: $a, status: $s) {
        edges { cursor node { id } } pageInfo { hasNextPage endCursor } } }";
    let mut seen = Vec::new();
    let mut after = json!(null);
    loop {
        let body = app.gql(q, json!({ "f": 2, "a": after }), None).await;
        let page = &body["data"]["tickets"];
        seen.extend(
            page["edges"]
                .as_array()
                .unwrap()
                .iter()
                .map(|e| e["node"]["id"].clone()),
        );
        if !page["pageInfo"]["hasNextPage"].as_bool().unwrap() {
            break;
        }
        after = page["pageInfo"]["endCursor"].clone();
    }
    assert_eq!(seen, ids, "newest first, each once");

    create_order(&app, &buyer.token, &ids[1]).await;
    let body = app.gql(q, json!({ "s": "RESERVED" }), None).await;
    assert_eq!(
        body["data"]["tickets"]["edges"][0]["node"]["id"], ids[1],
        "{body}"
    );
    assert_eq!(
        body["data"]["tickets"]["edges"].as_array().unwrap().len(),
        1
    );
    let body = app.gql(q, json!({ "s": "AVAILABLE" }), None).await;
    assert_eq!(
        body["data"]["tickets"]["edges"].as_array().unwrap().len(),
        4
    );

    for (vars, field) in [
        (json!({ "f": 0 }), "first"),
        (json!({ "f": 101 }), "first"),
        (json!({ "a": "nope" }), "after"),
    ] {
        let body = app.gql(q, vars, None).await;
        assert_eq!(error_fields(&body), [field], "{body}");
    }
    assert!(
        ticket(&app, &json!(uuid::Uuid::new_v4().to_string()))
            .await
            .is_null()
    );
    assert!(ticket(&app, &json!("not-a-uuid")).await.is_null());
}

/// `tickets(sellerId:)` is a seller's "my tickets", newest first, combinable with `status`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tickets_filter_by_seller() {
    let (_env, app) = spawn().await;
    let ada = app.sign_up(&unique_email()).await;
    let bob = app.sign_up(&unique_email()).await;
    let a1 = create_ticket(&app, &ada.token, "A1", "10").await["id"].clone();
    let b1 = create_ticket(&app, &bob.token, "B1", "10").await["id"].clone();
    let a2 = create_ticket(&app, &ada.token, "A2", "10").await["id"].clone();
    create_order(&app, &bob.token, &a1).await;
    let q = "query($s: ID, $st: TicketStatus) { tickets(sellerId: $s, status: $st) { edges { node { id sellerId } } } }";
    let ids = |body: &Value| -> Vec<Value> {
        body["data"]["tickets"]["edges"]
            .as_array()
            .unwrap_or_else(|| panic!("{body}"))
            .iter()
            .map(|e| e["node"]["id"].clone())
            .collect()
    };
    let mine = app.gql(q, json!({ "s": ada.user_id }), None).await;
    assert_eq!(ids(&mine), [a2.clone(), a1.clone()]);
    let theirs = app.gql(q, json!({ "s": bob.user_id }), None).await;
    assert_eq!(ids(&theirs), [b1]);
    let on_sale = app
        .gql(q, json!({ "s": ada.user_id, "st": "AVAILABLE" }), None)
        .await;
    assert_eq!(ids(&on_sale), [a2]);
    for nobody in [json!(uuid::Uuid::new_v4().to_string()), json!("not-a-uuid")] {
        let none = app.gql(q, json!({ "s": nobody }), None).await;
        assert!(ids(&none).is_empty(), "{none}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn new_and_changed_tickets_are_pushed_live() {
    let (_env, app) = spawn().await;
    let seller = app.sign_up(&unique_email()).await;
    let mut ws = WsClient::connect(&app, WsOptions::default()).await;
    ws.subscribe("c", "subscription { ticketCreated { id title } }")
        .await;
    ws.subscribe("all", "subscription { ticketUpdated { id version } }")
        .await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    let a = create_ticket(&app, &seller.token, "A", "10").await;
    let b = create_ticket(&app, &seller.token, "B", "10").await;
    let pushed = ws.next_data("c", Duration::from_secs(5)).await.unwrap();
    assert_eq!(pushed["data"]["ticketCreated"]["id"], a["id"]);

    let mut only_b = WsClient::connect(&app, WsOptions::default()).await;
    only_b
        .subscribe(
            "b",
            &format!(
                "subscription {{ ticketUpdated(id: \"{}\") {{ id version }} }}",
                b["id"].as_str().unwrap()
            ),
        )
        .await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    update_ticket(&app, &seller.token, &a["id"], json!({ "title": "A2" })).await;
    update_ticket(&app, &seller.token, &b["id"], json!({ "title": "B2" })).await;
    let got = only_b.next_data("b", Duration::from_secs(5)).await.unwrap();
    assert_eq!(
        got["data"]["ticketUpdated"]["id"], b["id"],
        "only B's changes: {got}"
    );
    assert_eq!(got["data"]["ticketUpdated"]["version"], 2);
    let all = ws.next_data("all", Duration::from_secs(5)).await.unwrap();
    assert_eq!(all["data"]["ticketUpdated"]["id"], a["id"]);
}

/// A change is rendered once per distinct selection and shared between subscribers; subscribers
/// whose selections differ (fields, aliases, fragments of the same name, @include) must each get
/// exactly what they asked for.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn subscribers_with_different_selections_of_one_change_each_get_their_own() {
    let (_env, app) = spawn().await;
    let seller = app.sign_up(&unique_email()).await;
    let t = create_ticket(&app, &seller.token, "Gig", "10").await;
    let id = t["id"].as_str().unwrap();
    let selections = [
        (
            "plain",
            format!("subscription {{ ticketUpdated(id: \"{id}\") {{ id title }} }}"),
        ),
        (
            "same",
            format!("subscription {{ ticketUpdated(id: \"{id}\") {{ id title }} }}"),
        ),
        (
            "alias",
            format!("subscription {{ ticketUpdated(id: \"{id}\") {{ id name: title }} }}"),
        ),
        (
            "frag1",
            format!(
                "subscription {{ ticketUpdated(id: \"{id}\") {{ ...F }} }} fragment F on Ticket {{ version }}"
            ),
        ),
        (
            "frag2",
            format!(
                "subscription {{ ticketUpdated(id: \"{id}\") {{ ...F }} }} fragment F on Ticket {{ status price }}"
            ),
        ),
        (
            "skip",
            format!(
                "subscription {{ ticketUpdated(id: \"{id}\") {{ id title @include(if: false) }} }}"
            ),
        ),
    ];
    let mut sockets = Vec::new();
    for (name, query) in &selections {
        let mut ws = WsClient::connect(&app, WsOptions::default()).await;
        ws.subscribe(name, query).await;
        sockets.push((name, ws));
    }
    tokio::time::sleep(Duration::from_millis(300)).await;
    update_ticket(&app, &seller.token, &t["id"], json!({ "title": "Gig 2" })).await;
    for (name, ws) in &mut sockets {
        let got = ws.next_data(name, Duration::from_secs(5)).await.unwrap();
        let pushed = &got["data"]["ticketUpdated"];
        let expected = match **name {
            "plain" | "same" => json!({ "id": id, "title": "Gig 2" }),
            "alias" => json!({ "id": id, "name": "Gig 2" }),
            "frag1" => json!({ "version": 2 }),
            "frag2" => json!({ "status": "AVAILABLE", "price": "10.00" }),
            "skip" => json!({ "id": id }),
            _ => unreachable!(),
        };
        assert_eq!(pushed, &expected, "{name}: {got}");
    }
}

/// Values async-graphql cannot even coerce still name their field, so clients can point at it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn uncoercible_values_name_their_field() {
    let (_env, app) = spawn().await;
    let seller = app.sign_up(&unique_email()).await;
    for price in [json!("abc"), json!("1e309"), json!(true)] {
        let body = app
            .gql(
                "mutation($i: CreateTicketInput!) { createTicket(input: $i) { id } }",
                json!({ "i": { "title": "Gig", "price": price } }),
                Some(&seller.token),
            )
            .await;
        assert_eq!(error_code(&body), Some("BAD_USER_INPUT"), "{body}");
        assert_eq!(error_fields(&body), ["price"], "{price}: {body}");
    }
    let inline = app
        .gql(
            "mutation { createTicket(input: {title: \"Gig\", price: \"ten\"}) { id } }",
            json!({}),
            Some(&seller.token),
        )
        .await;
    assert_eq!(error_fields(&inline), ["price"], "{inline}");
    let first = app
        .gql(
            "{ tickets(first: \"many\") { edges { cursor } } }",
            json!({}),
            None,
        )
        .await;
    assert_eq!(error_fields(&first), ["first"], "{first}");
    let listed = app
        .gql("{ tickets { edges { cursor } } }", json!({}), None)
        .await;
    assert_eq!(
        listed["data"]["tickets"]["edges"],
        json!([]),
        "nothing was listed"
    );
}
