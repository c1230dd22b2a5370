//! An order is made: the ticket's lock, then one transaction that reserves the ticket and
//! inserts the order (DESIGN.md step 1).

use std::time::Duration;

use chrono::{DateTime, Utc};
use entity::order::{self, OrderStatus};
use sea_orm::{
    ActiveEnum, ColumnTrait, ConnectionTrait, DbBackend, DbErr, EntityTrait, ExprTrait,
    FromQueryResult, PaginatorTrait, QueryFilter,
    sea_query::{Expr, Query, QueryStatementBuilder, SimpleExpr},
};
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

use super::{
    model::Order,
    service::{LIVE, OrderService, order_events},
};
use crate::{
    auth::Viewer,
    db,
    error::{ApiError, ApiResult},
    ids::{EventId, TicketId},
    outbox::{self, DomainEvent, EventPayload},
    store::LockOutcome,
    tickets::{self, model::Ticket, service::Reserve},
};

/// A lock whose order never reached the database (its process died mid-request) is taken back
/// once its order id (a UUID v7, so a timestamp) is older than this.
const ORPHAN_AFTER: Duration = Duration::from_secs(30);

impl OrderService {
    fn seller_of(&self, ticket_id: Uuid) -> Option<Uuid> {
        self.sellers.get(&ticket_id)
    }

    fn remember_seller(&self, ticket: &entity::ticket::Model) {
        self.remember(ticket.id, ticket.seller_id);
        if let Some(event) = ticket.event_id {
            self.ticket_events.insert(ticket.id, event.into());
        }
    }

    /// The queue the ticket sells through now (its event and `onSaleAt`), if this process
    /// knows; `None` too once the event has started (the ticket's own refusal says so).
    fn known_queue(&self, ticket_id: Uuid) -> Option<(EventId, DateTime<Utc>)> {
        let event = self.ticket_events.get(&ticket_id)?;
        let (on_sale_at, starts_at) = self.on_sale_at.get(&event)?;
        (db::now() < starts_at).then_some((event, on_sale_at))
    }

    fn remember(&self, ticket_id: Uuid, seller_id: Uuid) {
        self.sellers.insert(ticket_id, seller_id);
    }

