//! A real Redis server for the tests of the `redis` feature: Debian's `redis-server` (installed
//! by `scripts/install-redis.sh` when missing, once per process), run as a child process on a
//! free port of 127.0.0.1, without persistence, in a temporary directory of its own; its
//! output goes to a log file there, never to the test runner's. Stopped and started again on
//! the same port to play an outage; killed when dropped.
//!
//! Declared by the suites that use it with `#[path = "support/redis.rs"] mod redis_server;`.
//! Fails, never skips, when Redis cannot be installed or started.
#![allow(dead_code)]

use std::io::{BufRead as _, BufReader, Read as _, Write as _};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

/// How long a start may take before the server must answer `PING`.
const START_TIMEOUT: Duration = Duration::from_secs(10);

/// A `redis-server` child process on 127.0.0.1.
pub struct RedisServer {
    child: Option<Child>,
    port: u16,
    dir: PathBuf,
    log: PathBuf,
}

impl std::fmt::Debug for RedisServer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RedisServer")
            .field("port", &self.port)
            .field("running", &self.child.is_some())
            .field("dir", &self.dir)
            .finish()
    }
}

/// `redis-server` on PATH: `scripts/install-redis.sh` runs once per process when it is not
/// (its output captured); panics when that fails.
fn ensure_installed() {
    static INSTALLED: std::sync::OnceLock<()> = std::sync::OnceLock::new();
    INSTALLED.get_or_init(|| {
        if on_path("redis-server") {
            return;
        }
        let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("scripts/install-redis.sh");
        let out = Command::new("bash")
            .arg(&script)
            .current_dir(env!("CARGO_MANIFEST_DIR"))
            .stdin(Stdio::null())
            .output()
            .unwrap_or_else(|e| panic!("bash {}: {e}", script.display()));
        assert!(
            out.status.success() && on_path("redis-server"),
            "Redis must be installed for these tests: {} failed ({}):\n{}{}",
            script.display(),
            out.status,
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    });
}

/// Whether an executable `name` is in one of PATH's directories.
fn on_path(name: &str) -> bool {
    std::env::var_os("PATH").is_some_and(|path| {
        std::env::split_paths(&path).any(|dir| {
            let candidate = dir.join(name);
            std::fs::metadata(&candidate).is_ok_and(|m| m.is_file())
        })
    })
}

/// A port of 127.0.0.1 that was free a moment ago.
fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port on 127.0.0.1")
        .port()
}

impl RedisServer {
    /// Starts a server on a free port and waits until it answers `PING`. Panics (with the
    /// server's log) when it does not within 10 seconds.
    pub fn start() -> RedisServer {
        ensure_installed();
        static COUNTER: AtomicU64 = AtomicU64::new(0);
        let dir = std::env::temp_dir().join(format!(
            "actix-clerk-redis-{}-{}",
            std::process::id(),
            COUNTER.fetch_add(1, Ordering::Relaxed)
        ));
        std::fs::create_dir_all(&dir).unwrap_or_else(|e| panic!("create {}: {e}", dir.display()));
        let log = dir.join("redis.log");
        let mut server = RedisServer {
            child: None,
            port: 0,
            dir,
            log,
        };
        // Another process may take the free port between the check and the bind: a few tries.
        let mut last_error = String::new();
        for _ in 0..5 {
            server.port = free_port();
            match server.spawn() {
                Ok(()) => return server,
                Err(e) => last_error = e,
            }
        }
        panic!("redis-server did not start: {last_error}");
    }

    /// Starts `redis-server` on `self.port` and waits for `PONG`; on failure the child is
    /// killed and the reason (with the log's end) returned.
    fn spawn(&mut self) -> Result<(), String> {
        assert!(self.child.is_none(), "redis-server is already running");
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&self.log)
            .map_err(|e| format!("log file {}: {e}", self.log.display()))?;
        let err = log
            .try_clone()
            .map_err(|e| format!("log file {}: {e}", self.log.display()))?;
        let port = self.port.to_string();
        let mut child = Command::new("redis-server")
            .args([
                "--port",
                &port,
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
                "--protected-mode",
                "no",
                "--daemonize",
                "no",
            ])
            .arg("--dir")
            .arg(&self.dir)
            .current_dir(&self.dir)
            .stdin(Stdio::null())
            .stdout(Stdio::from(log))
            .stderr(Stdio::from(err))
            .spawn()
            .map_err(|e| format!("spawn redis-server: {e}"))?;
        let started = Instant::now();
        loop {
            if let Ok(Some(status)) = child.try_wait() {
                return Err(format!(
                    "redis-server on port {} exited ({status}):\n{}",
                    self.port,
                    self.log_tail()
                ));
            }
            if ping(self.port) {
                self.child = Some(child);
                return Ok(());
            }
            if started.elapsed() > START_TIMEOUT {
                let _ = child.kill();
                let _ = child.wait();
                return Err(format!(
                    "redis-server on port {} did not answer PING within {START_TIMEOUT:?}:\n{}",
                    self.port,
                    self.log_tail()
                ));
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// `redis://127.0.0.1:<port>`
    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}", self.port)
    }

