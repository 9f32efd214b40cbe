//! The console and the analytics (issue 21) against hand-computed figures
//! of DESIGN.md §8: a workspace in Auckland (UTC+13), chats with known
//! times — a transfer across the local midnight, a reply by someone other
//! than the assignee followed by a self-assignment, a reopen, a bot
//! hand-off, a rating — and every tile, table row, analytics figure and
//! CSV cell checked against values worked out by hand.

use std::sync::Arc;

use serde_json::{Value, json};
use switchboard_core::Millis;
use switchboard_service::ManualClock;
use switchboard_testkit::client::ApiClient;
use switchboard_testkit::fixtures::Org;
use switchboard_testkit::webhook_receiver::WebhookReceiver;
use switchboard_testkit::{TestApp, TestOptions};

const MINUTE: i64 = 60_000;

/// Local time in Auckland (UTC+13 in December) on Monday 2026-12-07, or
/// on the Sunday before when `h` is negative (`-1` = 23:00 on Sunday).
fn local(h: i64, m: i64) -> Millis {
    let monday_midnight = chrono::DateTime::parse_from_rfc3339("2026-12-07T00:00:00+13:00")
        .unwrap()
        .timestamp_millis();
    Millis(monday_midnight + h * 60 * MINUTE + m * MINUTE)
}

struct World {
    app: TestApp,
    org: Org,
    clock: Arc<ManualClock>,
    bob: ApiClient,
    bob_id: String,
    admin_id: String,
    billing: String,
    /// Conversation ids by name.
    chats: Vec<(&'static str, String)>,
}

impl World {
    fn id(&self, name: &str) -> &str {
        &self.chats.iter().find(|(n, _)| *n == name).unwrap().1
    }

    fn at(&self, h: i64, m: i64) {
        self.clock.set(local(h, m));
    }

    async fn arrives(&mut self, name: &'static str, h: i64, m: i64) {
        self.at(h, m);
        let r = self
            .org
            .customer_says(&self.app, &format!("{name}-1"), name, &format!("hello from {name}"))
            .await;
        self.chats
            .push((name, r["conversation_id"].as_str().unwrap().to_owned()));
    }

    async fn ok(&self, who: &ApiClient, path: &str, body: Value) {
        let r = who.post(&self.org.path(path), body.clone()).await;
        assert!(r.status.is_success(), "{path} {body}: {:?}", r.body);
    }

    async fn assign(&self, name: &str, user: &str, team: Option<&str>) {
        self.ok(
            &self.org.admin,
            &format!("/conversations/{}/assign", self.id(name)),
            json!({"user_id": user, "team_id": team, "force": true}),
        )
        .await;
    }

    async fn reply(&self, who: &ApiClient, name: &str) {
        self.ok(
            who,
            &format!("/conversations/{}/messages", self.id(name)),
            json!({"kind": "text", "body": "on it"}),
        )
        .await;
    }

    async fn close(&self, who: &ApiClient, name: &str, body: Value) {
        self.ok(who, &format!("/conversations/{}/status", self.id(name)), body)
            .await;
    }

