//! A real browser against the `pages` example: Debian's headless Chromium (`/usr/bin/chromium`,
//! installed by `scripts/install-chromium.sh` when missing), driven by playwright-core through
//! `tests/browser/drive.mjs`, follows the crate's handshake redirects to the testing kit's
//! Frontend API stand-in and back, keeps the cookies the application sets, and renders the
//! page. The application runs on `http://localhost:<port>` (the browser's cookies are on
//! `localhost`), the stand-ins on 127.0.0.1.
//!
//! Scenarios:
//! - an expired `__session` with the Frontend API signed in: one handshake round trip, the page
//!   renders signed in, the browser's jar holds the fresh token; a reload and a new navigation
//!   need no further handshake;
//! - the same start, signed out at the Frontend API: the page renders signed out, no loop;
//! - a Frontend API that never fixes the session: the loop stops after exactly 3 handshakes;
//! - the strict `/account` without cookies: the browser lands on the sign-in page with
//!   `redirect_url` naming the account page.
//!
//! Chromium is never skipped: when it cannot be found or installed, the test fails and says so.
//! A failed scenario prints every browser step it saw (`BROWSER_TEST_VERBOSE=1`: always).

mod support;

use std::io::{BufRead as _, BufReader, Read as _, Write as _};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{mpsc, Arc, Mutex};
use std::time::{Duration, Instant};

use actix_clerk::testing::{TestBackendApi, TestFrontendApi, TestInstance};
use base64::Engine as _;
use serde::Deserialize;
use serde_json::{json, Value};

/// Where Debian's `chromium` package puts the browser (drive.mjs launches this one).
const CHROMIUM: &str = "/usr/bin/chromium";
/// How long one browser step (a navigation and its redirects) may take.
const STEP_TIMEOUT: Duration = Duration::from_secs(30);
/// Why a page navigation on an expired cookie without a refresh cookie is handshaked.
const EXPIRED_REASON: &str = "session-token-expired-refresh-non-eligible-no-refresh-cookie";

// ---------------------------------------------------------------------------------------------
// Chromium and playwright-core

/// Makes sure `/usr/bin/chromium` exists: runs the project's `scripts/install-chromium.sh`
/// (Debian's package, through apt-get) when it is missing, then fails — never skips — when it
/// is still not there.
fn ensure_chromium() {
    if !Path::new(CHROMIUM).exists() {
        let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("scripts/install-chromium.sh");
        eprintln!(
            "browser: {CHROMIUM} is missing; installing it with {}",
            script.display()
        );
        match Command::new("bash").arg(&script).status() {
            Ok(status) if status.success() => {}
            Ok(status) => eprintln!("browser: {} exited with {status}", script.display()),
            Err(e) => eprintln!("browser: cannot run {}: {e}", script.display()),
        }
    }
    assert!(
        Path::new(CHROMIUM).exists(),
        "browser: Chromium was not found at {CHROMIUM} and scripts/install-chromium.sh could \
         not install it (it needs root or sudo, and Debian's package registry: `apt-get install \
         chromium`). This test drives a real browser; it does not skip."
    );
}

/// `tests/browser`, with its pinned playwright-core installed (`npm ci` on first use).
fn browser_dir() -> PathBuf {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests")
        .join("browser");
    if !dir
        .join("node_modules/playwright-core/package.json")
        .exists()
    {
        support::npm_ci(
            &dir,
            "npm must be installed to drive Chromium with playwright-core",
        );
    }
    dir
}

/// One response of a navigation, as the browser saw it.
#[derive(Debug, Clone, Deserialize)]
struct Hop {
    url: String,
    status: Option<u16>,
    location: Option<String>,
    set_cookie: Vec<String>,
    request_cookie: Option<String>,
}

/// A cookie of the browser's jar.
#[derive(Debug, Clone, Deserialize)]
struct JarCookie {
    name: String,
    value: String,
    #[serde(rename = "httpOnly")]
    http_only: bool,
}

