//! Users: `clerk.users()` — `/users` as `@clerk/backend`'s `UserAPI` calls it.

use futures_util::stream::Stream;
use serde::Serialize;
use serde_json::Value;

use super::common::{body, paginate, Query};
use super::models::{DeletedObject, User};
use super::{segment, ApiError, ClerkClient, ListParams, Method, Page};

impl ClerkClient {
    /// Users of the instance.
    pub fn users(&self) -> Users<'_> {
        Users { client: self }
    }
}

/// Users of the instance (`/users`).
#[derive(Debug, Clone, Copy)]
pub struct Users<'a> {
    client: &'a ClerkClient,
}

/// Filters of a user list (`GET /users`), as Clerk's `getUserList`. Lists are sent as
/// repeated keys; empty strings, `false` and `0` are not sent.
#[derive(Debug, Clone, Default, PartialEq)]
#[must_use]
pub struct UserListParams {
    /// Page size and offset.
    pub page: ListParams,
    /// Users with any of these email addresses.
    pub email_address: Vec<String>,
    /// Users with any of these phone numbers.
    pub phone_number: Vec<String>,
    /// Users with any of these external ids.
    pub external_id: Vec<String>,
    /// Users with any of these usernames.
    pub username: Vec<String>,
    /// Users with any of these Web3 wallets.
    pub web3_wallet: Vec<String>,
    /// Users with any of these ids.
    pub user_id: Vec<String>,
    /// Members of any of these organisations.
    pub organization_id: Vec<String>,
    /// Free-text search.
    pub query: Option<String>,
    /// Order (`-created_at`, `+last_sign_in_at`, …).
    pub order_by: Option<String>,
    /// Users active since (Unix ms).
    pub last_active_at_since: Option<i64>,
    /// Users created before (Unix ms).
    pub created_at_before: Option<i64>,
    /// Users created after (Unix ms).
    pub created_at_after: Option<i64>,
    /// Banned users only (`true`).
    pub banned: Option<bool>,
}

impl UserListParams {
    /// No filter, Clerk's default page.
    pub fn new() -> Self {
        UserListParams::default()
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
    /// Adds an email address.
    pub fn email_address(mut self, v: impl Into<String>) -> Self {
        self.email_address.push(v.into());
        self
    }
    /// Adds a phone number.
    pub fn phone_number(mut self, v: impl Into<String>) -> Self {
        self.phone_number.push(v.into());
        self
    }
    /// Adds an external id.
    pub fn external_id(mut self, v: impl Into<String>) -> Self {
        self.external_id.push(v.into());
        self
    }
    /// Adds a username.
    pub fn username(mut self, v: impl Into<String>) -> Self {
        self.username.push(v.into());
        self
    }
    /// Adds a Web3 wallet.
    pub fn web3_wallet(mut self, v: impl Into<String>) -> Self {
        self.web3_wallet.push(v.into());
        self
    }
    /// Adds a user id.
    pub fn user_id(mut self, v: impl Into<String>) -> Self {
        self.user_id.push(v.into());
        self
    }
    /// Adds an organisation id.
    pub fn organization_id(mut self, v: impl Into<String>) -> Self {
        self.organization_id.push(v.into());
        self
    }
    /// Free-text search.
    pub fn query(mut self, v: impl Into<String>) -> Self {
        self.query = Some(v.into());
        self
    }
    /// Order (`-created_at`, …).
    pub fn order_by(mut self, v: impl Into<String>) -> Self {
        self.order_by = Some(v.into());
        self
    }
    /// Users active since (Unix ms).
    pub fn last_active_at_since(mut self, v: i64) -> Self {
        self.last_active_at_since = Some(v);
        self
    }
    /// Banned users only.
    pub fn banned(mut self, v: bool) -> Self {
        self.banned = Some(v);
        self
    }

    /// The filters (what `/users/count` gets: no limit, offset or order).
    fn filters(&self, q: &mut Query) {
        q.list("email_address", &self.email_address)
            .list("phone_number", &self.phone_number)
            .list("external_id", &self.external_id)
            .list("username", &self.username)
            .list("web3_wallet", &self.web3_wallet)
            .list("user_id", &self.user_id)
            .list("organization_id", &self.organization_id)
            .str("query", &self.query)
            .num("last_active_at_since", self.last_active_at_since)
            .num("created_at_before", self.created_at_before)
            .num("created_at_after", self.created_at_after)
            .flag("banned", self.banned);
    }
}

/// A new user (`POST /users`); only the fields given are sent.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct CreateUserParams {
    /// Your system's id.
    pub external_id: Option<String>,
    /// First name.
    pub first_name: Option<String>,
    /// Last name.
    pub last_name: Option<String>,
    /// Email addresses (the first is primary).
    pub email_address: Option<Vec<String>>,
    /// Phone numbers (the first is primary).
    pub phone_number: Option<Vec<String>>,
    /// Web3 wallets.
    pub web3_wallet: Option<Vec<String>>,
    /// Username.
    pub username: Option<String>,
    /// Password.
    pub password: Option<String>,
    /// A password digest (migrations).
    pub password_digest: Option<String>,
    /// The digest's hasher (`bcrypt`, …).
    pub password_hasher: Option<String>,
    /// Skips password strength checks.
    pub skip_password_checks: Option<bool>,
    /// Allows a user without a password.
    pub skip_password_requirement: Option<bool>,
    /// TOTP secret.
    pub totp_secret: Option<String>,
    /// Backup codes.
    pub backup_codes: Option<Vec<String>>,
    /// Public metadata.
    pub public_metadata: Option<Value>,
    /// Private metadata.
    pub private_metadata: Option<Value>,
    /// Unsafe metadata.
    pub unsafe_metadata: Option<Value>,
    /// Creation time (RFC 3339, migrations).
    pub created_at: Option<String>,
    /// Whether the user may delete themselves.
    pub delete_self_enabled: Option<bool>,
    /// Whether the user may create organisations.
    pub create_organization_enabled: Option<bool>,
    /// How many organisations the user may create.
    pub create_organizations_limit: Option<i64>,
    /// When the legal terms were accepted (RFC 3339).
    pub legal_accepted_at: Option<String>,
    /// Skips the legal terms check.
    pub skip_legal_checks: Option<bool>,
}

