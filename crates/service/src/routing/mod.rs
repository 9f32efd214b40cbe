//! Routing (DESIGN.md §5): which agent of a team gets a chat. Only `online`
//! members under their capacity are eligible. Runs inside the write
//! transaction that changes the conversation, so two chats cannot both take
//! an agent's last free slot.

mod timers;

pub(crate) use timers::{Sweep, WAKE_SNOOZED, WakeSnoozed};

use std::collections::hash_map::Entry;
use std::collections::{BTreeMap, HashMap};

use switchboard_core::lifecycle::Routed;
use switchboard_core::routing::{EffectiveRouting, WorkspaceRouting};
use switchboard_core::{AssignmentRule, Availability, Millis, TeamId, UserId, WorkspaceId};
use switchboard_store::{Candidate, Exec, TeamRoutingFacts};

use crate::{ServiceError, ServiceResult};

/// Whether a member can take one more chat: online and under capacity.
pub(crate) fn eligible(c: &Candidate) -> bool {
    c.availability == Availability::Online && c.open_count < c.capacity
}

/// Why a chat cannot be routed to a team now (nobody eligible, or closed).
pub(crate) fn unavailable(team_name: &str, open_now: bool) -> String {
    match open_now {
        true => format!("nobody in team {team_name} is online with free capacity"),
        false => format!("team {team_name} is outside its business hours"),
    }
}

/// Pick an eligible member by the team's rule.
pub(crate) fn pick(rule: AssignmentRule, candidates: &[Candidate]) -> Option<UserId> {
    let eligible = candidates.iter().filter(|c| eligible(c));
    // Never assigned sorts first (None < Some), then the longest idle; chats
    // that arrive in the same millisecond go to the one with fewer open.
    let idle_key = |c: &&Candidate| (c.last_assigned_at, c.open_count, c.user_id);
    match rule {
        AssignmentRule::Manual => None,
        AssignmentRule::RoundRobin => eligible.min_by_key(idle_key).map(|c| c.user_id),
        AssignmentRule::LeastBusy => eligible
            .min_by_key(|c| (c.open_count, c.last_assigned_at, c.user_id))
            .map(|c| c.user_id),
    }
}

/// Routes many chats in one transaction (batched ingest). Each team's rule
/// and members are read once; chats routed earlier count against an agent's
/// capacity and round-robin turn although nothing is written yet, so the
/// batch picks exactly what routing the chats one by one would.
pub(crate) struct Router {
    now: Millis,
    teams: HashMap<(WorkspaceId, TeamId), TeamFacts>,
    workspaces: HashMap<WorkspaceId, WorkspaceRouting>,
    /// Chats routed to each agent so far. Ordered, so the bookkeeping
    /// writes lock membership rows in one order (no deadlock on PostgreSQL).
    routed: BTreeMap<(WorkspaceId, UserId), i64>,
}

pub(crate) struct TeamFacts {
    pub(crate) rule: AssignmentRule,
    pub(crate) routing: EffectiveRouting,
    /// As stored before this router picked anyone; empty for manual teams.
    candidates: Vec<Candidate>,
}

impl Router {
    pub(crate) fn new(now: Millis) -> Router {
        Router {
            now,
            teams: HashMap::new(),
            workspaces: HashMap::new(),
            routed: BTreeMap::new(),
        }
    }

    /// Take routing facts read ahead ([`Exec::ingest_facts`]), so routing to
    /// these teams reads nothing more. A team not found is left to be read
    /// (and reported) on use.
    pub(crate) fn preload(&mut self, workspaces: Vec<(WorkspaceId, WorkspaceRouting)>, teams: Vec<TeamRoutingFacts>) {
        self.workspaces.extend(workspaces);
        for facts in teams {
            let (Some((rule, team_routing)), Some(workspace)) = (facts.routing, self.workspaces.get(&facts.workspace))
            else {
                continue;
            };
            let candidates = match rule {
                AssignmentRule::Manual => Vec::new(),
                _ => facts.candidates,
            };
            self.teams.insert(
                (facts.workspace, facts.team),
                TeamFacts {
                    rule,
                    routing: EffectiveRouting::of(&team_routing, workspace),
                    candidates,
                },
            );
        }
    }

