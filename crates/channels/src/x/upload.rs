//! Files to an X customer (channels.md §7.4): a direct message names a
//! media id, so each file is uploaded to X first, as the account (OAuth
//! 1.0a like every call; a multipart or JSON body is not signed).
//!
//! Confirmed from X's API v2 reference (docs.x.com, read for this change):
//! - a still image in one request, `POST /2/media/upload` as
//!   `multipart/form-data` with `media` (the raw bytes), `media_category`
//!   (`dm_image`) and `media_type`; that endpoint takes only `tweet_image`,
//!   `dm_image` and `subtitles`, and JPEG, BMP, PNG, WEBP, PJPEG and TIFF
//!   (<https://docs.x.com/x-api/media/upload-media>);
//! - a GIF or video in chunks: `POST /2/media/upload/initialize` with JSON
//!   `media_category` (`dm_gif`, `dm_video`), `media_type` and
//!   `total_bytes` (<https://docs.x.com/x-api/media/initialize-media-upload>),
//!   `POST /2/media/upload/{id}/append` as multipart `media` and
//!   `segment_index` 0–999 (<https://docs.x.com/x-api/media/append-media-upload>),
//!   `POST /2/media/upload/{id}/finalize`
//!   (<https://docs.x.com/x-api/media/media-upload-finalize>), then, while
//!   `processing_info.state` is `pending` or `in_progress`,
//!   `GET /2/media/upload?command=STATUS&media_id={id}` after
//!   `check_after_secs` (<https://docs.x.com/x-api/media/get-media-upload-status>);
//! - every answer's `data.id` is the media id a DM's
//!   `attachments: [{"media_id"}]` names, one per message.
//!
//! Assumed (from the older v1.1 media guide and client libraries, not the
//! v2 pages): the limits, images 5 MB, GIFs 15 MB, videos 512 MB (ours is
//! lower, below); that a DM video may be MP4 or MOV; a chunk of 4 MB (v1.1
//! said at most 5 MB).

use serde_json::{Value, json};

use super::api::{Body, call, url_of};
use super::{Config, XApi};
use crate::net::OutboundHttp;
use crate::{OutboundFile, SendError};

const MB: i64 = 1024 * 1024;

/// The still images a DM takes, one request each.
pub(super) const IMAGE_MAX_BYTES: i64 = 5 * MB;
/// An animated GIF, uploaded in chunks.
pub(super) const GIF_MAX_BYTES: i64 = 15 * MB;
/// X takes videos up to 512 MB; a file is read into memory whole to upload
/// (as VK's are), so we hand X at most this.
pub(super) const VIDEO_MAX_BYTES: i64 = 50 * MB;

/// The size of each appended chunk.
const CHUNK_BYTES: usize = 4 * 1024 * 1024;
/// How long we wait for X to process a GIF or video before trying the
/// delivery again later.
const PROCESSING_PATIENCE_SECS: u64 = 120;

/// How X takes a kind of file.
struct Category {
    /// X's `media_category`.
    name: &'static str,
    /// What people call it, for refusals.
    label: &'static str,
    max_bytes: i64,
    /// GIFs and videos go in chunks (the one-request upload takes images only).
    chunked: bool,
}

fn category_of(file: &OutboundFile) -> Result<Category, SendError> {
    let (name, label, max_bytes, chunked) = match file.mime.as_str() {
        "image/jpeg" | "image/pjpeg" | "image/png" | "image/webp" | "image/bmp" | "image/tiff" => {
            ("dm_image", "images", IMAGE_MAX_BYTES, false)
        }
        "image/gif" => ("dm_gif", "GIFs", GIF_MAX_BYTES, true),
        "video/mp4" | "video/quicktime" => ("dm_video", "videos", VIDEO_MAX_BYTES, true),
        other => {
            return Err(SendError::Permanent(format!(
                "X direct messages carry images, GIFs and MP4 or MOV videos only: {} is {other}",
                file.filename
            )));
        }
    };
    Ok(Category {
        name,
        label,
        max_bytes,
        chunked,
    })
}

fn megabytes(bytes: i64) -> String {
    format!("{:.1} MB", bytes as f64 / MB as f64)
}

/// The media id of `data` in X's answer.
fn id_in(answer: &Value) -> Result<String, SendError> {
    answer["data"]["id"]
        .as_str()
        .map(str::to_owned)
        .ok_or_else(|| SendError::Retryable("X's upload answer has no media id".into()))
}

