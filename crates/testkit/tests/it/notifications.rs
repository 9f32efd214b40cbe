//! Notifications and the feedback request, against a real server:
//! @mentions in comments and notes reach the mentioned member alone (live
//! and in their list), assignments by someone else notify the new owner,
//! each member reads and marks only their own; resolving with a feedback
//! request asks the customer for a rating, and their 1–5 answer is kept on
//! the closed chat without reopening it.

use std::time::Duration;

use reqwest::Method;
use serde_json::{Value, json};
use switchboard_testkit::client::{ApiClient, post_hook};
use switchboard_testkit::events::EventStream;
use switchboard_testkit::fixtures::Org;
use switchboard_testkit::{TestApp, eventually};

const WAIT: Duration = Duration::from_secs(5);
const QUESTION: &str = "How would you rate this conversation? Reply with a number from 1 (poor) to 5 (excellent).";

async fn post_message(client: &ApiClient, org: &Org, conversation: &str, kind: &str, body: &str) -> Value {
    let r = client
        .post(
            &org.path(&format!("/conversations/{conversation}/messages")),
            json!({"kind": kind, "body": body}),
        )
        .await;
    assert_eq!(r.status, 201, "{:?}", r.body);
    r.body
}

/// Every event up to (and including) the `message.created` of `message_id`.
async fn events_until_message(stream: &mut EventStream, message_id: &str) -> Vec<Value> {
    let mut seen = Vec::new();
    loop {
        let event = stream.next(WAIT).await.expect("the event stream went quiet");
        let done = event["type"] == "message.created" && event["data"]["id"] == message_id;
        seen.push(event);
        if done {
            return seen;
        }
    }
}

fn kinds(events: &[Value]) -> Vec<&str> {
    events.iter().map(|e| e["type"].as_str().unwrap_or("")).collect()
}

async fn notifications(client: &ApiClient, org: &Org, query: &str) -> Value {
    let r = client.get(&org.path(&format!("/notifications{query}"))).await;
    assert_eq!(r.status, 200, "{:?}", r.body);
    r.body
}

