//! Contacts and their per-channel identities.

use sea_query::{Cond, Expr, Order, Query};
use switchboard_core::{ChannelId, Contact, ContactId, ContactIdentity, Millis, WorkspaceId};

use crate::schema::*;
use crate::{Exec, Page, Result, StoreError, page_of, parse};

#[derive(Debug, Clone, sqlx::FromRow)]
struct ContactRow {
    id: String,
    workspace_id: String,
    name: Option<String>,
    phone: Option<String>,
    email: Option<String>,
    country: Option<String>,
    attributes: String,
    created_at: i64,
    updated_at: i64,
}

impl ContactRow {
    fn into_domain(self, identities: Vec<ContactIdentity>) -> Result<Contact> {
        let attributes = serde_json::from_str(&self.attributes)
            .map_err(|e| StoreError::Corrupt(format!("contact attributes: {e}")))?;
        Ok(Contact {
            id: parse("contact id", &self.id)?,
            workspace_id: parse("workspace id", &self.workspace_id)?,
            name: self.name,
            phone: self.phone,
            email: self.email,
            country: self.country,
            attributes,
            identities,
            created_at: Millis(self.created_at),
            updated_at: Millis(self.updated_at),
        })
    }
}

fn contact_select() -> sea_query::SelectStatement {
    Query::select()
        .columns([
            Contacts::Id,
            Contacts::WorkspaceId,
            Contacts::Name,
            Contacts::Phone,
            Contacts::Email,
            Contacts::Country,
            Contacts::Attributes,
            Contacts::CreatedAt,
            Contacts::UpdatedAt,
        ])
        .from(Contacts::Table)
        .to_owned()
}

#[derive(Debug, Clone, Default)]
pub struct ContactFilter {
    /// Matches name, e-mail, phone or a channel identity (substring).
    pub query: Option<String>,
    pub cursor: Option<ContactId>,
    pub limit: u64,
}

