//! Provider keys sealed at rest with the server's secret key
//! (ChaCha20-Poly1305, a random nonce per seal; the workspace id is bound
//! in as associated data, so a sealed key cannot be moved to another
//! workspace).

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use ring::aead::{Aad, CHACHA20_POLY1305, LessSafeKey, NONCE_LEN, Nonce, UnboundKey};
use ring::rand::{SecureRandom, SystemRandom};
use switchboard_core::WorkspaceId;

use crate::{ServiceError, ServiceResult};

fn key(secret: &[u8; 32]) -> ServiceResult<LessSafeKey> {
    UnboundKey::new(&CHACHA20_POLY1305, secret)
        .map(LessSafeKey::new)
        .map_err(|_| ServiceError::Internal("the secret key cannot be used".into()))
}

/// `plain` sealed for `ws`: base64 of nonce ‖ ciphertext ‖ tag.
pub(crate) fn seal(secret: &[u8; 32], ws: WorkspaceId, plain: &str) -> ServiceResult<String> {
    let mut nonce = [0u8; NONCE_LEN];
    SystemRandom::new()
        .fill(&mut nonce)
        .map_err(|_| ServiceError::Internal("no randomness for a nonce".into()))?;
    let mut data = plain.as_bytes().to_vec();
    key(secret)?
        .seal_in_place_append_tag(
            Nonce::assume_unique_for_key(nonce),
            Aad::from(ws.to_string().as_bytes()),
            &mut data,
        )
        .map_err(|_| ServiceError::Internal("sealing failed".into()))?;
    let mut out = nonce.to_vec();
    out.extend(data);
    Ok(STANDARD.encode(out))
}

/// The key sealed by [`seal`] for `ws`.
pub(crate) fn open(secret: &[u8; 32], ws: WorkspaceId, sealed: &str) -> ServiceResult<String> {
    let broken = || ServiceError::Internal("the stored API key cannot be opened with this server's secret key".into());
    let raw = STANDARD.decode(sealed).map_err(|_| broken())?;
    if raw.len() < NONCE_LEN {
        return Err(broken());
    }
    let (nonce, rest) = raw.split_at(NONCE_LEN);
    let nonce: [u8; NONCE_LEN] = nonce.try_into().map_err(|_| broken())?;
    let mut data = rest.to_vec();
    let plain = key(secret)?
        .open_in_place(
            Nonce::assume_unique_for_key(nonce),
            Aad::from(ws.to_string().as_bytes()),
            &mut data,
        )
        .map_err(|_| broken())?;
    String::from_utf8(plain.to_vec()).map_err(|_| broken())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_sealed_key_opens_only_for_its_workspace_and_secret() {
        let secret = [7u8; 32];
        let ws = WorkspaceId::new();
        let sealed = seal(&secret, ws, "sk-live-123").unwrap();
        assert!(!sealed.contains("sk-live"));
        assert_eq!(open(&secret, ws, &sealed).unwrap(), "sk-live-123");
        assert!(open(&secret, WorkspaceId::new(), &sealed).is_err());
        assert!(open(&[8u8; 32], ws, &sealed).is_err());
        assert_ne!(
            seal(&secret, ws, "sk-live-123").unwrap(),
            sealed,
            "a new nonce each time"
        );
    }
}
