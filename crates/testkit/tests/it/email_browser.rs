//! E-mail in a real Chromium: an admin connects a mailbox on the channels
//! page (a wrong address is refused beside its field); a customer's mail
//! (with its subject) and another customer's SMS show in the agent's one
//! inbox, and the agent answers both from the composer: the mail leaves by
//! SMTP as a threaded reply, the SMS through Twilio. The mail's formatted
//! version fetches its remote image only once the agent asks, without a
//! referrer.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use mail_parser::MessageParser;
use switchboard_service::{ProviderApis, Registry};
use switchboard_testkit::browser::Browser;
use switchboard_testkit::fixtures::Org;
use switchboard_testkit::mail::{ADDRESS, MailServers, PASSWORD};
use switchboard_testkit::twilio::{TwilioServer, signed_form};
use switchboard_testkit::{TestApp, TestOptions, eventually};

const TWILIO_ACCOUNT: &str = "AC0123456789abcdef0123456789abcdef";
const TWILIO_TOKEN: &str = "f00dfeedf00dfeedf00dfeedf00dfeed";
const PUBLIC_URL: &str = "https://support.example.com";

#[tokio::test]
async fn an_admin_connects_a_mailbox_and_an_agent_answers_a_mail_and_an_sms_from_one_inbox() {
    let Some(browser) = Browser::start("email-channel").await else {
        return;
    };
    let servers = MailServers::start().await;
    let twilio = TwilioServer::start(TWILIO_ACCOUNT, TWILIO_TOKEN).await;
    let mut options = TestOptions::default();
    options.service.channels = Registry::standard_with(&ProviderApis {
        twilio: twilio.api(PUBLIC_URL),
        ..Default::default()
    });
    let app = TestApp::spawn_with(options).await;
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
    browser
        .eval("document.querySelector('#ch-mail-receive').scrollIntoView(); return true;")
        .await;
    browser.screenshot("email-channel-form").await;
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

    let (picture, fetched) = image_host().await;
    servers
        .deliver(&format!(
            concat!(
                "From: Carla <carla@customer.example>\r\nTo: {address}\r\nSubject: Broken zipper\r\nMessage-ID: <z1@customer.example>\r\n",
                "MIME-Version: 1.0\r\nContent-Type: multipart/alternative; boundary=A\r\n\r\n",
                "--A\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nThe zipper broke after a week.\r\n",
                "--A\r\nContent-Type: text/html; charset=utf-8\r\n\r\n<p>The zipper <b>broke</b> after a week.</p><img src=\"{picture}\" alt=\"the zipper\">\r\n--A--\r\n"
            ),
            address = ADDRESS,
            picture = picture,
        ))
        .await;
    // An SMS line too, and a text from another customer.
    let r = org
        .admin
        .post(
            &org.path("/channels"),
            serde_json::json!({"kind": "sms", "name": "Support line", "default_team_id": org.team,
                   "config": {"account_sid": TWILIO_ACCOUNT, "auth_token": TWILIO_TOKEN, "from": "+14155550199"}}),
        )
        .await;
    assert_eq!(r.status, 201, "{:?}", r.body);
    let sms = r["id"].as_str().unwrap().to_owned();
    let (form, signature) = signed_form(
        TWILIO_TOKEN,
        &format!("{PUBLIC_URL}/hooks/sms/{sms}"),
        &[
            ("MessageSid", "SM900"),
            ("AccountSid", TWILIO_ACCOUNT),
            ("From", "+14155550100"),
            ("To", "+14155550199"),
            ("Body", "Do you ship to Canada?"),
            ("NumMedia", "0"),
        ],
    );
    let status = reqwest::Client::new()
        .post(app.url(&format!("/hooks/sms/{sms}")))
        .header("content-type", "application/x-www-form-urlencoded")
        .header(switchboard_channels::twilio::SIGNATURE_HEADER, signature)
        .body(form)
        .send()
        .await
        .unwrap()
        .status();
    assert_eq!(status, 200);
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
    open_row(&browser, "The zipper broke after a week.").await;
    let subject = browser.wait_for_text("#messages li.in .subject", "Broken zipper").await;
    assert!(subject.contains("Subject:"), "{subject}");
    // The formatted version: the remote picture has no address to load
    // until the agent asks for it.
    browser.click("#messages li.in details.mail-html summary").await;
    browser.wait_for_text("#messages .mail-html-body b", "broke").await;
    let src = browser
        .eval("return document.querySelector('#messages .mail-html-body img').getAttribute('src')")
        .await;
    assert_eq!(src, serde_json::Value::Null);
    assert!(fetched.lock().unwrap().is_empty(), "nothing remote was loaded");
    browser.screenshot("email-remote-images-blocked").await;
    browser.click("#messages .load-images").await;
    eventually(Duration::from_secs(10), || async {
        (!fetched.lock().unwrap().is_empty()).then_some(())
    })
    .await;
    assert_eq!(*fetched.lock().unwrap(), [None], "one fetch, with no referrer");
    let counter = browser
        .eval("return document.querySelector('#composer-segments') === null")
        .await;
    assert_eq!(counter, serde_json::json!(true), "no SMS segments on e-mail");
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

    // The SMS, from the same inbox.
    let row = browser
        .wait_for_text(".conversations .row", "Do you ship to Canada?")
        .await;
    assert!(row.contains("SMS"), "the row shows SMS's badge: {row}");
    open_row(&browser, "Do you ship to Canada?").await;
    browser.wait_for_text("#messages li.in", "Do you ship to Canada?").await;
    // SMS segments counted as the agent types: GSM-7 splits past 160, any
    // other alphabet is Unicode (70 per segment).
    let segments = || async {
        browser
            .eval("const p = document.querySelector('#composer-segments'); return [p.dataset.segments, p.dataset.encoding, p.textContent];")
            .await
    };
    browser.fill("#composer-text", &"a".repeat(161)).await;
    assert_eq!(
        segments().await,
        serde_json::json!(["2", "GSM-7", "161 characters · 2 SMS segments"])
    );
    browser.fill("#composer-text", "Привет, {ok}").await;
    assert_eq!(
        segments().await,
        serde_json::json!(["1", "Unicode", "12 Unicode characters · 1 SMS segment"])
    );
    browser.fill("#composer-text", "Yes, in 5 to 7 days.").await;
    assert_eq!(segments().await[0], "1");
    browser.click("#composer-send").await;
    browser.wait_for_text("#messages li.out", "Yes, in 5 to 7 days.").await;
    eventually(Duration::from_secs(10), || async {
        twilio
            .sent()
            .iter()
            .any(|form| form.iter().any(|(k, v)| k == "Body" && v == "Yes, in 5 to 7 days."))
            .then_some(())
    })
    .await;
    assert_eq!(servers.sent().len(), 1, "the SMS answer sent no mail");
    browser.screenshot("email-and-sms-answered").await;
}

/// A web server with one picture; what each fetch of it sent as `Referer`.
async fn image_host() -> (String, Arc<Mutex<Vec<Option<String>>>>) {
    let fetched = Arc::new(Mutex::new(Vec::new()));
    let seen = fetched.clone();
    let app = axum::Router::new().route(
        "/zipper.png",
        axum::routing::get(move |headers: axum::http::HeaderMap| {
            let seen = seen.clone();
            async move {
                let referer = headers.get("referer").and_then(|v| v.to_str().ok()).map(str::to_owned);
                seen.lock().unwrap().push(referer);
                (
                    [("content-type", "image/png")],
                    switchboard_testkit::media::png(4, 4, 2),
                )
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://127.0.0.1:{}/zipper.png", listener.local_addr().unwrap().port());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (url, fetched)
}

/// Open the inbox row whose text holds `needle`.
async fn open_row(browser: &Browser, needle: &str) {
    let clicked = browser
        .eval(&format!(
            "const row = [...document.querySelectorAll('.conversations .row')].find((r) => r.textContent.includes({needle:?})); \
             if (!row) return false; row.querySelector('a').click(); return true;"
        ))
        .await;
    assert_eq!(clicked, serde_json::json!(true), "{needle}");
}
