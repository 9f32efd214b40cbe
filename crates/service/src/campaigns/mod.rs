//! Campaigns (bulk push, DESIGN.md §4 "pending"): an admin sends one
//! approved template to the contacts of a tag or a search, or to the rows
//! of a CSV, throttled per number, with a per-recipient ledger that follows
//! each message to delivered, read and replied. Pause, resume, cancel and
//! "retry the failed ones"; the ledger exports as CSV.

mod audience;
mod sending;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use switchboard_core::campaign::{
    self, Audience, Campaign, CampaignCounts, CampaignRecipient, CampaignStatus, CampaignValues, RecipientStatus,
    safe_cell,
};
use switchboard_core::permissions::Actor;
use switchboard_core::template::TemplateStatus;
use switchboard_core::validate::Invalid;
use switchboard_core::{CampaignId, ChannelId, Millis, TemplateId};
use switchboard_store::{ContactFilter, RecipientFilter};

pub use audience::RejectedRow;
pub(crate) use sending::RunCampaign;
use sending::RunPayload;

use crate::authz::require_admin;
use crate::{ServiceError, ServiceResult, Services};

/// A new campaign. Give exactly one audience: `tag`, `search` or `csv`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct CampaignInput {
    pub name: String,
    /// A channel that uses templates (WhatsApp).
    pub channel_id: ChannelId,
    /// An approved template for this channel or any channel.
    pub template_id: TemplateId,
    /// Contacts carrying this tag.
    pub tag: Option<String>,
    /// Contacts matching this search (name, phone, e-mail, identity).
    pub search: Option<String>,
    /// A CSV's text: a header row with `phone` (with the country code),
    /// optionally `name`, and any columns values come from.
    pub csv: Option<String>,
    /// The CSV's file name, shown with the campaign.
    pub csv_filename: Option<String>,
    /// Where each template value comes from.
    #[serde(default)]
    pub values: CampaignValues,
    /// Messages a second at most (1–1,000; 20 when left out).
    pub rate_per_second: Option<u32>,
    /// When to start (milliseconds since the epoch); now when left out.
    pub send_at: Option<Millis>,
}

/// A campaign with its ledger counted by status.
#[derive(Debug, Serialize, JsonSchema)]
pub struct CampaignView {
    #[serde(flatten)]
    pub campaign: Campaign,
    pub counts: CampaignCounts,
}

/// What creating a campaign did.
#[derive(Debug, Serialize, JsonSchema)]
pub struct CreatedCampaign {
    #[serde(flatten)]
    pub view: CampaignView,
    /// CSV rows left out, each with why.
    pub rejected_rows: Vec<RejectedRow>,
}

/// A change of a campaign's course.
#[derive(Debug, Clone, Copy, Deserialize, JsonSchema, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum CampaignAction {
    Pause,
    Resume,
    Cancel,
    /// Queue the failed recipients again.
    RetryFailed,
}

/// A page of the ledger.
#[derive(Debug, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RecipientQuery {
    pub status: Option<RecipientStatus>,
    /// The `next_cursor` of the page before.
    pub cursor: Option<String>,
    /// 1–500, 100 when left out.
    #[schemars(range(min = 1, max = 500))]
    pub limit: Option<u64>,
}

#[derive(Debug, Serialize, JsonSchema)]
pub struct RecipientPage {
    pub items: Vec<CampaignRecipient>,
    pub next_cursor: Option<String>,
}

/// Default messages a second.
const DEFAULT_RATE: u32 = 20;

