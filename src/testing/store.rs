//! The in-memory store behind the Backend API stand-in's resource endpoints (users,
//! organisations, memberships, invitations, sessions): what every such call goes through
//! (recorded, outage, injected failure, key check), Clerk's errors and pagination.

use parking_lot::Mutex;
use serde_json::{json, Map, Value};

use super::backend::{outage_answer, secret_key_rejected, Shared, TestBackendApi};
use super::call::ApiCall;
use super::random_hex;

/// The resources of one stand-in, newest first in each list (Clerk's default order).
#[derive(Default)]
pub(crate) struct Store {
    pub users: Vec<Value>,
    pub organizations: Vec<Value>,
    /// Memberships, each with the organisation id it belongs to.
    pub memberships: Vec<Value>,
    pub org_invitations: Vec<Value>,
    pub invitations: Vec<Value>,
    pub sessions: Vec<Value>,
}

/// The store, the failures to inject and the calls received.
#[derive(Default)]
pub(crate) struct ResourceState {
    pub store: Mutex<Store>,
    /// The next `n` calls are answered with this status.
    pub fail: Mutex<(u32, u16)>,
    pub calls: Mutex<Vec<ApiCall>>,
}

/// One request to a resource endpoint: what was received, with the path's `{id}` and `{sub}`.
pub(super) struct Req {
    pub call: ApiCall,
    pub id: String,
    pub sub: String,
}

impl Req {
    /// The body as a JSON object (empty when absent or not an object).
    pub fn body(&self) -> Map<String, Value> {
        match &self.call.body {
            Some(Value::Object(m)) => m.clone(),
            _ => Map::new(),
        }
    }

    /// Every value of query parameter `name` (also `name[]`).
    pub fn all(&self, name: &str) -> Vec<String> {
        let bracket = format!("{name}[]");
        self.call
            .query_pairs()
            .into_iter()
            .filter(|(k, _)| k == name || *k == bracket)
            .map(|(_, v)| v)
            .collect()
    }

    /// The first value of query parameter `name`.
    pub fn param(&self, name: &str) -> Option<String> {
        self.call.query_param(name)
    }
}

/// A status and a JSON body.
pub(super) type Answer = (u16, Value);

/// A resource handler: the store and the request to the answer.
pub(super) type Handler = fn(&mut Store, &Req) -> Answer;

/// Clerk's error body with `meta`.
pub(super) fn error(status: u16, code: &str, message: &str, meta: Value) -> Answer {
    (
        status,
        json!({
            "errors": [{
                "code": code,
                "message": message,
                "long_message": format!("{message} (long)"),
                "meta": meta,
            }],
            "clerk_trace_id": "trace_standin",
        }),
    )
}

/// Clerk's `404` `resource_not_found`.
pub(super) fn not_found() -> Answer {
    error(404, "resource_not_found", "not found", json!({}))
}

/// Clerk's `422` `form_param_missing` for `param`.
pub(super) fn missing(param: &str) -> Answer {
    error(
        422,
        "form_param_missing",
        &format!("{param} must be included."),
        json!({ "param_name": param }),
    )
}

/// Clerk's `422` `form_identifier_exists` for `param`.
pub(super) fn exists(param: &str) -> Answer {
    error(
        422,
        "form_identifier_exists",
        "That identifier is taken. Please try another.",
        json!({ "param_name": param }),
    )
}

/// A `200`.
pub(super) fn ok(v: Value) -> Answer {
    (200, v)
}

/// Milliseconds since the epoch.
pub(super) fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}

/// A Clerk-looking id: `prefix_2` and 25 random characters.
pub(super) fn new_id(prefix: &str) -> String {
    format!("{prefix}_2{}", random_hex(25))
}

/// `limit` (default 10, at most 500) and `offset` (default 0) applied to `items`.
pub(super) fn page(req: &Req, items: Vec<Value>) -> Vec<Value> {
    let limit = req
        .param("limit")
        .and_then(|l| l.parse::<usize>().ok())
        .unwrap_or(10)
        .min(500);
    let offset = req
        .param("offset")
        .and_then(|o| o.parse::<usize>().ok())
        .unwrap_or(0);
    items.into_iter().skip(offset).take(limit).collect()
}

/// Clerk's paginated list: `{"data": <page>, "total_count": <all matching>}`.
pub(super) fn paginated(req: &Req, items: Vec<Value>) -> Answer {
    let total = items.len();
    ok(json!({ "data": page(req, items), "total_count": total }))
}

/// The page as `{data, total_count}` when the query says `paginated=true`, else a bare array
/// (the two forms of Clerk's `/invitations`, `/sessions` and `/users`).
pub(super) fn list(req: &Req, items: Vec<Value>) -> Answer {
    if req.param("paginated").as_deref() == Some("true") {
        paginated(req, items)
    } else {
        ok(Value::Array(page(req, items)))
    }
}