    async fn get(&self, path: &str) -> Value {
        let r = self.org.admin.get(&self.org.path(path)).await;
        assert_eq!(r.status, 200, "{path}: {:?}", r.body);
        r.body
    }
}

async fn world() -> World {
    let clock = Arc::new(ManualClock::new(local(-2, 0)));
    let mut options = TestOptions {
        manual_clock: Some(clock.clone()),
        ..TestOptions::default()
    };
    options.service.run_jobs = false;
    options.service.session_ttl = std::time::Duration::from_secs(30 * 24 * 3600);
    let app = TestApp::spawn_with(options).await;
    let org = Org::create(&app).await;
    let eight_to_eight: serde_json::Map<String, Value> = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
        .iter()
        .map(|d| (d.to_string(), json!([{"from": "08:00", "to": "20:00"}])))
        .collect();
    let r = org
        .admin
        .patch(
            &org.path("/settings"),
            json!({"allow_private_targets": true, "routing": {"business_hours": {"time_zone": "Pacific/Auckland", "weekly": eight_to_eight}}}),
        )
        .await;
    assert_eq!(r.status, 200, "{:?}", r.body);
    let billing = org
        .admin
        .post(
            &org.path("/teams"),
            json!({"name": "Billing", "assignment_rule": "manual"}),
        )
        .await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let (bob, bob_id) = org
        .member(&app, "bob@acme.test", "Bob Billing", "agent", &[&billing])
        .await;
    let admin_id = org.admin.get("/api/v1/me").await["user_id"]
        .as_str()
        .unwrap()
        .to_owned();
    World {
        app,
        org,
        clock,
        bob,
        bob_id,
        admin_id,
        billing,
        chats: Vec::new(),
    }
}

/// The story of the day, each step at a known local time.
async fn story() -> World {
    let mut w = world().await;
    let ana = w.org.agent_id.clone();
    let support = w.org.team.clone();
    let billing = w.billing.clone();

    // D: Sunday 23:30 (closed hours), Ana at 23:50, her reply at 23:55;
    // to Bob in Billing at 00:10 Monday, closed by him at 00:30.
    w.arrives("d", -1, 30).await;
    w.at(-1, 50);
    w.assign("d", &ana, Some(&support)).await;
    w.at(-1, 55);
    w.reply(&w.org.agent, "d").await;
    w.at(0, 10);
    w.assign("d", &w.bob_id, Some(&billing)).await;
    w.at(0, 30);
    w.close(
        &w.bob,
        "d",
        json!({"status": "resolved", "reason": "Customer not responding"}),
    )
    .await;

    // A: 09:00; Ana 09:05, replies 09:12; to Bob 09:20, he replies 09:23
    // and resolves 09:30 asking for a rating; the customer gives 5.
    w.arrives("a", 9, 0).await;
    w.at(9, 5);
    w.assign("a", &ana, Some(&support)).await;
    w.at(9, 12);
    w.reply(&w.org.agent, "a").await;
    w.at(9, 20);
    w.assign("a", &w.bob_id, Some(&billing)).await;
    w.at(9, 23);
    w.reply(&w.bob, "a").await;
    w.at(9, 30);
    w.close(
        &w.bob,
        "a",
        json!({"status": "resolved", "reason": "Problem solved", "feedback_request": true}),
    )
    .await;
    w.at(9, 31);
    w.org.customer_says(&w.app, "a-2", "a", "5").await;

    // B: 09:10; Ana 09:11; the admin answers at 09:14 (not the assignee),
    // takes the chat at 09:16 and answers at 09:20, resolves at 09:25;
    // Ana reopens at 09:40, answers at 09:45, resolves at 09:50.
    w.arrives("b", 9, 10).await;
    w.at(9, 11);
    w.assign("b", &ana, Some(&support)).await;
    w.at(9, 14);
    w.reply(&w.org.admin, "b").await;
    w.at(9, 16);
    let admin_id = w.admin_id.clone();
    w.assign("b", &admin_id, None).await;
    w.at(9, 20);
    w.reply(&w.org.admin, "b").await;
    w.at(9, 25);
    w.close(&w.org.admin, "b", json!({"status": "resolved"})).await;
    w.at(9, 40);
    w.close(&w.org.agent, "b", json!({"status": "assigned"})).await;
    w.at(9, 45);
    w.reply(&w.org.agent, "b").await;
    w.at(9, 50);
    w.close(&w.org.agent, "b", json!({"status": "resolved"})).await;

    // E: with a bot from 09:50; handed off at 09:53, Ana at 09:54.
    let bot = WebhookReceiver::start().await;
    let r = w
        .org
        .admin
        .put(
            &w.org.path(&format!("/channels/{}/bot", w.org.channel)),
            json!({"kind": "external", "url": bot.url()}),
        )
        .await;
    assert_eq!(r.status, 200, "{:?}", r.body);
    w.arrives("e", 9, 50).await;
    let r = w
        .org
        .admin
        .delete(&w.org.path(&format!("/channels/{}/bot", w.org.channel)))
        .await;
    assert!(r.status.is_success(), "{:?}", r.body);
    w.at(9, 53);
    w.ok(
        &w.org.admin,
        &format!("/conversations/{}/bot/handoff", w.id("e")),
        json!({}),
    )
    .await;
    w.at(9, 54);
    w.assign("e", &ana, Some(&support)).await;

    // F: 09:55, still waiting in the queue.
    w.arrives("f", 9, 55).await;
    w.at(10, 0);
    w
}

fn minutes(n: i64) -> Value {
    json!(n * MINUTE)
}

#[tokio::test]
async fn tiles_table_legs_and_analytics_match_figures_worked_out_by_hand() {
    let w = story().await;

    // Tiles: F waits; E is with Ana; A, B and D closed since local midnight
    // (D was created yesterday); Support was given A, B and E today,
    // Billing A and D.
    let tiles = w.get("/reports/console").await;
    assert_eq!(
        (&tiles["unassigned"], &tiles["active"], &tiles["completed_today"]),
        (&json!(1), &json!(1), &json!(3)),
        "{tiles}"
    );
    assert_eq!(tiles["busiest_team_today"]["name"], "Support", "{tiles}");
    assert_eq!(tiles["busiest_team_today"]["conversations"], 3, "{tiles}");
    assert_eq!(tiles["longest_waiting"]["conversation_id"], w.id("f"), "{tiles}");
    assert_eq!(tiles["longest_waiting"]["waited_seconds"], 300, "{tiles}");
    assert_eq!(tiles["longest_waiting"]["customer"], "Carla Customer", "{tiles}");
    assert_eq!(tiles["day_started_at"], json!(local(0, 0).0), "{tiles}");
    let people = tiles["agents"]["online"].as_u64().unwrap()
        + tiles["agents"]["busy"].as_u64().unwrap()
        + tiles["agents"]["offline"].as_u64().unwrap();
    assert_eq!(people, 3, "admin, Ana and Bob: {tiles}");

    // Each counting tile is the table of its filter.
    for (tile, query) in [
        ("unassigned", "status=queued"),
        ("active", "status=assigned"),
        ("completed_today", "section=archived&date_field=closed&period=today"),
    ] {
        let table = w.get(&format!("/reports/conversations?limit=200&{query}")).await;
        assert_eq!(
            table["items"].as_array().unwrap().len() as u64,
            tiles[tile].as_u64().unwrap(),
            "{tile}"
        );
    }

    // The table's rows: the assignees' own response since assignment.
    let rows = w.get("/reports/conversations?limit=200").await;
    let row = |name: &str| -> Value {
        rows["items"]
            .as_array()
            .unwrap()
            .iter()
            .find(|r| r["id"] == w.id(name))
            .cloned()
            .unwrap()
    };
    let a = row("a");
    assert_eq!(
        (&a["response_seconds"], &a["response_after_assignment_seconds"]),
        (&json!(12 * 60), &json!(3 * 60)),
        "A: Ana answered 12 min after creation; Bob 3 min after his assignment: {a}"
    );
    assert_eq!(
        (&a["agent"], &a["team"], &a["close_reason"], &a["rating"], &a["sent_by"]),
        (
            &json!("Bob Billing"),
            &json!("Billing"),
            &json!("Problem solved"),
            &json!(5),
            &json!("customer")
        ),
        "{a}"
    );
    let b = row("b");
    assert_eq!(
        (&b["response_seconds"], &b["response_after_assignment_seconds"]),
        (&json!(4 * 60), &json!(5 * 60)),
        "B: the admin's 09:14 answer is the first reply; Ana's own after the reopen took 5 min: {b}"
    );
    assert_eq!(b["duration_seconds"], 40 * 60, "{b}");
    let d = row("d");
    assert_eq!(
        (&d["response_seconds"], &d["response_business_seconds"]),
        (&json!(25 * 60), &json!(0)),
        "D waited 25 min, all of it outside the 08:00–20:00 hours: {d}"
    );
    assert_eq!(d["close_reason"], "Customer not responding");
    let e = row("e");
    assert_eq!(e["bot_seconds"], 3 * 60, "E spent 3 min with the bot: {e}");
    assert_eq!((&e["awaiting"], &e["status"]), (&json!("agent"), &json!("assigned")));

    // Analytics of Monday (A, B, E, F: D was created on Sunday).
    let day = w
        .get("/reports/analytics?from_date=2026-12-07&to_date=2026-12-07")
        .await;
    let t = &day["totals"];
    assert_eq!(t["conversations"], 4, "{t}");
    assert_eq!((&t["resolved"], &t["open"]), (&json!(2), &json!(2)), "{t}");
    // First responses: A 12 min, B 4 min.
    assert_eq!(
        (&t["first_response"]["median"], &t["first_response"]["p90"]),
        (&minutes(4), &minutes(12)),
        "{t}"
    );
    // Legs with a reply by their own assignee: A/Ana 7, A/Bob 3, B/admin 4,
    // B/Ana after the reopen 5 (B/Ana's first leg and E/Ana have none).
    assert_eq!(t["assignment_response"]["count"], 4, "{t}");
    assert_eq!(
        (&t["assignment_response"]["median"], &t["assignment_response"]["p90"]),
        (&minutes(4), &minutes(7)),
        "{t}"
    );
    assert_eq!(
        (&t["legs"], &t["transfers"], &t["reopens"]),
        (&json!(6), &json!(2), &json!(1)),
        "{t}"
    );
    // Resolution: A 30 min, B 40 min.
    assert_eq!(
        (&t["resolution"]["median"], &t["resolution"]["p90"]),
        (&minutes(30), &minutes(40)),
        "{t}"
    );
    assert_eq!(t["bot_time"]["median"], minutes(3), "{t}");
    assert_eq!(
        (&t["csat"]["asked"], &t["csat"]["rated"], &t["csat"]["average"]),
        (&json!(1), &json!(1), &json!(5.0)),
        "{t}"
    );
    let volume = &day["volume"];
    assert_eq!(
        volume["days"],
        json!([{"date": "2026-12-07", "created": 4, "closed": 2}])
    );
    assert_eq!(volume["hours"][9], 4, "all four came in the 09:00 hour local: {volume}");
    assert_eq!(volume["heatmap"][0][9], 4, "Monday, 09:00: {volume}");

    // By agent: Ana holds B and E now; her own legs answered in 7 and 5 min.
    let groups = day["groups"].as_array().unwrap();
    let ana = groups.iter().find(|g| g["label"] == "Ana Agent").unwrap();
    assert_eq!(ana["figures"]["conversations"], 2, "{ana}");
    assert_eq!(ana["figures"]["assignment_response"]["median"], minutes(5), "{ana}");
    let bob = groups.iter().find(|g| g["label"] == "Bob Billing").unwrap();
    assert_eq!(bob["figures"]["assignment_response"]["median"], minutes(3), "{bob}");

    // Both local days: D joins, created on Sunday and closed on Monday.
    let both = w
        .get("/reports/analytics?from_date=2026-12-06&to_date=2026-12-07")
        .await;
    assert_eq!(
        both["volume"]["days"],
        json!([
            {"date": "2026-12-06", "created": 1, "closed": 0},
            {"date": "2026-12-07", "created": 4, "closed": 3},
        ])
    );
    assert_eq!(both["totals"]["first_response_business"]["count"], 3);

    // The figures CSV says the same.
    let (status, _, csv) = w
        .org
        .admin
        .get_text(
            &w.org
                .path("/reports/analytics.csv?from_date=2026-12-07&to_date=2026-12-07"),
        )
        .await;
    assert_eq!(status, 200, "{csv}");
    let mut reader = csv::Reader::from_reader(csv.as_bytes());
    let header: Vec<String> = reader.headers().unwrap().iter().map(String::from).collect();
    let all = reader.records().next().unwrap().unwrap();
    let cell = |name: &str| all[header.iter().position(|h| h == name).unwrap()].to_owned();
    assert_eq!(
        (
            cell("conversations"),
            cell("first_response_median_seconds"),
            cell("assignment_response_p90_seconds")
        ),
        ("4".into(), "240".into(), "420".into())
    );
}

#[tokio::test]
async fn close_reasons_are_the_workspaces_list_and_reports_are_for_admins_and_supervisors() {
    let w = story().await;
    let reasons = w.get("/close-reasons").await;
    assert_eq!(
        reasons["items"],
        json!([
            "Problem solved",
            "Customer not responding",
            "Transferred to a specialist"
        ])
    );
    // A reason not on the list is refused by name.
    let r = w
        .org
        .agent
        .post(
            &w.org.path(&format!("/conversations/{}/status", w.id("e"))),
            json!({"status": "resolved", "reason": "Bored"}),
        )
        .await;
    assert_eq!(
        (r.status.as_u16(), r.body["error"]["field"].as_str()),
        (422, Some("reason")),
        "{:?}",
        r.body
    );
    // Admins change the list; an empty or doubled one is refused.
    for bad in [json!([]), json!(["Spam", "Spam"]), json!([""])] {
        let r = w
            .org
            .admin
            .patch(&w.org.path("/settings"), json!({"close_reasons": bad}))
            .await;
        assert_eq!(r.status, 422, "{bad}: {:?}", r.body);
    }
    let r = w
        .org
        .admin
        .patch(&w.org.path("/settings"), json!({"close_reasons": ["Spam", "Sold"]}))
        .await;
    assert_eq!(r["close_reasons"], json!(["Spam", "Sold"]));
    let r = w
        .org
        .agent
        .post(
            &w.org.path(&format!("/conversations/{}/status", w.id("e"))),
            json!({"status": "resolved", "reason": "Sold"}),
        )
        .await;
    assert_eq!(r["close_reason"], "Sold", "{:?}", r.body);
    // The filter finds it.
    let rows = w.get("/reports/conversations?close_reason=Sold").await;
    let ids: Vec<&str> = rows["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, vec![w.id("e")]);

    // Agents see no reports.
    for path in ["/reports/console", "/reports/conversations", "/reports/analytics"] {
        let r = w.org.agent.get(&w.org.path(path)).await;
        assert_eq!(r.status, 403, "{path}: {:?}", r.body);
    }
    // A reversed range is read the right way round; a long one keeps its
    // last 400 days; a date that is not one is an error on its field.
    let r = w
        .org
        .admin
        .get(&w.org.path("/reports/analytics?from_date=2026-12-08&to_date=2026-12-01"))
        .await;
    assert_eq!(
        (r["from_date"].as_str(), r["to_date"].as_str()),
        (Some("2026-12-01"), Some("2026-12-08"))
    );
    let r = w
        .org
        .admin
        .get(&w.org.path("/reports/analytics?from_date=2000-01-01&to_date=2026-12-07"))
        .await;
    assert_eq!(r["from_date"], "2025-11-03", "{:?}", r.body);
    // `days` counts back from the last day (1: that day alone).
    let r = w.org.admin.get(&w.org.path("/reports/analytics?days=1")).await;
    assert_eq!(
        (r["from_date"].as_str(), r["to_date"].as_str()),
        (Some("2026-12-07"), Some("2026-12-07"))
    );
    let r = w.org.admin.get(&w.org.path("/reports/analytics?days=0")).await;
    assert_eq!(
        (r.status.as_u16(), r.body["error"]["field"].as_str()),
        (422, Some("days"))
    );
    let r = w
        .org
        .admin
        .get(&w.org.path("/reports/analytics?from_date=yesterday"))
        .await;
    assert_eq!(
        (r.status.as_u16(), r.body["error"]["field"].as_str()),
        (422, Some("from_date"))
    );
    let _ = (&w.bob, &w.billing);
}
