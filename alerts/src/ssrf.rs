//! Keeps HTTP sinks from becoming an SSRF tool. A sink URL's host must be on
//! the config allowlist, and every address it reaches must be public unless
//! it lies in an explicitly allowed network. IP literals are checked when
//! the URL is configured (the URL parser already reads decimal, octal and hex
//! IPv4 forms such as `2130706433` or `0x7f.1` as 127.0.0.1); names are
//! checked when they resolve, at connect time, by [`GuardedResolver`], so a
//! name that later resolves privately (DNS rebinding) is still refused.
//! Redirects and proxies are off in [`http_client`].

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use ipnet::IpNet;
use reqwest::Url;

#[derive(Debug, thiserror::Error)]
#[error("blocked by the SSRF policy: {0}")]
pub struct SsrfBlocked(pub String);

#[derive(Debug, Clone)]
pub struct SsrfPolicy {
    hosts: Vec<String>,
    allowed: Vec<IpNet>,
}

impl SsrfPolicy {
    pub fn new(allowlist: &[String], allowed_networks: &[String]) -> Result<SsrfPolicy, String> {
        let allowed = allowed_networks
            .iter()
            .map(|n| {
                n.parse::<IpNet>()
                    .or_else(|_| n.parse::<IpAddr>().map(IpNet::from))
                    .map_err(|_| format!("allowed_networks: `{n}` is not a CIDR (e.g. 127.0.0.1/32)"))
            })
            .collect::<Result<_, _>>()?;
        let hosts = allowlist.iter().map(|h| h.trim().trim_end_matches('.').to_ascii_lowercase()).collect();
        Ok(SsrfPolicy { hosts, allowed })
    }

    /// Checks a configured sink URL: scheme, no credentials, host on the
    /// allowlist, an IP literal only if its address is allowed.
    pub fn check_url(&self, raw: &str) -> Result<Url, SsrfBlocked> {
        let url = Url::parse(raw).map_err(|e| SsrfBlocked(format!("not a URL ({e})")))?;
        if url.scheme() != "http" && url.scheme() != "https" {
            return Err(SsrfBlocked(format!("scheme `{}` (only http and https)", url.scheme())));
        }
        if !url.username().is_empty() || url.password().is_some() {
            return Err(SsrfBlocked("credentials in the URL".into()));
        }
        let host = match url.host() {
            Some(h) => h,
            None => return Err(SsrfBlocked("no host".into())),
        };
        let (name, ip) = match host {
            url::Host::Domain(d) => (d.trim_end_matches('.').to_ascii_lowercase(), None),
            url::Host::Ipv4(a) => (a.to_string(), Some(IpAddr::V4(a))),
            url::Host::Ipv6(a) => (a.to_string(), Some(IpAddr::V6(a))),
        };
        if !self.host_allowed(&name) {
            return Err(SsrfBlocked(format!(
                "host `{name}` is not in webhook_allowlist; add it (or `*.<domain>`) to the config"
            )));
        }
        if let Some(ip) = ip {
            self.check_ip(ip)?;
        }
        Ok(url)
    }

    fn host_allowed(&self, name: &str) -> bool {
        self.hosts.iter().any(|h| match h.strip_prefix("*.") {
            Some(suffix) => name.len() > suffix.len() && name.ends_with(suffix) && name[..name.len() - suffix.len()].ends_with('.'),
            None => {
                h == name || h.trim_start_matches('[').trim_end_matches(']') == name
            }
        })
    }

    pub fn check_ip(&self, ip: IpAddr) -> Result<(), SsrfBlocked> {
        if self.allowed.iter().any(|n| n.contains(&ip)) {
            return Ok(());
        }
        match forbidden_reason(ip) {
            Some(why) => Err(SsrfBlocked(format!(
                "address {ip} is {why}; list its network in allowed_networks to permit it"
            ))),
            None => Ok(()),
        }
    }
}

/// Why an address must not be reached by a sink, if it must not.
pub fn forbidden_reason(ip: IpAddr) -> Option<&'static str> {
    match ip {
        IpAddr::V4(a) => v4_reason(a),
        IpAddr::V6(a) => v6_reason(a),
    }
}

fn v4_reason(a: Ipv4Addr) -> Option<&'static str> {
    let o = a.octets();
    if a == Ipv4Addr::new(169, 254, 169, 254) {
        return Some("the cloud metadata endpoint");
    }
    Some(if a.is_unspecified() || o[0] == 0 {
        "unspecified ('this network')"
    } else if a.is_loopback() {
        "loopback"
    } else if a.is_private() {
        "private (RFC 1918)"
    } else if a.is_link_local() {
        "link-local"
    } else if o[0] == 100 && (o[1] & 0xc0) == 64 {
        "shared address space (carrier-grade NAT)"
    } else if o[0] == 192 && o[1] == 0 && o[2] == 0 {
        "IETF protocol assignments"
    } else if o[0] == 198 && (o[1] & 0xfe) == 18 {
        "benchmarking"
    } else if a.is_multicast() || a.is_broadcast() || o[0] >= 240 {
        "multicast, broadcast or reserved"
    } else if a.is_documentation() {
        "documentation"
    } else {
        return None;
    })
}

fn v6_reason(a: Ipv6Addr) -> Option<&'static str> {
    let s = a.segments();
    Some(if a.is_unspecified() {
        "unspecified"
    } else if a.is_loopback() {
        "loopback"
    } else if s[0..5] == [0, 0, 0, 0, 0] && s[5] == 0xffff {
        "an IPv4-mapped IPv6 address"
    } else if s[0..6] == [0, 0, 0, 0, 0, 0] {
        "an IPv4-compatible IPv6 address"
    } else if s[0] == 0x64 && s[1] == 0xff9b {
        "NAT64 (embeds an IPv4 address)"
    } else if (s[0] & 0xfe00) == 0xfc00 {
        "unique-local"
    } else if (s[0] & 0xffc0) == 0xfe80 {
        "link-local"
    } else if (s[0] & 0xff00) == 0xff00 {
        "multicast"
    } else if s[0] == 0x2001 && s[1] == 0xdb8 {
        "documentation"
    } else if s[0] == 0x2002 {
        "6to4 (embeds an IPv4 address)"
    } else {
        return None;
    })
}

