//! A conversation's transcript as a download: plain text (the default),
//! a readable, printable HTML page with image previews, or JSON (every
//! entry with its author, activities and attachment metadata); notes and
//! comments optional.

use askama::Template;
use axum::extract::State;
use axum::http::header::CONTENT_SECURITY_POLICY;
use axum::http::{HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use schemars::JsonSchema;
use serde::Deserialize;
use switchboard_core::transcript::{filename, iso_utc};
use switchboard_core::{ConversationId, DeliveryStatus, MessageKind, Priority, WorkspaceId};
use switchboard_service::TranscriptParts;

use crate::AppState;
use crate::auth::InWorkspace;
use crate::error::{ApiError, ApiResult, ErrorCode};
use crate::extract::{Path, Query};

#[derive(Debug, Clone, Copy, Default, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum TranscriptFormat {
    #[default]
    Text,
    Html,
    Json,
    /// The text and JSON transcripts with every attachment, as a ZIP.
    Zip,
}

#[derive(Debug, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct TranscriptQuery {
    /// `text` (default), `html`, `json` or `zip` (with the attachments).
    pub format: Option<TranscriptFormat>,
    /// Include private notes and supervisor comments (default `true`).
    pub notes: Option<bool>,
}

struct FileLine {
    name: String,
    url: String,
    preview: String,
    image: bool,
    size: String,
}

struct EntryLine {
    class: &'static str,
    at: String,
    author: String,
    marker: &'static str,
    text: String,
    files: Vec<FileLine>,
    failed: String,
}

#[derive(Template)]
#[template(path = "transcript.html")]
struct TranscriptPage {
    id: String,
    contact: String,
    channel: String,
    status: String,
    assignee: String,
    team: String,
    tags: String,
    created: String,
    closed: String,
    entries: Vec<EntryLine>,
}

fn size(bytes: i64) -> String {
    match bytes {
        b if b >= 1 << 20 => format!("{:.1} MB", b as f64 / f64::from(1 << 20)),
        b if b >= 1 << 10 => format!("{:.1} KB", b as f64 / 1024.0),
        b => format!("{b} B"),
    }
}

fn html_page(p: &TranscriptParts) -> TranscriptPage {
    let c = &p.conversation;
    let entries = p
        .messages
        .iter()
        .map(|v| {
            let m = &v.message;
            let class = match (m.kind, m.direction) {
                (MessageKind::Activity, _) => "activity",
                (MessageKind::Note, _) => "note",
                (MessageKind::Comment, _) => "comment",
                (_, switchboard_core::Direction::In) => "in",
                _ => "out",
            };
            EntryLine {
                class,
                at: iso_utc(m.created_at),
                author: p.author(v),
                marker: match m.kind {
                    MessageKind::Note => "private note",
                    MessageKind::Comment => "comment",
                    MessageKind::Template => "template",
                    _ => "",
                },
                text: p.activity(v).or_else(|| m.body.clone()).unwrap_or_default(),
                files: v
                    .attachments
                    .iter()
                    .map(|a| FileLine {
                        name: a.filename.clone(),
                        url: a.url.clone(),
                        image: a.preview_url.is_some(),
                        preview: a.preview_url.clone().unwrap_or_default(),
                        size: size(a.size),
                    })
                    .collect(),
                failed: if m.delivery_status == Some(DeliveryStatus::Failed) {
                    m.delivery_error.clone().unwrap_or_else(|| "failed".into())
                } else {
                    String::new()
                },
            }
        })
        .collect();
    TranscriptPage {
        id: c.id.to_string(),
        contact: p.contact_name.clone().unwrap_or_else(|| "Customer".into()),
        channel: format!("{} ({})", p.channel_name, p.channel_kind),
        status: c.status.to_string(),
        assignee: c.assignee_id.map(|u| p.names.user(u)).unwrap_or_default(),
        team: c
            .team_id
            .and_then(|t| p.names.teams.get(&t).cloned())
            .unwrap_or_default(),
        tags: if c.priority == Priority::Critical {
            std::iter::once("critical".to_owned())
                .chain(c.tags.iter().cloned())
                .collect::<Vec<_>>()
                .join(", ")
        } else {
            c.tags.join(", ")
        },
        created: iso_utc(c.times.created_at),
        closed: c.times.closed_at.map(iso_utc).unwrap_or_default(),
        entries,
    }
}

fn file_response(
    content_type: &'static str,
    disposition: &str,
    body: String,
    csp: Option<&'static str>,
) -> ApiResult<Response> {
    let mut headers = crate::api::download_headers(content_type, disposition)?;
    if let Some(csp) = csp {
        headers.insert(CONTENT_SECURITY_POLICY, HeaderValue::from_static(csp));
    }
    Ok((StatusCode::OK, headers, body).into_response())
}

/// `GET …/conversations/{conversation_id}/transcript`: the conversation,
/// if the caller can see it (404 otherwise).
pub async fn download(
    State(s): State<AppState>,
    InWorkspace(a): InWorkspace,
    Path((_, id)): Path<(WorkspaceId, ConversationId)>,
    Query(q): Query<TranscriptQuery>,
) -> ApiResult<Response> {
    let notes = q.notes.unwrap_or(true);
    // File names are built from the id alone, so they are plain ASCII.
    let stem = filename(id);
    let stem = stem.trim_end_matches(".txt");
    match q.format.unwrap_or_default() {
        TranscriptFormat::Text if notes => {
            let t = s.services.transcript(&a, id).await?;
            file_response(
                "text/plain; charset=utf-8",
                &format!("attachment; filename=\"{}\"", t.filename),
                t.text,
                None,
            )
        }
        TranscriptFormat::Text => {
            let parts = s.services.transcript_parts(&a, id, false).await?;
            let text = parts.text();
            file_response(
                "text/plain; charset=utf-8",
                &format!("attachment; filename=\"{stem}.txt\""),
                text,
                None,
            )
        }
        TranscriptFormat::Json => {
            let parts = s.services.transcript_parts(&a, id, notes).await?;
            let body = serde_json::to_string_pretty(&parts.to_json())
                .map_err(|_| ApiError::new(ErrorCode::Internal, "internal error"))?;
            file_response(
                "application/json",
                &format!("attachment; filename=\"{stem}.json\""),
                body,
                None,
            )
        }
        TranscriptFormat::Zip => {
            use futures::StreamExt;
            let stream = s.services.transcript_zip(&a, id, notes).await?;
            let body = axum::body::Body::from_stream(stream.map(|chunk| {
                chunk.map_err(|e| {
                    tracing::warn!(error = %e, "transcript archive stopped");
                    std::io::Error::other("transcript archive stopped")
                })
            }));
            let headers =
                crate::api::download_headers("application/zip", &format!("attachment; filename=\"{stem}.zip\""))?;
            Ok((StatusCode::OK, headers, body).into_response())
        }
        TranscriptFormat::Html => {
            let parts = s.services.transcript_parts(&a, id, notes).await?;
            let body = html_page(&parts)
                .render()
                .map_err(|_| ApiError::new(ErrorCode::Internal, "internal error"))?;
            // Shown in the browser to read or print: its own styles, no scripts at all.
            file_response(
                "text/html; charset=utf-8",
                &format!("inline; filename=\"{stem}.html\""),
                body,
                Some(
                    "default-src 'none'; style-src 'unsafe-inline'; img-src 'self' data:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
                ),
            )
        }
    }
}
