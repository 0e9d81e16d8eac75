//! The testing kit's Backend API resources (users, organisations, memberships, organisation
//! invitations, invitations, sessions) over real HTTP: Clerk-shaped answers, pagination,
//! Clerk's errors, key checks, outages and injected failures, what is recorded; and Clerk's
//! SDK (`@clerk/backend`, `backend-api-oracle.mjs`) run against the stand-in: it accepts every
//! answer, and the requests it sends are the endpoints the stand-in answers.

mod support;

use std::time::Duration;

use actix_clerk::testing::{Outage, TestBackendApi, TestInstance, TEST_SECRET_KEY};
use serde_json::{json, Value};

/// What the stand-in answered.
#[derive(Debug)]
struct Reply {
    status: u16,
    retry_after: Option<String>,
    body: Value,
}

impl Reply {
    fn code(&self) -> &str {
        self.body["errors"][0]["code"].as_str().unwrap_or_default()
    }
}

/// `method path` with the test secret key (or `key`) and an optional JSON body.
async fn call_with(
    backend: &TestBackendApi,
    method: &str,
    path: &str,
    body: Option<Value>,
    key: &str,
) -> Reply {
    let client = awc::Client::builder()
        .timeout(Duration::from_secs(10))
        .finish();
    let method = awc::http::Method::from_bytes(method.as_bytes()).expect("method");
    let req = client
        .request(method, format!("{}{path}", backend.url()))
        .bearer_auth(key);
    let sent = match body {
        Some(b) => req.send_json(&b).await,
        None => req.send().await,
    };
    let mut res = sent.expect("the stand-in answers");
    let retry_after = res
        .headers()
        .get("retry-after")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let bytes = res.body().await.expect("body");
    Reply {
        status: res.status().as_u16(),
        retry_after,
        body: serde_json::from_slice(&bytes).unwrap_or(Value::Null),
    }
}

async fn call(backend: &TestBackendApi, method: &str, path: &str, body: Option<Value>) -> Reply {
    call_with(backend, method, path, body, TEST_SECRET_KEY).await
}

fn start() -> TestBackendApi {
    TestBackendApi::start(&TestInstance::new())
}

