//! The console's tiles: what is happening now and today.

use schemars::JsonSchema;
use serde::Serialize;
use switchboard_core::permissions::Actor;
use switchboard_core::{Availability, ConversationId, ConversationStatus, Millis, Section, TeamId};

use crate::authz::require_reports;
use crate::{ConversationQuery, DateField, Period, ServiceResult, Services};
use switchboard_store::ConversationFilter;

/// The team given the most chats today.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct TeamLoad {
    pub team_id: TeamId,
    pub name: String,
    /// Chats assigned to its people since local midnight.
    pub conversations: u64,
}

/// Members by availability.
#[derive(Debug, Clone, Copy, Default, Serialize, JsonSchema)]
pub struct AgentsNow {
    pub online: u64,
    pub busy: u64,
    pub offline: u64,
}

/// The chat waiting longest in a queue.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct Waiting {
    pub conversation_id: ConversationId,
    pub customer: String,
    pub queued_at: Millis,
    pub waited_seconds: i64,
}

/// The tiles of Admin › Conversations. Each count is the number of rows
/// the table shows for [`ConsoleTiles::queries`]'s filter.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct ConsoleTiles {
    /// In a queue now (`status=queued`).
    pub unassigned: u64,
    /// With an agent now (`status=assigned`).
    pub active: u64,
    /// Closed since local midnight (`section=archived&date_field=closed&period=today`).
    pub completed_today: u64,
    pub busiest_team_today: Option<TeamLoad>,
    pub agents: AgentsNow,
    pub longest_waiting: Option<Waiting>,
    /// Local midnight in the workspace's time zone: where "today" starts.
    pub day_started_at: Millis,
}

impl ConsoleTiles {
    /// The table filters behind the three counting tiles, in their order.
    pub fn queries() -> [ConversationQuery; 3] {
        [
            ConversationQuery {
                status: Some(ConversationStatus::Queued),
                ..Default::default()
            },
            ConversationQuery {
                status: Some(ConversationStatus::Assigned),
                ..Default::default()
            },
            ConversationQuery {
                section: Some(Section::Archived),
                date_field: Some(DateField::Closed),
                period: Some(Period::Today),
                ..Default::default()
            },
        ]
    }
}

impl Services {
    pub async fn console_tiles(&self, actor: &Actor) -> ServiceResult<ConsoleTiles> {
        require_reports(actor)?;
        // Where today starts decides the "today" figures: read first.
        let hours = self.local_hours(actor).await?;
        let day_started_at = hours.start_of_local_day(self.now());
        let filters = ConsoleTiles::queries()
            .iter()
            .map(|q| self.conversation_filter_in(actor, q, &hours))
            .collect::<ServiceResult<Vec<_>>>()?;
        let mut oldest = filters[0].clone();
        oldest.limit = 1;
        // The rest side by side on the pool, the three counts in one read.
        let counts = async {
            Ok(self
                .store()
                .reader()
                .count_conversations_each(actor.workspace_id, &filters)
                .await?)
        };
        let (counts, members, busiest_team_today, longest_waiting) = futures::try_join!(
            counts,
            self.members(actor),
            self.busiest_team(actor, day_started_at),
            self.longest_waiting(actor, &oldest),
        )?;
        let [unassigned, active, completed_today] = [0, 1, 2].map(|i| counts.get(i).copied().unwrap_or(0));
        let mut agents = AgentsNow::default();
        for m in members {
            if !actor.is_admin() && !m.team_ids.iter().any(|t| actor.team_ids.contains(t)) {
                continue;
            }
            match m.availability {
                Availability::Online => agents.online += 1,
                Availability::Busy => agents.busy += 1,
                Availability::Offline => agents.offline += 1,
            }
        }
        Ok(ConsoleTiles {
            unassigned,
            active,
            completed_today,
            busiest_team_today,
            agents,
            longest_waiting,
            day_started_at,
        })
    }

    /// The team that took the most chats since `since`, with its name.
    async fn busiest_team(&self, actor: &Actor, since: Millis) -> ServiceResult<Option<TeamLoad>> {
        let busiest = self
            .store()
            .reader()
            .busiest_team_since(actor.workspace_id, &actor.visibility(), since)
            .await?;
        Ok(busiest.map(|(team_id, name, conversations)| TeamLoad {
            team_id,
            name: name.unwrap_or_else(|| "a deleted team".into()),
            conversations,
        }))
    }

    /// The chat queued longest among those `oldest` selects, and who waits.
    async fn longest_waiting(&self, actor: &Actor, oldest: &ConversationFilter) -> ServiceResult<Option<Waiting>> {
        let longest = self.store().reader().longest_queued(actor.workspace_id, oldest).await?;
        Ok(longest.map(|(conversation_id, queued_at, customer)| Waiting {
            conversation_id,
            customer: crate::conversations::customer_label(&customer),
            queued_at,
            waited_seconds: self.now().since(queued_at).div_euclid(1000),
        }))
    }
}
