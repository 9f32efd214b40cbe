//! Saved filters: a member names an archive filter (the list's query
//! string) to come back to; each member sees only their own.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use switchboard_core::permissions::Actor;
use switchboard_core::validate::Invalid;
use switchboard_core::{Millis, SavedFilterId};
use switchboard_store::SavedFilter;

use crate::{ServiceError, ServiceResult, Services};

const MAX_PER_MEMBER: usize = 50;
const MAX_NAME_CHARS: usize = 80;
const MAX_QUERY_BYTES: usize = 2_000;

#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SavedFilterInput {
    #[schemars(length(min = 1, max = 80))]
    pub name: String,
    /// The list's query string, e.g. `section=archived&period=last_30_days&tag=vip`.
    #[schemars(length(max = 2000))]
    pub query: String,
}

#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct SavedFilterView {
    pub id: SavedFilterId,
    pub name: String,
    pub query: String,
    pub created_at: Millis,
}

impl From<SavedFilter> for SavedFilterView {
    fn from(f: SavedFilter) -> Self {
        Self {
            id: f.id,
            name: f.name,
            query: f.query,
            created_at: f.created_at,
        }
    }
}

impl Services {
    pub async fn saved_filters(&self, actor: &Actor) -> ServiceResult<Vec<SavedFilterView>> {
        let filters = self
            .store()
            .reader()
            .saved_filters(actor.workspace_id, actor.user_id)
            .await?;
        Ok(filters.into_iter().map(Into::into).collect())
    }

    pub async fn save_filter(&self, actor: &Actor, input: SavedFilterInput) -> ServiceResult<SavedFilterView> {
        let name = input.name.trim();
        if name.is_empty() || name.chars().count() > MAX_NAME_CHARS {
            return Err(Invalid::new("name", format!("1 to {MAX_NAME_CHARS} characters")).into());
        }
        let query = input.query.trim().trim_start_matches('?');
        if query.len() > MAX_QUERY_BYTES || query.chars().any(char::is_control) {
            return Err(Invalid::new("query", format!("a query string of at most {MAX_QUERY_BYTES} bytes")).into());
        }
        let mut tx = self.store().begin().await?;
        let existing = tx.exec().saved_filters(actor.workspace_id, actor.user_id).await?;
        if existing.iter().any(|f| f.name == name) {
            return Err(ServiceError::Stale(Invalid::new(
                "name",
                "you already have a filter of that name",
            )));
        }
        if existing.len() >= MAX_PER_MEMBER {
            return Err(Invalid::new(
                "name",
                format!("at most {MAX_PER_MEMBER} saved filters; delete one first"),
            )
            .into());
        }
        let filter = SavedFilter {
            id: SavedFilterId::new(),
            name: name.to_owned(),
            query: query.to_owned(),
            created_at: self.now(),
        };
        tx.exec()
            .insert_saved_filter(actor.workspace_id, actor.user_id, &filter)
            .await?;
        tx.commit().await?;
        Ok(filter.into())
    }

    pub async fn delete_saved_filter(&self, actor: &Actor, id: SavedFilterId) -> ServiceResult<()> {
        let mut tx = self.store().begin().await?;
        if !tx
            .exec()
            .delete_saved_filter(actor.workspace_id, actor.user_id, id)
            .await?
        {
            return Err(ServiceError::NotFound("saved filter"));
        }
        tx.commit().await?;
        Ok(())
    }
}
