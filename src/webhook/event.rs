//! The verified event ([`ClerkWebhook`]) and typed access to its data ([`WebhookEvent`]).

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::Value;

use super::error::WebhookError;

static NULL: Value = Value::Null;

/// A verified Clerk webhook delivery: the event, in Clerk's shape, and the delivery's id and
/// timestamp.
///
/// As an extractor it reads the raw body, verifies it with the app's
/// [`WebhookVerifier`](crate::WebhookVerifier) and fails with [`ClerkError::Webhook`]
/// (`400`, `413` for a body over the limit, `500` without a verifier), so the handler only
/// runs for genuine deliveries. It serialises as `verifyWebhook` of `@clerk/backend` returns
/// the event: `{"type", "object": "event", "data", "event_attributes", "timestamp",
/// "instance_id"}` (members absent from the payload are left out).
///
/// Svix retries a delivery that did not get a `2xx` answer, with the same
/// [`delivery_id`](Self::delivery_id): handlers should process each id once.
///
/// ```
/// use actix_clerk::{ClerkWebhook, WebhookEvent};
///
/// async fn clerk_webhook(event: ClerkWebhook) -> &'static str {
///     match event.typed() {
///         Ok(WebhookEvent::UserCreated(user)) => {
///             println!("new user {} <{}>", user.id, user.primary_email_address().unwrap_or("-"));
///         }
///         Ok(WebhookEvent::UserDeleted(deleted)) => println!("user {:?} deleted", deleted.id),
///         Ok(_) => println!("{} ignored", event.event_type()),
///         Err(e) => println!("unexpected data for {}: {e}", event.event_type()),
///     }
///     "ok"
/// }
/// # let _ = clerk_webhook;
/// ```
///
/// [`ClerkError::Webhook`]: crate::ClerkError::Webhook
#[derive(Debug, Clone, PartialEq)]
pub struct ClerkWebhook {
    delivery_id: String,
    delivery_timestamp: i64,
    event_type: String,
    data: Option<Value>,
    event_attributes: Option<Value>,
    timestamp: Option<Value>,
    instance_id: Option<Value>,
}

impl ClerkWebhook {
    /// The event from a verified body (`type` must be a string, as in every Clerk event).
    pub(crate) fn from_verified(
        delivery_id: String,
        delivery_timestamp: i64,
        text: &str,
    ) -> Result<Self, WebhookError> {
        let Ok(Value::Object(mut payload)) = serde_json::from_str::<Value>(text) else {
            return Err(WebhookError::InvalidPayload);
        };
        let Some(Value::String(event_type)) = payload.remove("type") else {
            return Err(WebhookError::InvalidPayload);
        };
        Ok(ClerkWebhook {
            delivery_id,
            delivery_timestamp,
            event_type,
            data: payload.remove("data"),
            event_attributes: payload.remove("event_attributes"),
            timestamp: payload.remove("timestamp"),
            instance_id: payload.remove("instance_id"),
        })
    }

    /// The event type: `user.created`, `organizationMembership.deleted`, … (any string: a
    /// type Clerk adds later is delivered like the others).
    pub fn event_type(&self) -> &str {
        &self.event_type
    }

    /// The event's `data` (the user, session, organization… the event is about); `null` when
    /// the payload has none.
    pub fn data(&self) -> &Value {
        self.data.as_ref().unwrap_or(&NULL)
    }

    /// The event's `event_attributes` (`{"http_request": {"client_ip", "user_agent"}}` for
    /// events caused by a request).
    pub fn event_attributes(&self) -> Option<&Value> {
        self.event_attributes.as_ref()
    }

    /// The event's `timestamp`: when Clerk created it, in milliseconds since the epoch.
    pub fn timestamp_ms(&self) -> Option<i64> {
        self.timestamp.as_ref().and_then(Value::as_i64)
    }

    /// The event's `instance_id`: the Clerk instance it comes from (`ins_…`).
    pub fn instance_id(&self) -> Option<&str> {
        self.instance_id.as_ref().and_then(Value::as_str)
    }