/// Where one browser step ended (drive.mjs's answer).
#[derive(Debug, Clone, Deserialize)]
struct Step {
    url: String,
    status: Option<u16>,
    error: Option<String>,
    status_text: Option<String>,
    user: Option<String>,
    chain: Vec<Hop>,
    cookies: Vec<JarCookie>,
}

impl Step {
    /// The value of the browser's cookie `name` for the application.
    fn cookie(&self, name: &str) -> Option<&str> {
        self.cookies
            .iter()
            .find(|c| c.name == name)
            .map(|c| c.value.as_str())
    }
}

/// One headless Chromium (a fresh profile) driven by `node drive.mjs`, step by step; closed
/// when dropped.
struct Browser {
    child: Child,
    stdin: Option<ChildStdin>,
    lines: mpsc::Receiver<String>,
}

impl Browser {
    /// Launches the browser with `cookies` set for `origin`.
    fn open(dir: &Path, origin: &str, cookies: &[(&str, &str)]) -> Browser {
        let mut child = Command::new("node")
            .arg(dir.join("drive.mjs"))
            .current_dir(dir)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            // Never inherited: Node would make the test runner's own pipe non-blocking.
            .stderr(Stdio::piped())
            .spawn()
            .expect("node runs tests/browser/drive.mjs");
        let stdout = child.stdout.take().expect("stdout");
        if let Some(stderr) = child.stderr.take() {
            std::thread::spawn(move || {
                for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                    eprintln!("drive.mjs: {line}");
                }
            });
        }
        let (tx, lines) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        let mut browser = Browser {
            child,
            stdin: None,
            lines,
        };
        browser.stdin = browser.child.stdin.take();
        let cookies: Vec<Value> = cookies
            .iter()
            .map(|(name, value)| json!({ "name": name, "value": value }))
            .collect();
        browser.send(&json!({ "origin": origin, "cookies": cookies, "timeout_ms": 15_000 }));
        let ready: Value = serde_json::from_str(&browser.receive()).expect("drive.mjs: JSON");
        assert!(
            ready["ready"]
                .as_str()
                .is_some_and(|ua| ua.contains("Chrome")),
            "drive.mjs did not start Chromium: {ready}"
        );
        browser
    }

    fn send(&mut self, line: &Value) {
        let stdin = self.stdin.as_mut().expect("drive.mjs stdin");
        writeln!(stdin, "{line}")
            .and_then(|()| stdin.flush())
            .expect("write to drive.mjs");
    }

    fn receive(&mut self) -> String {
        self.lines
            .recv_timeout(STEP_TIMEOUT)
            .expect("drive.mjs answers within the step timeout (did Chromium start?)")
    }

    /// One step: the JSON text drive.mjs printed, and its parsed form.
    fn step(&mut self, step: Value) -> (String, Step) {
        self.send(&step);
        let text = self.receive();
        let parsed = serde_json::from_str(&text)
            .unwrap_or_else(|e| panic!("drive.mjs answered {text}: {e}"));
        (text, parsed)
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        // End of input: drive.mjs closes Chromium and exits.
        drop(self.stdin.take());
        let deadline = Instant::now() + Duration::from_secs(10);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

// ---------------------------------------------------------------------------------------------
// A tiny local site: a Frontend API that never fixes the session, and a sign-in page

/// A small HTTP server on 127.0.0.1: `GET /v1/client/handshake` answers `307` back to its
/// `redirect_url` with one fixed `__clerk_handshake_nonce` (whose directives carry an expired
/// session token: the session is never fixed), and `GET /sign-in` renders a sign-in page.
struct LocalSite {
    url: String,
    hits: Arc<AtomicU64>,
    queries: Arc<Mutex<Vec<String>>>,
}

impl LocalSite {
    fn start(nonce: String) -> LocalSite {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1:0");
        let url = format!(
            "http://127.0.0.1:{}",
            listener.local_addr().expect("addr").port()
        );
        let hits = Arc::new(AtomicU64::new(0));
        let queries = Arc::new(Mutex::new(Vec::new()));
        let (h, q) = (hits.clone(), queries.clone());
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                let Ok(stream) = stream else { continue };
                let (h, q, nonce) = (h.clone(), q.clone(), nonce.clone());
                std::thread::spawn(move || LocalSite::answer(stream, &h, &q, &nonce));
            }
        });
        LocalSite { url, hits, queries }
    }

    fn answer(mut stream: TcpStream, hits: &AtomicU64, queries: &Mutex<Vec<String>>, nonce: &str) {
        let _ = stream.set_read_timeout(Some(Duration::from_secs(5)));
        let mut head = Vec::new();
        let mut buf = [0u8; 4096];
        while !head.windows(4).any(|w| w == b"\r\n\r\n") && head.len() < 64 * 1024 {
            match stream.read(&mut buf) {
                Ok(0) | Err(_) => return,
                Ok(n) => head.extend_from_slice(&buf[..n]),
            }
        }
        let head = String::from_utf8_lossy(&head);
        let target = head.split(' ').nth(1).unwrap_or("/");
        let parsed = url::Url::parse(&format!("http://site{target}")).expect("request target");
        let (status, headers, body) = match parsed.path() {
            "/v1/client/handshake" => {
                hits.fetch_add(1, Ordering::SeqCst);
                queries
                    .lock()
                    .expect("queries")
                    .push(parsed.query().unwrap_or_default().to_owned());
                let back = parsed
                    .query_pairs()
                    .find(|(k, _)| k == "redirect_url")
                    .and_then(|(_, v)| url::Url::parse(&v).ok());
                match back {
                    Some(mut back) => {
                        let kept: Vec<(String, String)> = back
                            .query_pairs()
                            .filter(|(k, _)| k != "__clerk_handshake_nonce")
                            .map(|(k, v)| (k.into_owned(), v.into_owned()))
                            .collect();
                        back.query_pairs_mut()
                            .clear()
                            .extend_pairs(kept)
                            .append_pair("__clerk_handshake_nonce", nonce);
                        (
                            "307 Temporary Redirect",
                            format!("Location: {back}\r\nCache-Control: no-store\r\n"),
                            String::new(),
                        )
                    }
                    None => ("400 Bad Request", String::new(), "no redirect_url".into()),
                }
            }
            "/sign-in" => (
                "200 OK",
                "Content-Type: text/html; charset=utf-8\r\n".to_owned(),
                "<!doctype html><title>Sign in</title><p id=\"status\">Sign-in page</p>".into(),
            ),
            _ => ("404 Not Found", String::new(), String::new()),
        };
        let _ = write!(
            stream,
            "HTTP/1.1 {status}\r\n{headers}Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
            body.len()
        );
    }

    fn handshake_hits(&self) -> u64 {
        self.hits.load(Ordering::SeqCst)
    }
}

