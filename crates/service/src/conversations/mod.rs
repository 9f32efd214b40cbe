//! Conversations: listing, lifecycle changes, assignment and transfer,
//! tags, priority, messages, notes and replies.

mod feedback;
mod filters;
mod inbox;
mod outreach;
mod schedule;
mod transcripts;

pub(crate) use feedback::{awaits_rating, check_channel, rating_in, request};
pub use filters::{DateField, FirstSentBy, Period, SortBy};
pub use inbox::{InboxRow, Names, contact_label, customer_label};
pub use outreach::StartConversation;
pub use schedule::SnoozeRequest;
pub(crate) use transcripts::ZipLayout;
pub use transcripts::{Transcript, TranscriptParts};

use schemars::JsonSchema;
use serde::Deserialize;
use switchboard_core::lifecycle::{Command, LifecycleError, Routed};
use switchboard_core::permissions::Actor;
use switchboard_core::validate::{Invalid, MessageText};
use switchboard_core::{
    Activity, Availability, ChannelId, ContactId, Conversation, ConversationId, ConversationStatus, DeliveryStatus,
    Direction, Message, MessageId, MessageKind, Millis, Priority, Role, Section, SenderKind, TeamId, TemplateId,
    UserId,
};
use switchboard_store::{Page, Tx};

use crate::kernel::{insert_activity, scope, transition};
use crate::kernel::{tag_ids, tag_names};
use crate::notifications::{Pending, mentions_in};
use crate::outbound::{Outgoing, TemplateFill, queue_outgoing, resolve_outgoing};
use crate::routing;
use crate::{ServiceError, ServiceResult, Services};

/// Filters of the conversation list.
#[derive(Debug, Default, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ConversationQuery {
    pub status: Option<ConversationStatus>,
    pub section: Option<Section>,
    /// A user id, or `none` for unassigned chats (empty: anyone).
    #[schemars(regex(
        pattern = r"^(none|[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12})?$"
    ))]
    pub assignee: Option<String>,
    pub team: Option<TeamId>,
    pub channel: Option<ChannelId>,
    pub contact: Option<ContactId>,
    /// Within Tickets: `unassigned`, `assigned` or `closed`.
    pub ticket_view: Option<TicketView>,
    /// A tag's name.
    pub tag: Option<String>,
    /// Full-text search over messages, notes and comments, and the
    /// contact's name, e-mail, phone and channel identities: words,
    /// `"exact phrases"`, `-exclusions` and `prefix*`; accents and case
    /// do not matter.
    pub q: Option<String>,
    /// Critical chats only (`true`) or none of them (`false`).
    pub critical: Option<bool>,
    /// The customer's rating.
    #[schemars(range(min = 1, max = 5))]
    pub rating: Option<u8>,
    /// Who wrote first: `customer`, or `business` (a template or an agent reaching out).
    pub sent_by: Option<FirstSentBy>,
    /// `true`: the customer wrote last and waits for an answer; `false`: we wrote last.
    pub awaiting_reply: Option<bool>,
    /// Created at or after (milliseconds).
    pub created_from: Option<Millis>,
    /// Created before (milliseconds).
    pub created_before: Option<Millis>,
    /// Which time `period`, `from_date` and `to_date` read (default `created`).
    pub date_field: Option<DateField>,
    /// Today and the days before, in the workspace's time zone.
    pub period: Option<Period>,
    /// The first local day (`YYYY-MM-DD`, the workspace's time zone).
    #[schemars(extend("format" = "date"))]
    pub from_date: Option<String>,
    /// The last local day, included (before `from_date`: nothing matches).
    #[schemars(extend("format" = "date"))]
    pub to_date: Option<String>,
    /// The contact's country, as saved on the contact.
    pub country: Option<String>,
    /// The close reason chosen when the chat was closed.
    pub close_reason: Option<String>,
    /// Answered, and the first answer came at least this many seconds after creation.
    #[schemars(range(min = 0, max = 315_360_000))]
    pub response_above: Option<i64>,
    /// Answered within fewer seconds than this after creation.
    #[schemars(range(min = 0, max = 315_360_000))]
    pub response_below: Option<i64>,
    /// The assignee's first answer came at least this many seconds after the assignment.
    #[schemars(range(min = 0, max = 315_360_000))]
    pub assignment_response_above: Option<i64>,
    /// The assignee answered within fewer seconds than this after the assignment.
    #[schemars(range(min = 0, max = 315_360_000))]
    pub assignment_response_below: Option<i64>,
    /// The customer has waited for an answer at least this many minutes.
    #[schemars(range(min = 0, max = 5_256_000))]
    pub waiting_minutes: Option<i64>,
    /// The order, every one descending: `newest` (default), `last_activity`,
    /// `closed`, `duration` (closed chats; open ones last), `response_time`
    /// (answered ones; unanswered last).
    pub sort: Option<SortBy>,
    /// `next_cursor` of the page before.
    #[schemars(regex(pattern = r"^(-?[0-9]{1,18}\.)?[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$"))]
    pub cursor: Option<String>,
    #[schemars(range(min = 1, max = 200))]
    pub limit: Option<u64>,
}

