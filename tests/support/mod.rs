//! What the tests share beyond the testing kit (`actix_clerk::testing`, which mints every token
//! and plays Clerk's Backend API): the clock, a port where nothing listens, the pinned
//! `@clerk/backend` the oracles run, and the examples built to run as processes.
#![allow(dead_code)]

/// Seconds since the epoch.
pub fn now_secs() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
}

/// A base URL on 127.0.0.1 where nothing listens (connection refused).
pub fn closed_port_url() -> String {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = listener.local_addr().expect("addr").port();
    drop(listener);
    format!("http://127.0.0.1:{port}")
}

/// `tests/conformance`, with the pinned `@clerk/backend` installed (`npm ci` on first use, once
/// per process even when tests run in parallel). Fails, never skips, when npm is missing: the
/// suites that call it compare with Clerk's SDK.
pub fn clerk_backend_dir() -> std::path::PathBuf {
    static INSTALLED: std::sync::OnceLock<std::path::PathBuf> = std::sync::OnceLock::new();
    INSTALLED
        .get_or_init(|| {
            let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
                .join("tests")
                .join("conformance");
            if !dir
                .join("node_modules/@clerk/backend/package.json")
                .exists()
            {
                npm_ci(&dir, "npm must be installed to compare with @clerk/backend");
            }
            dir
        })
        .clone()
}

