//! E-mail (channels.md §5): a mailbox read by IMAP, or mail a relay posts
//! to the channel's hook, and replies sent by SMTP. The channel's
//! configuration is the address customers write to, the servers, the login
//! (a password, or an OAuth2 token for `XOAUTH2`) and the folder to read.
//!
//! Inbound: polled by UID (`IDLE` waits for news between polls) or posted
//! whole ([`hook`]), each message parsed with `mail-parser`; automatic mail is dropped, bounces
//! fail the message they return, a reply keeps its `Message-ID`,
//! `In-Reply-To` and subject. Files stay in the mailbox until fetched.
//! Outbound: a threaded reply with a text and an HTML part, the signature,
//! and the agent's files.

mod config;
mod connect;
mod hook;
mod html;
mod imap;
mod oauth;
mod parse;
mod smtp;

use std::time::Duration;

pub use html::sanitize_html;

use switchboard_core::capabilities::{Capabilities, FilesOut, MediaLimit, WindowRule};
use switchboard_core::{AttachmentKind, ChannelKind};

use crate::adapter::{
    BoxFuture, ChannelAdapter, ChannelSetup, ConfigError, FetchedMedia, Hook, HookRequest, Polled, SendContext,
};
use crate::net::OutboundHttp;
use crate::{InboundError, OutboundMessage, SendError, Sent};

const FILE_LIMIT: i64 = smtp::MAX_ATTACHMENT_BYTES;

pub const CAPABILITIES: Capabilities = Capabilities {
    label: "E-mail",
    badge: "@",
    can_write: true,
    window: WindowRule::NONE,
    buttons: false,
    lists: false,
    templates: false,
    files_out: FilesOut::SignedLink,
    media: &[
        MediaLimit {
            kind: AttachmentKind::Image,
            max_bytes: FILE_LIMIT,
        },
        MediaLimit {
            kind: AttachmentKind::Video,
            max_bytes: FILE_LIMIT,
        },
        MediaLimit {
            kind: AttachmentKind::Audio,
            max_bytes: FILE_LIMIT,
        },
        MediaLimit {
            kind: AttachmentKind::Document,
            max_bytes: FILE_LIMIT,
        },
    ],
    quoting: true,
    read_receipts: false,
    typing: false,
    widget: false,
    inbound_hook: true,
    checks_connection: true,
    sends_read_receipts: false,
    syncs_templates: false,
    sms_segments: false,
};

/// How mail servers are reached, for every e-mail channel of the server.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MailSettings {
    /// How long one poll waits with `IDLE` for news (tests shorten it).
    pub idle_wait_secs: u64,
    /// Certificate authorities trusted beside the system's (DER), for mail
    /// servers whose certificates a private CA issued.
    pub extra_roots: Vec<Vec<u8>>,
}

impl Default for MailSettings {
    fn default() -> Self {
        MailSettings {
            idle_wait_secs: 25,
            extra_roots: Vec::new(),
        }
    }
}

impl MailSettings {
    /// Trust the certificates of a PEM file (an operator's private CA) too.
    pub fn trusting_pem(mut self, pem: &[u8]) -> Result<MailSettings, String> {
        use tokio_rustls::rustls::pki_types::CertificateDer;
        use tokio_rustls::rustls::pki_types::pem::PemObject;
        let found: Vec<Vec<u8>> = CertificateDer::pem_slice_iter(pem)
            .map(|c| c.map(|c| c.to_vec()))
            .collect::<Result<_, _>>()
            .map_err(|e| format!("not a PEM file of certificates: {e}"))?;
        if found.is_empty() {
            return Err("the file holds no certificate".into());
        }
        self.extra_roots.extend(found);
        Ok(self)
    }
}

/// The `XOAUTH2` initial response (Google's and Microsoft's SASL profile).
fn xoauth2(user: &str, token: &str) -> String {
    format!("user={user}\x01auth=Bearer {token}\x01\x01")
}

/// What one raw e-mail from the mailbox becomes (the reader's parsing,
/// public for the fuzzer).
pub fn parse_mail(raw: &[u8], own_address: &str) -> Vec<crate::Inbound> {
    parse::events(
        raw,
        parse::Origin {
            own_address,
            source: parse::Source::Mailbox { validity: 1, uid: 1 },
            too_large: None,
        },
    )
}

/// A raw e-mail's file by position: its name and bytes (public for the
/// fuzzer).
pub fn mail_file(raw: &[u8], index: usize) -> Option<(Option<String>, Vec<u8>)> {
    parse::attachment(raw, index)
}

#[derive(Debug, Default)]
pub struct EmailAdapter {
    settings: MailSettings,
    tokens: oauth::TokenCache,
}

impl EmailAdapter {
    pub fn new(settings: MailSettings) -> EmailAdapter {
        EmailAdapter {
            settings,
            tokens: oauth::TokenCache::default(),
        }
    }

    fn dial<'a>(&'a self, http: &'a OutboundHttp) -> connect::Dial<'a> {
        connect::Dial {
            http,
            roots: &self.settings.extra_roots,
            tokens: &self.tokens,
        }
    }
}

impl ChannelAdapter for EmailAdapter {
    fn kind(&self) -> ChannelKind {
        ChannelKind::Email
    }

    fn capabilities(&self) -> &Capabilities {
        &CAPABILITIES
    }

    fn ready_to_send(&self, channel: &ChannelSetup) -> Result<(), String> {
        config::Config::required(channel).map(|_| ()).map_err(|e| e.to_string())
    }

