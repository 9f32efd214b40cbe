//! Which adapter serves each kind of channel. A kind without an adapter
//! cannot be created; its documented capabilities still answer for
//! channels made before (so their messaging window holds).

use std::sync::Arc;

use switchboard_core::ChannelKind;
use switchboard_core::capabilities::Capabilities;

use crate::adapter::ChannelAdapter;

/// What channels of `kind` can do as Switchboard ships (adapters added in
/// tests aside): for labels, where no registry is at hand.
pub fn standard_capabilities(kind: ChannelKind) -> &'static Capabilities {
    crate::documented::capabilities(kind)
}

/// Where the providers' APIs are, from the server's configuration.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ProviderApis {
    /// Meta's Graph API for WhatsApp, Messenger and Instagram: base URL
    /// and version.
    pub whatsapp: crate::whatsapp::GraphApi,
    /// Telegram's Bot API, and where Telegram reaches our hooks.
    pub telegram: crate::telegram::BotApi,
    /// Twilio's REST API, and the public URL Twilio signs.
    pub twilio: crate::twilio::TwilioApi,
    /// VK's API.
    pub vk: crate::vk::VkApi,
    /// How mailboxes are read.
    pub email: crate::email::MailSettings,
    /// X's API.
    pub x: crate::x::XApi,
}

#[derive(Clone)]
pub struct Registry {
    adapters: Vec<Arc<dyn ChannelAdapter>>,
}

impl std::fmt::Debug for Registry {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_list().entries(self.adapters.iter().map(|a| a.kind())).finish()
    }
}

impl Default for Registry {
    fn default() -> Self {
        Registry::standard()
    }
}

impl Registry {
    /// Every adapter Switchboard ships, calling the providers' public APIs.
    pub fn standard() -> Registry {
        Registry::standard_with(&ProviderApis::default())
    }

    /// Every adapter Switchboard ships, calling the providers where
    /// configured (tests point them at local fakes).
    pub fn standard_with(apis: &ProviderApis) -> Registry {
        Registry { adapters: Vec::new() }
            .with(Arc::new(crate::web::WebAdapter))
            .with(Arc::new(crate::whatsapp::WhatsAppAdapter::new(apis.whatsapp.clone())))
            .with(Arc::new(crate::messenger::MessengerAdapter::new(
                apis.whatsapp.clone(),
                crate::messenger::Platform::Messenger,
            )))
            .with(Arc::new(crate::messenger::MessengerAdapter::new(
                apis.whatsapp.clone(),
                crate::messenger::Platform::Instagram,
            )))
            .with(Arc::new(crate::telegram::TelegramAdapter::new(apis.telegram.clone())))
            .with(Arc::new(crate::twilio::TwilioAdapter::new(apis.twilio.clone())))
            .with(Arc::new(crate::vk::VkAdapter::new(apis.vk.clone())))
            .with(Arc::new(crate::email::EmailAdapter::new(apis.email.clone())))
            .with(Arc::new(crate::x::XAdapter::new(apis.x.clone())))
            .with(Arc::new(crate::api::ApiAdapter))
    }

    /// This registry with `adapter` serving its kind (replacing any other).
    pub fn with(mut self, adapter: Arc<dyn ChannelAdapter>) -> Registry {
        self.adapters.retain(|a| a.kind() != adapter.kind());
        self.adapters.push(adapter);
        self
    }

    /// This registry without an adapter for `kind` (such channels cannot be
    /// created; tests use it).
    pub fn without(mut self, kind: ChannelKind) -> Registry {
        self.adapters.retain(|a| a.kind() != kind);
        self
    }

    pub fn adapter(&self, kind: ChannelKind) -> Option<&Arc<dyn ChannelAdapter>> {
        self.adapters.iter().find(|a| a.kind() == kind)
    }

    /// What channels of `kind` can do.
    pub fn capabilities(&self, kind: ChannelKind) -> &Capabilities {
        match self.adapter(kind) {
            Some(adapter) => adapter.capabilities(),
            None => crate::documented::capabilities(kind),
        }
    }

    /// The kinds a channel can be created with, in the order of
    /// [`ChannelKind::ALL`].
    pub fn creatable(&self) -> Vec<ChannelKind> {
        ChannelKind::ALL
            .iter()
            .copied()
            .filter(|k| self.adapter(*k).is_some())
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use switchboard_core::windows::DAY_MS;

    use super::*;

    #[test]
    fn every_creatable_kind_has_an_adapter_of_that_kind() {
        let registry = Registry::standard();
        assert_eq!(
            registry.creatable(),
            vec![
                ChannelKind::Web,
                ChannelKind::Whatsapp,
                ChannelKind::Messenger,
                ChannelKind::Instagram,
                ChannelKind::Telegram,
                ChannelKind::Sms,
                ChannelKind::Email,
                ChannelKind::Vk,
                ChannelKind::X,
                ChannelKind::Api
            ]
        );
        for kind in registry.creatable() {
            assert_eq!(registry.adapter(kind).map(|a| a.kind()), Some(kind));
        }
        for kind in ChannelKind::ALL {
            assert_eq!(
                registry.adapter(*kind).is_some(),
                registry.creatable().contains(kind),
                "{kind}"
            );
        }
    }

    /// DESIGN.md §6: WhatsApp 24 hours; Messenger and Instagram 24 hours,
    /// then the human-agent tag up to 7 days; every other channel none.
    #[test]
    fn windows_agree_with_the_design() {
        let registry = Registry::standard();
        for kind in ChannelKind::ALL {
            let window = registry.capabilities(*kind).window;
            let (free_form, extension) = match kind {
                ChannelKind::Whatsapp => (Some(DAY_MS), None),
                ChannelKind::Messenger | ChannelKind::Instagram => (Some(DAY_MS), Some(("HUMAN_AGENT", 7 * DAY_MS))),
                _ => (None, None),
            };
            assert_eq!(window.free_form_ms, free_form, "{kind}");
            assert_eq!(window.extension.map(|e| (e.tag, e.until_ms)), extension, "{kind}");
        }
    }

    #[test]
    fn menus_are_buttons_where_the_channel_has_them() {
        let registry = Registry::standard();
        let buttons = |k| registry.capabilities(k).buttons;
        assert!(buttons(ChannelKind::Web) && buttons(ChannelKind::Api) && buttons(ChannelKind::Whatsapp));
        assert!(
            !buttons(ChannelKind::Sms)
                && registry
                    .adapter(ChannelKind::Sms)
                    .is_some_and(|a| a.opt_out_stops_all())
        );
    }

    #[test]
    fn kinds_without_an_adapter_cannot_write() {
        let registry = Registry::standard();
        for kind in ChannelKind::ALL {
            let caps = registry.capabilities(*kind);
            assert_eq!(caps.can_write, registry.adapter(*kind).is_some(), "{kind}");
            assert!(!caps.label.is_empty() && !caps.badge.is_empty());
        }
    }

    #[test]
    fn a_test_adapter_replaces_the_kinds_capabilities() {
        let registry = Registry::standard().with(Arc::new(crate::testing::TestAdapter::new(ChannelKind::Vk)));
        assert!(registry.creatable().contains(&ChannelKind::Vk));
        assert!(registry.capabilities(ChannelKind::Vk).inbound_hook);
    }
}
