//! Outgoing webhooks. Admins register URLs with an event filter; every event
//! published on the bus is POSTed to the matching enabled endpoints of its
//! workspace, signed the Standard Webhooks way (`webhook-id`,
//! `webhook-timestamp`, `webhook-signature: v1,<base64 HMAC-SHA256>`), from
//! the job table with retries and backoff, and logged per endpoint.
//!
//! How events get here: they are read from the durable event log with a
//! cursor per workspace (created with the workspace's first endpoint), so no
//! emit helper has to know about webhooks and an event committed just
//! before a node died is still delivered: a commit that appended events
//! wakes this node's fan-out task, and every node's upkeep loop looks for
//! cursors left behind. In one transaction the task locks the cursor,
//! reads the events after it, stores a delivery row and a `deliver_webhook`
//! job for each match, and moves the cursor. It keeps a small per-workspace
//! cache of the enabled endpoints (dropped when an admin on any node
//! changes one, and after a short time).
//!
//! Targets that are loopback, private or link-local (169.254.169.254
//! included) are refused unless the operator or the workspace allows private
//! targets: literal addresses and `localhost` when the endpoint is saved,
//! and every name again when it resolves at delivery time. Redirects are
//! never followed.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;
use rand::RngCore;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use switchboard_channels::net::OutboundHttp;
use switchboard_channels::signing::hmac_sha256;
use switchboard_core::permissions::Actor;
use switchboard_core::validate::{Invalid, Label, http_url};
use switchboard_core::{Millis, WebhookDeliveryId, WebhookId, WorkspaceId};
use switchboard_store::{JobRow, Page, Tx, WebhookAttempt, WebhookDeliveryRow, WebhookRow};
use tokio::sync::mpsc;

use crate::authz::require_admin;
use crate::events::{CacheChange, Event};
use crate::jobs::{BoxFuture, Job, Lane, Outcome};
use crate::{ServiceConfig, ServiceError, ServiceResult, Services};

pub(crate) const DELIVER_WEBHOOK: &str = "deliver_webhook";

/// The event types an endpoint may subscribe to (or `*` for all of these).
pub const WEBHOOK_EVENT_TYPES: &[&str] = &[
    "conversation.created",
    "conversation.updated",
    "message.created",
    "message.updated",
    "presence.updated",
    "member.updated",
];

/// The event types a webhook may ask for: `*` or the listed ones.
fn event_types_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
    let mut types: Vec<&str> = vec!["*"];
    types.extend(WEBHOOK_EVENT_TYPES);
    schemars::json_schema!({"type": ["array", "null"], "minItems": 1, "items": {"type": "string", "enum": types}})
}

fn close_reasons_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
    schemars::json_schema!({
        "type": ["array", "null"], "minItems": 1, "maxItems": 30, "uniqueItems": true,
        "items": {"type": "string", "pattern": r"^[^\s\x00-\x1f\x7f]([^\x00-\x1f\x7f]{0,78}[^\s\x00-\x1f\x7f])?$"}
    })
}

/// Whether events of this type go to webhooks at all (ephemeral ones such
/// as `conversation.typing` do not, not even to `*`).
fn is_webhook_event(kind: &str) -> bool {
    WEBHOOK_EVENT_TYPES.contains(&kind)
}

/// The type of the event the "send test event" button sends.
pub const WEBHOOK_TEST_EVENT: &str = "webhook.test";

const ALL_EVENTS: &str = "*";
/// How long the fan-out trusts its cache of a workspace's endpoints.
const CACHE_TTL: Duration = Duration::from_secs(30);
/// Most workspaces cached at once.
const CACHE_MAX: usize = 4096;

/// An endpoint as the API shows it (the secret never is).
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct Webhook {
    pub id: WebhookId,
    pub workspace_id: WorkspaceId,
    pub url: String,
    /// Event types delivered, or `["*"]` for all.
    pub events: Vec<String>,
    pub enabled: bool,
    pub description: Option<String>,
    pub created_at: Millis,
    pub updated_at: Millis,
}

/// An endpoint as created or re-keyed: the signing secret is shown this once.
#[derive(Debug, Serialize, JsonSchema)]
pub struct CreatedWebhook {
    #[serde(flatten)]
    pub webhook: Webhook,
    /// `whsec_<base64>`: the HMAC key is the base64-decoded part. Present
    /// only on create and on `rotate_secret`.
    pub secret: Option<String>,
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct WebhookInput {
    /// Where events are POSTed (http or https).
    #[schemars(regex(
        pattern = r"^https?://[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}(:[1-9][0-9]{0,3})?(/[A-Za-z0-9._~/-]*)?$"
    ))]
    pub url: String,
    /// Event types to deliver (`conversation.created`, `conversation.updated`,
    /// `message.created`, `message.updated`, `presence.updated`,
    /// `member.updated`), or `["*"]` for all; all when left out.
    #[serde(default)]
    #[schemars(schema_with = "event_types_schema")]
    pub events: Option<Vec<String>>,
    #[serde(default = "enabled_by_default")]
    pub enabled: bool,
    pub description: Option<String>,
}

fn enabled_by_default() -> bool {
    true
}

