//! The web-chat widget's visitor side. A visitor is identified by a signed
//! token (no account): anonymous visitors get a random identity on the
//! channel; a site that knows its user passes `identifier` with
//! `identifier_hash = hex(HMAC-SHA256(channel secret, identifier))`, and the
//! visitor becomes that contact on every device. Visitors only ever reach
//! their own conversations: every lookup starts from the token's identity.

use base64::Engine;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use switchboard_channels::InboundMessage;
use switchboard_channels::signing::{hmac_sha256, verify_hex};
use switchboard_core::permissions::Actor;
use switchboard_core::permissions::Visibility;
use switchboard_core::validate::{Email, Invalid, Label, MessageText};
use switchboard_core::widget::WidgetSettings;
use switchboard_core::{
    ChannelId, ContactId, Conversation, ConversationId, DeliveryStatus, Direction, Message, MessageId, MessageKind,
    Millis, SenderKind, UserId,
};
use switchboard_store::{ChannelRow, ConversationFilter};

use crate::inbound::{ChannelCtx, IngestOutcome};
use crate::{ServiceError, ServiceResult, Services};

const TOKEN_KEY_SETTING: &str = "visitor_token_key";
const TOKEN_PREFIX: &str = "sbv1.";

/// What a visitor token stands for.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct Visitor {
    #[serde(rename = "c")]
    pub channel_id: ChannelId,
    /// The visitor's identity on the channel (`v:<random>` or `id:<identifier>`).
    #[serde(rename = "x")]
    pub external_id: String,
    #[serde(rename = "t")]
    pub issued_at: i64,
}

/// The public face of a widget channel.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct WidgetPublic {
    pub channel_id: ChannelId,
    pub name: String,
    #[serde(flatten)]
    pub settings: WidgetSettings,
}

#[derive(Debug, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SessionRequest {
    pub channel_id: ChannelId,
    /// A token from an earlier visit, to continue as the same visitor.
    pub token: Option<String>,
    /// The site's own id of its signed-in user.
    pub identifier: Option<String>,
    /// `hex(HMAC-SHA256(channel secret, identifier))`, computed by the site's server.
    pub identifier_hash: Option<String>,
}

#[derive(Debug, Serialize, JsonSchema)]
pub struct VisitorSession {
    pub token: String,
    pub identified: bool,
    pub widget: WidgetPublic,
}

/// A message as a visitor sees it: no notes, no internal ids.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct VisitorMessage {
    pub id: MessageId,
    pub conversation_id: ConversationId,
    /// `in`: written by the visitor; `out`: by the business.
    pub direction: Direction,
    pub body: Option<String>,
    pub author_name: Option<String>,
    pub delivery_status: Option<DeliveryStatus>,
    /// Files in the message; fetch each from `/widget/v1/attachments/{id}`.
    pub attachments: Vec<switchboard_core::Attachment>,
    /// A bot menu's choices; tapping one sends its label.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub buttons: Vec<String>,
    pub created_at: Millis,
}

#[derive(Debug, Serialize, JsonSchema)]
pub struct VisitorConversation {
    pub id: ConversationId,
    pub status: switchboard_core::ConversationStatus,
    pub agent_name: Option<String>,
    pub created_at: Millis,
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct VisitorSend {
    pub text: String,
    /// The widget's own id for this message; sending it twice stores it once.
    pub client_id: String,
    /// From the pre-chat form.
    pub name: Option<String>,
    pub email: Option<String>,
}

/// Only what a visitor wrote or what was sent to them.
fn visible_to_visitor(m: &Message) -> bool {
    matches!(m.kind, MessageKind::Text | MessageKind::Media | MessageKind::Template)
}

impl Services {
    async fn token_key(&self) -> ServiceResult<Vec<u8>> {
        let key = self
            .inner
            .visitor_key
            .get_or_try_init(|| async {
                // Kept in the database so every node signs and checks alike.
                let mut tx = self.store().begin().await?;
                let stored = tx
                    .exec()
                    .init_setting(TOKEN_KEY_SETTING, &crate::random_token())
                    .await?;
                tx.commit().await?;
                Ok::<_, ServiceError>(stored.into_bytes())
            })
            .await?;
        Ok(key.clone())
    }