#[actix_web::test]
async fn users_crud_pagination_and_errors() {
    let backend = start();
    let ada = backend.add_user(json!({"email_address": ["ada@example.com"], "first_name": "Ada"}));
    assert!(ada.starts_with("user_"));
    for i in 0..3 {
        backend.add_user(json!({"email_address": [format!("u{i}@example.com")]}));
    }

    let r = call(&backend, "GET", &format!("/v1/users/{ada}"), None).await;
    assert_eq!(r.status, 200);
    assert_eq!(r.body["object"], "user");
    assert_eq!(r.body["first_name"], "Ada");
    assert_eq!(r.body["email_addresses"][0]["object"], "email_address");
    assert_eq!(
        r.body["email_addresses"][0]["email_address"],
        "ada@example.com"
    );
    assert_eq!(
        r.body["primary_email_address_id"],
        r.body["email_addresses"][0]["id"]
    );
    assert!(r.body["created_at"].as_i64().expect("ms") > 1_700_000_000_000);

    // Lists are bare arrays (paginated=true: {data, total_count}), newest first.
    let r = call(&backend, "GET", "/v1/users?limit=2&offset=1", None).await;
    let page = r.body.as_array().expect("an array");
    assert_eq!(page.len(), 2);
    assert_eq!(
        page[0]["email_addresses"][0]["email_address"],
        "u1@example.com"
    );
    let r = call(&backend, "GET", "/v1/users?limit=1&paginated=true", None).await;
    assert_eq!(r.body["total_count"], 4);
    assert_eq!(r.body["data"].as_array().map(Vec::len), Some(1));
    let r = call(&backend, "GET", "/v1/users/count", None).await;
    assert_eq!(r.body, json!({"object": "total_count", "total_count": 4}));
    let r = call(&backend, "GET", "/v1/users/count?query=ADA", None).await;
    assert_eq!(r.body["total_count"], 1);
    let r = call(
        &backend,
        "GET",
        "/v1/users?email_address=u2%40example.com&email_address=u0%40example.com",
        None,
    )
    .await;
    assert_eq!(r.body.as_array().map(Vec::len), Some(2));
    let r = call(&backend, "GET", &format!("/v1/users?user_id={ada}"), None).await;
    assert_eq!(r.body[0]["id"], ada.as_str());

    // Create: 200, then Clerk's 422s.
    let r = call(
        &backend,
        "POST",
        "/v1/users",
        Some(json!({"email_address": ["new@example.com"], "password": "pw-123456789"})),
    )
    .await;
    assert_eq!(r.status, 200);
    assert_eq!(r.body["password_enabled"], true);
    let new = r.body["id"].as_str().expect("id").to_owned();
    let r = call(
        &backend,
        "POST",
        "/v1/users",
        Some(json!({"email_address": ["new@example.com"]})),
    )
    .await;
    assert_eq!((r.status, r.code()), (422, "form_identifier_exists"));
    assert_eq!(r.body["errors"][0]["meta"]["param_name"], "email_address");
    assert!(r.body["clerk_trace_id"].is_string());
    let r = call(
        &backend,
        "POST",
        "/v1/users",
        Some(json!({"first_name": "X"})),
    )
    .await;
    assert_eq!((r.status, r.code()), (422, "form_param_missing"));

    // Update, metadata (PATCH merges, PUT replaces), flags, delete.
    let r = call(
        &backend,
        "PATCH",
        &format!("/v1/users/{new}"),
        Some(json!({"last_name": "Lovelace"})),
    )
    .await;
    assert_eq!(r.body["last_name"], "Lovelace");
    let path = format!("/v1/users/{new}/metadata");
    call(
        &backend,
        "PATCH",
        &path,
        Some(json!({"public_metadata": {"a": 1, "n": {"x": 1}}})),
    )
    .await;
    let r = call(
        &backend,
        "PATCH",
        &path,
        Some(json!({"public_metadata": {"b": 2, "a": null, "n": {"y": 2}}})),
    )
    .await;
    assert_eq!(
        r.body["public_metadata"],
        json!({"b": 2, "n": {"x": 1, "y": 2}})
    );
    let r = call(
        &backend,
        "PUT",
        &path,
        Some(json!({"public_metadata": {"c": 3}})),
    )
    .await;
    assert_eq!(r.body["public_metadata"], json!({"c": 3}));
    for (action, field, value) in [
        ("ban", "banned", true),
        ("unban", "banned", false),
        ("lock", "locked", true),
        ("unlock", "locked", false),
    ] {
        let r = call(&backend, "POST", &format!("/v1/users/{new}/{action}"), None).await;
        assert_eq!((r.status, &r.body[field]), (200, &json!(value)), "{action}");
    }
    let r = call(&backend, "DELETE", &format!("/v1/users/{new}"), None).await;
    assert_eq!(
        r.body,
        json!({"object": "user", "id": new, "deleted": true})
    );
    for (method, path) in [
        ("GET", format!("/v1/users/{new}")),
        ("DELETE", format!("/v1/users/{new}")),
        ("PATCH", format!("/v1/users/{new}/metadata")),
    ] {
        let r = call(&backend, method, &path, Some(json!({}))).await;
        assert_eq!(
            (r.status, r.code()),
            (404, "resource_not_found"),
            "{method} {path}"
        );
    }
    assert!(backend.user(&new).is_none());
    assert_eq!(backend.user(&ada).expect("ada")["first_name"], "Ada");
}

