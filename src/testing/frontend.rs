//! [`TestFrontendApi`]: a local server playing an instance's Clerk Frontend API for the
//! browser's handshake (127.0.0.1, port 0).

use std::fmt;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use parking_lot::Mutex;

use super::backend::{clerk_errors, TestBackendApi};
use super::call::ApiCall;
use super::handshake::{session_directives, signed_out_directives, HandshakeState};
use super::instance::TestInstance;
use super::random_hex;
use super::sessions::BROWSER_TOKEN_LIFETIME;

/// Who the Frontend API's client is signed in as: user id and session id.
type SignedIn = (String, String);

/// The state of one Frontend API stand-in.
struct FrontendState {
    instance: TestInstance,
    /// The nonces of the Backend API stand-in it hands its payloads to.
    handshake: Arc<HandshakeState>,
    signed_in: Mutex<Option<SignedIn>>,
    hits: AtomicU64,
    calls: Mutex<Vec<ApiCall>>,
}

/// A local HTTP server playing the Clerk Frontend API of one instance on 127.0.0.1 (port 0),
/// on a thread and runtime of its own: the browser side of Clerk's page flow, so that the
/// whole handshake round trip runs offline.
///
/// `GET /v1/client/handshake?redirect_url=<url>&…&format=nonce` (where a configuration's
/// handshake redirect sends the browser when its `proxy_url` is this stand-in's
/// [`url`](Self::url)) answers `307` to `redirect_url` with `__clerk_handshake_nonce=<nonce>`
/// appended to its query, the nonce registered on the [`TestBackendApi`] given to
/// [`start`](Self::start) with the directives of the client's session: after
/// [`sign_in`](Self::sign_in), a fresh session token of that user
/// ([`TestBackendApi::session_directives`]; suffixed names when the handshake's query says
/// `suffixed_cookies=true`); before, or after [`sign_out`](Self::sign_out), the signed-out
/// directives ([`TestBackendApi::signed_out_directives`]). A missing or relative
/// `redirect_url`, or a `format` other than `nonce`, is answered `400` with Clerk's error
/// body. It counts handshakes and records their queries. It stops when dropped.
///
/// ```
/// use actix_clerk::testing::{TestBackendApi, TestFrontendApi, TestInstance};
///
/// # #[actix_web::main]
/// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let instance = TestInstance::new();
/// let backend = TestBackendApi::start(&instance);
/// let frontend = TestFrontendApi::start(&backend, &instance);
/// let _session_id = frontend.sign_in("user_1");
///
/// // The browser follows the application's handshake redirect…
/// let client = awc::Client::builder().disable_redirects().finish();
/// let handshake = format!(
///     "{}/v1/client/handshake?redirect_url=https%3A%2F%2Fapp.example.com%2Fpage&format=nonce",
///     frontend.url()
/// );
/// let res = client.get(handshake).send().await?;
/// assert_eq!(res.status(), 307);
/// let location = res.headers().get("location").and_then(|v| v.to_str().ok()).unwrap_or("");
/// assert!(location.starts_with("https://app.example.com/page?__clerk_handshake_nonce="));
///
/// // … and the application resolves the nonce with the Backend API.
/// let nonce = location.rsplit('=').next().unwrap_or("");
/// let mut res = client
///     .get(format!("{}/v1/clients/handshake_payload?nonce={nonce}", backend.url()))
///     .bearer_auth(backend.secret_key())
///     .send()
///     .await?;
/// let payload: serde_json::Value = res.json().await?;
/// assert!(payload["directives"][0].as_str().unwrap_or("").starts_with("__session=ey"));
/// # Ok(())
/// # }
/// ```
pub struct TestFrontendApi {
    url: String,
    state: Arc<FrontendState>,
    handle: Mutex<Option<actix_web::dev::ServerHandle>>,
}

impl fmt::Debug for TestFrontendApi {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TestFrontendApi")
            .field("url", &self.url)
            .field("frontend_api", &self.state.instance.frontend_api())
            .field("signed_in", &*self.state.signed_in.lock())
            .field("handshake_hits", &self.handshake_hits())
            .finish_non_exhaustive()
    }
}

/// `400` with Clerk's error body.
fn bad_request(code: &str, message: &str) -> actix_web::HttpResponse {
    actix_web::HttpResponse::BadRequest().json(clerk_errors(code, message))
}