// ---------------------------------------------------------------------------------------------
// The application and the scenarios' world

/// The `pages` example on `http://localhost:<port>`.
struct App {
    _server: support::ExampleServer,
    origin: String,
}

impl App {
    /// Starts the example for `instance`, its handshakes sent to `proxy_url`, its sign-in page
    /// `sign_in_url`, its authorized party its own origin.
    fn start(
        bin: &Path,
        instance: &TestInstance,
        backend: &TestBackendApi,
        proxy_url: &str,
        sign_in_url: &str,
    ) -> App {
        let port = TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("free port")
            .port()
            .to_string();
        let origin = format!("http://localhost:{port}");
        let pem = instance.public_pem();
        // `PORT` given here overrides the one ExampleServer picks: the origin must be known
        // before the start, for CLERK_AUTHORIZED_PARTIES.
        let server = support::ExampleServer::start(
            bin,
            &[
                ("PORT", &port),
                ("CLERK_PUBLISHABLE_KEY", instance.publishable_key()),
                ("CLERK_SECRET_KEY", backend.secret_key()),
                ("CLERK_API_URL", backend.url()),
                ("CLERK_JWT_KEY", &pem),
                ("CLERK_PROXY_URL", proxy_url),
                ("CLERK_SIGN_IN_URL", sign_in_url),
                ("CLERK_AUTHORIZED_PARTIES", &origin),
            ],
        );
        App {
            _server: server,
            origin,
        }
    }

