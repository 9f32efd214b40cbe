//! Which conversation a threaded message continues (e-mail, channels.md
//! §5.3). A customer may keep several threads open on one mailbox, so the
//! message names its own: the conversation of the newest message it
//! answers or references that we know (theirs or ours), reopened whenever
//! it closed, because the customer answered that very thread; else, the
//! newest conversation where they wrote under the same subject, if it may
//! still continue (open, pending, or within the reopen period); else a new
//! conversation, whatever else they have open.

use std::collections::hash_map::Entry;

use switchboard_channels::InboundMessage;
use switchboard_core::threads::subject_key;
use switchboard_core::{ContactId, ConversationId, Message};
use switchboard_store::Exec;

use super::{Batch, ChannelCtx};
use crate::ServiceResult;

impl Batch {
    pub(super) async fn thread_for(
        &mut self,
        exec: &mut Exec<'_>,
        channel: &ChannelCtx,
        contact: ContactId,
        message: &InboundMessage,
    ) -> ServiceResult<(ConversationId, bool, Vec<Message>)> {
        let key = message.subject.as_deref().map(subject_key).unwrap_or_default();
        let found = match self.named_thread(exec, channel, contact, message).await? {
            Some(id) => Some(id),
            None => self.subject_thread(exec, channel, contact, &key).await?,
        };
        let (id, created, activity) = match found {
            Some(id) => self.continue_conversation(exec, channel, id).await?,
            None => self.open_conversation(exec, channel, contact).await?,
        };
        if !key.is_empty() {
            self.subjects.push((channel.id, contact, key, id));
        }
        Ok((id, created, activity))
    }

    /// The conversation of the newest message the headers name, when it
    /// is this customer's on this channel.
    async fn named_thread(
        &mut self,
        exec: &mut Exec<'_>,
        channel: &ChannelCtx,
        contact: ContactId,
        message: &InboundMessage,
    ) -> ServiceResult<Option<ConversationId>> {
        let named = message.in_reply_to.iter().chain(message.references.iter().rev());
        let found: Vec<ConversationId> = named
            .filter_map(|id| {
                let key = (channel.id, id.clone());
                self.inbound
                    .get(&key)
                    .or_else(|| self.outbound.get(&key))
                    .map(|(_, c)| *c)
            })
            .collect();
        for id in found {
            if self.load(exec, channel, id).await? == Some(contact) {
                return Ok(Some(id));
            }
        }
        Ok(None)
    }

    /// The newest conversation where the customer wrote under this subject,
    /// if it may still continue.
    async fn subject_thread(
        &mut self,
        exec: &mut Exec<'_>,
        channel: &ChannelCtx,
        contact: ContactId,
        key: &str,
    ) -> ServiceResult<Option<ConversationId>> {
        if key.is_empty() {
            return Ok(None);
        }
        // This batch's own messages are newer than anything stored.
        let in_batch = self
            .subjects
            .iter()
            .rev()
            .find(|(ch, who, k, _)| *ch == channel.id && *who == contact && k == key)
            .map(|(_, _, _, id)| *id);
        let newest = match in_batch {
            Some(id) => Some(id),
            None => exec
                .thread_subjects(channel.id, contact)
                .await?
                .into_iter()
                .find(|(_, subject)| subject_key(subject) == key)
                .map(|(id, _)| id),
        };
        let Some(id) = newest else { return Ok(None) };
        if self.load(exec, channel, id).await?.is_none() {
            return Ok(None);
        }
        Ok(self.continues(channel, id).then_some(id))
    }

    /// Read a conversation into the batch (once); its contact, or `None`
    /// when it is not the channel's.
    async fn load(
        &mut self,
        exec: &mut Exec<'_>,
        channel: &ChannelCtx,
        id: ConversationId,
    ) -> ServiceResult<Option<ContactId>> {
        if let Entry::Vacant(slot) = self.conversations.entry(id) {
            match exec.conversation(channel.workspace_id, id).await? {
                Some(c) => {
                    slot.insert(c);
                }
                None => return Ok(None),
            }
        }
        let c = &self.conversations[&id];
        Ok((c.channel_id == channel.id).then_some(c.contact_id))
    }
}
