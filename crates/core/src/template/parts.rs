//! A template's header and buttons (WhatsApp's template components besides
//! the body) and the values a sender gives them: a header's `{{1}}` or its
//! image, video or document link; a URL button's `{{1}}`, a copy-code
//! button's code, a quick-reply button's payload.

use std::fmt;
use std::str::FromStr;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::{VALUE_MAX, placeholder_count, render};
use crate::model::{UnknownVariant, string_enum};
use crate::validate::Invalid;

string_enum!(
    /// What a template's header shows.
    HeaderFormat { Text => "text", Image => "image", Video => "video", Document => "document" }
);
string_enum!(
    /// A template button: a quick reply (its payload comes back when
    /// tapped), a link (whose `{{1}}` the sender may fill), a code to copy,
    /// or a phone number to call.
    ButtonKind { QuickReply => "quick_reply", Url => "url", CopyCode => "copy_code", PhoneNumber => "phone_number" }
);

/// Longest header text and button label (WhatsApp's limits).
pub const HEADER_TEXT_MAX: usize = 60;
pub const BUTTON_TEXT_MAX: usize = 25;
/// Most buttons on one template.
pub const BUTTONS_MAX: usize = 10;
/// Longest copy code.
pub const COUPON_MAX: usize = 15;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
// Text only for a `text` header, and there required.
#[schemars(extend(
    "if" = {"properties": {"format": {"const": "text"}}},
    "then" = {"required": ["text"], "properties": {"text": {"type": "string"}}},
    "else" = {"properties": {"text": {"type": "null"}}}
))]
pub struct TemplateHeader {
    pub format: HeaderFormat,
    /// `text` headers only: at most 60 characters, with at most one
    /// placeholder, `{{1}}`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(
        length(min = 1, max = 60),
        regex(pattern = r"^[^\r\n{}]*\S[^\r\n{}]*(\{\{1\}\}[^\r\n{}]*)?$")
    )]
    pub text: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
// An address for `url` buttons (required there), none for the others.
#[schemars(extend(
    "if" = {"properties": {"kind": {"const": "url"}}},
    "then" = {"required": ["url"], "properties": {"url": {"type": "string", "pattern": "^https://[A-Za-z0-9-]+(\\.[A-Za-z0-9-]+)*\\.[A-Za-z]{2,}(/[A-Za-z0-9._~/-]*)?(\\{\\{1\\}\\})?$"}}},
    "else" = {"properties": {"url": {"type": "null"}}}
))]
pub struct TemplateButton {
    pub kind: ButtonKind,
    /// The label, at most 25 characters.
    #[schemars(length(min = 1, max = 25), regex(pattern = r"^[^\r\n]*\S[^\r\n]*$"))]
    pub text: String,
    /// `url` buttons: the `https://` address; a `{{1}}` at its end is filled
    /// by the sender.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
}

impl TemplateButton {
    /// Whether the sender must give this button a value.
    pub fn takes_value(&self) -> bool {
        match self.kind {
            ButtonKind::Url => self.url.as_deref().is_some_and(|u| u.contains("{{1}}")),
            ButtonKind::CopyCode => true,
            ButtonKind::QuickReply | ButtonKind::PhoneNumber => false,
        }
    }
}

/// A template's header and buttons.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct TemplateParts {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub header: Option<TemplateHeader>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub buttons: Vec<TemplateButton>,
}

/// What a sent template's header held.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum HeaderValue {
    /// The value of a text header's `{{1}}`.
    Text { text: String },
    /// The image, video or document the header shows, by its link.
    Media { format: HeaderFormat, link: String },
}

/// What the sender gave one button (by its position, from 0).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct ButtonValue {
    pub index: usize,
    pub kind: ButtonKind,
    pub value: String,
}

fn single_line(field: &'static str, label: &str, v: &str, max: usize) -> Result<(), Invalid> {
    if v.trim().is_empty() {
        return Err(Invalid::new(field, format!("{label} must not be empty")));
    }
    if v.chars().count() > max {
        return Err(Invalid::new(field, format!("{label} must be at most {max} characters")));
    }
    if v.chars().any(char::is_control) {
        return Err(Invalid::new(field, format!("{label} must be a single line")));
    }
    Ok(())
}

/// An `https://` address without spaces.
fn https_link(field: &'static str, label: &str, v: &str) -> Result<(), Invalid> {
    let rest = v.strip_prefix("https://").unwrap_or_default();
    if rest.is_empty() || rest.starts_with('/') || v.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err(Invalid::new(field, format!("{label} must be an https:// address")));
    }
    if v.len() > 2000 {
        return Err(Invalid::new(field, format!("{label} must be at most 2,000 characters")));
    }
    Ok(())
}

