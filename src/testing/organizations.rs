//! The organisations resource of the Backend API stand-in: `/v1/organizations` (list, get by
//! id or slug, create, update, metadata, delete), its memberships (list, create, update role,
//! delete) and its invitations (create, list, get, revoke).

use actix_web::http::Method;
use serde_json::{json, Map, Value};

use super::backend::{Shared, TestBackendApi};
use super::store::{
    error, exists, metadata, missing, new_id, not_found, now_ms, ok, paginated, route, set_fields,
    Answer, Req, Store,
};

const UPDATABLE: &[&str] = &[
    "name",
    "slug",
    "max_allowed_memberships",
    "admin_delete_enabled",
    "public_metadata",
    "private_metadata",
];

const METADATA: &[&str] = &["public_metadata", "private_metadata"];

/// Routes organisations, memberships and organisation invitations to the store of `s`.
pub(super) fn routes(cfg: &mut actix_web::web::ServiceConfig, s: Shared) {
    route(cfg, &s, Method::GET, "/v1/organizations", list_orgs);
    route(cfg, &s, Method::POST, "/v1/organizations", create);
    route(cfg, &s, Method::GET, "/v1/organizations/{id}", get);
    route(cfg, &s, Method::PATCH, "/v1/organizations/{id}", update);
    route(cfg, &s, Method::DELETE, "/v1/organizations/{id}", delete);
    route(
        cfg,
        &s,
        Method::PATCH,
        "/v1/organizations/{id}/metadata",
        update_metadata,
    );
    route(
        cfg,
        &s,
        Method::PUT,
        "/v1/organizations/{id}/metadata",
        update_metadata,
    );
    route(
        cfg,
        &s,
        Method::GET,
        "/v1/organizations/{id}/memberships",
        list_memberships,
    );
    route(
        cfg,
        &s,
        Method::POST,
        "/v1/organizations/{id}/memberships",
        create_membership,
    );
    route(
        cfg,
        &s,
        Method::PATCH,
        "/v1/organizations/{id}/memberships/{sub}",
        update_membership,
    );
    route(
        cfg,
        &s,
        Method::DELETE,
        "/v1/organizations/{id}/memberships/{sub}",
        delete_membership,
    );
    route(
        cfg,
        &s,
        Method::GET,
        "/v1/organizations/{id}/invitations",
        list_invitations,
    );
    route(
        cfg,
        &s,
        Method::POST,
        "/v1/organizations/{id}/invitations",
        create_invitation,
    );
    route(
        cfg,
        &s,
        Method::GET,
        "/v1/organizations/{id}/invitations/{sub}",
        get_invitation,
    );
    route(
        cfg,
        &s,
        Method::POST,
        "/v1/organizations/{id}/invitations/{sub}/revoke",
        revoke_invitation,
    );
}

/// The organisation with this id or slug.
fn org_mut<'a>(store: &'a mut Store, id_or_slug: &str) -> Option<&'a mut Value> {
    store
        .organizations
        .iter_mut()
        .find(|o| o["id"] == *id_or_slug || o["slug"] == *id_or_slug)
}

/// The organisation's JSON with `members_count`.
fn with_count(store: &Store, org: &Value) -> Value {
    let mut org = org.clone();
    let n = store
        .memberships
        .iter()
        .filter(|m| m["organization"]["id"] == org["id"])
        .count();
    org["members_count"] = json!(n);
    org
}

/// A new organisation from the body of `POST /v1/organizations`, or Clerk's `422`.
fn new_org(store: &Store, body: &Map<String, Value>) -> Result<Value, Answer> {
    let name = match body.get("name").and_then(Value::as_str) {
        Some(n) if !n.is_empty() => n.to_owned(),
        _ => return Err(missing("name")),
    };
    let slug = body
        .get("slug")
        .and_then(Value::as_str)
        .map(str::to_owned)
        .unwrap_or_else(|| {
            name.to_lowercase()
                .chars()
                .map(|c| if c.is_ascii_alphanumeric() { c } else { '-' })
                .collect()
        });
    if store
        .organizations
        .iter()
        .any(|o| o["slug"] == *slug.as_str())
    {
        return Err(error(
            422,
            "form_identifier_exists",
            "This organization slug is already taken. Please try another.",
            json!({ "param_name": "slug" }),
        ));
    }
    let now = now_ms();
    let meta = |n: &str| body.get(n).cloned().unwrap_or_else(|| json!({}));
    Ok(json!({
        "object": "organization",
        "id": new_id("org"),
        "name": name,
        "slug": slug,
        "image_url": "https://img.clerk.com/standin",
        "has_image": false,
        "max_allowed_memberships": body.get("max_allowed_memberships").cloned().unwrap_or(json!(0)),
        "admin_delete_enabled": true,
        "public_metadata": meta("public_metadata"),
        "private_metadata": meta("private_metadata"),
        "created_by": body.get("created_by").cloned().unwrap_or(Value::Null),
        "created_at": now,
        "updated_at": now,
    }))
}

