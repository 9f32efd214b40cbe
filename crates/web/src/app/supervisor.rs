//! The supervisor view: live chats grouped by agent in near real time, and
//! one agent's day at a glance.

use askama::Template;
use axum::extract::{Query, State};
use axum::response::Response;
use serde::Deserialize;
use switchboard_core::{Availability, ConversationStatus, Section, UserId};
use switchboard_service::ConversationQuery;

use super::format::{clock, duration};
use super::inbox::{InboxParams, ListView, list_view};
use super::{Layout, PageRejection, Viewer, render};
use crate::AppState;

#[derive(Debug, Default, Deserialize)]
pub struct SupervisorParams {
    #[serde(default)]
    agent: String,
}

pub struct AgentLine {
    pub id: String,
    pub name: String,
    pub availability: &'static str,
    pub open: usize,
    pub selected: bool,
}

pub struct Summary {
    pub name: String,
    pub open: usize,
    pub closed_today: usize,
    pub waiting: usize,
    pub last_activity: String,
}

pub struct Board {
    pub ws: String,
    pub agents: Vec<AgentLine>,
    pub unassigned: usize,
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
    let live = svc
        .conversations(
            actor,
            ConversationQuery {
                section: Some(Section::Assigned),
                limit: Some(100),
                ..Default::default()
            },
        )
        .await
        .map_err(fail)?
        .items;
    let queued = svc
        .conversations(
            actor,
            ConversationQuery {
                status: Some(ConversationStatus::Queued),
                limit: Some(100),
                ..Default::default()
            },
        )
        .await
        .map_err(fail)?
        .items;
    let members = svc.members(actor).await.map_err(fail)?;
    let selected: Option<UserId> = params.agent.parse().ok();
    let visible_teams = &actor.team_ids;
    let agents: Vec<AgentLine> = members
        .iter()
        .filter(|m| viewer.is_admin() || m.team_ids.iter().any(|t| visible_teams.contains(t)))
        .map(|m| AgentLine {
            id: m.id.to_string(),
            name: m.name.clone(),
            availability: availability(m.availability),
            open: live.iter().filter(|c| c.assignee_id == Some(m.id)).count(),
            selected: selected == Some(m.id),
        })
        .collect();
    let summary = match selected.and_then(|id| members.iter().find(|m| m.id == id)) {
        None => None,
        Some(m) => {
            let now = svc.now();
            let midnight = svc.workspace_day_start(actor).await.map_err(fail)?;
            let closed = svc
                .conversations(
                    actor,
                    ConversationQuery {
                        section: Some(Section::Archived),
                        assignee: Some(m.id.to_string()),
                        limit: Some(100),
                        ..Default::default()
                    },
                )
                .await
                .map_err(fail)?
                .items;
            let mine: Vec<_> = live.iter().filter(|c| c.assignee_id == Some(m.id)).collect();
            let last = mine
                .iter()
                .map(|c| c.times.last_message_at.unwrap_or(c.updated_at))
                .chain(closed.iter().map(|c| c.updated_at))
                .max();
            Some(Summary {
                name: m.name.clone(),
                open: mine.len(),
                closed_today: closed
                    .iter()
                    .filter(|c| c.times.closed_at.is_some_and(|t| t >= midnight))
                    .count(),
                waiting: mine
                    .iter()
                    // The customer wrote last: the agent's turn.
                    .filter(|c| {
                        c.times.last_customer_message_at.is_some()
                            && c.times.last_customer_message_at == c.times.last_message_at
                    })
                    .count(),
                last_activity: last.map_or_else(
                    || "none today".into(),
                    |t| format!("{} ({} ago)", clock(t), duration(now.since(t))),
                ),
            })
        }
    };
    let list = list_view(
        state,
        viewer,
        &InboxParams {
            section: "assigned".into(),
            agent: params.agent.clone(),
            group: if selected.is_some() {
                String::new()
            } else {
                "agent".into()
            },
            ..Default::default()
        },
    )
    .await?;
    Ok((
        Board {
            ws: viewer.ws().to_string(),
            agents,
            unassigned: queued.len(),
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
