//! Business hours: a time zone, a weekly schedule and dated exceptions, and the
//! three questions the rest of the system asks of them — open at this instant?
//! when does it open next? when does it close next?
//!
//! Time zones come from `chrono` + `chrono-tz` rather than `jiff`: `chrono-tz`
//! compiles the IANA database into the binary, so this crate never reads
//! `/usr/share/zoneinfo` (it does no I/O) and answers the same on every host,
//! and its `Tz` is a small `Copy + Eq` value that keeps `BusinessHours`
//! comparable. We only need "which local date is this instant" and "which
//! instant is this local time", which chrono covers; `jiff` would have needed
//! non-default features to avoid reading the system database.
//!
//! JSON shape (what admins send and what the API returns):
//!
//! ```json
//! {"time_zone": "Europe/Berlin",
//!  "weekly": {"mon": [{"from": "09:00", "to": "17:00"}], "tue": [], "sun": []},
//!  "exceptions": [{"date": "2026-12-25", "name": "Christmas", "hours": []},
//!                 {"date": "2026-12-24", "hours": [{"from": "09:00", "to": "12:00"}]}]}
//! ```
//!
//! A missing day is closed; an exception's `hours` replace the weekly hours for
//! that local date (`[]` or missing = closed all day).

use std::borrow::Cow;

use chrono::{DateTime, Datelike, Days, MappedLocalTime, NaiveDate, Offset, TimeZone};
use chrono_tz::Tz;
use schemars::{JsonSchema, Schema, SchemaGenerator};
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::{Map, Value};

use crate::time::Millis;
use crate::validate::Invalid;

/// The `field` of every validation error from this module; the reason carries the path.
const FIELD: &str = "business_hours";
pub const MAX_SPANS_PER_DAY: usize = 10;
pub const MAX_EXCEPTIONS: usize = 400;
/// How far `next_open` / `next_close` look ahead, in local days.
pub const HORIZON_DAYS: u64 = 400;
const MAX_NAME_CHARS: usize = 200;
const DAY_KEYS: [&str; 7] = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"];
/// `24:00`, the end of the local day, in minutes.
const END_OF_DAY: u16 = 24 * 60;

/// Local wall-clock `[from, to)` in minutes since local midnight; `to` may be `24:00`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Span {
    from: u16,
    to: u16,
}

#[derive(Debug, Clone, PartialEq, Eq)]
struct Exception {
    date: NaiveDate,
    name: Option<String>,
    hours: Vec<Span>,
}

/// Validated business hours. Build with [`BusinessHours::parse`] (or serde,
/// which runs the same validation); see the module docs for the JSON shape.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BusinessHours {
    time_zone: Tz,
    /// Indexed by days from Monday; spans sorted and non-overlapping.
    weekly: [Vec<Span>; 7],
    /// Sorted by date, dates unique, so lookups can binary-search.
    exceptions: Vec<Exception>,
}

impl BusinessHours {
    /// Parses and validates admin input. Errors use field `business_hours` and a
    /// reason that starts with the path of the offending value.
    pub fn parse(value: &Value) -> Result<Self, Invalid> {
        let root = object(value, "")?;
        known_fields(root, "", &["time_zone", "weekly", "exceptions"])?;
        let time_zone = parse_time_zone(present(root.get("time_zone")))?;
        let mut weekly: [Vec<Span>; 7] = Default::default();
        if let Some(w) = present(root.get("weekly")) {
            let w = object(w, "weekly")?;
            known_fields(w, "weekly", &DAY_KEYS)?;
            for (slot, key) in weekly.iter_mut().zip(DAY_KEYS) {
                if let Some(day) = present(w.get(key)) {
                    *slot = parse_day(day, &format!("weekly.{key}"))?;
                }
            }
        }
        let exceptions = match present(root.get("exceptions")) {
            Some(v) => parse_exceptions(v)?,
            None => Vec::new(),
        };
        Ok(Self {
            time_zone,
            weekly,
            exceptions,
        })
    }

    /// [`BusinessHours::parse`] for JSON text.
    pub fn parse_str(raw: &str) -> Result<Self, Invalid> {
        let value: Value =
            serde_json::from_str(raw).map_err(|e| Invalid::new(FIELD, format!("not valid JSON: {e}")))?;
        Self::parse(&value)
    }

    /// Open 24/7 in UTC: what "no schedule configured" means.
    pub fn always_open() -> Self {
        let all_day = vec![Span {
            from: 0,
            to: END_OF_DAY,
        }];
        Self {
            time_zone: Tz::UTC,
            weekly: std::array::from_fn(|_| all_day.clone()),
            exceptions: Vec::new(),
        }
    }

