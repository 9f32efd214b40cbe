//! What the providers without an adapter yet can do, from DESIGN.md §6 and
//! channels.md, so conversations already on such a channel (made before
//! kinds needed an adapter) keep their window rule. Such channels cannot
//! be created and cannot send; each provider's adapter, when it lands,
//! declares its own capabilities and leaves this table.

use switchboard_core::ChannelKind;
use switchboard_core::capabilities::{Capabilities, FilesOut, WindowRule};

const fn unavailable(label: &'static str, badge: &'static str, window: WindowRule) -> Capabilities {
    Capabilities {
        label,
        badge,
        can_write: false,
        window,
        buttons: false,
        lists: false,
        templates: false,
        files_out: FilesOut::None,
        media: &[],
        quoting: false,
        read_receipts: false,
        typing: false,
        widget: false,
        inbound_hook: false,
        checks_connection: false,
        sends_read_receipts: false,
        syncs_templates: false,
    }
}

pub(crate) const X: Capabilities = unavailable("X", "X", WindowRule::NONE);

/// The documented capabilities of a kind that has no adapter.
pub(crate) fn capabilities(kind: ChannelKind) -> &'static Capabilities {
    match kind {
        ChannelKind::Whatsapp => &crate::whatsapp::CAPABILITIES,
        ChannelKind::Messenger => &crate::messenger::MESSENGER_CAPABILITIES,
        ChannelKind::Instagram => &crate::messenger::INSTAGRAM_CAPABILITIES,
        ChannelKind::Telegram => &crate::telegram::CAPABILITIES,
        ChannelKind::Sms => &crate::twilio::CAPABILITIES,
        ChannelKind::Email => &crate::email::CAPABILITIES,
        ChannelKind::Vk => &crate::vk::CAPABILITIES,
        ChannelKind::X => &X,
        ChannelKind::Api => &crate::api::CAPABILITIES,
        ChannelKind::Web => &crate::web::CAPABILITIES,
    }
}
