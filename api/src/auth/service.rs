//! The account rules, independent of GraphQL.

use std::{sync::Arc, time::Duration};

use sea_orm::DatabaseConnection;
use uuid::Uuid;

use super::{
    Viewer,
    model::{SessionsRevoked, User},
    password, repo,
    session_cache::{Cached, SessionCache},
    token::TokenKeys,
    types::{Email, Password},
};
use crate::{
    db,
    error::{ApiError, ApiResult, both},
    outbox::{self, DomainEvent, EventPayload, Events},
    store::LockStore,
};

pub const SESSION_COOKIE: &str = "session";
/// Sign-in attempts for one email allowed within `THROTTLE_WINDOW` before one succeeds.
pub const MAX_FAILED_SIGN_INS: u64 = 10;
pub const THROTTLE_WINDOW: Duration = Duration::from_secs(15 * 60);
const WRONG_CREDENTIALS: &str = "wrong email or password";

#[derive(Clone)]
pub struct AuthService {
    db: DatabaseConnection,
    locks: Arc<dyn LockStore>,
    events: Events,
    keys: TokenKeys,
    session_ttl: Duration,
    cookie_secure: bool,
    sessions: SessionCache,
}

/// A new session: its token and the cookie that carries it.
pub struct NewSession {
    pub user: User,
    pub token: String,
    pub cookie: String,
}

impl AuthService {
    pub fn new(
        db: DatabaseConnection,
        locks: Arc<dyn LockStore>,
        events: Events,
        jwt_secret: &str,
        session_ttl: Duration,
        cookie_secure: bool,
        cache_sessions: bool,
    ) -> Self {
        Self {
            db,
            sessions: SessionCache::new(locks.clone(), cache_sessions),
            locks,
            events,
            keys: TokenKeys::new(jwt_secret),
            session_ttl,
            cookie_secure,
        }
    }

    #[tracing::instrument(name = "auth.sign_up", skip_all)]
    pub async fn sign_up(&self, email: &str, password: &str) -> ApiResult<NewSession> {
        let (email, password) = both(
            Email::parse("email", email),
            Password::parse("password", password),
        )?;
        if repo::find_user_by_email(&self.db, email.as_str())
            .await?
            .is_some()
        {
            return Err(email_taken());
        }
        let hash = password::hash(password.expose().to_owned()).await?;

        let now = db::now();
        let txn = db::begin_write(&self.db).await?;
        let user = match repo::insert_user(&txn, email.as_str(), hash, now).await {
            Ok(user) => user,
            // Two sign-ups raced past the check above: the unique index lets one win.
            Err(err) if db::is_unique_violation(&err) => {
                return Err(email_taken());
            }
            Err(err) => return Err(err.into()),
        };
        let session = repo::insert_session(&txn, user.id, now, now + self.session_ttl).await?;
        let user = User::from(user);
        let created = [DomainEvent::new(
            EventPayload::UserCreated(user.clone()),
            Some(session.user_id.into()),
        )];
        outbox::record(&txn, &created).await?;
        txn.commit().await?;
        self.events.publish_committed(&created).await;
        self.sessions.remember(&session, now).await;
        self.new_session(user, session.user_id, session.id, now)
    }

    #[tracing::instrument(name = "auth.sign_in", skip_all)]
    pub async fn sign_in(&self, email: &str, password: &str) -> ApiResult<NewSession> {
        let email = Email::parse("email", email).map_err(|f| ApiError::BadUserInput(vec![f]))?;
        if password.is_empty() {
            return Err(ApiError::field("password", "must not be empty"));
        }
        let throttle = throttle_key(email.as_str());
        self.count_attempt(&throttle).await?;

        let user = repo::find_user_by_email(&self.db, email.as_str()).await?;
        let ok = password.chars().count() <= super::types::PASSWORD_MAX
            && password::verify(
                password.to_owned(),
                user.as_ref().map(|u| u.password_hash.clone()),
            )
            .await?;
        let Some(user) = user.filter(|_| ok) else {
            return Err(ApiError::Unauthenticated(WRONG_CREDENTIALS.into()));
        };
        self.locks.reset(&throttle).await?;

        let now = db::now();
        let session = repo::insert_session(&self.db, user.id, now, now + self.session_ttl).await?;
        self.sessions.remember(&session, now).await;
        self.new_session(User::from(user), session.user_id, session.id, now)
    }

    /// Revokes the viewer's session; returns whether there was one.
    #[tracing::instrument(name = "auth.sign_out", skip_all, fields(user = ?viewer.map(|v| v.user_id)))]
    pub async fn sign_out(&self, viewer: Option<Viewer>) -> ApiResult<bool> {
        let Some(viewer) = viewer else {
            return Ok(false);
        };
        // Tombstone first: once it is down no replica honours the session from its cache, and if
        // it cannot be written nothing has changed and the client can retry.
        self.sessions.forget(&[viewer.session_id]).await?;
        let txn = db::begin_write(&self.db).await?;
        let revoked = repo::revoke_session(&txn, viewer.session_id, db::now()).await?;
        let events = revoked_event(viewer.user_id, vec![viewer.session_id]);
        outbox::record(&txn, &events).await?;
        txn.commit().await?;
        self.events.publish_committed(&events).await;
        Ok(revoked)
    }

