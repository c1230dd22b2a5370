//! Events: what tickets are listed for. An event is created by its organizer and never changes
//! afterwards, but for its availability (`available_count`, `lowest_price_cents`), which this
//! module owns and the tickets module moves, through `availability`, in the transaction of each
//! change of one of the event's tickets.
//!
//! Invariants:
//! - `available_count` is the number of the event's `AVAILABLE` tickets and `lowest_price_cents`
//!   their lowest price, once every transaction has committed: the counter moves by deltas, and
//!   the lowest price is read again after the event's row is locked (see `availability`);
//! - an event starts in the future when it is created, and `on_sale_at` is before it;
//! - search and the city filter compare folded text (`search::fold`), the same on both databases.

pub mod availability;
pub mod loader;
pub mod model;
pub mod resolvers;
pub mod search;
pub mod service;
pub mod types;

pub use service::EventService;
