//! Attachments (the rows; the bytes live in object storage under
//! `storage_key`) and per-workspace upload limits.

use sea_query::{Cond, Expr, OnConflict, Order, Query};
use switchboard_core::{
    Attachment, AttachmentId, AttachmentKind, ConversationId, MessageId, Millis, SenderKind, WorkspaceId,
};

use crate::schema::{AttachmentLimits as Limits, Attachments};
use crate::{Exec, Result, parse, parse_opt};

/// An attachment with what only the server needs: who uploaded it and
/// where its bytes are.
#[derive(Debug, Clone)]
pub struct AttachmentRecord {
    pub attachment: Attachment,
    /// `user` or `contact`.
    pub uploader_kind: SenderKind,
    pub uploader_id: Option<String>,
    pub storage_key: String,
    /// The image's re-encoded preview, when one could be made.
    pub preview: Option<AttachmentPreview>,
}

/// A small re-encoded copy of an image attachment, stored content-addressed
/// like the file itself.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AttachmentPreview {
    pub storage_key: String,
    pub mime: String,
    /// Bytes.
    pub size: i64,
}

#[derive(Debug, Clone, sqlx::FromRow)]
struct AttachmentRow {
    id: String,
    workspace_id: String,
    conversation_id: Option<String>,
    message_id: Option<String>,
    uploader_kind: String,
    uploader_id: Option<String>,
    kind: String,
    mime: String,
    filename: String,
    size: i64,
    sha256: String,
    storage_key: String,
    width: Option<i64>,
    height: Option<i64>,
    created_at: i64,
    preview_key: Option<String>,
    preview_mime: Option<String>,
    preview_size: Option<i64>,
}

const COLUMNS: [Attachments; 18] = [
    Attachments::Id,
    Attachments::WorkspaceId,
    Attachments::ConversationId,
    Attachments::MessageId,
    Attachments::UploaderKind,
    Attachments::UploaderId,
    Attachments::Kind,
    Attachments::Mime,
    Attachments::Filename,
    Attachments::Size,
    Attachments::Sha256,
    Attachments::StorageKey,
    Attachments::Width,
    Attachments::Height,
    Attachments::CreatedAt,
    Attachments::PreviewKey,
    Attachments::PreviewMime,
    Attachments::PreviewSize,
];

impl AttachmentRow {
    fn into_record(self) -> Result<AttachmentRecord> {
        let workspace_id: WorkspaceId = parse("workspace id", &self.workspace_id)?;
        let id: AttachmentId = parse("attachment id", &self.id)?;
        let kind: AttachmentKind = parse("attachment kind", &self.kind)?;
        let preview = match (self.preview_key, self.preview_mime, self.preview_size) {
            (Some(storage_key), Some(mime), Some(size)) => Some(AttachmentPreview {
                storage_key,
                mime,
                size,
            }),
            _ => None,
        };
        Ok(AttachmentRecord {
            attachment: Attachment {
                id,
                workspace_id,
                conversation_id: parse_opt("conversation id", self.conversation_id.as_deref())?,
                message_id: parse_opt("message id", self.message_id.as_deref())?,
                kind,
                mime: self.mime,
                filename: self.filename,
                size: self.size,
                sha256: self.sha256,
                width: self.width,
                height: self.height,
                created_at: Millis(self.created_at),
                url: Attachment::url_of(workspace_id, id),
                preview_url: preview.is_some().then(|| Attachment::preview_url_of(workspace_id, id)),
            },
            uploader_kind: parse("uploader kind", &self.uploader_kind)?,
            uploader_id: self.uploader_id,
            storage_key: self.storage_key,
            preview,
        })
    }
}

/// A workspace's own limits in bytes; `None` keeps the server's default.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, sqlx::FromRow)]
pub struct AttachmentLimitsRow {
    pub image_bytes: Option<i64>,
    pub video_bytes: Option<i64>,
    pub audio_bytes: Option<i64>,
    pub document_bytes: Option<i64>,
}

