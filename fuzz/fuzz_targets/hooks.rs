//! Every provider's webhook handling (signature check, then parsing) on
//! arbitrary requests, e-mail relays' forms included. The first byte picks the kind, the method and
//! whether the body is signed correctly, so the parsers behind the
//! signature checks are reached too.
#![no_main]

use libfuzzer_sys::fuzz_target;
use switchboard_channels::{ChannelSetup, HookMethod, HookRequest, Registry, Secret};
use switchboard_core::{ChannelId, ChannelKind, WorkspaceId};

const APP_SECRET: &str = "fuzz-app-secret";
const TWILIO_TOKEN: &str = "f00dfeedf00dfeedf00dfeedf00dfeed";
const CHANNEL_SECRET: &str = "fuzz-channel-secret-0123456789";

fn setup(kind: ChannelKind) -> ChannelSetup {
    ChannelSetup {
        id: ChannelId(uuid_of(1)),
        workspace_id: WorkspaceId(uuid_of(2)),
        kind,
        callback_url: Some("https://receiver.example/callback".into()),
        secret: Some(Secret::new(CHANNEL_SECRET)),
        settings: if kind == ChannelKind::Telegram {
            serde_json::json!({"config": {"bot_token": "7123456789:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw", "mode": "webhook"}})
        } else if kind == ChannelKind::X {
            serde_json::json!({"config": {"api_key": "fuzz-api-key-0001", "api_secret": APP_SECRET,
                "access_token": "370773112-fuzzaccesstoken", "access_token_secret": "fuzz-token-secret"}})
        } else if kind == ChannelKind::Vk {
            serde_json::json!({"config": {"group_id": "1", "access_token": "vk1.a.fuzz-community-token", "confirmation": "abc"}})
        } else if kind == ChannelKind::Sms {
            serde_json::json!({"config": {"account_sid": "AC0123456789abcdef0123456789abcdef",
                "auth_token": TWILIO_TOKEN, "from": "+14155550199"}})
        } else if kind == ChannelKind::Email {
            serde_json::json!({"config": {"address": "help@shop.example",
                "smtp": {"host": "smtp.example.com", "port": 587, "security": "starttls"},
                "username": "help@shop.example", "password": "p", "auth": "password", "mailbox": "INBOX"}})
        } else if matches!(kind, ChannelKind::Messenger | ChannelKind::Instagram) {
            serde_json::json!({"config": {"page_id": "104859372658913", "access_token": "page-token", "app_secret": APP_SECRET}})
        } else {
            serde_json::json!({"config": {"phone_number_id": "106540352242922",
                "business_account_id": "1", "access_token": "t", "app_secret": APP_SECRET}})
        },
    }
}

fn uuid_of(n: u128) -> uuid::Uuid {
    uuid::Uuid::from_u128(n)
}

fuzz_target!(|data: &[u8]| {
    let Some((&control, body)) = data.split_first() else {
        return;
    };
    let kinds = [
        ChannelKind::Whatsapp,
        ChannelKind::Messenger,
        ChannelKind::Instagram,
        ChannelKind::Telegram,
        ChannelKind::Sms,
        ChannelKind::Vk,
        ChannelKind::X,
        ChannelKind::Email,
        ChannelKind::Api,
        ChannelKind::Web,
    ];
    let kind = kinds[(control as usize) % kinds.len()];
    let method = if control & 0x10 != 0 {
        HookMethod::Get
    } else {
        HookMethod::Post
    };
    // E-mail takes each shape a relay posts.
    let mail_shapes = [
        "multipart/form-data; boundary=b",
        "application/x-www-form-urlencoded",
        "application/json",
        "message/rfc822",
    ];
    let content_type = match kind {
        ChannelKind::Sms => "application/x-www-form-urlencoded",
        ChannelKind::Email => mail_shapes[(control >> 6) as usize],
        _ => "application/json",
    };
    let mut headers = vec![("content-type".to_owned(), content_type.to_owned())];
    if control & 0x20 != 0 {
        headers.push((
            switchboard_channels::whatsapp::SIGNATURE_HEADER.to_owned(),
            switchboard_channels::whatsapp::sign(APP_SECRET, body),
        ));
        headers.push((
            switchboard_channels::api::SIGNATURE_HEADER.to_owned(),
            switchboard_channels::api::sign(CHANNEL_SECRET, body),
        ));
        headers.push((
            switchboard_channels::x::SIGNATURE_HEADER.to_owned(),
            switchboard_channels::x::sign(APP_SECRET, body),
        ));
        headers.push((
            switchboard_channels::telegram::SECRET_HEADER.to_owned(),
            CHANNEL_SECRET.to_owned(),
        ));
        // Twilio signs the URL it called (the default public URL and an
        // empty path here) and the form.
        let form: Vec<(String, String)> = url::form_urlencoded::parse(body).into_owned().collect();
        headers.push((
            switchboard_channels::twilio::SIGNATURE_HEADER.to_owned(),
            switchboard_channels::twilio::sign(TWILIO_TOKEN, "http://127.0.0.1:8080", &form),
        ));
    }
    // A GET carries the body as its query string (Meta's handshake); a
    // relay posting mail names the channel secret in it.
    let query = if method == HookMethod::Get {
        String::from_utf8_lossy(body).into_owned()
    } else if control & 0x20 != 0 {
        format!("key={CHANNEL_SECRET}")
    } else {
        String::new()
    };
    let request = HookRequest {
        method,
        path: String::new(),
        query,
        headers,
        body: body.to_vec(),
    };
    let registry = Registry::standard();
    if let Some(adapter) = registry.adapter(kind) {
        let _ = adapter.handle_hook(&setup(kind), &request);
    }
});
