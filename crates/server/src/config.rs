//! Configuration: built-in defaults, then a TOML file, then `SWITCHBOARD_*`
//! environment variables and command-line flags (the later wins).

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::Context;
use clap::Args;
use serde::Deserialize;

/// Settings shared by every sub-command. Each flag also reads the
/// environment variable named beside it, and the config file's key of the
/// same name (without the prefix, lower case).
#[derive(Debug, Clone, Default, Args)]
pub struct ConfigArgs {
    /// TOML configuration file.
    #[arg(long, global = true, env = "SWITCHBOARD_CONFIG")]
    pub config: Option<PathBuf>,
    /// Address to listen on [default: 127.0.0.1:8080].
    #[arg(long, global = true, env = "SWITCHBOARD_LISTEN")]
    pub listen: Option<SocketAddr>,
    /// Folder for the SQLite database and attachments [default: ./data].
    #[arg(long, global = true, env = "SWITCHBOARD_DATA_DIR")]
    pub data_dir: Option<PathBuf>,
    /// `sqlite://…` or `postgres://…` [default: sqlite in the data folder].
    #[arg(long, global = true, env = "SWITCHBOARD_DATABASE_URL")]
    pub database_url: Option<String>,
    /// The address users reach the server at, e.g. https://support.example.com
    /// [default: http://<listen>]. With https, cookies are marked Secure.
    #[arg(long, global = true, env = "SWITCHBOARD_PUBLIC_URL")]
    pub public_url: Option<String>,
}

/// The configuration file's shape.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileConfig {
    listen: Option<SocketAddr>,
    data_dir: Option<PathBuf>,
    database_url: Option<String>,
    public_url: Option<String>,
    trust_forwarded_for: Option<bool>,
    body_limit_bytes: Option<usize>,
    allow_private_targets: Option<bool>,
    sqlite_synchronous: Option<String>,
    db_max_connections: Option<u32>,
    session_ttl_hours: Option<u64>,
    job_poll_ms: Option<u64>,
    job_lanes: Option<String>,
    whatsapp_graph_url: Option<String>,
    whatsapp_graph_version: Option<String>,
    telegram_api_url: Option<String>,
    twilio_api_url: Option<String>,
    vk_api_url: Option<String>,
    x_api_url: Option<String>,
    mail_ca_file: Option<PathBuf>,
    poll_interval_ms: Option<u64>,
    opt_out_keywords: Option<String>,
    opt_in_keywords: Option<String>,
    retry_base_ms: Option<u64>,
    delivery_max_attempts: Option<i64>,
    presence_grace_secs: Option<u64>,
    event_log_keep_hours: Option<u64>,
    ws_ping_secs: Option<u64>,
    sweep_interval_secs: Option<u64>,
    log: Option<String>,
    attachments_dir: Option<PathBuf>,
    s3_bucket: Option<String>,
    s3_endpoint: Option<String>,
    s3_region: Option<String>,
}

/// The resolved configuration.
#[derive(Debug, Clone)]
pub struct Config {
    pub listen: SocketAddr,
    pub data_dir: PathBuf,
    pub database_url: String,
    pub public_url: String,
    pub trust_forwarded_for: bool,
    pub body_limit_bytes: usize,
    pub allow_private_targets: bool,
    pub sqlite_synchronous_full: bool,
    pub db_max_connections: u32,
    pub session_ttl: Duration,
    pub job_poll: Duration,
    /// Jobs of each lane run at once (`name=size,…` over the defaults).
    pub job_lanes: switchboard_service::LaneSizes,
    /// What customers write to opt out of campaigns, and back in.
    pub opt_keywords: switchboard_core::campaign::OptKeywords,
    /// Where Meta's Graph API is, and its version (WhatsApp).
    pub whatsapp_graph: switchboard_service::GraphApi,
    /// Where Telegram's Bot API is.
    pub telegram_api_url: String,
    /// Where Twilio's REST API is.
    pub twilio_api_url: String,
    /// Where VK's API is.
    pub vk_api_url: String,
    /// Where X's API is.
    pub x_api_url: String,
    /// A PEM file of certificate authorities trusted beside the system's
    /// for mail servers (a private CA).
    pub mail_ca_file: Option<PathBuf>,
    /// After a poll that found nothing, how long a polling channel waits.
    pub poll_interval: Duration,
    pub retry_base: Duration,
    pub delivery_max_attempts: i64,
    pub presence_grace: Duration,
    /// How long the event log keeps events for clients that reconnect.
    pub event_log_keep: Duration,
    /// How often WebSocket peers are pinged (a silent one is closed).
    pub ws_ping: Duration,
    /// How often queues, expiry and offline agents' chats are checked.
    pub sweep_interval: Duration,
    pub log: String,
    /// Where attachments go: a folder, or an S3-compatible bucket.
    pub attachments: switchboard_service::StorageConfig,
}

