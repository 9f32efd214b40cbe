//! The same hook request delivered several times, one after another or all
//! at once, stores exactly one message.

use serde_json::json;
use switchboard_core::{ConversationId, WorkspaceId};
use switchboard_testkit::TestApp;
use switchboard_testkit::client::post_hook;
use switchboard_testkit::fixtures::Org;

async fn count_texts(app: &TestApp, org: &Org, conversation: &str) -> usize {
    let ws: WorkspaceId = org.ws.parse().unwrap();
    let conv: ConversationId = conversation.parse().unwrap();
    let page = app
        .services
        .store()
        .reader()
        .messages(conv, None, 200, false)
        .await
        .unwrap();
    assert!(page.items.iter().all(|m| m.workspace_id == ws));
    page.items
        .iter()
        .filter(|m| m.kind == switchboard_core::MessageKind::Text)
        .count()
}

#[tokio::test]
async fn five_deliveries_in_a_row_make_one_message() {
    let app = TestApp::spawn().await;
    let org = Org::create(&app).await;
    let body = json!({"message_id": "dup-1", "contact": {"id": "c-1"}, "text": "once"});
    let mut answers = Vec::new();
    for _ in 0..5 {
        let reply = post_hook(&app, &org.channel, &org.secret, &body).await;
        assert_eq!(reply.status, 200, "{:?}", reply.body);
        answers.push(reply.body);
    }
    assert_eq!(answers[0]["duplicate"], false);
    assert!(answers[1..].iter().all(|a| a["duplicate"] == true));
    assert!(answers.iter().all(|a| a["message_id"] == answers[0]["message_id"]));
    assert_eq!(
        count_texts(&app, &org, answers[0]["conversation_id"].as_str().unwrap()).await,
        1
    );
}

#[tokio::test]
async fn five_deliveries_at_once_make_one_message() {
    let app = TestApp::spawn().await;
    let org = Org::create(&app).await;
    for round in 0..3 {
        let body = json!({"message_id": format!("burst-{round}"), "contact": {"id": "c-2"}, "text": "at once"});
        let replies =
            futures::future::join_all((0..5).map(|_| post_hook(&app, &org.channel, &org.secret, &body))).await;
        assert!(
            replies.iter().all(|r| r.status == 200),
            "{:?}",
            replies.iter().map(|r| &r.body).collect::<Vec<_>>()
        );
        let fresh = replies.iter().filter(|r| r["duplicate"] == false).count();
        assert_eq!(fresh, 1, "exactly one delivery stores the message");
        let ids: std::collections::HashSet<String> = replies.iter().map(|r| r["message_id"].to_string()).collect();
        assert_eq!(ids.len(), 1);
    }
    // Three distinct messages from one customer land in one conversation.
    let conv = post_hook(
        &app,
        &org.channel,
        &org.secret,
        &json!({"message_id": "burst-0", "contact": {"id": "c-2"}, "text": "at once"}),
    )
    .await;
    assert_eq!(
        count_texts(&app, &org, conv["conversation_id"].as_str().unwrap()).await,
        3
    );
}

#[tokio::test]
async fn the_same_message_id_on_another_channel_is_another_message() {
    let app = TestApp::spawn().await;
    let org = Org::create(&app).await;
    let other = org
        .admin
        .post(&org.path("/channels"), json!({"kind": "api", "name": "Second"}))
        .await;
    let body = json!({"message_id": "same-id", "contact": {"id": "c-3"}, "text": "hi"});
    let a = post_hook(&app, &org.channel, &org.secret, &body).await;
    let b = post_hook(
        &app,
        other["id"].as_str().unwrap(),
        other["secret"].as_str().unwrap(),
        &body,
    )
    .await;
    assert_eq!(
        (a["duplicate"].clone(), b["duplicate"].clone()),
        (json!(false), json!(false))
    );
    assert_ne!(a["message_id"], b["message_id"]);
}
