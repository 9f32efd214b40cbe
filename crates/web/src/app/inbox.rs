//! The inbox: the sections of DESIGN.md §4 with search and filters, each
//! row with what an agent needs to pick the next chat; supervisors and
//! admins can group the list by agent.

use askama::Template;
use axum::extract::{Query, State};
use axum::response::Response;
use serde::Deserialize;
use switchboard_core::{ConversationStatus, Millis, Priority, Section, UserId};
use switchboard_service::{ConversationQuery, InboxRow, Names, TicketView};

use super::conversation::{Pane, load_pane};
use switchboard_core::transcript::iso_utc;

use super::format::{channel_badge, duration};
use super::{Layout, PageRejection, Viewer, names, render};
use crate::AppState;

/// The inbox's query string. Every field is optional and a value that does
/// not parse is ignored, so a hand-edited link still shows a list.
#[derive(Debug, Default, Clone, Deserialize)]
pub struct InboxParams {
    #[serde(default)]
    pub section: String,
    #[serde(default)]
    pub view: String,
    #[serde(default)]
    pub q: String,
    #[serde(default)]
    pub status: String,
    #[serde(default)]
    pub channel: String,
    #[serde(default)]
    pub team: String,
    #[serde(default)]
    pub agent: String,
    #[serde(default)]
    pub tag: String,
    /// `YYYY-MM-DD`, the first day (the workspace's time zone).
    #[serde(default)]
    pub from: String,
    /// `YYYY-MM-DD`, the last day, included.
    #[serde(default)]
    pub to: String,
    /// A quick pick: `last_15_days`, `last_30_days`, `last_45_days`.
    #[serde(default)]
    pub period: String,
    /// Which time the dates read: `created`, `closed`, `last_activity`.
    #[serde(default)]
    pub field: String,
    /// `1`: critical chats only.
    #[serde(default)]
    pub critical: String,
    /// 1 to 5.
    #[serde(default)]
    pub rating: String,
    /// Who wrote first: `customer` or `business`.
    #[serde(default)]
    pub sent: String,
    /// `1`: the customer wrote last and waits for us.
    #[serde(default)]
    pub waiting: String,
    /// The contact's country.
    #[serde(default)]
    pub country: String,
    /// First answer at least / under this many minutes after creation.
    #[serde(default)]
    pub resp_min: String,
    #[serde(default)]
    pub resp_max: String,
    /// The same after the latest assignment (the assignee's own).
    #[serde(default)]
    pub assign_min: String,
    #[serde(default)]
    pub assign_max: String,
    /// Waiting for our answer at least this many minutes.
    #[serde(default)]
    pub waited: String,
    /// `newest`, `last_activity`, `closed`, `duration`, `response_time`.
    #[serde(default)]
    pub sort: String,
    /// A close reason from the workspace's list.
    #[serde(default)]
    pub reason: String,
    /// Where the next page starts (the script's "load more").
    #[serde(default)]
    pub cursor: String,
    /// How many rows the page shows now (a live refresh keeps them).
    #[serde(default)]
    pub shown: String,
    /// An export's format: `csv` or `jsonl`.
    #[serde(default)]
    pub format: String,
    #[serde(default)]
    pub group: String,
    /// The open conversation.
    #[serde(default)]
    pub c: String,
}

/// Lists count this far and then say "more than" (fast on a huge archive).
const COUNT_CAP: u64 = 10_000;
/// Rows per page of a list.
const PAGE_ROWS: u64 = 50;
/// Critical chats shown above a list's first page, at most.
const CRITICAL_ROWS: u64 = 200;

/// `raw` when it is a date (a hand-edited link still shows a list).
fn date(raw: &str) -> Option<String> {
    chrono::NaiveDate::parse_from_str(raw.trim(), "%Y-%m-%d")
        .ok()
        .map(|d| d.to_string())
}

/// Minutes typed in a filter as seconds (ignored unless a sensible number).
fn minutes_as_seconds(raw: &str) -> Option<i64> {
    raw.trim()
        .parse::<i64>()
        .ok()
        .filter(|m| (0..=5_256_000).contains(m))
        .map(|m| m * 60)
}

fn parse_enum<T: serde::de::DeserializeOwned>(raw: &str) -> Option<T> {
    serde_json::from_value(serde_json::Value::String(raw.to_owned())).ok()
}

impl InboxParams {
    fn section(&self) -> Section {
        self.section.parse().unwrap_or(Section::Live)
    }

