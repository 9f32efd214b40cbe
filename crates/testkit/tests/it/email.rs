//! E-mail against real mail servers (`switchboard_testkit::mail`): Dovecot
//! holds the channel's mailbox (read by IMAP, UID by UID, waiting with
//! IDLE), aiosmtpd takes the replies (checking our SMTP login). A mail
//! becomes a conversation with its subject and files (fetched from the
//! mailbox, which keeps the mail unread); the agent's reply is threaded
//! onto it (`In-Reply-To`, `References`, `Re:` subject) with a text and an
//! HTML part, the signature and the agent's files; the customer's answer
//! lands in the same conversation quoting it. Automatic mail opens no
//! conversation, a bounce fails the reply it returns, a recipient the
//! server refuses fails at once, and a subject cannot add a header. Each
//! thread keeps its own conversation (headers first, then the subject);
//! mail a relay posts to the hook arrives like mailbox mail, once.

use std::time::Duration;

use mail_parser::{MessageParser, MimeHeaders};
use reqwest::Method;
use serde_json::{Value, json};
use switchboard_channels::email::MailSettings;
use switchboard_service::{ProviderApis, Registry};
use switchboard_testkit::channel_view::ChannelView;
use switchboard_testkit::client::ApiClient;
use switchboard_testkit::fixtures::Org;
use switchboard_testkit::mail::{ADDRESS, MailServers};
use switchboard_testkit::media::png;
use switchboard_testkit::{TestApp, TestOptions};

struct Mail {
    app: TestApp,
    org: Org,
    servers: MailServers,
    view: ChannelView,
    /// The channel secret (a relay posting mail names it).
    secret: String,
}

/// Polls that wait briefly, and a short job lease: a restarted server
/// takes over the stopped one's poll soon.
fn quick_polls() -> TestOptions {
    let mut options = TestOptions::default();
    options.service.channels = Registry::standard_with(&ProviderApis {
        email: MailSettings {
            idle_wait_secs: 1,
            ..Default::default()
        },
        ..Default::default()
    });
    options.service.job_lease = Duration::from_secs(3);
    options
}

async fn start() -> Mail {
    start_with(TestOptions::default()).await
}

async fn start_with(options: TestOptions) -> Mail {
    connect(MailServers::start().await, options, json!({})).await
}

/// An app with an e-mail channel on `servers`: their configuration with
/// `change` laid over it.
async fn connect(servers: MailServers, options: TestOptions, change: Value) -> Mail {
    let app = TestApp::spawn_with(options).await;
    let org = Org::create(&app).await;
    org.set_online(&org.agent, &org.agent_id).await;
    let mut config = servers.config();
    config
        .as_object_mut()
        .unwrap()
        .extend(change.as_object().cloned().unwrap_or_default());
    let r = org
        .admin
        .post(
            &org.path("/channels"),
            json!({"kind": "email", "name": "Support mailbox", "default_team_id": org.team, "config": config}),
        )
        .await;
    assert_eq!(r.status, 201, "{:?}", r.body);
    let password = config["password"].as_str().unwrap();
    assert!(!r.body.to_string().contains(password), "the password is never shown");
    Mail {
        view: ChannelView::of(&org, r["id"].as_str().unwrap()),
        secret: r["secret"].as_str().expect("the channel secret, once").to_owned(),
        app,
        org,
        servers,
    }
}

impl Mail {
    /// A change to the channel's configuration, accepted; the channel as
    /// the answer shows it.
    async fn reconfigure(&self, change: Value) -> Value {
        let r = self
            .org
            .admin
            .patch(
                &self.org.path(&format!("/channels/{}", self.view.channel)),
                json!({"config": change}),
            )
            .await;
        assert!(r.status.is_success(), "{:?}", r.body);
        r.body
    }

    /// A customer's mail read from the mailbox and answered through the
    /// SMTP server, logged in; the conversation it is in.
    async fn read_and_answer(&self, message_id: &str, subject: &str) -> String {
        let answered = self.servers.sent().len();
        self.servers
            .deliver(&customer_mail(
                "ana@customer.example",
                message_id,
                subject,
                "",
                "Hello.",
            ))
            .await;
        let conversation = self.view.conversation().await;
        self.view
            .message_where(&conversation, |m| m["provider_message_id"] == message_id)
            .await;
        self.view.reply(&conversation, "Answered.").await;
        let sent = self.servers.wait_sent(answered + 1).await;
        assert_eq!(sent[answered].envelope["authenticated"], true);
        conversation
    }
}