    fn home(&self) -> String {
        format!("{}/", self.origin)
    }
}

/// Everything the scenarios share.
struct World {
    dir: PathBuf,
    instance: TestInstance,
    backend: TestBackendApi,
    frontend: TestFrontendApi,
    site: LocalSite,
    /// Handshakes to `frontend`, sign-in page on `site`.
    app: App,
    /// Handshakes to `site` (never fixed).
    looping_app: App,
}

impl World {
    /// An expired session token of `user_id` in `session_id` for `origin`, and the cookies of a
    /// browser holding it (`__session`, `__client_uat` its `iat`).
    fn expired_cookies(&self, user_id: &str, session_id: &str, origin: &str) -> (String, String) {
        let token = self
            .instance
            .session_token(user_id)
            .session_id(session_id)
            .azp(origin)
            .expired()
            .sign();
        let uat = claims(&token)["iat"].as_i64().expect("iat").to_string();
        (token, uat)
    }
}

/// A token's claims, unverified.
fn claims(token: &str) -> Value {
    let payload = token.split('.').nth(1).unwrap_or_default();
    base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(payload)
        .ok()
        .and_then(|b| serde_json::from_slice(&b).ok())
        .unwrap_or(Value::Null)
}

/// The value of the `Set-Cookie` line for `name` among `lines`.
fn set_cookie_value<'a>(lines: &'a [String], name: &str) -> Option<&'a str> {
    lines.iter().find_map(|l| {
        let first = l.split(';').next()?;
        let (k, v) = first.split_once('=')?;
        (k.trim() == name).then_some(v)
    })
}

/// The failed checks of one scenario, and the browser steps it saw (printed on failure).
#[derive(Default)]
struct Checks {
    failures: Vec<String>,
    seen: Vec<String>,
}

impl Checks {
    fn that(&mut self, ok: bool, what: impl FnOnce() -> String) {
        if !ok {
            self.failures.push(what());
        }
    }

    fn eq<T: PartialEq + std::fmt::Debug>(&mut self, what: &str, got: T, want: T) {
        if got != want {
            self.failures
                .push(format!("{what}: got {got:?}, expected {want:?}"));
        }
    }

    /// Runs a browser step and keeps what it printed.
    fn step(&mut self, browser: &mut Browser, step: Value) -> Step {
        let (text, parsed) = browser.step(step);
        self.seen.push(text);
        parsed
    }

    /// The step ended on a page (no navigation error) with status 200.
    fn loaded(&mut self, name: &str, step: &Step) {
        self.eq(
            &format!("{name}: navigation error"),
            step.error.as_deref(),
            None,
        );
        self.eq(&format!("{name}: final status"), step.status, Some(200));
    }
}

fn goto(url: &str) -> Value {
    json!({ "goto": url })
}

// ---------------------------------------------------------------------------------------------
// Scenarios

