//! Campaigns, their per-recipient ledger and the opt-out list.

use std::collections::HashSet;

use sea_query::{Cond, Expr, Order, Query};
use switchboard_core::campaign::{
    Campaign, CampaignCounts, CampaignRecipient, CampaignStatus, RecipientStatus, ledger_status,
};
use switchboard_core::{CampaignId, ChannelId, DeliveryStatus, Millis, WorkspaceId};

use crate::schema::{CampaignRecipients as R, Campaigns as C, Conversations, Messages, OptOuts};
use crate::{Exec, Result, StoreError, parse, parse_opt, rows_per_statement};

#[derive(Debug, Clone, sqlx::FromRow)]
struct CampaignRow {
    id: String,
    workspace_id: String,
    channel_id: String,
    template_id: Option<String>,
    name: String,
    audience: String,
    variables: String,
    status: String,
    rate_per_second: i64,
    send_at: i64,
    created_by: String,
    created_at: i64,
    updated_at: i64,
    finished_at: Option<i64>,
}

fn json<T: serde::de::DeserializeOwned>(what: &str, raw: &str) -> Result<T> {
    serde_json::from_str(raw).map_err(|e| StoreError::Corrupt(format!("{what}: {e}")))
}

fn to_json<T: serde::Serialize>(value: &T) -> String {
    serde_json::to_string(value).unwrap_or_default()
}

impl CampaignRow {
    fn into_domain(self) -> Result<Campaign> {
        Ok(Campaign {
            id: parse("campaign id", &self.id)?,
            workspace_id: parse("workspace id", &self.workspace_id)?,
            channel_id: parse("channel id", &self.channel_id)?,
            template_id: parse_opt("template id", self.template_id.as_deref())?,
            name: self.name,
            audience: json("campaign audience", &self.audience)?,
            values: json("campaign values", &self.variables)?,
            status: parse("campaign status", &self.status)?,
            rate_per_second: self.rate_per_second.clamp(1, u32::MAX as i64) as u32,
            send_at: Millis(self.send_at),
            created_by: parse("user id", &self.created_by)?,
            created_at: Millis(self.created_at),
            updated_at: Millis(self.updated_at),
            finished_at: self.finished_at.map(Millis),
        })
    }
}

const CAMPAIGN_COLUMNS: [C; 14] = [
    C::Id,
    C::WorkspaceId,
    C::ChannelId,
    C::TemplateId,
    C::Name,
    C::Audience,
    C::Variables,
    C::Status,
    C::RatePerSecond,
    C::SendAt,
    C::CreatedBy,
    C::CreatedAt,
    C::UpdatedAt,
    C::FinishedAt,
];

/// A recipient read with what decides its ledger status.
#[derive(Debug, Clone, sqlx::FromRow)]
struct RecipientRow {
    position: i64,
    external_id: String,
    name: Option<String>,
    contact_id: Option<String>,
    params: String,
    status: String,
    reason: Option<String>,
    conversation_id: Option<String>,
    message_id: Option<String>,
    attempts: i64,
    updated_at: i64,
    delivery_status: Option<String>,
    delivery_error: Option<String>,
    message_created_at: Option<i64>,
    last_customer_message_at: Option<i64>,
}

impl RecipientRow {
    fn into_domain(self) -> Result<CampaignRecipient> {
        let stored: RecipientStatus = parse("recipient status", &self.status)?;
        let delivery: Option<DeliveryStatus> = parse_opt("delivery status", self.delivery_status.as_deref())?;
        let replied = matches!((self.last_customer_message_at, self.message_created_at), (Some(l), Some(m)) if l > m);
        let status = ledger_status(stored, delivery, replied);
        let reason = match status {
            RecipientStatus::Failed if stored == RecipientStatus::Sent => self.delivery_error,
            _ => self.reason,
        };
        Ok(CampaignRecipient {
            position: self.position,
            external_id: self.external_id,
            name: self.name,
            contact_id: parse_opt("contact id", self.contact_id.as_deref())?,
            params: json("recipient params", &self.params)?,
            status,
            reason,
            conversation_id: parse_opt("conversation id", self.conversation_id.as_deref())?,
            message_id: parse_opt("message id", self.message_id.as_deref())?,
            attempts: self.attempts,
            updated_at: Millis(self.updated_at),
        })
    }
}

