//! `switchboard`: the omnichannel support inbox server.

mod allocator;
mod config;

use std::io::BufRead;
use std::sync::Arc;

use anyhow::Context;
use clap::{Parser, Subcommand};
use config::{Config, ConfigArgs};
use switchboard_service::{ServiceConfig, Services, SystemClock};
use switchboard_store::{Store, StoreOptions};
use switchboard_web::{AppState, WebConfig};

/// mimalloc: glibc's allocator cost ingest a quarter of its throughput
/// (arena locking and `malloc_consolidate` on the database thread).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[derive(Debug, Parser)]
#[command(name = "switchboard", version, about = "Switchboard: an omnichannel customer-support inbox in one binary.", long_about = None)]
struct Cli {
    #[command(flatten)]
    config: ConfigArgs,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Start the server: apply pending migrations, then serve the web app,
    /// the API and provider webhooks. On an empty database it prints a
    /// one-time setup link for the first admin.
    Serve,
    /// Apply pending database migrations and exit.
    Migrate,
    /// Export a workspace's conversations (one row each, the columns of the
    /// archive's export) to a file or standard output, streamed.
    Export {
        /// The workspace's id.
        #[arg(long)]
        workspace: String,
        /// The member it runs as (their e-mail): they see what they may see; audited as theirs.
        #[arg(long = "as")]
        as_email: String,
        #[arg(long, value_enum, default_value = "csv")]
        format: ExportFileFormat,
        /// The archive's filters as a query string, e.g. `period=last_30_days&status=resolved&q=refund`.
        #[arg(long, default_value = "")]
        query: String,
        /// Where to write (standard output when left out).
        #[arg(long)]
        output: Option<std::path::PathBuf>,
    },
    /// Copy the SQLite database, while the server runs, into a new file (a
    /// consistent snapshot, `VACUUM INTO`). Restore by stopping the server
    /// and putting the copy in place of `switchboard.db` in the data
    /// folder. On PostgreSQL use `pg_dump` instead.
    Backup {
        /// The file to write (must not exist yet).
        #[arg(long)]
        output: std::path::PathBuf,
    },
    /// Manage workspaces and users from the shell.
    Admin {
        #[command(subcommand)]
        command: AdminCommand,
    },
}

#[derive(Debug, Subcommand)]
enum AdminCommand {
    /// Create a workspace with its first admin (an existing user with that
    /// e-mail becomes its admin). The password is read from
    /// SWITCHBOARD_ADMIN_PASSWORD, or from the first line of standard input.
    Create {
        /// Name of the new workspace.
        #[arg(long)]
        workspace: String,
        /// The admin's e-mail address (their sign-in).
        #[arg(long)]
        email: String,
        /// The admin's display name.
        #[arg(long)]
        name: String,
    },
    /// Set a user's password (ends all their sessions). The password is read
    /// from SWITCHBOARD_ADMIN_PASSWORD, or from the first line of standard input.
    ResetPassword {
        #[arg(long)]
        email: String,
    },
}

#[derive(Debug, Clone, Copy, clap::ValueEnum)]
enum ExportFileFormat {
    Csv,
    Jsonl,
    Xlsx,
}

async fn export(
    config: &Config,
    workspace: &str,
    as_email: &str,
    format: ExportFileFormat,
    query: &str,
    output: Option<&std::path::Path>,
) -> anyhow::Result<()> {
    use futures::StreamExt;
    use tokio::io::AsyncWriteExt;
    let store = open_store(config).await?;
    let services = Services::start(store.clone(), service_config(config, false)?, Arc::new(SystemClock))?;
    let ws = workspace.parse().context("--workspace is not a workspace id")?;
    let actor = services
        .actor_by_email(ws, as_email)
        .await
        .context("--as is not a member of that workspace")?;
    let q: switchboard_service::ConversationQuery =
        serde_urlencoded::from_str(query).context("--query is not a valid archive filter")?;
    let format = match format {
        ExportFileFormat::Csv => switchboard_service::ExportFormat::Csv,
        ExportFileFormat::Jsonl => switchboard_service::ExportFormat::Jsonl,
        ExportFileFormat::Xlsx => switchboard_service::ExportFormat::Xlsx,
    };
    let mut rows = services.export_conversations(&actor, q, format).await?;
    let mut out: Box<dyn tokio::io::AsyncWrite + Unpin> = match output {
        Some(path) => Box::new(
            tokio::fs::File::create(path)
                .await
                .with_context(|| format!("creating {}", path.display()))?,
        ),
        None => Box::new(tokio::io::stdout()),
    };
    while let Some(chunk) = rows.next().await {
        out.write_all(&chunk?).await?;
    }
    out.flush().await?;
    store.close().await;
    Ok(())
}