/// The three lists of the Tickets section (DESIGN.md §4).
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum TicketView {
    Unassigned,
    Assigned,
    Closed,
}

impl TicketView {
    fn statuses(self) -> &'static [ConversationStatus] {
        match self {
            Self::Unassigned => &[ConversationStatus::Queued],
            Self::Assigned => &[ConversationStatus::Assigned],
            Self::Closed => Section::Archived.statuses(),
        }
    }
}

#[derive(Debug, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct MessageQuery {
    pub cursor: Option<MessageId>,
    #[schemars(range(min = 1, max = 200))]
    pub limit: Option<u64>,
    /// `asc` (oldest first, default) or `desc`.
    pub order: Option<String>,
}

/// Change the status: `resolved` or `abandoned` close the chat, `assigned`
/// reopens a closed one (to the caller), `queued` puts an assigned chat back
/// in its team's queue.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct StatusRequest {
    pub status: ConversationStatus,
    pub comment: Option<String>,
    /// With `resolved` or `abandoned`: one of the workspace's close
    /// reasons (`GET /settings`, `close_reasons`); 422 on another.
    #[serde(default)]
    pub reason: Option<String>,
    /// With `resolved` or `abandoned`: also ask the customer to rate the
    /// chat from 1 to 5 (buttons where the channel has them). Their answer
    /// becomes `rating` and does not reopen the chat. 409 on a channel the
    /// business cannot write back on.
    #[serde(default)]
    pub feedback_request: bool,
}

/// Assign or transfer: to an agent (`user_id`, optionally within
/// `team_id`), or to a team whose rule picks the agent (`team_id` alone).
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct AssignRequest {
    pub user_id: Option<UserId>,
    pub team_id: Option<TeamId>,
    pub comment: Option<String>,
    /// Admins only: assign to an agent who is offline or at capacity.
    #[serde(default)]
    pub force: bool,
}

/// A message from the business side: `text` and `template` go to the
/// customer; `note` and `comment` stay inside Switchboard. A template may
/// be sent while the channel's messaging window is closed (a text may not).
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct NewMessage {
    pub kind: MessageKind,
    /// Required for `text`, `note` and `comment`. Left out for `template`:
    /// its text is the template's, with `params` filled in.
    #[serde(default)]
    pub body: String,
    pub in_reply_to: Option<MessageId>,
    /// Text only: send it then (milliseconds since the epoch) instead of now.
    /// It can be cancelled until it goes out.
    pub send_at: Option<Millis>,
    /// `template` only: the template to send. It must be approved and be
    /// for this conversation's channel or for any channel.
    pub template_id: Option<TemplateId>,
    /// `template` only: the values of `{{1}}`, `{{2}}`, … in order, one per
    /// placeholder.
    #[serde(default)]
    pub params: Vec<String>,
    /// `template` only: the header's value, its `{{1}}` or the https://
    /// link of its image, video or document.
    pub header_param: Option<String>,
    /// `template` only: one value per button, empty where a button takes
    /// none (a URL's `{{1}}`, a code to copy, a quick reply's payload).
    #[serde(default)]
    pub button_params: Vec<String>,
}

