//! Accounts over real HTTP: sign-in, session cookies and CSRF, logout,
//! password changes and resets, login rate limits, API tokens, secrets that
//! are never read back, security headers, and the first-run pages.
//! Runs on the backend `SWITCHBOARD_TEST_DB` selects.

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use switchboard_testkit::client::{ApiClient, Reply, reply_of};
use switchboard_testkit::fixtures::Org;
use switchboard_testkit::{TestApp, TestOptions};

const LOGIN: &str = "/api/v1/auth/login";
const ADMIN_EMAIL: &str = "ada@acme.test";
const ADMIN_PASSWORD: &str = "admin password 1";

#[track_caller]
fn assert_error(reply: &Reply, status: u16, code: &str) {
    assert_eq!(
        reply.status.as_u16(),
        status,
        "expected {status} {code}, got {:?}",
        reply.body
    );
    assert_eq!(reply.code(), code, "expected {status} {code}, got {:?}", reply.body);
}

/// A login attempt from a fresh client.
async fn try_login(app: &TestApp, email: &str, password: &str) -> Reply {
    ApiClient::anonymous(app)
        .post(LOGIN, json!({"email": email, "password": password}))
        .await
}

/// The `sb_session` value a response sets, if any.
fn session_cookie_of(headers: &reqwest::header::HeaderMap) -> Option<String> {
    headers
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find_map(|v| v.strip_prefix("sb_session="))
        .map(|rest| rest.split(';').next().unwrap_or("").to_owned())
        .filter(|v| !v.is_empty())
}

/// A request that carries exactly this session cookie (no cookie jar), so a
/// cookie the server told the client to forget is still presented.
async fn with_cookie(app: &TestApp, method: Method, path: &str, session: &str, csrf: Option<&str>) -> Reply {
    let mut req = reqwest::Client::new()
        .request(method, app.url(path))
        .header("cookie", format!("sb_session={session}"));
    if let Some(csrf) = csrf {
        req = req.header("x-csrf-token", csrf);
    }
    reply_of(req.send().await.expect("request")).await
}

/// Sign in and keep the raw session cookie alongside the client.
async fn login_with_cookie(app: &TestApp, email: &str, password: &str) -> (ApiClient, String) {
    let mut client = ApiClient::anonymous(app);
    let r = client.post(LOGIN, json!({"email": email, "password": password})).await;
    assert_eq!(r.status, 200, "login of {email}: {:?}", r.body);
    client.csrf = r["csrf_token"].as_str().map(str::to_owned);
    client.user_id = r["user_id"].as_str().map(str::to_owned);
    let cookie = session_cookie_of(&r.headers).expect("a session cookie");
    (client, cookie)
}

/// A user with their own workspace, made through the service (no HTTP, so
/// no login attempt is counted).
async fn user(app: &TestApp, email: &str, password: &str) {
    app.services
        .create_workspace_with_admin("Acme Support", "Ada Admin", email, password, false)
        .await
        .expect("create workspace");
}

fn form_body(fields: &[(&str, &str)]) -> Vec<u8> {
    fn enc(s: &str) -> String {
        s.bytes()
            .map(|b| match b {
                b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => (b as char).to_string(),
                _ => format!("%{b:02X}"),
            })
            .collect()
    }
    fields
        .iter()
        .map(|(k, v)| format!("{}={}", enc(k), enc(v)))
        .collect::<Vec<_>>()
        .join("&")
        .into_bytes()
}

/// A browser-like client: keeps cookies, does not follow redirects.
fn browser() -> reqwest::Client {
    reqwest::Client::builder()
        .cookie_store(true)
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("client")
}

async fn post_form(
    http: &reqwest::Client,
    app: &TestApp,
    path: &str,
    fields: &[(&str, &str)],
) -> (StatusCode, reqwest::header::HeaderMap, String) {
    let r = http
        .post(app.url(path))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(form_body(fields))
        .send()
        .await
        .expect("request");
    let status = r.status();
    let headers = r.headers().clone();
    (status, headers, r.text().await.expect("body"))
}

