//! What each kind of channel can do as Switchboard ships, from its
//! adapter's declaration: the answer where no registry is at hand, and for
//! a kind a registry lacks (tests take adapters away), so conversations on
//! such a channel keep their window rule.

use switchboard_core::ChannelKind;
use switchboard_core::capabilities::Capabilities;

/// The shipped capabilities of a kind.
pub(crate) fn capabilities(kind: ChannelKind) -> &'static Capabilities {
    match kind {
        ChannelKind::Whatsapp => &crate::whatsapp::CAPABILITIES,
        ChannelKind::Messenger => &crate::messenger::MESSENGER_CAPABILITIES,
        ChannelKind::Instagram => &crate::messenger::INSTAGRAM_CAPABILITIES,
        ChannelKind::Telegram => &crate::telegram::CAPABILITIES,
        ChannelKind::Sms => &crate::twilio::CAPABILITIES,
        ChannelKind::Email => &crate::email::CAPABILITIES,
        ChannelKind::Vk => &crate::vk::CAPABILITIES,
        ChannelKind::X => &crate::x::CAPABILITIES,
        ChannelKind::Api => &crate::api::CAPABILITIES,
        ChannelKind::Web => &crate::web::CAPABILITIES,
    }
}
