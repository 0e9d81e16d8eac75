//! [`TestBackendApi`]: a local server playing Clerk's Backend API (127.0.0.1, port 0).
//!
//! One server, one file per resource: the JWKS and the machine-token verify endpoints here,
//! the handshake payload in [`handshake`](super::handshake), session refresh in
//! [`sessions`](super::sessions).

use std::collections::HashMap;
use std::fmt;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use parking_lot::Mutex;
use serde_json::{json, Value};

use super::handshake::HandshakeState;
use super::instance::TestInstance;
use super::machine::MachineTokenBuilder;
use super::sessions::SessionsState;
use super::store::ResourceState;
use super::{TEST_MACHINE_SECRET_KEY, TEST_SECRET_KEY};
use crate::config::{ClerkConfig, ClerkConfigBuilder};

/// What the stand-in answers on `GET /v1/jwks`.
#[derive(Clone, Debug)]
pub enum JwksMode {
    /// `200` with the instance's keys as they are at the time of the request (rotation shows).
    Instance(TestInstance),
    /// `200` with these keys.
    Keys(Vec<Value>),
    /// This status with this body (`application/json`).
    Status(u16, String),
    /// Never answers (until the server stops).
    Hang,
    /// `200` with a body that is not JSON.
    InvalidJson,
    /// `200` with `{"keys":[]}`.
    Empty,
}

/// One of the Backend API's machine-token verify endpoints (a `POST` without the version
/// segment, with a JSON body naming the token).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum VerifyEndpoint {
    /// `/api_keys/verify`, body `{"secret": token}`.
    ApiKeys,
    /// `/m2m_tokens/verify`, body `{"token": token}`.
    M2mTokens,
    /// `/oauth_applications/access_tokens/verify`, body `{"access_token": token}`.
    OAuthAccessTokens,
}

impl VerifyEndpoint {
    /// The three endpoints.
    pub const ALL: [VerifyEndpoint; 3] = [
        VerifyEndpoint::ApiKeys,
        VerifyEndpoint::M2mTokens,
        VerifyEndpoint::OAuthAccessTokens,
    ];

    /// The path under the API URL.
    pub fn path(self) -> &'static str {
        match self {
            VerifyEndpoint::ApiKeys => "/api_keys/verify",
            VerifyEndpoint::M2mTokens => "/m2m_tokens/verify",
            VerifyEndpoint::OAuthAccessTokens => "/oauth_applications/access_tokens/verify",
        }
    }

    /// The member of the JSON body that carries the token.
    pub fn body_field(self) -> &'static str {
        match self {
            VerifyEndpoint::ApiKeys => "secret",
            VerifyEndpoint::M2mTokens => "token",
            VerifyEndpoint::OAuthAccessTokens => "access_token",
        }
    }

    fn index(self) -> usize {
        self as usize
    }
}

/// What a verify endpoint answers for one registered token (and the refresh endpoint for one
/// registered refresh token, [`TestBackendApi::register_refresh`]).
#[derive(Clone, Debug)]
pub enum VerifyAnswer {
    /// `200`, `Content-Type: application/json`, this body.
    Ok(Value),
    /// This status with this JSON body (a `429` also carries `Retry-After: 1`).
    Status(u16, Value),
    /// Exactly this status, `Content-Type` and body: text that is not JSON, bodies too large or
    /// too deep to parse, JSON served as `text/plain`, …
    Raw {
        /// The status.
        status: u16,
        /// The `Content-Type` header.
        content_type: String,
        /// The body.
        body: String,
    },
    /// Never answers (until the server stops, or an [`Outage::Refuse`] drops the connection).
    Hang,
}

impl VerifyAnswer {
    /// Clerk's error answer: `status` with `{"errors":[{"message","long_message","code"}]}`.
    pub fn error(status: u16, code: &str, message: &str) -> VerifyAnswer {
        VerifyAnswer::Status(status, clerk_errors(code, message))
    }
}