/// `npm ci` in `dir`, its output captured: Node makes the pipes it inherits non-blocking, and a
/// test runner's stdout (shared with `tee` in CI) must stay blocking, or a large print fails.
pub fn npm_ci(dir: &std::path::Path, missing: &str) {
    let out = std::process::Command::new("npm")
        .args(["ci", "--no-audit", "--no-fund", "--loglevel=error"])
        .current_dir(dir)
        .stdin(std::process::Stdio::null())
        .output()
        .expect(missing);
    assert!(
        out.status.success(),
        "npm ci failed in {}: {}",
        dir.display(),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Path of an example binary, built (or brought up to date) by cargo first, in this test
/// binary's own target directory and profile.
pub fn example_binary(name: &str) -> std::path::PathBuf {
    let exe = std::env::current_exe().expect("test binary path");
    let profile_dir = exe
        .parent()
        .and_then(std::path::Path::parent)
        .expect("target profile dir");
    let status = std::process::Command::new(env!("CARGO"))
        .args(["build", "--quiet", "--example", name])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .env(
            "CARGO_TARGET_DIR",
            profile_dir.parent().expect("target dir"),
        )
        .status()
        .unwrap_or_else(|e| panic!("cargo build --example {name}: {e}"));
    assert!(status.success(), "building the {name} example failed");
    profile_dir
        .join("examples")
        .join(format!("{name}{}", std::env::consts::EXE_SUFFIX))
}

/// Seconds since the epoch of `Thu, 26 Nov 2026 12:15:37 GMT`.
pub fn parse_http_date(s: &str) -> Option<i64> {
    let parts: Vec<&str> = s.split([' ', ':', ',']).filter(|p| !p.is_empty()).collect();
    let [_, day, mon, year, h, m, sec, "GMT"] = parts.as_slice() else {
        return None;
    };
    const MONTHS: [&str; 12] = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    let month = MONTHS.iter().position(|x| x == mon)? as i64 + 1;
    let (y, d): (i64, i64) = (year.parse().ok()?, day.parse().ok()?);
    let (y2, m2) = if month <= 2 {
        (y - 1, month + 9)
    } else {
        (y, month - 3)
    };
    let era = y2.div_euclid(400);
    let yoe = y2 - era * 400;
    let doy = (153 * m2 + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146_097 + doe - 719_468;
    Some(
        days * 86_400
            + h.parse::<i64>().ok()? * 3600
            + m.parse::<i64>().ok()? * 60
            + sec.parse::<i64>().ok()?,
    )
}

/// An example binary running as a process on a free port of 127.0.0.1, with only the given
/// environment (plus `PORT`); killed when dropped.
pub struct ExampleServer {
    child: std::process::Child,
    /// `http://127.0.0.1:<port>`
    pub base: String,
}

impl ExampleServer {
    /// Starts `bin` and waits for its `… listening …` banner on stdout.
    pub fn start(bin: &std::path::Path, env: &[(&str, &str)]) -> ExampleServer {
        use std::io::{BufRead as _, BufReader};
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("free port")
            .port();
        let mut cmd = std::process::Command::new(bin);
        cmd.env_clear()
            .env("PORT", port.to_string())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::null());
        for (k, v) in env {
            cmd.env(k, v);
        }
        let mut child = cmd.spawn().expect("start the example");
        let mut line = String::new();
        BufReader::new(child.stdout.take().expect("stdout"))
            .read_line(&mut line)
            .expect("banner");
        let server = ExampleServer {
            child,
            base: format!("http://127.0.0.1:{port}"),
        };
        assert!(line.contains("listening"), "the example said: {line}");
        server
    }
}

impl Drop for ExampleServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Runs one of the Node oracles of `tests/conformance` (`script`, e.g.
/// `authorization-oracle.mjs`): `input` as JSON on stdin, Clerk's answers parsed from stdout.
pub fn run_oracle(script: &str, input: &serde_json::Value) -> serde_json::Value {
    use std::io::Write as _;
    use std::process::{Command, Stdio};
    let dir = clerk_backend_dir();
    let mut cmd = Command::new("node");
    cmd.arg(dir.join(script))
        .current_dir(&dir)
        .env("CLERK_TELEMETRY_DISABLED", "1")
        .env_remove("CLERK_WEBHOOK_SIGNING_SECRET")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        // Never inherited: Node would make the test runner's own pipe non-blocking.
        .stderr(Stdio::piped());
    // Clerk's SDK reads Vercel's variables (an automatic proxy URL): never from this machine.
    for (k, _) in std::env::vars_os() {
        if k.to_string_lossy().starts_with("VERCEL") {
            cmd.env_remove(k);
        }
    }
    let mut child = cmd
        .spawn()
        .unwrap_or_else(|e| panic!("node runs {script}: {e}"));
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(input.to_string().as_bytes())
        .expect("write cases");
    let output = child.wait_with_output().expect("oracle output");
    assert!(
        output.status.success(),
        "{script} failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    serde_json::from_slice(&output.stdout).expect("oracle JSON")
}

/// Collects everything the crate logs through `tracing` on this thread.
#[derive(Clone, Default)]
pub struct LogBuffer(std::sync::Arc<parking_lot::Mutex<Vec<u8>>>);
impl std::io::Write for LogBuffer {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}
impl LogBuffer {
    /// Logs at every level into this buffer while the guard lives (this thread).
    pub fn capture(&self) -> tracing::subscriber::DefaultGuard {
        let buf = self.clone();
        let subscriber = tracing_subscriber::fmt()
            .with_max_level(tracing::Level::TRACE)
            .with_ansi(false)
            .with_writer(move || buf.clone())
            .finish();
        tracing::subscriber::set_default(subscriber)
    }
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.0.lock()).into_owned()
    }
}

/// Replaces each `Current date: <date>` with a placeholder and returns the dates found.
pub fn split_current_dates(message: &str) -> (String, Vec<i64>) {
    const MARK: &str = "Current date: ";
    const DATE_LEN: usize = "Thu, 26 Nov 2026 12:15:37 GMT".len();
    let mut out = String::new();
    let mut dates = Vec::new();
    let mut rest = message;
    while let Some(i) = rest.find(MARK) {
        out.push_str(&rest[..i + MARK.len()]);
        let after = &rest[i + MARK.len()..];
        let date = after.get(..DATE_LEN).unwrap_or(after);
        dates.push(parse_http_date(date).unwrap_or(i64::MIN));
        out.push_str("<now>");
        rest = &after[date.len()..];
    }
    out.push_str(rest);
    (out, dates)
}
