//! actix-clerk: `actix_clerk with|require cache|nocache [apikey]`, configured from the CLERK_*
//! env vars (CLERK_JWT_KEY PEM: networkless), one worker, the handler a user writes
//! (`handler::me`: `web::ReqData<Auth>` in, `{"userId":…}` out). `apikey`: the strict middleware
//! accepts API keys only (CLERK_SECRET_KEY and CLERK_API_URL of the Backend API stand-in).
use actix_clerk::{Accepts, ClerkConfigBuilder, ClerkRequireAuth, ClerkWithAuth, TokenKind};
use actix_clerk_bench_peers::{handler, port};
use actix_web::{web, App, HttpServer};

const USAGE: &str = "usage: actix_clerk with|require cache|nocache [apikey]";

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
            let mut strict = ClerkRequireAuth::new(config);
            if args.get(3).map(String::as_str) == Some("apikey") {
                strict = strict
                    .accepts(Accepts::Kind(TokenKind::ApiKey))
                    .map_err(std::io::Error::other)?;
            }
            HttpServer::new(move || {
                App::new()
                    .wrap(strict.clone())
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
