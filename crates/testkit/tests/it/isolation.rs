//! Records of another workspace, and conversations of another team, answer
//! 404 on every route. The cases are generated from the API's route table,
//! so a new route is covered the day it is added.

use std::collections::HashMap;

use reqwest::Method;
use serde_json::json;
use switchboard_testkit::client::{ApiClient, post_hook};
use switchboard_testkit::fixtures::{Org, invite};
use switchboard_testkit::{CallbackServer, TestApp};
use switchboard_web::api_routes;

const WS_PREFIX: &str = "/api/v1/workspaces/{workspace_id}";

fn fill(path: &str, ids: &HashMap<&str, String>) -> String {
    let mut out = path.to_owned();
    for segment in path.split('/') {
        if let Some(name) = segment.strip_prefix('{').and_then(|s| s.strip_suffix('}')) {
            let id = ids
                .get(name)
                .unwrap_or_else(|| panic!("no id for path parameter {name:?} in {path}: add one to this test"));
            out = out.replace(segment, id);
        }
    }
    out
}

/// Every record kind of a second workspace, created through its own admin.
async fn other_workspace(app: &TestApp) -> HashMap<&'static str, String> {
    let (admin, ws) = app.other_workspace("olga@other.test").await;
    let base = format!("/api/v1/workspaces/{ws}");
    let team = admin
        .post(&format!("{base}/teams"), json!({"name": "Their team"}))
        .await;
    let user_id = invite(
        &admin,
        &ws.to_string(),
        json!({"email": "theo@other.test", "name": "Theo", "role": "agent"}),
        "their password 1",
    )
    .await;
    let invitation = admin
        .post(
            &format!("{base}/users"),
            json!({"email": "tess@other.test", "name": "Tess", "role": "agent"}),
        )
        .await;
    assert_eq!(invitation.status, 202, "{:?}", invitation.body);
    let channel = admin
        .post(
            &format!("{base}/channels"),
            json!({"kind": "api", "name": "Their channel"}),
        )
        .await;
    let contact = admin
        .post(&format!("{base}/contacts"), json!({"name": "Their customer"}))
        .await;
    let tag = admin.post(&format!("{base}/tags"), json!({"name": "theirs"})).await;
    // Disabled, so nothing is sent to it while the test runs.
    let webhook = admin
        .post(
            &format!("{base}/webhooks"),
            json!({"url": "https://example.com/hook", "events": ["*"], "enabled": false}),
        )
        .await;
    let token = admin
        .post(&format!("{base}/api-tokens"), json!({"name": "theirs"}))
        .await;
    let template = admin
        .post(
            &format!("{base}/templates"),
            json!({"name": "their_template", "language": "en", "category": "utility", "body": "Hi {{1}}"}),
        )
        .await;
    let hook = post_hook(
        app,
        channel["id"].as_str().unwrap(),
        channel["secret"].as_str().unwrap(),
        &json!({"message_id": "x-1", "contact": {"id": "their-customer"}, "text": "hi"}),
    )
    .await;
    for r in [&team, &channel, &contact, &tag, &token, &webhook, &template] {
        assert_eq!(r.status, 201, "{:?}", r.body);
    }
    assert_eq!(hook.status, 200);
    // An image in their conversation (so it has a preview too).
    let attachment = admin
        .send_raw(
            Method::POST,
            &format!(
                "{base}/conversations/{}/attachments?filename=theirs.png",
                hook["conversation_id"].as_str().unwrap()
            ),
            Some("image/png"),
            switchboard_testkit::media::png(8, 8, 0),
        )
        .await;
    assert_eq!(attachment.status, 201, "{:?}", attachment.body);
    assert!(attachment["attachments"][0]["preview_url"].is_string());
    // A workspace-wide quick reply carrying that file.
    let quick_reply = admin
        .post(
            &format!("{base}/quick-replies"),
            json!({"scope": "workspace", "shortcut": "theirs", "text": "their answer", "attachment_id": attachment["attachments"][0]["id"]}),
        )
        .await;
    assert_eq!(quick_reply.status, 201, "{:?}", quick_reply.body);
    // A campaign to their customer (found by their identity).
    let campaign = admin
        .post(
            &format!("{base}/campaigns"),
            json!({"name": "Theirs", "channel_id": channel["id"], "template_id": template["id"], "search": "their-customer",
                   "values": {"body": [{"from": "text", "text": "there"}]}}),
        )
        .await;
    assert_eq!(campaign.status, 201, "{:?}", campaign.body);
    // A saved filter of their admin.
    let saved = admin
        .post(
            &format!("{base}/saved-filters"),
            json!({"name": "Theirs", "query": "q=x"}),
        )
        .await;
    assert_eq!(saved.status, 201, "{:?}", saved.body);
    HashMap::from([
        // A month they might have archived: their workspace is out of reach whatever the month.
        ("month", "2026-01".to_owned()),
        ("saved_filter_id", saved["id"].as_str().unwrap().to_owned()),
        ("campaign_id", campaign["id"].as_str().unwrap().to_owned()),
        ("workspace_id", ws.to_string()),
        ("team_id", team["id"].as_str().unwrap().to_owned()),
        ("user_id", user_id),
        ("invitation_id", invitation["id"].as_str().unwrap().to_owned()),
        ("channel_id", channel["id"].as_str().unwrap().to_owned()),
        ("contact_id", contact["id"].as_str().unwrap().to_owned()),
        ("tag_id", tag["id"].as_str().unwrap().to_owned()),
        ("token_id", token["id"].as_str().unwrap().to_owned()),
        ("conversation_id", hook["conversation_id"].as_str().unwrap().to_owned()),
        ("message_id", hook["message_id"].as_str().unwrap().to_owned()),
        (
            "attachment_id",
            attachment["attachments"][0]["id"].as_str().unwrap().to_owned(),
        ),
        ("webhook_id", webhook["id"].as_str().unwrap().to_owned()),
        ("template_id", template["id"].as_str().unwrap().to_owned()),
        ("quick_reply_id", quick_reply["id"].as_str().unwrap().to_owned()),
    ])
}

