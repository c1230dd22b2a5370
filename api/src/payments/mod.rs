//! Payments: `payOrder` charges an order's price once, whatever the retries.
//!
//! Invariants:
//! - the order moves `CREATED → AWAITING_PAYMENT` only while unexpired, and its lock is made
//!   persistent, so expiry cannot cancel it mid-charge; no database transaction is held open
//!   across the processor call;
//! - each attempt is two processor calls, `prepare` (creates the payment, charges nothing) and
//!   `confirm`, with idempotency keys derived from the order id and the attempt, so a retried
//!   request charges once and a retry after a decline is a new payment; the payment's id is stored
//!   on the order between the two, so a crash mid-charge is settled by asking the processor about
//!   it (`settle`), never by charging again;
//! - an unknown outcome (timeout, outage) leaves the order `AWAITING_PAYMENT` for the reconciler;
//! - a charge row is unique per order; paying a `COMPLETE` order returns its charge;
//! - a decline puts the order back to `CREATED` with the time it had left;
//! - a charge that lands on an order cancelled meanwhile is refunded.

pub mod model;
pub mod processor;
pub mod reconcile;
pub mod refunds;
pub mod resolvers;
pub mod service;
pub mod types;
pub mod webhook;

pub use service::PaymentService;
