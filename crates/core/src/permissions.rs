//! The permission matrix of DESIGN.md §7. The service layer asks these
//! questions before every read and write; a "no" to a read is answered as
//! "not found" so a record's existence never leaks.

use crate::ids::{TeamId, UserId, WorkspaceId};
use crate::model::{ConversationStatus, QuickReply, QuickReplyScope, Role};

/// The signed-in user acting inside one workspace.
#[derive(Debug, Clone)]
pub struct Actor {
    pub user_id: UserId,
    pub workspace_id: WorkspaceId,
    pub role: Role,
    pub team_ids: Vec<TeamId>,
}

/// What the rules need to know about a conversation.
#[derive(Debug, Clone, Copy)]
pub struct ConversationScope {
    pub team_id: Option<TeamId>,
    pub assignee_id: Option<UserId>,
    pub status: ConversationStatus,
}

/// Which conversations a list query may return for an actor.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Visibility {
    All,
    /// Conversations of these teams, those without a team, and those
    /// assigned to this user.
    Teams {
        team_ids: Vec<TeamId>,
        user_id: UserId,
    },
}

impl Actor {
    pub fn is_admin(&self) -> bool {
        self.role == Role::Admin
    }

    fn in_team(&self, team: Option<TeamId>) -> bool {
        match team {
            None => true,
            Some(team) => self.team_ids.contains(&team),
        }
    }

    pub fn visibility(&self) -> Visibility {
        if self.is_admin() {
            Visibility::All
        } else {
            Visibility::Teams {
                team_ids: self.team_ids.clone(),
                user_id: self.user_id,
            }
        }
    }

    pub fn can_see(&self, c: &ConversationScope) -> bool {
        self.is_admin() || c.assignee_id == Some(self.user_id) || self.in_team(c.team_id)
    }

    /// Assign, transfer, change status or priority.
    pub fn can_manage(&self, c: &ConversationScope) -> bool {
        match self.role {
            Role::Admin => true,
            Role::Supervisor => self.can_see(c),
            Role::Agent => c.assignee_id == Some(self.user_id),
        }
    }

    /// Assign to `to`. Beyond managing, an agent may take an unowned chat of
    /// their own team for themselves.
    pub fn can_assign(&self, c: &ConversationScope, to: UserId) -> bool {
        self.can_manage(c)
            || (self.role == Role::Agent
                && to == self.user_id
                && matches!(c.status, ConversationStatus::Queued)
                && self.in_team(c.team_id))
    }

    /// Write to the customer. Supervisors comment only; admins may write
    /// anywhere ("Enter chat" on bot chats goes through assignment).
    pub fn can_message_customer(&self, c: &ConversationScope) -> bool {
        match self.role {
            Role::Admin => true,
            Role::Supervisor => false,
            Role::Agent => c.assignee_id == Some(self.user_id),
        }
    }

    /// Private notes and supervisor comments.
    pub fn can_annotate(&self, c: &ConversationScope) -> bool {
        self.can_see(c)
    }

    /// Agents, teams, channels, bots, templates, retention.
    pub fn can_administer(&self) -> bool {
        self.is_admin()
    }

    /// Create, rename and delete tag definitions (applying tags is managing).
    pub fn can_edit_tags(&self) -> bool {
        matches!(self.role, Role::Admin | Role::Supervisor)
    }

    /// See and insert a quick reply: one's own personal ones, those of
    /// one's teams (admins: every team's) and the workspace's. Nobody sees
    /// another user's personal ones, admins included.
    pub fn can_use_quick_reply(&self, q: &QuickReply) -> bool {
        match q.scope {
            QuickReplyScope::Personal => q.owner_user_id == Some(self.user_id),
            QuickReplyScope::Team => self.is_admin() || q.team_id.is_some_and(|t| self.team_ids.contains(&t)),
            QuickReplyScope::Workspace => true,
        }
    }