impl Exec<'_> {
    pub async fn insert_attachment(&mut self, r: &AttachmentRecord) -> Result<()> {
        let a = &r.attachment;
        self.execute(
            Query::insert()
                .into_table(Attachments::Table)
                .columns(COLUMNS)
                .values_panic([
                    a.id.to_string().into(),
                    a.workspace_id.to_string().into(),
                    a.conversation_id.map(|c| c.to_string()).into(),
                    a.message_id.map(|m| m.to_string()).into(),
                    r.uploader_kind.as_str().into(),
                    r.uploader_id.clone().into(),
                    a.kind.as_str().into(),
                    a.mime.clone().into(),
                    a.filename.clone().into(),
                    a.size.into(),
                    a.sha256.clone().into(),
                    r.storage_key.clone().into(),
                    a.width.into(),
                    a.height.into(),
                    a.created_at.0.into(),
                    r.preview.as_ref().map(|p| p.storage_key.clone()).into(),
                    r.preview.as_ref().map(|p| p.mime.clone()).into(),
                    r.preview.as_ref().map(|p| p.size).into(),
                ]),
        )
        .await?;
        Ok(())
    }

    pub async fn attachment(&mut self, ws: WorkspaceId, id: AttachmentId) -> Result<Option<AttachmentRecord>> {
        let row: Option<AttachmentRow> = self
            .fetch_optional(
                Query::select()
                    .columns(COLUMNS)
                    .from(Attachments::Table)
                    .and_where(Expr::col(Attachments::WorkspaceId).eq(ws.to_string()))
                    .and_where(Expr::col(Attachments::Id).eq(id.to_string())),
            )
            .await?;
        row.map(AttachmentRow::into_record).transpose()
    }

    /// These attachments of a workspace (those that exist), in id order.
    pub async fn attachments_by_ids(&mut self, ws: WorkspaceId, ids: &[AttachmentId]) -> Result<Vec<Attachment>> {
        let mut out = Vec::with_capacity(ids.len());
        for chunk in ids.chunks(crate::IN_LIST_MAX) {
            let rows: Vec<AttachmentRow> = self
                .fetch_all(
                    Query::select()
                        .columns(COLUMNS)
                        .from(Attachments::Table)
                        .and_where(Expr::col(Attachments::WorkspaceId).eq(ws.to_string()))
                        .and_where(Expr::col(Attachments::Id).is_in(chunk.iter().map(|a| a.to_string())))
                        .order_by(Attachments::Id, Order::Asc),
                )
                .await?;
            for row in rows {
                out.push(row.into_record()?.attachment);
            }
        }
        Ok(out)
    }

    /// The attachments of these messages, oldest first.
    pub async fn attachments_of_messages(
        &mut self,
        ws: WorkspaceId,
        messages: &[MessageId],
    ) -> Result<Vec<Attachment>> {
        if messages.is_empty() {
            return Ok(Vec::new());
        }
        let rows: Vec<AttachmentRow> = self
            .fetch_all(
                Query::select()
                    .columns(COLUMNS)
                    .from(Attachments::Table)
                    .and_where(Expr::col(Attachments::WorkspaceId).eq(ws.to_string()))
                    .and_where(Expr::col(Attachments::MessageId).is_in(messages.iter().map(|m| m.to_string())))
                    .order_by(Attachments::Id, Order::Asc),
            )
            .await?;
        rows.into_iter()
            .map(|r| r.into_record().map(|r| r.attachment))
            .collect()
    }

    pub async fn count_attachments(&mut self, conversation: ConversationId) -> Result<i64> {
        let (n,): (i64,) = self
            .fetch_one(
                Query::select()
                    .expr(Expr::col(Attachments::Id).count())
                    .from(Attachments::Table)
                    .and_where(Expr::col(Attachments::ConversationId).eq(conversation.to_string())),
            )
            .await?;
        Ok(n)
    }

    /// The preview already made for the stored object `key` (the same bytes
    /// uploaded before, in any workspace), so it is not decoded again.
    pub async fn preview_of_stored(&mut self, key: &str) -> Result<Option<AttachmentPreview>> {
        let row: Option<(String, String, i64)> = self
            .fetch_optional(
                Query::select()
                    .columns([
                        Attachments::PreviewKey,
                        Attachments::PreviewMime,
                        Attachments::PreviewSize,
                    ])
                    .from(Attachments::Table)
                    .and_where(Expr::col(Attachments::StorageKey).eq(key))
                    .and_where(Expr::col(Attachments::PreviewKey).is_not_null())
                    .and_where(Expr::col(Attachments::PreviewMime).is_not_null())
                    .and_where(Expr::col(Attachments::PreviewSize).is_not_null())
                    .limit(1),
            )
            .await?;
        Ok(row.map(|(storage_key, mime, size)| AttachmentPreview {
            storage_key,
            mime,
            size,
        }))
    }

    /// How many attachments (of any workspace) use this stored object, as
    /// their file or as their preview: an object may be deleted only when
    /// none does.
    pub async fn count_attachments_with_key(&mut self, key: &str) -> Result<i64> {
        let (n,): (i64,) = self
            .fetch_one(
                Query::select()
                    .expr(Expr::col(Attachments::Id).count())
                    .from(Attachments::Table)
                    .cond_where(
                        Cond::any()
                            .add(Expr::col(Attachments::StorageKey).eq(key))
                            .add(Expr::col(Attachments::PreviewKey).eq(key)),
                    ),
            )
            .await?;
        Ok(n)
    }

    pub async fn attachment_limits(&mut self, ws: WorkspaceId) -> Result<AttachmentLimitsRow> {
        let row: Option<AttachmentLimitsRow> = self
            .fetch_optional(
                Query::select()
                    .columns([
                        Limits::ImageBytes,
                        Limits::VideoBytes,
                        Limits::AudioBytes,
                        Limits::DocumentBytes,
                    ])
                    .from(Limits::Table)
                    .and_where(Expr::col(Limits::WorkspaceId).eq(ws.to_string())),
            )
            .await?;
        Ok(row.unwrap_or_default())
    }

    pub async fn set_attachment_limits(
        &mut self,
        ws: WorkspaceId,
        limits: &AttachmentLimitsRow,
        now: Millis,
    ) -> Result<()> {
        self.execute(
            Query::insert()
                .into_table(Limits::Table)
                .columns([
                    Limits::WorkspaceId,
                    Limits::ImageBytes,
                    Limits::VideoBytes,
                    Limits::AudioBytes,
                    Limits::DocumentBytes,
                    Limits::UpdatedAt,
                ])
                .values_panic([
                    ws.to_string().into(),
                    limits.image_bytes.into(),
                    limits.video_bytes.into(),
                    limits.audio_bytes.into(),
                    limits.document_bytes.into(),
                    now.0.into(),
                ])
                .on_conflict(
                    OnConflict::column(Limits::WorkspaceId)
                        .update_columns([
                            Limits::ImageBytes,
                            Limits::VideoBytes,
                            Limits::AudioBytes,
                            Limits::DocumentBytes,
                            Limits::UpdatedAt,
                        ])
                        .to_owned(),
                ),
        )
        .await?;
        Ok(())
    }
}