    /// The IANA name of the schedule's time zone.
    pub fn time_zone(&self) -> &'static str {
        self.time_zone.name()
    }

    pub fn is_open(&self, at: Millis) -> bool {
        let Some(first) = self.window_start(at) else {
            return false;
        };
        // Only the local dates around `at` can have a span containing it.
        self.intervals(first, 3).any(|(a, b)| a <= at.0 && at.0 < b)
    }

    /// The first instant >= `at` when it is open (`at` itself when open now);
    /// `None` if it never opens within the next [`HORIZON_DAYS`] local days.
    pub fn next_open(&self, at: Millis) -> Option<Millis> {
        let first = self.window_start(at)?;
        self.intervals(first, HORIZON_DAYS + 3)
            .find(|&(_, b)| b > at.0)
            .map(|(a, _)| Millis(a.max(at.0)))
    }

    /// The first instant >= `at` when it is closed (`at` itself when closed now);
    /// `None` if it stays open for the next [`HORIZON_DAYS`] local days (e.g. 24/7).
    pub fn next_close(&self, at: Millis) -> Option<Millis> {
        let first = self.window_start(at)?;
        let days = HORIZON_DAYS + 3;
        let mut cursor = at.0;
        // Intervals come in time order and never overlap, so walking them while
        // they touch or cover the cursor finds the first uncovered instant.
        for (a, b) in self.intervals(first, days) {
            if a > cursor {
                return Some(Millis(cursor));
            }
            cursor = cursor.max(b);
        }
        let horizon_end = self.instant(first.checked_add_days(Days::new(days))?, 0)?;
        (cursor < horizon_end).then_some(Millis(cursor))
    }

    /// The first instant of the local day (in the schedule's time zone)
    /// that contains `at`: where "today" starts for the workspace.
    pub fn start_of_local_day(&self, at: Millis) -> Millis {
        DateTime::from_timestamp_millis(at.0)
            .map(|t| t.with_timezone(&self.time_zone).date_naive())
            .and_then(|date| self.instant(date, 0))
            .map_or(Millis(at.0 - at.0.rem_euclid(86_400_000)), Millis)
    }

    /// The first instant of local `date`.
    pub fn local_day_start(&self, date: NaiveDate) -> Option<Millis> {
        self.instant(date, 0).map(Millis)
    }

    /// The local date and time of `at`.
    pub fn local_time(&self, at: Millis) -> Option<chrono::NaiveDateTime> {
        Some(
            DateTime::from_timestamp_millis(at.0)?
                .with_timezone(&self.time_zone)
                .naive_local(),
        )
    }

    /// How much of `[from, to)` falls within opening hours: the business-
    /// hours length of a wait. Spans longer than [`HORIZON_DAYS`] count
    /// their first [`HORIZON_DAYS`] days.
    pub fn open_ms_between(&self, from: Millis, to: Millis) -> i64 {
        let Some(first) = self.window_start(from) else {
            return 0;
        };
        let days = (to.since(from).max(0) as u64 / 86_400_000 + 3).min(HORIZON_DAYS + 3);
        self.intervals(first, days)
            .take_while(|&(a, _)| a < to.0)
            .map(|(a, b)| (b.min(to.0) - a.max(from.0)).max(0))
            .sum()
    }

    /// The local date of `at`.
    pub fn local_date(&self, at: Millis) -> Option<NaiveDate> {
        Some(
            DateTime::from_timestamp_millis(at.0)?
                .with_timezone(&self.time_zone)
                .date_naive(),
        )
    }

    /// From the start of local `first` to the start of the day after local
    /// `last`: whole days of the workspace, not of UTC.
    pub fn local_days(&self, first: NaiveDate, last: NaiveDate) -> Option<(Millis, Millis)> {
        Some((self.local_day_start(first)?, self.local_day_start(last.succ_opt()?)?))
    }

    /// The local date before `at`'s, where the scan for spans starts.
    fn window_start(&self, at: Millis) -> Option<NaiveDate> {
        let date = DateTime::from_timestamp_millis(at.0)?
            .with_timezone(&self.time_zone)
            .date_naive();
        Some(date.pred_opt().unwrap_or(date))
    }

    fn spans_on(&self, date: NaiveDate) -> &[Span] {
        match self.exceptions.binary_search_by_key(&date, |e| e.date) {
            Ok(i) => &self.exceptions[i].hours,
            Err(_) => &self.weekly[date.weekday().num_days_from_monday() as usize],
        }
    }

    /// Open intervals `[start, end)` in epoch milliseconds for `days` local dates
    /// from `first`. Local time maps to instants monotonically (see `instant`),
    /// so these come sorted and non-overlapping across dates too; spans swallowed
    /// by a DST gap come out empty and are dropped.
    fn intervals(&self, first: NaiveDate, days: u64) -> impl Iterator<Item = (i64, i64)> + '_ {
        first.iter_days().take(days as usize).flat_map(move |date| {
            self.spans_on(date).iter().filter_map(move |s| {
                let a = self.instant(date, s.from)?;
                let b = self.instant(date, s.to)?;
                (a < b).then_some((a, b))
            })
        })
    }

    /// The instant (epoch ms) of local `minute` on local `date`. A time in a
    /// spring-forward gap maps to the first instant after the gap; a time that
    /// occurs twice (fall-back) maps to the earlier one. `24:00` is the next
    /// date's `00:00`, which makes a span ending at `24:00` contiguous with one
    /// starting at `00:00` the next day.
    fn instant(&self, date: NaiveDate, minute: u16) -> Option<i64> {
        let (date, minute) = if minute >= END_OF_DAY {
            (date.succ_opt()?, 0)
        } else {
            (date, minute)
        };
        let local = date.and_hms_opt(u32::from(minute / 60), u32::from(minute % 60), 0)?;
        match self.time_zone.from_local_datetime(&local) {
            MappedLocalTime::Single(t) => Some(t.timestamp_millis()),
            MappedLocalTime::Ambiguous(a, b) => Some(a.timestamp_millis().min(b.timestamp_millis())),
            MappedLocalTime::None => self.end_of_gap(local.and_utc().timestamp())?.checked_mul(1000),
        }
    }

    /// The transition instant (epoch seconds) that skips over the local time
    /// `wall` (given as if it were UTC seconds). chrono-tz has no public
    /// transition list, so bisect: offsets stay within ±24 h, so the wall clock
    /// is before `wall` 27 h earlier and after it 27 h later, and the first
    /// second whose wall clock is past `wall` is the end of the gap.
    fn end_of_gap(&self, wall: i64) -> Option<i64> {
        const REACH: i64 = 27 * 3600;
        let wall_at = |t: i64| -> Option<i64> {
            let utc = DateTime::from_timestamp(t, 0)?.naive_utc();
            let offset = self.time_zone.offset_from_utc_datetime(&utc).fix().local_minus_utc();
            t.checked_add(i64::from(offset))
        };
        let (mut lo, mut hi) = (wall.checked_sub(REACH)?, wall.checked_add(REACH)?);
        while hi - lo > 1 {
            let mid = lo + (hi - lo) / 2;
            if wall_at(mid)? < wall {
                lo = mid;
            } else {
                hi = mid;
            }
        }
        Some(hi)
    }

    fn shape(&self) -> Shape {
        let day = |i: usize| self.weekly[i].iter().map(Span::shape).collect();
        Shape {
            time_zone: self.time_zone.name().to_owned(),
            weekly: WeeklyShape {
                mon: day(0),
                tue: day(1),
                wed: day(2),
                thu: day(3),
                fri: day(4),
                sat: day(5),
                sun: day(6),
            },
            exceptions: self
                .exceptions
                .iter()
                .map(|e| ExceptionShape {
                    date: e.date.format("%Y-%m-%d").to_string(),
                    name: e.name.clone(),
                    hours: e.hours.iter().map(Span::shape).collect(),
                })
                .collect(),
        }
    }
}

