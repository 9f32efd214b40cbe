//! AI assist in the composer (DESIGN.md §11): rephrase, tone, expand and
//! translate the agent's draft, summarize a conversation, through the
//! workspace's OpenAI-compatible provider. Only what the agent chose is
//! sent (the draft, or the conversation for a summary, notes only when the
//! admin allows), contact identifiers masked by default; the answer comes
//! back to the agent, never to a customer; every call is recorded.

mod client;
mod seal;

use std::time::{Duration, Instant};

use futures::Stream;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use switchboard_core::assist::{self, Action, ChatMessage, Feature, Summary, Turn};
use switchboard_core::permissions::Actor;
use switchboard_core::validate::Invalid;
use switchboard_core::{ConversationId, Direction, MessageKind, Millis, SenderKind};
use switchboard_store::{AssistCallRow, AssistSettingsRow};

pub use client::ProviderError;
use client::{Completion, Provider};

use crate::authz::require_admin;
use crate::kernel::scope;
use crate::{MessageQuery, ServiceError, ServiceResult, Services};

/// Calls one member may make per minute, and one workspace.
const PER_USER_PER_MINUTE: u64 = 20;
const PER_WORKSPACE_PER_MINUTE: u64 = 200;

/// A workspace's provider as admins set it. `api_key`: leave it out to
/// keep the stored one, `""` to remove it; it is never shown again.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct AssistSettingsInput {
    /// The chat-completions base, e.g. `https://api.openai.com/v1` or
    /// `http://127.0.0.1:8081/v1` for a local llama.cpp server.
    #[schemars(regex(
        pattern = r"^https?://[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}(:[1-9][0-9]{0,3})?(/[A-Za-z0-9._~/-]*)?$"
    ))]
    pub base_url: String,
    #[schemars(regex(pattern = r"^[^\s\x00-\x1f\x7f][^\x00-\x1f\x7f]{0,150}$"))]
    pub model: String,
    #[schemars(regex(pattern = r"^[^\x00-\x1f\x7f]{0,500}$"))]
    pub api_key: Option<String>,
    /// 1 to 120 seconds (default 30).
    #[schemars(range(min = 1, max = 120))]
    pub timeout_seconds: Option<u64>,
    /// The actions offered (default: all).
    pub features: Option<Vec<Feature>>,
    /// Send private notes with a conversation to summarize (default no).
    #[serde(default)]
    pub send_notes: bool,
    /// Mask e-mail addresses and phone numbers before sending (default yes).
    pub mask_contacts: Option<bool>,
    /// Keep the text sent and received in the call log (default no).
    #[serde(default)]
    pub record_text: bool,
}

/// A workspace's provider as shown: the key only as "set".
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct AssistSettingsView {
    pub configured: bool,
    pub base_url: String,
    pub model: String,
    pub has_api_key: bool,
    pub timeout_seconds: u64,
    pub features: Vec<Feature>,
    pub send_notes: bool,
    pub mask_contacts: bool,
    pub record_text: bool,
}

/// What the agent asks for, on what: the draft for a rewrite; a summary
/// reads the conversation.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
pub struct AssistRequest {
    #[serde(flatten)]
    pub action: Action,
    #[serde(default)]
    pub draft: String,
}

/// The result for the agent to accept or discard: `text` for a rewrite,
/// `summary` (and its note text in `text`) for a summary.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct AssistAnswer {
    pub text: String,
    pub summary: Option<Summary>,
}

/// An event of a streamed answer.
#[derive(Debug, Clone, Serialize, JsonSchema)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum AssistEvent {
    /// More text as the model writes it (shown, not yet checked).
    Delta { text: String },
    /// The checked answer.
    Done { answer: AssistAnswer },
    /// Nothing to accept; `message` says why.
    Failed { code: String, message: String },
}

