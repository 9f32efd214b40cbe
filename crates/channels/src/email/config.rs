//! An e-mail channel's configuration: the address customers write to,
//! how their mail reaches us (the mailbox we read by IMAP, or a relay that
//! posts it to the channel's hook) and the server we send through (SMTP).
//! The password is kept with it and never shown again.

use serde::{Deserialize, Serialize};

use super::oauth::Refresh;
use crate::SendError;
use crate::adapter::{ChannelSetup, ConfigError};

/// How a connection to a mail server is protected.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub(super) enum Security {
    /// TLS from the first byte (IMAPS 993, SMTPS 465).
    Tls,
    /// Plain first, then `STARTTLS` before anything secret is sent.
    Starttls,
    /// No encryption: only to a server on a private network (checked when
    /// connecting), so a password never crosses the internet in clear.
    None,
}

impl Security {
    fn parse(value: &str) -> Option<Security> {
        match value {
            "tls" => Some(Security::Tls),
            "starttls" => Some(Security::Starttls),
            "none" => Some(Security::None),
            _ => None,
        }
    }
}

/// How we log in to both servers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub(super) enum Auth {
    /// The password (or an app password).
    #[default]
    Password,
    /// `XOAUTH2` with an OAuth2 access token in the password's place
    /// (Google Workspace, Microsoft 365).
    Xoauth2,
}

/// One mail server: where and how.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(super) struct Server {
    pub host: String,
    pub port: u16,
    pub security: Security,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub(super) struct Config {
    /// The address customers write to, lower case: our replies' `From`.
    pub address: String,
    /// The name beside the address in `From` (the business's).
    #[serde(default)]
    pub display_name: Option<String>,
    /// Added under every reply.
    #[serde(default)]
    pub signature: Option<String>,
    /// The mailbox's server; `None` when mail is posted to the hook instead.
    #[serde(default)]
    pub imap: Option<Server>,
    pub smtp: Server,
    /// The login for both servers.
    pub username: String,
    /// The password, or the OAuth2 access token with `XOAUTH2`.
    pub password: String,
    #[serde(default)]
    pub auth: Auth,
    /// With `XOAUTH2`: how to obtain access tokens, instead of one pasted
    /// into `password`.
    #[serde(default)]
    pub refresh: Option<Refresh>,
    /// The IMAP folder read (usually `INBOX`).
    pub mailbox: String,
}

impl Config {
    pub fn of(channel: &ChannelSetup) -> Option<Config> {
        channel.config()
    }

    pub fn required(channel: &ChannelSetup) -> Result<Config, SendError> {
        Config::of(channel).ok_or_else(|| SendError::Permanent("this e-mail channel has no mailbox configured".into()))
    }

    /// What admins may see: everything but the password.
    pub fn public(&self) -> serde_json::Value {
        serde_json::json!({
            "address": self.address,
            "display_name": self.display_name,
            "signature": self.signature,
            "receive": if self.imap.is_some() { "imap" } else { "webhook" },
            "imap_host": self.imap.as_ref().map(|s| &s.host),
            "imap_port": self.imap.as_ref().map(|s| s.port),
            "imap_security": self.imap.as_ref().map(|s| s.security),
            "smtp_host": self.smtp.host,
            "smtp_port": self.smtp.port,
            "smtp_security": self.smtp.security,
            "username": self.username,
            "auth": self.auth,
            "mailbox": self.mailbox,
            "password_set": !self.password.is_empty(),
            "oauth_token_url": self.refresh.as_ref().map(|r| &r.token_url),
            "oauth_client_id": self.refresh.as_ref().map(|r| &r.client_id),
            "oauth_client_secret_set": self.refresh.as_ref().is_some_and(|r| r.client_secret.is_some()),
            "oauth_refresh_token_set": self.refresh.is_some(),
        })
    }
}

const FIELDS: &[&str] = &[
    "address",
    "receive",
    "display_name",
    "signature",
    "imap_host",
    "imap_port",
    "imap_security",
    "smtp_host",
    "smtp_port",
    "smtp_security",
    "username",
    "password",
    "auth",
    "mailbox",
    "oauth_token_url",
    "oauth_client_id",
    "oauth_client_secret",
    "oauth_refresh_token",
];