impl Exec<'_> {
    pub async fn insert_contact(&mut self, c: &Contact) -> Result<()> {
        self.execute(
            Query::insert()
                .into_table(Contacts::Table)
                .columns([
                    Contacts::Id,
                    Contacts::WorkspaceId,
                    Contacts::Name,
                    Contacts::Phone,
                    Contacts::Email,
                    Contacts::Country,
                    Contacts::Attributes,
                    Contacts::CreatedAt,
                    Contacts::UpdatedAt,
                ])
                .values_panic([
                    c.id.to_string().into(),
                    c.workspace_id.to_string().into(),
                    c.name.clone().into(),
                    c.phone.clone().into(),
                    c.email.clone().into(),
                    c.country.clone().into(),
                    serde_json::Value::Object(c.attributes.clone()).to_string().into(),
                    c.created_at.0.into(),
                    c.updated_at.0.into(),
                ]),
        )
        .await?;
        for identity in &c.identities {
            self.insert_identity(
                c.workspace_id,
                identity.channel_id,
                &identity.external_id,
                c.id,
                c.created_at,
            )
            .await?;
        }
        Ok(())
    }

    pub async fn update_contact(&mut self, c: &Contact) -> Result<u64> {
        self.execute(
            Query::update()
                .table(Contacts::Table)
                .value(Contacts::Name, c.name.clone())
                .value(Contacts::Phone, c.phone.clone())
                .value(Contacts::Email, c.email.clone())
                .value(Contacts::Country, c.country.clone())
                .value(
                    Contacts::Attributes,
                    serde_json::Value::Object(c.attributes.clone()).to_string(),
                )
                .value(Contacts::UpdatedAt, c.updated_at.0)
                .and_where(Expr::col(Contacts::WorkspaceId).eq(c.workspace_id.to_string()))
                .and_where(Expr::col(Contacts::Id).eq(c.id.to_string())),
        )
        .await
    }

    pub async fn insert_identity(
        &mut self,
        ws: WorkspaceId,
        channel: ChannelId,
        external_id: &str,
        contact: ContactId,
        now: Millis,
    ) -> Result<()> {
        self.execute(
            Query::insert()
                .into_table(ContactIdentities::Table)
                .columns([
                    ContactIdentities::ChannelId,
                    ContactIdentities::ExternalId,
                    ContactIdentities::WorkspaceId,
                    ContactIdentities::ContactId,
                    ContactIdentities::CreatedAt,
                ])
                .values_panic([
                    channel.to_string().into(),
                    external_id.into(),
                    ws.to_string().into(),
                    contact.to_string().into(),
                    now.0.into(),
                ]),
        )
        .await?;
        Ok(())
    }

    /// The contact a channel's user id belongs to.
    pub async fn contact_of_identity(&mut self, channel: ChannelId, external_id: &str) -> Result<Option<ContactId>> {
        let row: Option<(String,)> = self
            .fetch_optional(
                Query::select()
                    .column(ContactIdentities::ContactId)
                    .from(ContactIdentities::Table)
                    .and_where(Expr::col(ContactIdentities::ChannelId).eq(channel.to_string()))
                    .and_where(Expr::col(ContactIdentities::ExternalId).eq(external_id)),
            )
            .await?;
        row.map(|(id,)| parse("contact id", &id)).transpose()
    }

    async fn identities_of(&mut self, contact: &str) -> Result<Vec<ContactIdentity>> {
        let rows: Vec<(String, String)> = self
            .fetch_all(
                Query::select()
                    .columns([ContactIdentities::ChannelId, ContactIdentities::ExternalId])
                    .from(ContactIdentities::Table)
                    .and_where(Expr::col(ContactIdentities::ContactId).eq(contact))
                    .order_by(ContactIdentities::CreatedAt, Order::Asc),
            )
            .await?;
        rows.into_iter()
            .map(|(channel, external_id)| {
                Ok(ContactIdentity {
                    channel_id: parse("channel id", &channel)?,
                    external_id,
                })
            })
            .collect()
    }

    pub async fn contact(&mut self, ws: WorkspaceId, id: ContactId) -> Result<Option<Contact>> {
        let row: Option<ContactRow> = self
            .fetch_optional(
                contact_select()
                    .and_where(Expr::col(Contacts::WorkspaceId).eq(ws.to_string()))
                    .and_where(Expr::col(Contacts::Id).eq(id.to_string())),
            )
            .await?;
        match row {
            None => Ok(None),
            Some(row) => {
                let identities = self.identities_of(&row.id).await?;
                row.into_domain(identities).map(Some)
            }
        }
    }

    /// Contacts, newest first.
    pub async fn contacts(&mut self, ws: WorkspaceId, filter: &ContactFilter) -> Result<Page<Contact>> {
        let mut q = contact_select();
        q.and_where(Expr::col(Contacts::WorkspaceId).eq(ws.to_string()))
            .order_by(Contacts::Id, Order::Desc)
            .limit(filter.limit + 1);
        if let Some(cursor) = filter.cursor {
            q.and_where(Expr::col(Contacts::Id).lt(cursor.to_string()));
        }
        if let Some(text) = filter.query.as_deref().filter(|t| !t.is_empty()) {
            let pattern = format!("%{}%", text.to_lowercase().replace(['%', '_'], ""));
            let by_identity = Query::select()
                .column(ContactIdentities::ContactId)
                .from(ContactIdentities::Table)
                .and_where(Expr::col(ContactIdentities::WorkspaceId).eq(ws.to_string()))
                .and_where(Expr::col(ContactIdentities::ExternalId).like(pattern.clone()))
                .to_owned();
            q.cond_where(
                Cond::any()
                    .add(Expr::expr(sea_query::Func::lower(Expr::col(Contacts::Name))).like(pattern.clone()))
                    .add(Expr::col(Contacts::Email).like(pattern.clone()))
                    .add(Expr::col(Contacts::Phone).like(pattern))
                    .add(Expr::col(Contacts::Id).in_subquery(by_identity)),
            );
        }
        let rows: Vec<ContactRow> = self.fetch_all(&q).await?;
        let page = page_of(rows, filter.limit, |r| r.id.clone());
        let mut items = Vec::with_capacity(page.items.len());
        for row in page.items {
            let identities = self.identities_of(&row.id).await?;
            items.push(row.into_domain(identities)?);
        }
        Ok(Page {
            items,
            next_cursor: page.next_cursor,
        })
    }
}
