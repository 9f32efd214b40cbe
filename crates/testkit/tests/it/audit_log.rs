//! The audit log through the API: admins read who did what to which record,
//! newest first and page by page; nobody else reads it, and no workspace
//! sees another's entries.

use std::collections::HashSet;

use serde_json::{Value, json};
use switchboard_testkit::TestApp;
use switchboard_testkit::client::ApiClient;
use switchboard_testkit::fixtures::{Org, invite};

async fn entries(client: &ApiClient, path: &str) -> Vec<Value> {
    let r = client.get(path).await;
    assert_eq!(r.status, 200, "{path}: {:?}", r.body);
    r["items"].as_array().unwrap().clone()
}

#[tokio::test]
async fn admins_read_the_audit_log_newest_first_and_others_do_not() {
    let app = TestApp::spawn_with(
        switchboard_testkit::TestOptions::default().with_stand_in(switchboard_core::ChannelKind::Telegram),
    )
    .await;
    let org = Org::create(&app).await;
    let admin_id = org.admin.user_id.clone().unwrap();

    // Agents and supervisors are refused, as for other admin-only records.
    invite(
        &org.admin,
        &org.ws,
        json!({"email": "sam@acme.test", "name": "Sam Supervisor", "role": "supervisor"}),
        "supervisor pw 1",
    )
    .await;
    let supervisor = ApiClient::login(&app, "sam@acme.test", "supervisor pw 1").await;
    for client in [&org.agent, &supervisor] {
        let r = client.get(&org.path("/audit-log")).await;
        assert_eq!((r.status.as_u16(), r.code()), (403, "forbidden"), "{:?}", r.body);
    }

    // A role change and a channel.
    let promoted = org
        .admin
        .patch(
            &org.path(&format!("/users/{}", org.agent_id)),
            json!({"role": "supervisor"}),
        )
        .await;
    assert_eq!(promoted.status, 200, "{:?}", promoted.body);
    let channel = org
        .admin
        .post(
            &org.path("/channels"),
            json!({"kind": "telegram", "name": "Telegram bot"}),
        )
        .await;
    assert_eq!(channel.status, 201, "{:?}", channel.body);
    let channel_id = channel["id"].as_str().unwrap().to_owned();

    let log = entries(&org.admin, &org.path("/audit-log?limit=200")).await;
    let actions: Vec<&str> = log.iter().map(|e| e["action"].as_str().unwrap()).collect();
    assert_eq!(
        actions,
        [
            "channel.created",
            "member.role_changed",
            "member.added",
            "member.invited",
            "channel.created",
            "member.added",
            "member.invited",
            "team.created",
            "workspace.created"
        ],
        "newest first"
    );
    let ids: Vec<&str> = log.iter().map(|e| e["id"].as_str().unwrap()).collect();
    let mut sorted = ids.clone();
    sorted.sort_by(|a, b| b.cmp(a));
    assert_eq!(ids, sorted);

    let newest = &log[0];
    assert_eq!(newest["target_kind"], "channel");
    assert_eq!(newest["target_id"], channel_id.as_str());
    assert_eq!(newest["details"], json!({"kind": "telegram"}));
    assert_eq!(newest["actor_id"], admin_id.as_str());
    assert_eq!(newest["actor_name"], "Ada Admin");
    assert_eq!(newest["actor_email"], "ada@acme.test");
    assert!(newest["created_at"].as_i64().unwrap() > 0);
    let role = &log[1];
    assert_eq!(
        (&role["target_kind"], &role["target_id"], &role["details"]),
        (
            &json!("user"),
            &json!(org.agent_id),
            &json!({"from": "agent", "to": "supervisor"})
        )
    );
    assert_eq!(log[4]["target_id"], org.channel.as_str(), "the fixture's channel");

    // Filtered by action.
    let channels = entries(&org.admin, &org.path("/audit-log?action=channel.created")).await;
    let targets: Vec<&str> = channels.iter().map(|e| e["target_id"].as_str().unwrap()).collect();
    assert_eq!(targets, [channel_id.as_str(), org.channel.as_str()]);
    assert!(
        entries(&org.admin, &org.path("/audit-log?action=workspace.deleted"))
            .await
            .is_empty()
    );

    // Page by page: the same entries, none twice.
    let mut paged = Vec::new();
    let mut cursor: Option<String> = None;
    let mut pages = 0;
    loop {
        let url = match &cursor {
            Some(c) => org.path(&format!("/audit-log?limit=3&cursor={c}")),
            None => org.path("/audit-log?limit=3"),
        };
        let page = org.admin.get(&url).await;
        assert_eq!(page.status, 200, "{:?}", page.body);
        pages += 1;
        paged.extend(
            page["items"]
                .as_array()
                .unwrap()
                .iter()
                .map(|e| e["id"].as_str().unwrap().to_owned()),
        );
        match page["next_cursor"].as_str() {
            Some(c) => cursor = Some(c.to_owned()),
            None => break,
        }
    }
    assert_eq!((paged.len(), pages), (9, 3));
    assert_eq!(paged, ids);

    // Bad filters are named.
    for (query, field) in [
        ("action=Not%20An%20Action", "action"),
        ("limit=0", "limit"),
        // (the id parser's message says what is wrong, not where)
        ("cursor=yesterday", ""),
        ("colour=red", "colour"),
    ] {
        let r = org.admin.get(&org.path(&format!("/audit-log?{query}"))).await;
        assert_eq!(
            (r.status.as_u16(), r.code()),
            (422, "invalid_input"),
            "{query}: {:?}",
            r.body
        );
        assert!(
            r.body["error"]["message"].as_str().unwrap().contains(field),
            "{query}: {:?}",
            r.body
        );
    }
}

