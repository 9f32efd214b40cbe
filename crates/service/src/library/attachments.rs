//! Attachments: uploads stream into object storage (a local folder or an
//! S3-compatible bucket), content-addressed by SHA-256; each upload becomes
//! an attachment row and a `media` message. Limits per kind (DESIGN.md
//! §10) are enforced while the bytes arrive, and the type is sniffed from
//! the content.
//!
//! One path serves every uploader: the agent API calls
//! [`Services::upload_attachment`], which checks the agent's reach and then
//! calls [`Services::store_attachment`]; a visitor upload (web widget) or an
//! inbound provider file calls `store_attachment` with
//! [`Uploader::Contact`] once it has checked the visitor's conversation.
//!
//! An image also gets a preview at upload ([`crate::library`]): a small
//! re-encoded copy stored content-addressed beside it, which the message
//! list shows instead of the file.

use std::path::PathBuf;
use std::sync::Arc;

use bytes::Bytes;
use futures::stream::BoxStream;
use futures::{Stream, StreamExt, TryStreamExt};
use object_store::path::Path as ObjectPath;
use object_store::{ObjectStore, ObjectStoreExt, WriteMultipart};
use schemars::JsonSchema;
use serde::Deserialize;
use sha2::{Digest, Sha256};
use switchboard_channels::OutboundFile;
use switchboard_core::capabilities::FilesOut;
use switchboard_core::lifecycle::{self, MessageAuthor};
use switchboard_core::media::{self, Refused, Sniffed, TextCheck};
use switchboard_core::validate::{Invalid, MessageText};
use switchboard_core::{
    Attachment, AttachmentId, AttachmentKind, AttachmentLimits, ChannelId, ChannelKind, ContactId, ConversationId,
    DeliveryStatus, Direction, Message, MessageId, MessageKind, MessageView, Millis, SenderKind, UserId, WorkspaceId,
};
use switchboard_store::{AttachmentLimitsRow, AttachmentPreview, AttachmentRecord, Page};

use super::thumbnails;
use crate::kernel::scope;
use crate::outbound::{DELIVER_MESSAGE, deliver_payload};
use crate::{Actor, MessageQuery, ServiceError, ServiceResult, Services};

/// Where attachment bytes live.
#[derive(Debug, Clone, Default)]
pub enum StorageConfig {
    /// In this process's memory, gone at exit: for tests and benchmarks.
    /// The server always configures a folder or a bucket.
    #[default]
    Memory,
    /// A local folder (single node).
    Local { dir: PathBuf },
    /// An S3-compatible bucket (cluster). Credentials come from the usual
    /// `AWS_*` environment variables unless given here.
    S3 {
        bucket: String,
        /// For S3-compatible services (MinIO, R2, …); AWS when absent.
        endpoint: Option<String>,
        region: Option<String>,
        /// Access key id and secret, over the environment's.
        credentials: Option<(String, String)>,
    },
}

/// The object store and how to write to it.
#[derive(Clone)]
pub(crate) struct Storage {
    store: Arc<dyn ObjectStore>,
    /// Multipart chunk: S3 wants parts of at least 5 MiB; a folder takes
    /// small ones, so less is held in memory per upload.
    chunk: usize,
}

impl Storage {
    pub(crate) fn open(config: &StorageConfig) -> ServiceResult<Storage> {
        let internal = |what: &str, e: &dyn std::fmt::Display| ServiceError::Internal(format!("{what}: {e}"));
        Ok(match config {
            StorageConfig::Memory => Storage {
                store: Arc::new(object_store::memory::InMemory::new()),
                chunk: 256 * 1024,
            },
            StorageConfig::Local { dir } => {
                std::fs::create_dir_all(dir).map_err(|e| internal(&format!("creating {}", dir.display()), &e))?;
                let local = object_store::local::LocalFileSystem::new_with_prefix(dir)
                    .map_err(|e| internal("attachments folder", &e))?
                    .with_fsync(true);
                Storage {
                    store: Arc::new(local),
                    chunk: 256 * 1024,
                }
            }
            StorageConfig::S3 {
                bucket,
                endpoint,
                region,
                credentials,
            } => {
                let mut builder = object_store::aws::AmazonS3Builder::from_env().with_bucket_name(bucket);
                if let Some(endpoint) = endpoint {
                    builder = builder
                        .with_endpoint(endpoint)
                        .with_allow_http(endpoint.starts_with("http://"));
                }
                if let Some(region) = region {
                    builder = builder.with_region(region);
                }
                if let Some((key_id, secret)) = credentials {
                    builder = builder.with_access_key_id(key_id).with_secret_access_key(secret);
                }
                Storage {
                    store: Arc::new(builder.build().map_err(|e| internal("S3 storage", &e))?),
                    chunk: 5 * 1024 * 1024,
                }
            }
        })
    }
}