fn customer_mail(from: &str, message_id: &str, subject: &str, extra_headers: &str, text: &str) -> String {
    format!(
        "From: Ana Customer <{from}>\r\nTo: {ADDRESS}\r\nSubject: {subject}\r\nMessage-ID: <{message_id}>\r\nDate: Mon, 7 Dec 2026 09:00:00 +0000\r\n{extra_headers}MIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n{text}\r\n"
    )
}

fn header<'a>(mail: &'a mail_parser::Message<'a>, name: &str) -> String {
    mail.header_raw(name).unwrap_or_default().trim().to_owned()
}

#[tokio::test]
async fn a_mail_becomes_a_conversation_and_the_reply_is_threaded_onto_it() {
    let mail = start().await;
    let image = png(24, 16, 5);
    let encoded = base64::Engine::encode(&base64::engine::general_purpose::STANDARD, &image);
    mail.servers
        .deliver(&format!(
            "From: Ana Customer <ana@customer.example>\r\nTo: {ADDRESS}\r\nSubject: Order 42 is late\r\nMessage-ID: <c1@customer.example>\r\nDate: Mon, 7 Dec 2026 09:00:00 +0000\r\nMIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=XYZ\r\n\r\n--XYZ\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nWhere is my order? Photo of the label attached.\r\n--XYZ\r\nContent-Type: image/png; name=label.png\r\nContent-Disposition: attachment; filename=label.png\r\nContent-Transfer-Encoding: base64\r\n\r\n{encoded}\r\n--XYZ--\r\n"
        ))
        .await;
    let conversation = mail.view.conversation().await;
    let first = mail
        .view
        .message_where(&conversation, |m| {
            m["direction"] == "in" && !m["attachments"][0].is_null()
        })
        .await;
    assert_eq!(first["body"], "Where is my order? Photo of the label attached.");
    assert_eq!(first["subject"], "Order 42 is late");
    assert_eq!(first["provider_message_id"], "c1@customer.example");
    assert_eq!(first["attachments"][0]["size"].as_u64(), Some(image.len() as u64));
    assert_eq!(mail.servers.unseen().await, 1, "the mailbox keeps the mail unread");
    let contact = mail.view.contact_of(&conversation).await;
    assert_eq!(
        (contact["name"].as_str(), contact["email"].as_str()),
        (Some("Ana Customer"), Some("ana@customer.example"))
    );

    // The reply: threaded, signed, both parts, through an SMTP login.
    let reply = mail
        .view
        .reply(&conversation, "It ships today <3\nTracking follows.")
        .await;
    let sent = mail.servers.wait_sent(1).await;
    assert_eq!(sent[0].envelope["rcpt_tos"], json!(["ana@customer.example"]));
    assert_eq!(sent[0].envelope["mail_from"], ADDRESS);
    assert_eq!(sent[0].envelope["authenticated"], true);
    let out = MessageParser::default().parse(&sent[0].raw).unwrap();
    assert_eq!(out.subject(), Some("Re: Order 42 is late"));
    assert_eq!(header(&out, "In-Reply-To"), "<c1@customer.example>");
    assert!(header(&out, "References").contains("<c1@customer.example>"));
    let from = out.from().unwrap().first().unwrap();
    assert_eq!((from.name(), from.address()), (Some("Shop Support"), Some(ADDRESS)));
    let text = out.body_text(0).unwrap().replace("\r\n", "\n");
    assert!(
        text.contains("It ships today <3\nTracking follows.\n\n-- \nShop Support team"),
        "{}",
        sent[0].text()
    );
    let html = out.body_html(0).unwrap();
    assert!(html.contains("It ships today &lt;3<br>"), "{html}");
    let sent_id = out.message_id().unwrap().to_owned();
    let stored = mail
        .view
        .message_where(&conversation, |m| {
            m["id"] == reply.as_str() && m["delivery_status"] == "sent"
        })
        .await;
    assert_eq!(stored["provider_message_id"], sent_id.as_str());

    // The customer answers the reply: the same conversation, quoting it.
    mail.servers
        .deliver(&customer_mail(
            "ana@customer.example",
            "c2@customer.example",
            "Re: Order 42 is late",
            &format!("In-Reply-To: <{sent_id}>\r\nReferences: <c1@customer.example> <{sent_id}>\r\n"),
            "Great, thanks!\r\n\r\nOn Mon, 7 Dec 2026, Shop Support <help@shop.example> wrote:\r\n> It ships today",
        ))
        .await;
    let answer = mail
        .view
        .message_where(&conversation, |m| m["provider_message_id"] == "c2@customer.example")
        .await;
    assert_eq!(answer["body"], "Great, thanks!", "the quoted history is left out");
    assert_eq!(answer["in_reply_to"], reply.as_str());
    assert_eq!(mail.view.conversations().await.len(), 1);

    // HTML with an inline image (by cid:), a PDF, a script and a tracking
    // image: the text and both files; nothing of the script or the tracker.
    let logo = png(8, 8, 1);
    let receipt = b"%PDF-1.4\nthe receipt\n".to_vec();
    let b64 = |bytes: &[u8]| base64::Engine::encode(&base64::engine::general_purpose::STANDARD, bytes);
    mail.servers
        .deliver(&format!(
            concat!(
                "From: Ana Customer <ana@customer.example>\r\nTo: {address}\r\nSubject: Re: Order 42 is late\r\n",
                "Message-ID: <c3@customer.example>\r\nMIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=M\r\n\r\n",
                "--M\r\nContent-Type: multipart/related; boundary=R\r\n\r\n",
                "--R\r\nContent-Type: text/html; charset=utf-8\r\n\r\n<p>Here is the <b>receipt</b> and our logo <img src=\"cid:logo@c\"></p>",
                "<script>alert('stolen')</script><style>body{{display:none}}</style><img src=\"https://tracker.evil.example/pixel.png\">\r\n",
                "--R\r\nContent-Type: image/png\r\nContent-ID: <logo@c>\r\nContent-Disposition: inline; filename=logo.png\r\n",
                "Content-Transfer-Encoding: base64\r\n\r\n{logo}\r\n--R--\r\n",
                "--M\r\nContent-Type: application/pdf; name=receipt.pdf\r\nContent-Disposition: attachment; filename=receipt.pdf\r\n",
                "Content-Transfer-Encoding: base64\r\n\r\n{pdf}\r\n--M--\r\n"
            ),
            address = ADDRESS,
            logo = b64(&logo),
            pdf = b64(&receipt),
        ))
        .await;
    let rich = mail
        .view
        .message_where(&conversation, |m| {
            m["provider_message_id"] == "c3@customer.example"
                && m["attachments"].as_array().is_some_and(|a| a.len() == 2)
        })
        .await;
    let body = rich["body"].as_str().unwrap();
    assert!(body.contains("Here is the receipt and our logo"), "{body}");
    assert!(
        !body.contains("stolen") && !body.contains("display:none") && !body.contains("evil.example"),
        "{body}"
    );
    let html = rich["html"].as_str().expect("the formatted version");
    assert!(html.contains("Here is the <b>receipt</b>"), "{html}");
    for gone in ["script", "stolen", "style", "display:none", "cid:", " src="] {
        assert!(!html.contains(gone), "{gone} in {html}");
    }
    assert!(
        html.contains("<img data-remote-src=\"https://tracker.evil.example/pixel.png\">"),
        "the tracker waits for the agent, unloaded: {html}"
    );
    let mut files: Vec<(String, u64)> = rich["attachments"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| (a["filename"].as_str().unwrap().to_owned(), a["size"].as_u64().unwrap()))
        .collect();
    files.sort();
    assert_eq!(
        files,
        vec![
            ("logo.png".to_owned(), logo.len() as u64),
            ("receipt.pdf".to_owned(), receipt.len() as u64)
        ]
    );

    // A file from the agent goes as an attachment of a threaded mail.
    let document = b"%PDF-1.4\nthe invoice\n".to_vec();
    let r = mail
        .org
        .agent
        .send_raw(
            Method::POST,
            &mail.org.path(&format!(
                "/conversations/{conversation}/attachments?filename=invoice.pdf"
            )),
            Some("application/pdf"),
            document.clone(),
        )
        .await;
    assert_eq!(r.status, 201, "{:?}", r.body);
    let sent = mail.servers.wait_sent(2).await;
    let out = MessageParser::default().parse(&sent[1].raw).unwrap();
    let file = out.attachments().next().expect("an attachment");
    assert_eq!(
        (file.attachment_name(), file.contents()),
        (Some("invoice.pdf"), &document[..])
    );
    let references = header(&out, "References");
    assert!(
        references.contains("<c1@customer.example>") && references.contains("<c3@customer.example>"),
        "{references}"
    );
    assert_eq!(header(&out, "In-Reply-To"), "<c3@customer.example>");
}

