//! Accounts and sessions.
//!
//! Invariants:
//! - emails are unique case-insensitively (stored lower-case); passwords are kept only as
//!   argon2id hashes, computed off the async runtime;
//! - a token is honoured only while its session row exists, is unexpired and not revoked, so
//!   sign-out holds across replicas and restarts; a forged, `alg: none` or expired token is
//!   refused before the database is asked. Live sessions are remembered in the lock store (shared
//!   by the replicas) for at most 5 minutes and never past their expiry; a revocation writes a
//!   tombstone there before it touches the database, so it holds at once everywhere;
//! - an unknown email and a wrong password get the same error; after 10 failures for one email
//!   within 15 minutes every attempt for it is `RATE_LIMITED` until the window passes.

pub mod model;
pub mod password;
pub mod repo;
pub mod resolvers;
pub mod service;
pub mod session_cache;
pub mod sockets;
pub mod token;
pub mod types;

use std::sync::{
    Arc,
    atomic::{AtomicBool, Ordering},
};

use async_graphql::Context;
use uuid::Uuid;

use crate::error::{ApiError, ApiResult};
pub use service::AuthService;

/// The signed-in user of a request or WebSocket connection.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Viewer {
    pub user_id: Uuid,
    pub session_id: Uuid,
}

/// The credential an operation carried, checked at most once per operation, and only when a
/// resolver asks who the viewer is (anonymous reads cost no session lookup). A WebSocket's
/// operations each get their own (`sockets::SocketToken::credential_for`), so a socket's session is checked
/// again for every query, mutation and subscription it runs.
#[derive(Clone, Default)]
pub struct Credential {
    token: Option<String>,
    resolved: Arc<tokio::sync::OnceCell<Option<Viewer>>>,
    /// Set by `signOut`: the operations after it in the same document or batch run signed out.
    signed_out: Arc<AtomicBool>,
}

impl Credential {
    pub fn new(token: Option<String>) -> Self {
        Self {
            token,
            resolved: Arc::default(),
            signed_out: Arc::default(),
        }
    }

    pub async fn viewer(&self, auth: &AuthService) -> ApiResult<Option<Viewer>> {
        if self.signed_out.load(Ordering::Acquire) {
            return Ok(None);
        }
        self.resolved
            .get_or_try_init(|| async {
                match &self.token {
                    Some(token) => auth.authenticate(token).await,
                    None => Ok(None),
                }
            })
            .await
            .copied()
    }

    /// From now on this credential stands for nobody.
    pub fn sign_out(&self) {
        self.signed_out.store(true, Ordering::Release);
    }
}

/// The viewer, if the request carries a valid session.
pub async fn viewer(ctx: &Context<'_>) -> ApiResult<Option<Viewer>> {
    let Some(credential) = ctx.data_opt::<Credential>() else {
        return Ok(None);
    };
    credential.viewer(ctx.data_unchecked::<AuthService>()).await
}

/// The viewer, or `UNAUTHENTICATED`. A subscription checks it when it starts; its stream ends
/// when the session is revoked, and its socket is closed.
pub async fn require_viewer(ctx: &Context<'_>) -> ApiResult<Viewer> {
    viewer(ctx).await?.ok_or_else(ApiError::unauthenticated)
}

/// Reads the session token from `Authorization: Bearer …` or else the `session` cookie.
pub fn token_from_headers(headers: &axum::http::HeaderMap) -> Option<String> {
    if let Some(value) = headers
        .get(axum::http::header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        && let Some(token) = bearer(value)
    {
        return Some(token);
    }
    headers
        .get_all(axum::http::header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(cookie::Cookie::split_parse)
        .filter_map(Result::ok)
        .find(|c| c.name() == service::SESSION_COOKIE)
        .map(|c| c.value().to_owned())
        .filter(|v| !v.is_empty())
}

/// The token of a `Bearer <token>` value (scheme case-insensitive).
pub fn bearer(value: &str) -> Option<String> {
    let (scheme, token) = value.trim().split_once(' ')?;
    let token = token.trim();
    (scheme.eq_ignore_ascii_case("bearer") && !token.is_empty()).then(|| token.to_owned())
}