/// A new membership of `user_id` in `org_id`, or Clerk's `404`/`422`.
fn new_membership(store: &Store, org_id: &str, user_id: &str, role: &str) -> Result<Value, Answer> {
    let org = store
        .organizations
        .iter()
        .find(|o| o["id"] == *org_id || o["slug"] == *org_id)
        .ok_or_else(not_found)?;
    let user = store
        .users
        .iter()
        .find(|u| u["id"] == *user_id)
        .ok_or_else(not_found)?;
    if store.memberships.iter().any(|m| {
        m["organization"]["id"] == org["id"] && m["public_user_data"]["user_id"] == *user_id
    }) {
        return Err(error(
            422,
            "already_a_member_in_organization",
            "User is already a member of the organization.",
            json!({}),
        ));
    }
    let identifier = user["email_addresses"][0]["email_address"].clone();
    let now = now_ms();
    let role_name = role.strip_prefix("org:").unwrap_or(role);
    Ok(json!({
        "object": "organization_membership",
        "id": new_id("orgmem"),
        "role": role,
        "role_name": role_name,
        "permissions": [],
        "public_metadata": {},
        "private_metadata": {},
        "organization": org,
        "public_user_data": {
            "user_id": user_id,
            "identifier": identifier,
            "first_name": user["first_name"],
            "last_name": user["last_name"],
            "image_url": user["image_url"],
            "has_image": user["has_image"],
        },
        "created_at": now,
        "updated_at": now,
    }))
}

fn list_orgs(store: &mut Store, req: &Req) -> Answer {
    let query = req.param("query").map(|q| q.to_lowercase());
    let ids = req.all("organization_id");
    let with_counts = req.param("include_members_count").as_deref() == Some("true");
    let items = store
        .organizations
        .iter()
        .filter(|o| ids.is_empty() || ids.iter().any(|i| o["id"] == *i.as_str()))
        .filter(|o| {
            query.as_ref().is_none_or(|q| {
                ["id", "name", "slug"].iter().any(|f| {
                    o[*f]
                        .as_str()
                        .is_some_and(|v| v.to_lowercase().contains(q.as_str()))
                })
            })
        })
        .map(|o| {
            if with_counts {
                with_count(store, o)
            } else {
                o.clone()
            }
        })
        .collect();
    paginated(req, items)
}

fn get(store: &mut Store, req: &Req) -> Answer {
    let with_counts = req.param("include_members_count").as_deref() == Some("true");
    match org_mut(store, &req.id).map(|o| o.clone()) {
        Some(o) if with_counts => ok(with_count(store, &o)),
        Some(o) => ok(o),
        None => not_found(),
    }
}

fn create(store: &mut Store, req: &Req) -> Answer {
    let body = req.body();
    let org = match new_org(store, &body) {
        Ok(o) => o,
        Err(e) => return e,
    };
    let creator = body.get("created_by").and_then(Value::as_str);
    if let Some(creator) = creator {
        if !store.users.iter().any(|u| u["id"] == *creator) {
            return not_found();
        }
    }
    store.organizations.insert(0, org.clone());
    if let Some(creator) = creator {
        let org_id = org["id"].as_str().unwrap_or_default();
        if let Ok(m) = new_membership(store, org_id, creator, "org:admin") {
            store.memberships.insert(0, m);
        }
    }
    ok(org)
}

/// Keeps the copies of an organisation inside its memberships up to date.
fn sync_memberships(store: &mut Store, org: &Value) {
    for m in store.memberships.iter_mut() {
        if m["organization"]["id"] == org["id"] {
            m["organization"] = org.clone();
        }
    }
}

fn update(store: &mut Store, req: &Req) -> Answer {
    let body = req.body();
    if let Some(slug) = body.get("slug") {
        if store.organizations.iter().any(|o| {
            o["slug"] == *slug && o["id"] != *req.id.as_str() && o["slug"] != *req.id.as_str()
        }) {
            return exists("slug");
        }
    }
    let Some(org) = org_mut(store, &req.id) else {
        return not_found();
    };
    set_fields(org, &body, UPDATABLE);
    let org = org.clone();
    sync_memberships(store, &org);
    ok(org)
}

