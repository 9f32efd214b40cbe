//! Message templates (DESIGN.md §3, §6). Admins create, change and delete
//! them (audited); every member lists and previews them, since agents pick
//! templates in the composer. This module keeps the records and fills
//! placeholders; sending one to a customer is a message of kind `template`
//! (see `conversations::resolve_outgoing`, used by `post_message` and by
//! `outreach`).

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use switchboard_core::permissions::Actor;
use switchboard_core::template::parts::{self as template_parts, PartsFill, TemplateButton, TemplateHeader};
use switchboard_core::template::{self, MessageTemplate, TemplateCategory, TemplateParts, TemplateStatus};
use switchboard_core::{ChannelId, TemplateId};
use switchboard_store::{StoreError, TemplateFilter, Tx};

use crate::authz::require_admin;
use crate::{ServiceError, ServiceResult, Services};

/// A new template.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct TemplateInput {
    /// Lower-case letters, digits and `_`, at most 512 characters.
    #[schemars(regex(pattern = r"^[a-z0-9_]{1,512}$"))]
    pub name: String,
    /// Language code, e.g. `en`, `en_US`, `pt_BR`.
    #[schemars(regex(pattern = r"^[a-z]{2,3}([_-][A-Za-z0-9]{2,8}){0,2}$"))]
    pub language: String,
    pub category: TemplateCategory,
    /// At most 1,024 characters; placeholders `{{1}}`, `{{2}}`, … numbered
    /// from 1 without gaps.
    #[schemars(length(min = 1, max = 1024), regex(pattern = r"\S"))]
    pub body: String,
    /// The channel it belongs to; left out: any channel that uses templates.
    pub channel_id: Option<ChannelId>,
    /// `approved` when left out (channels without a provider review).
    pub status: Option<TemplateStatus>,
    /// A header: text (with at most `{{1}}`), or an image, video or
    /// document the sender links.
    pub header: Option<TemplateHeader>,
    /// Up to 10 buttons: quick replies, links, a code to copy, a number to
    /// call.
    #[serde(default)]
    pub buttons: Vec<TemplateButton>,
}

/// A change to a template; fields left out stay as they are.
#[derive(Debug, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
// A channel or `any_channel`, a header or `no_header`: not both.
#[schemars(extend(
    "allOf" = [
        {"if": {"required": ["any_channel"], "properties": {"any_channel": {"const": true}}}, "then": {"properties": {"channel_id": {"type": "null"}}}},
        {"if": {"required": ["no_header"], "properties": {"no_header": {"const": true}}}, "then": {"properties": {"header": {"type": "null"}}}}
    ]
))]
pub struct TemplateUpdate {
    #[schemars(regex(pattern = r"^[a-z0-9_]{1,512}$"))]
    pub name: Option<String>,
    #[schemars(regex(pattern = r"^[a-z]{2,3}([_-][A-Za-z0-9]{2,8}){0,2}$"))]
    pub language: Option<String>,
    pub category: Option<TemplateCategory>,
    #[schemars(length(min = 1, max = 1024), regex(pattern = r"\S"))]
    pub body: Option<String>,
    pub status: Option<TemplateStatus>,
    /// Move the template to this channel.
    pub channel_id: Option<ChannelId>,
    /// `true`: the template serves any channel (its channel is removed).
    #[serde(default)]
    pub any_channel: bool,
    /// A new header.
    pub header: Option<TemplateHeader>,
    /// `true`: the template loses its header.
    #[serde(default)]
    pub no_header: bool,
    /// New buttons (`[]` removes them).
    pub buttons: Option<Vec<TemplateButton>>,
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
    /// A text header's `{{1}}`, or the media header's https:// link.
    pub header_param: Option<String>,
    /// One per button, empty where a button takes none.
    #[serde(default)]
    pub button_params: Vec<String>,
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
        let parts = template_parts::parts(input.header, input.buttons)?;
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
            parts,
            status: input.status.unwrap_or(TemplateStatus::Approved),
            quality: None,
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
        if update.no_header && update.header.is_some() {
            return Err(switchboard_core::validate::Invalid::new(
                "header",
                "give a header or `no_header: true`, not both",
            )
            .into());
        }
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
        if update.header.is_some() || update.no_header || update.buttons.is_some() {
            let header = if update.no_header {
                None
            } else {
                update.header.or(t.parts.header.clone())
            };
            let buttons = update.buttons.unwrap_or_else(|| t.parts.buttons.clone());
            let parts = template_parts::parts(header, buttons)?;
            if parts != t.parts {
                t.parts = parts;
                changed.push("parts");
            }
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
        // The values must fit this template (how many, which parts take one).
        let body = template::render(&t.body, &req.values).map_err(ServiceError::Stale)?;
        let (header, _) = template_parts::fill(
            &t.parts,
            PartsFill {
                header: req.header_param.as_deref(),
                buttons: &req.button_params,
            },
        )
        .map_err(ServiceError::Stale)?;
        Ok(TemplatePreview {
            text: template_parts::rendered(&t.parts, header.as_ref(), &body),
        })
    }
}

