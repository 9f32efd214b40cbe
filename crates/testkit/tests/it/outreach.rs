//! Templates sent to the customer, and conversations the business starts
//! with a saved contact: both go out through the outbox like a text reply,
//! an API channel's callback receives a template's name, language and
//! values, and the messaging window lets templates (not texts) through.

use std::sync::Arc;
use std::time::Duration;

use serde_json::{Value, json};
use switchboard_core::lifecycle::{self, MessageAuthor, Routed};
use switchboard_core::{
    ChannelId, ChannelKind, ContactId, Conversation, ConversationId, Direction, Message, MessageId, MessageKind,
    Priority, SenderKind, TeamId, UserId, WorkspaceId,
};
use switchboard_testkit::callback::Received;
use switchboard_testkit::client::{ApiClient, Reply, post_hook};
use switchboard_testkit::fixtures::Org;
use switchboard_testkit::{CallbackServer, MONDAY_9AM, TestApp, TestOptions, eventually};

const HOUR: i64 = 3600 * 1000;

/// An error with this status and code; for `invalid_input`, naming `field`.
fn assert_error(r: &Reply, status: u16, code: &str, field: Option<&str>) {
    assert_eq!((r.status.as_u16(), r.code()), (status, code), "{:?}", r.body);
    if let Some(field) = field {
        assert_eq!(r.body["error"]["field"], field, "{:?}", r.body);
        let message = r.body["error"]["message"].as_str().unwrap();
        assert!(message.contains(field), "{message:?} names {field}");
    }
}

/// A customer writes on the API channel; Ana comes online and takes the chat.
async fn assigned_conversation(app: &TestApp, org: &Org) -> String {
    let hook = org.customer_says(app, "in-1", "cust-1", "hello").await;
    let conv = hook["conversation_id"].as_str().unwrap().to_owned();
    org.set_online(&org.agent, &org.agent_id).await;
    let r = org.admin.get(&org.path(&format!("/conversations/{conv}"))).await;
    assert_eq!(r["assignee_id"], org.agent_id.as_str(), "{:?}", r.body);
    conv
}

async fn create_template(client: &ApiClient, org: &Org, body: Value) -> String {
    let r = client.post(&org.path("/templates"), body).await;
    assert_eq!(r.status, 201, "{:?}", r.body);
    r["id"].as_str().unwrap().to_owned()
}

/// "Hi {{1}}, your order {{2}} is on its way." for any channel.
async fn order_update(org: &Org) -> String {
    create_template(
        &org.admin,
        org,
        json!({"name": "order_update", "language": "en_US", "category": "utility",
               "body": "Hi {{1}}, your order {{2}} is on its way."}),
    )
    .await
}

async fn messages(client: &ApiClient, org: &Org, conv: &str) -> Vec<Value> {
    let page = client
        .get(&org.path(&format!("/conversations/{conv}/messages?limit=200")))
        .await;
    assert_eq!(page.status, 200, "{:?}", page.body);
    page["items"].as_array().unwrap().clone()
}

async fn delivery_status(org: &Org, conv: &str, message: &str) -> String {
    messages(&org.admin, org, conv)
        .await
        .into_iter()
        .find(|m| m["id"] == message)
        .map(|m| m["delivery_status"].as_str().unwrap_or("").to_owned())
        .unwrap_or_default()
}

/// The callback requests about one message, each checked against the
/// channel's secret.
fn signed_calls(callback: &CallbackServer, secret: &str, message: &str) -> Vec<Received> {
    let calls: Vec<Received> = callback
        .received()
        .into_iter()
        .filter(|c| c.json()["message_id"] == message)
        .collect();
    for call in &calls {
        switchboard_channels::api::verify(secret, &call.body, call.header("x-switchboard-signature"))
            .expect("the callback is signed with the channel secret");
    }
    calls
}

async fn sent(org: &Org, conv: &str, message: &str) {
    eventually(Duration::from_secs(10), || async {
        (delivery_status(org, conv, message).await == "sent").then_some(())
    })
    .await;
}

/// Close `conversation` with `status` and give its contact and the path
/// that starts a new conversation with them.
async fn closed_with_start(org: &Org, conversation: &str, status: &str) -> (String, String) {
    let view = org
        .admin
        .get(&org.path(&format!("/conversations/{conversation}")))
        .await;
    let contact = view["contact_id"].as_str().unwrap().to_owned();
    let r = org
        .admin
        .post(
            &org.path(&format!("/conversations/{conversation}/status")),
            json!({"status": status}),
        )
        .await;
    assert_eq!(r.status, 200, "{:?}", r.body);
    let start = org.path(&format!("/contacts/{contact}/conversations"));
    (contact, start)
}

