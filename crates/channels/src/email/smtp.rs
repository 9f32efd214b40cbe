//! Replies by SMTP (lettre): `From` the channel's address, threaded with
//! `In-Reply-To` and `References` onto the customer's mail, a plain-text
//! and an HTML part with the channel's signature, and the agent's files
//! attached. lettre encodes every header, so no value (a subject, a name)
//! can add a header or a line of its own.

use std::time::Duration;

use lettre::message::header::ContentType;
use lettre::message::{Attachment, Mailbox, MultiPart, SinglePart};
use lettre::transport::smtp::authentication::{Credentials, Mechanism};
use lettre::transport::smtp::client::{Certificate, Tls, TlsParameters};
use lettre::{AsyncSmtpTransport, AsyncTransport, Tokio1Executor};

use super::config::{Auth, Config, Security};
use super::connect::{self, Dial};
use crate::net::OutboundHttp;
use crate::{OutboundMessage, SendError, Sent};

/// All files of one reply together (most servers take 25 MB of mail).
pub(super) const MAX_ATTACHMENT_BYTES: i64 = 20 * 1024 * 1024;

/// Ids kept in `References` (the newest; the first one, the thread's
/// root, always).
const MAX_REFERENCES: usize = 20;

/// A message id as headers carry it, or `None` for one that is not safe
/// to repeat (an id from a customer's mail is theirs to choose).
fn angle(id: &str) -> Option<String> {
    let id = id.trim().trim_start_matches('<').trim_end_matches('>');
    let valid = !id.is_empty()
        && id.len() <= 250
        && id.contains('@')
        && id.bytes().all(|b| b.is_ascii_graphic() && b != b'<' && b != b'>');
    valid.then(|| format!("<{id}>"))
}

/// The id our reply goes out with (the same on every retry).
pub(super) fn message_id(config: &Config, message: &OutboundMessage) -> String {
    let domain = config.address.rsplit('@').next().unwrap_or("switchboard.invalid");
    format!("{}@{domain}", message.message_id)
}

/// `Re: ` and the thread's subject, once.
pub(super) fn reply_subject(config: &Config, thread_subject: Option<&str>) -> String {
    let one_line = |s: &str| s.split_whitespace().collect::<Vec<_>>().join(" ");
    match thread_subject.map(one_line).filter(|s| !s.is_empty()) {
        Some(s) if s.len() >= 3 && s[..3].eq_ignore_ascii_case("re:") => s,
        Some(s) => format!("Re: {s}"),
        None => format!(
            "Message from {}",
            config
                .display_name
                .as_deref()
                .map(one_line)
                .unwrap_or_else(|| config.address.clone())
        ),
    }
}

fn escape_html(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            '\n' => out.push_str("<br>\n"),
            c => out.push(c),
        }
    }
    out
}

/// The reply as a MIME message.
pub(super) fn build(
    config: &Config,
    message: &OutboundMessage,
    files: Vec<(String, String, Vec<u8>)>,
) -> Result<lettre::Message, SendError> {
    let invalid = |what: &str, e: &dyn std::fmt::Display| SendError::Permanent(format!("{what}: {e}"));
    let from = Mailbox::new(
        config.display_name.clone(),
        config
            .address
            .parse()
            .map_err(|e| invalid("the channel's address", &e))?,
    );
    let to: Mailbox = message
        .recipient_external_id
        .parse()
        .map_err(|e| invalid("the customer's address", &e))?;
    let mut text = message.text.clone();
    let mut html = format!("<div>{}</div>", escape_html(&message.text));
    if let Some(signature) = config.signature.as_deref().filter(|s| !s.trim().is_empty()) {
        text.push_str("\n\n-- \n");
        text.push_str(signature);
        html.push_str(&format!("<p>-- <br>\n{}</p>", escape_html(signature)));
    }
    let html = format!("<!doctype html><html><body>{html}</body></html>");
    let mut builder = lettre::Message::builder()
        .from(from)
        .to(to)
        .subject(reply_subject(config, message.subject.as_deref()))
        .message_id(Some(format!("<{}>", message_id(config, message))))
        .user_agent(concat!("Switchboard/", env!("CARGO_PKG_VERSION")).into());
    let thread: Vec<String> = message.thread.iter().filter_map(|id| angle(id)).collect();
    let parent = message
        .in_reply_to
        .as_deref()
        .and_then(angle)
        .or_else(|| thread.last().cloned());
    if let Some(parent) = parent {
        builder = builder.in_reply_to(parent);
    }
    if !thread.is_empty() {
        let keep = thread.len().min(MAX_REFERENCES);
        let mut references: Vec<&str> = Vec::with_capacity(keep + 1);
        if thread.len() > keep {
            references.push(&thread[0]);
        }
        references.extend(thread[thread.len() - keep..].iter().map(String::as_str));
        builder = builder.references(references.join(" "));
    }
    let body = MultiPart::alternative_plain_html(text, html);
    let mail = if files.is_empty() {
        builder.multipart(body)
    } else {
        let mut mixed = MultiPart::mixed().multipart(body);
        for (name, mime, bytes) in files {
            let content_type = ContentType::parse(&mime)
                .unwrap_or(ContentType::parse("application/octet-stream").map_err(|e| invalid("a file", &e))?);
            let part: SinglePart = Attachment::new(name).body(bytes, content_type);
            mixed = mixed.singlepart(part);
        }
        builder.multipart(mixed)
    };
    mail.map_err(|e| invalid("the reply could not be built", &e))
}

