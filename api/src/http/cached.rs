//! The response cache: public reads answered from memory, without parsing or executing them.
//!
//! A rush is thousands of people asking for the same few pages (an event, its cheapest tickets,
//! the search for it), and the answer is the same for all of them. Here a request whose body (or,
//! for `GET`, query string) is byte for byte one answered before gets that answer's bytes again, as
//! long as nothing it could show has changed since.
//!
//! Invariants:
//! - only a document whose every operation is a query reading public roots (`PUBLIC_ROOTS`:
//!   tickets and events, whose every field is the same whoever asks, as a test of the schema
//!   checks) is kept, and only an answer without errors or headers of its own; so no field that
//!   depends on who asks is ever given to someone else;
//! - an entry is served only while the catalogue's change count (`CatalogueChanges`) still reads
//!   what it read before the request executed: a change committed here is counted before its
//!   request answers, so its writer reads it at once; another replica's is counted when the bus
//!   brings it;
//! - an entry is at most `RESPONSE_CACHE_MAX_AGE_MS` old, which bounds what a lost bus message or the clock (an
//!   event leaves `events` when it starts) can leave stale;
//! - the cache holds at most `RESPONSE_CACHE_ENTRIES` entries of at most `MAX_ENTRY_BYTES`, and
//!   keys of at most `MAX_KEY_BYTES`; a full cache is emptied and refilled (`Bounded`).

use std::{
    sync::Arc,
    time::{Duration, Instant},
};

use async_graphql::parser::{
    self,
    types::{ExecutableDocument, OperationType, Selection, SelectionSet},
};
use axum::{
    body::{Body, Bytes},
    http::{HeaderMap, StatusCode},
    response::Response,
};

use super::respond::{Caching, MediaType};
use crate::{cache::Bounded, metrics::Metrics, outbox::CatalogueChanges};

/// The root fields whose answers are the same for everyone.
pub(crate) const PUBLIC_ROOTS: [&str; 5] = ["ticket", "tickets", "event", "events", "__typename"];

/// The largest answer kept (a page of 100 tickets is about 15 KB).
const MAX_ENTRY_BYTES: usize = 64 * 1024;
/// The longest request kept.
const MAX_KEY_BYTES: usize = 8 * 1024;
/// Documents whose publicness is remembered.
const DOCUMENTS: usize = 512;

/// How an answer is written: the method's headers and the media type the client accepts.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub(super) struct Flavor {
    pub media: MediaType,
    pub caching: Caching,
}

#[derive(Clone, Debug, PartialEq, Eq, Hash)]
struct Key {
    flavor: Flavor,
    request: Bytes,
}

struct Entry {
    changes: u64,
    born: Instant,
    headers: HeaderMap,
    body: Bytes,
}

/// A miss's ticket: what the cache read before the request ran, to keep its answer with.
pub(super) struct Pending {
    key: Key,
    changes: u64,
}

#[derive(Clone)]
pub struct ResponseCache {
    entries: Option<Bounded<Key, Arc<Entry>>>,
    /// Whether a query text is public, by its text.
    public: Bounded<Arc<str>, bool>,
    changes: CatalogueChanges,
    /// How long an entry may be served, whatever the change count says.
    max_age: Duration,
    metrics: Metrics,
}

impl ResponseCache {
    /// `capacity` 0 turns the cache off.
    pub fn new(
        capacity: usize,
        max_age: Duration,
        changes: CatalogueChanges,
        metrics: Metrics,
    ) -> Self {
        Self {
            entries: (capacity > 0).then(|| Bounded::new(capacity)),
            public: Bounded::new(DOCUMENTS),
            changes,
            max_age,
            metrics,
        }
    }

