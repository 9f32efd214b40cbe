//! Routing settings (DESIGN.md §5): per team, falling back to the
//! workspace. Stored as JSON beside the team and the workspace; parsed
//! through [`TeamRouting::parse`] / [`WorkspaceRouting::parse`] so a bad
//! setting is refused with a message that points at it.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::hours::BusinessHours;
use crate::time::Millis;
use crate::validate::Invalid;

/// Which queued chat an agent with free capacity gets first.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum QueueOrder {
    /// The chat that was opened first.
    #[default]
    OldestFirst,
    /// The chat that has been in the queue longest (a chat put back in the
    /// queue starts waiting again).
    LongestWaiting,
}

/// The longest ticket auto-reply, in characters.
pub const AUTO_REPLY_MAX: usize = 2000;

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, default)]
pub struct TeamRouting {
    pub queue_order: QueueOrder,
    /// When a member goes offline, their open chats return to the queue
    /// after this many minutes. `None`: they stay theirs.
    pub requeue_offline_after_minutes: Option<u32>,
    /// `None`: the workspace's business hours apply.
    pub business_hours: Option<BusinessHours>,
    /// Sent to the customer when their chat becomes a ticket. `None`: the
    /// workspace's auto-reply applies.
    pub ticket_auto_reply: Option<String>,
}

/// The default expiry period: 24 hours.
pub const DEFAULT_EXPIRY_MINUTES: u32 = 24 * 60;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, default)]
pub struct WorkspaceRouting {
    /// `None`: always open.
    pub business_hours: Option<BusinessHours>,
    pub ticket_auto_reply: Option<String>,
    /// An open chat nobody acted on for this long expires (5 minutes to a
    /// year).
    #[schemars(range(min = 5, max = 525600))]
    pub expiry_minutes: u32,
}

impl Default for WorkspaceRouting {
    fn default() -> Self {
        Self {
            business_hours: None,
            ticket_auto_reply: None,
            expiry_minutes: DEFAULT_EXPIRY_MINUTES,
        }
    }
}

/// Take `business_hours` out of a settings object and parse it on its own,
/// so its errors point inside it.
fn split_hours(
    value: &serde_json::Value,
    field: &'static str,
) -> Result<(serde_json::Value, Option<BusinessHours>), Invalid> {
    let mut rest = value.clone();
    let Some(object) = rest.as_object_mut() else {
        return Err(Invalid::new(field, "must be an object"));
    };
    let hours = match object.remove("business_hours") {
        None | Some(serde_json::Value::Null) => None,
        // Reported on the settings field the form has, with the path inside it.
        Some(v) => {
            Some(BusinessHours::parse(&v).map_err(|e| Invalid::new(field, format!("{}: {}", e.field, e.reason)))?)
        }
    };
    Ok((rest, hours))
}

fn auto_reply(text: Option<String>, field: &'static str) -> Result<Option<String>, Invalid> {
    let Some(text) = text else { return Ok(None) };
    let text = text.trim().to_owned();
    if text.is_empty() {
        return Ok(None);
    }
    if text.chars().count() > AUTO_REPLY_MAX {
        return Err(Invalid::new(
            field,
            format!("ticket_auto_reply: at most {AUTO_REPLY_MAX} characters"),
        ));
    }
    Ok(Some(text))
}

fn serde_error(field: &'static str, e: serde_json::Error) -> Invalid {
    Invalid::new(field, e.to_string())
}

impl TeamRouting {
    pub fn parse(value: &serde_json::Value) -> Result<Self, Invalid> {
        const FIELD: &str = "routing";
        let (rest, hours) = split_hours(value, FIELD)?;
        let mut routing: TeamRouting = serde_json::from_value(rest).map_err(|e| serde_error(FIELD, e))?;
        routing.business_hours = hours;
        routing.ticket_auto_reply = auto_reply(routing.ticket_auto_reply, FIELD)?;
        if let Some(m) = routing.requeue_offline_after_minutes
            && m > 7 * 24 * 60
        {
            return Err(Invalid::new(
                FIELD,
                "requeue_offline_after_minutes: at most 10080 (7 days)",
            ));
        }
        Ok(routing)
    }
}

