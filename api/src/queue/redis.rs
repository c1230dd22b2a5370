//! The queues in Redis, for many replicas: each step that must see one state is one Lua script,
//! and all keys of one event share a hash tag (`{event}`), so they stay together on a cluster.
//!
//! Per event: `joined` (hash user → joined at), `pre` (sorted set: the pre-queue by random key),
//! `num` (hash user → number, for who joined after the freeze), `meta` (hash: `frozen`, `places`,
//! `admitted`, `last_step`, `sold_out`), `steps` (sorted set: member the time of an admission
//! step, score the number admitted after it).

use async_trait::async_trait;
use redis::{Script, aio::ConnectionManager};
use uuid::Uuid;

use super::store::{Entry, Progress, QueueStore, Step};

/// KEYS: joined, meta, pre, num. ARGV: user. Returns {joined at, number or -1} or nil.
const ENTRY: &str = r"
local j = redis.call('HGET', KEYS[1], ARGV[1])
if not j then return nil end
local n = redis.call('HGET', KEYS[4], ARGV[1])
if not n and redis.call('HGET', KEYS[2], 'frozen') == '1' then
  local r = redis.call('ZRANK', KEYS[3], ARGV[1])
  if r then n = r + 1 end
end
return {tonumber(j), tonumber(n or -1)}";

/// KEYS: joined, meta, pre, num, steps. ARGV: user, now ms, key, keep until ms.
const JOIN: &str = r"
local j = redis.call('HGET', KEYS[1], ARGV[1])
if j then
  local n = redis.call('HGET', KEYS[4], ARGV[1])
  if not n and redis.call('HGET', KEYS[2], 'frozen') == '1' then
    local r = redis.call('ZRANK', KEYS[3], ARGV[1])
    if r then n = r + 1 end
  end
  return {tonumber(j), tonumber(n or -1)}
end
redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
local n = -1
if redis.call('HGET', KEYS[2], 'frozen') == '1' then
  n = redis.call('HINCRBY', KEYS[2], 'places', 1)
  redis.call('HSET', KEYS[4], ARGV[1], n)
else
  redis.call('ZADD', KEYS[3], ARGV[3], ARGV[1])
end
for i = 1, 5 do redis.call('PEXPIREAT', KEYS[i], ARGV[4]) end
return {tonumber(ARGV[2]), n}";

/// KEYS: meta, pre, steps. ARGV: on sale ms, now ms, rate, keep until ms.
/// Returns {froze, places, admitted, sold out, admitted before}.
const ADVANCE: &str = r"
local froze = 0
if redis.call('HGET', KEYS[1], 'frozen') ~= '1' then
  redis.call('HSET', KEYS[1], 'frozen', '1', 'places', redis.call('ZCARD', KEYS[2]))
  froze = 1
end
local second = math.floor((tonumber(ARGV[2]) - tonumber(ARGV[1])) / 1000)
local last = tonumber(redis.call('HGET', KEYS[1], 'last_step') or '-1')
local places = tonumber(redis.call('HGET', KEYS[1], 'places') or '0')
local admitted = tonumber(redis.call('HGET', KEYS[1], 'admitted') or '0')
local sold = redis.call('HGET', KEYS[1], 'sold_out') == '1'
local before = admitted
if not sold and second > last then
  redis.call('HSET', KEYS[1], 'last_step', second)
  admitted = math.min(admitted + tonumber(ARGV[3]), places)
  if admitted > before then
    redis.call('HSET', KEYS[1], 'admitted', admitted)
    redis.call('ZADD', KEYS[3], admitted, ARGV[2])
  end
end
redis.call('PEXPIREAT', KEYS[1], ARGV[4])
redis.call('PEXPIREAT', KEYS[3], ARGV[4])
return {froze, places, admitted, sold and 1 or 0, before}";

pub struct RedisQueues {
    conn: ConnectionManager,
    prefix: String,
    entry: Script,
    join: Script,
    advance: Script,
}

impl RedisQueues {
    pub fn new(conn: ConnectionManager, prefix: &str) -> Self {
        Self {
            conn,
            prefix: prefix.to_owned(),
            entry: Script::new(ENTRY),
            join: Script::new(JOIN),
            advance: Script::new(ADVANCE),
        }
    }

    fn key(&self, event: Uuid, part: &str) -> String {
        format!("{}queue:{{{event}}}:{part}", self.prefix)
    }

