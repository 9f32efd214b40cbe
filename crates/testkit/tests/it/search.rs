//! Whole-archive search (issue 20): words, phrases, exclusions and
//! prefixes over messages, notes and contact fields, accents and case
//! folded, with a snippet of the match; any input answers normally; the
//! caller's visibility holds; SQLite and PostgreSQL find the same set.

use std::collections::BTreeSet;

use serde_json::json;
use switchboard_testkit::TestApp;
use switchboard_testkit::client::post_hook;
use switchboard_testkit::db::{Backend, TestDb};
use switchboard_testkit::fixtures::Org;

/// The archive the searches run on: customer id, name, what they wrote.
const CHATS: &[(&str, &str, &str)] = &[
    ("c1", "Renée Dupont", "Ma crème brûlée est arrivée froide"),
    ("c2", "Bob Stone", "My parcel was delivered late again"),
    ("c3", "Chen Wei", "Where is the delivery? Order A-123"),
    ("c4", "Dora Diaz", "The late delivery cost me a refund"),
    ("c5", "Eve Adams", "Spam spam spam, late delivery"),
    ("c6", "Frank Ocean", "Nothing to see here"),
];

/// Build the archive: one chat per customer, an agent's note in c6.
async fn archive(app: &TestApp) -> (Org, Vec<(String, String)>) {
    let org = Org::create(app).await;
    let mut ids = Vec::new();
    for (i, (customer, name, text)) in CHATS.iter().enumerate() {
        let r = post_hook(
            app,
            &org.channel,
            &org.secret,
            &json!({"message_id": format!("m-{i}"), "contact": {"id": customer, "name": name}, "text": text}),
        )
        .await;
        assert_eq!(r.status, 200, "{:?}", r.body);
        ids.push((customer.to_string(), r["conversation_id"].as_str().unwrap().to_owned()));
    }
    let c6 = &ids[5].1;
    let note = org
        .admin
        .post(
            &org.path(&format!("/conversations/{c6}/messages")),
            json!({"kind": "note", "body": "Customer asked about the Zürich warehouse"}),
        )
        .await;
    assert_eq!(note.status, 201, "{:?}", note.body);
    (org, ids)
}

/// The customers whose chats `q` finds, by the search endpoint.
async fn found(org: &Org, ids: &[(String, String)], q: &str) -> BTreeSet<String> {
    let url = reqwest::Url::parse_with_params("http://x/search", &[("q", q), ("limit", "200")]).unwrap();
    let r = org
        .admin
        .get(&org.path(&format!("/search?{}", url.query().unwrap())))
        .await;
    let (status, body) = (r.status.as_u16(), r.body);
    assert_eq!(status, 200, "{q}: {body}");
    body["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|hit| {
            let id = hit["conversation"]["id"].as_str().unwrap();
            ids.iter().find(|(_, c)| c == id).expect("a known chat").0.clone()
        })
        .collect()
}

fn set(names: &[&str]) -> BTreeSet<String> {
    names.iter().map(|s| s.to_string()).collect()
}

/// Queries with known answers on [`CHATS`].
const EXPECTED: &[(&str, &[&str])] = &[
    ("delivery", &["c3", "c4", "c5"]),
    ("DELIVERY", &["c3", "c4", "c5"]),
    ("creme brulee", &["c1"]),
    ("CRÈME", &["c1"]),
    ("\"late delivery\"", &["c4", "c5"]),
    ("late -spam", &["c2", "c4"]),
    ("deliver*", &["c2", "c3", "c4", "c5"]),
    ("zurich", &["c6"]),
    ("a-123", &["c3"]),
    ("Stone", &["c2"]),
    // Contacts by index: accents folded, the start of a name or identity.
    ("renee", &["c1"]),
    ("dup", &["c1"]),
    ("c4", &["c4"]),
    ("-spam", &["c1", "c2", "c3", "c4", "c6"]),
    ("refund late", &["c4"]),
    ("nomatchword", &[]),
];

