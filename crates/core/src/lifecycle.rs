//! The conversation lifecycle of DESIGN.md §4 as one pure function:
//! `apply(state, command, now) -> (new state, activity)`, with an error for
//! every move the table does not allow. The service layer never changes a
//! status any other way, so every change leaves an activity behind.

use crate::ids::{TeamId, UserId};
use crate::model::{Activity, ConversationStatus, ConversationTimes, Direction, Priority};
use crate::time::Millis;

use ConversationStatus as S;

/// The part of a conversation the lifecycle owns.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LifecycleState {
    pub status: ConversationStatus,
    pub assignee: Option<UserId>,
    pub team: Option<TeamId>,
    pub priority: Priority,
    pub ticket: bool,
    pub close_comment: Option<String>,
    pub close_reason: Option<String>,
    pub times: ConversationTimes,
    pub snoozed_until: Option<Millis>,
}

/// Where routing sent a conversation: to an agent, or into a team's queue.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Routed {
    Assigned { agent: UserId, team: Option<TeamId> },
    Queued { team: Option<TeamId>, ticket: bool },
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Command {
    /// The bot hands the chat to people (or the customer asked for one).
    HandOff {
        route: Routed,
    },
    /// An admin takes over a bot chat; the bot stops.
    EnterChat {
        admin: UserId,
    },
    /// Give the chat to an agent. On an already assigned chat this is a transfer.
    Assign {
        by: Option<UserId>,
        to: UserId,
        team: Option<TeamId>,
    },
    /// Move the chat to another agent or team, with an optional comment.
    Transfer {
        by: Option<UserId>,
        to: Routed,
        comment: Option<String>,
    },
    /// Put an assigned chat back in its team's queue.
    Unassign {
        by: Option<UserId>,
    },
    Resolve {
        by: Option<UserId>,
        comment: Option<String>,
        /// One of the workspace's close reasons (checked by the caller).
        reason: Option<String>,
    },
    Abandon {
        by: Option<UserId>,
        comment: Option<String>,
        reason: Option<String>,
    },
    /// Nobody acted for the expiry period.
    Expire,
    /// A person reopens a closed chat; only while the channel's window is open.
    Reopen {
        by: UserId,
        window_open: bool,
    },
    /// The customer wrote again: to a pending chat, or to a closed one within
    /// the channel's reopen period.
    CustomerReturned {
        route: Routed,
    },
    SetPriority {
        by: Option<UserId>,
        priority: Priority,
    },
    /// Put an open chat aside until `until`.
    Snooze {
        by: Option<UserId>,
        until: Millis,
    },
    /// End a snooze: its time came, the customer wrote, or someone woke it.
    Wake {
        by: Option<UserId>,
        customer_wrote: bool,
    },
}

