//! A conversation as a plain-text transcript for download. The text is
//! laid out by `switchboard_core::transcript`; this module gathers what it
//! needs: the conversation (same reach as reading it), its contact and
//! channel, every message with its attachments, and the names of the people
//! and teams it mentions.

use switchboard_core::ConversationId;
use switchboard_core::permissions::Actor;
use switchboard_core::transcript::{self, TranscriptHeader};

use crate::{ServiceError, ServiceResult, Services, contact_label};

/// A transcript and the file name to download it as.
#[derive(Debug, Clone)]
pub struct Transcript {
    pub filename: String,
    pub text: String,
}

impl Services {
    /// The conversation's transcript, if the actor may see the conversation.
    pub async fn transcript(&self, actor: &Actor, id: ConversationId) -> ServiceResult<Transcript> {
        let ws = actor.workspace_id;
        let c = self.conversation(actor, id).await?;
        let mut db = self.store().reader();
        let contact = db.contact(ws, c.contact_id).await?;
        let channel = db
            .channel(ws, c.channel_id)
            .await?
            .ok_or(ServiceError::NotFound("conversation"))?
            .to_domain()?;

        let messages = self.all_message_views(actor, c.id).await?;
        let mut names = self.names(actor).await?.people;
        // People who acted here and have left the workspace since.
        for user in transcript::mentioned_users(&c, &messages) {
            if !names.users.contains_key(&user)
                && let Some(row) = db.user(user).await?
            {
                names.users.insert(user, row.name);
            }
        }

        let contact_name = contact.as_ref().map(contact_label);
        let header = TranscriptHeader {
            conversation: &c,
            contact_name: contact_name.as_deref(),
            channel_name: &channel.name,
            channel_kind: channel.kind,
        };
        Ok(Transcript {
            filename: transcript::filename(c.id),
            text: transcript::transcript(&header, &names, &messages),
        })
    }
}
