//! Outreach: an agent starts a conversation with a saved contact, on a
//! channel where the contact has an identity, with a first message (a text,
//! or a template where the channel's messaging window is closed, as it is
//! before the customer has written).

use schemars::JsonSchema;
use serde::Deserialize;
use switchboard_core::lifecycle::{self, Routed};
use switchboard_core::permissions::Actor;
use switchboard_core::validate::Invalid;
use switchboard_core::{ChannelId, ContactId, Conversation, Role, TeamId, TemplateId, WorkspaceId};

use crate::kernel::{activity_message, new_conversation};
use crate::outbound::{Outgoing, TemplateFill, queue_outgoing, resolve_outgoing};
use crate::{ServiceError, ServiceResult, Services};

/// Start a conversation with a contact: give a `body` (a text) or a
/// `template_id` with its `params`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct StartConversation {
    /// A channel on which the contact has an identity.
    pub channel_id: ChannelId,
    /// A free-form first message. Refused where the channel has a messaging
    /// window (WhatsApp, Messenger, Instagram): it is closed until the
    /// customer writes, so send a template there.
    pub body: Option<String>,
    /// A template to send instead: approved, for this channel or any channel.
    pub template_id: Option<TemplateId>,
    /// The values of the template's `{{1}}`, `{{2}}`, … in order.
    #[serde(default)]
    pub params: Vec<String>,
    /// The template's header value: its `{{1}}`, or the https:// link of
    /// its image, video or document.
    pub header_param: Option<String>,
    /// One value per template button, empty where a button takes none (a
    /// URL's `{{1}}`, a code to copy, a quick reply's payload).
    #[serde(default)]
    pub button_params: Vec<String>,
}

/// Whether the actor may work on a channel whose chats go to `team`: admins
/// everywhere, others on channels of their teams (and channels without a
/// team), as they see chats (DESIGN.md §7).
fn reaches_channel(actor: &Actor, team: Option<TeamId>) -> bool {
    actor.is_admin() || team.is_none_or(|t| actor.team_ids.contains(&t))
}

impl Services {
    /// Start an outgoing conversation with a saved contact: assigned to the
    /// caller in the channel's default team, with the first message queued
    /// for delivery, all in one transaction.
    pub async fn start_conversation(
        &self,
        actor: &Actor,
        contact_id: ContactId,
        req: StartConversation,
    ) -> ServiceResult<Conversation> {
        let ws: WorkspaceId = actor.workspace_id;
        let now = self.now();
        let mut tx = self.store().begin().await?;
        // Before any row is read: ingest takes the same lock, so a customer
        // message cannot open a conversation between the check for an open
        // one below and the insert.
        tx.exec().lock_routing(ws).await?;
        // Existence first: a record out of reach is 404 whatever the body says.
        let contact = tx
            .exec()
            .contact(ws, contact_id)
            .await?
            .ok_or(ServiceError::NotFound("contact"))?;
        let channel = tx
            .exec()
            .channel(ws, req.channel_id)
            .await?
            .ok_or(ServiceError::NotFound("channel"))?;
        let team = channel.to_domain()?.default_team_id;
        if !reaches_channel(actor, team) {
            return Err(ServiceError::NotFound("channel"));
        }
        // The conversation becomes the caller's, and supervisors do not
        // write to customers (DESIGN.md §7; as for reopening a chat).
        if actor.role == Role::Supervisor {
            return Err(ServiceError::Forbidden(
                "supervisors do not write to customers; an agent or an admin starts the conversation",
            ));
        }
        let fill = TemplateFill {
            params: req.params,
            header_param: req.header_param,
            button_params: req.button_params,
        };
        let what = Outgoing::from_fields(req.body.as_deref(), req.template_id, fill)?;
        if !contact.identities.iter().any(|i| i.channel_id == req.channel_id) {
            return Err(Invalid::new(
                "channel_id",
                "the contact has no identity on this channel (they have never written on it)",
            )
            .into());
        }
        if let Some(open) = tx
            .exec()
            .latest_conversations(&[(contact_id, req.channel_id)])
            .await?
            .into_iter()
            .find(|c| !c.status.is_closed())
        {
            // Named only to someone who may open it.
            let which = if actor.can_see(&crate::kernel::scope(&open)) {
                format!(": {}", open.id)
            } else {
                " (with another team)".to_owned()
            };
            return Err(ServiceError::Conflict(format!(
                "the contact already has an open conversation on this channel{which}"
            )));
        }
        // Nobody has written yet: a channel with a messaging window has it closed.
        let resolved = resolve_outgoing(&mut tx.exec(), &self.config().channels, &channel, what, None, now).await?;

        // Where a messaging window applies, a template re-engages the
        // customer: the chat waits in `pending`, with the closed ones, until
        // they answer (DESIGN.md §4). Elsewhere it is the caller's at once.
        let re_engaging = self.capabilities(channel.to_domain()?.kind).window.applies();
        let (state, opened) = if re_engaging {
            lifecycle::open_pending(actor.user_id, team, now)
        } else {
            let route = Routed::Assigned {
                agent: actor.user_id,
                team,
            };
            lifecycle::open(Some(route), now)
        };
        let mut c = new_conversation(ws, req.channel_id, contact_id, state, now);
        crate::kernel::insert_conversation(&mut tx.exec(), &c, now).await?;
        if !re_engaging {
            tx.exec().mark_assigned(ws, actor.user_id, now).await?;
        }
        let activity = activity_message(&c, opened, Some(actor.user_id), now);
        tx.exec().insert_message(&activity, c.channel_id).await?;
        let mut message = resolved.into_message(&c, actor.user_id, None, now);
        let attempts = self.config().delivery_max_attempts;
        queue_outgoing(&mut tx.exec(), &mut c, &mut message, None, attempts, now).await?;
        self.emit_conversation(&mut tx, "conversation.created", &c).await?;
        for m in [&activity, &message] {
            self.emit_message(&mut tx, "message.created", &c, m).await?;
        }
        tx.commit().await?;
        self.wake_jobs();
        Ok(c)
    }
}