/// a. An expired `__session`, the Frontend API signed in as user_1: app → 307 → Frontend API
/// → 307 back with the nonce → the app resolves it → signed in, the fresh token in the jar.
fn expired_session_renewed_by_the_handshake(w: &World, c: &mut Checks) {
    let session_id = w.frontend.sign_in("user_1");
    let (expired, uat) = w.expired_cookies("user_1", &session_id, &w.app.origin);
    let (handshakes, payloads) = (
        w.frontend.handshake_hits(),
        w.backend.handshake_payload_hits(),
    );
    let home = w.app.home();
    let fapi = w.frontend.url();
    let mut browser = Browser::open(
        &w.dir,
        &w.app.origin,
        &[("__session", &expired), ("__client_uat", &uat)],
    );

    let first = c.step(&mut browser, goto(&home));
    c.loaded("first load", &first);
    c.eq(
        "first load: #status",
        first.status_text.as_deref(),
        Some("Signed in as user_1"),
    );
    c.eq("first load: #user", first.user.as_deref(), Some("user_1"));
    c.that(
        first
            .url
            .starts_with(&format!("{home}?__clerk_handshake_nonce=")),
        || {
            format!(
                "first load: final URL {:?} is not the page with the nonce",
                first.url
            )
        },
    );
    c.eq(
        "first load: responses (app 307, Frontend API 307, app 200)",
        first.chain.len(),
        3,
    );
    if let [app, hs, back] = first.chain.as_slice() {
        c.eq("app: URL", app.url.as_str(), home.as_str());
        c.eq("app: status", app.status, Some(307));
        let location = app.location.clone().unwrap_or_default();
        c.that(
            location.starts_with(&format!("{fapi}/v1/client/handshake?")),
            || format!("app: Location {location:?} is not the Frontend API's handshake ({fapi})"),
        );
        c.eq(
            "app: __clerk_redirect_count set",
            set_cookie_value(&app.set_cookie, "__clerk_redirect_count"),
            Some("1"),
        );
        c.that(
            app.request_cookie
                .as_deref()
                .is_some_and(|k| k.contains(&expired)),
            || "app: the browser did not send its expired __session".to_owned(),
        );
        c.eq("Frontend API: status", hs.status, Some(307));
        c.that(
            hs.url.starts_with(&format!("{fapi}/v1/client/handshake?")),
            || format!("Frontend API: URL {}", hs.url),
        );
        let back_to = hs.location.clone().unwrap_or_default();
        c.that(
            back_to.starts_with(&format!("{home}?__clerk_handshake_nonce=")),
            || format!("Frontend API: Location {back_to:?} is not the page with a nonce"),
        );
        c.eq("app (nonce): status", back.status, Some(200));
        let fresh = set_cookie_value(&back.set_cookie, "__session");
        c.that(fresh.is_some_and(|t| !t.is_empty() && t != expired), || {
            format!(
                "app (nonce): no fresh __session among {:?}",
                back.set_cookie
            )
        });
    }
    c.eq(
        "handshakes at the Frontend API",
        w.frontend.handshake_hits() - handshakes,
        1,
    );
    c.eq(
        "handshake payload fetches",
        w.backend.handshake_payload_hits() - payloads,
        1,
    );
    match w.frontend.last_handshake() {
        Some(call) => {
            c.eq(
                "handshake redirect_url",
                call.query_param("redirect_url"),
                Some(home.clone()),
            );
            c.eq(
                "handshake reason",
                call.query_param("__clerk_hs_reason"),
                Some(EXPIRED_REASON.to_owned()),
            );
            c.eq(
                "handshake __session",
                call.query_param("__session"),
                Some(expired.clone()),
            );
            c.eq(
                "handshake format",
                call.query_param("format"),
                Some("nonce".to_owned()),
            );
            c.eq(
                "handshake suffixed_cookies",
                call.query_param("suffixed_cookies"),
                Some("false".to_owned()),
            );
        }
        None => c.that(false, || "the Frontend API saw no handshake".to_owned()),
    }

    // The browser's own jar: the fresh token the app's Set-Cookie gave.
    let jar = first.cookie("__session").unwrap_or_default().to_owned();
    c.that(!jar.is_empty() && jar != expired, || {
        "the jar's __session is not a fresh token".to_owned()
    });
    let fresh = claims(&jar);
    c.eq("fresh token: sub", fresh["sub"].as_str(), Some("user_1"));
    c.eq(
        "fresh token: sid",
        fresh["sid"].as_str(),
        Some(session_id.as_str()),
    );
    c.eq(
        "fresh token: azp",
        fresh["azp"].as_str(),
        Some(w.app.origin.as_str()),
    );
    let exp = fresh["exp"].as_i64().unwrap_or(0);
    c.that(exp > support::now_secs(), || {
        format!("fresh token: exp {exp} is not in the future")
    });
    c.eq(
        "jar: __client_uat is the fresh token's iat",
        first.cookie("__client_uat").map(str::to_owned),
        fresh["iat"].as_i64().map(|i| i.to_string()),
    );

    // A reload (the URL still carries the nonce, as Clerk leaves it in production: it is
    // resolved again) renders signed in with no further handshake.
    let reload = c.step(&mut browser, json!({ "reload": true }));
    c.loaded("reload", &reload);
    c.eq(
        "reload: #status",
        reload.status_text.as_deref(),
        Some("Signed in as user_1"),
    );
    c.eq("reload: responses (no redirect)", reload.chain.len(), 1);
    c.eq(
        "reload: handshakes at the Frontend API",
        w.frontend.handshake_hits() - handshakes,
        1,
    );

    // A new navigation to the page: the jar's fresh token alone signs it in.
    let payloads_before = w.backend.handshake_payload_hits();
    let again = c.step(&mut browser, goto(&home));
    c.loaded("new navigation", &again);
    c.eq(
        "new navigation: #status",
        again.status_text.as_deref(),
        Some("Signed in as user_1"),
    );
    c.eq(
        "new navigation: responses (no redirect)",
        again.chain.len(),
        1,
    );
    if let Some(hop) = again.chain.first() {
        c.eq("new navigation: Set-Cookie lines", hop.set_cookie.len(), 0);
        let sent = hop.request_cookie.clone().unwrap_or_default();
        c.that(sent.contains(&format!("__session={jar}")), || {
            format!("new navigation: the browser sent {sent:?}, not the fresh __session")
        });
    }
    c.eq(
        "new navigation: handshakes at the Frontend API",
        w.frontend.handshake_hits() - handshakes,
        1,
    );
    c.eq(
        "new navigation: handshake payload fetches",
        w.backend.handshake_payload_hits() - payloads_before,
        0,
    );
}

