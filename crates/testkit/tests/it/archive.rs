//! The archive's irreversible edges (issue 20): the retention dry run,
//! legal hold that survives every purge, permanent deletion of a
//! conversation and erasure of a contact, each audited, admins only, and
//! gone from search and from stored files afterwards.

use std::sync::Arc;

use reqwest::Method;
use serde_json::{Value, json};
use switchboard_service::ManualClock;
use switchboard_testkit::client::{Reply, post_hook};
use switchboard_testkit::fixtures::Org;
use switchboard_testkit::media::png;
use switchboard_testkit::{MONDAY_9AM, TestApp, TestOptions};

const DAY: i64 = 86_400_000;

async fn start() -> (TestApp, Arc<ManualClock>) {
    let clock = Arc::new(ManualClock::new(MONDAY_9AM));
    let mut options = TestOptions {
        manual_clock: Some(clock.clone()),
        ..TestOptions::default()
    };
    options.service.run_jobs = false;
    options.service.session_ttl = std::time::Duration::from_secs(365 * 24 * 3600);
    (TestApp::spawn_with(options).await, clock)
}

fn ok(r: &Reply) {
    assert!(r.status.is_success(), "{}: {:?}", r.status, r.body);
}

/// A customer writes; returns the conversation id.
async fn chat(app: &TestApp, org: &Org, customer: &str, text: &str) -> String {
    let r = post_hook(
        app,
        &org.channel,
        &org.secret,
        &json!({"message_id": format!("m-{customer}-{text}"), "contact": {"id": customer, "name": customer}, "text": text}),
    )
    .await;
    assert_eq!(r.status, 200, "{:?}", r.body);
    r.body["conversation_id"].as_str().unwrap().to_owned()
}

async fn resolve(org: &Org, conversation: &str) {
    let r = org
        .admin
        .post(
            &org.path(&format!("/conversations/{conversation}/status")),
            json!({"status": "resolved"}),
        )
        .await;
    ok(&r);
}

async fn contact_of(org: &Org, conversation: &str) -> String {
    let r = org
        .admin
        .get(&org.path(&format!("/conversations/{conversation}")))
        .await;
    r["contact_id"].as_str().unwrap().to_owned()
}

async fn search_count(org: &Org, q: &str) -> usize {
    let r = org.admin.get(&org.path(&format!("/search?q={q}"))).await;
    assert_eq!(r.status, 200, "{:?}", r.body);
    r["items"].as_array().unwrap().len()
}

async fn audit(org: &Org, action: &str) -> Vec<Value> {
    let r = org.admin.get(&org.path(&format!("/audit-log?action={action}"))).await;
    r["items"].as_array().unwrap().clone()
}

async fn run_timers(app: &TestApp) {
    while app.services.run_due_jobs().await.expect("run jobs") > 0 {}
}

