//! What batched ingest reads before it decides, in one round trip on
//! SQLite (each hop to SQLite's worker thread costs more than these small
//! statements do): stored messages the batch names, its senders' contacts,
//! their newest conversations with tags, and the routing facts of the teams
//! new chats go to.

use std::collections::{BTreeSet, HashMap};

use sea_query::{Cond, Expr, Query, SelectStatement};
use switchboard_core::routing::{TeamRouting, WorkspaceRouting};
use switchboard_core::{AssignmentRule, ChannelId, ContactId, Conversation, Direction, TeamId, WorkspaceId};

use crate::repo::contacts::{IdentityRow, identity_contacts, identity_selects};
use crate::repo::conversations::{
    CONVERSATION_COLUMNS, ConversationRow, ProviderIdRow, conversation_tag_names, provider_id_selects,
    provider_messages,
};
use crate::repo::org::{
    CandidateRow, TeamRoutingRow, candidates_of, team_candidates_select, team_routing_of, team_routing_select,
    workspace_routing_of, workspace_routing_select,
};
use crate::schema::*;
use crate::{Candidate, Exec, ProviderMessage, Result, channel_key_conds};

/// What to read for a batch.
#[derive(Debug, Default)]
pub struct IngestQuery<'a> {
    /// Inbound `(channel, provider id)` pairs the batch names: its own
    /// messages and those they quote.
    pub inbound: &'a [(ChannelId, &'a str)],
    /// `(channel, external id)` of the batch's senders.
    pub senders: &'a [(ChannelId, &'a str)],
    /// Teams new chats are routed to.
    pub teams: &'a [(WorkspaceId, TeamId)],
}

/// A team's routing facts as stored.
#[derive(Debug)]
pub struct TeamRoutingFacts {
    pub workspace: WorkspaceId,
    pub team: TeamId,
    /// `None`: no such team in that workspace.
    pub routing: Option<(AssignmentRule, TeamRouting)>,
    pub candidates: Vec<Candidate>,
}

/// What [`Exec::ingest_facts`] found.
#[derive(Debug, Default)]
pub struct IngestFacts {
    pub inbound: Vec<ProviderMessage>,
    /// `(channel, external id, contact)` of the senders known already.
    pub contacts: Vec<(ChannelId, String, ContactId)>,
    /// The newest conversation of each known sender on its channel, with tags.
    pub latest: Vec<Conversation>,
    pub teams: Vec<TeamRoutingFacts>,
    pub workspaces: Vec<(WorkspaceId, WorkspaceRouting)>,
}

impl Exec<'_> {
    /// Read everything in `query` with one multi-statement round trip
    /// ([`Exec::fetch_sets`]).
    pub async fn ingest_facts(&mut self, query: &IngestQuery<'_>) -> Result<IngestFacts> {
        let inbound = provider_id_selects(Direction::In, query.inbound);
        let identities = identity_selects(query.senders);
        let conds = channel_key_conds(
            (ContactIdentities::Table, ContactIdentities::ChannelId),
            (ContactIdentities::Table, ContactIdentities::ExternalId),
            query.senders,
        );
        let workspaces: BTreeSet<WorkspaceId> = query.teams.iter().map(|(ws, _)| *ws).collect();
        let mut stmts: Vec<SelectStatement> = Vec::new();
        stmts.extend(inbound.iter().cloned());
        stmts.extend(identities.iter().cloned());
        for cond in &conds {
            stmts.push(newest_conversations(cond.clone()));
            stmts.push(newest_conversation_tags(cond.clone()));
        }
        for (ws, team) in query.teams {
            stmts.push(team_routing_select(*ws, *team));
            stmts.push(team_candidates_select(*ws, *team));
        }
        stmts.extend(workspaces.iter().map(|ws| workspace_routing_select(*ws)));

        let sets = self.fetch_sets(&stmts).await?;
        let mut sets = sets.iter();
        let mut next = || {
            sets.next()
                .ok_or_else(|| crate::StoreError::Corrupt("a statement gave no result".into()))
        };
        let mut facts = IngestFacts::default();
        for _ in &inbound {
            let rows: Vec<ProviderIdRow> = next()?.decode()?;
            facts.inbound.extend(provider_messages(Direction::In, rows)?);
        }
        for _ in &identities {
            let rows: Vec<IdentityRow> = next()?.decode()?;
            facts.contacts.extend(identity_contacts(rows)?);
        }
        for _ in &conds {
            let rows: Vec<ConversationRow> = next()?.decode()?;
            let tag_rows: Vec<(String, String)> = next()?.decode()?;
            let mut tags: HashMap<String, Vec<String>> = HashMap::new();
            for (conversation, name) in tag_rows {
                tags.entry(conversation).or_default().push(name);
            }
            for row in rows {
                let tags = tags.remove(row.id()).unwrap_or_default();
                facts.latest.push(row.into_domain(tags)?);
            }
        }
        for (ws, team) in query.teams {
            let routing: Vec<TeamRoutingRow> = next()?.decode()?;
            let candidates: Vec<CandidateRow> = next()?.decode()?;
            facts.teams.push(TeamRoutingFacts {
                workspace: *ws,
                team: *team,
                routing: routing.into_iter().next().map(team_routing_of).transpose()?,
                candidates: candidates_of(candidates)?,
            });
        }
        for ws in workspaces {
            let row: Vec<(String,)> = next()?.decode()?;
            facts
                .workspaces
                .push((ws, workspace_routing_of(row.into_iter().next())?));
        }
        Ok(facts)
    }
}

/// The newest conversation id of each `(contact, channel)` whose identity
/// matches `identities`; `conversations_contact (contact_id, channel_id, id)`
/// answers it from the index.
fn newest_ids(identities: Cond) -> SelectStatement {
    Query::select()
        .expr(Expr::col((Conversations::Table, Conversations::Id)).max())
        .from(Conversations::Table)
        .inner_join(
            ContactIdentities::Table,
            Cond::all()
                .add(
                    Expr::col((ContactIdentities::Table, ContactIdentities::ContactId))
                        .equals((Conversations::Table, Conversations::ContactId)),
                )
                .add(
                    Expr::col((ContactIdentities::Table, ContactIdentities::ChannelId))
                        .equals((Conversations::Table, Conversations::ChannelId)),
                ),
        )
        .cond_where(identities)
        .group_by_columns([
            (Conversations::Table, Conversations::ContactId),
            (Conversations::Table, Conversations::ChannelId),
        ])
        .to_owned()
}

fn newest_conversations(identities: Cond) -> SelectStatement {
    Query::select()
        .columns(CONVERSATION_COLUMNS)
        .from(Conversations::Table)
        .and_where(Expr::col(Conversations::Id).in_subquery(newest_ids(identities)))
        .to_owned()
}

/// `(conversation id, tag name)` of those conversations, by name.
fn newest_conversation_tags(identities: Cond) -> SelectStatement {
    conversation_tag_names(
        Expr::col((ConversationTags::Table, ConversationTags::ConversationId)).in_subquery(newest_ids(identities)),
    )
}
