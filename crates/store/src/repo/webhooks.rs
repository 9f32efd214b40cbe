//! Outgoing webhooks: endpoints, their delivery log, and the workspace
//! setting that lets them reach private addresses.

use sea_query::{Expr, Order, Query};
use switchboard_core::{Millis, WebhookDeliveryId, WebhookId, WorkspaceId};

use crate::schema::*;
use crate::{Exec, Page, Result, page_of};

/// An endpoint as stored, secret included (service layer only).
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct WebhookRow {
    pub id: String,
    pub workspace_id: String,
    pub url: String,
    pub secret: String,
    /// JSON array of event types, or `["*"]`.
    pub events: String,
    pub enabled: bool,
    pub description: Option<String>,
    pub created_at: i64,
    pub updated_at: i64,
}

/// One event on its way to one endpoint, with what happened to it.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct WebhookDeliveryRow {
    pub id: String,
    pub workspace_id: String,
    pub webhook_id: String,
    pub event_type: String,
    pub event_seq: Option<i64>,
    /// The exact body sent on every attempt.
    pub payload: String,
    /// `pending`, `succeeded` or `failed`.
    pub status: String,
    pub attempts: i64,
    pub response_status: Option<i64>,
    pub last_error: Option<String>,
    pub created_at: i64,
    pub updated_at: i64,
    pub delivered_at: Option<i64>,
}

/// The outcome of one delivery attempt.
#[derive(Debug, Clone)]
pub struct WebhookAttempt<'a> {
    pub status: &'a str,
    pub response_status: Option<i64>,
    pub last_error: Option<&'a str>,
    pub delivered_at: Option<Millis>,
}

const WEBHOOK_COLUMNS: [Webhooks; 9] = [
    Webhooks::Id,
    Webhooks::WorkspaceId,
    Webhooks::Url,
    Webhooks::Secret,
    Webhooks::Events,
    Webhooks::Enabled,
    Webhooks::Description,
    Webhooks::CreatedAt,
    Webhooks::UpdatedAt,
];

const DELIVERY_COLUMNS: [WebhookDeliveries; 13] = [
    WebhookDeliveries::Id,
    WebhookDeliveries::WorkspaceId,
    WebhookDeliveries::WebhookId,
    WebhookDeliveries::EventType,
    WebhookDeliveries::EventSeq,
    WebhookDeliveries::Payload,
    WebhookDeliveries::Status,
    WebhookDeliveries::Attempts,
    WebhookDeliveries::ResponseStatus,
    WebhookDeliveries::LastError,
    WebhookDeliveries::CreatedAt,
    WebhookDeliveries::UpdatedAt,
    WebhookDeliveries::DeliveredAt,
];

fn webhook_select(ws: WorkspaceId) -> sea_query::SelectStatement {
    Query::select()
        .columns(WEBHOOK_COLUMNS)
        .from(Webhooks::Table)
        .and_where(Expr::col(Webhooks::WorkspaceId).eq(ws.to_string()))
        .to_owned()
}

fn delivery_select(ws: WorkspaceId) -> sea_query::SelectStatement {
    Query::select()
        .columns(DELIVERY_COLUMNS)
        .from(WebhookDeliveries::Table)
        .and_where(Expr::col(WebhookDeliveries::WorkspaceId).eq(ws.to_string()))
        .to_owned()
}