    /// The kept answer to `request`, if it is still current.
    pub(super) fn get(&self, flavor: Flavor, request: &Bytes) -> Option<Response> {
        let entries = self.entries.as_ref()?;
        if request.len() > MAX_KEY_BYTES {
            return None;
        }
        let key = Key {
            flavor,
            request: request.clone(),
        };
        let entry = entries.get(&key)?;
        if entry.changes != self.changes.current() || entry.born.elapsed() > self.max_age {
            return None;
        }
        self.metrics.response_cache(true);
        let mut response = Response::new(Body::from(entry.body.clone()));
        *response.headers_mut() = entry.headers.clone();
        Some(response)
    }

    /// Before executing `query`: a ticket to keep its answer with, if it may be kept.
    pub(super) fn before(&self, flavor: Flavor, request: &Bytes, query: &str) -> Option<Pending> {
        self.entries.as_ref()?;
        if request.len() > MAX_KEY_BYTES || !self.is_public(query) {
            return None;
        }
        self.metrics.response_cache(false);
        Some(Pending {
            key: Key {
                flavor,
                request: request.clone(),
            },
            changes: self.changes.current(),
        })
    }

    /// Keeps an answer that succeeded (200, no errors, no headers of its own).
    pub(super) fn keep(
        &self,
        pending: Pending,
        response: &async_graphql::Response,
        status: StatusCode,
        headers: &HeaderMap,
        body: &Bytes,
    ) {
        let Some(entries) = &self.entries else {
            return;
        };
        if status != StatusCode::OK
            || response.is_err()
            || !response.http_headers.is_empty()
            || body.len() > MAX_ENTRY_BYTES
        {
            return;
        }
        entries.insert(
            pending.key,
            Arc::new(Entry {
                changes: pending.changes,
                born: Instant::now(),
                headers: headers.clone(),
                body: body.clone(),
            }),
        );
    }

    fn is_public(&self, query: &str) -> bool {
        if let Some(public) = self.public.get(query) {
            return public;
        }
        // A document that does not parse is not public; execution refuses it anyway.
        let public = parser::parse_query(query).is_ok_and(|document| is_public(&document));
        if query.len() <= MAX_KEY_BYTES {
            self.public.insert(Arc::from(query), public);
        }
        public
    }
}

/// Whether every operation of `document` is a query of public roots only (through fragments at
/// the root, which may only select them too).
pub(crate) fn is_public(document: &ExecutableDocument) -> bool {
    fn roots_public(document: &ExecutableDocument, set: &SelectionSet, level: usize) -> bool {
        level <= super::super::schema::documents::RECURSION_LIMIT
            && set.items.iter().all(|item| match &item.node {
                Selection::Field(field) => PUBLIC_ROOTS.contains(&field.node.name.node.as_str()),
                Selection::InlineFragment(fragment) => {
                    roots_public(document, &fragment.node.selection_set.node, level + 1)
                }
                Selection::FragmentSpread(spread) => document
                    .fragments
                    .get(&spread.node.fragment_name.node)
                    .is_some_and(|fragment| {
                        roots_public(document, &fragment.node.selection_set.node, level + 1)
                    }),
            })
    }
    document.operations.iter().all(|(_, operation)| {
        operation.node.ty == OperationType::Query
            && roots_public(document, &operation.node.selection_set.node, 0)
    })
}

#[cfg(test)]
mod tests {
    use std::collections::{BTreeSet, HashMap};

    use async_graphql::parser::types::{BaseType, Type, TypeKind, TypeSystemDefinition};

    use super::*;

    fn public(query: &str) -> bool {
        is_public(&parser::parse_query(query).unwrap())
    }

