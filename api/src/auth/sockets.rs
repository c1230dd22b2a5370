//! Sessions on open WebSockets. A socket's session is not trusted for the socket's life: every
//! operation on it checks the session again (`SocketToken::credential_for`), and the socket is closed (4403)
//! when the session is revoked on any replica (the `SessionsRevoked` event, which every replica
//! hears on the bus) or its token expires.
//!
//! Invariant: from the moment a revocation is committed, the socket runs no operation as that
//! session, its subscriptions deliver no event published after the revocation's (they end at it,
//! `subscriptions::events`), and the socket is closed as soon as its replica hears the event.

use std::{
    collections::HashMap,
    sync::{
        Arc, Mutex,
        atomic::{AtomicU64, Ordering},
    },
};

use async_graphql::Request;
use tokio::sync::broadcast::error::RecvError;
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

use super::Credential;
use crate::{ids::SessionId, outbox::EventPayload, store::EventBus};

/// The token a WebSocket authenticates with (from `connection_init`, or the upgrade request's
/// cookie), kept in the connection's data so each of its operations checks it anew.
#[derive(Clone)]
pub struct SocketToken(pub Option<String>);

impl SocketToken {
    /// Gives an operation on the socket a credential of its own, checked when a resolver asks
    /// (the session cache makes that one Redis read), instead of one checked at
    /// `connection_init` for the socket's life. The gateway calls this for every operation.
    pub fn credential_for(&self, request: Request) -> Request {
        request.data(Credential::new(self.0.clone()))
    }
}

/// Each watched socket's id and what closes it, by session.
type BySession = HashMap<Uuid, Vec<(u64, CancellationToken)>>;

/// The WebSockets of this process, by the session they authenticated with.
#[derive(Clone, Default)]
pub struct LiveSockets {
    inner: Arc<Mutex<BySession>>,
    next_id: Arc<AtomicU64>,
}

/// A socket's place in `LiveSockets`, given up when the socket ends.
pub struct Watched {
    sockets: LiveSockets,
    session: Uuid,
    id: u64,
}

impl Drop for Watched {
    fn drop(&mut self) {
        if let Ok(mut map) = self.sockets.inner.lock()
            && let Some(list) = map.get_mut(&self.session)
        {
            list.retain(|(id, _)| *id != self.id);
            if list.is_empty() {
                map.remove(&self.session);
            }
        }
    }
}

impl LiveSockets {
    /// Cancels `close` when `session` is revoked, until the returned guard is dropped.
    pub fn watch(&self, session: Uuid, close: CancellationToken) -> Watched {
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        if let Ok(mut map) = self.inner.lock() {
            map.entry(session).or_default().push((id, close));
        }
        Watched {
            sockets: self.clone(),
            session,
            id,
        }
    }

    /// Closes every socket of these sessions.
    pub fn revoke(&self, sessions: &[SessionId]) -> usize {
        let Ok(map) = self.inner.lock() else {
            return 0;
        };
        let mut closed = 0;
        for session in sessions {
            for (_, close) in map.get(&session.uuid()).into_iter().flatten() {
                close.cancel();
                closed += 1;
            }
        }
        closed
    }

    /// The `socket-revocations` task: closes the sockets of every session revoked anywhere, as
    /// the bus announces them, until `stop`. After falling behind the bus it cannot know what it
    /// missed, so it closes every watched socket (clients reconnect and authenticate again).
    pub async fn run(self, bus: Arc<dyn EventBus>, stop: CancellationToken) {
        let mut events = bus.subscribe();
        tracing::info!(task = "socket-revocations", "started");
        loop {
            let event = tokio::select! {
                _ = stop.cancelled() => break,
                event = events.recv() => event,
            };
            match event {
                Ok(event) => {
                    if let EventPayload::SessionsRevoked(revoked) = &event.payload {
                        let closed = self.revoke(&revoked.session_ids);
                        if closed > 0 {
                            tracing::info!(
                                task = "socket-revocations",
                                closed,
                                "closed the WebSockets of revoked sessions"
                            );
                        }
                    }
                }
                Err(RecvError::Lagged(skipped)) => {
                    let all: Vec<SessionId> = self
                        .inner
                        .lock()
                        .map(|m| m.keys().copied().map(SessionId::from).collect())
                        .unwrap_or_default();
                    let closed = self.revoke(&all);
                    tracing::warn!(
                        task = "socket-revocations",
                        skipped,
                        closed,
                        "fell behind the bus; closed every signed-in WebSocket"
                    );
                }
                Err(RecvError::Closed) => break,
            }
        }
        tracing::info!(task = "socket-revocations", "stopped");
    }
}
