//! Live events over `/api/v1/ws` with a real WebSocket client: who gets
//! what, replay with `since`, `resync` past the buffer, the origin check,
//! and presence.

use std::time::Duration;

use serde_json::{Value, json};
use switchboard_testkit::client::{ApiClient, post_hook};
use switchboard_testkit::events::EventStream;
use switchboard_testkit::fixtures::Org;
use switchboard_testkit::{TestApp, TestOptions};

const WAIT: Duration = Duration::from_secs(5);

#[tokio::test]
async fn team_members_get_a_customer_message_and_other_teams_do_not() {
    let app = TestApp::spawn().await;
    let org = Org::create(&app).await;
    let (bob, _) = org
        .member(&app, "bob@acme.test", "bob@acme.test", "agent", &[&org.team])
        .await;
    let sales = org.admin.post(&org.path("/teams"), json!({"name": "Sales"})).await;
    let (sam, _) = org
        .member(
            &app,
            "sam@acme.test",
            "sam@acme.test",
            "agent",
            &[sales["id"].as_str().unwrap()],
        )
        .await;

    let mut ana_events = EventStream::connect(&app, &org.agent, &org.ws, None).await.unwrap();
    let mut bob_events = EventStream::connect(&app, &bob, &org.ws, None).await.unwrap();
    let mut sam_events = EventStream::connect(&app, &sam, &org.ws, None).await.unwrap();

    let hook = org.customer_says(&app, "w-1", "visitor-1", "Is anyone there?").await;
    for stream in [&mut ana_events, &mut bob_events] {
        let created = stream
            .next_of("conversation.created", WAIT)
            .await
            .expect("conversation.created");
        assert_eq!(created["data"]["id"], hook["conversation_id"]);
        assert_eq!(created["workspace_id"], org.ws.as_str());
        let opened = stream.next_of("message.created", WAIT).await.expect("message.created");
        assert_eq!(
            opened["data"]["activity"]["type"], "opened",
            "the activity line comes first"
        );
        let message = stream.next_of("message.created", WAIT).await.expect("message.created");
        assert_eq!(message["data"]["body"], "Is anyone there?");
        assert_eq!(message["data"]["id"], hook["message_id"]);
    }
    // Sam's first event is a workspace-wide one published afterwards:
    // nothing about the Support conversation came before it.
    org.set_online(&org.agent, &org.agent_id).await;
    let first = sam_events.next(WAIT).await.expect("an event");
    assert!(
        matches!(first["type"].as_str(), Some("presence.updated" | "member.updated")),
        "{first}"
    );
    assert!(!first.to_string().contains("Is anyone there?"));
    // Sequence numbers increase.
    let a = ana_events.next(WAIT).await.unwrap()["seq"].as_i64().unwrap();
    let b = ana_events.next(WAIT).await.unwrap()["seq"].as_i64().unwrap();
    assert!(b > a);
}

async fn note(org: &Org, conversation: &str, i: usize) {
    let r = org
        .admin
        .post(
            &org.path(&format!("/conversations/{conversation}/messages")),
            json!({"kind": "note", "body": format!("note {i}")}),
        )
        .await;
    assert_eq!(r.status, 201);
}

#[tokio::test]
async fn a_reconnecting_client_gets_exactly_what_it_missed_in_order() {
    let app = TestApp::spawn().await;
    let org = Org::create(&app).await;
    let hook = org.customer_says(&app, "w-1", "visitor-1", "hello").await;
    let conversation = hook["conversation_id"].as_str().unwrap().to_owned();
    let mut stream = EventStream::connect(&app, &org.agent, &org.ws, None).await.unwrap();
    note(&org, &conversation, 0).await;
    let seen = stream.next_of("message.created", WAIT).await.unwrap();
    assert_eq!(seen["data"]["body"], "note 0");
    let since = stream.last_seq.unwrap();
    stream.close().await;

    for i in 1..=50 {
        note(&org, &conversation, i).await;
    }
    let mut again = EventStream::connect(&app, &org.agent, &org.ws, Some(since))
        .await
        .unwrap();
    let mut replayed: Vec<Value> = Vec::new();
    for _ in 0..50 {
        replayed.push(again.next(WAIT).await.expect("a replayed event"));
    }
    let bodies: Vec<String> = replayed
        .iter()
        .map(|e| e["data"]["body"].as_str().unwrap_or("").to_owned())
        .collect();
    let expected: Vec<String> = (1..=50).map(|i| format!("note {i}")).collect();
    assert_eq!(bodies, expected, "exactly the 50 missed events, in order");
    let seqs: Vec<i64> = replayed.iter().map(|e| e["seq"].as_i64().unwrap()).collect();
    assert!(seqs.windows(2).all(|w| w[0] < w[1]));
    assert!(seqs[0] > since);
    // And then live events continue.
    note(&org, &conversation, 51).await;
    assert_eq!(again.next(WAIT).await.unwrap()["data"]["body"], "note 51");
}

