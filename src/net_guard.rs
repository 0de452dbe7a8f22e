//! Keeping server-side requests (the MCP `url` download and `call_service`) off the machine's own
//! and its private networks: loopback, private (RFC 1918, CGNAT), link-local (cloud metadata at
//! 169.254.169.254 among them), unique-local, multicast, unspecified and the other reserved
//! ranges, in IPv4, IPv6 and IPv4 inside IPv6 (`::ffff:a.b.c.d`, NAT64, 6to4).
//!
//! The check is made on the address actually connected to, so a name that resolves (or re-resolves,
//! DNS rebinding) to a forbidden address is caught:
//! - names go through [`GuardedResolver`], which resolves and drops forbidden addresses (none
//!   left: the request fails before any connection);
//! - IP literals never reach a resolver, so [`check_url`] checks them before a request is sent,
//!   and [`redirect_policy`] checks every redirect's target the same way;
//! - proxies are switched off ([`guarded_client`]), since through one the target is not resolved
//!   here.
//!
//! A refused address gives the same [`Forbidden`] text whether anything listens there or not.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::sync::Arc;

use reqwest::Url;
use reqwest::dns::{Addrs, Name, Resolve, Resolving};

/// A request to an address that is not public, refused before connecting.
#[derive(Debug, Clone, thiserror::Error)]
#[error(
    "refused to connect to `{host}`: it is or resolves to a loopback, private, link-local or \
     other non-public address, which this server does not fetch from (a server started with \
     --allow-private-urls does, for local use)"
)]
pub struct Forbidden {
    /// The host as given (name or address), never the resolved address.
    pub host: String,
}

/// True for every address a server-side request must not reach by default.
pub fn is_forbidden(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => is_forbidden_v4(v4),
        IpAddr::V6(v6) => is_forbidden_v6(v6),
    }
}

fn is_forbidden_v4(ip: Ipv4Addr) -> bool {
    let [a, b, c, _] = ip.octets();
    ip.is_unspecified()            // 0.0.0.0
        || a == 0                  // 0/8 "this network"
        || ip.is_loopback()        // 127/8
        || ip.is_private()         // 10/8, 172.16/12, 192.168/16
        || ip.is_link_local()      // 169.254/16 (cloud metadata)
        || (a == 100 && (b & 0xc0) == 64) // 100.64/10 shared address space (CGNAT)
        || (a == 192 && b == 0 && c == 0) // 192.0.0/24 IETF protocol assignments
        || (a == 192 && b == 0 && c == 2) // TEST-NET-1
        || (a == 198 && (b & 0xfe) == 18) // 198.18/15 benchmarking
        || (a == 198 && b == 51 && c == 100) // TEST-NET-2
        || (a == 203 && b == 0 && c == 113) // TEST-NET-3
        || ip.is_multicast()       // 224/4
        || a >= 240 // 240/4 reserved, 255.255.255.255 broadcast
}

fn is_forbidden_v6(ip: Ipv6Addr) -> bool {
    // IPv4 carried in IPv6 is judged as the IPv4 address it reaches.
    if let Some(v4) = ip.to_ipv4_mapped() {
        return is_forbidden_v4(v4);
    }
    let s = ip.segments();
    // ::a.b.c.d (deprecated IPv4-compatible) and NAT64 64:ff9b::/96.
    if (s[..6] == [0, 0, 0, 0, 0, 0] && !ip.is_loopback() && !ip.is_unspecified())
        || s[..6] == [0x64, 0xff9b, 0, 0, 0, 0]
    {
        let v4 = Ipv4Addr::new((s[6] >> 8) as u8, s[6] as u8, (s[7] >> 8) as u8, s[7] as u8);
        return is_forbidden_v4(v4);
    }
    // 6to4 2002::/16 embeds an IPv4 address in segments 1-2.
    if s[0] == 0x2002 {
        let v4 = Ipv4Addr::new((s[1] >> 8) as u8, s[1] as u8, (s[2] >> 8) as u8, s[2] as u8);
        return is_forbidden_v4(v4);
    }
    ip.is_unspecified()                 // ::
        || ip.is_loopback()             // ::1
        || (s[0] & 0xfe00) == 0xfc00    // fc00::/7 unique local
        || (s[0] & 0xffc0) == 0xfe80    // fe80::/10 link-local
        || (s[0] & 0xffc0) == 0xfec0    // fec0::/10 site-local (deprecated)
        || ip.is_multicast()            // ff00::/8
        || (s[0] == 0x2001 && s[1] == 0x0db8) // documentation
        || (s[0] == 0x0100 && s[1..4] == [0, 0, 0]) // 100::/64 discard
}

/// The host of `url` as an IP address, when it is an IP literal.
fn literal_ip(url: &Url) -> Option<IpAddr> {
    // The URL parser has normalised IPv4 (decimal, octal, hex forms) and bracketed IPv6.
    let host = url.host_str()?;
    host.trim_start_matches('[')
        .trim_end_matches(']')
        .parse()
        .ok()
}

/// Refuses `url` when its host is an IP literal that is not public (names are checked when they
/// are resolved, by [`GuardedResolver`]).
pub fn check_url(url: &Url) -> Result<(), Forbidden> {
    match literal_ip(url) {
        Some(ip) if is_forbidden(ip) => Err(Forbidden {
            host: url.host_str().unwrap_or_default().to_string(),
        }),
        _ => Ok(()),
    }
}

/// A resolver that answers only the public addresses a name resolves to, and fails with
/// [`Forbidden`] when there are none.
#[derive(Debug, Default, Clone)]
pub struct GuardedResolver;

