//! `payOrder`, step by step (DESIGN.md step 3).

use std::{sync::Arc, time::Duration};

use entity::{
    charge,
    order::{self, OrderStatus},
};
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, DatabaseConnection, EntityTrait, ExprTrait,
    QueryFilter, SqlErr, sea_query::Expr,
};
use uuid::Uuid;

use super::{
    processor::{ChargeOutcome, ChargeRequest, Processor},
    types::Charge,
};
use crate::{
    auth::Viewer,
    db,
    error::{ApiError, ApiResult},
    events::{self, DomainEvent, EventPayload, Events},
    orders::{self, OrderService, types::Order},
    store::LockStore,
    tickets::{self, types::Ticket},
};

/// How long a processor call may take before its outcome counts as unknown.
const PROCESSOR_TIMEOUT: Duration = Duration::from_secs(30);
/// An order still `AWAITING_PAYMENT` this long after it started paying was left by a crash (or an
/// unknown outcome): the reconciler settles it by asking the processor.
pub const STUCK_AFTER: Duration = Duration::from_secs(60);

#[derive(Clone)]
pub struct PaymentService {
    db: DatabaseConnection,
    locks: Arc<dyn LockStore>,
    events: Events,
    orders: OrderService,
    processor: Arc<dyn Processor>,
    currency: String,
}

impl PaymentService {
    pub fn new(
        db: DatabaseConnection,
        locks: Arc<dyn LockStore>,
        events: Events,
        orders: OrderService,
        processor: Arc<dyn Processor>,
        currency: String,
    ) -> Self {
        Self {
            db,
            locks,
            events,
            orders,
            processor,
            currency,
        }
    }

    pub async fn pay(&self, viewer: Viewer, order_id: Uuid, token: &str) -> ApiResult<Charge> {
        let token = token.trim();
        if token.is_empty() || token.len() > 255 {
            return Err(ApiError::field(
                "token",
                "must be a card token such as tok_visa",
            ));
        }
        let current = order::Entity::find_by_id(order_id)
            .one(&self.db)
            .await?
            .filter(|o| o.buyer_id == viewer.user_id)
            .ok_or_else(orders::service::not_found)?;
        match current.status {
            OrderStatus::Created => {}
            OrderStatus::Complete => return self.existing_charge(order_id).await,
            OrderStatus::Cancelled => {
                return Err(ApiError::Conflict(
                    "the order is cancelled or expired; nothing was charged".into(),
                ));
            }
            OrderStatus::AwaitingPayment => {
                return Err(ApiError::Conflict(
                    "a payment for this order is in progress".into(),
                ));
            }
        }

        // CREATED → AWAITING_PAYMENT, only while unexpired; then expiry cannot touch it.
        let now = db::now();
        let txn = db::begin_write(&self.db).await?;
        let started = order::Entity::update_many()
            .col_expr(
                order::Column::Status,
                Expr::value(OrderStatus::AwaitingPayment),
            )
            .col_expr(
                order::Column::PaymentAttempts,
                Expr::col(order::Column::PaymentAttempts).add(1),
            )
            .col_expr(order::Column::UpdatedAt, Expr::value(now))
            .filter(order::Column::Id.eq(order_id))
            .filter(order::Column::Status.eq(OrderStatus::Created))
            .filter(order::Column::ExpiresAt.gt(now))
            .exec_with_returning(&txn)
            .await?
            .pop();
        let Some(started) = started else {
            drop(txn);
            return Err(ApiError::Conflict(
                "the order has expired or changed meanwhile; nothing was charged".into(),
            ));
        };
        let awaiting = [self.order_event(&txn, &started).await?];
        events::record(&txn, &awaiting).await?;
        txn.commit().await?;
        self.events.publish_committed(&awaiting).await;

        let key = orders::lock_key(started.ticket_id);
        let owner = order_id.to_string();
        if let Err(err) = self.locks.persist(&key, &owner).await {
            tracing::warn!(error = %err, "could not persist the order's lock; the database still holds the ticket");
        }

        let request = ChargeRequest {
            idempotency_key: format!("{order_id}:{}", started.payment_attempts),
            amount_cents: started.price_cents,
            currency: &self.currency,
            token,
        };
        let outcome = tokio::time::timeout(PROCESSOR_TIMEOUT, self.processor.charge(request)).await;
        match outcome {
            Ok(Ok(ChargeOutcome::Succeeded { provider_id })) => {
                self.complete(started, provider_id).await
            }
            Ok(Ok(ChargeOutcome::Declined { reason })) => {
                self.reopen(started).await?;
                Err(ApiError::PaymentFailed(format!(
                    "{reason}; nothing was charged"
                )))
            }
            Ok(Err(err)) => {
                tracing::error!(error = ?err, %order_id, "payment processor failed");
                self.reopen(started).await?;
                Err(ApiError::PaymentFailed(
                    "the payment processor failed; try again".into(),
                ))
            }
            Err(_) => {
                tracing::error!(%order_id, "payment processor timed out");
                self.reopen(started).await?;
                Err(ApiError::PaymentFailed(
                    "the payment processor did not answer; try again".into(),
                ))
            }
        }
    }

