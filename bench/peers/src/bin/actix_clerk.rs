//! actix-clerk: `actix_clerk with|require cache|nocache`, configured from the CLERK_* env vars
//! (CLERK_JWT_KEY PEM: networkless), one worker, the handler a user writes (`handler::me`:
//! `web::ReqData<Auth>` in, `{"userId":…}` out).
use actix_clerk::{ClerkConfigBuilder, ClerkRequireAuth, ClerkWithAuth};
use actix_clerk_bench_peers::{handler, port};
use actix_web::{web, App, HttpServer};

const USAGE: &str = "usage: actix_clerk with|require cache|nocache";

#[actix_web::main]
async fn main() -> std::io::Result<()> {
    let args: Vec<String> = std::env::args().collect();
    let mut builder = ClerkConfigBuilder::from_env().map_err(std::io::Error::other)?;
    match args.get(2).map(String::as_str) {
        Some("cache") => {}
        Some("nocache") => builder = builder.disable_token_cache(),
        _ => return Err(std::io::Error::other(USAGE)),
    }
    let config = builder.build().map_err(std::io::Error::other)?;
    match args.get(1).map(String::as_str) {
        Some("with") => {
            HttpServer::new(move || {
                App::new()
                    .wrap(ClerkWithAuth::new(config.clone()))
                    .route("/", web::get().to(handler::me))
            })
            .workers(1)
            .bind(("127.0.0.1", port()))?
            .run()
            .await
        }
        Some("require") => {
            HttpServer::new(move || {
                App::new()
                    .wrap(ClerkRequireAuth::new(config.clone()))
                    .route("/", web::get().to(handler::me))
            })
            .workers(1)
            .bind(("127.0.0.1", port()))?
            .run()
            .await
        }
        _ => Err(std::io::Error::other(USAGE)),
    }
}
