//! The channel port seen from outside: a kind without an adapter cannot be
//! created, and one generic hook route carries whatever its adapter's
//! protocol is (here the test adapter of `switchboard_channels::testing`:
//! a GET handshake answered with the challenge, a signed form POST and a
//! signed JSON POST, each answered in the adapter's own words), and a
//! channel that polls its provider instead keeps a cursor.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use reqwest::Method;
use serde_json::json;
use switchboard_channels::testing::{SIGNATURE_HEADER, TestAdapter};
use switchboard_core::ChannelKind;
use switchboard_testkit::client::reply_of;
use switchboard_testkit::fixtures::Org;
use switchboard_testkit::{TestApp, TestOptions, eventually};

#[tokio::test]
async fn kinds_without_an_adapter_are_refused_with_their_name() {
    // Every kind has its adapter today: take two away.
    let mut options = TestOptions::default();
    options.service.channels = switchboard_service::Registry::standard()
        .without(ChannelKind::X)
        .without(ChannelKind::Email);
    let app = TestApp::spawn_with(options).await;
    let org = Org::create(&app).await;
    for kind in ["x", "email"] {
        let r = org
            .admin
            .post(&org.path("/channels"), json!({"kind": kind, "name": "Line"}))
            .await;
        assert_eq!(
            (r.status.as_u16(), r.code()),
            (422, "invalid_input"),
            "{kind}: {:?}",
            r.body
        );
        assert_eq!(r.body["error"]["field"], "kind", "{kind}");
        let message = r.body["error"]["message"].as_str().unwrap();
        assert!(
            message.contains(kind) && message.contains("not available yet"),
            "{message}"
        );
    }
    let channels = org.admin.get(&org.path("/channels")).await;
    assert_eq!(
        channels["items"].as_array().unwrap().len(),
        1,
        "only the fixture's API channel"
    );
}

struct Raw {
    status: u16,
    content_type: String,
    body: String,
}

async fn raw(request: reqwest::RequestBuilder) -> Raw {
    let r = request.send().await.unwrap();
    Raw {
        status: r.status().as_u16(),
        content_type: r
            .headers()
            .get("content-type")
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_owned(),
        body: r.text().await.unwrap(),
    }
}

