//! The on-sale queue: a virtual waiting room for events with `onSaleAt` (API.md "The on-sale
//! queue"). Who joins before the sale gets a random place when it begins, who joins later goes to
//! the back; `QUEUE_ADMIT_PER_SECOND` places per event are admitted each second, all replicas
//! together; an admission lets its buyer order for `QUEUE_ADMISSION_SECONDS`.
//!
//! Invariants:
//! - one place per account, and a place's number never changes once drawn;
//! - each second since `onSaleAt` admits at most the rate, once, whichever replicas run the
//!   steps and whichever of them dies (the store counts the step, not the replica);
//! - a position is a number minus the admitted count, so an admission writes one counter;
//! - no order of a queued event's ticket without an admission running now (`check_admitted`,
//!   which `orders` asks before it reserves such a ticket).

pub mod memory;
pub mod model;
pub mod redis;
pub mod resolvers;
pub mod service;
pub mod signals;
pub mod store;
pub mod types;

pub use service::QueueService;
