//! The analytics of DESIGN.md §8 from the figures kept on each
//! conversation and its assignment legs: counts per local day and hour,
//! response and resolution times (median, p90, distribution) in calendar
//! time and in business hours, CSAT, and the same per agent, team, channel
//! or tag. Pure: the service reads the rows, this folds them.

use std::collections::BTreeMap;

use chrono::{Datelike, NaiveDate, Timelike};
use schemars::JsonSchema;
use serde::Serialize;

use crate::hours::BusinessHours;
use crate::ids::{ChannelId, ConversationId, TeamId, UserId};
use crate::legs::Leg;
use crate::model::ConversationStatus;
use crate::time::Millis;

/// What the analytics read of one conversation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReportConversation {
    pub id: ConversationId,
    pub status: ConversationStatus,
    pub assignee: Option<UserId>,
    pub team: Option<TeamId>,
    pub channel: ChannelId,
    pub created_at: Millis,
    pub handed_off_at: Option<Millis>,
    pub first_reply_at: Option<Millis>,
    pub closed_at: Option<Millis>,
    pub rating: Option<i64>,
    pub feedback_requested_at: Option<Millis>,
    pub messages_in: u32,
    pub messages_out: u32,
    /// Tag names (read only when grouping by tag).
    pub tags: Vec<String>,
}

/// Median, 90th percentile and mean of durations in milliseconds
/// (nearest rank: always one of the values, no interpolation).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, JsonSchema)]
pub struct Spread {
    pub count: u64,
    pub median: Option<i64>,
    pub p90: Option<i64>,
    pub mean: Option<i64>,
}

impl Spread {
    pub fn of(mut values: Vec<i64>) -> Self {
        values.sort_unstable();
        let n = values.len();
        let rank = |p: usize| values[(n * p).div_ceil(100).max(1) - 1];
        Spread {
            count: n as u64,
            median: (n > 0).then(|| rank(50)),
            p90: (n > 0).then(|| rank(90)),
            mean: (n > 0).then(|| values.iter().sum::<i64>() / n as i64),
        }
    }
}

/// The customer satisfaction of a set of chats.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, JsonSchema)]
pub struct Csat {
    /// Chats whose customer was asked to rate them.
    pub asked: u64,
    /// Chats rated (1–5).
    pub rated: u64,
    /// How many gave each score, 1 to 5.
    pub scores: [u64; 5],
    /// Mean score, two decimals.
    pub average: Option<f64>,
    /// Share of ratings of 4 or 5, in percent (the usual "CSAT score").
    pub satisfied_percent: Option<f64>,
    /// Rated / asked, in percent.
    pub response_rate_percent: Option<f64>,
}

fn percent(part: u64, whole: u64) -> Option<f64> {
    (whole > 0).then(|| ((part as f64) * 10_000.0 / whole as f64).round() / 100.0)
}

impl Csat {
    fn of<'a>(rows: impl Iterator<Item = &'a ReportConversation>) -> Self {
        let mut c = Csat::default();
        for r in rows {
            if r.feedback_requested_at.is_some() {
                c.asked += 1;
            }
            if let Some(score) = r.rating.filter(|s| (1..=5).contains(s)) {
                c.rated += 1;
                c.scores[(score - 1) as usize] += 1;
            }
        }
        let total: u64 = c.scores.iter().enumerate().map(|(i, n)| (i as u64 + 1) * n).sum();
        c.average = (c.rated > 0).then(|| ((total as f64) * 100.0 / c.rated as f64).round() / 100.0);
        c.satisfied_percent = percent(c.scores[3] + c.scores[4], c.rated);
        c.response_rate_percent = percent(c.rated, c.asked);
        c
    }
}

/// Response-time buckets of the distribution chart (upper bounds).
pub const RESPONSE_BUCKETS: [(&str, i64); 7] = [
    ("under 1 min", 60_000),
    ("1–5 min", 300_000),
    ("5–15 min", 900_000),
    ("15–30 min", 1_800_000),
    ("30–60 min", 3_600_000),
    ("1–4 h", 14_400_000),
    ("4 h or more", i64::MAX),
];

/// The headline figures of a set of conversations.
#[derive(Debug, Clone, Default, PartialEq, Serialize, JsonSchema)]
pub struct Figures {
    pub conversations: u64,
    pub open: u64,
    pub resolved: u64,
    pub abandoned: u64,
    pub expired: u64,
    /// First response (`first_reply_at − created_at`).
    pub first_response: Spread,
    pub first_response_business: Spread,
    /// The assignees' own response per leg (assigned → their first reply).
    pub assignment_response: Spread,
    pub assignment_response_business: Spread,
    /// `closed_at − created_at` of chats a person resolved or abandoned.
    pub resolution: Spread,
    pub resolution_business: Spread,
    /// Time with the bot before people took over.
    pub bot_time: Spread,
    /// Messages (customer + business) per conversation.
    pub messages: Spread,
    pub csat: Csat,
    /// Assignments (legs), and how many of them were transfers or reopens.
    pub legs: u64,
    pub transfers: u64,
    pub reopens: u64,
}

