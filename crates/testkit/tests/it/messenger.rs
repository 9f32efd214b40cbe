//! Messenger and Instagram against the Graph API test server
//! (`switchboard_testkit::messenger`): Meta's handshake and signature,
//! messages once however often they come, files from Meta's CDN, the
//! customer's name from the profile API asked once, echoes of messages sent
//! from Meta's inbox kept as sent outside Switchboard, delivery and read
//! watermarks, quick replies for menus and ratings, replies as responses,
//! then with the HUMAN_AGENT tag, then refused by us (DESIGN.md §6).

use std::sync::Arc;
use std::time::Duration;

use serde_json::{Value, json};
use switchboard_channels::whatsapp::{SIGNATURE_HEADER, sign};
use switchboard_service::{ManualClock, ProviderApis, Registry};
use switchboard_testkit::channel_view::ChannelView;
use switchboard_testkit::client::{Reply, reply_of};
use switchboard_testkit::fixtures::Org;
use switchboard_testkit::media::png;
use switchboard_testkit::messenger::{PageServer, from_customer, webhook};
use switchboard_testkit::{MONDAY_9AM, TestApp, TestOptions, eventually};

pub(crate) const PAGE_ID: &str = "104859372658913";
pub(crate) const TOKEN: &str = "EAAG-page-access-token";
pub(crate) const APP_SECRET: &str = "meta-app-secret-456";
pub(crate) const PSID: &str = "6789012345678901";

pub(crate) struct Page {
    pub(crate) app: TestApp,
    pub(crate) org: Org,
    pub(crate) graph: PageServer,
    pub(crate) channel: String,
    pub(crate) verify_token: String,
    kind: &'static str,
}

fn options(graph: &PageServer) -> TestOptions {
    let mut options = TestOptions::default();
    options.service.channels = Registry::standard_with(&ProviderApis {
        whatsapp: graph.api(),
        ..Default::default()
    });
    options
}

pub(crate) async fn start_kind(kind: &'static str, clock: Option<Arc<ManualClock>>) -> Page {
    let graph = PageServer::start(TOKEN, PAGE_ID).await;
    graph.add_profile(
        PSID,
        json!({"first_name": "Ana", "last_name": "Lima", "profile_pic": "https://cdn.example/ana.jpg", "id": PSID}),
    );
    let mut options = options(&graph);
    if let Some(clock) = clock {
        options.manual_clock = Some(clock);
        options.service.run_jobs = false;
    }
    let app = TestApp::spawn_with(options).await;
    let org = Org::create(&app).await;
    org.set_online(&org.agent, &org.agent_id).await;
    let r = org
        .admin
        .post(
            &org.path("/channels"),
            json!({"kind": kind, "name": "Shop page", "default_team_id": org.team,
                   "config": {"page_id": PAGE_ID, "access_token": TOKEN, "app_secret": APP_SECRET}}),
        )
        .await;
    assert_eq!(r.status, 201, "{:?}", r.body);
    Page {
        channel: r["id"].as_str().unwrap().to_owned(),
        verify_token: r["secret"].as_str().unwrap().to_owned(),
        app,
        org,
        graph,
        kind,
    }
}

impl Page {
    fn view(&self) -> ChannelView {
        ChannelView::of(&self.org, &self.channel)
    }

    fn object(&self) -> &'static str {
        if self.kind == "instagram" { "instagram" } else { "page" }
    }

    async fn post(&self, body: &[u8], signature: Option<String>) -> Reply {
        let mut request = reqwest::Client::new()
            .post(self.app.url(&format!("/hooks/{}/{}", self.kind, self.channel)))
            .header("content-type", "application/json")
            .body(body.to_vec());
        if let Some(signature) = signature {
            request = request.header(SIGNATURE_HEADER, signature);
        }
        reply_of(request.send().await.unwrap()).await
    }

    /// Events for our account, signed as Meta signs them.
    pub(crate) async fn deliver(&self, events: Value) -> Reply {
        let body = webhook(self.object(), PAGE_ID, events);
        let r = self.post(&body, Some(sign(APP_SECRET, &body))).await;
        assert_eq!(r.status, 200, "{:?}", r.body);
        r
    }

    pub(crate) async fn says(&self, mid: &str, text: &str, at: i64) -> Reply {
        self.deliver(json!([from_customer(
            PSID,
            PAGE_ID,
            at,
            json!({"message": {"mid": mid, "text": text}})
        )]))
        .await
    }

    pub(crate) async fn conversation(&self) -> String {
        self.view().conversation().await
    }

    async fn messages(&self, conversation: &str) -> Vec<Value> {
        self.view().messages(conversation).await
    }

    async fn reply(&self, conversation: &str, body: &str) -> Reply {
        self.org
            .agent
            .post(
                &self.org.path(&format!("/conversations/{conversation}/messages")),
                json!({"kind": "text", "body": body}),
            )
            .await
    }

    async fn message_where(&self, conversation: &str, pred: impl Fn(&Value) -> bool) -> Value {
        self.view().message_where(conversation, pred).await
    }
}