fn env<T: std::str::FromStr>(name: &str) -> anyhow::Result<Option<T>>
where
    T::Err: std::fmt::Display,
{
    match std::env::var(name) {
        Ok(v) if !v.is_empty() => v.parse().map(Some).map_err(|e| anyhow::anyhow!("{name}={v:?}: {e}")),
        _ => Ok(None),
    }
}

fn sqlite_url(data_dir: &Path) -> String {
    format!("sqlite://{}", data_dir.join("switchboard.db").display())
}

impl Config {
    pub fn load(args: &ConfigArgs) -> anyhow::Result<Config> {
        let file: FileConfig = match &args.config {
            Some(path) => {
                let text = std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
                toml::from_str(&text).with_context(|| format!("parsing {}", path.display()))?
            }
            None => FileConfig::default(),
        };
        let listen = args
            .listen
            .or(file.listen)
            .unwrap_or_else(|| SocketAddr::from(([127, 0, 0, 1], 8080)));
        let data_dir = args
            .data_dir
            .clone()
            .or(file.data_dir)
            .unwrap_or_else(|| PathBuf::from("data"));
        let database_url = args
            .database_url
            .clone()
            .or(file.database_url)
            .unwrap_or_else(|| sqlite_url(&data_dir));
        let public_url = args
            .public_url
            .clone()
            .or(file.public_url)
            .unwrap_or_else(|| format!("http://{listen}"))
            .trim_end_matches('/')
            .to_owned();
        let synchronous = env::<String>("SWITCHBOARD_SQLITE_SYNCHRONOUS")?
            .or(file.sqlite_synchronous)
            .unwrap_or_else(|| "full".into());
        let sqlite_synchronous_full = match synchronous.to_ascii_lowercase().as_str() {
            "full" => true,
            "normal" => false,
            other => anyhow::bail!("sqlite_synchronous must be full or normal, not {other:?}"),
        };
        let attachments = match env::<String>("SWITCHBOARD_S3_BUCKET")?.or(file.s3_bucket) {
            Some(bucket) => switchboard_service::StorageConfig::S3 {
                bucket,
                endpoint: env("SWITCHBOARD_S3_ENDPOINT")?.or(file.s3_endpoint),
                region: env("SWITCHBOARD_S3_REGION")?.or(file.s3_region),
                // The usual AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY.
                credentials: None,
            },
            None => switchboard_service::StorageConfig::Local {
                dir: env("SWITCHBOARD_ATTACHMENTS_DIR")?
                    .or(file.attachments_dir)
                    .unwrap_or_else(|| data_dir.join("attachments")),
            },
        };
        let mut job_lanes = switchboard_service::LaneSizes::default();
        if let Some(spec) = env::<String>("SWITCHBOARD_JOB_LANES")?.or(file.job_lanes) {
            job_lanes
                .parse_into(&spec)
                .map_err(|e| anyhow::anyhow!("job_lanes: {e}"))?;
        }
        let defaults = switchboard_service::GraphApi::default();
        let whatsapp_graph = switchboard_service::GraphApi {
            base_url: env("SWITCHBOARD_WHATSAPP_GRAPH_URL")?
                .or(file.whatsapp_graph_url)
                .unwrap_or(defaults.base_url),
            version: env("SWITCHBOARD_WHATSAPP_GRAPH_VERSION")?
                .or(file.whatsapp_graph_version)
                .unwrap_or(defaults.version),
        };
        let telegram_api_url = env("SWITCHBOARD_TELEGRAM_API_URL")?
            .or(file.telegram_api_url)
            .unwrap_or(switchboard_service::BotApi::default().base_url);
        let twilio_api_url = env("SWITCHBOARD_TWILIO_API_URL")?
            .or(file.twilio_api_url)
            .unwrap_or(switchboard_service::TwilioApi::default().base_url);
        let vk_api_url = env("SWITCHBOARD_VK_API_URL")?
            .or(file.vk_api_url)
            .unwrap_or(switchboard_service::VkApi::default().base_url);
        let x_api_url = env("SWITCHBOARD_X_API_URL")?
            .or(file.x_api_url)
            .unwrap_or(switchboard_service::XApi::default().base_url);
        let mail_ca_file = env::<PathBuf>("SWITCHBOARD_MAIL_CA_FILE")?.or(file.mail_ca_file);
        Ok(Config {
            listen,
            job_lanes,
            whatsapp_graph,
            telegram_api_url,
            twilio_api_url,
            vk_api_url,
            x_api_url,
            mail_ca_file,
            data_dir,
            database_url,
            public_url,
            trust_forwarded_for: env("SWITCHBOARD_TRUST_FORWARDED_FOR")?
                .or(file.trust_forwarded_for)
                .unwrap_or(false),
            body_limit_bytes: env("SWITCHBOARD_BODY_LIMIT_BYTES")?
                .or(file.body_limit_bytes)
                .unwrap_or(1024 * 1024),
            allow_private_targets: env("SWITCHBOARD_ALLOW_PRIVATE_TARGETS")?
                .or(file.allow_private_targets)
                .unwrap_or(false),
            sqlite_synchronous_full,
            db_max_connections: env("SWITCHBOARD_DB_MAX_CONNECTIONS")?
                .or(file.db_max_connections)
                .unwrap_or(8),
            session_ttl: Duration::from_secs(
                3600 * env("SWITCHBOARD_SESSION_TTL_HOURS")?
                    .or(file.session_ttl_hours)
                    .unwrap_or(336),
            ),
            job_poll: Duration::from_millis(env("SWITCHBOARD_JOB_POLL_MS")?.or(file.job_poll_ms).unwrap_or(1000)),
            opt_keywords: {
                let words = |raw: Option<String>, default: Vec<String>| match raw {
                    Some(list) => list
                        .split(',')
                        .map(|w| w.trim().to_uppercase())
                        .filter(|w| !w.is_empty())
                        .collect(),
                    None => default,
                };
                let defaults = switchboard_core::campaign::OptKeywords::default();
                switchboard_core::campaign::OptKeywords {
                    out: words(
                        env("SWITCHBOARD_OPT_OUT_KEYWORDS")?.or(file.opt_out_keywords),
                        defaults.out,
                    ),
                    back_in: words(
                        env("SWITCHBOARD_OPT_IN_KEYWORDS")?.or(file.opt_in_keywords),
                        defaults.back_in,
                    ),
                }
            },
            poll_interval: Duration::from_millis(
                env("SWITCHBOARD_POLL_INTERVAL_MS")?
                    .or(file.poll_interval_ms)
                    .unwrap_or(5000)
                    .max(100),
            ),
            retry_base: Duration::from_millis(
                env("SWITCHBOARD_RETRY_BASE_MS")?
                    .or(file.retry_base_ms)
                    .unwrap_or(10_000),
            ),
            delivery_max_attempts: env("SWITCHBOARD_DELIVERY_MAX_ATTEMPTS")?
                .or(file.delivery_max_attempts)
                .unwrap_or(8),
            presence_grace: Duration::from_secs(
                env("SWITCHBOARD_PRESENCE_GRACE_SECS")?
                    .or(file.presence_grace_secs)
                    .unwrap_or(60),
            ),
            event_log_keep: Duration::from_secs(
                3600 * env("SWITCHBOARD_EVENT_LOG_KEEP_HOURS")?
                    .or(file.event_log_keep_hours)
                    .unwrap_or(24)
                    .max(1),
            ),
            ws_ping: Duration::from_secs(
                env("SWITCHBOARD_WS_PING_SECS")?
                    .or(file.ws_ping_secs)
                    .unwrap_or(20)
                    .max(1),
            ),
            sweep_interval: Duration::from_secs(
                env("SWITCHBOARD_SWEEP_INTERVAL_SECS")?
                    .or(file.sweep_interval_secs)
                    .unwrap_or(60)
                    .max(1),
            ),
            log: env("SWITCHBOARD_LOG")?.or(file.log).unwrap_or_else(|| "info".into()),
            attachments,
        })
    }

    pub fn is_sqlite(&self) -> bool {
        self.database_url.starts_with("sqlite:")
    }
}