fn storage_error(e: object_store::Error) -> ServiceError {
    ServiceError::Internal(format!("attachment storage: {e}"))
}

/// The storage key of content with this hex SHA-256: `ab/cd/abcd…`.
pub fn storage_key(sha256_hex: &str) -> String {
    format!("{}/{}/{}", &sha256_hex[..2], &sha256_hex[2..4], sha256_hex)
}

/// The hex SHA-256 a [`storage_key`] was made from.
pub fn sha256_of_key(key: &str) -> &str {
    key.rsplit('/').next().unwrap_or(key)
}

/// Who uploads a file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Uploader {
    /// An agent, supervisor or admin: an outgoing `media` message, which
    /// goes to the customer where the channel carries files (its
    /// capabilities' `files_out`).
    User(UserId),
    /// The customer (web widget, provider file): an incoming `media` message.
    Contact(ContactId),
}

/// The request body, chunk by chunk.
pub type ByteStream = dyn Stream<Item = Result<Bytes, std::io::Error>> + Send + Unpin;

/// A file on its way in.
pub struct Upload<'a> {
    /// The name the uploader gave (only shown, never trusted for the type).
    pub filename: Option<String>,
    /// Text to show with the file.
    pub caption: Option<String>,
    /// `Content-Length`, when the client sent one: a body that announces
    /// more than the limit is refused before anything is stored.
    pub declared_size: Option<u64>,
    pub body: &'a mut ByteStream,
}

impl std::fmt::Debug for Upload<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Upload")
            .field("filename", &self.filename)
            .field("declared_size", &self.declared_size)
            .finish_non_exhaustive()
    }
}

/// A workspace's limits: `null` (or absent) keeps the server's default.
#[derive(Debug, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct AttachmentLimitsInput {
    #[schemars(range(min = 1))]
    pub image: Option<u64>,
    #[schemars(range(min = 1))]
    pub video: Option<u64>,
    #[schemars(range(min = 1))]
    pub audio: Option<u64>,
    #[schemars(range(min = 1))]
    pub document: Option<u64>,
}

/// `5 MB`, `512 KB`, `1.5 MB`, `100 bytes`.
pub fn human_size(bytes: u64) -> String {
    const KB: u64 = 1024;
    const MB: u64 = 1024 * 1024;
    if bytes >= MB && bytes.is_multiple_of(MB) {
        format!("{} MB", bytes / MB)
    } else if bytes >= MB {
        format!("{:.1} MB", bytes as f64 / MB as f64)
    } else if bytes >= KB && bytes.is_multiple_of(KB) {
        format!("{} KB", bytes / KB)
    } else {
        format!("{bytes} bytes")
    }
}

fn too_large(kind: AttachmentKind, limit: u64) -> ServiceError {
    let what = match kind {
        AttachmentKind::Image => "images are",
        AttachmentKind::Video => "videos are",
        AttachmentKind::Audio => "audio files are",
        AttachmentKind::Document => "documents are",
    };
    ServiceError::TooLarge(format!("{what} limited to {} in this workspace", human_size(limit)))
}

fn refused(r: Refused) -> ServiceError {
    match r {
        Refused::Empty => Invalid::new("body", "the file is empty").into(),
        other => ServiceError::UnsupportedType(other.to_string()),
    }
}

fn interrupted(e: std::io::Error) -> ServiceError {
    ServiceError::BadPayload(format!("the upload was interrupted: {e}"))
}

fn extension(mime: &str) -> &'static str {
    match mime {
        "image/png" => "png",
        "image/jpeg" => "jpg",
        "image/gif" => "gif",
        "image/webp" => "webp",
        "video/mp4" => "mp4",
        "video/quicktime" => "mov",
        "video/3gpp" => "3gp",
        "video/webm" => "webm",
        "video/x-matroska" => "mkv",
        "video/ogg" => "ogv",
        "audio/ogg" => "ogg",
        "audio/mpeg" => "mp3",
        "audio/aac" => "aac",
        "audio/mp4" => "m4a",
        "audio/wav" => "wav",
        "audio/flac" => "flac",
        "audio/amr" => "amr",
        "application/pdf" => "pdf",
        "application/zip" => "zip",
        media::TEXT_CSV => "csv",
        m if m.starts_with("text/") => "txt",
        m if m.ends_with("wordprocessingml.document") => "docx",
        m if m.ends_with("spreadsheetml.sheet") => "xlsx",
        m if m.ends_with("presentationml.presentation") => "pptx",
        m if m.ends_with("opendocument.text") => "odt",
        m if m.ends_with("opendocument.spreadsheet") => "ods",
        m if m.ends_with("opendocument.presentation") => "odp",
        _ => "bin",
    }
}

