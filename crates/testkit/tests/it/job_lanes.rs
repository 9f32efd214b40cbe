//! Jobs run in lanes, each with its own concurrency: with the exports lane
//! full of slow jobs (forty due, one slot), a customer-facing delivery job
//! is still claimed and run at once, and the exports lane claims no more
//! than its slots, leaving the rest due for other nodes.

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::Duration;

use serde_json::json;
use switchboard_service::{BoxFuture, Job, Lane, Outcome, register_job};
use switchboard_store::{JobRow, JobState};
use switchboard_testkit::{TestApp, TestOptions, eventually};

static SLOW_STARTED: AtomicUsize = AtomicUsize::new(0);
static RELEASED: AtomicBool = AtomicBool::new(false);
static QUICK_DONE: AtomicUsize = AtomicUsize::new(0);

/// An export that takes until the test lets it finish.
struct SlowExport;

impl Job for SlowExport {
    const KIND: &'static str = "test_slow_export";
    const LANE: Lane = Lane::Exports;
    type Payload = serde_json::Value;

    fn run<'a>(_: &'a switchboard_service::Services, _: &'a JobRow, _: serde_json::Value) -> BoxFuture<'a, Outcome> {
        Box::pin(async {
            SLOW_STARTED.fetch_add(1, Ordering::SeqCst);
            while !RELEASED.load(Ordering::SeqCst) {
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
            Outcome::Done
        })
    }
}

/// A reply to a customer.
struct QuickDelivery;

impl Job for QuickDelivery {
    const KIND: &'static str = "test_quick_delivery";
    const LANE: Lane = Lane::Delivery;
    type Payload = serde_json::Value;

    fn run<'a>(_: &'a switchboard_service::Services, _: &'a JobRow, _: serde_json::Value) -> BoxFuture<'a, Outcome> {
        Box::pin(async {
            QUICK_DONE.fetch_add(1, Ordering::SeqCst);
            Outcome::Done
        })
    }
}

async fn enqueue(app: &TestApp, kind: &str, count: usize) {
    let now = app.services.now();
    let mut tx = app.services.store().begin().await.unwrap();
    for _ in 0..count {
        tx.exec().enqueue_job(kind, &json!({}), now, 1, now).await.unwrap();
    }
    tx.commit().await.unwrap();
}

async fn running(app: &TestApp) -> i64 {
    app.services
        .store()
        .reader()
        .count_jobs(JobState::Running)
        .await
        .unwrap()
}

#[tokio::test]
async fn a_full_exports_lane_does_not_delay_a_delivery() {
    let mut options = TestOptions::default();
    options.service.extra_jobs = vec![register_job::<SlowExport>(), register_job::<QuickDelivery>()];
    options.service.job_lanes.set(Lane::Exports, 1);
    let app = TestApp::spawn_with(options).await;

    enqueue(&app, SlowExport::KIND, 40).await;
    eventually(Duration::from_secs(10), || async {
        (SLOW_STARTED.load(Ordering::SeqCst) == 1).then_some(())
    })
    .await;
    enqueue(&app, QuickDelivery::KIND, 1).await;
    eventually(Duration::from_secs(5), || async {
        (QUICK_DONE.load(Ordering::SeqCst) == 1).then_some(())
    })
    .await;
    // The exports lane still runs one job and has claimed no other.
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert_eq!(SLOW_STARTED.load(Ordering::SeqCst), 1);
    assert_eq!(running(&app).await, 1, "only the export in its one slot is claimed");

    RELEASED.store(true, Ordering::SeqCst);
    eventually(Duration::from_secs(30), || async {
        (SLOW_STARTED.load(Ordering::SeqCst) == 40 && running(&app).await == 0).then_some(())
    })
    .await;
}
