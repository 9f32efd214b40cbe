//! Inbound messages: one path for every channel. Verify, parse, then hand
//! the message to the committer, which stores concurrent messages in one
//! transaction (group commit: one fsync for many messages) and answers each
//! only after that transaction is durable.

mod hook_status;
pub use hook_status::ChannelHookStatus;
mod mirrored;
mod polling;
mod threads;

pub(crate) use polling::PollChannel;

use std::collections::{BTreeSet, HashMap, HashSet};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

use futures::FutureExt;
use switchboard_channels::{
    ChannelAdapter, ChannelSetup, Hook, HookReply, HookRequest, Inbound, InboundEdit, InboundMessage, InboundOutcome,
    SendError, StatusUpdate,
};
use switchboard_core::campaign::OptChange;
use switchboard_core::lifecycle::{self, Command, MessageAuthor};
use switchboard_core::{
    Activity, ChannelId, ChannelKind, Contact, ContactId, ContactIdentity, Conversation, ConversationId,
    ConversationStatus, Direction, Message, MessageId, MessageKind, Millis, SenderKind, TeamId, WorkspaceId,
};
use switchboard_store::{
    AttachmentRecord, ConversationSave, Durability, Exec, IngestQuery, contact_inserts, conversation_saves,
    message_inserts,
};
use tokio::sync::{mpsc, oneshot};

use crate::events::Pending;
use crate::kernel::{activity_message, new_conversation, outgoing_text, set_state, state_of};
use crate::outbound::{DELIVER_MESSAGE, deliver_payload};
use crate::routing::Router;
use crate::{ServiceError, ServiceResult, Services};

/// What became of an inbound message.
#[derive(Debug, Clone, serde::Serialize, schemars::JsonSchema)]
pub struct IngestOutcome {
    pub message_id: MessageId,
    pub conversation_id: ConversationId,
    /// The same provider message id was already stored; nothing new was written.
    pub duplicate: bool,
}

/// The channel facts ingest needs.
#[derive(Debug, Clone)]
pub(crate) struct ChannelCtx {
    pub id: ChannelId,
    pub workspace_id: WorkspaceId,
    pub default_team: Option<TeamId>,
    pub reopen_minutes: i64,
    /// Whether the business can write back on this channel (ticket auto-replies).
    pub can_reply: bool,
    /// New conversations start with the channel's bot.
    pub has_bot: bool,
    /// A message continues the conversation its references name, not the
    /// customer's open one (e-mail threads; see `threads`).
    pub threads: bool,
}

impl ChannelCtx {
    pub(crate) fn of(services: &Services, setup: &ChannelSetup, channel: &switchboard_core::Channel) -> ChannelCtx {
        ChannelCtx {
            id: channel.id,
            workspace_id: channel.workspace_id,
            default_team: channel.default_team_id,
            reopen_minutes: channel.reopen_minutes,
            can_reply: services.ready_to_send(setup).is_ok(),
            has_bot: channel.bot.is_some(),
            threads: services.adapter(setup.kind).is_ok_and(|a| a.threads_replies()),
        }
    }
}

struct Item {
    channel: ChannelCtx,
    message: InboundMessage,
    /// The message's files, already in storage, to record with it.
    files: Vec<AttachmentRecord>,
    reply: oneshot::Sender<ServiceResult<IngestOutcome>>,
}

#[derive(Clone)]
pub(crate) struct Ingestor {
    tx: mpsc::Sender<Item>,
    batch_max: usize,
    /// Batches that could not be stored as a set and were stored message
    /// by message (see [`Services::ingest_fallbacks`]).
    fallbacks: Arc<AtomicU64>,
    channels: Arc<ChannelCache>,
    hook_notes: Arc<hook_status::HookNotes>,
}

/// What `receive_hook` needs of a channel.
#[derive(Clone)]
struct HookChannel {
    setup: ChannelSetup,
    ctx: ChannelCtx,
}

/// Channels for webhook requests, so a request does not read its channel
/// from the database each time: on SQLite that read costs more CPU than the
/// rest of the request (a pool checkout, the query and the pool's checks,
/// each a hop to a worker thread). Changes made on this node apply at once
/// (the directory calls [`Services::forget_channel`]), on other nodes when
/// its `NOTIFY` reaches them, and within [`CHANNEL_TTL`] at the latest.
#[derive(Default)]
struct ChannelCache {
    entries: RwLock<HashMap<ChannelId, (HookChannel, Instant)>>,
    /// Bumped, under the write lock, by every change: a row read before a
    /// change is not cached after it.
    generation: AtomicU64,
}

const CHANNEL_TTL: Duration = Duration::from_secs(1);
/// Past this many channels the cache starts over (it stays small).
const CHANNEL_CACHE_MAX: usize = 10_000;

impl ChannelCache {
    fn get(&self, id: ChannelId) -> Option<HookChannel> {
        let entries = self.entries.read().unwrap_or_else(|e| e.into_inner());
        entries
            .get(&id)
            .filter(|(_, at)| at.elapsed() < CHANNEL_TTL)
            .map(|(c, _)| c.clone())
    }

    fn generation(&self) -> u64 {
        self.generation.load(Ordering::Acquire)
    }

    /// Keep a channel read when the cache was at `generation`, unless
    /// something changed since.
    fn put(&self, channel: HookChannel, generation: u64) {
        let mut entries = self.entries.write().unwrap_or_else(|e| e.into_inner());
        if self.generation() != generation {
            return;
        }
        if entries.len() >= CHANNEL_CACHE_MAX {
            entries.clear();
        }
        entries.insert(channel.ctx.id, (channel, Instant::now()));
    }

