//! State the nodes of a cluster share besides the event log: presence
//! leases (a node holds one per user with a live socket there, renewed by
//! its heartbeat) and rate-limit counters.

use sea_query::{Expr, Func, OnConflict, Query};
use switchboard_core::{UserId, WorkspaceId};

use crate::schema::{PresenceLeases, RateHits};
use crate::{Exec, Result, parse};

impl Exec<'_> {
    /// Take or extend `node`'s lease on the user's presence.
    pub async fn renew_lease(&mut self, node: &str, ws: WorkspaceId, user: UserId, expires_at: i64) -> Result<()> {
        self.execute(
            Query::insert()
                .into_table(PresenceLeases::Table)
                .columns([
                    PresenceLeases::NodeId,
                    PresenceLeases::WorkspaceId,
                    PresenceLeases::UserId,
                    PresenceLeases::ExpiresAt,
                ])
                .values_panic([
                    node.into(),
                    ws.to_string().into(),
                    user.to_string().into(),
                    expires_at.into(),
                ])
                .on_conflict(
                    OnConflict::columns([
                        PresenceLeases::NodeId,
                        PresenceLeases::WorkspaceId,
                        PresenceLeases::UserId,
                    ])
                    .update_column(PresenceLeases::ExpiresAt)
                    .to_owned(),
                ),
        )
        .await
        .map(|_| ())
    }

    /// Extend every lease `node` holds (its heartbeat).
    pub async fn renew_node_leases(&mut self, node: &str, expires_at: i64) -> Result<u64> {
        self.execute(
            Query::update()
                .table(PresenceLeases::Table)
                .value(PresenceLeases::ExpiresAt, expires_at)
                .and_where(Expr::col(PresenceLeases::NodeId).eq(node)),
        )
        .await
    }

    pub async fn drop_lease(&mut self, node: &str, ws: WorkspaceId, user: UserId) -> Result<()> {
        self.execute(
            Query::delete()
                .from_table(PresenceLeases::Table)
                .and_where(Expr::col(PresenceLeases::NodeId).eq(node))
                .and_where(Expr::col(PresenceLeases::WorkspaceId).eq(ws.to_string()))
                .and_where(Expr::col(PresenceLeases::UserId).eq(user.to_string())),
        )
        .await
        .map(|_| ())
    }

    /// Unexpired leases on the user's presence, on any node.
    pub async fn live_leases(&mut self, ws: WorkspaceId, user: UserId, now: i64) -> Result<i64> {
        let (n,): (i64,) = self
            .fetch_one(
                Query::select()
                    .expr(Func::count(Expr::col(PresenceLeases::NodeId)))
                    .from(PresenceLeases::Table)
                    .and_where(Expr::col(PresenceLeases::WorkspaceId).eq(ws.to_string()))
                    .and_where(Expr::col(PresenceLeases::UserId).eq(user.to_string()))
                    .and_where(Expr::col(PresenceLeases::ExpiresAt).gte(now)),
            )
            .await?;
        Ok(n)
    }

    /// Remove the leases that expired (their node stopped renewing them) and
    /// return whose they were.
    pub async fn take_expired_leases(&mut self, now: i64) -> Result<Vec<(WorkspaceId, UserId)>> {
        let rows: Vec<(String, String)> = self
            .fetch_all(
                Query::delete()
                    .from_table(PresenceLeases::Table)
                    .and_where(Expr::col(PresenceLeases::ExpiresAt).lt(now))
                    .returning(Query::returning().columns([PresenceLeases::WorkspaceId, PresenceLeases::UserId])),
            )
            .await?;
        let mut out = Vec::with_capacity(rows.len());
        for (ws, user) in rows {
            let pair = (parse("workspace id", &ws)?, parse("user id", &user)?);
            if !out.contains(&pair) {
                out.push(pair);
            }
        }
        Ok(out)
    }

    /// Count `n` hits in `bucket`'s window starting at `window_start` and
    /// return the window's total.
    pub async fn add_rate_hits(&mut self, bucket: &str, window_start: i64, n: i64) -> Result<i64> {
        let (hits,): (i64,) = self
            .fetch_one(
                Query::insert()
                    .into_table(RateHits::Table)
                    .columns([RateHits::Bucket, RateHits::WindowStart, RateHits::Hits])
                    .values_panic([bucket.into(), window_start.into(), n.into()])
                    .on_conflict(
                        OnConflict::columns([RateHits::Bucket, RateHits::WindowStart])
                            .value(RateHits::Hits, Expr::col((RateHits::Table, RateHits::Hits)).add(n))
                            .to_owned(),
                    )
                    .returning_col(RateHits::Hits),
            )
            .await?;
        Ok(hits)
    }

    /// Hits counted in `bucket`'s windows starting at or after `since`.
    pub async fn rate_hits_since(&mut self, bucket: &str, since: i64) -> Result<Vec<(i64, i64)>> {
        self.fetch_all(
            Query::select()
                .columns([RateHits::WindowStart, RateHits::Hits])
                .from(RateHits::Table)
                .and_where(Expr::col(RateHits::Bucket).eq(bucket))
                .and_where(Expr::col(RateHits::WindowStart).gte(since)),
        )
        .await
    }

    pub async fn clear_rate_hits(&mut self, bucket: &str) -> Result<()> {
        self.execute(
            Query::delete()
                .from_table(RateHits::Table)
                .and_where(Expr::col(RateHits::Bucket).eq(bucket)),
        )
        .await
        .map(|_| ())
    }

    /// Forget windows that started before `before`.
    pub async fn trim_rate_hits(&mut self, before: i64) -> Result<u64> {
        self.execute(
            Query::delete()
                .from_table(RateHits::Table)
                .and_where(Expr::col(RateHits::WindowStart).lt(before)),
        )
        .await
    }
}
