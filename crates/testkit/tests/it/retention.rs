//! Retention (DESIGN.md §10): each workspace keeps closed conversations for
//! its retention period (183 days by default, admins change it), and a
//! periodic purge deletes those closed longer ago with their messages,
//! attachments and the stored files nothing else uses, and records what it
//! deleted in the audit log. Time is a manual clock and the test runs the
//! timers itself (`run_due_jobs`), so the purge runs exactly when told.

use std::path::Path;
use std::sync::Arc;

use reqwest::Method;
use serde_json::{Value, json};
use switchboard_service::ManualClock;
use switchboard_testkit::client::{ApiClient, Reply, post_hook};
use switchboard_testkit::fixtures::Org;
use switchboard_testkit::media::png;
use switchboard_testkit::{MONDAY_9AM, TestApp, TestOptions};

const HOUR: i64 = 3_600_000;
const DAY: i64 = 24 * HOUR;

async fn start() -> (TestApp, Arc<ManualClock>) {
    let clock = Arc::new(ManualClock::new(MONDAY_9AM));
    let mut options = TestOptions {
        manual_clock: Some(clock.clone()),
        ..TestOptions::default()
    };
    // The test runs the timers itself, and its sessions outlast the months it skips.
    options.service.run_jobs = false;
    options.service.session_ttl = std::time::Duration::from_secs(365 * 24 * 3600);
    (TestApp::spawn_with(options).await, clock)
}

/// Run every due timer until none is left.
async fn run_timers(app: &TestApp) {
    while app.services.run_due_jobs().await.expect("run jobs") > 0 {}
}

fn ok(r: &Reply) {
    assert!(r.status.is_success(), "{}: {:?}", r.status, r.body);
}

/// A customer writes through an API channel; returns the conversation id.
async fn chat(app: &TestApp, channel: &str, secret: &str, customer: &str) -> String {
    let r = post_hook(
        app,
        channel,
        secret,
        &json!({"message_id": format!("m-{customer}"), "contact": {"id": customer, "name": customer}, "text": "Hello"}),
    )
    .await;
    assert_eq!(r.status, 200, "{:?}", r.body);
    r.body["conversation_id"].as_str().unwrap().to_owned()
}

async fn resolve(client: &ApiClient, base: &str, conversation: &str) {
    let r = client
        .post(
            &format!("{base}/conversations/{conversation}/status"),
            json!({"status": "resolved"}),
        )
        .await;
    ok(&r);
    assert_eq!(r.body["status"], "resolved", "{:?}", r.body);
}

/// Upload an image into a conversation; returns the attachment.
async fn upload(client: &ApiClient, org: &Org, conversation: &str, name: &str, bytes: Vec<u8>) -> Value {
    let r = client
        .send_raw(
            Method::POST,
            &org.path(&format!("/conversations/{conversation}/attachments?filename={name}")),
            Some("image/png"),
            bytes,
        )
        .await;
    assert_eq!(r.status, 201, "{:?}", r.body);
    r.body["attachments"][0].clone()
}

async fn download_status(client: &ApiClient, path: &str) -> u16 {
    let mut req = client.http.get(format!("{}{}", client.base, path));
    if let Some(token) = &client.bearer {
        req = req.bearer_auth(token);
    }
    req.send().await.expect("download").status().as_u16()
}

fn stored(dir: &Path, attachment: &Value) -> bool {
    let key = switchboard_service::storage_key(attachment["sha256"].as_str().unwrap());
    dir.join(key).is_file()
}

/// Where an image attachment's preview is stored (the API does not say).
async fn preview_key(app: &TestApp, attachment: &Value) -> String {
    let ws = attachment["workspace_id"].as_str().unwrap().parse().unwrap();
    let id = attachment["id"].as_str().unwrap().parse().unwrap();
    let record = app.services.store().reader().attachment(ws, id).await.unwrap().unwrap();
    record.preview.expect("an image has a preview").storage_key
}

async fn purge_entries(client: &ApiClient, base: &str) -> Vec<Value> {
    let r = client.get(&format!("{base}/audit-log?action=retention.purged")).await;
    assert_eq!(r.status, 200, "{:?}", r.body);
    r.body["items"].as_array().unwrap().clone()
}

