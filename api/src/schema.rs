//! The one place the domain modules' schemas are merged into `Query`, `Mutation` and
//! `Subscription`, with the limits that protect the server.

use async_graphql::{
    MergedObject, MergedSubscription, Response, Schema, SchemaBuilder, ServerError, ServerResult,
    Value, Variables,
    extensions::{
        Extension, ExtensionContext, ExtensionFactory, NextParseQuery, NextRequest, NextSubscribe,
    },
    futures_util::stream::BoxStream,
    parser::types::{ExecutableDocument, Selection, SelectionSet},
};
use futures_util::StreamExt;
use std::{
    collections::HashMap,
    sync::{Arc, Mutex},
};

use crate::{
    auth::resolvers::{AuthMutation, AuthQuery, AuthSubscription},
    error::{FieldError, fields_value},
    metrics::Metrics,
    orders::resolvers::{OrderMutation, OrderQuery, OrderSubscription},
    payments::resolvers::{PaymentMutation, PaymentQuery, PaymentSubscription},
    tickets::resolvers::{TicketMutation, TicketQuery, TicketSubscription},
};

#[derive(MergedObject, Default)]
pub struct Query(AuthQuery, TicketQuery, OrderQuery, PaymentQuery);

#[derive(MergedObject, Default)]
pub struct Mutation(AuthMutation, TicketMutation, OrderMutation, PaymentMutation);

#[derive(MergedSubscription, Default)]
pub struct Subscription(
    AuthSubscription,
    TicketSubscription,
    OrderSubscription,
    PaymentSubscription,
);

pub type AppSchema = Schema<Query, Mutation, Subscription>;

/// The schema's types, without limits or data: what `schema.graphql` is exported from.
pub fn builder() -> SchemaBuilder<Query, Mutation, Subscription> {
    Schema::build(
        Query::default(),
        Mutation::default(),
        Subscription::default(),
    )
    .enable_federation()
}

/// The SDL written to the top-level `schema.graphql`.
pub fn sdl() -> String {
    builder().finish().sdl()
}

/// Gives every error a code from API.md. Errors raised by our resolvers carry one already; those
/// without come from async-graphql itself (parse, validation, input coercion, limits), which are
/// all the client's input, so they become `BAD_USER_INPUT`.
pub struct ErrorCodes(pub Metrics);

impl ExtensionFactory for ErrorCodes {
    fn create(&self) -> Arc<dyn Extension> {
        Arc::new(ErrorCodesExtension(self.0.clone()))
    }
}

struct ErrorCodesExtension(Metrics);

impl ErrorCodesExtension {
    fn fix(&self, mut response: Response) -> Response {
        for error in &mut response.errors {
            coded(error);
            if let Some(Value::String(code)) = error.extensions.as_ref().and_then(|e| e.get("code"))
            {
                self.0.graphql_error(code);
            }
        }
        response
    }
}

fn coded(error: &mut ServerError) {
    let field = blamed_field(&error.message);
    let extensions = error.extensions.get_or_insert_with(Default::default);
    if extensions.get("code").is_none() {
        extensions.set("code", "BAD_USER_INPUT");
        let fields: Vec<FieldError> = field.into_iter().collect();
        extensions.set("fields", fields_value(&fields));
    }
}

/// The input field an input-coercion error of async-graphql is about, where its message says:
/// `Invalid value for argument "first", …` names an argument (the last segment of a path such as
/// `input.title`); a `Decimal` that does not parse is a price, the only decimal input there is.
fn blamed_field(message: &str) -> Option<FieldError> {
    if message.starts_with("Failed to parse \"Decimal\"")
        || message.starts_with("Expected input type \"Decimal\"")
    {
        return Some(FieldError::new(
            "price",
            "must be a decimal number such as 20.00",
        ));
    }
    let rest = message.strip_prefix("Invalid value for argument \"")?;
    let (path, _) = rest.split_once('"')?;
    let field = path.rsplit('.').next().unwrap_or(path);
    Some(FieldError::new(field, message))
}

#[async_graphql::async_trait::async_trait]
impl Extension for ErrorCodesExtension {
    async fn request(&self, ctx: &ExtensionContext<'_>, next: NextRequest<'_>) -> Response {
        self.fix(next.run(ctx).await)
    }

