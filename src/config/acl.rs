//! Source-address access control: CIDR networks ([`IpNet`], IPv4 and IPv6, parsed here without
//! an external crate) and the list of networks allowed to send us requests ([`Acl`]).
//!
//! Depends on: std and thiserror only.

use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::str::FromStr;

/// Why a CIDR string was rejected.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum CidrError {
    /// The part before `/` is not an IPv4 or IPv6 address.
    #[error("not an IP address")]
    BadAddress,
    /// The part after `/` is not a decimal number.
    #[error("prefix length is not a number")]
    BadPrefix,
    /// The prefix length exceeds 32 (IPv4) or 128 (IPv6).
    #[error("prefix length {0} is too long for this address family")]
    PrefixTooLong(u32),
    /// Bits are set after the prefix (e.g. `10.0.0.1/8`); write the network address instead.
    #[error("address has bits set beyond the prefix length; write the network address")]
    HostBitsSet,
}

/// An IP network: an address and a prefix length, host bits zero.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct IpNet {
    addr: IpAddr,
    prefix: u8,
}

impl IpNet {
    /// The network `addr/prefix`; fails if `prefix` is too long or host bits are set.
    pub fn new(addr: IpAddr, prefix: u8) -> Result<IpNet, CidrError> {
        let max = match addr {
            IpAddr::V4(_) => 32,
            IpAddr::V6(_) => 128,
        };
        if prefix > max {
            return Err(CidrError::PrefixTooLong(u32::from(prefix)));
        }
        let net = IpNet { addr, prefix };
        if net.masked(addr) != addr {
            return Err(CidrError::HostBitsSet);
        }
        Ok(net)
    }

    /// The network address.
    pub fn addr(&self) -> IpAddr {
        self.addr
    }

    /// The prefix length in bits.
    pub fn prefix(&self) -> u8 {
        self.prefix
    }

    /// Whether `ip` is inside this network. IPv4-mapped IPv6 addresses (`::ffff:a.b.c.d`, as
    /// seen on dual-stack sockets) are compared as the IPv4 address they carry.
    pub fn contains(&self, ip: IpAddr) -> bool {
        let ip = ip.to_canonical();
        match (self.addr, ip) {
            (IpAddr::V4(_), IpAddr::V4(_)) | (IpAddr::V6(_), IpAddr::V6(_)) => {
                self.masked(ip) == self.addr
            }
            _ => false,
        }
    }

    /// `ip` with every bit after the prefix cleared (same family as `ip`).
    fn masked(&self, ip: IpAddr) -> IpAddr {
        match ip {
            IpAddr::V4(v4) => {
                let mask = u32::MAX
                    .checked_shl(32 - u32::from(self.prefix))
                    .unwrap_or(0);
                IpAddr::V4(Ipv4Addr::from(u32::from(v4) & mask))
            }
            IpAddr::V6(v6) => {
                let mask = u128::MAX
                    .checked_shl(128 - u32::from(self.prefix))
                    .unwrap_or(0);
                IpAddr::V6(Ipv6Addr::from(u128::from(v6) & mask))
            }
        }
    }
}

impl FromStr for IpNet {
    type Err = CidrError;

    /// Parses `a.b.c.d/len`, `v6::addr/len`, or a bare address (a single host: /32 or /128).
    fn from_str(s: &str) -> Result<IpNet, CidrError> {
        let (addr, prefix) = match s.split_once('/') {
            Some((a, p)) => (a, Some(p)),
            None => (s, None),
        };
        let addr: IpAddr = addr.trim().parse().map_err(|_| CidrError::BadAddress)?;
        let prefix = match prefix {
            Some(p) => {
                let p = p.trim();
                if p.is_empty() || !p.bytes().all(|b| b.is_ascii_digit()) {
                    return Err(CidrError::BadPrefix);
                }
                let bits: u32 = p.parse().map_err(|_| CidrError::PrefixTooLong(u32::MAX))?;
                u8::try_from(bits).map_err(|_| CidrError::PrefixTooLong(bits))?
            }
            None if addr.is_ipv4() => 32,
            None => 128,
        };
        IpNet::new(addr, prefix)
    }
}

