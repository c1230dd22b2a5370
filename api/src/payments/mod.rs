//! Payments: `payOrder` charges an order's price once, whatever the retries.
//!
//! Invariants:
//! - the order moves `CREATED → AWAITING_PAYMENT` only while unexpired, and its lock is made
//!   persistent, so expiry cannot cancel it mid-charge; no database transaction is held open
//!   across the processor call;
//! - the processor call carries the idempotency key `{order id}:{attempt}`, so a retried request
//!   charges once and a retry after a decline is a new attempt;
//! - a charge row is unique per order; paying a `COMPLETE` order returns its charge;
//! - a decline puts the order back to `CREATED` with the time it had left.

pub mod processor;
pub mod resolvers;
pub mod service;
pub mod types;

pub use service::PaymentService;
