//! The order rules: reserve, cancel, expire.

use std::{sync::Arc, time::Duration};

use chrono::{DateTime, Utc};
use entity::order::{self, OrderStatus};
use sea_orm::{
    ActiveModelTrait,
    ActiveValue::Set,
    ColumnTrait, ConnectionTrait, DatabaseConnection, DbBackend, EntityTrait, ExprTrait,
    PaginatorTrait, QueryFilter, QueryOrder, QuerySelect,
    sea_query::{Expr, LockBehavior, LockType, SimpleExpr},
};
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

use super::{lock::TicketLocks, model::Order};
use crate::{
    auth::Viewer,
    cache::Bounded,
    db,
    error::{ApiError, ApiResult},
    ids::{OrderId, TicketId},
    outbox::{self, DomainEvent, EventPayload, Events},
    pagination::Page,
    store::{LockOutcome, LockStore},
    tickets::{self, model::Ticket},
};

const LIVE: [OrderStatus; 2] = [OrderStatus::Created, OrderStatus::AwaitingPayment];
/// A lock whose order never reached the database (its process died mid-request) is taken back
/// once its order id (a UUID v7, so a timestamp) is older than this.
const ORPHAN_AFTER: Duration = Duration::from_secs(30);
/// Orders expired per transaction by one pass.
const EXPIRE_BATCH: u64 = 500;
/// Tickets whose seller is remembered (a seller never changes); a full map is emptied.
const SELLERS_KEPT: usize = 65_536;

#[derive(Clone)]
pub struct OrderService {
    db: DatabaseConnection,
    locks: TicketLocks,
    events: Events,
    ttl: Duration,
    max_live: u64,
    /// Ticket → seller, for tickets this process has read: lets a request for a held ticket be
    /// answered from the lock store alone (see `create`).
    sellers: Bounded<Uuid, Uuid>,
}

pub fn not_found() -> ApiError {
    ApiError::NotFound("no such order".into())
}

