//! The invitations resource of the Backend API stand-in: `/v1/invitations` (create, list,
//! revoke, delete), Clerk-shaped `invitation` objects kept in memory.

use actix_web::http::Method;
use serde_json::{json, Value};

use super::backend::Shared;
use super::store::{
    error, list, missing, new_id, not_found, now_ms, ok, route, Answer, Req, Store,
};

/// Routes the invitations resource to the store of `s`.
pub(super) fn routes(cfg: &mut actix_web::web::ServiceConfig, s: Shared) {
    route(cfg, &s, Method::GET, "/v1/invitations", list_invitations);
    route(cfg, &s, Method::POST, "/v1/invitations", create);
    route(cfg, &s, Method::POST, "/v1/invitations/{id}/revoke", revoke);
    route(cfg, &s, Method::DELETE, "/v1/invitations/{id}", delete);
}

/// Invitations, newest first, filtered by `status` and `query` (a substring of the email).
fn list_invitations(store: &mut Store, req: &Req) -> Answer {
    let statuses = req.all("status");
    let query = req.param("query").map(|q| q.to_lowercase());
    let items = store
        .invitations
        .iter()
        .filter(|i| statuses.is_empty() || statuses.iter().any(|s| i["status"] == *s.as_str()))
        .filter(|i| {
            query.as_ref().is_none_or(|q| {
                i["email_address"]
                    .as_str()
                    .is_some_and(|e| e.to_lowercase().contains(q.as_str()))
            })
        })
        .cloned()
        .collect();
    list(req, items)
}

fn create(store: &mut Store, req: &Req) -> Answer {
    let body = req.body();
    let Some(email) = body.get("email_address").and_then(Value::as_str) else {
        return missing("email_address");
    };
    let ignore = body.get("ignore_existing").and_then(Value::as_bool) == Some(true);
    let taken = store.users.iter().any(|u| {
        u["email_addresses"]
            .as_array()
            .is_some_and(|a| a.iter().any(|e| e["email_address"] == *email))
    });
    let pending = store
        .invitations
        .iter()
        .any(|i| i["email_address"] == *email && i["status"] == "pending");
    if !ignore && (taken || pending) {
        return error(
            422,
            "duplicate_record",
            "There are already pending invitations or users for the following email addresses",
            json!({ "param_name": "email_address" }),
        );
    }
    let now = now_ms();
    let expires_at = body
        .get("expires_in_days")
        .and_then(Value::as_i64)
        .map(|d| json!(now + d * 86_400_000))
        .unwrap_or(Value::Null);
    let inv = json!({
        "object": "invitation",
        "id": new_id("inv"),
        "email_address": email,
        "public_metadata": body.get("public_metadata").cloned().unwrap_or_else(|| json!({})),
        "status": "pending",
        "revoked": false,
        "url": null,
        "expires_at": expires_at,
        "created_at": now,
        "updated_at": now,
    });
    store.invitations.insert(0, inv.clone());
    ok(inv)
}

fn revoke(store: &mut Store, req: &Req) -> Answer {
    let Some(inv) = store
        .invitations
        .iter_mut()
        .find(|i| i["id"] == *req.id.as_str())
    else {
        return not_found();
    };
    if inv["status"] != "pending" {
        return error(
            400,
            "invitation_not_pending",
            "Only pending invitations can be revoked.",
            json!({}),
        );
    }
    inv["status"] = json!("revoked");
    inv["revoked"] = json!(true);
    inv["updated_at"] = json!(now_ms());
    ok(inv.clone())
}

fn delete(store: &mut Store, req: &Req) -> Answer {
    let before = store.invitations.len();
    store.invitations.retain(|i| i["id"] != *req.id.as_str());
    if store.invitations.len() == before {
        return not_found();
    }
    ok(json!({ "object": "invitation", "id": req.id, "deleted": true }))
}
