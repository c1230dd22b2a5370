//! The ticket rules, and the functions the orders module reserves and releases tickets with.

use chrono::{DateTime, Utc};
use entity::ticket::{self, TicketStatus};
use sea_orm::{
    ActiveModelTrait,
    ActiveValue::Set,
    ColumnTrait, ConnectionTrait, DatabaseConnection, EntityTrait, ExprTrait, QueryFilter,
    QueryOrder, QuerySelect,
    sea_query::{Expr, SimpleExpr},
};
use uuid::Uuid;

use super::{
    availability,
    model::Ticket,
    types::{TicketOrder, Title, UpdateTicketInput},
};
use crate::{
    auth::Viewer,
    db,
    error::{ApiError, ApiResult, both},
    events,
    ids::{EventId, TicketId, UserId},
    money::Price,
    outbox::{self, DomainEvent, EventPayload, Events},
    pagination::Page,
};

#[derive(Clone)]
pub struct TicketService {
    db: DatabaseConnection,
    events: Events,
}

pub fn not_found() -> ApiError {
    ApiError::NotFound("no such ticket".into())
}

/// A `TicketUpdated` event for everyone.
pub fn updated_event(ticket: &Ticket) -> DomainEvent {
    DomainEvent::new(EventPayload::TicketUpdated(ticket.clone()), None)
}

impl TicketService {
    pub fn new(db: DatabaseConnection, events: Events) -> Self {
        Self { db, events }
    }

    #[tracing::instrument(name = "tickets.create", skip_all, fields(seller = %viewer.user_id))]
    pub async fn create(
        &self,
        viewer: Viewer,
        title: &str,
        price: rust_decimal::Decimal,
        event_id: Option<EventId>,
    ) -> ApiResult<Ticket> {
        let (title, price) = both(Title::parse(title), Price::parse(price))?;
        let now = db::now();
        let txn = db::begin_write(&self.db).await?;
        let event = match event_id {
            None => None,
            Some(id) => {
                let event = events::service::get_model(&txn, id)
                    .await?
                    .ok_or_else(events::service::not_found)?;
                if event.starts_at <= now {
                    return Err(ApiError::Conflict(
                        "the event has started; its tickets can no longer be listed".into(),
                    ));
                }
                Some(event)
            }
        };
        let model = ticket::ActiveModel {
            id: Set(Uuid::now_v7()),
            title: Set(title.into_inner()),
            price_cents: Set(price.cents()),
            version: Set(1),
            status: Set(TicketStatus::Available),
            seller_id: Set(viewer.user_id),
            event_id: Set(event.as_ref().map(|e| e.id)),
            event_starts_at: Set(event.as_ref().map(|e| e.starts_at)),
            event_on_sale_at: Set(event.as_ref().and_then(|e| e.on_sale_at)),
            reserved_order_id: Set(None),
            reserved_until: Set(None),
            created_at: Set(now),
            updated_at: Set(now),
        }
        .insert(&txn)
        .await?;
        let ticket = Ticket::from(model);
        let mut created = vec![DomainEvent::new(
            EventPayload::TicketCreated(ticket.clone()),
            None,
        )];
        if let Some(event) = ticket.event_id {
            created.extend(availability::available_event(&ticket));
            let listed = availability::Move::Added(ticket.price_cents);
            created.extend(availability::refresh(&txn, [(event, listed)], now).await?);
        }
        outbox::record(&txn, &created).await?;
        txn.commit().await?;
        self.events.publish_committed(&created).await;
        Ok(ticket)
    }