    fn subscribe<'s>(
        &self,
        ctx: &ExtensionContext<'_>,
        stream: BoxStream<'s, Response>,
        next: NextSubscribe<'_>,
    ) -> BoxStream<'s, Response> {
        let this = ErrorCodesExtension(self.0.clone());
        next.run(ctx, stream)
            .map(move |response| this.fix(response))
            .boxed()
    }
}

/// At most `limit` root fields per operation, aliases and fragments counted: one request cannot
/// carry a hundred `createOrder`s past the per-request defences (`MAX_ROOT_FIELDS`). Batches are
/// held to `MAX_BATCH_SIZE` at the HTTP layer.
pub struct RootFieldLimit(pub usize);

impl ExtensionFactory for RootFieldLimit {
    fn create(&self) -> Arc<dyn Extension> {
        Arc::new(RootFieldLimit(self.0))
    }
}

#[async_trait::async_trait]
impl Extension for RootFieldLimit {
    async fn parse_query(
        &self,
        ctx: &ExtensionContext<'_>,
        query: &str,
        variables: &Variables,
        next: NextParseQuery<'_>,
    ) -> ServerResult<ExecutableDocument> {
        let document = next.run(ctx, query, variables).await?;
        let most = document
            .operations
            .iter()
            .map(|(_, op)| root_fields(&document, &op.node.selection_set.node, 0))
            .max()
            .unwrap_or(0);
        if most > self.0 {
            return Err(ServerError::new(
                format!(
                    "too many fields at the root of one operation: {most} (at most {}); split \
                     the request",
                    self.0
                ),
                None,
            ));
        }
        Ok(document)
    }
}

/// The root fields a selection set selects, through fragments (a cycle, which validation refuses
/// later, counts as deep as 8 levels).
fn root_fields(document: &ExecutableDocument, set: &SelectionSet, depth: usize) -> usize {
    if depth > 8 {
        return 0;
    }
    set.items
        .iter()
        .map(|item| match &item.node {
            Selection::Field(_) => 1,
            Selection::InlineFragment(f) => {
                root_fields(document, &f.node.selection_set.node, depth + 1)
            }
            Selection::FragmentSpread(spread) => document
                .fragments
                .get(&spread.node.fragment_name.node)
                .map_or(0, |f| {
                    root_fields(document, &f.node.selection_set.node, depth + 1)
                }),
        })
        .sum()
}

/// Remembers parsed documents by their text: clients send the same few queries over and over, and
/// parsing was the largest part of a cheap query's CPU in the browse profile. Registered last,
/// so it stands in for the parser alone (depth and directive limits included; what it stores
/// passed them) and every other extension still sees each document. A full cache is emptied and
/// refilled, so junk queries cannot keep the common ones out for long.
#[derive(Clone)]
pub struct ParseCache(Arc<Mutex<HashMap<Arc<str>, Arc<ExecutableDocument>>>>);

/// Distinct documents kept, and the longest query text kept.
const PARSE_CACHE_ENTRIES: usize = 512;
const PARSE_CACHE_QUERY_BYTES: usize = 8 * 1024;

impl ParseCache {
    pub fn new() -> Self {
        Self(Arc::default())
    }

    fn get(&self, query: &str) -> Option<Arc<ExecutableDocument>> {
        self.0.lock().ok()?.get(query).cloned()
    }

    fn put(&self, query: &str, document: &ExecutableDocument) {
        if query.len() > PARSE_CACHE_QUERY_BYTES {
            return;
        }
        if let Ok(mut map) = self.0.lock() {
            if map.len() >= PARSE_CACHE_ENTRIES {
                map.clear();
            }
            map.insert(Arc::from(query), Arc::new(document.clone()));
        }
    }
}

impl Default for ParseCache {
    fn default() -> Self {
        Self::new()
    }
}

impl ExtensionFactory for ParseCache {
    fn create(&self) -> Arc<dyn Extension> {
        Arc::new(self.clone())
    }
}

#[async_trait::async_trait]
impl Extension for ParseCache {
    async fn parse_query(
        &self,
        ctx: &ExtensionContext<'_>,
        query: &str,
        variables: &Variables,
        next: NextParseQuery<'_>,
    ) -> ServerResult<ExecutableDocument> {
        if let Some(document) = self.get(query) {
            return Ok(ExecutableDocument::clone(&document));
        }
        let document = next.run(ctx, query, variables).await?;
        self.put(query, &document);
        Ok(document)
    }
}
