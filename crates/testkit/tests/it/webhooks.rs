//! Outgoing webhooks, end to end against a local receiver: every subscribed
//! event arrives once, signed the Standard Webhooks way (checked here from
//! the specification, not with the server's code); failures are retried
//! with backoff and still arrive once; 4xx answers are not retried; private
//! targets are refused unless the workspace allows them; the test button,
//! the delivery log, secrets and permissions.

use std::collections::{HashMap, HashSet};
use std::time::Duration;

use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;
use hmac::{Hmac, Mac};
use reqwest::StatusCode;
use serde_json::{Value, json};
use sha2::Sha256;
use switchboard_testkit::client::ApiClient;
use switchboard_testkit::fixtures::Org;
use switchboard_testkit::webhook_receiver::Received;
use switchboard_testkit::{TestApp, TestOptions, WebhookReceiver, eventually};

const WAIT: Duration = Duration::from_secs(15);

/// Standard Webhooks verification: the signature header holds
/// space-separated `v1,<base64>` entries; one must be the base64 of
/// HMAC-SHA256 over `{webhook-id}.{webhook-timestamp}.{body}`, keyed with
/// the base64-decoded part of the secret after `whsec_`.
fn verifies(secret: &str, r: &Received) -> bool {
    let (Some(id), Some(timestamp), Some(signatures)) = (
        r.header("webhook-id"),
        r.header("webhook-timestamp"),
        r.header("webhook-signature"),
    ) else {
        return false;
    };
    let Some(key) = secret.strip_prefix("whsec_").and_then(|k| B64.decode(k).ok()) else {
        return false;
    };
    let mut mac = Hmac::<Sha256>::new_from_slice(&key).unwrap();
    mac.update(format!("{id}.{timestamp}.").as_bytes());
    mac.update(&r.body);
    let expected = B64.encode(mac.finalize().into_bytes());
    signatures
        .split(' ')
        .filter_map(|s| s.strip_prefix("v1,"))
        .any(|s| s == expected)
}

/// A fresh, recent `webhook-timestamp` (unix seconds) and JSON content.
fn well_formed(r: &Received) {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64;
    let ts: i64 = r.header("webhook-timestamp").unwrap().parse().unwrap();
    assert!((now - ts).abs() < 300, "timestamp {ts} is seconds, and recent");
    assert_eq!(r.header("content-type"), Some("application/json"));
}

async fn create_hook(org: &Org, url: &str, events: Value) -> (String, String) {
    let r = org
        .admin
        .post(&org.path("/webhooks"), json!({"url": url, "events": events}))
        .await;
    assert_eq!(r.status, 201, "{:?}", r.body);
    let secret = r["secret"].as_str().expect("secret on create").to_owned();
    assert!(secret.starts_with("whsec_"), "{secret}");
    (r["id"].as_str().unwrap().to_owned(), secret)
}

async fn deliveries(org: &Org, hook: &str) -> Vec<Value> {
    let r = org.admin.get(&org.path(&format!("/webhooks/{hook}/deliveries"))).await;
    assert_eq!(r.status, 200, "{:?}", r.body);
    r["items"].as_array().unwrap().clone()
}

/// Wait until the delivery log of `hook` has `n` entries, none pending.
async fn settled(org: &Org, hook: &str, n: usize) -> Vec<Value> {
    eventually(WAIT, || async {
        let items = deliveries(org, hook).await;
        (items.len() == n && items.iter().all(|d| d["status"] != "pending")).then_some(items)
    })
    .await
}

/// A change that publishes `member.updated`.
async fn touch_member(org: &Org, capacity: i64) {
    let r = org
        .admin
        .patch(
            &org.path(&format!("/users/{}", org.agent_id)),
            json!({"capacity": capacity}),
        )
        .await;
    assert_eq!(r.status, 200, "{:?}", r.body);
}

async fn note(org: &Org, conversation: &str, text: &str) {
    let r = org
        .admin
        .post(
            &org.path(&format!("/conversations/{conversation}/messages")),
            json!({"kind": "note", "body": text}),
        )
        .await;
    assert_eq!(r.status, 201, "{:?}", r.body);
}