/// A Clerk Backend API error body:
/// `{"errors":[{"message","long_message","code"}],"clerk_trace_id"}`.
pub fn clerk_errors(code: &str, message: &str) -> Value {
    json!({
        "errors": [{"message": message, "long_message": format!("{message} (long)"), "code": code}],
        "clerk_trace_id": "trace_standin",
    })
}

/// A `200` answer of `/api_keys/verify`, shaped as Clerk's `APIKey` resource
/// (`object: "api_key"`).
pub fn api_key_body(id: &str, subject: &str, name: &str, claims: Value, scopes: Value) -> Value {
    json!({
        "object": "api_key",
        "id": id,
        "type": "api_key",
        "name": name,
        "subject": subject,
        "scopes": scopes,
        "claims": claims,
        "revoked": false,
        "revocation_reason": null,
        "expired": false,
        "expiration": null,
        "created_by": "user_2creator",
        "description": null,
        "last_used_at": null,
        "created_at": 1_700_000_000_000_i64,
        "updated_at": 1_700_000_000_000_i64,
    })
}

/// A `200` answer of `/m2m_tokens/verify`, shaped as Clerk's `M2MToken` resource
/// (`object: "machine_to_machine_token"`).
pub fn m2m_token_body(id: &str, subject: &str, claims: Value, scopes: Value) -> Value {
    json!({
        "object": "machine_to_machine_token",
        "id": id,
        "subject": subject,
        "scopes": scopes,
        "claims": claims,
        "revoked": false,
        "revocation_reason": null,
        "expired": false,
        "expiration": null,
        "created_at": 1_700_000_000_000_i64,
        "updated_at": 1_700_000_000_000_i64,
    })
}

/// A `200` answer of `/oauth_applications/access_tokens/verify`, shaped as Clerk's
/// `IdPOAuthAccessToken` resource: `object: "clerk_idp_oauth_access_token"` (what
/// `@clerk/backend` maps to `clientId`, `subject`, `scopes`).
pub fn oauth_token_body(
    id: &str,
    subject: &str,
    client_id: &str,
    scopes: Value,
    aud: Value,
) -> Value {
    json!({
        "object": "clerk_idp_oauth_access_token",
        "id": id,
        "client_id": client_id,
        "type": "oauth:access_token",
        "subject": subject,
        "scopes": scopes,
        "revoked": false,
        "revocation_reason": null,
        "expired": false,
        "expiration": null,
        "created_at": 1_700_000_000_000_i64,
        "updated_at": 1_700_000_000_000_i64,
        "aud": aud,
    })
}

/// An outage of the Backend API, switched on and off while the server runs.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Outage {
    /// Every request (JWKS, verify, handshake payload, refresh) is answered with this status
    /// and a Clerk-style error body (with `Retry-After: 1`).
    Status(u16),
    /// Every request hangs.
    Hang,
    /// Nothing listens on the port (connections refused); switching the outage off listens
    /// again on the same port.
    Refuse,
}

/// One verify request the server received.
#[derive(Clone, Debug)]
pub struct VerifyCall {
    /// The endpoint called.
    pub endpoint: VerifyEndpoint,
    /// The request's `Authorization` header.
    pub authorization: Option<String>,
    /// The token in the body's member for this endpoint, when the body is JSON with it.
    pub token: Option<String>,
}

/// A token the kit issued: answered from its body while neither revoked nor expired.
#[derive(Clone, Debug)]
pub(crate) struct Issued {
    pub body: Value,
    /// Milliseconds since the epoch.
    pub expires_at_ms: Option<f64>,
    pub revoked: bool,
}

#[derive(Default)]
pub(crate) struct VerifyState {
    hits: [AtomicU64; 3],
    answers: Mutex<HashMap<(VerifyEndpoint, String), VerifyAnswer>>,
    pub(crate) issued: Mutex<HashMap<(VerifyEndpoint, String), Issued>>,
    calls: Mutex<Vec<VerifyCall>>,
    /// Accepted `Authorization: Bearer <key>` keys per endpoint; `None` accepts any.
    keys: Mutex<[Option<Vec<String>>; 3]>,
    delay: Mutex<Duration>,
    in_flight: AtomicU64,
    max_in_flight: AtomicU64,
}

