//! Who a campaign goes to: contacts carrying a tag or matching a search, or
//! the rows of an uploaded CSV; each with their address on the channel and
//! the template's body values for them. Bad CSV rows are reported, not
//! fatal; opted-out people are kept in the ledger as skipped, with why.

use std::collections::{HashMap, HashSet};

use switchboard_core::campaign::{CampaignValues, ContactField, RecipientStatus, ValueSource, phone_digits};
use switchboard_core::validate::Invalid;
use switchboard_core::{ChannelId, Contact, WorkspaceId};
use switchboard_store::{ContactFilter, Exec, NewRecipient};

use crate::ServiceResult;

/// A CSV row that could not become a recipient.
#[derive(Debug, Clone, serde::Serialize, schemars::JsonSchema)]
pub struct RejectedRow {
    /// The line in the file (the header is line 1).
    pub line: u64,
    pub reason: String,
}

/// Most rows one CSV may hold.
pub const CSV_ROWS_MAX: usize = 200_000;

fn contact_field(c: &Contact, field: ContactField) -> Option<String> {
    match field {
        ContactField::Name => c.name.clone(),
        ContactField::Phone => c.phone.clone(),
        ContactField::Email => c.email.clone(),
        ContactField::Country => c.country.clone(),
    }
}

/// The recipients' list being built: positions in order, each address once.
#[derive(Debug, Default)]
pub(super) struct Recipients {
    pub list: Vec<NewRecipient>,
    seen: HashMap<String, u64>,
}

impl Recipients {
    fn push(
        &mut self,
        external_id: String,
        name: Option<String>,
        contact: Option<switchboard_core::ContactId>,
        values: Result<Vec<String>, String>,
        opted_out: &HashSet<String>,
    ) {
        let (params, status, reason) = match (values, opted_out.contains(&external_id)) {
            (_, true) => (
                Vec::new(),
                RecipientStatus::Skipped,
                Some("opted out: they asked not to get campaigns (wrote an opt-out keyword such as STOP)".to_owned()),
            ),
            (Ok(params), false) => (params, RecipientStatus::Queued, None),
            (Err(why), false) => (Vec::new(), RecipientStatus::Skipped, Some(why)),
        };
        self.seen.insert(external_id.clone(), self.list.len() as u64);
        self.list.push(NewRecipient {
            position: self.list.len() as i64,
            external_id,
            name,
            contact_id: contact,
            params,
            status,
            reason,
        });
    }
}

/// Each body value for a contact, or why one is missing.
fn contact_values(c: &Contact, values: &CampaignValues) -> Result<Vec<String>, String> {
    values
        .body
        .iter()
        .enumerate()
        .map(|(i, source)| {
            let value = match source {
                ValueSource::Field { field } => contact_field(c, *field),
                ValueSource::Text { text } => Some(text.clone()),
                ValueSource::Column { column } => {
                    return Err(format!(
                        "{{{{{}}}}} comes from the CSV column {column:?}, but there is no CSV",
                        i + 1
                    ));
                }
            };
            value.filter(|v| !v.trim().is_empty()).ok_or_else(|| {
                format!(
                    "no value for {{{{{}}}}}: the contact has no {}",
                    i + 1,
                    source_label(source)
                )
            })
        })
        .collect()
}

fn source_label(source: &ValueSource) -> String {
    match source {
        ValueSource::Field { field } => field.to_string(),
        ValueSource::Column { column } => format!("{column:?} column"),
        ValueSource::Text { .. } => "text".into(),
    }
}

/// Contacts of a tag or a search, each by their identity on the channel or
/// their phone number.
pub(super) async fn from_contacts(
    exec: &mut Exec<'_>,
    ws: WorkspaceId,
    channel: ChannelId,
    filter: ContactFilter,
    values: &CampaignValues,
    opted_out: &HashSet<String>,
) -> ServiceResult<Recipients> {
    let mut recipients = Recipients::default();
    let mut filter = ContactFilter { limit: 500, ..filter };
    loop {
        let page = exec.contacts(ws, &filter).await?;
        for c in &page.items {
            let address = c
                .identities
                .iter()
                .find(|i| i.channel_id == channel)
                .map(|i| i.external_id.clone())
                .or_else(|| c.phone.as_deref().and_then(|p| phone_digits(p).ok()));
            let Some(address) = address else {
                continue; // nothing to send to on this channel
            };
            if recipients.seen.contains_key(&address) {
                continue;
            }
            recipients.push(
                address,
                c.name.clone(),
                Some(c.id),
                contact_values(c, values),
                opted_out,
            );
        }
        match page.next_cursor.and_then(|c| c.parse().ok()) {
            Some(cursor) => filter.cursor = Some(cursor),
            None => return Ok(recipients),
        }
    }
}

