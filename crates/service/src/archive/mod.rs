//! The archive's irreversible edges (DESIGN.md §10): legal hold, which keeps
//! a conversation or a contact out of every purge until lifted, and
//! permanent deletion of a conversation ("reject archive") or of a contact
//! with all their conversations (a data-subject request). Admins only;
//! each step is audited; what is deleted answers 404 afterwards and is
//! gone from search.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use switchboard_core::permissions::Actor;
use switchboard_core::{ContactId, ConversationId};
use switchboard_store::PurgedBatch;

use crate::authz::require_admin;
use crate::{ServiceError, ServiceResult, Services};

/// Conversations deleted per transaction when a contact is erased.
const ERASE_BATCH: usize = 200;

/// A legal hold to set or lift.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct HoldRequest {
    pub held: bool,
}

/// Whether a conversation is kept out of every purge, and why.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct HoldState {
    /// Held by itself or through its contact.
    pub held: bool,
    pub conversation: bool,
    pub contact: bool,
}

/// What a permanent deletion removed.
#[derive(Debug, Clone, Default, Serialize, JsonSchema)]
pub struct Deleted {
    pub conversations: u64,
    pub messages: u64,
    pub attachments: u64,
    /// Stored files (and previews) no remaining attachment used.
    pub files: u64,
}

impl Deleted {
    fn add(&mut self, batch: &PurgedBatch) {
        self.conversations += batch.conversations;
        self.messages += batch.messages;
        self.attachments += batch.attachments;
    }

    fn details(&self) -> serde_json::Value {
        serde_json::to_value(self).unwrap_or_default()
    }
}

fn on_hold() -> ServiceError {
    ServiceError::Conflict("it is on legal hold: lift the hold first".into())
}

impl Services {
    /// A conversation's legal hold (anyone who may see it).
    pub async fn legal_hold(&self, actor: &Actor, id: ConversationId) -> ServiceResult<HoldState> {
        self.conversation(actor, id).await?;
        let hold = self.store().reader().legal_hold(actor.workspace_id, id).await?;
        Ok(HoldState {
            held: hold.any(),
            conversation: hold.conversation,
            contact: hold.contact,
        })
    }

    /// Set or lift the hold on one conversation.
    pub async fn hold_conversation(
        &self,
        actor: &Actor,
        id: ConversationId,
        req: HoldRequest,
    ) -> ServiceResult<HoldState> {
        // Out of reach is 404 before it is 403.
        self.conversation(actor, id).await?;
        require_admin(actor)?;
        let mut tx = self.store().begin().await?;
        if !tx
            .exec()
            .set_conversation_hold(actor.workspace_id, id, req.held)
            .await?
        {
            return Err(ServiceError::NotFound("conversation"));
        }
        let action = if req.held {
            "legal_hold.set"
        } else {
            "legal_hold.lifted"
        };
        self.audit(
            &mut tx,
            actor,
            action,
            "conversation",
            id.to_string(),
            serde_json::json!({}),
        )
        .await?;
        tx.commit().await?;
        self.legal_hold(actor, id).await
    }

    /// Set or lift the hold on a contact: all their conversations, now and later.
    pub async fn hold_contact(&self, actor: &Actor, id: ContactId, req: HoldRequest) -> ServiceResult<()> {
        require_admin(actor)?;
        let mut tx = self.store().begin().await?;
        if !tx.exec().set_contact_hold(actor.workspace_id, id, req.held).await? {
            return Err(ServiceError::NotFound("contact"));
        }
        let action = if req.held {
            "legal_hold.set"
        } else {
            "legal_hold.lifted"
        };
        self.audit(&mut tx, actor, action, "contact", id.to_string(), serde_json::json!({}))
            .await?;
        tx.commit().await?;
        Ok(())
    }

    /// Delete a conversation for good: its messages, notes, attachments,
    /// search entries, and the stored files nothing else uses.
    pub async fn delete_conversation(&self, actor: &Actor, id: ConversationId) -> ServiceResult<Deleted> {
        self.conversation(actor, id).await?;
        require_admin(actor)?;
        let mut tx = self.store().begin().await?;
        let ws = actor.workspace_id;
        tx.exec()
            .conversation_for_update(ws, id)
            .await?
            .ok_or(ServiceError::NotFound("conversation"))?;
        if tx.exec().legal_hold(ws, id).await?.any() {
            return Err(on_hold());
        }
        let batch = tx.exec().delete_conversations(ws, &[id.to_string()]).await?;
        let mut deleted = Deleted::default();
        deleted.add(&batch);
        self.audit(
            &mut tx,
            actor,
            "conversation.deleted",
            "conversation",
            id.to_string(),
            deleted.details(),
        )
        .await?;
        tx.commit().await?;
        deleted.files = self.delete_unreferenced_objects(&batch.storage_keys).await;
        Ok(deleted)
    }

    /// Erase a contact (a data-subject request): every conversation of
    /// theirs as [`Self::delete_conversation`] does, then the contact with
    /// their identities and tags.
    pub async fn erase_contact(&self, actor: &Actor, id: ContactId) -> ServiceResult<Deleted> {
        require_admin(actor)?;
        let ws = actor.workspace_id;
        let mut reader = self.store().reader();
        reader.contact(ws, id).await?.ok_or(ServiceError::NotFound("contact"))?;
        let ids = reader.conversation_ids_of_contact(ws, id).await?;
        for conversation in &ids {
            let Ok(conversation) = conversation.parse() else {
                continue;
            };
            if reader.legal_hold(ws, conversation).await?.any() {
                return Err(on_hold());
            }
        }
        let mut deleted = Deleted::default();
        let mut keys = Vec::new();
        for chunk in ids.chunks(ERASE_BATCH) {
            let mut tx = self.store().begin().await?;
            let batch = tx.exec().delete_conversations(ws, chunk).await?;
            deleted.add(&batch);
            keys.extend(batch.storage_keys);
            tx.commit().await?;
        }
        let mut tx = self.store().begin().await?;
        // A conversation that arrived meanwhile goes with the contact (cascade).
        let late = tx.exec().conversation_ids_of_contact(ws, id).await?;
        let batch = tx.exec().delete_conversations(ws, &late).await?;
        deleted.add(&batch);
        keys.extend(batch.storage_keys);
        tx.exec().delete_contact(ws, id).await?;
        self.audit(
            &mut tx,
            actor,
            "contact.erased",
            "contact",
            id.to_string(),
            deleted.details(),
        )
        .await?;
        tx.commit().await?;
        deleted.files = self.delete_unreferenced_objects(&keys).await;
        Ok(deleted)
    }
}
