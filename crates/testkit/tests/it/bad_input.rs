//! Every kind of bad input gets a clear 4xx with a stable error code, the
//! server keeps serving, and nothing is stored half-way (DESIGN.md §9, §14).
//! Runs on the backend `SWITCHBOARD_TEST_DB` selects.

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use switchboard_core::{ConversationId, WorkspaceId};
use switchboard_store::ContactFilter;
use switchboard_testkit::TestApp;
use switchboard_testkit::client::{ApiClient, Reply, post_hook, post_hook_raw};
use switchboard_testkit::fixtures::{Org, invite};

/// A status and code from the API's error table.
#[track_caller]
fn assert_error(reply: &Reply, status: u16, code: &str) {
    assert_eq!(
        reply.status.as_u16(),
        status,
        "expected {status} {code}, got {:?}",
        reply.body
    );
    assert_eq!(reply.code(), code, "expected {status} {code}, got {:?}", reply.body);
    assert!(
        switchboard_web::ERROR_CODES
            .iter()
            .any(|(c, s, _)| *c == code && *s == status),
        "{code} {status} is not in ERROR_CODES"
    );
    assert!(
        reply.body["error"]["message"].as_str().is_some_and(|m| !m.is_empty()),
        "an error names what went wrong: {:?}",
        reply.body
    );
}

/// The server still answers after the bad request.
async fn assert_serving(app: &TestApp) {
    let health = reqwest::get(app.url("/healthz"))
        .await
        .expect("the server still accepts connections");
    assert_eq!(health.status(), StatusCode::OK);
}

fn ws_id(org: &Org) -> WorkspaceId {
    org.ws.parse().expect("workspace id")
}

/// Contacts stored in the workspace, read straight from the store.
async fn stored_contacts(app: &TestApp, org: &Org) -> usize {
    let filter = ContactFilter {
        query: None,
        tag: None,
        channel_id: None,
        cursor: None,
        limit: 50,
    };
    app.services
        .store()
        .reader()
        .contacts(ws_id(org), &filter)
        .await
        .expect("contacts")
        .items
        .len()
}

async fn conversation_ids(org: &Org) -> Vec<String> {
    let list = org.admin.get(&org.path("/conversations")).await;
    assert_eq!(list.status, 200, "{:?}", list.body);
    list["items"]
        .as_array()
        .expect("items")
        .iter()
        .map(|c| c["id"].as_str().expect("id").to_owned())
        .collect()
}

async fn team_names(org: &Org) -> Vec<String> {
    let list = org.admin.get(&org.path("/teams")).await;
    assert_eq!(list.status, 200, "{:?}", list.body);
    list["items"]
        .as_array()
        .expect("items")
        .iter()
        .map(|t| t["name"].as_str().expect("name").to_owned())
        .collect()
}

async fn message_count(app: &TestApp, conversation: &str) -> i64 {
    let id: ConversationId = conversation.parse().expect("conversation id");
    app.services
        .store()
        .reader()
        .count_messages(id)
        .await
        .expect("count messages")
}

/// Nothing from the hook reached the store: no contact, no conversation.
async fn assert_nothing_ingested(app: &TestApp, org: &Org) {
    assert_eq!(stored_contacts(app, org).await, 0, "no contact was stored");
    assert!(conversation_ids(org).await.is_empty(), "no conversation was stored");
}

fn hook_message(message_id: &str, text: &str) -> Value {
    json!({"message_id": message_id, "contact": {"id": "customer-1", "name": "Carla Customer"}, "text": text})
}

/// `POST` raw bytes to the hook, signed correctly with the channel secret.
async fn signed_hook(app: &TestApp, org: &Org, content_type: &str, raw: Vec<u8>) -> Reply {
    let signature = switchboard_channels::api::sign(&org.secret, &raw);
    post_hook_raw(app, &org.channel, Some(&signature), content_type, raw).await
}

/// A random (well-formed, time-ordered) id that names nothing.
fn unknown_id() -> String {
    uuid::Uuid::now_v7().to_string()
}

