//! Conversations, their tags, and messages.

use std::collections::{BTreeSet, HashSet};

use sea_query::{
    Cond, Expr, ExprTrait, InsertStatement, LockType, OnConflict, Order, Query, SelectStatement, SimpleExpr,
};
use switchboard_core::permissions::Visibility;
use switchboard_core::search::TextQuery;
use switchboard_core::{
    ChannelId, ContactId, Conversation, ConversationId, ConversationStatus, ConversationTimes, DeliveryStatus,
    Direction, Message, MessageId, MessageKind, Millis, TeamId, UserId, WorkspaceId,
};

use crate::repo::search::{TextIndex, search_text};
use crate::repo::table::{PagedRow, page_with_tags};
use crate::schema::*;
use crate::{
    Exec, IN_LIST_MAX, Page, Result, StoreError, channel_key_conds, page_of, parse, parse_opt, rows_per_statement,
};

#[derive(Debug, Clone, sqlx::FromRow)]
pub(crate) struct ConversationRow {
    id: String,
    workspace_id: String,
    channel_id: String,
    contact_id: String,
    team_id: Option<String>,
    assignee_id: Option<String>,
    status: String,
    priority: String,
    ticket: bool,
    close_comment: Option<String>,
    rating: Option<i64>,
    created_at: i64,
    assigned_at: Option<i64>,
    first_assigned_at: Option<i64>,
    first_reply_at: Option<i64>,
    first_reply_after_assignment_at: Option<i64>,
    last_customer_message_at: Option<i64>,
    last_message_at: Option<i64>,
    closed_at: Option<i64>,
    queued_at: Option<i64>,
    snoozed_until: Option<i64>,
    updated_at: i64,
    feedback_requested_at: Option<i64>,
    window_closed_at: Option<i64>,
    handed_off_at: Option<i64>,
    messages_in: i64,
    messages_out: i64,
    close_reason: Option<String>,
    started_by: Option<String>,
}

impl ConversationRow {
    pub(crate) fn id(&self) -> &str {
        &self.id
    }

    pub(crate) fn into_domain(self, tags: Vec<String>) -> Result<Conversation> {
        Ok(Conversation {
            id: parse("conversation id", &self.id)?,
            workspace_id: parse("workspace id", &self.workspace_id)?,
            channel_id: parse("channel id", &self.channel_id)?,
            contact_id: parse("contact id", &self.contact_id)?,
            team_id: parse_opt("team id", self.team_id.as_deref())?,
            assignee_id: parse_opt("user id", self.assignee_id.as_deref())?,
            status: parse("status", &self.status)?,
            priority: parse("priority", &self.priority)?,
            ticket: self.ticket,
            tags,
            close_comment: self.close_comment,
            close_reason: self.close_reason,
            rating: self.rating,
            times: ConversationTimes {
                created_at: Millis(self.created_at),
                assigned_at: self.assigned_at.map(Millis),
                first_assigned_at: self.first_assigned_at.map(Millis),
                first_reply_at: self.first_reply_at.map(Millis),
                first_reply_after_assignment_at: self.first_reply_after_assignment_at.map(Millis),
                last_customer_message_at: self.last_customer_message_at.map(Millis),
                last_message_at: self.last_message_at.map(Millis),
                closed_at: self.closed_at.map(Millis),
                queued_at: self.queued_at.map(Millis),
                feedback_requested_at: self.feedback_requested_at.map(Millis),
                window_closed_at: self.window_closed_at.map(Millis),
                handed_off_at: self.handed_off_at.map(Millis),
                messages_in: u32::try_from(self.messages_in).unwrap_or(u32::MAX),
                messages_out: u32::try_from(self.messages_out).unwrap_or(u32::MAX),
                started_by: parse_opt("direction", self.started_by.as_deref())?,
            },
            snoozed_until: self.snoozed_until.map(Millis),
            updated_at: Millis(self.updated_at),
        })
    }
}

/// What [`conversation_saves`] writes over a stored conversation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ConversationSave {
    /// Every column but its identity and creation time.
    All,
    /// Only what a customer message changes in a chat it does not reopen,
    /// wake or rate: `last_customer_message_at`, `last_message_at`,
    /// `updated_at`. SQLite rewrites the entries of every index that holds
    /// a column an UPDATE sets, whether its value changed or not; this
    /// touches one of the table's eight indexes instead of all of them.
    /// The message counters go with them (no index holds those).
    MessageTimes,
}

pub(crate) const CONVERSATION_COLUMNS: [Conversations; 29] = [
    Conversations::Id,
    Conversations::WorkspaceId,
    Conversations::ChannelId,
    Conversations::ContactId,
    Conversations::TeamId,
    Conversations::AssigneeId,
    Conversations::Status,
    Conversations::Priority,
    Conversations::Ticket,
    Conversations::CloseComment,
    Conversations::Rating,
    Conversations::CreatedAt,
    Conversations::AssignedAt,
    Conversations::FirstAssignedAt,
    Conversations::FirstReplyAt,
    Conversations::FirstReplyAfterAssignmentAt,
    Conversations::LastCustomerMessageAt,
    Conversations::LastMessageAt,
    Conversations::ClosedAt,
    Conversations::QueuedAt,
    Conversations::SnoozedUntil,
    Conversations::UpdatedAt,
    Conversations::FeedbackRequestedAt,
    Conversations::WindowClosedAt,
    Conversations::HandedOffAt,
    Conversations::MessagesIn,
    Conversations::MessagesOut,
    Conversations::CloseReason,
    Conversations::StartedBy,
];

fn conversation_values(c: &Conversation) -> [sea_query::SimpleExpr; 29] {
    let t = &c.times;
    let ms = |m: Option<Millis>| m.map(|m| m.0);
    [
        c.id.to_string().into(),
        c.workspace_id.to_string().into(),
        c.channel_id.to_string().into(),
        c.contact_id.to_string().into(),
        c.team_id.map(|x| x.to_string()).into(),
        c.assignee_id.map(|x| x.to_string()).into(),
        c.status.as_str().into(),
        c.priority.as_str().into(),
        c.ticket.into(),
        c.close_comment.clone().into(),
        c.rating.into(),
        t.created_at.0.into(),
        ms(t.assigned_at).into(),
        ms(t.first_assigned_at).into(),
        ms(t.first_reply_at).into(),
        ms(t.first_reply_after_assignment_at).into(),
        ms(t.last_customer_message_at).into(),
        ms(t.last_message_at).into(),
        ms(t.closed_at).into(),
        ms(t.queued_at).into(),
        ms(c.snoozed_until).into(),
        c.updated_at.0.into(),
        ms(t.feedback_requested_at).into(),
        ms(t.window_closed_at).into(),
        ms(t.handed_off_at).into(),
        i64::from(t.messages_in).into(),
        i64::from(t.messages_out).into(),
        c.close_reason.clone().into(),
        t.started_by.map(|d| d.as_str()).into(),
    ]
}

