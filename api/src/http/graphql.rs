//! `POST /graphql` and `GET /graphql`: GraphQL over HTTP, and GraphiQL for a browser.

use std::path::Path;

use async_graphql::{
    BatchRequest, BatchResponse, Request, http::GraphiQLSource, parser::types::OperationType,
};
use axum::{
    Extension,
    body::Bytes,
    extract::{RawQuery, State},
    http::{HeaderMap, HeaderValue, StatusCode, header},
    response::{Html, IntoResponse, Response},
};

use super::{
    cached::{Flavor, Pending, ResponseCache},
    is_json, refuse,
    respond::{Caching, MediaType, into_response, render, respond},
};
use crate::{
    auth::{self, Credential},
    state::AppState,
};

pub(super) async fn graphql_post(
    State(state): State<AppState>,
    Extension(responses): Extension<ResponseCache>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    if !is_json(&headers) {
        return refuse(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "POST /graphql takes Content-Type: application/json",
        );
    }
    let flavor = Flavor {
        media: MediaType::accepted(&headers),
        caching: Caching::Never,
    };
    // A public read asked before, unless the client wants it as an event stream.
    let streams = super::sse::may_want_event_stream(&headers);
    if !streams && let Some(hit) = responses.get(flavor, &body) {
        return hit;
    }
    // An array is a batch and an object one request, never the other way round (serde would
    // read `[]` or `["{ … }"]` as a request whose fields come by position).
    let is_array = body.iter().find(|b| !b.is_ascii_whitespace()) == Some(&b'[');
    let parsed = if is_array {
        serde_json::from_slice::<Vec<Request>>(&body).map(BatchRequest::Batch)
    } else {
        serde_json::from_slice::<Request>(&body).map(BatchRequest::Single)
    };
    let batch: BatchRequest = match parsed {
        Ok(batch) => batch,
        Err(err) => {
            return refuse(
                StatusCode::BAD_REQUEST,
                &format!("the body is not a GraphQL request: {err}"),
            );
        }
    };
    if batch.iter().any(lacks_query) {
        return refuse(StatusCode::BAD_REQUEST, NO_QUERY);
    }
    let size = batch.iter().count();
    if size == 0 || size > state.config.limits.max_batch_size {
        return refuse(
            StatusCode::BAD_REQUEST,
            &format!(
                "a batch holds 1 to {} operations",
                state.config.limits.max_batch_size
            ),
        );
    }
    let batch = match batch {
        BatchRequest::Single(request) if super::sse::wants_event_stream(&headers, &request) => {
            return super::sse::stream(state, &headers, request).await;
        }
        batch => batch,
    };
    let batch = batch.data(Credential::new(auth::token_from_headers(&headers)));
    // One after the other, not all at once as async-graphql would: a batch's operations share
    // its credential, and one after `signOut` must run signed out, not race it.
    let response = match batch {
        BatchRequest::Single(request) => {
            let pending = (!streams)
                .then(|| responses.before(flavor, &body, &request.query))
                .flatten();
            let response = BatchResponse::Single(state.schema.execute(request).await);
            return answer(&responses, flavor, pending, response);
        }
        BatchRequest::Batch(requests) => {
            let mut responses = Vec::with_capacity(requests.len());
            for request in requests {
                responses.push(state.schema.execute(request).await);
            }
            BatchResponse::Batch(responses)
        }
    };
    respond(flavor.media, response, Caching::Never)
}

/// The HTTP answer to one executed request, kept by the response cache where `pending` says so.
fn answer(
    responses: &ResponseCache,
    flavor: Flavor,
    pending: Option<Pending>,
    response: BatchResponse,
) -> Response {
    let (status, headers, body) = render(flavor.media, &response, flavor.caching);
    if let (Some(pending), BatchResponse::Single(single)) = (pending, &response) {
        responses.keep(pending, single, status, &headers, &body);
    }
    into_response(status, headers, body)
}

