//! What the inbox lists show for each chat beside the conversation itself:
//! who the customer is, on which channel, the last message, and how many
//! customer messages wait for an answer.

use std::collections::HashMap;

use switchboard_core::permissions::Actor;
use switchboard_core::search::{Piece, TextQuery};
use switchboard_core::transcript;
use switchboard_core::{ChannelId, ChannelKind, Contact, Conversation, Message, TeamId, UserId};
use switchboard_store::{CustomerBrief, Page};

use crate::{ConversationQuery, ServiceResult, Services};

/// How far the unanswered customer messages are counted (a list row
/// shows "20+" beyond that).
const UNREAD_CAP: u64 = 20;

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

impl Services {
    /// One page of a conversation list with what each row shows.
    pub async fn inbox(&self, actor: &Actor, q: ConversationQuery) -> ServiceResult<Page<InboxRow>> {
        let text = q.q.as_deref().map(TextQuery::parse).unwrap_or_default();
        let filter = self.conversation_filter(actor, &q).await?;
        // The page comes with what its rows show of each customer; the
        // names are read beside it, the previews once its ids are known.
        let page = async {
            Ok(self
                .store()
                .reader()
                .conversation_table(actor.workspace_id, &filter)
                .await?)
        };
        let (page, names) = futures::try_join!(page, self.names(actor))?;
        let ids: Vec<_> = page.items.iter().map(|(c, _)| c.id).collect();
        let previews = async { Ok(self.store().reader().row_previews(&ids, UNREAD_CAP).await?) };
        let (mut snippets, mut previews) = futures::try_join!(self.snippets(actor, &ids, &text), previews)?;
        let mut rows = Vec::with_capacity(page.items.len());
        for (conversation, customer) in page.items {
            let (last_message, unread) = match previews.remove(&conversation.id) {
                Some((message, unread)) => (Some(message), unread),
                None => (None, 0),
            };
            let (channel_kind, channel_name) = match names.channels.get(&conversation.channel_id) {
                Some((kind, name)) => (Some(*kind), name.clone()),
                None => (None, "deleted channel".into()),
            };
            rows.push(InboxRow {
                contact_name: customer_label(&customer),
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
        let names = self.store().reader().display_names(actor.workspace_id).await?;
        Ok(Names {
            people: transcript::Names {
                users: names.users.into_iter().collect(),
                teams: names.teams.into_iter().collect(),
            },
            channels: names
                .channels
                .into_iter()
                .map(|(id, kind, name)| (id, (kind, name)))
                .collect(),
        })
    }
}
