//! Contacts and their per-channel identities.

use std::collections::HashMap;

use sea_query::{Cond, Expr, InsertStatement, Order, Query, SelectStatement};
use switchboard_core::{ChannelId, Contact, ContactId, ContactIdentity, Millis, WorkspaceId};

use crate::schema::*;
use crate::{Exec, IN_LIST_MAX, Page, Result, StoreError, channel_key_conds, page_of, parse, rows_per_statement};

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
    fn into_domain(self, identities: Vec<ContactIdentity>, tags: Vec<String>) -> Result<Contact> {
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
            tags,
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

const CONTACT_COLUMNS: [Contacts; 10] = [
    Contacts::Id,
    Contacts::WorkspaceId,
    Contacts::Name,
    Contacts::Phone,
    Contacts::Email,
    Contacts::Country,
    Contacts::Attributes,
    Contacts::CreatedAt,
    Contacts::UpdatedAt,
    Contacts::SearchText,
];

fn contact_values(c: &Contact) -> [sea_query::SimpleExpr; 10] {
    [
        c.id.to_string().into(),
        c.workspace_id.to_string().into(),
        c.name.clone().into(),
        c.phone.clone().into(),
        c.email.clone().into(),
        c.country.clone().into(),
        serde_json::Value::Object(c.attributes.clone()).to_string().into(),
        c.created_at.0.into(),
        c.updated_at.0.into(),
        contact_search_text(c).into(),
    ]
}

/// What the contact index holds: name, e-mail and phone, folded.
fn contact_search_text(c: &Contact) -> String {
    let parts = [c.name.as_deref(), c.email.as_deref(), c.phone.as_deref()];
    switchboard_core::search::fold(&parts.into_iter().flatten().collect::<Vec<_>>().join(" "))
}

const IDENTITY_COLUMNS: [ContactIdentities; 6] = [
    ContactIdentities::ChannelId,
    ContactIdentities::ExternalId,
    ContactIdentities::WorkspaceId,
    ContactIdentities::ContactId,
    ContactIdentities::CreatedAt,
    ContactIdentities::SearchText,
];

fn identity_values(
    ws: WorkspaceId,
    channel: ChannelId,
    external_id: &str,
    contact: ContactId,
    now: Millis,
) -> [sea_query::SimpleExpr; 6] {
    [
        channel.to_string().into(),
        external_id.into(),
        ws.to_string().into(),
        contact.to_string().into(),
        now.0.into(),
        // A web visitor's random id (`v:…`) is nothing anyone searches for.
        (!external_id.starts_with("v:"))
            .then(|| switchboard_core::search::fold(external_id))
            .into(),
    ]
}

/// The statements of [`Exec::insert_contacts`], to run with other writes
/// ([`Exec::execute_all`]).
pub fn contact_inserts(contacts: &[Contact]) -> Vec<InsertStatement> {
    let mut stmts = Vec::new();
    for chunk in contacts.chunks(rows_per_statement(CONTACT_COLUMNS.len())) {
        let mut q = Query::insert();
        q.into_table(Contacts::Table).columns(CONTACT_COLUMNS);
        for c in chunk {
            q.values_panic(contact_values(c));
        }
        stmts.push(q);
    }
    let identities: Vec<(&Contact, &ContactIdentity)> = contacts
        .iter()
        .flat_map(|c| c.identities.iter().map(move |i| (c, i)))
        .collect();
    for chunk in identities.chunks(rows_per_statement(IDENTITY_COLUMNS.len())) {
        let mut q = Query::insert();
        q.into_table(ContactIdentities::Table).columns(IDENTITY_COLUMNS);
        for (c, identity) in chunk {
            q.values_panic(identity_values(
                c.workspace_id,
                identity.channel_id,
                &identity.external_id,
                c.id,
                c.created_at,
            ));
        }
        stmts.push(q);
    }
    stmts
}

/// The rows of [`identity_selects`]: channel, external id, contact.
pub(crate) type IdentityRow = (String, String, String);

/// The contacts of `(channel, external id)` identities, one statement per
/// 500 identities; rows decode as [`IdentityRow`].
pub(crate) fn identity_selects(identities: &[(ChannelId, &str)]) -> Vec<SelectStatement> {
    channel_key_conds(ContactIdentities::ChannelId, ContactIdentities::ExternalId, identities)
        .into_iter()
        .map(|cond| {
            Query::select()
                .columns([
                    ContactIdentities::ChannelId,
                    ContactIdentities::ExternalId,
                    ContactIdentities::ContactId,
                ])
                .from(ContactIdentities::Table)
                .cond_where(cond)
                .to_owned()
        })
        .collect()
}

pub(crate) fn identity_contacts(rows: Vec<IdentityRow>) -> Result<Vec<(ChannelId, String, ContactId)>> {
    rows.into_iter()
        .map(|(channel, external_id, contact)| {
            Ok((
                parse("channel id", &channel)?,
                external_id,
                parse("contact id", &contact)?,
            ))
        })
        .collect()
}

#[derive(Debug, Clone, Default)]
pub struct ContactFilter {
    /// Matches name, e-mail, phone or a channel identity (substring).
    pub query: Option<String>,
    /// A tag's name: contacts carrying it.
    pub tag: Option<String>,
    /// Contacts with an identity on this channel.
    pub channel_id: Option<ChannelId>,
    pub cursor: Option<ContactId>,
    pub limit: u64,
}

impl Exec<'_> {
    pub async fn insert_contact(&mut self, c: &Contact) -> Result<()> {
        self.insert_contacts(std::slice::from_ref(c)).await
    }

    /// Insert contacts and their identities with multi-row statements (batched
    /// ingest creates many at once). A channel identity that is already taken
    /// fails with [`StoreError::Conflict`]. Tags are not written: see
    /// [`Exec::set_contact_tags`].
    pub async fn insert_contacts(&mut self, contacts: &[Contact]) -> Result<()> {
        self.execute_all(&contact_inserts(contacts)).await
    }

    /// Replace the contact's tags with the tags of ids `tag_ids`.
    pub async fn set_contact_tags(&mut self, contact: ContactId, tag_ids: &[String]) -> Result<()> {
        self.execute(
            Query::delete()
                .from_table(ContactTags::Table)
                .and_where(Expr::col(ContactTags::ContactId).eq(contact.to_string())),
        )
        .await?;
        for chunk in tag_ids.chunks(rows_per_statement(2)) {
            let mut q = Query::insert();
            q.into_table(ContactTags::Table)
                .columns([ContactTags::ContactId, ContactTags::TagId]);
            for tag in chunk {
                q.values_panic([contact.to_string().into(), tag.clone().into()]);
            }
            self.execute(&q).await?;
        }
        Ok(())
    }

    /// The sorted tag names of each of the contacts `ids` (one statement per
    /// [`IN_LIST_MAX`] contacts; those without tags are left out).
    async fn tags_of_contacts(&mut self, ids: &[String]) -> Result<HashMap<String, Vec<String>>> {
        let mut tags: HashMap<String, Vec<String>> = HashMap::new();
        for chunk in ids.chunks(IN_LIST_MAX) {
            let rows: Vec<(String, String)> = self
                .fetch_all(
                    Query::select()
                        .column((ContactTags::Table, ContactTags::ContactId))
                        .column((Tags::Table, Tags::Name))
                        .from(ContactTags::Table)
                        .inner_join(
                            Tags::Table,
                            Expr::col((Tags::Table, Tags::Id)).equals((ContactTags::Table, ContactTags::TagId)),
                        )
                        .and_where(
                            Expr::col((ContactTags::Table, ContactTags::ContactId)).is_in(chunk.iter().cloned()),
                        ),
                )
                .await?;
            for (contact, name) in rows {
                tags.entry(contact).or_default().push(name);
            }
        }
        // Sorted here rather than by the database, whose collation may differ.
        for names in tags.values_mut() {
            names.sort();
        }
        Ok(tags)
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
                .value(Contacts::SearchText, contact_search_text(c))
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
                .columns(IDENTITY_COLUMNS)
                .values_panic(identity_values(ws, channel, external_id, contact, now)),
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

    /// The identities of many contacts in one query, by contact id.
    async fn identities_of_contacts(&mut self, ids: &[String]) -> Result<HashMap<String, Vec<ContactIdentity>>> {
        let mut found: HashMap<String, Vec<ContactIdentity>> = HashMap::new();
        for chunk in ids.chunks(IN_LIST_MAX) {
            let rows: Vec<(String, String, String)> = self
                .fetch_all(
                    Query::select()
                        .columns([
                            ContactIdentities::ContactId,
                            ContactIdentities::ChannelId,
                            ContactIdentities::ExternalId,
                        ])
                        .from(ContactIdentities::Table)
                        .and_where(Expr::col(ContactIdentities::ContactId).is_in(chunk.iter().cloned()))
                        .order_by(ContactIdentities::CreatedAt, Order::Asc),
                )
                .await?;
            for (contact, channel, external_id) in rows {
                found.entry(contact).or_default().push(ContactIdentity {
                    channel_id: parse("channel id", &channel)?,
                    external_id,
                });
            }
        }
        Ok(found)
    }

    /// Contact rows with their identities and tags, three queries for any number.
    async fn complete_contacts(&mut self, rows: Vec<ContactRow>) -> Result<Vec<Contact>> {
        let ids: Vec<String> = rows.iter().map(|r| r.id.clone()).collect();
        let mut tags = self.tags_of_contacts(&ids).await?;
        let mut identities = self.identities_of_contacts(&ids).await?;
        rows.into_iter()
            .map(|row| {
                let mine = identities.remove(&row.id).unwrap_or_default();
                let tagged = tags.remove(&row.id).unwrap_or_default();
                row.into_domain(mine, tagged)
            })
            .collect()
    }

    /// The workspace's contacts among `ids` (unknown ones are left out).
    pub async fn contacts_by_ids(&mut self, ws: WorkspaceId, ids: &[ContactId]) -> Result<Vec<Contact>> {
        let mut rows: Vec<ContactRow> = Vec::with_capacity(ids.len());
        let ids: Vec<String> = ids.iter().map(ToString::to_string).collect();
        for chunk in ids.chunks(IN_LIST_MAX) {
            rows.extend(
                self.fetch_all::<ContactRow>(
                    contact_select()
                        .and_where(Expr::col(Contacts::WorkspaceId).eq(ws.to_string()))
                        .and_where(Expr::col(Contacts::Id).is_in(chunk.iter().cloned())),
                )
                .await?,
            );
        }
        self.complete_contacts(rows).await
    }

    /// Delete a contact with its identities and tags (and, by cascade, any
    /// conversation left): `false` when `ws` has no such contact.
    pub async fn delete_contact(&mut self, ws: WorkspaceId, id: ContactId) -> Result<bool> {
        let n = self
            .execute(
                Query::delete()
                    .from_table(Contacts::Table)
                    .and_where(Expr::col(Contacts::WorkspaceId).eq(ws.to_string()))
                    .and_where(Expr::col(Contacts::Id).eq(id.to_string())),
            )
            .await?;
        Ok(n > 0)
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
                let tags = self
                    .tags_of_contacts(std::slice::from_ref(&row.id))
                    .await?
                    .remove(&row.id)
                    .unwrap_or_default();
                row.into_domain(identities, tags).map(Some)
            }
        }
    }

    /// Contacts, newest first, matching every filter given.
    pub async fn contacts(&mut self, ws: WorkspaceId, filter: &ContactFilter) -> Result<Page<Contact>> {
        let mut q = contact_select();
        q.and_where(Expr::col(Contacts::WorkspaceId).eq(ws.to_string()))
            .order_by(Contacts::Id, Order::Desc)
            .limit(filter.limit + 1);
        if let Some(cursor) = filter.cursor {
            q.and_where(Expr::col(Contacts::Id).lt(cursor.to_string()));
        }
        if let Some(text) = filter.query.as_deref().filter(|t| !t.is_empty()) {
            q.and_where(Expr::col(Contacts::Id).in_subquery(contacts_matching(ws, text)));
        }
        if let Some(tag) = &filter.tag {
            q.and_where(
                Expr::col(Contacts::Id).in_subquery(
                    Query::select()
                        .column((ContactTags::Table, ContactTags::ContactId))
                        .from(ContactTags::Table)
                        .inner_join(
                            Tags::Table,
                            Expr::col((Tags::Table, Tags::Id)).equals((ContactTags::Table, ContactTags::TagId)),
                        )
                        .and_where(Expr::col((Tags::Table, Tags::WorkspaceId)).eq(ws.to_string()))
                        .and_where(Expr::col((Tags::Table, Tags::Name)).eq(tag.as_str()))
                        .to_owned(),
                ),
            );
        }
        if let Some(channel) = filter.channel_id {
            // Scoped by workspace too: another workspace's channel id matches nothing.
            q.and_where(
                Expr::col(Contacts::Id).in_subquery(
                    Query::select()
                        .column(ContactIdentities::ContactId)
                        .from(ContactIdentities::Table)
                        .and_where(Expr::col(ContactIdentities::WorkspaceId).eq(ws.to_string()))
                        .and_where(Expr::col(ContactIdentities::ChannelId).eq(channel.to_string()))
                        .to_owned(),
                ),
            );
        }
        let rows: Vec<ContactRow> = self.fetch_all(&q).await?;
        let page = page_of(rows, filter.limit, |r| r.id.clone());
        Ok(Page {
            items: self.complete_contacts(page.items).await?,
            next_cursor: page.next_cursor,
        })
    }
}

