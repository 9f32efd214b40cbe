//! Typed background jobs, after crates.io's `BackgroundJob`: each kind of
//! job is a type implementing [`Job`] (its name, payload, lane, what to do
//! and what happens when it gives up), listed once in
//! `crate::job_registrations`. The engine ([`engine`]) knows no job kind: it
//! claims due jobs from the durable job table lane by lane and runs them
//! through their registrations.
//!
//! Lanes keep kinds of work apart, each with its own concurrency, so a
//! million-row export or a 100k-recipient campaign never delays a reply to
//! a customer.

mod engine;

use std::future::Future;
use std::pin::Pin;

use serde::de::DeserializeOwned;
use switchboard_core::Millis;
use switchboard_store::{JobRow, Tx};

pub(crate) use engine::spawn_workers;

use crate::{ServiceResult, Services};

pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// A kind of work with its own workers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Lane {
    /// Messages to customers: replies, bot answers, templates.
    Delivery,
    /// Bot turns (flows and external bots).
    Bots,
    /// Outgoing webhooks to the workspace's integrations.
    Webhooks,
    /// Campaigns and bulk sends.
    Bulk,
    /// Exports and reports.
    Exports,
    /// AI assist calls.
    Ai,
    /// Timers that move conversations: snooze wake-ups, the routing sweep.
    Timers,
    /// Channels that fetch their events (mailboxes, long polls).
    Polling,
    /// Housekeeping: the retention purge.
    Maintenance,
}

impl Lane {
    pub const ALL: [Lane; 9] = [
        Lane::Delivery,
        Lane::Bots,
        Lane::Webhooks,
        Lane::Bulk,
        Lane::Exports,
        Lane::Ai,
        Lane::Timers,
        Lane::Polling,
        Lane::Maintenance,
    ];

    pub const fn name(self) -> &'static str {
        match self {
            Lane::Delivery => "delivery",
            Lane::Bots => "bots",
            Lane::Webhooks => "webhooks",
            Lane::Bulk => "bulk",
            Lane::Exports => "exports",
            Lane::Ai => "ai",
            Lane::Timers => "timers",
            Lane::Polling => "polling",
            Lane::Maintenance => "maintenance",
        }
    }

    fn index(self) -> usize {
        Lane::ALL.iter().position(|l| *l == self).unwrap_or(0)
    }
}

/// How many jobs of each lane run at once on this node (0: the lane does
/// not run here).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LaneSizes([usize; Lane::ALL.len()]);

impl Default for LaneSizes {
    fn default() -> Self {
        let mut sizes = LaneSizes([1; Lane::ALL.len()]);
        sizes.set(Lane::Delivery, 16);
        sizes.set(Lane::Bots, 8);
        sizes.set(Lane::Webhooks, 8);
        sizes.set(Lane::Bulk, 2);
        sizes.set(Lane::Exports, 1);
        sizes.set(Lane::Ai, 4);
        sizes.set(Lane::Timers, 2);
        sizes.set(Lane::Polling, 8);
        sizes.set(Lane::Maintenance, 1);
        sizes
    }
}

impl LaneSizes {
    pub fn get(&self, lane: Lane) -> usize {
        self.0[lane.index()]
    }

    pub fn set(&mut self, lane: Lane, size: usize) {
        self.0[lane.index()] = size;
    }

    /// Parse `name=size` pairs separated by commas (`bulk=4,exports=2`);
    /// lanes not named keep their size.
    pub fn parse_into(&mut self, spec: &str) -> Result<(), String> {
        for pair in spec.split(',').map(str::trim).filter(|p| !p.is_empty()) {
            let (name, size) = pair
                .split_once('=')
                .ok_or_else(|| format!("{pair:?}: write lane=size"))?;
            let lane = Lane::ALL.into_iter().find(|l| l.name() == name.trim()).ok_or_else(|| {
                let names: Vec<_> = Lane::ALL.iter().map(|l| l.name()).collect();
                format!("{name:?} is not a lane ({})", names.join(", "))
            })?;
            let size = size
                .trim()
                .parse::<usize>()
                .ok()
                .filter(|s| *s <= 1024)
                .ok_or_else(|| format!("{pair:?}: the size must be 0 to 1024"))?;
            self.set(lane, size);
        }
        Ok(())
    }
}

/// How a job ended this time.
#[derive(Debug)]
pub enum Outcome {
    Done,
    /// Try again later (with backoff), unless attempts are used up.
    Retry(String),
    /// Give up now.
    Fail(String),
    /// Try again no sooner than `at`, unless this was attempt `limit` (or
    /// the job's own limit): a provider's cap that lifts after hours.
    RetryAt {
        error: String,
        at: Millis,
        limit: i64,
    },
    /// Part done: run again at `at` as a fresh job (long work in slices,
    /// each well within a lease).
    Continue(Millis),
}