#[actix_web::test]
async fn organizations_memberships_and_org_invitations() {
    let backend = start();
    let ada = backend.add_user(json!({"email_address": ["ada@example.com"], "first_name": "Ada"}));
    let bob = backend.add_user(json!({"email_address": ["bob@example.com"]}));
    let acme = backend.add_organization(json!({"name": "Acme", "slug": "acme", "created_by": ada}));
    backend.add_organization(json!({"name": "Other"}));

    let r = call(
        &backend,
        "GET",
        "/v1/organizations/acme?include_members_count=true",
        None,
    )
    .await;
    assert_eq!(
        (r.status, &r.body["object"], &r.body["id"]),
        (200, &json!("organization"), &json!(acme))
    );
    assert_eq!(r.body["members_count"], 1);
    let r = call(&backend, "GET", "/v1/organizations?limit=1", None).await;
    assert_eq!(r.body["total_count"], 2);
    assert_eq!(r.body["data"][0]["name"], "Other");
    let r = call(&backend, "GET", "/v1/organizations?query=acm", None).await;
    assert_eq!(r.body["total_count"], 1);

    let r = call(
        &backend,
        "POST",
        "/v1/organizations",
        Some(json!({"name": "Dup", "slug": "acme"})),
    )
    .await;
    assert_eq!((r.status, r.code()), (422, "form_identifier_exists"));
    let r = call(
        &backend,
        "POST",
        "/v1/organizations",
        Some(json!({"slug": "x"})),
    )
    .await;
    assert_eq!((r.status, r.code()), (422, "form_param_missing"));
    let r = call(
        &backend,
        "POST",
        "/v1/organizations",
        Some(json!({"name": "Beta Co"})),
    )
    .await;
    assert_eq!((r.status, &r.body["slug"]), (200, &json!("beta-co")));
    let beta = r.body["id"].as_str().expect("id").to_owned();

    let r = call(
        &backend,
        "PATCH",
        &format!("/v1/organizations/{acme}"),
        Some(json!({"name": "Acme Inc"})),
    )
    .await;
    assert_eq!(r.body["name"], "Acme Inc");
    let r = call(
        &backend,
        "PATCH",
        &format!("/v1/organizations/{acme}/metadata"),
        Some(json!({"private_metadata": {"plan": "pro"}})),
    )
    .await;
    assert_eq!(r.body["private_metadata"], json!({"plan": "pro"}));

    // Memberships: the creator's, then one created, updated, deleted.
    let path = format!("/v1/organizations/{acme}/memberships");
    let r = call(
        &backend,
        "POST",
        &path,
        Some(json!({"user_id": bob, "role": "org:member"})),
    )
    .await;
    assert_eq!(
        (r.status, &r.body["object"]),
        (200, &json!("organization_membership"))
    );
    assert_eq!(r.body["organization"]["name"], "Acme Inc");
    assert_eq!(r.body["public_user_data"]["identifier"], "bob@example.com");
    let r = call(
        &backend,
        "POST",
        &path,
        Some(json!({"user_id": bob, "role": "org:member"})),
    )
    .await;
    assert_eq!(
        (r.status, r.code()),
        (422, "already_a_member_in_organization")
    );
    let r = call(&backend, "POST", &path, Some(json!({"role": "org:member"}))).await;
    assert_eq!((r.status, r.code()), (422, "form_param_missing"));
    let r = call(
        &backend,
        "POST",
        &path,
        Some(json!({"user_id": "user_nobody", "role": "org:member"})),
    )
    .await;
    assert_eq!((r.status, r.code()), (404, "resource_not_found"));
    let r = call(&backend, "GET", &format!("{path}?limit=1"), None).await;
    assert_eq!(r.body["total_count"], 2);
    assert_eq!(
        r.body["data"][0]["public_user_data"]["user_id"],
        bob.as_str()
    );
    let r = call(&backend, "GET", &format!("{path}?role=org:admin"), None).await;
    assert_eq!(
        r.body["data"][0]["public_user_data"]["user_id"],
        ada.as_str()
    );
    let r = call(
        &backend,
        "PATCH",
        &format!("{path}/{bob}"),
        Some(json!({"role": "org:admin"})),
    )
    .await;
    assert_eq!(r.body["role"], "org:admin");
    let r = call(&backend, "DELETE", &format!("{path}/{bob}"), None).await;
    assert_eq!(
        (r.status, &r.body["public_user_data"]["user_id"]),
        (200, &json!(bob))
    );
    let r = call(&backend, "DELETE", &format!("{path}/{bob}"), None).await;
    assert_eq!(r.status, 404);

    // Organisation invitations.
    let path = format!("/v1/organizations/{acme}/invitations");
    let r = call(&backend, "POST", &path, Some(json!({"email_address": "carol@example.com", "role": "org:member", "inviter_user_id": ada}))).await;
    assert_eq!(
        (r.status, &r.body["object"], &r.body["status"]),
        (200, &json!("organization_invitation"), &json!("pending"))
    );
    assert_eq!(r.body["public_organization_data"]["slug"], "acme");
    let inv = r.body["id"].as_str().expect("id").to_owned();
    let r = call(&backend, "GET", &format!("{path}?status=pending"), None).await;
    assert_eq!(r.body["total_count"], 1);
    let r = call(
        &backend,
        "POST",
        &format!("{path}/{inv}/revoke"),
        Some(json!({"requesting_user_id": ada})),
    )
    .await;
    assert_eq!(r.body["status"], "revoked");
    let r = call(&backend, "GET", &format!("{path}/{inv}"), None).await;
    assert_eq!(r.body["status"], "revoked");

    let r = call(
        &backend,
        "DELETE",
        &format!("/v1/organizations/{beta}"),
        None,
    )
    .await;
    assert_eq!(
        r.body,
        json!({"object": "organization", "id": beta, "slug": "beta-co", "deleted": true})
    );
    let r = call(&backend, "GET", &format!("/v1/organizations/{beta}"), None).await;
    assert_eq!((r.status, r.code()), (404, "resource_not_found"));
    assert!(backend.organization("acme").is_some());
}

