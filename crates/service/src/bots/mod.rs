//! Bots (DESIGN.md §4): a channel's built-in flow or an external bot owns a
//! new chat (status `bot`) until it hands off, or an admin enters the chat.
//! Each customer message in a bot chat queues a `bot_turn` job; the job
//! answers every message the bot has not handled yet, in order, so turns
//! survive restarts and run once.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use switchboard_core::bot::{self, BotView, ChannelBot, Effect, Field, Session};
use switchboard_core::lifecycle::{self, Command, MessageAuthor};
use switchboard_core::permissions::Actor;
use switchboard_core::validate::{Invalid, MessageText};
use switchboard_core::{
    ChannelId, Conversation, ConversationId, ConversationStatus, Message, Millis, SenderKind, TeamId, WorkspaceId,
};
use switchboard_store::{BotSession, ChannelRow, Exec, JobRow};

use crate::authz::require_admin;
use crate::integrations::Posted;
use crate::jobs::{BoxFuture, Job, Lane, Outcome};
use crate::kernel::channel_record;
use crate::kernel::{activity_message, outgoing_text, set_state, state_of};
use crate::outbound::{DELIVER_MESSAGE, deliver_payload};
use crate::routing::Router;
use crate::{ServiceError, ServiceResult, Services};

pub(crate) const BOT_TURN: &str = "bot_turn";

/// Customer messages one turn job handles before it queues the next.
const TURN_BATCH: u64 = 50;

/// What a `bot_turn` job carries.
pub(crate) fn turn_payload(ws: WorkspaceId, conversation: ConversationId) -> serde_json::Value {
    serde_json::json!({ "workspace_id": ws, "conversation_id": conversation })
}

#[derive(Debug, Deserialize)]
pub(crate) struct TurnPayload {
    workspace_id: WorkspaceId,
    conversation_id: ConversationId,
}

/// The bot's turn in a conversation.
pub(crate) struct BotTurn;

impl Job for BotTurn {
    const KIND: &'static str = BOT_TURN;
    const LANE: Lane = Lane::Bots;
    type Payload = TurnPayload;

    /// A conversation's turns come one after another.
    fn ordering_key(payload: &TurnPayload) -> Option<String> {
        Some(payload.conversation_id.to_string())
    }

    fn run<'a>(services: &'a Services, job: &'a JobRow, _: TurnPayload) -> BoxFuture<'a, Outcome> {
        Box::pin(services.run_bot_turn(job))
    }

    /// A bot that cannot answer must not leave the customer waiting.
    fn after_giving_up<'a>(services: &'a Services, payload: &'a TurnPayload) -> BoxFuture<'a, ()> {
        Box::pin(services.bot_turn_gave_up(payload))
    }
}

/// A channel's new bot.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum BotInput {
    /// The built-in bot runs this flow (YAML or JSON). Teams are named by
    /// name or id; errors say on which line they are.
    Flow { source: String },
    /// An external bot: each customer message of a bot chat is POSTed to
    /// `url`, signed like outgoing webhooks; it answers through
    /// `…/conversations/{id}/bot/messages` and `…/bot/handoff`.
    External {
        #[schemars(regex(pattern = r"^https?://[^\s/?#@]+\.[^\s/?#@]+"))]
        url: String,
    },
}

/// A channel's bot as saved.
#[derive(Debug, Serialize, JsonSchema)]
pub struct SavedBot {
    pub bot: BotView,
    /// An external bot's signing secret, shown this once.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub secret: Option<String>,
}

/// An external bot's message to the customer.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct BotReplyRequest {
    pub text: String,
    /// Choices shown as buttons where the channel has them, as numbered
    /// lines otherwise.
    #[serde(default)]
    pub buttons: Vec<String>,
}

/// An external bot gives the chat to people.
#[derive(Debug, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct BotHandoffRequest {
    /// The team to route to; the channel's default team when left out.
    pub team_id: Option<TeamId>,
}

