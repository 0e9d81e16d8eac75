//! Shared by the load-test peers: the handler every server runs, and the listening port.

pub mod handler;

/// The port to listen on (127.0.0.1 only): `$PORT`, default 18080.
pub fn port() -> u16 {
    std::env::var("PORT")
        .ok()
        .and_then(|p| p.parse().ok())
        .unwrap_or(18080)
}