/// b. The same start, signed out at the Frontend API: one round trip, then "Signed out", and
/// the signed-out cookies stop any further handshake.
fn signed_out_at_the_frontend_api(w: &World, c: &mut Checks) {
    w.frontend.sign_out();
    let (expired, uat) = w.expired_cookies("user_1", "sess_gone", &w.app.origin);
    let (handshakes, payloads) = (
        w.frontend.handshake_hits(),
        w.backend.handshake_payload_hits(),
    );
    let home = w.app.home();
    let mut browser = Browser::open(
        &w.dir,
        &w.app.origin,
        &[("__session", &expired), ("__client_uat", &uat)],
    );

    let first = c.step(&mut browser, goto(&home));
    c.loaded("first load", &first);
    c.eq(
        "first load: #status",
        first.status_text.as_deref(),
        Some("Signed out"),
    );
    c.eq("first load: #user", first.user.as_deref(), None);
    c.eq(
        "first load: responses (app 307, Frontend API 307, app 200)",
        first.chain.len(),
        3,
    );
    c.eq(
        "handshakes at the Frontend API",
        w.frontend.handshake_hits() - handshakes,
        1,
    );
    c.eq(
        "handshake payload fetches",
        w.backend.handshake_payload_hits() - payloads,
        1,
    );
    if let Some(last) = first.chain.last() {
        c.eq(
            "app (nonce): __session removed",
            set_cookie_value(&last.set_cookie, "__session"),
            Some(""),
        );
        c.eq(
            "app (nonce): __client_uat",
            set_cookie_value(&last.set_cookie, "__client_uat"),
            Some("0"),
        );
    }
    c.eq("jar: __session", first.cookie("__session"), None);
    c.eq("jar: __client_uat", first.cookie("__client_uat"), Some("0"));

    // No loop: the next navigation is answered signed out at once.
    let again = c.step(&mut browser, goto(&home));
    c.loaded("new navigation", &again);
    c.eq(
        "new navigation: #status",
        again.status_text.as_deref(),
        Some("Signed out"),
    );
    c.eq(
        "new navigation: responses (no redirect)",
        again.chain.len(),
        1,
    );
    c.eq(
        "new navigation: handshakes at the Frontend API",
        w.frontend.handshake_hits() - handshakes,
        1,
    );
}

