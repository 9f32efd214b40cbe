//! Assignment legs (DESIGN.md §8): each time a chat is given to a person
//! a leg starts, and it ends when the chat moves on. "Response time since
//! assignment" is the assignee's own first reply in their leg, so a
//! transfer is counted, and a reopened chat starts a new leg instead of
//! stretching the first one.
//!
//! [`plan`] compares a conversation as it is about to be written with its
//! latest stored leg; every write of a conversation goes through it, so the
//! legs follow the lifecycle whichever use case moved the chat.

use serde::{Deserialize, Serialize};

use crate::ids::{TeamId, UserId};
use crate::model::{Conversation, ConversationStatus, LegEnd, LegStart};
use crate::time::Millis;

/// One leg as stored.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Leg {
    pub agent: UserId,
    pub team: Option<TeamId>,
    /// Who held the chat before this leg, if anyone did.
    pub from_agent: Option<UserId>,
    pub start: LegStart,
    pub assigned_at: Millis,
    /// The assignee's first reply in the leg.
    pub first_reply_at: Option<Millis>,
    pub ended_at: Option<Millis>,
    pub end: Option<LegEnd>,
}

impl Leg {
    /// The assignee's wait to answer, once they answered.
    pub fn response_ms(&self) -> Option<i64> {
        self.first_reply_at.map(|r| r.since(self.assigned_at))
    }
}

/// What to write so the stored legs match a conversation.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LegChanges {
    /// End the open leg that began at this time.
    pub end: Option<(Millis, LegEnd)>,
    /// Record the first reply of the open leg that began at this time.
    pub first_reply: Option<(Millis, Millis)>,
    /// Start this leg.
    pub start: Option<Leg>,
}

impl LegChanges {
    pub fn is_empty(&self) -> bool {
        self.end.is_none() && self.first_reply.is_none() && self.start.is_none()
    }
}

/// The leg a conversation is in now: it is assigned to a person.
fn current(c: &Conversation) -> Option<(UserId, Millis)> {
    match (c.status, c.assignee_id, c.times.assigned_at) {
        (ConversationStatus::Assigned, Some(agent), Some(at)) => Some((agent, at)),
        _ => None,
    }
}

