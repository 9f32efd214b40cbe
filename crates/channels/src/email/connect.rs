//! Connections to the mail servers an admin configured, under the same
//! private-address rule as every outgoing request: the name is resolved
//! here and only allowed addresses are dialled. A connection without TLS
//! is made only to a private address (a server on the local network, which
//! the operator must allow), so a password never crosses the internet in
//! clear.

use std::fmt::Debug;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::TcpStream;
use tokio_rustls::rustls;

use super::config::{Security, Server};
use crate::SendError;
use crate::net::{OutboundHttp, is_private};

const CONNECT_TIMEOUT: Duration = Duration::from_secs(15);

/// A byte stream to a mail server, plain or TLS.
pub(super) trait MailIo: AsyncRead + AsyncWrite + Unpin + Send + Debug {}

impl<T: AsyncRead + AsyncWrite + Unpin + Send + Debug> MailIo for T {}

pub(super) type MailStream = Box<dyn MailIo>;

/// How a mail server is dialled and logged in to: under the
/// outgoing-address rule, trusting the operator's extra certificate
/// authorities, with the login's secret from the token cache.
#[derive(Clone, Copy)]
pub(super) struct Dial<'a> {
    pub http: &'a OutboundHttp,
    /// DER certificates trusted beside the system's roots.
    pub roots: &'a [Vec<u8>],
    pub tokens: &'a super::oauth::TokenCache,
}

/// The addresses `server` may be dialled at, best first.
pub(super) async fn addresses(http: &OutboundHttp, server: &Server) -> Result<Vec<SocketAddr>, SendError> {
    let found: Vec<SocketAddr> = tokio::time::timeout(
        CONNECT_TIMEOUT,
        tokio::net::lookup_host((server.host.as_str(), server.port)),
    )
    .await
    .map_err(|_| SendError::Retryable(format!("looking up {} timed out", server.host)))?
    .map_err(|e| SendError::Retryable(format!("{} could not be looked up: {e}", server.host)))?
    .collect();
    if found.is_empty() {
        return Err(SendError::Retryable(format!("{} has no address", server.host)));
    }
    let allowed: Vec<SocketAddr> = found
        .into_iter()
        .filter(|a| http.allows_private() || !is_private(a.ip()))
        .collect();
    if allowed.is_empty() {
        return Err(SendError::Permanent(format!(
            "refused: {} is a loopback, private or link-local address; an admin can allow private targets in settings",
            server.host
        )));
    }
    if server.security == Security::None && allowed.iter().any(|a| !is_private(a.ip())) {
        return Err(SendError::Permanent(format!(
            "{} is on the internet: choose TLS or STARTTLS (a connection without encryption is only made to a server on a private network)",
            server.host
        )));
    }
    Ok(allowed)
}

/// A TCP connection to the first of `server`'s allowed addresses that answers.
pub(super) async fn tcp(http: &OutboundHttp, server: &Server) -> Result<TcpStream, SendError> {
    let mut last = None;
    for address in addresses(http, server).await? {
        match tokio::time::timeout(CONNECT_TIMEOUT, TcpStream::connect(address)).await {
            Ok(Ok(stream)) => return Ok(stream),
            Ok(Err(e)) => last = Some(format!("{address}: {e}")),
            Err(_) => last = Some(format!("{address}: timed out")),
        }
    }
    Err(SendError::Retryable(format!(
        "{}:{} could not be reached ({})",
        server.host,
        server.port,
        last.unwrap_or_default()
    )))
}

/// TLS over `stream`, checking the certificate for `host` against the
/// system's roots and the operator's extra ones.
pub(super) async fn tls<S>(
    stream: S,
    host: &str,
    roots: &[Vec<u8>],
) -> Result<tokio_rustls::client::TlsStream<S>, SendError>
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    let config = client_config(roots).map_err(|e| SendError::Permanent(format!("TLS could not be set up: {e}")))?;
    let name = rustls::pki_types::ServerName::try_from(host.to_owned())
        .map_err(|_| SendError::Permanent(format!("{host} is not a name TLS can check")))?;
    tokio::time::timeout(
        CONNECT_TIMEOUT,
        tokio_rustls::TlsConnector::from(config).connect(name, stream),
    )
    .await
    .map_err(|_| SendError::Retryable(format!("the TLS handshake with {host} timed out")))?
    .map_err(|e| SendError::Retryable(format!("the TLS handshake with {host} failed: {e}")))
}

fn client_config(roots: &[Vec<u8>]) -> Result<Arc<rustls::ClientConfig>, rustls::Error> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let extra = roots
        .iter()
        .map(|der| rustls::pki_types::CertificateDer::from(der.clone()));
    let verifier = rustls_platform_verifier::Verifier::new_with_extra_roots(extra, provider.clone())?;
    let config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()?
        .dangerous()
        .with_custom_certificate_verifier(Arc::new(verifier))
        .with_no_client_auth();
    Ok(Arc::new(config))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn server(host: &str, security: Security) -> Server {
        Server {
            host: host.into(),
            port: 143,
            security,
        }
    }

    #[tokio::test]
    async fn a_private_server_needs_the_operators_leave() {
        let guarded = OutboundHttp::new(false, Duration::from_secs(1)).unwrap();
        let error = addresses(&guarded, &server("127.0.0.1", Security::Tls))
            .await
            .unwrap_err();
        assert!(error.to_string().contains("refused"), "{error}");
        let open = OutboundHttp::new(true, Duration::from_secs(1)).unwrap();
        assert_eq!(
            addresses(&open, &server("127.0.0.1", Security::None))
                .await
                .unwrap()
                .len(),
            1
        );
    }

    #[tokio::test]
    async fn no_encryption_only_on_a_private_network() {
        let open = OutboundHttp::new(true, Duration::from_secs(1)).unwrap();
        let error = addresses(&open, &server("8.8.8.8", Security::None)).await.unwrap_err();
        assert!(error.to_string().contains("choose TLS"), "{error}");
        assert!(addresses(&open, &server("8.8.8.8", Security::Starttls)).await.is_ok());
    }
}
