//! Clerk's Backend API client checked against Clerk's SDK (issue 18 item 7): each call is made
//! by `@clerk/backend`'s `createClerkClient(...)` (tests/conformance/backend-api-oracle.mjs) and
//! by `ClerkClient` against the same recording stand-in (`TestBackendApi`); the requests must be
//! the same (method, path, query pairs, JSON body) and both must read the same answer (the
//! object's id, or the list's total count, or the error's status and code). Prints
//! `backend api: N passed, M failed`.

mod support;

use std::collections::BTreeSet;
use std::future::Future;
use std::pin::Pin;

use actix_clerk::api::{ApiError, ListParams, Page};
use actix_clerk::testing::{ApiCall, TestBackendApi, TestInstance};
use actix_clerk::ClerkClient;
use serde_json::{json, Value};

/// What a call read: an id, a total count, or an error (status, first code).
fn read<T>(r: Result<T, ApiError>, id: impl Fn(&T) -> String) -> Value {
    match r {
        Ok(v) => json!({"ok": id(&v)}),
        Err(e) => json!({"status": e.status(), "code": e.code()}),
    }
}

fn page_total<T>(p: &Page<T>) -> String {
    p.total_count.to_string()
}

/// A request as compared: method, path, query pairs as a set, body.
fn shape(c: &ApiCall) -> (String, String, BTreeSet<(String, String)>, String) {
    (
        c.method.clone(),
        c.path.clone(),
        c.query_pairs().into_iter().collect(),
        c.body.as_ref().map(canonical).unwrap_or_default(),
    )
}

/// JSON text with every object's members sorted (member order is not part of a request).
fn canonical(v: &Value) -> String {
    match v {
        Value::Object(m) => {
            let mut keys: Vec<&String> = m.keys().collect();
            keys.sort();
            let inner: Vec<String> = keys
                .into_iter()
                .map(|k| format!("{}:{}", Value::String(k.clone()), canonical(&m[k])))
                .collect();
            format!("{{{}}}", inner.join(","))
        }
        Value::Array(a) => format!(
            "[{}]",
            a.iter().map(canonical).collect::<Vec<_>>().join(",")
        ),
        other => other.to_string(),
    }
}

type Ours<'a> = Pin<Box<dyn Future<Output = Value> + 'a>>;

