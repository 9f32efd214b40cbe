//! Every special address form is refused when a URL we would call is saved
//! (outgoing webhooks, external bots, API channels' callbacks), with a clear
//! 422 on the field: NAT64,
//! 6to4 and Teredo forms embedding loopback or private addresses, IPv4
//! multicast and broadcast, documentation, benchmarking and shared
//! addresses, IPv4-mapped IPv6, and decimal, octal and hex spellings of
//! loopback. The same rule refuses them again at connect time (unit tests
//! in `switchboard-channels`).

use serde_json::json;
use switchboard_testkit::fixtures::Org;
use switchboard_testkit::{TestApp, TestOptions};

const SPECIAL: [&str; 18] = [
    "http://[64:ff9b::7f00:1]/hook",
    "http://[64:ff9b::a9fe:a9fe]/hook",
    "http://[2002:7f00:1::1]/hook",
    "http://[2002:a00:1::1]/hook",
    "http://[2001:0:4136:e378:8000:63bf:80ff:fffe]/hook",
    "http://[::ffff:127.0.0.1]/hook",
    "http://224.0.0.1/hook",
    "http://239.255.255.250/hook",
    "http://255.255.255.255/hook",
    "http://192.0.2.10/hook",
    "http://198.18.0.1/hook",
    "http://100.64.0.1/hook",
    "http://2130706433/hook",
    "http://0x7f.1/hook",
    "http://0177.0.0.1/hook",
    "http://[fd00::1]/hook",
    "http://[fe80::1]/hook",
    "http://[ff02::1]/hook",
];

#[tokio::test]
async fn special_addresses_are_refused_when_saved() {
    let app = TestApp::spawn_with(TestOptions {
        allow_private_targets: false,
        ..TestOptions::default()
    })
    .await;
    let org = Org::create(&app).await;
    for url in SPECIAL {
        let r = org.admin.post(&org.path("/webhooks"), json!({"url": url})).await;
        assert_eq!(
            (r.status.as_u16(), r.code()),
            (422, "invalid_input"),
            "{url}: {:?}",
            r.body
        );
        assert_eq!(r.body["error"]["field"], "url", "{url}");
        let r = org
            .admin
            .put(
                &org.path(&format!("/channels/{}/bot", org.channel)),
                json!({"kind": "external", "url": url}),
            )
            .await;
        assert_eq!(
            (r.status.as_u16(), r.code()),
            (422, "invalid_input"),
            "{url}: {:?}",
            r.body
        );
        // An API channel's callback URL, on a new channel and on a change.
        let r = org
            .admin
            .post(
                &org.path("/channels"),
                json!({"kind": "api", "name": "Shop 2", "callback_url": url}),
            )
            .await;
        assert_eq!(
            (r.status.as_u16(), r.body["error"]["field"].as_str()),
            (422, Some("callback_url")),
            "{url}"
        );
        let r = org
            .admin
            .patch(
                &org.path(&format!("/channels/{}", org.channel)),
                json!({"callback_url": url}),
            )
            .await;
        assert_eq!(
            (r.status.as_u16(), r.body["error"]["field"].as_str()),
            (422, Some("callback_url")),
            "{url}"
        );
    }
    assert_eq!(org.admin.get(&org.path("/webhooks")).await["items"], json!([]));
    // A public address is taken (nothing is called when it is saved).
    let r = org
        .admin
        .post(&org.path("/webhooks"), json!({"url": "https://93.184.216.34/hook"}))
        .await;
    assert_eq!(r.status, 201, "{:?}", r.body);
}
