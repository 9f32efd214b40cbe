//! HMAC-SHA256 signatures, compared in constant time, and SHA-256 digests.

use hmac::{Hmac, Mac};
use sha2::Sha256;

type HmacSha256 = Hmac<Sha256>;

pub fn hmac_sha256(secret: &[u8], data: &[u8]) -> [u8; 32] {
    // HMAC accepts keys of any length, so this cannot fail.
    let mut mac = HmacSha256::new_from_slice(secret).unwrap_or_else(|_| unreachable!("hmac takes any key length"));
    mac.update(data);
    mac.finalize().into_bytes().into()
}

pub fn hmac_sha256_hex(secret: &[u8], data: &[u8]) -> String {
    hex::encode(hmac_sha256(secret, data))
}

/// A digest that names content (a posted e-mail without a Message-ID).
pub fn sha256_hex(data: &[u8]) -> String {
    use sha2::Digest;
    hex::encode(Sha256::digest(data))
}

/// Whether `hex_signature` is the HMAC of `data` under `secret`.
pub fn verify_hex(secret: &[u8], data: &[u8], hex_signature: &str) -> bool {
    let Ok(given) = hex::decode(hex_signature.trim()) else {
        return false;
    };
    let mut mac = HmacSha256::new_from_slice(secret).unwrap_or_else(|_| unreachable!("hmac takes any key length"));
    mac.update(data);
    mac.verify_slice(&given).is_ok()
}

/// Whether two byte strings are equal, in time that depends only on their
/// lengths (verify tokens, shared secrets).
pub fn equal_in_constant_time(a: &[u8], b: &[u8]) -> bool {
    use subtle::ConstantTimeEq;
    a.len() == b.len() && bool::from(a.ct_eq(b))
}