    #[tracing::instrument(name = "tickets.update", skip_all, fields(ticket = %id, user = %viewer.user_id))]
    pub async fn update(
        &self,
        viewer: Viewer,
        id: TicketId,
        input: UpdateTicketInput,
    ) -> ApiResult<Ticket> {
        let id = id.uuid();
        let (title, price) = both(
            input.title.as_deref().map(Title::parse).transpose(),
            input.price.map(Price::parse).transpose(),
        )?;
        let now = db::now();
        let txn = db::begin_write(&self.db).await?;
        let current = ticket::Entity::find_by_id(id)
            .one(&txn)
            .await?
            .ok_or_else(not_found)?;
        if current.seller_id != viewer.user_id {
            return Err(ApiError::Forbidden(
                "only its seller can edit a ticket".into(),
            ));
        }
        match current.status {
            TicketStatus::Available => {}
            TicketStatus::Reserved => {
                return Err(ApiError::Conflict(
                    "the ticket is reserved and cannot be edited".into(),
                ));
            }
            TicketStatus::Sold => {
                return Err(ApiError::Conflict(
                    "the ticket is sold and cannot be edited".into(),
                ));
            }
        }
        if let Some(expected) = input.expected_version
            && expected != current.version
        {
            return Err(stale(current.version));
        }
        let mut update = ticket::Entity::update_many()
            .col_expr(
                ticket::Column::Version,
                Expr::col(ticket::Column::Version).add(1),
            )
            .col_expr(ticket::Column::UpdatedAt, Expr::value(now))
            .filter(ticket::Column::Id.eq(id))
            .filter(ticket::Column::Version.eq(current.version))
            .filter(ticket::Column::Status.eq(TicketStatus::Available));
        if let Some(title) = title {
            update = update.col_expr(ticket::Column::Title, Expr::value(title.into_inner()));
        }
        if let Some(price) = price {
            update = update.col_expr(ticket::Column::PriceCents, Expr::value(price.cents()));
        }
        let Some(model) = update.exec_with_returning(&txn).await?.pop() else {
            return Err(ApiError::Conflict(
                "the ticket changed meanwhile; reload it".into(),
            ));
        };
        let ticket = Ticket::from(model);
        let mut updated = vec![updated_event(&ticket)];
        if let Some(event) = ticket.event_id
            && ticket.price_cents != current.price_cents
        {
            if ticket.price_cents < current.price_cents {
                updated.extend(availability::available_event(&ticket));
            }
            let repriced = availability::Move::Repriced {
                from: current.price_cents,
                to: ticket.price_cents,
            };
            updated.extend(availability::refresh(&txn, [(event, repriced)], now).await?);
        }
        outbox::record(&txn, &updated).await?;
        txn.commit().await?;
        self.events.publish_committed(&updated).await;
        Ok(ticket)
    }

    pub async fn get(&self, id: TicketId) -> ApiResult<Option<Ticket>> {
        Ok(get_model(&self.db, id.uuid()).await?.map(Ticket::from))
    }

    /// Newest first, optionally of one status; `first + 1` rows so the caller knows if more follow.
    pub async fn list(
        &self,
        page: Page,
        status: Option<TicketStatus>,
        seller: Option<UserId>,
    ) -> ApiResult<Vec<Ticket>> {
        let mut query = ticket::Entity::find().order_by_desc(ticket::Column::Id);
        if let Some(status) = status {
            query = query.filter(ticket::Column::Status.eq(status));
        }
        if let Some(seller) = seller {
            query = query.filter(ticket::Column::SellerId.eq(seller.uuid()));
        }
        if let Some(after) = page.after {
            query = query.filter(ticket::Column::Id.lt(after));
        }
        let rows = query.limit(page.first + 1).all(&self.db).await?;
        Ok(rows.into_iter().map(Ticket::from).collect())
    }
}

impl TicketService {
    /// An event's tickets, newest first (`after` an id) or cheapest first (`after_price`, a
    /// price and an id); `first + 1` rows so the caller knows if more follow.
    pub async fn list_for_event(
        &self,
        event: EventId,
        order: EventTicketsPage,
        status: Option<TicketStatus>,
    ) -> ApiResult<Vec<Ticket>> {
        let mut query = ticket::Entity::find().filter(ticket::Column::EventId.eq(event.uuid()));
        if let Some(status) = status {
            query = query.filter(ticket::Column::Status.eq(status));
        }
        let first = match order {
            EventTicketsPage::Newest(page) => {
                query = query.order_by_desc(ticket::Column::Id);
                if let Some(after) = page.after {
                    query = query.filter(ticket::Column::Id.lt(after));
                }
                page.first
            }
            EventTicketsPage::PriceAsc(page) => {
                query = query
                    .order_by_asc(ticket::Column::PriceCents)
                    .order_by_asc(ticket::Column::Id);
                if let Some((price, id)) = page.after {
                    query = query.filter(ticket::Column::PriceCents.gte(price)).filter(
                        sea_orm::Condition::any()
                            .add(ticket::Column::PriceCents.gt(price))
                            .add(ticket::Column::Id.gt(id)),
                    );
                }
                page.first
            }
        };
        let rows = query.limit(first + 1).all(&self.db).await?;
        Ok(rows.into_iter().map(Ticket::from).collect())
    }
}

