//! X direct messages against the X API test server
//! (`switchboard_testkit::x`): the CRC challenge answered with the HMAC of
//! its token, event deliveries checked against X's signature header and
//! stored once, the customer's photo fetched with a signed request, the
//! account's own echoes and other accounts' events left out, replies by
//! the v2 endpoint (429 waited out, 403 failing with X's words), read
//! reports, the agent's files uploaded to X and named in DMs (one file a
//! DM; kinds and sizes X does not take refused with the reason), and every
//! request's OAuth 1.0a signature judged by `oauthlib` (PyPI).

use serde_json::{Value, json};
use switchboard_channels::x::{SIGNATURE_HEADER, sign};
use switchboard_service::{ProviderApis, Registry};
use switchboard_testkit::channel_view::ChannelView;
use switchboard_testkit::fixtures::Org;
use switchboard_testkit::media::png;
use switchboard_testkit::x::{CLOSED_DMS, XServer, dm_event};
use switchboard_testkit::{TestApp, TestOptions};

const API_KEY: &str = "xvz1evFS4wEEPTGEFPHBog";
const API_SECRET: &str = "kAcSOqF21Fu85e7zjz7ZN2U4ZRhfV3WpwPAoE3Z7kBw";
const ACCOUNT: &str = "370773112";
const TOKEN: &str = "370773112-GmHxMAgYyLbNEtIKZeRNFsMKPR9EyMZeS9weJAEb";
const TOKEN_SECRET: &str = "LswwdoUaIvS8ltyTt5jkRh4J50vUPVVHtR2YPi5kE";
const CUSTOMER: &str = "3805104374";

struct X {
    app: TestApp,
    org: Org,
    x: XServer,
    view: ChannelView,
}

async fn start() -> X {
    let x = XServer::start(TOKEN).await;
    let mut options = TestOptions::default();
    options.service.channels = Registry::standard_with(&ProviderApis {
        x: x.api(),
        ..Default::default()
    });
    let app = TestApp::spawn_with(options).await;
    let org = Org::create(&app).await;
    org.set_online(&org.agent, &org.agent_id).await;
    let r = org
        .admin
        .post(
            &org.path("/channels"),
            json!({"kind": "x", "name": "X account", "default_team_id": org.team,
                   "config": {"api_key": API_KEY, "api_secret": API_SECRET, "access_token": TOKEN, "access_token_secret": TOKEN_SECRET}}),
        )
        .await;
    assert_eq!(r.status, 201, "{:?}", r.body);
    let shown = r.body.to_string();
    assert!(
        !shown.contains(API_SECRET) && !shown.contains(TOKEN_SECRET),
        "secrets are never shown"
    );
    X {
        view: ChannelView::of(&org, r["id"].as_str().unwrap()),
        app,
        org,
        x,
    }
}

impl X {
    async fn post(&self, body: &Value, signature: Option<String>) -> u16 {
        let body = serde_json::to_vec(body).unwrap();
        let mut request = reqwest::Client::new()
            .post(self.app.url(&format!("/hooks/x/{}", self.view.channel)))
            .header("content-type", "application/json");
        if let Some(signature) = signature {
            request = request.header(SIGNATURE_HEADER, signature);
        }
        request.body(body).send().await.unwrap().status().as_u16()
    }

    async fn deliver(&self, body: &Value) {
        let signature = sign(API_SECRET, &serde_json::to_vec(body).unwrap());
        assert_eq!(self.post(body, Some(signature)).await, 200);
    }
}

