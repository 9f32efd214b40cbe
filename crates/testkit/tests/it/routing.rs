//! Routing (issue 4): assignment rules, capacity, availability, business
//! hours and tickets, expiry, snooze and scheduled messages. Time is a
//! manual clock and timers are run by the test (`run_due_jobs`), so nothing
//! sleeps and every step is deterministic.

use std::sync::Arc;

use serde_json::{Value, json};
use switchboard_service::ManualClock;
use switchboard_testkit::client::{ApiClient, post_hook};
use switchboard_testkit::fixtures::{Org, invite};
use switchboard_testkit::{TestApp, TestOptions};

const HOUR: i64 = 3_600_000;
/// Tuesday 2026-11-24 10:00 UTC (11:00 in Berlin).
const TUESDAY_MORNING: i64 = 1_795_514_400_000;
/// Tuesday 2026-11-24 22:00 in Berlin.
const TUESDAY_22_BERLIN: i64 = 1_795_554_000_000;
/// Wednesday 2026-11-25 09:00 in Berlin.
const WEDNESDAY_09_BERLIN: i64 = 1_795_593_600_000;

fn options(clock: &Arc<ManualClock>) -> TestOptions {
    let mut options = TestOptions {
        manual_clock: Some(clock.clone()),
        ..TestOptions::default()
    };
    // The test runs the timers itself.
    options.service.run_jobs = false;
    options
}

async fn start(at: i64) -> (TestApp, Arc<ManualClock>) {
    let clock = Arc::new(ManualClock::new(switchboard_core::Millis(at)));
    let app = TestApp::spawn_with(options(&clock)).await;
    (app, clock)
}

/// Run every due timer until none is left.
async fn run_timers(app: &TestApp) {
    while app.services.run_due_jobs().await.expect("run jobs") > 0 {}
}

/// A member of `team` (created by the admin), with the given capacity and availability.
async fn agent(org: &Org, team: &str, name: &str, capacity: i64, availability: &str) -> String {
    let email = format!("{}@acme.test", name.to_lowercase());
    let id = invite(
        &org.admin,
        &org.ws,
        json!({"email": email, "name": name, "role": "agent", "team_ids": [team]}),
        "agent password 1",
    )
    .await;
    set_member(org, &id, json!({"capacity": capacity, "availability": availability})).await;
    id
}

async fn set_member(org: &Org, id: &str, body: Value) {
    let r = org.admin.patch(&org.path(&format!("/users/{id}")), body).await;
    assert_eq!(r.status, 200, "{:?}", r.body);
}

async fn team(org: &Org, name: &str, rule: &str) -> String {
    let t = org
        .admin
        .post(&org.path("/teams"), json!({"name": name, "assignment_rule": rule}))
        .await;
    assert_eq!(t.status, 201, "{:?}", t.body);
    let id = t["id"].as_str().unwrap().to_owned();
    let r = org
        .admin
        .patch(
            &org.path(&format!("/channels/{}", org.channel)),
            json!({"default_team_id": id}),
        )
        .await;
    assert_eq!(r.status, 200, "{:?}", r.body);
    id
}

async fn customer(app: &TestApp, org: &Org, n: usize) -> String {
    let r = post_hook(
        app,
        &org.channel,
        &org.secret,
        &json!({"message_id": format!("m-{n}"), "contact": {"id": format!("customer-{n}")}, "text": "hello"}),
    )
    .await;
    assert_eq!(r.status, 200, "{:?}", r.body);
    r["conversation_id"].as_str().unwrap().to_owned()
}

async fn conversation(org: &Org, id: &str) -> Value {
    let c = org.admin.get(&org.path(&format!("/conversations/{id}"))).await;
    assert_eq!(c.status, 200, "{:?}", c.body);
    c.body
}

async fn open_chats_of(org: &Org, user: &str) -> usize {
    let list = org
        .admin
        .get(&org.path(&format!("/conversations?assignee={user}&status=assigned&limit=200")))
        .await;
    assert_eq!(list.status, 200, "{:?}", list.body);
    list["items"].as_array().unwrap().len()
}