fn update_metadata(store: &mut Store, req: &Req) -> Answer {
    let Some(org) = org_mut(store, &req.id) else {
        return not_found();
    };
    metadata(org, req, METADATA);
    let org = org.clone();
    sync_memberships(store, &org);
    ok(org)
}

fn delete(store: &mut Store, req: &Req) -> Answer {
    let Some(org) = org_mut(store, &req.id).map(|o| o.clone()) else {
        return not_found();
    };
    store.organizations.retain(|o| o["id"] != org["id"]);
    store
        .memberships
        .retain(|m| m["organization"]["id"] != org["id"]);
    store
        .org_invitations
        .retain(|i| i["organization_id"] != org["id"]);
    ok(json!({ "object": "organization", "id": org["id"], "slug": org["slug"], "deleted": true }))
}

/// The id of the organisation `req.id` names (id or slug).
fn org_id(store: &mut Store, req: &Req) -> Option<String> {
    org_mut(store, &req.id).and_then(|o| o["id"].as_str().map(str::to_owned))
}

fn list_memberships(store: &mut Store, req: &Req) -> Answer {
    let Some(id) = org_id(store, req) else {
        return not_found();
    };
    let users = req.all("user_id");
    let roles = req.all("role");
    let items = store
        .memberships
        .iter()
        .filter(|m| m["organization"]["id"] == *id.as_str())
        .filter(|m| {
            users.is_empty()
                || users
                    .iter()
                    .any(|u| m["public_user_data"]["user_id"] == *u.as_str())
        })
        .filter(|m| roles.is_empty() || roles.iter().any(|r| m["role"] == *r.as_str()))
        .cloned()
        .collect();
    paginated(req, items)
}

fn create_membership(store: &mut Store, req: &Req) -> Answer {
    let body = req.body();
    let Some(user_id) = body.get("user_id").and_then(Value::as_str) else {
        return missing("user_id");
    };
    let Some(role) = body.get("role").and_then(Value::as_str) else {
        return missing("role");
    };
    match new_membership(store, &req.id, user_id, role) {
        Ok(m) => {
            store.memberships.insert(0, m.clone());
            ok(m)
        }
        Err(e) => e,
    }
}

/// The membership of user `req.sub` in organisation `req.id`.
fn membership_mut<'a>(store: &'a mut Store, org: &str, user: &str) -> Option<&'a mut Value> {
    store
        .memberships
        .iter_mut()
        .find(|m| m["organization"]["id"] == *org && m["public_user_data"]["user_id"] == *user)
}

fn update_membership(store: &mut Store, req: &Req) -> Answer {
    let Some(id) = org_id(store, req) else {
        return not_found();
    };
    let Some(role) = req
        .body()
        .get("role")
        .and_then(Value::as_str)
        .map(str::to_owned)
    else {
        return missing("role");
    };
    match membership_mut(store, &id, &req.sub) {
        Some(m) => {
            m["role_name"] = json!(role.strip_prefix("org:").unwrap_or(&role));
            m["role"] = json!(role);
            m["updated_at"] = json!(now_ms());
            ok(m.clone())
        }
        None => not_found(),
    }
}

fn delete_membership(store: &mut Store, req: &Req) -> Answer {
    let Some(id) = org_id(store, req) else {
        return not_found();
    };
    let Some(m) = membership_mut(store, &id, &req.sub).map(|m| m.clone()) else {
        return not_found();
    };
    store.memberships.retain(|x| x["id"] != m["id"]);
    ok(m)
}

fn list_invitations(store: &mut Store, req: &Req) -> Answer {
    let Some(id) = org_id(store, req) else {
        return not_found();
    };
    let statuses = req.all("status");
    let items = store
        .org_invitations
        .iter()
        .filter(|i| i["organization_id"] == *id.as_str())
        .filter(|i| statuses.is_empty() || statuses.iter().any(|s| i["status"] == *s.as_str()))
        .cloned()
        .collect();
    paginated(req, items)
}