    /// Changes the password after checking the current one, and signs out every other session.
    #[tracing::instrument(name = "auth.change_password", skip_all, fields(user = %viewer.user_id))]
    pub async fn change_password(
        &self,
        viewer: Viewer,
        current: &str,
        new: &str,
    ) -> ApiResult<User> {
        let new =
            Password::parse("newPassword", new).map_err(|f| ApiError::BadUserInput(vec![f]))?;
        let user = repo::find_user(&self.db, viewer.user_id)
            .await?
            .ok_or_else(ApiError::unauthenticated)?;
        let throttle = throttle_key(&user.email);
        self.count_attempt(&throttle).await?;
        let ok = current.chars().count() <= super::types::PASSWORD_MAX
            && password::verify(current.to_owned(), Some(user.password_hash.clone())).await?;
        if !ok {
            return Err(ApiError::field(
                "currentPassword",
                "is not your current password",
            ));
        }
        self.locks.reset(&throttle).await?;
        let hash = password::hash(new.expose().to_owned()).await?;

        let now = db::now();
        let txn = db::begin_write(&self.db).await?;
        let user = repo::set_password(&txn, user, hash, now).await?;
        let revoked =
            repo::revoke_other_sessions(&txn, viewer.user_id, viewer.session_id, now).await?;
        // Before the commit: if the tombstones cannot be written, nothing changes.
        self.sessions.forget(&revoked).await?;
        let user = User::from(user);
        // The revocation first: the sessions it ends hear nothing after it, this update included.
        let mut updated = if revoked.is_empty() {
            Vec::new()
        } else {
            revoked_event(viewer.user_id, revoked)
        };
        updated.push(DomainEvent::new(
            EventPayload::UserUpdated(user.clone()),
            Some(viewer.user_id.into()),
        ));
        outbox::record(&txn, &updated).await?;
        txn.commit().await?;
        self.events.publish_committed(&updated).await;
        Ok(user)
    }

    /// The viewer a token stands for, if it is genuine and its session is live (see
    /// `SessionCache` for how most requests skip the database).
    pub async fn authenticate(&self, token: &str) -> ApiResult<Option<Viewer>> {
        Ok(self
            .authenticate_until(token)
            .await?
            .map(|(viewer, _)| viewer))
    }

    /// The viewer a token stands for, and when the token expires (a WebSocket is closed then).
    pub async fn authenticate_until(
        &self,
        token: &str,
    ) -> ApiResult<Option<(Viewer, chrono::DateTime<chrono::Utc>)>> {
        let Some(claims) = self.keys.verify(token) else {
            return Ok(None);
        };
        let expires_at = chrono::DateTime::from_timestamp(claims.exp, 0).unwrap_or_default();
        match self.sessions.get(claims.jti, claims.sub).await {
            Cached::Live(user_id) => {
                let viewer = Viewer {
                    user_id,
                    session_id: claims.jti,
                };
                return Ok(Some((viewer, expires_at)));
            }
            Cached::Refused => return Ok(None),
            Cached::Unknown => {}
        }
        let now = db::now();
        let Some(session) = repo::live_session(&self.db, claims.jti, now)
            .await?
            .filter(|s| s.user_id == claims.sub)
        else {
            return Ok(None);
        };
        self.sessions.remember(&session, now).await;
        let viewer = Viewer {
            user_id: session.user_id,
            session_id: session.id,
        };
        Ok(Some((viewer, expires_at.min(session.expires_at))))
    }

    pub async fn user(&self, id: Uuid) -> ApiResult<Option<User>> {
        Ok(repo::find_user(&self.db, id).await?.map(User::from))
    }

    /// The `Set-Cookie` value that removes the session cookie.
    pub fn clear_cookie(&self) -> String {
        self.cookie(String::new(), 0)
    }

    fn new_session(
        &self,
        user: User,
        user_id: Uuid,
        session_id: Uuid,
        now: chrono::DateTime<chrono::Utc>,
    ) -> ApiResult<NewSession> {
        let token = self
            .keys
            .issue(user_id, session_id, now, now + self.session_ttl)?;
        let cookie = self.cookie(token.clone(), self.session_ttl.as_secs());
        Ok(NewSession {
            user,
            token,
            cookie,
        })
    }

    fn cookie(&self, value: String, max_age_secs: u64) -> String {
        let max_age = i64::try_from(max_age_secs).unwrap_or(i64::MAX);
        cookie::Cookie::build((SESSION_COOKIE, value))
            .http_only(true)
            .same_site(cookie::SameSite::Lax)
            .secure(self.cookie_secure)
            .path("/")
            .max_age(cookie::time::Duration::seconds(max_age))
            .build()
            .to_string()
    }

    /// Counts an attempt before any work is done for it, so concurrent guesses cannot all pass
    /// a check made before the first of them fails: the 11th attempt in a window is refused
    /// however many run at once. A success closes the window; a failure stays counted.
    async fn count_attempt(&self, key: &str) -> ApiResult<()> {
        let hits = self.locks.hit(key, THROTTLE_WINDOW).await?;
        if hits.count > MAX_FAILED_SIGN_INS {
            return Err(ApiError::RateLimited {
                retry_after_seconds: hits.resets_in.as_secs().max(1),
            });
        }
        Ok(())
    }
}

/// The event that closes revoked sessions' WebSockets on every replica.
fn revoked_event(user_id: Uuid, session_ids: Vec<Uuid>) -> Vec<DomainEvent> {
    vec![DomainEvent::new(
        EventPayload::SessionsRevoked(SessionsRevoked {
            user_id: user_id.into(),
            session_ids: session_ids.into_iter().map(Into::into).collect(),
        }),
        Some(user_id.into()),
    )]
}

fn throttle_key(email: &str) -> String {
    format!("throttle:signin:{email}")
}

fn email_taken() -> ApiError {
    ApiError::Conflict("an account with this email already exists".into())
}