#[tokio::test]
async fn a_dry_run_names_what_the_purge_deletes_and_legal_hold_survives_it() {
    let (app, clock) = start().await;
    let org = Org::create(&app).await;
    let r = org
        .admin
        .patch(&org.path("/settings"), json!({"retention_days": 30}))
        .await;
    ok(&r);
    let old = chat(&app, &org, "old", "first").await;
    let held = chat(&app, &org, "held", "second").await;
    let held_contact = chat(&app, &org, "kept", "third").await;
    let open = chat(&app, &org, "open", "fourth").await;
    for c in [&old, &held, &held_contact] {
        resolve(&org, c).await;
    }
    let _ = open;
    clock.set(switchboard_core::Millis(MONDAY_9AM.0 + 31 * DAY));

    // Holds: one conversation, one contact.
    let r = org
        .admin
        .put(&org.path(&format!("/conversations/{held}/hold")), json!({"held": true}))
        .await;
    assert_eq!(
        (r.status.as_u16(), &r.body["held"]),
        (200, &json!(true)),
        "{:?}",
        r.body
    );
    let kept = contact_of(&org, &held_contact).await;
    let r = org
        .admin
        .put(&org.path(&format!("/contacts/{kept}/hold")), json!({"held": true}))
        .await;
    assert_eq!(r.status, 204, "{:?}", r.body);
    let r = org
        .admin
        .get(&org.path(&format!("/conversations/{held_contact}/hold")))
        .await;
    assert_eq!(r.body, json!({"held": true, "conversation": false, "contact": true}));
    // Agents may see a hold but not set one.
    let r = org
        .agent
        .put(&org.path(&format!("/conversations/{old}/hold")), json!({"held": true}))
        .await;
    assert_eq!(r.status, 403, "{:?}", r.body);

    // The dry run counts only the old, unheld, closed one, and changes nothing.
    let preview = org.admin.get(&org.path("/retention/preview")).await;
    assert_eq!(preview.status, 200, "{:?}", preview.body);
    assert_eq!(preview["conversations"], 1, "{:?}", preview.body);
    assert_eq!(preview["oldest"][0]["id"], json!(old));
    assert_eq!(preview["retention_days"], 30);
    assert_eq!(org.agent.get(&org.path("/retention/preview")).await.status, 403);
    // The settings page shows the same dry run.
    let (status, _, page) = org.admin.get_text(&format!("/w/{}/admin/settings", org.ws)).await;
    assert_eq!(status, 200);
    assert!(page.contains("Next retention purge (dry run)"), "{page}");
    assert!(page.contains("<strong>1</strong> conversation and"), "{page}");
    assert!(page.contains(&format!("/conversations/{old}")), "{page}");
    assert_eq!(
        org.admin.get(&org.path(&format!("/conversations/{old}"))).await.status,
        200
    );

    // The purge deletes exactly that one.
    run_timers(&app).await;
    assert_eq!(
        org.admin.get(&org.path(&format!("/conversations/{old}"))).await.status,
        404
    );
    for c in [&held, &held_contact, &open] {
        assert_eq!(
            org.admin.get(&org.path(&format!("/conversations/{c}"))).await.status,
            200
        );
    }
    assert_eq!(search_count(&org, "first").await, 0);
    assert_eq!(search_count(&org, "second").await, 1);

    // Lifted holds are audited, and the next purge takes them.
    let r = org
        .admin
        .put(
            &org.path(&format!("/conversations/{held}/hold")),
            json!({"held": false}),
        )
        .await;
    ok(&r);
    assert_eq!(audit(&org, "legal_hold.set").await.len(), 2);
    assert_eq!(audit(&org, "legal_hold.lifted").await.len(), 1);
    let preview = org.admin.get(&org.path("/retention/preview")).await;
    assert_eq!(preview["conversations"], 1, "{:?}", preview.body);
}

#[tokio::test]
async fn an_admin_deletes_a_conversation_for_good() {
    let (app, _clock) = start().await;
    let org = Org::create(&app).await;
    let gone = chat(&app, &org, "dana", "please forget me").await;
    let other = chat(&app, &org, "eve", "please keep me").await;
    let shared = png(40, 40, 0);
    let mut shared_sha = String::new();
    for c in [&gone, &other] {
        let r = org
            .admin
            .send_raw(
                Method::POST,
                &org.path(&format!("/conversations/{c}/attachments?filename=a.png")),
                Some("image/png"),
                shared.clone(),
            )
            .await;
        assert_eq!(r.status, 201, "{:?}", r.body);
        shared_sha = r["attachments"][0]["sha256"].as_str().unwrap().to_owned();
    }
    let only_here = org
        .admin
        .send_raw(
            Method::POST,
            &org.path(&format!("/conversations/{gone}/attachments?filename=b.png")),
            Some("image/png"),
            png(41, 41, 0),
        )
        .await;
    let only_key = switchboard_service::storage_key(only_here["attachments"][0]["sha256"].as_str().unwrap());
    let shared_key = switchboard_service::storage_key(&shared_sha);
    assert!(app.attachments.path().join(&only_key).is_file());

    // Agents cannot; a held one cannot be deleted; unknown ids are 404.
    let path = org.path(&format!("/conversations/{gone}"));
    assert_eq!(org.agent.delete(&path).await.status, 403);
    ok(&org.admin.put(&format!("{path}/hold"), json!({"held": true})).await);
    let r = org.admin.delete(&path).await;
    assert_eq!((r.status.as_u16(), r.code()), (409, "conflict"), "{:?}", r.body);
    ok(&org.admin.put(&format!("{path}/hold"), json!({"held": false})).await);
    let unknown = org.path("/conversations/01900000-0000-7000-8000-000000000000");
    assert_eq!(org.admin.delete(&unknown).await.status, 404);

    let r = org.admin.delete(&path).await;
    assert_eq!(r.status, 200, "{:?}", r.body);
    assert_eq!(r["conversations"], 1);
    assert_eq!(r["attachments"], 2);
    assert!(r["files"].as_u64().unwrap() >= 1, "{:?}", r.body);
    assert_eq!(org.admin.get(&path).await.status, 404);
    assert_eq!(org.admin.delete(&path).await.status, 404);
    assert_eq!(search_count(&org, "forget").await, 0);
    assert_eq!(search_count(&org, "keep").await, 1);
    // Its own file went; the one the other chat shares stayed.
    assert!(!app.attachments.path().join(&only_key).exists());
    assert!(app.attachments.path().join(&shared_key).is_file());
    let entries = audit(&org, "conversation.deleted").await;
    assert_eq!(entries.len(), 1);
    assert!(entries[0]["details"]["messages"].as_u64().unwrap() >= 1, "{entries:?}");

    // Another workspace's admin gets 404 on this one's chats.
    let (stranger, other_ws) = app.other_workspace("olga@other.test").await;
    let r = stranger
        .delete(&format!("/api/v1/workspaces/{other_ws}/conversations/{other}"))
        .await;
    assert_eq!(r.status, 404, "{:?}", r.body);
    assert_eq!(
        org.admin
            .get(&org.path(&format!("/conversations/{other}")))
            .await
            .status,
        200
    );
}