/// The shared state of one server, handed to each (re)start.
#[derive(Clone)]
pub(super) struct Shared {
    hits: Arc<AtomicU64>,
    mode: Arc<Mutex<JwksMode>>,
    /// Accepted secret keys of the JWKS, handshake-payload and refresh endpoints; `None`
    /// accepts any.
    jwks_keys: Arc<Mutex<Option<Vec<String>>>>,
    last_auth: Arc<Mutex<Option<String>>>,
    delay: Arc<Mutex<Duration>>,
    outage: Arc<Mutex<Option<Outage>>>,
    verify: Arc<VerifyState>,
    /// The instance it was started for (signs refreshed session tokens, names cookies).
    pub(super) instance: Option<TestInstance>,
    pub(super) handshake: Arc<HandshakeState>,
    pub(super) sessions: Arc<SessionsState>,
    /// Users, organisations, memberships, invitations and sessions, and their calls.
    pub(super) resources: Arc<ResourceState>,
}

/// A local HTTP server playing Clerk's Backend API on 127.0.0.1 (port 0), on a thread and
/// runtime of its own: the JWKS (`GET /v1/jwks`) and the three machine-token verify
/// endpoints, answering from the tokens it issued ([`api_key`](Self::api_key),
/// [`m2m_token`](Self::m2m_token), [`oauth_token`](Self::oauth_token)) or registered
/// ([`register`](Self::register)); an unknown token is Clerk's `404`. It counts hits, records
/// every verify call, and has switchable [`Outage`]s. It stops when dropped.
///
/// For browser sessions it also plays the two Backend API calls of Clerk's page flow: the
/// handshake payload of a nonce (`GET /v1/clients/handshake_payload`,
/// [`handshake_nonce`](Self::handshake_nonce); a [`TestFrontendApi`](super::TestFrontendApi)
/// registers them as a browser's handshake passes through it) and session refresh
/// (`POST /v1/sessions/{sid}/refresh`, [`refresh_token`](Self::refresh_token)).
///
/// And Clerk's resources, kept in memory: users ([`add_user`](Self::add_user)), organisations
/// ([`add_organization`](Self::add_organization)), memberships
/// ([`add_membership`](Self::add_membership)), organisation invitations, invitations and
/// sessions ([`add_session`](Self::add_session)), created by the test or through the API
/// (`/v1/users`, `/v1/organizations`, `/v1/invitations`, `/v1/sessions`), answered with
/// Clerk's JSON, pagination and errors; every such call is recorded
/// ([`api_calls`](Self::api_calls)) and failures can be injected
/// ([`fail_next`](Self::fail_next)).
///
/// ```
/// use actix_clerk::testing::{TestBackendApi, TestInstance, TestRequestExt as _};
/// use actix_clerk::{Accepts, Auth, ClerkRequireAuth, TokenKind};
/// use actix_web::{test, web, App};
///
/// # #[actix_web::main]
/// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let instance = TestInstance::new();
/// let backend = TestBackendApi::start(&instance);
/// let api_key = backend.api_key("user_1").scopes(["read"]).issue();
///
/// let clerk = backend.config().build()?;
/// let app = test::init_service(
///     App::new()
///         .wrap(ClerkRequireAuth::new(clerk).accepts(Accepts::Kind(TokenKind::ApiKey))?)
///         .route("/", web::get().to(|auth: Auth| async move {
///             auth.user_id().unwrap_or_default().to_owned()
///         })),
/// )
/// .await;
/// let req = test::TestRequest::get().uri("/").bearer_token(&api_key).to_request();
/// assert_eq!(test::call_and_read_body(&app, req).await, "user_1");
/// assert_eq!(backend.verify_hits_total(), 1);
/// # Ok(())
/// # }
/// ```
pub struct TestBackendApi {
    url: String,
    pub(super) shared: Shared,
    port: u16,
    handle: Mutex<Option<actix_web::dev::ServerHandle>>,
}

