//! From a conversation query (API parameters or a page's URL) to the
//! store's filter: sections, assignee, dates in the workspace's time zone,
//! full-text search. One translation for lists, counts and exports.

use chrono::{Days, NaiveDate};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use switchboard_core::hours::BusinessHours;
use switchboard_core::permissions::Actor;
use switchboard_core::search::TextQuery;
use switchboard_core::validate::Invalid;
use switchboard_core::{Millis, Section};
use switchboard_store::{ConversationFilter, ConversationSort, DurationRange, ListCursor, SentBy, TimeRange};

use crate::{ConversationQuery, ServiceResult, Services};

/// Which time a date filter reads.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum DateField {
    #[default]
    Created,
    Closed,
    LastActivity,
}

/// Quick picks: today and the days before it, in the workspace's time zone.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Period {
    Today,
    #[serde(rename = "last_7_days")]
    Last7Days,
    #[serde(rename = "last_15_days")]
    Last15Days,
    #[serde(rename = "last_30_days")]
    Last30Days,
    #[serde(rename = "last_45_days")]
    Last45Days,
}

impl Period {
    fn days(self) -> u64 {
        match self {
            Self::Today => 1,
            Self::Last7Days => 7,
            Self::Last15Days => 15,
            Self::Last30Days => 30,
            Self::Last45Days => 45,
        }
    }
}

/// Who wrote first in a conversation (DESIGN.md §8 "sent by").
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum FirstSentBy {
    Customer,
    Business,
}

/// The order of a list (all descending).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum SortBy {
    Newest,
    LastActivity,
    Closed,
    Duration,
    ResponseTime,
}

/// Seconds given by a client as a range bound, in milliseconds.
fn seconds_bound(field: &'static str, raw: Option<i64>) -> ServiceResult<Option<i64>> {
    match raw {
        None => Ok(None),
        Some(s @ 0..=315_360_000) => Ok(Some(s * 1000)),
        Some(_) => Err(Invalid::new(field, "must be between 0 and 315360000 seconds").into()),
    }
}

fn local_date(field: &'static str, raw: &str) -> ServiceResult<NaiveDate> {
    NaiveDate::parse_from_str(raw.trim(), "%Y-%m-%d")
        .map_err(|_| Invalid::new(field, "must be a date, YYYY-MM-DD").into())
}

/// The range a period or a pair of local dates covers (both inclusive days).
fn local_range(
    hours: &BusinessHours,
    now: Millis,
    period: Option<Period>,
    from: Option<&str>,
    to: Option<&str>,
) -> ServiceResult<TimeRange> {
    let invalid = || Invalid::new("period", "is outside the calendar");
    if let Some(p) = period {
        let today = hours.local_date(now).ok_or_else(invalid)?;
        let first = today.checked_sub_days(Days::new(p.days() - 1)).ok_or_else(invalid)?;
        let (from, before) = hours.local_days(first, today).ok_or_else(invalid)?;
        return Ok(TimeRange {
            from: Some(from),
            before: Some(before),
        });
    }
    fn nonempty(d: Option<&str>) -> Option<&str> {
        d.map(str::trim).filter(|d| !d.is_empty())
    }
    let from = nonempty(from).map(|d| local_date("from_date", d)).transpose()?;
    let to = nonempty(to).map(|d| local_date("to_date", d)).transpose()?;
    let from = from.and_then(|d| hours.local_day_start(d));
    let before = to.and_then(|d| hours.local_days(d, d)).map(|(_, before)| before);
    // A range that ends before it starts holds nothing.
    Ok(TimeRange {
        from,
        before: match (from, before) {
            (Some(f), Some(b)) if b < f => Some(f),
            _ => before,
        },
    })
}

fn merge(range: &mut TimeRange, other: TimeRange) {
    range.from = range.from.max(other.from);
    range.before = match (range.before, other.before) {
        (Some(a), Some(b)) => Some(a.min(b)),
        (a, b) => a.or(b),
    };
}

