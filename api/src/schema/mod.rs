//! The one place the domain modules' schemas are merged into `Query`, `Mutation` and
//! `Subscription`, with the limits that protect the server (`documents`).

pub mod documents;
pub mod gateway;
pub mod persisted;

use async_graphql::{
    MergedObject, MergedSubscription, Response, Schema, SchemaBuilder, ServerError, Value,
};

use crate::{
    auth::resolvers::{AuthMutation, AuthQuery, AuthSubscription},
    error::{FieldError, fields_value},
    events::resolvers::{EventMutation, EventQuery, EventSubscription},
    metrics::Metrics,
    orders::resolvers::{OrderMutation, OrderQuery, OrderSubscription},
    payments::resolvers::{PaymentMutation, PaymentQuery, PaymentSubscription},
    queue::resolvers::{QueueMutation, QueueQuery, QueueSubscription},
    tickets::resolvers::{TicketMutation, TicketQuery, TicketSubscription},
};

#[derive(MergedObject, Default)]
pub struct Query(
    AuthQuery,
    EventQuery,
    QueueQuery,
    TicketQuery,
    OrderQuery,
    PaymentQuery,
);

#[derive(MergedObject, Default)]
pub struct Mutation(
    AuthMutation,
    EventMutation,
    QueueMutation,
    TicketMutation,
    OrderMutation,
    PaymentMutation,
);

#[derive(MergedSubscription, Default)]
pub struct Subscription(
    AuthSubscription,
    EventSubscription,
    QueueSubscription,
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

/// Gives every error of a response a code from API.md, and counts them. Errors raised by our
/// resolvers carry one already; those without come from async-graphql itself (parse, validation,
/// input coercion, limits), which are all the client's input, so they become `BAD_USER_INPUT`.
pub fn with_codes(metrics: &Metrics, mut response: Response) -> Response {
    for error in &mut response.errors {
        coded(error);
        if let Some(Value::String(code)) = error.extensions.as_ref().and_then(|e| e.get("code")) {
            metrics.graphql_error(code);
        }
    }
    response
}

fn coded(error: &mut ServerError) {
    let field = blamed_field(&error.message);
    let extensions = error.extensions.get_or_insert_with(Default::default);
    if extensions.get("code").is_none() {
        extensions.set("code", crate::error::code::BAD_USER_INPUT);
        let fields: Vec<FieldError> = field.into_iter().collect();
        extensions.set("fields", fields_value(&fields));
    }
}

/// The input field an input-coercion error of async-graphql is about, where its message says:
/// `Invalid value for argument "first", …` names an argument (the last segment of a path such as
/// `input.title`). A `Decimal` that does not parse names nothing: inside an input object
/// ("occurred while parsing …") it is a ticket's `price`, the only decimal field of an input;
/// otherwise it is `maxPrice`, the only decimal argument.
fn blamed_field(message: &str) -> Option<FieldError> {
    if message.starts_with("Failed to parse \"Decimal\"")
        || message.starts_with("Expected input type \"Decimal\"")
    {
        let field = if message.contains("occurred while parsing") {
            "price"
        } else {
            "maxPrice"
        };
        return Some(FieldError::new(
            field,
            "must be a decimal number such as 20.00",
        ));
    }
    let rest = message.strip_prefix("Invalid value for argument \"")?;
    let (path, _) = rest.split_once('"')?;
    let field = path.rsplit('.').next().unwrap_or(path);
    Some(FieldError::new(field, message))
}