    fn ticket_view(&self) -> Option<TicketView> {
        match self.view.as_str() {
            "unassigned" => Some(TicketView::Unassigned),
            "assigned" => Some(TicketView::Assigned),
            "closed" => Some(TicketView::Closed),
            _ => None,
        }
    }

    pub(crate) fn query(&self) -> ConversationQuery {
        let section = self.section();
        let nonempty = |s: &str| Some(s.trim().to_owned()).filter(|s| !s.is_empty());
        ConversationQuery {
            section: Some(section),
            ticket_view: if section == Section::Tickets {
                self.ticket_view().or(Some(TicketView::Unassigned))
            } else {
                None
            },
            status: self.status.parse::<ConversationStatus>().ok(),
            assignee: self
                .agent
                .parse::<UserId>()
                .ok()
                .map(|u| u.to_string())
                .or_else(|| (self.agent == "none").then(|| "none".into())),
            team: self.team.parse().ok(),
            channel: self.channel.parse().ok(),
            tag: nonempty(&self.tag),
            q: nonempty(&self.q),
            period: parse_enum(&self.period),
            date_field: parse_enum(&self.field),
            from_date: date(&self.from),
            to_date: date(&self.to),
            critical: (self.critical == "1").then_some(true),
            rating: self.rating.parse().ok().filter(|r| (1..=5).contains(r)),
            sent_by: parse_enum(&self.sent),
            awaiting_reply: (self.waiting == "1").then_some(true),
            country: nonempty(&self.country),
            close_reason: nonempty(&self.reason),
            response_above: minutes_as_seconds(&self.resp_min),
            response_below: minutes_as_seconds(&self.resp_max),
            assignment_response_above: minutes_as_seconds(&self.assign_min),
            assignment_response_below: minutes_as_seconds(&self.assign_max),
            waiting_minutes: self
                .waited
                .trim()
                .parse()
                .ok()
                .filter(|m: &i64| (0..=5_256_000).contains(m)),
            sort: parse_enum(&self.sort),
            ..ConversationQuery::default()
        }
    }

    /// Any filter beyond the section and the search is set (the filter panel opens).
    pub fn filtered(&self) -> bool {
        [
            &self.status,
            &self.channel,
            &self.team,
            &self.agent,
            &self.tag,
            &self.from,
            &self.to,
            &self.period,
            &self.critical,
            &self.rating,
            &self.sent,
            &self.reason,
        ]
        .iter()
        .any(|v| !v.is_empty())
    }

    /// This query string with another section (filters kept).
    pub(crate) fn link(&self, section: &str, view: &str) -> String {
        let mut pairs = vec![("section", section)];
        if !view.is_empty() {
            pairs.push(("view", view));
        }
        for (k, v) in [
            ("q", &self.q),
            ("status", &self.status),
            ("channel", &self.channel),
            ("team", &self.team),
            ("agent", &self.agent),
            ("tag", &self.tag),
            ("from", &self.from),
            ("to", &self.to),
            ("period", &self.period),
            ("field", &self.field),
            ("critical", &self.critical),
            ("rating", &self.rating),
            ("sent", &self.sent),
            ("waiting", &self.waiting),
            ("country", &self.country),
            ("resp_min", &self.resp_min),
            ("resp_max", &self.resp_max),
            ("assign_min", &self.assign_min),
            ("assign_max", &self.assign_max),
            ("waited", &self.waited),
            ("sort", &self.sort),
            ("reason", &self.reason),
            ("group", &self.group),
        ] {
            if !v.is_empty() {
                pairs.push((k, v.as_str()));
            }
        }
        pairs
            .iter()
            .map(|(k, v)| format!("{k}={}", urlencode(v)))
            .collect::<Vec<_>>()
            .join("&")
    }
}

pub fn urlencode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

pub struct RowView {
    pub id: String,
    pub contact: String,
    pub badge: &'static str,
    pub channel: String,
    pub preview: String,
    /// With a text search: the matching message, its hits marked.
    pub snippet: Vec<switchboard_core::search::Piece>,
    pub waiting: String,
    pub waiting_since: String,
    pub assignee: String,
    pub tags: Vec<String>,
    pub critical: bool,
    pub ticket: bool,
    pub unread: String,
    pub status: &'static str,
    pub open: bool,
}

pub struct Group {
    pub name: String,
    /// The assignee's id (`none`), so a later page joins the right group.
    pub key: String,
    /// Counted by the database for the whole filter.
    pub count: u64,
    pub rows: Vec<RowView>,
}