#[tokio::test]
async fn erasing_a_contact_removes_them_and_all_their_chats() {
    let (app, _clock) = start().await;
    let org = Org::create(&app).await;
    let first = chat(&app, &org, "zoe", "my address is Elm street").await;
    resolve(&org, &first).await;
    let second = chat(&app, &org, "zoe", "and my phone is 555").await;
    let bystander = chat(&app, &org, "yan", "Elm street too").await;
    let contact = contact_of(&org, &first).await;
    let path = org.path(&format!("/contacts/{contact}"));
    assert_eq!(org.agent.delete(&path).await.status, 403);
    // A hold on one of their chats stops the erasure.
    ok(&org
        .admin
        .put(
            &org.path(&format!("/conversations/{second}/hold")),
            json!({"held": true}),
        )
        .await);
    assert_eq!(org.admin.delete(&path).await.status, 409);
    ok(&org
        .admin
        .put(
            &org.path(&format!("/conversations/{second}/hold")),
            json!({"held": false}),
        )
        .await);

    let r = org.admin.delete(&path).await;
    assert_eq!(r.status, 200, "{:?}", r.body);
    assert_eq!(r["conversations"], 2, "{:?}", r.body);
    assert_eq!(org.admin.get(&path).await.status, 404);
    for c in [&first, &second] {
        assert_eq!(
            org.admin.get(&org.path(&format!("/conversations/{c}"))).await.status,
            404
        );
    }
    assert_eq!(search_count(&org, "elm").await, 1);
    assert_eq!(search_count(&org, "zoe").await, 0);
    assert_eq!(
        org.admin
            .get(&org.path(&format!("/conversations/{bystander}")))
            .await
            .status,
        200
    );
    assert_eq!(audit(&org, "contact.erased").await.len(), 1);
}

