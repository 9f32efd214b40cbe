//! Archive filters (issue 20): quick picks and custom ranges are whole days
//! of the workspace's time zone (tested at UTC+13 and UTC-10), on created,
//! closed or last-activity time; critical, awaiting an answer, who started
//! the chat, rating; combined with each other and with the search; counts
//! by the database.

use std::collections::BTreeSet;
use std::sync::Arc;

use serde_json::json;
use switchboard_core::Millis;
use switchboard_service::ManualClock;
use switchboard_testkit::client::post_hook;
use switchboard_testkit::fixtures::Org;
use switchboard_testkit::{TestApp, TestOptions};

const HOUR: i64 = 3_600_000;
const DAY: i64 = 24 * HOUR;

fn at(rfc3339: &str) -> i64 {
    chrono::DateTime::parse_from_rfc3339(rfc3339)
        .unwrap()
        .timestamp_millis()
}

/// 2026-12-06 20:00 UTC: Monday 7th 09:00 in Auckland, Sunday 6th 10:00 in Honolulu.
fn now() -> i64 {
    at("2026-12-06T20:00:00Z")
}

/// Chats created at known instants: name, created at, text.
fn chats() -> Vec<(&'static str, i64, &'static str)> {
    vec![
        ("old40", now() - 40 * DAY, "an old question about invoices"),
        ("old16", now() - 16 * DAY, "where is my invoice"),
        // 23:30 on the 6th in Auckland (yesterday there), 00:30 on the 6th in Honolulu (today there).
        ("edge", at("2026-12-06T10:30:00Z"), "late night parcel question"),
        ("today", now() - HOUR, "parcel arrived broken"),
    ]
}

struct Archive {
    org: Org,
    ids: Vec<(String, String)>,
    app: TestApp,
}

async fn archive(time_zone: &str) -> Archive {
    let clock = Arc::new(ManualClock::new(Millis(now() - 41 * DAY)));
    let mut options = TestOptions {
        manual_clock: Some(clock.clone()),
        ..TestOptions::default()
    };
    options.service.run_jobs = false;
    options.service.session_ttl = std::time::Duration::from_secs(365 * 24 * 3600);
    let app = TestApp::spawn_with(options).await;
    let org = Org::create(&app).await;
    let open_all_day: serde_json::Map<String, serde_json::Value> = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
        .iter()
        .map(|d| (d.to_string(), json!([{"from": "00:00", "to": "24:00"}])))
        .collect();
    let r = org
        .admin
        .patch(
            &org.path("/settings"),
            json!({"routing": {"business_hours": {"time_zone": time_zone, "weekly": open_all_day}}}),
        )
        .await;
    assert_eq!(r.status, 200, "{:?}", r.body);
    let mut ids = Vec::new();
    for (name, created, text) in chats() {
        clock.set(Millis(created));
        let r = post_hook(
            &app,
            &org.channel,
            &org.secret,
            &json!({"message_id": format!("m-{name}"), "contact": {"id": name, "name": name}, "text": text}),
        )
        .await;
        assert_eq!(r.status, 200, "{:?}", r.body);
        ids.push((name.to_owned(), r["conversation_id"].as_str().unwrap().to_owned()));
    }
    clock.set(Millis(now()));
    Archive { org, ids, app }
}

impl Archive {
    fn id(&self, name: &str) -> &str {
        &self.ids.iter().find(|(n, _)| n == name).unwrap().1
    }

    /// The chats the list gives for `query`, by name.
    async fn list(&self, query: &str) -> BTreeSet<String> {
        let r = self
            .org
            .admin
            .get(&self.org.path(&format!("/conversations?limit=200&{query}")))
            .await;
        assert_eq!(r.status, 200, "{query}: {:?}", r.body);
        r["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| {
                let id = c["id"].as_str().unwrap();
                self.ids.iter().find(|(_, c)| c == id).unwrap().0.clone()
            })
            .collect()
    }
}

fn set(names: &[&str]) -> BTreeSet<String> {
    names.iter().map(|s| s.to_string()).collect()
}