/// c. A Frontend API whose handshakes never fix the session (its directives carry an expired
/// token): the loop stops after exactly 3 handshake redirects, on a signed-out page.
fn redirect_loop_stops_at_three(w: &World, c: &mut Checks) {
    let app = &w.looping_app;
    let (expired, uat) = w.expired_cookies("user_1", "sess_loop", &app.origin);
    let (handshakes, payloads) = (w.site.handshake_hits(), w.backend.handshake_payload_hits());
    let home = app.home();
    let mut browser = Browser::open(
        &w.dir,
        &app.origin,
        &[("__session", &expired), ("__client_uat", &uat)],
    );

    let first = c.step(&mut browser, goto(&home));
    c.loaded("load", &first);
    c.eq(
        "load: #status",
        first.status_text.as_deref(),
        Some("Signed out"),
    );
    c.eq(
        "handshakes at the Frontend API",
        w.site.handshake_hits() - handshakes,
        3,
    );
    c.eq(
        "handshake payload fetches",
        w.backend.handshake_payload_hits() - payloads,
        3,
    );
    // app 307, Frontend API 307, three times, then the page.
    c.eq("responses", first.chain.len(), 7);
    let counts: Vec<Option<&str>> = first
        .chain
        .iter()
        .filter(|h| h.url.starts_with(&app.origin))
        .map(|h| set_cookie_value(&h.set_cookie, "__clerk_redirect_count"))
        .collect();
    c.eq(
        "__clerk_redirect_count set by the app's answers",
        counts,
        vec![Some("1"), Some("2"), Some("3"), None],
    );
    if let Some(last) = first.chain.last() {
        c.eq("last answer: status", last.status, Some(200));
        c.eq("last answer: Location", last.location.as_deref(), None);
        let sent = last.request_cookie.clone().unwrap_or_default();
        c.that(sent.contains("__clerk_redirect_count=3"), || {
            format!("last request: the browser sent {sent:?}, without __clerk_redirect_count=3")
        });
    }
    for (i, q) in w
        .site
        .queries
        .lock()
        .expect("queries")
        .iter()
        .enumerate()
        .skip(handshakes as usize)
    {
        let reason = url::form_urlencoded::parse(q.as_bytes())
            .find(|(k, _)| k == "__clerk_hs_reason")
            .map(|(_, v)| v.into_owned());
        c.eq(
            &format!("handshake {}: reason", i + 1),
            reason.as_deref(),
            Some(EXPIRED_REASON),
        );
    }
    // The guard the app set: HttpOnly, two seconds; the browser still holds it (unless the
    // machine took over two seconds since, when it may have expired) and its expired token.
    let lines: Vec<String> = first
        .chain
        .iter()
        .flat_map(|h| h.set_cookie.iter())
        .filter(|l| l.starts_with("__clerk_redirect_count="))
        .cloned()
        .collect();
    let want: Vec<String> = (1..=3)
        .map(|n| format!("__clerk_redirect_count={n}; SameSite=Lax; HttpOnly; Max-Age=2"))
        .collect();
    c.eq("__clerk_redirect_count Set-Cookie lines", lines, want);
    if let Some(guard) = first
        .cookies
        .iter()
        .find(|k| k.name == "__clerk_redirect_count")
    {
        c.eq("jar: __clerk_redirect_count", guard.value.as_str(), "3");
        c.eq(
            "jar: __clerk_redirect_count HttpOnly",
            guard.http_only,
            true,
        );
    }
    c.eq(
        "jar: __session",
        first.cookie("__session"),
        Some(expired.as_str()),
    );
}

