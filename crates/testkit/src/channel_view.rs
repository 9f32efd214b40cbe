//! What a provider channel's tests read back through the API: the
//! channel's conversations and their messages (waiting for what arrives in
//! the background), and an agent's reply.

use std::time::Duration;

use serde_json::{Value, json};

use crate::client::ApiClient;
use crate::fixtures::Org;

/// How long a test waits for a background step (ingest, delivery).
const PATIENCE: Duration = Duration::from_secs(20);

pub struct ChannelView {
    admin: ApiClient,
    agent: ApiClient,
    workspace: String,
    pub channel: String,
}

impl ChannelView {
    pub fn of(org: &Org, channel: &str) -> ChannelView {
        ChannelView {
            admin: org.admin.clone(),
            agent: org.agent.clone(),
            workspace: org.path(""),
            channel: channel.to_owned(),
        }
    }

    /// The same view through other clients (after a restart, the server
    /// has a new address).
    pub fn with_clients(&self, admin: ApiClient, agent: ApiClient) -> ChannelView {
        ChannelView {
            admin,
            agent,
            workspace: self.workspace.clone(),
            channel: self.channel.clone(),
        }
    }

    fn path(&self, rest: &str) -> String {
        format!("{}{rest}", self.workspace)
    }

    /// The channel's conversations, newest first.
    pub async fn conversations(&self) -> Vec<Value> {
        let r = self
            .admin
            .get(&self.path(&format!("/conversations?channel={}", self.channel)))
            .await;
        r["items"].as_array().cloned().unwrap_or_default()
    }

    /// The id of a conversation other than `except`, once there is one.
    pub async fn conversation_other_than(&self, except: &[&str]) -> String {
        crate::eventually(PATIENCE, || async {
            self.conversations()
                .await
                .into_iter()
                .filter_map(|c| c["id"].as_str().map(str::to_owned))
                .find(|id| !except.contains(&id.as_str()))
        })
        .await
    }

    /// The id of the channel's first conversation, once there is one.
    pub async fn conversation(&self) -> String {
        self.conversation_other_than(&[]).await
    }

    pub async fn messages(&self, conversation: &str) -> Vec<Value> {
        let r = self
            .admin
            .get(&self.path(&format!("/conversations/{conversation}/messages?limit=200")))
            .await;
        r["items"].as_array().cloned().unwrap_or_default()
    }

    /// The first message that satisfies `pred`, once there is one.
    pub async fn message_where(&self, conversation: &str, pred: impl Fn(&Value) -> bool) -> Value {
        crate::eventually(PATIENCE, || async {
            self.messages(conversation).await.into_iter().find(|m| pred(m))
        })
        .await
    }

    /// The agent's text reply; its id.
    pub async fn reply(&self, conversation: &str, text: &str) -> String {
        let r = self
            .agent
            .post(
                &self.path(&format!("/conversations/{conversation}/messages")),
                json!({"kind": "text", "body": text}),
            )
            .await;
        assert_eq!(r.status, 201, "{:?}", r.body);
        r["id"].as_str().unwrap().to_owned()
    }

    /// The contact of a conversation.
    pub async fn contact_of(&self, conversation: &str) -> Value {
        let c = self
            .admin
            .get(&self.path(&format!("/conversations/{conversation}")))
            .await;
        let contact = c["contact_id"].as_str().unwrap_or_default().to_owned();
        self.admin.get(&self.path(&format!("/contacts/{contact}"))).await.body
    }

    /// Check connection's answer for the channel.
    pub async fn check(&self) -> Value {
        self.admin
            .post(&self.path(&format!("/channels/{}/check", self.channel)), json!({}))
            .await
            .body
    }
}
