//! Transcript download through the API: a conversation as a plain-text file
//! with its header and every message, note, file and activity in order, for
//! whoever may see the conversation (404 for anyone else). Time is a manual
//! clock, so the transcript is compared line for line.

use std::sync::Arc;

use serde_json::{Value, json};
use switchboard_core::Millis;
use switchboard_service::ManualClock;
use switchboard_testkit::client::ApiClient;
use switchboard_testkit::fixtures::{Org, invite};
use switchboard_testkit::{MONDAY_9AM, TestApp, TestOptions};

const MINUTE: i64 = 60_000;

/// GET a transcript: status, content type, disposition, text.
async fn transcript(client: &ApiClient, org: &Org, conversation: &str) -> (u16, String, String, String) {
    let path = org.path(&format!("/conversations/{conversation}/transcript"));
    let mut req = client.http.get(format!("{}{}", client.base, path));
    if let Some(token) = &client.bearer {
        req = req.bearer_auth(token);
    }
    let response = req.send().await.expect("transcript");
    let header = |name: &str| {
        response
            .headers()
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_owned()
    };
    let (status, content_type, disposition) = (
        response.status().as_u16(),
        header("content-type"),
        header("content-disposition"),
    );
    (status, content_type, disposition, response.text().await.expect("text"))
}

async fn ok(r: switchboard_testkit::client::Reply) -> Value {
    assert!(r.status.is_success(), "{:?}", r.body);
    r.body
}