pub struct Tab {
    pub label: &'static str,
    pub href: String,
    pub current: bool,
}

pub struct Choice {
    pub value: String,
    pub label: String,
    pub selected: bool,
}

/// The list and everything around it that the list fragment re-renders.
pub struct ListView {
    pub ws: String,
    pub groups: Vec<Group>,
    /// Counted by the database for the whole filter (up to a cap).
    pub total: u64,
    /// There are more than `total`.
    pub more: bool,
    /// Where the next page is read from; empty on the last.
    pub next: String,
    pub empty_text: &'static str,
    /// The query string that produced this list (the script re-fetches it).
    pub query: String,
}

fn row(r: InboxRow, names: &Names, open: &str, now: Millis) -> RowView {
    let c = &r.conversation;
    let (badge, kind_name) = channel_badge(r.channel_kind);
    let preview = match &r.last_message {
        None => String::new(),
        Some(m) => {
            let who = if m.direction == switchboard_core::Direction::Out {
                "You: "
            } else {
                ""
            };
            let text = m.body.clone().unwrap_or_else(|| "Attachment".into());
            let short: String = text.chars().take(90).collect();
            format!("{who}{short}")
        }
    };
    let since = c.times.last_customer_message_at.unwrap_or(c.times.created_at);
    RowView {
        id: c.id.to_string(),
        contact: r.contact_name,
        badge,
        channel: format!("{kind_name}: {}", r.channel_name),
        preview,
        snippet: r.snippet,
        waiting: duration(now.since(since)),
        waiting_since: iso_utc(since),
        assignee: c.assignee_id.map(|u| names.user(u)).unwrap_or_default(),
        tags: c.tags.clone(),
        critical: c.priority == Priority::Critical,
        ticket: c.ticket,
        unread: match r.unread {
            0 => String::new(),
            n if n >= 20 => "20+".into(),
            n => n.to_string(),
        },
        status: super::format::status_label(c.status),
        open: c.id.to_string() == open,
    }
}

/// Build the list for `params` as `viewer` may see it: critical chats
/// first, then a page of the rest, newest first; later pages (`cursor`)
/// continue the rest. Counts come from the database, not the rows loaded.
pub async fn list_view(state: &AppState, viewer: &Viewer, params: &InboxParams) -> Result<ListView, PageRejection> {
    let svc = &state.services;
    let fail = |_| PageRejection::Failed;
    let query = params.query();
    let cursor = Some(params.cursor.trim().to_owned()).filter(|c| !c.is_empty());
    let shown: u64 = params.shown.parse().unwrap_or(0);
    let rows_wanted = shown.clamp(PAGE_ROWS, 200);
    // Critical chats rise to the top of every list (DESIGN.md §4): read
    // apart, so the rest pages by the index, newest first.
    let split = query.critical.is_none();
    let mut rows: Vec<InboxRow> = Vec::new();
    if split && cursor.is_none() {
        let critical = ConversationQuery {
            critical: Some(true),
            limit: Some(CRITICAL_ROWS),
            ..query.clone()
        };
        rows = svc.inbox(&viewer.actor, critical).await.map_err(fail)?.items;
    }
    let limit = if cursor.is_some() { PAGE_ROWS } else { rows_wanted };
    let rest = ConversationQuery {
        critical: if split { Some(false) } else { query.critical },
        cursor,
        limit: Some(limit),
        ..query.clone()
    };
    let page = svc.inbox(&viewer.actor, rest).await.map_err(fail)?;
    rows.extend(page.items);
    let names = names(state, viewer).await?;
    let now = svc.now();
    let grouped = params.group == "agent" && viewer.is_supervisor();
    let (total, more) = svc
        .count_conversations_capped(&viewer.actor, &query, COUNT_CAP)
        .await
        .map_err(fail)?;
    let group_counts = if grouped {
        svc.count_conversations_by_assignee(&viewer.actor, &query)
            .await
            .map_err(fail)?
    } else {
        Vec::new()
    };
    let group_name = |assignee: Option<UserId>| assignee.map(|u| names.user(u)).unwrap_or_else(|| "Unassigned".into());
    let mut groups: Vec<Group> = Vec::new();
    for r in rows {
        let assignee = r.conversation.assignee_id;
        let key = if grouped { group_name(assignee) } else { String::new() };
        let view = row(r, &names, &params.c, now);
        match groups.iter_mut().find(|g| g.name == key) {
            Some(g) => g.rows.push(view),
            None => groups.push(Group {
                count: if grouped {
                    group_counts.iter().find(|(a, _)| *a == assignee).map_or(0, |(_, n)| *n)
                } else {
                    total
                },
                key: match (grouped, assignee) {
                    (false, _) => "all".into(),
                    (true, Some(u)) => u.to_string(),
                    (true, None) => "none".into(),
                },
                name: key,
                rows: vec![view],
            }),
        }
    }
    if grouped {
        groups.sort_by(|a, b| a.name.cmp(&b.name));
    }
    let query_string = params.link(params.section().as_str(), &params.view);
    Ok(ListView {
        ws: viewer.ws().to_string(),
        groups,
        total,
        more,
        next: page
            .next_cursor
            .map(|c| format!("/w/{}/inbox/list?{query_string}&cursor={}", viewer.ws(), urlencode(&c)))
            .unwrap_or_default(),
        empty_text: match params.section() {
            Section::Live => "No chats are waiting.",
            Section::Assigned => "No chats are assigned.",
            Section::Archived => "Nothing in the archive matches.",
            Section::Tickets => "No tickets here.",
        },
        query: query_string,
    })
}

