//! Outgoing HTTP to addresses users configure (callback URLs, webhooks).
//! Loopback, private, link-local and other special-purpose addresses are
//! refused unless the operator allows private targets, both for literal IPs
//! and for names that resolve to them (checked at connect time, so a DNS
//! change after validation does not get through). Redirects are not followed.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use reqwest::dns::{Addrs, Name, Resolve, Resolving};

/// Whether an address is outside the public internet: the one rule for
/// every address we would connect to for a user (checked when a URL is
/// saved and again when its name resolves).
///
/// IPv4: this network, private, shared (carrier-grade NAT), loopback,
/// link-local, IETF protocol assignments, documentation, the 6to4 relay,
/// benchmarking, multicast, reserved and broadcast. IPv6: unspecified,
/// loopback, discard-only, documentation (both prefixes), benchmarking,
/// ORCHID, unique-local, link-local, site-local, multicast and local-use
/// NAT64; IPv4-mapped, IPv4-compatible, NAT64 (64:ff9b::/96), 6to4 and
/// Teredo addresses by the IPv4 address they carry.
pub fn is_private(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => is_special_v4(v4),
        IpAddr::V6(v6) => is_special_v6(v6),
    }
}

fn is_special_v4(v4: Ipv4Addr) -> bool {
    let [a, b, c, _] = v4.octets();
    a == 0 // this network
        || a == 10
        || a == 127
        || (a == 100 && (64..128).contains(&b)) // shared address space
        || (a == 169 && b == 254)
        || (a == 172 && (16..32).contains(&b))
        || (a == 192 && b == 168)
        || (a == 192 && b == 0 && c == 0) // IETF protocol assignments
        || (a == 192 && b == 0 && c == 2) // documentation
        || (a == 192 && b == 88 && c == 99) // 6to4 relay anycast
        || (a == 198 && (b == 18 || b == 19)) // benchmarking
        || (a == 198 && b == 51 && c == 100) // documentation
        || (a == 203 && b == 0 && c == 113) // documentation
        || a >= 224 // multicast, reserved, broadcast
}