    /// The delivery's `svix-id` (`msg_…`): the same for every retry of one message, so a
    /// handler can process each message once.
    pub fn delivery_id(&self) -> &str {
        &self.delivery_id
    }

    /// The delivery's `svix-timestamp`, in seconds since the epoch (as signed; within 5
    /// minutes of the time it was verified).
    pub fn delivery_timestamp(&self) -> i64 {
        self.delivery_timestamp
    }

    /// The data, typed by the event type for the common families; [`WebhookEvent::Other`]
    /// for every other type. Fails only when a known type's data does not have the shape
    /// Clerk documents (the untyped [`data`](Self::data) is still there).
    pub fn typed(&self) -> Result<WebhookEvent, serde_json::Error> {
        use WebhookEvent as E;
        let data = self.data();
        fn de<T: serde::de::DeserializeOwned>(data: &Value) -> Result<T, serde_json::Error> {
            T::deserialize(data)
        }
        Ok(match self.event_type.as_str() {
            "user.created" => E::UserCreated(de(data)?),
            "user.updated" => E::UserUpdated(de(data)?),
            "user.deleted" => E::UserDeleted(de(data)?),
            "session.created" => E::SessionCreated(de(data)?),
            "session.ended" => E::SessionEnded(de(data)?),
            "session.removed" => E::SessionRemoved(de(data)?),
            "session.revoked" => E::SessionRevoked(de(data)?),
            "organization.created" => E::OrganizationCreated(de(data)?),
            "organization.updated" => E::OrganizationUpdated(de(data)?),
            "organization.deleted" => E::OrganizationDeleted(de(data)?),
            "organizationMembership.created" => E::OrganizationMembershipCreated(de(data)?),
            "organizationMembership.updated" => E::OrganizationMembershipUpdated(de(data)?),
            "organizationMembership.deleted" => E::OrganizationMembershipDeleted(de(data)?),
            "email.created" => E::EmailCreated(de(data)?),
            _ => E::Other,
        })
    }
}

impl Serialize for ClerkWebhook {
    /// As `verifyWebhook` returns it: `type`, `object: "event"`, then `data`,
    /// `event_attributes`, `timestamp`, `instance_id` when the payload has them.
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap as _;
        let optional = [
            ("data", &self.data),
            ("event_attributes", &self.event_attributes),
            ("timestamp", &self.timestamp),
            ("instance_id", &self.instance_id),
        ];
        let len = 2 + optional.iter().filter(|(_, v)| v.is_some()).count();
        let mut map = serializer.serialize_map(Some(len))?;
        map.serialize_entry("type", &self.event_type)?;
        map.serialize_entry("object", "event")?;
        for (name, value) in optional {
            if let Some(value) = value {
                map.serialize_entry(name, value)?;
            }
        }
        map.end()
    }
}

/// The data of a [`ClerkWebhook`], typed by its event type ([`ClerkWebhook::typed`]).
///
/// Types and fields follow `@clerk/backend`'s `WebhookEvent`. Every field but the `id`s is
/// optional or defaults when absent or `null`, so a field Clerk drops does not break the
/// handler; unknown fields are ignored (they stay in [`ClerkWebhook::data`]).
#[derive(Debug, Clone)]
#[non_exhaustive]
pub enum WebhookEvent {
    /// `user.created`
    UserCreated(UserData),
    /// `user.updated`
    UserUpdated(UserData),
    /// `user.deleted`
    UserDeleted(DeletedObjectData),
    /// `session.created`
    SessionCreated(SessionData),
    /// `session.ended`
    SessionEnded(SessionData),
    /// `session.removed`
    SessionRemoved(SessionData),
    /// `session.revoked`
    SessionRevoked(SessionData),
    /// `organization.created`
    OrganizationCreated(OrganizationData),
    /// `organization.updated`
    OrganizationUpdated(OrganizationData),
    /// `organization.deleted`
    OrganizationDeleted(DeletedObjectData),
    /// `organizationMembership.created`
    OrganizationMembershipCreated(OrganizationMembershipData),
    /// `organizationMembership.updated`
    OrganizationMembershipUpdated(OrganizationMembershipData),
    /// `organizationMembership.deleted`
    OrganizationMembershipDeleted(OrganizationMembershipData),
    /// `email.created` (an email Clerk would send, when delivery is delegated to the app)
    EmailCreated(EmailData),
    /// Any other type (`sms.created`, `organizationInvitation.*`, `subscription.*`, types
    /// added later…): read [`ClerkWebhook::event_type`] and [`ClerkWebhook::data`].
    Other,
}