    /// Forget one channel, or all of them.
    fn forget(&self, id: Option<ChannelId>) {
        let mut entries = self.entries.write().unwrap_or_else(|e| e.into_inner());
        self.generation.fetch_add(1, Ordering::AcqRel);
        match id {
            Some(id) => {
                entries.remove(&id);
            }
            None => entries.clear(),
        }
    }
}

pub(crate) struct IngestReceiver(mpsc::Receiver<Item>);

impl Ingestor {
    pub(crate) fn channel(batch_max: usize) -> (Ingestor, IngestReceiver) {
        let (tx, rx) = mpsc::channel(16 * 1024);
        (
            Ingestor {
                tx,
                batch_max: batch_max.max(1),
                fallbacks: Arc::default(),
                channels: Arc::default(),
                hook_notes: Arc::default(),
            },
            IngestReceiver(rx),
        )
    }
}

/// Batches committed but not yet answered: the committer stores the next
/// batch while the disk syncs these.
const BATCHES_AWAITING_SYNC: usize = 8;

/// A committed batch waiting to be on disk before it is answered.
struct Committed {
    replies: Vec<oneshot::Sender<ServiceResult<IngestOutcome>>>,
    results: Vec<ServiceResult<IngestOutcome>>,
    changes: Vec<Change>,
    durability: Durability,
}

pub(crate) fn spawn_committer(services: Services, rx: IngestReceiver) {
    let batch_max = services.inner.ingest.batch_max;
    let own_thread = services.store().backend() == switchboard_store::Backend::Sqlite;
    // The tasks hold only a weak link, so dropping the services (tests)
    // lets them end.
    let weak = std::sync::Arc::downgrade(&services.inner);
    drop(services);
    let (committed, awaiting_sync) = mpsc::channel(BATCHES_AWAITING_SYNC);
    spawn_acknowledger(weak.clone(), awaiting_sync);
    let committer = async move {
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
            let files: Files = batch
                .iter_mut()
                .filter(|i| !i.files.is_empty())
                .map(|i| {
                    (
                        (i.channel.id, i.message.external_id.clone()),
                        std::mem::take(&mut i.files),
                    )
                })
                .collect();
            let stored = std::panic::AssertUnwindSafe(commit_batch(&services, &items, &files))
                .catch_unwind()
                .await
                .unwrap_or_else(|_| {
                    tracing::error!("ingest batch panicked; answering its requests with an error");
                    Err(ServiceError::Internal("ingest failed".into()))
                });
            drop(services);
            let replies: Vec<_> = batch.drain(..).map(|i| i.reply).collect();
            match stored {
                Ok((results, changes, durability)) => {
                    let batch = Committed {
                        replies,
                        results,
                        changes,
                        durability,
                    };
                    if committed.send(batch).await.is_err() {
                        break;
                    }
                }
                Err(e) => {
                    tracing::warn!(error = %e, size = replies.len(), "ingest batch not committed");
                    for reply in replies {
                        let _ = reply.send(Err(ServiceError::Unavailable));
                    }
                }
            }
        }
    };
    if !own_thread {
        tokio::spawn(committer);
        return;
    }
    // On SQLite the committer gets a thread of its own: every statement is
    // a hop to SQLite's worker thread and back, and on the shared runtime
    // each hop waited behind the HTTP tasks. (PostgreSQL sockets belong to
    // the runtime that opened them, so there it stays on the shared one.)
    std::thread::Builder::new()
        .name("ingest-committer".into())
        .spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("a runtime for the ingest committer");
            runtime.block_on(committer);
        })
        .expect("the ingest committer thread");
}

/// Answer committed batches in commit order, each once it is on disk, and
/// publish what it changed.
fn spawn_acknowledger(weak: std::sync::Weak<crate::Inner>, mut awaiting_sync: mpsc::Receiver<Committed>) {
    tokio::spawn(async move {
        while let Some(batch) = awaiting_sync.recv().await {
            match batch.durability.wait().await {
                Ok(()) => {
                    if let Some(inner) = weak.upgrade() {
                        publish(&Services { inner }, batch.changes);
                    }
                    for (reply, result) in batch.replies.into_iter().zip(batch.results) {
                        let _ = reply.send(result);
                    }
                }
                Err(e) => {
                    tracing::error!(error = %e, size = batch.replies.len(), "ingest batch not known to be on disk");
                    for reply in batch.replies {
                        let _ = reply.send(Err(ServiceError::Unavailable));
                    }
                }
            }
        }
    });
}

/// Outcomes, in order, what to publish, and when it is on disk.
type StoredBatch = (Vec<ServiceResult<IngestOutcome>>, Vec<Change>, Durability);

/// Store a batch; its outcomes may be reported, and its changes published,
/// once the returned [`Durability`] is waited for.
///
/// The batch is stored as a set first: one transaction, a few statements
/// for the whole batch (each statement costs a driver round trip, which is
/// what limited ingest). If any of it fails, it is rolled back and stored
/// again message by message, each in its own savepoint, so one bad message
/// does not fail the others.
async fn commit_batch(
    services: &Services,
    items: &[(ChannelCtx, InboundMessage)],
    files: &Files,
) -> ServiceResult<StoredBatch> {
    let now = services.now();
    let mut tx = services.store().begin().await?;
    match ingest_set(&mut tx.exec(), items, files, now, services.config()).await {
        Ok((outcomes, changes)) => {
            log_changes(services, &mut tx, &changes).await?;
            let durability = tx.commit_unsynced().await?;
            Ok((outcomes.into_iter().map(Ok).collect(), changes, durability))
        }
        Err(e) => {
            tx.rollback().await?;
            services.inner.ingest.fallbacks.fetch_add(1, Ordering::Relaxed);
            tracing::debug!(error = %e, size = items.len(), "batched ingest failed; storing message by message");
            commit_each(services, items, files, now).await
        }
    }
}

