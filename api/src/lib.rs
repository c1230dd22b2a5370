//! The ticket marketplace's GraphQL gateway. One process serves the API, GraphiQL, subscriptions
//! and the web UI. Each domain module (`auth`, `tickets`, `orders`, `expiration`, `payments`) owns
//! its tables, its part of the schema and its events, and has the same files: `model.rs` (the
//! domain values its services return and its events carry), `service.rs` (the rules),
//! `types.rs` (GraphQL types, mapped from the model) and `resolvers.rs`. Modules meet through
//! function calls and the domain events of `outbox::event`, never through another's tables.
//!
//! Where things happen: a reservation is made in `orders::service` (`OrderService::create`), it
//! expires in `expiration` (which runs `OrderService::expire_due`), it is paid in
//! `payments::service` (`PaymentService::pay`, the webhook in `payments::webhook`), and every
//! event is defined in `outbox::event`.

#![forbid(unsafe_code)]

pub mod auth;
pub mod cache;
pub mod config;
pub mod db;
pub mod error;
pub mod events;
pub mod expiration;
pub mod http;
pub mod ids;
pub mod metrics;
pub mod money;
pub mod orders;
pub mod outbox;
pub mod pagination;
pub mod payments;
pub mod queue;
pub mod schema;
pub mod startup;
pub mod state;
pub mod store;
pub mod subscriptions;
pub mod telemetry;
pub mod text;
pub mod tickets;

pub use config::Config;
pub use startup::Application;
