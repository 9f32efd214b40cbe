//! What the business writes to the customer, checked against the
//! channel's rules (window, template, readiness) and queued for delivery.

use switchboard_channels::Registry;
use switchboard_core::capabilities::WindowRule;
use switchboard_core::lifecycle::{self, LifecycleError, MessageAuthor};
use switchboard_core::template::{self, SentTemplate, TemplateStatus};
use switchboard_core::validate::{Invalid, MessageText};
use switchboard_core::windows::{DAY_MS, HOUR_MS};
use switchboard_core::{
    Conversation, DeliveryStatus, Direction, Message, MessageId, MessageKind, Millis, SenderKind, TemplateId, UserId,
};
use switchboard_store::{ChannelRow, Exec};

use super::{DELIVER_MESSAGE, deliver_payload};
use crate::{ServiceError, ServiceResult};

/// What the business writes to the customer: a free-form text, or a
/// template filled with values.
#[derive(Debug, Clone)]
pub(crate) enum Outgoing {
    Text(String),
    Template { id: TemplateId, fill: TemplateFill },
}

/// The values a sender gives a template: its body's placeholders, its
/// header's and its buttons'.
#[derive(Debug, Clone, Default)]
pub(crate) struct TemplateFill {
    pub params: Vec<String>,
    pub header_param: Option<String>,
    pub button_params: Vec<String>,
}

impl TemplateFill {
    /// The first field given, for a message that is not a template.
    fn given(&self) -> Option<&'static str> {
        if !self.params.is_empty() {
            Some("params")
        } else if self.header_param.is_some() {
            Some("header_param")
        } else if !self.button_params.is_empty() {
            Some("button_params")
        } else {
            None
        }
    }

    /// Refuse values for a message that is not a template.
    pub(crate) fn only_with_template(&self) -> Result<(), Invalid> {
        match self.given() {
            Some(field) => Err(Invalid::new(
                field,
                "only with a template: it fills the template's placeholders",
            )),
            None => Ok(()),
        }
    }
}

impl Outgoing {
    /// From a request that gives either a `body` or a `template_id` (with
    /// its `params`).
    pub(crate) fn from_fields(
        body: Option<&str>,
        template_id: Option<TemplateId>,
        fill: TemplateFill,
    ) -> ServiceResult<Outgoing> {
        match (body, template_id) {
            (Some(_), Some(_)) => Err(Invalid::new("body", "give a body or a template_id, not both").into()),
            (None, None) => Err(Invalid::new("body", "is required (or give a template_id to send a template)").into()),
            (Some(body), None) => {
                fill.only_with_template()?;
                Ok(Outgoing::Text(MessageText::parse("body", body)?.into_string()))
            }
            (None, Some(id)) => Ok(Outgoing::Template { id, fill }),
        }
    }
}

/// A message to the customer that passed the channel's rules: what is
/// stored and delivered.
#[derive(Debug)]
pub(crate) struct Resolved {
    kind: MessageKind,
    /// What the customer reads (a template's text with its values).
    body: String,
    template: Option<SentTemplate>,
}

impl Resolved {
    /// A person's message to the customer of `c`, not stored yet.
    pub(crate) fn into_message(
        self,
        c: &Conversation,
        by: UserId,
        in_reply_to: Option<MessageId>,
        now: Millis,
    ) -> Message {
        let author = (Direction::Out, SenderKind::User, Some(by.to_string()));
        Message {
            in_reply_to,
            template: self.template,
            ..Message::new(c, author, self.kind, Some(self.body), now)
        }
    }
}

/// Whether a message of this kind may go out now on a channel whose
/// customer last wrote at `last_customer_message_at` (DESIGN.md §6): a
/// free-form text only within the channel's messaging window, a template
/// at any time.
pub(crate) fn check_window(
    window: &WindowRule,
    template: bool,
    last_customer_message_at: Option<Millis>,
    now: Millis,
) -> Result<(), LifecycleError> {
    // A person's text may also go within the window's extension (tagged).
    if template || window.open(last_customer_message_at, now) || window.extension_open(last_customer_message_at, now) {
        Ok(())
    } else {
        Err(LifecycleError::WindowClosed)
    }
}