    /// Create, change or delete a quick reply: everyone their personal
    /// ones, supervisors their teams', admins every team's and the
    /// workspace's.
    pub fn can_edit_quick_reply(&self, q: &QuickReply) -> bool {
        self.can_use_quick_reply(q)
            && match q.scope {
                QuickReplyScope::Personal => true,
                QuickReplyScope::Team => matches!(self.role, Role::Admin | Role::Supervisor),
                QuickReplyScope::Workspace => self.is_admin(),
            }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use uuid::Uuid;

    fn actor(role: Role, teams: &[u128]) -> Actor {
        Actor {
            user_id: UserId(Uuid::from_u128(1)),
            workspace_id: WorkspaceId(Uuid::from_u128(9)),
            role,
            team_ids: teams.iter().map(|t| TeamId(Uuid::from_u128(*t))).collect(),
        }
    }

    fn conv(team: u128, assignee: Option<u128>, status: ConversationStatus) -> ConversationScope {
        ConversationScope {
            team_id: Some(TeamId(Uuid::from_u128(team))),
            assignee_id: assignee.map(|a| UserId(Uuid::from_u128(a))),
            status,
        }
    }

    #[test]
    fn matrix() {
        let me = UserId(Uuid::from_u128(1));
        let agent = actor(Role::Agent, &[100]);
        let supervisor = actor(Role::Supervisor, &[100]);
        let admin = actor(Role::Admin, &[]);
        let own_team_queued = conv(100, None, ConversationStatus::Queued);
        let other_team = conv(200, Some(5), ConversationStatus::Assigned);
        let mine = conv(100, Some(1), ConversationStatus::Assigned);
        let colleagues = conv(100, Some(5), ConversationStatus::Assigned);

        assert!(agent.can_see(&own_team_queued) && !agent.can_see(&other_team));
        assert!(agent.can_manage(&mine) && !agent.can_manage(&colleagues));
        assert!(
            agent.can_assign(&own_team_queued, me) && !agent.can_assign(&own_team_queued, UserId(Uuid::from_u128(5)))
        );
        assert!(agent.can_message_customer(&mine) && !agent.can_message_customer(&colleagues));
        assert!(supervisor.can_manage(&colleagues) && !supervisor.can_manage(&other_team));
        assert!(!supervisor.can_message_customer(&colleagues) && supervisor.can_annotate(&colleagues));
        assert!(admin.can_see(&other_team) && admin.can_manage(&other_team) && admin.can_message_customer(&other_team));
        assert!(!agent.can_administer() && !supervisor.can_administer() && admin.can_administer());
    }

    #[test]
    fn quick_replies() {
        let reply = |scope, owner: Option<u128>, team: Option<u128>| QuickReply {
            id: crate::QuickReplyId(Uuid::from_u128(50)),
            workspace_id: WorkspaceId(Uuid::from_u128(9)),
            scope,
            owner_user_id: owner.map(|o| UserId(Uuid::from_u128(o))),
            team_id: team.map(|t| TeamId(Uuid::from_u128(t))),
            shortcut: "hi".into(),
            text: "Hi!".into(),
            attachment_id: None,
            created_by: UserId(Uuid::from_u128(1)),
            created_at: crate::Millis(0),
            updated_at: crate::Millis(0),
        };
        let mine = reply(QuickReplyScope::Personal, Some(1), None);
        let colleagues = reply(QuickReplyScope::Personal, Some(5), None);
        let own_team = reply(QuickReplyScope::Team, None, Some(100));
        let other_team = reply(QuickReplyScope::Team, None, Some(200));
        let everyone = reply(QuickReplyScope::Workspace, None, None);
        let agent = actor(Role::Agent, &[100]);
        let supervisor = actor(Role::Supervisor, &[100]);
        let admin = actor(Role::Admin, &[]);

        for a in [&agent, &supervisor, &admin] {
            assert!(a.can_edit_quick_reply(&mine) && !a.can_use_quick_reply(&colleagues));
            assert!(a.can_use_quick_reply(&own_team) && a.can_use_quick_reply(&everyone));
        }
        assert!(!agent.can_edit_quick_reply(&own_team) && !agent.can_use_quick_reply(&other_team));
        assert!(supervisor.can_edit_quick_reply(&own_team) && !supervisor.can_use_quick_reply(&other_team));
        assert!(!agent.can_edit_quick_reply(&everyone) && !supervisor.can_edit_quick_reply(&everyone));
        assert!(admin.can_edit_quick_reply(&other_team) && admin.can_edit_quick_reply(&everyone));
    }
}