/// The last path segment of what the uploader called the file, without
/// control characters, at most 200 characters; a name from the type when
/// nothing is left.
fn clean_filename(raw: Option<&str>, sniffed: &Sniffed) -> String {
    let base = raw.unwrap_or_default().rsplit(['/', '\\']).next().unwrap_or_default();
    let name: String = base.chars().filter(|c| !c.is_control()).take(200).collect();
    let name = name.trim();
    if name.is_empty() || name == "." || name == ".." {
        format!("{}.{}", sniffed.kind, extension(sniffed.mime))
    } else {
        name.to_owned()
    }
}

/// A file in storage and what is known of it, ready to be attached to a
/// message (a fresh upload, or a quick reply's file sent again).
pub(crate) struct StoredFile {
    pub kind: AttachmentKind,
    pub mime: String,
    pub filename: String,
    pub size: i64,
    pub sha256: String,
    pub key: String,
    pub width: Option<i64>,
    pub height: Option<i64>,
    pub preview: Option<AttachmentPreview>,
}

impl StoredFile {
    /// A new attachment `id` of this file: in a conversation's message, or
    /// (both `None`) in the uploader's library.
    fn into_record(
        self,
        ws: WorkspaceId,
        id: AttachmentId,
        posted_in: Option<(ConversationId, MessageId)>,
        uploader: (SenderKind, String),
        created_at: Millis,
    ) -> AttachmentRecord {
        AttachmentRecord {
            attachment: Attachment {
                id,
                workspace_id: ws,
                conversation_id: posted_in.map(|(c, _)| c),
                message_id: posted_in.map(|(_, m)| m),
                kind: self.kind,
                mime: self.mime,
                filename: self.filename,
                size: self.size,
                sha256: self.sha256,
                width: self.width,
                height: self.height,
                created_at,
                url: Attachment::url_of(ws, id),
                preview_url: self.preview.is_some().then(|| Attachment::preview_url_of(ws, id)),
            },
            uploader_kind: uploader.0,
            uploader_id: Some(uploader.1),
            storage_key: self.key,
            preview: self.preview,
        }
    }
}

impl From<AttachmentRecord> for StoredFile {
    fn from(r: AttachmentRecord) -> Self {
        let a = r.attachment;
        Self {
            kind: a.kind,
            mime: a.mime,
            filename: a.filename,
            size: a.size,
            sha256: a.sha256,
            key: r.storage_key,
            width: a.width,
            height: a.height,
            // The same file, so the same preview: it is not made again.
            preview: r.preview,
        }
    }
}

/// How long a file link sent to an API channel's receiver works: seven days.
pub const FILE_LINK_TTL_MS: i64 = 7 * 24 * 3_600_000;

struct StoredObject {
    sniffed: Sniffed,
    size: u64,
    sha256: String,
    key: String,
}

impl Services {
    pub(crate) fn storage(&self) -> &Storage {
        &self.inner.storage
    }

    /// The limits in force in a workspace.
    pub async fn effective_attachment_limits(&self, ws: WorkspaceId) -> ServiceResult<AttachmentLimits> {
        let own = self.store().reader().attachment_limits(ws).await?;
        let defaults = self.config().attachment_limits;
        let pick = |v: Option<i64>, d: u64| v.and_then(|v| u64::try_from(v).ok()).unwrap_or(d);
        Ok(AttachmentLimits {
            image: pick(own.image_bytes, defaults.image),
            video: pick(own.video_bytes, defaults.video),
            audio: pick(own.audio_bytes, defaults.audio),
            document: pick(own.document_bytes, defaults.document),
        })
    }

    pub async fn attachment_limits(&self, actor: &Actor) -> ServiceResult<AttachmentLimits> {
        self.effective_attachment_limits(actor.workspace_id).await
    }

