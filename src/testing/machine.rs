//! [`MachineTokenBuilder`]: API keys, M2M tokens and OAuth access tokens the stand-in answers
//! for, and their [`Auth`] values.

use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde_json::{json, Value};

use super::backend::{
    api_key_body, m2m_token_body, oauth_token_body, Issued, VerifyEndpoint, VerifyState,
};
use super::random_hex;
use crate::auth::Auth;
use crate::machine::TokenKind;

/// A machine token: an API key (`ak_…`), an M2M token (`mt_…`) or an OAuth access token
/// (`oat_…`), with what Clerk's Backend API says about it.
///
/// Made by a [`TestBackendApi`](super::TestBackendApi) ([`api_key`](super::TestBackendApi::api_key),
/// [`m2m_token`](super::TestBackendApi::m2m_token),
/// [`oauth_token`](super::TestBackendApi::oauth_token)), whose verify endpoint then answers
/// for it once [`issue`](Self::issue)d; or alone ([`MachineTokenBuilder::api_key`], …) for
/// [`to_auth`](Self::to_auth) values in handler unit tests.
///
/// ```
/// use actix_clerk::testing::MachineTokenBuilder;
///
/// let auth = MachineTokenBuilder::api_key("org_1").name("ci").scopes(["deploy"]).to_auth();
/// assert!(auth.is_machine());
/// assert_eq!(auth.org_id(), Some("org_1"));
/// assert!(auth.has_scope("deploy"));
/// ```
#[derive(Clone)]
#[must_use]
pub struct MachineTokenBuilder {
    kind: TokenKind,
    on: Option<Arc<VerifyState>>,
    secret: Option<String>,
    id: Option<String>,
    subject: String,
    name: String,
    scopes: Vec<String>,
    claims: Value,
    client_id: String,
    audience: Value,
    expires_at_ms: Option<f64>,
}

impl std::fmt::Debug for MachineTokenBuilder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MachineTokenBuilder")
            .field("kind", &self.kind)
            .field("subject", &self.subject)
            .field("scopes", &self.scopes)
            .field("issued_by_stand_in", &self.on.is_some())
            .finish_non_exhaustive()
    }
}

impl MachineTokenBuilder {
    fn of(kind: TokenKind, subject: String) -> MachineTokenBuilder {
        MachineTokenBuilder {
            kind,
            on: None,
            secret: None,
            id: None,
            subject,
            name: "test key".to_owned(),
            scopes: Vec::new(),
            claims: Value::Null,
            client_id: "client_test".to_owned(),
            audience: Value::Null,
            expires_at_ms: None,
        }
    }

    /// An API key of `subject` (a user `user_…`: Clerk's auth object has its `userId`; an
    /// organisation `org_…`: its `orgId`).
    pub fn api_key(subject: impl Into<String>) -> MachineTokenBuilder {
        MachineTokenBuilder::of(TokenKind::ApiKey, subject.into())
    }

    /// An M2M token of the machine `machine_id` (`mch_…`).
    pub fn m2m_token(machine_id: impl Into<String>) -> MachineTokenBuilder {
        MachineTokenBuilder::of(TokenKind::M2mToken, machine_id.into())
    }

    /// An OAuth access token of `user_id`.
    pub fn oauth_token(user_id: impl Into<String>) -> MachineTokenBuilder {
        MachineTokenBuilder::of(TokenKind::OauthToken, user_id.into())
    }

    pub(crate) fn on(mut self, state: Arc<VerifyState>) -> Self {
        self.on = Some(state);
        self
    }

    /// The token itself (default: a random `ak_…`, `mt_…` or `oat_…`).
    pub fn secret(mut self, token: impl Into<String>) -> Self {
        self.secret = Some(token.into());
        self
    }

    /// Its id in Clerk's answer (default: a random `ak_…`/`mt_…`/`oat_…` id).
    pub fn id(mut self, id: impl Into<String>) -> Self {
        self.id = Some(id.into());
        self
    }

    /// An API key's name (default `test key`).
    pub fn name(mut self, name: impl Into<String>) -> Self {
        self.name = name.into();
        self
    }

    /// Its scopes (default none).
    pub fn scopes<I, S>(mut self, scopes: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.scopes = scopes.into_iter().map(Into::into).collect();
        self
    }