fn read_password() -> anyhow::Result<String> {
    if let Ok(p) = std::env::var("SWITCHBOARD_ADMIN_PASSWORD")
        && !p.is_empty()
    {
        return Ok(p);
    }
    eprintln!("Password (at least 10 characters), then Enter:");
    let mut line = String::new();
    std::io::stdin()
        .lock()
        .read_line(&mut line)
        .context("reading the password from standard input")?;
    Ok(line.trim_end_matches(['\r', '\n']).to_owned())
}

async fn open_store(config: &Config) -> anyhow::Result<Store> {
    if config.is_sqlite() {
        std::fs::create_dir_all(&config.data_dir)
            .with_context(|| format!("creating the data folder {}", config.data_dir.display()))?;
    }
    let mut options = StoreOptions::new(config.database_url.clone());
    options.max_connections = config.db_max_connections;
    options.sqlite_synchronous_full = config.sqlite_synchronous_full;
    let store = Store::connect(&options).await.context("opening the database")?;
    let applied = store.migrate().await.context("applying migrations")?;
    if !applied.is_empty() {
        tracing::info!(?applied, "applied migrations");
    }
    Ok(store)
}

/// The key that seals secrets in the database: `SWITCHBOARD_SECRET_KEY`
/// (32 bytes, base64), else `secret.key` in the data folder, made on the
/// first start (readable by the owner only). Losing it loses the sealed
/// secrets (AI providers' keys must then be entered again).
fn secret_key(config: &Config) -> anyhow::Result<[u8; 32]> {
    use base64::Engine;
    let decode = |raw: &str, from: &str| -> anyhow::Result<[u8; 32]> {
        base64::engine::general_purpose::STANDARD
            .decode(raw.trim())
            .ok()
            .and_then(|b| <[u8; 32]>::try_from(b).ok())
            .with_context(|| format!("{from} must be 32 bytes in base64 (e.g. `openssl rand -base64 32`)"))
    };
    if let Ok(raw) = std::env::var("SWITCHBOARD_SECRET_KEY")
        && !raw.trim().is_empty()
    {
        return decode(&raw, "SWITCHBOARD_SECRET_KEY");
    }
    let path = config.data_dir.join("secret.key");
    match std::fs::read_to_string(&path) {
        Ok(raw) => decode(&raw, &path.display().to_string()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            let key: [u8; 32] = rand::random();
            std::fs::create_dir_all(&config.data_dir)
                .with_context(|| format!("creating the data folder {}", config.data_dir.display()))?;
            let mut options = std::fs::OpenOptions::new();
            options.write(true).create_new(true);
            #[cfg(unix)]
            std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
            let mut file = options
                .open(&path)
                .with_context(|| format!("creating {}", path.display()))?;
            std::io::Write::write_all(
                &mut file,
                base64::engine::general_purpose::STANDARD.encode(key).as_bytes(),
            )?;
            tracing::info!(path = %path.display(), "made a new secret key; keep it with the database");
            Ok(key)
        }
        Err(e) => Err(e).with_context(|| format!("reading {}", path.display())),
    }
}

/// How mail servers are reached: with the operator's private CA, if any.
fn mail_settings(config: &Config) -> anyhow::Result<switchboard_service::MailSettings> {
    let settings = switchboard_service::MailSettings::default();
    match &config.mail_ca_file {
        None => Ok(settings),
        Some(path) => {
            let pem = std::fs::read(path).with_context(|| format!("reading {}", path.display()))?;
            settings
                .trusting_pem(&pem)
                .map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))
        }
    }
}