/// Business-hours time between two instants (calendar time when the
/// workspace has no schedule).
fn business(hours: Option<&BusinessHours>, from: Millis, to: Millis) -> i64 {
    match hours {
        Some(h) => h.open_ms_between(from, to),
        None => to.since(from),
    }
}

fn closed_by_person(status: ConversationStatus) -> bool {
    matches!(status, ConversationStatus::Resolved | ConversationStatus::Abandoned)
}

/// Fold `rows` (and the legs of those rows) into [`Figures`]; `hours` is
/// the workspace's schedule for the business-hours figures.
pub fn figures<'a>(
    rows: impl Iterator<Item = &'a ReportConversation> + Clone,
    legs: impl Iterator<Item = &'a Leg>,
    hours: Option<&BusinessHours>,
) -> Figures {
    let mut f = Figures::default();
    let (mut first, mut first_b, mut resolution, mut resolution_b, mut bot, mut messages) =
        (vec![], vec![], vec![], vec![], vec![], vec![]);
    for r in rows.clone() {
        f.conversations += 1;
        match r.status {
            ConversationStatus::Resolved => f.resolved += 1,
            ConversationStatus::Abandoned => f.abandoned += 1,
            ConversationStatus::Expired => f.expired += 1,
            s if !s.is_closed() => f.open += 1,
            _ => {}
        }
        if let Some(reply) = r.first_reply_at {
            first.push(reply.since(r.created_at));
            first_b.push(business(hours, r.created_at, reply));
        }
        if let (Some(closed), true) = (r.closed_at, closed_by_person(r.status)) {
            resolution.push(closed.since(r.created_at));
            resolution_b.push(business(hours, r.created_at, closed));
        }
        if let Some(handed) = r.handed_off_at {
            bot.push(handed.since(r.created_at));
        }
        messages.push(i64::from(r.messages_in) + i64::from(r.messages_out));
    }
    let (mut leg_response, mut leg_response_b) = (vec![], vec![]);
    for leg in legs {
        f.legs += 1;
        match leg.start {
            crate::model::LegStart::Transfer => f.transfers += 1,
            crate::model::LegStart::Reopen => f.reopens += 1,
            _ => {}
        }
        if let Some(reply) = leg.first_reply_at {
            leg_response.push(reply.since(leg.assigned_at));
            leg_response_b.push(business(hours, leg.assigned_at, reply));
        }
    }
    f.first_response = Spread::of(first);
    f.first_response_business = Spread::of(first_b);
    f.assignment_response = Spread::of(leg_response);
    f.assignment_response_business = Spread::of(leg_response_b);
    f.resolution = Spread::of(resolution);
    f.resolution_business = Spread::of(resolution_b);
    f.bot_time = Spread::of(bot);
    f.messages = Spread::of(messages);
    f.csat = Csat::of(rows);
    f
}

/// Conversations per local day, hour and weekday × hour.
/// Conversations created and closed on one local day.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, JsonSchema)]
pub struct DayCount {
    /// `YYYY-MM-DD`, in the workspace's time zone.
    pub date: String,
    pub created: u64,
    pub closed: u64,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, JsonSchema)]
pub struct Volume {
    /// Each local day of the range.
    pub days: Vec<DayCount>,
    /// Created per local hour of day (0–23).
    pub hours: [u64; 24],
    /// Created per weekday (Monday first) × local hour.
    pub heatmap: [[u64; 24]; 7],
    /// First responses per [`RESPONSE_BUCKETS`] bucket.
    pub response_buckets: [u64; 7],
}

