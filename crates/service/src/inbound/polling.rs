//! Channels that fetch their events instead of being called (a mailbox by
//! IMAP, Telegram's `getUpdates`): one `poll_channel` timer per channel
//! asks the adapter for what is new after the channel's cursor, stores it
//! like a webhook's events, and only then moves the cursor on, so nothing
//! is lost across a crash (what is fetched twice is a duplicate by its
//! provider id). The next poll comes at once after news, else after
//! `poll_interval`.

use serde::{Deserialize, Serialize};
use switchboard_core::{ChannelId, Millis, WorkspaceId};
use switchboard_store::JobRow;

use super::ChannelCtx;
use crate::jobs::{BoxFuture, Job, Lane, Outcome};
use crate::kernel::channel_record;
use crate::{ServiceError, ServiceResult, Services};

/// Where a channel's cursor is kept in its settings.
const CURSOR: &str = "poll_cursor";

#[derive(Debug, Serialize, Deserialize)]
pub(crate) struct PollPayload {
    workspace_id: WorkspaceId,
    channel_id: ChannelId,
}

/// One poll of one channel.
pub(crate) struct PollChannel;

impl Job for PollChannel {
    const KIND: &'static str = "poll_channel";
    const LANE: Lane = Lane::Polling;
    type Payload = PollPayload;

    fn run<'a>(services: &'a Services, _: &'a JobRow, payload: PollPayload) -> BoxFuture<'a, Outcome> {
        Box::pin(async move {
            match services.poll_channel(&payload).await {
                Ok(next) => {
                    if let Some(at) = next
                        && let Err(e) = services
                            .schedule_poll(payload.workspace_id, payload.channel_id, at)
                            .await
                    {
                        // Retried; the payload is the same, so one timer stays.
                        return Outcome::Retry(e.to_string());
                    }
                    Outcome::Done
                }
                Err(e) => Outcome::Retry(e.to_string()),
            }
        })
    }

    fn schedule_first<'a>(services: &'a Services) -> Option<BoxFuture<'a, ServiceResult<()>>> {
        Some(Box::pin(services.schedule_all_polls()))
    }

    /// A channel whose polls keep failing starts again later: polling
    /// never stops for good while the channel exists.
    fn after_giving_up<'a>(services: &'a Services, payload: &'a PollPayload) -> BoxFuture<'a, ()> {
        Box::pin(async move {
            let later = services
                .now()
                .plus_ms(services.config().poll_interval.as_millis() as i64 * 10);
            if let Err(e) = services
                .schedule_poll(payload.workspace_id, payload.channel_id, later)
                .await
            {
                tracing::warn!(channel = %payload.channel_id, error = %e, "could not schedule the next poll");
            }
        })
    }
}

impl Services {
    /// Make sure a polling channel has its timer (after it is created or
    /// changed, and for every channel when the workers start).
    pub(crate) async fn schedule_poll(&self, ws: WorkspaceId, channel: ChannelId, at: Millis) -> ServiceResult<()> {
        let payload = serde_json::to_value(PollPayload {
            workspace_id: ws,
            channel_id: channel,
        })
        .map_err(|e| ServiceError::Internal(e.to_string()))?;
        let now = self.now();
        let mut tx = self.store().begin().await?;
        let added = tx
            .exec()
            .ensure_job(
                PollChannel::KIND,
                &payload,
                at,
                self.config().delivery_max_attempts,
                now,
            )
            .await?;
        tx.commit().await?;
        if added {
            self.wake_jobs();
        }
        Ok(())
    }

    /// Start the polls of a channel that polls, as configured now.
    pub(crate) async fn start_polling_if_needed(&self, row: &switchboard_store::ChannelRow) -> ServiceResult<()> {
        let setup = crate::channel_port::setup_of(row)?;
        let polls = self.adapter(setup.kind).is_ok_and(|a| a.polls(&setup));
        if polls {
            self.schedule_poll(setup.workspace_id, setup.id, self.now()).await?;
        }
        Ok(())
    }

    async fn schedule_all_polls(&self) -> ServiceResult<()> {
        let workspaces = self.store().reader().workspace_ids().await?;
        for ws in workspaces {
            let channels = self.store().reader().channels(ws).await?;
            for row in &channels {
                self.start_polling_if_needed(row).await?;
            }
        }
        Ok(())
    }

    /// Poll once; returns when to poll next (`None`: the channel is gone
    /// or no longer polls).
    async fn poll_channel(&self, p: &PollPayload) -> ServiceResult<Option<Millis>> {
        let Some(row) = self.store().reader().channel(p.workspace_id, p.channel_id).await? else {
            return Ok(None);
        };
        let setup = crate::channel_port::setup_of(&row)?;
        let Ok(adapter) = self.adapter(setup.kind).cloned() else {
            return Ok(None);
        };
        if !adapter.polls(&setup) {
            return Ok(None);
        }
        let cursor = setup.settings.get(CURSOR).and_then(|c| c.as_str()).map(str::to_owned);
        let interval = self.config().poll_interval.as_millis() as i64;
        let polled = match adapter.poll(&self.inner.http, &setup, cursor.as_deref()).await {
            Ok(polled) => polled,
            Err(e) => {
                tracing::warn!(channel = %setup.id, error = %e, "polling the provider failed");
                return Ok(Some(self.now().plus_ms(interval)));
            }
        };
        let news = !polled.events.is_empty();
        let ctx = ChannelCtx::of(self, &setup, &row.to_domain()?);
        self.store_events(adapter.as_ref(), &setup, &ctx, polled.events).await?;
        if let Some(next) = polled.cursor.filter(|c| Some(c) != cursor.as_ref()) {
            self.save_cursor(&row, &next).await?;
        }
        let now = self.now();
        Ok(Some(if news { now } else { now.plus_ms(interval) }))
    }

    /// Keep the cursor with the channel, after what it covers is stored.
    async fn save_cursor(&self, row: &switchboard_store::ChannelRow, cursor: &str) -> ServiceResult<()> {
        let mut tx = self.store().begin().await?;
        let Some(current) = tx
            .exec()
            .channel_by_id(row.id.parse().map_err(|_| ServiceError::NotFound("channel"))?)
            .await?
        else {
            return Ok(());
        };
        let mut record = channel_record(&current)?;
        record.settings[CURSOR] = cursor.into();
        tx.exec().update_channel(&record).await?;
        tx.commit().await?;
        self.forget_channel(record.id);
        Ok(())
    }
}
