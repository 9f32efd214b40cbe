//! The web-chat widget's visitor API: sessions, identity verification,
//! isolation between visitors, live replies, delivery states, pre-chat
//! rules and rate limits.

use std::time::Duration;

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use switchboard_testkit::client::ApiClient;
use switchboard_testkit::fixtures::Org;
use switchboard_testkit::{TestApp, TestOptions};

const WAIT: Duration = Duration::from_secs(5);

struct Visitor {
    http: reqwest::Client,
    base: String,
    token: String,
}

impl Visitor {
    async fn start(app: &TestApp, channel: &str, extra: Value) -> Result<Visitor, (StatusCode, Value)> {
        let http = reqwest::Client::new();
        let mut body = json!({"channel_id": channel});
        body.as_object_mut().unwrap().extend(extra.as_object().unwrap().clone());
        let r = http
            .post(app.url("/widget/v1/session"))
            .json(&body)
            .send()
            .await
            .unwrap();
        let status = r.status();
        let value: Value = r.json().await.unwrap_or(Value::Null);
        if status != StatusCode::OK {
            return Err((status, value));
        }
        Ok(Visitor {
            http,
            base: format!("http://{}", app.addr),
            token: value["token"].as_str().unwrap().to_owned(),
        })
    }

    async fn call(&self, method: Method, path: &str, body: Option<Value>) -> (StatusCode, Value) {
        let mut req = self
            .http
            .request(method, format!("{}{path}", self.base))
            .bearer_auth(&self.token);
        if let Some(b) = body {
            req = req.json(&b);
        }
        let r = req.send().await.unwrap();
        let status = r.status();
        (status, r.json().await.unwrap_or(Value::Null))
    }

    async fn say(&self, text: &str, client_id: &str) -> Value {
        let (status, body) = self
            .call(
                Method::POST,
                "/widget/v1/messages",
                Some(json!({"text": text, "client_id": client_id})),
            )
            .await;
        assert_eq!(status, StatusCode::CREATED, "{body}");
        body
    }

    /// GET a file: the status, the content type and the bytes.
    async fn fetch(&self, path: &str) -> (StatusCode, String, Vec<u8>) {
        let r = self
            .http
            .get(format!("{}{path}", self.base))
            .bearer_auth(&self.token)
            .send()
            .await
            .unwrap();
        let status = r.status();
        let content_type = r
            .headers()
            .get("content-type")
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_owned();
        (status, content_type, r.bytes().await.unwrap().to_vec())
    }

    async fn messages(&self, conversation: &str) -> (StatusCode, Value) {
        self.call(
            Method::GET,
            &format!("/widget/v1/conversations/{conversation}/messages"),
            None,
        )
        .await
    }
}

/// A web channel routed to the org's team, embeddable from `origin`.
async fn web_channel(org: &Org, widget: Value) -> (String, String) {
    let r = org
        .admin
        .post(
            &org.path("/channels"),
            json!({"kind": "web", "name": "Site chat", "default_team_id": org.team, "widget": widget}),
        )
        .await;
    assert_eq!(r.status, 201, "{:?}", r.body);
    (
        r["id"].as_str().unwrap().to_owned(),
        r["secret"].as_str().unwrap().to_owned(),
    )
}

async fn assign_to_agent(org: &Org, conversation: &str) {
    // Coming online takes the waiting chat (routing drains the queue).
    org.set_online(&org.agent, &org.agent_id).await;
    let r = org
        .admin
        .get(&org.path(&format!("/conversations/{conversation}")))
        .await;
    assert_eq!(r.status, 200, "{:?}", r.body);
    assert_eq!(r["assignee_id"], org.agent_id.as_str());
}

