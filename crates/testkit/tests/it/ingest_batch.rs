//! Ingest stores concurrent messages as one set (group commit, a few
//! statements per batch): repeats inside a batch, customers writing twice in
//! one batch, routing under a burst, and a race with another node that
//! makes the batch fall back to message-by-message.
//!
//! To get many messages into one batch, a test holds the database's write
//! side while requests queue, then lets go. The assertions hold however the
//! messages are batched; holding only makes the batched path likely.

use std::collections::HashSet;
use std::sync::Arc;
use std::time::Duration;

use serde_json::{Value, json};
use sqlx::Connection;
use switchboard_core::permissions::Visibility;
use switchboard_core::{
    ChannelId, Contact, ContactId, ContactIdentity, Conversation, ConversationId, Direction, Message, MessageId,
    MessageKind, Priority, SenderKind, UserId, WorkspaceId, lifecycle,
};
use switchboard_service::ManualClock;
use switchboard_store::{ConversationFilter, Store, StoreOptions, Tx};
use switchboard_testkit::client::Reply;
use switchboard_testkit::events::EventStream;
use switchboard_testkit::fixtures::{Org, invite};
use switchboard_testkit::{Backend, MONDAY_9AM, TestApp, TestOptions};

/// Long enough for spawned requests to reach the committer's queue.
const QUEUE_UP: Duration = Duration::from_millis(300);
const WAIT: Duration = Duration::from_secs(5);

/// Keeps ingest from writing until dropped or released: on SQLite a write
/// transaction (the file has one writer); on PostgreSQL a lock that makes
/// inserts into `messages` wait.
enum WriteHold {
    Sqlite(Tx<'static>),
    Postgres(sqlx::PgConnection),
}

impl WriteHold {
    async fn take(app: &TestApp) -> WriteHold {
        match app.db.backend() {
            Backend::Sqlite => WriteHold::Sqlite(app.services.store().begin().await.expect("begin")),
            Backend::Postgres => {
                let mut conn = sqlx::PgConnection::connect(&app.db.url()).await.expect("connect");
                sqlx::raw_sql("BEGIN; LOCK TABLE messages IN SHARE ROW EXCLUSIVE MODE")
                    .execute(&mut conn)
                    .await
                    .expect("lock messages");
                WriteHold::Postgres(conn)
            }
        }
    }