/// The furthest ahead a message may be scheduled.
const SCHEDULE_HORIZON_MS: i64 = 366 * 24 * 3600 * 1000;

/// What a posted message holds, checked for its kind.
enum Posted {
    /// A note or a comment: stays inside Switchboard.
    Inside(String),
    ToCustomer(Outgoing),
}

pub(crate) fn limit(raw: Option<u64>) -> ServiceResult<u64> {
    match raw.unwrap_or(50) {
        n @ 1..=200 => Ok(n),
        _ => Err(Invalid::new("limit", "must be between 1 and 200").into()),
    }
}

impl Services {
    /// A conversation the actor may see, read for change inside `tx`.
    pub(crate) async fn visible_for_update(
        &self,
        tx: &mut Tx<'_>,
        actor: &Actor,
        id: ConversationId,
    ) -> ServiceResult<Conversation> {
        tx.exec()
            .conversation_for_update(actor.workspace_id, id)
            .await?
            .filter(|c| actor.can_see(&scope(c)))
            .ok_or(ServiceError::NotFound("conversation"))
    }

    pub async fn conversations(&self, actor: &Actor, q: ConversationQuery) -> ServiceResult<Page<Conversation>> {
        let f = self.conversation_filter(actor, &q).await?;
        Ok(self.store().reader().conversations(actor.workspace_id, &f).await?)
    }

    /// How many conversations `q` matches, counted by the database.
    pub async fn count_conversations(&self, actor: &Actor, q: &ConversationQuery) -> ServiceResult<u64> {
        let f = self.conversation_filter(actor, q).await?;
        Ok(self
            .store()
            .reader()
            .count_conversations(actor.workspace_id, &f)
            .await?)
    }

    /// How many conversations `q` matches, up to `cap` (`true`: more than that).
    pub async fn count_conversations_capped(
        &self,
        actor: &Actor,
        q: &ConversationQuery,
        cap: u64,
    ) -> ServiceResult<(u64, bool)> {
        let f = self.conversation_filter(actor, q).await?;
        Ok(self
            .store()
            .reader()
            .count_conversations_capped(actor.workspace_id, &f, cap)
            .await?)
    }

    /// How many conversations `q` matches per assignee (`None`: unassigned).
    pub async fn count_conversations_by_assignee(
        &self,
        actor: &Actor,
        q: &ConversationQuery,
    ) -> ServiceResult<Vec<(Option<UserId>, u64)>> {
        let f = self.conversation_filter(actor, q).await?;
        Ok(self
            .store()
            .reader()
            .count_conversations_by_assignee(actor.workspace_id, &f)
            .await?)
    }

    pub async fn conversation(&self, actor: &Actor, id: ConversationId) -> ServiceResult<Conversation> {
        self.store()
            .reader()
            .conversation(actor.workspace_id, id)
            .await?
            .filter(|c| actor.can_see(&scope(c)))
            .ok_or(ServiceError::NotFound("conversation"))
    }

