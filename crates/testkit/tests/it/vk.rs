//! VK against the API test server (`switchboard_testkit::vk`): the Callback
//! API's confirmation answered with the configured string, the secret key
//! checked, `message_new` stored once however often it comes (files from
//! VK's CDN, the customer's name from `users.get` once), replies through
//! `messages.send` with a `random_id` VK uses to drop resends (so a retry
//! after a lost answer is one message), quotes, menus as keyboards
//! answered by a tap, the rating by a tap, and messages sent from VK's own
//! inbox kept as sent outside Switchboard.

use std::time::Duration;

use serde_json::{Value, json};
use switchboard_service::{ProviderApis, Registry};
use switchboard_testkit::channel_view::ChannelView;
use switchboard_testkit::client::Reply;
use switchboard_testkit::fixtures::Org;
use switchboard_testkit::media::png;
use switchboard_testkit::vk::{VkServer, message_new, notification, param};
use switchboard_testkit::{TestApp, TestOptions, eventually};

const GROUP: i64 = 218_000_123;
const TOKEN: &str = "vk1.a.community-token-for-tests";
const CONFIRMATION: &str = "a1b2c3d4";
const PEER: i64 = 55_555;

struct Vk {
    app: TestApp,
    org: Org,
    vk: VkServer,
    channel: String,
    secret: String,
}

async fn start() -> Vk {
    let vk = VkServer::start(TOKEN).await;
    vk.add_user(
        &PEER.to_string(),
        json!({"id": PEER, "first_name": "Ivan", "last_name": "Petrov", "photo_100": "https://cdn/ivan.jpg"}),
    );
    let mut options = TestOptions::default();
    options.service.channels = Registry::standard_with(&ProviderApis {
        vk: vk.api(),
        ..Default::default()
    });
    let app = TestApp::spawn_with(options).await;
    let org = Org::create(&app).await;
    org.set_online(&org.agent, &org.agent_id).await;
    let r = org
        .admin
        .post(
            &org.path("/channels"),
            json!({"kind": "vk", "name": "VK community", "default_team_id": org.team,
                   "config": {"group_id": GROUP.to_string(), "access_token": TOKEN, "confirmation": CONFIRMATION}}),
        )
        .await;
    assert_eq!(r.status, 201, "{:?}", r.body);
    Vk {
        channel: r["id"].as_str().unwrap().to_owned(),
        secret: r["secret"].as_str().unwrap().to_owned(),
        app,
        org,
        vk,
    }
}

impl Vk {
    fn view(&self) -> ChannelView {
        ChannelView::of(&self.org, &self.channel)
    }

    async fn post(&self, body: &Value) -> (u16, String) {
        let r = reqwest::Client::new()
            .post(self.app.url(&format!("/hooks/vk/{}", self.channel)))
            .json(body)
            .send()
            .await
            .unwrap();
        (r.status().as_u16(), r.text().await.unwrap())
    }

    async fn deliver(&self, body: &Value) {
        assert_eq!(self.post(body).await, (200, "ok".to_owned()));
    }

    async fn conversation(&self) -> String {
        self.view().conversation().await
    }

    async fn messages(&self, conversation: &str) -> Vec<Value> {
        self.view().messages(conversation).await
    }

    async fn message_where(&self, conversation: &str, pred: impl Fn(&Value) -> bool) -> Value {
        self.view().message_where(conversation, pred).await
    }

    async fn reply(&self, conversation: &str, body: Value) -> Reply {
        self.org
            .agent
            .post(&self.org.path(&format!("/conversations/{conversation}/messages")), body)
            .await
    }
}