#[tokio::test]
async fn a_client_that_missed_more_than_is_kept_is_told_to_resync() {
    let mut options = TestOptions::default();
    options.service.event_replay = 20;
    let app = TestApp::spawn_with(options).await;
    let org = Org::create(&app).await;
    let hook = org.customer_says(&app, "w-1", "visitor-1", "hello").await;
    let conversation = hook["conversation_id"].as_str().unwrap().to_owned();
    let mut stream = EventStream::connect(&app, &org.agent, &org.ws, None).await.unwrap();
    note(&org, &conversation, 0).await;
    stream.next_of("message.created", WAIT).await.unwrap();
    let since = stream.last_seq.unwrap();
    stream.close().await;
    for i in 1..=30 {
        note(&org, &conversation, i).await;
    }
    let mut again = EventStream::connect(&app, &org.agent, &org.ws, Some(since))
        .await
        .unwrap();
    let first = again.next(WAIT).await.unwrap();
    assert_eq!(first["type"], "resync");
    // A since from the future (another server's numbering) is also a resync.
    let mut odd = EventStream::connect(&app, &org.agent, &org.ws, Some(i64::MAX / 2))
        .await
        .unwrap();
    assert_eq!(odd.next(WAIT).await.unwrap()["type"], "resync");
}

#[tokio::test]
async fn the_handshake_checks_origin_session_and_workspace() {
    let app = TestApp::spawn().await;
    let org = Org::create(&app).await;
    let status = |e: tokio_tungstenite::tungstenite::Error| match e {
        tokio_tungstenite::tungstenite::Error::Http(response) => response.status().as_u16(),
        other => panic!("expected an HTTP refusal, got {other}"),
    };
    let evil = EventStream::connect_from(&app, &org.agent, &org.ws, None, "https://evil.example").await;
    assert_eq!(status(evil.err().expect("refused")), 403);
    let anonymous = ApiClient::anonymous(&app);
    assert_eq!(
        status(
            EventStream::connect(&app, &anonymous, &org.ws, None)
                .await
                .err()
                .expect("refused")
        ),
        401
    );
    let (_, other_ws) = app.other_workspace("olga@other.test").await;
    let foreign = EventStream::connect(&app, &org.agent, &other_ws.to_string(), None).await;
    assert_eq!(status(foreign.err().expect("refused")), 404);
}

#[tokio::test]
async fn presence_goes_offline_after_the_last_connection_closes() {
    let mut options = TestOptions::default();
    options.service.presence_grace = Duration::from_millis(200);
    let app = TestApp::spawn_with(options).await;
    let org = Org::create(&app).await;
    org.set_online(&org.agent, &org.agent_id).await;
    let mut admin_events = EventStream::connect(&app, &org.admin, &org.ws, None).await.unwrap();
    let first = EventStream::connect(&app, &org.agent, &org.ws, None).await.unwrap();
    let second = EventStream::connect(&app, &org.agent, &org.ws, None).await.unwrap();
    first.close().await;
    // One tab still open: still online after the grace period.
    tokio::time::sleep(Duration::from_millis(500)).await;
    let me = org.admin.get(&org.path(&format!("/users/{}", org.agent_id))).await;
    assert_eq!(me["availability"], "online");
    second.close().await;
    let event = admin_events
        .next_of("presence.updated", WAIT)
        .await
        .expect("presence.updated");
    assert_eq!(event["data"]["user_id"], org.agent_id.as_str());
    assert_eq!(event["data"]["availability"], "offline");
    let me = org.admin.get(&org.path(&format!("/users/{}", org.agent_id))).await;
    assert_eq!(me["availability"], "offline");
}

