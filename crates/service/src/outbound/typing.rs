//! The customer sees that an agent is typing, on channels whose provider
//! takes a typing indicator from us (Messenger's `typing_on`), within the
//! messaging window (outside it the provider refuses sender actions).
//! Best effort: sent after the agent's request is answered, failures only
//! logged.

use switchboard_core::Conversation;

use crate::{ServiceResult, Services};

impl Services {
    pub(crate) async fn show_typing_to_customer(&self, c: &Conversation) -> ServiceResult<()> {
        let mut db = self.store().reader();
        let Some(row) = db.channel(c.workspace_id, c.channel_id).await? else {
            return Ok(());
        };
        let setup = crate::channel_port::setup_of(&row)?;
        let Ok(adapter) = self.adapter(setup.kind).cloned() else {
            return Ok(());
        };
        let caps = adapter.capabilities();
        if !caps.typing || !caps.window.open(c.times.window_opened_at(), self.now()) {
            return Ok(());
        }
        let Some(contact) = db.contact(c.workspace_id, c.contact_id).await? else {
            return Ok(());
        };
        let Some(recipient) = contact
            .identities
            .into_iter()
            .find(|i| i.channel_id == c.channel_id)
            .map(|i| i.external_id)
        else {
            return Ok(());
        };
        let http = self.inner.http.clone();
        tokio::spawn(async move {
            if let Err(e) = adapter.show_typing(&http, &setup, &recipient).await {
                tracing::debug!(channel = %setup.id, error = %e, "the typing indicator was not shown");
            }
        });
        Ok(())
    }
}
