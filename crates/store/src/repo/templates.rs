//! Message templates of a workspace.

use sea_query::{Cond, Expr, Order, Query};
use switchboard_core::template::{MessageTemplate, TemplateStatus, placeholder_count};
use switchboard_core::{ChannelId, Millis, TemplateId, WorkspaceId};

use crate::schema::*;
use crate::{Exec, Result, StoreError, parse, parse_opt};

#[derive(Debug, Clone, sqlx::FromRow)]
struct TemplateRow {
    id: String,
    workspace_id: String,
    channel_id: Option<String>,
    name: String,
    language: String,
    category: String,
    body: String,
    parts: String,
    quality: Option<String>,
    status: String,
    created_at: i64,
    updated_at: i64,
}

impl TemplateRow {
    fn into_domain(self) -> Result<MessageTemplate> {
        let placeholder_count =
            placeholder_count(&self.body).map_err(|e| StoreError::Corrupt(format!("template body: {e}")))?;
        Ok(MessageTemplate {
            id: parse("template id", &self.id)?,
            workspace_id: parse("workspace id", &self.workspace_id)?,
            channel_id: parse_opt("channel id", self.channel_id.as_deref())?,
            name: self.name,
            language: self.language,
            category: parse("template category", &self.category)?,
            body: self.body,
            placeholder_count,
            parts: serde_json::from_str(&self.parts)
                .map_err(|e| StoreError::Corrupt(format!("template parts: {e}")))?,
            status: parse("template status", &self.status)?,
            quality: self.quality,
            created_at: Millis(self.created_at),
            updated_at: Millis(self.updated_at),
        })
    }
}

const COLUMNS: [MessageTemplates; 12] = [
    MessageTemplates::Id,
    MessageTemplates::WorkspaceId,
    MessageTemplates::ChannelId,
    MessageTemplates::Name,
    MessageTemplates::Language,
    MessageTemplates::Category,
    MessageTemplates::Body,
    MessageTemplates::Parts,
    MessageTemplates::Quality,
    MessageTemplates::Status,
    MessageTemplates::CreatedAt,
    MessageTemplates::UpdatedAt,
];

fn template_select(ws: WorkspaceId) -> sea_query::SelectStatement {
    Query::select()
        .columns(COLUMNS)
        .from(MessageTemplates::Table)
        .and_where(Expr::col(MessageTemplates::WorkspaceId).eq(ws.to_string()))
        .to_owned()
}

fn parts_json(t: &MessageTemplate) -> String {
    serde_json::to_string(&t.parts).unwrap_or_else(|_| "{}".into())
}

/// Which templates a list returns.
#[derive(Debug, Clone, Default)]
pub struct TemplateFilter {
    /// Templates usable on this channel: its own and those for any channel.
    pub channel: Option<ChannelId>,
    pub status: Option<TemplateStatus>,
}

impl Exec<'_> {
    pub async fn insert_template(&mut self, t: &MessageTemplate) -> Result<()> {
        self.execute(
            Query::insert()
                .into_table(MessageTemplates::Table)
                .columns(COLUMNS)
                .values_panic([
                    t.id.to_string().into(),
                    t.workspace_id.to_string().into(),
                    t.channel_id.map(|c| c.to_string()).into(),
                    t.name.clone().into(),
                    t.language.clone().into(),
                    t.category.as_str().into(),
                    t.body.clone().into(),
                    parts_json(t).into(),
                    t.quality.clone().into(),
                    t.status.as_str().into(),
                    t.created_at.0.into(),
                    t.updated_at.0.into(),
                ]),
        )
        .await?;
        Ok(())
    }

    /// Write every changeable field of a template.
    pub async fn update_template(&mut self, t: &MessageTemplate) -> Result<u64> {
        self.execute(
            Query::update()
                .table(MessageTemplates::Table)
                .value(MessageTemplates::ChannelId, t.channel_id.map(|c| c.to_string()))
                .value(MessageTemplates::Name, t.name.clone())
                .value(MessageTemplates::Language, t.language.clone())
                .value(MessageTemplates::Category, t.category.as_str())
                .value(MessageTemplates::Body, t.body.clone())
                .value(MessageTemplates::Parts, parts_json(t))
                .value(MessageTemplates::Quality, t.quality.clone())
                .value(MessageTemplates::Status, t.status.as_str())
                .value(MessageTemplates::UpdatedAt, t.updated_at.0)
                .and_where(Expr::col(MessageTemplates::WorkspaceId).eq(t.workspace_id.to_string()))
                .and_where(Expr::col(MessageTemplates::Id).eq(t.id.to_string())),
        )
        .await
    }

    pub async fn template(&mut self, ws: WorkspaceId, id: TemplateId) -> Result<Option<MessageTemplate>> {
        let row: Option<TemplateRow> = self
            .fetch_optional(template_select(ws).and_where(Expr::col(MessageTemplates::Id).eq(id.to_string())))
            .await?;
        row.map(TemplateRow::into_domain).transpose()
    }

    /// Templates by name, then language.
    pub async fn templates(&mut self, ws: WorkspaceId, filter: &TemplateFilter) -> Result<Vec<MessageTemplate>> {
        let mut q = template_select(ws);
        if let Some(channel) = filter.channel {
            q.cond_where(
                Cond::any()
                    .add(Expr::col(MessageTemplates::ChannelId).eq(channel.to_string()))
                    .add(Expr::col(MessageTemplates::ChannelId).is_null()),
            );
        }
        if let Some(status) = filter.status {
            q.and_where(Expr::col(MessageTemplates::Status).eq(status.as_str()));
        }
        q.order_by(MessageTemplates::Name, Order::Asc)
            .order_by(MessageTemplates::Language, Order::Asc)
            .order_by(MessageTemplates::Id, Order::Asc);
        let rows: Vec<TemplateRow> = self.fetch_all(&q).await?;
        rows.into_iter().map(TemplateRow::into_domain).collect()
    }

    pub async fn delete_template(&mut self, ws: WorkspaceId, id: TemplateId) -> Result<u64> {
        self.execute(
            Query::delete()
                .from_table(MessageTemplates::Table)
                .and_where(Expr::col(MessageTemplates::WorkspaceId).eq(ws.to_string()))
                .and_where(Expr::col(MessageTemplates::Id).eq(id.to_string())),
        )
        .await
    }
}
