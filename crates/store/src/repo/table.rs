//! The conversations table (the console's and every export's rows): each
//! conversation with what its row shows of the customer, read in one
//! statement (the page joined with its contacts), so a page is one query
//! and one for its tags however many rows it has.

use sea_query::{Alias, Asterisk, Expr, Order, Query, SelectStatement, SimpleExpr};
use switchboard_core::{Conversation, WorkspaceId};

use crate::repo::conversations::{ConversationRow, page_select};
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
}

/// The page as a derived table, so its columns keep their names beside
/// the customer's.
const PAGE: &str = "p";
/// The list's sort key, computed inside the page for the outer order.
const SORT_KEY: &str = "sort_key";

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

/// `inner` (conversation rows) as a derived table, each row joined with
/// what the table shows of its customer.
fn customers_joined(inner: SelectStatement) -> SelectStatement {
    let p = Alias::new(PAGE);
    let mut q = Query::select();
    q.column((p.clone(), Asterisk))
        .from_subquery(inner, p.clone())
        .left_join(
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
    q
}

impl Exec<'_> {
    /// The conversation rows `inner` selects, each with its customer
    /// (tags not read).
    pub(crate) async fn with_customers(
        &mut self,
        inner: SelectStatement,
    ) -> Result<Vec<(ConversationRow, CustomerBrief)>> {
        let rows: Vec<TableRow> = self.fetch_all(&customers_joined(inner)).await?;
        Ok(rows.into_iter().map(TableRow::split).collect())
    }

    /// One page of the conversations `f` selects with their customers.
    pub async fn conversation_table(
        &mut self,
        ws: WorkspaceId,
        f: &ConversationFilter,
    ) -> Result<Page<(Conversation, CustomerBrief)>> {
        let mut page = page_select(TextIndex::of(self), ws, f);
        let key = f.sort.key_sql();
        if let Some(key) = key {
            page.expr_as(Expr::cust(key), Alias::new(SORT_KEY));
        }
        let mut q = customers_joined(page);
        let p = Alias::new(PAGE);
        if key.is_some() {
            q.order_by((p.clone(), Alias::new(SORT_KEY)), Order::Desc);
        }
        q.order_by((p, Conversations::Id), Order::Desc);
        let rows: Vec<TableRow> = self.fetch_all(&q).await?;
        let page = page_of(rows, f.limit, |r| f.sort.cursor_of(&r.conversation));
        let (conversations, customers): (Vec<_>, Vec<_>) = page.items.into_iter().map(TableRow::split).unzip();
        let conversations = self.with_tags(conversations).await?;
        Ok(Page {
            items: conversations.into_iter().zip(customers).collect(),
            next_cursor: page.next_cursor,
        })
    }
}