/// `null` read as the type's default (Clerk sends `null` for empty lists and flags at times).
fn nullable<'de, D, T>(deserializer: D) -> Result<T, D::Error>
where
    D: Deserializer<'de>,
    T: Default + Deserialize<'de>,
{
    Ok(Option::<T>::deserialize(deserializer)?.unwrap_or_default())
}

/// A user (`user.created`, `user.updated`; `SessionData::user`).
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[non_exhaustive]
pub struct UserData {
    /// `user_…`
    pub id: String,
    /// The user's username.
    #[serde(default)]
    pub username: Option<String>,
    /// First name.
    #[serde(default)]
    pub first_name: Option<String>,
    /// Last name.
    #[serde(default)]
    pub last_name: Option<String>,
    /// Profile image URL.
    #[serde(default)]
    pub image_url: Option<String>,
    /// The id of the primary entry of [`email_addresses`](Self::email_addresses).
    #[serde(default)]
    pub primary_email_address_id: Option<String>,
    /// The id of the primary entry of [`phone_numbers`](Self::phone_numbers).
    #[serde(default)]
    pub primary_phone_number_id: Option<String>,
    /// Email addresses.
    #[serde(default, deserialize_with = "nullable")]
    pub email_addresses: Vec<EmailAddressData>,
    /// Phone numbers.
    #[serde(default, deserialize_with = "nullable")]
    pub phone_numbers: Vec<PhoneNumberData>,
    /// The id the application gave the user.
    #[serde(default)]
    pub external_id: Option<String>,
    /// Public metadata (`null` when absent).
    #[serde(default)]
    pub public_metadata: Value,
    /// Private metadata (`null` when absent).
    #[serde(default)]
    pub private_metadata: Value,
    /// Unsafe metadata (`null` when absent).
    #[serde(default)]
    pub unsafe_metadata: Value,
    /// Whether the user is banned.
    #[serde(default, deserialize_with = "nullable")]
    pub banned: bool,
    /// Whether the user is locked.
    #[serde(default, deserialize_with = "nullable")]
    pub locked: bool,
    /// Last sign-in, in milliseconds since the epoch.
    #[serde(default)]
    pub last_sign_in_at: Option<i64>,
    /// Creation, in milliseconds since the epoch.
    #[serde(default)]
    pub created_at: Option<i64>,
    /// Last update, in milliseconds since the epoch.
    #[serde(default)]
    pub updated_at: Option<i64>,
}

impl UserData {
    /// The primary email address, if the user has one.
    pub fn primary_email_address(&self) -> Option<&str> {
        let primary = self.primary_email_address_id.as_deref()?;
        self.email_addresses
            .iter()
            .find(|e| e.id == primary)
            .map(|e| e.email_address.as_str())
    }
}

/// An email address of a user.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[non_exhaustive]
pub struct EmailAddressData {
    /// `idn_…`
    #[serde(default)]
    pub id: String,
    /// The address.
    #[serde(default)]
    pub email_address: String,
    /// Its verification (`{"status": "verified", "strategy": …}`), if any.
    #[serde(default)]
    pub verification: Option<Value>,
}

/// A phone number of a user.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[non_exhaustive]
pub struct PhoneNumberData {
    /// `idn_…`
    #[serde(default)]
    pub id: String,
    /// The number.
    #[serde(default)]
    pub phone_number: String,
    /// Its verification, if any.
    #[serde(default)]
    pub verification: Option<Value>,
}

