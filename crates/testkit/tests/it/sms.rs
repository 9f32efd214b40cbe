//! SMS through Twilio against the REST test server
//! (`switchboard_testkit::twilio`): the account checked, `X-Twilio-Signature`
//! over the public URL Twilio called (default port or not; never the URL a
//! proxy forwarded to), messages once however often they come, MMS files
//! downloaded with the account's credentials and only from Twilio, replies
//! with a status callback whose reports never go back, STOP honoured for
//! every message until START, and Twilio's own validator (PyPI `twilio`)
//! agreeing with our signatures.

use serde_json::{Value, json};
use switchboard_channels::twilio::SIGNATURE_HEADER;
use switchboard_service::{ProviderApis, Registry};
use switchboard_testkit::channel_view::ChannelView;
use switchboard_testkit::client::{Reply, reply_of};
use switchboard_testkit::fixtures::Org;
use switchboard_testkit::media::png;
use switchboard_testkit::twilio::{TwilioServer, field, signed_form};
use switchboard_testkit::{TestApp, TestOptions};

const ACCOUNT: &str = "AC0123456789abcdef0123456789abcdef";
const TOKEN: &str = "f00dfeedf00dfeedf00dfeedf00dfeed";
const OUR_NUMBER: &str = "+14155550199";
const CUSTOMER: &str = "+14155550100";
/// Where Twilio reaches this server (behind its proxy).
const PUBLIC_URL: &str = "https://support.example.com";

struct Sms {
    app: TestApp,
    org: Org,
    twilio: TwilioServer,
    channel: String,
}

async fn start() -> Sms {
    let twilio = TwilioServer::start(ACCOUNT, TOKEN).await;
    let mut options = TestOptions::default();
    options.service.channels = Registry::standard_with(&ProviderApis {
        twilio: twilio.api(PUBLIC_URL),
        ..Default::default()
    });
    let app = TestApp::spawn_with(options).await;
    let org = Org::create(&app).await;
    org.set_online(&org.agent, &org.agent_id).await;
    let r = org
        .admin
        .post(
            &org.path("/channels"),
            json!({"kind": "sms", "name": "Support line", "default_team_id": org.team,
                   "config": {"account_sid": ACCOUNT, "auth_token": TOKEN, "from": OUR_NUMBER}}),
        )
        .await;
    assert_eq!(r.status, 201, "{:?}", r.body);
    Sms {
        channel: r["id"].as_str().unwrap().to_owned(),
        app,
        org,
        twilio,
    }
}

impl Sms {
    fn view(&self) -> ChannelView {
        ChannelView::of(&self.org, &self.channel)
    }

    fn public_hook(&self) -> String {
        format!("{PUBLIC_URL}/hooks/sms/{}", self.channel)
    }

    /// A request as Twilio makes it, signed over `signed_url`.
    async fn post_signed(&self, signed_url: &str, params: &[(&str, &str)]) -> Reply {
        let (body, signature) = signed_form(TOKEN, signed_url, params);
        let r = reqwest::Client::new()
            .post(self.app.url(&format!("/hooks/sms/{}", self.channel)))
            .header("content-type", "application/x-www-form-urlencoded")
            .header(SIGNATURE_HEADER, signature)
            .body(body)
            .send()
            .await
            .unwrap();
        reply_of(r).await
    }

    async fn deliver(&self, params: &[(&str, &str)]) -> Reply {
        let r = self.post_signed(&self.public_hook(), params).await;
        assert_eq!(r.status, 200, "{:?}", r.body);
        r
    }

    async fn texts(&self, sid: &str, body: &str) -> Reply {
        self.deliver(&[
            ("MessageSid", sid),
            ("SmsMessageSid", sid),
            ("AccountSid", ACCOUNT),
            ("From", CUSTOMER),
            ("To", OUR_NUMBER),
            ("Body", body),
            ("NumMedia", "0"),
            ("NumSegments", "1"),
            ("ApiVersion", "2010-04-01"),
            ("FromCountry", "US"),
        ])
        .await
    }

