//! Batched event loads: `tickets { event }` over a page costs one query, not one per ticket.

use std::{collections::HashMap, sync::Arc};

use async_graphql::dataloader::Loader;
use entity::event;
use sea_orm::{ColumnTrait, DatabaseConnection, EntityTrait, QueryFilter};
use uuid::Uuid;

use super::model::Event;

pub struct EventLoader(pub DatabaseConnection);

impl Loader<Uuid> for EventLoader {
    type Value = Event;
    type Error = Arc<sea_orm::DbErr>;

    async fn load(&self, keys: &[Uuid]) -> Result<HashMap<Uuid, Event>, Self::Error> {
        let rows = event::Entity::find()
            .filter(event::Column::Id.is_in(keys.iter().copied()))
            .all(&self.0)
            .await
            .map_err(Arc::new)?;
        Ok(rows.into_iter().map(|m| (m.id, Event::from(m))).collect())
    }
}
