//! The console (Admin › Conversations, DESIGN.md §8): live tiles over the
//! conversations table, for admins and, over their teams, supervisors.
//! The table shows the rows of the CSV export for the same filters, and
//! each counting tile links to the table filtered the way it counts.

use askama::Template;
use axum::extract::{Query, State};
use axum::response::Response;
use switchboard_service::{ConsoleTiles, ConversationQuery, ExportRow};

use super::format::duration;
use super::inbox::{FilterChoices, InboxParams, filter_choices};
use super::{Layout, PageRejection, Viewer, render};
use crate::AppState;

/// Rows per page of the table.
const PAGE_ROWS: u64 = 50;

pub struct TileView {
    pub label: &'static str,
    pub value: String,
    pub detail: String,
    /// The table filtered the way the tile counts (empty: no link).
    pub href: String,
}

pub struct Tiles {
    pub ws: String,
    pub tiles: Vec<TileView>,
}

pub struct RowView {
    pub id: String,
    pub customer: String,
    pub identifier: String,
    pub agent: String,
    pub team: String,
    pub created_iso: String,
    pub duration: String,
    pub rating: String,
    pub status: &'static str,
    pub closed: bool,
    pub inactivity: String,
    pub response: String,
    pub response_assignment: String,
    pub sent_by: String,
    pub awaiting: String,
    pub close_reason: String,
}

pub struct Table {
    pub ws: String,
    pub rows: Vec<RowView>,
    /// The next page's fragment URL.
    pub next: Option<String>,
}

fn seconds(s: Option<i64>) -> String {
    s.map(|s| duration(s * 1000)).unwrap_or_else(|| "–".into())
}

fn row(r: ExportRow) -> RowView {
    let closed = !r.closed.is_empty();
    RowView {
        status: if closed { "Closed" } else { "In progress" },
        closed,
        duration: duration(r.duration_seconds * 1000),
        inactivity: if closed {
            "–".into()
        } else {
            duration(r.inactivity_seconds * 1000)
        },
        response: seconds(r.response_seconds),
        response_assignment: seconds(r.response_after_assignment_seconds),
        rating: r.rating.map(|n| format!("{n}/5")).unwrap_or_default(),
        sent_by: match r.sent_by.as_str() {
            "customer" => "Customer".into(),
            "business" => "Business".into(),
            _ => String::new(),
        },
        awaiting: match r.awaiting.as_str() {
            "agent" if !closed => "Us".into(),
            "customer" if !closed => "Customer".into(),
            _ => String::new(),
        },
        id: r.id,
        customer: r.customer,
        identifier: r.identifier,
        agent: r.agent,
        team: r.team,
        created_iso: r.created,
        close_reason: r.close_reason,
    }
}

async fn tiles(state: &AppState, viewer: &Viewer) -> Result<Tiles, PageRejection> {
    let t: ConsoleTiles = state
        .services
        .console_tiles(&viewer.actor)
        .await
        .map_err(|_| PageRejection::Failed)?;
    let ws = viewer.ws().to_string();
    let [queued, assigned, closed] =
        ["status=queued", "status=assigned", "period=today&field=closed"].map(|q| format!("/w/{ws}/console?{q}"));
    let tiles = vec![
        TileView {
            label: "Unassigned",
            value: t.unassigned.to_string(),
            detail: "waiting in a queue".into(),
            href: queued,
        },
        TileView {
            label: "Active",
            value: t.active.to_string(),
            detail: "with an agent".into(),
            href: assigned,
        },
        TileView {
            label: "Completed today",
            value: t.completed_today.to_string(),
            detail: "closed since midnight".into(),
            href: closed,
        },
        TileView {
            label: "Highest load today",
            value: t
                .busiest_team_today
                .as_ref()
                .map_or_else(|| "–".into(), |b| b.name.clone()),
            detail: t.busiest_team_today.as_ref().map_or_else(
                || "no chats assigned yet".into(),
                |b| format!("{} chats", b.conversations),
            ),
            href: String::new(),
        },
        TileView {
            label: "Agents",
            value: format!("{} online", t.agents.online),
            detail: format!("{} busy · {} offline", t.agents.busy, t.agents.offline),
            href: String::new(),
        },
        TileView {
            label: "Longest waiting",
            value: t
                .longest_waiting
                .as_ref()
                .map_or_else(|| "Nobody".into(), |w| duration(w.waited_seconds * 1000)),
            detail: t
                .longest_waiting
                .as_ref()
                .map_or_else(String::new, |w| w.customer.clone()),
            href: t
                .longest_waiting
                .as_ref()
                .map_or_else(String::new, |w| format!("/w/{ws}/conversations/{}", w.conversation_id)),
        },
    ];
    Ok(Tiles { ws, tiles })
}

