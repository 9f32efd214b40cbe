//! What a provider tells us about the business's side of a chat: messages
//! the business sent from the provider's own inbox (echoes, kept in the
//! history as sent outside Switchboard) and delivery or read watermarks
//! (every earlier message to the customer moves forward).

use switchboard_channels::{InboundMessage, InboundOutcome, Watermark};
use switchboard_core::{Conversation, DeliveryStatus, Direction, Message, MessageKind, SENT_OUTSIDE, SenderKind};
use switchboard_store::{IngestQuery, Tx};

use super::ChannelCtx;
use crate::{ServiceResult, Services};

/// How many of the newest messages of a chat a watermark looks at.
const WATERMARK_REACH: u64 = 200;

impl Services {
    /// The customer's newest conversation on the channel, if we know them.
    async fn customer_conversation(
        &self,
        tx: &mut Tx<'_>,
        channel: &ChannelCtx,
        external_id: &str,
    ) -> ServiceResult<Option<Conversation>> {
        let senders = [(channel.id, external_id)];
        let facts = tx
            .exec()
            .ingest_facts(&IngestQuery {
                inbound: &[],
                senders: &senders,
                teams: &[],
            })
            .await?;
        Ok(facts.latest.into_iter().next())
    }

    /// A message the business sent from elsewhere: into the customer's
    /// newest chat, once (by the provider's id), as sent; skipped for a
    /// customer we have no chat with.
    pub(super) async fn store_echo(&self, channel: &ChannelCtx, echo: InboundMessage) -> ServiceResult<InboundOutcome> {
        let mut tx = self.store().begin().await?;
        if let Some(known) = tx
            .exec()
            .message_by_provider_id(channel.id, Direction::Out, &echo.external_id)
            .await?
        {
            return Ok(InboundOutcome::Message {
                message_id: known.id,
                conversation_id: known.conversation_id,
                duplicate: true,
            });
        }
        let Some(c) = self
            .customer_conversation(&mut tx, channel, &echo.contact.external_id)
            .await?
        else {
            return Ok(InboundOutcome::Skipped);
        };
        let mut text = echo.text.clone();
        if !echo.media.is_empty() {
            let files = format!("({} file(s) sent from elsewhere)", echo.media.len());
            text = if text.is_empty() {
                files
            } else {
                format!("{text}\n{files}")
            };
        }
        let author = (Direction::Out, SenderKind::System, Some(SENT_OUTSIDE.to_owned()));
        let message = Message {
            provider_message_id: Some(echo.external_id),
            delivery_status: Some(DeliveryStatus::Sent),
            ..Message::new(
                &c,
                author,
                MessageKind::Text,
                Some(text),
                echo.sent_at.unwrap_or_else(|| self.now()),
            )
        };
        tx.exec().insert_message(&message, channel.id).await?;
        self.emit_message(&mut tx, "message.created", &c, &message).await?;
        tx.commit().await?;
        Ok(InboundOutcome::Message {
            message_id: message.id,
            conversation_id: c.id,
            duplicate: false,
        })
    }

    /// Every message to the customer sent before the watermark is
    /// delivered (or read); statuses never go back.
    pub(super) async fn apply_watermark(&self, channel: &ChannelCtx, mark: Watermark) -> ServiceResult<InboundOutcome> {
        let mut tx = self.store().begin().await?;
        let Some(c) = self
            .customer_conversation(&mut tx, channel, &mark.contact_external_id)
            .await?
        else {
            return Ok(InboundOutcome::Skipped);
        };
        let page = tx.exec().messages(c.id, None, WATERMARK_REACH, true).await?;
        let mut moved = Vec::new();
        for m in page.items {
            let Some(current) = m.delivery_status else { continue };
            if m.direction == Direction::Out && m.created_at <= mark.up_to && current.can_advance_to(mark.status) {
                tx.exec().set_delivery(m.id, mark.status, None, None).await?;
                moved.push(m.id);
            }
        }
        for id in &moved {
            self.emit_delivery(&mut tx, channel.workspace_id, *id).await?;
        }
        tx.commit().await?;
        Ok(InboundOutcome::Recorded)
    }

    /// A customer we do not know yet gets the name the provider's profile
    /// API has for them (asked once: afterwards they are known). A failed
    /// lookup leaves the message as it came.
    pub(super) async fn with_profile(
        &self,
        adapter: &dyn switchboard_channels::ChannelAdapter,
        setup: &switchboard_channels::ChannelSetup,
        channel: &ChannelCtx,
        mut message: InboundMessage,
    ) -> ServiceResult<InboundMessage> {
        if !adapter.fetches_profiles() || message.contact.name.is_some() {
            return Ok(message);
        }
        let senders = [(channel.id, message.contact.external_id.as_str())];
        let known = !self
            .store()
            .reader()
            .ingest_facts(&IngestQuery {
                inbound: &[],
                senders: &senders,
                teams: &[],
            })
            .await?
            .contacts
            .is_empty();
        if known {
            return Ok(message);
        }
        match adapter
            .fetch_profile(&self.inner.http, setup, &message.contact.external_id)
            .await
        {
            Ok(profile) => message.contact.name = profile.name,
            Err(e) => tracing::warn!(channel = %setup.id, error = %e, "the customer's profile could not be fetched"),
        }
        Ok(message)
    }
}