/// Which conversations to list.
#[derive(Debug, Clone)]
pub struct ConversationFilter {
    pub visibility: Visibility,
    pub statuses: Option<Vec<ConversationStatus>>,
    pub ticket: Option<bool>,
    pub assignee: Option<UserId>,
    pub unassigned: bool,
    pub team: Option<TeamId>,
    pub channel: Option<ChannelId>,
    pub contact: Option<ContactId>,
    /// A tag's name: chats carrying it.
    pub tag: Option<String>,
    /// Full-text search over messages, notes and comments, or the
    /// contact's name, e-mail, phone and channel identities.
    pub text: Option<TextQuery>,
    /// Critical chats only, or none of them.
    pub critical: Option<bool>,
    /// The customer's rating (1–5).
    pub rating: Option<i64>,
    /// Who wrote first (DESIGN.md §8 "sent by").
    pub sent_by: Option<SentBy>,
    /// `true`: the customer wrote last and waits for an answer; `false`: we did.
    pub awaiting_reply: Option<bool>,
    pub created: TimeRange,
    pub closed: TimeRange,
    /// On the time of the last message.
    pub last_activity: TimeRange,
    /// The contact's country.
    pub country: Option<String>,
    /// The close reason chosen when it was closed.
    pub close_reason: Option<String>,
    /// Response time since creation at least / below (milliseconds).
    pub response: DurationRange,
    /// The assignee's response time since assignment at least / below.
    pub response_after_assignment: DurationRange,
    /// Awaiting our answer since at or before this instant.
    pub waiting_since_before: Option<Millis>,
    pub sort: ConversationSort,
    pub cursor: Option<ListCursor>,
    pub limit: u64,
}

/// At least / below, in milliseconds; either open.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct DurationRange {
    pub at_least: Option<i64>,
    pub below: Option<i64>,
}

/// The order of a conversation list, newest first by default; every other
/// order is descending too, with the id breaking ties, so pages continue
/// by keyset.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum ConversationSort {
    #[default]
    Newest,
    LastActivity,
    /// Closed ones by closing time; open ones last.
    Closed,
    /// Closed ones by duration; open ones last.
    Duration,
    /// Answered ones by response time since creation; unanswered ones last.
    ResponseTime,
}

impl ConversationSort {
    /// The sort key in SQL (columns of `conversations` only; no input).
    pub(crate) fn key_sql(self) -> Option<&'static str> {
        Some(match self {
            Self::Newest => return None,
            Self::LastActivity => "COALESCE(last_message_at, created_at)",
            Self::Closed => "COALESCE(closed_at, -1)",
            Self::Duration => "COALESCE(closed_at - created_at, -1)",
            Self::ResponseTime => "COALESCE(first_reply_at - created_at, -1)",
        })
    }

    /// Where the page after `row` starts.
    pub(crate) fn cursor_of(self, row: &ConversationRow) -> String {
        match self {
            Self::Newest => row.id.clone(),
            _ => format!("{}.{}", self.key_of(row), row.id),
        }
    }

    /// The same key computed from a row (for the next cursor).
    fn key_of(self, c: &ConversationRow) -> i64 {
        match self {
            Self::Newest => 0,
            Self::LastActivity => c.last_message_at.unwrap_or(c.created_at),
            Self::Closed => c.closed_at.unwrap_or(-1),
            Self::Duration => c.closed_at.map_or(-1, |closed| closed - c.created_at),
            Self::ResponseTime => c.first_reply_at.map_or(-1, |reply| reply - c.created_at),
        }
    }
}

/// Where the next page of a list starts: after this row (and, for sorted
/// lists, its sort key). As text: the id, or `key.id`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ListCursor {
    pub key: Option<i64>,
    pub id: ConversationId,
}

impl std::str::FromStr for ListCursor {
    type Err = ();
    fn from_str(raw: &str) -> std::result::Result<Self, ()> {
        match raw.split_once('.') {
            None => Ok(Self {
                key: None,
                id: raw.parse().map_err(|_| ())?,
            }),
            Some((key, id)) => Ok(Self {
                key: Some(key.parse().map_err(|_| ())?),
                id: id.parse().map_err(|_| ())?,
            }),
        }
    }
}

/// From (inclusive) and before (exclusive), in milliseconds; either open.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct TimeRange {
    pub from: Option<Millis>,
    pub before: Option<Millis>,
}

/// Who wrote first in a conversation: the customer, or the business (a
/// template or an agent reaching out).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SentBy {
    Customer,
    Business,
}

impl ConversationFilter {
    pub fn new(visibility: Visibility, limit: u64) -> Self {
        Self {
            visibility,
            statuses: None,
            ticket: None,
            assignee: None,
            unassigned: false,
            team: None,
            channel: None,
            contact: None,
            tag: None,
            text: None,
            critical: None,
            rating: None,
            sent_by: None,
            awaiting_reply: None,
            created: TimeRange::default(),
            closed: TimeRange::default(),
            last_activity: TimeRange::default(),
            country: None,
            close_reason: None,
            response: DurationRange::default(),
            response_after_assignment: DurationRange::default(),
            waiting_since_before: None,
            sort: ConversationSort::Newest,
            cursor: None,
            limit,
        }
    }
}

/// A list row's preview message and its unanswered count.
#[derive(sqlx::FromRow)]
struct PreviewRow {
    #[sqlx(flatten)]
    message: MessageRow,
    unread: i64,
}

#[derive(Debug, Clone, sqlx::FromRow)]
pub(crate) struct MessageRow {
    id: String,
    workspace_id: String,
    conversation_id: String,
    direction: String,
    sender_kind: String,
    sender_id: Option<String>,
    kind: String,
    body: Option<String>,
    activity: Option<String>,
    in_reply_to: Option<String>,
    provider_message_id: Option<String>,
    delivery_status: Option<String>,
    delivery_error: Option<String>,
    created_at: i64,
    send_at: Option<i64>,
    buttons: Option<String>,
    edited_at: Option<i64>,
    subject: Option<String>,
    html: Option<String>,
}

