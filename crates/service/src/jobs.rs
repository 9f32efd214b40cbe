//! The job worker: claims due jobs from the durable job table with a lease,
//! runs them, and records success, a retry with exponential backoff, or
//! death after the last attempt. A job whose worker died is claimed again
//! once its lease runs out.

use std::time::Duration;

use serde::Deserialize;
use switchboard_channels::{OutboundMessage, OutboundTemplate, SendError};
use switchboard_core::{ChannelKind, DeliveryStatus, Message, MessageId, MessageKind, UserId, WorkspaceId};
use switchboard_store::JobRow;

use crate::{ServiceError, ServiceResult, Services};

pub(crate) const DELIVER_MESSAGE: &str = "deliver_message";

/// What a `deliver_message` job carries. The conversation keeps one
/// conversation's messages in order (see [`Services::run_due_jobs`]).
pub(crate) fn deliver_payload(m: &Message) -> serde_json::Value {
    serde_json::json!({ "workspace_id": m.workspace_id, "conversation_id": m.conversation_id, "message_id": m.id })
}

/// How a job ended this time.
pub(crate) enum Outcome {
    Done,
    Retry(String),
    Fail(String),
}

pub(crate) fn spawn_worker(services: Services) {
    let weak = std::sync::Arc::downgrade(&services.inner);
    let poll = services.config().job_poll_interval;
    drop(services);
    tokio::spawn(async move {
        loop {
            let Some(inner) = weak.upgrade() else { break };
            let services = Services { inner };
            let ran = match services.run_due_jobs().await {
                Ok(n) => n,
                Err(e) => {
                    tracing::warn!(error = %e, "job worker could not claim jobs");
                    0
                }
            };
            if ran == 0 {
                let wake = services.clone();
                drop(services);
                tokio::select! {
                    _ = wake.inner.jobs_wake.notified() => {}
                    _ = tokio::time::sleep(poll) => {}
                }
            }
        }
    });
}

impl Services {
    /// Delay before the next attempt: the base doubling per attempt, capped.
    fn backoff(&self, attempts: i64) -> Duration {
        let base = self.config().retry_base;
        let factor = 1u32 << (attempts.clamp(1, 20) - 1);
        base.saturating_mul(factor).min(self.config().retry_max)
    }

    async fn ensure_periodic(&self, now: switchboard_core::Millis) -> ServiceResult<()> {
        self.ensure_sweep(now).await?;
        self.ensure_purge(now).await
    }

    /// Claim and run the jobs due now; returns how many ran.
    pub async fn run_due_jobs(&self) -> ServiceResult<usize> {
        let now = self.now();
        // The first worker run makes sure the periodic timers exist: the
        // routing sweep and the retention purge.
        if !self
            .inner
            .sweep_scheduled
            .swap(true, std::sync::atomic::Ordering::SeqCst)
            && let Err(e) = self.ensure_periodic(now).await
        {
            self.inner
                .sweep_scheduled
                .store(false, std::sync::atomic::Ordering::SeqCst);
            return Err(e);
        }
        let lease = self.config().job_lease.as_millis() as i64;
        let mut tx = self.store().begin().await?;
        let jobs = tx.exec().claim_jobs(now, lease, 32).await?;
        tx.commit().await?;
        let count = jobs.len();
        // Messages of one conversation go out one after another, in the
        // order they were written (a bot's greeting before its menu); all
        // else runs side by side.
        let mut lanes: Vec<Vec<JobRow>> = Vec::new();
        let mut lane_of: std::collections::HashMap<switchboard_core::ConversationId, usize> =
            std::collections::HashMap::new();
        let mut jobs = jobs;
        jobs.sort_by(|a, b| (a.run_at, &a.id).cmp(&(b.run_at, &b.id)));
        for job in jobs {
            let conversation = (job.kind == DELIVER_MESSAGE)
                .then(|| serde_json::from_str::<DeliverPayload>(&job.payload).ok())
                .flatten()
                .and_then(|p| p.conversation_id);
            match conversation.and_then(|c| lane_of.get(&c).copied()) {
                Some(lane) => lanes[lane].push(job),
                None => {
                    if let Some(c) = conversation {
                        lane_of.insert(c, lanes.len());
                    }
                    lanes.push(vec![job]);
                }
            }
        }
        futures::future::join_all(lanes.into_iter().map(|lane| async move {
            for job in lane {
                self.run_job(job).await;
            }
        }))
        .await;
        Ok(count)
    }

