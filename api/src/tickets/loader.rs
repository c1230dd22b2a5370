//! Batched ticket loads: `order { ticket }` over a list costs one query, not one per row.

use std::{collections::HashMap, sync::Arc};

use async_graphql::dataloader::Loader;
use entity::ticket;
use sea_orm::{ColumnTrait, DatabaseConnection, EntityTrait, QueryFilter};
use uuid::Uuid;

use super::types::Ticket;

pub struct TicketLoader(pub DatabaseConnection);

impl Loader<Uuid> for TicketLoader {
    type Value = Ticket;
    type Error = Arc<sea_orm::DbErr>;

    async fn load(&self, keys: &[Uuid]) -> Result<HashMap<Uuid, Ticket>, Self::Error> {
        let rows = ticket::Entity::find()
            .filter(ticket::Column::Id.is_in(keys.iter().copied()))
            .all(&self.0)
            .await
            .map_err(Arc::new)?;
        Ok(rows.into_iter().map(|m| (m.id, Ticket::from(m))).collect())
    }
}
