//! The Backend API's resources as Clerk sends them (`@clerk/backend`'s `fromJSON` names):
//! every documented field typed, optional ones `Option` (absent and `null` both `None`),
//! unknown fields kept in `extra`, unknown enum values kept as [`Other`](InvitationStatus::Other).

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::{Map, Value};

/// `null` read as the type's default (a `Vec`, a `bool`, a number, a string).
fn nullable<'de, D: Deserializer<'de>, T: Deserialize<'de> + Default>(d: D) -> Result<T, D::Error> {
    Ok(Option::<T>::deserialize(d)?.unwrap_or_default())
}

macro_rules! string_enum {
    ($(#[$m:meta])* $name:ident { $($(#[$vm:meta])* $var:ident = $s:literal),* $(,)? }) => {
        $(#[$m])*
        #[derive(Debug, Clone, PartialEq, Eq, Hash)]
        pub enum $name {
            $($(#[$vm])* $var,)*
            /// A value this crate does not know (yet), kept as Clerk sent it.
            Other(String),
        }

        impl $name {
            /// The value as Clerk spells it.
            pub fn as_str(&self) -> &str {
                match self {
                    $($name::$var => $s,)*
                    $name::Other(s) => s,
                }
            }
        }

        impl From<&str> for $name {
            fn from(s: &str) -> Self {
                match s {
                    $($s => $name::$var,)*
                    other => $name::Other(other.to_owned()),
                }
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl Serialize for $name {
            fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.serialize_str(self.as_str())
            }
        }

        impl<'de> Deserialize<'de> for $name {
            fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                let s = String::deserialize(d)?;
                Ok($name::from(s.as_str()))
            }
        }
    };
}

string_enum! {
    /// An instance invitation's or an organisation invitation's status.
    InvitationStatus {
        /// Sent, not yet accepted.
        Pending = "pending",
        /// Accepted.
        Accepted = "accepted",
        /// Revoked.
        Revoked = "revoked",
        /// Expired.
        Expired = "expired",
    }
}

string_enum! {
    /// A session's status.
    SessionStatus {
        /// Active.
        Active = "active",
        /// Revoked.
        Revoked = "revoked",
        /// Ended (signed out).
        Ended = "ended",
        /// Expired.
        Expired = "expired",
        /// Removed.
        Removed = "removed",
        /// Abandoned.
        Abandoned = "abandoned",
        /// Replaced.
        Replaced = "replaced",
        /// Pending (a task to complete).
        Pending = "pending",
    }
}

string_enum! {
    /// A verification's status.
    VerificationStatus {
        /// Not verified.
        Unverified = "unverified",
        /// Verified.
        Verified = "verified",
        /// Transferable (an OAuth sign-up to complete).
        Transferable = "transferable",
        /// Failed.
        Failed = "failed",
        /// Expired.
        Expired = "expired",
    }
}

/// The verification of an identifier (`verification`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Verification {
    /// Its status.
    pub status: VerificationStatus,
    /// How it was verified (`email_code`, `oauth_google`, `admin`, …).
    #[serde(default)]
    pub strategy: Option<String>,
    /// Where an OAuth verification continues.
    #[serde(default)]
    pub external_verification_redirect_url: Option<String>,
    /// Attempts made.
    #[serde(default)]
    pub attempts: Option<i64>,
    /// Expiry (Unix ms).
    #[serde(default)]
    pub expire_at: Option<i64>,
    /// Nonce (Web3).
    #[serde(default)]
    pub nonce: Option<String>,
    /// Fields this crate does not model.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// A link from an identifier to another (`linked_to[]`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct IdentificationLink {
    /// The linked identification's id.
    pub id: String,
    /// Its type (`oauth_google`, …).
    #[serde(rename = "type", default)]
    pub kind: Option<String>,
    /// Fields this crate does not model.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// One of a user's email addresses.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EmailAddress {
    /// `idn_…`.
    pub id: String,
    /// The address.
    pub email_address: String,
    /// Its verification, if any.
    #[serde(default)]
    pub verification: Option<Verification>,
    /// Identifiers it is linked to.
    #[serde(default, deserialize_with = "nullable")]
    pub linked_to: Vec<IdentificationLink>,
    /// Fields this crate does not model (`object`, `reserved`, …).
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// One of a user's phone numbers.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PhoneNumber {
    /// `idn_…`.
    pub id: String,
    /// The number (E.164).
    pub phone_number: String,
    /// Whether it is reserved for second factor.
    #[serde(default)]
    pub reserved_for_second_factor: Option<bool>,
    /// Whether it is the default second factor.
    #[serde(default)]
    pub default_second_factor: Option<bool>,
    /// Its verification, if any.
    #[serde(default)]
    pub verification: Option<Verification>,
    /// Identifiers it is linked to.
    #[serde(default, deserialize_with = "nullable")]
    pub linked_to: Vec<IdentificationLink>,
    /// Fields this crate does not model.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// An OAuth account linked to a user.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ExternalAccount {
    /// `eac_…`.
    pub id: String,
    /// The provider (`oauth_google`, …).
    #[serde(default)]
    pub provider: Option<String>,
    /// The user's id at the provider.
    #[serde(default)]
    pub provider_user_id: Option<String>,
    /// The identification id.
    #[serde(default)]
    pub identification_id: Option<String>,
    /// Scopes granted.
    #[serde(default)]
    pub approved_scopes: Option<String>,
    /// Email address at the provider.
    #[serde(default)]
    pub email_address: Option<String>,
    /// First name at the provider.
    #[serde(default)]
    pub first_name: Option<String>,
    /// Last name at the provider.
    #[serde(default)]
    pub last_name: Option<String>,
    /// Picture at the provider.
    #[serde(default)]
    pub image_url: Option<String>,
    /// Username at the provider.
    #[serde(default)]
    pub username: Option<String>,
    /// Phone number at the provider.
    #[serde(default)]
    pub phone_number: Option<String>,
    /// Public metadata.
    #[serde(default)]
    pub public_metadata: Option<Value>,
    /// Label.
    #[serde(default)]
    pub label: Option<String>,
    /// Its verification, if any.
    #[serde(default)]
    pub verification: Option<Verification>,
    /// Fields this crate does not model.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// A user (`GET /users/{id}`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct User {
    /// `user_…`.
    pub id: String,
    /// Whether a password is set.
    #[serde(default, deserialize_with = "nullable")]
    pub password_enabled: bool,
    /// Whether TOTP is set up.
    #[serde(default, deserialize_with = "nullable")]
    pub totp_enabled: bool,
    /// Whether backup codes are set up.
    #[serde(default, deserialize_with = "nullable")]
    pub backup_code_enabled: bool,
    /// Whether a second factor is enabled.
    #[serde(default, deserialize_with = "nullable")]
    pub two_factor_enabled: bool,
    /// Whether the user is banned.
    #[serde(default, deserialize_with = "nullable")]
    pub banned: bool,
    /// Whether the user is locked.
    #[serde(default, deserialize_with = "nullable")]
    pub locked: bool,
    /// Creation (Unix ms).
    #[serde(default, deserialize_with = "nullable")]
    pub created_at: i64,
    /// Last update (Unix ms).
    #[serde(default, deserialize_with = "nullable")]
    pub updated_at: i64,
    /// Profile image.
    #[serde(default)]
    pub image_url: Option<String>,
    /// Whether the user uploaded an image.
    #[serde(default, deserialize_with = "nullable")]
    pub has_image: bool,
    /// Primary email address id.
    #[serde(default)]
    pub primary_email_address_id: Option<String>,
    /// Primary phone number id.
    #[serde(default)]
    pub primary_phone_number_id: Option<String>,
    /// Primary Web3 wallet id.
    #[serde(default)]
    pub primary_web3_wallet_id: Option<String>,
    /// Last sign-in (Unix ms).
    #[serde(default)]
    pub last_sign_in_at: Option<i64>,
    /// Your system's id for the user.
    #[serde(default)]
    pub external_id: Option<String>,
    /// Username.
    #[serde(default)]
    pub username: Option<String>,
    /// First name.
    #[serde(default)]
    pub first_name: Option<String>,
    /// Last name.
    #[serde(default)]
    pub last_name: Option<String>,
    /// Public metadata (readable by the frontend).
    #[serde(default)]
    pub public_metadata: Value,
    /// Private metadata (backend only).
    #[serde(default)]
    pub private_metadata: Value,
    /// Unsafe metadata (writable by the frontend).
    #[serde(default)]
    pub unsafe_metadata: Value,
    /// Email addresses.
    #[serde(default, deserialize_with = "nullable")]
    pub email_addresses: Vec<EmailAddress>,
    /// Phone numbers.
    #[serde(default, deserialize_with = "nullable")]
    pub phone_numbers: Vec<PhoneNumber>,
    /// Web3 wallets (as sent).
    #[serde(default, deserialize_with = "nullable")]
    pub web3_wallets: Vec<Value>,
    /// OAuth accounts.
    #[serde(default, deserialize_with = "nullable")]
    pub external_accounts: Vec<ExternalAccount>,
    /// Enterprise (SAML/OIDC) accounts (as sent).
    #[serde(default, deserialize_with = "nullable")]
    pub enterprise_accounts: Vec<Value>,
    /// Last activity (Unix ms).
    #[serde(default)]
    pub last_active_at: Option<i64>,
    /// Whether the user may create organisations.
    #[serde(default)]
    pub create_organization_enabled: Option<bool>,
    /// How many organisations the user may create.
    #[serde(default)]
    pub create_organizations_limit: Option<i64>,
    /// Whether the user may delete themselves.
    #[serde(default)]
    pub delete_self_enabled: Option<bool>,
    /// When the legal terms were accepted (Unix ms).
    #[serde(default)]
    pub legal_accepted_at: Option<i64>,
    /// Locale.
    #[serde(default)]
    pub locale: Option<String>,
    /// Time zone.
    #[serde(default)]
    pub timezone: Option<String>,
    /// Whether the user was deprovisioned (SCIM).
    #[serde(default)]
    pub deprovisioned: Option<bool>,
    /// Fields this crate does not model (`object`, `passkeys`, …).
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

impl User {
    /// The primary email address, if the user has one.
    pub fn primary_email_address(&self) -> Option<&EmailAddress> {
        let id = self.primary_email_address_id.as_deref()?;
        self.email_addresses.iter().find(|e| e.id == id)
    }

    /// The primary phone number, if the user has one.
    pub fn primary_phone_number(&self) -> Option<&PhoneNumber> {
        let id = self.primary_phone_number_id.as_deref()?;
        self.phone_numbers.iter().find(|p| p.id == id)
    }
}

/// An organisation.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Organization {
    /// `org_…`.
    pub id: String,
    /// Name.
    #[serde(default, deserialize_with = "nullable")]
    pub name: String,
    /// Slug.
    #[serde(default)]
    pub slug: Option<String>,
    /// Logo.
    #[serde(default)]
    pub image_url: Option<String>,
    /// Whether a logo was uploaded.
    #[serde(default)]
    pub has_image: Option<bool>,
    /// Creation (Unix ms).
    #[serde(default, deserialize_with = "nullable")]
    pub created_at: i64,
    /// Last update (Unix ms).
    #[serde(default, deserialize_with = "nullable")]
    pub updated_at: i64,
    /// Public metadata.
    #[serde(default)]
    pub public_metadata: Value,
    /// Private metadata.
    #[serde(default)]
    pub private_metadata: Value,
    /// Membership limit (0: unlimited).
    #[serde(default)]
    pub max_allowed_memberships: Option<i64>,
    /// Whether admins may delete it.
    #[serde(default)]
    pub admin_delete_enabled: Option<bool>,
    /// Member count (when asked for).
    #[serde(default)]
    pub members_count: Option<i64>,
    /// Creator's user id.
    #[serde(default)]
    pub created_by: Option<String>,
    /// Fields this crate does not model.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// The public data of a membership's user (`public_user_data`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OrganizationMembershipPublicUserData {
    /// The user's identifier (email address, …).
    #[serde(default)]
    pub identifier: Option<String>,
    /// First name.
    #[serde(default)]
    pub first_name: Option<String>,
    /// Last name.
    #[serde(default)]
    pub last_name: Option<String>,
    /// Profile image.
    #[serde(default)]
    pub image_url: Option<String>,
    /// Whether an image was uploaded.
    #[serde(default)]
    pub has_image: Option<bool>,
    /// The user's id.
    #[serde(default)]
    pub user_id: Option<String>,
    /// Fields this crate does not model.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// A user's membership of an organisation.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OrganizationMembership {
    /// `orgmem_…`.
    pub id: String,
    /// Role (`org:admin`, …).
    #[serde(default, deserialize_with = "nullable")]
    pub role: String,
    /// Permissions of the role.
    #[serde(default, deserialize_with = "nullable")]
    pub permissions: Vec<String>,
    /// Public metadata.
    #[serde(default)]
    pub public_metadata: Value,
    /// Private metadata.
    #[serde(default)]
    pub private_metadata: Value,
    /// Creation (Unix ms).
    #[serde(default, deserialize_with = "nullable")]
    pub created_at: i64,
    /// Last update (Unix ms).
    #[serde(default, deserialize_with = "nullable")]
    pub updated_at: i64,
    /// The organisation.
    #[serde(default)]
    pub organization: Option<Organization>,
    /// The member's public data.
    #[serde(default)]
    pub public_user_data: Option<OrganizationMembershipPublicUserData>,
    /// Fields this crate does not model.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// An invitation to the instance.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Invitation {
    /// `inv_…`.
    pub id: String,
    /// Invited address.
    pub email_address: String,
    /// Public metadata given to the user on sign-up.
    #[serde(default)]
    pub public_metadata: Value,
    /// Creation (Unix ms).
    #[serde(default, deserialize_with = "nullable")]
    pub created_at: i64,
    /// Last update (Unix ms).
    #[serde(default, deserialize_with = "nullable")]
    pub updated_at: i64,
    /// Status.
    pub status: InvitationStatus,
    /// The invitation link.
    #[serde(default)]
    pub url: Option<String>,
    /// Whether it was revoked.
    #[serde(default)]
    pub revoked: Option<bool>,
    /// Fields this crate does not model.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// An invitation to an organisation.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OrganizationInvitation {
    /// `orginv_…`.
    pub id: String,
    /// Invited address.
    pub email_address: String,
    /// Role given on acceptance.
    #[serde(default, deserialize_with = "nullable")]
    pub role: String,
    /// The role's name.
    #[serde(default)]
    pub role_name: Option<String>,
    /// The organisation.
    #[serde(default)]
    pub organization_id: Option<String>,
    /// Creation (Unix ms).
    #[serde(default, deserialize_with = "nullable")]
    pub created_at: i64,
    /// Last update (Unix ms).
    #[serde(default, deserialize_with = "nullable")]
    pub updated_at: i64,
    /// Expiry (Unix ms).
    #[serde(default)]
    pub expires_at: Option<i64>,
    /// The invitation link.
    #[serde(default)]
    pub url: Option<String>,
    /// Status.
    pub status: InvitationStatus,
    /// Public metadata.
    #[serde(default)]
    pub public_metadata: Value,
    /// Private metadata.
    #[serde(default)]
    pub private_metadata: Value,
    /// The organisation's public data.
    #[serde(default)]
    pub public_organization_data: Option<Value>,
    /// Fields this crate does not model.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// A session's latest activity.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SessionActivity {
    /// `sess_activity_…`.
    #[serde(default)]
    pub id: Option<String>,
    /// Whether on a mobile device.
    #[serde(default)]
    pub is_mobile: Option<bool>,
    /// IP address.
    #[serde(default)]
    pub ip_address: Option<String>,
    /// City.
    #[serde(default)]
    pub city: Option<String>,
    /// Country.
    #[serde(default)]
    pub country: Option<String>,
    /// Browser version.
    #[serde(default)]
    pub browser_version: Option<String>,
    /// Browser name.
    #[serde(default)]
    pub browser_name: Option<String>,
    /// Device type.
    #[serde(default)]
    pub device_type: Option<String>,
    /// Fields this crate does not model.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// A session.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Session {
    /// `sess_…`.
    pub id: String,
    /// The client (browser) it belongs to.
    #[serde(default)]
    pub client_id: Option<String>,
    /// The user.
    #[serde(default, deserialize_with = "nullable")]
    pub user_id: String,
    /// Status.
    pub status: SessionStatus,
    /// Last activity (Unix ms).
    #[serde(default)]
    pub last_active_at: Option<i64>,
    /// Expiry (Unix ms).
    #[serde(default)]
    pub expire_at: Option<i64>,
    /// Abandonment (Unix ms).
    #[serde(default)]
    pub abandon_at: Option<i64>,
    /// Creation (Unix ms).
    #[serde(default, deserialize_with = "nullable")]
    pub created_at: i64,
    /// Last update (Unix ms).
    #[serde(default, deserialize_with = "nullable")]
    pub updated_at: i64,
    /// The active organisation last.
    #[serde(default)]
    pub last_active_organization_id: Option<String>,
    /// Latest activity.
    #[serde(default)]
    pub latest_activity: Option<SessionActivity>,
    /// The actor of an impersonation session.
    #[serde(default)]
    pub actor: Option<Value>,
    /// Fields this crate does not model.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// What a deletion answers.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DeletedObject {
    /// The kind of object (`user`, `organization`, …).
    #[serde(default)]
    pub object: Option<String>,
    /// Its id.
    #[serde(default)]
    pub id: Option<String>,
    /// Its slug (organisations).
    #[serde(default)]
    pub slug: Option<String>,
    /// Whether it was deleted.
    #[serde(default, deserialize_with = "nullable")]
    pub deleted: bool,
    /// Fields this crate does not model.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn roundtrip<T: Serialize + serde::de::DeserializeOwned>(v: Value) -> T {
        let parsed: T = serde_json::from_value(v.clone()).unwrap();
        assert_eq!(
            serde_json::to_value(&parsed).unwrap(),
            v,
            "same JSON members back"
        );
        parsed
    }

    fn verification() -> Value {
        json!({"object": "verification_email_code", "status": "verified", "strategy": "email_code",
               "external_verification_redirect_url": null, "attempts": 1, "expire_at": 1700000000000_i64,
               "nonce": null})
    }

    fn user_json() -> Value {
        let user = json!({
            "id": "user_1", "object": "user", "username": null, "first_name": "Ada", "last_name": null,
            "image_url": "https://img.clerk.com/x", "has_image": false,
            "primary_email_address_id": "idn_2", "primary_phone_number_id": null,
            "primary_web3_wallet_id": null, "password_enabled": true, "two_factor_enabled": false,
            "totp_enabled": false, "backup_code_enabled": false,
            "email_addresses": [
                {"id": "idn_1", "object": "email_address", "email_address": "old@example.com",
                 "reserved": false, "verification": null, "linked_to": []},
                {"id": "idn_2", "object": "email_address", "email_address": "ada@example.com",
                 "reserved": false, "verification": verification(),
                 "linked_to": [{"id": "idn_9", "type": "oauth_google"}]}
            ],
            "public_metadata": {"role": "admin"}, "private_metadata": {}, "unsafe_metadata": {},
            "external_id": "ext-1", "last_sign_in_at": 1700000000000_i64, "banned": false, "locked": false,
            "lockout_expires_in_seconds": null, "verification_attempts_remaining": 100,
            "created_at": 1690000000000_i64, "updated_at": 1700000000000_i64,
            "delete_self_enabled": true, "create_organization_enabled": true,
            "create_organizations_limit": null, "last_active_at": 1700000000000_i64,
            "mfa_enabled_at": null, "mfa_disabled_at": null, "legal_accepted_at": null,
            "locale": null, "timezone": null, "deprovisioned": false, "new_field_from_clerk": {"x": 1}
        });
        let more = json!({
            "phone_numbers": [{"id": "idn_3", "object": "phone_number", "phone_number": "+15555550100",
                "reserved_for_second_factor": false, "default_second_factor": false,
                "verification": {"status": "brand_new_status", "strategy": "phone_code",
                    "external_verification_redirect_url": null, "attempts": null, "expire_at": null,
                    "nonce": null},
                "linked_to": []}],
            "web3_wallets": [], "passkeys": [],
            "external_accounts": [{"id": "eac_1", "object": "google_account", "provider": "oauth_google",
                "provider_user_id": "123", "identification_id": "idn_9", "approved_scopes": "email",
                "email_address": "ada@example.com", "first_name": "Ada", "last_name": "L",
                "image_url": "", "username": null, "phone_number": null, "public_metadata": {},
                "label": null, "verification": verification()}],
            "saml_accounts": [], "enterprise_accounts": []
        });
        let (Value::Object(mut u), Value::Object(m)) = (user, more) else {
            unreachable!()
        };
        u.extend(m);
        Value::Object(u)
    }

    #[test]
    fn user_parses_and_roundtrips_with_unknown_fields_and_values() {
        let user: User = roundtrip(user_json());
        assert_eq!(
            user.primary_email_address().unwrap().email_address,
            "ada@example.com"
        );
        assert!(user.primary_phone_number().is_none());
        assert_eq!(user.extra["new_field_from_clerk"], json!({"x": 1}));
        assert_eq!(user.extra["object"], "user");
        assert_eq!(user.public_metadata["role"], "admin");
        let v = user.email_addresses[1].verification.as_ref().unwrap();
        assert_eq!(v.status, VerificationStatus::Verified);
        assert_eq!(
            user.phone_numbers[0].verification.as_ref().unwrap().status,
            VerificationStatus::Other("brand_new_status".into())
        );
        assert_eq!(
            user.email_addresses[1].linked_to[0].kind.as_deref(),
            Some("oauth_google")
        );
        assert_eq!(
            user.external_accounts[0].provider.as_deref(),
            Some("oauth_google")
        );
    }

    #[test]
    fn user_missing_and_null_fields() {
        let user: User = serde_json::from_value(json!({"id": "user_1"})).unwrap();
        assert!(user.email_addresses.is_empty() && user.primary_email_address().is_none());
        assert!(!user.banned && user.first_name.is_none());
        let mut nulls = user_json();
        for (k, v) in nulls.as_object_mut().unwrap() {
            if k != "id" {
                *v = Value::Null;
            }
        }
        let user: User = serde_json::from_value(nulls).unwrap();
        assert!(user.email_addresses.is_empty() && user.created_at == 0);
        assert!(user.extra.contains_key("passkeys"));
    }

    #[test]
    fn organization_and_membership() {
        let org = json!({"object": "organization", "id": "org_1", "name": "Acme", "slug": "acme",
            "image_url": "", "has_image": false, "members_count": null, "pending_invitations_count": 0,
            "max_allowed_memberships": 5, "admin_delete_enabled": true, "public_metadata": {},
            "private_metadata": {"plan": "pro"}, "created_by": "user_1",
            "created_at": 1_i64, "updated_at": 2_i64});
        let o: Organization = roundtrip(org.clone());
        assert_eq!(o.private_metadata["plan"], "pro");
        assert_eq!(o.extra["pending_invitations_count"], 0);
        let m: OrganizationMembership = roundtrip(json!({"object": "organization_membership",
            "id": "orgmem_1", "role": "org:admin", "role_name": "Admin", "permissions": ["org:sys:read"],
            "public_metadata": {}, "private_metadata": {}, "organization": org,
            "public_user_data": {"identifier": "ada@example.com", "first_name": "Ada", "last_name": null,
                "image_url": "https://img", "has_image": true, "user_id": "user_1", "username": "ada"},
            "created_at": 1_i64, "updated_at": 2_i64}));
        let p = m.public_user_data.as_ref().unwrap();
        assert_eq!(p.user_id.as_deref(), Some("user_1"));
        assert_eq!(p.extra["username"], "ada");
        assert_eq!(m.extra["role_name"], "Admin");
        let m: OrganizationMembership = serde_json::from_value(
            json!({"id": "orgmem_1", "organization": null, "permissions": null}),
        )
        .unwrap();
        assert!(m.organization.is_none() && m.permissions.is_empty());
        let o: Organization = serde_json::from_value(json!({"id": "org_1", "name": null})).unwrap();
        assert_eq!(o.name, "");
    }

    #[test]
    fn invitations_keep_unknown_statuses() {
        let i: Invitation = roundtrip(json!({"object": "invitation", "id": "inv_1",
            "email_address": "a@example.com", "public_metadata": {}, "revoked": false,
            "status": "pending", "url": null, "expires_at": null, "created_at": 1_i64, "updated_at": 2_i64}));
        assert_eq!(i.status, InvitationStatus::Pending);
        let i: Invitation = serde_json::from_value(json!({"id": "inv_1",
            "email_address": "a@example.com", "status": "snoozed"}))
        .unwrap();
        assert_eq!(i.status, InvitationStatus::Other("snoozed".into()));
        assert_eq!(serde_json::to_value(&i.status).unwrap(), "snoozed");
        let o: OrganizationInvitation = roundtrip(json!({"object": "organization_invitation",
            "id": "orginv_1", "email_address": "b@example.com", "role": "org:member",
            "role_name": "Member", "organization_id": "org_1", "public_organization_data": {"id": "org_1"},
            "status": "revoked", "public_metadata": {}, "private_metadata": {}, "url": null,
            "expires_at": 5_i64, "created_at": 1_i64, "updated_at": 2_i64}));
        assert_eq!(o.status, InvitationStatus::Revoked);
        let o: OrganizationInvitation = serde_json::from_value(json!({"id": "orginv_1",
            "email_address": "b@example.com", "status": "accepted", "role": null}))
        .unwrap();
        assert_eq!(o.role, "");
    }

    #[test]
    fn sessions_and_deleted_objects() {
        let s: Session = roundtrip(
            json!({"object": "session", "id": "sess_1", "client_id": "client_1",
            "user_id": "user_1", "status": "active", "last_active_organization_id": null,
            "actor": null, "latest_activity": {"object": "session_activity", "id": "sa_1",
                "is_mobile": false, "ip_address": "127.0.0.1", "city": null, "country": null,
                "browser_version": null, "browser_name": "Firefox", "device_type": null},
            "expire_at": 3_i64, "abandon_at": 4_i64, "last_active_at": 2_i64, "created_at": 1_i64,
            "updated_at": 2_i64, "tasks": null}),
        );
        assert_eq!(s.status, SessionStatus::Active);
        assert_eq!(
            s.latest_activity.unwrap().browser_name.as_deref(),
            Some("Firefox")
        );
        let s: Session =
            serde_json::from_value(json!({"id": "sess_1", "status": "frozen"})).unwrap();
        assert_eq!(s.status.as_str(), "frozen");
        let d: DeletedObject =
            roundtrip(json!({"object": "user", "id": "user_1", "slug": null, "deleted": true}));
        assert!(d.deleted);
        let d: DeletedObject = serde_json::from_value(json!({"deleted": true})).unwrap();
        assert!(d.id.is_none());
    }
}