fn is_special_v6(v6: Ipv6Addr) -> bool {
    let s = v6.segments();
    let v4_at = |hi: u16, lo: u16| Ipv4Addr::from((u32::from(hi) << 16) | u32::from(lo));
    if v6.is_unspecified() || v6.is_loopback() {
        return true;
    }
    // IPv4-mapped (::ffff:a.b.c.d) and IPv4-compatible (::a.b.c.d).
    if s[..5] == [0; 5] && (s[5] == 0xffff || s[5] == 0) {
        return is_special_v4(v4_at(s[6], s[7]));
    }
    // NAT64, well-known prefix: 64:ff9b::a.b.c.d.
    if s[..6] == [0x64, 0xff9b, 0, 0, 0, 0] {
        return is_special_v4(v4_at(s[6], s[7]));
    }
    // 6to4: 2002:aabb:ccdd::/48 carries a.b.c.d.
    if s[0] == 0x2002 {
        return is_special_v4(v4_at(s[1], s[2]));
    }
    // Teredo: 2001:0::/32, the server's IPv4 next, the client's inverted last.
    if s[0] == 0x2001 && s[1] == 0 {
        return is_special_v4(v4_at(s[2], s[3])) || is_special_v4(v4_at(!s[6], !s[7]));
    }
    (s[0] == 0x64 && s[1] == 0xff9b && s[2] == 1) // local-use NAT64 (64:ff9b:1::/48)
        || (s[0] == 0x100 && s[1..4] == [0, 0, 0]) // discard-only (100::/64)
        || (s[0] == 0x2001 && s[1] == 0x0db8) // documentation
        || (s[0] == 0x3fff && s[1] < 0x1000) // documentation (3fff::/20)
        || (s[0] == 0x2001 && s[1] == 2 && s[2] == 0) // benchmarking (2001:2::/48)
        || (s[0] == 0x2001 && (s[1] & 0xfff0) == 0x10) // ORCHID (2001:10::/28)
        || (s[0] == 0x2001 && (s[1] & 0xfff0) == 0x20) // ORCHIDv2 (2001:20::/28)
        || (s[0] & 0xfe00) == 0xfc00 // unique local
        || (s[0] & 0xffc0) == 0xfe80 // link-local
        || (s[0] & 0xffc0) == 0xfec0 // site-local (deprecated)
        || v6.is_multicast()
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

/// A request that got no answer from `target` ("VK", "the token
/// endpoint"): refused for good when its address is private, else worth
/// trying again.
pub fn not_reached(e: reqwest::Error, target: &str) -> crate::SendError {
    if refused_private(&e) {
        crate::SendError::Permanent(format!("refused: {target}'s address is private"))
    } else {
        crate::SendError::Retryable(format!("{target} could not be reached: {}", e.without_url()))
    }
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

    /// Whether the operator allows private targets (tests, a mail server
    /// on the local network).
    pub fn allows_private(&self) -> bool {
        self.allow_private
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

/// A response's body as a stream of chunks, fused (a reader may ask again
/// after the end).
pub fn body_stream(response: reqwest::Response) -> crate::MediaBody {
    let body = futures::stream::unfold(Some(response), |state| async move {
        let mut response = state?;
        match response.chunk().await {
            Ok(Some(chunk)) => Some((Ok(chunk), Some(response))),
            Ok(None) => None,
            Err(e) => Some((Err(std::io::Error::other(e)), None)),
        }
    });
    Box::pin(futures::StreamExt::fuse(body))
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
    Ok(crate::FetchedMedia {
        filename,
        declared_size,
        body: body_stream(response),
    })
}

/// The whole file at `raw_url` (an agent's file by its signed link), at
/// most `max_bytes`; over that, a permanent failure naming `what` takes it.
pub async fn fetch_bytes(
    http: &OutboundHttp,
    raw_url: &str,
    max_bytes: i64,
    what: &str,
) -> Result<Vec<u8>, crate::SendError> {
    use futures::StreamExt;
    let mut fetched = fetch_url(http, raw_url).await?;
    let mut bytes = Vec::new();
    while let Some(chunk) = fetched.body.next().await {
        let chunk = chunk.map_err(|e| crate::SendError::Retryable(format!("a file could not be read: {e}")))?;
        bytes.extend_from_slice(&chunk);
        if bytes.len() as i64 > max_bytes {
            return Err(crate::SendError::Permanent(format!(
                "a file is larger than {what} takes"
            )));
        }
    }
    Ok(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every special form, and public addresses beside them.
    #[test]
    fn private_ranges() {
        let refused = [
            "0.0.0.0",
            "0.1.2.3",
            "10.1.2.3",
            "100.64.0.1",
            "100.127.255.255",
            "127.0.0.1",
            "127.8.9.10",
            "169.254.169.254",
            "172.16.0.1",
            "172.31.255.255",
            "192.0.0.8",
            "192.0.2.1",
            "192.88.99.1",
            "192.168.1.1",
            "198.18.0.1",
            "198.19.255.255",
            "198.51.100.7",
            "203.0.113.9",
            "224.0.0.1",
            "239.255.255.250",
            "240.0.0.1",
            "255.255.255.255",
            "::",
            "::1",
            "::ffff:127.0.0.1",
            "::ffff:10.0.0.1",
            "::127.0.0.1",
            "::10.0.0.1",
            "64:ff9b::7f00:1",
            "64:ff9b::a9fe:a9fe",
            "64:ff9b:1::1",
            "2002:7f00:1::1",
            "2002:a00:1::",
            "2002:c0a8:101::1",
            "2001:0:4136:e378:8000:63bf:80ff:fffe",
            "2001:0:7f00:1::1",
            "100::1",
            "2001:db8::1",
            "3fff::1",
            "2001:2::1",
            "2001:10::1",
            "2001:20::1",
            "fc00::1",
            "fd12:3456::1",
            "fe80::1",
            "febf::1",
            "fec0::1",
            "ff02::1",
            "ff0e::1",
        ];
        for ip in refused {
            assert!(is_private(ip.parse().unwrap()), "{ip} must be refused");
        }
        let public = [
            "8.8.8.8",
            "1.1.1.1",
            "100.63.255.255",
            "100.128.0.1",
            "172.32.0.1",
            "192.0.1.1",
            "198.20.0.1",
            "223.255.255.255",
            "2606:4700::1111",
            "2a00:1450:4001::200e",
            "::ffff:8.8.8.8",
            "64:ff9b::808:808",
            "2002:808:808::1",
            "2001:0:4136:e378:8000:63bf:f7f7:f7f7",
        ];
        for ip in public {
            assert!(!is_private(ip.parse().unwrap()), "{ip} is public");
        }
    }

    /// Spellings of 127.0.0.1 that URL parsing turns into the address itself.
    #[test]
    fn other_spellings_of_an_address_are_the_address() {
        let http = OutboundHttp::new(false, Duration::from_secs(1)).unwrap();
        for url in [
            "http://2130706433/",
            "http://0x7f000001/",
            "http://0177.0.0.1/",
            "http://0x7f.0.0.1/",
            "http://127.1/",
            "http://[::ffff:7f00:1]/",
            "http://[64:ff9b::7f00:1]/",
            "http://[2002:7f00:1::1]/",
            "http://224.0.0.1/",
        ] {
            assert!(http.check(&url.parse().unwrap()).is_err(), "{url}");
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
