//! Profiling driver: `authloop MODE N` sends N requests with the token of $TOKEN through an
//! in-process actix app (`actix_web::test`, no sockets), so a profiler (callgrind, perf) sees
//! the middleware's own work without the network stack. The key is $CLERK_JWT_KEY (PEM).
//! MODE: with-cache | with-nocache | require-cache | require-nocache | cookie-cache |
//! apikey-cache | bare. The
//! handler is the load test's (`handler::me`, `handler::bare_me` for bare). `benchtool setup DIR
//! 1` writes a key (DIR/pub.pem) and a token (DIR/token). `apikey-cache`: `ClerkRequireAuth`
//! accepting API keys, one key (of the benchmark's user) verified once by the testing kit's
//! Backend API stand-in, then answered from the machine-token cache. `cookie-cache`: the token
//! in `__session` with `__client_uat=1` (an API request of a browser), `ClerkRequireAuth`.
//! `apikey-bare`: bare with the API key's header (apikey-cache's baseline: the harness's cost
//! grows with the header's length).
use actix_clerk::testing::{JwksMode, TestBackendApi};
use actix_clerk::{Accepts, ClerkConfig, ClerkRequireAuth, ClerkWithAuth, TokenKind};
use actix_clerk_bench_peers::handler;
use actix_web::http::header::{AUTHORIZATION, COOKIE};
use actix_web::{test, web, App};

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let mode = args.get(1).cloned().unwrap_or_default();
    let n: usize = args.get(2).and_then(|n| n.parse().ok()).unwrap_or(1000);
    // The stand-in answers the API key's one verification (apikey-cache only).
    let stand_in = mode
        .starts_with("apikey")
        .then(|| TestBackendApi::start_with(JwksMode::Empty));
    let token = match &stand_in {
        Some(api) => api.api_key(handler::bench_user_id(0)).issue(),
        None => std::env::var("TOKEN").expect("TOKEN"),
    };
    let bearer = format!("Bearer {token}");
    let cookie = format!("__session={token}; __client_uat=1");
    let pem = std::env::var("CLERK_JWT_KEY").expect("CLERK_JWT_KEY");
    let config = |cache: bool| {
        let b = ClerkConfig::builder().jwt_key(pem.as_str());
        if cache { b } else { b.disable_token_cache() }
            .build()
            .expect("config")
    };
    actix_web::rt::System::new().block_on(async move {
        macro_rules! drive {
            ($app:expr) => {
                drive!($app, handler::me)
            };
            ($app:expr, $handler:expr) => {{
                let app = test::init_service($app.route("/", web::get().to($handler))).await;
                let mut ok = 0usize;
                for _ in 0..n {
                    let req = if mode == "cookie-cache" {
                        test::TestRequest::get()
                            .uri("/")
                            .insert_header((COOKIE, cookie.as_str()))
                            .to_request()
                    } else {
                        test::TestRequest::get()
                            .uri("/")
                            .insert_header((AUTHORIZATION, bearer.as_str()))
                            .to_request()
                    };
                    let res = test::call_service(&app, req).await;
                    if res.status().is_success()
                        && !res.headers().contains_key("x-clerk-auth-status")
                    {
                        ok += 1;
                    }
                }
                ok
            }};
        }
        let ok = match mode.as_str() {
            "with-cache" => drive!(App::new().wrap(ClerkWithAuth::new(config(true)))),
            "with-nocache" => drive!(App::new().wrap(ClerkWithAuth::new(config(false)))),
            "require-cache" => drive!(App::new().wrap(ClerkRequireAuth::new(config(true)))),
            "require-nocache" => drive!(App::new().wrap(ClerkRequireAuth::new(config(false)))),
            "cookie-cache" => drive!(App::new().wrap(ClerkRequireAuth::new(config(true)))),
            "apikey-cache" => {
                let api = stand_in.as_ref().expect("stand-in");
                let mw = ClerkRequireAuth::new(api.config().build().expect("config"))
                    .accepts(Accepts::Kind(TokenKind::ApiKey))
                    .expect("accepts");
                drive!(App::new().wrap(mw))
            }
            "bare" => drive!(App::new(), handler::bare_me),
            // Bare with the API key's header: the baseline of apikey-cache.
            "apikey-bare" => drive!(App::new(), handler::bare_me),
            _ => panic!(
                "usage: authloop with-cache|with-nocache|require-cache|require-nocache|cookie-cache|apikey-cache|apikey-bare|bare N"
            ),
        };
        eprintln!("authloop {mode}: {ok}/{n} signed in");
    });
}
