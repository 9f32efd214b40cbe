//! WhatsApp in a real Chromium: an agent answers a WhatsApp chat; when Meta
//! says the window closed, the composer says so and sends a template with a
//! filled placeholder; an admin creates a campaign from a tag and its report
//! counts move live as Meta's statuses arrive.

use std::time::Duration;

use serde_json::json;
use switchboard_testkit::browser::Browser;
use switchboard_testkit::eventually;

use crate::whatsapp::{WA_ID, start, status, text};

/// Choose an option of a select by its value, as a person's click would.
async fn choose(browser: &Browser, css: &str, value: &str) {
    let script = format!(
        "const s = document.querySelector({css:?}); s.value = {value:?}; s.dispatchEvent(new Event('change', {{bubbles: true}})); return s.value;"
    );
    assert_eq!(browser.eval(&script).await, json!(value), "{css} has no option {value}");
}

#[tokio::test]
async fn an_agent_answers_a_whatsapp_chat_and_sends_a_template_once_the_window_closed() {
    let Some(browser) = Browser::start("whatsapp-agent").await else {
        return;
    };
    let wa = start().await;
    let template = wa
        .org
        .admin
        .post(
            &wa.org.path("/templates"),
            json!({"name": "follow_up", "language": "en", "category": "utility",
                   "body": "Hi {{1}}, are you still there?"}),
        )
        .await;
    assert_eq!(template.status, 201);
    assert_eq!(wa.deliver(&text("wamid.B1", "Where is my parcel?")).await.status, 200);
    wa.conversation().await;
    browser.sign_in(&wa.app, "ana@acme.test", "agent password 1").await;
    browser
        .client
        .goto(&wa.app.url(&format!("/w/{}/inbox?section=assigned", wa.org.ws)))
        .await
        .unwrap();
    browser.wait_for("body[data-live='connected']").await;
    browser
        .wait_for_text(".conversations .row", "Where is my parcel?")
        .await;
    browser.click(".conversations .row a").await;
    browser.wait_for_text("#messages li.in", "Where is my parcel?").await;
    browser.fill("#composer-text", "It ships today.").await;
    browser.click("#composer-send").await;
    browser.wait_for_text("#messages li.out", "It ships today.").await;
    let sent = eventually(Duration::from_secs(10), || async {
        wa.graph.sent().into_iter().find(|b| b["type"] == "text")
    })
    .await;
    assert_eq!(
        (sent["to"].as_str(), sent["text"]["body"].as_str()),
        (Some(WA_ID), Some("It ships today."))
    );
    browser.screenshot("whatsapp-answered").await;

    // Meta refuses texts now: the window closed sooner than our clock said.
    wa.graph.refuse_number(WA_ID, 400, 131047, "Re-engagement message");
    browser.fill("#composer-text", "Anything else?").await;
    browser.click("#composer-send").await;
    // Live: the notice, then the composer in its closed-window state.
    browser.wait_for_text("#messages", "window is closed").await;
    let closed = browser.wait_for_text("#window-closed", "Only a template").await;
    assert!(closed.contains("closed"), "{closed}");
    // A free-form text is refused in the page, before any request.
    let before = wa.graph.sent().len();
    browser.fill("#composer-text", "Hello?").await;
    browser.click("#composer-send").await;
    browser.wait_for_text("#composer-error", "window is closed").await;
    wa.graph.accept_number(WA_ID);
    // The template, with its placeholder filled and previewed.
    browser.wait_for("#template-select option[value]").await;
    choose(&browser, "#template-select", template["id"].as_str().unwrap()).await;
    browser.wait_for("#template-value-1").await;
    browser.fill("#template-value-1", "Ana").await;
    browser
        .wait_for_text(".template-preview", "Hi Ana, are you still there?")
        .await;
    browser.fill("#composer-text", "").await;
    browser.click("#composer-send").await;
    browser
        .wait_for_text("#messages li.out", "Hi Ana, are you still there?")
        .await;
    let sent = eventually(Duration::from_secs(10), || async {
        wa.graph.sent()[before..]
            .iter()
            .find(|b| b["type"] == "template")
            .cloned()
    })
    .await;
    assert_eq!(sent["template"]["components"][0]["parameters"][0]["text"], "Ana");
    assert_eq!(wa.graph.sent().len(), before + 1, "the refused text never reached Meta");
    browser.screenshot("whatsapp-template").await;
    browser.close().await;
}