/// Hand a bot chat to people inside the caller's transaction: route it
/// (`team`, else the channel's default team), record the activity, queue a
/// ticket auto-reply, end the bot session. Returns the messages to store:
/// the activity line and the auto-reply.
async fn hand_off_in(
    exec: &mut Exec<'_>,
    router: &mut Router,
    c: &mut Conversation,
    team: Option<TeamId>,
    default_team: Option<TeamId>,
    now: Millis,
) -> ServiceResult<Vec<Message>> {
    let route = router.route(exec, c.workspace_id, team.or(default_team)).await?;
    let (next, activity) = lifecycle::apply(&state_of(c), Command::HandOff { route }, now)?;
    set_state(c, next, now);
    let mut messages = vec![activity_message(c, activity, None, now)];
    if c.ticket
        && let Some(text) = router.ticket_auto_reply(exec, c.workspace_id, c.team_id).await?
    {
        lifecycle::record_message(&mut c.times, MessageAuthor::Automated, now);
        messages.push(outgoing_text(c, SenderKind::System, None, text, Vec::new(), now));
    }
    exec.delete_bot_session(c.id).await?;
    router.mark_assigned(exec).await?;
    Ok(messages)
}

impl Services {
    // ----- admin: a channel's bot -----

    /// An admin's channel, read to change its bot.
    async fn channel_for_bot(
        &self,
        tx: &mut switchboard_store::Tx<'_>,
        actor: &Actor,
        id: ChannelId,
    ) -> ServiceResult<ChannelRow> {
        require_admin(actor)?;
        tx.exec()
            .channel(actor.workspace_id, id)
            .await?
            .ok_or(ServiceError::NotFound("channel"))
    }

    /// Store (`Some`) or remove (`None`) a channel's bot, audited, and commit.
    async fn save_channel_bot(
        &self,
        mut tx: switchboard_store::Tx<'_>,
        actor: &Actor,
        row: &ChannelRow,
        bot: Option<&ChannelBot>,
    ) -> ServiceResult<()> {
        let mut record = channel_record(row)?;
        let (action, details) = match bot {
            Some(bot) => {
                record.settings["bot"] =
                    serde_json::to_value(bot).map_err(|e| ServiceError::Internal(e.to_string()))?;
                let kind = match bot {
                    ChannelBot::Flow { .. } => "flow",
                    ChannelBot::External { .. } => "external",
                };
                ("channel.bot_set", serde_json::json!({ "kind": kind }))
            }
            None => {
                if let Some(settings) = record.settings.as_object_mut() {
                    settings.remove("bot");
                }
                ("channel.bot_removed", serde_json::json!({}))
            }
        };
        tx.exec().update_channel(&record).await?;
        self.audit(&mut tx, actor, action, "channel", record.id.to_string(), details)
            .await?;
        tx.commit().await?;
        self.forget_channel(record.id);
        Ok(())
    }

    pub async fn set_channel_bot(&self, actor: &Actor, id: ChannelId, input: BotInput) -> ServiceResult<SavedBot> {
        let ws = actor.workspace_id;
        let mut tx = self.store().begin().await?;
        let row = self.channel_for_bot(&mut tx, actor, id).await?;
        let (bot, secret) = match input {
            BotInput::Flow { source } => {
                let teams = tx.exec().teams(ws).await?;
                let resolve = |name: &str| {
                    teams
                        .iter()
                        .find(|t| t.name.eq_ignore_ascii_case(name) || t.id.to_string() == name)
                        .map(|t| t.id)
                };
                let flow = bot::compile(&source, &resolve).map_err(ServiceError::InvalidFlow)?;
                (ChannelBot::Flow { source, flow }, None)
            }
            BotInput::External { url } => {
                let url = self.target_url(ws, "url", &url).await?;
                let secret = crate::integrations::new_secret();
                (
                    ChannelBot::External {
                        url,
                        secret: secret.clone(),
                    },
                    Some(secret),
                )
            }
        };
        self.save_channel_bot(tx, actor, &row, Some(&bot)).await?;
        Ok(SavedBot {
            bot: bot.view(),
            secret,
        })
    }

