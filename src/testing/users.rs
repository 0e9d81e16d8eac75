//! The users resource of the Backend API stand-in: `/v1/users` (list, count, get, create,
//! update, metadata, delete, ban, unban, lock, unlock), Clerk-shaped `user` objects kept in
//! memory.

use actix_web::http::Method;
use serde_json::{json, Map, Value};

use super::backend::{Shared, TestBackendApi};
use super::store::{
    exists, find_mut, list, metadata, missing, new_id, not_found, now_ms, ok, route, set_fields,
    Answer, Req, Store,
};

/// The fields `PATCH /v1/users/{id}` sets.
const UPDATABLE: &[&str] = &[
    "first_name",
    "last_name",
    "username",
    "external_id",
    "primary_email_address_id",
    "public_metadata",
    "private_metadata",
    "unsafe_metadata",
    "create_organization_enabled",
    "create_organizations_limit",
    "delete_self_enabled",
    "locale",
];

const METADATA: &[&str] = &["public_metadata", "private_metadata", "unsafe_metadata"];

/// Routes the users resource to the store of `s`.
pub(super) fn routes(cfg: &mut actix_web::web::ServiceConfig, s: Shared) {
    route(cfg, &s, Method::GET, "/v1/users", list_users);
    route(cfg, &s, Method::POST, "/v1/users", create);
    route(cfg, &s, Method::GET, "/v1/users/count", count);
    route(cfg, &s, Method::GET, "/v1/users/{id}", get);
    route(cfg, &s, Method::PATCH, "/v1/users/{id}", update);
    route(cfg, &s, Method::DELETE, "/v1/users/{id}", delete);
    route(
        cfg,
        &s,
        Method::PATCH,
        "/v1/users/{id}/metadata",
        update_metadata,
    );
    route(
        cfg,
        &s,
        Method::PUT,
        "/v1/users/{id}/metadata",
        update_metadata,
    );
    for action in ["ban", "unban", "lock", "unlock"] {
        let path = format!("/v1/users/{{id}}/{action}");
        route(cfg, &s, Method::POST, &path, flag);
    }
}

/// The strings of `body[name]`: an array of strings, or one string.
fn strings(body: &Map<String, Value>, name: &str) -> Vec<String> {
    match body.get(name) {
        Some(Value::Array(a)) => a
            .iter()
            .filter_map(|v| v.as_str().map(str::to_owned))
            .collect(),
        Some(Value::String(s)) => vec![s.clone()],
        _ => Vec::new(),
    }
}

