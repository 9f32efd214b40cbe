//! A member's saved archive filters.

use axum::extract::State;
use axum::http::StatusCode;
use switchboard_core::{SavedFilterId, WorkspaceId};
use switchboard_service::{SavedFilterInput, SavedFilterView};

use crate::AppState;
use crate::api::Items;
use crate::auth::InWorkspace;
use crate::error::ApiResult;
use crate::extract::{Json, Path};

pub async fn list(
    State(s): State<AppState>,
    InWorkspace(a): InWorkspace,
) -> ApiResult<axum::Json<Items<SavedFilterView>>> {
    Ok(axum::Json(Items {
        items: s.services.saved_filters(&a).await?,
    }))
}

pub async fn create(
    State(s): State<AppState>,
    InWorkspace(a): InWorkspace,
    Json(input): Json<SavedFilterInput>,
) -> ApiResult<(StatusCode, axum::Json<SavedFilterView>)> {
    Ok((
        StatusCode::CREATED,
        axum::Json(s.services.save_filter(&a, input).await?),
    ))
}

pub async fn delete(
    State(s): State<AppState>,
    InWorkspace(a): InWorkspace,
    Path((_, id)): Path<(WorkspaceId, SavedFilterId)>,
) -> ApiResult<StatusCode> {
    s.services.delete_saved_filter(&a, id).await?;
    Ok(StatusCode::NO_CONTENT)
}