/// What a `*.deleted` event carries for a user or an organization.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[non_exhaustive]
pub struct DeletedObjectData {
    /// `user`, `organization`…
    #[serde(default)]
    pub object: String,
    /// The deleted object's id.
    #[serde(default)]
    pub id: Option<String>,
    /// The deleted object's slug (organizations).
    #[serde(default)]
    pub slug: Option<String>,
    /// The external id of a deleted user, if one was set.
    #[serde(default)]
    pub external_id: Option<String>,
    /// Always `true`.
    #[serde(default, deserialize_with = "nullable")]
    pub deleted: bool,
}

/// A session (`session.*`).
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[non_exhaustive]
pub struct SessionData {
    /// `sess_…`
    pub id: String,
    /// The session's user.
    #[serde(default)]
    pub user_id: String,
    /// The client (browser) of the session.
    #[serde(default)]
    pub client_id: Option<String>,
    /// `active`, `ended`, `removed`, `revoked`, `pending`…
    #[serde(default)]
    pub status: String,
    /// The active organization, if any.
    #[serde(default)]
    pub last_active_organization_id: Option<String>,
    /// The impersonating actor, if any.
    #[serde(default)]
    pub actor: Option<Value>,
    /// Last activity, in milliseconds since the epoch.
    #[serde(default)]
    pub last_active_at: Option<i64>,
    /// Expiry, in milliseconds since the epoch.
    #[serde(default)]
    pub expire_at: Option<i64>,
    /// Abandonment, in milliseconds since the epoch.
    #[serde(default)]
    pub abandon_at: Option<i64>,
    /// Creation, in milliseconds since the epoch.
    #[serde(default)]
    pub created_at: Option<i64>,
    /// Last update, in milliseconds since the epoch.
    #[serde(default)]
    pub updated_at: Option<i64>,
    /// The session's user, when Clerk includes it.
    #[serde(default)]
    pub user: Option<UserData>,
}

/// An organization (`organization.created`, `organization.updated`; in memberships).
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[non_exhaustive]
pub struct OrganizationData {
    /// `org_…`
    pub id: String,
    /// Name.
    #[serde(default)]
    pub name: String,
    /// Slug.
    #[serde(default)]
    pub slug: Option<String>,
    /// Logo URL.
    #[serde(default)]
    pub image_url: Option<String>,
    /// Number of members, when included.
    #[serde(default)]
    pub members_count: Option<u64>,
    /// Membership limit (0: none).
    #[serde(default)]
    pub max_allowed_memberships: Option<u64>,
    /// The user who created it.
    #[serde(default)]
    pub created_by: Option<String>,
    /// Public metadata (`null` when absent).
    #[serde(default)]
    pub public_metadata: Value,
    /// Private metadata (`null` when absent).
    #[serde(default)]
    pub private_metadata: Value,
    /// Creation, in milliseconds since the epoch.
    #[serde(default)]
    pub created_at: Option<i64>,
    /// Last update, in milliseconds since the epoch.
    #[serde(default)]
    pub updated_at: Option<i64>,
}

/// A membership of a user in an organization (`organizationMembership.*`).
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[non_exhaustive]
pub struct OrganizationMembershipData {
    /// `orgmem_…`
    pub id: String,
    /// `org:admin`, `org:member`, or a custom role.
    #[serde(default)]
    pub role: String,
    /// The role's permissions (`org:invoices:create`, …).
    #[serde(default, deserialize_with = "nullable")]
    pub permissions: Vec<String>,
    /// The organization.
    #[serde(default)]
    pub organization: OrganizationData,
    /// The member.
    #[serde(default)]
    pub public_user_data: PublicUserData,
    /// Public metadata (`null` when absent).
    #[serde(default)]
    pub public_metadata: Value,
    /// Private metadata (`null` when absent).
    #[serde(default)]
    pub private_metadata: Value,
    /// Creation, in milliseconds since the epoch.
    #[serde(default)]
    pub created_at: Option<i64>,
    /// Last update, in milliseconds since the epoch.
    #[serde(default)]
    pub updated_at: Option<i64>,
}