impl MessageRow {
    pub(crate) fn into_domain(self) -> Result<Message> {
        let kind: MessageKind = parse("message kind", &self.kind)?;
        // The `activity` column holds a message's structured details: what
        // happened (kind `activity`) or the template it was made from.
        let (activity, template) = match kind {
            MessageKind::Template => (None, json_column("template", self.activity.as_deref())?),
            _ => (json_column("activity", self.activity.as_deref())?, None),
        };
        Ok(Message {
            id: parse("message id", &self.id)?,
            workspace_id: parse("workspace id", &self.workspace_id)?,
            conversation_id: parse("conversation id", &self.conversation_id)?,
            direction: parse("direction", &self.direction)?,
            sender_kind: parse("sender kind", &self.sender_kind)?,
            sender_id: self.sender_id,
            kind,
            body: self.body,
            activity,
            in_reply_to: parse_opt("message id", self.in_reply_to.as_deref())?,
            provider_message_id: self.provider_message_id,
            delivery_status: parse_opt("delivery status", self.delivery_status.as_deref())?,
            delivery_error: self.delivery_error,
            created_at: Millis(self.created_at),
            send_at: self.send_at.map(Millis),
            buttons: match self.buttons.as_deref() {
                Some(b) => serde_json::from_str(b).map_err(|e| StoreError::Corrupt(format!("buttons: {e}")))?,
                None => Vec::new(),
            },
            template,
            edited_at: self.edited_at.map(Millis),
            subject: self.subject,
            html: self.html,
        })
    }
}

pub(crate) fn json_column<T: serde::de::DeserializeOwned>(what: &str, raw: Option<&str>) -> Result<Option<T>> {
    raw.map(serde_json::from_str)
        .transpose()
        .map_err(|e| StoreError::Corrupt(format!("{what}: {e}")))
}

const MESSAGE_COLUMNS: [Messages; 20] = [
    Messages::Id,
    Messages::WorkspaceId,
    Messages::ConversationId,
    Messages::ChannelId,
    Messages::Direction,
    Messages::SenderKind,
    Messages::SenderId,
    Messages::Kind,
    Messages::Body,
    Messages::Activity,
    Messages::InReplyTo,
    Messages::ProviderMessageId,
    Messages::DeliveryStatus,
    Messages::DeliveryError,
    Messages::CreatedAt,
    Messages::SendAt,
    Messages::Buttons,
    Messages::SearchText,
    Messages::Subject,
    Messages::Html,
];

fn message_values(m: &Message, channel: ChannelId) -> [sea_query::SimpleExpr; 20] {
    [
        m.id.to_string().into(),
        m.workspace_id.to_string().into(),
        m.conversation_id.to_string().into(),
        channel.to_string().into(),
        m.direction.as_str().into(),
        m.sender_kind.as_str().into(),
        m.sender_id.clone().into(),
        m.kind.as_str().into(),
        m.body.clone().into(),
        match (&m.activity, &m.template) {
            (Some(a), _) => serde_json::to_string(a).ok(),
            (None, Some(t)) => serde_json::to_string(t).ok(),
            (None, None) => None,
        }
        .into(),
        m.in_reply_to.map(|x| x.to_string()).into(),
        m.provider_message_id.clone().into(),
        m.delivery_status.map(|s| s.as_str()).into(),
        m.delivery_error.clone().into(),
        m.created_at.0.into(),
        m.send_at.map(|t| t.0).into(),
        (!m.buttons.is_empty())
            .then(|| serde_json::to_string(&m.buttons).unwrap_or_default())
            .into(),
        search_text(m).into(),
        m.subject.clone().into(),
        m.html.clone().into(),
    ]
}

/// Insert new conversations and write back changed ones, many per
/// statement (batched ingest; run with [`Exec::execute_all`]). An upsert on
/// `id`: a row that exists gets the columns `save` names (with `All`, every
/// column [`Exec::update_conversation`] writes); id, workspace, channel,
/// contact and `created_at` never change.
pub fn conversation_saves(conversations: &[&Conversation], save: ConversationSave) -> Vec<InsertStatement> {
    let changing: Vec<Conversations> = match save {
        ConversationSave::All => CONVERSATION_COLUMNS
            .into_iter()
            .skip(4)
            .filter(|col| !matches!(col, Conversations::CreatedAt))
            .collect(),
        ConversationSave::MessageTimes => vec![
            Conversations::LastCustomerMessageAt,
            Conversations::LastMessageAt,
            Conversations::UpdatedAt,
            Conversations::MessagesIn,
            Conversations::MessagesOut,
            Conversations::StartedBy,
        ],
    };
    conversations
        .chunks(rows_per_statement(CONVERSATION_COLUMNS.len()))
        .map(|chunk| {
            let mut q = Query::insert();
            q.into_table(Conversations::Table)
                .columns(CONVERSATION_COLUMNS)
                .on_conflict(
                    OnConflict::column(Conversations::Id)
                        .update_columns(changing.iter().copied())
                        .to_owned(),
                );
            for c in chunk {
                q.values_panic(conversation_values(c));
            }
            q
        })
        .collect()
}

/// The statements of [`Exec::insert_messages`], to run with other writes
/// ([`Exec::execute_all`]).
pub fn message_inserts(messages: &[(ChannelId, &Message)]) -> Vec<InsertStatement> {
    messages
        .chunks(rows_per_statement(MESSAGE_COLUMNS.len()))
        .map(|chunk| {
            let mut q = Query::insert();
            q.into_table(Messages::Table).columns(MESSAGE_COLUMNS);
            for (channel, m) in chunk {
                q.values_panic(message_values(m, *channel));
            }
            q
        })
        .collect()
}

/// A stored message found by its provider's id: where it is, not what it says.
#[derive(Debug, Clone)]
pub struct ProviderMessage {
    pub channel_id: ChannelId,
    pub direction: Direction,
    pub provider_message_id: String,
    pub id: MessageId,
    pub conversation_id: ConversationId,
}

/// The rows of [`provider_id_selects`].
pub(crate) type ProviderIdRow = (String, String, String, String);

/// Where messages of one direction with these `(channel, provider id)`
/// pairs are, one statement per 500 ids; rows decode as [`ProviderIdRow`].
pub(crate) fn provider_id_selects(direction: Direction, pairs: &[(ChannelId, &str)]) -> Vec<SelectStatement> {
    channel_key_conds(Messages::ChannelId, Messages::ProviderMessageId, pairs)
        .into_iter()
        .map(|cond| {
            Query::select()
                .columns([
                    Messages::ChannelId,
                    Messages::ProviderMessageId,
                    Messages::Id,
                    Messages::ConversationId,
                ])
                .from(Messages::Table)
                .and_where(Expr::col(Messages::Direction).eq(direction.as_str()))
                .cond_where(cond)
                .to_owned()
        })
        .collect()
}

pub(crate) fn provider_messages(direction: Direction, rows: Vec<ProviderIdRow>) -> Result<Vec<ProviderMessage>> {
    rows.into_iter()
        .map(|(channel, provider_id, id, conversation)| {
            Ok(ProviderMessage {
                channel_id: parse("channel id", &channel)?,
                direction,
                provider_message_id: provider_id,
                id: parse("message id", &id)?,
                conversation_id: parse("conversation id", &conversation)?,
            })
        })
        .collect()
}

