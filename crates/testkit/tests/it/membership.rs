//! Membership by consent: an admin of one workspace cannot take over how
//! another workspace sees a user. Inviting an address answers the same
//! whether or not it has an account; nobody is a member before accepting
//! (with their own password); admins name members per workspace, never the
//! account.

use std::collections::BTreeSet;

use serde_json::{Value, json};
use switchboard_testkit::TestApp;
use switchboard_testkit::client::{ApiClient, Reply, reply_of};
use switchboard_testkit::fixtures::Org;

fn token_of(invitation: &Reply) -> String {
    let url = invitation["accept_url"].as_str().expect("accept_url");
    url.split("token=").nth(1).expect("a token").to_owned()
}

async fn accept(app: &TestApp, body: Value) -> Reply {
    reply_of(
        reqwest::Client::new()
            .post(app.url("/api/v1/invitations/accept"))
            .json(&body)
            .send()
            .await
            .unwrap(),
    )
    .await
}

fn keys(v: &Value) -> BTreeSet<String> {
    v.as_object().map(|o| o.keys().cloned().collect()).unwrap_or_default()
}

#[tokio::test]
async fn another_workspaces_user_joins_only_by_consent_and_keeps_their_own_name() {
    let app = TestApp::spawn().await;
    let org = Org::create(&app).await;
    let (olga_admin, b_ws) = app.other_workspace("olga@other.test").await;
    let b_users = format!("/api/v1/workspaces/{b_ws}/users");
    let olga_id = olga_admin.get(&b_users).await["items"][0]["id"]
        .as_str()
        .unwrap()
        .to_owned();

    // A invites Olga (who has an account) and someone without one: the
    // answers are alike.
    let known = org
        .admin
        .post(
            &org.path("/users"),
            json!({"email": "olga@other.test", "name": "Olga in Acme", "role": "agent"}),
        )
        .await;
    let unknown = org
        .admin
        .post(
            &org.path("/users"),
            json!({"email": "nobody@else.test", "name": "Nobody", "role": "agent"}),
        )
        .await;
    assert_eq!(
        (known.status.as_u16(), unknown.status.as_u16()),
        (202, 202),
        "{:?}",
        known.body
    );
    assert_eq!(keys(&known.body), keys(&unknown.body));
    assert!(known.body.get("user_id").is_none() && known.body.get("name").is_none());

    // Not a member until she accepts: nothing of hers shows in A.
    let members = org.admin.get(&org.path("/users")).await;
    assert!(!members.body.to_string().contains("olga@other.test"));
    assert_eq!(org.admin.get(&org.path(&format!("/users/{olga_id}"))).await.status, 404);
    let open = org.admin.get(&org.path("/invitations")).await;
    assert_eq!(open["items"].as_array().unwrap().len(), 2);

    // Accepting needs her own password.
    let token = token_of(&known);
    let wrong = accept(&app, json!({"token": token, "password": "not her password"})).await;
    assert_eq!(wrong.status, 401, "{:?}", wrong.body);
    let r = accept(&app, json!({"token": token, "password": "other password 1"})).await;
    assert_eq!(r.status, 200, "{:?}", r.body);
    assert_eq!(r["user_id"], olga_id.as_str());
    // The link works once.
    let again = accept(&app, json!({"token": token, "password": "other password 1"})).await;
    assert_eq!(again.status, 404);

    // A sees its own name for her; B still sees hers.
    let in_a = org.admin.get(&org.path(&format!("/users/{olga_id}"))).await;
    assert_eq!(in_a["name"], "Olga in Acme");
    let in_b = olga_admin.get(&format!("{b_users}/{olga_id}")).await;
    assert_eq!(in_b["name"], "Olga Other");

    // A's admin cannot rename the account, only A's name for her.
    let path = org.path(&format!("/users/{olga_id}"));
    let r = org.admin.patch(&path, json!({"name": "PWNED by Acme"})).await;
    assert_eq!(r.status, 403, "{:?}", r.body);
    let r = org
        .admin
        .patch(&path, json!({"display_name": "Olga (contractor)"}))
        .await;
    assert_eq!(
        (r.status.as_u16(), r["name"].as_str()),
        (200, Some("Olga (contractor)")),
        "{:?}",
        r.body
    );
    let in_b = olga_admin.get(&format!("{b_users}/{olga_id}")).await;
    assert_eq!(in_b["name"], "Olga Other", "B's people see her own name");
    // Nor set her e-mail or password.
    let r = org.admin.patch(&path, json!({"email": "evil@acme.test"})).await;
    assert_eq!(r.status, 422);
    let r = org.admin.patch(&path, json!({"password": "taken over 1234"})).await;
    assert_eq!(r.status, 422);
}

