//! The Backend API resources against a small local server: each call sends what
//! `@clerk/backend` sends (method, path, query, body keys), answers decode, errors map, `429` is
//! retried for `GET` only, and futures are `Send` (spawned on a multi-threaded runtime).

use std::collections::BTreeSet;
use std::sync::Arc;

use actix_clerk::api::{
    CreateInvitationParams, CreateOrganizationInvitationParams, CreateOrganizationParams,
    CreateUserParams, InvitationListParams, InvitationStatus, MembershipListParams,
    OrganizationInvitationListParams, OrganizationListParams, OrganizationMetadataParams,
    SessionListParams, UpdateOrganizationParams, UpdateUserParams, UserListParams,
    UserMetadataParams,
};
use actix_clerk::{ApiError, ClerkClient};
use actix_web::{web, App, HttpRequest, HttpResponse, HttpServer};
use futures_util::StreamExt;
use parking_lot::Mutex;
use serde_json::{json, Value};

/// One request the server saw.
#[derive(Debug, Clone)]
struct Seen {
    method: String,
    path: String,
    query: Vec<(String, String)>,
    body: Option<Value>,
}

impl Seen {
    fn query_set(&self) -> BTreeSet<(String, String)> {
        self.query.iter().cloned().collect()
    }
}

type Answer = Box<dyn Fn(&Seen, usize) -> (u16, Value) + Send + Sync>;

struct Server {
    seen: Arc<Mutex<Vec<Seen>>>,
    client: ClerkClient,
}

impl Server {
    fn take(&self) -> Vec<Seen> {
        std::mem::take(&mut *self.seen.lock())
    }
    fn one(&self) -> Seen {
        let mut all = self.take();
        assert_eq!(all.len(), 1, "{all:?}");
        all.remove(0)
    }
}

/// Something every model parses.
fn thing() -> Value {
    json!({"id": "x_1", "object": "thing", "email_address": "a@example.com", "status": "pending",
           "deleted": true, "name": "Acme", "role": "org:member", "user_id": "user_1"})
}

/// Clerk's answers: `/users` an array, `/users/count` a count, lists `{data, total_count}`.
fn canned(seen: &Seen, _n: usize) -> (u16, Value) {
    let p = seen.path.as_str();
    if seen.method == "GET" && p == "/v1/users" {
        (200, json!([thing()]))
    } else if p == "/v1/users/count" {
        (200, json!({"object": "total_count", "total_count": 7}))
    } else if seen.method == "GET"
        && (p == "/v1/organizations"
            || p.ends_with("/memberships")
            || p.ends_with("/invitations")
            || p == "/v1/sessions")
    {
        (200, json!({"data": [thing()], "total_count": 1}))
    } else {
        (200, thing())
    }
}

fn start(answer: Answer) -> Server {
    let seen = Arc::new(Mutex::new(Vec::new()));
    let (tx, rx) = std::sync::mpsc::channel();
    let (s, answer) = (seen.clone(), Arc::new(answer));
    std::thread::spawn(move || {
        actix_rt::System::new().block_on(async move {
            let server = HttpServer::new(move || {
                let (s, answer) = (s.clone(), answer.clone());
                App::new().default_service(web::to(move |req: HttpRequest, body: web::Bytes| {
                    let (s, answer) = (s.clone(), answer.clone());
                    async move {
                        let seen = Seen {
                            method: req.method().to_string(),
                            path: req.path().to_owned(),
                            query: url::form_urlencoded::parse(req.query_string().as_bytes())
                                .into_owned()
                                .collect(),
                            body: (!body.is_empty())
                                .then(|| serde_json::from_slice(&body).expect("JSON body")),
                        };
                        assert!(req
                            .headers()
                            .get("authorization")
                            .is_some_and(|v| v == "Bearer sk_test_abc"));
                        let n = {
                            let mut all = s.lock();
                            all.push(seen.clone());
                            all.len()
                        };
                        let (status, body) = answer(&seen, n);
                        let mut res = HttpResponse::build(
                            actix_web::http::StatusCode::from_u16(status).unwrap(),
                        );
                        if status == 429 {
                            res.insert_header(("Retry-After", "0"));
                        }
                        res.json(body)
                    }
                }))
            })
            .workers(1)
            .bind(("127.0.0.1", 0))
            .unwrap();
            tx.send(server.addrs()[0]).unwrap();
            server.run().await.unwrap();
        });
    });
    let addr = rx.recv().unwrap();
    let client = ClerkClient::builder()
        .secret_key("sk_test_abc")
        .api_url(format!("http://{addr}"))
        .build()
        .unwrap();
    Server { seen, client }
}