impl Resolve for GuardedResolver {
    fn resolve(&self, name: Name) -> Resolving {
        let host = name.as_str().to_string();
        Box::pin(async move {
            let found: Vec<SocketAddr> =
                tokio::net::lookup_host((host.as_str(), 0)).await?.collect();
            let public: Vec<SocketAddr> = found
                .iter()
                .copied()
                .filter(|a| !is_forbidden(a.ip()))
                .collect();
            if public.is_empty() {
                // Nothing resolved at all is a plain DNS failure; only forbidden ones, a refusal.
                if found.is_empty() {
                    return Err(format!("`{host}` resolves to no address").into());
                }
                return Err(Box::new(Forbidden { host }) as _);
            }
            Ok(Box::new(public.into_iter()) as Addrs)
        })
    }
}

/// Follows at most `max` redirects, refusing any whose target is a non-public IP literal (names
/// are resolved through [`GuardedResolver`] when connected to).
pub fn redirect_policy(max: usize) -> reqwest::redirect::Policy {
    reqwest::redirect::Policy::custom(move |attempt| redirect_decision(attempt, max))
}

fn redirect_decision(
    attempt: reqwest::redirect::Attempt<'_>,
    max: usize,
) -> reqwest::redirect::Action {
    if attempt.previous().len() > max {
        return attempt.error(format!("too many redirects (more than {max})"));
    }
    match check_url(attempt.url()) {
        Ok(()) => attempt.follow(),
        Err(forbidden) => attempt.error(forbidden),
    }
}

/// Whether a redirect to `next` is refused (the redirect policy's check, for tests and callers
/// that follow redirects themselves).
pub fn redirect_refused(next: &Url) -> Option<Forbidden> {
    check_url(next).err()
}

/// A client builder that only connects to public addresses: guarded resolution, checked redirects
/// (at most `max_redirects`) and no proxy.
pub fn guarded_client(max_redirects: usize) -> reqwest::ClientBuilder {
    reqwest::Client::builder()
        .no_proxy()
        .dns_resolver(Arc::new(GuardedResolver))
        .redirect(redirect_policy(max_redirects))
}

/// The [`Forbidden`] refusal somewhere in `err`'s cause chain, if that is why it failed.
pub fn forbidden_cause(err: &(dyn std::error::Error + 'static)) -> Option<Forbidden> {
    let mut current = Some(err);
    while let Some(e) = current {
        if let Some(f) = e.downcast_ref::<Forbidden>() {
            return Some(f.clone());
        }
        current = e.source();
    }
    None
}

/// `err` and every distinct cause under it, joined with ": " (reqwest's own text is often only
/// "error sending request"; the cause says refused, TLS, DNS or too many redirects).
pub fn error_chain(err: &(dyn std::error::Error + 'static)) -> String {
    let mut parts: Vec<String> = Vec::new();
    let mut current = Some(err);
    while let Some(e) = current {
        let text = e.to_string();
        if !parts.iter().any(|p| p.contains(&text)) {
            parts.push(text);
        }
        current = e.source();
    }
    parts.join(": ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn non_public_addresses_are_forbidden_and_public_ones_are_not() {
        for bad in [
            "127.0.0.1",
            "127.255.0.9",
            "0.0.0.0",
            "0.1.2.3",
            "10.0.0.1",
            "172.16.5.4",
            "192.168.1.1",
            "169.254.169.254",
            "100.64.0.1",
            "224.0.0.1",
            "255.255.255.255",
            "::",
            "::1",
            "::ffff:169.254.169.254",
            "::ffff:127.0.0.1",
            "::127.0.0.1",
            "64:ff9b::a9fe:a9fe",
            "2002:7f00:1::",
            "fe80::1",
            "fc00::1",
            "fd12:3456::1",
            "ff02::1",
        ] {
            let ip: IpAddr = bad.parse().unwrap();
            assert!(is_forbidden(ip), "{bad} should be forbidden");
        }
        for good in [
            "1.1.1.1",
            "93.184.216.34",
            "172.32.0.1",
            "2606:4700::1111",
            "::ffff:8.8.8.8",
        ] {
            let ip: IpAddr = good.parse().unwrap();
            assert!(!is_forbidden(ip), "{good} should be allowed");
        }
    }

    #[test]
    fn ip_literal_urls_and_redirect_targets_are_checked() {
        for bad in [
            "http://127.0.0.1:9/x",
            "http://0.0.0.0/",
            "http://169.254.169.254/latest/meta-data/",
            "http://[::ffff:169.254.169.254]/",
            "http://[fe80::1]/",
            "https://10.0.0.1/",
            "http://2130706433/", // 127.0.0.1 as one number: the URL parser normalises it
        ] {
            let url = Url::parse(bad).unwrap();
            assert!(check_url(&url).is_err(), "{bad}");
            assert!(redirect_refused(&url).is_some(), "{bad}");
        }
        for good in ["https://example.com/cat.png", "http://93.184.216.34/"] {
            let url = Url::parse(good).unwrap();
            assert!(check_url(&url).is_ok(), "{good}");
            assert!(redirect_refused(&url).is_none(), "{good}");
        }
    }

    #[tokio::test]
    async fn names_resolving_only_to_forbidden_addresses_are_refused() {
        let name: Name = "localhost".parse().unwrap();
        let err = match GuardedResolver.resolve(name).await {
            Ok(addrs) => panic!("resolved to {:?}", addrs.collect::<Vec<_>>()),
            Err(e) => e,
        };
        assert!(forbidden_cause(err.as_ref()).is_some(), "{err}");
    }
}
