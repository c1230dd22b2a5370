//! `OrderService`: what it holds, and reading one's own orders. Its rules are in the files beside
//! it: `reserve` (an order is made), `cancel` (it is cancelled or expires), `payment` (the steps
//! payments moves it through).

use std::{sync::Arc, time::Duration};

use chrono::{DateTime, Utc};
use entity::order::{self, OrderStatus};
use sea_orm::{
    ColumnTrait, ConnectionTrait, DatabaseConnection, EntityTrait, QueryFilter, QueryOrder,
    QuerySelect, sea_query::Expr,
};
use uuid::Uuid;

use super::{lock::TicketLocks, model::Order};
use crate::{
    auth::Viewer,
    cache::Bounded,
    error::{ApiError, ApiResult},
    ids::{EventId, OrderId},
    outbox::{DomainEvent, EventPayload, Events},
    pagination::Page,
    queue::QueueService,
    store::LockStore,
};

pub(super) const LIVE: [OrderStatus; 2] = [OrderStatus::Created, OrderStatus::AwaitingPayment];
/// Tickets whose seller is remembered (a seller never changes); a full map is emptied.
const SELLERS_KEPT: usize = 65_536;

#[derive(Clone)]
pub struct OrderService {
    pub(super) db: DatabaseConnection,
    pub(super) locks: TicketLocks,
    pub(super) events: Events,
    pub(super) ttl: Duration,
    pub(super) max_live: u64,
    /// Ticket → seller, for tickets this process has read: lets a request for a held ticket be
    /// answered from the lock store alone (see `create`).
    pub(super) sellers: Bounded<Uuid, Uuid>,
    /// Ticket → its event, and a queued event → its `onSaleAt` and `startsAt`, as learned
    /// (none of them ever changes): a buyer without an admission is refused before the
    /// ticket's lock is taken.
    pub(super) ticket_events: Bounded<Uuid, EventId>,
    pub(super) on_sale_at: Bounded<EventId, (DateTime<Utc>, DateTime<Utc>)>,
    /// Asked before a ticket of an event on sale through its queue is reserved.
    pub(super) queue: QueueService,
}

pub fn not_found() -> ApiError {
    ApiError::NotFound("no such order".into())
}

pub(super) fn order_events(
    order: &Order,
    buyer: Uuid,
    kinds: &[fn(Order) -> EventPayload],
) -> Vec<DomainEvent> {
    kinds
        .iter()
        .map(|kind| DomainEvent::new(kind(order.clone()), Some(buyer.into())))
        .collect()
}

impl OrderService {
    pub fn new(
        db: DatabaseConnection,
        locks: Arc<dyn LockStore>,
        events: Events,
        ttl: Duration,
        max_live: u32,
        queue: QueueService,
    ) -> Self {
        Self {
            db,
            locks: TicketLocks::new(locks),
            events,
            ttl,
            max_live: u64::from(max_live),
            sellers: Bounded::new(SELLERS_KEPT),
            ticket_events: Bounded::new(SELLERS_KEPT),
            on_sale_at: Bounded::new(SELLERS_KEPT),
            queue,
        }
    }

    pub async fn get(&self, viewer: Viewer, id: OrderId) -> ApiResult<Order> {
        let model = self.find_own(&self.db, viewer, id.uuid()).await?;
        Ok(Order::new(model, None))
    }

    /// The viewer's orders, newest first (`first + 1` rows).
    pub async fn list(&self, viewer: Viewer, page: Page) -> ApiResult<Vec<Order>> {
        let mut query = order::Entity::find()
            .filter(order::Column::BuyerId.eq(viewer.user_id))
            .order_by_desc(order::Column::Id);
        if let Some(after) = page.after {
            query = query.filter(order::Column::Id.lt(after));
        }
        let rows = query.limit(page.first + 1).all(&self.db).await?;
        Ok(rows.into_iter().map(|m| Order::new(m, None)).collect())
    }

    pub(super) async fn find_own(
        &self,
        conn: &impl ConnectionTrait,
        viewer: Viewer,
        id: Uuid,
    ) -> ApiResult<order::Model> {
        order::Entity::find_by_id(id)
            .one(conn)
            .await?
            .filter(|o| o.buyer_id == viewer.user_id)
            .ok_or_else(not_found)
    }
}

pub(super) fn status_word(status: OrderStatus) -> &'static str {
    match status {
        OrderStatus::Created => "created",
        OrderStatus::AwaitingPayment => "awaiting payment",
        OrderStatus::Cancelled => "cancelled",
        OrderStatus::Complete => "complete",
    }
}

/// Moves one order from one of `from` to `to`; `None` if it was not in `from` any more.
pub async fn transition(
    conn: &impl ConnectionTrait,
    id: Uuid,
    from: &[OrderStatus],
    to: OrderStatus,
    now: DateTime<Utc>,
) -> ApiResult<Option<order::Model>> {
    Ok(order::Entity::update_many()
        .col_expr(order::Column::Status, Expr::value(to))
        .col_expr(order::Column::UpdatedAt, Expr::value(now))
        .filter(order::Column::Id.eq(id))
        .filter(order::Column::Status.is_in(from.iter().copied()))
        .exec_with_returning(conn)
        .await?
        .pop())
}