#[tokio::test]
async fn a_template_reaches_the_callback_with_its_name_language_and_values() {
    let app = TestApp::spawn().await;
    let org = Org::create(&app).await;
    let conv = assigned_conversation(&app, &org).await;
    let template = order_update(&org).await;
    let before = org.admin.get(&org.path(&format!("/conversations/{conv}"))).await;
    assert_eq!(before["first_reply_at"], Value::Null);

    let r = org
        .agent
        .post(
            &org.path(&format!("/conversations/{conv}/messages")),
            json!({"kind": "template", "template_id": template, "params": ["Carla", "A-123"]}),
        )
        .await;
    assert_eq!(r.status, 201, "{:?}", r.body);
    assert_eq!(r["kind"], "template");
    assert_eq!(r["direction"], "out");
    assert_eq!(r["body"], "Hi Carla, your order A-123 is on its way.");
    assert_eq!(r["delivery_status"], "queued");
    assert_eq!(
        r["template"],
        json!({"template_id": template, "name": "order_update", "language": "en_US", "params": ["Carla", "A-123"]})
    );
    let message = r["id"].as_str().unwrap().to_owned();
    sent(&org, &conv, &message).await;

    let calls = signed_calls(&org.callback, &org.secret, &message);
    assert_eq!(calls.len(), 1);
    let call = calls[0].json();
    assert_eq!(call["text"], "Hi Carla, your order A-123 is on its way.");
    assert_eq!(
        call["template"],
        json!({"name": "order_update", "language": "en_US", "params": ["Carla", "A-123"]})
    );
    assert_eq!(call["contact_id"], "cust-1");
    assert_eq!(call["sender_name"], "Ana Agent");

    // Stored as sent: read back with its template, and it counts as the first reply.
    let stored = messages(&org.agent, &org, &conv).await;
    let stored = stored.iter().find(|m| m["id"] == message.as_str()).unwrap();
    assert_eq!(stored["template"]["name"], "order_update");
    assert_eq!(stored["template"]["params"], json!(["Carla", "A-123"]));
    let after = org.admin.get(&org.path(&format!("/conversations/{conv}"))).await;
    assert!(after["first_reply_at"].is_i64(), "{:?}", after.body);
    assert_eq!(after["first_reply_at"], after["last_message_at"]);

    // A plain text still goes out without a template.
    let text = org
        .agent
        .post(
            &org.path(&format!("/conversations/{conv}/messages")),
            json!({"kind": "text", "body": "Anything else?"}),
        )
        .await;
    assert_eq!(text.status, 201, "{:?}", text.body);
    assert!(text.body.get("template").is_none(), "{:?}", text.body);
    let text = text["id"].as_str().unwrap().to_owned();
    sent(&org, &conv, &text).await;
    let call = signed_calls(&org.callback, &org.secret, &text)[0].json();
    assert_eq!(call["text"], "Anything else?");
    assert!(call.get("template").is_none(), "{call}");
}