#[actix_web::test]
async fn the_client_sends_and_reads_what_clerks_sdk_does() {
    let instance = TestInstance::new();
    let backend = TestBackendApi::start(&instance);
    let client = ClerkClient::builder()
        .secret_key(backend.secret_key())
        .api_url(backend.url())
        .build()
        .expect("client");
    let user = backend.add_user(json!({"email_address": ["ada@example.com"], "first_name": "Ada"}));
    let other = backend.add_user(json!({"email_address": ["bob@example.com"], "username": "bob"}));
    let org = backend.add_organization(json!({"name": "Acme", "slug": "acme", "created_by": user}));
    let session = backend.add_session(&user);
    let c = &client;
    let (u, o, s) = (user.as_str(), org.as_str(), session.as_str());
    // (id, the SDK's function and arguments, the same call through ClerkClient)
    let calls: Vec<(&str, &str, Value, Ours<'_>)> = vec![
        (
            "getUser",
            "users.getUser",
            json!([u]),
            Box::pin(async move { read(c.users().get(u).await, |x| x.id.clone()) }),
        ),
        (
            "getUser-missing",
            "users.getUser",
            json!(["user_missing"]),
            Box::pin(async move { read(c.users().get("user_missing").await, |x| x.id.clone()) }),
        ),
        (
            "getUserList",
            "users.getUserList",
            json!([{"limit": 1, "offset": 1}]),
            Box::pin(async move {
                let p = actix_clerk::api::UserListParams::new().limit(1).offset(1);
                read(c.users().list(&p).await, page_total)
            }),
        ),
        (
            "getUserList-email",
            "users.getUserList",
            json!([{"emailAddress": ["ada@example.com"]}]),
            Box::pin(async move {
                let p = actix_clerk::api::UserListParams::new().email_address("ada@example.com");
                read(c.users().list(&p).await, page_total)
            }),
        ),
        (
            "updateUserMetadata",
            "users.updateUserMetadata",
            json!([u, {"publicMetadata": {"plan": "pro"}}]),
            Box::pin(async move {
                let p = actix_clerk::api::UserMetadataParams {
                    public_metadata: Some(json!({"plan": "pro"})),
                    ..Default::default()
                };
                read(c.users().update_metadata(u, &p).await, |x| x.id.clone())
            }),
        ),
        (
            "banUser",
            "users.banUser",
            json!([u]),
            Box::pin(async move { read(c.users().ban(u).await, |x| x.id.clone()) }),
        ),
        (
            "unbanUser",
            "users.unbanUser",
            json!([u]),
            Box::pin(async move { read(c.users().unban(u).await, |x| x.id.clone()) }),
        ),
        (
            "lockUser",
            "users.lockUser",
            json!([u]),
            Box::pin(async move { read(c.users().lock(u).await, |x| x.id.clone()) }),
        ),
        (
            "unlockUser",
            "users.unlockUser",
            json!([u]),
            Box::pin(async move { read(c.users().unlock(u).await, |x| x.id.clone()) }),
        ),
        (
            "getOrganization-slug",
            "organizations.getOrganization",
            json!([{"slug": "acme"}]),
            Box::pin(async move { read(c.organizations().get("acme").await, |x| x.id.clone()) }),
        ),
        (
            "getOrganization-id",
            "organizations.getOrganization",
            json!([{"organizationId": o}]),
            Box::pin(async move { read(c.organizations().get(o).await, |x| x.id.clone()) }),
        ),
        (
            "getOrganizationList",
            "organizations.getOrganizationList",
            json!([{"limit": 5}]),
            Box::pin(async move {
                let p = actix_clerk::api::OrganizationListParams {
                    page: ListParams::new().limit(5),
                    ..Default::default()
                };
                read(c.organizations().list(&p).await, page_total)
            }),
        ),
        (
            "getOrganizationMembershipList",
            "organizations.getOrganizationMembershipList",
            json!([{"organizationId": o}]),
            Box::pin(async move {
                read(
                    c.organization_memberships()
                        .list(o, &Default::default())
                        .await,
                    page_total,
                )
            }),
        ),
        (
            "getSession",
            "sessions.getSession",
            json!([s]),
            Box::pin(async move { read(c.sessions().get(s).await, |x| x.id.clone()) }),
        ),
        (
            "getSessionList",
            "sessions.getSessionList",
            json!([{"userId": u}]),
            Box::pin(async move {
                read(
                    c.sessions()
                        .list(&actix_clerk::api::SessionListParams::user(u))
                        .await,
                    page_total,
                )
            }),
        ),
        (
            "getCount",
            "users.getCount",
            json!([{"emailAddress": ["ada@example.com"]}]),
            Box::pin(async move {
                let p = actix_clerk::api::UserListParams::new().email_address("ada@example.com");
                read(c.users().count(&p).await, |n| n.to_string())
            }),
        ),
        (
            "replaceUserMetadata",
            "users.replaceUserMetadata",
            json!([u, {"privateMetadata": {"tier": 2}}]),
            Box::pin(async move {
                let p = actix_clerk::api::UserMetadataParams {
                    private_metadata: Some(json!({"tier": 2})),
                    ..Default::default()
                };
                read(c.users().replace_metadata(u, &p).await, |x| x.id.clone())
            }),
        ),
        (
            "getOrganization-members-count",
            "organizations.getOrganization",
            json!([{"organizationId": o, "includeMembersCount": true}]),
            Box::pin(
                async move { read(c.organizations().get_with(o, true).await, |x| x.id.clone()) },
            ),
        ),
        (
            "updateOrganizationMetadata",
            "organizations.updateOrganizationMetadata",
            json!([o, {"publicMetadata": {"tier": "gold"}}]),
            Box::pin(async move {
                let p = actix_clerk::api::OrganizationMetadataParams {
                    public_metadata: Some(json!({"tier": "gold"})),
                    ..Default::default()
                };
                read(c.organizations().update_metadata(o, &p).await, |x| {
                    x.id.clone()
                })
            }),
        ),
        (
            "getInvitationList",
            "invitations.getInvitationList",
            json!([{"status": "pending", "limit": 3}]),
            Box::pin(async move {
                let p = actix_clerk::api::InvitationListParams {
                    page: ListParams::new().limit(3),
                    status: Some("pending".into()),
                    ..Default::default()
                };
                read(c.invitations().list(&p).await, page_total)
            }),
        ),
        (
            "getOrganizationInvitationList",
            "organizations.getOrganizationInvitationList",
            json!([{"organizationId": o, "status": ["pending"]}]),
            Box::pin(async move {
                let p = actix_clerk::api::OrganizationInvitationListParams {
                    status: vec!["pending".into()],
                    ..Default::default()
                };
                read(c.organization_invitations().list(o, &p).await, page_total)
            }),
        ),
        (
            "revokeSession",
            "sessions.revokeSession",
            json!([s]),
            Box::pin(async move { read(c.sessions().revoke(s).await, |x| x.id.clone()) }),
        ),
    ];
    let _ = other;
    let (mut passed, mut failures) = (0usize, Vec::new());
    for (id, f, args, ours) in calls {
        backend.clear_api_calls();
        let answer = support::run_oracle(
            "backend-api-oracle.mjs",
            &json!({"apiUrl": backend.url(), "secretKey": backend.secret_key(),
                    "calls": [{"id": id, "fn": f, "args": args}]}),
        );
        let theirs_calls: BTreeSet<_> = backend.api_calls().iter().map(shape).collect();
        let r = &answer["results"][0];
        let theirs = match (&r["ok"], &r["error"]) {
            (Value::Number(n), Value::Null) => json!({"ok": n.to_string()}),
            (ok, Value::Null) if !ok.is_null() => {
                let v = ok
                    .get("id")
                    .cloned()
                    .or_else(|| ok.get("totalCount").map(|t| json!(t.to_string())));
                json!({"ok": v.unwrap_or(Value::Null)})
            }
            (_, err) => json!({"status": err["status"], "code": err["errors"][0]["code"]}),
        };
        backend.clear_api_calls();
        let ours = ours.await;
        let ours_calls: BTreeSet<_> = backend.api_calls().iter().map(shape).collect();
        let mut problems = Vec::new();
        if theirs_calls.is_empty() {
            problems.push("Clerk's SDK sent no request to the stand-in".to_owned());
        }
        if ours_calls != theirs_calls {
            problems.push(format!(
                "requests:\n    ours  {ours_calls:?}\n    Clerk {theirs_calls:?}"
            ));
        }
        if ours != theirs {
            problems.push(format!("read: ours {ours}, Clerk {theirs}"));
        }
        if problems.is_empty() {
            passed += 1;
        } else {
            failures.push(format!("{id}: {}", problems.join("\n  ")));
        }
    }
    for f in &failures {
        eprintln!("MISMATCH {f}");
    }
    println!("backend api: {passed} passed, {} failed", failures.len());
    assert!(failures.is_empty(), "{} mismatches", failures.len());
}