async fn get_page(
    http: &reqwest::Client,
    app: &TestApp,
    path: &str,
) -> (StatusCode, reqwest::header::HeaderMap, String) {
    let r = http.get(app.url(path)).send().await.expect("request");
    let status = r.status();
    let headers = r.headers().clone();
    (status, headers, r.text().await.expect("body"))
}

/// The value of the hidden form input `name`.
fn hidden_input(html: &str, name: &str) -> Option<String> {
    let marker = format!("<input type=\"hidden\" name=\"{name}\" value=\"");
    let start = html.find(&marker)? + marker.len();
    let len = html[start..].find('"')?;
    Some(html[start..start + len].to_owned())
}

#[tokio::test]
async fn a_wrong_password_or_unknown_email_is_401() {
    let app = TestApp::spawn().await;
    let (_admin, _) = app.admin().await;

    for (email, password) in [
        (ADMIN_EMAIL, "wrong password 1"),
        (ADMIN_EMAIL, ""),
        ("nobody@acme.test", ADMIN_PASSWORD),
        ("not an email", ADMIN_PASSWORD),
    ] {
        let r = try_login(&app, email, password).await;
        assert_error(&r, 401, "invalid_credentials");
        assert!(session_cookie_of(&r.headers).is_none(), "no session for a failed login");
        assert!(r["csrf_token"].is_null());
    }
    // Both failures read the same, so they do not tell which accounts exist.
    let wrong_password = try_login(&app, ADMIN_EMAIL, "wrong password 1").await;
    let unknown = try_login(&app, "nobody@acme.test", "wrong password 1").await;
    assert_eq!(wrong_password.body, unknown.body);

    // Missing fields are bad input, not a login attempt.
    let r = ApiClient::anonymous(&app)
        .post(LOGIN, json!({"email": ADMIN_EMAIL}))
        .await;
    assert_error(&r, 422, "invalid_input");

    // The right password works (and the e-mail is case-insensitive).
    let r = try_login(&app, " ADA@Acme.Test ", ADMIN_PASSWORD).await;
    assert_eq!(r.status, 200, "{:?}", r.body);
}

#[tokio::test]
async fn the_session_cookie_is_httponly_lax_and_not_secure_over_http() {
    let app = TestApp::spawn().await;
    app.admin().await;
    let r = try_login(&app, ADMIN_EMAIL, ADMIN_PASSWORD).await;
    assert_eq!(r.status, 200, "{:?}", r.body);
    let cookie = r
        .headers
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find(|v| v.starts_with("sb_session="))
        .expect("a session cookie")
        .to_owned();
    let attrs: Vec<String> = cookie
        .split(';')
        .skip(1)
        .map(|a| a.trim().to_ascii_lowercase())
        .collect();
    assert!(attrs.iter().any(|a| a == "httponly"), "{cookie}");
    assert!(attrs.iter().any(|a| a == "samesite=lax"), "{cookie}");
    assert!(attrs.iter().any(|a| a == "path=/"), "{cookie}");
    assert!(
        !attrs.iter().any(|a| a == "secure"),
        "no Secure over plain http: {cookie}"
    );
    let value = session_cookie_of(&r.headers).unwrap();
    assert!(value.len() >= 32, "a long random session token: {value}");
    let csrf = r["csrf_token"].as_str().expect("a CSRF token");
    assert!(csrf.len() >= 32);
    assert_ne!(csrf, value, "the CSRF token is not the session token");
}

