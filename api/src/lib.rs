//! The ticket marketplace's GraphQL gateway. One process serves the API, GraphiQL, subscriptions
//! and the web UI; the domain modules (`auth`, and those to come) own their part of the schema,
//! their tables and their events, and meet through functions and the event bus.

#![forbid(unsafe_code)]

pub mod auth;
pub mod cache;
pub mod config;
pub mod db;
pub mod error;
pub mod expiration;
pub mod http;
pub mod ids;
pub mod metrics;
pub mod money;
pub mod orders;
pub mod outbox;
pub mod pagination;
pub mod payments;
pub mod schema;
pub mod startup;
pub mod state;
pub mod store;
pub mod subscriptions;
pub mod telemetry;
pub mod tickets;

pub use config::Config;
pub use startup::Application;
