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
    /// `YYYY-MM-DD`, created on or after (UTC).
    #[serde(default)]
    pub from: String,
    /// `YYYY-MM-DD`, created on or before (UTC).
    #[serde(default)]
    pub to: String,
    #[serde(default)]
    pub group: String,
    /// The open conversation.
    #[serde(default)]
    pub c: String,
}

fn day_start(date: &str) -> Option<Millis> {
    let d = chrono::NaiveDate::parse_from_str(date.trim(), "%Y-%m-%d").ok()?;
    Some(Millis(d.and_hms_opt(0, 0, 0)?.and_utc().timestamp_millis()))
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

    fn query(&self) -> ConversationQuery {
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
            created_from: day_start(&self.from),
            created_before: day_start(&self.to).map(|m| Millis(m.0 + 86_400_000)),
            limit: Some(100),
            ..ConversationQuery::default()
        }
    }

    /// This query string with another section (filters kept).
    fn link(&self, section: &str, view: &str) -> String {
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
    pub count: usize,
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
    pub total: usize,
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

/// Build the list for `params` as `viewer` may see it.
pub async fn list_view(state: &AppState, viewer: &Viewer, params: &InboxParams) -> Result<ListView, PageRejection> {
    let page = state
        .services
        .inbox(&viewer.actor, params.query())
        .await
        .map_err(|_| PageRejection::Failed)?;
    let names = names(state, viewer).await?;
    let now = state.services.now();
    let mut rows: Vec<InboxRow> = page.items;
    // Critical chats rise to the top of every list (DESIGN.md §4); newest first otherwise.
    rows.sort_by_key(|r| r.conversation.priority != Priority::Critical);
    let total = rows.len();
    let grouped = params.group == "agent" && viewer.is_supervisor();
    let mut groups: Vec<Group> = Vec::new();
    for r in rows {
        let key = if grouped {
            r.conversation
                .assignee_id
                .map(|u| names.user(u))
                .unwrap_or_else(|| "Unassigned".into())
        } else {
            String::new()
        };
        let view = row(r, &names, &params.c, now);
        match groups.iter_mut().find(|g| g.name == key) {
            Some(g) => {
                g.count += 1;
                g.rows.push(view);
            }
            None => groups.push(Group {
                name: key,
                count: 1,
                rows: vec![view],
            }),
        }
    }
    if grouped {
        groups.sort_by(|a, b| a.name.cmp(&b.name));
    }
    Ok(ListView {
        ws: viewer.ws().to_string(),
        groups,
        total,
        empty_text: match params.section() {
            Section::Live => "No chats are waiting.",
            Section::Assigned => "No chats are assigned.",
            Section::Archived => "Nothing in the archive matches.",
            Section::Tickets => "No tickets here.",
        },
        query: params.link(params.section().as_str(), &params.view),
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
    channels: Vec<Choice>,
    teams: Vec<Choice>,
    agents: Vec<Choice>,
    tags: Vec<Choice>,
    statuses: Vec<Choice>,
    can_group: bool,
}

fn choices<T>(items: Vec<T>, selected: &str, f: impl Fn(&T) -> (String, String)) -> Vec<Choice> {
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
    let channels = svc.channels(actor).await.map_err(|_| PageRejection::Failed)?;
    let teams = svc.teams(actor).await.map_err(|_| PageRejection::Failed)?;
    let members = svc.members(actor).await.map_err(|_| PageRejection::Failed)?;
    let tags = svc.tags(actor).await.map_err(|_| PageRejection::Failed)?;
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
    let statuses = ConversationStatus::ALL
        .iter()
        .map(|s| Choice {
            value: s.as_str().into(),
            label: super::format::status_label(*s).into(),
            selected: params.status == s.as_str(),
        })
        .collect();
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
        channels: choices(channels, &params.channel, |c| (c.id.to_string(), c.name.clone())),
        teams: choices(teams, &params.team, |t| (t.id.to_string(), t.name.clone())),
        agents: choices(members, &params.agent, |m| (m.id.to_string(), m.name.clone())),
        tags: choices(tags, &params.tag, |t| (t.name.clone(), t.name.clone())),
        statuses,
        can_group: viewer.is_supervisor(),
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