    pub async fn change_status(
        &self,
        actor: &Actor,
        id: ConversationId,
        req: StatusRequest,
    ) -> ServiceResult<Conversation> {
        let now = self.now();
        let mut tx = self.store().begin().await?;
        // Existence first: a record out of reach is 404 whatever the body says.
        let mut c = self.visible_for_update(&mut tx, actor, id).await?;
        let comment = switchboard_core::validate::comment(req.comment.as_deref())?;
        if req.feedback_request && !matches!(req.status, ConversationStatus::Resolved | ConversationStatus::Abandoned) {
            return Err(Invalid::new("feedback_request", "only when resolving or abandoning").into());
        }
        let reason = match req.reason.as_deref().map(str::trim).filter(|r| !r.is_empty()) {
            None => None,
            Some(_) if !matches!(req.status, ConversationStatus::Resolved | ConversationStatus::Abandoned) => {
                return Err(Invalid::new("reason", "only when resolving or abandoning").into());
            }
            Some(r) => {
                let reasons = crate::kernel::close_reasons(&mut tx.exec(), actor.workspace_id).await?;
                Some(reasons.into_iter().find(|known| known == r).ok_or_else(|| {
                    Invalid::new("reason", "not one of the workspace's close reasons (Admin › Settings)")
                })?)
            }
        };
        let by = Some(actor.user_id);
        let command = match req.status {
            ConversationStatus::Resolved => Command::Resolve { by, comment, reason },
            ConversationStatus::Abandoned => Command::Abandon { by, comment, reason },
            ConversationStatus::Queued => Command::Unassign { by },
            ConversationStatus::Assigned => {
                // Reopening: the reopener owns the chat again.
                if actor.role == Role::Supervisor {
                    return Err(ServiceError::Forbidden(
                        "supervisors do not write to customers; assign the chat to an agent instead",
                    ));
                }
                let channel = tx
                    .exec()
                    .channel(actor.workspace_id, c.channel_id)
                    .await?
                    .ok_or(ServiceError::NotFound("channel"))?;
                let window = self.capabilities(channel.to_domain()?.kind).window;
                Command::Reopen {
                    by: actor.user_id,
                    window_open: window.open(c.times.window_opened_at(), now),
                }
            }
            other => {
                return Err(Invalid::new(
                    "status",
                    format!("cannot be set to {other}; use resolved, abandoned, assigned (reopen) or queued"),
                )
                .into());
            }
        };
        let reopening = matches!(command, Command::Reopen { .. });
        if !reopening && !actor.can_manage(&scope(&c)) {
            return Err(ServiceError::Forbidden(
                "you can change the status of your own chats only",
            ));
        }
        let feedback_ask = match req.feedback_request {
            true => Some(crate::conversations::check_channel(&mut tx.exec(), &self.config().channels, &c, now).await?),
            false => None,
        };
        let before = (c.status, c.assignee_id);
        let mut changes = vec![transition(&mut tx.exec(), &mut c, command, by, now).await?];
        let asked = feedback_ask.is_some();
        if let Some(ask) = feedback_ask {
            let attempts = self.config().delivery_max_attempts;
            changes.push(crate::conversations::request(&mut tx.exec(), &mut c, ask, now, attempts).await?);
        }
        self.emit_change(&mut tx, &c, &changes).await?;
        tx.commit().await?;
        if asked {
            self.wake_jobs();
        }
        self.after_release(&c, before).await;
        Ok(c)
    }

