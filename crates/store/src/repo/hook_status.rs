//! What each channel's provider last did at its hook (the admin's channel
//! page): the last request handled, the last one refused and why.

use sea_query::{Expr, OnConflict, Query};
use switchboard_core::{ChannelId, Millis, WorkspaceId};

use crate::schema::ChannelHookStatus;
use crate::{Exec, Result, parse};

/// A channel's hook, as last seen.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HookStatus {
    pub channel_id: ChannelId,
    pub last_received_at: Option<Millis>,
    pub last_error: Option<String>,
    pub last_error_at: Option<Millis>,
}

/// `(channel, received at, error, error at)` as stored.
type HookStatusRow = (String, Option<i64>, Option<String>, Option<i64>);

impl Exec<'_> {
    /// A request to the channel's hook was handled (`error: None`) or
    /// refused with `error`.
    pub async fn note_hook(
        &mut self,
        ws: WorkspaceId,
        channel: ChannelId,
        at: Millis,
        error: Option<&str>,
    ) -> Result<()> {
        let (column, time_column) = match error {
            None => (None, ChannelHookStatus::LastReceivedAt),
            Some(_) => (Some(ChannelHookStatus::LastError), ChannelHookStatus::LastErrorAt),
        };
        let mut columns = vec![
            ChannelHookStatus::ChannelId,
            ChannelHookStatus::WorkspaceId,
            time_column,
        ];
        let mut values: Vec<sea_query::SimpleExpr> =
            vec![channel.to_string().into(), ws.to_string().into(), at.0.into()];
        let mut updated = vec![time_column];
        if let (Some(column), Some(error)) = (column, error) {
            columns.push(column);
            values.push(error.into());
            updated.push(column);
        }
        self.execute(
            Query::insert()
                .into_table(ChannelHookStatus::Table)
                .columns(columns)
                .values_panic(values)
                .on_conflict(
                    OnConflict::column(ChannelHookStatus::ChannelId)
                        .update_columns(updated)
                        .to_owned(),
                ),
        )
        .await?;
        Ok(())
    }

    /// The hook status of the workspace's channels that have one.
    pub async fn hook_statuses(&mut self, ws: WorkspaceId) -> Result<Vec<HookStatus>> {
        let q = Query::select()
            .columns([
                ChannelHookStatus::ChannelId,
                ChannelHookStatus::LastReceivedAt,
                ChannelHookStatus::LastError,
                ChannelHookStatus::LastErrorAt,
            ])
            .from(ChannelHookStatus::Table)
            .and_where(Expr::col(ChannelHookStatus::WorkspaceId).eq(ws.to_string()))
            .to_owned();
        let rows: Vec<HookStatusRow> = self.fetch_all(&q).await?;
        rows.into_iter()
            .map(|(id, received, error, error_at)| {
                Ok(HookStatus {
                    channel_id: parse("channel id", &id)?,
                    last_received_at: received.map(Millis),
                    last_error: error,
                    last_error_at: error_at.map(Millis),
                })
            })
            .collect()
    }
}