#[tokio::test]
async fn automatic_mail_opens_nothing_and_failures_come_back() {
    let mail = start().await;
    // An out-of-office reply first, then a customer: one conversation.
    mail.servers
        .deliver(&customer_mail(
            "away@customer.example",
            "ooo@customer.example",
            "Out of office",
            "Auto-Submitted: auto-replied\r\n",
            "I am away until Monday.",
        ))
        .await;
    mail.servers
        .deliver(&customer_mail(
            "bo@customer.example",
            "b1@customer.example",
            "=?UTF-8?B?SGkNCkJjYzogdmljdGltQGV2aWwuZXhhbXBsZQ==?=",
            "",
            "Can you help?",
        ))
        .await;
    let conversation = mail.view.conversation().await;
    let reply = mail.view.reply(&conversation, "Of course.").await;
    let sent = mail.servers.wait_sent(1).await;
    assert_eq!(
        sent[0].envelope["rcpt_tos"],
        json!(["bo@customer.example"]),
        "a subject with a line break adds no recipient"
    );
    let out = MessageParser::default().parse(&sent[0].raw).unwrap();
    assert!(out.header_raw("Bcc").is_none());
    assert_eq!(out.subject(), Some("Re: Hi Bcc: victim@evil.example"));
    let sent_id = out.message_id().unwrap().to_owned();
    assert_eq!(
        mail.view.conversations().await.len(),
        1,
        "the auto-reply opened nothing"
    );

    // The recipient's server bounces the reply later: it is marked failed.
    mail.servers
        .deliver(&format!(
            "From: Mail Delivery System <MAILER-DAEMON@mx.customer.example>\r\nTo: {ADDRESS}\r\nSubject: Undelivered Mail Returned to Sender\r\nAuto-Submitted: auto-replied\r\nMessage-ID: <dsn1@mx.customer.example>\r\nMIME-Version: 1.0\r\nContent-Type: multipart/report; report-type=delivery-status; boundary=R\r\n\r\n--R\r\nContent-Type: text/plain\r\n\r\nYour message could not be delivered.\r\n--R\r\nContent-Type: message/delivery-status\r\n\r\nReporting-MTA: dns; mx.customer.example\r\n\r\nFinal-Recipient: rfc822; bo@customer.example\r\nAction: failed\r\nStatus: 5.2.2\r\nDiagnostic-Code: smtp; 552 5.2.2 Mailbox full\r\n--R\r\nContent-Type: text/rfc822-headers\r\n\r\nFrom: {ADDRESS}\r\nMessage-ID: <{sent_id}>\r\nSubject: Re: Hi\r\n--R--\r\n"
        ))
        .await;
    let failed = mail
        .view
        .message_where(&conversation, |m| {
            m["id"] == reply.as_str() && m["delivery_status"] == "failed"
        })
        .await;
    assert!(
        failed["delivery_error"]
            .as_str()
            .unwrap()
            .contains("552 5.2.2 Mailbox full"),
        "{failed}"
    );
    assert_eq!(mail.view.conversations().await.len(), 1, "the bounce opened nothing");

    // A recipient the SMTP server refuses fails at once.
    mail.servers
        .deliver(&customer_mail(
            "refused@customer.example",
            "x1@customer.example",
            "Hello",
            "",
            "Anyone?",
        ))
        .await;
    let refused = mail.view.conversation_other_than(&[&conversation]).await;
    let reply = mail.view.reply(&refused, "Hello there.").await;
    let failed = mail
        .view
        .message_where(&refused, |m| {
            m["id"] == reply.as_str() && m["delivery_status"] == "failed"
        })
        .await;
    assert!(
        failed["delivery_error"].as_str().unwrap().contains("No such mailbox"),
        "{failed}"
    );
}

