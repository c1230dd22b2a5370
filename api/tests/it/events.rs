use std::time::Duration;

use entity::outbox_event;
use sea_orm::{ActiveValue::Set, ColumnTrait, EntityTrait, QueryFilter};
use serde_json::json;

use crate::support::*;

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
    outbox_event::Entity::insert(outbox_event::ActiveModel {
        id: Set(id),
        event_type: Set("UserUpdated".into()),
        payload: Set(event),
        created_at: Set(occurred_at),
        published_at: Set(None),
    })
    .exec(&db)
    .await
    .unwrap();

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
