//! The event rules: creating one, reading one, listing and searching the upcoming ones.

use chrono::{DateTime, Utc};
use entity::event;
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, Condition, ConnectionTrait,
    DatabaseConnection, DbBackend, EntityTrait, QueryFilter, QueryOrder, QuerySelect,
    sea_query::Expr,
};

use super::{
    model::Event,
    search::{self, Terms},
    types::CreateEventInput,
};
use crate::{
    auth::Viewer,
    db,
    error::{ApiError, ApiResult, FieldError},
    ids::EventId,
    outbox::{self, DomainEvent, EventPayload, Events},
    pagination::KeyedPage,
    text,
};

pub const NAME_MAX: usize = 200;
pub const VENUE_MAX: usize = 200;
pub const CITY_MAX: usize = 100;

#[derive(Clone)]
pub struct EventService {
    db: DatabaseConnection,
    events: Events,
}

pub fn not_found() -> ApiError {
    ApiError::NotFound("no such event".into())
}

/// What ordering a ticket of an event sold through its queue is told before `on_sale_at`.
pub fn not_on_sale_yet(on_sale_at: DateTime<Utc>) -> ApiError {
    ApiError::Conflict(format!(
        "the event's tickets go on sale at {}",
        on_sale_at.to_rfc3339()
    ))
}

/// What `events(…)` is asked for.
#[derive(Clone, Debug, Default)]
pub struct EventFilter {
    pub search: Option<Terms>,
    pub city: Option<String>,
    pub from: Option<DateTime<Utc>>,
    pub to: Option<DateTime<Utc>>,
}

impl EventService {
    pub fn new(db: DatabaseConnection, events: Events) -> Self {
        Self { db, events }
    }

    #[tracing::instrument(name = "events.create", skip_all, fields(organizer = %viewer.user_id))]
    pub async fn create(&self, viewer: Viewer, input: CreateEventInput) -> ApiResult<Event> {
        let now = db::now();
        let valid = Valid::parse(&input, now)?;
        let search_text = search::fold(&format!("{} {} {}", valid.name, valid.venue, valid.city));
        let txn = db::begin_write(&self.db).await?;
        let model = event::ActiveModel {
            id: Set(EventId::generate().uuid()),
            city_key: Set(search::city_key(&valid.city)),
            name: Set(valid.name),
            venue: Set(valid.venue),
            city: Set(valid.city),
            search_text: Set(search_text),
            starts_at: Set(valid.starts_at),
            on_sale_at: Set(valid.on_sale_at),
            organizer_id: Set(viewer.user_id),
            available_count: Set(0),
            lowest_price_cents: Set(None),
            created_at: Set(now),
            updated_at: Set(now),
        }
        .insert(&txn)
        .await?;
        let event = Event::from(model);
        let created = [DomainEvent::new(
            EventPayload::EventCreated(event.clone()),
            None,
        )];
        outbox::record(&txn, &created).await?;
        txn.commit().await?;
        self.events.publish_committed(&created).await;
        Ok(event)
    }

    pub async fn get(&self, id: EventId) -> ApiResult<Option<Event>> {
        Ok(get_model(&self.db, id).await?.map(Event::from))
    }

    /// Upcoming events, soonest first, then by id; `first + 1` rows so the caller knows if more
    /// follow. The cursor is the start time (in microseconds) and the id of the last row.
    pub async fn list(&self, page: KeyedPage, filter: &EventFilter) -> ApiResult<Vec<Event>> {
        let now = db::now();
        let lower = filter.from.map_or(now, |from| from.max(now));
        let mut query = event::Entity::find()
            .filter(event::Column::StartsAt.gt(lower))
            .order_by_asc(event::Column::StartsAt)
            .order_by_asc(event::Column::Id);
        if let Some(to) = filter.to {
            query = query.filter(event::Column::StartsAt.lt(to));
        }
        if let Some(city) = &filter.city {
            query = query.filter(event::Column::CityKey.eq(search::city_key(city)));
        }
        if let Some(terms) = &filter.search {
            // Placeholders are the backend's: `$1` (this expression's first value), `?`.
            query = query.filter(match self.db.get_database_backend() {
                DbBackend::Postgres => Expr::cust_with_values(
                    "search_vector @@ to_tsquery('simple', $1)",
                    [terms.tsquery()],
                ),
                _ => Expr::cust_with_values(
                    "events.id IN (SELECT event_id FROM events_search WHERE events_search MATCH ?)",
                    [terms.fts5()],
                ),
            });
        }
        if let Some((micros, id)) = page.after {
            let at = DateTime::<Utc>::from_timestamp_micros(micros).ok_or_else(|| {
                ApiError::BadUserInput(vec![FieldError::new(
                    "after",
                    "is not a cursor this API gave out for this order",
                )])
            })?;
            query = query.filter(event::Column::StartsAt.gte(at)).filter(
                Condition::any()
                    .add(event::Column::StartsAt.gt(at))
                    .add(event::Column::Id.gt(id)),
            );
        }
        let rows = query.limit(page.first + 1).all(&self.db).await?;
        Ok(rows.into_iter().map(Event::from).collect())
    }
}

/// The event, read inside the caller's transaction or not.
pub async fn get_model(
    conn: &impl ConnectionTrait,
    id: EventId,
) -> ApiResult<Option<event::Model>> {
    Ok(event::Entity::find_by_id(id.uuid()).one(conn).await?)
}

/// A `CreateEventInput` that keeps every rule; every field's error at once otherwise.
struct Valid {
    name: String,
    venue: String,
    city: String,
    starts_at: DateTime<Utc>,
    on_sale_at: Option<DateTime<Utc>>,
}

impl Valid {
    fn parse(input: &CreateEventInput, now: DateTime<Utc>) -> ApiResult<Self> {
        let mut errors = Vec::new();
        let mut keep = |r: Result<String, FieldError>| match r {
            Ok(v) => v,
            Err(e) => {
                errors.push(e);
                String::new()
            }
        };
        let name = keep(text::line("name", &input.name, NAME_MAX));
        let venue = keep(text::line("venue", &input.venue, VENUE_MAX));
        let city = keep(text::line("city", &input.city, CITY_MAX));
        if input.starts_at <= now {
            errors.push(FieldError::new("startsAt", "must be in the future"));
        }
        if let Some(on_sale_at) = input.on_sale_at {
            if on_sale_at >= input.starts_at {
                errors.push(FieldError::new("onSaleAt", "must be before startsAt"));
            } else if on_sale_at < now - chrono::Duration::seconds(60) {
                // A minute of slack for the clock of whoever sends "now".
                errors.push(FieldError::new("onSaleAt", "must not be in the past"));
            }
        }
        if errors.is_empty() {
            Ok(Self {
                name,
                venue,
                city,
                starts_at: db::trunc(input.starts_at),
                on_sale_at: input.on_sale_at.map(db::trunc),
            })
        } else {
            Err(ApiError::BadUserInput(errors))
        }
    }
}