#[tokio::test]
async fn an_admin_creates_a_campaign_from_a_tag_and_watches_its_counts_live() {
    let Some(browser) = Browser::start("whatsapp-campaign").await else {
        return;
    };
    let wa = start().await;
    let template = wa
        .org
        .admin
        .post(
            &wa.org.path("/templates"),
            json!({"name": "spring_sale", "language": "en", "category": "marketing", "body": "Hi {{1}}, our sale is on."}),
        )
        .await;
    assert_eq!(template.status, 201);
    assert_eq!(
        wa.org
            .admin
            .post(&wa.org.path("/tags"), json!({"name": "vip"}))
            .await
            .status,
        201
    );
    for (i, name) in ["Ana", "Bo", "Cy"].iter().enumerate() {
        let r = wa
            .org
            .admin
            .post(
                &wa.org.path("/contacts"),
                json!({"name": name, "phone": format!("+4915100000{i:03}"), "tags": ["vip"]}),
            )
            .await;
        assert_eq!(r.status, 201, "{:?}", r.body);
    }
    browser.sign_in(&wa.app, "ada@acme.test", "admin password 1").await;
    browser
        .client
        .goto(&wa.app.url(&format!("/w/{}/admin/campaigns", wa.org.ws)))
        .await
        .unwrap();
    browser.wait_for_text("main", "No campaigns yet").await;
    // Without a name the error shows next to the field.
    browser.wait_for("#c-template option[value]").await;
    browser.wait_for(".value-row select").await;
    browser.click("#new-campaign button[type=submit]").await;
    browser.wait_for_text("[data-error-for='name']", "empty").await;
    browser.fill("#c-name", "VIP <sale>").await;
    browser.screenshot("campaign-new").await;
    choose(&browser, "#c-channel", &wa.channel).await;
    choose(&browser, "#c-tag", "vip").await;
    choose(&browser, ".value-row select", "field:name").await;
    browser.click("#new-campaign button[type=submit]").await;
    browser.wait_for("#campaign-report").await;
    assert!(browser.text("#campaign-report h2").await.contains("VIP <sale>"));
    // Counts move without a reload: sent, then read as Meta says so.
    browser.wait_for_text("[data-count='sent']", "3").await;
    browser.wait_for_text("[data-campaign-status]", "completed").await;
    let view = wa.org.admin.get(&wa.org.path("/campaigns")).await;
    let sent = eventually(Duration::from_secs(5), || async {
        let sent = wa.graph.sent();
        (sent.len() >= 3).then_some(sent)
    })
    .await;
    assert_eq!(sent.len(), 3, "{:?}", view.body);
    let ledger = wa.org.admin.get(&wa.org.path("/campaigns")).await;
    let id = ledger["items"][0]["id"].as_str().unwrap().to_owned();
    let rows = wa
        .org
        .admin
        .get(&wa.org.path(&format!("/campaigns/{id}/recipients")))
        .await;
    let first = &rows["items"][0];
    let messages = wa.messages(first["conversation_id"].as_str().unwrap()).await;
    let wamid = messages
        .iter()
        .find(|m| m["id"] == first["message_id"])
        .and_then(|m| m["provider_message_id"].as_str())
        .unwrap()
        .to_owned();
    let mut read = status(&wamid, "read");
    // The status is for the campaign's recipient, not the test's customer.
    read = String::from_utf8(read)
        .unwrap()
        .replace(WA_ID, first["external_id"].as_str().unwrap())
        .into_bytes();
    assert_eq!(wa.deliver(&read).await.status, 200);
    browser.wait_for_text("[data-count='read']", "1").await;
    assert_eq!(browser.text("[data-count='sent']").await, "2");
    browser.wait_for_text("[data-ledger]", "read").await;
    browser.screenshot("campaign-report").await;
    browser.close().await;
}
