//! Campaigns on WhatsApp against the Graph API test server: a CSV of 1,000
//! recipients with invalid numbers and opted-out people ends with exact
//! counts, survives a restart mid-way without sending anyone twice, and
//! "retry the failed ones" sends only those; statuses and answers move the
//! ledger; a tag audience; bad input and other workspaces.

use std::collections::HashMap;
use std::time::Duration;

use serde_json::{Value, json};
use switchboard_testkit::client::ApiClient;
use switchboard_testkit::graph::{GraphServer, webhook};
use switchboard_testkit::{TestApp, eventually};

use crate::whatsapp::{PHONE_ID, TOKEN, WhatsApp, connect, options, start};

fn number(i: usize) -> String {
    format!("49151{:08}", i)
}

fn customer_text(from: &str, id: &str, body: &str) -> Vec<u8> {
    webhook(
        PHONE_ID,
        json!([{"profile": {"name": "Customer"}, "wa_id": from}]),
        json!([{"from": from, "id": id, "timestamp": "1730000000", "type": "text", "text": {"body": body}}]),
        Value::Null,
    )
}

fn delivery(id: &str, to: &str, status: &str) -> Vec<u8> {
    webhook(
        PHONE_ID,
        Value::Null,
        Value::Null,
        json!([{"id": id, "status": status, "timestamp": "1730000100", "recipient_id": to}]),
    )
}

async fn approved_template(wa: &WhatsApp) -> Value {
    let r = wa
        .org
        .admin
        .post(
            &wa.org.path("/templates"),
            json!({"name": "spring_sale", "language": "en", "category": "marketing",
                   "body": "Hi {{1}}, our spring sale starts today."}),
        )
        .await;
    assert_eq!(r.status, 201, "{:?}", r.body);
    r.body.clone()
}

impl WhatsApp {
    async fn campaign(&self, id: &str) -> Value {
        let r = self.org.admin.get(&self.org.path(&format!("/campaigns/{id}"))).await;
        assert_eq!(r.status, 200, "{:?}", r.body);
        r.body.clone()
    }

    async fn campaign_until(&self, id: &str, status: &str) -> Value {
        eventually(Duration::from_secs(60), || async {
            let c = self.campaign(id).await;
            (c["status"] == status).then_some(c)
        })
        .await
    }

    /// Messages Meta accepted or refused, by number.
    fn sends_by_number(&self) -> HashMap<String, usize> {
        let mut by = HashMap::new();
        for body in self.graph.sent() {
            *by.entry(body["to"].as_str().unwrap_or_default().to_owned())
                .or_default() += 1;
        }
        by
    }
}

