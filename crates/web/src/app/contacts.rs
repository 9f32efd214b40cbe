//! Contacts: search by name, phone, e-mail or identifier, filter by
//! channel; one contact with details, identities, attributes and every
//! conversation; editing goes through the JSON API.

use askama::Template;
use axum::extract::{Path, Query, State};
use axum::response::Response;
use serde::Deserialize;
use switchboard_core::{ChannelId, ContactId};
use switchboard_service::{ContactFilter, ConversationQuery, contact_label};

use super::format::{channel_badge, clock, status_label};
use super::inbox::Choice;
use super::{Layout, PageRejection, Viewer, names, render};
use crate::AppState;

#[derive(Debug, Default, Deserialize)]
pub struct ContactParams {
    #[serde(default)]
    q: String,
    #[serde(default)]
    channel: String,
    #[serde(default)]
    tag: String,
    #[serde(default)]
    cursor: String,
}

pub struct ContactRow {
    pub id: String,
    pub name: String,
    pub phone: String,
    pub email: String,
    pub channels: String,
    pub tags: Vec<String>,
}

#[derive(Template)]
#[template(path = "app/contacts.html")]
struct ContactsPage {
    layout: Layout,
    q: String,
    channels: Vec<Choice>,
    tags: Vec<Choice>,
    rows: Vec<ContactRow>,
    next: Option<String>,
    channel: String,
    tag: String,
}

/// `/w/{ws}/contacts`
pub async fn list(
    State(state): State<AppState>,
    viewer: Viewer,
    Query(params): Query<ContactParams>,
) -> Result<Response, PageRejection> {
    let svc = &state.services;
    let names = names(&state, &viewer).await?;
    let filter = ContactFilter {
        query: Some(params.q.clone()),
        tag: Some(params.tag.clone()),
        channel_id: params.channel.parse::<ChannelId>().ok(),
        cursor: params.cursor.parse().ok(),
        limit: 50,
    };
    let page = svc
        .filter_contacts(&viewer.actor, filter)
        .await
        .map_err(|_| PageRejection::Failed)?;
    let tags = svc
        .tags(&viewer.actor)
        .await
        .map_err(|_| PageRejection::Failed)?
        .into_iter()
        .map(|t| Choice {
            selected: params.tag == t.name,
            value: t.name.clone(),
            label: t.name,
        })
        .collect();
    let rows = page
        .items
        .into_iter()
        .map(|c| ContactRow {
            id: c.id.to_string(),
            name: contact_label(&c),
            phone: c.phone.clone().unwrap_or_default(),
            email: c.email.clone().unwrap_or_default(),
            channels: c
                .identities
                .iter()
                .filter_map(|i| names.channels.get(&i.channel_id).map(|(_, n)| n.clone()))
                .collect::<Vec<_>>()
                .join(", "),
            tags: c.tags.clone(),
        })
        .collect();
    let mut channels: Vec<Choice> = names
        .channels
        .iter()
        .map(|(id, (_, name))| Choice {
            value: id.to_string(),
            label: name.clone(),
            selected: params.channel == id.to_string(),
        })
        .collect();
    channels.sort_by(|a, b| a.label.cmp(&b.label));
    Ok(render(&ContactsPage {
        layout: Layout::new(&viewer, "Contacts", "contacts", "page.js"),
        q: params.q,
        channels,
        tags,
        rows,
        next: page.next_cursor,
        channel: params.channel,
        tag: params.tag,
    }))
}

pub struct ConversationLine {
    pub id: String,
    pub badge: &'static str,
    pub channel: String,
    pub status: &'static str,
    pub created: String,
}

#[derive(Template)]
#[template(path = "app/contact.html")]
struct ContactPage {
    layout: Layout,
    id: String,
    name: String,
    form_name: String,
    phone: String,
    email: String,
    country: String,
    attributes: Vec<(String, String)>,
    attributes_text: String,
    identities: Vec<(String, String)>,
    tags: Vec<String>,
    tags_text: String,
    /// Channels where the contact can be written to first (an identity there).
    start_channels: Vec<StartChannel>,
    conversations: Vec<ConversationLine>,
    /// Admins may erase the contact (a data-subject request).
    can_erase: bool,
    /// What erasing says it deletes.
    erase_warning: String,
}

pub struct StartChannel {
    pub value: String,
    pub label: String,
    /// Whether only a template may open the conversation (a messaging window).
    pub window: bool,
}

/// `/w/{ws}/contacts/{id}`
pub async fn show(
    State(state): State<AppState>,
    viewer: Viewer,
    Path((_, id)): Path<(String, String)>,
) -> Result<Response, PageRejection> {
    let id: ContactId = id.parse().map_err(|_| PageRejection::NotFound)?;
    let svc = &state.services;
    let contact = svc
        .contact(&viewer.actor, id)
        .await
        .map_err(|_| PageRejection::NotFound)?;
    let names = names(&state, &viewer).await?;
    let conversations: Vec<ConversationLine> = svc
        .conversations(
            &viewer.actor,
            ConversationQuery {
                contact: Some(id),
                limit: Some(100),
                ..Default::default()
            },
        )
        .await
        .map_err(|_| PageRejection::Failed)?
        .items
        .into_iter()
        .map(|c| {
            let (kind, channel) = names
                .channels
                .get(&c.channel_id)
                .map(|(k, n)| (Some(*k), n.clone()))
                .unwrap_or((None, "deleted channel".into()));
            ConversationLine {
                id: c.id.to_string(),
                badge: channel_badge(kind).0,
                channel,
                status: status_label(c.status),
                created: clock(c.times.created_at),
            }
        })
        .collect();
    let attributes: Vec<(String, String)> = contact
        .attributes
        .iter()
        .map(|(k, v)| (k.clone(), v.as_str().map_or_else(|| v.to_string(), str::to_owned)))
        .collect();
    let erase_warning = format!(
        "Erase {} for good: the contact, their identities and {} conversation(s) with every message, note and file. This cannot be undone.",
        contact_label(&contact),
        conversations.len()
    );
    Ok(render(&ContactPage {
        layout: Layout::new(&viewer, contact_label(&contact), "contacts", "page.js"),
        id: contact.id.to_string(),
        name: contact_label(&contact),
        form_name: contact.name.clone().unwrap_or_default(),
        phone: contact.phone.clone().unwrap_or_default(),
        email: contact.email.clone().unwrap_or_default(),
        country: contact.country.clone().unwrap_or_default(),
        attributes_text: attributes.iter().map(|(k, v)| format!("{k}: {v}\n")).collect(),
        attributes,
        identities: contact
            .identities
            .iter()
            .map(|i| {
                (
                    names
                        .channels
                        .get(&i.channel_id)
                        .map(|(_, n)| n.clone())
                        .unwrap_or_default(),
                    i.external_id.clone(),
                )
            })
            .collect(),
        tags_text: contact.tags.join(", "),
        start_channels: contact
            .identities
            .iter()
            .filter_map(|i| {
                let (kind, name) = names.channels.get(&i.channel_id)?;
                Some(StartChannel {
                    value: i.channel_id.to_string(),
                    label: format!("{name} ({})", channel_badge(Some(*kind)).1),
                    window: svc.capabilities(*kind).window.applies(),
                })
            })
            .collect(),
        tags: contact.tags,
        can_erase: viewer.is_admin(),
        erase_warning,
        conversations,
    }))
}
