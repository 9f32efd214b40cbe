//! Telegram in a real Chromium: an agent answers a Telegram chat from the
//! inbox, which shows the channel's badge and no messaging window (Telegram
//! has none); the customer's edit shows live as edited, with the earlier
//! text kept.

use std::time::Duration;

use switchboard_testkit::browser::Browser;
use switchboard_testkit::eventually;
use switchboard_testkit::telegram::{CHAT_ID, edit_update, text_update};

use crate::telegram::start;

#[tokio::test]
async fn an_agent_answers_a_telegram_chat_and_sees_the_customers_edit_live() {
    let Some(browser) = Browser::start("telegram-agent").await else {
        return;
    };
    let tg = start().await;
    tg.deliver(&text_update(900_000_100, 5, "My order number is 1234"))
        .await;
    tg.conversation().await;
    browser.sign_in(&tg.app, "ana@acme.test", "agent password 1").await;
    browser
        .client
        .goto(&tg.app.url(&format!("/w/{}/inbox?section=assigned", tg.org.ws)))
        .await
        .unwrap();
    browser.wait_for("body[data-live='connected']").await;
    let row = browser
        .wait_for_text(".conversations .row", "My order number is 1234")
        .await;
    assert!(row.contains("TG"), "the row shows Telegram's badge: {row}");
    browser.click(".conversations .row a").await;
    browser
        .wait_for_text("#messages li.in", "My order number is 1234")
        .await;
    let badge = browser
        .eval("return document.querySelector('#conv-head .badge').getAttribute('title')")
        .await;
    assert_eq!(badge, "Telegram: Telegram bot");
    // No window on Telegram: the composer is open and warns of none.
    let closed = browser
        .eval("return document.querySelector('#window-closed, #window-closing') === null")
        .await;
    assert_eq!(closed, true);

    browser.fill("#composer-text", "Thanks, looking it up.").await;
    browser.click("#composer-send").await;
    browser
        .wait_for_text("#messages li.out", "Thanks, looking it up.")
        .await;
    let sent = eventually(Duration::from_secs(10), || async {
        tg.bot
            .calls_of("sendMessage")
            .into_iter()
            .find(|s| s["text"] == "Thanks, looking it up.")
    })
    .await;
    assert_eq!(sent["chat_id"], CHAT_ID.to_string());

    // The customer corrects the number: the pane changes live.
    tg.deliver(&edit_update(900_000_101, 5, "My order number is 1243", 1_730_000_100))
        .await;
    browser
        .wait_for_text("#messages li.in", "My order number is 1243")
        .await;
    let edits = browser.wait_for_text("#messages li.in details.edits", "edited").await;
    assert!(edits.contains("edited"), "{edits}");
    browser.click("#messages li.in details.edits summary").await;
    browser
        .wait_for_text("#messages li.in details.edits li", "My order number is 1234")
        .await;
    browser.screenshot("telegram-answered").await;
}

