//! Orders: a buyer's 15-minute hold on a ticket (DESIGN.md, "The reservation, step by step").
//!
//! Invariants:
//! - a ticket is never in two live orders: the Redis (or in-process) lock keyed by the ticket,
//!   owned by the order id, is taken first; the ticket's conditional `AVAILABLE → RESERVED` update
//!   and a partial unique index on live orders hold even if the lock is lost;
//! - the order's price is the price of the ticket version it reserved;
//! - only the buyer sees or touches an order (`NOT_FOUND` for anyone else);
//! - an order changes state only by conditional updates, so expiry, cancel and payment never
//!   both win; a stale expiry cannot free a newer order's reservation;
//! - a buyer holds at most `MAX_LIVE_ORDERS` unpaid orders.

pub mod cancel;
pub mod lock;
pub mod model;
pub mod payment;
pub mod reserve;
pub mod resolvers;
pub mod service;
pub mod types;

pub use lock::TicketLocks;
pub use service::OrderService;
