//! Stripe through async-stripe: one PaymentIntent per payment attempt, created with the card (a
//! `tok_…` token or a `pm_…` payment method) and then confirmed, each request with an idempotency
//! key derived from the order and the attempt. Pointed at `STRIPE_API_BASE` when that is set.

use std::collections::HashMap;

use async_trait::async_trait;
use serde::Serialize;
use stripe::{
    CancelPaymentIntent, Client, PaymentIntent, PaymentIntentCancellationReason,
    PaymentIntentConfirmParams, PaymentIntentId, PaymentIntentStatus, RequestStrategy, StripeError,
};

use super::{ChargeRequest, Outcome, Prepared, Processor};

#[derive(Clone)]
pub struct StripeProcessor {
    client: Client,
}

impl StripeProcessor {
    pub fn new(secret_key: &str, api_base: Option<&str>) -> Self {
        let client = match api_base {
            Some(base) => Client::from_url(base, secret_key),
            None => Client::new(secret_key),
        };
        Self { client }
    }

    fn idempotent(&self, key: String) -> Client {
        self.client
            .clone()
            .with_strategy(RequestStrategy::Idempotent(key))
    }

    /// Cancels a payment that was never charged, so that a late confirmation cannot charge it.
    async fn cancel(&self, id: &str, reason: &str) -> anyhow::Result<Outcome> {
        let params = CancelPaymentIntent {
            cancellation_reason: Some(PaymentIntentCancellationReason::Abandoned),
        };
        let intent = PaymentIntent::cancel(&self.client, id, params).await?;
        match intent.status {
            PaymentIntentStatus::Canceled => Ok(Outcome::NotCharged {
                reason: reason.to_owned(),
            }),
            _ => Ok(outcome_of(&intent)),
        }
    }
}

#[derive(Serialize)]
struct CreateIntent<'a> {
    amount: i64,
    currency: &'a str,
    payment_method_types: [&'a str; 1],
    #[serde(skip_serializing_if = "Option::is_none")]
    payment_method: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    payment_method_data: Option<MethodData<'a>>,
    description: String,
    metadata: HashMap<&'static str, String>,
}

#[derive(Serialize)]
struct MethodData<'a> {
    #[serde(rename = "type")]
    kind: &'static str,
    card: CardToken<'a>,
}

#[derive(Serialize)]
struct CardToken<'a> {
    token: &'a str,
}

#[async_trait]
impl Processor for StripeProcessor {
    fn name(&self) -> &'static str {
        "stripe"
    }

    async fn prepare(&self, request: &ChargeRequest<'_>) -> anyhow::Result<Prepared> {
        let (payment_method, payment_method_data) = if request.token.starts_with("pm_") {
            (Some(request.token), None)
        } else {
            let card = CardToken {
                token: request.token,
            };
            (None, Some(MethodData { kind: "card", card }))
        };
        let params = CreateIntent {
            amount: request.amount_cents,
            currency: request.currency,
            payment_method_types: ["card"],
            payment_method,
            payment_method_data,
            description: format!("Ticket order {}", request.order_id),
            metadata: HashMap::from([
                ("order_id", request.order_id.to_string()),
                ("attempt", request.attempt.to_string()),
            ]),
        };
        let created: Result<PaymentIntent, _> = self
            .idempotent(request.idempotency_key("create"))
            .post_form("/payment_intents", params)
            .await;
        match created {
            Ok(intent) => Ok(Prepared::Intent {
                id: intent.id.to_string(),
            }),
            // Stripe refused the card or the request: nothing exists to charge.
            Err(StripeError::Stripe(err)) if matches!(err.http_status, 400 | 402) => {
                Ok(Prepared::Refused {
                    reason: err
                        .message
                        .unwrap_or_else(|| "the card was not accepted".into()),
                })
            }
            Err(err) => Err(err.into()),
        }
    }

    async fn confirm(
        &self,
        intent_id: &str,
        request: &ChargeRequest<'_>,
    ) -> anyhow::Result<Outcome> {
        let confirmed = PaymentIntent::confirm(
            &self.idempotent(request.idempotency_key("confirm")),
            intent_id,
            PaymentIntentConfirmParams::default(),
        )
        .await;
        match confirmed {
            Ok(intent) if intent.status == PaymentIntentStatus::RequiresAction => {
                self.cancel(
                    intent_id,
                    "the card needs authentication (3-D Secure), which this checkout does not support",
                )
                .await
            }
            Ok(intent) => Ok(outcome_of(&intent)),
            // A decline is final for this PaymentIntent: it is back to requires_payment_method.
            Err(StripeError::Stripe(err)) if err.http_status == 402 => Ok(Outcome::NotCharged {
                reason: err
                    .message
                    .unwrap_or_else(|| "your card was declined".into()),
            }),
            // Anything else leaves the outcome unknown: the reconciler asks Stripe later.
            Err(err) => Err(err.into()),
        }
    }

    async fn settle(&self, intent_id: &str) -> anyhow::Result<Outcome> {
        let id: PaymentIntentId = intent_id.parse()?;
        let intent = PaymentIntent::retrieve(&self.client, &id, &[]).await?;
        match intent.status {
            PaymentIntentStatus::RequiresConfirmation | PaymentIntentStatus::RequiresAction => {
                self.cancel(intent_id, "the payment was never confirmed")
                    .await
            }
            _ => Ok(outcome_of(&intent)),
        }
    }

    async fn refund(&self, intent_id: &str, attempt: i32) -> anyhow::Result<()> {
        #[derive(Serialize)]
        struct CreateRefund<'a> {
            payment_intent: &'a str,
        }
        let refunded: Result<serde_json::Value, StripeError> = self
            .idempotent(format!("refund-{intent_id}-{attempt}"))
            .post_form(
                "/refunds",
                CreateRefund {
                    payment_intent: intent_id,
                },
            )
            .await;
        match refunded {
            Ok(_) => Ok(()),
            // An earlier attempt's request went through after all.
            Err(StripeError::Stripe(err))
                if err.code == Some(stripe::ErrorCode::ChargeAlreadyRefunded) =>
            {
                Ok(())
            }
            Err(err) => Err(err.into()),
        }
    }
}

fn outcome_of(intent: &PaymentIntent) -> Outcome {
    match intent.status {
        PaymentIntentStatus::Succeeded => Outcome::Succeeded {
            provider_id: intent.id.to_string(),
        },
        PaymentIntentStatus::RequiresPaymentMethod | PaymentIntentStatus::Canceled => {
            Outcome::NotCharged {
                reason: intent
                    .last_payment_error
                    .as_ref()
                    .and_then(|e| e.message.clone())
                    .unwrap_or_else(|| "your card was declined".into()),
            }
        }
        PaymentIntentStatus::Processing
        | PaymentIntentStatus::RequiresCapture
        | PaymentIntentStatus::RequiresConfirmation
        | PaymentIntentStatus::RequiresAction => Outcome::Pending,
    }
}