#[tokio::test]
async fn templates_follow_the_rules_of_the_workspace_the_channel_and_the_placeholders() {
    let app = TestApp::spawn_with(
        switchboard_testkit::TestOptions::default().with_stand_in(switchboard_core::ChannelKind::Whatsapp),
    )
    .await;
    let org = Org::create(&app).await;
    let conv = assigned_conversation(&app, &org).await;
    let template = order_update(&org).await;
    let post = |client: &ApiClient, body: Value| {
        let client = client.clone();
        let path = org.path(&format!("/conversations/{conv}/messages"));
        async move { client.post(&path, body).await }
    };
    let count = || async { messages(&org.admin, &org, &conv).await.len() };
    let before = count().await;

    // One value per placeholder.
    for params in [json!(["Carla"]), json!(["Carla", "A-123", "extra"]), json!([])] {
        let r = post(
            &org.agent,
            json!({"kind": "template", "template_id": template, "params": params}),
        )
        .await;
        assert_error(&r, 422, "invalid_input", Some("params"));
    }
    let r = post(
        &org.agent,
        json!({"kind": "template", "template_id": template, "params": ["Carla", " "]}),
    )
    .await;
    assert_error(&r, 422, "invalid_input", Some("params"));
    // The shape of the request, per kind.
    let r = post(&org.agent, json!({"kind": "template", "params": ["a", "b"]})).await;
    assert_error(&r, 422, "invalid_input", Some("template_id"));
    let r = post(
        &org.agent,
        json!({"kind": "template", "template_id": template, "params": ["a", "b"], "body": "my own words"}),
    )
    .await;
    assert_error(&r, 422, "invalid_input", Some("body"));
    let r = post(
        &org.agent,
        json!({"kind": "text", "body": "hi", "template_id": template}),
    )
    .await;
    assert_error(&r, 422, "invalid_input", Some("template_id"));
    let r = post(&org.agent, json!({"kind": "note", "body": "hi", "params": ["a"]})).await;
    assert_error(&r, 422, "invalid_input", Some("params"));
    let r = post(&org.agent, json!({"kind": "text"})).await;
    assert_error(&r, 422, "invalid_input", Some("body"));
    let r = post(
        &org.agent,
        json!({"kind": "template", "template_id": template, "params": ["a", "b"], "send_at": 4_000_000_000_000i64}),
    )
    .await;
    assert_error(&r, 422, "invalid_input", Some("send_at"));

    // A template of another workspace is not found.
    let (their_admin, their_ws) = app.other_workspace("olga@other.test").await;
    let theirs = their_admin
        .post(
            &format!("/api/v1/workspaces/{their_ws}/templates"),
            json!({"name": "order_update", "language": "en_US", "category": "utility", "body": "Hi {{1}}"}),
        )
        .await;
    assert_eq!(theirs.status, 201, "{:?}", theirs.body);
    let r = post(
        &org.agent,
        json!({"kind": "template", "template_id": theirs["id"], "params": ["Carla"]}),
    )
    .await;
    assert_error(&r, 404, "not_found", None);

    // A template bound to another channel is refused; one bound to this channel is fine.
    let other_channel = org
        .admin
        .post(
            &org.path("/channels"),
            json!({"kind": "whatsapp", "name": "WhatsApp line"}),
        )
        .await;
    assert_eq!(other_channel.status, 201, "{:?}", other_channel.body);
    let elsewhere = create_template(
        &org.admin,
        &org,
        json!({"name": "wa_only", "language": "en", "category": "utility", "body": "Hello {{1}}",
               "channel_id": other_channel["id"]}),
    )
    .await;
    let r = post(
        &org.agent,
        json!({"kind": "template", "template_id": elsewhere, "params": ["Carla"]}),
    )
    .await;
    assert_error(&r, 422, "invalid_input", Some("template_id"));
    assert!(r.body["error"]["message"].as_str().unwrap().contains("another channel"));
    // Not approved (yet): refused, saying so.
    let pending = create_template(
        &org.admin,
        &org,
        json!({"name": "in_review", "language": "en", "category": "marketing", "body": "Sale!", "status": "pending"}),
    )
    .await;
    let r = post(
        &org.agent,
        json!({"kind": "template", "template_id": pending, "params": []}),
    )
    .await;
    assert_error(&r, 409, "conflict", None);
    assert!(r.body["error"]["message"].as_str().unwrap().contains("approved"));
    assert_eq!(count().await, before, "nothing was stored");

    // Only the assigned agent (or an admin) sends, as for a text.
    let (bob, _) = org
        .member(&app, "bob@acme.test", "bob@acme.test", "agent", &[&org.team])
        .await;
    for body in [
        json!({"kind": "text", "body": "I can help"}),
        json!({"kind": "template", "template_id": template, "params": ["Carla", "A-1"]}),
    ] {
        assert_error(&post(&bob, body).await, 403, "forbidden", None);
    }
    let (sam, _) = org
        .member(&app, "sam@acme.test", "sam@acme.test", "supervisor", &[&org.team])
        .await;
    let r = post(
        &sam,
        json!({"kind": "template", "template_id": template, "params": ["Carla", "A-1"]}),
    )
    .await;
    assert_error(&r, 403, "forbidden", None);
    assert_eq!(count().await, before, "nothing was stored");

    let bound = create_template(
        &org.admin,
        &org,
        json!({"name": "shop_only", "language": "en", "category": "utility", "body": "Thanks {{1}}!",
               "channel_id": org.channel}),
    )
    .await;
    let r = post(
        &org.admin,
        json!({"kind": "template", "template_id": bound, "params": ["Carla"]}),
    )
    .await;
    assert_eq!(r.status, 201, "an admin sends too: {:?}", r.body);
    assert_eq!(r["body"], "Thanks Carla!");

    // Not on a conversation that is not assigned.
    let resolved = org
        .agent
        .post(
            &org.path(&format!("/conversations/{conv}/status")),
            json!({"status": "resolved"}),
        )
        .await;
    assert_eq!(resolved.status, 200, "{:?}", resolved.body);
    let r = post(
        &org.agent,
        json!({"kind": "template", "template_id": template, "params": ["Carla", "A-1"]}),
    )
    .await;
    assert_error(&r, 409, "illegal_transition", None);
}

