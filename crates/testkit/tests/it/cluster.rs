//! Cluster mode: the durable event log (replay across restarts and nodes,
//! trimming), cross-node delivery on PostgreSQL (LISTEN/NOTIFY, a cut
//! listener), presence and rate limits shared by the nodes, and outgoing
//! webhooks that no node's death can lose.
//!
//! The two-node tests need PostgreSQL (SQLite serves one node) and return
//! early on SQLite; the log tests run on both.

use std::time::Duration;

use serde_json::{Value, json};
use switchboard_testkit::client::ApiClient;
use switchboard_testkit::events::EventStream;
use switchboard_testkit::fixtures::Org;
use switchboard_testkit::{Backend, TestApp, TestOptions};

const WAIT: Duration = Duration::from_secs(10);

fn postgres() -> bool {
    Backend::selected() == Backend::Postgres
}

/// The same signed-in client, talking to another node.
fn via(client: &ApiClient, node: &TestApp) -> ApiClient {
    ApiClient {
        base: format!("http://{}", node.addr),
        ..client.clone()
    }
}

async fn note(org: &Org, client: &ApiClient, conversation: &str, text: &str) {
    let r = client
        .post(
            &org.path(&format!("/conversations/{conversation}/messages")),
            json!({"kind": "note", "body": text}),
        )
        .await;
    assert_eq!(r.status, 201, "{:?}", r.body);
}

/// Every event until `quiet` passes without one.
async fn drain(stream: &mut EventStream, quiet: Duration) -> Vec<Value> {
    let mut out = Vec::new();
    while let Some(e) = stream.next(quiet).await {
        out.push(e);
    }
    out
}

/// The `message.created` event of the message with this body.
async fn message_with_body(stream: &mut EventStream, body: &str) -> Value {
    loop {
        let e = stream.next_of("message.created", WAIT).await;
        let e = e.unwrap_or_else(|| panic!("no message {body:?} arrived"));
        if e["data"]["body"] == body {
            return e;
        }
    }
}

fn seqs(events: &[Value]) -> Vec<i64> {
    events.iter().filter_map(|e| e["seq"].as_i64()).collect()
}

fn note_bodies(events: &[Value]) -> Vec<String> {
    events
        .iter()
        .filter(|e| e["type"] == "message.created" && e["data"]["kind"] == "note")
        .map(|e| e["data"]["body"].as_str().unwrap_or_default().to_owned())
        .collect()
}

/// Consecutive seqs: none skipped, none twice, in order.
fn assert_gapless(after: i64, events: &[Value]) {
    let seqs = seqs(events);
    let expected: Vec<i64> = (after + 1..=after + seqs.len() as i64).collect();
    assert_eq!(seqs, expected, "exactly the events after {after}, in order");
}

#[tokio::test]
async fn a_restarted_node_replays_what_a_client_missed_from_the_log() {
    let app = TestApp::spawn().await;
    let org = Org::create(&app).await;
    let hook = org.customer_says(&app, "m-1", "carla", "hello").await;
    let conversation = hook["conversation_id"].as_str().unwrap().to_owned();
    let mut stream = EventStream::connect(&app, &org.agent, &org.ws, None).await.unwrap();
    // The socket is open before the server has subscribed it: write until a
    // note arrives live (one written in between is simply before `since`).
    let mut live = None;
    for attempt in 0..10 {
        note(&org, &org.agent, &conversation, &format!("before {attempt}")).await;
        if let Some(e) = stream.next_of("message.created", Duration::from_secs(2)).await {
            live = Some(e);
            break;
        }
    }
    live.expect("a live event");
    // Any later "before" note lands before `since` too.
    drain(&mut stream, Duration::from_millis(500)).await;
    let since = stream.last_seq.expect("a seq");
    stream.close().await;
    for i in 1..=3 {
        note(&org, &org.agent, &conversation, &format!("missed {i}")).await;
    }
    let (agent_email, agent_password) = ("ana@acme.test", "agent password 1");
    let db = app.stop().await;

    let app = TestApp::spawn_on(db, TestOptions::default()).await;
    let agent = ApiClient::login(&app, agent_email, agent_password).await;
    let mut again = EventStream::connect(&app, &agent, &org.ws, Some(since)).await.unwrap();
    let mut seen = drain(&mut again, Duration::from_millis(800)).await;
    assert_eq!(note_bodies(&seen), ["missed 1", "missed 2", "missed 3"]);
    // And live events go on after the replay, with no gap between them
    // (whenever the agent's own presence change lands among them).
    note(&org, &via(&agent, &app), &conversation, "after").await;
    loop {
        let e = again.next(WAIT).await.expect("live after replay");
        let done = e["type"] == "message.created" && e["data"]["body"] == "after";
        seen.push(e);
        if done {
            break;
        }
    }
    assert_gapless(since, &seen);
    assert_eq!(note_bodies(&seen), ["missed 1", "missed 2", "missed 3", "after"]);
}