impl Exec<'_> {
    pub async fn insert_webhook(&mut self, w: &WebhookRow) -> Result<()> {
        self.execute(
            Query::insert()
                .into_table(Webhooks::Table)
                .columns(WEBHOOK_COLUMNS)
                .values_panic([
                    w.id.clone().into(),
                    w.workspace_id.clone().into(),
                    w.url.clone().into(),
                    w.secret.clone().into(),
                    w.events.clone().into(),
                    w.enabled.into(),
                    w.description.clone().into(),
                    w.created_at.into(),
                    w.updated_at.into(),
                ]),
        )
        .await?;
        Ok(())
    }

    pub async fn webhook(&mut self, ws: WorkspaceId, id: WebhookId) -> Result<Option<WebhookRow>> {
        self.fetch_optional(webhook_select(ws).and_where(Expr::col(Webhooks::Id).eq(id.to_string())))
            .await
    }

    /// Every endpoint of a workspace, oldest first.
    pub async fn webhooks(&mut self, ws: WorkspaceId) -> Result<Vec<WebhookRow>> {
        self.fetch_all(webhook_select(ws).order_by(Webhooks::Id, Order::Asc))
            .await
    }

    /// The endpoints that receive events now.
    pub async fn enabled_webhooks(&mut self, ws: WorkspaceId) -> Result<Vec<WebhookRow>> {
        self.fetch_all(
            webhook_select(ws)
                .and_where(Expr::col(Webhooks::Enabled).eq(true))
                .order_by(Webhooks::Id, Order::Asc),
        )
        .await
    }

    /// Write url, secret, events, enabled, description and updated_at.
    pub async fn update_webhook(&mut self, w: &WebhookRow) -> Result<u64> {
        self.execute(
            Query::update()
                .table(Webhooks::Table)
                .value(Webhooks::Url, w.url.clone())
                .value(Webhooks::Secret, w.secret.clone())
                .value(Webhooks::Events, w.events.clone())
                .value(Webhooks::Enabled, w.enabled)
                .value(Webhooks::Description, w.description.clone())
                .value(Webhooks::UpdatedAt, w.updated_at)
                .and_where(Expr::col(Webhooks::WorkspaceId).eq(w.workspace_id.clone()))
                .and_where(Expr::col(Webhooks::Id).eq(w.id.clone())),
        )
        .await
    }

    /// Delete an endpoint (its delivery log goes with it).
    pub async fn delete_webhook(&mut self, ws: WorkspaceId, id: WebhookId) -> Result<u64> {
        self.execute(
            Query::delete()
                .from_table(Webhooks::Table)
                .and_where(Expr::col(Webhooks::WorkspaceId).eq(ws.to_string()))
                .and_where(Expr::col(Webhooks::Id).eq(id.to_string())),
        )
        .await
    }

    pub async fn insert_webhook_delivery(&mut self, d: &WebhookDeliveryRow) -> Result<()> {
        self.execute(
            Query::insert()
                .into_table(WebhookDeliveries::Table)
                .columns(DELIVERY_COLUMNS)
                .values_panic([
                    d.id.clone().into(),
                    d.workspace_id.clone().into(),
                    d.webhook_id.clone().into(),
                    d.event_type.clone().into(),
                    d.event_seq.into(),
                    d.payload.clone().into(),
                    d.status.clone().into(),
                    d.attempts.into(),
                    d.response_status.into(),
                    d.last_error.clone().into(),
                    d.created_at.into(),
                    d.updated_at.into(),
                    d.delivered_at.into(),
                ]),
        )
        .await?;
        Ok(())
    }

    pub async fn webhook_delivery(
        &mut self,
        ws: WorkspaceId,
        id: WebhookDeliveryId,
    ) -> Result<Option<WebhookDeliveryRow>> {
        self.fetch_optional(delivery_select(ws).and_where(Expr::col(WebhookDeliveries::Id).eq(id.to_string())))
            .await
    }

    /// An endpoint's delivery log, newest first; `cursor` is the last id of
    /// the previous page.
    pub async fn webhook_deliveries(
        &mut self,
        ws: WorkspaceId,
        webhook: WebhookId,
        cursor: Option<WebhookDeliveryId>,
        limit: u64,
    ) -> Result<Page<WebhookDeliveryRow>> {
        let mut q = delivery_select(ws);
        q.and_where(Expr::col(WebhookDeliveries::WebhookId).eq(webhook.to_string()))
            .order_by(WebhookDeliveries::Id, Order::Desc)
            .limit(limit + 1);
        if let Some(cursor) = cursor {
            q.and_where(Expr::col(WebhookDeliveries::Id).lt(cursor.to_string()));
        }
        let rows: Vec<WebhookDeliveryRow> = self.fetch_all(&q).await?;
        Ok(page_of(rows, limit, |r| r.id.clone()))
    }

    /// Record one attempt: it counts, and sets status, answer and error.
    pub async fn record_webhook_attempt(
        &mut self,
        ws: WorkspaceId,
        id: WebhookDeliveryId,
        attempt: &WebhookAttempt<'_>,
        now: Millis,
    ) -> Result<u64> {
        self.execute(
            Query::update()
                .table(WebhookDeliveries::Table)
                .value(
                    WebhookDeliveries::Attempts,
                    Expr::col(WebhookDeliveries::Attempts).add(1),
                )
                .value(WebhookDeliveries::Status, attempt.status)
                .value(WebhookDeliveries::ResponseStatus, attempt.response_status)
                .value(WebhookDeliveries::LastError, attempt.last_error)
                .value(WebhookDeliveries::DeliveredAt, attempt.delivered_at.map(|m| m.0))
                .value(WebhookDeliveries::UpdatedAt, now.0)
                .and_where(Expr::col(WebhookDeliveries::WorkspaceId).eq(ws.to_string()))
                .and_where(Expr::col(WebhookDeliveries::Id).eq(id.to_string())),
        )
        .await
    }

    /// Give a pending delivery up (the job ran out of attempts).
    pub async fn fail_webhook_delivery(
        &mut self,
        ws: WorkspaceId,
        id: WebhookDeliveryId,
        error: &str,
        now: Millis,
    ) -> Result<u64> {
        self.execute(
            Query::update()
                .table(WebhookDeliveries::Table)
                .value(WebhookDeliveries::Status, "failed")
                .value(WebhookDeliveries::LastError, error)
                .value(WebhookDeliveries::UpdatedAt, now.0)
                .and_where(Expr::col(WebhookDeliveries::WorkspaceId).eq(ws.to_string()))
                .and_where(Expr::col(WebhookDeliveries::Id).eq(id.to_string()))
                .and_where(Expr::col(WebhookDeliveries::Status).eq("pending")),
        )
        .await
    }

    /// Whether the workspace lets webhooks reach private addresses
    /// (`None`: no such workspace).
    pub async fn workspace_allows_private_targets(&mut self, ws: WorkspaceId) -> Result<Option<bool>> {
        let row: Option<(bool,)> = self
            .fetch_optional(
                Query::select()
                    .column(Workspaces::AllowPrivateTargets)
                    .from(Workspaces::Table)
                    .and_where(Expr::col(Workspaces::Id).eq(ws.to_string())),
            )
            .await?;
        Ok(row.map(|(b,)| b))
    }

    pub async fn set_workspace_allows_private_targets(&mut self, ws: WorkspaceId, allow: bool) -> Result<u64> {
        self.execute(
            Query::update()
                .table(Workspaces::Table)
                .value(Workspaces::AllowPrivateTargets, allow)
                .and_where(Expr::col(Workspaces::Id).eq(ws.to_string())),
        )
        .await
    }
}
