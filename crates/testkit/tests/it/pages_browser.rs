//! The first-run, sign-in and account pages in a real Chromium, driven as a
//! person would, with screenshots under test-output/.

use fantoccini::Locator;
use switchboard_testkit::TestApp;
use switchboard_testkit::browser::Browser;

#[tokio::test]
async fn setup_sign_in_and_account_pages_in_a_browser() {
    let Some(browser) = Browser::start("pages").await else {
        return;
    };
    let app = TestApp::spawn().await;
    let token = app.services.prepare_setup().await.unwrap().unwrap();

    // A wrong link says so.
    browser
        .client
        .goto(&app.url("/setup?token=not-the-token"))
        .await
        .unwrap();
    assert!(browser.text("main").await.contains("Setup link not valid"));

    // First-run setup: a bad field is reported next to it and what was typed stays.
    browser
        .client
        .goto(&app.url(&format!("/setup?token={token}")))
        .await
        .unwrap();
    browser.screenshot("setup").await;
    browser.fill("#workspace_name", "Acme <Support>").await;
    browser.fill("#name", "Ada <script>alert(1)</script>").await;
    browser.fill("#email", "ada@acme.test").await;
    browser.fill("#password", "short").await;
    browser.submit("button[type=submit]").await;
    let error = browser.text(".field-error").await;
    assert!(error.contains("at least 10 characters"), "{error}");
    assert_eq!(browser.value("#workspace_name").await, "Acme <Support>");
    assert_eq!(browser.value("#email").await, "ada@acme.test");
    browser.screenshot("setup-error").await;

    browser.fill("#password", "a long admin password").await;
    browser.submit("button[type=submit]").await;
    let inbox = browser.path().await;
    assert!(inbox.starts_with("/w/") && inbox.ends_with("/inbox"), "{inbox}");
    let bar = browser.text(".topbar").await;
    assert!(
        bar.contains("Ada <script>alert(1)</script>") && bar.contains("Acme <Support>"),
        "names show as text: {bar}"
    );
    // Rendered as text, not as markup: every script is one of our own modules.
    for script in browser.client.find_all(Locator::Css("script")).await.unwrap() {
        let src = script.attr("src").await.unwrap().unwrap_or_default();
        assert!(src.starts_with("/assets/app/"), "unexpected script {src:?}");
    }
    browser.screenshot("inbox-empty").await;
    browser.client.goto(&app.url("/account")).await.unwrap();
    let page = browser.text("main").await;
    assert!(page.contains("Acme <Support>") && page.contains("admin"), "{page}");
    browser.screenshot("account").await;

    // Password change: a wrong current password is refused, then it works.
    browser.fill("#current_password", "not my password").await;
    browser.fill("#new_password", "a newer admin password").await;
    browser.submit("form[action='/account/password'] button").await;
    assert!(browser.text(".error").await.contains("Current password"));
    browser.fill("#current_password", "a long admin password").await;
    browser.fill("#new_password", "a newer admin password").await;
    browser.submit("form[action='/account/password'] button").await;
    assert!(browser.text(".notice").await.contains("Password changed"));

    // Sign out, fail once, sign in with the new password.
    browser.submit("main form[action='/logout'] button").await;
    assert_eq!(browser.path().await, "/login");
    browser.fill("#email", "ada@acme.test").await;
    browser.fill("#password", "a long admin password").await;
    browser.submit("button[type=submit]").await;
    assert!(browser.text(".error").await.contains("Wrong e-mail or password"));
    assert_eq!(browser.value("#email").await, "ada@acme.test", "the e-mail stays typed");
    browser.screenshot("login-error").await;
    browser.fill("#password", "a newer admin password").await;
    browser.submit("button[type=submit]").await;
    browser.screenshot("account-after-sign-in").await;
    assert!(
        browser.path().await.ends_with("/inbox"),
        "{}",
        browser.text("main").await
    );

    // The used setup link is gone for good.
    browser
        .client
        .goto(&app.url(&format!("/setup?token={token}")))
        .await
        .unwrap();
    assert!(browser.text("main").await.contains("Setup link not valid"));
    browser.close().await;
}
