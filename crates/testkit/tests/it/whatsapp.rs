//! WhatsApp against the Graph API test server (`switchboard_testkit::graph`):
//! connecting a number (its configuration checked, its secrets never shown),
//! Meta's verification handshake, signed webhooks (texts, media in two
//! steps, statuses out of order, the same webhook many times), replies,
//! templates and a rate limit retried, and the 24-hour window enforced
//! before any call to Meta.

use std::sync::Arc;
use std::time::Duration;

use serde_json::{Value, json};
use switchboard_channels::whatsapp::{SIGNATURE_HEADER, sign};
use switchboard_service::{ProviderApis, Registry};
use switchboard_testkit::client::{Reply, reply_of};
use switchboard_testkit::fixtures::Org;
use switchboard_testkit::graph::{GraphServer, webhook};
use switchboard_testkit::media::png;
use switchboard_testkit::{MONDAY_9AM, TestApp, TestOptions, eventually};

pub(crate) const PHONE_ID: &str = "106540352242922";
pub(crate) const TOKEN: &str = "EAAG-test-access-token";
pub(crate) const APP_SECRET: &str = "meta-app-secret-123";
pub(crate) const WA_ID: &str = "4915112345678";

pub(crate) struct WhatsApp {
    pub(crate) app: TestApp,
    pub(crate) org: Org,
    pub(crate) graph: GraphServer,
    pub(crate) channel: String,
    pub(crate) verify_token: String,
}

pub(crate) fn options(graph: &GraphServer) -> TestOptions {
    let mut options = TestOptions::default();
    options.service.channels = Registry::standard_with(&ProviderApis {
        whatsapp: graph.api(),
        ..Default::default()
    });
    options
}

pub(crate) fn config() -> Value {
    json!({"phone_number_id": PHONE_ID, "business_account_id": "102290129340398",
           "access_token": TOKEN, "app_secret": APP_SECRET})
}

pub(crate) async fn connect(app: TestApp, graph: GraphServer) -> WhatsApp {
    let org = Org::create(&app).await;
    connect_org(app, org, graph).await
}

async fn connect_org(app: TestApp, org: Org, graph: GraphServer) -> WhatsApp {
    org.set_online(&org.agent, &org.agent_id).await;
    let r = org
        .admin
        .post(
            &org.path("/channels"),
            json!({"kind": "whatsapp", "name": "WhatsApp line", "default_team_id": org.team, "config": config()}),
        )
        .await;
    assert_eq!(r.status, 201, "{:?}", r.body);
    WhatsApp {
        channel: r["id"].as_str().unwrap().to_owned(),
        verify_token: r["secret"].as_str().unwrap().to_owned(),
        app,
        org,
        graph,
    }
}

pub(crate) async fn start() -> WhatsApp {
    let graph = GraphServer::start(TOKEN).await;
    let app = TestApp::spawn_with(options(&graph)).await;
    connect(app, graph).await
}

impl WhatsApp {
    pub(crate) fn hook(&self) -> String {
        self.app.url(&format!("/hooks/whatsapp/{}", self.channel))
    }

    pub(crate) async fn post(&self, body: &[u8], signature: Option<String>) -> Reply {
        let mut request = reqwest::Client::new()
            .post(self.hook())
            .header("content-type", "application/json")
            .body(body.to_vec());
        if let Some(signature) = signature {
            request = request.header(SIGNATURE_HEADER, signature);
        }
        reply_of(request.send().await.unwrap()).await
    }

    pub(crate) async fn deliver(&self, body: &[u8]) -> Reply {
        self.post(body, Some(sign(APP_SECRET, body))).await
    }

    pub(crate) async fn conversations(&self) -> Vec<Value> {
        let r = self
            .org
            .admin
            .get(&self.org.path(&format!("/conversations?channel={}", self.channel)))
            .await;
        r["items"].as_array().unwrap().clone()
    }

    pub(crate) async fn messages(&self, conversation: &str) -> Vec<Value> {
        let r = self
            .org
            .admin
            .get(
                &self
                    .org
                    .path(&format!("/conversations/{conversation}/messages?limit=200")),
            )
            .await;
        r["items"].as_array().unwrap().clone()
    }

    /// The customer's one conversation, once it exists.
    pub(crate) async fn conversation(&self) -> String {
        eventually(Duration::from_secs(10), || async {
            self.conversations()
                .await
                .first()
                .map(|c| c["id"].as_str().unwrap().to_owned())
        })
        .await
    }
}

pub(crate) fn text(id: &str, body: &str) -> Vec<u8> {
    webhook(
        PHONE_ID,
        json!([{"profile": {"name": "Ana"}, "wa_id": WA_ID}]),
        json!([{"from": WA_ID, "id": id, "timestamp": "1730000000", "type": "text", "text": {"body": body}}]),
        Value::Null,
    )
}

pub(crate) fn status(id: &str, status: &str) -> Vec<u8> {
    webhook(
        PHONE_ID,
        Value::Null,
        Value::Null,
        json!([{"id": id, "status": status, "timestamp": "1730000100", "recipient_id": WA_ID}]),
    )
}

