//! Campaigns (bulk push): one approved template to many recipients of one
//! channel. This module holds the records, where each template value comes
//! from, the opt-out keywords, phone numbers as WhatsApp takes them, and how
//! a recipient's ledger line reads from its stored state and its message.

use std::fmt;
use std::str::FromStr;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::ids::{CampaignId, ChannelId, ContactId, ConversationId, MessageId, TemplateId, UserId, WorkspaceId};
use crate::model::{DeliveryStatus, UnknownVariant, string_enum};
use crate::time::Millis;
use crate::validate::Invalid;

string_enum!(
    /// `scheduled` until its time, `running` while it sends, `paused` by a
    /// person, `cancelled` (the rest is not sent), `completed` when every
    /// recipient has an outcome.
    CampaignStatus { Scheduled => "scheduled", Running => "running", Paused => "paused", Cancelled => "cancelled", Completed => "completed" }
);
string_enum!(
    /// One recipient's line in the ledger. `queued` waits its turn;
    /// `sending` is claimed (its message stored) and with the provider;
    /// `sent`, `delivered`, `read` follow the provider's statuses;
    /// `replied` once the customer answered; `failed` with the reason;
    /// `limited` when the provider capped messages to them for now (tried
    /// again hours later); `skipped` when never sent (opted out).
    RecipientStatus { Queued => "queued", Sending => "sending", Sent => "sent", Delivered => "delivered", Read => "read", Replied => "replied", Failed => "failed", Limited => "limited", Skipped => "skipped" }
);
string_enum!(
    /// A contact field a template value can come from.
    ContactField { Name => "name", Phone => "phone", Email => "email", Country => "country" }
);

/// Where one template value comes from, per recipient.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(tag = "from", rename_all = "snake_case", deny_unknown_fields)]
pub enum ValueSource {
    /// A field of the recipient's contact (or the CSV's `name` / `phone`
    /// column).
    Field { field: ContactField },
    /// A column of the uploaded CSV, by its header.
    Column { column: String },
    /// The same text for everyone.
    Text { text: String },
}

/// What fills the campaign's template for each recipient.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct CampaignValues {
    /// One per body placeholder, in order.
    #[serde(default)]
    pub body: Vec<ValueSource>,
    /// The header's value, the same for everyone (its `{{1}}`, or the
    /// https:// link of its image, video or document).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub header_param: Option<String>,
    /// One per button, the same for everyone.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub button_params: Vec<String>,
}

/// Who a campaign was sent to, as people read it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Audience {
    /// Contacts carrying a tag.
    Tag { tag: String },
    /// Contacts matching a search (name, phone, e-mail, identity).
    Search { query: String },
    /// Rows of an uploaded CSV.
    Csv { filename: String },
}

#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
pub struct Campaign {
    pub id: CampaignId,
    pub workspace_id: WorkspaceId,
    pub channel_id: ChannelId,
    /// `null` once the template was deleted (the campaign cannot send on).
    pub template_id: Option<TemplateId>,
    pub name: String,
    pub audience: Audience,
    pub values: CampaignValues,
    pub status: CampaignStatus,
    /// Messages a second at most, on this campaign's number.
    pub rate_per_second: u32,
    /// When it starts (or started) sending.
    pub send_at: Millis,
    pub created_by: UserId,
    pub created_at: Millis,
    pub updated_at: Millis,
    pub finished_at: Option<Millis>,
}

/// One recipient's ledger line.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
pub struct CampaignRecipient {
    /// Its place in the audience, from 0.
    pub position: i64,
    /// The address on the channel (for WhatsApp, the number in digits).
    pub external_id: String,
    pub name: Option<String>,
    pub contact_id: Option<ContactId>,
    /// The template's body values for them.
    pub params: Vec<String>,
    pub status: RecipientStatus,
    /// Why it failed, was limited or skipped.
    pub reason: Option<String>,
    pub conversation_id: Option<ConversationId>,
    pub message_id: Option<MessageId>,
    pub attempts: i64,
    pub updated_at: Millis,
}