/// Merges `patch` into `target` deeply; a `null` removes the key (Clerk's metadata merge).
pub(super) fn deep_merge(target: &mut Value, patch: &Value) {
    let (Value::Object(t), Value::Object(p)) = (&mut *target, patch) else {
        *target = patch.clone();
        return;
    };
    for (k, v) in p {
        if v.is_null() {
            t.remove(k);
        } else if v.is_object() && t.get(k).is_some_and(Value::is_object) {
            if let Some(slot) = t.get_mut(k) {
                deep_merge(slot, v);
            }
        } else {
            t.insert(k.clone(), v.clone());
        }
    }
}

/// Sets each of `fields` present in `body` on `item`, and `updated_at`.
pub(super) fn set_fields(item: &mut Value, body: &Map<String, Value>, fields: &[&str]) {
    for f in fields {
        if let Some(v) = body.get(*f) {
            item[*f] = v.clone();
        }
    }
    item["updated_at"] = json!(now_ms());
}

/// `PATCH …/metadata` (deep merge) or `PUT …/metadata` (replace each field given).
pub(super) fn metadata(item: &mut Value, req: &Req, fields: &[&str]) {
    let body = req.body();
    for f in fields {
        if let Some(v) = body.get(*f) {
            if req.call.method == "PUT" {
                item[*f] = v.clone();
            } else {
                if !item[*f].is_object() {
                    item[*f] = json!({});
                }
                deep_merge(&mut item[*f], v);
            }
        }
    }
    item["updated_at"] = json!(now_ms());
}

/// The item of `items` with `key == value`.
pub(super) fn find_mut<'a>(
    items: &'a mut [Value],
    key: &str,
    value: &str,
) -> Option<&'a mut Value> {
    items.iter_mut().find(|i| i[key].as_str() == Some(value))
}

/// Routes `method path` to `handler` through [`answer`].
pub(super) fn route(
    cfg: &mut actix_web::web::ServiceConfig,
    s: &Shared,
    method: actix_web::http::Method,
    path: &str,
    handler: Handler,
) {
    use actix_web::{web, HttpRequest};
    let s = s.clone();
    cfg.route(
        path,
        web::method(method)
            .to(move |req: HttpRequest, body: web::Bytes| answer(s.clone(), req, body, handler)),
    );
}

/// Every resource call: recorded, then an outage, an injected failure, a rejected key, or the
/// handler's answer.
async fn answer(
    s: Shared,
    req: actix_web::HttpRequest,
    body: actix_web::web::Bytes,
    handler: Handler,
) -> actix_web::HttpResponse {
    use actix_web::http::StatusCode;
    use actix_web::HttpResponse;
    let call = ApiCall::of(&req, &body);
    let state = s.resources.clone();
    state.calls.lock().push(call.clone());
    if let Some(res) = outage_answer(&s).await {
        return res;
    }
    let injected = {
        let mut fail = state.fail.lock();
        (fail.0 > 0).then(|| {
            fail.0 -= 1;
            fail.1
        })
    };
    if let Some(status) = injected {
        let (code, message) = if status == 429 {
            ("too_many_requests", "Too many requests, retry later")
        } else {
            ("internal_clerk_error", "Oops, an unexpected error occurred")
        };
        let (_, body) = error(status, code, message, json!({}));
        return HttpResponse::build(
            StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR),
        )
        .insert_header(("retry-after", "1"))
        .json(body);
    }
    if let Some(res) = secret_key_rejected(&s, call.authorization.as_deref()) {
        return res;
    }
    let info = req.match_info();
    let r = Req {
        id: info.get("id").unwrap_or_default().to_owned(),
        sub: info.get("sub").unwrap_or_default().to_owned(),
        call,
    };
    let (status, body) = handler(&mut state.store.lock(), &r);
    HttpResponse::build(StatusCode::from_u16(status).unwrap_or(StatusCode::OK)).json(body)
}

impl TestBackendApi {
    /// Answers the next `n` calls to the resource endpoints (users, organisations,
    /// memberships, invitations, sessions) with `status` and Clerk's error body
    /// (`too_many_requests` for a `429`, `internal_clerk_error` otherwise), with
    /// `Retry-After: 1`, before any key check: for testing a client's retries. The calls are
    /// still recorded. Replaces failures not yet consumed; `fail_next(0, _)` cancels them.
    pub fn fail_next(&self, n: u32, status: u16) {
        *self.shared.resources.fail.lock() = (n, status);
    }

    /// Every call to the resource endpoints received so far, in order (method, path, query,
    /// `Authorization`, JSON body), whatever it was answered: to compare the requests of two
    /// clients.
    pub fn api_calls(&self) -> Vec<ApiCall> {
        self.shared.resources.calls.lock().clone()
    }

    /// Forgets the resource calls recorded so far.
    pub fn clear_api_calls(&self) {
        self.shared.resources.calls.lock().clear();
    }
}
