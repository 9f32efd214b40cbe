//! The durable job table: outbound deliveries and timers. A worker claims
//! due jobs with a lease; a job whose worker died is claimed again when the
//! lease runs out. On PostgreSQL claims use `FOR UPDATE SKIP LOCKED` so
//! several nodes never run the same job; on SQLite the single writer does.

use sea_query::{Cond, Expr, LockBehavior, LockType, Order, Query};
use switchboard_core::{JobId, Millis};

use crate::schema::*;
use crate::{Exec, Result};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum JobState {
    Ready,
    Running,
    Done,
    Dead,
}

impl JobState {
    pub const fn as_str(self) -> &'static str {
        match self {
            JobState::Ready => "ready",
            JobState::Running => "running",
            JobState::Done => "done",
            JobState::Dead => "dead",
        }
    }
}

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct JobRow {
    pub id: String,
    pub kind: String,
    pub payload: String,
    pub state: String,
    pub attempts: i64,
    pub max_attempts: i64,
    pub run_at: i64,
    pub last_error: Option<String>,
}

fn job_columns() -> [Jobs; 8] {
    [
        Jobs::Id,
        Jobs::Kind,
        Jobs::Payload,
        Jobs::State,
        Jobs::Attempts,
        Jobs::MaxAttempts,
        Jobs::RunAt,
        Jobs::LastError,
    ]
}

