//! The web-chat widget as a channel. Visitors write through the widget's
//! own endpoints (`/widget/v1/…`), not a provider hook, and receive the
//! business's messages over the widget's connection, so sending is only
//! storing: the widget reports delivered and read itself.

use switchboard_core::ChannelKind;
use switchboard_core::capabilities::{Capabilities, FilesOut, WindowRule};

use crate::adapter::{BoxFuture, ChannelAdapter, ChannelSetup, Hook, HookRequest, SendContext};
use crate::{InboundError, OutboundMessage, SendError, Sent};

#[derive(Debug, Default)]
pub struct WebAdapter;

pub const CAPABILITIES: Capabilities = Capabilities {
    label: "Web chat",
    badge: "Web",
    can_write: true,
    window: WindowRule::NONE,
    buttons: true,
    lists: false,
    templates: true,
    files_out: FilesOut::Live,
    media: &[],
    quoting: true,
    read_receipts: true,
    typing: true,
    widget: true,
    inbound_hook: false,
    checks_connection: false,
    sends_read_receipts: false,
    syncs_templates: false,
    sms_segments: false,
};

impl ChannelAdapter for WebAdapter {
    fn kind(&self) -> ChannelKind {
        ChannelKind::Web
    }

    fn capabilities(&self) -> &Capabilities {
        &CAPABILITIES
    }

    fn handle_hook<'a>(&'a self, _: &'a ChannelSetup, _: &'a HookRequest) -> Result<Hook, InboundError> {
        Err(InboundError::NoHook)
    }

    fn send<'a>(&'a self, _: SendContext<'a>, _: &'a OutboundMessage) -> BoxFuture<'a, Result<Sent, SendError>> {
        Box::pin(async { Ok(Sent::default()) })
    }
}
