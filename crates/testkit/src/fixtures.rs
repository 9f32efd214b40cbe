//! A small organisation built through the API: an admin, a team with an
//! agent, and an API channel whose callbacks land on a local receiver.

use serde_json::{Value, json};

use crate::client::{ApiClient, post_hook, reply_of};
use crate::{CallbackServer, TestApp};

pub struct Org {
    pub admin: ApiClient,
    pub ws: String,
    pub team: String,
    pub agent: ApiClient,
    pub agent_id: String,
    pub channel: String,
    pub secret: String,
    pub callback: CallbackServer,
}

impl Org {
    pub fn path(&self, rest: &str) -> String {
        format!("/api/v1/workspaces/{}{}", self.ws, rest)
    }

    /// Admin, team "Support" (round robin), agent Ana in it, API channel
    /// routed to the team.
    pub async fn create(app: &TestApp) -> Org {
        let (admin, ws) = app.admin().await;
        let ws = ws.to_string();
        let base = format!("/api/v1/workspaces/{ws}");
        let team = admin
            .post(
                &format!("{base}/teams"),
                json!({"name": "Support", "assignment_rule": "round_robin"}),
            )
            .await;
        assert_eq!(team.status, 201, "{:?}", team.body);
        let team = team["id"].as_str().expect("team id").to_owned();
        let agent_id = invite(
            &admin,
            &ws,
            json!({"email": "ana@acme.test", "name": "Ana Agent", "role": "agent", "team_ids": [team]}),
            "agent password 1",
        )
        .await;
        let callback = CallbackServer::start().await;
        // The receiver is local: on a server that refuses local targets it
        // is saved while the workspace allows them (as an operator would
        // for a test receiver), then refused again, so sends to it are.
        let strict = !app.services.config().allow_private_targets;
        let allow_local = |allow: bool| {
            let admin = &admin;
            let base = &base;
            async move {
                let r = admin
                    .patch(&format!("{base}/settings"), json!({"allow_private_targets": allow}))
                    .await;
                assert_eq!(r.status, 200, "{:?}", r.body);
            }
        };
        if strict {
            allow_local(true).await;
        }
        let channel = admin
            .post(
                &format!("{base}/channels"),
                json!({"kind": "api", "name": "Shop", "callback_url": callback.url(), "default_team_id": team}),
            )
            .await;
        assert_eq!(channel.status, 201, "{:?}", channel.body);
        if strict {
            allow_local(false).await;
        }
        let secret = channel["secret"].as_str().expect("secret").to_owned();
        let channel = channel["id"].as_str().expect("channel id").to_owned();
        let agent = ApiClient::login(app, "ana@acme.test", "agent password 1").await;
        Org {
            admin,
            ws,
            team,
            agent,
            agent_id,
            channel,
            secret,
            callback,
        }
    }

    /// A customer writes through the API channel.
    pub async fn customer_says(&self, app: &TestApp, message_id: &str, customer: &str, text: &str) -> Value {
        let reply = post_hook(
            app,
            &self.channel,
            &self.secret,
            &json!({"message_id": message_id, "contact": {"id": customer, "name": "Carla Customer"}, "text": text}),
        )
        .await;
        assert_eq!(reply.status, 200, "{:?}", reply.body);
        reply.body
    }

    /// A new member of the workspace, signed in: their client and user id
    /// (password `member password 1`).
    pub async fn member(
        &self,
        app: &TestApp,
        email: &str,
        name: &str,
        role: &str,
        teams: &[&str],
    ) -> (ApiClient, String) {
        let id = invite(
            &self.admin,
            &self.ws,
            json!({"email": email, "name": name, "role": role, "team_ids": teams}),
            "member password 1",
        )
        .await;
        (ApiClient::login(app, email, "member password 1").await, id)
    }

    pub async fn set_online(&self, client: &ApiClient, user_id: &str) {
        let r = client
            .patch(
                &self.path(&format!("/users/{user_id}")),
                json!({"availability": "online"}),
            )
            .await;
        assert_eq!(r.status, 200, "{:?}", r.body);
    }
}

/// Invite someone to a workspace (`invitation` as the API takes it) and
/// accept it as they would, with `password` (theirs, or chosen for a new
/// account under the invited name): their user id.
pub async fn invite(admin: &ApiClient, ws: &str, invitation: Value, password: &str) -> String {
    let r = admin
        .post(&format!("/api/v1/workspaces/{ws}/users"), invitation.clone())
        .await;
    assert_eq!(r.status, 202, "{:?}", r.body);
    let url = r["accept_url"].as_str().expect("accept_url");
    let token = url.split("token=").nth(1).expect("a token in the link").to_owned();
    let accepted = reply_of(
        reqwest::Client::new()
            .post(format!("{}/api/v1/invitations/accept", admin.base))
            .json(&json!({"token": token, "name": invitation["name"], "password": password}))
            .send()
            .await
            .expect("accept"),
    )
    .await;
    assert_eq!(accepted.status, 200, "{:?}", accepted.body);
    accepted["user_id"].as_str().expect("user id").to_owned()
}