    /// An API key's or M2M token's custom claims (a JSON value; default `null`).
    pub fn claims(mut self, claims: Value) -> Self {
        self.claims = claims;
        self
    }

    /// An OAuth token's client (default `client_test`).
    pub fn client_id(mut self, client_id: impl Into<String>) -> Self {
        self.client_id = client_id.into();
        self
    }

    /// An OAuth token's audience (`aud`), checked against a configuration's
    /// [`audience`](crate::ClerkConfigBuilder::audience).
    pub fn audience<I, S>(mut self, audience: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.audience = Value::Array(
            audience
                .into_iter()
                .map(|a| Value::String(a.into()))
                .collect(),
        );
        self
    }

    /// Expires at `t` (Clerk's `expiration`): the stand-in answers `404` from then on, and a
    /// configuration's machine-token cache keeps it no longer.
    pub fn expires_at(mut self, t: SystemTime) -> Self {
        let ms = match t.duration_since(UNIX_EPOCH) {
            Ok(d) => d.as_millis() as f64,
            Err(_) => 0.0,
        };
        self.expires_at_ms = Some(ms);
        self
    }

    /// Expires `after` from now.
    pub fn expires_in(self, after: Duration) -> Self {
        self.expires_at(SystemTime::now() + after)
    }

    /// Expired a minute ago: the stand-in answers `404` (`token-invalid`).
    pub fn expired(self) -> Self {
        self.expires_at(SystemTime::now() - Duration::from_secs(60))
    }

    fn prefix(&self) -> &'static str {
        match self.kind {
            TokenKind::ApiKey => "ak_",
            TokenKind::M2mToken => "mt_",
            _ => "oat_",
        }
    }

    fn endpoint(&self) -> VerifyEndpoint {
        match self.kind {
            TokenKind::ApiKey => VerifyEndpoint::ApiKeys,
            TokenKind::M2mToken => VerifyEndpoint::M2mTokens,
            _ => VerifyEndpoint::OAuthAccessTokens,
        }
    }

    /// The body the verify endpoint answers for it (Clerk's resource).
    pub fn body(&self) -> Value {
        let id = self
            .id
            .clone()
            .unwrap_or_else(|| format!("{}{}", self.prefix(), random_hex(16)));
        let scopes = json!(self.scopes);
        let mut body = match self.kind {
            TokenKind::ApiKey => {
                api_key_body(&id, &self.subject, &self.name, self.claims.clone(), scopes)
            }
            TokenKind::M2mToken => m2m_token_body(&id, &self.subject, self.claims.clone(), scopes),
            _ => oauth_token_body(
                &id,
                &self.subject,
                &self.client_id,
                scopes,
                self.audience.clone(),
            ),
        };
        if let Some(ms) = self.expires_at_ms {
            body["expiration"] = json!(ms as i64);
        }
        body
    }

    /// Registers the token with the stand-in that made this builder and returns it: from now
    /// on its verify endpoint answers for it (until [`revoke`](super::TestBackendApi::revoke)d
    /// or expired). Panics for a builder made without a stand-in.
    pub fn issue(self) -> String {
        let Some(state) = self.on.clone() else {
            panic!(
                "actix_clerk::testing: only a TestBackendApi's machine tokens can be issued \
                 (backend.api_key(…), …); this one is for to_auth()"
            )
        };
        let token = self
            .secret
            .clone()
            .unwrap_or_else(|| format!("{}{}", self.prefix(), random_hex(32)));
        state.issued.lock().insert(
            (self.endpoint(), token.clone()),
            Issued {
                body: self.body(),
                expires_at_ms: self.expires_at_ms,
                revoked: false,
            },
        );
        token
    }

    /// The [`Auth`] a middleware accepting this kind gives a request carrying the token
    /// (read from [`body`](Self::body) as the crate reads the Backend API's answer), for
    /// handler unit tests.
    pub fn to_auth(&self) -> Auth {
        let body = self.body().to_string();
        match crate::machine::opaque::read_answer(self.kind, 200, true, body.as_bytes(), &[]) {
            Ok(machine) => Auth::machine_token(machine),
            Err(e) => panic!(
                "actix_clerk::testing: the crate refuses this machine token: {}",
                e.message
            ),
        }
    }
}