impl fmt::Debug for TestBackendApi {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TestBackendApi")
            .field("url", &self.url)
            .field("instance", &self.shared.instance)
            .field("jwks_hits", &self.jwks_hits())
            .field("verify_hits", &self.verify_hits_total())
            .field("handshake_payload_hits", &self.handshake_payload_hits())
            .field("refresh_hits", &self.refresh_hits())
            .finish_non_exhaustive()
    }
}

pub(super) fn header_text(req: &actix_web::HttpRequest, name: &str) -> Option<String> {
    req.headers()
        .get(name)
        .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned())
}

fn status_code(code: u16) -> actix_web::http::StatusCode {
    actix_web::http::StatusCode::from_u16(code)
        .unwrap_or(actix_web::http::StatusCode::INTERNAL_SERVER_ERROR)
}

async fn hang() -> actix_web::HttpResponse {
    actix_web::rt::time::sleep(Duration::from_secs(3600)).await;
    actix_web::HttpResponse::Ok().finish()
}

/// The answer of an outage switched on, if any.
pub(super) async fn outage_answer(s: &Shared) -> Option<actix_web::HttpResponse> {
    let outage = s.outage.lock().clone();
    match outage {
        Some(Outage::Status(code)) => Some(
            actix_web::HttpResponse::build(status_code(code))
                .insert_header(("retry-after", "1"))
                .json(clerk_errors("internal_error", "Backend API outage")),
        ),
        Some(Outage::Hang) => Some(hang().await),
        Some(Outage::Refuse) | None => None,
    }
}

async fn jwks_answer(s: Shared, req: actix_web::HttpRequest) -> actix_web::HttpResponse {
    use actix_web::HttpResponse;
    s.hits.fetch_add(1, Ordering::SeqCst);
    let authorization = req
        .headers()
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    *s.last_auth.lock() = authorization.clone();
    let delay = *s.delay.lock();
    if !delay.is_zero() {
        actix_web::rt::time::sleep(delay).await;
    }
    if let Some(res) = outage_answer(&s).await {
        return res;
    }
    if let Some(res) = secret_key_rejected(&s, authorization.as_deref()) {
        return res;
    }
    let mode = s.mode.lock().clone();
    match mode {
        JwksMode::Instance(instance) => HttpResponse::Ok().json(instance.jwks()),
        JwksMode::Keys(keys) => HttpResponse::Ok().json(json!({ "keys": keys })),
        JwksMode::Status(code, body) => HttpResponse::build(status_code(code))
            .content_type("application/json")
            .body(body),
        JwksMode::Hang => hang().await,
        JwksMode::InvalidJson => HttpResponse::Ok().body("{not json"),
        JwksMode::Empty => HttpResponse::Ok().json(json!({ "keys": [] })),
    }
}

/// Clerk's `401` `clerk_key_invalid` when the stand-in checks secret keys (started for an
/// instance) and `authorization` is not `Bearer <an accepted key>`: the check of the JWKS,
/// handshake-payload and refresh endpoints.
pub(super) fn secret_key_rejected(
    s: &Shared,
    authorization: Option<&str>,
) -> Option<actix_web::HttpResponse> {
    let accepted = s.jwks_keys.lock().clone()?;
    let ok = authorization
        .and_then(|a| a.strip_prefix("Bearer "))
        .is_some_and(|k| accepted.iter().any(|want| want == k));
    (!ok).then(|| {
        actix_web::HttpResponse::Unauthorized().json(clerk_errors(
            "clerk_key_invalid",
            "The provided Clerk Secret Key is invalid.",
        ))
    })
}

