//! Bounded Streamable HTTP sessions: rmcp's [`LocalSessionManager`] with a cap on live sessions
//! (when a new one would pass it, the one idle longest is closed first) and a shorter idle
//! timeout than rmcp's 300 s. Each session holds a server instance and its channels (about
//! 0.6 MB), so abandoned sessions must not pile up.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use futures_util::Stream;
use rmcp::model::{ClientJsonRpcMessage, ServerJsonRpcMessage};
use rmcp::transport::streamable_http_server::session::local::{
    LocalSessionManager, LocalSessionManagerError, SessionConfig,
};
use rmcp::transport::streamable_http_server::session::{
    EventStore, RestoreOutcome, ServerSseMessage, SessionId, SessionManager,
};

/// Live sessions by default.
pub const DEFAULT_MAX_SESSIONS: usize = 64;
/// A session with no activity for this long is closed by default.
pub const DEFAULT_IDLE: Duration = Duration::from_secs(120);

/// [`LocalSessionManager`] with at most `max` live sessions, least recently used evicted first.
#[derive(Debug)]
pub struct CappedSessions {
    inner: LocalSessionManager,
    max: usize,
    last_used: std::sync::Mutex<HashMap<SessionId, Instant>>,
}

impl CappedSessions {
    /// At most `max` sessions (at least 1), each closed after `idle` without activity.
    pub fn new(max: usize, idle: Duration) -> Self {
        let mut inner = LocalSessionManager::default();
        inner.session_config = {
            let mut config = SessionConfig::default();
            config.keep_alive = Some(idle);
            config
        };
        CappedSessions {
            inner,
            max: max.max(1),
            last_used: std::sync::Mutex::new(HashMap::new()),
        }
    }

    fn touch(&self, id: &SessionId) {
        if let Ok(mut used) = self.last_used.lock() {
            used.insert(id.clone(), Instant::now());
        }
    }

    /// Closes the least recently used sessions until a new one fits under the cap.
    async fn make_room(&self) {
        loop {
            let live: Vec<SessionId> = self.inner.sessions.read().await.keys().cloned().collect();
            if live.len() < self.max {
                return;
            }
            let oldest = {
                let Ok(mut used) = self.last_used.lock() else {
                    return;
                };
                used.retain(|id, _| live.contains(id));
                live.iter()
                    .min_by_key(|id| used.get(*id).copied().unwrap_or(Instant::now()))
                    .cloned()
            };
            let Some(oldest) = oldest else { return };
            tracing::debug!(session = %oldest, max = self.max, "session cap reached: closing the session idle longest");
            if let Ok(mut used) = self.last_used.lock() {
                used.remove(&oldest);
            }
            let _ = self.inner.close_session(&oldest).await;
            // A session that failed to close is still removed from the map by close_session.
        }
    }
}

impl SessionManager for CappedSessions {
    type Error = LocalSessionManagerError;
    type Transport = <LocalSessionManager as SessionManager>::Transport;

    async fn create_session(&self) -> Result<(SessionId, Self::Transport), Self::Error> {
        self.make_room().await;
        let (id, transport) = self.inner.create_session().await?;
        self.touch(&id);
        Ok((id, transport))
    }

    async fn initialize_session(
        &self,
        id: &SessionId,
        message: ClientJsonRpcMessage,
    ) -> Result<ServerJsonRpcMessage, Self::Error> {
        self.touch(id);
        self.inner.initialize_session(id, message).await
    }

    async fn has_session(&self, id: &SessionId) -> Result<bool, Self::Error> {
        self.inner.has_session(id).await
    }

    async fn close_session(&self, id: &SessionId) -> Result<(), Self::Error> {
        if let Ok(mut used) = self.last_used.lock() {
            used.remove(id);
        }
        self.inner.close_session(id).await
    }

    async fn create_stream(
        &self,
        id: &SessionId,
        message: ClientJsonRpcMessage,
    ) -> Result<impl Stream<Item = ServerSseMessage> + Send + Sync + 'static, Self::Error> {
        self.touch(id);
        self.inner.create_stream(id, message).await
    }

    async fn accept_message(
        &self,
        id: &SessionId,
        message: ClientJsonRpcMessage,
    ) -> Result<(), Self::Error> {
        self.touch(id);
        self.inner.accept_message(id, message).await
    }

    async fn create_standalone_stream(
        &self,
        id: &SessionId,
    ) -> Result<impl Stream<Item = ServerSseMessage> + Send + Sync + 'static, Self::Error> {
        self.touch(id);
        self.inner.create_standalone_stream(id).await
    }

    async fn resume(
        &self,
        id: &SessionId,
        last_event_id: String,
    ) -> Result<impl Stream<Item = ServerSseMessage> + Send + Sync + 'static, Self::Error> {
        self.touch(id);
        self.inner.resume(id, last_event_id).await
    }

    async fn restore_session(
        &self,
        id: SessionId,
    ) -> Result<RestoreOutcome<Self::Transport>, Self::Error> {
        self.make_room().await;
        self.touch(&id);
        self.inner.restore_session(id).await
    }

    fn event_store(&self) -> Option<Arc<dyn EventStore>> {
        self.inner.event_store()
    }
}
