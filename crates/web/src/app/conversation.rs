//! One conversation: its history, the composer, the header actions and
//! the contact panel. Shown inside the inbox, or alone at its own address.

use askama::Template;
use axum::extract::{Path, State};
use axum::response::Response;
use switchboard_core::permissions::ConversationScope;
use switchboard_core::{
    ConversationId, ConversationStatus, DeliveryStatus, Direction, MessageKind, Priority, Role, SenderKind,
};
use switchboard_service::{contact_label, human_size};

use switchboard_core::transcript::{activity_sentence, iso_utc, sender};

use super::format::{channel_badge, clock, status_label};
use super::{Layout, PageRejection, Viewer, names, render};
use crate::AppState;

pub struct AttachmentView {
    pub id: String,
    pub url: String,
    pub download_url: String,
    pub preview_url: Option<String>,
    pub filename: String,
    pub kind: &'static str,
    pub size: String,
}

pub struct MessageLine {
    pub id: String,
    /// `in`, `out`, `bot`, `note`, `comment` or `activity`: how it is drawn.
    pub side: &'static str,
    pub author: String,
    pub body: String,
    pub time_iso: String,
    pub time: String,
    pub attachments: Vec<AttachmentView>,
    pub quoted: Option<(String, String)>,
    pub ticks: &'static str,
    pub ticks_label: &'static str,
    pub failed: Option<String>,
    pub buttons: Vec<String>,
    pub can_quote: bool,
    /// "Template order_update (en)" for a sent template.
    pub template: Option<String>,
    /// When the customer changed the text, and the texts it had before
    /// (oldest first, each with when it was replaced).
    pub edited: Option<String>,
    /// The subject line it came with (e-mail).
    pub subject: Option<String>,
    /// Its formatted version (e-mail), sanitised again as it is shown.
    pub html: Option<String>,
    pub earlier_texts: Vec<(String, String)>,
}

/// A private note from one of the customer's earlier chats.
pub struct NoteLine {
    pub conversation: String,
    pub author: String,
    pub body: String,
    pub time: String,
}

/// How many earlier chats are read for notes, and how many notes are shown.
const NOTE_CHATS: usize = 3;
const NOTES_SHOWN: usize = 10;

/// Private notes colleagues left in the customer's latest earlier chats,
/// newest first (this chat's own notes are in its history).
async fn earlier_notes(
    svc: &switchboard_service::Services,
    actor: &switchboard_core::permissions::Actor,
    earlier: &[switchboard_core::Conversation],
    contact_name: &str,
    people: &switchboard_core::transcript::Names,
) -> Vec<NoteLine> {
    let mut notes = Vec::new();
    for chat in earlier.iter().take(NOTE_CHATS) {
        let query = switchboard_service::MessageQuery {
            cursor: None,
            limit: Some(100),
            order: Some("desc".into()),
        };
        let Ok(page) = svc.messages(actor, chat.id, query).await else {
            continue;
        };
        for m in page.items.into_iter().filter(|m| m.kind == MessageKind::Note) {
            let view = switchboard_core::MessageView {
                message: m,
                attachments: Vec::new(),
            };
            notes.push(NoteLine {
                conversation: chat.id.to_string(),
                author: sender(&view, contact_name, people),
                time: clock(view.message.created_at),
                body: view.message.body.unwrap_or_default(),
            });
        }
    }
    notes.truncate(NOTES_SHOWN);
    notes
}

pub struct Earlier {
    pub id: String,
    pub label: String,
}

impl Pane {
    /// Whether the composer offers the AI action `name`.
    pub fn offers(&self, name: &str) -> bool {
        self.assist.contains(&name)
    }
}