/// Recipients by ledger status.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct CampaignCounts {
    pub total: i64,
    pub queued: i64,
    pub sending: i64,
    pub sent: i64,
    pub delivered: i64,
    pub read: i64,
    pub replied: i64,
    pub failed: i64,
    pub limited: i64,
    pub skipped: i64,
}

impl CampaignCounts {
    pub fn add(&mut self, status: RecipientStatus, n: i64) {
        self.total += n;
        let slot = match status {
            RecipientStatus::Queued => &mut self.queued,
            RecipientStatus::Sending => &mut self.sending,
            RecipientStatus::Sent => &mut self.sent,
            RecipientStatus::Delivered => &mut self.delivered,
            RecipientStatus::Read => &mut self.read,
            RecipientStatus::Replied => &mut self.replied,
            RecipientStatus::Failed => &mut self.failed,
            RecipientStatus::Limited => &mut self.limited,
            RecipientStatus::Skipped => &mut self.skipped,
        };
        *slot += n;
    }

    /// Recipients still to be sent (or being sent).
    pub fn outstanding(&self) -> i64 {
        self.queued + self.sending + self.limited
    }
}

/// A recipient's ledger status: what is stored until the message went out,
/// then the message's delivery status, `replied` once the customer wrote
/// in the conversation the campaign opened.
pub fn ledger_status(stored: RecipientStatus, delivery: Option<DeliveryStatus>, replied: bool) -> RecipientStatus {
    if stored != RecipientStatus::Sent {
        return stored;
    }
    if replied {
        return RecipientStatus::Replied;
    }
    match delivery {
        Some(DeliveryStatus::Delivered) => RecipientStatus::Delivered,
        Some(DeliveryStatus::Read) => RecipientStatus::Read,
        Some(DeliveryStatus::Failed) => RecipientStatus::Failed,
        _ => RecipientStatus::Sent,
    }
}

/// A phone number as WhatsApp addresses it: its digits with the country
/// code (`+49 151 1234-5678` → `4915112345678`), 8 to 15 of them (E.164).
pub fn phone_digits(raw: &str) -> Result<String, Invalid> {
    let trimmed = raw.trim();
    let allowed = |c: char| c.is_ascii_digit() || matches!(c, '+' | ' ' | '-' | '(' | ')' | '.');
    if !trimmed.chars().all(allowed) || trimmed[1.min(trimmed.len())..].contains('+') {
        return Err(Invalid::new("phone", format!("{trimmed:?} is not a phone number")));
    }
    let digits: String = trimmed.chars().filter(char::is_ascii_digit).collect();
    let digits = digits.strip_prefix("00").map(str::to_owned).unwrap_or(digits);
    if !(8..=15).contains(&digits.len()) || digits.starts_with('0') {
        return Err(Invalid::new(
            "phone",
            format!("{trimmed:?} is not a number with its country code (8 to 15 digits, e.g. +49 151 12345678)"),
        ));
    }
    Ok(digits)
}

/// Opt-out and opt-in keywords: the whole message, any case, trimmed.
#[derive(Debug, Clone)]
pub struct OptKeywords {
    pub out: Vec<String>,
    pub back_in: Vec<String>,
}

/// What a customer's message says about campaigns.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OptChange {
    Out(String),
    In(String),
}

impl Default for OptKeywords {
    fn default() -> Self {
        let words = |w: &[&str]| w.iter().map(|s| s.to_string()).collect();
        OptKeywords {
            out: words(&["STOP", "UNSUBSCRIBE", "STOP ALL", "OPT OUT", "STOPP"]),
            back_in: words(&["START", "UNSTOP", "SUBSCRIBE"]),
        }
    }
}

