//! The in-process backend: one process, exact deadlines from a tokio timer, and a broadcast
//! channel as the bus. Nothing survives a restart, which is why the database is the record.

use std::{
    cmp::Reverse,
    collections::{BinaryHeap, HashMap},
    sync::{Arc, Mutex, Weak},
    time::Duration,
};

use async_trait::async_trait;
use tokio::{sync::Notify, sync::broadcast, time::Instant};

use super::{BUS_CAPACITY, EventBus, Hits, HolderChange, LockOutcome, LockStore};
use crate::outbox::DomainEvent;

#[derive(Debug)]
enum Value {
    Text(String),
    Count(u64),
}

#[derive(Debug)]
struct Entry {
    value: Value,
    deadline: Option<Instant>,
}

#[derive(Default)]
struct State {
    entries: HashMap<String, Entry>,
    /// Deadlines in order; stale ones (the entry changed since) are skipped when popped.
    deadlines: BinaryHeap<Reverse<(Instant, String)>>,
}

impl State {
    fn live(&mut self, key: &str, now: Instant) -> Option<&mut Entry> {
        let expired =
            matches!(self.entries.get(key), Some(Entry { deadline: Some(d), .. }) if *d <= now);
        if expired {
            // The reaper announces it; here it only stops counting as held.
            return None;
        }
        self.entries.get_mut(key)
    }

    fn set_deadline(&mut self, key: &str, deadline: Option<Instant>) {
        if let Some(entry) = self.entries.get_mut(key) {
            entry.deadline = deadline;
        }
        if let Some(d) = deadline {
            self.deadlines.push(Reverse((d, key.to_owned())));
        }
    }
}

struct Inner {
    state: Mutex<State>,
    wake: Arc<Notify>,
    expired_tx: broadcast::Sender<String>,
    events_tx: broadcast::Sender<Arc<DomainEvent>>,
}

pub struct MemoryStore {
    inner: Arc<Inner>,
}

impl Default for MemoryStore {
    fn default() -> Self {
        Self::new()
    }
}

impl MemoryStore {
    /// Must be called inside a tokio runtime: it starts the task that expires deadlines.
    pub fn new() -> Self {
        let inner = Arc::new(Inner {
            state: Mutex::new(State::default()),
            wake: Arc::new(Notify::new()),
            expired_tx: broadcast::channel(BUS_CAPACITY).0,
            events_tx: broadcast::channel(BUS_CAPACITY).0,
        });
        tokio::spawn(reap(Arc::downgrade(&inner), inner.wake.clone()));
        Self { inner }
    }

    fn state(&self) -> std::sync::MutexGuard<'_, State> {
        self.inner.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Sets `key` to `value` until `deadline`, whatever it held, and wakes the reaper.
    fn set_text(
        &self,
        mut state: std::sync::MutexGuard<'_, State>,
        key: &str,
        value: &str,
        deadline: Instant,
    ) {
        state.entries.insert(
            key.to_owned(),
            Entry {
                value: Value::Text(value.to_owned()),
                deadline: None,
            },
        );
        state.set_deadline(key, Some(deadline));
        drop(state);
        self.inner.wake.notify_one();
    }

    fn if_holder(
        &self,
        key: &str,
        owner: &str,
        change: impl FnOnce(&mut State, Instant),
    ) -> HolderChange {
        let now = Instant::now();
        let mut state = self.state();
        let holds =
            matches!(state.live(key, now), Some(Entry { value: Value::Text(v), .. }) if v == owner);
        if !holds {
            return HolderChange::NotHolder;
        }
        change(&mut state, now);
        drop(state);
        self.inner.wake.notify_one();
        HolderChange::Applied
    }
}

impl Drop for MemoryStore {
    fn drop(&mut self) {
        self.inner.wake.notify_one();
    }
}