/// The rows of a CSV with a header row: `phone` required, `name` optional,
/// other columns for values.
pub(super) fn from_csv(
    text: &str,
    values: &CampaignValues,
    opted_out: &HashSet<String>,
) -> Result<(Recipients, Vec<RejectedRow>), Invalid> {
    let mut reader = csv::ReaderBuilder::new()
        .flexible(true)
        .trim(csv::Trim::All)
        .from_reader(text.as_bytes());
    let headers: Vec<String> = reader
        .headers()
        .map_err(|e| Invalid::new("csv", format!("the header row cannot be read: {e}")))?
        .iter()
        .map(|h| h.trim_start_matches('\u{feff}').to_ascii_lowercase())
        .collect();
    let column = |name: &str| headers.iter().position(|h| h == name);
    let phone_at = column("phone").ok_or_else(|| Invalid::new("csv", "the header row needs a `phone` column"))?;
    let name_at = column("name");
    let mut sources = Vec::new();
    for source in &values.body {
        sources.push(match source {
            ValueSource::Column { column: c } => Some(
                column(&c.to_ascii_lowercase())
                    .ok_or_else(|| Invalid::new("values", format!("the CSV has no column {c:?}")))?,
            ),
            ValueSource::Field {
                field: ContactField::Name,
            } => Some(name_at.ok_or_else(|| {
                Invalid::new(
                    "values",
                    "a value comes from the name, but the CSV has no `name` column",
                )
            })?),
            ValueSource::Field {
                field: ContactField::Phone,
            } => Some(phone_at),
            ValueSource::Field { field } => {
                return Err(Invalid::new(
                    "values",
                    format!("a CSV has no contact {field}; use a column"),
                ));
            }
            ValueSource::Text { .. } => None,
        });
    }
    let mut recipients = Recipients::default();
    let mut rejected = Vec::new();
    for (n, record) in reader.records().enumerate() {
        let line = n as u64 + 2;
        if recipients.list.len() + rejected.len() >= CSV_ROWS_MAX {
            return Err(Invalid::new("csv", format!("at most {CSV_ROWS_MAX} rows")));
        }
        let record = match record {
            Ok(r) => r,
            Err(e) => {
                rejected.push(RejectedRow {
                    line,
                    reason: format!("cannot be read: {e}"),
                });
                continue;
            }
        };
        if record.iter().all(str::is_empty) {
            continue;
        }
        let phone = match phone_digits(record.get(phone_at).unwrap_or_default()) {
            Ok(p) => p,
            Err(e) => {
                rejected.push(RejectedRow { line, reason: e.reason });
                continue;
            }
        };
        if let Some(first) = recipients.seen.get(&phone) {
            rejected.push(RejectedRow {
                line,
                reason: format!("the same number as line {}", first + 2),
            });
            continue;
        }
        let mut params = Vec::new();
        let mut missing = None;
        for (i, (source, at)) in values.body.iter().zip(&sources).enumerate() {
            let value = match (source, at) {
                (ValueSource::Text { text }, _) => text.clone(),
                (_, Some(at)) => record.get(*at).unwrap_or_default().to_owned(),
                (_, None) => String::new(),
            };
            if value.is_empty() {
                missing = Some(format!("no value for {{{{{}}}}} ({})", i + 1, source_label(source)));
                break;
            }
            params.push(value);
        }
        if let Some(reason) = missing {
            rejected.push(RejectedRow { line, reason });
            continue;
        }
        let name = name_at
            .and_then(|at| record.get(at))
            .filter(|n| !n.is_empty())
            .map(str::to_owned);
        recipients.push(phone, name, None, Ok(params), opted_out);
    }
    Ok((recipients, rejected))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn values(body: Vec<ValueSource>) -> CampaignValues {
        CampaignValues {
            body,
            ..CampaignValues::default()
        }
    }

    #[test]
    fn csv_rows_become_recipients_and_bad_rows_are_reported() {
        let csv = "Phone,Name,Order\n+49 151 1111111,Ana,A1\nnot a number,Bo,B2\n+49 151 1111111,Ana again,A3\n4915122222222,,C4\n4915133333333,Cy,\n";
        let v = values(vec![ValueSource::Column { column: "order".into() }]);
        let opted_out = HashSet::from(["4915122222222".to_owned()]);
        let (r, rejected) = from_csv(csv, &v, &opted_out).unwrap();
        let lines: Vec<u64> = rejected.iter().map(|r| r.line).collect();
        assert_eq!(lines, [3, 4, 6], "{rejected:?}");
        assert!(rejected[1].reason.contains("line 2"));
        assert_eq!(r.list.len(), 2);
        assert_eq!(
            (r.list[0].external_id.as_str(), r.list[0].params.clone()),
            ("491511111111", vec!["A1".to_owned()])
        );
        assert_eq!(r.list[1].status, RecipientStatus::Skipped);
        assert_eq!(from_csv("name\nAna\n", &v, &opted_out).unwrap_err().field, "csv");
        let wrong = values(vec![ValueSource::Column { column: "nope".into() }]);
        assert_eq!(from_csv(csv, &wrong, &opted_out).unwrap_err().field, "values");
    }
}
