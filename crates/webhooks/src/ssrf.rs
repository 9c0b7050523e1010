//! The SSRF guard: webhook targets may not reach the desk's own network. A
//! target's host is resolved and refused when any address is loopback,
//! private, link-local (cloud metadata lives at 169.254.169.254), unique-local,
//! CGNAT, multicast or otherwise not a public unicast address, unless private
//! targets are allowed (`CRM_WEBHOOK_ALLOW_PRIVATE=true`). The check runs when
//! an endpoint is created or changed, and again on every delivery through
//! [`GuardedResolver`], because DNS answers can change (rebinding).

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::time::Duration;

/// Why a target may not be called.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SsrfError {
    #[error("only http and https targets are allowed")]
    Scheme,
    #[error("the URL has no host")]
    NoHost,
    #[error("the host '{0}' does not resolve")]
    Unresolvable(String),
    #[error(
        "the target resolves to {0}, a loopback, private, link-local or otherwise internal address"
    )]
    Forbidden(IpAddr),
}

/// Is this address one a webhook must never reach?
pub fn is_forbidden(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => forbidden_v4(v4),
        IpAddr::V6(v6) => forbidden_v6(v6),
    }
}

fn forbidden_v4(ip: Ipv4Addr) -> bool {
    let [a, b, c, _] = ip.octets();
    ip.is_unspecified()
        || ip.is_loopback()
        || ip.is_private()
        || ip.is_link_local() // 169.254.0.0/16, cloud metadata included
        || ip.is_broadcast()
        || ip.is_multicast()
        || ip.is_documentation()
        || a == 0 // "this network"
        || (a == 100 && (64..=127).contains(&b)) // CGNAT 100.64.0.0/10
        || (a == 192 && b == 0 && c == 0) // IETF protocol assignments
        || (a == 198 && (b == 18 || b == 19)) // benchmarking
        || a >= 240 // reserved
}

fn forbidden_v6(ip: Ipv6Addr) -> bool {
    if let Some(v4) = ip.to_ipv4_mapped() {
        return forbidden_v4(v4);
    }
    let seg = ip.segments();
    // NAT64 (64:ff9b::/96) embeds an IPv4 address.
    if seg[0] == 0x64 && seg[1] == 0xff9b && seg[2..6] == [0, 0, 0, 0] {
        let [a, b] = seg[6].to_be_bytes();
        let [c, d] = seg[7].to_be_bytes();
        return forbidden_v4(Ipv4Addr::new(a, b, c, d));
    }
    ip.is_unspecified()
        || ip.is_loopback()
        || ip.is_multicast()
        || (seg[0] & 0xfe00) == 0xfc00 // unique local fc00::/7
        || (seg[0] & 0xffc0) == 0xfe80 // link-local fe80::/10
        || (seg[0] & 0xffc0) == 0xfec0 // site-local (deprecated) fec0::/10
        || (seg[0] == 0x2001 && seg[1] == 0x0db8) // documentation
        || (seg[0..6] == [0, 0, 0, 0, 0, 0]) // IPv4-compatible ::a.b.c.d
}

/// Check a URL: scheme, and (unless `allow_private`) every address its host
/// resolves to. Returns the addresses.
pub async fn check_url(
    url: &reqwest::Url,
    allow_private: bool,
) -> Result<Vec<SocketAddr>, SsrfError> {
    if !matches!(url.scheme(), "http" | "https") {
        return Err(SsrfError::Scheme);
    }
    let host = url.host_str().ok_or(SsrfError::NoHost)?;
    let port = url.port_or_known_default().unwrap_or(443);
    let host = host.trim_start_matches('[').trim_end_matches(']');
    let addrs: Vec<SocketAddr> = match host.parse::<IpAddr>() {
        Ok(ip) => vec![SocketAddr::new(ip, port)],
        Err(_) => {
            if allow_private {
                return Ok(vec![]);
            }
            resolve(host, port).await?
        }
    };
    if !allow_private && let Some(bad) = addrs.iter().find(|a| is_forbidden(a.ip())) {
        return Err(SsrfError::Forbidden(bad.ip()));
    }
    Ok(addrs)
}

