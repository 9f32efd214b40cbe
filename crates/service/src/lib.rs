//! Use cases of Switchboard. Handlers call these; these call the store and
//! the channel adapters. Every check of the permission matrix happens here,
//! so no entry point (API, page, CLI) can skip one.

mod accounts;
mod archive;
mod assist;
mod authz;
mod bots;
mod campaigns;
mod channel_port;
mod clock;
mod config;
mod conversations;
mod directory;
mod error;
pub mod events;
mod export;
mod inbound;
mod integrations;
mod jobs;
mod kernel;
mod library;
mod notifications;
mod outbound;
mod ratelimit;
mod reports;
mod routing;
mod search;
pub mod widget;
mod workspace;

use std::sync::Arc;

pub use accounts::{LoginOutcome, NewToken, SessionInfo};
pub use archive::{Deleted, HoldRequest, HoldState};
pub use assist::{
    AssistAnswer, AssistCall, AssistCheck, AssistEvent, AssistRequest, AssistSettingsInput, AssistSettingsView,
    ProviderError,
};
pub use bots::{BotHandoffRequest, BotInput, BotReplyRequest, SavedBot};
pub use campaigns::{
    CampaignAction, CampaignInput, CampaignView, CreatedCampaign, RecipientPage, RecipientQuery, RejectedRow,
};
pub use channel_port::standard_capabilities;
pub use clock::{Clock, ManualClock, SystemClock};
pub use config::{Argon2Params, ServiceConfig};
pub use conversations::SnoozeRequest;
pub use conversations::StartConversation;
pub use conversations::{AssignRequest, ConversationQuery, MessageQuery, NewMessage, StatusRequest, TicketView};
pub use conversations::{DateField, FirstSentBy, Period, SortBy};
pub use conversations::{InboxRow, Names, contact_label};
pub use conversations::{Transcript, TranscriptParts};
pub use directory::{
    AcceptInvitation, ChannelInput, ChannelUpdate, ConnectionCheck, ContactInput, CreatedChannel, CreatedInvitation,
    Invitation, InvitationInfo, MemberInput, MemberUpdate, TeamInput, TeamUpdate,
};
pub use error::{ServiceError, ServiceResult};
pub use export::{ExportFormat, ExportRow, export_filename};
pub use inbound::{ChannelHookStatus, IngestOutcome};
pub use integrations::{
    CreatedWebhook, WEBHOOK_EVENT_TYPES, WEBHOOK_TEST_EVENT, Webhook, WebhookDelivery, WebhookDeliveryStatus,
    WebhookInput, WebhookUpdate, WorkspaceSettings, WorkspaceSettingsUpdate, webhook_signature,
};
pub use jobs::{BoxFuture, Job, JobRegistration, Lane, LaneSizes, Outcome, register as register_job};
pub use library::{
    AttachmentLimitsInput, ByteStream, StorageConfig, Upload, Uploader, human_size, sha256_of_key, storage_key,
};
pub use library::{QuickReplyInput, QuickReplyUpdate, SendQuickReply};
pub use library::{
    SkippedTemplate, TemplateInput, TemplatePreview, TemplatePreviewRequest, TemplateQuery, TemplateSync,
    TemplateUpdate,
};
pub use notifications::{MarkNotificationsRead, NotificationList, NotificationQuery};
pub use ratelimit::RateLimiter;
pub use reports::{AgentsNow, Analytics, AnalyticsQuery, ConsoleTiles, GroupFigures, TeamLoad, Waiting};
pub use routing::{TransferAgent, TransferTeam};
pub use search::{SavedFilterInput, SavedFilterView, SearchHit};
pub use switchboard_channels::email::MailSettings;
pub use switchboard_channels::email::sanitize_html as sanitize_mail_html;
pub use switchboard_channels::telegram::BotApi;
pub use switchboard_channels::twilio::TwilioApi;
pub use switchboard_channels::vk::VkApi;
pub use switchboard_channels::whatsapp::GraphApi;
pub use switchboard_channels::x::XApi;
pub use switchboard_channels::{HookMethod, HookReply, HookRequest, ProviderApis, Registry};
pub use switchboard_core::capabilities::Capabilities;
pub use switchboard_core::permissions::Actor;
pub use switchboard_store::{AttachmentPreview, AttachmentRecord, ContactFilter, Page, Store};
pub use workspace::{AuditLogEntry, MonthlyArchiveView, PreviewConversation, RetentionPreview};

use switchboard_channels::net::OutboundHttp;
use switchboard_core::Millis;

/// The application's use cases, shared by every handler.
#[derive(Clone)]
pub struct Services {
    inner: Arc<Inner>,
}

struct Inner {
    store: Store,
    clock: Arc<dyn Clock>,
    config: ServiceConfig,
    http: OutboundHttp,
    ingest: inbound::Ingestor,
    login_per_ip: ratelimit::Limit,
    login_per_account: ratelimit::Limit,
    /// The job kinds this node runs (see [`job_registrations`]).
    jobs: Vec<jobs::JobRegistration>,
    /// Wakes each lane's workers, by lane.
    lane_wakes: Vec<tokio::sync::Notify>,
    timers_scheduled: std::sync::atomic::AtomicBool,
    dummy_hash: String,
    /// Password hashes checked so far: a login must check one whether or
    /// not the address has an account (tests compare the path, not the clock).
    password_checks: std::sync::atomic::AtomicU64,
    events: Arc<events::EventHub>,
    /// This process's name among the nodes (presence leases).
    node_id: String,
    presence: events::Presence,
    storage: library::Storage,
    /// Image previews decoded at once: at most one per core, so a burst of
    /// uploads neither starves the blocking pool nor holds many decoded
    /// images in memory.
    preview_slots: Arc<tokio::sync::Semaphore>,
    webhooks: integrations::Webhooks,
    /// Clients for AI providers (guarded, and open for private targets).
    assist_http: (OutboundHttp, OutboundHttp),
    /// Places in the AI lane: calls to providers running at once.
    assist_slots: Arc<tokio::sync::Semaphore>,
    visitor_key: tokio::sync::OnceCell<Vec<u8>>,
    visitor_sessions_per_ip: ratelimit::Limit,
    visitor_messages_per_token: ratelimit::Limit,
}

