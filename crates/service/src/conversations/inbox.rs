//! What the inbox lists show for each chat beside the conversation itself:
//! who the customer is, on which channel, the last message, and how many
//! customer messages wait for an answer.

use std::collections::HashMap;

use switchboard_core::permissions::Actor;
use switchboard_core::search::{Piece, TextQuery};
use switchboard_core::transcript;
use switchboard_core::{
    ChannelId, ChannelKind, Contact, Conversation, Direction, Message, MessageKind, SenderKind, TeamId, UserId,
};
use switchboard_store::{CustomerBrief, Page};

use crate::{ConversationQuery, ServiceResult, Services};

/// How many recent messages are read to find the preview and count the
/// unanswered ones (a list row shows "20+" beyond that).
const RECENT: u64 = 20;

#[derive(Debug, Clone)]
pub struct InboxRow {
    pub conversation: Conversation,
    pub contact_name: String,
    pub channel_kind: Option<ChannelKind>,
    pub channel_name: String,
    /// The latest message a person or the customer wrote (notes and
    /// activity lines are not previews).
    pub last_message: Option<Message>,
    /// Customer messages since the business last wrote to them.
    pub unread: u64,
    /// With a text search: the matching words of the newest matching message.
    pub snippet: Vec<Piece>,
}

/// Display names of the workspace's people, teams and channels, for
/// rendering ids. `people` is what activity sentences and transcripts read.
#[derive(Debug, Clone, Default)]
pub struct Names {
    pub people: transcript::Names,
    pub channels: HashMap<ChannelId, (ChannelKind, String)>,
}

impl Names {
    pub fn user(&self, id: UserId) -> String {
        self.people
            .users
            .get(&id)
            .cloned()
            .unwrap_or_else(|| "a former member".into())
    }

    pub fn team(&self, id: TeamId) -> String {
        self.people
            .teams
            .get(&id)
            .cloned()
            .unwrap_or_else(|| "a deleted team".into())
    }
}

/// What to call a contact: their name, else how the channel knows them.
pub fn contact_label(contact: &Contact) -> String {
    label(
        [&contact.name, &contact.phone, &contact.email],
        contact.identities.first().map(|i| i.external_id.as_str()),
    )
}

/// [`contact_label`] of a table row's customer.
pub fn customer_label(customer: &CustomerBrief) -> String {
    label(
        [&customer.name, &customer.phone, &customer.email],
        customer.first_identity.as_deref(),
    )
}

/// The first of name, phone and e-mail that is set, else the identity.
fn label(fields: [&Option<String>; 3], first_identity: Option<&str>) -> String {
    fields
        .into_iter()
        .find_map(Clone::clone)
        .or_else(|| first_identity.map(identity_label))
        .unwrap_or_else(|| "Visitor".into())
}

/// An anonymous web visitor (`v:` and a random id) reads as "Visitor" and
/// the id's start; other identities (numbers, handles) as they are.
fn identity_label(external_id: &str) -> String {
    match external_id.strip_prefix("v:") {
        Some(id) => format!("Visitor {}", id.chars().take(6).collect::<String>()),
        None => external_id.to_owned(),
    }
}

fn is_preview(m: &Message) -> bool {
    matches!(m.kind, MessageKind::Text | MessageKind::Media | MessageKind::Template)
}

/// The preview and the unanswered count from messages newest first.
fn summarise(newest_first: Vec<Message>) -> (Option<Message>, u64) {
    let unread = newest_first
        .iter()
        .filter(|m| is_preview(m))
        .take_while(|m| m.direction == Direction::In && m.sender_kind == SenderKind::Contact)
        .count() as u64;
    (newest_first.into_iter().find(is_preview), unread)
}

