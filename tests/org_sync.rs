//! Organisation sync (`organizationSyncOptions`, contract §13) decided by the crate and by
//! `@clerk/backend` itself (tests/conformance/org-sync-oracle.mjs): signed-in page navigations
//! on URLs matching (or not) organisation and personal-account patterns, with sessions whose
//! active organisation differs or agrees; compared on the outcome (signed in, or a handshake)
//! and the handshake's `Location` (its `organization_id`). Prints `org sync: N passed, M failed`.

mod support;

use actix_clerk::testing::TestInstance;
use actix_clerk::{Auth, ClerkWithAuth, OrganizationSync};
use actix_web::{test, web, App, HttpResponse};
use serde_json::{json, Value};

async fn echo(auth: web::ReqData<Auth>) -> HttpResponse {
    HttpResponse::Ok().body(auth.user_id().unwrap_or("signed-out").to_owned())
}

#[actix_web::test]
async fn organization_sync_matches_clerk() {
    let instance = TestInstance::new();
    let org_patterns = ["/orgs/:slug", "/orgs/:slug/(.*)", "/o/:id", "/teams/:slug+"];
    let personal_patterns = ["/me", "/me/(.*)"];
    let sessions = [
        ("no-org", instance.session_token("user_1").sign()),
        (
            "acme",
            instance
                .session_token("user_1")
                .org("org_acme", "acme", "admin")
                .sign(),
        ),
        (
            "beta",
            instance
                .session_token("user_1")
                .org("org_beta", "beta", "member")
                .sign(),
        ),
    ];
    let paths = [
        "/orgs/acme",
        "/orgs/ACME/settings",
        "/orgs/beta/",
        "/o/org_acme",
        "/o/org_beta?x=1",
        "/teams/a/b",
        "/me",
        "/me/profile",
        "/elsewhere",
        "/orgs",
        "/orgs/acme%20co",
    ];
    let options = [
        (
            "both",
            json!({"organizationPatterns": org_patterns, "personalAccountPatterns": personal_patterns}),
        ),
        ("orgs-only", json!({"organizationPatterns": org_patterns})),
        (
            "personal-only",
            json!({"personalAccountPatterns": personal_patterns}),
        ),
    ];
    let mut cases = Vec::new();
    for (oname, opts) in &options {
        for (sname, token) in &sessions {
            for path in paths {
                for (kind, extra) in [
                    ("page", vec![("sec-fetch-dest", "document")]),
                    ("fetch", vec![("sec-fetch-dest", "empty")]),
                    ("loop", vec![("sec-fetch-dest", "document")]),
                ] {
                    let mut cookie = format!("__session={token}; __client_uat=1");
                    if kind == "loop" {
                        cookie.push_str("; __clerk_redirect_count=3");
                    }
                    let mut headers = vec![
                        ("host".to_owned(), "app.example.com".to_owned()),
                        ("cookie".to_owned(), cookie),
                    ];
                    headers.extend(extra.iter().map(|(k, v)| (k.to_string(), v.to_string())));
                    cases.push(json!({
                        "id": format!("{oname}/{sname}/{kind}{path}"),
                        "url": format!("http://app.example.com{path}"),
                        "path": path,
                        "headers": headers,
                        "organizationSyncOptions": opts,
                        "options": oname,
                    }));
                }
            }
        }
    }
    let answers = support::run_oracle(
        "org-sync-oracle.mjs",
        &json!({
            "publishableKey": instance.publishable_key(),
            "jwtKey": instance.public_pem(),
            "cases": cases,
        }),
    );
    let answers = answers["results"].as_array().expect("results").clone();
    let mut apps = Vec::new();
    for (_, opts) in &options {
        let mut sync = OrganizationSync::new();
        if let Some(p) = opts.get("organizationPatterns").and_then(Value::as_array) {
            sync = sync.organization_patterns(p.iter().filter_map(Value::as_str));
        }
        if let Some(p) = opts
            .get("personalAccountPatterns")
            .and_then(Value::as_array)
        {
            sync = sync.personal_account_patterns(p.iter().filter_map(Value::as_str));
        }
        let clerk = instance
            .config()
            .organization_sync(sync)
            .build()
            .expect("config");
        apps.push(
            test::init_service(
                App::new()
                    .wrap(ClerkWithAuth::new(clerk))
                    .default_service(web::to(echo)),
            )
            .await,
        );
    }
    let (mut passed, mut failures) = (0usize, Vec::new());
    for (case, theirs) in cases.iter().zip(&answers) {
        let app = &apps[options
            .iter()
            .position(|(n, _)| *n == case["options"])
            .expect("options")];
        let mut req = test::TestRequest::get().uri(case["path"].as_str().expect("path"));
        for h in case["headers"].as_array().expect("headers") {
            req = req.insert_header((
                h[0].as_str().expect("name").to_owned(),
                h[1].as_str().expect("value").to_owned(),
            ));
        }
        let res = test::call_service(app, req.to_request()).await;
        let location = res
            .headers()
            .get("location")
            .map(|v| v.to_str().unwrap_or_default().to_owned());
        let status = if res.status().as_u16() == 307 {
            "handshake"
        } else {
            "signed-in"
        };
        let mut problems = Vec::new();
        if theirs.get("error").is_some() {
            problems.push(format!("Clerk threw: {}", theirs["error"]));
        }
        if theirs["status"] != status {
            problems.push(format!("status: ours {status}, Clerk {}", theirs["status"]));
        }
        if theirs["location"].as_str().map(str::to_owned) != location {
            problems.push(format!(
                "location:\n    ours  {location:?}\n    Clerk {}",
                theirs["location"]
            ));
        }
        if problems.is_empty() {
            passed += 1;
        } else {
            failures.push(format!("{}: {}", case["id"], problems.join("; ")));
        }
    }
    for f in &failures {
        eprintln!("MISMATCH {f}");
    }
    println!("org sync: {passed} passed, {} failed", failures.len());
    assert!(failures.is_empty(), "{} mismatches", failures.len());
    assert!(passed >= 250, "only {passed} cases");
}
