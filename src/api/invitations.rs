//! Invitations to the instance: `clerk.invitations()` — `/invitations` as `@clerk/backend`'s
//! `InvitationAPI` calls it.

use serde::Serialize;
use serde_json::Value;

use super::common::{body, Query};
use super::models::Invitation;
use super::{segment, ApiError, ClerkClient, ListParams, Method, Page};

impl ClerkClient {
    /// Invitations to the instance.
    pub fn invitations(&self) -> Invitations<'_> {
        Invitations { client: self }
    }
}

/// Invitations to the instance (`/invitations`).
#[derive(Debug, Clone, Copy)]
pub struct Invitations<'a> {
    client: &'a ClerkClient,
}

/// A new invitation (`POST /invitations`); only the fields given are sent.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct CreateInvitationParams {
    /// Invited address (required).
    pub email_address: Option<String>,
    /// Where the link leads.
    pub redirect_url: Option<String>,
    /// Public metadata given to the user on sign-up.
    pub public_metadata: Option<Value>,
    /// Whether Clerk sends the email (default `true`).
    pub notify: Option<bool>,
    /// Invites even an address already invited or signed up.
    pub ignore_existing: Option<bool>,
    /// Validity in days.
    pub expires_in_days: Option<i64>,
    /// Email template (`invitation`, `waitlist_invitation`).
    pub template_slug: Option<String>,
}

/// Filters of an invitation list (`GET /invitations`).
#[derive(Debug, Clone, Default, PartialEq)]
#[must_use]
pub struct InvitationListParams {
    /// Page size and offset.
    pub page: ListParams,
    /// Only this status (`pending`, `accepted`, `revoked`, `expired`).
    pub status: Option<String>,
    /// Free-text search (email address).
    pub query: Option<String>,
}

impl Invitations<'_> {
    /// `POST /invitations`.
    pub async fn create(&self, params: &CreateInvitationParams) -> Result<Invitation, ApiError> {
        self.client
            .send(Method::Post, "/invitations", &[], body(params))
            .await
    }

    /// `GET /invitations?paginated=true` (as `getInvitationList`).
    pub async fn list(&self, params: &InvitationListParams) -> Result<Page<Invitation>, ApiError> {
        let mut q = Query::default();
        q.page(&params.page)
            .str("status", &params.status)
            .str("query", &params.query)
            .flag("paginated", Some(true));
        self.client.list_page("/invitations", &q.0).await
    }

    /// `POST /invitations/{id}/revoke`.
    pub async fn revoke(&self, invitation_id: &str) -> Result<Invitation, ApiError> {
        let path = format!("/invitations/{}/revoke", segment(invitation_id));
        self.client.send(Method::Post, &path, &[], None).await
    }
}