impl Services {
    /// Create a campaign with its recipients (admins); it starts at
    /// `send_at` or now.
    pub async fn create_campaign(&self, actor: &Actor, input: CampaignInput) -> ServiceResult<CreatedCampaign> {
        require_admin(actor)?;
        let ws = actor.workspace_id;
        let name = campaign::name(&input.name)?;
        let rate = campaign::rate(input.rate_per_second.unwrap_or(DEFAULT_RATE))?;
        let now = self.now();
        let send_at = input.send_at.unwrap_or(now).max(now);
        let mut db = self.store().reader();
        let row = db
            .channel(ws, input.channel_id)
            .await?
            .ok_or(ServiceError::NotFound("channel"))?;
        let channel = row.to_domain()?;
        if !self.capabilities(channel.kind).templates {
            return Err(Invalid::new("channel_id", format!("{} channels do not send templates", channel.kind)).into());
        }
        let template = db
            .template(ws, input.template_id)
            .await?
            .ok_or(ServiceError::NotFound("template"))?;
        if template.channel_id.is_some_and(|c| c != channel.id) {
            return Err(Invalid::new("template_id", "the template is for another channel").into());
        }
        if template.status != TemplateStatus::Approved {
            return Err(Invalid::new(
                "template_id",
                format!("the template is {}; only approved ones can be sent", template.status),
            )
            .into());
        }
        if input.values.body.len() != template.placeholder_count {
            return Err(Invalid::new(
                "values",
                format!(
                    "the template takes {} body values, but {} sources were given",
                    template.placeholder_count,
                    input.values.body.len()
                ),
            )
            .into());
        }
        switchboard_core::template::parts::fill(
            &template.parts,
            switchboard_core::template::parts::PartsFill {
                header: input.values.header_param.as_deref(),
                buttons: &input.values.button_params,
            },
        )?;
        let opted_out = db.opted_out(channel.id).await?;
        let given = [input.tag.is_some(), input.search.is_some(), input.csv.is_some()];
        if given.iter().filter(|g| **g).count() != 1 {
            return Err(Invalid::new("tag", "give exactly one audience: tag, search or csv").into());
        }
        let (audience, recipients, rejected_rows) = if let Some(text) = &input.csv {
            let (recipients, rejected) = audience::from_csv(text, &input.values, &opted_out)?;
            let filename = input.csv_filename.clone().unwrap_or_else(|| "upload.csv".into());
            (Audience::Csv { filename }, recipients, rejected)
        } else {
            let (audience, filter) = match (&input.tag, &input.search) {
                (Some(tag), _) => (
                    Audience::Tag {
                        tag: tag.trim().to_owned(),
                    },
                    ContactFilter {
                        tag: Some(tag.trim().to_owned()),
                        ..ContactFilter::default()
                    },
                ),
                (_, search) => {
                    let query = search.clone().unwrap_or_default();
                    (
                        Audience::Search { query: query.clone() },
                        ContactFilter {
                            query: Some(query),
                            ..ContactFilter::default()
                        },
                    )
                }
            };
            let recipients =
                audience::from_contacts(&mut db, ws, channel.id, filter, &input.values, &opted_out).await?;
            (audience, recipients, Vec::new())
        };
        if recipients.list.is_empty() {
            return Err(Invalid::new("tag", "the audience has nobody with an address on this channel").into());
        }
        let c = Campaign {
            id: CampaignId::new(),
            workspace_id: ws,
            channel_id: channel.id,
            template_id: Some(template.id),
            name,
            audience,
            values: input.values,
            status: CampaignStatus::Scheduled,
            rate_per_second: rate,
            send_at,
            created_by: actor.user_id,
            created_at: now,
            updated_at: now,
            finished_at: None,
        };
        let mut tx = self.store().begin().await?;
        tx.exec().insert_campaign(&c).await?;
        tx.exec().insert_recipients(ws, c.id, &recipients.list, now).await?;
        self.enqueue_run(&mut tx, &c, send_at).await?;
        self.audit(
            &mut tx,
            actor,
            "campaign.created",
            "campaign",
            c.id.to_string(),
            serde_json::json!({ "name": c.name, "recipients": recipients.list.len(), "template_id": template.id }),
        )
        .await?;
        tx.commit().await?;
        self.wake_jobs();
        let counts = self.store().reader().campaign_counts(c.id).await?;
        Ok(CreatedCampaign {
            view: CampaignView { campaign: c, counts },
            rejected_rows,
        })
    }

    async fn enqueue_run(&self, tx: &mut switchboard_store::Tx<'_>, c: &Campaign, at: Millis) -> ServiceResult<()> {
        let payload = serde_json::to_value(RunPayload {
            workspace_id: c.workspace_id,
            campaign_id: c.id,
            channel_id: c.channel_id,
        })
        .map_err(|e| ServiceError::Internal(e.to_string()))?;
        tx.exec()
            .enqueue_job(<RunCampaign as crate::jobs::Job>::KIND, &payload, at, 5, self.now())
            .await?;
        Ok(())
    }

    /// The workspace's campaigns, newest first (admins).
    pub async fn campaigns(
        &self,
        actor: &Actor,
        cursor: Option<CampaignId>,
    ) -> ServiceResult<(Vec<CampaignView>, Option<String>)> {
        require_admin(actor)?;
        let mut db = self.store().reader();
        let page = db.campaigns(actor.workspace_id, cursor, 50).await?;
        let mut views = Vec::with_capacity(page.items.len());
        for campaign in page.items {
            let counts = db.campaign_counts(campaign.id).await?;
            views.push(CampaignView { campaign, counts });
        }
        Ok((views, page.next_cursor))
    }

    /// One campaign with its counts (admins).
    pub async fn campaign(&self, actor: &Actor, id: CampaignId) -> ServiceResult<CampaignView> {
        require_admin(actor)?;
        let mut db = self.store().reader();
        let campaign = db
            .campaign(actor.workspace_id, id)
            .await?
            .ok_or(ServiceError::NotFound("campaign"))?;
        let counts = db.campaign_counts(id).await?;
        Ok(CampaignView { campaign, counts })
    }