#[tokio::test]
async fn quick_picks_are_whole_days_of_a_workspace_at_utc_plus_13() {
    let a = archive("Pacific/Auckland").await;
    assert_eq!(a.list("period=today").await, set(&["today"]));
    assert_eq!(a.list("period=last_7_days").await, set(&["today", "edge"]));
    assert_eq!(a.list("period=last_15_days").await, set(&["today", "edge"]));
    assert_eq!(a.list("period=last_30_days").await, set(&["today", "edge", "old16"]));
    assert_eq!(
        a.list("period=last_45_days").await,
        set(&["today", "edge", "old16", "old40"])
    );
    // A custom range of local days, both ends included.
    assert_eq!(a.list("from_date=2026-12-06&to_date=2026-12-06").await, set(&["edge"]));
    assert_eq!(a.list("from_date=2026-12-07").await, set(&["today"]));
    // Combined with the search.
    assert_eq!(a.list("period=last_45_days&q=invoice*").await, set(&["old16", "old40"]));
    assert_eq!(a.list("period=last_30_days&q=invoice*").await, set(&["old16"]));
    // Bad dates are a field error.
    let r = a
        .org
        .admin
        .get(&a.org.path("/conversations?from_date=2026-13-01"))
        .await;
    assert_eq!(
        (r.status.as_u16(), r.body["error"]["field"].as_str()),
        (422, Some("from_date"))
    );
    // A range that ends before it starts holds nothing.
    assert_eq!(a.list("from_date=2026-12-07&to_date=2026-12-01").await, set(&[]));
}

#[tokio::test]
async fn quick_picks_are_whole_days_of_a_workspace_at_utc_minus_10() {
    let a = archive("Pacific/Honolulu").await;
    assert_eq!(a.list("period=today").await, set(&["today", "edge"]));
    assert_eq!(a.list("from_date=2026-12-05&to_date=2026-12-05").await, set(&[]));
    assert_eq!(a.list("period=last_15_days").await, set(&["today", "edge"]));
    assert_eq!(a.list("period=last_30_days").await, set(&["today", "edge", "old16"]));
}

#[tokio::test]
async fn filters_combine_on_status_critical_activity_rating_and_who_wrote() {
    let a = archive("UTC").await;
    let org = &a.org;
    // Critical: one chat.
    let r = org
        .admin
        .post(
            &org.path(&format!("/conversations/{}/priority", a.id("edge"))),
            json!({"priority": "critical"}),
        )
        .await;
    assert_eq!(r.status, 200, "{:?}", r.body);
    assert_eq!(a.list("critical=true").await, set(&["edge"]));
    assert_eq!(a.list("critical=false").await, set(&["today", "old16", "old40"]));
    // An answer: that chat no longer awaits one.
    let r = org
        .admin
        .post(
            &org.path(&format!("/conversations/{}/assign", a.id("old16"))),
            json!({"user_id": org.agent_id, "force": true}),
        )
        .await;
    assert_eq!(r.status, 200, "{:?}", r.body);
    let r = org
        .agent
        .post(
            &org.path(&format!("/conversations/{}/messages", a.id("old16"))),
            json!({"kind": "text", "body": "Here it is"}),
        )
        .await;
    assert_eq!(r.status, 201, "{:?}", r.body);
    assert_eq!(a.list("awaiting_reply=true").await, set(&["today", "edge", "old40"]));
    assert_eq!(a.list("awaiting_reply=false").await, set(&["old16"]));
    // Last activity today (UTC) is the answered chat and the newest.
    assert_eq!(
        a.list("date_field=last_activity&period=today").await,
        set(&["old16", "today", "edge"])
    );
    // Closed: only what was closed, on the day it was closed.
    let r = org
        .admin
        .post(
            &org.path(&format!("/conversations/{}/status", a.id("old40"))),
            json!({"status": "resolved"}),
        )
        .await;
    assert_eq!(r.status, 200, "{:?}", r.body);
    assert_eq!(a.list("date_field=closed&period=today").await, set(&["old40"]));
    assert_eq!(a.list("date_field=closed&period=today&critical=true").await, set(&[]));
    // All these chats were started by the customer.
    assert_eq!(a.list("sent_by=customer").await.len(), 4);
    assert_eq!(a.list("sent_by=business").await, set(&[]));
    // A database from before "sent by" was kept on the chat learns it
    // from each chat's first message when it is migrated.
    a.app
        .execute_raw(
            "ALTER TABLE conversations DROP COLUMN started_by; DELETE FROM schema_migrations WHERE version = 29",
        )
        .await;
    assert_eq!(a.app.services.store().migrate().await.unwrap(), [29]);
    assert_eq!(a.list("sent_by=customer").await.len(), 4);
    assert_eq!(a.list("sent_by=business").await, set(&[]));
    assert_eq!(a.list("rating=5").await, set(&[]));
    let r = org.admin.get(&org.path("/conversations?rating=6")).await;
    assert_eq!(r.status, 422, "{:?}", r.body);
}

impl Archive {
    /// Every page of `query` with one row per page, in order.
    async fn paged(&self, query: &str) -> Vec<String> {
        let mut names = Vec::new();
        let mut cursor = String::new();
        loop {
            let r = self
                .org
                .admin
                .get(&self.org.path(&format!("/conversations?limit=1&{query}{cursor}")))
                .await;
            assert_eq!(r.status, 200, "{query}: {:?}", r.body);
            for c in r["items"].as_array().unwrap() {
                let id = c["id"].as_str().unwrap();
                names.push(self.ids.iter().find(|(_, c)| c == id).unwrap().0.clone());
            }
            match r["next_cursor"].as_str() {
                Some(next) => cursor = format!("&cursor={next}"),
                None => return names,
            }
            assert!(names.len() <= 10, "paging does not end: {names:?}");
        }
    }
}