/// Check what an admin gave (`current` fills what a change leaves out).
pub(super) fn configure(
    given: Option<&serde_json::Value>,
    current: Option<&serde_json::Value>,
) -> Result<Option<serde_json::Value>, ConfigError> {
    let given = crate::adapter::given_config(given, FIELDS)?;
    let given = &*given;
    let current: Option<Config> = crate::adapter::stored_config(current);
    let text = |name: &'static str| -> Result<Option<String>, ConfigError> {
        match given.get(name) {
            None | Some(serde_json::Value::Null) => Ok(None),
            Some(serde_json::Value::String(s)) => Ok(Some(s.trim().to_owned())),
            Some(_) => Err(ConfigError::new(field_name(name), "must be text")),
        }
    };
    let address = match text("address")? {
        Some(a) => switchboard_core::validate::Email::parse(&a)
            .map_err(|_| ConfigError::new("config.address", "must be an e-mail address"))?
            .as_str()
            .to_owned(),
        None => current
            .as_ref()
            .map(|c| c.address.clone())
            .ok_or_else(|| ConfigError::new("config.address", "is required"))?,
    };
    let optional_text = |name: &'static str, max: usize, kept: Option<String>| -> Result<Option<String>, ConfigError> {
        match given.get(name) {
            None => Ok(kept),
            Some(_) => match text(name)? {
                Some(s) if s.is_empty() => Ok(None),
                Some(s) if s.chars().count() > max => Err(ConfigError::new(
                    field_name(name),
                    format!("must be at most {max} characters"),
                )),
                Some(s) if name == "display_name" && s.chars().any(char::is_control) => {
                    Err(ConfigError::new(field_name(name), "must be one line"))
                }
                other => Ok(other),
            },
        }
    };
    let display_name = optional_text(
        "display_name",
        100,
        current.as_ref().and_then(|c| c.display_name.clone()),
    )?;
    let signature = optional_text("signature", 2000, current.as_ref().and_then(|c| c.signature.clone()))?;
    let by_imap = match given.get("receive") {
        None | Some(serde_json::Value::Null) => current.as_ref().is_none_or(|c| c.imap.is_some()),
        Some(v) => match v.as_str() {
            Some("imap") => true,
            Some("webhook") => false,
            _ => return Err(ConfigError::new("config.receive", "must be imap or webhook")),
        },
    };
    let imap = if by_imap {
        Some(server(
            given,
            "imap",
            current.as_ref().and_then(|c| c.imap.as_ref()),
            |s| match s {
                Security::Tls => 993,
                _ => 143,
            },
            Security::Tls,
        )?)
    } else {
        None
    };
    let smtp = server(
        given,
        "smtp",
        current.as_ref().map(|c| &c.smtp),
        |s| match s {
            Security::Tls => 465,
            Security::Starttls => 587,
            Security::None => 25,
        },
        Security::Starttls,
    )?;
    let username = match text("username")? {
        Some(u) if u.is_empty() || u.len() > 320 || u.chars().any(char::is_control) => {
            return Err(ConfigError::new(
                "config.username",
                "must be one line of at most 320 characters",
            ));
        }
        Some(u) => u,
        None => current
            .as_ref()
            .map(|c| c.username.clone())
            .unwrap_or_else(|| address.clone()),
    };
    let auth = match given.get("auth") {
        None | Some(serde_json::Value::Null) => current.as_ref().map(|c| c.auth).unwrap_or_default(),
        Some(v) => match v.as_str() {
            Some("password") => Auth::Password,
            Some("xoauth2") => Auth::Xoauth2,
            _ => return Err(ConfigError::new("config.auth", "must be password or xoauth2")),
        },
    };
    let refresh = refresh(given, current.as_ref().and_then(|c| c.refresh.clone()))?;
    if refresh.is_some() && auth != Auth::Xoauth2 {
        return Err(ConfigError::new("config.auth", "must be xoauth2 with a refresh token"));
    }
    let password = match given.get("password") {
        None | Some(serde_json::Value::Null) => current
            .as_ref()
            .map(|c| c.password.clone())
            .filter(|p| !p.is_empty() || refresh.is_some())
            .or_else(|| refresh.is_some().then(String::new))
            .ok_or_else(|| ConfigError::new("config.password", "is required"))?,
        Some(serde_json::Value::String(p)) if !p.is_empty() && p.len() <= 4096 && !p.contains(['\r', '\n']) => {
            p.clone()
        }
        Some(_) => {
            return Err(ConfigError::new(
                "config.password",
                "must be the mailbox's password or app password",
            ));
        }
    };
    let mailbox = match text("mailbox")? {
        Some(m) if m.is_empty() || m.len() > 200 || m.chars().any(|c| c.is_control() || c == '"' || c == '\\') => {
            return Err(ConfigError::new(
                "config.mailbox",
                "must be a folder name (at most 200 characters)",
            ));
        }
        Some(m) => m,
        None => current
            .as_ref()
            .map(|c| c.mailbox.clone())
            .unwrap_or_else(|| "INBOX".into()),
    };
    let config = Config {
        address,
        display_name,
        signature,
        imap,
        smtp,
        username,
        password,
        auth,
        refresh,
        mailbox,
    };
    serde_json::to_value(config)
        .map(Some)
        .map_err(|e| ConfigError::new("config", e.to_string()))
}