async fn resolve(host: &str, port: u16) -> Result<Vec<SocketAddr>, SsrfError> {
    let lookup = tokio::net::lookup_host((host, port));
    match tokio::time::timeout(Duration::from_secs(5), lookup).await {
        Ok(Ok(addrs)) => {
            let v: Vec<SocketAddr> = addrs.collect();
            if v.is_empty() {
                Err(SsrfError::Unresolvable(host.to_owned()))
            } else {
                Ok(v)
            }
        }
        _ => Err(SsrfError::Unresolvable(host.to_owned())),
    }
}

/// The resolver of the delivery client: the guard again at connection time, so
/// a host that resolved to a public address at creation and to an internal
/// one now is refused. IP-literal URLs never reach a resolver; the worker
/// checks those with [`check_url`] before sending.
#[derive(Debug, Clone, Copy)]
pub struct GuardedResolver {
    pub allow_private: bool,
}

impl reqwest::dns::Resolve for GuardedResolver {
    fn resolve(&self, name: reqwest::dns::Name) -> reqwest::dns::Resolving {
        let allow_private = self.allow_private;
        let host = name.as_str().to_owned();
        Box::pin(async move {
            let addrs = resolve(&host, 0)
                .await
                .map_err(|e| Box::new(e) as Box<dyn std::error::Error + Send + Sync>)?;
            let allowed: Vec<SocketAddr> = if allow_private {
                addrs
            } else {
                let (ok, bad): (Vec<_>, Vec<_>) =
                    addrs.into_iter().partition(|a| !is_forbidden(a.ip()));
                if let Some(b) = bad.first() {
                    // One internal answer is enough to refuse: a mixed answer
                    // is how rebinding attacks get through.
                    return Err(Box::new(SsrfError::Forbidden(b.ip()))
                        as Box<dyn std::error::Error + Send + Sync>);
                }
                ok
            };
            Ok(Box::new(allowed.into_iter()) as reqwest::dns::Addrs)
        })
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn internal_addresses_are_forbidden() {
        for bad in [
            "127.0.0.1",
            "127.1.2.3",
            "10.1.2.3",
            "172.16.0.1",
            "172.31.255.255",
            "192.168.1.1",
            "169.254.169.254",
            "169.254.0.1",
            "100.64.0.1",
            "100.127.255.254",
            "0.0.0.0",
            "255.255.255.255",
            "224.0.0.1",
            "::1",
            "::",
            "fc00::1",
            "fd00:ec2::254",
            "fe80::1",
            "::ffff:127.0.0.1",
            "::ffff:169.254.169.254",
            "64:ff9b::10.0.0.1",
        ] {
            assert!(is_forbidden(ip(bad)), "{bad} should be forbidden");
        }
    }

    #[test]
    fn public_addresses_are_allowed() {
        for good in [
            "93.184.216.34",
            "1.1.1.1",
            "172.32.0.1",
            "100.128.0.1",
            "2606:4700:4700::1111",
            "::ffff:93.184.216.34",
        ] {
            assert!(!is_forbidden(ip(good)), "{good} should be allowed");
        }
    }

    #[tokio::test]
    async fn literal_internal_targets_are_refused_unless_allowed() {
        let u = reqwest::Url::parse("http://127.0.0.1:9/hook").unwrap();
        assert!(matches!(
            check_url(&u, false).await,
            Err(SsrfError::Forbidden(_))
        ));
        assert!(check_url(&u, true).await.is_ok());
        let m = reqwest::Url::parse("http://169.254.169.254/latest/meta-data").unwrap();
        assert!(check_url(&m, false).await.is_err());
        let v6 = reqwest::Url::parse("http://[::1]:8080/").unwrap();
        assert!(check_url(&v6, false).await.is_err());
    }

    #[tokio::test]
    async fn names_that_resolve_to_loopback_are_refused() {
        let u = reqwest::Url::parse("http://localhost:9/hook").unwrap();
        assert!(check_url(&u, false).await.is_err());
    }
}
