//! Quick replies (DESIGN.md §3, §7): canned answers an agent inserts by
//! typing `/shortcut`. Everyone keeps personal ones; supervisors keep their
//! teams'; admins keep every team's and the workspace's. One outside the
//! caller's reach answers 404; one they may use but not change, 403.

use schemars::JsonSchema;
use serde::Deserialize;
use switchboard_core::lifecycle::LifecycleError;
use switchboard_core::permissions::Actor;
use switchboard_core::validate::{Invalid, MessageText, QuickReplyText, Shortcut};
use switchboard_core::{
    Attachment, AttachmentId, ConversationId, ConversationStatus, MessageKind, MessageView, QuickReply, QuickReplyId,
    QuickReplyScope, QuickReplyView, TeamId,
};
use switchboard_store::{StoreError, Tx};

use crate::conversations::NewMessage;
use crate::kernel::scope;
use crate::outbound::{Outgoing, resolve_outgoing};
use crate::{ServiceError, ServiceResult, Services, Uploader};

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct QuickReplyInput {
    /// `personal` (agents may create only these), `team` (supervisors of
    /// the team, admins) or `workspace` (admins).
    pub scope: QuickReplyScope,
    /// The team of a `team` quick reply; absent for the other scopes.
    pub team_id: Option<TeamId>,
    /// 1–32 lowercase letters, digits, `-` and `_`; a leading `/` is dropped.
    pub shortcut: String,
    /// 1–4096 characters.
    pub text: String,
    /// A file of the workspace (uploaded through the attachments API) to
    /// send with the text.
    pub attachment_id: Option<AttachmentId>,
}

/// The scope and owner of a quick reply do not change; create another one.
#[derive(Debug, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct QuickReplyUpdate {
    pub shortcut: Option<String>,
    pub text: Option<String>,
    /// `null` keeps the attachment; use `clear_attachment` to remove it.
    pub attachment_id: Option<AttachmentId>,
    #[serde(default)]
    pub clear_attachment: bool,
}

fn not_theirs(scope: QuickReplyScope) -> ServiceError {
    ServiceError::Forbidden(match scope {
        QuickReplyScope::Personal => "a personal quick reply is its owner's alone",
        QuickReplyScope::Team => "only the team's supervisors and admins manage its quick replies",
        QuickReplyScope::Workspace => "only admins manage workspace quick replies",
    })
}

/// A duplicate shortcut is named with where it clashes.
fn duplicate(e: StoreError, q: &QuickReply) -> ServiceError {
    match e {
        StoreError::Conflict(_) => {
            let among = match q.scope {
                QuickReplyScope::Personal => "among your quick replies",
                QuickReplyScope::Team => "in this team",
                QuickReplyScope::Workspace => "in this workspace",
            };
            ServiceError::Conflict(format!("the shortcut /{} is already used {among}", q.shortcut))
        }
        other => other.into(),
    }
}

/// Send a quick reply into a conversation.
#[derive(Debug, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SendQuickReply {
    /// The text as the agent left it after inserting the quick reply;
    /// absent: the quick reply's own text.
    pub text: Option<String>,
}