#[tokio::test]
async fn a_messenger_page_takes_the_handshake_and_only_signed_events_stored_once() {
    let page = start_kind("messenger", None).await;
    let hook = page.app.url(&format!("/hooks/messenger/{}", page.channel));
    let ok = reqwest::get(format!(
        "{hook}?hub.mode=subscribe&hub.verify_token={}&hub.challenge=1158201444",
        page.verify_token
    ))
    .await
    .unwrap();
    assert_eq!(ok.status(), 200);
    assert_eq!(ok.text().await.unwrap(), "1158201444");
    let wrong = reqwest::get(format!(
        "{hook}?hub.mode=subscribe&hub.verify_token=nope&hub.challenge=1"
    ))
    .await
    .unwrap();
    assert_eq!(wrong.status(), 401);

    let body = webhook(
        "page",
        PAGE_ID,
        json!([from_customer(
            PSID,
            PAGE_ID,
            1_730_000_000_400,
            json!({"message": {"mid": "m_forged", "text": "x"}})
        )]),
    );
    assert_eq!(page.post(&body, Some(sign("another secret", &body))).await.status, 401);
    assert_eq!(page.post(&body, None).await.status, 401);

    for _ in 0..5 {
        page.says("m_1", "Hello, is my order shipped?", 1_730_000_000_400).await;
    }
    let all =
        futures::future::join_all((0..5).map(|_| page.says("m_1", "Hello, is my order shipped?", 1_730_000_000_400)))
            .await;
    assert_eq!(all.len(), 5);
    let conversation = page.conversation().await;
    let inbound: Vec<Value> = page
        .messages(&conversation)
        .await
        .into_iter()
        .filter(|m| m["direction"] == "in")
        .collect();
    assert_eq!(inbound.len(), 1);
    // The name came from the profile API, asked once.
    let c = page
        .org
        .admin
        .get(&page.org.path(&format!("/conversations/{conversation}")))
        .await;
    let contact = page
        .org
        .admin
        .get(
            &page
                .org
                .path(&format!("/contacts/{}", c["contact_id"].as_str().unwrap())),
        )
        .await;
    assert_eq!(contact["name"], "Ana Lima");
    page.says("m_2", "Hello?", 1_730_000_000_500).await;
    assert_eq!(page.graph.profile_calls(PSID), 1);

    // A photo from Meta's CDN, stored with its preview.
    let image = png(40, 30, 1);
    let url = page.graph.add_file("photo.png", image.clone());
    page.deliver(json!([from_customer(
        PSID,
        PAGE_ID,
        1_730_000_000_600,
        json!({"message": {"mid": "m_img",
        "attachments": [{"type": "image", "payload": {"url": url}}]}})
    )]))
    .await;
    let photo = page
        .message_where(&conversation, |m| m["provider_message_id"] == "m_img")
        .await;
    assert_eq!(photo["attachments"][0]["size"].as_u64(), Some(image.len() as u64));
    assert!(photo["attachments"][0]["preview_url"].is_string());

    // Our reply goes as a response, marked as ours; its echo is not kept twice.
    let r = page.reply(&conversation, "It left the warehouse today.").await;
    assert_eq!(r.status, 201, "{:?}", r.body);
    let reply_id = r["id"].as_str().unwrap().to_owned();
    let sent = eventually(Duration::from_secs(10), || async { page.graph.sent().first().cloned() }).await;
    assert_eq!(
        sent,
        json!({"recipient": {"id": PSID}, "messaging_type": "RESPONSE",
               "message": {"text": "It left the warehouse today.", "metadata": format!("switchboard:{reply_id}")}})
    );
    let ours = page
        .message_where(&conversation, |m| {
            m["id"] == reply_id.as_str() && m["delivery_status"] == "sent"
        })
        .await;
    let mid = ours["provider_message_id"].as_str().unwrap().to_owned();
    page.deliver(json!([from_customer(
        PAGE_ID,
        PSID,
        1_730_000_001_000,
        json!({"message": {"mid": mid,
        "text": "It left the warehouse today.", "is_echo": true, "metadata": format!("switchboard:{reply_id}")}})
    )]))
    .await;

    // The agent types: the customer sees it; a file goes by its signed link.
    let r = page
        .org
        .agent
        .post(
            &page.org.path(&format!("/conversations/{conversation}/typing")),
            json!({}),
        )
        .await;
    assert_eq!(r.status, 204, "{:?}", r.body);
    eventually(Duration::from_secs(10), || async {
        page.graph
            .sent()
            .contains(&json!({"recipient": {"id": PSID}, "sender_action": "typing_on"}))
            .then_some(())
    })
    .await;
    let r = page
        .org
        .agent
        .send_raw(
            reqwest::Method::POST,
            &page
                .org
                .path(&format!("/conversations/{conversation}/attachments?filename=label.png")),
            Some("application/octet-stream"),
            png(16, 16, 3),
        )
        .await;
    assert_eq!(r.status, 201, "{:?}", r.body);
    let file = eventually(Duration::from_secs(10), || async {
        page.graph
            .sent()
            .into_iter()
            .find(|b| b["message"].get("attachment").is_some())
    })
    .await;
    assert_eq!(file["message"]["attachment"]["type"], "image");
    let link = file["message"]["attachment"]["payload"]["url"].as_str().unwrap();
    assert!(
        link.contains(&format!("/hooks/messenger/{}/files/", page.channel)),
        "{link}"
    );
    assert_eq!(reqwest::get(link).await.unwrap().status(), 200);

    // Sent from the Page's own inbox: kept, marked as sent outside Switchboard.
    page.deliver(json!([from_customer(
        PAGE_ID,
        PSID,
        1_730_000_002_000,
        json!({"message": {"mid": "m_outside",
        "text": "Hi! This is Bo from the shop.", "is_echo": true, "app_id": 263_902_037_430_900i64}})
    )]))
    .await;
    let outside = page
        .message_where(&conversation, |m| m["provider_message_id"] == "m_outside")
        .await;
    assert_eq!(
        (
            outside["direction"].as_str(),
            outside["sender_kind"].as_str(),
            outside["sender_id"].as_str()
        ),
        (Some("out"), Some("system"), Some("outside"))
    );
    let outs = page
        .messages(&conversation)
        .await
        .into_iter()
        .filter(|m| m["direction"] == "out" && m["kind"] != "activity")
        .count();
    assert_eq!(outs, 3, "our reply and file once each, the Page inbox's once");

    // Watermarks: delivered, then read, never back.
    let later = ours["created_at"].as_i64().unwrap() + 1000;
    page.deliver(json!([{"sender": {"id": PSID}, "recipient": {"id": PAGE_ID}, "read": {"watermark": later}}]))
        .await;
    page.deliver(json!([{"sender": {"id": PSID}, "recipient": {"id": PAGE_ID}, "delivery": {"watermark": later}}]))
        .await;
    let read = page
        .message_where(&conversation, |m| m["id"] == reply_id.as_str())
        .await;
    assert_eq!(read["delivery_status"], "read");

    // Meta refuses with its reason: the message fails with it.
    page.graph.fail_next(400, 551, "This person isn't available right now.");
    let r = page.reply(&conversation, "Hello?").await;
    let failed_id = r["id"].as_str().unwrap().to_owned();
    let failed = page
        .message_where(&conversation, |m| {
            m["id"] == failed_id.as_str() && m["delivery_status"] == "failed"
        })
        .await;
    assert!(
        failed["delivery_error"]
            .as_str()
            .unwrap()
            .contains("isn't available right now"),
        "{failed}"
    );
}