/// The refresh grant's settings: all given together (the secret may be
/// left out, for a public client), kept when none is given, removed with an
/// empty refresh token.
fn refresh(
    given: &serde_json::Map<String, serde_json::Value>,
    current: Option<Refresh>,
) -> Result<Option<Refresh>, ConfigError> {
    let names = [
        "oauth_token_url",
        "oauth_client_id",
        "oauth_client_secret",
        "oauth_refresh_token",
    ];
    if names
        .iter()
        .all(|n| given.get(*n).is_none_or(serde_json::Value::is_null))
    {
        return Ok(current);
    }
    let text = |name: &'static str| -> Result<Option<String>, ConfigError> {
        match given.get(name) {
            None | Some(serde_json::Value::Null) => Ok(None),
            Some(serde_json::Value::String(s)) if s.len() <= 4096 && !s.contains(['\r', '\n']) => {
                Ok(Some(s.trim().to_owned()))
            }
            Some(_) => Err(ConfigError::new(field_name(name), "must be one line of text")),
        }
    };
    if text("oauth_refresh_token")?.is_some_and(|t| t.is_empty()) {
        return Ok(None);
    }
    let pick = |name: &'static str, kept: Option<String>| -> Result<String, ConfigError> {
        text(name)?
            .filter(|v| !v.is_empty())
            .or(kept)
            .ok_or_else(|| ConfigError::new(field_name(name), "is required with a refresh token"))
    };
    let token_url = pick("oauth_token_url", current.as_ref().map(|c| c.token_url.clone()))?;
    let web = url::Url::parse(&token_url).is_ok_and(|u| matches!(u.scheme(), "https" | "http") && u.host().is_some());
    if !web {
        return Err(ConfigError::new(
            "config.oauth_token_url",
            "must be the provider's token URL (https://…)",
        ));
    }
    Ok(Some(Refresh {
        token_url,
        client_id: pick("oauth_client_id", current.as_ref().map(|c| c.client_id.clone()))?,
        client_secret: text("oauth_client_secret")?
            .filter(|s| !s.is_empty())
            .or_else(|| current.as_ref().and_then(|c| c.client_secret.clone())),
        refresh_token: pick("oauth_refresh_token", current.as_ref().map(|c| c.refresh_token.clone()))?,
    }))
}