/// A WhatsApp channel (no outbound adapter yet) with a saved contact that
/// has an identity on it, written to the store as WhatsApp ingest would.
struct WhatsApp {
    channel: ChannelId,
    contact: ContactId,
}

async fn whatsapp(app: &TestApp, org: &Org) -> WhatsApp {
    let channel = org
        .admin
        .post(
            &org.path("/channels"),
            json!({"kind": "whatsapp", "name": "WhatsApp line", "default_team_id": org.team}),
        )
        .await;
    assert_eq!(channel.status, 201, "{:?}", channel.body);
    let contact = org
        .admin
        .post(
            &org.path("/contacts"),
            json!({"name": "Wanda", "phone": "+5511999990000"}),
        )
        .await;
    assert_eq!(contact.status, 201, "{:?}", contact.body);
    let w = WhatsApp {
        channel: channel["id"].as_str().unwrap().parse().unwrap(),
        contact: contact["id"].as_str().unwrap().parse().unwrap(),
    };
    let ws: WorkspaceId = org.ws.parse().unwrap();
    let mut tx = app.services.store().begin().await.unwrap();
    tx.exec()
        .insert_identity(ws, w.channel, "5511999990000", w.contact, app.services.now())
        .await
        .unwrap();
    tx.commit().await.unwrap();
    w
}

/// A chat on the WhatsApp channel assigned to Ana, whose customer wrote now.
async fn whatsapp_chat(app: &TestApp, org: &Org, w: &WhatsApp) -> ConversationId {
    let ws: WorkspaceId = org.ws.parse().unwrap();
    let now = app.services.now();
    let agent: UserId = org.agent_id.parse().unwrap();
    let team: TeamId = org.team.parse().unwrap();
    let (state, _) = lifecycle::open(
        Some(Routed::Assigned {
            agent,
            team: Some(team),
        }),
        now,
    );
    let mut times = state.times;
    lifecycle::record_message(&mut times, MessageAuthor::Customer, now);
    let c = Conversation {
        id: ConversationId::new(),
        workspace_id: ws,
        channel_id: w.channel,
        contact_id: w.contact,
        team_id: state.team,
        assignee_id: state.assignee,
        status: state.status,
        priority: Priority::Normal,
        ticket: false,
        tags: Vec::new(),
        close_comment: None,
        close_reason: None,
        rating: None,
        times,
        snoozed_until: None,
        updated_at: now,
    };
    let hello = Message {
        html: None,
        subject: None,
        id: MessageId::new(),
        workspace_id: ws,
        conversation_id: c.id,
        direction: Direction::In,
        sender_kind: SenderKind::Contact,
        sender_id: Some(w.contact.to_string()),
        kind: MessageKind::Text,
        body: Some("hello?".into()),
        activity: None,
        in_reply_to: None,
        provider_message_id: Some("wamid.1".into()),
        delivery_status: None,
        delivery_error: None,
        created_at: now,
        send_at: None,
        buttons: Vec::new(),
        template: None,
        edited_at: None,
    };
    let mut tx = app.services.store().begin().await.unwrap();
    tx.exec().insert_conversation(&c).await.unwrap();
    tx.exec().insert_message(&hello, w.channel).await.unwrap();
    tx.commit().await.unwrap();
    c.id
}