/// `range` without an end that lies after `now`: nothing was created,
/// closed or active after now, so that end selects nothing more, and the
/// database would take the range for a narrow one and read every row of it
/// to find a page that walking the newest rows finds at once.
fn open_past_now(range: &mut TimeRange, now: Millis) {
    if range.from.is_some() && range.before.is_some_and(|before| before > now) {
        range.before = None;
    }
}

impl Services {
    /// The store filter for `q` as `actor` may see it.
    pub(crate) async fn conversation_filter(
        &self,
        actor: &Actor,
        q: &ConversationQuery,
    ) -> ServiceResult<ConversationFilter> {
        // Dates are local days: only then does the workspace's time zone matter.
        let hours = if q.period.is_some() || q.from_date.is_some() || q.to_date.is_some() {
            self.local_hours(actor).await?
        } else {
            BusinessHours::always_open()
        };
        self.conversation_filter_in(actor, q, &hours)
    }

    /// The workspace's hours, whose time zone decides where its days start
    /// (always open in UTC when it set none).
    pub(crate) async fn local_hours(&self, actor: &Actor) -> ServiceResult<BusinessHours> {
        let routing = self.store().reader().workspace_routing(actor.workspace_id).await?;
        Ok(routing.business_hours.unwrap_or_else(BusinessHours::always_open))
    }

