//! The durable event log (DESIGN.md §2): each workspace's events with a
//! sequence number that increases by one, written in the transaction of the
//! change they describe; per-consumer cursors over it; and, on PostgreSQL,
//! the `NOTIFY` that wakes every node once such a transaction commits.

use sea_query::{Expr, Func, LockType, OnConflict, Order, Query};
use switchboard_core::WorkspaceId;

use crate::schema::{EventCursors, EventHeads, EventLog, EventMarks};
use crate::{Exec, Result, Tx, rows_per_statement};

/// The `LISTEN` channel; its payload is the workspace id whose log grew.
pub const EVENTS_CHANNEL: &str = "switchboard_events";

/// An event to append; `scope` and `data` are JSON text.
#[derive(Debug, Clone)]
pub struct NewEvent {
    pub kind: String,
    pub scope: String,
    pub data: String,
}

/// An event read back from the log.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct LoggedEvent {
    pub seq: i64,
    pub kind: String,
    pub scope: String,
    pub data: String,
    pub created_at: i64,
}

/// What the log holds of a workspace: its newest seq and its oldest kept
/// one (`None` when every event was trimmed).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LogBounds {
    pub oldest: Option<i64>,
    pub head: i64,
}

impl Tx<'_> {
    /// Append `events` to the workspace's log and return the seq of the
    /// first. Taking the numbers locks the workspace's head row until this
    /// transaction ends, so a workspace's events commit in seq order and a
    /// reader that sees seq n has seen every seq below it. A workspace's
    /// first seq is `start` (the caller passes the clock in ms × 1000, so a
    /// seq from before the log existed is always older than anything kept).
    pub async fn append_events(&mut self, ws: WorkspaceId, events: &[NewEvent], now: i64, start: i64) -> Result<i64> {
        if events.is_empty() {
            return Ok(0);
        }
        let n = events.len() as i64;
        let (last,): (i64,) = self
            .exec()
            .fetch_one(
                Query::insert()
                    .into_table(EventHeads::Table)
                    .columns([EventHeads::WorkspaceId, EventHeads::FirstSeq, EventHeads::LastSeq])
                    .values_panic([ws.to_string().into(), start.into(), (start + n - 1).into()])
                    .on_conflict(
                        OnConflict::column(EventHeads::WorkspaceId)
                            .value(
                                EventHeads::LastSeq,
                                Expr::col((EventHeads::Table, EventHeads::LastSeq)).add(n),
                            )
                            .to_owned(),
                    )
                    .returning_col(EventHeads::LastSeq),
            )
            .await?;
        let first = last - n + 1;
        let numbered: Vec<(i64, &NewEvent)> = (first..).zip(events).collect();
        for chunk in numbered.chunks(rows_per_statement(6)) {
            let mut q = Query::insert();
            q.into_table(EventLog::Table).columns([
                EventLog::WorkspaceId,
                EventLog::Seq,
                EventLog::Kind,
                EventLog::Scope,
                EventLog::Data,
                EventLog::CreatedAt,
            ]);
            for (seq, e) in chunk {
                q.values_panic([
                    ws.to_string().into(),
                    (*seq).into(),
                    e.kind.clone().into(),
                    e.scope.clone().into(),
                    e.data.clone().into(),
                    now.into(),
                ]);
            }
            self.exec().execute(&q).await?;
        }
        if let crate::TxConn::Postgres(conn) = &mut self.conn {
            // Delivered when this transaction commits; identical payloads in
            // one transaction are folded into one.
            sqlx::query("SELECT pg_notify($1, $2)")
                .bind(EVENTS_CHANNEL)
                .bind(ws.to_string())
                .execute(&mut **conn)
                .await?;
        }
        self.appended.add(ws);
        Ok(first)
    }
}