#[actix_web::test]
async fn invitations_and_sessions() {
    let backend = start();
    backend.add_user(json!({"email_address": ["taken@example.com"]}));
    let r = call(
        &backend,
        "POST",
        "/v1/invitations",
        Some(json!({"email_address": "new@example.com", "public_metadata": {"k": 1}})),
    )
    .await;
    assert_eq!(
        (r.status, &r.body["object"], &r.body["status"]),
        (200, &json!("invitation"), &json!("pending"))
    );
    let inv = r.body["id"].as_str().expect("id").to_owned();
    let r = call(
        &backend,
        "POST",
        "/v1/invitations",
        Some(json!({"email_address": "taken@example.com"})),
    )
    .await;
    assert_eq!(r.status, 422);
    let r = call(&backend, "POST", "/v1/invitations", Some(json!({}))).await;
    assert_eq!((r.status, r.code()), (422, "form_param_missing"));
    let r = call(&backend, "GET", "/v1/invitations?paginated=true", None).await;
    assert_eq!(r.body["total_count"], 1);
    let r = call(
        &backend,
        "POST",
        &format!("/v1/invitations/{inv}/revoke"),
        None,
    )
    .await;
    assert_eq!(
        (&r.body["status"], &r.body["revoked"]),
        (&json!("revoked"), &json!(true))
    );
    let r = call(&backend, "POST", "/v1/invitations/inv_nope/revoke", None).await;
    assert_eq!((r.status, r.code()), (404, "resource_not_found"));

    let sid = backend.add_session("user_1");
    backend.add_session("user_2");
    let r = call(&backend, "GET", &format!("/v1/sessions/{sid}"), None).await;
    assert_eq!(
        (&r.body["object"], &r.body["status"], &r.body["user_id"]),
        (&json!("session"), &json!("active"), &json!("user_1"))
    );
    let r = call(
        &backend,
        "GET",
        "/v1/sessions?user_id=user_1&paginated=true",
        None,
    )
    .await;
    assert_eq!(r.body["total_count"], 1);
    let r = call(&backend, "GET", "/v1/sessions", None).await;
    assert_eq!((r.status, r.code()), (422, "form_param_missing"));
    let r = call(
        &backend,
        "POST",
        &format!("/v1/sessions/{sid}/revoke"),
        None,
    )
    .await;
    assert_eq!(r.body["status"], "revoked");
    assert_eq!(backend.session(&sid).expect("kept")["status"], "revoked");
    let r = call(&backend, "GET", "/v1/sessions/sess_nope", None).await;
    assert_eq!(r.status, 404);
}

