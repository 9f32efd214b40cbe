//! The agent app in real Chromium sessions, driven as people would: the
//! admin sets up the workspace and creates teams, an agent and a web
//! channel through the admin pages; the agent signs in elsewhere, goes
//! online and gets the visitor's chat live; replies with a quick reply and
//! an image; is notified of a supervisor's @mention; transfers to Billing
//! with a comment, which Bo of Billing sees arrive live in his own browser;
//! Bo resolves with a feedback request and the visitor is asked for a
//! rating. Screenshots of each page go to test-output/app/.

use fantoccini::Locator;
use serde_json::json;
use switchboard_testkit::TestApp;
use switchboard_testkit::browser::{Browser, host_page, open_widget};
use switchboard_testkit::client::ApiClient;
use switchboard_testkit::fixtures::invite;

#[tokio::test]
async fn a_support_day_in_the_browser() {
    let Some(admin_browser) = Browser::start("app").await else {
        return;
    };
    let app = TestApp::spawn().await;

    // The admin completes setup.
    let token = app.services.prepare_setup().await.unwrap().unwrap();
    admin_browser
        .client
        .goto(&app.url(&format!("/setup?token={token}")))
        .await
        .unwrap();
    admin_browser.fill("#workspace_name", "Acme").await;
    admin_browser.fill("#name", "Ada Admin").await;
    admin_browser.fill("#email", "ada@acme.test").await;
    admin_browser.fill("#password", "a long admin password").await;
    admin_browser.submit("button[type=submit]").await;
    let inbox_path = admin_browser.path().await;
    let ws = inbox_path.split('/').nth(2).unwrap().to_owned();
    let admin_api = ApiClient::login(&app, "ada@acme.test", "a long admin password").await;
    let base = format!("/api/v1/workspaces/{ws}");

    // Two teams through the admin pages.
    admin_browser
        .client
        .goto(&app.url(&format!("/w/{ws}/admin/teams")))
        .await
        .unwrap();
    for name in ["Support", "Billing"] {
        admin_browser.fill("#team-name", name).await;
        admin_browser
            .submit("form[data-api$='/teams'] button[type=submit]")
            .await;
        admin_browser.wait_for_text("main h2", name).await;
    }
    admin_browser.screenshot("admin-teams").await;
    let teams = admin_api.get(&format!("{base}/teams")).await;
    let team_id = |name: &str| {
        teams["items"]
            .as_array()
            .unwrap()
            .iter()
            .find(|t| t["name"] == name)
            .unwrap()["id"]
            .as_str()
            .unwrap()
            .to_owned()
    };
    let (support, billing) = (team_id("Support"), team_id("Billing"));

    // An agent is invited: a bad address is reported next to its field and
    // the rest stays typed; the link to give them is shown once.
    admin_browser
        .client
        .goto(&app.url(&format!("/w/{ws}/admin/agents")))
        .await
        .unwrap();
    admin_browser.fill("#new-name", "Ana <b>Agent</b>").await;
    admin_browser.fill("#new-email", "not an address").await;
    admin_browser
        .click(&format!("#new-teams option[value='{support}']"))
        .await;
    admin_browser
        .click("form[data-api$='/users'] button[type=submit]")
        .await;
    let error = admin_browser.wait_for_text("[data-error-for='email']", "e-mail").await;
    assert!(error.contains("not a valid e-mail address"), "{error}");
    assert_eq!(admin_browser.value("#new-name").await, "Ana <b>Agent</b>");
    admin_browser.screenshot("admin-agents-error").await;
    admin_browser.fill("#new-email", "ana@acme.test").await;
    admin_browser
        .click("form[data-api$='/users'] button[type=submit]")
        .await;
    let notice = admin_browser
        .wait_for_text("[data-notice-slot]", "/invite?token=")
        .await;
    let invitation_link = notice.rsplit(' ').next().unwrap().to_owned();
    admin_browser.screenshot("admin-agents").await;

    // A web channel for Support.
    admin_browser
        .client
        .goto(&app.url(&format!("/w/{ws}/admin/channels")))
        .await
        .unwrap();
    // Only kinds that work are offered.
    let kinds = admin_browser
        .eval("return [...document.querySelectorAll('#ch-kind option')].map((o) => o.value);")
        .await;
    assert_eq!(
        kinds,
        json!([
            "web",
            "whatsapp",
            "messenger",
            "instagram",
            "telegram",
            "sms",
            "email",
            "vk",
            "x",
            "api"
        ])
    );
    admin_browser.fill("#ch-name", "Shop chat").await;
    admin_browser
        .click(&format!("#ch-team option[value='{support}']"))
        .await;
    admin_browser
        .click("form[data-api$='/channels'] button[type=submit]")
        .await;
    admin_browser
        .wait_for_text("[data-notice-slot]", "not be shown again")
        .await;
    admin_browser.client.refresh().await.unwrap();
    admin_browser.wait_for_text("main pre", "widget.js").await;
    admin_browser.screenshot("admin-channels").await;
    let channels = admin_api.get(&format!("{base}/channels")).await;
    let channel = channels["items"][0]["id"].as_str().unwrap().to_owned();
    let (origin, _shop) = host_page(&app, &channel).await;
    let r = admin_api
        .patch(
            &format!("{base}/channels/{channel}"),
            json!({"widget": {"allowed_origins": [origin], "title": "Shop support"}}),
        )
        .await;
    assert_eq!(r.status, 200, "{:?}", r.body);

    // A Billing agent (online) to receive the transfer, and a supervisor.
    invite(
        &admin_api,
        &ws,
        json!({"email": "bo@acme.test", "name": "Bo Billing", "role": "agent", "team_ids": [billing]}),
        "billing password",
    )
    .await;
    invite(&admin_api, &ws, json!({"email": "sam@acme.test", "name": "Sam Supervisor", "role": "supervisor", "team_ids": [support, billing]}), "supervisor pass").await;
    let sam = ApiClient::login(&app, "sam@acme.test", "supervisor pass").await;
    // A workspace quick reply.
    let r = admin_api
        .post(&format!("{base}/quick-replies"), json!({"scope": "workspace", "shortcut": "thanks", "text": "Thanks for waiting! Let me check that for you."}))
        .await;
    assert_eq!(r.status, 201, "{:?}", r.body);

    // The agent signs in in a second browser and goes online.
    let agent_browser = Browser::start("app").await.unwrap();
    // Ana accepts: a new address chooses its name and password.
    agent_browser.client.goto(&invitation_link).await.unwrap();
    assert!(agent_browser.text("main").await.contains("ana@acme.test"));
    assert_eq!(agent_browser.value("#name").await, "Ana <b>Agent</b>");
    agent_browser.screenshot("invitation").await;
    agent_browser.fill("#password", "short").await;
    agent_browser.submit("button[type=submit]").await;
    assert!(agent_browser.text(".field-error").await.contains("10"));
    agent_browser.fill("#password", "agent password 1").await;
    agent_browser.submit("button[type=submit]").await;
    assert!(
        agent_browser.path().await.ends_with("/inbox"),
        "signed in to the workspace"
    );
    assert!(agent_browser.path().await.ends_with("/inbox"));
    agent_browser.click("#availability option[value='online']").await;
    agent_browser.wait_for_text("#toasts", "online").await;
    agent_browser
        .client
        .goto(&app.url(&format!("/w/{ws}/inbox?section=assigned")))
        .await
        .unwrap();
    agent_browser.wait_for("body[data-live='connected']").await;

    // A visitor writes through the widget; the chat appears without a reload.
    let visitor = Browser::start("app").await.unwrap();
    visitor.client.goto(&format!("{origin}/")).await.unwrap();
    open_widget(&visitor).await;
    visitor
        .fill("#text", "Hi, my invoice <script>alert(1)</script> is wrong")
        .await;
    visitor.click("#send").await;
    let row = agent_browser.wait_for_text(".conversations .row", "invoice").await;
    assert!(row.contains("<script>alert(1)</script>"), "shown as text: {row}");
    agent_browser.screenshot("inbox-live").await;

    // Open it: the visitor sees their message was seen. Reply with a quick reply typed as /thanks.
    agent_browser.click(".conversations .row a").await;
    agent_browser.wait_for("#composer-text").await;
    visitor.wait_for_text("#messages li.in", "Seen").await;
    agent_browser.fill("#composer-text", "/than").await;
    agent_browser.wait_for("#suggestions li").await;
    agent_browser
        .client
        .find(Locator::Css("#composer-text"))
        .await
        .unwrap()
        .send_keys("\u{E004}")
        .await
        .unwrap(); // Tab picks the suggestion.
    assert!(
        agent_browser
            .value("#composer-text")
            .await
            .starts_with("Thanks for waiting")
    );
    agent_browser.click("#composer-send").await;
    agent_browser
        .wait_for_text("#messages li.out", "Thanks for waiting")
        .await;
    visitor.wait_for_text("#messages li", "Thanks for waiting").await;

    // And an image.
    let _photo = agent_browser
        .choose_file("#composer-file", ".png", &switchboard_testkit::media::png(32, 24, 1))
        .await;
    agent_browser.click("#composer-send").await;
    agent_browser.wait_for("#messages li.out img.preview").await;
    // The message list shows the image's preview, not the file itself.
    let (width, src) = switchboard_testkit::eventually(std::time::Duration::from_secs(10), || async {
        let shown = agent_browser
            .client
            .execute(
                "const img = document.querySelector('#messages li.out img.preview');
                 return img && img.naturalWidth ? [img.naturalWidth, img.getAttribute('src')] : null",
                vec![],
            )
            .await
            .ok()?;
        Some((shown[0].as_u64()?, shown[1].as_str()?.to_owned()))
    })
    .await;
    assert_eq!(width, 32, "the preview loaded");
    assert!(src.ends_with("/preview"), "{src}");

    // A quick reply with a new image uploaded from the picker (posted
    // nowhere until the quick reply is sent), then sent from it.
    let catalogue_png = switchboard_testkit::media::png(40, 30, 2);
    agent_browser.click("#quick-replies-open").await;
    agent_browser.click("#qr-new summary").await;
    agent_browser.fill("#qr-shortcut", "photo").await;
    agent_browser.fill("#qr-text", "Here is the photo again").await;
    let _catalogue = agent_browser.choose_file("#qr-file", ".png", &catalogue_png).await;
    agent_browser.click("#qr-form button[type=submit]").await;
    agent_browser.wait_for_text("#toasts", "Quick reply created").await;
    agent_browser.wait_for_text("#qr-list li", "/photo").await;
    agent_browser.screenshot("quick-reply-picker").await;
    for li in agent_browser
        .client
        .find_all(Locator::Css("#qr-list li[role=option]"))
        .await
        .unwrap()
    {
        if li.text().await.unwrap().contains("/photo") {
            li.click().await.unwrap();
            break;
        }
    }
    assert_eq!(agent_browser.value("#composer-text").await, "Here is the photo again");
    assert!(agent_browser.text("#composer-file-name").await.contains("from /photo"));
    agent_browser.click("#composer-send").await;
    let with_photo = agent_browser
        .wait_for_text("#messages li.out", "Here is the photo again")
        .await;
    assert!(!with_photo.is_empty());
    agent_browser.wait_for("#messages li.out:last-child img.preview").await;
    visitor.wait_for_text("#messages li", "Here is the photo again").await;
    // The very file uploaded from the picker, now in the chat.
    let chat = agent_browser
        .client
        .find(Locator::Css("#conversation"))
        .await
        .unwrap()
        .attr("data-id")
        .await
        .unwrap()
        .unwrap();
    let history = admin_api.get(&format!("{base}/conversations/{chat}/messages")).await;
    let last = history["items"].as_array().unwrap().last().unwrap().clone();
    assert_eq!(last["body"], "Here is the photo again");
    let sha: String = sha2::Digest::finalize(<sha2::Sha256 as sha2::Digest>::new_with_prefix(&catalogue_png))
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    assert_eq!(last["attachments"][0]["sha256"].as_str(), Some(sha.as_str()));
    agent_browser.screenshot("conversation").await;

    // A supervisor comments with an @mention; the agent is notified live.
    let conversation = agent_browser
        .client
        .find(Locator::Css("#conversation"))
        .await
        .unwrap()
        .attr("data-id")
        .await
        .unwrap()
        .unwrap();
    let r = sam
        .post(
            &format!("{base}/conversations/{conversation}/messages"),
            json!({"kind": "comment", "body": "@Ana <b>Agent</b> nice work"}),
        )
        .await;
    assert_eq!(r.status, 201, "{:?}", r.body);
    let toast = agent_browser.wait_for_text("#toasts", "mentioned you").await;
    assert!(toast.contains("Sam Supervisor"), "{toast}");
    assert_eq!(agent_browser.text("#bell-count").await, "1");
    agent_browser.wait_for_text("#messages li.comment", "nice work").await;

    // Bo of Billing signs in in a third browser, goes online and watches his list.
    let bo_browser = Browser::start("app").await.unwrap();
    bo_browser.sign_in(&app, "bo@acme.test", "billing password").await;
    bo_browser.click("#availability option[value='online']").await;
    bo_browser.wait_for_text("#toasts", "online").await;
    bo_browser
        .client
        .goto(&app.url(&format!("/w/{ws}/inbox?section=assigned")))
        .await
        .unwrap();
    bo_browser.wait_for("body[data-live='connected']").await;
    assert!(!bo_browser.text("main").await.contains("invoice"), "not Bo's chat yet");

    // Transfer to Billing with a comment; Bo gets the chat live, with the comment.
    agent_browser.click("[data-open='transfer-dialog']").await;
    let billing_choice = format!("#transfer-targets input[value='team:{billing}']");
    agent_browser.wait_for(&billing_choice).await;
    agent_browser.click(&billing_choice).await;
    agent_browser
        .fill("#transfer-comment", "Invoice question, over to Billing")
        .await;
    agent_browser.screenshot("transfer-dialog").await;
    agent_browser.click("#transfer-dialog button[type=submit]").await;
    let row = format!(".conversations .row[data-id='{conversation}'] a");
    bo_browser.wait_for(&row).await;
    bo_browser.click(&row).await;
    bo_browser
        .wait_for_text("#messages .activity-line", "Invoice question, over to Billing")
        .await;
    bo_browser.wait_for_text("#conv-head", "Bo Billing").await;
    bo_browser.screenshot("conversation-transferred").await;
    // Ana's pane follows: the chat is no longer hers to see.
    agent_browser.wait_for_text("#pane", "no longer in your inbox").await;

    // Bo resolves with a feedback request; the visitor is asked for a rating.
    bo_browser
        .click("[data-open='status-dialog'][data-to='resolved']")
        .await;
    bo_browser.fill("#status-comment", "Refund issued").await;
    bo_browser.click("#status-feedback").await;
    bo_browser.click("#status-dialog button[type=submit]").await;
    bo_browser.wait_for_text("#conv-head", "Resolved").await;
    visitor.wait_for_text("#messages li", "rate this conversation").await;
    visitor.screenshot("widget-rating").await;

    // The other main pages render, and every control on them has a label.
    for (page, shot) in [
        (format!("/w/{ws}/supervisor"), "supervisor"),
        (format!("/w/{ws}/contacts"), "contacts"),
        (format!("/w/{ws}/profile"), "profile"),
        (format!("/w/{ws}/admin/settings"), "admin-settings"),
        (format!("/w/{ws}/admin/quick-replies"), "admin-quick-replies"),
        (format!("/w/{ws}/admin/teams"), "admin-teams-edit"),
        (format!("/w/{ws}/admin/channels"), "admin-channels-list"),
        (format!("/w/{ws}/inbox?section=archived"), "archived"),
        (format!("/w/{ws}/conversations/{conversation}"), "conversation-closed"),
    ] {
        admin_browser.client.goto(&app.url(&page)).await.unwrap();
        admin_browser.wait_for("main").await;
        // Script-built forms (admin lists, the hours editor) included.
        tokio::time::sleep(std::time::Duration::from_millis(300)).await;
        let unlabelled = admin_browser
            .eval(
                r#"return [...document.querySelectorAll("input:not([type=hidden]), select, textarea")]
                    .filter((el) => !el.labels?.length && !el.getAttribute("aria-label") && !el.getAttribute("aria-labelledby"))
                    .map((el) => el.outerHTML.slice(0, 120));"#,
            )
            .await;
        assert_eq!(unlabelled, serde_json::json!([]), "{page}: controls without a label");
        admin_browser.screenshot(shot).await;
    }

    // A phone-sized screen: the inbox and a conversation fit its width.
    admin_browser.client.set_window_size(390, 844).await.unwrap();
    for (page, shot) in [
        (format!("/w/{ws}/inbox?section=archived"), "phone-inbox"),
        (format!("/w/{ws}/conversations/{conversation}"), "phone-conversation"),
        (format!("/w/{ws}/admin/teams"), "phone-admin-teams"),
    ] {
        admin_browser.client.goto(&app.url(&page)).await.unwrap();
        admin_browser.wait_for("main").await;
        let overflow = admin_browser
            .eval("return document.documentElement.scrollWidth - window.innerWidth;")
            .await;
        assert!(
            overflow.as_i64().unwrap() <= 0,
            "{page} is wider than the phone by {overflow}px"
        );
        admin_browser.screenshot(shot).await;
    }

    // Pages refuse inline script and framing.
    let r = admin_api.get(&format!("/w/{ws}/inbox")).await;
    let csp = r
        .headers
        .get("content-security-policy")
        .unwrap()
        .to_str()
        .unwrap()
        .to_owned();
    assert!(
        csp.contains("script-src 'self'") && csp.contains("frame-ancestors 'none'"),
        "{csp}"
    );
    visitor.close().await;
    bo_browser.close().await;
    agent_browser.close().await;
    admin_browser.close().await;
}