fn create_invitation(store: &mut Store, req: &Req) -> Answer {
    let Some(org) = org_mut(store, &req.id).map(|o| o.clone()) else {
        return not_found();
    };
    let body = req.body();
    let Some(email) = body.get("email_address").and_then(Value::as_str) else {
        return missing("email_address");
    };
    let Some(role) = body.get("role").and_then(Value::as_str) else {
        return missing("role");
    };
    if store.org_invitations.iter().any(|i| {
        i["organization_id"] == org["id"]
            && i["email_address"] == *email
            && i["status"] == "pending"
    }) {
        return error(
            422,
            "duplicate_record",
            "There are already pending invitations for the following email addresses",
            json!({}),
        );
    }
    let now = now_ms();
    let days = body
        .get("expires_in_days")
        .and_then(Value::as_i64)
        .unwrap_or(30);
    let meta = |n: &str| body.get(n).cloned().unwrap_or_else(|| json!({}));
    let inv = json!({
        "object": "organization_invitation",
        "id": new_id("orginv"),
        "email_address": email,
        "role": role,
        "role_name": role.strip_prefix("org:").unwrap_or(role),
        "organization_id": org["id"],
        "status": "pending",
        "public_metadata": meta("public_metadata"),
        "private_metadata": meta("private_metadata"),
        "url": null,
        "expires_at": now + days * 86_400_000,
        "public_organization_data": {
            "id": org["id"],
            "name": org["name"],
            "slug": org["slug"],
            "image_url": org["image_url"],
            "has_image": org["has_image"],
        },
        "created_at": now,
        "updated_at": now,
    });
    store.org_invitations.insert(0, inv.clone());
    ok(inv)
}

fn get_invitation(store: &mut Store, req: &Req) -> Answer {
    let Some(id) = org_id(store, req) else {
        return not_found();
    };
    match store
        .org_invitations
        .iter()
        .find(|i| i["id"] == *req.sub.as_str() && i["organization_id"] == *id.as_str())
    {
        Some(i) => ok(i.clone()),
        None => not_found(),
    }
}

fn revoke_invitation(store: &mut Store, req: &Req) -> Answer {
    let Some(id) = org_id(store, req) else {
        return not_found();
    };
    let Some(inv) = store
        .org_invitations
        .iter_mut()
        .find(|i| i["id"] == *req.sub.as_str() && i["organization_id"] == *id.as_str())
    else {
        return not_found();
    };
    if inv["status"] != "pending" {
        return error(
            400,
            "organization_invitation_not_pending",
            "The organization invitation is not pending.",
            json!({}),
        );
    }
    inv["status"] = json!("revoked");
    inv["updated_at"] = json!(now_ms());
    ok(inv.clone())
}

impl TestBackendApi {
    /// Adds an organisation to the stand-in's store, as `POST /v1/organizations` would with
    /// this body (`name`, `slug`, `created_by` — the creator becomes an `org:admin` member —
    /// `public_metadata`, `private_metadata`, `max_allowed_memberships`), and returns its id
    /// (`org_…`).
    ///
    /// Panics when the API would refuse it (no name, a slug taken, an unknown creator).
    pub fn add_organization(&self, body: Value) -> String {
        let map = body.as_object().cloned().unwrap_or_default();
        let mut store = self.shared.resources.store.lock();
        let req_body = Some(Value::Object(map));
        let req = Req {
            call: super::call::ApiCall {
                method: "POST".to_owned(),
                path: "/v1/organizations".to_owned(),
                query: String::new(),
                authorization: None,
                content_type: None,
                body: req_body,
            },
            id: String::new(),
            sub: String::new(),
        };
        let (status, org) = create(&mut store, &req);
        if status != 200 {
            panic!("actix_clerk::testing: add_organization: the API would refuse it: {org}");
        }
        org["id"].as_str().unwrap_or_default().to_owned()
    }

    /// Adds the membership of `user_id` in `organization_id` (an id or slug) with `role`
    /// (e.g. `org:admin`), both added before, and returns its id (`orgmem_…`).
    ///
    /// Panics for an unknown organisation or user, or a user already a member.
    pub fn add_membership(&self, organization_id: &str, user_id: &str, role: &str) -> String {
        let mut store = self.shared.resources.store.lock();
        let m = new_membership(&store, organization_id, user_id, role).unwrap_or_else(|(_, e)| {
            panic!("actix_clerk::testing: add_membership: the API would refuse it: {e}")
        });
        let id = m["id"].as_str().unwrap_or_default().to_owned();
        store.memberships.insert(0, m);
        id
    }

    /// The organisation `id_or_slug` as the stand-in holds it now (Clerk's `organization`
    /// JSON), if any.
    pub fn organization(&self, id_or_slug: &str) -> Option<Value> {
        let mut store = self.shared.resources.store.lock();
        org_mut(&mut store, id_or_slug).map(|o| o.clone())
    }
}
