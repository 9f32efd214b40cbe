//! The foundation story, end to end over HTTP, on the backend this run
//! targets (SQLite by default; `SWITCHBOARD_TEST_DB=postgres`).

use std::time::Duration;

use serde_json::{Value, json};
use switchboard_testkit::fixtures::Org;
use switchboard_testkit::{TestApp, eventually};

#[tokio::test]
async fn admin_to_archive_story() {
    let app = TestApp::spawn().await;
    // Admin signs in, creates a round-robin team, an agent and an API channel.
    let org = Org::create(&app).await;

    // A customer message arrives at the hook.
    let hook = org
        .customer_says(&app, "shop-msg-1", "customer-42", "My order #1001 has not arrived")
        .await;
    assert_eq!(hook["duplicate"], false);
    let conv_id = hook["conversation_id"].as_str().unwrap().to_owned();
    let conv_path = org.path(&format!("/conversations/{conv_id}"));

    // Nobody is online: the conversation waits in the team's queue as a ticket.
    let conv = org.admin.get(&conv_path).await;
    assert_eq!(conv.status, 200);
    assert_eq!(conv["status"], "queued");
    assert_eq!(conv["team_id"], org.team.as_str());
    assert_eq!(conv["ticket"], true);
    let live = org.agent.get(&org.path("/conversations?section=live")).await;
    assert!(
        live["items"]
            .as_array()
            .unwrap()
            .iter()
            .any(|c| c["id"] == conv_id.as_str()),
        "the agent sees it in Live"
    );

    // The agent comes online and the admin assigns the conversation to them.
    // Coming online takes the waiting chat (routing drains the queue).
    org.set_online(&org.agent, &org.agent_id).await;
    let assigned = org.admin.get(&conv_path).await;
    assert_eq!(assigned.status, 200, "{:?}", assigned.body);
    assert_eq!(assigned["status"], "assigned");
    assert_eq!(assigned["assignee_id"], org.agent_id.as_str());

    // The agent replies; the callback server receives it, signed with the channel secret.
    let reply = org
        .agent
        .post(
            &format!("{conv_path}/messages"),
            json!({"kind": "text", "body": "Sorry! It ships today."}),
        )
        .await;
    assert_eq!(reply.status, 201, "{:?}", reply.body);
    assert_eq!(reply["delivery_status"], "queued");
    let reply_id = reply["id"].as_str().unwrap().to_owned();
    let received = eventually(Duration::from_secs(10), || async {
        let got = org.callback.received();
        (!got.is_empty()).then_some(got)
    })
    .await;
    assert_eq!(received.len(), 1);
    let call = &received[0];
    let expected = switchboard_channels::api::sign(&org.secret, &call.body);
    assert_eq!(
        call.header("x-switchboard-signature"),
        Some(expected.as_str()),
        "signed with the channel secret"
    );
    assert!(switchboard_channels::api::verify(&org.secret, &call.body, call.header("x-switchboard-signature")).is_ok());
    assert_eq!(call.json()["text"], "Sorry! It ships today.");
    assert_eq!(call.json()["contact_id"], "customer-42");
    assert_eq!(call.json()["message_id"], reply_id.as_str());

    // Its delivery status is recorded.
    let messages_path = format!("{conv_path}/messages");
    eventually(Duration::from_secs(10), || async {
        let page = org.agent.get(&messages_path).await;
        let sent = page["items"]
            .as_array()?
            .iter()
            .find(|m| m["id"] == reply_id.as_str())?
            .clone();
        (sent["delivery_status"] == "sent" && sent["provider_message_id"] == "remote-1").then_some(())
    })
    .await;

    // The agent resolves with a comment.
    let resolved = org
        .agent
        .post(
            &format!("{conv_path}/status"),
            json!({"status": "resolved", "comment": "Shipped, tracking sent"}),
        )
        .await;
    assert_eq!(resolved.status, 200, "{:?}", resolved.body);
    assert_eq!(resolved["status"], "resolved");
    assert_eq!(resolved["close_comment"], "Shipped, tracking sent");

    // It is in the archive…
    let archive = org.admin.get(&org.path("/conversations?section=archived")).await;
    assert!(
        archive["items"]
            .as_array()
            .unwrap()
            .iter()
            .any(|c| c["id"] == conv_id.as_str())
    );
    let live = org.admin.get(&org.path("/conversations?section=live")).await;
    assert!(
        !live["items"]
            .as_array()
            .unwrap()
            .iter()
            .any(|c| c["id"] == conv_id.as_str())
    );

    // …with every step in its activity history…
    let history = org.admin.get(&messages_path).await;
    let items = history["items"].as_array().unwrap();
    let activities: Vec<&Value> = items
        .iter()
        .filter(|m| m["kind"] == "activity")
        .map(|m| &m["activity"])
        .collect();
    assert_eq!(activities.len(), 3, "opened, assigned, resolved: {activities:?}");
    assert_eq!(activities[0]["type"], "opened");
    assert_eq!(activities[0]["status"], "queued");
    assert_eq!(activities[0]["ticket"], true);
    assert_eq!(activities[1]["type"], "assigned");
    assert_eq!(activities[1]["to_user"], org.agent_id.as_str());
    assert_eq!(activities[2]["type"], "status_changed");
    assert_eq!(activities[2]["to"], "resolved");
    assert_eq!(activities[2]["comment"], "Shipped, tracking sent");
    let texts: Vec<(&str, &str)> = items
        .iter()
        .filter(|m| m["kind"] == "text")
        .map(|m| (m["direction"].as_str().unwrap(), m["body"].as_str().unwrap()))
        .collect();
    assert_eq!(
        texts,
        vec![
            ("in", "My order #1001 has not arrived"),
            ("out", "Sorry! It ships today.")
        ]
    );

    // …and the timestamps of DESIGN.md §8 set, in order.
    let c = org.admin.get(&conv_path).await;
    let t = |k: &str| c[k].as_i64().unwrap_or_else(|| panic!("{k} is not set: {:?}", c.body));
    assert!(t("created_at") <= t("first_assigned_at"));
    assert_eq!(t("first_assigned_at"), t("assigned_at"));
    assert!(t("assigned_at") <= t("first_reply_at"));
    assert_eq!(t("first_reply_at"), t("first_reply_after_assignment_at"));
    assert!(t("last_customer_message_at") <= t("first_reply_at"));
    assert_eq!(t("last_message_at"), t("first_reply_at"));
    assert!(t("first_reply_at") <= t("closed_at"));
}
