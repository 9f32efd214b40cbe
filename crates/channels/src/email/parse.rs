//! An e-mail from the mailbox, made into what the rest of Switchboard
//! knows: a customer message (text without the quoted history, its files,
//! threading by `Message-ID` and `In-Reply-To`), a bounce (the message it
//! returns marked failed), or nothing at all for automatic mail
//! (`Auto-Submitted`, vacation replies, bulk), so an auto-reply never opens
//! a chat and two robots never answer each other.

use mail_parser::{Message, MessageParser, MimeHeaders, PartType};
use switchboard_core::{DeliveryStatus, Millis};

use crate::{ExternalContact, Inbound, InboundMedia, InboundMessage, StatusUpdate};

/// Text kept of one e-mail (longer ones are cut, the rest is in the mailbox).
const MAX_TEXT_CHARS: usize = 20_000;

/// Where a message came from.
#[derive(Debug, Clone, Copy)]
pub(super) struct Origin<'a> {
    /// The channel's own address: mail from it is ours, never a customer's.
    pub own_address: &'a str,
    pub source: Source,
    /// The message was over the size limit: only its header was read.
    pub too_large: Option<u32>,
}

#[derive(Debug, Clone, Copy)]
pub(super) enum Source {
    /// Read from the mailbox: its files are fetched from there again.
    Mailbox { validity: u32, uid: u32 },
    /// Posted to our hook: its files travel with it.
    Posted,
}

/// The reference of a file: where to find it again in the mailbox.
pub(super) fn media_reference(validity: u32, uid: u32, index: usize) -> String {
    format!("{validity}:{uid}:{index}")
}

/// `(validity, uid, attachment index)` of a reference.
pub(super) fn parse_media_reference(reference: &str) -> Option<(u32, u32, usize)> {
    let mut parts = reference.splitn(3, ':');
    Some((
        parts.next()?.parse().ok()?,
        parts.next()?.parse().ok()?,
        parts.next()?.parse().ok()?,
    ))
}

/// The name and bytes of a message's file, by its position among the
/// message's attachments.
pub(super) fn attachment(raw: &[u8], index: usize) -> Option<(Option<String>, Vec<u8>)> {
    let message = MessageParser::default().parse(raw)?;
    let part = message.attachments().nth(index)?;
    Some((part.attachment_name().map(str::to_owned), part.contents().to_vec()))
}

/// What one e-mail is to us.
pub(super) fn events(raw: &[u8], origin: Origin<'_>) -> Vec<Inbound> {
    let Some(message) = MessageParser::default().parse(raw) else {
        return Vec::new();
    };
    let Some(from) = message.from().and_then(|a| a.first()) else {
        return Vec::new();
    };
    let Some(address) = from
        .address()
        .map(|a| a.trim().to_ascii_lowercase())
        .filter(|a| a.contains('@'))
    else {
        return Vec::new();
    };
    if address == origin.own_address {
        return Vec::new();
    }
    if is_bounce(&message, &address) {
        return bounce(&message);
    }
    if is_automatic(&message) {
        return Vec::new();
    }
    let subject = message.subject().map(|s| s.trim().to_owned()).filter(|s| !s.is_empty());
    // Without a Message-ID, one made from where it was found (the same mail
    // is read or posted twice under the same one).
    let external_id = message
        .message_id()
        .map(|id| id.trim().to_owned())
        .filter(|id| !id.is_empty())
        .unwrap_or_else(|| match origin.source {
            Source::Mailbox { validity, uid } => format!("{validity}.{uid}@mailbox.invalid"),
            Source::Posted => format!("{}@posted.invalid", crate::signing::sha256_hex(raw)),
        });
    let text = match origin.too_large {
        Some(size) => format!(
            "(This e-mail is {} MB, more than the {} MB Switchboard reads: open it in the mailbox.)",
            size / (1024 * 1024),
            super::imap::MAX_MESSAGE_BYTES / (1024 * 1024)
        ),
        None => message
            .body_text(0)
            .map(|t| clip(without_quoted_history(&t).trim()))
            .unwrap_or_default(),
    };
    let media = if origin.too_large.is_some() {
        Vec::new()
    } else {
        message
            .attachments()
            .enumerate()
            .map(|(index, part)| match origin.source {
                Source::Mailbox { validity, uid } => InboundMedia {
                    reference: media_reference(validity, uid, index),
                    filename: part.attachment_name().map(str::to_owned),
                    content: None,
                },
                Source::Posted => InboundMedia {
                    reference: format!("posted:{index}"),
                    filename: part.attachment_name().map(str::to_owned),
                    content: Some(bytes::Bytes::copy_from_slice(part.contents())),
                },
            })
            .collect()
    };
    let text = if text.is_empty() && media.is_empty() {
        subject.clone().unwrap_or_default()
    } else {
        text
    };
    vec![Inbound::Message(InboundMessage {
        external_id,
        contact: ExternalContact {
            external_id: address.clone(),
            name: from.name().map(|n| n.trim().to_owned()).filter(|n| !n.is_empty()),
            email: Some(address),
            phone: None,
        },
        text,
        in_reply_to: first_id(message.in_reply_to()),
        references: all_ids(message.references()),
        subject,
        html: if origin.too_large.is_some() {
            None
        } else {
            // Only a real HTML part: mail-parser makes one from plain text too.
            message.html_part(0).and_then(|part| match &part.body {
                PartType::Html(html) => super::sanitize_html(html),
                _ => None,
            })
        },
        sent_at: message.date().map(|d| Millis(d.to_timestamp().saturating_mul(1000))),
        media,
    })]
}