/// What "test connection" found.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct AssistCheck {
    pub ok: bool,
    /// `ok`, or what failed: `dns`, `refused`, `tls`, `unauthorized`,
    /// `model_not_found`, `timeout`, `not_compatible`, …
    pub code: String,
    pub message: String,
    pub latency_ms: u64,
}

/// One call in the log.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct AssistCall {
    pub id: String,
    pub user_id: String,
    pub conversation_id: Option<String>,
    pub action: String,
    pub model: String,
    pub prompt_tokens: Option<i64>,
    pub completion_tokens: Option<i64>,
    pub latency_ms: i64,
    pub outcome: String,
    /// Only when the admin keeps texts.
    pub input_text: Option<String>,
    pub output_text: Option<String>,
    pub created_at: Millis,
}

struct Settings {
    row: AssistSettingsRow,
    features: Vec<Feature>,
}

/// A call ready to go.
struct Prepared {
    provider: Provider,
    messages: Vec<ChatMessage>,
    action: Action,
    conversation: ConversationId,
    record_text: bool,
}

fn features_of(raw: &str) -> Vec<Feature> {
    serde_json::from_str(raw).unwrap_or_else(|_| Feature::ALL.to_vec())
}

fn not_set_up() -> ServiceError {
    ServiceError::Stale(Invalid::new(
        "action",
        "AI assist is not set up for this workspace (an admin sets it up in Admin › AI assist)",
    ))
}

fn provider_failed(e: &ProviderError) -> ServiceError {
    match e {
        ProviderError::RateLimited(s) => ServiceError::RateLimited { retry_after_secs: *s },
        other => ServiceError::Upstream(format!("AI provider: {other}")),
    }
}

/// The answer the agent may accept, from the model's text.
fn checked(action: &Action, raw: &str) -> ServiceResult<AssistAnswer> {
    let unusable = |e: assist::AnswerError| ServiceError::Upstream(format!("AI provider: {e}"));
    match action {
        Action::Summarize => {
            let summary = assist::parse_summary(raw).map_err(unusable)?;
            Ok(AssistAnswer {
                text: summary.as_note(),
                summary: Some(summary),
            })
        }
        _ => Ok(AssistAnswer {
            text: assist::clean_rewrite(raw).map_err(unusable)?,
            summary: None,
        }),
    }
}

impl Services {
    fn secret_key(&self) -> Option<&[u8; 32]> {
        self.config().secret_key.as_ref()
    }

    async fn stored_settings(&self, actor: &Actor) -> ServiceResult<Option<Settings>> {
        Ok(self
            .store()
            .reader()
            .assist_settings(actor.workspace_id)
            .await?
            .map(|row| Settings {
                features: features_of(&row.features),
                row,
            }))
    }

    pub async fn assist_settings(&self, actor: &Actor) -> ServiceResult<AssistSettingsView> {
        require_admin(actor)?;
        Ok(match self.stored_settings(actor).await? {
            None => AssistSettingsView {
                configured: false,
                base_url: String::new(),
                model: String::new(),
                has_api_key: false,
                timeout_seconds: 30,
                features: Feature::ALL.to_vec(),
                send_notes: false,
                mask_contacts: true,
                record_text: false,
            },
            Some(s) => AssistSettingsView {
                configured: true,
                base_url: s.row.base_url,
                model: s.row.model,
                has_api_key: s.row.api_key_sealed.is_some(),
                timeout_seconds: (s.row.timeout_ms / 1000).max(1) as u64,
                features: s.features,
                send_notes: s.row.send_notes,
                mask_contacts: s.row.mask_contacts,
                record_text: s.row.record_text,
            },
        })
    }

    /// Which actions the caller's composer offers (empty: none set up).
    pub async fn assist_features(&self, actor: &Actor) -> ServiceResult<Vec<Feature>> {
        Ok(self
            .stored_settings(actor)
            .await?
            .map(|s| s.features)
            .unwrap_or_default())
    }

