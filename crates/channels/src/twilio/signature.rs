//! `X-Twilio-Signature` exactly as Twilio specifies (channels.md §4.2):
//! base64 of HMAC-SHA1 under the account's auth token, over the full URL
//! Twilio called followed by every form parameter sorted by name, each as
//! name then value. Twilio's own validators accept the URL with and without
//! the scheme's default port, because what Twilio signed depends on how the
//! URL was configured; so do we.

use base64::Engine;
use hmac::{Hmac, Mac};
use sha1::Sha1;

pub const SIGNATURE_HEADER: &str = "x-twilio-signature";

/// The signature of a request to `url` with these form parameters.
pub fn sign(auth_token: &str, url: &str, params: &[(String, String)]) -> String {
    let mut sorted: Vec<&(String, String)> = params.iter().collect();
    sorted.sort();
    sorted.dedup();
    // HMAC takes a key of any length.
    let mut mac =
        Hmac::<Sha1>::new_from_slice(auth_token.as_bytes()).unwrap_or_else(|_| unreachable!("any key length"));
    mac.update(url.as_bytes());
    for (name, value) in sorted {
        mac.update(name.as_bytes());
        mac.update(value.as_bytes());
    }
    base64::engine::general_purpose::STANDARD.encode(mac.finalize().into_bytes())
}

/// The URL as given, with the scheme's default port, and without it.
fn port_variants(url: &str) -> Vec<String> {
    let Ok(parsed) = url::Url::parse(url) else {
        return vec![url.to_owned()];
    };
    let default = match parsed.scheme() {
        "https" => 443,
        "http" => 80,
        _ => return vec![url.to_owned()],
    };
    // `Url` drops a default port it was given; rebuild it by hand.
    let without = parsed.to_string();
    let host = parsed.host_str().unwrap_or_default();
    let with = match parsed.port() {
        Some(_) => without.clone(),
        None => without.replacen(
            &format!("{}://{host}", parsed.scheme()),
            &format!("{}://{host}:{default}", parsed.scheme()),
            1,
        ),
    };
    let mut variants = vec![url.to_owned(), without, with];
    variants.dedup();
    variants
}

/// Whether `given` signs the request under any form of the URL.
pub(super) fn verify(auth_token: &str, url: &str, params: &[(String, String)], given: &str) -> bool {
    port_variants(url).iter().any(|variant| {
        crate::signing::equal_in_constant_time(sign(auth_token, variant, params).as_bytes(), given.trim().as_bytes())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pairs(list: &[(&str, &str)]) -> Vec<(String, String)> {
        list.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect()
    }

    /// The value Twilio's own `RequestValidator.compute_signature` (PyPI
    /// `twilio`) gives for the parameters of its webhook-security page.
    #[test]
    fn agrees_with_twilios_validator() {
        let params = pairs(&[
            ("CallSid", "CA1234567890ABCDE"),
            ("Caller", "+12349013030"),
            ("Digits", "1234"),
            ("From", "+12349013030"),
            ("To", "+18005551212"),
        ]);
        assert_eq!(
            sign("12345", "https://example.com/myapp.php?foo=1&bar=2", &params),
            "vNe7KK2kJwCsxc9K3OLkkKB3qqI="
        );
    }

    #[test]
    fn the_default_port_may_or_may_not_be_in_the_signed_url() {
        let params = pairs(&[("Body", "hi"), ("From", "+14155550100")]);
        let signed_with_port = sign("token", "https://sb.example:443/hooks/sms/1", &params);
        assert!(verify(
            "token",
            "https://sb.example/hooks/sms/1",
            &params,
            &signed_with_port
        ));
        let signed_without = sign("token", "https://sb.example/hooks/sms/1", &params);
        assert!(verify(
            "token",
            "https://sb.example:443/hooks/sms/1",
            &params,
            &signed_without
        ));
        assert!(!verify(
            "other",
            "https://sb.example/hooks/sms/1",
            &params,
            &signed_without
        ));
        let changed = pairs(&[("Body", "hi!"), ("From", "+14155550100")]);
        assert!(!verify(
            "token",
            "https://sb.example/hooks/sms/1",
            &changed,
            &signed_without
        ));
    }
}