#[actix_web::test]
async fn keys_outages_injected_failures_and_recording() {
    let backend = start();
    let r = call_with(&backend, "GET", "/v1/users", None, "sk_test_wrong").await;
    assert_eq!((r.status, r.code()), (401, "clerk_key_invalid"));

    backend.fail_next(2, 429);
    for _ in 0..2 {
        let r = call(&backend, "GET", "/v1/users", None).await;
        assert_eq!(
            (r.status, r.code(), r.retry_after.as_deref()),
            (429, "too_many_requests", Some("1"))
        );
    }
    assert_eq!(call(&backend, "GET", "/v1/users", None).await.status, 200);
    backend.fail_next(1, 503);
    assert_eq!(
        call(&backend, "GET", "/v1/users/count", None).await.status,
        503
    );

    backend.set_outage(Some(Outage::Status(502)));
    assert_eq!(
        call(&backend, "GET", "/v1/organizations", None)
            .await
            .status,
        502
    );
    backend.set_outage(None);

    let calls = backend.api_calls();
    assert_eq!(calls.len(), 6);
    let last = call(
        &backend,
        "POST",
        "/v1/users?x=1",
        Some(json!({"username": "z"})),
    )
    .await;
    assert_eq!(last.status, 200);
    let recorded = backend.api_calls().pop().expect("recorded");
    assert_eq!(
        (
            recorded.method.as_str(),
            recorded.path.as_str(),
            recorded.query.as_str()
        ),
        ("POST", "/v1/users", "x=1")
    );
    assert_eq!(recorded.body, Some(json!({"username": "z"})));
    assert_eq!(
        recorded.authorization.as_deref(),
        Some(format!("Bearer {TEST_SECRET_KEY}").as_str())
    );
    backend.clear_api_calls();
    assert!(backend.api_calls().is_empty());
}

/// One call of the SDK and the request it should send.
struct SdkCase {
    id: &'static str,
    call: Value,
    method: &'static str,
    path: String,
    query: &'static [(&'static str, &'static str)],
    body: Option<Value>,
}