#[tokio::test]
async fn another_workspaces_entries_never_appear() {
    let app = TestApp::spawn().await;
    let org = Org::create(&app).await;
    let (their_admin, their_ws) = app.other_workspace("olga@other.test").await;
    let their_base = format!("/api/v1/workspaces/{their_ws}");
    let their_channel = their_admin
        .post(
            &format!("{their_base}/channels"),
            json!({"kind": "api", "name": "Their channel"}),
        )
        .await;
    assert_eq!(their_channel.status, 201, "{:?}", their_channel.body);
    let their_channel = their_channel["id"].as_str().unwrap().to_owned();
    let their_team = their_admin
        .post(&format!("{their_base}/teams"), json!({"name": "Their team"}))
        .await;
    let their_team = their_team["id"].as_str().unwrap().to_owned();

    let ours = entries(&org.admin, &org.path("/audit-log?limit=200")).await;
    let theirs = entries(&their_admin, &format!("{their_base}/audit-log?limit=200")).await;
    let our_ids: HashSet<&str> = ours.iter().map(|e| e["id"].as_str().unwrap()).collect();
    assert!(theirs.iter().all(|e| !our_ids.contains(e["id"].as_str().unwrap())));
    let text = serde_json::to_string(&ours).unwrap();
    for leak in [
        &their_channel,
        &their_team,
        &their_ws.to_string(),
        &"olga@other.test".to_owned(),
    ] {
        assert!(!text.contains(leak.as_str()), "our log shows their {leak}");
    }
    let their_text = serde_json::to_string(&theirs).unwrap();
    assert!(their_text.contains(&their_channel) && !their_text.contains(&org.channel));
    assert_eq!(
        theirs.iter().map(|e| e["action"].as_str().unwrap()).collect::<Vec<_>>(),
        ["team.created", "channel.created", "workspace.created"]
    );
    // Each admin's workspace only: the other's log is not found.
    let r = their_admin.get(&org.path("/audit-log")).await;
    assert_eq!((r.status.as_u16(), r.code()), (404, "not_found"));
    let r = org.admin.get(&format!("{their_base}/audit-log")).await;
    assert_eq!((r.status.as_u16(), r.code()), (404, "not_found"));
}