/// A recipient to store.
#[derive(Debug, Clone)]
pub struct NewRecipient {
    pub position: i64,
    pub external_id: String,
    pub name: Option<String>,
    pub contact_id: Option<switchboard_core::ContactId>,
    pub params: Vec<String>,
    /// `queued`, or `skipped` with the reason.
    pub status: RecipientStatus,
    pub reason: Option<String>,
}

/// Which recipients a ledger page holds.
#[derive(Debug, Clone, Default)]
pub struct RecipientFilter {
    /// By ledger status.
    pub status: Option<RecipientStatus>,
    /// Positions after this one.
    pub after: Option<i64>,
    pub limit: u64,
}

/// The joins that give a recipient's message and conversation.
fn ledger_select(campaign: CampaignId) -> sea_query::SelectStatement {
    Query::select()
        .from(R::Table)
        .left_join(
            Messages::Table,
            Expr::col((Messages::Table, Messages::Id)).equals((R::Table, R::MessageId)),
        )
        .left_join(
            Conversations::Table,
            Expr::col((Conversations::Table, Conversations::Id)).equals((R::Table, R::ConversationId)),
        )
        .and_where(Expr::col((R::Table, R::CampaignId)).eq(campaign.to_string()))
        .to_owned()
}

/// The customer wrote in the conversation after the campaign's message.
fn replied() -> sea_query::SimpleExpr {
    Expr::col((Conversations::Table, Conversations::LastCustomerMessageAt))
        .gt(Expr::col((Messages::Table, Messages::CreatedAt)))
}

fn not_replied() -> Cond {
    let last = Expr::col((Conversations::Table, Conversations::LastCustomerMessageAt));
    Cond::any()
        .add(last.clone().is_null())
        .add(last.lte(Expr::col((Messages::Table, Messages::CreatedAt))))
}

/// Recipients whose ledger status is `status` (see [`ledger_status`]).
fn ledger_is(status: RecipientStatus) -> Cond {
    let stored = |s: RecipientStatus| Expr::col((R::Table, R::Status)).eq(s.as_str());
    let delivery = Expr::col((Messages::Table, Messages::DeliveryStatus));
    let sent = Cond::all().add(stored(RecipientStatus::Sent));
    match status {
        RecipientStatus::Replied => sent.add(replied()),
        RecipientStatus::Failed => Cond::any().add(stored(RecipientStatus::Failed)).add(
            sent.add(not_replied())
                .add(delivery.eq(DeliveryStatus::Failed.as_str())),
        ),
        RecipientStatus::Delivered | RecipientStatus::Read => {
            sent.add(not_replied())
                .add(delivery.eq(if status == RecipientStatus::Read {
                    DeliveryStatus::Read.as_str()
                } else {
                    DeliveryStatus::Delivered.as_str()
                }))
        }
        RecipientStatus::Sent => sent
            .add(not_replied())
            .add(Cond::any().add(delivery.clone().is_null()).add(delivery.is_not_in([
                DeliveryStatus::Delivered.as_str(),
                DeliveryStatus::Read.as_str(),
                DeliveryStatus::Failed.as_str(),
            ]))),
        other => Cond::all().add(stored(other)),
    }
}