#[tokio::test]
async fn exports_stream_one_row_per_conversation_within_the_callers_reach() {
    let (app, _clock) = start().await;
    let org = Org::create(&app).await;
    let a = chat(&app, &org, "@SUM(A1)", "refund for my order").await;
    let _b = chat(&app, &org, "Bea", "where is my parcel").await;
    let r = org
        .admin
        .post(
            &org.path(&format!("/conversations/{a}/assign")),
            json!({"user_id": org.agent_id, "force": true}),
        )
        .await;
    ok(&r);
    ok(&org
        .agent
        .post(
            &org.path(&format!("/conversations/{a}/messages")),
            json!({"kind": "text", "body": "Refund sent"}),
        )
        .await);
    resolve(&org, &a).await;
    for tag in ["vip", "billing"] {
        let r = org.admin.post(&org.path("/tags"), json!({"name": tag})).await;
        assert_eq!(r.status, 201, "{:?}", r.body);
    }
    let r = org
        .admin
        .put(
            &org.path(&format!("/conversations/{a}/tags")),
            json!({"tags": ["vip", "billing"]}),
        )
        .await;
    assert_eq!(r.status, 200, "{:?}", r.body);
    // The list, the console's table and the export read the tags with
    // their page, by name.
    let r = org.admin.get(&org.path("/conversations")).await;
    // Each row's tags, the tagged chat's first.
    let tags_of_rows = |body: &Value| -> Vec<Value> {
        let mut rows: Vec<&Value> = body["items"].as_array().unwrap().iter().collect();
        rows.sort_by_key(|c| c["id"] != a.as_str());
        rows.iter().map(|c| c["tags"].clone()).collect()
    };
    assert_eq!(
        tags_of_rows(&r.body),
        [json!(["billing", "vip"]), json!([])],
        "{:?}",
        r.body
    );
    let r = org.admin.get(&org.path("/reports/conversations")).await;
    assert_eq!(
        tags_of_rows(&r.body),
        [json!("billing, vip"), json!("")],
        "{:?}",
        r.body
    );

    let (status, content_type, csv) = org.admin.get_text(&org.path("/exports/conversations.csv")).await;
    assert_eq!(
        (status, content_type.as_str()),
        (200, "text/csv; charset=utf-8"),
        "{csv}"
    );
    let mut reader = csv::Reader::from_reader(csv.as_bytes());
    let header: Vec<String> = reader.headers().unwrap().iter().map(String::from).collect();
    for column in [
        "customer",
        "agent",
        "team",
        "channel_kind",
        "created",
        "closed",
        "duration_seconds",
        "rating",
        "status",
        "close_reason",
        "inactivity_seconds",
        "response_seconds",
        "response_after_assignment_seconds",
        "sent_by",
        "tags",
        "country",
        "messages_from_customer",
        "messages_to_customer",
    ] {
        assert!(header.iter().any(|h| h == column), "{column} in {header:?}");
    }
    let rows: Vec<csv::StringRecord> = reader.records().map(|r| r.unwrap()).collect();
    assert_eq!(rows.len(), 2, "{csv}");
    let col = |name: &str| header.iter().position(|h| h == name).unwrap();
    let resolved = rows.iter().find(|r| &r[col("id")] == a.as_str()).unwrap();
    // Formulas never run in a spreadsheet.
    assert_eq!(&resolved[col("customer")], "'@SUM(A1)");
    assert_eq!(&resolved[col("agent")], "Ana Agent");
    assert_eq!(&resolved[col("status")], "resolved");
    assert_eq!(&resolved[col("sent_by")], "customer");
    assert_eq!(
        (
            &resolved[col("messages_from_customer")],
            &resolved[col("messages_to_customer")]
        ),
        ("1", "1")
    );
    assert_eq!(&resolved[col("response_seconds")], "0");
    assert_eq!(&resolved[col("tags")], "billing, vip");

    // The search and filters apply; JSON Lines carry the same rows.
    let (status, content_type, lines) = org
        .admin
        .get_text(&org.path("/exports/conversations.jsonl?q=parcel"))
        .await;
    assert_eq!((status, content_type.as_str()), (200, "application/x-ndjson"));
    let rows: Vec<Value> = lines.lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0]["customer"], "Bea");

    // An agent of another team exports nothing of Support's chats.
    let team = org.admin.post(&org.path("/teams"), json!({"name": "Sales"})).await;
    let (outsider, _) = org
        .member(&app, "sam@acme.test", "Sam", "agent", &[team["id"].as_str().unwrap()])
        .await;
    let (status, _, csv) = outsider.get_text(&org.path("/exports/conversations.csv")).await;
    assert_eq!((status, csv.lines().count()), (200, 1), "{csv}");
    // Bad filters are a clear error; each export is audited.
    let r = org.admin.get(&org.path("/exports/conversations.csv?rating=9")).await;
    assert_eq!(r.status, 422, "{:?}", r.body);
    assert_eq!(audit(&org, "conversations.exported").await.len(), 3);
}

/// The workbook, opened by Python's own ZIP reader and XML parser.
const READ_XLSX: &str = r#"
import sys, zipfile, xml.etree.ElementTree as ET
z = zipfile.ZipFile(sys.argv[1])
assert z.testzip() is None
names = set(z.namelist())
assert {"[Content_Types].xml", "xl/workbook.xml", "xl/worksheets/sheet1.xml"} <= names, names
ns = {"m": "http://schemas.openxmlformats.org/spreadsheetml/2006/main"}
rows = ET.fromstring(z.read("xl/worksheets/sheet1.xml")).findall(".//m:row", ns)
for row in rows:
    cells = []
    for c in row.findall("m:c", ns):
        t = c.find("m:is/m:t", ns)
        v = c.find("m:v", ns)
        cells.append(t.text if t is not None else (v.text if v is not None else ""))
    print("\t".join(cells))
"#;