/// What a template sync did.
#[derive(Debug, Serialize, JsonSchema)]
pub struct TemplateSync {
    /// Whether the provider answered (what it holds was compared).
    pub ok: bool,
    pub added: usize,
    pub updated: usize,
    pub unchanged: usize,
    /// Templates left out, each with why.
    pub skipped: Vec<SkippedTemplate>,
    /// One line for people: the counts, or what went wrong.
    pub message: String,
}

#[derive(Debug, Serialize, JsonSchema)]
pub struct SkippedTemplate {
    pub name: String,
    pub language: String,
    pub reason: String,
}

/// A provider's review status as ours. Paused and disabled templates
/// cannot be sent, like rejected ones.
fn status_of(provider: &str) -> TemplateStatus {
    match provider {
        "approved" => TemplateStatus::Approved,
        "pending" | "in_appeal" | "pending_deletion" => TemplateStatus::Pending,
        _ => TemplateStatus::Rejected,
    }
}

/// A provider's template as ours, or why it cannot be.
/// A provider's template as ours: its fields that follow our rules.
struct Synced {
    name: String,
    language: String,
    category: TemplateCategory,
    status: TemplateStatus,
    body: template::TemplateBody,
    parts: TemplateParts,
    quality: Option<String>,
}

fn synced(p: &switchboard_channels::ProviderTemplate) -> Result<Synced, String> {
    let name = template::name(&p.name).map_err(|e| e.to_string())?;
    let language = template::language(&p.language).map_err(|e| e.to_string())?;
    let category: TemplateCategory = p
        .category
        .parse()
        .map_err(|_| format!("the category {:?} is not one Switchboard knows", p.category))?;
    let status = status_of(&p.status);
    let text = p.body.as_deref().ok_or("it has no body text")?;
    let body = template::body(text).map_err(|e| e.to_string())?;
    let parts = template_parts::parts(p.parts.header.clone(), p.parts.buttons.clone()).map_err(|e| e.to_string())?;
    Ok(Synced {
        name,
        language,
        category,
        status,
        body,
        parts,
        quality: p.quality.clone(),
    })
}

impl Services {
    /// The provider reviewed or re-categorised one of a channel's templates
    /// (a webhook): the channel's template of that name and language
    /// follows. One we do not have is left for the next sync.
    pub(crate) async fn apply_template_update(
        &self,
        ws: switchboard_core::WorkspaceId,
        channel: ChannelId,
        update: &switchboard_channels::TemplateUpdate,
    ) -> ServiceResult<()> {
        let mut tx = self.store().begin().await?;
        let ours = tx
            .exec()
            .templates(
                ws,
                &TemplateFilter {
                    channel: Some(channel),
                    status: None,
                },
            )
            .await?;
        let Some(t) = ours
            .iter()
            .find(|t| t.channel_id == Some(channel) && t.name == update.name && t.language == update.language)
        else {
            return Ok(());
        };
        let mut t = t.clone();
        if let Some(status) = &update.status {
            t.status = status_of(status);
        }
        if let Some(category) = update.category.as_deref().and_then(|c| c.parse().ok()) {
            t.category = category;
        }
        if let Some(quality) = &update.quality {
            t.quality = Some(quality.clone());
        }
        t.updated_at = self.now();
        tx.exec().update_template(&t).await?;
        tx.commit().await?;
        Ok(())
    }

