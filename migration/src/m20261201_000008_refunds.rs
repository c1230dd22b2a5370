//! Refunds owed: a charge that must be given back (its order was cancelled while it was charged,
//! or it belongs to a payment attempt the order had moved past) is recorded before anything else
//! is said about it, and retried until the processor confirms it.

use sea_orm_migration::{prelude::*, schema::*};

use crate::m20261125_000005_create_orders::Orders;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(Refunds::Table)
                    .col(uuid(Refunds::Id).primary_key())
                    .col(uuid(Refunds::OrderId))
                    // One refund per payment, however often it is owed.
                    .col(string_len_uniq(Refunds::PaymentId, 255))
                    .col(big_integer(Refunds::AmountCents))
                    .col(string_len(Refunds::Reason, 255))
                    .col(timestamp_with_time_zone(Refunds::CreatedAt))
                    .col(timestamp_with_time_zone_null(Refunds::RefundedAt))
                    .col(integer(Refunds::Attempts).default(0))
                    .col(string_len_null(Refunds::LastError, 1000))
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_refunds_order")
                            .from(Refunds::Table, Refunds::OrderId)
                            .to(Orders::Table, Orders::Id),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_refunds_owed")
                    .table(Refunds::Table)
                    .col(Refunds::CreatedAt)
                    .and_where(Expr::col(Refunds::RefundedAt).is_null())
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(Refunds::Table).to_owned())
            .await
    }
}

#[derive(DeriveIden)]
enum Refunds {
    Table,
    Id,
    OrderId,
    PaymentId,
    AmountCents,
    Reason,
    CreatedAt,
    RefundedAt,
    Attempts,
    LastError,
}
