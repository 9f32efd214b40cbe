//! Test helpers: a real Switchboard server on port 0 with a fresh database
//! (a SQLite file, or a PostgreSQL schema of its own), signed-in API
//! clients, and local peers that speak the providers' protocols.
//!
//! The backend comes from `SWITCHBOARD_TEST_DB` (`sqlite`, the default, or
//! `postgres`); PostgreSQL is reached at `SWITCHBOARD_TEST_PG_URL`
//! (default `postgres://postgres@127.0.0.1:5432/test`).

pub mod archive;
pub mod bench;
pub mod browser;
pub mod callback;
pub mod channel_view;
pub mod client;
pub mod db;
pub mod events;
pub mod fixtures;
pub mod graph;
pub mod llmock;
pub mod mail;
pub mod media;
pub mod messenger;
pub mod telegram;
pub mod twilio;
pub mod vk;
pub mod webhook_receiver;
pub mod x;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use switchboard_core::Millis;
use switchboard_service::{Argon2Params, Clock, ManualClock, ServiceConfig, Services, SystemClock};
use switchboard_store::{Store, StoreOptions};
use switchboard_web::{AppState, WebConfig};
use tokio::sync::oneshot;

pub use callback::CallbackServer;
pub use client::ApiClient;
pub use db::{Backend, TestDb};
pub use webhook_receiver::WebhookReceiver;

/// Cheap password hashing: tests check behaviour, not hash cost.
pub fn fast_argon2() -> Argon2Params {
    Argon2Params {
        memory_kib: 1024,
        iterations: 1,
        parallelism: 1,
    }
}

/// How to start a test server.
#[derive(Clone)]
pub struct TestOptions {
    pub allow_private_targets: bool,
    pub body_limit: usize,
    /// `Some`: the server's clock moves only when the test says so.
    pub manual_clock: Option<Arc<ManualClock>>,
    pub service: ServiceConfig,
    /// Take client addresses from `X-Forwarded-For` (to act as many clients).
    pub trust_forwarded_for: bool,
}

impl TestOptions {
    /// Serve `kind` with the test adapter of `switchboard_channels::testing`
    /// (a made-up provider: handshake, form and JSON hooks; it never sends),
    /// so a test can make channels of a kind whose real adapter is not
    /// there yet.
    pub fn with_stand_in(mut self, kind: switchboard_core::ChannelKind) -> Self {
        let adapter = Arc::new(switchboard_channels::testing::TestAdapter::new(kind));
        self.service.channels = self.service.channels.clone().with(adapter);
        self
    }
}

impl Default for TestOptions {
    fn default() -> Self {
        Self {
            allow_private_targets: true,
            body_limit: 64 * 1024,
            manual_clock: None,
            trust_forwarded_for: false,
            service: ServiceConfig {
                argon2: fast_argon2(),
                allow_private_targets: true,
                job_poll_interval: Duration::from_millis(50),
                retry_base: Duration::from_millis(50),
                retry_max: Duration::from_millis(400),
                secret_key: Some(rand::random()),
                ..ServiceConfig::default()
            },
        }
    }
}

/// A running server.
pub struct TestApp {
    pub addr: SocketAddr,
    pub services: Services,
    pub db: TestDb,
    /// The attachments folder (unless the test chose another storage).
    pub attachments: Arc<tempfile::TempDir>,
    shutdown: Option<oneshot::Sender<()>>,
    server: Option<tokio::task::JoinHandle<()>>,
}

impl TestApp {
    /// Run `sql` (one or more statements) in a transaction of the app's
    /// store, behind the service's back: for tests that must set up what
    /// no API can, such as a database from before a migration.
    pub async fn execute_raw(&self, sql: &str) {
        let mut tx = self.services.store().begin().await.expect("begin");
        match &mut tx.conn {
            switchboard_store::TxConn::Sqlite(t, _) => sqlx::raw_sql(sql).execute(&mut **t).await.map(drop),
            switchboard_store::TxConn::Postgres(t) => sqlx::raw_sql(sql).execute(&mut **t).await.map(drop),
        }
        .expect("raw SQL");
        tx.commit().await.expect("commit");
    }

    pub async fn spawn() -> TestApp {
        Self::spawn_with(TestOptions::default()).await
    }

    pub async fn spawn_with(options: TestOptions) -> TestApp {
        let db = TestDb::new().await;
        Self::spawn_on(db, options).await
    }

    /// Start a server on an existing database (e.g. after a restart).
    pub async fn spawn_on(db: TestDb, options: TestOptions) -> TestApp {
        let url = db.url();
        Self::spawn_at(&url, db, options).await
    }

