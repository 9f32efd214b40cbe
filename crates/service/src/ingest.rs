//! Inbound messages: one path for every channel. Verify, parse, then hand
//! the message to the committer, which stores concurrent messages in one
//! transaction (group commit: one fsync for many messages) and answers each
//! only after that transaction is durable.

use futures::FutureExt;
use switchboard_channels::{Inbound, InboundMessage, StatusUpdate};
use switchboard_core::lifecycle::{self, Command, MessageAuthor};
use switchboard_core::{
    ChannelId, ChannelKind, Contact, ContactId, ContactIdentity, Conversation, ConversationId, ConversationStatus,
    Direction, Message, MessageId, MessageKind, Millis, Priority, SenderKind, TeamId, WorkspaceId,
};
use switchboard_store::Exec;
use tokio::sync::{mpsc, oneshot};

use crate::conversations::{insert_activity, set_state, transition};
use crate::{ServiceError, ServiceResult, Services, routing};

/// What became of an inbound message.
#[derive(Debug, Clone, serde::Serialize, schemars::JsonSchema)]
pub struct IngestOutcome {
    pub message_id: MessageId,
    pub conversation_id: ConversationId,
    /// The same provider message id was already stored; nothing new was written.
    pub duplicate: bool,
}

/// What a provider webhook request did.
#[derive(Debug, Clone)]
pub enum HookOutcome {
    Message(IngestOutcome),
    Status { message_id: MessageId, applied: bool },
}

/// The channel facts ingest needs, read once per request.
#[derive(Debug, Clone)]
pub(crate) struct ChannelCtx {
    pub id: ChannelId,
    pub workspace_id: WorkspaceId,
    pub default_team: Option<TeamId>,
    pub reopen_minutes: i64,
}

struct Item {
    channel: ChannelCtx,
    message: InboundMessage,
    reply: oneshot::Sender<ServiceResult<IngestOutcome>>,
}

#[derive(Clone)]
pub(crate) struct Ingestor {
    tx: mpsc::Sender<Item>,
    batch_max: usize,
}

pub(crate) struct IngestReceiver(mpsc::Receiver<Item>);

impl Ingestor {
    pub(crate) fn channel(batch_max: usize) -> (Ingestor, IngestReceiver) {
        let (tx, rx) = mpsc::channel(16 * 1024);
        (
            Ingestor {
                tx,
                batch_max: batch_max.max(1),
            },
            IngestReceiver(rx),
        )
    }
}

pub(crate) fn spawn_committer(services: Services, rx: IngestReceiver) {
    let batch_max = services.inner.ingest.batch_max;
    // The committer holds only a weak link, so dropping the services (tests)
    // lets the task end.
    let weak = std::sync::Arc::downgrade(&services.inner);
    drop(services);
    tokio::spawn(async move {
        let mut rx = rx.0;
        let mut batch = Vec::with_capacity(batch_max);
        while let Some(first) = rx.recv().await {
            batch.push(first);
            while batch.len() < batch_max {
                match rx.try_recv() {
                    Ok(item) => batch.push(item),
                    Err(_) => break,
                }
            }
            let Some(inner) = weak.upgrade() else { break };
            let services = Services { inner };
            let items: Vec<(ChannelCtx, InboundMessage)> =
                batch.iter().map(|i| (i.channel.clone(), i.message.clone())).collect();
            let results = std::panic::AssertUnwindSafe(commit_batch(&services, &items))
                .catch_unwind()
                .await
                .unwrap_or_else(|_| {
                    tracing::error!("ingest batch panicked; answering its requests with an error");
                    Err(ServiceError::Internal("ingest failed".into()))
                });
            match results {
                Ok(results) => {
                    for (item, result) in batch.drain(..).zip(results) {
                        let _ = item.reply.send(result);
                    }
                }
                Err(e) => {
                    tracing::warn!(error = %e, size = batch.len(), "ingest batch not committed");
                    for item in batch.drain(..) {
                        let _ = item.reply.send(Err(ServiceError::Unavailable));
                    }
                }
            }
        }
    });
}