fn first_id(value: &mail_parser::HeaderValue<'_>) -> Option<String> {
    value
        .as_text()
        .map(str::to_owned)
        .or_else(|| value.as_text_list().and_then(|l| l.first()).map(|s| s.to_string()))
        .map(|s| s.trim().to_owned())
        .filter(|s| !s.is_empty())
}

/// Every message id of a header such as `References`, in order (a long
/// thread's list is cut to its newest ids).
fn all_ids(value: &mail_parser::HeaderValue<'_>) -> Vec<String> {
    const MAX_REFERENCES: usize = 50;
    let ids: Vec<String> = match value {
        mail_parser::HeaderValue::Text(id) => vec![id.to_string()],
        mail_parser::HeaderValue::TextList(ids) => ids.iter().map(|id| id.to_string()).collect(),
        _ => Vec::new(),
    };
    let ids: Vec<String> = ids
        .into_iter()
        .map(|id| id.trim().to_owned())
        .filter(|id| !id.is_empty())
        .collect();
    ids[ids.len().saturating_sub(MAX_REFERENCES)..].to_vec()
}

fn clip(text: &str) -> String {
    match text.char_indices().nth(MAX_TEXT_CHARS) {
        Some((at, _)) => format!("{}…", &text[..at]),
        None => text.to_owned(),
    }
}

/// Mail a program sent on its own (RFC 3834's `Auto-Submitted`, and the
/// older headers vacation responders and list servers use).
fn is_automatic(message: &Message<'_>) -> bool {
    let header = |name: &str| message.header_raw(name).map(|v| v.trim().to_ascii_lowercase());
    let auto_submitted =
        header("Auto-Submitted").is_some_and(|v| v.split(';').next().is_some_and(|k| k.trim() != "no"));
    let precedence =
        header("Precedence").is_some_and(|v| matches!(v.as_str(), "bulk" | "junk" | "list" | "auto_reply"));
    auto_submitted || precedence || header("X-Autoreply").is_some() || header("X-Autorespond").is_some()
}

/// A delivery status notification (RFC 3464), or the older bounces mail
/// servers send from `MAILER-DAEMON`.
fn is_bounce(message: &Message<'_>, from: &str) -> bool {
    let report = message.content_type().is_some_and(|ct| {
        ct.ctype().eq_ignore_ascii_case("multipart")
            && ct.subtype().is_some_and(|s| s.eq_ignore_ascii_case("report"))
            && ct
                .attribute("report-type")
                .is_some_and(|r| r.eq_ignore_ascii_case("delivery-status"))
    });
    let local = from.split('@').next().unwrap_or_default();
    report || local == "mailer-daemon" || local == "postmaster"
}