/// The rule of a window with an extension, for a refusal past it.
fn extension_rule(label: &str, window: &WindowRule) -> Option<String> {
    let ext = window.extension?;
    let hours = window.free_form_ms.unwrap_or_default() / HOUR_MS;
    let days = ext.until_ms / DAY_MS;
    Some(format!(
        "{label} takes replies only within {days} days of the customer's last message (free-form for {hours} hours, \
         then a person's reply with the {} tag); this customer last wrote longer ago",
        ext.tag
    ))
}

/// The tag a message needs on a channel whose window has an extension: none
/// within the free-form period, the extension's tag for
/// a person's message after it; past the extension, the refusal naming the
/// rule.
pub(crate) fn window_tag(
    label: &str,
    window: &WindowRule,
    message: &Message,
    last_customer_message_at: Option<Millis>,
    now: Millis,
) -> Result<Option<String>, String> {
    let Some(ext) = window.extension else {
        return Ok(None);
    };
    // Channels with an extension have no provider templates: a template
    // is a text like any other.
    if window.open(last_customer_message_at, now) {
        return Ok(None);
    }
    if message.sender_kind == SenderKind::User && window.extension_open(last_customer_message_at, now) {
        return Ok(Some(ext.tag.to_owned()));
    }
    Err(extension_rule(label, window).unwrap_or_default())
}

/// Check that `what` may go to the customer on `channel` now, and resolve it
/// into what is stored: a template must be the workspace's (404), be for
/// this channel or any channel, be approved, and get one value per
/// placeholder; a text needs the channel's messaging window open; and the
/// channel's adapter must be ready to send (an API channel needs its
/// callback URL; 409 naming what is missing).
pub(crate) async fn resolve_outgoing(
    exec: &mut Exec<'_>,
    channels: &Registry,
    channel: &ChannelRow,
    what: Outgoing,
    last_customer_message_at: Option<Millis>,
    now: Millis,
) -> ServiceResult<Resolved> {
    let domain = channel.to_domain()?;
    let resolved = match what {
        Outgoing::Text(body) => Resolved {
            kind: MessageKind::Text,
            body,
            template: None,
        },
        Outgoing::Template { id, fill } => {
            let t = exec
                .template(domain.workspace_id, id)
                .await?
                .ok_or(ServiceError::NotFound("template"))?;
            let label = format!("template {} ({})", t.name, t.language);
            if t.channel_id.is_some_and(|c| c != domain.id) {
                return Err(Invalid::new("template_id", format!("{label} is for another channel")).into());
            }
            if t.status != TemplateStatus::Approved {
                return Err(ServiceError::Conflict(format!(
                    "{label} is {}; only approved templates can be sent",
                    t.status
                )));
            }
            let body = template::render(&t.body, &fill.params).map_err(|e| match e.field {
                "values" => Invalid::new("params", e.reason),
                _ => e,
            })?;
            let (header, buttons) = template::parts::fill(
                &t.parts,
                template::parts::PartsFill {
                    header: fill.header_param.as_deref(),
                    buttons: &fill.button_params,
                },
            )?;
            Resolved {
                kind: MessageKind::Template,
                body: template::parts::rendered(&t.parts, header.as_ref(), &body),
                template: Some(SentTemplate {
                    template_id: t.id,
                    name: t.name,
                    language: t.language,
                    params: fill.params,
                    header,
                    buttons,
                }),
            }
        }
    };
    let caps = channels.capabilities(domain.kind);
    // Only a provider's approved template may go outside the window; on a
    // channel without them a template is a text like any other.
    check_window(
        &caps.window,
        resolved.kind == MessageKind::Template && caps.templates,
        last_customer_message_at,
        now,
    )
    .map_err(|e| match extension_rule(caps.label, &caps.window) {
        Some(rule) => ServiceError::PastWindow(rule),
        None => e.into(),
    })?;
    let setup = crate::channel_port::setup_of(channel)?;
    let adapter = channels
        .adapter(domain.kind)
        .ok_or_else(|| ServiceError::Conflict(format!("sending on {} channels is not available yet", domain.kind)))?;
    adapter.ready_to_send(&setup).map_err(ServiceError::Conflict)?;
    Ok(resolved)
}