#[tokio::test]
async fn a_closed_window_refuses_texts_but_lets_templates_through() {
    let clock = Arc::new(switchboard_service::ManualClock::new(MONDAY_9AM));
    // WhatsApp's adapter is not there yet: a stand-in with its window.
    let mut options = TestOptions {
        manual_clock: Some(clock.clone()),
        ..TestOptions::default()
    }
    .with_stand_in(ChannelKind::Whatsapp);
    // No job worker: its sweep would expire the chat, idle for a day.
    options.service.run_jobs = false;
    let app = TestApp::spawn_with(options).await;
    let org = Org::create(&app).await;
    let template = order_update(&org).await;
    let w = whatsapp(&app, &org).await;
    let conv = whatsapp_chat(&app, &org, &w).await;
    let path = org.path(&format!("/conversations/{conv}/messages"));
    let text = json!({"kind": "text", "body": "Still there?"});
    let tpl = json!({"kind": "template", "template_id": template, "params": ["Wanda", "W-9"]});

    // Within 24 hours of the customer's message the window is open: both
    // pass it, and stop at the channel, which cannot send yet (409).
    clock.advance(23 * HOUR);
    for body in [&text, &tpl] {
        let r = org.agent.post(&path, body.clone()).await;
        assert_error(&r, 409, "conflict", None);
        assert!(r.body["error"]["message"].as_str().unwrap().contains("whatsapp"));
    }
    // Past 24 hours a text is refused by the window rule; a template passes
    // it (and again meets the channel that cannot send yet).
    clock.advance(2 * HOUR);
    let r = org.agent.post(&path, text).await;
    assert_error(&r, 409, "window_closed", None);
    assert!(r.body["error"]["message"].as_str().unwrap().contains("template"));
    let r = org.agent.post(&path, tpl).await;
    assert_error(&r, 409, "conflict", None);
    assert!(
        r.body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("not available yet")
    );
    assert_eq!(
        messages(&org.admin, &org, &conv.to_string()).await.len(),
        1,
        "only the customer's message"
    );
    // The same rule for a conversation the business starts: nobody has
    // written yet, so the window is closed.
    let resolve = org
        .agent
        .post(
            &org.path(&format!("/conversations/{conv}/status")),
            json!({"status": "resolved"}),
        )
        .await;
    assert_eq!(resolve.status, 200, "{:?}", resolve.body);
    let start = org.path(&format!("/contacts/{}/conversations", w.contact));
    let r = org
        .agent
        .post(&start, json!({"channel_id": w.channel, "body": "Hi!"}))
        .await;
    assert_error(&r, 409, "window_closed", None);
    let r = org
        .agent
        .post(
            &start,
            json!({"channel_id": w.channel, "template_id": template, "params": ["Wanda", "W-9"]}),
        )
        .await;
    assert_error(&r, 409, "conflict", None);
    assert!(
        r.body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("not available yet")
    );
    let all = org
        .admin
        .get(&org.path(&format!("/conversations?contact={}", w.contact)))
        .await;
    assert_eq!(all["items"].as_array().unwrap().len(), 1, "nothing was started");
}

