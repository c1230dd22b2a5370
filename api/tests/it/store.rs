//! The lock store and event bus contract, run against the backend `TEST_BACKEND` selects.

use std::time::Duration;

use api::{
    outbox::{DomainEvent, EventPayload},
    store::{HolderChange, LockOutcome, Stores},
};

use crate::support::*;

async fn stores(prefix: &str) -> Stores {
    match backend() {
        Backend::Embedded => Stores::memory(),
        Backend::PostgresRedis => Stores::redis(&redis_url(), prefix).await.unwrap(),
    }
}

fn prefix() -> String {
    format!("test:{}:", uuid::Uuid::new_v4().simple())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_lock_has_one_holder_until_its_owner_releases_it() {
    let s = stores(&prefix()).await;
    let ttl = Duration::from_secs(60);
    assert_eq!(
        s.locks.acquire("lock:a", "o1", ttl).await.unwrap(),
        LockOutcome::Acquired
    );
    assert_eq!(
        s.locks.acquire("lock:a", "o2", ttl).await.unwrap(),
        LockOutcome::Held
    );
    assert_eq!(
        s.locks.acquire("lock:a", "o1", ttl).await.unwrap(),
        LockOutcome::Held
    );
    assert_eq!(
        s.locks.holder("lock:a").await.unwrap().as_deref(),
        Some("o1")
    );

    assert_eq!(
        s.locks.release("lock:a", "o2").await.unwrap(),
        HolderChange::NotHolder
    );
    assert_eq!(
        s.locks.holder("lock:a").await.unwrap().as_deref(),
        Some("o1")
    );
    assert_eq!(
        s.locks.release("lock:a", "o1").await.unwrap(),
        HolderChange::Applied
    );
    assert_eq!(s.locks.holder("lock:a").await.unwrap(), None);
    assert_eq!(
        s.locks.release("lock:a", "o1").await.unwrap(),
        HolderChange::NotHolder
    );
    assert_eq!(
        s.locks.acquire("lock:a", "o2", ttl).await.unwrap(),
        LockOutcome::Acquired
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_expired_lock_is_announced_and_freed() {
    let s = stores(&prefix()).await;
    let mut expirations = s.locks.expirations();
    s.locks
        .acquire("lock:short", "o1", Duration::from_millis(300))
        .await
        .unwrap();
    s.locks
        .acquire("lock:long", "o1", Duration::from_secs(60))
        .await
        .unwrap();
    // Redis finds an expired key by sampling, which can take minutes when it holds many keys
    // with deadlines (a shared server, a benchmark's sessions); a read of the key past its
    // deadline deletes it at once, and that is announced the same way.
    tokio::time::sleep(Duration::from_millis(400)).await;
    let _ = s.locks.holder("lock:short").await.unwrap();
    let key = tokio::time::timeout(Duration::from_secs(5), expirations.recv())
        .await
        .expect("announced within 5 s")
        .unwrap();
    assert_eq!(key, "lock:short");
    assert_eq!(s.locks.holder("lock:short").await.unwrap(), None);
    assert_eq!(
        s.locks
            .acquire("lock:short", "o2", Duration::from_secs(60))
            .await
            .unwrap(),
        LockOutcome::Acquired
    );
    assert_eq!(
        s.locks.holder("lock:long").await.unwrap().as_deref(),
        Some("o1")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn only_the_holder_persists_or_rearms_a_lock() {
    let s = stores(&prefix()).await;
    let short = Duration::from_millis(400);
    s.locks.acquire("lock:p", "o1", short).await.unwrap();
    assert_eq!(
        s.locks.persist("lock:p", "o2").await.unwrap(),
        HolderChange::NotHolder
    );
    assert_eq!(
        s.locks.persist("lock:p", "o1").await.unwrap(),
        HolderChange::Applied
    );
    tokio::time::sleep(Duration::from_millis(900)).await;
    assert_eq!(
        s.locks.holder("lock:p").await.unwrap().as_deref(),
        Some("o1"),
        "a persisted lock does not expire"
    );

    assert_eq!(
        s.locks.restore_ttl("lock:p", "o2", short).await.unwrap(),
        HolderChange::NotHolder
    );
    assert_eq!(
        s.locks.restore_ttl("lock:p", "o1", short).await.unwrap(),
        HolderChange::Applied
    );
    let mut expirations = s.locks.expirations();
    // Read past its deadline, so Redis deletes it now rather than when its sampling finds it.
    tokio::time::sleep(Duration::from_millis(500)).await;
    let _ = s.locks.holder("lock:p").await.unwrap();
    let key = tokio::time::timeout(Duration::from_secs(5), expirations.recv())
        .await
        .expect("a re-armed lock expires again")
        .unwrap();
    assert_eq!(key, "lock:p");
    assert_eq!(s.locks.holder("lock:p").await.unwrap(), None);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn put_overwrites_whoever_holds_a_key_and_keeps_later_acquires_out_until_it_expires() {
    // What a session's tombstone relies on: it replaces a cached "live" entry, and a request that
    // read the session live before the revocation cannot write it back (`acquire` is `SET NX`).
    let s = stores(&prefix()).await;
    let long = Duration::from_secs(60);
    s.locks.acquire("session:x", "user", long).await.unwrap();
    s.locks
        .put("session:x", "revoked", Duration::from_millis(400))
        .await
        .unwrap();
    assert_eq!(
        s.locks.holder("session:x").await.unwrap().as_deref(),
        Some("revoked")
    );
    assert_eq!(
        s.locks.acquire("session:x", "user", long).await.unwrap(),
        LockOutcome::Held
    );
    s.locks.put("session:y", "v", long).await.unwrap();
    assert_eq!(
        s.locks.holder("session:y").await.unwrap().as_deref(),
        Some("v"),
        "put on a free key sets it"
    );
    tokio::time::sleep(Duration::from_millis(900)).await;
    assert_eq!(
        s.locks.holder("session:x").await.unwrap(),
        None,
        "a put expires after its own ttl, not the one it replaced"
    );
    assert_eq!(
        s.locks.acquire("session:x", "user", long).await.unwrap(),
        LockOutcome::Acquired
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hits_count_within_a_window_until_reset() {
    let s = stores(&prefix()).await;
    let window = Duration::from_secs(900);
    assert_eq!(s.locks.hits("throttle:x").await.unwrap().count, 0);
    for n in 1..=3 {
        assert_eq!(s.locks.hit("throttle:x", window).await.unwrap().count, n);
    }
    let hits = s.locks.hits("throttle:x").await.unwrap();
    assert_eq!(hits.count, 3);
    assert!(
        hits.resets_in > Duration::from_secs(890) && hits.resets_in <= window,
        "{hits:?}"
    );
    s.locks.reset("throttle:x").await.unwrap();
    assert_eq!(s.locks.hits("throttle:x").await.unwrap().count, 0);

    s.locks
        .hit("throttle:y", Duration::from_millis(300))
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_millis(700)).await;
    assert_eq!(
        s.locks.hits("throttle:y").await.unwrap().count,
        0,
        "the window closed"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_bus_delivers_to_every_subscriber_of_every_process() {
    let prefix = prefix();
    let a = stores(&prefix).await;
    // A second process on the same bus (Redis); in-process, the same bus.
    let b = match backend() {
        Backend::Embedded => a.clone(),
        Backend::PostgresRedis => stores(&prefix).await,
    };
    let mut on_a = a.bus.subscribe();
    let mut on_b = b.bus.subscribe();
    let user = api::auth::model::User {
        id: api::ids::UserId::generate(),
        email: "a@example.com".into(),
        created_at: chrono::Utc::now(),
    };
    let event = DomainEvent::new(EventPayload::UserUpdated(user), None);
    a.bus.publish(&event).await.unwrap();
    for rx in [&mut on_a, &mut on_b] {
        let got = tokio::time::timeout(Duration::from_secs(5), rx.recv())
            .await
            .expect("delivered")
            .unwrap();
        assert_eq!(*got, event);
    }

    // Another deployment's prefix does not hear it.
    if backend() == Backend::PostgresRedis {
        let other = stores(&format!("{prefix}other:")).await;
        let mut on_other = other.bus.subscribe();
        a.bus.publish(&event).await.unwrap();
        assert!(
            tokio::time::timeout(Duration::from_millis(500), on_other.recv())
                .await
                .is_err(),
            "crossed deployments"
        );
    }
}

/// On a Redis of its own (the shared one's flags are other tests' business), which starts with
/// notifications off as Redis does by default.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redis_expiry_notifications_are_switched_on() {
    if backend() != Backend::PostgresRedis {
        return;
    }
    let redis = PrivateRedis::start();
    let url = redis.url.clone();
    let client = redis::Client::open(url.as_str()).unwrap();
    let mut conn = client.get_multiplexed_async_connection().await.unwrap();
    let flags = |conn: &mut redis::aio::MultiplexedConnection| {
        let mut conn = conn.clone();
        async move {
            let v: Vec<String> = redis::cmd("CONFIG")
                .arg("GET")
                .arg("notify-keyspace-events")
                .query_async(&mut conn)
                .await
                .unwrap();
            v[1].clone()
        }
    };
    assert_eq!(
        flags(&mut conn).await,
        "",
        "a fresh Redis starts with notifications off"
    );
    let s = Stores::redis(&url, "t:").await.unwrap();
    let now = flags(&mut conn).await;
    assert!(now.contains('E') && now.contains('x'), "{now:?}");

    // And they reach the store: a lock's expiry is announced.
    let mut expirations = s.locks.expirations();
    s.locks
        .acquire("lock:n", "o", Duration::from_millis(200))
        .await
        .unwrap();
    let key = tokio::time::timeout(Duration::from_secs(5), expirations.recv()).await;
    assert_eq!(key.expect("announced").unwrap(), "lock:n");
}

/// A `PUBLISH` that no subscriber heard (every subscriber connection is down, this process's
/// own included) is a failed publish, so the outbox keeps the event for the relay instead of
/// marking it published. Redis's ACL keeps the subscriber from coming back meanwhile.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_publish_that_nobody_heard_is_a_failure() {
    if backend() != Backend::PostgresRedis {
        return;
    }
    let redis = PrivateRedis::start();
    let client = redis::Client::open(redis.url.as_str()).unwrap();
    let mut admin = client.get_multiplexed_async_connection().await.unwrap();
    let s = Stores::redis(&redis.url, "t:").await.unwrap();
    let event = || {
        DomainEvent::new(
            EventPayload::UserCreated(api::auth::model::User {
                id: api::ids::UserId::generate(),
                email: "a@example.com".into(),
                created_at: chrono::Utc::now(),
            }),
            None,
        )
    };
    s.bus
        .publish(&event())
        .await
        .expect("heard by its own subscriber");

    let cmd = |args: &[&str]| {
        let mut c = redis::cmd(args[0]);
        for a in &args[1..] {
            c.arg(*a);
        }
        c
    };
    let _: () = cmd(&["ACL", "SETUSER", "default", "-subscribe", "-psubscribe"])
        .query_async(&mut admin)
        .await
        .unwrap();
    let _: i64 = cmd(&["CLIENT", "KILL", "TYPE", "pubsub"])
        .query_async(&mut admin)
        .await
        .unwrap();
    let refused = s.bus.publish(&event()).await;
    assert!(refused.is_err(), "a publish nobody heard counted as done");

    let _: () = cmd(&["ACL", "SETUSER", "default", "+subscribe", "+psubscribe"])
        .query_async(&mut admin)
        .await
        .unwrap();
    let back = eventually(Duration::from_secs(10), || async {
        s.bus.publish(&event()).await.is_ok()
    })
    .await;
    assert!(back, "publishing works again once the subscriber is back");
}