#[tokio::test]
async fn malformed_json_is_400_on_the_api_and_422_on_the_hook() {
    let app = TestApp::spawn().await;
    let org = Org::create(&app).await;
    let teams = org.path("/teams");

    for body in [&b"{\"name\":"[..], b"{\"name\": \"Billing\",}", b"not json at all", b""] {
        let r = org
            .admin
            .send_raw(Method::POST, &teams, Some("application/json"), body.to_vec())
            .await;
        assert_error(&r, 400, "malformed_json");
        assert_serving(&app).await;
    }
    assert_eq!(team_names(&org).await, vec!["Support"], "no team was created");

    // The hook verifies the signature first, so a correctly signed but
    // malformed body reaches the parser: a payload error.
    for body in [&b"{\"message_id\":"[..], b"[1, 2", b""] {
        let r = signed_hook(&app, &org, "application/json", body.to_vec()).await;
        assert_error(&r, 422, "bad_payload");
        assert_serving(&app).await;
    }
    assert_nothing_ingested(&app, &org).await;

    // The same channel takes a well-formed message.
    org.customer_says(&app, "m-ok", "customer-1", "hello").await;
    assert_eq!(stored_contacts(&app, &org).await, 1);
}

#[tokio::test]
async fn a_body_that_is_not_json_is_415() {
    let app = TestApp::spawn().await;
    let org = Org::create(&app).await;
    let teams = org.path("/teams");
    let valid = serde_json::to_vec(&json!({"name": "Billing"})).unwrap();

    // A body that would be a valid request, but is not declared as JSON.
    for content_type in [Some("text/plain"), Some("application/x-www-form-urlencoded"), None] {
        let r = org
            .admin
            .send_raw(Method::POST, &teams, content_type, valid.clone())
            .await;
        assert_error(&r, 415, "unsupported_media_type");
        assert_serving(&app).await;
    }
    assert_eq!(team_names(&org).await, vec!["Support"], "no team was created");

    // The hook: a correctly signed, valid message sent as text/plain.
    let raw = serde_json::to_vec(&hook_message("m-1", "hello")).unwrap();
    let r = signed_hook(&app, &org, "text/plain", raw.clone()).await;
    assert_error(&r, 415, "unsupported_media_type");
    assert_serving(&app).await;
    assert_nothing_ingested(&app, &org).await;

    // As application/json it is taken.
    let r = signed_hook(&app, &org, "application/json; charset=utf-8", raw).await;
    assert_eq!(r.status, 200, "{:?}", r.body);
    assert_eq!(stored_contacts(&app, &org).await, 1);
}

#[tokio::test]
async fn a_body_over_the_limit_is_413() {
    let app = TestApp::spawn().await;
    let org = Org::create(&app).await;
    let big = "x".repeat(100 * 1024);

    let r = org
        .admin
        .send_raw(
            Method::POST,
            &org.path("/teams"),
            Some("application/json"),
            serde_json::to_vec(&json!({"name": big})).unwrap(),
        )
        .await;
    assert_error(&r, 413, "payload_too_large");
    assert_serving(&app).await;
    let r = org
        .admin
        .post(
            &org.path("/contacts"),
            json!({"name": "Big", "attributes": {"notes": big}}),
        )
        .await;
    assert_error(&r, 413, "payload_too_large");
    assert_serving(&app).await;
    assert_eq!(team_names(&org).await, vec!["Support"]);
    assert_eq!(stored_contacts(&app, &org).await, 0);

    // The hook, correctly signed.
    let raw = serde_json::to_vec(&hook_message("m-big", &big)).unwrap();
    assert!(raw.len() > 64 * 1024);
    let r = signed_hook(&app, &org, "application/json", raw).await;
    assert_error(&r, 413, "payload_too_large");
    assert_serving(&app).await;
    assert_nothing_ingested(&app, &org).await;

    // A body just under the limit is read (and then judged on its content).
    let r = post_hook(
        &app,
        &org.channel,
        &org.secret,
        &hook_message("m-fits", &"y".repeat(60 * 1024)),
    )
    .await;
    assert_eq!(r.status, 200, "{:?}", r.body);
}

