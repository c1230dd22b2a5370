//! GraphQL resolvers of accounts: authenticate, call the service, map the result.

use async_graphql::{Context, ID, Object, Subscription};
use futures_util::Stream;
use uuid::Uuid;

use super::{
    AuthService, require_viewer,
    service::NewSession,
    types::{AuthPayload, User},
    viewer,
};
use crate::{error::to_completion, outbox::EventPayload, subscriptions};

#[derive(Default)]
pub struct AuthQuery;

#[Object]
impl AuthQuery {
    /// The signed-in user; null when signed out.
    #[graphql(cache_control(no_cache))]
    async fn me(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<User>> {
        let Some(viewer) = viewer(ctx).await? else {
            return Ok(None);
        };
        Ok(ctx
            .data_unchecked::<AuthService>()
            .user(viewer.user_id)
            .await?
            .map(User::from))
    }

    /// Federation entity resolver. A user's email is private, so only the viewer resolves.
    #[graphql(entity)]
    async fn find_user_by_id(
        &self,
        ctx: &Context<'_>,
        id: ID,
    ) -> async_graphql::Result<Option<User>> {
        let Some(viewer) = viewer(ctx).await? else {
            return Ok(None);
        };
        match Uuid::parse_str(&id) {
            Ok(id) if id == viewer.user_id => Ok(ctx
                .data_unchecked::<AuthService>()
                .user(id)
                .await?
                .map(User::from)),
            _ => Ok(None),
        }
    }
}

#[derive(Default)]
pub struct AuthMutation;

#[Object]
impl AuthMutation {
    /// Creates an account and signs it in.
    async fn sign_up(
        &self,
        ctx: &Context<'_>,
        email: String,
        password: String,
    ) -> async_graphql::Result<AuthPayload> {
        let session = ctx
            .data_unchecked::<AuthService>()
            .sign_up(&email, &password)
            .await?;
        Ok(payload(ctx, session))
    }

    /// Signs in with email and password.
    async fn sign_in(
        &self,
        ctx: &Context<'_>,
        email: String,
        password: String,
    ) -> async_graphql::Result<AuthPayload> {
        let session = ctx
            .data_unchecked::<AuthService>()
            .sign_in(&email, &password)
            .await?;
        Ok(payload(ctx, session))
    }

    /// Revokes the current session and clears the cookie; false when there was no session.
    async fn sign_out(&self, ctx: &Context<'_>) -> async_graphql::Result<bool> {
        let auth = ctx.data_unchecked::<AuthService>();
        let viewer = viewer(ctx).await?;
        let signing_out = auth.clone();
        let signed_out = to_completion(async move { signing_out.sign_out(viewer).await }).await?;
        if let Some(credential) = ctx.data_opt::<crate::auth::Credential>() {
            credential.sign_out();
        }
        ctx.append_http_header(axum::http::header::SET_COOKIE, auth.clear_cookie());
        Ok(signed_out)
    }

    /// Changes the password; every other session of the account is signed out.
    async fn change_password(
        &self,
        ctx: &Context<'_>,
        current_password: String,
        new_password: String,
    ) -> async_graphql::Result<User> {
        let viewer = require_viewer(ctx).await?;
        let auth = ctx.data_unchecked::<AuthService>().clone();
        Ok(to_completion(async move {
            auth.change_password(viewer, &current_password, &new_password)
                .await
        })
        .await?
        .into())
    }
}

/// Sets the session cookie and returns the token with the user.
fn payload(ctx: &Context<'_>, session: NewSession) -> AuthPayload {
    ctx.append_http_header(axum::http::header::SET_COOKIE, session.cookie);
    AuthPayload {
        user: session.user.into(),
        token: session.token,
    }
}

#[derive(Default)]
pub struct AuthSubscription;

#[Subscription]
impl AuthSubscription {
    /// Changes to the viewer's own account.
    async fn user_updated(
        &self,
        ctx: &Context<'_>,
    ) -> async_graphql::Result<impl Stream<Item = User>> {
        let viewer = require_viewer(ctx).await?;
        subscriptions::events(ctx, viewer, |payload| match payload {
            EventPayload::UserUpdated(user) => Some(User::from(user.clone())),
            _ => None,
        })
    }
}