/// The changes that bring the legs in line with `c`, given its latest
/// stored leg. The caller writes the end time of a leg it ends.
pub fn plan(latest: Option<&Leg>, c: &Conversation) -> LegChanges {
    let mut changes = LegChanges::default();
    let now_in = current(c);
    let open = latest.filter(|l| l.ended_at.is_none());
    let same_leg = |l: &Leg| now_in == Some((l.agent, l.assigned_at));
    if let Some(leg) = open {
        if same_leg(leg) {
            if leg.first_reply_at.is_none()
                && let Some(reply) = c.times.first_reply_after_assignment_at
            {
                changes.first_reply = Some((leg.assigned_at, reply));
            }
            return changes;
        }
        let why = if c.status.is_closed() {
            LegEnd::Close
        } else if now_in.is_some() {
            LegEnd::Transfer
        } else {
            LegEnd::Requeue
        };
        changes.end = Some((leg.assigned_at, why));
    }
    let Some((agent, assigned_at)) = now_in else {
        return changes;
    };
    if latest.is_some_and(|l| l.assigned_at >= assigned_at) {
        // Already recorded (a leg never starts twice at one time).
        return changes;
    }
    let start = match (latest, changes.end) {
        (None, _) => LegStart::First,
        (Some(_), Some((_, LegEnd::Transfer))) => LegStart::Transfer,
        (Some(l), None) if l.end == Some(LegEnd::Close) => LegStart::Reopen,
        (Some(_), _) => LegStart::Queue,
    };
    changes.start = Some(Leg {
        agent,
        team: c.team_id,
        from_agent: latest.map(|l| l.agent),
        start,
        assigned_at,
        first_reply_at: c.times.first_reply_after_assignment_at,
        ended_at: None,
        end: None,
    });
    changes
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ids::{ChannelId, ContactId, ConversationId, WorkspaceId};
    use crate::model::{ConversationTimes, Priority};

    fn chat(status: ConversationStatus, assignee: Option<UserId>, assigned_at: Option<i64>) -> Conversation {
        Conversation {
            id: ConversationId::new(),
            workspace_id: WorkspaceId::new(),
            channel_id: ChannelId::new(),
            contact_id: ContactId::new(),
            team_id: None,
            assignee_id: assignee,
            status,
            priority: Priority::Normal,
            ticket: false,
            tags: Vec::new(),
            close_comment: None,
            close_reason: None,
            rating: None,
            times: ConversationTimes {
                assigned_at: assigned_at.map(Millis),
                ..ConversationTimes::default()
            },
            snoozed_until: None,
            updated_at: Millis(0),
        }
    }

    /// Apply `plan` the way the store does.
    fn step(legs: &mut Vec<Leg>, c: &Conversation, now: i64) {
        let changes = plan(legs.last(), c);
        if let Some(last) = legs.last_mut() {
            if let Some((at, why)) = changes.end {
                assert_eq!(at, last.assigned_at);
                last.ended_at = Some(Millis(now));
                last.end = Some(why);
            }
            if let Some((at, reply)) = changes.first_reply {
                assert_eq!(at, last.assigned_at);
                last.first_reply_at = Some(reply);
            }
        }
        legs.extend(changes.start);
    }

    #[test]
    fn a_transfer_ends_one_leg_and_starts_the_next() {
        let (a, b) = (UserId::new(), UserId::new());
        let mut legs = Vec::new();
        step(&mut legs, &chat(ConversationStatus::Assigned, Some(a), Some(10)), 10);
        let mut replied = chat(ConversationStatus::Assigned, Some(a), Some(10));
        replied.times.first_reply_after_assignment_at = Some(Millis(25));
        step(&mut legs, &replied, 25);
        step(&mut legs, &chat(ConversationStatus::Assigned, Some(b), Some(40)), 40);
        assert_eq!(legs.len(), 2);
        assert_eq!(legs[0].start, LegStart::First);
        assert_eq!(legs[0].response_ms(), Some(15));
        assert_eq!(legs[0].end, Some(LegEnd::Transfer));
        assert_eq!(legs[0].ended_at, Some(Millis(40)));
        assert_eq!(legs[1].start, LegStart::Transfer);
        assert_eq!(legs[1].from_agent, Some(a));
        assert_eq!(legs[1].first_reply_at, None);
    }

    #[test]
    fn requeue_close_and_reopen_are_told_apart() {
        let a = UserId::new();
        let mut legs = Vec::new();
        step(&mut legs, &chat(ConversationStatus::Assigned, Some(a), Some(10)), 10);
        step(&mut legs, &chat(ConversationStatus::Queued, None, Some(10)), 20);
        assert_eq!(legs[0].end, Some(LegEnd::Requeue));
        step(&mut legs, &chat(ConversationStatus::Assigned, Some(a), Some(30)), 30);
        assert_eq!(legs[1].start, LegStart::Queue);
        step(&mut legs, &chat(ConversationStatus::Resolved, Some(a), Some(30)), 50);
        assert_eq!(legs[1].end, Some(LegEnd::Close));
        // Writing the closed chat again changes nothing.
        assert!(plan(legs.last(), &chat(ConversationStatus::Resolved, Some(a), Some(30))).is_empty());
        step(&mut legs, &chat(ConversationStatus::Assigned, Some(a), Some(70)), 70);
        assert_eq!(legs.len(), 3);
        assert_eq!(legs[2].start, LegStart::Reopen);
        assert_eq!(legs[2].first_reply_at, None);
    }

    #[test]
    fn a_reply_before_the_assignment_is_not_the_legs() {
        let a = UserId::new();
        let mut c = chat(ConversationStatus::Assigned, Some(a), Some(100));
        // The agent answered while the chat was queued, then took it.
        c.times.first_reply_at = Some(Millis(50));
        let changes = plan(None, &c);
        assert_eq!(changes.start.as_ref().and_then(|l| l.first_reply_at), None);
    }
}
