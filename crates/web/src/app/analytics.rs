//! Analytics (DESIGN.md §8) for a range of local days and a scope (the
//! workspace, a team or an agent): charts drawn on the server as SVG with
//! their numbers in tables, the breakdown by agent, team, channel or tag,
//! a printable report and the same as a PDF.

use askama::Template;
use axum::extract::{Query, State};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use switchboard_core::report::{Figures, GroupBy, RESPONSE_BUCKETS, Spread};
use switchboard_service::{Analytics, AnalyticsQuery, ServiceError};

use super::charts::{self, WEEKDAYS};
use super::format::duration;
use super::inbox::{Choice, choices, fixed, urlencode};
use super::pdf::Pdf;
use super::{Layout, PageRejection, Viewer, render};
use crate::AppState;

#[derive(Debug, Default, Clone, Deserialize)]
pub struct AnalyticsParams {
    #[serde(default)]
    pub from: String,
    #[serde(default)]
    pub to: String,
    /// `agent`, `team`, `channel` or `tag`.
    #[serde(default)]
    pub by: String,
    #[serde(default)]
    pub team: String,
    #[serde(default)]
    pub agent: String,
    #[serde(default)]
    pub channel: String,
    #[serde(default)]
    pub tag: String,
}

impl AnalyticsParams {
    fn query(&self) -> AnalyticsQuery {
        let nonempty = |s: &str| Some(s.trim().to_owned()).filter(|s| !s.is_empty());
        AnalyticsQuery {
            from_date: nonempty(&self.from),
            to_date: nonempty(&self.to),
            days: None,
            group_by: GroupBy::ALL.into_iter().find(|g| g.as_str() == self.by),
            agent: self.agent.parse().ok(),
            team: self.team.parse().ok(),
            channel: self.channel.parse().ok(),
            tag: nonempty(&self.tag),
        }
    }

    /// This query string (for the report, PDF and CSV links).
    pub fn link(&self) -> String {
        [
            ("from", &self.from),
            ("to", &self.to),
            ("by", &self.by),
            ("team", &self.team),
            ("agent", &self.agent),
            ("channel", &self.channel),
            ("tag", &self.tag),
        ]
        .iter()
        .filter(|(_, v)| !v.is_empty())
        .map(|(k, v)| format!("{k}={}", urlencode(v)))
        .collect::<Vec<_>>()
        .join("&")
    }

    /// The API's parameter names, for the CSV of the figures.
    fn api_link(&self) -> String {
        let q = self.query();
        let mut pairs = Vec::new();
        if let Some(d) = q.from_date {
            pairs.push(format!("from_date={}", urlencode(&d)));
        }
        if let Some(d) = q.to_date {
            pairs.push(format!("to_date={}", urlencode(&d)));
        }
        if let Some(g) = q.group_by {
            pairs.push(format!("group_by={}", g.as_str()));
        }
        for (k, v) in [("agent", &self.agent), ("team", &self.team), ("channel", &self.channel)] {
            if !v.is_empty() {
                pairs.push(format!("{k}={}", urlencode(v)));
            }
        }
        if let Some(t) = q.tag {
            pairs.push(format!("tag={}", urlencode(&t)));
        }
        pairs.join("&")
    }
}

/// A time for people: seconds under a minute, else minutes and hours.
fn span(ms: Option<i64>) -> String {
    match ms {
        None => "–".into(),
        Some(ms) if ms < 60_000 => format!("{} s", ms.max(0) / 1000),
        Some(ms) => duration(ms),
    }
}

fn median_p90(s: &Spread) -> String {
    if s.count == 0 {
        return "–".into();
    }
    format!("{} (p90 {})", span(s.median), span(s.p90))
}

pub struct GroupRow {
    pub label: String,
    pub cells: Vec<String>,
}

