//! Subnet arithmetic for IPAM: CIDRs, their default allocation pool, the next free address.

use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// A network address and prefix length, normalised to the network address.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Cidr {
    network: u128,
    prefix: u8,
    v6: bool,
}

/// An allocation pool, inclusive.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Pool {
    pub start: IpAddr,
    pub end: IpAddr,
}

fn to_u128(ip: IpAddr) -> u128 {
    match ip {
        IpAddr::V4(v4) => u32::from(v4) as u128,
        IpAddr::V6(v6) => u128::from(v6),
    }
}

fn from_u128(value: u128, v6: bool) -> IpAddr {
    if v6 { IpAddr::V6(Ipv6Addr::from(value)) } else { IpAddr::V4(Ipv4Addr::from(value as u32)) }
}

impl Cidr {
    /// `10.0.0.0/24`; host bits are dropped (Neutron normalises `10.0.0.5/24` the same way).
    pub fn parse(text: &str) -> Option<Cidr> {
        let (address, prefix) = text.split_once('/')?;
        let ip: IpAddr = address.parse().ok()?;
        let prefix: u8 = prefix.parse().ok()?;
        let bits = if ip.is_ipv6() { 128 } else { 32 };
        if prefix > bits {
            return None;
        }
        let host_bits = u32::from(bits - prefix);
        let mask = if host_bits >= 128 { 0 } else { !((1u128 << host_bits) - 1) };
        let full = if bits == 32 { u32::MAX as u128 } else { u128::MAX };
        Some(Cidr { network: to_u128(ip) & mask & full, prefix, v6: ip.is_ipv6() })
    }

    pub fn version(&self) -> i64 {
        if self.v6 { 6 } else { 4 }
    }

    fn bits(&self) -> u8 {
        if self.v6 { 128 } else { 32 }
    }

    /// The last address of the block.
    fn last(&self) -> u128 {
        let host_bits = u32::from(self.bits() - self.prefix);
        if host_bits >= 128 { u128::MAX } else { self.network | ((1u128 << host_bits) - 1) }
    }

    /// The `n`th address of the block (`host(1)`: the default gateway).
    pub fn host(&self, n: u128) -> IpAddr {
        from_u128(self.network.saturating_add(n).min(self.last()), self.v6)
    }

    pub fn overlaps(&self, other: &Cidr) -> bool {
        self.v6 == other.v6 && self.network <= other.last() && other.network <= self.last()
    }

    /// Neutron's default pool: every host address but the network's own, the gateway and
    /// (IPv4) the broadcast address; split around a gateway inside the range.
    pub fn default_pool(&self, gateway: Option<IpAddr>) -> Vec<Pool> {
        let first = self.network + 1;
        let last = if self.v6 { self.last() } else { self.last().saturating_sub(1) };
        if first > last {
            return Vec::new();
        }
        let range = |a: u128, b: u128| Pool { start: from_u128(a, self.v6), end: from_u128(b, self.v6) };
        match gateway.map(to_u128) {
            Some(g) if g == first && first < last => vec![range(first + 1, last)],
            Some(g) if g == first => Vec::new(),
            Some(g) if g == last => vec![range(first, last - 1)],
            Some(g) if g > first && g < last => vec![range(first, g - 1), range(g + 1, last)],
            _ => vec![range(first, last)],
        }
    }
}

impl fmt::Display for Cidr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", from_u128(self.network, self.v6), self.prefix)
    }
}

impl Pool {
    /// The lowest address of the pool not in `used`.
    pub fn first_free(&self, used: &[IpAddr]) -> Option<IpAddr> {
        let v6 = self.start.is_ipv6();
        let (start, end) = (to_u128(self.start), to_u128(self.end));
        let used: Vec<u128> = used.iter().filter(|u| u.is_ipv6() == v6).map(|u| to_u128(*u)).collect();
        // A pool can be 2^64 addresses; only the used ones need skipping.
        let mut candidate = start;
        while candidate <= end {
            if !used.contains(&candidate) {
                return Some(from_u128(candidate, v6));
            }
            candidate += 1;
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pools_leave_out_network_gateway_and_broadcast() {
        let cidr = Cidr::parse("10.100.0.5/28").unwrap();
        assert_eq!(cidr.to_string(), "10.100.0.0/28");
        let pool = cidr.default_pool(Some(cidr.host(1)));
        assert_eq!(pool, vec![Pool { start: "10.100.0.2".parse().unwrap(), end: "10.100.0.14".parse().unwrap() }]);
        let split = cidr.default_pool(Some("10.100.0.7".parse().unwrap()));
        assert_eq!(split.len(), 2);
        assert_eq!(split[0].end, "10.100.0.6".parse::<IpAddr>().unwrap());
        assert_eq!(split[1].start, "10.100.0.8".parse::<IpAddr>().unwrap());
    }

    #[test]
    fn overlap_and_allocation() {
        let a = Cidr::parse("10.0.0.0/24").unwrap();
        assert!(a.overlaps(&Cidr::parse("10.0.0.128/25").unwrap()));
        assert!(!a.overlaps(&Cidr::parse("10.0.1.0/24").unwrap()));
        assert!(!a.overlaps(&Cidr::parse("fd00::/64").unwrap()));
        let pool = Pool { start: "10.0.0.2".parse().unwrap(), end: "10.0.0.3".parse().unwrap() };
        let two: IpAddr = "10.0.0.2".parse().unwrap();
        assert_eq!(pool.first_free(&[two]), Some("10.0.0.3".parse().unwrap()));
        assert_eq!(pool.first_free(&[two, "10.0.0.3".parse().unwrap()]), None);
        assert!(Cidr::parse("10.0.0.0/33").is_none());
        assert_eq!(Cidr::parse("fd00::1/64").unwrap().host(1).to_string(), "fd00::1");
    }
}