#[tokio::test]
async fn a_visitor_chats_with_an_agent_and_sees_delivery_states() {
    let app = TestApp::spawn().await;
    let org = Org::create(&app).await;
    let (channel, _) = web_channel(&org, json!({"allowed_origins": ["http://shop.test"]})).await;
    let visitor = Visitor::start(&app, &channel, json!({})).await.unwrap();
    let sent = visitor.say("Hi, where is my parcel?", "c-1").await;
    let again = visitor.say("Hi, where is my parcel?", "c-1").await;
    assert_eq!(again["duplicate"], true, "the same client_id is stored once");
    let conversation = sent["conversation_id"].as_str().unwrap().to_owned();

    // The agent sees it and replies.
    let c = org
        .agent
        .get(&org.path(&format!("/conversations/{conversation}")))
        .await;
    assert_eq!(c["status"], "queued");
    assign_to_agent(&org, &conversation).await;
    let mut agent_events = switchboard_testkit::events::EventStream::connect(&app, &org.agent, &org.ws, None)
        .await
        .unwrap();
    let reply = org
        .agent
        .post(
            &org.path(&format!("/conversations/{conversation}/messages")),
            json!({"kind": "text", "body": "It ships today!"}),
        )
        .await;
    assert_eq!(reply.status, 201, "{:?}", reply.body);
    let reply_id = reply["id"].as_str().unwrap().to_owned();

    // The visitor sees the reply with the agent's name, and never a note.
    org.agent
        .post(
            &org.path(&format!("/conversations/{conversation}/messages")),
            json!({"kind": "note", "body": "secret note"}),
        )
        .await;
    let (status, list) = visitor.messages(&conversation).await;
    assert_eq!(status, 200);
    let items = list["items"].as_array().unwrap();
    let bodies: Vec<&str> = items.iter().map(|m| m["body"].as_str().unwrap()).collect();
    assert_eq!(bodies, ["Hi, where is my parcel?", "It ships today!"]);
    assert_eq!(items[1]["author_name"], "Ana Agent");
    assert!(!list.to_string().contains("secret note"));

    // sent → delivered → read, each an event for the agent.
    let sent = agent_events.next_of("message.updated", WAIT).await.unwrap();
    assert_eq!(
        (sent["data"]["id"].as_str(), sent["data"]["delivery_status"].as_str()),
        (Some(reply_id.as_str()), Some("sent"))
    );
    for status in ["delivered", "read"] {
        let (code, _) = visitor
            .call(
                Method::POST,
                &format!("/widget/v1/conversations/{conversation}/ack"),
                Some(json!({"up_to": reply_id, "status": status})),
            )
            .await;
        assert_eq!(code, StatusCode::NO_CONTENT);
        let event = agent_events.next_of("message.updated", WAIT).await.unwrap();
        assert_eq!(event["data"]["delivery_status"], status);
    }
    let (_, list) = visitor.messages(&conversation).await;
    assert_eq!(list["items"][1]["delivery_status"], "read");
}

#[tokio::test]
async fn visitors_only_reach_their_own_conversations() {
    let app = TestApp::spawn().await;
    let org = Org::create(&app).await;
    let (channel, _) = web_channel(&org, json!({})).await;
    let a = Visitor::start(&app, &channel, json!({})).await.unwrap();
    let b = Visitor::start(&app, &channel, json!({})).await.unwrap();
    let conversation_a = a.say("I am A", "a-1").await["conversation_id"]
        .as_str()
        .unwrap()
        .to_owned();
    b.say("I am B", "b-1").await;
    let (status, body) = b.messages(&conversation_a).await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (StatusCode::NOT_FOUND, Some("not_found"))
    );
    let (status, _) = b
        .call(
            Method::POST,
            &format!("/widget/v1/conversations/{conversation_a}/ack"),
            Some(json!({"up_to": conversation_a, "status": "read"})),
        )
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (_, list) = b.call(Method::GET, "/widget/v1/conversations", None).await;
    assert_eq!(list["items"].as_array().unwrap().len(), 1);
    assert!(!list.to_string().contains(&conversation_a));
    // A forged or missing token gets nowhere.
    let forged = Visitor {
        token: format!("{}x", a.token),
        ..b
    };
    assert_eq!(forged.messages(&conversation_a).await.0, StatusCode::UNAUTHORIZED);
    // A token keeps working across "reloads": a new session with it is the same visitor.
    let again = Visitor::start(&app, &channel, json!({"token": a.token})).await.unwrap();
    assert_eq!(again.messages(&conversation_a).await.0, StatusCode::OK);
}