#[tokio::test]
async fn a_number_is_connected_with_its_configuration_checked_and_its_secrets_kept() {
    let graph = GraphServer::start(TOKEN).await;
    let app = TestApp::spawn_with(options(&graph)).await;
    let org = Org::create(&app).await;
    let cases = [
        (json!(null), "config.phone_number_id"),
        (
            json!({"phone_number_id": "12ab", "business_account_id": "1", "access_token": TOKEN, "app_secret": APP_SECRET}),
            "config.phone_number_id",
        ),
        (
            json!({"phone_number_id": PHONE_ID, "access_token": TOKEN, "app_secret": APP_SECRET}),
            "config.business_account_id",
        ),
        (
            json!({"phone_number_id": PHONE_ID, "business_account_id": "1", "access_token": "short", "app_secret": APP_SECRET}),
            "config.access_token",
        ),
        (
            json!({"phone_number_id": PHONE_ID, "business_account_id": "1", "access_token": TOKEN, "app_secret": APP_SECRET, "extra": 1}),
            "config",
        ),
    ];
    for (config, field) in cases {
        let r = org
            .admin
            .post(
                &org.path("/channels"),
                json!({"kind": "whatsapp", "name": "WA", "config": config}),
            )
            .await;
        assert_eq!(
            (r.status.as_u16(), r.code()),
            (422, "invalid_input"),
            "{config}: {:?}",
            r.body
        );
        assert_eq!(r.body["error"]["field"], field, "{config}");
    }
    let wa = connect_org(app, org, graph).await;
    let listed = wa.org.admin.get(&wa.org.path("/channels")).await;
    let shown = listed.body.to_string();
    assert!(
        !shown.contains(TOKEN) && !shown.contains(APP_SECRET),
        "secrets are never returned: {shown}"
    );
    let channel = listed["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["kind"] == "whatsapp")
        .unwrap()
        .clone();
    assert_eq!(channel["config"]["phone_number_id"], PHONE_ID);
    assert_eq!(channel["config"]["access_token_set"], true);
    // A change without the secrets keeps them.
    let r = wa
        .org
        .admin
        .patch(
            &wa.org.path(&format!("/channels/{}", wa.channel)),
            json!({"config": {"business_account_id": "555"}}),
        )
        .await;
    assert_eq!(r.status, 200, "{:?}", r.body);
    assert_eq!(r["config"]["business_account_id"], "555");
    let r = wa
        .deliver(&text("wamid.kept", "still signed with the kept secret"))
        .await;
    assert_eq!(r.status, 200, "{:?}", r.body);

    // Meta's verification handshake: the challenge echoed for our token.
    let http = reqwest::Client::new();
    let r = http
        .get(format!(
            "{}?hub.mode=subscribe&hub.challenge=1158201444&hub.verify_token={}",
            wa.hook(),
            wa.verify_token
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(r.text().await.unwrap(), "1158201444");
    let r = http
        .get(format!(
            "{}?hub.mode=subscribe&hub.challenge=1&hub.verify_token=guess",
            wa.hook()
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);
}

#[tokio::test]
async fn a_text_arrives_once_and_the_reply_goes_out_with_statuses_that_never_go_back() {
    let wa = start().await;
    // A bad or missing signature stores nothing.
    let forged = text("wamid.forged", "forged");
    assert_eq!(
        wa.post(&forged, Some(sign("another secret", &forged))).await.status,
        401
    );
    assert_eq!(wa.post(&forged, None).await.status, 401);
    assert!(wa.conversations().await.is_empty());

    // The same webhook five times, then five at once: one message.
    let body = text("wamid.HBgL1", "Hello, my order is late");
    for _ in 0..5 {
        let r = wa.deliver(&body).await;
        assert_eq!(r.status, 200, "{:?}", r.body);
    }
    let all = futures::future::join_all((0..5).map(|_| wa.deliver(&body))).await;
    assert!(all.iter().all(|r| r.status == 200));
    let conversation = wa.conversation().await;
    let messages = wa.messages(&conversation).await;
    let inbound: Vec<_> = messages.iter().filter(|m| m["direction"] == "in").collect();
    assert_eq!(inbound.len(), 1);
    assert_eq!(inbound[0]["body"], "Hello, my order is late");
    let contact = &wa.conversations().await[0]["contact_id"];
    let contact = wa
        .org
        .admin
        .get(&wa.org.path(&format!("/contacts/{}", contact.as_str().unwrap())))
        .await;
    assert_eq!(
        (contact["name"].as_str(), contact["phone"].as_str()),
        (Some("Ana"), Some("+4915112345678"))
    );

    // The agent answers, quoting the customer.
    let r = wa
        .org
        .agent
        .post(
            &wa.org.path(&format!("/conversations/{conversation}/messages")),
            json!({"kind": "text", "body": "Sorry! It ships today.", "in_reply_to": inbound[0]["id"]}),
        )
        .await;
    assert_eq!(r.status, 201, "{:?}", r.body);
    let reply = r["id"].as_str().unwrap().to_owned();
    let sent = eventually(Duration::from_secs(10), || async { wa.graph.sent().first().cloned() }).await;
    assert_eq!(
        sent,
        json!({"messaging_product": "whatsapp", "recipient_type": "individual", "to": WA_ID, "type": "text",
               "text": {"preview_url": false, "body": "Sorry! It ships today."},
               "context": {"message_id": "wamid.HBgL1"}})
    );
    let provider_id = eventually(Duration::from_secs(10), || async {
        let m = wa
            .messages(&conversation)
            .await
            .into_iter()
            .find(|m| m["id"] == reply.as_str())?;
        (m["delivery_status"] == "sent").then(|| m["provider_message_id"].as_str().unwrap().to_owned())
    })
    .await;

    // Read before delivered: it stays read.
    for s in ["read", "delivered", "sent"] {
        assert_eq!(wa.deliver(&status(&provider_id, s)).await.status, 200);
    }
    let m = wa
        .messages(&conversation)
        .await
        .into_iter()
        .find(|m| m["id"] == reply.as_str())
        .unwrap();
    assert_eq!(m["delivery_status"], "read");

    // The agent has the chat open: Meta shows the customer it was read.
    let r = wa
        .org
        .agent
        .post(&wa.org.path(&format!("/conversations/{conversation}/read")), json!({}))
        .await;
    assert_eq!(r.status, 204, "{:?}", r.body);
    eventually(Duration::from_secs(10), || async {
        wa.graph
            .sent()
            .contains(&json!({"messaging_product": "whatsapp", "status": "read", "message_id": "wamid.HBgL1"}))
            .then_some(())
    })
    .await;
}

#[tokio::test]
async fn an_image_is_fetched_in_two_steps_and_stored_with_a_preview() {
    let wa = start().await;
    let image = png(64, 48, 0);
    wa.graph.add_media("2754859441498128", "image/png", image.clone());
    let body = webhook(
        PHONE_ID,
        json!([{"profile": {"name": "Ana"}, "wa_id": WA_ID}]),
        json!([{"from": WA_ID, "id": "wamid.IMG", "type": "image",
                "image": {"id": "2754859441498128", "mime_type": "image/png", "caption": "the box"}}]),
        Value::Null,
    );
    let r = wa.deliver(&body).await;
    assert_eq!(r.status, 200, "{:?}", r.body);
    let conversation = wa.conversation().await;
    let m = wa
        .messages(&conversation)
        .await
        .into_iter()
        .find(|m| m["direction"] == "in")
        .unwrap();
    assert_eq!(
        (m["kind"].as_str(), m["body"].as_str()),
        (Some("media"), Some("the box"))
    );
    let attachment = &m["attachments"][0];
    assert_eq!(
        (attachment["mime"].as_str(), attachment["size"].as_u64()),
        (Some("image/png"), Some(image.len() as u64))
    );
    assert!(attachment["preview_url"].is_string(), "{attachment}");

    // A media id Meta does not know fails the webhook (Meta sends it again).
    let body = webhook(
        PHONE_ID,
        Value::Null,
        json!([{"from": WA_ID, "id": "wamid.GONE", "type": "image", "image": {"id": "999", "mime_type": "image/png"}}]),
        Value::Null,
    );
    assert_eq!(wa.deliver(&body).await.status, 422);
}

#[tokio::test]
async fn a_rate_limited_send_is_retried_and_a_template_goes_out_with_its_values() {
    let wa = start().await;
    assert_eq!(wa.deliver(&text("wamid.T1", "hi")).await.status, 200);
    let conversation = wa.conversation().await;
    wa.graph.fail_next(429, 130429, "Rate limit hit");
    let r = wa
        .org
        .agent
        .post(
            &wa.org.path(&format!("/conversations/{conversation}/messages")),
            json!({"kind": "text", "body": "One moment"}),
        )
        .await;
    assert_eq!(r.status, 201, "{:?}", r.body);
    let reply = r["id"].as_str().unwrap().to_owned();
    eventually(Duration::from_secs(10), || async {
        let m = wa
            .messages(&conversation)
            .await
            .into_iter()
            .find(|m| m["id"] == reply.as_str())?;
        (m["delivery_status"] == "sent").then_some(())
    })
    .await;
    assert_eq!(
        wa.graph.sent().len(),
        2,
        "the first answer was a rate limit, the retry went through"
    );

    // A failure after "delivered" is kept, with Meta's code and reason.
    let provider_id = wa
        .messages(&conversation)
        .await
        .into_iter()
        .find(|m| m["id"] == reply.as_str())
        .unwrap()["provider_message_id"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_eq!(wa.deliver(&status(&provider_id, "delivered")).await.status, 200);
    let failed = webhook(
        PHONE_ID,
        Value::Null,
        Value::Null,
        json!([{"id": provider_id, "status": "failed", "recipient_id": WA_ID,
                "errors": [{"code": 131026, "title": "Message undeliverable", "error_data": {"details": "Receiver is incapable of receiving this message"}}]}]),
    );
    assert_eq!(wa.deliver(&failed).await.status, 200);
    let m = wa
        .messages(&conversation)
        .await
        .into_iter()
        .find(|m| m["id"] == reply.as_str())
        .unwrap();
    assert_eq!(m["delivery_status"], "failed");
    assert_eq!(
        m["delivery_error"],
        "(131026) Message undeliverable: Receiver is incapable of receiving this message"
    );

    let template = wa
        .org
        .admin
        .post(
            &wa.org.path("/templates"),
            json!({"name": "order_update", "language": "en_US", "category": "utility",
                   "body": "Hi {{1}}, your order {{2}} is on its way."}),
        )
        .await;
    assert_eq!(template.status, 201, "{:?}", template.body);
    let r = wa
        .org
        .agent
        .post(
            &wa.org.path(&format!("/conversations/{conversation}/messages")),
            json!({"kind": "template", "template_id": template["id"], "params": ["Ana", "A123"]}),
        )
        .await;
    assert_eq!(r.status, 201, "{:?}", r.body);
    let sent = eventually(Duration::from_secs(10), || async {
        wa.graph.sent().into_iter().find(|b| b["type"] == "template")
    })
    .await;
    assert_eq!(
        sent["template"],
        json!({"name": "order_update", "language": {"policy": "deterministic", "code": "en_US"},
               "components": [{"type": "body", "parameters": [{"type": "text", "text": "Ana"}, {"type": "text", "text": "A123"}]}]})
    );
}

#[tokio::test]
async fn a_free_form_reply_after_24_hours_is_refused_before_any_call_to_meta() {
    let graph = GraphServer::start(TOKEN).await;
    let clock = Arc::new(switchboard_service::ManualClock::new(MONDAY_9AM));
    let mut options = options(&graph);
    options.manual_clock = Some(clock.clone());
    // No job worker: its sweep would expire the idle chat.
    options.service.run_jobs = false;
    let wa = connect(TestApp::spawn_with(options).await, graph).await;
    assert_eq!(wa.deliver(&text("wamid.W1", "hello")).await.status, 200);
    let conversation = wa.conversation().await;
    clock.advance(25 * 3600 * 1000);
    let r = wa
        .org
        .agent
        .post(
            &wa.org.path(&format!("/conversations/{conversation}/messages")),
            json!({"kind": "text", "body": "Still there?"}),
        )
        .await;
    assert_eq!((r.status.as_u16(), r.code()), (409, "window_closed"), "{:?}", r.body);
    // A file is free-form too.
    let r = wa
        .org
        .agent
        .send_raw(
            reqwest::Method::POST,
            &wa.org
                .path(&format!("/conversations/{conversation}/attachments?filename=p.png")),
            Some("application/octet-stream"),
            png(8, 8, 0),
        )
        .await;
    assert_eq!((r.status.as_u16(), r.code()), (409, "window_closed"), "{:?}", r.body);
    assert!(wa.graph.sent().is_empty(), "Meta was not called");
}

#[tokio::test]
async fn an_agents_file_goes_out_by_a_link_meta_can_fetch() {
    let wa = start().await;
    assert_eq!(wa.deliver(&text("wamid.F1", "send me the photo")).await.status, 200);
    let conversation = wa.conversation().await;
    let image = png(32, 32, 0);
    let r = wa
        .org
        .agent
        .send_raw(
            reqwest::Method::POST,
            &wa.org.path(&format!(
                "/conversations/{conversation}/attachments?filename=photo.png&caption=Here%20it%20is"
            )),
            Some("application/octet-stream"),
            image.clone(),
        )
        .await;
    assert_eq!(r.status, 201, "{:?}", r.body);
    let sent = eventually(Duration::from_secs(10), || async {
        wa.graph.sent().into_iter().find(|b| b["type"] == "image")
    })
    .await;
    assert_eq!(sent["to"], WA_ID);
    assert_eq!(sent["image"]["caption"], "Here it is");
    let link = sent["image"]["link"].as_str().unwrap();
    assert!(
        link.contains(&format!("/hooks/whatsapp/{}/files/", wa.channel)),
        "{link}"
    );
    let fetched = reqwest::get(link).await.unwrap();
    assert_eq!(fetched.status(), 200);
    assert_eq!(fetched.bytes().await.unwrap().as_ref(), image.as_slice());

    // Meta also reports on messages sent from elsewhere: skipped, not refused.
    assert_eq!(wa.deliver(&status("wamid.SENT-ELSEWHERE", "read")).await.status, 200);
}

#[tokio::test]
async fn check_connection_says_exactly_what_is_wrong() {
    let wa = start().await;
    let check = |org: &Org, channel: &str| {
        let path = org.path(&format!("/channels/{channel}/check"));
        let client = org.admin.clone();
        async move { client.post(&path, json!({})).await }
    };
    // The number is not known to Meta for this token yet.
    let r = check(&wa.org, &wa.channel).await;
    assert_eq!((r.status.as_u16(), &r["ok"]), (200, &json!(false)), "{:?}", r.body);
    assert!(
        r["message"]
            .as_str()
            .unwrap()
            .contains("does not know the phone number id"),
        "{:?}",
        r.body
    );
    wa.graph.add_phone(PHONE_ID, "+1 555-000-1111", "Acme Support");
    let r = check(&wa.org, &wa.channel).await;
    assert_eq!(r["ok"], true, "{:?}", r.body);
    assert_eq!(r["message"], "Connected to +1 555-000-1111 (Acme Support)");
    // A wrong token.
    let r = wa
        .org
        .admin
        .patch(
            &wa.org.path(&format!("/channels/{}", wa.channel)),
            json!({"config": {"access_token": "EAAG-revoked-token"}}),
        )
        .await;
    assert_eq!(r.status, 200, "{:?}", r.body);
    let r = check(&wa.org, &wa.channel).await;
    assert_eq!(r["ok"], false);
    assert!(
        r["message"].as_str().unwrap().contains("access token is not valid"),
        "{:?}",
        r.body
    );
    // Agents may not ask.
    let r = wa
        .org
        .agent
        .post(&wa.org.path(&format!("/channels/{}/check", wa.channel)), json!({}))
        .await;
    assert_eq!(r.status, 403);

    // Meta's API unreachable.
    let closed = GraphServer::start(TOKEN).await;
    let mut options = options(&closed);
    options.service.channels = Registry::standard_with(&ProviderApis {
        whatsapp: switchboard_service::GraphApi {
            base_url: "http://127.0.0.1:9".into(),
            version: "v23.0".into(),
        },
        ..Default::default()
    });
    let unreachable = connect(TestApp::spawn_with(options).await, closed).await;
    let r = check(&unreachable.org, &unreachable.channel).await;
    assert_eq!(r["ok"], false);
    assert!(
        r["message"].as_str().unwrap().contains("could not be reached"),
        "{:?}",
        r.body
    );
}

#[tokio::test]
async fn an_admin_checks_the_connection_from_the_channels_page() {
    let Some(browser) = switchboard_testkit::browser::Browser::start("whatsapp-check").await else {
        return;
    };
    let wa = start().await;
    wa.graph.add_phone(PHONE_ID, "+1 555-000-1111", "Acme Support");
    browser.sign_in(&wa.app, "ada@acme.test", "admin password 1").await;
    browser
        .client
        .goto(&wa.app.url(&format!("/w/{}/admin/channels", wa.org.ws)))
        .await
        .unwrap();
    browser.wait_for_text("main", "/hooks/whatsapp/").await;
    browser.click("button[data-api-call$='/check']").await;
    browser
        .wait_for_text("[data-result]", "Connected to +1 555-000-1111")
        .await;
    browser.screenshot("whatsapp-check").await;
    browser.close().await;
}

/// Meta's OpenAPI description of the Cloud API, kept beside the
/// repository (never copied into it).
fn meta_openapi() -> Option<std::path::PathBuf> {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../../shared/providers/whatsapp/meta-business-messaging-api_v23.0.yaml");
    path.exists().then_some(path)
}

fn python_judge_available() -> bool {
    std::process::Command::new("python3")
        .args(["-c", "import yaml, jsonschema"])
        .status()
        .is_ok_and(|s| s.success())
}

/// Every message shape we send validates against Meta's own OpenAPI
/// description of its type, judged by Python's `jsonschema`; a wrong body
/// is refused by the same judge.
#[test]
fn request_bodies_validate_against_metas_openapi() {
    let Some(spec) = meta_openapi() else {
        eprintln!("skipped: Meta's OpenAPI file is not beside the repository (../shared/providers/whatsapp)");
        return;
    };
    if !python_judge_available() {
        assert!(
            std::env::var("CI").is_err(),
            "CI needs python3 with pyyaml and jsonschema"
        );
        eprintln!("skipped: python3 with pyyaml and jsonschema is missing");
        return;
    }
    use switchboard_channels::{OutboundFile, OutboundMessage, OutboundTemplate};
    let base = OutboundMessage {
        subject: None,
        thread: Vec::new(),
        message_id: "m".into(),
        conversation_id: "c".into(),
        recipient_external_id: WA_ID.into(),
        text: "Your order ships today".into(),
        sender_name: None,
        in_reply_to: Some("wamid.QUOTED".into()),
        created_at: switchboard_core::Millis(0),
        buttons: Vec::new(),
        template: None,
        attachments: Vec::new(),
        tag: None,
    };
    let file = |mime: &str, name: &str| OutboundFile {
        url: format!("https://support.example.com/hooks/whatsapp/c/files/{name}?expires=1&signature=ab"),
        filename: name.into(),
        mime: mime.into(),
        size: 10,
        sha256: "00".into(),
    };
    let shapes = [
        base.clone(),
        OutboundMessage {
            template: Some(OutboundTemplate {
                name: "order_update".into(),
                language: "en_US".into(),
                params: vec!["Ana".into(), "A123".into()],
                header: None,
                buttons: Vec::new(),
            }),
            ..base.clone()
        },
        OutboundMessage {
            template: Some(OutboundTemplate {
                name: "hello".into(),
                language: "de".into(),
                params: Vec::new(),
                header: None,
                buttons: Vec::new(),
            }),
            ..base.clone()
        },
        OutboundMessage {
            buttons: vec!["Orders".into(), "Billing".into(), "Something else entirely".into()],
            ..base.clone()
        },
        OutboundMessage {
            buttons: (1..=7).map(|i| format!("Option {i}")).collect(),
            ..base.clone()
        },
        OutboundMessage {
            attachments: vec![
                file("image/jpeg", "photo.jpg"),
                file("video/mp4", "clip.mp4"),
                file("audio/ogg", "voice.ogg"),
                file("application/pdf", "invoice.pdf"),
            ],
            ..base.clone()
        },
    ];
    let with_parts = template_shapes().into_iter().map(|template| OutboundMessage {
        template: Some(template),
        ..base.clone()
    });
    let bodies: Vec<Value> = shapes
        .iter()
        .cloned()
        .chain(with_parts)
        .flat_map(|m| switchboard_channels::whatsapp::request_bodies(&m))
        .collect();
    assert_eq!(bodies.len(), 9 + template_shapes().len());
    let judge = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("peers/whatsapp_openapi.py");
    let run = |bodies: &[Value]| {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("bodies.json");
        std::fs::write(&path, serde_json::to_vec(bodies).unwrap()).unwrap();
        std::process::Command::new("python3")
            .arg(&judge)
            .arg(&spec)
            .arg(&path)
            .output()
            .unwrap()
    };
    let verdict = run(&bodies);
    assert!(
        verdict.status.success(),
        "{}{}",
        String::from_utf8_lossy(&verdict.stdout),
        String::from_utf8_lossy(&verdict.stderr)
    );
    // The judge is not a rubber stamp.
    let mut wrong = bodies[0].clone();
    wrong["text"]["body"] = json!(5);
    assert!(!run(&[wrong]).status.success());
}

/// Templates with a header and buttons, one per shape we send: media
/// headers (image with quick replies, video, document), a text header with
/// a link and a code to copy.
fn template_shapes() -> Vec<switchboard_channels::OutboundTemplate> {
    use switchboard_core::template::parts::{ButtonKind, HeaderFormat};
    use switchboard_core::template::{ButtonValue, HeaderValue};
    let media = |format, link: &str| {
        Some(HeaderValue::Media {
            format,
            link: link.into(),
        })
    };
    let button = |index, kind, value: &str| ButtonValue {
        index,
        kind,
        value: value.into(),
    };
    let template = |name: &str, params: &[&str], header, buttons| switchboard_channels::OutboundTemplate {
        name: name.into(),
        language: "en_US".into(),
        params: params.iter().map(|p| p.to_string()).collect(),
        header,
        buttons,
    };
    vec![
        template(
            "spring_sale",
            &["Ana"],
            media(HeaderFormat::Image, "https://cdn.example.com/sale.jpg"),
            vec![
                button(0, ButtonKind::QuickReply, "INTERESTED"),
                button(1, ButtonKind::QuickReply, "NOT_NOW"),
            ],
        ),
        template(
            "order_shipped",
            &["A123", "Friday"],
            Some(HeaderValue::Text { text: "A123".into() }),
            vec![
                button(0, ButtonKind::Url, "A123"),
                button(1, ButtonKind::CopyCode, "SAVE10"),
            ],
        ),
        template(
            "manual",
            &[],
            media(HeaderFormat::Document, "https://cdn.example.com/manual.pdf"),
            Vec::new(),
        ),
        template(
            "tour",
            &["Ana"],
            media(HeaderFormat::Video, "https://cdn.example.com/tour.mp4"),
            Vec::new(),
        ),
    ]
}

/// pywa (PyPI) sends Meta's enum values in upper case, a button's index as
/// a number and no language policy; Meta's reference writes them lower
/// case, the index as a string and `policy: deterministic`, and takes both.
/// This brings a pywa body to Meta's spelling so the rest must be equal.
fn metas_spelling(mut body: Value) -> Value {
    body["template"]["language"]["policy"] = json!("deterministic");
    if let Some(components) = body["template"]["components"].as_array_mut() {
        for c in components {
            for key in ["type", "sub_type"] {
                if let Some(v) = c[key].as_str() {
                    c[key] = json!(v.to_ascii_lowercase());
                }
            }
            if let Some(i) = c["index"].as_u64() {
                c["index"] = json!(i.to_string());
            }
        }
    }
    body
}

/// For each template shape, what we send equals what pywa (PyPI) builds for
/// the same template and values, captured from its HTTP client.
#[test]
fn template_bodies_equal_what_pywa_builds() {
    let has_pywa = std::process::Command::new("python3")
        .args(["-c", "import pywa, httpx"])
        .status()
        .is_ok_and(|s| s.success());
    if !has_pywa {
        assert!(std::env::var("CI").is_err(), "CI needs python3 with pywa");
        eprintln!("skipped: python3 with pywa is missing");
        return;
    }
    let shapes = template_shapes();
    let specs: Vec<Value> = shapes
        .iter()
        .map(|t| {
            json!({"to": WA_ID, "name": t.name, "language": t.language, "params": t.params,
                   "header": t.header, "buttons": t.buttons})
        })
        .collect();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("specs.json");
    std::fs::write(&path, serde_json::to_vec(&specs).unwrap()).unwrap();
    let peer = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("peers/whatsapp_pywa.py");
    let out = std::process::Command::new("python3")
        .arg(peer)
        .arg(&path)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let theirs: Vec<Value> = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(theirs.len(), shapes.len());
    for (template, theirs) in shapes.into_iter().zip(theirs) {
        let name = template.name.clone();
        let message = switchboard_channels::OutboundMessage {
            subject: None,
            thread: Vec::new(),
            message_id: "m".into(),
            conversation_id: "c".into(),
            recipient_external_id: WA_ID.into(),
            text: String::new(),
            sender_name: None,
            in_reply_to: None,
            created_at: switchboard_core::Millis(0),
            buttons: Vec::new(),
            template: Some(template),
            attachments: Vec::new(),
            tag: None,
        };
        let ours = switchboard_channels::whatsapp::request_bodies(&message).remove(0);
        assert_eq!(ours, metas_spelling(theirs), "{name}");
    }
}

#[tokio::test]
async fn a_template_to_an_archived_customer_waits_in_pending_until_they_answer() {
    let wa = start().await;
    assert_eq!(wa.deliver(&text("wamid.P1", "thanks, all good")).await.status, 200);
    let first = wa.conversation().await;
    let r = wa
        .org
        .agent
        .post(
            &wa.org.path(&format!("/conversations/{first}/status")),
            json!({"status": "resolved"}),
        )
        .await;
    assert_eq!(r.status, 200, "{:?}", r.body);
    let template = wa
        .org
        .admin
        .post(
            &wa.org.path("/templates"),
            json!({"name": "follow_up", "language": "en", "category": "utility", "body": "Hi {{1}}, how did it go?"}),
        )
        .await;
    assert_eq!(template.status, 201, "{:?}", template.body);
    let contact = wa.conversations().await[0]["contact_id"].as_str().unwrap().to_owned();

    // "Send WhatsApp push": a new chat, pending, with the closed ones.
    let r = wa
        .org
        .agent
        .post(
            &wa.org.path(&format!("/contacts/{contact}/conversations")),
            json!({"channel_id": wa.channel, "template_id": template["id"], "params": ["Ana"]}),
        )
        .await;
    assert_eq!(r.status, 201, "{:?}", r.body);
    let pending = r["id"].as_str().unwrap().to_owned();
    assert_eq!(r["status"], "pending");
    eventually(Duration::from_secs(10), || async {
        wa.graph
            .sent()
            .iter()
            .any(|b| b["template"]["name"] == "follow_up")
            .then_some(())
    })
    .await;

    // The customer answers: the pending chat goes live, to the sender.
    assert_eq!(wa.deliver(&text("wamid.P2", "It went great")).await.status, 200);
    let chat = wa
        .org
        .admin
        .get(&wa.org.path(&format!("/conversations/{pending}")))
        .await;
    assert_eq!(
        (chat["status"].as_str(), chat["assignee_id"].as_str()),
        (Some("assigned"), Some(wa.org.agent_id.as_str()))
    );
    let inbound: Vec<Value> = wa
        .messages(&pending)
        .await
        .into_iter()
        .filter(|m| m["direction"] == "in")
        .collect();
    assert_eq!(inbound.len(), 1);
    assert_eq!(inbound[0]["body"], "It went great");
    let all = wa.conversations().await;
    assert_eq!(all.len(), 2, "the earlier chat stays its own");
    let earlier = all.iter().find(|c| c["id"] == first.as_str()).unwrap();
    assert_eq!(earlier["status"], "resolved");
}

fn meta_template(name: &str, language: &str, category: &str, status: &str, body: Option<&str>) -> Value {
    let mut components = vec![json!({"type": "HEADER", "format": "TEXT", "text": "Acme"})];
    if let Some(body) = body {
        components.push(json!({"type": "BODY", "text": body}));
    }
    json!({"name": name, "language": language, "category": category, "status": status, "components": components, "id": "1"})
}

#[tokio::test]
async fn templates_are_synced_from_the_business_account_across_pages() {
    let wa = start().await;
    // 150 templates: two pages of 100.
    let mut templates: Vec<Value> = (0..147)
        .map(|i| {
            meta_template(
                &format!("notice_{i}"),
                "en_US",
                "UTILITY",
                "APPROVED",
                Some("Hello {{1}}"),
            )
        })
        .collect();
    let mut order = meta_template(
        "order_update",
        "pt_BR",
        "UTILITY",
        "APPROVED",
        Some("Oi {{1}}, pedido {{2}}"),
    );
    order["quality_score"] = json!({"score": "GREEN", "date": 1730000000});
    templates.push(order);
    templates.push(meta_template(
        "spring_sale",
        "en",
        "MARKETING",
        "REJECTED",
        Some("Sale!"),
    ));
    templates.push(meta_template("no_body", "en", "UTILITY", "APPROVED", None));
    wa.graph.set_templates(templates.clone());
    let sync = wa.org.path(&format!("/channels/{}/templates/sync", wa.channel));
    let r = wa.org.admin.post(&sync, json!({})).await;
    assert_eq!(r.status, 200, "{:?}", r.body);
    assert_eq!(
        (
            r["ok"].as_bool(),
            r["added"].as_u64(),
            r["skipped"].as_array().map(Vec::len)
        ),
        (Some(true), Some(149), Some(1))
    );
    assert_eq!(r["skipped"][0]["name"], "no_body");
    let listed = wa
        .org
        .agent
        .get(&wa.org.path(&format!("/templates?channel={}", wa.channel)))
        .await;
    let items = listed["items"].as_array().unwrap();
    let order = items.iter().find(|t| t["name"] == "order_update").unwrap();
    assert_eq!(
        (
            order["language"].as_str(),
            order["body"].as_str(),
            order["status"].as_str()
        ),
        (Some("pt_BR"), Some("Oi {{1}}, pedido {{2}}"), Some("approved"))
    );
    let sale = items.iter().find(|t| t["name"] == "spring_sale").unwrap();
    assert_eq!(
        (sale["category"].as_str(), sale["status"].as_str()),
        (Some("marketing"), Some("rejected"))
    );

    // Meta approves the sale on appeal: the next sync updates it, nothing else.
    templates[148] = meta_template("spring_sale", "en", "MARKETING", "APPROVED", Some("Sale!"));
    wa.graph.set_templates(templates);
    let r = wa.org.admin.post(&sync, json!({})).await;
    assert_eq!(
        (r["added"].as_u64(), r["updated"].as_u64(), r["unchanged"].as_u64()),
        (Some(0), Some(1), Some(148)),
        "{:?}",
        r.body
    );
    // Agents may not sync.
    assert_eq!(wa.org.agent.post(&sync, json!({})).await.status, 403);

    // Meta's template webhooks keep them current between syncs.
    let change = |field: &str, value: Value| {
        serde_json::to_vec(&json!({"object": "whatsapp_business_account",
                                   "entry": [{"id": "102290129340398", "time": 1730000000, "changes": [{"field": field, "value": value}]}]}))
        .unwrap()
    };
    let paused = change(
        "message_template_status_update",
        json!({"event": "PAUSED", "message_template_id": 1, "message_template_name": "order_update",
               "message_template_language": "pt_BR", "reason": "Low quality"}),
    );
    assert_eq!(wa.deliver(&paused).await.status, 200);
    let recategorised = change(
        "template_category_update",
        json!({"message_template_id": 2, "message_template_name": "spring_sale", "message_template_language": "en",
               "previous_category": "MARKETING", "new_category": "UTILITY"}),
    );
    assert_eq!(wa.deliver(&recategorised).await.status, 200);
    let rated = change(
        "message_template_quality_update",
        json!({"previous_quality_score": "GREEN", "new_quality_score": "RED", "message_template_id": 2,
               "message_template_name": "spring_sale", "message_template_language": "en"}),
    );
    assert_eq!(wa.deliver(&rated).await.status, 200);
    let listed = wa
        .org
        .admin
        .get(&wa.org.path(&format!("/templates?channel={}", wa.channel)))
        .await;
    let items = listed["items"].as_array().unwrap();
    let order = items.iter().find(|t| t["name"] == "order_update").unwrap();
    assert_eq!(order["status"], "rejected", "a paused template is not offered");
    let sale = items.iter().find(|t| t["name"] == "spring_sale").unwrap();
    assert_eq!(
        (sale["category"].as_str(), sale["quality"].as_str()),
        (Some("utility"), Some("red"))
    );
    assert_eq!(order["quality"], "green", "the quality Meta listed");
}

#[tokio::test]
async fn numbers_of_one_meta_app_share_its_webhook() {
    let wa = start().await;
    // A second number of the same Meta app, and one of another app.
    let mut second = config();
    second["phone_number_id"] = json!("222333444555");
    let mut other_app = config();
    other_app["phone_number_id"] = json!("999888777666");
    other_app["app_secret"] = json!("another-app-secret");
    let mut ids = Vec::new();
    for (name, config) in [("Second line", second), ("Other app", other_app)] {
        let r = wa
            .org
            .admin
            .post(
                &wa.org.path("/channels"),
                json!({"kind": "whatsapp", "name": name, "default_team_id": wa.org.team, "config": config}),
            )
            .await;
        assert_eq!(r.status, 201, "{:?}", r.body);
        ids.push(r["id"].as_str().unwrap().to_owned());
    }
    // Meta calls the first number's URL with entries for all three.
    let entry = |phone: &str, id: &str, text: &str| {
        json!({"id": "102290129340398", "changes": [{"field": "messages", "value": {
            "messaging_product": "whatsapp", "metadata": {"display_phone_number": "1555", "phone_number_id": phone},
            "contacts": [{"profile": {"name": "Ana"}, "wa_id": WA_ID}],
            "messages": [{"from": WA_ID, "id": id, "type": "text", "text": {"body": text}}]}}]})
    };
    let body = serde_json::to_vec(&json!({"object": "whatsapp_business_account", "entry": [
        entry(PHONE_ID, "wamid.A", "to the first"),
        entry("222333444555", "wamid.B", "to the second"),
        entry("999888777666", "wamid.C", "to another app's number"),
    ]}))
    .unwrap();
    assert_eq!(wa.deliver(&body).await.status, 200);
    let texts = |channel: String| {
        let org = &wa.org;
        async move {
            let list = org
                .admin
                .get(&org.path(&format!("/conversations?channel={channel}")))
                .await;
            let mut texts = Vec::new();
            for c in list["items"].as_array().unwrap() {
                let id = c["id"].as_str().unwrap();
                let messages = org.admin.get(&org.path(&format!("/conversations/{id}/messages"))).await;
                texts.extend(
                    messages["items"]
                        .as_array()
                        .unwrap()
                        .iter()
                        .filter(|m| m["direction"] == "in")
                        .filter_map(|m| m["body"].as_str().map(str::to_owned)),
                );
            }
            texts
        }
    };
    assert_eq!(texts(wa.channel.clone()).await, ["to the first"]);
    assert_eq!(texts(ids[0].clone()).await, ["to the second"]);
    assert!(
        texts(ids[1].clone()).await.is_empty(),
        "signed by another app: not its own"
    );
}

/// A synced template with an image header and three kinds of buttons:
/// sent with a value for each, it reaches Meta with every component, and
/// the history reads what the customer sees.
#[tokio::test]
async fn a_template_with_a_media_header_and_buttons_goes_out_with_every_value() {
    let wa = start().await;
    assert_eq!(wa.deliver(&text("wamid.H1", "any offers?")).await.status, 200);
    let conversation = wa.conversation().await;
    wa.graph.set_templates(vec![json!({
        "name": "spring_sale", "language": "en_US", "category": "MARKETING", "status": "APPROVED", "id": "7",
        "components": [
            {"type": "HEADER", "format": "IMAGE", "example": {"header_handle": ["4::aW"]}},
            {"type": "BODY", "text": "Hi {{1}}, our sale starts today."},
            {"type": "BUTTONS", "buttons": [
                {"type": "QUICK_REPLY", "text": "Interested"},
                {"type": "URL", "text": "Shop", "url": "https://shop.example/s/{{1}}"},
                {"type": "COPY_CODE", "text": "Copy code", "example": ["SAVE10"]}]}]})]);
    let sync = wa.org.path(&format!("/channels/{}/templates/sync", wa.channel));
    let r = wa.org.admin.post(&sync, json!({})).await;
    assert_eq!(r["added"], 1, "{:?}", r.body);
    let listed = wa.org.agent.get(&wa.org.path("/templates")).await;
    let template = &listed["items"][0];
    assert_eq!(template["header"], json!({"format": "image"}));
    assert_eq!(
        template["buttons"][1],
        json!({"kind": "url", "text": "Shop", "url": "https://shop.example/s/{{1}}"})
    );
    let path = wa.org.path(&format!("/conversations/{conversation}/messages"));
    let send = |header: Value, buttons: Value| {
        json!({"kind": "template", "template_id": template["id"], "params": ["Ana"],
               "header_param": header, "button_params": buttons})
    };
    // Every value the template takes is asked for, by field.
    let r = wa
        .org
        .agent
        .post(&path, send(Value::Null, json!(["", "spring", "SAVE10"])))
        .await;
    assert_eq!(
        (r.status.as_u16(), r["error"]["field"].as_str()),
        (422, Some("header_param")),
        "{:?}",
        r.body
    );
    let image = json!("https://cdn.example.com/sale.jpg");
    let r = wa
        .org
        .agent
        .post(&path, send(image.clone(), json!(["", "spring"])))
        .await;
    assert_eq!(
        (r.status.as_u16(), r["error"]["field"].as_str()),
        (422, Some("button_params")),
        "{:?}",
        r.body
    );
    let r = wa.org.agent.post(&path, send(image, json!(["", "spring", ""]))).await;
    assert_eq!(
        (r.status.as_u16(), r["error"]["field"].as_str()),
        (422, Some("button_params")),
        "{:?}",
        r.body
    );
    assert!(wa.graph.sent().is_empty());

    let r = wa
        .org
        .agent
        .post(
            &path,
            send(
                json!("https://cdn.example.com/sale.jpg"),
                json!(["", "spring", "SAVE10"]),
            ),
        )
        .await;
    assert_eq!(r.status, 201, "{:?}", r.body);
    assert_eq!(
        r["body"],
        "Hi Ana, our sale starts today.\n[Interested]\n[Shop]\n[Copy code]"
    );
    let sent = eventually(Duration::from_secs(10), || async {
        wa.graph.sent().into_iter().find(|b| b["type"] == "template")
    })
    .await;
    assert_eq!(
        sent["template"]["components"],
        json!([
            {"type": "header", "parameters": [{"type": "image", "image": {"link": "https://cdn.example.com/sale.jpg"}}]},
            {"type": "body", "parameters": [{"type": "text", "text": "Ana"}]},
            {"type": "button", "sub_type": "url", "index": "1", "parameters": [{"type": "text", "text": "spring"}]},
            {"type": "button", "sub_type": "copy_code", "index": "2",
             "parameters": [{"type": "coupon_code", "coupon_code": "SAVE10"}]}])
    );
}

/// Meta's re-engagement error (131047) means the window closed sooner than
/// our clock said: the reply fails with Meta's reason, the agent is told,
/// and free-form messages are refused by us until the customer writes.
#[tokio::test]
async fn metas_re_engagement_error_closes_the_window_in_our_records() {
    let wa = start().await;
    assert_eq!(wa.deliver(&text("wamid.R1", "hello")).await.status, 200);
    let conversation = wa.conversation().await;
    wa.graph.fail_next(400, 131047, "Re-engagement message");
    let path = wa.org.path(&format!("/conversations/{conversation}/messages"));
    let r = wa
        .org
        .agent
        .post(&path, json!({"kind": "text", "body": "Are you there?"}))
        .await;
    assert_eq!(r.status, 201, "{:?}", r.body);
    let reply = r["id"].as_str().unwrap().to_owned();
    let notice = eventually(Duration::from_secs(10), || async {
        let messages = wa.messages(&conversation).await;
        let failed = messages
            .iter()
            .any(|m| m["id"] == reply.as_str() && m["delivery_status"] == "failed");
        let notice = messages.into_iter().find(|m| m["activity"]["type"] == "notice");
        notice.filter(|_| failed)
    })
    .await;
    assert!(notice.to_string().contains("window is closed"), "{notice}");
    assert_eq!(wa.graph.sent().len(), 1, "not retried");
    let r = wa
        .org
        .agent
        .post(&path, json!({"kind": "text", "body": "Hello?"}))
        .await;
    assert_eq!((r.status.as_u16(), r.code()), (409, "window_closed"), "{:?}", r.body);
    assert_eq!(wa.graph.sent().len(), 1, "refused before any call to Meta");
    // The customer writes: the window opens again.
    assert_eq!(wa.deliver(&text("wamid.R2", "yes, here")).await.status, 200);
    let r = wa.org.agent.post(&path, json!({"kind": "text", "body": "Great"})).await;
    assert_eq!(r.status, 201, "{:?}", r.body);
}

/// Meta's marketing cap (131049) lifts after hours: the template is tried
/// again no sooner than six hours later, and given up after three retries.
#[tokio::test]
async fn metas_marketing_cap_is_retried_six_hours_later_three_times_at_most() {
    let graph = GraphServer::start(TOKEN).await;
    let clock = Arc::new(switchboard_service::ManualClock::new(MONDAY_9AM));
    let mut options = options(&graph);
    options.manual_clock = Some(clock.clone());
    let wa = connect(TestApp::spawn_with(options).await, graph).await;
    assert_eq!(wa.deliver(&text("wamid.M1", "hello")).await.status, 200);
    let conversation = wa.conversation().await;
    let template = wa
        .org
        .admin
        .post(
            &wa.org.path("/templates"),
            json!({"name": "offer", "language": "en", "category": "marketing", "body": "A new offer"}),
        )
        .await;
    let send = |id: Value| {
        let wa = &wa;
        let conversation = conversation.clone();
        async move {
            let r = wa
                .org
                .agent
                .post(
                    &wa.org.path(&format!("/conversations/{conversation}/messages")),
                    json!({"kind": "template", "template_id": id}),
                )
                .await;
            assert_eq!(r.status, 201, "{:?}", r.body);
            r["id"].as_str().unwrap().to_owned()
        }
    };
    let status_of = |id: String| {
        let wa = &wa;
        let conversation = conversation.clone();
        async move {
            wa.messages(&conversation)
                .await
                .into_iter()
                .find(|m| m["id"] == id.as_str())
                .map(|m| m["delivery_status"].as_str().unwrap_or_default().to_owned())
                .unwrap_or_default()
        }
    };
    // Calls to send the template (other traffic, such as a read receipt,
    // does not count).
    let template_calls = |wa: &WhatsApp| wa.graph.sent().iter().filter(|b| b["type"] == "template").count();
    // `n` calls made, and the last one's outcome recorded (its delivery job
    // no longer running), so the retry time is set before the clock moves:
    // on a loaded run the answer can be recorded after the test moved on.
    let attempts = |n: usize| {
        let wa = &wa;
        async move {
            eventually(Duration::from_secs(20), || async {
                (template_calls(wa) == n).then_some(())
            })
            .await;
            eventually(Duration::from_secs(20), || async {
                let running = wa
                    .app
                    .services
                    .store()
                    .reader()
                    .count_jobs_of("deliver_message", switchboard_store::JobState::Running)
                    .await
                    .unwrap();
                (running == 0).then_some(())
            })
            .await;
        }
    };
    // Capped once: nothing more for almost six hours, then delivered.
    wa.graph.fail_next(
        400,
        131049,
        "This message was not delivered to maintain healthy ecosystem engagement.",
    );
    let first = send(template["id"].clone()).await;
    attempts(1).await;
    clock.advance(5 * 3600 * 1000 + 59 * 60 * 1000);
    tokio::time::sleep(Duration::from_millis(600)).await;
    assert_eq!(template_calls(&wa), 1, "not tried again before six hours");
    assert_eq!(status_of(first.clone()).await, "queued");
    clock.advance(2 * 60 * 1000);
    attempts(2).await;
    eventually(Duration::from_secs(10), || async {
        (status_of(first.clone()).await == "sent").then_some(())
    })
    .await;
    // Capped four times: the first try and three retries, then failed.
    for _ in 0..4 {
        wa.graph.fail_next(
            400,
            131049,
            "This message was not delivered to maintain healthy ecosystem engagement.",
        );
    }
    let second = send(template["id"].clone()).await;
    attempts(3).await;
    for n in 4..=5 {
        clock.advance(6 * 3600 * 1000 + 1000);
        attempts(n).await;
    }
    clock.advance(6 * 3600 * 1000 + 1000);
    attempts(6).await;
    let failed = eventually(Duration::from_secs(10), || async {
        let status = status_of(second.clone()).await;
        (status == "failed").then_some(status)
    })
    .await;
    assert_eq!(failed, "failed");
    clock.advance(6 * 3600 * 1000 + 1000);
    tokio::time::sleep(Duration::from_millis(600)).await;
    assert_eq!(template_calls(&wa), 6, "no fourth retry");
}

/// CSAT on WhatsApp: inside the window the question goes with buttons;
/// once it is closed, as the channel's rating template; the customer's tap
/// on its quick-reply button becomes the rating.
#[tokio::test]
async fn the_rating_request_is_the_channels_template_once_the_window_closed() {
    let wa = start().await;
    assert_eq!(wa.deliver(&text("wamid.C1", "thanks!")).await.status, 200);
    let conversation = wa.conversation().await;
    // Meta says the window closed.
    wa.graph.refuse_number(WA_ID, 400, 131047, "Re-engagement message");
    let path = wa.org.path(&format!("/conversations/{conversation}/messages"));
    let r = wa
        .org
        .agent
        .post(&path, json!({"kind": "text", "body": "Glad to help"}))
        .await;
    assert_eq!(r.status, 201);
    eventually(Duration::from_secs(10), || async {
        let r = wa.org.agent.post(&path, json!({"kind": "text", "body": "probe"})).await;
        (r.status == 409).then_some(())
    })
    .await;
    wa.graph.accept_number(WA_ID);
    let status = wa.org.path(&format!("/conversations/{conversation}/status"));
    let resolve = json!({"status": "resolved", "feedback_request": true});
    // No rating template yet: refused, naming the window.
    let r = wa.org.agent.post(&status, resolve.clone()).await;
    assert_eq!((r.status.as_u16(), r.code()), (409, "window_closed"), "{:?}", r.body);
    let csat = wa
        .org
        .admin
        .post(
            &wa.org.path("/templates"),
            json!({"name": "rate_us", "language": "en", "category": "utility", "body": "How did we do?",
                   "buttons": [{"kind": "quick_reply", "text": "1"}, {"kind": "quick_reply", "text": "3"},
                               {"kind": "quick_reply", "text": "5"}]}),
        )
        .await;
    assert_eq!(csat.status, 201, "{:?}", csat.body);
    let with_values = wa
        .org
        .admin
        .post(
            &wa.org.path("/templates"),
            json!({"name": "rate_named", "language": "en", "category": "utility", "body": "How did we do, {{1}}?"}),
        )
        .await;
    let channel = wa.org.path(&format!("/channels/{}", wa.channel));
    let r = wa
        .org
        .admin
        .patch(&channel, json!({"feedback_template_id": with_values["id"]}))
        .await;
    assert_eq!(
        (r.status.as_u16(), r["error"]["field"].as_str()),
        (422, Some("feedback_template_id"))
    );
    let r = wa
        .org
        .admin
        .patch(&channel, json!({"feedback_template_id": csat["id"]}))
        .await;
    assert_eq!(r.status, 200, "{:?}", r.body);
    assert_eq!(r["feedback_template_id"], csat["id"]);
    let r = wa.org.agent.post(&status, resolve).await;
    assert_eq!(r.status, 200, "{:?}", r.body);
    let sent = eventually(Duration::from_secs(10), || async {
        wa.graph.sent().into_iter().find(|b| b["type"] == "template")
    })
    .await;
    assert_eq!(sent["template"]["name"], "rate_us");
    // The customer taps "5".
    let tap = webhook(
        PHONE_ID,
        json!([{"profile": {"name": "Ana"}, "wa_id": WA_ID}]),
        json!([{"from": WA_ID, "id": "wamid.C5", "timestamp": "1730000300", "type": "button",
                "button": {"text": "5", "payload": "5"}}]),
        Value::Null,
    );
    assert_eq!(wa.deliver(&tap).await.status, 200);
    let c = wa
        .org
        .admin
        .get(&wa.org.path(&format!("/conversations/{conversation}")))
        .await;
    assert_eq!(
        (c["rating"].as_i64(), c["status"].as_str()),
        (Some(5), Some("resolved")),
        "{:?}",
        c.body
    );
}

/// The pane warns the agent in the window's last hour, and offers "Send
/// WhatsApp push" on an archived chat once it has closed.
#[tokio::test]
async fn the_agent_is_warned_an_hour_before_the_window_closes() {
    let graph = GraphServer::start(TOKEN).await;
    let clock = Arc::new(switchboard_service::ManualClock::new(MONDAY_9AM));
    let mut options = options(&graph);
    options.manual_clock = Some(clock.clone());
    options.service.run_jobs = false;
    let wa = connect(TestApp::spawn_with(options).await, graph).await;
    assert_eq!(wa.deliver(&text("wamid.H1", "hello")).await.status, 200);
    let conversation = wa.conversation().await;
    let pane = || async {
        let url = wa
            .app
            .url(&format!("/w/{}/conversations/{conversation}/pane", wa.org.ws));
        wa.org.agent.http.get(url).send().await.unwrap().text().await.unwrap()
    };
    let warning = |html: &str| {
        let at = html
            .find("id=\"window-closing\"")
            .expect("the warning is in the page, to show when due");
        !html[at..at + 200].contains(" hidden")
    };
    assert!(!warning(&pane().await), "not yet");
    clock.advance(23 * 3600 * 1000 + 30 * 60 * 1000);
    assert!(warning(&pane().await), "in the last hour");
    clock.advance(3600 * 1000);
    let closed = pane().await;
    assert!(closed.contains("id=\"window-closed\"") && !closed.contains("id=\"window-closing\""));
    assert!(!closed.contains("push-form"), "not while the chat is open");
    let status = wa.org.path(&format!("/conversations/{conversation}/status"));
    assert_eq!(
        wa.org.agent.post(&status, json!({"status": "resolved"})).await.status,
        200
    );
    let archived = pane().await;
    assert!(
        archived.contains("id=\"push-form\"") && archived.contains("Send WhatsApp push"),
        "{archived}"
    );
}
