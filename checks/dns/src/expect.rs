//! Expected addresses (`expect`): plain addresses or CIDR networks, as
//! check_dns `-a` takes them. Free of WASI calls so it is unit-tested natively.

use std::net::IpAddr;

/// One expected address or network.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Expected {
    /// The network address (or the single address).
    addr: IpAddr,
    /// Prefix length; 32 or 128 for a single address.
    prefix: u8,
}

impl Expected {
    /// Parses `192.0.2.1`, `2001:db8::1`, `192.0.2.0/24` or `2001:db8::/32`.
    pub fn parse(text: &str) -> Result<Self, String> {
        let text = text.trim();
        let (addr_text, prefix_text) = match text.split_once('/') {
            Some((a, p)) => (a, Some(p)),
            None => (text, None),
        };
        let addr: IpAddr = addr_text.parse().map_err(|_| format!("'{text}' is not an IP address or CIDR network"))?;
        let max = if addr.is_ipv4() { 32 } else { 128 };
        let prefix = match prefix_text {
            None => max,
            Some(p) => match p.parse::<u8>() {
                Ok(n) if n <= max => n,
                _ => return Err(format!("'{p}' in '{text}' is not a prefix length 0-{max}")),
            },
        };
        Ok(Self { addr, prefix })
    }

    /// Whether `candidate` is this address or lies in this network.
    pub fn matches(&self, candidate: &IpAddr) -> bool {
        match (self.addr, candidate) {
            (IpAddr::V4(net), IpAddr::V4(c)) => prefix_eq(&net.octets(), &c.octets(), self.prefix),
            (IpAddr::V6(net), IpAddr::V6(c)) => prefix_eq(&net.octets(), &c.octets(), self.prefix),
            _ => false,
        }
    }
}

impl std::fmt::Display for Expected {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let max = if self.addr.is_ipv4() { 32 } else { 128 };
        if self.prefix == max { write!(f, "{}", self.addr) } else { write!(f, "{}/{}", self.addr, self.prefix) }
    }
}

/// Compares the first `bits` bits of two equally long byte strings.
fn prefix_eq(a: &[u8], b: &[u8], bits: u8) -> bool {
    let full = usize::from(bits / 8);
    if a[..full] != b[..full] {
        return false;
    }
    let rest = bits % 8;
    if rest == 0 {
        return true;
    }
    let mask = 0xffu8 << (8 - rest);
    (a[full] & mask) == (b[full] & mask)
}

/// Parses the comma-separated `expect` list.
pub fn parse_list(text: &str) -> Result<Vec<Expected>, String> {
    let list =
        text.split(',').map(str::trim).filter(|p| !p.is_empty()).map(Expected::parse).collect::<Result<Vec<_>, _>>()?;
    if list.is_empty() {
        return Err("no address given".to_owned());
    }
    Ok(list)
}

/// check_dns's verdict on the addresses found: with `all` false, at least
/// one expected entry must match one address (check_dns `-a`); with `all`
/// true, every expected entry must match an address and every address must
/// match an expected entry (check_dns `-a ... -L`).
pub fn satisfied(expected: &[Expected], found: &[IpAddr], all: bool) -> bool {
    let matched = |e: &Expected| found.iter().any(|a| e.matches(a));
    if all {
        expected.iter().all(matched) && found.iter().all(|a| expected.iter().any(|e| e.matches(a)))
    } else {
        expected.iter().any(matched)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(text: &str) -> IpAddr {
        text.parse().unwrap()
    }

    #[test]
    fn parse_forms() {
        assert_eq!(Expected::parse("127.0.0.1").unwrap().to_string(), "127.0.0.1");
        assert_eq!(Expected::parse(" 10.0.0.0/8 ").unwrap().to_string(), "10.0.0.0/8");
        assert_eq!(Expected::parse("2001:db8::/32").unwrap().to_string(), "2001:db8::/32");
        assert!(Expected::parse("10.0.0.0/33").is_err());
        assert!(Expected::parse("host.example.").is_err());
        assert!(parse_list(" ,").is_err());
    }

    #[test]
    fn cidr_matching() {
        let net = Expected::parse("192.168.10.0/23").unwrap();
        assert!(net.matches(&ip("192.168.11.200")));
        assert!(!net.matches(&ip("192.168.12.1")));
        assert!(!net.matches(&ip("::1")));
        assert!(Expected::parse("0.0.0.0/0").unwrap().matches(&ip("8.8.8.8")));
        assert!(Expected::parse("fe80::/10").unwrap().matches(&ip("febf::1")));
        assert!(!Expected::parse("fe80::/10").unwrap().matches(&ip("fec0::1")));
    }

    #[test]
    fn any_versus_all() {
        let exp = parse_list("127.0.0.1, 10.0.0.1").unwrap();
        let found = [ip("127.0.0.1")];
        assert!(satisfied(&exp, &found, false));
        assert!(!satisfied(&exp, &found, true));
        let exp = parse_list("127.0.0.1").unwrap();
        assert!(!satisfied(&exp, &[ip("127.0.0.1"), ip("::1")], true));
        assert!(satisfied(&exp, &[ip("127.0.0.1")], true));
        assert!(!satisfied(&exp, &[ip("127.0.0.2")], false));
    }
}
