//! Tickets: listing, editing, browsing, and the reservation state the orders module drives.
//!
//! Invariants:
//! - `version` goes up by one on every change, and every change is a conditional update on the
//!   version read, so a stale `expectedVersion` or a racing edit is `CONFLICT`, never lost;
//! - a `RESERVED` or `SOLD` ticket keeps its title and price (`CONFLICT` on edit);
//! - ownership is checked before state: a non-owner gets `FORBIDDEN` even on a reserved ticket;
//! - a reservation is released only by the order that holds it (`reserved_order_id`);
//! - a ticket of an event is listed and ordered only before the event starts; every change to
//!   which of its tickets are `AVAILABLE`, or at what price, moves the event's availability in
//!   the same transaction (`availability`).

pub mod availability;
pub mod loader;
pub mod model;
pub mod resolvers;
pub mod service;
pub mod types;

pub use service::TicketService;