impl Command {
    pub const fn name(&self) -> &'static str {
        match self {
            Command::HandOff { .. } => "hand_off",
            Command::EnterChat { .. } => "enter_chat",
            Command::Assign { .. } => "assign",
            Command::Transfer { .. } => "transfer",
            Command::Unassign { .. } => "unassign",
            Command::Resolve { .. } => "resolve",
            Command::Abandon { .. } => "abandon",
            Command::Expire => "expire",
            Command::Reopen { .. } => "reopen",
            Command::CustomerReturned { .. } => "customer_returned",
            Command::SetPriority { .. } => "set_priority",
            Command::Snooze { .. } => "snooze",
            Command::Wake { .. } => "wake",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LifecycleError {
    #[error("cannot {command} a conversation that is {status}")]
    IllegalMove {
        status: ConversationStatus,
        command: &'static str,
    },
    #[error("the conversation is already with that agent or team")]
    AlreadyAssigned,
    #[error("nothing to change: the conversation is already that way")]
    Unchanged,
    #[error("the channel's messaging window is closed; send a template instead")]
    WindowClosed,
    #[error("a snooze must end in the future")]
    SnoozeNotInFuture,
    #[error("the conversation is not snoozed")]
    NotSnoozed,
}

/// A new conversation: owned by the bot when the channel has one (`route` is
/// `None`), otherwise wherever routing sent it.
pub fn open(route: Option<Routed>, now: Millis) -> (LifecycleState, Activity) {
    let mut state = LifecycleState {
        status: S::Bot,
        assignee: None,
        team: None,
        priority: Priority::Normal,
        ticket: false,
        close_comment: None,
        close_reason: None,
        times: ConversationTimes {
            created_at: now,
            ..ConversationTimes::default()
        },
        snoozed_until: None,
    };
    if let Some(route) = route {
        state.enter(route, now);
    }
    let activity = Activity::Opened {
        status: state.status,
        team_id: state.team,
        assignee_id: state.assignee,
        ticket: state.ticket,
    };
    (state, activity)
}

/// A conversation the business starts with a template: it waits in `pending`
/// for the customer's first answer.
pub fn open_pending(sender: UserId, team: Option<TeamId>, now: Millis) -> (LifecycleState, Activity) {
    let state = LifecycleState {
        status: S::Pending,
        assignee: Some(sender),
        team,
        priority: Priority::Normal,
        ticket: false,
        close_comment: None,
        close_reason: None,
        times: ConversationTimes {
            created_at: now,
            ..ConversationTimes::default()
        },
        snoozed_until: None,
    };
    let activity = Activity::Opened {
        status: S::Pending,
        team_id: team,
        assignee_id: Some(sender),
        ticket: false,
    };
    (state, activity)
}

impl LifecycleState {
    fn enter(&mut self, route: Routed, now: Millis) {
        match route {
            Routed::Assigned { agent, team } => self.assign_to(agent, team, now),
            Routed::Queued { team, ticket } => {
                if self.status != S::Queued {
                    self.times.queued_at = Some(now);
                }
                self.status = S::Queued;
                self.assignee = None;
                if team.is_some() {
                    self.team = team;
                }
                self.ticket |= ticket;
            }
        }
    }

    fn assign_to(&mut self, agent: UserId, team: Option<TeamId>, now: Millis) {
        self.status = S::Assigned;
        self.assignee = Some(agent);
        if team.is_some() {
            self.team = team;
        }
        self.times.assigned_at = Some(now);
        self.times.first_assigned_at.get_or_insert(now);
        // "first reply after assignment" is measured from the latest assignment.
        self.times.first_reply_after_assignment_at = None;
    }

    fn close(&mut self, status: ConversationStatus, comment: Option<String>, reason: Option<String>, now: Millis) {
        self.status = status;
        self.close_comment = comment;
        self.close_reason = reason;
        self.times.closed_at = Some(now);
        self.snoozed_until = None;
    }
}

/// Apply one command. On error the caller keeps the old state: nothing moved.
pub fn apply(
    state: &LifecycleState,
    command: Command,
    now: Millis,
) -> Result<(LifecycleState, Activity), LifecycleError> {
    let name = command.name();
    let illegal = || LifecycleError::IllegalMove {
        status: state.status,
        command: name,
    };
    let mut next = state.clone();
    let from = state.status;
    let activity = match command {
        Command::HandOff { route } => {
            if from != S::Bot {
                return Err(illegal());
            }
            next.enter(route, now);
            next.times.handed_off_at = Some(now);
            transfer_activity(state, &next, None, None)
        }
        Command::EnterChat { admin } => {
            if from != S::Bot {
                return Err(illegal());
            }
            next.assign_to(admin, None, now);
            next.times.handed_off_at = Some(now);
            Activity::Assigned {
                by: Some(admin),
                to_user: admin,
                team_id: next.team,
            }
        }
        Command::Assign { by, to, team } => {
            if !from.is_open() {
                return Err(illegal());
            }
            if from == S::Assigned && state.assignee == Some(to) && (team.is_none() || team == state.team) {
                return Err(LifecycleError::AlreadyAssigned);
            }
            next.assign_to(to, team, now);
            if from == S::Assigned {
                transfer_activity(state, &next, by, None)
            } else {
                Activity::Assigned {
                    by,
                    to_user: to,
                    team_id: next.team,
                }
            }
        }
        Command::Transfer { by, to, comment } => {
            if !from.is_open() {
                return Err(illegal());
            }
            let already_there = match to {
                Routed::Assigned { agent, team } => {
                    state.assignee == Some(agent) && (team.is_none() || team == state.team)
                }
                Routed::Queued { team, .. } => from == S::Queued && (team.is_none() || team == state.team),
            };
            if already_there {
                return Err(LifecycleError::AlreadyAssigned);
            }
            next.enter(to, now);
            transfer_activity(state, &next, by, comment)
        }
        Command::Unassign { by } => {
            let (S::Assigned, Some(from_user)) = (from, state.assignee) else {
                return Err(illegal());
            };
            next.status = S::Queued;
            next.assignee = None;
            next.times.queued_at = Some(now);
            Activity::Unassigned { by, from_user }
        }
        Command::Resolve { by, comment, reason } => {
            close_by_person(state, &mut next, S::Resolved, by, (comment, reason), now)?
        }
        Command::Abandon { by, comment, reason } => {
            close_by_person(state, &mut next, S::Abandoned, by, (comment, reason), now)?
        }
        Command::Expire => {
            if !(from.is_open() || from == S::Pending) {
                return Err(illegal());
            }
            next.close(S::Expired, None, None, now);
            Activity::StatusChanged {
                by: None,
                from,
                to: S::Expired,
                comment: None,
            }
        }
        Command::Reopen { by, window_open } => {
            if !from.is_closed() {
                return Err(illegal());
            }
            if !window_open {
                return Err(LifecycleError::WindowClosed);
            }
            next.close_comment = None;
            next.close_reason = None;
            next.times.closed_at = None;
            next.assign_to(by, None, now);
            Activity::Reopened {
                by: Some(by),
                from,
                to: S::Assigned,
            }
        }
        Command::CustomerReturned { route } => {
            if !(from.is_closed() || from == S::Pending) {
                return Err(illegal());
            }
            next.close_comment = None;
            next.close_reason = None;
            next.times.closed_at = None;
            next.enter(route, now);
            Activity::Reopened {
                by: None,
                from,
                to: next.status,
            }
        }
        Command::SetPriority { by, priority } => {
            if !from.is_open() {
                return Err(illegal());
            }
            if priority == state.priority {
                return Err(LifecycleError::Unchanged);
            }
            next.priority = priority;
            Activity::PriorityChanged {
                by,
                from: state.priority,
                to: priority,
            }
        }
        Command::Snooze { by, until } => {
            if !matches!(from, S::Queued | S::Assigned) {
                return Err(illegal());
            }
            if until <= now {
                return Err(LifecycleError::SnoozeNotInFuture);
            }
            if state.snoozed_until == Some(until) {
                return Err(LifecycleError::Unchanged);
            }
            next.snoozed_until = Some(until);
            Activity::Snoozed { by, until }
        }
        Command::Wake { by, customer_wrote } => {
            if state.snoozed_until.is_none() {
                return Err(LifecycleError::NotSnoozed);
            }
            next.snoozed_until = None;
            Activity::Woke { by, customer_wrote }
        }
    };
    Ok((next, activity))
}

fn close_by_person(
    state: &LifecycleState,
    next: &mut LifecycleState,
    to: ConversationStatus,
    by: Option<UserId>,
    (comment, reason): (Option<String>, Option<String>),
    now: Millis,
) -> Result<Activity, LifecycleError> {
    let from = state.status;
    if !(from.is_open() || from == S::Pending) {
        return Err(LifecycleError::IllegalMove {
            status: from,
            command: if to == S::Resolved { "resolve" } else { "abandon" },
        });
    }
    next.close(to, comment.clone(), reason, now);
    Ok(Activity::StatusChanged { by, from, to, comment })
}

fn transfer_activity(
    before: &LifecycleState,
    after: &LifecycleState,
    by: Option<UserId>,
    comment: Option<String>,
) -> Activity {
    Activity::Transferred {
        by,
        from_user: before.assignee,
        from_team: before.team,
        to_user: after.assignee,
        to_team: after.team,
        comment,
    }
}

/// Who sent a message, for the message-driven timestamps of DESIGN.md §8.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MessageAuthor {
    Customer,
    /// A person on the business side (agent, supervisor, admin);
    /// `is_assignee` when it is the person the chat is assigned to, whose
    /// reply alone ends the wait since the assignment (DESIGN.md §8).
    Person {
        is_assignee: bool,
    },
    /// The bot or the system: counts as a message, never as a reply.
    Automated,
}

impl MessageAuthor {
    /// A person's message: `sender_id` is the writer's user id as stored
    /// on the message, `assignee` whom the chat is assigned to.
    pub fn person(assignee: Option<UserId>, sender_id: Option<&str>) -> Self {
        MessageAuthor::Person {
            is_assignee: assignee.is_some_and(|a| sender_id == Some(a.to_string().as_str())),
        }
    }
}

/// Update the message-driven timestamps. Private notes, comments and
/// activities never reach the customer, so callers do not pass them here.
pub fn record_message(times: &mut ConversationTimes, author: MessageAuthor, now: Millis) {
    times.last_message_at = Some(now);
    match author {
        MessageAuthor::Customer => {
            times.last_customer_message_at = Some(now);
            times.messages_in = times.messages_in.saturating_add(1);
            times.started_by.get_or_insert(Direction::In);
        }
        MessageAuthor::Person { is_assignee } => {
            times.started_by.get_or_insert(Direction::Out);
            times.messages_out = times.messages_out.saturating_add(1);
            times.first_reply_at.get_or_insert(now);
            if is_assignee && times.assigned_at.is_some() {
                times.first_reply_after_assignment_at.get_or_insert(now);
            }
        }
        MessageAuthor::Automated => {
            times.started_by.get_or_insert(Direction::Out);
            times.messages_out = times.messages_out.saturating_add(1);
        }
    }
}

/// The status an activity says the conversation moved to, if it moved.
pub fn activity_target(activity: &Activity) -> Option<ConversationStatus> {
    match activity {
        Activity::Opened { status, .. } => Some(*status),
        Activity::Assigned { .. } => Some(S::Assigned),
        Activity::Transferred { to_user, .. } => Some(if to_user.is_some() { S::Assigned } else { S::Queued }),
        Activity::Unassigned { .. } => Some(S::Queued),
        Activity::StatusChanged { to, .. } | Activity::Reopened { to, .. } => Some(*to),
        Activity::PriorityChanged { .. }
        | Activity::TagsChanged { .. }
        | Activity::Snoozed { .. }
        | Activity::Woke { .. }
        | Activity::Notice { .. } => None,
    }
}