impl Services {
    /// Send a quick reply the caller may use to the customer: its text (or
    /// the agent's edit of it) and its file, as one message. The same rules
    /// as a typed reply apply: the assigned agent (or an admin), an
    /// assigned chat, an open messaging window, a channel that can send.
    pub async fn send_quick_reply(
        &self,
        actor: &Actor,
        conversation: ConversationId,
        id: QuickReplyId,
        input: SendQuickReply,
    ) -> ServiceResult<MessageView> {
        let view = self
            .quick_replies(actor)
            .await?
            .into_iter()
            .find(|q| q.quick_reply.id == id)
            .ok_or(ServiceError::NotFound("quick reply"))?;
        let text = input.text.unwrap_or(view.quick_reply.text);
        let Some(attachment) = view.attachment else {
            let message = self
                .post_message(
                    actor,
                    conversation,
                    NewMessage {
                        kind: MessageKind::Text,
                        body: text,
                        in_reply_to: None,
                        send_at: None,
                        template_id: None,
                        params: Vec::new(),
                        header_param: None,
                        button_params: Vec::new(),
                    },
                )
                .await?;
            return Ok(MessageView {
                message,
                attachments: Vec::new(),
            });
        };
        let caption = Some(MessageText::parse("text", &text)?.into_string());
        let ws = actor.workspace_id;
        let c = self.conversation(actor, conversation).await?;
        if !actor.can_message_customer(&scope(&c)) {
            return Err(ServiceError::Forbidden(
                "only the assigned agent (or an admin) writes to the customer",
            ));
        }
        if c.status != ConversationStatus::Assigned {
            return Err(LifecycleError::IllegalMove {
                status: c.status,
                command: "reply to",
            }
            .into());
        }
        let mut db = self.store().reader();
        let channel = db
            .channel(ws, c.channel_id)
            .await?
            .ok_or(ServiceError::NotFound("channel"))?;
        let now = self.now();
        let probe = Outgoing::Text(caption.clone().unwrap_or_default());
        resolve_outgoing(
            &mut db,
            &self.config().channels,
            &channel,
            probe,
            c.times.window_opened_at(),
            now,
        )
        .await?;
        let file = db
            .attachment(ws, attachment.id)
            .await?
            .ok_or(ServiceError::NotFound("attachment"))?;
        self.post_media(ws, c.id, Uploader::User(actor.user_id), file.into(), caption)
            .await
    }

    /// The quick replies the caller may use, by shortcut.
    pub async fn quick_replies(&self, actor: &Actor) -> ServiceResult<Vec<QuickReplyView>> {
        let ws = actor.workspace_id;
        let mut db = self.store().reader();
        let teams = (!actor.is_admin()).then_some(actor.team_ids.as_slice());
        let replies = db.quick_replies(ws, actor.user_id, teams).await?;
        let mut ids: Vec<AttachmentId> = replies.iter().filter_map(|q| q.attachment_id).collect();
        ids.sort();
        ids.dedup();
        let attachments = db.attachments_by_ids(ws, &ids).await?;
        Ok(replies
            .into_iter()
            .map(|quick_reply| QuickReplyView {
                attachment: attachments
                    .iter()
                    .find(|a| Some(a.id) == quick_reply.attachment_id)
                    .cloned(),
                quick_reply,
            })
            .collect())
    }

    pub async fn create_quick_reply(&self, actor: &Actor, input: QuickReplyInput) -> ServiceResult<QuickReplyView> {
        let shortcut = Shortcut::parse(&input.shortcut)?;
        let text = QuickReplyText::parse(&input.text)?;
        let (owner_user_id, team_id) = match (input.scope, input.team_id) {
            (QuickReplyScope::Team, None) => {
                return Err(Invalid::new("team_id", "is required for a team quick reply").into());
            }
            (QuickReplyScope::Team, team) => (None, team),
            (_, Some(_)) => return Err(Invalid::new("team_id", "is only for team quick replies").into()),
            (QuickReplyScope::Personal, None) => (Some(actor.user_id), None),
            (QuickReplyScope::Workspace, None) => (None, None),
        };
        if let Some(team) = team_id {
            self.team(actor, team).await?;
        }
        let now = self.now();
        let reply = QuickReply {
            id: QuickReplyId::new(),
            workspace_id: actor.workspace_id,
            scope: input.scope,
            owner_user_id,
            team_id,
            shortcut: shortcut.into_string(),
            text: text.into_string(),
            attachment_id: input.attachment_id,
            created_by: actor.user_id,
            created_at: now,
            updated_at: now,
        };
        if !actor.can_edit_quick_reply(&reply) {
            return Err(not_theirs(reply.scope));
        }
        let attachment = self.quick_reply_attachment(actor, reply.attachment_id).await?;
        let mut tx = self.store().begin().await?;
        tx.exec()
            .insert_quick_reply(&reply)
            .await
            .map_err(|e| duplicate(e, &reply))?;
        self.audit_quick_reply(&mut tx, actor, "quick_reply.created", &reply)
            .await?;
        tx.commit().await?;
        Ok(QuickReplyView {
            quick_reply: reply,
            attachment,
        })
    }

