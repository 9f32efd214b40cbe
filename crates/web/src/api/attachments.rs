//! Attachments: raw-body uploads that stream into storage, downloads (of
//! the file, or of an image's preview) that stream out with headers that
//! keep a browser from running anything, and the workspace's upload limits.

use std::borrow::Cow;

use axum::body::Body;
use axum::extract::State;
use axum::http::header::{
    CACHE_CONTROL, CONTENT_DISPOSITION, CONTENT_LENGTH, CONTENT_SECURITY_POLICY, CONTENT_TYPE, ETAG, IF_NONE_MATCH,
    X_CONTENT_TYPE_OPTIONS,
};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use futures::TryStreamExt;
use schemars::JsonSchema;
use serde::Deserialize;
use switchboard_core::media;
use switchboard_core::{Attachment, AttachmentId, AttachmentLimits, ConversationId, MessageView, WorkspaceId};
use switchboard_service::{AttachmentLimitsInput, AttachmentRecord, Upload};

use crate::AppState;
use crate::auth::InWorkspace;
use crate::error::{ApiError, ApiResult};
use crate::extract::{Json, Path, Query};

/// The policy of every download: a document opened from our origin is
/// sandboxed (no script, no same-origin access) and loads nothing.
pub const DOWNLOAD_CSP: &str =
    "sandbox; default-src 'none'; img-src 'self'; media-src 'self'; style-src 'unsafe-inline'";

/// The upload's name and caption (the body is the file itself).
#[derive(Debug, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct UploadQuery {
    /// The file's name, shown to people; its type is read from the content.
    pub filename: Option<String>,
    /// Text shown with the file.
    pub caption: Option<String>,
}

/// `POST …/conversations/{conversation_id}/attachments?filename=…&caption=…`
/// with the file as the raw body (any `Content-Type`: the type is sniffed).
pub async fn upload(
    State(s): State<AppState>,
    InWorkspace(a): InWorkspace,
    Path((_, id)): Path<(WorkspaceId, ConversationId)>,
    Query(q): Query<UploadQuery>,
    headers: HeaderMap,
    body: Body,
) -> ApiResult<(StatusCode, axum::Json<MessageView>)> {
    let declared_size = headers
        .get(CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse().ok());
    let mut stream = body.into_data_stream().map_err(std::io::Error::other);
    let view = s
        .services
        .upload_attachment(
            &a,
            id,
            Upload {
                filename: q.filename,
                caption: q.caption,
                declared_size,
                body: &mut stream,
            },
        )
        .await?;
    Ok((StatusCode::CREATED, axum::Json(view)))
}

/// The name of a file uploaded to the caller's library (the body is the file).
#[derive(Debug, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct LibraryUploadQuery {
    /// The file's name, shown to people; its type is read from the content.
    pub filename: Option<String>,
}

/// `POST …/attachments?filename=…` with the file as the raw body: stored
/// for the caller's quick replies, posted nowhere.
pub async fn upload_library(
    State(s): State<AppState>,
    InWorkspace(a): InWorkspace,
    Query(q): Query<LibraryUploadQuery>,
    headers: HeaderMap,
    body: Body,
) -> ApiResult<(StatusCode, axum::Json<Attachment>)> {
    let declared_size = headers
        .get(CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse().ok());
    let mut stream = body.into_data_stream().map_err(std::io::Error::other);
    let attachment = s
        .services
        .upload_library_attachment(
            &a,
            Upload {
                filename: q.filename,
                caption: None,
                declared_size,
                body: &mut stream,
            },
        )
        .await?;
    Ok((StatusCode::CREATED, axum::Json(attachment)))
}

/// RFC 6266 / 8187: an ASCII fallback name and the exact UTF-8 name.
pub fn content_disposition(disposition: &str, filename: &str) -> String {
    let fallback: String = filename
        .chars()
        .map(|c| {
            if (c.is_ascii_graphic() && c != '"' && c != '\\') || c == ' ' {
                c
            } else {
                '_'
            }
        })
        .collect();
    let mut encoded = String::new();
    for b in filename.bytes() {
        if b.is_ascii_alphanumeric() || b"!#$&+-.^_`|~".contains(&b) {
            encoded.push(b as char);
        } else {
            encoded.push_str(&format!("%{b:02X}"));
        }
    }
    format!("{disposition}; filename=\"{fallback}\"; filename*=UTF-8''{encoded}")
}

#[derive(Debug, Default, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct DownloadQuery {
    /// `true`: a download even for images (which otherwise show inline).
    pub download: Option<bool>,
}

fn header(value: &str) -> HeaderValue {
    HeaderValue::from_str(value).unwrap_or_else(|_| HeaderValue::from_static("invalid"))
}