#[derive(Debug, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct WebhookUpdate {
    #[schemars(regex(
        pattern = r"^https?://[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}(:[1-9][0-9]{0,3})?(/[A-Za-z0-9._~/-]*)?$"
    ))]
    pub url: Option<String>,
    #[serde(default)]
    #[schemars(schema_with = "event_types_schema")]
    pub events: Option<Vec<String>>,
    pub enabled: Option<bool>,
    /// An empty string removes the description.
    pub description: Option<String>,
    /// Replace the signing secret with a new one (returned once).
    #[serde(default)]
    pub rotate_secret: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum WebhookDeliveryStatus {
    /// Waiting for its first or next attempt.
    Pending,
    /// The endpoint answered 2xx.
    Succeeded,
    /// Given up: a 4xx answer, a refused target, or the last attempt failed.
    Failed,
}

impl WebhookDeliveryStatus {
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "pending",
            Self::Succeeded => "succeeded",
            Self::Failed => "failed",
        }
    }
}

/// One event sent (or to be sent) to one endpoint.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct WebhookDelivery {
    /// Also the `webhook-id` header: the same on every attempt.
    pub id: WebhookDeliveryId,
    pub webhook_id: WebhookId,
    pub event_type: String,
    /// The event's `seq` (absent for test events).
    pub event_seq: Option<i64>,
    pub status: WebhookDeliveryStatus,
    pub attempts: i64,
    /// The HTTP status of the last answer.
    pub response_status: Option<i64>,
    pub last_error: Option<String>,
    /// The body sent: `{"type","timestamp","workspace_id","seq","data"}`.
    pub payload: serde_json::Value,
    pub created_at: Millis,
    pub updated_at: Millis,
    pub delivered_at: Option<Millis>,
}

/// Workspace-wide settings.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct WorkspaceSettings {
    /// Let outgoing webhooks reach loopback, private and link-local
    /// addresses (the operator may also allow this for the whole instance).
    pub allow_private_targets: bool,
    /// Business hours, ticket auto-reply and expiry period; teams may
    /// override hours and auto-reply.
    pub routing: switchboard_core::routing::WorkspaceRouting,
    /// Days closed conversations are kept (1 to 3650, 183 by default): older
    /// ones are deleted with their files by the retention purge.
    pub retention_days: i64,
    /// Write each closed month (UTC) to storage as a ZIP of transcripts and
    /// files; retention then purges only what a written archive covers.
    pub monthly_archive: bool,
    /// The reasons offered when a chat is closed, in their order.
    pub close_reasons: Vec<String>,
}

#[derive(Debug, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct WorkspaceSettingsUpdate {
    pub allow_private_targets: Option<bool>,
    /// Replaces the routing settings as a whole.
    #[schemars(with = "Option<switchboard_core::routing::WorkspaceRouting>")]
    pub routing: Option<serde_json::Value>,
    /// Days closed conversations are kept, 1 to 3650.
    #[schemars(with = "Option<u32>", range(min = 1, max = 3650))]
    pub retention_days: Option<serde_json::Value>,
    pub monthly_archive: Option<bool>,
    /// Replaces the list of close reasons (1 to 30, each 1 to 80
    /// characters, no two alike).
    #[schemars(schema_with = "close_reasons_schema")]
    pub close_reasons: Option<Vec<String>>,
}

fn corrupt(what: &str, raw: &str) -> ServiceError {
    ServiceError::Internal(format!("stored {what} is not valid: {raw:?}"))
}

fn parse<T: std::str::FromStr>(what: &str, raw: &str) -> ServiceResult<T> {
    raw.parse().map_err(|_| corrupt(what, raw))
}

fn events_of(row: &WebhookRow) -> Vec<String> {
    serde_json::from_str(&row.events).unwrap_or_else(|_| vec![ALL_EVENTS.to_owned()])
}

fn webhook_of(row: &WebhookRow) -> ServiceResult<Webhook> {
    Ok(Webhook {
        id: parse("webhook id", &row.id)?,
        workspace_id: parse("workspace id", &row.workspace_id)?,
        url: row.url.clone(),
        events: events_of(row),
        enabled: row.enabled,
        description: row.description.clone(),
        created_at: Millis(row.created_at),
        updated_at: Millis(row.updated_at),
    })
}

fn delivery_of(row: WebhookDeliveryRow) -> ServiceResult<WebhookDelivery> {
    let status = match row.status.as_str() {
        "pending" => WebhookDeliveryStatus::Pending,
        "succeeded" => WebhookDeliveryStatus::Succeeded,
        "failed" => WebhookDeliveryStatus::Failed,
        other => return Err(corrupt("delivery status", other)),
    };
    Ok(WebhookDelivery {
        id: parse("delivery id", &row.id)?,
        webhook_id: parse("webhook id", &row.webhook_id)?,
        event_type: row.event_type,
        event_seq: row.event_seq,
        status,
        attempts: row.attempts,
        response_status: row.response_status,
        last_error: row.last_error,
        payload: serde_json::from_str(&row.payload).unwrap_or(serde_json::Value::Null),
        created_at: Millis(row.created_at),
        updated_at: Millis(row.updated_at),
        delivered_at: row.delivered_at.map(Millis),
    })
}