/// A header and buttons that follow WhatsApp's rules.
pub fn parts(header: Option<TemplateHeader>, buttons: Vec<TemplateButton>) -> Result<TemplateParts, Invalid> {
    if let Some(h) = &header {
        match (h.format, h.text.as_deref()) {
            (HeaderFormat::Text, Some(text)) => {
                single_line("header", "the header text", text, HEADER_TEXT_MAX)?;
                if placeholder_count(text).map_err(|e| Invalid::new("header", e.reason))? > 1 {
                    return Err(Invalid::new(
                        "header",
                        "the header text takes at most one placeholder, {{1}}",
                    ));
                }
            }
            (HeaderFormat::Text, None) => return Err(Invalid::new("header", "a text header needs its text")),
            (_, Some(_)) => return Err(Invalid::new("header", "only a text header has text")),
            (_, None) => {}
        }
    }
    if buttons.len() > BUTTONS_MAX {
        return Err(Invalid::new("buttons", format!("at most {BUTTONS_MAX} buttons")));
    }
    for (i, b) in buttons.iter().enumerate() {
        let label = format!("button {}", i + 1);
        single_line("buttons", &format!("{label}'s label"), &b.text, BUTTON_TEXT_MAX)?;
        match (b.kind, b.url.as_deref()) {
            (ButtonKind::Url, Some(url)) => {
                https_link("buttons", &format!("{label}'s address"), url)?;
                let slots = url.matches("{{").count();
                if slots > 1 || (slots == 1 && !url.ends_with("{{1}}")) {
                    return Err(Invalid::new(
                        "buttons",
                        format!("{label}'s address may end with {{{{1}}}} and hold no other placeholder"),
                    ));
                }
            }
            (ButtonKind::Url, None) => return Err(Invalid::new("buttons", format!("{label} needs its address"))),
            (_, Some(_)) => return Err(Invalid::new("buttons", "only a url button has an address")),
            (_, None) => {}
        }
    }
    Ok(TemplateParts { header, buttons })
}

/// The values a sender gives a template's header and buttons.
#[derive(Debug, Clone, Default)]
pub struct PartsFill<'a> {
    /// A text header's `{{1}}`, or the media header's link.
    pub header: Option<&'a str>,
    /// One per button, in order (empty where a button takes none); left out
    /// entirely when no button takes one.
    pub buttons: &'a [String],
}

/// Check the sender's values against the template's parts.
pub fn fill(parts: &TemplateParts, given: PartsFill<'_>) -> Result<(Option<HeaderValue>, Vec<ButtonValue>), Invalid> {
    let header = match (&parts.header, given.header.filter(|v| !v.is_empty())) {
        (None, None) => None,
        (None, Some(_)) => return Err(Invalid::new("header_param", "this template has no header to fill")),
        (Some(h), value) => match h.format {
            HeaderFormat::Text => {
                let takes = h.text.as_deref().is_some_and(|t| t.contains("{{1}}"));
                match (takes, value) {
                    (false, None) => None,
                    (false, Some(_)) => {
                        return Err(Invalid::new("header_param", "this template's header takes no value"));
                    }
                    (true, None) => return Err(Invalid::new("header_param", "the header's {{1}} needs a value")),
                    (true, Some(v)) => {
                        single_line("header_param", "the header value", v, VALUE_MAX)?;
                        Some(HeaderValue::Text { text: v.to_owned() })
                    }
                }
            }
            format => {
                let shown = if format == HeaderFormat::Image {
                    "an image"
                } else if format == HeaderFormat::Video {
                    "a video"
                } else {
                    "a document"
                };
                let v = value.ok_or_else(|| {
                    Invalid::new(
                        "header_param",
                        format!("the header shows {shown}: give its https:// link"),
                    )
                })?;
                https_link("header_param", &format!("the header's {format} link"), v)?;
                Some(HeaderValue::Media {
                    format,
                    link: v.to_owned(),
                })
            }
        },
    };
    let takes_any = parts.buttons.iter().any(TemplateButton::takes_value);
    if given.buttons.is_empty() && takes_any || !given.buttons.is_empty() && given.buttons.len() != parts.buttons.len()
    {
        return Err(Invalid::new(
            "button_params",
            format!(
                "give one value per button ({}), empty where a button takes none",
                parts.buttons.len()
            ),
        ));
    }
    let mut buttons = Vec::new();
    for (index, (b, v)) in parts.buttons.iter().zip(given.buttons).enumerate() {
        let label = format!("button {} ({})", index + 1, b.text);
        match (b.kind, v.is_empty()) {
            (ButtonKind::PhoneNumber, false) => {
                return Err(Invalid::new("button_params", format!("{label} takes no value")));
            }
            (ButtonKind::Url, false) if !b.takes_value() => {
                return Err(Invalid::new("button_params", format!("{label} has a fixed address")));
            }
            (ButtonKind::QuickReply, true) | (ButtonKind::PhoneNumber, true) => continue,
            (_, true) => return Err(Invalid::new("button_params", format!("{label} needs a value"))),
            (kind, false) => {
                let max = if kind == ButtonKind::CopyCode {
                    COUPON_MAX
                } else {
                    VALUE_MAX
                };
                single_line("button_params", &format!("{label}'s value"), v, max)?;
                buttons.push(ButtonValue {
                    index,
                    kind,
                    value: v.clone(),
                });
            }
        }
    }
    Ok((header, buttons))
}

