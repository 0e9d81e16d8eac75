//! Machine tokens (beside the token cache, below the authenticator): API keys (`ak_…`), M2M
//! tokens (`mt_…`, or JWTs whose `sub` starts `mch_`) and OAuth access tokens (`oat_…`, or
//! `at+jwt` JWTs), detected and dispatched as Clerk's SDK does.
//!
//! - [`opaque`]: opaque tokens verified by Clerk's Backend API, cached, single-flight and
//!   bounded, so the Backend API is never the bottleneck or the amplifier.
//!
//! JWT forms are verified locally by the verifier with the key store of session tokens.

use std::fmt;

use serde_json::Value;

use crate::js::prop_opt;
use crate::jwt::{self, DecodedJwt};

pub(crate) mod opaque;
#[cfg(feature = "redis")]
pub(crate) mod shared;

/// A kind of token Clerk issues, as `acceptsToken` names them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TokenKind {
    /// A user's session token (`session_token`): the default.
    SessionToken,
    /// An API key (`api_key`, `ak_…`).
    ApiKey,
    /// A machine-to-machine token (`m2m_token`, `mt_…` or a JWT whose `sub` starts `mch_`).
    M2mToken,
    /// An OAuth access token (`oauth_token`, `oat_…` or an `at+jwt` JWT).
    OauthToken,
}

impl TokenKind {
    /// Clerk's name (`session_token`, `api_key`, `m2m_token`, `oauth_token`).
    pub const fn as_str(self) -> &'static str {
        match self {
            TokenKind::SessionToken => "session_token",
            TokenKind::ApiKey => "api_key",
            TokenKind::M2mToken => "m2m_token",
            TokenKind::OauthToken => "oauth_token",
        }
    }

    /// The kind named as Clerk names it.
    pub fn from_name(name: &str) -> Option<TokenKind> {
        Some(match name {
            "session_token" => TokenKind::SessionToken,
            "api_key" => TokenKind::ApiKey,
            "m2m_token" => TokenKind::M2mToken,
            "oauth_token" => TokenKind::OauthToken,
            _ => return None,
        })
    }
}

impl fmt::Display for TokenKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Which tokens a middleware accepts: Clerk's `acceptsToken` (one kind, a list, or `any`).
/// The default is session tokens only.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Accepts {
    /// One kind (`acceptsToken: 'api_key'`).
    Kind(TokenKind),
    /// A list (`acceptsToken: ['api_key', 'session_token']`).
    List(Vec<TokenKind>),
    /// Every kind (`acceptsToken: 'any'`).
    Any,
}

impl Default for Accepts {
    fn default() -> Self {
        Accepts::Kind(TokenKind::SessionToken)
    }
}

impl Accepts {
    /// Parses `ACCEPTS_TOKEN`-style text: `any`, one name, or comma-separated names (a list);
    /// `None` for an unknown name or an empty text.
    pub fn parse(text: &str) -> Option<Accepts> {
        let text = text.trim();
        if text == "any" {
            return Some(Accepts::Any);
        }
        let kinds: Option<Vec<TokenKind>> = text
            .split(',')
            .map(|n| TokenKind::from_name(n.trim()))
            .collect();
        match kinds? {
            kinds if kinds.is_empty() => None,
            kinds if kinds.len() == 1 && !text.contains(',') => Some(Accepts::Kind(kinds[0])),
            kinds => Some(Accepts::List(kinds)),
        }
    }

    /// Whether `kind` is accepted (Clerk's `isTokenTypeAccepted`).
    pub fn accepts(&self, kind: TokenKind) -> bool {
        match self {
            Accepts::Kind(k) => *k == kind,
            Accepts::List(list) => list.contains(&kind),
            Accepts::Any => true,
        }
    }

    /// A small number that differs between any two different settings (for telling whether a
    /// decision was made under the same setting).
    pub(crate) fn key(&self) -> usize {
        let bit = |k: &TokenKind| 1usize << (*k as usize);
        match self {
            Accepts::Kind(k) => bit(k),
            Accepts::List(list) => 16 | list.iter().map(bit).fold(0, |a, b| a | b),
            Accepts::Any => 32,
        }
    }

    /// Whether an opaque token of a kind may have to be verified by the Backend API.
    pub(crate) fn opaque_kinds(&self) -> impl Iterator<Item = TokenKind> + '_ {
        [
            TokenKind::ApiKey,
            TokenKind::M2mToken,
            TokenKind::OauthToken,
        ]
        .into_iter()
        .filter(|k| self.accepts(*k))
    }
}