    async fn run_job(&self, job: JobRow) {
        let outcome = if job.attempts > job.max_attempts {
            Outcome::Fail(job.last_error.clone().unwrap_or_else(|| "gave up".into()))
        } else {
            match job.kind.as_str() {
                DELIVER_MESSAGE => self.deliver(&job).await,
                crate::webhooks::DELIVER_WEBHOOK => self.deliver_webhook(&job).await,
                crate::timers::SWEEP => self.run_sweep().await,
                crate::timers::WAKE_SNOOZED => self.wake_snoozed(&job).await,
                crate::retention::PURGE => self.run_purge().await,
                crate::bots::BOT_TURN => self.run_bot_turn(&job).await,
                other => Outcome::Fail(format!("unknown job kind {other:?}")),
            }
        };
        if let Err(e) = self.finish(&job, outcome).await {
            // The lease runs out and the job is claimed again.
            tracing::warn!(job = %job.id, error = %e, "could not record the end of a job");
        }
    }

    async fn finish(&self, job: &JobRow, outcome: Outcome) -> ServiceResult<()> {
        let now = self.now();
        let mut tx = self.store().begin().await?;
        let final_error = match outcome {
            Outcome::Done => {
                tx.exec().finish_job(&job.id, now).await?;
                None
            }
            Outcome::Retry(error) if job.attempts < job.max_attempts => {
                let at = now.plus_ms(self.backoff(job.attempts).as_millis() as i64);
                tx.exec().fail_job(&job.id, &error, Some(at), now).await?;
                None
            }
            Outcome::Retry(error) | Outcome::Fail(error) => {
                tx.exec().fail_job(&job.id, &error, None, now).await?;
                Some(error)
            }
        };
        if let (Some(error), DELIVER_MESSAGE) = (&final_error, job.kind.as_str())
            && let Ok(payload) = serde_json::from_str::<DeliverPayload>(&job.payload)
        {
            tx.exec()
                .set_delivery(payload.message_id, DeliveryStatus::Failed, None, Some(error))
                .await?;
            tx.commit().await?;
            self.emit_delivery(payload.workspace_id, payload.message_id).await;
            return Ok(());
        }
        if let (Some(error), crate::webhooks::DELIVER_WEBHOOK) = (&final_error, job.kind.as_str()) {
            crate::webhooks::gave_up(&mut tx, &job.payload, error, now).await?;
        }
        tx.commit().await?;
        // A bot that cannot answer must not leave the customer waiting.
        if final_error.is_some() && job.kind == crate::bots::BOT_TURN {
            self.bot_turn_gave_up(&job.payload).await;
        }
        Ok(())
    }

    async fn deliver(&self, job: &JobRow) -> Outcome {
        match self.try_deliver(job).await {
            Ok(outcome) => outcome,
            Err(ServiceError::NotFound(what)) => Outcome::Fail(format!("{what} no longer exists")),
            Err(e) => Outcome::Retry(e.to_string()),
        }
    }