fn ids(page: &Value) -> Vec<&str> {
    page["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| n["id"].as_str().unwrap())
        .collect()
}

#[tokio::test]
async fn a_mention_notifies_that_member_alone_who_reads_and_marks_their_own() {
    let app = TestApp::spawn().await;
    let org = Org::create(&app).await;
    let (alice, alice_id) = org
        .member(&app, "alice@acme.test", "Alice Smith", "agent", &[&org.team])
        .await;
    // A shorter name that "@Alice Smith" also starts with.
    let (other_alice, _) = org
        .member(&app, "alice.b@acme.test", "Alice", "agent", &[&org.team])
        .await;
    let (bob, _) = org
        .member(&app, "bob@acme.test", "Bob Builder", "agent", &[&org.team])
        .await;
    let (sam, sam_id) = org
        .member(&app, "sam@acme.test", "Sam Supervisor", "supervisor", &[&org.team])
        .await;
    // Mentioned, but in another team: cannot see the chat, so not notified.
    let sales = org.admin.post(&org.path("/teams"), json!({"name": "Sales"})).await;
    let (otto, _) = org
        .member(
            &app,
            "otto@acme.test",
            "Otto Sales",
            "agent",
            &[sales["id"].as_str().unwrap()],
        )
        .await;

    let hook = org.customer_says(&app, "in-1", "cust-1", "my parcel is late").await;
    let conversation = hook["conversation_id"].as_str().unwrap().to_owned();

    let mut alice_events = EventStream::connect(&app, &alice, &org.ws, None).await.unwrap();
    let mut other_alice_events = EventStream::connect(&app, &other_alice, &org.ws, None).await.unwrap();
    let mut bob_events = EventStream::connect(&app, &bob, &org.ws, None).await.unwrap();
    let mut sam_events = EventStream::connect(&app, &sam, &org.ws, None).await.unwrap();
    let mut otto_events = EventStream::connect(&app, &otto, &org.ws, None).await.unwrap();

    let body = "@Alice Smith please look — @Sam Supervisor and @Otto Sales FYI";
    let comment = post_message(&sam, &org, &conversation, "comment", body).await;
    let comment_id = comment["id"].as_str().unwrap().to_owned();

    // Alice: the comment, then her notification.
    let created = alice_events
        .next_of("notification.created", WAIT)
        .await
        .expect("Alice is notified");
    let n = &created["data"];
    assert_eq!(n["kind"], "mention");
    assert_eq!(n["conversation_id"], conversation.as_str());
    assert_eq!(n["message_id"], comment_id.as_str());
    assert_eq!(n["actor_user_id"], sam_id.as_str());
    assert_eq!(n["actor_name"], "Sam Supervisor");
    assert_eq!(n["excerpt"], body);
    assert!(n["created_at"].as_i64().is_some() && n["read_at"].is_null(), "{n}");
    let first = n["id"].as_str().unwrap().to_owned();

    // Nobody else got one: a later note is the marker that everything
    // about the comment has been sent.
    let marker = post_message(&org.admin, &org, &conversation, "note", "marker").await;
    let marker = marker["id"].as_str().unwrap();
    for (who, stream) in [
        ("the other Alice", &mut other_alice_events),
        ("Bob", &mut bob_events),
        ("Sam, the author", &mut sam_events),
    ] {
        let seen = events_until_message(stream, marker).await;
        assert!(
            seen.iter().any(|e| e["data"]["id"] == comment_id.as_str()),
            "{who} sees the comment itself"
        );
        assert!(!kinds(&seen).contains(&"notification.created"), "{who}: {seen:?}");
    }
    // Otto cannot see the chat at all: not even its messages.
    assert!(
        otto_events
            .next_of("notification.created", Duration::from_millis(300))
            .await
            .is_none()
    );

    // The list: Alice has it; the others have none.
    let page = notifications(&alice, &org, "").await;
    assert_eq!(ids(&page), [first.as_str()]);
    assert_eq!(page["unread_count"], 1);
    assert_eq!(page["items"][0]["actor_name"], "Sam Supervisor");
    for client in [&other_alice, &bob, &sam, &otto, &org.admin] {
        let page = notifications(client, &org, "").await;
        assert!(ids(&page).is_empty() && page["unread_count"] == 0, "{page}");
    }

    // A long note by the admin, in another letter case: the excerpt is its
    // first 140 characters. Newest first.
    let long = format!("@alice smith, {}", "é".repeat(300));
    post_message(&org.admin, &org, &conversation, "note", &long).await;
    let second = alice_events.next_of("notification.created", WAIT).await.unwrap();
    assert_eq!(second["data"]["actor_name"], "Ada Admin");
    let excerpt = second["data"]["excerpt"].as_str().unwrap();
    assert_eq!(excerpt.chars().count(), 140);
    assert!(long.starts_with(excerpt));
    let second = second["data"]["id"].as_str().unwrap().to_owned();
    let page = notifications(&alice, &org, "").await;
    assert_eq!(ids(&page), [second.as_str(), first.as_str()]);
    assert_eq!(page["unread_count"], 2);
    // Cursor pagination.
    let one = notifications(&alice, &org, "?limit=1").await;
    assert_eq!(ids(&one), [second.as_str()]);
    let cursor = one["next_cursor"].as_str().unwrap();
    let two = notifications(&alice, &org, &format!("?limit=1&cursor={cursor}")).await;
    assert_eq!(ids(&two), [first.as_str()]);
    assert!(two["next_cursor"].is_null());

    // Bob cannot mark Alice's read: silently ignored.
    let r = bob
        .post(&org.path("/notifications/read"), json!({"ids": [first, second]}))
        .await;
    assert_eq!(r.status, 204, "{:?}", r.body);
    assert_eq!(notifications(&alice, &org, "?unread=true").await["unread_count"], 2);
    let r = bob.post(&org.path("/notifications/read"), json!({"all": true})).await;
    assert_eq!(r.status, 204);
    assert_eq!(notifications(&alice, &org, "").await["unread_count"], 2);
    // Nor read them through another workspace.
    let (olga, their_ws) = app.other_workspace("olga@other.test").await;
    let r = olga.get(&format!("/api/v1/workspaces/{}/notifications", org.ws)).await;
    assert_eq!((r.status.as_u16(), r.code()), (404, "not_found"));
    let theirs = olga.get(&format!("/api/v1/workspaces/{their_ws}/notifications")).await;
    assert_eq!(theirs.status, 200);
    assert!(!theirs.body.to_string().contains(&first));

    // Alice marks one read: the unread filter and the count follow.
    let r = alice
        .post(&org.path("/notifications/read"), json!({"ids": [first]}))
        .await;
    assert_eq!(r.status, 204, "{:?}", r.body);
    let read = alice_events.next_of("notification.read", WAIT).await.unwrap();
    assert_eq!(read["data"]["unread_count"], 1);
    let unread = notifications(&alice, &org, "?unread=true").await;
    assert_eq!(ids(&unread), [second.as_str()]);
    assert_eq!(unread["unread_count"], 1);
    let all = notifications(&alice, &org, "").await;
    assert_eq!(ids(&all), [second.as_str(), first.as_str()]);
    assert!(all["items"][1]["read_at"].as_i64().is_some());
    assert!(all["items"][0]["read_at"].is_null());
    // Then all of them.
    let r = alice.post(&org.path("/notifications/read"), json!({"all": true})).await;
    assert_eq!(r.status, 204);
    let unread = notifications(&alice, &org, "?unread=true").await;
    assert!(ids(&unread).is_empty());
    assert_eq!(unread["unread_count"], 0);
    assert_eq!(ids(&notifications(&alice, &org, "").await).len(), 2);

    // Nothing named marks nothing; `all` covers ids given with it.
    for body in [json!({}), json!({"ids": []}), json!({"ids": [first], "all": true})] {
        let r = alice.post(&org.path("/notifications/read"), body.clone()).await;
        assert_eq!(r.status, 204, "{body}: {:?}", r.body);
    }
    // Bad requests are refused clearly.
    for body in [json!({"ids": ["not-an-id"]}), json!({"all": true, "extra": 1})] {
        let r = alice.post(&org.path("/notifications/read"), body.clone()).await;
        assert_eq!(
            (r.status.as_u16(), r.code()),
            (422, "invalid_input"),
            "{body}: {:?}",
            r.body
        );
    }
    for query in ["?limit=0", "?unread=maybe", "?cursor=nope"] {
        let r = alice.get(&org.path(&format!("/notifications{query}"))).await;
        assert_eq!(r.status, 422, "{query}: {:?}", r.body);
    }

    // Text to the customer never notifies, @ or not; an e-mail address is no mention.
    let r = org
        .admin
        .post(
            &org.path(&format!("/conversations/{conversation}/assign")),
            json!({"user_id": alice_id, "force": true}),
        )
        .await;
    assert_eq!(r.status, 200, "{:?}", r.body);
    assert_eq!(
        alice_events.next_of("notification.created", WAIT).await.unwrap()["data"]["kind"],
        "assignment"
    );
    let reply = post_message(&alice, &org, &conversation, "text", "@Bob Builder will call you").await;
    let note = post_message(&alice, &org, &conversation, "note", "wrote to bob@Bob Builder.test").await;
    let seen = events_until_message(&mut bob_events, note["id"].as_str().unwrap()).await;
    assert!(seen.iter().any(|e| e["data"]["id"] == reply["id"]));
    assert!(!kinds(&seen).contains(&"notification.created"), "{seen:?}");
}

#[tokio::test]
async fn assignments_by_someone_else_notify_the_new_owner() {
    let app = TestApp::spawn().await;
    let org = Org::create(&app).await;
    let (bob, bob_id) = org
        .member(&app, "bob@acme.test", "Bob Builder", "agent", &[&org.team])
        .await;
    let hook = org.customer_says(&app, "in-1", "cust-1", "hello").await;
    let conversation = hook["conversation_id"].as_str().unwrap().to_owned();
    let mut ana_events = EventStream::connect(&app, &org.agent, &org.ws, None).await.unwrap();
    let mut bob_events = EventStream::connect(&app, &bob, &org.ws, None).await.unwrap();

    // Ana comes online and routing gives her the waiting chat.
    org.set_online(&org.agent, &org.agent_id).await;
    let routed = ana_events
        .next_of("notification.created", WAIT)
        .await
        .expect("routing notifies");
    assert_eq!(routed["data"]["kind"], "assignment");
    assert_eq!(routed["data"]["conversation_id"], conversation.as_str());
    assert!(routed["data"]["actor_user_id"].is_null());

    // The admin transfers it to Bob with a comment.
    org.set_online(&bob, &bob_id).await;
    let r = org
        .admin
        .post(
            &org.path(&format!("/conversations/{conversation}/assign")),
            json!({"user_id": bob_id, "comment": "over to you"}),
        )
        .await;
    assert_eq!(r.status, 200, "{:?}", r.body);
    let given = bob_events.next_of("notification.created", WAIT).await.unwrap();
    assert_eq!(given["data"]["kind"], "assignment");
    assert_eq!(given["data"]["actor_name"], "Ada Admin");
    assert_eq!(given["data"]["excerpt"], "over to you");
    let activity = given["data"]["message_id"].as_str().unwrap();
    let messages = org
        .admin
        .get(&org.path(&format!("/conversations/{conversation}/messages")))
        .await;
    let line = messages["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["id"] == activity)
        .expect("the notification points at the transfer's activity line");
    assert_eq!(line["activity"]["type"], "transferred");

    // Bob hands it back to Ana: she is notified, and he is not.
    let r = bob
        .post(
            &org.path(&format!("/conversations/{conversation}/assign")),
            json!({"user_id": org.agent_id}),
        )
        .await;
    assert_eq!(r.status, 200, "{:?}", r.body);
    let back = ana_events.next_of("notification.created", WAIT).await.unwrap();
    assert_eq!(back["data"]["actor_name"], "Bob Builder");
    let page = notifications(&bob, &org, "").await;
    assert_eq!(ids(&page).len(), 1, "only the transfer to Bob: {page}");
    let page = notifications(&org.agent, &org, "").await;
    assert_eq!(ids(&page).len(), 2);
    assert_eq!(page["unread_count"], 2);
}

async fn resolve(org: &Org, client: &ApiClient, conversation: &str, body: Value) -> Value {
    let r = client
        .post(&org.path(&format!("/conversations/{conversation}/status")), body)
        .await;
    assert_eq!(r.status, 200, "{:?}", r.body);
    r.body
}

async fn conversation(org: &Org, id: &str) -> Value {
    let r = org.admin.get(&org.path(&format!("/conversations/{id}"))).await;
    assert_eq!(r.status, 200, "{:?}", r.body);
    r.body
}

#[tokio::test]
async fn a_rating_answer_is_kept_on_the_closed_chat_and_other_text_opens_a_new_one() {
    let app = TestApp::spawn().await;
    let org = Org::create(&app).await;
    let hook = org.customer_says(&app, "in-1", "cust-1", "where is my order?").await;
    let conv = hook["conversation_id"].as_str().unwrap().to_owned();
    org.set_online(&org.agent, &org.agent_id).await;
    assert_eq!(conversation(&org, &conv).await["assignee_id"], org.agent_id.as_str());

    // Only with resolved or abandoned.
    let r = org
        .agent
        .post(
            &org.path(&format!("/conversations/{conv}/status")),
            json!({"status": "queued", "feedback_request": true}),
        )
        .await;
    assert_eq!((r.status.as_u16(), r.code()), (422, "invalid_input"), "{:?}", r.body);

    let mut events = EventStream::connect(&app, &org.agent, &org.ws, None).await.unwrap();
    let closed = resolve(
        &org,
        &org.agent,
        &conv,
        json!({"status": "resolved", "comment": "shipped", "feedback_request": true}),
    )
    .await;
    assert_eq!(closed["status"], "resolved");
    assert!(closed["feedback_requested_at"].as_i64().is_some(), "{closed}");
    assert!(closed["rating"].is_null());

    // The customer's side gets the question with buttons.
    let question = eventually(WAIT, || async {
        org.callback
            .received()
            .into_iter()
            .map(|r| r.json())
            .find(|b| b["text"] == QUESTION)
    })
    .await;
    assert_eq!(question["buttons"], json!(["1", "2", "3", "4", "5"]));
    assert_eq!(question["conversation_id"], conv.as_str());
    assert_eq!(question["contact_id"], "cust-1");
    let stored = org
        .agent
        .get(&org.path(&format!("/conversations/{conv}/messages?order=desc")))
        .await;
    let asked = &stored["items"][0];
    assert_eq!(
        (
            asked["body"].as_str(),
            asked["direction"].as_str(),
            asked["sender_kind"].as_str()
        ),
        (Some(QUESTION), Some("out"), Some("system"))
    );
    assert_eq!(asked["buttons"], json!(["1", "2", "3", "4", "5"]));
    eventually(WAIT, || async {
        let page = org
            .agent
            .get(&org.path(&format!("/conversations/{conv}/messages?order=desc")))
            .await;
        (page["items"][0]["delivery_status"] == "sent").then_some(())
    })
    .await;

    // The customer answers 4: rated, still resolved, no new conversation.
    let answer = org.customer_says(&app, "in-2", "cust-1", " 4 ").await;
    assert_eq!(answer["conversation_id"], conv.as_str());
    let rated = conversation(&org, &conv).await;
    assert_eq!(rated["rating"], 4);
    assert_eq!(rated["status"], "resolved");
    assert_eq!(rated["closed_at"], closed["closed_at"]);
    let updated = loop {
        let e = events
            .next_of("conversation.updated", WAIT)
            .await
            .expect("conversation.updated");
        if e["data"]["rating"] == 4 {
            break e;
        }
    };
    assert_eq!(updated["data"]["status"], "resolved");
    let page = org
        .agent
        .get(&org.path(&format!("/conversations/{conv}/messages?order=desc")))
        .await;
    let last = &page["items"][0];
    assert_eq!(
        (
            last["body"].as_str(),
            last["direction"].as_str(),
            last["sender_kind"].as_str()
        ),
        (Some(" 4 "), Some("in"), Some("contact"))
    );
    let all = org.admin.get(&org.path("/conversations")).await;
    assert_eq!(all["items"].as_array().unwrap().len(), 1);

    // A second number is just a message: rated already, so the old rules
    // apply (the channel reopens nothing: a new conversation).
    let again = org.customer_says(&app, "in-3", "cust-1", "5").await;
    assert_ne!(again["conversation_id"], conv.as_str());
    assert_eq!(conversation(&org, &conv).await["rating"], 4);
    let newer = again["conversation_id"].as_str().unwrap().to_owned();
    assert!(conversation(&org, &newer).await["rating"].is_null());

    // Without a feedback request a number is not a rating.
    resolve(&org, &org.admin, &newer, json!({"status": "resolved"})).await;
    let third = org.customer_says(&app, "in-4", "cust-1", "3").await;
    assert_ne!(third["conversation_id"], newer.as_str());
    let newer = conversation(&org, &newer).await;
    assert!(newer["rating"].is_null() && newer["feedback_requested_at"].is_null());

    // Replaying the rating message is a duplicate, nothing changes.
    let replay = post_hook(
        &app,
        &org.channel,
        &org.secret,
        &json!({"message_id": "in-2", "contact": {"id": "cust-1"}, "text": "1"}),
    )
    .await;
    assert_eq!(replay["duplicate"], true);
    assert_eq!(conversation(&org, &conv).await["rating"], 4);
}

#[tokio::test]
async fn other_text_after_a_feedback_request_reopens_as_before() {
    let app = TestApp::spawn().await;
    let org = Org::create(&app).await;
    let r = org
        .admin
        .patch(
            &org.path(&format!("/channels/{}", org.channel)),
            json!({"reopen_minutes": 60}),
        )
        .await;
    assert_eq!(r.status, 200, "{:?}", r.body);
    let hook = org.customer_says(&app, "in-1", "cust-1", "hello").await;
    let conv = hook["conversation_id"].as_str().unwrap().to_owned();
    // The admin abandons the queued chat, asking for feedback.
    let closed = resolve(
        &org,
        &org.admin,
        &conv,
        json!({"status": "abandoned", "feedback_request": true}),
    )
    .await;
    assert_eq!(closed["status"], "abandoned");
    eventually(WAIT, || async {
        org.callback
            .received()
            .iter()
            .any(|r| r.json()["text"] == QUESTION)
            .then_some(())
    })
    .await;
    // Not a number: the chat reopens (within the reopen period), unrated.
    let back = org
        .customer_says(&app, "in-2", "cust-1", "actually, one more thing")
        .await;
    assert_eq!(back["conversation_id"], conv.as_str());
    let reopened = conversation(&org, &conv).await;
    assert_eq!(reopened["status"], "queued");
    assert!(reopened["rating"].is_null());
    // Open again: a number now is an ordinary message.
    org.customer_says(&app, "in-3", "cust-1", "2").await;
    assert!(conversation(&org, &conv).await["rating"].is_null());
    // Closed again without a request: the old request no longer counts.
    resolve(&org, &org.admin, &conv, json!({"status": "resolved"})).await;
    let after = org.customer_says(&app, "in-4", "cust-1", "5").await;
    assert_eq!(after["conversation_id"], conv.as_str(), "reopened as before");
    let c = conversation(&org, &conv).await;
    assert!(c["rating"].is_null());
    assert_ne!(c["status"], "resolved");
}

#[tokio::test]
async fn widget_visitors_get_rating_buttons_and_their_tap_rates_the_chat() {
    let app = TestApp::spawn().await;
    let org = Org::create(&app).await;
    let channel = org
        .admin
        .post(
            &org.path("/channels"),
            json!({"kind": "web", "name": "Site", "default_team_id": org.team}),
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
    let visitor = ApiClient::with_token(&app, session["token"].as_str().unwrap());
    let sent = visitor
        .post("/widget/v1/messages", json!({"text": "hi", "client_id": "v-1"}))
        .await;
    assert_eq!(sent.status, 201, "{:?}", sent.body);
    let conv = sent["conversation_id"].as_str().unwrap().to_owned();
    resolve(
        &org,
        &org.admin,
        &conv,
        json!({"status": "resolved", "feedback_request": true}),
    )
    .await;

    let messages = visitor
        .send(Method::GET, &format!("/widget/v1/conversations/{conv}/messages"), None)
        .await;
    assert_eq!(messages.status, 200, "{:?}", messages.body);
    let asked = messages["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["body"] == QUESTION)
        .expect("the visitor sees the question")
        .clone();
    assert_eq!(asked["direction"], "out");
    assert_eq!(asked["buttons"], json!(["1", "2", "3", "4", "5"]));

    // A tap sends the label.
    let tap = visitor
        .post("/widget/v1/messages", json!({"text": "5", "client_id": "v-2"}))
        .await;
    assert_eq!(tap.status, 201, "{:?}", tap.body);
    assert_eq!(tap["conversation_id"], conv.as_str());
    let c = conversation(&org, &conv).await;
    assert_eq!(
        (c["rating"].as_i64(), c["status"].as_str()),
        (Some(5), Some("resolved"))
    );
}

#[tokio::test]
async fn feedback_needs_a_channel_that_can_write_back() {
    let app = TestApp::spawn().await;
    let org = Org::create(&app).await;
    // An API channel without a callback URL.
    let channel = org
        .admin
        .post(
            &org.path("/channels"),
            json!({"kind": "api", "name": "Inbound only", "default_team_id": org.team}),
        )
        .await;
    assert_eq!(channel.status, 201, "{:?}", channel.body);
    let hook = post_hook(
        &app,
        channel["id"].as_str().unwrap(),
        channel["secret"].as_str().unwrap(),
        &json!({"message_id": "x-1", "contact": {"id": "c-1"}, "text": "hi"}),
    )
    .await;
    let conv = hook["conversation_id"].as_str().unwrap().to_owned();
    let r = org
        .admin
        .post(
            &org.path(&format!("/conversations/{conv}/status")),
            json!({"status": "resolved", "feedback_request": true}),
        )
        .await;
    assert_eq!((r.status.as_u16(), r.code()), (409, "conflict"), "{:?}", r.body);
    // Nothing changed half-way.
    let c = conversation(&org, &conv).await;
    assert_eq!(c["status"], "queued");
    assert!(c["feedback_requested_at"].is_null());
    // Without the request it closes.
    resolve(&org, &org.admin, &conv, json!({"status": "resolved"})).await;
}
