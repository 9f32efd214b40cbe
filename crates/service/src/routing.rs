//! Routing (DESIGN.md §5): which agent of a team gets a chat. Only `online`
//! members under their capacity are eligible. Runs inside the write
//! transaction that changes the conversation, so two chats cannot both take
//! an agent's last free slot.

use switchboard_core::lifecycle::Routed;
use switchboard_core::{AssignmentRule, Availability, Millis, TeamId, UserId, WorkspaceId};
use switchboard_store::{Candidate, Exec};

use crate::{ServiceError, ServiceResult};

/// Pick an eligible member by the team's rule.
pub(crate) fn pick(rule: AssignmentRule, candidates: &[Candidate]) -> Option<UserId> {
    let eligible = candidates
        .iter()
        .filter(|c| c.availability == Availability::Online && c.open_count < c.capacity);
    // Never assigned sorts first (None < Some), then the longest idle.
    let idle_key = |c: &&Candidate| (c.last_assigned_at, c.user_id);
    match rule {
        AssignmentRule::Manual => None,
        AssignmentRule::RoundRobin => eligible.min_by_key(idle_key).map(|c| c.user_id),
        AssignmentRule::LeastBusy => eligible
            .min_by_key(|c| (c.open_count, c.last_assigned_at, c.user_id))
            .map(|c| c.user_id),
    }
}

/// Route a chat to `team`: an agent by the team's rule, else the team's
/// queue (a ticket when nobody could take it).
pub(crate) async fn route(
    exec: &mut Exec<'_>,
    ws: WorkspaceId,
    team: Option<TeamId>,
    now: Millis,
) -> ServiceResult<Routed> {
    let Some(team_id) = team else {
        return Ok(Routed::Queued {
            team: None,
            ticket: false,
        });
    };
    let team = exec.team(ws, team_id).await?.ok_or(ServiceError::NotFound("team"))?;
    if team.assignment_rule == AssignmentRule::Manual {
        return Ok(Routed::Queued {
            team: Some(team_id),
            ticket: false,
        });
    }
    let candidates = exec.team_candidates(ws, team_id).await?;
    match pick(team.assignment_rule, &candidates) {
        Some(agent) => {
            exec.mark_assigned(ws, agent, now).await?;
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