    /// Where a new or returning chat goes. The caller must apply the result
    /// to a chat that was not `assigned` before (new, pending or closed): an
    /// `Assigned` answer counts as one more open chat of that agent. Outside
    /// the team's business hours, or with nobody eligible, it is a ticket.
    pub(crate) async fn route(
        &mut self,
        exec: &mut Exec<'_>,
        ws: WorkspaceId,
        team: Option<TeamId>,
    ) -> ServiceResult<Routed> {
        let Some(team_id) = team else {
            return Ok(Routed::Queued {
                team: None,
                ticket: false,
            });
        };
        self.load_team(exec, ws, team_id).await?;
        let facts = &self.teams[&(ws, team_id)];
        if !facts.routing.is_open(self.now) {
            return Ok(Routed::Queued {
                team: Some(team_id),
                ticket: true,
            });
        }
        if facts.rule == AssignmentRule::Manual {
            return Ok(Routed::Queued {
                team: Some(team_id),
                ticket: false,
            });
        }
        let candidates: Vec<Candidate> = facts.candidates.iter().map(|c| self.as_now(ws, c)).collect();
        match pick(facts.rule, &candidates) {
            Some(agent) => {
                *self.routed.entry((ws, agent)).or_default() += 1;
                Ok(Routed::Assigned {
                    agent,
                    team: Some(team_id),
                })
            }
            None => Ok(Routed::Queued {
                team: Some(team_id),
                ticket: true,
            }),
        }
    }

    /// Where a chat goes that someone is waiting for (the agent who sent a
    /// template to re-engage the customer): to them when they can take it
    /// now, else as [`route`](Self::route) decides.
    pub(crate) async fn route_preferring(
        &mut self,
        exec: &mut Exec<'_>,
        ws: WorkspaceId,
        team: Option<TeamId>,
        preferred: UserId,
    ) -> ServiceResult<Routed> {
        if let Some(team_id) = team {
            self.load_team(exec, ws, team_id).await?;
            let facts = &self.teams[&(ws, team_id)];
            let can_take = facts
                .candidates
                .iter()
                .find(|c| c.user_id == preferred)
                .is_some_and(|c| eligible(&self.as_now(ws, c)));
            if can_take {
                *self.routed.entry((ws, preferred)).or_default() += 1;
                return Ok(Routed::Assigned {
                    agent: preferred,
                    team: Some(team_id),
                });
            }
        }
        self.route(exec, ws, team).await
    }

    /// The team's rule and effective routing settings (its own over the workspace's).
    pub(crate) async fn team(
        &mut self,
        exec: &mut Exec<'_>,
        ws: WorkspaceId,
        team_id: TeamId,
    ) -> ServiceResult<&TeamFacts> {
        self.load_team(exec, ws, team_id).await?;
        Ok(&self.teams[&(ws, team_id)])
    }

    /// The auto-reply a new ticket of `team` gets: the team's, else the workspace's.
    pub(crate) async fn ticket_auto_reply(
        &mut self,
        exec: &mut Exec<'_>,
        ws: WorkspaceId,
        team: Option<TeamId>,
    ) -> ServiceResult<Option<String>> {
        Ok(match team {
            Some(team) => self.team(exec, ws, team).await?.routing.ticket_auto_reply.clone(),
            None => self.workspace(exec, ws).await?.ticket_auto_reply.clone(),
        })
    }

    /// The workspace's routing settings, read on first use.
    pub(crate) async fn workspace(&mut self, exec: &mut Exec<'_>, ws: WorkspaceId) -> ServiceResult<&WorkspaceRouting> {
        if let Entry::Vacant(slot) = self.workspaces.entry(ws) {
            slot.insert(exec.workspace_routing(ws).await?);
        }
        Ok(&self.workspaces[&ws])
    }

    /// A team's rule, settings and members, read on first use.
    async fn load_team(&mut self, exec: &mut Exec<'_>, ws: WorkspaceId, team_id: TeamId) -> ServiceResult<()> {
        if self.teams.contains_key(&(ws, team_id)) {
            return Ok(());
        }
        let (rule, team_routing) = exec
            .team_routing(ws, team_id)
            .await?
            .ok_or(ServiceError::NotFound("team"))?;
        let routing = EffectiveRouting::of(&team_routing, self.workspace(exec, ws).await?);
        let candidates = match rule {
            AssignmentRule::Manual => Vec::new(),
            _ => exec.team_candidates(ws, team_id).await?,
        };
        self.teams.insert(
            (ws, team_id),
            TeamFacts {
                rule,
                routing,
                candidates,
            },
        );
        Ok(())
    }

