//! Snooze and scheduled messages: a chat put aside until a time, and an
//! agent message that goes out at a time. Both are timers in the job table.

use switchboard_core::lifecycle::{Command, LifecycleError, MessageAuthor};
use switchboard_core::permissions::Actor;
use switchboard_core::{Conversation, ConversationId, DeliveryStatus, Message, MessageId};

use crate::kernel::{scope, transition};
use crate::outbound::Released;
use crate::routing::WAKE_SNOOZED;
use crate::{ServiceError, ServiceResult, Services};
use schemars::JsonSchema;
use serde::Deserialize;
use switchboard_core::Millis;

/// Snooze a conversation until a time (milliseconds since the epoch).
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SnoozeRequest {
    pub until: Millis,
}

impl Services {
    /// Put an open chat aside until `until`; it wakes then, or when the customer writes.
    pub async fn snooze(&self, actor: &Actor, id: ConversationId, req: SnoozeRequest) -> ServiceResult<Conversation> {
        let now = self.now();
        let mut tx = self.store().begin().await?;
        let mut c = self.visible_for_update(&mut tx, actor, id).await?;
        if !actor.can_manage(&scope(&c)) {
            return Err(ServiceError::Forbidden("you can snooze your own chats only"));
        }
        let by = Some(actor.user_id);
        let command = Command::Snooze { by, until: req.until };
        let activity = match transition(&mut tx.exec(), &mut c, command, by, now).await {
            Ok(activity) => activity,
            Err(ServiceError::Lifecycle(LifecycleError::Unchanged)) => return Ok(c),
            Err(e) => return Err(e),
        };
        let payload = serde_json::json!({
            "workspace_id": c.workspace_id,
            "conversation_id": c.id,
            "until": req.until,
        });
        tx.exec().enqueue_job(WAKE_SNOOZED, &payload, req.until, 5, now).await?;
        self.emit_change(&mut tx, &c, &[activity]).await?;
        tx.commit().await?;
        Ok(c)
    }

    /// End a snooze now.
    pub async fn unsnooze(&self, actor: &Actor, id: ConversationId) -> ServiceResult<Conversation> {
        let now = self.now();
        let mut tx = self.store().begin().await?;
        let mut c = self.visible_for_update(&mut tx, actor, id).await?;
        if !actor.can_manage(&scope(&c)) {
            return Err(ServiceError::Forbidden("you can wake your own chats only"));
        }
        let by = Some(actor.user_id);
        let command = Command::Wake {
            by,
            customer_wrote: false,
        };
        let activity = transition(&mut tx.exec(), &mut c, command, by, now).await?;
        self.emit_change(&mut tx, &c, &[activity]).await?;
        tx.commit().await?;
        Ok(c)
    }

    /// Cancel a scheduled message that has not gone out yet.
    pub async fn cancel_scheduled(
        &self,
        actor: &Actor,
        conversation: ConversationId,
        message: MessageId,
    ) -> ServiceResult<Message> {
        let ws = actor.workspace_id;
        let mut tx = self.store().begin().await?;
        let c = self.visible_for_update(&mut tx, actor, conversation).await?;
        let m = tx
            .exec()
            .message(ws, message)
            .await?
            .filter(|m| m.conversation_id == c.id)
            .ok_or(ServiceError::NotFound("message"))?;
        let own = m.sender_id.as_deref() == Some(actor.user_id.to_string().as_str());
        if !own && !actor.is_admin() {
            return Err(ServiceError::Forbidden(
                "you can cancel your own scheduled messages only",
            ));
        }
        let moved = tx
            .exec()
            .advance_delivery(m.id, DeliveryStatus::Scheduled, DeliveryStatus::Cancelled)
            .await?;
        if moved == 0 {
            let status = m.delivery_status.map(|s| s.as_str()).unwrap_or("not a reply");
            return Err(ServiceError::Conflict(format!(
                "only a scheduled message can be cancelled; this one is {status}"
            )));
        }
        self.emit_delivery(&mut tx, ws, m.id).await?;
        tx.commit().await?;
        self.store()
            .reader()
            .message(ws, m.id)
            .await?
            .ok_or(ServiceError::NotFound("message"))
    }

    /// A scheduled message's time came: queue it like a reply written now
    /// (the conversation's reply times move then), unless it was cancelled
    /// or the channel's window has closed meanwhile.
    pub(crate) async fn release_scheduled(&self, m: &Message) -> ServiceResult<Released> {
        let now = self.now();
        let ws = m.workspace_id;
        let mut tx = self.store().begin().await?;
        let mut c = tx
            .exec()
            .conversation_for_update(ws, m.conversation_id)
            .await?
            .ok_or(ServiceError::NotFound("conversation"))?;
        let channel = tx
            .exec()
            .channel(ws, c.channel_id)
            .await?
            .ok_or(ServiceError::NotFound("channel"))?;
        let window = self.capabilities(channel.to_domain()?.kind).window;
        if !window.open(c.times.window_opened_at(), now) {
            return Ok(Released::Refused(
                "the channel's messaging window closed before the scheduled time".into(),
            ));
        }
        if tx
            .exec()
            .advance_delivery(m.id, DeliveryStatus::Scheduled, DeliveryStatus::Queued)
            .await?
            == 0
        {
            return Ok(Released::Cancelled);
        }
        let author = MessageAuthor::person(c.assignee_id, m.sender_id.as_deref());
        switchboard_core::lifecycle::record_message(&mut c.times, author, now);
        c.updated_at = now;
        crate::kernel::save_conversation(&mut tx.exec(), &c, now).await?;
        self.emit_conversation(&mut tx, "conversation.updated", &c).await?;
        self.emit_delivery(&mut tx, ws, m.id).await?;
        tx.commit().await?;
        Ok(Released::Queued)
    }
}
