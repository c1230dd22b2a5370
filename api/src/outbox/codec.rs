//! The versioned form in which events are stored in the outbox and sent on the bus:
//! `{"v": 1, "id", "occurred_at", "audience", "payload": {"type", "data"}}`. A change to a payload's
//! shape is a new `v` with a reader for the old one beside it (`v0` is the shape from before
//! versions, when events carried GraphQL types), so rows written by an older release are still
//! published. A row from a newer release is left for a replica of that release
//! (`Decoded::Newer`), never marked published unread.

use super::{event::DomainEvent, v0};

/// The version this release writes.
pub const VERSION: u64 = 1;

/// What a stored or sent event turned out to be.
#[derive(Debug)]
pub enum Decoded {
    Event(Box<DomainEvent>),
    /// Written by a newer release (its version): a replica of that release will publish it.
    Newer(u64),
}

/// The stored form of `event`, at `VERSION`.
pub fn encode(event: &DomainEvent) -> serde_json::Result<serde_json::Value> {
    let mut value = serde_json::to_value(event)?;
    if let serde_json::Value::Object(fields) = &mut value {
        fields.insert("v".into(), VERSION.into());
    }
    Ok(value)
}

/// Reads an event in any version this release knows.
pub fn decode(value: serde_json::Value) -> serde_json::Result<Decoded> {
    let version = value
        .get("v")
        .map(|v| {
            v.as_u64()
                .ok_or_else(|| serde::de::Error::custom("`v` is not a version number"))
        })
        .transpose()?
        .unwrap_or(0);
    match version {
        0 => Ok(Decoded::Event(Box::new(v0::decode(value)?))),
        VERSION => Ok(Decoded::Event(Box::new(serde_json::from_value(value)?))),
        newer => Ok(Decoded::Newer(newer)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{
        auth::model::SessionsRevoked,
        db,
        ids::{SessionId, TicketId, UserId},
        outbox::event::EventPayload,
        tickets::model::Ticket,
    };

    fn ticket() -> Ticket {
        let now = db::now();
        Ticket {
            id: TicketId::generate(),
            title: "Concert".into(),
            price_cents: 1999,
            version: 1,
            status: entity::ticket::TicketStatus::Available,
            seller_id: UserId::generate(),
            event_id: None,
            reserved_until: None,
            created_at: now,
            updated_at: now,
        }
    }

    #[test]
    fn events_round_trip_at_the_current_version() {
        let user = UserId::generate();
        for event in [
            DomainEvent::new(EventPayload::TicketUpdated(ticket()), None),
            DomainEvent::new(
                EventPayload::SessionsRevoked(SessionsRevoked {
                    user_id: user,
                    session_ids: vec![SessionId::generate()],
                }),
                Some(user),
            ),
        ] {
            let stored = encode(&event).unwrap();
            assert_eq!(stored["v"], VERSION);
            match decode(stored).unwrap() {
                Decoded::Event(back) => assert_eq!(*back, event),
                Decoded::Newer(v) => panic!("read as version {v}"),
            }
        }
    }

    #[test]
    fn a_newer_version_is_left_for_a_newer_release() {
        let mut stored = encode(&DomainEvent::new(
            EventPayload::TicketCreated(ticket()),
            None,
        ))
        .unwrap();
        stored["v"] = 7.into();
        stored["payload"]["data"] = serde_json::json!({ "renamed": true });
        assert!(matches!(decode(stored).unwrap(), Decoded::Newer(7)));
    }

    #[test]
    fn a_malformed_version_is_an_error() {
        let mut stored = encode(&DomainEvent::new(
            EventPayload::TicketCreated(ticket()),
            None,
        ))
        .unwrap();
        stored["v"] = "one".into();
        assert!(decode(stored).is_err());
    }
}