async fn call(
    client: &ApiClient,
    method: &Method,
    path: &str,
    example: Option<&serde_json::Value>,
) -> switchboard_testkit::client::Reply {
    client.send(method.clone(), path, example.cloned()).await
}

#[tokio::test]
async fn other_workspaces_records_are_not_found_on_every_route() {
    let app = TestApp::spawn().await;
    let org = Org::create(&app).await;
    let theirs = other_workspace(&app).await;
    let mut ours_with_their_ids = theirs.clone();
    ours_with_their_ids.insert("workspace_id", org.ws.clone());

    let mut checked = 0;
    for route in api_routes().iter().filter(|r| r.path.starts_with(WS_PREFIX)) {
        // Their workspace in the path: the workspace itself is not found.
        let path = fill(route.path, &theirs);
        let reply = call(&org.admin, &route.method, &path, route.example.as_ref()).await;
        assert_eq!(
            (reply.status.as_u16(), reply.code()),
            (404, "not_found"),
            "{} {path}: {:?}",
            route.method,
            reply.body
        );

        // Our workspace, their record ids: the record is not found.
        if route.path.trim_start_matches(WS_PREFIX).contains('{') {
            let path = fill(route.path, &ours_with_their_ids);
            let reply = call(&org.admin, &route.method, &path, route.example.as_ref()).await;
            assert_eq!(
                (reply.status.as_u16(), reply.code()),
                (404, "not_found"),
                "{} {path}: {:?}",
                route.method,
                reply.body
            );
        }
        checked += 1;
    }
    assert!(checked >= 30, "only {checked} workspace routes checked");

    // Nothing of theirs leaks into our lists either.
    for list in [
        "/users",
        "/teams",
        "/channels",
        "/contacts",
        "/tags",
        "/api-tokens",
        "/conversations",
        "/webhooks",
        "/templates",
        "/audit-log",
        "/quick-replies",
    ] {
        let reply = org.admin.get(&org.path(list)).await;
        assert_eq!(reply.status, 200);
        let text = reply.body.to_string();
        for (kind, id) in &theirs {
            assert!(!text.contains(id.as_str()), "{list} leaks their {kind}");
        }
    }
}