#[tokio::test]
async fn cookie_writes_need_the_csrf_token() {
    let app = TestApp::spawn().await;
    let (admin, ws) = app.admin().await;
    let teams = format!("/api/v1/workspaces/{ws}/teams");
    let mut no_csrf = admin.clone();
    no_csrf.csrf = None;

    // Reads need no token.
    let r = no_csrf.get(&teams).await;
    assert_eq!(r.status, 200, "{:?}", r.body);
    assert_eq!(no_csrf.get("/api/v1/me").await.status, 200);

    // Writes do: missing, wrong, or another session's.
    let r = no_csrf.post(&teams, json!({"name": "Billing"})).await;
    assert_error(&r, 403, "csrf_failed");
    let mut wrong = admin.clone();
    wrong.csrf = Some("x".repeat(43));
    assert_error(
        &wrong.post(&teams, json!({"name": "Billing"})).await,
        403,
        "csrf_failed",
    );
    let other_session = ApiClient::login(&app, ADMIN_EMAIL, ADMIN_PASSWORD).await;
    let mut borrowed = admin.clone();
    borrowed.csrf = other_session.csrf.clone();
    assert_error(
        &borrowed.post(&teams, json!({"name": "Billing"})).await,
        403,
        "csrf_failed",
    );
    let r = no_csrf.send(Method::POST, "/api/v1/auth/logout", None).await;
    assert_error(&r, 403, "csrf_failed");
    assert!(
        no_csrf.get(&teams).await["items"].as_array().unwrap().is_empty(),
        "no team was created"
    );
    assert_eq!(
        admin.get("/api/v1/me").await.status,
        200,
        "the refused logout did not end the session"
    );

    // With the session's token the write goes through.
    let r = admin.post(&teams, json!({"name": "Billing"})).await;
    assert_eq!(r.status, 201, "{:?}", r.body);
    assert_eq!(admin.get(&teams).await["items"].as_array().unwrap().len(), 1);
}

#[tokio::test]
async fn logout_ends_the_session_on_the_server() {
    let app = TestApp::spawn().await;
    app.admin().await;
    let (client, cookie) = login_with_cookie(&app, ADMIN_EMAIL, ADMIN_PASSWORD).await;
    let csrf = client.csrf.clone().unwrap();
    assert_eq!(
        with_cookie(&app, Method::GET, "/api/v1/me", &cookie, None).await.status,
        200
    );

    let r = client.send(Method::POST, "/api/v1/auth/logout", None).await;
    assert_eq!(r.status, 204, "{:?}", r.body);
    // The browser is told to forget the cookie…
    let cleared = r
        .headers
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find(|v| v.starts_with("sb_session="))
        .expect("the cookie is cleared")
        .to_owned();
    assert!(cleared.contains("Max-Age=0"), "{cleared}");
    assert_error(&client.get("/api/v1/me").await, 401, "unauthenticated");
    // …and a copy of it that was kept is worthless: the session is gone.
    assert_error(
        &with_cookie(&app, Method::GET, "/api/v1/me", &cookie, None).await,
        401,
        "unauthenticated",
    );
    assert_error(
        &with_cookie(&app, Method::POST, "/api/v1/auth/logout", &cookie, Some(&csrf)).await,
        401,
        "unauthenticated",
    );
    // Unauthenticated callers get 401 too.
    assert_error(
        &ApiClient::anonymous(&app).get("/api/v1/me").await,
        401,
        "unauthenticated",
    );
    assert_error(
        &with_cookie(&app, Method::GET, "/api/v1/me", "made-up", None).await,
        401,
        "unauthenticated",
    );
}

#[tokio::test]
async fn a_password_change_ends_the_other_sessions() {
    let app = TestApp::spawn().await;
    app.admin().await;
    let (one, _) = login_with_cookie(&app, ADMIN_EMAIL, ADMIN_PASSWORD).await;
    let (two, two_cookie) = login_with_cookie(&app, ADMIN_EMAIL, ADMIN_PASSWORD).await;
    assert_eq!(two.get("/api/v1/me").await.status, 200);

    let new_password = "a brand new password";
    let r = one
        .post(
            "/api/v1/me/password",
            json!({"current_password": ADMIN_PASSWORD, "new_password": new_password}),
        )
        .await;
    assert_eq!(r.status, 204, "{:?}", r.body);

    assert_error(&two.get("/api/v1/me").await, 401, "unauthenticated");
    assert_error(
        &with_cookie(&app, Method::GET, "/api/v1/me", &two_cookie, None).await,
        401,
        "unauthenticated",
    );
    let me = one.get("/api/v1/me").await;
    assert_eq!(
        me.status, 200,
        "the session that changed the password stays: {:?}",
        me.body
    );
    assert_eq!(me["email"], ADMIN_EMAIL);

    assert_error(
        &try_login(&app, ADMIN_EMAIL, ADMIN_PASSWORD).await,
        401,
        "invalid_credentials",
    );
    let r = try_login(&app, ADMIN_EMAIL, new_password).await;
    assert_eq!(r.status, 200, "{:?}", r.body);
}

