//! The one way into the schema. Every operation, whatever carries it (POST, GET, SSE, a
//! WebSocket), goes through the gateway. In this order it:
//! 1. gives an operation on a WebSocket the socket's credential and one of its places;
//! 2. resolves a persisted query's text;
//! 3. parses the document and holds it to the limits (`documents`), then hands it to
//!    async-graphql, which validates it and runs it;
//! 4. gives every error a code;
//! 5. once a document has passed validation, keeps it and remembers its persisted text.
//!
//! This is done around the schema, not by async-graphql extensions. With even one extension
//! registered, async-graphql runs every field and every list item through the extension chain:
//! one boxed future per extension, and a look-up of the field's type in the registry. That was
//! most of the cost of a page of twenty tickets. With none registered, a field is resolved
//! directly.
//!
//! Step 5 has no hook outside an extension, so it goes by the answer: an operation that ran
//! answers `data` (an object), and only a valid document runs. A valid query whose non-null root
//! field failed also answers no data. Its document is then only parsed again next time, and its
//! persisted text is sent again by the client, as the protocol allows.

use std::{any::TypeId, sync::Arc};

use async_graphql::{
    Data, Executor, Request, Response, ServerError, Value,
    futures_util::stream::{self, BoxStream, StreamExt},
};

use super::{
    AppSchema,
    documents::{Documents, ToKeep},
    persisted::{PersistedQueries, ToRemember, refused},
    with_codes,
};
use crate::{
    auth::sockets::SocketToken,
    metrics::Metrics,
    subscriptions::{Slot, SubscriptionSlots},
};

#[derive(Clone)]
pub struct Gateway(Arc<Inner>);

struct Inner {
    schema: AppSchema,
    documents: Documents,
    persisted: PersistedQueries,
    metrics: Metrics,
}

/// What an operation leaves to do once it has run.
struct Prepared {
    keep: Option<ToKeep>,
    remember: Option<ToRemember>,
}

/// An operation ready to run, what is left to do after, and the WebSocket place it holds.
type Ready = (Request, Prepared, Option<Slot>);

impl Gateway {
    /// `schema` must be built with no extension.
    pub fn new(
        schema: AppSchema,
        documents: Documents,
        persisted: PersistedQueries,
        metrics: Metrics,
    ) -> Self {
        Self(Arc::new(Inner {
            schema,
            documents,
            persisted,
            metrics,
        }))
    }

    pub fn schema(&self) -> &AppSchema {
        &self.0.schema
    }

    /// Steps 1 to 3, or the error that refuses the operation.
    async fn prepare(
        &self,
        mut request: Request,
        session: Option<&Data>,
    ) -> Result<Ready, ServerError> {
        let mut slot = None;
        if let Some(session) = session {
            if let Some(token) = session_data::<SocketToken>(session) {
                request = token.credential_for(request);
            }
            if let Some(slots) = session_data::<SubscriptionSlots>(session) {
                match slots.take() {
                    Ok(taken) => slot = Some(taken),
                    Err(err) => return Err(refused(err)),
                }
            }
        }
        let remember = self.0.persisted.prepare(&mut request).await?;
        let (document, keep) = self.0.documents.parse(&request.query, &request.variables)?;
        request.set_parsed_query(document);
        Ok((request, Prepared { keep, remember }, slot))
    }

    /// Step 5 for an operation that answered `response`.
    async fn ran(&self, prepared: Prepared, response: &Response) {
        if !matches!(response.data, Value::Object(_)) {
            return;
        }
        if let Some(keep) = prepared.keep {
            self.0.documents.keep_valid(keep);
        }
        if let Some(remember) = prepared.remember {
            remember.remember(&self.0.persisted).await;
        }
    }

    /// Step 4.
    fn answer(&self, response: Response) -> Response {
        with_codes(&self.0.metrics, response)
    }

    fn refuse(&self, err: ServerError) -> Response {
        self.answer(Response::from_errors(vec![err]))
    }

    /// Runs one operation (any type but a subscription, which needs a stream) to its answer.
    pub async fn execute(&self, request: Request) -> Response {
        let (request, prepared, _) = match self.prepare(request, None).await {
            Ok(ready) => ready,
            Err(err) => return self.refuse(err),
        };
        let response = self.0.schema.execute(request).await;
        self.ran(prepared, &response).await;
        self.answer(response)
    }

