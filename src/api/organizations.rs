//! Organisations, their memberships and their invitations: `clerk.organizations()`,
//! `clerk.organization_memberships()`, `clerk.organization_invitations()` — as
//! `@clerk/backend`'s `OrganizationAPI` calls them.

use futures_util::stream::Stream;
use serde::Serialize;
use serde_json::Value;

use super::common::{body, paginate, Query};
use super::models::{DeletedObject, Organization, OrganizationInvitation, OrganizationMembership};
use super::{segment, ApiError, ClerkClient, ListParams, Method, Page};

impl ClerkClient {
    /// Organisations of the instance.
    pub fn organizations(&self) -> Organizations<'_> {
        Organizations { client: self }
    }

    /// Memberships of organisations.
    pub fn organization_memberships(&self) -> OrganizationMemberships<'_> {
        OrganizationMemberships { client: self }
    }

    /// Invitations to organisations.
    pub fn organization_invitations(&self) -> OrganizationInvitations<'_> {
        OrganizationInvitations { client: self }
    }
}

/// Organisations (`/organizations`).
#[derive(Debug, Clone, Copy)]
pub struct Organizations<'a> {
    client: &'a ClerkClient,
}

/// Filters of an organisation list (`GET /organizations`).
#[derive(Debug, Clone, Default, PartialEq)]
#[must_use]
pub struct OrganizationListParams {
    /// Page size and offset.
    pub page: ListParams,
    /// Includes `members_count`.
    pub include_members_count: Option<bool>,
    /// Free-text search (name, slug, id).
    pub query: Option<String>,
    /// Order (`-created_at`, `+name`, …).
    pub order_by: Option<String>,
    /// Organisations with any of these members.
    pub user_id: Vec<String>,
    /// Organisations with any of these ids.
    pub organization_id: Vec<String>,
}

impl OrganizationListParams {
    /// No filter, Clerk's default page.
    pub fn new() -> Self {
        OrganizationListParams::default()
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
    /// Includes `members_count`.
    pub fn include_members_count(mut self, v: bool) -> Self {
        self.include_members_count = Some(v);
        self
    }
    /// Free-text search.
    pub fn query(mut self, v: impl Into<String>) -> Self {
        self.query = Some(v.into());
        self
    }
    /// Order.
    pub fn order_by(mut self, v: impl Into<String>) -> Self {
        self.order_by = Some(v.into());
        self
    }
    /// Adds a member's user id.
    pub fn user_id(mut self, v: impl Into<String>) -> Self {
        self.user_id.push(v.into());
        self
    }
    /// Adds an organisation id.
    pub fn organization_id(mut self, v: impl Into<String>) -> Self {
        self.organization_id.push(v.into());
        self
    }
}

/// A new organisation (`POST /organizations`); only the fields given are sent.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct CreateOrganizationParams {
    /// Name (required).
    pub name: Option<String>,
    /// Slug.
    pub slug: Option<String>,
    /// The creator (made admin).
    pub created_by: Option<String>,
    /// Membership limit.
    pub max_allowed_memberships: Option<i64>,
    /// Public metadata.
    pub public_metadata: Option<Value>,
    /// Private metadata.
    pub private_metadata: Option<Value>,
}

/// Changes to an organisation (`PATCH /organizations/{id}`). Metadata:
/// [`Organizations::update_metadata`].
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct UpdateOrganizationParams {
    /// Name.
    pub name: Option<String>,
    /// Slug.
    pub slug: Option<String>,
    /// Membership limit.
    pub max_allowed_memberships: Option<i64>,
    /// Whether admins may delete it.
    pub admin_delete_enabled: Option<bool>,
}

/// An organisation's metadata (`PATCH`/`PUT /organizations/{id}/metadata`).
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct OrganizationMetadataParams {
    /// Public metadata.
    pub public_metadata: Option<Value>,
    /// Private metadata.
    pub private_metadata: Option<Value>,
}