#[tokio::test]
async fn a_visitor_sees_the_preview_of_their_own_images_only() {
    let app = TestApp::spawn().await;
    let org = Org::create(&app).await;
    let (channel, _) = web_channel(&org, json!({})).await;
    let a = Visitor::start(&app, &channel, json!({})).await.unwrap();
    let b = Visitor::start(&app, &channel, json!({})).await.unwrap();
    let conversation = a.say("Here is the damage", "a-1").await["conversation_id"]
        .as_str()
        .unwrap()
        .to_owned();
    b.say("I am B", "b-1").await;
    let sent = a
        .http
        .post(app.url(&format!(
            "/widget/v1/conversations/{conversation}/attachments?filename=damage.png"
        )))
        .bearer_auth(&a.token)
        .body(switchboard_testkit::media::png(960, 400, 0))
        .send()
        .await
        .unwrap();
    assert_eq!(sent.status(), StatusCode::CREATED);
    let sent: Value = sent.json().await.unwrap();
    let id = sent["attachments"][0]["id"].as_str().unwrap().to_owned();
    let (_, listed) = a.messages(&conversation).await;
    let listed = listed["items"].as_array().unwrap().last().unwrap().clone();
    assert_eq!(listed["attachments"][0]["id"], id.as_str());
    assert!(listed["attachments"][0]["preview_url"].is_string(), "{listed}");

    let preview = format!("/widget/v1/attachments/{id}/preview");
    let (status, content_type, bytes) = a.fetch(&preview).await;
    assert_eq!((status, content_type.as_str()), (StatusCode::OK, "image/jpeg"));
    let decoded = image::load_from_memory(&bytes).expect("an image");
    assert_eq!((decoded.width(), decoded.height()), (480, 200));
    // Another visitor gets neither the preview nor the file.
    for path in [preview.clone(), format!("/widget/v1/attachments/{id}")] {
        let (status, _, bytes) = b.fetch(&path).await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{path}");
        assert!(
            !bytes.starts_with(b"\xFF\xD8") && !bytes.starts_with(b"\x89PNG"),
            "{path}"
        );
    }
}