/// All conversations unless the filters say otherwise (the inbox's
/// parameters without its default section).
fn query(params: &InboxParams) -> ConversationQuery {
    let mut q = params.query();
    if params.section.is_empty() {
        q.section = None;
        q.ticket_view = None;
    }
    q
}

async fn table(state: &AppState, viewer: &Viewer, params: &InboxParams) -> Result<Table, PageRejection> {
    let shown: u64 = params.shown.parse().unwrap_or(0);
    let q = ConversationQuery {
        cursor: Some(params.cursor.clone()).filter(|c| !c.is_empty()),
        limit: Some(shown.clamp(PAGE_ROWS, 200)),
        ..query(params)
    };
    let page = state
        .services
        .console_rows(&viewer.actor, q)
        .await
        .map_err(|_| PageRejection::Failed)?;
    let ws = viewer.ws().to_string();
    let next = page.next_cursor.map(|cursor| {
        let filters = params.link(&params.section, &params.view);
        format!(
            "/w/{ws}/console/rows?{filters}&cursor={}",
            super::inbox::urlencode(&cursor)
        )
    });
    Ok(Table {
        ws,
        rows: page.items.into_iter().map(row).collect(),
        next,
    })
}

#[derive(Template)]
#[template(path = "app/console.html")]
struct ConsolePage {
    layout: Layout,
    tiles: Tiles,
    table: Table,
    filters: FilterChoices,
    params: InboxParams,
    export_href: String,
}

impl ConsolePage {
    /// This table sorted by `sort` (filters kept).
    fn sorted(&self, sort: &str) -> String {
        let params = InboxParams {
            sort: sort.to_owned(),
            ..self.params.clone()
        };
        format!("?{}", params.link(&params.section, &params.view))
    }
}

/// `/w/{ws}/console`
pub async fn page(
    State(state): State<AppState>,
    viewer: Viewer,
    Query(params): Query<InboxParams>,
) -> Result<Response, PageRejection> {
    if !viewer.is_supervisor() {
        return Err(PageRejection::NotFound);
    }
    let export_href = format!(
        "/w/{}/console/export?{}",
        viewer.ws(),
        params.link(&params.section, &params.view)
    );
    Ok(render(&ConsolePage {
        layout: Layout::new(&viewer, "Conversations", "console", "console.js"),
        tiles: tiles(&state, &viewer).await?,
        table: table(&state, &viewer, &params).await?,
        filters: filter_choices(&state, &viewer, &params).await?,
        params,
        export_href,
    }))
}

#[derive(Template)]
#[template(path = "app/console_tiles.html")]
struct TilesFragment {
    tiles: Tiles,
}

/// `/w/{ws}/console/tiles`: the tiles alone, for live refresh.
pub async fn tiles_fragment(State(state): State<AppState>, viewer: Viewer) -> Result<Response, PageRejection> {
    if !viewer.is_supervisor() {
        return Err(PageRejection::NotFound);
    }
    Ok(render(&TilesFragment {
        tiles: tiles(&state, &viewer).await?,
    }))
}

#[derive(Template)]
#[template(path = "app/console_rows.html")]
struct RowsFragment {
    table: Table,
}

/// `/w/{ws}/console/rows`: a page of the table (the next one, or the
/// first ones again for a live refresh).
pub async fn rows_fragment(
    State(state): State<AppState>,
    viewer: Viewer,
    Query(params): Query<InboxParams>,
) -> Result<Response, PageRejection> {
    if !viewer.is_supervisor() {
        return Err(PageRejection::NotFound);
    }
    Ok(render(&RowsFragment {
        table: table(&state, &viewer, &params).await?,
    }))
}

/// `/w/{ws}/console/export`: the table's rows as CSV, streamed.
pub async fn export(
    State(state): State<AppState>,
    viewer: Viewer,
    Query(params): Query<InboxParams>,
) -> Result<Response, PageRejection> {
    Ok(crate::api::exports::conversations_file(
        &state.services,
        &viewer.actor,
        ConversationQuery {
            limit: None,
            ..query(&params)
        },
        switchboard_service::ExportFormat::Csv,
    )
    .await
    .unwrap_or_else(axum::response::IntoResponse::into_response))
}
