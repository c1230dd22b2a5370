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
                    .add_column(integer(PaymentAttempts::PaymentAttempts).default(0))
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(Charges::Table)
                    .col(uuid(Charges::Id).primary_key())
                    // One charge per order, whatever the retries.
                    .col(uuid_uniq(Charges::OrderId))
                    .col(uuid(Charges::BuyerId))
                    .col(big_integer(Charges::AmountCents))
                    .col(string_len(Charges::Currency, 3))
                    .col(string_len(Charges::ProviderId, 255))
                    .col(timestamp_with_time_zone(Charges::CreatedAt))
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_charges_order")
                            .from(Charges::Table, Charges::OrderId)
                            .to(Orders::Table, Orders::Id),
                    )
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(Charges::Table).to_owned())
            .await?;
        manager
            .alter_table(
                Table::alter()
                    .table(Orders::Table)
                    .drop_column(PaymentAttempts::PaymentAttempts)
                    .to_owned(),
            )
            .await
    }
}

#[derive(DeriveIden)]
enum PaymentAttempts {
    PaymentAttempts,
}

#[derive(DeriveIden)]
enum Charges {
    Table,
    Id,
    OrderId,
    BuyerId,
    AmountCents,
    Currency,
    ProviderId,
    CreatedAt,
}