/// Decrements the in-flight count when a verify request ends (answered or dropped).
struct InFlight(Arc<VerifyState>);
impl Drop for InFlight {
    fn drop(&mut self) {
        self.0.in_flight.fetch_sub(1, Ordering::SeqCst);
    }
}

async fn verify_answer(
    s: Shared,
    endpoint: VerifyEndpoint,
    req: actix_web::HttpRequest,
    body: actix_web::web::Bytes,
) -> actix_web::HttpResponse {
    use actix_web::HttpResponse;
    let v = s.verify.clone();
    v.hits[endpoint.index()].fetch_add(1, Ordering::SeqCst);
    let now = v.in_flight.fetch_add(1, Ordering::SeqCst) + 1;
    v.max_in_flight.fetch_max(now, Ordering::SeqCst);
    let _in_flight = InFlight(v.clone());
    let authorization = header_text(&req, "authorization");
    let token = serde_json::from_slice::<Value>(&body)
        .ok()
        .and_then(|b| b.get(endpoint.body_field())?.as_str().map(str::to_owned));
    v.calls.lock().push(VerifyCall {
        endpoint,
        authorization: authorization.clone(),
        token: token.clone(),
    });
    let delay = *v.delay.lock();
    if !delay.is_zero() {
        actix_web::rt::time::sleep(delay).await;
    }
    if let Some(res) = outage_answer(&s).await {
        return res;
    }
    let accepted = v.keys.lock()[endpoint.index()].clone();
    if let Some(keys) = accepted {
        let ok = authorization
            .as_deref()
            .and_then(|a| a.strip_prefix("Bearer "))
            .is_some_and(|k| keys.iter().any(|want| want == k));
        if !ok {
            return HttpResponse::Unauthorized().json(clerk_errors(
                "authentication_invalid",
                "The provided secret key is invalid for this endpoint",
            ));
        }
    }
    let Some(token) = token else {
        return HttpResponse::UnprocessableEntity().json(clerk_errors(
            "form_param_missing",
            &format!("{} is missing", endpoint.body_field()),
        ));
    };
    let key = (endpoint, token);
    let issued = v.issued.lock().get(&key).cloned();
    if let Some(issued) = issued {
        let expired = issued
            .expires_at_ms
            .is_some_and(|at| at <= super::now_secs() as f64 * 1000.0);
        return if issued.revoked || expired {
            HttpResponse::NotFound().json(clerk_errors("resource_not_found", "not found"))
        } else {
            HttpResponse::Ok().json(issued.body)
        };
    }
    let answer = v.answers.lock().get(&key).cloned();
    match answer {
        None => HttpResponse::NotFound().json(clerk_errors("resource_not_found", "not found")),
        Some(answer) => registered_answer(answer).await,
    }
}

/// The response of a registered [`VerifyAnswer`] (of a verify or the refresh endpoint).
pub(super) async fn registered_answer(answer: VerifyAnswer) -> actix_web::HttpResponse {
    use actix_web::HttpResponse;
    match answer {
        VerifyAnswer::Ok(body) => HttpResponse::Ok().json(body),
        VerifyAnswer::Status(code, body) => {
            let mut res = HttpResponse::build(status_code(code));
            if code == 429 {
                res.insert_header(("retry-after", "1"));
            }
            res.json(body)
        }
        VerifyAnswer::Raw {
            status,
            content_type,
            body,
        } => HttpResponse::build(status_code(status))
            .content_type(content_type)
            .body(body),
        VerifyAnswer::Hang => hang().await,
    }
}

/// A listener on 127.0.0.1 at a free port, and the port.
pub(super) fn local_listener() -> (std::net::TcpListener, u16) {
    let listener = std::net::TcpListener::bind("127.0.0.1:0")
        .expect("actix_clerk::testing: cannot bind 127.0.0.1:0");
    let port = listener
        .local_addr()
        .expect("actix_clerk::testing: local address")
        .port();
    (listener, port)
}

