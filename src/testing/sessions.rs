//! The sessions resource of the Backend API stand-in: `POST /v1/sessions/{sid}/refresh`,
//! answering for the refresh tokens it issued with freshly minted session tokens.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use parking_lot::Mutex;
use serde_json::{json, Map, Value};

use super::backend::{
    clerk_errors, outage_answer, registered_answer, secret_key_rejected, Shared, TestBackendApi,
    VerifyAnswer,
};
use super::call::ApiCall;
use super::handshake::session_directives;
use super::instance::TestInstance;
use super::random_hex;
use super::request::unverified_claims;
use super::store::{list, missing, new_id, not_found, now_ms, ok, route, Answer, Req, Store};

/// How long the session tokens minted by the browser-session stand-ins last (a refreshed
/// token, a [`TestFrontendApi`](super::TestFrontendApi) handshake's): 60 seconds, as Clerk's.
pub const BROWSER_TOKEN_LIFETIME: Duration = Duration::from_secs(60);

/// The error code of a refresh the stand-in refuses (unknown or revoked refresh token, a
/// refresh token of another session, an expired token of another session or user): answered
/// `401` with Clerk's error body, so a configuration reports
/// `session-token-expired-refresh-authentication_invalid`.
pub const REFRESH_REFUSED_CODE: &str = "authentication_invalid";

/// A refresh token the stand-in issued.
#[derive(Clone, Debug)]
struct Grant {
    session_id: String,
    user_id: String,
    revoked: bool,
}

/// What makes two refresh requests the same: session id, refresh token, `suffixed_cookies`,
/// expired token.
type MemoKey = (String, String, bool, String);

/// The refresh tokens of one Backend API stand-in, and what their endpoint received.
#[derive(Default)]
pub(crate) struct SessionsState {
    hits: AtomicU64,
    grants: Mutex<HashMap<String, Grant>>,
    answers: Mutex<HashMap<String, VerifyAnswer>>,
    /// Answer bodies already given, so the same request gets the same bytes.
    memo: Mutex<HashMap<MemoKey, String>>,
    calls: Mutex<Vec<ApiCall>>,
}

/// Routes `POST /v1/sessions/{sid}/refresh` to the state of `s`, and the sessions resource
/// (`GET /v1/sessions`, `GET /v1/sessions/{id}`, `POST /v1/sessions/{id}/revoke`) to its
/// store.
pub(super) fn routes(cfg: &mut actix_web::web::ServiceConfig, s: Shared) {
    use actix_web::http::Method;
    use actix_web::{web, HttpRequest};
    route(cfg, &s, Method::GET, "/v1/sessions", list_sessions);
    route(cfg, &s, Method::GET, "/v1/sessions/{id}", get_session);
    route(
        cfg,
        &s,
        Method::POST,
        "/v1/sessions/{id}/revoke",
        revoke_session,
    );
    cfg.route(
        "/v1/sessions/{sid}/refresh",
        web::post().to(
            move |req: HttpRequest, sid: web::Path<String>, body: web::Bytes| {
                refresh_answer(s.clone(), req, sid.into_inner(), body)
            },
        ),
    );
}

/// A refusal of the refresh: `401`, [`REFRESH_REFUSED_CODE`].
fn refused(message: &str) -> actix_web::HttpResponse {
    actix_web::HttpResponse::Unauthorized().json(clerk_errors(REFRESH_REFUSED_CODE, message))
}

/// A fresh session token of `sub` in `sid` for `origin` (its `azp`), carrying the other
/// claims of the expired token (organisation, features, custom claims…), valid for
/// [`BROWSER_TOKEN_LIFETIME`] from now.
fn mint(
    instance: &TestInstance,
    expired: &Map<String, Value>,
    sub: &str,
    sid: &str,
    origin: Option<&str>,
) -> String {
    let mut b = instance
        .session_token(sub)
        .session_id(sid)
        .lifetime(BROWSER_TOKEN_LIFETIME);
    b = match origin {
        Some(origin) => b.azp(origin),
        None => b.without_azp(),
    };
    if !expired.contains_key("v") {
        b = b.v1();
    }
    for (name, value) in expired {
        if !matches!(
            name.as_str(),
            "azp" | "exp" | "iat" | "iss" | "jti" | "nbf" | "sid" | "sub"
        ) {
            b = b.claim(name, value.clone());
        }
    }
    b.sign()
}

