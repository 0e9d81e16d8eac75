//! The handler every benchmarked server runs: the one a user writes behind the middleware. It
//! takes the request's [`Auth`] (`web::ReqData<Auth>`, which clones it out of the request's
//! extensions) and answers `{"userId":"<user id>"}` through `web::Json`.
//!
//! Shared by the load-test peers (`bench/peers`, a library module of their crate) and the
//! criterion bench of the main crate (`benches/verify.rs`, which includes this file with
//! `#[path]`), so both measure the same handler. Depends only on `actix-web`, `actix-clerk` and
//! `serde`.

use actix_clerk::Auth;
use actix_web::web;
use serde::Serialize;

/// The response body: `{"userId":"user_…"}` (`{"userId":null}` when signed out).
#[derive(Serialize)]
pub struct Me {
    #[serde(rename = "userId")]
    pub user_id: Option<String>,
}

/// The user id of the benchmark's session number `i`: `user_2bench` and 21 digits, 32
/// characters in all, like a real Clerk user id (`user_` and 27 characters). The load script's
/// single-token runs use session 0.
pub fn bench_user_id(i: usize) -> String {
    format!("user_2bench{i:021}")
}

/// What bare actix-web answers as the user id (there is no authentication there): the id of
/// session 0, so that bare sends the very bytes the authenticating servers send for session 0,
/// and the same number of bytes for any other session.
pub const BARE_USER_ID: &str = "user_2bench000000000000000000000";

/// The handler behind every actix-clerk middleware (lax and strict, cache on and off).
pub async fn me(auth: web::ReqData<Auth>) -> web::Json<Me> {
    web::Json(Me {
        user_id: auth.user_id().map(str::to_owned),
    })
}

/// The same handler body for bare actix-web, with a constant user id.
pub async fn bare_me() -> web::Json<Me> {
    web::Json(Me {
        user_id: Some(BARE_USER_ID.to_owned()),
    })
}