#[tokio::test]
async fn invalid_utf8_is_400_on_the_api_and_422_on_the_hook() {
    let app = TestApp::spawn().await;
    let org = Org::create(&app).await;

    for body in [
        &b"{\"name\":\"\xff\"}"[..],
        b"{\"name\":\"Bill\xc3\x28ing\"}",
        b"\xfe\xff",
    ] {
        let r = org
            .admin
            .send_raw(
                Method::POST,
                &org.path("/teams"),
                Some("application/json"),
                body.to_vec(),
            )
            .await;
        assert_error(&r, 400, "invalid_utf8");
        assert_serving(&app).await;
    }
    assert_eq!(team_names(&org).await, vec!["Support"]);

    let raw = b"{\"message_id\":\"m-1\",\"contact\":{\"id\":\"customer-1\"},\"text\":\"caf\xe9\"}".to_vec();
    let r = signed_hook(&app, &org, "application/json", raw).await;
    assert_error(&r, 422, "bad_payload");
    assert_serving(&app).await;
    assert_nothing_ingested(&app, &org).await;
}

#[tokio::test]
async fn json_of_the_wrong_shape_is_422() {
    let app = TestApp::spawn().await;
    let org = Org::create(&app).await;
    let teams = org.path("/teams");

    let cases = [
        (teams.clone(), json!({})),                                             // missing name
        (teams.clone(), json!({"name": "Billing", "colour": "red"})),           // unknown field
        (teams.clone(), json!({"name": 42})),                                   // wrong type
        (teams.clone(), json!({"name": "Billing", "assignment_rule": "dice"})), // unknown variant
        (teams.clone(), json!("Billing")),                                      // not an object
        (teams.clone(), json!(null)),                                           // not an object
        (teams.clone(), json!({"name": "   "})),                                // empty after trimming
        (
            org.path("/users"),
            json!({"email": "bo@acme.test", "name": "Bo", "password": "chosen by the admin", "role": "agent"}),
        ), // admins choose no passwords
        (
            org.path("/users"),
            json!({"email": "bo@acme.test", "name": "Bo", "role": "owner"}),
        ),
        (
            org.path("/users"),
            json!({"email": "not-an-email", "name": "Bo", "role": "agent"}),
        ),
        (org.path("/contacts"), json!({"name": "Ana", "phone": "12"})),
    ];
    for (path, body) in cases {
        let r = org.admin.post(&path, body.clone()).await;
        assert_error(&r, 422, "invalid_input");
        assert_serving(&app).await;
    }
    assert_eq!(team_names(&org).await, vec!["Support"]);
    let members = org.admin.get(&org.path("/users")).await;
    assert_eq!(
        members["items"].as_array().unwrap().len(),
        2,
        "admin and agent only: {:?}",
        members.body
    );
    assert_eq!(stored_contacts(&app, &org).await, 0);

    // Query strings are input too.
    for query in [
        "/contacts?limit=abc",
        "/contacts?limit=0",
        "/contacts?limit=100000",
        "/contacts?cursor=not-a-uuid",
        "/contacts?colour=red",
        "/conversations?status=archived",
        "/conversations?section=everything",
        "/conversations?assignee=somebody",
        "/conversations?sort=asc",
    ] {
        let r = org.admin.get(&org.path(query)).await;
        assert_error(&r, 422, "invalid_input");
    }
    assert_serving(&app).await;

    // A conversation write with a missing and an unknown field.
    let hook = org.customer_says(&app, "m-1", "customer-1", "hello").await;
    let conv = hook["conversation_id"].as_str().unwrap().to_owned();
    let before = message_count(&app, &conv).await;
    let status = org.path(&format!("/conversations/{conv}/status"));
    assert_error(
        &org.admin.post(&status, json!({"comment": "no status"})).await,
        422,
        "invalid_input",
    );
    assert_error(
        &org.admin.post(&status, json!({"status": "resolved", "why": "x"})).await,
        422,
        "invalid_input",
    );
    let messages = org.path(&format!("/conversations/{conv}/messages"));
    assert_error(
        &org.admin.post(&messages, json!({"kind": "note"})).await,
        422,
        "invalid_input",
    );
    assert_error(
        &org.admin.post(&messages, json!({"kind": "note", "body": ""})).await,
        422,
        "invalid_input",
    );
    assert_eq!(
        message_count(&app, &conv).await,
        before,
        "nothing was written to the conversation"
    );
    assert_eq!(
        org.admin.get(&org.path(&format!("/conversations/{conv}"))).await["status"],
        "queued"
    );

    // A correctly signed hook payload of the wrong shape.
    let raw = serde_json::to_vec(&json!({"message_id": "m-2", "text": "no contact"})).unwrap();
    assert_error(
        &signed_hook(&app, &org, "application/json", raw).await,
        422,
        "bad_payload",
    );
    assert_serving(&app).await;
    assert_eq!(
        stored_contacts(&app, &org).await,
        1,
        "only the contact of the valid message"
    );
}