#[tokio::test]
async fn a_campaign_of_a_thousand_counts_exactly_survives_a_restart_and_retries_only_the_failed() {
    let graph = GraphServer::start(TOKEN).await;
    let mut opts = options(&graph);
    // A run cut off by the restart is picked up quickly.
    opts.service.job_lease = Duration::from_secs(2);
    let wa = connect(TestApp::spawn_with(opts.clone()).await, graph).await;
    // Five customers wrote STOP; ten numbers are not on WhatsApp.
    for i in 0..5 {
        let r = wa
            .deliver(&customer_text(&number(i * 100), &format!("wamid.STOP{i}"), "Stop"))
            .await;
        assert_eq!(r.status, 200);
    }
    for i in 0..10 {
        wa.graph
            .refuse_number(&number(i * 100 + 50), 400, 131026, "Message undeliverable");
    }
    let template = approved_template(&wa).await;
    let mut csv = String::from("phone,name\n");
    for i in 0..1000 {
        csv.push_str(&format!("+{},Customer {i}\n", number(i)));
    }
    csv.push_str("not-a-number,Nobody\n+49151,Too short\n");
    let r = wa
        .org
        .admin
        .post(
            &wa.org.path("/campaigns"),
            json!({"name": "Spring sale", "channel_id": wa.channel, "template_id": template["id"],
                   "csv": csv, "csv_filename": "spring.csv", "rate_per_second": 100,
                   "values": {"body": [{"from": "field", "field": "name"}]}}),
        )
        .await;
    assert_eq!(r.status, 201, "{:?}", r.body);
    assert_eq!(
        r["rejected_rows"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| r["line"].as_u64().unwrap())
            .collect::<Vec<_>>(),
        [1002, 1003]
    );
    assert_eq!(
        (r["counts"]["total"].as_i64(), r["counts"]["skipped"].as_i64()),
        (Some(1000), Some(5))
    );
    let id = r["id"].as_str().unwrap().to_owned();

    // The server stops mid-way and starts again on the same database.
    eventually(Duration::from_secs(30), || async {
        (wa.graph.sent().len() >= 250).then_some(())
    })
    .await;
    let WhatsApp {
        app,
        mut org,
        graph,
        channel,
        verify_token,
    } = wa;
    let db = app.stop().await;
    assert!(graph.sent().len() < 995, "the restart came too late to test anything");
    let app = TestApp::spawn_on(db, opts).await;
    org.admin = ApiClient::login(&app, "ada@acme.test", "admin password 1").await;
    let wa = WhatsApp {
        app,
        org,
        graph,
        channel,
        verify_token,
    };
    let done = wa.campaign_until(&id, "completed").await;
    let counts = &done["counts"];
    // Nobody got it twice, the opted-out got nothing.
    let by_number = wa.sends_by_number();
    assert!(by_number.values().all(|n| *n == 1), "a number got two messages");
    assert!((0..5).all(|i| !by_number.contains_key(&number(i * 100))));
    // Every recipient has one outcome; the ten invalid numbers failed with
    // Meta's reason; any cut off by the restart failed too, not re-sent.
    let (sent, failed, skipped) = (
        counts["sent"].as_i64().unwrap(),
        counts["failed"].as_i64().unwrap(),
        counts["skipped"].as_i64().unwrap(),
    );
    assert_eq!(
        (sent + failed + skipped, skipped, counts["total"].as_i64()),
        (1000, 5, Some(1000)),
        "{counts}"
    );
    let failed_rows = wa
        .org
        .admin
        .get(
            &wa.org
                .path(&format!("/campaigns/{id}/recipients?status=failed&limit=500")),
        )
        .await;
    let failed_rows = failed_rows["items"].as_array().unwrap().clone();
    assert_eq!(failed_rows.len() as i64, failed);
    let failed_numbers: Vec<&str> = failed_rows.iter().map(|r| r["external_id"].as_str().unwrap()).collect();
    assert!(
        (0..10).all(|i| failed_numbers.contains(&number(i * 100 + 50).as_str())),
        "{failed_rows:?}"
    );
    assert!(failed_rows.iter().all(|r| {
        let why = r["reason"].as_str().unwrap_or_default();
        why.contains("131026") || why.contains("server stopped")
    }));
    // Each one counted as sent reached Meta once.
    let accepted = by_number.len() as i64 - 10;
    assert!(sent <= accepted && accepted <= sent + (failed - 10), "{counts}");

    // Retry the failed ones: only they are sent again.
    let before = wa.graph.sent().len();
    let r = wa
        .org
        .admin
        .post(
            &wa.org.path(&format!("/campaigns/{id}/actions")),
            json!({"action": "retry_failed"}),
        )
        .await;
    assert_eq!(r.status, 200, "{:?}", r.body);
    let done = wa.campaign_until(&id, "completed").await;
    let resent: Vec<String> = wa.graph.sent()[before..]
        .iter()
        .map(|b| b["to"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(resent.len() as i64, failed, "only the failed ones were sent again");
    assert!(resent.iter().all(|n| failed_numbers.contains(&n.as_str())));
    assert_eq!(done["counts"]["failed"], 10, "{}", done["counts"]);
}

/// Contacts of a tag get the campaign with their own values; Meta's
/// statuses and a customer's answer move the ledger, and the answer makes
/// the waiting chat live for the sender. Pause and resume; the ledger as
/// CSV.
#[tokio::test]
async fn a_tag_campaign_follows_statuses_and_answers() {
    let wa = start().await;
    let template = approved_template(&wa).await;
    assert_eq!(
        wa.org
            .admin
            .post(&wa.org.path("/tags"), json!({"name": "vip"}))
            .await
            .status,
        201
    );
    let names = ["Ana", "Bo", "=HYPERLINK(\"http://evil\")", "Dee"];
    for (i, name) in names.iter().enumerate() {
        let r = wa
            .org
            .admin
            .post(
                &wa.org.path("/contacts"),
                json!({"name": name, "phone": format!("+{}", number(i)), "tags": ["vip"]}),
            )
            .await;
        assert_eq!(r.status, 201, "{:?}", r.body);
    }
    // Tagged, but nothing to send to on WhatsApp: left out.
    let r = wa
        .org
        .admin
        .post(&wa.org.path("/contacts"), json!({"name": "No phone", "tags": ["vip"]}))
        .await;
    assert_eq!(r.status, 201);
    let create = |values: Value| {
        json!({"name": "VIP preview", "channel_id": wa.channel, "template_id": template["id"], "tag": "vip",
               "rate_per_second": 50, "values": values})
    };
    let path = wa.org.path("/campaigns");
    // Values must fit the template, one per placeholder.
    let r = wa.org.admin.post(&path, create(json!({"body": []}))).await;
    assert_eq!(
        (r.status.as_u16(), r["error"]["field"].as_str()),
        (422, Some("values")),
        "{:?}",
        r.body
    );
    // Agents do not run campaigns.
    let r = wa
        .org
        .agent
        .post(&path, create(json!({"body": [{"from": "field", "field": "name"}]})))
        .await;
    assert_eq!(r.status, 403);
    let r = wa
        .org
        .admin
        .post(&path, create(json!({"body": [{"from": "field", "field": "name"}]})))
        .await;
    assert_eq!(r.status, 201, "{:?}", r.body);
    assert_eq!(r["counts"]["total"], 4);
    let id = r["id"].as_str().unwrap().to_owned();
    wa.campaign_until(&id, "completed").await;
    let sent = wa.graph.sent();
    assert_eq!(sent.len(), 4);
    let to_ana = sent.iter().find(|b| b["to"] == number(0).as_str()).unwrap();
    assert_eq!(to_ana["template"]["components"][0]["parameters"][0]["text"], "Ana");

    // Meta's statuses and Ana's answer.
    let ledger = wa
        .org
        .admin
        .get(&wa.org.path(&format!("/campaigns/{id}/recipients")))
        .await;
    let rows = ledger["items"].as_array().unwrap().clone();
    let mut wamids = HashMap::new();
    for r in &rows {
        let conversation = r["conversation_id"].as_str().unwrap();
        let messages = wa.messages(conversation).await;
        let m = messages.iter().find(|m| m["id"] == r["message_id"]).unwrap();
        wamids.insert(
            r["external_id"].as_str().unwrap().to_owned(),
            m["provider_message_id"].as_str().unwrap().to_owned(),
        );
    }
    for (i, status) in [(1, "delivered"), (2, "delivered"), (2, "read"), (0, "delivered")] {
        let to = number(i);
        assert_eq!(wa.deliver(&delivery(&wamids[&to], &to, status)).await.status, 200);
    }
    assert_eq!(
        wa.deliver(&customer_text(&number(0), "wamid.ANSWER", "Yes please!"))
            .await
            .status,
        200
    );
    let counts = eventually(Duration::from_secs(10), || async {
        let c = wa.campaign(&id).await;
        (c["counts"]["replied"] == 1).then(|| c["counts"].clone())
    })
    .await;
    assert_eq!(
        (
            counts["sent"].as_i64(),
            counts["delivered"].as_i64(),
            counts["read"].as_i64(),
            counts["replied"].as_i64()
        ),
        (Some(1), Some(1), Some(1), Some(1)),
        "{counts}"
    );
    let replied = wa
        .org
        .admin
        .get(&wa.org.path(&format!("/campaigns/{id}/recipients?status=replied")))
        .await;
    assert_eq!(replied["items"][0]["external_id"], number(0));
    // Ana's chat went live, for the admin who sent the campaign.
    let chat = replied["items"][0]["conversation_id"].as_str().unwrap().to_owned();
    let c = wa.org.admin.get(&wa.org.path(&format!("/conversations/{chat}"))).await;
    assert_ne!(c["status"], "pending", "{:?}", c.body);

    // The ledger as CSV, a formula neutralised.
    let csv = wa
        .org
        .admin
        .http
        .get(wa.app.url(&wa.org.path(&format!("/campaigns/{id}/recipients.csv"))))
        .send()
        .await
        .unwrap();
    assert_eq!(csv.headers()["content-type"], "text/csv; charset=utf-8");
    let csv = csv.text().await.unwrap();
    assert_eq!(csv.lines().count(), 5, "{csv}");
    assert!(csv.contains("'=HYPERLINK"), "{csv}");
    assert!(csv.contains(",replied,"), "{csv}");

    // A finished campaign cannot be paused; another workspace sees nothing.
    let act = wa.org.path(&format!("/campaigns/{id}/actions"));
    let r = wa.org.admin.post(&act, json!({"action": "pause"})).await;
    assert_eq!(r.status, 409);
    let r = wa.org.admin.post(&act, json!({"action": "explode"})).await;
    assert_eq!(r.status, 422);
    let (other, other_ws) = wa.app.other_workspace("eve@other.test").await;
    let r = other
        .get(&format!("/api/v1/workspaces/{other_ws}/campaigns/{id}"))
        .await;
    assert_eq!(r.status, 404);
    let r = other
        .get(&format!("/api/v1/workspaces/{other_ws}/campaigns/{id}/recipients"))
        .await;
    assert_eq!(r.status, 404);
}

/// Pause stops the sending between ticks; resume carries on where it was.
#[tokio::test]
async fn a_paused_campaign_sends_nothing_until_resumed() {
    let wa = start().await;
    let template = approved_template(&wa).await;
    let mut csv = String::from("phone,first\n");
    for i in 0..60 {
        csv.push_str(&format!("{},C{i}\n", number(i)));
    }
    let r = wa
        .org
        .admin
        .post(
            &wa.org.path("/campaigns"),
            json!({"name": "Slow", "channel_id": wa.channel, "template_id": template["id"], "csv": csv,
                   "rate_per_second": 10, "values": {"body": [{"from": "column", "column": "first"}]}}),
        )
        .await;
    assert_eq!(r.status, 201, "{:?}", r.body);
    let id = r["id"].as_str().unwrap().to_owned();
    eventually(Duration::from_secs(10), || async {
        (!wa.graph.sent().is_empty()).then_some(())
    })
    .await;
    let act = wa.org.path(&format!("/campaigns/{id}/actions"));
    let r = wa.org.admin.post(&act, json!({"action": "pause"})).await;
    assert_eq!(
        (r.status.as_u16(), r["status"].as_str()),
        (200, Some("paused")),
        "{:?}",
        r.body
    );
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let paused_at = wa.graph.sent().len();
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert_eq!(wa.graph.sent().len(), paused_at, "nothing sent while paused");
    assert!(paused_at < 60);
    let r = wa.org.admin.post(&act, json!({"action": "resume"})).await;
    assert_eq!(r.status, 200, "{:?}", r.body);
    let done = wa.campaign_until(&id, "completed").await;
    assert_eq!(done["counts"]["sent"], 60, "{}", done["counts"]);
    assert_eq!(wa.sends_by_number().len(), 60);
    assert_eq!(
        wa.graph.sent()[0]["template"]["components"][0]["parameters"][0]["text"],
        "C0"
    );
}

/// STOP opts a customer out of the channel's campaigns with a notice in
/// their chat; START opts them back in.
#[tokio::test]
async fn stop_and_start_opt_a_customer_out_of_campaigns_and_back_in() {
    let wa = start().await;
    let template = approved_template(&wa).await;
    let customer = number(7);
    assert_eq!(
        wa.deliver(&customer_text(&customer, "wamid.S1", "STOP")).await.status,
        200
    );
    let conversation = wa.conversation().await;
    let notice = wa
        .messages(&conversation)
        .await
        .into_iter()
        .find(|m| m["activity"]["type"] == "notice")
        .expect("a notice in the chat");
    assert!(
        notice["activity"]["text"].as_str().unwrap().contains("opted out"),
        "{notice}"
    );
    let campaign = |name: &str| {
        json!({"name": name, "channel_id": wa.channel, "template_id": template["id"],
               "csv": format!("phone,name\n{customer},Sam\n{},Kim\n", number(8)),
               "values": {"body": [{"from": "field", "field": "name"}]}})
    };
    let r = wa.org.admin.post(&wa.org.path("/campaigns"), campaign("First")).await;
    assert_eq!(
        (r.status.as_u16(), r["counts"]["skipped"].as_i64()),
        (201, Some(1)),
        "{:?}",
        r.body
    );
    assert_eq!(
        wa.deliver(&customer_text(&customer, "wamid.S2", "start")).await.status,
        200
    );
    let r = wa.org.admin.post(&wa.org.path("/campaigns"), campaign("Second")).await;
    assert_eq!(
        (r.status.as_u16(), r["counts"]["skipped"].as_i64()),
        (201, Some(0)),
        "{:?}",
        r.body
    );
}