#[tokio::test]
async fn sorted_lists_page_by_keyset_and_filter_on_times_and_country() {
    let a = archive("UTC").await;
    let org = &a.org;
    // Answered 16 days after it was written; the others wait.
    ok_assign_and_answer(&a, "old16").await;
    assert_eq!(a.paged("").await, ["today", "edge", "old16", "old40"]);
    assert_eq!(a.paged("sort=last_activity").await, ["old16", "today", "edge", "old40"]);
    assert_eq!(a.paged("sort=response_time").await[0], "old16");
    assert_eq!(a.list("response_above=86400").await, set(&["old16"]));
    assert_eq!(a.list("response_below=86400").await, set(&[]));
    assert_eq!(a.list("assignment_response_below=60").await, set(&["old16"]));
    // Waiting for us at least 5 hours: not the chat of an hour ago.
    assert_eq!(a.list("waiting_minutes=300").await, set(&["edge", "old40"]));
    let r = org.admin.get(&org.path("/conversations?waiting_minutes=-5")).await;
    assert_eq!(r.status, 422, "{:?}", r.body);
    let r = org.admin.get(&org.path("/conversations?cursor=not-a-cursor")).await;
    assert_eq!(
        (r.status.as_u16(), r.body["error"]["field"].as_str()),
        (422, Some("cursor"))
    );
    // Closed ones by closing time, open ones after them.
    for name in ["edge", "old40"] {
        let r = org
            .admin
            .post(
                &org.path(&format!("/conversations/{}/status", a.id(name))),
                json!({"status": "resolved"}),
            )
            .await;
        assert_eq!(r.status, 200, "{:?}", r.body);
    }
    let closed = a.paged("sort=closed").await;
    assert_eq!(closed.len(), 4);
    assert!(
        closed[..2].contains(&"edge".to_owned()) && closed[..2].contains(&"old40".to_owned()),
        "{closed:?}"
    );
    assert_eq!(a.paged("sort=duration").await[0], "old40");
    // The archive over two closed statuses (a page per status merged, and
    // with dates one walk over the range): every chat once, in order,
    // across pages.
    let r = org
        .admin
        .post(
            &org.path(&format!("/conversations/{}/status", a.id("old16"))),
            json!({"status": "abandoned"}),
        )
        .await;
    assert_eq!(r.status, 200, "{:?}", r.body);
    assert_eq!(a.paged("section=archived").await, ["edge", "old16", "old40"]);
    assert_eq!(a.paged("section=archived&period=last_30_days").await, ["edge", "old16"]);
    assert_eq!(a.list("section=archived&period=last_7_days").await, set(&["edge"]));
    // The contact's country.
    let c = org
        .admin
        .get(&org.path(&format!("/conversations/{}", a.id("today"))))
        .await;
    let contact = c["contact_id"].as_str().unwrap();
    let r = org
        .admin
        .patch(&org.path(&format!("/contacts/{contact}")), json!({"country": "NZ"}))
        .await;
    assert_eq!(r.status, 200, "{:?}", r.body);
    assert_eq!(a.list("country=NZ").await, set(&["today"]));
    assert_eq!(a.list("country=DE").await, set(&[]));
}

async fn ok_assign_and_answer(a: &Archive, name: &str) {
    let org = &a.org;
    let r = org
        .admin
        .post(
            &org.path(&format!("/conversations/{}/assign", a.id(name))),
            json!({"user_id": org.agent_id, "force": true}),
        )
        .await;
    assert_eq!(r.status, 200, "{:?}", r.body);
    let r = org
        .agent
        .post(
            &org.path(&format!("/conversations/{}/messages", a.id(name))),
            json!({"kind": "text", "body": "Here it is"}),
        )
        .await;
    assert_eq!(r.status, 201, "{:?}", r.body);
}

