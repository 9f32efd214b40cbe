//! Outbound delivery: a message to the customer, stored with its delivery
//! status `queued`, goes out through its channel's adapter in a
//! `deliver_message` job; the provider's answer moves the status on.

use serde::Deserialize;
use switchboard_channels::{OutboundMessage, OutboundTemplate, SendContext, SendError};
use switchboard_core::capabilities::FilesOut;
use switchboard_core::{DeliveryStatus, Message, MessageId, MessageKind, UserId, WorkspaceId};
use switchboard_store::{JobRow, Tx};

use crate::jobs::{BoxFuture, Job, Lane, Outcome};
use crate::{ServiceError, ServiceResult, Services};

mod compose;
mod typing;

pub(crate) use compose::{Outgoing, TemplateFill, queue_outgoing, resolve_outgoing};

pub(crate) const DELIVER_MESSAGE: &str = DeliverMessage::KIND;

/// What a `deliver_message` job carries. The conversation keeps one
/// conversation's messages in order (its ordering key).
pub(crate) fn deliver_payload(m: &Message) -> serde_json::Value {
    serde_json::json!({ "workspace_id": m.workspace_id, "conversation_id": m.conversation_id, "message_id": m.id })
}

/// Deliver one message to the customer.
pub(crate) struct DeliverMessage;

impl Job for DeliverMessage {
    const KIND: &'static str = "deliver_message";
    const LANE: Lane = Lane::Delivery;
    type Payload = DeliverPayload;

    fn ordering_key(payload: &DeliverPayload) -> Option<String> {
        payload.conversation_id.map(|c| c.to_string())
    }

    fn run<'a>(services: &'a Services, job: &'a JobRow, _: DeliverPayload) -> BoxFuture<'a, Outcome> {
        Box::pin(services.deliver(job))
    }

    /// The message is marked failed with the last error.
    fn gave_up<'a>(
        services: &'a Services,
        tx: &'a mut Tx<'static>,
        payload: &'a DeliverPayload,
        error: &'a str,
    ) -> BoxFuture<'a, ServiceResult<()>> {
        Box::pin(async move {
            tx.exec()
                .set_delivery(payload.message_id, DeliveryStatus::Failed, None, Some(error))
                .await?;
            services
                .emit_delivery(tx, payload.workspace_id, payload.message_id)
                .await
        })
    }
}

/// What a due scheduled message turned into.
pub(crate) enum Released {
    /// Now queued like any reply: send it.
    Queued,
    /// Cancelled before its time; nothing to send.
    Cancelled,
    /// It cannot go out (e.g. the messaging window closed meanwhile).
    Refused(String),
}

/// Attempts at most for a send the provider capped (WhatsApp's marketing
/// limit): the first and three more, hours apart.
pub(crate) const LIMITED_ATTEMPTS: i64 = 4;

/// A failed send as the job's outcome.
pub(crate) fn outcome_of(e: SendError, now: switchboard_core::Millis) -> Outcome {
    match e {
        SendError::Retryable(e) => Outcome::Retry(e),
        SendError::Permanent(e) | SendError::WindowClosed(e) => Outcome::Fail(e),
        SendError::Limited { reason, retry_in_ms } => Outcome::RetryAt {
            error: reason,
            at: now.plus_ms(retry_in_ms),
            limit: LIMITED_ATTEMPTS,
        },
    }
}

/// Tell the provider the business read the customer's messages up to one.
pub(crate) struct SendReadReceipt;

#[derive(Debug, serde::Serialize, Deserialize)]
pub(crate) struct ReadReceiptPayload {
    workspace_id: WorkspaceId,
    channel_id: switchboard_core::ChannelId,
    /// The provider's id of the newest message read.
    provider_message_id: String,
}

impl Job for SendReadReceipt {
    const KIND: &'static str = "send_read_receipt";
    const LANE: Lane = Lane::Delivery;
    type Payload = ReadReceiptPayload;

    fn run<'a>(services: &'a Services, _: &'a JobRow, p: ReadReceiptPayload) -> BoxFuture<'a, Outcome> {
        Box::pin(async move {
            let row = match services.store().reader().channel(p.workspace_id, p.channel_id).await {
                Ok(Some(row)) => row,
                Ok(None) => return Outcome::Done,
                Err(e) => return Outcome::Retry(e.to_string()),
            };
            let Ok(setup) = crate::channel_port::setup_of(&row) else {
                return Outcome::Fail("the channel cannot be read".into());
            };
            let Ok(adapter) = services.adapter(setup.kind) else {
                return Outcome::Done;
            };
            match adapter
                .mark_read(&services.inner.http, &setup, &p.provider_message_id)
                .await
            {
                Ok(()) => Outcome::Done,
                Err(e) => outcome_of(e, services.now()),
            }
        })
    }
}