/// DESIGN.md §6 for Messenger: a reply within 24 hours is a response; on
/// day 3 it goes with the HUMAN_AGENT tag; on day 8 we refuse it, naming
/// the rule, before any call to Meta.
#[tokio::test]
async fn replies_after_24_hours_go_tagged_for_7_days_and_are_refused_after() {
    let clock = Arc::new(ManualClock::new(MONDAY_9AM));
    let page = start_kind("messenger", Some(clock.clone())).await;
    page.says("m_w1", "hello", MONDAY_9AM.0).await;
    let conversation = page.conversation().await;
    let r = page.reply(&conversation, "Within the day").await;
    assert_eq!(r.status, 201, "{:?}", r.body);
    run_jobs(&page).await;
    clock.advance(3 * 24 * 3600 * 1000);
    // The composer says which rule applies now.
    let pane_path = format!("/w/{}/conversations/{conversation}/pane", page.org.ws);
    let (status, _, pane) = page.org.agent.get_text(&pane_path).await;
    assert_eq!(status, 200);
    assert!(pane.contains("your replies go with the HUMAN_AGENT tag"), "{pane}");
    assert!(pane.contains(r#"data-window-open="true""#));
    let r = page.reply(&conversation, "Following up on day 3").await;
    assert_eq!(r.status, 201, "{:?}", r.body);
    run_jobs(&page).await;
    let sent = page.graph.sent();
    assert_eq!(sent.len(), 2, "{sent:?}");
    assert_eq!(sent[0]["messaging_type"], "RESPONSE");
    assert!(sent[0].get("tag").is_none());
    assert_eq!(
        (sent[1]["messaging_type"].as_str(), sent[1]["tag"].as_str()),
        (Some("MESSAGE_TAG"), Some("HUMAN_AGENT"))
    );

    clock.advance(5 * 24 * 3600 * 1000);
    let (_, _, pane) = page.org.agent.get_text(&pane_path).await;
    assert!(
        pane.contains("Nothing can reach the customer on this channel"),
        "{pane}"
    );
    assert!(pane.contains(r#"data-window-open="false""#));
    let r = page.reply(&conversation, "Day 8").await;
    assert_eq!((r.status.as_u16(), r.code()), (409, "window_closed"), "{:?}", r.body);
    let message = r.body["error"]["message"].as_str().unwrap();
    assert!(
        message.contains("7 days") && message.contains("HUMAN_AGENT"),
        "{message}"
    );
    run_jobs(&page).await;
    assert_eq!(page.graph.sent().len(), 2, "Meta was not called");
}

async fn run_jobs(page: &Page) {
    while page.app.services.run_due_jobs().await.expect("jobs") > 0 {}
}

const FLOW: &str = r#"
greeting: Hi!
fallback_team: Support
steps:
  menu:
    say: What can I do for you?
    options:
      - label: Order status
        next: status
      - label: Something else
        handoff: true
  status:
    say: Let me check your order.
    handoff: true
"#;

#[tokio::test]
async fn instagram_menus_and_ratings_are_quick_replies_answered_by_a_tap() {
    let page = start_kind("instagram", None).await;
    let r = page
        .org
        .admin
        .put(
            &page.org.path(&format!("/channels/{}/bot", page.channel)),
            json!({"kind": "flow", "source": FLOW}),
        )
        .await;
    assert_eq!(r.status, 200, "{:?}", r.body);
    // A story reply opens the chat.
    page.deliver(json!([from_customer(
        PSID,
        PAGE_ID,
        1_730_000_000_400,
        json!({"message": {"mid": "m_story",
        "text": "love this!", "reply_to": {"story": {"url": "https://cdn.example/story.mp4", "id": "1789"}}}})
    )]))
    .await;
    let conversation = page.conversation().await;
    let story = page
        .message_where(&conversation, |m| m["provider_message_id"] == "m_story")
        .await;
    assert_eq!(
        story["body"],
        "Replied to your story: https://cdn.example/story.mp4\nlove this!"
    );
    let menu = eventually(Duration::from_secs(15), || async {
        page.graph
            .sent()
            .into_iter()
            .find(|b| b["message"].get("quick_replies").is_some())
    })
    .await;
    assert_eq!(menu["message"]["text"], "What can I do for you?");
    assert_eq!(
        menu["message"]["quick_replies"][0],
        json!({"content_type": "text", "title": "Order status", "payload": "Order status"})
    );
    // The tap: Instagram sends the title as text and our payload.
    page.deliver(json!([from_customer(
        PSID,
        PAGE_ID,
        1_730_000_000_500,
        json!({"message": {"mid": "m_tap",
        "text": "Order status", "quick_reply": {"payload": "Order status"}}})
    )]))
    .await;
    eventually(Duration::from_secs(15), || async {
        page.graph
            .sent()
            .iter()
            .any(|b| b["message"]["text"] == "Let me check your order.")
            .then_some(())
    })
    .await;

    let r = page
        .org
        .admin
        .post(
            &page.org.path(&format!("/conversations/{conversation}/status")),
            json!({"status": "resolved", "feedback_request": true}),
        )
        .await;
    assert!(r.status.is_success(), "{:?}", r.body);
    let ask = eventually(Duration::from_secs(15), || async {
        page.graph.sent().into_iter().find(|b| {
            b["message"]["text"]
                .as_str()
                .is_some_and(|t| t.starts_with("How would you rate"))
        })
    })
    .await;
    assert_eq!(ask["message"]["quick_replies"].as_array().map(Vec::len), Some(5));
    page.deliver(json!([from_customer(
        PSID,
        PAGE_ID,
        1_730_000_000_900,
        json!({"message": {"mid": "m_rate",
        "text": "4", "quick_reply": {"payload": "4"}}})
    )]))
    .await;
    eventually(Duration::from_secs(10), || async {
        let c = page
            .org
            .admin
            .get(&page.org.path(&format!("/conversations/{conversation}")))
            .await;
        (c["rating"] == 4).then_some(())
    })
    .await;
    // Instagram's object only: a Messenger body is refused.
    let body = webhook("page", PAGE_ID, json!([]));
    assert_eq!(page.post(&body, Some(sign(APP_SECRET, &body))).await.status, 422);
}