/// The event filter: known types, deduplicated; `*` alone means all.
fn event_filter(raw: Option<Vec<String>>) -> ServiceResult<Vec<String>> {
    let Some(raw) = raw else {
        return Ok(vec![ALL_EVENTS.to_owned()]);
    };
    if raw.is_empty() {
        return Err(Invalid::new("events", "name at least one event type, or \"*\" for all").into());
    }
    let mut out: Vec<String> = Vec::new();
    for e in raw {
        let e = e.trim();
        if e == ALL_EVENTS {
            return Ok(vec![ALL_EVENTS.to_owned()]);
        }
        if !WEBHOOK_EVENT_TYPES.contains(&e) {
            return Err(Invalid::new(
                "events",
                format!(
                    "unknown event type {e:?}; use \"*\" or some of: {}",
                    WEBHOOK_EVENT_TYPES.join(", ")
                ),
            )
            .into());
        }
        if !out.iter().any(|x| x == e) {
            out.push(e.to_owned());
        }
    }
    Ok(out)
}

fn description(raw: Option<&str>) -> ServiceResult<Option<String>> {
    match raw.map(str::trim) {
        None | Some("") => Ok(None),
        Some(s) => Ok(Some(Label::parse("description", s)?.into_string())),
    }
}

/// A new signing secret: `whsec_` and the base64 of 32 random bytes.
pub(crate) fn new_secret() -> String {
    let mut key = [0u8; 32];
    rand::rng().fill_bytes(&mut key);
    format!("whsec_{}", BASE64.encode(key))
}

/// The `webhook-signature` value for a message: `v1,<base64 HMAC-SHA256 of
/// "{id}.{timestamp}.{body}">`, keyed with the decoded secret.
pub fn webhook_signature(secret: &str, id: &str, timestamp: i64, body: &[u8]) -> Option<String> {
    let key = BASE64.decode(secret.strip_prefix("whsec_")?).ok()?;
    let mut signed = format!("{id}.{timestamp}.").into_bytes();
    signed.extend_from_slice(body);
    Some(format!("v1,{}", BASE64.encode(hmac_sha256(&key, &signed))))
}

/// The cursor name of outgoing webhooks in the event log.
const WEBHOOKS_CURSOR: &str = "webhooks";
/// Events read from the log per fan-out transaction.
const FANOUT_BATCH: u64 = 256;

enum Fanout {
    /// The workspace's log grew.
    Wake(WorkspaceId),
    /// The workspace's endpoints changed (`None`: any workspace's may have).
    Invalidate(Option<WorkspaceId>),
}

/// What the services keep for webhooks: the way to the fan-out task and the
/// two HTTP clients (guarded, and open for private targets when allowed).
pub(crate) struct Webhooks {
    fanout: mpsc::UnboundedSender<Fanout>,
    guarded: OutboundHttp,
    open: OutboundHttp,
}

pub(crate) struct FanoutReceiver(mpsc::UnboundedReceiver<Fanout>);

impl Webhooks {
    pub(crate) fn new(config: &ServiceConfig) -> ServiceResult<(Webhooks, FanoutReceiver)> {
        let client = |allow_private| {
            OutboundHttp::new(allow_private, config.outbound_timeout)
                .map_err(|e| ServiceError::Internal(format!("http client: {e}")))
        };
        let (tx, rx) = mpsc::unbounded_channel();
        Ok((
            Webhooks {
                fanout: tx,
                guarded: client(false)?,
                open: client(true)?,
            },
            FanoutReceiver(rx),
        ))
    }

    pub(crate) fn wake(&self, ws: WorkspaceId) {
        let _ = self.fanout.send(Fanout::Wake(ws));
    }

    fn invalidate(&self, ws: Option<WorkspaceId>) {
        let _ = self.fanout.send(Fanout::Invalidate(ws));
    }
}

/// An enabled endpoint as the fan-out sees it.
struct Target {
    id: String,
    all: bool,
    events: Vec<String>,
}

impl Target {
    fn wants(&self, kind: &str) -> bool {
        self.all || self.events.iter().any(|e| e == kind)
    }
}

#[derive(Default)]
struct TargetCache {
    map: HashMap<WorkspaceId, (Instant, Arc<[Target]>)>,
}

impl TargetCache {
    async fn get(&mut self, services: &Services, ws: WorkspaceId) -> ServiceResult<Arc<[Target]>> {
        if let Some((at, targets)) = self.map.get(&ws)
            && at.elapsed() < CACHE_TTL
        {
            return Ok(targets.clone());
        }
        let rows = services.store().reader().enabled_webhooks(ws).await?;
        let targets: Arc<[Target]> = rows
            .iter()
            .map(|r| {
                let events = events_of(r);
                Target {
                    id: r.id.clone(),
                    all: events.iter().any(|e| e == ALL_EVENTS),
                    events,
                }
            })
            .collect();
        if self.map.len() >= CACHE_MAX {
            self.map.clear();
        }
        self.map.insert(ws, (Instant::now(), targets.clone()));
        Ok(targets)
    }
}