#[tokio::test]
async fn a_transcript_reads_the_whole_conversation_for_those_who_may_see_it() {
    let clock = Arc::new(ManualClock::new(MONDAY_9AM));
    let mut options = TestOptions {
        manual_clock: Some(clock.clone()),
        ..TestOptions::default()
    };
    options.service.run_jobs = false;
    let app = TestApp::spawn_with(options).await;
    let org = Org::create(&app).await;
    org.set_online(&org.agent, &org.agent_id).await;
    let at = |minutes: i64| clock.set(Millis(MONDAY_9AM.0 + minutes * MINUTE));
    let conv_path = |rest: &str, id: &str| org.path(&format!("/conversations/{id}{rest}"));

    at(1);
    let hook = org
        .customer_says(&app, "m-1", "carla", "Hello, where is my order?")
        .await;
    let id = hook["conversation_id"].as_str().unwrap().to_owned();
    at(2);
    ok(org
        .agent
        .post(
            &conv_path("/messages", &id),
            json!({"kind": "text", "body": "Let me check."}),
        )
        .await)
    .await;
    at(3);
    ok(org
        .agent
        .post(
            &conv_path("/messages", &id),
            json!({"kind": "note", "body": "warehouse says Tuesday\nask again tomorrow"}),
        )
        .await)
    .await;
    at(4);
    ok(org
        .admin
        .post(
            &conv_path("/messages", &id),
            json!({"kind": "comment", "body": "@Ana ask for the order number"}),
        )
        .await)
    .await;
    at(5);
    let upload = org
        .agent
        .send_raw(
            reqwest::Method::POST,
            &conv_path("/attachments?filename=receipt.txt&caption=the%20receipt", &id),
            Some("text/plain"),
            b"order A-123".to_vec(),
        )
        .await;
    assert_eq!(upload.status, 201, "{:?}", upload.body);

    // While the chat is in her team, the agent downloads it too.
    let (status, content_type, disposition, _) = transcript(&org.agent, &org, &id).await;
    assert_eq!(status, 200);
    assert_eq!(content_type, "text/plain; charset=utf-8");
    assert_eq!(disposition, format!("attachment; filename=\"conversation-{id}.txt\""));

    at(6);
    org.customer_says(&app, "m-2", "carla", "It is A-123").await;
    at(7);
    let billing = ok(org.admin.post(&org.path("/teams"), json!({"name": "Billing"})).await).await;
    let billing = billing["id"].as_str().unwrap().to_owned();
    let bob_id = invite(
        &org.admin,
        &org.ws,
        json!({"email": "bob@acme.test", "name": "Bob Billing", "role": "agent", "team_ids": [billing]}),
        "agent password 2",
    )
    .await;
    let bob = ApiClient::login(&app, "bob@acme.test", "agent password 2").await;
    org.set_online(&bob, &bob_id).await;
    ok(org
        .admin
        .post(
            &conv_path("/assign", &id),
            json!({"user_id": bob_id, "team_id": billing, "comment": "billing question"}),
        )
        .await)
    .await;
    at(8);
    ok(bob
        .post(&conv_path("/priority", &id), json!({"priority": "critical"}))
        .await)
    .await;
    ok(org.admin.post(&org.path("/tags"), json!({"name": "vip"})).await).await;
    ok(bob.put(&conv_path("/tags", &id), json!({"tags": ["vip"]})).await).await;
    at(9);
    ok(bob
        .post(
            &conv_path("/status", &id),
            json!({"status": "resolved", "comment": "solved by phone"}),
        )
        .await)
    .await;
    at(10);
    ok(bob
        .post(&conv_path("/status", &id), json!({"status": "assigned"}))
        .await)
    .await;
    at(11);
    ok(bob
        .post(&conv_path("/status", &id), json!({"status": "resolved"}))
        .await)
    .await;

    let (status, content_type, disposition, text) = transcript(&org.admin, &org, &id).await;
    assert_eq!(status, 200, "{text}");
    assert_eq!(content_type, "text/plain; charset=utf-8");
    assert_eq!(disposition, format!("attachment; filename=\"conversation-{id}.txt\""));
    let expected = format!(
        "Conversation {id}
Contact: Carla Customer
Channel: Shop (api)
Status: resolved
Assignee: Bob Billing
Team: Billing
Priority: critical
Tags: vip
Created: 2026-01-05T09:01:00Z
Closed: 2026-01-05T09:11:00Z

[2026-01-05 09:01:00 UTC] Conversation opened, assigned to Ana Agent (team Support).
[2026-01-05 09:01:00 UTC] Carla Customer: Hello, where is my order?
[2026-01-05 09:02:00 UTC] Ana Agent: Let me check.
[2026-01-05 09:03:00 UTC] Ana Agent (private note): warehouse says Tuesday
    ask again tomorrow
[2026-01-05 09:04:00 UTC] Ada Admin (comment): @Ana ask for the order number
[2026-01-05 09:05:00 UTC] Ana Agent: [file: receipt.txt, text/plain, 11 bytes] the receipt
[2026-01-05 09:06:00 UTC] Carla Customer: It is A-123
[2026-01-05 09:07:00 UTC] Transferred from Ana Agent (team Support) to Bob Billing (team Billing) by Ada Admin. Comment: billing question
[2026-01-05 09:08:00 UTC] Priority changed from normal to critical by Bob Billing.
[2026-01-05 09:08:00 UTC] Tags changed by Bob Billing: added vip.
[2026-01-05 09:09:00 UTC] Status changed from assigned to resolved by Bob Billing. Comment: solved by phone
[2026-01-05 09:10:00 UTC] Reopened by Bob Billing (status resolved to assigned).
[2026-01-05 09:11:00 UTC] Status changed from assigned to resolved by Bob Billing.
"
    );
    assert_eq!(text, expected);

    // Bob, who has it now, reads the same; Ana's team no longer has it.
    assert_eq!(transcript(&bob, &org, &id).await.3, expected);
    let (status, _, _, body) = transcript(&org.agent, &org, &id).await;
    assert_eq!(status, 404);
    assert_eq!(
        serde_json::from_str::<Value>(&body).unwrap()["error"]["code"],
        "not_found"
    );
    // Nor does anything else answer but 404.
    for missing in ["00000000-0000-7000-8000-000000000000", "not-an-id"] {
        assert_eq!(transcript(&org.admin, &org, missing).await.0, 404);
    }
    let (their_admin, _) = app.other_workspace("olga@other.test").await;
    assert_eq!(transcript(&their_admin, &org, &id).await.0, 404);
}