async fn answer_of(response: reqwest::Response) -> Result<Value, SendError> {
    response
        .json()
        .await
        .map_err(|e| SendError::Retryable(format!("X's upload answer could not be read: {e}")))
}

fn part(bytes: Vec<u8>, file: &OutboundFile) -> Result<reqwest::multipart::Part, SendError> {
    reqwest::multipart::Part::bytes(bytes)
        .file_name(file.filename.clone())
        .mime_str(&file.mime)
        .map_err(|e| SendError::Permanent(format!("the file's type: {e}")))
}

/// How X takes `file`, or why it does not: a kind X does not take, or a
/// file over X's limit for its kind, fails for good.
fn category_for(file: &OutboundFile) -> Result<Category, SendError> {
    let category = category_of(file)?;
    if file.size > category.max_bytes {
        return Err(too_large(file, &category));
    }
    Ok(category)
}

fn too_large(file: &OutboundFile, category: &Category) -> SendError {
    SendError::Permanent(format!(
        "{} is too large for X: X takes {} up to {}",
        file.filename,
        category.label,
        megabytes(category.max_bytes)
    ))
}

/// Whether X takes every file (checked before any is uploaded, so one it
/// refuses costs no upload of the others).
pub(super) fn check_all(files: &[OutboundFile]) -> Result<(), SendError> {
    files.iter().try_for_each(|file| category_for(file).map(|_| ()))
}

/// Upload one of the agent's files, read from its signed link; the media
/// id a DM names.
pub(super) async fn media_id(
    http: &OutboundHttp,
    api: &XApi,
    config: &Config,
    file: &OutboundFile,
) -> Result<String, SendError> {
    let category = category_for(file)?;
    // The declared size was checked; the limit holds if the link serves more.
    let bytes = crate::net::fetch_bytes(http, &file.url, category.max_bytes, "X").await?;
    if category.chunked {
        return chunked(http, api, config, file, &category, bytes).await;
    }
    let form = reqwest::multipart::Form::new()
        .text("media_category", category.name)
        .text("media_type", file.mime.clone())
        .part("media", part(bytes, file)?);
    let url = url_of(api, "/2/media/upload")?;
    let answer = answer_of(call(http, config, reqwest::Method::POST, url, Body::Multipart(form)).await?).await?;
    id_in(&answer)
}

/// Initialize, append each chunk, finalize, and wait while X processes it.
async fn chunked(
    http: &OutboundHttp,
    api: &XApi,
    config: &Config,
    file: &OutboundFile,
    category: &Category,
    bytes: Vec<u8>,
) -> Result<String, SendError> {
    let init = json!({"media_category": category.name, "media_type": file.mime, "total_bytes": bytes.len()});
    let url = url_of(api, "/2/media/upload/initialize")?;
    let id = id_in(&answer_of(call(http, config, reqwest::Method::POST, url, Body::Json(&init)).await?).await?)?;
    for (index, chunk) in bytes.chunks(CHUNK_BYTES).enumerate() {
        let form = reqwest::multipart::Form::new()
            .text("segment_index", index.to_string())
            .part("media", part(chunk.to_vec(), file)?);
        let url = url_of(api, &format!("/2/media/upload/{id}/append"))?;
        call(http, config, reqwest::Method::POST, url, Body::Multipart(form)).await?;
    }
    let url = url_of(api, &format!("/2/media/upload/{id}/finalize"))?;
    let mut answer = answer_of(call(http, config, reqwest::Method::POST, url, Body::Empty).await?).await?;
    let mut waited = 0;
    loop {
        let processing = &answer["data"]["processing_info"];
        match processing["state"].as_str() {
            None | Some("succeeded") => return Ok(id),
            Some("failed") => {
                let why = processing["error"]["message"].as_str().unwrap_or("no reason given");
                return Err(SendError::Permanent(format!(
                    "X could not process {}: {why}",
                    file.filename
                )));
            }
            Some(_) if waited >= PROCESSING_PATIENCE_SECS => {
                return Err(SendError::Retryable(format!(
                    "X was still processing {} after {waited} s",
                    file.filename
                )));
            }
            // `pending` or `in_progress`: ask again when X says.
            Some(_) => {
                let after = processing["check_after_secs"].as_u64().unwrap_or(1).clamp(1, 10);
                tokio::time::sleep(std::time::Duration::from_secs(after)).await;
                waited += after;
                let url = url_of(api, &format!("/2/media/upload?command=STATUS&media_id={id}"))?;
                answer = answer_of(call(http, config, reqwest::Method::GET, url, Body::Empty).await?).await?;
            }
        }
    }
}
