//! Telegram against the Bot API test server (`switchboard_testkit::telegram`):
//! connecting a bot (its token checked with `getMe`, our hook registered
//! with a secret and the channel id, never the token), updates checked by
//! the secret header and stored once however often they come, files
//! fetched with `getFile`, edits kept with their history, replies (split,
//! quoted, files uploaded), Telegram's 429 waited out, bot menus as inline
//! keyboards answered by a tap, ratings by a tap, long polling, and the
//! fixtures read by python-telegram-bot.

use std::time::Duration;

use serde_json::{Value, json};
use switchboard_channels::telegram::SECRET_HEADER;
use switchboard_service::{ProviderApis, Registry};
use switchboard_testkit::client::{Reply, reply_of};
use switchboard_testkit::fixtures::Org;
use switchboard_testkit::media::png;
use switchboard_testkit::telegram::{
    BotApiServer, CHAT_ID, edit_update, message_update, photo_update, tap_update, text_update,
};
use switchboard_testkit::{TestApp, TestOptions, eventually};

const TOKEN: &str = "7123456789:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw";
/// Where Telegram reaches this server (behind its proxy).
const PUBLIC_URL: &str = "https://support.example.com";

pub(crate) struct Telegram {
    pub(crate) app: TestApp,
    pub(crate) org: Org,
    pub(crate) bot: BotApiServer,
    channel: String,
    secret: String,
}

fn options(bot: &BotApiServer) -> TestOptions {
    let mut options = TestOptions::default();
    options.service.channels = Registry::standard_with(&ProviderApis {
        telegram: bot.api(PUBLIC_URL),
        ..Default::default()
    });
    options
}

async fn create(org: &Org, config: Value) -> Reply {
    org.admin
        .post(
            &org.path("/channels"),
            json!({"kind": "telegram", "name": "Telegram bot", "default_team_id": org.team, "config": config}),
        )
        .await
}

async fn start_with(mode: &str) -> Telegram {
    let bot = BotApiServer::start(TOKEN).await;
    let app = TestApp::spawn_with(options(&bot)).await;
    let org = Org::create(&app).await;
    org.set_online(&org.agent, &org.agent_id).await;
    let r = create(&org, json!({"bot_token": TOKEN, "mode": mode})).await;
    assert_eq!(r.status, 201, "{:?}", r.body);
    Telegram {
        channel: r["id"].as_str().unwrap().to_owned(),
        secret: r["secret"].as_str().unwrap().to_owned(),
        app,
        org,
        bot,
    }
}

pub(crate) async fn start() -> Telegram {
    start_with("webhook").await
}

impl Telegram {
    async fn post(&self, update: &Value, secret: Option<&str>) -> Reply {
        let mut request = reqwest::Client::new()
            .post(self.app.url(&format!("/hooks/telegram/{}", self.channel)))
            .header("content-type", "application/json")
            .body(update.to_string());
        if let Some(secret) = secret {
            request = request.header(SECRET_HEADER, secret);
        }
        reply_of(request.send().await.unwrap()).await
    }

    pub(crate) async fn deliver(&self, update: &Value) -> Reply {
        let r = self.post(update, Some(&self.secret)).await;
        assert_eq!(r.status, 200, "{:?}", r.body);
        r
    }

    async fn conversations(&self) -> Vec<Value> {
        let r = self
            .org
            .admin
            .get(&self.org.path(&format!("/conversations?channel={}", self.channel)))
            .await;
        r["items"].as_array().unwrap().clone()
    }

    pub(crate) async fn conversation(&self) -> String {
        eventually(Duration::from_secs(10), || async {
            self.conversations()
                .await
                .first()
                .map(|c| c["id"].as_str().unwrap().to_owned())
        })
        .await
    }

    async fn messages(&self, conversation: &str) -> Vec<Value> {
        let r = self
            .org
            .admin
            .get(
                &self
                    .org
                    .path(&format!("/conversations/{conversation}/messages?limit=200")),
            )
            .await;
        r["items"].as_array().unwrap_or_else(|| panic!("{:?}", r.body)).clone()
    }