    pub async fn update_assist_settings(
        &self,
        actor: &Actor,
        input: AssistSettingsInput,
    ) -> ServiceResult<AssistSettingsView> {
        require_admin(actor)?;
        let ws = actor.workspace_id;
        let base_url = switchboard_core::validate::http_url("base_url", &input.base_url)?;
        let parsed = url::Url::parse(&base_url).map_err(|_| Invalid::new("base_url", "is not a valid URL"))?;
        if let Err(e) = self.outbound_for(self.allows_private(actor).await?).check(&parsed) {
            return Err(Invalid::new(
                "base_url",
                format!(
                    "{} is a private address; allow private targets in the workspace settings for a local server",
                    e.0
                ),
            )
            .into());
        }
        let model = input.model.trim().to_owned();
        if model.is_empty() || model.chars().count() > 200 || model.chars().any(char::is_control) {
            return Err(Invalid::new("model", "the model's name, 1 to 200 characters").into());
        }
        let timeout = input.timeout_seconds.unwrap_or(30);
        if !(1..=120).contains(&timeout) {
            return Err(Invalid::new("timeout_seconds", "from 1 to 120 seconds").into());
        }
        let mut features = input.features.unwrap_or_else(|| Feature::ALL.to_vec());
        features.sort_by_key(|f| f.as_str());
        features.dedup();
        let current = self.stored_settings(actor).await?;
        let api_key_sealed = match input.api_key.as_deref().map(str::trim) {
            None => current.as_ref().and_then(|s| s.row.api_key_sealed.clone()),
            Some("") => None,
            Some(key) if key.len() > 1000 || key.chars().any(char::is_control) => {
                return Err(Invalid::new("api_key", "is not a valid API key").into());
            }
            Some(key) => {
                let secret = self.secret_key().ok_or_else(|| {
                    Invalid::new(
                        "api_key",
                        "this server has no secret key to seal it with (SWITCHBOARD_SECRET_KEY); ask the operator",
                    )
                })?;
                Some(seal::seal(secret, ws, key)?)
            }
        };
        let row = AssistSettingsRow {
            base_url,
            model,
            api_key_sealed,
            timeout_ms: (timeout * 1000) as i64,
            features: serde_json::to_string(&features).unwrap_or_else(|_| "[]".into()),
            send_notes: input.send_notes,
            mask_contacts: input.mask_contacts.unwrap_or(true),
            record_text: input.record_text,
            updated_at: self.now().0,
        };
        let mut tx = self.store().begin().await?;
        tx.exec().put_assist_settings(ws, &row).await?;
        let details = serde_json::json!({
            "base_url": row.base_url, "model": row.model, "features": features,
            "api_key_changed": input.api_key.is_some(), "send_notes": row.send_notes,
            "mask_contacts": row.mask_contacts, "record_text": row.record_text,
        });
        self.audit(
            &mut tx,
            actor,
            "assist.settings_changed",
            "workspace",
            ws.to_string(),
            details,
        )
        .await?;
        tx.commit().await?;
        self.assist_settings(actor).await
    }

    fn outbound_for(&self, allow_private: bool) -> switchboard_channels::net::OutboundHttp {
        let (guarded, open) = &self.inner.assist_http;
        if allow_private { open.clone() } else { guarded.clone() }
    }

    async fn provider(&self, actor: &Actor, s: &Settings) -> ServiceResult<Provider> {
        let api_key = match (&s.row.api_key_sealed, self.secret_key()) {
            (None, _) => None,
            (Some(sealed), Some(secret)) => Some(seal::open(secret, actor.workspace_id, sealed)?),
            (Some(_), None) => {
                return Err(ServiceError::Internal(
                    "an API key is stored but this server has no secret key to open it".into(),
                ));
            }
        };
        Ok(Provider {
            base_url: s.row.base_url.clone(),
            model: s.row.model.clone(),
            api_key,
            timeout: Duration::from_millis(s.row.timeout_ms.max(1000) as u64),
        })
    }

