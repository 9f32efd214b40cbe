//! The supervisor view: live chats grouped by agent in near real time, and
//! one agent's day at a glance.

use askama::Template;
use axum::extract::{Query, State};
use axum::response::Response;
use serde::Deserialize;
use switchboard_core::{Availability, ConversationStatus, Section, UserId};
use switchboard_service::{ConversationQuery, DateField, Period};

use super::format::{clock, duration};
use super::inbox::{InboxParams, ListView, list_view};
use super::{Layout, PageRejection, Viewer, render};
use crate::AppState;

#[derive(Debug, Default, Deserialize)]
pub struct SupervisorParams {
    #[serde(default)]
    agent: String,
    /// Rows shown now (a live refresh keeps them).
    #[serde(default)]
    shown: String,
    /// `live` (default), `closed` or `tickets`.
    #[serde(default)]
    tab: String,
}

/// The board's tabs: (value, label, the inbox section and view it lists).
const TABS: [(&str, &str, &str, &str); 3] = [
    ("live", "Live chats", "assigned", ""),
    ("closed", "Closed chats", "archived", ""),
    ("tickets", "Tickets", "tickets", "assigned"),
];

pub struct TabLink {
    pub label: &'static str,
    pub href: String,
    pub current: bool,
}

pub struct AgentLine {
    pub id: String,
    pub name: String,
    pub availability: &'static str,
    pub open: u64,
    pub selected: bool,
}

pub struct Summary {
    pub name: String,
    pub open: u64,
    pub closed_today: u64,
    pub waiting: u64,
    /// Their own response after assignment, median, for today's chats.
    pub median_response: String,
    pub last_activity: String,
}

pub struct Board {
    pub ws: String,
    pub tab: &'static str,
    pub tab_label: &'static str,
    pub tabs: Vec<TabLink>,
    pub agents: Vec<AgentLine>,
    pub unassigned: u64,
    pub summary: Option<Summary>,
}

fn availability(a: Availability) -> &'static str {
    match a {
        Availability::Online => "online",
        Availability::Busy => "busy",
        Availability::Offline => "offline",
    }
}