impl Services {
    /// Queue a read receipt where the channel sends them.
    pub(crate) async fn queue_read_receipt(
        &self,
        channel: &switchboard_store::ChannelRow,
        provider_message_id: &str,
    ) -> ServiceResult<()> {
        let setup = crate::channel_port::setup_of(channel)?;
        if !self.capabilities(setup.kind).sends_read_receipts {
            return Ok(());
        }
        let payload = serde_json::to_value(ReadReceiptPayload {
            workspace_id: setup.workspace_id,
            channel_id: setup.id,
            provider_message_id: provider_message_id.to_owned(),
        })
        .map_err(|e| ServiceError::Internal(e.to_string()))?;
        let now = self.now();
        let mut tx = self.store().begin().await?;
        tx.exec()
            .enqueue_job(SendReadReceipt::KIND, &payload, now, 3, now)
            .await?;
        tx.commit().await?;
        self.wake_jobs();
        Ok(())
    }
}

impl Services {
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
                Released::Queued => {}
                Released::Cancelled => return Ok(Outcome::Done),
                Released::Refused(why) => return Ok(Outcome::Fail(why)),
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
        let setup = crate::channel_port::setup_of(&channel)?;
        let adapter = match self.adapter(setup.kind) {
            Ok(adapter) => adapter.clone(),
            Err(e) => return Ok(Outcome::Fail(e.to_string())),
        };
        let signed_links = adapter.capabilities().files_out == FilesOut::SignedLink;
        let attachments = match (message.kind, &setup.secret) {
            (MessageKind::Media, Some(secret)) if signed_links => db
                .attachments_of_messages(ws, &[message.id])
                .await?
                .iter()
                .map(|a| self.file_link((setup.kind, setup.id), secret.expose(), a))
                .collect(),
            _ => Vec::new(),
        };
        if adapter.opt_out_stops_all() && db.opted_out(setup.id).await?.contains(&recipient.external_id) {
            return Ok(Outcome::Fail(format!(
                "the customer texted STOP to this {} number: nothing can be sent to them until they text START",
                adapter.capabilities().label
            )));
        }
        let caps = adapter.capabilities();
        let tag = match compose::window_tag(
            caps.label,
            &caps.window,
            &message,
            conversation.times.window_opened_at(),
            self.now(),
        ) {
            Ok(tag) => tag,
            Err(rule) => return Ok(Outcome::Fail(rule)),
        };
        let (subject, thread) = if adapter.threads_replies() {
            thread_of(&mut db, conversation.id, message.id).await?
        } else {
            (None, Vec::new())
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
            template: message.template.as_ref().map(OutboundTemplate::from),
            attachments,
            tag,
            subject,
            thread,
        };
        let cx = SendContext {
            http: &self.inner.http,
            channel: &setup,
            delivery_id: &job.id,
            now: self.now(),
        };
        let sent = adapter.send(cx, &outbound).await;
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
                self.emit_delivery(&mut tx, ws, message.id).await?;
                tx.commit().await?;
                Ok(Outcome::Done)
            }
            Err(SendError::WindowClosed(e)) => {
                self.close_window(ws, conversation.id, &e).await?;
                Ok(Outcome::Fail(e))
            }
            Err(e) => Ok(outcome_of(e, self.now())),
        }
    }
}

#[derive(Debug, Deserialize)]
pub(crate) struct DeliverPayload {
    workspace_id: WorkspaceId,
    /// Left out by jobs queued before it was added.
    #[serde(default)]
    conversation_id: Option<switchboard_core::ConversationId>,
    message_id: MessageId,
}

impl Services {
    /// The provider refused a free-form message because the messaging
    /// window had closed (sooner than our clock said): our records close it
    /// too, until the customer writes again, and the agent is told why.
    pub(crate) async fn close_window(
        &self,
        ws: WorkspaceId,
        conversation: switchboard_core::ConversationId,
        provider_says: &str,
    ) -> ServiceResult<()> {
        let now = self.now();
        let mut tx = self.store().begin().await?;
        let Some(mut c) = tx.exec().conversation(ws, conversation).await? else {
            return Ok(());
        };
        c.times.window_closed_at = Some(now);
        c.updated_at = now;
        crate::kernel::save_conversation(&mut tx.exec(), &c, now).await?;
        let text = format!(
            "The provider says the messaging window is closed ({provider_says}); free-form messages can go again \
             once the customer writes. Send a template to reach them now."
        );
        let notice = crate::kernel::activity_message(&c, switchboard_core::Activity::Notice { text }, None, now);
        tx.exec().insert_message(&notice, c.channel_id).await?;
        self.emit_change(&mut tx, &c, &[notice]).await?;
        tx.commit().await?;
        Ok(())
    }
}

/// Messages read for a reply's thread (e-mail's `References`).
const THREAD_MESSAGES: u64 = 50;

/// The conversation's latest subject and the provider ids of its recent
/// messages, oldest first, leaving out the reply itself.
async fn thread_of(
    db: &mut switchboard_store::Exec<'_>,
    conversation: switchboard_core::ConversationId,
    reply: MessageId,
) -> ServiceResult<(Option<String>, Vec<String>)> {
    let recent = db.messages(conversation, None, THREAD_MESSAGES, true).await?.items;
    let subject = recent.iter().find_map(|m| m.subject.clone());
    let thread = recent
        .iter()
        .rev()
        .filter(|m| m.id != reply)
        .filter_map(|m| m.provider_message_id.clone())
        .collect();
    Ok((subject, thread))
}