pub(crate) fn spawn_fanout(services: Services, rx: FanoutReceiver) {
    let weak = Arc::downgrade(&services.inner);
    drop(services);
    tokio::spawn(async move {
        let mut rx = rx.0;
        let mut cache = TargetCache::default();
        let mut batch = Vec::with_capacity(256);
        while rx.recv_many(&mut batch, 256).await > 0 {
            let Some(inner) = weak.upgrade() else { break };
            let services = Services { inner };
            let mut woken = Vec::new();
            for item in batch.drain(..) {
                match item {
                    Fanout::Invalidate(Some(ws)) => {
                        cache.map.remove(&ws);
                    }
                    Fanout::Invalidate(None) => cache.map.clear(),
                    Fanout::Wake(ws) if !woken.contains(&ws) => woken.push(ws),
                    Fanout::Wake(_) => {}
                }
            }
            for ws in woken {
                if let Err(e) = services.fan_out(&mut cache, ws).await {
                    // The upkeep loop finds the cursor behind and retries.
                    tracing::warn!(error = %e, "could not schedule webhook deliveries");
                }
            }
        }
    });
}

/// The body of a delivery: the same bytes on every attempt.
#[derive(Serialize)]
struct Body<'a> {
    #[serde(rename = "type")]
    kind: &'a str,
    /// Milliseconds since the Unix epoch, when the event happened.
    timestamp: i64,
    workspace_id: WorkspaceId,
    seq: Option<i64>,
    data: &'a serde_json::Value,
}

#[derive(Debug, Serialize, Deserialize)]
pub(crate) struct DeliverPayload {
    workspace_id: WorkspaceId,
    delivery_id: WebhookDeliveryId,
}

/// One event to one outgoing webhook.
pub(crate) struct DeliverWebhook;

impl Job for DeliverWebhook {
    const KIND: &'static str = DELIVER_WEBHOOK;
    const LANE: Lane = Lane::Webhooks;
    type Payload = DeliverPayload;

    fn run<'a>(services: &'a Services, job: &'a JobRow, _: DeliverPayload) -> BoxFuture<'a, Outcome> {
        Box::pin(services.deliver_webhook(job))
    }

    /// The delivery is failed with the last error.
    fn gave_up<'a>(
        services: &'a Services,
        tx: &'a mut Tx<'static>,
        payload: &'a DeliverPayload,
        error: &'a str,
    ) -> BoxFuture<'a, ServiceResult<()>> {
        Box::pin(async move {
            tx.exec()
                .fail_webhook_delivery(payload.workspace_id, payload.delivery_id, error, services.now())
                .await?;
            Ok(())
        })
    }
}

impl Services {
    fn new_delivery(
        ws: WorkspaceId,
        webhook_id: String,
        kind: &str,
        seq: Option<i64>,
        at: Millis,
        data: &serde_json::Value,
        now: Millis,
    ) -> WebhookDeliveryRow {
        let body = Body {
            kind,
            timestamp: at.0,
            workspace_id: ws,
            seq,
            data,
        };
        WebhookDeliveryRow {
            id: WebhookDeliveryId::new().to_string(),
            workspace_id: ws.to_string(),
            webhook_id,
            event_type: kind.to_owned(),
            event_seq: seq,
            payload: serde_json::to_string(&body).unwrap_or_default(),
            status: WebhookDeliveryStatus::Pending.as_str().to_owned(),
            attempts: 0,
            response_status: None,
            last_error: None,
            created_at: now.0,
            updated_at: now.0,
            delivered_at: None,
        }
    }

    /// Store deliveries and their jobs in one transaction, and wake the worker.
    async fn schedule_deliveries(&self, deliveries: &[WebhookDeliveryRow]) -> ServiceResult<()> {
        if deliveries.is_empty() {
            return Ok(());
        }
        let mut tx = self.store().begin().await?;
        self.insert_deliveries(&mut tx, deliveries).await?;
        tx.commit().await?;
        self.wake_jobs();
        Ok(())
    }

    async fn insert_deliveries(&self, tx: &mut Tx<'_>, deliveries: &[WebhookDeliveryRow]) -> ServiceResult<()> {
        let now = self.now();
        for d in deliveries {
            tx.exec().insert_webhook_delivery(d).await?;
            tx.exec()
                .enqueue_job(
                    DELIVER_WEBHOOK,
                    &serde_json::json!({ "workspace_id": d.workspace_id, "delivery_id": d.id }),
                    now,
                    self.config().delivery_max_attempts,
                    now,
                )
                .await?;
        }
        Ok(())
    }

