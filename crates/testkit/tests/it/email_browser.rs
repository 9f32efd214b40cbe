//! E-mail in a real Chromium: an admin connects a mailbox on the channels
//! page (a wrong address is refused beside its field), a customer's mail
//! shows in the agent's inbox with its subject, and the agent's answer
//! from the composer leaves by SMTP as a threaded reply.

use std::time::Duration;

use mail_parser::MessageParser;
use switchboard_testkit::browser::Browser;
use switchboard_testkit::fixtures::Org;
use switchboard_testkit::mail::{ADDRESS, MailServers, PASSWORD};
use switchboard_testkit::{TestApp, eventually};

#[tokio::test]
async fn an_admin_connects_a_mailbox_and_an_agent_answers_a_mail() {
    let Some(browser) = Browser::start("email-channel").await else {
        return;
    };
    let servers = MailServers::start().await;
    let app = TestApp::spawn().await;
    let org = Org::create(&app).await;
    org.set_online(&org.agent, &org.agent_id).await;

    browser.sign_in(&app, "ada@acme.test", "admin password 1").await;
    browser
        .client
        .goto(&app.url(&format!("/w/{}/admin/channels", org.ws)))
        .await
        .unwrap();
    browser.click("#ch-kind option[value='email']").await;
    browser.fill("#ch-name", "Support mailbox").await;
    browser.click(&format!("#ch-team option[value='{}']", org.team)).await;
    browser.fill("#ch-mail-address", "not an address").await;
    browser.fill("#ch-mail-name", "Shop Support").await;
    browser.fill("#ch-mail-imap", "127.0.0.1").await;
    browser.click("#ch-mail-imap-security option[value='none']").await;
    browser.fill("#ch-mail-imap-port", &servers.imap_port.to_string()).await;
    browser.fill("#ch-mail-smtp", "127.0.0.1").await;
    browser.click("#ch-mail-smtp-security option[value='none']").await;
    browser.fill("#ch-mail-smtp-port", &servers.smtp_port.to_string()).await;
    browser.fill("#ch-mail-password", PASSWORD).await;
    // The browser's own check stops an invalid e-mail field: switch it off to
    // see the server's answer beside the field.
    browser
        .eval("document.querySelector('form[data-api$=\"/channels\"]').noValidate = true; return true;")
        .await;
    browser.click("form[data-api$='/channels'] button[type=submit]").await;
    let error = browser
        .wait_for_text("[data-error-for='config.address']", "e-mail address")
        .await;
    assert!(error.contains("e-mail address"), "{error}");
    browser.fill("#ch-mail-address", ADDRESS).await;
    browser.click("form[data-api$='/channels'] button[type=submit]").await;
    browser.wait_for_text("[data-notice-slot]", "not be shown again").await;
    let channels = org.admin.get(&org.path("/channels")).await;
    let channel = channels["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["kind"] == "email")
        .cloned()
        .expect("the e-mail channel");
    assert_eq!(channel["config"]["address"], ADDRESS);
    assert_eq!(channel["config"]["password_set"], true);
    assert!(!channel.to_string().contains(PASSWORD));

    servers
        .deliver(&format!(
            "From: Carla <carla@customer.example>\r\nTo: {ADDRESS}\r\nSubject: Broken zipper\r\nMessage-ID: <z1@customer.example>\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nThe zipper broke after a week.\r\n"
        ))
        .await;
    browser.submit("form[action='/logout']").await;
    browser.sign_in(&app, "ana@acme.test", "agent password 1").await;
    browser
        .client
        .goto(&app.url(&format!("/w/{}/inbox?section=assigned", org.ws)))
        .await
        .unwrap();
    browser.wait_for("body[data-live='connected']").await;
    let row = browser
        .wait_for_text(".conversations .row", "The zipper broke after a week.")
        .await;
    assert!(row.contains('@'), "the row shows e-mail's badge: {row}");
    browser.click(".conversations .row a").await;
    let subject = browser.wait_for_text("#messages li.in .subject", "Broken zipper").await;
    assert!(subject.contains("Subject:"), "{subject}");
    browser.fill("#composer-text", "A new one is on its way.").await;
    browser.click("#composer-send").await;
    browser
        .wait_for_text("#messages li.out", "A new one is on its way.")
        .await;
    let sent = servers.wait_sent(1).await;
    let out = MessageParser::default().parse(&sent[0].raw).unwrap();
    assert_eq!(out.subject(), Some("Re: Broken zipper"));
    assert_eq!(
        out.header_raw("In-Reply-To").map(str::trim),
        Some("<z1@customer.example>")
    );
    eventually(Duration::from_secs(10), || async {
        browser
            .eval("return document.querySelector('#messages li.out .ticks')?.getAttribute('title') || ''")
            .await
            .as_str()
            .filter(|t| *t == "sent")
            .map(|_| ())
    })
    .await;
    browser.screenshot("email-answered").await;
}