/// The member of an [`OrganizationMembershipData`].
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[non_exhaustive]
pub struct PublicUserData {
    /// `user_…`
    #[serde(default)]
    pub user_id: String,
    /// The identifier the user signed up with (an email address, a username…).
    #[serde(default)]
    pub identifier: String,
    /// First name.
    #[serde(default)]
    pub first_name: Option<String>,
    /// Last name.
    #[serde(default)]
    pub last_name: Option<String>,
    /// Profile image URL.
    #[serde(default)]
    pub image_url: Option<String>,
}

/// An email Clerk asks the application to send (`email.created`).
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[non_exhaustive]
pub struct EmailData {
    /// `ema_…`
    pub id: String,
    /// The template (`verification_code`, `magic_link_sign_in`, …).
    #[serde(default)]
    pub slug: Option<String>,
    /// The sender's name.
    #[serde(default)]
    pub from_email_name: Option<String>,
    /// The recipient.
    #[serde(default)]
    pub to_email_address: Option<String>,
    /// The recipient's email address id.
    #[serde(default)]
    pub email_address_id: Option<String>,
    /// The recipient user, if any.
    #[serde(default)]
    pub user_id: Option<String>,
    /// Subject.
    #[serde(default)]
    pub subject: Option<String>,
    /// HTML body.
    #[serde(default)]
    pub body: Option<String>,
    /// Plain-text body.
    #[serde(default)]
    pub body_plain: Option<String>,
    /// `queued`, `delivered`…
    #[serde(default)]
    pub status: Option<String>,
    /// The template's variables (`otp_code`, …).
    #[serde(default)]
    pub data: Value,
    /// Whether Clerk delivers it itself.
    #[serde(default, deserialize_with = "nullable")]
    pub delivered_by_clerk: bool,
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn event(text: &str) -> Result<ClerkWebhook, WebhookError> {
        ClerkWebhook::from_verified("msg_1".into(), 1, text)
    }

    #[test]
    fn serialises_in_clerks_shape() {
        let e = event(r#"{"data":{"id":"user_1"},"object":"x","type":"user.created","extra":1,"instance_id":"ins_1","timestamp":1700000000000,"event_attributes":{"http_request":{"client_ip":"","user_agent":""}}}"#).unwrap();
        assert_eq!(
            serde_json::to_string(&e).unwrap(),
            r#"{"type":"user.created","object":"event","data":{"id":"user_1"},"event_attributes":{"http_request":{"client_ip":"","user_agent":""}},"timestamp":1700000000000,"instance_id":"ins_1"}"#
        );
        let e = event(r#"{"type":"x","data":null}"#).unwrap();
        assert_eq!(
            serde_json::to_value(&e).unwrap(),
            json!({"type":"x","object":"event","data":null})
        );
        assert_eq!(e.data(), &Value::Null);
    }

    #[test]
    fn only_objects_with_a_string_type_are_events() {
        for bad in [
            "",
            "null",
            "1",
            "[]",
            "\"x\"",
            "{}",
            r#"{"type":5}"#,
            "{",
            r#"{"type":"a"} x"#,
        ] {
            assert_eq!(event(bad), Err(WebhookError::InvalidPayload), "{bad}");
        }
        assert_eq!(
            event(r#"{"type":"a","type":"b"}"#).unwrap().event_type(),
            "b"
        );
    }

    #[test]
    fn typed_access_is_lenient_and_other_types_are_not_errors() {
        let e = event(r#"{"type":"user.created","data":{"id":"user_1","email_addresses":null,"banned":null,"primary_email_address_id":"idn_2","new_field":{}}}"#).unwrap();
        match e.typed().unwrap() {
            WebhookEvent::UserCreated(u) => {
                assert_eq!(u.id, "user_1");
                assert!(u.email_addresses.is_empty() && !u.banned);
                assert_eq!(u.primary_email_address(), None);
            }
            other => panic!("{other:?}"),
        }
        let e = event(r#"{"type":"waitlistEntry.created","data":[1]}"#).unwrap();
        assert!(matches!(e.typed().unwrap(), WebhookEvent::Other));
        let e = event(r#"{"type":"user.created","data":{"first_name":"x"}}"#).unwrap();
        assert!(e.typed().is_err());
    }
}