async fn refresh_answer(
    s: Shared,
    req: actix_web::HttpRequest,
    sid: String,
    body: actix_web::web::Bytes,
) -> actix_web::HttpResponse {
    use actix_web::HttpResponse;
    let st = s.sessions.clone();
    st.hits.fetch_add(1, Ordering::SeqCst);
    let call = ApiCall::of(&req, &body);
    let suffixed = call.query_param("suffixed_cookies").as_deref() == Some("true");
    let authorization = call.authorization.clone();
    let params = call.body.clone();
    st.calls.lock().push(call);
    if let Some(res) = outage_answer(&s).await {
        return res;
    }
    if let Some(res) = secret_key_rejected(&s, authorization.as_deref()) {
        return res;
    }
    let Some(Value::Object(params)) = params else {
        return HttpResponse::BadRequest().json(clerk_errors(
            "request_body_invalid",
            "The request body is not a JSON object",
        ));
    };
    let text = |name: &str| params.get(name).and_then(Value::as_str).map(str::to_owned);
    let Some(refresh_token) = text("refresh_token") else {
        return HttpResponse::UnprocessableEntity().json(clerk_errors(
            "form_param_missing",
            "refresh_token is missing",
        ));
    };
    let answer = st.answers.lock().get(&refresh_token).cloned();
    if let Some(answer) = answer {
        return registered_answer(answer).await;
    }
    if text("format").as_deref() != Some("cookie") {
        return HttpResponse::UnprocessableEntity().json(clerk_errors(
            "form_param_value_invalid",
            "format must be \"cookie\"",
        ));
    }
    let Some(expired_token) = text("expired_token") else {
        return HttpResponse::UnprocessableEntity().json(clerk_errors(
            "form_param_missing",
            "expired_token is missing",
        ));
    };
    let grant = st.grants.lock().get(&refresh_token).cloned();
    let Some(grant) = grant.filter(|g| !g.revoked) else {
        return refused("The refresh token is invalid or revoked");
    };
    if grant.session_id != sid {
        return refused("The refresh token belongs to another session");
    }
    let Some(expired) = unverified_claims(&expired_token) else {
        return HttpResponse::UnprocessableEntity().json(clerk_errors(
            "form_param_format_invalid",
            "expired_token is not a session token",
        ));
    };
    let claim = |name: &str| expired.get(name).and_then(Value::as_str);
    if claim("sid") != Some(sid.as_str()) || claim("sub") != Some(grant.user_id.as_str()) {
        return refused("The expired token belongs to another session");
    }
    let key = (sid, refresh_token, suffixed, expired_token);
    let memoised = st.memo.lock().get(&key).cloned();
    let body = match memoised {
        Some(body) => body,
        None => {
            let Some(instance) = &s.instance else {
                return HttpResponse::InternalServerError().json(clerk_errors(
                    "internal_error",
                    "the stand-in has no instance",
                ));
            };
            let origin = text("request_origin");
            let token = mint(
                instance,
                &expired,
                &grant.user_id,
                &key.0,
                origin.as_deref(),
            );
            let suffix = suffixed.then(|| instance.cookie_suffix());
            let body = json!({
                "object": "cookies",
                "cookies": session_directives(&token, suffix),
            })
            .to_string();
            // A request answered meanwhile keeps its answer: the first one wins.
            st.memo.lock().entry(key).or_insert(body).clone()
        }
    };
    HttpResponse::Ok()
        .content_type("application/json")
        .body(body)
}

impl TestBackendApi {
    /// Issues a refresh token (the value of the `__refresh_<suffix>` cookie Clerk's Frontend
    /// API sets) for the session `session_id` of `user_id`. `POST
    /// /v1/sessions/{session_id}/refresh` then answers, for a JSON body with `format:
    /// "cookie"`, this `refresh_token` and an `expired_token` of that user and session (its
    /// claims read without verification), `200` with
    /// `{"object":"cookies","cookies":[<__session>,<__client_uat>]}`, the directives of
    /// [`session_directives`](Self::session_directives) (suffixed when the query says
    /// `suffixed_cookies=true`) for a fresh token signed by the instance's key: same `sub` and
    /// `sid`, `azp` the body's `request_origin`, `iat` now, lasting
    /// [`BROWSER_TOKEN_LIFETIME`], the expired token's other claims kept.
    ///
    /// Answers are memoised per session id, refresh token, `suffixed_cookies` and expired
    /// token: the same request gets the same bytes (for differential tests sending one request
    /// through two implementations). A refused refresh is `401`
    /// [`REFRESH_REFUSED_CODE`]; a body that is not a JSON object `400`
    /// `request_body_invalid`; a missing `refresh_token` or `expired_token` `422`
    /// `form_param_missing`; another `format` `422` `form_param_value_invalid`; an expired
    /// token that does not decode `422` `form_param_format_invalid`.
    ///
    /// Panics for a stand-in started for no instance ([`start_with`](Self::start_with)).
    pub fn refresh_token(&self, session_id: &str, user_id: &str) -> String {
        if self.shared.instance.is_none() {
            panic!(
                "actix_clerk::testing: refresh tokens need an instance to sign with: start the \
                 stand-in with TestBackendApi::start"
            );
        }
        let token = random_hex(48);
        self.shared.sessions.grants.lock().insert(
            token.clone(),
            Grant {
                session_id: session_id.to_owned(),
                user_id: user_id.to_owned(),
                revoked: false,
            },
        );
        token
    }