#[tokio::test]
async fn unknown_ids_are_404() {
    let app = TestApp::spawn().await;
    let org = Org::create(&app).await;

    for kind in ["conversations", "teams", "channels", "contacts", "users"] {
        for id in [unknown_id(), "not-a-uuid".to_owned(), "42".to_owned()] {
            let r = org.admin.get(&org.path(&format!("/{kind}/{id}"))).await;
            assert_error(&r, 404, "not_found");
        }
    }
    let conv = unknown_id();
    assert_error(
        &org.admin
            .get(&org.path(&format!("/conversations/{conv}/messages")))
            .await,
        404,
        "not_found",
    );
    assert_error(
        &org.admin
            .post(
                &org.path(&format!("/conversations/{conv}/status")),
                json!({"status": "resolved"}),
            )
            .await,
        404,
        "not_found",
    );
    assert_error(
        &org.admin
            .post(
                &org.path(&format!("/conversations/{conv}/messages")),
                json!({"kind": "note", "body": "hi"}),
            )
            .await,
        404,
        "not_found",
    );
    assert_error(
        &org.admin
            .patch(&org.path(&format!("/teams/{}", unknown_id())), json!({"name": "X"}))
            .await,
        404,
        "not_found",
    );
    assert_error(
        &org.admin
            .delete(&org.path(&format!("/channels/{}", unknown_id())))
            .await,
        404,
        "not_found",
    );
    assert_error(
        &org.admin
            .delete(&org.path(&format!("/api-tokens/{}", unknown_id())))
            .await,
        404,
        "not_found",
    );
    assert_error(
        &org.admin
            .put(
                &org.path(&format!("/teams/{}/members/{}", org.team, unknown_id())),
                json!({}),
            )
            .await,
        404,
        "not_found",
    );
    assert_error(
        &org.admin
            .post(
                &org.path("/channels"),
                json!({"kind": "api", "name": "Other", "default_team_id": unknown_id()}),
            )
            .await,
        404,
        "not_found",
    );
    // An unknown or malformed workspace.
    assert_error(
        &org.admin
            .get(&format!("/api/v1/workspaces/{}/teams", unknown_id()))
            .await,
        404,
        "not_found",
    );
    assert_error(&org.admin.get("/api/v1/workspaces/acme/teams").await, 404, "not_found");

    // Hooks to a channel that does not exist, is not a UUID, or is of another kind.
    let message = hook_message("m-1", "hello");
    assert_error(
        &post_hook(&app, &unknown_id(), &org.secret, &message).await,
        404,
        "not_found",
    );
    assert_error(
        &post_hook(&app, "not-a-uuid", &org.secret, &message).await,
        404,
        "not_found",
    );
    let raw = serde_json::to_vec(&message).unwrap();
    let signature = switchboard_channels::api::sign(&org.secret, &raw);
    for path in [
        format!("/hooks/whatsapp/{}", org.channel),
        format!("/hooks/nope/{}", org.channel),
    ] {
        let r = reqwest::Client::new()
            .post(app.url(&path))
            .header("content-type", "application/json")
            .header(switchboard_channels::api::SIGNATURE_HEADER, &signature)
            .body(raw.clone())
            .send()
            .await
            .unwrap();
        let r = switchboard_testkit::client::reply_of(r).await;
        assert_error(&r, 404, "not_found");
    }
    assert_serving(&app).await;
    assert_nothing_ingested(&app, &org).await;
    assert_eq!(team_names(&org).await, vec!["Support"]);
    let channels = org.admin.get(&org.path("/channels")).await;
    assert_eq!(channels["items"].as_array().unwrap().len(), 1);
}

