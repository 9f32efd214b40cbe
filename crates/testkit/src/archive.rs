//! A realistic archive of any size, for benchmarks and for trying the
//! product: a workspace with an admin, agents in three teams, an API and a
//! web channel, tags; contacts with names, phones, e-mails and countries;
//! conversations spread over months with customer and agent turns in a
//! few languages, notes, tags, ratings, assignments and closes. Rows are
//! written straight through the store in batches (the service would take
//! hours for millions of messages), in time order, so ids grow with time
//! as they do in production.

use anyhow::Context;
use switchboard_core::legs::Leg;
use switchboard_core::permissions::Actor;
use switchboard_core::{
    AssignmentRule, ChannelId, Contact, ContactId, ContactIdentity, Conversation, ConversationId, ConversationStatus,
    ConversationTimes, DeliveryStatus, Direction, Message, MessageId, MessageKind, Millis, Priority, Role, SenderKind,
    TeamId, UserId, WorkspaceId,
};
use switchboard_core::{LegEnd, LegStart};
use switchboard_service::Services;
use switchboard_store::{ConversationSave, contact_inserts, conversation_saves, leg_inserts, message_inserts};

/// What to generate.
#[derive(Debug, Clone)]
pub struct ArchiveSpec {
    pub conversations: usize,
    /// Messages per conversation (customer and agent turns alternate).
    pub messages_per_conversation: usize,
    /// How far back the first conversation is.
    pub months: i64,
    pub agents: usize,
    /// The same seed gives the same archive.
    pub seed: u64,
    /// Conversations still open at the end, per thousand.
    pub open_per_mille: u64,
}

impl Default for ArchiveSpec {
    fn default() -> Self {
        Self {
            conversations: 10_000,
            messages_per_conversation: 10,
            months: 12,
            agents: 12,
            seed: 7,
            open_per_mille: 30,
        }
    }
}

/// What was made, to sign in and to measure against.
#[derive(Debug, Clone)]
pub struct GeneratedArchive {
    pub workspace: WorkspaceId,
    pub admin: UserId,
    pub admin_email: String,
    pub admin_password: String,
    pub agents: Vec<UserId>,
    pub teams: Vec<TeamId>,
    pub channels: Vec<ChannelId>,
    pub tags: Vec<String>,
    pub conversations: usize,
    pub messages: usize,
}

/// A small deterministic generator (SplitMix64): no dependency, same
/// archive for the same seed.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }
    fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len() as u64) as usize]
    }
    fn chance(&mut self, per_mille: u64) -> bool {
        self.below(1000) < per_mille
    }
}

const FIRST: &[&str] = &[
    "Ana", "Bruno", "Carla", "Dmitri", "Elif", "Fatima", "Giulia", "Hannah", "Ibrahim", "Jonas", "Keiko", "Lucas",
    "Marta", "Noah", "Olga", "Pedro", "Quentin", "Renée", "Sofía", "Tomás", "Uma", "Viktor", "Wen", "Yusuf", "Zoé",
];
const LAST: &[&str] = &[
    "Silva", "Müller", "García", "Rossi", "Dubois", "Kowalski", "Yılmaz", "Novak", "Jensen", "Tanaka", "Okafor",
    "Haddad", "Schmidt", "López", "Martin", "Costa", "Nguyen", "Ivanova", "Berg", "O'Brien",
];
/// Country, calling code.
const COUNTRIES: &[(&str, &str)] = &[
    ("DE", "49"),
    ("ES", "34"),
    ("FR", "33"),
    ("BR", "55"),
    ("US", "1"),
    ("GB", "44"),
    ("IT", "39"),
    ("TR", "90"),
];
const TAGS: &[&str] = &["vip", "billing", "refund", "bug", "feedback", "shipping"];
const TEAMS: &[&str] = &["Support", "Billing", "Sales"];

/// Customer and agent lines per language.
struct Phrases {
    customer: &'static [&'static str],
    agent: &'static [&'static str],
}