impl Exec<'_> {
    /// The workspace's newest seq and oldest kept one; `None` before its
    /// first event.
    pub async fn event_bounds(&mut self, ws: WorkspaceId) -> Result<Option<LogBounds>> {
        let head: Option<(i64,)> = self
            .fetch_optional(
                Query::select()
                    .column(EventHeads::LastSeq)
                    .from(EventHeads::Table)
                    .and_where(Expr::col(EventHeads::WorkspaceId).eq(ws.to_string())),
            )
            .await?;
        let Some((head,)) = head else { return Ok(None) };
        let (oldest,): (Option<i64>,) = self
            .fetch_one(
                Query::select()
                    .expr(Func::min(Expr::col(EventLog::Seq)))
                    .from(EventLog::Table)
                    .and_where(Expr::col(EventLog::WorkspaceId).eq(ws.to_string())),
            )
            .await?;
        Ok(Some(LogBounds { oldest, head }))
    }

    /// Up to `limit` events of the workspace after seq `after`, oldest first.
    pub async fn events_after(&mut self, ws: WorkspaceId, after: i64, limit: u64) -> Result<Vec<LoggedEvent>> {
        self.fetch_all(
            Query::select()
                .columns([
                    EventLog::Seq,
                    EventLog::Kind,
                    EventLog::Scope,
                    EventLog::Data,
                    EventLog::CreatedAt,
                ])
                .from(EventLog::Table)
                .and_where(Expr::col(EventLog::WorkspaceId).eq(ws.to_string()))
                .and_where(Expr::col(EventLog::Seq).gt(after))
                .order_by(EventLog::Seq, Order::Asc)
                .limit(limit),
        )
        .await
    }

    /// Mark where every workspace's log stands at `now` (see
    /// [`Exec::trim_event_log`]).
    pub async fn mark_event_heads(&mut self, now: i64) -> Result<()> {
        self.execute(
            Query::insert()
                .into_table(EventMarks::Table)
                .columns([EventMarks::WorkspaceId, EventMarks::At, EventMarks::Seq])
                .select_from(
                    Query::select()
                        .column(EventHeads::WorkspaceId)
                        .expr(Expr::val(now))
                        .column(EventHeads::LastSeq)
                        .from(EventHeads::Table)
                        // SQLite reads `ON CONFLICT` after a SELECT without
                        // WHERE as a join's ON: an always-true WHERE settles it.
                        .and_where(Expr::col(EventHeads::LastSeq).is_not_null())
                        .to_owned(),
                )
                .map_err(|e| crate::StoreError::Corrupt(e.to_string()))?
                .on_conflict(
                    OnConflict::columns([EventMarks::WorkspaceId, EventMarks::At])
                        .do_nothing()
                        .to_owned(),
                ),
        )
        .await
        .map(|_| ())
    }

    /// Forget the events every mark taken before `before` (ms) covers,
    /// and those marks; how many events went. Events go at most a mark's
    /// interval later than `before`, and each delete is a range of the
    /// primary key.
    pub async fn trim_event_log(&mut self, before: i64) -> Result<u64> {
        let due: Vec<(String, i64)> = self
            .fetch_all(
                Query::select()
                    .column(EventMarks::WorkspaceId)
                    .expr(Func::max(Expr::col(EventMarks::Seq)))
                    .from(EventMarks::Table)
                    .and_where(Expr::col(EventMarks::At).lt(before))
                    .group_by_col(EventMarks::WorkspaceId),
            )
            .await?;
        let mut trimmed = 0;
        for (ws, seq) in due {
            trimmed += self
                .execute(
                    Query::delete()
                        .from_table(EventLog::Table)
                        .and_where(Expr::col(EventLog::WorkspaceId).eq(ws))
                        .and_where(Expr::col(EventLog::Seq).lte(seq)),
                )
                .await?;
        }
        self.execute(
            Query::delete()
                .from_table(EventMarks::Table)
                .and_where(Expr::col(EventMarks::At).lt(before)),
        )
        .await?;
        Ok(trimmed)
    }

    /// Start `consumer`'s cursor over the workspace's log at `seq`, unless
    /// it has one.
    pub async fn ensure_event_cursor(&mut self, consumer: &str, ws: WorkspaceId, seq: i64) -> Result<()> {
        self.execute(
            Query::insert()
                .into_table(EventCursors::Table)
                .columns([EventCursors::Consumer, EventCursors::WorkspaceId, EventCursors::Seq])
                .values_panic([consumer.into(), ws.to_string().into(), seq.into()])
                .on_conflict(
                    OnConflict::columns([EventCursors::Consumer, EventCursors::WorkspaceId])
                        .do_nothing()
                        .to_owned(),
                ),
        )
        .await
        .map(|_| ())
    }

    /// The cursor, locked until the transaction ends (PostgreSQL; SQLite's
    /// writer is alone anyway), so two nodes never consume the same events.
    pub async fn lock_event_cursor(&mut self, consumer: &str, ws: WorkspaceId) -> Result<Option<i64>> {
        let row: Option<(i64,)> = self
            .fetch_optional(
                Query::select()
                    .column(EventCursors::Seq)
                    .from(EventCursors::Table)
                    .and_where(Expr::col(EventCursors::Consumer).eq(consumer))
                    .and_where(Expr::col(EventCursors::WorkspaceId).eq(ws.to_string()))
                    .lock(LockType::Update),
            )
            .await?;
        Ok(row.map(|(seq,)| seq))
    }

    pub async fn set_event_cursor(&mut self, consumer: &str, ws: WorkspaceId, seq: i64) -> Result<()> {
        self.execute(
            Query::update()
                .table(EventCursors::Table)
                .value(EventCursors::Seq, seq)
                .and_where(Expr::col(EventCursors::Consumer).eq(consumer))
                .and_where(Expr::col(EventCursors::WorkspaceId).eq(ws.to_string())),
        )
        .await
        .map(|_| ())
    }

    /// Workspaces whose log holds events `consumer` has not consumed.
    pub async fn lagging_cursors(&mut self, consumer: &str) -> Result<Vec<WorkspaceId>> {
        let rows: Vec<(String,)> = self
            .fetch_all(
                Query::select()
                    .column((EventCursors::Table, EventCursors::WorkspaceId))
                    .from(EventCursors::Table)
                    .inner_join(
                        EventHeads::Table,
                        Expr::col((EventHeads::Table, EventHeads::WorkspaceId))
                            .equals((EventCursors::Table, EventCursors::WorkspaceId)),
                    )
                    .and_where(Expr::col((EventCursors::Table, EventCursors::Consumer)).eq(consumer))
                    .and_where(
                        Expr::col((EventCursors::Table, EventCursors::Seq))
                            .lt(Expr::col((EventHeads::Table, EventHeads::LastSeq))),
                    ),
            )
            .await?;
        rows.iter().map(|(ws,)| crate::parse("workspace id", ws)).collect()
    }
}