    async fn sign_visitor(&self, visitor: &Visitor) -> ServiceResult<String> {
        let payload = serde_json::to_vec(visitor).map_err(|e| ServiceError::Internal(e.to_string()))?;
        let b64 = base64::engine::general_purpose::URL_SAFE_NO_PAD;
        let body = b64.encode(payload);
        let mac = b64.encode(hmac_sha256(&self.token_key().await?, body.as_bytes()));
        Ok(format!("{TOKEN_PREFIX}{body}.{mac}"))
    }

    /// The visitor behind a token (any channel); `None` when forged or malformed.
    pub async fn visitor(&self, token: &str) -> ServiceResult<Option<Visitor>> {
        let Some((body, mac)) = token.strip_prefix(TOKEN_PREFIX).and_then(|t| t.split_once('.')) else {
            return Ok(None);
        };
        let b64 = base64::engine::general_purpose::URL_SAFE_NO_PAD;
        let Ok(mac) = b64.decode(mac) else { return Ok(None) };
        if !verify_hex(&self.token_key().await?, body.as_bytes(), &hex::encode(mac)) {
            return Ok(None);
        }
        let Ok(payload) = b64.decode(body) else { return Ok(None) };
        Ok(serde_json::from_slice(&payload).ok())
    }

    async fn web_channel(&self, id: ChannelId) -> ServiceResult<(ChannelRow, WidgetPublic)> {
        let row = self
            .store()
            .reader()
            .channel_by_id(id)
            .await?
            .ok_or(ServiceError::NotFound("channel"))?;
        let channel = row.to_domain()?;
        if !self.capabilities(channel.kind).widget {
            return Err(ServiceError::NotFound("channel"));
        }
        let public = WidgetPublic {
            channel_id: channel.id,
            name: channel.name,
            settings: channel.widget.unwrap_or_default(),
        };
        Ok((row, public))
    }

    /// The widget settings of a web channel (for the widget page).
    pub async fn widget(&self, channel: ChannelId) -> ServiceResult<WidgetPublic> {
        Ok(self.web_channel(channel).await?.1)
    }

    /// Start or continue a visitor session. Limited per client address.
    pub async fn visitor_session(&self, req: SessionRequest, client: &str) -> ServiceResult<VisitorSession> {
        if let Err(wait) = self.inner.visitor_sessions_per_ip.check_and_hit(client).await {
            return Err(ServiceError::RateLimited { retry_after_secs: wait });
        }
        let (row, widget) = self.web_channel(req.channel_id).await?;
        let (external_id, identified) = match (&req.identifier, &req.identifier_hash) {
            (Some(identifier), Some(hash)) => {
                let identifier = identifier.trim();
                if identifier.is_empty() || identifier.len() > 200 {
                    return Err(Invalid::new("identifier", "must be 1 to 200 characters").into());
                }
                let secret = row.secret.as_deref().unwrap_or_default();
                if secret.is_empty() || !verify_hex(secret.as_bytes(), identifier.as_bytes(), hash) {
                    return Err(ServiceError::BadSignature);
                }
                (format!("id:{identifier}"), true)
            }
            (Some(_), None) => return Err(ServiceError::MissingSignature),
            (None, _) => {
                let previous = match &req.token {
                    Some(t) => self.visitor(t).await?.filter(|v| v.channel_id == req.channel_id),
                    None => None,
                };
                match previous {
                    Some(v) => {
                        let identified = v.external_id.starts_with("id:");
                        (v.external_id, identified)
                    }
                    None => (format!("v:{}", crate::random_token()), false),
                }
            }
        };
        let token = self
            .sign_visitor(&Visitor {
                channel_id: req.channel_id,
                external_id,
                issued_at: self.now().0,
            })
            .await?;
        Ok(VisitorSession {
            token,
            identified,
            widget,
        })
    }

