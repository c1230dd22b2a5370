//! What a GraphQL document may cost, measured before any work is done for it, and the cache of
//! documents that passed.
//!
//! async-graphql's own checks (recursion depth, directives, then depth and complexity during
//! validation) walk a fragment again every time it is spread, so a document of 24 fragments that
//! each spread the next twice (under 1 KB) made them walk 2^24 selections: seconds of one core.
//! Here the document is parsed and measured by the gateway instead (`Documents::parse`), each fragment measured
//! once (memoised), in time linear in the text, which is itself held to `MAX_QUERY_BYTES` before
//! it is parsed. A document whose selections, once its fragments are expanded, exceed
//! `MAX_QUERY_SELECTIONS` is refused; one that passes is at most that big to every later walk.
//!
//! Invariants:
//! - no document reaches the parser longer than `MAX_QUERY_BYTES`, nor validation with more than
//!   `MAX_QUERY_SELECTIONS` expanded selections, more than `MAX_ROOT_FIELDS` root fields in an
//!   operation, or nesting deeper than `RECURSION_LIMIT`;
//! - the cache keeps only documents that also passed validation, and holds at most
//!   `CACHE_ENTRIES` of at most `CACHE_QUERY_BYTES` each.

use std::{collections::HashMap, sync::Arc};

use async_graphql::{
    Request, ServerError, ServerResult, Variables,
    parser::{
        self,
        types::{
            DocumentOperations, ExecutableDocument, FragmentDefinition, OperationType, Selection,
            SelectionSet,
        },
    },
};

use crate::cache::Bounded;

/// The limits a document is held to (`MAX_QUERY_BYTES`, `MAX_QUERY_SELECTIONS`,
/// `MAX_ROOT_FIELDS`).
#[derive(Clone, Copy, Debug)]
pub struct DocumentLimits {
    pub max_bytes: usize,
    pub max_selections: u64,
    pub max_root_fields: u64,
    /// Representations given to `_entities`, all its fields in the operation together
    /// (`MAX_ENTITY_REPRESENTATIONS`).
    pub max_representations: usize,
}

/// How deep selection sets may nest, fragments included (async-graphql's default recursion
/// limit, which its own check, skipped here, would apply).
pub const RECURSION_LIMIT: usize = 32;

/// Distinct documents kept, and the longest query text kept.
const CACHE_ENTRIES: usize = 512;
const CACHE_QUERY_BYTES: usize = 8 * 1024;

/// The parser the gateway runs in async-graphql's place. Parsed documents are remembered by their
/// text, since clients send the same few queries over and over and parsing
/// was the largest part of a cheap query's CPU in the browse profile. A full cache is emptied and
/// refilled, so junk queries cannot keep the common ones out for long.
#[derive(Clone)]
pub struct Documents {
    limits: DocumentLimits,
    cache: Bounded<Arc<str>, Arc<ExecutableDocument>>,
}

impl Documents {
    pub fn new(limits: DocumentLimits) -> Self {
        Self {
            limits,
            cache: Bounded::new(CACHE_ENTRIES),
        }
    }

    fn cached(&self, query: &str) -> Option<Arc<ExecutableDocument>> {
        self.cache.get(query)
    }

    fn keep(&self, query: Arc<str>, document: Arc<ExecutableDocument>) {
        self.cache.insert(query, document);
    }
}

/// A document that parsed and passed the limits, to be kept once it has passed validation too.
pub struct ToKeep(Arc<str>, Arc<ExecutableDocument>);

impl Documents {
    /// Parses `query` (or finds it among the documents kept) and holds it to the limits: the
    /// parser async-graphql runs is this one (the gateway hands it the document), and its own
    /// walks then see at most `MAX_QUERY_SELECTIONS` selections.
    pub fn parse(
        &self,
        query: &str,
        variables: &Variables,
    ) -> ServerResult<(ExecutableDocument, Option<ToKeep>)> {
        let limits = self.limits;
        if query.len() > limits.max_bytes {
            return Err(ServerError::new(
                format!(
                    "the query is {} bytes long, more than this server accepts (at most {}, \
                     MAX_QUERY_BYTES)",
                    query.len(),
                    limits.max_bytes
                ),
                None,
            ));
        }
        if let Some(document) = self.cached(query) {
            check_representations(&document, variables, limits)?;
            return Ok((ExecutableDocument::clone(&document), None));
        }
        let document = parser::parse_query(query)?;
        check(&document, limits)?;
        check_representations(&document, variables, limits)?;
        let keep = (query.len() <= CACHE_QUERY_BYTES)
            .then(|| ToKeep(Arc::from(query), Arc::new(document.clone())));
        Ok((document, keep))
    }

