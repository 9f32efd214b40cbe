//! Exports of the conversations matching any filter and search, one row
//! per conversation with the columns of DESIGN.md §8, as CSV or JSON
//! Lines. The rows stream page by page (keyset), so memory stays flat
//! whatever the size; each export is audited; spreadsheet formulas in
//! cells are neutralised.

use futures::stream::BoxStream;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use switchboard_core::campaign::safe_cell;
use switchboard_core::hours::BusinessHours;
use switchboard_core::metrics;
use switchboard_core::permissions::Actor;
use switchboard_core::transcript::iso_utc;
use switchboard_core::zip::ZipStream;
use switchboard_core::{Conversation, Direction, Millis, WorkspaceId};
use switchboard_store::{ConversationFilter, CustomerBrief};

use crate::conversations::{Names, customer_label};
use crate::{ConversationQuery, ServiceResult, Services};

/// Conversations read per page while streaming.
const PAGE: u64 = 500;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum ExportFormat {
    Csv,
    Jsonl,
    /// An Excel workbook (one sheet, text cells inline, numbers as numbers).
    Xlsx,
}

impl ExportFormat {
    pub fn content_type(self) -> &'static str {
        match self {
            Self::Csv => "text/csv; charset=utf-8",
            Self::Jsonl => "application/x-ndjson",
            Self::Xlsx => "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        }
    }

    pub fn extension(self) -> &'static str {
        match self {
            Self::Csv => "csv",
            Self::Jsonl => "jsonl",
            Self::Xlsx => "xlsx",
        }
    }
}

/// One exported conversation. Times are ISO 8601 UTC; durations seconds.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct ExportRow {
    pub id: String,
    pub customer: String,
    /// Phone, e-mail or the channel's identifier.
    pub identifier: String,
    pub agent: String,
    pub team: String,
    pub channel_kind: String,
    pub channel: String,
    pub status: String,
    pub created: String,
    pub closed: String,
    pub duration_seconds: i64,
    pub inactivity_seconds: i64,
    pub response_seconds: Option<i64>,
    pub response_after_assignment_seconds: Option<i64>,
    /// The first response counted in business hours only.
    pub response_business_seconds: Option<i64>,
    /// Time with the bot before people took over.
    pub bot_seconds: Option<i64>,
    /// Who wrote first: `customer` or `business`.
    pub sent_by: String,
    /// Whose turn it is: `customer` (we wrote last) or `agent` (the customer waits).
    pub awaiting: String,
    pub rating: Option<i64>,
    /// The reason chosen from the workspace's list when it was closed.
    pub close_reason: String,
    /// The comment given when it was closed.
    pub close_comment: String,
    pub critical: bool,
    pub ticket: bool,
    pub tags: String,
    pub country: String,
    pub messages_from_customer: u64,
    pub messages_to_customer: u64,
}

/// The CSV header, in [`ExportRow`]'s order.
const COLUMNS: [&str; 27] = [
    "id",
    "customer",
    "identifier",
    "agent",
    "team",
    "channel_kind",
    "channel",
    "status",
    "created",
    "closed",
    "duration_seconds",
    "inactivity_seconds",
    "response_seconds",
    "response_after_assignment_seconds",
    "response_business_seconds",
    "bot_seconds",
    "sent_by",
    "awaiting",
    "rating",
    "close_reason",
    "close_comment",
    "critical",
    "ticket",
    "tags",
    "country",
    "messages_from_customer",
    "messages_to_customer",
];

impl ExportRow {
    fn cells(&self) -> [String; 27] {
        let opt = |v: Option<i64>| v.map(|n| n.to_string()).unwrap_or_default();
        [
            self.id.clone(),
            self.customer.clone(),
            self.identifier.clone(),
            self.agent.clone(),
            self.team.clone(),
            self.channel_kind.clone(),
            self.channel.clone(),
            self.status.clone(),
            self.created.clone(),
            self.closed.clone(),
            self.duration_seconds.to_string(),
            self.inactivity_seconds.to_string(),
            opt(self.response_seconds),
            opt(self.response_after_assignment_seconds),
            opt(self.response_business_seconds),
            opt(self.bot_seconds),
            self.sent_by.clone(),
            self.awaiting.clone(),
            opt(self.rating),
            self.close_reason.clone(),
            self.close_comment.clone(),
            self.critical.to_string(),
            self.ticket.to_string(),
            self.tags.clone(),
            self.country.clone(),
            self.messages_from_customer.to_string(),
            self.messages_to_customer.to_string(),
        ]
    }
}

/// A CSV line of `cells`, each neutralised against formulas.
fn csv_line<I: IntoIterator<Item = String>>(cells: I) -> Vec<u8> {
    let mut out = csv::Writer::from_writer(Vec::new());
    // Writing to memory cannot fail.
    let _ = out.write_record(cells.into_iter().map(|c| safe_cell(&c).into_owned()));
    out.into_inner().unwrap_or_default()
}

/// Columns written as numbers in a workbook.
fn numeric(column: &str) -> bool {
    column.ends_with("_seconds") || column == "rating" || column.starts_with("messages_")
}