#[tokio::test]
async fn illegal_lifecycle_moves_are_refused() {
    let app = TestApp::spawn().await;
    let org = Org::create(&app).await;
    let hook = org.customer_says(&app, "m-1", "customer-1", "hello").await;
    let conv = hook["conversation_id"].as_str().unwrap().to_owned();
    let conv_path = org.path(&format!("/conversations/{conv}"));
    let status = format!("{conv_path}/status");

    // Queued: nothing to reopen, nobody to unassign.
    assert_eq!(org.admin.get(&conv_path).await["status"], "queued");
    let before = message_count(&app, &conv).await;
    assert_error(
        &org.admin.post(&status, json!({"status": "assigned"})).await,
        409,
        "illegal_transition",
    );
    assert_error(
        &org.admin.post(&status, json!({"status": "queued"})).await,
        409,
        "illegal_transition",
    );
    assert_eq!(
        message_count(&app, &conv).await,
        before,
        "no activity for a refused move"
    );
    assert_eq!(org.admin.get(&conv_path).await["status"], "queued");

    // Coming online takes the waiting chat (routing drains the queue).
    org.set_online(&org.agent, &org.agent_id).await;
    let assigned = org.admin.get(&conv_path).await;
    assert_eq!(assigned.status, 200, "{:?}", assigned.body);
    assert_eq!(assigned["status"], "assigned");

    // Assigned: reopening an open chat is not a move; `expired` is the system's.
    let before = message_count(&app, &conv).await;
    assert_error(
        &org.agent.post(&status, json!({"status": "assigned"})).await,
        409,
        "illegal_transition",
    );
    for forbidden in ["expired", "pending", "bot"] {
        assert_error(
            &org.agent.post(&status, json!({"status": forbidden})).await,
            422,
            "invalid_input",
        );
    }
    assert_error(
        &org.agent.post(&status, json!({"status": "archived"})).await,
        422,
        "invalid_input",
    );
    // Assigning to whoever already has it.
    assert_error(
        &org.admin
            .post(&format!("{conv_path}/assign"), json!({"user_id": org.agent_id}))
            .await,
        409,
        "illegal_transition",
    );
    assert_eq!(message_count(&app, &conv).await, before);
    let c = org.admin.get(&conv_path).await;
    assert_eq!(c["status"], "assigned");
    assert_eq!(c["assignee_id"], org.agent_id.as_str());

    let resolved = org
        .agent
        .post(&status, json!({"status": "resolved", "comment": "done"}))
        .await;
    assert_eq!(resolved.status, 200, "{:?}", resolved.body);
    let closed_at = resolved["closed_at"].clone();
    let before = message_count(&app, &conv).await;

    // Closed: no second close, no unassign, no reply, no priority.
    assert_error(
        &org.admin.post(&status, json!({"status": "resolved"})).await,
        409,
        "illegal_transition",
    );
    assert_error(
        &org.admin.post(&status, json!({"status": "abandoned"})).await,
        409,
        "illegal_transition",
    );
    assert_error(
        &org.admin.post(&status, json!({"status": "queued"})).await,
        409,
        "illegal_transition",
    );
    assert_error(
        &org.admin.post(&status, json!({"status": "expired"})).await,
        422,
        "invalid_input",
    );
    assert_error(
        &org.admin
            .post(
                &format!("{conv_path}/messages"),
                json!({"kind": "text", "body": "still there?"}),
            )
            .await,
        409,
        "illegal_transition",
    );
    assert_error(
        &org.admin
            .post(&format!("{conv_path}/priority"), json!({"priority": "critical"}))
            .await,
        409,
        "illegal_transition",
    );
    assert_serving(&app).await;
    assert_eq!(
        message_count(&app, &conv).await,
        before,
        "no activity or message for a refused move"
    );
    let c = org.admin.get(&conv_path).await;
    assert_eq!(c["status"], "resolved");
    assert_eq!(c["close_comment"], "done");
    assert_eq!(c["closed_at"], closed_at);
    assert_eq!(c["priority"], "normal");
    assert!(org.callback.received().is_empty(), "nothing was sent to the customer");
}