    /// A tiny request to the configured provider: says exactly what failed.
    pub async fn test_assist(&self, actor: &Actor) -> ServiceResult<AssistCheck> {
        require_admin(actor)?;
        let settings = self.stored_settings(actor).await?.ok_or_else(not_set_up)?;
        let provider = self.provider(actor, &settings).await?;
        let http = self.provider_http(actor).await?;
        let started = Instant::now();
        let messages = vec![ChatMessage {
            role: "user".into(),
            content: "Reply with the word OK.".into(),
        }];
        let result = provider.complete(&http, &messages, false).await;
        let latency_ms = started.elapsed().as_millis() as u64;
        Ok(match result {
            Ok(_) => AssistCheck {
                ok: true,
                code: "ok".into(),
                message: format!(
                    "{} answered with model {} in {latency_ms} ms",
                    provider.base_url, provider.model
                ),
                latency_ms,
            },
            Err(e) => AssistCheck {
                ok: false,
                code: e.code().into(),
                message: e.to_string(),
                latency_ms,
            },
        })
    }

    /// Everything a call needs, checked: reach, the feature, the rate
    /// limits, the input; the text masked.
    async fn prepare_assist(&self, actor: &Actor, id: ConversationId, req: AssistRequest) -> ServiceResult<Prepared> {
        let conversation = self.conversation(actor, id).await?;
        let summarizing = req.action == Action::Summarize;
        if !summarizing && !actor.can_message_customer(&scope(&conversation)) {
            return Err(ServiceError::Forbidden(
                "only the assigned agent (or an admin) drafts replies in this chat",
            ));
        }
        let settings = self.stored_settings(actor).await?.ok_or_else(not_set_up)?;
        let feature = req.action.feature();
        if !settings.features.contains(&feature) {
            return Err(ServiceError::Stale(Invalid::new(
                "action",
                format!("{} is turned off for this workspace", feature.as_str()),
            )));
        }
        if let Action::Translate { language } = &req.action {
            assist::language(language.as_deref())?;
        }
        let draft = req.draft.trim().to_owned();
        if !summarizing && draft.is_empty() {
            return Err(Invalid::new("draft", "write something first").into());
        }
        if draft.chars().count() > assist::MAX_INPUT_CHARS {
            return Err(Invalid::new("draft", format!("at most {} characters", assist::MAX_INPUT_CHARS)).into());
        }
        self.check_assist_rate(actor).await?;
        let mask = |t: &str| {
            if settings.row.mask_contacts {
                assist::mask(t)
            } else {
                t.to_owned()
            }
        };
        let needs_turns = summarizing || matches!(&req.action, Action::Translate { language: None });
        let turns = if needs_turns {
            self.turns(actor, id, settings.row.send_notes)
                .await?
                .into_iter()
                .map(|t| Turn {
                    text: mask(&t.text),
                    ..t
                })
                .collect()
        } else {
            Vec::new()
        };
        let messages = assist::prompt(&req.action, &mask(&draft), &turns);
        let provider = self.provider(actor, &settings).await?;
        Ok(Prepared {
            provider,
            messages,
            action: req.action,
            conversation: id,
            record_text: settings.row.record_text,
        })
    }

    /// The conversation's latest turns, oldest first.
    async fn turns(&self, actor: &Actor, id: ConversationId, notes: bool) -> ServiceResult<Vec<Turn>> {
        let page = self
            .messages(
                actor,
                id,
                MessageQuery {
                    cursor: None,
                    limit: Some(200),
                    order: Some("desc".into()),
                },
            )
            .await?;
        Ok(page
            .items
            .into_iter()
            .rev()
            .filter_map(|m| {
                let who = match (m.kind, m.direction, m.sender_kind) {
                    (MessageKind::Activity, ..) => return None,
                    (MessageKind::Note | MessageKind::Comment, ..) if !notes => return None,
                    (MessageKind::Note | MessageKind::Comment, ..) => "Note",
                    (_, Direction::In, _) => "Customer",
                    (_, Direction::Out, SenderKind::Bot) => "Bot",
                    (_, Direction::Out, _) => "Agent",
                };
                let text = m.body.clone().filter(|b| !b.trim().is_empty())?;
                Some(Turn { who, text })
            })
            .collect())
    }

