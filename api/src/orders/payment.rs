//! The steps payments moves an order through (DESIGN.md step 3), each fenced by the attempt it
//! acts for, and what happens to the order's lock meanwhile: the functions `payments` calls
//! instead of touching the orders table or the lock itself.

use chrono::{DateTime, Utc};
use entity::order::{self, OrderStatus};
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, ExprTrait, QueryFilter, sea_query::Expr};
use uuid::Uuid;

use super::service::OrderService;
use crate::error::ApiResult;

impl OrderService {
    /// An order that began to be paid keeps its ticket however long the charge takes: its lock
    /// loses its deadline (the database's `AWAITING_PAYMENT` is what expiry respects).
    pub async fn hold_while_paying(&self, order: &order::Model) {
        if let Err(err) = self
            .locks
            .persist(order.ticket_id, &order.id.to_string())
            .await
        {
            tracing::warn!(error = %err, "could not persist the order's lock; the database still holds the ticket");
        }
    }

    /// A paid order lets its lock go (the ticket is `SOLD` in the database).
    pub async fn release_paid(&self, order: &order::Model) {
        if let Err(err) = self
            .locks
            .release(order.ticket_id, &order.id.to_string())
            .await
        {
            tracing::warn!(error = %err, "could not release a paid order's lock");
        }
    }

    /// An order back to `CREATED` after a failed charge holds its ticket for the time it has left,
    /// or is expired now if that is none.
    pub async fn resume_after_payment(
        &self,
        order: &order::Model,
        now: DateTime<Utc>,
    ) -> ApiResult<()> {
        let left = (order.expires_at - now).to_std().unwrap_or_default();
        if left.is_zero() {
            // Its deadline passed during the charge: expire it now rather than at the next sweep.
            self.expire_due().await?;
        } else if let Err(err) = self
            .locks
            .restore_ttl(order.ticket_id, &order.id.to_string(), left)
            .await
        {
            tracing::warn!(error = %err, "could not re-arm the order's lock; the schedule still expires it");
        }
        Ok(())
    }
}

/// One order as stored, for the payments that act for it.
pub async fn find(conn: &impl ConnectionTrait, id: Uuid) -> ApiResult<Option<order::Model>> {
    Ok(order::Entity::find_by_id(id).one(conn).await?)
}

/// `CREATED` → `AWAITING_PAYMENT` as a new payment attempt (its number one more, no payment id
/// yet), only while unexpired; from then on expiry leaves it alone. `None` when it was not payable.
pub async fn start_payment(
    conn: &impl ConnectionTrait,
    id: Uuid,
    now: DateTime<Utc>,
) -> ApiResult<Option<order::Model>> {
    Ok(order::Entity::update_many()
        .col_expr(
            order::Column::Status,
            Expr::value(OrderStatus::AwaitingPayment),
        )
        .col_expr(
            order::Column::PaymentAttempts,
            Expr::col(order::Column::PaymentAttempts).add(1),
        )
        .col_expr(
            order::Column::PaymentIntentId,
            Expr::value(Option::<String>::None),
        )
        .col_expr(order::Column::UpdatedAt, Expr::value(now))
        .filter(order::Column::Id.eq(id))
        .filter(order::Column::Status.eq(OrderStatus::Created))
        .filter(order::Column::ExpiresAt.gt(now))
        .exec_with_returning(conn)
        .await?
        .pop())
}

/// Stores the payment id of the attempt `paying` is in (restarting its settle clock); `None` when
/// the order is no longer paying that attempt (the buyer cancelled it).
pub async fn remember_payment(
    conn: &impl ConnectionTrait,
    paying: &order::Model,
    payment_id: &str,
    now: DateTime<Utc>,
) -> ApiResult<Option<order::Model>> {
    Ok(order::Entity::update_many()
        .col_expr(
            order::Column::PaymentIntentId,
            Expr::value(payment_id.to_owned()),
        )
        .col_expr(order::Column::UpdatedAt, Expr::value(now))
        .filter(order::Column::Id.eq(paying.id))
        .filter(order::Column::Status.eq(OrderStatus::AwaitingPayment))
        .filter(order::Column::PaymentAttempts.eq(paying.payment_attempts))
        .exec_with_returning(conn)
        .await?
        .pop())
}

/// Orders paying, unchanged since `before`: what the reconciler settles.
pub async fn paying_since(
    conn: &impl ConnectionTrait,
    before: DateTime<Utc>,
) -> ApiResult<Vec<order::Model>> {
    Ok(order::Entity::find()
        .filter(order::Column::Status.eq(OrderStatus::AwaitingPayment))
        .filter(order::Column::UpdatedAt.lte(before))
        .all(conn)
        .await?)
}

/// Moves an order out of the payment `paying` was read in (`AWAITING_PAYMENT`, the same attempt,
/// the same stored payment id or none) to `to`; `None` when it is no longer in that payment: it
/// was cancelled, reopened, or is paying a later attempt. A decision made for one attempt (by a
/// reconciler working from an old list, a late answer, a webhook) can never act on another.
pub async fn finish_payment(
    conn: &impl ConnectionTrait,
    paying: &order::Model,
    to: OrderStatus,
    now: DateTime<Utc>,
) -> ApiResult<Option<order::Model>> {
    let same_payment = match &paying.payment_intent_id {
        Some(id) => order::Column::PaymentIntentId.eq(id.clone()),
        None => order::Column::PaymentIntentId.is_null(),
    };
    Ok(order::Entity::update_many()
        .col_expr(order::Column::Status, Expr::value(to))
        .col_expr(order::Column::UpdatedAt, Expr::value(now))
        .filter(order::Column::Id.eq(paying.id))
        .filter(order::Column::Status.eq(OrderStatus::AwaitingPayment))
        .filter(order::Column::PaymentAttempts.eq(paying.payment_attempts))
        .filter(same_payment)
        .exec_with_returning(conn)
        .await?
        .pop())
}
