//! Builds the application from a `Config`: connects and migrates the database, connects the lock
//! store and bus, builds the schema, binds the port, and runs the server and its background tasks
//! until shutdown.

use std::{future::Future, net::SocketAddr, sync::Arc};

use anyhow::Context as _;
use tokio::{net::TcpListener, task::JoinHandle};
use tokio_util::sync::CancellationToken;

use crate::{
    auth::{AuthService, sockets::LiveSockets},
    config::{Config, JwtSecretSource, ProcessorKind},
    db,
    events::{EventService, loader::EventLoader},
    expiration::Expiration,
    http,
    metrics::Metrics,
    orders::OrderService,
    outbox::Events,
    payments::{
        PaymentService,
        processor::{Processor, StripeProcessor, TestProcessor},
        types::ChargeLoader,
    },
    queue::QueueService,
    schema::{
        self,
        documents::{DocumentLimits, Documents},
        gateway::Gateway,
        persisted::PersistedQueries,
    },
    state::{AppState, SharedState, Shutdown},
    store::Stores,
    subscriptions,
    tickets::{TicketService, loader::TicketLoader},
};

pub struct Application {
    listener: TcpListener,
    /// `METRICS_PORT`'s listener, when set.
    operations: Option<TcpListener>,
    state: AppState,
}

impl Application {
    pub async fn build(config: Config) -> anyhow::Result<Self> {
        if config.auth.jwt_secret_source == JwtSecretSource::Generated {
            tracing::warn!(
                "JWT_SECRET is not set: signing with a random secret, so sessions end when the \
                 process stops. Set JWT_SECRET to keep them."
            );
        }
        let metrics = Metrics::new();
        let db = db::connect(
            config.database.url.expose(),
            config.database.max_connections,
            &metrics,
        )
        .await?;
        let stores = match &config.redis.url {
            Some(url) => Stores::redis(url.expose(), &config.redis.prefix).await?,
            None => Stores::memory(),
        };
        let events = Events::new(db.clone(), stores.bus.clone(), metrics.clone());
        let auth = AuthService::new(
            db.clone(),
            stores.locks.clone(),
            events.clone(),
            config.auth.jwt_secret.expose(),
            config.auth.session_ttl,
            config.auth.cookie_secure,
            // Only a store the replicas share can hold the tombstones that make sign-out hold
            // everywhere; the embedded backend asks its local database every time.
            config.redis.url.is_some(),
        );
        let tickets = TicketService::new(db.clone(), events.clone());
        let catalogue = EventService::new(db.clone(), events.clone());
        let queue = QueueService::new(
            db.clone(),
            stores.queues.clone(),
            events.clone(),
            config.queue,
        );
        let orders = OrderService::new(
            db.clone(),
            stores.locks.clone(),
            events.clone(),
            config.orders.ttl,
            config.orders.max_live,
            queue.clone(),
        );
        let payments = PaymentService::new(
            db.clone(),
            events.clone(),
            orders.clone(),
            processor(&config),
            &config,
        );
        // Shared by the replicas when the lock store is (Redis); in-process otherwise.
        let persisted =
            PersistedQueries::new(config.redis.url.is_some().then(|| stores.locks.clone()));
        let documents = Documents::new(DocumentLimits {
            max_bytes: config.limits.max_query_bytes,
            max_selections: config.limits.max_query_selections,
            max_root_fields: config.limits.max_root_fields,
            max_representations: config.limits.max_entity_representations,
        });
        // No extension: the gateway does around the schema what they would, and with one
        // async-graphql would run every field through it (`schema::gateway`).
        let schema = schema::builder()
            .limit_depth(config.limits.max_query_depth)
            .limit_complexity(config.limits.max_query_complexity)
            .data(auth.clone())
            .data(events.clone())
            .data(subscriptions::Renders::default())
            .data(tickets)
            .data(catalogue)
            .data(orders.clone())
            .data(queue.clone())
            .data(payments.clone())
            .data(async_graphql::dataloader::DataLoader::new(
                ChargeLoader(db.clone()),
                tokio::spawn,
            ))
            .data(async_graphql::dataloader::DataLoader::new(
                TicketLoader(db.clone()),
                tokio::spawn,
            ))
            .data(async_graphql::dataloader::DataLoader::new(
                EventLoader(db.clone()),
                tokio::spawn,
            ))
            .finish();
        let schema = Gateway::new(schema, documents, persisted.clone(), metrics.clone());

        let addr = SocketAddr::new(config.server.host, config.server.port);
        let listener = TcpListener::bind(addr)
            .await
            .with_context(|| format!("cannot listen on {addr} (HOST, PORT)"))?;
        let operations = match config.server.metrics_port {
            Some(port) => {
                let addr = SocketAddr::new(config.server.host, port);
                Some(
                    TcpListener::bind(addr)
                        .await
                        .with_context(|| format!("cannot listen on {addr} (METRICS_PORT)"))?,
                )
            }
            None => None,
        };
        Ok(Self {
            listener,
            operations,
            state: AppState::new(SharedState {
                config: Arc::new(config),
                db,
                stores,
                schema,
                persisted,
                auth,
                events,
                orders,
                queue,
                payments,
                metrics,
                shutdown: Shutdown::default(),
                sockets: LiveSockets::default(),
            }),
        })
    }

