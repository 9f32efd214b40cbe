//! Admin › Campaigns: the list with live counts and the form for a new one
//! (tag, search or CSV audience; a value source per placeholder), and one
//! campaign's report: counts that update while it runs, the ledger paged
//! and filtered, pause / resume / cancel / retry, the CSV export. Forms and
//! actions go through the JSON API (`assets/app/campaigns.js`).

use askama::Template;
use axum::extract::{Path, State};
use axum::response::Response;
use switchboard_core::CampaignId;
use switchboard_core::campaign::{Audience, Campaign, CampaignCounts, RecipientStatus};

use super::admin::SECTIONS;
use super::format::clock;
use super::inbox::Choice;
use super::{Layout, PageRejection, Viewer, render};
use crate::AppState;

pub struct CampaignRow {
    pub id: String,
    pub name: String,
    pub channel: String,
    pub audience: String,
    pub status: String,
    pub counts: CampaignCounts,
    pub created: String,
}

#[derive(Template)]
#[template(path = "app/campaigns.html")]
struct CampaignsPage {
    layout: Layout,
    tabs: Vec<(String, String, bool)>,
    rows: Vec<CampaignRow>,
    next: Option<String>,
    channels: Vec<Choice>,
    tags: Vec<Choice>,
}

#[derive(Template)]
#[template(path = "app/campaign.html")]
struct CampaignPage {
    layout: Layout,
    tabs: Vec<(String, String, bool)>,
    row: CampaignRow,
    rate: u32,
    send_at: String,
    template: String,
    statuses: Vec<&'static str>,
}

fn tabs(viewer: &Viewer) -> Vec<(String, String, bool)> {
    SECTIONS
        .iter()
        .map(|(k, t)| {
            (
                format!("/w/{}/admin/{k}", viewer.ws()),
                (*t).to_owned(),
                *k == "campaigns",
            )
        })
        .collect()
}

fn audience_label(a: &Audience) -> String {
    match a {
        Audience::Tag { tag } => format!("tag {tag}"),
        Audience::Search { query } => format!("search “{query}”"),
        Audience::Csv { filename } => format!("file {filename}"),
    }
}

fn row_of(c: &Campaign, counts: CampaignCounts, channel: String) -> CampaignRow {
    CampaignRow {
        id: c.id.to_string(),
        name: c.name.clone(),
        channel,
        audience: audience_label(&c.audience),
        status: c.status.to_string(),
        counts,
        created: clock(c.created_at),
    }
}

#[derive(Debug, Default, serde::Deserialize)]
pub struct ListParams {
    #[serde(default)]
    cursor: Option<CampaignId>,
}

/// `/w/{ws}/admin/campaigns` (admins only; others get 404).
pub async fn list(
    State(state): State<AppState>,
    viewer: Viewer,
    axum::extract::Query(params): axum::extract::Query<ListParams>,
) -> Result<Response, PageRejection> {
    if !viewer.is_admin() {
        return Err(PageRejection::NotFound);
    }
    let svc = &state.services;
    let actor = &viewer.actor;
    let fail = |_| PageRejection::Failed;
    let channels = svc.channels(actor).await.map_err(fail)?;
    let channel_name = |id| {
        channels
            .iter()
            .find(|c| c.id == id)
            .map(|c| c.name.clone())
            .unwrap_or_default()
    };
    let (views, next) = svc.campaigns(actor, params.cursor).await.map_err(fail)?;
    let rows = views
        .into_iter()
        .map(|v| row_of(&v.campaign, v.counts, channel_name(v.campaign.channel_id)))
        .collect();
    let page = CampaignsPage {
        layout: Layout::new(&viewer, "Admin · Campaigns", "admin", "campaigns.js"),
        tabs: tabs(&viewer),
        rows,
        next,
        channels: channels
            .iter()
            .filter(|c| svc.capabilities(c.kind).templates)
            .map(|c| Choice {
                value: c.id.to_string(),
                label: c.name.clone(),
                selected: false,
            })
            .collect(),
        tags: svc
            .tags(actor)
            .await
            .map_err(fail)?
            .into_iter()
            .map(|t| Choice {
                value: t.name.clone(),
                label: t.name,
                selected: false,
            })
            .collect(),
    };
    Ok(render(&page))
}

/// `/w/{ws}/admin/campaigns/{id}`: the report.
pub async fn show(
    State(state): State<AppState>,
    viewer: Viewer,
    Path((_, id)): Path<(String, CampaignId)>,
) -> Result<Response, PageRejection> {
    if !viewer.is_admin() {
        return Err(PageRejection::NotFound);
    }
    let svc = &state.services;
    let actor = &viewer.actor;
    let view = svc.campaign(actor, id).await.map_err(|_| PageRejection::NotFound)?;
    let channel = svc
        .channels(actor)
        .await
        .map_err(|_| PageRejection::Failed)?
        .into_iter()
        .find(|c| c.id == view.campaign.channel_id)
        .map(|c| c.name)
        .unwrap_or_default();
    let template = match view.campaign.template_id {
        Some(t) => svc
            .template(actor, t)
            .await
            .map(|t| format!("{} ({})", t.name, t.language))
            .unwrap_or_else(|_| "deleted".into()),
        None => "deleted".into(),
    };
    let c = &view.campaign;
    let page = CampaignPage {
        layout: Layout::new(&viewer, format!("Campaign · {}", c.name), "admin", "campaigns.js"),
        tabs: tabs(&viewer),
        rate: c.rate_per_second,
        send_at: clock(c.send_at),
        template,
        statuses: RecipientStatus::ALL.iter().map(|s| s.as_str()).collect(),
        row: row_of(c, view.counts, channel),
    };
    Ok(render(&page))
}