/// The messages a bounce returns, each failed with the server's reason
/// (nothing for a report that only says delivery is delayed).
fn bounce(message: &Message<'_>) -> Vec<Inbound> {
    let mut status_text = String::new();
    let mut returned: Vec<String> = Vec::new();
    for part in &message.parts {
        let is = |t: &str, s: &str| part.is_content_type(t, s);
        match &part.body {
            PartType::Message(inner) => returned.extend(inner.message_id().map(str::to_owned)),
            PartType::Text(text) if is("message", "delivery-status") => status_text.push_str(text),
            PartType::Binary(bytes) | PartType::InlineBinary(bytes) if is("message", "delivery-status") => {
                status_text.push_str(&String::from_utf8_lossy(bytes));
            }
            PartType::Text(text) if is("text", "rfc822-headers") => returned.extend(header_line(text, "message-id")),
            PartType::Binary(bytes) | PartType::InlineBinary(bytes) if is("text", "rfc822-headers") => {
                returned.extend(header_line(&String::from_utf8_lossy(bytes), "message-id"));
            }
            _ => {}
        }
    }
    returned.extend(first_id(message.in_reply_to()));
    let actions: Vec<String> = header_lines(&status_text, "action")
        .map(|a| a.to_ascii_lowercase())
        .collect();
    if !actions.is_empty() && !actions.iter().any(|a| a == "failed") {
        return Vec::new();
    }
    let reason = header_line(&status_text, "diagnostic-code")
        .or_else(|| header_line(&status_text, "status"))
        .map(|r| format!("the recipient's mail server returned it: {r}"))
        .unwrap_or_else(|| "the recipient's mail server returned it as undeliverable".into());
    let mut seen = std::collections::HashSet::new();
    returned
        .into_iter()
        .map(|id| id.trim().trim_start_matches('<').trim_end_matches('>').to_owned())
        .filter(|id| !id.is_empty() && seen.insert(id.clone()))
        .map(|id| {
            Inbound::Status(StatusUpdate {
                message_id: id,
                status: DeliveryStatus::Failed,
                error: Some(reason.clone()),
            })
        })
        .collect()
}

/// The values of a header in a block of header lines (continuations joined).
fn header_lines<'a>(block: &'a str, name: &'a str) -> impl Iterator<Item = String> + 'a {
    let lines: Vec<&str> = block.lines().collect();
    (0..lines.len()).filter_map(move |i| {
        let (key, value) = lines[i].split_once(':')?;
        if !key.trim().eq_ignore_ascii_case(name) {
            return None;
        }
        let mut value = value.trim().to_owned();
        for next in &lines[i + 1..] {
            if next.starts_with([' ', '\t']) {
                value.push(' ');
                value.push_str(next.trim());
            } else {
                break;
            }
        }
        Some(value)
    })
}

fn header_line(block: &str, name: &str) -> Option<String> {
    header_lines(block, name).next().filter(|v| !v.is_empty())
}