impl Organizations<'_> {
    /// `GET /organizations/{id or slug}`.
    pub async fn get(&self, id_or_slug: &str) -> Result<Organization, ApiError> {
        self.get_with(id_or_slug, false).await
    }

    /// `GET /organizations/{id or slug}`, with `include_members_count=true` when asked.
    pub async fn get_with(
        &self,
        id_or_slug: &str,
        include_members_count: bool,
    ) -> Result<Organization, ApiError> {
        let path = format!("/organizations/{}", segment(id_or_slug));
        let mut q = Query::default();
        q.flag("include_members_count", Some(include_members_count));
        self.client.send(Method::Get, &path, &q.0, None).await
    }

    /// `GET /organizations`.
    pub async fn list(
        &self,
        params: &OrganizationListParams,
    ) -> Result<Page<Organization>, ApiError> {
        let mut q = Query::default();
        q.page(&params.page)
            .flag("include_members_count", params.include_members_count)
            .str("query", &params.query)
            .str("order_by", &params.order_by)
            .list("user_id", &params.user_id)
            .list("organization_id", &params.organization_id);
        self.client.list_page("/organizations", &q.0).await
    }

    /// Every organisation matching `params`, page after page.
    pub fn list_all(
        &self,
        params: OrganizationListParams,
    ) -> impl Stream<Item = Result<Organization, ApiError>> + Send + 'static {
        let client = self.client.clone();
        paginate(params.page, move |page| {
            let client = client.clone();
            let params = OrganizationListParams {
                page,
                ..params.clone()
            };
            async move { client.organizations().list(&params).await }
        })
    }

    /// `POST /organizations`.
    pub async fn create(
        &self,
        params: &CreateOrganizationParams,
    ) -> Result<Organization, ApiError> {
        self.client
            .send(Method::Post, "/organizations", &[], body(params))
            .await
    }

    /// `PATCH /organizations/{id}`.
    pub async fn update(
        &self,
        organization_id: &str,
        params: &UpdateOrganizationParams,
    ) -> Result<Organization, ApiError> {
        let path = format!("/organizations/{}", segment(organization_id));
        self.client
            .send(Method::Patch, &path, &[], body(params))
            .await
    }

    /// Merges metadata: `PATCH /organizations/{id}/metadata` (`updateOrganizationMetadata`).
    pub async fn update_metadata(
        &self,
        organization_id: &str,
        params: &OrganizationMetadataParams,
    ) -> Result<Organization, ApiError> {
        let path = format!("/organizations/{}/metadata", segment(organization_id));
        self.client
            .send(Method::Patch, &path, &[], body(params))
            .await
    }

    /// Replaces metadata: `PUT /organizations/{id}/metadata` (`replaceOrganizationMetadata`).
    pub async fn replace_metadata(
        &self,
        organization_id: &str,
        params: &OrganizationMetadataParams,
    ) -> Result<Organization, ApiError> {
        let path = format!("/organizations/{}/metadata", segment(organization_id));
        self.client
            .send(Method::Put, &path, &[], body(params))
            .await
    }

    /// `DELETE /organizations/{id}`.
    pub async fn delete(&self, organization_id: &str) -> Result<DeletedObject, ApiError> {
        let path = format!("/organizations/{}", segment(organization_id));
        self.client.send(Method::Delete, &path, &[], None).await
    }
}

/// Memberships of organisations (`/organizations/{id}/memberships`).
#[derive(Debug, Clone, Copy)]
pub struct OrganizationMemberships<'a> {
    client: &'a ClerkClient,
}

/// Filters of a membership list.
#[derive(Debug, Clone, Default, PartialEq)]
#[must_use]
pub struct MembershipListParams {
    /// Page size and offset.
    pub page: ListParams,
    /// Order (`-created_at`, …).
    pub order_by: Option<String>,
    /// Memberships of any of these users.
    pub user_id: Vec<String>,
    /// Memberships with any of these roles.
    pub role: Vec<String>,
    /// Free-text search.
    pub query: Option<String>,
}

impl MembershipListParams {
    /// No filter, Clerk's default page.
    pub fn new() -> Self {
        MembershipListParams::default()
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
    /// Order.
    pub fn order_by(mut self, v: impl Into<String>) -> Self {
        self.order_by = Some(v.into());
        self
    }
    /// Adds a user id.
    pub fn user_id(mut self, v: impl Into<String>) -> Self {
        self.user_id.push(v.into());
        self
    }
    /// Adds a role.
    pub fn role(mut self, v: impl Into<String>) -> Self {
        self.role.push(v.into());
        self
    }
}

#[derive(Serialize)]
struct MembershipBody<'a> {
    user_id: Option<&'a str>,
    role: &'a str,
}