#[tokio::test]
async fn a_bad_or_missing_hook_signature_is_401_and_stores_nothing() {
    let app = TestApp::spawn().await;
    let org = Org::create(&app).await;
    let raw = serde_json::to_vec(&hook_message("m-1", "hello")).unwrap();

    let wrong = [
        switchboard_channels::api::sign("another secret", &raw),
        switchboard_channels::api::sign(&org.secret, b"some other body"),
        format!("sha256={}", "0".repeat(64)),
        "sha256=".to_owned(),
        "not a signature".to_owned(),
        // The right digest without its scheme prefix.
        switchboard_channels::api::sign(&org.secret, &raw)
            .trim_start_matches("sha256=")
            .to_owned(),
    ];
    for signature in &wrong {
        let r = post_hook_raw(&app, &org.channel, Some(signature), "application/json", raw.clone()).await;
        assert_error(&r, 401, "bad_signature");
    }
    let r = post_hook_raw(&app, &org.channel, None, "application/json", raw.clone()).await;
    assert_error(&r, 401, "missing_signature");
    // A signed body that was changed on the way.
    let mut tampered = raw.clone();
    let at = tampered.iter().position(|b| *b == b'h').unwrap();
    tampered[at] = b'H';
    let signature = switchboard_channels::api::sign(&org.secret, &raw);
    let r = post_hook_raw(&app, &org.channel, Some(&signature), "application/json", tampered).await;
    assert_error(&r, 401, "bad_signature");
    assert_serving(&app).await;
    assert_nothing_ingested(&app, &org).await;

    // A rotated secret: the old one no longer signs.
    let rotated = org
        .admin
        .patch(
            &org.path(&format!("/channels/{}", org.channel)),
            json!({"rotate_secret": true}),
        )
        .await;
    assert_eq!(rotated.status, 200, "{:?}", rotated.body);
    let new_secret = rotated["secret"].as_str().expect("new secret").to_owned();
    assert_error(
        &post_hook(&app, &org.channel, &org.secret, &hook_message("m-1", "hello")).await,
        401,
        "bad_signature",
    );
    assert_nothing_ingested(&app, &org).await;

    // The same request, correctly signed, is stored.
    let r = post_hook(&app, &org.channel, &new_secret, &hook_message("m-1", "hello")).await;
    assert_eq!(r.status, 200, "{:?}", r.body);
    assert_eq!(stored_contacts(&app, &org).await, 1);
    assert_eq!(conversation_ids(&org).await.len(), 1);
}

