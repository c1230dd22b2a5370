//! Availability changes: each change of an event's `AVAILABLE` tickets, appended by the
//! transaction that made it and folded into the event's counters by the next settle (see
//! `api/src/events/availability.rs`). Appending contends for nothing, so a rush on one event's
//! tickets no longer waits on the event's row.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        // No foreign key to `events`: checking it would take a share lock on the event's row in
        // every appending transaction, the contention this table removes (events are never
        // deleted, and the event's existence is checked where the change is made).
        manager
            .create_table(
                Table::create()
                    .table(AvailabilityChanges::Table)
                    .col(uuid(AvailabilityChanges::Id).primary_key())
                    .col(uuid(AvailabilityChanges::EventId))
                    .col(big_integer(AvailabilityChanges::Delta))
                    .col(timestamp_with_time_zone(AvailabilityChanges::CreatedAt))
                    .to_owned(),
            )
            .await?;
        // A settle takes an event's changes; the sweep finds changes left behind by age.
        for (name, col) in [
            (
                "idx_availability_changes_event",
                AvailabilityChanges::EventId,
            ),
            (
                "idx_availability_changes_created",
                AvailabilityChanges::CreatedAt,
            ),
        ] {
            manager
                .create_index(
                    Index::create()
                        .name(name)
                        .table(AvailabilityChanges::Table)
                        .col(col)
                        .to_owned(),
                )
                .await?;
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(AvailabilityChanges::Table).to_owned())
            .await
    }
}

#[derive(DeriveIden)]
enum AvailabilityChanges {
    Table,
    Id,
    EventId,
    Delta,
    CreatedAt,
}