#[tokio::test]
async fn the_configuration_is_checked_field_by_field_and_against_the_servers() {
    let mail = start().await;
    let r = mail
        .org
        .admin
        .post(
            &mail.org.path("/channels"),
            json!({"kind": "email", "name": "Bad", "config": {"address": "nope", "imap_host": "x", "smtp_host": "y", "password": "p"}}),
        )
        .await;
    assert_eq!(r.status, 422, "{:?}", r.body);
    assert!(r.body.to_string().contains("config.address"), "{:?}", r.body);

    // Check connection: logs in to both servers and says so.
    let r = mail.view.check().await;
    assert_eq!(r["ok"], true, "{r}");
    assert!(r["message"].as_str().unwrap().contains("logged in"), "{r}");

    // A wrong password: the IMAP server's refusal, named.
    mail.reconfigure(json!({"password": "wrong"})).await;
    let r = mail.view.check().await;
    assert_eq!(r["ok"], false, "{r}");
    assert!(r["message"].as_str().unwrap().contains("refused the login"), "{r}");
    assert!(!r.to_string().contains("wrong"), "the password is not echoed");
}

#[tokio::test]
async fn a_restart_reads_no_mail_twice_and_misses_none() {
    let mail = start_with(quick_polls()).await;
    mail.servers
        .deliver(&customer_mail(
            "ana@customer.example",
            "r1@customer.example",
            "Before",
            "",
            "Written before the restart.",
        ))
        .await;
    let conversation = mail.view.conversation().await;
    mail.view
        .message_where(&conversation, |m| m["provider_message_id"] == "r1@customer.example")
        .await;

    // Down for a while; a mail arrives meanwhile, one without a Message-ID.
    let Mail { app, servers, view, .. } = mail;
    let db = app.stop().await;
    servers
        .deliver(&format!(
            "From: Ana Customer <ana@customer.example>\r\nTo: {ADDRESS}\r\nSubject: Re: Before\r\n\r\nWritten while the server was down.\r\n"
        ))
        .await;
    let app = TestApp::spawn_on(db, quick_polls()).await;
    let view = view.with_clients(
        ApiClient::login(&app, "ada@acme.test", "admin password 1").await,
        ApiClient::login(&app, "ana@acme.test", "agent password 1").await,
    );
    view.message_where(&conversation, |m| m["body"] == "Written while the server was down.")
        .await;
    // A few more polls after the restart: still each mail once.
    tokio::time::sleep(Duration::from_secs(3)).await;
    let inbound: Vec<String> = view
        .messages(&conversation)
        .await
        .iter()
        .filter(|m| m["direction"] == "in")
        .map(|m| m["body"].as_str().unwrap_or_default().to_owned())
        .collect();
    assert_eq!(
        inbound,
        vec![
            "Written before the restart.".to_owned(),
            "Written while the server was down.".to_owned()
        ]
    );
    assert_eq!(view.conversations().await.len(), 1);
}