/// A kind of background job.
pub trait Job: 'static {
    /// The name stored in the job table.
    const KIND: &'static str;
    const LANE: Lane;
    type Payload: DeserializeOwned + Send + Sync;

    /// Jobs with the same key run one after another, in the order they
    /// were due (a conversation's messages); others side by side.
    fn ordering_key(payload: &Self::Payload) -> Option<String> {
        let _ = payload;
        None
    }

    fn run<'a>(services: &'a Services, job: &'a JobRow, payload: Self::Payload) -> BoxFuture<'a, Outcome>;

    /// The job is given up (its last attempt failed): record why, in the
    /// transaction that marks it dead.
    fn gave_up<'a>(
        services: &'a Services,
        tx: &'a mut Tx<'static>,
        payload: &'a Self::Payload,
        error: &'a str,
    ) -> BoxFuture<'a, ServiceResult<()>> {
        let _ = (services, tx, payload, error);
        Box::pin(async { Ok(()) })
    }

    /// For timers that keep themselves going (the sweep, the purge): make
    /// sure the first one is queued; called when the workers start.
    fn schedule_first<'a>(services: &'a Services) -> Option<BoxFuture<'a, ServiceResult<()>>> {
        let _ = services;
        None
    }

    /// After that transaction is committed: tell whoever waits.
    fn after_giving_up<'a>(services: &'a Services, payload: &'a Self::Payload) -> BoxFuture<'a, ()> {
        let _ = (services, payload);
        Box::pin(async {})
    }
}

type RunFn = for<'a> fn(&'a Services, &'a JobRow) -> BoxFuture<'a, Outcome>;
type KeyFn = fn(&JobRow) -> Option<String>;
type GaveUpFn = for<'a> fn(&'a Services, &'a mut Tx<'static>, &'a JobRow, &'a str) -> BoxFuture<'a, ServiceResult<()>>;
type AfterFn = for<'a> fn(&'a Services, &'a JobRow) -> BoxFuture<'a, ()>;
type ScheduleFn = for<'a> fn(&'a Services) -> Option<BoxFuture<'a, ServiceResult<()>>>;

/// A job kind as the engine sees it: its name, lane and entry points.
#[derive(Clone, Copy)]
pub struct JobRegistration {
    pub kind: &'static str,
    pub lane: Lane,
    run: RunFn,
    ordering_key: KeyFn,
    gave_up: GaveUpFn,
    after_giving_up: AfterFn,
    schedule_first: ScheduleFn,
}

impl std::fmt::Debug for JobRegistration {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} ({})", self.kind, self.lane.name())
    }
}

fn payload_of<J: Job>(job: &JobRow) -> Result<J::Payload, String> {
    serde_json::from_str(&job.payload).map_err(|e| format!("bad payload: {e}"))
}

fn run_erased<'a, J: Job>(services: &'a Services, job: &'a JobRow) -> BoxFuture<'a, Outcome> {
    match payload_of::<J>(job) {
        Ok(payload) => J::run(services, job, payload),
        Err(e) => Box::pin(async move { Outcome::Fail(e) }),
    }
}

fn key_erased<J: Job>(job: &JobRow) -> Option<String> {
    payload_of::<J>(job).ok().and_then(|p| J::ordering_key(&p))
}

fn gave_up_erased<'a, J: Job>(
    services: &'a Services,
    tx: &'a mut Tx<'static>,
    job: &'a JobRow,
    error: &'a str,
) -> BoxFuture<'a, ServiceResult<()>> {
    Box::pin(async move {
        match payload_of::<J>(job) {
            Ok(payload) => J::gave_up(services, tx, &payload, error).await,
            Err(_) => Ok(()),
        }
    })
}

fn after_erased<'a, J: Job>(services: &'a Services, job: &'a JobRow) -> BoxFuture<'a, ()> {
    Box::pin(async move {
        if let Ok(payload) = payload_of::<J>(job) {
            J::after_giving_up(services, &payload).await;
        }
    })
}

/// The registration of a job type.
pub fn register<J: Job>() -> JobRegistration {
    JobRegistration {
        kind: J::KIND,
        lane: J::LANE,
        run: run_erased::<J>,
        ordering_key: key_erased::<J>,
        gave_up: gave_up_erased::<J>,
        after_giving_up: after_erased::<J>,
        schedule_first: J::schedule_first,
    }
}