/// Text safe inside an XML element: escaped, characters XML cannot hold dropped.
fn xml_text(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for c in value.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\t' | '\n' | '\r' => out.push(c),
            c if (c as u32) < 0x20 || c == '\u{FFFE}' || c == '\u{FFFF}' => {}
            c => out.push(c),
        }
    }
    out
}

/// One worksheet row of `cells` (formulas neutralised like the CSV).
fn xlsx_row<I: IntoIterator<Item = String>>(cells: I, header: bool) -> Vec<u8> {
    let mut out = String::from("<row>");
    for (column, value) in COLUMNS.iter().zip(cells) {
        if !header && numeric(column) && value.parse::<i64>().is_ok() {
            out.push_str(&format!("<c><v>{value}</v></c>"));
        } else if !value.is_empty() {
            out.push_str(&format!(
                "<c t=\"inlineStr\"><is><t xml:space=\"preserve\">{}</t></is></c>",
                xml_text(&safe_cell(&value))
            ));
        } else {
            out.push_str("<c/>");
        }
    }
    out.push_str("</row>");
    out.into_bytes()
}

/// The parts of a workbook before its sheet's rows.
fn xlsx_start(zip: &mut ZipStream) -> Vec<u8> {
    const CONTENT_TYPES: &str = r#"<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types"><Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/><Default Extension="xml" ContentType="application/xml"/><Override PartName="/xl/workbook.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/><Override PartName="/xl/worksheets/sheet1.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/></Types>"#;
    const RELS: &str = r#"<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships"><Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument" Target="xl/workbook.xml"/></Relationships>"#;
    const WORKBOOK: &str = r#"<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<workbook xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships"><sheets><sheet name="Conversations" sheetId="1" r:id="rId1"/></sheets></workbook>"#;
    const WORKBOOK_RELS: &str = r#"<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships"><Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/worksheet" Target="worksheets/sheet1.xml"/></Relationships>"#;
    const SHEET_START: &str = r#"<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><sheetData>"#;
    let mut out = zip.file("[Content_Types].xml", CONTENT_TYPES.as_bytes());
    out.extend(zip.file("_rels/.rels", RELS.as_bytes()));
    out.extend(zip.file("xl/workbook.xml", WORKBOOK.as_bytes()));
    out.extend(zip.file("xl/_rels/workbook.xml.rels", WORKBOOK_RELS.as_bytes()));
    out.extend(zip.start("xl/worksheets/sheet1.xml"));
    out.extend(zip.data(SHEET_START.as_bytes()));
    out.extend(zip.data(&xlsx_row(COLUMNS.map(String::from), true)));
    out
}

fn seconds(ms: i64) -> i64 {
    ms.div_euclid(1000)
}

/// Table pages as a reader task delivers them.
type TablePages = tokio::sync::mpsc::Receiver<ServiceResult<Vec<(Conversation, CustomerBrief)>>>;

struct Page {
    pages: TablePages,
    names: Names,
    hours: Option<BusinessHours>,
    first: bool,
    done: bool,
    /// The workbook being written (XLSX).
    zip: Option<ZipStream>,
}