    /// Its port on 127.0.0.1.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// Whether the child process runs (between `start`/`restart` and `stop`).
    pub fn is_running(&self) -> bool {
        self.child.is_some()
    }

    /// Kills the server (SIGKILL: an outage, not a shutdown) and waits for it to exit. Its data
    /// is lost (no persistence). Nothing happens when it is stopped already.
    pub fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Starts the server again on the same port (empty) and waits until it answers `PING`.
    /// Panics when it does not start; stops it first when it runs.
    pub fn restart(&mut self) {
        self.stop();
        // The port was just released; a moment for the kernel, a few tries.
        let mut last_error = String::new();
        for _ in 0..10 {
            match self.spawn() {
                Ok(()) => return,
                Err(e) => last_error = e,
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        panic!("redis-server did not start again: {last_error}");
    }

    /// Sends one command (`&["DBSIZE"]`, `&["INFO", "memory"]`, `&["FLUSHALL"]`, …) over a
    /// new connection and returns the reply as text: a simple string or integer as written,
    /// a bulk string's content (`""` for nil), an array's elements one a line. Panics on an
    /// error reply or when the server does not answer.
    pub fn command(&self, args: &[&str]) -> String {
        self.try_command(args)
            .unwrap_or_else(|e| panic!("redis {args:?}: {e}"))
    }

    /// As [`command`](Self::command), with an error reply (`-ERR …`) or a connection problem
    /// as `Err`.
    pub fn try_command(&self, args: &[&str]) -> Result<String, String> {
        let mut stream = connect(self.port).map_err(|e| format!("connect: {e}"))?;
        stream
            .write_all(&encode(args))
            .map_err(|e| format!("write: {e}"))?;
        let mut reader = BufReader::new(stream);
        read_reply(&mut reader)
    }

    /// What the server wrote so far (every start of it, in order).
    pub fn log_text(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    fn log_tail(&self) -> String {
        let text = self.log_text();
        let lines: Vec<&str> = text.lines().collect();
        lines[lines.len().saturating_sub(20)..].join("\n")
    }
}

impl Drop for RedisServer {
    fn drop(&mut self) {
        self.stop();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

fn connect(port: u16) -> std::io::Result<TcpStream> {
    let addr = std::net::SocketAddr::from(([127, 0, 0, 1], port));
    let stream = TcpStream::connect_timeout(&addr, Duration::from_secs(2))?;
    stream.set_read_timeout(Some(Duration::from_secs(10)))?;
    stream.set_write_timeout(Some(Duration::from_secs(10)))?;
    Ok(stream)
}

/// Whether a server on `port` answers `PING` with `+PONG`.
fn ping(port: u16) -> bool {
    let Ok(mut stream) = connect(port) else {
        return false;
    };
    if stream.write_all(b"*1\r\n$4\r\nPING\r\n").is_err() {
        return false;
    }
    let mut reply = [0u8; 7];
    stream.read_exact(&mut reply).is_ok() && &reply == b"+PONG\r\n"
}

/// A command as RESP: an array of bulk strings.
fn encode(args: &[&str]) -> Vec<u8> {
    let mut out = format!("*{}\r\n", args.len()).into_bytes();
    for arg in args {
        out.extend_from_slice(format!("${}\r\n", arg.len()).as_bytes());
        out.extend_from_slice(arg.as_bytes());
        out.extend_from_slice(b"\r\n");
    }
    out
}

/// One line of a reply, without its `\r\n`.
fn read_line(reader: &mut BufReader<TcpStream>) -> Result<String, String> {
    let mut line = String::new();
    let n = reader
        .read_line(&mut line)
        .map_err(|e| format!("read: {e}"))?;
    if n == 0 {
        return Err("the server closed the connection".to_owned());
    }
    Ok(line.trim_end_matches(['\r', '\n']).to_owned())
}

/// One RESP reply (RESP2, as Redis answers a connection that did not ask for RESP3).
fn read_reply(reader: &mut BufReader<TcpStream>) -> Result<String, String> {
    let line = read_line(reader)?;
    let (kind, rest) = line.split_at_checked(1).ok_or("an empty reply line")?;
    match kind {
        "+" | ":" => Ok(rest.to_owned()),
        "-" => Err(rest.to_owned()),
        "$" => {
            let len: i64 = rest.parse().map_err(|_| format!("bulk length {rest:?}"))?;
            if len < 0 {
                return Ok(String::new());
            }
            let mut buf = vec![0u8; len as usize + 2];
            reader
                .read_exact(&mut buf)
                .map_err(|e| format!("read: {e}"))?;
            buf.truncate(len as usize);
            Ok(String::from_utf8_lossy(&buf).into_owned())
        }
        "*" => {
            let n: i64 = rest.parse().map_err(|_| format!("array length {rest:?}"))?;
            let mut items = Vec::new();
            for _ in 0..n.max(0) {
                items.push(read_reply(reader)?);
            }
            Ok(items.join("\n"))
        }
        other => Err(format!("unexpected reply type {other:?}: {line:?}")),
    }
}
