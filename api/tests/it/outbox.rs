use std::time::Duration;

use entity::outbox_event;
use sea_orm::{ActiveValue::Set, ColumnTrait, EntityTrait, QueryFilter};
use serde_json::json;

use crate::support::*;

/// An outbox row as a process that died before publishing it leaves it.
async fn left_unpublished(
    db: &sea_orm::DatabaseConnection,
    id: uuid::Uuid,
    event_type: &str,
    payload: serde_json::Value,
    created_at: chrono::DateTime<chrono::Utc>,
) {
    outbox_event::Entity::insert(outbox_event::ActiveModel {
        id: Set(id),
        event_type: Set(event_type.into()),
        payload: Set(payload),
        created_at: Set(created_at),
        published_at: Set(None),
    })
    .exec(db)
    .await
    .unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_change_records_its_event_and_marks_it_published() {
    let (env, app) = spawn().await;
    let user = app.sign_up(&unique_email()).await;
    let db = env.db().await;
    let published = eventually(Duration::from_secs(5), || async {
        let rows = outbox_event::Entity::find()
            .filter(outbox_event::Column::EventType.eq("UserCreated"))
            .all(&db)
            .await
            .unwrap();
        rows.len() == 1
            && rows[0].published_at.is_some()
            && rows[0].payload["payload"]["data"]["id"] == user.user_id.as_str()
    })
    .await;
    assert!(published, "UserCreated recorded once and published");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_relay_publishes_events_a_crash_left_behind() {
    let (env, app) = spawn().await;
    let user = app.sign_up(&unique_email()).await;
    let mut ws = WsClient::connect(
        &app,
        WsOptions {
            payload: json!({ "authorization": format!("Bearer {}", user.token) }),
            ..Default::default()
        },
    )
    .await;
    ws.subscribe("u", "subscription { userUpdated { id email } }")
        .await;

    // A change committed by a process that died before publishing: in the outbox, unpublished.
    let occurred_at = chrono::Utc::now() - chrono::Duration::seconds(10);
    let id = uuid::Uuid::now_v7();
    let event = json!({
        "id": id,
        "occurred_at": occurred_at,
        "audience": user.user_id,
        "payload": { "type": "UserUpdated", "data": {
            "id": user.user_id, "email": "relayed@example.com", "created_at": occurred_at } },
    });
    let db = env.db().await;
    left_unpublished(&db, id, "UserUpdated", event, occurred_at).await;

    let pushed = ws
        .next_data("u", Duration::from_secs(10))
        .await
        .expect("relayed");
    assert_eq!(
        pushed["data"]["userUpdated"]["email"], "relayed@example.com",
        "{pushed}"
    );
    let marked = eventually(Duration::from_secs(5), || async {
        let row = outbox_event::Entity::find_by_id(id)
            .one(&db)
            .await
            .unwrap()
            .unwrap();
        row.published_at.is_some()
    })
    .await;
    assert!(marked, "marked published");
    assert!(
        ws.next_data("u", Duration::from_millis(2500))
            .await
            .is_none(),
        "published once, not on every relay pass"
    );
}

/// An outbox row as the release before event versions wrote it (no `v`; the data a GraphQL
/// object with string money) is still published, and its subscribers get the same fields.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_event_stored_before_versions_is_still_delivered() {
    let (env, app) = spawn().await;
    let seller = app.sign_up(&unique_email()).await;
    let created = app
        .gql(
            r#"mutation { createTicket(input: { title: "Before", price: "10.00" }) { id createdAt } }"#,
            json!({}),
            Some(&seller.token),
        )
        .await;
    let ticket = &created["data"]["createTicket"];
    let ticket_id = ticket["id"].as_str().expect("created").to_owned();
    let mut ws = WsClient::connect(&app, WsOptions::default()).await;
    ws.subscribe(
        "t",
        &format!(
            "subscription {{ ticketUpdated(id: \"{ticket_id}\") {{ id title price version status sellerId }} }}"
        ),
    )
    .await;

    let occurred_at = chrono::Utc::now() - chrono::Duration::seconds(10);
    let id = uuid::Uuid::now_v7();
    let event = json!({
        "id": id,
        "occurred_at": occurred_at,
        "audience": null,
        "payload": { "type": "TicketUpdated", "data": {
            "id": ticket_id, "title": "Relayed", "price": "42.50", "version": 7,
            "status": "AVAILABLE", "seller_id": seller.user_id, "reserved_until": null,
            "created_at": ticket["createdAt"], "updated_at": occurred_at } },
    });
    let db = env.db().await;
    left_unpublished(&db, id, "TicketUpdated", event, occurred_at).await;

    let pushed = ws
        .next_data("t", Duration::from_secs(10))
        .await
        .expect("relayed");
    assert_eq!(
        pushed["data"]["ticketUpdated"],
        json!({ "id": ticket_id, "title": "Relayed", "price": "42.50", "version": 7,
                "status": "AVAILABLE", "sellerId": seller.user_id }),
        "{pushed}"
    );
    let marked = eventually(Duration::from_secs(5), || async {
        outbox_event::Entity::find_by_id(id)
            .one(&db)
            .await
            .unwrap()
            .is_some_and(|row| row.published_at.is_some())
    })
    .await;
    assert!(marked, "marked published");
}

/// A row the relay cannot read, or one a newer release wrote, is never marked published unsent:
/// it stays in the outbox for a release that can read it, and the unreadable one is counted.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rows_the_relay_cannot_read_stay_unpublished() {
    let (env, app) = spawn().await;
    let occurred_at = chrono::Utc::now() - chrono::Duration::seconds(10);
    let newer = uuid::Uuid::now_v7();
    let unreadable = uuid::Uuid::now_v7();
    let db = env.db().await;
    for (id, payload) in [
        (
            newer,
            json!({ "v": 99, "id": newer, "shape": "of a later release" }),
        ),
        (
            unreadable,
            json!({ "v": 1, "id": unreadable, "payload": { "type": "NoSuchEvent" } }),
        ),
    ] {
        left_unpublished(&db, id, "TicketUpdated", payload, occurred_at).await;
    }
    let counted = eventually(Duration::from_secs(10), || async {
        metrics_text(&app)
            .await
            .lines()
            .any(|l| l.starts_with("tickets_events_unreadable_total ") && !l.ends_with(" 0"))
    })
    .await;
    assert!(counted, "the unreadable row is counted");
    // Another relay pass or two, then both rows are still there, unpublished.
    tokio::time::sleep(Duration::from_millis(2500)).await;
    for id in [newer, unreadable] {
        let row = outbox_event::Entity::find_by_id(id)
            .one(&db)
            .await
            .unwrap()
            .expect("kept");
        assert!(row.published_at.is_none(), "{id} was marked published");
    }
}
