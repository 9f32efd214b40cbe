//! The feedback request (DESIGN.md §4, §8): resolving or abandoning a chat
//! may ask the customer to rate it from 1 to 5. The question goes out like
//! any message to the customer (stored, then delivered by the outbox), with
//! the numbers as buttons where the channel has buttons; once the messaging
//! window has closed, as the channel's rating template. The customer's next
//! message, if it is such a number, becomes the chat's `rating` and is kept
//! in that chat, which stays closed; anything else is handled as before.

use switchboard_channels::Registry;
use switchboard_core::lifecycle::{self, LifecycleError, MessageAuthor};
use switchboard_core::template::{self, MessageTemplate, SentTemplate, TemplateStatus};
use switchboard_core::{Conversation, Message, MessageKind, Millis, SenderKind};
use switchboard_store::Exec;

use crate::kernel::outgoing_text;
use crate::outbound::{DELIVER_MESSAGE, deliver_payload};
use crate::{ServiceError, ServiceResult};

/// What the customer is asked.
pub const FEEDBACK_QUESTION: &str =
    "How would you rate this conversation? Reply with a number from 1 (poor) to 5 (excellent).";
/// The answers offered as buttons.
pub const FEEDBACK_CHOICES: [&str; 5] = ["1", "2", "3", "4", "5"];

/// How the question goes to the customer.
#[derive(Debug, Clone)]
pub(crate) enum Ask {
    /// As a text, with the numbers as buttons where the channel has them.
    Text { buttons: bool },
    /// As the channel's rating template (the messaging window is closed).
    Template(Box<MessageTemplate>),
}

/// Whether the question can go to the customer of `c` now: the business
/// must be able to write back on its channel; within the messaging window
/// as a text, outside it only as the channel's rating template.
pub(crate) async fn check_channel(
    exec: &mut Exec<'_>,
    channels: &Registry,
    c: &Conversation,
    now: Millis,
) -> ServiceResult<Ask> {
    let row = exec
        .channel(c.workspace_id, c.channel_id)
        .await?
        .ok_or(ServiceError::NotFound("channel"))?;
    let setup = crate::channel_port::setup_of(&row)?;
    let adapter = channels.adapter(setup.kind).ok_or_else(|| {
        ServiceError::Conflict(format!(
            "feedback requests cannot be sent on {} channels yet",
            setup.kind
        ))
    })?;
    adapter
        .ready_to_send(&setup)
        .map_err(|why| ServiceError::Conflict(format!("no feedback request can be sent: {why}")))?;
    let caps = adapter.capabilities();
    if caps.window.open(c.times.window_opened_at(), now) {
        return Ok(Ask::Text { buttons: caps.buttons });
    }
    let template = match row.to_domain()?.feedback_template_id {
        Some(id) => exec.template(c.workspace_id, id).await?,
        None => None,
    };
    match template {
        Some(t) if t.status == TemplateStatus::Approved => Ok(Ask::Template(Box::new(t))),
        _ => Err(LifecycleError::WindowClosed.into()),
    }
}

/// Store the question for the outbox (with its delivery job) and record on
/// the conversation that it was asked. `c` was just closed.
pub(crate) async fn request(
    exec: &mut Exec<'_>,
    c: &mut Conversation,
    ask: Ask,
    now: Millis,
    delivery_attempts: i64,
) -> ServiceResult<Message> {
    let message = match ask {
        Ask::Text { buttons } => {
            let choices = if buttons {
                FEEDBACK_CHOICES.map(str::to_owned).to_vec()
            } else {
                Vec::new()
            };
            outgoing_text(c, SenderKind::System, None, FEEDBACK_QUESTION.to_owned(), choices, now)
        }
        Ask::Template(t) => {
            let t = *t;
            let text = template::parts::rendered(&t.parts, None, &t.body);
            let mut m = outgoing_text(c, SenderKind::System, None, text, Vec::new(), now);
            m.kind = MessageKind::Template;
            m.template = Some(SentTemplate {
                template_id: t.id,
                name: t.name,
                language: t.language,
                params: Vec::new(),
                header: None,
                buttons: Vec::new(),
            });
            m
        }
    };
    lifecycle::record_message(&mut c.times, MessageAuthor::Automated, now);
    c.times.feedback_requested_at = Some(now);
    c.updated_at = now;
    crate::kernel::save_conversation(exec, c, now).await?;
    exec.insert_message(&message, c.channel_id).await?;
    exec.enqueue_job(DELIVER_MESSAGE, &deliver_payload(&message), now, delivery_attempts, now)
        .await?;
    Ok(message)
}

/// The rating a customer's message gives: its text, trimmed, is a number
/// from 1 to 5.
pub(crate) fn rating_in(text: &str) -> Option<i64> {
    match text.trim() {
        "1" => Some(1),
        "2" => Some(2),
        "3" => Some(3),
        "4" => Some(4),
        "5" => Some(5),
        _ => None,
    }
}

/// Whether a conversation waits for the customer's rating: it is closed, it
/// asked for feedback when (or after) it last closed, and no rating came.
pub(crate) fn awaits_rating(c: &Conversation) -> bool {
    c.status.is_closed()
        && c.rating.is_none()
        && matches!(
            (c.times.feedback_requested_at, c.times.closed_at),
            (Some(asked), Some(closed)) if asked >= closed
        )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ratings_are_the_numbers_one_to_five() {
        assert_eq!(rating_in(" 4\n"), Some(4));
        assert_eq!(rating_in("1"), Some(1));
        assert_eq!(rating_in("5"), Some(5));
        for text in ["0", "6", "+4", "4.0", "four", "4 stars", "", "44"] {
            assert_eq!(rating_in(text), None, "{text:?}");
        }
    }
}