const LANGUAGES: &[Phrases] = &[
    Phrases {
        customer: &[
            "Hello, where is my order {n}?",
            "My parcel arrived damaged, what can I do?",
            "I was charged twice for invoice {n}",
            "Can I change the delivery address?",
            "The app crashes when I open my account",
            "I would like a refund for order {n}",
            "Thanks, that solved it!",
            "Is the discount still valid this week?",
        ],
        agent: &[
            "Thanks for writing, let me check order {n} for you.",
            "I am sorry about that, I have started a refund.",
            "Your parcel is with the courier and arrives tomorrow.",
            "Could you send me a photo of the damage?",
            "I have corrected the invoice; you will get a new one by e-mail.",
            "Glad I could help. Have a nice day!",
        ],
    },
    Phrases {
        customer: &[
            "Hallo, wo ist meine Bestellung {n}?",
            "Die Lieferung ist beschädigt angekommen.",
            "Ich möchte meine Rechnung {n} stornieren.",
            "Können Sie die Lieferadresse ändern?",
            "Vielen Dank für die schnelle Hilfe!",
        ],
        agent: &[
            "Danke für Ihre Nachricht, ich prüfe die Bestellung {n}.",
            "Das tut mir leid, die Erstattung ist veranlasst.",
            "Die Sendung ist unterwegs und kommt morgen an.",
        ],
    },
    Phrases {
        customer: &[
            "Hola, ¿dónde está mi pedido {n}?",
            "El paquete llegó dañado.",
            "Quiero la devolución del pedido {n}.",
            "¡Muchas gracias por la ayuda!",
        ],
        agent: &[
            "Gracias por escribir, reviso el pedido {n}.",
            "Lo siento mucho, ya inicié el reembolso.",
            "Su paquete llega mañana.",
        ],
    },
    Phrases {
        customer: &[
            "Bonjour, où en est ma commande {n} ?",
            "Ma crème brûlée est arrivée froide.",
            "Je voudrais être remboursé pour la facture {n}.",
        ],
        agent: &[
            "Merci pour votre message, je vérifie la commande {n}.",
            "Désolé, le remboursement est en cours.",
        ],
    },
];

const NOTES: &[&str] = &[
    "Customer is a repeat buyer, be generous.",
    "Checked with the warehouse: shipped on Monday.",
    "Escalated to billing for the double charge.",
    "Asked the courier for a trace.",
];

const MINUTE: i64 = 60_000;
const DAY: i64 = 24 * 60 * MINUTE;
/// Conversations written per transaction.
const BATCH: usize = 500;

fn text(rng: &mut Rng, lines: &[&str]) -> String {
    let n = 10_000 + rng.below(90_000);
    rng.pick(lines).replace("{n}", &n.to_string())
}