async fn board(
    state: &AppState,
    viewer: &Viewer,
    params: &SupervisorParams,
) -> Result<(Board, ListView), PageRejection> {
    let svc = &state.services;
    let actor = &viewer.actor;
    let fail = |_| PageRejection::Failed;
    let (tab, tab_label, section, view) = TABS.into_iter().find(|(t, ..)| *t == params.tab).unwrap_or(TABS[0]);
    let selected: Option<UserId> = params.agent.parse().ok();
    // The list and the counts beside it read one query.
    let list_params = InboxParams {
        section: section.into(),
        view: view.into(),
        agent: params.agent.clone(),
        shown: params.shown.clone(),
        group: if selected.is_some() {
            String::new()
        } else {
            "agent".into()
        },
        ..Default::default()
    };
    let tab_query = InboxParams {
        agent: String::new(),
        ..list_params.clone()
    }
    .query();
    let assigned = ConversationQuery {
        section: Some(Section::Assigned),
        ..Default::default()
    };
    let open_by_agent = svc
        .count_conversations_by_assignee(actor, &tab_query)
        .await
        .map_err(fail)?;
    let open_of = |id: UserId| {
        open_by_agent
            .iter()
            .find(|(a, _)| *a == Some(id))
            .map_or(0, |(_, n)| *n)
    };
    let queued = svc
        .count_conversations(
            actor,
            &ConversationQuery {
                status: Some(ConversationStatus::Queued),
                ..Default::default()
            },
        )
        .await
        .map_err(fail)?;
    let members = svc.members(actor).await.map_err(fail)?;
    let visible_teams = &actor.team_ids;
    let agents: Vec<AgentLine> = members
        .iter()
        .filter(|m| viewer.is_admin() || m.team_ids.iter().any(|t| visible_teams.contains(t)))
        .map(|m| AgentLine {
            id: m.id.to_string(),
            name: m.name.clone(),
            availability: availability(m.availability),
            open: open_of(m.id),
            selected: selected == Some(m.id),
        })
        .collect();
    let summary = match selected.and_then(|id| members.iter().find(|m| m.id == id)) {
        None => None,
        Some(m) => {
            let now = svc.now();
            let theirs = |q: ConversationQuery| ConversationQuery {
                assignee: Some(m.id.to_string()),
                ..q
            };
            let count = |q: ConversationQuery| async move { svc.count_conversations(actor, &q).await };
            let closed_today = count(theirs(ConversationQuery {
                section: Some(Section::Archived),
                date_field: Some(DateField::Closed),
                period: Some(Period::Today),
                ..Default::default()
            }))
            .await
            .map_err(fail)?;
            let open = count(theirs(assigned.clone())).await.map_err(fail)?;
            let waiting = count(theirs(ConversationQuery {
                awaiting_reply: Some(true),
                ..assigned.clone()
            }))
            .await
            .map_err(fail)?;
            let today = svc
                .analytics(
                    actor,
                    switchboard_service::AnalyticsQuery {
                        agent: Some(m.id),
                        days: Some(1),
                        ..Default::default()
                    },
                )
                .await
                .map_err(fail)?;
            // The newest of their chats says when they last worked.
            let recent = svc
                .conversations(
                    actor,
                    theirs(ConversationQuery {
                        limit: Some(20),
                        ..Default::default()
                    }),
                )
                .await
                .map_err(fail)?
                .items;
            let last = recent
                .iter()
                .map(|c| c.times.last_message_at.unwrap_or(c.updated_at).max(c.updated_at))
                .max();
            Some(Summary {
                name: m.name.clone(),
                open,
                median_response: today
                    .totals
                    .assignment_response
                    .median
                    .map_or_else(|| "–".into(), duration),
                closed_today,
                waiting,
                last_activity: last.map_or_else(
                    || "none today".into(),
                    |t| format!("{} ({} ago)", clock(t), duration(now.since(t))),
                ),
            })
        }
    };
    let list = list_view(state, viewer, &list_params).await?;
    let ws = viewer.ws().to_string();
    let tabs = TABS
        .iter()
        .map(|(t, label, ..)| TabLink {
            label,
            href: format!("/w/{ws}/supervisor?tab={t}&agent={}", params.agent),
            current: *t == tab,
        })
        .collect();
    Ok((
        Board {
            tab,
            tab_label,
            tabs,
            ws,
            agents,
            unassigned: queued,
            summary,
        },
        list,
    ))
}

#[derive(Template)]
#[template(path = "app/supervisor.html")]
struct SupervisorPage {
    layout: Layout,
    board: Board,
    list: ListView,
}

/// `/w/{ws}/supervisor` (supervisors and admins).
pub async fn page(
    State(state): State<AppState>,
    viewer: Viewer,
    Query(params): Query<SupervisorParams>,
) -> Result<Response, PageRejection> {
    if !viewer.is_supervisor() {
        return Err(PageRejection::NotFound);
    }
    let (board, list) = board(&state, &viewer, &params).await?;
    Ok(render(&SupervisorPage {
        layout: Layout::new(&viewer, "Supervisor", "supervisor", "supervisor.js"),
        board,
        list,
    }))
}

#[derive(Template)]
#[template(path = "app/supervisor_board.html")]
struct BoardFragment {
    board: Board,
    list: ListView,
}

/// `/w/{ws}/supervisor/board`: the board alone, for live refresh.
pub async fn board_fragment(
    State(state): State<AppState>,
    viewer: Viewer,
    Query(params): Query<SupervisorParams>,
) -> Result<Response, PageRejection> {
    if !viewer.is_supervisor() {
        return Err(PageRejection::NotFound);
    }
    let (board, list) = board(&state, &viewer, &params).await?;
    Ok(render(&BoardFragment { board, list }))
}
