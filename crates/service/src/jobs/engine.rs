//! The job engine: claims due jobs from the durable job table with a lease,
//! lane by lane, runs them through their registrations, and records
//! success, a retry with exponential backoff, or death after the last
//! attempt. A job whose worker died is claimed again once its lease runs
//! out. It knows no job kind.

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use switchboard_store::JobRow;
use tokio::sync::Semaphore;

use super::{JobRegistration, Lane, Outcome};
use crate::{ServiceResult, Services};

/// Most jobs one pass of [`Services::run_due_jobs`] claims.
const PASS_LIMIT: u64 = 32;

impl Services {
    fn registration(&self, kind: &str) -> Option<&JobRegistration> {
        self.inner.jobs.iter().find(|r| r.kind == kind)
    }

    fn lane_kinds(&self, lane: Lane) -> Vec<&'static str> {
        self.inner
            .jobs
            .iter()
            .filter(|r| r.lane == lane)
            .map(|r| r.kind)
            .collect()
    }

    /// A job was queued: wake every lane's workers (each looks for its own).
    pub(crate) fn wake_jobs(&self) {
        for wake in &self.inner.lane_wakes {
            wake.notify_one();
        }
    }

    /// Delay before the next attempt: the base doubling per attempt, capped.
    fn backoff(&self, attempts: i64) -> Duration {
        let base = self.config().retry_base;
        let factor = 1u32 << (attempts.clamp(1, 20) - 1);
        base.saturating_mul(factor).min(self.config().retry_max)
    }

    /// The first time the workers run, the self-renewing timers (sweep,
    /// purge) are made sure to exist.
    async fn schedule_timers_once(&self) -> ServiceResult<()> {
        use std::sync::atomic::Ordering::SeqCst;
        if self.inner.timers_scheduled.swap(true, SeqCst) {
            return Ok(());
        }
        for registration in self.inner.jobs.iter() {
            if let Some(schedule) = (registration.schedule_first)(self)
                && let Err(e) = schedule.await
            {
                self.inner.timers_scheduled.store(false, SeqCst);
                return Err(e);
            }
        }
        Ok(())
    }

    async fn claim(&self, kinds: Option<&[&'static str]>, limit: u64) -> ServiceResult<Vec<JobRow>> {
        let lease = self.config().job_lease.as_millis() as i64;
        let mut tx = self.store().begin().await?;
        let jobs = tx.exec().claim_jobs(self.now(), lease, limit, kinds).await?;
        tx.commit().await?;
        Ok(jobs)
    }

    fn ordering_key(&self, job: &JobRow) -> Option<String> {
        self.registration(&job.kind).and_then(|r| (r.ordering_key)(job))
    }

    /// Claim and run the jobs due now, of every lane; returns how many ran.
    /// Jobs with the same ordering key run one after another, all else side
    /// by side. (The workers do this lane by lane; tests and tools call it
    /// to run timers exactly when they say.)
    pub async fn run_due_jobs(&self) -> ServiceResult<usize> {
        self.schedule_timers_once().await?;
        let mut jobs = self.claim(None, PASS_LIMIT).await?;
        let count = jobs.len();
        jobs.sort_by(|a, b| (a.run_at, &a.id).cmp(&(b.run_at, &b.id)));
        let mut chains: Vec<Vec<JobRow>> = Vec::new();
        let mut chain_of: HashMap<String, usize> = HashMap::new();
        for job in jobs {
            let key = self.ordering_key(&job);
            match key.as_ref().and_then(|k| chain_of.get(k).copied()) {
                Some(chain) => chains[chain].push(job),
                None => {
                    if let Some(k) = key {
                        chain_of.insert(k, chains.len());
                    }
                    chains.push(vec![job]);
                }
            }
        }
        futures::future::join_all(chains.into_iter().map(|chain| async move {
            for job in chain {
                self.run_job(job).await;
            }
        }))
        .await;
        Ok(count)
    }

    async fn run_job(&self, job: JobRow) {
        let outcome = if job.attempts > job.max_attempts {
            Outcome::Fail(job.last_error.clone().unwrap_or_else(|| "gave up".into()))
        } else {
            match self.registration(&job.kind) {
                Some(registration) => (registration.run)(self, &job).await,
                None => Outcome::Fail(format!("unknown job kind {:?}", job.kind)),
            }
        };
        if let Err(e) = self.finish(&job, outcome).await {
            // The lease runs out and the job is claimed again.
            tracing::warn!(job = %job.id, error = %e, "could not record the end of a job");
        }
    }

    async fn finish(&self, job: &JobRow, outcome: Outcome) -> ServiceResult<()> {
        let now = self.now();
        let registration = self.registration(&job.kind).copied();
        let mut tx = self.store().begin().await?;
        let gave_up = match outcome {
            Outcome::Done => {
                tx.exec().finish_job(&job.id, now).await?;
                None
            }
            Outcome::Retry(error) if job.attempts < job.max_attempts => {
                let at = now.plus_ms(self.backoff(job.attempts).as_millis() as i64);
                tx.exec().fail_job(&job.id, &error, Some(at), now).await?;
                None
            }
            Outcome::RetryAt { error, at, limit } if job.attempts < job.max_attempts.min(limit) => {
                tx.exec().fail_job(&job.id, &error, Some(at), now).await?;
                None
            }
            Outcome::Continue(at) => {
                tx.exec().reschedule_job(&job.id, at, now).await?;
                None
            }
            Outcome::Retry(error) | Outcome::Fail(error) | Outcome::RetryAt { error, .. } => {
                tx.exec().fail_job(&job.id, &error, None, now).await?;
                Some(error)
            }
        };
        if let (Some(error), Some(registration)) = (&gave_up, registration) {
            (registration.gave_up)(self, &mut tx, job, error).await?;
        }
        tx.commit().await?;
        if let (Some(_), Some(registration)) = (&gave_up, registration) {
            (registration.after_giving_up)(self, job).await;
        }
        Ok(())
    }
}