async fn activities(org: &Org, conversation: &str) -> Vec<Value> {
    let page = org
        .admin
        .get(&org.path(&format!("/conversations/{conversation}/messages?limit=200")))
        .await;
    assert_eq!(page.status, 200, "{:?}", page.body);
    page["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|m| m.get("activity").filter(|a| !a.is_null()).cloned())
        .collect()
}

#[tokio::test]
async fn round_robin_spreads_nine_chats_three_each() {
    let (app, _clock) = start(TUESDAY_MORNING).await;
    let org = Org::create(&app).await;
    let rr = team(&org, "Round", "round_robin").await;
    let agents = [
        agent(&org, &rr, "Rita", 10, "online").await,
        agent(&org, &rr, "Rolf", 10, "online").await,
        agent(&org, &rr, "Rosa", 10, "online").await,
    ];
    for n in 0..9 {
        customer(&app, &org, n).await;
    }
    for a in &agents {
        assert_eq!(open_chats_of(&org, a).await, 3);
    }
}

#[tokio::test]
async fn least_busy_respects_capacity_and_freed_capacity_drains_the_queue() {
    let (app, _clock) = start(TUESDAY_MORNING).await;
    let org = Org::create(&app).await;
    let lb = team(&org, "Least", "least_busy").await;
    let big = agent(&org, &lb, "Bea", 2, "online").await;
    let small = agent(&org, &lb, "Sam", 1, "online").await;
    let mut chats = Vec::new();
    for n in 0..4 {
        chats.push(customer(&app, &org, n).await);
    }
    assert_eq!(open_chats_of(&org, &big).await, 2);
    assert_eq!(open_chats_of(&org, &small).await, 1);
    let waiting = conversation(&org, &chats[3]).await;
    assert_eq!(waiting["status"], "queued");
    assert_eq!(waiting["ticket"], true, "nobody could take it: a ticket");

    // Sam resolves his chat: the waiting one is his at once.
    let sams = org
        .admin
        .get(&org.path(&format!("/conversations?assignee={small}&status=assigned")))
        .await;
    let sams = sams["items"][0]["id"].as_str().unwrap().to_owned();
    let sam = ApiClient::login(&app, "sam@acme.test", "agent password 1").await;
    let r = sam
        .post(
            &org.path(&format!("/conversations/{sams}/status")),
            json!({"status": "resolved"}),
        )
        .await;
    assert_eq!(r.status, 200, "{:?}", r.body);
    let now_assigned = conversation(&org, &chats[3]).await;
    assert_eq!(now_assigned["status"], "assigned");
    assert_eq!(now_assigned["assignee_id"], small.as_str());

    // Both full again; more capacity for Bea takes the next waiting chat.
    let next = customer(&app, &org, 4).await;
    assert_eq!(conversation(&org, &next).await["status"], "queued");
    set_member(&org, &big, json!({"capacity": 3})).await;
    assert_eq!(conversation(&org, &next).await["assignee_id"], big.as_str());
}

#[tokio::test]
async fn offline_agents_get_nothing_until_they_come_online() {
    let (app, _clock) = start(TUESDAY_MORNING).await;
    let org = Org::create(&app).await;
    let t = team(&org, "Night", "round_robin").await;
    let away = agent(&org, &t, "Otto", 10, "offline").await;
    let busy = agent(&org, &t, "Bruno", 10, "busy").await;
    let chat = customer(&app, &org, 1).await;
    let c = conversation(&org, &chat).await;
    assert_eq!(c["status"], "queued");
    assert!(c["assignee_id"].is_null());
    assert_eq!(open_chats_of(&org, &busy).await, 0, "busy is not online either");

    set_member(&org, &away, json!({"availability": "online"})).await;
    let c = conversation(&org, &chat).await;
    assert_eq!(c["status"], "assigned", "coming online takes the waiting chat");
    assert_eq!(c["assignee_id"], away.as_str());
}

#[tokio::test]
async fn transfers_refuse_teams_and_agents_nobody_can_serve_unless_forced() {
    let (app, _clock) = start(TUESDAY_MORNING).await;
    let org = Org::create(&app).await;
    let t = team(&org, "First", "round_robin").await;
    let first = agent(&org, &t, "Fiona", 10, "online").await;
    let empty = org
        .admin
        .post(
            &org.path("/teams"),
            json!({"name": "Empty", "assignment_rule": "round_robin"}),
        )
        .await;
    let empty = empty["id"].as_str().unwrap().to_owned();
    let offline = agent(&org, &empty, "Olaf", 10, "offline").await;
    let chat = customer(&app, &org, 1).await;
    assert_eq!(conversation(&org, &chat).await["assignee_id"], first.as_str());

    // The targets list only who can take a chat, and why a team cannot.
    let targets = org.agent.get(&org.path("/transfer-targets")).await;
    assert_eq!(targets.status, 200, "{:?}", targets.body);
    let by_name = |name: &str| {
        let all = targets.body.as_array().unwrap();
        all.iter().find(|t| t["name"] == name).cloned().unwrap()
    };
    let first_team = by_name("First");
    assert_eq!(first_team["available"], true);
    let offered: Vec<&str> = first_team["agents"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["name"].as_str().unwrap())
        .collect();
    assert_eq!(offered, ["Fiona"]);
    assert_eq!(first_team["agents"][0]["open_chats"], 1);
    let empty_team = by_name("Empty");
    assert_eq!(empty_team["available"], false);
    assert!(
        empty_team["agents"].as_array().unwrap().is_empty(),
        "offline Olaf is not offered"
    );
    assert_eq!(
        empty_team["reason"],
        "nobody in team Empty is online with free capacity"
    );

    let path = org.path(&format!("/conversations/{chat}/assign"));
    let r = org
        .admin
        .post(&path, json!({"team_id": empty, "comment": "billing"}))
        .await;
    assert_eq!(r.status, 409, "{:?}", r.body);
    assert!(r.body.to_string().contains("nobody in team Empty"), "{:?}", r.body);

    let r = org.admin.post(&path, json!({"user_id": offline})).await;
    assert_eq!(r.status, 409, "{:?}", r.body);
    assert!(r.body.to_string().contains("offline"), "{:?}", r.body);

    let r = org
        .admin
        .post(
            &path,
            json!({"user_id": offline, "force": true, "comment": "he will see it"}),
        )
        .await;
    assert_eq!(r.status, 200, "{:?}", r.body);
    assert_eq!(r["assignee_id"], offline.as_str());
    let last = activities(&org, &chat).await.pop().unwrap();
    assert_eq!(last["type"], "transferred");
    assert_eq!(last["comment"], "he will see it");
    assert_eq!(last["from_user"], first.as_str());
}

#[tokio::test]
async fn a_chat_out_of_hours_becomes_a_ticket_with_an_auto_reply_and_is_assigned_when_the_team_opens() {
    let (app, clock) = start(TUESDAY_22_BERLIN).await;
    let org = Org::create(&app).await;
    let hours = json!({
        "time_zone": "Europe/Berlin",
        "weekly": {"mon": [{"from": "09:00", "to": "17:00"}], "tue": [{"from": "09:00", "to": "17:00"}],
                   "wed": [{"from": "09:00", "to": "17:00"}], "thu": [{"from": "09:00", "to": "17:00"}],
                   "fri": [{"from": "09:00", "to": "17:00"}]}
    });
    let r = org
        .admin
        .patch(
            &org.path(&format!("/teams/{}", org.team)),
            json!({"routing": {"business_hours": hours, "ticket_auto_reply": "We are closed; we answer from 09:00."}}),
        )
        .await;
    assert_eq!(r.status, 200, "{:?}", r.body);
    set_member(&org, &org.agent_id, json!({"availability": "online"})).await;

    let chat = customer(&app, &org, 1).await;
    let c = conversation(&org, &chat).await;
    assert_eq!(
        (c["status"].as_str(), c["ticket"].as_bool()),
        (Some("queued"), Some(true))
    );
    run_timers(&app).await;
    let sent = org.callback.received();
    assert_eq!(sent.len(), 1, "one auto-reply");
    assert_eq!(sent[0].json()["text"], "We are closed; we answer from 09:00.");

    // Nobody can be given it by transfer while the team is closed either.
    let r = org
        .admin
        .post(
            &org.path(&format!("/conversations/{chat}/assign")),
            json!({"team_id": org.team}),
        )
        .await;
    assert_eq!(r.status, 409, "{:?}", r.body);
    assert!(
        r.body
            .to_string()
            .contains("team Support is outside its business hours"),
        "{:?}",
        r.body
    );
    let targets = org.admin.get(&org.path("/transfer-targets")).await;
    assert_eq!(targets.body[0]["open_now"], false);
    assert_eq!(targets.body[0]["available"], false);

    // 08:59: still closed.
    clock.set(switchboard_core::Millis(WEDNESDAY_09_BERLIN - 60_000));
    run_timers(&app).await;
    assert_eq!(conversation(&org, &chat).await["status"], "queued");
    // 09:00: the sweep assigns it.
    clock.set(switchboard_core::Millis(WEDNESDAY_09_BERLIN));
    run_timers(&app).await;
    let c = conversation(&org, &chat).await;
    assert_eq!(c["status"], "assigned");
    assert_eq!(c["assignee_id"], org.agent_id.as_str());
    assert_eq!(c["ticket"], true, "it stays a ticket (Tickets → Assigned)");
}

#[tokio::test]
async fn an_idle_chat_expires_after_the_workspace_period() {
    let (app, clock) = start(TUESDAY_MORNING).await;
    let org = Org::create(&app).await;
    set_member(&org, &org.agent_id, json!({"availability": "online"})).await;
    let chat = customer(&app, &org, 1).await;
    assert_eq!(conversation(&org, &chat).await["status"], "assigned");
    run_timers(&app).await;

    clock.advance(24 * HOUR - 60_000);
    run_timers(&app).await;
    assert_eq!(conversation(&org, &chat).await["status"], "assigned", "not yet");
    clock.advance(60_000);
    run_timers(&app).await;
    let c = conversation(&org, &chat).await;
    assert_eq!(c["status"], "expired");
    let last = activities(&org, &chat).await.pop().unwrap();
    assert_eq!(
        (last["type"].as_str(), last["to"].as_str()),
        (Some("status_changed"), Some("expired"))
    );
    assert!(last["by"].is_null(), "the system expired it");

    // A shorter period applies from the next sweep.
    let r = org
        .admin
        .patch(&org.path("/settings"), json!({"routing": {"expiry_minutes": 60}}))
        .await;
    assert_eq!(r.status, 200, "{:?}", r.body);
    assert_eq!(r["routing"]["expiry_minutes"], 60);
    let next = customer(&app, &org, 2).await;
    clock.advance(HOUR + 60_000);
    run_timers(&app).await;
    assert_eq!(conversation(&org, &next).await["status"], "expired");
}

#[tokio::test]
async fn a_snoozed_chat_wakes_on_time_or_when_the_customer_writes() {
    let (app, clock) = start(TUESDAY_MORNING).await;
    let org = Org::create(&app).await;
    set_member(&org, &org.agent_id, json!({"availability": "online"})).await;
    let chat = customer(&app, &org, 1).await;
    let path = org.path(&format!("/conversations/{chat}/snooze"));

    let r = org.agent.post(&path, json!({"until": TUESDAY_MORNING - 1})).await;
    assert_eq!(r.status, 422, "{:?}", r.body);
    let until = TUESDAY_MORNING + 2 * HOUR;
    let r = org.agent.post(&path, json!({"until": until})).await;
    assert_eq!(r.status, 200, "{:?}", r.body);
    assert_eq!(r["snoozed_until"], until);

    clock.advance(2 * HOUR - 1);
    run_timers(&app).await;
    assert_eq!(conversation(&org, &chat).await["snoozed_until"], until, "not yet");
    clock.advance(1);
    run_timers(&app).await;
    assert!(conversation(&org, &chat).await["snoozed_until"].is_null());
    let last = activities(&org, &chat).await.pop().unwrap();
    assert_eq!(
        (last["type"].as_str(), last["customer_wrote"].as_bool()),
        (Some("woke"), Some(false))
    );

    // Snoozed again; the customer writes first; the old timer then does nothing.
    let r = org.agent.post(&path, json!({"until": until + HOUR})).await;
    assert_eq!(r.status, 200, "{:?}", r.body);
    let r = post_hook(
        &app,
        &org.channel,
        &org.secret,
        &json!({"message_id": "again", "contact": {"id": "customer-1"}, "text": "any news?"}),
    )
    .await;
    assert_eq!(r.status, 200, "{:?}", r.body);
    let c = conversation(&org, &chat).await;
    assert!(c["snoozed_until"].is_null());
    let woke: Vec<Value> = activities(&org, &chat)
        .await
        .into_iter()
        .filter(|a| a["type"] == "woke")
        .collect();
    assert_eq!(woke.len(), 2);
    assert_eq!(woke[1]["customer_wrote"], true);
    clock.advance(2 * HOUR);
    run_timers(&app).await;
    let woke_after = activities(&org, &chat)
        .await
        .iter()
        .filter(|a| a["type"] == "woke")
        .count();
    assert_eq!(woke_after, 2, "a stale timer wakes nothing");
}

#[tokio::test]
async fn a_scheduled_message_is_sent_once_after_a_restart_that_spanned_its_time() {
    let (app, clock) = start(TUESDAY_MORNING).await;
    let org = Org::create(&app).await;
    set_member(&org, &org.agent_id, json!({"availability": "online"})).await;
    let chat = customer(&app, &org, 1).await;
    let messages = org.path(&format!("/conversations/{chat}/messages"));

    let r = org
        .agent
        .post(
            &messages,
            json!({"kind": "note", "body": "later", "send_at": TUESDAY_MORNING + HOUR}),
        )
        .await;
    assert_eq!(r.status, 422, "notes are never scheduled: {:?}", r.body);
    let r = org
        .agent
        .post(
            &messages,
            json!({"kind": "text", "body": "too late", "send_at": TUESDAY_MORNING}),
        )
        .await;
    assert_eq!(r.status, 422, "{:?}", r.body);

    let scheduled = org
        .agent
        .post(
            &messages,
            json!({"kind": "text", "body": "Checking in as promised", "send_at": TUESDAY_MORNING + HOUR}),
        )
        .await;
    assert_eq!(scheduled.status, 201, "{:?}", scheduled.body);
    assert_eq!(scheduled["delivery_status"], "scheduled");
    let cancelled = org
        .agent
        .post(
            &messages,
            json!({"kind": "text", "body": "never mind", "send_at": TUESDAY_MORNING + HOUR}),
        )
        .await;
    let cancel = org.path(&format!(
        "/conversations/{chat}/messages/{}/cancel",
        cancelled["id"].as_str().unwrap()
    ));
    let r = org.agent.post(&cancel, json!({})).await;
    assert_eq!(r.status, 200, "{:?}", r.body);
    assert_eq!(r["delivery_status"], "cancelled");
    let r = org.agent.post(&cancel, json!({})).await;
    assert_eq!(r.status, 409, "only once: {:?}", r.body);

    run_timers(&app).await;
    assert!(org.callback.received().is_empty(), "nothing before its time");

    // Down over the scheduled time; up again two hours later.
    let callback = org.callback;
    let db = app.stop().await;
    clock.set(switchboard_core::Millis(TUESDAY_MORNING + 3 * HOUR));
    let app = TestApp::spawn_on(db, options(&clock)).await;
    run_timers(&app).await;
    run_timers(&app).await;
    let sent = callback.received();
    assert_eq!(sent.len(), 1, "sent once, the cancelled one never");
    assert_eq!(sent[0].json()["text"], "Checking in as promised");
    let admin = ApiClient::login(&app, "ada@acme.test", "admin password 1").await;
    let page = admin
        .get(&format!(
            "/api/v1/workspaces/{}/conversations/{chat}/messages?limit=200",
            org.ws
        ))
        .await;
    let sent_status: Vec<&str> = page["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|m| m["send_at"].is_number())
        .map(|m| m["delivery_status"].as_str().unwrap())
        .collect();
    assert_eq!(sent_status, ["sent", "cancelled"]);
}

#[tokio::test]
async fn bad_routing_settings_are_refused_with_a_pointed_message() {
    let (app, _clock) = start(TUESDAY_MORNING).await;
    let org = Org::create(&app).await;
    let team_path = org.path(&format!("/teams/{}", org.team));
    let overlap = json!({"routing": {"business_hours": {"time_zone": "Europe/Berlin",
        "weekly": {"mon": [{"from": "09:00", "to": "14:00"}, {"from": "13:00", "to": "17:00"}]}}}});
    let r = org.admin.patch(&team_path, overlap).await;
    assert_eq!(r.status, 422, "{:?}", r.body);
    assert!(r.body.to_string().contains("weekly.mon[1]"), "{:?}", r.body);
    let r = org
        .admin
        .patch(&team_path, json!({"routing": {"queue_order": "random"}}))
        .await;
    assert_eq!(r.status, 422, "{:?}", r.body);
    let r = org
        .admin
        .patch(&org.path("/settings"), json!({"routing": {"expiry_minutes": 0}}))
        .await;
    assert_eq!(r.status, 422, "{:?}", r.body);
    assert!(r.body.to_string().contains("expiry_minutes"), "{:?}", r.body);
    // Agents cannot change routing.
    let r = org.agent.patch(&team_path, json!({"routing": {}})).await;
    assert_eq!(r.status, 403, "{:?}", r.body);
}

#[tokio::test]
async fn two_hundred_chats_at_once_on_two_nodes_never_overfill_an_agent() {
    let (app, clock) = start(TUESDAY_MORNING).await;
    let other_node = app.another_node(options(&clock)).await;
    let org = Org::create(&app).await;
    let rush = team(&org, "Rush", "round_robin").await;
    let mut agents = Vec::new();
    for name in ["Abe", "Ben", "Cem", "Dan", "Eve"] {
        agents.push(agent(&org, &rush, name, 10, "online").await);
    }
    let hooks = (0..200).map(|n| {
        let node = if n % 2 == 0 { &app } else { &other_node };
        let body = json!({"message_id": format!("rush-{n}"), "contact": {"id": format!("rush-{n}")}, "text": "help"});
        let (channel, secret) = (org.channel.clone(), org.secret.clone());
        async move {
            let r = post_hook(node, &channel, &secret, &body).await;
            assert_eq!(r.status, 200, "{:?}", r.body);
            r["conversation_id"].as_str().unwrap().to_owned()
        }
    });
    let mut chats = futures::future::join_all(hooks).await;
    chats.sort();
    chats.dedup();
    assert_eq!(chats.len(), 200, "one conversation per customer");

    for a in &agents {
        assert_eq!(open_chats_of(&org, a).await, 10, "exactly full, never over");
    }
    let queued = org
        .admin
        .get(&org.path(&format!("/conversations?team={rush}&status=queued&limit=200")))
        .await;
    assert_eq!(queued["items"].as_array().unwrap().len(), 150);
    for chat in &chats {
        let assignments = activities(&org, chat)
            .await
            .iter()
            .filter(|a| a["type"] == "assigned" || (a["type"] == "opened" && a["status"] == "assigned"))
            .count();
        assert!(assignments <= 1, "{chat} was assigned {assignments} times");
    }
}

#[tokio::test]
async fn an_offline_agents_chats_return_to_the_queue_after_the_teams_grace_period() {
    let (app, clock) = start(TUESDAY_MORNING).await;
    let org = Org::create(&app).await;
    let t = team(&org, "Requeue", "round_robin").await;
    let r = org
        .admin
        .patch(
            &org.path(&format!("/teams/{t}")),
            json!({"routing": {"requeue_offline_after_minutes": 30}}),
        )
        .await;
    assert_eq!(r.status, 200, "{:?}", r.body);
    assert_eq!(r["routing"]["requeue_offline_after_minutes"], 30);
    let leaving = agent(&org, &t, "Lea", 10, "online").await;
    let chat = customer(&app, &org, 1).await;
    assert_eq!(conversation(&org, &chat).await["assignee_id"], leaving.as_str());
    let staying = agent(&org, &t, "Stan", 10, "online").await;
    set_member(&org, &leaving, json!({"availability": "offline"})).await;
    run_timers(&app).await;

    clock.advance(30 * 60_000 - 1);
    run_timers(&app).await;
    assert_eq!(
        conversation(&org, &chat).await["assignee_id"],
        leaving.as_str(),
        "still within the grace period"
    );
    clock.advance(60_000);
    run_timers(&app).await;
    let c = conversation(&org, &chat).await;
    assert_eq!(c["status"], "assigned");
    assert_eq!(
        c["assignee_id"],
        staying.as_str(),
        "back in the queue, then routed to who is online"
    );
    let kinds: Vec<String> = activities(&org, &chat)
        .await
        .iter()
        .map(|a| a["type"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(kinds, ["opened", "unassigned", "assigned"]);

    // A team without the setting keeps an offline agent's chats.
    set_member(&org, &org.agent_id, json!({"availability": "online"})).await;
    let r = org
        .admin
        .patch(
            &org.path(&format!("/channels/{}", org.channel)),
            json!({"default_team_id": org.team}),
        )
        .await;
    assert_eq!(r.status, 200, "{:?}", r.body);
    let kept = customer(&app, &org, 2).await;
    assert_eq!(conversation(&org, &kept).await["assignee_id"], org.agent_id.as_str());
    set_member(&org, &org.agent_id, json!({"availability": "offline"})).await;
    clock.advance(48 * 60 * 60_000 / 4);
    run_timers(&app).await;
    assert_eq!(conversation(&org, &kept).await["assignee_id"], org.agent_id.as_str());
}

#[tokio::test]
async fn team_changes_route_the_waiting_chats() {
    let (app, _clock) = start(TUESDAY_MORNING).await;
    let org = Org::create(&app).await;
    let t = team(&org, "Manual", "manual").await;
    let mia = agent(&org, &t, "Mia", 10, "online").await;
    let chat = customer(&app, &org, 1).await;
    let c = conversation(&org, &chat).await;
    assert_eq!(
        (c["status"].as_str(), c["ticket"].as_bool()),
        (Some("queued"), Some(false)),
        "manual: waits to be picked"
    );

    // Switching the team to round robin routes its queue.
    let r = org
        .admin
        .patch(
            &org.path(&format!("/teams/{t}")),
            json!({"assignment_rule": "round_robin"}),
        )
        .await;
    assert_eq!(r.status, 200, "{:?}", r.body);
    assert_eq!(conversation(&org, &chat).await["assignee_id"], mia.as_str());

    // A team with nobody: its chat waits until an online member joins.
    let empty = team(&org, "Joiners", "round_robin").await;
    let waiting = customer(&app, &org, 2).await;
    assert_eq!(conversation(&org, &waiting).await["status"], "queued");
    let r = org
        .admin
        .put(&org.path(&format!("/teams/{empty}/members/{mia}")), json!({}))
        .await;
    assert!(r.status.is_success(), "{:?}", r.body);
    assert_eq!(conversation(&org, &waiting).await["assignee_id"], mia.as_str());
}

/// Chat A opens first and is handed back to the queue after B started
/// waiting; the one agent then has room for one of them.
async fn handed_back_race(queue_order: &str) -> (String, String, Value) {
    let (app, clock) = start(TUESDAY_MORNING).await;
    let org = Org::create(&app).await;
    let t = team(&org, "Solo", "round_robin").await;
    let r = org
        .admin
        .patch(
            &org.path(&format!("/teams/{t}")),
            json!({"routing": {"queue_order": queue_order}}),
        )
        .await;
    assert_eq!(r.status, 200, "{:?}", r.body);
    agent(&org, &t, "Solo", 1, "online").await;
    let solo = ApiClient::login(&app, "solo@acme.test", "agent password 1").await;
    let a = customer(&app, &org, 1).await;
    clock.advance(60_000);
    let b = customer(&app, &org, 2).await;
    assert_eq!(conversation(&org, &b).await["status"], "queued");
    clock.advance(60_000);
    let r = solo
        .post(
            &org.path(&format!("/conversations/{a}/status")),
            json!({"status": "queued"}),
        )
        .await;
    assert_eq!(r.status, 200, "{:?}", r.body);
    let (a_now, b_now) = (conversation(&org, &a).await, conversation(&org, &b).await);
    (
        a_now["status"].as_str().unwrap().to_owned(),
        b_now["status"].as_str().unwrap().to_owned(),
        b_now,
    )
}

#[tokio::test]
async fn queue_order_decides_who_waits_longer() {
    let (a, b, _) = handed_back_race("oldest_first").await;
    assert_eq!((a.as_str(), b.as_str()), ("assigned", "queued"), "A was opened first");
    let (a, b, b_chat) = handed_back_race("longest_waiting").await;
    assert_eq!((a.as_str(), b.as_str()), ("queued", "assigned"), "B has waited longer");
    assert!(b_chat["queued_at"].is_number());
}
