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
    assert_eq!(browser.path().await, "/");
    let page = browser.text("main").await;
    assert!(
        page.contains("Ada <script>alert(1)</script>"),
        "the name shows as text: {page}"
    );
    assert!(page.contains("Acme <Support>") && page.contains("admin"));
    // Rendered as text, not as markup: no script element came from the name.
    assert!(
        browser
            .client
            .find_all(Locator::Css("script"))
            .await
            .unwrap()
            .is_empty()
    );
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
    browser.submit("form[action='/logout'] button").await;
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
    assert_eq!(browser.path().await, "/", "{}", browser.text("main").await);

    // The used setup link is gone for good.
    browser
        .client
        .goto(&app.url(&format!("/setup?token={token}")))
        .await
        .unwrap();
    assert!(browser.text("main").await.contains("Setup link not valid"));
    browser.close().await;
}
