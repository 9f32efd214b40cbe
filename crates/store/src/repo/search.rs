//! Full-text search: which messages match a [`TextQuery`], on FTS5
//! (SQLite) or a stored `tsvector` with a GIN index (PostgreSQL), behind
//! one interface. Both index the text `switchboard_core::search::fold`
//! made, so they answer with the same set.

use sea_query::{Expr, Order, Query, SelectStatement, SimpleExpr};
use switchboard_core::search::{TextQuery, fold};
use switchboard_core::{ConversationId, Message, MessageKind, WorkspaceId};

use crate::schema::*;
use crate::{Exec, Result};

/// What the index holds for a message: the folded body of what people
/// wrote (messages, notes, comments), nothing for activity lines.
pub(crate) fn search_text(m: &Message) -> Option<String> {
    match m.kind {
        MessageKind::Activity => None,
        // An e-mail is found by its subject too.
        _ => match (&m.subject, &m.body) {
            (Some(subject), Some(body)) => Some(fold(&format!("{subject}\n{body}"))),
            (Some(only), None) | (None, Some(only)) => Some(fold(only)),
            (None, None) => None,
        },
    }
}

/// How one backend finds the messages matching a query.
#[derive(Debug, Clone, Copy)]
pub(crate) enum TextIndex {
    Fts5,
    TsVector,
}

impl TextIndex {
    pub(crate) fn of(exec: &Exec<'_>) -> Self {
        if exec.is_postgres() { Self::TsVector } else { Self::Fts5 }
    }

    /// `messages` rows matching `q`'s included terms less its exclusions
    /// (`None` when nothing is included).
    fn matches(self, q: &TextQuery) -> Option<SimpleExpr> {
        Some(match self {
            Self::Fts5 => Expr::cust_with_values(
                "messages.rowid IN (SELECT rowid FROM message_search WHERE message_search MATCH ?)",
                [q.fts5()?],
            ),
            Self::TsVector => Expr::cust_with_values("messages.search @@ to_tsquery('simple', $1)", [q.tsquery()?]),
        })
    }

    /// [`Self::matches`] among the messages of `conversations` only. On
    /// SQLite the index is asked for the row range those messages span:
    /// FTS5 then reads just that stretch of each term's list (a common
    /// word's list covers much of the archive), with the same result.
    fn matches_among(self, q: &TextQuery, conversations: &[String]) -> Option<SimpleExpr> {
        match self {
            Self::Fts5 => {
                let marks = vec!["?"; conversations.len()].join(", ");
                let end = |f: &str| format!("(SELECT {f}(rowid) FROM messages WHERE conversation_id IN ({marks}))");
                let mut values: Vec<sea_query::Value> = vec![q.fts5()?.into()];
                for _ in 0..2 {
                    values.extend(conversations.iter().map(|c| sea_query::Value::from(c.clone())));
                }
                Some(Expr::cust_with_values(
                    format!(
                        "messages.rowid IN (SELECT rowid FROM message_search WHERE message_search MATCH ? \
                         AND rowid BETWEEN {} AND {})",
                        end("min"),
                        end("max")
                    ),
                    values,
                ))
            }
            Self::TsVector => self.matches(q),
        }
    }

    /// `table.search_text` rows matching `q`'s included terms, every term's
    /// last word a prefix (people type the start of a name or number).
    fn matches_in(self, table: &'static str, fts: &'static str, q: &TextQuery) -> Option<SimpleExpr> {
        let q = q.as_prefixes();
        Some(match self {
            Self::Fts5 => Expr::cust_with_values(
                format!("{table}.rowid IN (SELECT rowid FROM {fts} WHERE {fts} MATCH ?)"),
                [q.fts5()?],
            ),
            Self::TsVector => {
                Expr::cust_with_values(format!("{table}.search @@ to_tsquery('simple', $1)"), [q.tsquery()?])
            }
        })
    }

    /// Conversations of contacts whose name, e-mail, phone or a channel
    /// identity match `q`: one select of conversation ids per index.
    pub(crate) fn contact_conversations(self, q: &TextQuery) -> Vec<SelectStatement> {
        let of_contacts = |contacts: SelectStatement| {
            Query::select()
                .column((Conversations::Table, Conversations::Id))
                .from(Conversations::Table)
                .and_where(Expr::col((Conversations::Table, Conversations::ContactId)).in_subquery(contacts))
                .to_owned()
        };
        let mut out = Vec::new();
        if let Some(by_fields) = self.matches_in("contacts", "contact_search", q) {
            out.push(of_contacts(
                Query::select()
                    .column((Contacts::Table, Contacts::Id))
                    .from(Contacts::Table)
                    .and_where(by_fields)
                    .to_owned(),
            ));
        }
        if let Some(by_identity) = self.matches_in("contact_identities", "identity_search", q) {
            out.push(of_contacts(
                Query::select()
                    .column((ContactIdentities::Table, ContactIdentities::ContactId))
                    .from(ContactIdentities::Table)
                    .and_where(by_identity)
                    .to_owned(),
            ));
        }
        out
    }

