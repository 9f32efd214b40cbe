//! OAuth 1.0a request signing (RFC 5849, HMAC-SHA1): how X's API knows a
//! request acts for the account. The signature covers the method, the URL
//! without its query, and every `oauth_*` and query parameter (a JSON or
//! multipart body is not covered), each percent-encoded as RFC 3986 says.

use std::sync::atomic::{AtomicU64, Ordering};

use base64::Engine;
use hmac::{Hmac, Mac};
use sha1::Sha1;

/// The four credentials of a user-context request.
#[derive(Clone, Copy)]
pub(super) struct Credentials<'a> {
    pub consumer_key: &'a str,
    pub consumer_secret: &'a str,
    pub token: &'a str,
    pub token_secret: &'a str,
}

/// RFC 3986 percent-encoding: everything but the unreserved characters.
pub(super) fn encode(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for b in value.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// A value used once per request (uniqueness is what the nonce needs).
fn nonce(now_secs: u64) -> String {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let count = COUNTER.fetch_add(1, Ordering::Relaxed);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or_default();
    hex::encode(crate::signing::hmac_sha256(
        format!("{now_secs}:{nanos}:{count}").as_bytes(),
        b"nonce",
    ))[..32]
        .to_owned()
}

/// The signature base string and key of a request.
/// `form` is a form body's parameters (none for the JSON bodies we send).
fn signature(
    method: &str,
    url: &url::Url,
    oauth: &[(&str, String)],
    form: &[(&str, &str)],
    credentials: Credentials<'_>,
) -> String {
    let mut params: Vec<(String, String)> = oauth.iter().map(|(k, v)| (encode(k), encode(v))).collect();
    params.extend(form.iter().map(|(k, v)| (encode(k), encode(v))));
    params.extend(url.query_pairs().map(|(k, v)| (encode(&k), encode(&v))));
    params.sort();
    let normalized = params
        .iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect::<Vec<_>>()
        .join("&");
    let mut base_url = url.clone();
    base_url.set_query(None);
    base_url.set_fragment(None);
    let base = format!(
        "{}&{}&{}",
        method.to_ascii_uppercase(),
        encode(base_url.as_str()),
        encode(&normalized)
    );
    let key = format!(
        "{}&{}",
        encode(credentials.consumer_secret),
        encode(credentials.token_secret)
    );
    let mut mac = Hmac::<Sha1>::new_from_slice(key.as_bytes()).unwrap_or_else(|_| unreachable!("any key length"));
    mac.update(base.as_bytes());
    base64::engine::general_purpose::STANDARD.encode(mac.finalize().into_bytes())
}

/// The `Authorization` header of a request, signed at `now_secs`.
pub(super) fn authorization(method: &str, url: &url::Url, credentials: Credentials<'_>, now_secs: u64) -> String {
    authorization_with(method, url, credentials, now_secs, &nonce(now_secs))
}

fn authorization_with(
    method: &str,
    url: &url::Url,
    credentials: Credentials<'_>,
    now_secs: u64,
    nonce: &str,
) -> String {
    let mut oauth = vec![
        ("oauth_consumer_key", credentials.consumer_key.to_owned()),
        ("oauth_nonce", nonce.to_owned()),
        ("oauth_signature_method", "HMAC-SHA1".to_owned()),
        ("oauth_timestamp", now_secs.to_string()),
        ("oauth_token", credentials.token.to_owned()),
        ("oauth_version", "1.0".to_owned()),
    ];
    let signature = signature(method, url, &oauth, &[], credentials);
    oauth.push(("oauth_signature", signature));
    oauth.sort();
    let fields = oauth
        .iter()
        .map(|(k, v)| format!("{}=\"{}\"", encode(k), encode(v)))
        .collect::<Vec<_>>()
        .join(", ");
    format!("OAuth {fields}")
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The worked example of X's "Creating a signature" guide.
    #[test]
    fn xs_documented_example() {
        let url: url::Url = "https://api.twitter.com/1.1/statuses/update.json?include_entities=true"
            .parse()
            .unwrap();
        let credentials = Credentials {
            consumer_key: "xvz1evFS4wEEPTGEFPHBog",
            consumer_secret: "kAcSOqF21Fu85e7zjz7ZN2U4ZRhfV3WpwPAoE3Z7kBw",
            token: "370773112-GmHxMAgYyLbNEtIKZeRNFsMKPR9EyMZeS9weJAEb",
            token_secret: "LswwdoUaIvS8ltyTt5jkRh4J50vUPVVHtR2YPi5kE",
        };
        let oauth = [
            ("oauth_consumer_key", credentials.consumer_key.to_owned()),
            ("oauth_nonce", "kYjzVBB8Y0ZFabxSWbWovY3uYSQ2pTgmZeNu2VS4cg".to_owned()),
            ("oauth_signature_method", "HMAC-SHA1".to_owned()),
            ("oauth_timestamp", "1318622958".to_owned()),
            ("oauth_token", credentials.token.to_owned()),
            ("oauth_version", "1.0".to_owned()),
        ];
        let form = [("status", "Hello Ladies + Gentlemen, a signed OAuth request!")];
        assert_eq!(
            signature("POST", &url, &oauth, &form, credentials),
            "hCtSmYh+iHYCEqBWrE7C7hYmtUk="
        );
        assert_eq!(encode("Ladies + Gentlemen"), "Ladies%20%2B%20Gentlemen");
        assert_eq!(encode("An encoded string!"), "An%20encoded%20string%21");
        assert_eq!(encode("Dogs, Cats & Mice"), "Dogs%2C%20Cats%20%26%20Mice");
        assert_eq!(encode("☃"), "%E2%98%83");
        let header = authorization_with(
            "post",
            &url,
            credentials,
            1318622958,
            "kYjzVBB8Y0ZFabxSWbWovY3uYSQ2pTgmZeNu2VS4cg",
        );
        assert!(header.starts_with("OAuth oauth_consumer_key=\"xvz1evFS4wEEPTGEFPHBog\", oauth_nonce="));
        assert!(header.contains("oauth_signature_method=\"HMAC-SHA1\""));
        assert!(header.contains("oauth_token=\"370773112-GmHxMAgYyLbNEtIKZeRNFsMKPR9EyMZeS9weJAEb\""));
    }

    #[test]
    fn nonces_differ() {
        assert_ne!(nonce(1), nonce(1));
    }
}