    async fn conversation(&self) -> String {
        self.view().conversation().await
    }

    async fn messages(&self, conversation: &str) -> Vec<Value> {
        self.view().messages(conversation).await
    }

    async fn reply(&self, conversation: &str, body: &str) -> String {
        self.view().reply(conversation, body).await
    }

    async fn message_where(&self, conversation: &str, pred: impl Fn(&Value) -> bool) -> Value {
        self.view().message_where(conversation, pred).await
    }
}

#[tokio::test]
async fn an_sms_arrives_once_only_signed_over_the_public_url_and_mms_files_come_from_twilio() {
    let sms = start().await;
    let params = [
        ("MessageSid", "SM11"),
        ("AccountSid", ACCOUNT),
        ("From", CUSTOMER),
        ("To", OUR_NUMBER),
        ("Body", "Hi, my order?"),
        ("NumMedia", "0"),
    ];
    // Signed over the URL the proxy forwarded to, or with another token: refused.
    let internal = sms.app.url(&format!("/hooks/sms/{}", sms.channel));
    assert_eq!(sms.post_signed(&internal, &params).await.status, 401);
    let (body, forged) = signed_form("0000feedf00dfeedf00dfeedf00dfeed", &sms.public_hook(), &params);
    let r = reqwest::Client::new()
        .post(&internal)
        .header("content-type", "application/x-www-form-urlencoded")
        .header(SIGNATURE_HEADER, forged)
        .body(body.clone())
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);
    let r = reqwest::Client::new()
        .post(&internal)
        .header("content-type", "application/x-www-form-urlencoded")
        .body(body)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);
    let r = sms.org.admin.get(&sms.org.path("/conversations")).await;
    assert_eq!(r["items"].as_array().map(Vec::len), Some(0));

    // Five times, then five at once (with the default port in the signed URL).
    for _ in 0..5 {
        let r = sms.deliver(&params).await;
        // Empty TwiML: Twilio sends no reply of its own.
        assert_eq!(r.header("content-type"), Some("text/xml"));
    }
    let with_port = sms
        .public_hook()
        .replace("support.example.com", "support.example.com:443");
    let all = futures::future::join_all((0..5).map(|_| sms.post_signed(&with_port, &params))).await;
    assert!(
        all.iter().all(|r| r.status == 200),
        "{:?}",
        all.iter().map(|r| r.status).collect::<Vec<_>>()
    );
    let conversation = sms.conversation().await;
    let inbound: Vec<Value> = sms
        .messages(&conversation)
        .await
        .into_iter()
        .filter(|m| m["direction"] == "in")
        .collect();
    assert_eq!(inbound.len(), 1);
    assert_eq!(inbound[0]["body"], "Hi, my order?");

    // MMS: the file downloaded with the account's credentials.
    let image = png(20, 20, 5);
    let media_url = sms.twilio.add_media("MM22", "ME22", "image/png", image.clone());
    sms.deliver(&[
        ("MessageSid", "MM22"),
        ("AccountSid", ACCOUNT),
        ("From", CUSTOMER),
        ("To", OUR_NUMBER),
        ("Body", "the label"),
        ("NumMedia", "1"),
        ("MediaContentType0", "image/png"),
        ("MediaUrl0", &media_url),
    ])
    .await;
    let mms = sms
        .message_where(&conversation, |m| m["provider_message_id"] == "MM22")
        .await;
    assert_eq!(mms["body"], "the label");
    assert_eq!(mms["attachments"][0]["size"].as_u64(), Some(image.len() as u64));
    // A media URL elsewhere is not fetched (our credentials stay with Twilio).
    let r = sms
        .post_signed(
            &sms.public_hook(),
            &[
                ("MessageSid", "MM23"),
                ("AccountSid", ACCOUNT),
                ("From", CUSTOMER),
                ("To", OUR_NUMBER),
                ("Body", ""),
                ("NumMedia", "1"),
                ("MediaUrl0", "https://files.example.net/x.png"),
            ],
        )
        .await;
    assert_eq!(r.status, 422, "{:?}", r.body);
    // Another account's request is refused even when signed with our token.
    let r = sms
        .post_signed(
            &sms.public_hook(),
            &[
                ("MessageSid", "SM24"),
                ("AccountSid", "AC99999999999999999999999999999999"),
                ("From", CUSTOMER),
                ("Body", "x"),
            ],
        )
        .await;
    assert_eq!(r.status, 422);
}