    /// Remove a channel's bot. Its open bot chats are handed to people on
    /// their next message (or now, by "Enter chat").
    pub async fn remove_channel_bot(&self, actor: &Actor, id: ChannelId) -> ServiceResult<()> {
        let mut tx = self.store().begin().await?;
        let row = self.channel_for_bot(&mut tx, actor, id).await?;
        self.save_channel_bot(tx, actor, &row, None).await
    }

    // ----- people take over -----

    /// "Enter chat": an admin takes a bot chat over; the bot stops.
    pub async fn enter_chat(&self, actor: &Actor, id: ConversationId) -> ServiceResult<Conversation> {
        let now = self.now();
        let mut tx = self.store().begin().await?;
        tx.exec().lock_routing(actor.workspace_id).await?;
        let mut c = self.visible_for_update(&mut tx, actor, id).await?;
        require_admin(actor)?;
        let activity = crate::kernel::transition(
            &mut tx.exec(),
            &mut c,
            Command::EnterChat { admin: actor.user_id },
            Some(actor.user_id),
            now,
        )
        .await?;
        tx.exec().delete_bot_session(id).await?;
        self.emit_change(&mut tx, &c, &[activity]).await?;
        tx.commit().await?;
        Ok(c)
    }

    // ----- an external bot answers through the API -----

    /// A bot chat, read for change by an admin (an external bot's token).
    async fn bot_chat_for_update(
        &self,
        tx: &mut switchboard_store::Tx<'_>,
        actor: &Actor,
        id: ConversationId,
    ) -> ServiceResult<Conversation> {
        let c = self.visible_for_update(tx, actor, id).await?;
        require_admin(actor)?;
        if c.status != ConversationStatus::Bot {
            return Err(ServiceError::Conflict(format!(
                "the bot no longer owns this chat: it is {}",
                c.status
            )));
        }
        Ok(c)
    }

    pub async fn bot_reply(&self, actor: &Actor, id: ConversationId, req: BotReplyRequest) -> ServiceResult<Message> {
        let ws = actor.workspace_id;
        let now = self.now();
        let mut tx = self.store().begin().await?;
        let mut c = self.bot_chat_for_update(&mut tx, actor, id).await?;
        let text = MessageText::parse("text", &req.text)?.into_string();
        if req.buttons.len() > 10 {
            return Err(Invalid::new("buttons", "at most 10").into());
        }
        let buttons = req
            .buttons
            .iter()
            .map(|b| switchboard_core::validate::Label::parse("buttons", b).map(|l| l.into_string()))
            .collect::<Result<Vec<_>, _>>()?;
        let row = tx
            .exec()
            .channel(ws, c.channel_id)
            .await?
            .ok_or(ServiceError::NotFound("channel"))?;
        let shows_buttons = self.capabilities(row.to_domain()?.kind).buttons;
        let reply = bot::menu(text, buttons, shows_buttons);
        let message = outgoing_text(&c, SenderKind::Bot, None, reply.text, reply.buttons, now);
        lifecycle::record_message(&mut c.times, MessageAuthor::Automated, now);
        c.updated_at = now;
        crate::kernel::save_conversation(&mut tx.exec(), &c, now).await?;
        self.queue_outgoing(&mut tx.exec(), &c, std::slice::from_ref(&message), now)
            .await?;
        self.emit_change(&mut tx, &c, std::slice::from_ref(&message)).await?;
        tx.commit().await?;
        self.wake_jobs();
        Ok(message)
    }

