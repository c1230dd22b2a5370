//! The payment processor behind one trait. The built-in test processor (the default) behaves like
//! Stripe's test mode for its test tokens; Stripe through async-stripe comes with its own issue.

use std::{collections::HashMap, sync::Mutex};

use async_trait::async_trait;

pub struct ChargeRequest<'a> {
    /// The same key always yields the same outcome, and at most one charge.
    pub idempotency_key: String,
    pub amount_cents: i64,
    pub currency: &'a str,
    /// A card token (`tok_…`) or payment method (`pm_…`).
    pub token: &'a str,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ChargeOutcome {
    Succeeded { provider_id: String },
    Declined { reason: String },
}

#[async_trait]
pub trait Processor: Send + Sync + 'static {
    /// Charges once per idempotency key. `Err` means the outcome is unknown (timeout, outage).
    async fn charge(&self, request: ChargeRequest<'_>) -> anyhow::Result<ChargeOutcome>;

    /// What became of the charge made with `idempotency_key`, if the processor knows of one.
    /// The reconciler asks this, and never charges again.
    async fn lookup(&self, idempotency_key: &str) -> anyhow::Result<Option<ChargeOutcome>>;
}

/// Accepts `tok_visa` / `pm_card_visa`, declines `tok_chargeDeclined` / `pm_card_chargeDeclined`
/// and any other token, and remembers each idempotency key's outcome as Stripe does.
#[derive(Default)]
pub struct TestProcessor {
    outcomes: Mutex<HashMap<String, ChargeOutcome>>,
}

#[async_trait]
impl Processor for TestProcessor {
    async fn charge(&self, request: ChargeRequest<'_>) -> anyhow::Result<ChargeOutcome> {
        let mut outcomes = self.outcomes.lock().unwrap_or_else(|p| p.into_inner());
        let outcome = outcomes
            .entry(request.idempotency_key.clone())
            .or_insert_with(|| match request.token {
                "tok_visa" | "pm_card_visa" => ChargeOutcome::Succeeded {
                    provider_id: format!("test_pi_{}", uuid::Uuid::new_v4().simple()),
                },
                "tok_chargeDeclined" | "pm_card_chargeDeclined" => ChargeOutcome::Declined {
                    reason: "your card was declined".into(),
                },
                _ => ChargeOutcome::Declined {
                    reason:
                        "unknown test card: use tok_visa, or tok_chargeDeclined to see a decline"
                            .into(),
                },
            });
        Ok(outcome.clone())
    }

    async fn lookup(&self, idempotency_key: &str) -> anyhow::Result<Option<ChargeOutcome>> {
        let outcomes = self.outcomes.lock().unwrap_or_else(|p| p.into_inner());
        Ok(outcomes.get(idempotency_key).cloned())
    }
}