#[cfg(test)]
mod tests {
    use switchboard_core::UserId;
    use uuid::Uuid;

    use super::*;

    #[test]
    fn channels_are_reached_through_teams() {
        let team = TeamId(Uuid::from_u128(7));
        let actor = |role, teams: Vec<TeamId>| Actor {
            user_id: UserId(Uuid::from_u128(1)),
            workspace_id: WorkspaceId(Uuid::from_u128(2)),
            role,
            team_ids: teams,
        };
        assert!(reaches_channel(&actor(Role::Agent, vec![team]), Some(team)));
        assert!(reaches_channel(&actor(Role::Agent, vec![]), None));
        assert!(!reaches_channel(&actor(Role::Agent, vec![]), Some(team)));
        assert!(!reaches_channel(&actor(Role::Supervisor, vec![]), Some(team)));
        assert!(reaches_channel(&actor(Role::Admin, vec![]), Some(team)));
    }

    #[test]
    fn a_first_message_is_a_body_or_a_template() {
        let id = TemplateId(Uuid::from_u128(3));
        let field = |r: ServiceResult<Outgoing>| match r {
            Err(ServiceError::Invalid(i)) => i.field,
            other => panic!("{other:?}"),
        };
        let values = |params: &[&str]| TemplateFill {
            params: params.iter().map(|p| p.to_string()).collect(),
            ..TemplateFill::default()
        };
        assert_eq!(field(Outgoing::from_fields(Some("hi"), Some(id), values(&[]))), "body");
        assert_eq!(field(Outgoing::from_fields(None, None, values(&[]))), "body");
        assert_eq!(field(Outgoing::from_fields(Some("  "), None, values(&[]))), "body");
        assert_eq!(field(Outgoing::from_fields(Some("hi"), None, values(&["x"]))), "params");
        let header = TemplateFill {
            header_param: Some("x".into()),
            ..TemplateFill::default()
        };
        assert_eq!(field(Outgoing::from_fields(Some("hi"), None, header)), "header_param");
        assert!(matches!(Outgoing::from_fields(Some("hi"), None, values(&[])), Ok(Outgoing::Text(t)) if t == "hi"));
        assert!(matches!(
            Outgoing::from_fields(None, Some(id), values(&["a"])),
            Ok(Outgoing::Template { fill, .. }) if fill.params == ["a"]
        ));
    }
}