#[tokio::test]
async fn replies_carry_a_status_callback_and_stop_holds_every_message_until_start() {
    let sms = start().await;
    sms.texts("SM31", "Hello").await;
    let conversation = sms.conversation().await;
    let reply = sms.reply(&conversation, "Hi! How can we help?").await;
    let sent = sms
        .message_where(&conversation, |m| {
            m["id"] == reply.as_str() && m["delivery_status"] == "sent"
        })
        .await;
    let form = sms.twilio.sent().remove(0);
    assert_eq!(field(&form, "To"), Some(CUSTOMER));
    assert_eq!(field(&form, "From"), Some(OUR_NUMBER));
    assert_eq!(field(&form, "Body"), Some("Hi! How can we help?"));
    assert_eq!(field(&form, "StatusCallback"), Some(sms.public_hook().as_str()));
    let sid = sent["provider_message_id"].as_str().unwrap().to_owned();

    // Status callbacks out of order: delivered stays delivered.
    for status in ["delivered", "sent"] {
        sms.deliver(&[
            ("MessageSid", &sid),
            ("MessageStatus", status),
            ("AccountSid", ACCOUNT),
            ("From", OUR_NUMBER),
            ("To", CUSTOMER),
            ("ApiVersion", "2010-04-01"),
        ])
        .await;
    }
    let m = sms.message_where(&conversation, |m| m["id"] == reply.as_str()).await;
    assert_eq!(m["delivery_status"], "delivered");

    // Undelivered with Twilio's code.
    let second = sms.reply(&conversation, "Are you there?").await;
    let sent = sms
        .message_where(&conversation, |m| {
            m["id"] == second.as_str() && m["delivery_status"] == "sent"
        })
        .await;
    let sid = sent["provider_message_id"].as_str().unwrap().to_owned();
    sms.deliver(&[
        ("MessageSid", &sid),
        ("MessageStatus", "undelivered"),
        ("ErrorCode", "30003"),
        ("AccountSid", ACCOUNT),
        ("From", OUR_NUMBER),
        ("To", CUSTOMER),
    ])
    .await;
    let failed = sms
        .message_where(&conversation, |m| {
            m["id"] == second.as_str() && m["delivery_status"] == "failed"
        })
        .await;
    assert_eq!(failed["delivery_error"], "Twilio error 30003");

    // STOP: nothing more goes to them, and the agent sees why.
    sms.texts("SM32", "STOP").await;
    let before = sms.twilio.sent().len();
    let held = sms.reply(&conversation, "One more thing").await;
    let held = sms
        .message_where(&conversation, |m| {
            m["id"] == held.as_str() && m["delivery_status"] == "failed"
        })
        .await;
    assert!(
        held["delivery_error"].as_str().unwrap().contains("texted STOP"),
        "{held}"
    );
    assert_eq!(sms.twilio.sent().len(), before, "Twilio was not called");
    // Twilio's own refusal says the same, should our record lag.
    sms.twilio
        .fail_next(400, 21610, "Attempt to send to unsubscribed recipient");
    // START: messages go again.
    sms.texts("SM33", "START").await;
    let latest = sms.conversation().await;
    let again = sms.reply(&latest, "Welcome back").await;
    let failed = sms
        .message_where(&latest, |m| {
            m["id"] == again.as_str() && m["delivery_status"] == "failed"
        })
        .await;
    assert!(failed["delivery_error"].as_str().unwrap().contains("21610"), "{failed}");
    let again = sms.reply(&latest, "Welcome back!").await;
    sms.message_where(&latest, |m| m["id"] == again.as_str() && m["delivery_status"] == "sent")
        .await;
}

