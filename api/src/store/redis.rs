//! The Redis backend: locks are keys with TTLs (`SET NX PX`, owner-checked Lua scripts), expiry
//! hints are keyspace `expired` notifications, and the bus is pub/sub. Every key and channel starts
//! with the deployment's prefix, so deployments (and tests) can share one server.
//!
//! Commands and subscriptions use separate connections. The subscriber is RESP3 with automatic
//! resubscription, and a watchdog subscribes it again every two seconds, so it reconnects even
//! when nothing else is sent and recovers from a resubscription that failed.

use std::{sync::Arc, time::Duration};

use anyhow::Context as _;
use async_trait::async_trait;
use redis::{
    AsyncCommands, PushKind, Script, Value,
    aio::{ConnectionManager, ConnectionManagerConfig},
};
use tokio::sync::{broadcast, mpsc};

use super::{BUS_CAPACITY, EventBus, Hits, HolderChange, LockOutcome, LockStore};
use crate::outbox::{self, DomainEvent};

const RELEASE: &str = r"
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('DEL', KEYS[1])
end
return 0";

const PERSIST: &str = r"
if redis.call('GET', KEYS[1]) == ARGV[1] then
  redis.call('PERSIST', KEYS[1])
  return 1
end
return 0";

const RESTORE_TTL: &str = r"
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('PEXPIRE', KEYS[1], ARGV[2])
end
return 0";

const HIT: &str = r"
local n = redis.call('INCR', KEYS[1])
if n == 1 then
  redis.call('PEXPIRE', KEYS[1], ARGV[1])
end
return {n, redis.call('PTTL', KEYS[1])}";

pub struct RedisStore {
    conn: ConnectionManager,
    prefix: String,
    events_channel: String,
    expired_tx: broadcast::Sender<String>,
    events_tx: broadcast::Sender<Arc<DomainEvent>>,
    release: Script,
    persist: Script,
    restore_ttl: Script,
    hit: Script,
    watchdog: tokio::task::JoinHandle<()>,
}

impl Drop for RedisStore {
    fn drop(&mut self) {
        self.watchdog.abort();
    }
}

fn with_resp3(url: &str) -> String {
    if url.contains("protocol=") {
        url.to_owned()
    } else if url.contains('?') {
        format!("{url}&protocol=resp3")
    } else {
        format!("{url}?protocol=resp3")
    }
}

impl RedisStore {
    pub async fn connect(url: &str, prefix: &str) -> anyhow::Result<Self> {
        let client = redis::Client::open(with_resp3(url)).context("REDIS_URL is not valid")?;
        let db = client.get_connection_info().redis_settings().db();
        let config = ConnectionManagerConfig::new()
            .set_connection_timeout(Some(Duration::from_secs(3)))
            .set_response_timeout(Some(Duration::from_secs(3)));
        let mut conn = ConnectionManager::new_with_config(client.clone(), config.clone())
            .await
            .context("cannot connect to Redis")?;

        enable_expiry_notifications(&mut conn).await;

        let (push_tx, push_rx) = mpsc::unbounded_channel();
        let mut sub = ConnectionManager::new_with_config(
            client,
            config
                .set_push_sender(push_tx)
                .set_automatic_resubscription(),
        )
        .await
        .context("cannot connect to Redis for subscriptions")?;
        let expired_channel = format!("__keyevent@{db}__:expired");
        let events_channel = format!("{prefix}events");
        sub.subscribe(&expired_channel)
            .await
            .context("cannot subscribe to keyspace notifications")?;
        sub.subscribe(&events_channel)
            .await
            .context("cannot subscribe to the event bus")?;

        let expired_tx = broadcast::channel(BUS_CAPACITY).0;
        let events_tx = broadcast::channel(BUS_CAPACITY).0;
        let expired_channel_again = expired_channel.clone();
        tokio::spawn(route_pushes(
            push_rx,
            expired_channel,
            events_channel.clone(),
            prefix.to_owned(),
            expired_tx.clone(),
            events_tx.clone(),
        ));
        let watchdog = tokio::spawn(keep_subscriber_alive(
            sub,
            [expired_channel_again, events_channel.clone()],
        ));

        Ok(Self {
            conn,
            prefix: prefix.to_owned(),
            events_channel,
            expired_tx,
            events_tx,
            release: Script::new(RELEASE),
            persist: Script::new(PERSIST),
            restore_ttl: Script::new(RESTORE_TTL),
            hit: Script::new(HIT),
            watchdog,
        })
    }