    pub async fn assign(&self, actor: &Actor, id: ConversationId, req: AssignRequest) -> ServiceResult<Conversation> {
        let ws = actor.workspace_id;
        let now = self.now();
        let mut tx = self.store().begin().await?;
        // Before any row lock (see `lock_routing`).
        tx.exec().lock_routing(ws).await?;
        let mut c = self.visible_for_update(&mut tx, actor, id).await?;
        let comment = switchboard_core::validate::comment(req.comment.as_deref())?;
        if req.user_id.is_none() && req.team_id.is_none() {
            return Err(Invalid::new("user_id", "give a user_id, a team_id, or both").into());
        }
        if req.force && !actor.is_admin() {
            return Err(ServiceError::Forbidden("only admins can force an assignment"));
        }
        let team = match req.team_id {
            Some(t) => Some(tx.exec().team(ws, t).await?.ok_or(ServiceError::NotFound("team"))?),
            None => None,
        };
        let by = Some(actor.user_id);
        let target = match req.user_id {
            Some(user) => {
                let member = tx
                    .exec()
                    .member(ws, user)
                    .await?
                    .ok_or(ServiceError::NotFound("user"))?;
                if !actor.can_assign(&scope(&c), user) {
                    return Err(ServiceError::Forbidden(
                        "you cannot assign this conversation to that person",
                    ));
                }
                if let Some(team) = &team
                    && !team.member_ids.contains(&user)
                {
                    return Err(Invalid::new(
                        "user_id",
                        format!("{} is not a member of team {}", member.name, team.name),
                    )
                    .into());
                }
                if user != actor.user_id && !req.force {
                    let open = tx.exec().open_count_of(ws, user).await?;
                    if member.availability != Availability::Online {
                        return Err(ServiceError::NobodyAvailable(format!(
                            "{} is {}; only online agents can take chats",
                            member.name, member.availability
                        )));
                    }
                    if open >= member.capacity && c.assignee_id != Some(user) {
                        return Err(ServiceError::NobodyAvailable(format!(
                            "{} already has {open} open chats (capacity {})",
                            member.name, member.capacity
                        )));
                    }
                }
                tx.exec().mark_assigned(ws, user, now).await?;
                Routed::Assigned {
                    agent: user,
                    team: team.as_ref().map(|t| t.id),
                }
            }
            None => {
                if !actor.can_manage(&scope(&c)) {
                    return Err(ServiceError::Forbidden("you can transfer your own chats only"));
                }
                let team = team.ok_or_else(|| Invalid::new("team_id", "is required"))?;
                let mut router = routing::Router::new(now);
                let routed = router.route(&mut tx.exec(), ws, Some(team.id)).await?;
                if let Routed::Queued { ticket: true, .. } = routed {
                    let open = router.team(&mut tx.exec(), ws, team.id).await?.routing.is_open(now);
                    return Err(ServiceError::NobodyAvailable(routing::unavailable(&team.name, open)));
                }
                router.mark_assigned(&mut tx.exec()).await?;
                routed
            }
        };
        let command = match (c.status, target, &comment) {
            (ConversationStatus::Bot | ConversationStatus::Queued, Routed::Assigned { agent, team }, None) => {
                Command::Assign { by, to: agent, team }
            }
            _ => Command::Transfer {
                by,
                to: target,
                comment,
            },
        };
        let before = (c.status, c.assignee_id);
        let activity = transition(&mut tx.exec(), &mut c, command, by, now).await?;
        let mut notifications = Pending::default();
        notifications
            .assignment(&mut tx.exec(), &c, &activity, by, before.1)
            .await?;
        self.emit_change(&mut tx, &c, &[activity]).await?;
        self.emit_notifications(&mut tx, ws, notifications).await?;
        tx.commit().await?;
        self.after_release(&c, before).await;
        Ok(c)
    }

    /// A chat left its agent (closed, put back, transferred away): their
    /// capacity freed up, and a chat put back in a queue waits for someone.
    async fn after_release(&self, c: &Conversation, (status, assignee): (ConversationStatus, Option<UserId>)) {
        let was_theirs = status == ConversationStatus::Assigned;
        let left = c.assignee_id != assignee || c.status != ConversationStatus::Assigned;
        if let Some(agent) = assignee.filter(|_| was_theirs && left) {
            self.drain_for_members(c.workspace_id, &[agent]).await;
        }
        if c.status == ConversationStatus::Queued
            && let Some(team) = c.team_id
        {
            self.drain_teams(c.workspace_id, &[team]).await;
        }
    }

    pub async fn set_priority(
        &self,
        actor: &Actor,
        id: ConversationId,
        priority: Priority,
    ) -> ServiceResult<Conversation> {
        let now = self.now();
        let mut tx = self.store().begin().await?;
        let mut c = self.visible_for_update(&mut tx, actor, id).await?;
        if !actor.can_manage(&scope(&c)) {
            return Err(ServiceError::Forbidden(
                "you can change the priority of your own chats only",
            ));
        }
        match transition(
            &mut tx.exec(),
            &mut c,
            Command::SetPriority {
                by: Some(actor.user_id),
                priority,
            },
            Some(actor.user_id),
            now,
        )
        .await
        {
            Ok(activity) => {
                self.emit_change(&mut tx, &c, &[activity]).await?;
                tx.commit().await?;
            }
            Err(ServiceError::Lifecycle(LifecycleError::Unchanged)) => {}
            Err(e) => return Err(e),
        }
        Ok(c)
    }