    pub fn local_addr(&self) -> SocketAddr {
        self.listener
            .local_addr()
            .expect("a bound listener has an address")
    }

    pub fn state(&self) -> &AppState {
        &self.state
    }

    /// Serves until `shutdown` resolves, then stops taking connections, closes WebSockets with a
    /// code that tells clients to reconnect, lets requests in flight finish, and stops the
    /// background tasks.
    pub async fn run_until(
        self,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> anyhow::Result<()> {
        let stop = CancellationToken::new();
        let background = self.spawn_background(&stop);
        tracing::info!(addr = %self.local_addr(), "listening");
        let router = http::router(self.state.clone());
        let draining = self.state.shutdown.clone();
        let serve = axum::serve(self.listener, router).with_graceful_shutdown(async move {
            shutdown.await;
            tracing::info!("draining: refusing new connections, closing WebSockets");
            draining.draining.cancel();
        });
        if let Some(operations) = self.operations {
            tracing::info!(addr = %operations.local_addr().map_or_else(|e| e.to_string(), |a| a.to_string()), "metrics listening");
            let router = http::operations_router(self.state.clone());
            let stopping = stop.clone();
            tokio::spawn(async move {
                let serve = axum::serve(operations, router)
                    .with_graceful_shutdown(async move { stopping.cancelled().await });
                if let Err(err) = serve.await {
                    tracing::error!(error = %err, "the metrics listener failed");
                }
            });
        }
        let result = serve.await.context("server failed");
        let sockets = &self.state.shutdown.sockets;
        sockets.close();
        if tokio::time::timeout(SOCKETS_CLOSE_WITHIN, sockets.wait())
            .await
            .is_err()
        {
            tracing::warn!(
                open = sockets.len(),
                "WebSockets still closing; dropping them"
            );
        }
        stop.cancel();
        for task in background {
            let _ = task.await;
        }
        tracing::info!("stopped");
        result
    }

    fn spawn_background(&self, stop: &CancellationToken) -> Vec<JoinHandle<()>> {
        let expiration = Expiration::new(self.state.orders.clone(), self.state.stores.clone());
        vec![
            tokio::spawn(self.state.events.clone().run_relay(stop.clone())),
            tokio::spawn(self.state.events.clone().run_marker(stop.clone())),
            tokio::spawn(self.state.events.clone().run_change_counter(stop.clone())),
            tokio::spawn(self.state.orders.clone().learn_sellers(stop.clone())),
            tokio::spawn(expiration.run(stop.clone())),
            tokio::spawn(self.state.queue.clone().run(stop.clone())),
            tokio::spawn(self.state.payments.clone().run_reconciler(stop.clone())),
            tokio::spawn(
                self.state
                    .sockets
                    .clone()
                    .run(self.state.stores.bus.clone(), stop.clone()),
            ),
        ]
    }
}

/// How long shutdown waits for WebSockets to finish their closing handshake.
const SOCKETS_CLOSE_WITHIN: std::time::Duration = std::time::Duration::from_secs(5);

/// The processor `PAYMENT_PROCESSOR` chose (Stripe at `STRIPE_API_BASE` when that is set).
fn processor(config: &Config) -> Arc<dyn Processor> {
    match (
        config.payments.processor,
        &config.payments.stripe_secret_key,
    ) {
        (ProcessorKind::Stripe, Some(key)) => {
            tracing::info!(api_base = ?config.payments.stripe_api_base, "payments: Stripe");
            Arc::new(StripeProcessor::new(
                key.expose(),
                config.payments.stripe_api_base.as_deref(),
            ))
        }
        _ => {
            tracing::warn!(
                "payments: the built-in test processor (tok_visa pays); no card is charged"
            );
            Arc::new(TestProcessor::default())
        }
    }
}
