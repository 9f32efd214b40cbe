//! The e-mail channel's reading of a raw message from the mailbox (MIME,
//! bounces, automatic mail, quoted history) and of its files, on arbitrary
//! bytes: whatever a sender puts in a mail, the reader never panics.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let events = switchboard_channels::email::parse_mail(data, "help@shop.example");
    for index in 0..3 {
        let _ = switchboard_channels::email::mail_file(data, index);
    }
    drop(events);
});