    /// Set the workspace's limits (admins).
    pub async fn set_attachment_limits(
        &self,
        actor: &Actor,
        input: AttachmentLimitsInput,
    ) -> ServiceResult<AttachmentLimits> {
        if !actor.is_admin() {
            return Err(ServiceError::Forbidden("only admins change the upload limits"));
        }
        let max = self.config().attachment_max_bytes;
        let check = |field: &'static str, v: Option<u64>| -> ServiceResult<Option<i64>> {
            match v {
                None => Ok(None),
                Some(n) if (1..=max).contains(&n) => Ok(Some(n as i64)),
                Some(0) => Err(Invalid::new(field, format!("must be between 1 byte and {}", human_size(max))).into()),
                // Above what this server is configured to take.
                Some(_) => Err(ServiceError::Stale(Invalid::new(
                    field,
                    format!("must be between 1 byte and {}", human_size(max)),
                ))),
            }
        };
        let row = AttachmentLimitsRow {
            image_bytes: check("image", input.image)?,
            video_bytes: check("video", input.video)?,
            audio_bytes: check("audio", input.audio)?,
            document_bytes: check("document", input.document)?,
        };
        let mut tx = self.store().begin().await?;
        tx.exec()
            .set_attachment_limits(actor.workspace_id, &row, self.now())
            .await?;
        tx.commit().await?;
        self.effective_attachment_limits(actor.workspace_id).await
    }

    /// An agent attaches a file to a conversation they can see. Reach is
    /// checked before a byte of the body is read, so a conversation out of
    /// reach answers 404 whatever is being sent.
    pub async fn upload_attachment(
        &self,
        actor: &Actor,
        conversation: ConversationId,
        upload: Upload<'_>,
    ) -> ServiceResult<MessageView> {
        let c = self.conversation(actor, conversation).await?;
        if !actor.can_annotate(&scope(&c)) {
            return Err(ServiceError::NotFound("conversation"));
        }
        self.store_attachment(actor.workspace_id, conversation, Uploader::User(actor.user_id), upload)
            .await
    }

    /// Store a file in a conversation and post it as a `media` message: the
    /// one path for every uploader (the caller has checked that `uploader`
    /// may write there). Streams the body into storage under a temporary
    /// key while hashing it, stops with 413 as soon as it passes the
    /// workspace's limit for its kind, refuses types that are not allowed
    /// (422), then moves it to its content-addressed key (an object that is
    /// already there is kept, so identical files are stored once).
    pub async fn store_attachment(
        &self,
        ws: WorkspaceId,
        conversation: ConversationId,
        uploader: Uploader,
        upload: Upload<'_>,
    ) -> ServiceResult<MessageView> {
        // The conversation must exist before anything is read.
        self.store()
            .reader()
            .conversation(ws, conversation)
            .await?
            .ok_or(ServiceError::NotFound("conversation"))?;
        let caption = match upload.caption.as_deref().map(str::trim) {
            None | Some("") => None,
            Some(text) => Some(MessageText::parse("caption", text)?.into_string()),
        };
        let file = self.receive_file(ws, upload).await?;
        self.post_media(ws, conversation, uploader, file, caption).await
    }

    /// A customer's file from a provider, streamed into storage under the
    /// workspace's limits; the caller records it with its message.
    pub(crate) async fn receive_inbound_file(
        &self,
        ws: WorkspaceId,
        filename: Option<String>,
        declared_size: Option<u64>,
        body: &mut ByteStream,
    ) -> ServiceResult<AttachmentRecord> {
        let upload = Upload {
            filename,
            caption: None,
            declared_size,
            body,
        };
        let file = self.receive_file(ws, upload).await?;
        let uploader = (SenderKind::Contact, String::new());
        Ok(file.into_record(ws, AttachmentId::new(), None, uploader, self.now()))
    }

    /// Stream an upload into storage under the workspace's limits (see
    /// [`store_attachment`](Self::store_attachment)) and name it.
    async fn receive_file(&self, ws: WorkspaceId, upload: Upload<'_>) -> ServiceResult<StoredFile> {
        let limits = self.effective_attachment_limits(ws).await?;
        let stored = self.store_object(&limits, upload.declared_size, upload.body).await?;
        let mut sniffed = stored.sniffed;
        let filename = clean_filename(upload.filename.as_deref(), &sniffed);
        if sniffed.mime == media::TEXT_PLAIN && filename.to_ascii_lowercase().ends_with(".csv") {
            sniffed.mime = media::TEXT_CSV;
        }
        let preview = match sniffed.kind {
            AttachmentKind::Image => self.store_preview(&stored.key, sniffed.mime).await,
            _ => None,
        };
        Ok(StoredFile {
            kind: sniffed.kind,
            mime: sniffed.mime.to_owned(),
            filename,
            size: stored.size as i64,
            sha256: stored.sha256,
            key: stored.key,
            width: sniffed.width.map(i64::from),
            height: sniffed.height.map(i64::from),
            preview,
        })
    }

    /// Make the preview of the image stored under `key` and store it,
    /// content-addressed like the file. `None` when the image does not
    /// decode within the limits, or the preview cannot be stored: the
    /// upload goes on without one. A file stored before keeps its preview.
    async fn store_preview(&self, key: &str, mime: &str) -> Option<AttachmentPreview> {
        let format = image::ImageFormat::from_mime_type(mime)?;
        // The same bytes give the same preview: one made before is reused.
        match self.store().reader().preview_of_stored(key).await {
            Ok(Some(made)) => return Some(made),
            Ok(None) => {}
            Err(e) => tracing::warn!(key, error = %e, "could not look for an existing preview; making one"),
        }
        // Taken before the file is read back, and held until the decode
        // ends even if the upload is abandoned meanwhile.
        let slot = self.inner.preview_slots.clone().acquire_owned().await.ok()?;
        let store = &self.storage().store;
        let data = match store.get(&ObjectPath::from(key)).await {
            Ok(found) => found.bytes().await,
            Err(e) => Err(e),
        };
        let data = match data {
            Ok(data) => data,
            Err(e) => {
                tracing::warn!(key, error = %e, "could not read an image back to make its preview");
                return None;
            }
        };
        let made = tokio::task::spawn_blocking(move || {
            let _slot = slot;
            thumbnails::make_preview(&data, format)
        })
        .await;
        let preview = match made {
            Ok(Ok(preview)) => preview,
            Ok(Err(e)) => {
                tracing::debug!(key, error = %e, "no preview: the image does not decode within the limits");
                return None;
            }
            Err(e) => {
                tracing::warn!(key, error = %e, "no preview: decoding the image failed");
                return None;
            }
        };
        let preview_key = storage_key(&hex::encode(Sha256::digest(&preview.bytes)));
        let size = preview.bytes.len() as i64;
        if let Err(e) = self.put_if_absent(&preview_key, preview.bytes).await {
            tracing::warn!(key = %preview_key, error = %e, "could not store an image preview");
            return None;
        }
        Some(AttachmentPreview {
            storage_key: preview_key,
            mime: preview.mime.to_owned(),
            size,
        })
    }

    /// Store content under its content-addressed `key`, unless it is
    /// already there (the same content stored before).
    async fn put_if_absent(&self, key: &str, content: Vec<u8>) -> Result<(), object_store::Error> {
        let store = &self.storage().store;
        let path = ObjectPath::from(key);
        match store.head(&path).await {
            Ok(_) => Ok(()),
            Err(object_store::Error::NotFound { .. }) => store.put(&path, content.into()).await.map(|_| ()),
            Err(e) => Err(e),
        }
    }

    /// A member stores a file in their library, for a quick reply to carry:
    /// the same streaming, limits and sniffing as a conversation upload, but
    /// no conversation and no message. Only the uploader, and whoever may
    /// use a quick reply that carries it, can download it; sending such a
    /// quick reply copies it into the conversation ([`post_media`](Self::post_media)).
    /// A caption in `upload` is ignored (a library file has none).
    pub async fn upload_library_attachment(&self, actor: &Actor, upload: Upload<'_>) -> ServiceResult<Attachment> {
        let ws = actor.workspace_id;
        let file = self.receive_file(ws, upload).await?;
        let uploader = (SenderKind::User, actor.user_id.to_string());
        let record = file.into_record(ws, AttachmentId::new(), None, uploader, self.now());
        let mut tx = self.store().begin().await?;
        tx.exec().insert_attachment(&record).await?;
        tx.commit().await?;
        Ok(record.attachment)
    }

    /// Post a file already in storage as a `media` message with `caption`
    /// (the caller has checked that `uploader` may write there): a new
    /// attachment row pointing at the stored object, and the events.
    pub(crate) async fn post_media(
        &self,
        ws: WorkspaceId,
        conversation: ConversationId,
        uploader: Uploader,
        file: StoredFile,
        caption: Option<String>,
    ) -> ServiceResult<MessageView> {
        let now = self.now();
        let mut tx = self.store().begin().await?;
        let mut c = tx
            .exec()
            .conversation_for_update(ws, conversation)
            .await?
            .ok_or(ServiceError::NotFound("conversation"))?;
        let (direction, sender_kind, sender_id) = match uploader {
            Uploader::User(u) => (Direction::Out, SenderKind::User, u.to_string()),
            Uploader::Contact(contact) => (Direction::In, SenderKind::Contact, contact.to_string()),
        };
        let mut message = Message::new(
            &c,
            (direction, sender_kind, Some(sender_id.clone())),
            MessageKind::Media,
            caption,
            now,
        );
        // A file from the business to an API channel's receiver goes out
        // through the outbox like a text reply (the widget picks files up
        // itself, as it does texts).
        let by_user = matches!(uploader, Uploader::User(_));
        let outbound = match tx.exec().channel(ws, c.channel_id).await? {
            Some(row) if by_user => {
                let setup = crate::channel_port::setup_of(&row)?;
                let caps = self.capabilities(setup.kind);
                let outbound = caps.files_out == FilesOut::SignedLink && self.ready_to_send(&setup).is_ok();
                // A file is free-form: only within the messaging window.
                if outbound && !caps.window.open(c.times.window_opened_at(), now) {
                    return Err(lifecycle::LifecycleError::WindowClosed.into());
                }
                outbound
            }
            _ => false,
        };
        if outbound {
            message.delivery_status = Some(DeliveryStatus::Queued);
        }
        tx.exec().insert_message(&message, c.channel_id).await?;
        if outbound {
            tx.exec()
                .enqueue_job(
                    DELIVER_MESSAGE,
                    &deliver_payload(&message),
                    now,
                    self.config().delivery_max_attempts,
                    now,
                )
                .await?;
        }
        let record = file.into_record(
            ws,
            AttachmentId::new(),
            Some((c.id, message.id)),
            (sender_kind, sender_id),
            now,
        );
        tx.exec().insert_attachment(&record).await?;
        let customer = matches!(uploader, Uploader::Contact(_));
        if customer {
            lifecycle::record_message(&mut c.times, MessageAuthor::Customer, now);
            c.updated_at = now;
            crate::kernel::save_conversation(&mut tx.exec(), &c, now).await?;
            self.emit_conversation(&mut tx, "conversation.updated", &c).await?;
        }
        let view = MessageView {
            message,
            attachments: vec![record.attachment],
        };
        self.emit_message_with_files(&mut tx, "message.created", &c, &view.message, &view.attachments)
            .await?;
        tx.commit().await?;
        if outbound {
            self.wake_jobs();
        }
        Ok(view)
    }

    /// Stream `body` into storage; see [`store_attachment`](Self::store_attachment).
    async fn store_object(
        &self,
        limits: &AttachmentLimits,
        declared: Option<u64>,
        body: &mut ByteStream,
    ) -> ServiceResult<StoredObject> {
        // Enough of the beginning to tell the type.
        let mut head: Vec<Bytes> = Vec::new();
        let mut head_len = 0;
        while head_len < media::SNIFF_LEN {
            match body.next().await {
                Some(chunk) => {
                    let chunk = chunk.map_err(interrupted)?;
                    head_len += chunk.len();
                    head.push(chunk);
                }
                None => break,
            }
        }
        let sniffed = {
            let mut first = Vec::with_capacity(head_len.min(media::SNIFF_LEN));
            for chunk in &head {
                let take = (media::SNIFF_LEN - first.len()).min(chunk.len());
                first.extend_from_slice(&chunk[..take]);
            }
            media::sniff(&first).map_err(refused)?
        };
        let limit = limits.for_kind(sniffed.kind);
        // A body that announces more than the limit is refused at once.
        if declared.is_some_and(|n| n > limit) {
            return Err(too_large(sniffed.kind, limit));
        }

        let storage = self.storage();
        let temp = ObjectPath::from(format!("tmp/{}", uuid::Uuid::now_v7()));
        let upload = storage.store.put_multipart(&temp).await.map_err(storage_error)?;
        let mut writer = WriteMultipart::new_with_chunk_size(upload, storage.chunk);
        let mut hasher = Sha256::new();
        let mut text = sniffed.is_text().then(TextCheck::new);
        let mut size: u64 = 0;
        let mut pending = head.into_iter();
        let written: ServiceResult<()> = async {
            loop {
                let chunk = match pending.next() {
                    Some(chunk) => chunk,
                    None => match body.next().await {
                        Some(chunk) => chunk.map_err(interrupted)?,
                        None => break,
                    },
                };
                size += chunk.len() as u64;
                if size > limit {
                    return Err(too_large(sniffed.kind, limit));
                }
                if let Some(check) = &mut text
                    && !check.feed(&chunk)
                {
                    return Err(refused(Refused::Unknown));
                }
                hasher.update(&chunk);
                writer.wait_for_capacity(2).await.map_err(storage_error)?;
                writer.put(chunk);
            }
            if text.as_ref().is_some_and(|check| !check.finish()) {
                return Err(refused(Refused::Unknown));
            }
            Ok(())
        }
        .await;
        if let Err(e) = written {
            if let Err(abort) = writer.abort().await {
                tracing::warn!(error = %abort, "could not clean up an abandoned upload");
            }
            return Err(e);
        }
        writer.finish().await.map_err(storage_error)?;

        let sha256 = hex::encode(hasher.finalize());
        let key = storage_key(&sha256);
        let final_path = ObjectPath::from(key.as_str());
        match storage.store.head(&final_path).await {
            // Already stored (the same content uploaded before): keep it.
            Ok(_) => storage.store.delete(&temp).await.map_err(storage_error)?,
            Err(object_store::Error::NotFound { .. }) => {
                storage.store.rename(&temp, &final_path).await.map_err(storage_error)?;
            }
            Err(e) => {
                let _ = storage.store.delete(&temp).await;
                return Err(storage_error(e));
            }
        }
        Ok(StoredObject {
            sniffed,
            size,
            sha256,
            key,
        })
    }

    /// Write a stream of bytes to `key` in storage (multipart, so memory
    /// stays flat); how many bytes were written. A failed stream leaves nothing.
    pub(crate) async fn write_stored(
        &self,
        key: &str,
        mut chunks: BoxStream<'static, ServiceResult<Vec<u8>>>,
    ) -> ServiceResult<u64> {
        let storage = self.storage();
        let upload = storage
            .store
            .put_multipart(&ObjectPath::from(key))
            .await
            .map_err(storage_error)?;
        let mut writer = WriteMultipart::new_with_chunk_size(upload, storage.chunk);
        let mut size = 0u64;
        let written: ServiceResult<()> = async {
            while let Some(chunk) = chunks.next().await {
                let chunk = chunk?;
                size += chunk.len() as u64;
                writer.wait_for_capacity(2).await.map_err(storage_error)?;
                writer.put(Bytes::from(chunk));
            }
            Ok(())
        }
        .await;
        if let Err(e) = written {
            if let Err(abort) = writer.abort().await {
                tracing::warn!(error = %abort, "could not clean up an abandoned upload");
            }
            return Err(e);
        }
        writer.finish().await.map_err(storage_error)?;
        Ok(size)
    }

    /// An attachment the actor may see: same reach as its conversation (a
    /// library file: its uploader), or carried by a quick reply they may use
    /// (a shared quick reply's file goes out in chats of any team).
    pub async fn attachment(&self, actor: &Actor, id: AttachmentId) -> ServiceResult<AttachmentRecord> {
        let mut db = self.store().reader();
        let record = db
            .attachment(actor.workspace_id, id)
            .await?
            .ok_or(ServiceError::NotFound("attachment"))?;
        let reachable = match record.attachment.conversation_id {
            Some(conversation) => db
                .conversation(actor.workspace_id, conversation)
                .await?
                .is_some_and(|c| actor.can_see(&scope(&c))),
            None => {
                record.uploader_kind == SenderKind::User
                    && record.uploader_id.as_deref() == Some(actor.user_id.to_string().as_str())
            }
        };
        if !reachable && !self.quick_reply_shares_attachment(actor, id).await? {
            return Err(ServiceError::NotFound("attachment"));
        }
        Ok(record)
    }

    /// The bytes of a stored object (an attachment's file or preview, by
    /// its key), as a stream.
    pub async fn open_stored(&self, key: &str) -> ServiceResult<BoxStream<'static, Result<Bytes, std::io::Error>>> {
        let found = self
            .storage()
            .store
            .get(&ObjectPath::from(key))
            .await
            .map_err(storage_error)?;
        Ok(found.into_stream().map_err(std::io::Error::other).boxed())
    }

    /// A link an API channel's receiver fetches `a` with, signed with the
    /// channel secret and valid for [`FILE_LINK_TTL_MS`].
    pub(crate) fn file_link(
        &self,
        (kind, channel): (ChannelKind, ChannelId),
        secret: &str,
        a: &Attachment,
    ) -> OutboundFile {
        let expires = self.now().plus_ms(FILE_LINK_TTL_MS);
        let signature = switchboard_channels::api::sign_file_link(secret, &a.id.to_string(), expires);
        OutboundFile {
            url: format!(
                "{}/hooks/{kind}/{channel}/files/{}?expires={}&signature={signature}",
                self.config().public_url.trim_end_matches('/'),
                a.id,
                expires.0
            ),
            filename: a.filename.clone(),
            mime: a.mime.clone(),
            size: a.size,
            sha256: a.sha256.clone(),
        }
    }

    /// The file behind a link from [`file_link`](Self::file_link): the
    /// signature must match the channel's secret (401), the link must not
    /// have expired (403), and the file must be in a conversation of that
    /// channel (404).
    pub async fn api_channel_file(
        &self,
        kind_in_path: &str,
        channel: ChannelId,
        attachment: AttachmentId,
        expires: Millis,
        signature: &str,
    ) -> ServiceResult<AttachmentRecord> {
        let mut db = self.store().reader();
        let row = db.channel_by_id(channel).await?.ok_or(ServiceError::NotFound("file"))?;
        let kind = row.to_domain()?.kind;
        if kind.as_str() != kind_in_path {
            return Err(ServiceError::NotFound("file"));
        }
        let secret = match row.secret.as_deref() {
            Some(secret) if self.capabilities(kind).files_out == FilesOut::SignedLink => secret.to_owned(),
            _ => return Err(ServiceError::NotFound("file")),
        };
        if !switchboard_channels::api::verify_file_link(&secret, &attachment.to_string(), expires, signature) {
            return Err(ServiceError::BadSignature);
        }
        if expires <= self.now() {
            return Err(ServiceError::Forbidden("this file link has expired"));
        }
        let ws = row.to_domain()?.workspace_id;
        let record = db
            .attachment(ws, attachment)
            .await?
            .ok_or(ServiceError::NotFound("file"))?;
        let Some(conversation) = record.attachment.conversation_id else {
            return Err(ServiceError::NotFound("file"));
        };
        let on_channel = db
            .conversation(ws, conversation)
            .await?
            .is_some_and(|c| c.channel_id == channel);
        if !on_channel {
            return Err(ServiceError::NotFound("file"));
        }
        Ok(record)
    }

    /// Whether a stored object exists under `key` (tests and audits).
    pub async fn attachment_object_exists(&self, key: &str) -> ServiceResult<bool> {
        match self.storage().store.head(&ObjectPath::from(key)).await {
            Ok(_) => Ok(true),
            Err(object_store::Error::NotFound { .. }) => Ok(false),
            Err(e) => Err(storage_error(e)),
        }
    }

    /// Messages with their attachments, in time order.
    pub async fn message_views(
        &self,
        actor: &Actor,
        conversation: ConversationId,
        q: MessageQuery,
    ) -> ServiceResult<Page<MessageView>> {
        let page = self.messages(actor, conversation, q).await?;
        let media: Vec<MessageId> = page
            .items
            .iter()
            .filter(|m| m.kind == MessageKind::Media)
            .map(|m| m.id)
            .collect();
        let mut attachments = self
            .store()
            .reader()
            .attachments_of_messages(actor.workspace_id, &media)
            .await?;
        let items = page
            .items
            .into_iter()
            .map(|message| {
                let (mine, rest): (Vec<_>, Vec<_>) = std::mem::take(&mut attachments)
                    .into_iter()
                    .partition(|a| a.message_id == Some(message.id));
                attachments = rest;
                MessageView {
                    message,
                    attachments: mine,
                }
            })
            .collect();
        Ok(Page {
            items,
            next_cursor: page.next_cursor,
        })
    }

    /// The whole history of a conversation with its attachments, in time
    /// order (pages of 200, the largest the listing allows).
    pub async fn all_message_views(
        &self,
        actor: &Actor,
        conversation: ConversationId,
    ) -> ServiceResult<Vec<MessageView>> {
        let mut views = Vec::new();
        let mut cursor = None;
        loop {
            let page = self
                .message_views(
                    actor,
                    conversation,
                    MessageQuery {
                        cursor,
                        limit: Some(200),
                        order: None,
                    },
                )
                .await?;
            cursor = page.items.last().map(|v| v.message.id);
            views.extend(page.items);
            if page.next_cursor.is_none() {
                return Ok(views);
            }
        }
    }

    /// Delete the stored objects under these keys that no attachment row
    /// (of any workspace: storage is content-addressed) uses any more, as
    /// its file or as its preview, after the rows were deleted. Returns how
    /// many were deleted; one that cannot be checked or deleted is logged
    /// and left in place.
    pub(crate) async fn delete_unreferenced_objects(&self, keys: &[String]) -> u64 {
        let mut deleted = 0;
        for key in keys {
            match self.store().reader().count_attachments_with_key(key).await {
                Ok(0) => {}
                Ok(_) => continue,
                Err(e) => {
                    tracing::warn!(key = %key, error = %e, "could not check whether a stored file is still used");
                    continue;
                }
            }
            match self.storage().store.delete(&ObjectPath::from(key.as_str())).await {
                Ok(()) => deleted += 1,
                Err(object_store::Error::NotFound { .. }) => {}
                Err(e) => tracing::warn!(key = %key, error = %e, "could not delete a stored file"),
            }
        }
        deleted
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_read_like_people_write_them() {
        assert_eq!(human_size(5 * 1024 * 1024), "5 MB");
        assert_eq!(human_size(1536 * 1024), "1.5 MB");
        assert_eq!(human_size(512 * 1024), "512 KB");
        assert_eq!(human_size(100), "100 bytes");
        assert_eq!(
            too_large(AttachmentKind::Image, 5 * 1024 * 1024).to_string(),
            "images are limited to 5 MB in this workspace"
        );
    }

    #[test]
    fn keys_are_sharded_by_hash() {
        let sha = "abcdef0123456789abcdef0123456789abcdef0123456789abcdef0123456789";
        assert_eq!(storage_key(sha), format!("ab/cd/{sha}"));
        assert_eq!(sha256_of_key(&storage_key(sha)), sha);
    }

    #[test]
    fn filenames_keep_only_the_last_segment() {
        let png = media::sniff(b"\x89PNG\r\n\x1a\n").unwrap();
        assert_eq!(clean_filename(Some("../../etc/passwd"), &png), "passwd");
        assert_eq!(clean_filename(Some("C:\\Users\\x\\photo.png"), &png), "photo.png");
        assert_eq!(clean_filename(Some("a\r\nb.png"), &png), "ab.png");
        assert_eq!(clean_filename(Some(".."), &png), "image.png");
        assert_eq!(clean_filename(None, &png), "image.png");
    }
}