#[tokio::test]
async fn subscribed_events_arrive_once_each_signed_with_the_secret() {
    let app = TestApp::spawn().await;
    let org = Org::create(&app).await;
    let hook = org.customer_says(&app, "in-1", "cust-1", "hello").await;
    let conversation = hook["conversation_id"].as_str().unwrap().to_owned();
    let receiver = WebhookReceiver::start().await;
    let (hook, secret) = create_hook(&org, &receiver.url(), json!(["message.created", "member.updated"])).await;

    // Watch the bus: what the webhook must get is every subscribed event
    // published from now on.
    let ws = org.ws.parse().unwrap();
    let mut bus = app.services.events().subscribe(ws, None).await.unwrap().live;
    note(&org, &conversation, "first note").await;
    note(&org, &conversation, "second note").await;
    touch_member(&org, 7).await;
    // Not subscribed: conversation.updated (and its activity is a message.created).
    let r = org
        .admin
        .post(
            &org.path(&format!("/conversations/{conversation}/priority")),
            json!({"priority": "critical"}),
        )
        .await;
    assert_eq!(r.status, 200, "{:?}", r.body);
    // Not subscribed: presence.updated (with a member.updated).
    org.set_online(&org.agent, &org.agent_id).await;
    // Coming online takes the waiting chat, which publishes more (an
    // assignment line is a message.created); on a loaded machine that can
    // come after the answer, so the bus is read once it has happened.
    let path = org.path(&format!("/conversations/{conversation}"));
    eventually(WAIT, || async {
        (org.admin.get(&path).await["status"] == "assigned").then_some(())
    })
    .await;
    tokio::time::sleep(Duration::from_millis(200)).await;

    let mut published: Vec<(i64, String)> = Vec::new();
    while let Ok(e) = bus.try_recv() {
        published.push((e.seq, e.kind.to_owned()));
    }
    let kinds: HashSet<&str> = published.iter().map(|(_, k)| k.as_str()).collect();
    for k in [
        "message.created",
        "member.updated",
        "conversation.updated",
        "presence.updated",
    ] {
        assert!(kinds.contains(k), "the actions above published {k}: {published:?}");
    }
    let expected: HashMap<i64, String> = published
        .into_iter()
        .filter(|(_, k)| k == "message.created" || k == "member.updated")
        .collect();

    eventually(WAIT, || async {
        (receiver.accepted().len() >= expected.len()).then_some(())
    })
    .await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    let got = receiver.received();
    assert_eq!(got.len(), expected.len(), "each subscribed event once, nothing else");
    let mut seen = HashMap::new();
    for r in &got {
        assert!(
            verifies(&secret, r),
            "the signature verifies with the secret from create"
        );
        assert!(!verifies("whsec_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=", r));
        well_formed(r);
        let body = r.json();
        let seq = body["seq"].as_i64().unwrap();
        assert_eq!(expected.get(&seq).map(String::as_str), body["type"].as_str(), "{body}");
        assert_eq!(body["workspace_id"], org.ws.as_str());
        assert!(body["timestamp"].as_i64().unwrap() > 0);
        assert!(body["data"].is_object());
        assert!(seen.insert(seq, r.header("webhook-id").unwrap().to_owned()).is_none());
    }
    assert!(got.iter().any(|r| r.json()["data"]["body"] == "second note"));
    let distinct: HashSet<&String> = seen.values().collect();
    assert_eq!(distinct.len(), expected.len(), "one webhook-id per event");

    // The delivery log agrees: each succeeded at the first attempt, and its
    // id is the webhook-id the receiver saw.
    let log = settled(&org, &hook, expected.len()).await;
    for d in &log {
        assert_eq!(
            (d["status"].as_str(), d["attempts"].as_i64()),
            (Some("succeeded"), Some(1))
        );
        assert_eq!(d["response_status"], 204);
        assert!(distinct.contains(&d["id"].as_str().unwrap().to_owned()));
    }
}