/// Count `rows` into the local days `first..=last` of `hours`'s time zone.
pub fn volume(rows: &[ReportConversation], tz: &BusinessHours, first: NaiveDate, last: NaiveDate) -> Volume {
    let mut by_day: BTreeMap<NaiveDate, (u64, u64)> = first
        .iter_days()
        .take_while(|d| *d <= last)
        .map(|d| (d, (0, 0)))
        .collect();
    let mut v = Volume::default();
    for r in rows {
        if let Some(local) = tz.local_time(r.created_at) {
            if let Some(day) = by_day.get_mut(&local.date()) {
                day.0 += 1;
            }
            let hour = local.hour() as usize;
            v.hours[hour] += 1;
            v.heatmap[local.weekday().num_days_from_monday() as usize][hour] += 1;
        }
        if let Some(day) = r
            .closed_at
            .and_then(|c| tz.local_date(c))
            .and_then(|d| by_day.get_mut(&d))
        {
            day.1 += 1;
        }
        if let Some(reply) = r.first_reply_at {
            let took = reply.since(r.created_at);
            let bucket = RESPONSE_BUCKETS
                .iter()
                .position(|(_, below)| took < *below)
                .unwrap_or(6);
            v.response_buckets[bucket] += 1;
        }
    }
    v.days = by_day
        .into_iter()
        .map(|(d, (created, closed))| DayCount {
            date: d.to_string(),
            created,
            closed,
        })
        .collect();
    v
}

/// What to break the figures down by.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, serde::Deserialize, Default, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum GroupBy {
    #[default]
    Agent,
    Team,
    Channel,
    Tag,
}

impl GroupBy {
    pub const ALL: [GroupBy; 4] = [GroupBy::Agent, GroupBy::Team, GroupBy::Channel, GroupBy::Tag];

    pub fn as_str(self) -> &'static str {
        match self {
            GroupBy::Agent => "agent",
            GroupBy::Team => "team",
            GroupBy::Channel => "channel",
            GroupBy::Tag => "tag",
        }
    }

    /// The groups a conversation counts in ("" for none: no agent, no team).
    fn keys(self, r: &ReportConversation) -> Vec<String> {
        let opt = |v: Option<String>| vec![v.unwrap_or_default()];
        match self {
            GroupBy::Agent => opt(r.assignee.map(|a| a.to_string())),
            GroupBy::Team => opt(r.team.map(|t| t.to_string())),
            GroupBy::Channel => vec![r.channel.to_string()],
            GroupBy::Tag if r.tags.is_empty() => vec![String::new()],
            GroupBy::Tag => r.tags.clone(),
        }
    }
}

/// [`Figures`] per group, largest group first. By agent, a chat counts for
/// the person it is assigned to now (or last was); the legs count for
/// whoever held each leg, so a transferred chat's response time is its
/// assignees' own.
pub fn breakdown(
    rows: &[ReportConversation],
    legs: &[(ConversationId, Leg)],
    by: GroupBy,
    hours: Option<&BusinessHours>,
) -> Vec<(String, Figures)> {
    let mut groups: BTreeMap<String, Vec<&ReportConversation>> = BTreeMap::new();
    for r in rows {
        for key in by.keys(r) {
            groups.entry(key).or_default().push(r);
        }
    }
    let mut out: Vec<(String, Figures)> = groups
        .into_iter()
        .map(|(key, members)| {
            let ids: std::collections::HashSet<ConversationId> = members.iter().map(|r| r.id).collect();
            let own_legs = legs.iter().filter(|(c, l)| match by {
                GroupBy::Agent => l.agent.to_string() == key,
                _ => ids.contains(c),
            });
            let f = figures(members.iter().copied(), own_legs.map(|(_, l)| l), hours);
            (key, f)
        })
        .collect();
    out.sort_by(|a, b| b.1.conversations.cmp(&a.1.conversations).then(a.0.cmp(&b.0)));
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spread_uses_nearest_rank() {
        let s = Spread::of(vec![5, 1, 4, 2, 3, 10, 6, 7, 8, 9]);
        assert_eq!((s.count, s.median, s.p90, s.mean), (10, Some(5), Some(9), Some(5)));
        assert_eq!(Spread::of(vec![]).median, None);
        assert_eq!(Spread::of(vec![7]).p90, Some(7));
    }

    #[test]
    fn csat_counts_asked_and_rated() {
        let row = |rating: Option<i64>, asked: bool| ReportConversation {
            id: ConversationId::new(),
            status: ConversationStatus::Resolved,
            assignee: None,
            team: None,
            channel: ChannelId::new(),
            created_at: Millis(0),
            handed_off_at: None,
            first_reply_at: None,
            closed_at: Some(Millis(10)),
            rating,
            feedback_requested_at: asked.then_some(Millis(10)),
            messages_in: 1,
            messages_out: 1,
            tags: vec![],
        };
        let rows = [
            row(Some(5), true),
            row(Some(2), true),
            row(None, true),
            row(Some(4), true),
        ];
        let c = Csat::of(rows.iter());
        assert_eq!((c.asked, c.rated), (4, 3));
        assert_eq!(c.average, Some(3.67));
        assert_eq!(c.satisfied_percent, Some(66.67));
        assert_eq!(c.response_rate_percent, Some(75.0));
    }
}
