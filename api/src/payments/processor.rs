//! The payment processor behind one trait, in two steps so that a crash between them can always be
//! settled without charging twice: `prepare` creates the payment (nothing is charged) and its id is
//! stored with the order; only then does `confirm` charge it. The reconciler asks `settle` what
//! became of a stored payment. Two implementations: the built-in test processor (the default),
//! which behaves like Stripe's test mode for its test tokens, and Stripe through async-stripe.

use std::{collections::HashMap, sync::Mutex};

use async_trait::async_trait;
use uuid::Uuid;

mod stripe_intents;

pub use self::stripe_intents::StripeProcessor;

pub struct ChargeRequest<'a> {
    pub order_id: Uuid,
    /// Which payment attempt of the order; with the order id, the idempotency key.
    pub attempt: i32,
    pub amount_cents: i64,
    pub currency: &'a str,
    /// A card token (`tok_…`) or payment method (`pm_…`).
    pub token: &'a str,
}

impl ChargeRequest<'_> {
    /// The same key always yields the same payment at the processor, and at most one charge.
    pub fn idempotency_key(&self, step: &str) -> String {
        format!("order-{}-{}-{step}", self.order_id, self.attempt)
    }
}

/// What `prepare` did.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Prepared {
    /// The payment exists at the processor, not yet charged.
    Intent { id: String },
    /// Refused before anything could be charged (an unknown token, say).
    Refused { reason: String },
}

/// What `confirm` or `settle` learnt of a payment.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Outcome {
    Succeeded {
        provider_id: String,
    },
    /// Final: nothing was charged, and nothing will be for this payment.
    NotCharged {
        reason: String,
    },
    /// The processor has not decided yet (`processing`); ask again later.
    Pending,
}

#[async_trait]
pub trait Processor: Send + Sync + 'static {
    /// Which implementation this is, as `paymentSettings.processor` says: `test` or `stripe`.
    fn name(&self) -> &'static str;

    /// Creates the payment without charging. `Err` means it is unknown whether one was created;
    /// either way nothing was charged.
    async fn prepare(&self, request: &ChargeRequest<'_>) -> anyhow::Result<Prepared>;

    /// Charges the prepared payment. `Err` means the outcome is unknown (timeout, outage): the
    /// reconciler settles it later.
    async fn confirm(
        &self,
        intent_id: &str,
        request: &ChargeRequest<'_>,
    ) -> anyhow::Result<Outcome>;

    /// Makes the payment's outcome final and says what it is: a payment never confirmed is
    /// cancelled, so that a late confirmation cannot charge it. Never charges.
    async fn settle(&self, intent_id: &str) -> anyhow::Result<Outcome>;

    /// Gives the whole charge back (an order cancelled while its card was being charged). Each
    /// `attempt` is a request of its own (a processor keeps the answer of a failed request for
    /// its idempotency key); one already refunded counts as done, so retries never refund twice.
    async fn refund(&self, intent_id: &str, attempt: i32) -> anyhow::Result<()>;
}

#[derive(Clone, Debug, PartialEq, Eq)]
enum TestStatus {
    RequiresConfirmation,
    Succeeded,
    Declined(String),
    Canceled,
    Refunded,
}

struct TestIntent {
    token: String,
    status: TestStatus,
}

/// Accepts `tok_visa` / `pm_card_visa`, declines `tok_chargeDeclined` / `pm_card_chargeDeclined`,
/// refuses any other token, and keeps its payments in memory (they die with the process, as
/// fictional money may).
#[derive(Default)]
pub struct TestProcessor {
    state: Mutex<TestState>,
}

#[derive(Default)]
struct TestState {
    intents: HashMap<String, TestIntent>,
    by_key: HashMap<String, String>,
}

impl TestProcessor {
    fn state(&self) -> std::sync::MutexGuard<'_, TestState> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }
}

#[async_trait]
impl Processor for TestProcessor {
    fn name(&self) -> &'static str {
        "test"
    }

    async fn prepare(&self, request: &ChargeRequest<'_>) -> anyhow::Result<Prepared> {
        let known = [
            "tok_visa",
            "pm_card_visa",
            "tok_chargeDeclined",
            "pm_card_chargeDeclined",
        ];
        if !known.contains(&request.token) {
            return Ok(Prepared::Refused {
                reason: "unknown test card: use tok_visa, or tok_chargeDeclined to see a decline"
                    .into(),
            });
        }
        let mut state = self.state();
        let key = request.idempotency_key("create");
        if let Some(id) = state.by_key.get(&key) {
            return Ok(Prepared::Intent { id: id.clone() });
        }
        let id = format!("test_pi_{}", Uuid::new_v4().simple());
        state.by_key.insert(key, id.clone());
        state.intents.insert(
            id.clone(),
            TestIntent {
                token: request.token.to_owned(),
                status: TestStatus::RequiresConfirmation,
            },
        );
        Ok(Prepared::Intent { id })
    }

    async fn confirm(
        &self,
        intent_id: &str,
        _request: &ChargeRequest<'_>,
    ) -> anyhow::Result<Outcome> {
        let mut state = self.state();
        let intent = state
            .intents
            .get_mut(intent_id)
            .ok_or_else(|| anyhow::anyhow!("no such test payment {intent_id}"))?;
        if intent.status == TestStatus::RequiresConfirmation {
            intent.status = match intent.token.as_str() {
                "tok_visa" | "pm_card_visa" => TestStatus::Succeeded,
                _ => TestStatus::Declined("your card was declined".into()),
            };
        }
        Ok(test_outcome(intent_id, &intent.status))
    }

    async fn settle(&self, intent_id: &str) -> anyhow::Result<Outcome> {
        let mut state = self.state();
        let Some(intent) = state.intents.get_mut(intent_id) else {
            // Created by a process that has since stopped: its payments were never real.
            return Ok(Outcome::NotCharged {
                reason: "the test payment was lost with its process".into(),
            });
        };
        if intent.status == TestStatus::RequiresConfirmation {
            intent.status = TestStatus::Canceled;
        }
        Ok(test_outcome(intent_id, &intent.status))
    }

    async fn refund(&self, intent_id: &str, _attempt: i32) -> anyhow::Result<()> {
        if let Some(intent) = self.state().intents.get_mut(intent_id) {
            intent.status = TestStatus::Refunded;
        }
        Ok(())
    }
}

fn test_outcome(id: &str, status: &TestStatus) -> Outcome {
    match status {
        TestStatus::Succeeded | TestStatus::Refunded => Outcome::Succeeded {
            provider_id: id.to_owned(),
        },
        TestStatus::Declined(reason) => Outcome::NotCharged {
            reason: reason.clone(),
        },
        TestStatus::Canceled => Outcome::NotCharged {
            reason: "the payment was cancelled before it was confirmed".into(),
        },
        TestStatus::RequiresConfirmation => Outcome::Pending,
    }
}