    async fn inbound(&self, conversation: &str) -> Vec<Value> {
        self.messages(conversation)
            .await
            .into_iter()
            .filter(|m| m["direction"] == "in")
            .collect()
    }

    async fn reply(&self, conversation: &str, body: Value) -> String {
        let r = self
            .org
            .agent
            .post(&self.org.path(&format!("/conversations/{conversation}/messages")), body)
            .await;
        assert_eq!(r.status, 201, "{:?}", r.body);
        r["id"].as_str().unwrap().to_owned()
    }

    /// The message once its delivery status is `status`.
    async fn delivered(&self, conversation: &str, id: &str, status: &str) -> Value {
        eventually(Duration::from_secs(15), || async {
            self.messages(conversation)
                .await
                .into_iter()
                .find(|m| m["id"] == id && m["delivery_status"] == status)
        })
        .await
    }
}

#[tokio::test]
async fn a_bot_is_connected_by_its_token_with_our_hook_registered_and_removed() {
    let bot = BotApiServer::start(TOKEN).await;
    let app = TestApp::spawn_with(options(&bot)).await;
    let org = Org::create(&app).await;

    // A token of the right shape that Telegram does not know: the field's error.
    let r = create(
        &org,
        json!({"bot_token": "7123456789:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"}),
    )
    .await;
    assert_eq!(r.status, 422, "{:?}", r.body);
    assert_eq!(r["error"]["field"], "config.bot_token", "{:?}", r.body);
    assert!(
        r["error"]["message"].as_str().unwrap().contains("Unauthorized"),
        "{:?}",
        r.body
    );
    let r = create(&org, json!({"bot_token": "not a token"})).await;
    assert_eq!(
        (r.status.as_u16(), r["error"]["field"].as_str()),
        (422, Some("config.bot_token"))
    );
    assert!(bot.webhook().is_none());
    let r = org.admin.get(&org.path("/channels")).await;
    assert!(
        r["items"].as_array().unwrap().iter().all(|c| c["kind"] != "telegram"),
        "nothing stored"
    );

    // Telegram refuses a hook that is not HTTPS: the mode's error, naming polling.
    bot.require_https();
    let plain = BotApiServer::start(TOKEN).await;
    plain.require_https();
    let mut plain_options = options(&plain);
    plain_options.service.channels = Registry::standard_with(&ProviderApis {
        telegram: plain.api("http://intranet.example"),
        ..Default::default()
    });
    let plain_app = TestApp::spawn_with(plain_options).await;
    let plain_org = Org::create(&plain_app).await;
    let r = create(&plain_org, json!({"bot_token": TOKEN})).await;
    assert_eq!(
        (r.status.as_u16(), r["error"]["field"].as_str()),
        (422, Some("config.mode")),
        "{:?}",
        r.body
    );
    assert!(
        r["error"]["message"].as_str().unwrap().contains("polling"),
        "{:?}",
        r.body
    );

    let r = create(&org, json!({"bot_token": TOKEN})).await;
    assert_eq!(r.status, 201, "{:?}", r.body);
    let id = r["id"].as_str().unwrap();
    let secret = r["secret"].as_str().unwrap();
    let (url, secret_token) = bot.webhook().expect("setWebhook was called");
    assert_eq!(url, format!("{PUBLIC_URL}/hooks/telegram/{id}"));
    assert!(!url.contains("AAHdq") && !url.contains("7123456789"), "{url}");
    assert_eq!(secret_token, secret);
    let set = bot.calls_of("setWebhook");
    assert_eq!(
        set[0]["allowed_updates"],
        json!(["message", "edited_message", "callback_query"])
    );
    // The token is never shown again.
    let listed = org.admin.get(&org.path("/channels")).await;
    assert!(!listed.body.to_string().contains("AAHdq"));
    let channel = listed["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["id"] == id)
        .unwrap()
        .clone();
    assert_eq!(
        channel["config"],
        json!({"mode": "webhook", "bot_id": "7123456789", "bot_token_set": true})
    );

    // Check connection: the bot and what Telegram last failed at.
    bot.set_last_error(1_730_000_000, "Wrong response from the webhook: 502 Bad Gateway");
    let r = org
        .admin
        .post(&org.path(&format!("/channels/{id}/check")), json!({}))
        .await;
    assert_eq!(r["ok"], true, "{:?}", r.body);
    let message = r["message"].as_str().unwrap();
    assert!(message.contains("@switchboard_test_bot"), "{message}");
    assert!(message.contains("502 Bad Gateway"), "{message}");

    // A new secret is registered with Telegram at once.
    let r = org
        .admin
        .patch(&org.path(&format!("/channels/{id}")), json!({"rotate_secret": true}))
        .await;
    assert_eq!(r.status, 200, "{:?}", r.body);
    assert_eq!(bot.webhook().unwrap().1, r["secret"].as_str().unwrap());

    // Deleting the channel removes the hook.
    let r = org.admin.delete(&org.path(&format!("/channels/{id}"))).await;
    assert_eq!(r.status, 204, "{:?}", r.body);
    assert!(bot.webhook().is_none());
    assert_eq!(bot.calls_of("deleteWebhook").len(), 1);
}

#[tokio::test]
async fn a_text_arrives_once_only_with_the_secret_and_the_reply_quotes_it() {
    let tg = start().await;
    let update = text_update(900_000_001, 5, "Hello, my order is late");
    assert_eq!(tg.post(&update, None).await.status, 401);
    assert_eq!(
        tg.post(&update, Some("a-wrong-secret-of-some-length")).await.status,
        401
    );
    assert!(tg.conversations().await.is_empty());

    for _ in 0..5 {
        tg.deliver(&update).await;
    }
    let all = futures::future::join_all((0..5).map(|_| tg.deliver(&update))).await;
    assert_eq!(all.len(), 5);
    let conversation = tg.conversation().await;
    let inbound = tg.inbound(&conversation).await;
    assert_eq!(inbound.len(), 1, "{inbound:?}");
    assert_eq!(inbound[0]["body"], "Hello, my order is late");
    assert_eq!(inbound[0]["provider_message_id"], format!("{CHAT_ID}:5"));
    let contact_id = tg.conversations().await[0]["contact_id"].as_str().unwrap().to_owned();
    let contact = tg.org.admin.get(&tg.org.path(&format!("/contacts/{contact_id}"))).await;
    assert_eq!(contact["name"], "Ana Lima");

    // A quoted reply, and one longer than Telegram takes in one message.
    let reply = tg
        .reply(
            &conversation,
            json!({"kind": "text", "body": "Sorry! It ships today.", "in_reply_to": inbound[0]["id"]}),
        )
        .await;
    let sent = tg.delivered(&conversation, &reply, "sent").await;
    let sends = tg.bot.calls_of("sendMessage");
    assert_eq!(
        sends[0],
        json!({"chat_id": CHAT_ID.to_string(), "text": "Sorry! It ships today.",
               "reply_parameters": {"message_id": 5, "allow_sending_without_reply": true}})
    );
    assert_eq!(sent["provider_message_id"], format!("{CHAT_ID}:100"));

    let long = "All the details of your order follow. ".repeat(150);
    let reply = tg.reply(&conversation, json!({"kind": "text", "body": long})).await;
    tg.delivered(&conversation, &reply, "sent").await;
    let sends = tg.bot.calls_of("sendMessage");
    assert_eq!(sends.len(), 3);
    let pieces: Vec<&str> = sends[1..].iter().map(|s| s["text"].as_str().unwrap()).collect();
    assert!(pieces.iter().all(|p| p.encode_utf16().count() <= 4096));
    assert_eq!(pieces.join(" ").trim_end(), long.trim_end());

    // The customer's reply quoting ours is linked to it.
    tg.deliver(&message_update(
        900_000_002,
        6,
        json!({"text": "great", "reply_to_message": {"message_id": 100, "date": 1, "chat": {"id": CHAT_ID, "type": "private"}}}),
    ))
    .await;
    let inbound = eventually(Duration::from_secs(10), || async {
        let inbound = tg.inbound(&conversation).await;
        (inbound.len() == 2).then_some(inbound)
    })
    .await;
    assert_eq!(
        inbound[1]["in_reply_to"],
        json!(reply_id_of(&tg, &conversation, "Sorry! It ships today.").await)
    );

    // The admin sees when Telegram last reached the hook and the last refusal.
    let status = eventually(Duration::from_secs(10), || async {
        let r = tg.org.admin.get(&tg.org.path("/channels/hook-status")).await;
        let item = r["items"]
            .as_array()?
            .iter()
            .find(|i| i["channel_id"] == tg.channel.as_str())?
            .clone();
        (item["last_received_at"].is_i64() && item["last_error"].is_string()).then_some(item)
    })
    .await;
    assert_eq!(status["last_error"], "the request signature is missing");
    let (code, _, page) = tg.org.admin.get_text(&format!("/w/{}/admin/channels", tg.org.ws)).await;
    assert_eq!(code, 200);
    assert!(
        page.contains("Last refused:") && page.contains("the request signature is missing"),
        "{page}"
    );
    // Not for agents.
    let r = tg.org.agent.get(&tg.org.path("/channels/hook-status")).await;
    assert_eq!(r.status, 403);
}

async fn reply_id_of(tg: &Telegram, conversation: &str, body: &str) -> String {
    tg.messages(conversation)
        .await
        .into_iter()
        .find(|m| m["body"] == body)
        .unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned()
}

#[tokio::test]
async fn a_photo_is_fetched_by_get_file_and_an_edit_keeps_the_earlier_text() {
    let tg = start().await;
    let image = png(64, 48, 0);
    tg.bot
        .add_file("AgACAgIAAxkBAAIBlarge", "photos/file_7.png", image.clone());
    tg.deliver(&photo_update(
        900_000_010,
        7,
        "AgACAgIAAxkBAAIBlarge",
        image.len(),
        "the box",
    ))
    .await;
    let conversation = tg.conversation().await;
    let m = tg.inbound(&conversation).await.remove(0);
    assert_eq!(
        (m["kind"].as_str(), m["body"].as_str()),
        (Some("media"), Some("the box"))
    );
    let attachment = &m["attachments"][0];
    assert_eq!(attachment["size"].as_u64(), Some(image.len() as u64));
    assert!(attachment["preview_url"].is_string(), "{attachment}");
    assert_eq!(tg.bot.calls_of("getFile")[0]["file_id"], "AgACAgIAAxkBAAIBlarge");

    // A file Telegram does not know fails the update (it is sent again).
    let r = tg
        .post(&photo_update(900_000_011, 8, "gone", 10, ""), Some(&tg.secret))
        .await;
    assert_eq!(r.status, 422, "{:?}", r.body);

    // An edit: the new text, the old one in the history, once however often.
    tg.deliver(&text_update(900_000_012, 9, "My order is 1234")).await;
    let edit = edit_update(900_000_013, 9, "My order is 1243", 1_730_000_100);
    for _ in 0..3 {
        tg.deliver(&edit).await;
    }
    let edited = eventually(Duration::from_secs(10), || async {
        tg.inbound(&conversation)
            .await
            .into_iter()
            .find(|m| m["body"] == "My order is 1243")
    })
    .await;
    assert_eq!(edited["edited_at"], 1_730_000_100_000i64);
    let history = tg
        .org
        .admin
        .get(&tg.org.path(&format!(
            "/conversations/{conversation}/messages/{}/edits",
            edited["id"].as_str().unwrap()
        )))
        .await;
    assert_eq!(
        history.body,
        json!([{"body": "My order is 1234", "replaced_at": 1_730_000_100_000i64}])
    );
    // Another workspace cannot read it.
    let (other, other_ws) = tg.app.other_workspace("olga@other.test").await;
    let r = other
        .get(&format!(
            "/api/v1/workspaces/{other_ws}/conversations/{conversation}/messages/{}/edits",
            edited["id"].as_str().unwrap()
        ))
        .await;
    assert_eq!(r.status, 404);
    // Search finds the new text.
    let r = tg.org.admin.get(&tg.org.path("/search?q=1243")).await;
    assert_eq!(r["items"].as_array().map(Vec::len), Some(1), "{:?}", r.body);
}

#[tokio::test]
async fn files_are_uploaded_and_telegrams_429_is_waited_out() {
    let tg = start().await;
    tg.deliver(&text_update(900_000_020, 5, "Send me the invoice")).await;
    let conversation = tg.conversation().await;
    let image = png(32, 32, 7);
    let r = tg
        .org
        .agent
        .send_raw(
            reqwest::Method::POST,
            &tg.org.path(&format!(
                "/conversations/{conversation}/attachments?filename=invoice.png&caption=Here%20it%20is"
            )),
            Some("application/octet-stream"),
            image.clone(),
        )
        .await;
    assert_eq!(r.status, 201, "{:?}", r.body);
    eventually(Duration::from_secs(15), || async {
        (!tg.bot.calls_of("sendPhoto").is_empty()).then_some(())
    })
    .await;
    let photo = &tg.bot.calls_of("sendPhoto")[0];
    assert_eq!(photo["chat_id"], CHAT_ID.to_string());
    assert_eq!(photo["caption"], "Here it is");
    assert_eq!(photo["photo"]["filename"], "invoice.png");
    assert_eq!(photo["photo"]["size"], image.len());

    // 429 with retry_after: tried again after the wait, then sent.
    tg.bot.fail_next_send(429, "Too Many Requests: retry after 1", Some(1));
    let reply = tg
        .reply(&conversation, json!({"kind": "text", "body": "One more thing"}))
        .await;
    tg.delivered(&conversation, &reply, "sent").await;
    let tries: Vec<_> = tg
        .bot
        .calls_of("sendMessage")
        .into_iter()
        .filter(|s| s["text"] == "One more thing")
        .collect();
    assert_eq!(tries.len(), 2);

    // Blocked by the user: failed, with Telegram's reason shown.
    tg.bot
        .fail_next_send(403, "Forbidden: bot was blocked by the user", None);
    let reply = tg.reply(&conversation, json!({"kind": "text", "body": "Hello?"})).await;
    let failed = tg.delivered(&conversation, &reply, "failed").await;
    assert!(
        failed["delivery_error"]
            .as_str()
            .unwrap()
            .contains("bot was blocked by the user"),
        "{failed}"
    );
}

const FLOW: &str = r#"
greeting: Hi! I am the Acme bot.
fallback_team: Support
steps:
  menu:
    say: What can I do for you?
    options:
      - label: Billing
        next: billing
      - label: Something else
        handoff: true
  billing:
    say: Billing it is.
    handoff: true
"#;

#[tokio::test]
async fn a_bot_menu_is_an_inline_keyboard_answered_by_a_tap_and_so_is_the_rating() {
    let tg = start().await;
    let r = tg
        .org
        .admin
        .put(
            &tg.org.path(&format!("/channels/{}/bot", tg.channel)),
            json!({"kind": "flow", "source": FLOW}),
        )
        .await;
    assert_eq!(r.status, 200, "{:?}", r.body);
    tg.deliver(&text_update(900_000_030, 5, "hello")).await;
    let menu = eventually(Duration::from_secs(15), || async {
        tg.bot
            .calls_of("sendMessage")
            .into_iter()
            .find(|s| s.get("reply_markup").is_some())
    })
    .await;
    assert_eq!(menu["text"], "What can I do for you?");
    let keyboard = menu["reply_markup"].clone();
    assert_eq!(
        keyboard,
        json!({"inline_keyboard": [[{"text": "Billing", "callback_data": "Billing"}],
                                   [{"text": "Something else", "callback_data": "Something else"}]]})
    );

    // The customer taps "Billing" (the same tap delivered twice).
    let tap = tap_update(900_000_031, "4382001", 101, &keyboard, "Billing");
    tg.deliver(&tap).await;
    tg.deliver(&tap).await;
    let conversation = tg.conversation().await;
    let taps: Vec<_> = tg
        .inbound(&conversation)
        .await
        .into_iter()
        .filter(|m| m["body"] == "Billing")
        .collect();
    assert_eq!(taps.len(), 1);
    assert!(
        tg.bot
            .calls_of("answerCallbackQuery")
            .iter()
            .all(|c| c["callback_query_id"] == "4382001")
    );
    assert!(!tg.bot.calls_of("answerCallbackQuery").is_empty());
    eventually(Duration::from_secs(15), || async {
        tg.bot
            .calls_of("sendMessage")
            .iter()
            .any(|s| s["text"] == "Billing it is.")
            .then_some(())
    })
    .await;

    // Resolved with a rating request: the numbers as buttons, a tap rates.
    let r = tg
        .org
        .admin
        .post(
            &tg.org.path(&format!("/conversations/{conversation}/status")),
            json!({"status": "resolved", "feedback_request": true}),
        )
        .await;
    assert!(r.status.is_success(), "{:?}", r.body);
    let ask = eventually(Duration::from_secs(15), || async {
        tg.bot
            .calls_of("sendMessage")
            .into_iter()
            .find(|s| s["text"].as_str().is_some_and(|t| t.starts_with("How would you rate")))
    })
    .await;
    let stars = ask["reply_markup"].clone();
    assert_eq!(stars["inline_keyboard"].as_array().map(Vec::len), Some(5));
    tg.deliver(&tap_update(900_000_032, "4382002", 105, &stars, "5")).await;
    let rated = eventually(Duration::from_secs(10), || async {
        let c = tg
            .org
            .admin
            .get(&tg.org.path(&format!("/conversations/{conversation}")))
            .await;
        (c["rating"] == 5).then_some(c.body)
    })
    .await;
    assert_eq!(rated["status"], "resolved");
}

#[tokio::test]
async fn a_polling_bot_fetches_its_updates_with_get_updates() {
    let tg = start_with("polling").await;
    assert!(tg.bot.webhook().is_none());
    assert_eq!(tg.bot.calls_of("deleteWebhook").len(), 1);
    // Its hook URL takes nothing.
    let r = tg.post(&text_update(1, 1, "x"), Some(&tg.secret)).await;
    assert_eq!(r.status, 404);

    tg.bot.queue_update(text_update(500, 5, "first"));
    tg.bot.queue_update(text_update(501, 6, "second"));
    let conversation = tg.conversation().await;
    let inbound = eventually(Duration::from_secs(20), || async {
        let inbound = tg.inbound(&conversation).await;
        (inbound.len() == 2).then_some(inbound)
    })
    .await;
    assert_eq!(inbound[0]["body"], "first");
    assert_eq!(inbound[1]["body"], "second");
    // Later polls ask past what was stored; nothing comes twice.
    eventually(Duration::from_secs(20), || async {
        tg.bot
            .calls_of("getUpdates")
            .iter()
            .any(|c| c["offset"] == 502)
            .then_some(())
    })
    .await;
    tg.bot.queue_update(text_update(502, 7, "third"));
    eventually(Duration::from_secs(20), || async {
        (tg.inbound(&conversation).await.len() == 3).then_some(())
    })
    .await;
    assert_eq!(tg.inbound(&conversation).await.len(), 3);
}

/// Our fixtures are the Bot API's real shapes: python-telegram-bot reads
/// each as an `Update` and finds what we expect in it.
#[tokio::test]
async fn the_fixtures_parse_with_python_telegram_bot() {
    let keyboard = json!({"inline_keyboard": [[{"text": "Billing", "callback_data": "Billing"}]]});
    let fixtures = json!([
        text_update(1, 5, "Hello"),
        photo_update(2, 6, "AgACAgIAAxkBAAIBlarge", 98000, "receipt"),
        edit_update(3, 5, "Hello, world", 1_730_000_100),
        tap_update(4, "4382", 7, &keyboard, "Billing"),
        message_update(
            5,
            8,
            json!({"document": {"file_id": "doc", "file_unique_id": "d", "file_name": "invoice.pdf",
                                                  "mime_type": "application/pdf", "file_size": 5000}})
        ),
        message_update(6, 9, json!({"location": {"latitude": 52.52, "longitude": 13.405}})),
        message_update(
            7,
            10,
            json!({"contact": {"phone_number": "+4915112345678", "first_name": "Bo"}})
        ),
        message_update(
            8,
            11,
            json!({"voice": {"file_id": "v", "file_unique_id": "vu", "duration": 3, "mime_type": "audio/ogg"}})
        ),
        message_update(
            9,
            12,
            json!({"sticker": {"file_id": "st", "file_unique_id": "s", "type": "regular", "width": 512,
                                                 "height": 512, "is_animated": false, "is_video": false, "emoji": "👍"}})
        ),
    ]);
    let has_ptb = std::process::Command::new("python3")
        .args(["-c", "import telegram"])
        .status()
        .is_ok_and(|s| s.success());
    if !has_ptb {
        assert!(std::env::var("CI").is_err(), "CI needs python-telegram-bot");
        eprintln!("skipped: python-telegram-bot is not installed (pip install python-telegram-bot)");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("updates.json");
    std::fs::write(&path, fixtures.to_string()).unwrap();
    let script = r#"
import json, sys
from telegram import Update
updates = [Update.de_json(u, None) for u in json.load(open(sys.argv[1]))]
out = []
for u in updates:
    m = u.message or u.edited_message
    out.append({
        "id": u.update_id,
        "text": m.text if m else None,
        "largest_photo": m.photo[-1].file_id if m and m.photo else None,
        "edited": u.edited_message is not None,
        "tap": u.callback_query.data if u.callback_query else None,
        "document": m.document.file_name if m and m.document else None,
        "location": [m.location.latitude, m.location.longitude] if m and m.location else None,
        "contact": m.contact.phone_number if m and m.contact else None,
        "voice": m.voice.file_id if m and m.voice else None,
        "sticker": m.sticker.emoji if m and m.sticker else None,
        "chat": (m.chat.id if m else u.callback_query.message.chat.id),
    })
print(json.dumps(out))
"#;
    let output = std::process::Command::new("python3")
        .arg("-c")
        .arg(script)
        .arg(&path)
        .output()
        .expect("python3 runs");
    assert!(
        output.status.success(),
        "python-telegram-bot could not read the fixtures: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    let read: Vec<Value> = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(read.len(), 9);
    assert_eq!(read[0]["text"], "Hello");
    assert_eq!(read[1]["largest_photo"], "AgACAgIAAxkBAAIBlarge");
    assert_eq!(
        (read[2]["edited"].as_bool(), read[2]["text"].as_str()),
        (Some(true), Some("Hello, world"))
    );
    assert_eq!(read[3]["tap"], "Billing");
    assert_eq!(read[4]["document"], "invoice.pdf");
    assert_eq!(read[5]["location"], json!([52.52, 13.405]));
    assert_eq!(read[6]["contact"], "+4915112345678");
    assert_eq!(read[7]["voice"], "v");
    assert_eq!(read[8]["sticker"], "👍");
    assert!(read.iter().all(|r| r["chat"] == CHAT_ID));
    // And ours reads them the same way.
    for (update, python) in fixtures.as_array().unwrap().iter().zip(&read) {
        let events = switchboard_channels::telegram::parse_update(update.to_string().as_bytes()).unwrap();
        assert!(!events.is_empty(), "{update}");
        if let (Some(switchboard_channels::Inbound::Message(m)), Some(text)) = (events.first(), python["text"].as_str())
            && python["edited"] == false
        {
            assert_eq!(m.text, text);
        }
    }
}