#[tokio::test]
async fn a_new_address_gets_an_account_only_by_accepting_and_a_withdrawn_link_is_dead() {
    let app = TestApp::spawn().await;
    let org = Org::create(&app).await;
    let invited = org
        .admin
        .post(
            &org.path("/users"),
            json!({"email": "newbie@acme.test", "name": "Newbie", "role": "agent", "team_ids": [org.team]}),
        )
        .await;
    assert_eq!(invited.status, 202, "{:?}", invited.body);
    // No account yet: signing in fails.
    let login = reply_of(
        reqwest::Client::new()
            .post(app.url("/api/v1/auth/login"))
            .json(&json!({"email": "newbie@acme.test", "password": "whatever it is"}))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(login.status, 401);
    let token = token_of(&invited);
    let short = accept(
        &app,
        json!({"token": token, "name": "Nina Newbie", "password": "short"}),
    )
    .await;
    assert_eq!(
        (short.status.as_u16(), short["error"]["field"].as_str()),
        (422, Some("password"))
    );
    let r = accept(
        &app,
        json!({"token": token, "name": "Nina Newbie", "password": "nina's own password"}),
    )
    .await;
    assert_eq!(r.status, 200, "{:?}", r.body);
    let nina = ApiClient::login(&app, "newbie@acme.test", "nina's own password").await;
    let me = nina
        .get(&org.path(&format!("/users/{}", r["user_id"].as_str().unwrap())))
        .await;
    assert_eq!(
        (me["name"].as_str(), me["team_ids"][0].as_str()),
        (Some("Nina Newbie"), Some(org.team.as_str()))
    );

    // A withdrawn invitation cannot be accepted.
    let invited = org
        .admin
        .post(
            &org.path("/users"),
            json!({"email": "late@acme.test", "name": "Late", "role": "agent"}),
        )
        .await;
    let id = invited["id"].as_str().unwrap().to_owned();
    assert_eq!(
        org.admin.delete(&org.path(&format!("/invitations/{id}"))).await.status,
        204
    );
    let r = accept(
        &app,
        json!({"token": token_of(&invited), "name": "Late", "password": "a long password"}),
    )
    .await;
    assert_eq!(r.status, 404);
    // Agents cannot invite.
    let r = org
        .agent
        .post(
            &org.path("/users"),
            json!({"email": "x@acme.test", "name": "X", "role": "agent"}),
        )
        .await;
    assert_eq!(r.status, 403);
}

/// A member removed from a workspace loses it at once: their session and
/// their API token answer 404 there, while their other workspaces work.
#[tokio::test]
async fn a_removed_members_session_and_token_stop_working_at_once() {
    let app = TestApp::spawn().await;
    let org = Org::create(&app).await;
    let token = org
        .agent
        .post(&org.path("/api-tokens"), json!({"name": "script"}))
        .await;
    assert_eq!(token.status, 201, "{:?}", token.body);
    let bearer = ApiClient::with_token(&app, token["secret"].as_str().unwrap());
    assert_eq!(bearer.get(&org.path("/conversations")).await.status, 200);
    assert_eq!(org.agent.get(&org.path("/conversations")).await.status, 200);
    let r = org.admin.delete(&org.path(&format!("/users/{}", org.agent_id))).await;
    assert_eq!(r.status, 204, "{:?}", r.body);
    for client in [&org.agent, &bearer] {
        let r = client.get(&org.path("/conversations")).await;
        assert_eq!(r.status, 404, "{:?}", r.body);
    }
    let page = org
        .agent
        .http
        .get(app.url(&format!("/w/{}/inbox", org.ws)))
        .send()
        .await
        .unwrap();
    assert_eq!(page.status(), 404, "the pages too");
}

/// A login checks one password hash whether or not the address has an
/// account (the same work, so the answer's timing tells nothing), and the
/// answers are alike.
#[tokio::test]
async fn a_login_does_the_same_work_whether_or_not_the_address_exists() {
    let app = TestApp::spawn().await;
    let _org = Org::create(&app).await;
    let login = |email: &'static str| {
        let app = &app;
        async move {
            let before = app.services.password_checks();
            let r = reply_of(
                reqwest::Client::new()
                    .post(app.url("/api/v1/auth/login"))
                    .json(&json!({"email": email, "password": "not the password"}))
                    .send()
                    .await
                    .unwrap(),
            )
            .await;
            (app.services.password_checks() - before, r.status.as_u16(), r.body)
        }
    };
    let known = login("ana@acme.test").await;
    let unknown = login("nobody@acme.test").await;
    let malformed = login("not an address").await;
    assert_eq!((known.0, known.1), (1, 401));
    assert_eq!(known, unknown);
    assert_eq!(known, malformed);
}

/// An invitation link works for seven days.
#[tokio::test]
async fn an_invitation_expires_after_seven_days() {
    let clock = std::sync::Arc::new(switchboard_service::ManualClock::new(switchboard_testkit::MONDAY_9AM));
    let app = TestApp::spawn_with(switchboard_testkit::TestOptions {
        manual_clock: Some(clock.clone()),
        ..switchboard_testkit::TestOptions::default()
    })
    .await;
    let org = Org::create(&app).await;
    let invited = org
        .admin
        .post(
            &org.path("/users"),
            json!({"email": "slow@acme.test", "name": "Slow", "role": "agent"}),
        )
        .await;
    assert_eq!(invited.status, 202);
    clock.advance(7 * 24 * 3600 * 1000 + 1);
    let r = accept(
        &app,
        json!({"token": token_of(&invited), "name": "Slow", "password": "a long password"}),
    )
    .await;
    assert_eq!(r.status, 404, "{:?}", r.body);
    let page = reqwest::get(app.url(&format!("/invite?token={}", token_of(&invited))))
        .await
        .unwrap();
    assert_eq!(page.status(), 410);
}