/// Start one worker per lane that has jobs and a size above zero.
pub(crate) fn spawn_workers(services: Services) {
    for lane in Lane::ALL {
        let size = services.config().job_lanes.get(lane);
        let kinds = services.lane_kinds(lane);
        if size > 0 && !kinds.is_empty() {
            spawn_lane(&services, lane, size, kinds);
        }
    }
}

/// Jobs waiting behind the one of their ordering key that is running.
type Chains = Arc<Mutex<HashMap<String, VecDeque<JobRow>>>>;

fn spawn_lane(services: &Services, lane: Lane, size: usize, kinds: Vec<&'static str>) {
    // The worker holds only a weak link between rounds, so dropping the
    // services (tests) lets it end.
    let weak = Arc::downgrade(&services.inner);
    let poll = services.config().job_poll_interval;
    tokio::spawn(async move {
        let slots = Arc::new(Semaphore::new(size));
        let chains: Chains = Arc::default();
        loop {
            // Claim only as many jobs as there are free slots, so a lane
            // full of slow jobs leaves the rest due for other nodes.
            let Ok(first) = slots.clone().acquire_owned().await else {
                break;
            };
            let Some(inner) = weak.upgrade() else { break };
            let services = Services { inner };
            if let Err(e) = services.schedule_timers_once().await {
                tracing::warn!(error = %e, "could not schedule the timers");
            }
            let mut permits = vec![first];
            while let Ok(permit) = slots.clone().try_acquire_owned() {
                permits.push(permit);
            }
            let jobs = match services.claim(Some(&kinds), permits.len() as u64).await {
                Ok(jobs) => jobs,
                Err(e) => {
                    tracing::warn!(lane = lane.name(), error = %e, "job worker could not claim jobs");
                    Vec::new()
                }
            };
            let claimed = jobs.len();
            for job in jobs {
                let key = services.ordering_key(&job);
                if let Some(key) = &key {
                    let mut chains = chains.lock().unwrap_or_else(|e| e.into_inner());
                    if let Some(waiting) = chains.get_mut(key) {
                        // Runs after the one in flight, in the same slot.
                        waiting.push_back(job);
                        continue;
                    }
                    chains.insert(key.clone(), VecDeque::new());
                }
                let Some(permit) = permits.pop() else { break };
                tokio::spawn(run_chain(services.clone(), chains.clone(), job, key, permit));
            }
            drop(permits);
            if claimed == 0 {
                let wake = services.clone();
                drop(services);
                tokio::select! {
                    _ = wake.inner.lane_wakes[lane.index()].notified() => {}
                    _ = tokio::time::sleep(poll) => {}
                }
            }
        }
    });
}

/// Run a job, then each job that queued behind its ordering key.
async fn run_chain(
    services: Services,
    chains: Chains,
    mut job: JobRow,
    key: Option<String>,
    _slot: tokio::sync::OwnedSemaphorePermit,
) {
    loop {
        services.run_job(job).await;
        let Some(key) = &key else { return };
        let next = {
            let mut chains = chains.lock().unwrap_or_else(|e| e.into_inner());
            let next = chains.get_mut(key).and_then(VecDeque::pop_front);
            if next.is_none() {
                chains.remove(key);
            }
            next
        };
        match next {
            Some(next) => job = next,
            None => return,
        }
    }
}
