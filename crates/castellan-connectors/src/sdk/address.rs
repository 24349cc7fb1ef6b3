//! The outbound address policy: which IP addresses a connector may connect to.
//!
//! A hub's base URL is typed by an operator, and a connector sends the automation account's
//! credentials to it, so a base URL must not become a way into the network Castellan runs in
//! (server-side request forgery). The policy is checked twice:
//! - when the base URL is checked ([`super::http::BaseUrl::parse`]): a literal IP address in a
//!   forbidden range is refused (the HTTP client never resolves a literal address);
//! - at DNS resolution, by [`PolicyResolver`], the [`reqwest::dns::Resolve`] of every client the
//!   SDK builds: every address a name resolves to is checked on each connection, so a name that
//!   resolves to a public address when the hub is saved and to a private one later (DNS
//!   rebinding) is refused too. When any address of a name is forbidden the whole name is
//!   refused (as vaultwarden does), so a mixed answer cannot steer the client to the bad one.
//!
//! Ranges:
//! - never connected to: link-local (`169.254.0.0/16`, `fe80::/10`), cloud metadata services
//!   (`169.254.169.254`, AWS's `fd00:ec2::254`, Alibaba's `100.100.100.200`), "this network"
//!   (`0.0.0.0/8`, `::`), broadcast and multicast;
//! - allowed only with [`AddressPolicy::allow_private`]: loopback (`127.0.0.0/8`, `::1`),
//!   private (RFC 1918: `10/8`, `172.16/12`, `192.168/16`), shared address space (RFC 6598:
//!   `100.64.0.0/10`), unique local (`fc00::/7`, RFC 4193);
//! - anything else is public and allowed.
//!
//! IPv4-mapped IPv6 addresses (`::ffff:a.b.c.d`) are judged as the IPv4 address they carry.
//!
//! Each hub chooses with its `allow_private` setting ([`policy_of`]): `yes` is
//! [`AddressPolicy::SELF_HOSTED`] (self-hosted apps live on private networks), `no` is
//! [`AddressPolicy::PUBLIC_ONLY`] (SaaS apps); a hub without it gets its connector's default,
//! `SELF_HOSTED` for the connectors' default constructors (all tests run on `127.0.0.1`).

use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

use castellan_core::connector::settings::{ALLOW_PRIVATE, ALLOW_PRIVATE_YES};
use castellan_core::connector::ConnectorContext;
use reqwest::dns::{Addrs, Name, Resolve, Resolving};

/// Which addresses a connector may connect to; see the [module](self) for the ranges.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AddressPolicy {
    /// Whether loopback, private, shared (CGNAT) and unique-local addresses are allowed.
    /// Link-local and cloud-metadata addresses are refused either way.
    pub allow_private: bool,
}

impl AddressPolicy {
    /// Self-hosted apps: private and loopback addresses allowed (the connectors' default).
    pub const SELF_HOSTED: Self = Self {
        allow_private: true,
    };
    /// Public apps only: private and loopback addresses refused too.
    pub const PUBLIC_ONLY: Self = Self {
        allow_private: false,
    };

    /// Whether a connection to `ip` is allowed; `Err` says why not.
    ///
    /// Errors: [`Refused`] naming the address and its range.
    pub fn check(&self, ip: IpAddr) -> Result<(), Refused> {
        match classify(ip) {
            Range::Public => Ok(()),
            Range::Private(_) if self.allow_private => Ok(()),
            Range::Private(range) | Range::Forbidden(range) => Err(Refused { ip, range }),
        }
    }
}

/// The policy a hub asked for with its [`ALLOW_PRIVATE`] setting: `yes` →
/// [`AddressPolicy::SELF_HOSTED`]; `no`, or any other value (connect checks it), →
/// [`AddressPolicy::PUBLIC_ONLY`]; unset → `default`, the connector's own.
pub fn policy_of(ctx: &ConnectorContext, default: AddressPolicy) -> AddressPolicy {
    match ctx.setting(ALLOW_PRIVATE) {
        None => default,
        Some(v) if v.eq_ignore_ascii_case(ALLOW_PRIVATE_YES) => AddressPolicy::SELF_HOSTED,
        Some(_) => AddressPolicy::PUBLIC_ONLY,
    }
}

impl Default for AddressPolicy {
    /// [`AddressPolicy::SELF_HOSTED`].
    fn default() -> Self {
        Self::SELF_HOSTED
    }
}

/// An address the policy refuses. It travels inside a `reqwest::Error`'s source chain when the
/// resolver refuses a name; [`Refused::find`] gets it back.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refused {
    /// The refused address.
    pub ip: IpAddr,
    /// The name of its range, e.g. `link-local`, `cloud metadata`, `loopback`.
    pub range: &'static str,
}

