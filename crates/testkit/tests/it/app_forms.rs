//! Every form of the agent app refuses bad input the way a person needs:
//! the reason appears next to the field it is about, the field is marked
//! invalid, and what was typed is still there to correct. Driven in real
//! Chromium, one bad value per form, on the admin, profile, contact and
//! conversation pages.

use std::time::Duration;

use fantoccini::Locator;
use serde_json::json;
use switchboard_testkit::TestApp;
use switchboard_testkit::browser::Browser;
use switchboard_testkit::fixtures::Org;

/// One bad value typed into one field of one form.
struct BadInput<'a> {
    /// The form, as a CSS selector.
    form: &'a str,
    /// The field inside it.
    field: &'a str,
    value: &'a str,
    /// The `data-error-for` slot the message must land in.
    error_for: &'a str,
    /// Words the message must contain.
    says: &'a str,
}

/// Type the bad value, submit, and check the message, the mark and the kept text.
async fn refuse(browser: &Browser, page: &str, bad: BadInput<'_>) {
    let BadInput {
        form,
        field,
        value,
        error_for,
        says,
    } = bad;
    let input = format!("{form} {field}");
    browser.fill(&input, value).await;
    browser.click(&format!("{form} button[type=submit]")).await;
    let slot = format!("{form} [data-error-for='{error_for}']");
    let read = format!("return document.querySelector({slot:?})?.textContent ?? '(the form is gone)';");
    let mut message = String::new();
    for _ in 0..200 {
        message = browser.eval(&read).await.as_str().unwrap_or_default().to_owned();
        if !message.is_empty() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(
        message.to_lowercase().contains(says),
        "{page}: {input} = {value:?}: the message next to it was {message:?}"
    );
    assert_eq!(
        browser.value(&input).await,
        value,
        "{page}: {input} keeps what was typed"
    );
    let invalid = browser
        .client
        .find(Locator::Css(&input))
        .await
        .unwrap()
        .attr("aria-invalid")
        .await
        .unwrap();
    assert_eq!(invalid.as_deref(), Some("true"), "{page}: {input} is marked invalid");
    // Still on the same page: nothing was submitted away.
    assert!(
        browser.path().await.ends_with(page.split('?').next().unwrap()),
        "{page}"
    );
}

async fn open(browser: &Browser, app: &TestApp, page: &str) {
    browser.client.goto(&app.url(page)).await.unwrap();
    browser.wait_for("main").await;
}

#[tokio::test]
async fn every_form_puts_its_error_next_to_the_field_and_keeps_the_input() {
    let Some(browser) = Browser::start("app-forms").await else {
        return;
    };
    let app = TestApp::spawn().await;
    let org = Org::create(&app).await;
    org.set_online(&org.agent, &org.agent_id).await;
    org.customer_says(&app, "m1", "carla", "Hello").await;
    let conversation = org.admin.get(&org.path("/conversations?section=assigned")).await["items"][0].clone();
    let id = conversation["id"].as_str().unwrap();
    let contact = conversation["contact_id"].as_str().unwrap();
    let ws = &org.ws;
    browser.sign_in(&app, "ada@acme.test", "admin password 1").await;

    let agents = format!("/w/{ws}/admin/agents");
    open(&browser, &app, &agents).await;
    let invite = "form[data-api$='/users']";
    browser.fill(&format!("{invite} #new-name"), "Nia New").await;
    #[rustfmt::skip]
    let cases = [
        BadInput { form: invite, field: "#new-email", value: "not an address", error_for: "email", says: "e-mail" },
        BadInput { form: "form.row-form[data-api*='/users/']", field: "input[name=capacity]", value: "-1", error_for: "capacity", says: "capacity" },
    ];
    for bad in cases {
        refuse(&browser, &agents, bad).await;
    }
    assert_eq!(browser.value(&format!("{invite} #new-name")).await, "Nia New");

    let teams = format!("/w/{ws}/admin/teams");
    open(&browser, &app, &teams).await;
    browser
        .click("form[data-method='PATCH'][data-api*='/teams/'] details summary")
        .await;
    #[rustfmt::skip]
    let cases = [
        BadInput { form: "form[data-api$='/teams']", field: "#team-name", value: " ", error_for: "name", says: "name" },
        BadInput { form: "form[data-method='PATCH'][data-api*='/teams/']", field: "textarea[name=routing]", value: "{\"business_hours\": {\"time_zone\": \"Mars/Base\"}}", error_for: "routing", says: "time zone" },
    ];
    for bad in cases {
        refuse(&browser, &teams, bad).await;
    }

    let channels = format!("/w/{ws}/admin/channels");
    open(&browser, &app, &channels).await;
    browser.click("#ch-kind option[value='api']").await;
    browser.fill("#ch-name", "Partner API").await;
    #[rustfmt::skip]
    refuse(&browser, &channels, BadInput { form: "form[data-api$='/channels']", field: "#ch-callback", value: "ftp://example.com/x", error_for: "callback_url", says: "http" }).await;
    assert_eq!(browser.value("#ch-name").await, "Partner API");

    let tags = format!("/w/{ws}/admin/tags");
    open(&browser, &app, &tags).await;
    #[rustfmt::skip]
    refuse(&browser, &tags, BadInput { form: "form[data-api$='/tags']", field: "#tag-name", value: &"x".repeat(200), error_for: "name", says: "name" }).await;

    // Business hours as fields: a day written wrongly is pointed at.
    let settings = format!("/w/{ws}/admin/settings");
    open(&browser, &app, &settings).await;
    let hours_form = "form[data-api$='/settings']";
    browser
        .click(&format!("{hours_form} select[data-role=mode] option[value=hours]"))
        .await;
    #[rustfmt::skip]
    refuse(&browser, &settings, BadInput { form: hours_form, field: "input[data-day=tue]", value: "9 to 5", error_for: "routing", says: "tuesday" }).await;
    open(&browser, &app, &settings).await;
    browser.click(&format!("{hours_form} details summary")).await;
    #[rustfmt::skip]
    let cases = [
        BadInput { form: hours_form, field: "input[name=retention_days]", value: "0", error_for: "retention_days", says: "retention_days" },
        BadInput { form: hours_form, field: "#s-routing", value: "{\"expiry_minutes\": 1}", error_for: "routing", says: "expiry_minutes" },
        BadInput { form: "form[data-api$='/attachment-limits']", field: "#l-image", value: "0", error_for: "image", says: "image" },
    ];
    for bad in cases {
        refuse(&browser, &settings, bad).await;
    }

    open(&browser, &app, &settings).await;
    #[rustfmt::skip]
    refuse(&browser, &settings, BadInput { form: hours_form, field: "#s-reasons", value: "Spam\nSpam", error_for: "close_reasons", says: "twice" }).await;

    let tokens = format!("/w/{ws}/admin/tokens");
    open(&browser, &app, &tokens).await;
    #[rustfmt::skip]
    refuse(&browser, &tokens, BadInput { form: "form[data-api$='/api-tokens']", field: "#tok-name", value: " ", error_for: "name", says: "name" }).await;

    for (section, form, field, value, error_for) in [
        (
            "quick-replies",
            "#admin-list form",
            "#f-shortcut",
            "Not a shortcut!",
            "shortcut",
        ),
        ("templates", "#admin-list form", "#f-name", "Order Update", "name"),
    ] {
        let page = format!("/w/{ws}/admin/{section}");
        open(&browser, &app, &page).await;
        browser.wait_for(&format!("{form} {field}")).await;
        let says = error_for;
        refuse(
            &browser,
            &page,
            BadInput {
                form,
                field,
                value,
                error_for,
                says,
            },
        )
        .await;
    }

    let profile = format!("/w/{ws}/profile");
    open(&browser, &app, &profile).await;
    browser.fill("#p-current", "admin password 1").await;
    #[rustfmt::skip]
    refuse(&browser, &profile, BadInput { form: "form[data-api$='/me/password']", field: "#p-new", value: "short", error_for: "new_password", says: "at least" }).await;

    let contact_page = format!("/w/{ws}/contacts/{contact}");
    open(&browser, &app, &contact_page).await;
    #[rustfmt::skip]
    let cases = [
        BadInput { form: "form[data-api*='/contacts/']", field: "#c-email", value: "carla at home", error_for: "email", says: "e-mail" },
        BadInput { form: "form[data-api*='/contacts/']", field: "#c-attributes", value: "no colon here", error_for: "attributes", says: "key: value" },
    ];
    for bad in cases {
        refuse(&browser, &contact_page, bad).await;
    }

    // The conversation's dialogs: save contact, new quick reply.
    let pane = format!("/w/{ws}/conversations/{id}");
    open(&browser, &app, &pane).await;
    browser.click("[data-open='contact-dialog']").await;
    #[rustfmt::skip]
    refuse(&browser, &pane, BadInput { form: "form[data-action='contact']", field: "#contact-phone", value: "call me maybe", error_for: "phone", says: "phone" }).await;
    browser.screenshot("save-contact-error").await;
    browser
        .client
        .find(Locator::Css("form[data-action='contact'] [data-close]"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    browser.click("#quick-replies-open").await;
    browser.click("#qr-new summary").await;
    browser.fill("#qr-text", "Our opening hours are 9 to 5.").await;
    #[rustfmt::skip]
    refuse(&browser, &pane, BadInput { form: "#qr-form", field: "#qr-shortcut", value: "two words", error_for: "shortcut", says: "shortcut" }).await;
    assert_eq!(browser.value("#qr-text").await, "Our opening hours are 9 to 5.");
    browser.screenshot("quick-reply-error").await;

    // The pages did not change anything.
    let r = org.admin.get(&org.path(&format!("/contacts/{contact}"))).await;
    assert_eq!((r["email"].clone(), r["phone"].clone()), (json!(null), json!(null)));
    browser.close().await;
}

/// Business hours are set with fields, not JSON, and read back into them.
#[tokio::test]
async fn business_hours_are_set_with_fields() {
    let Some(browser) = Browser::start("app-forms").await else {
        return;
    };
    let app = TestApp::spawn().await;
    let org = Org::create(&app).await;
    browser.sign_in(&app, "ada@acme.test", "admin password 1").await;
    let settings = format!("/w/{}/admin/settings", org.ws);
    open(&browser, &app, &settings).await;
    let form = "form[data-api$='/settings']";
    browser
        .click(&format!("{form} select[data-role=mode] option[value=hours]"))
        .await;
    browser
        .fill(&format!("{form} input[data-role=time-zone]"), "Europe/Berlin")
        .await;
    browser
        .fill(&format!("{form} input[data-day=fri]"), "09:00-12:00, 13:00-15:30")
        .await;
    browser
        .fill(
            &format!("{form} .week textarea"),
            "2026-12-24 09:00-12:00 Christmas Eve\n2026-12-25 Christmas",
        )
        .await;
    let expiry = browser
        .eval(&format!(
            "return document.querySelector(\"{form} .routing-editor input[type=number]\").id;"
        ))
        .await;
    browser.fill(&format!("#{}", expiry.as_str().unwrap()), "120").await;
    browser.screenshot("business-hours").await;
    browser.submit(&format!("{form} button[type=submit]")).await;

    let saved = org.admin.get(&org.path("/settings")).await;
    assert_eq!(saved.status, 200, "{:?}", saved.body);
    let routing = &saved["routing"];
    let hours = &routing["business_hours"];
    assert_eq!(hours["time_zone"], "Europe/Berlin");
    assert_eq!(
        hours["weekly"]["mon"],
        json!([{"from": "09:00", "to": "17:00"}]),
        "weekdays start 9 to 5"
    );
    assert_eq!(
        hours["weekly"]["fri"],
        json!([{"from": "09:00", "to": "12:00"}, {"from": "13:00", "to": "15:30"}])
    );
    assert_eq!(hours["weekly"]["sun"], json!([]));
    assert_eq!(
        hours["exceptions"],
        json!([{"date": "2026-12-24", "name": "Christmas Eve", "hours": [{"from": "09:00", "to": "12:00"}]},
               {"date": "2026-12-25", "name": "Christmas", "hours": []}])
    );
    assert_eq!(routing["expiry_minutes"], 120);

    // The reloaded page shows them in the fields.
    browser.wait_for(&format!("{form} input[data-day=fri]")).await;
    assert_eq!(
        browser.value(&format!("{form} input[data-role=time-zone]")).await,
        "Europe/Berlin"
    );
    assert_eq!(
        browser.value(&format!("{form} input[data-day=fri]")).await,
        "09:00-12:00, 13:00-15:30"
    );

    // A team follows the workspace until it has its own hours.
    let teams = format!("/w/{}/admin/teams", org.ws);
    open(&browser, &app, &teams).await;
    let team_form = "form[data-method='PATCH'][data-api*='/teams/']";
    assert_eq!(
        browser.value(&format!("{team_form} select[data-role=mode]")).await,
        "inherit"
    );
    browser
        .click(&format!("{team_form} select[data-role=mode] option[value=always]"))
        .await;
    browser
        .fill(&format!("{team_form} input[data-role=time-zone]"), "America/New_York")
        .await;
    browser.submit(&format!("{team_form} button[type=submit]")).await;
    let team = org.admin.get(&org.path(&format!("/teams/{}", org.team))).await;
    assert_eq!(
        team["routing"]["business_hours"]["time_zone"], "America/New_York",
        "{:?}",
        team.body
    );
    assert_eq!(
        team["routing"]["business_hours"]["weekly"]["sat"],
        json!([{"from": "00:00", "to": "24:00"}])
    );
    browser.close().await;
}

/// The admin's quick-replies page uploads a file with a new quick reply;
/// one over the image limit is refused beside the file field first.
#[tokio::test]
async fn an_admin_creates_a_quick_reply_with_a_file() {
    let Some(browser) = Browser::start("app-forms").await else {
        return;
    };
    let app = TestApp::spawn().await;
    let org = Org::create(&app).await;
    browser.sign_in(&app, "ada@acme.test", "admin password 1").await;
    let page = format!("/w/{}/admin/quick-replies", org.ws);
    open(&browser, &app, &page).await;
    browser.wait_for("#admin-list form #f-file").await;
    browser.fill("#f-shortcut", "welcome-pack").await;
    browser.fill("#f-text", "Here is our welcome pack.").await;
    let mut bytes = switchboard_testkit::media::png(8, 8, 1);
    bytes.resize(6 * 1024 * 1024, 0);
    let _too_big = browser.choose_file("#f-file", ".png", &bytes).await;
    browser.click("#admin-list form button[type=submit]").await;
    let error = browser
        .wait_for_text("#admin-list form [data-error-for=file]", "MB")
        .await;
    assert!(error.contains("5 MB"), "{error}");
    assert_eq!(browser.value("#f-shortcut").await, "welcome-pack");

    let _photo = browser
        .choose_file("#f-file", ".png", &switchboard_testkit::media::png(16, 16, 2))
        .await;
    browser.submit("#admin-list form button[type=submit]").await;
    let list = org.admin.get(&org.path("/quick-replies")).await;
    let item = list["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|q| q["shortcut"] == "welcome-pack")
        .cloned()
        .unwrap_or_else(|| panic!("created: {:?}", list.body));
    assert_eq!(item["text"], "Here is our welcome pack.");
    assert_eq!(item["attachment"]["kind"], "image");
    assert_eq!(item["attachment"]["conversation_id"], json!(null));
    browser.close().await;
}