#[tokio::test]
async fn a_vk_community_confirms_checks_its_secret_and_stores_each_message_once() {
    let vk = start().await;
    let confirm = json!({"type": "confirmation", "group_id": GROUP, "secret": vk.secret});
    assert_eq!(vk.post(&confirm).await, (200, CONFIRMATION.to_owned()));
    let other_group = json!({"type": "confirmation", "group_id": 1, "secret": vk.secret});
    assert_eq!(vk.post(&other_group).await.0, 422);

    let forged = message_new(GROUP, "not-the-secret-key-at-all", PEER, 1, "hi", json!([]));
    assert_eq!(vk.post(&forged).await.0, 401);
    let mut unsigned = message_new(GROUP, "", PEER, 1, "hi", json!([]));
    unsigned.as_object_mut().unwrap().remove("secret");
    assert_eq!(vk.post(&unsigned).await.0, 401);
    let r = vk.org.admin.get(&vk.org.path("/conversations")).await;
    assert_eq!(r["items"].as_array().map(Vec::len), Some(0));

    let hello = message_new(GROUP, &vk.secret, PEER, 2169, "Hello! Where is my parcel?", json!([]));
    for _ in 0..5 {
        vk.deliver(&hello).await;
    }
    futures::future::join_all((0..5).map(|_| vk.deliver(&hello))).await;
    let conversation = vk.conversation().await;
    let inbound: Vec<Value> = vk
        .messages(&conversation)
        .await
        .into_iter()
        .filter(|m| m["direction"] == "in")
        .collect();
    assert_eq!(inbound.len(), 1);
    assert_eq!(inbound[0]["provider_message_id"], format!("{PEER}:2169"));
    let c = vk
        .org
        .admin
        .get(&vk.org.path(&format!("/conversations/{conversation}")))
        .await;
    let contact = vk
        .org
        .admin
        .get(&vk.org.path(&format!("/contacts/{}", c["contact_id"].as_str().unwrap())))
        .await;
    assert_eq!(contact["name"], "Ivan Petrov");
    assert_eq!(vk.vk.calls_of("users.get").len(), 1);

    // A photo: the largest size, from VK's CDN.
    let image = png(30, 30, 9);
    let url = vk.vk.add_file("photo.png", image.clone());
    vk.deliver(&message_new(
        GROUP,
        &vk.secret,
        PEER,
        2170,
        "",
        json!([{"type": "photo", "photo": {
        "id": 457239017, "owner_id": PEER, "access_key": "ab12",
        "sizes": [{"type": "s", "url": format!("{}/cdn/small.png", vk.vk.url), "width": 75, "height": 75},
                  {"type": "x", "url": url, "width": 604, "height": 604}]}}]),
    ))
    .await;
    let photo = vk
        .message_where(&conversation, |m| m["provider_message_id"] == format!("{PEER}:2170"))
        .await;
    assert_eq!(photo["attachments"][0]["size"].as_u64(), Some(image.len() as u64));

    // A quoted reply; VK's internal error retried with the same random_id: one message at VK.
    vk.vk.fail_next(10, "Internal server error");
    let r = vk
        .reply(
            &conversation,
            json!({"kind": "text", "body": "It ships today.", "in_reply_to": inbound[0]["id"]}),
        )
        .await;
    assert_eq!(r.status, 201, "{:?}", r.body);
    let id = r["id"].as_str().unwrap().to_owned();
    let sent = vk
        .message_where(&conversation, |m| {
            m["id"] == id.as_str() && m["delivery_status"] == "sent"
        })
        .await;
    let sends = vk.vk.calls_of("messages.send");
    assert_eq!(sends.len(), 2, "one failure, one retry");
    assert_eq!(param(&sends[0], "random_id"), param(&sends[1], "random_id"));
    assert_eq!(param(&sends[1], "peer_ids"), Some(PEER.to_string().as_str()));
    let forward: Value = serde_json::from_str(param(&sends[1], "forward").unwrap()).unwrap();
    assert_eq!(
        forward,
        json!({"peer_id": PEER, "conversation_message_ids": [2169], "is_reply": true})
    );
    assert_eq!(vk.vk.messages_kept(), 1);
    let cmid = sent["provider_message_id"].as_str().unwrap().to_owned();

    // The echo of ours is not kept twice; one from VK's own inbox is kept.
    let (_, our_cmid) = cmid.split_once(':').unwrap();
    vk.deliver(&notification(
        "message_reply",
        GROUP,
        &vk.secret,
        "echo1",
        json!({"id": 0, "date": 1_730_000_100,
        "peer_id": PEER, "from_id": -GROUP, "text": "It ships today.", "out": 1,
        "conversation_message_id": our_cmid.parse::<i64>().unwrap(),
        "random_id": switchboard_channels::vk::random_id(&id)}),
    ))
    .await;
    vk.deliver(&notification(
        "message_reply",
        GROUP,
        &vk.secret,
        "echo2",
        json!({"id": 0, "date": 1_730_000_200,
        "peer_id": PEER, "from_id": -GROUP, "text": "Sent by Olga from VK", "out": 1, "admin_author_id": 1,
        "conversation_message_id": 2999, "random_id": 771_234}),
    ))
    .await;
    let outside = vk
        .message_where(&conversation, |m| m["provider_message_id"] == format!("{PEER}:2999"))
        .await;
    assert_eq!(
        (outside["sender_kind"].as_str(), outside["sender_id"].as_str()),
        (Some("system"), Some("outside"))
    );
    let outs = vk
        .messages(&conversation)
        .await
        .into_iter()
        .filter(|m| m["direction"] == "out" && m["kind"] != "activity")
        .count();
    assert_eq!(outs, 2);

    // Not allowed to write to them: fails with VK's reason.
    vk.vk.fail_next(901, "Can't send messages for users without permission");
    let r = vk.reply(&conversation, json!({"kind": "text", "body": "Hello?"})).await;
    let id = r["id"].as_str().unwrap().to_owned();
    let failed = vk
        .message_where(&conversation, |m| {
            m["id"] == id.as_str() && m["delivery_status"] == "failed"
        })
        .await;
    assert!(
        failed["delivery_error"]
            .as_str()
            .unwrap()
            .contains("not allowed messages"),
        "{failed}"
    );
}

