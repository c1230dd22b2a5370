//! An unpaid order ends: cancelled by its buyer, or expired at its deadline (what `expiration`
//! runs, DESIGN.md step 2). Either frees its ticket in the same transaction.

use chrono::{DateTime, Utc};
use entity::order::{self, OrderStatus};
use sea_orm::{
    ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect,
    sea_query::{Expr, LockBehavior, LockType},
};
use uuid::Uuid;

use super::{
    model::Order,
    service::{LIVE, OrderService, order_events, status_word, transition},
};
use crate::{
    auth::Viewer,
    db,
    error::{ApiError, ApiResult},
    ids::OrderId,
    outbox::{self, DomainEvent, EventPayload},
    tickets::{self, availability::Move, model::Ticket},
};

/// Orders expired per transaction by one pass.
const EXPIRE_BATCH: u64 = 500;

impl OrderService {
    /// Cancels the viewer's live order and puts its ticket back on sale.
    #[tracing::instrument(name = "orders.cancel", skip_all, fields(order = %id, buyer = %viewer.user_id))]
    pub async fn cancel(&self, viewer: Viewer, id: OrderId) -> ApiResult<Order> {
        let id = id.uuid();
        let now = db::now();
        let txn = db::begin_write(&self.db).await?;
        let current = self.find_own(&txn, viewer, id).await?;
        if !LIVE.contains(&current.status) {
            return Err(ApiError::Conflict(format!(
                "the order is {} and cannot be cancelled",
                status_word(current.status)
            )));
        }
        let Some(model) = transition(&txn, id, &LIVE, OrderStatus::Cancelled, now).await? else {
            return Err(ApiError::Conflict(
                "the order changed meanwhile; reload it".into(),
            ));
        };
        let (orders, events) = settle_cancelled(&txn, vec![model], now, false).await?;
        outbox::record(&txn, &events).await?;
        txn.commit().await?;
        self.after_cancel(&orders, &events).await;
        orders
            .into_iter()
            .next()
            .ok_or_else(|| ApiError::internal(anyhow::anyhow!("cancelled order vanished")))
    }

    /// Cancels every unpaid order whose deadline has passed, in batches; returns how many. Safe to
    /// run on every replica at once: each order is cancelled (and announced) by exactly one.
    #[tracing::instrument(name = "orders.expire_due", skip_all)]
    pub async fn expire_due(&self) -> ApiResult<usize> {
        let mut total = 0;
        loop {
            let now = db::now();
            let txn = db::begin_write(&self.db).await?;
            let due: Vec<Uuid> = order::Entity::find()
                .select_only()
                .column(order::Column::Id)
                .filter(order::Column::Status.eq(OrderStatus::Created))
                .filter(order::Column::ExpiresAt.lte(now))
                .order_by_asc(order::Column::ExpiresAt)
                .limit(EXPIRE_BATCH)
                .lock_with_behavior(LockType::Update, LockBehavior::SkipLocked)
                .into_tuple()
                .all(&txn)
                .await?;
            if due.is_empty() {
                txn.commit().await?;
                return Ok(total);
            }
            let models = order::Entity::update_many()
                .col_expr(order::Column::Status, Expr::value(OrderStatus::Cancelled))
                .col_expr(order::Column::UpdatedAt, Expr::value(now))
                .filter(order::Column::Id.is_in(due.iter().copied()))
                .filter(order::Column::Status.eq(OrderStatus::Created))
                .filter(order::Column::ExpiresAt.lte(now))
                .exec_with_returning(&txn)
                .await?;
            let (orders, events) = settle_cancelled(&txn, models, now, true).await?;
            outbox::record(&txn, &events).await?;
            txn.commit().await?;
            total += orders.len();
            self.after_cancel(&orders, &events).await;
            if (due.len() as u64) < EXPIRE_BATCH {
                return Ok(total);
            }
        }
    }

    /// The earliest deadline of every unpaid order (for the expiry scheduler after a restart).
    pub async fn live_deadlines(&self) -> ApiResult<Vec<DateTime<Utc>>> {
        Ok(order::Entity::find()
            .select_only()
            .column(order::Column::ExpiresAt)
            .filter(order::Column::Status.eq(OrderStatus::Created))
            .into_tuple()
            .all(&self.db)
            .await?)
    }

    async fn after_cancel(&self, orders: &[Order], events: &[DomainEvent]) {
        self.events.publish_committed(events).await;
        for order in orders {
            if let Err(err) = self
                .locks
                .release(order.ticket_id.uuid(), &order.id.to_string())
                .await
            {
                tracing::warn!(error = %err, "could not release a cancelled order's lock; it will expire");
            }
        }
    }
}

/// Frees the tickets of orders just cancelled and builds their events.
async fn settle_cancelled(
    conn: &impl ConnectionTrait,
    models: Vec<order::Model>,
    now: DateTime<Utc>,
    expired: bool,
) -> ApiResult<(Vec<Order>, Vec<DomainEvent>)> {
    let holds: Vec<(Uuid, Uuid)> = models.iter().map(|o| (o.ticket_id, o.id)).collect();
    let freed = tickets::service::release(conn, &holds, now).await?;
    let mut events = Vec::with_capacity(models.len() * 3);
    let mut orders = Vec::with_capacity(models.len());
    for model in models {
        let ticket = freed
            .iter()
            .find(|t| t.id == model.ticket_id)
            .cloned()
            .map(Ticket::from);
        let buyer = model.buyer_id;
        let order = Order::new(model, ticket.clone());
        let kinds: &[fn(Order) -> EventPayload] = if expired {
            &[EventPayload::OrderExpired, EventPayload::OrderUpdated]
        } else {
            &[EventPayload::OrderUpdated]
        };
        events.extend(order_events(&order, buyer, kinds));
        if let Some(ticket) = &ticket {
            events.push(tickets::service::updated_event(ticket));
            events.extend(tickets::availability::available_event(ticket));
        }
        orders.push(order);
    }
    let moves = freed
        .iter()
        .filter_map(|t| t.event_id.map(|e| (e.into(), Move::Added(t.price_cents))));
    events.extend(tickets::availability::refresh(conn, moves, now).await?);
    Ok((orders, events))
}
