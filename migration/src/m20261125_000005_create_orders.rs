use sea_orm_migration::{prelude::*, schema::*};

use crate::{m20261125_000001_create_users::Users, m20261125_000004_create_tickets::Tickets};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(Orders::Table)
                    .col(uuid(Orders::Id).primary_key())
                    .col(uuid(Orders::TicketId))
                    .col(uuid(Orders::BuyerId))
                    .col(string_len(Orders::Status, 24))
                    .col(big_integer(Orders::PriceCents))
                    .col(timestamp_with_time_zone(Orders::ExpiresAt))
                    .col(timestamp_with_time_zone(Orders::CreatedAt))
                    .col(timestamp_with_time_zone(Orders::UpdatedAt))
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_orders_ticket")
                            .from(Orders::Table, Orders::TicketId)
                            .to(Tickets::Table, Tickets::Id),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_orders_buyer")
                            .from(Orders::Table, Orders::BuyerId)
                            .to(Users::Table, Users::Id),
                    )
                    .to_owned(),
            )
            .await?;
        // The database alone allows one live order per ticket, even if a lock is lost.
        manager
            .create_index(
                Index::create()
                    .name("uq_orders_one_live_per_ticket")
                    .table(Orders::Table)
                    .col(Orders::TicketId)
                    .unique()
                    .and_where(Expr::col(Orders::Status).is_in(["CREATED", "AWAITING_PAYMENT"]))
                    .to_owned(),
            )
            .await?;
        // A buyer's orders, newest first.
        manager
            .create_index(
                Index::create()
                    .name("idx_orders_buyer_id")
                    .table(Orders::Table)
                    .col(Orders::BuyerId)
                    .col(Orders::Id)
                    .to_owned(),
            )
            .await?;
        // The expiry sweep: live orders by deadline.
        manager
            .create_index(
                Index::create()
                    .name("idx_orders_live_expiry")
                    .table(Orders::Table)
                    .col(Orders::ExpiresAt)
                    .and_where(Expr::col(Orders::Status).eq("CREATED"))
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(Orders::Table).to_owned())
            .await
    }
}

#[derive(DeriveIden)]
pub enum Orders {
    Table,
    Id,
    TicketId,
    BuyerId,
    Status,
    PriceCents,
    ExpiresAt,
    CreatedAt,
    UpdatedAt,
}