/// The email addresses of a user.
fn emails_of(user: &Value) -> Vec<String> {
    user["email_addresses"]
        .as_array()
        .map(|a| {
            a.iter()
                .filter_map(|e| e["email_address"].as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default()
}

/// A new user from the body of `POST /v1/users`, or Clerk's `422`.
pub(super) fn new_user(store: &Store, body: &Map<String, Value>) -> Result<Value, Answer> {
    let emails = strings(body, "email_address");
    let phones = strings(body, "phone_number");
    let text = |name: &str| body.get(name).cloned().unwrap_or(Value::Null);
    if emails.is_empty() && phones.is_empty() && text("username").is_null() {
        return Err(missing("email_address"));
    }
    for user in &store.users {
        if emails_of(user).iter().any(|e| emails.contains(e)) {
            return Err(exists("email_address"));
        }
        if !text("username").is_null() && user["username"] == text("username") {
            return Err(exists("username"));
        }
    }
    let now = now_ms();
    let email = |address: &String| {
        json!({
            "object": "email_address",
            "id": new_id("idn"),
            "email_address": address,
            "reserved": false,
            "verification": {
                "status": "verified",
                "strategy": "admin",
                "attempts": null,
                "expire_at": null,
            },
            "linked_to": [],
            "matches_sso_connection": false,
            "created_at": now,
            "updated_at": now,
        })
    };
    let email_addresses: Vec<Value> = emails.iter().map(email).collect();
    let phone_numbers: Vec<Value> = phones
        .iter()
        .map(|p| {
            json!({
                "object": "phone_number",
                "id": new_id("idn"),
                "phone_number": p,
                "reserved_for_second_factor": false,
                "default_second_factor": false,
                "reserved": false,
                "verification": {"status": "verified", "strategy": "admin", "attempts": null, "expire_at": null},
                "linked_to": [],
                "backup_codes": null,
                "created_at": now,
                "updated_at": now,
            })
        })
        .collect();
    let meta = |name: &str| body.get(name).cloned().unwrap_or_else(|| json!({}));
    Ok(json!({
        "object": "user",
        "id": new_id("user"),
        "external_id": text("external_id"),
        "primary_email_address_id": email_addresses.first().map(|e| e["id"].clone()),
        "primary_phone_number_id": phone_numbers.first().map(|p| p["id"].clone()),
        "primary_web3_wallet_id": null,
        "username": text("username"),
        "first_name": text("first_name"),
        "last_name": text("last_name"),
        "image_url": "https://img.clerk.com/standin",
        "has_image": false,
        "public_metadata": meta("public_metadata"),
        "private_metadata": meta("private_metadata"),
        "unsafe_metadata": meta("unsafe_metadata"),
        "email_addresses": email_addresses,
        "phone_numbers": phone_numbers,
        "web3_wallets": [],
        "passkeys": [],
        "external_accounts": [],
        "saml_accounts": [],
        "enterprise_accounts": [],
        "password_enabled": body.get("password").is_some_and(|p| !p.is_null()),
        "two_factor_enabled": false,
        "totp_enabled": false,
        "backup_code_enabled": false,
        "banned": false,
        "locked": false,
        "lockout_expires_in_seconds": null,
        "verification_attempts_remaining": 100,
        "last_sign_in_at": null,
        "last_active_at": null,
        "legal_accepted_at": null,
        "create_organization_enabled": true,
        "create_organizations_limit": null,
        "delete_self_enabled": true,
        "locale": null,
        "created_at": now,
        "updated_at": now,
    }))
}

/// The users matching the query's filters: `email_address`, `user_id`, `username`,
/// `external_id` (each repeatable), `query` (a substring of an id, email, name or username).
fn matching(store: &Store, req: &Req) -> Vec<Value> {
    let emails = req.all("email_address");
    let ids = req.all("user_id");
    let usernames = req.all("username");
    let external = req.all("external_id");
    let query = req.param("query").map(|q| q.to_lowercase());
    store
        .users
        .iter()
        .filter(|u| emails.is_empty() || emails_of(u).iter().any(|e| emails.contains(e)))
        .filter(|u| ids.is_empty() || ids.iter().any(|i| u["id"] == *i.as_str()))
        .filter(|u| usernames.is_empty() || usernames.iter().any(|n| u["username"] == *n.as_str()))
        .filter(|u| external.is_empty() || external.iter().any(|n| u["external_id"] == *n.as_str()))
        .filter(|u| {
            query.as_ref().is_none_or(|q| {
                let mut hay = emails_of(u);
                for f in ["id", "first_name", "last_name", "username"] {
                    hay.extend(u[f].as_str().map(str::to_owned));
                }
                hay.iter().any(|h| h.to_lowercase().contains(q.as_str()))
            })
        })
        .cloned()
        .collect()
}

fn list_users(store: &mut Store, req: &Req) -> Answer {
    list(req, matching(store, req))
}

fn count(store: &mut Store, req: &Req) -> Answer {
    ok(json!({ "object": "total_count", "total_count": matching(store, req).len() }))
}

fn get(store: &mut Store, req: &Req) -> Answer {
    match find_mut(&mut store.users, "id", &req.id) {
        Some(u) => ok(u.clone()),
        None => not_found(),
    }
}

fn create(store: &mut Store, req: &Req) -> Answer {
    match new_user(store, &req.body()) {
        Ok(user) => {
            store.users.insert(0, user.clone());
            ok(user)
        }
        Err(e) => e,
    }
}

fn update(store: &mut Store, req: &Req) -> Answer {
    match find_mut(&mut store.users, "id", &req.id) {
        Some(u) => {
            set_fields(u, &req.body(), UPDATABLE);
            ok(u.clone())
        }
        None => not_found(),
    }
}

fn update_metadata(store: &mut Store, req: &Req) -> Answer {
    match find_mut(&mut store.users, "id", &req.id) {
        Some(u) => {
            metadata(u, req, METADATA);
            ok(u.clone())
        }
        None => not_found(),
    }
}

fn delete(store: &mut Store, req: &Req) -> Answer {
    let before = store.users.len();
    store.users.retain(|u| u["id"] != *req.id.as_str());
    if store.users.len() == before {
        return not_found();
    }
    store
        .memberships
        .retain(|m| m["public_user_data"]["user_id"] != *req.id.as_str());
    ok(json!({ "object": "user", "id": req.id, "deleted": true }))
}

/// `POST /v1/users/{id}/ban|unban|lock|unlock`.
fn flag(store: &mut Store, req: &Req) -> Answer {
    let action = req
        .call
        .path
        .rsplit('/')
        .next()
        .unwrap_or_default()
        .to_owned();
    match find_mut(&mut store.users, "id", &req.id) {
        Some(u) => {
            match action.as_str() {
                "ban" => u["banned"] = json!(true),
                "unban" => u["banned"] = json!(false),
                "lock" => u["locked"] = json!(true),
                _ => u["locked"] = json!(false),
            }
            u["updated_at"] = json!(now_ms());
            ok(u.clone())
        }
        None => not_found(),
    }
}

impl TestBackendApi {
    /// Adds a user to the stand-in's store, as `POST /v1/users` would with this body (Clerk's
    /// create-user parameters, snake_case: `email_address` (an array), `phone_number`,
    /// `username`, `first_name`, `last_name`, `external_id`, `password`, `public_metadata`,
    /// `private_metadata`, `unsafe_metadata`), and returns its id (`user_…`).
    ///
    /// Panics when the API would refuse it (no identifier, an email address or username taken).
    pub fn add_user(&self, body: Value) -> String {
        let map = body.as_object().cloned().unwrap_or_default();
        let mut store = self.shared.resources.store.lock();
        let user = new_user(&store, &map).unwrap_or_else(|(_, e)| {
            panic!("actix_clerk::testing: add_user: the API would refuse this user: {e}")
        });
        let id = user["id"].as_str().unwrap_or_default().to_owned();
        store.users.insert(0, user);
        id
    }

    /// The user `id` as the stand-in holds it now (Clerk's `user` JSON), if any.
    pub fn user(&self, id: &str) -> Option<Value> {
        let mut store = self.shared.resources.store.lock();
        find_mut(&mut store.users, "id", id).map(|u| u.clone())
    }
}