async fn handshake_answer(
    st: Arc<FrontendState>,
    req: actix_web::HttpRequest,
) -> actix_web::HttpResponse {
    st.hits.fetch_add(1, Ordering::SeqCst);
    let call = ApiCall::of(&req, &[]);
    let redirect = call.query_param("redirect_url");
    let format = call.query_param("format");
    let suffixed = call.query_param("suffixed_cookies").as_deref() == Some("true");
    st.calls.lock().push(call);
    let Some(redirect) = redirect.filter(|r| !r.is_empty()) else {
        return bad_request("form_param_missing", "redirect_url is missing");
    };
    let Ok(mut target) = url::Url::parse(&redirect) else {
        return bad_request(
            "form_param_format_invalid",
            "redirect_url is not an absolute URL",
        );
    };
    if format.as_deref() != Some("nonce") {
        return bad_request(
            "form_param_value_invalid",
            "this stand-in answers format=nonce only",
        );
    }
    let suffix = suffixed.then(|| st.instance.cookie_suffix());
    let signed_in = st.signed_in.lock().clone();
    let directives = match signed_in {
        Some((user_id, session_id)) => {
            let token = st
                .instance
                .session_token(user_id)
                .session_id(session_id)
                .azp(target.origin().ascii_serialization())
                .lifetime(BROWSER_TOKEN_LIFETIME)
                .sign();
            session_directives(&token, suffix)
        }
        None => signed_out_directives(suffix),
    };
    let nonce = st.handshake.register(directives);
    target
        .query_pairs_mut()
        .append_pair("__clerk_handshake_nonce", &nonce);
    actix_web::HttpResponse::TemporaryRedirect()
        .insert_header(("location", target.as_str()))
        .insert_header(("cache-control", "no-store"))
        .finish()
}

/// Serves `state` on `listener` on a thread and runtime of its own; the handle stops it.
fn serve(
    listener: std::net::TcpListener,
    state: Arc<FrontendState>,
) -> actix_web::dev::ServerHandle {
    use actix_web::{web, App, HttpRequest, HttpServer};
    super::backend::run_server("Frontend API", move || {
        Ok(HttpServer::new(move || {
            let st = state.clone();
            App::new().route(
                "/v1/client/handshake",
                web::get().to(move |req: HttpRequest| handshake_answer(st.clone(), req)),
            )
        })
        .workers(1)
        .disable_signals()
        .listen(listener)?
        .run())
    })
}

impl TestFrontendApi {
    /// The Frontend API of `instance`, registering its handshake payloads on `backend`
    /// (normally the stand-in started for the same instance). Its client starts signed out.
    pub fn start(backend: &TestBackendApi, instance: &TestInstance) -> TestFrontendApi {
        let state = Arc::new(FrontendState {
            instance: instance.clone(),
            handshake: backend.shared.handshake.clone(),
            signed_in: Mutex::new(None),
            hits: AtomicU64::new(0),
            calls: Mutex::new(Vec::new()),
        });
        let (listener, port) = super::backend::local_listener();
        let handle = serve(listener, state.clone());
        TestFrontendApi {
            url: format!("http://127.0.0.1:{port}"),
            state,
            handle: Mutex::new(Some(handle)),
        }
    }

    /// Its base URL, `http://127.0.0.1:<port>`: set a configuration's `proxy_url` to it, and
    /// its handshake redirects come here (`<url>/v1/client/handshake?…`).
    pub fn url(&self) -> &str {
        &self.url
    }

    /// Signs the client in as `user_id` in a new session, whose id (`sess_<random>`) is
    /// returned: from now on every handshake mints a fresh session token of that user and
    /// session (signed by the instance's key, `azp` the origin of `redirect_url`, lasting
    /// [`BROWSER_TOKEN_LIFETIME`]). Issue a matching refresh token with
    /// [`TestBackendApi::refresh_token`].
    pub fn sign_in(&self, user_id: impl Into<String>) -> String {
        let session_id = format!("sess_{}", random_hex(24));
        *self.state.signed_in.lock() = Some((user_id.into(), session_id.clone()));
        session_id
    }

    /// Signs the client out: from now on every handshake hands the signed-out directives.
    pub fn sign_out(&self) {
        *self.state.signed_in.lock() = None;
    }

    /// The session the client is signed in to: user id and session id.
    pub fn signed_in(&self) -> Option<(String, String)> {
        self.state.signed_in.lock().clone()
    }

    /// Number of handshake requests received so far (answered or refused).
    pub fn handshake_hits(&self) -> u64 {
        self.state.hits.load(Ordering::SeqCst)
    }

    /// Every handshake request received so far, in order.
    pub fn handshake_calls(&self) -> Vec<ApiCall> {
        self.state.calls.lock().clone()
    }

    /// The last handshake request received: its query carries `redirect_url`,
    /// `__clerk_hs_reason`, `suffixed_cookies`, `__session`… ([`ApiCall::query_param`]).
    pub fn last_handshake(&self) -> Option<ApiCall> {
        self.state.calls.lock().last().cloned()
    }
}

impl Drop for TestFrontendApi {
    fn drop(&mut self) {
        if let Some(h) = self.handle.lock().take() {
            // Not waited for: the server's thread ends on its own.
            drop(h.stop(false));
        }
    }
}
