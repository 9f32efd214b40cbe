//! A bot menu in the widget, in a real Chromium: the flow's options show as
//! buttons, a tap answers with the label, and the bot goes on.

use serde_json::json;
use switchboard_testkit::TestApp;
use switchboard_testkit::browser::{Browser, host_page, open_widget};
use switchboard_testkit::fixtures::Org;

const FLOW: &str = "greeting: Hi, I am the shop bot.\nsteps:\n  menu:\n    say: What is it about?\n    options:\n      - label: Billing\n        next: ask_email\n      - label: Talk to a person\n        handoff: true\n  ask_email:\n    say: What is your e-mail address?\n    collect: email\n    next: done\n  done:\n    say: Thanks, a colleague will write to you.\n    handoff: true\n";

#[tokio::test]
async fn a_bot_menu_shows_buttons_that_answer_for_the_visitor() {
    let Some(browser) = Browser::start("bot-widget").await else {
        return;
    };
    let app = TestApp::spawn().await;
    let org = Org::create(&app).await;
    let channel = org
        .admin
        .post(
            &org.path("/channels"),
            json!({"kind": "web", "name": "Shop chat", "default_team_id": org.team}),
        )
        .await;
    let channel_id = channel["id"].as_str().unwrap().to_owned();
    let (origin, _server) = host_page(&app, &channel_id).await;
    let r = org
        .admin
        .patch(
            &org.path(&format!("/channels/{channel_id}")),
            json!({"widget": {"allowed_origins": [origin], "title": "Shop support"}}),
        )
        .await;
    assert_eq!(r.status, 200, "{:?}", r.body);
    let r = org
        .admin
        .put(
            &org.path(&format!("/channels/{channel_id}/bot")),
            json!({"kind": "flow", "source": FLOW}),
        )
        .await;
    assert_eq!(r.status, 200, "{:?}", r.body);

    browser.client.goto(&format!("{origin}/")).await.unwrap();
    open_widget(&browser).await;
    browser.fill("#text", "hello").await;
    browser.click("#send").await;
    browser.wait_for_text("#messages li.out", "shop bot").await;
    browser
        .wait_for_text("#messages li.out .choices button", "Billing")
        .await;
    browser.screenshot("bot-menu").await;
    // The host page's hot-pink button style does not reach the widget.
    let background = browser
        .client
        .execute(
            "return getComputedStyle(document.querySelector('.choices button')).backgroundColor",
            vec![],
        )
        .await
        .unwrap();
    assert_ne!(background, json!("rgb(255, 105, 180)"));

    browser.click("#messages li.out .choices button").await;
    browser.wait_for_text("#messages li.in", "Billing").await;
    browser.wait_for_text("#messages li.out", "e-mail address").await;
    // The answered menu cannot be used again.
    let disabled = browser
        .client
        .execute(
            "return Array.from(document.querySelectorAll('.choices button')).every(b => b.disabled)",
            vec![],
        )
        .await
        .unwrap();
    assert_eq!(disabled, json!(true));
    browser.fill("#text", "vera@example.com").await;
    browser.click("#send").await;
    browser
        .wait_for_text("#messages li.out", "a colleague will write")
        .await;
    browser.screenshot("bot-handed-off").await;

    let list = org.admin.get(&org.path("/conversations?section=live")).await;
    let c = &list["items"][0];
    assert_eq!(c["status"], "queued", "handed to people: {c:?}");
    let contact = org
        .admin
        .get(&org.path(&format!("/contacts/{}", c["contact_id"].as_str().unwrap())))
        .await;
    assert_eq!(contact["email"], "vera@example.com");
    browser.close().await;
}
