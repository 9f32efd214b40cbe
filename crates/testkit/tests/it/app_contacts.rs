//! Contacts and outreach in real Chromium: an admin tags a contact on its
//! page, finds it again by tag and by channel, starts a conversation with
//! it from the contact page, and sends a template from the composer with
//! its value filled in. The API channel's callback receives both.

use std::time::Duration;

use serde_json::json;
use switchboard_testkit::browser::Browser;
use switchboard_testkit::fixtures::Org;
use switchboard_testkit::{TestApp, eventually};

#[tokio::test]
async fn a_contact_is_tagged_found_and_written_to_first() {
    let Some(browser) = Browser::start("app-contacts").await else {
        return;
    };
    let app = TestApp::spawn().await;
    let org = Org::create(&app).await;
    org.customer_says(&app, "m1", "carla", "Where is my parcel?").await;
    let first = org.admin.get(&org.path("/conversations")).await["items"][0].clone();
    let contact = first["contact_id"].as_str().unwrap().to_owned();
    // A colleague's note, then the first chat ends, so a new one may be started.
    let r = org
        .admin
        .post(
            &org.path(&format!("/conversations/{}/messages", first["id"].as_str().unwrap())),
            json!({"kind": "note", "body": "Prefers e-mail over calls"}),
        )
        .await;
    assert_eq!(r.status, 201, "{:?}", r.body);
    let r = org
        .admin
        .post(
            &org.path(&format!("/conversations/{}/status", first["id"].as_str().unwrap())),
            json!({"status": "resolved"}),
        )
        .await;
    assert_eq!(r.status, 200, "{:?}", r.body);
    for tag in ["vip", "late-payer"] {
        let r = org.admin.post(&org.path("/tags"), json!({"name": tag})).await;
        assert_eq!(r.status, 201, "{:?}", r.body);
    }
    let r = org
        .admin
        .post(
            &org.path("/templates"),
            json!({"name": "parcel_found", "language": "en", "category": "utility",
                   "body": "Good news {{1}}: we found your parcel."}),
        )
        .await;
    assert_eq!(r.status, 201, "{:?}", r.body);
    let ws = &org.ws;
    browser.sign_in(&app, "ada@acme.test", "admin password 1").await;

    // Tag the contact on its page.
    browser
        .client
        .goto(&app.url(&format!("/w/{ws}/contacts/{contact}")))
        .await
        .unwrap();
    browser.fill("#c-tags", "vip").await;
    browser
        .submit("form[data-api*='/contacts/'][data-method=PATCH] button[type=submit]")
        .await;
    browser.wait_for_text("main dd .tag", "vip").await;

    // Found by tag (and not by another), and by channel.
    let list = |query: String| app.url(&format!("/w/{ws}/contacts?{query}"));
    browser.client.goto(&list("tag=vip".into())).await.unwrap();
    browser.wait_for_text("main table", "Carla Customer").await;
    browser.screenshot("contacts-by-tag").await;
    browser.client.goto(&list("tag=late-payer".into())).await.unwrap();
    browser.wait_for_text("main", "No contacts match").await;
    browser
        .client
        .goto(&list(format!("channel={}", org.channel)))
        .await
        .unwrap();
    browser.wait_for_text("main table", "Carla Customer").await;

    // Start a conversation from the contact page: it opens, the customer gets it.
    browser
        .client
        .goto(&app.url(&format!("/w/{ws}/contacts/{contact}")))
        .await
        .unwrap();
    browser.fill("#start-body", "Hello Carla, your parcel is here.").await;
    browser.submit("#start-conversation button[type=submit]").await;
    assert!(browser.path().await.contains("/conversations/"), "the new chat opens");
    browser.wait_for_text("#messages li.out", "your parcel is here").await;
    // The contact panel carries the note from the earlier chat.
    let notes = browser.text("#contact-panel .earlier-notes").await;
    assert!(notes.contains("Ada Admin: Prefers e-mail over calls"), "{notes}");
    let texts = |org: &Org| {
        org.callback
            .received()
            .iter()
            .map(|r| r.json())
            .filter(|b| b["text"].is_string())
            .collect::<Vec<_>>()
    };
    eventually(Duration::from_secs(10), || async {
        texts(&org)
            .iter()
            .any(|b| b["text"] == "Hello Carla, your parcel is here.")
            .then_some(())
    })
    .await;

    // A template from the composer, with its value filled in.
    browser.click("#template-choice summary").await;
    browser.wait_for("#template-select option:nth-child(2)").await;
    browser.click("#template-select option:nth-child(2)").await;
    browser.fill("#template-value-1", "Carla").await;
    let preview = browser.text("#template-values .template-preview").await;
    assert_eq!(preview, "Good news Carla: we found your parcel.");
    browser.screenshot("template-chosen").await;
    browser.click("#composer-send").await;
    let sent = browser.wait_for_text("#messages li.out", "Good news Carla").await;
    assert!(sent.contains("template parcel_found (en)"), "{sent}");
    let call = eventually(Duration::from_secs(10), || async {
        texts(&org)
            .into_iter()
            .find(|b| b["template"]["name"] == "parcel_found")
    })
    .await;
    assert_eq!(call["template"]["params"], json!(["Carla"]));
    assert_eq!(call["text"], "Good news Carla: we found your parcel.");
    browser.screenshot("template-sent").await;

    // Starting another while this one is open is refused beside the form.
    browser
        .client
        .goto(&app.url(&format!("/w/{ws}/contacts/{contact}")))
        .await
        .unwrap();
    browser.fill("#start-body", "Another one").await;
    browser.click("#start-conversation button[type=submit]").await;
    let error = browser
        .wait_for_text("#start-conversation [data-error-for=form]", "open")
        .await;
    assert!(!error.is_empty());
    assert_eq!(browser.value("#start-body").await, "Another one");

    // The admin erases the contact: the confirmation names what goes.
    browser.click("#erase-contact").await;
    let question = browser.client.get_alert_text().await.unwrap();
    assert!(
        question.contains("Carla") && question.contains("cannot be undone"),
        "{question}"
    );
    browser.client.accept_alert().await.unwrap();
    for _ in 0..100 {
        if browser.path().await == format!("/w/{ws}/contacts") {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert_eq!(browser.path().await, format!("/w/{ws}/contacts"));
    assert_eq!(
        org.admin.get(&org.path(&format!("/contacts/{contact}"))).await.status,
        404
    );
    browser.close().await;
}