impl Services {
    /// One page of a conversation list with what each row shows.
    pub async fn inbox(&self, actor: &Actor, q: ConversationQuery) -> ServiceResult<Page<InboxRow>> {
        let text = q.q.as_deref().map(TextQuery::parse).unwrap_or_default();
        let page = self.conversations(actor, q).await?;
        let ids: Vec<_> = page.items.iter().map(|c| c.id).collect();
        let contact_ids: Vec<_> = page.items.iter().map(|c| c.contact_id).collect();
        // What each row shows, read side by side on the pool.
        let contacts = async {
            Ok(self
                .store()
                .reader()
                .contacts_by_ids(actor.workspace_id, &contact_ids)
                .await?)
        };
        let recents = async { Ok(self.store().reader().recent_messages(&ids, RECENT).await?) };
        let (mut snippets, names, contacts, mut recents) =
            futures::try_join!(self.snippets(actor, &ids, &text), self.names(actor), contacts, recents)?;
        let contacts: std::collections::HashMap<_, _> = contacts.into_iter().map(|c| (c.id, c)).collect();
        let mut rows = Vec::with_capacity(page.items.len());
        for conversation in page.items {
            let contact = contacts.get(&conversation.contact_id);
            let (last_message, unread) = summarise(recents.remove(&conversation.id).unwrap_or_default());
            let (channel_kind, channel_name) = match names.channels.get(&conversation.channel_id) {
                Some((kind, name)) => (Some(*kind), name.clone()),
                None => (None, "deleted channel".into()),
            };
            rows.push(InboxRow {
                contact_name: contact.map(contact_label).unwrap_or_else(|| "Visitor".into()),
                channel_kind,
                channel_name,
                last_message,
                unread,
                snippet: snippets.remove(&conversation.id).unwrap_or_default(),
                conversation,
            });
        }
        Ok(Page {
            items: rows,
            next_cursor: page.next_cursor,
        })
    }

    /// Names of the workspace's members, teams and channels.
    pub async fn names(&self, actor: &Actor) -> ServiceResult<Names> {
        let ws = actor.workspace_id;
        // Three small reads side by side on the pool.
        let (users, teams, channels) = futures::try_join!(
            async { self.store().reader().members(ws).await },
            async { self.store().reader().teams(ws).await },
            async { self.store().reader().channels(ws).await },
        )?;
        Ok(Names {
            people: transcript::Names {
                users: users.into_iter().map(|m| (m.id, m.name)).collect(),
                teams: teams.into_iter().map(|t| (t.id, t.name)).collect(),
            },
            channels: channels
                .into_iter()
                .filter_map(|c| {
                    let channel = c.to_domain().ok()?;
                    Some((channel.id, (channel.kind, channel.name)))
                })
                .collect(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use switchboard_core::{ConversationId, MessageId, Millis, WorkspaceId};

    fn message(direction: Direction, sender_kind: SenderKind, kind: MessageKind, body: &str) -> Message {
        Message {
            html: None,
            subject: None,
            id: MessageId::new(),
            workspace_id: WorkspaceId::new(),
            conversation_id: ConversationId::new(),
            direction,
            sender_kind,
            sender_id: None,
            kind,
            body: Some(body.into()),
            activity: None,
            in_reply_to: None,
            provider_message_id: None,
            delivery_status: None,
            delivery_error: None,
            created_at: Millis(0),
            send_at: None,
            buttons: Vec::new(),
            template: None,
            edited_at: None,
        }
    }

    #[test]
    fn unread_counts_customer_messages_since_the_last_reply_and_skips_notes() {
        let newest_first = vec![
            message(Direction::In, SenderKind::Contact, MessageKind::Text, "third"),
            message(
                Direction::Out,
                SenderKind::User,
                MessageKind::Note,
                "a note is not an answer",
            ),
            message(Direction::In, SenderKind::Contact, MessageKind::Text, "second"),
            message(Direction::Out, SenderKind::User, MessageKind::Text, "answer"),
            message(Direction::In, SenderKind::Contact, MessageKind::Text, "first"),
        ];
        let (last, unread) = summarise(newest_first);
        assert_eq!(unread, 2);
        assert_eq!(last.and_then(|m| m.body).as_deref(), Some("third"));
    }

    #[test]
    fn no_messages_no_preview() {
        assert_eq!(summarise(Vec::new()).1, 0);
        assert!(summarise(Vec::new()).0.is_none());
    }
}