fn order_events(
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
    ) -> Self {
        Self {
            db,
            locks: TicketLocks::new(locks),
            events,
            ttl,
            max_live: u64::from(max_live),
            sellers: Bounded::new(SELLERS_KEPT),
        }
    }

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

    fn seller_of(&self, ticket_id: Uuid) -> Option<Uuid> {
        self.sellers.get(&ticket_id)
    }

    fn remember_seller(&self, ticket: &entity::ticket::Model) {
        self.remember(ticket.id, ticket.seller_id);
    }

    fn remember(&self, ticket_id: Uuid, seller_id: Uuid) {
        self.sellers.insert(ticket_id, seller_id);
    }

    /// Learns the seller of every ticket listed or changed on any replica, from the event bus,
    /// until `stop`: the first crowd on a newly listed ticket is then refused without the
    /// database too.
    pub async fn learn_sellers(self, stop: CancellationToken) {
        let mut events = self.events.bus().subscribe();
        loop {
            let event = tokio::select! {
                _ = stop.cancelled() => break,
                event = events.recv() => event,
            };
            match event {
                Ok(event) => {
                    if let EventPayload::TicketCreated(t) | EventPayload::TicketUpdated(t) =
                        &event.payload
                    {
                        self.remember(t.id.uuid(), t.seller_id.uuid());
                    }
                }
                Err(tokio::sync::broadcast::error::RecvError::Lagged(_)) => {}
                Err(tokio::sync::broadcast::error::RecvError::Closed) => break,
            }
        }
    }

    /// `CONFLICT` if a live order holds the ticket's lock, told without the database: what
    /// every buyer but one gets when many want one ticket. `None` when the lock store alone
    /// cannot tell (seller unknown here, lock free, or a holder old enough to be an orphan).
    async fn held_elsewhere(&self, viewer: Viewer, ticket_id: Uuid) -> ApiResult<Option<ApiError>> {
        let Some(seller) = self.seller_of(ticket_id) else {
            return Ok(None);
        };
        if seller == viewer.user_id {
            return Ok(Some(ApiError::Forbidden(
                "you cannot buy your own ticket".into(),
            )));
        }
        let holder = self.locks.holder(ticket_id).await?;
        Ok(holder
            .filter(|h| !may_be_orphan(h))
            .map(|_| ApiError::Conflict("the ticket is reserved".into())))
    }

    /// Reserves the ticket for the viewer for `ORDER_TTL_SECONDS`.
    ///
    /// The lock comes first, then one transaction whose `UPDATE` both reserves the ticket and
    /// checks what the ticket's state can refuse; the ticket is read only to explain a refusal.
    /// A ticket already held by a live order is refused from the lock store alone when this
    /// process knows its seller (who gets `FORBIDDEN` instead), so a crowd on one ticket costs
    /// the database nothing.
    #[tracing::instrument(name = "orders.create", skip_all, fields(ticket = %ticket_id, buyer = %viewer.user_id))]
    pub async fn create(
        &self,
        viewer: Viewer,
        ticket_id: TicketId,
        expected_version: Option<i32>,
    ) -> ApiResult<Order> {
        let ticket_id = ticket_id.uuid();
        if let Some(refusal) = self.held_elsewhere(viewer, ticket_id).await? {
            return Err(refusal);
        }
        let order_id = Uuid::now_v7();
        let owner = order_id.to_string();
        if self.take_lock(ticket_id, &owner).await? == LockOutcome::Held {
            // Held: still say NOT_FOUND, FORBIDDEN or "sold" where the ticket tells more.
            let ticket = tickets::service::get_model(&self.db, ticket_id)
                .await?
                .ok_or_else(tickets::service::not_found)?;
            self.remember_seller(&ticket);
            tickets::service::check_orderable(&ticket, viewer.user_id, expected_version)?;
            return Err(ApiError::Conflict("the ticket is reserved".into()));
        }
        match self
            .reserve(viewer, ticket_id, order_id, expected_version)
            .await
        {
            Ok((order, events)) => {
                self.events.publish_committed(&events).await;
                Ok(order)
            }
            Err(err) => {
                if let Err(e) = self.locks.release(ticket_id, &owner).await {
                    tracing::warn!(error = %e, "could not release the lock of a failed order; it will expire");
                }
                Err(err)
            }
        }
    }

    async fn take_lock(&self, ticket: Uuid, owner: &str) -> ApiResult<LockOutcome> {
        let outcome = self.locks.take(ticket, owner, self.ttl).await?;
        if outcome == LockOutcome::Acquired {
            return Ok(outcome);
        }
        let Some(holder) = self.locks.holder(ticket).await? else {
            // Freed meanwhile: one more try.
            return Ok(self.locks.take(ticket, owner, self.ttl).await?);
        };
        if self.is_orphan(&holder).await? {
            tracing::warn!(
                %ticket,
                holder,
                "taking back a lock whose order never reached the database"
            );
            self.locks.release(ticket, &holder).await?;
            return Ok(self.locks.take(ticket, owner, self.ttl).await?);
        }
        Ok(LockOutcome::Held)
    }

    /// Whether a lock's holder is an order id, old enough, with no live order behind it.
    async fn is_orphan(&self, holder: &str) -> ApiResult<bool> {
        if !may_be_orphan(holder) {
            return Ok(false);
        }
        let Ok(id) = Uuid::parse_str(holder) else {
            return Ok(false);
        };
        let live = order::Entity::find_by_id(id)
            .filter(order::Column::Status.is_in(LIVE))
            .count(&self.db)
            .await?;
        Ok(live == 0)
    }

    async fn reserve(
        &self,
        viewer: Viewer,
        ticket_id: Uuid,
        order_id: Uuid,
        expected_version: Option<i32>,
    ) -> ApiResult<(Order, Vec<DomainEvent>)> {
        let now = db::now();
        let expires_at = now + self.ttl;
        let txn = db::begin_write(&self.db).await?;
        let ticket = tickets::service::reserve(
            &txn,
            &tickets::service::Reservation {
                ticket_id,
                order_id,
                buyer_id: viewer.user_id,
                expected_version,
                until: expires_at,
                now,
            },
            buyer_lock(&txn, viewer.user_id),
        )
        .await?;
        self.remember_seller(&ticket);
        // After the buyer's lock (taken by the statement above), so this count sees every order
        // the buyer's other requests committed.
        let live = order::Entity::find()
            .filter(order::Column::BuyerId.eq(viewer.user_id))
            .filter(order::Column::Status.is_in(LIVE))
            .count(&txn)
            .await?;
        if live >= self.max_live {
            return Err(ApiError::Conflict(format!(
                "you already hold {live} unpaid orders, the most allowed; pay or cancel one first"
            )));
        }
        let inserted = order::ActiveModel {
            id: Set(order_id),
            ticket_id: Set(ticket_id),
            buyer_id: Set(viewer.user_id),
            status: Set(OrderStatus::Created),
            price_cents: Set(ticket.price_cents),
            expires_at: Set(expires_at),
            payment_attempts: Set(0),
            payment_intent_id: Set(None),
            created_at: Set(now),
            updated_at: Set(now),
        }
        .insert(&txn)
        .await;
        let model = match inserted {
            Ok(model) => model,
            Err(err) if db::is_unique_violation(&err) => {
                return Err(ApiError::Conflict("the ticket is reserved".into()));
            }
            Err(err) => return Err(err.into()),
        };
        let ticket = Ticket::from(ticket);
        let order = Order::new(model, Some(ticket.clone()));
        let mut events = order_events(&order, viewer.user_id, &[EventPayload::OrderCreated]);
        events.push(tickets::service::updated_event(&ticket));
        outbox::record(&txn, &events).await?;
        txn.commit().await?;
        Ok((order, events))
    }

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

    async fn find_own(
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

fn status_word(status: OrderStatus) -> &'static str {
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
        }
        orders.push(order);
    }
    Ok((orders, events))
}

/// Serializes one buyer's reservations, so two at once cannot both slip under `MAX_LIVE_ORDERS`.
/// SQLite's write transactions are serialized already; PostgreSQL takes an advisory lock.
/// Whether a lock's holder is an order id older than `ORPHAN_AFTER` (only then can it be an
/// orphan; the database tells).
fn may_be_orphan(holder: &str) -> bool {
    let Ok(id) = Uuid::parse_str(holder) else {
        return false;
    };
    let Some((secs, nanos)) = id.get_timestamp().map(|t| t.to_unix()) else {
        return false;
    };
    let made = DateTime::<Utc>::from_timestamp(i64::try_from(secs).unwrap_or(i64::MAX), nanos)
        .unwrap_or_else(Utc::now);
    Utc::now() - made >= chrono::Duration::from_std(ORPHAN_AFTER).unwrap_or_default()
}

/// The condition that takes the buyer's transaction-scoped advisory lock on PostgreSQL, for the
/// reserving `UPDATE` to evaluate (an InitPlan, run once before the row is touched): a buyer's
/// concurrent orders are counted one after another, so `MAX_LIVE_ORDERS` holds. SQLite has one
/// writer at a time already.
fn buyer_lock(conn: &impl ConnectionTrait, buyer: Uuid) -> Option<SimpleExpr> {
    (conn.get_database_backend() == DbBackend::Postgres).then(|| {
        let key = i64::from_be_bytes(buyer.as_bytes()[8..16].try_into().unwrap_or([0; 8]));
        Expr::cust_with_values("(SELECT true FROM pg_advisory_xact_lock($1))", [key])
    })
}