    /// Runs one operation as a stream of answers (one for a query or mutation), with the
    /// WebSocket's data when it comes over one. The operation's place on the socket is held
    /// until the stream is dropped.
    pub fn execute_stream(
        &self,
        request: Request,
        session: Option<Arc<Data>>,
    ) -> BoxStream<'static, Response> {
        let this = self.clone();
        stream::once(async move {
            let (request, prepared, slot) = match this.prepare(request, session.as_deref()).await {
                Ok(ready) => ready,
                Err(err) => {
                    let refused = this.refuse(err);
                    return stream::once(async { refused }).boxed();
                }
            };
            let answers = this
                .0
                .schema
                .execute_stream_with_session_data(request, session.unwrap_or_default());
            let mut prepared = Some(prepared);
            answers
                .then(move |response| {
                    // The place is the stream's for as long as it lives.
                    let _held = &slot;
                    let this = this.clone();
                    // The first answer settles step 5.
                    let first = prepared.take();
                    async move {
                        if let Some(first) = first {
                            this.ran(first, &response).await;
                        }
                        this.answer(response)
                    }
                })
                .boxed()
        })
        .flatten()
        .boxed()
    }
}

impl Executor for Gateway {
    async fn execute(&self, request: Request) -> Response {
        Gateway::execute(self, request).await
    }

    fn execute_stream(
        &self,
        request: Request,
        session_data: Option<Arc<Data>>,
    ) -> BoxStream<'static, Response> {
        Gateway::execute_stream(self, request, session_data)
    }
}

fn session_data<T: 'static>(session: &Data) -> Option<&T> {
    session
        .get(&TypeId::of::<T>())
        .and_then(|d| d.downcast_ref::<T>())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::schema::documents::DocumentLimits;

    fn gateway() -> (Gateway, Documents) {
        let documents = Documents::new(DocumentLimits {
            max_bytes: 8192,
            max_selections: 2000,
            max_root_fields: 10,
            max_representations: 100,
        });
        let gateway = Gateway::new(
            super::super::builder().finish(),
            documents.clone(),
            PersistedQueries::new(None),
            Metrics::new(),
        );
        (gateway, documents)
    }

    /// The document cache keeps what passed validation only: junk that parses but does not
    /// validate cannot push the common documents out.
    #[tokio::test]
    async fn only_documents_that_ran_are_kept() {
        let (gateway, documents) = gateway();
        for n in 0..5 {
            let response = gateway
                .execute(Request::new(format!("{{ nope{n} }}")))
                .await;
            assert!(response.is_err());
        }
        assert_eq!(
            documents.kept(),
            0,
            "documents that failed validation were kept"
        );
        let response = gateway.execute(Request::new("{ __typename }")).await;
        assert!(response.is_ok(), "{:?}", response.errors);
        assert_eq!(documents.kept(), 1);
        let again = gateway.execute(Request::new("{ __typename }")).await;
        assert_eq!(again.data, response.data);
        let streamed: Vec<Response> = gateway
            .execute_stream(Request::new("{ __typename }"), None)
            .collect()
            .await;
        assert_eq!(streamed.len(), 1);
        assert_eq!(streamed[0].data, response.data);
    }

    /// async-graphql's own errors (here the parser's, the limits' and validation's) get a code,
    /// on a stream as in one answer.
    #[tokio::test]
    async fn every_error_has_a_code() {
        let (gateway, _) = gateway();
        let code = |response: &Response| {
            response.errors[0]
                .extensions
                .as_ref()
                .and_then(|e| e.get("code"))
                .cloned()
        };
        let bad_input = Some(Value::from(crate::error::code::BAD_USER_INPUT));
        for query in [
            "{ unclosed",
            "{ nope }",
            &format!("{{ {} }}", "a: __typename ".repeat(11)),
        ] {
            let response = gateway.execute(Request::new(query)).await;
            assert_eq!(code(&response), bad_input, "{query}: {:?}", response.errors);
            let streamed: Vec<Response> = gateway
                .execute_stream(Request::new(query), None)
                .collect()
                .await;
            assert_eq!(code(&streamed[0]), bad_input, "{query} streamed");
        }
    }

    /// An operation on a WebSocket holds one of its places until its stream ends; one more than
    /// the socket's places is refused with a code.
    #[tokio::test]
    async fn socket_operations_hold_their_places() {
        let (gateway, _) = gateway();
        let mut data = Data::default();
        data.insert(SubscriptionSlots::new(1));
        let session = Some(Arc::new(data));
        let first = gateway.execute_stream(Request::new("{ __typename }"), session.clone());
        let mut first = first;
        let answer = first.next().await.expect("an answer");
        assert!(answer.is_ok(), "{:?}", answer.errors);
        let refused: Vec<Response> = gateway
            .execute_stream(Request::new("{ __typename }"), session.clone())
            .collect()
            .await;
        assert!(
            refused[0].is_err(),
            "a second operation took a place the first holds"
        );
        assert!(
            refused[0].errors[0]
                .extensions
                .as_ref()
                .and_then(|e| e.get("code"))
                .is_some()
        );
        drop(first);
        let again: Vec<Response> = gateway
            .execute_stream(Request::new("{ __typename }"), session)
            .collect()
            .await;
        assert!(
            again[0].is_ok(),
            "the place was not given back: {:?}",
            again[0].errors
        );
    }
}
