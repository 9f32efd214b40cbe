//! AI assist in a real Chromium (issue 22), against llmock: an agent turns
//! a draft formal, accepts it and sends it; a summary becomes a private
//! note. Screenshots under test-output/assist/.

use serde_json::json;
use switchboard_testkit::TestApp;
use switchboard_testkit::browser::Browser;
use switchboard_testkit::fixtures::Org;
use switchboard_testkit::llmock::Llmock;

#[tokio::test]
async fn an_agent_rewrites_a_draft_formally_sends_it_and_saves_a_summary_as_a_note() {
    let Some(mock) = Llmock::start().await else { return };
    let Some(browser) = Browser::start("assist").await else {
        return;
    };
    let app = TestApp::spawn().await;
    let org = Org::create(&app).await;
    let r = org.customer_says(&app, "m-1", "carla", "Where is my order 1234?").await;
    let id = r["conversation_id"].as_str().unwrap().to_owned();
    let r = org
        .admin
        .post(
            &org.path(&format!("/conversations/{id}/assign")),
            json!({"user_id": org.agent_id, "force": true}),
        )
        .await;
    assert!(r.status.is_success(), "{:?}", r.body);
    let r = org
        .admin
        .put(
            &org.path("/assist/settings"),
            json!({"base_url": mock.base_url(), "model": "tiny-model", "api_key": "sk-browser"}),
        )
        .await;
    assert_eq!(r.status, 200, "{:?}", r.body);

    browser.sign_in(&app, "ana@acme.test", "agent password 1").await;
    browser
        .client
        .goto(&app.url(&format!("/w/{}/inbox?section=assigned&c={id}", org.ws)))
        .await
        .unwrap();
    browser.wait_for("#assist-bar").await;
    browser.fill("#composer-text", "hey, it ships today").await;
    mock.script(json!([{"type": "reply", "text": "Dear Carla, your order ships today. Kind regards, Ana"}]))
        .await;
    browser.click("#assist-tone option[value='formal']").await;
    browser
        .wait_for_text("#assist-text", "Dear Carla, your order ships today.")
        .await;
    browser.wait_for("#assist-accept:not([disabled])").await;
    // The draft is untouched until the agent accepts.
    assert_eq!(browser.value("#composer-text").await, "hey, it ships today");
    browser.screenshot("preview").await;
    browser.click("#assist-accept").await;
    assert_eq!(
        browser.value("#composer-text").await,
        "Dear Carla, your order ships today. Kind regards, Ana"
    );
    let sent = mock.requests().await;
    assert!(
        sent.last().unwrap()["body"]["messages"][0]["content"]
            .as_str()
            .unwrap()
            .contains("formal"),
        "{sent:?}"
    );
    browser.click("#composer-send").await;
    browser
        .wait_for_text("#messages", "Dear Carla, your order ships today.")
        .await;

    // Summarize (Alt+S from the composer), then keep it as a private note.
    mock.script(json!([{"type": "reply", "text": "{\"reason\": \"Asks where order 1234 is\", \"done\": \"Told it ships today\", \"pending\": \"nothing\"}"}]))
        .await;
    browser.click("[data-assist='summarize']").await;
    browser
        .wait_for_text("#assist-text", "Reason: Asks where order 1234 is")
        .await;
    browser.wait_for("#assist-note:not([disabled])").await;
    browser.screenshot("summary").await;
    browser.click("#assist-note").await;
    browser
        .wait_for_text("#messages", "Reason: Asks where order 1234 is")
        .await;
    let history = org.admin.get(&org.path(&format!("/conversations/{id}/messages"))).await;
    let note = history["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| {
            m["body"]
                .as_str()
                .is_some_and(|b| b.contains("Asks where order 1234 is"))
        })
        .cloned()
        .unwrap();
    assert_eq!(note["kind"], "note");
    browser.screenshot("note").await;

    // The admin's page: the provider without its key, a connection test,
    // and the calls just made.
    browser.submit("form[action='/logout']").await;
    browser.sign_in(&app, "ada@acme.test", "admin password 1").await;
    browser
        .client
        .goto(&app.url(&format!("/w/{}/admin/ai", org.ws)))
        .await
        .unwrap();
    browser.wait_for("#ai-key").await;
    assert_eq!(browser.value("#ai-model").await, "tiny-model");
    assert_eq!(browser.value("#ai-key").await, "", "the key is never shown");
    let page = browser.eval("return document.body.innerHTML").await;
    assert!(!page.as_str().unwrap().contains("sk-browser"));
    let calls = browser.text("main table").await;
    assert!(calls.contains("tone:formal") && calls.contains("summarize"), "{calls}");
    browser.click("[data-api-call$='/assist/test']").await;
    browser
        .wait_for_text("[data-result]", "answered with model tiny-model")
        .await;
    browser.screenshot("admin").await;
    browser.close().await;
}
