//! Sending a campaign: a job in the bulk lane, never the delivery lane, so
//! customer replies do not wait behind it. Campaigns of one number run one
//! after another (the job's ordering key is the channel), so the rate is
//! per number. Each tick claims up to the rate's worth of recipients (their
//! conversation and message stored in the claiming transaction), sends
//! them, records each outcome, and waits out the second. A run hands over
//! to a fresh job every few seconds, well within its lease.
//!
//! Nobody gets the campaign twice: a recipient is `sending` from its claim
//! until its outcome is stored; one found `sending` when a run starts was
//! cut off mid-send (the server stopped) and is failed, not sent again.

use std::sync::Arc;
use std::time::{Duration, Instant};

use futures::StreamExt;
use serde::{Deserialize, Serialize};
use switchboard_channels::{ChannelAdapter, OutboundMessage, OutboundTemplate, SendContext, SendError};
use switchboard_core::campaign::{Campaign, CampaignRecipient, CampaignStatus, RecipientStatus};
use switchboard_core::lifecycle::{self, MessageAuthor};
use switchboard_core::template::{self, ButtonValue, HeaderValue, MessageTemplate, SentTemplate, TemplateStatus};
use switchboard_core::{
    CampaignId, ChannelId, Contact, ContactIdentity, Conversation, DeliveryStatus, Direction, Message, MessageId,
    MessageKind, Millis, SenderKind, WorkspaceId,
};
use switchboard_store::{ChannelRow, Exec, JobRow};

use crate::jobs::{BoxFuture, Job, Lane, Outcome};
use crate::kernel::{activity_message, new_conversation};
use crate::outbound::LIMITED_ATTEMPTS;
use crate::{ServiceError, ServiceResult, Services};

/// Run (part of) a campaign.
pub(crate) struct RunCampaign;

#[derive(Debug, Serialize, Deserialize)]
pub(crate) struct RunPayload {
    pub workspace_id: WorkspaceId,
    pub campaign_id: CampaignId,
    pub channel_id: ChannelId,
}

impl Job for RunCampaign {
    const KIND: &'static str = "run_campaign";
    const LANE: Lane = Lane::Bulk;
    type Payload = RunPayload;

    fn ordering_key(p: &RunPayload) -> Option<String> {
        Some(p.channel_id.to_string())
    }

    fn run<'a>(services: &'a Services, _: &'a JobRow, p: RunPayload) -> BoxFuture<'a, Outcome> {
        Box::pin(async move {
            match services.campaign_slice(&p).await {
                Ok(outcome) => outcome,
                Err(e) => Outcome::Retry(e.to_string()),
            }
        })
    }
}

/// How long one run sends before handing over to a fresh job.
const SLICE: Duration = Duration::from_secs(8);
/// Recipients claimed (or settled) in one transaction: small, so the
/// database's write lock is never held long while customers' messages
/// wait for it.
const CHUNK: usize = 10;
/// Sends in flight at once.
const IN_FLIGHT: usize = 16;
/// Sends of one recipient that failed in a way worth retrying, at most.
const RETRY_ATTEMPTS: i64 = 5;

/// What a campaign sends, resolved once per run.
struct Prepared {
    template: MessageTemplate,
    header: Option<HeaderValue>,
    buttons: Vec<ButtonValue>,
    row: ChannelRow,
    adapter: Arc<dyn ChannelAdapter>,
}

/// One claimed recipient, ready to go.
struct Claimed {
    recipient: CampaignRecipient,
    message_id: MessageId,
    outbound: OutboundMessage,
}