    /// Keeps a document that has passed validation.
    pub fn keep_valid(&self, valid: ToKeep) {
        self.keep(valid.0, valid.1);
    }

    #[cfg(test)]
    pub fn kept(&self) -> usize {
        self.cache.len()
    }
}

/// What a selection set costs once its fragments are expanded.
#[derive(Clone, Copy, Default)]
struct Cost {
    /// Fields, fragment spreads and inline fragments, each counted every time it would be
    /// visited (saturating: 2^64 is as refused as 2001).
    selections: u64,
    /// Fields at this level, through fragments.
    root_fields: u64,
    /// Nesting below this level, through fragments.
    depth: usize,
}

/// Refuses a document past the limits, in time linear in its size.
pub fn check(document: &ExecutableDocument, limits: DocumentLimits) -> ServerResult<()> {
    let mut measure = Measure {
        fragments: &document.fragments,
        done: HashMap::new(),
    };
    for (_, operation) in document.operations.iter() {
        let cost = measure.set(&operation.node.selection_set.node, 0)?;
        if cost.selections > limits.max_selections {
            return Err(ServerError::new(
                format!(
                    "the operation selects more than {} fields once its fragments are expanded \
                     (MAX_QUERY_SELECTIONS); ask for less",
                    limits.max_selections
                ),
                Some(operation.pos),
            ));
        }
        if cost.root_fields > limits.max_root_fields {
            return Err(ServerError::new(
                format!(
                    "too many fields at the root of one operation: {} (at most {}); split the \
                     request",
                    cost.root_fields, limits.max_root_fields
                ),
                Some(operation.pos),
            ));
        }
        if cost.depth > RECURSION_LIMIT {
            return Err(too_deep());
        }
    }
    Ok(())
}

/// Refuses an operation that hands `_entities` more representations than the limit, whether they
/// are written in the document or passed as a variable (12,000 of them in three anonymous requests
/// had held the database for seconds). Run on every request, cached documents included, since the
/// variables change; the document has passed `check`, so its root is small.
fn check_representations(
    document: &ExecutableDocument,
    variables: &Variables,
    limits: DocumentLimits,
) -> ServerResult<()> {
    fn count(
        document: &ExecutableDocument,
        set: &SelectionSet,
        variables: &Variables,
        level: usize,
    ) -> usize {
        if level > RECURSION_LIMIT {
            return 0;
        }
        set.items
            .iter()
            .map(|item| match &item.node {
                Selection::Field(field) if field.node.name.node == "_entities" => field
                    .node
                    .get_argument("representations")
                    .map_or(0, |value| match &value.node {
                        async_graphql_value::Value::List(items) => items.len(),
                        async_graphql_value::Value::Variable(name) => match variables.get(name) {
                            Some(async_graphql::Value::List(items)) => items.len(),
                            _ => 0,
                        },
                        _ => 0,
                    }),
                Selection::Field(_) => 0,
                Selection::InlineFragment(fragment) => count(
                    document,
                    &fragment.node.selection_set.node,
                    variables,
                    level + 1,
                ),
                Selection::FragmentSpread(spread) => document
                    .fragments
                    .get(&spread.node.fragment_name.node)
                    .map_or(0, |fragment| {
                        count(
                            document,
                            &fragment.node.selection_set.node,
                            variables,
                            level + 1,
                        )
                    }),
            })
            .fold(0, usize::saturating_add)
    }
    for (_, operation) in document.operations.iter() {
        let n = count(document, &operation.node.selection_set.node, variables, 0);
        if n > limits.max_representations {
            return Err(ServerError::new(
                format!(
                    "_entities takes at most {} representations in one operation \
                     (MAX_ENTITY_REPRESENTATIONS); this one has {n}",
                    limits.max_representations
                ),
                Some(operation.pos),
            ));
        }
    }
    Ok(())
}

fn too_deep() -> ServerError {
    ServerError::new(
        format!("selections nest more than {RECURSION_LIMIT} levels deep"),
        None,
    )
}

struct Measure<'a> {
    fragments: &'a HashMap<async_graphql::Name, async_graphql::Positioned<FragmentDefinition>>,
    /// Each fragment's cost once measured; `None` while it is being measured (a spread of it then
    /// is a cycle).
    done: HashMap<&'a str, Option<Cost>>,
}

