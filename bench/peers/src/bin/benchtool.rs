//! Helpers for load.sh, all local:
//!   benchtool mint KEY.pem KID        print an RS256 Clerk-shaped session token (valid 2 h)
//!   benchtool jwks KEY.pem KID        print the JWKS (`{"keys":[…]}`) of the key
//!   benchtool serve-jwks PORT FILE    serve FILE as JSON on 127.0.0.1:PORT (any path), forever
//! KEY.pem is a PKCS#8 RSA private key (`openssl genpkey -algorithm RSA`).
use std::io::{Read, Write};
use std::net::TcpListener;

use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::signature::{KeyPair as _, RsaKeyPair, RSA_PKCS1_SHA256};
use base64::Engine as _;
use serde_json::json;

fn b64url(bytes: impl AsRef<[u8]>) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

fn load_key(path: &str) -> RsaKeyPair {
    let text = std::fs::read_to_string(path).expect("read key file");
    let body: String = text
        .lines()
        .filter(|l| !l.starts_with("-----"))
        .collect::<Vec<_>>()
        .concat();
    let der = base64::engine::general_purpose::STANDARD
        .decode(body)
        .expect("PEM body is base64");
    RsaKeyPair::from_pkcs8(&der).expect("PKCS#8 RSA private key")
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    match args.get(1).map(String::as_str) {
        Some("mint") => {
            let pair = load_key(&args[2]);
            let now = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .expect("clock")
                .as_secs() as i64;
            let header = json!({"alg": "RS256", "kid": args[3], "typ": "JWT"});
            let claims = json!({
                "azp": "http://localhost:3000",
                "exp": now + 7200,
                "iat": now - 10,
                "iss": "https://clerk.example.com",
                "nbf": now - 10,
                "sid": "sess_2bench",
                "sub": "user_2bench",
            });
            let input = format!(
                "{}.{}",
                b64url(header.to_string()),
                b64url(claims.to_string())
            );
            let mut sig = vec![0; pair.public_modulus_len()];
            pair.sign(
                &RSA_PKCS1_SHA256,
                &SystemRandom::new(),
                input.as_bytes(),
                &mut sig,
            )
            .expect("sign");
            println!("{input}.{}", b64url(sig));
        }
        Some("jwks") => {
            let pair = load_key(&args[2]);
            let pk = pair.public_key();
            let jwk = json!({
                "use": "sig",
                "kty": "RSA",
                "kid": args[3],
                "alg": "RS256",
                "n": b64url(pk.modulus().big_endian_without_leading_zero()),
                "e": b64url(pk.exponent().big_endian_without_leading_zero()),
            });
            println!("{}", json!({ "keys": [jwk] }));
        }
        Some("serve-jwks") => {
            let port: u16 = args[2].parse().expect("port");
            let body = std::fs::read(&args[3]).expect("read JWKS file");
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
        _ => {
            eprintln!("usage: benchtool mint|jwks KEY.pem KID | serve-jwks PORT FILE");
            std::process::exit(2);
        }
    }
}
