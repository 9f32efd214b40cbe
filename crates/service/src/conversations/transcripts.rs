//! A conversation as a transcript for download (text, JSON; the web
//! crate renders HTML from the same parts). The text is
//! laid out by `switchboard_core::transcript`; this module gathers what it
//! needs: the conversation (same reach as reading it), its contact and
//! channel, every message with its attachments, and the names of the people
//! and teams it mentions.

use futures::StreamExt;
use futures::stream::BoxStream;
use switchboard_core::permissions::Actor;
use switchboard_core::transcript::{self, TranscriptHeader};
use switchboard_core::zip::ZipStream;
use switchboard_core::{ChannelKind, Conversation, ConversationId, MessageKind, MessageView};

use crate::{ServiceError, ServiceResult, Services, contact_label};

/// A transcript and the file name to download it as.
#[derive(Debug, Clone)]
pub struct Transcript {
    pub filename: String,
    pub text: String,
}

/// Everything a transcript shows, for any format.
#[derive(Debug, Clone)]
pub struct TranscriptParts {
    pub conversation: Conversation,
    pub contact_name: Option<String>,
    pub channel_name: String,
    pub channel_kind: ChannelKind,
    pub names: transcript::Names,
    /// Every message in order; notes and comments left out when asked.
    pub messages: Vec<MessageView>,
}

impl TranscriptParts {
    fn header(&self) -> TranscriptHeader<'_> {
        TranscriptHeader {
            conversation: &self.conversation,
            contact_name: self.contact_name.as_deref(),
            channel_name: &self.channel_name,
            channel_kind: self.channel_kind,
        }
    }

    /// The plain-text transcript.
    pub fn text(&self) -> String {
        transcript::transcript(&self.header(), &self.names, &self.messages)
    }

    /// Who wrote `view`, as the transcript names them.
    pub fn author(&self, view: &MessageView) -> String {
        let contact = self.contact_name.clone().unwrap_or_else(|| "Customer".into());
        transcript::sender(view, &contact, &self.names)
    }

    /// What an activity line says.
    pub fn activity(&self, view: &MessageView) -> Option<String> {
        view.message
            .activity
            .as_ref()
            .map(|a| transcript::activity_sentence(a, &self.names))
    }

    /// The transcript as JSON: the conversation, and every entry with its
    /// author, text or activity sentence, and attachment metadata.
    pub fn to_json(&self) -> serde_json::Value {
        let entries: Vec<serde_json::Value> = self
            .messages
            .iter()
            .map(|v| {
                let m = &v.message;
                serde_json::json!({
                    "id": m.id,
                    "at": transcript::iso_utc(m.created_at),
                    "kind": m.kind,
                    "direction": m.direction,
                    "author": self.author(v),
                    "body": m.body,
                    "activity": self.activity(v),
                    "buttons": m.buttons,
                    "delivery_status": m.delivery_status,
                    "delivery_error": m.delivery_error,
                    "attachments": v.attachments.iter().map(|a| serde_json::json!({
                        "id": a.id,
                        "filename": a.filename,
                        "mime": a.mime,
                        "size": a.size,
                        "sha256": a.sha256,
                    })).collect::<Vec<_>>(),
                })
            })
            .collect();
        serde_json::json!({
            "conversation": self.conversation,
            "contact": {"name": self.contact_name},
            "channel": {"kind": self.channel_kind, "name": self.channel_name},
            "entries": entries,
        })
    }
}

impl Services {
    /// The conversation's transcript, if the actor may see the conversation.
    pub async fn transcript(&self, actor: &Actor, id: ConversationId) -> ServiceResult<Transcript> {
        let parts = self.transcript_parts(actor, id, true).await?;
        Ok(Transcript {
            filename: transcript::filename(id),
            text: parts.text(),
        })
    }

    /// What any transcript of the conversation shows (same reach as reading it).
    pub async fn transcript_parts(
        &self,
        actor: &Actor,
        id: ConversationId,
        notes: bool,
    ) -> ServiceResult<TranscriptParts> {
        let ws = actor.workspace_id;
        let c = self.conversation(actor, id).await?;
        let mut db = self.store().reader();
        let contact = db.contact(ws, c.contact_id).await?;
        let channel = db
            .channel(ws, c.channel_id)
            .await?
            .ok_or(ServiceError::NotFound("conversation"))?
            .to_domain()?;
        let mut messages = self.all_message_views(actor, c.id).await?;
        if !notes {
            messages.retain(|v| !matches!(v.message.kind, MessageKind::Note | MessageKind::Comment));
        }
        let mut names = self.names(actor).await?.people;
        // People who acted here and have left the workspace since.
        for user in transcript::mentioned_users(&c, &messages) {
            if !names.users.contains_key(&user)
                && let Some(row) = db.user(user).await?
            {
                names.users.insert(user, row.name);
            }
        }
        Ok(TranscriptParts {
            contact_name: contact.as_ref().map(contact_label),
            channel_name: channel.name,
            channel_kind: channel.kind,
            names,
            messages,
            conversation: c,
        })
    }
}