    /// Turn the workspace's events past its cursor into deliveries.
    async fn fan_out(&self, cache: &mut TargetCache, ws: WorkspaceId) -> ServiceResult<()> {
        // Most workspaces have no endpoints and so no cursor: a read says so.
        if self
            .store()
            .reader()
            .lock_event_cursor(WEBHOOKS_CURSOR, ws)
            .await?
            .is_none()
        {
            return Ok(());
        }
        loop {
            let targets = cache.get(self, ws).await?;
            let now = self.now();
            let mut tx = self.store().begin().await?;
            let Some(after) = tx.exec().lock_event_cursor(WEBHOOKS_CURSOR, ws).await? else {
                return Ok(());
            };
            let rows = tx.exec().events_after(ws, after, FANOUT_BATCH).await?;
            let Some(last) = rows.last().map(|r| r.seq) else {
                return Ok(());
            };
            let full = rows.len() as u64 == FANOUT_BATCH;
            let mut deliveries = Vec::new();
            for event in rows.into_iter().filter_map(|row| Event::from_log(ws, row)) {
                if !is_webhook_event(&event.kind) {
                    continue;
                }
                for target in targets.iter().filter(|t| t.wants(&event.kind)) {
                    deliveries.push(Self::new_delivery(
                        ws,
                        target.id.clone(),
                        &event.kind,
                        Some(event.seq),
                        Millis(event.at),
                        &event.data,
                        now,
                    ));
                }
            }
            self.insert_deliveries(&mut tx, &deliveries).await?;
            tx.exec().set_event_cursor(WEBHOOKS_CURSOR, ws, last).await?;
            tx.commit().await?;
            if !deliveries.is_empty() {
                self.wake_jobs();
            }
            if !full {
                return Ok(());
            }
        }
    }

    /// Wake the fan-out for every workspace whose cursor is behind its log
    /// (events a node committed and died before fanning out).
    pub(crate) async fn resume_webhook_fanout(&self) -> ServiceResult<()> {
        for ws in self.store().reader().lagging_cursors(WEBHOOKS_CURSOR).await? {
            self.inner.webhooks.wake(ws);
        }
        Ok(())
    }

    /// Drop this node's copy of a workspace's endpoints (or of all).
    pub(crate) fn forget_webhook_targets(&self, ws: Option<WorkspaceId>) {
        self.inner.webhooks.invalidate(ws);
    }

    async fn private_targets_allowed(&self, ws: WorkspaceId) -> ServiceResult<bool> {
        if self.config().allow_private_targets {
            return Ok(true);
        }
        Ok(self
            .store()
            .reader()
            .workspace_allows_private_targets(ws)
            .await?
            .unwrap_or(false))
    }

    /// A valid http(s) URL that is not a literal private target (unless
    /// those are allowed); names are checked again when they resolve. The
    /// one check for every URL a user gives us to call.
    pub(crate) async fn target_url(&self, ws: WorkspaceId, field: &'static str, raw: &str) -> ServiceResult<String> {
        let url = http_url(field, raw)?;
        let parsed: url::Url = url
            .parse()
            .map_err(|e| Invalid::new(field, format!("is not a valid URL: {e}")))?;
        if parsed.host_str().is_none_or(str::is_empty) {
            return Err(Invalid::new(field, "has no host").into());
        }
        if !self.private_targets_allowed(ws).await? {
            self.inner
                .webhooks
                .guarded
                .check(&parsed)
                .map_err(|e| Invalid::new(field, e.to_string()))?;
        }
        Ok(url)
    }

    // ----- endpoints -----

    pub async fn webhooks(&self, actor: &Actor) -> ServiceResult<Vec<Webhook>> {
        require_admin(actor)?;
        let rows = self.store().reader().webhooks(actor.workspace_id).await?;
        rows.iter().map(webhook_of).collect()
    }

    async fn webhook_row(&self, actor: &Actor, id: WebhookId) -> ServiceResult<WebhookRow> {
        require_admin(actor)?;
        self.store()
            .reader()
            .webhook(actor.workspace_id, id)
            .await?
            .ok_or(ServiceError::NotFound("webhook"))
    }

    pub async fn webhook(&self, actor: &Actor, id: WebhookId) -> ServiceResult<Webhook> {
        webhook_of(&self.webhook_row(actor, id).await?)
    }

    pub async fn create_webhook(&self, actor: &Actor, input: WebhookInput) -> ServiceResult<CreatedWebhook> {
        require_admin(actor)?;
        let ws = actor.workspace_id;
        let url = self.target_url(ws, "url", &input.url).await?;
        let events = event_filter(input.events)?;
        let description = description(input.description.as_deref())?;
        let secret = new_secret();
        let now = self.now();
        let row = WebhookRow {
            id: WebhookId::new().to_string(),
            workspace_id: ws.to_string(),
            url,
            secret: secret.clone(),
            events: serde_json::to_string(&events).unwrap_or_default(),
            enabled: input.enabled,
            description,
            created_at: now.0,
            updated_at: now.0,
        };
        let mut tx = self.store().begin().await?;
        tx.exec().insert_webhook(&row).await?;
        // Deliveries start with the events after this one.
        let head = tx.exec().event_bounds(ws).await?.map_or(0, |b| b.head);
        tx.exec().ensure_event_cursor(WEBHOOKS_CURSOR, ws, head).await?;
        self.audit(
            &mut tx,
            actor,
            "webhook.created",
            "webhook",
            row.id.clone(),
            serde_json::json!({ "url": row.url, "events": events }),
        )
        .await?;
        self.announce_cache_change(&mut tx, CacheChange::Webhooks(ws)).await?;
        tx.commit().await?;
        Ok(CreatedWebhook {
            webhook: webhook_of(&row)?,
            secret: Some(secret),
        })
    }

