//! Name resolution over `wasi:sockets/ip-name-lookup`, bounded by the
//! check's own deadline (the interface itself has no timeout).

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use wasmon_sdk::Deadline;
use wasmon_sdk::wasi::sockets::instance_network::instance_network;
use wasmon_sdk::wasi::sockets::ip_name_lookup::resolve_addresses;
use wasmon_sdk::wasi::sockets::network::{ErrorCode, IpAddress};

/// Why a lookup gave no addresses.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LookupError {
    /// The name does not exist or has no addresses (NXDOMAIN, NODATA).
    NotFound,
    /// The deadline passed first.
    Timeout,
    /// The name is not a valid domain name.
    InvalidName,
    /// A temporary resolver failure (EAI_AGAIN: no answer from the server).
    Temporary,
    /// A permanent resolver failure (EAI_FAIL).
    Permanent,
    /// Name lookups are not allowed to this check.
    Denied,
    /// Anything else, described.
    Other(String),
}

impl LookupError {
    /// Maps a `wasi:sockets` error code.
    fn from_code(code: ErrorCode) -> Self {
        match code {
            ErrorCode::NameUnresolvable => Self::NotFound,
            ErrorCode::Timeout => Self::Timeout,
            ErrorCode::InvalidArgument => Self::InvalidName,
            ErrorCode::TemporaryResolverFailure => Self::Temporary,
            ErrorCode::PermanentResolverFailure => Self::Permanent,
            ErrorCode::AccessDenied => Self::Denied,
            other => Self::Other(other.message().to_owned()),
        }
    }
}

/// Resolves `name` before `deadline`.
/// Returns the addresses sorted (IPv4 first) without duplicates.
pub fn resolve(name: &str, deadline: Deadline) -> Result<Vec<IpAddr>, LookupError> {
    let network = instance_network();
    // A real lookup never finishes inside `resolve-addresses`; wasmtime fails
    // it there with `permanent-resolver-failure` when the check may not
    // resolve names at all.
    let stream = resolve_addresses(&network, name).map_err(|code| match code {
        ErrorCode::PermanentResolverFailure => LookupError::Denied,
        other => LookupError::from_code(other),
    })?;
    let ready = stream.subscribe();
    let mut found = Vec::new();
    let outcome = loop {
        match stream.resolve_next_address() {
            Ok(Some(addr)) => found.push(convert(addr)),
            Ok(None) => break Ok(()),
            Err(ErrorCode::WouldBlock) => {
                if !deadline.wait(&ready) {
                    break Err(LookupError::Timeout);
                }
            }
            Err(code) => break Err(LookupError::from_code(code)),
        }
    };
    drop(ready);
    drop(stream);
    outcome?;
    if found.is_empty() {
        return Err(LookupError::NotFound);
    }
    found.sort();
    found.dedup();
    Ok(found)
}

/// Converts a WASI address to std's.
fn convert(addr: IpAddress) -> IpAddr {
    match addr {
        IpAddress::Ipv4((a, b, c, d)) => IpAddr::V4(Ipv4Addr::new(a, b, c, d)),
        IpAddress::Ipv6((a, b, c, d, e, f, g, h)) => IpAddr::V6(Ipv6Addr::new(a, b, c, d, e, f, g, h)),
    }
}
