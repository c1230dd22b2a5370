//! Events: the table, each ticket's event, and the indexes that keep browsing an event and
//! searching events cheap at any size. Search is a full-text index over `search_text` (already
//! lower case and without accents): a GIN index on a stored `tsvector` on PostgreSQL, an FTS5
//! table filled by a trigger on SQLite.

use sea_orm_migration::{prelude::*, schema::*, sea_orm::DbBackend};

use crate::{m20261125_000001_create_users::Users, m20261125_000004_create_tickets::Tickets};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(Events::Table)
                    .col(uuid(Events::Id).primary_key())
                    .col(string_len(Events::Name, 200))
                    .col(string_len(Events::Venue, 200))
                    .col(string_len(Events::City, 100))
                    .col(string_len(Events::CityKey, 100))
                    .col(text(Events::SearchText))
                    .col(timestamp_with_time_zone(Events::StartsAt))
                    .col(timestamp_with_time_zone_null(Events::OnSaleAt))
                    .col(uuid(Events::OrganizerId))
                    .col(big_integer(Events::AvailableCount).default(0))
                    .col(big_integer_null(Events::LowestPriceCents))
                    .col(timestamp_with_time_zone(Events::CreatedAt))
                    .col(timestamp_with_time_zone(Events::UpdatedAt))
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_events_organizer")
                            .from(Events::Table, Events::OrganizerId)
                            .to(Users::Table, Users::Id),
                    )
                    .to_owned(),
            )
            .await?;
        // Upcoming events, soonest first; and the same within one city.
        for (name, cols) in [
            ("idx_events_starts", vec![Events::StartsAt, Events::Id]),
            (
                "idx_events_city_starts",
                vec![Events::CityKey, Events::StartsAt, Events::Id],
            ),
            ("idx_events_organizer", vec![Events::OrganizerId]),
        ] {
            let mut index = Index::create();
            index.name(name).table(Events::Table);
            for col in cols {
                index.col(col);
            }
            manager.create_index(index.to_owned()).await?;
        }
        let db = manager.get_connection();
        match manager.get_database_backend() {
            DbBackend::Postgres => {
                db.execute_unprepared(
                    "ALTER TABLE events ADD COLUMN search_vector tsvector \
                     GENERATED ALWAYS AS (to_tsvector('simple', search_text)) STORED",
                )
                .await?;
                db.execute_unprepared(
                    "CREATE INDEX idx_events_search ON events USING GIN (search_vector)",
                )
                .await?;
            }
            _ => {
                // Its own copy of the text and the event's id (not the external-content form
                // keyed by `rowid`: a table whose key is not an integer may have its rowids
                // renumbered by VACUUM). Events are never edited, so inserts are all it follows.
                db.execute_unprepared(
                    "CREATE VIRTUAL TABLE events_search USING fts5(search_text, event_id UNINDEXED, \
                     tokenize='unicode61 remove_diacritics 2', prefix='2 3')",
                )
                .await?;
                db.execute_unprepared(
                    "CREATE TRIGGER events_search_insert AFTER INSERT ON events BEGIN \
                     INSERT INTO events_search(search_text, event_id) VALUES (new.search_text, new.id); END",
                )
                .await?;
                db.execute_unprepared(
                    "CREATE TRIGGER events_search_delete AFTER DELETE ON events BEGIN \
                     DELETE FROM events_search WHERE event_id = old.id; END",
                )
                .await?;
            }
        }

        // One column per statement: SQLite adds no more at once.
        for column in [
            uuid_null(TicketEvents::EventId),
            timestamp_with_time_zone_null(TicketEvents::EventStartsAt),
            timestamp_with_time_zone_null(TicketEvents::EventOnSaleAt),
        ] {
            manager
                .alter_table(
                    Table::alter()
                        .table(Tickets::Table)
                        .add_column(column)
                        .to_owned(),
                )
                .await?;
        }
        // The events whose on-sale queue may be running.
        manager
            .create_index(
                Index::create()
                    .name("idx_events_on_sale")
                    .table(Events::Table)
                    .col(Events::OnSaleAt)
                    .and_where(Expr::col(Events::OnSaleAt).is_not_null())
                    .to_owned(),
            )
            .await?;
        if manager.get_database_backend() == DbBackend::Postgres {
            manager
                .create_foreign_key(
                    ForeignKey::create()
                        .name("fk_tickets_event")
                        .from(Tickets::Table, TicketEvents::EventId)
                        .to(Events::Table, Events::Id)
                        .to_owned(),
                )
                .await?;
        }
        // An event's tickets: cheapest or newest first, of one status or all. Partial: tickets
        // listed without an event cost these indexes nothing.
        for (name, cols) in ticket_indexes() {
            let mut index = Index::create();
            index
                .name(name)
                .table(Tickets::Table)
                .and_where(Expr::col(TicketEvents::EventId).is_not_null());
            for col in cols {
                index.col(col);
            }
            manager.create_index(index.to_owned()).await?;
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for (name, _) in ticket_indexes() {
            manager
                .drop_index(Index::drop().name(name).table(Tickets::Table).to_owned())
                .await?;
        }
        if manager.get_database_backend() == DbBackend::Postgres {
            manager
                .drop_foreign_key(
                    ForeignKey::drop()
                        .name("fk_tickets_event")
                        .table(Tickets::Table)
                        .to_owned(),
                )
                .await?;
        }
        for col in [
            TicketEvents::EventOnSaleAt,
            TicketEvents::EventStartsAt,
            TicketEvents::EventId,
        ] {
            manager
                .alter_table(
                    Table::alter()
                        .table(Tickets::Table)
                        .drop_column(col)
                        .to_owned(),
                )
                .await?;
        }
        if manager.get_database_backend() != DbBackend::Postgres {
            let db = manager.get_connection();
            db.execute_unprepared("DROP TRIGGER events_search_insert")
                .await?;
            db.execute_unprepared("DROP TRIGGER events_search_delete")
                .await?;
            db.execute_unprepared("DROP TABLE events_search").await?;
        }
        manager
            .drop_table(Table::drop().table(Events::Table).to_owned())
            .await
    }
}

fn ticket_indexes() -> Vec<(&'static str, Vec<DynIden>)> {
    let event = || TicketEvents::EventId.into_iden();
    vec![
        (
            "idx_tickets_event_status_price",
            vec![
                event(),
                Tickets::Status.into_iden(),
                Tickets::PriceCents.into_iden(),
                Tickets::Id.into_iden(),
            ],
        ),
        (
            "idx_tickets_event_status_id",
            vec![
                event(),
                Tickets::Status.into_iden(),
                Tickets::Id.into_iden(),
            ],
        ),
        (
            "idx_tickets_event_price",
            vec![
                event(),
                Tickets::PriceCents.into_iden(),
                Tickets::Id.into_iden(),
            ],
        ),
        (
            "idx_tickets_event_id",
            vec![event(), Tickets::Id.into_iden()],
        ),
    ]
}

#[derive(DeriveIden)]
pub enum Events {
    Table,
    Id,
    Name,
    Venue,
    City,
    CityKey,
    SearchText,
    StartsAt,
    OnSaleAt,
    OrganizerId,
    AvailableCount,
    LowestPriceCents,
    CreatedAt,
    UpdatedAt,
}

/// The columns tickets get (their names are those of the variants: `event_id`, …).
#[derive(DeriveIden)]
#[allow(clippy::enum_variant_names)]
enum TicketEvents {
    EventId,
    EventStartsAt,
    EventOnSaleAt,
}
