//! Webhooks keep their channel in memory between requests; every change
//! made through the API applies to the very next webhook.

use serde_json::json;
use switchboard_core::{ConversationId, WorkspaceId};
use switchboard_testkit::TestApp;
use switchboard_testkit::client::post_hook;
use switchboard_testkit::fixtures::Org;

fn hello(id: &str, customer: &str) -> serde_json::Value {
    json!({"message_id": id, "contact": {"id": customer}, "text": "hello"})
}

async fn team_of(app: &TestApp, org: &Org, conversation: &serde_json::Value) -> Option<String> {
    let ws: WorkspaceId = org.ws.parse().unwrap();
    let id: ConversationId = conversation.as_str().unwrap().parse().unwrap();
    let c = app
        .services
        .store()
        .reader()
        .conversation(ws, id)
        .await
        .unwrap()
        .expect("conversation");
    c.team_id.map(|t| t.to_string())
}

#[tokio::test]
async fn a_rotated_secret_applies_to_the_next_webhook() {
    let app = TestApp::spawn().await;
    let org = Org::create(&app).await;
    let first = post_hook(&app, &org.channel, &org.secret, &hello("r-1", "c-1")).await;
    assert_eq!(first.status, 200, "{:?}", first.body);
    let rotated = org
        .admin
        .patch(
            &org.path(&format!("/channels/{}", org.channel)),
            json!({"rotate_secret": true}),
        )
        .await;
    assert_eq!(rotated.status, 200, "{:?}", rotated.body);
    let secret = rotated["secret"].as_str().expect("new secret").to_owned();
    assert_ne!(secret, org.secret);

    let old = post_hook(&app, &org.channel, &org.secret, &hello("r-2", "c-1")).await;
    assert_eq!(old.status, 401, "{:?}", old.body);
    assert_eq!(old.code(), "bad_signature");
    let new = post_hook(&app, &org.channel, &secret, &hello("r-2", "c-1")).await;
    assert_eq!(new.status, 200, "{:?}", new.body);
    assert_eq!(new["duplicate"], false);
}

#[tokio::test]
async fn a_deleted_channel_takes_no_more_webhooks() {
    let app = TestApp::spawn().await;
    let org = Org::create(&app).await;
    let first = post_hook(&app, &org.channel, &org.secret, &hello("d-1", "c-1")).await;
    assert_eq!(first.status, 200, "{:?}", first.body);
    let deleted = org.admin.delete(&org.path(&format!("/channels/{}", org.channel))).await;
    assert!(deleted.status.is_success(), "{:?}", deleted.body);
    let after = post_hook(&app, &org.channel, &org.secret, &hello("d-2", "c-2")).await;
    assert_eq!(after.status, 404, "{:?}", after.body);
}

#[tokio::test]
async fn a_new_default_team_gets_the_next_new_chat() {
    let app = TestApp::spawn().await;
    let org = Org::create(&app).await;
    let first = post_hook(&app, &org.channel, &org.secret, &hello("t-1", "c-1")).await;
    assert_eq!(first.status, 200, "{:?}", first.body);
    assert_eq!(
        team_of(&app, &org, &first["conversation_id"]).await,
        Some(org.team.clone())
    );

    let sales = org.admin.post(&org.path("/teams"), json!({"name": "Sales"})).await;
    assert_eq!(sales.status, 201, "{:?}", sales.body);
    let sales = sales["id"].as_str().unwrap().to_owned();
    let changed = org
        .admin
        .patch(
            &org.path(&format!("/channels/{}", org.channel)),
            json!({"default_team_id": sales}),
        )
        .await;
    assert_eq!(changed.status, 200, "{:?}", changed.body);
    let next = post_hook(&app, &org.channel, &org.secret, &hello("t-2", "c-2")).await;
    assert_eq!(next.status, 200, "{:?}", next.body);
    assert_eq!(team_of(&app, &org, &next["conversation_id"]).await, Some(sales));
}

#[tokio::test]
async fn deleting_the_default_team_leaves_webhooks_working() {
    let app = TestApp::spawn().await;
    let org = Org::create(&app).await;
    let first = post_hook(&app, &org.channel, &org.secret, &hello("x-1", "c-1")).await;
    assert_eq!(first.status, 200, "{:?}", first.body);
    let deleted = org.admin.delete(&org.path(&format!("/teams/{}", org.team))).await;
    assert!(deleted.status.is_success(), "{:?}", deleted.body);
    // The channel no longer has a default team: a new chat waits unrouted.
    let next = post_hook(&app, &org.channel, &org.secret, &hello("x-2", "c-2")).await;
    assert_eq!(next.status, 200, "{:?}", next.body);
    assert_eq!(team_of(&app, &org, &next["conversation_id"]).await, None);
}