/// d. The strict `/account` without cookies: to the sign-in page, `redirect_url` naming it.
fn account_sends_to_sign_in(w: &World, c: &mut Checks) {
    let handshakes = w.frontend.handshake_hits();
    let account = format!("{}/account", w.app.origin);
    let mut browser = Browser::open(&w.dir, &w.app.origin, &[]);
    let step = c.step(&mut browser, goto(&account));
    c.loaded("load", &step);
    c.eq(
        "load: #status",
        step.status_text.as_deref(),
        Some("Sign-in page"),
    );
    let landed = url::Url::parse(&step.url);
    match landed {
        Ok(u) => {
            c.eq(
                "final URL: sign-in page",
                format!("{}{}", u.origin().ascii_serialization(), u.path()),
                format!("{}/sign-in", w.site.url),
            );
            let back = u
                .query_pairs()
                .find(|(k, _)| k == "redirect_url")
                .map(|(_, v)| v.into_owned());
            c.eq("final URL: redirect_url", back, Some(account.clone()));
        }
        Err(e) => c.that(false, || format!("final URL {:?}: {e}", step.url)),
    }
    c.eq("responses (app 307, sign-in page 200)", step.chain.len(), 2);
    if let Some(first) = step.chain.first() {
        c.eq("app: status", first.status, Some(307));
    }
    c.eq(
        "handshakes at the Frontend API",
        w.frontend.handshake_hits() - handshakes,
        0,
    );
}

// ---------------------------------------------------------------------------------------------

fn panic_text(p: &(dyn std::any::Any + Send)) -> String {
    p.downcast_ref::<String>()
        .cloned()
        .or_else(|| p.downcast_ref::<&str>().map(|s| (*s).to_owned()))
        .unwrap_or_else(|| "a panic".to_owned())
}

#[test]
fn chromium_follows_the_handshake() {
    let started = Instant::now();
    ensure_chromium();
    let dir = browser_dir();
    let bin = support::example_binary("pages");

    let instance = TestInstance::new();
    let backend = TestBackendApi::start(&instance);
    let frontend = TestFrontendApi::start(&backend, &instance);
    // The never-fixing Frontend API's one answer: an expired token of user_1.
    let stale = instance.session_token("user_1").expired().sign();
    let site = LocalSite::start(backend.handshake_nonce(backend.session_directives(&stale, false)));
    let sign_in = format!("{}/sign-in", site.url);
    let app = App::start(&bin, &instance, &backend, frontend.url(), &sign_in);
    let looping_app = App::start(&bin, &instance, &backend, &site.url, &sign_in);
    let world = World {
        dir,
        instance,
        backend,
        frontend,
        site,
        app,
        looping_app,
    };
    println!(
        "browser: set up in {:.1} s",
        started.elapsed().as_secs_f64()
    );

    type Scenario = fn(&World, &mut Checks);
    let scenarios: [(&str, Scenario); 4] = [
        (
            "a. expired session renewed by the handshake",
            expired_session_renewed_by_the_handshake,
        ),
        (
            "b. signed out at the Frontend API",
            signed_out_at_the_frontend_api,
        ),
        ("c. redirect loop stops at 3", redirect_loop_stops_at_three),
        (
            "d. /account signed out goes to sign-in",
            account_sends_to_sign_in,
        ),
    ];
    let (mut passed, mut failed) = (0, 0);
    for (name, scenario) in scenarios {
        let t = Instant::now();
        let mut checks = Checks::default();
        let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            scenario(&world, &mut checks)
        }));
        if let Err(p) = outcome {
            checks
                .failures
                .push(format!("panicked: {}", panic_text(&*p)));
        }
        let secs = t.elapsed().as_secs_f64();
        if checks.failures.is_empty() {
            passed += 1;
            println!("browser: {name}: ok ({secs:.1} s)");
            if std::env::var_os("BROWSER_TEST_VERBOSE").is_some() {
                for s in &checks.seen {
                    println!("  browser step: {s}");
                }
            }
        } else {
            failed += 1;
            println!("browser: {name}: FAILED ({secs:.1} s)");
            for f in &checks.failures {
                println!("  - {f}");
            }
            for s in &checks.seen {
                println!("  browser step: {s}");
            }
        }
    }
    println!("browser: total {:.1} s", started.elapsed().as_secs_f64());
    println!("browser: {passed} passed, {failed} failed");
    assert_eq!(
        failed, 0,
        "browser: {failed} scenario(s) failed (see above)"
    );
}