    pub async fn update_webhook(
        &self,
        actor: &Actor,
        id: WebhookId,
        update: WebhookUpdate,
    ) -> ServiceResult<CreatedWebhook> {
        let ws = actor.workspace_id;
        let mut row = self.webhook_row(actor, id).await?;
        if let Some(url) = &update.url {
            row.url = self.target_url(ws, "url", url).await?;
        }
        if update.events.is_some() {
            row.events = serde_json::to_string(&event_filter(update.events)?).unwrap_or_default();
        }
        if let Some(enabled) = update.enabled {
            row.enabled = enabled;
        }
        if let Some(d) = &update.description {
            row.description = description(Some(d))?;
        }
        let new_secret = update.rotate_secret.then(new_secret);
        if let Some(secret) = &new_secret {
            row.secret = secret.clone();
        }
        row.updated_at = self.now().0;
        let mut tx = self.store().begin().await?;
        if tx.exec().update_webhook(&row).await? == 0 {
            return Err(ServiceError::NotFound("webhook"));
        }
        self.audit(
            &mut tx,
            actor,
            "webhook.updated",
            "webhook",
            row.id.clone(),
            serde_json::json!({
                "url": row.url,
                "events": events_of(&row),
                "enabled": row.enabled,
                "rotated_secret": update.rotate_secret,
            }),
        )
        .await?;
        self.announce_cache_change(&mut tx, CacheChange::Webhooks(ws)).await?;
        tx.commit().await?;
        Ok(CreatedWebhook {
            webhook: webhook_of(&row)?,
            secret: new_secret,
        })
    }

    pub async fn delete_webhook(&self, actor: &Actor, id: WebhookId) -> ServiceResult<()> {
        require_admin(actor)?;
        let mut tx = self.store().begin().await?;
        if tx.exec().delete_webhook(actor.workspace_id, id).await? == 0 {
            return Err(ServiceError::NotFound("webhook"));
        }
        self.audit(
            &mut tx,
            actor,
            "webhook.deleted",
            "webhook",
            id.to_string(),
            serde_json::json!({}),
        )
        .await?;
        self.announce_cache_change(&mut tx, CacheChange::Webhooks(actor.workspace_id))
            .await?;
        tx.commit().await?;
        Ok(())
    }

    /// An endpoint's delivery log, newest first.
    pub async fn webhook_deliveries(
        &self,
        actor: &Actor,
        id: WebhookId,
        cursor: Option<WebhookDeliveryId>,
        limit: u64,
    ) -> ServiceResult<Page<WebhookDelivery>> {
        self.webhook_row(actor, id).await?;
        let page = self
            .store()
            .reader()
            .webhook_deliveries(actor.workspace_id, id, cursor, limit)
            .await?;
        Ok(Page {
            items: page.items.into_iter().map(delivery_of).collect::<ServiceResult<_>>()?,
            next_cursor: page.next_cursor,
        })
    }

    /// Send a `webhook.test` event to this endpoint only (also when it is
    /// disabled, so it can be tried before it goes live).
    pub async fn send_test_event(&self, actor: &Actor, id: WebhookId) -> ServiceResult<WebhookDelivery> {
        let row = self.webhook_row(actor, id).await?;
        let now = self.now();
        let data = serde_json::json!({
            "webhook_id": id,
            "message": "A test event from Switchboard.",
            "sent_by": actor.user_id,
        });
        let delivery = Self::new_delivery(actor.workspace_id, row.id, WEBHOOK_TEST_EVENT, None, now, &data, now);
        self.schedule_deliveries(std::slice::from_ref(&delivery)).await?;
        delivery_of(delivery)
    }

    // ----- workspace settings -----

    pub async fn workspace_settings(&self, actor: &Actor) -> ServiceResult<WorkspaceSettings> {
        require_admin(actor)?;
        let allow = self
            .store()
            .reader()
            .workspace_allows_private_targets(actor.workspace_id)
            .await?
            .ok_or(ServiceError::NotFound("workspace"))?;
        let routing = self.store().reader().workspace_routing(actor.workspace_id).await?;
        let retention_days = self
            .store()
            .reader()
            .workspace_retention_days(actor.workspace_id)
            .await?
            .ok_or(ServiceError::NotFound("workspace"))?;
        let monthly_archive = self
            .store()
            .reader()
            .workspace_monthly_archive(actor.workspace_id)
            .await?;
        let close_reasons = crate::kernel::close_reasons(&mut self.store().reader(), actor.workspace_id).await?;
        Ok(WorkspaceSettings {
            allow_private_targets: allow,
            routing,
            retention_days,
            monthly_archive,
            close_reasons,
        })
    }