impl Exec<'_> {
    pub async fn enqueue_job(
        &mut self,
        kind: &str,
        payload: &serde_json::Value,
        run_at: Millis,
        max_attempts: i64,
        now: Millis,
    ) -> Result<JobId> {
        let id = JobId::new();
        self.execute(
            Query::insert()
                .into_table(Jobs::Table)
                .columns([
                    Jobs::Id,
                    Jobs::Kind,
                    Jobs::Payload,
                    Jobs::State,
                    Jobs::Attempts,
                    Jobs::MaxAttempts,
                    Jobs::RunAt,
                    Jobs::CreatedAt,
                    Jobs::UpdatedAt,
                ])
                .values_panic([
                    id.to_string().into(),
                    kind.into(),
                    payload.to_string().into(),
                    JobState::Ready.as_str().into(),
                    0i64.into(),
                    max_attempts.into(),
                    run_at.0.into(),
                    now.0.into(),
                    now.0.into(),
                ]),
        )
        .await?;
        Ok(id)
    }

    /// Add a timer unless the same one (kind and payload) is already waiting
    /// to run. Returns whether it was added. Two writers racing on
    /// PostgreSQL may both add it; every timer is idempotent, so a twin runs
    /// as a no-op.
    pub async fn ensure_job(
        &mut self,
        kind: &str,
        payload: &serde_json::Value,
        run_at: Millis,
        max_attempts: i64,
        now: Millis,
    ) -> Result<bool> {
        let payload_text = payload.to_string();
        let waiting: Option<(String,)> = self
            .fetch_optional(
                Query::select()
                    .column(Jobs::Id)
                    .from(Jobs::Table)
                    .and_where(Expr::col(Jobs::Kind).eq(kind))
                    .and_where(Expr::col(Jobs::State).eq(JobState::Ready.as_str()))
                    .and_where(Expr::col(Jobs::Payload).eq(payload_text))
                    .limit(1),
            )
            .await?;
        if waiting.is_some() {
            return Ok(false);
        }
        self.enqueue_job(kind, payload, run_at, max_attempts, now).await?;
        Ok(true)
    }

    /// Claim up to `limit` due jobs for `lease_ms`, of the given kinds
    /// (`None`: any). Each claim counts as an attempt.
    pub async fn claim_jobs(
        &mut self,
        now: Millis,
        lease_ms: i64,
        limit: u64,
        kinds: Option<&[&str]>,
    ) -> Result<Vec<JobRow>> {
        let mut due = Query::select();
        let of_kinds = kinds.map(|kinds| Expr::col(Jobs::Kind).is_in(kinds.iter().copied()));
        due.column(Jobs::Id)
            .from(Jobs::Table)
            .cond_where(
                Cond::all().add_option(of_kinds).add(
                    Cond::any()
                        .add(
                            Cond::all()
                                .add(Expr::col(Jobs::State).eq(JobState::Ready.as_str()))
                                .add(Expr::col(Jobs::RunAt).lte(now.0)),
                        )
                        .add(
                            Cond::all()
                                .add(Expr::col(Jobs::State).eq(JobState::Running.as_str()))
                                .add(Expr::col(Jobs::LockedUntil).lt(now.0)),
                        ),
                ),
            )
            .order_by(Jobs::RunAt, Order::Asc)
            .limit(limit);
        if self.is_postgres() {
            due.lock_with_behavior(LockType::Update, LockBehavior::SkipLocked);
        }
        self.fetch_all(
            Query::update()
                .table(Jobs::Table)
                .value(Jobs::State, JobState::Running.as_str())
                .value(Jobs::Attempts, Expr::col(Jobs::Attempts).add(1))
                .value(Jobs::LockedUntil, now.0 + lease_ms)
                .value(Jobs::UpdatedAt, now.0)
                .and_where(Expr::col(Jobs::Id).in_subquery(due))
                .returning(Query::returning().columns(job_columns())),
        )
        .await
    }

    pub async fn finish_job(&mut self, id: &str, now: Millis) -> Result<u64> {
        self.execute(
            Query::update()
                .table(Jobs::Table)
                .value(Jobs::State, JobState::Done.as_str())
                .value(Jobs::LockedUntil, Option::<i64>::None)
                .value(Jobs::UpdatedAt, now.0)
                .and_where(Expr::col(Jobs::Id).eq(id)),
        )
        .await
    }

    /// A job that did part of its work runs again at `at` as a fresh job
    /// (its attempts start over): long work in slices, each within a lease.
    pub async fn reschedule_job(&mut self, id: &str, at: Millis, now: Millis) -> Result<u64> {
        self.execute(
            Query::update()
                .table(Jobs::Table)
                .value(Jobs::State, JobState::Ready.as_str())
                .value(Jobs::RunAt, at.0)
                .value(Jobs::Attempts, 0)
                .value(Jobs::LockedUntil, Option::<i64>::None)
                .value(Jobs::UpdatedAt, now.0)
                .and_where(Expr::col(Jobs::Id).eq(id)),
        )
        .await
    }

    /// Record a failed attempt: try again at `retry_at`, or give up (dead).
    pub async fn fail_job(&mut self, id: &str, error: &str, retry_at: Option<Millis>, now: Millis) -> Result<u64> {
        let mut q = Query::update();
        q.table(Jobs::Table)
            .value(Jobs::LastError, error)
            .value(Jobs::LockedUntil, Option::<i64>::None)
            .value(Jobs::UpdatedAt, now.0)
            .and_where(Expr::col(Jobs::Id).eq(id));
        match retry_at {
            Some(at) => q.value(Jobs::State, JobState::Ready.as_str()).value(Jobs::RunAt, at.0),
            None => q.value(Jobs::State, JobState::Dead.as_str()),
        };
        self.execute(&q).await
    }

    pub async fn job(&mut self, id: JobId) -> Result<Option<JobRow>> {
        self.fetch_optional(
            Query::select()
                .columns(job_columns())
                .from(Jobs::Table)
                .and_where(Expr::col(Jobs::Id).eq(id.to_string())),
        )
        .await
    }

    pub async fn count_jobs(&mut self, state: JobState) -> Result<i64> {
        let (n,): (i64,) = self
            .fetch_one(
                Query::select()
                    .expr(Expr::col(Jobs::Id).count())
                    .from(Jobs::Table)
                    .and_where(Expr::col(Jobs::State).eq(state.as_str())),
            )
            .await?;
        Ok(n)
    }

    pub async fn count_jobs_of(&mut self, kind: &str, state: JobState) -> Result<i64> {
        let (n,): (i64,) = self
            .fetch_one(
                Query::select()
                    .expr(Expr::col(Jobs::Id).count())
                    .from(Jobs::Table)
                    .and_where(Expr::col(Jobs::Kind).eq(kind))
                    .and_where(Expr::col(Jobs::State).eq(state.as_str())),
            )
            .await?;
        Ok(n)
    }

    /// The earliest time a ready job falls due (so a worker can sleep until then).
    pub async fn next_job_due(&mut self) -> Result<Option<i64>> {
        let (at,): (Option<i64>,) = self
            .fetch_one(
                Query::select()
                    .expr(Expr::col(Jobs::RunAt).min())
                    .from(Jobs::Table)
                    .and_where(Expr::col(Jobs::State).is_in([JobState::Ready.as_str(), JobState::Running.as_str()])),
            )
            .await?;
        Ok(at)
    }
}