    async fn try_deliver(&self, job: &JobRow) -> ServiceResult<Outcome> {
        let payload: DeliverPayload =
            serde_json::from_str(&job.payload).map_err(|e| ServiceError::Internal(e.to_string()))?;
        let ws = payload.workspace_id;
        let mut db = self.store().reader();
        let message = db
            .message(ws, payload.message_id)
            .await?
            .ok_or(ServiceError::NotFound("message"))?;
        if message.delivery_status == Some(DeliveryStatus::Scheduled) {
            match self.release_scheduled(&message).await? {
                crate::schedule::Released::Queued => {}
                crate::schedule::Released::Cancelled => return Ok(Outcome::Done),
                crate::schedule::Released::Refused(why) => return Ok(Outcome::Fail(why)),
            }
        } else if message.delivery_status != Some(DeliveryStatus::Queued) {
            return Ok(Outcome::Done); // delivered by an earlier attempt, or cancelled
        }
        let conversation = db
            .conversation(ws, message.conversation_id)
            .await?
            .ok_or(ServiceError::NotFound("conversation"))?;
        let channel = db
            .channel(ws, conversation.channel_id)
            .await?
            .ok_or(ServiceError::NotFound("channel"))?;
        let contact = db
            .contact(ws, conversation.contact_id)
            .await?
            .ok_or(ServiceError::NotFound("contact"))?;
        let Some(recipient) = contact
            .identities
            .iter()
            .find(|i| i.channel_id == conversation.channel_id)
        else {
            return Ok(Outcome::Fail("the contact has no identity on this channel".into()));
        };
        let sender_name = match message.sender_id.as_deref().and_then(|s| s.parse::<UserId>().ok()) {
            Some(user) => db.user(user).await?.map(|u| u.name),
            None => None,
        };
        let in_reply_to = match message.in_reply_to {
            Some(id) => db.message(ws, id).await?.and_then(|m| m.provider_message_id),
            None => None,
        };
        let kind: ChannelKind = channel.to_domain()?.kind;
        let attachments = match (message.kind, kind, channel.secret.as_deref()) {
            (MessageKind::Media, ChannelKind::Api, Some(secret)) => db
                .attachments_of_messages(ws, &[message.id])
                .await?
                .iter()
                .map(|a| self.file_link(conversation.channel_id, secret, a))
                .collect(),
            _ => Vec::new(),
        };
        let outbound = OutboundMessage {
            message_id: message.id.to_string(),
            conversation_id: conversation.id.to_string(),
            recipient_external_id: recipient.external_id.clone(),
            text: message.body.clone().unwrap_or_default(),
            sender_name,
            in_reply_to,
            created_at: message.created_at,
            buttons: message.buttons.clone(),
            template: message.template.as_ref().map(|t| OutboundTemplate {
                name: t.name.clone(),
                language: t.language.clone(),
                params: t.params.clone(),
            }),
            attachments,
        };
        let sent = match kind {
            ChannelKind::Api => {
                let (Some(url), Some(secret)) = (channel.callback_url.as_deref(), channel.secret.as_deref()) else {
                    return Ok(Outcome::Fail("the channel has no callback URL".into()));
                };
                switchboard_channels::api::send(&self.inner.http, url, secret, &job.id, self.now(), &outbound).await
            }
            // Stored and published: the visitor's widget picks it up live or on
            // its next load, and reports delivered and read itself.
            ChannelKind::Web => Ok(switchboard_channels::Sent::default()),
            other => Err(SendError::Permanent(format!(
                "no outbound adapter for {other} channels"
            ))),
        };
        match sent {
            Ok(sent) => {
                let mut tx = self.store().begin().await?;
                tx.exec()
                    .set_delivery(
                        message.id,
                        DeliveryStatus::Sent,
                        sent.provider_message_id.as_deref(),
                        None,
                    )
                    .await?;
                tx.commit().await?;
                self.emit_delivery(ws, message.id).await;
                Ok(Outcome::Done)
            }
            Err(SendError::Retryable(e)) => Ok(Outcome::Retry(e)),
            Err(SendError::Permanent(e)) => Ok(Outcome::Fail(e)),
        }
    }
}

#[derive(Debug, Deserialize)]
struct DeliverPayload {
    workspace_id: WorkspaceId,
    /// Left out by jobs queued before it was added.
    #[serde(default)]
    conversation_id: Option<switchboard_core::ConversationId>,
    message_id: MessageId,
}