fn service_config(config: &Config, run_jobs: bool) -> anyhow::Result<ServiceConfig> {
    Ok(ServiceConfig {
        secret_key: Some(secret_key(config)?),
        session_ttl: config.session_ttl,
        allow_private_targets: config.allow_private_targets,
        run_jobs,
        job_poll_interval: config.job_poll,
        job_lanes: config.job_lanes.clone(),
        channels: switchboard_service::Registry::standard_with(&switchboard_service::ProviderApis {
            whatsapp: config.whatsapp_graph.clone(),
            telegram: switchboard_service::BotApi {
                base_url: config.telegram_api_url.clone(),
                public_url: config.public_url.clone(),
                ..Default::default()
            },
            twilio: switchboard_service::TwilioApi {
                base_url: config.twilio_api_url.clone(),
                public_url: config.public_url.clone(),
            },
            vk: switchboard_service::VkApi {
                base_url: config.vk_api_url.clone(),
            },
            email: mail_settings(config)?,
            x: switchboard_service::XApi {
                base_url: config.x_api_url.clone(),
            },
        }),
        poll_interval: config.poll_interval,
        opt_keywords: config.opt_keywords.clone(),
        retry_base: config.retry_base,
        delivery_max_attempts: config.delivery_max_attempts,
        presence_grace: config.presence_grace,
        event_log_keep: config.event_log_keep,
        ws_ping_interval: config.ws_ping,
        public_url: config.public_url.clone(),
        sweep_interval: config.sweep_interval,
        attachment_storage: config.attachments.clone(),
        ..ServiceConfig::default()
    })
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        if let Ok(mut s) = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            s.recv().await;
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {}
        _ = term => {}
    }
    tracing::info!("shutting down");
}

async fn serve(config: Config) -> anyhow::Result<()> {
    let store = open_store(&config).await?;
    let services = Services::start(store.clone(), service_config(&config, true)?, Arc::new(SystemClock))?;
    let listener = tokio::net::TcpListener::bind(config.listen)
        .await
        .with_context(|| format!("listening on {}", config.listen))?;
    let addr = listener.local_addr()?;
    tracing::info!(%addr, database = if config.is_sqlite() { "sqlite" } else { "postgres" }, "switchboard is listening");
    println!("Switchboard is listening on http://{addr}");
    if let Some(token) = services.prepare_setup().await? {
        println!("No users yet. Open this one-time link to set up the first workspace and admin:");
        println!("  {}/setup?token={token}", config.public_url);
    }
    let state = AppState {
        services,
        web: WebConfig {
            secure_cookies: config.public_url.starts_with("https://"),
            trust_forwarded_for: config.trust_forwarded_for,
            body_limit: config.body_limit_bytes,
        },
    };
    switchboard_web::serve(listener, state, shutdown_signal()).await?;
    store.close().await;
    Ok(())
}

fn main() -> anyhow::Result<()> {
    allocator::settle();
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("start the async runtime")?
        .block_on(run())
}

async fn run() -> anyhow::Result<()> {
    let cli = Cli::parse();
    let config = Config::load(&cli.config)?;
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(&config.log)),
        )
        .with_writer(std::io::stderr)
        .init();
    match cli.command {
        Command::Serve => serve(config).await,
        Command::Export {
            workspace,
            as_email,
            format,
            query,
            output,
        } => export(&config, &workspace, &as_email, format, &query, output.as_deref()).await,
        Command::Migrate => {
            let store = open_store(&config).await?;
            println!("database is at the latest schema");
            store.close().await;
            Ok(())
        }
        Command::Backup { output } => {
            anyhow::ensure!(
                config.is_sqlite(),
                "backup copies the SQLite database; for PostgreSQL use pg_dump (see README, Deployment)"
            );
            anyhow::ensure!(!output.exists(), "{} exists already", output.display());
            let store = open_store(&config).await?;
            store
                .backup_to(&output)
                .await
                .with_context(|| format!("writing {}", output.display()))?;
            store.close().await;
            println!("copied the database to {}", output.display());
            Ok(())
        }
        Command::Admin { command } => {
            let store = open_store(&config).await?;
            let services = Services::start(store.clone(), service_config(&config, false)?, Arc::new(SystemClock))?;
            match command {
                AdminCommand::Create { workspace, email, name } => {
                    let password = read_password()?;
                    let (ws, user) = services
                        .create_workspace_with_admin(&workspace, &name, &email, &password, false)
                        .await?;
                    println!(
                        "created workspace {ws} with admin {user} ({email}); sign in at {}/login",
                        config.public_url
                    );
                }
                AdminCommand::ResetPassword { email } => {
                    let password = read_password()?;
                    let user = services.reset_password(&email, &password).await?;
                    println!("password of {user} ({email}) changed; their sessions were ended");
                }
            }
            store.close().await;
            Ok(())
        }
    }
}
