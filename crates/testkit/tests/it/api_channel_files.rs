//! The API channel takes files from the customer: each `attachments[].url`
//! is fetched (through the private-address guard, within the workspace's
//! limits) before the message is stored, and the message becomes a media
//! message with its text as the caption. A retry fetches nothing again; a
//! file that cannot be fetched stores nothing.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use axum::Router;
use axum::http::{StatusCode, header};
use axum::routing::get;
use serde_json::{Value, json};
use switchboard_testkit::client::{Reply, post_hook};
use switchboard_testkit::events::EventStream;
use switchboard_testkit::fixtures::Org;
use switchboard_testkit::media::png;
use switchboard_testkit::{TestApp, TestOptions};

/// A customer's file server: a photo, a page, a big file, one that is gone
/// and one that fails; it counts the photo's downloads.
struct FileServer {
    base: String,
    photo: Vec<u8>,
    photo_hits: Arc<AtomicUsize>,
}

async fn file_server() -> FileServer {
    let photo = png(40, 30, 0);
    let photo_hits = Arc::new(AtomicUsize::new(0));
    let (served, hits) = (photo.clone(), photo_hits.clone());
    let big = png(8, 8, 6 * 1024 * 1024);
    let app = Router::new()
        .route(
            "/files/photo.png",
            get(move || {
                hits.fetch_add(1, Ordering::SeqCst);
                let body = served.clone();
                async move { ([(header::CONTENT_TYPE, "image/png")], body) }
            }),
        )
        .route(
            "/files/page.html",
            get(|| async { ([(header::CONTENT_TYPE, "text/html")], "<html><script>x</script></html>") }),
        )
        .route(
            "/files/big.png",
            get(move || {
                let body = big.clone();
                async move { body }
            }),
        )
        .route("/files/gone.png", get(|| async { StatusCode::NOT_FOUND }))
        .route("/files/busy.png", get(|| async { StatusCode::SERVICE_UNAVAILABLE }));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    FileServer {
        base,
        photo,
        photo_hits,
    }
}

fn message(id: &str, text: Option<&str>, urls: &[String]) -> Value {
    let mut body = json!({
        "message_id": id,
        "contact": {"id": "cust-files", "name": "Fay"},
        "attachments": urls.iter().map(|u| json!({"url": u})).collect::<Vec<_>>(),
    });
    if let Some(text) = text {
        body["text"] = text.into();
    }
    body
}

async fn send(app: &TestApp, org: &Org, body: &Value) -> Reply {
    post_hook(app, &org.channel, &org.secret, body).await
}