/// The provider ids of a conversation's inbound mail, in order.
async fn thread_of(view: &ChannelView, conversation: &str) -> Vec<String> {
    view.messages(conversation)
        .await
        .iter()
        .filter(|m| m["direction"] == "in")
        .filter_map(|m| m["provider_message_id"].as_str().map(str::to_owned))
        .collect()
}

#[tokio::test]
async fn each_thread_keeps_its_own_conversation() {
    let mail = start().await;
    let ana = "ana@customer.example";
    mail.servers
        .deliver(&customer_mail(
            ana,
            "t1@customer.example",
            "Order 42",
            "",
            "Where is order 42?",
        ))
        .await;
    let first = mail.view.conversation().await;
    mail.view.reply(&first, "It ships today.").await;
    let sent = mail.servers.wait_sent(1).await;
    let ours = MessageParser::default()
        .parse(&sent[0].raw)
        .unwrap()
        .message_id()
        .unwrap()
        .to_owned();
    let status = mail.org.path(&format!("/conversations/{first}/status"));
    let r = mail.org.agent.post(&status, json!({"status": "resolved"})).await;
    assert_eq!(r.status, 200, "{:?}", r.body);

    // A new subject without thread headers: a new conversation.
    mail.servers
        .deliver(&customer_mail(
            ana,
            "t2@customer.example",
            "Invoice question",
            "",
            "Can I get an invoice?",
        ))
        .await;
    let second = mail.view.conversation_other_than(&[&first]).await;

    // An answer to the closed thread (the channel's reopen period is 0):
    // that conversation again, live, beside the other open one.
    mail.servers
        .deliver(&customer_mail(
            ana,
            "t3@customer.example",
            "Re: Order 42",
            &format!("In-Reply-To: <{ours}>\r\nReferences: <t1@customer.example> <{ours}>\r\n"),
            "It has not arrived.",
        ))
        .await;
    mail.view
        .message_where(&first, |m| m["provider_message_id"] == "t3@customer.example")
        .await;
    let reopened = mail
        .org
        .admin
        .get(&mail.org.path(&format!("/conversations/{first}")))
        .await;
    assert!(
        reopened["status"] == "assigned" || reopened["status"] == "queued",
        "{:?}",
        reopened.body
    );

    // The same subject as the open one, from a program that drops the
    // thread headers: that one.
    mail.servers
        .deliver(&customer_mail(
            ana,
            "t4@customer.example",
            "AW: Invoice question",
            "",
            "For my company, please.",
        ))
        .await;
    mail.view
        .message_where(&second, |m| m["provider_message_id"] == "t4@customer.example")
        .await;

    // Someone else quoting our mail (a forwarded thread) gets their own.
    mail.servers
        .deliver(&customer_mail(
            "bo@customer.example",
            "t5@customer.example",
            "Fwd: Order 42",
            &format!("In-Reply-To: <{ours}>\r\n"),
            "My colleague's order is late too.",
        ))
        .await;
    let third = mail.view.conversation_other_than(&[&first, &second]).await;
    mail.view
        .message_where(&third, |m| m["provider_message_id"] == "t5@customer.example")
        .await;
    assert_eq!(
        thread_of(&mail.view, &first).await,
        ["t1@customer.example", "t3@customer.example"]
    );
    assert_eq!(
        thread_of(&mail.view, &second).await,
        ["t2@customer.example", "t4@customer.example"]
    );
    assert_eq!(mail.view.conversations().await.len(), 3);
}