impl Span {
    fn shape(&self) -> SpanShape {
        SpanShape {
            from: clock(self.from),
            to: clock(self.to),
        }
    }
}

// ---- serde / schema ------------------------------------------------------
//
// Serialization goes through plain "shape" structs, which also describe the
// schema; deserialization goes through `parse` so there is one set of rules
// and errors carry paths.

/// Every IANA time zone name this build knows.
fn time_zone_schema(_: &mut SchemaGenerator) -> Schema {
    let names: Vec<&str> = chrono_tz::TZ_VARIANTS.iter().map(|tz| tz.name()).collect();
    schemars::json_schema!({"type": "string", "enum": names})
}

/// Business hours: an IANA time zone, a weekly schedule and dated exceptions.
#[derive(Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
struct Shape {
    /// IANA time zone name, e.g. `Europe/Berlin`.
    #[schemars(schema_with = "time_zone_schema")]
    time_zone: String,
    /// Opening hours per weekday; a missing day is closed.
    #[serde(default)]
    weekly: WeeklyShape,
    /// Dates whose hours replace the weekly ones (holidays, special hours).
    #[serde(default)]
    #[schemars(length(max = 400))]
    exceptions: Vec<ExceptionShape>,
}

#[derive(Default, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(rename = "BusinessHoursWeekly")]
struct WeeklyShape {
    #[serde(default)]
    #[schemars(length(max = 10))]
    mon: Vec<SpanShape>,
    #[serde(default)]
    #[schemars(length(max = 10))]
    tue: Vec<SpanShape>,
    #[serde(default)]
    #[schemars(length(max = 10))]
    wed: Vec<SpanShape>,
    #[serde(default)]
    #[schemars(length(max = 10))]
    thu: Vec<SpanShape>,
    #[serde(default)]
    #[schemars(length(max = 10))]
    fri: Vec<SpanShape>,
    #[serde(default)]
    #[schemars(length(max = 10))]
    sat: Vec<SpanShape>,
    #[serde(default)]
    #[schemars(length(max = 10))]
    sun: Vec<SpanShape>,
}

/// Local wall-clock hours `[from, to)`; spans of a day are sorted and do not overlap.
#[derive(Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(rename = "BusinessHoursSpan")]
struct SpanShape {
    /// `HH:MM`, before `to`.
    #[schemars(pattern(r"^([01][0-9]|2[0-3]):[0-5][0-9]$"))]
    from: String,
    /// `HH:MM`; `24:00` is the end of the day.
    #[schemars(pattern(r"^(([01][0-9]|2[0-3]):[0-5][0-9]|24:00)$"))]
    to: String,
}

#[derive(Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(rename = "BusinessHoursException")]
struct ExceptionShape {
    /// Local date, `YYYY-MM-DD`; each date at most once.
    #[schemars(extend("format" = "date"))]
    date: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(max = 200))]
    name: Option<String>,
    /// Hours that day; `[]` means closed all day.
    #[serde(default)]
    #[schemars(length(max = 10))]
    hours: Vec<SpanShape>,
}

impl Serialize for BusinessHours {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        self.shape().serialize(serializer)
    }
}

impl<'de> Deserialize<'de> for BusinessHours {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let value = Value::deserialize(deserializer)?;
        Self::parse(&value).map_err(serde::de::Error::custom)
    }
}

impl JsonSchema for BusinessHours {
    fn schema_name() -> Cow<'static, str> {
        "BusinessHours".into()
    }

    fn json_schema(generator: &mut SchemaGenerator) -> Schema {
        Shape::json_schema(generator)
    }
}

// ---- parsing helpers -----------------------------------------------------

fn err(path: &str, reason: impl std::fmt::Display) -> Invalid {
    if path.is_empty() {
        Invalid::new(FIELD, reason.to_string())
    } else {
        Invalid::new(FIELD, format!("{path}: {reason}"))
    }
}

/// User text quoted for an error message, cut short so errors stay small.
fn quote(s: &str) -> String {
    const MAX: usize = 40;
    if s.chars().count() > MAX {
        format!("{:?}…", s.chars().take(MAX).collect::<String>())
    } else {
        format!("{s:?}")
    }
}

/// `null` counts as absent, so clients may send either.
fn present(v: Option<&Value>) -> Option<&Value> {
    v.filter(|v| !v.is_null())
}

fn object<'a>(v: &'a Value, path: &str) -> Result<&'a Map<String, Value>, Invalid> {
    v.as_object().ok_or_else(|| err(path, "expected an object"))
}

fn array<'a>(v: &'a Value, path: &str) -> Result<&'a Vec<Value>, Invalid> {
    v.as_array().ok_or_else(|| err(path, "expected an array"))
}