#[derive(Template)]
#[template(path = "app/inbox.html")]
struct InboxPage {
    layout: Layout,
    params: InboxParams,
    tabs: Vec<Tab>,
    ticket_tabs: Vec<Tab>,
    list: ListView,
    pane: Option<Pane>,
    filters: FilterChoices,
    saved: Vec<SavedLink>,
}

/// The options of the filter panel (`app/filter_fields.html`), shared by
/// the inbox and the console.
pub struct FilterChoices {
    pub channels: Vec<Choice>,
    pub teams: Vec<Choice>,
    pub agents: Vec<Choice>,
    pub tags: Vec<Choice>,
    pub statuses: Vec<Choice>,
    pub date_fields: Vec<Choice>,
    pub periods: Vec<Choice>,
    pub ratings: Vec<Choice>,
    pub sorts: Vec<Choice>,
    pub reasons: Vec<Choice>,
    pub can_group: bool,
}

/// The filter panel's options, `params`' choices selected.
pub async fn filter_choices(
    state: &AppState,
    viewer: &Viewer,
    params: &InboxParams,
) -> Result<FilterChoices, PageRejection> {
    let svc = &state.services;
    let actor = &viewer.actor;
    let fail = |_| PageRejection::Failed;
    let channels = svc.channels(actor).await.map_err(fail)?;
    let teams = svc.teams(actor).await.map_err(fail)?;
    let members = svc.members(actor).await.map_err(fail)?;
    let tags = svc.tags(actor).await.map_err(fail)?;
    let reasons = svc.close_reasons(actor).await.map_err(fail)?;
    let statuses = ConversationStatus::ALL
        .iter()
        .map(|s| Choice {
            value: s.as_str().into(),
            label: super::format::status_label(*s).into(),
            selected: params.status == s.as_str(),
        })
        .collect();
    Ok(FilterChoices {
        channels: choices(channels, &params.channel, |c| (c.id.to_string(), c.name.clone())),
        teams: choices(teams, &params.team, |t| (t.id.to_string(), t.name.clone())),
        agents: choices(members, &params.agent, |m| (m.id.to_string(), m.name.clone())),
        tags: choices(tags, &params.tag, |t| (t.name.clone(), t.name.clone())),
        reasons: choices(reasons, &params.reason, |r| (r.clone(), r.clone())),
        statuses,
        date_fields: fixed(
            &[
                ("created", "Created"),
                ("closed", "Closed"),
                ("last_activity", "Last activity"),
            ],
            &params.field,
        ),
        periods: fixed(
            &[
                ("today", "Today"),
                ("last_7_days", "Last 7 days"),
                ("last_15_days", "Last 15 days"),
                ("last_30_days", "Last 30 days"),
                ("last_45_days", "Last 45 days"),
            ],
            &params.period,
        ),
        sorts: fixed(
            &[
                ("newest", "Newest"),
                ("last_activity", "Last activity"),
                ("closed", "Closed"),
                ("duration", "Longest"),
                ("response_time", "Slowest first answer"),
            ],
            &params.sort,
        ),
        ratings: fixed(
            &[("5", "5"), ("4", "4"), ("3", "3"), ("2", "2"), ("1", "1")],
            &params.rating,
        ),
        can_group: viewer.is_supervisor(),
    })
}