impl Services {
    async fn campaign_slice(&self, p: &RunPayload) -> ServiceResult<Outcome> {
        let started = Instant::now();
        let now = self.now();
        let mut tx = self.store().begin().await?;
        let Some(mut c) = tx.exec().campaign(p.workspace_id, p.campaign_id).await? else {
            return Ok(Outcome::Done);
        };
        match c.status {
            CampaignStatus::Scheduled if c.send_at > now => return Ok(Outcome::Continue(c.send_at)),
            CampaignStatus::Scheduled => {
                c.status = CampaignStatus::Running;
                c.updated_at = now;
                tx.exec().update_campaign(&c).await?;
            }
            CampaignStatus::Running => {}
            _ => return Ok(Outcome::Done),
        }
        tx.exec().fail_stuck_recipients(c.id, now).await?;
        tx.commit().await?;
        let prepared = match self.prepare(&c).await? {
            Ok(prepared) => prepared,
            Err(why) => {
                self.stop_campaign(&mut c, &why).await?;
                return Ok(Outcome::Done);
            }
        };
        loop {
            let tick = Instant::now();
            let mut db = self.store().reader();
            if db.campaign_status(c.workspace_id, c.id).await? != Some(CampaignStatus::Running) {
                return Ok(Outcome::Done);
            }
            let due = db
                .due_recipients(c.id, self.now(), u64::from(c.rate_per_second))
                .await?;
            if due.is_empty() {
                return self.campaign_idle(&mut c).await;
            }
            let mut claimed = Vec::with_capacity(due.len());
            for chunk in due.chunks(CHUNK) {
                claimed.extend(self.claim_recipients(&c, &prepared, chunk).await?);
            }
            self.send_claimed(&c, &prepared, claimed).await?;
            let rest = Duration::from_secs(1).saturating_sub(tick.elapsed());
            if started.elapsed() >= SLICE {
                // The next run starts when this second is over.
                return Ok(Outcome::Continue(self.now().plus_ms(rest.as_millis() as i64)));
            }
            tokio::time::sleep(rest).await;
        }
    }

    /// The template, values, channel and adapter, or why the campaign
    /// cannot send at all.
    async fn prepare(&self, c: &Campaign) -> ServiceResult<Result<Prepared, String>> {
        let mut db = self.store().reader();
        let Some(template) = (match c.template_id {
            Some(id) => db.template(c.workspace_id, id).await?,
            None => None,
        }) else {
            return Ok(Err("its template was deleted".into()));
        };
        if template.status != TemplateStatus::Approved {
            return Ok(Err(format!(
                "its template is {} (only approved ones can be sent)",
                template.status
            )));
        }
        let fill = template::parts::PartsFill {
            header: c.values.header_param.as_deref(),
            buttons: &c.values.button_params,
        };
        let (header, buttons) = match template::parts::fill(&template.parts, fill) {
            Ok(values) => values,
            Err(e) => return Ok(Err(format!("its template's values no longer fit: {e}"))),
        };
        let Some(row) = db.channel(c.workspace_id, c.channel_id).await? else {
            return Ok(Err("its channel was deleted".into()));
        };
        let setup = crate::channel_port::setup_of(&row)?;
        let adapter = match self.adapter(setup.kind) {
            Ok(adapter) => adapter.clone(),
            Err(e) => return Ok(Err(e.to_string())),
        };
        if let Err(why) = adapter.ready_to_send(&setup) {
            return Ok(Err(why));
        }
        Ok(Ok(Prepared {
            template,
            header,
            buttons,
            row,
            adapter,
        }))
    }

    /// Nothing due now: done when nobody waits, else run again when the
    /// next limited recipient is due.
    async fn campaign_idle(&self, c: &mut Campaign) -> ServiceResult<Outcome> {
        let now = self.now();
        let mut tx = self.store().begin().await?;
        match tx.exec().next_recipient_due(c.id).await? {
            Some(at) => Ok(Outcome::Continue(at.max(now))),
            None => {
                c.status = CampaignStatus::Completed;
                c.finished_at = Some(now);
                c.updated_at = now;
                tx.exec().update_campaign(c).await?;
                tx.commit().await?;
                Ok(Outcome::Done)
            }
        }
    }

    /// The campaign cannot go on: every recipient still waiting fails with
    /// why, and it is cancelled.
    async fn stop_campaign(&self, c: &mut Campaign, why: &str) -> ServiceResult<()> {
        let now = self.now();
        let mut tx = self.store().begin().await?;
        let reason = format!("not sent: {why}");
        loop {
            let due = tx.exec().due_recipients(c.id, Millis(i64::MAX), 500).await?;
            if due.is_empty() {
                break;
            }
            for r in due {
                tx.exec()
                    .settle_recipient(c.id, r.position, RecipientStatus::Failed, Some(&reason), now, now)
                    .await?;
            }
        }
        c.status = CampaignStatus::Cancelled;
        c.finished_at = Some(now);
        c.updated_at = now;
        tx.exec().update_campaign(c).await?;
        tx.commit().await?;
        tracing::warn!(campaign = %c.id, %why, "campaign stopped");
        Ok(())
    }

