//! Analytics for a range of local days: volume, response and resolution
//! times, CSAT, and the same per agent, team, channel or tag.

use std::collections::HashMap;

use chrono::{Days, NaiveDate};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use switchboard_core::hours::BusinessHours;
use switchboard_core::permissions::Actor;
use switchboard_core::report::{self, Figures, GroupBy, Volume};
use switchboard_core::validate::Invalid;
use switchboard_core::{ChannelId, TeamId, UserId};

use crate::authz::require_reports;
use crate::{ConversationQuery, ServiceResult, Services};

/// The longest range one report covers.
const MAX_DAYS: u64 = 400;

/// Which conversations the analytics cover: created on the local days
/// `from_date` to `to_date` (without `from_date`, the `days` days up to
/// `to_date`, 30 by default; without `to_date`, up to today; at most the
/// last 400 days of a longer range), optionally of one agent, team,
/// channel or tag.
#[derive(Debug, Clone, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct AnalyticsQuery {
    #[schemars(extend("format" = "date"))]
    pub from_date: Option<String>,
    #[schemars(extend("format" = "date"))]
    pub to_date: Option<String>,
    /// With no `from_date`: how many days up to `to_date` (1 = that day only).
    #[schemars(range(min = 1, max = 400))]
    pub days: Option<u64>,
    /// `agent` (default), `team`, `channel` or `tag`.
    pub group_by: Option<GroupBy>,
    pub agent: Option<UserId>,
    pub team: Option<TeamId>,
    pub channel: Option<ChannelId>,
    pub tag: Option<String>,
}

/// One group of the breakdown.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct GroupFigures {
    /// The agent's, team's or channel's id, the tag's name ("" for none).
    pub key: String,
    pub label: String,
    pub figures: Figures,
}

#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct Analytics {
    /// The first local day covered.
    pub from_date: String,
    /// The last local day covered.
    pub to_date: String,
    pub time_zone: String,
    pub group_by: GroupBy,
    pub totals: Figures,
    pub volume: Volume,
    pub groups: Vec<GroupFigures>,
}

fn date(field: &'static str, raw: Option<&str>) -> ServiceResult<Option<NaiveDate>> {
    match raw.map(str::trim).filter(|d| !d.is_empty()) {
        None => Ok(None),
        Some(d) => NaiveDate::parse_from_str(d, "%Y-%m-%d")
            .map(Some)
            .map_err(|_| Invalid::new(field, "must be a date, YYYY-MM-DD").into()),
    }
}

impl Services {
    pub async fn analytics(&self, actor: &Actor, q: AnalyticsQuery) -> ServiceResult<Analytics> {
        require_reports(actor)?;
        let hours = self
            .store()
            .reader()
            .workspace_routing(actor.workspace_id)
            .await?
            .business_hours;
        let tz = hours.clone().unwrap_or_else(BusinessHours::always_open);
        let today = tz
            .local_date(self.now())
            .ok_or_else(|| Invalid::new("to_date", "is outside the calendar"))?;
        let to = date("to_date", q.to_date.as_deref())?.unwrap_or(today);
        let from = match date("from_date", q.from_date.as_deref())? {
            Some(d) => d,
            None => {
                let days = match q.days {
                    None => 30,
                    Some(n @ 1..=MAX_DAYS) => n,
                    Some(_) => return Err(Invalid::new("days", format!("from 1 to {MAX_DAYS}")).into()),
                };
                to.checked_sub_days(Days::new(days - 1)).unwrap_or(to)
            }
        };
        // A reversed range is read the right way round, and a longer one
        // keeps its last MAX_DAYS days; the answer says which days it covers.
        let (from, to) = if from > to { (to, from) } else { (from, to) };
        let from = from.max(to.checked_sub_days(Days::new(MAX_DAYS - 1)).unwrap_or(from));
        let query = ConversationQuery {
            from_date: Some(from.to_string()),
            to_date: Some(to.to_string()),
            assignee: q.agent.map(|a| a.to_string()),
            team: q.team,
            channel: q.channel,
            tag: q.tag.clone(),
            ..Default::default()
        };
        let filter = self.conversation_filter(actor, &query).await?;
        let mut reader = self.store().reader();
        let mut rows = reader.report_rows(actor.workspace_id, &filter).await?;
        let legs = reader.report_legs(actor.workspace_id, &filter).await?;
        let group_by = q.group_by.unwrap_or_default();
        if group_by == GroupBy::Tag {
            let ids: Vec<_> = rows.iter().map(|r| r.id).collect();
            let mut tags: HashMap<_, Vec<String>> = HashMap::new();
            for (c, tag) in reader.conversation_tag_pairs(&ids).await? {
                tags.entry(c).or_default().push(tag);
            }
            for r in &mut rows {
                r.tags = tags.remove(&r.id).unwrap_or_default();
            }
        }
        let names = self.names(actor).await?;
        let label = |key: &str| -> String {
            match group_by {
                _ if key.is_empty() => match group_by {
                    GroupBy::Agent => "Unassigned".into(),
                    GroupBy::Team => "No team".into(),
                    _ => "No tag".into(),
                },
                GroupBy::Agent => key.parse().map(|u| names.user(u)).unwrap_or_default(),
                GroupBy::Team => key.parse().map(|t| names.team(t)).unwrap_or_default(),
                GroupBy::Channel => key
                    .parse()
                    .ok()
                    .and_then(|c| names.channels.get(&c))
                    .map(|(_, n)| n.clone())
                    .unwrap_or_else(|| "a deleted channel".into()),
                GroupBy::Tag => key.to_owned(),
            }
        };
        let groups = report::breakdown(&rows, &legs, group_by, hours.as_ref())
            .into_iter()
            .map(|(key, figures)| GroupFigures {
                label: label(&key),
                key,
                figures,
            })
            .collect();
        Ok(Analytics {
            from_date: from.to_string(),
            to_date: to.to_string(),
            time_zone: tz.time_zone().to_owned(),
            group_by,
            totals: report::figures(rows.iter(), legs.iter().map(|(_, l)| l), hours.as_ref()),
            volume: report::volume(&rows, &tz, from, to),
            groups,
        })
    }
}

