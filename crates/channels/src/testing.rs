//! A channel adapter for tests: a made-up provider that shows every shape
//! of hook the port must carry through one generic route: a GET handshake
//! answered with a body of the adapter's choosing (as Meta's
//! `hub.challenge`), a form-encoded POST (as Twilio) and a JSON POST, both
//! signed, and a plain-text answer of its own. It never sends.
//!
//! Requests: `GET ?hub.mode=subscribe&hub.verify_token=<secret>&hub.challenge=<text>`
//! answers `<text>`; `POST` with `x-test-signature: <hex HMAC-SHA256 of
//! the body, keyed with the secret>` and the fields `id`, `from`, `text`
//! (form or JSON) is a customer message, answered `stored`.
//!
//! A channel with a callback URL polls instead: `GET <callback
//! URL>?after=<cursor>` answers `{"events": [{"id","from","text"}, …],
//! "cursor": "…"}`.

use switchboard_core::ChannelKind;
use switchboard_core::capabilities::Capabilities;

use crate::adapter::{
    BoxFuture, ChannelAdapter, ChannelSetup, Hook, HookMethod, HookReply, HookRequest, Polled, SendContext,
};
use crate::net::OutboundHttp;
use crate::signing::{hmac_sha256_hex, verify_hex};
use crate::{ExternalContact, Inbound, InboundError, InboundMessage, InboundOutcome, OutboundMessage, SendError, Sent};

pub const SIGNATURE_HEADER: &str = "x-test-signature";

#[derive(Debug)]
pub struct TestAdapter {
    kind: ChannelKind,
    capabilities: Capabilities,
}

impl TestAdapter {
    /// A test provider serving `kind`, with that kind's documented window.
    pub fn new(kind: ChannelKind) -> TestAdapter {
        TestAdapter {
            kind,
            capabilities: Capabilities {
                inbound_hook: true,
                ..*crate::documented::capabilities(kind)
            },
        }
    }

    /// The signature header value for a body.
    pub fn sign(secret: &str, body: &[u8]) -> String {
        hmac_sha256_hex(secret.as_bytes(), body)
    }
}

#[derive(serde::Deserialize)]
struct Fields {
    id: String,
    from: String,
    text: String,
}

fn fields_of(pairs: Vec<(String, String)>) -> Result<Fields, InboundError> {
    let get = |name: &str| {
        pairs
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.clone())
            .ok_or_else(|| InboundError::BadPayload(format!("{name} is missing")))
    };
    Ok(Fields {
        id: get("id")?,
        from: get("from")?,
        text: get("text")?,
    })
}

fn message_of(fields: Fields) -> Inbound {
    Inbound::Message(InboundMessage {
        html: None,
        subject: None,
        references: Vec::new(),
        external_id: fields.id,
        contact: ExternalContact {
            external_id: fields.from,
            name: None,
            email: None,
            phone: None,
        },
        text: fields.text,
        in_reply_to: None,
        sent_at: None,
        media: Vec::new(),
    })
}

impl ChannelAdapter for TestAdapter {
    fn kind(&self) -> ChannelKind {
        self.kind
    }

    fn capabilities(&self) -> &Capabilities {
        &self.capabilities
    }

    fn ready_to_send(&self, _: &ChannelSetup) -> Result<(), String> {
        Err(format!("sending on {} channels is not available yet", self.kind))
    }

    fn handle_hook<'a>(&'a self, channel: &'a ChannelSetup, request: &'a HookRequest) -> Result<Hook, InboundError> {
        let secret = channel.secret.as_ref().ok_or(InboundError::BadSignature)?;
        match request.method {
            HookMethod::Get => {
                let token = request.query_param("hub.verify_token");
                if request.query_param("hub.mode").as_deref() != Some("subscribe") {
                    return Err(InboundError::BadPayload("hub.mode must be subscribe".into()));
                }
                if token.as_deref() != Some(secret.expose()) {
                    return Err(InboundError::BadSignature);
                }
                let challenge = request.query_param("hub.challenge").unwrap_or_default();
                Ok(Hook::Reply(HookReply::text(200, challenge)))
            }
            HookMethod::Post => {
                let signature = request.header(SIGNATURE_HEADER).ok_or(InboundError::MissingSignature)?;
                if !verify_hex(secret.expose().as_bytes(), &request.body, signature) {
                    return Err(InboundError::BadSignature);
                }
                let fields = if request.content_type_is("application/x-www-form-urlencoded") {
                    fields_of(request.form_pairs())?
                } else if request.content_type_is("application/json") {
                    serde_json::from_slice(&request.body).map_err(|e| InboundError::BadPayload(e.to_string()))?
                } else {
                    return Err(InboundError::UnsupportedMediaType("send a form or JSON body".into()));
                };
                Ok(Hook::Events(vec![message_of(fields)]))
            }
            HookMethod::Other => Err(InboundError::MethodNotAllowed),
        }
    }

    fn polls(&self, channel: &ChannelSetup) -> bool {
        channel.callback_url.is_some()
    }

    fn poll<'a>(
        &'a self,
        http: &'a OutboundHttp,
        channel: &'a ChannelSetup,
        cursor: Option<&'a str>,
    ) -> BoxFuture<'a, Result<Polled, SendError>> {
        Box::pin(async move {
            let base = channel.callback_url.as_deref().unwrap_or_default();
            let mut url: url::Url = base.parse().map_err(|_| SendError::Permanent("bad URL".into()))?;
            if let Some(cursor) = cursor {
                url.query_pairs_mut().append_pair("after", cursor);
            }
            let response = http
                .client
                .get(url)
                .send()
                .await
                .map_err(|e| SendError::Retryable(e.to_string()))?;
            if !response.status().is_success() {
                return Err(SendError::Retryable(format!("answered {}", response.status())));
            }
            #[derive(serde::Deserialize)]
            struct Updates {
                events: Vec<Fields>,
                cursor: Option<String>,
            }
            let updates: Updates = response
                .json()
                .await
                .map_err(|e| SendError::Permanent(format!("not an update list: {e}")))?;
            Ok(Polled {
                events: updates.events.into_iter().map(message_of).collect(),
                cursor: updates.cursor,
            })
        })
    }

    fn answer(&self, outcomes: &[InboundOutcome]) -> HookReply {
        HookReply::text(200, format!("stored {}", outcomes.len()))
    }

    fn send<'a>(&'a self, _: SendContext<'a>, _: &'a OutboundMessage) -> BoxFuture<'a, Result<Sent, SendError>> {
        let kind = self.kind;
        Box::pin(async move {
            Err(SendError::Permanent(format!(
                "sending on {kind} channels is not available yet"
            )))
        })
    }
}