pub struct Report {
    pub range: String,
    pub scope: String,
    pub headline: Vec<(&'static str, String)>,
    pub per_day_svg: String,
    pub per_day: Vec<(String, u64, u64)>,
    pub per_hour_svg: String,
    pub per_hour: Vec<(String, u64)>,
    pub heatmap_svg: String,
    pub heatmap: Vec<(&'static str, Vec<u64>)>,
    pub response_svg: String,
    pub response: Vec<(&'static str, u64)>,
    pub group_by: &'static str,
    pub group_header: Vec<&'static str>,
    pub groups: Vec<GroupRow>,
}

const GROUP_HEADER: [&str; 8] = [
    "Conversations",
    "Resolved",
    "First response (median)",
    "Own response after assignment (median)",
    "Resolution (median)",
    "CSAT",
    "Rated",
    "Assignments",
];

fn group_cells(f: &Figures) -> Vec<String> {
    vec![
        f.conversations.to_string(),
        f.resolved.to_string(),
        span(f.first_response.median),
        span(f.assignment_response.median),
        span(f.resolution.median),
        f.csat.average.map(|a| format!("{a:.2}")).unwrap_or_else(|| "–".into()),
        f.csat.rated.to_string(),
        f.legs.to_string(),
    ]
}

fn report_of(a: &Analytics, scope: String) -> Report {
    let t = &a.totals;
    let percent = |p: Option<f64>| p.map(|p| format!("{p:.1} %")).unwrap_or_else(|| "–".into());
    let headline = vec![
        ("Conversations", t.conversations.to_string()),
        ("Resolved", t.resolved.to_string()),
        ("Abandoned", t.abandoned.to_string()),
        ("Expired", t.expired.to_string()),
        ("Still open", t.open.to_string()),
        ("First response", median_p90(&t.first_response)),
        ("First response, business hours", median_p90(&t.first_response_business)),
        ("Own response after assignment", median_p90(&t.assignment_response)),
        ("Resolution", median_p90(&t.resolution)),
        ("Resolution, business hours", median_p90(&t.resolution_business)),
        ("Time with the bot", median_p90(&t.bot_time)),
        (
            "Messages per conversation (median)",
            t.messages.median.map_or_else(|| "–".into(), |m| m.to_string()),
        ),
        (
            "CSAT (average of 1–5)",
            t.csat.average.map_or_else(|| "–".into(), |a| format!("{a:.2}")),
        ),
        ("CSAT satisfied (4–5)", percent(t.csat.satisfied_percent)),
        (
            "CSAT response rate",
            format!(
                "{} ({} of {})",
                percent(t.csat.response_rate_percent),
                t.csat.rated,
                t.csat.asked
            ),
        ),
        (
            "Assignments · transfers · reopens",
            format!("{} · {} · {}", t.legs, t.transfers, t.reopens),
        ),
    ];
    let per_day: Vec<(String, u64, u64)> = a
        .volume
        .days
        .iter()
        .map(|d| (d.date.clone(), d.created, d.closed))
        .collect();
    let day_bars: Vec<(String, Vec<u64>)> = per_day
        .iter()
        .map(|(d, c, x)| (d.get(5..).unwrap_or(d).to_owned(), vec![*c, *x]))
        .collect();
    let per_hour: Vec<(String, u64)> = a
        .volume
        .hours
        .iter()
        .enumerate()
        .map(|(h, n)| (format!("{h:02}"), *n))
        .collect();
    let hour_bars: Vec<(String, Vec<u64>)> = per_hour.iter().map(|(h, n)| (h.clone(), vec![*n])).collect();
    let response: Vec<(&'static str, u64)> = RESPONSE_BUCKETS
        .iter()
        .zip(a.volume.response_buckets)
        .map(|((label, _), n)| (*label, n))
        .collect();
    let response_bars: Vec<(String, Vec<u64>)> = response.iter().map(|(l, n)| ((*l).to_owned(), vec![*n])).collect();
    Report {
        range: format!("{} to {} ({})", a.from_date, a.to_date, a.time_zone),
        scope,
        headline,
        per_day_svg: charts::bars("per-day", "Conversations per day", &["created", "closed"], &day_bars),
        per_day,
        per_hour_svg: charts::bars("per-hour", "Conversations by hour of day", &["created"], &hour_bars),
        per_hour,
        heatmap_svg: charts::heatmap("heatmap", "Busiest hours (weekday × hour)", &a.volume.heatmap),
        heatmap: WEEKDAYS
            .iter()
            .zip(a.volume.heatmap)
            .map(|(d, row)| (*d, row.to_vec()))
            .collect(),
        response_svg: charts::bars(
            "response",
            "First response time distribution",
            &["conversations"],
            &response_bars,
        ),
        response,
        group_by: match a.group_by {
            GroupBy::Agent => "Agent",
            GroupBy::Team => "Team",
            GroupBy::Channel => "Channel",
            GroupBy::Tag => "Tag",
        },
        group_header: GROUP_HEADER.to_vec(),
        groups: a
            .groups
            .iter()
            .map(|g| GroupRow {
                label: g.label.clone(),
                cells: group_cells(&g.figures),
            })
            .collect(),
    }
}

struct Loaded {
    report: Option<Report>,
    /// A refused parameter: (field, message), shown next to it.
    error: Option<(String, String)>,
}

async fn load(state: &AppState, viewer: &Viewer, params: &AnalyticsParams) -> Result<Loaded, PageRejection> {
    let svc = &state.services;
    let actor = &viewer.actor;
    match svc.analytics(actor, params.query()).await {
        Ok(a) => {
            let names = svc.names(actor).await.map_err(|_| PageRejection::Failed)?;
            let q = params.query();
            let scope = match (q.agent, q.team) {
                (Some(u), _) => format!("Agent: {}", names.user(u)),
                (None, Some(t)) => format!("Team: {}", names.team(t)),
                (None, None) if viewer.is_admin() => "The whole workspace".into(),
                (None, None) => "Your teams".into(),
            };
            Ok(Loaded {
                report: Some(report_of(&a, scope)),
                error: None,
            })
        }
        Err(ServiceError::Invalid(e)) => Ok(Loaded {
            report: None,
            error: Some((e.field.to_owned(), e.reason.clone())),
        }),
        Err(_) => Err(PageRejection::Failed),
    }
}

#[derive(Template)]
#[template(path = "app/analytics.html")]
struct AnalyticsPage {
    layout: Layout,
    params: AnalyticsParams,
    loaded: Loaded,
    groupings: Vec<Choice>,
    teams: Vec<Choice>,
    agents: Vec<Choice>,
    query: String,
    api_query: String,
    /// The number tables under the charts start folded on screen.
    open_numbers: bool,
}

impl AnalyticsPage {
    fn error_for(&self, field: &str) -> String {
        match &self.loaded.error {
            Some((f, m)) if f == field => m.clone(),
            _ => String::new(),
        }
    }
}

/// `/w/{ws}/analytics` (admins; supervisors for their teams).
pub async fn page(
    State(state): State<AppState>,
    viewer: Viewer,
    Query(params): Query<AnalyticsParams>,
) -> Result<Response, PageRejection> {
    if !viewer.is_supervisor() {
        return Err(PageRejection::NotFound);
    }
    let svc = &state.services;
    let actor = &viewer.actor;
    let fail = |_| PageRejection::Failed;
    let teams = svc.teams(actor).await.map_err(fail)?;
    let members = svc.members(actor).await.map_err(fail)?;
    let loaded = load(&state, &viewer, &params).await?;
    Ok(render(&AnalyticsPage {
        layout: Layout::new(&viewer, "Analytics", "analytics", "page.js"),
        groupings: fixed(
            &[
                ("agent", "Agent"),
                ("team", "Team"),
                ("channel", "Channel"),
                ("tag", "Tag"),
            ],
            &params.by,
        ),
        teams: choices(
            teams
                .into_iter()
                .filter(|t| viewer.is_admin() || actor.team_ids.contains(&t.id))
                .collect(),
            &params.team,
            |t| (t.id.to_string(), t.name.clone()),
        ),
        agents: choices(
            members
                .into_iter()
                .filter(|m| viewer.is_admin() || m.team_ids.iter().any(|t| actor.team_ids.contains(t)))
                .collect(),
            &params.agent,
            |m| (m.id.to_string(), m.name.clone()),
        ),
        query: params.link(),
        api_query: params.api_link(),
        open_numbers: false,
        loaded,
        params,
    }))
}

#[derive(Template)]
#[template(path = "report.html")]
struct PrintedReport {
    workspace_name: String,
    report: Report,
    /// Printed, the number tables show under their charts.
    open_numbers: bool,
}

/// The report a printed page or a PDF shows (admins and supervisors; a
/// range that is not one is not found).
async fn report_for(state: &AppState, viewer: &Viewer, params: &AnalyticsParams) -> Result<Report, PageRejection> {
    if !viewer.is_supervisor() {
        return Err(PageRejection::NotFound);
    }
    load(state, viewer, params).await?.report.ok_or(PageRejection::NotFound)
}

/// `/w/{ws}/analytics/report`: the same figures as a page that prints on A4.
pub async fn printable(
    State(state): State<AppState>,
    viewer: Viewer,
    Query(params): Query<AnalyticsParams>,
) -> Result<Response, PageRejection> {
    let report = report_for(&state, &viewer, &params).await?;
    Ok(render(&PrintedReport {
        workspace_name: viewer.workspace_name.clone(),
        report,
        open_numbers: true,
    }))
}

/// `/w/{ws}/analytics/report.pdf`: the printed report as a PDF made here.
pub async fn pdf(
    State(state): State<AppState>,
    viewer: Viewer,
    Query(params): Query<AnalyticsParams>,
) -> Result<Response, PageRejection> {
    let r = report_for(&state, &viewer, &params).await?;
    let mut pdf = Pdf::new();
    pdf.title(&format!("{} · Conversations report", viewer.workspace_name));
    pdf.line(&r.range);
    pdf.line(&r.scope);
    pdf.heading("Figures");
    let rows: Vec<Vec<String>> = r
        .headline
        .iter()
        .map(|(label, value)| vec![(*label).to_owned(), value.clone()])
        .collect();
    pdf.table(&["Figure", "Value"], &rows);
    pdf.heading("Conversations per day (created)");
    pdf.bars(&r.per_day.iter().map(|(d, c, _)| (d.clone(), *c)).collect::<Vec<_>>());
    pdf.heading("First response time distribution");
    pdf.bars(
        &r.response
            .iter()
            .map(|(l, n)| ((*l).to_owned(), *n))
            .collect::<Vec<_>>(),
    );
    pdf.heading(&format!("By {}", r.group_by.to_lowercase()));
    let mut header = vec![r.group_by];
    header.extend(r.group_header.iter().copied());
    let rows: Vec<Vec<String>> = r
        .groups
        .iter()
        .map(|g| {
            std::iter::once(g.label.clone())
                .chain(g.cells.iter().cloned())
                .collect()
        })
        .collect();
    pdf.table(&header, &rows);
    let name = format!("report-{}.pdf", r.range.split(' ').next().unwrap_or("report"));
    let headers = crate::api::download_headers("application/pdf", &format!("inline; filename=\"{name}\""))
        .map_err(|_| PageRejection::Failed)?;
    Ok((headers, pdf.finish()).into_response())
}