    fn configure(
        &self,
        given: Option<&serde_json::Value>,
        current: Option<&serde_json::Value>,
    ) -> Result<Option<serde_json::Value>, ConfigError> {
        config::configure(given, current)
    }

    fn public_config(&self, stored: &serde_json::Value) -> serde_json::Value {
        serde_json::from_value::<config::Config>(stored.clone())
            .map(|c| c.public())
            .unwrap_or(serde_json::Value::Null)
    }

    /// Mail a relay posts (a channel reading a mailbox takes it too).
    fn handle_hook<'a>(&'a self, channel: &'a ChannelSetup, request: &'a HookRequest) -> Result<Hook, InboundError> {
        let config = config::Config::of(channel).ok_or(InboundError::NoHook)?;
        let secret = channel.secret.as_ref().map(|s| s.expose());
        hook::events(request, secret, &config.address).map(Hook::Events)
    }

    fn hook_body_limit(&self) -> Option<usize> {
        Some(hook::MAX_POSTED_BYTES)
    }

    /// Bounces also come back for mail sent from the mailbox by hand.
    fn unknown_status_fails(&self) -> bool {
        false
    }

    fn threads_replies(&self) -> bool {
        true
    }

    fn send<'a>(&'a self, cx: SendContext<'a>, message: &'a OutboundMessage) -> BoxFuture<'a, Result<Sent, SendError>> {
        Box::pin(async move { smtp::send(self.dial(cx.http), &config::Config::required(cx.channel)?, message).await })
    }

    fn polls(&self, channel: &ChannelSetup) -> bool {
        config::Config::of(channel).is_some_and(|c| c.imap.is_some())
    }

    fn poll<'a>(
        &'a self,
        http: &'a OutboundHttp,
        channel: &'a ChannelSetup,
        cursor: Option<&'a str>,
    ) -> BoxFuture<'a, Result<Polled, SendError>> {
        Box::pin(async move {
            let config = config::Config::required(channel)?;
            let cursor = cursor.and_then(config::Cursor::parse);
            let wait = Duration::from_secs(self.settings.idle_wait_secs);
            let read = imap::read(self.dial(http), &config, cursor, wait).await?;
            let events = read
                .messages
                .iter()
                .flat_map(|m| {
                    parse::events(
                        &m.raw,
                        parse::Origin {
                            own_address: &config.address,
                            source: parse::Source::Mailbox {
                                validity: read.validity,
                                uid: m.uid,
                            },
                            too_large: m.too_large,
                        },
                    )
                })
                .collect();
            Ok(Polled {
                events,
                cursor: Some(read.cursor.to_string()),
            })
        })
    }

    fn fetch_media<'a>(
        &'a self,
        http: &'a OutboundHttp,
        channel: &'a ChannelSetup,
        reference: &'a str,
    ) -> BoxFuture<'a, Result<FetchedMedia, SendError>> {
        Box::pin(async move {
            let config = config::Config::required(channel)?;
            let (validity, uid, index) = parse::parse_media_reference(reference)
                .ok_or_else(|| SendError::Permanent("not a file of this mailbox".into()))?;
            let raw = imap::message(self.dial(http), &config, validity, uid).await?;
            let (filename, bytes) = parse::attachment(&raw, index)
                .ok_or_else(|| SendError::Permanent("the message no longer has that file".into()))?;
            let size = bytes.len() as u64;
            let body = futures::stream::once(async move { Ok(bytes::Bytes::from(bytes)) });
            Ok(FetchedMedia {
                filename,
                declared_size: Some(size),
                body: Box::pin(body),
            })
        })
    }

    fn check_connection<'a>(
        &'a self,
        http: &'a OutboundHttp,
        channel: &'a ChannelSetup,
    ) -> BoxFuture<'a, Result<String, String>> {
        Box::pin(async move {
            let config = config::Config::of(channel).ok_or_else(|| "no mailbox is configured".to_owned())?;
            let imap = match config.imap {
                Some(_) => imap::check(self.dial(http), &config)
                    .await
                    .map_err(|e| format!("IMAP: {e}"))?,
                None => "Mail arrives when a relay posts it to the channel's hook".to_owned(),
            };
            let smtp = smtp::check(self.dial(http), &config)
                .await
                .map_err(|e| format!("SMTP: {e}"))?;
            Ok(format!("{imap}. {smtp}."))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::MailSettings;

    /// Google's example of the SASL `XOAUTH2` initial client response
    /// (developers.google.com/gmail/imap/xoauth2-protocol), base64-encoded
    /// as the IMAP and SMTP clients send it.
    #[test]
    fn the_xoauth2_response_is_googles_example() {
        use base64::Engine;
        let response = super::xoauth2("someuser@example.com", "ya29.vF9dft4qmTc2Nvb3RlckBhdHRhdmlzdGEuY29tCg");
        assert_eq!(
            base64::engine::general_purpose::STANDARD.encode(response),
            "dXNlcj1zb21ldXNlckBleGFtcGxlLmNvbQFhdXRoPUJlYXJlciB5YTI5LnZGOWRmdDRxbVRjMk52YjNSbGNrQmhkSFJoZG1semRHRXVZMjl0Q2cBAQ=="
        );
    }

    #[test]
    fn a_ca_file_must_hold_certificates() {
        assert!(MailSettings::default().trusting_pem(b"not a certificate").is_err());
        let key_only = b"-----BEGIN PRIVATE KEY-----\nMC4CAQAwBQYDK2VwBCIEIA==\n-----END PRIVATE KEY-----\n";
        assert!(MailSettings::default().trusting_pem(key_only).is_err());
    }
}
