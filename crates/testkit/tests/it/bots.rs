//! Bots (issue 4, item 7): a channel's flow answers new chats, collects
//! fields into the contact and hands off to the right team; an external bot
//! gets signed events and answers through the API; an admin can enter a
//! bot chat. Time is a manual clock and the test runs the jobs, so every
//! step is deterministic.

use std::sync::Arc;

use serde_json::{Value, json};
use switchboard_service::ManualClock;
use switchboard_testkit::fixtures::{Org, invite};
use switchboard_testkit::webhook_receiver::WebhookReceiver;
use switchboard_testkit::{MONDAY_9AM, TestApp, TestOptions};

const FLOW: &str = r#"
greeting: Hi! I am the Acme bot.
fallback_team: Support
steps:
  menu:
    say: What can I do for you?
    options:
      - label: Billing
        keywords: [invoice, refund]
        next: ask_email
      - label: Something else
        handoff: true
  ask_email:
    say: What is your e-mail address?
    collect: email
    invalid: That does not look like an e-mail address.
    next: to_billing
  to_billing:
    say: Thanks, passing you to billing.
    handoff: Billing
"#;

fn options(clock: &Arc<ManualClock>) -> TestOptions {
    let mut options = TestOptions {
        manual_clock: Some(clock.clone()),
        ..TestOptions::default()
    };
    options.service.run_jobs = false;
    options
}

async fn start() -> TestApp {
    let clock = Arc::new(ManualClock::new(MONDAY_9AM));
    TestApp::spawn_with(options(&clock)).await
}

async fn run_jobs(app: &TestApp) {
    while app.services.run_due_jobs().await.expect("run jobs") > 0 {}
}

/// Team "Billing" with Bob online in it.
async fn billing_team(org: &Org) -> (String, String) {
    let team = org
        .admin
        .post(
            &org.path("/teams"),
            json!({"name": "Billing", "assignment_rule": "round_robin"}),
        )
        .await;
    assert_eq!(team.status, 201, "{:?}", team.body);
    let team = team["id"].as_str().unwrap().to_owned();
    let bob = invite(
        &org.admin,
        &org.ws,
        json!({"email": "bob@acme.test", "name": "Bob", "role": "agent", "team_ids": [team]}),
        "agent password 1",
    )
    .await;
    let r = org
        .admin
        .patch(&org.path(&format!("/users/{bob}")), json!({"availability": "online"}))
        .await;
    assert_eq!(r.status, 200, "{:?}", r.body);
    (team, bob)
}

async fn set_flow(org: &Org, source: &str) -> switchboard_testkit::client::Reply {
    org.admin
        .put(
            &org.path(&format!("/channels/{}/bot", org.channel)),
            json!({"kind": "flow", "source": source}),
        )
        .await
}

async fn conversation(org: &Org, id: &str) -> Value {
    let c = org.admin.get(&org.path(&format!("/conversations/{id}"))).await;
    assert_eq!(c.status, 200, "{:?}", c.body);
    c.body
}

async fn messages(org: &Org, id: &str) -> Vec<Value> {
    let page = org
        .admin
        .get(&org.path(&format!("/conversations/{id}/messages?limit=200")))
        .await;
    assert_eq!(page.status, 200, "{:?}", page.body);
    page["items"].as_array().unwrap().clone()
}

/// What the bot said in a conversation, in order.
async fn bot_said(org: &Org, id: &str) -> Vec<String> {
    messages(org, id)
        .await
        .iter()
        .filter(|m| m["sender_kind"] == "bot")
        .map(|m| m["body"].as_str().unwrap_or_default().to_owned())
        .collect()
}

async fn says(app: &TestApp, org: &Org, n: &str, customer: &str, text: &str) -> String {
    let r = org.customer_says(app, n, customer, text).await;
    r["conversation_id"].as_str().unwrap().to_owned()
}