#[tokio::test]
async fn mail_posted_by_a_relay_becomes_a_conversation_once() {
    let mail = connect(
        MailServers::start().await,
        TestOptions::default(),
        json!({"receive": "webhook"}),
    )
    .await;
    let channel = mail
        .org
        .admin
        .get(&mail.org.path(&format!("/channels/{}", mail.view.channel)))
        .await;
    assert_eq!(channel["config"]["receive"], "webhook");
    let Mail {
        app,
        servers,
        view,
        secret,
        ..
    } = &mail;
    let hook = app.url(&format!("/hooks/email/{}", view.channel));
    let http = reqwest::Client::new();

    // SendGrid's raw mode: the whole message in the form field `email`.
    let receipt = b"%PDF-1.4\nthe receipt\n".to_vec();
    let raw = format!(
        concat!(
            "From: Ana Customer <ana@customer.example>\r\nTo: {address}\r\nSubject: Refund\r\n",
            "Message-ID: <p1@customer.example>\r\nMIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=M\r\n\r\n",
            "--M\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nI would like a refund, receipt attached.\r\n",
            "--M\r\nContent-Type: application/pdf; name=receipt.pdf\r\nContent-Disposition: attachment; filename=receipt.pdf\r\n",
            "Content-Transfer-Encoding: base64\r\n\r\n{pdf}\r\n--M--\r\n"
        ),
        address = ADDRESS,
        pdf = base64::Engine::encode(&base64::engine::general_purpose::STANDARD, &receipt),
    );
    let sendgrid = || {
        reqwest::multipart::Form::new()
            .text("to", ADDRESS)
            .text("from", "Ana Customer <ana@customer.example>")
            .text("email", raw.clone())
    };
    let post = |query: String, form: reqwest::multipart::Form| {
        let http = http.clone();
        let hook = hook.clone();
        async move {
            http.post(format!("{hook}{query}"))
                .multipart(form)
                .send()
                .await
                .unwrap()
                .status()
                .as_u16()
        }
    };
    assert_eq!(post(String::new(), sendgrid()).await, 401, "no secret");
    assert_eq!(post("?key=wrong".into(), sendgrid()).await, 401, "a wrong secret");
    assert!(view.conversations().await.is_empty());
    assert_eq!(post(format!("?key={secret}"), sendgrid()).await, 200);
    let conversation = view.conversation().await;
    let first = view
        .message_where(&conversation, |m| m["provider_message_id"] == "p1@customer.example")
        .await;
    assert_eq!(first["body"], "I would like a refund, receipt attached.");
    assert_eq!(first["subject"], "Refund");
    assert_eq!(first["attachments"][0]["filename"], "receipt.pdf");
    assert_eq!(first["attachments"][0]["size"].as_u64(), Some(receipt.len() as u64));
    // The relay retries: still one message.
    assert_eq!(post(format!("?key={secret}"), sendgrid()).await, 200);
    assert_eq!(thread_of(view, &conversation).await, ["p1@customer.example"]);

    // A body that is no relay's shape says so.
    let r = http
        .post(format!("{hook}?key={secret}"))
        .header("content-type", "text/plain")
        .body("hello")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 415);

    // The reply goes out by SMTP, threaded; the customer's answer comes
    // back through a Mailgun-style form with the secret as the Basic
    // password, and lands in the same conversation.
    view.reply(&conversation, "Refunded.").await;
    let sent = servers.wait_sent(1).await;
    let out = MessageParser::default().parse(&sent[0].raw).unwrap();
    assert_eq!(header(&out, "In-Reply-To"), "<p1@customer.example>");
    let ours = out.message_id().unwrap().to_owned();
    let answer = customer_mail(
        "ana@customer.example",
        "p2@customer.example",
        "Re: Refund",
        &format!("In-Reply-To: <{ours}>\r\n"),
        "Thank you!",
    );
    let r = http
        .post(&hook)
        .basic_auth("mailgun", Some(&secret))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(
            url::form_urlencoded::Serializer::new(String::new())
                .append_pair("recipient", ADDRESS)
                .append_pair("body-mime", &answer)
                .finish(),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    view.message_where(&conversation, |m| m["provider_message_id"] == "p2@customer.example")
        .await;
    assert_eq!(view.conversations().await.len(), 1);
}

