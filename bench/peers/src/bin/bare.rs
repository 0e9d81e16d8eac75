//! Baseline: actix-web with no middleware, one worker.
use actix_web::{web, App, HttpServer};

#[actix_web::main]
async fn main() -> std::io::Result<()> {
    let port: u16 = std::env::var("PORT")
        .ok()
        .and_then(|p| p.parse().ok())
        .unwrap_or(18080);
    HttpServer::new(|| App::new().route("/", web::get().to(|| async { "ok" })))
        .workers(1)
        .bind(("127.0.0.1", port))?
        .run()
        .await
}