/// Changes to a user (`PATCH /users/{id}`); only the fields given are sent. Metadata:
/// [`Users::update_metadata`].
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct UpdateUserParams {
    /// Your system's id.
    pub external_id: Option<String>,
    /// First name.
    pub first_name: Option<String>,
    /// Last name.
    pub last_name: Option<String>,
    /// Username.
    pub username: Option<String>,
    /// Password.
    pub password: Option<String>,
    /// Skips password strength checks.
    pub skip_password_checks: Option<bool>,
    /// Signs the user out of their other sessions (with a new password).
    pub sign_out_of_other_sessions: Option<bool>,
    /// Primary email address id.
    pub primary_email_address_id: Option<String>,
    /// Notifies the old primary address of the change.
    pub notify_primary_email_address_changed: Option<bool>,
    /// Primary phone number id.
    pub primary_phone_number_id: Option<String>,
    /// Primary Web3 wallet id.
    pub primary_web3_wallet_id: Option<String>,
    /// Profile image id.
    pub profile_image_id: Option<String>,
    /// TOTP secret.
    pub totp_secret: Option<String>,
    /// Backup codes.
    pub backup_codes: Option<Vec<String>>,
    /// Creation time (RFC 3339).
    pub created_at: Option<String>,
    /// Whether the user may delete themselves.
    pub delete_self_enabled: Option<bool>,
    /// Whether the user may create organisations.
    pub create_organization_enabled: Option<bool>,
    /// How many organisations the user may create.
    pub create_organizations_limit: Option<i64>,
    /// When the legal terms were accepted (RFC 3339).
    pub legal_accepted_at: Option<String>,
    /// Skips the legal terms check.
    pub skip_legal_checks: Option<bool>,
    /// Locale.
    pub locale: Option<String>,
}

/// A user's metadata (`PATCH`/`PUT /users/{id}/metadata`); absent ones are left as they are.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct UserMetadataParams {
    /// Public metadata.
    pub public_metadata: Option<Value>,
    /// Private metadata.
    pub private_metadata: Option<Value>,
    /// Unsafe metadata.
    pub unsafe_metadata: Option<Value>,
}