    /// Settles orders left `AWAITING_PAYMENT` by a crash: completes those the processor charged,
    /// reopens the others (which then expire if their time is up). Never charges.
    pub async fn reconcile(&self) -> ApiResult<usize> {
        let cutoff = db::now() - chrono::Duration::from_std(STUCK_AFTER).unwrap_or_default();
        let stuck = order::Entity::find()
            .filter(order::Column::Status.eq(OrderStatus::AwaitingPayment))
            .filter(order::Column::UpdatedAt.lte(cutoff))
            .all(&self.db)
            .await?;
        let mut settled = 0;
        for order in stuck {
            let key = format!("{}:{}", order.id, order.payment_attempts);
            match self.processor.lookup(&key).await {
                Ok(Some(ChargeOutcome::Succeeded { provider_id })) => {
                    self.complete(order, provider_id).await?;
                }
                Ok(_) => self.reopen(order).await?,
                Err(err) => {
                    tracing::warn!(task = "payment-reconciler", error = %err, "cannot ask the processor; will retry");
                    continue;
                }
            }
            settled += 1;
        }
        Ok(settled)
    }

    /// The reconciler as a background task, every 10 seconds until `stop`.
    pub async fn run_reconciler(self, stop: tokio_util::sync::CancellationToken) {
        tracing::info!(task = "payment-reconciler", "started");
        let mut tick = tokio::time::interval(Duration::from_secs(10));
        loop {
            tokio::select! {
                _ = stop.cancelled() => break,
                _ = tick.tick() => {}
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

    /// An `OrderUpdated` event carrying the ticket too, so subscribers need no query.
    async fn order_event(
        &self,
        conn: &impl sea_orm::ConnectionTrait,
        model: &order::Model,
    ) -> ApiResult<DomainEvent> {
        let ticket = tickets::service::get_model(conn, model.ticket_id)
            .await?
            .map(Ticket::from);
        Ok(DomainEvent::new(
            EventPayload::OrderUpdated(Order::from_model(model.clone(), ticket)),
            Some(model.buyer_id),
        ))
    }

    /// One of the viewer's charges.
    pub async fn charge(&self, viewer: Viewer, id: Uuid) -> ApiResult<Option<Charge>> {
        Ok(charge::Entity::find_by_id(id)
            .one(&self.db)
            .await?
            .filter(|c| c.buyer_id == viewer.user_id)
            .map(Charge::from))
    }

    async fn existing_charge(&self, order_id: Uuid) -> ApiResult<Charge> {
        charge::Entity::find()
            .filter(charge::Column::OrderId.eq(order_id))
            .one(&self.db)
            .await?
            .map(Charge::from)
            .ok_or_else(|| {
                ApiError::internal(anyhow::anyhow!("complete order {order_id} has no charge"))
            })
    }

    /// Records the charge, completes the order and sells the ticket, in one transaction.
    async fn complete(&self, order: order::Model, provider_id: String) -> ApiResult<Charge> {
        let now = db::now();
        let txn = db::begin_write(&self.db).await?;
        let inserted = charge::ActiveModel {
            id: Set(Uuid::now_v7()),
            order_id: Set(order.id),
            buyer_id: Set(order.buyer_id),
            amount_cents: Set(order.price_cents),
            currency: Set(self.currency.clone()),
            provider_id: Set(provider_id),
            created_at: Set(now),
        }
        .insert(&txn)
        .await;
        let charge = match inserted {
            Ok(charge) => charge,
            Err(err) if matches!(err.sql_err(), Some(SqlErr::UniqueConstraintViolation(_))) => {
                drop(txn);
                return self.existing_charge(order.id).await;
            }
            Err(err) => return Err(err.into()),
        };
        let completed = orders::service::transition(
            &txn,
            order.id,
            &[OrderStatus::AwaitingPayment],
            OrderStatus::Complete,
            now,
        )
        .await?
        .ok_or_else(|| {
            ApiError::internal(anyhow::anyhow!(
                "order {} left AWAITING_PAYMENT under a charge",
                order.id
            ))
        })?;
        let sold = tickets::service::mark_sold(&txn, order.ticket_id, order.id, now).await?;
        let charge = Charge::from(charge);
        let ticket = sold.map(Ticket::from);
        let mut events = vec![DomainEvent::new(
            EventPayload::ChargeCreated(charge.clone()),
            Some(order.buyer_id),
        )];
        events.push(DomainEvent::new(
            EventPayload::OrderUpdated(Order::from_model(completed, ticket.clone())),
            Some(order.buyer_id),
        ));
        if let Some(ticket) = &ticket {
            events.push(tickets::service::updated_event(ticket));
        }
        events::record(&txn, &events).await?;
        txn.commit().await?;
        if let Err(err) = self
            .locks
            .release(&orders::lock_key(order.ticket_id), &order.id.to_string())
            .await
        {
            tracing::warn!(error = %err, "could not release a paid order's lock");
        }
        self.events.publish_committed(&events).await;
        Ok(charge)
    }

    /// Back to `CREATED` after a failed charge, with the time the order had left.
    async fn reopen(&self, order: order::Model) -> ApiResult<()> {
        let now = db::now();
        let txn = db::begin_write(&self.db).await?;
        let Some(reopened) = orders::service::transition(
            &txn,
            order.id,
            &[OrderStatus::AwaitingPayment],
            OrderStatus::Created,
            now,
        )
        .await?
        else {
            return Ok(());
        };
        let events = [self.order_event(&txn, &reopened).await?];
        events::record(&txn, &events).await?;
        txn.commit().await?;
        self.events.publish_committed(&events).await;
        let left = (reopened.expires_at - now).to_std().unwrap_or_default();
        if left.is_zero() {
            // Its deadline passed during the charge: expire it now rather than at the next sweep.
            self.orders.expire_due().await?;
        } else if let Err(err) = self
            .locks
            .restore_ttl(
                &orders::lock_key(order.ticket_id),
                &order.id.to_string(),
                left,
            )
            .await
        {
            tracing::warn!(error = %err, "could not re-arm the order's lock; the schedule still expires it");
        }
        Ok(())
    }
}