    /// Claim recipients in one transaction, storing each one's conversation
    /// and message with its claim.
    async fn claim_recipients(
        &self,
        c: &Campaign,
        p: &Prepared,
        due: &[CampaignRecipient],
    ) -> ServiceResult<Vec<Claimed>> {
        let now = self.now();
        let mut tx = self.store().begin().await?;
        tx.exec().lock_routing(c.workspace_id).await?;
        let mut claimed = Vec::with_capacity(due.len());
        for r in due {
            let message = match r.message_id {
                // Tried before (limited, or a retryable failure): the same message again.
                Some(id) => tx
                    .exec()
                    .message(c.workspace_id, id)
                    .await?
                    .ok_or(ServiceError::NotFound("message"))?,
                _ => {
                    let body = match template::render(&p.template.body, &r.params) {
                        Ok(body) => body,
                        Err(e) => {
                            tx.exec()
                                .settle_recipient(
                                    c.id,
                                    r.position,
                                    RecipientStatus::Failed,
                                    Some(&e.to_string()),
                                    now,
                                    now,
                                )
                                .await?;
                            continue;
                        }
                    };
                    let mut conversation = self.campaign_conversation(&mut tx.exec(), c, p, r, now).await?;
                    let message = campaign_message(&conversation, c, p, r, body, now);
                    tx.exec().insert_message(&message, c.channel_id).await?;
                    let author = MessageAuthor::person(conversation.assignee_id, message.sender_id.as_deref());
                    lifecycle::record_message(&mut conversation.times, author, now);
                    conversation.updated_at = now;
                    crate::kernel::save_conversation(&mut tx.exec(), &conversation, now).await?;
                    message
                }
            };
            if !tx
                .exec()
                .claim_recipient(c.id, r.position, message.conversation_id, message.id, now)
                .await?
            {
                continue;
            }
            claimed.push(Claimed {
                outbound: outbound_of(&message, &r.external_id),
                recipient: CampaignRecipient {
                    attempts: r.attempts + 1,
                    ..r.clone()
                },
                message_id: message.id,
            });
        }
        tx.commit().await?;
        Ok(claimed)
    }

    /// The recipient's contact (found by their address, or created with
    /// it) and the conversation the campaign writes in: their open one on
    /// the channel, else a new one waiting in `pending` for their answer.
    async fn campaign_conversation(
        &self,
        exec: &mut Exec<'_>,
        c: &Campaign,
        p: &Prepared,
        r: &CampaignRecipient,
        now: Millis,
    ) -> ServiceResult<Conversation> {
        let contact = match exec.contact_of_identity(c.channel_id, &r.external_id).await? {
            Some(id) => id,
            None => match r.contact_id {
                Some(id) if exec.contact(c.workspace_id, id).await?.is_some() => {
                    exec.insert_identity(c.workspace_id, c.channel_id, &r.external_id, id, now)
                        .await?;
                    id
                }
                _ => {
                    let contact = Contact {
                        id: switchboard_core::ContactId::new(),
                        workspace_id: c.workspace_id,
                        name: r.name.clone(),
                        phone: Some(format!("+{}", r.external_id)),
                        email: None,
                        country: None,
                        attributes: Default::default(),
                        identities: vec![ContactIdentity {
                            channel_id: c.channel_id,
                            external_id: r.external_id.clone(),
                        }],
                        tags: Vec::new(),
                        created_at: now,
                        updated_at: now,
                    };
                    exec.insert_contact(&contact).await?;
                    contact.id
                }
            },
        };
        if let Some(open) = exec
            .latest_conversations(&[(contact, c.channel_id)])
            .await?
            .into_iter()
            .find(|open| !open.status.is_closed())
        {
            return Ok(open);
        }
        let team = p.row.to_domain()?.default_team_id;
        let (state, opened) = lifecycle::open_pending(c.created_by, team, now);
        let conversation = new_conversation(c.workspace_id, c.channel_id, contact, state, now);
        crate::kernel::insert_conversation(exec, &conversation, now).await?;
        let activity = activity_message(&conversation, opened, Some(c.created_by), now);
        exec.insert_message(&activity, c.channel_id).await?;
        Ok(conversation)
    }

