//! Outgoing HTTP to addresses users configure (callback URLs, webhooks).
//! Loopback, private, link-local and other special-purpose addresses are
//! refused unless the operator allows private targets, both for literal IPs
//! and for names that resolve to them (checked at connect time, so a DNS
//! change after validation does not get through). Redirects are not followed.

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use reqwest::dns::{Addrs, Name, Resolve, Resolving};

/// Whether an address is outside the public internet.
pub fn is_private(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => {
            let o = v4.octets();
            v4.is_loopback()
                || v4.is_private()
                || v4.is_link_local()
                || v4.is_unspecified()
                || v4.is_broadcast()
                || v4.is_documentation()
                || o[0] == 0
                || (o[0] == 100 && (64..128).contains(&o[1])) // carrier-grade NAT
                || (o[0] == 198 && (o[1] == 18 || o[1] == 19)) // benchmarking
                || o[0] >= 240
        }
        IpAddr::V6(v6) => {
            if let Some(v4) = v6.to_ipv4_mapped() {
                return is_private(IpAddr::V4(v4));
            }
            let s = v6.segments();
            v6.is_loopback()
                || v6.is_unspecified()
                || (s[0] & 0xfe00) == 0xfc00 // unique local
                || (s[0] & 0xffc0) == 0xfe80 // link-local
                || v6.is_multicast()
        }
    }
}

#[derive(Debug, thiserror::Error)]
#[error("refused: {0} is a loopback, private or link-local address; an admin can allow private targets in settings")]
pub struct PrivateTarget(pub String);

/// Whether a request failed because its target resolved to a private
/// address (the refusal sits somewhere in the error's source chain).
pub fn refused_private(error: &(dyn std::error::Error + 'static)) -> bool {
    let mut current = Some(error);
    while let Some(e) = current {
        if e.downcast_ref::<PrivateTarget>().is_some() {
            return true;
        }
        current = e.source();
    }
    false
}

struct GuardedResolver;

impl Resolve for GuardedResolver {
    fn resolve(&self, name: Name) -> Resolving {
        Box::pin(async move {
            let host = name.as_str().to_owned();
            let addrs: Vec<SocketAddr> = tokio::net::lookup_host((host.as_str(), 0)).await?.collect();
            let public: Vec<SocketAddr> = addrs.into_iter().filter(|a| !is_private(a.ip())).collect();
            if public.is_empty() {
                return Err(Box::new(PrivateTarget(host)) as Box<dyn std::error::Error + Send + Sync>);
            }
            Ok(Box::new(public.into_iter()) as Addrs)
        })
    }
}

/// An HTTP client for user-configured targets.
#[derive(Clone)]
pub struct OutboundHttp {
    pub client: reqwest::Client,
    allow_private: bool,
}

impl std::fmt::Debug for OutboundHttp {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "OutboundHttp(allow_private: {})", self.allow_private)
    }
}

impl OutboundHttp {
    pub fn new(allow_private: bool, timeout: Duration) -> Result<Self, reqwest::Error> {
        let mut builder = reqwest::Client::builder()
            .timeout(timeout)
            .connect_timeout(timeout.min(Duration::from_secs(10)))
            .redirect(reqwest::redirect::Policy::none())
            .user_agent(concat!("Switchboard/", env!("CARGO_PKG_VERSION")));
        if !allow_private {
            builder = builder.dns_resolver(Arc::new(GuardedResolver));
        }
        Ok(Self {
            client: builder.build()?,
            allow_private,
        })
    }

    /// Refuse a URL whose host is a literal private address (names are
    /// checked when they resolve).
    pub fn check(&self, url: &url::Url) -> Result<(), PrivateTarget> {
        if self.allow_private {
            return Ok(());
        }
        let ip = match url.host() {
            Some(url::Host::Ipv4(ip)) => Some(IpAddr::V4(ip)),
            Some(url::Host::Ipv6(ip)) => Some(IpAddr::V6(ip)),
            Some(url::Host::Domain(d)) if d.eq_ignore_ascii_case("localhost") || d.ends_with(".localhost") => {
                return Err(PrivateTarget(d.to_owned()));
            }
            _ => None,
        };
        match ip {
            Some(ip) if is_private(ip) => Err(PrivateTarget(ip.to_string())),
            _ => Ok(()),
        }
    }
}

/// Download a file from a URL someone configured or sent us, through the
/// private-address guard, as a stream (the caller enforces its size limit).
/// 5xx, 408, 429 and network trouble are retryable; other failures are not.
pub async fn fetch_url(http: &OutboundHttp, raw_url: &str) -> Result<crate::FetchedMedia, crate::SendError> {
    use crate::SendError;
    let url: url::Url = raw_url
        .parse()
        .map_err(|e| SendError::Permanent(format!("the URL is not valid: {e}")))?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err(SendError::Permanent("the URL must be http or https".into()));
    }
    http.check(&url).map_err(|e| SendError::Permanent(e.to_string()))?;
    let response = http.client.get(url.clone()).send().await.map_err(|e| {
        if refused_private(&e) {
            SendError::Permanent("refused: the URL resolves to a private address".into())
        } else {
            SendError::Retryable(format!("the request failed: {e}"))
        }
    })?;
    let status = response.status();
    if !status.is_success() {
        let reason = format!("the file's server answered {status}");
        return Err(if status.is_server_error() || matches!(status.as_u16(), 408 | 429) {
            SendError::Retryable(reason)
        } else {
            SendError::Permanent(reason)
        });
    }
    let filename = url
        .path_segments()
        .and_then(|mut s| s.next_back())
        .filter(|name| !name.is_empty())
        .map(str::to_owned);
    let declared_size = response.content_length();
    let body = futures::stream::unfold(Some(response), |state| async move {
        let mut response = state?;
        match response.chunk().await {
            Ok(Some(chunk)) => Some((Ok(chunk), Some(response))),
            Ok(None) => None,
            Err(e) => Some((Err(std::io::Error::other(e)), None)),
        }
    });
    Ok(crate::FetchedMedia {
        filename,
        declared_size,
        // Fused: a reader may ask again after the end.
        body: Box::pin(futures::StreamExt::fuse(body)),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn private_ranges() {
        for ip in [
            "127.0.0.1",
            "10.1.2.3",
            "172.16.0.1",
            "192.168.1.1",
            "169.254.169.254",
            "::1",
            "fe80::1",
            "fd00::1",
            "::ffff:127.0.0.1",
            "0.0.0.0",
            "100.64.0.1",
        ] {
            assert!(is_private(ip.parse().unwrap()), "{ip}");
        }
        for ip in ["8.8.8.8", "1.1.1.1", "2606:4700::1111"] {
            assert!(!is_private(ip.parse().unwrap()), "{ip}");
        }
    }

    #[test]
    fn literal_private_urls_are_refused() {
        let http = OutboundHttp::new(false, Duration::from_secs(1)).unwrap();
        assert!(http.check(&"http://127.0.0.1:9/x".parse().unwrap()).is_err());
        assert!(http.check(&"http://[::1]/x".parse().unwrap()).is_err());
        assert!(http.check(&"http://localhost/x".parse().unwrap()).is_err());
        assert!(http.check(&"https://example.com/x".parse().unwrap()).is_ok());
        let open = OutboundHttp::new(true, Duration::from_secs(1)).unwrap();
        assert!(open.check(&"http://127.0.0.1:9/x".parse().unwrap()).is_ok());
    }
}
