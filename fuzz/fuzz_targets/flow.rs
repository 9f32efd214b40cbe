//! The bot flow compiler on arbitrary text.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let team = |name: &str| (name == "Billing").then(|| switchboard_core::TeamId(uuid::Uuid::from_u128(7)));
    let _ = switchboard_core::bot::compile(text, &team);
});