#[tokio::test]
async fn another_teams_conversations_are_not_found_for_an_agent() {
    let app = TestApp::spawn().await;
    let org = Org::create(&app).await;
    // A second team with its own channel and a conversation routed to it.
    let sales = org.admin.post(&org.path("/teams"), json!({"name": "Sales"})).await;
    let sales_id = sales["id"].as_str().unwrap().to_owned();
    let callback = CallbackServer::start().await;
    let channel = org
        .admin
        .post(
            &org.path("/channels"),
            json!({"kind": "api", "name": "Sales line", "default_team_id": sales_id, "callback_url": callback.url()}),
        )
        .await;
    let hook = post_hook(
        &app,
        channel["id"].as_str().unwrap(),
        channel["secret"].as_str().unwrap(),
        &json!({"message_id": "s-1", "contact": {"id": "lead-1"}, "text": "price?"}),
    )
    .await;
    let sales_conversation = hook["conversation_id"].as_str().unwrap().to_owned();
    // And one in the agent's own team, which they can reach.
    let own = org.customer_says(&app, "own-1", "cust-1", "hello").await;
    let own_conversation = own["conversation_id"].as_str().unwrap().to_owned();

    // A quick reply the agent may use: only the conversation is out of reach.
    let quick_reply = org
        .admin
        .post(
            &org.path("/quick-replies"),
            json!({"scope": "workspace", "shortcut": "hi", "text": "Hello!"}),
        )
        .await;
    let mut ids: HashMap<&str, String> = HashMap::from([
        ("workspace_id", org.ws.clone()),
        ("conversation_id", sales_conversation.clone()),
        ("message_id", hook["message_id"].as_str().unwrap().to_owned()),
        ("quick_reply_id", quick_reply["id"].as_str().unwrap().to_owned()),
    ]);
    let mut checked = 0;
    for route in api_routes()
        .iter()
        .filter(|r| r.path.starts_with(WS_PREFIX) && r.path.contains("{conversation_id}"))
    {
        let path = fill(route.path, &ids);
        let reply = call(&org.agent, &route.method, &path, route.example.as_ref()).await;
        assert_eq!(
            (reply.status.as_u16(), reply.code()),
            (404, "not_found"),
            "{} {path}: {:?}",
            route.method,
            reply.body
        );
        checked += 1;
    }
    assert!(checked >= 7, "only {checked} conversation routes checked");

    // The same reads on their own team's conversation succeed.
    ids.insert("conversation_id", own_conversation.clone());
    assert_eq!(
        org.agent
            .get(&fill(&format!("{WS_PREFIX}/conversations/{{conversation_id}}"), &ids))
            .await
            .status,
        200
    );
    assert_eq!(
        org.agent
            .get(&fill(
                &format!("{WS_PREFIX}/conversations/{{conversation_id}}/messages"),
                &ids
            ))
            .await
            .status,
        200
    );

    // The list shows their team's conversation and not the other team's.
    let list = org.agent.get(&org.path("/conversations")).await.body.to_string();
    assert!(list.contains(&own_conversation) && !list.contains(&sales_conversation));
    // The admin sees both.
    let list = org.admin.get(&org.path("/conversations")).await.body.to_string();
    assert!(list.contains(&own_conversation) && list.contains(&sales_conversation));
}

/// A widget visitor's token opens only that visitor's conversations and
/// files: every visitor route with a record id is checked with another
/// visitor's ids.
#[tokio::test]
async fn another_visitors_records_are_not_found_on_every_visitor_route() {
    let app = TestApp::spawn().await;
    let org = Org::create(&app).await;
    let channel = org
        .admin
        .post(&org.path("/channels"), json!({"kind": "web", "name": "Site"}))
        .await;
    let channel_id = channel["id"].as_str().unwrap().to_owned();
    let http = reqwest::Client::new();
    let session = |_: ()| {
        let http = http.clone();
        let url = app.url("/widget/v1/session");
        let body = json!({"channel_id": channel_id});
        async move {
            http.post(url)
                .json(&body)
                .send()
                .await
                .unwrap()
                .json::<serde_json::Value>()
                .await
                .unwrap()["token"]
                .as_str()
                .unwrap()
                .to_owned()
        }
    };
    let alice = session(()).await;
    let bob = session(()).await;
    let sent = http
        .post(app.url("/widget/v1/messages"))
        .bearer_auth(&alice)
        .json(&json!({"text": "alice here", "client_id": "a1"}))
        .send()
        .await
        .unwrap()
        .json::<serde_json::Value>()
        .await
        .unwrap();
    let alice_conversation = sent["conversation_id"].as_str().unwrap().to_owned();
    let file = http
        .post(app.url(&format!(
            "/widget/v1/conversations/{alice_conversation}/attachments?filename=a.png"
        )))
        .bearer_auth(&alice)
        .body(switchboard_testkit::media::png(2, 2, 0))
        .send()
        .await
        .unwrap()
        .json::<serde_json::Value>()
        .await
        .unwrap();
    assert!(file["attachments"][0]["preview_url"].is_string(), "{file}");
    let ids: HashMap<&str, String> = HashMap::from([
        ("conversation_id", alice_conversation.clone()),
        (
            "attachment_id",
            file["attachments"][0]["id"].as_str().unwrap().to_owned(),
        ),
    ]);
    let bob_client = ApiClient::with_token(&app, &bob);
    let mut checked = 0;
    for route in api_routes()
        .iter()
        .filter(|r| r.auth == switchboard_web::RouteAuth::Visitor && r.path.contains('{'))
    {
        let path = fill(route.path, &ids);
        let reply = call(&bob_client, &route.method, &path, route.example.as_ref()).await;
        assert_eq!(
            (reply.status.as_u16(), reply.code()),
            (404, "not_found"),
            "{} {path}: {:?}",
            route.method,
            reply.body
        );
        // Alice reaches her own.
        let alice_client = ApiClient::with_token(&app, &alice);
        if route.method == reqwest::Method::GET {
            assert_eq!(
                call(&alice_client, &route.method, &path, None).await.status,
                200,
                "{path}"
            );
        }
        checked += 1;
    }
    assert!(checked >= 4, "only {checked} visitor routes checked");
}