/// Store a batch in one transaction; each message in its own savepoint so
/// one bad message does not undo the others.
async fn commit_batch(
    services: &Services,
    items: &[(ChannelCtx, InboundMessage)],
) -> ServiceResult<Vec<ServiceResult<IngestOutcome>>> {
    let now = services.now();
    let mut tx = services.store().begin().await?;
    let mut results = Vec::with_capacity(items.len());
    let mut changes = Vec::new();
    for (channel, message) in items {
        let mut attempt = 0;
        let result = loop {
            attempt += 1;
            let mut sp = tx.savepoint().await?;
            match ingest_one(&mut sp.exec(), channel, message, now).await {
                Ok((outcome, change)) => {
                    sp.commit().await?;
                    changes.extend(change);
                    break Ok(outcome);
                }
                Err(e) => {
                    sp.rollback().await?;
                    // Another node stored the same message or contact between our
                    // read and our write: read again, it is a duplicate now.
                    if matches!(e, ServiceError::Conflict(_)) && attempt < 2 {
                        continue;
                    }
                    break Err(e);
                }
            }
        };
        results.push(result);
    }
    tx.commit().await?;
    // Published only once durable, in the order they happened.
    for change in changes {
        let kind = if change.created {
            "conversation.created"
        } else {
            "conversation.updated"
        };
        services.emit_conversation(kind, &change.conversation);
        for m in &change.messages {
            services.emit_message("message.created", &change.conversation, m);
        }
    }
    Ok(results)
}

/// What one stored message changed, to publish after the commit.
struct Change {
    conversation: Conversation,
    created: bool,
    /// Activity lines, then the customer's message.
    messages: Vec<Message>,
}

async fn find_or_create_contact(
    exec: &mut Exec<'_>,
    channel: &ChannelCtx,
    message: &InboundMessage,
    now: Millis,
) -> ServiceResult<ContactId> {
    if let Some(id) = exec
        .contact_of_identity(channel.id, &message.contact.external_id)
        .await?
    {
        return Ok(id);
    }
    let c = &message.contact;
    // What the provider says about the customer is kept only if it is valid.
    let name = c
        .name
        .as_deref()
        .and_then(|n| switchboard_core::validate::Label::parse("name", n).ok())
        .map(|l| l.into_string());
    let email = c
        .email
        .as_deref()
        .and_then(|e| switchboard_core::validate::Email::parse(e).ok())
        .map(|e| e.to_string());
    let contact = Contact {
        id: ContactId::new(),
        workspace_id: channel.workspace_id,
        name,
        phone: c.phone.clone().filter(|p| p.len() <= 20),
        email,
        country: None,
        attributes: Default::default(),
        identities: vec![ContactIdentity {
            channel_id: channel.id,
            external_id: c.external_id.clone(),
        }],
        created_at: now,
        updated_at: now,
    };
    exec.insert_contact(&contact).await?;
    Ok(contact.id)
}

/// The conversation a customer message belongs to: the open one, a recent
/// closed one (within the channel's reopen period) or a pending one woken
/// up, else a new one.
async fn conversation_for(
    exec: &mut Exec<'_>,
    channel: &ChannelCtx,
    contact: ContactId,
    now: Millis,
) -> ServiceResult<(Conversation, bool, Vec<Message>)> {
    let latest = exec.latest_conversation(contact, channel.id).await?;
    if let Some(mut c) = latest {
        if c.status.is_open() {
            return Ok((c, false, Vec::new()));
        }
        let within_reopen = c
            .times
            .closed_at
            .is_some_and(|closed| now.since(closed) < channel.reopen_minutes * 60_000);
        if c.status == ConversationStatus::Pending || within_reopen {
            let route = routing::route(exec, channel.workspace_id, c.team_id.or(channel.default_team), now).await?;
            let activity = transition(exec, &mut c, Command::CustomerReturned { route }, None, now).await?;
            return Ok((c, false, vec![activity]));
        }
    }
    let route = routing::route(exec, channel.workspace_id, channel.default_team, now).await?;
    let (state, activity) = lifecycle::open(Some(route), now);
    let mut c = Conversation {
        id: ConversationId::new(),
        workspace_id: channel.workspace_id,
        channel_id: channel.id,
        contact_id: contact,
        team_id: None,
        assignee_id: None,
        status: state.status,
        priority: Priority::Normal,
        ticket: false,
        tags: Vec::new(),
        close_comment: None,
        rating: None,
        times: state.times,
        updated_at: now,
    };
    set_state(&mut c, state, now);
    exec.insert_conversation(&c).await?;
    let activity = insert_activity(exec, &c, activity, None, now).await?;
    Ok((c, true, vec![activity]))
}