/// The calls that change the store: each is made by Clerk's SDK, undone (or, for deletions and
/// revocations, made on a twin object), then made by `ClerkClient`; ids of twins are compared
/// as the same.
#[actix_web::test]
async fn writes_match_clerks_sdk_too() {
    use actix_clerk::api::{
        CreateInvitationParams, CreateOrganizationParams, CreateUserParams,
        UpdateOrganizationParams, UpdateUserParams,
    };
    let instance = TestInstance::new();
    let backend = TestBackendApi::start(&instance);
    let c = ClerkClient::builder()
        .secret_key(backend.secret_key())
        .api_url(backend.url())
        .build()
        .expect("client");
    let u = backend.add_user(json!({"email_address": ["ada@example.com"]}));
    let member = backend.add_user(json!({"email_address": ["bob@example.com"]}));
    let (d1, d2) = (
        backend.add_user(json!({"email_address": ["d1@example.com"]})),
        backend.add_user(json!({"email_address": ["d2@example.com"]})),
    );
    let o = backend.add_organization(json!({"name": "Acme", "slug": "acme"}));
    let (o1, o2) = (
        backend.add_organization(json!({"name": "O1", "slug": "o-one"})),
        backend.add_organization(json!({"name": "O2", "slug": "o-two"})),
    );
    let sdk = |f: &str, args: Value| {
        backend.clear_api_calls();
        let answer = support::run_oracle(
            "backend-api-oracle.mjs",
            &json!({"apiUrl": backend.url(), "secretKey": backend.secret_key(),
                    "calls": [{"id": f, "fn": f, "args": args}]}),
        );
        let calls: BTreeSet<_> = backend.api_calls().iter().map(shape).collect();
        (answer["results"][0].clone(), calls)
    };
    let ours_calls = |swap: Option<(&str, &str)>| -> BTreeSet<_> {
        backend
            .api_calls()
            .iter()
            .map(shape)
            .map(|(m, p, q, b)| match swap {
                Some((ours, theirs)) => (m, p.replace(ours, theirs), q, b.replace(ours, theirs)),
                None => (m, p, q, b),
            })
            .collect()
    };
    let (mut passed, mut failures) = (0usize, Vec::new());
    let mut check = |id: &str, theirs: BTreeSet<_>, ours: BTreeSet<_>, ok: bool| {
        if !theirs.is_empty() && theirs == ours && ok {
            passed += 1;
        } else {
            failures.push(format!(
                "{id}:\n    ours  {ours:?}\n    Clerk {theirs:?} (ours ok: {ok})"
            ));
        }
    };

    let (r, theirs) = sdk(
        "users.createUser",
        json!([{"emailAddress": ["neo@example.com"], "firstName": "Neo"}]),
    );
    let created = r["ok"]["id"].as_str().unwrap_or_default().to_owned();
    c.request_json("DELETE", &format!("/users/{created}"), &[], None)
        .await
        .expect("undo");
    backend.clear_api_calls();
    let p = CreateUserParams {
        email_address: Some(vec!["neo@example.com".into()]),
        first_name: Some("Neo".into()),
        ..Default::default()
    };
    let ok = c.users().create(&p).await.is_ok();
    check("createUser", theirs, ours_calls(None), ok);

    let (_, theirs) = sdk(
        "users.updateUser",
        json!([u, {"firstName": "Ada", "lastName": "Lovelace"}]),
    );
    backend.clear_api_calls();
    let p = UpdateUserParams {
        first_name: Some("Ada".into()),
        last_name: Some("Lovelace".into()),
        ..Default::default()
    };
    let ok = c.users().update(&u, &p).await.is_ok();
    check("updateUser", theirs, ours_calls(None), ok);

    let (_, theirs) = sdk("users.deleteUser", json!([d1]));
    backend.clear_api_calls();
    let ok = c.users().delete(&d2).await.is_ok();
    check("deleteUser", theirs, ours_calls(Some((&d2, &d1))), ok);

    let (r, theirs) = sdk(
        "organizations.createOrganization",
        json!([{"name": "Beta", "slug": "beta", "createdBy": u}]),
    );
    let created = r["ok"]["id"].as_str().unwrap_or_default().to_owned();
    c.request_json("DELETE", &format!("/organizations/{created}"), &[], None)
        .await
        .expect("undo");
    backend.clear_api_calls();
    let p = CreateOrganizationParams {
        name: Some("Beta".into()),
        slug: Some("beta".into()),
        created_by: Some(u.clone()),
        ..Default::default()
    };
    let ok = c.organizations().create(&p).await.is_ok();
    check("createOrganization", theirs, ours_calls(None), ok);

    let (_, theirs) = sdk(
        "organizations.updateOrganization",
        json!([o, {"name": "Acme Inc"}]),
    );
    backend.clear_api_calls();
    let p = UpdateOrganizationParams {
        name: Some("Acme Inc".into()),
        ..Default::default()
    };
    let ok = c.organizations().update(&o, &p).await.is_ok();
    check("updateOrganization", theirs, ours_calls(None), ok);

    let (_, theirs) = sdk("organizations.deleteOrganization", json!([o1]));
    backend.clear_api_calls();
    let ok = c.organizations().delete(&o2).await.is_ok();
    check(
        "deleteOrganization",
        theirs,
        ours_calls(Some((&o2, &o1))),
        ok,
    );

    let args = json!([{"organizationId": o, "userId": member, "role": "org:member"}]);
    let (_, theirs) = sdk("organizations.createOrganizationMembership", args);
    c.request_json(
        "DELETE",
        &format!("/organizations/{o}/memberships/{member}"),
        &[],
        None,
    )
    .await
    .expect("undo");
    backend.clear_api_calls();
    let ok = c
        .organization_memberships()
        .create(&o, &member, "org:member")
        .await
        .is_ok();
    check("createOrganizationMembership", theirs, ours_calls(None), ok);

    let args = json!([{"organizationId": o, "userId": member, "role": "org:admin"}]);
    let (_, theirs) = sdk("organizations.updateOrganizationMembership", args);
    backend.clear_api_calls();
    let ok = c
        .organization_memberships()
        .update(&o, &member, "org:admin")
        .await
        .is_ok();
    check("updateOrganizationMembership", theirs, ours_calls(None), ok);

    let (_, theirs) = sdk(
        "organizations.deleteOrganizationMembership",
        json!([{"organizationId": o, "userId": member}]),
    );
    backend.add_membership(&o, &member, "org:member");
    backend.clear_api_calls();
    let ok = c
        .organization_memberships()
        .delete(&o, &member)
        .await
        .is_ok();
    check("deleteOrganizationMembership", theirs, ours_calls(None), ok);

    let (r, theirs) = sdk(
        "invitations.createInvitation",
        json!([{"emailAddress": "inv@example.com"}]),
    );
    let inv1 = r["ok"]["id"].as_str().unwrap_or_default().to_owned();
    c.request_json("DELETE", &format!("/invitations/{inv1}"), &[], None)
        .await
        .expect("undo");
    backend.clear_api_calls();
    let p = CreateInvitationParams {
        email_address: Some("inv@example.com".into()),
        ..Default::default()
    };
    let inv2 = c
        .invitations()
        .create(&p)
        .await
        .map(|i| i.id)
        .unwrap_or_default();
    check(
        "createInvitation",
        theirs,
        ours_calls(None),
        !inv2.is_empty(),
    );

    let p = CreateInvitationParams {
        email_address: Some("inv3@example.com".into()),
        ..Default::default()
    };
    let inv3 = c
        .invitations()
        .create(&p)
        .await
        .map(|i| i.id)
        .expect("another invitation");
    let (_, theirs) = sdk("invitations.revokeInvitation", json!([inv2]));
    backend.clear_api_calls();
    let ok = c.invitations().revoke(&inv3).await.is_ok();
    check(
        "revokeInvitation",
        theirs,
        ours_calls(Some((&inv3, &inv2))),
        ok,
    );

    let args =
        json!([{"organizationId": o, "emailAddress": "oi1@example.com", "role": "org:member"}]);
    let (r, theirs) = sdk("organizations.createOrganizationInvitation", args);
    let oi1 = r["ok"]["id"].as_str().unwrap_or_default().to_owned();
    backend.clear_api_calls();
    let p = actix_clerk::api::CreateOrganizationInvitationParams {
        email_address: Some("oi2@example.com".into()),
        role: Some("org:member".into()),
        ..Default::default()
    };
    let oi2 = c
        .organization_invitations()
        .create(&o, &p)
        .await
        .map(|i| i.id)
        .unwrap_or_default();
    let ours = ours_calls(None)
        .into_iter()
        .map(|(m, p, q, b)| (m, p, q, b.replace("oi2@", "oi1@")))
        .collect();
    check(
        "createOrganizationInvitation",
        theirs,
        ours,
        !oi2.is_empty(),
    );

    let args = json!([{"organizationId": o, "invitationId": oi1, "requestingUserId": u}]);
    let (_, theirs) = sdk("organizations.revokeOrganizationInvitation", args);
    backend.clear_api_calls();
    let ok = c
        .organization_invitations()
        .revoke(&o, &oi2, Some(&u))
        .await
        .is_ok();
    check(
        "revokeOrganizationInvitation",
        theirs,
        ours_calls(Some((&oi2, &oi1))),
        ok,
    );

    for f in &failures {
        eprintln!("MISMATCH {f}");
    }
    println!(
        "backend api writes: {passed} passed, {} failed",
        failures.len()
    );
    assert!(failures.is_empty(), "{} mismatches", failures.len());
    assert_eq!(passed, 13);
}