#[tokio::test]
async fn a_flow_collects_an_email_and_hands_off_to_the_right_team() {
    let app = start().await;
    let org = Org::create(&app).await;
    let (billing, bob) = billing_team(&org).await;
    let saved = set_flow(&org, FLOW).await;
    assert_eq!(saved.status, 200, "{:?}", saved.body);
    assert_eq!(saved["bot"]["kind"], "flow");
    assert!(saved.body.get("secret").is_none());

    let id = says(&app, &org, "m1", "carla", "hello").await;
    assert_eq!(conversation(&org, &id).await["status"], "bot");
    run_jobs(&app).await;
    assert_eq!(
        bot_said(&org, &id).await,
        ["Hi! I am the Acme bot.", "What can I do for you?"]
    );
    // The API channel shows the menu as buttons.
    let menu = messages(&org, &id)
        .await
        .into_iter()
        .rfind(|m| m["sender_kind"] == "bot")
        .unwrap();
    assert_eq!(menu["buttons"], json!(["Billing", "Something else"]));
    let delivered: Vec<Value> = org.callback.received().iter().map(|r| r.json()).collect();
    assert_eq!(delivered.len(), 2, "both bot messages went out: {delivered:?}");
    // In the order the bot wrote them.
    assert_eq!(delivered[0]["text"], "Hi! I am the Acme bot.");
    assert_eq!(delivered[1]["buttons"], json!(["Billing", "Something else"]));

    // A keyword picks "Billing"; a wrong address is asked again.
    says(&app, &org, "m2", "carla", "it is about an invoice").await;
    says(&app, &org, "m3", "carla", "no idea").await;
    run_jobs(&app).await;
    assert_eq!(
        bot_said(&org, &id).await[2..],
        [
            "What is your e-mail address?",
            "That does not look like an e-mail address."
        ]
    );
    assert_eq!(conversation(&org, &id).await["status"], "bot");

    says(&app, &org, "m4", "carla", "Carla@Example.com").await;
    run_jobs(&app).await;
    let c = conversation(&org, &id).await;
    assert_eq!(c["status"], "assigned", "{c:?}");
    assert_eq!(c["team_id"], billing.as_str());
    assert_eq!(c["assignee_id"], bob.as_str());
    assert_eq!(
        bot_said(&org, &id).await.last().unwrap(),
        "Thanks, passing you to billing."
    );
    let contact = org
        .admin
        .get(&org.path(&format!("/contacts/{}", c["contact_id"].as_str().unwrap())))
        .await;
    assert_eq!(contact["email"], "carla@example.com");
    // The hand-off is in the history.
    let handoff = messages(&org, &id)
        .await
        .into_iter()
        .rev()
        .find_map(|m| m.get("activity").filter(|a| !a.is_null()).cloned())
        .unwrap();
    assert_eq!(handoff["to_team"], billing.as_str(), "{handoff:?}");

    // The bot has stopped: a later message gets no bot answer.
    let before = bot_said(&org, &id).await.len();
    says(&app, &org, "m5", "carla", "hello?").await;
    run_jobs(&app).await;
    assert_eq!(bot_said(&org, &id).await.len(), before);
}

#[tokio::test]
async fn asking_for_a_person_hands_off_at_once_to_the_fallback_team() {
    let app = start().await;
    let org = Org::create(&app).await;
    billing_team(&org).await;
    org.set_online(&org.agent, &org.agent_id).await;
    assert_eq!(set_flow(&org, FLOW).await.status, 200);
    let id = says(&app, &org, "m1", "dora", "I want to talk to a human").await;
    run_jobs(&app).await;
    let c = conversation(&org, &id).await;
    assert_eq!(
        (c["status"].as_str(), c["team_id"].as_str()),
        (Some("assigned"), Some(org.team.as_str()))
    );
    assert_eq!(c["assignee_id"], org.agent_id.as_str());
    assert_eq!(bot_said(&org, &id).await, ["One moment, I am passing you to a person."]);
}