#[tokio::test]
async fn one_hook_route_takes_a_handshake_a_form_and_json() {
    let app = TestApp::spawn_with(TestOptions::default().with_stand_in(ChannelKind::Vk)).await;
    let org = Org::create(&app).await;
    let secret = "test-provider-secret-0123456789";
    let created = org
        .admin
        .post(
            &org.path("/channels"),
            json!({"kind": "vk", "name": "Test provider", "secret": secret, "default_team_id": org.team}),
        )
        .await;
    assert_eq!(created.status, 201, "{:?}", created.body);
    let channel = created["id"].as_str().unwrap().to_owned();
    let hook = app.url(&format!("/hooks/vk/{channel}"));
    let http = reqwest::Client::new();

    // The handshake: the adapter answers with the challenge as plain text.
    let r = raw(http.get(format!(
        "{hook}?hub.mode=subscribe&hub.verify_token={secret}&hub.challenge=1158201444"
    )))
    .await;
    assert_eq!((r.status, r.body.as_str()), (200, "1158201444"));
    assert!(r.content_type.starts_with("text/plain"), "{}", r.content_type);
    let wrong = reply_of(
        http.get(format!(
            "{hook}?hub.mode=subscribe&hub.verify_token=guess&hub.challenge=1"
        ))
        .send()
        .await
        .unwrap(),
    )
    .await;
    assert_eq!((wrong.status.as_u16(), wrong.code()), (401, "bad_signature"));

    // A signed form body.
    let form = b"id=f-1&from=cust-9&text=hello%20from%20a%20form".to_vec();
    let r = raw(http
        .post(&hook)
        .header("content-type", "application/x-www-form-urlencoded")
        .header(SIGNATURE_HEADER, TestAdapter::sign(secret, &form))
        .body(form.clone()))
    .await;
    assert_eq!((r.status, r.body.as_str()), (200, "stored 1"));

    // A signed JSON body from the same customer, sent twice.
    let body = serde_json::to_vec(&json!({"id": "j-1", "from": "cust-9", "text": "and JSON"})).unwrap();
    for _ in 0..2 {
        let r = raw(http
            .post(&hook)
            .header("content-type", "application/json")
            .header(SIGNATURE_HEADER, TestAdapter::sign(secret, &body))
            .body(body.clone()))
        .await;
        assert_eq!((r.status, r.body.as_str()), (200, "stored 1"));
    }

    // Unsigned and wrongly signed requests store nothing.
    let unsigned = reply_of(
        http.post(&hook)
            .header("content-type", "application/json")
            .body(body.clone())
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!((unsigned.status.as_u16(), unsigned.code()), (401, "missing_signature"));
    let forged = serde_json::to_vec(&json!({"id": "j-2", "from": "cust-9", "text": "forged"})).unwrap();
    let r = reply_of(
        http.post(&hook)
            .header("content-type", "application/json")
            .header(SIGNATURE_HEADER, TestAdapter::sign("another secret", &forged))
            .body(forged)
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!((r.status.as_u16(), r.code()), (401, "bad_signature"));

    // Both messages, once each, in one conversation of the channel.
    let list = org
        .admin
        .get(&org.path(&format!("/conversations?channel={channel}")))
        .await;
    let items = list["items"].as_array().unwrap();
    assert_eq!(items.len(), 1, "{list:?}");
    let conversation = items[0]["id"].as_str().unwrap();
    let messages = org
        .admin
        .get(&org.path(&format!("/conversations/{conversation}/messages")))
        .await;
    let texts: Vec<&str> = messages["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|m| m["direction"] == "in")
        .filter_map(|m| m["body"].as_str())
        .collect();
    assert_eq!(texts, vec!["hello from a form", "and JSON"]);

    // Another method on the same route, and a handshake on a channel whose
    // adapter has none.
    let r = org.admin.send(Method::PUT, &format!("/hooks/vk/{channel}"), None).await;
    assert_eq!((r.status.as_u16(), r.code()), (405, "method_not_allowed"));
    let r = org
        .admin
        .send(Method::GET, &format!("/hooks/api/{}", org.channel), None)
        .await;
    assert_eq!((r.status.as_u16(), r.code()), (405, "method_not_allowed"));
    // The hook of one kind does not answer for a channel of another.
    let r = raw(http.get(format!("{hook}?hub.mode=subscribe").replace("/vk/", "/api/"))).await;
    assert_eq!(r.status, 404);
}

/// A provider that is polled: `GET /?after=N` answers the events after the
/// N-th, and the new cursor; it records every query.
#[derive(Clone, Default)]
struct Updates {
    events: Arc<Mutex<Vec<(String, String, String)>>>,
    queries: Arc<Mutex<Vec<String>>>,
}

impl Updates {
    fn push(&self, id: &str, from: &str, text: &str) {
        self.events.lock().unwrap().push((id.into(), from.into(), text.into()));
    }

    fn queries(&self) -> Vec<String> {
        self.queries.lock().unwrap().clone()
    }

    async fn serve(&self) -> String {
        let state = self.clone();
        let app = axum::Router::new().route(
            "/",
            axum::routing::get(move |axum::extract::RawQuery(query): axum::extract::RawQuery| {
                let state = state.clone();
                async move {
                    let query = query.unwrap_or_default();
                    state.queries.lock().unwrap().push(query.clone());
                    let after: usize = query.strip_prefix("after=").and_then(|n| n.parse().ok()).unwrap_or(0);
                    let events = state.events.lock().unwrap().clone();
                    let new: Vec<_> = events
                        .iter()
                        .skip(after)
                        .map(|(id, from, text)| json!({"id": id, "from": from, "text": text}))
                        .collect();
                    axum::Json(json!({"events": new, "cursor": events.len().to_string()}))
                }
            }),
        );
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}/", listener.local_addr().unwrap());
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        url
    }
}

async fn inbound_texts(org: &Org, channel: &str) -> Vec<String> {
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

#[tokio::test]
async fn a_polling_channel_fetches_its_events_and_keeps_its_cursor() {
    let mut options = TestOptions::default().with_stand_in(ChannelKind::Telegram);
    options.service.poll_interval = Duration::from_millis(50);
    let app = TestApp::spawn_with(options).await;
    let org = Org::create(&app).await;
    let provider = Updates::default();
    provider.push("u1", "cust-7", "first");
    provider.push("u2", "cust-7", "second");
    let url = provider.serve().await;
    let created = org
        .admin
        .post(
            &org.path("/channels"),
            json!({"kind": "telegram", "name": "Polled", "callback_url": url, "default_team_id": org.team}),
        )
        .await;
    assert_eq!(created.status, 201, "{:?}", created.body);
    let channel = created["id"].as_str().unwrap().to_owned();

    eventually(Duration::from_secs(10), || async {
        (inbound_texts(&org, &channel).await == ["first", "second"]).then_some(())
    })
    .await;
    // The next polls start after what is stored.
    eventually(Duration::from_secs(10), || async {
        provider.queries().contains(&"after=2".to_owned()).then_some(())
    })
    .await;
    provider.push("u3", "cust-7", "third");
    eventually(Duration::from_secs(10), || async {
        (inbound_texts(&org, &channel).await == ["first", "second", "third"]).then_some(())
    })
    .await;
    eventually(Duration::from_secs(10), || async {
        provider.queries().contains(&"after=3".to_owned()).then_some(())
    })
    .await;
    assert_eq!(
        provider.queries().first().map(String::as_str),
        Some(""),
        "the first poll has no cursor"
    );

    // A deleted channel is polled no more.
    assert_eq!(
        org.admin
            .delete(&org.path(&format!("/channels/{channel}")))
            .await
            .status,
        204
    );
    tokio::time::sleep(Duration::from_millis(300)).await;
    let polls = provider.queries().len();
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(provider.queries().len(), polls);
}
