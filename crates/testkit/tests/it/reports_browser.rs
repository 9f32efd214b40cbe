//! The console and analytics in a real Chromium (issue 21): the tiles
//! change live as a chat arrives, is assigned and is resolved; an admin
//! transfers a chat from its table row; the analytics page draws its
//! charts; the printed report and its PDF (text read back with
//! `pdftotext`). Screenshots under test-output/reports/.

use serde_json::json;
use switchboard_testkit::TestApp;
use switchboard_testkit::browser::Browser;
use switchboard_testkit::fixtures::Org;

async fn tile(browser: &Browser, label: &str) -> String {
    browser
        .eval(&format!(
            "return document.querySelector('[data-tile=\"{label}\"]')?.textContent ?? ''"
        ))
        .await
        .as_str()
        .unwrap_or_default()
        .to_owned()
}

async fn wait_tile(browser: &Browser, label: &str, value: &str) {
    for _ in 0..100 {
        if tile(browser, label).await == value {
            return;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    panic!("tile {label} never showed {value}: {}", tile(browser, label).await);
}

#[tokio::test]
async fn tiles_update_live_an_admin_transfers_from_a_row_and_the_report_prints() {
    let Some(browser) = Browser::start("reports").await else {
        return;
    };
    let app = TestApp::spawn().await;
    let org = Org::create(&app).await;
    let billing = org
        .admin
        .post(
            &org.path("/teams"),
            json!({"name": "Billing", "assignment_rule": "manual"}),
        )
        .await;
    let billing = billing["id"].as_str().unwrap().to_owned();

    browser.sign_in(&app, "ada@acme.test", "admin password 1").await;
    browser
        .client
        .goto(&app.url(&format!("/w/{}/console", org.ws)))
        .await
        .unwrap();
    browser.wait_for("#tiles").await;
    assert_eq!(tile(&browser, "Unassigned").await, "0");
    assert!(browser.text("#table").await.contains("No conversations match"));

    // A chat arrives (nobody is online: it waits), is assigned, is resolved.
    let r = org
        .customer_says(&app, "m-1", "carla", "Hello, my parcel is late")
        .await;
    let id = r["conversation_id"].as_str().unwrap().to_owned();
    wait_tile(&browser, "Unassigned", "1").await;
    let r = org
        .admin
        .post(
            &org.path(&format!("/conversations/{id}/assign")),
            json!({"user_id": org.agent_id, "force": true}),
        )
        .await;
    assert!(r.status.is_success(), "{:?}", r.body);
    wait_tile(&browser, "Active", "1").await;
    assert_eq!(tile(&browser, "Unassigned").await, "0");
    browser.screenshot("console-live").await;

    // The row's Notes shows the chat's private notes.
    let r = org
        .admin
        .post(
            &org.path(&format!("/conversations/{id}/messages")),
            json!({"kind": "note", "body": "VIP <b>customer</b>"}),
        )
        .await;
    assert_eq!(r.status, 201, "{:?}", r.body);
    browser
        .wait_for(&format!("tr[data-id='{id}'] details.menu summary"))
        .await;
    browser.click(&format!("tr[data-id='{id}'] details.menu summary")).await;
    browser.click(&format!("tr[data-id='{id}'] [data-notes]")).await;
    browser.wait_for_text("#notes-list", "VIP <b>customer</b>").await;
    assert!(browser.text("#notes-list").await.contains("Ada Admin · note"));
    browser.click("#notes-dialog [data-close]").await;

    // Transfer from the row's menu to the Billing team.
    // Open the menu and click in one step: a live update may redraw the
    // row (its menu closed) between two WebDriver calls.
    switchboard_testkit::eventually(std::time::Duration::from_secs(10), || async {
        let clicked = browser
            .eval(&format!(
                "const d = document.querySelector(\"tr[data-id='{id}'] details.menu\"); if (!d) return false; \
                 d.open = true; const b = d.querySelector('[data-transfer]'); \
                 if (!b || b.offsetParent === null) return false; b.click(); return true;"
            ))
            .await;
        (clicked == json!(true)).then_some(())
    })
    .await;
    browser
        .wait_for(&format!("#transfer-targets input[value='team:{billing}']"))
        .await;
    browser
        .click(&format!("#transfer-targets input[value='team:{billing}']"))
        .await;
    browser.fill("#transfer-comment", "Billing question").await;
    browser.screenshot("console-transfer").await;
    browser.click("#transfer-dialog button[type=submit]").await;
    let mut moved = false;
    for _ in 0..50 {
        let c = org.admin.get(&org.path(&format!("/conversations/{id}"))).await;
        if c["team_id"] == billing.as_str() {
            moved = true;
            assert_eq!(c["status"], "queued", "a team without online agents queues it");
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert!(moved, "the transfer reached the server");
    wait_tile(&browser, "Unassigned", "1").await;

    // Resolved: completed today.
    let r = org
        .admin
        .post(
            &org.path(&format!("/conversations/{id}/assign")),
            json!({"user_id": org.agent_id, "team_id": org.team, "force": true}),
        )
        .await;
    assert!(r.status.is_success(), "{:?}", r.body);
    let r = org
        .agent
        .post(
            &org.path(&format!("/conversations/{id}/status")),
            json!({"status": "resolved", "reason": "Problem solved"}),
        )
        .await;
    assert!(r.status.is_success(), "{:?}", r.body);
    wait_tile(&browser, "Completed today", "1").await;
    browser.wait_for_text("#table", "Problem solved").await;
    browser.screenshot("console").await;

    // The supervisor board's Closed tab: the chat under Ana, counted.
    browser
        .client
        .goto(&app.url(&format!("/w/{}/supervisor?tab=closed", org.ws)))
        .await
        .unwrap();
    browser.wait_for_text(".board-main h2", "Closed chats by agent").await;
    let ana_count = browser
        .eval(&format!(
            "return document.querySelector('.agent-list a[data-agent=\"{}\"] .count').textContent",
            org.agent_id
        ))
        .await;
    assert_eq!(ana_count, json!("1"));
    assert!(browser.text(".board-main").await.contains("Carla Customer"));
    browser.screenshot("supervisor-closed").await;

    // Analytics: charts with titles, the numbers in tables.
    browser
        .client
        .goto(&app.url(&format!("/w/{}/analytics?by=team", org.ws)))
        .await
        .unwrap();
    browser.wait_for("svg.chart").await;
    let titles = browser
        .eval("return [...document.querySelectorAll('svg.chart title[id]')].map(t => t.textContent)")
        .await;
    assert_eq!(
        titles,
        json!([
            "Conversations per day",
            "Conversations by hour of day",
            "Busiest hours (weekday × hour)",
            "First response time distribution"
        ])
    );
    assert!(browser.text("table.groups").await.contains("Support"));
    browser.screenshot("analytics").await;

    // The printed report, and its PDF read back as text.
    browser
        .client
        .goto(&app.url(&format!("/w/{}/analytics/report?by=agent", org.ws)))
        .await
        .unwrap();
    browser.wait_for("svg.chart").await;
    assert!(browser.text("main").await.contains("Conversations report"));
    browser.screenshot("report").await;
    let pdf = org
        .admin
        .get_bytes(&format!("/w/{}/analytics/report.pdf?by=agent", org.ws))
        .await;
    assert!(pdf.starts_with(b"%PDF-1.4"));
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("report.pdf");
    std::fs::write(&file, &pdf).unwrap();
    let out = std::process::Command::new("pdftotext")
        .args(["-layout", file.to_str().unwrap(), "-"])
        .output();
    match out {
        Ok(out) => {
            assert!(
                out.status.success(),
                "pdftotext: {}",
                String::from_utf8_lossy(&out.stderr)
            );
            let text = String::from_utf8_lossy(&out.stdout);
            for needle in [
                "Acme Support",
                "Conversations report",
                "Conversations",
                "Resolved",
                "By agent",
                "Ana Agent",
            ] {
                assert!(text.contains(needle), "{needle} in the PDF:\n{text}");
            }
        }
        Err(e) => {
            assert_ne!(
                std::env::var("CI").as_deref(),
                Ok("true"),
                "pdftotext is required under CI: {e}"
            );
            eprintln!("pdftotext not installed; the PDF's text is not checked");
        }
    }
    browser.close().await;
}