#[tokio::test]
async fn a_receiver_that_fails_three_times_still_gets_each_event_once() {
    let app = TestApp::spawn().await;
    let org = Org::create(&app).await;
    let receiver = WebhookReceiver::start().await;
    receiver.fail_first(3);
    let (hook, secret) = create_hook(&org, &receiver.url(), json!(["member.updated"])).await;
    touch_member(&org, 3).await;
    let log = settled(&org, &hook, 1).await;
    assert_eq!(log[0]["status"], "succeeded", "{log:?}");
    assert_eq!(log[0]["attempts"], 4);
    assert_eq!(log[0]["response_status"], 204);
    assert!(log[0]["delivered_at"].is_i64());
    touch_member(&org, 4).await;
    settled(&org, &hook, 2).await;
    tokio::time::sleep(Duration::from_millis(300)).await;

    let got = receiver.received();
    assert_eq!(got.len(), 5, "three failures, then one success per event");
    assert!(got.iter().all(|r| verifies(&secret, r)));
    let accepted = receiver.accepted();
    assert_eq!(accepted.len(), 2);
    let ids: HashSet<&str> = got.iter().map(|r| r.header("webhook-id").unwrap()).collect();
    assert_eq!(ids.len(), 2, "the retries carry the same webhook-id");
    let accepted_ids: HashSet<&str> = accepted.iter().map(|r| r.header("webhook-id").unwrap()).collect();
    assert_eq!(accepted_ids, ids, "each event was accepted exactly once");
    // The retried attempts sent the same body.
    let first = &got[0];
    assert!(
        got.iter()
            .filter(|r| r.header("webhook-id") == first.header("webhook-id"))
            .all(|r| r.body == first.body)
    );
}

#[tokio::test]
async fn a_4xx_answer_fails_the_delivery_without_retries() {
    let app = TestApp::spawn().await;
    let org = Org::create(&app).await;
    let receiver = WebhookReceiver::start().await;
    receiver.always(StatusCode::BAD_REQUEST);
    let (hook, _) = create_hook(&org, &receiver.url(), json!(["member.updated"])).await;
    touch_member(&org, 3).await;
    let log = settled(&org, &hook, 1).await;
    assert_eq!(
        (log[0]["status"].as_str(), log[0]["attempts"].as_i64()),
        (Some("failed"), Some(1))
    );
    assert_eq!(log[0]["response_status"], 400);
    assert!(log[0]["last_error"].as_str().unwrap().contains("400"));
    tokio::time::sleep(Duration::from_millis(400)).await;
    assert_eq!(receiver.received().len(), 1, "a 4xx is not retried");
}

#[tokio::test]
async fn a_receiver_that_never_recovers_is_given_up_after_the_last_attempt() {
    let mut options = TestOptions::default();
    options.service.delivery_max_attempts = 3;
    let app = TestApp::spawn_with(options).await;
    let org = Org::create(&app).await;
    let receiver = WebhookReceiver::start().await;
    receiver.always(StatusCode::SERVICE_UNAVAILABLE);
    let (hook, _) = create_hook(&org, &receiver.url(), json!(["*"])).await;
    // Nobody listens on port 1: a network error is retried like a 5xx.
    let (closed, _) = create_hook(&org, "http://127.0.0.1:1/hook", json!(["*"])).await;
    let unreachable = org
        .admin
        .post(&org.path(&format!("/webhooks/{closed}/test")), json!({}))
        .await;
    let test = org
        .admin
        .post(&org.path(&format!("/webhooks/{hook}/test")), json!({}))
        .await;
    assert_eq!(test.status, 202, "{:?}", test.body);
    let gave_up = eventually(WAIT, || async {
        let d = deliveries(&org, &closed)
            .await
            .into_iter()
            .find(|d| d["id"] == unreachable["id"])?;
        (d["status"] == "failed").then_some(d)
    })
    .await;
    assert_eq!(gave_up["attempts"], 3);
    assert!(gave_up["response_status"].is_null());
    assert!(
        gave_up["last_error"].as_str().unwrap().contains("request failed"),
        "{gave_up}"
    );
    let log = eventually(WAIT, || async {
        let items = deliveries(&org, &hook).await;
        let d = items.into_iter().find(|d| d["id"] == test["id"])?;
        (d["status"] == "failed").then_some(d)
    })
    .await;
    assert_eq!(log["attempts"], 3);
    assert_eq!(log["response_status"], 503);
    assert!(log["last_error"].as_str().unwrap().contains("503"));
    tokio::time::sleep(Duration::from_millis(400)).await;
    let tries = receiver
        .received()
        .iter()
        .filter(|r| r.header("webhook-id") == test["id"].as_str())
        .count();
    assert_eq!(tries, 3);
}