    /// A candidate as stored, plus what this router already gave them.
    fn as_now(&self, ws: WorkspaceId, c: &Candidate) -> Candidate {
        let mut c = c.clone();
        if let Some(n) = self.routed.get(&(ws, c.user_id)) {
            c.open_count += n;
            c.last_assigned_at = Some(self.now);
        }
        c
    }

    /// Round-robin bookkeeping for every agent picked: when they last got a
    /// chat. Run once routing is done, inside the same transaction.
    pub(crate) async fn mark_assigned(&self, exec: &mut Exec<'_>) -> ServiceResult<()> {
        for (ws, agent) in self.routed.keys() {
            exec.mark_assigned(*ws, *agent, self.now).await?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use uuid::Uuid;

    fn c(n: u128, availability: Availability, open: i64, cap: i64, last: Option<i64>) -> Candidate {
        Candidate {
            user_id: UserId(Uuid::from_u128(n)),
            availability,
            capacity: cap,
            last_assigned_at: last.map(Millis),
            open_count: open,
        }
    }

    #[test]
    fn rules() {
        let cs = [
            c(1, Availability::Online, 2, 10, Some(50)),
            c(2, Availability::Online, 0, 10, Some(100)),
            c(3, Availability::Offline, 0, 10, None),
            c(4, Availability::Online, 5, 5, None),
        ];
        assert_eq!(pick(AssignmentRule::RoundRobin, &cs), Some(UserId(Uuid::from_u128(1))));
        assert_eq!(pick(AssignmentRule::LeastBusy, &cs), Some(UserId(Uuid::from_u128(2))));
        assert_eq!(pick(AssignmentRule::Manual, &cs), None);
        assert_eq!(pick(AssignmentRule::RoundRobin, &cs[2..]), None);
    }
}

/// A team as a transfer target: who in it can take a chat now.
#[derive(Debug, Clone, serde::Serialize, schemars::JsonSchema)]
pub struct TransferTeam {
    pub team_id: TeamId,
    pub name: String,
    pub assignment_rule: AssignmentRule,
    /// Within the team's business hours now.
    pub open_now: bool,
    /// A transfer to the team alone would succeed (its rule picks the agent;
    /// a manual team's queue always takes it while open).
    pub available: bool,
    /// Why it cannot be chosen, when it cannot.
    pub reason: Option<String>,
    /// Members online with free capacity, least busy first.
    pub agents: Vec<TransferAgent>,
}

#[derive(Debug, Clone, serde::Serialize, schemars::JsonSchema)]
pub struct TransferAgent {
    pub user_id: UserId,
    pub name: String,
    pub open_chats: i64,
    pub capacity: i64,
}

impl crate::Services {
    /// Where a chat can be transferred now: every team with its eligible
    /// agents (online, under capacity), and why a team cannot be chosen.
    pub async fn transfer_targets(
        &self,
        actor: &switchboard_core::permissions::Actor,
    ) -> ServiceResult<Vec<TransferTeam>> {
        let ws = actor.workspace_id;
        let now = self.now();
        let mut db = self.store().reader();
        let names: HashMap<UserId, String> = db.members(ws).await?.into_iter().map(|m| (m.id, m.name)).collect();
        let workspace = db.workspace_routing(ws).await?;
        let mut targets = Vec::new();
        for team in db.teams(ws).await? {
            let routing = EffectiveRouting::of(&team.routing, &workspace);
            let open_now = routing.is_open(now);
            let mut agents: Vec<TransferAgent> = db
                .team_candidates(ws, team.id)
                .await?
                .into_iter()
                .filter(eligible)
                .map(|c| TransferAgent {
                    user_id: c.user_id,
                    name: names.get(&c.user_id).cloned().unwrap_or_default(),
                    open_chats: c.open_count,
                    capacity: c.capacity,
                })
                .collect();
            agents.sort_by(|a, b| (a.open_chats, &a.name).cmp(&(b.open_chats, &b.name)));
            // A manual team takes transfers into its queue even with nobody
            // free; a team whose rule picks needs someone eligible.
            let needs_agent = team.assignment_rule != AssignmentRule::Manual;
            let reason = (!open_now || (needs_agent && agents.is_empty())).then(|| unavailable(&team.name, open_now));
            targets.push(TransferTeam {
                team_id: team.id,
                name: team.name,
                assignment_rule: team.assignment_rule,
                open_now,
                available: reason.is_none(),
                reason,
                agents,
            });
        }
        Ok(targets)
    }
}