const FLOW: &str = r#"
greeting: Hi!
fallback_team: Support
steps:
  menu:
    say: What can I do for you?
    options:
      - label: Delivery
        next: delivery
      - label: Something else
        handoff: true
  delivery:
    say: Delivery takes two days.
    handoff: true
"#;

#[tokio::test]
async fn a_bot_menu_is_a_keyboard_answered_by_a_tap_and_so_is_the_rating() {
    let vk = start().await;
    let r = vk
        .org
        .admin
        .put(
            &vk.org.path(&format!("/channels/{}/bot", vk.channel)),
            json!({"kind": "flow", "source": FLOW}),
        )
        .await;
    assert_eq!(r.status, 200, "{:?}", r.body);
    vk.deliver(&message_new(GROUP, &vk.secret, PEER, 10, "hi", json!([])))
        .await;
    let menu = eventually(Duration::from_secs(15), || async {
        vk.vk
            .calls_of("messages.send")
            .into_iter()
            .find(|s| param(s, "keyboard").is_some())
    })
    .await;
    assert_eq!(param(&menu, "message"), Some("What can I do for you?"));
    let keyboard: Value = serde_json::from_str(param(&menu, "keyboard").unwrap()).unwrap();
    assert_eq!(
        keyboard["buttons"][0][0]["action"],
        json!({"type": "text", "label": "Delivery"})
    );
    // A text button's tap is the label, as the customer's message.
    let mut tap = message_new(GROUP, &vk.secret, PEER, 11, "Delivery", json!([]));
    tap["object"]["message"]["payload"] = json!("{\"button\":\"1\"}");
    vk.deliver(&tap).await;
    eventually(Duration::from_secs(15), || async {
        vk.vk
            .calls_of("messages.send")
            .iter()
            .any(|s| param(s, "message") == Some("Delivery takes two days."))
            .then_some(())
    })
    .await;
    let conversation = vk.conversation().await;
    let r = vk
        .org
        .admin
        .post(
            &vk.org.path(&format!("/conversations/{conversation}/status")),
            json!({"status": "resolved", "feedback_request": true}),
        )
        .await;
    assert!(r.status.is_success(), "{:?}", r.body);
    let ask = eventually(Duration::from_secs(15), || async {
        vk.vk
            .calls_of("messages.send")
            .into_iter()
            .find(|s| param(s, "message").is_some_and(|m| m.starts_with("How would you rate")))
    })
    .await;
    let stars: Value = serde_json::from_str(param(&ask, "keyboard").unwrap()).unwrap();
    assert_eq!(stars["buttons"].as_array().map(Vec::len), Some(5));
    vk.deliver(&message_new(GROUP, &vk.secret, PEER, 12, "5", json!([])))
        .await;
    eventually(Duration::from_secs(10), || async {
        let c = vk
            .org
            .admin
            .get(&vk.org.path(&format!("/conversations/{conversation}")))
            .await;
        (c["rating"] == 5).then_some(())
    })
    .await;
    // Check connection names the community.
    let r = vk
        .org
        .admin
        .post(&vk.org.path(&format!("/channels/{}/check", vk.channel)), json!({}))
        .await;
    assert_eq!(r["ok"], true, "{:?}", r.body);
    assert!(r["message"].as_str().unwrap().contains("Acme Shop"));
}