    pub async fn bot_handoff(
        &self,
        actor: &Actor,
        id: ConversationId,
        req: BotHandoffRequest,
    ) -> ServiceResult<Conversation> {
        let ws = actor.workspace_id;
        let now = self.now();
        let mut tx = self.store().begin().await?;
        tx.exec().lock_routing(ws).await?;
        let mut c = self.bot_chat_for_update(&mut tx, actor, id).await?;
        if let Some(team) = req.team_id {
            tx.exec().team(ws, team).await?.ok_or(ServiceError::NotFound("team"))?;
        }
        let default_team = self.default_team(&mut tx.exec(), &c).await?;
        let mut router = Router::new(now);
        let done = hand_off_in(&mut tx.exec(), &mut router, &mut c, req.team_id, default_team, now).await?;
        crate::kernel::save_conversation(&mut tx.exec(), &c, now).await?;
        self.queue_outgoing(&mut tx.exec(), &c, &done, now).await?;
        self.emit_change(&mut tx, &c, &done).await?;
        tx.commit().await?;
        self.wake_jobs();
        Ok(c)
    }

    async fn default_team(&self, exec: &mut Exec<'_>, c: &Conversation) -> ServiceResult<Option<TeamId>> {
        Ok(exec
            .channel(c.workspace_id, c.channel_id)
            .await?
            .map(|row| row.to_domain())
            .transpose()?
            .and_then(|ch| ch.default_team_id))
    }

    /// Store messages; those to the customer (queued) get a delivery job.
    async fn queue_outgoing(
        &self,
        exec: &mut Exec<'_>,
        c: &Conversation,
        messages: &[Message],
        now: Millis,
    ) -> ServiceResult<()> {
        for m in messages {
            exec.insert_message(m, c.channel_id).await?;
            if m.delivery_status == Some(switchboard_core::DeliveryStatus::Queued) {
                exec.enqueue_job(
                    DELIVER_MESSAGE,
                    &deliver_payload(m),
                    now,
                    self.config().delivery_max_attempts,
                    now,
                )
                .await?;
            }
        }
        Ok(())
    }

    // ----- the turn job -----

    pub(crate) async fn run_bot_turn(&self, job: &JobRow) -> Outcome {
        match self.try_bot_turn(job).await {
            Ok(outcome) => outcome,
            Err(ServiceError::NotFound(what)) => Outcome::Fail(format!("{what} no longer exists")),
            Err(e) => Outcome::Retry(e.to_string()),
        }
    }

    async fn try_bot_turn(&self, job: &JobRow) -> ServiceResult<Outcome> {
        let payload: TurnPayload =
            serde_json::from_str(&job.payload).map_err(|e| ServiceError::Internal(e.to_string()))?;
        let (ws, id) = (payload.workspace_id, payload.conversation_id);
        let mut db = self.store().reader();
        let c = db
            .conversation(ws, id)
            .await?
            .ok_or(ServiceError::NotFound("conversation"))?;
        if c.status != ConversationStatus::Bot {
            return Ok(Outcome::Done);
        }
        let row = db
            .channel(ws, c.channel_id)
            .await?
            .ok_or(ServiceError::NotFound("channel"))?;
        match row.bot() {
            Some(ChannelBot::External { url, secret }) => self.external_turn(&row, &c, &url, &secret).await,
            flow => {
                let flow = match flow {
                    Some(ChannelBot::Flow { flow, .. }) => Some(flow),
                    _ => None,
                };
                self.flow_turn(&row, id, flow.as_ref()).await
            }
        }
    }

