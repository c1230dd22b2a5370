//! Events, search and the live waiting list (API.md "Events, search and the live waiting list").

use std::time::Duration;

use chrono::Utc;
use serde_json::{Value, json};

use crate::{market::*, support::*};

async fn event(app: &TestApp, id: &Value) -> Value {
    app.gql(
        &format!("query($id: ID!) {{ event(id: $id) {{ {EVENT_FIELDS} }} }}"),
        json!({ "id": id }),
        None,
    )
    .await["data"]["event"]
        .clone()
}

/// `(availableCount, lowestPrice)` of the event as the API tells it now.
async fn availability(app: &TestApp, id: &Value) -> (Value, Value) {
    let e = event(app, id).await;
    (e["availableCount"].clone(), e["lowestPrice"].clone())
}

async fn events_page(app: &TestApp, args: Value) -> Value {
    app.gql(
        "query($first: Int, $after: String, $search: String, $city: String, $from: DateTime, $to: DateTime) {
           events(first: $first, after: $after, search: $search, city: $city, from: $from, to: $to) {
             edges { cursor node { id name } } pageInfo { hasNextPage endCursor } } }",
        args,
        None,
    )
    .await
}

async fn names(app: &TestApp, args: Value) -> Vec<String> {
    let body = events_page(app, args).await;
    body["data"]["events"]["edges"]
        .as_array()
        .unwrap_or_else(|| panic!("{body}"))
        .iter()
        .map(|e| e["node"]["name"].as_str().unwrap().to_owned())
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_signed_in_organizer_creates_an_event() {
    let (_env, app) = spawn().await;
    let input = json!({ "name": " Jazz Night ", "venue": "Blue Note", "city": "Zürich",
                        "startsAt": in_days(30), "onSaleAt": in_days(1) });
    let body = app
        .gql(
            "mutation($i: CreateEventInput!) { createEvent(input: $i) { id } }",
            json!({ "i": input }),
            None,
        )
        .await;
    assert_eq!(error_code(&body), Some("UNAUTHENTICATED"), "{body}");

    let organizer = app.sign_up(&unique_email()).await;
    let body = create_event_with(&app, &organizer.token, input).await;
    let e = &body["data"]["createEvent"];
    assert_eq!(e["name"], "Jazz Night", "{body}");
    assert_eq!(e["venue"], "Blue Note");
    assert_eq!(e["city"], "Zürich");
    assert_eq!(e["organizerId"], organizer.user_id.as_str());
    assert_eq!(e["availableCount"], 0);
    assert!(e["lowestPrice"].is_null());
    assert!(e["onSaleAt"].is_string());
    assert_eq!(&event(&app, &e["id"]).await, e);

    // Absent, or not an id at all: null, like `ticket(id)`.
    for id in [json!(uuid::Uuid::now_v7().to_string()), json!("nope")] {
        assert!(event(&app, &id).await.is_null());
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_event_input_names_each_field_and_creates_nothing() {
    let (_env, app) = spawn().await;
    let organizer = app.sign_up(&unique_email()).await;
    let ok = || json!({ "name": "Show", "venue": "Hall", "city": "Bern", "startsAt": in_days(10) });
    let with = |changes: Value| {
        let mut input = ok();
        for (k, v) in changes.as_object().unwrap() {
            input[k] = v.clone();
        }
        input
    };
    for (input, fields) in [
        (with(json!({ "name": "  " })), vec!["name"]),
        (with(json!({ "name": "x".repeat(201) })), vec!["name"]),
        (with(json!({ "venue": "" })), vec!["venue"]),
        (with(json!({ "venue": "Hall\u{202E}" })), vec!["venue"]),
        (with(json!({ "city": "c".repeat(101) })), vec!["city"]),
        (with(json!({ "city": "Be\u{0}rn" })), vec!["city"]),
        (with(json!({ "startsAt": in_days(-1) })), vec!["startsAt"]),
        (with(json!({ "onSaleAt": in_days(11) })), vec!["onSaleAt"]),
        (with(json!({ "onSaleAt": in_days(-2) })), vec!["onSaleAt"]),
        (
            with(json!({ "name": "", "city": "", "startsAt": in_days(-1) })),
            vec!["name", "city", "startsAt"],
        ),
    ] {
        let body = create_event_with(&app, &organizer.token, input.clone()).await;
        assert_eq!(error_code(&body), Some("BAD_USER_INPUT"), "{input} {body}");
        assert_eq!(error_fields(&body), fields, "{input}");
    }
    assert_eq!(names(&app, json!({})).await, Vec::<String>::new());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn events_are_upcoming_soonest_first_with_cursors_and_filters() {
    let (_env, app) = spawn().await;
    let o = app.sign_up(&unique_email()).await;
    // Created out of order; two start at the same moment (then by id).
    let same = in_days(5);
    for (name, city, starts) in [
        ("Late", "Bern", in_days(40)),
        ("Soon", "bern", in_days(2)),
        ("Twin A", "Basel", same.clone()),
        ("Twin B", "Basel", same.clone()),
        ("Middle", "Genève", in_days(20)),
    ] {
        let body = create_event_with(
            &app,
            &o.token,
            json!({ "name": name, "venue": "Hall", "city": city, "startsAt": starts }),
        )
        .await;
        assert!(body["errors"].is_null(), "{body}");
    }
    assert_eq!(
        names(&app, json!({})).await,
        ["Soon", "Twin A", "Twin B", "Middle", "Late"]
    );

    // Page by page, two at a time, the same order.
    let mut seen = Vec::new();
    let mut after = Value::Null;
    loop {
        let body = events_page(&app, json!({ "first": 2, "after": after })).await;
        let conn = &body["data"]["events"];
        for e in conn["edges"].as_array().unwrap() {
            seen.push(e["node"]["name"].as_str().unwrap().to_owned());
        }
        if conn["pageInfo"]["hasNextPage"] != true {
            break;
        }
        after = conn["pageInfo"]["endCursor"].clone();
    }
    assert_eq!(seen, ["Soon", "Twin A", "Twin B", "Middle", "Late"]);

    // City: exactly, whatever the case; not by prefix.
    assert_eq!(
        names(&app, json!({ "city": "BERN" })).await,
        ["Soon", "Late"]
    );
    assert_eq!(names(&app, json!({ "city": "genève" })).await, ["Middle"]);
    assert!(names(&app, json!({ "city": "Ber" })).await.is_empty());
    // From / to.
    assert_eq!(
        names(&app, json!({ "from": in_days(3), "to": in_days(30) })).await,
        ["Twin A", "Twin B", "Middle"]
    );
    // A `from` in the past still lists only what has not started.
    assert_eq!(names(&app, json!({ "from": in_days(-100) })).await.len(), 5);

    // Bad page arguments name their fields; a ticket cursor is not an event cursor.
    let plain = {
        let seller = app.sign_up(&unique_email()).await;
        create_ticket(&app, &seller.token, "x", "1").await;
        app.gql(
            "{ tickets(first: 1) { pageInfo { endCursor } } }",
            json!({}),
            None,
        )
        .await["data"]["tickets"]["pageInfo"]["endCursor"]
            .clone()
    };
    for (args, fields) in [
        (json!({ "first": 0 }), vec!["first"]),
        (json!({ "first": 101 }), vec!["first"]),
        (json!({ "after": "garbage!" }), vec!["after"]),
        (json!({ "after": plain }), vec!["after"]),
        (json!({ "search": "a".repeat(201) }), vec!["search"]),
        (json!({ "city": "c".repeat(101) }), vec!["city"]),
        (
            json!({ "first": 0, "search": "a ".repeat(11) }),
            vec!["first", "search"],
        ),
    ] {
        let body = events_page(&app, args.clone()).await;
        assert_eq!(error_code(&body), Some("BAD_USER_INPUT"), "{args} {body}");
        assert_eq!(error_fields(&body), fields, "{args}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn search_matches_word_starts_whatever_the_case_and_accents() {
    let (_env, app) = spawn().await;
    let o = app.sign_up(&unique_email()).await;
    for (name, venue, city, days) in [
        ("Berlin Jazz Festival", "Tempodrom", "Berlin", 3),
        ("Opera Gala", "Opernhaus", "Zürich", 2),
        ("Jazzy Sunday", "Moods", "Zürich", 4),
        ("Rock am Ring", "Nürburgring", "Nürburg", 5),
    ] {
        let body = create_event_with(
            &app,
            &o.token,
            json!({ "name": name, "venue": venue, "city": city, "startsAt": in_days(days) }),
        )
        .await;
        assert!(body["errors"].is_null(), "{body}");
    }
    let search = |s: &str| names(&app, json!({ "search": s }));
    assert_eq!(search("jazz berl").await, ["Berlin Jazz Festival"]);
    assert_eq!(search("BERL jazz").await, ["Berlin Jazz Festival"]);
    assert_eq!(search("zurich").await, ["Opera Gala", "Jazzy Sunday"]);
    assert_eq!(search("ZÜR").await, ["Opera Gala", "Jazzy Sunday"]);
    assert_eq!(
        search("jazz").await,
        ["Berlin Jazz Festival", "Jazzy Sunday"]
    );
    // The venue counts; a word must match from its start, not inside.
    assert_eq!(search("opernh").await, ["Opera Gala"]);
    assert!(search("azz").await.is_empty());
    assert!(search("ring nurburgx").await.is_empty());
    assert_eq!(search("nurburgring").await, ["Rock am Ring"]);
    // Every word must match.
    assert!(search("jazz opera").await.is_empty());
    // Blank or punctuation only: no filter.
    assert_eq!(search("  ").await.len(), 4);
    assert_eq!(search(",.;").await.len(), 4);
    // What full-text syntax would read as operators is only text here.
    for hostile in [
        "jazz' & !",
        "\"jazz\" OR *",
        "jazz:* | a",
        "NEAR(jazz berlin)",
        "-jazz",
        "jazz)",
    ] {
        let body = events_page(&app, json!({ "search": hostile })).await;
        assert!(body["errors"].is_null(), "{hostile}: {body}");
    }
    assert_eq!(
        search("jazz)").await,
        ["Berlin Jazz Festival", "Jazzy Sunday"]
    );
    // With the other filters and pages.
    assert_eq!(
        names(&app, json!({ "search": "jazz", "city": "zürich" })).await,
        ["Jazzy Sunday"]
    );
    let body = events_page(&app, json!({ "search": "zurich", "first": 1 })).await;
    let after = body["data"]["events"]["pageInfo"]["endCursor"].clone();
    assert_eq!(
        names(
            &app,
            json!({ "search": "zurich", "first": 1, "after": after })
        )
        .await,
        ["Jazzy Sunday"]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tickets_are_listed_for_events_that_have_not_started() {
    let (_env, app) = spawn().await;
    let seller = app.sign_up(&unique_email()).await;
    let e = create_event(&app, &seller.token, "Show", "Bern", 10).await;
    let body = list_for(&app, &seller.token, &e["id"], "Front row", "40").await;
    let t = &body["data"]["createTicket"];
    assert_eq!(t["eventId"], e["id"], "{body}");
    assert_eq!(t["event"]["name"], "Show");

    // A ticket without an event keeps working, with no event.
    let plain = create_ticket(&app, &seller.token, "Plain", "5").await;
    let read = app
        .gql(
            "query($id: ID!) { ticket(id: $id) { eventId event { id } } }",
            json!({ "id": plain["id"] }),
            None,
        )
        .await;
    assert_eq!(
        read["data"]["ticket"],
        json!({ "eventId": null, "event": null }),
        "{read}"
    );

    for id in [json!(uuid::Uuid::now_v7().to_string()), json!("not-an-id")] {
        let body = list_for(&app, &seller.token, &id, "x", "1").await;
        assert_eq!(error_code(&body), Some("NOT_FOUND"), "{body}");
    }
    // Bad ticket input is still told field by field, with an event.
    let body = list_for(&app, &seller.token, &e["id"], "", "0").await;
    assert_eq!(error_fields(&body), ["title", "price"], "{body}");
    assert_eq!(
        availability(&app, &e["id"]).await,
        (json!(1), json!("40.00"))
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_started_event_takes_no_listing_and_no_order() {
    let (_env, app) = spawn().await;
    let seller = app.sign_up(&unique_email()).await;
    let buyer = app.sign_up(&unique_email()).await;
    let starts = Utc::now() + chrono::Duration::seconds(2);
    let body = create_event_with(
        &app,
        &seller.token,
        json!({ "name": "Now", "venue": "Hall", "city": "Bern", "startsAt": starts.to_rfc3339() }),
    )
    .await;
    let e = body["data"]["createEvent"].clone();
    let t = ticket_for(&app, &seller.token, &e["id"], "10").await;
    let wait = (starts - Utc::now()).to_std().unwrap_or_default() + Duration::from_millis(300);
    tokio::time::sleep(wait).await;

    let body = create_order(&app, &buyer.token, &t["id"]).await;
    assert_eq!(error_code(&body), Some("CONFLICT"), "{body}");
    let body = list_for(&app, &seller.token, &e["id"], "Late", "10").await;
    assert_eq!(error_code(&body), Some("CONFLICT"), "{body}");
    // Nothing changed: still on sale in the books, and gone from the upcoming list.
    assert_eq!(ticket(&app, &t["id"]).await["status"], "AVAILABLE");
    assert_eq!(availability(&app, &e["id"]).await.0, json!(1));
    assert!(names(&app, json!({})).await.is_empty());
}

async fn event_tickets(app: &TestApp, event: &Value, args: Value) -> Value {
    app.gql(
        "query($id: ID!, $first: Int, $after: String, $status: TicketStatus, $order: TicketOrder) {
           event(id: $id) { tickets(first: $first, after: $after, status: $status, orderBy: $order) {
             edges { node { title price } } pageInfo { hasNextPage endCursor } } } }",
        {
            let mut vars = args;
            vars["id"] = event.clone();
            vars
        },
        None,
    )
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_events_tickets_page_cheapest_first_with_cursors() {
    let (_env, app) = spawn().await;
    let seller = app.sign_up(&unique_email()).await;
    let buyer = app.sign_up(&unique_email()).await;
    let e = create_event(&app, &seller.token, "Show", "Bern", 10).await;
    let other = create_event(&app, &seller.token, "Other", "Bern", 10).await;
    ticket_for(&app, &seller.token, &other["id"], "1").await;
    let mut ids = Vec::new();
    for (title, price) in [
        ("a", "30"),
        ("b", "10"),
        ("c", "20"),
        ("d", "10"),
        ("e", "10"),
    ] {
        let body = list_for(&app, &seller.token, &e["id"], title, price).await;
        ids.push(body["data"]["createTicket"]["id"].clone());
    }
    let titles = |body: &Value| -> Vec<String> {
        body["data"]["event"]["tickets"]["edges"]
            .as_array()
            .unwrap_or_else(|| panic!("{body}"))
            .iter()
            .map(|e| e["node"]["title"].as_str().unwrap().to_owned())
            .collect()
    };
    // Cheapest first, then by id (listing order here): pages of two across equal prices.
    let mut seen = Vec::new();
    let mut after = Value::Null;
    loop {
        let body = event_tickets(
            &app,
            &e["id"],
            json!({ "first": 2, "after": after, "order": "PRICE_ASC" }),
        )
        .await;
        seen.extend(titles(&body));
        let info = &body["data"]["event"]["tickets"]["pageInfo"];
        if info["hasNextPage"] != true {
            break;
        }
        after = info["endCursor"].clone();
    }
    assert_eq!(seen, ["b", "d", "e", "c", "a"]);
    // Newest first by default.
    let body = event_tickets(&app, &e["id"], json!({})).await;
    assert_eq!(titles(&body), ["e", "d", "c", "b", "a"]);
    // One status.
    let order = create_order(&app, &buyer.token, &ids[1]).await;
    assert!(order["errors"].is_null(), "{order}");
    let body = event_tickets(
        &app,
        &e["id"],
        json!({ "status": "AVAILABLE", "order": "PRICE_ASC" }),
    )
    .await;
    assert_eq!(titles(&body), ["d", "e", "c", "a"]);
    // A cursor works with the order it came from only.
    let body = event_tickets(&app, &e["id"], json!({ "first": 1, "order": "PRICE_ASC" })).await;
    let price_cursor = body["data"]["event"]["tickets"]["pageInfo"]["endCursor"].clone();
    let body = event_tickets(&app, &e["id"], json!({ "first": 1 })).await;
    let newest_cursor = body["data"]["event"]["tickets"]["pageInfo"]["endCursor"].clone();
    for (after, order) in [(newest_cursor, "PRICE_ASC"), (price_cursor, "NEWEST")] {
        let body = event_tickets(&app, &e["id"], json!({ "after": after, "order": order })).await;
        assert_eq!(error_code(&body), Some("BAD_USER_INPUT"), "{body}");
        assert_eq!(error_fields(&body), ["after"]);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn availability_follows_listings_reservations_releases_and_prices() {
    let (_env, app) = spawn().await;
    let seller = app.sign_up(&unique_email()).await;
    let buyer = app.sign_up(&unique_email()).await;
    let e = create_event(&app, &seller.token, "Show", "Bern", 10).await;
    let id = &e["id"];
    assert_eq!(availability(&app, id).await, (json!(0), Value::Null));
    let a = ticket_for(&app, &seller.token, id, "30").await;
    let b = ticket_for(&app, &seller.token, id, "10").await;
    let c = ticket_for(&app, &seller.token, id, "20").await;
    assert_eq!(availability(&app, id).await, (json!(3), json!("10.00")));

    // The cheapest is reserved: the next cheapest is the lowest.
    let order = create_order(&app, &buyer.token, &b["id"]).await;
    let order_id = order["data"]["createOrder"]["id"].clone();
    assert!(order_id.is_string(), "{order}");
    assert_eq!(availability(&app, id).await, (json!(2), json!("20.00")));
    // Released: back.
    let body = cancel_order(&app, &buyer.token, &order_id).await;
    assert!(body["errors"].is_null(), "{body}");
    assert_eq!(availability(&app, id).await, (json!(3), json!("10.00")));
    // A price cut below the lowest, then a rise above it.
    update_ticket(&app, &seller.token, &a["id"], json!({ "price": "5" })).await;
    assert_eq!(availability(&app, id).await, (json!(3), json!("5.00")));
    update_ticket(&app, &seller.token, &a["id"], json!({ "price": "50" })).await;
    assert_eq!(availability(&app, id).await, (json!(3), json!("10.00")));
    // Refused changes move nothing.
    let body = update_ticket(&app, &buyer.token, &c["id"], json!({ "price": "1" })).await;
    assert_eq!(error_code(&body), Some("FORBIDDEN"));
    let body = create_order(&app, &seller.token, &c["id"]).await;
    assert_eq!(error_code(&body), Some("FORBIDDEN"));
    assert_eq!(availability(&app, id).await, (json!(3), json!("10.00")));
    // Reserved one by one: one that is not the cheapest leaves the lowest price, and so does one
    // of two at the lowest price; the last leaves none.
    let d = ticket_for(&app, &seller.token, id, "10").await;
    assert_eq!(availability(&app, id).await, (json!(4), json!("10.00")));
    for (t, left) in [
        (&a, (json!(3), json!("10.00"))),
        (&b, (json!(2), json!("10.00"))),
        (&d, (json!(1), json!("20.00"))),
        (&c, (json!(0), Value::Null)),
    ] {
        let body = create_order(&app, &buyer.token, &t["id"]).await;
        assert!(body["errors"].is_null(), "{body}");
        assert_eq!(availability(&app, id).await, left, "after {}", t["price"]);
    }
}

/// Many buyers at once on one event, on a database that runs them concurrently: the counters
/// are exact once the rush is over (the invariant of `events::availability`).
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn availability_is_exact_after_a_concurrent_rush() {
    let (_env, app) = spawn().await;
    let seller = app.sign_up(&unique_email()).await;
    let e = create_event(&app, &seller.token, "Rush", "Bern", 10).await;
    let mut tickets = Vec::new();
    for i in 0..24 {
        let t = ticket_for(&app, &seller.token, &e["id"], &format!("{}", 10 + i)).await;
        tickets.push(t["id"].clone());
    }
    let mut buyers = Vec::new();
    for _ in 0..12 {
        buyers.push(app.sign_up(&unique_email()).await);
    }
    // Rounds of every buyer ordering two tickets at once, then cancelling at once (all but
    // the last round's second orders): after each, the counters must be what the tickets say.
    for round in 0..3 {
        let rush = buyers.iter().enumerate().map(|(i, b)| {
            let (app, tickets) = (&app, &tickets);
            async move {
                let mut held = Vec::new();
                for t in [&tickets[2 * i], &tickets[2 * i + 1]] {
                    let body = create_order(app, &b.token, t).await;
                    let id = body["data"]["createOrder"]["id"].clone();
                    assert!(id.is_string(), "{body}");
                    held.push(id);
                }
                held
            }
        });
        let held = futures_util::future::join_all(rush).await;
        assert_eq!(availability(&app, &e["id"]).await, (json!(0), Value::Null));
        let keep_one = round == 2;
        let cancels = buyers.iter().zip(&held).flat_map(|(b, orders)| {
            let app = &app;
            let orders = if keep_one { &orders[..1] } else { &orders[..] };
            orders.iter().map(move |o| async move {
                let body = cancel_order(app, &b.token, o).await;
                assert!(body["errors"].is_null(), "{body}");
            })
        });
        futures_util::future::join_all(cancels).await;
    }
    // The last round kept every buyer's second ticket (prices 11, 13, …): the cheapest free is
    // ticket 0 (price 10).
    assert_eq!(
        availability(&app, &e["id"]).await,
        (json!(12), json!("10.00"))
    );
}

async fn watch(app: &TestApp, id: &str, query: &str, variables: Value) -> WsClient {
    let mut ws = WsClient::connect(app, WsOptions::default()).await;
    ws.try_subscribe(id, query, variables).await.unwrap();
    // The subscription is registered once the server has read the message.
    tokio::time::sleep(Duration::from_millis(300)).await;
    ws
}

const WAITING_LIST: &str = "subscription($e: ID!, $max: Decimal) {
    ticketAvailable(eventId: $e, maxPrice: $max) { id title price status eventId } }";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_waiting_list_hears_every_ticket_that_frees_up_at_or_under_its_price() {
    let (_env, app) = spawn().await;
    let seller = app.sign_up(&unique_email()).await;
    let buyer = app.sign_up(&unique_email()).await;
    let e = create_event(&app, &seller.token, "Show", "Bern", 10).await;
    let other = create_event(&app, &seller.token, "Other", "Bern", 10).await;
    // Anonymous: anyone may watch.
    let mut ws = watch(
        &app,
        "w",
        WAITING_LIST,
        json!({ "e": e["id"], "max": "25" }),
    )
    .await;

    let dear = ticket_for(&app, &seller.token, &e["id"], "30").await;
    ticket_for(&app, &seller.token, &other["id"], "1").await;
    let cheap = ticket_for(&app, &seller.token, &e["id"], "20").await;
    let heard = ws
        .next_data("w", Duration::from_secs(5))
        .await
        .expect("the new listing");
    assert_eq!(
        heard["data"]["ticketAvailable"]["id"], cheap["id"],
        "{heard}"
    );
    assert_eq!(heard["data"]["ticketAvailable"]["status"], "AVAILABLE");

    // A title edit is not news; a price cut under the limit is.
    update_ticket(
        &app,
        &seller.token,
        &dear["id"],
        json!({ "title": "Renamed" }),
    )
    .await;
    update_ticket(&app, &seller.token, &dear["id"], json!({ "price": "15" })).await;
    let heard = ws
        .next_data("w", Duration::from_secs(5))
        .await
        .expect("the price cut");
    assert_eq!(
        heard["data"]["ticketAvailable"]["id"], dear["id"],
        "{heard}"
    );
    assert_eq!(heard["data"]["ticketAvailable"]["price"], "15.00");

    // Reserved, then cancelled: heard again as it frees up.
    let order = create_order(&app, &buyer.token, &cheap["id"]).await;
    let order_id = order["data"]["createOrder"]["id"].clone();
    cancel_order(&app, &buyer.token, &order_id).await;
    let heard = ws
        .next_data("w", Duration::from_secs(5))
        .await
        .expect("the release");
    assert_eq!(
        heard["data"]["ticketAvailable"]["id"], cheap["id"],
        "{heard}"
    );
    // Nothing else was news.
    assert!(
        ws.next_data("w", Duration::from_millis(700))
            .await
            .is_none()
    );

    // No limit: every listing; an id that is no event's: nothing.
    let mut all = watch(&app, "a", WAITING_LIST, json!({ "e": e["id"] })).await;
    let mut none = watch(&app, "n", WAITING_LIST, json!({ "e": "nope" })).await;
    let t = ticket_for(&app, &seller.token, &e["id"], "900").await;
    let heard = all
        .next_data("a", Duration::from_secs(5))
        .await
        .expect("any price");
    assert_eq!(heard["data"]["ticketAvailable"]["id"], t["id"]);
    assert!(
        none.next_data("n", Duration::from_millis(700))
            .await
            .is_none()
    );

    // A limit that is no decimal is told on `maxPrice`.
    let mut bad = watch(
        &app,
        "b",
        WAITING_LIST,
        json!({ "e": e["id"], "max": "abc" }),
    )
    .await;
    let refused = bad
        .next_data("b", Duration::from_secs(5))
        .await
        .expect("an answer");
    assert_eq!(
        refused["errors"][0]["extensions"]["code"], "BAD_USER_INPUT",
        "{refused}"
    );
    assert_eq!(
        refused["errors"][0]["extensions"]["fields"][0]["field"], "maxPrice",
        "{refused}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_waiting_list_hears_an_expired_reservation() {
    let env = TestEnv::new().await;
    let app = env.spawn_with(&[("ORDER_TTL_SECONDS", "1")]).await;
    let seller = app.sign_up(&unique_email()).await;
    let buyer = app.sign_up(&unique_email()).await;
    let e = create_event(&app, &seller.token, "Show", "Bern", 10).await;
    let t = ticket_for(&app, &seller.token, &e["id"], "20").await;
    let order = create_order(&app, &buyer.token, &t["id"]).await;
    assert!(order["errors"].is_null(), "{order}");
    let mut ws = watch(
        &app,
        "w",
        WAITING_LIST,
        json!({ "e": e["id"], "max": "20" }),
    )
    .await;
    let heard = ws
        .next_data("w", Duration::from_secs(10))
        .await
        .expect("the ticket freed by the expiry");
    assert_eq!(heard["data"]["ticketAvailable"]["id"], t["id"], "{heard}");
    assert_eq!(
        availability(&app, &e["id"]).await,
        (json!(1), json!("20.00"))
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn event_updated_pushes_availability_changes_only() {
    let (_env, app) = spawn().await;
    let seller = app.sign_up(&unique_email()).await;
    let buyer = app.sign_up(&unique_email()).await;
    let e = create_event(&app, &seller.token, "Show", "Bern", 10).await;
    let mut ws = watch(
        &app,
        "u",
        "subscription($id: ID!) { eventUpdated(id: $id) { id availableCount lowestPrice } }",
        json!({ "id": e["id"] }),
    )
    .await;
    let pushed = |v: Option<Value>| {
        let v = v.expect("a push");
        let e = &v["data"]["eventUpdated"];
        (e["availableCount"].clone(), e["lowestPrice"].clone())
    };
    let t = ticket_for(&app, &seller.token, &e["id"], "20").await;
    assert_eq!(
        pushed(ws.next_data("u", Duration::from_secs(5)).await),
        (json!(1), json!("20.00"))
    );
    // A title edit does not change availability: no push.
    update_ticket(&app, &seller.token, &t["id"], json!({ "title": "Renamed" })).await;
    create_order(&app, &buyer.token, &t["id"]).await;
    assert_eq!(
        pushed(ws.next_data("u", Duration::from_secs(5)).await),
        (json!(0), Value::Null)
    );
    assert!(
        ws.next_data("u", Duration::from_millis(700))
            .await
            .is_none()
    );
}

/// Two replicas on one PostgreSQL and Redis: a watcher on one hears tickets freed on the other
/// (by a cancel and by an expiry), and buyers ordering on both at once leave exact counters.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_waiting_list_and_the_counters_hold_across_replicas() {
    if backend() != Backend::PostgresRedis {
        return;
    }
    let env = TestEnv::new().await;
    let extra = [("ORDER_TTL_SECONDS", "2")];
    let replicas =
        futures_util::future::join_all((0..2).map(|_| Replica::start(&env, &extra))).await;
    let (a, b) = (&replicas[0].app, &replicas[1].app);
    let seller = a.sign_up(&unique_email()).await;
    let e = create_event(a, &seller.token, "Show", "Bern", 10).await;
    let mut tickets = Vec::new();
    for i in 0..10 {
        tickets.push(
            ticket_for(a, &seller.token, &e["id"], &format!("{}", 10 + i)).await["id"].clone(),
        );
    }
    let mut ws = watch(b, "w", WAITING_LIST, json!({ "e": e["id"] })).await;

    let mut buyers = Vec::new();
    for _ in 0..10 {
        buyers.push(a.sign_up(&unique_email()).await);
    }
    // Half the buyers on each replica, all at once; odd ones cancel at once, even ones let their
    // order expire.
    let rush = buyers
        .iter()
        .zip(&tickets)
        .enumerate()
        .map(|(i, (buyer, t))| {
            let app = if i % 2 == 0 { a } else { b };
            async move {
                let body = create_order(app, &buyer.token, t).await;
                let id = body["data"]["createOrder"]["id"].clone();
                assert!(id.is_string(), "{body}");
                if i % 2 == 1 {
                    let body = cancel_order(app, &buyer.token, &id).await;
                    assert!(body["errors"].is_null(), "{body}");
                }
            }
        });
    futures_util::future::join_all(rush).await;
    let mut heard = std::collections::HashSet::new();
    while heard.len() < 10 {
        let Some(push) = ws.next_data("w", Duration::from_secs(10)).await else {
            break;
        };
        heard.insert(
            push["data"]["ticketAvailable"]["id"]
                .as_str()
                .unwrap()
                .to_owned(),
        );
    }
    assert_eq!(
        heard.len(),
        10,
        "every freed ticket, cancelled or expired, was heard on the other replica"
    );
    assert_eq!(availability(b, &e["id"]).await, (json!(10), json!("10.00")));
}
