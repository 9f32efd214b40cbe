//! `llmock` (PyPI), an OpenAI-compatible server with scripted faults, as
//! the peer of the AI-assist tests: one server per test (its script and
//! request log are global to it), stopped when dropped.

use std::process::Stdio;
use std::time::Duration;

use serde_json::{Value, json};
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};

pub struct Llmock {
    child: Child,
    port: u16,
    http: reqwest::Client,
}

impl Llmock {
    /// Start `llmock serve` on a free port; `None` when it is not installed
    /// (never under `CI=true`, where `.ci/run` installs it).
    pub async fn start() -> Option<Llmock> {
        let spawned = Command::new("llmock")
            .args(["serve", "--host", "127.0.0.1", "--port", "0", "--tool-mode", "off"])
            .args(["--response-style", "static"])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .kill_on_drop(true)
            .spawn();
        let mut child = match spawned {
            Ok(child) => child,
            Err(e) => {
                assert_ne!(std::env::var("CI").as_deref(), Ok("true"), "CI needs llmock: {e}");
                eprintln!("llmock is not installed (pip install llmock); skipping");
                return None;
            }
        };
        let stderr = child.stderr.take().expect("llmock stderr");
        let mut lines = BufReader::new(stderr).lines();
        let port = tokio::time::timeout(Duration::from_secs(60), async {
            while let Ok(Some(line)) = lines.next_line().await {
                if let Some(rest) = line.split("http://127.0.0.1:").nth(1) {
                    let digits: String = rest.chars().take_while(char::is_ascii_digit).collect();
                    if let Ok(port) = digits.parse::<u16>() {
                        return Some(port);
                    }
                }
            }
            None
        })
        .await
        .ok()
        .flatten()
        .expect("llmock said where it listens");
        // Keep reading its log so the pipe never fills.
        tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
        let mock = Llmock {
            child,
            port,
            http: reqwest::Client::new(),
        };
        for _ in 0..200 {
            if mock
                .http
                .get(mock.at("/health"))
                .send()
                .await
                .is_ok_and(|r| r.status().is_success())
            {
                return Some(mock);
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("llmock did not become healthy");
    }

    fn at(&self, path: &str) -> String {
        format!("http://127.0.0.1:{}{path}", self.port)
    }

    /// The base URL to configure: `http://127.0.0.1:<port>/v1`.
    pub fn base_url(&self) -> String {
        self.at("/v1")
    }

    /// Queue behaviours (`reply`, `fail`, `stream_fault`, `delay`, …).
    pub async fn script(&self, behaviors: Value) {
        let r = self
            .http
            .post(self.at("/_llmock/scenario"))
            .json(&json!({ "behaviors": behaviors }))
            .send()
            .await
            .expect("llmock scenario");
        assert!(
            r.status().is_success(),
            "llmock refused the scenario: {}",
            r.text().await.unwrap_or_default()
        );
    }

    /// The chat-completions requests received, oldest first (bodies).
    pub async fn requests(&self) -> Vec<Value> {
        let v: Value = self
            .http
            .get(self.at("/_llmock/requests"))
            .send()
            .await
            .expect("llmock requests")
            .json()
            .await
            .expect("llmock requests JSON");
        v["requests"]
            .as_array()
            .cloned()
            .unwrap_or_default()
            .into_iter()
            .filter(|r| r["path"] == "/v1/chat/completions")
            .collect()
    }

    /// Forget the script and the recorded requests.
    pub async fn reset(&self) {
        let r = self
            .http
            .post(self.at("/_llmock/reset"))
            .send()
            .await
            .expect("llmock reset");
        assert!(r.status().is_success());
    }
}

impl Drop for Llmock {
    fn drop(&mut self) {
        let _ = self.child.start_kill();
    }
}
