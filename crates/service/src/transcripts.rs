//! A conversation as a plain-text transcript for download. The text is
//! laid out by `switchboard_core::transcript`; this module gathers what it
//! needs: the conversation (same reach as reading it), its contact and
//! channel, every message with its attachments, and the names of the people
//! and teams it mentions.

use std::collections::HashMap;

use switchboard_core::permissions::Actor;
use switchboard_core::transcript::{self, Names, TranscriptHeader};
use switchboard_core::{ConversationId, MessageId, MessageKind, MessageView};

use crate::{ServiceError, ServiceResult, Services, contact_label};

/// Messages read per statement.
const BATCH: u64 = 500;

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

        let mut messages: Vec<MessageView> = Vec::new();
        let mut cursor: Option<MessageId> = None;
        loop {
            let page = db.messages(c.id, cursor, BATCH, false).await?;
            let media: Vec<MessageId> = page
                .items
                .iter()
                .filter(|m| m.kind == MessageKind::Media)
                .map(|m| m.id)
                .collect();
            let mut files: HashMap<MessageId, Vec<_>> = HashMap::new();
            for a in db.attachments_of_messages(ws, &media).await? {
                if let Some(m) = a.message_id {
                    files.entry(m).or_default().push(a);
                }
            }
            cursor = page.items.last().map(|m| m.id);
            messages.extend(page.items.into_iter().map(|message| MessageView {
                attachments: files.remove(&message.id).unwrap_or_default(),
                message,
            }));
            if page.next_cursor.is_none() {
                break;
            }
        }

        let mut names = Names {
            users: db.members(ws).await?.into_iter().map(|m| (m.id, m.name)).collect(),
            teams: db.teams(ws).await?.into_iter().map(|t| (t.id, t.name)).collect(),
        };
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
