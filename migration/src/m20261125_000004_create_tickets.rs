use sea_orm_migration::{prelude::*, schema::*};

use crate::m20261125_000001_create_users::Users;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(Tickets::Table)
                    .col(uuid(Tickets::Id).primary_key())
                    .col(string_len(Tickets::Title, 200))
                    .col(big_integer(Tickets::PriceCents))
                    .col(integer(Tickets::Version))
                    .col(string_len(Tickets::Status, 16))
                    .col(uuid(Tickets::SellerId))
                    .col(uuid_null(Tickets::ReservedOrderId))
                    .col(timestamp_with_time_zone_null(Tickets::ReservedUntil))
                    .col(timestamp_with_time_zone(Tickets::CreatedAt))
                    .col(timestamp_with_time_zone(Tickets::UpdatedAt))
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_tickets_seller")
                            .from(Tickets::Table, Tickets::SellerId)
                            .to(Users::Table, Users::Id),
                    )
                    .to_owned(),
            )
            .await?;
        // Browsing by status, newest first.
        manager
            .create_index(
                Index::create()
                    .name("idx_tickets_status_id")
                    .table(Tickets::Table)
                    .col(Tickets::Status)
                    .col(Tickets::Id)
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_tickets_seller")
                    .table(Tickets::Table)
                    .col(Tickets::SellerId)
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(Tickets::Table).to_owned())
            .await
    }
}

#[derive(DeriveIden)]
pub enum Tickets {
    Table,
    Id,
    Title,
    PriceCents,
    Version,
    Status,
    SellerId,
    ReservedOrderId,
    ReservedUntil,
    CreatedAt,
    UpdatedAt,
}
