//! Offline development (`ClerkConfigBuilder::offline_development`, `CLERK_DEV_OFFLINE`): a
//! local key that survives restarts, tokens written for curl that the middlewares accept, a
//! webhook secret, machine-token middlewares that build without a Backend API. (The release
//! guard is a unit test of `src/offline.rs`: tests run as debug builds.)

use actix_clerk::{Accepts, Auth, ClerkConfig, ClerkRequireAuth, Has, TokenKind, WebhookVerifier};
use actix_web::http::StatusCode;
use actix_web::{test, web, App};

async fn me(auth: Auth) -> String {
    auth.user_id().unwrap_or_default().to_owned()
}

fn temp_dir(name: &str) -> std::path::PathBuf {
    let dir =
        std::env::temp_dir().join(format!("actix-clerk-offline-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    dir
}

#[actix_web::test]
async fn the_local_key_survives_restarts_and_its_tokens_sign_in() {
    let dir = temp_dir("restart");
    let first = ClerkConfig::builder()
        .offline_development(&dir)
        .expect("setup");
    let key = std::fs::read_to_string(dir.join("key.pem")).expect("key written");
    let token_1 = std::fs::read_to_string(dir.join("session-token")).expect("token written");
    drop(first);
    // A restart: the same key, fresh tokens that still verify.
    let clerk = ClerkConfig::builder()
        .offline_development(&dir)
        .expect("setup")
        .build()
        .expect("config");
    assert_eq!(
        std::fs::read_to_string(dir.join("key.pem")).expect("key"),
        key
    );
    let token = std::fs::read_to_string(dir.join("session-token")).expect("token");
    let admin = std::fs::read_to_string(dir.join("session-token-org-admin")).expect("token");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        let mode = std::fs::metadata(dir.join("key.pem"))
            .expect("meta")
            .permissions()
            .mode();
        assert_eq!(
            mode & 0o077,
            0,
            "the private key is readable by others: {mode:o}"
        );
    }
    let app = test::init_service(
        App::new()
            .service(
                web::scope("/admin")
                    .wrap(ClerkRequireAuth::new(clerk.clone()).require(Has::role("org:admin")))
                    .route("", web::get().to(me)),
            )
            .service(
                web::scope("/machine")
                    // Builds without a Backend API: offline development sets a secret key.
                    .wrap(
                        ClerkRequireAuth::new(clerk.clone())
                            .accepts(Accepts::List(vec![
                                TokenKind::SessionToken,
                                TokenKind::ApiKey,
                            ]))
                            .expect("accepts API keys"),
                    )
                    .route("", web::get().to(me)),
            )
            .service(
                web::scope("/api")
                    .wrap(ClerkRequireAuth::new(clerk))
                    .route("", web::get().to(me)),
            ),
    )
    .await;
    let call = |path: &'static str, token: &str| {
        test::TestRequest::get()
            .uri(path)
            .insert_header(("authorization", format!("Bearer {}", token.trim())))
            .to_request()
    };
    for t in [&token_1, &token] {
        let res = test::call_service(&app, call("/api", t)).await;
        assert_eq!(res.status(), StatusCode::OK);
        assert_eq!(test::read_body(res).await, "user_dev");
    }
    let res = test::call_service(&app, call("/admin", &admin)).await;
    assert_eq!(test::read_body(res).await, "user_dev_admin");
    let res = test::call_service(&app, call("/admin", &token)).await;
    assert_eq!(res.status(), StatusCode::FORBIDDEN);
    let res = test::call_service(&app, call("/machine", &token)).await;
    assert_eq!(res.status(), StatusCode::OK);
    // An opaque API key: the Backend API is unreachable, never contacted outside.
    let res = test::call_service(&app, call("/machine", "ak_offline")).await;
    assert_eq!(res.status(), StatusCode::SERVICE_UNAVAILABLE);
    // The webhook secret is a Clerk (Svix) signing secret.
    let secret = std::fs::read_to_string(dir.join("webhook-secret")).expect("secret");
    assert!(secret.starts_with("whsec_"));
    let _verifier = WebhookVerifier::new(secret.trim()).expect("a valid signing secret");
    let _ = std::fs::remove_dir_all(&dir);
}

#[actix_web::test]
async fn a_damaged_key_is_reported_not_replaced() {
    let dir = temp_dir("damaged");
    std::fs::create_dir_all(&dir).expect("dir");
    std::fs::write(dir.join("key.pem"), "not a key").expect("write");
    let err = ClerkConfig::builder()
        .offline_development(&dir)
        .expect_err("a damaged key");
    assert!(err.to_string().contains("key.pem"), "{err}");
    assert_eq!(
        std::fs::read_to_string(dir.join("key.pem")).expect("key"),
        "not a key"
    );
    let _ = std::fs::remove_dir_all(&dir);
}