/// What the customer reads: the header's text, the body, and the buttons'
/// labels in brackets, one per line.
pub fn rendered(parts: &TemplateParts, header: Option<&HeaderValue>, body: &str) -> String {
    let mut out = String::new();
    if let Some(TemplateHeader { text: Some(text), .. }) = &parts.header {
        let filled = match header {
            Some(HeaderValue::Text { text: v }) => render(text, &[v]).unwrap_or_else(|_| text.clone()),
            _ => text.clone(),
        };
        out.push_str(&filled);
        out.push_str("\n\n");
    }
    out.push_str(body);
    for b in &parts.buttons {
        out.push_str(&format!("\n[{}]", b.text));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn button(kind: ButtonKind, text: &str, url: Option<&str>) -> TemplateButton {
        TemplateButton {
            kind,
            text: text.into(),
            url: url.map(Into::into),
        }
    }

    fn offer() -> TemplateParts {
        parts(
            Some(TemplateHeader {
                format: HeaderFormat::Image,
                text: None,
            }),
            vec![
                button(ButtonKind::QuickReply, "Yes", None),
                button(ButtonKind::Url, "Track", Some("https://shop.example/t/{{1}}")),
                button(ButtonKind::CopyCode, "Copy code", None),
                button(ButtonKind::PhoneNumber, "Call us", None),
            ],
        )
        .unwrap()
    }

    #[test]
    fn parts_follow_whatsapps_rules() {
        let text = |t: &str| {
            Some(TemplateHeader {
                format: HeaderFormat::Text,
                text: Some(t.into()),
            })
        };
        assert!(parts(text("Order {{1}}"), vec![]).is_ok());
        assert_eq!(parts(text("{{1}} and {{2}}"), vec![]).unwrap_err().field, "header");
        assert_eq!(parts(text(&"x".repeat(61)), vec![]).unwrap_err().field, "header");
        let no_text = Some(TemplateHeader {
            format: HeaderFormat::Text,
            text: None,
        });
        assert_eq!(parts(no_text, vec![]).unwrap_err().field, "header");
        for url in [
            "http://a.example",
            "https://a.example/{{1}}/x",
            "https://",
            "https://a b",
        ] {
            let err = parts(None, vec![button(ButtonKind::Url, "Go", Some(url))]).unwrap_err();
            assert_eq!(err.field, "buttons", "{url}");
        }
        assert!(parts(None, vec![button(ButtonKind::Url, "Go", None)]).is_err());
        assert!(parts(None, vec![button(ButtonKind::QuickReply, &"x".repeat(26), None)]).is_err());
        assert!(parts(None, vec![button(ButtonKind::QuickReply, "ok", None); 11]).is_err());
    }

    #[test]
    fn values_fill_the_header_and_the_buttons_that_take_one() {
        let p = offer();
        let buttons = ["".to_string(), "A42".into(), "SAVE10".into(), "".into()];
        let (header, values) = fill(
            &p,
            PartsFill {
                header: Some("https://cdn.example/a.png"),
                buttons: &buttons,
            },
        )
        .unwrap();
        assert_eq!(
            header,
            Some(HeaderValue::Media {
                format: HeaderFormat::Image,
                link: "https://cdn.example/a.png".into()
            })
        );
        assert_eq!(
            values.iter().map(|v| (v.index, v.value.as_str())).collect::<Vec<_>>(),
            [(1, "A42"), (2, "SAVE10")]
        );
        let field =
            |header: Option<&str>, buttons: &[String]| fill(&p, PartsFill { header, buttons }).unwrap_err().field;
        assert_eq!(field(None, &buttons), "header_param");
        assert_eq!(field(Some("http://cdn.example/a.png"), &buttons), "header_param");
        assert_eq!(field(Some("https://cdn.example/a.png"), &[]), "button_params");
        let missing_code = ["".to_string(), "A42".into(), "".into(), "".into()];
        assert_eq!(field(Some("https://cdn.example/a.png"), &missing_code), "button_params");
        let called = ["".to_string(), "A42".into(), "C".into(), "123".into()];
        assert_eq!(field(Some("https://cdn.example/a.png"), &called), "button_params");
        let long_code = ["".to_string(), "A42".into(), "X".repeat(16), "".into()];
        assert_eq!(field(Some("https://cdn.example/a.png"), &long_code), "button_params");
    }

    #[test]
    fn the_history_reads_the_header_the_body_and_the_labels() {
        let p = parts(
            Some(TemplateHeader {
                format: HeaderFormat::Text,
                text: Some("Order {{1}}".into()),
            }),
            vec![button(ButtonKind::QuickReply, "Yes", None)],
        )
        .unwrap();
        let (header, _) = fill(
            &p,
            PartsFill {
                header: Some("#42"),
                buttons: &[],
            },
        )
        .unwrap();
        assert_eq!(
            rendered(&p, header.as_ref(), "It ships today."),
            "Order #42\n\nIt ships today.\n[Yes]"
        );
        assert_eq!(rendered(&TemplateParts::default(), None, "Hi"), "Hi");
    }
}