pub(super) async fn graphql_get(
    State(state): State<AppState>,
    Extension(responses): Extension<ResponseCache>,
    headers: HeaderMap,
    RawQuery(query): RawQuery,
) -> Response {
    let query = query.unwrap_or_default();
    if query.is_empty() && accepts_html(&headers) {
        return Html(graphiql(&state.config.server.web_dir).await).into_response();
    }
    let token = auth::token_from_headers(&headers);
    let flavor = Flavor {
        media: MediaType::accepted(&headers),
        caching: if token.is_none() {
            Caching::AnonymousGet
        } else {
            Caching::Never
        },
    };
    let key = Bytes::copy_from_slice(query.as_bytes());
    if let Some(hit) = responses.get(flavor, &key) {
        return hit;
    }
    let mut request = match parse_query_string(&query) {
        Ok(request) => request,
        Err(err) => {
            return refuse(
                StatusCode::BAD_REQUEST,
                &format!("not a GraphQL request: {err}"),
            );
        }
    };
    if lacks_query(&request) {
        return refuse(StatusCode::BAD_REQUEST, NO_QUERY);
    }
    // A persisted query's text, where known, so that a persisted mutation is refused like any.
    state.persisted.fill_in(&mut request).await;
    if !is_query(&request) {
        let mut response = refuse(
            StatusCode::METHOD_NOT_ALLOWED,
            "GET runs queries only; send mutations and subscriptions with POST or over /graphql/ws",
        );
        response
            .headers_mut()
            .insert(header::ALLOW, HeaderValue::from_static("POST"));
        return response;
    }
    // After `is_query`, so a mutation is 405 whatever its length (the URI's own limit, in hyper,
    // bounds what `is_query` parses); before execution parses it again.
    if request.query.len() > state.config.limits.max_query_bytes {
        return refuse(
            StatusCode::BAD_REQUEST,
            &format!(
                "the query is {} bytes long, more than this server accepts (at most {}, \
                 MAX_QUERY_BYTES)",
                request.query.len(),
                state.config.limits.max_query_bytes
            ),
        );
    }
    let pending = responses.before(flavor, &key, &request.query);
    let request = request.data(Credential::new(token));
    let response = state.schema.execute(request).await;
    answer(&responses, flavor, pending, response.into())
}

const NO_QUERY: &str = "the request has no `query` (a GraphQL document as a string)";

/// A request without a document is no GraphQL request at all (GraphQL over HTTP: 400). One that
/// names a persisted query may leave its text out.
fn lacks_query(request: &Request) -> bool {
    request.query.trim().is_empty() && !request.extensions.contains_key("persistedQuery")
}

/// The GraphQL-over-HTTP GET parameters. async-graphql's own parser expects `operation_name`,
/// while clients send `operationName`; both are taken.
#[derive(serde::Deserialize)]
struct GetParams {
    #[serde(default)]
    query: String,
    #[serde(rename = "operationName", alias = "operation_name")]
    operation_name: Option<String>,
    variables: Option<String>,
    extensions: Option<String>,
}

fn parse_query_string(input: &str) -> Result<Request, String> {
    let params: GetParams = serde_urlencoded::from_str(input).map_err(|e| e.to_string())?;
    let mut request = Request::new(params.query);
    request.operation_name = params.operation_name;
    if let Some(variables) = params.variables {
        request.variables =
            serde_json::from_str(&variables).map_err(|e| format!("invalid variables: {e}"))?;
    }
    if let Some(extensions) = params.extensions {
        request.extensions =
            serde_json::from_str(&extensions).map_err(|e| format!("invalid extensions: {e}"))?;
    }
    Ok(request)
}

/// Whether the operation a request would run is a query. A document that does not parse, or
/// names an operation it lacks, counts as a query: execution refuses it without running anything.
fn is_query(request: &Request) -> bool {
    crate::schema::documents::operation_type(request).is_none_or(|ty| ty == OperationType::Query)
}

fn accepts_html(headers: &HeaderMap) -> bool {
    headers
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.contains("text/html"))
}

/// The web UI's bundled GraphiQL (`graphiql.html` of the built UI), which needs no internet; where
/// the UI is not built, async-graphql's page, which loads GraphiQL from a CDN.
async fn graphiql(web_dir: &str) -> String {
    if let Ok(page) = tokio::fs::read_to_string(Path::new(web_dir).join("graphiql.html")).await {
        return page;
    }
    GraphiQLSource::build()
        .endpoint("/graphql")
        .subscription_endpoint("/graphql/ws")
        .title("Tickets GraphiQL")
        .finish()
}