#[tokio::test]
async fn search_finds_messages_notes_and_contacts_with_phrases_exclusions_and_prefixes() {
    let app = TestApp::spawn().await;
    let (org, ids) = archive(&app).await;
    for (q, want) in EXPECTED {
        assert_eq!(found(&org, &ids, q).await, set(want), "{q}");
    }
    // The snippet marks the words as the customer wrote them.
    let r = org.admin.get(&org.path("/search?q=creme")).await;
    let snippet = &r["items"][0]["snippet"];
    let marked: Vec<&str> = snippet
        .as_array()
        .unwrap()
        .iter()
        .filter(|p| p["hit"] == true)
        .map(|p| p["text"].as_str().unwrap())
        .collect();
    assert_eq!(marked, ["crème"], "{snippet}");
    // The conversation list takes the same `q`.
    let r = org.admin.get(&org.path("/conversations?q=zurich")).await;
    assert_eq!(r["items"].as_array().unwrap().len(), 1, "{:?}", r.body);
}

#[tokio::test]
async fn hostile_queries_answer_normally() {
    let app = TestApp::spawn().await;
    let (org, ids) = archive(&app).await;
    let long = "x\"(*".repeat(2_500);
    for q in [
        "\"",
        "NEAR(",
        "*",
        "-",
        ":",
        "delivery:late",
        "((",
        "\"late",
        "a AND OR NOT",
        "'; DROP TABLE messages; --",
        &long,
    ] {
        let _ = found(&org, &ids, q).await;
    }
    assert_eq!(found(&org, &ids, "NEAR(delivery").await, set(&[]));
    assert_eq!(found(&org, &ids, "\"late delivery").await, set(&["c4", "c5"]));
}

#[tokio::test]
async fn an_agent_finds_nothing_of_another_teams_chats() {
    let app = TestApp::spawn().await;
    let (org, ids) = archive(&app).await;
    // A second team and its agent: the chats went to Support.
    let team = org.admin.post(&org.path("/teams"), json!({"name": "Sales"})).await;
    assert_eq!(team.status, 201, "{:?}", team.body);
    let (outsider, _) = org
        .member(&app, "olga@acme.test", "Olga", "agent", &[team["id"].as_str().unwrap()])
        .await;
    // Chats routed to Support and assigned or queued there are out of her reach.
    let r = outsider.get(&org.path("/search?q=delivery")).await;
    assert_eq!(r.status, 200);
    let seen: Vec<&str> = r["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| h["conversation"]["id"].as_str().unwrap())
        .collect();
    assert!(seen.is_empty(), "{seen:?} of {ids:?}");
    // Ana, in Support, finds them.
    let r = org.agent.get(&org.path("/search?q=delivery")).await;
    assert_eq!(r["items"].as_array().unwrap().len(), 3, "{:?}", r.body);
}

#[tokio::test]
async fn deleted_chats_leave_the_index() {
    let app = TestApp::spawn().await;
    let (org, ids) = archive(&app).await;
    assert_eq!(found(&org, &ids, "froide").await, set(&["c1"]));
    // The contact's erasure removes its chats and their messages.
    let conversation = org.admin.get(&org.path(&format!("/conversations/{}", ids[0].1))).await;
    let contact = conversation["contact_id"].as_str().unwrap().to_owned();
    let r = org.admin.delete(&org.path(&format!("/contacts/{contact}"))).await;
    assert!(r.status.is_success(), "{:?}", r.body);
    assert_eq!(found(&org, &ids, "froide").await, set(&[]));
    // Nothing matches through the raw index either.
    let r = org.admin.get(&org.path("/search?q=froide")).await;
    assert_eq!(r["items"].as_array().unwrap().len(), 0);
}

#[tokio::test]
async fn sqlite_and_postgresql_find_the_same_set() {
    let sqlite = TestApp::spawn_on(TestDb::for_backend(Backend::Sqlite).await, Default::default()).await;
    let postgres = TestApp::spawn_on(TestDb::for_backend(Backend::Postgres).await, Default::default()).await;
    let (org_a, ids_a) = archive(&sqlite).await;
    let (org_b, ids_b) = archive(&postgres).await;
    let extra = [
        "late",
        "deliver",
        "\"delivered late\"",
        "arrivee",
        "order*",
        "-late",
        "ma creme",
        "123",
        "see -nothing",
    ];
    for q in EXPECTED.iter().map(|(q, _)| *q).chain(extra) {
        assert_eq!(found(&org_a, &ids_a, q).await, found(&org_b, &ids_b, q).await, "{q}");
    }
}
