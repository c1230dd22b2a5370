//! The lock that holds a ticket for the order that owns it: `lock:ticket:{ticket id}`, owned by
//! the order's id, for the order's time to live (or without a deadline while it is being paid).
//! The one place that knows the key's format.

use std::{sync::Arc, time::Duration};

use uuid::Uuid;

use crate::store::{HolderChange, LockOutcome, LockStore};

const PREFIX: &str = "lock:ticket:";

#[derive(Clone)]
pub struct TicketLocks(Arc<dyn LockStore>);

impl TicketLocks {
    pub fn new(locks: Arc<dyn LockStore>) -> Self {
        Self(locks)
    }

    /// Whether a key announced by the lock store's expirations is a ticket's lock.
    pub fn is_ticket_lock(key: &str) -> bool {
        key.starts_with(PREFIX)
    }

    /// Takes the ticket's lock for `owner` (an order id) if nobody holds it.
    pub async fn take(
        &self,
        ticket: Uuid,
        owner: &str,
        ttl: Duration,
    ) -> anyhow::Result<LockOutcome> {
        self.0.acquire(&key(ticket), owner, ttl).await
    }

    /// Who holds the ticket's lock (an order id, as a string), if anyone.
    pub async fn holder(&self, ticket: Uuid) -> anyhow::Result<Option<String>> {
        self.0.holder(&key(ticket)).await
    }

    /// Frees the ticket if `owner` holds it.
    pub async fn release(&self, ticket: Uuid, owner: &str) -> anyhow::Result<HolderChange> {
        self.0.release(&key(ticket), owner).await
    }

    /// Keeps the ticket held without a deadline, while its order is being paid.
    pub async fn persist(&self, ticket: Uuid, owner: &str) -> anyhow::Result<HolderChange> {
        self.0.persist(&key(ticket), owner).await
    }

    /// Gives the hold a deadline again, `ttl` from now.
    pub async fn restore_ttl(
        &self,
        ticket: Uuid,
        owner: &str,
        ttl: Duration,
    ) -> anyhow::Result<HolderChange> {
        self.0.restore_ttl(&key(ticket), owner, ttl).await
    }
}

fn key(ticket: Uuid) -> String {
    format!("{PREFIX}{ticket}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn expirations_of_ticket_locks_are_recognised() {
        let ticket = Uuid::now_v7();
        assert!(TicketLocks::is_ticket_lock(&key(ticket)));
        assert!(!TicketLocks::is_ticket_lock(&format!("session:{ticket}")));
    }
}
