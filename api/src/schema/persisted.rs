//! Automatic persisted queries (Apollo's protocol): a client sends
//! `extensions.persistedQuery { version: 1, sha256Hash }` and, once the server knows the hash, no
//! query text. An unknown hash is `PERSISTED_QUERY_NOT_FOUND` (message `PersistedQueryNotFound`),
//! and the client sends text and hash together; a hash that is not the text's SHA-256 is
//! `BAD_USER_INPUT`.
//!
//! A text is remembered only once its document has passed the limits and validation (never a
//! junk document), by every replica when Redis is configured (`apq:<hash>`, for a day) and in a
//! bounded in-process cache in front of it. The text found for a hash goes through the same
//! parser, limits and validation as any other (`documents`), so a persisted query is never a way
//! around them.

use std::{
    sync::{Arc, Mutex},
    time::Duration,
};

use async_graphql::{
    Request, ServerError, ServerResult, ValidationResult,
    extensions::{
        Extension, ExtensionContext, ExtensionFactory, NextPrepareRequest, NextValidation,
    },
};
use serde::Deserialize;
use sha2::{Digest, Sha256};

use crate::{cache::Bounded, error::ApiError, store::LockStore};

/// Texts kept in each process.
const LOCAL_ENTRIES: usize = 1024;
/// How long the shared store keeps a text after it was last sent with its hash.
const SHARED_TTL: Duration = Duration::from_secs(24 * 3600);

#[derive(Deserialize)]
struct PersistedQuery {
    version: i64,
    #[serde(rename = "sha256Hash")]
    sha256_hash: String,
}

/// The persisted queries' store and the extension that reads and fills it.
#[derive(Clone)]
pub struct PersistedQueries {
    local: Bounded<String, Arc<str>>,
    /// The lock store when it is shared by every replica (Redis); `None` in-process.
    shared: Option<Arc<dyn LockStore>>,
}

impl PersistedQueries {
    pub fn new(shared: Option<Arc<dyn LockStore>>) -> Self {
        Self {
            local: Bounded::new(LOCAL_ENTRIES),
            shared,
        }
    }

    /// The text of a known hash.
    pub async fn text(&self, hash: &str) -> Option<Arc<str>> {
        if let Some(text) = self.local.get(hash) {
            return Some(text);
        }
        let shared = self.shared.as_ref()?;
        match shared.holder(&key(hash)).await {
            Ok(Some(text)) => {
                let text: Arc<str> = Arc::from(text);
                self.local.insert(hash.to_owned(), text.clone());
                Some(text)
            }
            Ok(None) => None,
            Err(err) => {
                // The client resends the text: a lost store costs a round trip, not a failure.
                tracing::warn!(error = %err, "persisted query store unavailable");
                None
            }
        }
    }

    async fn remember(&self, hash: String, text: Arc<str>) {
        if let Some(shared) = &self.shared
            && let Err(err) = shared.put(&key(&hash), &text, SHARED_TTL).await
        {
            tracing::warn!(error = %err, "could not share a persisted query");
        }
        self.local.insert(hash, text);
    }

    /// Fills in the text of a request that names a persisted query by hash alone (for `GET`, which
    /// must know whether the text is a query before it runs anything). Leaves other requests as
    /// they are; the extension refuses bad ones.
    pub async fn fill_in(&self, request: &mut Request) {
        if !request.query.is_empty() {
            return;
        }
        if let Some(Ok(persisted)) = request
            .extensions
            .get("persistedQuery")
            .map(|v| PersistedQuery::deserialize(v.clone().into_json().unwrap_or_default()))
            && persisted.version == 1
            && is_sha256_hex(&persisted.sha256_hash)
            && let Some(text) = self.text(&persisted.sha256_hash.to_ascii_lowercase()).await
        {
            request.query = text.to_string();
        }
    }
}

/// A SHA-256 in hex: 64 hex digits. Anything else is refused before it reaches a store.
fn is_sha256_hex(hash: &str) -> bool {
    hash.len() == 64 && hash.bytes().all(|b| b.is_ascii_hexdigit())
}

fn key(hash: &str) -> String {
    format!("apq:{hash}")
}

fn refused(err: ApiError) -> ServerError {
    let err = async_graphql::Error::from(err);
    let mut refused = ServerError::new(err.message, None);
    refused.extensions = err.extensions;
    refused
}

impl ExtensionFactory for PersistedQueries {
    fn create(&self) -> Arc<dyn Extension> {
        Arc::new(Lookup {
            store: self.clone(),
            to_remember: Mutex::new(None),
        })
    }
}

/// One request's view: the text to remember once validation passes.
struct Lookup {
    store: PersistedQueries,
    to_remember: Mutex<Option<(String, Arc<str>)>>,
}

#[async_trait::async_trait]
impl Extension for Lookup {
    async fn prepare_request(
        &self,
        ctx: &ExtensionContext<'_>,
        mut request: Request,
        next: NextPrepareRequest<'_>,
    ) -> ServerResult<Request> {
        let Some(value) = request.extensions.remove("persistedQuery") else {
            return next.run(ctx, request).await;
        };
        let bad = |message: &str| refused(ApiError::field("persistedQuery", message));
        let persisted: PersistedQuery =
            serde_json::from_value(value.into_json().unwrap_or_default())
                .map_err(|_| bad("must be { version: 1, sha256Hash: \"<hex>\" }"))?;
        if persisted.version != 1 {
            return Err(bad("only version 1 is supported"));
        }
        if !is_sha256_hex(&persisted.sha256_hash) {
            return Err(bad("sha256Hash must be 64 hexadecimal digits"));
        }
        let hash = persisted.sha256_hash.to_ascii_lowercase();
        if request.query.is_empty() {
            match self.store.text(&hash).await {
                Some(text) => request.query = text.to_string(),
                None => return Err(refused(ApiError::PersistedQueryNotFound)),
            }
        } else {
            if hex::encode(Sha256::digest(request.query.as_bytes())) != hash {
                return Err(bad("sha256Hash is not the SHA-256 of the query"));
            }
            if let Ok(mut slot) = self.to_remember.lock() {
                *slot = Some((hash, Arc::from(request.query.as_str())));
            }
        }
        next.run(ctx, request).await
    }

    async fn validation(
        &self,
        ctx: &ExtensionContext<'_>,
        next: NextValidation<'_>,
    ) -> Result<ValidationResult, Vec<ServerError>> {
        let result = next.run(ctx).await?;
        let remember = self.to_remember.lock().ok().and_then(|mut s| s.take());
        if let Some((hash, text)) = remember {
            self.store.remember(hash, text).await;
        }
        Ok(result)
    }
}