#[tokio::test]
async fn the_account_is_checked_and_its_token_never_shown() {
    let sms = start().await;
    let r = sms
        .org
        .admin
        .post(&sms.org.path(&format!("/channels/{}/check", sms.channel)), json!({}))
        .await;
    assert_eq!(r["ok"], true, "{:?}", r.body);
    assert!(r["message"].as_str().unwrap().contains("Acme Support"), "{:?}", r.body);
    let listed = sms.org.admin.get(&sms.org.path("/channels")).await;
    assert!(!listed.body.to_string().contains(TOKEN));
    // A wrong token: the check says so.
    let r = sms
        .org
        .admin
        .patch(
            &sms.org.path(&format!("/channels/{}", sms.channel)),
            json!({"config": {"auth_token": "0123456789abcdef0123456789abcdef"}}),
        )
        .await;
    assert_eq!(r.status, 200, "{:?}", r.body);
    let r = sms
        .org
        .admin
        .post(&sms.org.path(&format!("/channels/{}/check", sms.channel)), json!({}))
        .await;
    assert_eq!(r["ok"], false);
    assert!(r["message"].as_str().unwrap().contains("401"), "{:?}", r.body);
    // A malformed configuration is the field's error.
    let r = sms
        .org
        .admin
        .post(
            &sms.org.path("/channels"),
            json!({"kind": "sms", "name": "x", "config": {"account_sid": "AC1", "auth_token": TOKEN, "from": OUR_NUMBER}}),
        )
        .await;
    assert_eq!(
        (r.status.as_u16(), r["error"]["field"].as_str()),
        (422, Some("config.account_sid"))
    );
}

/// Twilio's own `RequestValidator` (PyPI `twilio`) accepts the signatures
/// our test server sends, with and without the default port: the requests
/// the tests above make are Twilio's.
#[tokio::test]
async fn twilios_validator_agrees_with_our_signatures() {
    let has_twilio = std::process::Command::new("python3")
        .args(["-c", "import twilio"])
        .status()
        .is_ok_and(|s| s.success());
    if !has_twilio {
        assert!(std::env::var("CI").is_err(), "CI needs the twilio package");
        eprintln!("skipped: twilio is not installed (pip install twilio)");
        return;
    }
    let url = "https://support.example.com/hooks/sms/0190a5b2-1c3d-7e4f-8a9b-0c1d2e3f4a5b?x=1";
    let params = [
        ("MessageSid", "SM11"),
        ("AccountSid", ACCOUNT),
        ("From", CUSTOMER),
        ("Body", "Olá, ça va? 1+1=2 & more"),
        ("MediaUrl0", "https://api.twilio.com/a?b=c"),
    ];
    let cases: Vec<Value> = [url.to_owned(), url.replace(".com/", ".com:443/")]
        .iter()
        .map(|signed| {
            let (_, signature) = signed_form(TOKEN, signed, &params);
            json!({"url": url, "signature": signature})
        })
        .collect();
    let script = r#"
import json, sys
from twilio.request_validator import RequestValidator
cases, params, token = json.loads(sys.argv[1]), json.loads(sys.argv[2]), sys.argv[3]
print(json.dumps([RequestValidator(token).validate(c["url"], params, c["signature"]) for c in cases]))
"#;
    let params_json: serde_json::Map<String, Value> = params.iter().map(|(k, v)| ((*k).to_owned(), json!(v))).collect();
    let output = std::process::Command::new("python3")
        .args([
            "-c",
            script,
            &Value::Array(cases).to_string(),
            &Value::Object(params_json).to_string(),
            TOKEN,
        ])
        .output()
        .unwrap();
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    let verdicts: Vec<bool> = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(verdicts, vec![true, true]);
}