    /// Replace the conversation's tags with `names` (each must be defined).
    pub async fn set_tags(&self, actor: &Actor, id: ConversationId, names: Vec<String>) -> ServiceResult<Conversation> {
        let now = self.now();
        let ws = actor.workspace_id;
        let mut tx = self.store().begin().await?;
        let mut c = self.visible_for_update(&mut tx, actor, id).await?;
        let names = tag_names(names)?;
        if !actor.can_manage(&scope(&c)) {
            return Err(ServiceError::Forbidden("you can tag your own chats only"));
        }
        let ids = tag_ids(&mut tx.exec(), ws, &names).await?;
        let added: Vec<String> = names.iter().filter(|n| !c.tags.contains(n)).cloned().collect();
        let removed: Vec<String> = c.tags.iter().filter(|n| !names.contains(n)).cloned().collect();
        if added.is_empty() && removed.is_empty() {
            return Ok(c);
        }
        tx.exec().set_conversation_tags(c.id, &ids).await?;
        c.tags = names;
        c.updated_at = now;
        crate::kernel::save_conversation(&mut tx.exec(), &c, now).await?;
        let activity = insert_activity(
            &mut tx.exec(),
            &c,
            Activity::TagsChanged {
                by: Some(actor.user_id),
                added,
                removed,
            },
            Some(actor.user_id),
            now,
        )
        .await?;
        self.emit_change(&mut tx, &c, &[activity]).await?;
        tx.commit().await?;
        Ok(c)
    }

    pub async fn messages(&self, actor: &Actor, id: ConversationId, q: MessageQuery) -> ServiceResult<Page<Message>> {
        let c = self.conversation(actor, id).await?;
        let descending = match q.order.as_deref() {
            None | Some("asc") => false,
            Some("desc") => true,
            Some(_) => return Err(Invalid::new("order", "must be asc or desc").into()),
        };
        Ok(self
            .store()
            .reader()
            .messages(c.id, q.cursor, limit(q.limit)?, descending)
            .await?)
    }

    /// The texts a customer's message had before they changed it, oldest
    /// first, each with when it was replaced.
    pub async fn message_history(
        &self,
        actor: &Actor,
        conversation: ConversationId,
        message: switchboard_core::MessageId,
    ) -> ServiceResult<Vec<switchboard_core::MessageEdit>> {
        let c = self.conversation(actor, conversation).await?;
        let mut reader = self.store().reader();
        reader
            .message(c.workspace_id, message)
            .await?
            .filter(|m| m.conversation_id == c.id)
            .ok_or(ServiceError::NotFound("message"))?;
        Ok(reader
            .message_edits(c.workspace_id, message)
            .await?
            .into_iter()
            .map(|(body, replaced_at)| switchboard_core::MessageEdit { body, replaced_at })
            .collect())
    }