    async fn check_assist_rate(&self, actor: &Actor) -> ServiceResult<()> {
        let since = Millis(self.now().0 - 60_000);
        let mut reader = self.store().reader();
        let user = actor.user_id.to_string();
        let mine = reader
            .assist_calls_since(actor.workspace_id, Some(&user), since)
            .await?;
        let all = reader.assist_calls_since(actor.workspace_id, None, since).await?;
        if mine >= PER_USER_PER_MINUTE || all >= PER_WORKSPACE_PER_MINUTE {
            return Err(ServiceError::RateLimited { retry_after_secs: 60 });
        }
        Ok(())
    }

    async fn record_call(
        &self,
        actor: &Actor,
        p: &Prepared,
        outcome: &str,
        done: Option<&Completion>,
        latency: Duration,
    ) -> ServiceResult<()> {
        let input = p.record_text.then(|| {
            p.messages
                .iter()
                .map(|m| format!("{}: {}", m.role, m.content))
                .collect::<Vec<_>>()
                .join("\n")
        });
        let row = AssistCallRow {
            id: uuid::Uuid::now_v7().to_string(),
            user_id: actor.user_id.to_string(),
            conversation_id: Some(p.conversation.to_string()),
            action: p.action.name(),
            model: p.provider.model.clone(),
            prompt_tokens: done.and_then(|c| c.prompt_tokens),
            completion_tokens: done.and_then(|c| c.completion_tokens),
            latency_ms: latency.as_millis() as i64,
            outcome: outcome.to_owned(),
            input_text: input,
            output_text: done.filter(|_| p.record_text).map(|c| c.text.clone()),
            created_at: self.now().0,
        };
        let mut tx = self.store().begin().await?;
        tx.exec().insert_assist_call(actor.workspace_id, &row).await?;
        tx.commit().await?;
        tracing::info!(
            workspace = %actor.workspace_id, user = %actor.user_id, action = %row.action,
            model = %row.model, outcome, latency_ms = row.latency_ms, "assist call"
        );
        Ok(())
    }

    /// Run an action and answer when the model is done.
    pub async fn assist(&self, actor: &Actor, id: ConversationId, req: AssistRequest) -> ServiceResult<AssistAnswer> {
        let p = self.prepare_assist(actor, id, req).await?;
        let _slot = self.assist_slot().await?;
        let http = self.provider_http(actor).await?;
        let started = Instant::now();
        let result = p
            .provider
            .complete(&http, &p.messages, p.action == Action::Summarize)
            .await;
        match result {
            Ok(done) => match checked(&p.action, &done.text) {
                Ok(answer) => {
                    self.record_call(actor, &p, "ok", Some(&done), started.elapsed())
                        .await?;
                    Ok(answer)
                }
                Err(e) => {
                    self.record_call(actor, &p, "unusable_answer", Some(&done), started.elapsed())
                        .await?;
                    Err(e)
                }
            },
            Err(e) => {
                self.record_call(actor, &p, e.code(), None, started.elapsed()).await?;
                Err(provider_failed(&e))
            }
        }
    }

