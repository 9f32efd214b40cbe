//! Pages of conversations as one statement each: the page as a derived
//! table with every row's tag names beside it (the list), and for the
//! conversations table (the console's and every export's rows) what a row
//! shows of the customer too. The page is limited inside, so the tags and
//! the customer are read for its rows only, whatever the filter scans.

use sea_query::{Alias, Asterisk, Expr, Order, Query, SelectStatement, SimpleExpr};
use switchboard_core::{Conversation, WorkspaceId};

use crate::repo::conversations::{ConversationRow, json_column, page_select};
use crate::repo::search::TextIndex;
use crate::schema::{ContactIdentities, Contacts, Conversations};
use crate::{ConversationFilter, Exec, Page, Result, page_of};

/// What a table row shows of the customer.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CustomerBrief {
    pub name: Option<String>,
    pub phone: Option<String>,
    pub email: Option<String>,
    pub country: Option<String>,
    /// How the first channel they wrote on knows them.
    pub first_identity: Option<String>,
}

#[derive(sqlx::FromRow)]
struct TableRow {
    #[sqlx(flatten)]
    conversation: ConversationRow,
    customer_name: Option<String>,
    customer_phone: Option<String>,
    customer_email: Option<String>,
    customer_country: Option<String>,
    customer_identity: Option<String>,
    /// Present when the statement read the tags ([`page_with_tags`]).
    #[sqlx(default)]
    tag_names: Option<String>,
}

/// A list row: the conversation and its tag names.
#[derive(sqlx::FromRow)]
pub(crate) struct PagedRow {
    #[sqlx(flatten)]
    pub(crate) conversation: ConversationRow,
    tag_names: String,
}

impl PagedRow {
    pub(crate) fn into_domain(self) -> Result<Conversation> {
        self.conversation.into_domain(tag_names(Some(&self.tag_names))?)
    }
}

/// The tag names column: a JSON array, ordered by name.
fn tag_names(raw: Option<&str>) -> Result<Vec<String>> {
    Ok(json_column("tag names", raw)?.unwrap_or_default())
}

/// The page as a derived table, so its columns keep their names beside
/// the customer's.
const PAGE: &str = "p";
/// The list's sort key, computed inside the page for the outer order.
const SORT_KEY: &str = "sort_key";
/// The column of a row's tag names.
const TAG_NAMES: &str = "tag_names";

impl TableRow {
    fn split(self) -> (ConversationRow, CustomerBrief) {
        let customer = CustomerBrief {
            name: self.customer_name,
            phone: self.customer_phone,
            email: self.customer_email,
            country: self.customer_country,
            first_identity: self.customer_identity,
        };
        (self.conversation, customer)
    }
}

/// The names of the page row's tags as a JSON array by name (`[]` for
/// none), in the backend's own JSON aggregate.
fn tag_names_json(index: TextIndex) -> SimpleExpr {
    const TAGS_OF_ROW: &str =
        "FROM conversation_tags ct JOIN tags t ON t.id = ct.tag_id WHERE ct.conversation_id = \"p\".\"id\"";
    Expr::cust(match index {
        TextIndex::Fts5 => format!("(SELECT json_group_array(t.name ORDER BY t.name) {TAGS_OF_ROW})"),
        TextIndex::TsVector => format!("COALESCE((SELECT json_agg(t.name ORDER BY t.name)::text {TAGS_OF_ROW}), '[]')"),
    })
}

/// `f`'s page of `ws` as a derived table, ordered again outside (a derived
/// table keeps no order), each row with its tag names.
pub(crate) fn page_with_tags(index: TextIndex, ws: WorkspaceId, f: &ConversationFilter) -> SelectStatement {
    let mut page = page_select(index, ws, f);
    let key = f.sort.key_sql();
    if let Some(key) = key {
        page.expr_as(Expr::cust(key), Alias::new(SORT_KEY));
    }
    let p = Alias::new(PAGE);
    let mut q = Query::select();
    q.column((p.clone(), Asterisk))
        .from_subquery(page, p.clone())
        .expr_as(tag_names_json(index), Alias::new(TAG_NAMES));
    if key.is_some() {
        q.order_by((p.clone(), Alias::new(SORT_KEY)), Order::Desc);
    }
    q.order_by((p, Conversations::Id), Order::Desc);
    q
}

/// Adds to `q`, whose rows are conversations aliased [`PAGE`], what the
/// table shows of each row's customer.
fn join_customers(q: &mut SelectStatement) {
    let p = Alias::new(PAGE);
    q.left_join(
        Contacts::Table,
        Expr::col((Contacts::Table, Contacts::Id)).equals((p.clone(), Conversations::ContactId)),
    );
    for (column, alias) in [
        (Contacts::Name, "customer_name"),
        (Contacts::Phone, "customer_phone"),
        (Contacts::Email, "customer_email"),
        (Contacts::Country, "customer_country"),
    ] {
        q.expr_as(Expr::col((Contacts::Table, column)), Alias::new(alias));
    }
    let first_identity = Query::select()
        .column((ContactIdentities::Table, ContactIdentities::ExternalId))
        .from(ContactIdentities::Table)
        .and_where(
            Expr::col((ContactIdentities::Table, ContactIdentities::ContactId)).equals((p, Conversations::ContactId)),
        )
        .order_by((ContactIdentities::Table, ContactIdentities::CreatedAt), Order::Asc)
        .limit(1)
        .to_owned();
    q.expr_as(
        SimpleExpr::SubQuery(None, Box::new(first_identity.into_sub_query_statement())),
        Alias::new("customer_identity"),
    );
}

impl Exec<'_> {
    /// The conversation rows `inner` selects, each with its customer
    /// (tags not read).
    pub(crate) async fn with_customers(
        &mut self,
        inner: SelectStatement,
    ) -> Result<Vec<(ConversationRow, CustomerBrief)>> {
        let p = Alias::new(PAGE);
        let mut q = Query::select();
        q.column((p.clone(), Asterisk)).from_subquery(inner, p);
        join_customers(&mut q);
        let rows: Vec<TableRow> = self.fetch_all(&q).await?;
        Ok(rows.into_iter().map(TableRow::split).collect())
    }

    /// One page of the conversations `f` selects with their customers.
    pub async fn conversation_table(
        &mut self,
        ws: WorkspaceId,
        f: &ConversationFilter,
    ) -> Result<Page<(Conversation, CustomerBrief)>> {
        let mut q = page_with_tags(TextIndex::of(self), ws, f);
        join_customers(&mut q);
        let rows: Vec<TableRow> = self.fetch_all(&q).await?;
        let page = page_of(rows, f.limit, |r| f.sort.cursor_of(&r.conversation));
        let items = page
            .items
            .into_iter()
            .map(|row| {
                let tags = tag_names(row.tag_names.as_deref())?;
                let (conversation, customer) = row.split();
                Ok((conversation.into_domain(tags)?, customer))
            })
            .collect::<Result<_>>()?;
        Ok(Page {
            items,
            next_cursor: page.next_cursor,
        })
    }
}