#[tokio::test]
async fn bad_flows_are_refused_with_the_line_that_is_wrong() {
    let app = start().await;
    let org = Org::create(&app).await;
    let cases = [
        (
            "steps:\n  a:\n    say: hi\n    next: b\n",
            4,
            "missing target: there is no step `b`",
        ),
        (
            "steps:\n  a:\n    options:\n      - label: x\n        handoff: Nowhere\n",
            5,
            "no team `Nowhere`",
        ),
        (
            "steps:\n  a:\n    say: one\n    next: b\n  b:\n    next: a\n",
            2,
            "loop without exit",
        ),
        (
            "steps:\n  a:\n    say: hi\n    collect: shoe_size\n    next: b\n  b:\n    handoff: true\n",
            4,
            "unknown field `shoe_size`",
        ),
        (
            "steps:\n  a:\n    sya: hi\n    handoff: true\n",
            3,
            "unknown field `sya`",
        ),
        ("{\"steps\": {\"a\": {\"next\": \"zz\"}}}", 1, "no step `zz`"),
    ];
    for (source, line, needle) in cases {
        let r = set_flow(&org, source).await;
        assert_eq!(
            (r.status.as_u16(), r.code()),
            (422, "invalid_bot_flow"),
            "{source:?}: {:?}",
            r.body
        );
        let details = r["error"]["details"].as_array().unwrap();
        assert!(
            details
                .iter()
                .any(|d| d["line"] == line && d["message"].as_str().unwrap().contains(needle)),
            "{source:?}: {details:?}"
        );
        assert!(
            r["error"]["message"]
                .as_str()
                .unwrap()
                .contains(&format!("line {line}"))
        );
    }
    // Nothing was saved.
    let channel = org.admin.get(&org.path(&format!("/channels/{}", org.channel))).await;
    assert!(channel["bot"].is_null(), "{:?}", channel.body);

    // A team of another workspace is no target, by id or by name.
    let (other, other_ws) = app.other_workspace("olga@other.test").await;
    let theirs = other
        .post(
            &format!("/api/v1/workspaces/{other_ws}/teams"),
            json!({"name": "Theirs", "assignment_rule": "manual"}),
        )
        .await;
    let theirs = theirs["id"].as_str().unwrap();
    for target in [theirs, "Theirs"] {
        let r = set_flow(&org, &format!("steps:\n  a:\n    handoff: {target}\n")).await;
        assert_eq!(r.status, 422, "{:?}", r.body);
    }
    // A transfer to their team is not found either.
    let ours = says(&app, &org, "t1", "ivy", "hello").await;
    let r = org
        .admin
        .post(
            &org.path(&format!("/conversations/{ours}/assign")),
            json!({"team_id": theirs}),
        )
        .await;
    assert_eq!((r.status.as_u16(), r.code()), (404, "not_found"), "{:?}", r.body);
    // Their channel is out of reach; agents cannot set bots; bodies are checked.
    let r = other
        .put(
            &format!("/api/v1/workspaces/{other_ws}/channels/{}/bot", org.channel),
            json!({"kind": "flow", "source": FLOW}),
        )
        .await;
    assert_eq!(r.status, 404);
    let r = org
        .agent
        .put(
            &org.path(&format!("/channels/{}/bot", org.channel)),
            json!({"kind": "flow", "source": FLOW}),
        )
        .await;
    assert_eq!(r.status, 403);
    let r = org
        .admin
        .put(
            &org.path(&format!("/channels/{}/bot", org.channel)),
            json!({"kind": "robot"}),
        )
        .await;
    assert_eq!(r.status, 422, "{:?}", r.body);
    let r = set_flow(&org, &"x: y\n".repeat(20_000)).await;
    assert_eq!(r.status, 413, "a body over the API limit: {:?}", r.status);
}

#[tokio::test]
async fn an_admin_enters_a_bot_chat_and_the_bot_stops() {
    let app = start().await;
    let org = Org::create(&app).await;
    billing_team(&org).await;
    assert_eq!(set_flow(&org, FLOW).await.status, 200);
    let id = says(&app, &org, "m1", "erin", "hello").await;
    run_jobs(&app).await;
    let enter = org.path(&format!("/conversations/{id}/enter"));
    let r = org.agent.post(&enter, json!({})).await;
    assert!(
        matches!(r.status.as_u16(), 403 | 404),
        "agents cannot enter: {:?}",
        r.status
    );
    let r = org.admin.post(&enter, json!({})).await;
    assert_eq!(r.status, 200, "{:?}", r.body);
    assert_eq!(r["status"], "assigned");
    let said = bot_said(&org, &id).await.len();
    says(&app, &org, "m2", "erin", "Billing").await;
    run_jobs(&app).await;
    assert_eq!(bot_said(&org, &id).await.len(), said, "the bot stopped");
    // Not a bot chat any more.
    let again = org.admin.post(&enter, json!({})).await;
    assert_eq!((again.status.as_u16(), again.code()), (409, "illegal_transition"));
}