    pub async fn update_workspace_settings(
        &self,
        actor: &Actor,
        update: WorkspaceSettingsUpdate,
    ) -> ServiceResult<WorkspaceSettings> {
        require_admin(actor)?;
        let ws = actor.workspace_id;
        let mut tx = self.store().begin().await?;
        let current = tx
            .exec()
            .workspace_allows_private_targets(ws)
            .await?
            .ok_or(ServiceError::NotFound("workspace"))?;
        let routing = update
            .routing
            .as_ref()
            .map(switchboard_core::routing::WorkspaceRouting::parse)
            .transpose()?;
        let retention_days = update
            .retention_days
            .as_ref()
            .map(crate::workspace::retention_days)
            .transpose()?;
        let mut settings = WorkspaceSettings {
            allow_private_targets: current,
            routing: tx.exec().workspace_routing(ws).await?,
            retention_days: tx
                .exec()
                .workspace_retention_days(ws)
                .await?
                .ok_or(ServiceError::NotFound("workspace"))?,
            monthly_archive: tx.exec().workspace_monthly_archive(ws).await?,
            close_reasons: crate::kernel::close_reasons(&mut tx.exec(), ws).await?,
        };
        let close_reasons = update
            .close_reasons
            .as_deref()
            .map(switchboard_core::validate::close_reasons)
            .transpose()?;
        if let Some(reasons) = close_reasons.filter(|r| *r != settings.close_reasons) {
            tx.exec().set_workspace_close_reasons(ws, &reasons).await?;
            self.audit(
                &mut tx,
                actor,
                "workspace.settings_changed",
                "workspace",
                ws.to_string(),
                serde_json::json!({ "close_reasons": reasons }),
            )
            .await?;
            settings.close_reasons = reasons;
        }
        if let Some(on) = update.monthly_archive.filter(|on| *on != settings.monthly_archive) {
            tx.exec().set_workspace_monthly_archive(ws, on).await?;
            self.audit(
                &mut tx,
                actor,
                "workspace.settings_changed",
                "workspace",
                ws.to_string(),
                serde_json::json!({ "monthly_archive": on }),
            )
            .await?;
            settings.monthly_archive = on;
        }
        if let Some(routing) = routing.filter(|r| *r != settings.routing) {
            tx.exec().set_workspace_routing(ws, &routing).await?;
            self.audit(
                &mut tx,
                actor,
                "workspace.routing_changed",
                "workspace",
                ws.to_string(),
                serde_json::to_value(&routing).unwrap_or_default(),
            )
            .await?;
            settings.routing = routing;
        }
        if let Some(allow) = update.allow_private_targets.filter(|a| *a != current) {
            tx.exec().set_workspace_allows_private_targets(ws, allow).await?;
            settings.allow_private_targets = allow;
            self.audit(
                &mut tx,
                actor,
                "workspace.settings_changed",
                "workspace",
                ws.to_string(),
                serde_json::json!({ "allow_private_targets": allow }),
            )
            .await?;
        }
        if let Some(days) = retention_days.filter(|d| *d != settings.retention_days) {
            tx.exec().set_workspace_retention_days(ws, days).await?;
            self.audit(
                &mut tx,
                actor,
                "workspace.settings_changed",
                "workspace",
                ws.to_string(),
                serde_json::json!({ "retention_days": days, "was": settings.retention_days }),
            )
            .await?;
            settings.retention_days = days;
        }
        tx.commit().await?;
        Ok(settings)
    }

    // ----- delivery (the job) -----

    pub(crate) async fn deliver_webhook(&self, job: &JobRow) -> Outcome {
        match self.try_deliver_webhook(job).await {
            Ok(outcome) => outcome,
            Err(ServiceError::NotFound(what)) => Outcome::Fail(format!("{what} no longer exists")),
            Err(e) => Outcome::Retry(e.to_string()),
        }
    }

    async fn record_attempt(
        &self,
        ws: WorkspaceId,
        id: WebhookDeliveryId,
        status: WebhookDeliveryStatus,
        response_status: Option<u16>,
        error: Option<&str>,
    ) -> ServiceResult<()> {
        let now = self.now();
        let mut tx = self.store().begin().await?;
        tx.exec()
            .record_webhook_attempt(
                ws,
                id,
                &WebhookAttempt {
                    status: status.as_str(),
                    response_status: response_status.map(i64::from),
                    last_error: error,
                    delivered_at: (status == WebhookDeliveryStatus::Succeeded).then_some(now),
                },
                now,
            )
            .await?;
        tx.commit().await?;
        Ok(())
    }

    /// POST a signed event (Standard Webhooks headers) to a URL an admin
    /// configured, through the guarded client unless the workspace allows
    /// private targets. Answers the response status, or why nothing was
    /// sent (`Refused`: do not retry) or it failed on the way (`Failed`).
    pub(crate) async fn post_signed(
        &self,
        ws: WorkspaceId,
        url: &str,
        secret: &str,
        id: &str,
        body: &str,
    ) -> ServiceResult<Result<reqwest::StatusCode, Posted>> {
        let http = if self.private_targets_allowed(ws).await? {
            &self.inner.webhooks.open
        } else {
            &self.inner.webhooks.guarded
        };
        let url: url::Url = match url.parse() {
            Ok(url) => url,
            Err(e) => return Ok(Err(Posted::Refused(format!("the URL is not valid: {e}")))),
        };
        if let Err(refused) = http.check(&url) {
            return Ok(Err(Posted::Refused(refused.to_string())));
        }
        let timestamp = self.now().0.div_euclid(1000);
        let Some(signature) = webhook_signature(secret, id, timestamp, body.as_bytes()) else {
            return Ok(Err(Posted::Refused("the secret is not valid; rotate it".into())));
        };
        let sent = http
            .client
            .post(url.clone())
            .header("content-type", "application/json")
            .header("webhook-id", id)
            .header("webhook-timestamp", timestamp.to_string())
            .header("webhook-signature", signature)
            .body(body.to_string())
            .send()
            .await;
        Ok(match sent {
            Ok(response) => Ok(response.status()),
            Err(e) if refused_by_resolver(&e) => {
                let host = url.host_str().unwrap_or_default();
                Err(Posted::Refused(format!(
                    "refused: {host} resolves to a loopback, private or link-local address; an admin can allow private targets in settings"
                )))
            }
            Err(e) => Err(Posted::Failed(format!("request failed: {e}"))),
        })
    }