#[tokio::test]
async fn an_excel_export_is_a_workbook_with_the_same_rows() {
    let (app, _clock) = start().await;
    let org = Org::create(&app).await;
    let first = chat(&app, &org, "=1+1", "first <question> & more").await;
    resolve(&org, &first).await;
    chat(&app, &org, "Bea", "second").await;
    let url = format!("{}{}", org.admin.base, org.path("/exports/conversations.xlsx"));
    let mut req = org.admin.http.get(&url);
    if let Some(token) = &org.admin.bearer {
        req = req.bearer_auth(token);
    }
    let response = req.send().await.unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(
        response.headers()["content-type"],
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    );
    let bytes = response.bytes().await.unwrap();
    let file = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(file.path(), &bytes).unwrap();
    let out = std::process::Command::new("python3")
        .args(["-c", READ_XLSX])
        .arg(file.path())
        .output()
        .expect("python3");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let text = String::from_utf8_lossy(&out.stdout);
    let rows: Vec<Vec<&str>> = text.lines().map(|l| l.split('\t').collect()).collect();
    assert_eq!(rows.len(), 3, "{text}");
    assert_eq!(&rows[0][..3], ["id", "customer", "identifier"]);
    let resolved = rows.iter().find(|r| r[0] == first).expect("the resolved chat");
    // Text that would run as a formula starts with ', as in the CSV.
    assert_eq!(resolved[1], "'=1+1");
    assert_eq!(resolved[7], "resolved");
}

#[tokio::test]
async fn closed_months_are_archived_and_only_archived_months_are_purged() {
    let at = |s: &str| switchboard_core::Millis(chrono_millis(s));
    let clock = Arc::new(ManualClock::new(at("2026-09-10T10:00:00Z")));
    let mut options = TestOptions {
        manual_clock: Some(clock.clone()),
        ..TestOptions::default()
    };
    options.service.run_jobs = false;
    options.service.session_ttl = std::time::Duration::from_secs(365 * 24 * 3600);
    let app = TestApp::spawn_with(options).await;
    let org = Org::create(&app).await;
    let r = org
        .admin
        .patch(
            &org.path("/settings"),
            json!({"retention_days": 30, "monthly_archive": true}),
        )
        .await;
    assert_eq!(
        (r.status.as_u16(), &r.body["monthly_archive"]),
        (200, &json!(true)),
        "{:?}",
        r.body
    );
    let september = chat(&app, &org, "sep", "a September question").await;
    resolve(&org, &september).await;
    clock.set(at("2026-10-05T10:00:00Z"));
    let october = chat(&app, &org, "oct", "an October question").await;
    let r = org
        .admin
        .send_raw(
            Method::POST,
            &org.path(&format!("/conversations/{october}/attachments?filename=o.png")),
            Some("image/png"),
            png(20, 20, 0),
        )
        .await;
    assert_eq!(r.status, 201, "{:?}", r.body);
    resolve(&org, &october).await;
    clock.set(at("2026-11-20T10:00:00Z"));
    // Past retention, but no month is written yet: nothing may go.
    let preview = org.admin.get(&org.path("/retention/preview")).await;
    assert_eq!(preview["conversations"], 0, "{:?}", preview.body);

    run_timers(&app).await;
    let list = org.admin.get(&org.path("/archives")).await;
    assert_eq!(list.status, 200, "{:?}", list.body);
    let months: Vec<(&str, u64)> = list["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| (a["month"].as_str().unwrap(), a["conversations"].as_u64().unwrap()))
        .collect();
    assert_eq!(months, [("2026-10", 1), ("2026-09", 1)]);
    assert_eq!(org.agent.get(&org.path("/archives")).await.status, 403);
    // The October archive holds its transcript and file, read by Python's zipfile.
    let (status, content_type, _) = org.admin.get_text(&org.path("/archives/2026-10")).await;
    assert_eq!((status, content_type.as_str()), (200, "application/zip"));
    let url = format!("{}{}", org.admin.base, org.path("/archives/2026-10"));
    let bytes = org.admin.http.get(&url).send().await.unwrap().bytes().await.unwrap();
    let file = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(file.path(), &bytes).unwrap();
    let out = std::process::Command::new("python3")
        .args(["-c", "import sys, zipfile, json\nz = zipfile.ZipFile(sys.argv[1])\nassert z.testzip() is None\nfor n in z.namelist(): print(n)"])
        .arg(file.path())
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let names = String::from_utf8_lossy(&out.stdout);
    assert!(names.contains(&format!("conversations/{october}.json")), "{names}");
    assert!(names.contains(&format!("files/{october}/001-o.png")), "{names}");
    assert!(!names.contains(&september), "{names}");
    assert_eq!(org.admin.get(&org.path("/archives/2026-08")).await.status, 404);

    // Now archived, the next purge takes them.
    clock.set(at("2026-11-20T12:00:00Z"));
    run_timers(&app).await;
    for c in [&september, &october] {
        assert_eq!(
            org.admin.get(&org.path(&format!("/conversations/{c}"))).await.status,
            404
        );
    }
}

fn chrono_millis(rfc3339: &str) -> i64 {
    chrono::DateTime::parse_from_rfc3339(rfc3339)
        .unwrap()
        .timestamp_millis()
}