fn known_fields(map: &Map<String, Value>, path: &str, allowed: &[&str]) -> Result<(), Invalid> {
    match map.keys().find(|k| !allowed.contains(&k.as_str())) {
        Some(k) => Err(err(
            path,
            format!("unknown field {} (expected one of: {})", quote(k), allowed.join(", ")),
        )),
        None => Ok(()),
    }
}

fn parse_time_zone(v: Option<&Value>) -> Result<Tz, Invalid> {
    let v = v.ok_or_else(|| err("time_zone", "required (an IANA name like \"Europe/Berlin\")"))?;
    let name = v.as_str().ok_or_else(|| err("time_zone", "expected a string"))?;
    name.trim()
        .parse::<Tz>()
        .map_err(|_| err("time_zone", format!("unknown time zone {}", quote(name))))
}

/// `HH:MM` to minutes since midnight, `00:00` ..= `24:00`.
fn parse_clock(s: &str) -> Option<u16> {
    let b = s.as_bytes();
    if b.len() != 5 || b[2] != b':' || ![b[0], b[1], b[3], b[4]].iter().all(u8::is_ascii_digit) {
        return None;
    }
    let digit = |i: usize| u16::from(b[i] - b'0');
    let (h, m) = (digit(0) * 10 + digit(1), digit(3) * 10 + digit(4));
    (h < 24 && m < 60 || h == 24 && m == 0).then_some(h * 60 + m)
}

fn clock(minutes: u16) -> String {
    format!("{:02}:{:02}", minutes / 60, minutes % 60)
}

fn parse_time_field(span: &Map<String, Value>, path: &str, key: &str) -> Result<u16, Invalid> {
    let v = present(span.get(key)).ok_or_else(|| err(path, format!("missing \"{key}\"")))?;
    let path = format!("{path}.{key}");
    let s = v.as_str().ok_or_else(|| err(&path, "expected a string \"HH:MM\""))?;
    parse_clock(s).ok_or_else(|| err(&path, format!("not a time (HH:MM): {}", quote(s))))
}

fn parse_day(v: &Value, path: &str) -> Result<Vec<Span>, Invalid> {
    let items = array(v, path)?;
    if items.len() > MAX_SPANS_PER_DAY {
        return Err(err(
            path,
            format!("at most {MAX_SPANS_PER_DAY} spans per day (got {})", items.len()),
        ));
    }
    let mut spans: Vec<Span> = Vec::with_capacity(items.len());
    for (i, item) in items.iter().enumerate() {
        let path = format!("{path}[{i}]");
        let map = object(item, &path)?;
        known_fields(map, &path, &["from", "to"])?;
        let from = parse_time_field(map, &path, "from")?;
        let to = parse_time_field(map, &path, "to")?;
        if from == END_OF_DAY {
            return Err(err(&format!("{path}.from"), "24:00 is only allowed as `to`"));
        }
        // An empty span (from = to) opens nothing: left out.
        if from == to {
            continue;
        }
        if from > to {
            let hint = if to == 0 { " (use 24:00 for midnight)" } else { "" };
            return Err(err(
                &path,
                format!("from {} is not before to {}{hint}", clock(from), clock(to)),
            ));
        }
        if let Some(prev) = spans.last() {
            if from < prev.from {
                return Err(err(
                    &path,
                    format!(
                        "spans must be in order: from {} is before the previous span ({}–{})",
                        clock(from),
                        clock(prev.from),
                        clock(prev.to)
                    ),
                ));
            }
            if from < prev.to {
                return Err(err(
                    &path,
                    format!(
                        "from {} overlaps the previous span (ends {})",
                        clock(from),
                        clock(prev.to)
                    ),
                ));
            }
        }
        spans.push(Span { from, to });
    }
    Ok(spans)
}

/// Strictly `YYYY-MM-DD`; chrono's `%Y-%m-%d` would also take `2026-1-5` and signs.
fn parse_date(s: &str) -> Option<NaiveDate> {
    let b = s.as_bytes();
    let digits = |r: std::ops::Range<usize>| -> Option<u32> {
        b.get(r)?
            .iter()
            .try_fold(0u32, |n, c| c.is_ascii_digit().then(|| n * 10 + u32::from(c - b'0')))
    };
    if b.len() != 10 || b[4] != b'-' || b[7] != b'-' {
        return None;
    }
    let year = i32::try_from(digits(0..4)?).ok()?;
    NaiveDate::from_ymd_opt(year, digits(5..7)?, digits(8..10)?)
}

fn parse_name(v: Option<&Value>, path: &str) -> Result<Option<String>, Invalid> {
    let Some(v) = v else { return Ok(None) };
    let path = format!("{path}.name");
    let name = v.as_str().ok_or_else(|| err(&path, "expected a string"))?.trim();
    if name.chars().count() > MAX_NAME_CHARS {
        return Err(err(&path, format!("must be at most {MAX_NAME_CHARS} characters")));
    }
    if name.chars().any(char::is_control) {
        return Err(err(&path, "must be a single line without control characters"));
    }
    Ok((!name.is_empty()).then(|| name.to_owned()))
}

