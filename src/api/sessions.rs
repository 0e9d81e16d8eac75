//! Sessions: `clerk.sessions()` — `/sessions` as `@clerk/backend`'s `SessionAPI` calls it.

use futures_util::stream::Stream;

use super::common::{paginate, Query};
use super::models::Session;
use super::{segment, ApiError, ClerkClient, ListParams, Method, Page};

impl ClerkClient {
    /// Sessions of the instance.
    pub fn sessions(&self) -> Sessions<'_> {
        Sessions { client: self }
    }
}

/// Sessions (`/sessions`).
#[derive(Debug, Clone, Copy)]
pub struct Sessions<'a> {
    client: &'a ClerkClient,
}

/// Filters of a session list (`GET /sessions`): Clerk requires a client or a user.
#[derive(Debug, Clone, Default, PartialEq)]
#[must_use]
pub struct SessionListParams {
    /// Page size and offset.
    pub page: ListParams,
    /// Sessions of this client.
    pub client_id: Option<String>,
    /// Sessions of this user.
    pub user_id: Option<String>,
    /// Only this status (`active`, …).
    pub status: Option<String>,
}

impl SessionListParams {
    /// Sessions of `user_id`.
    pub fn user(user_id: impl Into<String>) -> Self {
        SessionListParams {
            user_id: Some(user_id.into()),
            ..SessionListParams::default()
        }
    }
    /// Sessions of `client_id`.
    pub fn client(client_id: impl Into<String>) -> Self {
        SessionListParams {
            client_id: Some(client_id.into()),
            ..SessionListParams::default()
        }
    }
    /// Only this status.
    pub fn status(mut self, v: impl Into<String>) -> Self {
        self.status = Some(v.into());
        self
    }
    /// Page size.
    pub fn limit(mut self, limit: u32) -> Self {
        self.page.limit = Some(limit);
        self
    }
    /// Items skipped.
    pub fn offset(mut self, offset: u32) -> Self {
        self.page.offset = Some(offset);
        self
    }
}

impl Sessions<'_> {
    /// `GET /sessions/{id}`.
    pub async fn get(&self, session_id: &str) -> Result<Session, ApiError> {
        let path = format!("/sessions/{}", segment(session_id));
        self.client.send(Method::Get, &path, &[], None).await
    }

    /// `GET /sessions?paginated=true` (as `getSessionList`).
    pub async fn list(&self, params: &SessionListParams) -> Result<Page<Session>, ApiError> {
        let mut q = Query::default();
        q.str("client_id", &params.client_id)
            .str("user_id", &params.user_id)
            .str("status", &params.status)
            .page(&params.page)
            .flag("paginated", Some(true));
        self.client.list_page("/sessions", &q.0).await
    }

    /// Every session matching `params`, page after page.
    pub fn list_all(
        &self,
        params: SessionListParams,
    ) -> impl Stream<Item = Result<Session, ApiError>> + Send + 'static {
        let client = self.client.clone();
        paginate(params.page, move |page| {
            let client = client.clone();
            let params = SessionListParams {
                page,
                ..params.clone()
            };
            async move { client.sessions().list(&params).await }
        })
    }

    /// `POST /sessions/{id}/revoke`.
    pub async fn revoke(&self, session_id: &str) -> Result<Session, ApiError> {
        let path = format!("/sessions/{}/revoke", segment(session_id));
        self.client.send(Method::Post, &path, &[], None).await
    }
}