#[tokio::test]
async fn a_password_change_checks_both_passwords() {
    let app = TestApp::spawn().await;
    app.admin().await;
    let (one, _) = login_with_cookie(&app, ADMIN_EMAIL, ADMIN_PASSWORD).await;
    let (two, _) = login_with_cookie(&app, ADMIN_EMAIL, ADMIN_PASSWORD).await;
    let change = "/api/v1/me/password";

    let r = one
        .post(
            change,
            json!({"current_password": "not my password", "new_password": "a brand new password"}),
        )
        .await;
    // A wrong current password proves nothing: refused, naming the field.
    assert_error(&r, 403, "forbidden");
    assert_eq!(r.body["error"]["field"], "current_password");
    assert!(
        r.body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("current_password"),
        "{:?}",
        r.body
    );
    let r = one
        .post(
            change,
            json!({"current_password": ADMIN_PASSWORD, "new_password": "short"}),
        )
        .await;
    assert_error(&r, 422, "invalid_input");
    let r = one.post(change, json!({"current_password": ADMIN_PASSWORD})).await;
    assert_error(&r, 422, "invalid_input");

    // Nothing changed: the old password works, the other session lives.
    assert_eq!(two.get("/api/v1/me").await.status, 200);
    assert_eq!(try_login(&app, ADMIN_EMAIL, ADMIN_PASSWORD).await.status, 200);
    assert_error(
        &try_login(&app, ADMIN_EMAIL, "a brand new password").await,
        401,
        "invalid_credentials",
    );
    assert_error(&try_login(&app, ADMIN_EMAIL, "short").await, 401, "invalid_credentials");
}

#[tokio::test]
async fn logins_are_limited_per_account() {
    let mut options = TestOptions::default();
    options.service.login_failures_per_account = 3;
    let app = TestApp::spawn_with(options).await;
    user(&app, ADMIN_EMAIL, ADMIN_PASSWORD).await;
    user(&app, "bo@acme.test", "bo password 123").await;

    for _ in 0..3 {
        assert_error(
            &try_login(&app, ADMIN_EMAIL, "wrong password 1").await,
            401,
            "invalid_credentials",
        );
    }
    // Now even the right password waits, however the address is written.
    for email in [ADMIN_EMAIL, " Ada@ACME.test"] {
        let r = try_login(&app, email, ADMIN_PASSWORD).await;
        assert_error(&r, 429, "rate_limited");
        let retry: u64 = r.header("retry-after").expect("Retry-After").parse().expect("seconds");
        assert!((1..=15 * 60).contains(&retry), "retry after {retry} s");
        assert!(session_cookie_of(&r.headers).is_none());
    }
    // The sign-in form is limited the same way.
    let http = browser();
    let (_, _, page) = get_page(&http, &app, "/login").await;
    let csrf = hidden_input(&page, "csrf").expect("csrf input");
    let (status, headers, _) = post_form(
        &http,
        &app,
        "/login",
        &[("csrf", &csrf), ("email", ADMIN_EMAIL), ("password", ADMIN_PASSWORD)],
    )
    .await;
    assert_eq!(status, 429);
    assert!(session_cookie_of(&headers).is_none());

    // Another account is not affected.
    let r = try_login(&app, "bo@acme.test", "bo password 123").await;
    assert_eq!(r.status, 200, "{:?}", r.body);
}

