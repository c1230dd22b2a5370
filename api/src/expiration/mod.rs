//! Expiry of unpaid orders (DESIGN.md step 2), on every replica.
//!
//! Invariant: an unpaid order is cancelled within about a second of `expires_at`, exactly once,
//! whatever the number of replicas. Three triggers run the same `OrderService::expire_due`, whose
//! conditional update lets exactly one replica cancel and announce each order:
//! - a deadline schedule of every live order, filled from the database at start-up and from the
//!   `OrderCreated` events of every replica: it meets deadlines however late Redis is;
//! - the lock store's expiry notifications (Redis keyspace `expired` events): a prompt hint;
//! - a sweep every few seconds: catches whatever the other two missed (lost events, restarts).

use std::{cmp::Reverse, collections::BinaryHeap, time::Duration};

use chrono::{DateTime, Utc};
use tokio::sync::broadcast::error::RecvError;
use tokio_util::sync::CancellationToken;

use crate::{
    orders::{OrderService, TicketLocks},
    outbox::EventPayload,
    store::Stores,
};

pub const SWEEP_EVERY: Duration = Duration::from_secs(5);

pub struct Expiration {
    orders: OrderService,
    stores: Stores,
}

impl Expiration {
    pub fn new(orders: OrderService, stores: Stores) -> Self {
        Self { orders, stores }
    }

    async fn expire(&self) {
        match self.orders.expire_due().await {
            Ok(0) => {}
            Ok(n) => tracing::info!(task = "expiration", expired = n, "expired unpaid orders"),
            Err(err) => tracing::warn!(task = "expiration", error = ?err, "expiry pass failed"),
        }
    }

    pub async fn run(self, stop: CancellationToken) {
        tracing::info!(task = "expiration", "started");
        let mut events = self.stores.bus.subscribe();
        let mut expirations = self.stores.locks.expirations();
        let mut deadlines: BinaryHeap<Reverse<DateTime<Utc>>> = BinaryHeap::new();
        match self.orders.live_deadlines().await {
            Ok(all) => deadlines.extend(all.into_iter().map(Reverse)),
            Err(err) => {
                tracing::warn!(task = "expiration", error = ?err, "cannot load deadlines; the sweep will cover")
            }
        }
        self.expire().await;
        let mut sweep = tokio::time::interval(SWEEP_EVERY);
        sweep.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            let next = deadlines.peek().map(|Reverse(d)| until(*d));
            tokio::select! {
                _ = stop.cancelled() => break,
                _ = sleep_until(next) => {
                    let now = Utc::now();
                    while deadlines.peek().is_some_and(|Reverse(d)| *d <= now) {
                        deadlines.pop();
                    }
                    self.expire().await;
                }
                event = events.recv() => match event {
                    Ok(event) => if let EventPayload::OrderCreated(order) = &event.payload {
                        deadlines.push(Reverse(order.expires_at));
                    },
                    Err(RecvError::Lagged(_)) => {}
                    Err(RecvError::Closed) => break,
                },
                key = expirations.recv() => match key {
                    Ok(key) if TicketLocks::is_ticket_lock(&key) => self.expire().await,
                    Ok(_) | Err(RecvError::Lagged(_)) => {}
                    Err(RecvError::Closed) => break,
                },
                _ = sweep.tick() => self.expire().await,
            }
        }
        tracing::info!(task = "expiration", "stopped");
    }
}

/// The instant a deadline falls due, a hair after it so the database sees it as passed.
fn until(deadline: DateTime<Utc>) -> tokio::time::Instant {
    let wait = (deadline - Utc::now()).to_std().unwrap_or(Duration::ZERO);
    tokio::time::Instant::now() + wait + Duration::from_millis(2)
}

async fn sleep_until(at: Option<tokio::time::Instant>) {
    match at {
        Some(at) => tokio::time::sleep_until(at).await,
        None => std::future::pending().await,
    }
}
