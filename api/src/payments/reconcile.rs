//! Payments whose outcome is not known yet are settled by asking the processor, never by
//! charging again: the reconciler's pass (`reconcile`, `settle`) for orders a crash, a timeout or
//! an outage left `AWAITING_PAYMENT`, and the processor's own word (`payment_succeeded`, from the
//! webhook).

use std::time::Duration;

use entity::order::{self, OrderStatus};
use uuid::Uuid;

use super::{processor::Outcome, service::PaymentService};
use crate::{
    db,
    error::{ApiError, ApiResult},
    orders,
};

impl PaymentService {
    /// Settles orders left `AWAITING_PAYMENT` by a crash or an unknown outcome: completes those the
    /// processor charged, reopens the others (which then expire if their time is up), and leaves
    /// those it cannot learn about yet. Never charges.
    #[tracing::instrument(name = "payments.reconcile", skip_all)]
    pub async fn reconcile(&self) -> ApiResult<usize> {
        let cutoff = db::now() - chrono::Duration::from_std(self.settle_after).unwrap_or_default();
        let stuck = orders::payment::paying_since(&self.db, cutoff).await?;
        let mut settled = 0;
        for order in stuck {
            if self.settle(order).await? {
                settled += 1;
            }
        }
        Ok(settled)
    }

    /// Settles one order as it was read (by `reconcile`, possibly a while ago): asks the processor
    /// about the payment stored then and acts on the answer for that payment only, so a late
    /// answer about an old attempt cannot reopen or complete a newer one. Returns whether it
    /// settled it (false: the processor could not say yet).
    #[tracing::instrument(name = "payments.settle", skip_all, fields(order = %order.id))]
    pub async fn settle(&self, order: order::Model) -> ApiResult<bool> {
        // Without a stored payment nothing was confirmed, so nothing was charged.
        let outcome = match &order.payment_intent_id {
            None => Ok(Outcome::NotCharged {
                reason: "no payment was made".into(),
            }),
            Some(id) => self.call(self.processor.settle(id)).await,
        };
        match outcome {
            Ok(Outcome::Succeeded { provider_id }) => match self.complete(order, provider_id).await
            {
                Ok(_) | Err(ApiError::PaymentFailed(_)) => Ok(true),
                Err(err) => Err(err),
            },
            Ok(Outcome::NotCharged { .. }) => {
                self.reopen(order).await?;
                Ok(true)
            }
            Ok(Outcome::Pending) => Ok(false),
            Err(err) => {
                tracing::warn!(task = "payment-reconciler", error = %err, "cannot ask the processor; will retry");
                Ok(false)
            }
        }
    }

    /// A processor's word that a payment succeeded (its webhook): completes the order if the API
    /// call has not, refunds a charge whose order was cancelled meanwhile. Idempotent.
    #[tracing::instrument(name = "payments.payment_succeeded", skip_all, fields(order = %order_id))]
    pub async fn payment_succeeded(&self, order_id: Uuid, intent_id: &str) -> ApiResult<()> {
        let Some(order) = orders::payment::find(&self.db, order_id).await? else {
            tracing::warn!(%order_id, %intent_id, "a payment succeeded for an unknown order");
            return Ok(());
        };
        if order.payment_intent_id.as_deref() != Some(intent_id) {
            tracing::warn!(%order_id, %intent_id, "a payment succeeded that is not the order's current one");
            return Ok(());
        }
        match order.status {
            OrderStatus::AwaitingPayment => {
                match self.complete(order, intent_id.to_owned()).await {
                    Ok(_) | Err(ApiError::PaymentFailed(_)) => Ok(()),
                    Err(err) => Err(err),
                }
            }
            // Recorded before Stripe hears 200, so a failed refund is retried, not forgotten.
            OrderStatus::Cancelled => {
                self.owe_refund(&order, intent_id, "charged after the order was cancelled")
                    .await?;
                Ok(())
            }
            OrderStatus::Complete | OrderStatus::Created => Ok(()),
        }
    }

    /// The reconciler as a background task, every 10 seconds until `stop`.
    pub async fn run_reconciler(self, stop: tokio_util::sync::CancellationToken) {
        tracing::info!(task = "payment-reconciler", "started");
        let period =
            (self.settle_after / 4).clamp(Duration::from_millis(250), Duration::from_secs(10));
        let mut tick = tokio::time::interval(period);
        loop {
            tokio::select! {
                _ = stop.cancelled() => break,
                _ = tick.tick() => {}
            }
            match self.retry_refunds().await {
                Ok(0) => {}
                Ok(n) => tracing::warn!(
                    task = "payment-reconciler",
                    refunded = n,
                    "made refunds that were owed"
                ),
                Err(err) => {
                    tracing::warn!(task = "payment-reconciler", error = ?err, "retrying refunds failed")
                }
            }
            match self.reconcile().await {
                Ok(0) => {}
                Ok(n) => tracing::warn!(
                    task = "payment-reconciler",
                    settled = n,
                    "settled orders a crash left mid-payment"
                ),
                Err(err) => {
                    tracing::warn!(task = "payment-reconciler", error = ?err, "reconciliation failed")
                }
            }
        }
        tracing::info!(task = "payment-reconciler", "stopped");
    }
}
