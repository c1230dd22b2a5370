use migration::{Migrator, MigratorTrait};
use sea_orm::{ConnectionTrait, Database};

use crate::support::*;

/// Every migration has a working `down`: all the way down, then up again, on a real database.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_migration_goes_down_and_up_again() {
    let env = TestEnv::new().await;
    let db = Database::connect(&env.database_url).await.unwrap();
    Migrator::up(&db, None).await.unwrap();
    let applied = Migrator::get_applied_migrations(&db).await.unwrap().len();
    assert_eq!(applied, Migrator::migrations().len());

    Migrator::down(&db, None).await.unwrap();
    assert!(
        Migrator::get_applied_migrations(&db)
            .await
            .unwrap()
            .is_empty()
    );
    let users = db.execute_unprepared("SELECT 1 FROM users").await;
    assert!(users.is_err(), "down dropped the tables");

    Migrator::up(&db, None).await.unwrap();
    db.execute_unprepared("SELECT 1 FROM users").await.unwrap();
    db.execute_unprepared("SELECT 1 FROM outbox_events")
        .await
        .unwrap();
}