    /// Run the built-in flow over the messages it has not answered. With no
    /// flow any more (the bot was removed) the chat goes to people.
    async fn flow_turn(
        &self,
        row: &ChannelRow,
        id: ConversationId,
        flow: Option<&bot::Flow>,
    ) -> ServiceResult<Outcome> {
        let channel = row.to_domain()?;
        let ws = channel.workspace_id;
        let buttons = self.capabilities(channel.kind).buttons;
        let now = self.now();
        let mut tx = self.store().begin().await?;
        tx.exec().lock_routing(ws).await?;
        let Some(mut c) = tx.exec().conversation_for_update(ws, id).await? else {
            return Ok(Outcome::Fail("conversation no longer exists".into()));
        };
        if c.status != ConversationStatus::Bot {
            return Ok(Outcome::Done);
        }
        let stored = tx.exec().bot_session(id).await?.unwrap_or_default();
        let inputs = tx
            .exec()
            .customer_messages_after(id, stored.last_message_id, TURN_BATCH)
            .await?;
        if inputs.is_empty() && flow.is_some() {
            return Ok(Outcome::Done);
        }
        let mut session = stored.step.clone().map(|step| Session {
            step,
            failures: u32::try_from(stored.failures).unwrap_or(0),
        });
        let mut last = stored.last_message_id;
        let mut messages = Vec::new();
        let mut collected: Vec<(Field, String)> = Vec::new();
        let mut handoff: Option<Option<TeamId>> = flow.is_none().then_some(None);
        if let Some(flow) = flow {
            for input in &inputs {
                last = Some(input.id);
                let text = input.body.as_deref().unwrap_or_default();
                let turn = match &session {
                    Some(s) => flow.respond(s, text, buttons),
                    None => flow.begin(text, buttons),
                };
                for effect in turn.effects {
                    match effect {
                        Effect::Say(reply) => {
                            messages.push(outgoing_text(&c, SenderKind::Bot, None, reply.text, reply.buttons, now))
                        }
                        Effect::Collect { field, value } => collected.push((field, value)),
                        Effect::HandOff { team } => handoff = Some(team),
                    }
                }
                session = turn.session;
                if handoff.is_some() {
                    break;
                }
            }
        }
        if !messages.is_empty() {
            lifecycle::record_message(&mut c.times, MessageAuthor::Automated, now);
        }
        if !collected.is_empty() {
            self.store_collected(&mut tx.exec(), &c, collected, now).await?;
        }
        match handoff {
            Some(team) => {
                let mut router = Router::new(now);
                let done = hand_off_in(&mut tx.exec(), &mut router, &mut c, team, channel.default_team_id, now).await?;
                messages.extend(done);
            }
            None => {
                let saved = BotSession {
                    failures: session.as_ref().map_or(0, |s| i64::from(s.failures)),
                    step: session.map(|s| s.step),
                    last_message_id: last,
                };
                tx.exec().save_bot_session(ws, id, &saved, now).await?;
            }
        }
        c.updated_at = now;
        crate::kernel::save_conversation(&mut tx.exec(), &c, now).await?;
        self.queue_outgoing(&mut tx.exec(), &c, &messages, now).await?;
        // More waiting than one job handles: the next job goes on.
        if inputs.len() as u64 == TURN_BATCH && c.status == ConversationStatus::Bot {
            tx.exec()
                .enqueue_job(
                    BOT_TURN,
                    &turn_payload(ws, id),
                    now,
                    self.config().delivery_max_attempts,
                    now,
                )
                .await?;
        }
        self.emit_change(&mut tx, &c, &messages).await?;
        tx.commit().await?;
        self.wake_jobs();
        Ok(Outcome::Done)
    }

    /// Write what the bot collected into the chat's contact.
    async fn store_collected(
        &self,
        exec: &mut Exec<'_>,
        c: &Conversation,
        collected: Vec<(Field, String)>,
        now: Millis,
    ) -> ServiceResult<()> {
        let Some(mut contact) = exec.contact(c.workspace_id, c.contact_id).await? else {
            return Ok(());
        };
        for (field, value) in collected {
            match field {
                Field::Name => contact.name = Some(value),
                Field::Email => contact.email = Some(value),
                Field::Phone => contact.phone = Some(value),
                Field::Attribute(key) => {
                    contact.attributes.insert(key, serde_json::Value::String(value));
                }
            }
        }
        contact.updated_at = now;
        exec.update_contact(&contact).await?;
        Ok(())
    }