    #[test]
    fn only_queries_of_public_roots_are_public() {
        assert!(public("{ tickets { edges { node { id } } } }"));
        assert!(public(
            "query A { ticket(id: \"1\") { id } } query B { events { edges { node { id } } } }"
        ));
        assert!(public(
            "{ ...F } fragment F on Query { event(id: \"1\") { name } __typename }"
        ));
        for private in [
            "{ me { id } }",
            "{ tickets { edges { node { id } } } me { email } }",
            "{ orders { edges { node { id } } } }",
            "{ order(id: \"1\") { id } }",
            "{ queuePlace(eventId: \"1\") { position } }",
            "{ paymentConfig { publishableKey } }",
            "{ __schema { types { name } } }",
            "{ _entities(representations: []) { __typename } }",
            "{ ...F } fragment F on Query { me { id } }",
            "{ ... on Query { me { id } } }",
            "{ ...Missing }",
            "mutation { signOut }",
            "subscription { ticketUpdated(id: \"1\") { id } }",
            "query A { tickets { edges { node { id } } } } mutation B { signOut }",
        ] {
            assert!(!public(private), "{private} was taken for public");
        }
    }

    /// Every field reachable from `PUBLIC_ROOTS`, as `Type.field`, from the SDL.
    fn reachable_fields() -> BTreeSet<String> {
        let sdl = crate::schema::sdl();
        let document = parser::parse_schema(&sdl).unwrap();
        let mut objects = HashMap::new();
        for definition in &document.definitions {
            if let TypeSystemDefinition::Type(ty) = definition
                && let TypeKind::Object(object) = &ty.node.kind
            {
                let fields: Vec<(String, Type)> = object
                    .fields
                    .iter()
                    .map(|f| (f.node.name.node.to_string(), f.node.ty.node.clone()))
                    .collect();
                objects.insert(ty.node.name.node.to_string(), fields);
            }
        }
        fn named(ty: &Type) -> String {
            match &ty.base {
                BaseType::Named(name) => name.to_string(),
                BaseType::List(inner) => named(inner),
            }
        }
        let mut seen = BTreeSet::new();
        let mut todo: Vec<String> = Vec::new();
        for (name, ty) in &objects["Query"] {
            if PUBLIC_ROOTS.contains(&name.as_str()) {
                seen.insert(format!("Query.{name}"));
                todo.push(named(ty));
            }
        }
        let mut visited = BTreeSet::new();
        while let Some(ty) = todo.pop() {
            if !visited.insert(ty.clone()) {
                continue;
            }
            for (name, field_ty) in objects.get(&ty).into_iter().flatten() {
                seen.insert(format!("{ty}.{name}"));
                todo.push(named(field_ty));
            }
        }
        seen
    }

    /// The fields a cached answer can hold, each read as the same for every viewer (no `mine`, no
    /// viewer's order or place). A field added to one of these types, or a type they reach, fails
    /// this test until it is judged: if its value depends on who asks, it must not be reachable
    /// from `PUBLIC_ROOTS`.
    #[test]
    fn every_field_a_cached_answer_can_hold_is_the_same_for_everyone() {
        let judged: BTreeSet<String> = [
            "Query.ticket",
            "Query.tickets",
            "Query.event",
            "Query.events",
            "Ticket.id",
            "Ticket.title",
            "Ticket.price",
            "Ticket.version",
            "Ticket.status",
            "Ticket.sellerId",
            "Ticket.reservedUntil",
            "Ticket.createdAt",
            "Ticket.updatedAt",
            "Ticket.eventId",
            "Ticket.event",
            "TicketConnection.edges",
            "TicketConnection.pageInfo",
            "TicketEdge.cursor",
            "TicketEdge.node",
            "PageInfo.hasNextPage",
            "PageInfo.endCursor",
            "Event.id",
            "Event.name",
            "Event.venue",
            "Event.city",
            "Event.startsAt",
            "Event.onSaleAt",
            "Event.organizerId",
            "Event.createdAt",
            "Event.availableCount",
            "Event.lowestPrice",
            "Event.tickets",
            "EventConnection.edges",
            "EventConnection.pageInfo",
            "EventEdge.cursor",
            "EventEdge.node",
        ]
        .into_iter()
        .map(String::from)
        .collect();
        assert_eq!(reachable_fields(), judged);
    }
}