#[tokio::test]
async fn tls_and_starttls_to_servers_with_a_private_ca() {
    let servers = MailServers::start_tls().await;
    let tls = servers.tls.clone().unwrap();
    let mut options = quick_polls();
    options.service.channels = Registry::standard_with(&ProviderApis {
        email: MailSettings {
            idle_wait_secs: 1,
            ..Default::default()
        }
        .trusting_pem(&tls.ca_pem)
        .unwrap(),
        ..Default::default()
    });
    // IMAP over TLS from the first byte, SMTP upgraded with STARTTLS (the
    // servers take no login in clear).
    let mail = connect(
        servers,
        options,
        json!({"imap_port": tls.imaps_port, "imap_security": "tls", "smtp_security": "starttls"}),
    )
    .await;
    let checked = mail.view.check().await;
    assert_eq!(checked["ok"], true, "{checked}");
    let conversation = mail.read_and_answer("tls1@customer.example", "Secure").await;

    // The other way round: IMAP upgraded with STARTTLS, SMTP over TLS.
    mail.reconfigure(json!({"imap_port": mail.servers.imap_port, "imap_security": "starttls",
                            "smtp_port": tls.smtps_port, "smtp_security": "tls"}))
        .await;
    let checked = mail.view.check().await;
    assert_eq!(checked["ok"], true, "{checked}");
    assert_eq!(
        mail.read_and_answer("tls2@customer.example", "Re: Secure").await,
        conversation
    );
}

#[tokio::test]
async fn a_certificate_no_trusted_ca_issued_is_refused() {
    let servers = MailServers::start_tls().await;
    let imaps_port = servers.tls.as_ref().unwrap().imaps_port;
    let mail = connect(
        servers,
        TestOptions::default(),
        json!({"imap_port": imaps_port, "imap_security": "tls"}),
    )
    .await;
    let checked = mail.view.check().await;
    assert_eq!(checked["ok"], false, "{checked}");
    let message = checked["message"].as_str().unwrap();
    assert!(
        message.contains("TLS handshake") && message.contains("certificate"),
        "{message}"
    );
}