/// Every column a [`MessageRow`] reads.
const MESSAGE_READ_COLUMNS: [Messages; 19] = [
    Messages::Id,
    Messages::WorkspaceId,
    Messages::ConversationId,
    Messages::Direction,
    Messages::SenderKind,
    Messages::SenderId,
    Messages::Kind,
    Messages::Body,
    Messages::Activity,
    Messages::InReplyTo,
    Messages::ProviderMessageId,
    Messages::DeliveryStatus,
    Messages::DeliveryError,
    Messages::CreatedAt,
    Messages::SendAt,
    Messages::Buttons,
    Messages::EditedAt,
    Messages::Subject,
    Messages::Html,
];

pub(crate) fn message_select() -> sea_query::SelectStatement {
    Query::select()
        .columns(MESSAGE_READ_COLUMNS)
        .from(Messages::Table)
        .to_owned()
}

impl Exec<'_> {
    pub async fn insert_conversation(&mut self, c: &Conversation) -> Result<()> {
        self.execute(
            Query::insert()
                .into_table(Conversations::Table)
                .columns(CONVERSATION_COLUMNS)
                .values_panic(conversation_values(c)),
        )
        .await?;
        Ok(())
    }

    /// Write back everything the lifecycle and the message times may change.
    pub async fn update_conversation(&mut self, c: &Conversation) -> Result<u64> {
        let mut q = Query::update();
        q.table(Conversations::Table)
            .and_where(Expr::col(Conversations::WorkspaceId).eq(c.workspace_id.to_string()))
            .and_where(Expr::col(Conversations::Id).eq(c.id.to_string()));
        // Id, workspace, channel, contact and created_at never change.
        for (col, value) in CONVERSATION_COLUMNS.into_iter().zip(conversation_values(c)).skip(4) {
            if !matches!(col, Conversations::CreatedAt) {
                q.value(col, value);
            }
        }
        self.execute(&q).await
    }

    pub(crate) async fn tags_of(&mut self, ids: &[String]) -> Result<Vec<(String, String)>> {
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        self.fetch_all(&conversation_tag_names(
            Expr::col((ConversationTags::Table, ConversationTags::ConversationId)).is_in(ids.iter().cloned()),
        ))
        .await
    }

    pub(crate) async fn with_tags(&mut self, rows: Vec<ConversationRow>) -> Result<Vec<Conversation>> {
        let ids: Vec<String> = rows.iter().map(|r| r.id.clone()).collect();
        let mut by_conversation: std::collections::HashMap<String, Vec<String>> = std::collections::HashMap::new();
        for (conversation, tag) in self.tags_of(&ids).await? {
            by_conversation.entry(conversation).or_default().push(tag);
        }
        rows.into_iter()
            .map(|row| {
                let mine = by_conversation.remove(&row.id).unwrap_or_default();
                row.into_domain(mine)
            })
            .collect()
    }

    pub async fn conversation(&mut self, ws: WorkspaceId, id: ConversationId) -> Result<Option<Conversation>> {
        self.conversation_locked(ws, id, false).await
    }

    /// Read a conversation to change it: on PostgreSQL the row stays locked
    /// until the transaction ends (SQLite's writer lock already serialises).
    pub async fn conversation_for_update(
        &mut self,
        ws: WorkspaceId,
        id: ConversationId,
    ) -> Result<Option<Conversation>> {
        self.conversation_locked(ws, id, true).await
    }

    async fn conversation_locked(
        &mut self,
        ws: WorkspaceId,
        id: ConversationId,
        lock: bool,
    ) -> Result<Option<Conversation>> {
        let mut q = Query::select();
        q.columns(CONVERSATION_COLUMNS)
            .from(Conversations::Table)
            .and_where(Expr::col(Conversations::WorkspaceId).eq(ws.to_string()))
            .and_where(Expr::col(Conversations::Id).eq(id.to_string()));
        if lock {
            q.lock(LockType::Update);
        }
        let row: Option<ConversationRow> = self.fetch_optional(&q).await?;
        match row {
            None => Ok(None),
            Some(row) => Ok(self.with_tags(vec![row]).await?.pop()),
        }
    }

    /// The newest conversation of each `(contact, channel)` pair that has
    /// one, in one statement per 500 contacts. Tags are not read (`tags` is
    /// empty). Ingest reads the same by identity, with tags, in
    /// [`Exec::ingest_facts`].
    pub async fn latest_conversations(&mut self, pairs: &[(ContactId, ChannelId)]) -> Result<Vec<Conversation>> {
        let contacts: BTreeSet<String> = pairs.iter().map(|(c, _)| c.to_string()).collect();
        let channels: BTreeSet<String> = pairs.iter().map(|(_, c)| c.to_string()).collect();
        let contacts: Vec<String> = contacts.into_iter().collect();
        let mut found = Vec::new();
        for chunk in contacts.chunks(IN_LIST_MAX) {
            // The newest id per pair; `conversations_contact (contact_id,
            // channel_id, id)` answers it from the index.
            let newest = Query::select()
                .expr(Expr::col(Conversations::Id).max())
                .from(Conversations::Table)
                .and_where(Expr::col(Conversations::ContactId).is_in(chunk.iter().cloned()))
                .and_where(Expr::col(Conversations::ChannelId).is_in(channels.iter().cloned()))
                .group_by_columns([Conversations::ContactId, Conversations::ChannelId])
                .to_owned();
            let rows: Vec<ConversationRow> = self
                .fetch_all(
                    Query::select()
                        .columns(CONVERSATION_COLUMNS)
                        .from(Conversations::Table)
                        .and_where(Expr::col(Conversations::Id).in_subquery(newest)),
                )
                .await?;
            for row in rows {
                found.push(row.into_domain(Vec::new())?);
            }
        }
        // Contacts and channels were matched separately: keep the asked pairs.
        let wanted: HashSet<(ContactId, ChannelId)> = pairs.iter().copied().collect();
        found.retain(|c| wanted.contains(&(c.contact_id, c.channel_id)));
        Ok(found)
    }

    /// Conversations, newest first, limited to what the caller may see.
    pub async fn conversations(&mut self, ws: WorkspaceId, f: &ConversationFilter) -> Result<Page<Conversation>> {
        let q = page_with_tags(TextIndex::of(self), ws, f);
        let rows: Vec<PagedRow> = self.fetch_all(&q).await?;
        let page = page_of(rows, f.limit, |r| f.sort.cursor_of(&r.conversation));
        Ok(Page {
            items: page
                .items
                .into_iter()
                .map(PagedRow::into_domain)
                .collect::<Result<_>>()?,
            next_cursor: page.next_cursor,
        })
    }

    /// How many conversations `f` matches (its cursor and limit ignored).
    pub async fn count_conversations(&mut self, ws: WorkspaceId, f: &ConversationFilter) -> Result<u64> {
        let mut q = filtered(TextIndex::of(self), ws, f);
        q.expr(Expr::col(Conversations::Id).count());
        let (n,): (i64,) = self.fetch_one(&q).await?;
        Ok(n.max(0) as u64)
    }

    /// How many conversations each of `filters` matches, in their order,
    /// in one statement (one count per part of a UNION ALL).
    pub async fn count_conversations_each(
        &mut self,
        ws: WorkspaceId,
        filters: &[ConversationFilter],
    ) -> Result<Vec<u64>> {
        let index = TextIndex::of(self);
        let mut parts = filters.iter().enumerate().map(|(i, f)| {
            let mut q = filtered(index, ws, f);
            q.expr_as(Expr::val(i as i64), sea_query::Alias::new("part"))
                .expr_as(Expr::col(Conversations::Id).count(), sea_query::Alias::new("n"));
            q
        });
        let Some(mut q) = parts.next() else {
            return Ok(Vec::new());
        };
        for part in parts {
            q.union(sea_query::UnionType::All, part);
        }
        let rows: Vec<(i64, i64)> = self.fetch_all(&q).await?;
        let mut counts = vec![0; filters.len()];
        for (part, n) in rows {
            if let Some(count) = usize::try_from(part).ok().and_then(|p| counts.get_mut(p)) {
                *count = n.max(0) as u64;
            }
        }
        Ok(counts)
    }

    /// How many conversations `f` matches, counting no further than `cap`:
    /// `(cap, true)` means "more than `cap`" (a count that stays fast on a
    /// huge archive or a common word).
    pub async fn count_conversations_capped(
        &mut self,
        ws: WorkspaceId,
        f: &ConversationFilter,
        cap: u64,
    ) -> Result<(u64, bool)> {
        let mut inner = filtered(TextIndex::of(self), ws, f);
        inner.expr(Expr::val(1)).limit(cap + 1);
        let (n,): (i64,) = self
            .fetch_one(
                Query::select()
                    .expr(Expr::cust("COUNT(*)"))
                    .from_subquery(inner, sea_query::Alias::new("capped")),
            )
            .await?;
        let n = n.max(0) as u64;
        Ok((n.min(cap), n > cap))
    }

    /// How many conversations `f` matches per assignee (`None`: unassigned).
    pub async fn count_conversations_by_assignee(
        &mut self,
        ws: WorkspaceId,
        f: &ConversationFilter,
    ) -> Result<Vec<(Option<UserId>, u64)>> {
        let mut q = filtered(TextIndex::of(self), ws, f);
        q.column(Conversations::AssigneeId)
            .expr(Expr::col(Conversations::Id).count())
            .group_by_col(Conversations::AssigneeId);
        let rows: Vec<(Option<String>, i64)> = self.fetch_all(&q).await?;
        rows.into_iter()
            .map(|(a, n)| Ok((parse_opt("user id", a.as_deref())?, n.max(0) as u64)))
            .collect()
    }

    /// Open chats an agent owns (capacity checks).
    pub async fn open_count_of(&mut self, ws: WorkspaceId, user: UserId) -> Result<i64> {
        let (n,): (i64,) = self
            .fetch_one(
                Query::select()
                    .expr(Expr::col(Conversations::Id).count())
                    .from(Conversations::Table)
                    .and_where(Expr::col(Conversations::WorkspaceId).eq(ws.to_string()))
                    .and_where(Expr::col(Conversations::AssigneeId).eq(user.to_string()))
                    .and_where(Expr::col(Conversations::Status).eq(ConversationStatus::Assigned.as_str())),
            )
            .await?;
        Ok(n)
    }

    pub async fn set_conversation_tags(&mut self, conversation: ConversationId, tag_ids: &[String]) -> Result<()> {
        self.execute(
            Query::delete()
                .from_table(ConversationTags::Table)
                .and_where(Expr::col(ConversationTags::ConversationId).eq(conversation.to_string())),
        )
        .await?;
        if tag_ids.is_empty() {
            return Ok(());
        }
        let mut q = Query::insert();
        q.into_table(ConversationTags::Table)
            .columns([ConversationTags::ConversationId, ConversationTags::TagId]);
        for tag in tag_ids {
            q.values_panic([conversation.to_string().into(), tag.clone().into()]);
        }
        self.execute(&q).await?;
        Ok(())
    }

    /// Insert a message. An inbound message whose provider id this channel
    /// already stored fails with [`StoreError::Conflict`].
    pub async fn insert_message(&mut self, m: &Message, channel: ChannelId) -> Result<()> {
        self.insert_messages(&[(channel, m)]).await
    }

    /// Insert messages (each with its channel) with multi-row statements, in
    /// the order given. Fails like [`Exec::insert_message`].
    pub async fn insert_messages(&mut self, messages: &[(ChannelId, &Message)]) -> Result<()> {
        self.execute_all(&message_inserts(messages)).await
    }

    pub async fn message(&mut self, ws: WorkspaceId, id: MessageId) -> Result<Option<Message>> {
        let row: Option<MessageRow> = self
            .fetch_optional(
                message_select()
                    .and_where(Expr::col(Messages::WorkspaceId).eq(ws.to_string()))
                    .and_where(Expr::col(Messages::Id).eq(id.to_string())),
            )
            .await?;
        row.map(MessageRow::into_domain).transpose()
    }

    pub async fn message_by_provider_id(
        &mut self,
        channel: ChannelId,
        direction: Direction,
        provider_id: &str,
    ) -> Result<Option<Message>> {
        let row: Option<MessageRow> = self
            .fetch_optional(
                message_select()
                    .and_where(Expr::col(Messages::ChannelId).eq(channel.to_string()))
                    .and_where(Expr::col(Messages::Direction).eq(direction.as_str()))
                    .and_where(Expr::col(Messages::ProviderMessageId).eq(provider_id)),
            )
            .await?;
        row.map(MessageRow::into_domain).transpose()
    }

    /// The stored messages of one direction among `(channel, provider id)`
    /// pairs, in one statement per 500 ids (batched ingest: deduplication and
    /// quoted messages).
    pub async fn messages_by_provider_ids(
        &mut self,
        direction: Direction,
        pairs: &[(ChannelId, &str)],
    ) -> Result<Vec<ProviderMessage>> {
        let mut found = Vec::new();
        for stmt in provider_id_selects(direction, pairs) {
            found.extend(provider_messages(direction, self.fetch_all(&stmt).await?)?);
        }
        Ok(found)
    }

    /// The subjects a customer's messages on a channel carried, newest
    /// first, with their conversations (threading by subject; the newest
    /// 200 are plenty to find a thread the customer still writes in).
    pub async fn thread_subjects(
        &mut self,
        channel: ChannelId,
        contact: ContactId,
    ) -> Result<Vec<(ConversationId, String)>> {
        let rows: Vec<(String, String)> = self
            .fetch_all(
                Query::select()
                    .column((Messages::Table, Messages::ConversationId))
                    .column((Messages::Table, Messages::Subject))
                    .from(Messages::Table)
                    .inner_join(
                        Conversations::Table,
                        Expr::col((Conversations::Table, Conversations::Id))
                            .equals((Messages::Table, Messages::ConversationId)),
                    )
                    .and_where(Expr::col((Conversations::Table, Conversations::ChannelId)).eq(channel.to_string()))
                    .and_where(Expr::col((Conversations::Table, Conversations::ContactId)).eq(contact.to_string()))
                    .and_where(Expr::col((Messages::Table, Messages::Subject)).is_not_null())
                    .order_by((Messages::Table, Messages::Id), Order::Desc)
                    .limit(200),
            )
            .await?;
        rows.into_iter()
            .map(|(conversation, subject)| Ok((parse("conversation id", &conversation)?, subject)))
            .collect()
    }

    /// The provider ids of every inbound message stored for a channel, one
    /// entry per stored row (so a repeated id would show up twice), in
    /// storage order. For audits and crash tests; it reads the whole channel.
    pub async fn inbound_provider_ids(&mut self, channel: ChannelId) -> Result<Vec<String>> {
        let rows: Vec<(Option<String>,)> = self
            .fetch_all(
                Query::select()
                    .column(Messages::ProviderMessageId)
                    .from(Messages::Table)
                    .and_where(Expr::col(Messages::ChannelId).eq(channel.to_string()))
                    .and_where(Expr::col(Messages::Direction).eq(Direction::In.as_str()))
                    .order_by(Messages::Id, Order::Asc),
            )
            .await?;
        Ok(rows.into_iter().map(|(id,)| id.unwrap_or_default()).collect())
    }

    /// Messages of a conversation in time order (`descending` for newest first).
    pub async fn messages(
        &mut self,
        conversation: ConversationId,
        cursor: Option<MessageId>,
        limit: u64,
        descending: bool,
    ) -> Result<Page<Message>> {
        let mut q = message_select();
        q.and_where(Expr::col(Messages::ConversationId).eq(conversation.to_string()))
            .order_by(Messages::Id, if descending { Order::Desc } else { Order::Asc })
            .limit(limit + 1);
        if let Some(cursor) = cursor {
            let col = Expr::col(Messages::Id);
            q.and_where(if descending {
                col.lt(cursor.to_string())
            } else {
                col.gt(cursor.to_string())
            });
        }
        let rows: Vec<MessageRow> = self.fetch_all(&q).await?;
        let page = page_of(rows, limit, |r| r.id.clone());
        Ok(Page {
            items: page
                .items
                .into_iter()
                .map(MessageRow::into_domain)
                .collect::<Result<_>>()?,
            next_cursor: page.next_cursor,
        })
    }

    /// What a list row shows of each of `conversations`, in one statement:
    /// the newest message a person or the customer wrote (notes and
    /// activity lines are not previews) and how many of the customer's
    /// messages came after the business last wrote, counted up to `cap`.
    /// A conversation with no such message is absent (nothing waits).
    pub async fn row_previews(
        &mut self,
        conversations: &[ConversationId],
        cap: u64,
    ) -> Result<std::collections::HashMap<ConversationId, (Message, u64)>> {
        let previews = [MessageKind::Text, MessageKind::Media, MessageKind::Template].map(|k| k.as_str());
        let [c, m, u, b] = ["c", "m", "u", "b"].map(sea_query::Alias::new);
        // Each part names its conversation by the outer row (`c.id`), so
        // the statement keeps one small shape however long the page is.
        let of_chat = |alias: &sea_query::Alias| {
            Query::select()
                .from_as(Messages::Table, alias.clone())
                .and_where(Expr::col((alias.clone(), Messages::ConversationId)).equals((c.clone(), Conversations::Id)))
                .and_where(Expr::col((alias.clone(), Messages::Kind)).is_in(previews))
                .to_owned()
        };
        let newest = of_chat(&m)
            .column((m.clone(), Messages::Id))
            .order_by((m.clone(), Messages::Id), Order::Desc)
            .limit(1)
            .to_owned();
        let business_newest = of_chat(&b)
            .column((b.clone(), Messages::Id))
            .cond_where(
                Cond::any()
                    .add(Expr::col((b.clone(), Messages::Direction)).ne(Direction::In.as_str()))
                    .add(
                        Expr::col((b.clone(), Messages::SenderKind)).ne(switchboard_core::SenderKind::Contact.as_str()),
                    ),
            )
            .order_by((b.clone(), Messages::Id), Order::Desc)
            .limit(1)
            .to_owned();
        // The customer's messages newer than the business's newest one.
        let after = sea_query::Func::coalesce([
            SimpleExpr::SubQuery(None, Box::new(business_newest.into_sub_query_statement())),
            Expr::val("").into(),
        ]);
        let newer = of_chat(&u)
            .expr(Expr::val(1))
            .and_where(Expr::col((u.clone(), Messages::Id)).gt(after))
            .limit(cap)
            .to_owned();
        let waiting = Query::select()
            .expr(Expr::cust("count(*)"))
            .from_subquery(newer, sea_query::Alias::new("w"))
            .to_owned();
        let mut found = std::collections::HashMap::new();
        for chunk in conversations.chunks(IN_LIST_MAX) {
            let mut q = Query::select();
            q.columns(MESSAGE_READ_COLUMNS.map(|col| (m.clone(), col)))
                .expr_as(
                    SimpleExpr::SubQuery(None, Box::new(waiting.clone().into_sub_query_statement())),
                    sea_query::Alias::new("unread"),
                )
                .from_as(Conversations::Table, c.clone())
                .join_as(
                    sea_query::JoinType::InnerJoin,
                    Messages::Table,
                    m.clone(),
                    Expr::col((m.clone(), Messages::Id)).eq(SimpleExpr::SubQuery(
                        None,
                        Box::new(newest.clone().into_sub_query_statement()),
                    )),
                )
                .and_where(Expr::col((c.clone(), Conversations::Id)).is_in(chunk.iter().map(ToString::to_string)));
            let rows: Vec<PreviewRow> = self.fetch_all(&q).await?;
            for row in rows {
                let message = row.message.into_domain()?;
                found.insert(message.conversation_id, (message, row.unread.max(0) as u64));
            }
        }
        Ok(found)
    }

    pub async fn count_messages(&mut self, conversation: ConversationId) -> Result<i64> {
        let (n,): (i64,) = self
            .fetch_one(
                Query::select()
                    .expr(Expr::col(Messages::Id).count())
                    .from(Messages::Table)
                    .and_where(Expr::col(Messages::ConversationId).eq(conversation.to_string())),
            )
            .await?;
        Ok(n)
    }

    /// Move a message's delivery status from `from` to `to`; 0 when it was
    /// not in `from` any more (a race lost to a cancel or a send).
    pub async fn advance_delivery(&mut self, id: MessageId, from: DeliveryStatus, to: DeliveryStatus) -> Result<u64> {
        self.execute(
            Query::update()
                .table(Messages::Table)
                .value(Messages::DeliveryStatus, to.as_str())
                .and_where(Expr::col(Messages::Id).eq(id.to_string()))
                .and_where(Expr::col(Messages::DeliveryStatus).eq(from.as_str())),
        )
        .await
    }

    /// A customer changed a message's text: the text it had goes to its
    /// history (`message_edits`), the new one replaces it (and is what
    /// search finds). Returns whether the message was found.
    pub async fn edit_message(&mut self, m: &Message, text: &str, edited_at: Millis) -> Result<bool> {
        let keep = Query::insert()
            .into_table(MessageEdits::Table)
            .columns([
                MessageEdits::MessageId,
                MessageEdits::WorkspaceId,
                MessageEdits::Body,
                MessageEdits::ReplacedAt,
            ])
            .values_panic([
                m.id.to_string().into(),
                m.workspace_id.to_string().into(),
                m.body.clone().into(),
                edited_at.0.into(),
            ])
            .to_owned();
        self.execute(&keep).await?;
        let edited = Message {
            body: Some(text.to_owned()),
            ..m.clone()
        };
        let q = Query::update()
            .table(Messages::Table)
            .value(Messages::Body, text)
            .value(Messages::SearchText, crate::repo::search::search_text(&edited))
            .value(Messages::EditedAt, edited_at.0)
            .and_where(Expr::col(Messages::Id).eq(m.id.to_string()))
            .and_where(Expr::col(Messages::WorkspaceId).eq(m.workspace_id.to_string()))
            .to_owned();
        Ok(self.execute(&q).await? == 1)
    }

    /// A message's earlier texts, oldest first: `(text, replaced at)`.
    pub async fn message_edits(&mut self, ws: WorkspaceId, id: MessageId) -> Result<Vec<(Option<String>, Millis)>> {
        let q = Query::select()
            .columns([MessageEdits::Body, MessageEdits::ReplacedAt])
            .from(MessageEdits::Table)
            .and_where(Expr::col(MessageEdits::MessageId).eq(id.to_string()))
            .and_where(Expr::col(MessageEdits::WorkspaceId).eq(ws.to_string()))
            .order_by(MessageEdits::ReplacedAt, sea_query::Order::Asc)
            .to_owned();
        let rows: Vec<(Option<String>, i64)> = self.fetch_all(&q).await?;
        Ok(rows.into_iter().map(|(body, at)| (body, Millis(at))).collect())
    }

    pub async fn set_delivery(
        &mut self,
        id: MessageId,
        status: DeliveryStatus,
        provider_id: Option<&str>,
        error: Option<&str>,
    ) -> Result<u64> {
        let mut q = Query::update();
        q.table(Messages::Table)
            .value(Messages::DeliveryStatus, status.as_str())
            .value(Messages::DeliveryError, error.map(str::to_owned))
            .and_where(Expr::col(Messages::Id).eq(id.to_string()));
        if let Some(provider_id) = provider_id {
            q.value(Messages::ProviderMessageId, provider_id);
        }
        self.execute(&q).await
    }
}