#[tokio::test]
async fn retention_is_a_workspace_setting_that_admins_change() {
    let app = TestApp::spawn().await;
    let org = Org::create(&app).await;
    let settings = org.path("/settings");

    let r = org.admin.get(&settings).await;
    assert_eq!(
        (r.status.as_u16(), &r.body["retention_days"]),
        (200, &json!(183)),
        "{:?}",
        r.body
    );

    let r = org.admin.patch(&settings, json!({"retention_days": 30})).await;
    assert_eq!(
        (r.status.as_u16(), &r.body["retention_days"]),
        (200, &json!(30)),
        "{:?}",
        r.body
    );
    assert_eq!(org.admin.get(&settings).await["retention_days"], 30);

    for bad in [json!(0), json!(5000), json!(-1), json!(1.5), json!("30")] {
        let r = org.admin.patch(&settings, json!({"retention_days": bad})).await;
        assert_eq!(
            (r.status.as_u16(), r.code()),
            (422, "invalid_input"),
            "{bad}: {:?}",
            r.body
        );
        assert_eq!(r.body["error"]["field"], "retention_days", "{bad}: {:?}", r.body);
        assert!(
            r.body["error"]["message"].as_str().unwrap().contains("3650"),
            "{bad}: {:?}",
            r.body
        );
    }
    // A bad value changes nothing else sent with it either.
    let r = org
        .admin
        .patch(&settings, json!({"allow_private_targets": true, "retention_days": 0}))
        .await;
    assert_eq!(r.status, 422, "{:?}", r.body);
    let now = org.admin.get(&settings).await;
    assert_eq!(
        (&now["retention_days"], &now["allow_private_targets"]),
        (&json!(30), &json!(false))
    );

    // Agents can neither read nor change it.
    let r = org.agent.get(&settings).await;
    assert_eq!((r.status.as_u16(), r.code()), (403, "forbidden"), "{:?}", r.body);
    let r = org.agent.patch(&settings, json!({"retention_days": 1})).await;
    assert_eq!((r.status.as_u16(), r.code()), (403, "forbidden"), "{:?}", r.body);
    assert_eq!(org.admin.get(&settings).await["retention_days"], 30);

    // The change is audited with the old and new value; saving the same
    // value again is not a change.
    let r = org.admin.patch(&settings, json!({"retention_days": 30})).await;
    assert_eq!(r.status, 200, "{:?}", r.body);
    let log = org
        .admin
        .get(&org.path("/audit-log?action=workspace.settings_changed"))
        .await;
    assert_eq!(log.status, 200, "{:?}", log.body);
    let changes: Vec<&Value> = log["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["details"].get("retention_days").is_some())
        .collect();
    assert_eq!(changes.len(), 1, "{:?}", log.body);
    assert_eq!(changes[0]["details"], json!({"retention_days": 30, "was": 183}));
    assert_eq!(changes[0]["actor_email"], "ada@acme.test");
}

#[tokio::test]
async fn closed_conversations_past_the_retention_period_are_purged_with_their_files() {
    let (app, clock) = start().await;
    let org = Org::create(&app).await;
    let base = org.path("");
    let files = app.attachments.path().to_path_buf();
    // Chats are assigned to Ana at once; a year of idleness before expiry,
    // so the open chat stays open however far the clock moves.
    org.set_online(&org.agent, &org.agent_id).await;
    let r = org
        .admin
        .patch(
            &org.path("/settings"),
            json!({"retention_days": 30, "routing": {"expiry_minutes": 525_600}}),
        )
        .await;
    ok(&r);

    // Another workspace keeps closed chats for a year.
    let (other, other_ws) = app.other_workspace("olga@other.test").await;
    let other_base = format!("/api/v1/workspaces/{other_ws}");
    ok(&other
        .patch(&format!("{other_base}/settings"), json!({"retention_days": 365}))
        .await);
    let channel = other
        .post(
            &format!("{other_base}/channels"),
            json!({"kind": "api", "name": "Other shop", "callback_url": org.callback.url()}),
        )
        .await;
    assert_eq!(channel.status, 201, "{:?}", channel.body);
    let (other_channel, other_secret) = (
        channel["id"].as_str().unwrap().to_owned(),
        channel["secret"].as_str().unwrap().to_owned(),
    );

    // Day 0: an old chat with two files, one of which a later chat shares;
    // an open chat; the other workspace's chat. All but the open one closed.
    run_timers(&app).await;
    let old = chat(&app, &org.channel, &org.secret, "old").await;
    let only_old = upload(&org.admin, &org, &old, "only-old.png", png(10, 10, 1)).await;
    let shared_in_old = upload(&org.admin, &org, &old, "shared.png", png(12, 12, 2)).await;
    resolve(&org.admin, &base, &old).await;
    let open = chat(&app, &org.channel, &org.secret, "open").await;
    let elsewhere = chat(&app, &other_channel, &other_secret, "elsewhere").await;
    resolve(&other, &other_base, &elsewhere).await;
    let old_messages = app
        .services
        .store()
        .reader()
        .count_messages(old.parse().unwrap())
        .await
        .unwrap();

    // Day 2: a newer chat with the shared file and its own.
    clock.advance(2 * DAY);
    let newer = chat(&app, &org.channel, &org.secret, "newer").await;
    let shared_in_newer = upload(&org.admin, &org, &newer, "shared-again.png", png(12, 12, 2)).await;
    assert_eq!(shared_in_newer["sha256"], shared_in_old["sha256"]);
    let only_newer = upload(&org.admin, &org, &newer, "only-newer.png", png(14, 14, 3)).await;
    resolve(&org.admin, &base, &newer).await;
    // Each image has its preview; the shared file's is shared too.
    let only_old_preview = files.join(preview_key(&app, &only_old).await);
    let shared_preview = files.join(preview_key(&app, &shared_in_old).await);
    assert_eq!(shared_preview, files.join(preview_key(&app, &shared_in_newer).await));
    let only_newer_preview = files.join(preview_key(&app, &only_newer).await);
    for preview in [&only_old_preview, &shared_preview, &only_newer_preview] {
        assert!(preview.is_file(), "{}", preview.display());
    }
    run_timers(&app).await;

    // Nothing is purged before its time.
    clock.advance(27 * DAY);
    run_timers(&app).await;
    assert_eq!(
        org.admin.get(&org.path(&format!("/conversations/{old}"))).await.status,
        200
    );
    assert!(purge_entries(&org.admin, &base).await.is_empty());

    // Day 31 and an hour: the old chat was closed 31 days ago, the newer 29.
    clock.advance(2 * DAY + HOUR);
    run_timers(&app).await;

    let gone = org.admin.get(&org.path(&format!("/conversations/{old}"))).await;
    assert_eq!(
        (gone.status.as_u16(), gone.code()),
        (404, "not_found"),
        "{:?}",
        gone.body
    );
    let r = org
        .admin
        .get(&org.path(&format!("/conversations/{old}/messages")))
        .await;
    assert_eq!(r.status, 404, "{:?}", r.body);
    for att in [&only_old, &shared_in_old] {
        assert_eq!(
            download_status(&org.admin, att["url"].as_str().unwrap()).await,
            404,
            "{att}"
        );
    }
    assert!(
        !stored(&files, &only_old),
        "a file only the purged chat used is deleted"
    );
    assert!(!only_old_preview.exists(), "with its preview");
    assert!(stored(&files, &shared_in_old), "a file a kept chat still uses stays");
    assert!(shared_preview.is_file(), "and so does its preview");
    assert_eq!(
        download_status(&org.admin, shared_in_newer["url"].as_str().unwrap()).await,
        200
    );

    let kept = org.admin.get(&org.path(&format!("/conversations/{newer}"))).await;
    assert_eq!((kept.status.as_u16(), &kept["status"]), (200, &json!("resolved")));
    assert!(stored(&files, &only_newer) && only_newer_preview.is_file());
    let still_open = org.admin.get(&org.path(&format!("/conversations/{open}"))).await;
    assert_eq!(
        (still_open.status.as_u16(), &still_open["status"]),
        (200, &json!("assigned")),
        "{:?}",
        still_open.body
    );
    let theirs = other.get(&format!("{other_base}/conversations/{elsewhere}")).await;
    assert_eq!((theirs.status.as_u16(), &theirs["status"]), (200, &json!("resolved")));

    // One audit entry, by the system, with what was deleted.
    let entries = purge_entries(&org.admin, &base).await;
    assert_eq!(entries.len(), 1, "{entries:?}");
    let entry = &entries[0];
    assert_eq!(entry["actor_id"], Value::Null);
    assert_eq!(
        (&entry["target_kind"], &entry["target_id"]),
        (&json!("workspace"), &json!(org.ws))
    );
    let details = &entry["details"];
    assert_eq!(details["conversations"], 1, "{details}");
    assert_eq!(details["messages"], old_messages, "{details}");
    assert_eq!(details["attachments"], 2, "{details}");
    assert_eq!(details["files"], 2, "the file and its preview: {details}");
    assert_eq!(details["retention_days"], 30, "{details}");
    assert!(purge_entries(&other, &other_base).await.is_empty());

    // The next run finds nothing and records nothing; the newer chat goes
    // once it too is past 30 days.
    clock.advance(HOUR);
    run_timers(&app).await;
    assert_eq!(purge_entries(&org.admin, &base).await.len(), 1);
    clock.advance(2 * DAY);
    run_timers(&app).await;
    assert_eq!(
        org.admin
            .get(&org.path(&format!("/conversations/{newer}")))
            .await
            .status,
        404
    );
    assert!(
        !stored(&files, &shared_in_old) && !shared_preview.exists(),
        "the last user of the shared file is gone"
    );
    assert!(!stored(&files, &only_newer) && !only_newer_preview.exists());
    let entries = purge_entries(&org.admin, &base).await;
    assert_eq!(entries.len(), 2, "{entries:?}");
    assert_eq!(
        entries[0]["details"]["files"], 4,
        "two files, two previews: {entries:?}"
    );
    assert_eq!(
        org.admin.get(&org.path(&format!("/conversations/{open}"))).await.status,
        200
    );
    assert_eq!(
        other
            .get(&format!("{other_base}/conversations/{elsewhere}"))
            .await
            .status,
        200
    );
}

/// Files uploaded for quick replies that no quick reply carries are
/// removed once they are a day old; a carried one, or a fresh one, stays.
#[tokio::test]
async fn library_files_no_quick_reply_carries_are_removed_after_a_day() {
    let (app, clock) = start().await;
    let org = Org::create(&app).await;
    let library = |client: &ApiClient, name: &str, seed: usize| {
        let path = org.path(&format!("/attachments?filename={name}"));
        let client = client.clone();
        async move {
            let r = client
                .send_raw(Method::POST, &path, Some("image/png"), png(6, 6, seed))
                .await;
            assert_eq!(r.status, 201, "{:?}", r.body);
            r.body
        }
    };
    let unused = library(&org.admin, "abandoned.png", 1).await;
    let carried = library(&org.admin, "price-list.png", 2).await;
    // Two files with the same pixels (they differ in a chunk decoders
    // skip): two stored files, one preview.
    assert_ne!(unused["sha256"], carried["sha256"]);
    let preview = preview_key(&app, &unused).await;
    assert_eq!(preview, preview_key(&app, &carried).await);
    let r = org
        .admin
        .post(
            &org.path("/quick-replies"),
            json!({"scope": "workspace", "shortcut": "prices", "text": "Prices:", "attachment_id": carried["id"]}),
        )
        .await;
    assert_eq!(r.status, 201, "{:?}", r.body);
    let url = |a: &Value| a["url"].as_str().unwrap().to_owned();

    // Within the day both stay (a quick reply may still be on its way).
    clock.advance(12 * HOUR);
    run_timers(&app).await;
    assert_eq!(download_status(&org.admin, &url(&unused)).await, 200);

    clock.advance(13 * HOUR);
    run_timers(&app).await;
    assert_eq!(download_status(&org.admin, &url(&unused)).await, 404);
    assert!(!stored(app.attachments.path(), &unused));
    assert!(
        app.attachments.path().join(&preview).is_file(),
        "the preview stays while the carried file uses it"
    );
    assert_eq!(download_status(&org.admin, &url(&carried)).await, 200);
    let r = org
        .admin
        .get(&org.path("/audit-log?action=retention.library_files_removed"))
        .await;
    assert_eq!(r["items"].as_array().unwrap().len(), 1, "{:?}", r.body);
    assert_eq!(r["items"][0]["details"]["library_files"], 1);
}