    /// A page of a campaign's ledger in audience order (admins).
    pub async fn campaign_recipients(
        &self,
        actor: &Actor,
        id: CampaignId,
        q: RecipientQuery,
    ) -> ServiceResult<RecipientPage> {
        self.campaign(actor, id).await?;
        let after = match q.cursor.as_deref() {
            Some(c) => Some(
                c.parse::<i64>()
                    .map_err(|_| Invalid::new("cursor", "is not a cursor of this list"))?,
            ),
            None => None,
        };
        let limit = q.limit.unwrap_or(100);
        if !(1..=500).contains(&limit) {
            return Err(Invalid::new("limit", "must be from 1 to 500").into());
        }
        let page = self
            .store()
            .reader()
            .campaign_recipients(
                id,
                &RecipientFilter {
                    status: q.status,
                    after,
                    limit,
                },
            )
            .await?;
        Ok(RecipientPage {
            items: page.items,
            next_cursor: page.next_cursor,
        })
    }

    /// Pause, resume, cancel, or queue the failed recipients again (admins).
    pub async fn act_on_campaign(
        &self,
        actor: &Actor,
        id: CampaignId,
        action: CampaignAction,
    ) -> ServiceResult<CampaignView> {
        require_admin(actor)?;
        let now = self.now();
        let mut tx = self.store().begin().await?;
        let mut c = tx
            .exec()
            .campaign(actor.workspace_id, id)
            .await?
            .ok_or(ServiceError::NotFound("campaign"))?;
        use CampaignStatus as S;
        let refused = |what: &str| ServiceError::Conflict(format!("a {} campaign cannot be {what}", c.status));
        match action {
            CampaignAction::Pause => match c.status {
                S::Running | S::Scheduled => c.status = S::Paused,
                _ => return Err(refused("paused")),
            },
            CampaignAction::Resume => match c.status {
                S::Paused => {
                    c.status = S::Running;
                    self.enqueue_run(&mut tx, &c, now).await?;
                }
                _ => return Err(refused("resumed")),
            },
            CampaignAction::Cancel => match c.status {
                S::Running | S::Scheduled | S::Paused => {
                    c.status = S::Cancelled;
                    c.finished_at = Some(now);
                }
                _ => return Err(refused("cancelled")),
            },
            CampaignAction::RetryFailed => {
                if c.status == S::Cancelled {
                    return Err(refused("retried"));
                }
                let n = tx.exec().requeue_failed(c.id, now).await?;
                if n == 0 {
                    return Err(ServiceError::Conflict("no recipient has failed".into()));
                }
                if c.status == S::Completed {
                    c.status = S::Running;
                    c.finished_at = None;
                }
                if c.status == S::Running {
                    self.enqueue_run(&mut tx, &c, now).await?;
                }
            }
        }
        c.updated_at = now;
        tx.exec().update_campaign(&c).await?;
        let verb = match action {
            CampaignAction::Pause => "campaign.paused",
            CampaignAction::Resume => "campaign.resumed",
            CampaignAction::Cancel => "campaign.cancelled",
            CampaignAction::RetryFailed => "campaign.retried",
        };
        self.audit(
            &mut tx,
            actor,
            verb,
            "campaign",
            c.id.to_string(),
            serde_json::json!({ "name": c.name }),
        )
        .await?;
        tx.commit().await?;
        self.wake_jobs();
        let counts = self.store().reader().campaign_counts(c.id).await?;
        Ok(CampaignView { campaign: c, counts })
    }

    /// The whole ledger as CSV (admins): one row per recipient, formula
    /// cells neutralised.
    pub async fn campaign_csv(&self, actor: &Actor, id: CampaignId) -> ServiceResult<String> {
        self.campaign(actor, id).await?;
        let mut out = csv::Writer::from_writer(Vec::new());
        let csv_error = |e: csv::Error| ServiceError::Internal(e.to_string());
        out.write_record([
            "position",
            "address",
            "name",
            "status",
            "reason",
            "values",
            "attempts",
            "conversation_id",
        ])
        .map_err(csv_error)?;
        let mut db = self.store().reader();
        let mut after = None;
        loop {
            let page = db
                .campaign_recipients(
                    id,
                    &RecipientFilter {
                        status: None,
                        after,
                        limit: 1000,
                    },
                )
                .await?;
            for r in &page.items {
                let values = r.params.join(" | ");
                let cells = [
                    r.position.to_string(),
                    r.external_id.clone(),
                    r.name.clone().unwrap_or_default(),
                    r.status.to_string(),
                    r.reason.clone().unwrap_or_default(),
                    values,
                    r.attempts.to_string(),
                    r.conversation_id.map(|c| c.to_string()).unwrap_or_default(),
                ];
                out.write_record(cells.iter().map(|c| safe_cell(c).into_owned()))
                    .map_err(csv_error)?;
            }
            match page.next_cursor.and_then(|c| c.parse().ok()) {
                Some(next) => after = Some(next),
                None => break,
            }
        }
        let bytes = out.into_inner().map_err(|e| ServiceError::Internal(e.to_string()))?;
        String::from_utf8(bytes).map_err(|e| ServiceError::Internal(e.to_string()))
    }
}