    /// Learns the seller and the event of every ticket listed or changed on any replica, and the
    /// `onSaleAt` of every queued event, from the event bus, until `stop`: the first crowd on a
    /// newly listed ticket is then refused without the database too, and a buyer without an
    /// admission before any lock.
    pub async fn learn_sellers(self, stop: CancellationToken) {
        let mut events = self.events.bus().subscribe();
        loop {
            let event = tokio::select! {
                _ = stop.cancelled() => break,
                event = events.recv() => event,
            };
            match event {
                Ok(event) => match &event.payload {
                    EventPayload::TicketCreated(t) | EventPayload::TicketUpdated(t) => {
                        self.remember(t.id.uuid(), t.seller_id.uuid());
                        if let Some(e) = t.event_id {
                            self.ticket_events.insert(t.id.uuid(), e);
                        }
                    }
                    EventPayload::EventCreated(e) | EventPayload::EventUpdated(e) => {
                        if let Some(at) = e.on_sale_at {
                            self.on_sale_at.insert(e.id, (at, e.starts_at));
                        }
                    }
                    _ => {}
                },
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
    /// A ticket known to sell through a queue asks for the buyer's admission before anything
    /// else: a buyer who may not buy never holds the lock, not even for the moment it takes to
    /// be refused, so none can make an admitted buyer find the ticket "reserved".
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
        let admitted_to = match self.known_queue(ticket_id) {
            Some((event, on_sale_at)) => {
                self.queue
                    .check_admitted(viewer.user_id.into(), event, on_sale_at)
                    .await?;
                Some(event)
            }
            None => None,
        };
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
            tickets::service::check_orderable(
                &ticket,
                viewer.user_id,
                expected_version,
                db::now(),
            )?;
            return Err(ApiError::Conflict("the ticket is reserved".into()));
        }
        match self
            .reserve(viewer, ticket_id, order_id, expected_version, admitted_to)
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
        admitted_to: Option<EventId>,
    ) -> ApiResult<(Order, Vec<DomainEvent>)> {
        // `admitted_to`: the ticket's event, whose queue has admitted the buyer already.
        let now = db::now();
        let expires_at = now + self.ttl;
        let txn = db::begin_write(&self.db).await?;
        let mut reservation = tickets::service::Reservation {
            ticket_id,
            order_id,
            buyer_id: viewer.user_id,
            expected_version,
            until: expires_at,
            now,
            // Admitted already to the ticket's event (asked before the lock): one statement.
            admitted: admitted_to.is_some(),
        };
        let ticket =
            match tickets::service::reserve(&txn, &reservation, buyer_lock(&txn, viewer.user_id))
                .await?
            {
                Reserve::Done(ticket) => ticket,
                Reserve::Queued {
                    event,
                    on_sale_at,
                    starts_at,
                } => {
                    // A ticket of an event on sale through its queue, which this process did not
                    // know: only with an admission. From now on it knows.
                    self.ticket_events.insert(ticket_id, event);
                    self.on_sale_at.insert(event, (on_sale_at, starts_at));
                    self.queue
                        .check_admitted(viewer.user_id.into(), event, on_sale_at)
                        .await?;
                    reservation.admitted = true;
                    match tickets::service::reserve(&txn, &reservation, None).await? {
                        Reserve::Done(ticket) => ticket,
                        Reserve::Queued { .. } => {
                            return Err(ApiError::internal(anyhow::anyhow!(
                                "an admitted reservation was sent to the queue"
                            )));
                        }
                    }
                }
            };
        self.remember_seller(&ticket);
        let order = order::Model {
            id: order_id,
            ticket_id,
            buyer_id: viewer.user_id,
            status: OrderStatus::Created,
            price_cents: ticket.price_cents,
            expires_at,
            payment_attempts: 0,
            payment_intent_id: None,
            created_at: now,
            updated_at: now,
        };
        let model = match insert_within_limit(&txn, &order, self.max_live).await {
            Ok(Some(model)) => model,
            Ok(None) => {
                let live = order::Entity::find()
                    .filter(order::Column::BuyerId.eq(viewer.user_id))
                    .filter(order::Column::Status.is_in(LIVE))
                    .count(&txn)
                    .await?;
                return Err(ApiError::Conflict(format!(
                    "you already hold {live} unpaid orders, the most allowed; pay or cancel one first"
                )));
            }
            Err(err) if db::is_unique_violation(&err) => {
                return Err(ApiError::Conflict("the ticket is reserved".into()));
            }
            Err(err) => return Err(err.into()),
        };
        let ticket = Ticket::from(ticket);
        let order = Order::new(model, Some(ticket.clone()));
        let mut events = order_events(&order, viewer.user_id, &[EventPayload::OrderCreated]);
        events.push(tickets::service::updated_event(&ticket));
        if let Some(event) = ticket.event_id {
            // Last: the event's row stays locked until the commit.
            let reserved = tickets::availability::Move::Removed(ticket.price_cents);
            events.extend(tickets::availability::refresh(&txn, [(event, reserved)], now).await?);
        }
        outbox::record(&txn, &events).await?;
        txn.commit().await?;
        Ok((order, events))
    }
}

/// Inserts `order` unless its buyer holds `max_live` live orders already, counted in the same
/// statement (`INSERT … SELECT … WHERE (count) < max`): `None` when the buyer is at the limit.
/// Run after the buyer's lock (taken by the reserving `UPDATE`), so the count sees every order
/// the buyer's other requests committed.
async fn insert_within_limit(
    conn: &impl ConnectionTrait,
    order: &order::Model,
    max_live: u64,
) -> Result<Option<order::Model>, DbErr> {
    let live = Query::select()
        .expr(Expr::col(order::Column::Id).count())
        .from(order::Entity)
        .and_where(order::Column::BuyerId.eq(order.buyer_id))
        .and_where(order::Column::Status.is_in(LIVE))
        .to_owned();
    let row = Query::select()
        .exprs([
            Expr::val(order.id),
            Expr::val(order.ticket_id),
            Expr::val(order.buyer_id),
            Expr::val(order.status.to_value()),
            Expr::val(order.price_cents),
            Expr::val(order.expires_at),
            Expr::val(order.payment_attempts),
            Expr::val(order.payment_intent_id.clone()),
            Expr::val(order.created_at),
            Expr::val(order.updated_at),
        ])
        .and_where(
            Expr::SubQuery(None, Box::new(live.into_sub_query_statement()))
                .lt(i64::try_from(max_live).unwrap_or(i64::MAX)),
        )
        .to_owned();
    let insert = Query::insert()
        .into_table(order::Entity)
        .columns([
            order::Column::Id,
            order::Column::TicketId,
            order::Column::BuyerId,
            order::Column::Status,
            order::Column::PriceCents,
            order::Column::ExpiresAt,
            order::Column::PaymentAttempts,
            order::Column::PaymentIntentId,
            order::Column::CreatedAt,
            order::Column::UpdatedAt,
        ])
        .select_from(row)
        .map_err(|err| DbErr::Custom(err.to_string()))?
        .returning_all()
        .to_owned();
    order::Model::find_by_statement(conn.get_database_backend().build(&insert))
        .one(conn)
        .await
}

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
