//! The console and analytics: tiles, the conversations table and the
//! figures of DESIGN.md §8 (admins; supervisors for their teams).

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use switchboard_service::{Analytics, AnalyticsQuery, ConsoleTiles, ConversationQuery, ExportRow};

use crate::AppState;
use crate::api::{Items, PageOut};
use crate::auth::InWorkspace;
use crate::error::ApiResult;
use crate::extract::Query;

pub async fn tiles(State(s): State<AppState>, InWorkspace(a): InWorkspace) -> ApiResult<axum::Json<ConsoleTiles>> {
    Ok(axum::Json(s.services.console_tiles(&a).await?))
}

pub async fn conversations(
    State(s): State<AppState>,
    InWorkspace(a): InWorkspace,
    Query(q): Query<ConversationQuery>,
) -> ApiResult<axum::Json<PageOut<ExportRow>>> {
    Ok(axum::Json(s.services.console_rows(&a, q).await?.into()))
}

pub async fn analytics(
    State(s): State<AppState>,
    InWorkspace(a): InWorkspace,
    Query(q): Query<AnalyticsQuery>,
) -> ApiResult<axum::Json<Analytics>> {
    Ok(axum::Json(s.services.analytics(&a, q).await?))
}

pub async fn analytics_csv(
    State(s): State<AppState>,
    InWorkspace(a): InWorkspace,
    Query(q): Query<AnalyticsQuery>,
) -> ApiResult<Response> {
    let report = s.services.analytics(&a, q).await?;
    let name = format!("analytics-{}-{}.csv", report.from_date, report.to_date);
    let headers = crate::api::download_headers("text/csv; charset=utf-8", &format!("attachment; filename=\"{name}\""))?;
    Ok((StatusCode::OK, headers, report.to_csv()).into_response())
}

/// The workspace's close reasons, for any member closing a chat.
pub async fn close_reasons(
    State(s): State<AppState>,
    InWorkspace(a): InWorkspace,
) -> ApiResult<axum::Json<Items<String>>> {
    Ok(axum::Json(Items {
        items: s.services.close_reasons(&a).await?,
    }))
}
