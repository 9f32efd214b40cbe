//! AI assist: each workspace's provider settings and its call log.

use sea_query::{Expr, OnConflict, Order, Query};
use switchboard_core::{Millis, WorkspaceId};

use crate::schema::{AssistCalls, AssistSettings};
use crate::{Exec, Page, Result, page_of};

/// A workspace's provider as stored (the key sealed).
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct AssistSettingsRow {
    pub base_url: String,
    pub model: String,
    pub api_key_sealed: Option<String>,
    pub timeout_ms: i64,
    /// JSON list of the features turned on.
    pub features: String,
    pub send_notes: bool,
    pub mask_contacts: bool,
    pub record_text: bool,
    pub updated_at: i64,
}

/// One call to a provider.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct AssistCallRow {
    pub id: String,
    pub user_id: String,
    pub conversation_id: Option<String>,
    pub action: String,
    pub model: String,
    pub prompt_tokens: Option<i64>,
    pub completion_tokens: Option<i64>,
    pub latency_ms: i64,
    /// `ok`, or what went wrong.
    pub outcome: String,
    pub input_text: Option<String>,
    pub output_text: Option<String>,
    pub created_at: i64,
}

/// [`AssistSettingsRow`]'s columns, in its order.
const SETTINGS_COLUMNS: [AssistSettings; 9] = [
    AssistSettings::BaseUrl,
    AssistSettings::Model,
    AssistSettings::ApiKeySealed,
    AssistSettings::TimeoutMs,
    AssistSettings::Features,
    AssistSettings::SendNotes,
    AssistSettings::MaskContacts,
    AssistSettings::RecordText,
    AssistSettings::UpdatedAt,
];

/// [`AssistCallRow`]'s columns, in its order.
const CALL_COLUMNS: [AssistCalls; 12] = [
    AssistCalls::Id,
    AssistCalls::UserId,
    AssistCalls::ConversationId,
    AssistCalls::Action,
    AssistCalls::Model,
    AssistCalls::PromptTokens,
    AssistCalls::CompletionTokens,
    AssistCalls::LatencyMs,
    AssistCalls::Outcome,
    AssistCalls::InputText,
    AssistCalls::OutputText,
    AssistCalls::CreatedAt,
];

impl Exec<'_> {
    pub async fn assist_settings(&mut self, ws: WorkspaceId) -> Result<Option<AssistSettingsRow>> {
        self.fetch_optional(
            Query::select()
                .columns(SETTINGS_COLUMNS)
                .from(AssistSettings::Table)
                .and_where(Expr::col(AssistSettings::WorkspaceId).eq(ws.to_string())),
        )
        .await
    }

    pub async fn put_assist_settings(&mut self, ws: WorkspaceId, s: &AssistSettingsRow) -> Result<()> {
        self.execute(
            Query::insert()
                .into_table(AssistSettings::Table)
                .columns(std::iter::once(AssistSettings::WorkspaceId).chain(SETTINGS_COLUMNS))
                .values_panic([
                    ws.to_string().into(),
                    s.base_url.clone().into(),
                    s.model.clone().into(),
                    s.api_key_sealed.clone().into(),
                    s.timeout_ms.into(),
                    s.features.clone().into(),
                    s.send_notes.into(),
                    s.mask_contacts.into(),
                    s.record_text.into(),
                    s.updated_at.into(),
                ])
                .on_conflict(
                    OnConflict::column(AssistSettings::WorkspaceId)
                        .update_columns(SETTINGS_COLUMNS)
                        .to_owned(),
                ),
        )
        .await
        .map(drop)
    }

    pub async fn insert_assist_call(&mut self, ws: WorkspaceId, c: &AssistCallRow) -> Result<()> {
        self.execute(
            Query::insert()
                .into_table(AssistCalls::Table)
                .columns(std::iter::once(AssistCalls::WorkspaceId).chain(CALL_COLUMNS))
                .values_panic([
                    ws.to_string().into(),
                    c.id.clone().into(),
                    c.user_id.clone().into(),
                    c.conversation_id.clone().into(),
                    c.action.clone().into(),
                    c.model.clone().into(),
                    c.prompt_tokens.into(),
                    c.completion_tokens.into(),
                    c.latency_ms.into(),
                    c.outcome.clone().into(),
                    c.input_text.clone().into(),
                    c.output_text.clone().into(),
                    c.created_at.into(),
                ]),
        )
        .await
        .map(drop)
    }

    /// The workspace's calls, newest first (ids sort by time).
    pub async fn assist_calls(
        &mut self,
        ws: WorkspaceId,
        before: Option<&str>,
        limit: u64,
    ) -> Result<Page<AssistCallRow>> {
        let mut q = Query::select();
        q.columns(CALL_COLUMNS)
            .from(AssistCalls::Table)
            .and_where(Expr::col(AssistCalls::WorkspaceId).eq(ws.to_string()))
            .order_by(AssistCalls::Id, Order::Desc)
            .limit(limit + 1);
        if let Some(before) = before {
            q.and_where(Expr::col(AssistCalls::Id).lt(before));
        }
        let rows: Vec<AssistCallRow> = self.fetch_all(&q).await?;
        Ok(page_of(rows, limit, |r| r.id.clone()))
    }

    /// Calls since `since` (rate limits that hold across nodes).
    pub async fn assist_calls_since(&mut self, ws: WorkspaceId, user: Option<&str>, since: Millis) -> Result<u64> {
        let mut q = Query::select();
        q.expr(Expr::col(AssistCalls::Id).count())
            .from(AssistCalls::Table)
            .and_where(Expr::col(AssistCalls::WorkspaceId).eq(ws.to_string()))
            .and_where(Expr::col(AssistCalls::CreatedAt).gte(since.0));
        if let Some(user) = user {
            q.and_where(Expr::col(AssistCalls::UserId).eq(user));
        }
        let (n,): (i64,) = self.fetch_one(&q).await?;
        Ok(n.max(0) as u64)
    }
}