/// A page of an event's tickets in one of `TicketOrder`'s orders.
#[derive(Clone, Copy, Debug)]
pub enum EventTicketsPage {
    Newest(Page),
    PriceAsc(crate::pagination::KeyedPage),
}

impl EventTicketsPage {
    pub fn parse(order: TicketOrder, first: i32, after: Option<&str>) -> ApiResult<Self> {
        Ok(match order {
            TicketOrder::Newest => Self::Newest(Page::parse(first, after)?),
            TicketOrder::PriceAsc => {
                Self::PriceAsc(crate::pagination::KeyedPage::parse(first, after)?)
            }
        })
    }
}

pub async fn get_model(conn: &impl ConnectionTrait, id: Uuid) -> ApiResult<Option<ticket::Model>> {
    Ok(ticket::Entity::find_by_id(id).one(conn).await?)
}

fn stale(current: i32) -> ApiError {
    ApiError::Conflict(format!(
        "the ticket changed since you saw it (it is at version {current}); reload it"
    ))
}

/// What `reserve` is asked to do.
pub struct Reservation {
    pub ticket_id: Uuid,
    pub order_id: Uuid,
    pub buyer_id: Uuid,
    /// Only at this version, if given.
    pub expected_version: Option<i32>,
    pub until: DateTime<Utc>,
    pub now: DateTime<Utc>,
    /// Whether the buyer's admission from the on-sale queue of the ticket's event was checked;
    /// without it, a ticket of a queued event is not reserved (`Reserve::Queued`).
    pub admitted: bool,
}

/// What `reserve` did.
#[derive(Debug)]
pub enum Reserve {
    Done(ticket::Model),
    /// Nothing: the ticket's event sells through its queue from `on_sale_at`, which has passed;
    /// ask the queue about the buyer and try again `admitted`.
    Queued {
        event: EventId,
        on_sale_at: DateTime<Utc>,
        starts_at: DateTime<Utc>,
    },
}

/// Reserves an `AVAILABLE` ticket inside the caller's transaction, in one `UPDATE … RETURNING`,
/// so the order's price is the price of the version reserved. `also` is one more condition the
/// statement evaluates (the orders module takes its per-buyer lock there, saving a round trip).
/// When nothing matched, the ticket is read to say why.
pub async fn reserve(
    conn: &impl ConnectionTrait,
    r: &Reservation,
    also: Option<SimpleExpr>,
) -> ApiResult<Reserve> {
    let mut update = ticket::Entity::update_many()
        .col_expr(ticket::Column::Status, Expr::value(TicketStatus::Reserved))
        .col_expr(ticket::Column::ReservedOrderId, Expr::value(r.order_id))
        .col_expr(ticket::Column::ReservedUntil, Expr::value(r.until))
        .col_expr(
            ticket::Column::Version,
            Expr::col(ticket::Column::Version).add(1),
        )
        .col_expr(ticket::Column::UpdatedAt, Expr::value(r.now))
        .filter(ticket::Column::Id.eq(r.ticket_id))
        .filter(ticket::Column::Status.eq(TicketStatus::Available))
        .filter(ticket::Column::SellerId.ne(r.buyer_id))
        .filter(
            sea_orm::Condition::any()
                .add(ticket::Column::EventStartsAt.is_null())
                .add(ticket::Column::EventStartsAt.gt(r.now)),
        );
    if let Some(version) = r.expected_version {
        update = update.filter(ticket::Column::Version.eq(version));
    }
    if !r.admitted {
        update = update.filter(ticket::Column::EventOnSaleAt.is_null());
    }
    if let Some(condition) = also {
        update = update.filter(condition);
    }
    if let Some(reserved) = update.exec_with_returning(conn).await?.pop() {
        return Ok(Reserve::Done(reserved));
    }
    let current = get_model(conn, r.ticket_id).await?.ok_or_else(not_found)?;
    check_orderable(&current, r.buyer_id, r.expected_version, r.now)?;
    if let (Some(event), Some(on_sale_at)) = (current.event_id, current.event_on_sale_at)
        && !r.admitted
    {
        if r.now < on_sale_at {
            return Err(events::service::not_on_sale_yet(on_sale_at));
        }
        return Ok(Reserve::Queued {
            event: event.into(),
            on_sale_at,
            starts_at: current.event_starts_at.unwrap_or(on_sale_at),
        });
    }
    Err(ApiError::Conflict(
        "the ticket was just reserved or changed".into(),
    ))
}