#[tokio::test]
async fn logins_are_limited_per_client_address() {
    let mut options = TestOptions::default();
    options.service.login_limit_per_ip = 5;
    let app = TestApp::spawn_with(options).await;
    user(&app, ADMIN_EMAIL, ADMIN_PASSWORD).await;
    user(&app, "bo@acme.test", "bo password 123").await;

    // Five attempts, failed and successful alike, from 127.0.0.1.
    for _ in 0..3 {
        assert_error(
            &try_login(&app, ADMIN_EMAIL, "wrong password 1").await,
            401,
            "invalid_credentials",
        );
    }
    assert_eq!(try_login(&app, ADMIN_EMAIL, ADMIN_PASSWORD).await.status, 200);
    assert_error(
        &try_login(&app, "nobody@acme.test", "wrong password 1").await,
        401,
        "invalid_credentials",
    );

    // The sixth is refused, even for another account with the right password.
    let r = try_login(&app, "bo@acme.test", "bo password 123").await;
    assert_error(&r, 429, "rate_limited");
    let retry: u64 = r.header("retry-after").expect("Retry-After").parse().expect("seconds");
    assert!((1..=5 * 60).contains(&retry), "retry after {retry} s");
    assert!(session_cookie_of(&r.headers).is_none());
}

#[tokio::test]
async fn api_tokens_act_in_their_workspace_until_revoked() {
    let app = TestApp::spawn().await;
    let (admin, ws) = app.admin().await;
    let base = format!("/api/v1/workspaces/{ws}");

    let created = admin.post(&format!("{base}/api-tokens"), json!({"name": "ci"})).await;
    assert_eq!(created.status, 201, "{:?}", created.body);
    let secret = created["secret"].as_str().expect("the secret, once").to_owned();
    assert!(secret.starts_with("sbt_") && secret.len() > 20, "{secret}");
    assert_eq!(created["name"], "ci");
    let token_id = created["id"].as_str().expect("id").to_owned();
    assert!(secret.starts_with(created["prefix"].as_str().expect("prefix")));

    // The list shows the token, never its secret.
    let list = admin.get(&format!("{base}/api-tokens")).await;
    assert_eq!(list.status, 200);
    let items = list["items"].as_array().unwrap();
    assert_eq!(items.len(), 1);
    assert_eq!(items[0]["id"], token_id.as_str());
    assert!(items[0].get("secret").is_none(), "{:?}", items[0]);
    assert!(
        !list.body.to_string().contains(&secret[4..]),
        "the secret is not in the list"
    );

    // A program uses it: reads, and writes without any CSRF token.
    let program = ApiClient::with_token(&app, &secret);
    let teams = program.get(&format!("{base}/teams")).await;
    assert_eq!(teams.status, 200, "{:?}", teams.body);
    let team = program.post(&format!("{base}/teams"), json!({"name": "Bots"})).await;
    assert_eq!(team.status, 201, "{:?}", team.body);
    assert_eq!(
        admin.get(&format!("{base}/teams")).await["items"]
            .as_array()
            .unwrap()
            .len(),
        1
    );
    assert!(program.get("/api/v1/me").await.status.is_success());

    // Ada is also an admin of a second workspace; her session reaches it,
    // the token made for the first one does not.
    let (ws2, _) = app
        .services
        .create_workspace_with_admin("Second Co", "Ada Admin", ADMIN_EMAIL, "ignored password", false)
        .await
        .unwrap();
    let other = format!("/api/v1/workspaces/{ws2}/teams");
    assert_eq!(admin.get(&other).await.status, 200);
    assert_error(&program.get(&other).await, 404, "not_found");
    assert_error(&program.post(&other, json!({"name": "Sneaky"})).await, 404, "not_found");
    assert!(admin.get(&other).await["items"].as_array().unwrap().is_empty());

    // Made-up tokens do nothing.
    for bogus in ["sbt_made-up", "not-even-prefixed", &format!("{secret}x")] {
        assert_error(
            &ApiClient::with_token(&app, bogus).get(&format!("{base}/teams")).await,
            401,
            "unauthenticated",
        );
    }
    let r = reqwest::Client::new()
        .get(app.url(&format!("{base}/teams")))
        .header("authorization", format!("Basic {secret}"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);

    // Revoked, it is dead.
    let r = admin.delete(&format!("{base}/api-tokens/{token_id}")).await;
    assert_eq!(r.status, 204, "{:?}", r.body);
    assert_error(&program.get(&format!("{base}/teams")).await, 401, "unauthenticated");
    assert_error(
        &program.post(&format!("{base}/teams"), json!({"name": "Late"})).await,
        401,
        "unauthenticated",
    );
    let list = admin.get(&format!("{base}/api-tokens")).await;
    let revoked = list["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["id"] == token_id.as_str())
        .cloned();
    assert!(
        revoked.is_none_or(|t| !t["revoked_at"].is_null()),
        "a listed revoked token says so"
    );
    assert_eq!(
        admin.get(&format!("{base}/teams")).await["items"]
            .as_array()
            .unwrap()
            .len(),
        1
    );
}

#[tokio::test]
async fn channel_secrets_are_never_read_back() {
    let app = TestApp::spawn().await;
    let org = Org::create(&app).await;
    let channel_path = org.path(&format!("/channels/{}", org.channel));

    let check = |body: &Value, secret: &str| {
        assert!(body.get("secret").is_none(), "{body:?}");
        assert_eq!(body["has_secret"], true, "{body:?}");
        assert!(!body.to_string().contains(secret), "the secret is not in the body");
    };
    let one = org.admin.get(&channel_path).await;
    assert_eq!(one.status, 200, "{:?}", one.body);
    check(&one.body, &org.secret);
    let list = org.admin.get(&org.path("/channels")).await;
    assert_eq!(list.status, 200);
    let items = list["items"].as_array().unwrap();
    assert_eq!(items.len(), 1);
    check(&items[0], &org.secret);
    // Agents see channels too, without secrets.
    let as_agent = org.agent.get(&channel_path).await;
    if as_agent.status == 200 {
        check(&as_agent.body, &org.secret);
    }

    // A plain update does not return it; a rotation returns the new one once.
    let renamed = org.admin.patch(&channel_path, json!({"name": "Shop backend"})).await;
    assert_eq!(renamed.status, 200, "{:?}", renamed.body);
    assert!(renamed["secret"].is_null(), "{:?}", renamed.body);
    assert!(!renamed.body.to_string().contains(&org.secret));
    let rotated = org.admin.patch(&channel_path, json!({"rotate_secret": true})).await;
    assert_eq!(rotated.status, 200, "{:?}", rotated.body);
    let new_secret = rotated["secret"].as_str().expect("the new secret").to_owned();
    assert_ne!(new_secret, org.secret);
    check(&org.admin.get(&channel_path).await.body, &new_secret);
    check(&org.admin.get(&org.path("/channels")).await["items"][0], &new_secret);
}

#[tokio::test]
async fn security_headers_on_pages_and_api() {
    let app = TestApp::spawn().await;
    let (admin, ws) = app.admin().await;
    let page = reqwest::get(app.url("/login")).await.unwrap();
    assert_eq!(page.status(), 200);
    let page_headers = page.headers().clone();
    let api_ok = admin.get(&format!("/api/v1/workspaces/{ws}/teams")).await;
    assert_eq!(api_ok.status, 200);
    let api_error = ApiClient::anonymous(&app).get("/api/v1/me").await;
    assert_eq!(api_error.status, 401);
    let not_found = reqwest::get(app.url("/no-such-page")).await.unwrap();
    assert_eq!(not_found.status(), 404);

    for (what, headers) in [
        ("page", &page_headers),
        ("api", &api_ok.headers),
        ("api error", &api_error.headers),
        ("missing page", not_found.headers()),
    ] {
        let get = |name: &str| {
            headers
                .get(name)
                .and_then(|v| v.to_str().ok())
                .unwrap_or_else(|| panic!("{what}: no {name}: {headers:?}"))
        };
        let csp = get("content-security-policy");
        assert!(csp.contains("frame-ancestors 'none'"), "{what}: {csp}");
        assert!(!csp.contains("unsafe-inline"), "{what}: {csp}");
        assert!(!csp.contains("unsafe-eval"), "{what}: {csp}");
        assert!(csp.contains("default-src 'self'"), "{what}: {csp}");
        assert_eq!(get("x-content-type-options"), "nosniff", "{what}");
        assert!(!get("referrer-policy").is_empty(), "{what}");
    }
}

#[tokio::test]
async fn first_run_setup_over_plain_http() {
    let app = TestApp::spawn().await;
    let http = browser();

    // Before a token exists, and with a wrong one: gone.
    let (status, _, _) = get_page(&http, &app, "/setup?token=wrong").await;
    assert_eq!(status, StatusCode::GONE);
    let token = app.services.prepare_setup().await.unwrap().expect("an empty database");
    for path in [
        "/setup?token=wrong".to_owned(),
        "/setup".to_owned(),
        format!("/setup?token={token}x"),
    ] {
        let (status, _, body) = get_page(&http, &app, &path).await;
        assert_eq!(status, StatusCode::GONE, "{path}");
        assert!(hidden_input(&body, "token").is_none(), "{path}: no form");
    }

    let (status, headers, page) = get_page(&http, &app, &format!("/setup?token={token}")).await;
    assert_eq!(status, 200);
    assert!(
        headers
            .get("content-type")
            .unwrap()
            .to_str()
            .unwrap()
            .starts_with("text/html")
    );
    let csrf = hidden_input(&page, "csrf").expect("a hidden csrf input");
    assert!(csrf.len() >= 32);
    assert_eq!(hidden_input(&page, "token").as_deref(), Some(token.as_str()));

    let name = "<script>alert(1)</script>";
    let mut fields = vec![
        ("csrf", csrf.as_str()),
        ("token", token.as_str()),
        ("workspace_name", "Acme Support"),
        ("name", name),
        ("email", "not-an-email"),
        ("password", "admin password 1"),
    ];

    // Without the form's CSRF token: refused.
    let (status, _, _) = post_form(&http, &app, "/setup", &fields[1..]).await;
    assert_eq!(status, StatusCode::FORBIDDEN);

    // A bad e-mail: the form comes back with what was typed, escaped.
    let (status, _, body) = post_form(&http, &app, "/setup", &fields).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        body.contains("value=\"Acme Support\""),
        "the typed workspace name is kept: {body}"
    );
    assert!(
        body.contains("value=\"not-an-email\""),
        "the typed e-mail is kept: {body}"
    );
    assert!(
        body.contains("valid e-mail"),
        "the e-mail field says what is wrong: {body}"
    );
    assert!(
        hidden_input(&body, "csrf").is_some_and(|c| c.len() >= 32),
        "the form can be sent again"
    );
    assert!(!body.contains(name), "the typed name is escaped");
    assert_eq!(
        app.services.store().reader().count_users().await.unwrap(),
        0,
        "nothing was created"
    );
    assert!(
        app.services.setup_token_valid(&token).await.unwrap(),
        "the token is still good"
    );

    // Valid: a redirect home, signed in.
    fields[4] = ("email", "ada@acme.test");
    let (status, headers, _) = post_form(&http, &app, "/setup", &fields).await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    assert_eq!(headers.get("location").unwrap(), "/");
    assert!(session_cookie_of(&headers).is_some(), "a session cookie: {headers:?}");
    assert_eq!(app.services.store().reader().count_users().await.unwrap(), 1);

    // The link is used up.
    let (status, _, _) = get_page(&http, &app, &format!("/setup?token={token}")).await;
    assert_eq!(status, StatusCode::GONE);
    fields[4] = ("email", "eve@acme.test");
    let (status, _, _) = post_form(&http, &app, "/setup", &fields).await;
    assert_eq!(status, StatusCode::GONE);
    assert_eq!(
        app.services.store().reader().count_users().await.unwrap(),
        1,
        "no second admin"
    );
    assert!(
        app.services.prepare_setup().await.unwrap().is_none(),
        "no new setup once someone set up"
    );

    // Home shows the new admin's name, escaped.
    let (status, _, home) = get_page(&http, &app, "/account").await;
    assert_eq!(status, 200);
    assert!(home.contains("ada@acme.test"), "{home}");
    assert!(
        home.contains("&lt;script&gt;alert(1)&lt;/script&gt;")
            || home.contains("&#60;script&#62;alert(1)&#60;/script&#62;"),
        "the name appears escaped: {home}"
    );
    assert!(!home.contains("<script>alert"), "{home}");

    // Without a session, home sends to the sign-in page.
    let r = browser().get(app.url("/")).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    assert_eq!(r.headers().get("location").unwrap(), "/login");
}

#[tokio::test]
async fn the_login_form_needs_its_csrf_token() {
    let app = TestApp::spawn().await;
    app.admin().await;
    let http = browser();
    let (status, headers, page) = get_page(&http, &app, "/login").await;
    assert_eq!(status, 200);
    let form_cookie = headers
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find(|v| v.starts_with("sb_form_csrf="))
        .expect("a form CSRF cookie")
        .to_owned();
    assert!(
        form_cookie.contains("HttpOnly") && form_cookie.contains("SameSite=Lax"),
        "{form_cookie}"
    );
    let csrf = hidden_input(&page, "csrf").expect("a hidden csrf input");

    let credentials = [("email", ADMIN_EMAIL), ("password", ADMIN_PASSWORD)];
    let (status, headers, body) = post_form(&http, &app, "/login", &credentials).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert!(session_cookie_of(&headers).is_none());
    assert!(hidden_input(&body, "csrf").is_some(), "the form comes back");
    let (status, headers, _) = post_form(
        &http,
        &app,
        "/login",
        &[("csrf", "x".repeat(43).as_str()), credentials[0], credentials[1]],
    )
    .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert!(session_cookie_of(&headers).is_none());
    // Posted from a client that never loaded the form (no cookie to match).
    let (status, headers, _) = post_form(
        &browser(),
        &app,
        "/login",
        &[("csrf", csrf.as_str()), credentials[0], credentials[1]],
    )
    .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert!(session_cookie_of(&headers).is_none());

    // With it, the sign-in works.
    let (status, headers, _) = post_form(
        &http,
        &app,
        "/login",
        &[("csrf", csrf.as_str()), credentials[0], credentials[1]],
    )
    .await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    assert_eq!(headers.get("location").unwrap(), "/");
    assert!(session_cookie_of(&headers).is_some());
    let (status, _, home) = get_page(&http, &app, "/account").await;
    assert_eq!(status, 200);
    assert!(home.contains(ADMIN_EMAIL));
}

#[tokio::test]
async fn an_admin_password_reset_ends_every_session() {
    let app = TestApp::spawn().await;
    app.admin().await;
    let (one, one_cookie) = login_with_cookie(&app, ADMIN_EMAIL, ADMIN_PASSWORD).await;
    let (two, _) = login_with_cookie(&app, ADMIN_EMAIL, ADMIN_PASSWORD).await;
    assert_eq!(one.get("/api/v1/me").await.status, 200);

    let user_id = app
        .services
        .reset_password(ADMIN_EMAIL, "reset password 99")
        .await
        .expect("reset");
    assert_eq!(Some(user_id.to_string()), one.user_id);

    assert_error(&one.get("/api/v1/me").await, 401, "unauthenticated");
    assert_error(&two.get("/api/v1/me").await, 401, "unauthenticated");
    assert_error(
        &with_cookie(&app, Method::GET, "/api/v1/me", &one_cookie, None).await,
        401,
        "unauthenticated",
    );
    assert_error(
        &try_login(&app, ADMIN_EMAIL, ADMIN_PASSWORD).await,
        401,
        "invalid_credentials",
    );
    assert_eq!(try_login(&app, ADMIN_EMAIL, "reset password 99").await.status, 200);

    // Bad input to the reset changes nothing.
    assert!(app.services.reset_password(ADMIN_EMAIL, "short").await.is_err());
    assert!(
        app.services
            .reset_password("nobody@acme.test", "long enough password")
            .await
            .is_err()
    );
    assert_eq!(try_login(&app, ADMIN_EMAIL, "reset password 99").await.status, 200);
}