#[tokio::test]
async fn an_external_bot_gets_signed_events_and_answers_through_the_api() {
    let app = start().await;
    let org = Org::create(&app).await;
    org.set_online(&org.agent, &org.agent_id).await;
    let bot = WebhookReceiver::start().await;
    let saved = org
        .admin
        .put(
            &org.path(&format!("/channels/{}/bot", org.channel)),
            json!({"kind": "external", "url": bot.url()}),
        )
        .await;
    assert_eq!(saved.status, 200, "{:?}", saved.body);
    let secret = saved["secret"].as_str().unwrap().to_owned();
    let channel = org.admin.get(&org.path(&format!("/channels/{}", org.channel))).await;
    assert_eq!(channel["bot"], json!({"kind": "external", "url": bot.url()}));
    assert!(
        !channel.body.to_string().contains(&secret),
        "the secret is never returned again"
    );

    let id = says(&app, &org, "m1", "fred", "hello bot").await;
    run_jobs(&app).await;
    let got = bot.received();
    assert_eq!(got.len(), 1);
    let event = got[0].json();
    assert_eq!(event["type"], "message.created");
    assert_eq!(event["conversation"]["id"], id.as_str());
    assert_eq!(event["message"]["text"], "hello bot");
    // Signed the Standard Webhooks way with the secret shown once.
    let (msg_id, ts) = (
        got[0].header("webhook-id").unwrap(),
        got[0].header("webhook-timestamp").unwrap(),
    );
    let expected = switchboard_service::webhook_signature(&secret, msg_id, ts.parse().unwrap(), &got[0].body).unwrap();
    assert_eq!(got[0].header("webhook-signature"), Some(expected.as_str()));
    // The job does not send the same message twice.
    run_jobs(&app).await;
    assert_eq!(bot.received().len(), 1);

    let reply = org
        .admin
        .post(
            &org.path(&format!("/conversations/{id}/bot/messages")),
            json!({"text": "Orders or billing?", "buttons": ["Orders", "Billing"]}),
        )
        .await;
    assert_eq!(reply.status, 201, "{:?}", reply.body);
    assert_eq!(reply["sender_kind"], "bot");
    run_jobs(&app).await;
    let out = org.callback.received().last().unwrap().json();
    assert_eq!(
        (out["text"].as_str(), &out["buttons"]),
        (Some("Orders or billing?"), &json!(["Orders", "Billing"]))
    );

    // Hand-off: a team of another workspace is 404; without one, the
    // channel's default team.
    let (other, other_ws) = app.other_workspace("olga@other.test").await;
    let theirs = other
        .post(
            &format!("/api/v1/workspaces/{other_ws}/teams"),
            json!({"name": "Theirs", "assignment_rule": "manual"}),
        )
        .await;
    let handoff = org.path(&format!("/conversations/{id}/bot/handoff"));
    let r = org.admin.post(&handoff, json!({"team_id": theirs["id"]})).await;
    assert_eq!(r.status, 404, "{:?}", r.body);
    let r = org.agent.post(&handoff, json!({})).await;
    assert!(matches!(r.status.as_u16(), 403 | 404));
    let r = org.admin.post(&handoff, json!({})).await;
    assert_eq!(r.status, 200, "{:?}", r.body);
    assert_eq!(
        (r["status"].as_str(), r["assignee_id"].as_str()),
        (Some("assigned"), Some(org.agent_id.as_str()))
    );
    // The bot owns the chat no more.
    let late = org
        .admin
        .post(
            &org.path(&format!("/conversations/{id}/bot/messages")),
            json!({"text": "still here"}),
        )
        .await;
    assert_eq!(late.status, 409, "{:?}", late.body);
    says(&app, &org, "m2", "fred", "thanks").await;
    run_jobs(&app).await;
    assert_eq!(bot.received().len(), 1, "events stop after the hand-off");
}

#[tokio::test]
async fn a_removed_bot_leaves_its_chats_to_people_and_channel_edits_keep_the_bot() {
    let app = start().await;
    let org = Org::create(&app).await;
    billing_team(&org).await;
    assert_eq!(set_flow(&org, FLOW).await.status, 200);
    let channel = org.path(&format!("/channels/{}", org.channel));
    // Changing the channel's name leaves its bot in place.
    let r = org.admin.patch(&channel, json!({"name": "Shop API"})).await;
    assert_eq!(r.status, 200, "{:?}", r.body);
    assert_eq!(r["bot"]["kind"], "flow", "{:?}", r.body);

    let id = says(&app, &org, "m1", "jan", "hello").await;
    run_jobs(&app).await;
    let r = org.admin.delete(&format!("{channel}/bot")).await;
    assert_eq!(r.status, 204, "{:?}", r.body);
    assert!(org.admin.get(&channel).await["bot"].is_null());
    let said = bot_said(&org, &id).await.len();
    says(&app, &org, "m2", "jan", "Billing").await;
    run_jobs(&app).await;
    let c = conversation(&org, &id).await;
    assert_eq!(
        (c["status"].as_str(), c["team_id"].as_str()),
        (Some("queued"), Some(org.team.as_str()))
    );
    assert_eq!(bot_said(&org, &id).await.len(), said, "no bot answer after removal");
    // New chats are no bot chats any more.
    let next = says(&app, &org, "m3", "kim", "hello").await;
    assert_eq!(conversation(&org, &next).await["status"], "queued");
}