#[tokio::test]
async fn private_targets_are_refused_unless_the_workspace_allows_them() {
    let app = TestApp::spawn_with(TestOptions {
        allow_private_targets: false,
        ..TestOptions::default()
    })
    .await;
    let org = Org::create(&app).await;
    let receiver = WebhookReceiver::start().await;
    for url in [
        receiver.url(),
        "http://localhost:9/hook".to_owned(),
        "http://169.254.169.254/latest/meta-data/".to_owned(),
        "http://[::1]:9/hook".to_owned(),
        "http://10.0.0.7/hook".to_owned(),
    ] {
        let r = org.admin.post(&org.path("/webhooks"), json!({"url": url})).await;
        assert_eq!(
            (r.status.as_u16(), r.code()),
            (422, "invalid_input"),
            "{url}: {:?}",
            r.body
        );
        let message = r.body["error"]["message"].as_str().unwrap();
        assert!(message.contains("private") && message.contains("settings"), "{message}");
    }
    assert!(
        org.admin.get(&org.path("/webhooks")).await["items"]
            .as_array()
            .unwrap()
            .is_empty()
    );
    let settings = org.admin.get(&org.path("/settings")).await;
    assert_eq!(
        (settings.status.as_u16(), &settings["allow_private_targets"]),
        (200, &json!(false))
    );

    // The admin allows private targets: now the local receiver is fine.
    let on = org
        .admin
        .patch(&org.path("/settings"), json!({"allow_private_targets": true}))
        .await;
    assert_eq!((on.status.as_u16(), &on["allow_private_targets"]), (200, &json!(true)));
    assert_eq!(
        org.admin.get(&org.path("/settings")).await["allow_private_targets"],
        true
    );
    let (hook, secret) = create_hook(&org, &receiver.url(), json!(["*"])).await;
    let first = org
        .admin
        .post(&org.path(&format!("/webhooks/{hook}/test")), json!({}))
        .await;
    assert_eq!(first.status, 202);
    eventually(WAIT, || async { (receiver.accepted().len() == 1).then_some(()) }).await;
    assert!(verifies(&secret, &receiver.received()[0]));

    // Turned off again, deliveries to the private address fail with the reason.
    let off = org
        .admin
        .patch(&org.path("/settings"), json!({"allow_private_targets": false}))
        .await;
    assert_eq!(off["allow_private_targets"], false);
    let second = org
        .admin
        .post(&org.path(&format!("/webhooks/{hook}/test")), json!({}))
        .await;
    let failed = eventually(WAIT, || async {
        let items = deliveries(&org, &hook).await;
        let d = items.into_iter().find(|d| d["id"] == second["id"])?;
        (d["status"] == "failed").then_some(d)
    })
    .await;
    assert!(failed["last_error"].as_str().unwrap().contains("private"), "{failed}");
    assert_eq!(failed["attempts"], 1, "a refused target is not retried");
    assert_eq!(receiver.received().len(), 1, "nothing more reached the receiver");
    // Changing the URL is checked like creating it.
    let moved = org
        .admin
        .patch(
            &org.path(&format!("/webhooks/{hook}")),
            json!({"url": "http://169.254.169.254/latest/meta-data/"}),
        )
        .await;
    assert_eq!(
        (moved.status.as_u16(), moved.code()),
        (422, "invalid_input"),
        "{:?}",
        moved.body
    );
    let ws = org.ws.parse().unwrap();
    let actions = app.services.store().reader().audit_actions(ws, 50).await.unwrap();
    assert_eq!(
        actions
            .iter()
            .filter(|(a, _, _)| a == "workspace.settings_changed")
            .count(),
        4,
        "both changes of the setting are audited (and the fixture's two, for its local receiver)"
    );

    // A name that is not an address literal but resolves to loopback passes
    // the check at save time and is refused when it resolves.
    let loopback_name = switchboard_testkit::loopback_name().await;
    match loopback_name {
        Some(name) => {
            let url = format!("http://{name}:{}/hook", receiver.addr.port());
            let (by_name, _) = create_hook(&org, &url, json!(["*"])).await;
            let test = org
                .admin
                .post(&org.path(&format!("/webhooks/{by_name}/test")), json!({}))
                .await;
            let failed = eventually(WAIT, || async {
                let items = deliveries(&org, &by_name).await;
                let d = items.into_iter().find(|d| d["id"] == test["id"])?;
                (d["status"] == "failed").then_some(d)
            })
            .await;
            let error = failed["last_error"].as_str().unwrap();
            assert!(error.contains("private") && error.contains(&name), "{error}");
            assert_eq!(failed["attempts"], 1, "a refused target is not retried");
            assert_eq!(receiver.received().len(), 1, "nothing reached the receiver");
        }
        None => eprintln!("no host name resolving only to loopback here; skipping the DNS half"),
    }
}

