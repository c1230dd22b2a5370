//! An account as the domain sees it: what services return and what its events carry. Its
//! serialized form is stored in the outbox, so a change here is a new event version (see
//! `outbox::event`).

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::ids::{SessionId, UserId};

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct User {
    pub id: UserId,
    /// Lower-case; private to its owner.
    pub email: String,
    pub created_at: DateTime<Utc>,
}

impl From<entity::user::Model> for User {
    fn from(m: entity::user::Model) -> Self {
        Self {
            id: m.id.into(),
            email: m.email,
            created_at: m.created_at,
        }
    }
}

/// Sessions signed out together (by `signOut`, or by `changePassword` for the others).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SessionsRevoked {
    pub user_id: UserId,
    pub session_ids: Vec<SessionId>,
}