/// `(conversation id, tag name)` of the conversations `which` picks (a
/// condition on `conversation_tags.conversation_id`), by name.
pub(crate) fn conversation_tag_names(which: SimpleExpr) -> SelectStatement {
    Query::select()
        .column((ConversationTags::Table, ConversationTags::ConversationId))
        .column((Tags::Table, Tags::Name))
        .from(ConversationTags::Table)
        .inner_join(
            Tags::Table,
            Expr::col((Tags::Table, Tags::Id)).equals((ConversationTags::Table, ConversationTags::TagId)),
        )
        .and_where(which)
        .order_by((Tags::Table, Tags::Name), Order::Asc)
        .to_owned()
}

/// Conversations a text search finds: a message, note or comment matching
/// it, or (for what is included) a contact whose fields contain it; never
/// one with a message holding an excluded word when nothing is included.
fn text_condition(index: TextIndex, text: &TextQuery) -> Cond {
    match index.conversations_matching(text) {
        Some(mut found) => {
            // One IN over a union, so the database starts from the (few)
            // matches instead of testing every conversation against each part.
            for contacts in index.contact_conversations(text) {
                found.union(sea_query::UnionType::Distinct, contacts);
            }
            Cond::all().add(Expr::col(Conversations::Id).in_subquery(found))
        }
        None => {
            let mut all = Cond::all();
            if let Some(excluded) = index.conversations_matching(&text.exclusions_as_query()) {
                all = all.add(Expr::col(Conversations::Id).not_in_subquery(excluded));
            }
            all
        }
    }
}