/// Runs the server `start` makes (a stand-in of the kit) on a thread and runtime of its own;
/// the handle stops it. `what` names it in the failure messages.
pub(super) fn run_server<F>(what: &'static str, start: F) -> actix_web::dev::ServerHandle
where
    F: FnOnce() -> std::io::Result<actix_web::dev::Server> + Send + 'static,
{
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let sys = actix_web::rt::System::new();
        sys.block_on(async move {
            let server = start().unwrap_or_else(|e| {
                panic!("actix_clerk::testing: the {what} stand-in cannot listen on 127.0.0.1: {e}")
            });
            let _ = tx.send(server.handle());
            let _ = server.await;
        });
    });
    rx.recv_timeout(Duration::from_secs(10))
        .unwrap_or_else(|_| panic!("actix_clerk::testing: the {what} stand-in did not start"))
}

/// Serves `shared` on `listener` on a thread and runtime of its own; the handle stops it.
fn serve(listener: std::net::TcpListener, shared: Shared) -> actix_web::dev::ServerHandle {
    use actix_web::{web, App, HttpRequest, HttpServer};
    run_server("Backend API", move || {
        Ok(HttpServer::new(move || {
            let mut app = App::new()
                .app_data(web::PayloadConfig::new(64 << 20))
                .route(
                    "/v1/jwks",
                    web::get().to({
                        let s = shared.clone();
                        move |req: HttpRequest| jwks_answer(s.clone(), req)
                    }),
                );
            for endpoint in VerifyEndpoint::ALL {
                let s = shared.clone();
                app = app.route(
                    endpoint.path(),
                    web::post().to(move |req: HttpRequest, body: web::Bytes| {
                        verify_answer(s.clone(), endpoint, req, body)
                    }),
                );
            }
            let (h, r) = (shared.clone(), shared.clone());
            let (u, o, i) = (shared.clone(), shared.clone(), shared.clone());
            app.configure(move |cfg| super::handshake::routes(cfg, h))
                .configure(move |cfg| super::sessions::routes(cfg, r))
                .configure(move |cfg| super::users::routes(cfg, u))
                .configure(move |cfg| super::organizations::routes(cfg, o))
                .configure(move |cfg| super::invitations::routes(cfg, i))
        })
        .workers(2)
        .disable_signals()
        .listen(listener)?
        .run())
    })
}

impl TestBackendApi {
    /// The Backend API of `instance`: its JWKS (rotation included), the verify endpoints
    /// for the machine tokens issued here, the handshake payloads of the nonces registered here
    /// ([`handshake_nonce`](Self::handshake_nonce)) and session refresh for the refresh tokens
    /// issued here ([`refresh_token`](Self::refresh_token)). Like Clerk's, it checks keys: the
    /// JWKS, handshake-payload and refresh endpoints answer only [`TEST_SECRET_KEY`] (others
    /// get `401` `clerk_key_invalid`), the verify endpoints only that key (and, for M2M
    /// tokens, [`TEST_MACHINE_SECRET_KEY`]); [`config`](Self::config) uses it.
    pub fn start(instance: &TestInstance) -> TestBackendApi {
        let backend = TestBackendApi::launch(JwksMode::Instance(instance.clone()), Some(instance));
        *backend.shared.jwks_keys.lock() = Some(vec![TEST_SECRET_KEY.to_owned()]);
        let secret = vec![TEST_SECRET_KEY.to_owned()];
        *backend.shared.verify.keys.lock() = [
            Some(secret.clone()),
            Some(vec![
                TEST_SECRET_KEY.to_owned(),
                TEST_MACHINE_SECRET_KEY.to_owned(),
            ]),
            Some(secret),
        ];
        backend
    }

    /// A stand-in that answers the JWKS as `mode` says, for no instance in particular, and
    /// accepts any key (see [`accept_keys`](Self::accept_keys)): for key-store tests. It
    /// resolves handshake nonces and [registered](Self::register_refresh) refresh answers,
    /// but issues no refresh tokens (it has no key to sign with).
    pub fn start_with(mode: JwksMode) -> TestBackendApi {
        TestBackendApi::launch(mode, None)
    }