/// A DNS resolver for reqwest that drops nothing silently: if any address a
/// name resolves to is forbidden, the connection is refused.
pub struct GuardedResolver {
    policy: Arc<SsrfPolicy>,
}

impl reqwest::dns::Resolve for GuardedResolver {
    fn resolve(&self, name: reqwest::dns::Name) -> reqwest::dns::Resolving {
        let policy = self.policy.clone();
        type BoxError = Box<dyn std::error::Error + Send + Sync>;
        Box::pin(async move {
            let host = name.as_str().to_string();
            let addrs: Vec<SocketAddr> = match tokio::net::lookup_host((host.as_str(), 0)).await {
                Ok(a) => a.collect(),
                Err(e) => return Err::<reqwest::dns::Addrs, BoxError>(Box::new(e)),
            };
            if addrs.is_empty() {
                return Err(Box::new(SsrfBlocked(format!("`{host}` resolves to no address"))));
            }
            for a in &addrs {
                if let Err(e) = policy.check_ip(a.ip()) {
                    return Err(Box::new(SsrfBlocked(format!("`{host}` resolves to {}: {}", a.ip(), e.0))));
                }
            }
            Ok(Box::new(addrs.into_iter()) as reqwest::dns::Addrs)
        })
    }
}

/// The HTTP client every HTTP sink uses: guarded resolver, no redirects, no
/// proxy from the environment, a timeout.
pub fn http_client(policy: Arc<SsrfPolicy>, timeout: Duration) -> Result<reqwest::Client, String> {
    reqwest::Client::builder()
        .dns_resolver(Arc::new(GuardedResolver { policy }))
        .redirect(reqwest::redirect::Policy::none())
        .no_proxy()
        .timeout(timeout)
        .connect_timeout(timeout.min(Duration::from_secs(5)))
        .user_agent(concat!("cepheus/", env!("CARGO_PKG_VERSION")))
        .build()
        .map_err(|e| format!("building the HTTP client: {e}"))
}

/// Whether an error chain contains an SSRF refusal (a permanent failure).
pub fn is_blocked(e: &(dyn std::error::Error + 'static)) -> bool {
    let mut cur = Some(e);
    while let Some(err) = cur {
        if err.is::<SsrfBlocked>() {
            return true;
        }
        cur = err.source();
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;

    fn open() -> SsrfPolicy {
        SsrfPolicy::new(
            &["hooks.example.com".into(), "*.corp.example".into(), "localhost".into(), "127.0.0.1".into(),
              "2130706433".into(), "0x7f.1".into(), "017700000001".into(), "10.0.0.1".into(),
              "169.254.169.254".into(), "[::1]".into(), "[fd00::1]".into(), "[::ffff:127.0.0.1]".into(),
              "0.0.0.0".into(), "[fe80::1]".into(), "192.168.1.1".into(), "172.16.0.1".into(), "8.8.8.8".into()],
            &[],
        )
        .unwrap()
    }

    #[test]
    fn allowlist_is_required() {
        let p = open();
        assert!(p.check_url("https://hooks.example.com/x").is_ok());
        assert!(p.check_url("https://a.corp.example/x").is_ok());
        assert!(p.check_url("https://corp.example/x").is_err());
        assert!(p.check_url("https://evil.example.com/x").is_err());
        assert!(p.check_url("https://hooks.example.com.evil.io/x").is_err());
        assert!(p.check_url("ftp://hooks.example.com/x").is_err());
        assert!(p.check_url("https://u:p@hooks.example.com/x").is_err());
        assert!(p.check_url("https://8.8.8.8/x").is_ok());
    }

    #[test]
    fn every_private_form_is_refused() {
        let p = open();
        for url in [
            "http://127.0.0.1/",
            "http://2130706433/",    // decimal
            "http://0x7f.1/",        // hex, short form
            "http://017700000001/",  // octal
            "http://10.0.0.1/",
            "http://172.16.0.1/",
            "http://192.168.1.1/",
            "http://169.254.169.254/latest/meta-data",
            "http://0.0.0.0/",
            "http://[::1]/",
            "http://[fd00::1]/",
            "http://[fe80::1]/",
            "http://[::ffff:127.0.0.1]/",
        ] {
            let e = p.check_url(url).expect_err(url);
            assert!(e.0.contains("address"), "{url}: {e}");
        }
    }

    #[test]
    fn allowed_networks_exempt() {
        let p = SsrfPolicy::new(&["127.0.0.1".into()], &["127.0.0.1/32".into()]).unwrap();
        assert!(p.check_url("http://127.0.0.1:8080/hook").is_ok());
        assert!(p.check_ip("127.0.0.2".parse().unwrap()).is_err());
        assert!(SsrfPolicy::new(&[], &["nope".into()]).is_err());
    }

    #[tokio::test]
    async fn names_resolving_privately_are_refused_at_connect_time() {
        // `localhost` passes the allowlist but resolves to loopback.
        let policy = Arc::new(open());
        assert!(policy.check_url("http://localhost:9/").is_ok());
        let client = http_client(policy, Duration::from_secs(2)).unwrap();
        let err = client.get("http://localhost:9/").send().await.unwrap_err();
        assert!(is_blocked(&err), "{err:?}");
    }
}