/// Ids of the workspace's contacts whose name, e-mail, phone or a channel
/// identity contains `text` (case-insensitive; `%` and `_` are taken literally
/// by dropping them).
pub(crate) fn contacts_matching(ws: WorkspaceId, text: &str) -> sea_query::SelectStatement {
    let pattern = format!("%{}%", text.to_lowercase().replace(['%', '_'], ""));
    let by_identity = Query::select()
        .column(ContactIdentities::ContactId)
        .from(ContactIdentities::Table)
        .and_where(Expr::col(ContactIdentities::WorkspaceId).eq(ws.to_string()))
        .and_where(Expr::expr(sea_query::Func::lower(Expr::col(ContactIdentities::ExternalId))).like(pattern.clone()))
        .to_owned();
    Query::select()
        .column(Contacts::Id)
        .from(Contacts::Table)
        .and_where(Expr::col(Contacts::WorkspaceId).eq(ws.to_string()))
        .cond_where(
            Cond::any()
                .add(Expr::expr(sea_query::Func::lower(Expr::col(Contacts::Name))).like(pattern.clone()))
                .add(Expr::expr(sea_query::Func::lower(Expr::col(Contacts::Email))).like(pattern.clone()))
                .add(Expr::col(Contacts::Phone).like(pattern))
                .add(Expr::col(Contacts::Id).in_subquery(by_identity)),
        )
        .to_owned()
}