    async fn release(self) {
        match self {
            WriteHold::Sqlite(tx) => tx.rollback().await.expect("rollback"),
            WriteHold::Postgres(mut conn) => {
                sqlx::raw_sql("ROLLBACK").execute(&mut conn).await.expect("rollback");
            }
        }
    }
}

/// Post a signed hook request from a task of its own.
fn send(app: &TestApp, org: &Org, body: Value) -> tokio::task::JoinHandle<Reply> {
    let client = HookClient {
        addr: app.addr,
        channel: org.channel.clone(),
        secret: org.secret.clone(),
    };
    tokio::spawn(async move { client.post(&body).await })
}

/// What `post_hook` needs, owned, so requests can run on spawned tasks.
struct HookClient {
    addr: std::net::SocketAddr,
    channel: String,
    secret: String,
}

impl HookClient {
    async fn post(&self, body: &Value) -> Reply {
        let raw = serde_json::to_vec(body).expect("json");
        let response = reqwest::Client::new()
            .post(format!("http://{}/hooks/api/{}", self.addr, self.channel))
            .header("content-type", "application/json")
            .header(
                switchboard_channels::api::SIGNATURE_HEADER,
                switchboard_channels::api::sign(&self.secret, &raw),
            )
            .body(raw)
            .send()
            .await
            .expect("request");
        switchboard_testkit::client::reply_of(response).await
    }
}

async fn all_ok(tasks: Vec<tokio::task::JoinHandle<Reply>>) -> Vec<Value> {
    let mut bodies = Vec::new();
    for task in tasks {
        let reply = task.await.expect("request task");
        assert_eq!(reply.status, 200, "{:?}", reply.body);
        bodies.push(reply.body);
    }
    bodies
}

fn ws_of(org: &Org) -> WorkspaceId {
    org.ws.parse().unwrap()
}

fn id_of<T: std::str::FromStr>(v: &Value) -> T
where
    T::Err: std::fmt::Debug,
{
    v.as_str().expect("an id").parse().expect("a valid id")
}

#[tokio::test]
async fn a_repeat_in_the_same_batch_is_a_duplicate_of_the_first() {
    let app = TestApp::spawn().await;
    let org = Org::create(&app).await;
    let hold = WriteHold::take(&app).await;
    // The committer takes this one and waits; the rest queue behind it.
    let blocker = send(
        &app,
        &org,
        json!({"message_id": "x-1", "contact": {"id": "c-x"}, "text": "first"}),
    );
    tokio::time::sleep(QUEUE_UP).await;
    let first = send(
        &app,
        &org,
        json!({"message_id": "a", "contact": {"id": "c-1"}, "text": "hello"}),
    );
    tokio::time::sleep(QUEUE_UP).await;
    let mut rest = Vec::new();
    for _ in 0..3 {
        rest.push(send(
            &app,
            &org,
            json!({"message_id": "a", "contact": {"id": "c-1"}, "text": "hello"}),
        ));
    }
    rest.push(send(
        &app,
        &org,
        json!({"message_id": "b", "contact": {"id": "c-1"}, "text": "about that", "in_reply_to": "a"}),
    ));
    tokio::time::sleep(QUEUE_UP).await;
    hold.release().await;

    all_ok(vec![blocker]).await;
    let first = all_ok(vec![first]).await.remove(0);
    let rest = all_ok(rest).await;
    assert_eq!(first["duplicate"], false);
    for repeat in &rest[..3] {
        assert_eq!(repeat["duplicate"], true, "{repeat}");
        assert_eq!(repeat["message_id"], first["message_id"]);
        assert_eq!(repeat["conversation_id"], first["conversation_id"]);
    }
    // The customer's second message joins the conversation their first opened
    // and quotes it.
    let b = &rest[3];
    assert_eq!(b["duplicate"], false);
    assert_eq!(b["conversation_id"], first["conversation_id"]);
    let conversation: ConversationId = id_of(&first["conversation_id"]);
    let page = app
        .services
        .store()
        .reader()
        .messages(conversation, None, 100, false)
        .await
        .unwrap();
    let texts: Vec<&Message> = page.items.iter().filter(|m| m.kind == MessageKind::Text).collect();
    assert_eq!(texts.len(), 2, "{:?}", page.items);
    assert_eq!(texts[0].id, id_of::<MessageId>(&first["message_id"]));
    assert_eq!(texts[1].in_reply_to, Some(texts[0].id));
    let opened = page.items.iter().filter(|m| m.kind == MessageKind::Activity).count();
    assert_eq!(opened, 1, "one conversation opened once: {:?}", page.items);
    let channel: ChannelId = org.channel.parse().unwrap();
    let stored = app
        .services
        .store()
        .reader()
        .inbound_provider_ids(channel)
        .await
        .unwrap();
    assert_eq!(stored, ["x-1", "a", "b"]);
    assert_eq!(
        app.services.ingest_fallbacks(),
        0,
        "stored as a set, not message by message"
    );
}

#[tokio::test]
async fn a_burst_of_new_customers_never_exceeds_an_agents_capacity() {
    let app = TestApp::spawn().await;
    let org = Org::create(&app).await;
    let bob_id = invite(
        &org.admin,
        &org.ws,
        json!({"email": "bob@acme.test", "name": "Bob Agent", "role": "agent", "capacity": 3, "team_ids": [org.team]}),
        "agent password 2",
    )
    .await;
    let r = org
        .admin
        .patch(&org.path(&format!("/users/{}", org.agent_id)), json!({"capacity": 3}))
        .await;
    assert_eq!(r.status, 200, "{:?}", r.body);
    org.set_online(&org.admin, &org.agent_id).await;
    org.set_online(&org.admin, &bob_id).await;

    let hold = WriteHold::take(&app).await;
    let tasks: Vec<_> = (0..200)
        .map(|i| {
            send(
                &app,
                &org,
                json!({"message_id": format!("m-{i}"), "contact": {"id": format!("customer-{i}")}, "text": "help"}),
            )
        })
        .collect();
    tokio::time::sleep(QUEUE_UP).await;
    hold.release().await;
    let replies = all_ok(tasks).await;

    assert!(replies.iter().all(|r| r["duplicate"] == false));
    let messages: HashSet<String> = replies.iter().map(|r| r["message_id"].to_string()).collect();
    let conversations: HashSet<String> = replies.iter().map(|r| r["conversation_id"].to_string()).collect();
    assert_eq!((messages.len(), conversations.len()), (200, 200));
    let channel: ChannelId = org.channel.parse().unwrap();
    let mut db = app.services.store().reader();
    let stored = db.inbound_provider_ids(channel).await.unwrap();
    assert_eq!(stored.len(), 200);
    assert_eq!(
        stored.iter().collect::<HashSet<_>>().len(),
        200,
        "every message stored once"
    );

    // Both agents filled up to their capacity, never past it; the rest wait
    // in the team's queue.
    let ws = ws_of(&org);
    for agent in [&org.agent_id, &bob_id] {
        let user: UserId = agent.parse().unwrap();
        assert_eq!(db.open_count_of(ws, user).await.unwrap(), 3, "agent {agent}");
    }
    let all = db
        .conversations(ws, &ConversationFilter::new(Visibility::All, 1000))
        .await
        .unwrap()
        .items;
    assert_eq!(all.len(), 200);
    let assigned = all.iter().filter(|c| c.assignee_id.is_some()).count();
    assert_eq!(assigned, 6);
    assert_eq!(
        app.services.ingest_fallbacks(),
        0,
        "stored as a set, not message by message"
    );
    assert!(
        all.iter()
            .filter(|c| c.assignee_id.is_none())
            .all(|c| c.ticket && c.status == switchboard_core::ConversationStatus::Queued)
    );
}

/// Another node stores the same message while a batch is being written:
/// the batch fails on the unique index, falls back to one message at a
/// time, and the raced message is answered as a duplicate while the others
/// are stored. (On SQLite the other node simply writes first.)
#[tokio::test]
async fn a_race_with_another_node_ends_as_a_duplicate_and_spares_the_batch() {
    let app = TestApp::spawn().await;
    let org = Org::create(&app).await;
    let ws = ws_of(&org);
    let channel: ChannelId = org.channel.parse().unwrap();
    let other_node = Store::connect(&StoreOptions::new(app.db.url())).await.unwrap();
    let mut tx = other_node.begin().await.unwrap();
    let raced = store_message(&mut tx, ws, channel, "racer", "race-1").await;

    let mut tasks = vec![send(
        &app,
        &org,
        json!({"message_id": "race-1", "contact": {"id": "racer"}, "text": "hi"}),
    )];
    for i in 0..3 {
        tasks.push(send(
            &app,
            &org,
            json!({"message_id": format!("ok-{i}"), "contact": {"id": format!("calm-{i}")}, "text": "hi"}),
        ));
    }
    tokio::time::sleep(QUEUE_UP).await;
    tx.commit().await.unwrap();
    let replies = all_ok(tasks).await;
    assert_eq!(replies[0]["duplicate"], true, "{}", replies[0]);
    assert_eq!(id_of::<MessageId>(&replies[0]["message_id"]), raced);
    assert!(replies[1..].iter().all(|r| r["duplicate"] == false));
    let stored = app
        .services
        .store()
        .reader()
        .inbound_provider_ids(channel)
        .await
        .unwrap();
    assert_eq!(stored.len(), 4);
    if app.db.backend() == Backend::Postgres {
        // The batch met the other node's row on the unique index.
        assert!(app.services.ingest_fallbacks() >= 1);
    }
    other_node.close().await;
}

/// What another node writes for an inbound message: contact, conversation,
/// message.
async fn store_message(tx: &mut Tx<'_>, ws: WorkspaceId, channel: ChannelId, customer: &str, id: &str) -> MessageId {
    let now = switchboard_core::Millis(switchboard_store::now_ms());
    let contact = Contact {
        id: ContactId::new(),
        workspace_id: ws,
        name: None,
        phone: None,
        email: None,
        country: None,
        attributes: Default::default(),
        identities: vec![ContactIdentity {
            channel_id: channel,
            external_id: customer.to_owned(),
        }],
        tags: Vec::new(),
        created_at: now,
        updated_at: now,
    };
    tx.exec().insert_contact(&contact).await.unwrap();
    let (state, _) = lifecycle::open(None, now);
    let conversation = Conversation {
        id: ConversationId::new(),
        workspace_id: ws,
        channel_id: channel,
        contact_id: contact.id,
        team_id: state.team,
        assignee_id: state.assignee,
        status: state.status,
        priority: Priority::Normal,
        ticket: false,
        tags: Vec::new(),
        close_comment: None,
        close_reason: None,
        rating: None,
        times: state.times,
        snoozed_until: None,
        updated_at: now,
    };
    tx.exec().insert_conversation(&conversation).await.unwrap();
    let message = Message {
        html: None,
        subject: None,
        id: MessageId::new(),
        workspace_id: ws,
        conversation_id: conversation.id,
        direction: Direction::In,
        sender_kind: SenderKind::Contact,
        sender_id: Some(contact.id.to_string()),
        kind: MessageKind::Text,
        body: Some("hi".into()),
        activity: None,
        in_reply_to: None,
        provider_message_id: Some(id.to_owned()),
        delivery_status: None,
        delivery_error: None,
        created_at: now,
        send_at: None,
        buttons: Vec::new(),
        template: None,
        edited_at: None,
    };
    tx.exec().insert_message(&message, channel).await.unwrap();
    message.id
}

/// A customer writing twice (in one batch) to a chat resolved within the
/// channel's reopen period reopens it once; the events carry its tags, which
/// ingest reads only for chats it continues. Past the period they get a new
/// chat.
#[tokio::test]
async fn a_returning_customer_reopens_a_recent_chat_once_and_its_events_keep_the_tags() {
    let clock = Arc::new(ManualClock::new(MONDAY_9AM));
    let app = TestApp::spawn_with(TestOptions {
        manual_clock: Some(clock.clone()),
        ..TestOptions::default()
    })
    .await;
    let org = Org::create(&app).await;
    let r = org
        .admin
        .patch(
            &org.path(&format!("/channels/{}", org.channel)),
            json!({"reopen_minutes": 60}),
        )
        .await;
    assert_eq!(r.status, 200, "{:?}", r.body);
    let first = org.customer_says(&app, "m-1", "c-1", "hello").await;
    let conversation = first["conversation_id"].as_str().unwrap().to_owned();
    let r = org.admin.post(&org.path("/tags"), json!({"name": "vip"})).await;
    assert_eq!(r.status, 201, "{:?}", r.body);
    let r = org
        .admin
        .put(
            &org.path(&format!("/conversations/{conversation}/tags")),
            json!({"tags": ["vip"]}),
        )
        .await;
    assert_eq!(r.status, 200, "{:?}", r.body);
    let resolve = |conversation: String| {
        let admin = org.admin.clone();
        let path = org.path(&format!("/conversations/{conversation}/status"));
        async move {
            let r = admin.post(&path, json!({"status": "resolved"})).await;
            assert_eq!(r.status, 200, "{:?}", r.body);
        }
    };
    resolve(conversation.clone()).await;
    let mut events = EventStream::connect(&app, &org.admin, &org.ws, None).await.unwrap();

    clock.advance(10 * 60_000);
    let hold = WriteHold::take(&app).await;
    let again = send(
        &app,
        &org,
        json!({"message_id": "m-2", "contact": {"id": "c-1"}, "text": "me again"}),
    );
    tokio::time::sleep(QUEUE_UP).await;
    let more = send(
        &app,
        &org,
        json!({"message_id": "m-3", "contact": {"id": "c-1"}, "text": "and more"}),
    );
    tokio::time::sleep(QUEUE_UP).await;
    hold.release().await;
    let replies = all_ok(vec![again, more]).await;
    assert!(replies.iter().all(|r| r["conversation_id"] == conversation.as_str()));

    // Reopened once, into the team's queue (nobody is online).
    let reopened = events
        .next_of("conversation.updated", WAIT)
        .await
        .expect("conversation.updated");
    assert_eq!(reopened["data"]["id"], conversation.as_str());
    assert_eq!(reopened["data"]["status"], "queued");
    assert_eq!(reopened["data"]["tags"], json!(["vip"]));
    let activity = events.next_of("message.created", WAIT).await.expect("activity");
    assert_eq!(activity["data"]["activity"]["type"], "reopened", "{activity}");
    let text = events.next_of("message.created", WAIT).await.expect("message");
    assert_eq!(text["data"]["body"], "me again");
    let updated = events
        .next_of("conversation.updated", WAIT)
        .await
        .expect("conversation.updated");
    assert_eq!(updated["data"]["tags"], json!(["vip"]));
    let text = events.next(WAIT).await.expect("message");
    assert_eq!(
        (text["type"].as_str(), text["data"]["body"].as_str()),
        (Some("message.created"), Some("and more"))
    );
    let id: ConversationId = conversation.parse().unwrap();
    let stored = app
        .services
        .store()
        .reader()
        .conversation(ws_of(&org), id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(stored.status, switchboard_core::ConversationStatus::Queued);
    assert_eq!(
        stored.times.last_customer_message_at,
        Some(MONDAY_9AM.plus_ms(10 * 60_000))
    );
    assert_eq!(stored.tags, ["vip"]);
    let page = app
        .services
        .store()
        .reader()
        .messages(id, None, 100, false)
        .await
        .unwrap();
    let reopens = page
        .items
        .iter()
        .filter(|m| matches!(m.activity, Some(switchboard_core::Activity::Reopened { .. })))
        .count();
    assert_eq!(reopens, 1);

    // Past the reopen period: a new chat, without the old one's tags.
    resolve(conversation.clone()).await;
    clock.advance(2 * 60 * 60_000);
    let late = org.customer_says(&app, "m-4", "c-1", "hello again").await;
    assert_ne!(late["conversation_id"], conversation.as_str());
    let created = events
        .next_of("conversation.created", WAIT)
        .await
        .expect("conversation.created");
    assert_eq!(created["data"]["id"], late["conversation_id"]);
    assert_eq!(created["data"]["tags"], json!([]));
    assert_eq!(app.services.ingest_fallbacks(), 0);
}