    /// Conversations with a message matching `q` (`None` when nothing is included).
    pub(crate) fn conversations_matching(self, q: &TextQuery) -> Option<SelectStatement> {
        let matches = self.matches(q)?;
        Some(
            // No workspace condition here: the outer query keeps to the
            // workspace, and one here would make SQLite scan every message.
            Query::select()
                .column((Messages::Table, Messages::ConversationId))
                .from(Messages::Table)
                .and_where(matches)
                .to_owned(),
        )
    }
}

#[derive(sqlx::FromRow)]
struct Hit {
    conversation_id: String,
    body: Option<String>,
}

/// A contact's id, name, e-mail and phone.
type UnfoldedContact = (String, Option<String>, Option<String>, Option<String>);

#[derive(sqlx::FromRow)]
struct Unfolded {
    id: String,
    kind: String,
    body: Option<String>,
}

impl Exec<'_> {
    /// The body of the newest message matching `q` in each of `conversations`.
    pub async fn newest_hits(
        &mut self,
        ws: WorkspaceId,
        conversations: &[ConversationId],
        q: &TextQuery,
    ) -> Result<Vec<(ConversationId, String)>> {
        let ids: Vec<String> = conversations.iter().map(|c| c.to_string()).collect();
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        let Some(matches) = TextIndex::of(self).matches_among(q, &ids) else {
            return Ok(Vec::new());
        };
        let rows: Vec<Hit> = self
            .fetch_all(
                Query::select()
                    .columns([
                        (Messages::Table, Messages::ConversationId),
                        (Messages::Table, Messages::Body),
                    ])
                    .from(Messages::Table)
                    .and_where(Expr::col((Messages::Table, Messages::WorkspaceId)).eq(ws.to_string()))
                    .and_where(Expr::col((Messages::Table, Messages::ConversationId)).is_in(ids.iter().cloned()))
                    .and_where(matches)
                    .order_by((Messages::Table, Messages::Id), Order::Desc),
            )
            .await?;
        let mut out: Vec<(ConversationId, String)> = Vec::new();
        for row in rows {
            let Ok(id) = row.conversation_id.parse() else { continue };
            if out.iter().any(|(c, _)| *c == id) {
                continue;
            }
            out.push((id, row.body.unwrap_or_default()));
        }
        Ok(out)
    }

    /// Fold contacts and identities written before contact search existed
    /// (once, after the migration that added it).
    pub async fn fold_unindexed_contacts(&mut self) -> Result<()> {
        loop {
            let rows: Vec<UnfoldedContact> = self
                .fetch_all(
                    Query::select()
                        .columns([Contacts::Id, Contacts::Name, Contacts::Email, Contacts::Phone])
                        .from(Contacts::Table)
                        .and_where(Expr::col(Contacts::SearchText).is_null())
                        .limit(500),
                )
                .await?;
            if rows.is_empty() {
                break;
            }
            for (id, name, email, phone) in rows {
                let text = [name, email, phone].into_iter().flatten().collect::<Vec<_>>().join(" ");
                self.execute(
                    Query::update()
                        .table(Contacts::Table)
                        .value(Contacts::SearchText, fold(&text))
                        .and_where(Expr::col(Contacts::Id).eq(id)),
                )
                .await?;
            }
        }
        // Identities are written once, so a re-insert in folded form is the update.
        loop {
            let rows: Vec<(String, String)> = self
                .fetch_all(
                    Query::select()
                        .columns([ContactIdentities::ChannelId, ContactIdentities::ExternalId])
                        .from(ContactIdentities::Table)
                        .and_where(Expr::col(ContactIdentities::SearchText).is_null())
                        .and_where(Expr::col(ContactIdentities::ExternalId).not_like("v:%"))
                        .limit(500),
                )
                .await?;
            if rows.is_empty() {
                return Ok(());
            }
            for (channel, external) in rows {
                self.execute(
                    Query::update()
                        .table(ContactIdentities::Table)
                        .value(ContactIdentities::SearchText, fold(&external))
                        .and_where(Expr::col(ContactIdentities::ChannelId).eq(channel))
                        .and_where(Expr::col(ContactIdentities::ExternalId).eq(external)),
                )
                .await?;
            }
        }
    }

    /// Fold messages written before search existed (once, after the
    /// migration that added it); returns how many were folded.
    pub async fn fold_unindexed_messages(&mut self) -> Result<u64> {
        let mut done = 0;
        loop {
            let rows: Vec<Unfolded> = self
                .fetch_all(
                    Query::select()
                        .columns([Messages::Id, Messages::Kind, Messages::Body])
                        .from(Messages::Table)
                        .and_where(Expr::col(Messages::SearchText).is_null())
                        .and_where(Expr::col(Messages::Body).is_not_null())
                        .and_where(Expr::col(Messages::Kind).ne(MessageKind::Activity.as_str()))
                        .limit(500),
                )
                .await?;
            if rows.is_empty() {
                return Ok(done);
            }
            for row in rows {
                let kind: MessageKind = row.kind.parse().unwrap_or(MessageKind::Text);
                let folded = match kind {
                    MessageKind::Activity => String::new(),
                    _ => fold(row.body.as_deref().unwrap_or_default()),
                };
                self.execute(
                    Query::update()
                        .table(Messages::Table)
                        .value(Messages::SearchText, folded)
                        .and_where(Expr::col(Messages::Id).eq(row.id)),
                )
                .await?;
                done += 1;
            }
        }
    }
}