/// Download the agent's files from their signed links, within the limit.
async fn files(http: &OutboundHttp, message: &OutboundMessage) -> Result<Vec<(String, String, Vec<u8>)>, SendError> {
    let total: i64 = message.attachments.iter().map(|f| f.size).sum();
    if total > MAX_ATTACHMENT_BYTES {
        return Err(SendError::Permanent(format!(
            "the files are {} MB together; e-mail takes at most {} MB",
            total / (1024 * 1024),
            MAX_ATTACHMENT_BYTES / (1024 * 1024)
        )));
    }
    let mut out = Vec::with_capacity(message.attachments.len());
    for file in &message.attachments {
        let bytes = crate::net::fetch_bytes(http, &file.url, MAX_ATTACHMENT_BYTES, "e-mail").await?;
        out.push((file.filename.clone(), file.mime.clone(), bytes));
    }
    Ok(out)
}

/// A transport to the channel's SMTP server, dialled at an allowed address.
async fn transport(dial: Dial<'_>, config: &Config) -> Result<AsyncSmtpTransport<Tokio1Executor>, SendError> {
    let server = &config.smtp;
    let address = connect::addresses(dial.http, server).await?[0];
    let parameters = || {
        let setup_failed = |e: lettre::transport::smtp::Error| {
            SendError::Permanent(format!("TLS could not be set up for {}: {e}", server.host))
        };
        let mut builder = TlsParameters::builder(server.host.clone());
        for der in dial.roots {
            builder = builder.add_root_certificate(Certificate::from_der(der.clone()).map_err(setup_failed)?);
        }
        builder.build_rustls().map_err(setup_failed)
    };
    let tls = match server.security {
        Security::Tls => Tls::Wrapper(parameters()?),
        Security::Starttls => Tls::Required(parameters()?),
        Security::None => Tls::None,
    };
    let secret = dial.tokens.secret(dial.http, config).await?;
    let mechanisms = match config.auth {
        Auth::Password => vec![Mechanism::Plain, Mechanism::Login],
        Auth::Xoauth2 => vec![Mechanism::Xoauth2],
    };
    Ok(
        AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(address.ip().to_string())
            .port(address.port())
            .tls(tls)
            .timeout(Some(Duration::from_secs(30)))
            .credentials(Credentials::new(config.username.clone(), secret))
            .authentication(mechanisms)
            .build(),
    )
}

fn smtp_error(e: lettre::transport::smtp::Error) -> SendError {
    let reason = format!("the mail server refused the message: {e}");
    if e.is_permanent() {
        SendError::Permanent(reason)
    } else {
        SendError::Retryable(reason)
    }
}

pub(super) async fn send(dial: Dial<'_>, config: &Config, message: &OutboundMessage) -> Result<Sent, SendError> {
    let files = files(dial.http, message).await?;
    let mail = build(config, message, files)?;
    transport(dial, config).await?.send(mail).await.map_err(smtp_error)?;
    Ok(Sent {
        provider_message_id: Some(message_id(config, message)),
    })
}

/// Whether the SMTP server answers and takes our login.
pub(super) async fn check(dial: Dial<'_>, config: &Config) -> Result<String, SendError> {
    let transport = transport(dial, config).await?;
    match transport.test_connection().await {
        Ok(true) => Ok(format!("SMTP: {} answered", config.smtp.host)),
        Ok(false) => Err(SendError::Retryable(format!(
            "SMTP: {} did not answer",
            config.smtp.host
        ))),
        Err(e) => Err(smtp_error(e)),
    }
}