fn q(pairs: &[(&str, &str)]) -> BTreeSet<(String, String)> {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

fn assert_call(s: &Seen, method: &str, path: &str, body: Option<Value>) {
    assert_eq!((s.method.as_str(), s.path.as_str()), (method, path));
    assert_eq!(s.body, body, "{method} {path}");
}

#[tokio::test]
async fn users() {
    let srv = start(Box::new(canned));
    let users = srv.client.users();

    let u = users.get("user_1").await.unwrap();
    assert_eq!(u.id, "x_1");
    let s = srv.one();
    assert_call(&s, "GET", "/v1/users/user_1", None);
    assert!(s.query.is_empty());

    let params = UserListParams::new()
        .email_address("a@example.com")
        .email_address("b@example.com")
        .organization_id("org_1")
        .query("ada")
        .order_by("-created_at")
        .banned(false)
        .limit(20)
        .offset(40);
    let page = users.list(&params).await.unwrap();
    assert_eq!((page.data.len(), page.total_count), (1, 7));
    let mut seen = srv.take();
    seen.sort_by(|a, b| a.path.cmp(&b.path));
    assert_call(&seen[0], "GET", "/v1/users", None);
    assert_eq!(
        seen[0].query_set(),
        q(&[
            ("email_address", "a@example.com"),
            ("email_address", "b@example.com"),
            ("organization_id", "org_1"),
            ("query", "ada"),
            ("order_by", "-created_at"),
            ("limit", "20"),
            ("offset", "40"),
        ])
    );
    assert_call(&seen[1], "GET", "/v1/users/count", None);
    assert_eq!(
        seen[1].query_set(),
        q(&[
            ("email_address", "a@example.com"),
            ("email_address", "b@example.com"),
            ("organization_id", "org_1"),
            ("query", "ada"),
        ])
    );

    users
        .create(&CreateUserParams {
            email_address: Some(vec!["a@example.com".into()]),
            first_name: Some("Ada".into()),
            public_metadata: Some(json!({"plan": {"tier": "pro"}})),
            ..Default::default()
        })
        .await
        .unwrap();
    assert_call(
        &srv.one(),
        "POST",
        "/v1/users",
        Some(
            json!({"email_address": ["a@example.com"], "first_name": "Ada",
                    "public_metadata": {"plan": {"tier": "pro"}}}),
        ),
    );

    users
        .update(
            "user_1",
            &UpdateUserParams {
                username: Some("ada".into()),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert_call(
        &srv.one(),
        "PATCH",
        "/v1/users/user_1",
        Some(json!({"username": "ada"})),
    );

    let meta = UserMetadataParams {
        private_metadata: Some(json!({"stripeId": "cus_1"})),
        ..Default::default()
    };
    users.update_metadata("user_1", &meta).await.unwrap();
    assert_call(
        &srv.one(),
        "PATCH",
        "/v1/users/user_1/metadata",
        Some(json!({"private_metadata": {"stripeId": "cus_1"}})),
    );
    users.replace_metadata("user_1", &meta).await.unwrap();
    assert_call(
        &srv.one(),
        "PUT",
        "/v1/users/user_1/metadata",
        Some(json!({"private_metadata": {"stripeId": "cus_1"}})),
    );

    let d = users.delete("user_1").await.unwrap();
    assert!(d.deleted);
    assert_call(&srv.one(), "DELETE", "/v1/users/user_1", None);

    users.ban("user_1").await.unwrap();
    assert_call(&srv.one(), "POST", "/v1/users/user_1/ban", None);
    users.unban("user_1").await.unwrap();
    assert_call(&srv.one(), "POST", "/v1/users/user_1/unban", None);
    users.lock("user_1").await.unwrap();
    assert_call(&srv.one(), "POST", "/v1/users/user_1/lock", None);
    users.unlock("user_1").await.unwrap();
    assert_call(&srv.one(), "POST", "/v1/users/user_1/unlock", None);

    // Ids are escaped in their segment.
    users.get("a/b?c").await.unwrap();
    assert_eq!(srv.one().path, "/v1/users/a%2Fb%3Fc");
}

#[tokio::test]
async fn list_all_streams_every_page() {
    let srv = start(Box::new(|seen: &Seen, _| {
        if seen.path == "/v1/users/count" {
            return (200, json!({"total_count": 5}));
        }
        let offset: usize = seen
            .query
            .iter()
            .find(|(k, _)| k == "offset")
            .map_or(0, |(_, v)| v.parse().unwrap());
        let items: Vec<Value> = (offset..(offset + 2).min(5))
            .map(|i| json!({"id": format!("user_{i}")}))
            .collect();
        (200, json!(items))
    }));
    let ids: Vec<String> = srv
        .client
        .users()
        .list_all(UserListParams::new().limit(2).query("x"))
        .map(|u| u.unwrap().id)
        .collect()
        .await;
    assert_eq!(ids, ["user_0", "user_1", "user_2", "user_3", "user_4"]);
    let pages: Vec<Seen> = srv
        .take()
        .into_iter()
        .filter(|s| s.path == "/v1/users")
        .collect();
    let offsets: Vec<BTreeSet<(String, String)>> = pages.iter().map(Seen::query_set).collect();
    assert_eq!(
        offsets,
        [
            q(&[("limit", "2"), ("query", "x")]),
            q(&[("limit", "2"), ("query", "x"), ("offset", "2")]),
            q(&[("limit", "2"), ("query", "x"), ("offset", "4")]),
        ]
    );

    // An empty page ends the stream even when the total says more.
    let srv = start(Box::new(|_: &Seen, _| {
        (200, json!({"data": [], "total_count": 9}))
    }));
    let n = srv
        .client
        .organizations()
        .list_all(OrganizationListParams::new())
        .count()
        .await;
    assert_eq!(n, 0);
    assert_eq!(srv.take().len(), 1);
}

#[tokio::test]
async fn organizations_memberships_invitations() {
    let srv = start(Box::new(canned));
    let orgs = srv.client.organizations();

    orgs.get("acme").await.unwrap();
    let s = srv.one();
    assert_call(&s, "GET", "/v1/organizations/acme", None);
    assert!(s.query.is_empty());
    orgs.get_with("org_1", true).await.unwrap();
    assert_eq!(
        srv.one().query_set(),
        q(&[("include_members_count", "true")])
    );

    let page = orgs
        .list(
            &OrganizationListParams::new()
                .query("ac")
                .include_members_count(true)
                .user_id("user_1")
                .limit(5),
        )
        .await
        .unwrap();
    assert_eq!(page.total_count, 1);
    let s = srv.one();
    assert_call(&s, "GET", "/v1/organizations", None);
    assert_eq!(
        s.query_set(),
        q(&[
            ("query", "ac"),
            ("include_members_count", "true"),
            ("user_id", "user_1"),
            ("limit", "5"),
        ])
    );

    orgs.create(&CreateOrganizationParams {
        name: Some("Acme".into()),
        created_by: Some("user_1".into()),
        ..Default::default()
    })
    .await
    .unwrap();
    assert_call(
        &srv.one(),
        "POST",
        "/v1/organizations",
        Some(json!({"name": "Acme", "created_by": "user_1"})),
    );
    orgs.update(
        "org_1",
        &UpdateOrganizationParams {
            slug: Some("acme-2".into()),
            ..Default::default()
        },
    )
    .await
    .unwrap();
    assert_call(
        &srv.one(),
        "PATCH",
        "/v1/organizations/org_1",
        Some(json!({"slug": "acme-2"})),
    );
    let meta = OrganizationMetadataParams {
        public_metadata: Some(json!({"a": 1})),
        ..Default::default()
    };
    orgs.update_metadata("org_1", &meta).await.unwrap();
    assert_call(
        &srv.one(),
        "PATCH",
        "/v1/organizations/org_1/metadata",
        Some(json!({"public_metadata": {"a": 1}})),
    );
    orgs.replace_metadata("org_1", &meta).await.unwrap();
    assert_call(
        &srv.one(),
        "PUT",
        "/v1/organizations/org_1/metadata",
        Some(json!({"public_metadata": {"a": 1}})),
    );
    orgs.delete("org_1").await.unwrap();
    assert_call(&srv.one(), "DELETE", "/v1/organizations/org_1", None);

    let members = srv.client.organization_memberships();
    let page = members
        .list(
            "org_1",
            &MembershipListParams::new().limit(10).role("org:admin"),
        )
        .await
        .unwrap();
    assert_eq!(page.data[0].role, "org:member");
    let s = srv.one();
    assert_call(&s, "GET", "/v1/organizations/org_1/memberships", None);
    assert_eq!(s.query_set(), q(&[("limit", "10"), ("role", "org:admin")]));
    members
        .create("org_1", "user_1", "org:admin")
        .await
        .unwrap();
    assert_call(
        &srv.one(),
        "POST",
        "/v1/organizations/org_1/memberships",
        Some(json!({"user_id": "user_1", "role": "org:admin"})),
    );
    members
        .update("org_1", "user_1", "org:member")
        .await
        .unwrap();
    assert_call(
        &srv.one(),
        "PATCH",
        "/v1/organizations/org_1/memberships/user_1",
        Some(json!({"role": "org:member"})),
    );
    members.delete("org_1", "user_1").await.unwrap();
    assert_call(
        &srv.one(),
        "DELETE",
        "/v1/organizations/org_1/memberships/user_1",
        None,
    );

    let inv = srv.client.organization_invitations();
    let i = inv
        .create(
            "org_1",
            &CreateOrganizationInvitationParams {
                email_address: Some("b@example.com".into()),
                role: Some("org:member".into()),
                inviter_user_id: Some("user_1".into()),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(i.status, InvitationStatus::Pending);
    assert_call(
        &srv.one(),
        "POST",
        "/v1/organizations/org_1/invitations",
        Some(
            json!({"email_address": "b@example.com", "role": "org:member",
                    "inviter_user_id": "user_1"}),
        ),
    );
    inv.list(
        "org_1",
        &OrganizationInvitationListParams {
            status: vec!["pending".into()],
            ..Default::default()
        },
    )
    .await
    .unwrap();
    let s = srv.one();
    assert_call(&s, "GET", "/v1/organizations/org_1/invitations", None);
    assert_eq!(s.query_set(), q(&[("status", "pending")]));
    inv.revoke("org_1", "orginv_1", Some("user_1"))
        .await
        .unwrap();
    assert_call(
        &srv.one(),
        "POST",
        "/v1/organizations/org_1/invitations/orginv_1/revoke",
        Some(json!({"requesting_user_id": "user_1"})),
    );
    inv.revoke("org_1", "orginv_1", None).await.unwrap();
    assert_call(
        &srv.one(),
        "POST",
        "/v1/organizations/org_1/invitations/orginv_1/revoke",
        None,
    );
}

#[tokio::test]
async fn invitations_and_sessions() {
    let srv = start(Box::new(canned));
    let inv = srv.client.invitations();
    inv.create(&CreateInvitationParams {
        email_address: Some("a@example.com".into()),
        redirect_url: Some("https://app.example.com".into()),
        ignore_existing: Some(true),
        ..Default::default()
    })
    .await
    .unwrap();
    assert_call(
        &srv.one(),
        "POST",
        "/v1/invitations",
        Some(json!({"email_address": "a@example.com",
                    "redirect_url": "https://app.example.com", "ignore_existing": true})),
    );
    let page = inv
        .list(&InvitationListParams {
            status: Some("pending".into()),
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(page.total_count, 1);
    let s = srv.one();
    assert_call(&s, "GET", "/v1/invitations", None);
    assert_eq!(
        s.query_set(),
        q(&[("status", "pending"), ("paginated", "true")])
    );
    inv.revoke("inv_1").await.unwrap();
    assert_call(&srv.one(), "POST", "/v1/invitations/inv_1/revoke", None);

    let sessions = srv.client.sessions();
    sessions.get("sess_1").await.unwrap();
    assert_call(&srv.one(), "GET", "/v1/sessions/sess_1", None);
    sessions
        .list(&SessionListParams::user("user_1").status("active").limit(3))
        .await
        .unwrap();
    let s = srv.one();
    assert_call(&s, "GET", "/v1/sessions", None);
    assert_eq!(
        s.query_set(),
        q(&[
            ("user_id", "user_1"),
            ("status", "active"),
            ("limit", "3"),
            ("paginated", "true"),
        ])
    );
    sessions.revoke("sess_1").await.unwrap();
    assert_call(&srv.one(), "POST", "/v1/sessions/sess_1/revoke", None);
}

#[tokio::test]
async fn errors_map_and_429_is_retried_for_get_only() {
    let srv = start(Box::new(|seen: &Seen, _| {
        if seen.path.ends_with("missing") {
            (
                404,
                json!({"errors": [{"code": "resource_not_found", "message": "not found",
                         "long_message": "No user was found"}], "clerk_trace_id": "t1"}),
            )
        } else {
            (
                429,
                json!({"errors": [{"code": "too_many_requests", "message": "slow down"}]}),
            )
        }
    }));
    let err = srv.client.users().get("missing").await.unwrap_err();
    assert!(err.is_not_found());
    match &err {
        ApiError::Response {
            status,
            errors,
            clerk_trace_id,
            ..
        } => {
            assert_eq!(*status, 404);
            assert_eq!(errors[0].code, "resource_not_found");
            assert_eq!(errors[0].long_message.as_deref(), Some("No user was found"));
            assert_eq!(clerk_trace_id.as_deref(), Some("t1"));
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(srv.take().len(), 1);

    let err = srv.client.sessions().get("sess_1").await.unwrap_err();
    assert_eq!(err.status(), Some(429));
    assert_eq!(err.retry_after(), Some(0));
    assert_eq!(srv.take().len(), 3, "GET retried twice");

    let err = srv.client.users().ban("user_1").await.unwrap_err();
    assert_eq!(err.code(), Some("too_many_requests"));
    assert_eq!(srv.take().len(), 1, "POST not retried");

    // A 429 then a success: the GET succeeds.
    let srv = start(Box::new(|seen: &Seen, n| {
        if n == 1 {
            (429, json!({"errors": []}))
        } else {
            canned(seen, n)
        }
    }));
    srv.client.sessions().get("sess_1").await.unwrap();
    assert_eq!(srv.take().len(), 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn calls_run_in_spawned_tasks() {
    let srv = start(Box::new(canned));
    let client = srv.client.clone();
    let user = tokio::spawn(async move {
        let user = client.users().get("user_1").await?;
        let all: Vec<_> = client
            .organizations()
            .list_all(OrganizationListParams::new())
            .collect()
            .await;
        assert_eq!(all.len(), 1);
        Ok::<_, ApiError>(user)
    })
    .await
    .unwrap()
    .unwrap();
    assert_eq!(user.id, "x_1");
}

/// Every call's future is `Send` (checked at compile time).
#[allow(dead_code, clippy::let_underscore_future)]
fn futures_are_send(c: ClerkClient) {
    fn assert_send<T: Send>(_: T) {}
    let users = c.users();
    assert_send(users.get("u"));
    assert_send(users.list(&UserListParams::new()));
    assert_send(users.list_all(UserListParams::new()));
    assert_send(users.count(&UserListParams::new()));
    assert_send(users.create(&CreateUserParams::default()));
    assert_send(users.update("u", &UpdateUserParams::default()));
    assert_send(users.update_metadata("u", &UserMetadataParams::default()));
    assert_send(users.replace_metadata("u", &UserMetadataParams::default()));
    assert_send(users.delete("u"));
    assert_send(users.ban("u"));
    assert_send(users.unban("u"));
    assert_send(users.lock("u"));
    assert_send(users.unlock("u"));
    let orgs = c.organizations();
    assert_send(orgs.get("o"));
    assert_send(orgs.get_with("o", true));
    assert_send(orgs.list(&OrganizationListParams::new()));
    assert_send(orgs.list_all(OrganizationListParams::new()));
    assert_send(orgs.create(&CreateOrganizationParams::default()));
    assert_send(orgs.update("o", &UpdateOrganizationParams::default()));
    assert_send(orgs.update_metadata("o", &OrganizationMetadataParams::default()));
    assert_send(orgs.replace_metadata("o", &OrganizationMetadataParams::default()));
    assert_send(orgs.delete("o"));
    let m = c.organization_memberships();
    assert_send(m.list("o", &MembershipListParams::new()));
    assert_send(m.list_all("o", MembershipListParams::new()));
    assert_send(m.create("o", "u", "r"));
    assert_send(m.update("o", "u", "r"));
    assert_send(m.delete("o", "u"));
    let oi = c.organization_invitations();
    assert_send(oi.create("o", &CreateOrganizationInvitationParams::default()));
    assert_send(oi.list("o", &OrganizationInvitationListParams::default()));
    assert_send(oi.revoke("o", "i", None));
    let i = c.invitations();
    assert_send(i.create(&CreateInvitationParams::default()));
    assert_send(i.list(&InvitationListParams::default()));
    assert_send(i.revoke("i"));
    let s = c.sessions();
    assert_send(s.get("s"));
    assert_send(s.list(&SessionListParams::default()));
    assert_send(s.list_all(SessionListParams::default()));
    assert_send(s.revoke("s"));
}
