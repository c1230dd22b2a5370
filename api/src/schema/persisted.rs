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

use std::{sync::Arc, time::Duration};

use async_graphql::{Request, ServerError, ServerResult};
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

/// The persisted queries' store.
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
    /// they are; `prepare` refuses bad ones.
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

/// An error of ours as a request error (one without a path), its code kept.
pub(crate) fn refused(err: ApiError) -> ServerError {
    let err = async_graphql::Error::from(err);
    let mut refused = ServerError::new(err.message, None);
    refused.extensions = err.extensions;
    refused
}

impl PersistedQueries {
    /// A request's `persistedQuery`: an unknown hash alone, a bad one, or a hash that is not its
    /// text's is refused; a hash alone that is known gets its text. A text sent with its hash is
    /// to be remembered once it has run ([`ToRemember`]).
    pub async fn prepare(&self, request: &mut Request) -> ServerResult<Option<ToRemember>> {
        let Some(value) = request.extensions.remove("persistedQuery") else {
            return Ok(None);
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
            match self.text(&hash).await {
                Some(text) => request.query = text.to_string(),
                None => return Err(refused(ApiError::PersistedQueryNotFound)),
            }
        } else {
            if hex::encode(Sha256::digest(request.query.as_bytes())) != hash {
                return Err(bad("sha256Hash is not the SHA-256 of the query"));
            }
            return Ok(Some(ToRemember {
                hash,
                text: Arc::from(request.query.as_str()),
            }));
        }
        Ok(None)
    }
}

/// A text sent with its hash, remembered once its document has passed validation.
pub struct ToRemember {
    hash: String,
    text: Arc<str>,
}

impl ToRemember {
    pub async fn remember(self, store: &PersistedQueries) {
        store.remember(self.hash, self.text).await;
    }
}