/// Build the workspace and its archive in `services`' database.
pub async fn generate(services: &Services, spec: &ArchiveSpec) -> anyhow::Result<GeneratedArchive> {
    let mut rng = Rng(spec.seed);
    let admin_email = "admin@generated.test".to_owned();
    let admin_password = "generated password 1".to_owned();
    let (workspace, admin) = services
        .create_workspace_with_admin("Generated Support", "Gen Admin", &admin_email, &admin_password, false)
        .await
        .context("create the workspace")?;
    let actor: Actor = services.actor(workspace, admin).await?;
    let now = services.now();
    let store = services.store();

    // People: agents share the admin's password.
    let hash = store.reader().user(admin).await?.context("the admin")?.password_hash;
    let mut teams = Vec::new();
    for name in TEAMS {
        let team = services
            .create_team(
                &actor,
                switchboard_service::TeamInput {
                    name: (*name).to_owned(),
                    assignment_rule: AssignmentRule::LeastBusy,
                    member_ids: Vec::new(),
                    routing: None,
                },
            )
            .await?;
        teams.push(team.id);
    }
    let mut agents = Vec::new();
    {
        let mut tx = store.begin().await?;
        for i in 0..spec.agents {
            let id = UserId::new();
            let name = format!("{} {}", FIRST[i % FIRST.len()], LAST[(i * 7) % LAST.len()]);
            tx.exec()
                .insert_user(id, &format!("agent{i}@generated.test"), &name, &hash, now)
                .await?;
            tx.exec().insert_membership(workspace, id, Role::Agent, 10, now).await?;
            tx.exec()
                .add_team_member(workspace, teams[i % teams.len()], id, now)
                .await?;
            agents.push(id);
        }
        tx.commit().await?;
    }
    let mut channels = Vec::new();
    for (kind, name) in [("api", "Shop backend"), ("web", "Website chat")] {
        let created = services
            .create_channel(
                &actor,
                serde_json::from_value(serde_json::json!({"kind": kind, "name": name, "default_team_id": teams[0]}))?,
            )
            .await?;
        channels.push(created.channel.id);
    }
    for tag in TAGS {
        services.create_tag(&actor, tag, None).await?;
    }

    // The archive, oldest first.
    let span = spec.months.max(1) * 30 * DAY;
    let start = now.0 - span;
    let total = spec.conversations;
    let mut contacts: Vec<(ContactId, ChannelId)> = Vec::new();
    let mut messages_written = 0;
    let mut made = 0;
    while made < total {
        let end = (made + BATCH).min(total);
        let mut new_contacts: Vec<Contact> = Vec::new();
        let mut conversations: Vec<Conversation> = Vec::new();
        let mut messages: Vec<(ChannelId, Message)> = Vec::new();
        for i in made..end {
            let created = Millis(start + (i as i64 * span) / total as i64 + rng.below(60) as i64 * MINUTE);
            // Four in ten chats are from a returning customer.
            let (contact, channel) = if !contacts.is_empty() && rng.chance(400) {
                *rng.pick(&contacts)
            } else {
                let channel = *rng.pick(&channels);
                let (country, code) = *rng.pick(COUNTRIES);
                let first = rng.pick(FIRST);
                let last = rng.pick(LAST);
                let id = ContactId::new();
                new_contacts.push(Contact {
                    id,
                    workspace_id: workspace,
                    name: Some(format!("{first} {last}")),
                    phone: Some(format!("+{code}{}", 100_000_000 + rng.below(899_999_999))),
                    email: rng.chance(600).then(|| {
                        format!(
                            "{}.{}{}@example.com",
                            first.to_lowercase(),
                            last.to_lowercase().replace('\'', ""),
                            i
                        )
                    }),
                    country: Some(country.to_owned()),
                    attributes: Default::default(),
                    identities: vec![ContactIdentity {
                        channel_id: channel,
                        external_id: format!("gen-{i}"),
                    }],
                    tags: Vec::new(),
                    created_at: created,
                    updated_at: created,
                });
                contacts.push((id, channel));
                (id, channel)
            };
            let open = i + (total * spec.open_per_mille as usize / 1000) >= total;
            let team = *rng.pick(&teams);
            let agent = *rng.pick(&agents);
            let language = rng.pick(LANGUAGES);
            let id = ConversationId::new();
            let mut at = created;
            let mut first_reply = None;
            let turns = spec.messages_per_conversation.max(1);
            for turn in 0..turns {
                let customer = turn % 2 == 0;
                let body = if customer {
                    text(&mut rng, language.customer)
                } else {
                    text(&mut rng, language.agent)
                };
                if !customer && first_reply.is_none() {
                    first_reply = Some(at);
                }
                messages.push((
                    channel,
                    Message {
                        html: None,
                        subject: None,
                        id: MessageId::new(),
                        workspace_id: workspace,
                        conversation_id: id,
                        direction: if customer { Direction::In } else { Direction::Out },
                        sender_kind: if customer {
                            SenderKind::Contact
                        } else {
                            SenderKind::User
                        },
                        sender_id: (!customer).then(|| agent.to_string()),
                        kind: MessageKind::Text,
                        body: Some(body),
                        activity: None,
                        in_reply_to: None,
                        provider_message_id: customer.then(|| format!("gen-{i}-{turn}")),
                        delivery_status: (!customer).then_some(DeliveryStatus::Read),
                        delivery_error: None,
                        created_at: at,
                        send_at: None,
                        buttons: Vec::new(),
                        template: None,
                        edited_at: None,
                    },
                ));
                at = Millis(at.0 + (1 + rng.below(20) as i64) * MINUTE);
            }
            if rng.chance(100) {
                messages.push((
                    channel,
                    Message {
                        html: None,
                        subject: None,
                        id: MessageId::new(),
                        workspace_id: workspace,
                        conversation_id: id,
                        direction: Direction::Out,
                        sender_kind: SenderKind::User,
                        sender_id: Some(agent.to_string()),
                        kind: MessageKind::Note,
                        body: Some((*rng.pick(NOTES)).to_owned()),
                        activity: None,
                        in_reply_to: None,
                        provider_message_id: None,
                        delivery_status: None,
                        delivery_error: None,
                        created_at: at,
                        send_at: None,
                        buttons: Vec::new(),
                        template: None,
                        edited_at: None,
                    },
                ));
            }
            let last_customer = messages
                .iter()
                .rev()
                .find(|(_, m)| m.conversation_id == id && m.direction == Direction::In)
                .map(|(_, m)| m.created_at);
            let last = at;
            let status = if open {
                ConversationStatus::Assigned
            } else {
                match rng.below(100) {
                    0..=84 => ConversationStatus::Resolved,
                    85..=92 => ConversationStatus::Abandoned,
                    _ => ConversationStatus::Expired,
                }
            };
            let closed = status.is_closed().then_some(Millis(last.0 + MINUTE));
            let mut tags: Vec<String> = Vec::new();
            if rng.chance(250) {
                tags.push((*rng.pick(TAGS)).to_owned());
            }
            conversations.push(Conversation {
                id,
                workspace_id: workspace,
                channel_id: channel,
                contact_id: contact,
                team_id: Some(team),
                assignee_id: Some(agent),
                status,
                priority: if rng.chance(20) {
                    Priority::Critical
                } else {
                    Priority::Normal
                },
                ticket: rng.chance(50),
                tags,
                close_comment: (status == ConversationStatus::Resolved && rng.chance(200))
                    .then(|| "Solved on the first answer".to_owned()),
                close_reason: status.is_closed().then(|| "Problem solved".to_owned()),
                rating: (status == ConversationStatus::Resolved && rng.chance(400))
                    .then(|| [5, 5, 5, 4, 4, 3, 2, 1][rng.below(8) as usize]),
                times: ConversationTimes {
                    created_at: created,
                    assigned_at: Some(Millis(created.0 + MINUTE / 2)),
                    first_assigned_at: Some(Millis(created.0 + MINUTE / 2)),
                    first_reply_at: first_reply,
                    first_reply_after_assignment_at: first_reply,
                    last_customer_message_at: last_customer,
                    last_message_at: Some(last),
                    closed_at: closed,
                    queued_at: Some(created),
                    feedback_requested_at: None,
                    window_closed_at: None,
                    handed_off_at: None,
                    messages_in: turns.div_ceil(2) as u32,
                    messages_out: (turns / 2) as u32,
                    started_by: Some(Direction::In),
                },
                snoozed_until: None,
                updated_at: closed.unwrap_or(last),
            });
        }
        let mut tx = store.begin().await?;
        tx.exec().execute_all(&contact_inserts(&new_contacts)).await?;
        let refs: Vec<&Conversation> = conversations.iter().collect();
        tx.exec()
            .execute_all(&conversation_saves(&refs, ConversationSave::All))
            .await?;
        // Each chat had one assignment leg, ended when it closed.
        let legs: Vec<Leg> = conversations
            .iter()
            .map(|c| Leg {
                agent: c.assignee_id.unwrap_or(admin),
                team: c.team_id,
                from_agent: None,
                start: LegStart::First,
                assigned_at: c.times.assigned_at.unwrap_or(c.times.created_at),
                first_reply_at: c.times.first_reply_after_assignment_at,
                ended_at: c.times.closed_at,
                end: c.times.closed_at.map(|_| LegEnd::Close),
            })
            .collect();
        let leg_refs: Vec<_> = conversations
            .iter()
            .zip(&legs)
            .map(|(c, l)| (workspace, c.id, l))
            .collect();
        tx.exec().execute_all(&leg_inserts(&leg_refs)).await?;
        let message_refs: Vec<(ChannelId, &Message)> = messages.iter().map(|(c, m)| (*c, m)).collect();
        tx.exec().execute_all(&message_inserts(&message_refs)).await?;
        for c in conversations.iter().filter(|c| !c.tags.is_empty()) {
            let tags = tx.exec().tags_named(workspace, &c.tags).await?;
            let ids: Vec<String> = tags.iter().map(|t| t.id.to_string()).collect();
            tx.exec().set_conversation_tags(c.id, &ids).await?;
        }
        tx.commit().await?;
        messages_written += messages.len();
        made = end;
    }
    Ok(GeneratedArchive {
        workspace,
        admin,
        admin_email,
        admin_password,
        agents,
        teams,
        channels,
        tags: TAGS.iter().map(|t| (*t).to_owned()).collect(),
        conversations: total,
        messages: messages_written,
    })
}
