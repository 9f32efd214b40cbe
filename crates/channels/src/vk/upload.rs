//! Files to a VK customer (channels.md §6): VK takes only files uploaded
//! to it first. An image goes to the server `photos.getMessagesUploadServer`
//! names (field `photo`) and is saved with `photos.saveMessagesPhoto`; any
//! other file to `docs.getMessagesUploadServer` (field `file`) and is saved
//! with `docs.save`. What comes back is the attachment `messages.send`
//! takes (`photo{owner}_{id}[_{key}]`, `doc{owner}_{id}`).

use serde::Deserialize;
use serde_json::Value;

use super::api::call;
use super::{Config, VkApi};
use crate::net::OutboundHttp;
use crate::{OutboundFile, SendError};

/// The largest file we hand to VK (its documents take up to 200 MB; a
/// message's files are read into memory to upload).
pub(super) const MAX_FILE_BYTES: i64 = 50 * 1024 * 1024;

#[derive(Deserialize)]
struct UploadServer {
    upload_url: String,
}

#[derive(Deserialize)]
struct SavedPhoto {
    id: i64,
    owner_id: i64,
    access_key: Option<String>,
}

/// POST the file to the upload server VK named; its JSON answer.
async fn post(
    http: &OutboundHttp,
    upload_url: &str,
    field: &'static str,
    file: &OutboundFile,
    bytes: Vec<u8>,
) -> Result<Value, SendError> {
    let url: url::Url = upload_url
        .parse()
        .map_err(|_| SendError::Retryable("VK named an upload server that is not a URL".into()))?;
    http.check(&url).map_err(|e| SendError::Permanent(e.to_string()))?;
    let part = reqwest::multipart::Part::bytes(bytes)
        .file_name(file.filename.clone())
        .mime_str(&file.mime)
        .map_err(|e| SendError::Permanent(format!("the file's type: {e}")))?;
    let response = http
        .client
        .post(url)
        .multipart(reqwest::multipart::Form::new().part(field, part))
        .send()
        .await
        .map_err(|e| SendError::Retryable(format!("VK's upload server could not be reached: {}", e.without_url())))?;
    let status = response.status();
    if !status.is_success() {
        return Err(SendError::Retryable(format!("VK's upload server answered {status}")));
    }
    let answer: Value = response
        .json()
        .await
        .map_err(|e| SendError::Retryable(format!("VK's upload answer could not be read: {e}")))?;
    if let Some(error) = answer["error"].as_str().or_else(|| answer["error_descr"].as_str()) {
        return Err(SendError::Permanent(format!("VK refused the file: {error}")));
    }
    Ok(answer)
}

/// Upload one file for `peer`; the attachment that names it.
pub(super) async fn attachment(
    http: &OutboundHttp,
    api: &VkApi,
    config: &Config,
    peer: &str,
    file: &OutboundFile,
) -> Result<String, SendError> {
    let bytes = crate::net::fetch_bytes(http, &file.url, MAX_FILE_BYTES, "VK").await?;
    if file.mime.starts_with("image/") {
        let server: UploadServer = call(
            http,
            api,
            config,
            "photos.getMessagesUploadServer",
            &[("peer_id", peer.to_owned())],
        )
        .await?;
        let uploaded = post(http, &server.upload_url, "photo", file, bytes).await?;
        let text = |v: &Value| v.as_str().map(str::to_owned).unwrap_or_else(|| v.to_string());
        let saved: Vec<SavedPhoto> = call(
            http,
            api,
            config,
            "photos.saveMessagesPhoto",
            &[
                ("photo", text(&uploaded["photo"])),
                ("server", text(&uploaded["server"])),
                ("hash", text(&uploaded["hash"])),
            ],
        )
        .await?;
        let photo = saved
            .first()
            .ok_or_else(|| SendError::Retryable("VK saved no photo".into()))?;
        Ok(match &photo.access_key {
            Some(key) => format!("photo{}_{}_{key}", photo.owner_id, photo.id),
            None => format!("photo{}_{}", photo.owner_id, photo.id),
        })
    } else {
        let server: UploadServer = call(
            http,
            api,
            config,
            "docs.getMessagesUploadServer",
            &[("type", "doc".to_owned()), ("peer_id", peer.to_owned())],
        )
        .await?;
        let uploaded = post(http, &server.upload_url, "file", file, bytes).await?;
        let token = uploaded["file"]
            .as_str()
            .ok_or_else(|| SendError::Retryable("VK's upload server returned no file".into()))?;
        let saved: Value = call(
            http,
            api,
            config,
            "docs.save",
            &[("file", token.to_owned()), ("title", file.filename.clone())],
        )
        .await?;
        let doc = &saved["doc"];
        match (doc["owner_id"].as_i64(), doc["id"].as_i64()) {
            (Some(owner), Some(id)) => Ok(format!("doc{owner}_{id}")),
            _ => Err(SendError::Retryable("VK saved no document".into())),
        }
    }
}