async fn ingest_one(
    exec: &mut Exec<'_>,
    channel: &ChannelCtx,
    message: &InboundMessage,
    now: Millis,
) -> ServiceResult<(IngestOutcome, Option<Change>)> {
    if let Some(existing) = exec
        .message_by_provider_id(channel.id, Direction::In, &message.external_id)
        .await?
    {
        let outcome = IngestOutcome {
            message_id: existing.id,
            conversation_id: existing.conversation_id,
            duplicate: true,
        };
        return Ok((outcome, None));
    }
    let contact = find_or_create_contact(exec, channel, message, now).await?;
    let (mut conversation, created, mut activities) = conversation_for(exec, channel, contact, now).await?;
    let in_reply_to = match &message.in_reply_to {
        None => None,
        Some(quoted) => {
            let found = match exec.message_by_provider_id(channel.id, Direction::In, quoted).await? {
                Some(m) => Some(m),
                None => exec.message_by_provider_id(channel.id, Direction::Out, quoted).await?,
            };
            found.map(|m| m.id)
        }
    };
    let stored = Message {
        id: MessageId::new(),
        workspace_id: channel.workspace_id,
        conversation_id: conversation.id,
        direction: Direction::In,
        sender_kind: SenderKind::Contact,
        sender_id: Some(contact.to_string()),
        kind: MessageKind::Text,
        body: Some(message.text.clone()),
        activity: None,
        in_reply_to,
        provider_message_id: Some(message.external_id.clone()),
        delivery_status: None,
        delivery_error: None,
        created_at: now,
    };
    exec.insert_message(&stored, channel.id).await?;
    lifecycle::record_message(&mut conversation.times, MessageAuthor::Customer, now);
    conversation.updated_at = now;
    exec.update_conversation(&conversation).await?;
    let outcome = IngestOutcome {
        message_id: stored.id,
        conversation_id: conversation.id,
        duplicate: false,
    };
    activities.push(stored);
    let change = Change {
        conversation,
        created,
        messages: activities,
    };
    Ok((outcome, Some(change)))
}

/// The header that carries a provider's signature for a channel kind.
/// Provider adapters add their own headers here as they arrive.
pub fn signature_header(_kind: ChannelKind) -> &'static str {
    switchboard_channels::api::SIGNATURE_HEADER
}

impl Services {
    /// Handle a provider webhook: the channel must exist and be of `kind`,
    /// the signature must verify, then the payload is stored. The caller
    /// answers 2xx only when this returns `Ok`.
    pub async fn receive_hook(
        &self,
        kind: ChannelKind,
        channel_id: ChannelId,
        signature: Option<&str>,
        body: &[u8],
    ) -> ServiceResult<HookOutcome> {
        let row = self
            .store()
            .reader()
            .channel_by_id(channel_id)
            .await?
            .ok_or(ServiceError::NotFound("channel"))?;
        let channel = row.to_domain()?;
        if channel.kind != kind {
            return Err(ServiceError::NotFound("channel"));
        }
        let inbound = match kind {
            ChannelKind::Api => {
                let secret = row.secret.as_deref().ok_or(ServiceError::BadSignature)?;
                switchboard_channels::api::verify(secret, body, signature)?;
                switchboard_channels::api::parse(body)?
            }
            _ => return Err(ServiceError::NotFound("channel")),
        };
        let ctx = ChannelCtx {
            id: channel.id,
            workspace_id: channel.workspace_id,
            default_team: channel.default_team_id,
            reopen_minutes: channel.reopen_minutes,
        };
        match inbound {
            Inbound::Message(message) => self.ingest(ctx, message).await.map(HookOutcome::Message),
            Inbound::Status(update) => self.apply_status(&ctx, update).await,
        }
    }

    pub(crate) async fn ingest(&self, channel: ChannelCtx, message: InboundMessage) -> ServiceResult<IngestOutcome> {
        let (reply, answer) = oneshot::channel();
        self.inner
            .ingest
            .tx
            .send(Item {
                channel,
                message,
                reply,
            })
            .await
            .map_err(|_| ServiceError::Unavailable)?;
        answer.await.map_err(|_| ServiceError::Unavailable)?
    }

    async fn apply_status(&self, channel: &ChannelCtx, update: StatusUpdate) -> ServiceResult<HookOutcome> {
        let mut tx = self.store().begin().await?;
        let found = match tx
            .exec()
            .message_by_provider_id(channel.id, Direction::Out, &update.message_id)
            .await?
        {
            Some(m) => Some(m),
            None => match update.message_id.parse::<MessageId>() {
                Ok(id) => tx
                    .exec()
                    .message(channel.workspace_id, id)
                    .await?
                    .filter(|m| m.direction == Direction::Out),
                Err(_) => None,
            },
        };
        let message = found
            .filter(|m| m.delivery_status.is_some())
            .ok_or(ServiceError::NotFound("message"))?;
        let current = message
            .delivery_status
            .unwrap_or(switchboard_core::DeliveryStatus::Queued);
        let applied = current.can_advance_to(update.status);
        if applied {
            tx.exec()
                .set_delivery(message.id, update.status, None, update.error.as_deref())
                .await?;
        }
        tx.commit().await?;
        if applied {
            self.emit_delivery(channel.workspace_id, message.id).await;
        }
        Ok(HookOutcome::Status {
            message_id: message.id,
            applied,
        })
    }
}