/// Whether `buyer_id` may order the ticket as it is at `now`: not theirs, its event not started,
/// available, the version they saw.
pub fn check_orderable(
    ticket: &ticket::Model,
    buyer_id: Uuid,
    expected_version: Option<i32>,
    now: DateTime<Utc>,
) -> ApiResult<()> {
    if ticket.seller_id == buyer_id {
        return Err(ApiError::Forbidden("you cannot buy your own ticket".into()));
    }
    if ticket.event_starts_at.is_some_and(|starts| starts <= now) {
        return Err(ApiError::Conflict(
            "the event has started; its tickets can no longer be ordered".into(),
        ));
    }
    match ticket.status {
        TicketStatus::Available => {}
        TicketStatus::Reserved => return Err(ApiError::Conflict("the ticket is reserved".into())),
        TicketStatus::Sold => return Err(ApiError::Conflict("the ticket is sold".into())),
    }
    match expected_version {
        Some(v) if v != ticket.version => Err(stale(ticket.version)),
        _ => Ok(()),
    }
}

/// Frees tickets from the orders that hold them (`(ticket, order)` pairs); a ticket held by any
/// other order is left alone. Returns the tickets freed.
pub async fn release(
    conn: &impl ConnectionTrait,
    holds: &[(Uuid, Uuid)],
    now: DateTime<Utc>,
) -> ApiResult<Vec<ticket::Model>> {
    let mut freed = Vec::with_capacity(holds.len());
    for (ticket_id, order_id) in holds {
        let rows = ticket::Entity::update_many()
            .col_expr(ticket::Column::Status, Expr::value(TicketStatus::Available))
            .col_expr(
                ticket::Column::ReservedOrderId,
                Expr::value(Option::<Uuid>::None),
            )
            .col_expr(
                ticket::Column::ReservedUntil,
                Expr::value(Option::<DateTime<Utc>>::None),
            )
            .col_expr(
                ticket::Column::Version,
                Expr::col(ticket::Column::Version).add(1),
            )
            .col_expr(ticket::Column::UpdatedAt, Expr::value(now))
            .filter(ticket::Column::Id.eq(*ticket_id))
            .filter(ticket::Column::ReservedOrderId.eq(*order_id))
            .filter(ticket::Column::Status.eq(TicketStatus::Reserved))
            .exec_with_returning(conn)
            .await?;
        freed.extend(rows);
    }
    Ok(freed)
}

/// Marks the ticket held by `order_id` as sold; `None` if that order does not hold it.
pub async fn mark_sold(
    conn: &impl ConnectionTrait,
    ticket_id: Uuid,
    order_id: Uuid,
    now: DateTime<Utc>,
) -> ApiResult<Option<ticket::Model>> {
    Ok(ticket::Entity::update_many()
        .col_expr(ticket::Column::Status, Expr::value(TicketStatus::Sold))
        .col_expr(
            ticket::Column::ReservedUntil,
            Expr::value(Option::<DateTime<Utc>>::None),
        )
        .col_expr(
            ticket::Column::Version,
            Expr::col(ticket::Column::Version).add(1),
        )
        .col_expr(ticket::Column::UpdatedAt, Expr::value(now))
        .filter(ticket::Column::Id.eq(ticket_id))
        .filter(ticket::Column::ReservedOrderId.eq(order_id))
        .filter(ticket::Column::Status.eq(TicketStatus::Reserved))
        .exec_with_returning(conn)
        .await?
        .pop())
}

/// Whether every ticket of the event is sold: some are, and none is `AVAILABLE` or `RESERVED`
/// (two steps down an index, whatever the event's size).
pub async fn sold_out(conn: &impl ConnectionTrait, event: EventId) -> ApiResult<bool> {
    let any = |statuses: Vec<TicketStatus>| {
        ticket::Entity::find()
            .select_only()
            .column(ticket::Column::Id)
            .filter(ticket::Column::EventId.eq(event.uuid()))
            .filter(ticket::Column::Status.is_in(statuses))
            .limit(1)
            .into_tuple::<Uuid>()
            .one(conn)
    };
    let open = any(vec![TicketStatus::Available, TicketStatus::Reserved]).await?;
    if open.is_some() {
        return Ok(false);
    }
    Ok(any(vec![TicketStatus::Sold]).await?.is_some())
}