    /// A second server on this one's database: another node of a cluster.
    pub async fn another_node(&self, options: TestOptions) -> TestApp {
        Self::spawn_at(&self.db.url(), TestDb::Detached, options).await
    }

    async fn spawn_at(url: &str, db: TestDb, options: TestOptions) -> TestApp {
        let store = Store::connect(&StoreOptions::new(url))
            .await
            .expect("connect to the test database");
        store.migrate().await.expect("migrate");
        let clock: Arc<dyn Clock> = match &options.manual_clock {
            Some(c) => c.clone(),
            None => Arc::new(SystemClock),
        };
        let mut service = options.service.clone();
        service.allow_private_targets = options.allow_private_targets;
        let attachments = Arc::new(tempfile::tempdir().expect("attachments folder"));
        if matches!(service.attachment_storage, switchboard_service::StorageConfig::Memory) {
            service.attachment_storage = switchboard_service::StorageConfig::Local {
                dir: attachments.path().to_path_buf(),
            };
        }
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let addr = listener.local_addr().expect("addr");
        service.public_url = format!("http://{addr}");
        let services = Services::start(store, service, clock).expect("start services");
        let state = AppState {
            services: services.clone(),
            web: WebConfig {
                body_limit: options.body_limit,
                trust_forwarded_for: options.trust_forwarded_for,
                ..WebConfig::default()
            },
        };
        let (tx, rx) = oneshot::channel::<()>();
        let server = tokio::spawn(async move {
            let _ = switchboard_web::serve(listener, state, async {
                let _ = rx.await;
            })
            .await;
        });
        TestApp {
            addr,
            services,
            db,
            attachments,
            shutdown: Some(tx),
            server: Some(server),
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://{}{}", self.addr, path)
    }

    /// Stop serving and hand back the database (to start again on it).
    pub async fn stop(mut self) -> TestDb {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        if let Some(server) = self.server.take() {
            let _ = server.await;
        }
        self.services.store().close().await;
        std::mem::replace(&mut self.db, TestDb::Detached)
    }

    /// First-run setup through the API of the service (the page test drives
    /// the form): returns a signed-in admin client and the workspace.
    pub async fn admin(&self) -> (ApiClient, switchboard_core::WorkspaceId) {
        let token = self
            .services
            .prepare_setup()
            .await
            .expect("setup")
            .expect("empty database");
        let (ws, _) = self
            .services
            .complete_setup(&token, "Acme Support", "Ada Admin", "ada@acme.test", "admin password 1")
            .await
            .expect("complete setup");
        let client = ApiClient::login(self, "ada@acme.test", "admin password 1").await;
        (client, ws)
    }

    /// A second workspace with its own admin (for isolation tests).
    pub async fn other_workspace(&self, email: &str) -> (ApiClient, switchboard_core::WorkspaceId) {
        let (ws, _) = self
            .services
            .create_workspace_with_admin("Other Co", "Olga Other", email, "other password 1", false)
            .await
            .expect("create workspace");
        (ApiClient::login(self, email, "other password 1").await, ws)
    }
}

impl Drop for TestApp {
    fn drop(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
    }
}

/// A fixed instant for tests on a manual clock: 2026-01-05 09:00 UTC.
pub const MONDAY_9AM: Millis = Millis(1_767_603_600_000);

/// Poll `check` until it returns `Some`, or fail after `timeout`.
pub async fn eventually<T, F, Fut>(timeout: Duration, mut check: F) -> T
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Option<T>>,
{
    let deadline = tokio::time::Instant::now() + timeout;
    loop {
        if let Some(v) = check().await {
            return v;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "condition not met within {timeout:?}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// A host name (not an address literal, not `localhost`) that resolves only
/// to loopback on this machine, if there is one: to check that targets are
/// refused when they resolve, not only when they are written as addresses.
pub async fn loopback_name() -> Option<String> {
    let mut names = vec!["ip6-localhost".to_owned(), "ip6-loopback".to_owned()];
    if let Ok(h) = std::fs::read_to_string("/etc/hostname") {
        names.insert(0, h.trim().to_owned());
    }
    for name in names
        .into_iter()
        .filter(|n| !n.is_empty() && n != "localhost" && !n.ends_with(".localhost"))
    {
        let Ok(addrs) = tokio::net::lookup_host((name.as_str(), 0)).await else {
            continue;
        };
        let addrs: Vec<_> = addrs.collect();
        if !addrs.is_empty() && addrs.iter().all(|a| a.ip().is_loopback()) {
            return Some(name);
        }
    }
    None
}