impl WorkspaceRouting {
    pub fn parse(value: &serde_json::Value) -> Result<Self, Invalid> {
        const FIELD: &str = "routing";
        let (rest, hours) = split_hours(value, FIELD)?;
        let mut routing: WorkspaceRouting = serde_json::from_value(rest).map_err(|e| serde_error(FIELD, e))?;
        routing.business_hours = hours;
        routing.ticket_auto_reply = auto_reply(routing.ticket_auto_reply, FIELD)?;
        if !(5..=365 * 24 * 60).contains(&routing.expiry_minutes) {
            return Err(Invalid::new(FIELD, "expiry_minutes: between 5 and 525600 (one year)"));
        }
        Ok(routing)
    }

    pub fn expiry_ms(&self) -> i64 {
        i64::from(self.expiry_minutes) * 60_000
    }
}

/// A team's effective routing: its own settings over the workspace's.
#[derive(Debug, Clone, PartialEq)]
pub struct EffectiveRouting {
    pub queue_order: QueueOrder,
    pub requeue_offline_after_minutes: Option<u32>,
    pub business_hours: Option<BusinessHours>,
    pub ticket_auto_reply: Option<String>,
}

impl EffectiveRouting {
    pub fn of(team: &TeamRouting, workspace: &WorkspaceRouting) -> Self {
        Self {
            queue_order: team.queue_order,
            requeue_offline_after_minutes: team.requeue_offline_after_minutes,
            business_hours: team.business_hours.clone().or_else(|| workspace.business_hours.clone()),
            ticket_auto_reply: team
                .ticket_auto_reply
                .clone()
                .or_else(|| workspace.ticket_auto_reply.clone()),
        }
    }

    /// Open for business at `at` (no schedule: always).
    pub fn is_open(&self, at: Millis) -> bool {
        self.business_hours.as_ref().is_none_or(|h| h.is_open(at))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn defaults_and_fallbacks() {
        let team = TeamRouting::parse(&json!({})).unwrap();
        assert_eq!(team, TeamRouting::default());
        let ws = WorkspaceRouting::parse(&json!({"ticket_auto_reply": " We are closed. "})).unwrap();
        assert_eq!(ws.expiry_minutes, DEFAULT_EXPIRY_MINUTES);
        let eff = EffectiveRouting::of(&team, &ws);
        assert_eq!(eff.ticket_auto_reply.as_deref(), Some("We are closed."));
        assert!(eff.is_open(Millis(0)));
        let own =
            TeamRouting::parse(&json!({"ticket_auto_reply": "Team closed", "queue_order": "longest_waiting"})).unwrap();
        let eff = EffectiveRouting::of(&own, &ws);
        assert_eq!(eff.ticket_auto_reply.as_deref(), Some("Team closed"));
        assert_eq!(eff.queue_order, QueueOrder::LongestWaiting);
    }

    #[test]
    fn bad_settings_point_at_the_field() {
        let e = TeamRouting::parse(&json!({"queue_order": "random"})).unwrap_err();
        assert!(e.reason.contains("queue_order") || e.reason.contains("random"), "{e:?}");
        let e = TeamRouting::parse(&json!({"colour": 1})).unwrap_err();
        assert!(e.reason.contains("colour"), "{e:?}");
        let e = WorkspaceRouting::parse(&json!({"expiry_minutes": 1})).unwrap_err();
        assert!(e.reason.contains("expiry_minutes"), "{e:?}");
        let e = TeamRouting::parse(&json!({"business_hours": {"time_zone": "Mars/Base"}})).unwrap_err();
        assert!(e.reason.contains("Mars/Base"), "{e:?}");
        assert_eq!(e.field, "routing", "the field the form shows");
        assert!(TeamRouting::parse(&json!([])).is_err());
    }
}