async fn customer_messages(org: &Org, conversation: &str) -> Vec<Value> {
    let r = org
        .admin
        .get(&org.path(&format!("/conversations/{conversation}/messages?limit=200")))
        .await;
    r["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|m| m["direction"] == "in")
        .cloned()
        .collect()
}

fn assert_error(r: &Reply, status: u16, code: &str) {
    assert_eq!((r.status.as_u16(), r.code()), (status, code), "{:?}", r.body);
}

#[tokio::test]
async fn a_customers_file_is_fetched_and_stored_with_the_message() {
    let app = TestApp::spawn().await;
    let org = Org::create(&app).await;
    let files = file_server().await;
    let photo = format!("{}/files/photo.png", files.base);
    let mut events = EventStream::connect(&app, &org.admin, &org.ws, None)
        .await
        .expect("event stream");

    let r = send(
        &app,
        &org,
        &message("f-1", Some("my receipt"), std::slice::from_ref(&photo)),
    )
    .await;
    assert_eq!(r.status, 200, "{:?}", r.body);
    assert_eq!(r["duplicate"], false);
    let conversation = r["conversation_id"].as_str().unwrap().to_owned();
    let stored = customer_messages(&org, &conversation).await;
    assert_eq!(stored.len(), 1);
    let m = &stored[0];
    assert_eq!(
        (m["kind"].as_str(), m["body"].as_str()),
        (Some("media"), Some("my receipt"))
    );
    let attachment = &m["attachments"][0];
    assert_eq!(attachment["filename"], "photo.png");
    assert_eq!(attachment["mime"], "image/png");
    assert_eq!(attachment["size"], files.photo.len());
    let url = attachment["url"].as_str().unwrap();
    let bytes = org
        .admin
        .http
        .get(format!("{}{url}", org.admin.base))
        .send()
        .await
        .unwrap()
        .bytes()
        .await
        .unwrap();
    assert_eq!(
        bytes.as_ref(),
        files.photo.as_slice(),
        "the file as the customer's server served it"
    );
    // Published with its file, as the message list shows it.
    let event = loop {
        let event = events
            .next_of("message.created", Duration::from_secs(5))
            .await
            .expect("message.created");
        // Activity lines of the new chat come first.
        if event["data"]["id"] == m["id"] {
            break event;
        }
    };
    assert_eq!(event["data"]["attachments"][0]["id"], attachment["id"]);

    // The provider retries: the same message, not fetched again.
    let again = send(
        &app,
        &org,
        &message("f-1", Some("my receipt"), std::slice::from_ref(&photo)),
    )
    .await;
    assert_eq!((again.status.as_u16(), &again["duplicate"]), (200, &json!(true)));
    assert_eq!(files.photo_hits.load(Ordering::SeqCst), 1);

    // Files alone, without text.
    let r = send(&app, &org, &message("f-2", None, &[photo.clone(), photo.clone()])).await;
    assert_eq!(r.status, 200, "{:?}", r.body);
    let stored = customer_messages(&org, &conversation).await;
    let last = stored.last().unwrap();
    assert_eq!((last["kind"].as_str(), &last["body"]), (Some("media"), &Value::Null));
    assert_eq!(last["attachments"].as_array().unwrap().len(), 2);
}

#[tokio::test]
async fn a_file_that_cannot_be_fetched_or_kept_stores_nothing() {
    let app = TestApp::spawn().await;
    let org = Org::create(&app).await;
    let files = file_server().await;
    let url = |name: &str| format!("{}/files/{name}", files.base);
    let cases = [
        ("gone.png", 422, "bad_payload"),
        ("busy.png", 502, "upstream_failed"),
        ("page.html", 422, "unsupported_type"),
        ("big.png", 413, "payload_too_large"),
    ];
    for (n, (name, status, code)) in cases.into_iter().enumerate() {
        let r = send(
            &app,
            &org,
            &message(&format!("bad-{n}"), Some("see file"), &[url(name)]),
        )
        .await;
        assert_error(&r, status, code);
    }
    for bad in [
        json!([{"url": "ftp://example.com/x.png"}]),
        json!([{"url": "not a url"}]),
        json!([{"path": "/x"}]),
    ] {
        let mut body = message("bad-shape", Some("see file"), &[]);
        body["attachments"] = bad;
        assert_error(&send(&app, &org, &body).await, 422, "bad_payload");
    }
    let conversations = org.admin.get(&org.path("/conversations")).await;
    assert_eq!(conversations["items"], json!([]), "nothing was stored");
}

#[tokio::test]
async fn a_file_on_a_private_address_is_refused() {
    let options = TestOptions {
        allow_private_targets: false,
        ..TestOptions::default()
    };
    let app = TestApp::spawn_with(options).await;
    let org = Org::create(&app).await;
    let files = file_server().await;
    for url in [
        format!("{}/files/photo.png", files.base),
        "http://localhost:9/x.png".to_owned(),
    ] {
        let r = send(&app, &org, &message("private", Some("see file"), &[url])).await;
        assert_error(&r, 422, "bad_payload");
        assert!(
            r.body["error"]["message"].as_str().unwrap().contains("private"),
            "{:?}",
            r.body
        );
    }
    assert_eq!(files.photo_hits.load(Ordering::SeqCst), 0);
}
