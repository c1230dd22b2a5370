//! SeaORM models of the marketplace's tables: data and relations only, no business logic.
//! The API's domain modules own the rules; see `api/src/`.

pub mod charge;
pub mod event;
pub mod order;
pub mod outbox_event;
pub mod processor_event;
pub mod refund;
pub mod session;
pub mod ticket;
pub mod user;
