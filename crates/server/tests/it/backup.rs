//! `switchboard backup`: an online copy of the SQLite database, taken while
//! the server runs, holding everything acknowledged before it.

use std::process::Stdio;

use serde_json::json;
use switchboard_store::{Store, StoreOptions};
use switchboard_testkit::Backend;

use crate::node::{Sent, Server, Target, create_admin, create_channel, post_hook};

#[tokio::test]
async fn an_online_backup_holds_every_acknowledged_message() {
    if Backend::selected() != Backend::Sqlite {
        return;
    }
    let target = Target::new().await;
    let ws = create_admin(&target);
    let server = Server::start(&target, "live").await;
    let (channel_id, secret) = create_channel(&server, &ws).await;
    let hook_url = server.url(&format!("/hooks/api/{channel_id}"));
    let http = reqwest::Client::new();
    for i in 0..5 {
        let body = serde_json::to_vec(
            &json!({"message_id": format!("b-{i}"), "contact": {"id": "c1", "name": "Bea"}, "text": format!("hello {i}")}),
        )
        .unwrap();
        assert!(matches!(
            post_hook(&http, &hook_url, &secret, body).await,
            Sent::Ack { .. }
        ));
    }

    // Taken while the server runs.
    let copy_dir = tempfile::tempdir().unwrap();
    let copy = copy_dir.path().join("switchboard.db");
    let out = target
        .command(&["backup", "--output", copy.to_str().unwrap()])
        .stdin(Stdio::null())
        .output()
        .expect("run switchboard backup");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    // A second backup never overwrites a file.
    let again = target
        .command(&["backup", "--output", copy.to_str().unwrap()])
        .stdin(Stdio::null())
        .output()
        .unwrap();
    assert!(!again.status.success());
    assert!(String::from_utf8_lossy(&again.stderr).contains("exists already"));
    drop(server);

    // The copy holds every acknowledged message.
    let store = Store::connect(&StoreOptions::new(format!("sqlite://{}", copy.display())))
        .await
        .unwrap();
    let channel: switchboard_core::ChannelId = channel_id.parse().unwrap();
    let mut ids = store.reader().inbound_provider_ids(channel).await.unwrap();
    ids.sort();
    assert_eq!(ids, ["b-0", "b-1", "b-2", "b-3", "b-4"]);
    store.close().await;
}