/// `imap_host` → `config.imap_host`, as forms name their fields.
fn field_name(name: &'static str) -> &'static str {
    match name {
        "address" => "config.address",
        "receive" => "config.receive",
        "display_name" => "config.display_name",
        "signature" => "config.signature",
        "imap_host" => "config.imap_host",
        "imap_port" => "config.imap_port",
        "imap_security" => "config.imap_security",
        "smtp_host" => "config.smtp_host",
        "smtp_port" => "config.smtp_port",
        "smtp_security" => "config.smtp_security",
        "username" => "config.username",
        "password" => "config.password",
        "auth" => "config.auth",
        "oauth_token_url" => "config.oauth_token_url",
        "oauth_client_id" => "config.oauth_client_id",
        "oauth_client_secret" => "config.oauth_client_secret",
        "oauth_refresh_token" => "config.oauth_refresh_token",
        _ => "config.mailbox",
    }
}

fn server(
    given: &serde_json::Map<String, serde_json::Value>,
    prefix: &'static str,
    current: Option<&Server>,
    default_port: impl Fn(Security) -> u16,
    default_security: Security,
) -> Result<Server, ConfigError> {
    let (host_field, port_field, security_field) = match prefix {
        "imap" => ("imap_host", "imap_port", "imap_security"),
        _ => ("smtp_host", "smtp_port", "smtp_security"),
    };
    let security = match given.get(security_field) {
        None | Some(serde_json::Value::Null) => current.map(|s| s.security).unwrap_or(default_security),
        Some(v) => v
            .as_str()
            .and_then(Security::parse)
            .ok_or_else(|| ConfigError::new(field_name(security_field), "must be tls, starttls or none"))?,
    };
    let host = match given.get(host_field) {
        None | Some(serde_json::Value::Null) => current
            .map(|s| s.host.clone())
            .ok_or_else(|| ConfigError::new(field_name(host_field), "is required"))?,
        Some(v) => {
            let host = v
                .as_str()
                .map(|s| s.trim().trim_end_matches('.').to_ascii_lowercase())
                .unwrap_or_default();
            if !valid_host(&host) {
                return Err(ConfigError::new(
                    field_name(host_field),
                    "must be the mail server's name (mail.example.com)",
                ));
            }
            host
        }
    };
    let port = match given.get(port_field) {
        None | Some(serde_json::Value::Null) => match current {
            Some(s) if Some(security) == current.map(|c| c.security) => s.port,
            _ => default_port(security),
        },
        Some(v) => v
            .as_u64()
            .or_else(|| v.as_str().and_then(|s| s.trim().parse().ok()))
            .and_then(|p| u16::try_from(p).ok())
            .filter(|p| *p > 0)
            .ok_or_else(|| ConfigError::new(field_name(port_field), "must be a port number (1 to 65535)"))?,
    };
    Ok(Server { host, port, security })
}

/// A DNS name or an IP address literal.
fn valid_host(host: &str) -> bool {
    if host.parse::<std::net::IpAddr>().is_ok() {
        return true;
    }
    !host.is_empty()
        && host.len() <= 253
        && host.split('.').all(|label| {
            !label.is_empty()
                && label.len() <= 63
                && !label.starts_with('-')
                && !label.ends_with('-')
                && label.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
        })
}

/// Where the next poll starts: the mailbox's `UIDVALIDITY` and the last
/// UID stored. A mailbox rebuilt (a new validity) starts over from what
/// arrives next.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Cursor {
    pub validity: u32,
    pub last_uid: u32,
}

impl Cursor {
    pub fn parse(value: &str) -> Option<Cursor> {
        let (validity, last) = value.split_once(':')?;
        Some(Cursor {
            validity: validity.parse().ok()?,
            last_uid: last.parse().ok()?,
        })
    }
}