    /// Run an action and stream its text as it comes, then the checked
    /// answer. Dropping the stream cancels the request to the provider.
    pub async fn assist_stream(
        &self,
        actor: &Actor,
        id: ConversationId,
        req: AssistRequest,
    ) -> ServiceResult<impl Stream<Item = AssistEvent> + Send + 'static> {
        let p = self.prepare_assist(actor, id, req).await?;
        let http = self.provider_http(actor).await?;
        let slot = self.assist_slot().await?;
        let (tx, rx) = tokio::sync::mpsc::channel::<AssistEvent>(64);
        let services = self.clone();
        let actor = actor.clone();
        tokio::spawn(async move {
            let _slot = slot;
            let started = Instant::now();
            let deltas = tx.clone();
            let result = p
                .provider
                .stream(&http, &p.messages, |piece| {
                    still_listening(deltas.try_send(AssistEvent::Delta { text: piece.to_owned() }))
                })
                .await;
            let (event, outcome, done) = match result {
                _ if tx.is_closed() => (None, "cancelled".to_owned(), None),
                Ok(done) => match checked(&p.action, &done.text) {
                    Ok(answer) => (Some(AssistEvent::Done { answer }), "ok".to_owned(), Some(done)),
                    Err(e) => (
                        Some(AssistEvent::Failed {
                            code: "unusable_answer".into(),
                            message: e.to_string(),
                        }),
                        "unusable_answer".to_owned(),
                        Some(done),
                    ),
                },
                Err(e) => (
                    Some(AssistEvent::Failed {
                        code: e.code().into(),
                        message: format!("AI provider: {e}"),
                    }),
                    e.code().to_owned(),
                    None,
                ),
            };
            if let Some(event) = event {
                let _ = tx.send(event).await;
            }
            if let Err(e) = services
                .record_call(&actor, &p, &outcome, done.as_ref(), started.elapsed())
                .await
            {
                tracing::warn!(error = %e, "recording an assist call failed");
            }
        });
        Ok(tokio_stream_of(rx))
    }

    /// Whether the workspace (or the whole server) lets calls reach private addresses.
    async fn allows_private(&self, actor: &Actor) -> ServiceResult<bool> {
        Ok(self.config().allow_private_targets
            || self
                .store()
                .reader()
                .workspace_allows_private_targets(actor.workspace_id)
                .await?
                .unwrap_or(false))
    }

    async fn provider_http(&self, actor: &Actor) -> ServiceResult<reqwest::Client> {
        Ok(self.outbound_for(self.allows_private(actor).await?).client)
    }

    /// A place in the AI lane: at most the lane's size of calls run at once on this node.
    async fn assist_slot(&self) -> ServiceResult<tokio::sync::OwnedSemaphorePermit> {
        self.inner
            .assist_slots
            .clone()
            .acquire_owned()
            .await
            .map_err(|_| ServiceError::Unavailable)
    }

    /// The workspace's calls, newest first (admin).
    pub async fn assist_calls(
        &self,
        actor: &Actor,
        cursor: Option<String>,
        limit: Option<u64>,
    ) -> ServiceResult<crate::Page<AssistCall>> {
        require_admin(actor)?;
        let limit = crate::conversations::limit(limit)?;
        let page = self
            .store()
            .reader()
            .assist_calls(actor.workspace_id, cursor.as_deref(), limit)
            .await?;
        Ok(crate::Page {
            items: page
                .items
                .into_iter()
                .map(|r| AssistCall {
                    id: r.id,
                    user_id: r.user_id,
                    conversation_id: r.conversation_id,
                    action: r.action,
                    model: r.model,
                    prompt_tokens: r.prompt_tokens,
                    completion_tokens: r.completion_tokens,
                    latency_ms: r.latency_ms,
                    outcome: r.outcome,
                    input_text: r.input_text,
                    output_text: r.output_text,
                    created_at: Millis(r.created_at),
                })
                .collect(),
            next_cursor: page.next_cursor,
        })
    }
}

/// Whether the listener is still there after offering it a delta (a full
/// buffer drops the delta: the checked answer at the end carries the whole
/// text anyway).
fn still_listening<T>(sent: Result<(), tokio::sync::mpsc::error::TrySendError<T>>) -> bool {
    !matches!(sent, Err(tokio::sync::mpsc::error::TrySendError::Closed(_)))
}

fn tokio_stream_of<T: Send + 'static>(
    mut rx: tokio::sync::mpsc::Receiver<T>,
) -> impl Stream<Item = T> + Send + 'static {
    futures::stream::poll_fn(move |cx| rx.poll_recv(cx))
}