/// A reply's own text: what comes before the quoted earlier message
/// ("On … wrote:", Outlook's "-----Original Message-----", a final block
/// of `>` lines). The whole text when nothing is left before the quote.
pub(super) fn without_quoted_history(text: &str) -> &str {
    let mut offset = 0;
    let lines: Vec<&str> = text.split_inclusive('\n').collect();
    for (i, line) in lines.iter().enumerate() {
        let trimmed = line.trim();
        let next = lines.get(i + 1).map(|l| l.trim()).unwrap_or_default();
        let attribution = trimmed.starts_with("On ")
            && (trimmed.ends_with("wrote:") || (!next.is_empty() && next.ends_with("wrote:")));
        let outlook = trimmed.starts_with("-----Original Message-----")
            || (trimmed.starts_with("From:") && i > 0 && lines[i - 1].trim().starts_with("____"));
        let quote_to_end = trimmed.starts_with('>')
            && lines[i..]
                .iter()
                .all(|l| l.trim().is_empty() || l.trim_start().starts_with('>'));
        if attribution || outlook || quote_to_end {
            let before = text[..offset].trim_end().trim_end_matches('_').trim_end();
            return if before.is_empty() { text } else { before };
        }
        offset += line.len();
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    const OWN: &str = "help@shop.example";

    fn origin() -> Origin<'static> {
        Origin {
            own_address: OWN,
            source: Source::Mailbox { validity: 3, uid: 9 },
            too_large: None,
        }
    }

    fn only_message(raw: &str) -> InboundMessage {
        match events(raw.as_bytes(), origin()).as_slice() {
            [Inbound::Message(m)] => m.clone(),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn a_reply_threads_and_loses_its_quote() {
        let m = only_message(
            "From: =?UTF-8?Q?Ana_P=C3=A9rez?= <Ana@Customer.example>\r\nTo: help@shop.example\r\nSubject: Re: Order 42\r\nMessage-ID: <r1@customer.example>\r\nIn-Reply-To: <s1@shop.example>\r\nReferences: <a0@customer.example> <s1@shop.example>\r\nDate: Tue, 1 Dec 2026 10:00:00 +0000\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nThanks, it arrived.\r\n\r\nOn Mon, 30 Nov 2026, Shop <help@shop.example> wrote:\r\n> Your order ships today.\r\n",
        );
        assert_eq!(m.external_id, "r1@customer.example");
        assert_eq!(m.in_reply_to.as_deref(), Some("s1@shop.example"));
        assert_eq!(m.references, ["a0@customer.example", "s1@shop.example"]);
        assert_eq!(m.subject.as_deref(), Some("Re: Order 42"));
        assert_eq!(m.text, "Thanks, it arrived.");
        assert_eq!(m.contact.external_id, "ana@customer.example");
        assert_eq!(m.contact.name.as_deref(), Some("Ana Pérez"));
        assert_eq!(m.sent_at, Some(Millis(1_796_119_200_000)));
    }

    #[test]
    fn html_only_mail_becomes_text_and_files_are_listed() {
        let raw = concat!(
            "From: bo@customer.example\r\nSubject: Photo\r\nMessage-ID: <p@c>\r\nMIME-Version: 1.0\r\n",
            "Content-Type: multipart/mixed; boundary=b\r\n\r\n",
            "--b\r\nContent-Type: text/html; charset=iso-8859-1\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\n<p>Hola se=F1or<script>x()</script></p>\r\n",
            "--b\r\nContent-Type: image/png; name=shot.png\r\nContent-Disposition: attachment; filename=shot.png\r\nContent-Transfer-Encoding: base64\r\n\r\niVBORw0KGgo=\r\n",
            "--b--\r\n"
        );
        let m = only_message(raw);
        assert!(m.text.contains("Hola señor"), "{}", m.text);
        assert!(!m.text.contains("<p>"));
        assert_eq!(m.media.len(), 1);
        assert_eq!(m.media[0].filename.as_deref(), Some("shot.png"));
        assert_eq!(parse_media_reference(&m.media[0].reference), Some((3, 9, 0)));
    }

    #[test]
    fn automatic_and_own_mail_is_not_a_customer_message() {
        for raw in [
            "From: a@c.example\r\nAuto-Submitted: auto-replied\r\nSubject: Out of office\r\n\r\nAway.\r\n",
            "From: a@c.example\r\nPrecedence: bulk\r\n\r\nNews.\r\n",
            "From: a@c.example\r\nX-Autoreply: yes\r\n\r\nAway.\r\n",
            "From: Help <help@shop.example>\r\n\r\nOur own.\r\n",
            "Subject: no sender\r\n\r\nx\r\n",
        ] {
            assert!(events(raw.as_bytes(), origin()).is_empty(), "{raw}");
        }
        assert_eq!(
            only_message("From: a@c.example\r\nAuto-Submitted: no\r\n\r\nHi\r\n").text,
            "Hi"
        );
    }

    #[test]
    fn a_bounce_fails_the_message_it_returns() {
        let raw = concat!(
            "From: Mail Delivery System <MAILER-DAEMON@mx.shop.example>\r\nTo: help@shop.example\r\nSubject: Undelivered Mail\r\n",
            "Auto-Submitted: auto-replied\r\nMIME-Version: 1.0\r\n",
            "Content-Type: multipart/report; report-type=delivery-status; boundary=r\r\n\r\n",
            "--r\r\nContent-Type: text/plain\r\n\r\nThe mail could not be delivered.\r\n",
            "--r\r\nContent-Type: message/delivery-status\r\n\r\nReporting-MTA: dns; mx.shop.example\r\n\r\nFinal-Recipient: rfc822; gone@customer.example\r\nAction: failed\r\nStatus: 5.1.1\r\nDiagnostic-Code: smtp; 550 5.1.1 User unknown\r\n",
            "--r\r\nContent-Type: text/rfc822-headers\r\n\r\nFrom: help@shop.example\r\nMessage-ID: <m-1@shop.example>\r\nSubject: Re: Hi\r\n",
            "--r--\r\n"
        );
        match events(raw.as_bytes(), origin()).as_slice() {
            [Inbound::Status(s)] => {
                assert_eq!(s.message_id, "m-1@shop.example");
                assert_eq!(s.status, DeliveryStatus::Failed);
                assert!(s.error.as_deref().unwrap().contains("550 5.1.1 User unknown"));
            }
            other => panic!("{other:?}"),
        }
        let delayed = raw.replace("Action: failed", "Action: delayed");
        assert!(events(delayed.as_bytes(), origin()).is_empty());
    }

    #[test]
    fn quoted_history_is_cut_only_after_own_text() {
        assert_eq!(without_quoted_history("Yes\n\n> earlier\n> more\n"), "Yes");
        assert_eq!(without_quoted_history("> only a quote\n"), "> only a quote\n");
        assert_eq!(
            without_quoted_history("Fine\n-----Original Message-----\nFrom: x\n"),
            "Fine"
        );
        assert_eq!(without_quoted_history("a > b\nc\n"), "a > b\nc\n");
    }

    #[test]
    fn garbage_never_panics() {
        for raw in [
            &b""[..],
            b"\xff\xfe",
            b"From:\r\n\r\n",
            b"Content-Type: multipart/report\r\n\r\n--",
        ] {
            let _ = events(raw, origin());
        }
    }
}
