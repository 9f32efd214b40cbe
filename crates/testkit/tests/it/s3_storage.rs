//! Attachments in an S3-compatible bucket: a local S3 server (moto's, from
//! PyPI, speaking the S3 REST protocol) stands in for AWS or MinIO. Uploads
//! stream into the bucket (a file over the 5 MiB part size goes up in
//! several multipart parts), are stored once per content, and download
//! byte for byte; an image's preview is stored beside it. Without `moto_server` the test is skipped, except under
//! `CI=true`, where `.ci/run` installs it.

use std::process::{Child, Command, Stdio};
use std::time::Duration;

use reqwest::Method;
use serde_json::Value;
use switchboard_service::StorageConfig;
use switchboard_testkit::fixtures::Org;
use switchboard_testkit::media::png;
use switchboard_testkit::{TestApp, TestOptions};

const BUCKET: &str = "switchboard-attachments";

struct S3Server {
    child: Child,
    url: String,
}

impl Drop for S3Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

async fn start_s3() -> Option<S3Server> {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("free port")
        .port();
    let child = match Command::new("moto_server")
        .args(["-H", "127.0.0.1", "-p", &port.to_string()])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
    {
        Ok(child) => child,
        Err(e) => {
            assert_ne!(
                std::env::var("CI").as_deref(),
                Ok("true"),
                "moto_server is required under CI=true: {e}"
            );
            eprintln!("moto_server not installed ({e}); skipping the S3 storage test");
            return None;
        }
    };
    let server = S3Server {
        child,
        url: format!("http://127.0.0.1:{port}"),
    };
    let http = reqwest::Client::new();
    for _ in 0..200 {
        if http.get(&server.url).send().await.is_ok() {
            let created = http
                .put(format!("{}/{BUCKET}", server.url))
                .send()
                .await
                .expect("create bucket");
            assert!(created.status().is_success(), "create bucket: {}", created.status());
            return Some(server);
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("moto_server did not start");
}

/// Keys of the objects in the bucket (S3 ListObjectsV2).
async fn keys(server: &S3Server) -> Vec<String> {
    let xml = reqwest::get(format!("{}/{BUCKET}?list-type=2", server.url))
        .await
        .expect("list")
        .text()
        .await
        .expect("list body");
    xml.split("<Key>")
        .skip(1)
        .filter_map(|s| s.split("</Key>").next())
        .map(str::to_owned)
        .collect()
}

#[tokio::test]
async fn attachments_live_in_an_s3_bucket() {
    let Some(s3) = start_s3().await else {
        return;
    };
    let mut options = TestOptions::default();
    options.service.attachment_storage = StorageConfig::S3 {
        bucket: BUCKET.into(),
        endpoint: Some(s3.url.clone()),
        region: Some("us-east-1".into()),
        credentials: Some(("testing".into(), "testing".into())),
    };
    let app = TestApp::spawn_with(options).await;
    let org = Org::create(&app).await;
    let hook = org.customer_says(&app, "m-1", "carla", "here are the documents").await;
    let conversation = hook["conversation_id"].as_str().unwrap().to_owned();
    let upload = |name: &str, mime: &str, bytes: Vec<u8>| {
        let path = org.path(&format!("/conversations/{conversation}/attachments?filename={name}"));
        let (admin, mime) = (org.admin.clone(), mime.to_owned());
        async move {
            let r = admin.send_raw(Method::POST, &path, Some(&mime), bytes).await;
            assert_eq!(r.status, 201, "{:?}", r.body);
            r.body["attachments"][0].clone()
        }
    };
    let download = |a: &Value| {
        let url = format!("{}{}?download=true", org.admin.base, a["url"].as_str().unwrap());
        let http = org.admin.http.clone();
        async move {
            let r = http.get(url).send().await.expect("download");
            assert_eq!(r.status(), 200);
            r.bytes().await.expect("bytes").to_vec()
        }
    };

    // A small image, and a 12 MB document that goes up in several parts.
    let image = png(20, 20, 3);
    let mut document = b"%PDF-1.4\n".to_vec();
    document.extend((0..12 * 1024 * 1024).map(|i| (i % 251) as u8));
    let a = upload("logo.png", "image/png", image.clone()).await;
    let b = upload("contract.pdf", "application/pdf", document.clone()).await;
    assert_eq!(download(&a).await, image);
    assert_eq!(
        download(&b).await,
        document,
        "the multipart upload reassembles byte for byte"
    );

    // The image's preview comes from the bucket too.
    let preview = org
        .admin
        .http
        .get(format!("{}{}", org.admin.base, a["preview_url"].as_str().unwrap()))
        .send()
        .await
        .expect("preview");
    assert_eq!(preview.status(), 200);
    assert_eq!(preview.headers()["content-type"], "image/jpeg");
    let preview = preview.bytes().await.expect("bytes");
    let preview_sha: String = sha2::Digest::finalize(<sha2::Sha256 as sha2::Digest>::new_with_prefix(&preview))
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();

    // Stored under content addresses, once per content, no temporary objects left.
    let key = |v: &Value| switchboard_service::storage_key(v["sha256"].as_str().unwrap());
    let again = upload("logo-copy.png", "image/png", image.clone()).await;
    let mut stored = keys(&s3).await;
    stored.sort();
    let mut expected = vec![key(&a), key(&b), switchboard_service::storage_key(&preview_sha)];
    expected.sort();
    assert_eq!(stored, expected);
    assert_eq!(key(&again), key(&a));
    assert_eq!(download(&again).await, image);

    // Over the limit: 413, and nothing is left in the bucket.
    let mut big = png(8, 8, 1);
    big.resize(6 * 1024 * 1024, 0);
    let r = org
        .admin
        .send_raw(
            Method::POST,
            &org.path(&format!("/conversations/{conversation}/attachments?filename=big.png")),
            Some("image/png"),
            big,
        )
        .await;
    assert_eq!(r.status, 413, "{:?}", r.body);
    assert_eq!(keys(&s3).await.len(), 3);
}
