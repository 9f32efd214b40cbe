//! A real Chromium driven through chromedriver (Debian's `chromium` and
//! `chromium-driver`). Without them a browser test is skipped, except under
//! `CI=true`, where it fails.

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use fantoccini::{Client, ClientBuilder, Locator};

/// A headless browser session; the driver process ends with it.
pub struct Browser {
    pub client: Client,
    driver: Child,
    _profile: tempfile::TempDir,
    shots: PathBuf,
}

fn find(names: &[&str]) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .flat_map(|dir| names.iter().map(move |n| dir.join(n)))
        .find(|p| p.is_file())
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("free port")
}

impl Browser {
    /// Start a browser for the test `name`; screenshots go to
    /// `test-output/<name>/` at the workspace root. `None` when no browser
    /// is installed (never under `CI=true`).
    pub async fn start(name: &str) -> Option<Browser> {
        let (Some(driver_bin), Some(chromium)) = (find(&["chromedriver"]), find(&["chromium", "chromium-browser"]))
        else {
            assert_ne!(
                std::env::var("CI").as_deref(),
                Ok("true"),
                "chromium and chromedriver are required under CI=true"
            );
            eprintln!("chromium/chromedriver not installed; skipping the browser test {name}");
            return None;
        };
        let port = free_port();
        let driver = Command::new(driver_bin)
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start chromedriver");
        let profile = tempfile::tempdir().expect("profile dir");
        let caps = serde_json::json!({
            "browserName": "chrome",
            "goog:chromeOptions": {
                "binary": chromium,
                "args": [
                    "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                    "--disable-background-networking", "--disable-component-update", "--disable-sync",
                    "--disable-quic", "--no-first-run", "--window-size=1280,900",
                    format!("--user-data-dir={}", profile.path().display()),
                ]
            }
        });
        let caps = caps.as_object().cloned().expect("capabilities");
        let url = format!("http://127.0.0.1:{port}");
        let mut last_error = None;
        for _ in 0..100 {
            let mut builder = ClientBuilder::new(hyper_util::client::legacy::connect::HttpConnector::new());
            builder.capabilities(caps.clone());
            match builder.connect(&url).await {
                Ok(client) => {
                    let shots = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
                        .join("../../test-output")
                        .join(name);
                    std::fs::create_dir_all(&shots).expect("test-output folder");
                    return Some(Browser {
                        client,
                        driver,
                        _profile: profile,
                        shots,
                    });
                }
                Err(e) => last_error = Some(e),
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!("chromedriver did not start: {last_error:?}");
    }

    /// Save a PNG screenshot as `test-output/<test>/<name>.png`.
    pub async fn screenshot(&self, name: &str) -> PathBuf {
        let png = self.client.screenshot().await.expect("screenshot");
        let path = self.shots.join(format!("{name}.png"));
        std::fs::write(&path, png).expect("write screenshot");
        path
    }

    pub async fn fill(&self, css: &str, text: &str) {
        let field = self
            .client
            .find(Locator::Css(css))
            .await
            .unwrap_or_else(|e| panic!("{css}: {e}"));
        field.clear().await.expect("clear");
        field.send_keys(text).await.expect("type");
    }

    /// Run `op` on the element `css` matches; found again if a live update
    /// replaced it between finding and `op` (the element went stale).
    async fn on_element<T, F, Fut>(&self, css: &str, op: F) -> T
    where
        F: Fn(fantoccini::elements::Element) -> Fut,
        Fut: std::future::Future<Output = Result<T, fantoccini::error::CmdError>>,
    {
        for _ in 0..5 {
            let element = self
                .client
                .find(Locator::Css(css))
                .await
                .unwrap_or_else(|e| panic!("{css}: {e}"));
            match op(element).await {
                Err(fantoccini::error::CmdError::Standard(e))
                    if e.error == fantoccini::error::ErrorStatus::StaleElementReference =>
                {
                    tokio::time::sleep(Duration::from_millis(50)).await;
                }
                other => return other.unwrap_or_else(|e| panic!("{css}: {e}")),
            }
        }
        panic!("{css} kept being replaced");
    }

    pub async fn click(&self, css: &str) {
        self.on_element(css, |e| async move { e.click().await }).await
    }

    /// Click something that loads a new page, and wait until it has.
    pub async fn submit(&self, css: &str) {
        let old = self.client.find(Locator::Css("html")).await.expect("page");
        self.click(css).await;
        for _ in 0..100 {
            // The old document's element goes stale once the new page is in.
            if old.tag_name().await.is_err() {
                let _ = self.client.wait().for_element(Locator::Css("main")).await;
                return;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("clicking {css} did not load a new page");
    }

    pub async fn text(&self, css: &str) -> String {
        self.on_element(css, |e| async move { e.text().await }).await
    }

    pub async fn value(&self, css: &str) -> String {
        self.on_element(css, |e| async move { e.prop("value").await })
            .await
            .unwrap_or_default()
    }

    /// Wait until `css` matches an element whose text contains `needle`.
    pub async fn wait_for_text(&self, css: &str, needle: &str) -> String {
        for _ in 0..200 {
            if let Ok(elements) = self.client.find_all(Locator::Css(css)).await {
                for e in elements {
                    if let Ok(t) = e.text().await
                        && t.contains(needle)
                    {
                        return t;
                    }
                }
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("no {css} containing {needle:?} appeared");
    }

    /// Put `bytes` in a file named `*<suffix>` and choose it in the file
    /// input `css` (clearing an earlier choice). Keep the returned file
    /// until the page has uploaded it.
    pub async fn choose_file(&self, css: &str, suffix: &str, bytes: &[u8]) -> tempfile::NamedTempFile {
        let file = tempfile::Builder::new().suffix(suffix).tempfile().expect("temp file");
        std::fs::write(file.path(), bytes).expect("write temp file");
        let input = self
            .client
            .find(Locator::Css(css))
            .await
            .unwrap_or_else(|e| panic!("{css}: {e}"));
        input.clear().await.expect("clear the file input");
        input
            .send_keys(&file.path().display().to_string())
            .await
            .expect("choose file");
        file
    }

    /// Wait until an element matching `css` exists.
    pub async fn wait_for(&self, css: &str) {
        self.client
            .wait()
            .at_most(Duration::from_secs(15))
            .for_element(Locator::Css(css))
            .await
            .unwrap_or_else(|e| panic!("{css}: {e}"));
    }

    /// Sign in through the login page.
    pub async fn sign_in(&self, app: &crate::TestApp, email: &str, password: &str) {
        self.client.goto(&app.url("/login")).await.expect("login page");
        self.fill("#email", email).await;
        self.fill("#password", password).await;
        self.submit("button[type=submit]").await;
    }

    /// Run a script in the page and return its JSON result.
    pub async fn eval(&self, script: &str) -> serde_json::Value {
        self.client.execute(script, Vec::new()).await.expect("script")
    }

    pub async fn path(&self) -> String {
        self.client.current_url().await.expect("url").path().to_owned()
    }

    pub async fn close(mut self) {
        let _ = self.client.clone().close().await;
        let _ = self.driver.kill();
        let _ = self.driver.wait();
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        let _ = self.driver.kill();
    }
}

/// A shop's page on its own origin, embedding the widget with one script tag
/// (its `button` style tries to leak into the widget).
pub async fn host_page(app: &crate::TestApp, channel: &str) -> (String, tokio::task::JoinHandle<()>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let origin = format!("http://127.0.0.1:{}", listener.local_addr().unwrap().port());
    let html = format!(
        "<!doctype html><html><head><title>Shop</title><style>button {{ background: hotpink !important; }}</style></head>\
         <body><h1>Totally Real Shop</h1><p>Products…</p>\
         <script src=\"http://{}/widget.js\" data-channel=\"{channel}\" async></script></body></html>",
        app.addr
    );
    let app = axum::Router::new().route(
        "/",
        axum::routing::get(move || async move { axum::response::Html(html) }),
    );
    let server = tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    (origin, server)
}

/// Open the widget on the host page and enter its frame.
pub async fn open_widget(browser: &Browser) {
    browser.client.enter_parent_frame().await.ok();
    let host = browser
        .client
        .wait()
        .at_most(Duration::from_secs(10))
        .for_element(Locator::Css("[data-switchboard-widget]"))
        .await
        .unwrap();
    let shadow = host.shadow_root().await.expect("the widget lives in a shadow root");
    shadow
        .find(Locator::Css(".launcher"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    let frame = shadow.find(Locator::Css("iframe")).await.unwrap();
    frame.enter_frame().await.unwrap();
    browser
        .client
        .wait()
        .at_most(Duration::from_secs(10))
        .for_element(Locator::Css("#text"))
        .await
        .unwrap();
}