#[tokio::test]
async fn saved_filters_belong_to_their_member() {
    let a = archive("UTC").await;
    let org = &a.org;
    let path = org.path("/saved-filters");
    let r = org
        .agent
        .post(
            &path,
            json!({"name": "Invoices", "query": "?section=archived&q=invoice*"}),
        )
        .await;
    assert_eq!(r.status, 201, "{:?}", r.body);
    let id = r["id"].as_str().unwrap().to_owned();
    assert_eq!(r["query"], "section=archived&q=invoice*");
    // Names are unique per member (409); empty ones are refused (422), each next to the field.
    for (bad, status) in [
        (json!({"name": "Invoices", "query": ""}), 409),
        (json!({"name": "  ", "query": ""}), 422),
    ] {
        let r = org.agent.post(&path, bad).await;
        let got = (r.status.as_u16(), r.body["error"]["field"].as_str());
        assert_eq!(got, (status, Some("name")), "{:?}", r.body);
    }
    // Another member neither sees nor deletes them, and may use the same name.
    assert_eq!(org.admin.get(&path).await["items"], json!([]));
    assert_eq!(org.admin.delete(&format!("{path}/{id}")).await.status, 404);
    assert_eq!(
        org.admin
            .post(&path, json!({"name": "Invoices", "query": "q=x"}))
            .await
            .status,
        201
    );
    let mine = org.agent.get(&path).await;
    assert_eq!(mine["items"].as_array().unwrap().len(), 1, "{:?}", mine.body);
    assert_eq!(org.agent.delete(&format!("{path}/{id}")).await.status, 204);
    assert_eq!(org.agent.get(&path).await["items"], json!([]));
}

#[tokio::test]
async fn list_counts_stop_at_a_cap_and_say_more() {
    let a = archive("UTC").await;
    let ws: switchboard_core::WorkspaceId = a.org.ws.parse().unwrap();
    let services = &a.app.services;
    let admin = services.store().reader().members(ws).await.unwrap()[0].id;
    let actor = services.actor(ws, admin).await.unwrap();
    let all = switchboard_service::ConversationQuery::default();
    assert_eq!(
        services.count_conversations_capped(&actor, &all, 2).await.unwrap(),
        (2, true)
    );
    assert_eq!(
        services.count_conversations_capped(&actor, &all, 4).await.unwrap(),
        (4, false)
    );
    assert_eq!(
        services.count_conversations_capped(&actor, &all, 10).await.unwrap(),
        (4, false)
    );
    let q = switchboard_service::ConversationQuery {
        q: Some("invoice*".into()),
        ..Default::default()
    };
    assert_eq!(
        services.count_conversations_capped(&actor, &q, 10).await.unwrap(),
        (2, false)
    );
}

/// A list page reads every row's recent messages in one statement: each
/// row still shows its own chat's last message and unanswered count.
#[tokio::test]
async fn each_list_row_shows_its_own_last_message_and_unanswered_count() {
    let app = TestApp::spawn().await;
    let org = Org::create(&app).await;
    org.set_online(&org.agent, &org.agent_id).await;
    let a = org.customer_says(&app, "a-1", "cust-a", "first from a").await;
    org.customer_says(&app, "a-2", "cust-a", "second from a").await;
    let b = org.customer_says(&app, "b-1", "cust-b", "only from b").await;
    let quiet = org.customer_says(&app, "c-1", "cust-c", "from c").await;
    let r = org
        .agent
        .post(
            &org.path(&format!(
                "/conversations/{}/messages",
                b["conversation_id"].as_str().unwrap()
            )),
            json!({"kind": "text", "body": "answer to b"}),
        )
        .await;
    assert_eq!(r.status, 201, "{:?}", r.body);
    let r = org
        .agent
        .post(
            &org.path(&format!(
                "/conversations/{}/messages",
                quiet["conversation_id"].as_str().unwrap()
            )),
            json!({"kind": "note", "body": "a note is no preview"}),
        )
        .await;
    assert_eq!(r.status, 201, "{:?}", r.body);
    // Only what came after the business's reply waits.
    org.customer_says(&app, "b-2", "cust-b", "after the answer").await;
    // Counted up to 20 (the row shows "20+").
    let chatty = org.customer_says(&app, "d-0", "cust-d", "d 0").await;
    for i in 1..=21 {
        org.customer_says(&app, &format!("d-{i}"), "cust-d", &format!("d {i}"))
            .await;
    }
    let ws = org.ws.parse().unwrap();
    let agent = app.services.actor(ws, org.agent_id.parse().unwrap()).await.unwrap();
    let page = app
        .services
        .inbox(&agent, switchboard_service::ConversationQuery::default())
        .await
        .unwrap();
    let rows: std::collections::BTreeMap<String, (String, u64)> = page
        .items
        .iter()
        .map(|r| {
            let last = r.last_message.as_ref().and_then(|m| m.body.clone()).unwrap_or_default();
            (r.conversation.id.to_string(), (last, r.unread))
        })
        .collect();
    let row = |hook: &serde_json::Value| rows[hook["conversation_id"].as_str().unwrap()].clone();
    assert_eq!(rows.len(), 4);
    assert_eq!(row(&a), ("second from a".to_owned(), 2));
    assert_eq!(row(&b), ("after the answer".to_owned(), 1));
    assert_eq!(row(&quiet), ("from c".to_owned(), 1));
    assert_eq!(row(&chatty), ("d 21".to_owned(), 20));
}