impl OptKeywords {
    pub fn change(&self, text: &str) -> Option<OptChange> {
        let said = text.trim().trim_end_matches(['.', '!']).to_uppercase();
        let matches = |words: &[String]| words.iter().find(|w| w.eq_ignore_ascii_case(&said)).cloned();
        if let Some(word) = matches(&self.out) {
            Some(OptChange::Out(word))
        } else {
            matches(&self.back_in).map(OptChange::In)
        }
    }
}

/// Longest campaign name; fastest and slowest rate a campaign may ask for.
pub const NAME_MAX: usize = 200;
pub const RATE_MAX: u32 = 1000;

/// A campaign name: not blank, at most 200 characters, one line.
pub fn name(raw: &str) -> Result<String, Invalid> {
    let s = raw.trim();
    if s.is_empty() {
        return Err(Invalid::new("name", "must not be empty"));
    }
    if s.chars().count() > NAME_MAX || s.chars().any(char::is_control) {
        return Err(Invalid::new(
            "name",
            format!("must be one line of at most {NAME_MAX} characters"),
        ));
    }
    Ok(s.to_owned())
}

/// A rate of 1 to 1,000 messages a second.
pub fn rate(raw: u32) -> Result<u32, Invalid> {
    if (1..=RATE_MAX).contains(&raw) {
        Ok(raw)
    } else {
        Err(Invalid::new("rate_per_second", format!("must be from 1 to {RATE_MAX}")))
    }
}

/// A spreadsheet cell that would run as a formula (`=`, `+`, `-`, `@`, tab,
/// carriage return first) gets a leading `'`, so an exported file opened in
/// a spreadsheet shows it as text.
pub fn safe_cell(value: &str) -> std::borrow::Cow<'_, str> {
    if value.starts_with(['=', '+', '-', '@', '\t', '\r']) {
        std::borrow::Cow::Owned(format!("'{value}"))
    } else {
        std::borrow::Cow::Borrowed(value)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn phone_numbers_become_digits_with_their_country_code() {
        assert_eq!(phone_digits("+49 151 1234-5678").unwrap(), "4915112345678");
        assert_eq!(phone_digits("0049 (151) 12345678").unwrap(), "4915112345678");
        assert_eq!(phone_digits("15551234567").unwrap(), "15551234567");
        for bad in [
            "",
            "0151 1234567",
            "12345",
            "+49 151 x",
            "49+151123456",
            "1234567890123456",
        ] {
            assert!(phone_digits(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn the_ledger_follows_the_message_once_sent() {
        use RecipientStatus as R;
        assert_eq!(ledger_status(R::Queued, None, false), R::Queued);
        assert_eq!(ledger_status(R::Skipped, None, true), R::Skipped);
        assert_eq!(ledger_status(R::Sent, Some(DeliveryStatus::Sent), false), R::Sent);
        assert_eq!(ledger_status(R::Sent, Some(DeliveryStatus::Read), false), R::Read);
        assert_eq!(ledger_status(R::Sent, Some(DeliveryStatus::Read), true), R::Replied);
        assert_eq!(ledger_status(R::Sent, Some(DeliveryStatus::Failed), false), R::Failed);
    }

    #[test]
    fn opt_out_keywords_are_the_whole_message_in_any_case() {
        let k = OptKeywords::default();
        assert_eq!(k.change(" stop "), Some(OptChange::Out("STOP".into())));
        assert_eq!(k.change("Stop!"), Some(OptChange::Out("STOP".into())));
        assert_eq!(k.change("start"), Some(OptChange::In("START".into())));
        assert_eq!(k.change("please stop calling"), None);
    }

    #[test]
    fn formula_cells_are_neutralised() {
        assert_eq!(safe_cell("=HYPERLINK(\"x\")"), "'=HYPERLINK(\"x\")");
        assert_eq!(safe_cell("-1"), "'-1");
        assert_eq!(safe_cell("Ana"), "Ana");
    }
}