/// The agent's files go to VK first: an image through the photo upload
/// server and `photos.saveMessagesPhoto`, a PDF through the document
/// upload server and `docs.save`; each message names what VK saved.
#[tokio::test]
async fn files_are_uploaded_to_vk_before_they_are_sent() {
    let vk = start().await;
    vk.deliver(&message_new(
        GROUP,
        &vk.secret,
        PEER,
        2300,
        "Send me the invoice please",
        json!([]),
    ))
    .await;
    let conversation = vk.conversation().await;
    let image = png(16, 16, 2);
    let invoice = b"%PDF-1.4\ninvoice 42\n".to_vec();
    for (name, mime, bytes) in [
        ("box.png", "image/png", image.clone()),
        ("invoice.pdf", "application/pdf", invoice.clone()),
    ] {
        let r = vk
            .org
            .agent
            .send_raw(
                reqwest::Method::POST,
                &vk.org
                    .path(&format!("/conversations/{conversation}/attachments?filename={name}")),
                Some(mime),
                bytes,
            )
            .await;
        assert_eq!(r.status, 201, "{:?}", r.body);
    }
    let sends = eventually(Duration::from_secs(15), || async {
        let sends = vk.vk.calls_of("messages.send");
        (sends.len() >= 2).then_some(sends)
    })
    .await;
    let attachments: Vec<&str> = sends.iter().filter_map(|s| param(s, "attachment")).collect();
    assert_eq!(attachments, vec!["photo-218000123_457239100_k3y", "doc55555_660000001"]);
    let uploads = vk.vk.uploads();
    assert_eq!(uploads.len(), 2);
    assert_eq!(
        (uploads[0].0.as_str(), uploads[0].1.as_str(), &uploads[0].2),
        ("photo", "box.png", &image)
    );
    assert_eq!(
        (uploads[1].0.as_str(), uploads[1].1.as_str(), &uploads[1].2),
        ("file", "invoice.pdf", &invoice)
    );
    assert_eq!(param(&vk.vk.calls_of("docs.save")[0], "title"), Some("invoice.pdf"));
    for call in ["photos.getMessagesUploadServer", "docs.getMessagesUploadServer"] {
        assert_eq!(
            param(&vk.vk.calls_of(call)[0], "peer_id"),
            Some(PEER.to_string().as_str()),
            "{call}"
        );
    }
}
