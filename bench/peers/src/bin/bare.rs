//! Baseline: actix-web with no middleware, one worker, the handler of every other server with a
//! constant user id (`handler::bare_me`).
use actix_clerk_bench_peers::{handler, port};
use actix_web::{web, App, HttpServer};

#[actix_web::main]
async fn main() -> std::io::Result<()> {
    HttpServer::new(|| App::new().route("/", web::get().to(handler::bare_me)))
        .workers(1)
        .bind(("127.0.0.1", port()))?
        .run()
        .await
}
