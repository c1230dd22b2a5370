//! The in-process queues: one process, one mutex. A queue is forgotten when its keep-until time
//! passes (a day after the event starts, or after its last step), as Redis forgets its keys.

use std::{collections::HashMap, sync::Mutex};

use async_trait::async_trait;
use uuid::Uuid;

use super::store::{Entry, Progress, QueueStore, Step};

#[derive(Default)]
pub struct MemoryQueues(Mutex<HashMap<Uuid, Queue>>);

#[derive(Default)]
struct Queue {
    joined_at: HashMap<Uuid, i64>,
    /// Before the freeze: (key, user) of the pre-queue.
    pre: Vec<(f64, Uuid)>,
    /// From the freeze: every place's number.
    numbers: HashMap<Uuid, u64>,
    frozen: bool,
    places: u64,
    admitted: u64,
    last_step: Option<i64>,
    /// (admitted after the step, when), in order.
    steps: Vec<(u64, i64)>,
    sold_out: bool,
    /// When the queue may be forgotten (the latest asked for).
    keep_until_ms: i64,
}

impl Queue {
    fn keep_until(&mut self, ms: i64) {
        self.keep_until_ms = self.keep_until_ms.max(ms);
    }

    fn progress(&self) -> Progress {
        Progress {
            frozen: self.frozen,
            joined: if self.frozen {
                self.places
            } else {
                self.pre.len() as u64
            },
            admitted: self.admitted,
            sold_out: self.sold_out,
        }
    }

    fn entry(&self, user: Uuid) -> Option<Entry> {
        self.joined_at.get(&user).map(|&joined_at_ms| Entry {
            joined_at_ms,
            number: self.numbers.get(&user).copied(),
        })
    }
}

impl MemoryQueues {
    fn with<T>(&self, event: Uuid, f: impl FnOnce(&mut Queue) -> T) -> T {
        let mut queues = self.0.lock().unwrap_or_else(|e| e.into_inner());
        let now = crate::db::now().timestamp_millis();
        // A queue that was never joined nor stepped has nothing to keep.
        queues.retain(|_, q| q.keep_until_ms > now);
        f(queues.entry(event).or_default())
    }

    /// Queues held now.
    pub fn len(&self) -> usize {
        self.0.lock().unwrap_or_else(|e| e.into_inner()).len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

#[async_trait]
impl QueueStore for MemoryQueues {
    async fn join(
        &self,
        event: Uuid,
        user: Uuid,
        now_ms: i64,
        key: f64,
        keep_until_ms: i64,
    ) -> anyhow::Result<Entry> {
        Ok(self.with(event, |q| {
            q.keep_until(keep_until_ms);
            if let Some(entry) = q.entry(user) {
                return entry;
            }
            q.joined_at.insert(user, now_ms);
            if q.frozen {
                q.places += 1;
                q.numbers.insert(user, q.places);
            } else {
                q.pre.push((key, user));
            }
            q.entry(user).unwrap_or(Entry {
                joined_at_ms: now_ms,
                number: None,
            })
        }))
    }

    async fn entry(&self, event: Uuid, user: Uuid) -> anyhow::Result<Option<Entry>> {
        Ok(self.with(event, |q| q.entry(user)))
    }

    async fn progress(&self, event: Uuid) -> anyhow::Result<Progress> {
        Ok(self.with(event, |q| q.progress()))
    }

    async fn advance(
        &self,
        event: Uuid,
        on_sale_ms: i64,
        now_ms: i64,
        rate: u64,
    ) -> anyhow::Result<Step> {
        Ok(self.with(event, |q| {
            let mut step = Step {
                progress: q.progress(),
                froze: false,
                admitted: None,
            };
            if now_ms < on_sale_ms {
                return step;
            }
            // As the Redis script does: kept a day past the last step.
            q.keep_until(now_ms + 24 * 3600 * 1000);
            if !q.frozen {
                let mut pre = std::mem::take(&mut q.pre);
                pre.sort_by(|a, b| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)));
                for (n, (_, user)) in pre.into_iter().enumerate() {
                    q.numbers.insert(user, n as u64 + 1);
                }
                q.places = q.numbers.len() as u64;
                q.frozen = true;
                step.froze = true;
            }
            let second = (now_ms - on_sale_ms) / 1000;
            if !q.sold_out && q.last_step.is_none_or(|last| second > last) {
                q.last_step = Some(second);
                let before = q.admitted;
                q.admitted = (q.admitted + rate).min(q.places);
                if q.admitted > before {
                    q.steps.push((q.admitted, now_ms));
                    step.admitted = Some((before, q.admitted, now_ms));
                }
            }
            step.progress = q.progress();
            step
        }))
    }

    async fn admitted_at(&self, event: Uuid, number: u64) -> anyhow::Result<Option<i64>> {
        Ok(self.with(event, |q| {
            let i = q.steps.partition_point(|&(admitted, _)| admitted < number);
            q.steps.get(i).map(|&(_, at)| at)
        }))
    }

    async fn sell_out(&self, event: Uuid) -> anyhow::Result<bool> {
        Ok(self.with(event, |q| !std::mem::replace(&mut q.sold_out, true)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_queue_past_its_keep_until_time_is_forgotten() {
        let queues = MemoryQueues::default();
        let (kept, done) = (Uuid::new_v4(), Uuid::new_v4());
        let user = Uuid::new_v4();
        let now = crate::db::now().timestamp_millis();
        queues
            .join(kept, user, now, 0.5, now + 60_000)
            .await
            .unwrap();
        queues.join(done, user, now, 0.5, now - 1).await.unwrap();
        assert!(queues.entry(kept, user).await.unwrap().is_some());
        assert_eq!(queues.len(), 1, "the queue past its time is still held");
        assert!(queues.entry(done, user).await.unwrap().is_none());
    }
}
