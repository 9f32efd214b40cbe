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
        .eval("return document.querySelector('.badge').getAttribute('title')")
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
