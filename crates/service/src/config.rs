//! Settings of the service layer (the server maps its configuration file
//! and environment onto these).

use std::time::Duration;

/// Cost of password hashing (argon2id).
#[derive(Debug, Clone, Copy)]
pub struct Argon2Params {
    pub memory_kib: u32,
    pub iterations: u32,
    pub parallelism: u32,
}

impl Default for Argon2Params {
    /// OWASP's recommendation for argon2id: 19 MiB, 2 iterations, 1 lane.
    fn default() -> Self {
        Self {
            memory_kib: 19 * 1024,
            iterations: 2,
            parallelism: 1,
        }
    }
}

#[derive(Debug, Clone)]
pub struct ServiceConfig {
    pub argon2: Argon2Params,
    pub session_ttl: Duration,
    /// Login attempts per client address per 5 minutes.
    pub login_limit_per_ip: u32,
    /// Failed logins per account per 15 minutes.
    pub login_failures_per_account: u32,
    /// Allow outgoing HTTP to loopback, private and link-local addresses.
    pub allow_private_targets: bool,
    pub outbound_timeout: Duration,
    /// Whether this process runs the job worker.
    pub run_jobs: bool,
    pub job_poll_interval: Duration,
    pub job_lease: Duration,
    /// First retry delay; it doubles with each attempt.
    pub retry_base: Duration,
    pub retry_max: Duration,
    pub delivery_max_attempts: i64,
    /// What a customer writes to opt out of campaigns, and back in.
    pub opt_keywords: switchboard_core::campaign::OptKeywords,
    /// Most inbound messages committed in one transaction.
    pub ingest_batch_max: usize,
    /// Most events a client that reconnects with `since` is replayed; past
    /// that it is told to resync.
    pub event_replay: usize,
    /// How long the event log keeps events.
    pub event_log_keep: Duration,
    /// Write events to the log. Always on, except in the benchmark that
    /// measures what the log costs ingest: off, no event reaches a socket
    /// or a webhook. The server has no setting for it.
    pub event_log: bool,
    /// How far a live subscriber may fall behind before it is dropped.
    pub event_lag_limit: usize,
    /// After a user's last connection closes, how long until they are
    /// marked offline.
    pub presence_grace: Duration,
    /// Where attachment bytes are stored.
    pub attachment_storage: crate::library::StorageConfig,
    /// Upload limits of a workspace that has not set its own.
    pub attachment_limits: switchboard_core::AttachmentLimits,
    /// The most a workspace may set any of its upload limits to.
    pub attachment_max_bytes: u64,
    /// Widget sessions a client address may start per minute.
    pub visitor_sessions_per_ip: u32,
    /// Messages a widget visitor may send per minute.
    pub visitor_messages_per_visitor: u32,
    /// How often queues, expiry and offline agents' chats are checked.
    pub sweep_interval: Duration,
    /// How often WebSocket peers (agents, widget visitors) are pinged; one
    /// that sent nothing, not even a pong, for a whole interval is closed.
    pub ws_ping_interval: Duration,
    /// Where this server is reached from outside (links in outgoing
    /// messages, e.g. the files an API channel's receiver fetches).
    pub public_url: String,
    /// The channel adapters, by kind (tests add their own).
    pub channels: switchboard_channels::Registry,
    /// How long a polling channel waits after a poll that found nothing.
    pub poll_interval: Duration,
    /// How many jobs of each lane run at once on this node.
    pub job_lanes: crate::jobs::LaneSizes,
    /// Job kinds beyond Switchboard's own (tests).
    pub extra_jobs: Vec<crate::jobs::JobRegistration>,
    /// Seals secrets kept in the database (AI providers' API keys); none:
    /// such secrets cannot be saved.
    pub secret_key: Option<[u8; 32]>,
}

impl Default for ServiceConfig {
    fn default() -> Self {
        Self {
            argon2: Argon2Params::default(),
            session_ttl: Duration::from_secs(14 * 24 * 3600),
            login_limit_per_ip: 30,
            login_failures_per_account: 10,
            allow_private_targets: false,
            outbound_timeout: Duration::from_secs(15),
            run_jobs: true,
            job_poll_interval: Duration::from_millis(1000),
            job_lease: Duration::from_secs(60),
            retry_base: Duration::from_secs(10),
            retry_max: Duration::from_secs(3600),
            delivery_max_attempts: 8,
            opt_keywords: switchboard_core::campaign::OptKeywords::default(),
            ingest_batch_max: 512,
            event_replay: 10_000,
            event_log_keep: Duration::from_secs(24 * 3600),
            event_log: true,
            event_lag_limit: 256,
            presence_grace: Duration::from_secs(60),
            attachment_storage: crate::library::StorageConfig::default(),
            attachment_limits: switchboard_core::AttachmentLimits::default(),
            attachment_max_bytes: 100 * switchboard_core::AttachmentLimits::MB,
            visitor_sessions_per_ip: 60,
            visitor_messages_per_visitor: 30,
            sweep_interval: Duration::from_secs(60),
            ws_ping_interval: Duration::from_secs(20),
            public_url: "http://127.0.0.1:8080".into(),
            channels: switchboard_channels::Registry::standard(),
            job_lanes: crate::jobs::LaneSizes::default(),
            poll_interval: Duration::from_secs(5),
            extra_jobs: Vec::new(),
            secret_key: None,
        }
    }
}