    /// Post a note, a comment, or a message to the customer (a text or a
    /// template). Those to the customer are stored with delivery status
    /// `queued` and a delivery job in the same transaction, so a stored
    /// one is always eventually sent or failed.
    pub async fn post_message(&self, actor: &Actor, id: ConversationId, req: NewMessage) -> ServiceResult<Message> {
        let now = self.now();
        let ws = actor.workspace_id;
        let mut tx = self.store().begin().await?;
        let mut c = self.visible_for_update(&mut tx, actor, id).await?;
        let NewMessage {
            kind,
            body,
            in_reply_to,
            send_at,
            template_id,
            params,
            header_param,
            button_params,
        } = req;
        let fill = TemplateFill {
            params,
            header_param,
            button_params,
        };
        if kind != MessageKind::Template {
            if template_id.is_some() {
                return Err(Invalid::new("template_id", "only with kind template").into());
            }
            fill.only_with_template()?;
        }
        let content = match kind {
            MessageKind::Note | MessageKind::Comment => {
                Posted::Inside(MessageText::parse("body", &body)?.into_string())
            }
            MessageKind::Text => Posted::ToCustomer(Outgoing::from_fields(Some(&body), None, fill)?),
            MessageKind::Template if !body.is_empty() => {
                return Err(Invalid::new(
                    "body",
                    "leave it out for a template: the text is the template's, filled with params",
                )
                .into());
            }
            MessageKind::Template => Posted::ToCustomer(Outgoing::Template {
                id: template_id.ok_or_else(|| Invalid::new("template_id", "is required for kind template"))?,
                fill,
            }),
            other => {
                return Err(Invalid::new(
                    "kind",
                    format!("cannot post a {other} message; use text, template, note or comment"),
                )
                .into());
            }
        };
        let send_at = match send_at {
            None => None,
            Some(_) if kind != MessageKind::Text => {
                return Err(Invalid::new("send_at", "only text messages to the customer can be scheduled").into());
            }
            Some(at) if at <= now => return Err(Invalid::new("send_at", "must be in the future").into()),
            Some(at) if at.since(now) > SCHEDULE_HORIZON_MS => {
                return Err(Invalid::new("send_at", "at most 366 days ahead").into());
            }
            Some(at) => Some(at),
        };
        if let Some(quoted) = in_reply_to {
            tx.exec()
                .message(ws, quoted)
                .await?
                .filter(|m| m.conversation_id == c.id)
                .ok_or(ServiceError::NotFound("message"))?;
        }
        let mut notifications = Pending::default();
        let message = match content {
            Posted::Inside(body) => {
                if !actor.can_annotate(&scope(&c)) {
                    return Err(ServiceError::NotFound("conversation"));
                }
                let author = (Direction::Out, SenderKind::User, Some(actor.user_id.to_string()));
                let message = Message {
                    in_reply_to,
                    ..Message::new(&c, author, kind, Some(body), now)
                };
                tx.exec().insert_message(&message, c.channel_id).await?;
                let (mentions, author) = mentions_in(&mut tx.exec(), &c, &message, actor.user_id).await?;
                notifications.store(&mut tx.exec(), mentions, author.as_deref()).await?;
                message
            }
            Posted::ToCustomer(what) => {
                if !actor.can_message_customer(&scope(&c)) {
                    return Err(ServiceError::Forbidden(
                        "only the assigned agent (or an admin) writes to the customer",
                    ));
                }
                if c.status != ConversationStatus::Assigned {
                    return Err(LifecycleError::IllegalMove {
                        status: c.status,
                        command: "reply to",
                    }
                    .into());
                }
                let channel = tx
                    .exec()
                    .channel(ws, c.channel_id)
                    .await?
                    .ok_or(ServiceError::NotFound("channel"))?;
                let last_customer = c.times.window_opened_at();
                let resolved = resolve_outgoing(
                    &mut tx.exec(),
                    &self.config().channels,
                    &channel,
                    what,
                    last_customer,
                    now,
                )
                .await?;
                let mut message = resolved.into_message(&c, actor.user_id, in_reply_to, now);
                let attempts = self.config().delivery_max_attempts;
                queue_outgoing(&mut tx.exec(), &mut c, &mut message, send_at, attempts, now).await?;
                message
            }
        };
        let queued = message.delivery_status == Some(DeliveryStatus::Queued);
        if queued {
            self.emit_conversation(&mut tx, "conversation.updated", &c).await?;
        }
        self.emit_message(&mut tx, "message.created", &c, &message).await?;
        self.emit_notifications(&mut tx, ws, notifications).await?;
        tx.commit().await?;
        if queued {
            self.wake_jobs();
        }
        Ok(message)
    }
}