/// The longest page read as one walk per status (a screen's page; an
/// export reads every row anyway, so one walk over all of them is best).
const PER_STATUS_PAGE_MAX: u64 = 100;

/// One page of the conversations `f` selects, in its order from its
/// cursor, with every conversation column (and one row more than the
/// limit, to know whether another page follows).
///
/// Newest first over several statuses (the archive's four) and no dates,
/// it is a page per status, each walking the status's own index from the
/// newest, merged: one walk over every status steps past all the newest
/// chats of other statuses (the open ones of the last days, on an archive
/// page). With a date range the database reads the range's own index
/// instead, which a page per status would read once per status.
pub(crate) fn page_select(index: TextIndex, ws: WorkspaceId, f: &ConversationFilter) -> SelectStatement {
    let undated = [f.created, f.closed, f.last_activity] == [TimeRange::default(); 3];
    let statuses = match &f.statuses {
        Some(statuses)
            if statuses.len() > 1
                && undated
                && f.sort.key_sql().is_none()
                && f.text.is_none()
                && f.limit <= PER_STATUS_PAGE_MAX =>
        {
            statuses
        }
        _ => return one_walk_page(index, ws, f),
    };
    let mut pages = statuses.iter().enumerate().map(|(i, status)| {
        let one = ConversationFilter {
            statuses: Some(vec![*status]),
            ..f.clone()
        };
        Query::select()
            .column(sea_query::Asterisk)
            .from_subquery(one_walk_page(index, ws, &one), sea_query::Alias::new(format!("s{i}")))
            .to_owned()
    });
    let Some(mut merged) = pages.next() else {
        return one_walk_page(index, ws, f);
    };
    for page in pages {
        merged.union(sea_query::UnionType::All, page);
    }
    Query::select()
        .column(sea_query::Asterisk)
        .from_subquery(merged, sea_query::Alias::new("by_status"))
        .order_by(Conversations::Id, Order::Desc)
        .limit(f.limit + 1)
        .to_owned()
}