#[tokio::test]
async fn delivery_status_changes_are_events() {
    let app = TestApp::spawn().await;
    let org = Org::create(&app).await;
    let hook = org.customer_says(&app, "w-1", "visitor-1", "hello").await;
    let conversation = hook["conversation_id"].as_str().unwrap().to_owned();
    org.set_online(&org.agent, &org.agent_id).await;
    org.admin
        .post(
            &org.path(&format!("/conversations/{conversation}/assign")),
            json!({"user_id": org.agent_id}),
        )
        .await;
    let mut stream = EventStream::connect(&app, &org.agent, &org.ws, None).await.unwrap();
    let reply = org
        .agent
        .post(
            &org.path(&format!("/conversations/{conversation}/messages")),
            json!({"kind": "text", "body": "hi!"}),
        )
        .await;
    let sent = stream.next_of("message.updated", WAIT).await.expect("message.updated");
    assert_eq!(sent["data"]["id"], reply["id"]);
    assert_eq!(sent["data"]["delivery_status"], "sent");
    post_hook(
        &app,
        &org.channel,
        &org.secret,
        &json!({"type": "status", "message_id": reply["id"], "status": "read"}),
    )
    .await;
    let read = stream.next_of("message.updated", WAIT).await.expect("message.updated");
    assert_eq!(read["data"]["delivery_status"], "read");
}

#[tokio::test]
async fn a_client_that_does_not_read_is_dropped_not_buffered_without_bound() {
    let mut options = TestOptions::default();
    options.service.event_lag_limit = 16;
    let app = TestApp::spawn_with(options).await;
    let org = Org::create(&app).await;
    let mut slow = EventStream::connect(&app, &org.admin, &org.ws, None).await.unwrap();
    let ws: switchboard_core::WorkspaceId = org.ws.parse().unwrap();
    // Far more than the socket buffers and the lag limit hold: ~80 MB.
    let padding = "x".repeat(16 * 1024);
    for chunk in 0..50 {
        let data = (0..100)
            .map(|i| json!({"i": chunk * 100 + i, "padding": padding}))
            .collect();
        app.services
            .publish_many_now(
                ws,
                "presence.updated",
                switchboard_service::events::EventScope::Workspace,
                data,
            )
            .await
            .unwrap();
    }
    // Now read: some events arrive, then the server ends the stream.
    let mut received = 0;
    while slow.next(Duration::from_secs(15)).await.is_some() {
        received += 1;
        assert!(
            received < 5000,
            "the server kept everything for a client that did not read"
        );
    }
    assert!(received < 5000);
    assert!(slow.ended, "the server ended the stream of the client that fell behind");
    if let Some(code) = slow.closed_with {
        assert_eq!(code, 4001, "closed as too slow");
    }
    // A well-behaved client connected afterwards is served. Generously
    // timed: on PostgreSQL the node may still be reading the 80 MB burst
    // back from the event log for the slow client when it connects.
    let mut fresh = EventStream::connect(&app, &org.admin, &org.ws, None).await.unwrap();
    org.set_online(&org.agent, &org.agent_id).await;
    assert!(fresh.next(Duration::from_secs(60)).await.is_some());
}

#[tokio::test]
async fn a_silent_connection_is_closed_and_a_live_one_kept() {
    let mut options = TestOptions::default();
    options.service.ws_ping_interval = Duration::from_millis(300);
    let app = TestApp::spawn_with(options).await;
    let org = Org::create(&app).await;
    let mut silent = EventStream::connect(&app, &org.admin, &org.ws, None).await.unwrap();
    let mut live = EventStream::connect(&app, &org.admin, &org.ws, None).await.unwrap();
    // The live client reads (and so answers pings) for several intervals;
    // the silent one reads nothing.
    assert!(live.next(Duration::from_millis(1500)).await.is_none());
    assert!(!live.ended, "a client that answers pings stays connected");
    org.set_online(&org.agent, &org.agent_id).await;
    assert!(live.next_of("presence.updated", WAIT).await.is_some());
    // The silent one finds its stream closed as gone away.
    while silent.next(WAIT).await.is_some() {}
    assert!(silent.ended);
    assert_eq!(silent.closed_with, Some(1001), "closed for not answering pings");
}
