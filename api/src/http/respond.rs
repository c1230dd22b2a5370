//! A GraphQL response on the wire, by what the client accepts (GraphQL over HTTP, "Body" and
//! "Status codes"). `application/graphql-response+json` when the client asks for it (explicitly, and
//! at least as much as `application/json`): a request that never executed (its document did not
//! parse or validate, its variables did not fit, a limit refused it) is HTTP 400. Otherwise
//! `application/json` (no `Accept`, `*/*`, `application/json`, or nothing this server speaks):
//! always 200, as clients written before the specification expect. Either way a request error has
//! no `data` entry.

use async_graphql::{BatchResponse, Value};

use crate::error::code;
use axum::{
    body::Bytes,
    http::{HeaderMap, HeaderValue, StatusCode, header},
    response::Response,
};

const GRAPHQL_RESPONSE_JSON: &str = "application/graphql-response+json; charset=utf-8";
const JSON: &str = "application/json; charset=utf-8";

/// The response type a request gets.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub(super) enum MediaType {
    Json,
    GraphqlResponseJson,
}

impl MediaType {
    /// From the `Accept` header: the client's preference by `q`, a tie going to
    /// `application/graphql-response+json`; wildcards stand for `application/json`.
    pub(super) fn accepted(headers: &HeaderMap) -> Self {
        let Some(accept) = headers.get(header::ACCEPT).and_then(|v| v.to_str().ok()) else {
            return MediaType::Json;
        };
        let (mut graphql, mut json) = (None::<f32>, None::<f32>);
        for range in accept.split(',') {
            let mut params = range.split(';');
            let essence = params
                .next()
                .unwrap_or_default()
                .trim()
                .to_ascii_lowercase();
            let q = params
                .find_map(|p| p.trim().strip_prefix("q="))
                .and_then(|q| q.trim().parse::<f32>().ok())
                .unwrap_or(1.0);
            let slot = match essence.as_str() {
                "application/graphql-response+json" => &mut graphql,
                "application/json" | "application/*" | "*/*" => &mut json,
                _ => continue,
            };
            *slot = Some(slot.map_or(q, |seen| seen.max(q)));
        }
        match graphql {
            Some(g) if g > 0.0 && json.is_none_or(|j| g >= j) => MediaType::GraphqlResponseJson,
            _ => MediaType::Json,
        }
    }
}

/// Whether a response is a request error: nothing executed, so no field has a path.
fn is_request_error(response: &async_graphql::Response) -> bool {
    response.data == Value::Null
        && !response.errors.is_empty()
        && response.errors.iter().all(|e| e.path.is_empty())
}

/// `PERSISTED_QUERY_NOT_FOUND` is a step of the persisted-query protocol (the client resends the
/// text), not a mistake: 200 like Apollo's servers, so browsers log no failed request for it.
fn is_persisted_query_miss(response: &async_graphql::Response) -> bool {
    response.errors.iter().any(|e| {
        e.extensions
            .as_ref()
            .and_then(|x| x.get("code"))
            .is_some_and(|c| *c == Value::from(code::PERSISTED_QUERY_NOT_FOUND))
    })
}

/// One response as the client sees it: without `data` for a request error.
#[derive(serde::Serialize)]
struct Body<'a> {
    #[serde(skip_serializing_if = "Option::is_none")]
    data: Option<&'a Value>,
    #[serde(skip_serializing_if = "std::collections::BTreeMap::is_empty")]
    extensions: &'a std::collections::BTreeMap<String, Value>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    errors: &'a Vec<async_graphql::ServerError>,
}

fn body_of(response: &async_graphql::Response) -> Body<'_> {
    Body {
        data: (!is_request_error(response)).then_some(&response.data),
        extensions: &response.extensions,
        errors: &response.errors,
    }
}

/// Whether a response may carry its cache hints (`Cache-Control`) for shared caches: only an
/// anonymous `GET` (a POST is not cached, and a signed-in viewer's answer is theirs alone).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub(super) enum Caching {
    Never,
    AnonymousGet,
}

/// The HTTP response of a GraphQL response (or batch) for a client that accepts `media`,
/// with the headers the resolvers set (`Set-Cookie`) and, where `caching` allows, the cache hint
/// of a successful one.
pub(super) fn respond(media: MediaType, response: BatchResponse, caching: Caching) -> Response {
    let (status, headers, body) = render(media, &response, caching);
    into_response(status, headers, body)
}

pub(super) fn into_response(status: StatusCode, headers: HeaderMap, body: Bytes) -> Response {
    let mut http = Response::new(axum::body::Body::from(body));
    *http.status_mut() = status;
    *http.headers_mut() = headers;
    http
}

/// `respond`'s parts: the status, the headers and the body.
pub(super) fn render(
    media: MediaType,
    response: &BatchResponse,
    caching: Caching,
) -> (StatusCode, HeaderMap, Bytes) {
    let status = match (response, media) {
        (BatchResponse::Single(single), MediaType::GraphqlResponseJson)
            if is_request_error(single) && !is_persisted_query_miss(single) =>
        {
            StatusCode::BAD_REQUEST
        }
        _ => StatusCode::OK,
    };
    // Written once, straight to bytes: this is every POST's answer.
    let body = match response {
        BatchResponse::Single(single) => serde_json::to_vec(&body_of(single)),
        BatchResponse::Batch(all) => {
            serde_json::to_vec(&all.iter().map(body_of).collect::<Vec<_>>())
        }
    }
    .unwrap_or_default();
    let mut headers = HeaderMap::new();
    let content_type = match media {
        MediaType::Json => JSON,
        MediaType::GraphqlResponseJson => GRAPHQL_RESPONSE_JSON,
    };
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    if caching == Caching::AnonymousGet {
        // The answer differs by type, and a cache must not give it to a signed-in viewer.
        headers.insert(
            header::VARY,
            HeaderValue::from_static("Accept, Authorization, Cookie"),
        );
        if response.is_ok()
            && let Some(cache_control) = response.cache_control().value()
            && let Ok(value) = HeaderValue::from_str(&format!("public, {cache_control}"))
        {
            headers.insert(header::CACHE_CONTROL, value);
        }
    }
    headers.extend(response.http_headers());
    (status, headers, Bytes::from(body))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn accepting(accept: Option<&str>) -> MediaType {
        let mut headers = HeaderMap::new();
        if let Some(accept) = accept {
            headers.insert(header::ACCEPT, HeaderValue::from_str(accept).unwrap());
        }
        MediaType::accepted(&headers)
    }

    #[test]
    fn the_client_s_preference_decides_the_type() {
        use MediaType::*;
        for (accept, media) in [
            (None, Json),
            (Some("*/*"), Json),
            (Some("application/json"), Json),
            (Some("text/html"), Json),
            (
                Some("application/graphql-response+json"),
                GraphqlResponseJson,
            ),
            (
                Some("application/graphql-response+json, application/json;q=0.9"),
                GraphqlResponseJson,
            ),
            (
                Some("application/json, application/graphql-response+json;q=0.5"),
                Json,
            ),
            (Some("application/graphql-response+json;q=0, */*"), Json),
            (
                Some(
                    "application/graphql-response+json, application/graphql+json, application/json, text/event-stream, multipart/mixed",
                ),
                GraphqlResponseJson,
            ),
        ] {
            assert_eq!(accepting(accept), media, "{accept:?}");
        }
    }
}