impl Services {
    /// Stream the conversations `q` matches in `format`, recording the
    /// export in the audit log first.
    pub async fn export_conversations(
        &self,
        actor: &Actor,
        q: ConversationQuery,
        format: ExportFormat,
    ) -> ServiceResult<BoxStream<'static, ServiceResult<Vec<u8>>>> {
        let mut filter = self.conversation_filter(actor, &q).await?;
        filter.limit = PAGE;
        filter.cursor = None;
        let (names, hours) = futures::try_join!(self.names(actor), self.business_hours(actor))?;
        let mut tx = self.store().begin().await?;
        let details = serde_json::json!({"format": format, "q": q.q, "section": q.section, "period": q.period});
        self.audit(
            &mut tx,
            actor,
            "conversations.exported",
            "workspace",
            actor.workspace_id.to_string(),
            details,
        )
        .await?;
        tx.commit().await?;
        let pages = self.read_table_pages(actor.workspace_id, filter);
        let start = Page {
            pages,
            names,
            hours,
            first: true,
            done: false,
            zip: (format == ExportFormat::Xlsx).then(ZipStream::new),
        };
        let services = self.clone();
        let stream = futures::stream::try_unfold(start, move |mut page| {
            let services = services.clone();
            async move {
                if page.done {
                    return Ok(None);
                }
                let mut out = Vec::new();
                if page.first {
                    match (format, page.zip.as_mut()) {
                        (ExportFormat::Csv, _) => out.extend(csv_line(COLUMNS.map(String::from))),
                        (ExportFormat::Xlsx, Some(zip)) => out.extend(xlsx_start(zip)),
                        _ => {}
                    }
                }
                page.first = false;
                let Some(batch) = page.pages.recv().await else {
                    page.done = true;
                    if let Some(mut zip) = page.zip.take() {
                        out.extend(zip.data(b"</sheetData></worksheet>"));
                        out.extend(zip.finish());
                    }
                    return Ok(Some((out, page)));
                };
                let rows = services.export_rows(&page.names, page.hours.as_ref(), batch?);
                match format {
                    ExportFormat::Csv => {
                        // One writer for the page.
                        let mut csv = csv::Writer::from_writer(out);
                        for row in &rows {
                            // Writing to memory cannot fail.
                            let _ = csv.write_record(row.cells().iter().map(|c| safe_cell(c).into_owned()));
                        }
                        out = csv.into_inner().unwrap_or_default();
                    }
                    ExportFormat::Jsonl => {
                        for row in &rows {
                            out.extend(serde_json::to_vec(row).unwrap_or_default());
                            out.push(b'\n');
                        }
                    }
                    ExportFormat::Xlsx => {
                        for row in &rows {
                            let xml = xlsx_row(row.cells(), false);
                            if let Some(zip) = page.zip.as_mut() {
                                out.extend(zip.data(&xml));
                            }
                        }
                    }
                }
                Ok(Some((out, page)))
            }
        });
        Ok(Box::pin(stream))
    }

    /// The table pages `filter` selects, read ahead by a task of their own
    /// (one page waits while the previous one is written), so the
    /// database and the writing of rows run side by side. The task stops
    /// after the last page or when the receiver is dropped.
    fn read_table_pages(&self, ws: WorkspaceId, mut filter: ConversationFilter) -> TablePages {
        let (pages, received) = tokio::sync::mpsc::channel(1);
        let services = self.clone();
        tokio::spawn(async move {
            loop {
                let batch = match services.store().reader().conversation_table(ws, &filter).await {
                    Ok(batch) => batch,
                    Err(e) => {
                        let _ = pages.send(Err(e.into())).await;
                        return;
                    }
                };
                let next = batch.next_cursor.and_then(|c| c.parse().ok());
                if pages.send(Ok(batch.items)).await.is_err() {
                    return;
                }
                match next {
                    Some(cursor) => filter.cursor = Some(cursor),
                    None => return,
                }
            }
        });
        received
    }

    /// The table rows of `conversations` (the console's table and every
    /// export read these, so they agree).
    pub(crate) fn export_rows(
        &self,
        names: &Names,
        hours: Option<&BusinessHours>,
        conversations: Vec<(Conversation, CustomerBrief)>,
    ) -> Vec<ExportRow> {
        let now = self.now();
        conversations
            .into_iter()
            .map(|(c, customer)| {
                let (kind, channel) = names
                    .channels
                    .get(&c.channel_id)
                    .map(|(k, n)| (k.as_str().to_owned(), n.clone()))
                    .unwrap_or_default();
                let t = &c.times;
                ExportRow {
                    id: c.id.to_string(),
                    customer: customer_label(&customer),
                    identifier: customer
                        .phone
                        .clone()
                        .or_else(|| customer.email.clone())
                        .or_else(|| customer.first_identity.clone())
                        .unwrap_or_default(),
                    agent: c.assignee_id.map(|u| names.user(u)).unwrap_or_default(),
                    team: c.team_id.map(|u| names.team(u)).unwrap_or_default(),
                    channel_kind: kind,
                    channel,
                    status: c.status.as_str().to_owned(),
                    created: iso_utc(t.created_at),
                    closed: t.closed_at.map(iso_utc).unwrap_or_default(),
                    duration_seconds: seconds(metrics::duration(t, now)),
                    inactivity_seconds: seconds(metrics::inactivity(t, now)),
                    response_seconds: metrics::response_time(t).map(seconds),
                    response_after_assignment_seconds: metrics::response_time_after_assignment(t).map(seconds),
                    response_business_seconds: metrics::response_time_business(t, hours).map(seconds),
                    bot_seconds: metrics::bot_time(t).map(seconds),
                    sent_by: match t.started_by {
                        Some(Direction::In) => "customer".into(),
                        Some(Direction::Out) => "business".into(),
                        None => String::new(),
                    },
                    awaiting: metrics::awaiting(t).map(str::to_owned).unwrap_or_default(),
                    rating: c.rating,
                    close_reason: c.close_reason.clone().unwrap_or_default(),
                    close_comment: c.close_comment.clone().unwrap_or_default(),
                    critical: c.priority == switchboard_core::Priority::Critical,
                    ticket: c.ticket,
                    tags: c.tags.join(", "),
                    country: customer.country.unwrap_or_default(),
                    messages_from_customer: u64::from(t.messages_in),
                    messages_to_customer: u64::from(t.messages_out),
                }
            })
            .collect()
    }

    /// The workspace's business hours, if it set any.
    pub(crate) async fn business_hours(&self, actor: &Actor) -> ServiceResult<Option<BusinessHours>> {
        Ok(self
            .store()
            .reader()
            .workspace_routing(actor.workspace_id)
            .await?
            .business_hours)
    }
}

/// Today's export file name for `format`.
pub fn export_filename(format: ExportFormat, now: Millis) -> String {
    let day: String = iso_utc(now).chars().take(10).collect();
    format!("conversations-{day}.{}", format.extension())
}
