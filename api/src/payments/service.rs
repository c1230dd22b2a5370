//! `payOrder`, step by step (DESIGN.md step 3).

use std::{sync::Arc, time::Duration};

use entity::{
    charge,
    order::{self, OrderStatus},
};
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, DatabaseConnection, EntityTrait, QueryFilter,
};
use uuid::Uuid;

use super::{
    model::Charge,
    processor::{ChargeRequest, Outcome, Prepared, Processor},
    types::PaymentSettings,
};
use crate::{
    auth::Viewer,
    config::Config,
    db,
    error::{ApiError, ApiResult},
    ids::{ChargeId, OrderId},
    orders::{self, OrderService, model::Order},
    outbox::{self, DomainEvent, EventPayload, Events},
    tickets::{self, model::Ticket},
};

#[derive(Clone)]
pub struct PaymentService {
    pub(super) db: DatabaseConnection,
    pub(super) events: Events,
    pub(super) orders: OrderService,
    pub(super) processor: Arc<dyn Processor>,
    pub(super) currency: String,
    pub(super) publishable_key: Option<String>,
    /// How long one processor call may take before its outcome counts as unknown.
    pub(super) timeout: Duration,
    /// An order `AWAITING_PAYMENT` this long after its last step was left by a crash or an unknown
    /// outcome: the reconciler settles it by asking the processor.
    pub(super) settle_after: Duration,
}

impl PaymentService {
    pub fn new(
        db: DatabaseConnection,
        events: Events,
        orders: OrderService,
        processor: Arc<dyn Processor>,
        config: &Config,
    ) -> Self {
        Self {
            db,
            events,
            orders,
            processor,
            currency: config.payments.currency.clone(),
            publishable_key: config.payments.stripe_publishable_key.clone(),
            timeout: config.payments.timeout,
            settle_after: config.payments.settle_after,
        }
    }

    pub fn settings(&self) -> PaymentSettings {
        PaymentSettings {
            processor: self.processor.name().to_owned(),
            publishable_key: self.publishable_key.clone(),
            currency: self.currency.clone(),
        }
    }

    #[tracing::instrument(name = "payments.pay", skip_all, fields(order = %order_id, buyer = %viewer.user_id))]
    pub async fn pay(&self, viewer: Viewer, order_id: OrderId, token: &str) -> ApiResult<Charge> {
        let order_id = order_id.uuid();
        let token = token.trim();
        if token.is_empty() || token.len() > 255 {
            return Err(ApiError::field(
                "token",
                "must be a card token such as tok_visa",
            ));
        }
        let current = orders::payment::find(&self.db, order_id)
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
        let started = orders::payment::start_payment(&txn, order_id, now).await?;
        let Some(started) = started else {
            drop(txn);
            return Err(ApiError::Conflict(
                "the order has expired or changed meanwhile; nothing was charged".into(),
            ));
        };
        let awaiting = [self.order_event(&txn, &started).await?];
        outbox::record(&txn, &awaiting).await?;
        txn.commit().await?;
        self.events.publish_committed(&awaiting).await;

        self.orders.hold_while_paying(&started).await;

        let request = ChargeRequest {
            order_id,
            attempt: started.payment_attempts,
            amount_cents: started.price_cents,
            currency: &self.currency,
            token,
        };
        // Step 1: create the payment; nothing is charged yet, so any failure here reopens.
        let intent_id = match self.call(self.processor.prepare(&request)).await {
            Ok(Prepared::Intent { id }) => id,
            Ok(Prepared::Refused { reason }) => {
                self.reopen(started).await?;
                return Err(ApiError::PaymentFailed(format!(
                    "{reason}; nothing was charged"
                )));
            }
            Err(err) => {
                tracing::error!(error = %err, %order_id, "payment processor failed before charging");
                self.reopen(started).await?;
                return Err(ApiError::PaymentFailed(
                    "the payment processor is unavailable; nothing was charged, try again".into(),
                ));
            }
        };
        // Step 2: remember the payment before charging it, so a crash can be settled.
        let Some(started) = self.store_intent(&started, &intent_id).await? else {
            return Err(ApiError::Conflict(
                "the order was cancelled meanwhile; nothing was charged".into(),
            ));
        };
        // Step 3: charge it.
        match self
            .call(self.processor.confirm(&intent_id, &request))
            .await
        {
            Ok(Outcome::Succeeded { provider_id }) => self.complete(started, provider_id).await,
            Ok(Outcome::NotCharged { reason }) => {
                self.reopen(started).await?;
                Err(ApiError::PaymentFailed(format!(
                    "{reason}; nothing was charged"
                )))
            }
            Ok(Outcome::Pending) | Err(_) => {
                // Unknown: the card may or may not be charged. The order stays AWAITING_PAYMENT
                // (its ticket held) until the reconciler learns the outcome from the processor.
                tracing::error!(%order_id, %intent_id, "payment outcome unknown; the reconciler will settle it");
                Err(ApiError::PaymentFailed(
                    "the payment processor has not confirmed the charge yet; the order stays \
                     reserved while it is settled, and you are charged at most once (watch the \
                     order's status)"
                        .into(),
                ))
            }
        }
    }