/// The fallback: one transaction, each message in its own savepoint.
async fn commit_each(
    services: &Services,
    items: &[(ChannelCtx, InboundMessage)],
    files: &Files,
    now: Millis,
) -> ServiceResult<StoredBatch> {
    let mut tx = services.store().begin().await?;
    let mut results = Vec::with_capacity(items.len());
    let mut changes = Vec::new();
    for item in items {
        let mut attempt = 0;
        let result = loop {
            attempt += 1;
            let mut sp = tx.savepoint().await?;
            match ingest_set(
                &mut sp.exec(),
                std::slice::from_ref(item),
                files,
                now,
                services.config(),
            )
            .await
            {
                Ok((mut outcomes, change)) => {
                    sp.commit().await?;
                    changes.extend(change);
                    break Ok(outcomes.remove(0));
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
    log_changes(services, &mut tx, &changes).await?;
    let durability = tx.commit_unsynced().await?;
    Ok((results, changes, durability))
}

/// Once durable: wake the jobs the batch queued (its events are announced
/// by the commit itself).
fn publish(services: &Services, changes: Vec<Change>) {
    if changes.iter().any(|c| c.wakes_jobs) {
        services.wake_jobs();
    }
}

/// Append the batch's events to the log, in the order they happened: one
/// append per workspace.
async fn log_changes(services: &Services, tx: &mut switchboard_store::Tx<'_>, changes: &[Change]) -> ServiceResult<()> {
    let mut by_workspace: Vec<(switchboard_core::WorkspaceId, Vec<Pending>)> = Vec::new();
    for change in changes {
        let c = &change.conversation;
        let kind = if change.created {
            "conversation.created"
        } else {
            "conversation.updated"
        };
        let scope = crate::events::conversation_scope(c);
        let mut events = vec![Pending::new(kind, scope.clone(), c)];
        for m in &change.messages {
            let files: Vec<_> = change
                .files
                .iter()
                .filter(|f| f.message_id == Some(m.id))
                .cloned()
                .collect();
            events.push(Pending::new(
                "message.created",
                scope.clone(),
                &crate::events::message_data(m, &files),
            ));
        }
        match by_workspace.iter_mut().find(|(ws, _)| *ws == c.workspace_id) {
            Some((_, list)) => list.extend(events),
            None => by_workspace.push((c.workspace_id, events)),
        }
    }
    // One order for every transaction: two batches that span the same
    // workspaces take their log heads' locks in the same order.
    by_workspace.sort_by_key(|(ws, _)| *ws);
    for (ws, events) in by_workspace {
        services.publish_all(tx, ws, events).await?;
    }
    Ok(())
}

/// What one stored message changed, to publish after the commit.
struct Change {
    /// The conversation as this message left it.
    conversation: Conversation,
    created: bool,
    /// Activity lines, then the customer's message, then an auto-reply.
    messages: Vec<Message>,
    /// Whether a job waits for this message: a ticket auto-reply in the
    /// outbox, or the bot's turn.
    wakes_jobs: bool,
    /// The customer message's files.
    files: Vec<switchboard_core::Attachment>,
}

/// Store messages as a set: read what the whole batch needs with one
/// statement per kind of fact, decide each message in order exactly as if
/// they were stored one by one, then write with multi-row statements.
/// Returns one outcome per message, in order, and the changes to publish.
async fn ingest_set(
    exec: &mut Exec<'_>,
    items: &[(ChannelCtx, InboundMessage)],
    files: &Files,
    now: Millis,
    config: &crate::config::ServiceConfig,
) -> ServiceResult<(Vec<IngestOutcome>, Vec<Change>)> {
    // Routing decisions of a workspace are serialised (PostgreSQL nodes);
    // taken first and in one order, so they cannot deadlock.
    let mut workspaces: Vec<WorkspaceId> = items.iter().map(|(c, _)| c.workspace_id).collect();
    workspaces.sort();
    workspaces.dedup();
    for ws in workspaces {
        exec.lock_routing(ws).await?;
    }
    let mut batch = Batch::read(exec, items, now, config).await?;
    let mut outcomes = Vec::with_capacity(items.len());
    for (channel, message) in items {
        let key = (channel.id, message.external_id.clone());
        let files = files.get(&key).map(Vec::as_slice).unwrap_or_default();
        outcomes.push(batch.ingest(exec, channel, message, files).await?);
    }
    batch.write(exec).await?;
    Ok((outcomes, batch.changes))
}

/// `(channel, provider or contact id)`: how providers name things.
type ExternalKey = (ChannelId, String);

/// The files of the batch's messages, by message.
type Files = HashMap<ExternalKey, Vec<AttachmentRecord>>;

/// A batch being stored: the facts read for it, kept up to date as each
/// message is decided, and what is to be written.
struct Batch {
    now: Millis,
    /// Inbound messages by provider id: those already stored that the batch
    /// names (its own ids and the ones it quotes), then the batch's own.
    inbound: HashMap<ExternalKey, (MessageId, ConversationId)>,
    /// Outbound messages the batch quotes or its threads name.
    outbound: HashMap<ExternalKey, (MessageId, ConversationId)>,
    contacts: HashMap<ExternalKey, ContactId>,
    new_contacts: Vec<Contact>,
    /// Every conversation read or opened, by id.
    conversations: HashMap<ConversationId, Conversation>,
    /// The newest conversation of each (contact, channel).
    latest: HashMap<(ContactId, ChannelId), ConversationId>,
    /// Conversations to write. In id order, so concurrent batches (other
    /// nodes on PostgreSQL) lock rows in one order and cannot deadlock.
    changed: BTreeSet<ConversationId>,
    /// Conversations opened by this batch (inserted, no tags to read).
    opened: HashSet<ConversationId>,
    /// Stored conversations whose state this batch changed (reopened,
    /// woken, rated): written in full. The others it continued only got
    /// message times ([`ConversationSave::MessageTimes`]).
    restated: HashSet<ConversationId>,
    router: Router,
    changes: Vec<Change>,
    /// Ticket auto-replies to deliver.
    deliveries: Vec<serde_json::Value>,
    /// Bot chats with a customer message for the bot to answer.
    bot_turns: BTreeSet<(WorkspaceId, ConversationId)>,
    delivery_attempts: i64,
    /// Files of the batch's messages, recorded with them.
    attachments: Vec<AttachmentRecord>,
    opt_keywords: switchboard_core::campaign::OptKeywords,
    /// Customers who opted out of campaigns or back in: (workspace,
    /// channel, their address, what they wrote).
    opt_changes: Vec<(WorkspaceId, ChannelId, String, OptChange)>,
    /// Subjects the batch's threaded messages carried, in order:
    /// `(channel, contact, subject key, conversation)`.
    subjects: Vec<(ChannelId, ContactId, String, ConversationId)>,
}

impl Batch {
    /// Read what the batch needs: stored messages it names, its customers'
    /// contacts and their newest conversations.
    async fn read(
        exec: &mut Exec<'_>,
        items: &[(ChannelCtx, InboundMessage)],
        now: Millis,
        config: &crate::config::ServiceConfig,
    ) -> ServiceResult<Batch> {
        let mut batch = Batch {
            now,
            inbound: HashMap::new(),
            outbound: HashMap::new(),
            contacts: HashMap::new(),
            new_contacts: Vec::new(),
            conversations: HashMap::new(),
            latest: HashMap::new(),
            changed: BTreeSet::new(),
            opened: HashSet::new(),
            restated: HashSet::new(),
            router: Router::new(now),
            changes: Vec::new(),
            deliveries: Vec::new(),
            bot_turns: BTreeSet::new(),
            delivery_attempts: config.delivery_max_attempts,
            attachments: Vec::new(),
            opt_keywords: config.opt_keywords.clone(),
            opt_changes: Vec::new(),
            subjects: Vec::new(),
        };
        let quoted: Vec<(ChannelId, &str)> = items
            .iter()
            .flat_map(|(c, m)| {
                let thread = if c.threads { m.references.as_slice() } else { &[] };
                m.in_reply_to.iter().chain(thread).map(|q| (c.id, q.as_str()))
            })
            .collect();
        let mut named: Vec<(ChannelId, &str)> = items.iter().map(|(c, m)| (c.id, m.external_id.as_str())).collect();
        named.extend(quoted.iter().copied());
        let senders: Vec<(ChannelId, &str)> = items
            .iter()
            .map(|(c, m)| (c.id, m.contact.external_id.as_str()))
            .collect();
        // Where new chats go (a bot's chats are routed at its hand-off).
        let teams: BTreeSet<(WorkspaceId, TeamId)> = items
            .iter()
            .filter(|(c, _)| !c.has_bot)
            .filter_map(|(c, _)| c.default_team.map(|t| (c.workspace_id, t)))
            .collect();
        let teams: Vec<(WorkspaceId, TeamId)> = teams.into_iter().collect();
        let facts = exec
            .ingest_facts(&IngestQuery {
                inbound: &named,
                senders: &senders,
                teams: &teams,
            })
            .await?;
        for m in facts.inbound {
            batch
                .inbound
                .insert((m.channel_id, m.provider_message_id), (m.id, m.conversation_id));
        }
        if !quoted.is_empty() {
            for m in exec.messages_by_provider_ids(Direction::Out, &quoted).await? {
                batch
                    .outbound
                    .insert((m.channel_id, m.provider_message_id), (m.id, m.conversation_id));
            }
        }
        for (channel, external_id, contact) in facts.contacts {
            batch.contacts.insert((channel, external_id), contact);
        }
        for c in facts.latest {
            batch.latest.insert((c.contact_id, c.channel_id), c.id);
            batch.conversations.insert(c.id, c);
        }
        batch.router.preload(facts.workspaces, facts.teams);
        Ok(batch)
    }

    /// Decide one message as if the batch's earlier messages were stored.
    async fn ingest(
        &mut self,
        exec: &mut Exec<'_>,
        channel: &ChannelCtx,
        message: &InboundMessage,
        files: &[AttachmentRecord],
    ) -> ServiceResult<IngestOutcome> {
        let key = (channel.id, message.external_id.clone());
        // Stored before, or earlier in this batch: the same answer again.
        if let Some(&(message_id, conversation_id)) = self.inbound.get(&key) {
            return Ok(IngestOutcome {
                message_id,
                conversation_id,
                duplicate: true,
            });
        }
        let contact = self.contact(channel, message);
        // The customer's answer to a feedback request is kept in the chat
        // that asked, which stays closed.
        let rating = self.rating(channel, contact, &message.text);
        let (conversation_id, created, mut messages) = match rating {
            Some((id, _)) => (id, false, Vec::new()),
            None if channel.threads => self.thread_for(exec, channel, contact, message).await?,
            None => self.conversation_for(exec, channel, contact).await?,
        };
        // Looked up before this message is added: a message cannot quote itself.
        let in_reply_to = message.in_reply_to.as_ref().and_then(|quoted| {
            let quoted = (channel.id, quoted.clone());
            (self.inbound.get(&quoted).or_else(|| self.outbound.get(&quoted))).map(|(id, _)| *id)
        });
        let author = (Direction::In, SenderKind::Contact, Some(contact.to_string()));
        // A message with files is a media message, its text the caption.
        let (kind, body) = match (files.is_empty(), message.text.is_empty()) {
            (true, _) => (MessageKind::Text, Some(message.text.clone())),
            (false, true) => (MessageKind::Media, None),
            (false, false) => (MessageKind::Media, Some(message.text.clone())),
        };
        let stored = Message {
            in_reply_to,
            provider_message_id: Some(message.external_id.clone()),
            subject: message.subject.clone(),
            html: message.html.clone(),
            ..Message::new(&self.conversations[&conversation_id], author, kind, body, self.now)
        };
        let files: Vec<AttachmentRecord> = files
            .iter()
            .map(|file| {
                let mut file = file.clone();
                file.attachment.conversation_id = Some(conversation_id);
                file.attachment.message_id = Some(stored.id);
                file.uploader_kind = SenderKind::Contact;
                file.uploader_id = Some(contact.to_string());
                file
            })
            .collect();
        self.attachments.extend(files.iter().cloned());
        self.inbound.insert(key, (stored.id, conversation_id));
        let now = self.now;
        if rating.is_some() {
            self.restated.insert(conversation_id);
        }
        if self.conversations[&conversation_id].snoozed_until.is_some() {
            self.restated.insert(conversation_id);
        }
        let conversation = self.touch(conversation_id);
        if let Some((_, rating)) = rating {
            conversation.rating = Some(rating);
        }
        // A customer message ends a snooze.
        if conversation.snoozed_until.is_some() {
            let wake = Command::Wake {
                by: None,
                customer_wrote: true,
            };
            let (next, activity) = lifecycle::apply(&state_of(conversation), wake, now)?;
            set_state(conversation, next, now);
            messages.push(activity_message(conversation, activity, None, now));
        }
        lifecycle::record_message(&mut conversation.times, MessageAuthor::Customer, now);
        conversation.updated_at = now;
        let outcome = IngestOutcome {
            message_id: stored.id,
            conversation_id,
            duplicate: false,
        };
        messages.push(stored);
        if let Some(change) = self.opt_keywords.change(&message.text) {
            let text = match &change {
                OptChange::Out(word) => format!(
                    "The customer opted out of campaigns (wrote {word}): campaigns skip them until they write an opt-in word such as START."
                ),
                OptChange::In(word) => format!("The customer opted in to campaigns again (wrote {word})."),
            };
            let notice = activity_message(
                &self.conversations[&conversation_id],
                Activity::Notice { text },
                None,
                now,
            );
            messages.push(notice);
            let address = message.contact.external_id.clone();
            self.opt_changes
                .push((channel.workspace_id, channel.id, address, change));
        }
        let auto_reply = if created && self.conversations[&conversation_id].ticket && channel.can_reply {
            self.auto_reply(exec, channel, conversation_id).await?
        } else {
            None
        };
        if let Some(reply) = &auto_reply {
            self.deliveries.push(deliver_payload(reply));
            let conversation = self.touch(conversation_id);
            lifecycle::record_message(&mut conversation.times, MessageAuthor::Automated, now);
        }
        let mut wakes_jobs = auto_reply.is_some();
        messages.extend(auto_reply);
        if self.conversations[&conversation_id].status == ConversationStatus::Bot {
            self.bot_turns.insert((channel.workspace_id, conversation_id));
            wakes_jobs = true;
        }
        self.changes.push(Change {
            conversation: self.conversations[&conversation_id].clone(),
            created,
            messages,
            wakes_jobs,
            files: files.iter().map(|f| f.attachment.clone()).collect(),
        });
        Ok(outcome)
    }

    /// The auto-reply a new ticket gets: its team's, else the workspace's.
    async fn auto_reply(
        &mut self,
        exec: &mut Exec<'_>,
        channel: &ChannelCtx,
        conversation_id: ConversationId,
    ) -> ServiceResult<Option<Message>> {
        let conversation = &self.conversations[&conversation_id];
        let text = self
            .router
            .ticket_auto_reply(exec, channel.workspace_id, conversation.team_id)
            .await?;
        let conversation = &self.conversations[&conversation_id];
        Ok(text.map(|text| outgoing_text(conversation, SenderKind::System, None, text, Vec::new(), self.now)))
    }

    /// The conversation a customer's message rates, and the rating: their
    /// newest conversation on the channel waits for a rating and the text is
    /// a number from 1 to 5.
    fn rating(&self, channel: &ChannelCtx, contact: ContactId, text: &str) -> Option<(ConversationId, i64)> {
        let id = *self.latest.get(&(contact, channel.id))?;
        let rating = crate::conversations::rating_in(text)?;
        crate::conversations::awaits_rating(&self.conversations[&id]).then_some((id, rating))
    }

    /// The customer's contact, created (to be inserted) on first contact.
    fn contact(&mut self, channel: &ChannelCtx, message: &InboundMessage) -> ContactId {
        let key = (channel.id, message.contact.external_id.clone());
        if let Some(id) = self.contacts.get(&key) {
            return *id;
        }
        let contact = new_contact(channel, message, self.now);
        self.contacts.insert(key, contact.id);
        let id = contact.id;
        self.new_contacts.push(contact);
        id
    }

    /// The conversation a customer message belongs to: the open one, a recent
    /// closed one (within the channel's reopen period) or a pending one woken
    /// up, else a new one. Returns it with whether it is new and the activity
    /// lines it got.
    async fn conversation_for(
        &mut self,
        exec: &mut Exec<'_>,
        channel: &ChannelCtx,
        contact: ContactId,
    ) -> ServiceResult<(ConversationId, bool, Vec<Message>)> {
        if let Some(id) = self.latest.get(&(contact, channel.id)).copied()
            && self.continues(channel, id)
        {
            return self.continue_conversation(exec, channel, id).await;
        }
        self.open_conversation(exec, channel, contact).await
    }

    /// Whether a customer message may continue this conversation: it is
    /// open, pending their answer, or closed within the channel's reopen
    /// period.
    fn continues(&self, channel: &ChannelCtx, id: ConversationId) -> bool {
        let c = &self.conversations[&id];
        let within_reopen = c
            .times
            .closed_at
            .is_some_and(|closed| self.now.since(closed) < channel.reopen_minutes * 60_000);
        c.status.is_open() || c.status == ConversationStatus::Pending || within_reopen
    }

    /// The customer's message goes on in this conversation: as it is when
    /// open, else live again.
    async fn continue_conversation(
        &mut self,
        exec: &mut Exec<'_>,
        channel: &ChannelCtx,
        id: ConversationId,
    ) -> ServiceResult<(ConversationId, bool, Vec<Message>)> {
        if self.conversations[&id].status.is_open() {
            return Ok((id, false, Vec::new()));
        }
        self.customer_returned(exec, channel, id).await
    }

    /// A closed or pending conversation the customer came back to: live
    /// again, routed (a pending one preferably to whoever wrote to them).
    async fn customer_returned(
        &mut self,
        exec: &mut Exec<'_>,
        channel: &ChannelCtx,
        id: ConversationId,
    ) -> ServiceResult<(ConversationId, bool, Vec<Message>)> {
        let now = self.now;
        let c = &self.conversations[&id];
        let team = c.team_id.or(channel.default_team);
        // A re-engaged customer's answer goes to whoever wrote to
        // them, when they can take it now.
        let waiting = (c.status == ConversationStatus::Pending)
            .then_some(c.assignee_id)
            .flatten();
        let route = match waiting {
            Some(sender) => {
                self.router
                    .route_preferring(exec, channel.workspace_id, team, sender)
                    .await?
            }
            None => self.router.route(exec, channel.workspace_id, team).await?,
        };
        self.restated.insert(id);
        let c = self.touch(id);
        let (next, activity) = lifecycle::apply(&state_of(c), Command::CustomerReturned { route }, now)?;
        set_state(c, next, now);
        let activity = activity_message(c, activity, None, now);
        Ok((id, false, vec![activity]))
    }

    /// A new conversation with the customer, with the channel's bot or routed.
    async fn open_conversation(
        &mut self,
        exec: &mut Exec<'_>,
        channel: &ChannelCtx,
        contact: ContactId,
    ) -> ServiceResult<(ConversationId, bool, Vec<Message>)> {
        let now = self.now;
        // A channel with a bot gives the bot the first turn; routing waits
        // for its hand-off.
        let route = if channel.has_bot {
            None
        } else {
            Some(
                self.router
                    .route(exec, channel.workspace_id, channel.default_team)
                    .await?,
            )
        };
        let (state, activity) = lifecycle::open(route, now);
        let c = new_conversation(channel.workspace_id, channel.id, contact, state, now);
        let activity = activity_message(&c, activity, None, now);
        let id = c.id;
        self.opened.insert(id);
        self.latest.insert((contact, channel.id), id);
        self.conversations.insert(id, c);
        self.touch(id);
        Ok((id, true, vec![activity]))
    }

    /// A conversation about to change, remembered for writing.
    fn touch(&mut self, id: ConversationId) -> &mut Conversation {
        self.changed.insert(id);
        self.conversations
            .get_mut(&id)
            .expect("a conversation the batch read or opened")
    }

    /// Write the batch: contacts, conversations (new and changed), every
    /// activity line and message, routing bookkeeping.
    async fn write(&mut self, exec: &mut Exec<'_>) -> ServiceResult<()> {
        let (in_full, message_times): (Vec<&Conversation>, Vec<&Conversation>) = self
            .changed
            .iter()
            .map(|id| &self.conversations[id])
            .partition(|c| self.opened.contains(&c.id) || self.restated.contains(&c.id));
        let messages: Vec<(ChannelId, &Message)> = self
            .changes
            .iter()
            .flat_map(|c| c.messages.iter().map(|m| (c.conversation.channel_id, m)))
            .collect();
        // One round trip for the rows of the whole batch.
        let mut writes = contact_inserts(&self.new_contacts);
        writes.extend(conversation_saves(&in_full, ConversationSave::All));
        writes.extend(conversation_saves(&message_times, ConversationSave::MessageTimes));
        writes.extend(message_inserts(&messages));
        exec.execute_all(&writes).await?;
        crate::kernel::record_legs(exec, &in_full, self.now).await?;
        for file in &self.attachments {
            exec.insert_attachment(file).await?;
        }
        for payload in &self.deliveries {
            exec.enqueue_job(DELIVER_MESSAGE, payload, self.now, self.delivery_attempts, self.now)
                .await?;
        }
        for (ws, conversation) in &self.bot_turns {
            exec.ensure_job(
                crate::bots::BOT_TURN,
                &crate::bots::turn_payload(*ws, *conversation),
                self.now,
                self.delivery_attempts,
                self.now,
            )
            .await?;
        }
        for (ws, channel, address, change) in &self.opt_changes {
            match change {
                OptChange::Out(word) => exec.opt_out(*ws, *channel, address, word, self.now).await?,
                OptChange::In(_) => exec.opt_in(*channel, address).await.map(drop)?,
            }
        }
        self.router.mark_assigned(exec).await?;
        Ok(())
    }
}

/// A contact for a customer's first message. What the provider says about
/// the customer is kept only if it is valid.
fn new_contact(channel: &ChannelCtx, message: &InboundMessage, now: Millis) -> Contact {
    let c = &message.contact;
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
    Contact {
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
        tags: Vec::new(),
        created_at: now,
        updated_at: now,
    }
}

impl Services {
    /// Handle a provider's request to `/hooks/{kind}/{channel_id}`: the
    /// channel must exist and be of `kind`; its adapter verifies and parses
    /// the request, the events it yields are stored, and the adapter's
    /// answer is returned only once they are durable.
    /// The largest body a kind's hook takes, when more than the server's
    /// general limit.
    pub fn hook_body_limit(&self, kind: &str) -> Option<usize> {
        let kind: ChannelKind = kind.parse().ok()?;
        self.config().channels.adapter(kind)?.hook_body_limit()
    }

    pub async fn receive_hook(&self, kind: &str, channel_id: &str, request: HookRequest) -> ServiceResult<HookReply> {
        let kind: ChannelKind = kind.parse().map_err(|_| ServiceError::NotFound("channel"))?;
        let channel_id: ChannelId = channel_id.parse().map_err(|_| ServiceError::NotFound("channel"))?;
        let channel = self.hook_channel(channel_id).await?;
        if channel.setup.kind != kind {
            return Err(ServiceError::NotFound("channel"));
        }
        let adapter = self
            .config()
            .channels
            .adapter(kind)
            .ok_or(ServiceError::NotFound("channel"))?;
        let answer = self.handle_hook(adapter.as_ref(), &channel, &request).await;
        self.note_hook(&channel.setup, answer.as_ref().map(|_| ()).map_err(|e| e.to_string()));
        answer
    }

    /// A request to a found channel's hook: verified and parsed by its
    /// adapter, its events stored, then the adapter's answer.
    async fn handle_hook(
        &self,
        adapter: &dyn ChannelAdapter,
        channel: &HookChannel,
        request: &HookRequest,
    ) -> ServiceResult<HookReply> {
        let events = match adapter.handle_hook(&channel.setup, request)? {
            Hook::Reply(reply) => return Ok(reply),
            Hook::Events(events) => events,
        };
        let outcomes = self.store_events(adapter, &channel.setup, &channel.ctx, events).await?;
        if adapter.may_share_hooks() {
            self.store_for_siblings(adapter, &channel.setup, request).await?;
        }
        Ok(adapter.answer(&outcomes))
    }

    /// The same request read by the workspace's other channels it may carry
    /// events for (numbers of one Meta app); each checks the signature with
    /// its own secret and takes only its own events.
    async fn store_for_siblings(
        &self,
        adapter: &dyn ChannelAdapter,
        channel: &ChannelSetup,
        request: &HookRequest,
    ) -> ServiceResult<()> {
        // Within the workspace: another workspace's channels are never
        // reached through this one's URL.
        let rows = self.store().reader().channels(channel.workspace_id).await?;
        for row in rows {
            let Ok(sibling) = crate::channel_port::setup_of(&row) else {
                continue;
            };
            if sibling.id == channel.id || sibling.kind != channel.kind || !adapter.shares_hooks(channel, &sibling) {
                continue;
            }
            let Ok(Hook::Events(events)) = adapter.handle_hook(&sibling, request) else {
                continue;
            };
            if events.is_empty() {
                continue;
            }
            let ctx = ChannelCtx::of(self, &sibling, &row.to_domain()?);
            self.store_events(adapter, &sibling, &ctx, events).await?;
        }
        Ok(())
    }

    /// Store what a provider brought, in order, each durably before the
    /// next: messages with their files, and delivery reports.
    async fn store_events(
        &self,
        adapter: &dyn ChannelAdapter,
        setup: &ChannelSetup,
        ctx: &ChannelCtx,
        events: Vec<Inbound>,
    ) -> ServiceResult<Vec<InboundOutcome>> {
        let mut outcomes = Vec::with_capacity(events.len());
        for event in events {
            outcomes.push(match event {
                Inbound::Message(message) => {
                    let message = self.with_profile(adapter, setup, ctx, message).await?;
                    let files = self.fetch_inbound_files(adapter, setup, &message).await?;
                    let o = self.ingest_with_files(ctx.clone(), message, files).await?;
                    InboundOutcome::Message {
                        message_id: o.message_id,
                        conversation_id: o.conversation_id,
                        duplicate: o.duplicate,
                    }
                }
                Inbound::Template(update) => {
                    self.apply_template_update(ctx.workspace_id, ctx.id, &update).await?;
                    InboundOutcome::Recorded
                }
                Inbound::Status(update) => match self.apply_status(ctx, update).await {
                    Err(ServiceError::NotFound(_)) if !adapter.unknown_status_fails() => InboundOutcome::Skipped,
                    outcome => outcome?,
                },
                Inbound::Edit(edit) => self.apply_edit(ctx, edit).await?,
                Inbound::Echo(echo) => self.store_echo(ctx, echo).await?,
                Inbound::Watermark(mark) => self.apply_watermark(ctx, mark).await?,
                Inbound::Acknowledge(reference) => {
                    // What came before is stored; a failed acknowledgement
                    // only leaves the customer's button spinning a while.
                    if let Err(e) = adapter.acknowledge(&self.inner.http, setup, &reference).await {
                        tracing::warn!(channel = %setup.id, error = %e, "the provider was not told of a stored event");
                    }
                    InboundOutcome::Recorded
                }
            });
        }
        Ok(outcomes)
    }

    /// Download the files of an inbound message into storage, within the
    /// workspace's limits, before the message is stored: a file that cannot
    /// be fetched fails the request, so the provider sends it again. A
    /// message stored before (a retry) fetches nothing.
    async fn fetch_inbound_files(
        &self,
        adapter: &dyn ChannelAdapter,
        setup: &ChannelSetup,
        message: &InboundMessage,
    ) -> ServiceResult<Vec<AttachmentRecord>> {
        if message.media.is_empty()
            || self
                .store()
                .reader()
                .message_by_provider_id(setup.id, Direction::In, &message.external_id)
                .await?
                .is_some()
        {
            return Ok(Vec::new());
        }
        let mut files = Vec::with_capacity(message.media.len());
        for (n, media) in message.media.iter().enumerate() {
            if let Some(content) = &media.content {
                let size = content.len() as u64;
                let mut body = futures::stream::iter([Ok::<_, std::io::Error>(content.clone())]);
                files.push(
                    self.receive_inbound_file(setup.workspace_id, media.filename.clone(), Some(size), &mut body)
                        .await?,
                );
                continue;
            }
            let fetched = adapter
                .fetch_media(&self.inner.http, setup, &media.reference)
                .await
                .map_err(|e| match e {
                    SendError::Retryable(why) | SendError::Limited { reason: why, .. } => {
                        ServiceError::Upstream(format!("file {}: {why}", n + 1))
                    }
                    SendError::Permanent(why) | SendError::WindowClosed(why) => {
                        ServiceError::BadPayload(format!("file {}: {why}", n + 1))
                    }
                })?;
            let filename = media.filename.clone().or(fetched.filename);
            let mut body = fetched.body;
            files.push(
                self.receive_inbound_file(setup.workspace_id, filename, fetched.declared_size, &mut body)
                    .await?,
            );
        }
        Ok(files)
    }

    /// A webhook's channel, from the cache or the database.
    async fn hook_channel(&self, id: ChannelId) -> ServiceResult<HookChannel> {
        let cache = &self.inner.ingest.channels;
        if let Some(channel) = cache.get(id) {
            return Ok(channel);
        }
        let generation = cache.generation();
        let row = self
            .store()
            .reader()
            .channel_by_id(id)
            .await?
            .ok_or(ServiceError::NotFound("channel"))?;
        let channel = row.to_domain()?;
        let setup = crate::channel_port::setup_of(&row)?;
        let channel = HookChannel {
            ctx: ChannelCtx::of(self, &setup, &channel),
            setup,
        };
        cache.put(channel.clone(), generation);
        Ok(channel)
    }

    /// A channel changed or is gone: webhooks read it again. Call after the
    /// change is committed.
    pub(crate) fn forget_channel(&self, id: ChannelId) {
        self.forget_channel_here(Some(id));
        self.tell_other_nodes(crate::events::CacheChange::Channel(id));
    }

    /// Something every channel may refer to changed (a team was deleted and
    /// channels lost it as their default team).
    pub(crate) fn forget_all_channels(&self) {
        self.forget_channel_here(None);
        self.tell_other_nodes(crate::events::CacheChange::AllChannels);
    }

    /// Drop this node's copy of a channel (or of all).
    pub(crate) fn forget_channel_here(&self, id: Option<ChannelId>) {
        self.inner.ingest.channels.forget(id);
    }

    /// How many ingest batches failed as a set and were stored again message
    /// by message: races with another node, or a message that cannot be
    /// stored. Each costs a batch's work twice.
    pub fn ingest_fallbacks(&self) -> u64 {
        self.inner.ingest.fallbacks.load(Ordering::Relaxed)
    }

    pub(crate) async fn ingest(&self, channel: ChannelCtx, message: InboundMessage) -> ServiceResult<IngestOutcome> {
        self.ingest_with_files(channel, message, Vec::new()).await
    }

    /// Store a message with files already in storage; they are recorded in
    /// the same transaction as the message.
    async fn ingest_with_files(
        &self,
        channel: ChannelCtx,
        message: InboundMessage,
        files: Vec<AttachmentRecord>,
    ) -> ServiceResult<IngestOutcome> {
        let (reply, answer) = oneshot::channel();
        self.inner
            .ingest
            .tx
            .send(Item {
                channel,
                message,
                files,
                reply,
            })
            .await
            .map_err(|_| ServiceError::Unavailable)?;
        answer.await.map_err(|_| ServiceError::Unavailable)?
    }

    /// A customer changed a message's text: the new text replaces it, the
    /// old one is kept in its history. The same edit again (a retry)
    /// changes nothing; an edit of a message we never stored is skipped.
    async fn apply_edit(&self, channel: &ChannelCtx, edit: InboundEdit) -> ServiceResult<InboundOutcome> {
        let mut tx = self.store().begin().await?;
        let Some(message) = tx
            .exec()
            .message_by_provider_id(channel.id, Direction::In, &edit.external_id)
            .await?
        else {
            return Ok(InboundOutcome::Skipped);
        };
        let unchanged = message.body.as_deref().unwrap_or_default() == edit.text;
        if !unchanged {
            let at = edit.edited_at.unwrap_or_else(|| self.now());
            tx.exec().edit_message(&message, &edit.text, at).await?;
            self.emit_delivery(&mut tx, channel.workspace_id, message.id).await?;
            tx.commit().await?;
        }
        Ok(InboundOutcome::Status {
            message_id: message.id,
            applied: !unchanged,
        })
    }

    async fn apply_status(&self, channel: &ChannelCtx, update: StatusUpdate) -> ServiceResult<InboundOutcome> {
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
            self.emit_delivery(&mut tx, channel.workspace_id, message.id).await?;
        }
        tx.commit().await?;
        Ok(InboundOutcome::Status {
            message_id: message.id,
            applied,
        })
    }
}
