//! Quick replies (DESIGN.md §3, §7): canned answers an agent inserts by
//! typing `/shortcut`. Everyone keeps personal ones; supervisors keep their
//! teams'; admins keep every team's and the workspace's. One outside the
//! caller's reach answers 404; one they may use but not change, 403.

use schemars::JsonSchema;
use serde::Deserialize;
use switchboard_core::permissions::Actor;
use switchboard_core::validate::{Invalid, QuickReplyText, Shortcut};
use switchboard_core::{Attachment, AttachmentId, QuickReply, QuickReplyId, QuickReplyScope, QuickReplyView, TeamId};
use switchboard_store::{StoreError, Tx};

use crate::{ServiceError, ServiceResult, Services};

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

impl Services {
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