#[tokio::test]
async fn an_agent_starts_a_conversation_with_a_saved_contact() {
    let app = TestApp::spawn().await;
    let org = Org::create(&app).await;
    // The customer wrote once; that chat was closed.
    let hook = org.customer_says(&app, "in-1", "cust-1", "hello").await;
    let old = hook["conversation_id"].as_str().unwrap().to_owned();
    let (contact, start) = closed_with_start(&org, &old, "resolved").await;
    let ws: WorkspaceId = org.ws.parse().unwrap();
    let mut events = app.services.events().subscribe(ws, None).await.unwrap().live;

    let r = org
        .agent
        .post(
            &start,
            json!({"channel_id": org.channel, "body": "Your order is ready for pickup."}),
        )
        .await;
    assert_eq!(r.status, 201, "{:?}", r.body);
    let conv = r["id"].as_str().unwrap().to_owned();
    assert_ne!(conv, old);
    assert_eq!(r["status"], "assigned");
    assert_eq!(r["assignee_id"], org.agent_id.as_str());
    assert_eq!(r["team_id"], org.team.as_str());
    assert_eq!(r["contact_id"], contact.as_str());
    assert_eq!(r["channel_id"], org.channel.as_str());
    assert_eq!(r["ticket"], false);
    assert!(r["first_reply_at"].is_i64(), "{:?}", r.body);
    assert_eq!(r["started_by"], "out", "the business wrote first");

    // The opening activity and the text, delivered to the callback.
    let list = messages(&org.agent, &org, &conv).await;
    let kinds: Vec<(&str, &str)> = list
        .iter()
        .map(|m| (m["kind"].as_str().unwrap(), m["direction"].as_str().unwrap()))
        .collect();
    assert_eq!(kinds, [("activity", "out"), ("text", "out")]);
    assert_eq!(list[0]["activity"]["type"], "opened");
    assert_eq!(list[0]["activity"]["status"], "assigned");
    assert_eq!(list[0]["activity"]["assignee_id"], org.agent_id.as_str());
    let message = list[1]["id"].as_str().unwrap().to_owned();
    sent(&org, &conv, &message).await;
    let calls = signed_calls(&org.callback, &org.secret, &message);
    assert_eq!(calls.len(), 1);
    assert_eq!(calls[0].json()["text"], "Your order is ready for pickup.");
    assert_eq!(calls[0].json()["contact_id"], "cust-1");
    assert_eq!(calls[0].json()["conversation_id"], conv.as_str());

    // Events as for any new chat and message.
    let mut seen = Vec::new();
    while let Ok(e) = events.try_recv() {
        if e.data["id"] == conv.as_str() || e.data["conversation_id"] == conv.as_str() {
            seen.push((e.kind.clone(), e.data["kind"].as_str().unwrap_or("").to_owned()));
        }
    }
    assert_eq!(
        &seen[..3],
        [
            ("conversation.created".to_owned(), String::new()),
            ("message.created".to_owned(), "activity".to_owned()),
            ("message.created".to_owned(), "text".to_owned()),
        ],
        "{seen:?}"
    );

    // The chat is Ana's, in her lists.
    let mine = org
        .agent
        .get(&org.path(&format!("/conversations?assignee={}", org.agent_id)))
        .await;
    let ids: Vec<&str> = mine["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, [conv.as_str()]);

    // Starting again while it is open (by anyone): 409, naming the open one.
    for client in [&org.agent, &org.admin] {
        let r = client
            .post(&start, json!({"channel_id": org.channel, "body": "Hello again"}))
            .await;
        assert_error(&r, 409, "conflict", None);
        assert!(
            r.body["error"]["message"].as_str().unwrap().contains(&conv),
            "{:?}",
            r.body
        );
    }
    // Once it is with another team, an agent of this one is not told its id.
    let sales = org.admin.post(&org.path("/teams"), json!({"name": "Sales"})).await;
    let (sue, sue_id) = org
        .member(
            &app,
            "sue@acme.test",
            "sue@acme.test",
            "agent",
            &[sales["id"].as_str().unwrap()],
        )
        .await;
    org.set_online(&sue, &sue_id).await;
    let r = org
        .admin
        .post(
            &org.path(&format!("/conversations/{conv}/assign")),
            json!({"user_id": sue_id, "team_id": sales["id"]}),
        )
        .await;
    assert_eq!(r.status, 200, "{:?}", r.body);
    let r = org
        .agent
        .post(&start, json!({"channel_id": org.channel, "body": "Hello again"}))
        .await;
    assert_error(&r, 409, "conflict", None);
    let message = r.body["error"]["message"].as_str().unwrap();
    assert!(
        !message.contains(&conv) && message.contains("another team"),
        "{message}"
    );
    // The customer's answer lands in it.
    let answer = org.customer_says(&app, "in-2", "cust-1", "On my way").await;
    assert_eq!(answer["conversation_id"], conv.as_str());
    let now = org.admin.get(&org.path(&format!("/conversations/{conv}"))).await;
    assert_eq!(now["status"], "assigned");
    // The business still started it: "sent by" does not follow the last writer.
    assert_eq!(now["started_by"], "out");
    let ids_of = |r: Reply| -> Vec<String> {
        r["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| c["id"].as_str().unwrap().to_owned())
            .collect()
    };
    assert_eq!(
        ids_of(org.admin.get(&org.path("/conversations?sent_by=business")).await),
        std::slice::from_ref(&conv)
    );
    assert_eq!(
        ids_of(org.admin.get(&org.path("/conversations?sent_by=customer")).await),
        std::slice::from_ref(&old)
    );
}

#[tokio::test]
async fn a_started_conversation_can_open_with_a_template() {
    let app = TestApp::spawn().await;
    let org = Org::create(&app).await;
    let template = order_update(&org).await;
    let hook = org.customer_says(&app, "in-1", "cust-7", "hello").await;
    let old = hook["conversation_id"].as_str().unwrap().to_owned();
    let (_, start) = closed_with_start(&org, &old, "abandoned").await;
    let r = org
        .admin
        .post(
            &start,
            json!({"channel_id": org.channel, "template_id": template, "params": ["Carla"]}),
        )
        .await;
    assert_error(&r, 422, "invalid_input", Some("params"));
    let r = org
        .admin
        .post(
            &start,
            json!({"channel_id": org.channel, "body": "Hi", "template_id": template, "params": ["Carla", "A-1"]}),
        )
        .await;
    assert_error(&r, 422, "invalid_input", Some("body"));
    let r = org.admin.post(&start, json!({"channel_id": org.channel})).await;
    assert_error(&r, 422, "invalid_input", Some("body"));

    let r = org
        .admin
        .post(
            &start,
            json!({"channel_id": org.channel, "template_id": template, "params": ["Carla", "A-7"]}),
        )
        .await;
    assert_eq!(r.status, 201, "{:?}", r.body);
    let conv = r["id"].as_str().unwrap().to_owned();
    assert_eq!(r["assignee_id"], org.admin.user_id.as_deref().unwrap());
    let list = messages(&org.admin, &org, &conv).await;
    let sent_template = list
        .iter()
        .find(|m| m["kind"] == "template")
        .expect("the template message");
    assert_eq!(sent_template["body"], "Hi Carla, your order A-7 is on its way.");
    let message = sent_template["id"].as_str().unwrap().to_owned();
    sent(&org, &conv, &message).await;
    let call = signed_calls(&org.callback, &org.secret, &message)[0].json();
    assert_eq!(call["text"], "Hi Carla, your order A-7 is on its way.");
    assert_eq!(
        call["template"],
        json!({"name": "order_update", "language": "en_US", "params": ["Carla", "A-7"]})
    );
}

#[tokio::test]
async fn starting_a_conversation_needs_an_identity_on_the_channel_and_reach() {
    let app = TestApp::spawn().await;
    let org = Org::create(&app).await;
    // A second team with its own API channel, and a customer who wrote there.
    let billing = org
        .admin
        .post(
            &org.path("/teams"),
            json!({"name": "Billing", "assignment_rule": "round_robin"}),
        )
        .await;
    assert_eq!(billing.status, 201, "{:?}", billing.body);
    let billing_callback = CallbackServer::start().await;
    let channel = org
        .admin
        .post(
            &org.path("/channels"),
            json!({"kind": "api", "name": "Billing line", "callback_url": billing_callback.url(), "default_team_id": billing["id"]}),
        )
        .await;
    assert_eq!(channel.status, 201, "{:?}", channel.body);
    let billing_channel = channel["id"].as_str().unwrap().to_owned();
    let hook = post_hook(
        &app,
        &billing_channel,
        channel["secret"].as_str().unwrap(),
        &json!({"message_id": "b-1", "contact": {"id": "payer-1"}, "text": "about my invoice"}),
    )
    .await;
    assert_eq!(hook.status, 200, "{:?}", hook.body);
    let billing_conv = hook["conversation_id"].as_str().unwrap().to_owned();
    let (_, start_payer) = closed_with_start(&org, &billing_conv, "resolved").await;

    // Ana is not in Billing: its channel is out of her reach.
    let r = org
        .agent
        .post(&start_payer, json!({"channel_id": billing_channel, "body": "Hello"}))
        .await;
    assert_error(&r, 404, "not_found", None);
    // A supervisor of Billing does not write to customers.
    let (sam, _) = org
        .member(
            &app,
            "sam@acme.test",
            "sam@acme.test",
            "supervisor",
            &[billing["id"].as_str().unwrap()],
        )
        .await;
    let r = sam
        .post(&start_payer, json!({"channel_id": billing_channel, "body": "Hello"}))
        .await;
    assert_error(&r, 403, "forbidden", None);
    // A Billing agent may.
    let (bea, bea_id) = org
        .member(
            &app,
            "bea@acme.test",
            "bea@acme.test",
            "agent",
            &[billing["id"].as_str().unwrap()],
        )
        .await;
    let r = bea
        .post(&start_payer, json!({"channel_id": billing_channel, "body": "Hello"}))
        .await;
    assert_eq!(r.status, 201, "{:?}", r.body);
    assert_eq!(r["assignee_id"], bea_id.as_str());
    assert_eq!(r["team_id"], billing["id"]);

    // The payer has no identity on the shop channel.
    let r = org
        .agent
        .post(&start_payer, json!({"channel_id": org.channel, "body": "Hello"}))
        .await;
    assert_error(&r, 422, "invalid_input", Some("channel_id"));
    // Nor has a contact saved by hand on any channel.
    let saved = org.admin.post(&org.path("/contacts"), json!({"name": "Walk-in"})).await;
    assert_eq!(saved.status, 201, "{:?}", saved.body);
    let r = org
        .agent
        .post(
            &org.path(&format!("/contacts/{}/conversations", saved["id"].as_str().unwrap())),
            json!({"channel_id": org.channel, "body": "Hello"}),
        )
        .await;
    assert_error(&r, 422, "invalid_input", Some("channel_id"));

    // Another workspace's contact, or channel, is not found.
    let (their_admin, their_ws) = app.other_workspace("olga@other.test").await;
    let theirs = their_admin
        .post(
            &format!("/api/v1/workspaces/{their_ws}/contacts"),
            json!({"name": "Their customer"}),
        )
        .await;
    assert_eq!(theirs.status, 201, "{:?}", theirs.body);
    let r = org
        .agent
        .post(
            &org.path(&format!("/contacts/{}/conversations", theirs["id"].as_str().unwrap())),
            json!({"channel_id": org.channel, "body": "Hello"}),
        )
        .await;
    assert_error(&r, 404, "not_found", None);
    let their_channel = their_admin
        .post(
            &format!("/api/v1/workspaces/{their_ws}/channels"),
            json!({"kind": "api", "name": "Theirs"}),
        )
        .await;
    assert_eq!(their_channel.status, 201, "{:?}", their_channel.body);
    let r = org
        .admin
        .post(
            &start_payer,
            json!({"channel_id": their_channel["id"], "body": "Hello"}),
        )
        .await;
    assert_error(&r, 404, "not_found", None);
    let r = org
        .admin
        .post(
            &format!(
                "/api/v1/workspaces/{their_ws}/contacts/{}/conversations",
                theirs["id"].as_str().unwrap()
            ),
            json!({"channel_id": their_channel["id"], "body": "Hello"}),
        )
        .await;
    assert_error(&r, 404, "not_found", None);
    // Nothing half-made: the shop channel has no conversation at all.
    let shop = org
        .admin
        .get(&org.path(&format!("/conversations?channel={}", org.channel)))
        .await;
    assert_eq!(shop["items"].as_array().unwrap().len(), 0, "{:?}", shop.body);
}

#[tokio::test]
async fn a_channel_without_a_callback_cannot_start_a_conversation() {
    let app = TestApp::spawn().await;
    let org = Org::create(&app).await;
    let hook = org.customer_says(&app, "in-1", "cust-1", "hello").await;
    let conv = hook["conversation_id"].as_str().unwrap().to_owned();
    let (_, start) = closed_with_start(&org, &conv, "resolved").await;
    let r = org
        .admin
        .patch(
            &org.path(&format!("/channels/{}", org.channel)),
            json!({"callback_url": ""}),
        )
        .await;
    assert_eq!(r.status, 200, "{:?}", r.body);
    let r = org
        .admin
        .post(&start, json!({"channel_id": org.channel, "body": "Hello"}))
        .await;
    assert_error(&r, 409, "conflict", None);
    assert!(r.body["error"]["message"].as_str().unwrap().contains("callback"));
}

#[tokio::test]
async fn a_web_visitor_sees_a_template_as_its_text() {
    let app = TestApp::spawn().await;
    let org = Org::create(&app).await;
    let template = order_update(&org).await;
    let channel = org
        .admin
        .post(
            &org.path("/channels"),
            json!({"kind": "web", "name": "Site chat", "default_team_id": org.team,
                   "widget": {"allowed_origins": ["http://shop.test"]}}),
        )
        .await;
    assert_eq!(channel.status, 201, "{:?}", channel.body);
    let http = reqwest::Client::new();
    let session: Value = http
        .post(app.url("/widget/v1/session"))
        .json(&json!({"channel_id": channel["id"]}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let token = session["token"].as_str().expect("visitor token").to_owned();
    let said: Value = http
        .post(app.url("/widget/v1/messages"))
        .bearer_auth(&token)
        .json(&json!({"text": "Where is my order?", "client_id": "c-1"}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let conv = said["conversation_id"].as_str().expect("conversation").to_owned();
    org.set_online(&org.agent, &org.agent_id).await;

    let r = org
        .agent
        .post(
            &org.path(&format!("/conversations/{conv}/messages")),
            json!({"kind": "template", "template_id": template, "params": ["Vera", "V-1"]}),
        )
        .await;
    assert_eq!(r.status, 201, "{:?}", r.body);
    let message = r["id"].as_str().unwrap().to_owned();
    sent(&org, &conv, &message).await;
    let seen: Value = http
        .get(app.url(&format!("/widget/v1/conversations/{conv}/messages")))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let seen = seen["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["id"] == message.as_str())
        .expect("the visitor sees the template")
        .clone();
    assert_eq!(seen["body"], "Hi Vera, your order V-1 is on its way.");
    assert!(seen.get("template").is_none(), "{seen}");
}