    /// The workspace a channel belongs to.
    pub async fn channel_workspace(&self, channel: ChannelId) -> ServiceResult<switchboard_core::WorkspaceId> {
        Ok(self.web_channel(channel).await?.0.to_domain()?.workspace_id)
    }

    /// The visitor's contact, once they have written.
    pub async fn visitor_contact_id(&self, visitor: &Visitor) -> ServiceResult<Option<ContactId>> {
        self.visitor_contact(visitor).await
    }

    async fn visitor_contact(&self, visitor: &Visitor) -> ServiceResult<Option<ContactId>> {
        Ok(self
            .store()
            .reader()
            .contact_of_identity(visitor.channel_id, &visitor.external_id)
            .await?)
    }

    /// The visitor's conversations on this channel, newest first.
    pub async fn visitor_conversations(&self, visitor: &Visitor) -> ServiceResult<Vec<VisitorConversation>> {
        let Some(contact) = self.visitor_contact(visitor).await? else {
            return Ok(Vec::new());
        };
        let (row, _) = self.web_channel(visitor.channel_id).await?;
        let ws = row.to_domain()?.workspace_id;
        let mut filter = ConversationFilter::new(Visibility::All, 50);
        filter.contact = Some(contact);
        filter.channel = Some(visitor.channel_id);
        let page = self.store().reader().conversations(ws, &filter).await?;
        let mut out = Vec::with_capacity(page.items.len());
        for c in page.items {
            out.push(VisitorConversation {
                id: c.id,
                status: c.status,
                agent_name: self.user_name(c.assignee_id).await?,
                created_at: c.times.created_at,
            });
        }
        Ok(out)
    }

    async fn user_name(&self, user: Option<UserId>) -> ServiceResult<Option<String>> {
        match user {
            Some(u) => Ok(self.store().reader().user(u).await?.map(|u| u.name)),
            None => Ok(None),
        }
    }

    /// One of the visitor's conversations; another visitor's answers 404.
    pub async fn visitor_conversation(&self, visitor: &Visitor, id: ConversationId) -> ServiceResult<Conversation> {
        let contact = self
            .visitor_contact(visitor)
            .await?
            .ok_or(ServiceError::NotFound("conversation"))?;
        let (row, _) = self.web_channel(visitor.channel_id).await?;
        let ws = row.to_domain()?.workspace_id;
        self.store()
            .reader()
            .conversation(ws, id)
            .await?
            .filter(|c| c.contact_id == contact && c.channel_id == visitor.channel_id)
            .ok_or(ServiceError::NotFound("conversation"))
    }

    pub async fn visitor_messages(&self, visitor: &Visitor, id: ConversationId) -> ServiceResult<Vec<VisitorMessage>> {
        let c = self.visitor_conversation(visitor, id).await?;
        let page = self.store().reader().messages(c.id, None, 200, true).await?;
        let mut out = Vec::new();
        for m in page.items.into_iter().rev().filter(visible_to_visitor) {
            out.push(self.visitor_view(&m).await?);
        }
        Ok(out)
    }

    /// How a visitor sees a message.
    pub async fn visitor_view(&self, m: &Message) -> ServiceResult<VisitorMessage> {
        let author_name = match (
            m.direction,
            m.sender_id.as_deref().and_then(|s| s.parse::<UserId>().ok()),
        ) {
            (Direction::Out, Some(user)) => self.user_name(Some(user)).await?,
            _ => None,
        };
        let attachments = if m.kind == MessageKind::Media {
            self.store()
                .reader()
                .attachments_of_messages(m.workspace_id, &[m.id])
                .await?
        } else {
            Vec::new()
        };
        Ok(VisitorMessage {
            id: m.id,
            conversation_id: m.conversation_id,
            direction: m.direction,
            body: m.body.clone(),
            author_name,
            delivery_status: m.delivery_status,
            attachments,
            buttons: m.buttons.clone(),
            created_at: m.created_at,
        })
    }