/// The columns of [`Analytics::to_csv`].
const FIGURE_COLUMNS: [&str; 24] = [
    "group",
    "conversations",
    "open",
    "resolved",
    "abandoned",
    "expired",
    "first_response_median_seconds",
    "first_response_p90_seconds",
    "first_response_business_median_seconds",
    "assignment_response_median_seconds",
    "assignment_response_p90_seconds",
    "assignment_response_business_median_seconds",
    "resolution_median_seconds",
    "resolution_p90_seconds",
    "resolution_business_median_seconds",
    "bot_time_median_seconds",
    "messages_median",
    "csat_average",
    "csat_satisfied_percent",
    "csat_response_rate_percent",
    "csat_rated",
    "assignments",
    "transfers",
    "reopens",
];

fn figure_cells(group: &str, f: &Figures) -> Vec<String> {
    let s = |v: Option<i64>| v.map(|ms| ms.div_euclid(1000).to_string()).unwrap_or_default();
    let n = |v: Option<i64>| v.map(|x| x.to_string()).unwrap_or_default();
    let x = |v: Option<f64>| v.map(|x| x.to_string()).unwrap_or_default();
    vec![
        group.to_owned(),
        f.conversations.to_string(),
        f.open.to_string(),
        f.resolved.to_string(),
        f.abandoned.to_string(),
        f.expired.to_string(),
        s(f.first_response.median),
        s(f.first_response.p90),
        s(f.first_response_business.median),
        s(f.assignment_response.median),
        s(f.assignment_response.p90),
        s(f.assignment_response_business.median),
        s(f.resolution.median),
        s(f.resolution.p90),
        s(f.resolution_business.median),
        s(f.bot_time.median),
        n(f.messages.median),
        x(f.csat.average),
        x(f.csat.satisfied_percent),
        x(f.csat.response_rate_percent),
        f.csat.rated.to_string(),
        f.legs.to_string(),
        f.transfers.to_string(),
        f.reopens.to_string(),
    ]
}

impl Analytics {
    /// The figures as CSV: one row for all conversations, then one per group
    /// (cells neutralised against spreadsheet formulas).
    pub fn to_csv(&self) -> Vec<u8> {
        let mut out = csv::Writer::from_writer(Vec::new());
        let rows = std::iter::once(figure_cells("All", &self.totals))
            .chain(self.groups.iter().map(|g| figure_cells(&g.label, &g.figures)));
        // Writing to memory cannot fail.
        let _ = out.write_record(FIGURE_COLUMNS);
        for row in rows {
            let _ = out.write_record(
                row.iter()
                    .map(|c| switchboard_core::campaign::safe_cell(c).into_owned()),
            );
        }
        out.into_inner().unwrap_or_default()
    }
}
