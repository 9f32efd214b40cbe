//! Agent replies on API channels: delivered by the job table with retries
//! and backoff, given up after a permanent failure, refused for private
//! targets unless allowed, and advanced by the receiver's status reports.

use std::time::Duration;

use reqwest::StatusCode;
use serde_json::json;
use switchboard_testkit::client::post_hook;
use switchboard_testkit::fixtures::Org;
use switchboard_testkit::{TestApp, TestOptions, eventually};

async fn assigned_conversation(app: &TestApp, org: &Org) -> String {
    let hook = org.customer_says(app, "in-1", "cust-1", "hello").await;
    let conv = hook["conversation_id"].as_str().unwrap().to_owned();
    // Coming online takes the waiting chat (routing drains the queue).
    org.set_online(&org.agent, &org.agent_id).await;
    let r = org.admin.get(&org.path(&format!("/conversations/{conv}"))).await;
    assert_eq!(r["assignee_id"], org.agent_id.as_str(), "{:?}", r.body);
    conv
}

async fn reply(org: &Org, conv: &str, text: &str) -> String {
    let r = org
        .agent
        .post(
            &org.path(&format!("/conversations/{conv}/messages")),
            json!({"kind": "text", "body": text}),
        )
        .await;
    assert_eq!(r.status, 201, "{:?}", r.body);
    r["id"].as_str().unwrap().to_owned()
}