/// Store a person's message to the customer of `c` with its delivery job,
/// in the caller's transaction: queued now, or scheduled for `send_at`. One
/// sent now moves the conversation's reply times (a scheduled one moves them
/// when it goes out).
pub(crate) async fn queue_outgoing(
    exec: &mut Exec<'_>,
    c: &mut Conversation,
    message: &mut Message,
    send_at: Option<Millis>,
    delivery_attempts: i64,
    now: Millis,
) -> ServiceResult<()> {
    message.send_at = send_at;
    message.delivery_status = Some(match send_at {
        Some(_) => DeliveryStatus::Scheduled,
        None => DeliveryStatus::Queued,
    });
    exec.insert_message(message, c.channel_id).await?;
    if send_at.is_none() {
        lifecycle::record_message(
            &mut c.times,
            MessageAuthor::person(c.assignee_id, message.sender_id.as_deref()),
            now,
        );
        c.updated_at = now;
        crate::kernel::save_conversation(exec, c, now).await?;
    }
    exec.enqueue_job(
        DELIVER_MESSAGE,
        &deliver_payload(message),
        send_at.unwrap_or(now),
        delivery_attempts,
        now,
    )
    .await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    const DAY: i64 = 24 * 3600 * 1000;

    /// Which channels have which window is the adapters' business (tested
    /// in `switchboard-channels`); here, what a window allows.
    #[test]
    fn templates_go_out_when_the_window_is_closed_and_texts_do_not() {
        let now = Millis(10 * DAY);
        let windowed = [
            WindowRule::free_form(DAY),
            WindowRule::free_form(DAY).with_extension("HUMAN_AGENT", 7 * DAY),
        ];
        for window in &windowed {
            let longer_ago = if window.extension.is_some() { 8 * DAY } else { 2 * DAY };
            for last in [None, Some(Millis(now.0 - DAY)), Some(Millis(now.0 - longer_ago))] {
                let expected = if window.extension.is_some() && last == Some(Millis(now.0 - DAY)) {
                    Ok(())
                } else {
                    Err(LifecycleError::WindowClosed)
                };
                assert_eq!(check_window(window, false, last, now), expected, "{window:?} {last:?}");
                assert_eq!(check_window(window, true, last, now), Ok(()), "{window:?} {last:?}");
            }
            let recent = Some(Millis(now.0 - DAY + 1));
            assert_eq!(check_window(window, false, recent, now), Ok(()));
            assert_eq!(check_window(window, true, recent, now), Ok(()));
        }
        assert_eq!(check_window(&WindowRule::NONE, false, None, now), Ok(()));
    }

    /// DESIGN.md §6: 24 hours free-form, then a person's reply with the
    /// tag for up to 7 days, then nothing; a bot's message past 24 hours is
    /// refused.
    #[test]
    fn messages_past_the_free_form_period_go_tagged_until_the_extension_ends() {
        let window = WindowRule::free_form(DAY).with_extension("HUMAN_AGENT", 7 * DAY);
        let person = Message {
            html: None,
            subject: None,
            id: MessageId::new(),
            workspace_id: switchboard_core::WorkspaceId::new(),
            conversation_id: switchboard_core::ConversationId::new(),
            direction: Direction::Out,
            sender_kind: SenderKind::User,
            sender_id: Some("u".into()),
            kind: MessageKind::Text,
            body: Some("hi".into()),
            activity: None,
            in_reply_to: None,
            provider_message_id: None,
            delivery_status: None,
            delivery_error: None,
            created_at: Millis(0),
            send_at: None,
            buttons: Vec::new(),
            template: None,
            edited_at: None,
        };
        let bot = Message {
            sender_kind: SenderKind::Bot,
            ..person.clone()
        };
        let now = Millis(30 * DAY);
        let ago = |days: i64| Some(Millis(now.0 - days * DAY));
        assert_eq!(
            window_tag("Messenger", &window, &person, Some(Millis(now.0 - 1)), now),
            Ok(None)
        );
        assert_eq!(
            window_tag("Messenger", &window, &person, ago(3), now),
            Ok(Some("HUMAN_AGENT".into()))
        );
        let refused = window_tag("Messenger", &window, &person, ago(8), now).unwrap_err();
        assert!(
            refused.contains("7 days") && refused.contains("HUMAN_AGENT"),
            "{refused}"
        );
        assert!(window_tag("Messenger", &window, &bot, ago(3), now).is_err());
        assert_eq!(
            window_tag("WhatsApp", &WindowRule::free_form(DAY), &person, ago(3), now),
            Ok(None)
        );
    }
}
