//! The widget embedded in a page of another origin, in a real Chromium: the
//! visitor writes, an agent replies through the API, the reply appears
//! without a reload, and a reload keeps the history.

use std::time::Duration;

use fantoccini::Locator;
use serde_json::json;
use switchboard_testkit::TestApp;
use switchboard_testkit::browser::{Browser, host_page, open_widget};
use switchboard_testkit::fixtures::Org;

#[tokio::test]
async fn a_visitor_on_another_site_chats_with_an_agent() {
    let Some(browser) = Browser::start("widget").await else {
        return;
    };
    let app = TestApp::spawn().await;
    let org = Org::create(&app).await;
    // The channel must name the shop's origin before the shop can embed it.
    let channel = org
        .admin
        .post(&org.path("/channels"), json!({"kind": "web", "name": "Shop chat", "default_team_id": org.team, "widget": {"greeting": "Hi! How can we help?", "title": "Shop support"}}))
        .await;
    let channel_id = channel["id"].as_str().unwrap().to_owned();
    let (origin, _server) = host_page(&app, &channel_id).await;
    let r = org
        .admin
        .patch(&org.path(&format!("/channels/{channel_id}")), json!({"widget": {"allowed_origins": [origin], "greeting": "Hi! How can we help?", "title": "Shop support"}}))
        .await;
    assert_eq!(r.status, 200, "{:?}", r.body);

    browser.client.goto(&format!("{origin}/")).await.unwrap();
    open_widget(&browser).await;
    browser.wait_for_text("#messages li", "How can we help").await;
    browser.fill("#text", "Hello, is my order #42 shipped?").await;
    browser.click("#send").await;
    browser.wait_for_text("#messages li.in", "order #42").await;

    // And a photo of the parcel label.
    let _photo = browser
        .choose_file("#file", ".png", &switchboard_testkit::media::png(24, 16, 0))
        .await;
    browser
        .client
        .wait()
        .at_most(Duration::from_secs(10))
        .for_element(Locator::Css("#messages li.in img.preview"))
        .await
        .unwrap();
    let natural_width = || async {
        browser
            .client
            .execute(
                "return document.querySelector('#messages li.in img.preview').naturalWidth",
                vec![],
            )
            .await
            .unwrap()
            .as_u64()
    };
    for _ in 0..100 {
        if natural_width().await == Some(24) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(natural_width().await, Some(24), "the image loaded in the widget");

    // The conversation reached the team; an agent takes it and replies.
    let list = org.admin.get(&org.path("/conversations?section=live")).await;
    let conversation = list["items"][0]["id"].as_str().unwrap().to_owned();
    let history = org
        .admin
        .get(&org.path(&format!("/conversations/{conversation}/messages")))
        .await;
    let photo_message = history["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["kind"] == "media")
        .expect("the photo is in the conversation")
        .clone();
    assert_eq!(photo_message["direction"], "in");
    assert_eq!(photo_message["attachments"][0]["mime"], "image/png");
    org.set_online(&org.agent, &org.agent_id).await;
    org.admin
        .post(
            &org.path(&format!("/conversations/{conversation}/assign")),
            json!({"user_id": org.agent_id}),
        )
        .await;
    org.agent
        .post(&org.path(&format!("/conversations/{conversation}/typing")), json!({}))
        .await;
    let reply = org
        .agent
        .post(
            &org.path(&format!("/conversations/{conversation}/messages")),
            json!({"kind": "text", "body": "Yes, it left our warehouse today <b>fast</b>."}),
        )
        .await;
    assert_eq!(reply.status, 201);
    // Without a reload.
    let shown = browser.wait_for_text("#messages li.out", "left our warehouse").await;
    assert!(shown.contains("<b>fast</b>"), "agent text is shown as text: {shown}");
    assert!(shown.contains("Ana Agent"));
    browser.wait_for_text("#agent", "Ana Agent").await;
    browser.screenshot("widget-conversation").await;
    // The panel was open, so the reply is marked read.
    let reply_id = reply["id"].as_str().unwrap().to_owned();
    switchboard_testkit::eventually(Duration::from_secs(10), || async {
        let page = org
            .agent
            .get(&org.path(&format!("/conversations/{conversation}/messages")))
            .await;
        let status = page["items"]
            .as_array()?
            .iter()
            .find(|m| m["id"] == reply_id.as_str())?["delivery_status"]
            .clone();
        (status == "read").then_some(())
    })
    .await;

    // A reload keeps the history.
    browser.client.enter_parent_frame().await.unwrap();
    browser.client.refresh().await.unwrap();
    open_widget(&browser).await;
    browser.wait_for_text("#messages li.in", "order #42").await;
    browser.wait_for_text("#messages li.out", "left our warehouse").await;
    browser
        .client
        .wait()
        .at_most(Duration::from_secs(10))
        .for_element(Locator::Css("#messages li.in img.preview"))
        .await
        .unwrap();
    browser.client.enter_parent_frame().await.unwrap();
    browser.screenshot("widget-after-reload").await;
    browser.close().await;
}
