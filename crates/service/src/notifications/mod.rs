//! Notifications (DESIGN.md §3): a member is told when a note or comment
//! @mentions them, and when someone else (a person, or routing) gives them a
//! chat. Stored in the transaction of what caused them, published to that
//! member alone (`notification.created`) once it is committed, and listed
//! and marked read by that member only.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use switchboard_core::permissions::Actor;
use switchboard_core::validate::Invalid;
use switchboard_core::{
    Activity, Conversation, Message, MessageKind, Notification, NotificationId, NotificationKind, UserId, mentions,
};
use switchboard_store::{Exec, NewNotification, NotificationFilter};

use crate::events::EventScope;
use crate::kernel::scope;
use crate::{ServiceResult, Services};

/// How much of a note or comment a notification quotes, in characters.
pub const EXCERPT_CHARS: usize = 140;
/// Most ids one "mark read" request names.
const MARK_READ_MAX: usize = 500;

/// Filters of the caller's notification list.
#[derive(Debug, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct NotificationQuery {
    /// `true`: only the unread ones.
    pub unread: Option<bool>,
    pub cursor: Option<NotificationId>,
    #[schemars(range(min = 1, max = 200))]
    pub limit: Option<u64>,
}

/// One page of the caller's notifications, newest first, and how many of
/// all their notifications in the workspace are unread (for a badge).
#[derive(Debug, Serialize, JsonSchema)]
pub struct NotificationList {
    pub items: Vec<Notification>,
    /// Pass as `cursor` for the next page; absent on the last page.
    pub next_cursor: Option<String>,
    pub unread_count: i64,
}

/// Mark the caller's notifications read: some by id (ids of anyone else's
/// are ignored), or `all`.
#[derive(Debug, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct MarkNotificationsRead {
    #[serde(default)]
    pub ids: Vec<NotificationId>,
    #[serde(default)]
    pub all: bool,
}

/// Notifications stored in a transaction, to publish once it commits.
#[derive(Debug, Default)]
pub(crate) struct Pending {
    items: Vec<(UserId, Notification)>,
}

impl Pending {
    /// Store `records` (inside the caller's transaction) and keep them for
    /// publishing; `actor_name` is the name of whoever caused them.
    pub(crate) async fn store(
        &mut self,
        exec: &mut Exec<'_>,
        records: Vec<NewNotification>,
        actor_name: Option<&str>,
    ) -> ServiceResult<()> {
        if records.is_empty() {
            return Ok(());
        }
        exec.insert_notifications(&records).await?;
        self.items.extend(
            records
                .iter()
                .map(|r| (r.user_id, r.view(actor_name.map(str::to_owned)))),
        );
        Ok(())
    }

    /// Store the `assignment` notification an assignment or transfer
    /// calls for, if any (see [`assignment_of`]).
    pub(crate) async fn assignment(
        &mut self,
        exec: &mut Exec<'_>,
        c: &Conversation,
        activity: &Message,
        by: Option<UserId>,
        previous: Option<UserId>,
    ) -> ServiceResult<()> {
        let Some(record) = assignment_of(c, activity, by, previous) else {
            return Ok(());
        };
        let name = match by {
            Some(user) => exec.user(user).await?.map(|u| u.name),
            None => None,
        };
        self.store(exec, vec![record], name.as_deref()).await
    }
}

/// The members a note or comment mentions who may see its conversation,
/// each once, never its author: one `mention` notification each, not
/// stored yet. Returns them with the author's name.
pub(crate) async fn mentions_in(
    exec: &mut Exec<'_>,
    c: &Conversation,
    message: &Message,
    author: UserId,
) -> ServiceResult<(Vec<NewNotification>, Option<String>)> {
    let body = message.body.as_deref().unwrap_or_default();
    if !matches!(message.kind, MessageKind::Note | MessageKind::Comment) || !body.contains('@') {
        return Ok((Vec::new(), None));
    }
    let members = exec.members(c.workspace_id).await?;
    let names: Vec<(UserId, &str)> = members.iter().map(|m| (m.id, m.name.as_str())).collect();
    let author_name = members.iter().find(|m| m.id == author).map(|m| m.name.clone());
    let records = mentions::mentioned(body, &names)
        .into_iter()
        .filter(|user| *user != author)
        .filter_map(|user| members.iter().find(|m| m.id == user))
        .filter(|member| {
            let viewer = Actor {
                user_id: member.id,
                workspace_id: c.workspace_id,
                role: member.role,
                team_ids: member.team_ids.clone(),
            };
            viewer.can_see(&scope(c))
        })
        .map(|member| NewNotification {
            id: NotificationId::new(),
            workspace_id: c.workspace_id,
            user_id: member.id,
            kind: NotificationKind::Mention,
            conversation_id: c.id,
            message_id: Some(message.id),
            actor_user_id: Some(author),
            excerpt: Some(mentions::excerpt(body, EXCERPT_CHARS)),
            created_at: message.created_at,
        })
        .collect();
    Ok((records, author_name))
}