    /// A processor call, its time bounded: a timeout is an unknown outcome like any error.
    pub(super) async fn call<T>(
        &self,
        call: impl std::future::Future<Output = anyhow::Result<T>>,
    ) -> anyhow::Result<T> {
        match tokio::time::timeout(self.timeout, call).await {
            Ok(result) => result,
            Err(_) => Err(anyhow::anyhow!(
                "the payment processor did not answer within {:?}",
                self.timeout
            )),
        }
    }

    /// Stores the current attempt's payment id on the order (restarting its settle clock);
    /// `None` when the order is no longer paying this attempt (the buyer cancelled it).
    pub(super) async fn store_intent(
        &self,
        order: &order::Model,
        intent_id: &str,
    ) -> ApiResult<Option<order::Model>> {
        orders::payment::remember_payment(&self.db, order, intent_id, db::now()).await
    }

    /// An `OrderUpdated` event carrying the ticket too, so subscribers need no query.
    pub(super) async fn order_event(
        &self,
        conn: &impl sea_orm::ConnectionTrait,
        model: &order::Model,
    ) -> ApiResult<DomainEvent> {
        let ticket = tickets::service::get_model(conn, model.ticket_id)
            .await?
            .map(Ticket::from);
        Ok(DomainEvent::new(
            EventPayload::OrderUpdated(Order::new(model.clone(), ticket)),
            Some(model.buyer_id.into()),
        ))
    }

    /// One of the viewer's charges.
    pub async fn charge(&self, viewer: Viewer, id: ChargeId) -> ApiResult<Option<Charge>> {
        Ok(charge::Entity::find_by_id(id.uuid())
            .one(&self.db)
            .await?
            .filter(|c| c.buyer_id == viewer.user_id)
            .map(Charge::from))
    }

    pub(super) async fn existing_charge(&self, order_id: Uuid) -> ApiResult<Charge> {
        charge::Entity::find()
            .filter(charge::Column::OrderId.eq(order_id))
            .one(&self.db)
            .await?
            .map(Charge::from)
            .ok_or_else(|| {
                ApiError::internal(anyhow::anyhow!("complete order {order_id} has no charge"))
            })
    }

    /// Completes the order and sells the ticket and records the charge, in one transaction, if
    /// the order is still in the payment `order` was read in. Otherwise the charge is the same
    /// success told twice (its charge is returned), or money taken for a payment the order has
    /// moved past (cancelled meanwhile, or a stale attempt): a refund is owed.
    pub(super) async fn complete(
        &self,
        order: order::Model,
        provider_id: String,
    ) -> ApiResult<Charge> {
        let now = db::now();
        let txn = db::begin_write(&self.db).await?;
        let Some(completed) =
            orders::payment::finish_payment(&txn, &order, OrderStatus::Complete, now).await?
        else {
            drop(txn);
            if let Some(existing) = charge::Entity::find()
                .filter(charge::Column::OrderId.eq(order.id))
                .filter(charge::Column::ProviderId.eq(provider_id.clone()))
                .one(&self.db)
                .await?
            {
                return Ok(Charge::from(existing));
            }
            let refunded = self
                .owe_refund(
                    &order,
                    &provider_id,
                    "charged after the order left this payment",
                )
                .await?;
            let how = if refunded {
                "the charge was refunded"
            } else {
                "a refund of the charge is owed and being made (it is retried until the \
                 processor confirms it)"
            };
            return Err(ApiError::PaymentFailed(format!(
                "the order was cancelled while your card was charged; {how}"
            )));
        };
        let charge = charge::ActiveModel {
            id: Set(Uuid::now_v7()),
            order_id: Set(order.id),
            buyer_id: Set(order.buyer_id),
            amount_cents: Set(order.price_cents),
            currency: Set(self.currency.clone()),
            provider_id: Set(provider_id.clone()),
            created_at: Set(now),
        }
        .insert(&txn)
        .await?;
        let sold = tickets::service::mark_sold(&txn, order.ticket_id, order.id, now).await?;
        let charge = Charge::from(charge);
        let ticket = sold.map(Ticket::from);
        let mut events = vec![DomainEvent::new(
            EventPayload::ChargeCreated(charge.clone()),
            Some(order.buyer_id.into()),
        )];
        events.push(DomainEvent::new(
            EventPayload::OrderUpdated(Order::new(completed, ticket.clone())),
            Some(order.buyer_id.into()),
        ));
        if let Some(ticket) = &ticket {
            events.push(tickets::service::updated_event(ticket));
        }
        outbox::record(&txn, &events).await?;
        txn.commit().await?;
        self.orders.release_paid(&order).await;
        self.events.publish_committed(&events).await;
        Ok(charge)
    }

    /// Back to `CREATED` after a failed charge, with the time the order had left.
    pub(super) async fn reopen(&self, order: order::Model) -> ApiResult<()> {
        let now = db::now();
        let txn = db::begin_write(&self.db).await?;
        let Some(reopened) =
            orders::payment::finish_payment(&txn, &order, OrderStatus::Created, now).await?
        else {
            return Ok(());
        };
        let events = [self.order_event(&txn, &reopened).await?];
        outbox::record(&txn, &events).await?;
        txn.commit().await?;
        self.events.publish_committed(&events).await;
        self.orders.resume_after_payment(&reopened, now).await
    }
}
