//! Property (issue 21): for random conversations around a workspace's
//! midnight (Auckland, UTC+13) and random filters, the console's table,
//! the conversations API, the CSV export and the tiles agree with each
//! other and with a model computed here from the known times.
//!
//! Values come from proptest strategies drawn by a deterministic runner
//! (the app is async, so cases are drawn up front rather than shrunk).

use std::collections::BTreeSet;
use std::sync::Arc;

use proptest::prelude::*;
use proptest::strategy::ValueTree;
use proptest::test_runner::{Config, TestRunner};
use serde_json::json;
use switchboard_core::Millis;
use switchboard_service::ManualClock;
use switchboard_testkit::fixtures::Org;
use switchboard_testkit::{TestApp, TestOptions};

const MINUTE: i64 = 60_000;

/// 00:30 on Monday 2026-12-07 in Auckland: "today" there is 30 minutes old.
fn now() -> i64 {
    chrono::DateTime::parse_from_rfc3339("2026-12-07T00:30:00+13:00")
        .unwrap()
        .timestamp_millis()
}

fn local_midnight() -> i64 {
    now() - 30 * MINUTE
}

/// One chat: arrives `arrive` minutes before now; maybe assigned, answered
/// and resolved, each some minutes after the step before.
#[derive(Debug, Clone)]
struct Chat {
    arrive: i64,
    assign: Option<i64>,
    reply: Option<i64>,
    resolve: Option<i64>,
}

fn chat() -> impl Strategy<Value = Chat> {
    (
        1i64..240,
        proptest::option::of(0i64..30),
        proptest::option::of(0i64..30),
        proptest::option::of(0i64..60),
    )
        .prop_map(|(before_now, assign, reply, resolve)| {
            let arrive = now() - before_now * MINUTE;
            let assign = assign.map(|m| arrive + (m + 1) * MINUTE).filter(|t| *t < now());
            let reply = assign
                .and(reply)
                .map(|m| assign.unwrap_or(arrive) + (m + 1) * MINUTE)
                .filter(|t| *t < now());
            let resolve = assign
                .and(resolve)
                .map(|m| reply.or(assign).unwrap_or(arrive) + (m + 1) * MINUTE)
                .filter(|t| *t < now());
            Chat {
                arrive,
                assign,
                reply,
                resolve,
            }
        })
}

#[derive(Debug, Clone)]
struct Filter {
    status: Option<&'static str>,
    period: Option<&'static str>,
    field: &'static str,
    awaiting: Option<bool>,
    sort: &'static str,
}

fn filter() -> impl Strategy<Value = Filter> {
    (
        proptest::option::of(prop_oneof![Just("queued"), Just("assigned"), Just("resolved")]),
        proptest::option::of(prop_oneof![Just("today"), Just("last_7_days")]),
        prop_oneof![Just("created"), Just("closed"), Just("last_activity")],
        proptest::option::of(any::<bool>()),
        prop_oneof![
            Just("newest"),
            Just("duration"),
            Just("response_time"),
            Just("last_activity")
        ],
    )
        .prop_map(|(status, period, field, awaiting, sort)| Filter {
            status,
            period,
            field,
            awaiting,
            sort,
        })
}

impl Filter {
    fn query(&self) -> String {
        let mut q = vec![format!("sort={}", self.sort)];
        if let Some(s) = self.status {
            q.push(format!("status={s}"));
        }
        if let Some(p) = self.period {
            q.push(format!("period={p}&date_field={}", self.field));
        }
        if let Some(a) = self.awaiting {
            q.push(format!("awaiting_reply={a}"));
        }
        q.join("&")
    }

    /// What the filter keeps, from the chat's known times.
    fn keeps(&self, c: &Chat) -> bool {
        let status = match (c.resolve, c.assign) {
            (Some(_), _) => "resolved",
            (None, Some(_)) => "assigned",
            (None, None) => "queued",
        };
        if self.status.is_some_and(|s| s != status) {
            return false;
        }
        if let Some(p) = self.period {
            let since = if p == "today" {
                local_midnight()
            } else {
                local_midnight() - 6 * 24 * 60 * MINUTE
            };
            let at = match self.field {
                "created" => Some(c.arrive),
                "closed" => c.resolve,
                _ => Some(c.reply.unwrap_or(c.arrive)),
            };
            if at.is_none_or(|t| t < since) {
                return false;
            }
        }
        // The customer waits while nobody answered them.
        self.awaiting.is_none_or(|a| a == c.reply.is_none())
    }
}

async fn ids_of_pages(org: &Org, path: &str) -> BTreeSet<String> {
    let mut ids = BTreeSet::new();
    let mut cursor = String::new();
    loop {
        let r = org.admin.get(&org.path(&format!("{path}&limit=7{cursor}"))).await;
        assert_eq!(r.status, 200, "{path}: {:?}", r.body);
        for item in r["items"].as_array().unwrap() {
            assert!(
                ids.insert(item["id"].as_str().unwrap().to_owned()),
                "a row twice in {path}"
            );
        }
        match r["next_cursor"].as_str() {
            Some(next) => cursor = format!("&cursor={}", next.replace('+', "%2B")),
            None => return ids,
        }
    }
}

