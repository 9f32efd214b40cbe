//! Mail posted to the channel's hook by an inbound-parse relay
//! (channels.md §5.2), for a domain whose mail no mailbox keeps: the whole
//! raw message, which we parse ourselves exactly like a mailbox's, in any
//! of the shapes relays post it:
//!
//! - SendGrid Inbound Parse with "POST the raw, full MIME message":
//!   `multipart/form-data`, the message in the field `email`;
//! - Mailgun routes that forward MIME: the field `body-mime` of a
//!   `multipart/form-data` or `application/x-www-form-urlencoded` body;
//! - Postmark with "include raw email content": JSON with `RawEmail`;
//! - anything else that can post a file (a mail server's pipe, a script):
//!   the message itself as `message/rfc822`.
//!
//! None of them signs the request with a key of ours, so the relay
//! authenticates with the channel secret, as the password of HTTP Basic
//! authentication in the URL (`https://any:{secret}@…`, which all three
//! support) or as `?key={secret}`.

use base64::Engine;

use super::parse::{self, Origin, Source};
use crate::adapter::{HookMethod, HookRequest};
use crate::{Inbound, InboundError};

/// The largest mail a relay may post (SendGrid's own limit is 30 MB).
pub const MAX_POSTED_BYTES: usize = 40 * 1024 * 1024;

/// What a posted mail is: the same as one read from the mailbox.
pub(super) fn events(
    request: &HookRequest,
    secret: Option<&str>,
    own_address: &str,
) -> Result<Vec<Inbound>, InboundError> {
    if request.method != HookMethod::Post {
        return Err(InboundError::MethodNotAllowed);
    }
    authenticate(request, secret)?;
    let raw = raw_mail(request)?;
    Ok(parse::events(
        &raw,
        Origin {
            own_address,
            source: Source::Posted,
            too_large: None,
        },
    ))
}

/// The channel secret, as the Basic password or the `key` parameter.
fn authenticate(request: &HookRequest, secret: Option<&str>) -> Result<(), InboundError> {
    let secret = secret.ok_or(InboundError::BadSignature)?;
    let from_basic = request
        .header("authorization")
        .and_then(|v| v.strip_prefix("Basic ").or_else(|| v.strip_prefix("basic ")))
        .and_then(|b| base64::engine::general_purpose::STANDARD.decode(b.trim()).ok())
        .and_then(|pair| {
            let colon = pair.iter().position(|&b| b == b':')?;
            Some(pair[colon + 1..].to_vec())
        });
    let from_query = request.query_param("key").map(String::into_bytes);
    let given = from_basic.or(from_query).ok_or(InboundError::MissingSignature)?;
    if crate::signing::equal_in_constant_time(&given, secret.as_bytes()) {
        Ok(())
    } else {
        Err(InboundError::BadSignature)
    }
}

/// The raw message out of whichever shape the relay posted.
fn raw_mail(request: &HookRequest) -> Result<Vec<u8>, InboundError> {
    let found = if request.content_type_is("multipart/form-data") {
        let boundary = request
            .header("content-type")
            .and_then(|v| parameter(v, "boundary"))
            .ok_or_else(|| InboundError::BadPayload("the form has no boundary".into()))?;
        form_fields(&request.body, &boundary)
            .into_iter()
            .find(|(name, _)| RAW_FIELDS.contains(&name.as_str()))
            .map(|(_, value)| value.to_vec())
    } else if request.content_type_is("application/x-www-form-urlencoded") {
        request
            .form_pairs()
            .into_iter()
            .find(|(name, _)| RAW_FIELDS.contains(&name.as_str()))
            .map(|(_, value)| value.into_bytes())
    } else if request.content_type_is("application/json") {
        serde_json::from_slice::<serde_json::Value>(&request.body)
            .map_err(|e| InboundError::BadPayload(format!("the JSON is not valid: {e}")))?["RawEmail"]
            .as_str()
            .map(|raw| raw.as_bytes().to_vec())
    } else if request.content_type_is("message/rfc822") {
        Some(request.body.clone())
    } else {
        return Err(InboundError::UnsupportedMediaType(
            "post the raw message as message/rfc822, or a form or JSON a relay sends (see the channel's page)".into(),
        ));
    };
    match found {
        Some(raw) if !raw.is_empty() => Ok(raw),
        _ => Err(InboundError::BadPayload(
            "no raw message: turn on the relay's raw MIME option (SendGrid: \"POST the raw, full MIME message\"; Mailgun: a MIME route; Postmark: \"include raw email content\")".into(),
        )),
    }
}

/// Where each relay puts the whole message.
const RAW_FIELDS: &[&str] = &["email", "body-mime"];

/// A parameter of a header value (`boundary=…`, quoted or not).
fn parameter(value: &str, name: &str) -> Option<String> {
    value.split(';').skip(1).find_map(|part| {
        let (key, val) = part.split_once('=')?;
        key.trim()
            .eq_ignore_ascii_case(name)
            .then(|| val.trim().trim_matches('"').to_owned())
            .filter(|v| !v.is_empty())
    })
}