    fn launch(mode: JwksMode, instance: Option<&TestInstance>) -> TestBackendApi {
        let shared = Shared {
            hits: Arc::new(AtomicU64::new(0)),
            mode: Arc::new(Mutex::new(mode)),
            jwks_keys: Arc::new(Mutex::new(None)),
            last_auth: Arc::new(Mutex::new(None)),
            delay: Arc::new(Mutex::new(Duration::ZERO)),
            outage: Arc::new(Mutex::new(None)),
            verify: Arc::new(VerifyState::default()),
            instance: instance.cloned(),
            handshake: Arc::new(HandshakeState::default()),
            sessions: Arc::new(SessionsState::default()),
            resources: Arc::new(ResourceState::default()),
        };
        let (listener, port) = super::backend::local_listener();
        let handle = serve(listener, shared.clone());
        TestBackendApi {
            url: format!("http://127.0.0.1:{port}"),
            shared,
            port,
            handle: Mutex::new(Some(handle)),
        }
    }

    /// Its base URL, `http://127.0.0.1:<port>` ([`api_url`](ClerkConfigBuilder::api_url)).
    pub fn url(&self) -> &str {
        &self.url
    }

    /// The secret key it accepts ([`TEST_SECRET_KEY`]).
    pub fn secret_key(&self) -> &'static str {
        TEST_SECRET_KEY
    }

    /// A configuration builder pointed at this stand-in: its URL, [`TEST_SECRET_KEY`], and
    /// the instance's publishable key (for a stand-in started with one). Session tokens are
    /// verified with the JWKS fetched from here; machine tokens can be accepted.
    pub fn config(&self) -> ClerkConfigBuilder {
        let b = ClerkConfig::builder()
            .api_url(self.url.clone())
            .secret_key(TEST_SECRET_KEY);
        match &self.shared.instance {
            Some(instance) => b.publishable_key(instance.publishable_key()),
            None => b,
        }
    }

    /// Issues an API key of `subject` (a user `user_…` or an organisation `org_…`): see
    /// [`MachineTokenBuilder`]; [`issue`](MachineTokenBuilder::issue) returns the secret.
    pub fn api_key(&self, subject: impl Into<String>) -> MachineTokenBuilder {
        MachineTokenBuilder::api_key(subject).on(self.shared.verify.clone())
    }

    /// Issues an M2M token of the machine `machine_id` (`mch_…`).
    pub fn m2m_token(&self, machine_id: impl Into<String>) -> MachineTokenBuilder {
        MachineTokenBuilder::m2m_token(machine_id).on(self.shared.verify.clone())
    }

    /// Issues an OAuth access token of `user_id`.
    pub fn oauth_token(&self, user_id: impl Into<String>) -> MachineTokenBuilder {
        MachineTokenBuilder::oauth_token(user_id).on(self.shared.verify.clone())
    }

    /// Revokes a token issued here: from now on its verify endpoint answers `404` (as Clerk's
    /// does for revoked tokens). A configuration that already verified it keeps it for its
    /// machine-token cache TTL. Panics when the token was not issued here.
    pub fn revoke(&self, token: &str) {
        let mut issued = self.shared.verify.issued.lock();
        let mut found = false;
        for ((_, t), entry) in issued.iter_mut() {
            if t == token {
                entry.revoked = true;
                found = true;
            }
        }
        if !found {
            panic!("actix_clerk::testing: revoke: this token was not issued by this stand-in");
        }
    }

    /// Number of JWKS requests received so far.
    pub fn jwks_hits(&self) -> u64 {
        self.shared.hits.load(Ordering::SeqCst)
    }

    /// The `Authorization` header of the last JWKS request.
    pub fn last_jwks_authorization(&self) -> Option<String> {
        self.shared.last_auth.lock().clone()
    }

    /// Changes what the JWKS endpoint answers.
    pub fn set_jwks(&self, mode: JwksMode) {
        *self.shared.mode.lock() = mode;
    }

    /// Delays every JWKS answer.
    pub fn set_jwks_delay(&self, delay: Duration) {
        *self.shared.delay.lock() = delay;
    }

    /// Registers what `endpoint` answers for `token` (replacing an earlier answer): any answer
    /// at all, for tests of how a configuration takes the Backend API's odd days.
    pub fn register(&self, endpoint: VerifyEndpoint, token: &str, answer: VerifyAnswer) {
        self.shared
            .verify
            .answers
            .lock()
            .insert((endpoint, token.to_owned()), answer);
    }

    /// Only these keys (`Authorization: Bearer <key>`) are accepted by `endpoint`; any other
    /// header is answered `401` `authentication_invalid`.
    pub fn accept_keys(&self, endpoint: VerifyEndpoint, keys: &[&str]) {
        self.shared.verify.keys.lock()[endpoint.index()] =
            Some(keys.iter().map(|k| (*k).to_owned()).collect());
    }

    /// Delays every verify answer.
    pub fn set_verify_delay(&self, delay: Duration) {
        *self.shared.verify.delay.lock() = delay;
    }

    /// Number of requests `endpoint` has received so far (answered or not).
    pub fn verify_hits(&self, endpoint: VerifyEndpoint) -> u64 {
        self.shared.verify.hits[endpoint.index()].load(Ordering::SeqCst)
    }

    /// Number of verify requests, all endpoints together.
    pub fn verify_hits_total(&self) -> u64 {
        VerifyEndpoint::ALL
            .iter()
            .map(|e| self.verify_hits(*e))
            .sum()
    }

    /// Every verify request received so far, in order.
    pub fn verify_calls(&self) -> Vec<VerifyCall> {
        self.shared.verify.calls.lock().clone()
    }

    /// The largest number of verify requests that were in progress at once.
    pub fn max_verify_in_flight(&self) -> u64 {
        self.shared.verify.max_in_flight.load(Ordering::SeqCst)
    }

    /// Forgets the hit counts, the recorded calls and the in-flight maximum of the verify
    /// endpoints (registered and issued tokens stay).
    pub fn reset_verify_counts(&self) {
        let v = &self.shared.verify;
        for h in &v.hits {
            h.store(0, Ordering::SeqCst);
        }
        v.calls.lock().clear();
        v.max_in_flight
            .store(v.in_flight.load(Ordering::SeqCst), Ordering::SeqCst);
    }

    /// Switches an outage on (`Some`) or off (`None`). [`Outage::Refuse`] stops listening
    /// (open connections are dropped); leaving it listens again on the same port.
    pub fn set_outage(&self, outage: Option<Outage>) {
        let refuse = outage == Some(Outage::Refuse);
        *self.shared.outage.lock() = outage;
        let mut handle = self.handle.lock();
        if refuse {
            if let Some(h) = handle.take() {
                // Waited for on a thread of its own: the caller may be inside a runtime.
                std::thread::spawn(move || actix_web::rt::System::new().block_on(h.stop(false)))
                    .join()
                    .expect("actix_clerk::testing: stopping the Backend API stand-in");
            }
        } else if handle.is_none() {
            let deadline = std::time::Instant::now() + Duration::from_secs(10);
            let listener = loop {
                match std::net::TcpListener::bind(("127.0.0.1", self.port)) {
                    Ok(l) => break l,
                    Err(_) if std::time::Instant::now() < deadline => {
                        std::thread::sleep(Duration::from_millis(20));
                    }
                    Err(e) => panic!(
                        "actix_clerk::testing: listening again on port {}: {e}",
                        self.port
                    ),
                }
            };
            *handle = Some(serve(listener, self.shared.clone()));
        }
    }
}

impl Drop for TestBackendApi {
    fn drop(&mut self) {
        if let Some(h) = self.handle.lock().take() {
            // Not waited for: the server's thread ends on its own.
            drop(h.stop(false));
        }
    }
}