#[tokio::test]
async fn a_bot_chat_names_the_bot_and_a_nameless_customer() {
    let app = TestApp::spawn().await;
    let org = Org::create(&app).await;
    let bot = org
        .admin
        .put(
            &org.path(&format!("/channels/{}/bot", org.channel)),
            json!({"kind": "flow", "source": "steps:\n  menu:\n    say: How can we help?\n    options:\n      - label: Talk to a person\n        handoff: true\n"}),
        )
        .await;
    assert_eq!(bot.status, 200, "{:?}", bot.body);
    let hook = switchboard_testkit::client::post_hook(
        &app,
        &org.channel,
        &org.secret,
        &json!({"message_id": "b-1", "contact": {"id": "anon-7"}, "text": "hi"}),
    )
    .await;
    assert_eq!(hook.status, 200, "{:?}", hook.body);
    let id = hook["conversation_id"].as_str().unwrap().to_owned();
    let text = switchboard_testkit::eventually(std::time::Duration::from_secs(10), || async {
        let (status, _, _, text) = transcript(&org.admin, &org, &id).await;
        assert_eq!(status, 200);
        text.contains("] Bot: How can we help?").then_some(text)
    })
    .await;
    assert!(text.contains("\nStatus: bot\n"), "{text}");
    assert!(text.contains("Closed: not closed\n"), "{text}");
    assert!(text.contains("] Conversation opened with the bot.\n"), "{text}");
    assert!(
        text.contains("] anon-7: hi\n"),
        "the customer's id on the channel stands in for a name: {text}"
    );
    assert!(text.contains("    Options: Talk to a person\n"), "{text}");
}

#[tokio::test]
async fn a_transcript_is_also_a_printable_page_and_json_with_notes_optional() {
    let app = TestApp::spawn().await;
    let org = Org::create(&app).await;
    let hook = org
        .customer_says(&app, "m-1", "carla", "<script>alert(1)</script> where is my order?")
        .await;
    let id = hook["conversation_id"].as_str().unwrap().to_owned();
    let conv = |rest: &str| org.path(&format!("/conversations/{id}{rest}"));
    ok(org
        .admin
        .post(
            &conv("/messages"),
            json!({"kind": "note", "body": "Secret internal note"}),
        )
        .await)
    .await;
    let image = switchboard_testkit::media::png(30, 20, 0);
    let r = org
        .admin
        .send_raw(
            reqwest::Method::POST,
            &conv("/attachments?filename=photo.png"),
            Some("image/png"),
            image,
        )
        .await;
    assert_eq!(r.status, 201, "{:?}", r.body);
    let attachment = r["attachments"][0]["id"].as_str().unwrap().to_owned();

    let (status, content_type, html) = org.admin.get_text(&conv("/transcript?format=html")).await;
    assert_eq!((status, content_type.as_str()), (200, "text/html; charset=utf-8"));
    assert!(
        html.contains("&#60;script&#62;alert(1)&#60;/script&#62; where is my order?"),
        "{html}"
    );
    assert!(!html.contains("<script>"), "{html}");
    assert!(html.contains("Secret internal note") && html.contains("private note"));
    assert!(
        html.contains(&format!("attachments/{attachment}/preview")),
        "an image preview: {html}"
    );
    let (_, _, without) = org.admin.get_text(&conv("/transcript?format=html&notes=false")).await;
    assert!(!without.contains("Secret internal note"));

    let (status, content_type, body) = org.admin.get_text(&conv("/transcript?format=json")).await;
    assert_eq!((status, content_type.as_str()), (200, "application/json"));
    let doc: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(doc["conversation"]["id"], id.as_str());
    let entries = doc["entries"].as_array().unwrap();
    let first = entries.iter().find(|e| e["kind"] == "text").unwrap();
    assert_eq!(first["author"], "Carla Customer");
    assert!(
        entries
            .iter()
            .any(|e| e["kind"] == "activity" && e["activity"].is_string())
    );
    assert!(entries.iter().any(|e| e["kind"] == "note"));
    let file = entries
        .iter()
        .find(|e| !e["attachments"].as_array().unwrap().is_empty())
        .unwrap();
    assert_eq!(file["attachments"][0]["filename"], "photo.png");
    assert_eq!(file["attachments"][0]["mime"], "image/png");
    let (_, _, body) = org.admin.get_text(&conv("/transcript?format=json&notes=false")).await;
    assert!(!body.contains("Secret internal note"));
    let (_, _, text) = org.admin.get_text(&conv("/transcript?notes=false")).await;
    assert!(
        text.contains("where is my order?") && !text.contains("Secret internal note"),
        "{text}"
    );

    // Out of reach is 404 in every format; an unknown format is a clear error.
    let team = org.admin.post(&org.path("/teams"), json!({"name": "Sales"})).await;
    let (outsider, _) = org
        .member(&app, "sam@acme.test", "Sam", "agent", &[team["id"].as_str().unwrap()])
        .await;
    for format in ["text", "html", "json"] {
        let (status, _, _) = outsider.get_text(&conv(&format!("/transcript?format={format}"))).await;
        assert_eq!(status, 404, "{format}");
    }
    let (status, _, _) = org.admin.get_text(&conv("/transcript?format=pdf")).await;
    assert_eq!(status, 422);
}