pub struct Pane {
    /// The workspace's close reasons, offered when closing.
    pub close_reasons: Vec<String>,
    /// The AI-assist actions the workspace offers (empty: none set up).
    pub assist: Vec<&'static str>,
    pub ws: String,
    pub id: String,
    pub contact_id: String,
    pub contact_name: String,
    pub badge: &'static str,
    pub channel: String,
    pub status: &'static str,
    pub status_key: &'static str,
    pub critical: bool,
    pub ticket: bool,
    pub tags: Vec<String>,
    pub tags_csv: String,
    pub assignee: String,
    pub team: String,
    pub rating: Option<i64>,
    pub closed: bool,
    pub is_bot: bool,
    pub can_reply: bool,
    pub can_manage: bool,
    /// Admins: legal hold and permanent delete.
    pub can_delete: bool,
    /// On legal hold (by itself or its contact).
    pub held: bool,
    /// What a permanent delete loses, said in its confirmation.
    pub loses: String,
    pub can_enter: bool,
    pub can_reopen: bool,
    pub can_annotate: bool,
    /// Supervisors write comments, everyone else private notes.
    pub annotation_kind: &'static str,
    pub window_open: bool,
    /// Replies go tagged now (the tag, and until when).
    pub window_tag: Option<(&'static str, String)>,
    /// The channel's provider keeps approved templates, which may go when
    /// the window is closed.
    pub provider_templates: bool,
    /// The composer counts SMS segments as the agent types.
    pub sms_segments: bool,
    pub window_closed_at: String,
    pub window_closed_iso: String,
    /// When the window closes (ms), 0 where none applies or it is closed.
    pub window_closes_ms: i64,
    /// It closes within the hour: the agent is warned.
    pub window_closing_soon: bool,
    /// An archived chat whose window is closed: a template push starts a
    /// new conversation.
    pub can_push: bool,
    pub channel_id: String,
    pub messages: Vec<MessageLine>,
    /// Files of this chat (id, name), to keep one with a new quick reply.
    pub files: Vec<(String, String)>,
    pub earlier: Vec<Earlier>,
    pub notes: Vec<NoteLine>,
    pub phone: String,
    pub email: String,
    pub country: String,
    pub attributes: Vec<(String, String)>,
    pub contact_tags: Vec<String>,
    /// The name the contact has (not the label made up without one).
    pub contact_form_name: String,
    pub identities: Vec<(String, String)>,
    pub limits: String,
    pub limits_json: String,
    pub members_json: String,
}

fn ticks(status: Option<DeliveryStatus>) -> (&'static str, &'static str) {
    match status {
        Some(DeliveryStatus::Queued) => ("…", "sending"),
        Some(DeliveryStatus::Scheduled) => ("…", "scheduled"),
        Some(DeliveryStatus::Sent) => ("✓", "sent"),
        Some(DeliveryStatus::Delivered) => ("✓✓", "delivered"),
        Some(DeliveryStatus::Read) => ("✓✓", "read"),
        Some(DeliveryStatus::Failed) => ("!", "failed"),
        Some(DeliveryStatus::Cancelled) => ("✕", "cancelled"),
        None => ("", ""),
    }
}

/// Everything the pane shows, as `viewer` may see it (404 otherwise).
pub async fn load_pane(state: &AppState, viewer: &Viewer, id: ConversationId) -> Result<Pane, PageRejection> {
    let svc = &state.services;
    let actor = &viewer.actor;
    let c = svc.conversation(actor, id).await.map_err(|_| PageRejection::NotFound)?;
    let names = names(state, viewer).await?;
    let contact = svc
        .contact(actor, c.contact_id)
        .await
        .map_err(|_| PageRejection::Failed)?;
    let contact_name = contact_label(&contact);
    let views = svc
        .all_message_views(actor, id)
        .await
        .map_err(|_| PageRejection::Failed)?;
    let by_id: std::collections::HashMap<String, (String, String)> = views
        .iter()
        .map(|v| {
            let author = sender(v, &contact_name, &names.people);
            let excerpt: String = v
                .message
                .body
                .clone()
                .unwrap_or_else(|| "attachment".into())
                .chars()
                .take(120)
                .collect();
            (v.message.id.to_string(), (author, excerpt))
        })
        .collect();
    let messages: Vec<MessageLine> = views
        .into_iter()
        .map(|v| {
            let author = sender(&v, &contact_name, &names.people);
            let m = v.message;
            let side = match (m.kind, m.direction, m.sender_kind) {
                (MessageKind::Activity, _, _) => "activity",
                (MessageKind::Note, _, _) => "note",
                (MessageKind::Comment, _, _) => "comment",
                (_, Direction::In, _) => "in",
                (_, Direction::Out, SenderKind::Bot | SenderKind::System) => "bot",
                (_, Direction::Out, _) => "out",
            };
            let body = match &m.activity {
                Some(a) => activity_sentence(a, &names.people),
                None => m.body.clone().unwrap_or_default(),
            };
            let (t, label) = ticks(m.delivery_status);
            MessageLine {
                id: m.id.to_string(),
                side,
                author,
                body,
                time_iso: iso_utc(m.created_at),
                time: clock(m.created_at),
                attachments: v
                    .attachments
                    .into_iter()
                    .map(|a| AttachmentView {
                        id: a.id.to_string(),
                        download_url: format!("{}?download=true", a.url),
                        url: a.url,
                        preview_url: a.preview_url,
                        filename: a.filename,
                        kind: a.kind.as_str(),
                        size: human_size(a.size.max(0) as u64),
                    })
                    .collect(),
                quoted: m.in_reply_to.and_then(|q| by_id.get(&q.to_string()).cloned()),
                ticks: t,
                ticks_label: label,
                failed: m.delivery_error.clone(),
                buttons: m.buttons.clone(),
                template: m
                    .template
                    .as_ref()
                    .map(|t| format!("template {} ({})", t.name, t.language)),
                can_quote: matches!(side, "in" | "out" | "bot"),
                edited: m.edited_at.map(clock),
                subject: m.subject.clone(),
                html: m.html.as_deref().and_then(switchboard_service::sanitize_mail_html),
                earlier_texts: Vec::new(),
            }
        })
        .collect();
    let mut messages = messages;
    for line in messages.iter_mut().filter(|l| l.edited.is_some()) {
        let Ok(message) = line.id.parse() else { continue };
        let history = svc
            .message_history(actor, id, message)
            .await
            .map_err(|_| PageRejection::Failed)?;
        line.earlier_texts = history
            .into_iter()
            .map(|e| (e.body.unwrap_or_default(), clock(e.replaced_at)))
            .collect();
    }
    let scope = ConversationScope {
        team_id: c.team_id,
        assignee_id: c.assignee_id,
        status: c.status,
    };
    let (kind, channel_name) = names
        .channels
        .get(&c.channel_id)
        .map(|(k, n)| (Some(*k), n.clone()))
        .unwrap_or((None, "deleted channel".into()));
    let (badge, kind_name) = channel_badge(kind);
    let now = svc.now();
    let window = kind.map(|k| svc.capabilities(k).window);
    let opened_at = c.times.window_opened_at();
    let free_form_open = window.is_none_or(|w| w.open(opened_at, now));
    // Past the free-form period, a person's reply may still go tagged
    // (Messenger's HUMAN_AGENT) until the extension ends.
    let tagged_until = window
        .filter(|w| !free_form_open && w.extension_open(opened_at, now))
        .and_then(|w| w.extension)
        .zip(opened_at)
        .map(|(ext, last)| (ext.tag, switchboard_core::Millis(last.0 + ext.until_ms)));
    let window_open = free_form_open || tagged_until.is_some();
    // Closed by the provider's word (sooner than the clock), or at the end
    // of the free-form period.
    let window_closed = match (opened_at, c.times.window_closed_at) {
        (None, Some(closed)) => Some(closed),
        _ if tagged_until.is_some() => tagged_until.map(|(_, until)| until),
        _ => window
            .and_then(|w| w.free_form_ms)
            .zip(opened_at)
            .map(|(w, last)| switchboard_core::Millis(last.0 + w)),
    };
    let window_closes_ms = window_closed.filter(|_| window_open).map_or(0, |t| t.0);
    const HOUR_MS: i64 = 3600 * 1000;
    let closed = c.status.section() == switchboard_core::Section::Archived;
    let earlier_chats: Vec<_> = svc
        .conversations(
            actor,
            switchboard_service::ConversationQuery {
                contact: Some(c.contact_id),
                limit: Some(20),
                ..Default::default()
            },
        )
        .await
        .map(|p| p.items)
        .unwrap_or_default()
        .into_iter()
        .filter(|other| other.id != c.id)
        .collect();
    let notes = earlier_notes(svc, actor, &earlier_chats, &contact_name, &names.people).await;
    let earlier = earlier_chats
        .iter()
        .map(|other| Earlier {
            id: other.id.to_string(),
            label: format!("{} · {}", clock(other.times.created_at), status_label(other.status)),
        })
        .collect();
    let limits = svc.attachment_limits(actor).await.map_err(|_| PageRejection::Failed)?;
    let members = svc.members(actor).await.map_err(|_| PageRejection::Failed)?;
    let members_json = serde_json::to_string(
        &members
            .iter()
            .map(|m| serde_json::json!({"id": m.id, "name": m.name}))
            .collect::<Vec<_>>(),
    )
    .unwrap_or_default();
    let held = svc.legal_hold(actor, id).await.map_err(|_| PageRejection::Failed)?.held;
    let written = messages.iter().filter(|m| m.side != "activity").count();
    let file_count: usize = messages.iter().map(|m| m.attachments.len()).sum();
    let loses = format!(
        "{written} {} and notes and {file_count} {}",
        if written == 1 { "message" } else { "messages" },
        if file_count == 1 { "file" } else { "files" }
    );
    let close_reasons = svc.close_reasons(actor).await.map_err(|_| PageRejection::Failed)?;
    let assist = svc
        .assist_features(actor)
        .await
        .map_err(|_| PageRejection::Failed)?
        .into_iter()
        .map(|f| f.as_str())
        .collect();
    Ok(Pane {
        close_reasons,
        assist,
        can_delete: actor.role == Role::Admin,
        held,
        loses,
        ws: viewer.ws().to_string(),
        id: c.id.to_string(),
        contact_id: c.contact_id.to_string(),
        contact_name,
        badge,
        channel: format!("{kind_name}: {channel_name}"),
        status: status_label(c.status),
        status_key: c.status.as_str(),
        critical: c.priority == Priority::Critical,
        ticket: c.ticket,
        tags_csv: c.tags.join(", "),
        tags: c.tags.clone(),
        assignee: c.assignee_id.map(|u| names.user(u)).unwrap_or_default(),
        team: c.team_id.map(|t| names.team(t)).unwrap_or_default(),
        rating: c.rating,
        closed,
        is_bot: c.status == ConversationStatus::Bot,
        can_reply: actor.can_message_customer(&scope) && c.status == ConversationStatus::Assigned,
        can_manage: actor.can_manage(&scope),
        can_enter: actor.role == Role::Admin && c.status == ConversationStatus::Bot,
        can_reopen: closed && window_open && actor.can_manage(&scope),
        can_annotate: actor.can_annotate(&scope),
        annotation_kind: if actor.role == Role::Supervisor {
            "comment"
        } else {
            "note"
        },
        window_open,
        window_tag: tagged_until.map(|(tag, until)| (tag, clock(until))),
        provider_templates: kind.is_some_and(|k| svc.capabilities(k).templates),
        sms_segments: kind.is_some_and(|k| svc.capabilities(k).sms_segments),
        window_closes_ms,
        window_closing_soon: window_closes_ms > 0 && window_closes_ms - now.0 <= HOUR_MS,
        can_push: closed
            && !window_open
            && window.is_some_and(|w| w.applies())
            && actor.role != Role::Supervisor
            && actor.can_see(&scope),
        channel_id: c.channel_id.to_string(),
        window_closed_at: window_closed.map(clock).unwrap_or_default(),
        window_closed_iso: window_closed.map(iso_utc).unwrap_or_default(),
        files: messages
            .iter()
            .flat_map(|m| m.attachments.iter().map(|a| (a.id.clone(), a.filename.clone())))
            .collect(),
        messages,
        earlier,
        notes,
        phone: contact.phone.clone().unwrap_or_default(),
        email: contact.email.clone().unwrap_or_default(),
        country: contact.country.clone().unwrap_or_default(),
        contact_tags: contact.tags.clone(),
        contact_form_name: contact.name.clone().unwrap_or_default(),
        attributes: contact
            .attributes
            .iter()
            .map(|(k, v)| (k.clone(), v.as_str().map_or_else(|| v.to_string(), str::to_owned)))
            .collect(),
        identities: contact
            .identities
            .iter()
            .map(|i| {
                let channel = names
                    .channels
                    .get(&i.channel_id)
                    .map(|(_, n)| n.clone())
                    .unwrap_or_default();
                (channel, i.external_id.clone())
            })
            .collect(),
        limits: format!(
            "Images up to {}, video {}, audio {}, documents {}",
            human_size(limits.image),
            human_size(limits.video),
            human_size(limits.audio),
            human_size(limits.document)
        ),
        limits_json: serde_json::to_string(&limits).unwrap_or_default(),
        members_json,
    })
}

#[derive(Template)]
#[template(path = "app/conversation.html")]
struct ConversationPage {
    layout: Layout,
    pane: Pane,
}

/// `/w/{ws}/conversations/{id}`: the conversation alone (links, phones).
pub async fn page(
    State(state): State<AppState>,
    viewer: Viewer,
    Path((_, id)): Path<(String, String)>,
) -> Result<Response, PageRejection> {
    let id: ConversationId = id.parse().map_err(|_| PageRejection::NotFound)?;
    let pane = load_pane(&state, &viewer, id).await?;
    Ok(render(&ConversationPage {
        layout: Layout::new(&viewer, pane.contact_name.clone(), "inbox", "inbox.js"),
        pane,
    }))
}

#[derive(Template)]
#[template(path = "app/pane_fragment.html")]
struct PaneFragment {
    pane: Pane,
}

/// `/w/{ws}/conversations/{id}/pane`: the pane alone, for the inbox script.
pub async fn pane(
    State(state): State<AppState>,
    viewer: Viewer,
    Path((_, id)): Path<(String, String)>,
) -> Result<Response, PageRejection> {
    let id: ConversationId = id.parse().map_err(|_| PageRejection::NotFound)?;
    let pane = load_pane(&state, &viewer, id).await?;
    Ok(render(&PaneFragment { pane }))
}