/// One agent, one inbox: a Telegram chat and an Instagram chat, each with
/// its channel's badge and its window (none on Telegram; Instagram's
/// 24 hours, with its closing time known to the composer).
#[tokio::test]
async fn an_agent_answers_a_telegram_chat_and_an_instagram_chat_from_one_inbox() {
    use serde_json::json;
    use switchboard_channels::whatsapp::sign;
    use switchboard_service::{ProviderApis, Registry};
    use switchboard_testkit::messenger::{PageServer, from_customer, webhook};
    use switchboard_testkit::telegram::BotApiServer;

    let Some(browser) = Browser::start("telegram-instagram-agent").await else {
        return;
    };
    const TOKEN: &str = "7123456789:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw";
    const IG_ID: &str = "17841400000000000";
    const IGSID: &str = "5550001112223334";
    let bot = BotApiServer::start(TOKEN).await;
    let graph = PageServer::start("EAAG-page-token", IG_ID).await;
    let mut options = switchboard_testkit::TestOptions::default();
    options.service.channels = Registry::standard_with(&ProviderApis {
        whatsapp: graph.api(),
        telegram: bot.api("https://support.example.com"),
        ..Default::default()
    });
    let app = switchboard_testkit::TestApp::spawn_with(options).await;
    let org = switchboard_testkit::fixtures::Org::create(&app).await;
    org.set_online(&org.agent, &org.agent_id).await;
    let create = |body: serde_json::Value| {
        let org = &org;
        async move {
            let r = org.admin.post(&org.path("/channels"), body).await;
            assert_eq!(r.status, 201, "{:?}", r.body);
            (
                r["id"].as_str().unwrap().to_owned(),
                r["secret"].as_str().unwrap().to_owned(),
            )
        }
    };
    let (tg, tg_secret) = create(
        json!({"kind": "telegram", "name": "Telegram bot", "default_team_id": org.team,
                                        "config": {"bot_token": TOKEN}}),
    )
    .await;
    let (ig, _) = create(json!({"kind": "instagram", "name": "Instagram", "default_team_id": org.team,
                                "config": {"page_id": IG_ID, "access_token": "EAAG-page-token", "app_secret": "meta-app-secret-456"}}))
    .await;
    let client = reqwest::Client::new();
    let r = client
        .post(app.url(&format!("/hooks/telegram/{tg}")))
        .header("x-telegram-bot-api-secret-token", &tg_secret)
        .json(&text_update(900_000_200, 5, "Telegram: where is my parcel?"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let body = webhook(
        "instagram",
        IG_ID,
        json!([from_customer(
            IGSID,
            IG_ID,
            1_730_000_000_400,
            json!({"message": {"mid": "m_ig1", "text": "Instagram: is it in stock?"}})
        )]),
    );
    let r = client
        .post(app.url(&format!("/hooks/instagram/{ig}")))
        .header("x-hub-signature-256", sign("meta-app-secret-456", &body))
        .header("content-type", "application/json")
        .body(body)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);

    browser.sign_in(&app, "ana@acme.test", "agent password 1").await;
    browser
        .client
        .goto(&app.url(&format!("/w/{}/inbox?section=assigned", org.ws)))
        .await
        .unwrap();
    browser.wait_for("body[data-live='connected']").await;
    for (needle, badge, reply, window) in [
        ("Telegram: where is my parcel?", "TG", "It is on its way.", false),
        ("Instagram: is it in stock?", "IG", "Yes, in all sizes.", true),
    ] {
        let row = browser.wait_for_text(".conversations .row", needle).await;
        assert!(row.contains(badge), "{badge} in {row}");
        let clicked = browser
            .eval(&format!(
                "const row = [...document.querySelectorAll('.conversations .row')].find((r) => r.textContent.includes({needle:?})); row.querySelector('a').click(); return true;"
            ))
            .await;
        assert_eq!(clicked, true);
        browser.wait_for_text("#messages li.in", needle).await;
        let pane_badge = browser
            .eval("return document.querySelector('#conv-head .badge').textContent")
            .await;
        assert_eq!(pane_badge, badge);
        let state = browser
            .eval("const f = document.querySelector('#composer'); return [f.dataset.windowOpen, document.querySelector('#window-closing') !== null];")
            .await;
        assert_eq!(
            state,
            json!(["true", window]),
            "{badge}: open, and a closing time only where a window applies"
        );
        browser.fill("#composer-text", reply).await;
        browser.click("#composer-send").await;
        browser.wait_for_text("#messages li.out", reply).await;
    }
    eventually(Duration::from_secs(10), || async {
        bot.calls_of("sendMessage")
            .iter()
            .any(|s| s["text"] == "It is on its way.")
            .then_some(())
    })
    .await;
    eventually(Duration::from_secs(10), || async {
        graph
            .sent()
            .iter()
            .any(|b| b["recipient"]["id"] == IGSID && b["message"]["text"] == "Yes, in all sizes.")
            .then_some(())
    })
    .await;
    browser.screenshot("telegram-and-instagram").await;
}
