//! Settings of a web-chat widget channel, validated.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::validate::Invalid;

/// Whether the pre-chat form asks for a field.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum PrechatField {
    #[default]
    Off,
    Optional,
    Required,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(default, deny_unknown_fields)]
pub struct WidgetSettings {
    /// Sites allowed to embed the widget, as origins (`https://shop.example.com`).
    pub allowed_origins: Vec<String>,
    /// Accent colour, `#rrggbb`.
    pub color: String,
    /// Shown in the panel's header.
    pub title: String,
    /// First message the visitor sees.
    pub greeting: Option<String>,
    pub prechat_name: PrechatField,
    pub prechat_email: PrechatField,
}

impl Default for WidgetSettings {
    fn default() -> Self {
        Self {
            allowed_origins: Vec::new(),
            color: "#1f6feb".into(),
            title: "Chat with us".into(),
            greeting: None,
            prechat_name: PrechatField::Off,
            prechat_email: PrechatField::Off,
        }
    }
}

/// `scheme://host[:port]`, lower-cased, nothing after it.
pub fn origin(raw: &str) -> Result<String, Invalid> {
    let s = raw.trim().trim_end_matches('/').to_lowercase();
    let bad = || {
        Invalid::new(
            "allowed_origins",
            format!("{raw:?} is not an origin like https://shop.example.com"),
        )
    };
    let (scheme, rest) = s.split_once("://").ok_or_else(bad)?;
    if !matches!(scheme, "http" | "https")
        || rest.is_empty()
        || rest.contains(['/', '?', '#', '@', ' '])
        || s.len() > 255
    {
        return Err(bad());
    }
    Ok(s)
}

impl WidgetSettings {
    pub fn validated(mut self) -> Result<Self, Invalid> {
        if self.allowed_origins.len() > 50 {
            return Err(Invalid::new("allowed_origins", "at most 50 origins"));
        }
        self.allowed_origins = self
            .allowed_origins
            .iter()
            .map(|o| origin(o))
            .collect::<Result<_, _>>()?;
        let c = &self.color;
        if !(c.len() == 7 && c.starts_with('#') && c[1..].chars().all(|x| x.is_ascii_hexdigit())) {
            return Err(Invalid::new("color", "must look like #1a2b3c"));
        }
        self.color = c.to_lowercase();
        self.title = crate::validate::Label::parse("title", &self.title)?.into_string();
        if let Some(g) = &self.greeting
            && g.chars().count() > 500
        {
            return Err(Invalid::new("greeting", "must be at most 500 characters"));
        }
        self.greeting = self.greeting.filter(|g| !g.trim().is_empty());
        Ok(self)
    }

    pub fn allows(&self, origin: &str) -> bool {
        self.allowed_origins.iter().any(|o| o == &origin.to_lowercase())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn validates() {
        let s = WidgetSettings {
            allowed_origins: vec!["https://Shop.example.com/".into(), "http://127.0.0.1:8081".into()],
            ..Default::default()
        }
        .validated()
        .unwrap();
        assert_eq!(s.allowed_origins, ["https://shop.example.com", "http://127.0.0.1:8081"]);
        assert!(s.allows("https://shop.example.com"));
        for bad in ["shop.example.com", "https://x.com/path", "javascript://x", "https://"] {
            assert!(
                WidgetSettings {
                    allowed_origins: vec![bad.into()],
                    ..Default::default()
                }
                .validated()
                .is_err(),
                "{bad}"
            );
        }
        assert!(
            WidgetSettings {
                color: "red".into(),
                ..Default::default()
            }
            .validated()
            .is_err()
        );
    }
}
