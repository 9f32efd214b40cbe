//! The event log on both backends: seqs follow on one another per
//! workspace from where it started, reads return what is after a seq in
//! order, a commit announces the workspaces whose logs grew, concurrent
//! appends never share or skip a seq, and trimming removes exactly what an
//! old mark covers.

use std::sync::{Arc, Mutex};

use switchboard_core::WorkspaceId;
use switchboard_store::{NewEvent, Store, StoreOptions};

use crate::common;

fn event(n: usize) -> NewEvent {
    NewEvent {
        kind: "test.event".into(),
        scope: r#"{"to":"workspace"}"#.into(),
        data: format!(r#"{{"n":{n}}}"#),
    }
}

async fn check(store: &Store) {
    let (a, b) = (WorkspaceId(uuid::Uuid::now_v7()), WorkspaceId(uuid::Uuid::now_v7()));
    let announced: Arc<Mutex<Vec<WorkspaceId>>> = Arc::default();
    let seen = announced.clone();
    store.set_event_hook(Arc::new(move |ws| seen.lock().unwrap().extend_from_slice(ws)));
    assert_eq!(store.reader().event_bounds(a).await.unwrap(), None);

    let mut tx = store.begin().await.unwrap();
    let first = tx.append_events(a, &[event(0), event(1)], 10, 5_000).await.unwrap();
    tx.append_events(a, &[event(2)], 10, 9_999).await.unwrap();
    tx.append_events(b, &[event(0)], 10, 100).await.unwrap();
    assert!(
        announced.lock().unwrap().is_empty(),
        "nothing announced before the commit"
    );
    tx.commit().await.unwrap();
    assert_eq!(first, 5_000, "a workspace's first seq is where it starts");
    assert_eq!(*announced.lock().unwrap(), [a, b]);

    let rows = store.reader().events_after(a, 5_000, 10).await.unwrap();
    let seqs: Vec<i64> = rows.iter().map(|r| r.seq).collect();
    assert_eq!(seqs, [5_001, 5_002]);
    assert_eq!(rows[1].data, r#"{"n":2}"#);
    let bounds = store.reader().event_bounds(a).await.unwrap().unwrap();
    assert_eq!((bounds.oldest, bounds.head), (Some(5_000), 5_002));

    // A rolled-back append leaves no seq used.
    let mut tx = store.begin().await.unwrap();
    tx.append_events(a, &[event(3)], 10, 0).await.unwrap();
    tx.rollback().await.unwrap();
    let mut tx = store.begin().await.unwrap();
    assert_eq!(tx.append_events(a, &[event(4)], 10, 0).await.unwrap(), 5_003);
    tx.commit().await.unwrap();

    // Concurrent appends: every seq once, none skipped.
    let tasks: Vec<_> = (0..8)
        .map(|i| {
            let store = store.clone();
            tokio::spawn(async move {
                let mut tx = store.begin().await.unwrap();
                tx.append_events(a, &[event(i), event(i)], 10, 0).await.unwrap();
                tx.commit().await.unwrap();
            })
        })
        .collect();
    for t in tasks {
        t.await.unwrap();
    }
    let seqs: Vec<i64> = store
        .reader()
        .events_after(a, 0, 100)
        .await
        .unwrap()
        .iter()
        .map(|r| r.seq)
        .collect();
    assert_eq!(seqs, (5_000..=5_019).collect::<Vec<i64>>());

    // A mark at t=20 covers everything so far; events after it stay.
    let mut tx = store.begin().await.unwrap();
    tx.exec().mark_event_heads(20).await.unwrap();
    tx.append_events(a, &[event(9)], 30, 0).await.unwrap();
    tx.commit().await.unwrap();
    let mut tx = store.begin().await.unwrap();
    assert_eq!(
        tx.exec().trim_event_log(20).await.unwrap(),
        0,
        "the mark is not older than 20"
    );
    assert_eq!(tx.exec().trim_event_log(21).await.unwrap(), 21, "20 of a, 1 of b");
    tx.commit().await.unwrap();
    let left: Vec<i64> = store
        .reader()
        .events_after(a, 0, 100)
        .await
        .unwrap()
        .iter()
        .map(|r| r.seq)
        .collect();
    assert_eq!(left, [5_020]);
    let bounds = store.reader().event_bounds(b).await.unwrap().unwrap();
    assert_eq!((bounds.oldest, bounds.head), (None, 100));
}

#[tokio::test]
async fn the_event_log_on_sqlite() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::connect(&StoreOptions::new(format!(
        "sqlite://{}",
        dir.path().join("t.db").display()
    )))
    .await
    .unwrap();
    store.migrate().await.unwrap();
    check(&store).await;
    store.close().await;
}

#[tokio::test]
async fn the_event_log_on_postgres() {
    let Some((base, mut admin)) = common::pg_admin().await else {
        return;
    };
    let (schema, url) = common::fresh_schema(&base, &mut admin, "eventlog").await;
    let store = Store::connect(&StoreOptions::new(url)).await.unwrap();
    store.migrate().await.unwrap();
    check(&store).await;
    store.close().await;
    common::drop_schema(&mut admin, &schema).await;
}