#[tokio::test]
async fn the_test_button_reaches_the_endpoint_and_the_log_pages() {
    let app = TestApp::spawn().await;
    let org = Org::create(&app).await;
    let receiver = WebhookReceiver::start().await;
    // Subscribed to something else, and disabled: the test still goes out.
    let (hook, secret) = create_hook(&org, &receiver.url(), json!(["conversation.created"])).await;
    let (other, _) = create_hook(&org, &receiver.url(), json!(["*"])).await;
    let r = org
        .admin
        .patch(&org.path(&format!("/webhooks/{hook}")), json!({"enabled": false}))
        .await;
    assert_eq!((r.status.as_u16(), &r["enabled"]), (200, &json!(false)));
    let test = org
        .admin
        .post(&org.path(&format!("/webhooks/{hook}/test")), json!({}))
        .await;
    assert_eq!(test.status, 202, "{:?}", test.body);
    assert_eq!(test["event_type"], "webhook.test");
    assert_eq!(test["status"], "pending");
    eventually(WAIT, || async { (receiver.accepted().len() == 1).then_some(()) }).await;
    let got = &receiver.received()[0];
    assert!(verifies(&secret, got));
    well_formed(got);
    assert_eq!(got.header("webhook-id"), test["id"].as_str());
    let body = got.json();
    assert_eq!(body["type"], "webhook.test");
    assert_eq!(body["data"]["webhook_id"], hook.as_str());
    let log = settled(&org, &hook, 1).await;
    assert_eq!(log[0]["status"], "succeeded");
    assert_eq!(log[0]["payload"], body, "the log keeps what was sent");
    assert!(
        deliveries(&org, &other).await.is_empty(),
        "the test goes to that endpoint only"
    );

    // The log is newest first and pages without gaps or repeats.
    for _ in 0..4 {
        let r = org
            .admin
            .post(&org.path(&format!("/webhooks/{hook}/test")), json!({}))
            .await;
        assert_eq!(r.status, 202);
    }
    let newest = settled(&org, &hook, 5).await;
    let mut ids = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let url = match &cursor {
            Some(c) => format!("/webhooks/{hook}/deliveries?limit=2&cursor={c}"),
            None => format!("/webhooks/{hook}/deliveries?limit=2"),
        };
        let page = org.admin.get(&org.path(&url)).await;
        assert_eq!(page.status, 200, "{:?}", page.body);
        ids.extend(page["items"].as_array().unwrap().iter().map(|d| d["id"].clone()));
        match page["next_cursor"].as_str() {
            Some(c) => cursor = Some(c.to_owned()),
            None => break,
        }
    }
    let newest_ids: Vec<Value> = newest.iter().map(|d| d["id"].clone()).collect();
    assert_eq!(ids, newest_ids);
    let mut sorted: Vec<&str> = ids.iter().map(|i| i.as_str().unwrap()).collect();
    sorted.sort_by(|a, b| b.cmp(a));
    assert_eq!(sorted, ids.iter().map(|i| i.as_str().unwrap()).collect::<Vec<_>>());
}