    fn key(&self, key: &str) -> String {
        format!("{}{key}", self.prefix)
    }

    /// A handle on the command connection, for the other stores kept in the same Redis.
    pub fn connection(&self) -> ConnectionManager {
        self.conn.clone()
    }

    async fn holder_script(
        &self,
        script: &Script,
        key: &str,
        owner: &str,
        ttl: Option<Duration>,
    ) -> anyhow::Result<HolderChange> {
        let mut invocation = script.key(self.key(key));
        invocation.arg(owner);
        if let Some(ttl) = ttl {
            invocation.arg(millis(ttl));
        }
        let n: i64 = invocation.invoke_async(&mut self.conn.clone()).await?;
        Ok(if n > 0 {
            HolderChange::Applied
        } else {
            HolderChange::NotHolder
        })
    }
}

fn millis(d: Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX).max(1)
}

fn hits_from(count: u64, pttl_ms: i64) -> Hits {
    Hits {
        count,
        resets_in: Duration::from_millis(u64::try_from(pttl_ms).unwrap_or(0)),
    }
}

/// Turns on `expired` keyevent notifications, keeping whatever else the server already emits.
/// Managed services often refuse CONFIG: then the deployment must set `notify-keyspace-events Ex`.
async fn enable_expiry_notifications(conn: &mut ConnectionManager) {
    // A map in RESP3, a flat list in RESP2: a HashMap reads both.
    let current: redis::RedisResult<std::collections::HashMap<String, String>> =
        redis::cmd("CONFIG")
            .arg("GET")
            .arg("notify-keyspace-events")
            .query_async(conn)
            .await;
    let flags = match current {
        Ok(map) => map
            .get("notify-keyspace-events")
            .cloned()
            .unwrap_or_default(),
        Err(err) => {
            tracing::warn!(
                error = %err,
                "Redis refused CONFIG GET; set `notify-keyspace-events Ex` in the Redis \
                 configuration, or orders expire only by the database sweeper"
            );
            return;
        }
    };
    let has_expired = flags.contains('x') || flags.contains('A');
    if flags.contains('E') && has_expired {
        return;
    }
    let mut wanted = flags.clone();
    for flag in ['E', 'x'] {
        if !wanted.contains(flag) {
            wanted.push(flag);
        }
    }
    let set: redis::RedisResult<()> = redis::cmd("CONFIG")
        .arg("SET")
        .arg("notify-keyspace-events")
        .arg(&wanted)
        .query_async(conn)
        .await;
    match set {
        Ok(()) => tracing::info!(flags = %wanted, "enabled Redis keyspace expiry notifications"),
        Err(err) => tracing::warn!(
            error = %err,
            "Redis refused CONFIG SET notify-keyspace-events; set `notify-keyspace-events Ex` \
             in the Redis configuration, or orders expire only by the database sweeper"
        ),
    }
}

async fn route_pushes(
    mut pushes: mpsc::UnboundedReceiver<redis::PushInfo>,
    expired_channel: String,
    events_channel: String,
    prefix: String,
    expired_tx: broadcast::Sender<String>,
    events_tx: broadcast::Sender<Arc<DomainEvent>>,
) {
    while let Some(push) = pushes.recv().await {
        match push.kind {
            PushKind::Message => {}
            PushKind::Disconnection => {
                tracing::warn!(task = "redis-subscriber", "Redis subscriber disconnected");
                continue;
            }
            _ => continue,
        }
        let (Some(channel), Some(payload)) = (push.data.first(), push.data.get(1)) else {
            continue;
        };
        let (Some(channel), Some(payload)) = (as_bytes(channel), as_bytes(payload)) else {
            continue;
        };
        if channel == expired_channel.as_bytes() {
            if let Some(key) = std::str::from_utf8(payload)
                .ok()
                .and_then(|k| k.strip_prefix(prefix.as_str()))
            {
                let _ = expired_tx.send(key.to_owned());
            }
        } else if channel == events_channel.as_bytes() {
            match serde_json::from_slice(payload).and_then(outbox::decode) {
                Ok(outbox::Decoded::Event(event)) => {
                    let _ = events_tx.send(Arc::from(event));
                }
                Ok(outbox::Decoded::Newer(version)) => {
                    tracing::debug!(
                        task = "redis-subscriber",
                        version,
                        "event from a newer release; its replicas serve it"
                    )
                }
                Err(err) => {
                    tracing::warn!(task = "redis-subscriber", error = %err, "unreadable event on the bus")
                }
            }
        }
    }
}