impl<'a> Measure<'a> {
    /// `level` is how deep this set sits, so the recursion is at most `RECURSION_LIMIT` deep.
    fn set(&mut self, set: &'a SelectionSet, level: usize) -> ServerResult<Cost> {
        if level > RECURSION_LIMIT {
            return Err(too_deep());
        }
        let mut cost = Cost::default();
        for item in &set.items {
            // Each nesting counts one level, a fragment's too, as async-graphql's own check does.
            let (inner, is_field) = match &item.node {
                Selection::Field(field) => {
                    let set = &field.node.selection_set.node;
                    let inner = if set.items.is_empty() {
                        Cost::default()
                    } else {
                        self.set(set, level + 1)?
                    };
                    (inner, true)
                }
                Selection::InlineFragment(fragment) => (
                    self.set(&fragment.node.selection_set.node, level + 1)?,
                    false,
                ),
                Selection::FragmentSpread(spread) => (
                    self.fragment(&spread.node.fragment_name.node, level + 1)?,
                    false,
                ),
            };
            cost.selections = cost
                .selections
                .saturating_add(1)
                .saturating_add(inner.selections);
            cost.root_fields = if is_field {
                cost.root_fields.saturating_add(1)
            } else {
                cost.root_fields.saturating_add(inner.root_fields)
            };
            cost.depth = cost.depth.max(inner.depth);
        }
        if !set.items.is_empty() {
            cost.depth += 1;
        }
        Ok(cost)
    }

    fn fragment(&mut self, name: &'a str, level: usize) -> ServerResult<Cost> {
        match self.done.get(name) {
            Some(Some(cost)) => return Ok(*cost),
            Some(None) => {
                return Err(ServerError::new(
                    format!("fragment \"{name}\" spreads itself"),
                    None,
                ));
            }
            None => {}
        }
        // An unknown fragment costs nothing here; validation refuses it.
        let Some(definition) = self.fragments.get(name) else {
            return Ok(Cost::default());
        };
        self.done.insert(name, None);
        // Measured at the level it is first met; its depth is relative, added wherever it is
        // spread, so a deeper later spread is still held to the limit.
        let cost = self.set(&definition.node.selection_set.node, level)?;
        self.done.insert(name, Some(cost));
        Ok(cost)
    }
}

/// The type of the operation a request would run, if its document parses and names one.
pub fn operation_type(request: &Request) -> Option<OperationType> {
    let doc = parser::parse_query(&request.query).ok()?;
    match (&doc.operations, request.operation_name.as_deref()) {
        (DocumentOperations::Single(op), _) => Some(op.node.ty),
        (DocumentOperations::Multiple(ops), Some(name)) => ops
            .iter()
            .find(|(n, _)| n.as_str() == name)
            .map(|(_, op)| op.node.ty),
        (DocumentOperations::Multiple(ops), None) if ops.len() == 1 => {
            ops.values().next().map(|op| op.node.ty)
        }
        (DocumentOperations::Multiple(_), None) => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const LIMITS: DocumentLimits = DocumentLimits {
        max_bytes: 16 * 1024,
        max_selections: 2000,
        max_root_fields: 10,
        max_representations: 100,
    };

    fn measure(query: &str) -> ServerResult<()> {
        check(&parser::parse_query(query).unwrap(), LIMITS)
    }

    /// F1 spreads F2 twice, F2 spreads F3 twice, …: `n` fragments select 2^n fields.
    fn fan_out(n: usize) -> String {
        let mut q = String::from("query { tickets { edges { node { ...F1 } } } }\n");
        for i in 1..n {
            q.push_str(&format!(
                "fragment F{i} on Ticket {{ ...F{0} ...F{0} }}\n",
                i + 1
            ));
        }
        q.push_str(&format!("fragment F{n} on Ticket {{ id }}\n"));
        q
    }

    #[test]
    fn fragments_that_double_are_refused_without_expanding_them() {
        measure(&fan_out(5)).unwrap();
        // 2^24 selections: expanding them takes seconds; measuring them is immediate.
        let err = measure(&fan_out(25)).unwrap_err();
        assert!(
            err.message.contains("MAX_QUERY_SELECTIONS"),
            "{}",
            err.message
        );
    }

    #[test]
    fn root_fields_count_through_fragments() {
        let q = "{ ...A ...A } fragment A on Query { a: __typename b: __typename c: __typename \
                 d: __typename e: __typename f: __typename }";
        let err = measure(q).unwrap_err();
        assert!(err.message.contains("12 (at most 10)"), "{}", err.message);
    }

    #[test]
    fn cycles_and_deep_nesting_are_refused() {
        let cycle = "{ ...A } fragment A on Query { ...B } fragment B on Query { ...A }";
        assert!(
            measure(cycle)
                .unwrap_err()
                .message
                .contains("spreads itself")
        );
        let mut deep = String::from("{ ...F0 }");
        for i in 0..40 {
            deep.push_str(&format!(
                " fragment F{i} on Query {{ a {{ ...F{} }} }}",
                i + 1
            ));
        }
        deep.push_str(" fragment F40 on Query { b }");
        assert!(measure(&deep).unwrap_err().message.contains("levels deep"));
    }
}
