//! The black-box suite: the real server on port 0 against a fresh database, over HTTP and
//! WebSocket. Run it per backend pair with `TEST_BACKEND=embedded|postgres-redis`.

mod auth;
mod clients;
mod contract;
mod errors;
mod events;
mod fake_stripe;
mod faults;
mod http;
mod limits;
mod market;
mod migrations;
mod model;
mod orders;
mod outbox;
mod payments;
mod persisted;
mod queue;
mod replicas;
mod responses;
mod schema;
mod sse;
mod store;
mod support;
mod tickets;
mod ws;