    /// Send the claimed recipients, a few at a time, and store each outcome.
    async fn send_claimed(&self, c: &Campaign, p: &Prepared, claimed: Vec<Claimed>) -> ServiceResult<()> {
        let setup = crate::channel_port::setup_of(&p.row)?;
        let results: Vec<(Claimed, Result<switchboard_channels::Sent, SendError>)> = futures::stream::iter(claimed)
            .map(|claim| {
                let setup = &setup;
                async move {
                    let delivery_id = claim.message_id.to_string();
                    let cx = SendContext {
                        http: &self.inner.http,
                        channel: setup,
                        delivery_id: &delivery_id,
                        now: self.now(),
                    };
                    let sent = p.adapter.send(cx, &claim.outbound).await;
                    (claim, sent)
                }
            })
            .buffer_unordered(IN_FLIGHT)
            .collect()
            .await;
        for chunk in results.chunks(CHUNK) {
            self.settle_sent(c, chunk).await?;
        }
        Ok(())
    }

    /// Store what became of some sends, in one transaction.
    async fn settle_sent(
        &self,
        c: &Campaign,
        results: &[(Claimed, Result<switchboard_channels::Sent, SendError>)],
    ) -> ServiceResult<()> {
        let now = self.now();
        let mut tx = self.store().begin().await?;
        for (claim, sent) in results {
            let r = &claim.recipient;
            let (status, reason, next_at, delivery) = match sent {
                Ok(sent) => {
                    tx.exec()
                        .set_delivery(
                            claim.message_id,
                            DeliveryStatus::Sent,
                            sent.provider_message_id.as_deref(),
                            None,
                        )
                        .await?;
                    (RecipientStatus::Sent, None, now, None)
                }
                Err(SendError::Limited { reason, retry_in_ms }) if r.attempts < LIMITED_ATTEMPTS => (
                    RecipientStatus::Limited,
                    Some(reason.clone()),
                    now.plus_ms(*retry_in_ms),
                    None,
                ),
                Err(SendError::Retryable(reason)) if r.attempts < RETRY_ATTEMPTS => {
                    let wait = 30_000 * r.attempts;
                    (RecipientStatus::Queued, Some(reason.clone()), now.plus_ms(wait), None)
                }
                Err(e) => {
                    let reason = e.to_string();
                    (RecipientStatus::Failed, Some(reason.clone()), now, Some(reason))
                }
            };
            if let Some(error) = &delivery {
                tx.exec()
                    .set_delivery(claim.message_id, DeliveryStatus::Failed, None, Some(error))
                    .await?;
            }
            tx.exec()
                .settle_recipient(c.id, r.position, status, reason.as_deref(), next_at, now)
                .await?;
        }
        tx.commit().await?;
        Ok(())
    }
}

/// The template message of a campaign in `conversation`, queued for the
/// campaign's own sending (no delivery job).
fn campaign_message(
    conversation: &Conversation,
    c: &Campaign,
    p: &Prepared,
    r: &CampaignRecipient,
    body: String,
    now: Millis,
) -> Message {
    let author = (Direction::Out, SenderKind::User, Some(c.created_by.to_string()));
    let text = template::parts::rendered(&p.template.parts, p.header.as_ref(), &body);
    Message {
        template: Some(SentTemplate {
            template_id: p.template.id,
            name: p.template.name.clone(),
            language: p.template.language.clone(),
            params: r.params.clone(),
            header: p.header.clone(),
            buttons: p.buttons.clone(),
        }),
        delivery_status: Some(DeliveryStatus::Queued),
        ..Message::new(conversation, author, MessageKind::Template, Some(text), now)
    }
}

/// What the adapter sends for a stored campaign message.
fn outbound_of(m: &Message, recipient: &str) -> OutboundMessage {
    OutboundMessage {
        subject: None,
        thread: Vec::new(),
        message_id: m.id.to_string(),
        conversation_id: m.conversation_id.to_string(),
        recipient_external_id: recipient.to_owned(),
        text: m.body.clone().unwrap_or_default(),
        sender_name: None,
        in_reply_to: None,
        created_at: m.created_at,
        buttons: Vec::new(),
        template: m.template.as_ref().map(OutboundTemplate::from),
        attachments: Vec::new(),
        tag: None,
    }
}
