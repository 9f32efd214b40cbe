//! The archive in a real Chromium (issue 20): an agent scrolls past 150
//! closed chats as pages load; a search with a quick pick and a tag
//! highlights the match; an admin exports the filtered list from its link
//! and deletes one chat permanently after a confirmation that names what
//! goes. Screenshots under test-output/archive/.

use serde_json::json;
use switchboard_testkit::TestApp;
use switchboard_testkit::browser::Browser;
use switchboard_testkit::client::post_hook;
use switchboard_testkit::fixtures::Org;

const CHATS: usize = 160;

async fn row_count(browser: &Browser) -> u64 {
    browser
        .eval("return document.querySelectorAll('#list .row').length")
        .await
        .as_u64()
        .unwrap()
}

#[tokio::test]
async fn an_agent_browses_searches_and_an_admin_exports_and_deletes() {
    let Some(browser) = Browser::start("archive").await else {
        return;
    };
    let app = TestApp::spawn().await;
    let org = Org::create(&app).await;
    let r = org.admin.post(&org.path("/tags"), json!({"name": "vip"})).await;
    assert_eq!(r.status, 201, "{:?}", r.body);
    let mut ids = Vec::new();
    for i in 0..CHATS {
        let text = if i == 7 {
            "My crème brûlée order never came".to_owned()
        } else {
            format!("Question number {i}")
        };
        let r = post_hook(
            &app,
            &org.channel,
            &org.secret,
            &json!({"message_id": format!("m-{i}"), "contact": {"id": format!("c-{i}"), "name": format!("Customer {i}")}, "text": text}),
        )
        .await;
        assert_eq!(r.status, 200, "{:?}", r.body);
        let id = r["conversation_id"].as_str().unwrap().to_owned();
        let r = org
            .admin
            .post(
                &org.path(&format!("/conversations/{id}/status")),
                json!({"status": "resolved"}),
            )
            .await;
        assert!(r.status.is_success(), "{:?}", r.body);
        ids.push(id);
    }
    // Two chats mention crème; only one is tagged vip.
    let r = org
        .admin
        .put(
            &org.path(&format!("/conversations/{}/tags", ids[7])),
            json!({"tags": ["vip"]}),
        )
        .await;
    assert_eq!(r.status, 200, "{:?}", r.body);

    // The agent scrolls the archive: pages join as the end comes into view.
    browser.sign_in(&app, "ana@acme.test", "agent password 1").await;
    browser
        .client
        .goto(&app.url(&format!("/w/{}/inbox?section=archived", org.ws)))
        .await
        .unwrap();
    browser.wait_for_text("#list-count", &format!("{CHATS} chats")).await;
    assert_eq!(row_count(&browser).await, 50);
    for _ in 0..100 {
        if row_count(&browser).await >= CHATS as u64 {
            break;
        }
        browser
            .eval("document.querySelector('#list .more button')?.scrollIntoView(); return null")
            .await;
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert_eq!(row_count(&browser).await, CHATS as u64);
    let distinct = browser
        .eval("return new Set([...document.querySelectorAll('#list .row')].map(r => r.dataset.id)).size")
        .await;
    assert_eq!(distinct, json!(CHATS));
    assert_eq!(
        browser
            .eval("return document.querySelector('#list .more') === null")
            .await,
        json!(true)
    );
    browser.screenshot("scrolled").await;

    // A search with a quick pick and a tag: one hit, its words marked.
    browser.fill("#q", "creme").await;
    browser
        .eval("document.querySelector('.filters details').open = true; return null")
        .await;
    browser.click("#f-period option[value='last_7_days']").await;
    browser.click("#f-tag option[value='vip']").await;
    browser.submit(".filters button[type=submit]").await;
    browser.wait_for_text("#list-count", "1 chat").await;
    assert_eq!(row_count(&browser).await, 1);
    assert_eq!(browser.text("#list .row mark").await, "crème");
    let url = browser.client.current_url().await.unwrap();
    let query = url.query().unwrap_or_default().to_owned();
    assert!(
        query.contains("q=creme") && query.contains("period=last_7_days") && query.contains("tag=vip"),
        "{query}"
    );
    browser.screenshot("search").await;
    // The agent keeps the filter; its chip brings the same list back.
    browser.fill("#save-filter-name", "VIP crème").await;
    browser.submit(".save-filter button[type=submit]").await;
    browser.wait_for_text(".saved-filter a", "VIP crème").await;
    browser
        .client
        .goto(&app.url(&format!("/w/{}/inbox?section=archived", org.ws)))
        .await
        .unwrap();
    browser.submit(".saved-filter a").await;
    browser.wait_for_text("#list-count", "1 chat").await;
    assert_eq!(browser.text("#list .row mark").await, "crème");

    // The admin opens the same (bookmarkable) list, exports it, and deletes the chat.
    let admin = Browser::start("archive-admin").await.unwrap();
    admin.sign_in(&app, "ada@acme.test", "admin password 1").await;
    admin
        .client
        .goto(&app.url(&format!("/w/{}/inbox?{query}", org.ws)))
        .await
        .unwrap();
    admin.wait_for_text("#list-count", "1 chat").await;
    let csv = admin
        .eval("return fetch(document.querySelector('#export-csv').href).then(r => r.text())")
        .await;
    let csv = csv.as_str().unwrap();
    assert_eq!(csv.lines().count(), 2, "{csv}");
    assert!(csv.contains(&ids[7]) && csv.contains("vip"), "{csv}");
    admin.click("#list .row a").await;
    admin.wait_for("#conversation").await;
    admin.click("button[data-open='delete-dialog']").await;
    let warning = admin.text("#delete-dialog").await;
    assert!(
        warning.contains("Customer 7") && warning.contains("1 message"),
        "{warning}"
    );
    admin.screenshot("delete-confirm").await;
    admin.click("#delete-confirm").await;
    // Back on the filtered list, which has nothing left.
    admin
        .wait_for_text("#list .empty", "Nothing in the archive matches")
        .await;
    let r = org.admin.get(&org.path(&format!("/conversations/{}", ids[7]))).await;
    assert_eq!(r.status, 404);
    let log = org.admin.get(&org.path("/audit-log?action=conversation.deleted")).await;
    assert_eq!(log["items"].as_array().unwrap().len(), 1);
    admin.close().await;
    browser.close().await;
}
