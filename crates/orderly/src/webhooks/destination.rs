//! Where a webhook may be sent. Whoever may create a subscription could otherwise make
//! Orderly call its own network (a database's admin port, a cloud metadata address):
//! server-side request forgery. So a destination must resolve to public addresses only,
//! unless configuration allows a network by name. The check is made when a
//! subscription is saved (a clear 422 at once) and again on every connection, after DNS
//! resolution, by the HTTP client's resolver (so a name that later resolves elsewhere is
//! caught); IP-literal URLs and redirect targets are checked before they are followed.

use ipnet::IpNet;
use reqwest::Url;
use reqwest::dns::{Addrs, Name, Resolve, Resolving};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::sync::Arc;

/// Why a destination was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DestinationError {
    #[error("the URL is not valid: {0}")]
    Invalid(String),
    #[error("only http and https URLs can receive webhooks")]
    Scheme,
    #[error("the URL may not carry a user name or password")]
    Credentials,
    #[error("{host} does not resolve: {detail}")]
    Unresolved { host: String, detail: String },
    #[error("{host} resolves to {ip}, a loopback, private, link-local or reserved address")]
    NotPublic { host: String, ip: IpAddr },
}

/// The address policy: public addresses, plus the configured networks.
#[derive(Debug, Clone, Default)]
pub struct Destinations {
    allowed: Arc<Vec<IpNet>>,
}

impl Destinations {
    pub fn new(allowed: Vec<IpNet>) -> Destinations {
        Destinations {
            allowed: Arc::new(allowed),
        }
    }

    /// Whether a connection to `ip` is allowed.
    pub fn permits(&self, ip: IpAddr) -> bool {
        is_public(ip) || self.allowed.iter().any(|n| n.contains(&ip))
    }

    /// Parses `raw` and checks it: scheme, no credentials, and every address its host
    /// resolves to allowed.
    pub async fn check(&self, raw: &str) -> Result<Url, DestinationError> {
        let url = Url::parse(raw).map_err(|e| DestinationError::Invalid(e.to_string()))?;
        if !matches!(url.scheme(), "http" | "https") {
            return Err(DestinationError::Scheme);
        }
        if !url.username().is_empty() || url.password().is_some() {
            return Err(DestinationError::Credentials);
        }
        let host = url
            .host_str()
            .ok_or_else(|| DestinationError::Invalid("the URL has no host".into()))?
            .trim_start_matches('[')
            .trim_end_matches(']')
            .to_owned();
        let port = url.port_or_known_default().unwrap_or(443);
        let found = tokio::net::lookup_host((host.clone(), port))
            .await
            .map_err(|e| DestinationError::Unresolved {
                host: host.clone(),
                detail: e.to_string(),
            })?;
        let mut any = false;
        for addr in found {
            any = true;
            if !self.permits(addr.ip()) {
                return Err(DestinationError::NotPublic {
                    host,
                    ip: addr.ip(),
                });
            }
        }
        if !any {
            return Err(DestinationError::Unresolved {
                host,
                detail: "no addresses".into(),
            });
        }
        Ok(url)
    }

    /// The literal address of `url`'s host, if it is one and not allowed.
    pub fn refused_literal(&self, url: &Url) -> Option<IpAddr> {
        let ip = match url.host()? {
            url::Host::Ipv4(ip) => IpAddr::V4(ip),
            url::Host::Ipv6(ip) => IpAddr::V6(ip),
            url::Host::Domain(_) => return None,
        };
        (!self.permits(ip)).then_some(ip)
    }
}

/// The HTTP client's resolver: the system's answer, refused when any address in it is
/// not allowed (checked at connection time, so DNS cannot change the answer after the
/// check).
impl Resolve for Destinations {
    fn resolve(&self, name: Name) -> Resolving {
        let policy = self.clone();
        Box::pin(async move {
            let host = name.as_str().to_owned();
            let found: Vec<SocketAddr> =
                tokio::net::lookup_host((host.as_str(), 0)).await?.collect();
            if let Some(bad) = found.iter().find(|a| !policy.permits(a.ip())) {
                let refused = DestinationError::NotPublic { host, ip: bad.ip() };
                return Err(Box::new(refused) as Box<dyn std::error::Error + Send + Sync>);
            }
            let addrs: Addrs = Box::new(found.into_iter());
            Ok(addrs)
        })
    }
}

/// Whether `ip` is an ordinary public unicast address.
pub fn is_public(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => is_public_v4(v4),
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => is_public_v4(v4),
            None => is_public_v6(v6),
        },
    }
}

fn is_public_v4(ip: Ipv4Addr) -> bool {
    let [a, b, ..] = ip.octets();
    !(ip.is_unspecified()
        || ip.is_loopback()
        || ip.is_private()
        || ip.is_link_local()
        || ip.is_broadcast()
        || ip.is_documentation()
        || ip.is_multicast()
        || a == 0
        // Shared address space (carrier-grade NAT), 100.64.0.0/10.
        || (a == 100 && (64..128).contains(&b))
        // Benchmarking, 198.18.0.0/15.
        || (a == 198 && (18..20).contains(&b))
        // Reserved, 240.0.0.0/4.
        || a >= 240)
}

fn is_public_v6(ip: Ipv6Addr) -> bool {
    let first = ip.segments()[0];
    !(ip.is_unspecified()
        || ip.is_loopback()
        || ip.is_multicast()
        // Unique local, fc00::/7.
        || (first & 0xfe00) == 0xfc00
        // Link-local, fe80::/10.
        || (first & 0xffc0) == 0xfe80
        // Documentation, 2001:db8::/32.
        || (first == 0x2001 && ip.segments()[1] == 0x0db8))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_public_unicast_addresses_are_public() {
        for private in [
            "127.0.0.1",
            "10.1.2.3",
            "172.16.0.1",
            "192.168.1.1",
            "169.254.169.254",
            "100.64.0.1",
            "0.0.0.0",
            "255.255.255.255",
            "::1",
            "fe80::1",
            "fd00::1",
            "::ffff:127.0.0.1",
            "::ffff:10.0.0.1",
        ] {
            let ip: IpAddr = private.parse().unwrap();
            assert!(!is_public(ip), "{private} must not count as public");
        }
        for public in ["93.184.216.34", "8.8.8.8", "2606:4700::1111"] {
            let ip: IpAddr = public.parse().unwrap();
            assert!(is_public(ip), "{public} is public");
        }
    }

    #[test]
    fn configured_networks_are_allowed() {
        let d = Destinations::new(vec!["127.0.0.0/8".parse().unwrap()]);
        assert!(d.permits("127.0.0.2".parse().unwrap()));
        assert!(!d.permits("10.0.0.1".parse().unwrap()));
    }

    #[tokio::test]
    async fn urls_are_checked_after_resolution() {
        let d = Destinations::default();
        let refused = d.check("http://localhost:9/hook").await.unwrap_err();
        assert!(
            matches!(refused, DestinationError::NotPublic { .. }),
            "{refused}"
        );
        let literal = d.check("http://169.254.169.254/latest").await.unwrap_err();
        assert!(matches!(literal, DestinationError::NotPublic { .. }));
        assert_eq!(
            d.check("ftp://example.com/").await.unwrap_err(),
            DestinationError::Scheme
        );
        assert_eq!(
            d.check("http://user:pw@example.com/").await.unwrap_err(),
            DestinationError::Credentials
        );
        let allowed = Destinations::new(vec!["127.0.0.0/8".parse().unwrap()]);
        assert!(allowed.check("http://127.0.0.1:9/hook").await.is_ok());
    }
}
