//! Message templates (DESIGN.md §3, §6). Admins create, change and delete
//! them (audited); every member lists and previews them, since agents pick
//! templates in the composer. This module keeps the records and fills
//! placeholders; sending one to a customer is a message of kind `template`
//! (see `conversations::resolve_outgoing`, used by `post_message` and by
//! `outreach`).

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use switchboard_core::permissions::Actor;
use switchboard_core::template::{self, MessageTemplate, TemplateCategory, TemplateStatus};
use switchboard_core::{ChannelId, TemplateId};
use switchboard_store::{StoreError, TemplateFilter, Tx};

use crate::authz::require_admin;
use crate::{ServiceError, ServiceResult, Services};

/// A new template.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct TemplateInput {
    /// Lower-case letters, digits and `_`, at most 512 characters.
    pub name: String,
    /// Language code, e.g. `en`, `en_US`, `pt_BR`.
    pub language: String,
    pub category: TemplateCategory,
    /// At most 1,024 characters; placeholders `{{1}}`, `{{2}}`, … numbered
    /// from 1 without gaps.
    pub body: String,
    /// The channel it belongs to; left out: any channel that uses templates.
    pub channel_id: Option<ChannelId>,
    /// `approved` when left out (channels without a provider review).
    pub status: Option<TemplateStatus>,
}

/// A change to a template; fields left out stay as they are.
#[derive(Debug, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct TemplateUpdate {
    pub name: Option<String>,
    pub language: Option<String>,
    pub category: Option<TemplateCategory>,
    pub body: Option<String>,
    pub status: Option<TemplateStatus>,
    /// Move the template to this channel.
    pub channel_id: Option<ChannelId>,
    /// `true`: the template serves any channel (its channel is removed).
    #[serde(default)]
    pub any_channel: bool,
}

/// Filters of the template list.
#[derive(Debug, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct TemplateQuery {
    /// Templates usable on this channel: its own and those for any channel.
    pub channel: Option<ChannelId>,
    pub status: Option<TemplateStatus>,
}

/// Values for a template's placeholders: `values[0]` fills `{{1}}`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct TemplatePreviewRequest {
    pub values: Vec<String>,
}

/// A template's text with its placeholders filled.
#[derive(Debug, Serialize, JsonSchema)]
pub struct TemplatePreview {
    pub text: String,
}

fn conflict(e: StoreError) -> ServiceError {
    match e {
        StoreError::Conflict(_) => {
            ServiceError::Conflict("a template with that name and language already exists for this channel".into())
        }
        other => other.into(),
    }
}

impl Services {
    async fn check_channel(&self, tx: &mut Tx<'_>, actor: &Actor, channel: Option<ChannelId>) -> ServiceResult<()> {
        if let Some(channel) = channel {
            tx.exec()
                .channel(actor.workspace_id, channel)
                .await?
                .ok_or(ServiceError::NotFound("channel"))?;
        }
        Ok(())
    }

    /// The workspace's templates by name and language (every member).
    pub async fn templates(&self, actor: &Actor, q: TemplateQuery) -> ServiceResult<Vec<MessageTemplate>> {
        let filter = TemplateFilter {
            channel: q.channel,
            status: q.status,
        };
        Ok(self.store().reader().templates(actor.workspace_id, &filter).await?)
    }

    pub async fn template(&self, actor: &Actor, id: TemplateId) -> ServiceResult<MessageTemplate> {
        self.store()
            .reader()
            .template(actor.workspace_id, id)
            .await?
            .ok_or(ServiceError::NotFound("template"))
    }

