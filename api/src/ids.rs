//! Typed ids: a `TicketId` cannot be passed where an `OrderId` is meant. Each is a UUID v7
//! (time-ordered, so "newest first" is "highest id first"), serialized as the bare UUID, and
//! becomes a GraphQL `ID` through its `Display`.

use std::fmt;

use serde::{Deserialize, Serialize};
use uuid::Uuid;

macro_rules! typed_id {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        #[serde(transparent)]
        pub struct $name(pub Uuid);

        impl $name {
            /// A new id, UUID v7.
            pub fn generate() -> Self {
                Self(Uuid::now_v7())
            }

            pub fn uuid(self) -> Uuid {
                self.0
            }

            /// Parses a GraphQL `ID`; anything but a UUID names no record.
            pub fn parse(id: &async_graphql::ID) -> Option<Self> {
                Uuid::parse_str(id.as_str()).ok().map(Self)
            }
        }

        impl From<Uuid> for $name {
            fn from(id: Uuid) -> Self {
                Self(id)
            }
        }

        impl From<$name> for Uuid {
            fn from(id: $name) -> Self {
                id.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                self.0.fmt(f)
            }
        }
    };
}

typed_id!(
    /// A person with an account.
    UserId
);
typed_id!(
    /// One signed-in session of a user (the JWT's `sid`).
    SessionId
);
typed_id!(
    /// A ticket for sale.
    TicketId
);
typed_id!(
    /// A buyer's order of one ticket.
    OrderId
);
typed_id!(
    /// A successful charge of an order.
    ChargeId
);
typed_id!(
    /// One domain event (an outbox row).
    DomainEventId
);
typed_id!(
    /// An event tickets are listed for: a concert, a match, a show.
    EventId
);
