//! Schema migrations, one file per change, each with a working `down`. They run at start-up.

pub use sea_orm_migration::prelude::*;

mod m20261125_000001_create_users;
mod m20261125_000002_create_sessions;
mod m20261125_000003_create_outbox_events;
mod m20261125_000004_create_tickets;
mod m20261125_000005_create_orders;
mod m20261125_000006_create_charges;
mod m20261125_000007_payment_intents;
mod m20261201_000008_refunds;
mod m20261202_000009_events;

pub struct Migrator;

#[async_trait::async_trait]
impl MigratorTrait for Migrator {
    fn migrations() -> Vec<Box<dyn MigrationTrait>> {
        vec![
            Box::new(m20261125_000001_create_users::Migration),
            Box::new(m20261125_000002_create_sessions::Migration),
            Box::new(m20261125_000003_create_outbox_events::Migration),
            Box::new(m20261125_000004_create_tickets::Migration),
            Box::new(m20261125_000005_create_orders::Migration),
            Box::new(m20261125_000006_create_charges::Migration),
            Box::new(m20261125_000007_payment_intents::Migration),
            Box::new(m20261201_000008_refunds::Migration),
            Box::new(m20261202_000009_events::Migration),
        ]
    }
}