#[actix_web::test]
async fn clerks_sdk_accepts_the_stand_in() {
    let backend = start();
    let ada = backend.add_user(json!({"email_address": ["ada@example.com"], "first_name": "Ada"}));
    let bob = backend.add_user(json!({"email_address": ["bob@example.com"]}));
    let acme = backend.add_organization(json!({"name": "Acme", "slug": "acme", "created_by": ada}));
    let sid = backend.add_session(&ada);
    let doomed = backend.add_user(json!({"username": "doomed"}));
    let inv_email = "carol@example.com";
    let case = |id, f: &str, args: Value, method, path: String, query, body| SdkCase {
        id,
        call: json!({"id": id, "fn": f, "args": args}),
        method,
        path,
        query,
        body,
    };
    let cases = vec![
        case(
            "getUser",
            "users.getUser",
            json!([ada]),
            "GET",
            format!("/v1/users/{ada}"),
            &[],
            None,
        ),
        case(
            "getUserList",
            "users.getUserList",
            json!([{"limit": 1, "emailAddress": ["bob@example.com"]}]),
            "GET",
            "/v1/users".into(),
            &[("limit", "1"), ("email_address", "bob@example.com")],
            None,
        ),
        case(
            "getUserList.count",
            "",
            json!(null),
            "GET",
            "/v1/users/count".into(),
            &[("email_address", "bob@example.com")],
            None,
        ),
        case(
            "createUser",
            "users.createUser",
            json!([{"emailAddress": ["dan@example.com"], "firstName": "Dan"}]),
            "POST",
            "/v1/users".into(),
            &[],
            Some(json!({"email_address": ["dan@example.com"], "first_name": "Dan"})),
        ),
        case(
            "updateUserMetadata",
            "users.updateUserMetadata",
            json!([ada, {"publicMetadata": {"plan": "pro"}}]),
            "PATCH",
            format!("/v1/users/{ada}/metadata"),
            &[],
            Some(json!({"public_metadata": {"plan": "pro"}})),
        ),
        case(
            "banUser",
            "users.banUser",
            json!([bob]),
            "POST",
            format!("/v1/users/{bob}/ban"),
            &[],
            None,
        ),
        case(
            "deleteUser",
            "users.deleteUser",
            json!([doomed]),
            "DELETE",
            format!("/v1/users/{doomed}"),
            &[],
            None,
        ),
        case(
            "getOrganization",
            "organizations.getOrganization",
            json!([{"slug": "acme"}]),
            "GET",
            "/v1/organizations/acme".into(),
            &[],
            None,
        ),
        case(
            "getOrganizationList",
            "organizations.getOrganizationList",
            json!([{"limit": 5}]),
            "GET",
            "/v1/organizations".into(),
            &[("limit", "5")],
            None,
        ),
        case(
            "createOrganizationMembership",
            "organizations.createOrganizationMembership",
            json!([{"organizationId": acme, "userId": bob, "role": "org:member"}]),
            "POST",
            format!("/v1/organizations/{acme}/memberships"),
            &[],
            Some(json!({"user_id": bob, "role": "org:member"})),
        ),
        case(
            "getOrganizationMembershipList",
            "organizations.getOrganizationMembershipList",
            json!([{"organizationId": acme}]),
            "GET",
            format!("/v1/organizations/{acme}/memberships"),
            &[],
            None,
        ),
        case(
            "createInvitation",
            "invitations.createInvitation",
            json!([{"emailAddress": inv_email}]),
            "POST",
            "/v1/invitations".into(),
            &[],
            Some(json!({"email_address": inv_email})),
        ),
        case(
            "getSession",
            "sessions.getSession",
            json!([sid]),
            "GET",
            format!("/v1/sessions/{sid}"),
            &[],
            None,
        ),
        case(
            "revokeSession",
            "sessions.revokeSession",
            json!([sid]),
            "POST",
            format!("/v1/sessions/{sid}/revoke"),
            &[],
            None,
        ),
        case(
            "getUser.404",
            "users.getUser",
            json!(["user_missing"]),
            "GET",
            "/v1/users/user_missing".into(),
            &[],
            None,
        ),
    ];
    let calls: Vec<Value> = cases
        .iter()
        .filter(|c| c.call["fn"] != "")
        .map(|c| c.call.clone())
        .collect();
    let input = json!({"apiUrl": backend.url(), "secretKey": TEST_SECRET_KEY, "calls": calls});
    let out = actix_web::rt::task::spawn_blocking(move || {
        support::run_oracle("backend-api-oracle.mjs", &input)
    })
    .await
    .expect("oracle");
    let results: Vec<Value> = out["results"].as_array().expect("results").clone();
    let by_id = |id: &str| {
        results
            .iter()
            .find(|r| r["id"] == id)
            .cloned()
            .expect("a result")
    };

    // What the SDK read back.
    let r = by_id("getUser");
    assert!(r["error"].is_null(), "{r}");
    assert_eq!(
        (&r["ok"]["id"], &r["ok"]["firstName"]),
        (&json!(ada), &json!("Ada"))
    );
    assert_eq!(
        r["ok"]["emailAddresses"][0]["emailAddress"],
        "ada@example.com"
    );
    assert_eq!(
        r["ok"]["primaryEmailAddressId"],
        r["ok"]["emailAddresses"][0]["id"]
    );
    let r = by_id("getUserList");
    assert_eq!(
        (&r["ok"]["totalCount"], &r["ok"]["data"][0]["id"]),
        (&json!(1), &json!(bob)),
        "{r}"
    );
    let r = by_id("createUser");
    assert_eq!(r["ok"]["firstName"], "Dan", "{r}");
    let r = by_id("updateUserMetadata");
    assert_eq!(r["ok"]["publicMetadata"], json!({"plan": "pro"}), "{r}");
    let r = by_id("banUser");
    assert_eq!(r["ok"]["banned"], true, "{r}");
    let r = by_id("deleteUser");
    assert_eq!(
        (&r["ok"]["id"], &r["ok"]["deleted"], &r["ok"]["object"]),
        (&json!(doomed), &json!(true), &json!("user")),
        "{r}"
    );
    let r = by_id("getOrganization");
    assert_eq!(
        (&r["ok"]["id"], &r["ok"]["slug"]),
        (&json!(acme), &json!("acme")),
        "{r}"
    );
    let r = by_id("getOrganizationList");
    assert_eq!(
        (&r["ok"]["totalCount"], &r["ok"]["data"][0]["name"]),
        (&json!(1), &json!("Acme")),
        "{r}"
    );
    let r = by_id("createOrganizationMembership");
    assert_eq!(
        (
            &r["ok"]["role"],
            &r["ok"]["publicUserData"]["userId"],
            &r["ok"]["organization"]["id"]
        ),
        (&json!("org:member"), &json!(bob), &json!(acme)),
        "{r}"
    );
    let r = by_id("getOrganizationMembershipList");
    assert_eq!(r["ok"]["totalCount"], 2, "{r}");
    let r = by_id("createInvitation");
    assert_eq!(
        (&r["ok"]["emailAddress"], &r["ok"]["status"]),
        (&json!(inv_email), &json!("pending")),
        "{r}"
    );
    let invitation = r["ok"]["id"].as_str().expect("id").to_owned();
    let r = by_id("getSession");
    assert_eq!(
        (&r["ok"]["id"], &r["ok"]["userId"], &r["ok"]["status"]),
        (&json!(sid), &json!(ada), &json!("active")),
        "{r}"
    );
    let r = by_id("revokeSession");
    assert_eq!(r["ok"]["status"], "revoked", "{r}");
    let r = by_id("getUser.404");
    assert_eq!(
        (
            &r["error"]["status"],
            &r["error"]["errors"][0]["code"],
            &r["error"]["clerkTraceId"]
        ),
        (
            &json!(404),
            &json!("resource_not_found"),
            &json!("trace_standin")
        ),
        "{r}"
    );

    // The requests the SDK sent, in order (getUserList sends the list and the count at once).
    let mut recorded = backend.api_calls();
    println!(
        "{:<32} {:<7} {:<58} {:<40} body",
        "call", "method", "path", "query"
    );
    for case in &cases {
        let i = recorded
            .iter()
            .position(|c| c.method == case.method && c.path == case.path)
            .unwrap_or_else(|| {
                panic!(
                    "{}: no {} {} among {recorded:#?}",
                    case.id, case.method, case.path
                )
            });
        let c = recorded.remove(i);
        let body = c.body.clone().map(|b| b.to_string()).unwrap_or_default();
        println!(
            "{:<32} {:<7} {:<58} {:<40} {body}",
            case.id, c.method, c.path, c.query
        );
        assert_eq!(
            c.authorization.as_deref(),
            Some(format!("Bearer {TEST_SECRET_KEY}").as_str()),
            "{}",
            case.id
        );
        let mut pairs = c.query_pairs();
        pairs.sort();
        let mut want: Vec<(String, String)> = case
            .query
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        want.sort();
        assert_eq!(pairs, want, "{}: query", case.id);
        assert_eq!(c.body, case.body, "{}: body", case.id);
    }
    assert!(recorded.is_empty(), "unexpected requests: {recorded:#?}");

    // Clerk's SDK sees an injected 429 as Clerk's (status, code, Retry-After); then revokes.
    backend.fail_next(1, 429);
    let input = json!({"apiUrl": backend.url(), "secretKey": TEST_SECRET_KEY, "calls": [
        {"id": "rate", "fn": "invitations.revokeInvitation", "args": [invitation]},
        {"id": "revokeInvitation", "fn": "invitations.revokeInvitation", "args": [invitation]},
    ]});
    let out = actix_web::rt::task::spawn_blocking(move || {
        support::run_oracle("backend-api-oracle.mjs", &input)
    })
    .await
    .expect("oracle");
    let rate = &out["results"][0]["error"];
    assert_eq!(
        (
            &rate["status"],
            &rate["errors"][0]["code"],
            &rate["retryAfter"]
        ),
        (&json!(429), &json!("too_many_requests"), &json!(1)),
        "{out}"
    );
    let revoked = &out["results"][1]["ok"];
    assert_eq!(
        (&revoked["id"], &revoked["status"], &revoked["revoked"]),
        (&json!(invitation), &json!("revoked"), &json!(true)),
        "{out}"
    );
    let revoke = backend.api_calls().pop().expect("recorded");
    println!(
        "{:<32} {:<7} {:<58} {:<40}",
        "revokeInvitation", revoke.method, revoke.path, revoke.query
    );
    assert_eq!(
        (
            revoke.method.as_str(),
            revoke.path.as_str(),
            revoke.query.as_str(),
            &revoke.body
        ),
        (
            "POST",
            format!("/v1/invitations/{invitation}/revoke").as_str(),
            "",
            &None
        )
    );
}
