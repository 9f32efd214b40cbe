//! Everything that happens because time passed or capacity freed up
//! (DESIGN.md §4–§5): queued chats go to agents who can take them, idle
//! chats expire, an offline agent's chats return to the queue when the
//! team asks for it, snoozed chats wake. All of it runs from the durable
//! job table, so a timer due while the server was down fires once it is
//! back, once.

use serde::Deserialize;
use switchboard_core::lifecycle::{Command, Routed};
use switchboard_core::{
    AssignmentRule, ConversationId, ConversationStatus, Message, Millis, TeamId, UserId, WorkspaceId,
};
use switchboard_store::JobRow;

use crate::jobs::{BoxFuture, Job, Lane, Outcome};
use crate::kernel::transition;
use crate::routing::Router;
use crate::{ServiceError, ServiceResult, Services};

/// The periodic sweep: expiry, requeue of offline agents' chats, queues
/// (business hours opening). It schedules its own next run.
pub(crate) const SWEEP: &str = "routing_sweep";
/// Wake one snoozed conversation.
pub(crate) const WAKE_SNOOZED: &str = "wake_snoozed";

/// Rows changed per transaction by the sweep, so no transaction grows large.
const SWEEP_CHUNK: u64 = 200;

#[derive(Debug, Deserialize)]
pub(crate) struct WakePayload {
    workspace_id: WorkspaceId,
    conversation_id: ConversationId,
    until: Millis,
}

/// Routing's periodic sweep: queues, expiry, offline agents' chats.
pub(crate) struct Sweep;

impl Job for Sweep {
    const KIND: &'static str = SWEEP;
    const LANE: Lane = Lane::Timers;
    type Payload = serde_json::Value;

    fn run<'a>(services: &'a Services, _: &'a JobRow, _: serde_json::Value) -> BoxFuture<'a, Outcome> {
        Box::pin(services.run_sweep())
    }

    fn schedule_first<'a>(services: &'a Services) -> Option<BoxFuture<'a, ServiceResult<()>>> {
        Some(Box::pin(services.ensure_sweep(services.now())))
    }
}

/// A snoozed conversation's time came.
pub(crate) struct WakeSnoozed;

impl Job for WakeSnoozed {
    const KIND: &'static str = WAKE_SNOOZED;
    const LANE: Lane = Lane::Timers;
    type Payload = WakePayload;

    fn run<'a>(services: &'a Services, job: &'a JobRow, _: WakePayload) -> BoxFuture<'a, Outcome> {
        Box::pin(services.wake_snoozed(job))
    }
}

impl Services {
    /// Make sure the sweep timer exists (called when the worker starts).
    pub(crate) async fn ensure_sweep(&self, at: Millis) -> ServiceResult<()> {
        let now = self.now();
        let mut tx = self.store().begin().await?;
        tx.exec().ensure_job(SWEEP, &serde_json::json!({}), at, 3, now).await?;
        tx.commit().await?;
        Ok(())
    }

    /// One sweep over every workspace. The next one is scheduled first, so a
    /// failing workspace never stops the timers of the others.
    pub(crate) async fn run_sweep(&self) -> Outcome {
        let next = self.now().plus_ms(self.config().sweep_interval.as_millis() as i64);
        if let Err(e) = self.ensure_sweep(next).await {
            return Outcome::Retry(e.to_string());
        }
        let workspaces = match self.store().reader().workspace_ids().await {
            Ok(ids) => ids,
            Err(e) => return Outcome::Retry(e.to_string()),
        };
        for ws in workspaces {
            if let Err(e) = self.sweep_workspace(ws).await {
                tracing::warn!(workspace = %ws, error = %e, "routing sweep failed for a workspace");
            }
        }
        Outcome::Done
    }

    async fn sweep_workspace(&self, ws: WorkspaceId) -> ServiceResult<()> {
        self.expire_idle(ws).await?;
        self.requeue_offline(ws).await?;
        let teams = self.store().reader().teams_with_queue(ws).await?;
        for team in teams {
            self.drain_team(ws, team).await?;
        }
        Ok(())
    }

    /// Expire open chats nobody acted on for the workspace's expiry period.
    async fn expire_idle(&self, ws: WorkspaceId) -> ServiceResult<()> {
        loop {
            let now = self.now();
            let mut tx = self.store().begin().await?;
            let expiry = tx.exec().workspace_routing(ws).await?.expiry_ms();
            let idle = tx
                .exec()
                .idle_conversations(ws, now.plus_ms(-expiry), now, SWEEP_CHUNK)
                .await?;
            let mut changed = Vec::with_capacity(idle.len());
            for mut c in idle {
                let activity = transition(&mut tx.exec(), &mut c, Command::Expire, None, now).await?;
                changed.push((c, activity));
            }
            let freed = self.publish_changes(&mut tx, &changed).await?;
            tx.commit().await?;
            let full = changed.len() as u64 == SWEEP_CHUNK;
            self.drain_for_members(ws, &freed).await;
            if !full {
                return Ok(());
            }
        }
    }

    /// Teams that ask for it get the chats of members offline for longer
    /// than their grace period back in the queue (routed again by the drain).
    async fn requeue_offline(&self, ws: WorkspaceId) -> ServiceResult<()> {
        let teams = self.store().reader().teams(ws).await?;
        for team in teams {
            let Some(minutes) = team.routing.requeue_offline_after_minutes else {
                continue;
            };
            loop {
                let now = self.now();
                let mut tx = self.store().begin().await?;
                tx.exec().lock_routing(ws).await?;
                let offline_since = now.plus_ms(-(i64::from(minutes) * 60_000));
                let chats = tx
                    .exec()
                    .chats_of_offline_members(ws, team.id, offline_since, SWEEP_CHUNK)
                    .await?;
                let mut changed = Vec::with_capacity(chats.len());
                for mut c in chats {
                    let activity =
                        transition(&mut tx.exec(), &mut c, Command::Unassign { by: None }, None, now).await?;
                    changed.push((c, activity));
                }
                self.publish_changes(&mut tx, &changed).await?;
                tx.commit().await?;
                let full = changed.len() as u64 == SWEEP_CHUNK;
                if !full {
                    break;
                }
            }
        }
        Ok(())
    }