#[tokio::test]
async fn changes_take_effect_at_once_and_secrets_are_shown_only_on_create_or_rotate() {
    let app = TestApp::spawn().await;
    let org = Org::create(&app).await;
    let receiver = WebhookReceiver::start().await;
    let (hook, secret) = create_hook(&org, &receiver.url(), json!(["member.updated"])).await;

    // Secrets are never read back.
    let list = org.admin.get(&org.path("/webhooks")).await;
    assert_eq!(list.status, 200);
    assert_eq!(list["items"].as_array().unwrap().len(), 1);
    assert!(list["items"][0].get("secret").is_none(), "{:?}", list.body);
    let one = org.admin.get(&org.path(&format!("/webhooks/{hook}"))).await;
    assert!(one.body.get("secret").is_none());
    assert_eq!(one["events"], json!(["member.updated"]));
    assert!(!list.body.to_string().contains(&secret) && !one.body.to_string().contains(&secret));
    let renamed = org
        .admin
        .patch(&org.path(&format!("/webhooks/{hook}")), json!({"description": "CRM"}))
        .await;
    assert_eq!((renamed.status.as_u16(), &renamed["secret"]), (200, &Value::Null));

    // Rotating returns a new secret once; deliveries are signed with it.
    let rotated = org
        .admin
        .patch(&org.path(&format!("/webhooks/{hook}")), json!({"rotate_secret": true}))
        .await;
    let new_secret = rotated["secret"].as_str().unwrap().to_owned();
    assert!(new_secret.starts_with("whsec_") && new_secret != secret);
    touch_member(&org, 5).await;
    eventually(WAIT, || async { (receiver.accepted().len() == 1).then_some(()) }).await;
    let got = &receiver.received()[0];
    assert!(verifies(&new_secret, got) && !verifies(&secret, got));

    // Disabled: events stop at once. Enabled again: they flow again.
    org.admin
        .patch(&org.path(&format!("/webhooks/{hook}")), json!({"enabled": false}))
        .await;
    touch_member(&org, 6).await;
    org.admin
        .patch(
            &org.path(&format!("/webhooks/{hook}")),
            json!({"enabled": true, "events": ["presence.updated"]}),
        )
        .await;
    touch_member(&org, 7).await; // member.updated: no longer subscribed
    org.set_online(&org.agent, &org.agent_id).await; // presence.updated
    eventually(WAIT, || async { (receiver.accepted().len() == 2).then_some(()) }).await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    let kinds: Vec<String> = receiver
        .received()
        .iter()
        .map(|r| r.json()["type"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(kinds, ["member.updated", "presence.updated"]);

    // Deleted: gone, with its log, and nothing more is sent.
    let gone = org.admin.delete(&org.path(&format!("/webhooks/{hook}"))).await;
    assert_eq!(gone.status, 204);
    assert_eq!(org.admin.get(&org.path(&format!("/webhooks/{hook}"))).await.status, 404);
    assert_eq!(
        org.admin
            .get(&org.path(&format!("/webhooks/{hook}/deliveries")))
            .await
            .status,
        404
    );
    let r = org
        .admin
        .patch(
            &org.path(&format!("/users/{}", org.agent_id)),
            json!({"availability": "busy"}),
        )
        .await;
    assert_eq!(r.status, 200);
    tokio::time::sleep(Duration::from_millis(400)).await;
    assert_eq!(receiver.received().len(), 2);

    // Every change is audited.
    let ws = org.ws.parse().unwrap();
    let actions: Vec<String> = app
        .services
        .store()
        .reader()
        .audit_actions(ws, 50)
        .await
        .unwrap()
        .into_iter()
        .map(|(a, _, _)| a)
        .collect();
    for a in ["webhook.created", "webhook.updated", "webhook.deleted"] {
        assert!(actions.iter().any(|x| x == a), "{a} in {actions:?}");
    }
}

#[tokio::test]
async fn bad_input_is_refused_and_only_admins_manage_webhooks() {
    let app = TestApp::spawn().await;
    let org = Org::create(&app).await;
    let receiver = WebhookReceiver::start().await;
    for body in [
        json!({"url": "ftp://example.com/x"}),
        json!({"url": "not a url"}),
        json!({"url": "https://example.com/x", "events": []}),
        json!({"url": "https://example.com/x", "events": ["message.deleted"]}),
        json!({"url": "https://example.com/x", "secret": "mine"}),
    ] {
        let r = org.admin.post(&org.path("/webhooks"), body.clone()).await;
        assert_eq!(
            (r.status.as_u16(), r.code()),
            (422, "invalid_input"),
            "{body}: {:?}",
            r.body
        );
    }
    let (hook, _) = create_hook(&org, &receiver.url(), json!(["*"])).await;
    let r = org
        .admin
        .patch(&org.path(&format!("/webhooks/{hook}")), json!({"events": ["nope"]}))
        .await;
    assert_eq!(r.status, 422);

    // An agent of the same workspace may not read or change any of it.
    let agent: &ApiClient = &org.agent;
    for (method, path, body) in [
        (reqwest::Method::GET, "/webhooks".to_owned(), None),
        (
            reqwest::Method::POST,
            "/webhooks".to_owned(),
            Some(json!({"url": "https://example.com/x"})),
        ),
        (reqwest::Method::GET, format!("/webhooks/{hook}"), None),
        (
            reqwest::Method::PATCH,
            format!("/webhooks/{hook}"),
            Some(json!({"enabled": false})),
        ),
        (reqwest::Method::DELETE, format!("/webhooks/{hook}"), None),
        (reqwest::Method::GET, format!("/webhooks/{hook}/deliveries"), None),
        (reqwest::Method::POST, format!("/webhooks/{hook}/test"), None),
        (reqwest::Method::GET, "/settings".to_owned(), None),
        (
            reqwest::Method::PATCH,
            "/settings".to_owned(),
            Some(json!({"allow_private_targets": true})),
        ),
    ] {
        let r = agent.send(method.clone(), &org.path(&path), body).await;
        assert_eq!(
            (r.status.as_u16(), r.code()),
            (403, "forbidden"),
            "{method} {path}: {:?}",
            r.body
        );
        assert!(!r.body.to_string().contains("whsec_"));
    }
    // Nothing changed.
    let one = org.admin.get(&org.path(&format!("/webhooks/{hook}"))).await;
    assert_eq!(one["enabled"], true);
    assert_eq!(
        org.admin.get(&org.path("/settings")).await["allow_private_targets"],
        false
    );
    assert!(receiver.received().is_empty());
    // An id that does not exist is not found.
    let missing = org
        .admin
        .get(&org.path("/webhooks/0190a0a0-0000-7000-8000-000000000000"))
        .await;
    assert_eq!(missing.status, 404);
}

#[tokio::test]
async fn disabling_or_deleting_an_endpoint_stops_its_pending_retries() {
    let mut options = TestOptions::default();
    // Enough attempts that the retries are still going when the admin acts.
    options.service.delivery_max_attempts = 100;
    let app = TestApp::spawn_with(options).await;
    let org = Org::create(&app).await;
    let receiver = WebhookReceiver::start().await;
    receiver.always(StatusCode::TOO_MANY_REQUESTS);
    let (disabled, _) = create_hook(&org, &receiver.url(), json!(["member.updated"])).await;
    let (deleted, _) = create_hook(&org, &receiver.url(), json!(["member.updated"])).await;
    touch_member(&org, 2).await;
    // Both are being retried (429 is worth retrying).
    eventually(WAIT, || async {
        let a = deliveries(&org, &disabled).await;
        let b = deliveries(&org, &deleted).await;
        let retried = |d: &[Value]| d.len() == 1 && d[0]["attempts"].as_i64() >= Some(2) && d[0]["status"] == "pending";
        (retried(&a) && retried(&b)).then_some(())
    })
    .await;
    let r = org
        .admin
        .patch(&org.path(&format!("/webhooks/{disabled}")), json!({"enabled": false}))
        .await;
    assert_eq!(r.status, 200);
    assert_eq!(
        org.admin
            .delete(&org.path(&format!("/webhooks/{deleted}")))
            .await
            .status,
        204
    );
    let log = settled(&org, &disabled, 1).await;
    assert_eq!(log[0]["status"], "failed");
    assert!(log[0]["last_error"].as_str().unwrap().contains("disabled"), "{log:?}");
    tokio::time::sleep(Duration::from_millis(600)).await;
    let calls = receiver.received().len();
    tokio::time::sleep(Duration::from_millis(600)).await;
    assert_eq!(receiver.received().len(), calls, "no more attempts to either endpoint");
    assert_eq!(
        app.services
            .store()
            .reader()
            .count_jobs_of("deliver_webhook", switchboard_store::JobState::Ready)
            .await
            .unwrap(),
        0
    );
}
