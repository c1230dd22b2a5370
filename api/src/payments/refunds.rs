//! Money taken for an order that moved past the payment (cancelled meanwhile, or a stale
//! attempt) is owed back: the refund is recorded first (`refunds` table), then made, and retried
//! by the reconciler until the processor confirms it.

use entity::{order, refund};
use sea_orm::{
    ActiveValue::Set,
    ColumnTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect,
    sea_query::{Expr, OnConflict},
};
use uuid::Uuid;

use super::service::PaymentService;
use crate::{
    db,
    error::{ApiError, ApiResult},
};

/// Refunds owed retried per reconciler pass at most.
const REFUND_BATCH: u64 = 100;

impl PaymentService {
    /// Records that the charge of `payment_id` must be given back, then asks the processor once;
    /// `retry_refunds` asks again until it confirms. Returns whether it is refunded already.
    pub(super) async fn owe_refund(
        &self,
        order: &order::Model,
        payment_id: &str,
        reason: &str,
    ) -> ApiResult<bool> {
        let owed = refund::ActiveModel {
            id: Set(Uuid::now_v7()),
            order_id: Set(order.id),
            payment_id: Set(payment_id.to_owned()),
            amount_cents: Set(order.price_cents),
            reason: Set(reason.to_owned()),
            created_at: Set(db::now()),
            refunded_at: Set(None),
            attempts: Set(0),
            last_error: Set(None),
        };
        let recorded = refund::Entity::insert(owed)
            .on_conflict(
                OnConflict::column(refund::Column::PaymentId)
                    .do_nothing()
                    .to_owned(),
            )
            .exec_without_returning(&self.db)
            .await?;
        if recorded > 0 {
            tracing::warn!(order_id = %order.id, %payment_id, reason, "a refund is owed");
        }
        let Some(owed) = refund::Entity::find()
            .filter(refund::Column::PaymentId.eq(payment_id))
            .one(&self.db)
            .await?
        else {
            return Err(ApiError::internal(anyhow::anyhow!(
                "a refund owed for {payment_id} vanished"
            )));
        };
        if owed.refunded_at.is_some() {
            return Ok(true);
        }
        self.try_refund(owed).await
    }

    /// One request to the processor for a refund owed; records what it said.
    async fn try_refund(&self, owed: refund::Model) -> ApiResult<bool> {
        let attempt = owed.attempts + 1;
        let outcome = self
            .call(self.processor.refund(&owed.payment_id, attempt))
            .await;
        let done = outcome.is_ok();
        let mut update = refund::Entity::update_many()
            .col_expr(refund::Column::Attempts, Expr::value(attempt))
            .filter(refund::Column::Id.eq(owed.id))
            .filter(refund::Column::RefundedAt.is_null());
        update = match &outcome {
            Ok(()) => {
                tracing::warn!(order_id = %owed.order_id, payment_id = %owed.payment_id, "refunded");
                update.col_expr(refund::Column::RefundedAt, Expr::value(db::now()))
            }
            Err(err) => {
                tracing::error!(order_id = %owed.order_id, payment_id = %owed.payment_id, attempt, error = %err, "a refund failed; it will be retried");
                let mut text = err.to_string();
                text.truncate(text.floor_char_boundary(1000));
                update.col_expr(refund::Column::LastError, Expr::value(text))
            }
        };
        update.exec(&self.db).await?;
        Ok(done)
    }

    /// Asks the processor again for every refund still owed; returns how many it confirmed.
    #[tracing::instrument(name = "payments.retry_refunds", skip_all)]
    pub async fn retry_refunds(&self) -> ApiResult<usize> {
        let owed = refund::Entity::find()
            .filter(refund::Column::RefundedAt.is_null())
            .order_by_asc(refund::Column::CreatedAt)
            .limit(REFUND_BATCH)
            .all(&self.db)
            .await?;
        let mut refunded = 0;
        for owed in owed {
            if self.try_refund(owed).await? {
                refunded += 1;
            }
        }
        Ok(refunded)
    }
}