#[tokio::test]
async fn an_external_bot_that_stays_down_leaves_the_chat_to_people() {
    let clock = Arc::new(ManualClock::new(MONDAY_9AM));
    let mut options = options(&clock);
    options.service.delivery_max_attempts = 2;
    let app = TestApp::spawn_with(options).await;
    let org = Org::create(&app).await;
    let bot = WebhookReceiver::start().await;
    bot.always(axum::http::StatusCode::SERVICE_UNAVAILABLE);
    let r = org
        .admin
        .put(
            &org.path(&format!("/channels/{}/bot", org.channel)),
            json!({"kind": "external", "url": bot.url()}),
        )
        .await;
    assert_eq!(r.status, 200, "{:?}", r.body);
    let id = says(&app, &org, "m1", "lea", "hi").await;
    run_jobs(&app).await;
    assert_eq!(conversation(&org, &id).await["status"], "bot", "a 503 is retried");
    clock.advance(60_000);
    run_jobs(&app).await;
    assert_eq!(bot.received().len(), 2);
    let c = conversation(&org, &id).await;
    assert_eq!(
        (c["status"].as_str(), c["team_id"].as_str()),
        (Some("queued"), Some(org.team.as_str()))
    );

    // Its replies are checked like any message.
    let other = says(&app, &org, "m2", "max", "hi").await;
    let reply = org.path(&format!("/conversations/{other}/bot/messages"));
    let r = org.admin.post(&reply, json!({"text": "  "})).await;
    assert_eq!((r.status.as_u16(), r.code()), (422, "invalid_input"), "{:?}", r.body);
    let eleven: Vec<String> = (1..=11).map(|n| format!("Choice {n}")).collect();
    let r = org.admin.post(&reply, json!({"text": "Pick", "buttons": eleven})).await;
    assert_eq!((r.status.as_u16(), r.code()), (422, "invalid_input"), "{:?}", r.body);
}

#[tokio::test]
async fn an_external_bot_that_refuses_leaves_the_chat_to_people() {
    let app = start().await;
    let org = Org::create(&app).await;
    let bot = WebhookReceiver::start().await;
    bot.always(axum::http::StatusCode::BAD_REQUEST);
    let r = org
        .admin
        .put(
            &org.path(&format!("/channels/{}/bot", org.channel)),
            json!({"kind": "external", "url": bot.url()}),
        )
        .await;
    assert_eq!(r.status, 200, "{:?}", r.body);
    let id = says(&app, &org, "m1", "gina", "hi").await;
    run_jobs(&app).await;
    assert_eq!(bot.received().len(), 1);
    let c = conversation(&org, &id).await;
    assert_eq!(
        (c["status"].as_str(), c["team_id"].as_str()),
        (Some("queued"), Some(org.team.as_str()))
    );
}

#[tokio::test]
async fn a_bot_turn_due_while_the_server_was_down_runs_once_after_restart() {
    let clock = Arc::new(ManualClock::new(MONDAY_9AM));
    let app = TestApp::spawn_with(options(&clock)).await;
    let org = Org::create(&app).await;
    billing_team(&org).await;
    assert_eq!(set_flow(&org, FLOW).await.status, 200);
    let id = says(&app, &org, "m1", "hana", "hello").await;
    // Stopped before the bot answered.
    let db = app.stop().await;
    let app = TestApp::spawn_on(db, options(&clock)).await;
    run_jobs(&app).await;
    run_jobs(&app).await;
    let admin = switchboard_testkit::client::ApiClient::login(&app, "ada@acme.test", "admin password 1").await;
    let page = admin
        .get(&format!(
            "/api/v1/workspaces/{}/conversations/{id}/messages?limit=200",
            org.ws
        ))
        .await;
    let bot: Vec<&Value> = page["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|m| m["sender_kind"] == "bot")
        .collect();
    assert_eq!(bot.len(), 2, "greeting and menu, once: {bot:?}");
}