/// `GET …/attachments/{attachment_id}`: the file, streamed, if the caller
/// can see its conversation (404 otherwise).
pub async fn download(
    State(s): State<AppState>,
    InWorkspace(a): InWorkspace,
    Path((_, id)): Path<(WorkspaceId, AttachmentId)>,
    Query(q): Query<DownloadQuery>,
    request_headers: HeaderMap,
) -> ApiResult<Response> {
    let record = s.services.attachment(&a, id).await?;
    serve(&s, &Served::file(&record), q.download == Some(true), &request_headers).await
}

/// `GET …/attachments/{attachment_id}/preview`: the image's preview, for
/// whoever may download the file (404 otherwise, and when it has none).
pub async fn preview(
    State(s): State<AppState>,
    InWorkspace(a): InWorkspace,
    Path((_, id)): Path<(WorkspaceId, AttachmentId)>,
    request_headers: HeaderMap,
) -> ApiResult<Response> {
    let record = s.services.attachment(&a, id).await?;
    serve(&s, &Served::preview(&record)?, false, &request_headers).await
}

/// One stored object of an attachment, as [`serve`] sends it.
#[derive(Debug)]
pub struct Served<'a> {
    key: &'a str,
    /// Hex SHA-256 of the content: the ETag.
    sha256: &'a str,
    mime: &'a str,
    size: i64,
    filename: Cow<'a, str>,
}

impl<'a> Served<'a> {
    /// The file as it was uploaded.
    pub fn file(record: &'a AttachmentRecord) -> Self {
        let a = &record.attachment;
        Self {
            key: &record.storage_key,
            sha256: &a.sha256,
            mime: &a.mime,
            size: a.size,
            filename: Cow::Borrowed(&a.filename),
        }
    }

    /// An image's preview, named like the file with the preview's
    /// extension (`photo.png` → `photo.jpg`); 404 when it has none.
    pub fn preview(record: &'a AttachmentRecord) -> ApiResult<Self> {
        let p = record.preview.as_ref().ok_or_else(|| ApiError::not_found("preview"))?;
        let filename = &record.attachment.filename;
        let stem = filename.rsplit_once('.').map_or(filename.as_str(), |(stem, _)| stem);
        let extension = if p.mime == "image/png" { "png" } else { "jpg" };
        Ok(Self {
            key: &p.storage_key,
            sha256: switchboard_service::sha256_of_key(&p.storage_key),
            mime: &p.mime,
            size: p.size,
            filename: Cow::Owned(format!("{stem}.{extension}")),
        })
    }
}

/// Stream a stored object with headers that keep a browser from running it.
pub async fn serve(
    s: &AppState,
    object: &Served<'_>,
    force_download: bool,
    request_headers: &HeaderMap,
) -> ApiResult<Response> {
    let etag = format!("\"{}\"", object.sha256);
    let mut headers = HeaderMap::new();
    headers.insert(X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    headers.insert(CONTENT_SECURITY_POLICY, HeaderValue::from_static(DOWNLOAD_CSP));
    headers.insert("cross-origin-resource-policy", HeaderValue::from_static("same-origin"));
    // Revalidate every time: access is checked on each request.
    headers.insert(CACHE_CONTROL, HeaderValue::from_static("private, no-cache"));
    headers.insert(ETAG, header(&etag));
    let matches = request_headers
        .get(IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.split(',').any(|t| t.trim() == etag || t.trim() == "*"));
    if matches {
        return Ok((StatusCode::NOT_MODIFIED, headers).into_response());
    }
    let mime = if media::is_known(object.mime) {
        object.mime
    } else {
        "application/octet-stream"
    };
    let inline = media::is_inline_image(mime) && !force_download;
    headers.insert(CONTENT_TYPE, header(mime));
    headers.insert(CONTENT_LENGTH, header(&object.size.to_string()));
    headers.insert(
        CONTENT_DISPOSITION,
        header(&content_disposition(
            if inline { "inline" } else { "attachment" },
            &object.filename,
        )),
    );
    let stream = s.services.open_stored(object.key).await?;
    Ok((StatusCode::OK, headers, Body::from_stream(stream)).into_response())
}

pub async fn get_limits(
    State(s): State<AppState>,
    InWorkspace(a): InWorkspace,
) -> ApiResult<axum::Json<AttachmentLimits>> {
    Ok(axum::Json(s.services.attachment_limits(&a).await?))
}

pub async fn set_limits(
    State(s): State<AppState>,
    InWorkspace(a): InWorkspace,
    Json(input): Json<AttachmentLimitsInput>,
) -> ApiResult<axum::Json<AttachmentLimits>> {
    Ok(axum::Json(s.services.set_attachment_limits(&a, input).await?))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dispositions_carry_the_exact_name_and_a_safe_fallback() {
        assert_eq!(
            content_disposition("attachment", "recibo março.pdf"),
            "attachment; filename=\"recibo mar_o.pdf\"; filename*=UTF-8''recibo%20mar%C3%A7o.pdf"
        );
        assert_eq!(
            content_disposition("inline", "a\"b\\c;.png"),
            "inline; filename=\"a_b_c;.png\"; filename*=UTF-8''a%22b%5Cc%3B.png"
        );
    }
}