/// A file name safe inside an archive: no folders, no control characters.
fn safe_name(filename: &str) -> String {
    let clean: String = filename
        .chars()
        .map(|c| {
            if c.is_control() || matches!(c, '/' | '\\' | ':') {
                '_'
            } else {
                c
            }
        })
        .take(120)
        .collect();
    clean.trim_start_matches('.').to_owned()
}

/// How conversations are laid out in an archive.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ZipLayout {
    /// One conversation: `transcript.txt`, `transcript.json`, `files/NNN-name`.
    Single,
    /// Many (a month): `conversations/<id>.json`, `files/<id>/NNN-name`.
    Many,
}

impl ZipLayout {
    fn head(self, zip: &mut ZipStream, parts: &TranscriptParts) -> ServiceResult<Vec<u8>> {
        let json = serde_json::to_vec_pretty(&parts.to_json()).map_err(|e| ServiceError::Internal(e.to_string()))?;
        Ok(match self {
            Self::Single => {
                let mut out = zip.file("transcript.txt", parts.text().as_bytes());
                out.extend(zip.file("transcript.json", &json));
                out
            }
            Self::Many => zip.file(&format!("conversations/{}.json", parts.conversation.id), &json),
        })
    }

    fn file_name(self, conversation: ConversationId, index: usize, filename: &str) -> String {
        match self {
            Self::Single => format!("files/{:03}-{}", index + 1, safe_name(filename)),
            Self::Many => format!("files/{conversation}/{:03}-{}", index + 1, safe_name(filename)),
        }
    }
}

/// Where a conversations archive is in its writing.
struct ZipState {
    zip: Option<ZipStream>,
    layout: ZipLayout,
    conversations: std::collections::VecDeque<ConversationId>,
    files: std::collections::VecDeque<(String, String)>,
    current: Option<BoxStream<'static, Result<bytes::Bytes, std::io::Error>>>,
    services: Services,
    actor: Actor,
    notes: bool,
}

impl Services {
    /// The transcript as a ZIP: `transcript.txt`, `transcript.json` and every
    /// attachment under `files/`, streamed file by file.
    pub async fn transcript_zip(
        &self,
        actor: &Actor,
        id: ConversationId,
        notes: bool,
    ) -> ServiceResult<BoxStream<'static, ServiceResult<Vec<u8>>>> {
        // Out of reach is 404 before anything is sent.
        self.transcript_parts(actor, id, notes).await?;
        Ok(self.conversations_zip(actor, vec![id], ZipLayout::Single, notes))
    }

    /// `conversations` and their files as a ZIP, read one
    /// conversation and one file at a time; one deleted meanwhile is left out.
    pub(crate) fn conversations_zip(
        &self,
        actor: &Actor,
        conversations: Vec<ConversationId>,
        layout: ZipLayout,
        notes: bool,
    ) -> BoxStream<'static, ServiceResult<Vec<u8>>> {
        let state = ZipState {
            notes,
            zip: Some(ZipStream::new()),
            layout,
            conversations: conversations.into(),
            files: Default::default(),
            current: None,
            services: self.clone(),
            actor: actor.clone(),
        };
        Box::pin(futures::stream::try_unfold(state, |mut s| async move {
            loop {
                let Some(zip) = s.zip.as_mut() else { return Ok(None) };
                if let Some(current) = s.current.as_mut() {
                    let out = match current.next().await {
                        Some(chunk) => zip.data(&chunk.map_err(|e| ServiceError::Internal(e.to_string()))?),
                        None => {
                            s.current = None;
                            zip.end()
                        }
                    };
                    return Ok(Some((out, s)));
                }
                if let Some((name, key)) = s.files.pop_front() {
                    // A file gone from storage (purged meanwhile) is left out.
                    let Ok(stream) = s.services.open_stored(&key).await else {
                        continue;
                    };
                    s.current = Some(stream);
                    let out = zip.start(&name);
                    return Ok(Some((out, s)));
                }
                if let Some(id) = s.conversations.pop_front() {
                    let parts = match s.services.transcript_parts(&s.actor, id, s.notes).await {
                        Ok(parts) => parts,
                        Err(ServiceError::NotFound(_)) => continue,
                        Err(e) => return Err(e),
                    };
                    let out = s.layout.head(zip, &parts)?;
                    let layout = s.layout;
                    s.files.extend(
                        parts
                            .messages
                            .iter()
                            .flat_map(|v| v.attachments.iter())
                            .enumerate()
                            .map(|(i, a)| (layout.file_name(id, i, &a.filename), crate::storage_key(&a.sha256))),
                    );
                    return Ok(Some((out, s)));
                }
                let out = s.zip.take().map(ZipStream::finish).unwrap_or_default();
                return Ok(Some((out, s)));
            }
        }))
    }
}
