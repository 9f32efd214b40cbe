//! Campaigns (admins): create from a tag, a search or a CSV; follow the
//! ledger; pause, resume, cancel, retry the failed ones; export as CSV.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use switchboard_core::{CampaignId, WorkspaceId};
use switchboard_service::{
    CampaignAction, CampaignInput, CampaignView, CreatedCampaign, RecipientPage, RecipientQuery,
};

use crate::AppState;
use crate::api::PageOut;
use crate::auth::InWorkspace;
use crate::error::ApiResult;
use crate::extract::{Json, Path, Query};

type One = Path<(WorkspaceId, CampaignId)>;

#[derive(Debug, Default, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct CampaignListQuery {
    /// The `next_cursor` of the page before.
    pub cursor: Option<CampaignId>,
}

/// What to do with a campaign.
#[derive(Debug, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct CampaignActionRequest {
    pub action: CampaignAction,
}

pub async fn list(
    State(s): State<AppState>,
    InWorkspace(a): InWorkspace,
    Query(q): Query<CampaignListQuery>,
) -> ApiResult<axum::Json<PageOut<CampaignView>>> {
    let (items, next_cursor) = s.services.campaigns(&a, q.cursor).await?;
    Ok(axum::Json(PageOut { items, next_cursor }))
}

pub async fn create(
    State(s): State<AppState>,
    InWorkspace(a): InWorkspace,
    Json(input): Json<CampaignInput>,
) -> ApiResult<(StatusCode, axum::Json<CreatedCampaign>)> {
    Ok((
        StatusCode::CREATED,
        axum::Json(s.services.create_campaign(&a, input).await?),
    ))
}

pub async fn get(
    State(s): State<AppState>,
    InWorkspace(a): InWorkspace,
    Path((_, id)): One,
) -> ApiResult<axum::Json<CampaignView>> {
    Ok(axum::Json(s.services.campaign(&a, id).await?))
}

pub async fn recipients(
    State(s): State<AppState>,
    InWorkspace(a): InWorkspace,
    Path((_, id)): One,
    Query(q): Query<RecipientQuery>,
) -> ApiResult<axum::Json<RecipientPage>> {
    Ok(axum::Json(s.services.campaign_recipients(&a, id, q).await?))
}

pub async fn act(
    State(s): State<AppState>,
    InWorkspace(a): InWorkspace,
    Path((_, id)): One,
    Json(req): Json<CampaignActionRequest>,
) -> ApiResult<axum::Json<CampaignView>> {
    Ok(axum::Json(s.services.act_on_campaign(&a, id, req.action).await?))
}

/// The ledger as a CSV download.
pub async fn export(State(s): State<AppState>, InWorkspace(a): InWorkspace, Path((_, id)): One) -> ApiResult<Response> {
    let csv = s.services.campaign_csv(&a, id).await?;
    let headers = crate::api::download_headers(
        "text/csv; charset=utf-8",
        &format!("attachment; filename=\"campaign-{id}.csv\""),
    )?;
    Ok((StatusCode::OK, headers, csv).into_response())
}