impl Exec<'_> {
    pub async fn insert_campaign(&mut self, c: &Campaign) -> Result<()> {
        self.execute(
            Query::insert()
                .into_table(C::Table)
                .columns(CAMPAIGN_COLUMNS)
                .values_panic([
                    c.id.to_string().into(),
                    c.workspace_id.to_string().into(),
                    c.channel_id.to_string().into(),
                    c.template_id.map(|t| t.to_string()).into(),
                    c.name.clone().into(),
                    to_json(&c.audience).into(),
                    to_json(&c.values).into(),
                    c.status.as_str().into(),
                    (c.rate_per_second as i64).into(),
                    c.send_at.0.into(),
                    c.created_by.to_string().into(),
                    c.created_at.0.into(),
                    c.updated_at.0.into(),
                    c.finished_at.map(|t| t.0).into(),
                ]),
        )
        .await?;
        Ok(())
    }

    /// Write a campaign's status, times and rate.
    pub async fn update_campaign(&mut self, c: &Campaign) -> Result<u64> {
        self.execute(
            Query::update()
                .table(C::Table)
                .value(C::Status, c.status.as_str())
                .value(C::SendAt, c.send_at.0)
                .value(C::RatePerSecond, c.rate_per_second as i64)
                .value(C::UpdatedAt, c.updated_at.0)
                .value(C::FinishedAt, c.finished_at.map(|t| t.0))
                .and_where(Expr::col(C::WorkspaceId).eq(c.workspace_id.to_string()))
                .and_where(Expr::col(C::Id).eq(c.id.to_string())),
        )
        .await
    }

    pub async fn campaign(&mut self, ws: WorkspaceId, id: CampaignId) -> Result<Option<Campaign>> {
        let row: Option<CampaignRow> = self
            .fetch_optional(
                Query::select()
                    .columns(CAMPAIGN_COLUMNS)
                    .from(C::Table)
                    .and_where(Expr::col(C::WorkspaceId).eq(ws.to_string()))
                    .and_where(Expr::col(C::Id).eq(id.to_string())),
            )
            .await?;
        row.map(CampaignRow::into_domain).transpose()
    }

    /// The workspace's campaigns, newest first, after `before` (a cursor).
    pub async fn campaigns(
        &mut self,
        ws: WorkspaceId,
        before: Option<CampaignId>,
        limit: u64,
    ) -> Result<crate::Page<Campaign>> {
        let mut q = Query::select();
        q.columns(CAMPAIGN_COLUMNS)
            .from(C::Table)
            .and_where(Expr::col(C::WorkspaceId).eq(ws.to_string()))
            .order_by(C::Id, Order::Desc)
            .limit(limit + 1);
        if let Some(before) = before {
            q.and_where(Expr::col(C::Id).lt(before.to_string()));
        }
        let rows: Vec<CampaignRow> = self.fetch_all(&q).await?;
        let page = crate::page_of(rows, limit, |r| r.id.clone());
        Ok(crate::Page {
            items: page
                .items
                .into_iter()
                .map(CampaignRow::into_domain)
                .collect::<Result<_>>()?,
            next_cursor: page.next_cursor,
        })
    }

    /// Store a campaign's recipients, many per statement.
    pub async fn insert_recipients(
        &mut self,
        ws: WorkspaceId,
        campaign: CampaignId,
        recipients: &[NewRecipient],
        now: Millis,
    ) -> Result<()> {
        const COLUMNS: [R; 11] = [
            R::CampaignId,
            R::Position,
            R::WorkspaceId,
            R::ExternalId,
            R::Name,
            R::ContactId,
            R::Params,
            R::Status,
            R::Reason,
            R::NextAt,
            R::UpdatedAt,
        ];
        let mut statements = Vec::new();
        for chunk in recipients.chunks(rows_per_statement(COLUMNS.len())) {
            let mut q = Query::insert();
            q.into_table(R::Table).columns(COLUMNS);
            for r in chunk {
                q.values_panic([
                    campaign.to_string().into(),
                    r.position.into(),
                    ws.to_string().into(),
                    r.external_id.clone().into(),
                    r.name.clone().into(),
                    r.contact_id.map(|c| c.to_string()).into(),
                    to_json(&r.params).into(),
                    r.status.as_str().into(),
                    r.reason.clone().into(),
                    now.0.into(),
                    now.0.into(),
                ]);
            }
            statements.push(q);
        }
        self.execute_all(&statements).await
    }

    /// Recipients whose turn has come (queued, or limited and due again),
    /// oldest turn first. One walk of the index per status, so no sort of
    /// the whole list however long it is.
    pub async fn due_recipients(
        &mut self,
        campaign: CampaignId,
        now: Millis,
        limit: u64,
    ) -> Result<Vec<CampaignRecipient>> {
        let mut due = Vec::new();
        for status in [RecipientStatus::Limited, RecipientStatus::Queued] {
            let mut q = ledger_select(campaign);
            recipient_columns(&mut q);
            q.and_where(Expr::col((R::Table, R::Status)).eq(status.as_str()))
                .and_where(Expr::col((R::Table, R::NextAt)).lte(now.0))
                .order_by((R::Table, R::NextAt), Order::Asc)
                .order_by((R::Table, R::Position), Order::Asc)
                .limit(limit);
            let rows: Vec<RecipientRow> = self.fetch_all(&q).await?;
            for row in rows {
                due.push(row.into_domain()?);
            }
        }
        // Limited ones first: their time came hours ago.
        due.truncate(limit as usize);
        Ok(due)
    }

    /// When the next limited recipient is due, if any waits.
    pub async fn next_recipient_due(&mut self, campaign: CampaignId) -> Result<Option<Millis>> {
        let (at,): (Option<i64>,) = self
            .fetch_one(
                Query::select()
                    .expr(Expr::col(R::NextAt).min())
                    .from(R::Table)
                    .and_where(Expr::col(R::CampaignId).eq(campaign.to_string()))
                    .and_where(
                        Expr::col(R::Status)
                            .is_in([RecipientStatus::Queued.as_str(), RecipientStatus::Limited.as_str()]),
                    ),
            )
            .await?;
        Ok(at.map(Millis))
    }

    /// Claim a due recipient for sending, with the conversation and message
    /// stored for it in the same transaction: false when someone else did.
    pub async fn claim_recipient(
        &mut self,
        campaign: CampaignId,
        position: i64,
        conversation: switchboard_core::ConversationId,
        message: switchboard_core::MessageId,
        now: Millis,
    ) -> Result<bool> {
        let n = self
            .execute(
                Query::update()
                    .table(R::Table)
                    .value(R::Status, RecipientStatus::Sending.as_str())
                    .value(R::ConversationId, conversation.to_string())
                    .value(R::MessageId, message.to_string())
                    .value(R::Attempts, Expr::col(R::Attempts).add(1))
                    .value(R::UpdatedAt, now.0)
                    .and_where(Expr::col(R::CampaignId).eq(campaign.to_string()))
                    .and_where(Expr::col(R::Position).eq(position))
                    .and_where(
                        Expr::col(R::Status)
                            .is_in([RecipientStatus::Queued.as_str(), RecipientStatus::Limited.as_str()]),
                    ),
            )
            .await?;
        Ok(n == 1)
    }

    /// Record what became of a send: `sent`, `failed`, or `queued` /
    /// `limited` again at `next_at`.
    pub async fn settle_recipient(
        &mut self,
        campaign: CampaignId,
        position: i64,
        status: RecipientStatus,
        reason: Option<&str>,
        next_at: Millis,
        now: Millis,
    ) -> Result<u64> {
        self.execute(
            Query::update()
                .table(R::Table)
                .value(R::Status, status.as_str())
                .value(R::Reason, reason)
                .value(R::NextAt, next_at.0)
                .value(R::UpdatedAt, now.0)
                .and_where(Expr::col(R::CampaignId).eq(campaign.to_string()))
                .and_where(Expr::col(R::Position).eq(position)),
        )
        .await
    }

    /// Recipients left `sending` by a worker that stopped mid-send: whether
    /// the provider took them is unknown, so they are failed (not sent
    /// again on their own; "retry the failed ones" does it on purpose).
    pub async fn fail_stuck_recipients(&mut self, campaign: CampaignId, now: Millis) -> Result<u64> {
        self.execute(
            Query::update()
                .table(R::Table)
                .value(R::Status, RecipientStatus::Failed.as_str())
                .value(
                    R::Reason,
                    "the server stopped while this was being sent; not sent again, so nobody gets it twice",
                )
                .value(R::UpdatedAt, now.0)
                .and_where(Expr::col(R::CampaignId).eq(campaign.to_string()))
                .and_where(Expr::col(R::Status).eq(RecipientStatus::Sending.as_str())),
        )
        .await
    }

    /// Put the failed recipients back in the queue (their message failed,
    /// or they never got one); returns how many.
    pub async fn requeue_failed(&mut self, campaign: CampaignId, now: Millis) -> Result<u64> {
        let failed_messages = Query::select()
            .column(Messages::Id)
            .from(Messages::Table)
            .and_where(Expr::col(Messages::DeliveryStatus).eq(DeliveryStatus::Failed.as_str()))
            .to_owned();
        self.execute(
            Query::update()
                .table(R::Table)
                .value(R::Status, RecipientStatus::Queued.as_str())
                .value(R::Reason, Option::<String>::None)
                .value(R::Attempts, 0)
                .value(R::NextAt, now.0)
                .value(R::UpdatedAt, now.0)
                .and_where(Expr::col(R::CampaignId).eq(campaign.to_string()))
                .cond_where(
                    Cond::any()
                        .add(Expr::col(R::Status).eq(RecipientStatus::Failed.as_str()))
                        .add(
                            Cond::all()
                                .add(Expr::col(R::Status).eq(RecipientStatus::Sent.as_str()))
                                .add(Expr::col(R::MessageId).in_subquery(failed_messages)),
                        ),
                ),
        )
        .await
    }

    /// Recipients by ledger status, counted by the database.
    pub async fn campaign_counts(&mut self, campaign: CampaignId) -> Result<CampaignCounts> {
        let mut q = ledger_select(campaign);
        q.column((R::Table, R::Status))
            .column((Messages::Table, Messages::DeliveryStatus))
            .expr(Expr::col((R::Table, R::Position)).count())
            .expr(sea_query::Func::count(sea_query::SimpleExpr::Case(Box::new(
                sea_query::CaseStatement::new().case(replied(), 1),
            ))))
            .group_by_col((R::Table, R::Status))
            .group_by_col((Messages::Table, Messages::DeliveryStatus));
        let rows: Vec<(String, Option<String>, i64, i64)> = self.fetch_all(&q).await?;
        let mut counts = CampaignCounts::default();
        for (stored, delivery, n, replied) in rows {
            let stored: RecipientStatus = parse("recipient status", &stored)?;
            let delivery: Option<DeliveryStatus> = parse_opt("delivery status", delivery.as_deref())?;
            if stored == RecipientStatus::Sent {
                counts.add(RecipientStatus::Replied, replied);
                counts.add(ledger_status(stored, delivery, false), n - replied);
            } else {
                counts.add(stored, n);
            }
        }
        Ok(counts)
    }

    /// A page of the ledger in audience order.
    pub async fn campaign_recipients(
        &mut self,
        campaign: CampaignId,
        filter: &RecipientFilter,
    ) -> Result<crate::Page<CampaignRecipient>> {
        let mut q = ledger_select(campaign);
        recipient_columns(&mut q);
        if let Some(status) = filter.status {
            q.cond_where(ledger_is(status));
        }
        if let Some(after) = filter.after {
            q.and_where(Expr::col((R::Table, R::Position)).gt(after));
        }
        q.order_by((R::Table, R::Position), Order::Asc).limit(filter.limit + 1);
        let rows: Vec<RecipientRow> = self.fetch_all(&q).await?;
        let page = crate::page_of(rows, filter.limit, |r| r.position.to_string());
        Ok(crate::Page {
            items: page
                .items
                .into_iter()
                .map(RecipientRow::into_domain)
                .collect::<Result<_>>()?,
            next_cursor: page.next_cursor,
        })
    }

    /// Record that someone asked not to get campaigns on a channel.
    pub async fn opt_out(
        &mut self,
        ws: WorkspaceId,
        channel: ChannelId,
        external_id: &str,
        keyword: &str,
        now: Millis,
    ) -> Result<()> {
        self.execute(
            Query::insert()
                .into_table(OptOuts::Table)
                .columns([
                    OptOuts::ChannelId,
                    OptOuts::ExternalId,
                    OptOuts::WorkspaceId,
                    OptOuts::Keyword,
                    OptOuts::CreatedAt,
                ])
                .values_panic([
                    channel.to_string().into(),
                    external_id.into(),
                    ws.to_string().into(),
                    keyword.into(),
                    now.0.into(),
                ])
                .on_conflict(
                    sea_query::OnConflict::columns([OptOuts::ChannelId, OptOuts::ExternalId])
                        .update_columns([OptOuts::Keyword, OptOuts::CreatedAt])
                        .to_owned(),
                ),
        )
        .await?;
        Ok(())
    }

    /// They asked to get campaigns again.
    pub async fn opt_in(&mut self, channel: ChannelId, external_id: &str) -> Result<u64> {
        self.execute(
            Query::delete()
                .from_table(OptOuts::Table)
                .and_where(Expr::col(OptOuts::ChannelId).eq(channel.to_string()))
                .and_where(Expr::col(OptOuts::ExternalId).eq(external_id)),
        )
        .await
    }

    /// The opted-out addresses of a channel, with the word each wrote.
    pub async fn opted_out(&mut self, channel: ChannelId) -> Result<HashSet<String>> {
        let rows: Vec<(String,)> = self
            .fetch_all(
                Query::select()
                    .column(OptOuts::ExternalId)
                    .from(OptOuts::Table)
                    .and_where(Expr::col(OptOuts::ChannelId).eq(channel.to_string())),
            )
            .await?;
        Ok(rows.into_iter().map(|(id,)| id).collect())
    }

    /// Whether a running campaign is still to be sent (its status now).
    pub async fn campaign_status(&mut self, ws: WorkspaceId, id: CampaignId) -> Result<Option<CampaignStatus>> {
        let row: Option<(String,)> = self
            .fetch_optional(
                Query::select()
                    .column(C::Status)
                    .from(C::Table)
                    .and_where(Expr::col(C::WorkspaceId).eq(ws.to_string()))
                    .and_where(Expr::col(C::Id).eq(id.to_string())),
            )
            .await?;
        row.map(|(s,)| parse("campaign status", &s)).transpose()
    }
}

fn recipient_columns(q: &mut sea_query::SelectStatement) {
    q.columns([
        (R::Table, R::Position),
        (R::Table, R::ExternalId),
        (R::Table, R::Name),
        (R::Table, R::ContactId),
        (R::Table, R::Params),
        (R::Table, R::Status),
        (R::Table, R::Reason),
        (R::Table, R::ConversationId),
        (R::Table, R::MessageId),
        (R::Table, R::Attempts),
        (R::Table, R::UpdatedAt),
    ])
    .column((Messages::Table, Messages::DeliveryStatus))
    .column((Messages::Table, Messages::DeliveryError))
    .expr_as(
        Expr::col((Messages::Table, Messages::CreatedAt)),
        sea_query::Alias::new("message_created_at"),
    )
    .column((Conversations::Table, Conversations::LastCustomerMessageAt));
}