/// [`page_select`] as one walk over every row `f` selects.
fn one_walk_page(index: TextIndex, ws: WorkspaceId, f: &ConversationFilter) -> SelectStatement {
    let mut q = filtered(index, ws, f);
    q.columns(CONVERSATION_COLUMNS);
    let key = f.sort.key_sql().map(Expr::cust);
    if let Some(key) = &key {
        q.order_by_expr(key.clone(), Order::Desc);
    }
    q.order_by(Conversations::Id, Order::Desc).limit(f.limit + 1);
    if let Some(cursor) = f.cursor {
        let after_id = Expr::col(Conversations::Id).lt(cursor.id.to_string());
        match (&key, cursor.key) {
            (Some(key), Some(k)) => {
                q.cond_where(
                    Cond::any()
                        .add(key.clone().lt(k))
                        .add(Cond::all().add(key.clone().eq(k)).add(after_id)),
                );
            }
            _ => {
                q.and_where(after_id);
            }
        }
    }
    q
}

/// The conversations of `ws` that `f` selects, without columns, order or
/// paging: one definition for the list and its counts.
pub(crate) fn filtered(index: TextIndex, ws: WorkspaceId, f: &ConversationFilter) -> SelectStatement {
    let mut q = Query::select();
    q.from(Conversations::Table)
        .and_where(Expr::col(Conversations::WorkspaceId).eq(ws.to_string()));
    if let Visibility::Teams { team_ids, user_id } = &f.visibility {
        q.cond_where(
            Cond::any()
                .add(Expr::col(Conversations::TeamId).is_null())
                .add(Expr::col(Conversations::TeamId).is_in(team_ids.iter().map(|t| t.to_string())))
                .add(Expr::col(Conversations::AssigneeId).eq(user_id.to_string())),
        );
    }
    if let Some(statuses) = &f.statuses {
        q.and_where(Expr::col(Conversations::Status).is_in(statuses.iter().map(|s| s.as_str())));
    }
    if let Some(ticket) = f.ticket {
        q.and_where(Expr::col(Conversations::Ticket).eq(ticket));
    }
    if let Some(a) = f.assignee {
        q.and_where(Expr::col(Conversations::AssigneeId).eq(a.to_string()));
    }
    if f.unassigned {
        q.and_where(Expr::col(Conversations::AssigneeId).is_null());
    }
    if let Some(t) = f.team {
        q.and_where(Expr::col(Conversations::TeamId).eq(t.to_string()));
    }
    if let Some(c) = f.channel {
        q.and_where(Expr::col(Conversations::ChannelId).eq(c.to_string()));
    }
    if let Some(c) = f.contact {
        q.and_where(Expr::col(Conversations::ContactId).eq(c.to_string()));
    }
    if let Some(tag) = &f.tag {
        q.and_where(
            Expr::col(Conversations::Id).in_subquery(
                Query::select()
                    .column((ConversationTags::Table, ConversationTags::ConversationId))
                    .from(ConversationTags::Table)
                    .inner_join(
                        Tags::Table,
                        Expr::col((Tags::Table, Tags::Id)).equals((ConversationTags::Table, ConversationTags::TagId)),
                    )
                    .and_where(Expr::col((Tags::Table, Tags::WorkspaceId)).eq(ws.to_string()))
                    .and_where(Expr::col((Tags::Table, Tags::Name)).eq(tag.as_str()))
                    .to_owned(),
            ),
        );
    }
    if let Some(text) = f.text.as_ref().filter(|t| !t.is_empty()) {
        q.cond_where(text_condition(index, text));
    }
    if let Some(critical) = f.critical {
        let col = Expr::col(Conversations::Priority);
        let critical_name = switchboard_core::Priority::Critical.as_str();
        q.and_where(if critical {
            col.eq(critical_name)
        } else {
            col.ne(critical_name)
        });
    }
    if let Some(rating) = f.rating {
        q.and_where(Expr::col(Conversations::Rating).eq(rating));
    }
    if let Some(by) = f.sent_by {
        let direction = match by {
            SentBy::Customer => Direction::In,
            SentBy::Business => Direction::Out,
        };
        q.and_where(Expr::col(Conversations::StartedBy).eq(direction.as_str()));
    }
    if let Some(awaiting) = f.awaiting_reply {
        let customer_last = Expr::col(Conversations::LastCustomerMessageAt).equals(Conversations::LastMessageAt);
        q.cond_where(if awaiting {
            Cond::all().add(customer_last)
        } else {
            Cond::all()
                .add(Expr::col(Conversations::LastMessageAt).is_not_null())
                .add(
                    Cond::any()
                        .add(Expr::col(Conversations::LastCustomerMessageAt).is_null())
                        .add(
                            Expr::col(Conversations::LastCustomerMessageAt).lt(Expr::col(Conversations::LastMessageAt)),
                        ),
                )
        });
    }
    if let Some(reason) = f.close_reason.as_deref() {
        q.and_where(Expr::col(Conversations::CloseReason).eq(reason));
    }
    if let Some(country) = f.country.as_deref() {
        q.and_where(
            Expr::col(Conversations::ContactId).in_subquery(
                Query::select()
                    .column(Contacts::Id)
                    .from(Contacts::Table)
                    .and_where(Expr::col(Contacts::WorkspaceId).eq(ws.to_string()))
                    .and_where(Expr::col(Contacts::Country).eq(country))
                    .to_owned(),
            ),
        );
    }
    for (range, from, to) in [
        (f.response, Conversations::CreatedAt, Conversations::FirstReplyAt),
        (
            f.response_after_assignment,
            Conversations::AssignedAt,
            Conversations::FirstReplyAfterAssignmentAt,
        ),
    ] {
        let took = Expr::col(to).sub(Expr::col(from));
        if range.at_least.is_some() || range.below.is_some() {
            q.and_where(Expr::col(to).is_not_null())
                .and_where(Expr::col(from).is_not_null());
        }
        if let Some(n) = range.at_least {
            q.and_where(took.clone().gte(n));
        }
        if let Some(n) = range.below {
            q.and_where(took.lt(n));
        }
    }
    if let Some(since) = f.waiting_since_before {
        q.and_where(Expr::col(Conversations::LastCustomerMessageAt).equals(Conversations::LastMessageAt))
            .and_where(Expr::col(Conversations::LastCustomerMessageAt).lte(since.0));
    }
    for (range, col) in [
        (f.created, Conversations::CreatedAt),
        (f.closed, Conversations::ClosedAt),
        (f.last_activity, Conversations::LastMessageAt),
    ] {
        if let Some(from) = range.from {
            q.and_where(Expr::col(col).gte(from.0));
        }
        if let Some(before) = range.before {
            q.and_where(Expr::col(col).lt(before.0));
        }
    }
    q
}