    /// A visitor writes. Goes through the one ingest path, deduplicated by
    /// the widget's `client_id`. Limited per visitor.
    pub async fn visitor_send(&self, visitor: &Visitor, req: VisitorSend) -> ServiceResult<IngestOutcome> {
        if let Err(wait) = self
            .inner
            .visitor_messages_per_token
            .check_and_hit(&visitor.external_id)
            .await
        {
            return Err(ServiceError::RateLimited { retry_after_secs: wait });
        }
        let text = MessageText::parse("text", &req.text)?.into_string();
        let client_id = req.client_id.trim();
        if client_id.is_empty() || client_id.len() > 100 {
            return Err(Invalid::new("client_id", "must be 1 to 100 characters").into());
        }
        let name = req
            .name
            .as_deref()
            .filter(|n| !n.trim().is_empty())
            .map(|n| Label::parse("name", n))
            .transpose()?;
        let email = req
            .email
            .as_deref()
            .filter(|e| !e.trim().is_empty())
            .map(Email::parse)
            .transpose()?;
        let (row, widget) = self.web_channel(visitor.channel_id).await?;
        let first_contact = self.visitor_contact(visitor).await?.is_none();
        if first_contact {
            use switchboard_core::widget::PrechatField::Required;
            if widget.settings.prechat_name == Required && name.is_none() {
                return Err(Invalid::new("name", "is required").into());
            }
            if widget.settings.prechat_email == Required && email.is_none() {
                return Err(Invalid::new("email", "is required").into());
            }
        }
        let channel = row.to_domain()?;
        let ctx = ChannelCtx::of(self, &crate::channel_port::setup_of(&row)?, &channel);
        self.ingest(
            ctx,
            InboundMessage {
                html: None,
                subject: None,
                references: Vec::new(),
                external_id: format!("{}/{client_id}", visitor.external_id),
                contact: switchboard_channels::ExternalContact {
                    external_id: visitor.external_id.clone(),
                    name: name.map(Label::into_string),
                    email: email.map(|e| e.to_string()),
                    phone: None,
                },
                text,
                in_reply_to: None,
                sent_at: None,
                media: Vec::new(),
            },
        )
        .await
    }

    /// The visitor's widget received (`Delivered`) or showed (`Read`) the
    /// business's messages up to `up_to` in a conversation.
    pub async fn visitor_ack(
        &self,
        visitor: &Visitor,
        conversation: ConversationId,
        up_to: MessageId,
        status: DeliveryStatus,
    ) -> ServiceResult<usize> {
        if !matches!(status, DeliveryStatus::Delivered | DeliveryStatus::Read) {
            return Err(Invalid::new("status", "must be delivered or read").into());
        }
        let c = self.visitor_conversation(visitor, conversation).await?;
        let page = self.store().reader().messages(c.id, None, 200, true).await?;
        let changed: Vec<Message> = page
            .items
            .into_iter()
            .filter(|m| m.direction == Direction::Out && m.id <= up_to)
            .filter(|m| {
                m.delivery_status
                    .is_some_and(|s| s.can_advance_to(status) && s != DeliveryStatus::Queued)
            })
            .collect();
        if changed.is_empty() {
            return Ok(0);
        }
        let mut tx = self.store().begin().await?;
        for m in &changed {
            tx.exec().set_delivery(m.id, status, None, None).await?;
        }
        for m in &changed {
            let mut m = m.clone();
            m.delivery_status = Some(status);
            self.emit_message(&mut tx, "message.updated", &c, &m).await?;
        }
        tx.commit().await?;
        Ok(changed.len())
    }