/// Clerk's `getMachineTokenType` on a token already known to be a machine token, or `None`
/// for a token Clerk does not take for one (`isMachineToken`).
pub(crate) fn machine_kind(token: &str, decoded: Option<&DecodedJwt<'_>>) -> Option<TokenKind> {
    let jwt_format = jwt::is_jwt_format(token);
    let m2m_jwt = jwt_format
        && decoded.is_some_and(|d| {
            prop_opt(&d.payload, "sub")
                .and_then(Value::as_str)
                .is_some_and(|s| s.starts_with("mch_"))
        });
    let oauth_jwt = jwt_format
        && decoded.is_some_and(|d| {
            matches!(
                prop_opt(&d.header, "typ").and_then(Value::as_str),
                Some("at+jwt" | "application/at+jwt")
            )
        });
    if token.starts_with("mt_") || m2m_jwt {
        Some(TokenKind::M2mToken)
    } else if token.starts_with("oat_") || oauth_jwt {
        Some(TokenKind::OauthToken)
    } else if token.starts_with("ak_") {
        Some(TokenKind::ApiKey)
    } else {
        None
    }
}

/// A verified machine: the fields of Clerk's authenticated machine object (`None`: absent,
/// as `undefined` is dropped by `JSON.stringify`).
///
/// Serialised (for the shared store) with absent fields absent and `null` kept as `null`.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub(crate) struct MachineAuth {
    pub kind: TokenKind,
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "present"
    )]
    pub id: Option<Value>,
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "present"
    )]
    pub subject: Option<Value>,
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "present"
    )]
    pub name: Option<Value>,
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "present"
    )]
    pub claims: Option<Value>,
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "present"
    )]
    pub scopes: Option<Value>,
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "present"
    )]
    pub client_id: Option<Value>,
    /// When the token expires (ms since the epoch), if the Backend API said.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expiration: Option<f64>,
}

/// A field that is there, `null` included (serde's `Option` would read `null` as absent).
fn present<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<Value>, D::Error> {
    <Value as serde::Deserialize>::deserialize(d).map(Some)
}

impl MachineAuth {
    pub(crate) fn subject_str(&self) -> Option<&str> {
        self.subject.as_ref().and_then(Value::as_str)
    }

    /// API key `userId`: the subject when it starts `user_`.
    pub(crate) fn user_id(&self) -> Option<&str> {
        match self.kind {
            TokenKind::ApiKey => self.subject_str().filter(|s| s.starts_with("user_")),
            TokenKind::OauthToken => self.subject_str(),
            _ => None,
        }
    }

    /// API key `orgId`: the subject when it starts `org_`.
    pub(crate) fn org_id(&self) -> Option<&str> {
        match self.kind {
            TokenKind::ApiKey => self.subject_str().filter(|s| s.starts_with("org_")),
            _ => None,
        }
    }

    /// Whether the scopes list holds `scope`.
    pub(crate) fn has_scope(&self, scope: &str) -> bool {
        self.scopes
            .as_ref()
            .and_then(Value::as_array)
            .is_some_and(|s| s.iter().any(|v| v.as_str() == Some(scope)))
    }

    /// From a verified M2M JWT's claims (`M2MToken.fromJwtPayload`).
    pub(crate) fn from_m2m_claims(claims: &serde_json::Map<String, Value>) -> MachineAuth {
        let scopes = match claims.get("scopes").and_then(Value::as_str) {
            Some(s) => Value::Array(s.split(' ').map(|p| Value::String(p.into())).collect()),
            None => claims
                .get("aud")
                .filter(|v| !v.is_null())
                .cloned()
                .unwrap_or(Value::Array(vec![])),
        };
        // `extractCustomClaims`: the claims but the reserved ones, in order; none is null.
        let rest: serde_json::Map<String, Value> = claims
            .iter()
            .filter(|(k, _)| !["iss", "sub", "exp", "nbf", "iat", "jti"].contains(&k.as_str()))
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        MachineAuth {
            kind: TokenKind::M2mToken,
            id: Some(non_null_or_empty(claims.get("jti"))),
            subject: claims.get("sub").cloned(),
            name: None,
            claims: Some(if rest.is_empty() {
                Value::Null
            } else {
                Value::Object(rest)
            }),
            scopes: Some(scopes),
            client_id: None,
            expiration: None,
        }
    }

    /// From a verified OAuth JWT's claims (`IdPOAuthAccessToken.fromJwtPayload`).
    pub(crate) fn from_oauth_claims(claims: &serde_json::Map<String, Value>) -> MachineAuth {
        let split = |v: &Value| {
            v.as_str()
                .map(|s| Value::Array(s.split(' ').map(|p| Value::String(p.into())).collect()))
        };
        let scopes = claims
            .get("scp")
            .cloned()
            .filter(|v| !v.is_null())
            .or_else(|| claims.get("scope").and_then(split))
            .unwrap_or(Value::Array(vec![]));
        MachineAuth {
            kind: TokenKind::OauthToken,
            id: Some(non_null_or_empty(claims.get("jti"))),
            subject: claims.get("sub").cloned(),
            name: None,
            claims: None,
            scopes: Some(scopes),
            client_id: Some(non_null_or_empty(claims.get("client_id"))),
            expiration: None,
        }
    }
}

/// `value ?? ""`.
fn non_null_or_empty(value: Option<&Value>) -> Value {
    value
        .filter(|v| !v.is_null())
        .cloned()
        .unwrap_or(Value::String(String::new()))
}