#[tokio::test]
async fn a_since_older_than_the_log_keeps_gets_a_resync() {
    let mut options = TestOptions::default();
    options.service.event_log_keep = Duration::from_millis(1);
    let app = TestApp::spawn_with(options).await;
    let org = Org::create(&app).await;
    let hook = org.customer_says(&app, "m-1", "carla", "hello").await;
    let conversation = hook["conversation_id"].as_str().unwrap().to_owned();
    let mut stream = EventStream::connect(&app, &org.agent, &org.ws, None).await.unwrap();
    note(&org, &org.agent, &conversation, "seen").await;
    stream.next_of("message.created", WAIT).await.unwrap();
    let since = stream.last_seq.unwrap();
    stream.close().await;
    note(&org, &org.agent, &conversation, "missed").await;
    // The upkeep marks where the log stands, and a minute later (here: past
    // the 1 ms it keeps) trims what that mark covers.
    app.services.trim_shared_state().await.unwrap();
    tokio::time::sleep(Duration::from_millis(20)).await;
    let trimmed = app.services.trim_shared_state().await.unwrap();
    assert!(trimmed > 0, "the old events were trimmed");
    let mut again = EventStream::connect(&app, &org.agent, &org.ws, Some(since))
        .await
        .unwrap();
    let first = again.next(WAIT).await.expect("a notice");
    assert_eq!(first["type"], "resync", "{first}");
}

#[tokio::test]
async fn events_cross_nodes_both_ways_and_a_client_moves_between_them() {
    if !postgres() {
        return;
    }
    let a = TestApp::spawn().await;
    let b = a.another_node(TestOptions::default()).await;
    let org = Org::create(&a).await;
    let agent_on_b = via(&org.agent, &b);
    let mut on_b = EventStream::connect(&b, &agent_on_b, &org.ws, None).await.unwrap();
    let mut on_a = EventStream::connect(&a, &org.admin, &org.ws, None).await.unwrap();

    // A chat arriving on A appears in B's stream.
    let hook = org.customer_says(&a, "m-1", "carla", "hello from A").await;
    let conversation = hook["conversation_id"].as_str().unwrap().to_owned();
    let created = on_b.next_of("conversation.created", WAIT).await.expect("on B");
    assert_eq!(created["data"]["id"], conversation.as_str());
    message_with_body(&mut on_b, "hello from A").await;

    // A note written on B reaches the admin's socket on A.
    note(&org, &agent_on_b, &conversation, "written on B").await;
    message_with_body(&mut on_a, "written on B").await;

    // The agent's client moves from B to A with `since` and misses nothing.
    let since = on_b.last_seq.unwrap();
    on_b.close().await;
    for i in 1..=3 {
        note(&org, &agent_on_b, &conversation, &format!("while moving {i}")).await;
    }
    let mut moved = EventStream::connect(&a, &org.agent, &org.ws, Some(since))
        .await
        .unwrap();
    let replayed = drain(&mut moved, Duration::from_millis(800)).await;
    assert_gapless(since, &replayed);
    let bodies = note_bodies(&replayed);
    assert!(bodies.ends_with(&[
        "while moving 1".into(),
        "while moving 2".into(),
        "while moving 3".into()
    ]));
}

