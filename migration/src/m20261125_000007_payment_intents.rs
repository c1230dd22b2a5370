//! Payments through Stripe: each order remembers the PaymentIntent of its current attempt, webhook
//! events are recorded once, and "my tickets" pages by seller, newest first.

use sea_orm_migration::{prelude::*, schema::*};

use crate::m20261125_000005_create_orders::Orders;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter()
                    .table(Orders::Table)
                    .add_column(string_len_null(Intent::PaymentIntentId, 255))
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(ProcessorEvents::Table)
                    .col(string_len(ProcessorEvents::Id, 255).primary_key())
                    .col(string_len(ProcessorEvents::Kind, 255))
                    .col(timestamp_with_time_zone(ProcessorEvents::ReceivedAt))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_tickets_seller_id")
                    .table(Tickets::Table)
                    .col(Tickets::SellerId)
                    .col(Tickets::Id)
                    .to_owned(),
            )
            .await?;
        manager
            .drop_index(
                Index::drop()
                    .name("idx_tickets_seller")
                    .table(Tickets::Table)
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_index(
                Index::create()
                    .name("idx_tickets_seller")
                    .table(Tickets::Table)
                    .col(Tickets::SellerId)
                    .to_owned(),
            )
            .await?;
        manager
            .drop_index(
                Index::drop()
                    .name("idx_tickets_seller_id")
                    .table(Tickets::Table)
                    .to_owned(),
            )
            .await?;
        manager
            .drop_table(Table::drop().table(ProcessorEvents::Table).to_owned())
            .await?;
        manager
            .alter_table(
                Table::alter()
                    .table(Orders::Table)
                    .drop_column(Intent::PaymentIntentId)
                    .to_owned(),
            )
            .await
    }
}

#[derive(DeriveIden)]
enum Intent {
    PaymentIntentId,
}

#[derive(DeriveIden)]
enum ProcessorEvents {
    Table,
    Id,
    Kind,
    ReceivedAt,
}

#[derive(DeriveIden)]
enum Tickets {
    Table,
    SellerId,
    Id,
}
