//! Helpers for bench/load.sh, all local. Every token comes from the project's one minter, the
//! testing kit (`actix_clerk::testing`, feature `testing`), as version 1 session tokens.
//!
//!   benchtool setup DIR N        generate a key (kid ins_bench) and write, in DIR:
//!                                  pub.pem      its public key (CLERK_JWT_KEY of the servers)
//!                                  jwks.json    its JWKS (`{"keys":[…]}`, for clerk-rs)
//!                                  tokens       N valid session tokens, one a line: session i
//!                                               is user `handler::bench_user_id(i)`, session
//!                                               `sess_2bench…i`, valid TOKEN_TTL_SECS (43200)
//!                                  token        the first of them (session 0)
//!                                  check/valid, check/expired, check/forged, check/malformed
//!                                               for the check phase: session 0's token; one
//!                                               expired an hour ago; session 0's header and
//!                                               claims signed by another key (same kid); not a
//!                                               JWT
//!   benchtool rs256 DIR [COUNT]  time COUNT (20000) RS256 verifications of DIR/token with
//!                                DIR/pub.pem and print `rs256_us <µs per verification>`
//!                                (aws-lc-rs, key parsed once, signature base64url-decoded each
//!                                time: the floor of a fresh verification), then
//!                                `rs256_jsonwebtoken_us <µs>` (`jsonwebtoken::crypto::verify`);
//!                                with a 4th argument `floor`, the first only (for callgrind)
//!   benchtool serve-jwks PORT FILE  serve FILE as JSON on 127.0.0.1:PORT (any path), forever
//!   benchtool cache-rss DIR N    the memory of N cached sessions: VmRSS with DIR/tokens read,
//!                                then after each of the first N was authenticated once (through
//!                                `authenticate_headers`, a token cache with room for them all)
//!                                and asked for once more; prints
//!                                `cache_rss_bytes_per_session <bytes>` (RSS growth / entries)
use std::io::{Read, Write};
use std::net::TcpListener;
use std::path::Path;
use std::time::{Duration, Instant, SystemTime};

use actix_clerk::testing::{TestBackendApi, TestInstance, TestKey, TEST_SECRET_KEY};
use actix_clerk_bench_peers::handler::{bench_user_id, BARE_USER_ID};
use base64::Engine as _;
use serde_json::json;

const KID: &str = "ins_bench";
/// Long enough for any run of load.sh (a default run takes about 15 minutes).
const TOKEN_TTL_SECS: u64 = 12 * 3600;

fn write(path: &Path, text: &str) {
    std::fs::write(path, text).unwrap_or_else(|e| panic!("write {}: {e}", path.display()));
}

fn setup(dir: &Path, n: usize) {
    assert!(n >= 1, "N must be at least 1");
    assert_eq!(
        bench_user_id(0),
        BARE_USER_ID,
        "bare's user id is session 0's"
    );
    let key = TestKey::generate(KID);
    let exp = SystemTime::now() + Duration::from_secs(TOKEN_TTL_SECS);
    let token = |i: usize| {
        key.session_token(bench_user_id(i))
            .v1()
            .session_id(format!("sess_2bench{i:021}"))
            .expires_at(exp)
            .sign()
    };
    // Signing is the slow part (about 1 ms a token): spread it over the CPUs.
    let threads = std::thread::available_parallelism()
        .map_or(1, |p| p.get())
        .min(n);
    let chunk = n.div_ceil(threads);
    let parts: Vec<String> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..threads)
            .map(|t| {
                let token = &token;
                s.spawn(move || {
                    let mut out = String::new();
                    for i in t * chunk..((t + 1) * chunk).min(n) {
                        out.push_str(&token(i));
                        out.push('\n');
                    }
                    out
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().expect("minting thread"))
            .collect()
    });
    let tokens = parts.concat();
    let first = tokens.lines().next().expect("one token").to_owned();

    write(&dir.join("pub.pem"), &key.public_pem());
    write(
        &dir.join("jwks.json"),
        &json!({ "keys": [key.jwk()] }).to_string(),
    );
    write(&dir.join("tokens"), &tokens);
    write(&dir.join("token"), &first);

    let check = dir.join("check");
    std::fs::create_dir_all(&check).expect("mkdir check");
    let hour = Duration::from_secs(3600);
    let expired = key
        .session_token(bench_user_id(0))
        .v1()
        .issued_at(SystemTime::now() - 2 * hour)
        .expires_at(SystemTime::now() - hour)
        .sign();
    let other = TestKey::generate(KID);
    let (signed, _) = first.rsplit_once('.').expect("three segments");
    let (header, payload) = signed.split_once('.').expect("three segments");
    let forged = other.sign_segments("RS256", header, payload);
    write(&check.join("valid"), &first);
    write(&check.join("expired"), &expired);
    write(&check.join("forged"), &forged);
    write(&check.join("malformed"), "not-a-jwt.at-all");
    eprintln!("benchtool: {n} tokens in {}", dir.display());
}

