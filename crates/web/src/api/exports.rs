//! Exports of the conversations matching a filter and search, streamed as
//! they are read (memory stays flat whatever the size).

use axum::body::Body;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use futures::StreamExt;
use switchboard_core::permissions::Actor;
use switchboard_service::{ConversationQuery, ExportFormat, Services, export_filename};

use crate::AppState;
use crate::auth::InWorkspace;
use crate::error::ApiResult;
use crate::extract::Query;

/// The streaming download of `q` in `format` (pages use it too).
pub async fn conversations_file(
    services: &Services,
    actor: &Actor,
    q: ConversationQuery,
    format: ExportFormat,
) -> ApiResult<Response> {
    let stream = services.export_conversations(actor, q, format).await?;
    let body = Body::from_stream(stream.map(|chunk| {
        chunk.map_err(|e| {
            // The status is sent; a failure now cuts the file short (and is logged).
            tracing::warn!(error = %e, "export stopped");
            std::io::Error::other("export stopped")
        })
    }));
    let name = export_filename(format, services.now());
    let headers = crate::api::download_headers(format.content_type(), &format!("attachment; filename=\"{name}\""))?;
    Ok((StatusCode::OK, headers, body).into_response())
}

/// `GET …/exports/conversations.csv`
pub async fn csv(
    State(s): State<AppState>,
    InWorkspace(a): InWorkspace,
    Query(q): Query<ConversationQuery>,
) -> ApiResult<Response> {
    conversations_file(&s.services, &a, q, ExportFormat::Csv).await
}

/// `GET …/exports/conversations.xlsx`
pub async fn xlsx(
    State(s): State<AppState>,
    InWorkspace(a): InWorkspace,
    Query(q): Query<ConversationQuery>,
) -> ApiResult<Response> {
    conversations_file(&s.services, &a, q, ExportFormat::Xlsx).await
}

/// `GET …/exports/conversations.jsonl`
pub async fn jsonl(
    State(s): State<AppState>,
    InWorkspace(a): InWorkspace,
    Query(q): Query<ConversationQuery>,
) -> ApiResult<Response> {
    conversations_file(&s.services, &a, q, ExportFormat::Jsonl).await
}
