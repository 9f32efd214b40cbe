//! Domain records. These are also the shapes the API returns, so they carry
//! serde and JSON-schema derives; secrets (password hashes, channel secrets,
//! token hashes) are deliberately absent from every type here.

use std::fmt;
use std::str::FromStr;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::ids::*;
use crate::time::Millis;

#[derive(Debug, thiserror::Error)]
#[error("unknown {kind} {value:?}; expected one of: {expected}")]
pub struct UnknownVariant {
    pub kind: &'static str,
    pub value: String,
    pub expected: &'static str,
}

/// A closed set of lower-case names stored as text and shown in the API.
macro_rules! string_enum {
    ($(#[$meta:meta])* $name:ident { $($variant:ident => $text:literal),+ $(,)? }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
        pub enum $name {
            $(#[serde(rename = $text)] $variant),+
        }

        impl $name {
            pub const ALL: &'static [$name] = &[$($name::$variant),+];
            pub const fn as_str(self) -> &'static str {
                match self { $($name::$variant => $text),+ }
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl FromStr for $name {
            type Err = UnknownVariant;
            fn from_str(s: &str) -> Result<Self, UnknownVariant> {
                match s {
                    $($text => Ok($name::$variant),)+
                    _ => Err(UnknownVariant {
                        kind: stringify!($name),
                        value: s.to_owned(),
                        expected: concat!($($text, " "),+),
                    }),
                }
            }
        }

        impl TryFrom<String> for $name {
            type Error = UnknownVariant;
            fn try_from(s: String) -> Result<Self, UnknownVariant> {
                s.parse()
            }
        }
    };
}
pub(crate) use string_enum;

string_enum!(Role { Admin => "admin", Supervisor => "supervisor", Agent => "agent" });
string_enum!(Availability { Online => "online", Busy => "busy", Offline => "offline" });
string_enum!(AssignmentRule { Manual => "manual", RoundRobin => "round_robin", LeastBusy => "least_busy" });
string_enum!(ChannelKind {
    Web => "web", Whatsapp => "whatsapp", Messenger => "messenger", Instagram => "instagram",
    Telegram => "telegram", Sms => "sms", Email => "email", Vk => "vk", X => "x", Api => "api",
});
string_enum!(
    /// The canonical status of a conversation (DESIGN.md §4).
    ConversationStatus {
        Bot => "bot", Queued => "queued", Assigned => "assigned", Resolved => "resolved",
        Abandoned => "abandoned", Expired => "expired", Pending => "pending",
    }
);
string_enum!(Priority { Normal => "normal", Critical => "critical" });
string_enum!(
    /// The inbox sections of DESIGN.md §4.
    Section { Live => "live", Assigned => "assigned", Archived => "archived", Tickets => "tickets" }
);
string_enum!(Direction { In => "in", Out => "out" });
string_enum!(SenderKind { Contact => "contact", User => "user", Bot => "bot", System => "system" });
// The assignment legs of DESIGN.md §8 (see `crate::legs`).
string_enum!(
    /// How a leg began: the chat's `first` assignment, a `transfer` from
    /// the previous assignee, taken from a `queue` it had been put back
    /// in, or a `reopen` of a closed chat.
    LegStart { First => "first", Transfer => "transfer", Queue => "queue", Reopen => "reopen" }
);
string_enum!(
    /// Why a leg ended: a `transfer` to another agent or team, a
    /// `requeue` with nobody assigned, or a `close` (resolved, abandoned,
    /// expired).
    LegEnd { Transfer => "transfer", Requeue => "requeue", Close => "close" }
);
string_enum!(MessageKind {
    Text => "text", Media => "media", Template => "template", Note => "note",
    Comment => "comment", Activity => "activity",
});
string_enum!(DeliveryStatus {
    Queued => "queued", Sent => "sent", Delivered => "delivered", Read => "read", Failed => "failed",
    Scheduled => "scheduled", Cancelled => "cancelled",
});
string_enum!(
    /// What an attachment is, which decides its size limit (DESIGN.md §10).
    AttachmentKind { Image => "image", Video => "video", Audio => "audio", Document => "document" }
);
string_enum!(
    /// Why a member is notified: mentioned in a note or comment, or given a
    /// chat by someone else (a person or routing).
    NotificationKind { Mention => "mention", Assignment => "assignment" }
);
string_enum!(
    /// Whose a quick reply is: one user's, one team's or the whole workspace's.
    QuickReplyScope { Personal => "personal", Team => "team", Workspace => "workspace" }
);

impl ConversationStatus {
    /// Closed statuses are the archive. `pending` is listed in the archive
    /// too, but is not closed: it waits for the customer's first answer.
    pub const fn is_closed(self) -> bool {
        matches!(self, Self::Resolved | Self::Abandoned | Self::Expired)
    }
    pub const fn is_open(self) -> bool {
        matches!(self, Self::Bot | Self::Queued | Self::Assigned)
    }
    pub const fn section(self) -> Section {
        match self {
            Self::Bot | Self::Queued => Section::Live,
            Self::Assigned => Section::Assigned,
            Self::Resolved | Self::Abandoned | Self::Expired | Self::Pending => Section::Archived,
        }
    }
}

impl Section {
    /// Statuses that make up the section (tickets are the `ticket` flag, any status).
    pub fn statuses(self) -> &'static [ConversationStatus] {
        use ConversationStatus::*;
        match self {
            Section::Live => &[Bot, Queued],
            Section::Assigned => &[Assigned],
            Section::Archived => &[Resolved, Abandoned, Expired, Pending],
            Section::Tickets => ConversationStatus::ALL,
        }
    }
}

impl DeliveryStatus {
    /// Delivery status only moves forward (a late "sent" never undoes "read");
    /// `failed` and `cancelled` are final. A scheduled message is queued
    /// when its time comes, or cancelled before.
    pub fn can_advance_to(self, next: DeliveryStatus) -> bool {
        use DeliveryStatus::*;
        let rank = |s: DeliveryStatus| match s {
            Scheduled => 0,
            Queued => 1,
            Sent => 2,
            Delivered => 3,
            Read => 4,
            Failed | Cancelled => 5,
        };
        match (self, next) {
            (Failed | Read | Cancelled, _) | (_, Scheduled) => false,
            (Scheduled, next) => matches!(next, Queued | Cancelled | Failed),
            (_, Cancelled) => false,
            (_, Failed) => true,
            _ => rank(next) > rank(self),
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
pub struct Workspace {
    pub id: WorkspaceId,
    pub name: String,
    pub time_zone: String,
    pub created_at: Millis,
}

/// A user as seen inside one workspace.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
pub struct Member {
    pub id: UserId,
    pub email: String,
    pub name: String,
    pub role: Role,
    pub availability: Availability,
    pub capacity: i64,
    pub team_ids: Vec<TeamId>,
    pub created_at: Millis,
}

#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
pub struct Team {
    pub id: TeamId,
    pub workspace_id: WorkspaceId,
    pub name: String,
    pub assignment_rule: AssignmentRule,
    pub member_ids: Vec<UserId>,
    /// Queue order, requeue of offline members' chats, business hours, ticket auto-reply.
    pub routing: crate::routing::TeamRouting,
    pub created_at: Millis,
}

/// A channel as the API shows it. The secret is never part of this type;
/// `has_secret` tells whether one is set.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
pub struct Channel {
    pub id: ChannelId,
    pub workspace_id: WorkspaceId,
    pub kind: ChannelKind,
    pub name: String,
    pub default_team_id: Option<TeamId>,
    pub callback_url: Option<String>,
    pub has_secret: bool,
    /// Minutes after closing during which a customer message reopens the
    /// conversation instead of starting a new one (DESIGN.md §4).
    pub reopen_minutes: i64,
    /// Web-chat widget settings (channels of kind `web`).
    pub widget: Option<crate::widget::WidgetSettings>,
    /// The channel's bot: a flow, or an external bot's URL.
    pub bot: Option<crate::bot::BotView>,
    /// The provider configuration admins may see (never a secret), for
    /// kinds that have one (WhatsApp's phone number id, …).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub config: Option<serde_json::Value>,
    /// The template that asks for a rating when the messaging window is
    /// closed (channels with a window; within it, buttons are sent).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub feedback_template_id: Option<crate::TemplateId>,
    pub created_at: Millis,
}

#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
pub struct ContactIdentity {
    pub channel_id: ChannelId,
    pub external_id: String,
}

#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
pub struct Contact {
    pub id: ContactId,
    pub workspace_id: WorkspaceId,
    pub name: Option<String>,
    pub phone: Option<String>,
    pub email: Option<String>,
    pub country: Option<String>,
    pub attributes: serde_json::Map<String, serde_json::Value>,
    pub identities: Vec<ContactIdentity>,
    /// Names of the workspace tags on the contact, sorted.
    pub tags: Vec<String>,
    pub created_at: Millis,
    pub updated_at: Millis,
}

/// The timestamps of DESIGN.md §8, kept on every conversation.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct ConversationTimes {
    pub created_at: Millis,
    pub assigned_at: Option<Millis>,
    pub first_assigned_at: Option<Millis>,
    pub first_reply_at: Option<Millis>,
    pub first_reply_after_assignment_at: Option<Millis>,
    pub last_customer_message_at: Option<Millis>,
    pub last_message_at: Option<Millis>,
    pub closed_at: Option<Millis>,
    /// When the chat last entered a queue (the "longest waiting" order).
    pub queued_at: Option<Millis>,
    /// When the customer was last asked to rate the chat (on closing it).
    /// The customer's next message, if it is a number from 1 to 5, is the
    /// `rating` while the chat stays closed since then.
    pub feedback_requested_at: Option<Millis>,
    /// When the provider told us the messaging window had closed (sooner
    /// than our clock said): the window counts as closed until the customer
    /// writes again.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub window_closed_at: Option<Millis>,
    /// When the bot handed the chat to people (or an admin entered it):
    /// time with the bot is `handed_off_at − created_at`, kept apart from
    /// the people's figures.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub handed_off_at: Option<Millis>,
    /// Messages the customer sent, counted as they arrive.
    #[serde(default)]
    pub messages_in: u32,
    /// Messages the business sent (people, bot, automations).
    #[serde(default)]
    pub messages_out: u32,
    /// Who wrote first ("sent by"): `in` when the customer started the
    /// chat, `out` when the business did. Kept as messages arrive, so
    /// lists and exports never look for the first message.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub started_by: Option<Direction>,
}

impl ConversationTimes {
    /// The customer's last message as far as the messaging window goes:
    /// none when the provider has since said the window was closed.
    pub fn window_opened_at(&self) -> Option<Millis> {
        match (self.last_customer_message_at, self.window_closed_at) {
            (Some(last), Some(closed)) if closed >= last => None,
            (last, _) => last,
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
pub struct Conversation {
    pub id: ConversationId,
    pub workspace_id: WorkspaceId,
    pub channel_id: ChannelId,
    pub contact_id: ContactId,
    pub team_id: Option<TeamId>,
    pub assignee_id: Option<UserId>,
    pub status: ConversationStatus,
    pub priority: Priority,
    pub ticket: bool,
    pub tags: Vec<String>,
    pub close_comment: Option<String>,
    /// The reason chosen from the workspace's list when it was closed.
    #[serde(default)]
    pub close_reason: Option<String>,
    pub rating: Option<i64>,
    #[serde(flatten)]
    pub times: ConversationTimes,
    /// Hidden from the agent's attention until then; a customer message wakes it earlier.
    pub snoozed_until: Option<Millis>,
    pub updated_at: Millis,
}

/// What happened, recorded as an `activity` message in the conversation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Activity {
    Opened {
        status: ConversationStatus,
        team_id: Option<TeamId>,
        assignee_id: Option<UserId>,
        ticket: bool,
    },
    Assigned {
        by: Option<UserId>,
        to_user: UserId,
        team_id: Option<TeamId>,
    },
    Transferred {
        by: Option<UserId>,
        from_user: Option<UserId>,
        from_team: Option<TeamId>,
        to_user: Option<UserId>,
        to_team: Option<TeamId>,
        comment: Option<String>,
    },
    Unassigned {
        by: Option<UserId>,
        from_user: UserId,
    },
    StatusChanged {
        by: Option<UserId>,
        from: ConversationStatus,
        to: ConversationStatus,
        comment: Option<String>,
    },
    Reopened {
        by: Option<UserId>,
        from: ConversationStatus,
        to: ConversationStatus,
    },
    PriorityChanged {
        by: Option<UserId>,
        from: Priority,
        to: Priority,
    },
    TagsChanged {
        by: Option<UserId>,
        added: Vec<String>,
        removed: Vec<String>,
    },
    Snoozed {
        by: Option<UserId>,
        until: Millis,
    },
    /// A snoozed chat woke: its time came (`by` none) or someone woke it.
    Woke {
        by: Option<UserId>,
        customer_wrote: bool,
    },
    /// Something the agent should know that no person did: the provider
    /// closed the messaging window, the customer opted out of campaigns.
    Notice {
        text: String,
    },
}

#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
pub struct Message {
    pub id: MessageId,
    pub workspace_id: WorkspaceId,
    pub conversation_id: ConversationId,
    pub direction: Direction,
    pub sender_kind: SenderKind,
    pub sender_id: Option<String>,
    pub kind: MessageKind,
    pub body: Option<String>,
    pub activity: Option<Activity>,
    pub in_reply_to: Option<MessageId>,
    pub provider_message_id: Option<String>,
    pub delivery_status: Option<DeliveryStatus>,
    pub delivery_error: Option<String>,
    pub created_at: Millis,
    /// A scheduled message goes out then (delivery status `scheduled` until it does).
    pub send_at: Option<Millis>,
    /// Choices offered as buttons (bot menus, on channels that have buttons);
    /// the customer's tap comes back as a message with the label.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub buttons: Vec<String>,
    /// Kind `template`: the template it was made from and its values (the
    /// body is the template's text filled with them).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub template: Option<crate::template::SentTemplate>,
    /// The customer changed the text then (its earlier texts are kept).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub edited_at: Option<Millis>,
    /// The subject line it came with (e-mail).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub subject: Option<String>,
    /// Its formatted version, sanitised when it arrived (e-mail's HTML: no
    /// scripts, styles, images or frames; links only to the web and mail).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub html: Option<String>,
}

/// A text a message had before the customer changed it.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema, PartialEq, Eq)]
pub struct MessageEdit {
    pub body: Option<String>,
    /// When the customer replaced it.
    pub replaced_at: Millis,
}

/// The `sender_id` of a `system` message the business sent to the customer
/// from the provider's own inbox (an echo), outside Switchboard.
pub const SENT_OUTSIDE: &str = "outside";

/// Who wrote a message: its direction, the kind of sender and their id.
pub type MessageSender = (Direction, SenderKind, Option<String>);

impl Message {
    /// A new message in `conversation` with only its author, kind and text;
    /// everything else (reply, activity, delivery, template, buttons) is
    /// unset for the caller to fill in with struct update syntax.
    pub fn new(
        conversation: &Conversation,
        (direction, sender_kind, sender_id): MessageSender,
        kind: MessageKind,
        body: Option<String>,
        created_at: Millis,
    ) -> Message {
        Message {
            html: None,
            subject: None,
            id: MessageId::new(),
            workspace_id: conversation.workspace_id,
            conversation_id: conversation.id,
            direction,
            sender_kind,
            sender_id,
            kind,
            body,
            activity: None,
            in_reply_to: None,
            provider_message_id: None,
            delivery_status: None,
            delivery_error: None,
            created_at,
            send_at: None,
            buttons: Vec::new(),
            template: None,
            edited_at: None,
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
pub struct Tag {
    pub id: TagId,
    pub workspace_id: WorkspaceId,
    pub name: String,
    pub color: Option<String>,
    pub created_at: Millis,
}

/// Something one member is told about. Only that member reads it.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
pub struct Notification {
    pub id: NotificationId,
    pub kind: NotificationKind,
    pub conversation_id: ConversationId,
    /// The note or comment that mentions the member; for an assignment, the
    /// activity line that records it.
    pub message_id: Option<MessageId>,
    /// Who mentioned or assigned; absent when routing assigned the chat.
    pub actor_user_id: Option<UserId>,
    pub actor_name: Option<String>,
    /// The first 140 characters of the note or comment; for an assignment,
    /// the transfer comment, if any.
    pub excerpt: Option<String>,
    pub created_at: Millis,
    /// When the member marked it read; absent while unread.
    pub read_at: Option<Millis>,
}

#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
pub struct ApiToken {
    pub id: ApiTokenId,
    pub workspace_id: WorkspaceId,
    pub user_id: UserId,
    pub name: String,
    /// First characters of the token, so a user can tell tokens apart.
    pub prefix: String,
    pub created_at: Millis,
    pub last_used_at: Option<Millis>,
    pub revoked_at: Option<Millis>,
}

/// A file attached to a message. The storage key stays inside the server;
/// `url` is where a caller who may see the conversation downloads it.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
pub struct Attachment {
    pub id: AttachmentId,
    pub workspace_id: WorkspaceId,
    /// `None` for a file uploaded to a user's library (for a quick reply)
    /// and not posted in any conversation.
    pub conversation_id: Option<ConversationId>,
    pub message_id: Option<MessageId>,
    pub kind: AttachmentKind,
    /// The type sniffed from the content (never the one the uploader claimed).
    pub mime: String,
    pub filename: String,
    /// Bytes.
    pub size: i64,
    /// Hex SHA-256 of the content.
    pub sha256: String,
    /// Pixels, for images whose header gives them.
    pub width: Option<i64>,
    pub height: Option<i64>,
    pub created_at: Millis,
    /// Download path (same permission as the conversation).
    pub url: String,
    /// For images: what to show in the message list, a re-encoded copy at
    /// most 480 px a side without the file's metadata (served inline).
    /// Absent when none could be made (the file did not decode).
    pub preview_url: Option<String>,
}

impl Attachment {
    /// The download path of an attachment.
    pub fn url_of(workspace_id: WorkspaceId, id: AttachmentId) -> String {
        format!("/api/v1/workspaces/{workspace_id}/attachments/{id}")
    }

    /// The path of an image attachment's preview.
    pub fn preview_url_of(workspace_id: WorkspaceId, id: AttachmentId) -> String {
        format!("{}/preview", Self::url_of(workspace_id, id))
    }
}

/// A message as the message list shows it: the message and its attachments.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
pub struct MessageView {
    #[serde(flatten)]
    pub message: Message,
    pub attachments: Vec<Attachment>,
}

/// A canned answer an agent inserts by typing `/shortcut` (DESIGN.md §3).
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
pub struct QuickReply {
    pub id: QuickReplyId,
    pub workspace_id: WorkspaceId,
    pub scope: QuickReplyScope,
    /// The owner of a `personal` quick reply.
    pub owner_user_id: Option<UserId>,
    /// The team of a `team` quick reply.
    pub team_id: Option<TeamId>,
    /// Without the leading `/`.
    pub shortcut: String,
    pub text: String,
    pub attachment_id: Option<AttachmentId>,
    pub created_by: UserId,
    pub created_at: Millis,
    pub updated_at: Millis,
}

/// A quick reply as the API shows it: with its attachment, if it has one.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
pub struct QuickReplyView {
    #[serde(flatten)]
    pub quick_reply: QuickReply,
    pub attachment: Option<Attachment>,
}

/// Largest upload of each kind, in bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct AttachmentLimits {
    pub image: u64,
    pub video: u64,
    pub audio: u64,
    pub document: u64,
}

impl AttachmentLimits {
    pub const MB: u64 = 1024 * 1024;

    pub const fn for_kind(&self, kind: AttachmentKind) -> u64 {
        match kind {
            AttachmentKind::Image => self.image,
            AttachmentKind::Video => self.video,
            AttachmentKind::Audio => self.audio,
            AttachmentKind::Document => self.document,
        }
    }
}

impl Default for AttachmentLimits {
    /// Image 5 MB, video 16 MB, audio 16 MB, document 100 MB (DESIGN.md §10).
    fn default() -> Self {
        Self {
            image: 5 * Self::MB,
            video: 16 * Self::MB,
            audio: 16 * Self::MB,
            document: 100 * Self::MB,
        }
    }
}