/// One of the member's saved filters beside the tabs.
struct SavedLink {
    id: String,
    name: String,
    href: String,
    current: bool,
}

/// Options of a select from fixed `(value, label)` pairs.
pub(crate) fn fixed(options: &[(&str, &str)], selected: &str) -> Vec<Choice> {
    options
        .iter()
        .map(|(value, label)| Choice {
            value: (*value).into(),
            label: (*label).into(),
            selected: *value == selected,
        })
        .collect()
}

/// Options of a select from `items`, the one whose value is `selected` chosen.
pub(crate) fn choices<T>(items: Vec<T>, selected: &str, f: impl Fn(&T) -> (String, String)) -> Vec<Choice> {
    items
        .iter()
        .map(|t| {
            let (value, label) = f(t);
            Choice {
                selected: value == selected,
                value,
                label,
            }
        })
        .collect()
}

/// `/w/{ws}/inbox`
pub async fn page(
    State(state): State<AppState>,
    viewer: Viewer,
    Query(params): Query<InboxParams>,
) -> Result<Response, PageRejection> {
    let section = params.section();
    let list = list_view(&state, &viewer, &params).await?;
    let pane = match params.c.parse() {
        Ok(id) => load_pane(&state, &viewer, id).await.ok(),
        Err(_) => None,
    };
    let svc = &state.services;
    let actor = &viewer.actor;
    let filters = filter_choices(&state, &viewer, &params).await?;
    let current_query = params.link(section.as_str(), &params.view);
    let saved = svc
        .saved_filters(actor)
        .await
        .map_err(|_| PageRejection::Failed)?
        .into_iter()
        .map(|f| SavedLink {
            id: f.id.to_string(),
            href: format!("/w/{}/inbox?{}", viewer.ws(), f.query),
            current: f.query == current_query,
            name: f.name,
        })
        .collect();
    // Tickets open on their Unassigned list.
    let open_view = if params.ticket_view().is_some() {
        params.view.as_str()
    } else {
        "unassigned"
    };
    let tab = |label, s: &str, view: &str| Tab {
        label,
        href: format!("/w/{}/inbox?{}", viewer.ws(), params.link(s, view)),
        current: section.as_str() == s && (view.is_empty() || view == open_view),
    };
    let tabs = vec![
        tab("Live", "live", ""),
        tab("Assigned", "assigned", ""),
        tab("Archived", "archived", ""),
        tab("Tickets", "tickets", ""),
    ];
    let ticket_tabs = if section == Section::Tickets {
        vec![
            tab("Unassigned", "tickets", "unassigned"),
            tab("Assigned", "tickets", "assigned"),
            tab("Closed", "tickets", "closed"),
        ]
    } else {
        Vec::new()
    };
    let title = match section {
        Section::Live => "Live",
        Section::Assigned => "Assigned",
        Section::Archived => "Archived",
        Section::Tickets => "Tickets",
    };
    Ok(render(&InboxPage {
        layout: Layout::new(&viewer, title, "inbox", "inbox.js"),
        tabs,
        ticket_tabs,
        list,
        pane,
        filters,
        saved,
        params,
    }))
}

#[derive(Template)]
#[template(path = "app/inbox_list_fragment.html")]
struct ListFragment {
    list: ListView,
}

/// `/w/{ws}/inbox/list`: the list alone, for live refresh.
pub async fn list_fragment(
    State(state): State<AppState>,
    viewer: Viewer,
    Query(params): Query<InboxParams>,
) -> Result<Response, PageRejection> {
    let list = list_view(&state, &viewer, &params).await?;
    Ok(render(&ListFragment { list }))
}

/// `/w/{ws}/inbox/export?format=csv|jsonl&…`: the list's filters and
/// search as a file, streamed.
pub async fn export(
    State(state): State<AppState>,
    viewer: Viewer,
    Query(params): Query<InboxParams>,
) -> Result<Response, PageRejection> {
    let format = match params.format.as_str() {
        "jsonl" => switchboard_service::ExportFormat::Jsonl,
        "xlsx" => switchboard_service::ExportFormat::Xlsx,
        _ => switchboard_service::ExportFormat::Csv,
    };
    let query = ConversationQuery {
        limit: None,
        ..params.query()
    };
    Ok(
        crate::api::exports::conversations_file(&state.services, &viewer.actor, query, format)
            .await
            .unwrap_or_else(axum::response::IntoResponse::into_response),
    )
}