    /// [`Self::conversation_filter`] with dates read in `hours`' time zone.
    pub(crate) fn conversation_filter_in(
        &self,
        actor: &Actor,
        q: &ConversationQuery,
        hours: &BusinessHours,
    ) -> ServiceResult<ConversationFilter> {
        let mut f = ConversationFilter::new(actor.visibility(), super::limit(q.limit)?);
        if q.section == Some(Section::Tickets) || q.ticket_view.is_some() {
            f.ticket = Some(true);
        }
        match (q.status, q.ticket_view, q.section) {
            (Some(s), _, _) => f.statuses = Some(vec![s]),
            (None, Some(view), _) => f.statuses = Some(view.statuses().to_vec()),
            (None, None, Some(Section::Tickets) | None) => {}
            (None, None, Some(section)) => f.statuses = Some(section.statuses().to_vec()),
        }
        match q.assignee.as_deref().map(str::trim) {
            None | Some("") => {}
            Some("none") => f.unassigned = true,
            Some(raw) => {
                f.assignee = Some(
                    raw.parse()
                        .map_err(|_| Invalid::new("assignee", "must be a user id or `none`"))?,
                )
            }
        }
        f.team = q.team;
        f.channel = q.channel;
        f.contact = q.contact;
        f.tag = q.tag.clone();
        f.text = q.q.as_deref().map(TextQuery::parse);
        f.critical = q.critical;
        f.rating = match q.rating {
            Some(r @ 1..=5) => Some(i64::from(r)),
            Some(_) => return Err(Invalid::new("rating", "must be between 1 and 5").into()),
            None => None,
        };
        f.sent_by = q.sent_by.map(|s| match s {
            FirstSentBy::Customer => SentBy::Customer,
            FirstSentBy::Business => SentBy::Business,
        });
        f.awaiting_reply = q.awaiting_reply;
        f.created = TimeRange {
            from: q.created_from,
            before: q.created_before,
        };
        if q.period.is_some() || q.from_date.is_some() || q.to_date.is_some() {
            let range = local_range(
                hours,
                self.now(),
                q.period,
                q.from_date.as_deref(),
                q.to_date.as_deref(),
            )?;
            merge(
                match q.date_field.unwrap_or_default() {
                    DateField::Created => &mut f.created,
                    DateField::Closed => &mut f.closed,
                    DateField::LastActivity => &mut f.last_activity,
                },
                range,
            );
        }
        for range in [&mut f.created, &mut f.closed, &mut f.last_activity] {
            open_past_now(range, self.now());
        }
        f.country = q
            .country
            .as_deref()
            .map(str::trim)
            .filter(|c| !c.is_empty())
            .map(String::from);
        f.close_reason = q
            .close_reason
            .as_deref()
            .map(str::trim)
            .filter(|c| !c.is_empty())
            .map(String::from);
        f.response = DurationRange {
            at_least: seconds_bound("response_above", q.response_above)?,
            below: seconds_bound("response_below", q.response_below)?,
        };
        f.response_after_assignment = DurationRange {
            at_least: seconds_bound("assignment_response_above", q.assignment_response_above)?,
            below: seconds_bound("assignment_response_below", q.assignment_response_below)?,
        };
        if let Some(minutes) = q.waiting_minutes {
            let waited = seconds_bound("waiting_minutes", minutes.checked_mul(60))?
                .ok_or_else(|| Invalid::new("waiting_minutes", "is too large"))?;
            f.waiting_since_before = Some(self.now().plus_ms(-waited));
        }
        f.sort = match q.sort.unwrap_or(SortBy::Newest) {
            SortBy::Newest => ConversationSort::Newest,
            SortBy::LastActivity => ConversationSort::LastActivity,
            SortBy::Closed => ConversationSort::Closed,
            SortBy::Duration => ConversationSort::Duration,
            SortBy::ResponseTime => ConversationSort::ResponseTime,
        };
        f.cursor = match q.cursor.as_deref() {
            None | Some("") => None,
            Some(raw) => Some(
                raw.parse::<ListCursor>()
                    .map_err(|_| Invalid::new("cursor", "is not a cursor this list gave"))?,
            ),
        };
        Ok(f)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hours_in(tz: &str) -> BusinessHours {
        BusinessHours::parse(&serde_json::json!({"time_zone": tz, "weekly": {}})).unwrap()
    }

    #[test]
    fn a_range_ending_after_now_is_open_ended() {
        let now = Millis(1_000_000);
        let mut today = TimeRange {
            from: Some(Millis(500_000)),
            before: Some(Millis(1_000_001)),
        };
        open_past_now(&mut today, now);
        assert_eq!(today.before, None);
        assert_eq!(today.from, Some(Millis(500_000)));
        // An end in the past still bounds; an end alone (closed before a
        // day: closed chats only) is kept, as dropping it would select the
        // open ones too.
        let past = TimeRange {
            from: Some(Millis(1)),
            before: Some(Millis(999_999)),
        };
        let mut kept = past;
        open_past_now(&mut kept, now);
        assert_eq!(kept, past);
        let only_end = TimeRange {
            from: None,
            before: Some(Millis(2_000_000)),
        };
        let mut kept = only_end;
        open_past_now(&mut kept, now);
        assert_eq!(kept, only_end);
    }

    #[test]
    fn quick_picks_are_whole_local_days() {
        // 2026-12-06 20:00 UTC is already the 7th in Auckland (UTC+13) and still the 6th in Honolulu (UTC-10).
        let now = Millis(
            chrono::DateTime::parse_from_rfc3339("2026-12-06T20:00:00Z")
                .unwrap()
                .timestamp_millis(),
        );
        let ms = |s: &str| {
            Some(Millis(
                chrono::DateTime::parse_from_rfc3339(s).unwrap().timestamp_millis(),
            ))
        };
        let auckland = local_range(&hours_in("Pacific/Auckland"), now, Some(Period::Last15Days), None, None).unwrap();
        assert_eq!(auckland.from, ms("2026-11-23T00:00:00+13:00"));
        assert_eq!(auckland.before, ms("2026-12-08T00:00:00+13:00"));
        let honolulu = local_range(&hours_in("Pacific/Honolulu"), now, Some(Period::Last30Days), None, None).unwrap();
        assert_eq!(honolulu.from, ms("2026-11-07T00:00:00-10:00"));
        assert_eq!(honolulu.before, ms("2026-12-07T00:00:00-10:00"));
        let custom = local_range(
            &hours_in("Pacific/Honolulu"),
            now,
            None,
            Some("2026-12-01"),
            Some("2026-12-01"),
        )
        .unwrap();
        assert_eq!(
            (custom.from, custom.before),
            (ms("2026-12-01T00:00:00-10:00"), ms("2026-12-02T00:00:00-10:00"))
        );
        let reversed = local_range(&hours_in("UTC"), now, None, Some("2026-12-02"), Some("2026-12-01")).unwrap();
        assert_eq!(reversed.from, reversed.before, "empty");
        assert!(local_range(&hours_in("UTC"), now, None, Some("yesterday"), None).is_err());
    }
}