/// Median µs per call of `f` over 10 batches of `count / 10`.
fn time_per_call(count: usize, mut f: impl FnMut() -> bool) -> f64 {
    let batch = (count / 10).max(1);
    let mut samples: Vec<f64> = (0..10)
        .map(|_| {
            let start = Instant::now();
            for _ in 0..batch {
                assert!(std::hint::black_box(f()), "the benchmark token must verify");
            }
            start.elapsed().as_secs_f64() * 1e6 / batch as f64
        })
        .collect();
    samples.sort_by(f64::total_cmp);
    (samples[4] + samples[5]) / 2.0
}

fn rs256(dir: &Path, count: usize, parsed_only: bool) {
    use aws_lc_rs::signature::{ParsedPublicKey, RSA_PKCS1_2048_8192_SHA256};
    use jsonwebtoken::{Algorithm, DecodingKey};

    let pem = std::fs::read_to_string(dir.join("pub.pem")).expect("read pub.pem");
    let token = std::fs::read_to_string(dir.join("token")).expect("read token");
    let token = token.trim();
    let (signed, sig) = token.rsplit_once('.').expect("three segments");
    let body: String = pem.lines().filter(|l| !l.starts_with("-----")).collect();
    let der = base64::engine::general_purpose::STANDARD
        .decode(body)
        .expect("PEM body is base64");
    let parsed = ParsedPublicKey::new(&RSA_PKCS1_2048_8192_SHA256, der).expect("RSA public key");
    let b64 = base64::engine::general_purpose::URL_SAFE_NO_PAD;
    let aws = time_per_call(count, || {
        let raw = b64.decode(std::hint::black_box(sig)).expect("base64url");
        parsed.verify_sig(signed.as_bytes(), &raw).is_ok()
    });
    println!("rs256_us {aws:.2}");
    if parsed_only {
        return;
    }
    let key = DecodingKey::from_rsa_pem(pem.as_bytes()).expect("PEM");
    let jwt = time_per_call(count, || {
        jsonwebtoken::crypto::verify(
            std::hint::black_box(sig),
            signed.as_bytes(),
            &key,
            Algorithm::RS256,
        )
        .expect("verify")
    });
    println!("rs256_jsonwebtoken_us {jwt:.2}");
}

fn serve_jwks(port: u16, file: &str) {
    let body = std::fs::read(file).expect("read JWKS file");
    let listener = TcpListener::bind(("127.0.0.1", port)).expect("bind");
    for stream in listener.incoming() {
        let Ok(mut stream) = stream else { continue };
        let mut buf = [0u8; 4096];
        let mut seen = Vec::new();
        // Read the request head (GET, no body).
        while !seen.windows(4).any(|w| w == b"\r\n\r\n") {
            match stream.read(&mut buf) {
                Ok(0) | Err(_) => break,
                Ok(n) => seen.extend_from_slice(&buf[..n]),
            }
        }
        let head = format!(
            "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n",
            body.len()
        );
        let _ = stream.write_all(head.as_bytes());
        let _ = stream.write_all(&body);
        eprintln!("benchtool: served JWKS");
    }
}