#[tokio::test]
async fn unknown_routes_and_wrong_methods() {
    let app = TestApp::spawn().await;
    let org = Org::create(&app).await;

    for path in [
        "/api/v1/nope".to_owned(),
        "/api/v2/me".to_owned(),
        org.path("/nope"),
        org.path("/teams/a/b/c/d"),
    ] {
        let r = org.admin.get(&path).await;
        assert_error(&r, 404, "not_found");
        assert!(
            r.header("content-type")
                .is_some_and(|c| c.starts_with("application/json")),
            "{path}: {:?}",
            r.headers
        );
    }
    // Anonymous callers get the same answer.
    let r = ApiClient::anonymous(&app).get("/api/v1/nope").await;
    assert_error(&r, 404, "not_found");

    let cases = [
        (Method::DELETE, "/api/v1/me".to_owned()),
        (Method::GET, "/api/v1/auth/login".to_owned()),
        (Method::PUT, org.path("/teams")),
        (Method::POST, org.path(&format!("/teams/{}", org.team))),
        (Method::GET, format!("/hooks/api/{}", org.channel)),
        (Method::POST, "/healthz".to_owned()),
    ];
    for (method, path) in cases {
        let r = org.admin.send(method.clone(), &path, None).await;
        assert_error(&r, 405, "method_not_allowed");
        assert!(
            r.header("content-type")
                .is_some_and(|c| c.starts_with("application/json")),
            "{method} {path}: {:?}",
            r.headers
        );
    }
    assert_serving(&app).await;
    assert_eq!(team_names(&org).await, vec!["Support"]);
}

#[tokio::test]
async fn a_supervisor_cannot_reply_to_the_customer() {
    let app = TestApp::spawn().await;
    let org = Org::create(&app).await;
    let sup = invite(
        &org.admin,
        &org.ws,
        json!({"email": "sam@acme.test", "name": "Sam Supervisor", "role": "supervisor", "team_ids": [org.team]}),
        "supervisor password 1",
    )
    .await;
    assert_eq!(
        org.admin.get(&org.path(&format!("/users/{sup}"))).await["role"],
        "supervisor"
    );
    let supervisor = ApiClient::login(&app, "sam@acme.test", "supervisor password 1").await;

    let hook = org.customer_says(&app, "m-1", "customer-1", "hello").await;
    let conv = hook["conversation_id"].as_str().unwrap().to_owned();
    let conv_path = org.path(&format!("/conversations/{conv}"));
    // Coming online takes the waiting chat (routing drains the queue).
    org.set_online(&org.agent, &org.agent_id).await;
    let assigned = org.admin.get(&conv_path).await;
    assert_eq!(assigned.status, 200, "{:?}", assigned.body);

    // The supervisor sees the chat of their team…
    assert_eq!(supervisor.get(&conv_path).await.status, 200);
    let before = message_count(&app, &conv).await;
    // …but does not write to the customer.
    let r = supervisor
        .post(
            &format!("{conv_path}/messages"),
            json!({"kind": "text", "body": "Hello from a supervisor"}),
        )
        .await;
    assert_error(&r, 403, "forbidden");
    assert_eq!(message_count(&app, &conv).await, before, "the reply was not stored");
    assert_serving(&app).await;

    // A comment is theirs to write.
    let comment = supervisor
        .post(
            &format!("{conv_path}/messages"),
            json!({"kind": "comment", "body": "looks fine"}),
        )
        .await;
    assert_eq!(comment.status, 201, "{:?}", comment.body);
    assert_eq!(message_count(&app, &conv).await, before + 1);
    let texts: Vec<Value> = org.admin.get(&format!("{conv_path}/messages")).await["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|m| m["kind"] == "text" && m["direction"] == "out")
        .cloned()
        .collect();
    assert!(texts.is_empty(), "no reply went out: {texts:?}");
    tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    assert!(
        org.callback.received().is_empty(),
        "nothing was delivered to the customer"
    );
}

#[tokio::test]
async fn a_json_array_where_an_object_belongs_is_422() {
    let app = TestApp::spawn().await;
    let org = Org::create(&app).await;
    for body in [json!(["Billing"]), json!("Billing"), json!(42)] {
        let reply = org.admin.post(&org.path("/teams"), body).await;
        assert_error(&reply, 422, "invalid_input");
    }
    assert_eq!(
        team_names(&org).await,
        vec!["Support".to_owned()],
        "no team was created from an array"
    );
}