#[tokio::test]
async fn a_relay_may_post_mail_larger_than_other_hooks_take_up_to_its_own_limit() {
    let mail = connect(
        MailServers::start().await,
        TestOptions::default(),
        json!({"receive": "webhook"}),
    )
    .await;
    let Mail { app, view, secret, .. } = &mail;
    let channel = &view.channel;
    let http = reqwest::Client::new();
    let post = |path: String, body: Vec<u8>| {
        let http = http.clone();
        let url = app.url(&path);
        async move {
            http.post(url)
                .header("content-type", "message/rfc822")
                .body(body)
                .send()
                .await
                .unwrap()
                .status()
                .as_u16()
        }
    };
    // A 3 MB mail (a 2 MB file): more than the 1 MiB other hooks take.
    let file = vec![b'%'; 2 * 1024 * 1024];
    let raw = format!(
        "From: ana@customer.example\r\nTo: {ADDRESS}\r\nSubject: Scan\r\nMessage-ID: <big@customer.example>\r\nMIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=M\r\n\r\n--M\r\nContent-Type: text/plain\r\n\r\nThe scan.\r\n--M\r\nContent-Type: application/pdf; name=scan.pdf\r\nContent-Disposition: attachment; filename=scan.pdf\r\nContent-Transfer-Encoding: base64\r\n\r\n{}\r\n--M--\r\n",
        base64::Engine::encode(&base64::engine::general_purpose::STANDARD, &file)
    );
    assert!(raw.len() > 2 * 1024 * 1024);
    assert_eq!(
        post(format!("/hooks/email/{channel}?key={secret}"), raw.into_bytes()).await,
        200
    );
    let conversation = view.conversation().await;
    let stored = view
        .message_where(&conversation, |m| m["provider_message_id"] == "big@customer.example")
        .await;
    assert_eq!(stored["attachments"][0]["size"].as_u64(), Some(file.len() as u64));
    // Another kind's hook keeps the general limit.
    assert_eq!(
        post(format!("/hooks/sms/{channel}"), vec![b'a'; 2 * 1024 * 1024]).await,
        413
    );
    // Past e-mail's own limit: 413 too.
    assert_eq!(
        post(
            format!("/hooks/email/{channel}?key={secret}"),
            vec![b'a'; 41 * 1024 * 1024]
        )
        .await,
        413
    );
}

#[tokio::test]
async fn an_oauth2_token_logs_in_to_both_servers_by_xoauth2() {
    let mail = connect(
        MailServers::start_oauth().await,
        quick_polls(),
        json!({"auth": "xoauth2", "password": switchboard_testkit::mail::OAUTH_TOKEN}),
    )
    .await;
    let checked = mail.view.check().await;
    assert_eq!(checked["ok"], true, "{checked}");
    let conversation = mail.read_and_answer("o1@customer.example", "Token").await;

    // An expired token: both servers refuse it, and the check says so.
    mail.reconfigure(json!({"password": "ya29.expired"})).await;
    let checked = mail.view.check().await;
    assert_eq!(checked["ok"], false, "{checked}");
    assert!(
        checked["message"].as_str().unwrap().contains("refused the login"),
        "{checked}"
    );

    // A refresh token instead: access tokens come from the token endpoint,
    // once for the check, the poll and the reply alike.
    let channel = mail
        .reconfigure(json!({"oauth_token_url": mail.servers.token_url, "oauth_client_id": switchboard_testkit::mail::OAUTH_CLIENT_ID,
                            "oauth_client_secret": switchboard_testkit::mail::OAUTH_CLIENT_SECRET,
                            "oauth_refresh_token": switchboard_testkit::mail::OAUTH_REFRESH_TOKEN}))
        .await;
    assert!(
        !channel
            .to_string()
            .contains(switchboard_testkit::mail::OAUTH_REFRESH_TOKEN)
    );
    assert_eq!(channel["config"]["oauth_refresh_token_set"], true);
    let checked = mail.view.check().await;
    assert_eq!(checked["ok"], true, "{checked}");
    assert_eq!(
        mail.read_and_answer("o2@customer.example", "Re: Token").await,
        conversation
    );
    assert_eq!(
        mail.servers.grants.load(std::sync::atomic::Ordering::SeqCst),
        1,
        "one grant, then the cached token"
    );

    // A refresh token the provider revoked: its reason, named.
    mail.reconfigure(json!({"oauth_refresh_token": "1//revoked"})).await;
    let checked = mail.view.check().await;
    assert_eq!(checked["ok"], false, "{checked}");
    assert!(
        checked["message"].as_str().unwrap().contains("invalid_grant"),
        "{checked}"
    );
}