/// An `assignment` notification when `activity` (an assignment or a
/// transfer) gave the chat to an agent other than the one who did it and
/// other than its owner before (`previous`); not stored yet.
pub(crate) fn assignment_of(
    c: &Conversation,
    activity: &Message,
    by: Option<UserId>,
    previous: Option<UserId>,
) -> Option<NewNotification> {
    let (to, comment) = match activity.activity.as_ref()? {
        Activity::Assigned { to_user, .. } => (*to_user, None),
        Activity::Transferred {
            to_user: Some(to_user),
            comment,
            ..
        } => (*to_user, comment.clone()),
        _ => return None,
    };
    if Some(to) == by || Some(to) == previous || c.assignee_id != Some(to) {
        return None;
    }
    Some(NewNotification {
        id: NotificationId::new(),
        workspace_id: c.workspace_id,
        user_id: to,
        kind: NotificationKind::Assignment,
        conversation_id: c.id,
        message_id: Some(activity.id),
        actor_user_id: by,
        excerpt: comment.map(|text| mentions::excerpt(&text, EXCERPT_CHARS)),
        created_at: activity.created_at,
    })
}

impl Services {
    /// Publish notifications in their transaction: each to its member only.
    pub(crate) async fn emit_notifications(
        &self,
        tx: &mut switchboard_store::Tx<'_>,
        ws: switchboard_core::WorkspaceId,
        pending: Pending,
    ) -> ServiceResult<()> {
        let events = pending
            .items
            .into_iter()
            .map(|(user_id, notification)| {
                crate::events::Pending::new("notification.created", EventScope::User { user_id }, &notification)
            })
            .collect();
        self.publish_all(tx, ws, events).await
    }

    /// The caller's notifications in the workspace, newest first.
    pub async fn notifications(&self, actor: &Actor, q: NotificationQuery) -> ServiceResult<NotificationList> {
        let limit = match q.limit.unwrap_or(50) {
            n @ 1..=200 => n,
            _ => return Err(Invalid::new("limit", "must be between 1 and 200").into()),
        };
        let filter = NotificationFilter {
            unread_only: q.unread.unwrap_or(false),
            cursor: q.cursor,
            limit,
        };
        let mut db = self.store().reader();
        let page = db.notifications(actor.workspace_id, actor.user_id, &filter).await?;
        let unread_count = db.unread_notifications(actor.workspace_id, actor.user_id).await?;
        Ok(NotificationList {
            items: page.items,
            next_cursor: page.next_cursor,
            unread_count,
        })
    }

    /// Mark the caller's notifications read. Publishes `notification.read`
    /// to the caller (their other tabs) when something changed.
    pub async fn mark_notifications_read(&self, actor: &Actor, req: MarkNotificationsRead) -> ServiceResult<()> {
        let ids = match (req.all, req.ids.is_empty()) {
            // `all` covers any ids given with it.
            (true, _) => None,
            (false, false) => Some(req.ids),
            // Nothing named: nothing to mark.
            (false, true) => return Ok(()),
        };
        if let Some(ids) = &ids
            && ids.len() > MARK_READ_MAX
        {
            return Err(Invalid::new("ids", format!("at most {MARK_READ_MAX} at once")).into());
        }
        let now = self.now();
        let mut tx = self.store().begin().await?;
        let changed = tx
            .exec()
            .mark_notifications_read(actor.workspace_id, actor.user_id, ids.as_deref(), now)
            .await?;
        let unread_count = tx
            .exec()
            .unread_notifications(actor.workspace_id, actor.user_id)
            .await?;
        if changed > 0 {
            self.publish(
                &mut tx,
                actor.workspace_id,
                "notification.read",
                EventScope::User { user_id: actor.user_id },
                serde_json::json!({"ids": ids, "all": ids.is_none(), "read_at": now, "unread_count": unread_count}),
            )
            .await?;
        }
        tx.commit().await?;
        Ok(())
    }
}