/// `serve-backend DIR`: the testing kit's Backend API stand-in on 127.0.0.1, with one API key
/// of session 0's user issued; writes DIR/backend_url, DIR/backend_secret and DIR/api_key, then
/// serves until killed (the load test's API-key group).
fn serve_backend(dir: &Path) {
    let backend = TestBackendApi::start(&TestInstance::new());
    let api_key = backend.api_key(BARE_USER_ID).issue();
    write(&dir.join("backend_url"), backend.url());
    write(&dir.join("backend_secret"), TEST_SECRET_KEY);
    write(&dir.join("api_key"), &api_key);
    loop {
        std::thread::sleep(Duration::from_secs(3600));
    }
}

fn rss_kib() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmRSS:"))
                .and_then(|l| l.split_whitespace().nth(1)?.parse().ok())
        })
        .unwrap_or(0)
}

fn cache_rss(dir: &Path, n: usize) {
    let tokens = std::fs::read_to_string(dir.join("tokens")).expect("DIR/tokens");
    let tokens: Vec<&str> = tokens.lines().take(n).collect();
    assert_eq!(tokens.len(), n, "DIR/tokens holds fewer than N tokens");
    let pem = std::fs::read_to_string(dir.join("pub.pem")).expect("DIR/pub.pem");
    let config = actix_clerk::ClerkConfig::builder()
        .jwt_key(pem)
        // Headroom: the cache's shards fill unevenly.
        .token_cache_capacity(n + n / 5)
        .token_cache_max_bytes(u64::MAX / 2)
        .build()
        .expect("config");
    let headers: Vec<String> = tokens.iter().map(|t| format!("Bearer {t}")).collect();
    let before = rss_kib();
    actix_web::rt::System::new().block_on(async {
        for round in 0..2 {
            for h in &headers {
                let auth = config
                    .authenticate_headers("GET", "/", [("authorization", h.as_str())])
                    .await;
                assert!(auth.is_signed_in(), "round {round}: signed in");
            }
        }
    });
    let after = rss_kib();
    let stats = config.stats();
    let cache = stats.token_cache.expect("token cache on");
    assert!(cache.entries >= n * 99 / 100, "sessions cached: {}", cache.entries);
    println!(
        "cache_rss sessions {n} token_len {} rss_before_kib {before} rss_after_kib {after} hits {} misses {}",
        tokens[0].len(),
        cache.hits,
        cache.misses
    );
    println!(
        "cache_rss_bytes_per_session {:.0}",
        (after.saturating_sub(before) * 1024) as f64 / cache.entries as f64
    );
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let arg = |i: usize| args.get(i).map(String::as_str);
    match (arg(1), arg(2), arg(3)) {
        (Some("setup"), Some(dir), Some(n)) => setup(Path::new(dir), n.parse().expect("N")),
        (Some("rs256"), Some(dir), count) => rs256(
            Path::new(dir),
            count.map_or(20_000, |c| c.parse().expect("COUNT")),
            arg(4) == Some("floor"),
        ),
        (Some("serve-backend"), Some(dir), _) => serve_backend(Path::new(dir)),
        (Some("cache-rss"), Some(dir), Some(n)) => cache_rss(Path::new(dir), n.parse().expect("N")),
        (Some("serve-jwks"), Some(port), Some(file)) => {
            serve_jwks(port.parse().expect("port"), file)
        }
        _ => {
            eprintln!(
                "usage: benchtool setup DIR N | rs256 DIR [COUNT [floor]] | serve-jwks PORT FILE | serve-backend DIR | cache-rss DIR N"
            );
            std::process::exit(2);
        }
    }
}