#[tokio::test]
async fn a_verified_identifier_is_the_same_contact_on_every_device_and_a_forged_one_is_refused() {
    let app = TestApp::spawn().await;
    let org = Org::create(&app).await;
    let (channel, secret) = web_channel(&org, json!({})).await;
    let hash = switchboard_channels::signing::hmac_sha256_hex(secret.as_bytes(), b"user-77");
    let phone = Visitor::start(
        &app,
        &channel,
        json!({"identifier": "user-77", "identifier_hash": hash}),
    )
    .await
    .unwrap();
    let conversation = phone.say("from my phone", "p-1").await["conversation_id"]
        .as_str()
        .unwrap()
        .to_owned();
    let laptop = Visitor::start(
        &app,
        &channel,
        json!({"identifier": "user-77", "identifier_hash": hash}),
    )
    .await
    .unwrap();
    let (status, list) = laptop.messages(&conversation).await;
    assert_eq!(status, 200);
    assert_eq!(list["items"][0]["body"], "from my phone");
    let forged = Visitor::start(
        &app,
        &channel,
        json!({"identifier": "user-77", "identifier_hash": "00".repeat(32)}),
    )
    .await;
    let (status, body) = forged.err().expect("refused");
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (StatusCode::UNAUTHORIZED, Some("bad_signature"))
    );
    let unsigned = Visitor::start(&app, &channel, json!({"identifier": "user-77"})).await;
    assert_eq!(unsigned.err().expect("refused").0, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn prechat_fields_are_enforced_and_kept_on_the_contact() {
    let app = TestApp::spawn().await;
    let org = Org::create(&app).await;
    let (channel, _) = web_channel(&org, json!({"prechat_name": "required", "prechat_email": "optional"})).await;
    let visitor = Visitor::start(&app, &channel, json!({})).await.unwrap();
    let (status, body) = visitor
        .call(
            Method::POST,
            "/widget/v1/messages",
            Some(json!({"text": "hi", "client_id": "1"})),
        )
        .await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (StatusCode::UNPROCESSABLE_ENTITY, Some("invalid_input"))
    );
    let (status, body) = visitor
        .call(
            Method::POST,
            "/widget/v1/messages",
            Some(json!({"text": "hi", "client_id": "1", "name": "Vera Visitor", "email": "Vera@Example.com"})),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let c = org
        .admin
        .get(&org.path(&format!("/conversations/{}", body["conversation_id"].as_str().unwrap())))
        .await;
    let contact = org
        .admin
        .get(&org.path(&format!("/contacts/{}", c["contact_id"].as_str().unwrap())))
        .await;
    assert_eq!(contact["name"], "Vera Visitor");
    assert_eq!(contact["email"], "vera@example.com");
}

#[tokio::test]
async fn the_frame_may_only_be_embedded_by_allowed_sites() {
    let app = TestApp::spawn().await;
    let org = Org::create(&app).await;
    let (channel, _) = web_channel(
        &org,
        json!({"allowed_origins": ["https://shop.example.com", "http://127.0.0.1:9999"], "greeting": "<b>Hi</b>"}),
    )
    .await;
    let anonymous = ApiClient::anonymous(&app);
    let frame = anonymous
        .http
        .get(app.url(&format!("/widget/frame?channel={channel}")))
        .send()
        .await
        .unwrap();
    assert_eq!(frame.status(), 200);
    let csp = frame.headers()["content-security-policy"].to_str().unwrap().to_owned();
    assert!(
        csp.contains("frame-ancestors https://shop.example.com http://127.0.0.1:9999"),
        "{csp}"
    );
    assert!(!csp.contains("unsafe-inline"));
    let html = frame.text().await.unwrap();
    assert!(
        html.contains("&lt;b&gt;Hi&lt;/b&gt;") || html.contains("&#60;b&#62;Hi"),
        "the greeting is escaped"
    );
    let (other, _) = web_channel(&org, json!({})).await;
    let closed = anonymous
        .http
        .get(app.url(&format!("/widget/frame?channel={other}")))
        .send()
        .await
        .unwrap();
    assert!(
        closed.headers()["content-security-policy"]
            .to_str()
            .unwrap()
            .contains("frame-ancestors 'none'")
    );
    let unknown = anonymous
        .http
        .get(app.url(&format!("/widget/frame?channel={}", org.channel)))
        .send()
        .await
        .unwrap();
    assert_eq!(unknown.status(), 404, "an API channel has no widget");
    let script = anonymous.http.get(app.url("/widget.js")).send().await.unwrap();
    assert_eq!(script.status(), 200);
    assert!(
        script.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("application/javascript")
    );
}

#[tokio::test]
async fn a_thousand_sessions_from_one_address_are_limited_while_others_still_work() {
    let options = TestOptions {
        trust_forwarded_for: true,
        ..TestOptions::default()
    };
    let app = TestApp::spawn_with(options).await;
    let org = Org::create(&app).await;
    let (channel, _) = web_channel(&org, json!({})).await;
    let http = reqwest::Client::new();
    let body = json!({"channel_id": channel});
    let mut limited = 0;
    let mut ok = 0;
    for chunk in 0..20 {
        let replies = futures::future::join_all((0..50).map(|_| {
            http.post(app.url("/widget/v1/session"))
                .header("x-forwarded-for", "203.0.113.7")
                .json(&body)
                .send()
        }))
        .await;
        for r in replies {
            match r.unwrap().status() {
                StatusCode::OK => ok += 1,
                StatusCode::TOO_MANY_REQUESTS => limited += 1,
                other => panic!("unexpected {other} in chunk {chunk}"),
            }
        }
    }
    assert_eq!(ok + limited, 1000);
    assert!(ok <= 60, "at most the per-minute allowance got through: {ok}");
    assert!(limited >= 940);
    let other = http
        .post(app.url("/widget/v1/session"))
        .header("x-forwarded-for", "198.51.100.1")
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(other.status(), StatusCode::OK, "another address still works");
}

/// A visitor's socket that stops answering pings is closed as gone away;
/// one that keeps reading stays open.
#[tokio::test]
async fn a_silent_visitor_socket_is_closed_and_a_live_one_kept() {
    use futures::StreamExt;
    use tokio_tungstenite::tungstenite::Message as Frame;
    let mut options = switchboard_testkit::TestOptions::default();
    options.service.ws_ping_interval = std::time::Duration::from_millis(300);
    let app = TestApp::spawn_with(options).await;
    let org = Org::create(&app).await;
    let (channel, _) = web_channel(&org, json!({})).await;
    let open = |token: String| {
        let url = format!("ws://{}/widget/v1/ws?token={token}", app.addr);
        async move { tokio_tungstenite::connect_async(url).await.expect("visitor socket").0 }
    };
    let silent_visitor = Visitor::start(&app, &channel, json!({})).await.unwrap();
    let live_visitor = Visitor::start(&app, &channel, json!({})).await.unwrap();
    let mut silent = open(silent_visitor.token.clone()).await;
    let mut live = open(live_visitor.token.clone()).await;
    // Reading answers pings (tungstenite replies on read).
    let until = tokio::time::Instant::now() + std::time::Duration::from_millis(1500);
    while let Ok(frame) = tokio::time::timeout_at(until, live.next()).await {
        assert!(
            matches!(frame, Some(Ok(Frame::Ping(_)))),
            "the live socket only gets pings: {frame:?}"
        );
    }
    let mut closed_with = None;
    while let Ok(Some(frame)) = tokio::time::timeout(std::time::Duration::from_secs(5), silent.next()).await {
        if let Ok(Frame::Close(frame)) = frame {
            closed_with = frame.map(|f| u16::from(f.code));
            break;
        }
    }
    assert_eq!(
        closed_with,
        Some(1001),
        "the silent visitor's socket was closed for not answering"
    );
    // The live one still works: a ping arrives and is answered.
    let next = tokio::time::timeout(std::time::Duration::from_secs(2), live.next()).await;
    assert!(matches!(next, Ok(Some(Ok(Frame::Ping(_))))), "{next:?}");
}

/// The assigned agent reading the chat marks the visitor's messages read,
/// which the visitor sees; someone who only watches does not.
#[tokio::test]
async fn the_visitor_sees_when_the_agent_has_read_their_messages() {
    let app = TestApp::spawn().await;
    let org = Org::create(&app).await;
    let (channel, _) = web_channel(&org, json!({})).await;
    let visitor = Visitor::start(&app, &channel, json!({})).await.unwrap();
    let sent = visitor.say("Is anyone there?", "c-1").await;
    let conversation = sent["conversation_id"].as_str().unwrap().to_owned();
    assign_to_agent(&org, &conversation).await;
    let statuses = |body: Value| -> Vec<Value> {
        body["items"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|m| m["direction"] == "in")
            .map(|m| m["delivery_status"].clone())
            .collect()
    };
    let (_, before) = visitor.messages(&conversation).await;
    assert_eq!(statuses(before), [Value::Null], "not read yet");

    // A supervisor of the team may look, but reading is the assignee's.
    let (sam, _) = org
        .member(&app, "sam@acme.test", "Sam", "supervisor", &[&org.team])
        .await;
    let read = org.path(&format!("/conversations/{conversation}/read"));
    let r = sam.post(&read, json!(null)).await;
    assert_eq!((r.status.as_u16(), r.code()), (403, "forbidden"), "{:?}", r.body);
    let (_, still) = visitor.messages(&conversation).await;
    assert_eq!(statuses(still), [Value::Null]);

    let mut feed = tokio_tungstenite::connect_async(format!("ws://{}/widget/v1/ws?token={}", app.addr, visitor.token))
        .await
        .expect("visitor socket")
        .0;
    let r = org.agent.post(&read, json!(null)).await;
    assert_eq!(r.status.as_u16(), 204, "{:?}", r.body);
    let (_, after) = visitor.messages(&conversation).await;
    assert_eq!(statuses(after), [json!("read")]);
    // Pushed to the widget as it happens.
    use futures::StreamExt;
    let update = tokio::time::timeout(std::time::Duration::from_secs(5), async {
        while let Some(Ok(frame)) = feed.next().await {
            if let tokio_tungstenite::tungstenite::Message::Text(text) = frame {
                let v: Value = serde_json::from_str(&text).unwrap();
                if v["type"] == "message.updated" {
                    return v;
                }
            }
        }
        Value::Null
    })
    .await
    .expect("an update reaches the widget");
    assert_eq!(update["data"]["delivery_status"], "read");
    assert_eq!(update["data"]["direction"], "in");
    // Reading again changes nothing.
    assert_eq!(org.agent.post(&read, json!(null)).await.status.as_u16(), 204);
}