#[tokio::test]
async fn an_x_account_answers_the_crc_and_keeps_each_direct_message_once() {
    let x = start().await;
    let client = reqwest::Client::new();
    let hook = x.app.url(&format!("/hooks/x/{}", x.view.channel));
    // The CRC challenge.
    let crc: Value = client
        .get(format!("{hook}?crc_token=a1b2c3-crc"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(crc["response_token"], sign(API_SECRET, b"a1b2c3-crc"));
    assert_eq!(client.get(&hook).send().await.unwrap().status(), 422, "no crc_token");

    // Unsigned and wrongly signed deliveries store nothing.
    let image = png(32, 20, 4);
    let media = x.x.add_file("dm-photo.png", image.clone());
    let first = dm_event(
        ACCOUNT,
        "1582103724607971332",
        CUSTOMER,
        ACCOUNT,
        "Is this in stock? https://t.co/z1",
        Some((&media, "https://t.co/z1")),
    );
    assert_eq!(x.post(&first, None).await, 401);
    assert_eq!(x.post(&first, Some(sign("another-secret", b"x"))).await, 401);
    assert!(x.view.conversations().await.is_empty());

    // Delivered twice: one message, with its photo and the sender's name.
    x.deliver(&first).await;
    x.deliver(&first).await;
    let conversation = x.view.conversation().await;
    let message = x
        .view
        .message_where(&conversation, |m| {
            m["direction"] == "in" && !m["attachments"][0].is_null()
        })
        .await;
    assert_eq!(message["body"], "Is this in stock?");
    assert_eq!(message["attachments"][0]["size"].as_u64(), Some(image.len() as u64));
    let inbound: Vec<Value> = x
        .view
        .messages(&conversation)
        .await
        .into_iter()
        .filter(|m| m["direction"] == "in")
        .collect();
    assert_eq!(inbound.len(), 1);
    let contact = x.view.contact_of(&conversation).await;
    assert_eq!(contact["name"], "Dana Customer");

    // The account's own echo and another account's event store nothing.
    x.deliver(&dm_event(
        ACCOUNT,
        "1582103724607971400",
        ACCOUNT,
        CUSTOMER,
        "sent from the X app",
        None,
    ))
    .await;
    x.deliver(&dm_event(
        "999999",
        "1582103724607971401",
        CUSTOMER,
        "999999",
        "for someone else",
        None,
    ))
    .await;

    // The reply; a rate limit first, waited out until X's reset.
    let reset = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
        + 1;
    x.x.fail_next(429, Some(reset));
    let reply = x.view.reply(&conversation, "Yes, in all sizes.").await;
    let sent = x
        .view
        .message_where(&conversation, |m| {
            m["id"] == reply.as_str() && m["delivery_status"] == "sent"
        })
        .await;
    let dms = x.x.sent();
    assert_eq!(dms.len(), 2, "one refused by the rate limit, one sent");
    assert_eq!(dms[1], (CUSTOMER.to_owned(), json!({"text": "Yes, in all sizes."})));
    let event_id = sent["provider_message_id"].as_str().unwrap().to_owned();
    let all = x.view.messages(&conversation).await;
    assert!(
        !all.iter()
            .any(|m| m["body"] == "sent from the X app" || m["body"] == "for someone else"),
        "{all:?}"
    );

    // The customer read it.
    x.deliver(&json!({"for_user_id": ACCOUNT, "direct_message_mark_read_events": [
        {"created_timestamp": "1765000001000", "sender_id": CUSTOMER, "target": {"recipient_id": ACCOUNT}, "last_read_event_id": event_id}]}))
        .await;
    x.view
        .message_where(&conversation, |m| {
            m["id"] == reply.as_str() && m["delivery_status"] == "read"
        })
        .await;

    // Someone who takes no messages from the account: failed with X's words.
    x.deliver(&dm_event(
        ACCOUNT,
        "1582103724607971500",
        CLOSED_DMS,
        ACCOUNT,
        "Hi",
        None,
    ))
    .await;
    let closed = x.view.conversation_other_than(&[&conversation]).await;
    let refused = x.view.reply(&closed, "Hello!").await;
    let failed = x
        .view
        .message_where(&closed, |m| {
            m["id"] == refused.as_str() && m["delivery_status"] == "failed"
        })
        .await;
    assert!(
        failed["delivery_error"]
            .as_str()
            .unwrap()
            .contains("You cannot send messages to this user"),
        "{failed}"
    );

    // Check connection names the account.
    let r = x.view.check().await;
    assert_eq!(r["ok"], true, "{r}");
    assert!(r["message"].as_str().unwrap().contains("@acmeshop"), "{r}");

    judge_signatures(&x.x.calls(), 5);
}

/// `oauthlib` signs each recorded request again with the same nonce and
/// timestamp: its signature must be ours (and a changed URL must not pass).
/// At least `at_least` calls must have been made.
fn judge_signatures(calls: &[switchboard_testkit::x::Call], at_least: usize) {
    let has_oauthlib = std::process::Command::new("python3")
        .args(["-c", "import oauthlib"])
        .status()
        .is_ok_and(|s| s.success());
    if !has_oauthlib {
        assert!(std::env::var("CI").is_err(), "CI needs the oauthlib package");
        eprintln!("skipped: oauthlib is not installed (pip install oauthlib)");
        return;
    }
    let mut cases: Vec<Value> = calls
        .iter()
        .map(|c| json!({"method": c.method, "url": c.url, "authorization": c.authorization, "body": c.body}))
        .collect();
    assert!(cases.len() >= at_least, "{cases:?}");
    let mut tampered = cases[0].clone();
    tampered["url"] = json!(format!("{}?x=1", tampered["url"].as_str().unwrap()));
    cases.push(tampered);
    let script = r#"
import json, sys
from oauthlib.oauth1 import Client
from oauthlib.oauth1.rfc5849 import utils
cases = json.loads(sys.argv[1])
ck, cs, tk, ts = sys.argv[2:6]
verdicts = []
for c in cases:
    ours = dict(utils.parse_authorization_header(c["authorization"]))
    client = Client(ck, client_secret=cs, resource_owner_key=tk, resource_owner_secret=ts,
                    nonce=ours["oauth_nonce"], timestamp=ours["oauth_timestamp"])
    # A JSON or multipart body is not part of an OAuth 1.0a signature (X
    # uses no oauth_body_hash), so it is left out here as X leaves it out.
    _, signed, _ = client.sign(c["url"], http_method=c["method"])
    theirs = dict(utils.parse_authorization_header(signed["Authorization"]))
    verdicts.append(theirs["oauth_signature"] == ours["oauth_signature"])
print(json.dumps(verdicts))
"#;
    let output = std::process::Command::new("python3")
        .args([
            "-c",
            script,
            &Value::Array(cases.clone()).to_string(),
            API_KEY,
            API_SECRET,
            TOKEN,
            TOKEN_SECRET,
        ])
        .output()
        .unwrap();
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    let verdicts: Vec<bool> = serde_json::from_slice(&output.stdout).unwrap();
    let (last, ours) = verdicts.split_last().unwrap();
    assert!(ours.iter().all(|v| *v), "oauthlib disagrees: {verdicts:?}");
    assert!(!last, "a changed URL must not pass");
}

#[tokio::test]
async fn an_x_configuration_is_checked_field_by_field() {
    let x = start().await;
    let r = x
        .org
        .admin
        .post(
            &x.org.path("/channels"),
            json!({"kind": "x", "name": "Bad", "config": {"api_key": API_KEY, "api_secret": API_SECRET,
                   "access_token": "no-account-id-in-front", "access_token_secret": TOKEN_SECRET}}),
        )
        .await;
    assert_eq!(
        (r.status.as_u16(), r["error"]["field"].as_str()),
        (422, Some("config.access_token")),
        "{:?}",
        r.body
    );
    // A token for another account: check connection says so.
    let r = x
        .org
        .admin
        .patch(
            &x.org.path(&format!("/channels/{}", x.view.channel)),
            json!({"config": {"access_token": "12345-OtherAccountTokenValue"}}),
        )
        .await;
    assert!(r.status.is_success(), "{:?}", r.body);
    let r = x.view.check().await;
    assert_eq!(r["ok"], false, "{r}");
}

/// The agent posts a file into the customer's conversation (`?caption=`);
/// the message it makes, once delivered or failed.
async fn send_file(x: &X, conversation: &str, name: &str, mime: &str, bytes: Vec<u8>, caption: &str) -> Value {
    let r = x
        .org
        .agent
        .send_raw(
            reqwest::Method::POST,
            &x.org.path(&format!(
                "/conversations/{conversation}/attachments?filename={name}&caption={caption}"
            )),
            Some(mime),
            bytes,
        )
        .await;
    assert_eq!(r.status, 201, "{:?}", r.body);
    let id = r["id"].as_str().unwrap().to_owned();
    x.view
        .message_where(conversation, |m| {
            m["id"] == id.as_str() && matches!(m["delivery_status"].as_str(), Some("sent" | "failed"))
        })
        .await
}

/// The customer's first message: their conversation.
async fn customer_writes(x: &X) -> String {
    x.deliver(&dm_event(
        ACCOUNT,
        "1582103724607971332",
        CUSTOMER,
        ACCOUNT,
        "Where is my parcel?",
        None,
    ))
    .await;
    x.view.conversation().await
}

/// An agent's image goes to X first (one multipart upload as `dm_image`,
/// byte for byte, signed like every call) and the DM names the media id X
/// gave, with the caption as its text.
#[tokio::test]
async fn an_agents_image_is_uploaded_to_x_and_named_in_the_dm() {
    let x = start().await;
    let conversation = customer_writes(&x).await;
    let image = png(24, 16, 3);
    let sent = send_file(
        &x,
        &conversation,
        "label.png",
        "image/png",
        image.clone(),
        "Your%20label",
    )
    .await;
    assert_eq!(sent["delivery_status"], "sent", "{sent}");

    let uploads = x.x.uploads();
    assert_eq!(uploads.len(), 1, "{uploads:?}");
    assert_eq!(
        (uploads[0].category.as_str(), uploads[0].media_type.as_str()),
        ("dm_image", "image/png")
    );
    assert!(uploads[0].bytes == image, "the image reaches X byte for byte");
    let dms = x.x.sent();
    assert_eq!(
        dms,
        vec![(
            CUSTOMER.to_owned(),
            json!({"text": "Your label", "attachments": [{"media_id": uploads[0].id}]})
        )]
    );
    assert!(sent["provider_message_id"].is_string(), "{sent}");
    judge_signatures(&x.x.calls(), 2);
}

/// A file X does not take (a PDF) and an image over X's 5 MB fail with the
/// reason, and nothing reaches X for either.
#[tokio::test]
async fn a_file_x_does_not_take_fails_with_the_reason() {
    let x = start().await;
    // The workspace takes larger images than X does.
    let r = x
        .org
        .admin
        .put(&x.org.path("/attachment-limits"), json!({"image": 20 * 1024 * 1024}))
        .await;
    assert!(r.status.is_success(), "{:?}", r.body);
    let conversation = customer_writes(&x).await;

    let large = png(8, 8, 6 * 1024 * 1024);
    let failed = send_file(&x, &conversation, "poster.png", "image/png", large, "").await;
    assert_eq!(failed["delivery_status"], "failed", "{failed}");
    let error = failed["delivery_error"].as_str().unwrap_or_default();
    assert!(
        error.contains("poster.png is too large for X") && error.contains("images up to 5.0 MB"),
        "{error}"
    );

    let pdf = b"%PDF-1.4\ninvoice 42\n".to_vec();
    let failed = send_file(&x, &conversation, "invoice.pdf", "application/pdf", pdf, "").await;
    assert_eq!(failed["delivery_status"], "failed", "{failed}");
    let error = failed["delivery_error"].as_str().unwrap_or_default();
    assert!(
        error.contains("images, GIFs and MP4 or MOV videos only") && error.contains("invoice.pdf"),
        "{error}"
    );
    assert!(x.x.uploads().is_empty(), "nothing uploaded");
    assert!(x.x.sent().is_empty(), "no DM sent");
}

/// Files served as the inbox serves an agent's files by their signed links.
async fn serve_files(files: Vec<(&'static str, Vec<u8>)>) -> String {
    let files: std::sync::Arc<std::collections::HashMap<String, Vec<u8>>> = std::sync::Arc::new(
        files
            .into_iter()
            .map(|(name, bytes)| (name.to_owned(), bytes))
            .collect(),
    );
    let app = axum::Router::new().route(
        "/files/{name}",
        axum::routing::get(move |axum::extract::Path(name): axum::extract::Path<String>| {
            let files = files.clone();
            async move { files.get(&name).cloned().ok_or(axum::http::StatusCode::NOT_FOUND) }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/files", listener.local_addr().unwrap());
    tokio::spawn(async move {
        axum::serve(listener, app).await.ok();
    });
    url
}

/// X takes one attachment a DM: a message with an image and a video goes
/// as two DMs, the text with the first. The video goes in chunks (two of
/// them), finalized and waited on until X has processed it. The message
/// keeps the last DM's id. Beside a file X does not take, nothing is
/// uploaded.
#[tokio::test]
async fn two_files_in_one_message_go_as_two_dms() {
    use switchboard_channels::{ChannelAdapter, ChannelSetup, OutboundFile, OutboundMessage, SendContext};
    let x = XServer::start(TOKEN).await;
    let image = png(16, 16, 2);
    let mut video = b"\0\0\0\x18ftypmp42".to_vec();
    video.resize(5 * 1024 * 1024, 7);
    let files = serve_files(vec![("box.png", image.clone()), ("unboxing.mp4", video.clone())]).await;
    let file = |name: &str, mime: &str, size: usize| OutboundFile {
        url: format!("{files}/{name}"),
        filename: name.into(),
        mime: mime.into(),
        size: size as i64,
        sha256: String::new(),
    };
    let message = OutboundMessage {
        message_id: "m".into(),
        conversation_id: "c".into(),
        recipient_external_id: CUSTOMER.into(),
        text: "Here it is".into(),
        sender_name: None,
        in_reply_to: None,
        created_at: switchboard_core::Millis(0),
        buttons: Vec::new(),
        template: None,
        attachments: vec![
            file("box.png", "image/png", image.len()),
            file("unboxing.mp4", "video/mp4", video.len()),
        ],
        tag: None,
        subject: None,
        thread: Vec::new(),
    };
    let channel = ChannelSetup {
        id: switchboard_core::ChannelId::new(),
        workspace_id: switchboard_core::WorkspaceId::new(),
        kind: switchboard_core::ChannelKind::X,
        callback_url: None,
        secret: None,
        settings: json!({"config": {"api_key": API_KEY, "api_secret": API_SECRET, "access_token": TOKEN, "access_token_secret": TOKEN_SECRET}}),
    };
    let http = switchboard_channels::net::OutboundHttp::new(true, std::time::Duration::from_secs(10)).unwrap();
    let cx = SendContext {
        http: &http,
        channel: &channel,
        delivery_id: "d",
        now: switchboard_core::Millis(0),
    };
    let sent = switchboard_channels::x::XAdapter::new(x.api())
        .send(cx, &message)
        .await
        .unwrap();

    let uploads = x.uploads();
    let kept: Vec<(&str, &str, bool)> = uploads
        .iter()
        .map(|m| {
            (
                m.category.as_str(),
                m.media_type.as_str(),
                m.bytes == image || m.bytes == video,
            )
        })
        .collect();
    assert_eq!(
        kept,
        vec![("dm_image", "image/png", true), ("dm_video", "video/mp4", true)]
    );
    assert!(uploads[1].bytes == video, "the video, whole, in order");
    let dms = x.sent();
    assert_eq!(
        dms,
        vec![
            (
                CUSTOMER.to_owned(),
                json!({"text": "Here it is", "attachments": [{"media_id": uploads[0].id}]})
            ),
            (
                CUSTOMER.to_owned(),
                json!({"attachments": [{"media_id": uploads[1].id}]})
            ),
        ]
    );
    let appends = x.calls().iter().filter(|c| c.url.ends_with("/append")).count();
    assert_eq!(appends, 2, "5 MB in 4 MB chunks");
    assert!(
        x.calls().iter().any(|c| c.url.contains("command=STATUS")),
        "X's processing waited on"
    );
    assert_eq!(
        sent.provider_message_id.as_deref(),
        Some("1900000000000000001"),
        "the last DM's id"
    );
    judge_signatures(&x.calls(), 7);

    // A file X does not take beside one it does: refused before either is
    // uploaded, nothing sent.
    let mixed = OutboundMessage {
        attachments: vec![
            file("box.png", "image/png", image.len()),
            file("invoice.pdf", "application/pdf", 20),
        ],
        ..message
    };
    let cx = SendContext {
        http: &http,
        channel: &channel,
        delivery_id: "d2",
        now: switchboard_core::Millis(0),
    };
    let refused = switchboard_channels::x::XAdapter::new(x.api()).send(cx, &mixed).await;
    assert!(
        matches!(&refused, Err(switchboard_channels::SendError::Permanent(why)) if why.contains("invoice.pdf")),
        "{refused:?}"
    );
    assert_eq!(
        (x.uploads().len(), x.sent().len()),
        (2, 2),
        "nothing more uploaded or sent"
    );
}