fn as_bytes(value: &Value) -> Option<&[u8]> {
    match value {
        Value::BulkString(b) => Some(b),
        Value::SimpleString(s) => Some(s.as_bytes()),
        _ => None,
    }
}

/// A subscriber connection sends no commands of its own, so nothing would notice it is gone;
/// pinging makes the manager reconnect (and resubscribe) within a few seconds of an outage.
/// Every two seconds, subscribes to the channels again (a no-op while subscribed). That keeps the
/// connection reconnecting when nothing else is sent, and it heals a reconnection whose automatic
/// resubscription failed, which would otherwise leave the connection up and deaf for good.
async fn keep_subscriber_alive(mut sub: ConnectionManager, channels: [String; 2]) {
    let mut tick = tokio::time::interval(Duration::from_secs(2));
    loop {
        tick.tick().await;
        for channel in &channels {
            if let Err(err) = sub.subscribe(channel).await {
                tracing::debug!(task = "redis-subscriber", error = %err, "subscribing failed; will retry");
            }
        }
    }
}

#[async_trait]
impl LockStore for RedisStore {
    async fn acquire(&self, key: &str, owner: &str, ttl: Duration) -> anyhow::Result<LockOutcome> {
        let reply: Option<String> = redis::cmd("SET")
            .arg(self.key(key))
            .arg(owner)
            .arg("NX")
            .arg("PX")
            .arg(millis(ttl))
            .query_async(&mut self.conn.clone())
            .await?;
        Ok(if reply.is_some() {
            LockOutcome::Acquired
        } else {
            LockOutcome::Held
        })
    }

    async fn put(&self, key: &str, value: &str, ttl: Duration) -> anyhow::Result<()> {
        let () = redis::cmd("SET")
            .arg(self.key(key))
            .arg(value)
            .arg("PX")
            .arg(millis(ttl))
            .query_async(&mut self.conn.clone())
            .await?;
        Ok(())
    }

    async fn release(&self, key: &str, owner: &str) -> anyhow::Result<HolderChange> {
        self.holder_script(&self.release, key, owner, None).await
    }

    async fn persist(&self, key: &str, owner: &str) -> anyhow::Result<HolderChange> {
        self.holder_script(&self.persist, key, owner, None).await
    }

    async fn restore_ttl(
        &self,
        key: &str,
        owner: &str,
        ttl: Duration,
    ) -> anyhow::Result<HolderChange> {
        self.holder_script(&self.restore_ttl, key, owner, Some(ttl))
            .await
    }

    async fn holder(&self, key: &str) -> anyhow::Result<Option<String>> {
        Ok(self.conn.clone().get(self.key(key)).await?)
    }

    fn expirations(&self) -> broadcast::Receiver<String> {
        self.expired_tx.subscribe()
    }

    async fn hit(&self, key: &str, window: Duration) -> anyhow::Result<Hits> {
        let (count, pttl): (u64, i64) = self
            .hit
            .key(self.key(key))
            .arg(millis(window))
            .invoke_async(&mut self.conn.clone())
            .await?;
        Ok(hits_from(count, pttl))
    }

    async fn hits(&self, key: &str) -> anyhow::Result<Hits> {
        let key = self.key(key);
        let (count, pttl): (Option<u64>, i64) = redis::pipe()
            .get(&key)
            .pttl(&key)
            .query_async(&mut self.conn.clone())
            .await?;
        Ok(hits_from(count.unwrap_or(0), pttl))
    }

    async fn reset(&self, key: &str) -> anyhow::Result<()> {
        let _: i64 = self.conn.clone().del(self.key(key)).await?;
        Ok(())
    }

    async fn ping(&self) -> anyhow::Result<()> {
        let _: String = redis::cmd("PING")
            .query_async(&mut self.conn.clone())
            .await?;
        Ok(())
    }
}

#[async_trait]
impl EventBus for RedisStore {
    async fn publish(&self, event: &DomainEvent) -> anyhow::Result<()> {
        let payload = outbox::encode(event)?.to_string();
        let heard: i64 = self
            .conn
            .clone()
            .publish(&self.events_channel, payload)
            .await?;
        // Every replica, this one included, keeps a subscriber on the channel: nobody hearing it
        // means every subscriber is reconnecting, so the event must stay for the relay.
        if heard == 0 {
            anyhow::bail!("no subscriber heard the event (all reconnecting?)");
        }
        Ok(())
    }

    fn subscribe(&self) -> broadcast::Receiver<Arc<DomainEvent>> {
        self.events_tx.subscribe()
    }
}