    /// Give a team's queued chats, in the team's queue order, to members
    /// who can take them: online, under capacity, within business hours.
    /// Returns how many were assigned.
    pub(crate) async fn drain_team(&self, ws: WorkspaceId, team: TeamId) -> ServiceResult<usize> {
        let mut assigned = 0;
        loop {
            let now = self.now();
            let mut tx = self.store().begin().await?;
            tx.exec().lock_routing(ws).await?;
            let mut router = Router::new(now);
            let (order, drains) = match router.team(&mut tx.exec(), ws, team).await {
                Ok(t) => (
                    t.routing.queue_order,
                    t.rule != AssignmentRule::Manual && t.routing.is_open(now),
                ),
                Err(ServiceError::NotFound(_)) => return Ok(assigned), // deleted meanwhile
                Err(e) => return Err(e),
            };
            if !drains {
                return Ok(assigned);
            }
            let queued = tx.exec().queued_conversations(ws, team, order, SWEEP_CHUNK).await?;
            let mut changed = Vec::new();
            let mut notifications = crate::notifications::Pending::default();
            for mut c in queued {
                let Routed::Assigned { agent, team } = router.route(&mut tx.exec(), ws, Some(team)).await? else {
                    break; // nobody left who can take one
                };
                let command = Command::Assign {
                    by: None,
                    to: agent,
                    team,
                };
                let activity = transition(&mut tx.exec(), &mut c, command, None, now).await?;
                notifications
                    .assignment(&mut tx.exec(), &c, &activity, None, None)
                    .await?;
                changed.push((c, activity));
            }
            router.mark_assigned(&mut tx.exec()).await?;
            self.publish_changes(&mut tx, &changed).await?;
            self.emit_notifications(&mut tx, ws, notifications).await?;
            tx.commit().await?;
            let took = changed.len();
            assigned += took;
            // A full chunk taken: more may wait.
            if (took as u64) < SWEEP_CHUNK {
                return Ok(assigned);
            }
        }
    }

    /// Drain these teams' queues after a change that may let chats through.
    /// Best effort, after the change is committed: the periodic sweep
    /// catches what fails here.
    pub(crate) async fn drain_teams(&self, ws: WorkspaceId, teams: &[TeamId]) {
        for team in teams {
            if let Err(e) = self.drain_team(ws, *team).await {
                tracing::warn!(team = %team, error = %e, "could not route the team's queued chats");
            }
        }
    }

    /// Capacity or availability of these members changed: drain the queues
    /// of their teams.
    pub(crate) async fn drain_for_members(&self, ws: WorkspaceId, users: &[UserId]) {
        let mut teams: Vec<TeamId> = Vec::new();
        for user in users {
            match self.store().reader().member(ws, *user).await {
                Ok(Some(member)) => teams.extend(member.team_ids),
                Ok(None) => {}
                Err(e) => tracing::warn!(error = %e, "could not read a member's teams to route queued chats"),
            }
        }
        teams.sort();
        teams.dedup();
        self.drain_teams(ws, &teams).await;
    }

    /// Publish what a timer changed, in its transaction; returns the agents
    /// who lost a chat (their capacity freed up).
    async fn publish_changes(
        &self,
        tx: &mut switchboard_store::Tx<'_>,
        changed: &[(switchboard_core::Conversation, Message)],
    ) -> ServiceResult<Vec<UserId>> {
        let mut freed = Vec::new();
        for (c, activity) in changed {
            if c.status != ConversationStatus::Assigned
                && let Some(switchboard_core::Activity::StatusChanged { from, .. }) = &activity.activity
                && *from == ConversationStatus::Assigned
            {
                freed.extend(c.assignee_id); // a closed chat keeps its last assignee
            }
            self.emit_change(tx, c, std::slice::from_ref(activity)).await?;
        }
        freed.sort();
        freed.dedup();
        Ok(freed)
    }

    pub(crate) async fn wake_snoozed(&self, job: &JobRow) -> Outcome {
        let payload: WakePayload = match serde_json::from_str(&job.payload) {
            Ok(p) => p,
            Err(e) => return Outcome::Fail(format!("bad payload: {e}")),
        };
        match self.try_wake(payload).await {
            Ok(()) => Outcome::Done,
            Err(ServiceError::NotFound(_)) => Outcome::Done,
            Err(e) => Outcome::Retry(e.to_string()),
        }
    }

    async fn try_wake(&self, p: WakePayload) -> ServiceResult<()> {
        let now = self.now();
        let mut tx = self.store().begin().await?;
        let mut c = tx
            .exec()
            .conversation_for_update(p.workspace_id, p.conversation_id)
            .await?
            .ok_or(ServiceError::NotFound("conversation"))?;
        // Woken earlier, or snoozed again to another time: not this timer's job.
        if c.snoozed_until != Some(p.until) {
            return Ok(());
        }
        let command = Command::Wake {
            by: None,
            customer_wrote: false,
        };
        let activity = transition(&mut tx.exec(), &mut c, command, None, now).await?;
        self.emit_change(&mut tx, &c, &[activity]).await?;
        tx.commit().await?;
        Ok(())
    }
}
