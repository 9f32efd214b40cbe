//! The channel adapters as the rest of the service sees them: a channel's
//! capabilities and its adapter, never its kind.

use std::sync::Arc;

use switchboard_channels::{ChannelAdapter, ChannelSetup, Secret};
use switchboard_core::ChannelKind;
use switchboard_core::capabilities::Capabilities;
use switchboard_store::ChannelRow;

use crate::{ServiceError, ServiceResult, Services};

/// What an adapter sees of a stored channel.
pub(crate) fn setup_of(row: &ChannelRow) -> ServiceResult<ChannelSetup> {
    Ok(ChannelSetup {
        id: row
            .id
            .parse()
            .map_err(|_| ServiceError::Internal("bad channel id".into()))?,
        workspace_id: row
            .workspace_id
            .parse()
            .map_err(|_| ServiceError::Internal("bad workspace id".into()))?,
        kind: row
            .kind
            .parse()
            .map_err(|_| ServiceError::Internal(format!("unknown channel kind {:?}", row.kind)))?,
        callback_url: row.callback_url.clone(),
        secret: row.secret.clone().map(Secret::new),
        settings: row.settings_json(),
    })
}

/// What an adapter sees of a channel about to be stored.
pub(crate) fn setup_of_record(record: &switchboard_store::ChannelRecord) -> ChannelSetup {
    ChannelSetup {
        id: record.id,
        workspace_id: record.workspace_id,
        kind: record.kind,
        callback_url: record.callback_url.clone(),
        secret: record.secret.clone().map(Secret::new),
        settings: record.settings.clone(),
    }
}

/// A kind's capabilities as Switchboard ships them, for its name and badge.
pub fn standard_capabilities(kind: ChannelKind) -> &'static Capabilities {
    switchboard_channels::registry::standard_capabilities(kind)
}

impl Services {
    /// A channel as admins see it: its provider configuration's public part
    /// filled in by its adapter.
    pub(crate) fn channel_view(&self, row: &ChannelRow) -> ServiceResult<switchboard_core::Channel> {
        let mut channel = row.to_domain()?;
        let stored = row.settings_json().get("config").cloned().filter(|c| !c.is_null());
        if let (Some(stored), Some(adapter)) = (stored, self.config().channels.adapter(channel.kind)) {
            channel.config = Some(adapter.public_config(&stored)).filter(|c| !c.is_null());
        }
        Ok(channel)
    }

    /// What channels of `kind` can do.
    pub fn capabilities(&self, kind: ChannelKind) -> &Capabilities {
        self.config().channels.capabilities(kind)
    }

    /// The kinds a channel can be created with now.
    pub fn creatable_kinds(&self) -> Vec<ChannelKind> {
        self.config().channels.creatable()
    }

    /// The adapter of a kind; a kind without one has no channels to act on.
    pub(crate) fn adapter(&self, kind: ChannelKind) -> ServiceResult<&Arc<dyn ChannelAdapter>> {
        self.config()
            .channels
            .adapter(kind)
            .ok_or(ServiceError::Conflict(format!("{kind} channels are not available yet")))
    }

    /// Register a channel with its provider before it is stored: a value
    /// the provider refuses is that field's error.
    pub(crate) async fn connect_channel(&self, setup: &ChannelSetup) -> ServiceResult<()> {
        self.adapter(setup.kind)?
            .connect(&self.inner.http, setup)
            .await
            .map_err(|e| match e {
                switchboard_channels::ConnectError::Config(c) => {
                    switchboard_core::validate::Invalid::new(c.field, c.message).into()
                }
                switchboard_channels::ConnectError::Provider(p) => {
                    ServiceError::Conflict(format!("the provider did not accept the channel: {p}"))
                }
            })
    }

    /// Whether the business can write on this channel now; the error says
    /// why not.
    pub(crate) fn ready_to_send(&self, setup: &ChannelSetup) -> ServiceResult<()> {
        self.adapter(setup.kind)?
            .ready_to_send(setup)
            .map_err(ServiceError::Conflict)
    }
}