#[tokio::test]
async fn table_api_csv_and_tiles_agree_with_the_model_for_random_chats_and_filters() {
    let mut runner = TestRunner::new(Config {
        rng_algorithm: proptest::test_runner::RngAlgorithm::ChaCha,
        ..Config::default()
    });
    let chats = proptest::collection::vec(chat(), 12..24)
        .new_tree(&mut runner)
        .unwrap()
        .current();

    // Printed so a failing run can be replayed by hand.
    eprintln!("chats: {chats:?}");
    let clock = Arc::new(ManualClock::new(Millis(now() - 300 * MINUTE)));
    let mut options = TestOptions {
        manual_clock: Some(clock.clone()),
        ..TestOptions::default()
    };
    options.service.run_jobs = false;
    let app = TestApp::spawn_with(options).await;
    let org = Org::create(&app).await;
    let r = org
        .admin
        .patch(
            &org.path("/settings"),
            json!({"routing": {"business_hours": {"time_zone": "Pacific/Auckland", "weekly": {}}}}),
        )
        .await;
    assert_eq!(r.status, 200, "{:?}", r.body);

    // Every step of every chat, in time order.
    let mut steps: Vec<(i64, usize, u8)> = Vec::new();
    for (i, c) in chats.iter().enumerate() {
        steps.push((c.arrive, i, 0));
        steps.extend(c.assign.map(|t| (t, i, 1)));
        steps.extend(c.reply.map(|t| (t, i, 2)));
        steps.extend(c.resolve.map(|t| (t, i, 3)));
    }
    steps.sort();
    let mut ids = vec![String::new(); chats.len()];
    for (at, i, step) in steps {
        clock.set(Millis(at));
        let id = &ids[i];
        let r = match step {
            0 => {
                let body = org
                    .customer_says(&app, &format!("m-{i}"), &format!("customer-{i}"), "hello")
                    .await;
                ids[i] = body["conversation_id"].as_str().unwrap().to_owned();
                continue;
            }
            1 => {
                org.admin
                    .post(
                        &org.path(&format!("/conversations/{id}/assign")),
                        json!({"user_id": org.agent_id, "force": true}),
                    )
                    .await
            }
            2 => {
                org.agent
                    .post(
                        &org.path(&format!("/conversations/{id}/messages")),
                        json!({"kind": "text", "body": "hi"}),
                    )
                    .await
            }
            _ => {
                org.agent
                    .post(
                        &org.path(&format!("/conversations/{id}/status")),
                        json!({"status": "resolved"}),
                    )
                    .await
            }
        };
        assert!(r.status.is_success(), "step {step} of chat {i}: {:?}", r.body);
    }
    clock.set(Millis(now()));

    let filters = proptest::collection::vec(filter(), 24)
        .new_tree(&mut runner)
        .unwrap()
        .current();
    for f in &filters {
        let q = f.query();
        let model: BTreeSet<String> = chats
            .iter()
            .zip(&ids)
            .filter(|(c, _)| f.keeps(c))
            .map(|(_, id)| id.clone())
            .collect();
        let table = ids_of_pages(&org, &format!("/reports/conversations?{q}")).await;
        let api = ids_of_pages(&org, &format!("/conversations?{q}")).await;
        let (status, _, csv) = org
            .admin
            .get_text(&org.path(&format!("/exports/conversations.csv?{q}")))
            .await;
        assert_eq!(status, 200, "{csv}");
        let mut reader = csv::Reader::from_reader(csv.as_bytes());
        let exported: BTreeSet<String> = reader.records().map(|r| r.unwrap()[0].to_owned()).collect();
        assert_eq!(table, model, "table vs model for {f:?}");
        assert_eq!(api, model, "API vs model for {f:?}");
        assert_eq!(exported, model, "CSV vs model for {f:?}");
    }

    // The tiles count what the model says, around Auckland's midnight.
    let tiles = org.admin.get(&org.path("/reports/console")).await.body;
    let count = |keep: &dyn Fn(&Chat) -> bool| chats.iter().filter(|c| keep(c)).count() as u64;
    assert_eq!(
        tiles["unassigned"].as_u64(),
        Some(count(&|c| c.assign.is_none())),
        "{tiles}"
    );
    assert_eq!(
        tiles["active"].as_u64(),
        Some(count(&|c| c.assign.is_some() && c.resolve.is_none())),
        "{tiles}"
    );
    assert_eq!(
        tiles["completed_today"].as_u64(),
        Some(count(&|c| c.resolve.is_some_and(|t| t >= local_midnight()))),
        "{tiles}"
    );
}