impl Refused {
    /// The refusal somewhere in `e`'s chain of sources, if any.
    pub fn find<'e>(e: &'e (dyn std::error::Error + 'static)) -> Option<&'e Refused> {
        let mut cur = Some(e);
        while let Some(err) = cur {
            if let Some(r) = err.downcast_ref::<Refused>() {
                return Some(r);
            }
            cur = err.source();
        }
        None
    }
}

impl fmt::Display for Refused {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "the outbound address policy refuses {} ({} address)",
            self.ip, self.range
        )?;
        match classify(self.ip) {
            Range::Private(_) => write!(
                f,
                ": a self-hosted app's hub must set {ALLOW_PRIVATE} to {ALLOW_PRIVATE_YES}"
            ),
            _ => Ok(()),
        }
    }
}

impl std::error::Error for Refused {}

/// Where an address falls.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Range {
    Public,
    /// Allowed only with `allow_private`.
    Private(&'static str),
    /// Never allowed.
    Forbidden(&'static str),
}

const METADATA_V4: [Ipv4Addr; 2] = [
    Ipv4Addr::new(169, 254, 169, 254),
    Ipv4Addr::new(100, 100, 100, 200),
];
/// AWS's IPv6 instance metadata endpoint, `fd00:ec2::254`.
const METADATA_V6: Ipv6Addr = Ipv6Addr::new(0xfd00, 0xec2, 0, 0, 0, 0, 0, 0x254);

fn classify(ip: IpAddr) -> Range {
    match ip {
        IpAddr::V4(v4) => classify_v4(v4),
        IpAddr::V6(v6) => match embedded_v4(v6) {
            Some(v4) => classify_v4(v4),
            None => classify_v6(v6),
        },
    }
}

/// The IPv4 address an IPv6 one carries where the network may route it to that IPv4 host:
/// IPv4-mapped `::ffff:a.b.c.d`, IPv4-compatible `::a.b.c.d` (deprecated, RFC 4291 §2.5.5.1),
/// and the NAT64 well-known prefix `64:ff9b::a.b.c.d` (RFC 6052 §2.1), so `64:ff9b::a9fe:a9fe`
/// counts as 169.254.169.254.
fn embedded_v4(ip: Ipv6Addr) -> Option<Ipv4Addr> {
    let s = ip.segments();
    let low = Ipv4Addr::new((s[6] >> 8) as u8, s[6] as u8, (s[7] >> 8) as u8, s[7] as u8);
    let nat64 = s[..6] == [0x64, 0xff9b, 0, 0, 0, 0];
    let compatible = s[..6] == [0; 6] && !ip.is_loopback() && !ip.is_unspecified();
    ip.to_ipv4_mapped()
        .or_else(|| (nat64 || compatible).then_some(low))
}

fn classify_v4(ip: Ipv4Addr) -> Range {
    let [a, b, ..] = ip.octets();
    if METADATA_V4.contains(&ip) {
        Range::Forbidden("cloud metadata")
    } else if ip.is_link_local() {
        Range::Forbidden("link-local")
    } else if a == 0 {
        Range::Forbidden("unspecified")
    } else if ip.is_broadcast() || ip.is_multicast() {
        Range::Forbidden("broadcast or multicast")
    } else if ip.is_loopback() {
        Range::Private("loopback")
    } else if ip.is_private() {
        Range::Private("private")
    } else if a == 100 && (b & 0b1100_0000) == 0b0100_0000 {
        Range::Private("shared (CGNAT)")
    } else {
        Range::Public
    }
}

fn classify_v6(ip: Ipv6Addr) -> Range {
    let first = ip.segments()[0];
    if ip == METADATA_V6 {
        Range::Forbidden("cloud metadata")
    } else if (first & 0xffc0) == 0xfe80 {
        Range::Forbidden("link-local")
    } else if ip.is_unspecified() {
        Range::Forbidden("unspecified")
    } else if ip.is_multicast() {
        Range::Forbidden("broadcast or multicast")
    } else if ip.is_loopback() {
        Range::Private("loopback")
    } else if (first & 0xfe00) == 0xfc00 {
        Range::Private("unique local")
    } else {
        Range::Public
    }
}

/// The DNS resolver of the SDK's HTTP clients: the system resolver (`getaddrinfo` through
/// [`tokio::net::lookup_host`]), then [`AddressPolicy::check`] on every address it returns.
/// A refused name fails the request with a [`Refused`] in the error's source chain.
#[derive(Debug, Clone, Copy)]
pub struct PolicyResolver {
    policy: AddressPolicy,
}

impl PolicyResolver {
    /// A resolver enforcing `policy`.
    pub fn new(policy: AddressPolicy) -> Self {
        Self { policy }
    }
}

impl Resolve for PolicyResolver {
    fn resolve(&self, name: Name) -> Resolving {
        let policy = self.policy;
        Box::pin(async move {
            let found: Vec<SocketAddr> =
                tokio::net::lookup_host((name.as_str(), 0)).await?.collect();
            for addr in &found {
                policy.check(addr.ip())?;
            }
            let addrs: Addrs = Box::new(found.into_iter());
            Ok(addrs)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn link_local_and_metadata_are_never_allowed() {
        for s in [
            "169.254.169.254",
            "169.254.1.1",
            "100.100.100.200",
            "fe80::1",
            "febf::1",
            "fd00:ec2::254",
            "::ffff:169.254.169.254",
            "64:ff9b::a9fe:a9fe",
            "::a9fe:a9fe",
            "0.0.0.0",
            "::",
            "255.255.255.255",
            "224.0.0.1",
            "ff02::1",
        ] {
            for policy in [AddressPolicy::SELF_HOSTED, AddressPolicy::PUBLIC_ONLY] {
                assert!(policy.check(ip(s)).is_err(), "{s} with {policy:?}");
            }
        }
        let refused = AddressPolicy::SELF_HOSTED
            .check(ip("169.254.169.254"))
            .unwrap_err();
        assert_eq!(refused.range, "cloud metadata");
        assert!(refused.to_string().contains("169.254.169.254"));
    }

    #[test]
    fn private_ranges_follow_the_policy() {
        for s in [
            "127.0.0.1",
            "127.8.0.1",
            "::1",
            "10.0.0.1",
            "172.16.0.1",
            "172.31.255.255",
            "192.168.1.1",
            "100.64.0.1",
            "100.127.255.255",
            "fd12::1",
            "fc00::1",
            "::ffff:10.1.2.3",
            "64:ff9b::7f00:1",
            "::7f00:1",
            "::a00:1",
        ] {
            assert!(AddressPolicy::SELF_HOSTED.check(ip(s)).is_ok(), "{s}");
            assert!(AddressPolicy::PUBLIC_ONLY.check(ip(s)).is_err(), "{s}");
        }
    }

    #[test]
    fn public_addresses_are_allowed() {
        for s in [
            "8.8.8.8",
            "172.32.0.1",
            "100.128.0.1",
            "169.255.0.1",
            "2001:4860:4860::8888",
            "64:ff9b::808:808",
            "fec0::1",
        ] {
            assert!(AddressPolicy::PUBLIC_ONLY.check(ip(s)).is_ok(), "{s}");
        }
    }

    #[test]
    fn the_hub_setting_chooses_the_policy() {
        use secrecy::SecretString;
        let mut ctx = ConnectorContext::new("http://a", "u", SecretString::from(String::new()));
        let (yes, no) = (AddressPolicy::SELF_HOSTED, AddressPolicy::PUBLIC_ONLY);
        assert_eq!((policy_of(&ctx, yes), policy_of(&ctx, no)), (yes, no));
        for (value, policy) in [("yes", yes), (" YES ", yes), ("no", no), ("bogus", no)] {
            ctx.settings.insert(ALLOW_PRIVATE.into(), value.into());
            assert_eq!(policy_of(&ctx, yes), policy, "{value}");
            assert_eq!(policy_of(&ctx, no), policy, "{value}");
        }
        let why = no.check(ip("10.0.0.1")).unwrap_err().to_string();
        assert!(why.contains("set allow_private to yes"), "{why}");
        let why = yes.check(ip("169.254.169.254")).unwrap_err().to_string();
        assert!(!why.contains("allow_private"), "{why}");
    }

    #[tokio::test]
    async fn the_resolver_refuses_names_of_refused_addresses() {
        let r = PolicyResolver::new(AddressPolicy::PUBLIC_ONLY);
        let err = match r.resolve("localhost".parse().unwrap()).await {
            Ok(_) => panic!("localhost resolved under PUBLIC_ONLY"),
            Err(e) => e,
        };
        assert!(Refused::find(err.as_ref()).is_some(), "{err}");
        let ok = PolicyResolver::new(AddressPolicy::SELF_HOSTED)
            .resolve("localhost".parse().unwrap())
            .await
            .expect("localhost resolves under SELF_HOSTED");
        assert!(ok.into_iter().all(|a| a.ip().is_loopback()));
    }
}