impl fmt::Display for IpNet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.addr, self.prefix)
    }
}

/// The networks allowed to send us SIP requests (`[acl] allow`). Requests from other sources are
/// refused before any processing. The default allows loopback only.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Acl {
    /// Allowed networks, in configuration order.
    pub allow: Vec<IpNet>,
}

impl Acl {
    /// The default ACL: `127.0.0.0/8` and `::1/128`.
    pub fn loopback() -> Acl {
        Acl {
            allow: vec![
                IpNet {
                    addr: IpAddr::V4(Ipv4Addr::new(127, 0, 0, 0)),
                    prefix: 8,
                },
                IpNet {
                    addr: IpAddr::V6(Ipv6Addr::LOCALHOST),
                    prefix: 128,
                },
            ],
        }
    }

    /// Whether a request from `ip` may be processed.
    pub fn allows(&self, ip: IpAddr) -> bool {
        self.allow.iter().any(|net| net.contains(ip))
    }
}

impl Default for Acl {
    fn default() -> Acl {
        Acl::loopback()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse_table() {
        let cases: &[(&str, Result<&str, CidrError>)] = &[
            ("127.0.0.0/8", Ok("127.0.0.0/8")),
            ("10.1.2.3", Ok("10.1.2.3/32")),
            ("0.0.0.0/0", Ok("0.0.0.0/0")),
            ("::1/128", Ok("::1/128")),
            ("fd00::/8", Ok("fd00::/8")),
            ("::/0", Ok("::/0")),
            ("2001:db8::", Ok("2001:db8::/128")),
            ("10.0.0.1/8", Err(CidrError::HostBitsSet)),
            ("fd00::1/8", Err(CidrError::HostBitsSet)),
            ("10.0.0.0/33", Err(CidrError::PrefixTooLong(33))),
            ("::/129", Err(CidrError::PrefixTooLong(129))),
            (
                "10.0.0.0/99999999999",
                Err(CidrError::PrefixTooLong(u32::MAX)),
            ),
            ("10.0.0.0/", Err(CidrError::BadPrefix)),
            ("10.0.0.0/-1", Err(CidrError::BadPrefix)),
            ("10.0.0.0/x", Err(CidrError::BadPrefix)),
            ("10.0.0/8", Err(CidrError::BadAddress)),
            ("lan/24", Err(CidrError::BadAddress)),
            ("", Err(CidrError::BadAddress)),
        ];
        for (input, want) in cases {
            let got = input.parse::<IpNet>().map(|n| n.to_string());
            assert_eq!(got, want.map(str::to_string), "input {input:?}");
        }
    }

    #[test]
    fn contains_table() {
        let cases: &[(&str, &str, bool)] = &[
            ("127.0.0.0/8", "127.0.0.1", true),
            ("127.0.0.0/8", "127.255.0.9", true),
            ("127.0.0.0/8", "128.0.0.1", false),
            ("192.168.1.0/24", "192.168.1.200", true),
            ("192.168.1.0/24", "192.168.2.1", false),
            ("0.0.0.0/0", "8.8.8.8", true),
            ("0.0.0.0/0", "::1", false),
            ("::1/128", "::1", true),
            ("::1/128", "::2", false),
            ("fd00::/8", "fd12:3456::1", true),
            ("fd00::/8", "fe80::1", false),
            ("127.0.0.0/8", "::ffff:127.0.0.1", true),
            ("::/0", "10.0.0.1", false),
        ];
        for (net, ip, want) in cases {
            let net: IpNet = net.parse().unwrap_or_else(|e| panic!("{net}: {e}"));
            let ip: IpAddr = ip.parse().unwrap_or_else(|e| panic!("{ip}: {e}"));
            assert_eq!(net.contains(ip), *want, "{net} contains {ip}");
        }
    }

    #[test]
    fn default_acl_is_loopback_only() {
        let acl = Acl::default();
        assert!(acl.allows("127.0.0.1".parse().unwrap()));
        assert!(acl.allows("::1".parse().unwrap()));
        assert!(!acl.allows("192.168.1.10".parse().unwrap()));
        assert!(!acl.allows("2001:db8::1".parse().unwrap()));
    }
}