impl std::fmt::Debug for Services {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Services({:?})", self.inner.store)
    }
}

impl Services {
    /// Build the services and start their background tasks (the ingest
    /// committer and the job worker) on the current Tokio runtime.
    pub fn start(store: Store, config: ServiceConfig, clock: Arc<dyn Clock>) -> ServiceResult<Services> {
        let http = OutboundHttp::new(config.allow_private_targets, config.outbound_timeout)
            .map_err(|e| ServiceError::Internal(format!("http client: {e}")))?;
        let (ingest, ingest_rx) = inbound::Ingestor::channel(config.ingest_batch_max);
        let dummy_hash = accounts::hash_blocking(&config.argon2, "switchboard-dummy-password")?;
        let storage = library::Storage::open(&config.attachment_storage)?;
        let (hub, hub_wakes) = events::EventHub::new(store.clone(), config.event_replay, config.event_lag_limit);
        let (webhooks, webhook_fanout) = integrations::Webhooks::new(&config)?;
        let minute = std::time::Duration::from_secs(60);
        let visitor_sessions_per_ip = ratelimit::Limit::new(
            "visitor sessions per ip",
            config.visitor_sessions_per_ip,
            minute,
            &store,
        );
        let visitor_messages_per_token =
            ratelimit::Limit::new("visitor messages", config.visitor_messages_per_visitor, minute, &store);
        let login_per_ip = ratelimit::Limit::new(
            "logins per ip",
            config.login_limit_per_ip,
            std::time::Duration::from_secs(300),
            &store,
        );
        let login_per_account = ratelimit::Limit::new(
            "login failures per account",
            config.login_failures_per_account,
            std::time::Duration::from_secs(900),
            &store,
        );
        let assist_client = |allow_private| {
            OutboundHttp::new(allow_private, std::time::Duration::from_secs(300))
                .map_err(|e| ServiceError::Internal(format!("http client: {e}")))
        };
        let assist_http = (assist_client(false)?, assist_client(true)?);
        let assist_slots = Arc::new(tokio::sync::Semaphore::new(config.job_lanes.get(jobs::Lane::Ai).max(1)));
        let jobs = job_registrations()
            .into_iter()
            .chain(config.extra_jobs.iter().copied())
            .collect();
        let services = Services {
            inner: Arc::new(Inner {
                store,
                clock,
                login_per_ip,
                login_per_account,
                config,
                http,
                ingest,
                jobs,
                lane_wakes: jobs::Lane::ALL.iter().map(|_| tokio::sync::Notify::new()).collect(),
                timers_scheduled: std::sync::atomic::AtomicBool::new(false),
                dummy_hash,
                password_checks: std::sync::atomic::AtomicU64::new(0),
                events: hub,
                node_id: random_token(),
                visitor_key: tokio::sync::OnceCell::new(),
                visitor_sessions_per_ip,
                visitor_messages_per_token,
                presence: events::Presence::default(),
                storage,
                preview_slots: Arc::new(tokio::sync::Semaphore::new(
                    std::thread::available_parallelism().map_or(1, std::num::NonZero::get),
                )),
                webhooks,
                assist_http,
                assist_slots,
            }),
        };
        inbound::spawn_committer(services.clone(), ingest_rx);
        events::spawn_fanout(&services.inner.events, hub_wakes);
        integrations::spawn_fanout(services.clone(), webhook_fanout);
        // Commits that appended events wake this node's fan-out and webhooks.
        let weak = Arc::downgrade(&services.inner);
        services.store().set_event_hook(Arc::new(move |workspaces| {
            if let Some(inner) = weak.upgrade() {
                for ws in workspaces {
                    inner.events.wake(*ws);
                    inner.webhooks.wake(*ws);
                }
            }
        }));
        events::spawn_listener(&services);
        events::spawn_upkeep(&services);
        if services.inner.config.run_jobs {
            jobs::spawn_workers(services.clone());
        }
        Ok(services)
    }

    pub fn store(&self) -> &Store {
        &self.inner.store
    }

    pub fn config(&self) -> &ServiceConfig {
        &self.inner.config
    }

    pub fn now(&self) -> Millis {
        self.inner.clock.now()
    }

    /// This process's name among the nodes sharing the database.
    pub fn node_id(&self) -> &str {
        &self.inner.node_id
    }
}

/// Every kind of background job, once: the engine runs only what is here.
fn job_registrations() -> Vec<JobRegistration> {
    vec![
        jobs::register::<outbound::DeliverMessage>(),
        jobs::register::<outbound::SendReadReceipt>(),
        jobs::register::<bots::BotTurn>(),
        jobs::register::<integrations::DeliverWebhook>(),
        jobs::register::<routing::Sweep>(),
        jobs::register::<routing::WakeSnoozed>(),
        jobs::register::<workspace::Purge>(),
        jobs::register::<workspace::WriteArchives>(),
        jobs::register::<inbound::PollChannel>(),
        jobs::register::<campaigns::RunCampaign>(),
    ]
}

/// A fresh 256-bit random token, URL-safe (CSRF tokens and the like).
pub fn random_token() -> String {
    accounts::random_token(32)
}