    pub async fn update_quick_reply(
        &self,
        actor: &Actor,
        id: QuickReplyId,
        update: QuickReplyUpdate,
    ) -> ServiceResult<QuickReplyView> {
        let shortcut = update.shortcut.as_deref().map(Shortcut::parse).transpose()?;
        let text = update.text.as_deref().map(QuickReplyText::parse).transpose()?;
        if update.clear_attachment && update.attachment_id.is_some() {
            return Err(Invalid::new("clear_attachment", "cannot be combined with attachment_id").into());
        }
        let mut tx = self.store().begin().await?;
        let mut reply = Self::editable_quick_reply(&mut tx, actor, id).await?;
        if let Some(shortcut) = shortcut {
            reply.shortcut = shortcut.into_string();
        }
        if let Some(text) = text {
            reply.text = text.into_string();
        }
        if update.clear_attachment {
            reply.attachment_id = None;
        }
        let attachment = match update.attachment_id {
            Some(new) => {
                reply.attachment_id = Some(new);
                self.quick_reply_attachment(actor, Some(new)).await?
            }
            // Kept as it is: it was checked when it was set.
            None => match reply.attachment_id {
                Some(kept) => tx
                    .exec()
                    .attachment(actor.workspace_id, kept)
                    .await?
                    .map(|r| r.attachment),
                None => None,
            },
        };
        reply.updated_at = self.now();
        tx.exec()
            .update_quick_reply(&reply)
            .await
            .map_err(|e| duplicate(e, &reply))?;
        self.audit_quick_reply(&mut tx, actor, "quick_reply.updated", &reply)
            .await?;
        tx.commit().await?;
        Ok(QuickReplyView {
            quick_reply: reply,
            attachment,
        })
    }

    pub async fn delete_quick_reply(&self, actor: &Actor, id: QuickReplyId) -> ServiceResult<()> {
        let mut tx = self.store().begin().await?;
        let reply = Self::editable_quick_reply(&mut tx, actor, id).await?;
        tx.exec().delete_quick_reply(actor.workspace_id, id).await?;
        self.audit_quick_reply(&mut tx, actor, "quick_reply.deleted", &reply)
            .await?;
        tx.commit().await?;
        Ok(())
    }

    /// Whether a quick reply the actor may use carries this attachment: its
    /// file is then theirs to download, wherever it was uploaded.
    pub(crate) async fn quick_reply_shares_attachment(&self, actor: &Actor, id: AttachmentId) -> ServiceResult<bool> {
        let replies = self
            .store()
            .reader()
            .quick_replies_with_attachment(actor.workspace_id, id)
            .await?;
        Ok(replies.iter().any(|q| actor.can_use_quick_reply(q)))
    }

    /// A quick reply the actor may change: 404 out of reach, 403 when they
    /// may only use it.
    async fn editable_quick_reply(tx: &mut Tx<'_>, actor: &Actor, id: QuickReplyId) -> ServiceResult<QuickReply> {
        let reply = tx
            .exec()
            .quick_reply(actor.workspace_id, id)
            .await?
            .filter(|q| actor.can_use_quick_reply(q))
            .ok_or(ServiceError::NotFound("quick reply"))?;
        if !actor.can_edit_quick_reply(&reply) {
            return Err(not_theirs(reply.scope));
        }
        Ok(reply)
    }

    /// The attachment to carry, which must be one the actor may see.
    async fn quick_reply_attachment(
        &self,
        actor: &Actor,
        id: Option<AttachmentId>,
    ) -> ServiceResult<Option<Attachment>> {
        match id {
            Some(id) => Ok(Some(self.attachment(actor, id).await?.attachment)),
            None => Ok(None),
        }
    }

    /// Shared quick replies are audited; personal ones are nobody else's
    /// business.
    async fn audit_quick_reply(
        &self,
        tx: &mut Tx<'_>,
        actor: &Actor,
        action: &str,
        q: &QuickReply,
    ) -> ServiceResult<()> {
        if q.scope == QuickReplyScope::Personal {
            return Ok(());
        }
        let details = serde_json::json!({ "scope": q.scope, "team_id": q.team_id, "shortcut": q.shortcut });
        self.audit(tx, actor, action, "quick_reply", q.id.to_string(), details)
            .await
    }
}
