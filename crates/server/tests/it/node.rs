//! Real `switchboard` processes for the tests of this binary: a data
//! folder and database of their own, started with `serve` on a free port,
//! ready when `/readyz` answers, killed with SIGKILL when dropped.

use std::fs::File;
use std::net::{SocketAddr, TcpListener};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use switchboard_testkit::{Backend, TestDb};

pub(crate) const ADMIN_EMAIL: &str = "kill@acme.test";
pub(crate) const ADMIN_PASSWORD: &str = "kill test password 1";

/// Where the server keeps its state: the data folder (SQLite file and
/// attachments) and, on PostgreSQL, a schema of its own.
pub(crate) struct Target {
    pub(crate) db: TestDb,
    pub(crate) data_dir: PathBuf,
    logs: tempfile::TempDir,
    _data: Option<tempfile::TempDir>,
}

impl Target {
    pub(crate) async fn new() -> Target {
        let db = TestDb::for_backend(Backend::selected()).await;
        let (data_dir, data) = match db.sqlite_dir() {
            Some(dir) => (dir.to_path_buf(), None),
            None => {
                let dir = tempfile::tempdir().expect("data dir");
                (dir.path().to_path_buf(), Some(dir))
            }
        };
        Target {
            db,
            data_dir,
            logs: tempfile::tempdir().expect("log dir"),
            _data: data,
        }
    }

    /// `switchboard <args…> --data-dir … [--database-url …]`.
    pub(crate) fn command(&self, args: &[&str]) -> Command {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_switchboard"));
        cmd.args(args).arg("--data-dir").arg(&self.data_dir);
        if self.db.backend() == Backend::Postgres {
            cmd.arg("--database-url").arg(self.db.url());
        }
        for var in [
            "SWITCHBOARD_CONFIG",
            "SWITCHBOARD_DATABASE_URL",
            "SWITCHBOARD_PUBLIC_URL",
            "SWITCHBOARD_LISTEN",
        ] {
            cmd.env_remove(var);
        }
        cmd.env("SWITCHBOARD_ALLOW_PRIVATE_TARGETS", "true")
            .env("SWITCHBOARD_LOG", "warn");
        cmd
    }

    pub(crate) fn log_path(&self, name: &str) -> PathBuf {
        self.logs.path().join(name)
    }
}

/// A running server process; killed (SIGKILL) when dropped, so a failing
/// test leaves nothing behind.
pub(crate) struct Server {
    child: Child,
    pub(crate) addr: SocketAddr,
    stderr: PathBuf,
}

impl Server {
    pub(crate) async fn start(target: &Target, name: &str) -> Server {
        let addr = SocketAddr::from(([127, 0, 0, 1], free_port()));
        let stdout = target.log_path(&format!("{name}.out"));
        let stderr = target.log_path(&format!("{name}.err"));
        let child = target
            .command(&["serve", "--listen", &addr.to_string()])
            .stdin(Stdio::null())
            .stdout(File::create(&stdout).expect("stdout file"))
            .stderr(File::create(&stderr).expect("stderr file"))
            .spawn()
            .expect("start switchboard serve");
        let mut server = Server { child, addr, stderr };
        server.wait_ready().await;
        server
    }

    pub(crate) fn url(&self, path: &str) -> String {
        format!("http://{}{}", self.addr, path)
    }

    pub(crate) fn log(&self) -> String {
        std::fs::read_to_string(&self.stderr).unwrap_or_default()
    }

    /// Poll `/readyz` until it answers 200; fail if the process exits.
    async fn wait_ready(&mut self) {
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(2))
            .build()
            .expect("client");
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            if let Some(status) = self.child.try_wait().expect("try_wait") {
                panic!("switchboard exited before it was ready ({status}):\n{}", self.log());
            }
            if let Ok(r) = http.get(self.url("/readyz")).send().await
                && r.status().is_success()
            {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "switchboard not ready within 60 s:\n{}",
                self.log()
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// SIGKILL, then reap the process.
    pub(crate) fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.kill();
    }
}

pub(crate) fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .expect("bind")
        .local_addr()
        .expect("addr")
        .port()
}

/// `switchboard admin create`: the workspace's id.
pub(crate) fn create_admin(target: &Target) -> String {
    let out = target
        .command(&[
            "admin",
            "create",
            "--workspace",
            "Kill Test",
            "--email",
            ADMIN_EMAIL,
            "--name",
            "Kim Kill",
        ])
        .env("SWITCHBOARD_ADMIN_PASSWORD", ADMIN_PASSWORD)
        .stdin(Stdio::null())
        .output()
        .expect("run switchboard admin create");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "admin create failed: {stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // "created workspace <id> with admin <id> (<email>); …"
    stdout
        .split_whitespace()
        .skip_while(|w| *w != "workspace")
        .nth(1)
        .unwrap_or_else(|| panic!("no workspace id in {stdout:?}"))
        .to_owned()
}

/// Sign in and create an API channel: its id and secret.
pub(crate) async fn create_channel(server: &Server, ws: &str) -> (String, String) {
    let http = reqwest::Client::builder().cookie_store(true).build().expect("client");
    let login = http
        .post(server.url("/api/v1/auth/login"))
        .json(&json!({"email": ADMIN_EMAIL, "password": ADMIN_PASSWORD}))
        .send()
        .await
        .expect("login request");
    assert_eq!(login.status(), 200, "login failed");
    let login: Value = login.json().await.expect("login body");
    let csrf = login["csrf_token"].as_str().expect("csrf_token").to_owned();
    let created = http
        .post(server.url(&format!("/api/v1/workspaces/{ws}/channels")))
        .header("x-csrf-token", csrf)
        .json(&json!({"kind": "api", "name": "Kill test"}))
        .send()
        .await
        .expect("create channel request");
    assert_eq!(created.status(), 201, "channel not created");
    let created: Value = created.json().await.expect("channel body");
    (
        created["id"].as_str().expect("channel id").to_owned(),
        created["secret"].as_str().expect("secret").to_owned(),
    )
}

#[derive(Debug)]
pub(crate) enum Sent {
    /// 2xx: the server's message id and whether it said duplicate.
    Ack { message_id: String, duplicate: bool },
    /// Any other answer.
    Status(u16, String),
    /// No answer (connection refused, reset, cut short).
    Failed(String),
}

pub(crate) async fn post_hook(http: &reqwest::Client, url: &str, secret: &str, body: Vec<u8>) -> Sent {
    let signature = switchboard_channels::api::sign(secret, &body);
    let response = http
        .post(url)
        .header("content-type", "application/json")
        .header(switchboard_channels::api::SIGNATURE_HEADER, signature)
        .body(body)
        .send()
        .await;
    let response = match response {
        Ok(r) => r,
        Err(e) => return Sent::Failed(e.to_string()),
    };
    let status = response.status();
    let bytes = match response.bytes().await {
        Ok(b) => b,
        Err(e) => return Sent::Failed(e.to_string()),
    };
    if !status.is_success() {
        return Sent::Status(status.as_u16(), String::from_utf8_lossy(&bytes).into_owned());
    }
    match serde_json::from_slice::<Value>(&bytes) {
        Ok(v) if v["message_id"].is_string() => Sent::Ack {
            message_id: v["message_id"].as_str().unwrap_or_default().to_owned(),
            duplicate: v["duplicate"].as_bool().unwrap_or(false),
        },
        _ => Sent::Status(status.as_u16(), String::from_utf8_lossy(&bytes).into_owned()),
    }
}
