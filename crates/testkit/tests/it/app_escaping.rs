//! Hostile names and messages render as text on every page of the agent
//! app: a contact named with an `<img onerror>`, a message carrying a
//! `javascript:` link and markup, a supervisor whose name is markup and who
//! @mentions the agent (toast and notification list). Each page is checked
//! in real Chromium for the literal text, for no element the markup would
//! have created, and for no script having run; the transcript export is a
//! plain-text download.

use serde_json::json;
use switchboard_testkit::TestApp;
use switchboard_testkit::browser::Browser;
use switchboard_testkit::client::post_hook;
use switchboard_testkit::fixtures::Org;

const EVIL_NAME: &str = r#"Eve <img src=x onerror="window.__xss=1"><script>window.__xss=2</script>"#;
const EVIL_TEXT: &str =
    r#"<a href="javascript:window.__xss=3">click</a> javascript:window.__xss=4 <img src=y onerror="window.__xss=5">"#;
const EVIL_SUPERVISOR: &str = r#"Sid <img src=z onerror="window.__xss=6">"#;

/// Nothing the hostile strings could create exists, and nothing ran.
async fn assert_inert(browser: &Browser, page: &str) {
    let found = browser
        .eval(
            r#"return {
                ran: window.__xss ?? null,
                handlers: document.querySelectorAll("[onerror], [onload], [onclick]").length,
                inline_scripts: document.querySelectorAll("script:not([src])").length,
                js_links: [...document.querySelectorAll("a[href]")]
                    .filter((a) => a.href.trim().toLowerCase().startsWith("javascript:")).length,
                foreign_images: [...document.querySelectorAll("img")]
                    .filter((i) => !i.src.includes("/attachments/")).length,
            };"#,
        )
        .await;
    assert_eq!(
        found,
        json!({"ran": null, "handlers": 0, "inline_scripts": 0, "js_links": 0, "foreign_images": 0}),
        "{page}"
    );
}

#[tokio::test]
async fn hostile_names_and_messages_are_text_on_every_page() {
    let Some(browser) = Browser::start("app-escaping").await else {
        return;
    };
    let app = TestApp::spawn().await;
    let org = Org::create(&app).await;
    org.set_online(&org.agent, &org.agent_id).await;

    // A customer with a hostile name writes a hostile message.
    let r = post_hook(
        &app,
        &org.channel,
        &org.secret,
        &json!({"message_id": "m1", "contact": {"id": "eve", "name": EVIL_NAME}, "text": EVIL_TEXT}),
    )
    .await;
    assert_eq!(r.status, 200, "{:?}", r.body);
    let conversation = org.agent.get(&org.path("/conversations?section=assigned")).await["items"][0].clone();
    let id = conversation["id"].as_str().unwrap().to_owned();
    let contact = conversation["contact_id"].as_str().unwrap().to_owned();
    let r = org
        .agent
        .patch(
            &org.path(&format!("/contacts/{contact}")),
            json!({"attributes": {"website": "javascript:window.__xss=7", "note": EVIL_TEXT}}),
        )
        .await;
    assert_eq!(r.status, 200, "{:?}", r.body);

    // A supervisor whose name is markup.
    let (sid, _) = org
        .member(&app, "sid@acme.test", EVIL_SUPERVISOR, "supervisor", &[&org.team])
        .await;

    // The agent's list and conversation.
    browser.sign_in(&app, "ana@acme.test", "agent password 1").await;
    let ws = &org.ws;
    browser
        .client
        .goto(&app.url(&format!("/w/{ws}/inbox?section=assigned")))
        .await
        .unwrap();
    browser.wait_for("body[data-live='connected']").await;
    let row = browser.wait_for_text(".conversations .row", "Eve").await;
    assert!(row.contains(EVIL_NAME), "{row}");
    assert!(row.contains("javascript:window.__xss=4"), "{row}");
    assert_inert(&browser, "inbox list").await;

    browser.click(".conversations .row a").await;
    let message = browser.wait_for_text("#messages li", "javascript:").await;
    assert!(message.contains(EVIL_TEXT), "{message}");
    let head = browser.text("#conv-head").await;
    assert!(head.contains(EVIL_NAME), "{head}");
    assert_eq!(browser.value("#contact-name").await, EVIL_NAME, "the save-contact form");
    assert_inert(&browser, "conversation").await;

    // The supervisor's @mention: toast, bell list, the comment itself.
    let r = sid
        .post(
            &org.path(&format!("/conversations/{id}/messages")),
            json!({"kind": "comment", "body": format!("@Ana Agent look {EVIL_TEXT}")}),
        )
        .await;
    assert_eq!(r.status, 201, "{:?}", r.body);
    let toast = browser.wait_for_text("#toasts", "mentioned you").await;
    assert!(toast.contains(EVIL_SUPERVISOR), "{toast}");
    browser.click("#bell").await;
    let listed = browser.wait_for_text("#notification-list li", "mentioned you").await;
    assert!(listed.contains(EVIL_SUPERVISOR), "{listed}");
    let comment = browser.wait_for_text("#messages li.comment", "look").await;
    assert!(
        comment.contains(EVIL_SUPERVISOR) && comment.contains("<img src=y"),
        "{comment}"
    );
    assert_inert(&browser, "notifications").await;
    browser.screenshot("conversation").await;

    // Contacts list and the contact's page.
    for (page, needle) in [
        (format!("/w/{ws}/contacts"), EVIL_NAME),
        (format!("/w/{ws}/contacts/{contact}"), "javascript:window.__xss=7"),
    ] {
        browser.client.goto(&app.url(&page)).await.unwrap();
        let main = browser.wait_for_text("main", "Eve").await;
        assert!(main.contains(needle), "{page}: {main}");
        assert_inert(&browser, &page).await;
    }
    browser.screenshot("contact").await;

    // The supervisor's board and the admin pages show the supervisor's name as text.
    browser.submit("form[action='/logout'] button").await;
    browser.sign_in(&app, "ada@acme.test", "admin password 1").await;
    for page in [format!("/w/{ws}/supervisor"), format!("/w/{ws}/admin/agents")] {
        browser.client.goto(&app.url(&page)).await.unwrap();
        let main = browser.wait_for_text("main", "Ana Agent").await;
        if page.ends_with("agents") {
            assert!(main.contains(EVIL_SUPERVISOR), "{main}");
        } else {
            assert!(main.contains(EVIL_NAME), "{main}");
        }
        assert_inert(&browser, &page).await;
    }

    // The transcript export: plain text, a download, never sniffed as HTML.
    let r = org
        .agent
        .get(&org.path(&format!("/conversations/{id}/transcript")))
        .await;
    assert_eq!(r.status, 200);
    let header = |name: &str| {
        r.headers
            .get(name)
            .map(|v| v.to_str().unwrap().to_owned())
            .unwrap_or_default()
    };
    assert!(
        header("content-type").starts_with("text/plain"),
        "{}",
        header("content-type")
    );
    assert_eq!(header("x-content-type-options"), "nosniff");
    assert!(
        header("content-disposition").starts_with("attachment"),
        "{}",
        header("content-disposition")
    );
    browser.close().await;
}