impl std::fmt::Display for Cursor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}:{}", self.validity, self.last_uid)
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn full() -> serde_json::Value {
        json!({
            "address": "Help@Example.com",
            "imap_host": "imap.example.com",
            "smtp_host": "smtp.example.com",
            "password": "secret",
        })
    }

    #[test]
    fn defaults_follow_the_security() {
        let stored = configure(Some(&full()), None).unwrap().unwrap();
        let c: Config = serde_json::from_value(stored.clone()).unwrap();
        assert_eq!(c.address, "help@example.com");
        let imap = c.imap.unwrap();
        assert_eq!((imap.port, imap.security), (993, Security::Tls));
        assert_eq!((c.smtp.port, c.smtp.security), (587, Security::Starttls));
        assert_eq!((c.username.as_str(), c.mailbox.as_str()), ("help@example.com", "INBOX"));
        let changed = configure(Some(&json!({"smtp_security": "tls"})), Some(&stored))
            .unwrap()
            .unwrap();
        let c: Config = serde_json::from_value(changed).unwrap();
        assert_eq!((c.smtp.port, c.password.as_str()), (465, "secret"));
    }

    #[test]
    fn posted_mail_needs_no_mailbox() {
        let given = json!({"address": "help@example.com", "receive": "webhook", "smtp_host": "smtp.example.com", "password": "p"});
        let stored = configure(Some(&given), None).unwrap().unwrap();
        let c: Config = serde_json::from_value(stored.clone()).unwrap();
        assert!(c.imap.is_none());
        assert_eq!(c.public()["receive"], "webhook");
        // A change that leaves `receive` out keeps it.
        let changed = configure(Some(&json!({"signature": "Ana"})), Some(&stored))
            .unwrap()
            .unwrap();
        assert!(serde_json::from_value::<Config>(changed).unwrap().imap.is_none());
        let wrong =
            json!({"address": "help@example.com", "receive": "pop3", "smtp_host": "s.example.com", "password": "p"});
        assert_eq!(configure(Some(&wrong), None).unwrap_err().field, "config.receive");
    }

    #[test]
    fn each_wrong_field_is_named() {
        let cases = [
            (json!({"address": "nope"}), "config.address"),
            (json!({"imap_host": "bad host"}), "config.imap_host"),
            (json!({"smtp_port": 70000}), "config.smtp_port"),
            (json!({"imap_security": "ssl3"}), "config.imap_security"),
            (json!({"password": "a\r\nb"}), "config.password"),
            (json!({"mailbox": "a\"b"}), "config.mailbox"),
            (json!({"display_name": "A\nB"}), "config.display_name"),
        ];
        for (change, field) in cases {
            let mut given = full();
            given
                .as_object_mut()
                .unwrap()
                .extend(change.as_object().unwrap().clone());
            assert_eq!(configure(Some(&given), None).unwrap_err().field, field, "{change}");
        }
        assert_eq!(
            configure(Some(&json!({"address": "a@b.co"})), None).unwrap_err().field,
            "config.imap_host"
        );
    }

    #[test]
    fn the_password_is_never_public() {
        let stored = configure(Some(&full()), None).unwrap().unwrap();
        let c: Config = serde_json::from_value(stored).unwrap();
        assert!(!c.public().to_string().contains("\"secret\""));
    }

    #[test]
    fn a_refresh_token_stands_in_for_the_password_and_stays_private() {
        let given = json!({"address": "help@example.com", "imap_host": "imap.example.com", "smtp_host": "smtp.example.com",
            "auth": "xoauth2", "oauth_token_url": "https://oauth2.example.com/token", "oauth_client_id": "client-1",
            "oauth_client_secret": "client-secret-9", "oauth_refresh_token": "refresh-token-7"});
        let stored = configure(Some(&given), None).unwrap().unwrap();
        let c: Config = serde_json::from_value(stored.clone()).unwrap();
        assert_eq!(c.refresh.as_ref().unwrap().client_id, "client-1");
        let public = c.public().to_string();
        assert!(
            !public.contains("client-secret-9") && !public.contains("refresh-token-7"),
            "{public}"
        );
        assert_eq!(c.public()["oauth_refresh_token_set"], true);
        // A change keeps the secrets it leaves out; an empty refresh token removes the grant.
        let changed = configure(Some(&json!({"oauth_client_id": "client-2"})), Some(&stored))
            .unwrap()
            .unwrap();
        let refresh = serde_json::from_value::<Config>(changed).unwrap().refresh.unwrap();
        assert_eq!(
            (refresh.client_id.as_str(), refresh.refresh_token.as_str()),
            ("client-2", "refresh-token-7")
        );
        assert_eq!(refresh.client_secret.as_deref(), Some("client-secret-9"));
        assert_eq!(
            configure(Some(&json!({"oauth_refresh_token": ""})), Some(&stored))
                .unwrap_err()
                .field,
            "config.password",
            "without the grant a token or password is needed again"
        );
        for (change, field) in [
            (json!({"oauth_token_url": "ftp://x"}), "config.oauth_token_url"),
            (json!({"auth": "password"}), "config.auth"),
        ] {
            let mut g = given.clone();
            g.as_object_mut().unwrap().extend(change.as_object().unwrap().clone());
            assert_eq!(configure(Some(&g), None).unwrap_err().field, field, "{change}");
        }
        let mut missing = given.clone();
        missing.as_object_mut().unwrap().remove("oauth_client_id");
        assert_eq!(
            configure(Some(&missing), None).unwrap_err().field,
            "config.oauth_client_id"
        );
    }

    #[test]
    fn cursors_round_trip() {
        let c = Cursor {
            validity: 7,
            last_uid: 42,
        };
        assert_eq!(Cursor::parse(&c.to_string()), Some(c));
        assert_eq!(Cursor::parse("x"), None);
    }
}
