//! Notifications: what one member is told about (a mention in a note or
//! comment, a chat given to them). Every query names the member, so one
//! member's notifications never reach another.

use sea_query::{Alias, Expr, Order, Query};
use switchboard_core::{
    ConversationId, MessageId, Millis, Notification, NotificationId, NotificationKind, UserId, WorkspaceId,
};

use crate::schema::*;
use crate::{Exec, IN_LIST_MAX, Page, Result, page_of, parse, parse_opt, rows_per_statement};

/// A notification to store.
#[derive(Debug, Clone)]
pub struct NewNotification {
    pub id: NotificationId,
    pub workspace_id: WorkspaceId,
    /// Who is notified.
    pub user_id: UserId,
    pub kind: NotificationKind,
    pub conversation_id: ConversationId,
    pub message_id: Option<MessageId>,
    pub actor_user_id: Option<UserId>,
    pub excerpt: Option<String>,
    pub created_at: Millis,
}

impl NewNotification {
    /// How the member sees it, given the actor's name.
    pub fn view(&self, actor_name: Option<String>) -> Notification {
        Notification {
            id: self.id,
            kind: self.kind,
            conversation_id: self.conversation_id,
            message_id: self.message_id,
            actor_user_id: self.actor_user_id,
            actor_name,
            excerpt: self.excerpt.clone(),
            created_at: self.created_at,
            read_at: None,
        }
    }
}

/// Which of a member's notifications to list.
#[derive(Debug, Clone)]
pub struct NotificationFilter {
    pub unread_only: bool,
    pub cursor: Option<NotificationId>,
    pub limit: u64,
}

#[derive(sqlx::FromRow)]
struct NotificationRow {
    id: String,
    kind: String,
    conversation_id: String,
    message_id: Option<String>,
    actor_user_id: Option<String>,
    actor_name: Option<String>,
    excerpt: Option<String>,
    created_at: i64,
    read_at: Option<i64>,
}

impl NotificationRow {
    fn into_domain(self) -> Result<Notification> {
        Ok(Notification {
            id: parse("notification id", &self.id)?,
            kind: parse("notification kind", &self.kind)?,
            conversation_id: parse("conversation id", &self.conversation_id)?,
            message_id: parse_opt("message id", self.message_id.as_deref())?,
            actor_user_id: parse_opt("user id", self.actor_user_id.as_deref())?,
            actor_name: self.actor_name,
            excerpt: self.excerpt,
            created_at: Millis(self.created_at),
            read_at: self.read_at.map(Millis),
        })
    }
}

const COLUMNS: [Notifications; 9] = [
    Notifications::Id,
    Notifications::WorkspaceId,
    Notifications::UserId,
    Notifications::Kind,
    Notifications::ConversationId,
    Notifications::MessageId,
    Notifications::ActorUserId,
    Notifications::Excerpt,
    Notifications::CreatedAt,
];

/// `user_id = ? AND workspace_id = ?` on the notifications table.
fn owned_by(q: &mut sea_query::SelectStatement, ws: WorkspaceId, user: UserId) {
    q.and_where(Expr::col((Notifications::Table, Notifications::UserId)).eq(user.to_string()))
        .and_where(Expr::col((Notifications::Table, Notifications::WorkspaceId)).eq(ws.to_string()));
}

impl Exec<'_> {
    /// Store notifications, many per statement.
    pub async fn insert_notifications(&mut self, notifications: &[NewNotification]) -> Result<()> {
        for chunk in notifications.chunks(rows_per_statement(COLUMNS.len())) {
            let mut q = Query::insert();
            q.into_table(Notifications::Table).columns(COLUMNS);
            for n in chunk {
                q.values_panic([
                    n.id.to_string().into(),
                    n.workspace_id.to_string().into(),
                    n.user_id.to_string().into(),
                    n.kind.as_str().into(),
                    n.conversation_id.to_string().into(),
                    n.message_id.map(|m| m.to_string()).into(),
                    n.actor_user_id.map(|u| u.to_string()).into(),
                    n.excerpt.clone().into(),
                    n.created_at.0.into(),
                ]);
            }
            self.execute(&q).await?;
        }
        Ok(())
    }

    /// A member's notifications in a workspace, newest first, with the
    /// actor's current name.
    pub async fn notifications(
        &mut self,
        ws: WorkspaceId,
        user: UserId,
        f: &NotificationFilter,
    ) -> Result<Page<Notification>> {
        let mut q = Query::select();
        q.columns(
            [
                Notifications::Id,
                Notifications::Kind,
                Notifications::ConversationId,
                Notifications::MessageId,
                Notifications::ActorUserId,
                Notifications::Excerpt,
                Notifications::CreatedAt,
                Notifications::ReadAt,
            ]
            .map(|c| (Notifications::Table, c)),
        )
        .expr_as(Expr::col((Users::Table, Users::Name)), Alias::new("actor_name"))
        .from(Notifications::Table)
        .left_join(
            Users::Table,
            Expr::col((Users::Table, Users::Id)).equals((Notifications::Table, Notifications::ActorUserId)),
        )
        .order_by((Notifications::Table, Notifications::Id), Order::Desc)
        .limit(f.limit + 1);
        owned_by(&mut q, ws, user);
        if f.unread_only {
            q.and_where(Expr::col((Notifications::Table, Notifications::ReadAt)).is_null());
        }
        if let Some(cursor) = f.cursor {
            q.and_where(Expr::col((Notifications::Table, Notifications::Id)).lt(cursor.to_string()));
        }
        let rows: Vec<NotificationRow> = self.fetch_all(&q).await?;
        let page = page_of(rows, f.limit, |r| r.id.clone());
        Ok(Page {
            items: page
                .items
                .into_iter()
                .map(NotificationRow::into_domain)
                .collect::<Result<_>>()?,
            next_cursor: page.next_cursor,
        })
    }

    /// How many of a member's notifications are unread.
    pub async fn unread_notifications(&mut self, ws: WorkspaceId, user: UserId) -> Result<i64> {
        let mut q = Query::select();
        q.expr(Expr::col((Notifications::Table, Notifications::Id)).count())
            .from(Notifications::Table)
            .and_where(Expr::col((Notifications::Table, Notifications::ReadAt)).is_null());
        owned_by(&mut q, ws, user);
        let (n,): (i64,) = self.fetch_one(&q).await?;
        Ok(n)
    }

    /// Mark a member's unread notifications read: those of `ids` (ids of
    /// anyone else's are left alone), or all with `None`. Returns how many
    /// changed.
    pub async fn mark_notifications_read(
        &mut self,
        ws: WorkspaceId,
        user: UserId,
        ids: Option<&[NotificationId]>,
        now: Millis,
    ) -> Result<u64> {
        let update = || {
            let mut q = Query::update();
            q.table(Notifications::Table)
                .value(Notifications::ReadAt, now.0)
                .and_where(Expr::col(Notifications::UserId).eq(user.to_string()))
                .and_where(Expr::col(Notifications::WorkspaceId).eq(ws.to_string()))
                .and_where(Expr::col(Notifications::ReadAt).is_null());
            q
        };
        let Some(ids) = ids else {
            return self.execute(&update()).await;
        };
        let mut changed = 0;
        for chunk in ids.chunks(IN_LIST_MAX) {
            let mut q = update();
            q.and_where(Expr::col(Notifications::Id).is_in(chunk.iter().map(|id| id.to_string())));
            changed += self.execute(&q).await?;
        }
        Ok(changed)
    }
}