    pub async fn create_template(&self, actor: &Actor, input: TemplateInput) -> ServiceResult<MessageTemplate> {
        require_admin(actor)?;
        let name = template::name(&input.name)?;
        let language = template::language(&input.language)?;
        let body = template::body(&input.body)?;
        let now = self.now();
        let t = MessageTemplate {
            id: TemplateId::new(),
            workspace_id: actor.workspace_id,
            channel_id: input.channel_id,
            name,
            language,
            category: input.category,
            body: body.text,
            placeholder_count: body.placeholder_count,
            status: input.status.unwrap_or(TemplateStatus::Approved),
            created_at: now,
            updated_at: now,
        };
        let mut tx = self.store().begin().await?;
        self.check_channel(&mut tx, actor, t.channel_id).await?;
        tx.exec().insert_template(&t).await.map_err(conflict)?;
        self.audit(
            &mut tx,
            actor,
            "template.created",
            "template",
            t.id.to_string(),
            serde_json::json!({ "name": t.name, "language": t.language, "channel_id": t.channel_id }),
        )
        .await?;
        tx.commit().await?;
        Ok(t)
    }

    pub async fn update_template(
        &self,
        actor: &Actor,
        id: TemplateId,
        update: TemplateUpdate,
    ) -> ServiceResult<MessageTemplate> {
        require_admin(actor)?;
        if update.any_channel && update.channel_id.is_some() {
            return Err(switchboard_core::validate::Invalid::new(
                "channel_id",
                "give a channel or `any_channel: true`, not both",
            )
            .into());
        }
        let name = update.name.as_deref().map(template::name).transpose()?;
        let language = update.language.as_deref().map(template::language).transpose()?;
        let body = update.body.as_deref().map(template::body).transpose()?;
        let mut tx = self.store().begin().await?;
        let mut t = tx
            .exec()
            .template(actor.workspace_id, id)
            .await?
            .ok_or(ServiceError::NotFound("template"))?;
        self.check_channel(&mut tx, actor, update.channel_id).await?;
        let mut changed: Vec<&str> = Vec::new();
        if let Some(name) = name.filter(|n| *n != t.name) {
            t.name = name;
            changed.push("name");
        }
        if let Some(language) = language.filter(|l| *l != t.language) {
            t.language = language;
            changed.push("language");
        }
        if let Some(category) = update.category.filter(|c| *c != t.category) {
            t.category = category;
            changed.push("category");
        }
        if let Some(body) = body.filter(|b| b.text != t.body) {
            t.body = body.text;
            t.placeholder_count = body.placeholder_count;
            changed.push("body");
        }
        if let Some(status) = update.status.filter(|s| *s != t.status) {
            t.status = status;
            changed.push("status");
        }
        let channel = match (update.channel_id, update.any_channel) {
            (Some(c), _) => Some(Some(c)),
            (None, true) => Some(None),
            (None, false) => None,
        };
        if let Some(channel) = channel.filter(|c| *c != t.channel_id) {
            t.channel_id = channel;
            changed.push("channel_id");
        }
        if changed.is_empty() {
            return Ok(t);
        }
        t.updated_at = self.now();
        tx.exec().update_template(&t).await.map_err(conflict)?;
        self.audit(
            &mut tx,
            actor,
            "template.updated",
            "template",
            t.id.to_string(),
            serde_json::json!({ "name": t.name, "language": t.language, "changed": changed }),
        )
        .await?;
        tx.commit().await?;
        Ok(t)
    }

    pub async fn delete_template(&self, actor: &Actor, id: TemplateId) -> ServiceResult<()> {
        require_admin(actor)?;
        let mut tx = self.store().begin().await?;
        let t = tx
            .exec()
            .template(actor.workspace_id, id)
            .await?
            .ok_or(ServiceError::NotFound("template"))?;
        tx.exec().delete_template(actor.workspace_id, id).await?;
        self.audit(
            &mut tx,
            actor,
            "template.deleted",
            "template",
            id.to_string(),
            serde_json::json!({ "name": t.name, "language": t.language }),
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// The template's text with `values` in its placeholders (every member).
    pub async fn preview_template(
        &self,
        actor: &Actor,
        id: TemplateId,
        req: TemplatePreviewRequest,
    ) -> ServiceResult<TemplatePreview> {
        let t = self.template(actor, id).await?;
        Ok(TemplatePreview {
            text: template::render(&t.body, &req.values)?,
        })
    }
}
