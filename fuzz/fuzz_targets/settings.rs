//! Settings and values people type: business hours and routing JSON,
//! template bodies, headers and buttons, phone numbers, campaign values.
#![no_main]

use libfuzzer_sys::fuzz_target;
use switchboard_core::template::{self, parts};

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let _ = switchboard_core::hours::BusinessHours::parse_str(text);
    if let Ok(value) = serde_json::from_str::<serde_json::Value>(text) {
        let _ = switchboard_core::hours::BusinessHours::parse(&value);
        let _ = switchboard_core::routing::WorkspaceRouting::parse(&value);
        let _ = switchboard_core::routing::TeamRouting::parse(&value);
        if let Ok(p) = serde_json::from_value::<parts::TemplateParts>(value.clone())
            && let Ok(p) = parts::parts(p.header, p.buttons)
        {
            let buttons: Vec<String> = (0..p.buttons.len()).map(|i| format!("v{i}")).collect();
            let _ = parts::fill(
                &p,
                parts::PartsFill {
                    header: Some(text),
                    buttons: &buttons,
                },
            );
        }
        let _ = serde_json::from_value::<switchboard_core::campaign::CampaignValues>(value);
    }
    if let Ok(body) = template::body(text) {
        let values: Vec<String> = (0..body.placeholder_count).map(|i| format!("value {i}")).collect();
        let _ = template::render(&body.text, &values);
    }
    let _ = template::name(text);
    let _ = template::language(text);
    let _ = switchboard_core::campaign::phone_digits(text);
    let _ = switchboard_core::campaign::OptKeywords::default().change(text);
});
