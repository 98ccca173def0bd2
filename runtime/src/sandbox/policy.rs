//! What a check may use and how much: the per-check grants and limits.

use std::net::{IpAddr, ToSocketAddrs};
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::outcome::State;

/// The host a check runs against.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Target {
    /// The host's name as configured (shown to the check as `target.name`).
    pub name: String,
    /// The address the check connects to, resolved by the host. `None` for a
    /// local check that has no target.
    pub address: Option<IpAddr>,
}

impl Target {
    /// A target with a name and an address.
    pub fn new(name: impl Into<String>, address: Option<IpAddr>) -> Target {
        Target { name: name.into(), address }
    }
}

/// Resolves a host's address once, as a [`Target`] holds it: an IP literal
/// as it is (also in brackets, as `[::1]`), a name through the system
/// resolver (its first address).
pub fn resolve_address(address: &str) -> Result<IpAddr, ResolveError> {
    if let Ok(ip) = address.trim_start_matches('[').trim_end_matches(']').parse::<IpAddr>() {
        return Ok(ip);
    }
    (address, 0)
        .to_socket_addrs()
        .map_err(|error| ResolveError::Lookup { address: address.to_string(), error })?
        .next()
        .map(|a| a.ip())
        .ok_or_else(|| ResolveError::NoAddress { address: address.to_string() })
}

/// Why [`resolve_address`] gave no address.
#[derive(Debug, thiserror::Error)]
pub enum ResolveError {
    /// The system resolver failed.
    #[error("cannot resolve address '{address}': {error}")]
    Lookup {
        /// The address as given.
        address: String,
        /// The resolver's error.
        error: std::io::Error,
    },
    /// The name resolved, to no address.
    #[error("address '{address}' resolves to nothing")]
    NoAddress {
        /// The address as given.
        address: String,
    },
}

/// Resource limits of one run. Every limit is enforced by the host; none
/// depends on the guest's cooperation.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Limits {
    /// Wall time for the whole run, instantiation included. Default 10 s.
    pub timeout: Duration,
    /// The state reported when the run times out. Default CRITICAL.
    pub timeout_state: State,
    /// Largest size of each linear memory, in bytes. Default 64 MiB. At
    /// most the sandbox's [`max_memory`](crate::SandboxBuilder::max_memory),
    /// which caps it.
    pub memory: usize,
    /// Largest output (summary, long output and the guest's stdout/stderr
    /// together), in bytes. Longer output is cut and marked
    /// "(output truncated)". Default 16 KiB.
    pub output: usize,
    /// Largest number of metrics kept from one result. Default 256.
    pub metrics: usize,
}

impl Default for Limits {
    fn default() -> Limits {
        Limits {
            timeout: Duration::from_secs(10),
            timeout_state: State::Critical,
            memory: 64 << 20,
            output: 16 << 10,
            metrics: 256,
        }
    }
}

/// What a check may reach besides its own memory. The default grants only a
/// connection to the target's address: no other address, no name lookups, no
/// `system` interface. A check never sees a filesystem or environment
/// variables.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Grants {
    /// May connect to the target's address (TCP, UDP and `wasi:http`).
    /// Default true.
    pub target: bool,
    /// Further addresses the check may connect to.
    pub addresses: Vec<IpAddr>,
    /// May connect to any address. Default false.
    pub any_address: bool,
    /// May resolve names (`wasi:sockets/ip-name-lookup`, and `wasi:http`
    /// requests to hosts other than the target). Default false.
    pub dns: bool,
    /// May read the machine's load, memory, filesystems and uptime through
    /// the `system` interface. Default false.
    pub system: bool,
}

impl Default for Grants {
    fn default() -> Grants {
        Grants { target: true, addresses: Vec::new(), any_address: false, dns: false, system: false }
    }
}

impl Grants {
    /// Whether a connection to `ip` is allowed for a check whose target
    /// address is `target`.
    pub fn allows_ip(&self, ip: IpAddr, target: Option<IpAddr>) -> bool {
        let ip = canonical(ip);
        self.any_address
            || (self.target && target.map(canonical) == Some(ip))
            || self.addresses.iter().any(|a| canonical(*a) == ip)
    }

    /// Parses one grant as the CLI and configuration write it: `system`,
    /// `dns`, `net=any`, `net=<ip address>`, or `no-target`.
    pub fn add(&mut self, grant: &str) -> Result<(), String> {
        match grant.trim() {
            "system" => self.system = true,
            "dns" => self.dns = true,
            "net=any" => self.any_address = true,
            "no-target" => self.target = false,
            g => match g.strip_prefix("net=") {
                Some(addr) => {
                    let ip = addr
                        .parse::<IpAddr>()
                        .map_err(|_| format!("grant '{g}': expected net=<IP address> or net=any, got '{addr}'"))?;
                    self.addresses.push(ip);
                }
                None => {
                    return Err(format!(
                        "unknown grant '{g}': expected system, dns, net=<IP address>, net=any or no-target"
                    ));
                }
            },
        }
        Ok(())
    }
}

/// IPv4-mapped IPv6 addresses compare equal to their IPv4 form.
fn canonical(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map(IpAddr::V4).unwrap_or(ip),
        v4 => v4,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_allows_only_the_target() {
        let g = Grants::default();
        let target: IpAddr = "127.0.0.1".parse().unwrap();
        assert!(g.allows_ip(target, Some(target)));
        assert!(g.allows_ip("::ffff:127.0.0.1".parse().unwrap(), Some(target)));
        assert!(!g.allows_ip("127.0.0.2".parse().unwrap(), Some(target)));
        assert!(!g.allows_ip(target, None));
    }

    #[test]
    fn grants_parse_and_reject() {
        let mut g = Grants::default();
        g.add("system").unwrap();
        g.add("dns").unwrap();
        g.add("net=10.1.2.3").unwrap();
        assert!(g.system && g.dns);
        assert!(g.allows_ip("10.1.2.3".parse().unwrap(), None));
        assert!(g.add("net=example").unwrap_err().contains("expected net=<IP address>"));
        assert!(g.add("filesystem").unwrap_err().contains("unknown grant 'filesystem'"));
        g.add("no-target").unwrap();
        assert!(!g.allows_ip("127.0.0.1".parse().unwrap(), Some("127.0.0.1".parse().unwrap())));
    }
}