fn parse_exceptions(v: &Value) -> Result<Vec<Exception>, Invalid> {
    let items = array(v, "exceptions")?;
    if items.len() > MAX_EXCEPTIONS {
        return Err(err(
            "exceptions",
            format!("at most {MAX_EXCEPTIONS} exceptions (got {})", items.len()),
        ));
    }
    let mut out = Vec::with_capacity(items.len());
    for (i, item) in items.iter().enumerate() {
        let path = format!("exceptions[{i}]");
        let map = object(item, &path)?;
        known_fields(map, &path, &["date", "name", "hours"])?;
        let date = present(map.get("date")).ok_or_else(|| err(&path, "missing \"date\""))?;
        let date_path = format!("{path}.date");
        let date = date
            .as_str()
            .ok_or_else(|| err(&date_path, "expected a string \"YYYY-MM-DD\""))?;
        let date =
            parse_date(date).ok_or_else(|| err(&date_path, format!("not a date (YYYY-MM-DD): {}", quote(date))))?;
        let name = parse_name(present(map.get("name")), &path)?;
        let hours = match present(map.get("hours")) {
            Some(h) => parse_day(h, &format!("{path}.hours"))?,
            None => Vec::new(),
        };
        out.push(Exception { date, name, hours });
    }
    // Sorted order is the canonical form: lookups binary-search and the API
    // returns exceptions by date. A date given twice keeps its last entry
    // (the sort is stable, so that is the later one).
    out.sort_by_key(|e| e.date);
    let mut unique: Vec<Exception> = Vec::with_capacity(out.len());
    for e in out {
        match unique.last_mut() {
            Some(last) if last.date == e.date => *last = e,
            _ => unique.push(e),
        }
    }
    Ok(unique)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use serde_json::json;

    const DAY_MS: i64 = 86_400_000;

    fn berlin_office() -> BusinessHours {
        let day = json!([{"from": "09:00", "to": "17:00"}]);
        BusinessHours::parse(&json!({
            "time_zone": "Europe/Berlin",
            "weekly": {"mon": day, "tue": day, "wed": day, "thu": day, "fri": day, "sat": [], "sun": []},
            "exceptions": [
                {"date": "2026-12-25", "name": "Christmas", "hours": []},
                {"date": "2026-12-24", "hours": [{"from": "09:00", "to": "12:00"}]},
            ],
        }))
        .unwrap()
    }

    fn sundays(tz: &str, spans: Value) -> BusinessHours {
        BusinessHours::parse(&json!({"time_zone": tz, "weekly": {"sun": spans}})).unwrap()
    }

    fn s(secs: i64) -> Millis {
        Millis::from_secs(secs)
    }

    fn reason(v: Value) -> String {
        let e = BusinessHours::parse(&v).unwrap_err();
        assert_eq!(e.field, "business_hours");
        e.reason
    }

    #[test]
    fn open_time_between_two_instants_counts_only_opening_hours() {
        let h = berlin_office();
        // Tue 2026-06-09 22:00 CEST to Wed 10:00: only Wednesday's first hour is open.
        let tue_22 = s(1_781_035_200);
        let wed_09 = s(1_781_074_800);
        assert_eq!(h.open_ms_between(tue_22, wed_09.plus_ms(3_600_000)), 3_600_000);
        // Wed 09:00 to Thu 10:00: all of Wednesday's eight hours and one of Thursday's.
        assert_eq!(
            h.open_ms_between(wed_09, wed_09.plus_ms(DAY_MS + 3_600_000)),
            9 * 3_600_000
        );
        // Nothing open in a closed stretch; nothing for an empty or reversed one.
        assert_eq!(h.open_ms_between(tue_22, wed_09), 0);
        assert_eq!(h.open_ms_between(wed_09, tue_22), 0);
    }

    #[test]
    fn weekday_schedule() {
        let h = berlin_office();
        // Tue 2026-06-09 22:00 CEST -> Wed 2026-06-10 09:00 CEST.
        let tue_22 = s(1_781_035_200);
        let wed_09 = s(1_781_074_800);
        assert!(!h.is_open(tue_22));
        assert_eq!(h.next_open(tue_22), Some(wed_09));
        assert_eq!(h.next_close(tue_22), Some(tue_22));
        assert!(h.is_open(wed_09) && !h.is_open(wed_09.plus_ms(-1)));
        assert_eq!(h.next_open(wed_09), Some(wed_09));
        let wed_17 = wed_09.plus_ms(8 * 3_600_000);
        assert_eq!(h.next_close(wed_09.plus_ms(3_600_000)), Some(wed_17));
        assert!(!h.is_open(wed_17) && h.is_open(wed_17.plus_ms(-1)));
        // Fri 2026-06-12 18:00 -> Mon 2026-06-15 09:00.
        assert_eq!(h.next_open(s(1_781_280_000)), Some(s(1_781_506_800)));
    }

    #[test]
    fn holiday_and_special_hours() {
        let h = berlin_office();
        // Thu 2026-12-24 has 09:00–12:00 only; Fri 2026-12-25 is closed.
        let dec24_09 = s(1_798_099_200);
        let dec24_12 = s(1_798_110_000);
        assert!(h.is_open(dec24_09.plus_ms(3_600_000)));
        assert_eq!(h.next_close(dec24_09), Some(dec24_12));
        assert!(!h.is_open(dec24_12.plus_ms(1_800_000)));
        let dec25_12 = s(1_798_196_400);
        assert!(!h.is_open(dec25_12));
        // Mon 2026-12-28 09:00 CET.
        assert_eq!(h.next_open(dec24_12), Some(s(1_798_444_800)));
        assert_eq!(h.next_open(dec25_12), Some(s(1_798_444_800)));
    }

    #[test]
    fn spring_forward_berlin() {
        // 2026-03-29: 02:00 CET jumps to 03:00 CEST at 01:00 UTC.
        let gap = s(1_774_746_000);
        let hour = 3_600_000;
        let midnight_utc = gap.plus_ms(-hour);

        // A span entirely inside the gap never opens that day.
        let h = sundays("Europe/Berlin", json!([{"from": "02:00", "to": "03:00"}]));
        assert!(!h.is_open(gap) && !h.is_open(gap.plus_ms(-1)));
        // Next Sunday (2026-04-05) 02:00 CEST = 00:00 UTC.
        assert_eq!(h.next_open(midnight_utc), Some(s(1_775_347_200)));

        // A span starting in the gap opens at the first instant after it.
        let h = sundays("Europe/Berlin", json!([{"from": "02:30", "to": "04:00"}]));
        assert_eq!(h.next_open(midnight_utc), Some(gap));
        assert_eq!(h.next_close(gap), Some(gap.plus_ms(hour)));

        // A span ending in the gap closes at the gap, and touching spans stay contiguous across it.
        let h = sundays("Europe/Berlin", json!([{"from": "01:00", "to": "02:30"}]));
        assert_eq!(h.next_close(midnight_utc), Some(gap));
        let h = sundays(
            "Europe/Berlin",
            json!([{"from": "01:00", "to": "02:30"}, {"from": "02:30", "to": "04:00"}]),
        );
        assert_eq!(h.next_open(midnight_utc.plus_ms(-1)), Some(midnight_utc));
        assert_eq!(h.next_close(midnight_utc), Some(gap.plus_ms(hour)));
    }

    #[test]
    fn fall_back_berlin() {
        // 2026-10-25: 03:00 CEST falls back to 02:00 CET at 01:00 UTC; 02:xx happens twice.
        let first_two = s(1_792_886_400); // 02:00 CEST = 00:00 UTC
        let three = s(1_792_893_600); // 03:00 CET = 02:00 UTC
        let h = sundays("Europe/Berlin", json!([{"from": "02:00", "to": "03:00"}]));
        assert_eq!(h.next_open(first_two.plus_ms(-3_600_000)), Some(first_two));
        assert!(h.is_open(first_two.plus_ms(1_800_000))); // 02:30 CEST
        assert!(h.is_open(first_two.plus_ms(5_400_000))); // 02:30 CET
        assert_eq!(h.next_close(first_two), Some(three));

        // Ambiguous times take the earlier instant, so the repeated half hour does not reopen.
        let h = sundays("Europe/Berlin", json!([{"from": "02:30", "to": "02:45"}]));
        assert!(h.is_open(first_two.plus_ms(1_800_000)));
        assert!(!h.is_open(first_two.plus_ms(5_400_000)));
        assert_eq!(
            h.next_close(first_two.plus_ms(1_800_000)),
            Some(first_two.plus_ms(2_700_000))
        );
    }

    #[test]
    fn always_open_and_contiguity() {
        let h = BusinessHours::always_open();
        for t in [0, 1_781_035_200_000, 4_102_444_800_000] {
            assert!(h.is_open(Millis(t)));
            assert_eq!(h.next_open(Millis(t)), Some(Millis(t)));
            assert_eq!(h.next_close(Millis(t)), None);
        }
        assert_eq!(h.time_zone(), "UTC");
        assert_eq!(BusinessHours::parse(&serde_json::to_value(&h).unwrap()).unwrap(), h);

        // 24/7 by local days stays contiguous across both DST changes.
        let all = json!([{"from": "00:00", "to": "24:00"}]);
        let h = BusinessHours::parse(&json!({"time_zone": "Europe/Berlin", "weekly": {
            "mon": all, "tue": all, "wed": all, "thu": all, "fri": all, "sat": all, "sun": all}}))
        .unwrap();
        assert_eq!(h.next_close(s(1_774_746_000 - 86_400 * 3)), None);

        // Mon 00:00–24:00 + Tue 00:00–12:00 closes Tuesday noon, not at midnight (UTC).
        let h = BusinessHours::parse(&json!({"time_zone": "UTC", "weekly": {
            "mon": all, "tue": [{"from": "00:00", "to": "12:00"}]}}))
        .unwrap();
        let mon_10 = s(1_781_517_600); // 2026-06-15 10:00 UTC
        assert_eq!(h.next_close(mon_10), Some(s(1_781_517_600 + 26 * 3600)));
    }

    #[test]
    fn never_open_and_extremes_do_not_panic() {
        let h = BusinessHours::parse(&json!({"time_zone": "Asia/Kathmandu"})).unwrap();
        assert_eq!(h.next_open(s(1_781_035_200)), None);
        assert_eq!(h.next_close(s(1_781_035_200)), Some(s(1_781_035_200)));
        for h in [BusinessHours::always_open(), berlin_office()] {
            for t in [i64::MIN, -1, i64::MAX, -8_000_000_000_000_000, 8_000_000_000_000_000] {
                let _ = (h.is_open(Millis(t)), h.next_open(Millis(t)), h.next_close(Millis(t)));
            }
        }
    }

    #[test]
    fn a_date_given_twice_keeps_its_last_entry_and_empty_spans_are_left_out() {
        let h = BusinessHours::parse(&json!({"time_zone": "UTC",
            "weekly": {"mon": [{"from": "09:00", "to": "09:00"}, {"from": "10:00", "to": "12:00"}]},
            "exceptions": [{"date": "2026-12-25"}, {"date": "2026-01-01"},
                           {"date": "2026-12-25", "hours": [{"from": "10:00", "to": "11:00"}]}]}))
        .unwrap();
        assert_eq!(h.exceptions.len(), 2);
        assert_eq!(h.exceptions[1].hours.len(), 1, "the later entry for the 25th");
        assert_eq!(h.weekly[0].len(), 1, "the empty span is gone");
    }

    #[test]
    fn validation_errors_name_the_path() {
        let cases = [
            (
                json!({"time_zone": "UTC", "weekly": {"mon": [{"from": "09:00", "to": "14:00"}, {"from": "13:00", "to": "15:00"}]}}),
                "weekly.mon[1]: from 13:00 overlaps the previous span (ends 14:00)",
            ),
            (
                json!({"time_zone": "UTC", "weekly": {"tue": [{"from": "17:00", "to": "09:00"}]}}),
                "weekly.tue[0]: from 17:00 is not before to 09:00",
            ),
            (
                json!({"time_zone": "UTC", "weekly": {"wed": [{"from": "9:00", "to": "17:00"}]}}),
                "weekly.wed[0].from: not a time (HH:MM)",
            ),
            (
                json!({"time_zone": "UTC", "weekly": {"wed": [{"from": "09:00", "to": "24:30"}]}}),
                "weekly.wed[0].to: not a time (HH:MM)",
            ),
            (
                json!({"time_zone": "UTC", "weekly": {"thu": [{"from": "24:00", "to": "24:00"}]}}),
                "weekly.thu[0].from: 24:00 is only allowed as `to`",
            ),
            (
                json!({"time_zone": "Mars/Base"}),
                "time_zone: unknown time zone \"Mars/Base\"",
            ),
            (json!({"weekly": {}}), "time_zone: required"),
            (
                json!({"time_zone": "UTC", "exceptions": [{"date": "2026-12-25"}, {"date": "2026-01-01"}, {"date": "2026-02-30"}]}),
                "exceptions[2].date: not a date (YYYY-MM-DD)",
            ),
            (json!({"time_zone": "UTC", "color": "red"}), "unknown field \"color\""),
            (
                json!({"time_zone": "UTC", "weekly": {"monday": []}}),
                "weekly: unknown field \"monday\"",
            ),
            (
                json!({"time_zone": "UTC", "weekly": {"fri": [{"from": "09:00", "to": "10:00", "x": 1}]}}),
                "weekly.fri[0]: unknown field \"x\"",
            ),
            (
                json!({"time_zone": "UTC", "exceptions": [{"date": "2026-12-24", "hours": [{"from": "09:00"}]}]}),
                "exceptions[0].hours[0]: missing \"to\"",
            ),
            (
                json!({"time_zone": "UTC", "weekly": {"sat": [{"from": "13:00", "to": "14:00"}, {"from": "09:00", "to": "10:00"}]}}),
                "weekly.sat[1]: spans must be in order",
            ),
            (json!([]), "expected an object"),
        ];
        for (input, expected) in cases {
            let got = reason(input.clone());
            assert!(got.starts_with(expected), "{input}: got {got:?}, expected {expected:?}");
        }
        let eleven: Vec<Value> = (0..11)
            .map(|h| json!({"from": clock(h * 60), "to": clock(h * 60 + 30)}))
            .collect();
        assert!(reason(json!({"time_zone": "UTC", "weekly": {"mon": eleven}})).starts_with("weekly.mon: at most 10"));
        let many: Vec<Value> = (0..401)
            .map(|d| json!({"date": (NaiveDate::from_ymd_opt(2026, 1, 1).unwrap() + Days::new(d)).to_string()}))
            .collect();
        assert!(reason(json!({"time_zone": "UTC", "exceptions": many})).starts_with("exceptions: at most 400"));
        // serde goes through the same rules.
        let e = serde_json::from_str::<BusinessHours>(r#"{"time_zone":"Mars/Base"}"#).unwrap_err();
        assert!(e.to_string().contains("unknown time zone"), "{e}");
        assert!(BusinessHours::parse_str("{").is_err());
    }

    #[test]
    fn serde_round_trip_and_schema() {
        let h = berlin_office();
        let v = serde_json::to_value(&h).unwrap();
        assert_eq!(v["time_zone"], "Europe/Berlin");
        assert_eq!(v["weekly"]["mon"], json!([{"from": "09:00", "to": "17:00"}]));
        assert_eq!(v["weekly"]["sun"], json!([]));
        // Exceptions come back sorted by date; a missing name is omitted.
        assert_eq!(
            v["exceptions"],
            json!([{"date": "2026-12-24", "hours": [{"from": "09:00", "to": "12:00"}]},
                   {"date": "2026-12-25", "name": "Christmas", "hours": []}])
        );
        assert_eq!(serde_json::from_value::<BusinessHours>(v).unwrap(), h);
        let schema = serde_json::to_value(schemars::schema_for!(BusinessHours)).unwrap();
        assert_eq!(schema["additionalProperties"], false);
        assert_eq!(schema["required"], json!(["time_zone"]));
    }

    /// Around real 2026 transitions (including Santiago's at midnight and Lord
    /// Howe's half hour), every minute: the three answers agree with each other
    /// and land exactly on a boundary.
    #[test]
    fn dst_sweep_is_consistent() {
        let spans = json!([{"from": "00:00", "to": "00:30"}, {"from": "01:45", "to": "02:15"},
                           {"from": "02:30", "to": "03:00"}, {"from": "23:30", "to": "24:00"}]);
        let cases = [
            ("Europe/Berlin", 1_774_746_000),
            ("Europe/Berlin", 1_792_890_000),
            ("America/Santiago", 1_775_358_000),
            ("America/Santiago", 1_788_667_200),
            ("Australia/Lord_Howe", 1_775_314_800),
            ("Australia/Lord_Howe", 1_791_041_400),
        ];
        for (tz, transition) in cases {
            let h = BusinessHours::parse(&json!({"time_zone": tz, "weekly": {
                "mon": spans, "tue": spans, "wed": spans, "thu": spans, "fri": spans, "sat": spans, "sun": spans}}))
            .unwrap();
            // Every minute near the transition, every 7 minutes out to the neighbouring days.
            let minutes = (-36 * 60..36 * 60).filter(|m: &i64| m.abs() <= 4 * 60 || m % 7 == 0);
            for minute in minutes {
                let t = s(transition + minute * 60);
                check_consistent(&h, t)
                    .map_err(|e| format!("{tz} at {t:?}: {e}"))
                    .unwrap();
            }
        }
    }

    fn check_consistent(h: &BusinessHours, t: Millis) -> Result<(), String> {
        let open = h.is_open(t);
        let next_open = h.next_open(t);
        let next_close = h.next_close(t);
        if open != (next_open == Some(t)) {
            return Err(format!("is_open={open} but next_open={next_open:?}"));
        }
        if open == (next_close == Some(t)) {
            return Err(format!("is_open={open} but next_close={next_close:?}"));
        }
        if let Some(n) = next_open {
            if n < t || !h.is_open(n) || (n > t && h.is_open(n.plus_ms(-1))) {
                return Err(format!("next_open={n:?} is not the start of an open stretch"));
            }
            for k in 0..32 {
                let probe = Millis(t.0 + (n.0 - t.0) * k / 32);
                if probe < n && h.is_open(probe) {
                    return Err(format!("open at {probe:?}, before next_open={n:?}"));
                }
            }
        } else {
            for k in 0..64 {
                let probe = t.plus_ms(HORIZON_DAYS as i64 * DAY_MS * k / 64);
                if h.is_open(probe) {
                    return Err(format!("next_open=None but open at {probe:?}"));
                }
            }
        }
        if let Some(c) = next_close {
            if c < t || h.is_open(c) || (c > t && !h.is_open(c.plus_ms(-1))) {
                return Err(format!("next_close={c:?} is not the end of an open stretch"));
            }
            for k in 0..32 {
                let probe = Millis(t.0 + (c.0 - t.0) * k / 32);
                if probe < c && !h.is_open(probe) {
                    return Err(format!("closed at {probe:?}, before next_close={c:?}"));
                }
            }
        } else {
            for k in 0..64 {
                let probe = t.plus_ms(HORIZON_DAYS as i64 * DAY_MS * k / 64);
                if !h.is_open(probe) {
                    return Err(format!("next_close=None but closed at {probe:?}"));
                }
            }
        }
        Ok(())
    }

    fn day_spans() -> impl Strategy<Value = Vec<(u16, u16)>> {
        let points = || prop::collection::btree_set(0u16..=END_OF_DAY, 0..=12);
        prop_oneof![
            2 => Just(vec![]),
            1 => Just(vec![(0, END_OF_DAY)]),
            // Separate spans.
            4 => points().prop_map(|p| {
                let p: Vec<u16> = p.into_iter().collect();
                p.chunks_exact(2).map(|c| (c[0], c[1])).collect()
            }),
            // Touching spans, often reaching 00:00 or 24:00.
            2 => points().prop_map(|p| {
                let p: Vec<u16> = p.into_iter().collect();
                p.windows(2).take(MAX_SPANS_PER_DAY).map(|w| (w[0], w[1])).collect()
            }),
        ]
    }

    fn spans_json(spans: &[(u16, u16)]) -> Value {
        spans
            .iter()
            .map(|&(a, b)| json!({"from": clock(a), "to": clock(b)}))
            .collect()
    }

    const ZONES: [&str; 9] = [
        "UTC",
        "Europe/Berlin",
        "America/New_York",
        "America/Santiago",
        "America/Sao_Paulo",
        "Australia/Lord_Howe",
        "Asia/Kathmandu",
        "Pacific/Apia",
        "Pacific/Chatham",
    ];

    /// A schedule plus an instant in 2010..2035; exceptions sit near the instant
    /// so they matter.
    fn schedule_and_instant() -> impl Strategy<Value = (BusinessHours, Millis)> {
        (
            prop::sample::select(&ZONES[..]),
            prop::array::uniform7(day_spans()),
            prop::collection::vec((-3i64..30, day_spans()), 0..5),
            0i64..9_000,
            0i64..DAY_MS,
        )
            .prop_map(|(tz, week, exceptions, day, ms)| {
                let base = NaiveDate::from_ymd_opt(2010, 1, 1).unwrap_or_default();
                let mut by_date = std::collections::BTreeMap::new();
                for (offset, spans) in exceptions {
                    let date = base + chrono::Duration::days(day + offset);
                    by_date.insert(date.to_string(), spans_json(&spans));
                }
                let exceptions: Vec<Value> = by_date
                    .into_iter()
                    .map(|(date, hours)| json!({"date": date, "hours": hours}))
                    .collect();
                let weekly: Map<String, Value> = DAY_KEYS
                    .iter()
                    .zip(&week)
                    .map(|(k, s)| ((*k).to_owned(), spans_json(s)))
                    .collect();
                let h = BusinessHours::parse(&json!({"time_zone": tz, "weekly": weekly, "exceptions": exceptions}))
                    .unwrap();
                (h, Millis(1_262_304_000_000 + day * DAY_MS + ms))
            })
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(256))]

        #[test]
        fn answers_are_consistent((h, t) in schedule_and_instant()) {
            if let Err(e) = check_consistent(&h, t) {
                prop_assert!(false, "{} at {:?}: {}", h.time_zone(), t, e);
            }
        }

        #[test]
        fn serde_round_trips((h, _t) in schedule_and_instant()) {
            let v = serde_json::to_value(&h).unwrap();
            prop_assert_eq!(BusinessHours::parse(&v), Ok(h));
        }

        #[test]
        fn never_panics(at in any::<i64>(), from in ".{0,6}", to in "[0-9:]{0,6}", date in "[0-9-]{0,11}", tz in ".{0,12}") {
            let v = json!({"time_zone": tz, "weekly": {"mon": [{"from": from, "to": to}]},
                           "exceptions": [{"date": date}]});
            let _ = BusinessHours::parse(&v);
            let h = berlin_office();
            let _ = (h.is_open(Millis(at)), h.next_open(Millis(at)), h.next_close(Millis(at)));
        }
    }

    #[test]
    fn the_local_day_starts_at_local_midnight() {
        // 2026-01-05 00:30 in Berlin is 2026-01-04 23:30 UTC.
        let berlin = berlin_office();
        let at = Millis(1_767_569_400_000);
        assert_eq!(berlin.start_of_local_day(at), Millis(1_767_567_600_000));
        assert_eq!(
            BusinessHours::always_open().start_of_local_day(at),
            Millis(1_767_484_800_000)
        );
    }
}