#[tokio::test]
async fn a_transcript_zip_holds_both_transcripts_and_every_file() {
    let app = TestApp::spawn().await;
    let org = Org::create(&app).await;
    let hook = org.customer_says(&app, "m-1", "carla", "see the photo").await;
    let id = hook["conversation_id"].as_str().unwrap().to_owned();
    let conv = |rest: &str| org.path(&format!("/conversations/{id}{rest}"));
    let image = switchboard_testkit::media::png(30, 20, 0);
    for name in ["photo.png", "../../etc/passwd.png"] {
        let r = org
            .admin
            .send_raw(
                reqwest::Method::POST,
                &conv(&format!("/attachments?filename={name}")),
                Some("image/png"),
                image.clone(),
            )
            .await;
        assert_eq!(r.status, 201, "{:?}", r.body);
    }
    let url = format!("{}{}", org.admin.base, conv("/transcript?format=zip"));
    let response = org.admin.http.get(&url).send().await.unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["content-type"], "application/zip");
    let bytes = response.bytes().await.unwrap();
    let file = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(file.path(), &bytes).unwrap();
    let script = r#"
import sys, zipfile, json
z = zipfile.ZipFile(sys.argv[1])
assert z.testzip() is None
for n in z.namelist():
    print(n, len(z.read(n)))
assert "see the photo" in z.read("transcript.txt").decode()
json.loads(z.read("transcript.json"))
"#;
    let out = std::process::Command::new("python3")
        .args(["-c", script])
        .arg(file.path())
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let listing = String::from_utf8_lossy(&out.stdout);
    let names: Vec<&str> = listing.lines().map(|l| l.split(' ').next().unwrap()).collect();
    assert_eq!(names[..2], ["transcript.txt", "transcript.json"]);
    assert_eq!(names.len(), 4, "{listing}");
    assert!(
        names[2].starts_with("files/001-") && names[2].ends_with("photo.png"),
        "{listing}"
    );
    // No way out of the archive's folder.
    assert!(
        names
            .iter()
            .all(|n| !n.contains("..") || !n.contains('/') || n.starts_with("files/")),
        "{listing}"
    );
    assert!(!names[3].contains("/etc/"), "{listing}");
    let sizes: Vec<usize> = listing
        .lines()
        .map(|l| l.split(' ').nth(1).unwrap().parse().unwrap())
        .collect();
    assert_eq!(sizes[2], image.len());
}