    /// Revokes a refresh token issued here (a sign-out elsewhere): from now on refreshing with
    /// it is refused (`401` [`REFRESH_REFUSED_CODE`]), memoised answers included. Panics when
    /// the token was not issued here.
    pub fn revoke_refresh_token(&self, refresh_token: &str) {
        match self.shared.sessions.grants.lock().get_mut(refresh_token) {
            Some(grant) => grant.revoked = true,
            None => panic!(
                "actix_clerk::testing: revoke_refresh_token: this refresh token was not issued \
                 by this stand-in"
            ),
        }
    }

    /// Registers what the refresh endpoint answers for `refresh_token`, whatever the session,
    /// the rest of the body and the token's state (replacing an earlier answer): failures
    /// such as `500`, a body that is not JSON ([`VerifyAnswer::Raw`]), `{"errors":[]}`, an
    /// error code of your choice ([`VerifyAnswer::error`]), a hang, or a `200` of your own.
    /// The secret key is still checked first.
    pub fn register_refresh(&self, refresh_token: &str, answer: VerifyAnswer) {
        self.shared
            .sessions
            .answers
            .lock()
            .insert(refresh_token.to_owned(), answer);
    }

    /// Number of refresh requests received so far (answered or not).
    pub fn refresh_hits(&self) -> u64 {
        self.shared.sessions.hits.load(Ordering::SeqCst)
    }

    /// Every refresh request received so far, in order: method, path (with the session id),
    /// query (`suffixed_cookies`), `Authorization`, JSON body.
    pub fn refresh_calls(&self) -> Vec<ApiCall> {
        self.shared.sessions.calls.lock().clone()
    }

    /// The last refresh request received.
    pub fn last_refresh_call(&self) -> Option<ApiCall> {
        self.shared.sessions.calls.lock().last().cloned()
    }
}

/// Sessions of a `user_id` or `client_id` (one is required), filtered by `status`.
fn list_sessions(store: &mut Store, req: &Req) -> Answer {
    let users = req.all("user_id");
    let clients = req.all("client_id");
    if users.is_empty() && clients.is_empty() {
        return missing("user_id");
    }
    let statuses = req.all("status");
    let items = store
        .sessions
        .iter()
        .filter(|x| users.is_empty() || users.iter().any(|u| x["user_id"] == *u.as_str()))
        .filter(|x| clients.is_empty() || clients.iter().any(|c| x["client_id"] == *c.as_str()))
        .filter(|x| statuses.is_empty() || statuses.iter().any(|st| x["status"] == *st.as_str()))
        .cloned()
        .collect();
    list(req, items)
}

fn get_session(store: &mut Store, req: &Req) -> Answer {
    match store.sessions.iter().find(|x| x["id"] == *req.id.as_str()) {
        Some(x) => ok(x.clone()),
        None => not_found(),
    }
}

fn revoke_session(store: &mut Store, req: &Req) -> Answer {
    match store
        .sessions
        .iter_mut()
        .find(|x| x["id"] == *req.id.as_str())
    {
        Some(x) => {
            x["status"] = json!("revoked");
            x["updated_at"] = json!(now_ms());
            ok(x.clone())
        }
        None => not_found(),
    }
}

impl TestBackendApi {
    /// Adds an active session of `user_id` (on a client of its own) to the stand-in's store
    /// and returns its id (`sess_…`): `GET /v1/sessions/{id}` answers it as Clerk's `session`
    /// object, `GET /v1/sessions?user_id=…` lists it, `POST /v1/sessions/{id}/revoke` revokes
    /// it. The user need not have been added.
    pub fn add_session(&self, user_id: &str) -> String {
        let now = now_ms();
        let id = new_id("sess");
        let session = json!({
            "object": "session",
            "id": id,
            "client_id": new_id("client"),
            "user_id": user_id,
            "status": "active",
            "last_active_at": now,
            "last_active_organization_id": null,
            "actor": null,
            "latest_activity": null,
            "expire_at": now + 7 * 86_400_000,
            "abandon_at": now + 30 * 86_400_000,
            "created_at": now,
            "updated_at": now,
        });
        self.shared
            .resources
            .store
            .lock()
            .sessions
            .insert(0, session);
        id
    }

    /// The session `id` as the stand-in holds it now (Clerk's `session` JSON), if any.
    pub fn session(&self, id: &str) -> Option<Value> {
        let store = self.shared.resources.store.lock();
        store.sessions.iter().find(|x| x["id"] == *id).cloned()
    }
}