    /// The assigned agent (or an admin) has the conversation on screen: the
    /// customer's messages are read. Each that changes is published as
    /// `message.updated`, which the widget shows as "Seen".
    pub async fn mark_read_by_business(&self, actor: &Actor, conversation: ConversationId) -> ServiceResult<usize> {
        let c = self.conversation(actor, conversation).await?;
        if !actor.can_message_customer(&crate::kernel::scope(&c)) {
            return Err(ServiceError::Forbidden(
                "only the assigned agent (or an admin) reads for the business",
            ));
        }
        let page = self.store().reader().messages(c.id, None, 200, true).await?;
        let unread: Vec<Message> = page
            .items
            .into_iter()
            .filter(|m| m.direction == Direction::In && m.sender_kind == SenderKind::Contact)
            .filter(|m| m.delivery_status != Some(DeliveryStatus::Read))
            .collect();
        if unread.is_empty() {
            return Ok(0);
        }
        let mut tx = self.store().begin().await?;
        for m in &unread {
            tx.exec().set_delivery(m.id, DeliveryStatus::Read, None, None).await?;
            let mut m = m.clone();
            m.delivery_status = Some(DeliveryStatus::Read);
            self.emit_message(&mut tx, "message.updated", &c, &m).await?;
        }
        tx.commit().await?;
        // The provider shows the customer "read" up to the newest one.
        let newest = unread
            .iter()
            .filter_map(|m| Some((m.created_at, m.provider_message_id.as_deref()?)))
            .max_by_key(|(at, _)| *at);
        if let Some((_, provider_id)) = newest
            && let Some(row) = self.store().reader().channel(c.workspace_id, c.channel_id).await?
        {
            self.queue_read_receipt(&row, provider_id).await?;
        }
        Ok(unread.len())
    }

    /// The visitor sends a file into one of their conversations: the same
    /// path (limits, type sniffing, storage) as every upload.
    pub async fn visitor_upload(
        &self,
        visitor: &Visitor,
        conversation: ConversationId,
        upload: crate::Upload<'_>,
    ) -> ServiceResult<switchboard_core::MessageView> {
        if let Err(wait) = self
            .inner
            .visitor_messages_per_token
            .check_and_hit(&visitor.external_id)
            .await
        {
            return Err(ServiceError::RateLimited { retry_after_secs: wait });
        }
        let c = self.visitor_conversation(visitor, conversation).await?;
        self.store_attachment(c.workspace_id, c.id, crate::Uploader::Contact(c.contact_id), upload)
            .await
    }

    /// A file of one of the visitor's conversations; anyone else's is 404.
    pub async fn visitor_attachment(
        &self,
        visitor: &Visitor,
        id: switchboard_core::AttachmentId,
    ) -> ServiceResult<switchboard_store::AttachmentRecord> {
        let ws = self.channel_workspace(visitor.channel_id).await?;
        let record = self
            .store()
            .reader()
            .attachment(ws, id)
            .await?
            .ok_or(ServiceError::NotFound("attachment"))?;
        // A library file (no conversation) is never a visitor's.
        let conversation = record
            .attachment
            .conversation_id
            .ok_or(ServiceError::NotFound("attachment"))?;
        self.visitor_conversation(visitor, conversation)
            .await
            .map_err(|_| ServiceError::NotFound("attachment"))?;
        Ok(record)
    }

    /// An agent is typing in a conversation they can see.
    pub async fn agent_typing(&self, actor: &crate::Actor, id: ConversationId) -> ServiceResult<()> {
        let c = self.conversation(actor, id).await?;
        let name = self.user_name(Some(actor.user_id)).await?.unwrap_or_default();
        self.typing(&c, Some((actor.user_id, name))).await;
        self.show_typing_to_customer(&c).await
    }

    /// Someone is typing: the visitor (`user` = None) or an agent.
    pub async fn typing(&self, c: &Conversation, user: Option<(UserId, String)>) {
        let data = match user {
            Some((id, name)) => serde_json::json!({"conversation_id": c.id, "by": "user", "user_id": id, "name": name}),
            None => serde_json::json!({"conversation_id": c.id, "by": "contact"}),
        };
        // Through the log like every event, so every node's sockets see it.
        let scope = crate::events::conversation_scope(c);
        if let Err(e) = self
            .publish_now(c.workspace_id, "conversation.typing", scope, data)
            .await
        {
            tracing::warn!(error = %e, "could not publish a typing notice");
        }
    }
}
