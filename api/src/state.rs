//! What every handler and background task shares: the configuration, the database, the stores,
//! the schema and the domain services, behind one `Arc`.

use std::sync::Arc;

use sea_orm::DatabaseConnection;
use tokio_util::sync::CancellationToken;

use crate::{
    auth::{AuthService, sockets::LiveSockets},
    config::Config,
    metrics::Metrics,
    orders::OrderService,
    outbox::Events,
    payments::PaymentService,
    queue::QueueService,
    schema::{gateway::Gateway, persisted::PersistedQueries},
    store::Stores,
};

/// What every handler shares, behind one `Arc`: handlers and middleware take the state by value,
/// and cloning a dozen services per request showed as 8% of the hot ticket's profile.
#[derive(Clone)]
pub struct AppState(Arc<SharedState>);

impl AppState {
    pub fn new(shared: SharedState) -> Self {
        Self(Arc::new(shared))
    }
}

impl std::ops::Deref for AppState {
    type Target = SharedState;

    fn deref(&self) -> &SharedState {
        &self.0
    }
}

pub struct SharedState {
    pub config: Arc<Config>,
    pub db: DatabaseConnection,
    pub stores: Stores,
    /// The schema, and the one way into it.
    pub schema: Gateway,
    /// The persisted queries' store, for `GET` (which must see the text before it runs it).
    pub persisted: PersistedQueries,
    pub auth: AuthService,
    pub events: Events,
    pub orders: OrderService,
    pub queue: QueueService,
    pub payments: PaymentService,
    pub metrics: Metrics,
    pub shutdown: Shutdown,
    /// This process's signed-in WebSockets, closed when their session is revoked.
    pub sockets: LiveSockets,
}

/// The server's stopping: cancelled on SIGTERM, when readiness turns 503 and every WebSocket is
/// closed with 1012 (service restart) so its client reconnects elsewhere; the tracker counts the
/// sockets still closing, which shutdown waits for.
#[derive(Clone, Default)]
pub struct Shutdown {
    pub draining: CancellationToken,
    pub sockets: tokio_util::task::TaskTracker,
}