/// Sleeps until the earliest deadline, removes what is due and announces it.
async fn reap(inner: Weak<Inner>, wake: Arc<Notify>) {
    loop {
        let Some(strong) = inner.upgrade() else {
            return;
        };
        let now = Instant::now();
        let mut expired = Vec::new();
        let next = {
            let mut state = strong.state.lock().unwrap_or_else(|p| p.into_inner());
            loop {
                let Some(Reverse((deadline, _))) = state.deadlines.peek() else {
                    break None;
                };
                if *deadline > now {
                    break Some(*deadline);
                }
                let Some(Reverse((deadline, key))) = state.deadlines.pop() else {
                    break None;
                };
                let current =
                    matches!(state.entries.get(&key), Some(e) if e.deadline == Some(deadline));
                if current {
                    state.entries.remove(&key);
                    expired.push(key);
                }
            }
        };
        for key in expired {
            let _ = strong.expired_tx.send(key);
        }
        // Wake at the next deadline, when a new one is set, or within a second to notice a drop.
        let until = next
            .unwrap_or(now + Duration::from_secs(1))
            .min(now + Duration::from_secs(1));
        let woken = wake.notified();
        drop(strong);
        tokio::select! {
            _ = tokio::time::sleep_until(until) => {}
            _ = woken => {}
        }
    }
}

#[async_trait]
impl LockStore for MemoryStore {
    async fn acquire(&self, key: &str, owner: &str, ttl: Duration) -> anyhow::Result<LockOutcome> {
        let now = Instant::now();
        let mut state = self.state();
        if state.live(key, now).is_some() {
            return Ok(LockOutcome::Held);
        }
        self.set_text(state, key, owner, now + ttl);
        Ok(LockOutcome::Acquired)
    }

    async fn put(&self, key: &str, value: &str, ttl: Duration) -> anyhow::Result<()> {
        let now = Instant::now();
        self.set_text(self.state(), key, value, now + ttl);
        Ok(())
    }

    async fn release(&self, key: &str, owner: &str) -> anyhow::Result<HolderChange> {
        Ok(self.if_holder(key, owner, |state, _| {
            state.entries.remove(key);
        }))
    }

    async fn persist(&self, key: &str, owner: &str) -> anyhow::Result<HolderChange> {
        Ok(self.if_holder(key, owner, |state, _| state.set_deadline(key, None)))
    }

    async fn restore_ttl(
        &self,
        key: &str,
        owner: &str,
        ttl: Duration,
    ) -> anyhow::Result<HolderChange> {
        Ok(self.if_holder(key, owner, |state, now| {
            state.set_deadline(key, Some(now + ttl))
        }))
    }

    async fn holder(&self, key: &str) -> anyhow::Result<Option<String>> {
        let now = Instant::now();
        Ok(match self.state().live(key, now) {
            Some(Entry {
                value: Value::Text(v),
                ..
            }) => Some(v.clone()),
            _ => None,
        })
    }

    fn expirations(&self) -> broadcast::Receiver<String> {
        self.inner.expired_tx.subscribe()
    }

    async fn hit(&self, key: &str, window: Duration) -> anyhow::Result<Hits> {
        let now = Instant::now();
        let mut state = self.state();
        let hits = match state.live(key, now) {
            Some(Entry {
                value: Value::Count(n),
                deadline,
            }) => {
                *n += 1;
                Hits {
                    count: *n,
                    resets_in: deadline.map_or(Duration::ZERO, |d| d - now),
                }
            }
            _ => {
                state.entries.insert(
                    key.to_owned(),
                    Entry {
                        value: Value::Count(1),
                        deadline: None,
                    },
                );
                state.set_deadline(key, Some(now + window));
                Hits {
                    count: 1,
                    resets_in: window,
                }
            }
        };
        drop(state);
        self.inner.wake.notify_one();
        Ok(hits)
    }

    async fn hits(&self, key: &str) -> anyhow::Result<Hits> {
        let now = Instant::now();
        Ok(match self.state().live(key, now) {
            Some(Entry {
                value: Value::Count(n),
                deadline,
            }) => Hits {
                count: *n,
                resets_in: deadline.map_or(Duration::ZERO, |d| d - now),
            },
            _ => Hits {
                count: 0,
                resets_in: Duration::ZERO,
            },
        })
    }

    async fn reset(&self, key: &str) -> anyhow::Result<()> {
        self.state().entries.remove(key);
        Ok(())
    }

    async fn ping(&self) -> anyhow::Result<()> {
        Ok(())
    }
}

#[async_trait]
impl EventBus for MemoryStore {
    async fn publish(&self, event: &DomainEvent) -> anyhow::Result<()> {
        // No subscriber is not an error: the event is recorded in the outbox all the same.
        let _ = self.inner.events_tx.send(Arc::new(event.clone()));
        Ok(())
    }

    fn subscribe(&self) -> broadcast::Receiver<Arc<DomainEvent>> {
        self.inner.events_tx.subscribe()
    }
}
