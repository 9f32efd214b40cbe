//! Admin pages: agents, teams, channels, quick replies, templates, tags,
//! workspace settings, API tokens, the audit log. Lists are rendered here;
//! forms submit to the JSON API (see `assets/app/forms.js`), which checks
//! every permission again.

use askama::Template;
use axum::extract::{Path, State};
use axum::http::HeaderMap;
use axum::http::header::{HOST, LOCATION};
use axum::http::{HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use switchboard_core::{AssignmentRule, Role};

use super::format::clock;
use super::inbox::Choice;
use super::{Layout, PageRejection, Viewer, names, render};
use crate::AppState;

pub const SECTIONS: &[(&str, &str)] = &[
    ("agents", "Agents"),
    ("teams", "Teams"),
    ("channels", "Channels"),
    ("quick-replies", "Quick replies"),
    ("templates", "Templates"),
    ("campaigns", "Campaigns"),
    ("tags", "Tags"),
    ("settings", "Settings"),
    ("ai", "AI assist"),
    ("tokens", "API tokens"),
    ("audit", "Audit log"),
];

pub struct AgentRow {
    pub id: String,
    pub name: String,
    pub email: String,
    pub role: String,
    pub availability: String,
    pub capacity: i64,
    pub teams: String,
}

pub struct TeamRow {
    pub id: String,
    pub name: String,
    pub rule: String,
    pub members: Vec<(String, String)>,
    pub non_members: Vec<Choice>,
    pub routing_json: String,
}

pub struct ChannelRow {
    pub id: String,
    pub kind: String,
    pub name: String,
    pub webhook_url: String,
    pub team: String,
    pub snippet: String,
    pub has_bot: bool,
    /// The provider can be asked whether the account works.
    pub can_check: bool,
    /// The provider keeps templates to sync.
    pub can_sync_templates: bool,
    /// When the provider last reached the hook ("" when never).
    pub last_hook: String,
    /// The last request refused, with when ("" when none).
    pub last_hook_error: String,
}

pub struct SimpleRow {
    pub id: String,
    pub cells: Vec<String>,
}

#[derive(Template, Default)]
#[template(path = "app/admin.html")]
struct AdminPage {
    layout: Layout,
    section: String,
    tabs: Vec<(String, String, bool)>,
    agents: Vec<AgentRow>,
    teams: Vec<TeamRow>,
    team_choices: Vec<Choice>,
    member_choices: Vec<Choice>,
    channels: Vec<ChannelRow>,
    kinds: Vec<Choice>,
    rules: Vec<Choice>,
    roles: Vec<Choice>,
    rows: Vec<SimpleRow>,
    invitations: Vec<SimpleRow>,
    settings_json: String,
    limits_json: String,
    allow_private: bool,
    retention_days: i64,
    monthly_archive: bool,
    /// The close reasons, one per line.
    close_reasons: String,
    /// The retention dry run: how many conversations and files would go, the oldest.
    purge_conversations: u64,
    purge_files: u64,
    purge_oldest: Vec<(String, String)>,
    archives: Vec<SimpleRow>,
    /// The AI provider as set (the key only as "set").
    assist: Option<switchboard_service::AssistSettingsView>,
    /// Its actions, each with whether it is on.
    assist_features: Vec<Choice>,
}

/// `/w/{ws}/admin`: the first section.
pub async fn index(viewer: Viewer) -> Response {
    match HeaderValue::from_str(&format!("/w/{}/admin/agents", viewer.ws())) {
        Ok(to) => (StatusCode::SEE_OTHER, [(LOCATION, to)]).into_response(),
        Err(_) => PageRejection::Failed.into_response(),
    }
}

fn base_url(headers: &HeaderMap, state: &AppState) -> String {
    let host = headers.get(HOST).and_then(|h| h.to_str().ok()).unwrap_or("localhost");
    let scheme = if state.web.secure_cookies { "https" } else { "http" };
    format!("{scheme}://{host}")
}

/// `/w/{ws}/admin/{section}` (admins only; others get 404).
pub async fn section(
    State(state): State<AppState>,
    viewer: Viewer,
    headers: HeaderMap,
    Path((_, section)): Path<(String, String)>,
) -> Result<Response, PageRejection> {
    if !viewer.is_admin() {
        return Err(PageRejection::NotFound);
    }
    let Some((key, title)) = SECTIONS.iter().find(|(k, _)| *k == section) else {
        return Err(PageRejection::NotFound);
    };
    let svc = &state.services;
    let actor = &viewer.actor;
    let fail = |_| PageRejection::Failed;
    let names = names(&state, &viewer).await?;
    let mut page = AdminPage {
        layout: Layout::new(&viewer, format!("Admin · {title}"), "admin", "page.js"),
        section: (*key).to_owned(),
        tabs: SECTIONS
            .iter()
            .map(|(k, t)| (format!("/w/{}/admin/{k}", viewer.ws()), (*t).to_owned(), k == key))
            .collect(),
        ..Default::default()
    };
    let teams = svc.teams(actor).await.map_err(fail)?;
    let members = svc.members(actor).await.map_err(fail)?;
    page.team_choices = teams
        .iter()
        .map(|t| Choice {
            value: t.id.to_string(),
            label: t.name.clone(),
            selected: false,
        })
        .collect();
    page.member_choices = members
        .iter()
        .map(|m| Choice {
            value: m.id.to_string(),
            label: m.name.clone(),
            selected: false,
        })
        .collect();
    match *key {
        "agents" => {
            page.roles = Role::ALL
                .iter()
                .map(|r| Choice {
                    value: r.as_str().into(),
                    label: r.as_str().into(),
                    selected: *r == Role::Agent,
                })
                .collect();
            page.invitations = svc
                .invitations(actor)
                .await
                .map_err(fail)?
                .into_iter()
                .map(|i| SimpleRow {
                    id: i.id,
                    cells: vec![i.name, i.email, i.role.to_string(), clock(i.expires_at)],
                })
                .collect();
            page.agents = members
                .iter()
                .map(|m| AgentRow {
                    id: m.id.to_string(),
                    name: m.name.clone(),
                    email: m.email.clone(),
                    role: m.role.to_string(),
                    availability: m.availability.to_string(),
                    capacity: m.capacity,
                    teams: m.team_ids.iter().map(|t| names.team(*t)).collect::<Vec<_>>().join(", "),
                })
                .collect();
        }
        "teams" => {
            page.rules = AssignmentRule::ALL
                .iter()
                .map(|r| Choice {
                    value: r.as_str().into(),
                    label: r.as_str().replace('_', " "),
                    selected: *r == AssignmentRule::RoundRobin,
                })
                .collect();
            page.teams = teams
                .iter()
                .map(|t| TeamRow {
                    id: t.id.to_string(),
                    name: t.name.clone(),
                    rule: t.assignment_rule.as_str().replace('_', " "),
                    members: t.member_ids.iter().map(|u| (u.to_string(), names.user(*u))).collect(),
                    non_members: members
                        .iter()
                        .filter(|m| !t.member_ids.contains(&m.id))
                        .map(|m| Choice {
                            value: m.id.to_string(),
                            label: m.name.clone(),
                            selected: false,
                        })
                        .collect(),
                    routing_json: serde_json::to_string_pretty(&t.routing).unwrap_or_default(),
                })
                .collect();
        }
        "channels" => {
            let base = base_url(&headers, &state);
            // Only kinds with a working adapter can be created.
            let creatable = svc.creatable_kinds();
            page.kinds = creatable
                .iter()
                .enumerate()
                .map(|(i, k)| Choice {
                    value: k.as_str().into(),
                    label: svc.capabilities(*k).label.into(),
                    selected: i == 0,
                })
                .collect();
            let hooks: std::collections::HashMap<_, _> = svc
                .channel_hook_statuses(actor)
                .await
                .map_err(fail)?
                .into_iter()
                .map(|h| (h.channel_id, h))
                .collect();
            page.channels = svc
                .channels(actor)
                .await
                .map_err(fail)?
                .into_iter()
                .map(|c| {
                    let hook = hooks.get(&c.id);
                    let caps = svc.capabilities(c.kind);
                    ChannelRow {
                        id: c.id.to_string(),
                        kind: caps.label.into(),
                        name: c.name.clone(),
                        webhook_url: if caps.inbound_hook {
                            format!("{base}/hooks/{}/{}", c.kind, c.id)
                        } else {
                            String::new()
                        },
                        team: c.default_team_id.map(|t| names.team(t)).unwrap_or_default(),
                        snippet: if caps.widget {
                            format!(
                                "<script src=\"{base}/widget.js\" data-channel=\"{}\" async></script>",
                                c.id
                            )
                        } else {
                            String::new()
                        },
                        has_bot: c.bot.is_some(),
                        can_check: caps.checks_connection,
                        can_sync_templates: caps.syncs_templates,
                        last_hook: hook
                            .and_then(|h| h.last_received_at)
                            .map(super::format::clock)
                            .unwrap_or_default(),
                        last_hook_error: hook
                            .and_then(|h| h.last_error.as_ref().zip(h.last_error_at))
                            .map(|(e, at)| format!("{}: {e}", super::format::clock(at)))
                            .unwrap_or_default(),
                    }
                })
                .collect();
        }
        "tags" => {
            page.rows = svc
                .tags(actor)
                .await
                .map_err(fail)?
                .into_iter()
                .map(|t| SimpleRow {
                    id: t.id.to_string(),
                    cells: vec![t.name, t.color.unwrap_or_default()],
                })
                .collect();
        }
        "settings" => {
            let settings = svc.workspace_settings(actor).await.map_err(fail)?;
            page.allow_private = settings.allow_private_targets;
            page.retention_days = settings.retention_days;
            page.monthly_archive = settings.monthly_archive;
            page.close_reasons = settings.close_reasons.join("\n");
            let preview = svc.retention_preview(actor).await.map_err(fail)?;
            page.purge_conversations = preview.conversations;
            page.purge_files = preview.attachments;
            page.purge_oldest = preview
                .oldest
                .into_iter()
                .take(10)
                .map(|c| (c.id.to_string(), switchboard_core::transcript::iso_utc(c.closed_at)))
                .collect();
            page.archives = svc
                .monthly_archives(actor)
                .await
                .map_err(fail)?
                .into_iter()
                .map(|a| SimpleRow {
                    id: a.month.clone(),
                    cells: vec![
                        a.month,
                        a.conversations.to_string(),
                        switchboard_service::human_size(a.bytes),
                    ],
                })
                .collect();
            page.settings_json = serde_json::to_string_pretty(&settings.routing).unwrap_or_default();
            page.limits_json =
                serde_json::to_string(&svc.attachment_limits(actor).await.map_err(fail)?).unwrap_or_default();
        }
        "ai" => {
            let settings = svc.assist_settings(actor).await.map_err(fail)?;
            page.assist_features = switchboard_core::assist::Feature::ALL
                .iter()
                .map(|f| Choice {
                    value: f.as_str().into(),
                    label: f.as_str().replace('_', " "),
                    selected: settings.features.contains(f),
                })
                .collect();
            let names = super::names(&state, &viewer).await?;
            page.rows = svc
                .assist_calls(actor, None, Some(50))
                .await
                .map_err(fail)?
                .items
                .into_iter()
                .map(|c| SimpleRow {
                    id: c.id,
                    cells: vec![
                        clock(c.created_at),
                        c.user_id.parse().map(|u| names.user(u)).unwrap_or_default(),
                        c.action,
                        c.model,
                        match (c.prompt_tokens, c.completion_tokens) {
                            (Some(p), Some(o)) => format!("{p} + {o}"),
                            _ => "–".into(),
                        },
                        format!("{} ms", c.latency_ms),
                        c.outcome,
                    ],
                })
                .collect();
            page.assist = Some(settings);
        }
        "tokens" => {
            page.rows = svc
                .api_tokens(actor)
                .await
                .map_err(fail)?
                .into_iter()
                .map(|t| SimpleRow {
                    id: t.id.to_string(),
                    cells: vec![
                        t.name,
                        format!("{}…", t.prefix),
                        clock(t.created_at),
                        t.last_used_at.map(clock).unwrap_or_else(|| "never".into()),
                        if t.revoked_at.is_some() {
                            "revoked".into()
                        } else {
                            "active".into()
                        },
                    ],
                })
                .collect();
        }
        _ => {}
    }
    Ok(render(&page))
}