impl Users<'_> {
    /// `GET /users/{id}`.
    pub async fn get(&self, user_id: &str) -> Result<User, ApiError> {
        let path = format!("/users/{}", segment(user_id));
        self.client.send(Method::Get, &path, &[], None).await
    }

    /// A page of users: `GET /users` (the filters, page and order) and `GET /users/count`
    /// (the filters) for its total, concurrently, as `getUserList`.
    pub async fn list(&self, params: &UserListParams) -> Result<Page<User>, ApiError> {
        let mut q = Query::default();
        q.page(&params.page).str("order_by", &params.order_by);
        params.filters(&mut q);
        let page = self.client.list_page::<User>("/users", &q.0);
        let (page, total) = futures_util::future::try_join(page, self.count(params)).await?;
        Ok(Page {
            data: page.data,
            total_count: total,
        })
    }

    /// Every user matching `params`, page after page (`params`' limit as the page size).
    pub fn list_all(
        &self,
        params: UserListParams,
    ) -> impl Stream<Item = Result<User, ApiError>> + Send + 'static {
        let client = self.client.clone();
        paginate(params.page, move |page| {
            let client = client.clone();
            let params = UserListParams {
                page,
                ..params.clone()
            };
            async move { client.users().list(&params).await }
        })
    }

    /// How many users match the filters of `params` (`GET /users/count`).
    pub async fn count(&self, params: &UserListParams) -> Result<u64, ApiError> {
        #[derive(serde::Deserialize)]
        struct Count {
            total_count: u64,
        }
        let mut q = Query::default();
        params.filters(&mut q);
        let c: Count = self
            .client
            .send(Method::Get, "/users/count", &q.0, None)
            .await?;
        Ok(c.total_count)
    }

    /// `POST /users`.
    pub async fn create(&self, params: &CreateUserParams) -> Result<User, ApiError> {
        self.client
            .send(Method::Post, "/users", &[], body(params))
            .await
    }

    /// `PATCH /users/{id}`.
    pub async fn update(&self, user_id: &str, params: &UpdateUserParams) -> Result<User, ApiError> {
        let path = format!("/users/{}", segment(user_id));
        self.client
            .send(Method::Patch, &path, &[], body(params))
            .await
    }

    /// Merges metadata (deeply; `null` inside removes a key): `PATCH /users/{id}/metadata`,
    /// as `updateUserMetadata`.
    pub async fn update_metadata(
        &self,
        user_id: &str,
        params: &UserMetadataParams,
    ) -> Result<User, ApiError> {
        let path = format!("/users/{}/metadata", segment(user_id));
        self.client
            .send(Method::Patch, &path, &[], body(params))
            .await
    }

    /// Replaces the given metadata fields in full: `PUT /users/{id}/metadata`, as
    /// `replaceUserMetadata`.
    pub async fn replace_metadata(
        &self,
        user_id: &str,
        params: &UserMetadataParams,
    ) -> Result<User, ApiError> {
        let path = format!("/users/{}/metadata", segment(user_id));
        self.client
            .send(Method::Put, &path, &[], body(params))
            .await
    }

    /// `DELETE /users/{id}`.
    pub async fn delete(&self, user_id: &str) -> Result<DeletedObject, ApiError> {
        let path = format!("/users/{}", segment(user_id));
        self.client.send(Method::Delete, &path, &[], None).await
    }

    async fn action(&self, user_id: &str, action: &str) -> Result<User, ApiError> {
        let path = format!("/users/{}/{action}", segment(user_id));
        self.client.send(Method::Post, &path, &[], None).await
    }

    /// `POST /users/{id}/ban`.
    pub async fn ban(&self, user_id: &str) -> Result<User, ApiError> {
        self.action(user_id, "ban").await
    }

    /// `POST /users/{id}/unban`.
    pub async fn unban(&self, user_id: &str) -> Result<User, ApiError> {
        self.action(user_id, "unban").await
    }

    /// `POST /users/{id}/lock`.
    pub async fn lock(&self, user_id: &str) -> Result<User, ApiError> {
        self.action(user_id, "lock").await
    }

    /// `POST /users/{id}/unlock`.
    pub async fn unlock(&self, user_id: &str) -> Result<User, ApiError> {
        self.action(user_id, "unlock").await
    }
}