    fn keys(&self, event: Uuid, parts: &[&str]) -> Vec<String> {
        parts.iter().map(|p| self.key(event, p)).collect()
    }
}

fn entry_from(reply: Option<(i64, i64)>) -> Option<Entry> {
    reply.map(|(joined_at_ms, number)| Entry {
        joined_at_ms,
        number: u64::try_from(number).ok().filter(|n| *n > 0),
    })
}

#[async_trait]
impl QueueStore for RedisQueues {
    async fn join(
        &self,
        event: Uuid,
        user: Uuid,
        now_ms: i64,
        key: f64,
        keep_until_ms: i64,
    ) -> anyhow::Result<Entry> {
        let mut invocation = self.join.prepare_invoke();
        for k in self.keys(event, &["joined", "meta", "pre", "num", "steps"]) {
            invocation.key(k);
        }
        let reply: Option<(i64, i64)> = invocation
            .arg(user.to_string())
            .arg(now_ms)
            .arg(key)
            .arg(keep_until_ms)
            .invoke_async(&mut self.conn.clone())
            .await?;
        entry_from(reply).ok_or_else(|| anyhow::anyhow!("the join script answered nothing"))
    }

    async fn entry(&self, event: Uuid, user: Uuid) -> anyhow::Result<Option<Entry>> {
        let mut invocation = self.entry.prepare_invoke();
        for k in self.keys(event, &["joined", "meta", "pre", "num"]) {
            invocation.key(k);
        }
        let reply: Option<(i64, i64)> = invocation
            .arg(user.to_string())
            .invoke_async(&mut self.conn.clone())
            .await?;
        Ok(entry_from(reply))
    }

    async fn progress(&self, event: Uuid) -> anyhow::Result<Progress> {
        let mut conn = self.conn.clone();
        let (frozen, places, admitted, sold_out): (
            Option<String>,
            Option<u64>,
            Option<u64>,
            Option<String>,
        ) = redis::cmd("HMGET")
            .arg(self.key(event, "meta"))
            .arg(&["frozen", "places", "admitted", "sold_out"][..])
            .query_async(&mut conn)
            .await?;
        let frozen = frozen.as_deref() == Some("1");
        let joined = if frozen {
            places.unwrap_or(0)
        } else {
            redis::cmd("ZCARD")
                .arg(self.key(event, "pre"))
                .query_async(&mut conn)
                .await?
        };
        Ok(Progress {
            frozen,
            joined,
            admitted: admitted.unwrap_or(0),
            sold_out: sold_out.as_deref() == Some("1"),
        })
    }

    async fn advance(
        &self,
        event: Uuid,
        on_sale_ms: i64,
        now_ms: i64,
        rate: u64,
    ) -> anyhow::Result<Step> {
        let mut invocation = self.advance.prepare_invoke();
        for k in self.keys(event, &["meta", "pre", "steps"]) {
            invocation.key(k);
        }
        // Kept a day past the last step asked for: the queue's places stay readable meanwhile.
        let keep_until_ms = now_ms + 24 * 3600 * 1000;
        let (froze, places, admitted, sold_out, before): (i64, u64, u64, i64, u64) = invocation
            .arg(on_sale_ms)
            .arg(now_ms)
            .arg(rate)
            .arg(keep_until_ms)
            .invoke_async(&mut self.conn.clone())
            .await?;
        Ok(Step {
            progress: Progress {
                frozen: true,
                joined: places,
                admitted,
                sold_out: sold_out == 1,
            },
            froze: froze == 1,
            admitted: (admitted > before).then_some((before, admitted, now_ms)),
        })
    }

    async fn admitted_at(&self, event: Uuid, number: u64) -> anyhow::Result<Option<i64>> {
        let at: Vec<String> = redis::cmd("ZRANGEBYSCORE")
            .arg(self.key(event, "steps"))
            .arg(number)
            .arg("+inf")
            .arg("LIMIT")
            .arg(0)
            .arg(1)
            .query_async(&mut self.conn.clone())
            .await?;
        Ok(at.first().and_then(|s| s.parse().ok()))
    }

    async fn sell_out(&self, event: Uuid) -> anyhow::Result<bool> {
        let set: i64 = redis::cmd("HSETNX")
            .arg(self.key(event, "meta"))
            .arg("sold_out")
            .arg(1)
            .query_async(&mut self.conn.clone())
            .await?;
        Ok(set == 1)
    }
}
