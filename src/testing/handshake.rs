//! The handshake resource of the Backend API stand-in: `GET /v1/clients/handshake_payload`,
//! the nonces it resolves, and the cookie directives Clerk's Frontend API hands a browser.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};

use parking_lot::Mutex;
use serde_json::json;

use super::backend::{clerk_errors, outage_answer, secret_key_rejected, Shared, TestBackendApi};
use super::call::ApiCall;
use super::random_hex;
use super::request::client_uat_for;

/// `Max-Age` of the `__client_uat` cookie Clerk sets: ten years, in seconds.
const CLIENT_UAT_MAX_AGE: u64 = 315_360_000;

/// The nonces registered with one Backend API stand-in, and what their endpoint received.
#[derive(Default)]
pub(crate) struct HandshakeState {
    hits: AtomicU64,
    /// Nonce → directives; kept until the stand-in stops (a nonce is not single-use).
    nonces: Mutex<HashMap<String, Vec<String>>>,
    calls: Mutex<Vec<ApiCall>>,
}

impl HandshakeState {
    /// Registers `directives` under a fresh nonce, returned.
    pub(super) fn register(&self, directives: Vec<String>) -> String {
        let nonce = random_hex(40);
        self.nonces.lock().insert(nonce.clone(), directives);
        nonce
    }
}

/// `base`, or `base_<suffix>`.
fn cookie_name(base: &str, suffix: Option<&str>) -> String {
    match suffix {
        Some(suffix) => format!("{base}_{suffix}"),
        None => base.to_owned(),
    }
}

/// The directives of a signed-in browser: `__session` holding `token`, `__client_uat` its
/// `iat` (names suffixed with `suffix` when given).
pub(super) fn session_directives(token: &str, suffix: Option<&str>) -> Vec<String> {
    vec![
        format!(
            "{}={token}; Path=/; SameSite=Lax",
            cookie_name("__session", suffix)
        ),
        format!(
            "{}={}; Path=/; Max-Age={CLIENT_UAT_MAX_AGE}; SameSite=Lax",
            cookie_name("__client_uat", suffix),
            client_uat_for(token)
        ),
    ]
}

/// The directives of a signed-out browser: `__session` removed, `__client_uat` `0`.
pub(super) fn signed_out_directives(suffix: Option<&str>) -> Vec<String> {
    vec![
        format!(
            "{}=; Path=/; Max-Age=0; SameSite=Lax",
            cookie_name("__session", suffix)
        ),
        format!(
            "{}=0; Path=/; Max-Age={CLIENT_UAT_MAX_AGE}; SameSite=Lax",
            cookie_name("__client_uat", suffix)
        ),
    ]
}

/// Routes `GET /v1/clients/handshake_payload` to the state of `s`.
pub(super) fn routes(cfg: &mut actix_web::web::ServiceConfig, s: Shared) {
    use actix_web::{web, HttpRequest};
    cfg.route(
        "/v1/clients/handshake_payload",
        web::get().to(move |req: HttpRequest| payload_answer(s.clone(), req)),
    );
}

async fn payload_answer(s: Shared, req: actix_web::HttpRequest) -> actix_web::HttpResponse {
    use actix_web::HttpResponse;
    let h = s.handshake.clone();
    h.hits.fetch_add(1, Ordering::SeqCst);
    let call = ApiCall::of(&req, &[]);
    let nonce = call.query_param("nonce");
    let authorization = call.authorization.clone();
    h.calls.lock().push(call);
    if let Some(res) = outage_answer(&s).await {
        return res;
    }
    if let Some(res) = secret_key_rejected(&s, authorization.as_deref()) {
        return res;
    }
    let Some(nonce) = nonce.filter(|n| !n.is_empty()) else {
        return HttpResponse::UnprocessableEntity()
            .json(clerk_errors("form_param_missing", "nonce is missing"));
    };
    let directives = h.nonces.lock().get(&nonce).cloned();
    match directives {
        Some(directives) => HttpResponse::Ok().json(json!({ "directives": directives })),
        None => HttpResponse::NotFound().json(clerk_errors(
            "resource_not_found",
            "No handshake payload was found for this nonce",
        )),
    }
}

impl TestBackendApi {
    /// Registers `directives` (`Set-Cookie` strings) and returns a fresh random nonce that
    /// `GET /v1/clients/handshake_payload?nonce=<nonce>` resolves to
    /// `{"directives": directives}`, as long as the stand-in runs (a nonce is not single-use:
    /// two clients may resolve it). A [`TestFrontendApi`](super::TestFrontendApi) registers
    /// one per handshake; call this directly for hand-made payloads (no session cookie, a
    /// token signed by another key, odd cookie strings…).
    pub fn handshake_nonce(&self, directives: Vec<String>) -> String {
        self.shared.handshake.register(directives)
    }

    /// The directives Clerk's Frontend API sets after a sign-in, for `token`:
    ///
    /// - `__session=<token>; Path=/; SameSite=Lax`
    /// - `__client_uat=<iat of token>; Path=/; Max-Age=315360000; SameSite=Lax`
    ///
    /// with the instance's suffixed names (`__session_<suffix>`, `__client_uat_<suffix>`,
    /// [`TestInstance::cookie_suffix`](super::TestInstance::cookie_suffix)) when `suffixed`.
    /// The `iat` is read without verification (now, for a token without one). Panics when
    /// `suffixed` on a stand-in started for no instance ([`start_with`](Self::start_with)).
    pub fn session_directives(&self, token: &str, suffixed: bool) -> Vec<String> {
        session_directives(token, self.cookie_suffix(suffixed))
    }

    /// The directives of a signed-out browser (Clerk's after a sign-out, or a handshake
    /// without a session):
    ///
    /// - `__session=; Path=/; Max-Age=0; SameSite=Lax`
    /// - `__client_uat=0; Path=/; Max-Age=315360000; SameSite=Lax`
    ///
    /// suffixed as in [`session_directives`](Self::session_directives).
    pub fn signed_out_directives(&self, suffixed: bool) -> Vec<String> {
        signed_out_directives(self.cookie_suffix(suffixed))
    }

    /// Number of handshake-payload requests received so far (answered or not).
    pub fn handshake_payload_hits(&self) -> u64 {
        self.shared.handshake.hits.load(Ordering::SeqCst)
    }

    /// Every handshake-payload request received so far, in order (the nonce asked is
    /// `call.query_param("nonce")`).
    pub fn handshake_payload_calls(&self) -> Vec<ApiCall> {
        self.shared.handshake.calls.lock().clone()
    }

    /// The instance's cookie suffix when `suffixed`.
    fn cookie_suffix(&self, suffixed: bool) -> Option<&str> {
        if !suffixed {
            return None;
        }
        match &self.shared.instance {
            Some(instance) => Some(instance.cookie_suffix()),
            None => panic!(
                "actix_clerk::testing: suffixed cookie names need an instance: start the \
                 stand-in with TestBackendApi::start"
            ),
        }
    }
}