    /// Bring the provider's templates for a channel into the workspace's:
    /// new ones added, changed ones (body, category, status) updated, by
    /// name and language (admins).
    pub async fn sync_templates(&self, actor: &Actor, channel: ChannelId) -> ServiceResult<TemplateSync> {
        require_admin(actor)?;
        let ws = actor.workspace_id;
        let row = self
            .store()
            .reader()
            .channel(ws, channel)
            .await?
            .ok_or(ServiceError::NotFound("channel"))?;
        let setup = crate::channel_port::setup_of(&row)?;
        let adapter = self.adapter(setup.kind)?.clone();
        let found = match adapter.provider_templates(&self.inner.http, &setup).await {
            Ok(found) => found,
            Err(e) => {
                return Ok(TemplateSync {
                    ok: false,
                    added: 0,
                    updated: 0,
                    unchanged: 0,
                    skipped: Vec::new(),
                    message: e.to_string(),
                });
            }
        };
        let now = self.now();
        let mut tx = self.store().begin().await?;
        let ours = tx
            .exec()
            .templates(
                ws,
                &TemplateFilter {
                    channel: Some(channel),
                    status: None,
                },
            )
            .await?;
        let (mut added, mut updated, mut unchanged, mut skipped) = (0, 0, 0, Vec::new());
        for p in &found {
            let Synced {
                name,
                language,
                category,
                status,
                body,
                parts,
                quality,
            } = match synced(p) {
                Ok(t) => t,
                Err(reason) => {
                    skipped.push(SkippedTemplate {
                        name: p.name.clone(),
                        language: p.language.clone(),
                        reason,
                    });
                    continue;
                }
            };
            let existing = ours
                .iter()
                .find(|t| t.channel_id == Some(channel) && t.name == name && t.language == language);
            match existing {
                Some(t)
                    if t.body == body.text
                        && t.category == category
                        && t.status == status
                        && t.parts == parts
                        && t.quality == quality =>
                {
                    unchanged += 1
                }
                Some(t) => {
                    let mut t = t.clone();
                    t.body = body.text;
                    t.parts = parts;
                    t.quality = quality;
                    t.placeholder_count = body.placeholder_count;
                    t.category = category;
                    t.status = status;
                    t.updated_at = now;
                    tx.exec().update_template(&t).await?;
                    updated += 1;
                }
                None => {
                    let t = MessageTemplate {
                        id: TemplateId::new(),
                        workspace_id: ws,
                        channel_id: Some(channel),
                        name,
                        language,
                        category,
                        body: body.text,
                        placeholder_count: body.placeholder_count,
                        parts,
                        status,
                        quality,
                        created_at: now,
                        updated_at: now,
                    };
                    tx.exec().insert_template(&t).await.map_err(conflict)?;
                    added += 1;
                }
            }
        }
        self.audit(
            &mut tx,
            actor,
            "templates.synced",
            "channel",
            channel.to_string(),
            serde_json::json!({ "added": added, "updated": updated, "unchanged": unchanged, "skipped": skipped.len() }),
        )
        .await?;
        tx.commit().await?;
        let mut message = format!("{added} added, {updated} updated, {unchanged} unchanged");
        if !skipped.is_empty() {
            let why: Vec<String> = skipped
                .iter()
                .map(|s| format!("{} ({}): {}", s.name, s.language, s.reason))
                .collect();
            message.push_str(&format!("; {} skipped: {}", skipped.len(), why.join("; ")));
        }
        Ok(TemplateSync {
            ok: true,
            added,
            updated,
            unchanged,
            skipped,
            message,
        })
    }
}