/// The named fields of a `multipart/form-data` body (RFC 7578), values as
/// sent: a raw message must reach the parser byte for byte, so no charset
/// is applied.
fn form_fields<'a>(body: &'a [u8], boundary: &str) -> Vec<(String, &'a [u8])> {
    let delimiter = format!("--{boundary}").into_bytes();
    let mut fields = Vec::new();
    let mut starts = find_all(body, &delimiter).into_iter().peekable();
    while let Some(start) = starts.next() {
        let Some(&next) = starts.peek() else { break };
        let part = &body[start + delimiter.len()..next];
        // The delimiter's own line ends, then headers, a blank line, the value,
        // and the CRLF that belongs to the next delimiter.
        let part = part.strip_prefix(b"\r\n").unwrap_or(part);
        let Some(split) = part.windows(4).position(|w| w == b"\r\n\r\n") else {
            continue;
        };
        let headers = String::from_utf8_lossy(&part[..split]);
        let value = &part[split + 4..];
        let value = value.strip_suffix(b"\r\n").unwrap_or(value);
        let name = headers
            .lines()
            .find(|l| l.to_ascii_lowercase().starts_with("content-disposition:"))
            .and_then(|l| parameter(l, "name"));
        if let Some(name) = name {
            fields.push((name, value));
        }
    }
    fields
}

/// Where `needle` occurs, without overlaps (a boundary of dashes must not
/// match inside itself).
fn find_all(haystack: &[u8], needle: &[u8]) -> Vec<usize> {
    let mut found = Vec::new();
    if needle.is_empty() {
        return found;
    }
    let mut at = 0;
    while at + needle.len() <= haystack.len() {
        if haystack[at..].starts_with(needle) {
            found.push(at);
            at += needle.len();
        } else {
            at += 1;
        }
    }
    found
}

#[cfg(test)]
mod tests {
    use super::*;

    const MAIL: &str = "From: Ana <ana@customer.example>\r\nTo: help@shop.example\r\nSubject: Hi\r\nMessage-ID: <m1@customer.example>\r\n\r\nHello\r\n";

    fn request(content_type: &str, query: &str, body: Vec<u8>) -> HookRequest {
        HookRequest {
            method: HookMethod::Post,
            path: "/hooks/email/x".into(),
            query: query.into(),
            headers: vec![("content-type".into(), content_type.into())],
            body,
        }
    }

    fn text_of(events: &[Inbound]) -> Vec<String> {
        events
            .iter()
            .filter_map(|e| match e {
                Inbound::Message(m) => Some(m.text.clone()),
                _ => None,
            })
            .collect()
    }

    #[test]
    fn each_relay_shape_gives_the_message() {
        let form = format!(
            "--XyZ\r\nContent-Disposition: form-data; name=\"to\"\r\n\r\nhelp@shop.example\r\n--XyZ\r\nContent-Disposition: form-data; name=\"email\"\r\n\r\n{MAIL}\r\n--XyZ--\r\n"
        );
        let encoded: String = url::form_urlencoded::Serializer::new(String::new())
            .append_pair("body-mime", MAIL)
            .finish();
        let json = serde_json::json!({"MessageID": "x", "RawEmail": MAIL}).to_string();
        for (content_type, body) in [
            ("multipart/form-data; boundary=\"XyZ\"", form.into_bytes()),
            ("application/x-www-form-urlencoded", encoded.into_bytes()),
            ("application/json; charset=utf-8", json.into_bytes()),
            ("message/rfc822", MAIL.as_bytes().to_vec()),
        ] {
            let events = events(
                &request(content_type, "key=s3cret", body),
                Some("s3cret"),
                "help@shop.example",
            )
            .unwrap_or_else(|e| panic!("{content_type}: {e}"));
            assert_eq!(text_of(&events), ["Hello"], "{content_type}");
        }
    }

    #[test]
    fn a_boundary_of_dashes_splits_nothing_wrongly() {
        let form = "-----\r\nContent-Disposition: form-data; name=\"email\"\r\n\r\nX\r\n-----";
        assert_eq!(
            form_fields(form.as_bytes(), "---"),
            vec![("email".to_owned(), &b"X"[..])]
        );
        assert!(form_fields(b"--------", "-").is_empty());
    }

    #[test]
    fn the_secret_is_required() {
        let post = |query: &str, auth: Option<&str>| {
            let mut r = request("message/rfc822", query, MAIL.as_bytes().to_vec());
            if let Some(a) = auth {
                r.headers.push(("authorization".into(), a.into()));
            }
            events(&r, Some("s3cret"), "help@shop.example").map(|_| ())
        };
        let basic = |pair: &str| format!("Basic {}", base64::engine::general_purpose::STANDARD.encode(pair));
        assert!(post("", Some(&basic("sendgrid:s3cret"))).is_ok());
        assert!(post("key=s3cret", None).is_ok());
        assert!(matches!(post("", None), Err(InboundError::MissingSignature)));
        assert!(matches!(post("key=wrong", None), Err(InboundError::BadSignature)));
        assert!(matches!(
            post("", Some(&basic("s3cret:x"))),
            Err(InboundError::BadSignature)
        ));
    }

    #[test]
    fn a_form_without_the_raw_message_says_what_to_turn_on() {
        let form = "--b\r\nContent-Disposition: form-data; name=\"text\"\r\n\r\nHello\r\n--b--\r\n";
        let r = request("multipart/form-data; boundary=b", "key=k", form.as_bytes().to_vec());
        assert!(matches!(events(&r, Some("k"), "h@s.example"), Err(InboundError::BadPayload(m)) if m.contains("raw")));
        let r = request("text/plain", "key=k", b"x".to_vec());
        assert!(matches!(
            events(&r, Some("k"), "h@s.example"),
            Err(InboundError::UnsupportedMediaType(_))
        ));
    }
}