    async fn try_deliver_webhook(&self, job: &JobRow) -> ServiceResult<Outcome> {
        let payload: DeliverPayload =
            serde_json::from_str(&job.payload).map_err(|e| ServiceError::Internal(e.to_string()))?;
        let ws = payload.workspace_id;
        let id = payload.delivery_id;
        let mut db = self.store().reader();
        let delivery = db
            .webhook_delivery(ws, id)
            .await?
            .ok_or(ServiceError::NotFound("webhook delivery"))?;
        if delivery.status != WebhookDeliveryStatus::Pending.as_str() {
            return Ok(Outcome::Done); // settled by an earlier attempt
        }
        let hook = db
            .webhook(ws, parse("webhook id", &delivery.webhook_id)?)
            .await?
            .ok_or(ServiceError::NotFound("webhook"))?;
        let fail = |reason: String| async move {
            self.record_attempt(ws, id, WebhookDeliveryStatus::Failed, None, Some(&reason))
                .await?;
            Ok::<_, ServiceError>(Outcome::Fail(reason))
        };
        if !hook.enabled && delivery.event_type != WEBHOOK_TEST_EVENT {
            return fail("the webhook is disabled".into()).await;
        }
        let status = match self
            .post_signed(ws, &hook.url, &hook.secret, &delivery.id, &delivery.payload)
            .await?
        {
            Ok(status) => status,
            Err(Posted::Refused(reason)) => return fail(reason).await,
            Err(Posted::Failed(reason)) => {
                self.record_attempt(ws, id, WebhookDeliveryStatus::Pending, None, Some(&reason))
                    .await?;
                return Ok(Outcome::Retry(reason));
            }
        };
        if status.is_success() {
            self.record_attempt(ws, id, WebhookDeliveryStatus::Succeeded, Some(status.as_u16()), None)
                .await?;
            return Ok(Outcome::Done);
        }
        let reason = format!("the endpoint answered {status}");
        if status.is_server_error() || matches!(status.as_u16(), 408 | 429) {
            self.record_attempt(
                ws,
                id,
                WebhookDeliveryStatus::Pending,
                Some(status.as_u16()),
                Some(&reason),
            )
            .await?;
            Ok(Outcome::Retry(reason))
        } else {
            self.record_attempt(
                ws,
                id,
                WebhookDeliveryStatus::Failed,
                Some(status.as_u16()),
                Some(&reason),
            )
            .await?;
            Ok(Outcome::Fail(reason))
        }
    }
}

/// Why a signed POST did not get a response.
pub(crate) enum Posted {
    /// Not sent and not worth retrying: a refused or malformed target.
    Refused(String),
    /// Sent but failed on the way (connection, timeout): retry.
    Failed(String),
}

/// Whether a request failed because its host name resolved only to
/// private addresses (the guarded resolver's refusal, deep in the chain).
fn refused_by_resolver(e: &reqwest::Error) -> bool {
    let mut source: Option<&(dyn std::error::Error + 'static)> = std::error::Error::source(e);
    while let Some(err) = source {
        if err.is::<switchboard_channels::net::PrivateTarget>() {
            return true;
        }
        source = err.source();
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ephemeral_events_do_not_go_to_webhooks() {
        assert!(is_webhook_event("message.created") && is_webhook_event("member.updated"));
        assert!(!is_webhook_event("conversation.typing") && !is_webhook_event("resync"));
    }

    #[test]
    fn filters_name_known_event_types() {
        assert_eq!(event_filter(None).unwrap(), ["*"]);
        assert_eq!(
            event_filter(Some(vec!["message.created".into(), "*".into()])).unwrap(),
            ["*"]
        );
        assert_eq!(
            event_filter(Some(vec!["message.created".into(), "message.created".into()])).unwrap(),
            ["message.created"]
        );
        assert!(event_filter(Some(vec![])).is_err());
        assert!(event_filter(Some(vec!["message.deleted".into()])).is_err());
    }

    #[test]
    fn secrets_and_signatures_follow_standard_webhooks() {
        let secret = new_secret();
        let key = BASE64.decode(secret.strip_prefix("whsec_").unwrap()).unwrap();
        assert_eq!(key.len(), 32);
        assert_ne!(secret, new_secret());
        // The example of the Standard Webhooks specification.
        let sig = webhook_signature(
            "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
            "msg_p5jXN8AQM9LWM0D4loKWxJek",
            1614265330,
            br#"{"test": 2432232314}"#,
        )
        .unwrap();
        assert_eq!(sig, "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=");
        assert!(webhook_signature("nope", "x", 1, b"").is_none());
    }
}