    /// Send the messages an external bot has not had yet, oldest first, one
    /// signed POST each. A refusal (4xx, a forbidden target) hands the
    /// chat to people rather than leave the customer waiting.
    async fn external_turn(
        &self,
        row: &ChannelRow,
        c: &Conversation,
        url: &str,
        secret: &str,
    ) -> ServiceResult<Outcome> {
        let channel = row.to_domain()?;
        let ws = c.workspace_id;
        let stored = self.store().reader().bot_session(c.id).await?.unwrap_or_default();
        let inputs = self
            .store()
            .reader()
            .customer_messages_after(c.id, stored.last_message_id, TURN_BATCH)
            .await?;
        let contact = self.store().reader().contact(ws, c.contact_id).await?;
        for input in inputs {
            let event = serde_json::json!({
                "type": "message.created",
                "workspace_id": ws,
                "channel": { "id": channel.id, "kind": channel.kind, "name": channel.name },
                "conversation": { "id": c.id, "status": c.status },
                "contact": contact.as_ref().map(|k| serde_json::json!({
                    "id": k.id, "name": k.name, "email": k.email, "phone": k.phone,
                })),
                "message": { "id": input.id, "text": input.body, "created_at": input.created_at },
            })
            .to_string();
            let refused = match self.post_signed(ws, url, secret, &input.id.to_string(), &event).await? {
                Ok(status) if status.is_success() => None,
                Ok(status) if status.is_server_error() || matches!(status.as_u16(), 408 | 429) => {
                    return Ok(Outcome::Retry(format!("the bot answered {status}")));
                }
                Ok(status) => Some(format!("the bot answered {status}")),
                Err(Posted::Failed(reason)) => return Ok(Outcome::Retry(reason)),
                Err(Posted::Refused(reason)) => Some(reason),
            };
            if let Some(reason) = refused {
                tracing::warn!(conversation = %c.id, %reason, "external bot refused a message; handing the chat to people");
                self.hand_off_now(ws, c.id).await?;
                return Ok(Outcome::Done);
            }
            let mut tx = self.store().begin().await?;
            let session = BotSession {
                last_message_id: Some(input.id),
                ..stored.clone()
            };
            tx.exec().save_bot_session(ws, c.id, &session, self.now()).await?;
            tx.commit().await?;
        }
        Ok(Outcome::Done)
    }

    /// The bot could not take the chat (gave up, refused): people get it.
    pub(crate) async fn hand_off_now(&self, ws: WorkspaceId, id: ConversationId) -> ServiceResult<()> {
        let now = self.now();
        let mut tx = self.store().begin().await?;
        tx.exec().lock_routing(ws).await?;
        let Some(mut c) = tx.exec().conversation_for_update(ws, id).await? else {
            return Ok(());
        };
        if c.status != ConversationStatus::Bot {
            return Ok(());
        }
        let default_team = self.default_team(&mut tx.exec(), &c).await?;
        let mut router = Router::new(now);
        let done = hand_off_in(&mut tx.exec(), &mut router, &mut c, None, default_team, now).await?;
        crate::kernel::save_conversation(&mut tx.exec(), &c, now).await?;
        self.queue_outgoing(&mut tx.exec(), &c, &done, now).await?;
        self.emit_change(&mut tx, &c, &done).await?;
        tx.commit().await?;
        self.wake_jobs();
        Ok(())
    }

    /// A `bot_turn` job gave up: hand the chat to people.
    pub(crate) async fn bot_turn_gave_up(&self, p: &TurnPayload) {
        if let Err(e) = self.hand_off_now(p.workspace_id, p.conversation_id).await {
            tracing::warn!(conversation = %p.conversation_id, error = %e, "could not hand a bot chat to people");
        }
    }
}