#[tokio::test]
async fn a_widget_visitor_on_one_node_and_an_agent_on_the_other_see_each_other() {
    use futures::StreamExt;
    if !postgres() {
        return;
    }
    let a = TestApp::spawn().await;
    let b = a.another_node(TestOptions::default()).await;
    let org = Org::create(&a).await;
    let channel = org
        .admin
        .post(
            &org.path("/channels"),
            json!({"kind": "web", "name": "Site chat", "default_team_id": org.team, "widget": {}}),
        )
        .await;
    assert_eq!(channel.status, 201, "{:?}", channel.body);
    let channel = channel["id"].as_str().unwrap().to_owned();
    org.set_online(&org.agent, &org.agent_id).await;

    // The visitor's session and socket are on A; the agent's socket on B.
    let http = reqwest::Client::new();
    let session: Value = http
        .post(a.url("/widget/v1/session"))
        .json(&json!({"channel_id": channel}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let token = session["token"].as_str().unwrap().to_owned();
    let mut visitor = tokio_tungstenite::connect_async(format!("ws://{}/widget/v1/ws?token={token}", a.addr))
        .await
        .expect("visitor socket on A")
        .0;
    let agent_on_b = via(&org.agent, &b);
    let mut agent = EventStream::connect(&b, &agent_on_b, &org.ws, None).await.unwrap();

    let sent: Value = http
        .post(a.url("/widget/v1/messages"))
        .bearer_auth(&token)
        .json(&json!({"text": "Is my order on its way?", "client_id": "c-1"}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let conversation = sent["conversation_id"].as_str().unwrap().to_owned();
    message_with_body(&mut agent, "Is my order on its way?").await;

    // The agent (routed the chat) replies on B; the visitor on A sees it.
    let reply = agent_on_b
        .post(
            &org.path(&format!("/conversations/{conversation}/messages")),
            json!({"kind": "text", "body": "Yes, it ships today."}),
        )
        .await;
    assert_eq!(reply.status, 201, "{:?}", reply.body);
    let pushed = tokio::time::timeout(WAIT, async {
        while let Some(Ok(frame)) = visitor.next().await {
            if let tokio_tungstenite::tungstenite::Message::Text(text) = frame {
                let v: Value = serde_json::from_str(&text).unwrap();
                if v["type"] == "message" && v["data"]["body"] == "Yes, it ships today." {
                    return v;
                }
            }
        }
        Value::Null
    })
    .await
    .expect("the reply reaches the visitor on A");
    assert_eq!(pushed["data"]["body"], "Yes, it ships today.");

    // Resolve on B; the visitor's chat is closed for A too.
    let resolved = agent_on_b
        .post(
            &org.path(&format!("/conversations/{conversation}/status")),
            json!({"status": "resolved"}),
        )
        .await;
    assert_eq!(resolved.status, 200, "{:?}", resolved.body);
    loop {
        let update = agent
            .next_of("conversation.updated", WAIT)
            .await
            .expect("resolved on B");
        if update["data"]["id"] == conversation.as_str() && update["data"]["status"] == "resolved" {
            break;
        }
    }
}

#[tokio::test]
async fn a_node_whose_listener_is_cut_catches_up_without_a_gap() {
    if !postgres() {
        return;
    }
    let a = TestApp::spawn().await;
    let b = a.another_node(TestOptions::default()).await;
    let org = Org::create(&a).await;
    let hook = org.customer_says(&a, "m-1", "carla", "hello").await;
    let conversation = hook["conversation_id"].as_str().unwrap().to_owned();
    let mut on_b = EventStream::connect(&b, &via(&org.admin, &b), &org.ws, None)
        .await
        .unwrap();
    note(&org, &org.admin, &conversation, "before the cut").await;
    on_b.next_of("message.created", WAIT).await.expect("before the cut");
    let since = on_b.last_seq.unwrap();

    // Cut B's LISTEN connection, and write on A while it is down.
    let name = b.services.listener_name();
    let pool = sqlx::PgPool::connect(&switchboard_testkit::db::pg_base_url())
        .await
        .unwrap();
    let cut: Vec<(bool,)> =
        sqlx::query_as("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = $1")
            .bind(&name)
            .fetch_all(&pool)
            .await
            .unwrap();
    assert_eq!(cut, [(true,)], "B's listener was found and cut");
    for i in 1..=5 {
        note(&org, &org.admin, &conversation, &format!("during {i}")).await;
    }
    let got = drain(&mut on_b, Duration::from_millis(1500)).await;
    assert_gapless(since, &got);
    assert_eq!(
        note_bodies(&got),
        ["during 1", "during 2", "during 3", "during 4", "during 5"]
    );
    // B listens again: the next event arrives live.
    note(&org, &org.admin, &conversation, "after").await;
    message_with_body(&mut on_b, "after").await;
}

#[tokio::test]
async fn presence_spans_nodes_for_routing_and_ends_when_a_node_dies() {
    if !postgres() {
        return;
    }
    let mut options = TestOptions::default();
    options.service.presence_grace = Duration::from_millis(600);
    let a = TestApp::spawn_with(options.clone()).await;
    let b = a.another_node(options).await;
    let org = Org::create(&a).await;
    let agent_on_b = via(&org.agent, &b);
    // The agent is connected to B only, and online.
    let _socket = EventStream::connect(&b, &agent_on_b, &org.ws, None).await.unwrap();
    org.set_online(&agent_on_b, &org.agent_id).await;

    // A chat arriving on A is routed to them.
    let hook = org.customer_says(&a, "m-1", "carla", "hello").await;
    let conversation = hook["conversation_id"].as_str().unwrap().to_owned();
    let c = org
        .admin
        .get(&org.path(&format!("/conversations/{conversation}")))
        .await;
    assert_eq!(c["assignee_id"], org.agent_id.as_str(), "{:?}", c.body);
    // Past the grace period, B's heartbeats keep them online.
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let me = org.admin.get(&org.path(&format!("/users/{}", org.agent_id))).await;
    assert_eq!(me["availability"], "online");

    // B dies without closing anything: its leases stop being renewed.
    let mut on_a = EventStream::connect(&a, &org.admin, &org.ws, None).await.unwrap();
    b.stop().await;
    let offline = on_a.next_of("presence.updated", WAIT).await.expect("offline on A");
    assert_eq!(offline["data"]["user_id"], org.agent_id.as_str());
    assert_eq!(offline["data"]["availability"], "offline");
    let me = org.admin.get(&org.path(&format!("/users/{}", org.agent_id))).await;
    assert_eq!(me["availability"], "offline");
}

#[tokio::test]
async fn login_limits_count_on_every_node() {
    if !postgres() {
        return;
    }
    let mut options = TestOptions::default();
    options.service.login_failures_per_account = 4;
    let a = TestApp::spawn_with(options.clone()).await;
    let b = a.another_node(options).await;
    let _org = Org::create(&a).await;
    let attempt = |node: &TestApp| {
        let url = node.url("/api/v1/auth/login");
        async move {
            reqwest::Client::new()
                .post(url)
                .json(&json!({"email": "ana@acme.test", "password": "wrong"}))
                .send()
                .await
                .unwrap()
                .status()
                .as_u16()
        }
    };
    // Two failures on each node: four in all, the account's limit.
    for node in [&a, &b, &a, &b] {
        assert_eq!(attempt(node).await, 401);
    }
    assert_eq!(attempt(&a).await, 429, "the fifth try is refused on A");
    assert_eq!(attempt(&b).await, 429, "and on B");
}

#[tokio::test]
async fn webhook_events_a_node_committed_but_never_fanned_out_are_delivered() {
    let app = TestApp::spawn().await;
    let org = Org::create(&app).await;
    let receiver = switchboard_testkit::WebhookReceiver::start().await;
    let created = org
        .admin
        .post(
            &org.path("/webhooks"),
            json!({"url": receiver.url(), "events": ["presence.updated"]}),
        )
        .await;
    assert_eq!(created.status, 201, "{:?}", created.body);
    // A node that commits an event and dies before its fan-out ran: a
    // store of its own, whose commits wake nobody.
    let orphan = switchboard_store::Store::connect(&switchboard_store::StoreOptions::new(app.db.url()))
        .await
        .unwrap();
    let ws: switchboard_core::WorkspaceId = org.ws.parse().unwrap();
    let mut tx = orphan.begin().await.unwrap();
    let event = switchboard_store::NewEvent {
        kind: "presence.updated".into(),
        scope: r#"{"to":"workspace"}"#.into(),
        data: json!({"user_id": org.agent_id, "availability": "busy"}).to_string(),
    };
    tx.append_events(ws, &[event], switchboard_store::now_ms(), 1)
        .await
        .unwrap();
    tx.commit().await.unwrap();
    orphan.close().await;
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    while receiver.accepted().is_empty() && tokio::time::Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    tokio::time::sleep(Duration::from_millis(500)).await;
    let delivered = receiver.accepted();
    assert_eq!(delivered.len(), 1, "delivered once, found by the upkeep loop");
    let body: Value = serde_json::from_slice(&delivered[0].body).unwrap();
    assert_eq!(body["type"], "presence.updated");
    assert_eq!(body["data"]["availability"], "busy");
}

#[tokio::test]
async fn a_channel_changed_on_one_node_is_not_served_stale_by_another() {
    if !postgres() {
        return;
    }
    let a = TestApp::spawn().await;
    let b = a.another_node(TestOptions::default()).await;
    let org = Org::create(&a).await;
    // B reads the channel, and keeps it for its hooks.
    org.customer_says(&b, "m-1", "carla", "first").await;
    // The admin rotates its secret on A.
    let r = org
        .admin
        .patch(
            &org.path(&format!("/channels/{}", org.channel)),
            json!({"rotate_secret": true}),
        )
        .await;
    assert_eq!(r.status, 200, "{:?}", r.body);
    let new_secret = r["secret"].as_str().expect("the new secret").to_owned();
    // At once (well within B's cache lifetime), B takes the new secret and
    // refuses the old one.
    let body = json!({"message_id": "m-2", "contact": {"id": "carla"}, "text": "second"});
    let mut accepted = None;
    for _ in 0..20 {
        let reply = switchboard_testkit::client::post_hook(&b, &org.channel, &new_secret, &body).await;
        if reply.status == 200 {
            accepted = Some(reply);
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert!(accepted.is_some(), "B kept the old secret");
    let old = json!({"message_id": "m-3", "contact": {"id": "carla"}, "text": "third"});
    let reply = switchboard_testkit::client::post_hook(&b, &org.channel, &org.secret, &old).await;
    assert_eq!(reply.status, 401, "{:?}", reply.body);
}

type VisitorSocket = tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

/// The visitor's next text frame, or `None` after a quiet 800 ms.
async fn next_frame(socket: &mut VisitorSocket) -> Option<Value> {
    use futures::StreamExt;
    loop {
        match tokio::time::timeout(Duration::from_millis(800), socket.next()).await {
            Ok(Some(Ok(tokio_tungstenite::tungstenite::Message::Text(t)))) => {
                return serde_json::from_str::<Value>(&t).ok();
            }
            Ok(Some(Ok(_))) => continue,
            _ => return None,
        }
    }
}

#[tokio::test]
async fn a_widget_visitor_who_reconnects_with_since_gets_exactly_the_missed_replies() {
    let app = TestApp::spawn().await;
    let org = Org::create(&app).await;
    let channel = org
        .admin
        .post(
            &org.path("/channels"),
            json!({"kind": "web", "name": "Site chat", "default_team_id": org.team, "widget": {}}),
        )
        .await;
    let channel = channel["id"].as_str().unwrap().to_owned();
    org.set_online(&org.agent, &org.agent_id).await;
    let http = reqwest::Client::new();
    let session: Value = http
        .post(app.url("/widget/v1/session"))
        .json(&json!({"channel_id": channel}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let token = session["token"].as_str().unwrap().to_owned();
    let sent: Value = http
        .post(app.url("/widget/v1/messages"))
        .bearer_auth(&token)
        .json(&json!({"text": "Hello?", "client_id": "c-1"}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let conversation = sent["conversation_id"].as_str().unwrap().to_owned();
    let reply = |text: &'static str| {
        let path = org.path(&format!("/conversations/{conversation}/messages"));
        let agent = &org.agent;
        async move {
            let r = agent.post(&path, json!({"kind": "text", "body": text})).await;
            assert_eq!(r.status, 201, "{:?}", r.body);
        }
    };
    let frames = |since: Option<i64>| {
        let url = match since {
            Some(s) => format!("ws://{}/widget/v1/ws?token={token}&since={s}", app.addr),
            None => format!("ws://{}/widget/v1/ws?token={token}", app.addr),
        };
        async move { tokio_tungstenite::connect_async(url).await.expect("visitor socket").0 }
    };
    let mut socket = frames(None).await;
    reply("one").await;
    let since = loop {
        let f = next_frame(&mut socket).await.expect("the first reply");
        if f["type"] == "message" && f["data"]["body"] == "one" {
            break f["seq"].as_i64().expect("seq");
        }
    };
    drop(socket);
    reply("two").await;
    reply("three").await;
    let mut again = frames(Some(since)).await;
    let mut got = Vec::new();
    while let Some(f) = next_frame(&mut again).await {
        got.push(f);
    }
    let seqs: Vec<i64> = got.iter().filter_map(|f| f["seq"].as_i64()).collect();
    assert!(
        seqs.iter().all(|s| *s > since) && seqs.windows(2).all(|w| w[0] < w[1]),
        "{seqs:?}"
    );
    let bodies: Vec<&str> = got
        .iter()
        .filter(|f| f["type"] == "message")
        .filter_map(|f| f["data"]["body"].as_str())
        .collect();
    assert_eq!(bodies, ["two", "three"]);
    // A `since` the log does not hold is answered with a resync.
    let mut stale = frames(Some(1)).await;
    assert_eq!(next_frame(&mut stale).await.expect("a notice")["type"], "resync");
}