impl OrganizationMemberships<'_> {
    /// `GET /organizations/{id}/memberships`.
    pub async fn list(
        &self,
        organization_id: &str,
        params: &MembershipListParams,
    ) -> Result<Page<OrganizationMembership>, ApiError> {
        let path = format!("/organizations/{}/memberships", segment(organization_id));
        let mut q = Query::default();
        q.page(&params.page)
            .str("order_by", &params.order_by)
            .list("user_id", &params.user_id)
            .list("role", &params.role)
            .str("query", &params.query);
        self.client.list_page(&path, &q.0).await
    }

    /// Every membership of the organisation, page after page.
    pub fn list_all(
        &self,
        organization_id: &str,
        params: MembershipListParams,
    ) -> impl Stream<Item = Result<OrganizationMembership, ApiError>> + Send + 'static {
        let client = self.client.clone();
        let org = organization_id.to_owned();
        paginate(params.page, move |page| {
            let client = client.clone();
            let org = org.clone();
            let params = MembershipListParams {
                page,
                ..params.clone()
            };
            async move { client.organization_memberships().list(&org, &params).await }
        })
    }

    /// Adds `user_id` with `role`: `POST /organizations/{id}/memberships`.
    pub async fn create(
        &self,
        organization_id: &str,
        user_id: &str,
        role: &str,
    ) -> Result<OrganizationMembership, ApiError> {
        let path = format!("/organizations/{}/memberships", segment(organization_id));
        let b = body(&MembershipBody {
            user_id: Some(user_id),
            role,
        });
        self.client.send(Method::Post, &path, &[], b).await
    }

    /// Changes a member's role: `PATCH /organizations/{id}/memberships/{user_id}`.
    pub async fn update(
        &self,
        organization_id: &str,
        user_id: &str,
        role: &str,
    ) -> Result<OrganizationMembership, ApiError> {
        let path = format!(
            "/organizations/{}/memberships/{}",
            segment(organization_id),
            segment(user_id)
        );
        let b = body(&MembershipBody {
            user_id: None,
            role,
        });
        self.client.send(Method::Patch, &path, &[], b).await
    }

    /// Removes a member: `DELETE /organizations/{id}/memberships/{user_id}`.
    pub async fn delete(
        &self,
        organization_id: &str,
        user_id: &str,
    ) -> Result<OrganizationMembership, ApiError> {
        let path = format!(
            "/organizations/{}/memberships/{}",
            segment(organization_id),
            segment(user_id)
        );
        self.client.send(Method::Delete, &path, &[], None).await
    }
}

/// Invitations to organisations (`/organizations/{id}/invitations`).
#[derive(Debug, Clone, Copy)]
pub struct OrganizationInvitations<'a> {
    client: &'a ClerkClient,
}

/// A new organisation invitation; only the fields given are sent.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct CreateOrganizationInvitationParams {
    /// Invited address (required).
    pub email_address: Option<String>,
    /// Role given on acceptance (required).
    pub role: Option<String>,
    /// The inviting user.
    pub inviter_user_id: Option<String>,
    /// Public metadata.
    pub public_metadata: Option<Value>,
    /// Private metadata.
    pub private_metadata: Option<Value>,
    /// Where the link leads.
    pub redirect_url: Option<String>,
    /// Validity in days.
    pub expires_in_days: Option<i64>,
}

/// Filters of an organisation invitation list.
#[derive(Debug, Clone, Default, PartialEq)]
#[must_use]
pub struct OrganizationInvitationListParams {
    /// Page size and offset.
    pub page: ListParams,
    /// Invitations with any of these statuses (`pending`, …).
    pub status: Vec<String>,
}

#[derive(Serialize)]
struct RevokeBody<'a> {
    requesting_user_id: Option<&'a str>,
}

impl OrganizationInvitations<'_> {
    /// `POST /organizations/{id}/invitations`.
    pub async fn create(
        &self,
        organization_id: &str,
        params: &CreateOrganizationInvitationParams,
    ) -> Result<OrganizationInvitation, ApiError> {
        let path = format!("/organizations/{}/invitations", segment(organization_id));
        self.client
            .send(Method::Post, &path, &[], body(params))
            .await
    }

    /// `GET /organizations/{id}/invitations`.
    pub async fn list(
        &self,
        organization_id: &str,
        params: &OrganizationInvitationListParams,
    ) -> Result<Page<OrganizationInvitation>, ApiError> {
        let path = format!("/organizations/{}/invitations", segment(organization_id));
        let mut q = Query::default();
        q.page(&params.page).list("status", &params.status);
        self.client.list_page(&path, &q.0).await
    }

    /// `POST /organizations/{id}/invitations/{invitation_id}/revoke`, with
    /// `requesting_user_id` when given.
    pub async fn revoke(
        &self,
        organization_id: &str,
        invitation_id: &str,
        requesting_user_id: Option<&str>,
    ) -> Result<OrganizationInvitation, ApiError> {
        let path = format!(
            "/organizations/{}/invitations/{}/revoke",
            segment(organization_id),
            segment(invitation_id)
        );
        let b = body(&RevokeBody { requesting_user_id });
        self.client.send(Method::Post, &path, &[], b).await
    }
}