async fn delivery_of(org: &Org, conv: &str, message: &str) -> (String, Option<String>) {
    let page = org
        .agent
        .get(&org.path(&format!("/conversations/{conv}/messages")))
        .await;
    let m = page["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["id"] == message)
        .unwrap()
        .clone();
    (
        m["delivery_status"].as_str().unwrap_or("").to_owned(),
        m["delivery_error"].as_str().map(str::to_owned),
    )
}

#[tokio::test]
async fn a_receiver_that_fails_three_times_gets_the_message_once_it_recovers() {
    let app = TestApp::spawn().await;
    let org = Org::create(&app).await;
    org.callback.fail_first(3);
    let conv = assigned_conversation(&app, &org).await;
    let message = reply(&org, &conv, "retry me").await;
    eventually(Duration::from_secs(15), || async {
        (delivery_of(&org, &conv, &message).await.0 == "sent").then_some(())
    })
    .await;
    let calls = org.callback.received();
    assert_eq!(calls.len(), 4, "three failures and one success");
    // Every attempt carries the same delivery id, so the receiver can deduplicate.
    let delivery = calls[0].header("x-switchboard-delivery").unwrap().to_owned();
    assert!(
        calls
            .iter()
            .all(|c| c.header("x-switchboard-delivery") == Some(delivery.as_str()))
    );
    assert!(calls.iter().all(|c| c.json()["text"] == "retry me"));
    // Nothing more arrives later.
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(org.callback.received().len(), 4);
}

#[tokio::test]
async fn a_permanent_refusal_marks_the_message_failed_with_the_reason() {
    let app = TestApp::spawn().await;
    let org = Org::create(&app).await;
    org.callback.always(StatusCode::BAD_REQUEST);
    let conv = assigned_conversation(&app, &org).await;
    let message = reply(&org, &conv, "nope").await;
    let (status, error) = eventually(Duration::from_secs(10), || async {
        let d = delivery_of(&org, &conv, &message).await;
        (d.0 == "failed").then_some(d)
    })
    .await;
    assert_eq!(status, "failed");
    assert!(error.unwrap().contains("400"));
    assert_eq!(org.callback.received().len(), 1, "a 4xx is not retried");
    assert_eq!(
        app.services
            .store()
            .reader()
            .count_jobs(switchboard_store::JobState::Dead)
            .await
            .unwrap(),
        1
    );
}

#[tokio::test]
async fn a_receiver_that_never_recovers_is_given_up_after_the_last_attempt() {
    let mut options = TestOptions::default();
    options.service.delivery_max_attempts = 3;
    let app = TestApp::spawn_with(options).await;
    let org = Org::create(&app).await;
    org.callback.fail_first(usize::MAX);
    let conv = assigned_conversation(&app, &org).await;
    let message = reply(&org, &conv, "lost").await;
    eventually(Duration::from_secs(15), || async {
        (delivery_of(&org, &conv, &message).await.0 == "failed").then_some(())
    })
    .await;
    assert_eq!(org.callback.received().len(), 3);
    assert_eq!(
        app.services
            .store()
            .reader()
            .count_jobs(switchboard_store::JobState::Dead)
            .await
            .unwrap(),
        1
    );
}

#[tokio::test]
async fn callbacks_to_private_addresses_are_refused_by_default() {
    let options = TestOptions {
        allow_private_targets: false,
        ..TestOptions::default()
    };
    let app = TestApp::spawn_with(options).await;
    let org = Org::create(&app).await;
    let conv = assigned_conversation(&app, &org).await;
    let message = reply(&org, &conv, "to loopback").await;
    let (_, error) = eventually(Duration::from_secs(10), || async {
        let d = delivery_of(&org, &conv, &message).await;
        (d.0 == "failed").then_some(d)
    })
    .await;
    assert!(error.unwrap().contains("private"), "the reason names the rule");
    assert!(
        org.callback.received().is_empty(),
        "nothing reached the loopback receiver"
    );
}

#[tokio::test]
async fn status_reports_move_delivery_forward_only() {
    let app = TestApp::spawn().await;
    let org = Org::create(&app).await;
    let conv = assigned_conversation(&app, &org).await;
    let message = reply(&org, &conv, "track me").await;
    eventually(Duration::from_secs(10), || async {
        (delivery_of(&org, &conv, &message).await.0 == "sent").then_some(())
    })
    .await;
    // The receiver named the message "remote-1" in its answer.
    let read = post_hook(
        &app,
        &org.channel,
        &org.secret,
        &json!({"type": "status", "message_id": "remote-1", "status": "read"}),
    )
    .await;
    assert_eq!(read.status, 200, "{:?}", read.body);
    assert_eq!(read["applied"], true);
    assert_eq!(delivery_of(&org, &conv, &message).await.0, "read");
    let late = post_hook(
        &app,
        &org.channel,
        &org.secret,
        &json!({"type": "status", "message_id": message, "status": "delivered"}),
    )
    .await;
    assert_eq!(late["applied"], false);
    assert_eq!(delivery_of(&org, &conv, &message).await.0, "read");
    let unknown = post_hook(
        &app,
        &org.channel,
        &org.secret,
        &json!({"type": "status", "message_id": "nope", "status": "read"}),
    )
    .await;
    assert_eq!(unknown.status, 404);
}

#[tokio::test]
async fn callbacks_to_names_that_resolve_privately_fail_at_once_with_the_reason() {
    let Some(name) = switchboard_testkit::loopback_name().await else {
        eprintln!("no host name resolves to loopback here; skipping");
        return;
    };
    let options = TestOptions {
        allow_private_targets: false,
        ..TestOptions::default()
    };
    let app = TestApp::spawn_with(options).await;
    let org = Org::create(&app).await;
    let url = format!("http://{name}:{}/callback", org.callback.addr.port());
    let r = org
        .admin
        .patch(
            &org.path(&format!("/channels/{}", org.channel)),
            json!({"callback_url": url}),
        )
        .await;
    assert_eq!(r.status, 200, "{:?}", r.body);
    let conv = assigned_conversation(&app, &org).await;
    let message = reply(&org, &conv, "to a private name").await;
    let (_, error) = eventually(Duration::from_secs(10), || async {
        let d = delivery_of(&org, &conv, &message).await;
        (d.0 == "failed").then_some(d)
    })
    .await;
    assert!(error.unwrap().contains("private"), "the reason names the rule");
    assert!(org.callback.received().is_empty());
    assert_eq!(
        app.services
            .store()
            .reader()
            .count_jobs(switchboard_store::JobState::Dead)
            .await
            .unwrap(),
        1,
        "given up at once, not retried"
    );
}

/// A file an agent sends on an API channel reaches the receiver as a signed,
/// expiring link that serves the exact bytes; a forged or stale link does not.
#[tokio::test]
async fn an_agents_file_reaches_the_receiver_as_a_signed_link() {
    let app = TestApp::spawn().await;
    let org = Org::create(&app).await;
    let conv = assigned_conversation(&app, &org).await;
    let image = switchboard_testkit::media::png(12, 9, 4);
    let r = org
        .agent
        .send_raw(
            reqwest::Method::POST,
            &org.path(&format!(
                "/conversations/{conv}/attachments?filename=receipt.png&caption=Your%20receipt"
            )),
            Some("image/png"),
            image.clone(),
        )
        .await;
    assert_eq!(r.status, 201, "{:?}", r.body);
    assert_eq!(r["delivery_status"], "queued", "a file goes through the outbox");
    let message = r["id"].as_str().unwrap().to_owned();
    let call = eventually(Duration::from_secs(10), || async {
        org.callback
            .received()
            .into_iter()
            .find(|c| c.json()["message_id"] == message.as_str())
    })
    .await;
    let body = call.json();
    assert_eq!(body["text"], "Your receipt");
    let file = &body["attachments"][0];
    assert_eq!(
        (file["filename"].clone(), file["mime"].clone()),
        (json!("receipt.png"), json!("image/png"))
    );
    eventually(Duration::from_secs(10), || async {
        (delivery_of(&org, &conv, &message).await.0 == "sent").then_some(())
    })
    .await;

    // The link serves the bytes as a download, without any session.
    let url = file["url"].as_str().unwrap().to_owned();
    assert!(
        url.starts_with(&format!("http://{}/hooks/api/{}/files/", app.addr, org.channel)),
        "{url}"
    );
    let got = reqwest::get(&url).await.unwrap();
    assert_eq!(got.status(), StatusCode::OK);
    assert!(
        got.headers()["content-disposition"]
            .to_str()
            .unwrap()
            .starts_with("attachment")
    );
    assert_eq!(got.bytes().await.unwrap().to_vec(), image);

    // Tampered, expired (even when correctly signed), or on another channel: refused.
    let (base, query) = url.split_once('?').unwrap();
    let expires: i64 = query
        .split('&')
        .find_map(|p| p.strip_prefix("expires="))
        .unwrap()
        .parse()
        .unwrap();
    let forged = format!("{base}?expires={}&signature={}", expires + 1, "0".repeat(64));
    assert_eq!(reqwest::get(&forged).await.unwrap().status(), StatusCode::UNAUTHORIZED);
    let attachment = base.rsplit('/').next().unwrap();
    let past = switchboard_core::Millis(1_000);
    let stale = format!(
        "{base}?expires={}&signature={}",
        past.0,
        switchboard_channels::api::sign_file_link(&org.secret, attachment, past)
    );
    assert_eq!(reqwest::get(&stale).await.unwrap().status(), StatusCode::FORBIDDEN);
    let elsewhere = url.replace(&org.channel, &uuid::Uuid::now_v7().to_string());
    assert_eq!(reqwest::get(&elsewhere).await.unwrap().status(), StatusCode::NOT_FOUND);
}
